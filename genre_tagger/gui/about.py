"""About box: what the app does and how often the model is right, in plain words, with
the figures from the model's metadata."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QMessageBox

from .. import __version__
from ..listen.modelmeta import ModelMeta, Vocabulary


def _esc(text: str) -> str:
    return html.escape(str(text), quote=False)


def _figure(value) -> tuple[float | None, int | None]:
    """A metadata accuracy entry (a number, or a dict with the figure) -> (fraction, tracks)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), None
    if isinstance(value, dict):
        n = value.get("n", value.get("clips"))
        for k in ("value", "accuracy", "top1", "extended_top1", "precision"):
            if isinstance(value.get(k), (int, float)):
                return float(value[k]), (int(n) if isinstance(n, (int, float)) else None)
    return None, None


def _plain(name: str, value) -> tuple[int, str] | None:
    """A figure (its name, and the protocol it names) -> (order, what it measures in plain
    words); None = a figure for developers (cross-validation variants: see results/MODEL.md)."""
    key = name.lower()
    protocol = str(value.get("protocol", "")).lower() if isinstance(value, dict) else ""
    real = "real" in key or protocol.startswith("realmusic")
    if "precision" in key:
        return 2, "of the genres it writes with the default settings are right" + (" (real recordings)" if real else "")
    if "coverage" in key:
        return 3, "of real recordings get a genre with the default settings (the others are shown as unsure)"
    if real and "gtzan" in key:
        return 1, "right on real recordings whose genre is one of the ten classic genres"
    if real:
        return 0, "right on real recordings by artists it never heard in training"
    if "gtzan" in key or "test" in key:
        return 4, "right on the test clips of GTZAN, the classic genre benchmark"
    return None


def accuracy_lines(v: Vocabulary) -> list[str]:
    """The vocabulary's accuracy figures as plain lines ("83% right on real recordings…")."""
    rows = []
    for name, value in v.accuracy.items():
        frac, n = _figure(value)
        plain = _plain(name, value)
        if frac is None or plain is None:
            continue
        order, words = plain
        rows.append((order, f"{frac:.0%} {words}" + (f" <small>({n} tracks)</small>" if n else "")))
    return [text for _, text in sorted(rows)]


def album_lines(v: Vocabulary) -> list[str]:
    """The album decisions' figures (the metadata's ``album.accuracy``) as plain lines."""
    acc = (v.album or {}).get("accuracy")
    rows = []
    for name, value in (acc.items() if isinstance(acc, dict) else ()):
        frac, n = _figure(value)
        small = f" <small>({n} tracks)</small>" if n else ""
        if frac is not None and "precision" in name.lower():
            rows.append((0, f"{frac:.0%} of the genres it writes for albums are right{small}"))
        elif frac is not None and "coverage" in name.lower():
            rows.append((1, f"{frac:.0%} of the tracks in albums get a genre with the default settings{small}"))
    return [text for _, text in sorted(rows)]


def about_text(meta: ModelMeta | None, vocabulary: str = "") -> str:
    parts = [
        f"<h3>genre-tagger {__version__}</h3>",
        "<p>genre-tagger listens to a few short excerpts of every track and names its genre with a small "
        "neural network that runs on this computer; nothing is uploaded. It changes only the genre tag, "
        "never the audio, and every write can be undone.</p>",
    ]
    if meta is None:
        parts.append("<p><b>No genre model could be loaded.</b></p>")
        return "".join(parts)
    v = meta.vocabulary_or_default(vocabulary)
    parts.append(f"<p><b>Genres it can name</b> ({len(v.display)}): {_esc(', '.join(v.display))}.</p>")
    if v.min_confidence > 0:
        parts.append(
            f"<p><b>How sure it must be:</b> by default a genre is written only when the model is at least "
            f"{v.min_confidence:.0%} sure; below that the track is shown as <i>unsure</i> and you decide.</p>"
        )
    else:
        parts.append("<p><b>How sure it must be:</b> this model sets no minimum: every guess is proposed (Settings can set one).</p>")
    lines = accuracy_lines(v)
    if lines:
        parts.append("<p><b>How often it is right</b> (measured on recordings it was not trained on):<br>" + "<br>".join(lines) + "</p>")
    else:
        parts.append("<p>This model's metadata gives no accuracy figures for real music.</p>")
    albums = album_lines(v)
    if albums:
        parts.append("<p><b>Albums:</b> the tracks of an album are decided together, and a track sure of another "
                     "genre keeps its own. Decided that way, " + "; ".join(albums) + ".</p>")  # fmt: skip
    parts.append("<p><small>Measured on recordings kept apart from training; the project's documentation says how, "
                 "with the commands that reproduce them.</small></p>")
    parts.append(f"<p><small>Model: {_esc(meta.name)}, version {_esc(meta.version)}</small></p>")
    licenses = meta.provenance.get("licenses")
    if isinstance(licenses, dict) and licenses:
        parts.append("<p><small><b>Pretrained networks inside the model</b><br>"
                     + "<br>".join(f"{_esc(k)}: {_esc(v)}" for k, v in licenses.items()) + "</small></p>")  # fmt: skip
    return "".join(parts)


def show_about(parent, meta: ModelMeta | None) -> None:
    vocab = getattr(getattr(parent, "settings", None), "vocabulary", "")
    QMessageBox.about(parent, "About genre-tagger", about_text(meta, vocab))
