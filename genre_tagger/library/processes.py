"""How the scan's worker processes start, and how they are stopped.

Light on purpose (no numpy): the CLI starts the fork server before it imports the heavy
modules itself, so that both import at the same time.

One BLAS/OpenMP thread per process: the scan runs one process per core, so more threads
only compete for the same cores (and on one process, OpenBLAS's default threads made
decode + front-end take 2x the CPU and wall time on this 2-core machine). It must be set
before numpy is first imported in a process, and before the fork server starts (workers
inherit its environment); a value the user set is kept.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time

MATH_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# imported once by the fork server instead of by every worker: the scanner (whose
# initializer the workers run) and the libraries it and the decoders import on first use
WORKER_PRELOAD = ["genre_tagger.library.scanner", "onnxruntime", "soundfile", "soxr", "av"]


def one_math_thread() -> None:
    for var in MATH_THREAD_VARS:
        os.environ.setdefault(var, "1")


def worker_count(workers: int | None) -> int:
    """How many worker processes a scan asked for ``workers`` runs at most (0 or None:
    one a core)."""
    return workers or os.cpu_count() or 1


def worker_context():
    """A fork server that has imported :data:`WORKER_PRELOAD` once, so that each worker
    starts with them loaded; spawn where fork is unavailable (Windows, a PyInstaller bundle)."""
    import multiprocessing as mp

    one_math_thread()
    if os.name == "nt" or getattr(sys, "frozen", False):
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_PRELOAD)  # takes effect when the fork server first starts
    return ctx


def start_fork_server() -> None:
    """Start the fork server now rather than at the first file (it imports the heavy
    modules meanwhile); returns at once; no-op where workers are spawned."""
    if worker_context().get_start_method() == "forkserver":
        import signal
        from multiprocessing import forkserver, resource_tracker

        # Ctrl-C goes to the whole process group: a fork server still importing would die
        # of it with a traceback. Started with SIGINT blocked, it (and every worker it
        # forks) never sees it; Ctrl-C is the main process's business. (The resource
        # tracker first: starting it unblocks SIGINT again.)
        resource_tracker.ensure_running()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            forkserver.ensure_running()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def terminate_workers(pool) -> None:
    """End a process pool's workers at once (a second Ctrl-C must never wait for them)."""
    procs = getattr(pool, "_processes", None) or {}  # ProcessPoolExecutor's workers (InlinePool has none)
    for proc in list(procs.values()):
        proc.terminate()


def exit_with_parent() -> None:
    """In a worker process: exit as soon as the process that started the scan ends, also
    when it was killed (SIGKILL, a crash) and could not stop its workers. Without this
    they live on, blocked on their task queue, and keep the fork server and the resource
    tracker alive too: multiprocessing hands every worker the pipes whose end tells those
    two to stop. Workers only classify (nothing is written), so an immediate exit is safe."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None or os.name == "nt":  # Windows: os.kill(pid, 0) would end the parent
        return
    threading.Thread(target=_exit_when_gone, args=(parent.pid,), name="exit-with-parent", daemon=True).start()


def _exit_when_gone(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)  # Linux >= 5.3: readable once the process has ended
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: look once a second
        while _alive(pid):
            time.sleep(1.0)
        os._exit(1)
    select.select([fd], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's (the pid was reused)
        return False
    return True
