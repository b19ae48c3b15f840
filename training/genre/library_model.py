"""The exported network of the format-2 model and its export.

``patches [N, 187, 96]`` (the N windows of one track) -> the pruned MSD_musicnn tagger
(and MTT_musicnn on every ``mtt_step``-th window, when the heads use it) -> tag logits and
embeddings averaged over the windows -> one calibrated linear softmax head per
vocabulary (standardisation and temperature folded into the layer) -> ``probs_<vocab>``
``[G]``; ``tag_probs`` ``[T]`` = sigmoid of the averaged tag logits. Everything from
patches to track-level probabilities is in the graph.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genre_tagger.genres import display_name
from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.modelmeta import InputSpec, ModelMeta, Vocabulary
from genre_tagger.listen.windows import WindowSpec

from ..weights import DEFAULT_CACHE, musicnn_dir
from .musicnn import MSD_LABELS, load_pretrained
from .prune import DEFAULT_TOL, PrunedMusicnn
from .tagger_features import EXTRA_GENRES, TAG_NAMES

INPUT_NAME = "patches"
TAG_OUTPUT = "tag_probs"


@dataclass
class HeadSpec:
    """One vocabulary's calibrated head on the raw (window-averaged) features."""

    vocabulary: str
    genres: list[str]
    weight: np.ndarray  # [G, D]: standardisation and 1/temperature folded in
    bias: np.ndarray  # [G]
    min_confidence: float
    temperature: float
    accuracy: dict = field(default_factory=dict)

    @property
    def output(self) -> str:
        return f"probs_{self.vocabulary}"


@dataclass
class ModelSpec:
    """What the exporter needs: which tagger blocks feed the heads, windows, heads."""

    blocks: tuple[str, ...]  # msd_logits | msd_embedding | mtt_logits | mtt_embedding, in feature order
    windows: int
    mtt_windows: int
    heads: list[HeadSpec]
    provenance: dict = field(default_factory=dict)

    def uses_mtt(self) -> bool:
        return any(b.startswith("mtt") for b in self.blocks)


class LibraryNet(nn.Module):
    def __init__(self, spec: ModelSpec, msd: nn.Module, mtt: nn.Module | None):
        super().__init__()
        if spec.uses_mtt() and mtt is None:
            raise ValueError("the heads use MTT_musicnn outputs: give the MTT tagger")
        self.msd, self.mtt, self.blocks = msd, mtt if spec.uses_mtt() else None, spec.blocks
        self.mtt_step = max(1, spec.windows // max(1, spec.mtt_windows))
        self.mtt_windows = spec.mtt_windows
        self.heads = nn.ModuleList()
        for h in spec.heads:
            lin = nn.Linear(h.weight.shape[1], h.weight.shape[0])
            lin.weight.data = torch.from_numpy(np.asarray(h.weight, np.float32))
            lin.bias.data = torch.from_numpy(np.asarray(h.bias, np.float32))
            self.heads.append(lin)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a = self.msd.forward_features(patches)
        parts = {"msd_logits": a.logits.mean(0), "msd_embedding": a.embedding.mean(0)}
        if self.mtt is not None:
            b = self.mtt.forward_features(patches[:: self.mtt_step][: self.mtt_windows])
            parts.update(mtt_logits=b.logits.mean(0), mtt_embedding=b.embedding.mean(0))
        x = torch.cat([parts[k] for k in self.blocks])
        probs = [torch.softmax(h(x), dim=0) for h in self.heads]
        tag_logits = [parts["msd_logits"]] + ([parts["mtt_logits"]] if self.mtt is not None else [])
        return (*probs, torch.sigmoid(torch.cat(tag_logits)))


def tag_names(spec: ModelSpec) -> list[str]:
    return list(TAG_NAMES) if spec.uses_mtt() else TAG_NAMES[: len(MSD_LABELS)]


def build_net(spec: ModelSpec, cache: Path = DEFAULT_CACHE) -> LibraryNet:
    wdir = musicnn_dir(cache)
    msd = PrunedMusicnn(load_pretrained("MSD_musicnn", wdir), DEFAULT_TOL)
    mtt = PrunedMusicnn(load_pretrained("MTT_musicnn", wdir), DEFAULT_TOL) if spec.uses_mtt() else None
    return LibraryNet(spec, msd, mtt).eval()


def export(net: LibraryNet, spec: ModelSpec, out: Path, name: str, version: str, fe: FrontendConfig | None = None) -> ModelMeta:
    """Write ``out/<name>.onnx`` and ``out/<name>.json`` (ModelMeta); returns the metadata."""
    fe = fe or FrontendConfig()
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / f"{name}.onnx"
    outputs = [h.output for h in spec.heads] + [TAG_OUTPUT]
    dummy = torch.zeros(spec.windows, fe.patch_frames, fe.n_mels)
    torch.onnx.export(net.eval(), (dummy,), str(onnx_path), input_names=[INPUT_NAME], output_names=outputs,
                      dynamic_axes={INPUT_NAME: {0: "n"}}, opset_version=17, dynamo=False)  # fmt: skip
    diff = max_abs_diff(net, onnx_path, fe)
    tags = tag_names(spec)
    meta = ModelMeta(
        name=name,
        version=version,
        onnx=onnx_path.name,
        sha256="",
        frontend=fe,
        windows=WindowSpec(count=spec.windows, margin=0.1, length=fe.patch_samples, sample_rate=fe.sample_rate),
        input=InputSpec(INPUT_NAME, fe.patch_frames, fe.n_mels),
        vocabularies=[
            Vocabulary(h.vocabulary, h.output, list(h.genres), [display_name(g) for g in h.genres],
                       min_confidence=h.min_confidence, accuracy=dict(h.accuracy))  # fmt: skip
            for h in spec.heads
        ],
        default_vocabulary=spec.heads[0].vocabulary,
        tags=tags,
        tag_output=TAG_OUTPUT,
        tag_display={k: v for k, v in EXTRA_GENRES.items() if k in tags},
        provenance={
            "exported": dt.date.today().isoformat(),
            "onnx_vs_pytorch_max_abs_diff": diff,
            "temperatures": {h.vocabulary: h.temperature for h in spec.heads},
            **spec.provenance,
        },
    ).with_onnx(onnx_path)
    meta.save(onnx_path)
    return meta


def max_abs_diff(net: LibraryNet, onnx_path: Path, fe: FrontendConfig) -> float:
    """Largest |ONNX - PyTorch| over all outputs, for 1, 3 and 5 random windows."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for n in (1, 3, 5):
        x = rng.uniform(0, 4, (n, fe.patch_frames, fe.n_mels)).astype(np.float32)
        outs = sess.run(None, {INPUT_NAME: x})
        with torch.no_grad():
            ref = net(torch.from_numpy(x))
        worst = max(worst, *(float(np.abs(o - r.numpy()).max()) for o, r in zip(outs, ref)))
    return worst
