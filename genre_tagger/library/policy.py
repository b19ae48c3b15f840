"""What to write into a track, given the model's prediction and the tags it has."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

# statuses of a scanned file (also the JSON/CSV report's vocabulary)
TAGGED = "tagged"  # genre written
WOULD_TAG = "would-tag"  # --dry-run: would have been written
KEPT = "kept"  # has a genre and --overwrite is off
LOW_CONFIDENCE = "skipped-low-confidence"
UNCHANGED = "unchanged"  # already holds exactly what would be written
ERROR = "error"
CHANGED = "changed-since-scan"  # another program changed the file's genre after the scan: decided anew, left as it is now
STATUSES = (TAGGED, WOULD_TAG, KEPT, LOW_CONFIDENCE, UNCHANGED, CHANGED, ERROR)
# the same statuses in the words the desktop app shows (one set of names for CLI and app):
# (one file, several files)
STATUS_WORDS = {TAGGED: ("written", "written"), WOULD_TAG: ("will be written", "will be written"),
                KEPT: ("keeps its genre", "keep their genre"), LOW_CONFIDENCE: ("unsure — not written", "unsure — not written"),
                UNCHANGED: ("already tagged", "already tagged"),
                CHANGED: ("changed since the scan, left as it is", "changed since the scan, left as they are"),
                ERROR: ("error", "errors")}  # fmt: skip


def status_words(status: str, n: int) -> str:
    """``status_words(KEPT, 3) == "3 keep their genre"`` (the app's words)."""
    one, many = STATUS_WORDS.get(status, (status, status))
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class WritePolicy:
    overwrite: bool = False  # replace existing genres (default: only fill in empty ones)
    min_confidence: float | None = None  # skip tracks whose best genre is below this; None = the vocabulary's default
    max_genres: int = 1  # write up to N genres, each with probability >= min_confidence
    dry_run: bool = False
    mapping: dict[str, str] = field(default_factory=dict)  # display name -> user's name (Hip-Hop -> Rap)

    def __post_init__(self) -> None:
        if self.max_genres < 1:
            raise ValueError("max_genres must be >= 1")
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be between 0 and 1")

    def with_default_threshold(self, default: float) -> WritePolicy:
        """This policy with ``min_confidence`` set to ``default`` (the model vocabulary's
        ``min_confidence``) unless the user gave one."""
        return self if self.min_confidence is not None else replace(self, min_confidence=default)

    @property
    def threshold(self) -> float:
        return 0.0 if self.min_confidence is None else self.min_confidence


def parse_mapping(items: list[str], strict: bool = True) -> dict[str, str]:
    """``["Hip-Hop=Rap", ...]`` -> ``{"hip-hop": "Rap"}`` (keys case-insensitive). The one
    parser of genre mappings: ``--map`` items (``strict``: a malformed item is a ValueError)
    and the lines the desktop app's settings hold (blank or malformed lines are skipped)."""
    out = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not (eq and k.strip() and v.strip()):
            if strict:
                raise ValueError(f"genre mapping {item!r} is not NAME=NEW")
            continue
        out[k.strip().lower()] = v.strip()
    return out


def display_genres(top: list[tuple[str, float]], display: dict[str, str], mapping: dict[str, str]) -> list[tuple[str, float]]:
    """Model ids -> conventional display names -> the user's names."""
    out = []
    for gid, p in top:
        name = display.get(gid, gid)
        name = mapping.get(name.lower(), mapping.get(gid.lower(), name))
        out.append((name, p))
    return out


def redecide(top: list[tuple[str, float]], policy: WritePolicy) -> Callable[[list[str]], list[str] | None]:
    """The policy applied again to the genres a file holds at write time (the tag store
    calls it when the file changed after :func:`decide`, see
    :class:`genre_tagger.tagstore.write.Expect`): the genres to write, the file's own when
    it already holds them, or None to leave it (kept, or below the threshold)."""

    def again(now: list[str]) -> list[str] | None:
        status, genres = decide(top, now, replace(policy, dry_run=False))
        return genres if status in (TAGGED, UNCHANGED) else None

    return again


def decide(top: list[tuple[str, float]], existing: list[str], policy: WritePolicy) -> tuple[str, list[str]]:
    """``top``: (display name, probability) best first. Returns (status, genres to write).

    Writes up to ``max_genres`` genres, each of them at or above the threshold (a second
    genre below it is never added); nothing if the best one is below it."""
    threshold = policy.threshold
    if existing and not policy.overwrite:  # nothing would replace it, sure or not: it keeps its genre
        return KEPT, []
    if not top or top[0][1] < threshold:
        return LOW_CONFIDENCE, []
    chosen: list[str] = []
    for name, p in top:
        if len(chosen) == policy.max_genres or p < threshold:
            break
        if name not in chosen:
            chosen.append(name)
    if existing == chosen:
        return UNCHANGED, chosen
    return (WOULD_TAG if policy.dry_run else TAGGED), chosen
