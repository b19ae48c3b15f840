"""The track table view: sorting, column order, widths and visibility (saved and
restored), the confidence bars, and the source rows of the selection."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView

from ..library.review import REJECTED
from .confidence import ConfidenceDelegate
from .track_model import (
    COL_ALBUM,
    COL_ARTIST,
    COL_CONFIDENCE,
    COL_FILE,
    COL_GUESS,
    COL_NEW,
    COL_NOW,
    COL_STATUS,
    COL_TITLE,
    COLUMN_SHARES,
    COLUMNS,
    DEFAULT_ORDER,
    TrackFilter,
)

# what a column should show at least, whatever the window's width
SAMPLES = {COL_FILE: "000 Track name.flac", COL_NOW: "Electronic", COL_NEW: "→ Electronic  ", COL_ARTIST: "Artist name",
           COL_TITLE: "Title of the song", COL_GUESS: "Electronic", COL_STATUS: REJECTED + "  "}  # fmt: skip


class TrackTable(QTableView):
    def __init__(self, proxy: TrackFilter, parent=None):
        super().__init__(parent)
        self.proxy = proxy
        self.setObjectName("trackTable")
        self.setModel(proxy)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.ElideMiddle)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSortIndicator(COL_FILE, Qt.AscendingOrder)
        header.setSectionsMovable(True)
        header.setContextMenuPolicy(Qt.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        self.setSortingEnabled(True)  # sorts now, and the proxy keeps it sorted (dynamic sort)
        self.confidence_delegate = ConfidenceDelegate(self)
        self.setItemDelegateForColumn(COL_CONFIDENCE, self.confidence_delegate)
        self.laid_out = False  # column order and widths set (restored or by default)

    def source_rows(self) -> list[int]:
        """The selected rows, as indices of the review's items."""
        sm = self.selectionModel()
        return sorted({self.proxy.mapToSource(i).row() for i in sm.selectedRows()}) if sm else []

    # -- columns ----------------------------------------------------------------------
    def restore_columns(self, state) -> None:
        """Saved widths, order, visibility and sort (if any); sorts by the sort indicator."""
        header = self.horizontalHeader()
        self.laid_out = state is not None and header.restoreState(state)
        self.proxy.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())

    def default_columns(self) -> None:
        """First use (nothing saved): the review's columns first, widths by share."""
        if self.laid_out:
            return
        self.laid_out = True
        header = self.horizontalHeader()
        for visual, logical in enumerate(DEFAULT_ORDER):
            header.moveSection(header.visualIndex(logical), visual)
        self.size_columns()

    def size_columns(self, width: int | None = None) -> None:
        """Column widths: every column its title (and a sample of its text) at least, the
        rest shared (file name and genres get the most). A narrow table hides album and guess."""
        width = width or max(self.viewport().width(), 500)
        header = self.horizontalHeader()
        least = [header.fontMetrics().horizontalAdvance(c) + 24 for c in COLUMNS]  # the title and the sort arrow
        bold = QFont(self.font())
        bold.setBold(True)  # the new genres are shown in bold
        for col, sample in SAMPLES.items():
            fm = QFontMetrics(bold) if col == COL_NEW else self.fontMetrics()
            least[col] = max(least[col], fm.horizontalAdvance(sample) + 8)
        narrow = width < sum(least)
        for col in (COL_ALBUM, COL_GUESS):  # shown again from the header's right-click menu
            header.setSectionHidden(col, narrow)
        spare = max(0, width - sum(least[c] for c in range(len(COLUMNS)) if not header.isSectionHidden(c)))
        for col, share in enumerate(COLUMN_SHARES):
            header.resizeSection(col, least[col] + int(spare * share))

    def _column_menu(self, pos) -> None:
        """Right-click on the header: show or hide columns (saved with the widths)."""
        header = self.horizontalHeader()
        menu = QMenu(self)
        for col, name in enumerate(COLUMNS):
            a = menu.addAction(name)
            a.setCheckable(True)
            a.setChecked(not header.isSectionHidden(col))
            a.setEnabled(col != COL_FILE)
            a.toggled.connect(lambda on, c=col: header.setSectionHidden(c, not on))
        menu.exec(header.mapToGlobal(pos))
