import os
from pathlib import Path

import pytest

# the repository root is on sys.path through pyproject's pythonpath, tests/ as this conftest's folder
ROOT = Path(__file__).resolve().parents[1]
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


@pytest.fixture
def no_shift(monkeypatch):
    """The write path as on a file system that cannot move blocks (anything but ext4): a tag
    that must grow at the start of a file means a new file (inherited by subprocesses)."""
    monkeypatch.setenv("GENRE_TAGGER_SHIFT", "off")


TINY_MODEL = ROOT / "tests" / "data" / "tiny.json"


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    """The tiny committed format-2 test model (two vocabularies; no torch needed; see
    tests/make_tiny_model.py)."""
    return TINY_MODEL
