"""Screenshots of the desktop app for the README: the main window after a scan of a
generated library (bundled model) and the settings dialog.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs]
    xvfb-run -a python scripts/screenshots.py        # a real X window (apt: xvfb libxcb-icccm4 libxcb-keysyms1)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs"))
    ap.add_argument("--tracks", type=int, default=12)
    args = ap.parse_args()
    if "DISPLAY" not in os.environ:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp())
    os.environ["GENRE_TAGGER_DATA_DIR"] = str(tmp / "data")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    from genre_tagger.gui.main_window import MainWindow
    from genre_tagger.gui.settings_dialog import SettingsDialog
    from genre_tagger.synth import write_library
    from genre_tagger.tags import write_genres

    files = write_library(tmp / "Music", args.tracks, seconds=8.0, formats=("flac", "mp3", "ogg", "m4a"))
    write_genres(files[1], ["Jazz"])
    (tmp / "Music" / "broken.mp3").write_bytes(b"\0" * 64)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    w = MainWindow()
    w.resize(1280, 720)
    w.settings.workers = 1
    w.show()
    w.set_folder(str(tmp / "Music"))
    w.start_scan()
    while w.worker is not None:
        app.processEvents()
    w.table.resizeColumnsToContents()
    w.table.selectRow(2)
    for _ in range(20):
        app.processEvents()
    args.out.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(args.out / "screenshot-main.png"))
    dlg = SettingsDialog(w.settings, w)
    dlg.show()
    for _ in range(20):
        app.processEvents()
    dlg.grab().save(str(args.out / "screenshot-settings.png"))
    print("wrote", args.out / "screenshot-main.png", args.out / "screenshot-settings.png")


if __name__ == "__main__":
    main()
