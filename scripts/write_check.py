"""Try the write path on every file under some folders (on copies): write a genre, read it
back, undo, and compare bytes. For checking real-world files (e.g. mutagen's own test data
from its sdist) without touching them.

    python scripts/write_check.py DIR [DIR...]

For each file: refused (with the one-line reason; the copy must be byte-identical), or
written (the genre must read back, and undo must give the original bytes back), or
unreadable (not a supported audio file). Exits 1 if any written file fails a check or
any refused file was changed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="gt-write-check-"))
    os.environ["GENRE_TAGGER_DATA_DIR"] = str(work / "data")
    from genre_tagger.errors import TagError
    from genre_tagger.tagstore.journal import Journal
    from genre_tagger.tagstore.tags import read_tags
    from genre_tagger.tagstore.undo import undo_run
    from genre_tagger.tagstore.write import ERROR, TAGGED, WriteRun

    journal = Journal()
    outcome: Counter = Counter()
    reasons: Counter = Counter()
    bad: list[str] = []
    files = sorted(p for d in argv for p in Path(d).rglob("*") if p.is_file())
    for i, src in enumerate(files):
        d = work / f"{i:05d}"
        d.mkdir()
        p = d / src.name
        shutil.copy(src, p)
        os.chmod(p, 0o644)  # the copy is ours to write
        original = p.read_bytes()
        try:
            read_tags(p)
        except TagError as e:
            outcome["unreadable"] += 1
            reasons[e.reason.split(" (")[0]] += 1
            continue
        with WriteRun(journal, "check") as run:
            r = run.apply(p, ["Rock", "Pop"])
        if r.status == ERROR:
            outcome["refused"] += 1
            reasons[r.error] += 1
            if p.read_bytes() != original:
                bad.append(f"{src}: refused but changed")
            continue
        if r.status != TAGGED:
            outcome[r.status] += 1
            continue
        outcome["written"] += 1
        if read_tags(p).genres != ["Rock", "Pop"]:
            bad.append(f"{src}: genre reads back as {read_tags(p).genres}")
        _, res = undo_run(journal)
        if [u.status for u in res] != [TAGGED] or p.read_bytes() != original:
            bad.append(f"{src}: undo not byte-exact ({[u.error for u in res]})")
        shutil.rmtree(d)
    print(f"{len(files)} files: " + ", ".join(f"{n} {k}" for k, n in outcome.most_common()))
    for why, n in reasons.most_common():
        print(f"  {n:4d}  {why}")
    for b in bad:
        print("PROBLEM:", b)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
