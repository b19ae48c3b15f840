"""The one audio -> model input pipeline, used by the app and by ``training/``.

``track_patches(path, frontend, windows)`` decodes only the windows a model needs
(positions in exact samples of the decoded 16 kHz signal, :class:`WindowSpec`) and turns
them into log-mel patches (:mod:`genre_tagger.listen.frontend`). ``signal_patches`` does the
same for a signal already in memory (the whole track at the front-end's rate): given the
same audio, both return the same patches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import read_windows
from .frontend import FrontendConfig, patches_from_windows
from .windows import WindowSpec


@dataclass(frozen=True)
class TrackPatches:
    """The model input for one track."""

    patches: np.ndarray  # [N, patch_frames, n_mels] float32, N = len(starts)
    starts: list[int]  # window start samples at frontend.sample_rate
    n_samples: int  # decoded length at frontend.sample_rate
    duration: float  # seconds (from the container)
    backend: str  # "soundfile" | "pyav" | "memory"


def min_samples(frontend: FrontendConfig, windows: WindowSpec) -> int:
    """Shortest track the model accepts, in samples (``windows.min_seconds`` or one window)."""
    if windows.min_seconds is None:
        return frontend.patch_samples
    return int(round(windows.min_seconds * frontend.sample_rate))


def _check(frontend: FrontendConfig, windows: WindowSpec) -> None:
    if (windows.length, windows.sample_rate) != (frontend.patch_samples, frontend.sample_rate):
        raise ValueError("windows do not fit the front-end (length/sample_rate)")


def track_patches(path: str | Path, frontend: FrontendConfig, windows: WindowSpec) -> TrackPatches:
    """Decode ``path``'s windows and compute their patches.

    Raises :class:`~genre_tagger.errors.DecodeError` (or a subclass) naming the file.
    """
    _check(frontend, windows)
    planned: list[int] = []

    def plan(n: int) -> list[int]:
        planned[:] = windows.starts(n)
        return planned

    info, wins = read_windows(path, plan, windows.length, frontend.sample_rate, min_samples(frontend, windows))
    return TrackPatches(patches_from_windows(wins, frontend), list(planned), info.n_samples, info.duration, info.backend)


def signal_patches(y: np.ndarray, frontend: FrontendConfig, windows: WindowSpec) -> TrackPatches:
    """The patches of a whole mono track ``y`` already at ``frontend.sample_rate``."""
    _check(frontend, windows)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError("signal_patches expects a non-empty mono signal")
    starts = windows.starts(len(y))
    wins = [y[s : s + windows.length] for s in starts]
    return TrackPatches(patches_from_windows(wins, frontend), starts, len(y), len(y) / frontend.sample_rate, "memory")
