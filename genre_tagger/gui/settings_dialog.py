"""Settings: write policies, ID3 options, genre name mapping, worker processes."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
)

from .settings import AppSettings


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        form = QFormLayout()
        self.overwrite = QCheckBox("Replace genres that files already have")
        self.overwrite.setChecked(settings.overwrite)
        self.min_conf = QDoubleSpinBox()
        self.min_conf.setRange(0.0, 1.0)
        self.min_conf.setSingleStep(0.05)
        self.min_conf.setValue(settings.min_confidence)
        self.max_genres = QSpinBox()
        self.max_genres.setRange(1, 10)
        self.max_genres.setValue(settings.max_genres)
        self.id3 = QComboBox()
        self.id3.addItems(["ID3v2.4", "ID3v2.3"])
        self.id3.setCurrentIndex(0 if settings.id3_version == 4 else 1)
        self.sep = QLineEdit(settings.id3v23_separator)
        self.keep_mtime = QCheckBox("Keep files' modification times")
        self.keep_mtime.setChecked(settings.keep_mtime)
        self.workers = QSpinBox()
        self.workers.setRange(0, 64)
        self.workers.setSpecialValueText("one per CPU core")
        self.workers.setValue(settings.workers)
        self.mapping = QPlainTextEdit("\n".join(f"{k}={v}" for k, v in settings.mapping.items()))
        self.mapping.setPlaceholderText("Hip-Hop=Rap\nClassical=Klassik")
        self.mapping.setMaximumHeight(90)
        form.addRow("Existing genres", self.overwrite)
        form.addRow("Minimum confidence", self.min_conf)
        form.addRow("Genres per track", self.max_genres)
        form.addRow("New ID3 tags", self.id3)
        form.addRow("ID3v2.3 separator", self.sep)
        form.addRow("", self.keep_mtime)
        form.addRow("Worker processes", self.workers)
        form.addRow("Genre names", self.mapping)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self._base = settings

    def result_settings(self) -> AppSettings:
        mapping = {}
        for line in self.mapping.toPlainText().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                if k.strip() and v.strip():
                    mapping[k.strip().lower()] = v.strip()
        return AppSettings(
            overwrite=self.overwrite.isChecked(),
            min_confidence=self.min_conf.value(),
            max_genres=self.max_genres.value(),
            id3_version=4 if self.id3.currentIndex() == 0 else 3,
            id3v23_separator=self.sep.text() or "; ",
            keep_mtime=self.keep_mtime.isChecked(),
            workers=self.workers.value(),
            mapping=mapping,
            recent_folders=list(self._base.recent_folders),
        )
