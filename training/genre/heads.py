"""Genre heads on top of the pretrained taggers.

Features per window are the taggers' 50 tag logits each (MSD, MTT) and their
penultimate embeddings. A head is one linear layer + softmax over the 10 genres,
optionally with a *mask*: in the ``evidence`` head, a genre that the taggers have tags
for (rock, pop, jazz, blues, hip-hop, country, metal from MSD; classical, country,
rock, pop, metal from MTT) may only look at those tag logits, so it keeps the taggers'
real-music knowledge; only genres without a tag (disco, reggae) learn from the
embeddings. Fewer GTZAN-fitted weights, better transfer to music outside GTZAN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genre_tagger.genres import GTZAN_GENRES, display_name

from .musicnn import MSD_LABELS, MTT_LABELS

GENRES = list(GTZAN_GENRES)
DISPLAY = {g: display_name(g) for g in GENRES}

TAG_NAMES = [f"msd:{t}" for t in MSD_LABELS] + [f"mtt:{t}" for t in MTT_LABELS]

# tag evidence per genre (names in TAG_NAMES); genres absent here learn from everything
EVIDENCE = {
    "blues": ["msd:blues"],
    "classical": ["mtt:classical", "mtt:classic"],
    "country": ["msd:country", "mtt:country"],
    "hiphop": ["msd:Hip-Hop"],
    "jazz": ["msd:jazz"],
    "metal": ["msd:metal", "msd:heavy metal", "mtt:metal"],
    "pop": ["msd:pop", "mtt:pop"],
    "rock": ["msd:rock", "mtt:rock", "msd:classic rock", "msd:hard rock"],
}

# the taggers' other genre-like tags, offered as a richer vocabulary (display names)
EXTRA_GENRES = {
    "msd:electronic": "Electronic", "msd:electronica": "Electronica", "msd:electro": "Electro",
    "msd:dance": "Dance", "msd:House": "House", "mtt:techno": "Techno", "msd:ambient": "Ambient",
    "mtt:new age": "New Age", "msd:folk": "Folk", "msd:punk": "Punk", "msd:soul": "Soul",
    "msd:rnb": "R&B", "msd:funk": "Funk", "msd:indie": "Indie", "msd:alternative": "Alternative",
    "msd:alternative rock": "Alternative Rock", "msd:indie rock": "Indie Rock", "msd:indie pop": "Indie Pop",
    "msd:classic rock": "Classic Rock", "msd:hard rock": "Hard Rock", "msd:heavy metal": "Heavy Metal",
    "msd:Progressive rock": "Progressive Rock", "msd:easy listening": "Easy Listening",
    "msd:chillout": "Chillout", "msd:experimental": "Experimental", "mtt:opera": "Opera",
    "mtt:choral": "Choral", "mtt:indian": "Indian", "msd:oldies": "Oldies",
}  # fmt: skip

FEATURE_SETS = {
    "tags": ["msd_logits", "mtt_logits"],
    "embeddings": ["msd_embedding", "mtt_embedding"],
    "all": ["msd_logits", "mtt_logits", "msd_embedding", "mtt_embedding"],
    "evidence": ["msd_logits", "mtt_logits", "msd_embedding", "mtt_embedding"],
    "tags-evidence": ["msd_logits", "mtt_logits", "msd_embedding", "mtt_embedding"],
    "msd-evidence": ["msd_logits", "msd_embedding"],  # one tagger: half the compute
}
DIMS = {"msd_logits": 50, "mtt_logits": 50, "msd_embedding": 200, "mtt_embedding": 200}


@dataclass(frozen=True)
class HeadConfig:
    kind: str = "evidence"  # a key of FEATURE_SETS: tags | embeddings | all | evidence | tags-evidence | msd-evidence
    optimizer: str = "lbfgs"  # lbfgs (convex fit to convergence) | adam (training loop)
    c: float = 1.0  # inverse L2 strength (lbfgs), as scikit-learn's C
    weight_decay: float = 1e-3  # adam
    lr: float = 1e-2
    epochs: int = 300
    patience: int = 30
    balanced: bool = True  # class-balanced loss (GTZAN-here is 100 blues/jazz vs ~16 others)
    seed: int = 0


def block_names(blocks) -> list[str]:
    """Feature names of the tagger blocks ``blocks`` (keys of :data:`DIMS`), in order:
    tag logits as in :data:`TAG_NAMES`, embedding dimensions as ``"<block>[i]"``."""
    names: list[str] = []
    for block in blocks:
        if block.endswith("_logits"):
            names += TAG_NAMES[:50] if block.startswith("msd") else TAG_NAMES[50:]
        else:
            names += [f"{block}[{i}]" for i in range(DIMS[block])]
    return names


def feature_names(kind: str) -> list[str]:
    return block_names(FEATURE_SETS[kind])


def build_mask(kind: str) -> np.ndarray:
    """``[10, n_features]`` 0/1 mask of which weights a head may use."""
    names = feature_names(kind)
    mask = np.ones((len(GENRES), len(names)), np.float32)
    if kind not in ("evidence", "tags-evidence", "msd-evidence"):
        return mask
    for gi, g in enumerate(GENRES):
        if any(n in names for n in EVIDENCE.get(g, [])):
            if kind in ("evidence", "msd-evidence"):  # only its own tags
                mask[gi] = [1.0 if n in EVIDENCE[g] else 0.0 for n in names]
            else:  # any tag logit, no embeddings
                mask[gi] = [1.0 if n in TAG_NAMES else 0.0 for n in names]
    return mask


class GenreHead(nn.Module):
    """Standardise features, masked linear layer -> genre logits."""

    def __init__(self, mask: np.ndarray, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mask", torch.from_numpy(mask.astype(np.float32)))
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("std", torch.from_numpy(std.astype(np.float32)))
        self.linear = nn.Linear(mask.shape[1], mask.shape[0])
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        z = (f - self.mean) / self.std
        return nn.functional.linear(z, self.linear.weight * self.mask, self.linear.bias)


def stack_features(arrays: dict[str, np.ndarray], kind: str) -> np.ndarray:
    """{block: [..., dim]} -> [..., n_features] in the order of ``feature_names``."""
    return np.concatenate([arrays[b] for b in FEATURE_SETS[kind]], axis=-1).astype(np.float32)


def fit_head_lbfgs(
    head: GenreHead,
    x: np.ndarray,
    y: np.ndarray,
    c: float = 1.0,
    class_weights: np.ndarray | None = None,
    max_iter: int = 500,
) -> dict:
    """Fit the (masked) multinomial logistic regression to convergence with L-BFGS.

    Objective: weighted mean cross-entropy + ||W||^2 / (2 C n), the same as
    scikit-learn's ``LogisticRegression(C=c)``, but with the head's mask. Convex, so
    the result is deterministic and needs no validation split.
    """
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    w = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
    n = len(yt)
    opt = torch.optim.LBFGS(head.linear.parameters(), lr=1.0, max_iter=max_iter, tolerance_grad=1e-6,
                            tolerance_change=1e-9, history_size=20, line_search_fn="strong_wolfe")  # fmt: skip
    loss_fn = nn.CrossEntropyLoss(weight=w, reduction="sum")
    weight_sum = float(w[yt].sum()) if w is not None else float(n)

    def closure():
        opt.zero_grad()
        loss = loss_fn(head(xt), yt) / weight_sum + (head.linear.weight * head.mask).pow(2).sum() / (2 * c * n)
        loss.backward()
        return loss

    head.train()
    final = float(opt.step(closure).detach())
    head.eval()
    with torch.no_grad():
        head.linear.weight.mul_(head.mask)
        acc = float((head(xt).argmax(1) == yt).float().mean())
    return {"loss": final, "train_acc": acc}
