"""Rate and time left of a scan, for the CLI's progress bar and the desktop app."""

from __future__ import annotations


def rate_and_eta(done: int, total: int, seconds: float) -> tuple[float, float]:
    """(files per second, seconds left; 0 when unknown) after ``done`` of ``total`` files."""
    rate = done / max(seconds, 1e-6)
    return rate, ((total - done) / rate if rate > 0 and total else 0.0)


def clock(seconds: float) -> str:
    """``m:ss``."""
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"
