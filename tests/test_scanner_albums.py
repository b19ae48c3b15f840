"""Album decisions through the scan and the CLI: --group album|track, the report's album
fields, the summary, and rescans that re-decide an album from cached evidence.

The tracks' evidence is put into the classification cache beforehand (the tiny model
would give every generated file much the same genres), so each test says which track
sounds like what, and no file is ever decoded (``_classify`` fails the test if called)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clirun import run
from clirun import scan_args as _scan

from devtools.synth import write_audio
from genre_tagger.library import scanner
from genre_tagger.listen.model import Classification, load_info
from genre_tagger.tagstore.journal import Journal
from genre_tagger.tagstore.tags import read_tags

ALBUM_SETTINGS = {"pooling": "mean", "temperature": 1.0, "min_confidence": 0.55, "contradiction": {"own_min": 0.8, "album_max": 0.05}}


@pytest.fixture()
def album_model(tiny_model_path, tmp_path) -> Path:
    """The tiny model with album settings in its metadata (track threshold 0.3, album 0.55)."""
    d = json.loads(tiny_model_path.read_text())
    for v in d["vocabularies"]:
        v["album"] = ALBUM_SETTINGS
    out = tmp_path / "model" / "tiny.json"
    out.parent.mkdir()
    shutil.copy(tiny_model_path.with_suffix(".onnx"), out.with_suffix(".onnx"))
    out.write_text(json.dumps(d))
    return out


@pytest.fixture(scope="session")
def flac_template(tmp_path_factory) -> Path:
    return write_audio(tmp_path_factory.mktemp("a") / "t.flac", "flac", seconds=1.0)


def probs(meta, **p) -> Classification:
    """A Classification whose library genres have probabilities ``p`` (the rest share what is left)."""
    out = {}
    for v in meta.vocabularies:
        rest = [g for g in v.genres if g not in p]
        left = max(0.0, 1.0 - sum(p.get(g, 0.0) for g in v.genres))
        out[v.name] = {g: p.get(g, left / len(rest)) for g in v.genres}
    return Classification(out, {}, 1.0, 4)


def make(lib: Path, template: Path, rel: str, meta, evidence: dict, **tags) -> Path:
    """A FLAC file at ``lib/rel`` with ``tags`` and ``evidence`` cached as its classification."""
    from mutagen.flac import FLAC

    p = lib / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, p)
    f = FLAC(p)
    for k, v in tags.items():
        f[k] = v
    f.save()
    st = p.stat()
    j = Journal()
    j.cache_put(p, st.st_size, st.st_mtime_ns, meta.model_id, scanner.cache_entry(probs(meta, **evidence)))
    j.db.close()
    return p


@pytest.fixture()
def no_decoding(monkeypatch):
    def fail(path):
        raise AssertionError(f"{path} was decoded")

    monkeypatch.setattr(scanner, "_classify", fail)


@pytest.fixture()
def library(tmp_path, flac_template, album_model, no_decoding) -> Path:
    meta = load_info(album_model)
    lib = tmp_path / "Music"
    x = dict(artist="A", album="Album X", albumartist="A")
    make(lib, flac_template, "A/Album X/01 one.flac", meta, {"rock": 0.95}, tracknumber="1", **x)
    make(lib, flac_template, "A/Album X/02 two.flac", meta, {"rock": 0.9}, tracknumber="2", **x)
    make(lib, flac_template, "A/Album X/03 three.flac", meta, {"pop": 0.5, "rock": 0.45}, tracknumber="3", **x)  # alone: Pop
    make(lib, flac_template, "A/Album X/04 bonus.flac", meta, {"jazz": 0.96, "rock": 0.01}, tracknumber="4", **x)  # contradicts
    va = dict(album="Hits 99", albumartist="Various Artists")
    make(lib, flac_template, "Compilations/Hits 99/01.flac", meta, {"pop": 0.4, "rock": 0.35}, artist="B", tracknumber="1", **va)
    make(lib, flac_template, "Compilations/Hits 99/02.flac", meta, {"metal": 0.9}, artist="C", tracknumber="2", **va)
    make(lib, flac_template, "Downloads/01 x.flac", meta, {"disco": 0.5}, artist="D")
    make(lib, flac_template, "Downloads/02 y.flac", meta, {"rock": 0.9}, artist="E")
    make(lib, flac_template, "F/Live/01 a.flac", meta, {"blues": 0.8}, artist="F")
    make(lib, flac_template, "F/Live/02 b.flac", meta, {"blues": 0.4, "rock": 0.35}, artist="F")
    return lib


def scan(capsys, model, lib, tmp_path, *extra):
    report = tmp_path / "r.json"
    code, out, err = run(_scan(model, "--scan", str(lib), "--json", str(report), *extra), capsys)
    assert code == 0, err
    return {Path(r["path"]).relative_to(lib).as_posix(): r for r in json.loads(report.read_text())}, out


def test_album_decides_and_writes_the_albums_genre(library, album_model, capsys, tmp_path):
    recs, out = scan(capsys, album_model, library, tmp_path)
    x = [recs[f"A/Album X/0{i}"] for i in ("1 one.flac", "2 two.flac", "3 three.flac")]
    for r in x:  # mean rock (.95 + .9 + .45 + .01) / 4 = .5775 >= .55
        assert r["decided_by"] == "album" and r["album_key"] == "A — Album X" and r["album_tracks"] == 4
        assert r["album_genres"] == ["Rock"] and r["album_confidence"] == pytest.approx(0.5775, abs=1e-3)
        assert r["status"] == "tagged" and r["genres"] == ["Rock"] and read_tags(r["path"]).genres == ["Rock"]
    assert x[2]["top"][0][0] == "Pop"  # the track's own evidence is still reported
    assert x[2]["album_top"][0] == ["Rock", x[2]["album_confidence"]]
    bonus = recs["A/Album X/04 bonus.flac"]
    assert bonus["decided_by"] == "own-contradicts" and bonus["genres"] == ["Jazz"] and bonus["album_genres"] == ["Rock"]
    for rel, genre in (("Compilations/Hits 99/01.flac", "Pop"), ("Downloads/01 x.flac", "Disco"), ("Downloads/02 y.flac", "Rock")):
        r = recs[rel]
        assert r["decided_by"] == "track" and r["album_key"] is None and r["genres"] == [genre], rel
    live = [recs["F/Live/01 a.flac"], recs["F/Live/02 b.flac"]]  # untagged, numbered, one artist: one album
    assert {r["album_key"] for r in live} == {"F — Live"} and all(r["genres"] == ["Blues"] for r in live)
    assert live[1]["decided_by"] == "album"  # mean blues .6 >= .55
    assert "albums: 2 (6 tracks, 5 take the album's genre, 1 keeps its own); 4 decided alone" in out
    assert "01 one.flac: (none) -> Rock (58%)" in out  # the album's probability


def test_group_track_is_todays_behaviour(library, album_model, capsys, tmp_path):
    recs, out = scan(capsys, album_model, library, tmp_path, "--group", "track", "--dry-run")
    r = recs["A/Album X/03 three.flac"]
    assert r["status"] == "would-tag" and r["genres"] == ["Pop"]  # its own best genre, over the track threshold .3
    assert all(r["decided_by"] is None and r["album_key"] is None and r["album_genres"] == [] for r in recs.values())
    assert "albums:" not in out


def test_user_threshold_applies_to_albums_too(library, album_model, capsys, tmp_path):
    recs, _ = scan(capsys, album_model, library, tmp_path, "--min-confidence", "0.6", "--dry-run")
    r = recs["A/Album X/03 three.flac"]
    assert r["decided_by"] == "album" and r["status"] == "skipped-low-confidence" and r["album_genres"] == []


def test_csv_report_has_the_album_columns(library, album_model, capsys, tmp_path):
    report = tmp_path / "r.csv"
    code, _, err = run(_scan(album_model, "--scan", str(library), "--dry-run", "--csv", str(report)), capsys)
    assert code == 0, err
    import csv

    rows = list(csv.DictReader(report.open()))
    row = next(r for r in rows if r["path"].endswith("03 three.flac"))
    assert (row["album_key"], row["album_tracks"], row["album_genres"], row["decided_by"]) == ("A — Album X", "4", "Rock", "album")
    assert float(row["album_confidence"]) == pytest.approx(0.5775, abs=1e-3)


def test_a_new_track_re_decides_its_album_from_cached_evidence(library, album_model, flac_template, capsys, tmp_path):
    recs, _ = scan(capsys, album_model, library, tmp_path, "--dry-run")
    assert recs["A/Album X/03 three.flac"]["album_confidence"] == pytest.approx(0.5775, abs=1e-3)
    meta = load_info(album_model)
    make(library, flac_template, "A/Album X/05 new.flac", meta, {"pop": 0.9, "rock": 0.06}, artist="A", album="Album X",
         albumartist="A", tracknumber="5")  # fmt: skip
    recs, _ = scan(capsys, album_model, library, tmp_path, "--dry-run")  # _classify fails the test if anything is decoded
    for rel in ("01 one.flac", "03 three.flac", "05 new.flac"):
        r = recs[f"A/Album X/{rel}"]
        assert r["cached"] and r["album_tracks"] == 5
        assert r["album_confidence"] == pytest.approx((0.95 + 0.9 + 0.45 + 0.01 + 0.06) / 5, abs=1e-3)  # .474: now unsure
        assert r["album_genres"] == [] and r["status"] == "skipped-low-confidence"


def test_a_cancelled_scan_still_reports_held_tracks(library, album_model):
    """Tracks waiting for their album are decided and reported when the scan stops early."""
    from genre_tagger.library.policy import WritePolicy

    s = scanner.Scanner(scanner.ScanOptions(policy=WritePolicy(dry_run=True), model=album_model, workers=1))
    seen = []
    for r in s.scan([library]):
        seen.append(r)
        if len(seen) == 1:
            s.cancel()
    assert seen and all(r.decided_by for r in seen)


def test_one_new_file_scanned_alone_is_decided_with_its_albums_cached_tracks(library, album_model, flac_template, capsys, tmp_path):
    recs, _ = scan(capsys, album_model, library, tmp_path, "--dry-run")  # the album's tracks are known (cached)
    new = make(library, flac_template, "A/Album X/05 new.flac", load_info(album_model), {"pop": 0.5, "rock": 0.45},
               artist="A", album="Album X", albumartist="A", tracknumber="5")  # fmt: skip
    report = tmp_path / "one.json"
    code, out, err = run(_scan(album_model, str(new), "--json", str(report)), capsys)
    assert code == 0, err
    (r,) = json.loads(report.read_text())  # only the file asked for is reported, and only it is written
    assert r["album_tracks"] == 5 and r["decided_by"] == "album" and r["genres"] == ["Rock"]
    assert r["album_confidence"] == pytest.approx((0.95 + 0.9 + 0.45 + 0.01 + 0.45) / 5, abs=1e-3)
    assert read_tags(new).genres == ["Rock"] and read_tags(library / "A/Album X/01 one.flac").genres == []


def test_a_rip_without_tags_is_decided_as_its_folders_album(tmp_path, flac_template, album_model, no_decoding, capsys):
    meta = load_info(album_model)
    lib = tmp_path / "Music"
    for n, ev in ((1, {"jazz": 0.7}), (2, {"jazz": 0.6}), (3, {"blues": 0.5, "jazz": 0.4})):
        make(lib, flac_template, f"Rips/Some CD/{n:02d} Track {n}.flac", meta, ev)  # no tags at all
    make(lib, flac_template, "Rips/Loose/01 a.flac", meta, {"jazz": 0.7})  # 01, 03: a gap, decided alone
    make(lib, flac_template, "Rips/Loose/03 c.flac", meta, {"blues": 0.5, "jazz": 0.4})
    recs, out = scan(capsys, album_model, lib, tmp_path, "--dry-run")
    rip = [recs[f"Rips/Some CD/{n:02d} Track {n}.flac"] for n in (1, 2, 3)]
    assert {r["album_key"] for r in rip} == {"Some CD"} and all(r["decided_by"] == "album" for r in rip)
    assert all(r["genres"] == ["Jazz"] for r in rip)  # the third's own best is Blues; its album's is Jazz
    loose = recs["Rips/Loose/03 c.flac"]
    assert loose["decided_by"] == "track" and loose["album_key"] is None and loose["genres"] == ["Blues"]
