"""PyTorch port of the musicnn auto-tagging CNNs (Pons & Serra, 2019).

The TF1 checkpoints ship in the ``musicnn==0.1.0`` wheel; :func:`load_pretrained`
reads them with :mod:`training.genre.tfcheckpoint` (no TensorFlow needed). Input is a batch
of log-mel patches ``[B, 187, 96]`` as made by :mod:`genre_tagger.listen.frontend`.

Port details that matter (each checked against stored reference outputs in tests):
conv -> ReLU -> BN with eps 1e-3; checkpoint variables are numbered in creation
order; timbral convs pad 3+3 frames then run 'valid'; temporal convs are 'same'
(63 before / 64 after for the 128 kernel, as torch's ``padding='same'``); the back-end
interleaves max and mean pools; VGG's flatten is NHWC.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .tfcheckpoint import read_checkpoint

BN_EPS = 1e-3

MTT_LABELS = [
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral",
]  # fmt: skip
MSD_LABELS = [
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
]  # fmt: skip

MODEL_NAMES = ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg")


def _bn(n: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(n, eps=BN_EPS)


def _bn2(n: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(n, eps=BN_EPS)


@dataclass
class TaggerOutput:
    logits: torch.Tensor  # [B, 50]
    embedding: torch.Tensor  # [B, D] penultimate (musicnn) / pool5 (vgg)


class Musicnn(nn.Module):
    """musicnn: musically motivated front-end, dense mid-end, global-pool back-end."""

    def __init__(self, n_mels: int = 96, n_classes: int = 50, midend: int = 64, backend: int = 200):
        super().__init__()
        self.bn_in = _bn2(1)
        w74, w77 = int(0.4 * n_mels), int(0.7 * n_mels)
        self.timbral74 = nn.Conv2d(1, 204, (7, w74))
        self.bn74 = _bn2(204)
        self.timbral77 = nn.Conv2d(1, 204, (7, w77))
        self.bn77 = _bn2(204)
        self.temporal = nn.ModuleList(nn.Conv2d(1, 51, (k, 1), padding="same") for k in (128, 64, 32))
        self.bn_temporal = nn.ModuleList(_bn2(51) for _ in range(3))
        front = 2 * 204 + 3 * 51
        self.mid1 = nn.Conv1d(front, midend, 7, padding=3)
        self.mid2 = nn.Conv1d(midend, midend, 7, padding=3)
        self.mid3 = nn.Conv1d(midend, midend, 7, padding=3)
        self.bn_mid = nn.ModuleList(_bn(midend) for _ in range(3))
        feat = front + 3 * midend
        self.bn_pool = _bn(2 * feat)
        self.dense = nn.Linear(2 * feat, backend)
        self.bn_dense = _bn(backend)
        self.out = nn.Linear(backend, n_classes)
        self.embedding_dim = backend

    def forward_features(self, x: torch.Tensor) -> TaggerOutput:
        x = self.bn_in(x.unsqueeze(1))  # [B, 1, T, F]
        xp = F.pad(x, (0, 0, 3, 3))
        feats = [
            self.bn74(F.relu(self.timbral74(xp))).amax(dim=3),
            self.bn77(F.relu(self.timbral77(xp))).amax(dim=3),
        ]
        for conv, bn in zip(self.temporal, self.bn_temporal):
            feats.append(bn(F.relu(conv(x))).amax(dim=3))
        front = torch.cat(feats, dim=1)  # [B, 561, T]
        m1 = self.bn_mid[0](F.relu(self.mid1(front)))
        return self.rest(front, m1)

    def rest(self, front: torch.Tensor, m1: torch.Tensor) -> TaggerOutput:
        """Mid-end layers 2-3 and the back-end, from the front-end features and mid-end layer 1."""
        m2 = self.bn_mid[1](F.relu(self.mid2(m1))) + m1
        m3 = self.bn_mid[2](F.relu(self.mid3(m2))) + m2
        mid = torch.cat([front, m1, m2, m3], dim=1)  # [B, 753, T]
        pooled = torch.stack([mid.amax(dim=2), mid.mean(dim=2)], dim=2).flatten(1)  # interleaved
        pen = self.bn_dense(F.relu(self.dense(self.bn_pool(pooled))))
        return TaggerOutput(self.out(pen), pen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x).logits


class MusicVGG(nn.Module):
    """The musicnn package's VGG-like baseline (5 x conv3x3 with 128 filters)."""

    def __init__(self, n_classes: int = 50, filters: int = 128):
        super().__init__()
        self.bn_in = _bn2(1)
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5))
        self.bns = nn.ModuleList(_bn2(filters) for _ in range(5))
        self.pools = [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))]
        self.out = nn.Linear(2 * 1 * filters, n_classes)
        self.embedding_dim = 2 * filters

    def forward_features(self, x: torch.Tensor) -> TaggerOutput:
        h = self.bn_in(x.unsqueeze(1))
        for conv, bn, (k, s) in zip(self.convs, self.bns, self.pools):
            h = F.max_pool2d(bn(F.relu(conv(h))), k, s)
        flat = h.permute(0, 2, 3, 1).flatten(1)  # TF flattens NHWC
        return TaggerOutput(self.out(flat), flat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x).logits


def _load_bn(bn: nn.Module, w: dict[str, np.ndarray], name: str) -> None:
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    bn.weight.data = t(w[f"{name}/gamma"])
    bn.bias.data = t(w[f"{name}/beta"])
    bn.running_mean.data = t(w[f"{name}/moving_mean"])
    bn.running_var.data = t(w[f"{name}/moving_variance"])


def _conv2d_weight(k: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))  # [kh,kw,in,out] -> [out,in,kh,kw]


def _conv1d_weight(k: np.ndarray) -> torch.Tensor:
    # midend kernels are [7, C_in, 1, C_out] applied over (time, all channels)
    return torch.from_numpy(np.ascontiguousarray(k[:, :, 0, :].transpose(2, 1, 0)))


def _bn_name(i: int) -> str:
    return "batch_normalization" if i == 0 else f"batch_normalization_{i}"


def load_musicnn_weights(model: Musicnn, w: dict[str, np.ndarray]) -> None:
    # creation order: input BN, timbral 38 (conv2d), timbral 67 (conv2d_1), temporal 128/64/32,
    # mid-end x3, back-end BN, dense, BN, dense_1
    _load_bn(model.bn_in, w, _bn_name(0))
    for i, (conv, bn) in enumerate([(model.timbral74, model.bn74), (model.timbral77, model.bn77)]):
        conv.weight.data = _conv2d_weight(w[f"conv2d{'' if i == 0 else '_1'}/kernel"])
        conv.bias.data = torch.from_numpy(w[f"conv2d{'' if i == 0 else '_1'}/bias"])
        _load_bn(bn, w, _bn_name(i + 1))
    for i, (conv, bn) in enumerate(zip(model.temporal, model.bn_temporal)):
        conv.weight.data = _conv2d_weight(w[f"conv2d_{i + 2}/kernel"])
        conv.bias.data = torch.from_numpy(w[f"conv2d_{i + 2}/bias"])
        _load_bn(bn, w, _bn_name(i + 3))
    for i, (conv, bn) in enumerate(zip([model.mid1, model.mid2, model.mid3], model.bn_mid)):
        conv.weight.data = _conv1d_weight(w[f"conv2d_{i + 5}/kernel"])
        conv.bias.data = torch.from_numpy(w[f"conv2d_{i + 5}/bias"])
        _load_bn(bn, w, _bn_name(i + 6))
    _load_bn(model.bn_pool, w, _bn_name(9))
    model.dense.weight.data = torch.from_numpy(w["dense/kernel"].T.copy())
    model.dense.bias.data = torch.from_numpy(w["dense/bias"])
    _load_bn(model.bn_dense, w, _bn_name(10))
    model.out.weight.data = torch.from_numpy(w["dense_1/kernel"].T.copy())
    model.out.bias.data = torch.from_numpy(w["dense_1/bias"])


def load_vgg_weights(model: MusicVGG, w: dict[str, np.ndarray]) -> None:
    _load_bn(model.bn_in, w, _bn_name(0))
    for i, (conv, bn) in enumerate(zip(model.convs, model.bns)):
        conv.weight.data = _conv2d_weight(w[f"{i + 1}CNN/kernel"])
        conv.bias.data = torch.from_numpy(w[f"{i + 1}CNN/bias"])
        _load_bn(bn, w, _bn_name(i + 1))
    model.out.weight.data = torch.from_numpy(w["dense/kernel"].T.copy())
    model.out.bias.data = torch.from_numpy(w["dense/bias"])


def build(name: str) -> nn.Module:
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown musicnn model {name!r}; choose from {MODEL_NAMES}")
    return Musicnn() if "musicnn" in name else MusicVGG()


def load_pretrained(name: str, weights_dir: str | Path) -> nn.Module:
    """Build ``name`` and load its checkpoint from ``weights_dir/<name>/``."""
    model = build(name)
    w = read_checkpoint(str(Path(weights_dir) / name) + "/")
    if isinstance(model, Musicnn):
        load_musicnn_weights(model, w)
    else:
        load_vgg_weights(model, w)
    return model.eval()
