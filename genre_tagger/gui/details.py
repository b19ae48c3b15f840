"""The right-hand pane: the selected track in full (status, error reason, genres before
and after), its genre chart, one-click genre suggestions, and the library chart."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from ..library.files import display_path
from ..library.review import ReviewItem
from .charts import BarChart
from .flow import FlowLayout
from .track_model import genres_text


def track_name(it: ReviewItem) -> str:
    r = it.result
    if r.artist and r.title:
        return f"{r.artist} — {r.title}"
    return r.title or display_path(it.path.name)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


class DetailsPane(QWidget):
    apply_genre = Signal(str)  # a suggestion was clicked: set this genre on the selection

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("detailsPane")
        self.setMinimumWidth(200)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 0, 0, 0)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.RichText)
        self.heading.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.info = QLabel()
        self.info.setWordWrap(True)  # error reasons in full, wrapped
        self.info.setTextFormat(Qt.RichText)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.info.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.track_chart = BarChart("Genre probabilities", empty_text="Select a track to see its genres")
        self.track_chart.setMinimumHeight(150)
        self.suggest_label = QLabel("Set genre with one click:")
        self.suggest_box = QWidget()
        self.suggest_layout = FlowLayout(self.suggest_box, spacing=4)
        # the tagger's tags are another measure than the genre model's probabilities: shown apart, without a number
        self.heard_label = QLabel("Also heard in similar music:")
        self.heard_label.setToolTip("Tags the model's tagger hears in music like this track; not how sure the genre model is")
        self.heard_box = QWidget()
        self.heard_layout = FlowLayout(self.heard_box, spacing=4)
        line = QFrame()
        line.setFrameShape(QFrame.HLine)
        line.setFrameShadow(QFrame.Sunken)
        self.library_chart = BarChart("Library: the model's guesses", percent=False, empty_text="Scan a folder to see its genres")
        self.library_chart.setMinimumHeight(150)
        lay.addWidget(self.heading)
        lay.addWidget(self.info)
        lay.addWidget(self.track_chart, 2)
        lay.addWidget(self.suggest_label)
        lay.addWidget(self.suggest_box)
        lay.addWidget(self.heard_label)
        lay.addWidget(self.heard_box)
        lay.addWidget(line)
        lay.addWidget(self.library_chart, 3)
        self.show_item(None)

    def show_item(
        self, it: ReviewItem | None, selected: int = 0, suggestions: list[tuple[str, float]] | None = None, heard: list[str] | None = None
    ) -> None:
        """Show one track (``selected`` = how many rows are selected), or nothing.
        ``suggestions``: the genre model's best genres with their probabilities; ``heard``:
        the tagger's genre-like tags (another measure: no number is shown for them)."""
        for b in self.suggest_box.findChildren(QPushButton) + self.heard_box.findChildren(QPushButton):
            b.setParent(None)
            b.deleteLater()
        self.heard_label.hide()
        self.heard_box.hide()
        if it is None:
            self.heading.setText("<b>No track selected</b>")
            self.info.setText("")
            self.track_chart.empty_text = "Select a track to see its genres"
            self.track_chart.set_items([], title="Genre probabilities")
            self.suggest_label.hide()
            self.suggest_box.hide()
            return
        more = f" <i>(and {selected - 1} more selected)</i>" if selected > 1 else ""
        self.heading.setText(f"<b>{_esc(track_name(it))}</b>{more}")
        lines = [
            f"<b>Status:</b> {_esc(it.label)}",
            f"<b>Genre now:</b> {_esc(genres_text(it.current)) or '<i>none</i>'}",
        ]
        if it.changes:
            lines.append(f"<b>After Write:</b> <span style='color:#1d5e12'><b>{_esc(genres_text(it.new))}</b></span>")
        d = getattr(it, "album_decision", None)
        if d is not None and d.follows_album and (d.album_top or d.top):
            g, p = (d.album_top or d.top)[0]
            note = f"({d.tracks} tracks together; the chart is this track alone)"
            lines.append(f"<b>Album's guess:</b> {_esc(g)} {p:.0%} <small>{note}</small>")
        if it.error:
            lines.append(f"<span style='color:#b3261e'><b>Problem:</b> {_esc(it.error)}</span>")
        lines.append(f"<small>{_esc(display_path(it.path)).replace('/', '/&#8203;')}</small>")  # long paths wrap at '/'

        self.info.setText("<br>".join(lines))
        self.track_chart.empty_text = "No genres: the file could not be read" if it.error else "No genres for this track"
        self.track_chart.set_items(it.result.top[:6], title="Genre probabilities (the genre model)")
        for name, p in suggestions or []:
            self.suggest_layout.addWidget(self._button(f"{name} {p:.0%}", name))
        for name in heard or []:
            self.heard_layout.addWidget(self._button(name, name))
        for label, box, items in ((self.suggest_label, self.suggest_box, suggestions), (self.heard_label, self.heard_box, heard)):
            label.setVisible(bool(items))
            box.setVisible(bool(items))

    def _button(self, text: str, genre: str) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(f"Write “{genre}” into the selected tracks (on Write)")
        b.setFocusPolicy(Qt.NoFocus)
        b.clicked.connect(lambda _=False, g=genre: self.apply_genre.emit(g))
        return b
