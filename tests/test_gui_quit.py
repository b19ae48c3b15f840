"""The desktop app, as a real process, killed during a scan: SIGTERM / SIGHUP / SIGINT close it as
the close button does (scan cancelled, layout saved), and neither that nor SIGKILL
leaves the scan's fork server, resource tracker or worker processes running."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.synth import write_audio

pytest.importorskip("PySide6")
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir() or os.name == "nt", reason="reads /proc (Linux)")

ROOT = Path(__file__).resolve().parents[1]


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state, parent, ...); [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _start_time(pid: int) -> str | None:
    """The process's start time (tells it from a later process with the same id); None
    once it has ended (a zombie has ended: it only waits to be reaped)."""
    fields = _stat(pid)
    return None if not fields or fields[0] in ("Z", "X") else fields[19]


def _descendants(pid: int) -> dict[int, str]:
    out = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for c in children:
            t = _start_time(c)
            if t is not None:
                out[c] = t
                out.update(_descendants(c))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _workers(app: int) -> list[int]:
    """The scan's worker processes: the children of the app's fork server."""
    servers = [p for p in _descendants(app) if "forkserver" in _cmdline(p) and _stat(p)[1:2] == [str(app)]]
    return [p for s in servers for p in _descendants(s)]


@pytest.fixture()
def big_library(tmp_path):
    """400 copies of one short track (a scan that lasts a few seconds; copies, not
    links: the scan lists a file once however many names it has)."""
    lib = tmp_path / "lib"
    lib.mkdir()
    first = write_audio(lib / "000.wav", "wav", seconds=3.0)
    for i in range(1, 400):
        shutil.copyfile(first, lib / f"{i:03d}.wav")
    return lib


def _app_during_scan(tmp_path, library, tiny_model_path):
    """Start the app on ``library``; return (process, its descendants) once the scan's
    workers run."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               GENRE_TAGGER_DATA_DIR=str(tmp_path / "data"))  # fmt: skip
    with open(tmp_path / "app.log", "wb") as log:
        app = subprocess.Popen([sys.executable, "-m", "genre_tagger.gui.app", "--model", str(tiny_model_path), str(library)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and app.poll() is None:
        if _workers(app.pid):
            return app, _descendants(app.pid)
        time.sleep(0.05)
    app.kill()
    app.wait()
    pytest.fail("the scan's workers never started:\n" + (tmp_path / "app.log").read_text(errors="replace"))


def _left_running(procs: dict[int, str], seconds: float) -> list[str]:
    """Those of ``procs`` still running after ``seconds``; they are killed then (never
    left behind for the next tests, whatever the outcome)."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p, t in procs.items() if _start_time(p) == t]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    names = [f"{p}: {_cmdline(p)[:120]}" for p in left]
    for p in left:
        os.kill(p, signal.SIGKILL)
    return names


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_terminate_during_scan_closes_like_the_window(tmp_path, big_library, tiny_model_path, sig):
    app, procs = _app_during_scan(tmp_path, big_library, tiny_model_path)
    assert _workers(app.pid)  # still scanning when the signal comes (the pool ends with the scan)
    app.send_signal(sig)
    try:
        rc = app.wait(timeout=15)
    except subprocess.TimeoutExpired:
        app.kill()
        pytest.fail("the app did not end after " + sig.name)
    log = (tmp_path / "app.log").read_text(errors="replace")
    assert rc == 128 + sig, log
    assert "Traceback" not in log, log
    assert not _left_running(procs, 5), "left running after " + sig.name
    settings = (tmp_path / "config" / "genre-tagger" / "genre-tagger.ini").read_text()
    assert "geometry" in settings  # the window's layout was saved, as when it is closed


def test_killed_app_leaves_no_worker(tmp_path, big_library, tiny_model_path):
    app, procs = _app_during_scan(tmp_path, big_library, tiny_model_path)
    app.kill()  # SIGKILL: no handler runs; the workers notice that the app is gone
    app.wait()
    assert not _left_running(procs, 5), "left running after SIGKILL"
