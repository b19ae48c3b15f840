"""Export a tiny model to ONNX; the app's loader checks and runs it."""

import json

import numpy as np
import pytest
from tiny import Tiny

from genre_tagger.errors import ModelError
from genre_tagger.frontend import FrontendConfig
from genre_tagger.model import Classifier, load_info
from genre_tagger.synth import write_audio
from genre_tagger.windows import WindowSpec
from training.genre.export import OUTPUT_NAMES, build_metadata, export_onnx, max_abs_diff
from training.genre.heads import TAG_NAMES


@pytest.fixture()
def tiny_model(tmp_path):
    fe = FrontendConfig()
    model = Tiny().eval()
    onnx_path = tmp_path / "tiny.onnx"
    export_onnx(model, onnx_path, fe.patch_frames, fe.n_mels, OUTPUT_NAMES)
    meta = build_metadata("tiny", onnx_path, fe, WindowSpec(count=3), {"accuracy": {}})
    (tmp_path / "tiny.json").write_text(json.dumps(meta))
    return model, tmp_path / "tiny.json"


def test_onnx_matches_pytorch(tiny_model):
    model, meta = tiny_model
    x = np.random.default_rng(1).uniform(0, 4, (5, 187, 96)).astype(np.float32)
    assert max_abs_diff(model, meta.with_suffix(".onnx"), x) < 1e-5


def test_classifier_runs_the_app_path(tiny_model, tmp_path):
    _, meta = tiny_model
    clf = Classifier(meta, threads=1)
    wav = write_audio(tmp_path / "a.wav", "wav", seconds=8.0)
    pred = clf.classify_file(wav)
    assert pred.windows == 3
    assert [g for g, _ in pred.genres] != [] and abs(sum(p for _, p in pred.genres) - 1) < 1e-4
    assert pred.genres[0][1] >= pred.genres[-1][1]
    assert len(pred.tags) == len(TAG_NAMES)


def test_metadata_refuses_a_mismatched_frontend(tiny_model):
    _, meta = tiny_model
    d = json.loads(meta.read_text())
    d["frontend"]["n_mels"] = 128
    meta.write_text(json.dumps(d))
    with pytest.raises(ModelError, match="front-end mismatch.*n_mels"):
        load_info(meta)


def test_metadata_refuses_a_changed_onnx(tiny_model):
    _, meta = tiny_model
    onnx = meta.with_suffix(".onnx")
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="sha256"):
        load_info(meta)


def test_missing_metadata_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_info(tmp_path / "nope.json")
