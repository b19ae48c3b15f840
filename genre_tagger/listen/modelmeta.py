"""The model's metadata: one dataclass, read by the app and written by the exporter.

A model is ``<name>.onnx`` plus ``<name>.json`` beside it. The JSON is exactly
:meth:`ModelMeta.to_dict`; nothing else reads or writes its keys.

The ONNX graph (format 2) takes ``patches`` float32 ``[N, frames, mels]`` (the N windows
of ONE track, positions from :class:`~genre_tagger.listen.windows.WindowSpec`) and returns one
output per vocabulary, ``probs_<vocab>`` float32 ``[G]``: track-level, calibrated
probabilities in the order of :attr:`Vocabulary.genres` (aggregation and calibration
happen inside the graph; the app does no maths on them). An optional ``tag_probs``
``[T]`` holds the taggers' tags (names in :attr:`ModelMeta.tags`) for display.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..errors import ModelError
from .frontend import FrontendConfig
from .mn_frontend import MnFrontendConfig
from .windows import WindowSpec

FORMAT = 2  # the metadata/graph format this app reads


@dataclass(frozen=True)
class InputSpec:
    """The ONNX input: ``name`` float32 ``[N, frames, mels]`` (N = windows, dynamic)."""

    name: str = "patches"
    frames: int = 187
    mels: int = 96

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": ["n", self.frames, self.mels], "dtype": "float32"}

    @classmethod
    def from_dict(cls, d: dict) -> InputSpec:
        shape = d["shape"]
        if len(shape) != 3 or d.get("dtype", "float32") != "float32":
            raise ValueError(f"input must be float32 [n, frames, mels], not {d.get('dtype')} {shape}")
        return cls(name=d["name"], frames=int(shape[1]), mels=int(shape[2]))


@dataclass(frozen=True)
class MnInputSpec:
    """The second tagger's ONNX input (model v5: mn04): ``name`` float32 ``[M, mels, frames]``
    (M = its windows, dynamic), from :mod:`genre_tagger.listen.mn_frontend`."""

    name: str = "mn_mels"
    mels: int = 128
    frames: int = 1000

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": ["m", self.mels, self.frames], "dtype": "float32"}

    @classmethod
    def from_dict(cls, d: dict) -> MnInputSpec:
        shape = d["shape"]
        if len(shape) != 3 or d.get("dtype", "float32") != "float32":
            raise ValueError(f"second input must be float32 [m, mels, frames], not {d.get('dtype')} {shape}")
        return cls(name=d["name"], mels=int(shape[1]), frames=int(shape[2]))


@dataclass(frozen=True)
class Vocabulary:
    """One set of genres the model can name, and the ONNX output that scores them.

    ``genres`` are canonical ids (``"electronic"``, ``"rnb"``), ``display`` the names
    written into tags (``"Electronic"``, ``"R&B"``), in the output's order.
    ``min_confidence`` is the default threshold (the app's default ``--min-confidence``);
    ``accuracy`` maps a figure's name to its value (each names its protocol).

    ``album`` (optional, ``{}`` = the app's defaults) holds how album decisions are made
    with this vocabulary: every key is optional, and the app reads it with
    :meth:`genre_tagger.library.albums.AlbumSettings.from_dict`::

        "album": {
          "pooling": "mean" | "mean-log",   # how an album's track probabilities are pooled
          "temperature": 1.0,               # album calibration: q ∝ pooled ** (1 / T)
          "min_confidence": 0.9,            # the album's default write threshold
          "contradiction": {"own_min": 0.8, "album_max": 0.05},  # a track keeps its own decision
                                            # when its top genre p >= own_min and the album's genre p <= album_max
          "fitted": "free text: data, protocol, figures"
        }

    ``training/genre/albums_eval.py`` fits them from out-of-fold probabilities.
    """

    name: str
    output: str
    genres: list[str]
    display: list[str]
    min_confidence: float = 0.0
    accuracy: dict = field(default_factory=dict)
    album: dict = field(default_factory=dict)  # album decisions' settings (see above); {} = the app's defaults

    def __post_init__(self) -> None:
        if len(self.genres) != len(self.display) or not self.genres:
            raise ValueError(f"vocabulary {self.name!r}: genres and display must be non-empty and of equal length")
        if len(set(self.genres)) != len(self.genres):
            raise ValueError(f"vocabulary {self.name!r}: duplicate genre ids")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"vocabulary {self.name!r}: min_confidence must be in [0, 1]")

    def display_name(self, genre_id: str) -> str:
        """Display name of a genre id (the id itself if unknown)."""
        try:
            return self.display[self.genres.index(genre_id)]
        except ValueError:
            return genre_id

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "output": self.output,
            "genres": list(self.genres),
            "display": list(self.display),
            "min_confidence": self.min_confidence,
            "accuracy": dict(self.accuracy),
            **({"album": dict(self.album)} if self.album else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        return cls(
            name=d["name"],
            output=d["output"],
            genres=list(d["genres"]),
            display=list(d["display"]),
            min_confidence=float(d.get("min_confidence", 0.0)),
            accuracy=dict(d.get("accuracy", {})),
            album=dict(d.get("album") or {}),
        )


@dataclass(frozen=True)
class ModelMeta:
    """Everything the app needs to know about a model (the JSON beside the ONNX).

    Write it with :meth:`save` (after the ONNX, so ``sha256`` is the file's: see
    :func:`file_sha256`), read it with :meth:`load`, which checks the format, the
    front-end and windows against the app's and the checksum, and raises
    :class:`~genre_tagger.errors.ModelError` naming the file on any problem.
    """

    name: str
    version: str
    onnx: str  # file name of the ONNX, beside the JSON
    sha256: str  # of the ONNX file
    vocabularies: list[Vocabulary]
    default_vocabulary: str = "library"
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    windows: WindowSpec = field(default_factory=WindowSpec)
    input: InputSpec = field(default_factory=InputSpec)
    tags: list[str] = field(default_factory=list)  # names of the `tag_probs` output ([] = no such output)
    tag_output: str = "tag_probs"
    tag_display: dict[str, str] = field(default_factory=dict)  # genre-like tags -> display name (GUI suggestions)
    provenance: dict = field(default_factory=dict)  # free: data, heads, pruning, calibration, export date...
    # a second tagger with its own front end (model v5: EfficientAT mn04 at 32 kHz); all three or none
    mn_frontend: MnFrontendConfig | None = None
    mn_windows: WindowSpec | None = None  # positions in samples at mn_frontend.sample_rate
    mn_input: MnInputSpec | None = None
    format: int = FORMAT
    path: Path | None = field(default=None, compare=False)  # the JSON it was loaded from (not serialised)

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise ValueError(f"model format {self.format!r} is not supported (this app reads format {FORMAT})")
        names = [v.name for v in self.vocabularies]
        if not names or len(set(names)) != len(names):
            raise ValueError("vocabularies must be a non-empty list with unique names")
        if self.default_vocabulary not in names:
            raise ValueError(f"default vocabulary {self.default_vocabulary!r} is not one of {names}")
        if [self.input.frames, self.input.mels] != [self.frontend.patch_frames, self.frontend.n_mels]:
            raise ValueError(
                f"input [n, {self.input.frames}, {self.input.mels}] does not fit the front-end "
                f"({self.frontend.patch_frames} x {self.frontend.n_mels})"
            )
        if (self.windows.length, self.windows.sample_rate) != (self.frontend.patch_samples, self.frontend.sample_rate):
            raise ValueError(
                f"windows ({self.windows.length} samples at {self.windows.sample_rate} Hz) do not fit the front-end "
                f"({self.frontend.patch_samples} samples at {self.frontend.sample_rate} Hz)"
            )
        second = (self.mn_frontend, self.mn_windows, self.mn_input)
        if any(x is not None for x in second):
            if any(x is None for x in second):
                raise ValueError("a second input needs mn_frontend, mn_windows and mn_input together")
            fe, win, inp = second
            if win.sample_rate != fe.sample_rate:
                raise ValueError(f"mn_windows count samples at {win.sample_rate} Hz, the second front-end runs at {fe.sample_rate} Hz")
            if [inp.mels, inp.frames] != [fe.n_mels, fe.frames(win.length)]:
                raise ValueError(
                    f"second input [m, {inp.mels}, {inp.frames}] does not fit its front-end and windows "
                    f"({fe.n_mels} x {fe.frames(win.length)})"
                )
            if inp.name == self.input.name:
                raise ValueError("the two inputs need different names")

    # -- derived -----------------------------------------------------------------
    @property
    def onnx_path(self) -> Path:
        """The ONNX file (beside the JSON it was loaded from)."""
        return (self.path.parent if self.path else Path(".")) / self.onnx

    @property
    def model_id(self) -> str:
        """Changes whenever the ONNX changes (keys the classification cache and the journal)."""
        return f"{self.name}@{self.version}:{self.sha256[:12]}"

    @property
    def vocabulary_names(self) -> list[str]:
        return [v.name for v in self.vocabularies]

    def vocabulary(self, name: str | None = None) -> Vocabulary:
        """The named vocabulary (``None`` = the default); ValueError naming the choices."""
        name = name or self.default_vocabulary
        for v in self.vocabularies:
            if v.name == name:
                return v
        raise ValueError(f"unknown vocabulary {name!r} (this model has: {', '.join(self.vocabulary_names)})")

    def vocabulary_or_default(self, name: str | None) -> Vocabulary:
        """The named vocabulary, or the default one where this model has no such name (a
        saved setting from another model)."""
        return self.vocabulary(name if name in self.vocabulary_names else None)

    @property
    def outputs(self) -> list[str]:
        """ONNX output names, vocabularies first, then ``tag_output`` if the model has tags."""
        return [v.output for v in self.vocabularies] + ([self.tag_output] if self.tags else [])

    @property
    def inputs(self) -> list[str]:
        """ONNX input names: ``input.name``, then the second input's where there is one."""
        return [self.input.name] + ([self.mn_input.name] if self.mn_input is not None else [])

    # -- JSON --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "name": self.name,
            "version": self.version,
            "onnx": self.onnx,
            "sha256": self.sha256,
            "frontend": self.frontend.to_dict(),
            "windows": self.windows.to_dict(),
            "input": self.input.to_dict(),
            "vocabularies": [v.to_dict() for v in self.vocabularies],
            "default_vocabulary": self.default_vocabulary,
            "tags": list(self.tags),
            "tag_output": self.tag_output,
            "tag_display": dict(self.tag_display),
            "provenance": self.provenance,
        } | (
            {"mn_frontend": self.mn_frontend.to_dict(), "mn_windows": self.mn_windows.to_dict(), "mn_input": self.mn_input.to_dict()}
            if self.mn_frontend is not None and self.mn_windows is not None and self.mn_input is not None
            else {}
        )

    @classmethod
    def from_dict(cls, d: dict, path: Path | None = None) -> ModelMeta:
        """Raises ValueError/KeyError/TypeError on bad metadata (:meth:`load` wraps them)."""
        if d.get("format") != FORMAT:
            raise ValueError(f"model format {d.get('format')!r} is not supported (this app reads format {FORMAT})")
        known = {f.name for f in fields(cls)} - {"path"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown metadata keys: {sorted(unknown)}")
        return cls(
            name=d["name"],
            version=str(d["version"]),
            onnx=d["onnx"],
            sha256=d["sha256"],
            frontend=FrontendConfig.from_dict(d["frontend"]),
            windows=WindowSpec.from_dict(d["windows"]),
            input=InputSpec.from_dict(d["input"]),
            vocabularies=[Vocabulary.from_dict(v) for v in d["vocabularies"]],
            default_vocabulary=d["default_vocabulary"],
            tags=list(d.get("tags", [])),
            tag_output=d.get("tag_output", "tag_probs"),
            tag_display=dict(d.get("tag_display", {})),
            provenance=dict(d.get("provenance", {})),
            mn_frontend=MnFrontendConfig.from_dict(d["mn_frontend"]) if "mn_frontend" in d else None,
            mn_windows=WindowSpec.from_dict(d["mn_windows"]) if "mn_windows" in d else None,
            mn_input=MnInputSpec.from_dict(d["mn_input"]) if "mn_input" in d else None,
            format=d["format"],
            path=path,
        )

    def save(self, path: str | Path) -> Path:
        """Write the JSON (``path`` or the ``.onnx`` beside it); returns the JSON path."""
        path = Path(path)
        if path.suffix == ".onnx":
            path = path.with_suffix(".json")
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(
        cls,
        path: str | Path,
        app_frontend: FrontendConfig | None = None,
        verify_hash: bool = True,
    ) -> ModelMeta:
        """Read and check a model's metadata (``.json``, or the ``.onnx`` beside it).

        Checks: format == 2, the front-end equals the app's (``app_frontend``, default
        :class:`FrontendConfig`; a second front-end, where the model has one, equals
        :class:`MnFrontendConfig`), windows and inputs fit them, the ONNX exists and matches
        ``sha256``. Raises :class:`ModelError` naming the file on any problem.
        """
        path = Path(path)
        if path.suffix == ".onnx":
            path = path.with_suffix(".json")
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError as e:
            raise ModelError(path, "model metadata not found") from e
        except (OSError, ValueError) as e:
            raise ModelError(path, f"model metadata unreadable ({e})") from e
        try:
            if not isinstance(d, dict):
                raise ValueError("not a JSON object")
            if d.get("format") == FORMAT:  # the front-end first: its mismatch explains the others
                (app_frontend or FrontendConfig()).check(FrontendConfig.from_dict(d["frontend"]))
                if "mn_frontend" in d:
                    MnFrontendConfig().check(MnFrontendConfig.from_dict(d["mn_frontend"]))
            meta = cls.from_dict(d, path)
        except (KeyError, TypeError, ValueError) as e:
            what = f"missing key {e}" if isinstance(e, KeyError) else str(e)
            raise ModelError(path, f"bad model metadata: {what}") from e
        if not meta.onnx_path.is_file():
            raise ModelError(meta.onnx_path, "model file not found")
        if verify_hash and file_sha256(meta.onnx_path) != meta.sha256:
            raise ModelError(meta.onnx_path, "model file does not match the sha256 in its metadata")
        return meta

    def with_onnx(self, onnx_path: str | Path) -> ModelMeta:
        """A copy naming ``onnx_path`` (file name) with its sha256 (for exporters)."""
        onnx_path = Path(onnx_path)
        return replace(self, onnx=onnx_path.name, sha256=file_sha256(onnx_path))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
