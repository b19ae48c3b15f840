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
    assert "changed since the scan, left as it is" in out and "now Jazz" in out and "1 changed-since-scan" in out


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
    assert "Wrote genres into 1 file" in msg and "1 left as another program changed it after the scan" in msg, msg
