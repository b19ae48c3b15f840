"""Copy measured accuracy figures into a model's metadata (shown in the app's About box).

    python -m training.genre.record_accuracy --model models/genre-musicnn.json \
        --metrics fault-filtered-test=results/eval_filtered_test/metrics.json \
        --head-selection results/head_selection.csv --head evidence
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--metrics", action="append", default=[], help="NAME=metrics.json from training.genre.evaluate")
    ap.add_argument("--head-selection", type=Path, default=None)
    ap.add_argument("--head", default=None, help="row of the head-selection table to copy")
    args = ap.parse_args()
    meta = json.loads(args.model.read_text())
    acc = meta.setdefault("accuracy", {})
    for item in args.metrics:
        name, path = item.split("=", 1)
        m = json.loads(Path(path).read_text())
        acc[name] = {"accuracy": round(m["accuracy"], 4), "balanced_accuracy": round(m["balanced_accuracy"], 4),
                     "n": m["files"], "path": "app (ONNX Runtime, bundled front-end and windows)",
                     "split": m.get("split"), "model": m.get("model"), "command": m.get("command")}  # fmt: skip
    if args.head_selection and args.head:
        with open(args.head_selection) as f:
            for row in csv.DictReader(f):
                if row["head"] == args.head:
                    acc[f"cv-{row['protocol']}"] = {"accuracy": float(row["accuracy"]),
                                                    "balanced_accuracy": float(row["balanced_accuracy"]),
                                                    "n": int(row["n"]), "path": "training features (10 windows per clip)",
                                                    "command": "python -m training.genre.head_experiments --data <GTZAN>"}  # fmt: skip
    args.model.write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(acc, indent=1))


if __name__ == "__main__":
    main()
