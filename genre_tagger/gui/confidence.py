"""Confidence shown as a bar in the table."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyledItemDelegate

from .track_model import CONFIDENCE_ROLE


class ConfidenceDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option, index):
        value = index.data(CONFIDENCE_ROLE) or 0.0
        painter.save()
        r = option.rect.adjusted(3, 4, -3, -4)
        painter.fillRect(r, QColor("#e8e8e8"))
        color = QColor("#59a14f") if value >= 0.6 else QColor("#edc948") if value >= 0.35 else QColor("#e15759")
        painter.fillRect(QRectF(r.x(), r.y(), r.width() * float(value), r.height()), color)
        painter.setPen(Qt.black)
        painter.drawText(r, Qt.AlignCenter, index.data(Qt.DisplayRole) or "")
        painter.restore()
