"""Issue 19: the last edges of the tag write — a decision made on a file that changed since,
a full disk under the journal, hard links, ID3v2 footers, ADTS, damaged Ogg pages. Each
test failed on the code before the change it comes with."""

import json
import os
from pathlib import Path

import pytest
from clirun import run
from clirun import scan_args as _scan

from devtools.synth import write_audio
from genre_tagger.tagstore.journal import Journal
from genre_tagger.tagstore.steps import identity
from genre_tagger.tagstore.tags import read_tags
from genre_tagger.tagstore.write import CHANGED, TAGGED, UNCHANGED, Expect, WriteRun


def _other_program_sets_genre(path: Path, genre: str) -> None:
    """What Picard or a sync tool does: mutagen's own save, mtime changed."""
    import mutagen

    f = mutagen.File(str(path))
    if f.tags is None:
        f.add_tags()
    f.tags["genre"] = [genre]
    f.save()


@pytest.fixture
def flac(tmp_path) -> Path:
    return write_audio(tmp_path / "a.flac", "flac", seconds=4.0)


# -- 1. a decision made on a file that changed since ---------------------------------------


def test_a_fill_in_decision_does_not_write_over_a_genre_set_since(flac):
    seen = Expect(tuple(identity(os.stat(flac))), [], lambda now: None if now else ["Rock"])
    _other_program_sets_genre(flac, "Jazz")
    before = flac.read_bytes()
    with WriteRun(Journal(), "t") as run:
        res = run.apply(flac, ["Rock"], expect=seen)
    assert res.status == CHANGED and res.previous == ["Jazz"] and res.genres == ["Jazz"]
    assert flac.read_bytes() == before and read_tags(flac).genres == ["Jazz"]
    assert run.run_id is None  # nothing journaled


def test_a_changed_file_is_decided_anew_on_what_it_holds_now(flac):
    seen = Expect(tuple(identity(os.stat(flac))), [], lambda now: ["Blues"] if now == ["Jazz"] else ["Rock"])
    _other_program_sets_genre(flac, "Jazz")
    with WriteRun(Journal(), "t") as run:
        res = run.apply(flac, ["Rock"], expect=seen)
    assert res.status == TAGGED and res.previous == ["Jazz"] and res.genres == ["Blues"]
    assert read_tags(flac).genres == ["Blues"]
    (w,) = Journal().writes(run.run_id)
    assert w.before == ["Jazz"] and w.after == ["Blues"]  # undo puts back what really was there


def test_only_the_identity_changed_the_decision_stands_and_one_that_now_holds_it_is_unchanged(flac):
    calls = []
    seen = Expect((0, 0, 0, 0), [], lambda now: calls.append(now) or ["Rock"])
    with WriteRun(Journal(), "t") as run:
        res = run.apply(flac, ["Rock"], expect=seen)
        assert res.status == TAGGED and calls == [[]]
        again = run.apply(flac, ["Rock"], expect=Expect(None, [], lambda now: ["Rock"]))
    assert again.status == UNCHANGED and again.previous == ["Rock"]


def _scan_with_a_tagger_in_between(monkeypatch, genre: str):
    """Another program writes ``genre`` into each file after the scan's decision, just
    before our write."""
    real = WriteRun.apply

    def apply(self, path, *a, **k):
        _other_program_sets_genre(Path(path), genre)
        return real(self, path, *a, **k)

    monkeypatch.setattr(WriteRun, "apply", apply)


def test_a_scan_leaves_a_genre_another_program_wrote_after_its_decision(flac, tiny_model_path, monkeypatch, capsys, tmp_path):
    _scan_with_a_tagger_in_between(monkeypatch, "Jazz")
    report = tmp_path / "r.json"
    code, out, err = run(_scan(tiny_model_path, str(flac), "--json", str(report)), capsys)
    assert code == 0, err
    (rec,) = json.loads(report.read_text())
    assert rec["status"] == "changed-since-scan" and rec["previous"] == ["Jazz"], rec
    assert read_tags(flac).genres == ["Jazz"]
    assert "changed since the scan, left as it is" in out and "now Jazz" in out
    assert ": 1 changed since the scan, left as it is" in out  # the summary, in words


def test_an_overwriting_scan_replaces_what_is_there_now_and_says_so(flac, tiny_model_path, monkeypatch, capsys, tmp_path):
    _other_program_sets_genre(flac, "Polka")  # the scan sees Polka
    _scan_with_a_tagger_in_between(monkeypatch, "Jazz")  # and Jazz is there at the write
    report = tmp_path / "r.json"
    code, out, err = run(_scan(tiny_model_path, str(flac), "--overwrite", "--json", str(report)), capsys)
    (rec,) = json.loads(report.read_text())
    assert code == 0 and rec["status"] == "tagged" and rec["previous"] == ["Jazz"], rec
    assert read_tags(flac).genres == rec["genres"] != ["Jazz"]


def test_the_apps_write_of_an_older_review_leaves_a_genre_set_since(qtbot, tmp_path, tiny_model_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from genre_tagger.gui.main_window import MainWindow
    from genre_tagger.gui.settings import AppSettings
    from genre_tagger.library.review import KEEPS, WILL_WRITE, WRITTEN

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    lib = tmp_path / "lib"
    lib.mkdir()
    a, b = (write_audio(lib / f"{i} song.flac", "flac", seconds=4.0, seed=i) for i in range(2))
    w = MainWindow(model_path=str(tiny_model_path))
    qtbot.addWidget(w)
    w.apply_settings(AppSettings(min_confidence=0.0, workers=1))
    w.set_folder(str(lib))
    qtbot.waitUntil(lambda: w.worker is None, timeout=60000)
    assert {it.category for it in w.review.items} == {WILL_WRITE}
    _other_program_sets_genre(a, "Jazz")  # after the review was made
    monkeypatch.setattr(w, "confirm_write", lambda plan, note: True)
    w.write(selected=False)
    qtbot.waitUntil(lambda: not w.writing, timeout=30000)
    assert read_tags(a).genres == ["Jazz"] and read_tags(b).genres not in ([], ["Jazz"])
    by_name = {it.path.name: it for it in w.review.items}
    assert by_name[a.name].current == ["Jazz"] and by_name[a.name].category == KEEPS
    assert by_name[b.name].category == WRITTEN
    msg = w.statusBar().currentMessage()
    assert "Wrote genres into 1 file" in msg and "1 changed since the scan, left as it is (another program" in msg, msg


# -- 3. a full disk under the journal ------------------------------------------------------


def test_too_little_free_space_for_the_journal_is_one_line_naming_its_folder(flac, monkeypatch, capsys, _isolated_data_dir):
    monkeypatch.setattr(Journal, "free_space", lambda self: 96 << 10)
    before = flac.read_bytes()
    code, out, err = run(["--set", "Rock", str(flac)], capsys)
    assert code == 2 and flac.read_bytes() == before
    (line,) = err.strip().splitlines()
    assert str(_isolated_data_dir) in line and "96 KB free" in line and "needed" in line, line
    monkeypatch.setattr(Journal, "free_space", lambda self: 1 << 40)
    code, out, err = run(["--undo"], capsys)
    assert code == 2 and "nothing to undo" in err


def test_a_disk_that_fills_during_a_scan_stops_it_in_one_line_and_the_run_is_interrupted(tmp_path, tiny_model_path, monkeypatch, capsys):
    files = [write_audio(tmp_path / f"{i}.flac", "flac", seconds=4.0, seed=i) for i in range(3)]
    free = iter([1 << 40] * 2)  # the run's start and the first write; then the disk is full
    monkeypatch.setattr(Journal, "free_space", lambda self: next(free, 10 << 10))
    before = {p: p.read_bytes() for p in files}
    code, out, err = run(_scan(tiny_model_path, str(tmp_path), "--min-confidence", "0"), capsys)
    assert code == 2 and "Traceback" not in err
    assert [ln for ln in err.splitlines() if "not enough free space for the journal" in ln and "10 KB free" in ln], err
    written = [p for p in files if p.read_bytes() != before[p]]
    assert len(written) == 1 and read_tags(written[0]).genres != []
    monkeypatch.setattr(Journal, "free_space", lambda self: 1 << 40)
    (r,) = Journal().runs()
    assert r.interrupted and r.changes == 1
    code, out, err = run(["--undo"], capsys)
    assert code == 0 and all(p.read_bytes() == before[p] for p in files), err


def test_sqlite_finding_the_disk_full_at_the_end_of_a_run_is_one_line_not_a_traceback(flac, monkeypatch, capsys):
    import sqlite3

    import genre_tagger.tagstore.journal as journal_mod

    class Full:  # SQLite's connection, whose commit that finishes a run finds the disk full
        def __init__(self, db):
            self._db, self._finishing = db, False

        def execute(self, sql, *a):
            self._finishing = sql.startswith("UPDATE runs SET finished")
            return self._db.execute(sql, *a)

        def commit(self):
            if self._finishing:
                raise sqlite3.OperationalError("database or disk is full")
            self._db.commit()

        def __getattr__(self, name):
            return getattr(self._db, name)

    real = sqlite3.connect
    monkeypatch.setattr(journal_mod.sqlite3, "connect", lambda *a, **k: Full(real(*a, **k)))
    code, out, err = run(["--set", "Rock", str(flac)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not enough free space for the journal" in err, err
    monkeypatch.setattr(journal_mod.sqlite3, "connect", real)
    assert read_tags(flac).genres == ["Rock"]
    code, out, err = run(["--history"], capsys)  # reconciles what the full disk left pending
    (r,) = Journal().runs()
    assert r.interrupted and r.changes == 1, r  # and undoable
    code, out, err = run(["--undo"], capsys)
    assert code == 0 and read_tags(flac).genres == [], err


# -- 6. hard links ----------------------------------------------------------------------------


def _linked_needing_a_new_file(tmp_path: Path) -> tuple[Path, Path]:
    """An MP3 without a tag, too large to be rewritten in place (a tag must be added at its
    start), with a second hard link."""
    (tmp_path / "lib").mkdir()
    path = write_audio(tmp_path / "lib" / "a.mp3", "mp3", seconds=8.0)
    data = path.read_bytes()
    assert data[:3] != b"ID3"
    path.write_bytes(data * (1 + (300 << 10) // len(data)))  # whole MPEG frames, repeated
    other = tmp_path / "other.mp3"
    os.link(path, other)
    return path, other


@pytest.mark.parametrize("shift_off", [True, False], ids=["copy path", "block moves where the file system has them"])
def test_a_hard_linked_file_keeps_its_links_on_every_write_path_and_undo(shift_off, tmp_path, monkeypatch):
    import shiftemu

    if shift_off:
        monkeypatch.setenv("GENRE_TAGGER_SHIFT", "off")
    else:
        shiftemu.install(tmp_path, monkeypatch.setattr)
    path, other = _linked_needing_a_new_file(tmp_path)
    original, ino = path.read_bytes(), path.stat().st_ino
    j = Journal()
    with WriteRun(j, "t") as run:
        assert run.apply(path, ["Rock", "Pop", "Jazz Fusion " * 800]).status == TAGGED  # grows at the start
        assert run.apply(path, ["Blues"]).status == TAGGED  # in place
    assert path.stat().st_ino == ino and path.stat().st_nlink == 2
    assert other.read_bytes() == path.read_bytes() and read_tags(other).genres == ["Blues"]
    from genre_tagger.tagstore.undo import undo_run

    _, res = undo_run(j)
    assert all(r.status == TAGGED for r in res), [r.error for r in res]
    assert path.read_bytes() == other.read_bytes() == original and path.stat().st_ino == ino
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.mp3"]  # no temporary file left


@pytest.mark.parametrize("step", ["journaled", "temp-written", "copy-half", "copied", "done"])
def test_a_kill_while_a_hard_linked_file_is_copied_back_is_recovered_and_undoable(step, tmp_path, _isolated_data_dir, no_shift):
    import subprocess
    import sys

    from genre_tagger.tagstore.recover import recover
    from genre_tagger.tagstore.undo import undo_run

    path, other = _linked_needing_a_new_file(tmp_path)
    original = path.read_bytes()
    code = (
        "import sys\nfrom genre_tagger.tagstore.journal import Journal\nfrom genre_tagger.tagstore.write import WriteRun\n"
        "with WriteRun(Journal(), 'crash test') as run:\n    r = run.apply(sys.argv[1], ['Rock', 'Jazz Fusion ' * 800])\n"
        "    sys.exit(0 if r.status == 'tagged' else 3)\n"
    )
    env = dict(os.environ, GENRE_TAGGER_CRASH_AT=step, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    assert subprocess.run([sys.executable, "-c", code, str(path)], env=env, timeout=60).returncode == 86
    j = Journal()
    recover(j)
    data = path.read_bytes()
    assert other.read_bytes() == data and path.stat().st_nlink == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.mp3"]
    (r,) = j.runs()
    (note,) = j.db.execute("SELECT note FROM writes").fetchone()
    if step == "copy-half":  # the original half overwritten: finished from the temporary file
        assert note == "interrupted during the write; the write was completed", note
    if data == original:
        assert step in ("journaled", "temp-written") and r.changes == 0
    else:
        assert read_tags(path).genres[0] == "Rock" and r.changes == 1 and step not in ("journaled", "temp-written")
        _, (u,) = undo_run(j)
        assert u.status == TAGGED and path.read_bytes() == other.read_bytes() == original, u.error


# -- 4. damaged Ogg pages -----------------------------------------------------------------------


def _ogg_pages(b: bytes) -> list[tuple[int, int]]:
    out, pos = [], 0
    while pos + 27 <= len(b) and b[pos : pos + 4] == b"OggS":
        n = b[pos + 26]
        length = 27 + n + sum(b[pos + 27 : pos + 27 + n])
        out.append((pos, length))
        pos += length
    return out


def _crc_ok(page: bytes) -> bool:
    """The page's checksum, computed here (Ogg's CRC-32: polynomial 0x04C11DB7, no reflection)."""
    crc = 0
    for byte in page[:22] + b"\0\0\0\0" + page[26:]:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc.to_bytes(4, "little") == page[22:26]


def test_a_damaged_ogg_page_renumbered_by_a_write_stays_damaged_and_decodes_as_before(tmp_path):
    import soundfile

    path = write_audio(tmp_path / "a.ogg", "ogg", seconds=8.0)
    data = bytearray(path.read_bytes())
    pages = _ogg_pages(bytes(data))
    pos, length = pages[-4]  # an audio page: one byte of its body flipped, its checksum now wrong
    data[pos + length - 10] ^= 0x55
    path.write_bytes(bytes(data))
    assert not _crc_ok(bytes(data[pos : pos + length]))
    decoded = soundfile.read(str(path))[0]
    with WriteRun(Journal(), "t") as run:  # a comment this long takes more header pages: every page renumbered
        assert run.apply(path, ["Rock " * 14000]).status == TAGGED
    new = path.read_bytes()
    new_pages = _ogg_pages(new)
    assert len(new_pages) > len(pages)
    (npos, nlen) = new_pages[-4]
    assert new[npos + 18 : npos + 22] != data[pos + 18 : pos + 22]  # renumbered
    assert new[npos + 26 : npos + nlen] == data[pos + 26 : pos + length]  # its content as it was
    assert not _crc_ok(new[npos : npos + nlen])  # and still damaged
    assert all(_crc_ok(new[a : a + n]) for a, n in new_pages[:-4] + new_pages[-3:])  # the others valid, as they were
    assert (soundfile.read(str(path))[0] == decoded).all()  # decoders drop what they dropped


# -- 8. an ID3v2 tag appended at the end ----------------------------------------------------------


@pytest.mark.parametrize("v1", [False, True], ids=["at the end", "before an ID3v1 tag"])
def test_an_mp3_with_an_id3v2_tag_appended_at_the_end_is_refused_with_the_reason(v1, tmp_path):
    from tagcorpus import frame, id3v1, syncsafe

    audio = write_audio(tmp_path / "src.mp3", "mp3", seconds=4.0).read_bytes()
    body = frame("TCON", b"\x03Jazz\x00", 4)
    appended = b"ID3\x04\x00\x10" + syncsafe(len(body)) + body + b"3DI\x04\x00\x10" + syncsafe(len(body))
    path = tmp_path / "a.mp3"
    path.write_bytes(audio + appended + (id3v1(b"Title", 8) if v1 else b""))
    before = path.read_bytes()
    with WriteRun(Journal(), "t") as run:
        res = run.apply(path, ["Rock"])
    assert res.status == "error" and "appended at the end" in res.error and "\n" not in res.error, res.error
    assert path.read_bytes() == before


# -- 5. ADTS .aac --------------------------------------------------------------------------------


def test_an_untagged_adts_file_gets_an_apev2_tag_that_mutagen_and_ffmpeg_read(tmp_path):
    """An ID3v2 tag in front of ADTS makes mutagen.File() (Picard, beets, Quod Libet) take
    the file for MP3 and raise; an APEv2 tag at the end (Picard's own layout for .aac) is
    read by mutagen and FFmpeg, and the audio stays where it is."""
    import av
    import mutagen
    from mutagen.apev2 import APEv2

    from devtools.synth import _write_av, synth_music
    from genre_tagger.tagstore.undo import undo_run

    path = tmp_path / "a.aac"
    _write_av(path, synth_music(4.0, 22050), 22050, "aac", "adts")
    before = path.read_bytes()
    with av.open(str(path)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    j = Journal()
    with WriteRun(j, "t") as run:
        res = run.apply(path, ["Rock", "Pop"])
        assert res.status == TAGGED and res.bytes_written < 200, res.error  # appended in place
    data = path.read_bytes()
    assert data[: len(before)] == before and read_tags(path).genres == ["Rock", "Pop"]
    f = mutagen.File(str(path))  # what Picard, beets and Quod Libet call first
    assert f is not None and list(APEv2(str(path))["Genre"]) == ["Rock", "Pop"]
    with av.open(str(path)) as c:  # FFmpeg (players)
        assert sum(fr.samples for fr in c.decode(audio=0)) == samples and c.metadata.get("Genre", c.metadata.get("genre"))
    _, (u,) = undo_run(j)
    assert u.status == TAGGED and path.read_bytes() == before, u.error


