"""EfficientAT mn04 (AudioSet, 527 classes) in PyTorch, for the genre model's second tagger.

A MobileNetV3-Large-style stack at width 0.4 on a 1 x 128-mel x T input (Schmid, Koutini,
Widmer, ICASSP 2023; MIT, "Copyright (c) 2022 Florian Schmid"), written here from the
architecture description so that the pretrained state_dict ``mn04_as_mAP_432.pt`` loads by
its own parameter names (``features.<i>.block.<j>...``, ``classifier.{2,5}``):

- stem: 3x3 conv stride 2 -> BN -> hardswish;
- 15 inverted-residual blocks (1x1 expand unless the width is unchanged, depthwise kxk,
  channel squeeze-excitation with ReLU/sigmoid where marked, 1x1 project, residual when
  stride 1 and widths match);
- 1x1 conv to 6x the last width (384) -> BN -> hardswish = ``features_last``;
- head: mean over frequency and time (``pooled``, 384) -> Linear 512 -> hardswish
  (``hidden``) -> Linear 527 (``logits``, before the sigmoid).

Batch norm eps is 1e-3 (the checkpoint's training setting). The input is the front end of
:mod:`genre_tagger.listen.mn_frontend` (``[n_mels, frames]`` per clip). Weights are read from a
path given by the caller (``../shared/weights/efficientat-mn04/``); never committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

WIDTH = 0.4
N_CLASSES = 527
BN_EPS = 1e-3
# MobileNetV3-Large at width 1: (in, kernel, expanded, out, squeeze-excitation, hardswish, stride)
BLOCKS = [
    (16, 3, 16, 16, False, False, 1),
    (16, 3, 64, 24, False, False, 2),
    (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2),
    (40, 5, 120, 40, True, False, 1),
    (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2),
    (80, 3, 200, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 480, 112, True, True, 1),
    (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2),
    (160, 5, 960, 160, True, True, 1),
    (160, 5, 960, 160, True, True, 1),
]
HIDDEN = 1280


def scaled(channels: float, width: float = WIDTH, divisor: int = 8) -> int:
    """``channels * width`` rounded to the nearest multiple of ``divisor`` (never below it,
    never more than 10 % under the exact value) — MobileNet's channel rule."""
    v = channels * width
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * v else out


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = None) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=(kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out, eps=BN_EPS),
    ]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, squeeze)
        self.fc2 = nn.Linear(squeeze, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class ChannelSE(nn.Module):
    """Squeeze-excitation over channels (named as in the checkpoint: one concurrent layer)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conc_se_layers = nn.ModuleList([_SqueezeExcite(channels, scaled(channels // 4, 1.0))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conc_se_layers[0](x)


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, kernel: int, expanded: int, c_out: int, se: bool, hardswish: bool, stride: int):
        super().__init__()
        act = nn.Hardswish if hardswish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != c_in:
            layers.append(conv_bn(c_in, expanded, 1, act=act))
        layers.append(conv_bn(expanded, expanded, kernel, stride=stride, groups=expanded, act=act))
        if se:
            layers.append(ChannelSE(expanded))
        layers.append(conv_bn(expanded, c_out, 1))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return y + x if self.residual else y


@dataclass
class MnOutputs:
    features_last: torch.Tensor  # [B, 384, F', T']
    pooled: torch.Tensor  # [B, 384]
    hidden: torch.Tensor  # [B, 512]
    logits: torch.Tensor  # [B, 527]


class MN04(nn.Module):
    def __init__(self, width: float = WIDTH, n_classes: int = N_CLASSES):
        super().__init__()
        first = scaled(BLOCKS[0][0], width)
        layers: list[nn.Module] = [conv_bn(1, first, 3, stride=2, act=nn.Hardswish)]
        for c_in, k, exp, c_out, se, hs, stride in BLOCKS:
            layers.append(InvertedResidual(scaled(c_in, width), k, scaled(exp, width), scaled(c_out, width), se, hs, stride))
        last_in = scaled(BLOCKS[-1][3], width)
        self.n_features = 6 * last_in
        layers.append(conv_bn(last_in, self.n_features, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.n_hidden = scaled(HIDDEN, width)
        # indices 0, 1, 3, 4 hold the pooling, flattening, activation and dropout of the original head
        self.classifier = nn.Sequential(
            nn.Identity(),
            nn.Identity(),
            nn.Linear(self.n_features, self.n_hidden),
            nn.Hardswish(),
            nn.Identity(),
            nn.Linear(self.n_hidden, n_classes),
        )

    def forward_features(self, mel: torch.Tensor) -> MnOutputs:
        """``mel`` [B, n_mels, T] or [B, 1, n_mels, T] (the front end's output)."""
        x = mel[:, None] if mel.dim() == 3 else mel
        fmap = self.features(x)
        pooled = fmap.mean(dim=(2, 3))
        hidden = self.classifier[3](self.classifier[2](pooled))
        return MnOutputs(fmap, pooled, hidden, self.classifier[5](hidden))

    def head(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden, logits) from pooled features (e.g. averaged over windows)."""
        hidden = self.classifier[3](self.classifier[2](pooled))
        return hidden, self.classifier[5](hidden)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.forward_features(mel).logits


def load_mn04(path: str | Path) -> MN04:
    """mn04 with the pretrained AudioSet weights of ``path`` (a state_dict), in eval mode.
    Every checkpoint tensor must load and every parameter be loaded (strict)."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    model = MN04()
    model.load_state_dict(state, strict=True)
    return model.eval()


def audioset_labels(path: str | Path) -> list[str]:
    """Display names of the 527 outputs from ``audioset_class_labels.csv``."""
    import csv

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["display_name"] for r in sorted(rows, key=lambda r: int(r["index"]))]
