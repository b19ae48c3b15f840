"""Classification metrics and the confusion-matrix plot (no scikit-learn needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), int)
    for t, p in zip(y_true, y_pred):
        m[int(t), int(p)] += 1
    return m


def classification_report(y_true, y_pred, labels: list[str]) -> dict:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = confusion(y_true, y_pred, len(labels))
    support = cm.sum(1)
    recall = np.divide(np.diag(cm), support, out=np.zeros(len(labels)), where=support > 0)
    present = support > 0
    return {
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "per_class_recall": {lab: round(float(r), 4) for lab, r, s in zip(labels, recall, support) if s > 0},
        "support": {lab: int(s) for lab, s in zip(labels, support)},
        "confusion": cm.tolist(),
        "labels": labels,
    }


def plot_confusion(cm: np.ndarray, labels: list[str], path: str | Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(6.5, 5.5), dpi=100)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
