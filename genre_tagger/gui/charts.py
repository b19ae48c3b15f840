"""Two small custom-painted charts: top-k probabilities and the library's genre counts."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


class BarChart(QWidget):
    """Horizontal bars: (label, value) pairs; values in [0, 1] or counts."""

    def __init__(self, title: str, percent: bool = True, parent=None):
        super().__init__(parent)
        self.title, self.percent = title, percent
        self.items: list[tuple[str, float]] = []
        self.setMinimumHeight(160)

    def set_items(self, items: list[tuple[str, float]]) -> None:
        self.items = list(items)
        self.update()

    def paintEvent(self, event):  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w, h = self.width(), self.height()
        p.drawText(QRectF(4, 2, w - 8, 18), Qt.AlignLeft | Qt.AlignVCenter, self.title)
        if not self.items:
            p.setPen(QColor("#888"))
            p.drawText(QRectF(0, 20, w, h - 20), Qt.AlignCenter, "nothing yet")
            return
        top = max(v for _, v in self.items) or 1.0
        scale = 1.0 if self.percent else top
        n = len(self.items)
        row = max(12.0, min(22.0, (h - 24) / n))
        label_w = 110
        for i, (label, v) in enumerate(self.items):
            y = 22 + i * row
            if y + row > h:
                break
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(4, y, label_w - 8, row), Qt.AlignRight | Qt.AlignVCenter, label)
            bw = (w - label_w - 60) * (v / scale if scale else 0)
            p.fillRect(QRectF(label_w, y + 2, max(1.0, bw), row - 4), QColor(PALETTE[i % len(PALETTE)]))
            text = f"{v:.0%}" if self.percent else f"{int(v)}"
            p.drawText(QRectF(label_w + bw + 4, y, 56, row), Qt.AlignLeft | Qt.AlignVCenter, text)
