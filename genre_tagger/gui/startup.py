"""Can the desktop app open a window here? Said in one line, before Qt aborts.

Without a display, or without the X11 libraries Qt's xcb plugin needs (``libxcb-cursor0``
since Qt 6.5), Qt prints a paragraph ending in "Reinstalling the application may fix this
problem" and aborts the process (exit 134). The app checks the common causes first
(:func:`platform_problem`) and, for any other, catches Qt's fatal message as it is
reported (:func:`fatal_platform_guard`): one line saying what is missing and that the
command line works without a display, exit 2.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

EXIT_NO_DISPLAY = 2
CLI_HINT = "The command line works without a display: genre-tagger --scan DIR (see genre-tagger --help)."


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package of a shared library, by Debian's naming rule:
    ``libxcb-cursor.so.0`` -> ``libxcb-cursor0``, ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0``."""
    m = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\..*)?", soname)
    if not m:
        return soname
    name, version = m.group(1).lower(), m.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def xcb_plugin() -> Path | None:
    """Qt's X11 platform plugin, where this PySide6 has one."""
    from PySide6.QtCore import QLibraryInfo

    p = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    return p if p.is_file() else None


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries ``plugin`` needs that cannot be loaded ([] if it loads)."""
    try:
        ctypes.CDLL(str(plugin))
        return []
    except OSError as e:
        first = str(e).split(":")[0].strip()
    missing = [first] if first.startswith("lib") else []
    ldd = shutil.which("ldd")  # every missing library at once, not only the first
    if ldd:
        try:
            out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
            missing += [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]
        except (OSError, subprocess.SubprocessError):
            pass
    return list(dict.fromkeys(missing)) or [first]


def _candidates(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order ('' = Qt's default)."""
    return [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")] or [""]


def platform_problem(env: Mapping[str, str] | None = None, argv: list[str] | None = None, plugin=xcb_plugin) -> str | None:
    """Why the app cannot open a window here (one line), or None where it can (or where
    only Qt can tell: another plugin, a Wayland session, another system)."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or "-platform" in (argv or []) or env.get("WAYLAND_DISPLAY"):
        return None
    if any(p not in ("", "xcb") for p in _candidates(env)):  # offscreen, wayland, vnc…: Qt's own business
        return None
    problems = []
    if not env.get("DISPLAY"):
        problems.append("there is no display (DISPLAY is not set)")
    path = plugin()
    missing = missing_libraries(path) if path is not None else []
    if missing:
        packages = " ".join(dict.fromkeys(debian_package(m) for m in missing))
        problems.append(f"Qt's X11 plugin needs {', '.join(missing)}, not installed (Debian/Ubuntu: sudo apt install {packages})")
    if not problems:
        return None
    return f"genre-tagger: the desktop app cannot start: {'; '.join(problems)}. {CLI_HINT}"


@contextlib.contextmanager
def fatal_platform_guard() -> Iterator[None]:
    """While the QApplication is made: a fatal Qt message (no platform plugin could be
    initialised) becomes one line and exit 2 instead of Qt's abort; Qt's other messages
    meanwhile are printed afterwards, as Qt would have."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    held: list[str] = []

    def handler(kind, context, message: str) -> None:
        if kind != QtMsgType.QtFatalMsg:
            held.append(message)
            return
        why = "Qt could not open a window"
        if "platform plugin" in message:
            display = os.environ.get("DISPLAY", "")
            why = f"Qt cannot use the display {display!r} or its platform plugin" if display else "there is no display"
        note = next((m for m in held if "connect" in m), held[0] if held else message.splitlines()[0])
        sys.stderr.write(f"genre-tagger: the desktop app cannot start: {why} ({note.strip()}). {CLI_HINT}\n")
        sys.stderr.flush()
        os._exit(EXIT_NO_DISPLAY)  # Qt aborts as soon as this returns

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)
        for m in held:
            sys.stderr.write(m + "\n")
