"""SIGTERM, SIGHUP and SIGINT (``kill PID``, a logout, Ctrl-C in the terminal that
started the app) close the app as its window's close button does: the scan is
cancelled, its worker processes are shut down, the window's layout is saved.

Python runs a signal handler only when the interpreter gets control, which Qt's event
loop does not give it; so the C-level handler writes the signal's number into a socket
(:func:`signal.set_wakeup_fd`) that a :class:`QSocketNotifier` watches, and the close
happens in the event loop. Without a handler, SIGTERM ends the process at once and its
scan's worker processes are left running.
"""

from __future__ import annotations

import signal
import socket

from PySide6.QtCore import QObject, QSocketNotifier
from PySide6.QtWidgets import QApplication, QWidget

QUIT_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, n))


class QuitOnSignal(QObject):
    """Close ``window`` and leave the event loop with 128 + the signal's number when one
    of :data:`QUIT_SIGNALS` arrives (later ones are ignored while it closes)."""

    def __init__(self, app: QApplication, window: QWidget):
        super().__init__(app)
        self.app, self.window, self.received = app, window, 0
        self._read, self._write = socket.socketpair()
        for s in (self._read, self._write):
            s.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._write.fileno())
        self._old = {sig: signal.signal(sig, lambda *_: None) for sig in QUIT_SIGNALS}  # the work is done in _woken
        self.notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Read, self)
        self.notifier.activated.connect(self._woken)

    def _woken(self, *_) -> None:
        try:
            data = self._read.recv(64)
        except OSError:
            return
        sig = next((s for s in data if s in QUIT_SIGNALS), 0)
        if not sig or self.received:
            return
        self.received = sig
        self.window.close()  # what the close button does: cancel the scan, stop its workers, save the layout
        self.app.exit(128 + sig)

    def uninstall(self) -> None:
        """Give the signals their previous handlers back (after the event loop)."""
        self.notifier.setEnabled(False)
        for sig, old in self._old.items():
            signal.signal(sig, old)
        signal.set_wakeup_fd(self._old_fd)
        self._read.close()
        self._write.close()
