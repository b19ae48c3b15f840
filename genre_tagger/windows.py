"""Where in a track the model listens, and how window predictions are combined."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class WindowSpec:
    count: int = 4  # windows per track
    margin: float = 0.1  # fraction of the track skipped at each end (intros, fade-outs)
    aggregation: str = "mean"  # mean of per-window probabilities
    min_seconds: float | None = None  # shorter tracks are refused; None = one patch

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> WindowSpec:
        return cls(**d)


def window_starts(duration: float, window: float, count: int, margin: float) -> list[float]:
    """Start times (s) of ``count`` windows of ``window`` s spread evenly over the track.

    The windows are centred on evenly spaced points of ``[margin, 1 - margin]`` of the
    track (they may overlap on short tracks); they never start before 0 or run past
    the end when the track is long enough to hold one window.
    """
    if count < 1:
        raise ValueError("count must be >= 1")
    if duration <= window:
        return [0.0]
    lo, hi = margin * duration, (1 - margin) * duration
    if count == 1:
        centres = np.array([(lo + hi) / 2])
    else:
        centres = lo + (hi - lo) * (np.arange(count) + 0.5) / count
    starts = np.clip(centres - window / 2, 0.0, duration - window)
    return [float(s) for s in starts]


def aggregate(probs: np.ndarray, how: str = "mean") -> np.ndarray:
    """Per-window probabilities ``[N, C]`` -> one ``[C]`` vector for the track."""
    probs = np.asarray(probs, dtype=np.float64)
    if how == "mean":
        out = probs.mean(axis=0)
    elif how == "geometric":
        out = np.exp(np.log(np.clip(probs, 1e-9, 1.0)).mean(axis=0))
        out = out / out.sum()
    else:
        raise ValueError(f"unknown aggregation {how!r}")
    return out
