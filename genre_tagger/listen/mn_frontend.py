"""The EfficientAT (mn04, AudioSet) front end: 32 kHz mono audio -> normalised log-mel.

numpy only (the app never imports torch or librosa); ``training/`` uses the same code.
It reproduces EfficientAT's ``AugmentMelSTFT`` in eval mode:

1. pre-emphasis ``y[n] = x[n+1] - 0.97 x[n]`` (a 2-tap valid convolution: one sample shorter);
2. STFT, n_fft 1024, a *symmetric* Hann window of 800 samples zero-padded to 1024
   (centred in the frame), hop 320, centred frames with reflect padding of n_fft/2;
3. power spectrum, 128 Kaldi-style mel triangles (mel = 1127 ln(1 + f/700)) from 0 to
   15 000 Hz over the first n_fft/2 bins (the Nyquist bin gets weight 0);
4. ``ln(mel + 1e-5)``, then ``(x + 4.5) / 5``.

Output layout is EfficientAT's: ``[n_mels, frames]`` (the network's input is
``[batch, 1, n_mels, frames]``). :class:`MnFrontendConfig` is stored in the model
metadata and checked at load, as :class:`genre_tagger.listen.frontend.FrontendConfig` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .frontend import FrontendParams


@dataclass(frozen=True)
class MnFrontendConfig(FrontendParams):
    name: str = "efficientat-logmel"
    sample_rate: int = 32000
    preemphasis: float = 0.97
    n_fft: int = 1024
    win_length: int = 800
    window: str = "hann-symmetric"
    hop_length: int = 320
    center: bool = True
    pad_mode: str = "reflect"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float = 15000.0
    mel_scale: str = "kaldi"  # 1127 ln(1 + f/700), triangles on that scale, no area normalisation
    log_offset: float = 1e-5  # ln(mel + offset)
    norm_add: float = 4.5  # (x + add) / div
    norm_div: float = 5.0


    def frames(self, n_samples: int) -> int:
        """Frames produced for ``n_samples`` input samples (pre-emphasis drops one)."""
        return 1 + (n_samples - 1) // self.hop_length

    def samples_for(self, frames: int) -> int:
        """The fewest input samples that give ``frames`` frames."""
        return (frames - 1) * self.hop_length + 1


def _kaldi_mel(f: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)


@lru_cache(maxsize=4)
def kaldi_mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Kaldi-style triangular mel filters ``[n_mels, n_fft // 2 + 1]`` float32 (last bin zero)."""
    if fmax <= 0:
        fmax += sr / 2
    if not 0 <= fmin < fmax <= sr / 2:
        raise ValueError("mel filterbank: need 0 <= fmin < fmax <= sr/2")
    lo, hi = _kaldi_mel(fmin), _kaldi_mel(fmax)
    delta = (hi - lo) / (n_mels + 1)
    k = np.arange(n_mels, dtype=np.float64)[:, None]
    left, centre, right = lo + k * delta, lo + (k + 1) * delta, lo + (k + 2) * delta
    mel = _kaldi_mel(np.arange(n_fft // 2, dtype=np.float64) * sr / n_fft)[None, :]
    w = np.maximum(0.0, np.minimum((mel - left) / (centre - left), (right - mel) / (right - centre)))
    return np.pad(w, ((0, 0), (0, 1))).astype(np.float32)


@lru_cache(maxsize=4)
def _window(win_length: int, n_fft: int) -> np.ndarray:
    """Symmetric Hann of ``win_length`` centred in ``n_fft`` zeros (as torch.stft pads it)."""
    n = np.arange(win_length, dtype=np.float64)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * n / (win_length - 1))
    left = (n_fft - win_length) // 2
    return np.pad(w, (left, n_fft - win_length - left))


def log_mel(y: np.ndarray, cfg: MnFrontendConfig | None = None) -> np.ndarray:
    """Mono audio at ``cfg.sample_rate`` -> ``[n_mels, frames]`` float32 normalised log-mel;
    a batch ``[M, samples]`` of equal-length windows -> ``[M, n_mels, frames]`` (one FFT call)."""
    cfg = cfg or MnFrontendConfig()
    y = np.asarray(y, dtype=np.float32)
    batch = y.ndim == 2
    y = y if batch else y[None]
    if y.ndim != 2 or y.shape[1] < cfg.n_fft // 2 + 2:
        raise ValueError(f"log_mel expects mono audio of at least {cfg.n_fft // 2 + 2} samples")
    x = y[:, 1:].astype(np.float64) - cfg.preemphasis * y[:, :-1].astype(np.float64)
    n_fft, hop = cfg.n_fft, cfg.hop_length
    if cfg.center:
        x = np.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)), mode=cfg.pad_mode)
    n_frames = 1 + (x.shape[1] - n_fft) // hop
    s0, s1 = x.strides
    frames = np.lib.stride_tricks.as_strided(x, shape=(len(x), n_frames, n_fft), strides=(s0, s1 * hop, s1), writeable=False)
    fb = kaldi_mel_filterbank(cfg.sample_rate, n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    used = int(np.nonzero(fb.any(axis=0))[0][-1]) + 1  # bins above fmax have weight 0: not computed further
    spec = np.fft.rfft(frames * _window(cfg.win_length, n_fft), axis=2)[:, :, :used]
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    mel = np.matmul(fb[:, :used], power.transpose(0, 2, 1))
    out = (np.log(mel + np.float32(cfg.log_offset)) + np.float32(cfg.norm_add)) / np.float32(cfg.norm_div)
    return out.astype(np.float32) if batch else out[0].astype(np.float32)
