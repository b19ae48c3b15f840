"""A small training loop: Adam, reduce-LR-on-plateau, early stopping, save-best.

The same loop trains the genre heads and the report's image models. The config is a
dataclass saved inside every checkpoint (with the epoch history).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn


@dataclass
class TrainConfig:
    epochs: int = 100
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10  # early stopping, in epochs without val improvement
    lr_patience: int = 4  # reduce-LR-on-plateau
    lr_factor: float = 0.5
    min_lr: float = 1e-6
    monitor: str = "val_loss"  # or "val_acc"
    seed: int = 0
    label_smoothing: float = 0.0
    class_weights: list[float] | None = None
    checkpoint: str | None = None  # path of the save-best checkpoint
    extra: dict = field(default_factory=dict)  # experiment config saved with checkpoints


class EarlyStopping:
    """Stops when the monitored value has not improved for ``patience`` epochs."""

    def __init__(self, patience: int, mode: str = "min"):
        self.patience, self.mode = patience, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.bad = 0

    def improved(self, value: float) -> bool:
        better = value < self.best if self.mode == "min" else value > self.best
        if better:
            self.best, self.bad = value, 0
        else:
            self.bad += 1
        return better

    @property
    def should_stop(self) -> bool:
        return self.bad >= self.patience


Batches = Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]]


def evaluate_loss(model: nn.Module, batches: Batches, loss_fn: nn.Module) -> tuple[float, float]:
    model.eval()
    tot, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches():
            out = model(x)
            tot += float(loss_fn(out, y)) * len(y)
            correct += int((out.argmax(1) == y).sum())
            n += len(y)
    return tot / max(n, 1), correct / max(n, 1)


def fit(
    model: nn.Module,
    train_batches: Batches,
    val_batches: Batches,
    cfg: TrainConfig,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Train ``model`` in place; at the end it holds the best weights. Returns the history."""
    torch.manual_seed(cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    mode = "min" if cfg.monitor == "val_loss" else "max"
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=mode, factor=cfg.lr_factor, patience=cfg.lr_patience, min_lr=cfg.min_lr
    )
    weights = torch.tensor(cfg.class_weights, dtype=torch.float32) if cfg.class_weights else None
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=cfg.label_smoothing)
    eval_loss = nn.CrossEntropyLoss(weight=weights)
    stopper = EarlyStopping(cfg.patience, mode)
    history: dict = {"epoch": [], "loss": [], "acc": [], "val_loss": [], "val_acc": [], "lr": [], "seconds": []}
    best_state = copy.deepcopy(model.state_dict())
    history["best_epoch"] = 0
    history["stopped_early"] = False
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.time()
        model.train()
        tot, correct, n = 0.0, 0, 0
        for x, y in train_batches():
            opt.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(y)
            correct += int((out.argmax(1) == y).sum())
            n += len(y)
        val_loss, val_acc = evaluate_loss(model, val_batches, eval_loss)
        value = val_loss if cfg.monitor == "val_loss" else val_acc
        sched.step(value)
        for k, v in (("epoch", epoch), ("loss", tot / max(n, 1)), ("acc", correct / max(n, 1)),
                     ("val_loss", val_loss), ("val_acc", val_acc), ("lr", opt.param_groups[0]["lr"]),
                     ("seconds", time.time() - t0)):  # fmt: skip
            history[k].append(v)
        if stopper.improved(value):
            best_state = copy.deepcopy(model.state_dict())
            history["best_epoch"] = epoch
            if cfg.checkpoint:
                save_checkpoint(cfg.checkpoint, model, cfg, history)
        if log:
            log(
                f"epoch {epoch:3d} loss {history['loss'][-1]:.4f} acc {history['acc'][-1]:.3f} "
                f"val_loss {val_loss:.4f} val_acc {val_acc:.3f} lr {history['lr'][-1]:.2e}"
            )
        if stopper.should_stop:
            history["stopped_early"] = True
            break
    model.load_state_dict(best_state)
    return history


def save_checkpoint(path: str | Path, model: nn.Module, cfg: TrainConfig, history: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "config": asdict(cfg), "history": history}, tmp)
    tmp.replace(path)


def tensor_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool, seed: int = 0) -> Batches:
    """Batches over in-memory tensors (reshuffled each call when ``shuffle``)."""
    gen = torch.Generator().manual_seed(seed)

    def it() -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        idx = torch.randperm(len(y), generator=gen) if shuffle else torch.arange(len(y))
        for i in range(0, len(y), batch_size):
            j = idx[i : i + batch_size]
            yield x[j], y[j]

    return it
