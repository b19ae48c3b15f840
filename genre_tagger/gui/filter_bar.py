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
        self.rows: list[list[QWidget]] | None = None
        self.one_row: bool | None = None
        self._place(self._arrange(10**6))

    def _arrange(self, width: int) -> list[list[QWidget]]:
        """The widgets row by row for ``width``: all in one row where they fit, else the
        search box alone above and the filters in as few rows as keep each one whole."""
        gap = self.grid.horizontalSpacing()
        if sum(_least_width(w) for w in (self.search, *self.filters)) + gap * len(self.filters) <= width:
            return [[self.search, *self.filters]]
        rows: list[list[QWidget]] = [[self.search], []]
        used = 0
        for w in self.filters:
            need = _least_width(w) + (gap if rows[-1] else 0)
            if rows[-1] and used + need > width:
                rows.append([])
                used, need = 0, _least_width(w)
            rows[-1].append(w)
            used += need
        return rows

    def _place(self, rows: list[list[QWidget]]) -> None:
        if rows == self.rows:
            return
        self.rows, self.one_row = rows, len(rows) == 1
        for w in (self.search, *self.filters):
            self.grid.removeWidget(w)
        columns = max(len(r) for r in rows[1:]) if len(rows) > 1 else len(rows[0])
        for c in range(len(self.filters) + 1):
            self.grid.setColumnStretch(c, 0)
        if self.one_row:  # search | genre | status | confidence, the search box widest
            for c, w in enumerate(rows[0]):
                self.grid.addWidget(w, 0, c)
                self.grid.setColumnStretch(c, 3 if c == 0 else 1)
        else:  # the search box above, the filters below sharing its width
            self.grid.addWidget(self.search, 0, 0, 1, columns)
            for r, row in enumerate(rows[1:], 1):
                for c, w in enumerate(row):
                    last = c == len(row) - 1
                    self.grid.addWidget(w, r, c, 1, columns - c if last else 1)  # the last one takes the rest of its row
            for c in range(columns):
                self.grid.setColumnStretch(c, 1)
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:
        """As narrow as the widest single widget (the filters then take a row each)."""
        return QSize(max(_least_width(w) for w in (self.search, *self.filters)), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        self._place(self._arrange(event.size().width()))
        super().resizeEvent(event)


def _least_width(w: QWidget) -> int:
    return max(w.minimumWidth(), w.minimumSizeHint().width())
