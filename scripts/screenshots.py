"""Screenshots of the desktop app for the README, at 640x480, 1280x800 and 1920x1200: the
first start, a reviewed library in artist/album folders (genre now -> after Write), the
write preview, History, Settings and About (each dialog at most the window's size). The
library is generated (synthetic audio, made-up artists and albums), scanned with the
bundled model.

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

SIZES = tuple(tuple(map(int, s.split("x"))) for s in os.environ.get("SCREENSHOT_SIZES", "1280x800 640x480 1920x1200").split())
ALBUMS = [("Northern Lights Trio", "Polar Nights"), ("Mara Quell", "Glass Houses"), ("The Static Orchard", "Orchard Sessions"),
          ("Lowland Brass", "Low Tide"), ("Mara Quell", "Second Light")]  # fmt: skip


def _tag(path: Path, artist: str, title: str, album: str, track: int, genre: str = "") -> None:
    """Tags of the generated library (a fixture: written directly with mutagen, so the
    app's journal stays empty and the first start looks like one)."""
    import mutagen

    f = mutagen.File(path, easy=True)
    if f.tags is None:
        f.add_tags()
    f["artist"], f["title"], f["album"], f["tracknumber"] = artist, title, album, str(track)
    if genre:
        f["genre"] = genre
    f.save()


def make_library(root: Path, n: int) -> Path:
    """``n`` tracks in Artist/Album folders (mp3, flac, ogg, m4a), a few with a genre
    already (Hip Hop and Hip-Hop among them), a folder of untagged downloads and a broken file."""
    from devtools.synth import EXTENSION, write_audio

    formats = ("flac", "mp3", "ogg", "m4a")
    genres = {1: "Jazz", 6: "Classical", 9: "Hip Hop", 10: "Hip-Hop"}
    for i in range(n):
        artist, album = ALBUMS[i % len(ALBUMS)]
        track = i // len(ALBUMS) + 1
        fmt = formats[i % len(formats)]
        folder = root / artist / album
        folder.mkdir(parents=True, exist_ok=True)
        p = write_audio(folder / f"{track:02d} Study No. {i + 1}.{EXTENSION.get(fmt, fmt)}", fmt, 8.0, seed=i)
        _tag(p, artist, f"Study No. {i + 1}", album, track, genres.get(i, ""))
    loose = root / "Downloads"
    loose.mkdir()
    write_audio(loose / "untitled (1).mp3", "mp3", 8.0, seed=99)
    (loose / "broken.mp3").write_bytes(b"\0" * 64)
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
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    from genre_tagger.gui.about import about_text
    from genre_tagger.gui.history import HistoryDialog
    from genre_tagger.gui.main_window import MainWindow
    from genre_tagger.gui.settings import qsettings
    from genre_tagger.gui.settings_dialog import SettingsDialog

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

    def fitted(dlg, width: int, height: int):
        """A dialog at its own size, but never larger than the window's size."""
        hint = dlg.sizeHint()
        dlg.resize(min(max(hint.width(), dlg.width()), width), min(max(hint.height(), dlg.height()), height))
        dlg.show()
        return dlg

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
        rows = {it.path.name: r for r, it in enumerate(w.review.items)}
        if i == 0:  # the review: a few decisions, the rest as the model proposes (remembered for the other sizes)
            w.review.reject([rows["01 Study No. 3.ogg"]])
            w.review.set_genre([rows["01 Study No. 5.flac"]], ["Ambient"])
            w.review.accept([rows[n] for n in ("02 Study No. 6.mp3", "02 Study No. 9.flac")])
            w.review.replace_with_prediction([rows["01 Study No. 2.mp3"]])  # Jazz -> the model's guess, asked for explicitly
            w.start_scan()  # decisions come back on a rescan
            while w.worker is not None:
                app.processEvents()
            settle()
        jazz = next(i for i, it in enumerate(w.review.items) if it.path.name == "01 Study No. 2.mp3")  # genre now -> after Write
        w.table.selectRow(w.proxy.mapFromSource(w.model.index(jazz, 0)).row())
        grab(w, f"review-{size}")

        def preview(plan, note, w=w, size=size, width=width, height=height):
            from genre_tagger.gui.write_preview import WritePreviewDialog

            dlg = fitted(WritePreviewDialog(plan, note, w), width, height)
            grab(dlg, f"write-preview-{size}")
            dlg.reject()
            return False

        w.confirm_write = preview
        w.write(selected=False)

        dlg = fitted(SettingsDialog(w.settings, w.meta, w), width, height)
        grab(dlg, f"settings-{size}")
        dlg.reject()

        box = QMessageBox(QMessageBox.NoIcon, "About genre-tagger", about_text(w.meta), QMessageBox.Ok, w)
        fitted(box, width, height)
        grab(box, f"about-{size}")
        box.close()

        from genre_tagger.tagstore.journal import Journal

        j = Journal()
        if i == 0:  # History: a write and its undo (on a file without decisions, so the review stays as it is)
            from genre_tagger.tagstore.undo import undo_run
            from genre_tagger.tagstore.write import WriteRun

            with WriteRun(j, "Set genre by hand: Lo-Fi (reviewed in the app)") as run:
                run.apply(music / "Downloads" / "untitled (1).mp3", ["Lo-Fi"])
            undo_run(j, None)
        runs = j.runs(30)
        j.close()
        dlg = fitted(HistoryDialog(runs, w), width, height)
        dlg.table.selectRow(0)
        grab(dlg, f"history-{size}")
        dlg.reject()
        w.close()
    print("wrote", *written, sep="\n  ")


if __name__ == "__main__":
    main()
