"""The row above the track table: the search box and the filters. Where the window is too
narrow for one row (640 px with the details pane), the search box gets a row of its own
above the filters instead of setting the window's minimum width."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QGridLayout, QWidget


class FilterBar(QWidget):
    def __init__(self, search: QWidget, filters: list[QWidget], parent=None):
        super().__init__(parent)
        self.search, self.filters = search, filters
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.one_row: bool | None = None
        self._place(True)

    def _widths(self) -> tuple[int, int]:
        """The least width of (the search box, the filters side by side)."""
        gap = self.grid.horizontalSpacing()
        filters = sum(_least_width(w) for w in self.filters) + gap * (len(self.filters) - 1)
        return _least_width(self.search), filters

    def _place(self, one_row: bool) -> None:
        if one_row == self.one_row:
            return
        self.one_row = one_row
        for w in (self.search, *self.filters):
            self.grid.removeWidget(w)
        for c in range(len(self.filters) + 1):
            self.grid.setColumnStretch(c, 0)
        if one_row:  # search | genre | status | confidence, the search box widest
            self.grid.addWidget(self.search, 0, 0)
            self.grid.setColumnStretch(0, 3)
            for c, w in enumerate(self.filters, 1):
                self.grid.addWidget(w, 0, c)
                self.grid.setColumnStretch(c, 1)
        else:  # the search box above, the filters below sharing its width
            self.grid.addWidget(self.search, 0, 0, 1, len(self.filters))
            for c, w in enumerate(self.filters):
                self.grid.addWidget(w, 1, c)
                self.grid.setColumnStretch(c, 1)
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:
        """As narrow as the two-row arrangement allows (it is used below the one-row width)."""
        search, filters = self._widths()
        return QSize(max(search, filters), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        search, filters = self._widths()
        self._place(event.size().width() >= search + self.grid.horizontalSpacing() + filters)
        super().resizeEvent(event)


def _least_width(w: QWidget) -> int:
    return max(w.minimumWidth(), w.minimumSizeHint().width())
