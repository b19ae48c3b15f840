"""Spectrogram-image augmentation for the image experiments.

:func:`augmented`: per training example a random circular shift along time and masks
over random time and frequency bands (SpecAugment-style, filled with the batch mean),
applied to batches on the fly. :class:`TimeCrops`: train on random time crops, predict
from several. Validation and test inputs are never augmented.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ..train import Batches


@dataclass(frozen=True)
class AugmentConfig:
    time_shift: float = 0.5  # largest circular shift, as a fraction of the width (time)
    time_masks: int = 1
    time_mask: float = 0.1  # largest mask width, fraction of the width
    freq_masks: int = 1
    freq_mask: float = 0.1  # largest mask height, fraction of the height


def augment(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """``x``: ``[B, C, H(freq), W(time)]`` -> an augmented copy."""
    b, _, h, w = x.shape
    out = x.clone()
    fill = x.mean()
    for i in range(b):
        if cfg.time_shift > 0:
            s = int(torch.randint(-int(cfg.time_shift * w), int(cfg.time_shift * w) + 1, (1,), generator=gen))
            out[i] = torch.roll(out[i], s, dims=2)
        for n, frac, dim, size in ((cfg.time_masks, cfg.time_mask, 2, w), (cfg.freq_masks, cfg.freq_mask, 1, h)):
            for _ in range(n):
                width = int(torch.randint(0, max(1, int(frac * size)) + 1, (1,), generator=gen))
                start = int(torch.randint(0, size - width + 1, (1,), generator=gen))
                out[i].narrow(dim, start, width).fill_(fill)
    return out


def augmented(batches: Batches, cfg: AugmentConfig, seed: int = 0) -> Batches:
    gen = torch.Generator().manual_seed(seed)

    def it() -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in batches():
            yield augment(x, cfg, gen), y

    return it


class TimeCrops(nn.Module):
    """Train on random time crops of the spectrogram image; predict from several.

    In training mode every example is cut to a random window of ``width`` (a fraction
    of the image width); in eval mode the logits of ``n_eval`` evenly spaced windows
    are averaged — the image counterpart of the app's several windows per track.
    Needs a model that takes any input width (global pooling).
    """

    def __init__(self, model: nn.Module, width: float, n_eval: int, seed: int = 0):
        super().__init__()
        self.model, self.width, self.n_eval = model, width, n_eval
        self.gen = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.shape[-1]
        cw = max(1, int(round(self.width * w)))
        if self.training:
            starts = torch.randint(0, w - cw + 1, (len(x),), generator=self.gen)
            crops = torch.stack([x[i, ..., s : s + cw] for i, s in enumerate(starts.tolist())])
            return self.model(crops)
        starts = torch.linspace(0, w - cw, self.n_eval).round().long().tolist()
        return torch.stack([self.model(x[..., s : s + cw]) for s in starts]).mean(dim=0)
