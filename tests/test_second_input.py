"""A model with a second tagger (v5: mn04 at 32 kHz): metadata, load checks and the
Classifier, on a tiny two-input ONNX graph built here (no torch, seeded random numbers)."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from devtools.synth import write_audio
from genre_tagger.errors import ModelError
from genre_tagger.genres import GTZAN_GENRES, display_name
from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.mn_frontend import MnFrontendConfig
from genre_tagger.listen.model import Classifier, load_info
from genre_tagger.listen.modelmeta import InputSpec, MnInputSpec, ModelMeta, Vocabulary
from genre_tagger.listen.windows import WindowSpec

GENRES = list(GTZAN_GENRES)
MN_WINDOWS = WindowSpec(count=2, margin=0.1, length=4 * 32000, sample_rate=32000)


def _graph(fe: FrontendConfig, mfe: MnFrontendConfig) -> onnx.ModelProto:
    """probs = softmax(mean-spectrum(patches) @ A + mean-spectrum(mn_mels) @ B + b)."""
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (fe.n_mels, len(GENRES))).astype(np.float32), "A"),
        numpy_helper.from_array(rng.normal(0, 3.0, (mfe.n_mels, len(GENRES))).astype(np.float32), "B"),
        numpy_helper.from_array(np.zeros(len(GENRES), np.float32), "b"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["patches"], ["s1"], axes=[0, 1], keepdims=0),
        helper.make_node("ReduceMean", ["mn_mels"], ["s2"], axes=[0, 2], keepdims=0),
        helper.make_node("MatMul", ["s1", "A"], ["z1"]),
        helper.make_node("MatMul", ["s2", "B"], ["z2"]),
        helper.make_node("Add", ["z1", "z2"], ["z12"]),
        helper.make_node("Add", ["z12", "b"], ["z"]),
        helper.make_node("Softmax", ["z"], ["probs_gtzan"], axis=0),
    ]
    inputs = [
        helper.make_tensor_value_info("patches", TensorProto.FLOAT, ["n", fe.patch_frames, fe.n_mels]),
        helper.make_tensor_value_info("mn_mels", TensorProto.FLOAT, ["m", mfe.n_mels, "t"]),
    ]
    outputs = [helper.make_tensor_value_info("probs_gtzan", TensorProto.FLOAT, [len(GENRES)])]
    model = helper.make_model(helper.make_graph(nodes, "two", inputs, outputs, inits), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


@pytest.fixture()
def two_input_model(tmp_path):
    fe, mfe = FrontendConfig(), MnFrontendConfig()
    onnx_path = tmp_path / "two.onnx"
    onnx_path.write_bytes(_graph(fe, mfe).SerializeToString())
    meta = ModelMeta(
        name="two",
        version="1",
        onnx=onnx_path.name,
        sha256="",
        frontend=fe,
        windows=WindowSpec(count=2, length=fe.patch_samples, sample_rate=fe.sample_rate),
        input=InputSpec("patches", fe.patch_frames, fe.n_mels),
        vocabularies=[Vocabulary("gtzan", "probs_gtzan", GENRES, [display_name(g) for g in GENRES], min_confidence=0.2)],
        default_vocabulary="gtzan",
        mn_frontend=mfe,
        mn_windows=MN_WINDOWS,
        mn_input=MnInputSpec("mn_mels", mfe.n_mels, mfe.frames(MN_WINDOWS.length)),
    ).with_onnx(onnx_path)
    return meta.save(onnx_path)


def _edit(path, section, key, value):
    d = json.loads(path.read_text())
    d[section][key] = value
    path.write_text(json.dumps(d))


def test_round_trip_keeps_the_second_front_end(two_input_model):
    meta = load_info(two_input_model)
    assert meta.inputs == ["patches", "mn_mels"] and meta.mn_frontend == MnFrontendConfig() and meta.mn_windows == MN_WINDOWS
    assert ModelMeta.from_dict(json.loads(json.dumps(meta.to_dict())), meta.path) == meta
    assert json.loads(two_input_model.read_text())["mn_input"]["shape"] == ["m", 128, 400]


def test_a_model_without_a_second_input_has_no_such_keys(tiny_model_path):
    d = json.loads(tiny_model_path.read_text())
    assert not {"mn_frontend", "mn_windows", "mn_input"} & set(d) and load_info(tiny_model_path).mn_frontend is None


@pytest.mark.parametrize(("key", "value"), [("hop_length", 160), ("fmax", 16000.0), ("preemphasis", 0.0)])
def test_second_front_end_mismatch_is_refused(two_input_model, key, value):
    _edit(two_input_model, "mn_frontend", key, value)
    with pytest.raises(ModelError, match=f"front-end mismatch.*{key}"):
        load_info(two_input_model)


def test_second_windows_that_do_not_fit_are_refused(two_input_model):
    _edit(two_input_model, "mn_windows", "length", 5 * 32000)  # mn_input still says 400 frames
    with pytest.raises(ModelError, match="second input"):
        load_info(two_input_model)
    _edit(two_input_model, "mn_windows", "sample_rate", 16000)
    with pytest.raises(ModelError, match="sample_rate|Hz"):
        load_info(two_input_model)


def test_half_a_second_input_is_refused(two_input_model):
    d = json.loads(two_input_model.read_text())
    del d["mn_windows"]
    two_input_model.write_text(json.dumps(d))
    with pytest.raises(ModelError, match="together"):
        load_info(two_input_model)


def test_classifier_feeds_both_inputs_from_one_file(two_input_model, tmp_path):
    clf = Classifier(two_input_model, threads=1)
    f = write_audio(tmp_path / "t.flac", "flac", seconds=12.0, sr=44100, seed=3)
    tp = clf.patches_for_file(f)
    assert tp.patches.shape == (2, 187, 96) and tp.mn_mels.shape == (2, 128, 400)
    c = clf.classify_file(f)
    assert set(c.probs) == {"gtzan"} and abs(sum(c.probs["gtzan"].values()) - 1) < 1e-5
    other = clf.classify_patches(tp.patches, tp.duration, tp.mn_mels + 0.5)  # the second input matters
    assert max(abs(other.probs["gtzan"][g] - c.probs["gtzan"][g]) for g in GENRES) > 1e-3
    with pytest.raises(ValueError, match="second input"):
        clf.classify_patches(tp.patches)
