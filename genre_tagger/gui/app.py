"""Start the desktop app: ``genre-tagger`` (no arguments) or ``genre-tagger-gui``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    argv = sys.argv[1:] if argv is None else argv
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("genre-tagger")
    app.setOrganizationName("genre-tagger")
    w = MainWindow()
    if argv and not argv[0].startswith("-"):
        w.set_folder(argv[0])
    w.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
