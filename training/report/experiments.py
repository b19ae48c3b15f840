"""The design report's experiments on the Kaggle spectrogram images: one small config
each, one command runs all or some. Resumable: finished (experiment, split) pairs are
skipped; results, per-epoch histories and curves land in ``--out``.

    python -m training.report.experiments --data ../shared/data/gtzan [--only effnet_full] [--splits random,filtered]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import GTZAN_GENRES, filtered_split, stratified_split
from ..metrics import classification_report
from ..train import TrainConfig, fit, tensor_batches
from ..weights import DEFAULT_CACHE, ensure
from .augment import AugmentConfig, TimeCrops, augmented
from .image_models import ChoiCNN, EfficientLite0, MobileNetV2, count_parameters
from .images import ImageConfig, load_dataset, to_float

RANDOM_RATIOS = (0.7, 0.15, 0.15)  # seeded stratified train / valid / test


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    model: str  # choi | effnet | mobilenet
    report: str  # the design report's figure
    mode: str = "full"  # full | frozen | unfreeze_top | warmup_unfreeze | features_svm | features_softmax
    dropout: float = 0.0
    unfreeze_top: int = 0
    size: tuple[int, int] | None = None  # input (height, width); None = ImageConfig's default
    augment: AugmentConfig | None = None
    crop: float = 0.0  # > 0: train on random time crops of this width fraction, test on eval_crops of them
    eval_crops: int = 5
    train: TrainConfig = field(default_factory=TrainConfig)
    note: str = ""

    def image_config(self, base: ImageConfig = ImageConfig()) -> ImageConfig:
        return replace(base, size=self.size) if self.size else base

    @property
    def imagenet(self) -> bool:
        """Inputs normalised with ImageNet statistics (the pretrained networks)."""
        return self.model != "choi"


def _tc(**kw) -> TrainConfig:
    base = dict(epochs=15, lr=1e-3, patience=5, lr_patience=2, lr_factor=0.3, monitor="val_acc")
    base.update(kw)
    return TrainConfig(**base)


EXPERIMENTS = [
    Experiment("cnn_baseline", "Baseline CNN (Choi et al. 2016 style)", "choi", "64 %", train=_tc(epochs=30)),
    Experiment("cnn_dropout", "Baseline CNN + 3 dropout layers", "choi", "~60s %", dropout=0.3, train=_tc(epochs=30)),
    Experiment("effnet_full", "EfficientNet-Lite0, ImageNet init, all layers trainable", "effnet", "80 % (B0)",
               train=_tc(lr=3e-4)),
    Experiment("effnet_frozen", "EfficientNet-Lite0, backbone frozen, new head", "effnet", "73 % (B0)", mode="frozen",
               train=_tc(lr=1e-3, epochs=60, patience=10)),
    Experiment("effnet_unfreeze100", "EfficientNet-Lite0, top layers unfrozen", "effnet", "74 % (B0)",
               mode="unfreeze_top", unfreeze_top=8, train=_tc(lr=3e-4),
               note="Lite0 has 21 backbone modules (stem, 16 MBConv blocks, head conv, BNs); the top 8 hold about "
                    "the same share of parameters as Keras' top 100 of B0's 237 layers."),
    Experiment("effnet_warmup_unfreeze", "EfficientNet-Lite0, head warm-up then all unfrozen", "effnet", "76 % (B0)",
               mode="warmup_unfreeze", train=_tc(lr=3e-4)),
    Experiment("mobilenet_full", "MobileNetV2, ImageNet init, all layers trainable", "mobilenet", "below InceptionV3 (73 %)",
               train=_tc(lr=3e-4)),
    Experiment("mobilenet_crops", "MobileNetV2, all trainable, 160x240 input, trained on 10-s crops", "mobilenet",
               "below InceptionV3 (73 %)", size=(160, 240), crop=1 / 3, augment=AugmentConfig(time_shift=0.0),
               train=_tc(lr=3e-4, epochs=40, patience=8),
               note="our recipe beyond the report: 160x240 input, random 10-s time crops + SpecAugment masks in "
                    "training, logits averaged over 5 crops at test time"),
    Experiment("effnet_crops", "EfficientNet-Lite0, all trainable, 160x240 input, trained on 10-s crops", "effnet",
               "80 % (B0)", size=(160, 240), crop=1 / 3, augment=AugmentConfig(time_shift=0.0),
               train=_tc(lr=3e-4, epochs=40, patience=8),
               note="our recipe beyond the report: 160x240 input, random 10-s time crops + SpecAugment masks in "
                    "training, logits averaged over 5 crops at test time"),
    Experiment("effnet_features_svm", "EfficientNet-Lite0 frozen features + SVM", "effnet", "(§3.3 practice 1)", mode="features_svm"),
    Experiment("effnet_features_softmax", "EfficientNet-Lite0 frozen features + softmax", "effnet", "(§3.3 practice 1)",
               mode="features_softmax"),
    Experiment("mobilenet_features_svm", "MobileNetV2 frozen features + SVM", "mobilenet", "(§3.3 practice 1)", mode="features_svm"),
]  # fmt: skip
NOT_REPRODUCIBLE = [
    ("inceptionv3", "InceptionV3 transfer", "73 %", "no InceptionV3 ImageNet weights can be obtained offline (PyPI only); "
     "a random-init InceptionV3 would not be transfer learning"),
    ("resnet152v2", "ResNet152V2 transfer", "dropped by the report (too slow)", "no ResNet152V2 ImageNet weights offline"),
    ("efficientnet_b0", "EfficientNet-B0 (the report's model)", "80 %", "no B0 ImageNet weights offline: EfficientNet-Lite0 "
     "(real ImageNet weights) stands in for it in every EfficientNet row"),
]  # fmt: skip
BY_NAME = {e.name: e for e in EXPERIMENTS}


def build_model(exp: Experiment, cache: Path) -> nn.Module:
    if exp.model == "choi":
        return ChoiCNN(dropout=exp.dropout)
    if exp.model == "effnet":
        return EfficientLite0()
    mdir = ensure("mobilenet", cache)
    return MobileNetV2(weights=next(Path(mdir).rglob("mobilenet_v2-*.pth")))


def load_trained(exp: Experiment, checkpoint: str | Path, cache: Path) -> nn.Module:
    """The network a run saved (save-best checkpoint), in eval mode, taking full images."""
    wrapped = _trainable(build_model(exp, cache), exp)
    wrapped.load_state_dict(torch.load(checkpoint, weights_only=False)["model"])
    return wrapped.eval()


def _trainable(model: nn.Module, exp: Experiment, seed: int = 0) -> nn.Module:
    """What is trained and checkpointed: ``model`` (in time crops if the experiment uses them)
    with frozen BatchNorm layers kept in eval mode."""
    return _FrozenBN(TimeCrops(model, exp.crop, exp.eval_crops, seed) if exp.crop else model)


def _set_trainable(model: nn.Module, exp: Experiment, stage: str) -> None:
    if exp.model == "choi" or exp.mode == "full":
        for p in model.parameters():
            p.requires_grad = True
        return
    backbone = model.backbone if exp.model == "effnet" else model.features
    head = model.head if exp.model == "effnet" else model.classifier
    for p in backbone.parameters():
        p.requires_grad = False
    for p in head.parameters():
        p.requires_grad = True
    if exp.mode == "unfreeze_top" or (exp.mode == "warmup_unfreeze" and stage == "finetune"):
        layers = model.backbone_layers() if exp.model == "effnet" else list(model.features)
        top = layers if exp.mode == "warmup_unfreeze" else layers[-exp.unfreeze_top :]
        for layer in top:
            for p in layer.parameters():
                p.requires_grad = True


class _FrozenBN(nn.Module):
    """Wraps a model so that frozen BatchNorm layers stay in eval mode while training."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self.model.modules():
            if isinstance(m, nn.BatchNorm2d) and not any(p.requires_grad for p in m.parameters()):
                m.eval()
        return self

    def forward(self, x):
        return self.model(x)


def split_indices(stems: list[str], labels: np.ndarray, split: str, splits_dir: Path, seed: int) -> tuple[list[int], list[int], list[int]]:
    if split == "random":
        return stratified_split([str(v) for v in labels], RANDOM_RATIOS, seed)
    sp = filtered_split(splits_dir)
    pos = {s: i for i, s in enumerate(stems)}
    return tuple([pos[s] for s in sp[k] if s in pos] for k in ("train", "valid", "test"))  # type: ignore[return-value]


def _embed(model: nn.Module, x: np.ndarray, bs: int = 64) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            xb = torch.from_numpy(x[i : i + bs])
            out.append((model.features(xb) if isinstance(model, EfficientLite0) else model.embed(xb)).numpy())
    return np.concatenate(out)


def run_features(exp: Experiment, model: nn.Module, x: np.ndarray, y: np.ndarray, idx) -> tuple[dict, dict]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    tr, va, te = idx
    feats = _embed(model, x)
    best, best_c = None, None
    for c in (0.01, 0.1, 1.0, 10.0):
        clf = (make_pipeline(StandardScaler(), SVC(C=c, kernel="rbf")) if exp.mode == "features_svm"
               else make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000)))  # fmt: skip
        clf.fit(feats[tr], y[tr])
        acc = float((clf.predict(feats[va]) == y[va]).mean())
        if best is None or acc > best[0]:
            best, best_c = (acc, clf), c
    val_acc, clf = best
    pred = clf.predict(feats[te])
    return classification_report(y[te], pred, GTZAN_GENRES), {"val_acc": [val_acc], "C": best_c}


def run_one(exp: Experiment, split: str, data: Path, cache: Path, img_cfg: ImageConfig, seed: int, out: Path, resume: bool = False) -> dict:
    torch.manual_seed(seed)
    img_cfg = exp.image_config(img_cfg)
    stems, xu8, y = load_dataset(data / "kaggle" / "images_original", img_cfg, cache)
    x = to_float(xu8, imagenet=exp.imagenet)
    idx = split_indices(stems, y, split, data / "splits", seed)
    tr, va, te = idx
    model = build_model(exp, cache)
    t0 = time.time()
    if exp.mode.startswith("features"):
        rep, hist = run_features(exp, model, x, y, idx)
    else:
        cfg = replace(exp.train, seed=seed, extra={"experiment": exp.name, "split": split, "image": asdict(img_cfg)},
                      checkpoint=str(Path("runs") / "checkpoints" / f"{exp.name}_{split}.pt"))  # fmt: skip
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        trb = tensor_batches(xt[tr], yt[tr], 32, True, seed)
        if exp.augment:
            trb = augmented(trb, exp.augment, seed)
        vab = tensor_batches(xt[va], yt[va], 64, False)
        wrapped = _trainable(model, exp, seed)
        hist = {}
        prior = None
        if resume and Path(cfg.checkpoint).exists():  # continue from the save-best checkpoint
            ck = torch.load(cfg.checkpoint, weights_only=False)
            wrapped.load_state_dict(ck["model"])
            prior = ck["history"]
            print(f"resumed from {cfg.checkpoint} (best epoch {prior['best_epoch']})")
        if exp.mode == "warmup_unfreeze":
            _set_trainable(model, exp, "warmup")
            h1 = fit(wrapped, trb, vab, replace(cfg, epochs=5, lr=1e-3, patience=5), log=print)
            hist["warmup"] = h1
        _set_trainable(model, exp, "finetune")
        hist.update(fit(wrapped, trb, vab, cfg, log=print))
        if prior:
            hist["resumed_after"] = {k: prior[k] for k in ("epoch", "loss", "acc", "val_loss", "val_acc", "lr")}
        wrapped.eval()
        with torch.no_grad():
            pred = np.concatenate([wrapped(xt[te][i : i + 64]).argmax(1).numpy() for i in range(0, len(te), 64)])
        rep = classification_report(y[te], pred, GTZAN_GENRES)
    rep.update(experiment=exp.name, split=split, seconds=round(time.time() - t0, 1), parameters=count_parameters(model),
               n_train=len(tr), n_valid=len(va), n_test=len(te), history=hist,
               val_acc=max(hist.get("val_acc", [0.0])), machine=f"{platform.machine()}, {torch.get_num_threads()} threads",
               image=asdict(img_cfg), augment=asdict(exp.augment) if exp.augment else None, seed=seed)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{exp.name}_{split}.json").write_text(json.dumps(rep, indent=1, default=float) + "\n")
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="GTZAN root holding kaggle/images_original and splits/")
    ap.add_argument("--only", default="", help="comma-separated experiment names (default: all)")
    ap.add_argument("--splits", default="random,filtered")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, default=Path("results/report_repro/runs"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=0, help="override the epoch budget (smoke runs)")
    ap.add_argument("--force", action="store_true", help="rerun finished experiments")
    ap.add_argument("--resume", action="store_true", help="start from the experiment's save-best checkpoint")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or [e.name for e in EXPERIMENTS]
    for split in args.splits.split(","):
        for n in names:
            exp = BY_NAME[n]
            if args.epochs:
                exp = replace(exp, train=replace(exp.train, epochs=args.epochs))
            if (args.out / f"{n}_{split}.json").exists() and not args.force:
                print(f"skip {n} {split}: done")
                continue
            print(f"=== {n} on {split} split", flush=True)
            rep = run_one(exp, split, args.data, args.cache, ImageConfig(), args.seed, args.out, args.resume)
            print(f"=== {n} {split}: test acc {rep['accuracy']:.3f} (val {rep['val_acc']:.3f}) in {rep['seconds']} s", flush=True)


if __name__ == "__main__":
    main()
