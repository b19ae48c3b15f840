"""Deterministic input patches for checking the musicnn port against the original.

``training/genre/tools/make_musicnn_reference.py`` feeds these patches to the original
TensorFlow graph (musicnn's own ``models.py``) and stores the outputs in
``tests/data/musicnn_reference.json``; the tests feed them to the PyTorch port.
"""

from __future__ import annotations

import numpy as np

N_PATCHES = 3


def reference_patches(n: int = N_PATCHES, frames: int = 187, mels: int = 96) -> np.ndarray:
    """``[n, frames, mels]`` float32 log-mel-like patches (values ~0..4, smooth in time)."""
    rng = np.random.default_rng(20191)
    t = np.arange(frames)[:, None]
    f = np.arange(mels)[None, :]
    out = []
    for i in range(n):
        envelope = 2.5 * np.exp(-f / (20.0 + 15 * i))  # more energy at low mels
        rhythm = 0.8 * (np.sin(2 * np.pi * t / (8 + 3 * i)) > 0.6)  # beats
        noise = np.abs(np.cumsum(rng.normal(0, 0.15, (frames, mels)), axis=0)) % 1.0
        out.append(envelope + rhythm * (f < 30) + 0.6 * noise)
    return np.stack(out).astype(np.float32)
