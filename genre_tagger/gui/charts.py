"""Two small custom-painted charts: a track's genre probabilities and the library's genre
counts. A genre has the same colour in both (and across runs)."""

from __future__ import annotations

import zlib

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..genres import GENRE_IDS, genre_id

# Tableau 20 and one more: a distinct colour for every canonical genre
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
           "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e",
           "#2f4b7c"]  # fmt: skip


def genre_color(name: str) -> QColor:
    """A genre's colour, the same in every chart and every run: by its canonical id
    (so "Hip-Hop" and a user's "Rap" match), else a stable hash of the name."""
    gid = genre_id(name)
    if gid in GENRE_IDS:
        return QColor(PALETTE[GENRE_IDS.index(gid) % len(PALETTE)])
    return QColor(PALETTE[zlib.crc32(gid.encode()) % len(PALETTE)])


class BarChart(QWidget):
    """Horizontal bars: (label, value) pairs; values in [0, 1] (percent) or counts."""

    def __init__(self, title: str, percent: bool = True, parent=None, empty_text: str = "nothing yet"):
        super().__init__(parent)
        self.title, self.percent, self.empty_text = title, percent, empty_text
        self.items: list[tuple[str, float]] = []
        self.setMinimumSize(180, 120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def set_items(self, items: list[tuple[str, float]], title: str | None = None) -> None:
        self.items = list(items)
        if title is not None:
            self.title = title
        self.update()

    def title_height(self, width: int) -> int:
        """The height of the title, wrapped to ``width``."""
        f = QFont(self.font())
        f.setBold(True)
        return QFontMetrics(f).boundingRect(QRect(0, 0, max(20, width - 8), 10000), Qt.TextWordWrap, self.title).height() + 4

    def paintEvent(self, event):
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        fm = QFontMetrics(self.font())
        w, h = self.width(), self.height()
        text_color = self.palette().text().color()
        f = p.font()
        f.setBold(True)
        p.setFont(f)
        p.setPen(text_color)
        title_h = self.title_height(w)  # the title wraps at a narrow width instead of being cut
        p.drawText(QRectF(4, 2, w - 8, title_h), Qt.AlignLeft | Qt.AlignVCenter | Qt.TextWordWrap, self.title)
        p.setFont(self.font())
        top_y = title_h + 6
        if not self.items:
            p.setPen(QColor("#888"))
            p.drawText(QRectF(0, top_y, w, h - top_y), Qt.AlignCenter | Qt.TextWordWrap, self.empty_text)
            return
        biggest = max(v for _, v in self.items) or 1.0
        scale = 1.0 if self.percent else biggest
        row = max(float(fm.height() + 2), min(float(fm.height() + 10), (h - top_y) / len(self.items)))
        fits = max(1, int((h - top_y) // row))
        shown = self.items if len(self.items) <= fits else self.items[: fits - 1]
        label_w = min(max(fm.horizontalAdvance(label) for label, _ in shown) + 8, int(w * 0.4))
        value_w = fm.horizontalAdvance("100%" if self.percent else f"{int(biggest)}") + 8
        bar_space = max(10, w - label_w - value_w - 8)
        for i, (label, v) in enumerate(shown):
            y = top_y + i * row
            p.setPen(text_color)
            p.drawText(QRectF(2, y, label_w - 6, row), Qt.AlignRight | Qt.AlignVCenter, fm.elidedText(label, Qt.ElideRight, label_w - 6))
            bw = bar_space * (v / scale if scale else 0)
            p.fillRect(QRectF(label_w, y + 2, max(2.0, bw), row - 4), genre_color(label))
            text = f"{v:.0%}" if self.percent else f"{int(v)}"
            p.drawText(QRectF(label_w + bw + 4, y, value_w, row), Qt.AlignLeft | Qt.AlignVCenter, text)
        if len(shown) < len(self.items):
            rest = len(self.items) - len(shown)
            y = top_y + len(shown) * row
            p.setPen(QColor("#888"))
            p.drawText(QRectF(label_w, y, w - label_w, row), Qt.AlignLeft | Qt.AlignVCenter, f"+ {rest} more")
