"""Write the tiny format-2 test model (``tests/data/tiny.onnx`` + ``tiny.json``).

    python tests/make_tiny_model.py [OUT_DIR]

No torch, no real weights: an ONNX graph built with ``onnx.helper`` from seeded random
numbers. Per window it averages the log-mel patch over time, applies a linear layer and
a softmax per vocabulary (sigmoid for the tags) and averages over the windows, so it has
exactly the bundled model's interface (format 2: ``probs_library``, ``probs_gtzan``,
``tag_probs``, all track-level). Its outputs depend on the audio's spectrum, which is all
the app's tests need. The app tests use the committed copy; a test checks that this
script still reproduces it byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genre_tagger.genres import GTZAN_GENRES, display_name  # noqa: E402
from genre_tagger.listen.frontend import FrontendConfig  # noqa: E402
from genre_tagger.listen.modelmeta import InputSpec, ModelMeta, Vocabulary  # noqa: E402
from genre_tagger.listen.windows import WindowSpec  # noqa: E402

GTZAN = list(GTZAN_GENRES)
LIBRARY = GTZAN + ["electronic", "rnb", "folk"]
TAGS = ["msd:rock", "msd:electronic", "msd:dance", "msd:folk", "msd:ambient", "msd:soul"]
TAG_DISPLAY = {"msd:electronic": "Electronic", "msd:dance": "Dance", "msd:folk": "Folk", "msd:ambient": "Ambient", "msd:soul": "Soul"}
SHARPNESS = 3.0


def build_graph(fe: FrontendConfig, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def const(name: str, a: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32 if a.dtype.kind == "f" else a.dtype), name))
        return name

    # per-window feature: the log-mel spectrum averaged over time, centred and scaled
    nodes.append(helper.make_node("ReduceMean", ["patches"], ["spec"], axes=[1], keepdims=0))
    nodes.append(helper.make_node("Sub", ["spec", const("centre", np.full(fe.n_mels, 1.5))], ["spec_c"]))
    outputs = []
    for name, size, act in (("probs_library", len(LIBRARY), "Softmax"), ("probs_gtzan", len(GTZAN), "Softmax"),
                            ("tag_probs", len(TAGS), "Sigmoid")):  # fmt: skip
        w = const(f"{name}_w", rng.normal(0, SHARPNESS / np.sqrt(fe.n_mels), (fe.n_mels, size)))
        b = const(f"{name}_b", rng.normal(0, 0.3, size))
        nodes.append(helper.make_node("MatMul", ["spec_c", w], [f"{name}_mm"]))
        nodes.append(helper.make_node("Add", [f"{name}_mm", b], [f"{name}_logits"]))
        nodes.append(helper.make_node(act, [f"{name}_logits"], [f"{name}_win"], **({"axis": 1} if act == "Softmax" else {})))
        nodes.append(helper.make_node("ReduceMean", [f"{name}_win"], [name], axes=[0], keepdims=0))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [size]))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("patches", TensorProto.FLOAT, ["n", fe.patch_frames, fe.n_mels])], outputs, inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests/make_tiny_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write(out_dir: Path) -> Path:
    """Write ``tiny.onnx`` and ``tiny.json`` into ``out_dir``; returns the JSON path."""
    fe = FrontendConfig()
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "tiny.onnx"
    onnx_path.write_bytes(build_graph(fe).SerializeToString())
    meta = ModelMeta(
        name="tiny",
        version="1",
        onnx=onnx_path.name,
        sha256="",
        frontend=fe,
        windows=WindowSpec(count=2, length=fe.patch_samples, sample_rate=fe.sample_rate),
        input=InputSpec("patches", fe.patch_frames, fe.n_mels),
        vocabularies=[
            Vocabulary("library", "probs_library", LIBRARY, [display_name(g) for g in LIBRARY], min_confidence=0.3,
                       accuracy={"none": "untrained test model"}),
            Vocabulary("gtzan", "probs_gtzan", GTZAN, [display_name(g) for g in GTZAN], min_confidence=0.2),
        ],  # fmt: skip
        default_vocabulary="library",
        tags=TAGS,
        tag_display=TAG_DISPLAY,
        provenance={"made_by": "tests/make_tiny_model.py", "weights": "seeded random numbers, untrained"},
    ).with_onnx(onnx_path)
    return meta.save(out_dir / "tiny.json")


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data"))
