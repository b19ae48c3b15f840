"""Fit the v5 model (MSD_musicnn + EfficientAT mn04, late-fused heads) on all the data and
export it: ``models/<name>.onnx`` + its :class:`ModelMeta` JSON (both front ends, both
window sets and both inputs recorded and checked at load).

The fusion, the library vocabulary and the default-threshold target come from
``results/fusion_selection.json`` (:mod:`training.genre.fusion_experiments`): ``chosen``
names the fusion, ``vocabulary`` the library genres, ``threshold`` the nested-CV target.

    python -m training.genre.build_v5 --gtzan ../shared/data/gtzan --realmusic ../shared/data/realmusic \\
        --mn04 ../shared/weights/efficientat-mn04 [--out models] [--name genre-v5] [--version 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from genre_tagger.genres import GTZAN_GENRES, display_name
from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.mn_frontend import MnFrontendConfig
from genre_tagger.listen.modelmeta import InputSpec, MnInputSpec, ModelMeta, Vocabulary
from genre_tagger.listen.windows import WindowSpec

from ..weights import DEFAULT_CACHE, musicnn_dir
from . import fusion_experiments as fx
from .mn04 import audioset_labels, load_mn04
from .model_v5 import V5Net, export_onnx, fold_fitted, tag_names
from .musicnn import load_pretrained
from .prune import DEFAULT_TOL, PrunedMusicnn
from .tagger_features import EXTRA_GENRES

MN04_NOTICE = (
    "EfficientAT mn04 (AudioSet) by Florian Schmid, Khaled Koutini and Gerhard Widmer, "
    "https://github.com/fschmid56/EfficientAT — MIT License, Copyright (c) 2022 Florian Schmid. "
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated "
    'documentation files (the "Software"), to deal in the Software without restriction, including without limitation '
    "the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to "
    "permit persons to whom the Software is furnished to do so, subject to the following conditions: The above copyright "
    "notice and this permission notice shall be included in all copies or substantial portions of the Software. "
    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.'
)


def mn_window_spec(f: fx.Fusion) -> WindowSpec:
    """The mn04 windows the app reads for fusion ``f`` (its cache's windows)."""
    count, margin, length = f.mn_cache.split("_")
    if tuple(f.mn_subset) == (6, 10):  # the cached windows nearest to centres 0.4 and 0.6
        return WindowSpec(count=2, margin=0.3, length=int(length[1:]), sample_rate=32000)
    if f.mn_subset:
        raise ValueError(f"no WindowSpec for the mn04 window subset {f.mn_subset}")
    n = f.mn_windows if f.mn_windows else int(count[1:])
    if int(count[1:]) == 16 and f.mn_windows not in (0, 16):
        n = f.mn_windows  # a WINDOW_SUBSETS subset approximates WindowSpec(count=n)
    return WindowSpec(count=n, margin=float(margin[1:]), length=int(length[1:]), sample_rate=32000)


def fit_and_export(
    ex,
    msd,
    mn,
    idx,
    f: fx.Fusion,
    library: list[str],
    gtzan_params: tuple,
    target: float,
    mn04_dir: Path,
    out: Path,
    name: str,
    version: str,
    accuracy: dict | None = None,
) -> ModelMeta:
    """Fit both vocabularies' heads on ``ex[idx]`` (thresholds from inner grouped CV at
    ``target``) and export the ONNX + metadata to ``out/<name>.*``."""
    xs = [fx.msd_features(msd, f), fx.mn_features(mn, f)]
    idx = np.asarray(idx)
    lib_fit, _ = fx.fit_fold(xs, ex, library, f, idx, target=target)
    gf = fx.gtzan_fusion(f, gtzan_params)
    gz_fit, _ = fx.fit_fold(xs, ex, list(GTZAN_GENRES), gf, idx, target=target, domain_only=True)
    d1 = xs[0].shape[1]
    heads = [fold_fitted("library", library, lib_fit, d1), fold_fitted("gtzan", list(GTZAN_GENRES), gz_fit, d1)]
    for h in heads:
        h.accuracy = (accuracy or {}).get(h.vocabulary, {})
    msd_net = PrunedMusicnn(load_pretrained("MSD_musicnn", musicnn_dir(DEFAULT_CACHE)), DEFAULT_TOL)
    net = V5Net(msd_net, load_mn04(mn04_dir / "mn04_as_mAP_432.pt"), heads).eval()
    fe, mfe = FrontendConfig(), MnFrontendConfig()
    mwin = mn_window_spec(f)
    onnx_path = out / f"{name}.onnx"
    diff = export_onnx(net, heads, onnx_path, n=f.windows, m=mwin.count, frames=mfe.frames(mwin.length))
    tags = tag_names(audioset_labels(mn04_dir / "audioset_class_labels.csv"))
    meta = ModelMeta(
        name=name,
        version=version,
        onnx=onnx_path.name,
        sha256="",
        frontend=fe,
        windows=WindowSpec(count=f.windows, margin=0.1, length=fe.patch_samples, sample_rate=fe.sample_rate),
        input=InputSpec("patches", fe.patch_frames, fe.n_mels),
        vocabularies=[
            Vocabulary(
                h.vocabulary,
                h.output,
                list(h.genres),
                [display_name(g) for g in h.genres],
                min_confidence=h.min_confidence,
                accuracy=dict(h.accuracy),
            )  # fmt: skip
            for h in heads
        ],
        default_vocabulary="library",
        tags=tags,
        tag_output="tag_probs",
        tag_display={k: v for k, v in EXTRA_GENRES.items() if k in tags},
        provenance={
            "exported": dt.date.today().isoformat(),
            "onnx_vs_pytorch_max_abs_diff": diff,
            "architecture": "MSD_musicnn (Pons & Serra 2019; ported from the musicnn 0.1.0 TF checkpoints, dead filters pruned) on "
            "16 kHz windows + EfficientAT mn04 (AudioSet; ported to PyTorch, last layer pruned to the 146 music classes) on "
            "32 kHz windows, both from one decode -> window-averaged features -> per vocabulary a linear head per tagger, "
            "logits combined with weights fitted out-of-fold (calibrated late fusion)",
            "fusion": asdict(f),
            "fusion_weights": {h.vocabulary: h.weights for h in heads},
            "training_data": "GTZAN clips with audio (one label each) + realmusic development half (accepted genre sets)",
            "training_clips": {"gtzan": int(sum(not ex[i].is_real for i in idx)), "realmusic": int(sum(ex[i].is_real for i in idx))},
            "min_confidence": f"lowest threshold with written precision >= {target} on inner out-of-fold probabilities "
            "(target from nested CV: results/fusion_selection.json 'threshold')",
            "licenses": {"musicnn": "ISC, Copyright (c) 2019 Jordi Pons", "EfficientAT mn04": MN04_NOTICE},
            "see": "results/MODEL.md",
        },
        mn_frontend=mfe,
        mn_windows=mwin,
        mn_input=MnInputSpec("mn_mels", mfe.n_mels, mfe.frames(mwin.length)),
    ).with_onnx(onnx_path)
    meta.save(onnx_path)
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--realmusic", type=Path, required=True)
    ap.add_argument("--mn04", type=Path, required=True, help="folder with mn04_as_mAP_432.pt and audioset_class_labels.csv")
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--mn-features", type=Path, default=Path("runs/features_mn04"))
    ap.add_argument("--selection", type=Path, default=Path("results/fusion_selection.json"))
    ap.add_argument("--metrics", type=Path, default=Path("results/v5/realmusic_eval/metrics.json"), help="app-path figures (evaluate_v5)")
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--name", default="genre-v5")
    ap.add_argument("--version", default="5")
    args = ap.parse_args()
    torch.set_num_threads(1)
    chosen = json.loads(args.selection.read_text())["chosen"]
    f = fx.Fusion(**chosen["fusion"])
    ex, msd, mn = fx.load_all(args.gtzan, args.realmusic, args.features, args.mn_features, [f.mn_cache])
    acc = None
    if args.metrics.exists():
        from .build_model import accuracy_figures

        acc = accuracy_figures(json.loads(args.metrics.read_text()))
    meta = fit_and_export(ex, msd, mn, np.arange(len(ex)), f, chosen["library"], tuple(chosen["gtzan_head"]),
                          chosen["threshold_target"], args.mn04, args.out, args.name, args.version, acc)  # fmt: skip
    onnx_path = args.out / f"{args.name}.onnx"
    vocabs = [(v.name, v.min_confidence) for v in meta.vocabularies]
    diff = meta.provenance["onnx_vs_pytorch_max_abs_diff"]
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB), |ONNX - PyTorch| <= {diff:.1e}; vocabularies {vocabs}")


if __name__ == "__main__":
    main()
