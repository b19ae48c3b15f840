"""How the journal names a run, as ``genre-tagger --history`` and the app's History show it.

The command line's runs are named by the command as typed ("scan ~/Music", "set Jazz
a.mp3", "undo 12"); the app's writes by what was written, in plain words. Names that
older versions stored are shown in today's words (:func:`run_title`).
"""

from __future__ import annotations

from collections.abc import Sequence

APP_WRITE_BEFORE = "gui write"  # the name of every app write before they said what they wrote
IN_THE_APP = "reviewed in the app"


def _distinct(genre_sets: Sequence[Sequence[str]]) -> list[str]:
    """``[["Jazz"], ["Rock", "Pop"], ["Jazz"]]`` -> ``["Jazz", "Rock; Pop"]``."""
    return list(dict.fromkeys("; ".join(g) for g in genre_sets))


def _listed(names: list[str], most: int = 3) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def app_write_name(from_model: int, by_hand: Sequence[Sequence[str]]) -> str:
    """The name of an app write of ``from_model`` files that get the model's genres and
    files that get the genres the user chose (``by_hand``: those genres, one entry a file)."""
    chosen = _distinct(by_hand)
    if chosen and not from_model:
        return f"Set {'genre' if len(chosen) == 1 else 'genres'} by hand: {_listed(chosen)} ({IN_THE_APP})"
    if chosen:
        return f"Wrote the model's genres and genres set by hand: {_listed(chosen)} ({IN_THE_APP})"
    return f"Wrote the model's genres ({IN_THE_APP})"


def run_title(command: str) -> str:
    """A run's name as shown (the stored name, or today's words for an older one)."""
    return f"Wrote genres ({IN_THE_APP})" if command == APP_WRITE_BEFORE else command
