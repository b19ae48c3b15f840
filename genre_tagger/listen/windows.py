"""Where in a track the model listens: window positions in exact samples.

Positions are defined on the decoded signal at the front-end's sample rate (16 kHz):
a track of ``n`` samples gets the same windows whatever its container, decoder or
file name, so identical audio gets identical model input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class WindowSpec:
    """How many windows the model sees per track, and where they lie.

    ``count`` windows of ``length`` samples (at ``sample_rate``) are centred on evenly
    spaced points of ``[margin, 1 - margin]`` of the track (see :func:`window_starts`).
    The model aggregates them itself (inside the ONNX graph).
    """

    # windows per track: 16 keeps max |dp| of the top genre within 0.05 over +-50 ms shifts
    # and over mp3/flac/ogg/opus/m4a encodes (model v4, 24 realmusic clips: 0.050 / 0.039;
    # 4 windows: 0.131 / 0.076); results/stability.json, from benchmarks/stability.py.
    # A model's metadata names its own count.
    count: int = 16
    margin: float = 0.1  # fraction of the track skipped at each end (intros, fade-outs)
    length: int = 47616  # samples per window = FrontendConfig().patch_samples (187 frames)
    sample_rate: int = 16000  # the rate positions are counted in = FrontendConfig().sample_rate
    min_seconds: float | None = None  # shorter tracks are refused; None = one window

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("windows: count must be >= 1")
        if not 0.0 <= self.margin < 0.5:
            raise ValueError("windows: margin must be in [0, 0.5)")
        if self.length < 1 or self.sample_rate < 1:
            raise ValueError("windows: length and sample_rate must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> WindowSpec:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown window parameters: {sorted(unknown)}")
        return cls(**d)

    def starts(self, n_samples: int) -> list[int]:
        """Window start samples for a track of ``n_samples`` decoded samples."""
        return window_starts(n_samples, self.length, self.count, self.margin)


def window_starts(n_samples: int, window: int, count: int, margin: float) -> list[int]:
    """Start samples of ``count`` windows of ``window`` samples in a track of ``n_samples``.

    Window ``k`` is centred on ``margin*n + (1-2*margin)*n*(k+0.5)/count`` (rounded to a
    sample); windows may overlap on short tracks, never start before 0 and never run past
    the end when the track holds one window. A track shorter than one window gets a
    single window at 0 (the front-end repeat-pads it).
    """
    if count < 1:
        raise ValueError("count must be >= 1")
    if n_samples <= window:
        return [0]
    lo, span = margin * n_samples, (1 - 2 * margin) * n_samples
    out = []
    for k in range(count):
        centre = lo + span * (2 * k + 1) / (2 * count)
        start = int(round(centre)) - window // 2
        out.append(min(max(start, 0), n_samples - window))
    return out
