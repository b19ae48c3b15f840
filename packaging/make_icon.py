"""Render packaging/genre-tagger.svg to PNG sizes (Qt's SVG renderer, offscreen)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

here = Path(__file__).parent
app = QGuiApplication(sys.argv[:1])
renderer = QSvgRenderer(str(here / "genre-tagger.svg"))
for size in (256, 64, 32):
    img = QImage(size, size, QImage.Format_ARGB32)
    img.fill(Qt.transparent)
    p = QPainter(img)
    renderer.render(p)
    p.end()
    img.save(str(here / f"genre-tagger-{size}.png"))
print("ok")
