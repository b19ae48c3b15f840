"""ModelMeta (the one metadata type) and the Classifier on the tiny format-2 model."""

import json
import shutil

import pytest

from devtools.synth import write_audio
from genre_tagger.errors import ModelError
from genre_tagger.listen.model import Classification, Classifier, load_info
from genre_tagger.listen.modelmeta import ModelMeta


@pytest.fixture()
def model_copy(tiny_model_path, tmp_path):
    for ext in (".json", ".onnx"):
        shutil.copy(tiny_model_path.with_suffix(ext), tmp_path / f"tiny{ext}")
    return tmp_path / "tiny.json"


def _edit(path, **changes):
    d = json.loads(path.read_text())
    for k, v in changes.items():
        obj = d
        *parents, last = k.split("__")
        for p in parents:
            obj = obj[int(p)] if isinstance(obj, list) else obj[p]
        obj[last] = v
    path.write_text(json.dumps(d))


def test_round_trip(tiny_model_path, tmp_path):
    meta = ModelMeta.load(tiny_model_path)
    assert meta.format == 2 and meta.vocabulary_names == ["library", "gtzan"] and meta.default_vocabulary == "library"
    again = ModelMeta.from_dict(json.loads(json.dumps(meta.to_dict())), meta.path)
    assert again == meta
    out = again.save(tmp_path / "x.json")
    assert json.loads(out.read_text()) == json.loads(tiny_model_path.read_text())


def test_the_committed_tiny_model_is_what_its_script_makes(tiny_model_path, tmp_path):
    from make_tiny_model import write

    fresh = write(tmp_path)
    assert fresh.with_suffix(".onnx").read_bytes() == tiny_model_path.with_suffix(".onnx").read_bytes()
    assert fresh.read_text() == tiny_model_path.read_text()


@pytest.mark.parametrize("fmt", [1, 3, None])
def test_other_formats_are_refused_naming_the_file(model_copy, fmt):
    _edit(model_copy, format=fmt)
    with pytest.raises(ModelError, match="format .* not supported") as e:
        load_info(model_copy)
    assert e.value.path == model_copy


def test_mismatched_frontend_is_refused(model_copy):
    _edit(model_copy, frontend__n_mels=128)
    with pytest.raises(ModelError, match="front-end mismatch.*n_mels"):
        load_info(model_copy)


def test_windows_that_do_not_fit_the_frontend_are_refused(model_copy):
    _edit(model_copy, windows__length=48000)
    with pytest.raises(ModelError, match="windows .* do not fit the front-end"):
        load_info(model_copy)


def test_unknown_default_vocabulary_is_refused(model_copy):
    _edit(model_copy, default_vocabulary="jazzy")
    with pytest.raises(ModelError, match="default vocabulary 'jazzy'"):
        load_info(model_copy)


def test_changed_onnx_is_refused(model_copy):
    onnx = model_copy.with_suffix(".onnx")
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="sha256"):
        load_info(model_copy)


def test_missing_metadata_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_info(tmp_path / "nope.json")


def test_graph_without_the_named_output_is_refused(model_copy):
    _edit(model_copy, vocabularies__0__output="probs_nope")
    with pytest.raises(ModelError, match="missing outputs \\['probs_nope'\\]"):
        Classifier(model_copy)


def test_vocabulary_choice(tiny_model_path):
    meta = load_info(tiny_model_path)
    assert meta.vocabulary().name == "library" and meta.vocabulary("gtzan").min_confidence == 0.2
    assert meta.vocabulary("library").display_name("rnb") == "R&B"
    with pytest.raises(ValueError, match="unknown vocabulary 'x' .*library, gtzan"):
        meta.vocabulary("x")
    # a setting saved for another model falls back to this model's default
    assert meta.vocabulary_or_default("x").name == "library" and meta.vocabulary_or_default(None).name == "library"
    assert meta.vocabulary_or_default("gtzan").name == "gtzan"


def test_classifier_gives_every_vocabulary(tiny_model_path, tmp_path):
    clf = Classifier(tiny_model_path, threads=1)
    c = clf.classify_file(write_audio(tmp_path / "a.flac", "flac", seconds=8.0))
    assert set(c.probs) == {"library", "gtzan"} and c.windows == 2 and c.duration == pytest.approx(8.0)
    for v in clf.meta.vocabularies:
        ranked = c.ranked(v.name)
        assert [g for g, _ in sorted(ranked)] == sorted(v.genres)
        assert sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-5)
        assert ranked[0][1] >= ranked[-1][1]
    assert Classification.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert [n for n, _ in c.ranked_tags(clf.meta.tag_display)] and all(
        n in clf.meta.tag_display.values() for n, _ in c.ranked_tags(clf.meta.tag_display)
    )


def test_cache_entries_hold_every_vocabulary(tiny_model_path, tmp_path):
    import pickle

    from genre_tagger.library.scanner import cache_entry, from_cache_entry, summarise

    clf = Classifier(tiny_model_path, threads=1)
    c = clf.classify_file(write_audio(tmp_path / "a.ogg", "ogg", seconds=5.0))
    assert pickle.loads(pickle.dumps(c)) == c  # crosses process boundaries (scanner workers)
    back = from_cache_entry(json.loads(json.dumps(cache_entry(c))), clf.meta)
    assert back is not None and set(back.probs) == {"library", "gtzan"}
    for v in clf.meta.vocabularies:  # the same view from the cached row as from the fresh result
        top_fresh, _ = summarise(c, clf.meta, v.name)
        top_cached, _ = summarise(back, clf.meta, v.name)
        assert [g for g, _ in top_fresh] == [g for g, _ in top_cached]
        assert max(abs(a - b) for (_, a), (_, b) in zip(top_fresh, top_cached)) < 1e-6
    stale = cache_entry(c)
    del stale["probs"]["gtzan"]  # a row written by a model without that vocabulary: classify again
    assert from_cache_entry(stale, clf.meta) is None
    assert from_cache_entry({"genres": {}, "duration": 1.0}, clf.meta) is None  # the old format
