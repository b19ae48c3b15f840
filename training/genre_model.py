"""The end-to-end network that is exported: patches -> (genre probabilities, tag probabilities)."""

from __future__ import annotations

import torch
from torch import nn

from .heads import FEATURE_SETS, GenreHead


class GenreTaggerNet(nn.Module):
    def __init__(self, msd: nn.Module, mtt: nn.Module, head: GenreHead, head_kind: str):
        super().__init__()
        self.msd, self.mtt, self.head = msd, mtt, head
        self.blocks = FEATURE_SETS[head_kind]

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.msd.forward_features(patches)
        b = self.mtt.forward_features(patches)
        parts = {"msd_logits": a.logits, "mtt_logits": b.logits, "msd_embedding": a.embedding, "mtt_embedding": b.embedding}
        feats = torch.cat([parts[k] for k in self.blocks], dim=1)
        genre = torch.softmax(self.head(feats), dim=1)
        tags = torch.sigmoid(torch.cat([a.logits, b.logits], dim=1))
        return genre, tags
