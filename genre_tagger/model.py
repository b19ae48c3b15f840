"""The bundled ONNX model: metadata, checks at load, and inference.

A model is ``<name>.onnx`` plus ``<name>.json`` (metadata: labels, front-end
parameters, windows, accuracy figures, the ONNX sha256). Loading checks the front-end
parameters against the app's own :class:`~genre_tagger.frontend.FrontendConfig`, the
input shape and the checksum, and raises :class:`ModelError` on any mismatch.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import read_windows
from .errors import ModelError
from .frontend import FrontendConfig, patches_from_windows
from .windows import WindowSpec, aggregate, window_starts

DEFAULT_MODEL_NAME = "genre-musicnn"


def bundled_model_path(name: str = DEFAULT_MODEL_NAME) -> Path:
    """Path of the bundled metadata JSON (installed package data, or the source tree)."""
    try:
        from importlib.resources import files

        p = Path(str(files("genre_tagger.models") / f"{name}.json"))
        if p.is_file():
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[1] / "models" / f"{name}.json"


@dataclass(frozen=True)
class ModelInfo:
    path: Path  # metadata JSON
    name: str
    version: str
    onnx_path: Path
    genres: list[str]  # ids
    display: dict[str, str]  # id -> display name
    tags: list[str]
    extra_genres: dict[str, str]
    frontend: FrontendConfig
    windows: WindowSpec
    input_name: str
    genre_output: str
    tag_output: str
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def model_id(self) -> str:
        """Changes whenever the ONNX changes (keys the classification cache)."""
        return f"{self.name}@{self.version}:{self.raw.get('onnx_sha256', '')[:12]}"


def load_info(path: str | Path | None = None, app_frontend: FrontendConfig | None = None, verify_hash: bool = True) -> ModelInfo:
    path = Path(path) if path else bundled_model_path()
    if path.suffix == ".onnx":
        path = path.with_suffix(".json")
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ModelError(path, "model metadata not found") from e
    except (OSError, ValueError) as e:
        raise ModelError(path, f"model metadata unreadable ({e})") from e
    try:
        fe = FrontendConfig.from_dict(meta["frontend"])
        (app_frontend or FrontendConfig()).check(fe)
        windows = WindowSpec.from_dict(meta["windows"])
        shape = meta["input"]["shape"]
        if list(shape[1:]) != [fe.patch_frames, fe.n_mels]:
            raise ValueError(f"input shape {shape} does not fit the front-end ({fe.patch_frames} x {fe.n_mels})")
        genres = [g["id"] for g in meta["genres"]]
        info = ModelInfo(
            path=path,
            name=meta["name"],
            version=str(meta.get("version", "1")),
            onnx_path=path.parent / meta["onnx"],
            genres=genres,
            display={g["id"]: g["display"] for g in meta["genres"]},
            tags=list(meta.get("tags", [])),
            extra_genres=dict(meta.get("extra_genres", {})),
            frontend=fe,
            windows=windows,
            input_name=meta["input"]["name"],
            genre_output=meta["outputs"]["genres"],
            tag_output=meta["outputs"].get("tags", ""),
            raw=meta,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(path, f"bad model metadata: {e}") from e
    if not info.onnx_path.is_file():
        raise ModelError(info.onnx_path, "model file not found")
    if verify_hash and meta.get("onnx_sha256"):
        digest = hashlib.sha256(info.onnx_path.read_bytes()).hexdigest()
        if digest != meta["onnx_sha256"]:
            raise ModelError(info.onnx_path, "model file does not match the sha256 in its metadata")
    return info


def aggregate_outputs(info: ModelInfo, genre_probs, tag_probs) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-window model outputs -> one genre vector (the metadata's aggregation) and one
    tag vector (mean), in the order of ``info.genres`` / ``info.tags``."""
    g = aggregate(np.asarray(genre_probs, dtype=np.float64), info.windows.aggregation)
    t = None
    if tag_probs is not None and info.tags:
        t = np.asarray(tag_probs, dtype=np.float64).mean(axis=0)
    return g, t


@dataclass
class Prediction:
    genres: list[tuple[str, float]]  # (genre id, probability), best first
    tags: list[tuple[str, float]]  # (tag name, probability), best first
    duration: float
    windows: int

    def top(self, k: int = 1) -> list[tuple[str, float]]:
        return self.genres[:k]


class Classifier:
    """One ONNX Runtime session, created once and reused."""

    def __init__(self, model: str | Path | None = None, threads: int | None = None):
        self.info = load_info(model)
        import onnxruntime as ort

        opts = ort.SessionOptions()
        n = threads if threads is not None else int(os.environ.get("GENRE_TAGGER_THREADS", "0"))
        if n:
            opts.intra_op_num_threads = n
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.info.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001
            raise ModelError(self.info.onnx_path, f"cannot load ONNX model ({e})") from e
        self._outputs = [self.info.genre_output] + ([self.info.tag_output] if self.info.tag_output else [])

    def predict_patches(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``[N, frames, mels]`` -> per-window genre probs ``[N, G]`` (and tag probs)."""
        outs = self.session.run(self._outputs, {self.info.input_name: np.ascontiguousarray(patches, dtype=np.float32)})
        return outs[0], (outs[1] if len(outs) > 1 else None)

    def patches_for_file(self, path: str | Path) -> tuple[np.ndarray, float]:
        fe, ws = self.info.frontend, self.info.windows
        min_s = ws.min_seconds if ws.min_seconds is not None else fe.patch_seconds
        info, wins = read_windows(
            path,
            lambda d: window_starts(d, fe.patch_seconds, ws.count, ws.margin),
            fe.patch_seconds,
            fe.sample_rate,
            min_s,
        )
        return patches_from_windows(wins, fe), info.duration

    def predict_from_patches(self, patches: np.ndarray, duration: float) -> Prediction:
        g, t = self.predict_patches(patches)
        return self.make_prediction(g, t, duration)

    def make_prediction(self, genre_probs: np.ndarray, tag_probs: np.ndarray | None, duration: float) -> Prediction:
        g, t = aggregate_outputs(self.info, genre_probs, tag_probs)
        genres = [(self.info.genres[i], float(g[i])) for i in np.argsort(-g)]
        tags: list[tuple[str, float]] = []
        if t is not None:
            tags = sorted(((self.info.tags[i], float(t[i])) for i in range(len(t))), key=lambda x: -x[1])
        return Prediction(genres, tags, duration, len(genre_probs))

    def classify_file(self, path: str | Path) -> Prediction:
        patches, duration = self.patches_for_file(path)
        return self.predict_from_patches(patches, duration)
