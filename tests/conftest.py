import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def musicnn_weights() -> Path:
    """The musicnn checkpoints, fetched from PyPI's musicnn wheel into .cache/ once."""
    from training.weights import musicnn_dir

    return musicnn_dir(ROOT / ".cache")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Journal, cache and settings of the app go to a temporary folder in every test."""
    d = tmp_path_factory.mktemp("appdata")
    monkeypatch.setenv("GENRE_TAGGER_DATA_DIR", str(d))
    return d


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A tiny untrained ONNX model with the bundled model's interface (fast scanner tests)."""
    import json

    import torch
    from torch import nn

    from genre_tagger.frontend import FrontendConfig
    from genre_tagger.windows import WindowSpec
    from training.export import OUTPUT_NAMES, build_metadata, export_onnx
    from training.heads import GENRES, TAG_NAMES

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = nn.Conv1d(96, 8, 5)
            self.genre = nn.Linear(8, len(GENRES))
            self.tags = nn.Linear(8, len(TAG_NAMES))

        def forward(self, x):
            h = torch.relu(self.conv(x.transpose(1, 2))).amax(2)
            return torch.softmax(self.genre(h) * 5, 1), torch.sigmoid(self.tags(h))

    d = tmp_path_factory.mktemp("tinymodel")
    fe = FrontendConfig()
    export_onnx(Tiny().eval(), d / "tiny.onnx", fe.patch_frames, fe.n_mels, OUTPUT_NAMES)
    meta = build_metadata("tiny", d / "tiny.onnx", fe, WindowSpec(count=2), {"accuracy": {}})
    (d / "tiny.json").write_text(json.dumps(meta))
    return d / "tiny.json"
