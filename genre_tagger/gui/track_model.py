"""The track table: displays a :class:`~genre_tagger.library.review.Review` (no policy here)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from ..library.files import display_path
from ..library.policy import LOW_CONFIDENCE
from ..library.review import FAILED, WILL_WRITE, WRITTEN, Relabel, Review, ReviewItem
from .qtcompat import no_value

COLUMNS = ["File", "Artist", "Title", "Album", "Genre now", "After Write", "Guess", "Confidence", "Status"]
COL_FILE, COL_ARTIST, COL_TITLE, COL_ALBUM, COL_NOW, COL_NEW, COL_GUESS, COL_CONFIDENCE, COL_STATUS = range(9)
# the order shown at first (columns can be dragged): what the review is about comes first
DEFAULT_ORDER = [COL_FILE, COL_NOW, COL_NEW, COL_STATUS, COL_CONFIDENCE, COL_ARTIST, COL_TITLE, COL_ALBUM, COL_GUESS]
# initial share of the width left once every column shows its title (file name, genres and status get the space)
COLUMN_SHARES = [0.2, 0.2, 0.2, 0.1, 0.1, 0.12, 0.04, 0.04, 0.0]
HEADER_TIPS = ["File name", "Artist", "Title", "Album", "The genre in the file now", "The genre once Write has run (green: changes)",
               "The model's best genre", "How sure the model is of its best genre", "What Write will do with this track"]  # fmt: skip
CONFIDENCE_ROLE = Qt.UserRole + 1
SURE_ROLE = Qt.UserRole + 2  # the best genre reaches the review's threshold (the policy decides, not the view)

_ROLES = {Qt.DisplayRole, Qt.ToolTipRole, Qt.ForegroundRole, Qt.BackgroundRole, Qt.FontRole, CONFIDENCE_ROLE, SURE_ROLE}
NEW_BG = QBrush(QColor("#d9f2d0"))  # Picard-like: what Write changes is green
NEW_FG = QBrush(QColor("#1d5e12"))
_ERROR_FG = QBrush(QColor("#b3261e"))
_DIM_FG = QBrush(QColor("#6b6b6b"))


def genres_text(genres: list[str]) -> str:
    return "; ".join(genres)


class TrackModel(QAbstractTableModel):
    def __init__(self, review: Review, parent=None):
        super().__init__(parent)
        self.review = review
        self._bold = QFont()
        self._bold.setBold(True)

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.review.items)

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        if role == Qt.ToolTipRole and orientation == Qt.Horizontal:
            return HEADER_TIPS[section]
        return no_value()

    def data(self, index, role=Qt.DisplayRole):
        if role not in _ROLES or not index.isValid():  # cheap exit: views ask for many roles
            return no_value()
        it = self.review.items[index.row()]
        col = index.column()
        if role == Qt.DisplayRole:
            return self._display(it, col)
        if role == CONFIDENCE_ROLE:
            return it.confidence
        if role == SURE_ROLE:
            return it.policy_status != LOW_CONFIDENCE
        if role == Qt.ToolTipRole:
            if col == COL_FILE:
                return display_path(it.path)
            if col == COL_STATUS and it.error:
                return it.error
            if col == COL_NEW and it.changes:
                return f"{genres_text(it.current) or '(no genre)'} → {genres_text(it.new)}"
            return no_value()
        if col == COL_NEW and it.changes:
            if role == Qt.BackgroundRole:
                return NEW_BG
            if role == Qt.ForegroundRole:
                return NEW_FG
            if role == Qt.FontRole:
                return self._bold
        if role == Qt.ForegroundRole:
            if col == COL_STATUS and it.category == FAILED:
                return _ERROR_FG
            if col == COL_NEW and it.category not in (WILL_WRITE, WRITTEN):
                return _DIM_FG
        return no_value()

    @staticmethod
    def _display(it: ReviewItem, col: int) -> str:
        r = it.result
        if col == COL_FILE:
            return display_path(it.path.name)
        if col == COL_ARTIST:
            return r.artist
        if col == COL_TITLE:
            return r.title
        if col == COL_ALBUM:
            return r.album
        if col == COL_NOW:
            return genres_text(it.current)
        if col == COL_NEW:
            return ("→ " + genres_text(it.new)) if it.changes else genres_text(it.new)
        if col == COL_GUESS:
            return it.predicted
        if col == COL_CONFIDENCE:
            return f"{it.confidence:.0%}" if r.top else ""
        return it.label

    # -- changes -----------------------------------------------------------------------
    def add_results(self, results: list, relabel: Relabel | None = None) -> None:
        if not results:
            return
        n = len(self.review.items)
        self.beginInsertRows(QModelIndex(), n, n + len(results) - 1)
        self.review.add(results, relabel)
        self.endInsertRows()
        self.rows_changed(self.review.last_changed)  # earlier tracks whose album these results joined

    def clear(self) -> None:
        self.beginResetModel()
        self.review.clear()
        self.endResetModel()

    def rows_changed(self, rows: list[int]) -> None:
        """Repaint (and let the proxy re-sort and re-filter) the given rows."""
        if not rows:
            return
        self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(COLUMNS) - 1))


class TrackFilter(QSortFilterProxyModel):
    """Search text + predicted genre + status + minimum confidence; sorts dynamically."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text, self.genre, self.category, self.min_conf = "", "", "", 0.0
        self.setDynamicSortFilter(True)  # rows arriving during a scan land in sorted place

    def set_filters(self, text: str | None = None, genre: str | None = None, status: str | None = None, min_conf: float | None = None):
        if text is not None:
            self.text = text.lower()
        if genre is not None:
            self.genre = genre
        if status is not None:
            self.category = status
        if min_conf is not None:
            self.min_conf = min_conf
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent):
        items = self.sourceModel().review.items
        it = items[source_row]
        if self.genre and it.predicted != self.genre:
            return False
        if self.category and it.category != self.category:
            return False
        if self.min_conf and it.confidence < self.min_conf:
            return False
        if self.text:
            r = it.result
            hay = " ".join((it.path.name, r.artist, r.title, r.album, *it.current, *it.new)).lower()
            return self.text in hay
        return True

    def lessThan(self, left, right):  # one Python call per comparison instead of two data() calls
        col = left.column()
        items = self.sourceModel().review.items
        a, b = items[left.row()], items[right.row()]
        ka, kb = _sort_key(a, col), _sort_key(b, col)
        if ka == kb:  # ties: by file name, so the order is total and stable
            return a.name_key < b.name_key
        return ka < kb


def _sort_key(it: ReviewItem, col: int):
    if col == COL_CONFIDENCE:
        return it.confidence if it.result.top else -1.0
    if col == COL_FILE:
        return it.name_key
    if col == COL_NEW:
        return genres_text(it.new).lower()
    return TrackModel._display(it, col).lower()
