"""Exception types of the core. Each carries the path it is about."""

from __future__ import annotations

from pathlib import Path


class GenreTaggerError(Exception):
    """Base class: a problem with one file (or the model) that the caller reports."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)


class DecodeError(GenreTaggerError):
    """Audio could not be decoded (corrupt, unsupported codec, DRM, not audio)."""


class AudioTooShortError(DecodeError):
    """Audio is shorter than the model needs."""


class SilentAudioError(DecodeError):
    """Audio is digital silence: there is nothing to classify."""


class ModelError(GenreTaggerError):
    """The model file or its metadata is missing, corrupt or does not fit this front-end."""


class TagError(GenreTaggerError):
    """Tags could not be read or written."""
