"""Convert a format-1 model (per-window outputs) to format 2 (track-level outputs).

    python scripts/convert_model_format2.py models/genre-musicnn.json [--windows 4]

Format 1 graphs return per-window ``genre_probs [N, 10]`` and ``tag_probs [N, T]`` and
leave the aggregation (mean over windows) to the app. Format 2 moves the mean into the
graph: this script appends ``ReduceMean(axis 0)`` nodes so that the graph returns
``probs_gtzan [10]`` and ``tag_probs [T]``, and rewrites the metadata through
:class:`genre_tagger.modelmeta.ModelMeta` with one vocabulary, ``gtzan``. The
probabilities are exactly the format-1 app's (mean aggregation, no calibration).
The ONNX and JSON are rewritten in place.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genre_tagger.frontend import FrontendConfig
from genre_tagger.modelmeta import InputSpec, ModelMeta, Vocabulary, file_sha256
from genre_tagger.windows import WindowSpec


def mean_over_windows(model: onnx.ModelProto, renames: dict[str, str]) -> onnx.ModelProto:
    """Replace each graph output ``old`` (``[N, C]``) by ``new = mean(old, axis 0)`` (``[C]``)."""
    g = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    outputs = {o.name: o for o in g.output}
    for old, new in renames.items():
        if old not in outputs:
            raise SystemExit(f"graph has no output {old!r} (has {list(outputs)})")
        src = f"{old}__per_window"
        for node in g.node:  # the tensor keeps flowing under a new internal name
            node.output[:] = [src if o == old else o for o in node.output]
            node.input[:] = [src if i == old else i for i in node.input]
        if opset >= 18:
            axes = f"{old}__axes"
            g.initializer.append(numpy_helper.from_array(np.array([0], "int64"), axes))
            g.node.append(helper.make_node("ReduceMean", [src, axes], [new], keepdims=0))
        else:
            g.node.append(helper.make_node("ReduceMean", [src], [new], axes=[0], keepdims=0))
        dim = outputs[old].type.tensor_type.shape.dim[1].dim_value
        g.output.remove(outputs[old])
        g.output.append(helper.make_tensor_value_info(new, onnx.TensorProto.FLOAT, [dim]))
    onnx.checker.check_model(model)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("meta", type=Path, help="format-1 metadata JSON")
    ap.add_argument("--windows", type=int, default=None, help="windows per track (default: the model's)")
    args = ap.parse_args()

    old = json.loads(args.meta.read_text())
    if old.get("format") != 1:
        raise SystemExit(f"{args.meta}: not a format-1 model (format {old.get('format')!r})")
    onnx_path = args.meta.parent / old["onnx"]
    outs = old["outputs"]
    renames = {outs["genres"]: "probs_gtzan"}
    if outs.get("tags"):
        renames[outs["tags"]] = "tag_probs"
    onnx.save(mean_over_windows(onnx.load(str(onnx_path)), renames), str(onnx_path))

    fe = FrontendConfig.from_dict(old["frontend"])
    w = old["windows"]
    if w.get("aggregation", "mean") != "mean":
        raise SystemExit("only mean aggregation can be moved into the graph")
    known = {"format", "name", "version", "onnx", "onnx_sha256", "input", "outputs", "frontend", "windows", "genres", "tags",
             "extra_genres"}
    meta = ModelMeta(
        name=old["name"],
        version=f"{old['version']}.f2",
        onnx=onnx_path.name,
        sha256=file_sha256(onnx_path),
        frontend=fe,
        windows=WindowSpec(count=args.windows or w["count"], margin=w["margin"], length=fe.patch_samples,
                           sample_rate=fe.sample_rate, min_seconds=w.get("min_seconds")),
        input=InputSpec(old["input"]["name"], fe.patch_frames, fe.n_mels),
        vocabularies=[
            Vocabulary(
                name="gtzan",
                output="probs_gtzan",
                genres=[g["id"] for g in old["genres"]],
                display=[g["display"] for g in old["genres"]],
                min_confidence=0.0,
                accuracy=old.get("accuracy", {}),
            )
        ],
        default_vocabulary="gtzan",
        tags=list(old.get("tags", [])),
        tag_display=dict(old.get("extra_genres", {})),
        provenance={**{k: v for k, v in old.items() if k not in known | {"accuracy"}},
                    "converted": "from format 1 by scripts/convert_model_format2.py (mean over windows moved into the graph)"},
    )
    meta.save(args.meta)
    print(f"wrote {onnx_path} and {args.meta} (format 2, vocabularies: {meta.vocabulary_names})")


if __name__ == "__main__":
    main()
