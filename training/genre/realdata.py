"""The fitting data: GTZAN audio clips (one label each) and realmusic clips (a set of
accepted genre ids each), with the groups and splits the protocols need.

realmusic's ``labels.csv`` is described in its README: ``genres`` is the ``;``-separated
set of canonical ids that count as correct, ``gtzan_genre`` the single GTZAN class where
one applies. GTZAN clips get the singleton set of their folder's genre.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from genre_tagger.genres import GTZAN_GENRES, genre_id

from ..data import filtered_split, find_clips, partition_groups


def realmusic_key(path: str) -> str:
    """Feature-cache key of a realmusic clip (``path`` as in labels.csv)."""
    return "realmusic/" + path.rsplit(".", 1)[0]


def gtzan_key(stem: str) -> str:
    """Feature-cache key of a GTZAN clip (``stem`` as ``<genre>/<genre>.NNNNN``)."""
    return f"gtzan/{stem}"


@dataclass(frozen=True)
class Example:
    key: str  # feature-cache key: "gtzan/<stem>" or "realmusic/<path without extension>"
    path: Path
    accepted: frozenset[str]  # canonical ids that count as correct
    primary: str  # first accepted id
    gtzan: str  # the single GTZAN class where one applies, else ""
    confidence: str  # high | medium | low (GTZAN: "gtzan")
    group: str  # artist (realmusic) / fault-filtered partition (GTZAN)
    source: str  # "gtzan" or realmusic's source_dataset (panda4q, emotify, jamendolyrics)

    @property
    def is_real(self) -> bool:
        return self.source != "gtzan"


def realmusic_examples(root: Path) -> list[Example]:
    with open(Path(root) / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        ids = [genre_id(g) for g in r["genres"].split(";") if g.strip()]
        out.append(
            Example(
                key=realmusic_key(r["path"]),
                path=Path(root) / r["path"],
                accepted=frozenset(ids),
                primary=ids[0],
                gtzan=genre_id(r["gtzan_genre"]) if r["gtzan_genre"].strip() else "",
                confidence=r["label_confidence"],
                group="artist:" + " ".join(r["artist"].lower().split()),
                source=r["source_dataset"],
            )
        )
    return out


def gtzan_examples(root: Path) -> list[Example]:
    """GTZAN clips with audio; group = fault-filtered partition (train/valid/test/none)."""
    split = filtered_split(Path(root) / "splits")
    clips = find_clips(root)
    groups = partition_groups([c.stem for c in clips], split)
    out = []
    for c, group in zip(clips, groups):
        g = genre_id(c.genre)
        if g not in GTZAN_GENRES:
            raise ValueError(f"{c.path}: {c.genre!r} is not a GTZAN genre")
        out.append(Example(gtzan_key(c.stem), c.path, frozenset([g]), g, g, "gtzan", group, "gtzan"))
    return out


def gtzan_top1_eligible(e: Example) -> bool:
    """Counted by realmusic's GTZAN-10 top-1: has a gtzan_genre, confidence high or medium."""
    return e.is_real and bool(e.gtzan) and e.confidence in ("high", "medium")
