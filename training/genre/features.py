"""Cache, per GTZAN clip, the front-end patches and the pretrained taggers' outputs.

Uses the app's own decoding and front-end (``genre_tagger.listen.audio`` / ``.frontend``), so
what the heads are trained on is exactly what the app computes. Resumable: clips
already in the cache are skipped.

    python -m training.genre.features --data ../shared/data/gtzan [--windows 10]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.pipeline import track_patches
from genre_tagger.listen.windows import WindowSpec

from ..data import Clip, find_clips
from ..weights import DEFAULT_CACHE, musicnn_dir
from .musicnn import load_pretrained


@dataclass
class FeatureConfig:
    data: Path
    cache: Path = DEFAULT_CACHE
    windows: int = 10
    margin: float = 0.0
    taggers: tuple[str, ...] = ("MSD_musicnn", "MTT_musicnn")
    frontend: FrontendConfig = field(default_factory=FrontendConfig)

    @property
    def out_dir(self) -> Path:
        return self.cache / "features" / f"w{self.windows}_m{self.margin:g}"


def clip_patches(path: Path, fe: FrontendConfig, windows: int, margin: float) -> np.ndarray:
    """The app's path (:func:`genre_tagger.listen.pipeline.track_patches`): ``windows`` windows
    spread over the clip -> patches."""
    return track_patches(path, fe, WindowSpec(count=windows, margin=margin)).patches


def extract(cfg: FeatureConfig, clips: list[Clip] | None = None) -> Path:
    clips = clips or find_clips(cfg.data)
    out = cfg.out_dir
    out.mkdir(parents=True, exist_ok=True)
    models = {n: load_pretrained(n, musicnn_dir(cfg.cache)) for n in cfg.taggers}
    t0, done = time.time(), 0
    for clip in clips:
        dest = out / f"{clip.stem.replace('/', '__')}.npz"
        if dest.exists():
            continue
        patches = clip_patches(clip.path, cfg.frontend, cfg.windows, cfg.margin)
        arrays: dict[str, np.ndarray] = {"patches": patches.astype(np.float16)}
        with torch.no_grad():
            x = torch.from_numpy(patches)
            for name, m in models.items():
                o = m.forward_features(x)
                arrays[f"{name}_logits"] = o.logits.numpy()
                arrays[f"{name}_embedding"] = o.embedding.numpy()
        tmp = dest.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.rename(dest)
        done += 1
        if done % 20 == 0:
            print(f"{done} clips, {(time.time() - t0) / done:.2f} s/clip", flush=True)
    return out


def load_features(out_dir: Path, stems: list[str], keys: list[str]) -> dict[str, np.ndarray]:
    """Stack cached arrays: {key: [n_clips, windows, ...]}."""
    res: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for s in stems:
        with np.load(out_dir / f"{s.replace('/', '__')}.npz") as z:
            for k in keys:
                res[k].append(z[k])
    return {k: np.stack(v) for k, v in res.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="GTZAN root (<genre>/<genre>.NNNNN.<ext>)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--windows", type=int, default=10)
    ap.add_argument("--margin", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = extract(FeatureConfig(args.data, args.cache, args.windows, args.margin))
    print("features in", out)


if __name__ == "__main__":
    main()
