"""The main window: open a folder (scans at once), review, write with a preview, undo.

It only displays a :class:`~genre_tagger.library.review.Review` and forwards the user's
choices to it; the write policy, decisions and statuses live there (Qt-free).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QThreadPool, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..errors import GenreTaggerError
from ..genres import canonical_names, spelling_changes
from ..library.albums import settings_for
from ..library.files import display_path
from ..library.playlists import write_playlists
from ..library.policy import CHANGED, ERROR, status_words
from ..library.progress import clock, rate_and_eta
from ..library.review import CATEGORIES, FAILED, READ_ONLY, UNSURE, WILL_WRITE, DecisionStore, Review, plural, predicted_genres
from ..library.scanner import FileResult, ScanOptions, summarise
from ..listen.model import load_info
from ..listen.modelmeta import ModelMeta
from ..tagstore.journal import Journal
from ..tagstore.write import Expect
from .about import show_about
from .details import DetailsPane
from .filter_bar import FilterBar
from .history import HistoryDialog
from .qtcompat import install_none_guard
from .settings import AppSettings, load_settings, qsettings, save_settings
from .settings_dialog import SettingsDialog
from .track_model import TrackFilter, TrackModel, genres_text
from .track_table import TrackTable
from .welcome import WelcomePage
from .workers import ScanWorker, WriteWorker
from .write_preview import WritePreviewDialog

APP = "genre-tagger"


def shortcut_text(keys: list[QKeySequence]) -> str:
    return keys[0].toString(QKeySequence.NativeText) if keys else ""


class WindowShortcutsWin(QObject):
    """An event filter for a text box: the window's actions get their keys even where the
    box would take them for itself (Ctrl+Z is the box's text undo, but in this window it
    means *Undo Last Write*, as in Picard and Mp3tag)."""

    def __init__(self, actions: list[QAction], parent=None):
        super().__init__(parent)
        self.actions = actions

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.ShortcutOverride:
            pressed = QKeySequence(event.keyCombination())
            if any(s.matches(pressed) == QKeySequence.ExactMatch for a in self.actions for s in a.shortcuts()):
                event.ignore()  # not the box's: the shortcut map gives it to the window's action
                return True
        return False


class MainWindow(QMainWindow):
    def __init__(self, model_path: str | None = None, scanner_factory=None, store: DecisionStore | None = None):
        super().__init__()
        install_none_guard()
        self.setWindowTitle(APP)
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings: AppSettings = load_settings()
        self.model_path = model_path
        self.scanner_factory = scanner_factory
        self.meta: ModelMeta | None = None
        self.model_error = ""
        try:
            self.meta = load_info(model_path, verify_hash=False)  # the scan checks the ONNX itself
        except GenreTaggerError as e:
            self.model_error = str(e)
            QTimer.singleShot(0, lambda: QMessageBox.critical(self, "The genre model cannot be used", self.model_error))
        self.folder: str | None = None
        self.worker: ScanWorker | None = None
        self.writing = False
        self._scan_again = False  # a folder was opened during a scan: scan it once this one stops
        self._can_undo = False
        self._scan_view: tuple = ("", {})
        self.pool = QThreadPool.globalInstance()
        self.total, self.seen, self.t0 = 0, 0, 0.0
        self.review = Review(self._policy(), store if store is not None else DecisionStore(), albums=self._album_settings())
        self._build()
        self._restore_state()
        self._refresh_undo(recover_first=True)
        self._update_actions()

    # -- model and policy -------------------------------------------------------------------
    def _vocabulary(self):
        """The chosen vocabulary of the model (its default if the saved one is gone)."""
        if self.meta is None:
            return None
        return self.meta.vocabulary_or_default(self.settings.vocabulary)

    def _threshold(self) -> float:
        v = self._vocabulary()
        return v.min_confidence if v else 0.0

    def _relabel(self, result) -> tuple[list, list] | None:
        """A result's genres in the chosen vocabulary and names (no reclassification)."""
        c = getattr(result, "classification", None)
        if c is None or self.meta is None:
            return None
        return summarise(c, self.meta, self._vocabulary().name, self.settings.mapping)

    def _policy(self):
        return self.settings.policy(model_threshold=self._threshold())

    def _album_settings(self):
        """How albums are decided (None: every track on its own): the vocabulary's album
        settings, with the user's minimum confidence where they chose one (as the CLI)."""
        v = self._vocabulary()
        return settings_for(v, self.settings.min_confidence) if v is not None and self.settings.by_album else None

    # -- construction -------------------------------------------------------------------
    def _action(self, text: str, keys, slot, tip: str) -> QAction:
        """An action with explicit shortcuts (the same on every platform), shown in its
        menu entry, its tooltip and its status-bar tip."""
        a = QAction(text, self)
        seqs = [QKeySequence(k) for k in keys if k]
        seqs = [s for s in seqs if not s.isEmpty()]
        a.setShortcuts(list(dict.fromkeys(seqs)))
        plain = text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")
        hint = shortcut_text(seqs)
        a.setToolTip(f"{plain} ({hint})" if hint else plain)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build(self) -> None:
        A = self._action
        self.act_open = A("&Open Folder…", ["Ctrl+O"], self.choose_folder, "Choose a music folder and scan it")
        self.act_scan = A("&Scan Again", ["F5", "Ctrl+R"], self.start_scan, "Classify every track again (nothing is written)")
        self.act_cancel = A("&Cancel Scan", ["Esc"], self.cancel_scan, "Stop the scan; the tracks scanned so far stay")
        self.act_accept = A("&Accept", ["Ctrl+Return", "Ctrl+Enter"], self.accept_selected,
                            "Accept the model's genre for the selected tracks (also when it is unsure)")  # fmt: skip
        self.act_reject = A("&Reject", ["Ctrl+Backspace", "Ctrl+Del"], self.reject_selected, "Never write a genre into the selected tracks")
        self.act_set = A("Set &Genre…", ["Ctrl+G"], self.set_genre_dialog, "Choose the genre of the selected tracks yourself")
        self.act_clear = A("&Forget Decision", ["Ctrl+Shift+Backspace"], self.clear_selected, "Back to the model's proposal")
        self.act_write_sel = A("&Write Selected…", ["Ctrl+S"], lambda: self.write(selected=True), "Write the selected tracks' new genres")
        self.act_write_all = A("Write &All…", ["Ctrl+Shift+S"], lambda: self.write(selected=False), "Write every new genre (preview first)")
        self.act_undo = A("&Undo Last Write", ["Ctrl+Z"], self.undo_last, "Put back the genres the last write replaced")
        self.act_history = A("&History…", ["Ctrl+H"], self.show_history, "Past writes and undos; undo any of them")
        self.act_play = A("&Play in Player", ["Ctrl+Shift+P"], self.play_selected, "Open the selected track in the system's music player")
        self.act_show = A("Show in &Folder", ["Ctrl+Shift+F"], self.show_in_folder, "Open the folder of the selected track")
        self.act_playlists = A("&Playlists…", ["Ctrl+P"], self.make_playlists, "Write one M3U8 playlist per genre")
        self.act_normalize = A("&Normalize Genre Names…", ["Ctrl+Shift+N"], self.normalize_genres,
                               "Existing genres in one spelling (Hip Hop, hiphop → Hip-Hop), previewed; Undo restores")  # fmt: skip
        pref = QKeySequence(QKeySequence.Preferences)
        self.act_settings = A("Se&ttings…", ["Ctrl+,", pref.toString() if not pref.isEmpty() else ""], self.edit_settings,
                              "Minimum confidence, genres per track, vocabulary, tag options")  # fmt: skip
        self.act_about = A("A&bout genre-tagger", ["F1"], lambda: show_about(self, self.meta), "The model, its genres and its accuracy")
        self.act_quit = A("&Quit", ["Ctrl+Q"], self.close, "Quit genre-tagger")

        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        m.addAction(self.act_playlists)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Tracks")
        for a in (self.act_scan, self.act_cancel, None, self.act_accept, self.act_reject, self.act_set, self.act_clear, None,
                  self.act_play, self.act_show, None, self.act_write_sel, self.act_write_all, self.act_undo, self.act_history,
                  None, self.act_normalize):  # fmt: skip
            m.addSeparator() if a is None else m.addAction(a)
        self.act_keep_albums = QAction("&Keep Albums Together", self, checkable=True, checked=True)
        self.act_keep_albums.setStatusTip("Sorting by any column keeps each album's tracks together (sorted within it)")
        self.act_keep_albums.toggled.connect(lambda on: self.proxy.set_keep_albums(on))
        mb.addMenu("&View").addAction(self.act_keep_albums)
        mb.addMenu("&Settings").addAction(self.act_settings)
        mb.addMenu("&Help").addAction(self.act_about)
        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        # short words on the buttons (the menus keep the full names), so that every button,
        # Undo included, fits a 640 px window instead of going to the overflow menu
        for a, short in ((self.act_open, "Open…"), (self.act_scan, "Rescan"), (self.act_cancel, "Cancel"), (self.act_set, "Genre…"),
                         (self.act_write_all, "Write All…"), (self.act_undo, "Undo")):  # fmt: skip
            a.setIconText(short)
        for a in (self.act_open, self.act_scan, self.act_cancel, None, self.act_accept, self.act_reject, self.act_set,
                  None, self.act_write_all, self.act_undo):  # fmt: skip
            tb.addSeparator() if a is None else tb.addAction(a)
        self.toolbar = tb

        # filters
        self.search = QLineEdit(placeholderText="Search artist, title, album, file, genre…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(120)
        self._search_keys = WindowShortcutsWin([self.act_undo], self)
        self.search.installEventFilter(self._search_keys)
        self.genre_filter = QComboBox()
        self.genre_filter.addItem("Any guess", "")
        self.genre_filter.setToolTip("Only tracks the model puts in this genre")
        self.status_filter = QComboBox()
        self.status_filter.addItem("Any status", "")
        for c in CATEGORIES:
            self.status_filter.addItem(c, c)
        self.conf_filter = QSpinBox(prefix="Confidence ≥ ", suffix=" %", maximum=100, singleStep=5)
        self.conf_filter.setToolTip("Only tracks whose best genre has at least this confidence")
        self.genre_filter.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.genre_filter.setMinimumContentsLength(9)
        self.status_filter.setSizeAdjustPolicy(QComboBox.AdjustToContents)  # "Unsure — not written" whole, never cut
        filters = FilterBar(self.search, [self.genre_filter, self.status_filter, self.conf_filter])

        self.model = TrackModel(self.review, self)
        self.proxy = TrackFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = TrackTable(self.proxy)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _: self.set_genre_dialog())
        self.table.setContextMenuPolicy(Qt.ActionsContextMenu)  # right-click: the review actions
        for a in (self.act_accept, self.act_reject, self.act_set, self.act_clear, self.act_write_sel, self.act_play, self.act_show):
            self.table.addAction(a)
        self.search.textChanged.connect(lambda t: self.proxy.set_filters(text=t))
        self.genre_filter.currentIndexChanged.connect(lambda _: self.proxy.set_filters(genre=self.genre_filter.currentData()))
        self.status_filter.currentIndexChanged.connect(lambda _: self.proxy.set_filters(status=self.status_filter.currentData()))
        self.conf_filter.valueChanged.connect(lambda v: self.proxy.set_filters(min_conf=v / 100.0))

        self.welcome = WelcomePage()  # first start: a call to action instead of an empty table
        self.welcome.open_button.clicked.connect(self.choose_folder)
        table_page = QWidget()
        tl = QVBoxLayout(table_page)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(filters)
        tl.addWidget(self.table)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(table_page)

        self.details = DetailsPane()
        self.details.apply_genre.connect(self.apply_genre)
        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.pages)
        self.side = QScrollArea()  # a small window scrolls the side pane instead of squeezing it
        self.side.setWidget(self.details)
        self.side.setWidgetResizable(True)
        self.side.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.side.setFrameShape(QScrollArea.NoFrame)
        self.side.setMinimumWidth(self.details.minimumWidth() + self.side.verticalScrollBar().sizeHint().width())
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.side.hide()  # shown with the first folder; the welcome page has the window to itself

        self.ui_timer = QTimer(self)
        self.ui_timer.setSingleShot(True)
        self.ui_timer.setInterval(300)
        self.ui_timer.timeout.connect(self._refresh_progress)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()  # only while scanning or writing
        self.rate_label = QLabel()
        self.statusBar().addPermanentWidget(self.rate_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().showMessage("Open a music folder (Ctrl+O) or drop one here to begin.")
        self._refresh_recent()

    # -- state --------------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = qsettings()
        geo, state, split, head = (s.value(k) for k in ("window/geometry", "window/state", "window/splitter", "window/columns"))
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1280, 800)
        if state is not None:
            self.restoreState(state)
        if split is not None:
            self.splitter.restoreState(split)
        else:
            self.splitter.setSizes([int(self.width() * 0.72), int(self.width() * 0.28)])
        try:
            shown = {int(c): bool(on) for c, on in json.loads(s.value("window/columns_shown", "{}") or "{}").items()}
        except (ValueError, TypeError, AttributeError):
            shown = {}
        self.table.restore_columns(head, s.value("window/columns_user_sized", False, type=bool), shown)
        self.act_keep_albums.setChecked(s.value("window/keep_albums", True, type=bool))

    def save_state(self) -> None:
        s = qsettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/columns", self.table.horizontalHeader().saveState())  # 12 columns ("window/table" had 9)
        s.setValue("window/columns_user_sized", self.table.user_sized)
        s.setValue("window/columns_shown", json.dumps(self.table.user_shown))
        s.setValue("window/keep_albums", self.act_keep_albums.isChecked())
        s.sync()

    def closeEvent(self, event):
        self.cancel_scan()
        self.save_state()
        self.pool.waitForDone(5000)
        super().closeEvent(event)

    def _refresh_undo(self, recover_first: bool = False) -> None:
        """Is there a write to undo? At start, first reconcile writes a crash interrupted."""
        try:
            j = Journal()
            try:
                if recover_first:
                    from ..tagstore.recover import recover

                    fixed = recover(j)
                    if fixed:
                        self.statusBar().showMessage(f"Reconciled {plural(len(fixed), 'write')} interrupted earlier (see History).")
                self._can_undo = j.last_undoable() is not None
            finally:
                j.close()
        except Exception:  # an unreadable journal: undo reports why when pressed
            self._can_undo = True

    def _update_actions(self, selected: list[int] | None = None) -> None:
        """Enable what applies now (``selected``: the selected rows, if the caller has them)."""
        scanning = self.worker is not None
        busy = scanning or self.writing
        selected = self.selected_rows() if selected is None else selected
        decidable = self._decidable(selected)
        self.act_scan.setEnabled(bool(self.folder) and not busy and self.meta is not None)
        self.act_cancel.setEnabled(scanning)
        for a in (self.act_accept, self.act_reject, self.act_set, self.act_clear):
            a.setEnabled(bool(decidable) and not self.writing)
        self.act_write_sel.setEnabled(not busy and any(self.review.items[i].category == WILL_WRITE for i in selected))
        self.act_write_all.setEnabled(not busy and self.review.count(WILL_WRITE) > 0)
        self.act_playlists.setEnabled(bool(self.review.items) and not scanning)
        self.act_normalize.setEnabled(bool(self.review.items) and not busy)
        self.act_undo.setEnabled(not busy and self._can_undo)
        for a in (self.act_play, self.act_show):
            a.setEnabled(bool(selected))
        self.welcome.open_button.setEnabled(self.meta is not None)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for f in self.settings.recent_folders:
            self.recent_menu.addAction(f.replace("&", "&&"), lambda f=f: self.set_folder(f))
        self.recent_menu.setEnabled(bool(self.settings.recent_folders))

    # -- folder ---------------------------------------------------------------------------
    def choose_folder(self) -> None:
        last = next((f for f in self.settings.recent_folders if Path(f).is_dir()), None)  # after a restart too
        d = QFileDialog.getExistingDirectory(self, "Music folder", self.folder or last or str(Path.home()))
        if d:
            self.set_folder(d)

    def set_folder(self, folder: str, scan: bool = True) -> None:
        """Open a folder: the title names it and (by default) its scan starts at once. A
        folder that is not there is said so (and leaves Open Recent), as the CLI does."""
        if not os.path.isdir(folder):
            self.folder_not_found(folder)
            return
        self.folder = folder
        self.settings.add_recent(folder)
        save_settings(self.settings)
        self._refresh_recent()
        self.setWindowTitle(f"{Path(folder).name or folder} — {APP}")
        self.setWindowFilePath(folder)
        self.pages.setCurrentIndex(1)
        self.side.show()
        self.table.setFocus()  # the keys act on tracks at once (not on the search box's text)
        QTimer.singleShot(0, self.table.default_columns)  # once the table has its real width
        if scan and self.worker is not None:
            self._scan_again = True
            self.cancel_scan()
            self.statusBar().showMessage(f"Stopping the current scan; then scanning {folder}…")
        elif scan:
            self.start_scan()
        self._update_actions()

    def folder_not_found(self, folder: str) -> None:
        if folder in self.settings.recent_folders:
            self.settings.recent_folders = [f for f in self.settings.recent_folders if f != folder]
            save_settings(self.settings)
            self._refresh_recent()
        text = f"{'Not a folder' if os.path.lexists(folder) else 'Folder not found'}: {display_path(folder)}"
        self.statusBar().showMessage(text)
        QMessageBox.warning(self, "Folder not found", text)

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        for url in event.mimeData().urls():
            p = Path(url.toLocalFile())
            if p.is_dir():
                self.set_folder(str(p))
                return

    # -- scanning ---------------------------------------------------------------------------
    def _clear_results(self) -> None:
        """Forget everything shown about the previous scan (nothing stale stays on screen)."""
        self.table.clearSelection()
        self.model.clear()
        self.details.show_item(None)
        self.details.library_chart.set_items([])
        self._reset_genre_filter()
        self.rate_label.clear()

    def _reset_genre_filter(self) -> None:
        self.genre_filter.blockSignals(True)
        while self.genre_filter.count() > 1:
            self.genre_filter.removeItem(1)
        self.genre_filter.setCurrentIndex(0)
        self.genre_filter.blockSignals(False)
        self.proxy.set_filters(genre="")

    def start_scan(self) -> None:
        if not self.folder or self.worker is not None or self.writing or self.meta is None:
            return
        self._clear_results()
        self.model.root = self.folder
        self.review.set_policy(self._policy(), albums=self._album_settings())
        opts = ScanOptions(policy=self._policy(), tag_options=self.settings.tag_options(), model=self.model_path,
                           workers=self.settings.workers, in_process=False)  # fmt: skip
        opts.vocabulary = self._vocabulary().name
        self._scan_view = (opts.vocabulary, dict(self.settings.mapping))  # how this scan names genres
        self.worker = ScanWorker([self.folder], opts, self.scanner_factory)
        self.worker.signals.total.connect(self._on_total)
        self.worker.signals.results.connect(self._on_results)
        self.worker.signals.finished.connect(self._on_finished)
        self.worker.signals.failed.connect(self._on_failed)
        self.total, self.seen, self.t0 = 0, 0, time.monotonic()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.statusBar().showMessage(f"Scanning {self.folder}… (nothing is written)")
        self.pool.start(self.worker)
        self._update_actions()

    def cancel_scan(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.statusBar().showMessage("Cancelling…")

    def _on_total(self, n: int) -> None:
        self.total = n
        self.progress.setRange(0, max(n, 1))

    def _on_results(self, results: list) -> None:
        changed = self._scan_view != (self._vocabulary().name, self.settings.mapping)  # settings changed during the scan
        self.model.add_results(results, self._relabel if changed else None)
        self.seen += len(results)
        if not self.ui_timer.isActive():  # progress, rate and charts at most ~3 times a second
            self.ui_timer.start()

    def _genre_counts(self) -> Counter:
        return Counter(it.predicted for it in self.review.items if it.predicted)

    def _refresh_progress(self) -> None:
        counts = self._genre_counts()
        title = f"Library: the model's guesses ({plural(sum(counts.values()), 'track')})"
        self.details.library_chart.set_items(counts.most_common(), title=title)
        known = {self.genre_filter.itemData(i) for i in range(self.genre_filter.count())}
        for g in sorted(counts):
            if g not in known:
                self.genre_filter.addItem(g, g)
        if self.worker is None:
            return
        self.progress.setValue(self.seen)
        rate, eta = rate_and_eta(self.seen, self.total, time.monotonic() - self.t0)
        left = f" — about {clock(eta)} left" if self.total and self.seen else ""
        self.rate_label.setText(f"{self.seen} of {plural(self.total, 'track')}, {rate:.1f} per second{left}")

    def _on_finished(self, cancelled: bool) -> None:
        roots, self.worker = self.worker.roots, None
        if not cancelled:  # a scan that saw every file: decisions of files deleted since are forgotten
            self.review.forget_missing(roots)
        self.ui_timer.stop()
        self._refresh_progress()
        self.progress.hide()
        self.rate_label.clear()
        self._update_actions()
        if self._scan_again:
            self._scan_again = False
            self.start_scan()
            return
        errors, will, unsure, read_only = (self.review.count(c) for c in (FAILED, WILL_WRITE, UNSURE, READ_ONLY))
        what = "Scan cancelled" if cancelled else "Scanned"
        parts = [f"{what}: {plural(len(self.review), 'track')}", f"{will} will be written", f"{unsure} unsure"]
        if read_only:
            parts.append(f"{read_only} read-only")
        if errors:
            parts.append(plural(errors, "error"))
        self.statusBar().showMessage(", ".join(parts) + ". Review, then Write.")
        self._selection_changed()

    def _on_failed(self, message: str) -> None:
        self.worker = None
        self._scan_again = False
        self.progress.hide()
        self.rate_label.clear()
        QMessageBox.critical(self, "Scan failed", message)
        self._update_actions()

    # -- review ---------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        return self.table.source_rows()

    def _selection_changed(self, *_):
        rows = self.selected_rows()
        it = self.review.items[rows[0]] if rows else None
        model, heard = self._suggestions(it) if it else ([], [])
        self.details.show_item(it, len(rows), model, heard)
        self._update_actions(rows)

    def _suggestions(self, it) -> tuple[list[tuple[str, float]], list[str]]:
        """One-click genres: the genre model's best few (with its probabilities), and apart
        from them the tagger's genre-like tags (names only: their numbers are another measure)."""
        if it.result.status == ERROR:
            return [], []
        model = [(name, p) for name, p in it.result.top[:3]]
        names = {n for n, _ in model}
        heard = [name for name, _ in getattr(it.result, "tags", [])[:5] if name not in names]
        return model, heard

    def _changed(self, rows: list[int], what: str) -> None:
        self.model.rows_changed(rows)
        self._selection_changed()
        if what:
            self.statusBar().showMessage(what)

    def _decidable(self, rows: list[int] | None = None) -> list[int]:
        """The selected rows (or ``rows``) a decision can apply to: not unreadable files."""
        return [i for i in (self.selected_rows() if rows is None else rows) if self.review.items[i].result.status != ERROR]

    def accept_selected(self) -> None:
        done, ask = self.review.accept(self._decidable())
        msg = f"Accepted {plural(len(done), 'track')}." if done else ""
        if ask:
            one = len(ask) == 1
            if self.confirm_replace(ask):
                done += self.review.replace_with_prediction(ask)
                msg = f"Accepted {plural(len(done), 'track')}; {len(ask)} will have {'its genre' if one else 'their genres'} replaced."
            else:
                keeps = f"{plural(len(ask), 'track')} {'keeps its genre' if one else 'keep their genres'}."
                msg = f"{msg} {keeps}" if msg else keeps
        self._changed(done, msg)

    def confirm_replace(self, rows: list[int]) -> bool:
        """Ask before Accept replaces genres that files already have (tests replace it)."""
        items = [self.review.items[i] for i in rows]
        policy = self.review.policy
        names = "\n".join(f"• {it.path.name}: {genres_text(it.current)} → {genres_text(predicted_genres(it.result.top, policy))}"
                          for it in items[:8])  # fmt: skip
        more = f"\n… and {len(items) - 8} more" if len(items) > 8 else ""
        one = len(items) == 1
        box = QMessageBox(QMessageBox.Question, "Replace existing genres?",
                          f"{plural(len(items), 'track')} already {'has a genre' if one else 'have genres'}:\n{names}{more}\n\n"
                          f"Replace {'it' if one else 'them'} with the model's guess?", QMessageBox.NoButton, self)  # fmt: skip
        replace = box.addButton("Replace", QMessageBox.AcceptRole)
        keep = box.addButton("Keep existing", QMessageBox.RejectRole)
        box.setDefaultButton(keep)  # Enter keeps what the files have; replacing takes a deliberate click
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is replace

    def reject_selected(self) -> None:
        done = self.review.reject(self._decidable())
        self._changed(done, f"Rejected {plural(len(done), 'track')}: {'it' if len(done) == 1 else 'they'} will not be written.")

    def clear_selected(self) -> None:
        done = self.review.clear_decision(self._decidable())
        self._changed(done, f"{plural(len(done), 'track')} back to the model's proposal.")

    def apply_genre(self, genre: str) -> None:
        done = self.review.set_genre(self._decidable(), [genre])
        self._changed(done, f"“{genre}” set for {plural(len(done), 'track')} (written on Write).")

    def set_genre_dialog(self) -> None:
        rows = self._decidable()
        if not rows:
            return
        it = self.review.items[rows[0]]
        names = [g for g, _ in it.result.top]
        vocab = list(self._vocabulary().display) if self.meta else []
        extra = list(self.meta.tag_display.values()) if self.meta else []
        choices = list(dict.fromkeys(names + vocab + sorted(extra)))
        current = genres_text(it.new) if it.new else (names[0] if names else "")
        if current and current not in choices:
            choices.insert(0, current)
        genre, ok = QInputDialog.getItem(self, "Set genre", f"Genre for {plural(len(rows), 'track')} (pick or type; several with ';'):",
                                         choices, choices.index(current) if current in choices else 0, True)  # fmt: skip
        if ok and genre.strip():
            done = self.review.set_genre(rows, [g.strip() for g in genre.split(";")])
            self._changed(done, f"Genre set for {plural(len(done), 'track')} (written on Write).")

    # -- writing ----------------------------------------------------------------------------
    def confirm_write(self, plan: list, note: str) -> bool:
        """The preview; tests replace it."""
        dlg = WritePreviewDialog(plan, note, self)
        return dlg.exec() == WritePreviewDialog.Accepted

    def write(self, selected: bool) -> None:
        if self.writing or self.worker is not None:
            return
        rows = self.selected_rows() if selected else None
        plan = self.review.plan(rows)
        scope = [self.review.items[i] for i in rows] if rows is not None else self.review.items
        unsure = sum(1 for it in scope if it.category == UNSURE)
        read_only = sum(1 for it in scope if it.category == READ_ONLY)
        notes = []
        if unsure:
            one = unsure == 1
            notes.append(f"{plural(unsure, 'unsure track')} {'is' if one else 'are'} not written "
                         f"unless you accept {'it' if one else 'them'}.")
        if read_only:
            notes.append(f"{plural(read_only, 'read-only file')} cannot be written (status “{READ_ONLY}”).")
        note = " ".join(notes)
        if not plan:
            self.statusBar().showMessage("Nothing to write." + (f" {note}" if note else ""))
            return
        if not self.confirm_write(plan, note):
            self.statusBar().showMessage("Write cancelled; nothing was changed.")
            return
        items = [(path, after, self.review.expectation(i)) for i, path, _, after in plan]
        name = self.review.write_name([i for i, *_ in plan])
        self._start_write(WriteWorker(items, self.settings.tag_options(), self.meta.model_id if self.meta else None, name=name))

    def normalize_genres(self) -> None:
        """Existing genres in the canonical table's spelling (and the user's names): an
        explicit write with its preview, journaled like any other (Undo restores)."""
        if self.writing or self.worker is not None:
            return
        plan, pending = [], 0
        for i, it in enumerate(self.review.items):
            new = canonical_names(it.current, self.settings.mapping)
            if it.result.status == ERROR or new == it.current:
                continue
            if it.decision is not None or it.category in (WILL_WRITE, READ_ONLY):  # a change of its own waits, or cannot be
                pending += 1
                continue
            plan.append((i, it.path, it.current, new))
        its = "its" if pending == 1 else "their"
        left = f" {plural(pending, 'track')} with a change of {its} own (or read-only) left out." if pending else ""
        if not plan:
            self.statusBar().showMessage("Every genre name is in its canonical spelling already." + left)
            return
        changes = spelling_changes([before for _, _, before, _ in plan], self.settings.mapping)
        note = "Only the spelling of existing genres changes: " + ", ".join(f"{a} → {b}" for a, b in list(changes.items())[:6])
        note += (" …" if len(changes) > 6 else "") + "." + left
        if not self.confirm_write(plan, note):
            self.statusBar().showMessage("Nothing was changed.")
            return
        name = "Normalized genre names: " + ", ".join(f"{a} → {b}" for a, b in list(changes.items())[:3])
        name += " …" if len(changes) > 3 else ""
        mapping = dict(self.settings.mapping)

        def again(now: list[str]) -> list[str]:  # the file changed since the scan: what it holds now, normalized
            return canonical_names(now, mapping)

        items = [(path, after, Expect(getattr(self.review.items[i].result, "identity", None), list(before), again))
                 for i, path, before, after in plan]  # fmt: skip
        self._start_write(WriteWorker(items, self.settings.tag_options(), None, name=name))

    def undo_last(self) -> None:
        if not self.writing and self.worker is None:
            self._start_write(WriteWorker([], self.settings.tag_options(), None, undo=True))

    def undo_run(self, run_id: int) -> None:
        """Undo any run (History): the files it wrote that no later run changed."""
        if not self.writing and self.worker is None:
            self._start_write(WriteWorker([], self.settings.tag_options(), None, undo_run=run_id, undo=True))

    def _start_write(self, worker: WriteWorker) -> None:
        self.writing = True
        self.progress.setRange(0, 0)
        self.progress.show()
        if worker.undo:
            self.statusBar().showMessage(f"Undoing run {worker.undo_run}…" if worker.undo_run else "Undoing the last write…")
        else:
            self.statusBar().showMessage(f"Writing {plural(len(worker.items), 'file')}…")
        self._update_actions()
        worker.signals.done.connect(lambda run_id, results: self._on_written(run_id, results, worker.undo, worker))
        worker.signals.failed.connect(self._on_write_failed)
        self.pool.start(worker)

    def _on_written(self, run_id, results: list, undone: bool = False, worker=None) -> None:
        self.writing = False
        self.progress.hide()
        ok, failed, rows, changed = 0, [], [], 0
        for r in results:
            if r.status == ERROR:
                failed.append(r)
                i = self.review.mark_failed(r.path, r.error)
            elif r.status == CHANGED:  # another program changed its genre after the scan: left as it is
                changed += 1
                i = self.review.mark_changed(r.path, r.previous)
            else:
                ok += 1
                i = (self.review.mark_restored if undone else self.review.mark_written)(r.path, r.genres)
            if i is not None:
                rows.append(i)
        self.model.rows_changed(rows)
        if undone:
            of = getattr(worker, "undone_of", None)
            msg = f"{f'Undid run {of}' if of else 'Undo'}: restored the genres of {plural(ok, 'file')}"
        else:
            msg = f"Wrote genres into {plural(ok, 'file')}"
        msg += f", {len(failed)} failed" if failed else ""
        msg += f", {status_words(CHANGED, changed)} (another program wrote into {'it' if changed == 1 else 'them'})" if changed else ""
        msg += "." + (" Undo (Ctrl+Z) puts the previous genres back." if run_id and not undone else "")
        self.statusBar().showMessage(msg)
        self._refresh_undo()
        self._selection_changed()
        if failed:
            detail = "\n".join(f"{Path(r.path).name}: {r.error}" for r in failed[:30])
            QMessageBox.warning(self, "Undo" if undone else "Write", f"{msg}\n\n{detail}")

    def _on_write_failed(self, message: str) -> None:
        self.writing = False
        self.progress.hide()
        self.statusBar().showMessage(message)
        QMessageBox.information(self, APP, message)
        self._refresh_undo()
        self._update_actions()

    def show_history(self) -> None:
        from ..tagstore.recover import recover

        try:
            j = Journal()
            try:
                recover(j)  # a write killed earlier shows as interrupted
                runs = j.runs(30)
            finally:
                j.close()
        except GenreTaggerError as e:  # a journal that cannot be opened (read-only or full disk, damaged)
            QMessageBox.warning(self, "History", f"The history cannot be shown.\n\n{e}")
            return
        if not runs:
            QMessageBox.information(self, "History", "Nothing has been written yet.")
            return
        dlg = HistoryDialog(runs, self)
        if self.run_dialog(dlg) and dlg.chosen is not None:
            self.undo_run(dlg.chosen)

    def run_dialog(self, dlg) -> bool:
        """Show a dialog modally; True if it was accepted."""
        return dlg.exec() == dlg.DialogCode.Accepted

    # -- the selected track outside the app ---------------------------------------------
    def _selected_path(self) -> Path | None:
        rows = self.selected_rows()
        return self.review.items[rows[0]].path if rows else None

    def play_selected(self) -> None:
        """Open the selected track in the system's player (its default application)."""
        p = self._selected_path()
        if p is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(p))):
            self.statusBar().showMessage(f"No application opens {display_path(p.name)}.")

    def show_in_folder(self) -> None:
        """Open the folder that holds the selected track in the file manager."""
        p = self._selected_path()
        if p is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(p.parent))):
            self.statusBar().showMessage(f"No file manager opens {display_path(p.parent)}.")

    # -- playlists / settings ------------------------------------------------------------
    def make_playlists(self, folder: str | None = None) -> dict:
        folder = folder or QFileDialog.getExistingDirectory(self, "Folder for playlists", self.folder or str(Path.home()))
        if not folder:
            return {}
        results = []
        for it in self.review.items:  # each track with the genres it has once Write has run
            r = it.result
            results.append(FileResult(r.path, r.status, genres=list(it.new), previous=list(it.current), artist=r.artist,
                                      title=r.title, album=r.album, duration=r.duration))  # fmt: skip
        written = write_playlists(results, folder)
        self.statusBar().showMessage(f"{plural(len(written), 'playlist')} written to {folder}")
        return written

    def apply_settings(self, new: AppSettings) -> None:
        """Use new settings now: the current results are re-evaluated at once (vocabulary
        and genre names too: every result carries all vocabularies' probabilities)."""
        relabel = (new.vocabulary, new.mapping) != (self.settings.vocabulary, self.settings.mapping)
        self.settings = new
        save_settings(new)
        changed = self.review.set_policy(self._policy(), self._relabel if relabel else None, albums=self._album_settings())
        self.model.rows_changed(list(range(len(self.review))) if changed or relabel else [])
        if relabel:
            self._reset_genre_filter()
            self._refresh_progress()
        self._selection_changed()
        if not len(self.review):
            msg = "Settings saved; they apply to the next scan."
        elif changed:
            msg = f"Settings applied: {plural(len(changed), 'track')} changed."
        else:
            msg = "Settings applied: no track changes."
        self.statusBar().showMessage(msg)

    def edit_settings(self) -> None:
        dlg = SettingsDialog(self.settings, self.meta, self)
        if dlg.exec():
            self.apply_settings(dlg.result_settings())
