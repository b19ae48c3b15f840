"""The desktop app, offscreen with pytest-qt: first start, open -> scan -> review -> write
(with preview) -> undo, sorting, decisions across rescans and restarts, settings applied
to current results, shortcuts, and responsiveness while 1 000 fake tracks arrive."""

import html
import os
import random
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from devtools.synth import write_audio
from genre_tagger.gui.main_window import MainWindow
from genre_tagger.gui.settings import AppSettings
from genre_tagger.gui.track_model import COL_CONFIDENCE, COL_FILE, COL_STATUS
from genre_tagger.library.review import FAILED, KEEPS, REJECTED, UNSURE, WILL_WRITE, WRITTEN
from genre_tagger.library.scanner import FileResult
from genre_tagger.tagstore.tags import read_tags
from genre_tagger.tagstore.write import write_genres


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    yield


@pytest.fixture()
def library(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i, fmt in enumerate(["flac", "mp3", "ogg", "m4a"]):
        write_audio(lib / f"{i} song.{fmt}", fmt, seconds=4.0, seed=i)
    write_genres(lib / "3 song.m4a", ["Polka"])
    (lib / "broken.mp3").write_bytes(b"\0" * 100)
    return lib


def _window(qtbot, model, **kw) -> MainWindow:
    w = MainWindow(model_path=str(model), **kw)
    qtbot.addWidget(w)
    w.settings.workers = 1
    return w


def _scan(qtbot, w: MainWindow, folder) -> MainWindow:
    w.set_folder(str(folder))  # opening a folder starts its scan
    qtbot.waitUntil(lambda: w.worker is None, timeout=60000)
    return w


@pytest.fixture()
def scanned(qtbot, library, tiny_model_path):
    """A main window that has scanned ``library`` with the tiny model, everything shown as would-be-written."""
    w = _window(qtbot, tiny_model_path)
    w.apply_settings(AppSettings(min_confidence=0.0, workers=1))
    return _scan(qtbot, w, library)


def _row(w: MainWindow, name: str) -> int:
    return next(i for i, it in enumerate(w.review.items) if it.path.name == name)


def _select(w: MainWindow, *names: str) -> None:
    w.table.clearSelection()
    for n in names:
        proxy_row = w.proxy.mapFromSource(w.model.index(_row(w, n), 0)).row()
        w.table.selectionModel().select(w.proxy.index(proxy_row, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)


def _answer_preview(qtbot, accept: bool, seen: dict) -> None:
    """Answer the write preview once it is open; note what it showed."""

    def answer():
        dlg = QApplication.activeModalWidget()
        if dlg is None or dlg.objectName() != "writePreview":
            QTimer.singleShot(20, answer)
            return
        seen["summary"] = dlg.summary.text()
        seen["rows"] = [tuple(dlg.table.item(r, c).text() for c in range(3)) for r in range(dlg.table.rowCount())]
        seen["button"] = dlg.write_button.text()
        (dlg.accept if accept else dlg.reject)()

    QTimer.singleShot(0, answer)


def test_first_start(qtbot, tiny_model_path):
    w = _window(qtbot, tiny_model_path)
    w.show()
    assert w.pages.currentWidget() is w.welcome and w.welcome.open_button.isEnabled()
    assert "Open a music folder" in w.welcome.open_button.text()
    assert w.windowTitle() == "genre-tagger"
    for a in (w.act_scan, w.act_cancel, w.act_accept, w.act_reject, w.act_set, w.act_write_sel, w.act_write_all,
              w.act_undo, w.act_playlists):  # fmt: skip
        assert not a.isEnabled(), a.text()
    assert w.act_open.isEnabled() and w.act_settings.isEnabled()
    assert not w.progress.isVisible()  # no empty progress bar while idle
    w.apply_settings(AppSettings(workers=1))
    assert w.statusBar().currentMessage() == "Settings saved; they apply to the next scan."


def test_open_review_preview_write_undo(qtbot, scanned, library, monkeypatch):
    w = scanned
    assert w.windowTitle().startswith("lib — ") and w.pages.currentIndex() == 1
    assert not w.progress.isVisible() and w.rate_label.text() == ""
    cat = {it.path.name: it.category for it in w.review.items}
    assert cat == {"0 song.flac": WILL_WRITE, "1 song.mp3": WILL_WRITE, "2 song.ogg": WILL_WRITE, "3 song.m4a": KEEPS, "broken.mp3": FAILED}
    assert w.review.items[_row(w, "broken.mp3")].error  # the reason, shown in full in the details pane
    _select(w, "broken.mp3")
    assert html.escape(w.review.items[_row(w, "broken.mp3")].error, quote=False) in w.details.info.text()
    assert "not an audio file" in w.details.info.text() and "BufferedReader" not in w.details.info.text()
    chart = w.details.track_chart  # a selected track without genres: its chart says why, not "Select a track"
    assert chart.items == []
    assert "Select a track" not in chart.empty_text and "could not be read" in chart.empty_text

    # reject the mp3, set the ogg's genre with one click, accept the kept m4a: asks before replacing Polka
    _select(w, "1 song.mp3")
    w.reject_selected()
    _select(w, "2 song.ogg")
    w.apply_genre("Shoegaze")
    asked = []
    w.confirm_replace = lambda rows: asked.append(rows) or False
    _select(w, "3 song.m4a")
    w.accept_selected()
    assert asked and w.review.items[_row(w, "3 song.m4a")].category == KEEPS  # declined: Polka stays
    w.confirm_replace = lambda rows: True
    w.accept_selected()
    m4a = w.review.items[_row(w, "3 song.m4a")]
    assert m4a.category == WILL_WRITE and m4a.new != ["Polka"]

    # Write All: a preview first; cancelling it writes nothing
    seen: dict = {}
    _answer_preview(qtbot, False, seen)
    w.write(selected=False)
    assert "Write genres into 3 files?" in seen["summary"] and seen["button"] == "Write 3 files"
    assert read_tags(library / "2 song.ogg").genres == [] and "nothing was changed" in w.statusBar().currentMessage()
    _answer_preview(qtbot, True, seen)
    w.write(selected=False)
    assert sorted(r[0] for r in seen["rows"]) == ["0 song.flac", "2 song.ogg", "3 song.m4a"]
    assert ("3 song.m4a", "Polka", "; ".join(m4a.new)) in seen["rows"]
    qtbot.waitUntil(lambda: not w.writing, timeout=20000)
    assert read_tags(library / "1 song.mp3").genres == []
    assert read_tags(library / "2 song.ogg").genres == ["Shoegaze"]
    assert read_tags(library / "3 song.m4a").genres == m4a.new
    flac = w.review.items[_row(w, "0 song.flac")]
    assert read_tags(library / "0 song.flac").genres == flac.current and flac.category == WRITTEN
    assert w.statusBar().currentMessage().startswith("Wrote genres into 3 files.")
    assert w.act_undo.isEnabled() and not w.act_write_all.isEnabled()  # nothing left to write

    written = w.make_playlists(str(library / "lists"))
    assert "Shoegaze" in written and written["Shoegaze"].read_text().startswith("#EXTM3U")
    assert not any("mp3" in p.read_text() for p in written.values())  # rejected, no genre

    w.undo_last()
    qtbot.waitUntil(lambda: not w.writing, timeout=20000)
    assert w.statusBar().currentMessage().startswith("Undo: restored the genres of 3 files")
    assert read_tags(library / "2 song.ogg").genres == []
    assert read_tags(library / "3 song.m4a").genres == ["Polka"]
    assert read_tags(library / "0 song.flac").genres == []
    assert w.review.items[_row(w, "3 song.m4a")].current == ["Polka"]

    # the history says what was written, in plain words (the m4a's "Replace" wrote the model's guess)
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    w.show_history()
    undo, write = shown[0].splitlines()[:2]
    undo_id, write_id = undo.split(":")[0], write.split(":")[0]
    assert undo.endswith(f" — Undo of write {write_id}, 3 files")
    name = "Wrote the model's genres and genres set by hand: Shoegaze (reviewed in the app)"
    assert write.endswith(f" — {name}, 3 files (undone by {undo_id})")


def test_history_names_runs_in_plain_words(qtbot, tiny_model_path, monkeypatch, capsys):
    """The app's writes were all called "gui write"; journals written then still read well."""
    from genre_tagger.cli import main
    from genre_tagger.tagstore.journal import Journal

    j = Journal()  # as an older version left it
    for name in ("gui write", "Set genre by hand: Jazz (reviewed in the app)", "scan /music"):
        j.finish_run(j.start_run(name))
    j.close()
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    _window(qtbot, tiny_model_path).show_history()
    names = ["scan /music", "Set genre by hand: Jazz (reviewed in the app)", "Wrote genres (reviewed in the app)"]
    assert [line.split(" — ")[1] for line in shown[0].splitlines()] == [f"{n}, 0 files" for n in names]
    assert main(["--history"]) == 0
    assert [line.split(" files  ")[1] for line in capsys.readouterr().out.splitlines()] == names


def test_history_with_an_unopenable_journal_is_a_message_not_a_crash(qtbot, tiny_model_path, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(("info", text)))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(("warning", text)))
    w = _window(qtbot, tiny_model_path)
    w.show_history()
    assert shown == [("info", "Nothing has been written yet.")]
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"")  # the data folder cannot be created (as on a read-only or full disk)
    monkeypatch.setenv("GENRE_TAGGER_DATA_DIR", str(blocker / "data"))
    w.show_history()  # raised JournalError out of the slot before
    assert shown[1][0] == "warning" and "cannot open the journal" in shown[1][1] and "Traceback" not in shown[1][1]


def test_unsure_tracks_need_an_explicit_accept(qtbot, library, tiny_model_path):
    w = _scan(qtbot, _window(qtbot, tiny_model_path), library)
    w.apply_settings(AppSettings(min_confidence=1.0, workers=1))  # nothing is sure enough
    assert w.review.count(UNSURE) == 3 and not w.act_write_all.isEnabled()
    w.write(selected=False)
    assert "3 unsure tracks are not written" in w.statusBar().currentMessage()
    _select(w, "0 song.flac")
    w.accept_selected()
    assert w.review.plan() and [p.name for _, p, _, _ in w.review.plan()] == ["0 song.flac"]


def test_settings_re_evaluate_current_results(qtbot, scanned):
    w = scanned
    m4a = _row(w, "3 song.m4a")
    assert w.review.items[m4a].category == KEEPS
    w.apply_settings(AppSettings(overwrite=True, min_confidence=0.0, workers=1))  # no rescan
    assert w.worker is None and w.review.items[m4a].category == WILL_WRITE
    assert w.proxy.data(w.proxy.index(w.proxy.mapFromSource(w.model.index(m4a, 0)).row(), COL_STATUS)) == WILL_WRITE
    assert w.statusBar().currentMessage() == "Settings applied: 1 track changed."
    w.apply_settings(AppSettings(overwrite=True, min_confidence=0.0, workers=1))  # the same again
    assert w.statusBar().currentMessage() == "Settings applied: no track changes."  # was "0 tracks changed"
    # another vocabulary and genre names: relabelled from the probabilities every result carries
    library_names = {g for it in w.review.items for g, _ in it.result.top}
    w.apply_settings(AppSettings(overwrite=True, min_confidence=0.0, workers=1, vocabulary="gtzan", mapping={"hip-hop": "Rap"}))
    gtzan_names = {g for it in w.review.items for g, _ in it.result.top}
    assert "Electronic" in library_names and "Electronic" not in gtzan_names
    assert "Rap" in gtzan_names and "Hip-Hop" not in gtzan_names and w.worker is None


def test_results_arriving_after_a_settings_change_use_the_new_vocabulary(qtbot, tiny_model_path):
    from genre_tagger.library.scanner import summarise
    from genre_tagger.listen.model import Classification

    w = _window(qtbot, tiny_model_path)
    lib, gtzan = w.meta.vocabulary("library"), w.meta.vocabulary("gtzan")
    c = Classification({"library": {g: (0.9 if g == "electronic" else 0.1 / 12) for g in lib.genres},
                        "gtzan": {g: (0.6 if g == "pop" else 0.4 / 9) for g in gtzan.genres}})  # fmt: skip
    top, tags = summarise(c, w.meta, "library")
    w._scan_view = ("library", {})  # a scan started with the library vocabulary...
    w.apply_settings(AppSettings(vocabulary="gtzan", min_confidence=0.0))  # ...and the user switched during it
    w._on_results([FileResult(Path("/x/a.mp3"), "would-tag", genres=["Electronic"], top=top, tags=tags, classification=c)])
    assert w.review.items[0].predicted == "Pop" and w.review.items[0].new == ["Pop"]


class FakeScanner:
    """Results for ``FILES`` (real files, so decisions can be keyed), in a shuffled order."""

    FILES: list[Path] = []
    CONF: dict[str, float] = {}

    def __init__(self, options):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    def scan(self, roots, on_total=None):
        files = list(self.FILES)
        random.Random(1).shuffle(files)
        on_total(len(files))
        for p in files:
            c = self.CONF[p.name]
            yield FileResult(p, "would-tag", genres=["Rock"], top=[("Rock", c), ("Pop", 1 - c)], artist="A", title=p.stem)


@pytest.fixture()
def fake_library(tmp_path):
    d = tmp_path / "fake"
    d.mkdir()
    rng = random.Random(0)
    FakeScanner.FILES = []
    for i in range(40):
        p = d / f"{i:02d}.mp3"
        p.write_bytes(b"x" * (i + 1))
        FakeScanner.FILES.append(p)
        FakeScanner.CONF[p.name] = round(rng.uniform(0.05, 0.99), 3)
    return d


class FakeScannerUntilCancelled(FakeScanner):
    """FakeScanner's results, then it waits to be cancelled (a scan that never finishes)."""

    def scan(self, roots, on_total=None):
        yield from super().scan(roots, on_total)
        while not self.cancelled:
            time.sleep(0.01)


def test_a_finished_scan_forgets_the_decisions_of_deleted_files(qtbot, fake_library, tiny_model_path):
    w = _window(qtbot, tiny_model_path, scanner_factory=FakeScanner)
    _scan(qtbot, w, fake_library)
    _select(w, "00.mp3", "01.mp3", "02.mp3")
    w.reject_selected()

    def stored():
        return {Path(os.fsdecode(bytes(row[0]))).name for row in w.review.store.db.execute("SELECT path FROM decisions")}

    assert stored() == {"00.mp3", "01.mp3", "02.mp3"}
    for name in ("00.mp3", "01.mp3"):
        (fake_library / name).unlink()
        FakeScanner.FILES.remove(fake_library / name)
    w.scanner_factory = FakeScannerUntilCancelled
    w.start_scan()
    qtbot.waitUntil(lambda: w.worker.scanner is not None, timeout=10000)
    qtbot.wait(100)
    w.cancel_scan()
    qtbot.waitUntil(lambda: w.worker is None, timeout=10000)
    assert len(w.review) == 38
    assert stored() == {"00.mp3", "01.mp3", "02.mp3"}  # a cancelled scan did not see every file: nothing forgotten
    w.scanner_factory = FakeScanner
    w.start_scan()
    qtbot.waitUntil(lambda: w.worker is None, timeout=10000)
    assert stored() == {"02.mp3"}
    assert w.review.items[_row(w, "02.mp3")].category == REJECTED


def _shown(w: MainWindow, col: int) -> list:
    return [w.proxy.index(r, col).data(Qt.DisplayRole) for r in range(w.proxy.rowCount())]


def _confidences(w: MainWindow) -> list[float]:
    return [w.review.items[w.proxy.mapToSource(w.proxy.index(r, 0)).row()].confidence for r in range(w.proxy.rowCount())]


def test_sorted_at_all_times(qtbot, fake_library, tiny_model_path):
    w = _window(qtbot, tiny_model_path, scanner_factory=FakeScanner)
    w.show()
    assert w.table.horizontalHeader().sortIndicatorSection() == COL_FILE
    _scan(qtbot, w, fake_library)
    names = _shown(w, COL_FILE)
    assert names == sorted(names) and len(names) == 40  # arrived shuffled, shown sorted
    w.table.sortByColumn(COL_CONFIDENCE, Qt.DescendingOrder)
    assert _confidences(w) == sorted(_confidences(w), reverse=True)
    # rows coming back after a filter change land in sorted place
    w.search.setText("1")
    assert 0 < w.proxy.rowCount() < 40 and _confidences(w) == sorted(_confidences(w), reverse=True)
    w.search.setText("")
    w.apply_settings(AppSettings(min_confidence=0.5, workers=1))
    w.status_filter.setCurrentIndex(w.status_filter.findData(UNSURE))
    assert all(c < 0.5 for c in _confidences(w))
    w.status_filter.setCurrentIndex(0)
    got = _confidences(w)
    assert len(got) == 40 and got == sorted(got, reverse=True)
    # a decision changes a row's status: the status column stays sorted
    w.table.sortByColumn(COL_STATUS, Qt.AscendingOrder)
    _select(w, "07.mp3")
    w.reject_selected()
    statuses = _shown(w, COL_STATUS)
    assert statuses == sorted(statuses, key=str.lower) and REJECTED in statuses
    # a rescan: sorted while rows arrive and after
    w.start_scan()
    qtbot.waitUntil(lambda: w.worker is None, timeout=10000)
    statuses = _shown(w, COL_STATUS)
    assert statuses == sorted(statuses, key=str.lower)


def test_decisions_survive_rescan_and_restart(qtbot, fake_library, tiny_model_path):
    w = _scan(qtbot, _window(qtbot, tiny_model_path, scanner_factory=FakeScanner), fake_library)
    _select(w, "03.mp3")
    w.reject_selected()
    _select(w, "04.mp3")
    w.apply_genre("Shoegaze")
    w.start_scan()  # rescan
    qtbot.waitUntil(lambda: w.worker is None, timeout=10000)
    assert w.review.items[_row(w, "03.mp3")].category == REJECTED
    assert w.review.items[_row(w, "04.mp3")].new == ["Shoegaze"]
    w.close()
    w2 = _scan(qtbot, _window(qtbot, tiny_model_path, scanner_factory=FakeScanner), fake_library)  # restart
    assert w2.review.items[_row(w2, "03.mp3")].category == REJECTED
    assert w2.review.items[_row(w2, "04.mp3")].label == "Will write (your genre)"
    assert w2.review.plan([_row(w2, "03.mp3")]) == []  # Write All will not write a rejected track
    (fake_library / "03.mp3").write_bytes(b"changed since")  # a changed file is reviewed afresh
    w2.start_scan()
    qtbot.waitUntil(lambda: w2.worker is None, timeout=10000)
    assert w2.review.items[_row(w2, "03.mp3")].category != REJECTED


def test_column_widths_and_sort_are_remembered(qtbot, fake_library, tiny_model_path):
    w = _window(qtbot, tiny_model_path, scanner_factory=FakeScanner)
    w.resize(1280, 800)
    w.show()
    _scan(qtbot, w, fake_library)
    qtbot.wait(50)
    header = w.table.horizontalHeader()
    assert header.sectionSize(COL_FILE) > header.sectionSize(COL_CONFIDENCE)  # file names get the space
    header.resizeSection(COL_FILE, 333)
    w.table.sortByColumn(COL_CONFIDENCE, Qt.DescendingOrder)
    w.close()
    w2 = _scan(qtbot, _window(qtbot, tiny_model_path, scanner_factory=FakeScanner), fake_library)
    w2.show()
    h2 = w2.table.horizontalHeader()
    assert h2.sectionSize(COL_FILE) == 333
    assert (h2.sortIndicatorSection(), h2.sortIndicatorOrder()) == (COL_CONFIDENCE, Qt.DescendingOrder)
    assert _confidences(w2) == sorted(_confidences(w2), reverse=True)


def test_default_columns_fit_a_genre_name(qtbot, fake_library, tiny_model_path):
    """At 1280 px nothing is saved yet: the Guess column (last, after empty artist/title
    columns) showed "Ele…nic" for Electronic."""
    from genre_tagger.gui.track_model import COL_GUESS, COL_NOW

    w = _window(qtbot, tiny_model_path, scanner_factory=FakeScanner)
    w.resize(1280, 800)
    w.show()
    _scan(qtbot, w, fake_library)
    qtbot.wait(50)
    header, fm = w.table.horizontalHeader(), w.table.fontMetrics()
    for col in (COL_GUESS, COL_NOW):
        assert not header.isSectionHidden(col)
        assert header.sectionSize(col) >= fm.horizontalAdvance("Electronic") + 8, col


def _stacked(w: MainWindow) -> bool:
    """The search box is on a row above the filters."""
    return w.search.geometry().bottom() < min(f.geometry().top() for f in (w.genre_filter, w.status_filter, w.conf_filter))


def test_window_is_usable_at_640x480(qtbot, fake_library, tiny_model_path):
    """The window could not shrink below ~720 px: the filter row (search box, two combo
    boxes, the confidence box) stood beside the details pane. Below the row's width the
    search box now gets a row of its own (and the status bar's scan rate fits too)."""
    w = _window(qtbot, tiny_model_path, scanner_factory=FakeScanner)
    w.resize(1280, 800)
    w.show()
    assert w.minimumSizeHint().width() <= 640  # the first start
    _scan(qtbot, w, fake_library)
    qtbot.wait(50)
    assert not _stacked(w)  # wide: one row
    w.rate_label.setText("12345 of 123456 tracks, 123.4 per second — about 12:34:56 left")  # as during a large scan
    w.progress.show()
    hint = w.minimumSizeHint()
    assert hint.width() <= 640 and hint.height() <= 480, hint
    w.resize(640, 480)
    qtbot.waitUntil(lambda: w.width() == 640 and w.height() == 480, timeout=5000)
    qtbot.wait(50)
    assert _stacked(w) and w.genre_filter.y() == w.status_filter.y() == w.conf_filter.y()  # narrow: search above
    for widget in (w.search, w.genre_filter, w.status_filter, w.conf_filter, w.table, w.details):
        assert widget.isVisible() and widget.width() >= widget.minimumSizeHint().width(), widget
        right = widget.mapTo(w, widget.rect().topRight()).x()
        assert right <= w.width(), widget  # nothing cut off at the window's right edge
    assert w.table.viewport().height() > 5 * w.table.verticalHeader().defaultSectionSize()  # rows to work with
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: not _stacked(w), timeout=5000)  # one row again


def test_open_folder_dialog_starts_in_the_last_folder(qtbot, tmp_path, tiny_model_path, monkeypatch):
    from genre_tagger.gui import main_window

    seen = []
    monkeypatch.setattr(main_window.QFileDialog, "getExistingDirectory", lambda parent, title, start: seen.append(start) or "")
    w = _window(qtbot, tiny_model_path)
    w.settings.add_recent(str(tmp_path))  # as a folder opened before a restart
    w.choose_folder()
    assert seen == [str(tmp_path)]


def test_shortcuts_everywhere(qtbot, tiny_model_path):
    w = _window(qtbot, tiny_model_path)
    expected = {"act_open": "Ctrl+O", "act_scan": "F5", "act_write_all": "Ctrl+Shift+S", "act_undo": "Ctrl+Z",
                "act_settings": "Ctrl+,", "act_accept": "Ctrl+Return", "act_reject": "Ctrl+Backspace", "act_quit": "Ctrl+Q"}  # fmt: skip
    for name, keys in expected.items():
        a = getattr(w, name)
        assert keys in [s.toString() for s in a.shortcuts()], name
    menu_actions = {a for m in w.menuBar().findChildren(type(w.menuBar().actions()[0].menu())) for a in m.actions()}
    for a in w.actions():
        if a.shortcuts():
            native = a.shortcuts()[0].toString(a.shortcuts()[0].SequenceFormat.NativeText)
            assert native in a.toolTip(), a.text()  # toolbar tooltips name the shortcut
            assert "&" not in a.statusTip(), a.statusTip()  # no mnemonic markers in the status bar
            assert a in menu_actions, a.text()  # and every one is in a menu (where Qt shows the keys)


def test_cancel_leaves_no_stale_progress(qtbot, tiny_model_path):
    w = _window(qtbot, tiny_model_path, scanner_factory=FakeSlowScanner)
    w.show()
    w.set_folder("/music")
    qtbot.waitUntil(lambda: len(w.review) > 0, timeout=10000)
    assert w.progress.isVisible()
    w.cancel_scan()
    qtbot.waitUntil(lambda: w.worker is None, timeout=10000)
    assert len(w.review) < 1000
    assert w.statusBar().currentMessage().startswith("Scan cancelled")
    assert not w.progress.isVisible() and w.rate_label.text() == ""


def test_opening_a_folder_during_a_scan_scans_it_next(qtbot, fake_library, tiny_model_path):
    w = _window(qtbot, tiny_model_path, scanner_factory=FakeSlowScanner)
    w.set_folder("/music")
    qtbot.waitUntil(lambda: len(w.review) > 0, timeout=10000)
    w.scanner_factory = FakeScanner
    w.set_folder(str(fake_library))  # the first scan stops, then the new folder is scanned
    assert "Stopping the current scan" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.worker is None and len(w.review) == 40, timeout=10000)
    assert w.windowTitle().startswith("fake — ") and all(it.path.parent == fake_library for it in w.review.items)


def test_charts_stay_legible_when_small(qtbot):
    from PySide6.QtGui import QColor, QImage

    from genre_tagger.gui.charts import BarChart, genre_color

    assert genre_color("Hip-Hop") == genre_color("Rap") == genre_color("hiphop")  # one colour per genre, any name
    assert genre_color("Rock") != genre_color("Pop") and genre_color("Polka") == genre_color("polka")
    c = BarChart("Library", percent=False)
    qtbot.addWidget(c)
    c.set_items([(f"Genre {i}", 20 - i) for i in range(20)])
    c.resize(180, 120)
    img = QImage(c.size(), QImage.Format_ARGB32)
    img.fill(QColor("white"))
    c.render(img)
    bar = genre_color("Genre 0").rgb()
    widest = max(sum(1 for x in range(img.width()) if img.pixel(x, y) == bar) for y in range(img.height()))
    assert widest >= 20  # the biggest bar keeps a readable length at 180 px


class FakeSlowScanner:
    """1 000 tracks, ~2 ms each, produced on the worker thread."""

    def __init__(self, options):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    def scan(self, roots, on_total=None):
        on_total(1000)
        for i in range(1000):
            if self.cancelled:
                return
            time.sleep(0.002)
            yield FileResult(Path(f"/music/{i:04d}.mp3"), "would-tag", genres=["Rock"], top=[("Rock", 0.9 - i % 89 / 100), ("Pop", 0.1)],
                             artist=f"A{i % 7}", title=f"T{i}")  # fmt: skip


def _max_gap(qtbot, seconds: float | None = None, until=None) -> tuple[float, int]:
    gaps, last = [], [time.monotonic()]

    def tick():
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    if until is None:
        qtbot.wait(int(seconds * 1000))
    else:
        qtbot.waitUntil(until, timeout=60000)
    timer.stop()
    # the largest gap but one: a single scheduler hiccup on a loaded machine is not a stall
    # (a GUI that blocks, blocks again and again)
    return (sorted(gaps)[-2] if len(gaps) > 1 else max(gaps, default=0.0)), len(gaps)


def test_event_loop_stays_responsive_during_a_1000_track_scan(qtbot, tiny_model_path):
    w = _window(qtbot, tiny_model_path, scanner_factory=FakeSlowScanner)
    w.show()
    w.table.sortByColumn(COL_CONFIDENCE, Qt.DescendingOrder)  # rows are inserted in sorted place
    idle, _ = _max_gap(qtbot, seconds=0.5)  # this machine's own hiccups, measured the same way
    w.set_folder("/music")
    worst, ticks = _max_gap(qtbot, until=lambda: w.worker is None)
    assert len(w.review) == 1000
    # the goal is no stall over ~100 ms; the limit is relative to the idle loop's worst gap (a loaded CI machine)
    limit = max(0.25, 3 * idle)
    assert worst < limit, f"event loop stalled for {worst * 1000:.0f} ms ({ticks} ticks; idle worst {idle * 1000:.0f} ms)"


def test_model_data_does_not_drain_none_refcount(qtbot):
    """PySide6 6.12 drops a reference to None per None returned from data(); the model
    must compensate (else the app aborts with 'deallocating None' after a while)."""
    import sys

    from genre_tagger.gui.track_model import TrackModel
    from genre_tagger.library.review import Review

    m = TrackModel(Review())
    m.add_results([FileResult(Path("/a.mp3"), "would-tag", top=[("Rock", 0.9)])])
    idx = m.index(0, 1)
    idx.data(Qt.DecorationRole)  # runs the probe
    before = sys.getrefcount(None)
    for _ in range(5000):
        idx.data(Qt.DecorationRole)
        idx.data(Qt.ToolTipRole)
    assert sys.getrefcount(None) >= before - 50


def test_settings_dialog_round_trip(qtbot, tiny_model_path):
    from genre_tagger.gui.settings import load_settings, save_settings
    from genre_tagger.gui.settings_dialog import SettingsDialog

    w = _window(qtbot, tiny_model_path)
    dlg = SettingsDialog(w.settings, w.meta, w)
    qtbot.addWidget(dlg)
    assert dlg.use_model.isChecked() and "30%" in dlg.use_model.text()  # the tiny model's library threshold
    dlg.vocabulary.setCurrentIndex(dlg.vocabulary.findData("gtzan"))
    assert "20%" in dlg.use_model.text() and "Electronic" not in dlg.genres_label.text()
    dlg.overwrite.setChecked(True)
    dlg.max_genres.setValue(2)
    dlg.id3.setCurrentIndex(1)
    dlg.mapping.setPlainText("Hip-Hop=Rap\n\nnot a mapping\n")  # a stray line is skipped
    s = dlg.result_settings()
    assert s.min_confidence is None and s.vocabulary == "gtzan"
    save_settings(s)
    loaded = load_settings()
    assert loaded.overwrite and loaded.max_genres == 2 and loaded.id3_version == 3 and loaded.mapping == {"hip-hop": "Rap"}
    assert loaded.vocabulary == "gtzan" and loaded.min_confidence is None
    assert loaded.policy(model_threshold=0.2).min_confidence == 0.2 and loaded.policy().mapping == {"hip-hop": "Rap"}
    dlg.use_model.setChecked(False)
    dlg.min_conf.setValue(55)
    assert dlg.result_settings().min_confidence == 0.55


def test_about_in_plain_words(tiny_model_path):
    from dataclasses import replace

    from genre_tagger.gui.about import about_text
    from genre_tagger.listen.model import load_info

    meta = load_info(tiny_model_path)
    text = about_text(meta, "")
    assert "Genres it can name</b> (13)" in text and "R&amp;B" in text and "at least 30% sure" in text
    assert "Genres it can name</b> (10)" in about_text(meta, "gtzan")
    figures = {"realmusic-extended-top1": {"value": 0.861, "n": 641, "protocol": "realmusic, grouped CV"},
               "ten-gtzan-genres-top1": {"value": 0.855, "n": 216, "protocol": "realmusic, clips with a GTZAN genre"},
               "written-precision": {"value": 0.93, "protocol": "realmusic"}, "coverage": {"value": 0.81, "n": 641},
               "fault-filtered-test": {"accuracy": 0.92, "n": 75}, "cv-block-cv": {"accuracy": 0.83, "n": 332}}  # fmt: skip
    vocab = replace(meta.vocabulary("library"), accuracy=figures)
    text = about_text(replace(meta, vocabularies=[vocab, meta.vocabulary("gtzan")]), "")
    assert "86% right on real recordings by artists it never heard in training <small>(641 tracks)" in text
    assert "86% right on real recordings whose genre is one of GTZAN's ten" in text
    assert "93% of the genres it writes with the default settings are right (real recordings)" in text
    assert "81% of real recordings get a genre" in text
    assert "92% right on the test clips of GTZAN" in text
    assert text.index("86%") < text.index("93%") < text.index("81%") < text.index("92%")  # real music first
    assert "cv-block" not in text and "83%" not in text and "msd-evidence" not in text  # developer figures stay in results/
    assert "Pretrained networks" not in text  # the tiny model names none
    lic = replace(meta, provenance={**meta.provenance, "licenses": {"EfficientAT mn04": "MIT License, Copyright (c) 2022 Florian Schmid"}})
    assert "EfficientAT mn04: MIT License, Copyright (c) 2022 Florian Schmid" in about_text(lic, "")
