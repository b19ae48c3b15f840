"""Persisted settings (QSettings) <-> the core's option dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSettings

from ..policy import WritePolicy
from ..tags import TagOptions


@dataclass
class AppSettings:
    overwrite: bool = False
    min_confidence: float = 0.0
    max_genres: int = 1
    id3_version: int = 4
    id3v23_separator: str = "; "
    keep_mtime: bool = False
    workers: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    recent_folders: list[str] = field(default_factory=list)

    def policy(self, dry_run: bool = True) -> WritePolicy:
        return WritePolicy(self.overwrite, self.min_confidence, self.max_genres, dry_run, dict(self.mapping))

    def tag_options(self) -> TagOptions:
        return TagOptions(self.id3_version, self.id3v23_separator, self.keep_mtime)

    def add_recent(self, folder: str) -> None:
        self.recent_folders = [folder] + [f for f in self.recent_folders if f != folder][:7]


def qsettings() -> QSettings:
    """The app's settings file (INI format, in the user's config folder)."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "genre-tagger", "genre-tagger")


def load_settings() -> AppSettings:
    s = qsettings()
    d = AppSettings()

    def get(key, default, typ):
        v = s.value(key, default)
        try:
            return typ(v) if typ is not bool else (v in (True, "true", "1", 1))
        except (TypeError, ValueError):
            return default

    mapping_raw = s.value("mapping", "")
    mapping = {}
    for line in str(mapping_raw or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            mapping[k.strip().lower()] = v.strip()
    recent = s.value("recent_folders", [])
    if isinstance(recent, str):
        recent = [recent] if recent else []
    return AppSettings(
        overwrite=get("overwrite", d.overwrite, bool),
        min_confidence=get("min_confidence", d.min_confidence, float),
        max_genres=max(1, get("max_genres", d.max_genres, int)),
        id3_version=get("id3_version", d.id3_version, int) if get("id3_version", 4, int) in (3, 4) else 4,
        id3v23_separator=str(s.value("id3v23_separator", d.id3v23_separator)),
        keep_mtime=get("keep_mtime", d.keep_mtime, bool),
        workers=max(0, get("workers", d.workers, int)),
        mapping=mapping,
        recent_folders=list(recent or []),
    )


def save_settings(a: AppSettings) -> None:
    s = qsettings()
    for k in ("overwrite", "min_confidence", "max_genres", "id3_version", "id3v23_separator", "keep_mtime", "workers"):
        s.setValue(k, getattr(a, k))
    s.setValue("mapping", "\n".join(f"{k}={v}" for k, v in a.mapping.items()))
    s.setValue("recent_folders", a.recent_folders)
    s.sync()
