"""The first-start page: a call to action instead of an empty table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePage(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        title = QLabel("<h2>Tag your music with genres</h2>")
        title.setAlignment(Qt.AlignCenter)
        self.open_button = QPushButton("Open a music folder…")
        self.open_button.setObjectName("openButton")
        self.open_button.setDefault(True)
        self.open_button.setMinimumHeight(40)
        hint = QLabel("or drop a folder here.<br>The scan only listens: nothing is written until you review and press Write.")
        hint.setAlignment(Qt.AlignCenter)
        hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addStretch(1)
        lay.addWidget(title)
        lay.addLayout(row)
        lay.addWidget(hint)
        lay.addStretch(3)
