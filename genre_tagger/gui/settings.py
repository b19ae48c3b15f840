"""Persisted settings (QSettings) <-> the core's option dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSettings

from ..library.policy import WritePolicy, parse_mapping
from ..tagstore.tags import TagOptions


@dataclass
class AppSettings:
    overwrite: bool = False
    min_confidence: float | None = None  # None: the model's threshold for the vocabulary
    max_genres: int = 1
    vocabulary: str = ""  # "": the model's default vocabulary
    id3_version: int = 4
    id3v23_separator: str = "; "
    keep_mtime: bool = False
    workers: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    recent_folders: list[str] = field(default_factory=list)
    by_album: bool = True  # decide per album (as the CLI's --group album); False: every track on its own

    def policy(self, model_threshold: float = 0.0, dry_run: bool = True) -> WritePolicy:
        """The write policy; ``model_threshold`` applies unless the user chose a minimum confidence."""
        policy = WritePolicy(overwrite=self.overwrite, min_confidence=self.min_confidence, max_genres=self.max_genres,
                             dry_run=dry_run, mapping=dict(self.mapping))  # fmt: skip
        return policy.with_default_threshold(model_threshold)

    def tag_options(self) -> TagOptions:
        return TagOptions(self.id3_version, self.id3v23_separator, self.keep_mtime)

    def add_recent(self, folder: str) -> None:
        self.recent_folders = [folder] + [f for f in self.recent_folders if f != folder][:7]


def mapping_from_text(text: str) -> dict[str, str]:
    """``"Hip-Hop=Rap"`` lines -> ``{"hip-hop": "Rap"}`` (lines without a name on both sides are ignored)."""
    return parse_mapping(text.splitlines(), strict=False)


def mapping_to_text(mapping: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in mapping.items())


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

    mapping = mapping_from_text(str(s.value("mapping", "") or ""))
    recent = s.value("recent_folders", [])
    if isinstance(recent, str):
        recent = [recent] if recent else []
    return AppSettings(
        overwrite=get("overwrite", d.overwrite, bool),
        min_confidence=_threshold(s.value("threshold", "")),
        vocabulary=str(s.value("vocabulary", "") or ""),
        max_genres=max(1, get("max_genres", d.max_genres, int)),
        id3_version=get("id3_version", d.id3_version, int) if get("id3_version", 4, int) in (3, 4) else 4,
        id3v23_separator=str(s.value("id3v23_separator", d.id3v23_separator)),
        keep_mtime=get("keep_mtime", d.keep_mtime, bool),
        workers=max(0, get("workers", d.workers, int)),
        mapping=mapping,
        recent_folders=list(recent or []),
        by_album=get("by_album", d.by_album, bool),
    )


def _threshold(v) -> float | None:
    """The saved minimum confidence ("threshold"; "model" or nothing = the model's threshold).
    The key is new: a "min_confidence" of 0 that older versions saved by default is ignored."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return min(max(f, 0.0), 1.0)


def save_settings(a: AppSettings) -> None:
    s = qsettings()
    for k in ("overwrite", "max_genres", "vocabulary", "id3_version", "id3v23_separator", "keep_mtime", "workers", "by_album"):
        s.setValue(k, getattr(a, k))
    s.setValue("threshold", "model" if a.min_confidence is None else a.min_confidence)
    s.setValue("mapping", mapping_to_text(a.mapping))
    s.setValue("recent_folders", a.recent_folders)
    s.sync()
