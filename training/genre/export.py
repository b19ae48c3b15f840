"""Export a PyTorch model to ONNX and write the model's metadata JSON.

python -m training.genre.export --head runs/head_final.pt --name genre-musicnn --out models/
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genre_tagger.frontend import FrontendConfig
from genre_tagger.windows import WindowSpec

from ..weights import DEFAULT_CACHE, musicnn_dir
from .genre_model import GenreTaggerNet, uses_mtt
from .heads import DISPLAY, EXTRA_GENRES, GENRES, TAG_NAMES, GenreHead, build_mask, feature_names
from .musicnn import load_pretrained
from .prune import DEFAULT_TOL, PrunedMusicnn

INPUT_NAME = "patches"
OUTPUT_NAMES = ["genre_probs", "tag_probs"]


def export_onnx(model: nn.Module, path: Path, frames: int, mels: int, output_names: list[str]) -> None:
    model.eval()
    dummy = torch.zeros(2, frames, mels)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=output_names,
        dynamic_axes={INPUT_NAME: {0: "n"}, **{o: {0: "n"} for o in output_names}},
        opset_version=17,
        dynamo=False,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def max_abs_diff(model: nn.Module, onnx_path: Path, x: np.ndarray) -> float:
    """Largest |ONNX - PyTorch| over all outputs for input ``x``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {INPUT_NAME: x.astype(np.float32)})
    with torch.no_grad():
        ref = model(torch.from_numpy(x))
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
) -> dict:
    tags = list(TAG_NAMES) if tags is None else tags
    return {
        "format": 1,
        "name": name,
        "version": version,
        "onnx": onnx_path.name,
        "onnx_sha256": sha256(onnx_path),
        "input": {"name": INPUT_NAME, "shape": ["n", fe.patch_frames, fe.n_mels], "dtype": "float32"},
        "outputs": {"genres": OUTPUT_NAMES[0], "tags": OUTPUT_NAMES[1]},
        "frontend": fe.to_dict(),
        "windows": windows.to_dict(),
        "genres": [{"id": g, "display": DISPLAY[g]} for g in GENRES],
        "tags": tags,
        "extra_genres": {k: v for k, v in EXTRA_GENRES.items() if k in tags},
        "exported": dt.date.today().isoformat(),
        **extra,
    }


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
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB), {meta_path}; max |onnx-torch| = {diff:.2e}")


if __name__ == "__main__":
    main()
