"""Issue 21, a probe: does fine-tuning mn04 end to end on our clips beat the frozen tagger
with a linear head (what v5 ships)? CPU only, one level of cross-validation.

1. ``--cache``: each clip decoded once at 32 kHz through the app's decoder and turned into
   its whole-clip log-mel (mn04's front end), stored float16 in ``runs/mels_32k`` (resumable).
2. Per outer fold (realmusic's 5 artist-grouped folds, every GTZAN clip with audio in every
   training fold, as every realmusic figure):

   - **frozen** (v5's mn04 half): the pretrained mn04 on the held-out clip's two app windows
     (centres 0.4 and 0.6 of the clip, 2.98 s), pooled + hidden + AudioSet music logits
     averaged, a linear set head (:func:`training.genre.sethead.fit_set_head`, C 0.03, GTZAN
     genres balanced at 0.3 of a realmusic clip: v5's settings) fitted on the training clips'
     same windows;
   - **fine-tuned**: the same pretrained mn04 with a new linear genre layer on its 512-d hidden
     layer, trained end to end (batch-norm statistics frozen) for ``--epochs`` epochs on random
     2.98-s crops from 10-90 % of each training clip (``--crops`` per clip per epoch), set NLL
     with the same sample weights; AdamW, backbone lr ``--lr``, head lr 10x, cosine decay;
     evaluated on the same two windows (logits averaged).

   Windows are sliced from the whole-clip log-mel (frames at hop 320); the app computes each
   window's mel on its own, which differs only at the window edges — the same for both arms.
3. Scored out of fold: extended top-1 of mn04 alone, and late fusion with the MSD head of
   v5 (musicnn 4 windows, out of fold from the feature cache) with weights fitted on the
   pooled out-of-fold logits — optimistic for both arms alike, for comparing them only.

    python -m training.genre.finetune_probe --gtzan ../shared/data/gtzan --realmusic ../shared/data/realmusic \\
        --weights ../shared/weights/efficientat-mn04/mn04_as_mAP_432.pt --cache
    python -m training.genre.finetune_probe --gtzan … --realmusic … --weights … [--folds 0,1] [--epochs 6]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genre_tagger.listen.mn_frontend import MnFrontendConfig, log_mel
from genre_tagger.listen.windows import window_starts

from . import fusion_experiments as fx
from .feature_cache import cache_each, cache_file, clip_items
from .mn04 import load_mn04
from .mn04_cache import WINDOW_SAMPLES, decode_32k
from .sethead import fit_set_head, set_mask, set_nll, softmax, top1_correct

CROP = 298  # mn04 frames of one app window (2.98 s)
HIDDEN = slice(384, 896)  # the hidden layer's columns in frozen_features' rows (pooled 384 | hidden 512 | music 146)


@dataclass
class ProbeConfig:
    epochs: int = 6
    crops: int = 4
    batch: int = 32
    lr: float = 1e-4
    head_lr_factor: float = 10.0
    weight_decay: float = 1e-4
    lp_ft: bool = False  # start the genre layer from the linear probe on the frozen hidden layer (LP-FT)
    seed: int = 0


def mel_arrays(item) -> dict[str, np.ndarray]:
    fe = MnFrontendConfig()
    return {"mel": log_mel(decode_32k(item.path, fe), fe).astype(np.float16)}


def load_mels(root: Path, keys: list[str]) -> list[np.ndarray]:
    out = []
    for k in keys:
        with np.load(cache_file(root, k)) as z:
            m = z["mel"]
        if m.shape[1] < CROP:  # a short clip: repeat it to one window
            m = np.tile(m, (1, int(np.ceil(CROP / m.shape[1]))))
        out.append(m)
    return out


def app_windows(mel: np.ndarray, hop: int = 320) -> np.ndarray:
    """The two app windows of mn04 (WindowSpec(count=2, margin=0.3)) sliced from the clip's mel."""
    n = (mel.shape[1] - 1) * hop + 1
    starts = window_starts(max(n, WINDOW_SAMPLES), WINDOW_SAMPLES, 2, 0.3)
    return np.stack([mel[:, min(s // hop, mel.shape[1] - CROP) :][:, :CROP] for s in starts]).astype(np.float32)


class Tuned(nn.Module):
    def __init__(self, weights: Path, n_genres: int):
        super().__init__()
        self.mn = load_mn04(weights)
        self.out = nn.Linear(self.mn.n_hidden, n_genres)
        nn.init.zeros_(self.out.weight), nn.init.zeros_(self.out.bias)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.out(self.mn.forward_features(mel).hidden)


def _freeze_bn(m: nn.Module) -> None:
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.eval()


def finetune(
    mels, train: np.ndarray, masks: np.ndarray, sw: np.ndarray, weights: Path, cfg: ProbeConfig, init: tuple | None = None
) -> Tuned:
    """``init``: (W, b) of the genre layer to start from (LP-FT), else zeros."""
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    model = Tuned(weights, masks.shape[1])
    if init is not None:
        with torch.no_grad():
            model.out.weight.copy_(torch.from_numpy(init[0])), model.out.bias.copy_(torch.from_numpy(init[1]))
    head_lr = cfg.lr * cfg.head_lr_factor
    opt = torch.optim.AdamW([{"params": model.mn.parameters(), "lr": cfg.lr}, {"params": model.out.parameters(), "lr": head_lr}],
                            weight_decay=cfg.weight_decay)  # fmt: skip
    train = train[masks[train].sum(1) > 0]  # clips with no genre of the vocabulary teach nothing (as fit_set_head)
    rows = np.repeat(train, cfg.crops)
    steps = cfg.epochs * int(np.ceil(len(rows) / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[cfg.lr, head_lr], total_steps=steps, pct_start=0.1)
    model.train()
    _freeze_bn(model)
    for _ in range(cfg.epochs):
        rng.shuffle(rows)
        for b in range(0, len(rows), cfg.batch):
            idx = rows[b : b + cfg.batch]
            crops = []
            for i in idx:
                m = mels[i]
                lo, hi = int(0.1 * m.shape[1]), max(int(0.9 * m.shape[1]) - CROP, int(0.1 * m.shape[1]))
                s = int(rng.integers(lo, hi + 1)) if hi > lo else max(0, min(lo, m.shape[1] - CROP))
                crops.append(m[:, s : s + CROP].astype(np.float32))
            x = torch.from_numpy(np.stack(crops))
            loss = (set_nll(model(x), torch.from_numpy(masks[idx])) * torch.from_numpy(sw[idx].astype(np.float32))).sum() / sw[idx].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def window_logits(model: Tuned, wins: list[np.ndarray]) -> np.ndarray:
    return np.stack([model(torch.from_numpy(w)).mean(0).numpy() for w in wins])


@torch.no_grad()
def frozen_features(weights: Path, wins: list[np.ndarray]) -> np.ndarray:
    mn = load_mn04(weights)
    out = []
    for w in wins:
        o = mn.forward_features(torch.from_numpy(w))
        out.append(torch.cat([o.pooled.mean(0), o.hidden.mean(0), o.logits[:, fx.MUSIC].mean(0)]).numpy())
    return np.stack(out)


def figures(z: np.ndarray, real: list, genres) -> dict:
    p = softmax(z)
    return {"extended_top1": round(float(top1_correct(p, [e.accepted for e in real], genres).mean()), 4),
            "coverage_at_precision_0.92": round(fx.curve_figures(p, real, genres)["coverage_at_precision_0.92"], 4)}  # fmt: skip


def late(z1: np.ndarray, z2: np.ndarray, real: list, genres) -> dict:
    w = fx.fit_weights([z1, z2], [e.accepted for e in real], genres)
    return {**figures(w[0] * z1 + w[1] * z2, real, genres), "weights": [round(float(x), 3) for x in w]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--realmusic", type=Path, required=True)
    ap.add_argument("--weights", type=Path, required=True, help="mn04_as_mAP_432.pt")
    ap.add_argument("--mels", type=Path, default=Path("runs/mels_32k"))
    ap.add_argument("--cache", action="store_true", help="only make the mel cache")
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--mn-features", type=Path, default=Path("runs/features_mn04"))
    ap.add_argument("--selection", type=Path, default=Path("results/fusion_selection.json"))
    ap.add_argument("--folds", default="", help="only these outer folds (comma-separated)")
    ap.add_argument("--epochs", type=int, default=ProbeConfig.epochs)
    ap.add_argument("--lr", type=float, default=ProbeConfig.lr)
    ap.add_argument("--head-lr-factor", type=float, default=ProbeConfig.head_lr_factor)
    ap.add_argument("--lp-ft", action="store_true", help="start the genre layer from the linear probe (LP-FT)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("results/finetune_probe.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.cache:
        cache_each(clip_items(args.gtzan, args.realmusic), args.mels, mel_arrays)
        return
    cfg = ProbeConfig(epochs=args.epochs, lr=args.lr, head_lr_factor=args.head_lr_factor, lp_ft=args.lp_ft)
    sel = json.loads(args.selection.read_text())["chosen"]
    f, genres = fx.Fusion(**sel["fusion"]), sel["library"]
    ex_all, msd, _ = fx.load_all(args.gtzan, args.realmusic, args.features, args.mn_features, [f.mn_cache])
    row_of = {e.key: i for i, e in enumerate(ex_all)}
    ex = [e for e in ex_all if cache_file(args.mels, e.key).exists()]
    t0 = time.time()
    mels = load_mels(args.mels, [e.key for e in ex])
    wins = [app_windows(m) for m in mels]
    print(f"{len(ex)} clips, mels loaded ({time.time() - t0:.0f} s)", flush=True)
    frozen_x = frozen_features(args.weights, wins)
    x1 = fx.msd_features(msd, f)[[row_of[e.key] for e in ex]]
    sets = [e.accepted for e in ex]
    masks = set_mask(sets, genres)
    sw = fx.lx.sample_weights(ex, f.cand())
    real_idx = np.array([i for i, e in enumerate(ex) if e.is_real])
    real = [ex[i] for i in real_idx]
    only = {int(k) for k in args.folds.split(",") if k}
    z_msd, z_frozen, z_tuned = (np.zeros((len(real), len(genres))) for _ in range(3))
    done = np.zeros(len(real), bool)
    out = {"command": "python -m training.genre.finetune_probe --gtzan <GTZAN> --realmusic <realmusic> --weights <mn04>",
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU, {args.threads} torch threads",
           "config": asdict(cfg), "folds": []}  # fmt: skip
    for k, fo in enumerate(fx.lx.real_folds(real)):
        if only and k not in only:
            continue
        test = real_idx[fo]
        train = np.setdiff1d(np.arange(len(ex)), test)
        h_msd, h_frozen = fx._fit_heads([x1, frozen_x], ex, genres, f, train)  # v5's two heads, on these features
        z_msd[fo], z_frozen[fo] = h_msd.logits(x1[test]), h_frozen.logits(frozen_x[test])
        init = None
        if cfg.lp_ft:  # the linear probe on the frozen hidden layer (the app windows of the training clips)
            hid = frozen_x[:, HIDDEN]
            init = fit_set_head(hid[train], [sets[i] for i in train], genres, f.c_mn, sw[train]).folded()
        model = finetune(mels, train, masks, sw, args.weights, cfg, init)
        z_tuned[fo] = window_logits(model, [wins[i] for i in test])
        done[fo] = True
        rs = [real[i] for i in fo]
        row = {"fold": k, "clips": len(fo), "frozen": figures(z_frozen[fo], rs, genres), "fine_tuned": figures(z_tuned[fo], rs, genres),
               "seconds": round(time.time() - t0)}  # fmt: skip
        out["folds"].append(row)
        print(json.dumps(row), flush=True)
    rs = [real[i] for i in np.nonzero(done)[0]]
    d = done
    out["all"] = {"clips": int(d.sum()), "msd": figures(z_msd[d], rs, genres), "frozen": figures(z_frozen[d], rs, genres),
                  "fine_tuned": figures(z_tuned[d], rs, genres),
                  "late_msd_frozen": late(z_msd[d], z_frozen[d], rs, genres),
                  "late_msd_fine_tuned": late(z_msd[d], z_tuned[d], rs, genres)}  # fmt: skip
    out["seconds"] = round(time.time() - t0)
    print(json.dumps(out["all"], indent=1))
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
