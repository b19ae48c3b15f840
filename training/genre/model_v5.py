"""The v5 network: MSD_musicnn (16 kHz windows) + EfficientAT mn04 (32 kHz windows) -> one
calibrated late-fused linear head per vocabulary, everything in one ONNX graph.

Inputs (the windows of ONE track, from the one audio -> patches pipeline):
``patches`` float32 [N, 187, 96] (musicnn's log-mel, :mod:`genre_tagger.listen.frontend`) and
``mn_mels`` float32 [M, 128, T] (mn04's normalised log-mel, :mod:`genre_tagger.listen.mn_frontend`).

Graph: pruned MSD_musicnn -> tag logits + embedding averaged over the N windows (x1);
mn04 -> pooled, hidden and the 146 AudioSet music logits averaged over the M windows (x2;
mn04's last layer keeps only the rows that are used: the music classes); per vocabulary
``softmax(a (W1 x1 + b1) + b (W2 x2 + b2))`` with standardisation, fusion weights and
temperature folded into W1, b1, W2, b2 -> ``probs_<vocab>``; ``tag_probs`` = sigmoid of
MSD's 50 tags and of AudioSet's genre classes (216-282), averaged logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .mn04 import MN04
from .musicnn import MSD_LABELS

MUSIC = (137, 283)  # AudioSet's music subtree, as fusion_experiments.MUSIC
AS_TAGS = (216, 283)  # AudioSet genre and mood classes shown as tags
MN_BLOCKS = ("pooled", "hidden", "music")


@dataclass
class FusedHead:
    """One vocabulary: logits = x1 @ w1.T + x2 @ w2.T + b (everything folded in)."""

    vocabulary: str
    genres: list[str]
    w1: np.ndarray  # [G, D1] (musicnn features)
    w2: np.ndarray  # [G, D2] (mn04 features)
    b: np.ndarray  # [G]
    min_confidence: float
    weights: list[float]  # fusion weights (for the record)
    accuracy: dict = field(default_factory=dict)

    @property
    def output(self) -> str:
        return f"probs_{self.vocabulary}"


def fold_fitted(vocabulary: str, genres: list[str], fitted, d1: int) -> FusedHead:
    """A :class:`fusion_experiments.Fitted` (late: two heads; concat/evidence: one head over
    [x1 | x2]) -> the folded per-part weights."""
    ws, bs = [], []
    for wk, h in zip(fitted.weights, fitted.heads):
        w, b = h.folded()  # temperature 1: the fusion weight plays its role
        ws.append(w * wk), bs.append(b * wk)
    if len(ws) == 2:
        w1, w2 = ws
    else:
        w1, w2 = ws[0][:, :d1], ws[0][:, d1:]
    return FusedHead(vocabulary, list(genres), w1.astype(np.float32), w2.astype(np.float32), np.sum(bs, axis=0).astype(np.float32),
                     float(fitted.threshold), [float(x) for x in fitted.weights])  # fmt: skip


class MnEvidence(nn.Module):
    """mn04 -> [pooled | hidden | music logits] averaged over the windows; the last layer
    pruned to the music rows."""

    def __init__(self, mn: MN04):
        super().__init__()
        self.features = mn.features
        self.fc1 = mn.classifier[2]
        lin = mn.classifier[5]
        self.fc2 = nn.Linear(lin.in_features, MUSIC[1] - MUSIC[0])
        with torch.no_grad():
            self.fc2.weight.copy_(lin.weight[MUSIC[0] : MUSIC[1]])
            self.fc2.bias.copy_(lin.bias[MUSIC[0] : MUSIC[1]])

    def forward(self, mels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled = self.features(mels[:, None]).mean(dim=(2, 3))
        hidden = nn.functional.hardswish(self.fc1(pooled))
        music = self.fc2(hidden)
        return pooled.mean(0), hidden.mean(0), music.mean(0)


class V5Net(nn.Module):
    def __init__(self, msd: nn.Module, mn: MN04, heads: list[FusedHead]):
        super().__init__()
        self.msd, self.mn = msd, MnEvidence(mn)
        self.l1, self.l2 = nn.ModuleList(), nn.ModuleList()
        for h in heads:
            a = nn.Linear(h.w1.shape[1], h.w1.shape[0])
            a.weight.data, a.bias.data = torch.from_numpy(h.w1), torch.from_numpy(h.b)
            b = nn.Linear(h.w2.shape[1], h.w2.shape[0], bias=False)
            b.weight.data = torch.from_numpy(h.w2)
            self.l1.append(a), self.l2.append(b)

    def forward(self, patches: torch.Tensor, mn_mels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        o = self.msd.forward_features(patches)
        tags = o.logits.mean(0)
        x1 = torch.cat([tags, o.embedding.mean(0)])
        pooled, hidden, music = self.mn(mn_mels)
        x2 = torch.cat([pooled, hidden, music])
        probs = [torch.softmax(a(x1) + b(x2), dim=0) for a, b in zip(self.l1, self.l2)]
        as_tags = music[AS_TAGS[0] - MUSIC[0] : AS_TAGS[1] - MUSIC[0]]
        return (*probs, torch.sigmoid(torch.cat([tags, as_tags])))


def tag_names(audioset_labels: list[str]) -> list[str]:
    return [f"msd:{t}" for t in MSD_LABELS] + [f"audioset:{audioset_labels[i]}" for i in range(*AS_TAGS)]


def export_onnx(net: V5Net, heads: list[FusedHead], path: Path, n: int = 4, m: int = 3, frames: int = 1000) -> float:
    """Write the ONNX graph; returns max |ONNX - PyTorch| over a few input sizes."""
    import onnxruntime as ort

    outputs = [h.output for h in heads] + ["tag_probs"]
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = (torch.zeros(n, 187, 96), torch.zeros(m, 128, frames))
    torch.onnx.export(net.eval(), dummy, str(path), input_names=["patches", "mn_mels"], output_names=outputs,
                      dynamic_axes={"patches": {0: "n"}, "mn_mels": {0: "m", 2: "t"}}, opset_version=17, dynamo=False)  # fmt: skip
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for nn_, mm, t in ((1, 1, 298), (4, 3, 1000), (5, 2, 600)):
        a = rng.uniform(0, 4, (nn_, 187, 96)).astype(np.float32)
        b = rng.uniform(-1.5, 1.0, (mm, 128, t)).astype(np.float32)
        outs = sess.run(None, {"patches": a, "mn_mels": b})
        with torch.no_grad():
            ref = net(torch.from_numpy(a), torch.from_numpy(b))
        worst = max(worst, *(float(np.abs(o - r.numpy()).max()) for o, r in zip(outs, ref)))
    return worst
