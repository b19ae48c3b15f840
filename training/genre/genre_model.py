"""The end-to-end network that is exported: patches -> (genre probabilities, tag probabilities)."""

from __future__ import annotations

import torch
from torch import nn

from .heads import FEATURE_SETS, GenreHead


def uses_mtt(head_kind: str) -> bool:
    return any(b.startswith("mtt") for b in FEATURE_SETS[head_kind])


class GenreTaggerNet(nn.Module):
    """MSD_musicnn (+ MTT_musicnn when the head uses it) -> genre head; tag probabilities
    of the taggers that run are the second output."""

    def __init__(self, msd: nn.Module, mtt: nn.Module | None, head: GenreHead, head_kind: str):
        super().__init__()
        self.msd, self.mtt, self.head = msd, mtt, head
        self.blocks = FEATURE_SETS[head_kind]

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.msd.forward_features(patches)
        parts = {"msd_logits": a.logits, "msd_embedding": a.embedding}
        logits = [a.logits]
        if self.mtt is not None:
            b = self.mtt.forward_features(patches)
            parts.update(mtt_logits=b.logits, mtt_embedding=b.embedding)
            logits.append(b.logits)
        feats = torch.cat([parts[k] for k in self.blocks], dim=1)
        genre = torch.softmax(self.head(feats), dim=1)
        tags = torch.sigmoid(torch.cat(logits, dim=1))
        return genre, tags
