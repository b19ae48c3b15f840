"""Vocabulary choice, the default threshold from the metadata, and --max-genres (tiny model)."""

import json
import shutil

import pytest

from devtools.synth import write_audio
from genre_tagger import cli
from genre_tagger.library.policy import KEPT, LOW_CONFIDENCE, TAGGED, WOULD_TAG, WritePolicy, decide
from genre_tagger.listen.model import load_info

TOP = [("Jazz", 0.50), ("Blues", 0.35), ("Soul", 0.10), ("Rock", 0.05)]


@pytest.mark.parametrize(
    ("threshold", "max_genres", "want"),
    [
        (0.3, 3, ["Jazz", "Blues"]),  # a third genre below the threshold is never added
        (0.3, 1, ["Jazz"]),
        (0.4, 2, ["Jazz"]),  # a second genre below the threshold is never added
        (0.0, 3, ["Jazz", "Blues", "Soul"]),  # the user asked for no threshold
    ],
)
def test_max_genres_never_adds_a_genre_below_the_threshold(threshold, max_genres, want):
    status, genres = decide(TOP, [], WritePolicy(min_confidence=threshold, max_genres=max_genres))
    assert (status, genres) == (TAGGED, want)


def test_below_the_threshold_nothing_is_written():
    assert decide(TOP, [], WritePolicy(min_confidence=0.6, max_genres=3)) == (LOW_CONFIDENCE, [])
    assert decide(TOP, ["Polka"], WritePolicy(min_confidence=0.6)) == (KEPT, [])  # kept, sure or not (was low-confidence)
    assert decide(TOP, ["Rock"], WritePolicy(min_confidence=0.3))[0] == KEPT


def test_default_threshold_comes_from_the_vocabulary_unless_given():
    assert WritePolicy().with_default_threshold(0.42).min_confidence == 0.42
    assert WritePolicy(min_confidence=0.1).with_default_threshold(0.42).min_confidence == 0.1
    assert WritePolicy(min_confidence=0.0).with_default_threshold(0.42).min_confidence == 0.0


# -- through the CLI ------------------------------------------------------------------


@pytest.fixture()
def song(tmp_path):
    d = tmp_path / "Music"
    d.mkdir()
    write_audio(d / "song.flac", "flac", seconds=6.0, seed=1)
    return d


def _scan(model, *args, capsys):
    code = cli.main(["--model", str(model), "--workers", "1", "--dry-run", "--json", "-", "-q", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_vocabulary_choice_and_no_reclassification(song, tiny_model_path, capsys):
    meta = load_info(tiny_model_path)
    code, recs, err = _scan(tiny_model_path, "--scan", str(song), "--min-confidence", "0", capsys=capsys)
    assert code == 0, err
    (lib,) = recs
    assert [g for g, _ in lib["top"]] and {g for g, _ in lib["top"]} == set(meta.vocabulary("library").display)
    code, recs, err = _scan(tiny_model_path, "--scan", str(song), "--vocabulary", "gtzan", "--min-confidence", "0", capsys=capsys)
    assert code == 0, err
    (gtz,) = recs
    assert {g for g, _ in gtz["top"]} == set(meta.vocabulary("gtzan").display)
    assert gtz["cached"] is True  # the cache holds every vocabulary: switching needs no decoding
    assert gtz["genres"] == [gtz["top"][0][0]]


def test_unknown_vocabulary_is_a_usage_error(song, tiny_model_path, capsys):
    code, _, err = _scan(tiny_model_path, "--scan", str(song), "--vocabulary", "klingon", capsys=capsys)
    assert code == 2 and "unknown vocabulary 'klingon'" in err and "library, gtzan" in err


@pytest.fixture()
def strict_model(tiny_model_path, tmp_path):
    """The tiny model with a library threshold no genre reaches."""
    d = tmp_path / "strict"
    d.mkdir()
    shutil.copy(tiny_model_path.with_suffix(".onnx"), d / "tiny.onnx")
    meta = json.loads(tiny_model_path.read_text())
    meta["vocabularies"][0]["min_confidence"] = 0.999
    (d / "tiny.json").write_text(json.dumps(meta))
    return d / "tiny.json"


def test_default_min_confidence_is_the_vocabularys(song, strict_model, capsys):
    code, (rec,), err = _scan(strict_model, "--scan", str(song), capsys=capsys)
    assert code == 0 and rec["status"] == LOW_CONFIDENCE and rec["genres"] == [], err
    code, (rec,), err = _scan(strict_model, "--scan", str(song), "--min-confidence", "0.01", capsys=capsys)
    assert rec["status"] == WOULD_TAG and rec["genres"], err  # the user's value overrides it
    code, (rec,), err = _scan(strict_model, "--scan", str(song), "--vocabulary", "gtzan", capsys=capsys)
    top = rec["top"][0][1]
    assert rec["status"] == (WOULD_TAG if top >= 0.2 else LOW_CONFIDENCE)  # gtzan's own threshold (0.2)


def test_genre_mapping_one_parser_strict_for_map_lenient_for_settings_lines():
    from genre_tagger.library.policy import parse_mapping

    assert parse_mapping(["Hip-Hop=Rap", " Classical = Klassik ", "R&B=Soul=ish"]) == {
        "hip-hop": "Rap", "classical": "Klassik", "r&b": "Soul=ish"}  # fmt: skip
    for bad in ["Rock", "=Rap", "Rock=", "  "]:
        with pytest.raises(ValueError, match="NAME=NEW"):
            parse_mapping([bad])
    lines = ["Hip-Hop=Rap", "", "Rock", "=x", "jazz = Smooth"]  # as typed into the settings dialog
    assert parse_mapping(lines, strict=False) == {"hip-hop": "Rap", "jazz": "Smooth"}


def test_a_malformed_map_option_is_a_usage_error(tmp_path, tiny_model_path, capsys):
    d = tmp_path / "Music"
    d.mkdir()
    write_audio(d / "a.wav", "wav", seconds=4.0)
    code = cli.main(["--model", str(tiny_model_path), "--workers", "1", "--map", "Hip-Hop", "--dry-run", str(d)])
    assert code == cli.EXIT_USAGE and "'Hip-Hop' is not NAME=NEW" in capsys.readouterr().err
