"""The main window: choose a folder, scan, review, write, undo, playlists, charts."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..errors import GenreTaggerError
from ..model import load_info
from ..modelmeta import ModelMeta
from ..playlists import write_playlists
from ..policy import STATUSES
from ..scanner import FileResult, ScanOptions
from .about import show_about
from .charts import BarChart
from .confidence import ConfidenceDelegate
from .qtcompat import install_none_guard
from .settings import AppSettings, load_settings, qsettings, save_settings
from .settings_dialog import SettingsDialog
from .track_model import ACCEPTED, COL_CONFIDENCE, OVERRIDDEN, REJECTED, WRITTEN, TrackFilter, TrackModel
from .workers import ScanWorker, WriteWorker


class MainWindow(QMainWindow):
    def __init__(self, model_path: str | None = None, scanner_factory=None):
        super().__init__()
        install_none_guard()
        self.setWindowTitle("genre-tagger")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings: AppSettings = load_settings()
        self.model_path = model_path
        self.scanner_factory = scanner_factory
        self.info: ModelMeta | None = None
        try:
            self.info = load_info(model_path)
        except GenreTaggerError as e:
            self._model_error = str(e)
            QTimer.singleShot(0, lambda: QMessageBox.critical(self, "Model", self._model_error))
        self.folder: str | None = None
        self.worker: ScanWorker | None = None
        self.writing = False
        self.pool = QThreadPool.globalInstance()
        self.total, self.seen, self.t0 = 0, 0, 0.0
        self.genre_counts: Counter = Counter()
        self._build()
        self._restore_state()
        self._update_actions()

    # -- construction -------------------------------------------------------------------
    def _action(self, text: str, shortcut, slot, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip or text)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build(self) -> None:
        self.act_open = self._action("&Open Folder…", QKeySequence.Open, self.choose_folder, "Choose the music folder")
        self.act_scan = self._action("&Scan", "F5", self.start_scan, "Classify every track (nothing is written)")
        self.act_cancel = self._action("&Cancel", "Esc", self.cancel_scan, "Stop the scan")
        self.act_accept = self._action("&Accept", "Ctrl+Return", lambda: self.set_decision(ACCEPTED), "Accept the prediction")
        self.act_reject = self._action("&Reject", "Ctrl+Backspace", lambda: self.set_decision(REJECTED), "Do not write this track")
        self.act_override = self._action("&Set Genre…", "Ctrl+G", self.override_genre, "Choose the genre yourself")
        self.act_write_sel = self._action("&Write Selected", "Ctrl+S", lambda: self.write(selected=True))
        self.act_write_all = self._action("Write &All", "Ctrl+Shift+S", lambda: self.write(selected=False))
        self.act_undo = self._action("&Undo Last Write", QKeySequence.Undo, self.undo_last)
        self.act_history = self._action("&History…", "Ctrl+H", self.show_history)
        self.act_playlists = self._action("&Playlists…", "Ctrl+P", self.make_playlists, "One M3U8 per genre")
        self.act_settings = self._action("Se&ttings…", QKeySequence.Preferences, self.edit_settings)
        self.act_about = self._action("A&bout", None, lambda: show_about(self, self.info))
        self.act_quit = self._action("&Quit", QKeySequence.Quit, self.close)

        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        m.addAction(self.act_playlists)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Tracks")
        for a in (self.act_scan, self.act_cancel, None, self.act_accept, self.act_reject, self.act_override, None,
                  self.act_write_sel, self.act_write_all, self.act_undo, self.act_history):  # fmt: skip
            m.addSeparator() if a is None else m.addAction(a)
        m = mb.addMenu("&Settings")
        m.addAction(self.act_settings)
        mb.addMenu("&Help").addAction(self.act_about)
        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        for a in (self.act_open, self.act_scan, self.act_cancel, None, self.act_accept, self.act_reject, self.act_override,
                  None, self.act_write_sel, self.act_write_all, self.act_undo, None, self.act_playlists):  # fmt: skip
            tb.addSeparator() if a is None else tb.addAction(a)

        # filters
        self.search = QLineEdit(placeholderText="Search artist, title, album, file…")
        self.search.setClearButtonEnabled(True)
        self.genre_filter = QComboBox()
        self.genre_filter.addItem("All genres", "")
        self.status_filter = QComboBox()
        self.status_filter.addItem("Any status", "")
        for s in (*STATUSES, ACCEPTED, REJECTED, OVERRIDDEN, WRITTEN):
            self.status_filter.addItem(s, s)
        self.conf_filter = QDoubleSpinBox(prefix="confidence ≥ ", decimals=2, maximum=1.0, singleStep=0.05)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 3)
        filters.addWidget(self.genre_filter, 1)
        filters.addWidget(self.status_filter, 1)
        filters.addWidget(self.conf_filter, 1)

        self.model = TrackModel(self)
        self.proxy = TrackFilter(self)
        self.proxy.setSourceModel(self.model)
        # sort when a header is clicked, not on every inserted batch (that would stall the event loop)
        self.proxy.setDynamicSortFilter(False)
        self.table = QTableView()
        self.table.setObjectName("trackTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setItemDelegateForColumn(COL_CONFIDENCE, ConfidenceDelegate(self.table))
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.search.textChanged.connect(lambda t: self.proxy.set_filters(text=t))
        self.genre_filter.currentIndexChanged.connect(lambda _: self.proxy.set_filters(genre=self.genre_filter.currentData()))
        self.status_filter.currentIndexChanged.connect(lambda _: self.proxy.set_filters(status=self.status_filter.currentData()))
        self.conf_filter.valueChanged.connect(lambda v: self.proxy.set_filters(min_conf=v))

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(filters)
        ll.addWidget(self.table)
        self.topk_chart = BarChart("Selected track: genre probabilities")
        self.dist_chart = BarChart("Library: predicted genres", percent=False)
        self.extra_label = QLabel()
        self.extra_label.setWordWrap(True)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.topk_chart, 1)
        rl.addWidget(self.extra_label)
        rl.addWidget(self.dist_chart, 1)
        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([880, 400])
        self.setCentralWidget(self.splitter)

        self.ui_timer = QTimer(self)
        self.ui_timer.setSingleShot(True)
        self.ui_timer.setInterval(300)
        self.ui_timer.timeout.connect(self._refresh_progress)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.rate_label = QLabel()
        self.statusBar().addPermanentWidget(self.rate_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().showMessage("Open a music folder (or drop it here) to begin.")
        self._refresh_recent()

    # -- state --------------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = qsettings()
        geo, state, split = s.value("window/geometry"), s.value("window/state"), s.value("window/splitter")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1200, 720)
        if state is not None:
            self.restoreState(state)
        if split is not None:
            self.splitter.restoreState(split)

    def closeEvent(self, event):  # noqa: N802
        self.cancel_scan()
        s = qsettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        self.pool.waitForDone(5000)
        super().closeEvent(event)

    def _update_actions(self) -> None:
        scanning = self.worker is not None
        has_rows = bool(self.model.rows)
        self.act_scan.setEnabled(bool(self.folder) and not scanning and not self.writing and self.info is not None)
        self.act_cancel.setEnabled(scanning)
        for a in (self.act_accept, self.act_reject, self.act_override, self.act_write_sel):
            a.setEnabled(has_rows and not scanning and not self.writing)
        self.act_write_all.setEnabled(has_rows and not scanning and not self.writing)
        self.act_playlists.setEnabled(has_rows and not scanning)
        self.act_undo.setEnabled(not scanning and not self.writing)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for f in self.settings.recent_folders:
            self.recent_menu.addAction(f, lambda f=f: self.set_folder(f))
        self.recent_menu.setEnabled(bool(self.settings.recent_folders))

    # -- folder ---------------------------------------------------------------------------
    def choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Music folder", self.folder or str(Path.home()))
        if d:
            self.set_folder(d)

    def set_folder(self, folder: str) -> None:
        self.folder = folder
        self.settings.add_recent(folder)
        save_settings(self.settings)
        self._refresh_recent()
        self.statusBar().showMessage(f"Folder: {folder} — press Scan (F5)")
        self._update_actions()

    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        for url in event.mimeData().urls():
            p = Path(url.toLocalFile())
            if p.is_dir():
                self.set_folder(str(p))
                self.start_scan()
                return

    # -- scanning ---------------------------------------------------------------------------
    def start_scan(self) -> None:
        if not self.folder or self.worker is not None:
            return
        self.model.clear()
        self.genre_counts.clear()
        self.dist_chart.set_items([])
        self.topk_chart.set_items([])
        opts = ScanOptions(policy=self.settings.policy(dry_run=True), tag_options=self.settings.tag_options(),
                           model=self.model_path, workers=self.settings.workers,
                           in_process=False)  # inference in worker processes, never beside Qt  # fmt: skip
        self.worker = ScanWorker([self.folder], opts, self.scanner_factory)
        self.worker.signals.total.connect(self._on_total)
        self.worker.signals.results.connect(self._on_results)
        self.worker.signals.finished.connect(self._on_finished)
        self.worker.signals.failed.connect(self._on_failed)
        self.total, self.seen, self.t0 = 0, 0, time.monotonic()
        self.progress.setRange(0, 0)
        self.statusBar().showMessage(f"Scanning {self.folder}…")
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
        self.model.add_results(results)
        self.seen += len(results)
        for r in results:
            if r.top:
                self.genre_counts[r.top[0][0]] += 1
        if not self.ui_timer.isActive():  # progress, rate and charts at most ~3 times a second
            self.ui_timer.start()

    def _refresh_progress(self) -> None:
        self.progress.setValue(self.seen)
        dt = max(time.monotonic() - self.t0, 1e-6)
        rate = self.seen / dt
        eta = (self.total - self.seen) / rate if rate > 0 and self.total else 0
        self.rate_label.setText(f"{self.seen}/{self.total}  {rate:.1f} tracks/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}")
        self.dist_chart.set_items(self.genre_counts.most_common())
        known = {self.genre_filter.itemData(i) for i in range(self.genre_filter.count())}
        for g in sorted(self.genre_counts):
            if g not in known:
                self.genre_filter.addItem(g, g)

    def _on_finished(self, cancelled: bool) -> None:
        self.worker = None
        self.ui_timer.stop()
        self._refresh_progress()
        self.progress.setRange(0, max(self.total, 1))
        self.progress.setValue(self.seen)
        errors = sum(1 for r in self.model.rows if r.result.status == "error")
        self.statusBar().showMessage(
            f"{'Cancelled' if cancelled else 'Scanned'}: {self.seen} files, {errors} errors. Review, then Write."
        )
        self._update_actions()

    def _on_failed(self, message: str) -> None:
        self.worker = None
        self.progress.setRange(0, 1)
        QMessageBox.critical(self, "Scan failed", message)
        self._update_actions()

    # -- review ---------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        return sorted({self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()})

    def _selection_changed(self, *_):
        rows = self.selected_rows()
        if not rows:
            self.topk_chart.set_items([])
            self.extra_label.setText("")
            return
        r = self.model.rows[rows[0]].result
        self.topk_chart.set_items(r.top[:5])
        extra = ", ".join(f"{name} {p:.0%}" for name, p in r.tags[:5])
        self.extra_label.setText(f"Tagger says: {extra}" if extra else (r.error or ""))

    def set_decision(self, decision: str) -> None:
        rows = [i for i in self.selected_rows() if self.model.rows[i].result.status != "error"]
        if decision != ACCEPTED:
            self.model.set_decision(rows, decision)
            return
        k, floor = self.settings.max_genres, self.settings.min_confidence
        for i in rows:
            r = self.model.rows[i].result
            if not r.genres and r.top:  # kept / skipped by policy: accepting writes the top genres
                self.model.set_decision([i], OVERRIDDEN, [g for g, p in r.top[:k] if p >= floor] or [r.top[0][0]])
            elif self.model.rows[i].decision != OVERRIDDEN:  # a manual override stays
                self.model.set_decision([i], ACCEPTED)

    def override_genre(self) -> None:
        rows = [i for i in self.selected_rows() if self.model.rows[i].result.status != "error"]
        if not rows:
            return
        names = [g for g, _ in self.model.rows[rows[0]].result.top] or (
            list(self.info.vocabulary().display) if self.info else []
        )
        extra = [n for n in (self.info.tag_display.values() if self.info else []) if n not in names]
        genre, ok = QInputDialog.getItem(self, "Set genre", "Genre (pick or type; several with ';'):", names + sorted(extra), 0, True)
        if ok and genre.strip():
            self.model.set_decision(rows, OVERRIDDEN, [g.strip() for g in genre.split(";") if g.strip()])

    # -- writing ----------------------------------------------------------------------------
    def write(self, selected: bool) -> None:
        rows = self.selected_rows() if selected else list(range(len(self.model.rows)))
        items = []
        for i in rows:
            row = self.model.rows[i]
            if row.result.status == "error" or row.decision in (REJECTED, WRITTEN) or not row.proposed:
                continue
            if row.decision == "pending" and row.result.status not in ("would-tag",):
                continue  # policy said keep / skip: only an explicit accept or override writes it
            items.append((row.result.path, row.proposed))
        if not items:
            self.statusBar().showMessage("Nothing to write.")
            return
        self._start_write(WriteWorker(items, self.settings.tag_options(), self.info.model_id if self.info else None))

    def undo_last(self) -> None:
        self._start_write(WriteWorker([], self.settings.tag_options(), None, undo=True))

    def _start_write(self, worker: WriteWorker) -> None:
        self.writing = True
        self._update_actions()
        worker.signals.done.connect(lambda run_id, results: self._on_written(run_id, results, worker.undo))
        worker.signals.failed.connect(self._on_write_failed)
        self.pool.start(worker)

    def _on_written(self, run_id, results: list, undone: bool = False) -> None:
        self.writing = False
        index = self.model.row_of_path()
        ok = failed = 0
        for r in results:
            i = index.get(str(r.path))
            if r.status == "error":
                failed += 1
                if i is not None:
                    self.model.rows[i].result.error = r.error
            else:
                ok += 1
                if i is not None:
                    row = self.model.rows[i]
                    row.result.previous = list(r.genres)
                    row.written = list(r.genres)
                    row.decision = "pending" if undone else WRITTEN
                    self.model.dataChanged.emit(self.model.index(i, 0), self.model.index(i, 7))
        msg = f"{ok} files written, {failed} failed" + (f" (run {run_id}; Undo restores it)" if run_id else "")
        self.statusBar().showMessage(msg)
        if failed:
            QMessageBox.warning(self, "Write", msg + "\n\n" + "\n".join(f"{r.path}: {r.error}" for r in results if r.error)[:2000])
        self._update_actions()

    def _on_write_failed(self, message: str) -> None:
        self.writing = False
        self.statusBar().showMessage(message)
        QMessageBox.information(self, "genre-tagger", message)
        self._update_actions()

    def show_history(self) -> None:
        from ..journal import Journal

        runs = Journal().runs(30)
        text = "\n".join(
            f"{r.id}: {time.strftime('%Y-%m-%d %H:%M', time.localtime(r.started))} — {r.changes} files — {r.command}"
            + (f" (undone by {r.undone_by})" if r.undone_by else "")
            for r in runs
        )
        QMessageBox.information(self, "History", text or "No runs yet.")

    # -- playlists / settings ------------------------------------------------------------
    def make_playlists(self, folder: str | None = None) -> dict:
        folder = folder or QFileDialog.getExistingDirectory(self, "Folder for playlists", self.folder or str(Path.home()))
        if not folder:
            return {}
        results = []
        for row in self.model.rows:
            r = row.result
            if row.decision in (ACCEPTED, OVERRIDDEN, WRITTEN):
                genres = row.proposed
            elif row.decision == REJECTED:
                genres = r.previous
            else:  # pending: what Write would leave in the file
                genres = r.genres if r.status == "would-tag" else r.previous
            results.append(FileResult(r.path, r.status, genres=list(genres), artist=r.artist, title=r.title,
                                      album=r.album, duration=r.duration))  # fmt: skip
        written = write_playlists(results, folder)
        self.statusBar().showMessage(f"{len(written)} playlists written to {folder}")
        return written

    def edit_settings(self) -> None:
        dlg = SettingsDialog(self.settings, self)
        if dlg.exec():
            self.settings = dlg.result_settings()
            save_settings(self.settings)
