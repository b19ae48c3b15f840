"""Compare the best image model with the bundled model on the same clips, alone and
as an ensemble member.

The image model sees the Kaggle spectrogram image of each clip; the bundled model's
probabilities are those the app computed from the clip's audio
(``training.genre.evaluate``'s ``predictions.json``). Both were trained without the test
clips (image model: fault-filtered train split; bundled recipe: head fitted on the
filtered train+valid clips), so the comparison is on the fault-filtered test clips
that exist as audio.

    python -m training.report.compare_image_model --data ../shared/data/gtzan --experiment mobilenet_crops \\
        --checkpoint runs/checkpoints/mobilenet_crops_filtered.pt \\
        --predictions results/eval_filtered_test/predictions.json --out results/report_repro/compare_bundled.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ..data import GTZAN_GENRES, stem_of_audio
from ..metrics import classification_report
from ..weights import DEFAULT_CACHE
from .experiments import BY_NAME, load_trained
from .images import load_dataset, to_float


def image_probabilities(exp_name: str, checkpoint: Path, x: np.ndarray, cache: Path) -> np.ndarray:
    """Softmax outputs of a saved image-experiment network for uint8 images ``x``."""
    exp = BY_NAME[exp_name]
    xt = torch.from_numpy(to_float(x, imagenet=exp.imagenet))
    net = load_trained(exp, checkpoint, cache)
    with torch.no_grad():
        return np.concatenate([torch.softmax(net(xt[i : i + 32]), 1).numpy() for i in range(0, len(xt), 32)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--predictions", type=Path, required=True, help="predictions.json of training.genre.evaluate")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    preds = json.loads(args.predictions.read_text())
    img_stems, xu8, _ = load_dataset(args.data / "kaggle" / "images_original", BY_NAME[args.experiment].image_config(), args.cache)
    pos = {s: i for i, s in enumerate(img_stems)}
    rows = [r for r in preds if stem_of_audio(r["path"]) in pos]
    stems = [stem_of_audio(r["path"]) for r in rows]
    y = np.array([GTZAN_GENRES.index(r["label"]) for r in rows])
    audio = np.array([[dict(r["top"])[g] for g in GTZAN_GENRES] for r in rows])
    image = image_probabilities(args.experiment, args.checkpoint, xu8[[pos[s] for s in stems]], args.cache)
    res: dict = {"clips": len(rows), "image_model": args.experiment, "checkpoint": str(args.checkpoint),
                 "bundled_predictions": str(args.predictions)}  # fmt: skip
    for name, p in [("bundled (audio, app path)", audio), ("image model", image)] + [
        (f"ensemble {w:.2f} bundled + {1 - w:.2f} image", w * audio + (1 - w) * image) for w in (0.5, 0.75)
    ]:
        rep = classification_report(y, p.argmax(1), GTZAN_GENRES)
        res[name] = {k: rep[k] for k in ("accuracy", "balanced_accuracy", "per_class_recall")}
        print(f"{name:40s} acc {rep['accuracy']:.3f}  balanced {rep['balanced_accuracy']:.3f}")
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
