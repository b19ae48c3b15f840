"""Export a tiny PyTorch model to ONNX (format 2); the app's loader checks and runs it."""

import numpy as np
import pytest
from tiny import Tiny

from devtools.synth import write_audio
from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.model import Classifier
from genre_tagger.listen.modelmeta import ModelMeta
from genre_tagger.listen.windows import WindowSpec
from training.genre.export import OUTPUT_NAMES, build_metadata, export_onnx, max_abs_diff
from training.genre.heads import TAG_NAMES


@pytest.fixture()
def tiny_model(tmp_path):
    fe = FrontendConfig()
    model = Tiny().eval()
    onnx_path = tmp_path / "tiny.onnx"
    export_onnx(model, onnx_path, fe.patch_frames, fe.n_mels, OUTPUT_NAMES)
    meta = build_metadata("tiny", onnx_path, fe, WindowSpec(count=3), {"accuracy": {}})
    return model, meta.save(tmp_path / "tiny.json")


def test_onnx_matches_pytorch(tiny_model):
    model, meta = tiny_model
    x = np.random.default_rng(1).uniform(0, 4, (5, 187, 96)).astype(np.float32)
    assert max_abs_diff(model, meta.with_suffix(".onnx"), x) < 1e-5


def test_exported_model_runs_the_app_path(tiny_model, tmp_path):
    _, meta = tiny_model
    assert ModelMeta.load(meta).format == 2
    clf = Classifier(meta, threads=1)
    wav = write_audio(tmp_path / "a.wav", "wav", seconds=8.0)
    c = clf.classify_file(wav)
    assert c.windows == 3
    ranked = c.ranked("gtzan")
    assert len(ranked) == 10 and abs(sum(p for _, p in ranked) - 1) < 1e-4
    assert len(c.tags) == len(TAG_NAMES)
