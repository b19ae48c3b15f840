"""Evaluate a bundled model through the APP's inference path on labelled audio.

    python -m training.genre.evaluate --model models/genre-musicnn.onnx --data DIR [--split FILE] [--out DIR]

DIR uses the GTZAN layout (``<genre>/<genre>.NNNNN.<ext>``) or, more generally,
``<genre>/<any file>`` where the folder name is the label. Decoding, windows, front-end,
ONNX Runtime and aggregation are exactly the app's (``genre_tagger.listen.model.Classifier``).
Writes ``metrics.json``, ``predictions.json`` and ``confusion.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from genre_tagger.errors import GenreTaggerError
from genre_tagger.genres import genre_id
from genre_tagger.listen.audio import AUDIO_EXTS
from genre_tagger.listen.model import Classifier

from ..data import read_split
from ..metrics import classification_report, plot_confusion


def labelled_files(data: Path, split: Path | None) -> list[tuple[Path, str]]:
    files = []
    wanted = None
    if split:
        wanted = set(read_split(split))
    for d in sorted(p for p in data.iterdir() if p.is_dir()):
        for f in sorted(d.iterdir()):
            if f.suffix.lower() not in AUDIO_EXTS:
                continue
            if wanted is not None and f"{d.name}/{f.stem}" not in wanted:
                continue
            files.append((f, d.name))
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="model .onnx or .json (default: the bundled one)")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", type=Path, default=None, help="keep only the stems listed in this file")
    ap.add_argument("--out", type=Path, default=Path("results/eval"))
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    clf = Classifier(args.model, threads=args.threads or None)
    genres = clf.meta.vocabulary("gtzan").genres  # GTZAN's labels: the seed's ten
    files = labelled_files(args.data, args.split)
    if not files:
        raise SystemExit(f"{args.data}: no labelled audio found")
    y_true, y_pred, records, errors = [], [], [], 0
    t0 = time.time()
    for path, label in files:
        label = genre_id(label)
        if label not in genres:
            print(f"{path}: label {label!r} is not one of the model's genres; skipped")
            continue
        try:
            pred = clf.classify_file(path)
        except GenreTaggerError as e:
            print(f"error: {e}")
            errors += 1
            continue
        ranked = pred.ranked("gtzan")
        top = ranked[0][0]
        y_true.append(genres.index(label))
        y_pred.append(genres.index(top))
        records.append({"path": str(path), "label": label, "predicted": top,
                        "top": [[g, round(p, 4)] for g, p in ranked]})  # fmt: skip
    seconds = time.time() - t0
    rep = classification_report(np.array(y_true), np.array(y_pred), genres)
    rep.update(
        model=clf.meta.name,
        model_id=clf.meta.model_id,
        data=str(args.data),
        split=str(args.split) if args.split else None,
        files=len(records),
        errors=errors,
        windows=clf.meta.windows.count,
        seconds=round(seconds, 1),
        machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
        command="python -m training.genre.evaluate " + " ".join(
            f"--{k} {v}" for k, v in (("model", args.model), ("data", args.data), ("split", args.split)) if v
        ),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(rep, indent=1) + "\n")
    (args.out / "predictions.json").write_text(json.dumps(records, indent=1) + "\n")
    plot_confusion(np.array(rep["confusion"]), genres, args.out / "confusion.png",
                   f"{clf.meta.name}: acc {rep['accuracy']:.3f}, bal. acc {rep['balanced_accuracy']:.3f} (n={len(records)})")  # fmt: skip
    print(json.dumps({k: rep[k] for k in ("accuracy", "balanced_accuracy", "per_class_recall", "files", "errors")}, indent=1))


if __name__ == "__main__":
    main()
