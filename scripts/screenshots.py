"""Screenshots of the desktop app for the README, at 1280x800 and 800x600: the first
start, a reviewed library (genre now -> after Write), the write preview, and the
settings dialog. The library is generated (synthetic audio, made-up artists), scanned
with the bundled model.

    xvfb-run -a -s "-screen 0 1280x800x24" python scripts/screenshots.py [--out docs]
    (apt: xvfb libxcb-icccm4 libxcb-keysyms1; without a display it falls back to offscreen)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = tuple(tuple(map(int, s.split("x"))) for s in os.environ.get("SCREENSHOT_SIZES", "1280x800 800x600").split())
ARTISTS = ["Northern Lights Trio", "Mara Quell", "The Static Orchard", "Lowland Brass"]


def _tag(path: Path, artist: str, title: str, album: str, genre: str = "") -> None:
    """Tags of the generated library (a fixture: written directly with mutagen, so the
    app's journal stays empty and the first start looks like one)."""
    import mutagen

    f = mutagen.File(path, easy=True)
    if f.tags is None:
        f.add_tags()
    f["artist"], f["title"], f["album"] = artist, title, album
    if genre:
        f["genre"] = genre
    f.save()


def make_library(root: Path, n: int) -> Path:
    from devtools.synth import write_library

    files = write_library(root, n, seconds=8.0, formats=("flac", "mp3", "ogg", "m4a"))
    genres = {1: "Jazz", 6: "Classical"}
    for i, p in enumerate(files):
        _tag(p, ARTISTS[i % len(ARTISTS)], f"Study No. {i + 1}", f"Sketches {i % 2 + 1}", genres.get(i, ""))
    (root / "broken.mp3").write_bytes(b"\0" * 64)
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs"))
    ap.add_argument("--tracks", type=int, default=14)
    args = ap.parse_args()
    if "DISPLAY" not in os.environ:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp())
    os.environ["GENRE_TAGGER_DATA_DIR"] = str(tmp / "data")
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    from genre_tagger.gui.main_window import MainWindow
    from genre_tagger.gui.settings import qsettings
    from genre_tagger.gui.settings_dialog import SettingsDialog
    from genre_tagger.gui.track_model import COL_CONFIDENCE

    music = make_library(tmp / "Music", args.tracks)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    written = []

    def settle(n: int = 30) -> None:
        for _ in range(n):
            app.processEvents()

    def grab(widget, name: str) -> None:
        settle()
        screen = widget.screen()
        g = widget.frameGeometry()
        shot = screen.grabWindow(0, g.x(), g.y(), g.width(), g.height()) if "DISPLAY" in os.environ else widget.grab()
        path = args.out / f"screenshot-{name}.png"
        shot.save(str(path))
        written.append(path)

    for i, (width, height) in enumerate(SIZES):
        size = f"{width}x{height}"
        qsettings().clear()
        w = MainWindow()
        w.settings.workers = 1
        w.move(0, 0)
        w.resize(width, height)
        w.show()
        settle()
        w.resize(width, height)
        grab(w, f"first-start-{size}")

        w.set_folder(str(music))
        while w.worker is not None:
            app.processEvents()
        settle()
        if i == 0:  # the review: a few decisions, the rest as the model proposes (remembered for the second size)
            rows = {it.path.name: r for r, it in enumerate(w.review.items)}
            w.review.reject([rows["002 Track.ogg"]])
            w.review.set_genre([rows["004 Track.flac"]], ["Ambient"])
            w.review.accept([rows[n] for n in ("005 Track.mp3", "008 Track.flac")])
            w.review.replace_with_prediction([rows["001 Track.mp3"]])  # Jazz -> the model's guess, asked for explicitly
            w.start_scan()  # decisions come back on a rescan
            while w.worker is not None:
                app.processEvents()
        w.table.sortByColumn(COL_CONFIDENCE, Qt.DescendingOrder)
        jazz = next(i for i, it in enumerate(w.review.items) if it.path.name == "001 Track.mp3")  # genre now -> after Write
        w.table.selectRow(w.proxy.mapFromSource(w.model.index(jazz, 0)).row())
        grab(w, f"review-{size}")

        def preview(plan, note, w=w, size=size):
            from genre_tagger.gui.write_preview import WritePreviewDialog

            dlg = WritePreviewDialog(plan, note, w)
            dlg.show()
            settle()
            grab(w, f"write-preview-{size}")
            dlg.reject()
            return False

        w.confirm_write = preview
        w.write(selected=False)
        if i == 0:
            dlg = SettingsDialog(w.settings, w.meta, w)
            dlg.show()
            grab(dlg, "settings")
            dlg.reject()
        w.close()
    print("wrote", *written, sep="\n  ")


if __name__ == "__main__":
    main()
