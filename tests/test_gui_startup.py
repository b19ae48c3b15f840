"""No display, or Qt's X11 libraries missing: `genre-tagger` (no arguments) and
`genre-tagger-gui` aborted inside Qt (exit 134, "Reinstalling the application may fix
this problem"). Now: one line saying what is missing and that the command line works
without a display, exit 2."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 / Wayland platform plugins (Linux)")

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    base.update(XDG_RUNTIME_DIR=str(tmp_path), **env)  # no Wayland socket to find there
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [["-m", "genre_tagger"], ["-m", "genre_tagger.gui.app"]], ids=["genre-tagger", "genre-tagger-gui"])
def test_no_display_is_one_line_and_exit_2(command, tmp_path):
    p = _run(command, tmp_path, QT_QPA_PLATFORM="xcb")
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISPLAY is not set" in lines[0] and "genre-tagger --scan DIR" in lines[0], p.stderr
    assert "Reinstalling" not in p.stderr


def test_a_platform_qt_cannot_initialise_is_caught_before_the_abort(tmp_path):
    """A cause the checks do not know (here: Wayland asked for, no compositor): Qt's fatal
    message is caught as Qt reports it, before it aborts."""
    p = _run(["-m", "genre_tagger"], tmp_path, QT_QPA_PLATFORM="wayland")
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot start" in lines[0] and "genre-tagger --scan DIR" in lines[0], p.stderr


def test_missing_x11_libraries_are_named_with_their_package(monkeypatch):
    from genre_tagger.gui import startup

    assert startup.debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert startup.debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert startup.debian_package("libGL.so.1") == "libgl1"
    plugin = Path("/qt/plugins/platforms/libqxcb.so")
    monkeypatch.setattr(startup, "missing_libraries", lambda p: ["libxcb-cursor.so.0"] if p == plugin else [])
    line = startup.platform_problem({"DISPLAY": ":0"}, [], plugin=lambda: plugin)
    assert "libxcb-cursor.so.0" in line and "sudo apt install libxcb-cursor0" in line and "--scan DIR" in line
    assert "DISPLAY" not in line  # there is a display: only the library is missing
    assert startup.platform_problem({"DISPLAY": ":0"}, [], plugin=lambda: None) is None  # nothing missing: Qt starts
    assert startup.platform_problem({"QT_QPA_PLATFORM": "offscreen"}, []) is None
    assert startup.platform_problem({}, ["-platform", "offscreen"]) is None
