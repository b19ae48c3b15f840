"""A linear softmax head fitted to *sets* of accepted genres, its calibration and scoring.

A clip whose accepted set is ``A`` contributes ``-log sum_{g in A} p_g`` to the loss (the
probability mass on the set), so an AllMusic "Pop/Rock" clip (``pop;rock;metal;punk``)
is satisfied by any of those genres and a GTZAN clip by its one label. L2 on the weights
(not the biases) with strength ``1 / (c * n)`` as scikit-learn's ``C``; inputs are
standardised with the training clips' mean and std (folded into the exported layer).
Fitted to convergence with L-BFGS (scipy; the problem is convex).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize


def set_mask(sets: list[frozenset[str]], genres: list[str]) -> np.ndarray:
    """[n, G] float mask: 1 where the genre is in the clip's accepted set."""
    return np.array([[g in s for g in genres] for s in sets], dtype=np.float32)


def own_feature_mask(genres: list[str], names: list[str], own: dict[str, list[str]]) -> np.ndarray:
    """[G, D] 0/1 ``weight_mask`` for :func:`fit_set_head`: a genre with features of its own
    among ``names`` (``own[genre]``) reads only those; the other genres read every feature."""
    mask = np.ones((len(genres), len(names)), np.float32)
    for gi, g in enumerate(genres):
        mine = [n for n in own.get(g, []) if n in names]
        if mine:
            mask[gi] = [n in mine for n in names]
    return mask


def set_nll(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-clip ``-log P(accepted set)`` = logsumexp over the set - logsumexp over all."""
    masked = logits.masked_fill(mask <= 0, float("-inf"))
    return torch.logsumexp(logits, dim=1) - torch.logsumexp(masked, dim=1)


@dataclass
class LinearHead:
    """``logits = ((x - mean) / std) @ weight.T + bias``; ``probs = softmax(logits / T)``."""

    genres: list[str]
    mean: np.ndarray  # [D]
    std: np.ndarray  # [D]
    weight: np.ndarray  # [G, D]
    bias: np.ndarray  # [G]
    temperature: float = 1.0

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std) @ self.weight.T + self.bias

    def probs(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x) / self.temperature)

    def folded(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, b) acting on raw features, temperature included: logits/T = x @ W.T + b."""
        w = self.weight / self.std[None, :] / self.temperature
        b = (self.bias - self.weight @ (self.mean / self.std)) / self.temperature
        return w.astype(np.float32), b.astype(np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_set_head(
    x: np.ndarray,
    sets: list[frozenset[str]],
    genres: list[str],
    c: float = 1.0,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 500,
    weight_mask: np.ndarray | None = None,
) -> LinearHead:
    """Fit the head on clips whose accepted set meets ``genres`` (others are ignored).
    ``weight_mask`` [G, D] (0/1) restricts which features each genre may use (an
    "evidence" head: a genre with a tag of its own reads only that tag)."""
    mask = set_mask(sets, genres)
    keep = mask.sum(1) > 0
    if not keep.any():
        raise ValueError("no clip has an accepted genre in the vocabulary")
    x, mask = x[keep].astype(np.float64), mask[keep]
    w_s = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, np.float64)[keep]
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs = (x - mean) / std
    wn = w_s / w_s.sum()
    n_g, d = len(genres), x.shape[1]
    lam = 1.0 / (c * len(x))
    neg = np.where(mask > 0, 0.0, -np.inf)

    wm = np.ones((n_g, d)) if weight_mask is None else np.asarray(weight_mask, np.float64)

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: n_g * d].reshape(n_g, d) * wm, theta[n_g * d :]
        z = xs @ w.T + b
        p = softmax(z)
        q = softmax(z + neg)  # the distribution restricted to the accepted set
        zm = z.max(1, keepdims=True)
        lse_all = np.log(np.exp(z - zm).sum(1)) + zm[:, 0]
        zs = z + neg
        zsm = zs.max(1, keepdims=True)
        lse_set = np.log(np.exp(zs - zsm).sum(1)) + zsm[:, 0]
        loss = float(wn @ (lse_all - lse_set) + 0.5 * lam * (w**2).sum())
        g = (p - q) * wn[:, None]
        return loss, np.concatenate([((g.T @ xs + lam * w) * wm).ravel(), g.sum(0)])

    res = minimize(loss_grad, np.zeros(n_g * d + n_g), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": 1e-7, "ftol": 1e-12})  # fmt: skip
    weight, bias = res.x[: n_g * d].reshape(n_g, d) * wm, res.x[n_g * d :]
    return LinearHead(list(genres), mean, std, weight, bias)


def fit_temperature(logits: np.ndarray, sets: list[frozenset[str]], genres: list[str]) -> float:
    """The temperature minimising the set NLL of ``softmax(logits / T)`` (clips with a set
    that meets ``genres``); searched on a log grid, then refined."""
    mask = set_mask(sets, genres)
    keep = mask.sum(1) > 0
    z, m = torch.from_numpy(logits[keep].astype(np.float64)), torch.from_numpy(mask[keep].astype(np.float64))

    def nll(t: float) -> float:
        return float(set_nll(z / t, m).mean())

    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 61))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.06, 0.06, 25))
    return float(min(fine, key=nll))


def top1_correct(probs: np.ndarray, sets: list[frozenset[str]], genres: list[str]) -> np.ndarray:
    return np.array([genres[int(i)] in s for i, s in zip(probs.argmax(1), sets)])


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> tuple[list[float], list[float], list[int]]:
    """Equal-width confidence bins that hold clips: (mean confidence, accuracy, clips) per bin
    (a reliability diagram's points)."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    mids, accs, counts = [], [], []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            mids.append(float(confidence[sel].mean())), accs.append(float(correct[sel].mean())), counts.append(int(sel.sum()))
    return mids, accs, counts


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top-genre confidence (equal-width bins)."""
    mids, accs, counts = reliability_bins(confidence, correct, bins)
    return float(sum(n / len(confidence) * abs(m - a) for m, a, n in zip(mids, accs, counts)))


def precision_coverage(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every threshold t = a clip's confidence: (t, precision of clips >= t, coverage)."""
    order = np.argsort(-confidence, kind="stable")
    c, ok = confidence[order], correct[order].astype(np.float64)
    n = np.arange(1, len(c) + 1)
    return c, np.cumsum(ok) / n, n / len(c)


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target: float, min_support: int = 20) -> float:
    """Smallest threshold t whose written precision (clips with confidence >= t) is >=
    ``target``, among thresholds that write at least ``min_support`` clips; 1.0 if there
    is none. Rounded up to 0.01 (what a user types; rounding up writes fewer clips)."""
    t, prec, _ = precision_coverage(confidence, correct)
    good = np.nonzero(prec >= target)[0]
    good = good[good >= min_support - 1]
    if not len(good):
        return 1.0
    k = good[-1]
    return float(min(1.0, np.ceil(t[k] * 100 - 1e-9) / 100))
