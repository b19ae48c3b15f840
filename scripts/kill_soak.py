"""Soak test of the write path: ``kill -9`` at random moments, over and over.

    python scripts/kill_soak.py [--rounds 40] [--seed 0] [--scans] [--dir DIR]

A library of real-world tag layouts (tests/tagcorpus.py: ID3v2.3/2.4 + v1, covers,
numeric genres, FLAC, Ogg, Opus, MP4 with gnre, WMA, ADTS, WAV, AIFF...) is written by
``genre-tagger --set`` and ``--undo`` processes (with ``--scans`` also by full scans with
the bundled model, ``--overwrite --min-confidence 0 --max-genres 1..3``, over the corpus and 12 generated 4-s
tracks that the model can classify, so the scans' writer thread writes them) that are
killed with SIGKILL after a random delay. After every kill the next start (``--history``)
reconciles the journal, and the script checks:

- no temporary file (``.gt-*``) is left in the library;
- no write is still pending in the journal;
- every file's audio payload is byte-identical to the original;
- every file's genre is what the journal says the last completed write left (no
  genre change is missing from the journal).

The library also holds three large noise files (MP3, FLAC, Ogg), and some rounds set
a genre 9 KB longer each time (up to 108 KB) into them (killed near their end, where the writes are),
outgrowing earlier padding, so tags must grow at the start of large files (and shrink when undone): on ext4
the audio is moved by whole blocks (``genre_tagger.tagstore.shift``), elsewhere a new file is
written; the summary counts the writes of each kind. Two of the large files (MP3, FLAC)
have a second hard link outside the library: after every round both names must still be one file (a file
with several links gets its new file copied back over it in place, never renamed over).

At the end every run is undone (``--undo`` until there is nothing left) and every file
must be byte-identical to the original. Prints a summary and exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

SCAN_FORMATS = ("mp3", "flac", "ogg", "opus", "m4a", "wav")
# the last one (~10 KB) outgrows the padding of earlier writes: the tag must grow (at the start
# of an MP3/FLAC/Ogg file: the audio moved by whole blocks on ext4, else a new file) and shrink
GENRES = ["Rock", "Jazz", "Hip-Hop", "Electronic; Ambient", "Blues", "A much longer genre name " * 12,
          "An overlong genre " * 560]  # fmt: skip
BIG = {"mp3": 36, "flac": 5, "ogg": 36}  # seconds of noise: files over the write path's in-place limit


def cli(args: list[str], env: dict, kill_after: float | None = None) -> tuple[int, str]:
    p = subprocess.Popen([sys.executable, "-m", "genre_tagger", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if kill_after is not None:
        try:
            out, _ = p.communicate(timeout=kill_after)
            return p.returncode, out.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.communicate()
            return -9, ""
    out, _ = p.communicate(timeout=600)
    return p.returncode, out.decode("utf-8", "replace")


def _kind(plan: dict) -> str:
    """A journaled write's kind: inplace, shift, replace, or replace copy-back (hard links)."""
    return plan.get("mode", "?") + (" copy-back" if plan.get("copy_back") else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scans", action="store_true", help="also kill full scans (bundled model) mid-run")
    ap.add_argument("--dir", help="work folder (default: a new temporary one, removed at the end)")
    args = ap.parse_args()
    from tagcorpus import corpus

    from genre_tagger.tagstore.journal import Journal
    from genre_tagger.tagstore.payload import payload_digest
    from genre_tagger.tagstore.tags import read_tags

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="gt-soak-"))
    lib = work / "library"
    shutil.rmtree(work / "data", ignore_errors=True)
    shutil.rmtree(lib, ignore_errors=True)
    cases = [c for c in corpus(lib) if not c.refuse]
    files = [c.path for c in cases]
    for c in corpus(work / "refused"):  # drop the files every write refuses (they only slow the soak)
        if c.refuse:
            (lib / c.path.name).unlink(missing_ok=True)
    import numpy as np

    from devtools.synth import write_audio

    rng_audio = np.random.default_rng(args.seed)
    big = []
    for fmt, seconds in BIG.items():  # large enough that a growing tag is not rewritten with the whole file
        y = (0.2 * rng_audio.standard_normal(seconds * 44100)).astype(np.float32)
        big.append(write_audio(lib / f"big.{fmt}", fmt, sr=44100, y=y))
    files += big
    links = work / "links"  # a second hard link to two of the large files, outside the library: every
    shutil.rmtree(links, ignore_errors=True)  # write keeps it (the third, unlinked, gets new files renamed over it)
    links.mkdir()
    linked = big[:2]
    for p in linked:
        os.link(p, links / p.name)
    if args.scans:  # tracks long enough to classify (the corpus's 1-s files are not): scans write them
        for i, fmt in enumerate(SCAN_FORMATS * 2):
            files.append(write_audio(lib / f"track{i:02d}.{fmt}", fmt, seconds=4.0, seed=i))
    original = {p: p.read_bytes() for p in files}
    digest = {p: payload_digest(p) for p in files}
    env = dict(os.environ, GENRE_TAGGER_DATA_DIR=str(work / "data"), PYTHONPATH=str(ROOT))
    rng = random.Random(args.seed)
    cli(["--set", "Warmup", *map(str, files)], env)
    t0 = time.time()
    cli(["--set", "Warm", *map(str, files)], env)
    full = time.time() - t0  # one run over every file: kills land anywhere in it
    t0 = time.time()
    cli(["--set", "Grown " * 1500, *map(str, big)], env)
    grow_full = time.time() - t0
    scan_full = 0.0
    if args.scans:
        t0 = time.time()
        cli(["--overwrite", "--min-confidence", "0", "--no-cache", "--workers", "1", "-q", str(lib)], env)
        scan_full = time.time() - t0
    problems: list[str] = []
    kills = grows = 0
    for rnd in range(args.rounds):
        delay = rng.uniform(0.05, full)
        if args.scans and rng.random() < 0.3:
            argv = ["--overwrite", "--min-confidence", "0", "--no-cache", "--max-genres", str(rng.randint(1, 3)), "--workers", "1",
                    "-q", str(lib)]  # classifying every time: kills land among writes that overlap classification
            delay = rng.uniform(0.4, 1.0) * scan_full  # mostly after start-up: among the writes
        elif rng.random() < 0.2:  # a genre 9 KB longer each time into the large files: their tags grow at the start
            grows += 1  # 9-108 KB, then from 9 KB again (one argument may not exceed 128 KB)
            argv = ["--set", "Grown " * (1500 * (1 + (grows - 1) % 12)), *map(str, big)]
            delay = rng.uniform(0.7, 1.05) * grow_full  # near the end, where its three writes are
        elif rng.random() < 0.25:
            argv = ["--undo"]
        else:
            argv = ["--set", rng.choice(GENRES), *map(str, rng.sample(files, rng.randint(1, len(files))))]
        rc, _ = cli(argv, env, kill_after=delay)
        kills += rc == -9
        cli(["--history"], env)  # the next start: reconciles the journal
        leftovers = [p.name for p in lib.iterdir() if p.name.startswith(".gt-")]
        if leftovers:
            problems.append(f"round {rnd}: temporary files left: {leftovers}")
        j = Journal(work / "data" / "journal.sqlite3")
        if j.pending_writes():
            problems.append(f"round {rnd}: {len(j.pending_writes())} writes still pending")
        last = {}  # path -> genres the last completed write left
        for run in reversed(j.runs(limit=100000)):
            for w in sorted(j.writes(run.id, "done"), key=lambda w: w.id):
                last[Path(w.path)] = w.after
        for p in linked:
            if os.stat(p).st_ino != os.stat(links / p.name).st_ino:
                problems.append(f"round {rnd}: the hard link of {p.name} was split")
        for p in files:
            if payload_digest(p) != digest[p]:
                problems.append(f"round {rnd}: audio payload of {p.name} changed")
            if p in last and read_tags(p).genres != last[p]:
                problems.append(f"round {rnd}: {p.name} holds {read_tags(p).genres}, the journal says {last[p]}")
        j.close()
    j = Journal(work / "data" / "journal.sqlite3")
    scans = [r for r in j.runs(limit=100000) if r.command.startswith("scan")]
    modes = Counter(_kind(w.plan) for r in j.runs(limit=100000) for w in j.writes(r.id))
    caught = Counter(  # writes a kill interrupted, by kind and by what recovery found
        (_kind(json.loads(plan)), note.split(";")[0])
        for plan, note in j.db.execute("SELECT plan, note FROM writes WHERE note LIKE 'interrupted%'")
    )
    j.close()
    undos = 0
    while True:
        rc, out = cli(["--undo"], env)
        if rc == 2:
            break
        undos += 1
        if undos > 10 * args.rounds:
            problems.append("undo does not finish")
            break
    not_exact = [p.name for p in files if p.read_bytes() != original[p]]
    if not_exact:
        problems.append(f"after undoing every run, not byte-identical: {not_exact}")
    print(f"{args.rounds} rounds, {kills} killed mid-run, {len(files)} files, {undos} undo runs at the end")
    print("writes by kind (all runs but the final undos): " + ", ".join(f"{m} {n}" for m, n in sorted(modes.items())))
    for (mode, note), n in sorted(caught.items()):
        print(f"  killed during a write ({mode}): {n} x {note}")
    if args.scans:
        print(f"{len(scans)} scans wrote files ({sum(r.changes for r in scans)} writes), "
              f"{sum(r.interrupted for r in scans)} of them killed after their first write")
    for p in problems:
        print("PROBLEM:", p)
    print("OK: 0 damaged files, 0 journal gaps, 0 temporary files, everything undone byte-exactly" if not problems else
          f"{len(problems)} problems")  # fmt: skip
    if not args.dir:
        shutil.rmtree(work)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
