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
    COL_ALBUM_ARTIST,
    COL_ARTIST,
    COL_CONFIDENCE,
    COL_FILE,
    COL_FOLDER,
    COL_GUESS,
    COL_NEW,
    COL_NOW,
    COL_STATUS,
    COL_TITLE,
    COL_TRACK,
    COLUMN_SHARES,
    COLUMNS,
    DEFAULT_ORDER,
    TrackFilter,
)

# what a column should show at least, whatever the window's width
SAMPLES = {COL_FILE: "000 Track name.flac", COL_NOW: "Electronic", COL_NEW: "→ Electronic  ", COL_ARTIST: "Artist name",
           COL_TITLE: "Title of the song", COL_GUESS: "Electronic", COL_STATUS: REJECTED + "  ", COL_ALBUM: "Album title 2",
           COL_ALBUM_ARTIST: "Artist name here", COL_TRACK: "2-00", COL_FOLDER: "Artist/Album"}  # fmt: skip
# where the table is too narrow for every column, these go first (the header's right-click menu shows them again)
# (Genre now goes last: After Write shows the genre a file keeps too, in grey, and the details pane shows it)
HIDE_FIRST = [COL_FOLDER, COL_ARTIST, COL_TITLE, COL_GUESS, COL_TRACK, COL_ALBUM_ARTIST, COL_CONFIDENCE, COL_NOW]
SHRINK_FIRST = [COL_ALBUM, COL_FILE]  # then these get narrower, down to NAME_FLOOR px
NAME_FLOOR = 60


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
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSortIndicator(COL_ALBUM_ARTIST, Qt.AscendingOrder)  # the library's order: album artist, album, track
        header.setSectionsMovable(True)
        header.setContextMenuPolicy(Qt.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        self.setSortingEnabled(True)  # sorts now, and the proxy keeps it sorted (dynamic sort)
        self.confidence_delegate = ConfidenceDelegate(self)
        self.setItemDelegateForColumn(COL_CONFIDENCE, self.confidence_delegate)
        self.laid_out = False  # column order and widths set (restored or by default)
        self.user_sized = False  # the user dragged a column's width: widths are no longer shared on resize
        self.user_shown: dict[int, bool] = {}  # columns the user showed or hid (not hidden or shown for width)
        self._sizing = False
        header.sectionResized.connect(self._section_resized)

    def source_rows(self) -> list[int]:
        """The selected rows, as indices of the review's items."""
        sm = self.selectionModel()
        if not sm:
            return []
        model = self.proxy.sourceModel()  # an album row stands for its tracks
        return sorted({r for i in sm.selectedRows() for r in model.rows_of(self.proxy.mapToSource(i).row())})

    # -- columns ----------------------------------------------------------------------
    def _section_resized(self, *_):
        if not self._sizing:
            self.user_sized = True

    def restore_columns(self, state, user_sized: bool = False, user_shown: dict[int, bool] | None = None) -> None:
        """Saved widths, order, visibility and sort (if any); sorts by the sort indicator.
        ``user_sized``: the saved widths were the user's (kept; else shared anew)."""
        header = self.horizontalHeader()
        self._sizing = True
        try:
            self.laid_out = state is not None and header.restoreState(state) and header.count() == len(COLUMNS)
        finally:
            self._sizing = False
        self.user_sized = self.laid_out and user_sized
        self.user_shown = dict(user_shown or {})
        self.proxy.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.laid_out and not self.user_sized:  # the width shared anew at every size, until the user drags a column
            self.size_columns()

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
        """Column widths: every shown column its title (and a sample of its text) at least,
        the rest shared (names get the most). A narrow table hides the columns of
        ``HIDE_FIRST`` (in that order) until the others fit, unless the user chose them."""
        width = width or max(self.viewport().width(), 300)
        header = self.horizontalHeader()
        least = [header.fontMetrics().horizontalAdvance(c) + 24 for c in COLUMNS]  # the title and the sort arrow
        bold = QFont(self.font())
        bold.setBold(True)  # the new genres are shown in bold
        for col, sample in SAMPLES.items():
            fm = QFontMetrics(bold) if col == COL_NEW else self.fontMetrics()
            least[col] = max(least[col], fm.horizontalAdvance(sample) + 8)
        shown = {c for c in range(len(COLUMNS)) if self.user_shown.get(c, True)}
        for col in HIDE_FIRST:
            if sum(least[c] for c in shown) <= width:
                break
            if col not in self.user_shown:
                shown.discard(col)
        for col in SHRINK_FIRST:  # still too wide: names are elided (in the middle) before a status is cut
            over = sum(least[c] for c in shown) - width
            if over > 0 and col in shown:
                least[col] = max(NAME_FLOOR, least[col] - over)
        if sum(least[c] for c in shown) > width and COL_ALBUM not in self.user_shown:
            shown.discard(COL_ALBUM)  # the last resort: the album order stays, its column goes
        spare = max(0, width - sum(least[c] for c in shown))
        total = sum(COLUMN_SHARES.get(c, 0.0) for c in shown) or 1.0
        self._sizing = True
        try:
            for col in range(len(COLUMNS)):
                header.setSectionHidden(col, col not in shown)
                if col in shown:
                    header.resizeSection(col, least[col] + int(spare * COLUMN_SHARES.get(col, 0.0) / total))
        finally:
            self._sizing = False

    def _column_menu(self, pos) -> None:
        """Right-click on the header: show or hide columns (saved with the widths)."""
        header = self.horizontalHeader()
        menu = QMenu(self)
        for col, name in enumerate(COLUMNS):
            a = menu.addAction(name)
            a.setCheckable(True)
            a.setChecked(not header.isSectionHidden(col))
            a.setEnabled(col != COL_FILE)
            a.toggled.connect(lambda on, c=col: self.show_column(c, on))
        menu.exec(header.mapToGlobal(pos))

    def show_column(self, col: int, on: bool) -> None:
        """The user shows or hides a column (kept at every width; the widths are shared anew)."""
        self.user_shown[col] = on
        self._sizing = True
        try:
            self.horizontalHeader().setSectionHidden(col, not on)
        finally:
            self._sizing = False
        if not self.user_sized:
            self.size_columns()
