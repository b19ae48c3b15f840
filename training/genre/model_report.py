"""Markdown tables for results/MODEL.md from the selection and app-path evaluation JSONs.

    python -m training.genre.model_report [--selection results/library_selection.json] \\
        [--metrics results/realmusic_eval/metrics.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genre_tagger.genres import display_name


def _f(v, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def candidates_table(sel: dict) -> str:
    rows = ["| candidate | ext. top-1 | GTZAN-10 top-1 | written precision / coverage | ECE | GTZAN filtered test | ms |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in sel["candidates"]:
        a, g = r["realmusic"]["all"], r["gtzan_filtered_test"]
        rows.append(f"| {r['name']} | {_f(a['extended_top1'])} | {_f(a['gtzan10_top1'])} | {_f(a['written_precision'])} / "
                    f"{_f(a['coverage'])} | {_f(a['ece'])} | {_f(g['accuracy'])} | {r['estimated_ms']:.0f} |")  # fmt: skip
    return "\n".join(rows)


def dropped_table(sel: dict) -> str:
    rows = ["| dropped (in this order) | written | written precision | top-1 predicted | top-1 precision | clips accepting it |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for d in sel["vocabulary"]["dropped"]:
        rows.append(f"| {d['dropped']} | {d['written']} | {_f(d['written_precision'], 2)} | {d['predicted']} | "
                    f"{_f(d['precision'], 2)} | {d['clips_accepting']} |")  # fmt: skip
    return "\n".join(rows)


def per_genre_table(sel: dict, metrics: dict) -> str:
    cv = sel["chosen"]["realmusic_library"]["all"]["per_genre"]
    app = metrics["realmusic"]["top1_precision_per_genre"]
    rows = ["| genre | display | top-1 precision (app path) | predicted | written precision (CV) | written |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for g in sel["chosen"]["library"]:
        a = app.get(g, {"predicted": 0, "precision": None})
        c = cv[g]
        rows.append(f"| {g} | {display_name(g)} | {_f(a['precision'], 2)} | {a['predicted']} | "
                    f"{_f(c['written_precision'], 2)} | {c['written']} |")  # fmt: skip
    return "\n".join(rows)


def accuracy_table(metrics: dict) -> str:
    r, w, g = metrics["realmusic"], metrics["realmusic_without_emotify"], metrics["gtzan_filtered_test"]
    ra, wa = r["at_model_min_confidence"], w["at_model_min_confidence"]
    rows = ["| figure | all 641 clips | without Emotify | goal |", "|---|---|---|---|",
            f"| extended top-1 | **{_f(r['extended_top1'])}** | {_f(w['extended_top1'])} | ≥ 0.85 |",
            f"| GTZAN-10 top-1 ({r['gtzan10_clips']} / {w['gtzan10_clips']} clips with a GTZAN genre) | "
            f"**{_f(r['gtzan10_top1'])}** | {_f(w['gtzan10_top1'])} | ≥ 0.85 |",
            f"| written precision, default settings (scan report) | **{_f(r['written_precision'])}** | "
            f"{_f(w['written_precision'])} | ≥ 0.92 |",
            f"| coverage, default settings (scan report) | **{_f(r['coverage'])}** | {_f(w['coverage'])} | ≥ 0.80 |",
            f"| written precision / coverage at the metadata's min_confidence (cross-check) | {_f(ra['written_precision'])} / "
            f"{_f(ra['coverage'])} | {_f(wa['written_precision'])} / {_f(wa['coverage'])} | |",
            f"| `--vocabulary gtzan`, GTZAN fault-filtered test ({g['clips']} clips) | **{_f(g['accuracy'])}** "
            f"(balanced {_f(g['balanced_accuracy'])}) | | ≥ 0.85 |"]  # fmt: skip
    folds = ", ".join(f"{_f(f['extended_top1'])}" for f in metrics["folds"])
    thr = ", ".join(f"{f['min_confidence']:.2f}" for f in metrics["folds"])
    return "\n".join(rows) + f"\n\nPer fold: extended top-1 {folds}; default min_confidence {thr}."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selection", type=Path, default=Path("results/library_selection.json"))
    ap.add_argument("--metrics", type=Path, default=Path("results/realmusic_eval/metrics.json"))
    args = ap.parse_args()
    sel, metrics = json.loads(args.selection.read_text()), json.loads(args.metrics.read_text())
    for title, text in (("accuracy", accuracy_table(metrics)), ("candidates", candidates_table(sel)),
                        ("per genre", per_genre_table(sel, metrics)), ("dropped", dropped_table(sel))):  # fmt: skip
        print(f"<!-- {title} -->\n{text}\n")


if __name__ == "__main__":
    main()
