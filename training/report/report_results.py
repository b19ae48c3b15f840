"""Collect the image experiments' run files into the results table, curves and the best
model's confusion matrix.

    python -m training.report.report_results [--runs results/report_repro/runs] [--out results/report_repro]

Writes ``results.md`` and ``results.csv`` (one row per experiment: the report's number,
ours on the random split, ours on the fault-filtered test split, parameters, CPU time,
machine), ``curves_<experiment>_<split>.png`` and ``confusion_best.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from ..metrics import plot_confusion
from .experiments import BY_NAME, EXPERIMENTS, NOT_REPRODUCIBLE


def plot_curves(h: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = dict(h)
    prior = hist.get("resumed_after")
    keys = ("loss", "val_loss", "acc", "val_acc")
    series = {k: (list(prior[k]) if prior else []) + list(hist.get(k, [])) for k in keys}
    if not series["loss"]:
        return
    ep = np.arange(1, len(series["loss"]) + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    a.plot(ep, series["loss"], label="train")
    a.plot(ep, series["val_loss"], label="validation")
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend()
    b.plot(ep, series["acc"], label="train")
    b.plot(ep, series["val_acc"], label="validation")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.set_ylim(0, 1)
    b.legend()
    if prior:
        for ax in (a, b):
            ax.axvline(len(prior["loss"]) + 0.5, color="grey", ls=":", lw=1)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, default=Path("results/report_repro/runs"))
    ap.add_argument("--out", type=Path, default=Path("results/report_repro"))
    args = ap.parse_args()
    runs = {}
    for f in sorted(args.runs.glob("*.json")):
        r = json.loads(f.read_text())
        runs[(r["experiment"], r["split"])] = r
    rows = []
    for exp in EXPERIMENTS:
        rr, rf = runs.get((exp.name, "random")), runs.get((exp.name, "filtered"))
        any_run = rr or rf
        rows.append({
            "experiment": exp.name, "title": exp.title, "report": exp.report,
            "random_test_acc": f"{rr['accuracy']:.3f}" if rr else "not run yet",
            "random_val_acc": f"{rr['val_acc']:.3f}" if rr else "",
            "filtered_test_acc": f"{rf['accuracy']:.3f}" if rf else "not run yet",
            "parameters": any_run["parameters"] if any_run else "",
            "cpu_seconds": "+".join(str(r["seconds"]) for r in (rr, rf) if r),
            "machine": any_run["machine"] if any_run else "",
        })  # fmt: skip
        for split, r in (("random", rr), ("filtered", rf)):
            if r and "loss" in r.get("history", {}):
                plot_curves(r["history"], args.out / f"curves_{exp.name}_{split}.png", f"{exp.title} ({split} split)")
    for key, title, report, why in NOT_REPRODUCIBLE:
        rows.append({"experiment": key, "title": title, "report": report, "random_test_acc": "not reproducible",
                     "random_val_acc": "", "filtered_test_acc": "not reproducible", "parameters": "",
                     "cpu_seconds": "", "machine": why})  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    done = [r for k, r in runs.items() if k[1] == "random"]
    best = max(done, key=lambda r: r["val_acc"]) if done else None
    if best:
        plot_confusion(np.array(best["confusion"]), best["labels"], args.out / "confusion_best.png",
                       f"{BY_NAME[best['experiment']].title}: test acc {best['accuracy']:.3f}")  # fmt: skip
    lines = ["| experiment | report | ours, random split (test / best val) | ours, fault-filtered test "
             "| parameters | CPU s | machine / note |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        has_curves = (args.out / f"curves_{r['experiment']}_random.png").exists()
        curves = f" ([curves](curves_{r['experiment']}_random.png))" if has_curves else ""
        val = f" / {r['random_val_acc']}" if r["random_val_acc"] else ""
        lines.append(f"| {r['title']}{curves} | {r['report']} | {r['random_test_acc']}{val} | {r['filtered_test_acc']} | "
                     f"{r['parameters']} | {r['cpu_seconds']} | {r['machine']} |")  # fmt: skip
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if best:
        print(f"best (by validation): {best['experiment']} test {best['accuracy']:.3f}")


if __name__ == "__main__":
    main()
