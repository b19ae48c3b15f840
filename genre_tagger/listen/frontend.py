"""The one front-end: decoded audio -> the model's input (log-mel patches).

Both the app and ``training/`` import this module, and the model metadata stores
:class:`FrontendConfig` so that a model is never fed a representation it was not
trained on (:meth:`FrontendConfig.check` raises on any mismatch).

The defaults are the musicnn front-end: 16 kHz mono, STFT n_fft 512 / hop 256 with a
periodic Hann window, centred frames with reflect padding, power spectrum, 96 Slaney
mel bands (librosa's default filter bank), ``log10(10000 * mel + 1)`` in float32,
patches of 187 frames (3 s). Implemented in numpy so that the app does not need to
import librosa (the tests check it against librosa).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np


class FrontendParams:
    """What every front end's parameters share: to and from the model metadata (unknown keys
    refused), and a check against the app's own that names every difference."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown front-end parameters: {sorted(unknown)}")
        return cls(**d)

    def check(self, other: FrontendParams) -> None:
        """Raise ValueError naming every parameter where ``other`` differs from this one."""
        diffs = [
            f"{f.name}: model has {getattr(other, f.name)!r}, app computes {getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]
        if diffs:
            raise ValueError("front-end mismatch: " + "; ".join(diffs))


@dataclass(frozen=True)
class FrontendConfig(FrontendParams):
    name: str = "musicnn-logmel"
    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 96
    fmin: float = 0.0
    fmax: float = 8000.0
    mel_scale: str = "slaney"  # librosa htk=False
    mel_norm: str = "slaney"
    power: float = 2.0
    center: bool = True
    pad_mode: str = "reflect"
    log_multiplier: float = 10000.0  # log10(m * mel + 1)
    patch_frames: int = 187

    @property
    def patch_samples(self) -> int:
        """Samples (at ``sample_rate``) that give exactly ``patch_frames`` centred frames."""
        return (self.patch_frames - 1) * self.hop_length

    @property
    def patch_seconds(self) -> float:
        return self.patch_samples / self.sample_rate



def _hz_to_mel_slaney(f: np.ndarray) -> np.ndarray:
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz_slaney(m: np.ndarray) -> np.ndarray:
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=4)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-style, area-normalised triangular filters, ``[n_mels, 1 + n_fft // 2]`` float32."""
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_pts = _mel_to_hz_slaney(np.linspace(_hz_to_mel_slaney(fmin), _hz_to_mel_slaney(fmax), n_mels + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2 : n_mels + 2] - mel_pts[:n_mels]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=4)
def _hann(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)  # periodic


def log_mel(y: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Mono float audio at ``cfg.sample_rate`` -> ``[frames, n_mels]`` float32 log-mel."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError("log_mel expects mono audio")
    n_fft, hop = cfg.n_fft, cfg.hop_length
    if cfg.center:
        y = np.pad(y, n_fft // 2, mode=cfg.pad_mode)
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    n_frames = 1 + (len(y) - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(
        y, shape=(n_frames, n_fft), strides=(y.strides[0] * hop, y.strides[0]), writeable=False
    )
    spec = np.abs(np.fft.rfft(frames * _hann(n_fft), axis=1)) ** cfg.power
    fb = mel_filterbank(cfg.sample_rate, n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    mel = spec.astype(np.float32) @ fb.T
    return np.log10(cfg.log_multiplier * mel + 1.0).astype(np.float32)


def patch_from_window(y: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """One window of ``cfg.patch_samples`` samples -> one ``[patch_frames, n_mels]`` patch.

    Shorter windows are repeat-padded (as musicnn's ``pad_short='repeat-pad'``).
    """
    y = np.asarray(y, dtype=np.float32)
    n = cfg.patch_samples
    if len(y) == 0:
        raise ValueError("empty window")
    if len(y) < n:
        y = np.tile(y, int(np.ceil(n / len(y))))
    return log_mel(y[:n], cfg)[: cfg.patch_frames]


def patches_from_windows(windows: list[np.ndarray], cfg: FrontendConfig) -> np.ndarray:
    """List of windows -> ``[N, patch_frames, n_mels]`` float32."""
    return np.stack([patch_from_window(w, cfg) for w in windows]).astype(np.float32)
