"""The write path (genre_tagger.tagstore.write): tag layouts, byte-exact undo, crash recovery,
per-file undo bookkeeping, the lock, the cache, --set. Checks compare bytes built by the
tests themselves (tests/tagcorpus.py), never the writer's own parsers."""

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tagcorpus import corpus, frame, id3

from genre_tagger.tagstore.journal import Journal, JournalBusyError, _try_lock
from genre_tagger.tagstore.recover import recover
from genre_tagger.tagstore.tags import read_tags
from genre_tagger.tagstore.undo import undo_run
from genre_tagger.tagstore.write import ERROR, TAGGED, UNCHANGED, WriteRun

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    return corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def cases(layouts, tmp_path):
    """Fresh copies of the corpus for one test."""
    out = []
    for c in layouts:
        p = tmp_path / c.path.name
        shutil.copy(c.path, p)
        out.append(type(c)(c.name, p, c.refuse, c.keep, c.tail))
    return out


def test_every_layout_is_written_with_other_bytes_kept_or_refused_and_undone_exactly(cases):
    j = Journal()
    original = {c.path: c.path.read_bytes() for c in cases}
    with WriteRun(j, "corpus") as run:
        results = {c.name: run.apply(c.path, ["Rock", "Pop"]) for c in cases}
    for c in cases:
        r, data = results[c.name], c.path.read_bytes()
        if c.refuse:
            assert r.status == ERROR and c.refuse in r.error and "\n" not in r.error, (c.name, r.error)
            assert data == original[c.path], c.name
            continue
        assert r.status == TAGGED, (c.name, r.error)
        assert read_tags(c.path).genres == ["Rock", "Pop"], c.name
        for k in c.keep:  # every other frame / entry, byte for byte
            assert k in data, (c.name, k[:20])
        if c.tail:  # audio (and an ID3v1 tag) untouched
            assert data[-c.tail :] == original[c.path][-c.tail :], c.name
    by_name = {c.name: c for c in cases}
    v23 = by_name["v23_numeric_cover_v1.mp3"].path.read_bytes()
    assert v23[3] == 3 and b"TYER" in v23 and b"TDRC" not in v23  # an ID3v2.3 tag stays v2.3
    assert b"Genre=Rock" in by_name["flac_genre_key.flac"].path.read_bytes()  # the file's key spelling
    _, res = undo_run(j)
    assert all(r.status == TAGGED for r in res), [(r.path.name, r.error) for r in res]
    for c in cases:
        assert c.path.read_bytes() == original[c.path], c.name  # byte-exact: (17), gnre, Genre=, Latin-1, Ogg size...
    assert not [p for p in cases[0].path.parent.iterdir() if p.name.startswith(".gt-")]


def test_second_write_fits_the_padding_and_is_written_in_place(cases):
    c = next(c for c in cases if c.name == "plain.ogg")
    with WriteRun(Journal(), "t") as run:
        first = run.apply(c.path, ["Rock"])
        ino = c.path.stat().st_ino
        second = run.apply(c.path, ["Jazz Fusion", "Blues"])
    assert first.status == second.status == TAGGED
    assert first.bytes_written > 4096  # the tag had to grow: new file with padding
    assert second.bytes_written <= 64 * 1024 and c.path.stat().st_ino == ino  # in place, a few blocks


def test_field_undo_restores_the_raw_genre_frame_when_other_tags_changed_since(cases):
    c = next(c for c in cases if c.name == "v23_17rock_padded.mp3")
    tcon = frame("TCON", b"\x00(17)Rock")
    assert tcon in c.path.read_bytes()
    j = Journal()
    with WriteRun(j, "t") as run:
        assert run.apply(c.path, ["Jazz"]).status == TAGGED
    data = bytearray(c.path.read_bytes())
    i = data.index(b"Caf\xe9")
    data[i] = ord("K")  # another program edits the title in place
    c.path.write_bytes(bytes(data))
    _, (r,) = undo_run(j)
    assert r.status == TAGGED, r.error
    after = c.path.read_bytes()
    assert tcon in after and b"Kaf\xe9" in after  # genre frame byte-exact, the other edit kept


def test_refused_file_says_why_in_one_line_and_the_run_goes_on(cases):
    broken = next(c for c in cases if c.name == "broken_frame_size.mp3")
    ok = next(c for c in cases if c.name == "whole.wav")
    nonaudio = broken.path.with_name("noise.flac")
    nonaudio.write_bytes(b"fLaC" + os.urandom(300))
    with WriteRun(Journal(), "t") as run:
        rs = [run.apply(p, ["Rock"]) for p in (broken.path, nonaudio, ok.path)]
    assert [r.status for r in rs] == [ERROR, ERROR, TAGGED]
    assert all(r.error and "\n" not in r.error and "Traceback" not in r.error for r in rs[:2])


def _crashing(code: str, args: list[str], crash_at: str, data_dir: Path) -> int:
    """Exit code of ``python -c code args`` with GENRE_TAGGER_CRASH_AT=crash_at (86: ended there)."""
    env = dict(os.environ, GENRE_TAGGER_CRASH_AT=crash_at, GENRE_TAGGER_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code, *args], env=env, timeout=60).returncode


def _write_in_subprocess(path: Path, genres: str, crash_at: str, data_dir: Path) -> int:
    code = (
        "import sys\nfrom genre_tagger.tagstore.journal import Journal\nfrom genre_tagger.tagstore.write import WriteRun\n"
        "with WriteRun(Journal(), 'crash test') as run:\n    r = run.apply(sys.argv[1], sys.argv[2].split(';'))\n"
        "    sys.exit(0 if r.status == 'tagged' else 3)\n"
    )
    return _crashing(code, [str(path), genres], crash_at, data_dir)


def _needs_a_new_file(src: Path, folder: Path) -> Path:
    """A copy of an ID3v2 file whose tag must grow, with so much audio behind the tag that
    it cannot be moved in place: the write makes a new file and renames it over this one."""
    data = src.read_bytes()
    tag = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    out = folder / src.name
    out.write_bytes(data[:tag] + data[tag:-128] * 40 + data[-128:])
    return out


INPLACE_STEPS = ["journaled", "patch-half", "patched", "done"]
REPLACE_STEPS = ["journaled", "temp-written", "renamed", "done"]


@pytest.mark.parametrize(
    ("mode", "step"),
    [("inplace", s) for s in INPLACE_STEPS]
    + [("append", s) for s in ["appended", *INPLACE_STEPS]]
    + [("replace", s) for s in REPLACE_STEPS],
)
def test_kill_at_each_step_is_recovered_and_undoable(mode, step, layouts, tmp_path, _isolated_data_dir, no_shift):
    name = {"inplace": "v23_17rock_padded.mp3", "append": "whole.wav", "replace": "v23_numeric_cover_v1.mp3"}[mode]
    src = next(c for c in layouts if c.name == name).path  # append: a WAV gets its ID3 chunk at the end, in place
    if mode == "replace":
        src = _needs_a_new_file(src, tmp_path)
    ref = tmp_path / "ref" / src.name  # the same write without a crash: the expected new bytes
    ref.parent.mkdir()
    shutil.copy(src, ref)
    with WriteRun(Journal(tmp_path / "ref.sqlite3"), "reference") as run:
        assert run.apply(ref, ["Rock", "Pop"]).status == TAGGED
    path = tmp_path / "lib" / src.name
    path.parent.mkdir()
    shutil.copy(src, path)
    original, expected = path.read_bytes(), ref.read_bytes()
    assert (len(expected) == len(original)) == (mode == "inplace")
    assert mode != "append" or expected[8 : len(original)] == original[8:]  # only the RIFF size changes, then a chunk follows

    assert _write_in_subprocess(path, "Rock;Pop", step, _isolated_data_dir) == 86  # killed at the step
    j = Journal()
    assert [r.interrupted for r in j.runs()] == [False]  # not yet known
    recover(j)
    data = path.read_bytes()
    assert data in (original, expected)  # never half written
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    (run,) = j.runs()
    assert run.interrupted and run.changes == (1 if data == expected else 0)
    if data == expected:
        _, (r,) = undo_run(j)
        assert r.status == TAGGED, r.error
        assert path.read_bytes() == original
    else:
        assert step in ("journaled", "appended", "patch-half", "temp-written")


def test_kill_then_history_shows_the_run_as_interrupted(layouts, tmp_path, _isolated_data_dir, capsys):
    from genre_tagger.cli import main

    path = tmp_path / "a.mp3"
    shutil.copy(next(c for c in layouts if c.name == "v23_two_numeric.mp3").path, path)
    assert _write_in_subprocess(path, "Jazz", "patched", _isolated_data_dir) == 86
    assert main(["--history"]) == 0
    out = capsys.readouterr().out
    assert "interrupted" in out and "running" not in out  # a killed run is not still running


def test_seeded_fuzz_of_id3_tags_never_loses_bytes(layouts, tmp_path):
    src = next(c for c in layouts if c.name == "v23_numeric_cover_v1.mp3").path.read_bytes()
    tag_len = 10 + ((src[6] << 21) | (src[7] << 14) | (src[8] << 7) | src[9])
    rng = random.Random(1234)
    j = Journal()
    written = refused = 0
    for i in range(24):
        data = bytearray(src)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(10, 200)] = rng.randrange(256)  # frame headers and texts near the start
        p = tmp_path / f"fuzz{i}.mp3"
        p.write_bytes(bytes(data))
        with WriteRun(j, "fuzz") as run:
            r = run.apply(p, ["Jazz"])
        after = p.read_bytes()
        assert after.endswith(bytes(data[tag_len:]))  # audio and ID3v1 untouched in every case
        if r.status == UNCHANGED:  # the damaged genre already reads "Jazz"
            assert after == bytes(data)
        elif r.status == ERROR:
            refused += 1
            assert after == bytes(data) and "\n" not in r.error
        else:
            written += 1
            assert data[tag_len - 30_000 - 16 : tag_len - 16] in after or b"APIC" not in data  # the cover survives
            _, (u,) = undo_run(j)
            assert u.status == TAGGED and p.read_bytes() == bytes(data)
    assert written and refused  # the seed exercises both outcomes


def test_undo_is_per_file_failed_files_are_retried_and_newer_runs_protect_older(cases):
    a = next(c for c in cases if c.name == "whole.wav").path
    b = next(c for c in cases if c.name == "plain.opus").path
    orig_a, orig_b = a.read_bytes(), b.read_bytes()
    j = Journal()
    with WriteRun(j, "first") as run:
        run.apply(a, ["Rock"])
        run.apply(b, ["Rock"])
    first = run.run_id
    with WriteRun(j, "second") as run:
        run.apply(a, ["Jazz"])
    second = run.run_id

    _, res = undo_run(j, first)  # a was changed again by the second run: refused, b restored
    by = {r.path: r for r in res}
    assert by[a].status == ERROR and f"run {second}" in by[a].error
    assert by[b].status == TAGGED and b.read_bytes() == orig_b
    assert j.get_run(first).undone_by is None and j.get_run(first).undone == 1  # not counted as undone

    os.chmod(a, 0o444)
    _, (r,) = undo_run(j, second)
    assert r.status == ERROR and "read-only" in r.error and j.get_run(second).undone_by is None
    os.chmod(a, 0o644)
    undo_run(j, second)  # retried after fixing the cause
    assert read_tags(a).genres == ["Rock"] and j.get_run(second).undone_by is not None
    _, (r,) = undo_run(j, first)
    assert r.status == TAGGED and a.read_bytes() == orig_a and j.get_run(first).undone_by is not None
    with pytest.raises(LookupError):
        undo_run(j, first)


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(cases):
    a = cases[0].path
    j1, j2 = Journal(), Journal()
    with WriteRun(j1, "scan /music") as run:
        with pytest.raises(JournalBusyError, match="another genre-tagger run is writing tags"):
            WriteRun(j2, "scan /music").__enter__()
        assert run.apply(a, ["Jazz"]).status == TAGGED
    with WriteRun(j2, "later") as run2:  # released at the end of the first run
        assert run2.apply(a, ["Jazz"]).status == UNCHANGED


def test_write_moves_the_cache_row_to_the_new_size_and_mtime(cases):
    from genre_tagger.tagstore.journal import pathkey

    p = next(c for c in cases if c.name == "plain.ogg").path
    j = Journal()
    st = p.stat()
    j.cache_put(p, st.st_size, st.st_mtime_ns, "model-x", {"probs": 1})
    with WriteRun(j, "t") as run:
        run.apply(p, ["Rock"])
    st2 = p.stat()
    assert (st2.st_size, st2.st_mtime_ns) != (st.st_size, st.st_mtime_ns)
    assert j.cache_get_many("model-x")[pathkey(p)][:2] == (st2.st_size, st2.st_mtime_ns)


def test_set_on_the_command_line_is_journaled_and_undone(cases, capsys):
    from genre_tagger.cli import main

    by_name = {c.name: c.path for c in cases}
    files = [by_name[n] for n in ("whole.aiff", "plain.wma", "broken_frame_size.mp3")]
    before = {p: p.read_bytes() for p in files}
    assert main(["--set", "Jazz; Funk", *map(str, files)]) == 1  # one file refused
    out, err = capsys.readouterr()
    assert "set:" in out and "2 set" in out and "partly unreadable" in err
    assert read_tags(files[0]).genres == ["Jazz", "Funk"]
    assert main(["--set", "Blues", str(files[0]), str(files[1])]) == 0
    capsys.readouterr()
    assert main(["--undo", "1"]) == 1  # refused: a later run changed both files
    out, err = capsys.readouterr()
    assert err.count("undo run 2 first") == 2 and "undo run None" not in out and "nothing restored" in out
    assert main(["--undo"]) == 0 and main(["--undo"]) == 0
    assert {p: p.read_bytes() for p in files} == before
    assert main(["--set", "Jazz", str(files[0].parent / "missing.mp3")]) == 2


def test_raw_id3_builder_matches_the_corpus_frames():
    """The corpus helpers build what the ID3 standard says (guards the test data itself)."""
    import io

    from mutagen.id3 import ID3

    t = ID3(io.BytesIO(id3(3, [frame("TIT2", b"\x00abc"), frame("TCON", b"\x00(17)")], padding=10)))
    assert t["TIT2"].text == ["abc"] and t["TCON"].genres == ["Rock"]


def test_a_second_scan_while_one_writes_stops_with_exit_2(cases, tiny_model_path, capsys):
    from genre_tagger.cli import main

    before = cases[0].path.read_bytes()
    other = Journal()
    other.lock("scan /music")  # another process's scan, as far as the lock file is concerned
    try:
        code = main(["--model", str(tiny_model_path), "--workers", "1", "--overwrite", str(cases[0].path)])
    finally:
        other.unlock()
    assert code == 2 and "another genre-tagger run is writing tags (pid" in capsys.readouterr().err
    assert cases[0].path.read_bytes() == before


def test_a_big_cover_behind_the_genre_is_not_rewritten_by_later_writes(layouts, tmp_path):
    audio = next(c for c in layouts if c.name == "mpeg25_8khz.mp3").path.read_bytes()
    cover = frame("APIC", b"\x00image/jpeg\x00\x03\x00" + os.urandom(200_000), 4)
    p = tmp_path / "cover.mp3"
    p.write_bytes(id3(4, [frame("TCON", b"\x0317", 4), cover], padding=4096) + audio)
    original = p.read_bytes()
    j = Journal()
    with WriteRun(j, "t") as run:
        first = run.apply(p, ["Jazz"])  # the genre frame moves behind the cover (the cover moves once)
        second = run.apply(p, ["Jazz Fusion", "Nu Jazz"])
    assert first.status == second.status == TAGGED and cover in p.read_bytes()
    assert second.bytes_written <= 1024, second.bytes_written  # only the genre frame and padding change
    _, res = undo_run(j)  # two writes of one file in one run: undone newest first
    assert [r.status for r in res] == [TAGGED, TAGGED] and res[0].bytes_written <= 1024
    assert p.read_bytes() == original


def test_a_writer_bug_that_touches_another_frame_is_caught_and_named(cases, monkeypatch):
    import genre_tagger.tagstore.rawtags as rawtags

    real = rawtags.genre_frame
    monkeypatch.setattr(rawtags, "genre_frame", lambda *a: real(*a) + frame("TXXX", b"\x00stray\x00x"))  # a buggy writer
    c = next(c for c in cases if c.name == "v23_two_numeric.mp3")
    before = c.path.read_bytes()
    with WriteRun(Journal(), "t") as run:
        r = run.apply(c.path, ["Jazz"])
    assert r.status == ERROR and "'TXXX'" in r.error and c.path.read_bytes() == before


def test_field_undo_puts_a_vorbis_genre_back_with_its_key_spelling_and_place(cases):
    c = next(c for c in cases if c.name == "flac_genre_key.flac")
    original = c.path.read_bytes()
    j = Journal()
    with WriteRun(j, "t") as run:
        assert run.apply(c.path, ["Rock"]).status == TAGGED
    data = bytearray(c.path.read_bytes())
    i = data.index(b"ARTIST=a")
    data[i + 7] = ord("b")  # another program edits the artist in place
    c.path.write_bytes(bytes(data))
    _, (r,) = undo_run(j)
    assert r.status == TAGGED, r.error
    expected = bytearray(original)
    expected[original.index(b"ARTIST=a") + 7] = ord("b")
    assert c.path.read_bytes() == bytes(expected)  # Genre=Jazz back between TITLE and ARTIST, the edit kept


def test_a_journal_of_the_earlier_version_is_migrated_and_its_runs_undone(cases, tmp_path):
    import sqlite3
    import time

    from genre_tagger.tagstore.journal import pathkey

    p = next(c for c in cases if c.name == "whole.aiff").path
    db_path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(db_path)  # the earlier schema: genres before/after only
    db.executescript(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, command TEXT NOT NULL,"
        " model TEXT, undone_by INTEGER, undo_of INTEGER);"
        "CREATE TABLE changes (run_id INTEGER NOT NULL, path BLOB NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,"
        " PRIMARY KEY (run_id, path));"
    )
    with WriteRun(Journal(tmp_path / "scratch.sqlite3"), "old version's write") as run:
        run.apply(p, ["Rock"])
    db.execute("INSERT INTO runs (started, finished, command) VALUES (?, ?, 'scan /music')", (time.time(), time.time()))
    db.execute("INSERT INTO changes VALUES (1, ?, '[]', '[\"Rock\"]')", (pathkey(p),))
    db.commit()
    db.close()
    j = Journal(db_path)
    (run,) = j.runs()
    assert run.changes == 1 and not run.interrupted
    _, (r,) = undo_run(j)
    assert r.status == TAGGED and read_tags(p).genres == []


def test_temporary_copies_left_by_earlier_versions_are_removed(cases):
    p = next(c for c in cases if c.name == "plain.opus").path
    left = p.parent / f".{p.name}.k3j_x9Qa.genre-tagger.tmp"  # what a killed earlier version left
    left.write_bytes(p.read_bytes())
    other = p.parent / ".notes.k3j_x9Qa.genre-tagger.tmp"  # no file "notes" here: not ours to judge
    other.write_bytes(b"x")
    with WriteRun(Journal(), "t") as run:
        assert run.apply(p, ["Rock"]).status == TAGGED
    assert not left.exists() and other.exists()


@pytest.mark.parametrize(("name", "marker"), [("flac_genre_key.flac", b"TITLE=t"), ("gnre.m4a", b"ilst"), ("plain.wma", b"WM/")])
def test_seeded_fuzz_of_other_tag_formats_never_loses_bytes(layouts, tmp_path, name, marker):
    src = next(c for c in layouts if c.name == name).path.read_bytes()
    at = src.find(marker if marker != b"WM/" else "WM/".encode("utf-16-le"))
    assert at > 0
    rng = random.Random(99)
    j = Journal()
    outcomes = set()
    for i in range(12):
        data = bytearray(src)
        for _ in range(rng.randint(1, 3)):
            data[max(0, at + rng.randrange(-60, 60))] = rng.randrange(256)  # around the tag items
        p = tmp_path / f"fuzz{i}{Path(name).suffix}"
        p.write_bytes(bytes(data))
        with WriteRun(j, "fuzz") as run:
            r = run.apply(p, ["Blues"])
        outcomes.add(r.status)
        assert "\n" not in r.error
        if r.status != TAGGED:
            assert p.read_bytes() == bytes(data)
        else:
            _, (u,) = undo_run(j)
            assert u.status == TAGGED and p.read_bytes() == bytes(data), u.error
    assert TAGGED in outcomes


def test_an_interrupted_write_whose_file_changed_since_is_left_as_found_and_shown(layouts, tmp_path, _isolated_data_dir, capsys):
    from genre_tagger.cli import main

    path = tmp_path / "a.mp3"
    shutil.copy(next(c for c in layouts if c.name == "v23_two_numeric.mp3").path, path)
    assert _write_in_subprocess(path, "Jazz", "journaled", _isolated_data_dir) == 86
    data = bytearray(path.read_bytes())
    i = data.index(b"(17)(18)")
    data[i : i + 8] = b"(20)(21)"  # another program changes the genre before we start again
    path.write_bytes(bytes(data))
    assert main(["--history"]) == 0
    assert "1 interrupted writes left as found" in capsys.readouterr().out
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("command", [["--history"], ["--undo"], ["--set", "Jazz", "FILE"], ["--dry-run", "--scan", "FILE"]])
def test_a_journal_that_cannot_be_opened_is_one_clear_line_and_nothing_is_written(cases, tmp_path, monkeypatch, capsys, command):
    from genre_tagger.cli import main

    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")  # the data folder cannot be created (as on a read-only or full disk)
    monkeypatch.setenv("GENRE_TAGGER_DATA_DIR", str(blocker / "data"))
    c = next(c for c in cases if c.name == "v23_17rock_padded.mp3")
    before = c.path.read_bytes()
    assert main([str(c.path) if a == "FILE" else a for a in command]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot open the journal" in err and str(blocker) in err and "\n" not in err and "Traceback" not in err
    assert c.path.read_bytes() == before


def test_ctrl_c_right_after_the_rename_leaves_the_write_journaled_and_undoable(layouts, tmp_path, monkeypatch, no_shift):
    (tmp_path / "lib").mkdir()
    path = _needs_a_new_file(next(c for c in layouts if c.name == "v23_numeric_cover_v1.mp3").path, tmp_path / "lib")
    original = path.read_bytes()
    rename = os.replace

    def rename_then_interrupt(a, b):  # SIGINT arriving while the rename runs is raised when it returns
        rename(a, b)
        raise KeyboardInterrupt

    j = Journal(tmp_path / "j.sqlite3")
    monkeypatch.setattr(os, "replace", rename_then_interrupt)
    with pytest.raises(KeyboardInterrupt), WriteRun(j, "interrupted") as run:
        run.apply(path, ["Progressive Jazz"])  # the tag grows
    monkeypatch.setattr(os, "replace", rename)
    assert path.read_bytes() != original and read_tags(path).genres == ["Progressive Jazz"]  # the new file is in place
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    _, (r,) = undo_run(j)  # so the journal must know the write
    assert r.status == TAGGED, r.error
    assert path.read_bytes() == original


@pytest.mark.parametrize(("mode", "step"), [("inplace", "patch-half"), ("replace", "temp-written"), ("replace", "renamed")])
def test_an_interrupted_write_on_a_disk_not_mounted_is_checked_when_it_is_back(
    mode, step, layouts, tmp_path, _isolated_data_dir, capsys, no_shift
):
    from genre_tagger.cli import main

    disk = tmp_path / "usb"
    disk.mkdir()
    src = next(c for c in layouts if c.name == {"inplace": "v23_17rock_padded.mp3", "replace": "v23_numeric_cover_v1.mp3"}[mode]).path
    if mode == "replace":
        src = _needs_a_new_file(src, tmp_path)
    path = disk / src.name
    shutil.copy(src, path)
    original = path.read_bytes()
    assert _write_in_subprocess(path, "Rock;Pop", step, _isolated_data_dir) == 86
    disk.rename(tmp_path / "unmounted")  # the next start happens while the disk is not mounted
    assert main(["--history"]) == 0  # the next start
    assert "1 interrupted writes not checked yet" in capsys.readouterr().out
    j = Journal()
    assert len(j.pending_writes()) == 1  # not given up: it is checked again at the next start
    assert j.runs()[0].interrupted
    (tmp_path / "unmounted").rename(disk)
    recover(j)
    assert j.pending_writes() == [] and [p.name for p in disk.iterdir()] == [path.name]  # temporary file removed
    if step == "renamed":
        _, (r,) = undo_run(j)
        assert r.status == TAGGED, r.error
    assert path.read_bytes() == original


@pytest.mark.parametrize("name", ["v23_17rock_padded.mp3", "v23_numeric_cover_v1.mp3"])  # in place; a new file
def test_a_tagger_that_keeps_the_mtime_changing_the_genre_while_we_write_wins(name, layouts, tmp_path, monkeypatch):
    """Another tagger (Picard's or Mp3tag's "preserve timestamps") saves between our plan and
    our write: same size, same mtime, same inode. Its change must not be overwritten."""
    src = next(c for c in layouts if c.name == name).path
    path = tmp_path / "lib" / name
    path.parent.mkdir()
    if name.startswith("v23_numeric"):
        path = _needs_a_new_file(src, path.parent)
    else:
        shutil.copy(src, path)
    j = Journal(tmp_path / "j.sqlite3")
    begin = j.begin_write

    def other_tagger_saves(*a, **k):
        wid = begin(*a, **k)
        st = path.stat()
        data = bytearray(path.read_bytes())
        i = data.index(b"TCON") + 11
        data[i : i + 4] = b"(20)"  # its own genre (Alternative), same length
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return wid

    monkeypatch.setattr(j, "begin_write", other_tagger_saves)
    with WriteRun(j, "t") as run:
        r = run.apply(path, ["Progressive Jazz"])
    assert r.status == ERROR and "changed while" in r.error
    assert b"(20)" in path.read_bytes() and b"Progressive Jazz" not in path.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_ctrl_c_during_set_says_what_was_written_and_how_to_undo_it(cases, monkeypatch, capsys):
    from genre_tagger.cli import main

    files = [c.path for c in cases if c.name in ("whole.aiff", "plain.wma", "plain.ogg")]
    before = {p: p.read_bytes() for p in files}
    apply, calls = WriteRun.apply, []

    def interrupted_at_the_second_file(self, path, *a, **k):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return apply(self, path, *a, **k)

    monkeypatch.setattr(WriteRun, "apply", interrupted_at_the_second_file)
    assert main(["--set", "Jazz", *map(str, files)]) == 130
    out, err = capsys.readouterr()
    assert "interrupted after 1 of 3 files" in err and "run 1 recorded" in out
    assert main(["--set", "Blues", *map(str, files)]) == 0  # (apply counts on: no more interruptions)
    calls.clear()
    assert main(["--undo"]) == 130  # an undo interrupted at its second file
    assert "'genre-tagger --undo' restores the rest" in capsys.readouterr().err
    monkeypatch.setattr(WriteRun, "apply", apply)
    assert main(["--undo"]) == 0 and main(["--undo"]) == 0
    assert {p: p.read_bytes() for p in files} == before


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="no extended attributes here")
def test_a_new_file_keeps_the_extended_attributes_of_the_original(layouts, tmp_path, no_shift):
    (tmp_path / "lib").mkdir()
    path = _needs_a_new_file(next(c for c in layouts if c.name == "v23_numeric_cover_v1.mp3").path, tmp_path / "lib")
    try:
        os.setxattr(path, "user.xdg.origin.url", b"https://example.org/a.mp3")
    except OSError:
        pytest.skip("this file system has no user extended attributes")
    ino = path.stat().st_ino
    with WriteRun(Journal(tmp_path / "j.sqlite3"), "t") as run:
        assert run.apply(path, ["Progressive Jazz"]).status == TAGGED
    assert path.stat().st_ino != ino  # a new file was renamed over the original
    assert os.getxattr(path, "user.xdg.origin.url") == b"https://example.org/a.mp3"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to list open files")
def test_the_original_is_closed_before_the_new_file_is_renamed_over_it(layouts, tmp_path, monkeypatch):
    """Windows cannot replace a file that is still open (no FILE_SHARE_DELETE)."""
    (tmp_path / "lib").mkdir()
    path = _needs_a_new_file(next(c for c in layouts if c.name == "v23_numeric_cover_v1.mp3").path, tmp_path / "lib")
    rename, open_then = os.replace, []

    def rename_and_look(a, b):
        open_then.extend(f for f in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{f}") == str(path))
        rename(a, b)

    monkeypatch.setattr(os, "replace", rename_and_look)
    with WriteRun(Journal(tmp_path / "j.sqlite3"), "t") as run:
        assert run.apply(path, ["Progressive Jazz"]).status == TAGGED
    assert open_then == []


# -- the writing scan's writer thread (genre_tagger.tagstore.writethread) ------------------------------


def _scan_cached(paths: list[Path], model: str | Path, journal: Journal):
    """A writing scan (--overwrite, no threshold) whose classifications come from the
    cache (the corpus files are too short to classify): every file goes to the writer
    thread. Returns the scanner and its (not yet started) result generator."""
    from genre_tagger.library.policy import WritePolicy
    from genre_tagger.library.scanner import Scanner, ScanOptions, cache_entry
    from genre_tagger.listen.model import Classification, load_info

    meta = load_info(model)
    probs = {v.name: {g: 0.9 if i == 0 else 0.01 for i, g in enumerate(v.genres)} for v in meta.vocabularies}
    for p in paths:
        st = p.stat()
        journal.cache_put(p, st.st_size, st.st_mtime_ns, meta.model_id, cache_entry(Classification(probs, {}, 60.0, 1)))
    scanner = Scanner(ScanOptions(policy=WritePolicy(overwrite=True, min_confidence=0.0), model=model, workers=1), journal)
    return scanner, scanner.scan(paths)


def _copies(layouts, tmp_path: Path, n: int, name: str = "whole.wav") -> list[Path]:
    src = next(c for c in layouts if c.name == name).path
    lib = tmp_path / "lib"
    lib.mkdir()
    return [Path(shutil.copy(src, lib / f"{i:02d}{src.suffix}")) for i in range(n)]


def _hooked_apply(monkeypatch, hook):
    """WriteRun.apply calls ``hook(path)`` first (on whatever thread runs it)."""
    real = WriteRun.apply

    def apply(self, path, *a, **k):
        hook(Path(path))
        return real(self, path, *a, **k)

    monkeypatch.setattr(WriteRun, "apply", apply)


def test_a_writing_scan_writes_on_its_own_thread_and_a_failed_write_is_that_files_line(layouts, tmp_path, tiny_model_path, monkeypatch):
    import threading

    files = _copies(layouts, tmp_path, 5)
    files[2].chmod(0o444)
    seen: list[tuple[str, bool]] = []

    j = Journal()

    def hook(path):
        fd = os.open(j.path.with_name(j.path.name + ".lock"), os.O_RDWR)
        try:  # the lock is held while the thread writes (another Journal would wait for the open transaction)
            _try_lock(fd)
            seen.append((threading.current_thread().name, False))
        except OSError:
            seen.append((threading.current_thread().name, True))
        finally:
            os.close(fd)

    _hooked_apply(monkeypatch, hook)
    scanner, results = _scan_cached(files, tiny_model_path, j)
    by_path = {r.path: r for r in results}
    assert len(by_path) == 5 and len(seen) == 5
    assert all(name != threading.main_thread().name and locked for name, locked in seen)
    bad = by_path[files[2]]
    assert bad.status == ERROR and "read-only" in bad.error and "\n" not in bad.error and bad.genres == []
    for p in files[:2] + files[3:]:  # the scan went on
        assert by_path[p].status == TAGGED and read_tags(p).genres == by_path[p].genres != []
    assert j.pending_writes() == [] and len(j.writes(scanner.run_id, "done")) == 4
    (run,) = j.runs()
    assert run.finished is not None and not run.interrupted
    with WriteRun(Journal(), "next"):  # the lock was released
        pass


def test_first_ctrl_c_finishes_and_reports_the_writes_handed_over_and_starts_no_more(layouts, tmp_path, tiny_model_path, monkeypatch):
    import time

    from genre_tagger.tagstore import writethread

    files = _copies(layouts, tmp_path, writethread.DEPTH + 6)
    original = files[0].read_bytes()
    holder: dict = {}

    def hook(path):
        if path == files[0]:  # the first write waits until the scan's loop is blocked on a full queue
            w = holder["scanner"]._writer
            t0 = time.monotonic()
            while w._jobs.qsize() < writethread.DEPTH and time.monotonic() - t0 < 20:
                time.sleep(0.01)
            holder["scanner"].cancel()  # Ctrl-C, first press

    _hooked_apply(monkeypatch, hook)
    j = Journal()
    scanner, results = _scan_cached(files, tiny_model_path, j)
    holder["scanner"] = scanner
    reported = list(results)
    assert scanner.cancelled.is_set()
    written = [p for p in files if p.read_bytes() != original]
    assert all(r.status == TAGGED for r in reported)
    assert sorted(r.path for r in reported) == written  # every write handed over was finished and reported
    assert writethread.DEPTH < len(written) < len(files)  # the queued ones too; none started after the press
    assert j.pending_writes() == [] and len(j.writes(scanner.run_id, "done")) == len(written)


def test_second_ctrl_c_drops_the_queued_writes_and_finishes_the_one_in_progress(layouts, tmp_path, tiny_model_path, monkeypatch):
    import signal
    import threading
    import time

    from genre_tagger.tagstore import writethread

    files = _copies(layouts, tmp_path, writethread.DEPTH + 4)
    original = files[0].read_bytes()
    holder: dict = {}
    started: list[Path] = []

    def hook(path):
        started.append(path)
        if path == files[0]:
            w = holder["scanner"]._writer
            t0 = time.monotonic()
            while w._jobs.qsize() < writethread.DEPTH and time.monotonic() - t0 < 20:
                time.sleep(0.01)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C, second press
            time.sleep(0.3)  # the scan's thread is being interrupted while this write goes on

    _hooked_apply(monkeypatch, hook)
    j = Journal()
    scanner, results = _scan_cached(files, tiny_model_path, j)
    holder["scanner"] = scanner
    with pytest.raises(KeyboardInterrupt):
        list(results)
    assert started == [files[0]]  # no queued write was started
    assert read_tags(files[0]).genres != [] and all(p.read_bytes() == original for p in files[1:])
    assert j.pending_writes() == [] and len(j.writes(scanner.run_id, "done")) == 1
    assert not [p for p in files[0].parent.iterdir() if p.name.startswith(".gt-")]
    with WriteRun(Journal(), "next"):  # the lock was released
        pass


def _scan_in_subprocess(path: Path, crash_at: str, data_dir: Path, model: Path) -> int:
    code = (
        "import sys\nfrom pathlib import Path\nsys.path.insert(0, sys.argv[3])\n"
        "from test_writer import _scan_cached\nfrom genre_tagger.tagstore.journal import Journal\n"
        "_, results = _scan_cached([Path(sys.argv[1])], sys.argv[2], Journal())\n"
        "sys.exit(0 if [r.status for r in results] == ['tagged'] else 3)\n"
    )
    return _crashing(code, [str(path), str(model), str(ROOT / "tests")], crash_at, data_dir)


@pytest.mark.parametrize(("mode", "step"), [("inplace", s) for s in INPLACE_STEPS] + [("replace", s) for s in REPLACE_STEPS])
def test_a_scan_killed_at_each_step_of_a_write_on_the_writer_thread_is_recovered(
    mode, step, layouts, tmp_path, tiny_model_path, _isolated_data_dir, no_shift
):
    """The same protocol on the writer thread: the intent is journaled before the file is
    touched, so a process that dies at any step leaves the old or the new file, journaled."""
    name = {"inplace": "v23_17rock_padded.mp3", "replace": "v23_numeric_cover_v1.mp3"}[mode]
    src = next(c for c in layouts if c.name == name).path
    if mode == "replace":
        src = _needs_a_new_file(src, tmp_path)
    ref = tmp_path / "ref" / src.name
    ref.parent.mkdir()
    shutil.copy(src, ref)
    assert [r.status for r in _scan_cached([ref], tiny_model_path, Journal(tmp_path / "ref.sqlite3"))[1]] == [TAGGED]
    path = tmp_path / "lib" / src.name
    path.parent.mkdir()
    shutil.copy(src, path)
    original, expected = path.read_bytes(), ref.read_bytes()
    assert (len(expected) == len(original)) == (mode == "inplace")

    assert _scan_in_subprocess(path, step, _isolated_data_dir, tiny_model_path) == 86  # killed at the step
    j = Journal()
    recover(j)
    data = path.read_bytes()
    assert data in (original, expected)  # never half written
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    (run,) = j.runs()
    assert run.interrupted and run.changes == (1 if data == expected else 0) and j.pending_writes() == []
    if data == expected:
        _, (r,) = undo_run(j)
        assert r.status == TAGGED, r.error
        assert path.read_bytes() == original
    else:
        assert step in ("journaled", "patch-half", "temp-written")


def test_a_program_that_ends_with_writes_queued_drops_them_and_exits(layouts, tmp_path, tiny_model_path, _isolated_data_dir):
    """The scan's generator left suspended at exit (never closed): the writer thread finishes
    the write in progress, starts no queued one, closes the run, and the process exits."""
    files = _copies(layouts, tmp_path, 12)
    original = files[0].read_bytes()
    code = (
        "import sys, time\nfrom pathlib import Path\nsys.path.insert(0, sys.argv[2])\n"
        "from test_writer import _scan_cached\nfrom genre_tagger.tagstore.journal import Journal\n"
        "from genre_tagger.tagstore.write import WriteRun\nreal = WriteRun.apply\n"
        "def slow(self, *a, **k):\n    time.sleep(0.3)\n    return real(self, *a, **k)\n"
        "WriteRun.apply = slow\n"
        "_, results = _scan_cached(sorted(Path(sys.argv[3]).iterdir()), sys.argv[1], Journal())\n"
        "first = next(results)  # one write reported, the others queued: leave without closing\n"
        "sys.exit(0 if first.status == 'tagged' else 3)\n"
    )
    args = [sys.executable, "-c", code, str(tiny_model_path), str(ROOT / "tests"), str(files[0].parent)]
    env = dict(os.environ, GENRE_TAGGER_DATA_DIR=str(_isolated_data_dir), PYTHONPATH=str(ROOT))
    assert subprocess.run(args, env=env, timeout=60).returncode == 0  # no hang at exit
    written = [p for p in files if p.read_bytes() != original]
    j = Journal()
    (run,) = j.runs()
    assert j.pending_writes() == [] and run.finished is not None and not run.interrupted
    assert 1 <= len(written) < len(files) and sorted(Path(w.path) for w in j.writes(run.id, "done")) == written
