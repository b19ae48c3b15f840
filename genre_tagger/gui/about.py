"""About box: the model's name, version and accuracy figures from its metadata."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from .. import __version__
from ..modelmeta import ModelMeta


def about_text(info: ModelMeta | None) -> str:
    lines = [f"<h3>genre-tagger {__version__}</h3>", "<p>Offline music genre tagging with a small CNN.</p>"]
    if info is None:
        lines.append("<p>No model loaded.</p>")
        return "".join(lines)
    lines.append(f"<p><b>Model:</b> {info.name} (version {info.version})<br>{info.provenance.get('architecture', '')}</p>")
    for vocab in info.vocabularies:
        lines.append(f"<p><b>{vocab.name}</b>: {', '.join(vocab.display)}<br>")
        for k, v in vocab.accuracy.items():
            if isinstance(v, dict) and "accuracy" in v:
                lines.append(f"{k}: {v['accuracy']:.1%} (balanced {v.get('balanced_accuracy', 0):.1%}, n={v.get('n', '?')})<br>")
        lines.append("</p>")
    return "".join(lines)


def show_about(parent, info: ModelMeta | None) -> None:
    QMessageBox.about(parent, "About genre-tagger", about_text(info))
