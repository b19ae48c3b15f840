"""The confirmation before a write: how many files, and what changes in each."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from ..library.files import display_path
from ..library.review import plural
from .track_model import NEW_BG, NEW_FG, genres_text

PREVIEW_ROWS = 500  # more would only slow the dialog down; the count is always exact


class WritePreviewDialog(QDialog):
    def __init__(self, plan: list[tuple[int, Path, list[str], list[str]]], not_written: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("writePreview")
        n = len(plan)
        self.setWindowTitle("Write genres")
        self.summary = QLabel(
            f"<b>Write genres into {plural(n, 'file')}?</b><br>"
            "Only the genre tag changes; the audio is not touched. Undo (Ctrl+Z) restores the previous genres."
            + (f"<br><i>{not_written}</i>" if not_written else "")
        )
        self.summary.setWordWrap(True)
        self.table = QTableWidget(min(n, PREVIEW_ROWS), 3)
        self.table.setHorizontalHeaderLabels(["File", "Genre now", "After Write"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.NoSelection)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        bold = QFont()
        bold.setBold(True)
        for row, (_, path, before, after) in enumerate(sorted(plan, key=lambda p: Path(p[1]).name.lower())[:PREVIEW_ROWS]):
            item = QTableWidgetItem(display_path(Path(path).name))
            item.setToolTip(display_path(path))
            self.table.setItem(row, 0, item)
            self.table.setItem(row, 1, QTableWidgetItem(genres_text(before) or "—"))
            new = QTableWidgetItem(genres_text(after))
            new.setForeground(NEW_FG)  # the colours of "After Write" in the table
            new.setBackground(NEW_BG)
            new.setFont(bold)
            self.table.setItem(row, 2, new)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.table)
        if n > PREVIEW_ROWS:
            lay.addWidget(QLabel(f"… and {plural(n - PREVIEW_ROWS, 'more file')}."))
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.write_button = self.buttons.addButton(f"Write {plural(n, 'file')}", QDialogButtonBox.AcceptRole)
        self.write_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(640, min(480, 150 + (self.table.fontMetrics().height() + 8) * min(n, 14)))
