"""GTZAN layout, split files and seeded splits.

Audio layout: ``<root>/<genre>/<genre>.NNNNN.<ext>`` (any audio extension the app
decodes). Split files hold one ``genre/genre.NNNNN`` stem per line (the
fault-filtered split of Kereliuk, Sturm & Larsen 2015). Kaggle images are
``<root>/kaggle/images_original/<genre>/<genre>NNNNN.png``; :func:`stem_of_image`
maps them onto the same stems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genre_tagger.genres import GTZAN_GENRES as _GTZAN
from genre_tagger.listen.audio import AUDIO_EXTS

GTZAN_GENRES = list(_GTZAN)
_STEM = re.compile(r"^([a-z]+)\.(\d{5})$")
_IMAGE = re.compile(r"^([a-z]+)(\d{5})$")


@dataclass(frozen=True)
class Clip:
    stem: str  # "blues/blues.00012"
    genre: str
    path: Path


def stem_of_image(path: str | Path) -> str:
    """``.../blues/blues00012.png`` -> ``blues/blues.00012``."""
    m = _IMAGE.match(Path(path).stem)
    if not m:
        raise ValueError(f"{path}: not a GTZAN image name (<genre>NNNNN.png)")
    return f"{m.group(1)}/{m.group(1)}.{m.group(2)}"


def stem_of_audio(path: str | Path) -> str:
    p = Path(path)
    m = _STEM.match(p.stem)
    if not m:
        raise ValueError(f"{path}: not a GTZAN clip name (<genre>.NNNNN.<ext>)")
    return f"{m.group(1)}/{p.stem}"


def find_clips(root: str | Path, genres: list[str] | None = None) -> list[Clip]:
    """All clips under ``root`` in the GTZAN layout, sorted by stem."""
    root = Path(root)
    genres = genres or GTZAN_GENRES
    clips = []
    for g in genres:
        d = root / g
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.suffix.lower() in AUDIO_EXTS and _STEM.match(p.stem) and p.stem.split(".")[0] == g:
                clips.append(Clip(stem_of_audio(p), g, p))
    if not clips:
        raise FileNotFoundError(f"{root}: no GTZAN clips (<genre>/<genre>.NNNNN.<ext>) found")
    return clips


def read_split(path: str | Path) -> list[str]:
    """Stems of a split file; blank lines and comments ignored, extensions stripped."""
    stems = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        stem = re.sub(r"\.(wav|au|mp3|ogg|opus|flac)$", "", line)
        if "/" not in stem:
            stem = f"{stem.split('.')[0]}/{stem}"
        if not _STEM.match(stem.split("/")[-1]):
            raise ValueError(f"{path}: bad stem {line!r}")
        stems.append(stem)
    return stems


def filtered_split(split_dir: str | Path) -> dict[str, list[str]]:
    """The fault-filtered split: {'train': [...], 'valid': [...], 'test': [...]}."""
    d = Path(split_dir)
    return {name: read_split(d / f"{name}_filtered.txt") for name in ("train", "valid", "test")}


def stratified_split(labels: list[str], ratios: tuple[float, float, float], seed: int) -> tuple[list[int], list[int], list[int]]:
    """Seeded stratified train/valid/test indices (per-class shuffles, rounded per class)."""
    if abs(sum(ratios) - 1) > 1e-6:
        raise ValueError("ratios must sum to 1")
    rng = np.random.default_rng(seed)
    out: tuple[list[int], list[int], list[int]] = ([], [], [])
    for c in sorted(set(labels)):
        idx = np.array([i for i, lab in enumerate(labels) if lab == c])
        rng.shuffle(idx)
        n_tr = int(round(ratios[0] * len(idx)))
        n_va = int(round(ratios[1] * len(idx)))
        out[0].extend(idx[:n_tr].tolist())
        out[1].extend(idx[n_tr : n_tr + n_va].tolist())
        out[2].extend(idx[n_tr + n_va :].tolist())
    return tuple(sorted(x) for x in out)  # type: ignore[return-value]


def grouped_folds(groups: list[str], n_folds: int, seed: int) -> list[list[int]]:
    """Indices split into ``n_folds`` folds such that no group spans two folds."""
    rng = np.random.default_rng(seed)
    uniq = sorted(set(groups))
    rng.shuffle(uniq)
    sizes = {g: groups.count(g) for g in uniq}
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    load = [0] * n_folds
    for g in sorted(uniq, key=lambda g: -sizes[g]):  # greedy balance, big groups first
        k = int(np.argmin(load))
        folds[k].append(g)
        load[k] += sizes[g]
    return [[i for i, g in enumerate(groups) if g in set(f)] for f in folds]


def partition_groups(stems: list[str], split: dict[str, list[str]]) -> list[str]:
    """Artist-disjoint group of each stem: the fault-filtered partition it belongs to
    ('train' / 'valid' / 'test'), or 'none' for clips the filtered split left out."""
    where = {s: name for name, ss in split.items() for s in ss}
    return [where.get(s, "none") for s in stems]
