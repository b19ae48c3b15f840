"""A tiny untrained network with the bundled model's interface (fast tests)."""

import torch
from torch import nn

from training.genre.heads import GENRES, TAG_NAMES


class Tiny(nn.Module):
    def __init__(self, sharpness: float = 1.0):
        super().__init__()
        torch.manual_seed(0)
        self.sharpness = sharpness
        self.conv = nn.Conv1d(96, 8, 5)
        self.genre = nn.Linear(8, len(GENRES))
        self.tags = nn.Linear(8, len(TAG_NAMES))

    def forward(self, x):
        h = torch.relu(self.conv(x.transpose(1, 2))).amax(2)
        return torch.softmax(self.genre(h) * self.sharpness, 1), torch.sigmoid(self.tags(h))
