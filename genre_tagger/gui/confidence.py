"""Confidence shown as a bar in the table: green at or above the write threshold (the
model is sure enough), amber below it (unsure: written only when accepted)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyledItemDelegate

from .track_model import CONFIDENCE_ROLE, SURE_ROLE

SURE, UNSURE, TRACK = QColor("#59a14f"), QColor("#edc948"), QColor("#e8e8e8")


class ConfidenceDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option, index):
        value = index.data(CONFIDENCE_ROLE)
        if value is None:  # an album row: no bar
            super().paint(painter, option, index)
            return
        painter.save()
        r = option.rect.adjusted(3, 4, -3, -4)
        painter.fillRect(r, TRACK)
        painter.fillRect(QRectF(r.x(), r.y(), r.width() * float(value), r.height()), SURE if index.data(SURE_ROLE) else UNSURE)
        painter.setPen(Qt.black)
        painter.drawText(r, Qt.AlignCenter, index.data(Qt.DisplayRole) or "")
        painter.restore()
