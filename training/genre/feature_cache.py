"""Cache the taggers' per-window outputs for every GTZAN and realmusic clip.

Decodes through the app's own pipeline (:func:`genre_tagger.listen.pipeline.track_patches`,
windows in exact samples) and stores, per clip, the tag logits and penultimate
embeddings of MSD_musicnn and MTT_musicnn (both with their dead front-end filters
pruned: exact, see :mod:`training.genre.prune`) for ``--windows`` evenly spaced windows,
so that the window count can be chosen later from subsets (MTT_musicnn, ~3x the
cost, on the 4 windows of :data:`MTT_WINDOWS` only). Resumable: clips already in
the cache are skipped. A clip that cannot be decoded is reported and left out.

    python -m training.genre.feature_cache --gtzan ../shared/data/gtzan \\
        --realmusic ../shared/data/realmusic [--windows 16] [--out runs/features]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genre_tagger.errors import GenreTaggerError
from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.pipeline import track_patches
from genre_tagger.listen.windows import WindowSpec

from ..data import find_clips
from ..weights import DEFAULT_CACHE, musicnn_dir
from .musicnn import load_pretrained
from .prune import PrunedMusicnn
from .realdata import gtzan_key, realmusic_key
from .tagger_features import DIMS

TAGGERS = ("MSD_musicnn", "MTT_musicnn")
# MTT_musicnn costs ~3x MSD per window: it is cached on the 4 of the 16 windows that approximate
# WindowSpec(count=4) (centres 0.225, 0.425, 0.625, 0.825 of the track)
MTT_WINDOWS = [2, 6, 10, 14]
KEYS = DIMS  # the cached arrays: each tagger block with its width


@dataclass(frozen=True)
class Item:
    key: str  # "gtzan/blues/blues.00012" or "realmusic/<path without extension>"
    path: Path


def gtzan_items(root: Path) -> list[Item]:
    return [Item(gtzan_key(c.stem), c.path) for c in find_clips(root)]


def realmusic_items(root: Path) -> list[Item]:
    with open(root / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [Item(realmusic_key(r["path"]), root / r["path"]) for r in rows]


def clip_items(gtzan: Path | None, realmusic: Path | None) -> list[Item]:
    """The clips a feature cache covers: realmusic's, then GTZAN's with audio (SystemExit
    when neither folder is given)."""
    items = (realmusic_items(realmusic) if realmusic else []) + (gtzan_items(gtzan) if gtzan else [])
    if not items:
        raise SystemExit("nothing to do: give --gtzan and/or --realmusic")
    return items


def cache_file(out: Path, key: str) -> Path:
    return out / (key.replace("/", "__") + ".npz")


def taggers(cache: Path = DEFAULT_CACHE) -> dict[str, torch.nn.Module]:
    return {n: PrunedMusicnn(load_pretrained(n, musicnn_dir(cache))).eval() for n in TAGGERS}


def tagger_outputs(models: dict[str, torch.nn.Module], patches: np.ndarray) -> dict[str, np.ndarray]:
    res = {}
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(patches, dtype=np.float32))
        for name, m in models.items():
            sub = x[MTT_WINDOWS] if name.startswith("MTT") and len(x) > max(MTT_WINDOWS) else x
            o = m.forward_features(sub)
            short = name.split("_")[0].lower()
            res[f"{short}_logits"] = o.logits.numpy().astype(np.float32)
            res[f"{short}_embedding"] = o.embedding.numpy().astype(np.float32)
    return res


def cache_each(items: list[Item], out: Path, arrays_of: Callable[[Item], dict[str, np.ndarray]]) -> None:
    """The resumable loop of every feature cache: for each clip not cached yet, its arrays
    (``arrays_of``; a clip that cannot be decoded is reported and left out), saved whole
    or not at all (a temporary file renamed), with progress."""
    out.mkdir(parents=True, exist_ok=True)
    t0, done = time.time(), 0
    todo = [it for it in items if not cache_file(out, it.key).exists()]
    print(f"{len(items) - len(todo)} cached, {len(todo)} to do", flush=True)
    for it in todo:
        try:
            arrays = arrays_of(it)
        except GenreTaggerError as e:
            print(f"skipped: {e}", flush=True)
            continue
        dest = cache_file(out, it.key)
        tmp = dest.with_name(dest.stem + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.rename(dest)
        done += 1
        if done % 25 == 0:
            print(f"{done}/{len(todo)} clips, {(time.time() - t0) / done:.2f} s/clip", flush=True)
    print(f"done: {done} clips in {time.time() - t0:.0f} s", flush=True)


def extract(items: list[Item], out: Path, windows: WindowSpec, cache: Path = DEFAULT_CACHE) -> None:
    fe = FrontendConfig()
    models = taggers(cache)

    def arrays_of(it: Item) -> dict[str, np.ndarray]:
        tp = track_patches(it.path, fe, windows)
        return {"starts": np.array(tp.starts), "n_samples": np.array(tp.n_samples), **tagger_outputs(models, tp.patches)}

    cache_each(items, out, arrays_of)


def load(out: Path, keys: list[str]) -> dict[str, np.ndarray]:
    """Stack cached arrays: {name: [n_clips, windows, dim]}; MSD over the 16 windows, MTT
    over the 4 of :data:`MTT_WINDOWS`."""
    res: dict[str, list[np.ndarray]] = {k: [] for k in KEYS}
    for key in keys:
        with np.load(cache_file(out, key)) as z:
            for k in KEYS:
                a = z[k]
                if k.startswith("mtt") and len(a) > len(MTT_WINDOWS):
                    a = a[MTT_WINDOWS]  # cached before MTT was limited to those windows
                res[k].append(a)
    return {k: np.stack(v) for k, v in res.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, help="GTZAN root (<genre>/<genre>.NNNNN.<ext>)")
    ap.add_argument("--realmusic", type=Path, help="realmusic root (labels.csv)")
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--out", type=Path, default=Path("runs/features"))
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="tagger weights cache")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = WindowSpec(count=args.windows, margin=args.margin)
    extract(clip_items(args.gtzan, args.realmusic), args.out / f"w{args.windows}_m{args.margin:g}", spec, args.cache)


if __name__ == "__main__":
    main()
