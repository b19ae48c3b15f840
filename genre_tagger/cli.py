"""Command line: ``genre-tagger --scan ~/Music`` and friends. Exit codes: 0 all fine,
1 some files failed, 2 usage error (or nothing could be done)."""

from __future__ import annotations

import argparse
import sys
import time

EXIT_OK, EXIT_FILES_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="genre-tagger",
        description="Listen to music files, decide their genre with a small CNN and write it into their tags. "
        "Without arguments the desktop app opens.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to scan (same as --scan)")
    p.add_argument("--scan", action="append", default=[], metavar="PATH", help="folder or file to scan (repeatable)")
    w = p.add_argument_group("writing")
    w.add_argument("--dry-run", "-n", action="store_true", help="write nothing; show what would change (old -> new)")
    w.add_argument("--overwrite", action="store_true", help="replace existing genres (default: only fill in empty ones)")
    w.add_argument("--min-confidence", type=float, default=0.0, metavar="P", help="skip tracks whose best genre has probability < P")
    w.add_argument("--max-genres", type=int, default=1, metavar="N", help="write up to N genres with probability >= P (default 1)")
    w.add_argument("--map", action="append", default=[], metavar="NAME=NEW", help="rename a genre, e.g. --map Hip-Hop=Rap")
    w.add_argument("--id3v23", action="store_true", help="write ID3v2.3 (default ID3v2.4)")
    w.add_argument("--id3-separator", default="; ", metavar="SEP", help="joins several genres in ID3v2.3 (default '; ')")
    w.add_argument("--keep-mtime", action="store_true", help="keep files' modification times after writing")
    o = p.add_argument_group("output")
    o.add_argument("--playlists", metavar="DIR", help="write one M3U8 playlist per genre into DIR")
    o.add_argument("--json", metavar="FILE", help="one record per file as JSON ('-' for stdout)")
    o.add_argument("--csv", metavar="FILE", help="one record per file as CSV ('-' for stdout)")
    o.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no per-file lines")
    j = p.add_argument_group("journal")
    j.add_argument("--undo", nargs="?", const="last", metavar="RUN", help="restore the genres of the last run (or run RUN)")
    j.add_argument("--history", action="store_true", help="list earlier runs")
    e = p.add_argument_group("engine")
    e.add_argument("--workers", type=int, default=0, metavar="N", help="processes for decoding and inference (default: CPU cores)")
    e.add_argument("--no-cache", action="store_true", help="classify every file again even if it is unchanged")
    e.add_argument("--model", metavar="FILE", help="model metadata .json (default: the bundled model)")
    p.add_argument("--version", action="version", version=f"genre-tagger {__version__}")
    return p


class Progress:
    """One-line progress bar with count, rate and ETA on a terminal."""

    def __init__(self, stream, enabled: bool):
        self.stream, self.enabled = stream, enabled
        self.total, self.done, self.t0, self.last = 0, 0, time.time(), 0.0

    def set_total(self, n: int) -> None:
        self.total, self.t0 = n, time.time()

    def step(self) -> None:
        self.done += 1
        now = time.time()
        if self.enabled and (now - self.last > 0.1 or self.done == self.total):
            self.last = now
            rate = self.done / max(now - self.t0, 1e-6)
            eta = (self.total - self.done) / rate if rate > 0 else 0
            width = 30
            fill = int(width * self.done / max(self.total, 1))
            self.stream.write(
                f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
                f"{rate:5.1f} tracks/s ETA {int(eta) // 60}:{int(eta) % 60:02d} "
            )
            self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _fmt(genres: list[str]) -> str:
    return ", ".join(genres) if genres else "(none)"


def _shown(path) -> str:
    from .library import display_path

    return display_path(path)


def run_scan(args, out, err) -> int:
    from .errors import GenreTaggerError
    from .journal import Journal
    from .playlists import write_playlists
    from .policy import ERROR, STATUSES, TAGGED, WOULD_TAG, WritePolicy, parse_mapping
    from .report import record, write_report
    from .scanner import Scanner, ScanOptions
    from .tags import TagOptions

    try:
        policy = WritePolicy(
            overwrite=args.overwrite,
            min_confidence=args.min_confidence,
            max_genres=args.max_genres,
            dry_run=args.dry_run,
            mapping=parse_mapping(args.map),
        )
    except ValueError as e:
        err.write(f"genre-tagger: {e}\n")
        return EXIT_USAGE
    tag_opts = TagOptions(id3_version=3 if args.id3v23 else 4, id3v23_separator=args.id3_separator, keep_mtime=args.keep_mtime)
    opts = ScanOptions(policy=policy, tag_options=tag_opts, model=args.model, workers=args.workers, use_cache=not args.no_cache)
    try:
        scanner = Scanner(opts, Journal())
    except GenreTaggerError as e:
        err.write(f"genre-tagger: {e}\n")
        return EXIT_USAGE
    scanner.command = "scan " + " ".join(args.scan + args.paths) + (" --dry-run" if args.dry_run else "")
    to_stdout = args.json == "-" or args.csv == "-"
    human = err if to_stdout else out
    progress = Progress(err, enabled=not args.quiet and err.isatty())
    results = []
    counts = dict.fromkeys(STATUSES, 0)
    genre_counts: dict[str, int] = {}
    t0 = time.time()
    try:
        for r in scanner.scan(args.scan + args.paths, on_total=progress.set_total):
            results.append(r)
            counts[r.status] += 1
            for g in r.genres if r.status in (TAGGED, WOULD_TAG) else []:
                genre_counts[g] = genre_counts.get(g, 0) + 1
            line = None
            if r.status == ERROR:
                line = f"error: {_shown(r.path)}: {r.error}"
            elif r.status in (TAGGED, WOULD_TAG) and not args.quiet:
                verb = "tagged" if r.status == TAGGED else "would tag"
                conf = f" ({r.top[0][1]:.0%})" if r.top else ""
                line = f"{verb}: {_shown(r.path)}: {_fmt(r.previous)} -> {_fmt(r.genres)}{conf}"
            if line:
                progress.clear()
                (err if r.status == ERROR else human).write(line + "\n")
            progress.step()
    except KeyboardInterrupt:
        scanner.cancel()
        progress.clear()
        err.write("genre-tagger: interrupted; files written so far are in the journal (--undo restores them)\n")
        return 130
    finally:
        if scanner.run_id is not None:
            scanner.journal.finish_run(scanner.run_id)
    progress.clear()
    seconds = time.time() - t0
    records = [record(r) for r in results]
    if args.json:
        write_report(records, args.json, "json")
    if args.csv:
        write_report(records, args.csv, "csv")
    if args.playlists:
        written = write_playlists(results, args.playlists)
        human.write(f"playlists: {len(written)} written to {args.playlists}\n")
    if not args.quiet:
        parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
        human.write(f"{len(results)} files in {seconds:.1f} s: " + (", ".join(parts) or "nothing to do") + "\n")
        if genre_counts:
            human.write("genres: " + ", ".join(f"{g} {n}" for g, n in sorted(genre_counts.items(), key=lambda kv: -kv[1])) + "\n")
        if scanner.run_id is not None:
            human.write(f"run {scanner.run_id} recorded; 'genre-tagger --undo' restores it\n")
    return EXIT_FILES_FAILED if counts[ERROR] else EXIT_OK


def run_undo(args, out, err) -> int:
    from .journal import Journal
    from .policy import ERROR
    from .scanner import undo
    from .tags import TagOptions

    run = None
    if args.undo != "last":
        try:
            run = int(args.undo)
        except ValueError:
            err.write(f"genre-tagger: --undo takes a run number, not {args.undo!r}\n")
            return EXIT_USAGE
    tag_opts = TagOptions(id3_version=3 if args.id3v23 else 4, id3v23_separator=args.id3_separator)
    try:
        new_run, results = undo(Journal(), run, tag_opts)
    except LookupError as e:
        err.write(f"genre-tagger: {e}\n")
        return EXIT_USAGE
    failed = 0
    for r in results:
        if r.status == ERROR:
            failed += 1
            err.write(f"error: {_shown(r.path)}: {r.error}\n")
        elif not args.quiet:
            out.write(f"restored: {_shown(r.path)}: {_fmt(r.previous)} -> {_fmt(r.genres)}\n")
    out.write(f"undo run {new_run}: {len(results) - failed} restored, {failed} failed\n")
    return EXIT_FILES_FAILED if failed else EXIT_OK


def run_history(args, out) -> int:
    from .journal import Journal

    runs = Journal().runs()
    if not runs:
        out.write("no runs yet\n")
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
        note = f" (undone by run {r.undone_by})" if r.undone_by else ""
        out.write(f"{r.id:5d}  {when}  {r.changes:6d} files  {r.command}{note}\n")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        try:
            from .gui.app import main as gui_main
        except ImportError:
            build_parser().print_help()
            return EXIT_USAGE
        return gui_main([])
    parser = build_parser()
    args = parser.parse_args(argv)
    out, err = sys.stdout, sys.stderr
    if args.history:
        return run_history(args, out)
    if args.undo:
        return run_undo(args, out, err)
    if not (args.scan or args.paths):
        parser.error("nothing to scan: give --scan PATH (or --undo / --history)")
    if args.max_genres < 1 or not 0 <= args.min_confidence <= 1:
        parser.error("--max-genres must be >= 1 and --min-confidence between 0 and 1")
    if args.workers < 0:
        parser.error("--workers must be >= 0")
    return run_scan(args, out, err)


if __name__ == "__main__":
    sys.exit(main())
