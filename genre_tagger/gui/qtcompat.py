"""Work-around for a PySide6 reference-count bug.

Some PySide6 releases (seen with 6.12 on CPython 3.11) drop one reference to ``None``
every time a Python override such as ``QAbstractItemModel.data`` returns ``None`` to
C++. Views call ``data`` for many roles on every repaint, so ``None``'s count runs down
and the interpreter aborts ("none_dealloc: deallocating None") after a while.
:func:`no_value` returns ``None`` and, where a probe at start-up measured the leak, adds
back the reference the binding will take away.
"""

from __future__ import annotations

import ctypes
import sys

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None
_LEAK: int | None = None


def _probe() -> int:
    from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

    class Probe(QAbstractListModel):
        def rowCount(self, parent=QModelIndex()):
            return 1

        def data(self, index, role=Qt.DisplayRole):
            return None

    m = Probe()
    idx = m.index(0, 0)
    n = 64
    before = sys.getrefcount(None)
    for _ in range(n):
        idx.data(Qt.DisplayRole)
    lost = before - sys.getrefcount(None)
    for _ in range(max(0, lost)):  # undo the probe's own damage
        _incref(None)
    return max(0, round(lost / n))


def no_value():
    """``None`` for a Qt virtual's return value, safe against the leak above."""
    global _LEAK
    if _LEAK is None:
        _LEAK = _probe()
    for _ in range(_LEAK):
        _incref(None)
    return None


_GUARD_MARGIN = 10**9
_guard_base: int | None = None


def _top_up() -> None:
    if _guard_base is None:
        return
    missing = _guard_base - sys.getrefcount(None)
    if missing > 0:
        ctypes.c_ssize_t.from_address(id(None)).value += missing


def install_none_guard(parent=None) -> None:
    """Give ``None`` a large reserve of references and top it up every second, so that
    no binding bug that drops references to ``None`` can ever free it. Harmless: ``None``
    is never deallocated anyway. Only on CPython < 3.12 (3.12 made ``None`` immortal)."""
    global _guard_base
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or _guard_base is not None:
        return
    ctypes.c_ssize_t.from_address(id(None)).value += _GUARD_MARGIN
    _guard_base = sys.getrefcount(None)
    from PySide6.QtCore import QCoreApplication, QTimer

    timer = QTimer(parent or QCoreApplication.instance())
    timer.setInterval(1000)
    timer.timeout.connect(_top_up)
    timer.start()
    globals()["_guard_timer"] = timer
