"""History: every run the journal holds, as a list; any run that still has files to put
back can be undone from here (the journal undoes any run, not only the last)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from ..library.review import plural
from ..library.run_names import run_title

COLUMNS = ["Run", "When", "What", "Files", "Notes"]


def run_notes(r) -> str:
    notes = [f"undone by run {r.undone_by}"] if r.undone_by else [f"{r.undone} of {r.changes} restored by undo"] if r.undone else []
    notes += ["interrupted"] if r.interrupted else []
    return ", ".join(notes)


def undoable(r) -> bool:
    """The run wrote files that are not all put back yet (an undo itself is not undone)."""
    return r.undo_of is None and r.undone_by is None and r.changes > r.undone


def run_what(r) -> str:
    return f"Undo of run {r.undo_of}" if r.undo_of else run_title(r.command)


class HistoryDialog(QDialog):
    def __init__(self, runs: list, parent=None):
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle("History")
        self.runs = list(runs)
        self.chosen: int | None = None  # the run to undo, once the user asked for it
        self.table = QTableWidget(len(self.runs), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setWordWrap(False)
        for row, r in enumerate(self.runs):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
            for col, text in enumerate((str(r.id), when, run_what(r), plural(r.changes, "file"), run_notes(r))):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setToolTip(text)
                if col in (0, 3):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        hint = QLabel("Select a run to put back the genres it wrote. A file another run changed since is left "
                      "as it is (undo that run first).")
        hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.undo_button = self.buttons.addButton("Undo This Run", QDialogButtonBox.ActionRole)
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self._undo)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.Close).setDefault(True)  # Enter closes; undoing takes a click
        self.table.itemSelectionChanged.connect(self._selected)
        lay = QVBoxLayout(self)
        lay.addWidget(hint)
        lay.addWidget(self.table)
        lay.addWidget(self.buttons)
        self.resize(720, 420)

    def selected_run(self):
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.runs[rows.pop()] if len(rows) == 1 else None

    def _selected(self) -> None:
        r = self.selected_run()
        self.undo_button.setEnabled(r is not None and undoable(r))
        self.undo_button.setText(f"Undo Run {r.id}" if r is not None and undoable(r) else "Undo This Run")

    def _undo(self) -> None:
        r = self.selected_run()
        if r is not None and undoable(r):
            self.chosen = r.id
            self.accept()
