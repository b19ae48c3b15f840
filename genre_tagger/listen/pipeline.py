"""The one audio -> model input pipeline, used by the app and by ``training/``.

``track_patches(path, frontend, windows)`` decodes only the windows a model needs
(positions in exact samples of the decoded 16 kHz signal, :class:`WindowSpec`) and turns
them into log-mel patches (:mod:`genre_tagger.listen.frontend`). ``signal_patches`` does the
same for a signal already in memory (the whole track at the front-end's rate): given the
same audio, both return the same patches.

A model with a second tagger (model v5: EfficientAT mn04 at 32 kHz) names a second front
end and window set (:class:`SecondInput`); ``track_patches`` then decodes the file ONCE
and derives both inputs from the same native samples (each resampled to its own rate,
:func:`genre_tagger.listen.audio.read_requests`): ``patches`` for musicnn and ``mn_mels``
``[M, n_mels, frames]`` for mn04 (:mod:`genre_tagger.listen.mn_frontend`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import Request, read_requests
from .frontend import FrontendConfig, patches_from_windows
from .mn_frontend import MnFrontendConfig, log_mel
from .windows import WindowSpec


@dataclass(frozen=True)
class SecondInput:
    """The second tagger's input: its front end and where its windows lie (positions in
    samples at ``frontend.sample_rate``; ``windows.sample_rate`` must equal it)."""

    frontend: MnFrontendConfig
    windows: WindowSpec

    def __post_init__(self) -> None:
        if self.windows.sample_rate != self.frontend.sample_rate:
            raise ValueError("second input: windows and front end have different sample rates")

    @property
    def frames(self) -> int:
        return self.frontend.frames(self.windows.length)


def mn_mels_from_windows(windows: list[np.ndarray], second: SecondInput) -> np.ndarray:
    """Windows at the second front end's rate -> ``[M, n_mels, frames]`` float32; a short
    window (a track shorter than one window) is repeat-padded, as musicnn's patches are."""
    n = second.windows.length
    out = []
    for w in windows:
        w = np.asarray(w, dtype=np.float32)
        if len(w) == 0:
            raise ValueError("empty window")
        if len(w) < n:
            w = np.tile(w, int(np.ceil(n / len(w))))[:n]
        out.append(w[:n])
    return log_mel(np.stack(out), second.frontend)


@dataclass(frozen=True)
class TrackPatches:
    """The model input for one track."""

    patches: np.ndarray  # [N, patch_frames, n_mels] float32, N = len(starts)
    starts: list[int]  # window start samples at frontend.sample_rate
    n_samples: int  # decoded length at frontend.sample_rate
    duration: float  # seconds (from the container)
    backend: str  # "soundfile" | "pyav" | "memory"
    mn_mels: np.ndarray | None = None  # [M, n_mels, frames] of the second input, None without one
    mn_starts: list[int] = field(default_factory=list)  # its window starts at its own rate


def min_samples(frontend: FrontendConfig, windows: WindowSpec) -> int:
    """Shortest track the model accepts, in samples (``windows.min_seconds`` or one window)."""
    if windows.min_seconds is None:
        return frontend.patch_samples
    return int(round(windows.min_seconds * frontend.sample_rate))


def _check(frontend: FrontendConfig, windows: WindowSpec) -> None:
    if (windows.length, windows.sample_rate) != (frontend.patch_samples, frontend.sample_rate):
        raise ValueError("windows do not fit the front-end (length/sample_rate)")


def track_patches(path: str | Path, frontend: FrontendConfig, windows: WindowSpec, second: SecondInput | None = None) -> TrackPatches:
    """Decode ``path``'s windows (once, for both inputs when there is a ``second``) and
    compute their patches.

    Raises :class:`~genre_tagger.errors.DecodeError` (or a subclass) naming the file.
    """
    _check(frontend, windows)
    planned: list[int] = []
    planned2: list[int] = []

    def plan(n: int) -> list[int]:
        planned[:] = windows.starts(n)
        return planned

    def plan2(n: int) -> list[int]:
        planned2[:] = second.windows.starts(n)
        return planned2

    requests = [Request(plan, windows.length, frontend.sample_rate)]
    if second is not None:
        requests.append(Request(plan2, second.windows.length, second.frontend.sample_rate))
    info, wins = read_requests(path, requests, min_samples(frontend, windows))
    mn = mn_mels_from_windows(wins[1], second) if second is not None else None
    return TrackPatches(patches_from_windows(wins[0], frontend), list(planned), info.n_samples, info.duration, info.backend, mn,
                        list(planned2))  # fmt: skip


def signal_patches(
    y: np.ndarray, frontend: FrontendConfig, windows: WindowSpec, second: SecondInput | None = None, y2: np.ndarray | None = None
) -> TrackPatches:
    """The patches of a whole mono track ``y`` already at ``frontend.sample_rate`` (and, with
    a ``second`` input, ``y2``: the same track at its rate)."""
    _check(frontend, windows)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError("signal_patches expects a non-empty mono signal")
    starts = windows.starts(len(y))
    wins = [y[s : s + windows.length] for s in starts]
    mn, starts2 = None, []
    if second is not None:
        if y2 is None or len(y2) == 0:
            raise ValueError("signal_patches: a second input needs the track at its rate (y2)")
        starts2 = second.windows.starts(len(y2))
        mn = mn_mels_from_windows([y2[s : s + second.windows.length] for s in starts2], second)
    return TrackPatches(patches_from_windows(wins, frontend), starts, len(y), len(y) / frontend.sample_rate, "memory", mn, starts2)
