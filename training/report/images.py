"""The Kaggle GTZAN mel-spectrogram images (``images_original``) as a tensor dataset.

Each PNG is 432x288 RGBA; the spectrogram occupies rows 35-251 and columns 54-388
(see the dataset's kaggle/README.md). ``crop=True`` keeps only that block (no axes,
no white margin); images are resized to ``size`` and cached as uint8 in ``.cache``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import GTZAN_GENRES, stem_of_image

DATA_BOX = (35, 252, 54, 389)  # rows [35, 252), cols [54, 389)
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclass(frozen=True)
class ImageConfig:
    size: tuple[int, int] = (96, 144)  # (height, width) fed to the models (CPU budget)
    crop: bool = True


def find_images(root: str | Path) -> list[tuple[str, Path]]:
    """(stem, path) of every ``<genre>/<genre>NNNNN.png`` under ``root`` (sorted)."""
    root = Path(root)
    out = []
    for g in GTZAN_GENRES:
        for p in sorted((root / g).glob(f"{g}*.png")):
            out.append((stem_of_image(p), p))
    if not out:
        raise FileNotFoundError(f"{root}: no images (<genre>/<genre>NNNNN.png) found")
    return out


def load_image(path: Path, cfg: ImageConfig) -> np.ndarray:
    """PNG -> ``[3, H, W]`` uint8 (RGB)."""
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if cfg.crop:
        r0, r1, c0, c1 = DATA_BOX
        img = img.crop((c0, r0, c1, r1))
    img = img.resize((cfg.size[1], cfg.size[0]), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()


def load_dataset(root: str | Path, cfg: ImageConfig, cache: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(stems, images [N,3,H,W] uint8, labels [N]); cached by root + config."""
    items = find_images(root)
    key = hashlib.sha1(f"{Path(root).resolve()}|{cfg}|{len(items)}".encode()).hexdigest()[:12]
    f = cache / "images" / f"{key}.npz"
    stems = [s for s, _ in items]
    labels = np.array([GTZAN_GENRES.index(s.split("/")[0]) for s in stems])
    if f.exists():
        with np.load(f) as z:
            return stems, z["x"], labels
    x = np.stack([load_image(p, cfg) for _, p in items])
    f.parent.mkdir(parents=True, exist_ok=True)
    np.savez(f, x=x)
    return stems, x, labels


def to_float(x: np.ndarray, imagenet: bool) -> np.ndarray:
    """uint8 images -> float32 in [0,1], ImageNet-normalised when ``imagenet``."""
    y = x.astype(np.float32) / 255.0
    if imagenet:
        y = (y - IMAGENET_MEAN[:, None, None]) / IMAGENET_STD[:, None, None]
    return y
