"""Export a PyTorch model to ONNX and write the model's metadata JSON.

python -m training.genre.export --head runs/head_final.pt --name genre-musicnn --out models/
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.modelmeta import InputSpec, ModelMeta, Vocabulary
from genre_tagger.listen.windows import WindowSpec

from ..weights import DEFAULT_CACHE, musicnn_dir
from .genre_model import GenreTaggerNet, uses_mtt
from .heads import DISPLAY, EXTRA_GENRES, GENRES, TAG_NAMES, GenreHead, build_mask, feature_names
from .musicnn import load_pretrained
from .prune import DEFAULT_TOL, PrunedMusicnn

INPUT_NAME = "patches"
OUTPUT_NAMES = ["probs_gtzan", "tag_probs"]  # format 2: track-level (mean over the windows, in the graph)


class TrackLevel(nn.Module):
    """Per-window outputs ``[N, C]`` -> track-level ``[C]`` (mean over the N windows)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        out = self.net(x)
        return tuple(o.mean(0) for o in (out if isinstance(out, tuple | list) else (out,)))


def export_onnx(model: nn.Module, path: Path, frames: int, mels: int, output_names: list[str]) -> None:
    """Export ``TrackLevel(model)`` (input ``patches [N, frames, mels]``, N dynamic)."""
    model.eval()
    dummy = torch.zeros(2, frames, mels)
    torch.onnx.export(
        TrackLevel(model).eval(),
        (dummy,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=output_names,
        dynamic_axes={INPUT_NAME: {0: "n"}},
        opset_version=17,
        dynamo=False,
    )


def max_abs_diff(model: nn.Module, onnx_path: Path, x: np.ndarray) -> float:
    """Largest |ONNX - PyTorch| over all outputs for input ``x``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {INPUT_NAME: x.astype(np.float32)})
    with torch.no_grad():
        ref = TrackLevel(model)(torch.from_numpy(x))
    ref = ref if isinstance(ref, tuple | list) else (ref,)
    return max(float(np.abs(o - r.numpy()).max()) for o, r in zip(outs, ref))


def build_metadata(
    name: str,
    onnx_path: Path,
    fe: FrontendConfig,
    windows: WindowSpec,
    extra: dict,
    tags: list[str] | None = None,
    version: str = "1",
) -> ModelMeta:
    """The format-2 metadata (one vocabulary, "gtzan"); ``extra`` goes to provenance."""
    tags = list(TAG_NAMES) if tags is None else tags
    accuracy = extra.pop("accuracy", {})
    return ModelMeta(
        name=name,
        version=version,
        onnx=onnx_path.name,
        sha256="",
        frontend=fe,
        windows=windows,
        input=InputSpec(INPUT_NAME, fe.patch_frames, fe.n_mels),
        vocabularies=[Vocabulary("gtzan", OUTPUT_NAMES[0], list(GENRES), [DISPLAY[g] for g in GENRES], accuracy=accuracy)],
        default_vocabulary="gtzan",
        tags=tags,
        tag_output=OUTPUT_NAMES[1],
        tag_display={k: v for k, v in EXTRA_GENRES.items() if k in tags},
        provenance={"exported": dt.date.today().isoformat(), **extra},
    ).with_onnx(onnx_path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--head", type=Path, required=True, help="checkpoint from head_experiments --final")
    ap.add_argument("--name", default="genre-musicnn")
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--windows", type=int, default=WindowSpec().count)
    ap.add_argument("--margin", type=float, default=WindowSpec().margin)
    ap.add_argument("--version", default="3", help="model version (part of the scan cache key)")
    ap.add_argument("--no-prune", action="store_true", help="keep MSD_musicnn's dead filters (slower, same output)")
    args = ap.parse_args()

    ck = torch.load(args.head, weights_only=False)
    kind = ck["config"]["kind"]
    n_feat = len(feature_names(kind))
    head = GenreHead(build_mask(kind), np.zeros(n_feat), np.ones(n_feat))
    head.load_state_dict(ck["head"])
    wdir = musicnn_dir(args.cache)
    mtt = load_pretrained("MTT_musicnn", wdir) if uses_mtt(kind) else None
    msd = load_pretrained("MSD_musicnn", wdir)
    pruning = None
    if not args.no_prune:
        msd = PrunedMusicnn(msd, DEFAULT_TOL)
        pruning = {**msd.summary(), "tolerance": DEFAULT_TOL, "see": "training/genre/prune.py, results/pruning.json"}
    net = GenreTaggerNet(msd, mtt, head, kind).eval()
    tags = list(TAG_NAMES) if mtt is not None else TAG_NAMES[:50]
    fe = FrontendConfig()
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{args.name}.onnx"
    export_onnx(net, onnx_path, fe.patch_frames, fe.n_mels, OUTPUT_NAMES)
    x = np.random.default_rng(0).uniform(0, 4, (3, fe.patch_frames, fe.n_mels)).astype(np.float32)
    diff = max_abs_diff(net, onnx_path, x)
    meta_path = args.out / f"{args.name}.json"
    meta = build_metadata(
        args.name,
        onnx_path,
        fe,
        WindowSpec(count=args.windows, margin=args.margin),
        {
            "architecture": ("MSD_musicnn + MTT_musicnn" if mtt is not None else "MSD_musicnn")
            + f" (Pons & Serra 2019, ported from the musicnn 0.1.0 TF checkpoints) -> linear genre head '{kind}'",
            "pruned_dead_filters": pruning,
            "head": ck["config"],
            "training": {
                "data": "GTZAN clips available as audio (see results/MODEL.md)",
                "clips": len(ck["stems"]),
                "date": dt.date.today().isoformat(),
            },
            "onnx_vs_pytorch_max_abs_diff": diff,
            "accuracy": {},
        },
        tags=tags,
        version=args.version,
    )
    meta.save(meta_path)
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB), {meta_path}; max |onnx-torch| = {diff:.2e}")


if __name__ == "__main__":
    main()
