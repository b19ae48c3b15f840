"""The track table: displays a :class:`~genre_tagger.library.review.Review` (no policy here)."""

from __future__ import annotations

import os
import re
from collections import Counter

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from ..library.files import display_path
from ..library.policy import LOW_CONFIDENCE
from ..library.review import FAILED, READ_ONLY, WILL_WRITE, WRITTEN, Relabel, Review, ReviewItem, plural
from .qtcompat import no_value

COLUMNS = ["File", "Artist", "Title", "Album", "Genre now", "After Write", "Guess", "Confidence", "Status", "Album artist", "#", "Folder"]
(COL_FILE, COL_ARTIST, COL_TITLE, COL_ALBUM, COL_NOW, COL_NEW, COL_GUESS, COL_CONFIDENCE, COL_STATUS, COL_ALBUM_ARTIST, COL_TRACK,
 COL_FOLDER) = range(12)  # fmt: skip
# the order shown at first (columns can be dragged): the library's organisation (album artist, album,
# track), then what the review is about
DEFAULT_ORDER = [COL_ALBUM_ARTIST, COL_ALBUM, COL_TRACK, COL_FILE, COL_NOW, COL_NEW, COL_STATUS, COL_CONFIDENCE, COL_TITLE,
                 COL_ARTIST, COL_GUESS, COL_FOLDER]  # fmt: skip
# share of the width left once every shown column has its least width (names get the most)
COLUMN_SHARES = {COL_FILE: 0.3, COL_TITLE: 0.15, COL_ALBUM: 0.12, COL_NOW: 0.05, COL_NEW: 0.05, COL_STATUS: 0.03,
                 COL_ALBUM_ARTIST: 0.08, COL_FOLDER: 0.22}  # fmt: skip
# sorting by these orders albums (by the column's part of the album) and keeps each album's track order
ALBUM_COLUMNS = (COL_ALBUM, COL_ALBUM_ARTIST, COL_TRACK, COL_FOLDER)
HEADER_TIPS = ["File name (the full path in its tooltip)", "Artist", "Title",
               "Album (in grey: the folder, where the file has no album tag)",
               "The genre in the file now", "The genre once Write has run (green: changes)", "The model's best genre",
               "How sure the model is of its best genre", "What Write will do with this track",
               "Album artist (the artist where the file names none)", "Track number (disc-track on later discs)",
               "The folder, within the folder you opened"]  # fmt: skip
CONFIDENCE_ROLE = Qt.UserRole + 1
SURE_ROLE = Qt.UserRole + 2  # the best genre reaches the review's threshold (the policy decides, not the view)

_ROLES = {Qt.DisplayRole, Qt.ToolTipRole, Qt.ForegroundRole, Qt.BackgroundRole, Qt.FontRole, CONFIDENCE_ROLE, SURE_ROLE}
NEW_BG = QBrush(QColor("#d9f2d0"))  # Picard-like: what Write changes is green
NEW_FG = QBrush(QColor("#1d5e12"))
_ERROR_FG = QBrush(QColor("#b3261e"))
_DIM_FG = QBrush(QColor("#6b6b6b"))
_ALBUM_BG = QBrush(QColor("#e9eef5"))  # an album row


def _short(category: str) -> str:
    """A status in a few words for an album row's summary ("Unsure — not written" -> "unsure")."""
    return category.split(" —")[0].split(" (")[0].lower()


class Albums:
    """Which album each row belongs to, and how albums sort (Qt-free). An album is its tracks'
    album tag with their album artist (without one: the album tag within its folder); a file
    without an album tag belongs to its folder."""

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self.ids: dict[tuple, int] = {}
        self.of_row: list[int] = []
        self.ranks: list[dict[int, tuple]] = []  # album id -> {column: its sort key}
        self.members: list[list[int]] = []  # album id -> its rows (review indices)
        self.tagged: list[bool] = []  # album id -> an album tag (not a folder of untagged files)
        self.names: list[tuple[str, str]] = []  # album id -> (album artist, album) as shown

    def add(self, items) -> set[int]:
        """Put new items (the review's next ones) into their albums; returns the albums touched."""
        touched = set()
        for it in items:
            r = it.result
            folder = os.path.dirname(os.fsdecode(r.path))
            key = ("album", r.album_artist.casefold() or folder, r.album.casefold()) if r.album else ("folder", folder)
            gid = self.ids.get(key)
            if gid is None:
                gid = self.ids[key] = len(self.ranks)
                artist = (r.album_artist or r.artist).casefold()
                album = (r.album or os.path.basename(folder)).casefold()
                untagged = not r.album  # folders of files without album tags after the albums
                by_artist = (untagged, artist, album, folder, gid)
                self.ranks.append({COL_ALBUM_ARTIST: by_artist, COL_TRACK: by_artist, COL_ALBUM: (untagged, album, artist, folder, gid),
                                   COL_FOLDER: (folder, artist, album, gid)})  # fmt: skip
                self.members.append([])
                self.tagged.append(bool(r.album))
                self.names.append((r.album_artist or r.artist, r.album or display_path(os.path.basename(folder))))
            self.members[gid].append(len(self.of_row))
            self.of_row.append(gid)
            touched.add(gid)
        return touched

    def rank(self, row: int, col: int) -> tuple:
        """The sort key of the row's album for column ``col`` (album artist's for any other)."""
        return self.rank_of(self.of_row[row], col)

    def rank_of(self, gid: int, col: int) -> tuple:
        ranks = self.ranks[gid]
        return ranks.get(col, ranks[COL_ALBUM_ARTIST])

    def has_row(self, gid: int) -> bool:
        """An album of two or more tracks gets a row of its own above its tracks."""
        return self.tagged[gid] and len(self.members[gid]) > 1


def number(text: str) -> int:
    """A track or disc number as stored ("3", "03", "3/12") -> 3; none -> 0."""
    m = re.match(r"\s*(\d{1,5})", text or "")
    return int(m.group(1)) if m else 0


def track_key(it: ReviewItem) -> tuple:
    r = it.result
    return (number(r.disc_number), number(r.track_number), it.name_key)


def folder_name(path, root: str | None) -> str:
    """The folder of ``path`` as shown: within ``root`` (the folder opened) from its name on, else in full."""
    folder = os.path.dirname(os.fsdecode(path))
    if root:
        root = os.path.normpath(root)
        rel = os.path.relpath(folder, root)
        if rel != ".." and not rel.startswith(".." + os.sep):
            name = os.path.basename(root) or root
            return display_path(name if rel == "." else os.path.join(name, rel))
    return display_path(folder)


def genres_text(genres: list[str]) -> str:
    return "; ".join(genres)


class TrackModel(QAbstractTableModel):
    """One row per track (row i is the review's item i), then one row per album of two or
    more tracks (its *album row*: the album once, a summary of its tracks; selecting it
    selects them, see :meth:`TrackTable.source_rows`)."""

    def __init__(self, review: Review, parent=None):
        super().__init__(parent)
        self.review = review
        self.albums = Albums()
        self.headers: list[int] = []  # the albums that have an album row, in the order of their rows
        self._header_of: dict[int, int] = {}  # album id -> its place in ``headers``
        self.root: str | None = None  # the folder opened (the Folder column is relative to it)
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.review.items) + len(self.headers)

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    # -- album rows ---------------------------------------------------------------------
    def is_album_row(self, row: int) -> bool:
        return row >= len(self.review.items)

    def album_of(self, row: int) -> int:
        """The album id of a row (a track's, or an album row's own)."""
        n = len(self.review.items)
        return self.headers[row - n] if row >= n else self.albums.of_row[row]

    def album_row(self, gid: int) -> int | None:
        i = self._header_of.get(gid)
        return None if i is None else len(self.review.items) + i

    def _follows_album_row(self, it: ReviewItem, row: int) -> bool:
        d = it.album_decision
        return d is not None and d.follows_album and self._has_album_row(row)

    def _has_album_row(self, row: int) -> bool:
        return self.album_row(self.albums.of_row[row]) is not None

    def rows_of(self, row: int) -> list[int]:
        """The review's items a row stands for: the track, or every track of an album row."""
        return list(self.albums.members[self.album_of(row)]) if self.is_album_row(row) else [row]

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        if role == Qt.ToolTipRole and orientation == Qt.Horizontal:
            return HEADER_TIPS[section]
        return no_value()

    def data(self, index, role=Qt.DisplayRole):
        if role not in _ROLES or not index.isValid():  # cheap exit: views ask for many roles
            return no_value()
        if index.row() >= len(self.review.items):
            return self._album_data(self.headers[index.row() - len(self.review.items)], index.column(), role)
        it = self.review.items[index.row()]
        col = index.column()
        on_album_row = col in (COL_GUESS, COL_CONFIDENCE) and self._follows_album_row(it, index.row())
        if role == Qt.DisplayRole:
            return "" if on_album_row else self._display(it, col)  # the album's guess is shown once, on its row
        if role == CONFIDENCE_ROLE:
            return no_value() if on_album_row else it.confidence
        if role == SURE_ROLE:
            return it.policy_status != LOW_CONFIDENCE
        if role == Qt.ToolTipRole:
            if col in (COL_FILE, COL_TITLE, COL_FOLDER):
                return display_path(it.path)
            if col == COL_ALBUM and not it.result.album:
                return "No album tag: the track's folder"
            if col == COL_STATUS and it.error:
                return it.error
            if col == COL_NEW and it.changes:
                return f"{genres_text(it.current) or '(no genre)'} → {genres_text(it.new)}"
            d = it.album_decision
            if col in (COL_GUESS, COL_CONFIDENCE) and d is not None and d.follows_album and it.result.top:
                own = it.result.top[0]
                return f"The album's guess ({d.tracks} tracks together); this track alone: {own[0]} {own[1]:.0%}"
            return no_value()
        if col == COL_NEW and it.changes:
            if role == Qt.BackgroundRole:
                return NEW_BG
            if role == Qt.ForegroundRole:
                return NEW_FG
            if role == Qt.FontRole:
                return self._bold
        if col == COL_ALBUM and not it.result.album and role in (Qt.ForegroundRole, Qt.FontRole):
            return _DIM_FG if role == Qt.ForegroundRole else self._italic
        if col in (COL_ALBUM_ARTIST, COL_ALBUM) and role == Qt.ForegroundRole and self._has_album_row(index.row()):
            return _DIM_FG  # shown once, in bold, on the album's row
        if role == Qt.ForegroundRole:
            if col == COL_STATUS and it.category in (FAILED, READ_ONLY):
                return _ERROR_FG
            if col == COL_NEW and it.category not in (WILL_WRITE, WRITTEN):
                return _DIM_FG
        return no_value()

    def album_guess(self, items: list[ReviewItem]) -> tuple[str, float, bool] | None:
        """The album decision its tracks follow: (genre, the album's pooled probability, sure
        enough to be written); None where they are decided one by one."""
        followers = [it.album_decision for it in items if it.album_decision is not None and it.album_decision.follows_album]
        if not followers:
            return None
        key = Counter(d.album.key for d in followers if d.album is not None).most_common(1)
        d = next((d for d in followers if d.album is not None and key and d.album.key == key[0][0]), followers[0])
        top = d.album_top or d.top
        if not top:
            return None
        threshold = self.review.albums.min_confidence if self.review.albums is not None else 0.0
        return top[0][0], float(top[0][1]), float(top[0][1]) >= threshold

    def _album_data(self, gid: int, col: int, role):
        items = [self.review.items[i] for i in self.albums.members[gid]]
        if role in (CONFIDENCE_ROLE, SURE_ROLE):
            guess = self.album_guess(items)
            return no_value() if guess is None else guess[1] if role == CONFIDENCE_ROLE else guess[2]
        if role == Qt.DisplayRole:
            return self._album_display(gid, items, col)
        if role == Qt.FontRole:
            return self._bold if col in (COL_ALBUM_ARTIST, COL_ALBUM, COL_FILE) else no_value()
        if role == Qt.BackgroundRole:
            return _ALBUM_BG
        if role == Qt.ToolTipRole:
            text = f"{plural(len(items), 'track')}: selecting this row selects them all (Accept, Reject, Set Genre, Write)"
            if col in (COL_GUESS, COL_CONFIDENCE):
                guess = self.album_guess(items)
                return (f"The album's guess: the model's evidence of its tracks together ({guess[1]:.0%}); "
                        "a track can still be decided on its own") if guess else "Its tracks are decided one by one"  # fmt: skip
            return f"{self._album_display(gid, items, col)}\n{text}" if col == COL_STATUS else text
        return no_value()  # no confidence bar: the album's own guess comes with album decisions

    def _album_display(self, gid: int, items: list[ReviewItem], col: int) -> str:
        artist, album = self.albums.names[gid]
        if col == COL_ALBUM_ARTIST:
            return artist
        if col == COL_ALBUM:
            return album
        if col == COL_FILE:
            return plural(len(items), "track")
        if col in (COL_NOW, COL_NEW):  # once, where every track has the same
            values = {genres_text(it.current if col == COL_NOW else it.new) for it in items}
            return values.pop() if len(values) == 1 else ""
        guess = self.album_guess(items) if col in (COL_GUESS, COL_CONFIDENCE) else None
        if col == COL_GUESS:  # the album's decision once, here; else the guess most of its tracks get
            if guess is not None:
                return guess[0]
            guesses = Counter(it.predicted for it in items if it.predicted)
            return guesses.most_common(1)[0][0] if guesses else ""
        if col == COL_CONFIDENCE:
            return f"{guess[1]:.0%}" if guess is not None else ""
        if col == COL_STATUS:
            counts = Counter(it.category for it in items)
            if len(counts) == 1:
                return next(iter(counts))
            return ", ".join(f"{n} {_short(c)}" for c, n in counts.most_common())
        return ""

    def _display(self, it: ReviewItem, col: int) -> str:
        r = it.result
        if col == COL_FILE:
            return display_path(it.path.name)
        if col == COL_ARTIST:
            return r.artist
        if col == COL_TITLE:
            return r.title
        if col == COL_ALBUM:
            return r.album or display_path(it.path.parent.name)
        if col == COL_ALBUM_ARTIST:
            return r.album_artist or r.artist
        if col == COL_TRACK:
            track, disc = number(r.track_number), number(r.disc_number)
            return "" if not track else f"{disc}-{track:02d}" if disc > 1 else str(track)
        if col == COL_FOLDER:
            return folder_name(r.path, self.root)
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
        self.beginInsertRows(QModelIndex(), n, n + len(results) - 1)  # before the album rows
        touched = self.albums.add(self.review.add(results, relabel))
        self.endInsertRows()
        rows = [gid for gid in sorted(touched) if gid not in self._header_of and self._has_album(gid)]
        if rows:  # albums that now have two tracks get their row
            start = self.rowCount()
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            for gid in rows:
                self._header_of[gid] = len(self.headers)
                self.headers.append(gid)
            self.endInsertRows()
        self._albums_changed(touched)
        self.rows_changed(self.review.last_changed)  # earlier tracks whose album these results joined

    def clear(self) -> None:
        self.beginResetModel()
        self.review.clear()
        self.albums.clear()
        self.headers, self._header_of = [], {}
        self.endResetModel()

    def rows_changed(self, rows: list[int]) -> None:
        """Repaint (and let the proxy re-sort and re-filter) the given rows (the review's
        indices), and the album rows that sum them up."""
        if not rows:
            return
        self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(COLUMNS) - 1))
        self._albums_changed({self.albums.of_row[i] for i in rows if i < len(self.albums.of_row)})

    def _has_album(self, gid: int) -> bool:
        """An album row for an album of two or more tracks: by its tags, or one the review's
        album decisions found (a folder of numbered tracks of one artist)."""
        members = self.albums.members[gid]
        return self.albums.has_row(gid) or (len(members) > 1 and any(self.review.items[i].album is not None for i in members))

    def _albums_changed(self, gids) -> None:
        for gid in gids:
            row = self.album_row(gid)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


class TrackFilter(QSortFilterProxyModel):
    """Search text + predicted genre + status + minimum confidence; sorts dynamically,
    an album's tracks together (``keep_albums``) whichever column it sorts by."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text, self.genre, self.category, self.min_conf = "", "", "", 0.0
        self.keep_albums = True
        self.setDynamicSortFilter(True)  # rows arriving during a scan land in sorted place

    def set_keep_albums(self, on: bool) -> None:
        self.keep_albums = on
        self.invalidate()

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
        model = self.sourceModel()
        if model.is_album_row(source_row):  # shown with its albums kept together, while one of its tracks is
            return self.keep_albums and any(self._accepts(i) for i in model.rows_of(source_row))
        return self._accepts(source_row)

    def _accepts(self, source_row: int) -> bool:
        it = self.sourceModel().review.items[source_row]
        if self.genre and it.predicted != self.genre:
            return False
        if self.category and it.category != self.category:
            return False
        if self.min_conf and it.confidence < self.min_conf:
            return False
        if self.text:
            r = it.result
            hay = " ".join((it.path.name, it.path.parent.name, r.artist, r.album_artist, r.title, r.album, *it.current, *it.new)).lower()
            return self.text in hay
        return True

    def lessThan(self, left, right):  # one Python call per comparison instead of two data() calls
        col = left.column()
        model = self.sourceModel()
        lr, rr = left.row(), right.row()
        descending = self.sortOrder() == Qt.DescendingOrder  # Qt asks lessThan(right, left) then
        la, ra = model.is_album_row(lr), model.is_album_row(rr)
        if col in ALBUM_COLUMNS or self.keep_albums or la or ra:
            ga, gb = model.albums.rank_of(model.album_of(lr), col), model.albums.rank_of(model.album_of(rr), col)
            if ga != gb:
                if col in ALBUM_COLUMNS:  # albums in the column's order, either way
                    return ga < gb
                return (gb < ga) if descending else (ga < gb)  # albums stay in their order; tracks sort within
            if la or ra:  # the album row first, whichever way its tracks sort
                return la and not ra if not descending else ra and not la
        items = model.review.items
        a, b = items[lr], items[rr]
        if col in ALBUM_COLUMNS:  # an album's tracks in track order, whichever way its albums sort
            ta, tb = track_key(a), track_key(b)
            return (tb < ta) if descending else (ta < tb)
        ka, kb = _sort_key(model, a, col), _sort_key(model, b, col)
        if ka == kb:  # ties: in track order (then file name), so the order is total and stable
            return track_key(a) < track_key(b)
        return ka < kb


def _sort_key(model: TrackModel, it: ReviewItem, col: int):
    if col == COL_CONFIDENCE:
        return it.confidence if it.result.top else -1.0
    if col == COL_FILE:
        return it.name_key
    if col == COL_NEW:
        return genres_text(it.new).lower()
    return model._display(it, col).lower()
