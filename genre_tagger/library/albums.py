"""Album sense: which tracks make one album, their pooled evidence, and the album's decision.

One module for the scanner, the review model and the training evaluation alike (no Qt,
no numpy). Three jobs:

**Grouping** (:func:`group_tracks`). An album is found from tags first: the same album
title (a disc suffix such as "(Disc 2)" ignored) and the same album artist (or, without
one, the same track artist). Disc numbers are not part of the key, so a multi-disc album
is one album, whether its discs share a folder or sit in ``Disc 1``/``CD2`` folders.
Decided per track instead (never pooled):

- compilations: album artist "Various Artists" (or VA, Various, ...), or tracks of one
  album title in one folder by different artists and without an album artist;
- files without an album tag, unless their folder is evidently one album: at least two
  such files, all by one artist (tag), all numbered (track number tag, or a file name
  beginning with a number) with no number twice; or, with no artist tag on any of them
  (a CD ripped to WAV without tags), at least three files of one format numbered 1..N on
  each disc without a gap. A folder of singles or downloads (different artists, no
  numbers, a gap, mixed formats) is never pooled;
- an album of one track (decided as a track: its pooled evidence is its own).

**Pooling** (:func:`pool`). The album's probabilities are the tracks' probabilities
pooled (``mean``: arithmetic mean; ``mean-log``: normalised geometric mean), then
calibrated with the album temperature: ``q ∝ pooled ** (1 / T)``. Pooled probabilities
are not distributed like a track's, so the album has its own temperature and its own
threshold (``min_confidence``), fitted on out-of-fold probabilities
(``training/genre/albums_eval.py``, results/ALBUMS.md).

**The decision per track** (:func:`album_decisions`). A track of an album of two or more
follows the album (its genre is the album's, written when the album's probability
reaches the album threshold) unless its own evidence *strongly contradicts* the album:
its own top genre is another genre with probability >= ``contradiction.own_min`` and the
album's genre has probability <= ``contradiction.album_max`` on the track. Such a track
(a bonus track, a guest genre) is decided on its own evidence, as without albums.

The model metadata may carry these settings per vocabulary (``Vocabulary.album``, see
:class:`AlbumSettings`); without them the defaults below apply (fitted on the v4 model).
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

ALBUM, TRACK = "album", "track"  # --group
GROUPINGS = (ALBUM, TRACK)

# why a track is decided as it is (reported per track)
FOLLOWS_ALBUM = "album"  # the album's decision
OWN_CONTRADICTS = "own-contradicts"  # in an album, but its own evidence strongly contradicts it
OWN_SINGLE = "track"  # no album (per track, a compilation, a singles folder, an album of one)

MEAN, MEAN_LOG = "mean", "mean-log"
POOLINGS = (MEAN, MEAN_LOG)
EPS = 1e-6


@dataclass(frozen=True)
class Contradiction:
    """A track keeps its own decision when its own top genre (not the album's) has
    probability >= ``own_min`` and the album's genre has <= ``album_max`` on it."""

    own_min: float = 0.8
    album_max: float = 0.05

    def to_dict(self) -> dict:
        return {"own_min": self.own_min, "album_max": self.album_max}


@dataclass(frozen=True)
class AlbumSettings:
    """How an album's tracks are pooled and decided. Stored per vocabulary in the model
    metadata as ``"album"`` (every key optional; absent keys take the defaults)::

        "album": {
          "pooling": "mean" | "mean-log",      # how the tracks' probabilities are pooled
          "temperature": 1.3,                  # q ∝ pooled ** (1 / T)
          "min_confidence": 0.8,               # the album's write threshold (default of --min-confidence for albums)
          "contradiction": {"own_min": 0.8, "album_max": 0.05},
          "fitted": "free text: data, protocol, figures"
        }
    """

    pooling: str = MEAN
    temperature: float = 1.0
    min_confidence: float = 0.9
    contradiction: Contradiction = field(default_factory=Contradiction)
    fitted: str = ""

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"album pooling must be one of {POOLINGS}, not {self.pooling!r}")
        if not self.temperature > 0:
            raise ValueError("album temperature must be > 0")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("album min_confidence must be in [0, 1]")

    def to_dict(self) -> dict:
        d = {"pooling": self.pooling, "temperature": self.temperature, "min_confidence": self.min_confidence,
             "contradiction": self.contradiction.to_dict()}  # fmt: skip
        if self.fitted:
            d["fitted"] = self.fitted
        return d

    @classmethod
    def from_dict(cls, d: dict | None, base: AlbumSettings | None = None) -> AlbumSettings:
        """Settings from metadata; keys it lacks come from ``base`` (default: the class defaults)."""
        base = base or cls()
        d = d or {}
        c = d.get("contradiction") or {}
        return cls(
            pooling=str(d.get("pooling", base.pooling)),
            temperature=float(d.get("temperature", base.temperature)),
            min_confidence=float(d.get("min_confidence", base.min_confidence)),
            contradiction=Contradiction(float(c.get("own_min", base.contradiction.own_min)),
                                        float(c.get("album_max", base.contradiction.album_max))),  # fmt: skip
            fitted=str(d.get("fitted", base.fitted if not d else "")),
        )


# Fitted on the v4 model's out-of-fold probabilities (realmusic, artist-grouped 5-fold CV, albums = artist
# groups >= 2; training/genre/albums_eval.py, results/albums*.json, results/ALBUMS.md). Nested written
# precision: library .923 at coverage .556; gtzan .888 at .489 (below .92: see ALBUMS.md). Used where the
# model metadata has no "album".
DEFAULTS: dict[str, AlbumSettings] = {
    "library": AlbumSettings(MEAN, 0.687, 0.77, Contradiction(0.9, 0.2), fitted="v4 defaults (results/albums_v4.json)"),
    "gtzan": AlbumSettings(MEAN, 0.591, 0.58, Contradiction(0.7, 0.02), fitted="v4 defaults (results/albums_v4_gtzan.json)"),
}


def settings_for(vocabulary, user_min_confidence: float | None = None) -> AlbumSettings:
    """The album settings of a model vocabulary (:class:`~genre_tagger.listen.modelmeta.Vocabulary`):
    its metadata's ``album`` over this module's defaults for its name. A threshold the user
    chose (``--min-confidence``) applies to album decisions too: both are calibrated
    probabilities."""
    base = DEFAULTS.get(vocabulary.name, AlbumSettings())
    s = AlbumSettings.from_dict(getattr(vocabulary, "album", None), base)
    return s if user_min_confidence is None else replace(s, min_confidence=user_min_confidence)


# ---------------------------------------------------------------------------
# grouping

_VARIOUS = {"various artists", "various artist", "various", "va", "v.a.", "v/a", "varios artistas", "artistes divers",
            "verschiedene interpreten", "diverse interpreten", "vari artisti", "compilation", "soundtrack"}  # fmt: skip
_DISC_FOLDER = re.compile(r"(?:disc|disk|cd|dvd)[\s._-]*\d{1,2}(?:\b.*)?", re.IGNORECASE)
_DISC_SUFFIX = re.compile(r"[\s,:._-]*[(\[]?\s*(?:disc|disk|cd)[\s._-]*\d{1,2}(?:\s*(?:of|/)\s*\d{1,2})?\s*[)\]]?$", re.IGNORECASE)
_FEAT = re.compile(r"\s*[(\[]?\s*\b(?:feat\.?|ft\.?|featuring)\s.*$", re.IGNORECASE)
_NUMBERED_NAME = re.compile(r"^(?:(\d{1,2})[-.])?(\d{1,3})(?:\s|[-._)]|$)")


@dataclass(frozen=True)
class TrackRef:
    """What grouping needs of a track (all tag values as read; empty when absent)."""

    path: Path
    artist: str = ""
    album: str = ""
    album_artist: str = ""
    track_number: str = ""  # "3", "03", "3/12"
    disc_number: str = ""  # "1", "1/2"


def track_ref(result) -> TrackRef:
    """What grouping needs of a scan result (any object with these attributes; absent ones are empty)."""
    g = lambda name: str(getattr(result, name, "") or "")  # noqa: E731
    return TrackRef(Path(result.path), g("artist"), g("album"), g("album_artist"), g("track_number"), g("disc_number"))


@dataclass(frozen=True)
class Album:
    """An album found by :func:`group_tracks`: ``key`` is its identity (normalised),
    ``name`` what a person reads ("Artist — Album", or the folder for untagged albums)."""

    key: str
    name: str


def norm(s: str) -> str:
    """Case-, width- and space-insensitive form of a tag value."""
    return " ".join(unicodedata.normalize("NFKC", s).casefold().split())


def album_title(album: str) -> str:
    """The album title without a disc suffix ("Title (Disc 2)", "Title CD1" -> "title")."""
    t = norm(album)
    stripped = _DISC_SUFFIX.sub("", t).strip()
    return stripped or t


def main_artist(artist: str) -> str:
    """The artist without featured guests ("A feat. B" -> "a")."""
    a = norm(artist)
    return _FEAT.sub("", a).strip() or a


def is_various(artist: str) -> bool:
    return norm(artist) in _VARIOUS


def album_folder(path: str | Path) -> Path:
    """The folder that holds a track's album: its folder, or the one above a ``Disc 2``/``CD1`` folder."""
    parent = Path(os.path.abspath(path)).parent
    if _DISC_FOLDER.fullmatch(parent.name.strip()) and parent.parent != parent:
        return parent.parent
    return parent


def _number(t: TrackRef) -> tuple[int, int] | None:
    """(disc, track) from the tags, else from a file name such as "03 Title" or "1-03 Title"
    (its disc from the name, else from a ``CD2``/``Disc 2`` folder, else 1)."""
    m = re.match(r"\s*(\d+)", t.track_number or "")
    if m:
        d = re.match(r"\s*(\d+)", t.disc_number or "")
        return (int(d.group(1)) if d else 1, int(m.group(1)))
    m = _NUMBERED_NAME.match(Path(t.path).name)
    if m:
        if m.group(1):
            return (int(m.group(1)), int(m.group(2)))
        folder = Path(t.path).parent.name.strip()
        d = re.search(r"\d+", folder) if _DISC_FOLDER.fullmatch(folder) else None
        return (int(d.group()) if d else 1, int(m.group(2)))
    return None


RIP_MIN_TRACKS = 3  # an artist-less folder is one album only with this many tracks numbered 1..N


def folder_is_one_album(tracks: Sequence[TrackRef], complete: bool = True, size: int | None = None) -> bool:
    """Files without album tags in one folder are one album only when evidently so: two
    or more, one artist (tag, guests ignored), each numbered, no number twice; or, none
    with an artist tag, :data:`RIP_MIN_TRACKS` or more of one format (file extension),
    numbered 1..N on each disc without a gap. ``complete=False``: the folder is still
    being scanned — could these tracks still be one album when the rest arrive? (``size``:
    how many files the folder holds, when known: a rip's numbers cannot exceed it.)"""
    if len(tracks) < 2 and complete:
        return False
    artists = {main_artist(t.artist) for t in tracks}
    numbers = [_number(t) for t in tracks]
    if len(artists) != 1 or None in numbers or len(set(numbers)) != len(numbers):
        return False
    if "" not in artists:
        return True
    if len({Path(t.path).suffix.lower() for t in tracks}) != 1:
        return False  # no artist: a rip is one format
    if not complete:
        return size is None or all(1 <= n[1] <= size for n in filter(None, numbers))
    discs: dict[int, list[int]] = {}
    for disc, track in filter(None, numbers):
        discs.setdefault(disc, []).append(track)
    gapless = all(sorted(n) == list(range(1, len(n) + 1)) for n in discs.values())
    return len(tracks) >= RIP_MIN_TRACKS and gapless


def group_tracks(tracks: Sequence[TrackRef]) -> list[Album | None]:
    """The album of each track (None: decided per track). See the module's docstring.
    An album of one track is returned as an album; :func:`album_decisions` decides it as
    a track."""
    out: list[Album | None] = [None] * len(tracks)
    # tracks with an album tag but no album artist: by (folder, title), to tell compilations
    by_title: dict[tuple[Path, str], list[int]] = {}
    untagged: dict[Path, list[int]] = {}
    for i, t in enumerate(tracks):
        if not norm(t.album):
            untagged.setdefault(album_folder(t.path), []).append(i)
        elif norm(t.album_artist):
            if not is_various(t.album_artist):
                key = f"{main_artist(t.album_artist)} — {album_title(t.album)}"
                out[i] = Album(key, f"{t.album_artist.strip()} — {t.album.strip()}")
        else:
            by_title.setdefault((album_folder(t.path), album_title(t.album)), []).append(i)
    for (folder, title), idx in by_title.items():
        artists = {main_artist(tracks[i].artist) for i in idx}
        if len(artists) > 1 or artists & _VARIOUS:
            continue  # a compilation without an album artist
        (artist,) = artists
        first = tracks[idx[0]]
        # without any artist, the title alone says little ("Untitled"): the folder is part of the key
        key = f"{artist} — {title}" if artist else f"{title} @ {os.fsdecode(folder)}"
        for i in idx:
            out[i] = Album(key, f"{first.artist.strip()} — {first.album.strip()}" if artist else first.album.strip())
    for folder, idx in untagged.items():
        if folder_is_one_album([tracks[i] for i in idx]):
            first = tracks[idx[0]]
            name = f"{first.artist.strip()} — {folder.name}" if main_artist(first.artist) else folder.name
            album = Album(f"folder: {os.fsdecode(folder)}", name)
            for i in idx:
                out[i] = album
    return out


# ---------------------------------------------------------------------------
# pooling and decisions

Ranked = list[tuple[str, float]]  # (genre, probability), best first


def _as_dict(top: Ranked) -> dict[str, float]:
    d: dict[str, float] = {}
    for g, p in top:  # two genres mapped to one name: one genre with both probabilities
        d[g] = d.get(g, 0.0) + float(p)
    return d


@dataclass
class PoolStats:
    """What pooling needs of an album's tracks: per genre the sum of probabilities
    (``mean``) or of log probabilities (``mean-log``), and the number of tracks."""

    sums: dict[str, float] = field(default_factory=dict)
    n: int = 0

    def add(self, top: Ranked, pooling: str) -> None:
        for g, p in _as_dict(top).items():
            self.sums[g] = self.sums.get(g, 0.0) + (p if pooling == MEAN else math.log(max(p, EPS)))
        self.n += 1

    def merged(self, other: PoolStats) -> PoolStats:
        out = PoolStats(dict(self.sums), self.n + other.n)
        for g, v in other.sums.items():
            out.sums[g] = out.sums.get(g, 0.0) + v
        return out

    def probabilities(self, settings: AlbumSettings) -> Ranked:
        """The album's calibrated probabilities, best first."""
        if not self.n:
            return []
        if settings.pooling == MEAN:
            logs = {g: math.log(max(v / self.n, EPS)) for g, v in self.sums.items()}
        else:
            logs = {g: v / self.n for g, v in self.sums.items()}
        z = {g: v / settings.temperature for g, v in logs.items()}
        m = max(z.values())
        e = {g: math.exp(v - m) for g, v in z.items()}
        s = sum(e.values())
        return sorted(((g, v / s) for g, v in e.items()), key=lambda kv: -kv[1])


def pool_stats(tops: Sequence[Ranked], pooling: str) -> PoolStats:
    st = PoolStats()
    for t in tops:
        st.add(t, pooling)
    return st


def pool(tops: Sequence[Ranked], settings: AlbumSettings) -> Ranked:
    """The album's calibrated probabilities from its tracks' ``top`` lists (all genres
    of one vocabulary each), best first."""
    return pool_stats(tops, settings.pooling).probabilities(settings)


def contradicts(own: Ranked, album_genre: str, rule: Contradiction) -> bool:
    """The track's own evidence strongly contradicts the album's genre (see :class:`Contradiction`)."""
    if not own:
        return False
    d = _as_dict(own)
    best, p = max(d.items(), key=lambda kv: kv[1])
    return best != album_genre and p >= rule.own_min and d.get(album_genre, 0.0) <= rule.album_max


@dataclass(frozen=True)
class AlbumDecision:
    """How one track is decided: ``basis`` is FOLLOWS_ALBUM, OWN_CONTRADICTS or OWN_SINGLE;
    ``top`` the probabilities the decision reads (the album's pooled ones when it follows
    the album, else the track's own); ``album`` / ``album_top`` / ``tracks`` describe its
    album (None / [] / 0 without one)."""

    basis: str
    top: Ranked
    album: Album | None = None
    album_top: Ranked = field(default_factory=list)
    tracks: int = 0

    @property
    def follows_album(self) -> bool:
        return self.basis == FOLLOWS_ALBUM


def album_decisions(
    albums: Sequence[Album | None], tops: Sequence[Ranked], settings: AlbumSettings, earlier: dict[str, PoolStats] | None = None
) -> list[AlbumDecision]:
    """One :class:`AlbumDecision` per track, from its album (:func:`group_tracks`) and its
    own ``top`` (every genre, best first; [] for a track without evidence, which joins no
    pool). ``earlier``: the pooled evidence of albums' tracks decided before (not among these)."""
    earlier = earlier or {}
    stats: dict[str, PoolStats] = {}
    for a, top in zip(albums, tops):
        if a is not None and top:
            stats.setdefault(a.key, PoolStats()).add(top, settings.pooling)
    stats = {k: st.merged(earlier[k]) if k in earlier else st for k, st in stats.items()}
    pooled = {k: st.probabilities(settings) for k, st in stats.items()}
    out = []
    for a, top in zip(albums, tops):
        n = stats[a.key].n if a is not None and a.key in stats else 0
        if a is None or not top:
            out.append(AlbumDecision(OWN_SINGLE, list(top)))
        elif n < 2:  # an album of one track: decided as a track
            out.append(AlbumDecision(OWN_SINGLE, list(top), a, list(top), 1))
        elif contradicts(top, pooled[a.key][0][0], settings.contradiction):
            out.append(AlbumDecision(OWN_CONTRADICTS, list(top), a, pooled[a.key], n))
        else:
            out.append(AlbumDecision(FOLLOWS_ALBUM, pooled[a.key], a, pooled[a.key], n))
    return out


def holds_for_album(t: TrackRef) -> bool:
    """Whether ``t`` may be pooled at all (so a scan waits for its album folder): an album
    tag that does not name a compilation, or no album tag but a number (its folder decides)."""
    if norm(t.album):
        return not is_various(t.album_artist)
    return _number(t) is not None


CONTEXT = object()  # AlbumGate: the payload of a track that only lends its evidence


class AlbumGate:
    """A scan's tracks on their way to a decision: each is held until its album folder
    (:func:`album_folder`) has been scanned completely, then its album is decided and it
    is released with its :class:`AlbumDecision`. Tracks that cannot be pooled (a
    compilation, an un-numbered file without album tags, or any file of a
    folder that turned out not to be one album) are released at once, so writes keep
    flowing during the scan; the scanner walks folder by folder, so a folder's wait is
    short. An album whose tracks lie in several album folders is decided when each of
    them completes, over all its tracks seen so far.

    ``paths``: every file the scan will report (errors included): their count per album
    folder says when a folder is complete. ``payload``: whatever the caller wants back."""

    def __init__(self, paths: Sequence[str | Path], settings: AlbumSettings):
        self.settings = settings
        self.remaining: dict[Path, int] = {}
        for p in paths:
            f = album_folder(p)
            self.remaining[f] = self.remaining.get(f, 0) + 1
        self.size = dict(self.remaining)  # files per album folder
        self.held: dict[Path, list[tuple[TrackRef, Ranked, object]]] = {}
        self.not_one_album: set[Path] = set()  # folders whose files without album tags are decided per track
        self.members: dict[str, PoolStats] = {}  # albums decided earlier: their tracks' pooled evidence

    def add(self, path: str | Path, ref: TrackRef | None, top: Ranked, payload: object) -> list[tuple[object, AlbumDecision]]:
        """A track is finished (``ref`` None: it failed; it only counts as done). Returns
        the tracks released now, with their decisions."""
        folder = album_folder(path)
        self.remaining[folder] = self.remaining.get(folder, 1) - 1
        out: list[tuple[object, AlbumDecision]] = []
        if ref is not None:
            untagged = not norm(ref.album)
            others = [h[0] for h in self.held.get(folder, []) if not norm(h[0].album)] if untagged else []
            # another artist, a number twice, a rip's number that cannot be 1..N: the folder is
            # not one album, whatever comes next
            mixed = untagged and not folder_is_one_album([*others, ref], complete=False, size=self.size.get(folder))
            if not top or not holds_for_album(ref) or (untagged and folder in self.not_one_album) or mixed:
                out.append((payload, AlbumDecision(OWN_SINGLE, list(top))))
                if untagged and top:
                    out += self._release_untagged(folder)
            else:
                self.held.setdefault(folder, []).append((ref, top, payload))
        if self.remaining[folder] <= 0:
            out += self._decide(self.held.pop(folder, []))
        return out

    def add_context(self, path: str | Path, ref: TrackRef, top: Ranked) -> None:
        """A track that is not part of the scan but whose evidence is known (cached): it
        joins its album's pool and is never released (scanning one new file of an album
        decides it with the album's other tracks)."""
        if top and holds_for_album(ref) and norm(ref.album):
            self.held.setdefault(album_folder(path), []).append((ref, top, CONTEXT))

    def flush(self) -> list[tuple[object, AlbumDecision]]:
        """Release every held track (the scan ended, or was cancelled): decided over what was seen."""
        out = []
        for folder in list(self.held):
            out += self._decide(self.held.pop(folder))
        return out

    def _release_untagged(self, folder: Path) -> list[tuple[object, AlbumDecision]]:
        self.not_one_album.add(folder)
        held = self.held.get(folder, [])
        keep = [h for h in held if norm(h[0].album)]
        out = [(h[2], AlbumDecision(OWN_SINGLE, list(h[1]))) for h in held if not norm(h[0].album)]
        if held:
            self.held[folder] = keep
        return out

    def _decide(self, held: list[tuple[TrackRef, Ranked, object]]) -> list[tuple[object, AlbumDecision]]:
        if not held:
            return []
        albums = group_tracks([h[0] for h in held])
        decisions = album_decisions(albums, [h[1] for h in held], self.settings, self.members)
        for a, h in zip(albums, held):
            if a is not None and h[1]:
                self.members.setdefault(a.key, PoolStats()).add(h[1], self.settings.pooling)
        return [(h[2], d) for h, d in zip(held, decisions) if h[2] is not CONTEXT]
