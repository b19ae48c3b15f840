"""The bundled ONNX model: loading (checked through :class:`ModelMeta`) and inference.

A model is ``<name>.onnx`` plus ``<name>.json`` (see :mod:`genre_tagger.listen.modelmeta`).
:class:`Classifier` turns a file into a :class:`Classification`: every vocabulary's
track-level probabilities (the graph aggregates and calibrates; the app does no maths on
them), the taggers' tags, the duration. The scanner caches Classifications whole, so a
change of vocabulary never needs the audio again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .frontend import FrontendConfig
from .modelmeta import ModelMeta
from .pipeline import SecondInput, TrackPatches, track_patches

DEFAULT_MODEL_NAME = "genre-v5"


def bundled_model_path(name: str = DEFAULT_MODEL_NAME) -> Path:
    """Path of the bundled metadata JSON: the source tree's ``models/`` when this code runs
    from a source tree (a checkout or a git worktree, whichever the editable install points
    at), else the installed package data."""
    src = Path(__file__).resolve().parents[2]  # genre_tagger/listen/model.py -> the repository root
    if (src / "pyproject.toml").is_file() and (src / "models" / f"{name}.json").is_file():
        return src / "models" / f"{name}.json"
    try:
        from importlib.resources import files

        p = Path(str(files("genre_tagger.models") / f"{name}.json"))
        if p.is_file():
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    return src / "models" / f"{name}.json"


def load_info(path: str | Path | None = None, app_frontend: FrontendConfig | None = None, verify_hash: bool = True) -> ModelMeta:
    """The checked metadata of the model at ``path`` (``.json`` or ``.onnx``; None = bundled).

    Raises :class:`ModelError` naming the file (see :meth:`ModelMeta.load`).
    """
    return ModelMeta.load(path or bundled_model_path(), app_frontend, verify_hash)


@dataclass(frozen=True)
class Classification:
    """What the model says about one track, for every vocabulary at once.

    ``probs[vocabulary][genre id]`` = calibrated probability (in the vocabulary's order);
    ``tags[tag name]`` = the taggers' tag probabilities (may be empty). Picklable and
    JSON-able (:meth:`to_dict` / :meth:`from_dict`): the scan cache stores it whole.
    """

    probs: dict[str, dict[str, float]]
    tags: dict[str, float] = field(default_factory=dict)
    duration: float = 0.0
    windows: int = 0

    def ranked(self, vocabulary: str) -> list[tuple[str, float]]:
        """``[(genre id, p), ...]`` of one vocabulary, best first (KeyError if absent)."""
        return sorted(self.probs[vocabulary].items(), key=lambda kv: -kv[1])

    def ranked_tags(self, names: dict[str, str] | None = None) -> list[tuple[str, float]]:
        """Tags best first; with ``names`` (tag -> display name) only those, renamed."""
        items = self.tags.items() if names is None else ((names[k], p) for k, p in self.tags.items() if k in names)
        return sorted(items, key=lambda kv: -kv[1])

    def to_dict(self) -> dict:
        return {"probs": self.probs, "tags": self.tags, "duration": self.duration, "windows": self.windows}

    @classmethod
    def from_dict(cls, d: dict) -> Classification:
        """Raises KeyError/TypeError on an entry of another shape (callers treat it as a cache miss)."""
        return cls({v: dict(p) for v, p in d["probs"].items()}, dict(d.get("tags", {})), float(d["duration"]), int(d["windows"]))


class Classifier:
    """One ONNX Runtime session for one model, created once and reused.

    ``classify_file(path)`` -> :class:`Classification`. ``meta`` is the model's checked
    :class:`ModelMeta` (vocabularies, default thresholds, windows...).
    """

    def __init__(self, model: str | Path | None = None, threads: int | None = None):
        self.meta = load_info(model)
        import onnxruntime as ort

        opts = ort.SessionOptions()
        n = threads if threads is not None else int(os.environ.get("GENRE_TAGGER_THREADS", "0"))
        if n:
            opts.intra_op_num_threads = n
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        path = self.meta.onnx_path
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ModelError(path, f"cannot load ONNX model ({e})") from e
        have_in = [i.name for i in self.session.get_inputs()]
        have_out = {o.name for o in self.session.get_outputs()}
        missing = [o for o in self.meta.outputs if o not in have_out]
        m = self.meta
        self.second = SecondInput(m.mn_frontend, m.mn_windows) if m.mn_frontend is not None and m.mn_windows is not None else None
        if have_in != self.meta.inputs or missing:
            raise ModelError(path, f"ONNX graph does not match its metadata (inputs {have_in}, missing outputs {missing})")

    def patches_for_file(self, path: str | Path) -> TrackPatches:
        """Decode + front-end for ``path`` (raises DecodeError naming the file)."""
        return track_patches(path, self.meta.frontend, self.meta.windows, self.second)

    def classify_patches(self, patches: np.ndarray, duration: float = 0.0, mn_mels: np.ndarray | None = None) -> Classification:
        """``[N, frames, mels]`` (the windows of ONE track; with a second tagger also its
        ``mn_mels`` ``[M, mels, frames]``) -> :class:`Classification`."""
        x = np.ascontiguousarray(patches, dtype=np.float32)
        feed = {self.meta.input.name: x}
        if self.meta.mn_input is not None:
            if mn_mels is None:
                raise ValueError("this model has a second input: give mn_mels")
            feed[self.meta.mn_input.name] = np.ascontiguousarray(mn_mels, dtype=np.float32)
        outs = dict(zip(self.meta.outputs, self.session.run(self.meta.outputs, feed)))
        probs = {v.name: {g: float(p) for g, p in zip(v.genres, np.asarray(outs[v.output]).reshape(-1))} for v in self.meta.vocabularies}
        tags = {}
        if self.meta.tags:
            tags = {t: float(p) for t, p in zip(self.meta.tags, np.asarray(outs[self.meta.tag_output]).reshape(-1))}
        return Classification(probs, tags, float(duration), int(x.shape[0]))

    def classify_file(self, path: str | Path) -> Classification:
        """Decode, front-end and model for one file (raises DecodeError naming the file)."""
        tp = self.patches_for_file(path)
        return self.classify_patches(tp.patches, tp.duration, tp.mn_mels)
