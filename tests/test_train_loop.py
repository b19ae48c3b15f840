import torch
from torch import nn

from training.train import EarlyStopping, TrainConfig, fit, tensor_batches


def _toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def test_loss_goes_down_and_best_checkpoint_is_saved(tmp_path):
    x, y = _toy()
    model = nn.Linear(8, 2)
    ck = tmp_path / "best.pt"
    cfg = TrainConfig(epochs=15, lr=0.05, checkpoint=str(ck), extra={"experiment": "toy"})
    hist = fit(model, tensor_batches(x, y, 32, True), tensor_batches(x, y, 256, False), cfg, log=None)
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["val_acc"][hist["best_epoch"] - 1] > 0.9
    saved = torch.load(ck, weights_only=False)
    assert saved["config"]["extra"] == {"experiment": "toy"}
    assert saved["history"]["best_epoch"] == hist["best_epoch"]


def test_early_stopping_and_lr_reduction_fire():
    x, y = _toy()
    yv = torch.randint(0, 2, (256,), generator=torch.Generator().manual_seed(1))  # unlearnable val labels
    model = nn.Linear(8, 2)
    cfg = TrainConfig(epochs=200, lr=0.05, patience=6, lr_patience=2, lr_factor=0.5)
    hist = fit(model, tensor_batches(x, y, 32, True), tensor_batches(x, yv, 256, False), cfg, log=None)
    assert hist["stopped_early"] and len(hist["epoch"]) < 200
    assert min(hist["lr"]) < cfg.lr


def test_model_ends_with_best_weights():
    x, y = _toy()
    model = nn.Linear(8, 2)
    hist = fit(model, tensor_batches(x, y, 32, True), tensor_batches(x, y, 256, False),
               TrainConfig(epochs=8, lr=0.05, monitor="val_acc"), log=None)  # fmt: skip
    with torch.no_grad():
        acc = float((model(x).argmax(1) == y).float().mean())
    assert abs(acc - max(hist["val_acc"])) < 1e-6


def test_early_stopping_modes():
    s = EarlyStopping(2, "max")
    assert s.improved(0.5) and not s.improved(0.4) and not s.should_stop
    assert not s.improved(0.5) and s.should_stop
