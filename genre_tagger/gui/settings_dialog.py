"""Settings: vocabulary, write policy, ID3 options, genre name mapping, worker processes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
)

from ..listen.modelmeta import ModelMeta
from .settings import AppSettings, mapping_from_text, mapping_to_text

VOCABULARY_WORDS = {
    "library": "Library genres (the genres real libraries hold)",
    "gtzan": "Ten classic genres only",
}


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, meta: ModelMeta | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.meta = meta
        form = QFormLayout()
        self.vocabulary = QComboBox()
        for v in meta.vocabularies if meta else []:
            label = VOCABULARY_WORDS.get(v.name, v.name)
            self.vocabulary.addItem(f"{label}{' (default)' if v.name == meta.default_vocabulary else ''}", v.name)
            self.vocabulary.setItemData(self.vocabulary.count() - 1, ", ".join(v.display), Qt.ToolTipRole)
        i = self.vocabulary.findData(settings.vocabulary or (meta.default_vocabulary if meta else ""))
        self.vocabulary.setCurrentIndex(max(i, 0))
        self.vocabulary.setEnabled(self.vocabulary.count() > 1)
        self.genres_label = QLabel()
        self.genres_label.setWordWrap(True)
        self.by_album = QCheckBox("Decide by album: an album's tracks get the album's genre")
        self.by_album.setToolTip("The model listens to every track of an album and decides once for the album; "
                                 "a track that clearly differs, a compilation or a single is decided on its own")
        self.by_album.setChecked(settings.by_album)
        self.overwrite = QCheckBox("Replace genres that files already have")
        self.overwrite.setChecked(settings.overwrite)
        self.use_model = QCheckBox()
        self.use_model.setChecked(settings.min_confidence is None)
        self.min_conf = QSpinBox(suffix=" %", maximum=100, singleStep=5)
        self.min_conf.setValue(round(100 * (settings.min_confidence if settings.min_confidence is not None else self._model_threshold())))
        self.min_conf.setEnabled(settings.min_confidence is not None)
        self.use_model.toggled.connect(lambda on: self.min_conf.setEnabled(not on))
        conf_row = QHBoxLayout()
        conf_row.addWidget(self.use_model)
        conf_row.addWidget(self.min_conf)
        conf_row.addStretch(1)
        self.max_genres = QSpinBox()
        self.max_genres.setRange(1, 10)
        self.max_genres.setValue(settings.max_genres)
        self.max_genres.setToolTip("Further genres are written only when they, too, reach the minimum confidence")
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
        self.mapping = QPlainTextEdit(mapping_to_text(settings.mapping))
        self.mapping.setPlaceholderText("Hip-Hop=Rap\nClassical=Klassik")
        self.mapping.setMaximumHeight(90)
        self.vocabulary.currentIndexChanged.connect(lambda _: self._vocabulary_changed())
        form.addRow("Genres", self.vocabulary)
        form.addRow("", self.genres_label)
        form.addRow("Albums", self.by_album)
        form.addRow("Existing genres", self.overwrite)
        form.addRow("Minimum confidence", conf_row)
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
        self._vocabulary_changed()

    def _vocab(self):
        return self.meta.vocabulary_or_default(self.vocabulary.currentData()) if self.meta else None

    def _model_threshold(self) -> float:
        v = self._vocab()
        return v.min_confidence if v else 0.0

    def _vocabulary_changed(self) -> None:
        t = self._model_threshold()
        self.use_model.setText(f"The model's recommendation ({t:.0%})")
        if self.use_model.isChecked():
            self.min_conf.setValue(round(100 * t))
        if self.meta:
            self.genres_label.setText(", ".join(self._vocab().display))

    def result_settings(self) -> AppSettings:
        vocab = self.vocabulary.currentData() or ""
        return AppSettings(
            overwrite=self.overwrite.isChecked(),
            min_confidence=None if self.use_model.isChecked() else self.min_conf.value() / 100.0,
            max_genres=self.max_genres.value(),
            vocabulary="" if self.meta and vocab == self.meta.default_vocabulary else vocab,
            id3_version=4 if self.id3.currentIndex() == 0 else 3,
            id3v23_separator=self.sep.text() or "; ",
            keep_mtime=self.keep_mtime.isChecked(),
            workers=self.workers.value(),
            mapping=mapping_from_text(self.mapping.toPlainText()),
            recent_folders=list(self._base.recent_folders),
            by_album=self.by_album.isChecked(),
        )
