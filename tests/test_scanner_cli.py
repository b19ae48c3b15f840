"""The headless scan end to end (tiny ONNX model): policies, journal and undo, cache,
playlists, JSON schema, bad-input corpus, exit codes."""

import json
import os
import shutil
from pathlib import Path

import pytest
from clirun import run
from clirun import scan_args as _scan

from devtools.synth import EXTENSION, FORMATS, write_audio
from genre_tagger import cli
from genre_tagger.listen.model import load_info
from genre_tagger.tagstore.payload import payload_digest
from genre_tagger.tagstore.tags import read_tags
from genre_tagger.tagstore.write import write_genres


@pytest.fixture(scope="session")
def library_template(tmp_path_factory):
    """Every format encoded once per test session (encoding 9 formats takes ~1 s)."""
    lib = tmp_path_factory.mktemp("template") / "Music"
    for i, fmt in enumerate(FORMATS):
        d = lib / f"Artist {i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        write_audio(d / f"{i:02d} {fmt}.{EXTENSION.get(fmt, fmt)}", fmt, seconds=4.0, seed=i)
    (lib / ".hidden").mkdir()
    write_audio(lib / ".hidden" / "secret.wav", "wav", seconds=4.0)
    (lib / "notes.txt").write_text("not music")
    return lib


@pytest.fixture()
def library(library_template, tmp_path):
    """A fresh copy of the template library for each test (a copy takes milliseconds)."""
    return Path(shutil.copytree(library_template, tmp_path / "Music"))




def test_scan_tags_every_format_and_undo_restores(library, tiny_model_path, capsys, tmp_path):
    files = sorted(p for p in library.rglob("*") if p.is_file() and ".hidden" not in p.parts and p.suffix != ".txt")
    digests = {p: payload_digest(p) for p in files}
    report = tmp_path / "r.json"
    code, out, err = run(_scan(tiny_model_path, "--scan", str(library), "--json", str(report), "-q"), capsys)
    assert code == 0, err
    records = json.loads(report.read_text())
    assert len(records) == len(FORMATS)  # hidden folder and .txt skipped
    for r in records:
        assert set(r) >= {"path", "status", "genres", "top", "previous", "error"}
        assert r["status"] == "tagged" and len(r["genres"]) == 1 and r["previous"] == []
        assert r["genres"][0] == r["top"][0][0]
        assert len(r["top"]) == len(load_info(tiny_model_path).vocabulary().genres) and r["top"] == sorted(r["top"], key=lambda x: -x[1])
        assert read_tags(r["path"]).genres == r["genres"]
    assert all(payload_digest(p) == d for p, d in digests.items())

    code, out, _ = run(["--history"], capsys)
    assert "scan" in out
    code, out, err = run(["--undo"], capsys)
    assert code == 0, err
    assert all(read_tags(p).genres == [] for p in files)
    code, _, err = run(["--undo"], capsys)
    assert code == 2 and "nothing to undo" in err


def test_default_keeps_existing_overwrite_replaces(library, tiny_model_path, capsys, tmp_path):
    f = next(library.rglob("*.flac"))
    write_genres(f, ["Polka"])
    report = tmp_path / "r.json"
    run(_scan(tiny_model_path, str(f), "--json", str(report)), capsys)
    (rec,) = json.loads(report.read_text())
    assert rec["status"] == "kept" and read_tags(f).genres == ["Polka"]
    run(_scan(tiny_model_path, str(f), "--overwrite", "--json", str(report)), capsys)
    (rec,) = json.loads(report.read_text())
    assert rec["status"] == "tagged" and rec["previous"] == ["Polka"] and read_tags(f).genres != ["Polka"]
    run(_scan(tiny_model_path, str(f), "--overwrite", "--json", str(report)), capsys)
    assert json.loads(report.read_text())[0]["status"] == "unchanged"


def test_dry_run_writes_nothing_and_shows_old_new(library, tiny_model_path, capsys):
    before = {p: p.read_bytes() for p in library.rglob("*") if p.is_file()}
    code, out, _ = run(_scan(tiny_model_path, "--dry-run", str(library)), capsys)
    assert code == 0 and "would tag" in out and "(none) ->" in out
    assert {p: p.read_bytes() for p in library.rglob("*") if p.is_file()} == before


def test_min_confidence_max_genres_and_mapping(library, tiny_model_path, capsys):
    f = next(library.rglob("*.ogg"))
    code, out, _ = run(_scan(tiny_model_path, str(f), "--min-confidence", "1.0", "--json", "-", "-q"), capsys)
    assert json.loads(out)[0]["status"] == "skipped-low-confidence"
    code, out, _ = run(_scan(tiny_model_path, str(f), "--max-genres", "3", "--json", "-", "-q"), capsys)
    rec = json.loads(out)[0]
    threshold = load_info(tiny_model_path).vocabulary().min_confidence  # the default --min-confidence
    assert rec["genres"] == [g for g, p in rec["top"][:3] if p >= threshold] and rec["top"][1][1] < threshold
    top = rec["top"][0][0]
    f2 = next(library.rglob("*.wav"))
    code, out, _ = run(_scan(tiny_model_path, str(f2), "--map", "Hip-Hop=Rap", "--map", f"{top}=Mine", "--json", "-", "-q"), capsys)
    names = [g for g, _ in json.loads(out)[0]["top"]]
    assert "Rap" in names and "Hip-Hop" not in names and "Mine" in names


def test_rescan_uses_cache(library, tiny_model_path, capsys, monkeypatch):
    run(_scan(tiny_model_path, "--dry-run", str(library), "-q"), capsys)
    import genre_tagger.library.scanner as scanner_mod

    def fail(*a, **k):
        raise AssertionError("classified again")

    monkeypatch.setattr(scanner_mod, "_classify", fail)
    code, out, _ = run(_scan(tiny_model_path, "--dry-run", str(library), "--json", "-", "-q"), capsys)
    assert code == 0 and all(r["cached"] for r in json.loads(out))


def test_cache_survives_our_own_write(library, tiny_model_path, capsys, monkeypatch):
    run(_scan(tiny_model_path, str(library), "-q"), capsys)  # writes tags: size/mtime change
    import genre_tagger.library.scanner as scanner_mod

    monkeypatch.setattr(scanner_mod, "_classify", lambda *a: (_ for _ in ()).throw(AssertionError("reclassified")))
    code, out, _ = run(_scan(tiny_model_path, str(library), "--json", "-", "-q"), capsys)
    assert {r["status"] for r in json.loads(out)} == {"kept"}


def test_playlists(library, tiny_model_path, capsys, tmp_path):
    pl = tmp_path / "lists"
    run(_scan(tiny_model_path, str(library), "--playlists", str(pl), "-q"), capsys)
    lists = sorted(pl.glob("*.m3u8"))
    assert lists
    entries = 0
    for p in lists:
        lines = p.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "#EXTM3U"
        for info, target in zip(lines[2::2], lines[3::2]):
            assert info.startswith("#EXTINF:4,") or info.startswith("#EXTINF:5,")
            assert not os.path.isabs(target) and (pl / target).resolve().is_file()
            entries += 1
    assert entries == len(FORMATS)


def make_bad_corpus(d: Path) -> dict[str, Path]:
    d.mkdir()
    good = write_audio(d / "good.wav", "wav", seconds=4.0)
    bad = {
        "zero": d / "zero.mp3",
        "random": d / "random.flac",
        "truncated": d / "truncated.ogg",
        "wrongext": d / "wrongext.mp3",
        "silent": d / "silent.wav",
        "short": d / "short.wav",
        "unreadable": d / "unreadable.m4a",
        "nonutf8": Path(os.fsdecode(bytes(d) + b"/caf\xe9.wav")),
        "drm": d / "drm.m4a",
    }
    bad["zero"].write_bytes(b"")
    bad["random"].write_bytes(os.urandom(5000))
    ogg = write_audio(d / "tmp.ogg", "ogg", seconds=4.0)
    bad["truncated"].write_bytes(ogg.read_bytes()[:300])
    ogg.unlink()
    bad["wrongext"].write_bytes(b"%PDF-1.4 not audio at all" * 50)
    import numpy as np

    write_audio(bad["silent"], "wav", y=np.zeros(22050 * 4, np.float32))
    write_audio(bad["short"], "wav", seconds=1.0)
    m4a = write_audio(d / "tmp.m4a", "m4a", seconds=4.0)
    shutil.copy(m4a, bad["unreadable"])
    os.chmod(bad["unreadable"], 0)
    data = bytearray(m4a.read_bytes())  # an encrypted (FairPlay-like) sample entry: 'mp4a' -> 'drms'
    i = data.find(b"mp4a")
    data[i : i + 4] = b"drms"
    bad["drm"].write_bytes(bytes(data))
    m4a.unlink()
    shutil.copy(good, bad["nonutf8"])
    return {"good": good, **bad}


def test_bad_input_corpus(tmp_path, tiny_model_path, capsys):
    corpus = make_bad_corpus(tmp_path / "bad")
    before = {k: (p.read_bytes() if k != "unreadable" else None) for k, p in corpus.items()}
    code, out, err = run(_scan(tiny_model_path, str(tmp_path / "bad"), "--json", str(tmp_path / "r.json")), capsys)
    assert code == 1
    recs = {Path(r["path"]).name: r for r in json.loads((tmp_path / "r.json").read_text())}
    for key in ("zero", "random", "truncated", "wrongext", "silent", "short", "drm"):
        r = recs[corpus[key].name]
        assert r["status"] == "error" and r["error"], key
        assert corpus[key].read_bytes() == before[key], key
    assert "silent" in recs["silent.wav"]["error"] and "short" in recs["short.wav"]["error"]
    assert "empty" in recs["zero.mp3"]["error"]
    assert recs["good.wav"]["status"] == "tagged"
    nonutf8 = [r for n, r in recs.items() if n.startswith("caf")]
    assert nonutf8 and nonutf8[0]["status"] == "tagged"
    err_lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(err_lines) == sum(1 for r in recs.values() if r["status"] == "error")
    assert all(line.count("\n") == 0 and "/bad/" in line for line in err_lines)
    if os.geteuid() != 0:
        assert recs["unreadable.m4a"]["status"] == "error"
    json.dumps(json.loads((tmp_path / "r.json").read_text()))  # valid JSON with odd names


def test_no_arguments_opens_the_gui(monkeypatch, capsys):
    import genre_tagger.gui.app as gui_app

    calls = []
    monkeypatch.setattr(gui_app, "main", lambda argv: calls.append(argv) or 0)
    assert run([], capsys)[0] == 0 and calls == [[]]


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--dry-run"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["--scan", ".", "--max-genres", "0"])
    assert e.value.code == 2


def test_missing_model_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(["--model", str(tmp_path / "none.json"), "--scan", str(tmp_path)], capsys)
    assert code == 2 and "not found" in err


def test_report_to_a_special_file_is_written_through(tmp_path, tiny_model_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    got = []
    t = threading.Thread(target=lambda: got.append(open(fifo).read()))
    t.start()
    f = write_audio(tmp_path / "a.wav", "wav", seconds=4.0)
    code, _, _ = run(_scan(tiny_model_path, str(f), "--dry-run", "--json", str(fifo), "-q"), capsys)
    t.join(10)
    assert code == 0 and json.loads(got[0])[0]["status"] == "would-tag"
    assert not fifo.is_file() and fifo.exists()  # still a FIFO, not replaced by a regular file
