"""The track table: one row per scanned file, with a review decision per row."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

from ..library import display_path
from ..scanner import FileResult
from .qtcompat import no_value

COLUMNS = ["File", "Artist", "Title", "Album", "Current genre", "Predicted", "Confidence", "Status"]
COL_CONFIDENCE = 6
CONFIDENCE_ROLE = Qt.UserRole + 1
STATUS_ROLE = Qt.UserRole + 2
GENRE_ROLE = Qt.UserRole + 3

# review decisions
PENDING, ACCEPTED, REJECTED, OVERRIDDEN, WRITTEN = "pending", "accepted", "rejected", "overridden", "written"


@dataclass
class Row:
    result: FileResult
    decision: str = PENDING
    override: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def proposed(self) -> list[str]:
        """What 'write' would put into the file for this row."""
        if self.decision == REJECTED:
            return []
        if self.decision == OVERRIDDEN:
            return self.override
        if self.decision == WRITTEN:
            return self.written
        return self.result.genres

    @property
    def status_text(self) -> str:
        r = self.result
        if r.status == "error":
            return f"error: {r.error}"
        if self.decision in (ACCEPTED, REJECTED, OVERRIDDEN, WRITTEN):
            return self.decision
        return r.status


_ROLES = {Qt.DisplayRole, Qt.ToolTipRole, Qt.UserRole, CONFIDENCE_ROLE, STATUS_ROLE, GENRE_ROLE}


class TrackModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Row] = []

    def rowCount(self, parent=QModelIndex()):  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return no_value()

    def data(self, index, role=Qt.DisplayRole):
        if role not in _ROLES or not index.isValid():  # cheap exit: views ask for many roles
            return no_value()
        row = self.rows[index.row()]
        r = row.result
        col = index.column()
        conf = r.top[0][1] if r.top else 0.0
        if role == Qt.DisplayRole:
            return self._display(row, col, conf)
        if role == Qt.ToolTipRole:
            if col == 0:
                return display_path(r.path)
            if col == 7 and r.error:
                return r.error
            return no_value()
        if role == CONFIDENCE_ROLE:
            return conf
        if role == STATUS_ROLE:
            return r.status if row.decision == PENDING else row.decision
        if role == GENRE_ROLE:
            return (r.top[0][0] if r.top else "")
        if role == Qt.UserRole:  # sort key
            return conf if col == COL_CONFIDENCE else self._display(row, col, conf)
        return no_value()

    @staticmethod
    def _display(row: Row, col: int, conf: float) -> str:
        r = row.result
        if col == 0:
            return display_path(r.path.name)
        if col == 1:
            return r.artist
        if col == 2:
            return r.title
        if col == 3:
            return r.album
        if col == 4:
            return ", ".join(r.previous)
        if col == 5:
            return ", ".join(row.proposed) if row.proposed else (r.top[0][0] if r.top else "")
        if col == 6:
            return f"{conf:.0%}" if r.top else ""
        return row.status_text

    def add_results(self, results: list[FileResult]) -> None:
        if not results:
            return
        n = len(self.rows)
        self.beginInsertRows(QModelIndex(), n, n + len(results) - 1)
        self.rows.extend(Row(r) for r in results)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows = []
        self.endResetModel()

    def set_decision(self, rows: list[int], decision: str, override: list[str] | None = None) -> None:
        for i in rows:
            self.rows[i].decision = decision
            if override is not None:
                self.rows[i].override = list(override)
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))

    def row_of_path(self) -> dict:
        return {str(r.result.path): i for i, r in enumerate(self.rows)}


class TrackFilter(QSortFilterProxyModel):
    """Search text + genre + status + minimum confidence."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text, self.genre, self.status, self.min_conf = "", "", "", 0.0
        self.setSortRole(Qt.UserRole)

    def set_filters(self, text: str | None = None, genre: str | None = None, status: str | None = None, min_conf: float | None = None):
        if text is not None:
            self.text = text.lower()
        if genre is not None:
            self.genre = genre
        if status is not None:
            self.status = status
        if min_conf is not None:
            self.min_conf = min_conf
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent):  # noqa: N802
        m = self.sourceModel()
        idx = m.index(source_row, 0, source_parent)
        if self.genre and m.data(idx, GENRE_ROLE) != self.genre:
            return False
        if self.status and m.data(idx, STATUS_ROLE) != self.status:
            return False
        if self.min_conf and (m.data(idx, CONFIDENCE_ROLE) or 0.0) < self.min_conf:
            return False
        if self.text:
            hay = " ".join(str(m.data(m.index(source_row, c, source_parent)) or "") for c in range(5)).lower()
            return self.text in hay
        return True
