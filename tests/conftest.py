import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
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

    from tiny import Tiny

    from genre_tagger.frontend import FrontendConfig
    from genre_tagger.windows import WindowSpec
    from training.genre.export import OUTPUT_NAMES, build_metadata, export_onnx

    d = tmp_path_factory.mktemp("tinymodel")
    fe = FrontendConfig()
    export_onnx(Tiny(sharpness=5.0).eval(), d / "tiny.onnx", fe.patch_frames, fe.n_mels, OUTPUT_NAMES)
    meta = build_metadata("tiny", d / "tiny.onnx", fe, WindowSpec(count=2), {"accuracy": {}})
    (d / "tiny.json").write_text(json.dumps(meta))
    return d / "tiny.json"
