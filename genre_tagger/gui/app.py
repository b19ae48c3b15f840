"""Start the desktop app: ``genre-tagger`` (no arguments) or
``genre-tagger-gui [--model FILE] [FOLDER]`` (FOLDER is opened and scanned at once).
Without a display (or Qt's X11 libraries) both say so in one line and exit 2."""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="genre-tagger-gui", description="The genre-tagger desktop app.")
    p.add_argument("--model", metavar="FILE", help="model metadata .json (default: the bundled model)")
    p.add_argument("folder", nargs="?", help="a music folder to open and scan at once")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .quit_signals import QuitOnSignal
    from .startup import EXIT_NO_DISPLAY, fatal_platform_guard, platform_problem

    argv = sys.argv[1:] if argv is None else argv
    app = QApplication.instance()
    if app is None:
        problem = platform_problem(argv=argv)  # no display, X11 libraries missing: one line, not Qt's abort
        if problem:
            sys.stderr.write(problem + "\n")
            return EXIT_NO_DISPLAY
        with fatal_platform_guard():
            app = QApplication([sys.argv[0], *argv])
        argv = app.arguments()[1:]  # less the options Qt took (-platform, -style…)
    args = parse_args(argv)
    app.setApplicationName("genre-tagger")
    app.setOrganizationName("genre-tagger")
    w = MainWindow(model_path=args.model)
    quit_on_signal = QuitOnSignal(app, w)  # kill PID / logout / Ctrl-C: closed like the window's close button
    if args.folder:
        w.set_folder(args.folder)
    w.show()
    try:
        return app.exec()
    finally:
        quit_on_signal.uninstall()


if __name__ == "__main__":
    sys.exit(main())
