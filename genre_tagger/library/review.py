"""Review of a scan before anything is written (Qt-free; the desktop app displays it).

A :class:`Review` holds one :class:`ReviewItem` per scanned file. Each item combines
the scan result, the write policy (:func:`genre_tagger.library.policy.decide`, always as a dry
run) and the user's decision (accept / reject / set genre) into what *Write* would put
into the file and a status in plain words. Changing the policy re-evaluates every item
at once, without a rescan. Decisions are kept per file in a small SQLite table in the
app's data folder, keyed like the classification cache (path, size, mtime): a rescan or
a restart keeps them, a changed file drops them, and a finished scan of a folder forgets
those of its files that were deleted (:meth:`Review.forget_missing`).

Albums: a Review made with :class:`~genre_tagger.library.albums.AlbumSettings` decides
per album, as the scanner does (:mod:`genre_tagger.library.albums`): each item carries
its :class:`~genre_tagger.library.albums.AlbumDecision` (``item.album_decision``), and what
Write would do follows from the album's pooled probabilities and threshold unless the
track is decided on its own (no album, a compilation, a strong contradiction). Accept /
Reject on an album (:meth:`Review.accept_album`, :meth:`Review.reject_album`) is a
decision on each of its tracks; a decision on one track afterwards overrides it for that
track. Without settings (``albums=None``) every track is decided on its own, as before.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from .albums import OWN_SINGLE, Album, AlbumDecision, AlbumSettings, album_decisions, album_folder, group_tracks, track_ref
from .policy import ERROR, KEPT, LOW_CONFIDENCE, UNCHANGED, WritePolicy, decide

# decisions
ACCEPT, REJECT, SET = "accept", "reject", "set"

# status categories (the status filter offers these, in this order)
WILL_WRITE = "Will write"
UNSURE = "Unsure — not written"
KEEPS = "Keeps its genre"
ALREADY = "Already tagged"
REJECTED = "Rejected — not written"
READ_ONLY = "Read-only — not written"  # would be written, but the file is read-only (found by the scan)
WRITTEN = "Written"
FAILED = "Error"
CATEGORIES = (WILL_WRITE, UNSURE, KEEPS, ALREADY, REJECTED, READ_ONLY, WRITTEN, FAILED)
READ_ONLY_REASON = "the file is read-only: nothing can be written into it (allow writing, then Scan Again)"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``plural(1, "file") == "1 file"``, ``plural(3, "file") == "3 files"``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


@dataclass(frozen=True)
class Decision:
    kind: str  # ACCEPT / REJECT / SET
    genres: tuple[str, ...] = ()  # SET only

    def __post_init__(self) -> None:
        if self.kind not in (ACCEPT, REJECT, SET):
            raise ValueError(f"unknown decision {self.kind!r}")
        if self.kind == SET and not self.genres:
            raise ValueError("a set-genre decision needs at least one genre")


Relabel = Callable[[object], "tuple[list, list] | None"]
_KEEP = object()  # set_policy: the album settings stay as they are
FileKey = tuple[bytes, int, int]  # (absolute path as bytes, size, mtime_ns), like the cache


def file_key(path: str | Path) -> FileKey | None:
    from ..tagstore.journal import pathkey

    try:
        st = os.stat(path)
    except OSError:
        return None
    return pathkey(path), st.st_size, st.st_mtime_ns


@dataclass
class ReviewItem:
    result: object  # scanner.FileResult: path, status, error, top, previous, artist, title, album, tags
    key: FileKey | None = None
    decision: Decision | None = None
    written: list[str] | None = None  # set once this session wrote the file
    write_error: str = ""
    # evaluated (see Review.evaluate)
    policy_status: str = ""
    new: list[str] = field(default_factory=list)  # what Write would leave in the file
    category: str = FAILED
    label: str = ""
    album_decision: AlbumDecision | None = None  # with album settings: how this track is decided (see Review)

    @property
    def path(self) -> Path:
        return Path(self.result.path)

    @cached_property
    def name_key(self) -> str:
        """The file name, case-folded (sorting; computed once)."""
        return os.path.basename(os.fsdecode(self.result.path)).casefold()

    @property
    def current(self) -> list[str]:
        """The genres in the file now."""
        return list(self.result.previous)

    @property
    def basis(self) -> list[tuple[str, float]]:
        """The probabilities this track is decided by: its album's pooled ones when it
        follows its album, else its own (``result.top``)."""
        d = self.album_decision
        return d.top if d is not None and d.follows_album else self.result.top

    @property
    def album(self) -> Album | None:
        """The album this track belongs to (None: none, or albums are off)."""
        return self.album_decision.album if self.album_decision is not None else None

    @property
    def predicted(self) -> str:
        """The model's best genre for this track (its album's when it follows the album;
        never the user's choice)."""
        top = self.basis
        return top[0][0] if top else ""

    @property
    def confidence(self) -> float:
        top = self.basis
        return float(top[0][1]) if top else 0.0

    @property
    def changes(self) -> bool:
        """Write would change the file's genres."""
        return self.category == WILL_WRITE

    @property
    def error(self) -> str:
        if self.category == READ_ONLY:
            return READ_ONLY_REASON
        return self.write_error or (self.result.error if self.result.status == ERROR else "")


def predicted_genres(top: Sequence[tuple[str, float]], policy: WritePolicy) -> list[str]:
    """What accepting the model's guess writes: the genres the policy would choose for an
    untagged file, or the best genre alone when even that is below the threshold."""
    _, genres = decide(list(top), [], replace(policy, overwrite=True, dry_run=True))
    return genres or ([top[0][0]] if top else [])


def _relabel(result, relabel: Relabel | None) -> None:
    """Give ``result`` the ``(top, tags)`` that ``relabel`` returns (an unreadable file has none)."""
    fresh = relabel(result) if relabel is not None and result.status != ERROR else None
    if fresh is not None:
        result.top, result.tags = fresh


class Review:
    """The items of one scan and the user's decisions about them."""

    def __init__(self, policy: WritePolicy | None = None, store: DecisionStore | None = None, albums: AlbumSettings | None = None):
        self.policy = replace(policy or WritePolicy(), dry_run=True)
        self.store = store
        self.albums = albums  # None: every track on its own
        self.items: list[ReviewItem] = []
        self._index: dict[str, int] = {}
        self._folders: dict[Path, list[int]] = {}  # album folder -> items (grouping is per folder)
        self._members: dict[str, list[int]] = {}  # album key -> items
        self._albums: dict[str, Album] = {}  # album key -> the album (its name from its first track)
        self.last_changed: list[int] = []  # items added earlier whose decision the last add() changed (their album grew)

    # -- contents ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def clear(self) -> None:
        self.items = []
        self._index = {}
        self._folders, self._members, self._albums, self.last_changed = {}, {}, {}, []

    def add(self, results: Iterable, relabel: Relabel | None = None) -> list[ReviewItem]:
        """Add scan results; decisions stored for the same unchanged file come back.
        ``relabel``: as in :meth:`set_policy` (results of a scan begun with other settings)."""
        new = []
        for r in results:
            _relabel(r, relabel)
            item = ReviewItem(r, key=file_key(r.path) if r.status != ERROR else None)
            new.append(item)
        if self.store is not None:
            stored = self.store.get_many([it.key for it in new if it.key is not None])
            for it in new:
                if it.key is not None:
                    it.decision = stored.get(it.key)
        first = len(self.items)
        for it in new:
            self._index[os.path.abspath(it.path)] = len(self.items)
            self.items.append(it)
        before = {i: self._state(self.items[i]) for i in self._album_items(range(first, len(self.items)))}
        self._group(range(first, len(self.items)))
        for it in new:
            self._evaluate(it)
        self.last_changed = [i for i, st in before.items() if self._state(self.items[i]) != st]
        return new

    # -- albums -------------------------------------------------------------------------
    @staticmethod
    def _state(it: ReviewItem) -> tuple:
        return (it.category, it.label, list(it.new), it.predicted, it.confidence)

    def _album_items(self, indices: Iterable[int]) -> set[int]:
        """Items added earlier that share an album folder with ``indices`` (their albums may change)."""
        if self.albums is None:
            return set()
        out: set[int] = set()
        for i in indices:
            if self.items[i].result.status != ERROR:
                out.update(self._folders.get(album_folder(self.items[i].path), []))
        return out

    def _group(self, indices: Iterable[int]) -> None:
        """Put new items into their albums (regrouping their album folders) and decide the
        albums that changed; earlier items whose decision changed are re-evaluated."""
        if self.albums is None:
            return
        folders = set()
        for i in indices:
            if self.items[i].result.status != ERROR:
                f = album_folder(self.items[i].path)
                self._folders.setdefault(f, []).append(i)
                folders.add(f)
        keys: set[str] = set()
        for f in folders:
            idx = self._folders[f]
            for i, album in zip(idx, group_tracks([track_ref(self.items[i].result) for i in idx])):
                old = self.items[i].album
                if old is not None:
                    keys.add(old.key)
                    if i in self._members.get(old.key, []):
                        self._members[old.key].remove(i)
                if album is not None:
                    keys.add(album.key)
                    self._members.setdefault(album.key, []).append(i)
                    self._albums.setdefault(album.key, album)
                else:
                    self.items[i].album_decision = AlbumDecision(OWN_SINGLE, list(self.items[i].result.top))
                    self._evaluate_if_known(i)
        self._decide_albums(keys)

    def _decide_albums(self, keys: Iterable[str]) -> None:
        assert self.albums is not None
        for key in keys:
            idx = self._members.get(key, [])
            if not idx:
                self._members.pop(key, None)
                self._albums.pop(key, None)
                continue
            decisions = album_decisions([self._albums[key]] * len(idx), [self.items[i].result.top for i in idx], self.albums)
            for i, d in zip(idx, decisions):
                self.items[i].album_decision = d
                self._evaluate_if_known(i)

    def _evaluate_if_known(self, i: int) -> None:
        """Re-evaluate an item that has been evaluated before (new items are evaluated by add())."""
        if self.items[i].policy_status:
            self._evaluate(self.items[i])

    def _redecide_all(self) -> None:
        """Pool every album again (the tracks' probabilities changed: another vocabulary or names)."""
        if self.albums is None:
            for it in self.items:
                it.album_decision = None
            return
        self._folders, self._members, self._albums = {}, {}, {}
        for it in self.items:
            it.album_decision = None
        self._group(range(len(self.items)))

    def album_indices(self, key: str) -> list[int]:
        """The items of an album (``album.key``), in scan order."""
        return sorted(self._members.get(key, []))

    def album_keys(self) -> list[str]:
        """Every album of two or more tracks, in the order of their first track."""
        keys = [k for k, idx in self._members.items() if len(idx) > 1]
        return sorted(keys, key=lambda k: min(self._members[k]))

    def accept_album(self, key: str) -> tuple[list[int], list[int]]:
        """Accept the album's decision for each of its tracks (a track that contradicts the
        album accepts its own guess); as :meth:`accept`, tracks that would lose a genre they
        have are returned second, unchanged."""
        return self.accept(self.album_indices(key))

    def reject_album(self, key: str) -> list[int]:
        return self.reject(self.album_indices(key))

    def index_of(self, path: str | Path) -> int | None:
        """The item of a file (the journal names files by absolute path, the scan as found)."""
        return self._index.get(os.path.abspath(path))

    # -- policy -----------------------------------------------------------------------
    def set_policy(self, policy: WritePolicy, relabel: Relabel | None = None, albums: AlbumSettings | None | object = _KEEP) -> list[int]:
        """Apply new settings to every item; returns the indices whose status or new genre
        changed. ``relabel(result)`` (optional) gives a result's ``(top, tags)`` anew, e.g.
        in another vocabulary or with other genre names (None: leave that result as is).
        ``albums``: new album settings (None: decide per track); left out: as they were."""
        self.policy = replace(policy, dry_run=True)
        before = [(it.category, it.label, list(it.new), it.predicted) for it in self.items]
        for it in self.items:
            _relabel(it.result, relabel)
        if albums is not _KEEP:
            self.albums = albums
        if relabel is not None or albums is not _KEEP:
            self._redecide_all()
        changed = []
        for i, it in enumerate(self.items):
            self._evaluate(it)
            if (it.category, it.label, it.new, it.predicted) != before[i]:
                changed.append(i)
        return changed

    def _policy_for(self, it: ReviewItem) -> WritePolicy:
        """The item's policy: the album threshold when it follows its album."""
        d = it.album_decision
        if d is not None and d.follows_album and self.albums is not None:
            return replace(self.policy, min_confidence=self.albums.min_confidence)
        return self.policy

    def guess(self, it: ReviewItem) -> list[str]:
        """What accepting this track writes (its album's genre when it follows the album)."""
        return predicted_genres(it.basis, self._policy_for(it))

    def _evaluate(self, it: ReviewItem) -> None:
        r, d = it.result, it.decision
        if r.status == ERROR:
            it.policy_status, it.new, it.category, it.label = ERROR, it.current, FAILED, "Error"
            return
        policy = self._policy_for(it)
        status, genres = decide(list(it.basis), it.current, policy)
        it.policy_status = status
        if it.write_error:
            it.new, it.category, it.label = it.current, FAILED, "Write failed"
        elif it.written is not None:
            it.new, it.category, it.label = it.current, WRITTEN, WRITTEN
        elif d is not None and d.kind == REJECT:
            it.new, it.category, it.label = it.current, REJECTED, REJECTED
        elif d is not None and d.kind == SET:
            self._proposal(it, list(d.genres), "Will write (your genre)")
        elif status == LOW_CONFIDENCE:
            if d is not None and d.kind == ACCEPT and not it.current:
                self._proposal(it, predicted_genres(it.basis, policy), "Will write (accepted)")
            elif it.current and (not self.policy.overwrite or (d is not None and d.kind == ACCEPT)):
                it.new, it.category, it.label = it.current, KEEPS, KEEPS  # nothing would replace it anyway
            else:
                it.new, it.category, it.label = it.current, UNSURE, UNSURE
        elif status == KEPT and predicted_genres(it.basis, policy) != it.current:
            it.new, it.category, it.label = it.current, KEEPS, KEEPS
        elif status in (KEPT, UNCHANGED):
            it.new, it.category, it.label = it.current, ALREADY, ALREADY
        else:
            self._proposal(it, genres, WILL_WRITE if d is None else "Will write (accepted)")

    @staticmethod
    def _proposal(it: ReviewItem, genres: list[str], label: str) -> None:
        if genres == it.current:
            it.new, it.category, it.label = it.current, ALREADY, ALREADY
        elif getattr(it.result, "read_only", False):  # flagged now, not at write time
            it.new, it.category, it.label = it.current, READ_ONLY, READ_ONLY
        else:
            it.new, it.category, it.label = list(genres), WILL_WRITE, label

    # -- decisions ----------------------------------------------------------------------
    def _decide(self, indices: Iterable[int], decision: Decision | None) -> list[int]:
        done = []
        for i in indices:
            it = self.items[i]
            if it.result.status == ERROR:
                continue
            it.decision, it.written, it.write_error = decision, None, ""
            self._evaluate(it)
            done.append(i)
        if self.store is not None:
            self.store.put_many([(self.items[i].key, decision) for i in done if self.items[i].key is not None])
        return done

    def accept(self, indices: Iterable[int]) -> tuple[list[int], list[int]]:
        """Accept the model's guess. Unsure tracks become "Will write"; tracks that keep an
        existing genre are NOT changed but returned second, so the caller can ask before
        :meth:`replace_with_prediction`. Returns (accepted, would replace a genre)."""
        accept, ask = [], []
        for i in indices:
            it = self.items[i]
            if it.result.status == ERROR or not it.result.top:
                continue
            (ask if it.current and self.guess(it) != it.current else accept).append(i)
        return self._decide(accept, Decision(ACCEPT)), ask

    def reject(self, indices: Iterable[int]) -> list[int]:
        return self._decide(indices, Decision(REJECT))

    def set_genre(self, indices: Iterable[int], genres: Sequence[str]) -> list[int]:
        genres = [g.strip() for g in genres if g.strip()]
        return self._decide(indices, Decision(SET, tuple(dict.fromkeys(genres)))) if genres else []

    def replace_with_prediction(self, indices: Iterable[int]) -> list[int]:
        """Explicitly replace existing genres with the model's guess."""
        done = []
        for i in indices:
            if self.items[i].result.top:
                done += self.set_genre([i], self.guess(self.items[i]))
        return done

    def clear_decision(self, indices: Iterable[int]) -> list[int]:
        return self._decide(indices, None)

    # -- writing ------------------------------------------------------------------------
    def plan(self, indices: Iterable[int] | None = None) -> list[tuple[int, Path, list[str], list[str]]]:
        """What Write would do: (index, path, genres now, genres after) for every item
        (or every given item) whose status is "Will write"."""
        idx = range(len(self.items)) if indices is None else sorted(set(indices))
        return [(i, self.items[i].path, self.items[i].current, list(self.items[i].new))
                for i in idx if self.items[i].category == WILL_WRITE]  # fmt: skip

    def forget_missing(self, roots: Iterable[str | Path]) -> int:
        """After a scan of the folders ``roots`` has finished (these are its items): forget
        the stored decisions of files under them that the scan did not see and that are
        gone from the disk. A root in which the scan found nothing (it is missing, or an
        unmounted disk or an unreachable share left an empty folder) forgets nothing.
        Returns how many decisions were forgotten."""
        if self.store is None:
            return 0
        from ..tagstore.journal import pathkey

        seen = {pathkey(it.path) for it in self.items}
        prefixes = [_folder_prefix(pathkey(r)) for r in roots]
        prefixes = [p for p in prefixes if any(k.startswith(p) for k in seen)]  # a root that is gone has none
        return self.store.forget_missing(prefixes, seen)

    def write_name(self, indices: Iterable[int]) -> str:
        """The journal's name for writing these items (see :mod:`genre_tagger.library.run_names`):
        how many get the model's genres, and which genres the user set by hand (a genre set
        that is the model's own guess, as Accept's "Replace" sets it, counts as the model's)."""
        from .run_names import app_write_name

        items = [self.items[i] for i in indices]
        by_hand = [list(it.decision.genres) for it in items if it.decision is not None and it.decision.kind == SET
                   and list(it.decision.genres) != self.guess(it)]  # fmt: skip
        return app_write_name(len(items) - len(by_hand), by_hand)

    def count(self, category: str) -> int:
        return sum(1 for it in self.items if it.category == category)

    def expectation(self, i: int):
        """What the review of item ``i`` saw, for its write to check (see
        :class:`genre_tagger.tagstore.write.Expect`): if the file changed since the scan,
        the item is evaluated again on the genres it holds then (a decision of the user's,
        made on other genres, no longer counts) and written only if it would still be
        "Will write"; a file that already holds them is left unchanged."""
        from ..tagstore.write import Expect

        it = self.items[i]
        seen, result, decision, policy, albums, basis = it.current, it.result, it.decision, self.policy, self.albums, it.album_decision

        def again(now: list[str]) -> list[str] | None:
            shown = copy.copy(result)
            shown.previous = list(now)
            probe = ReviewItem(shown, decision=decision if now == seen else None, album_decision=basis)
            Review(policy, albums=albums)._evaluate(probe)  # decided as before: by its album when it follows it
            if probe.category == WILL_WRITE:
                return list(probe.new)
            return list(now) if probe.category == ALREADY else None

        return Expect(getattr(result, "identity", None), list(seen), again)

    def mark_changed(self, path: str | Path, genres: Sequence[str]) -> int | None:
        """The file changed after the scan and holds ``genres`` now (nothing was written):
        it is reviewed afresh on them; a decision made on other genres is dropped."""
        i = self.index_of(path)
        if i is None:
            return None
        it = self.items[i]
        if list(genres) != it.current:
            if it.key is not None and self.store is not None:
                self.store.put_many([(it.key, None)])
            it.decision = None
        it.result.previous = list(genres)
        it.written, it.write_error = None, ""
        _refresh_identity(it)
        self._evaluate(it)
        return i

    def mark_written(self, path: str | Path, genres: Sequence[str]) -> int | None:
        """The file now holds ``genres`` (written by this session). Its decision is spent."""
        i = self.index_of(path)
        if i is None:
            return None
        it = self.items[i]
        if it.key is not None and self.store is not None:
            self.store.put_many([(it.key, None)])
        it.result.previous = list(genres)
        it.written, it.write_error, it.decision = list(genres), "", None
        _refresh_identity(it)
        self._evaluate(it)
        return i

    def mark_failed(self, path: str | Path, reason: str) -> int | None:
        i = self.index_of(path)
        if i is None:
            return None
        self.items[i].write_error = reason or "write failed"
        self._evaluate(self.items[i])
        return i

    def mark_restored(self, path: str | Path, genres: Sequence[str]) -> int | None:
        """An undo put ``genres`` back into the file: it is reviewed afresh."""
        i = self.index_of(path)
        if i is None:
            return None
        it = self.items[i]
        it.result.previous = list(genres)
        it.written, it.write_error, it.decision = None, "", None
        _refresh_identity(it)
        self._evaluate(it)
        return i


def _refresh_identity(it: ReviewItem) -> None:
    """The item's file as it is now (after a write of ours, or found changed)."""
    from ..tagstore.steps import identity

    it.key = file_key(it.path)
    try:
        it.result.identity = tuple(identity(os.stat(it.path)))
    except (OSError, AttributeError):
        pass


def _folder_prefix(folder: bytes) -> bytes:
    """What the paths of the files under ``folder`` begin with."""
    sep = os.sep.encode()
    return folder if folder.endswith(sep) else folder + sep


def _gone(path: bytes) -> bool:
    """The file no longer exists (an error that does not say so keeps it: permissions, I/O)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        pass
    return False


class DecisionStore:
    """Decisions per file in ``review.sqlite3`` in the app's data folder (its own file,
    beside the journal). A decision is valid while the file's size and mtime are unchanged."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS decisions (path BLOB PRIMARY KEY, size INTEGER NOT NULL, "
        "mtime_ns INTEGER NOT NULL, kind TEXT NOT NULL, genres TEXT NOT NULL, updated REAL NOT NULL)"
    )

    def __init__(self, path: str | Path | None = None):
        from ..tagstore.journal import data_dir

        self.path = Path(path) if path else data_dir() / "review.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=30)
        self.db.execute(self.SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def get_many(self, keys: Iterable[FileKey]) -> dict[FileKey, Decision]:
        wanted, out = list(keys), {}
        rows = {}  # one SELECT per 500 files (SQLite's older versions take 999 parameters at most)
        for i in range(0, len(wanted), 500):
            chunk = [k[0] for k in wanted[i : i + 500]]
            sql = f"SELECT path, size, mtime_ns, kind, genres FROM decisions WHERE path IN ({','.join('?' * len(chunk))})"
            rows.update((bytes(r[0]), r[1:]) for r in self.db.execute(sql, chunk))
        for key in wanted:
            row = rows.get(key[0])
            if row and (row[0], row[1]) == (key[1], key[2]):
                try:
                    out[key] = Decision(row[2], tuple(json.loads(row[3])))
                except (ValueError, TypeError):
                    continue  # a row this version cannot read: as if undecided
        return out

    def put_many(self, items: Iterable[tuple[FileKey, Decision | None]]) -> None:
        now = time.time()
        for key, d in items:
            if d is None:
                self.db.execute("DELETE FROM decisions WHERE path = ?", (key[0],))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO decisions (path, size, mtime_ns, kind, genres, updated) VALUES (?, ?, ?, ?, ?, ?)",
                    (key[0], key[1], key[2], d.kind, json.dumps(list(d.genres)), now),
                )
        self.db.commit()

    def forget_missing(self, prefixes: Sequence[bytes], seen: set[bytes]) -> int:
        """Delete the decisions of paths that begin with one of ``prefixes``, are not in
        ``seen`` and no longer exist (see :meth:`Review.forget_missing`)."""
        paths: dict[bytes, None] = {}  # the rows under each prefix, found by the key's index (a prefix may lie in another)
        for prefix in prefixes:  # a prefix ends with the separator, so its last byte + 1 is the first path past it
            end = prefix[:-1] + bytes([prefix[-1] + 1])
            rows = self.db.execute("SELECT path FROM decisions WHERE path >= ? AND path < ?", (prefix, end))
            paths.update(dict.fromkeys(bytes(row[0]) for row in rows))
        gone = [p for p in paths if p not in seen and _gone(p)]
        self.db.executemany("DELETE FROM decisions WHERE path = ?", [(p,) for p in gone])
        self.db.commit()
        return len(gone)
