"""Command line: ``genre-tagger --scan ~/Music`` and friends. Exit codes: 0 all fine,
1 some files failed, 2 usage error (or nothing could be done), 130 interrupted (Ctrl-C),
141 output pipe closed early (``genre-tagger --history | head -1``), as a shell reports for
a Unix tool stopped by SIGPIPE."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from .library.review import plural

EXIT_OK, EXIT_FILES_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what `git log | head -1` reports for git

EPILOG = """\
A name that starts with '-' needs '--' before it: genre-tagger --dry-run -- -rf.mp3

Exit codes: 0 all fine, 1 some files failed (one 'error:' line each), 2 usage error
(nothing was scanned or written), 130 interrupted by Ctrl-C (the first press stops
after the files in progress and prints what was done; a second press stops at once),
141 the output pipe was closed early (e.g. by 'head'; the run stops quietly).

Try --dry-run first: it shows what would change and writes nothing."""


BUNDLED_MODEL_NAME = "genre-v5"  # listen.model.DEFAULT_MODEL_NAME, spelled out: --help imports no numpy (a test checks they agree)


def _genres_epilog() -> str:
    """The genres the bundled model can name, per vocabulary (for --help), read from its
    metadata with json alone (--help imports no numpy); nothing if it cannot be read."""
    import json
    import textwrap
    from importlib.resources import files

    try:  # the bundled model's metadata
        meta = json.loads((files("genre_tagger.models") / f"{BUNDLED_MODEL_NAME}.json").read_text(encoding="utf-8"))
        vocabularies = [(v["name"], list(v["display"])) for v in meta["vocabularies"]]
        default = meta.get("default_vocabulary", "")
    except Exception:  # --help must work whatever the model's state
        return ""
    lines = []
    for name, display in vocabularies:
        mark = " (default)" if name == default else ""
        lines += textwrap.wrap(f"{name}{mark}: {', '.join(display)}", 88, initial_indent="  ", subsequent_indent="    ")
    return "Genres (--vocabulary NAME; --map renames them):\n" + "\n".join(lines) + "\n\n"


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="genre-tagger",
        description="Listen to music files, decide their genre with a small neural network and write it into their tags. "
        "Without arguments the desktop app opens.",
        epilog=_genres_epilog() + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to scan (same as --scan)")
    p.add_argument("--scan", action="append", default=[], metavar="PATH", help="folder or file to scan (repeatable)")
    w = p.add_argument_group("writing")
    w.add_argument("--dry-run", "-n", action="store_true", help="write no tags and no playlists; show what would change (old -> new)")
    w.add_argument("--overwrite", action="store_true", help="replace existing genres (default: only fill in empty ones)")
    w.add_argument(
        "--min-confidence", type=float, default=None, metavar="P",
        help="skip tracks whose best genre has probability < P (default: the vocabulary's threshold, from the model)",
    )
    w.add_argument("--max-genres", type=int, default=1, metavar="N", help="write up to N genres, each with probability >= P (default 1)")
    w.add_argument(
        "--vocabulary", metavar="NAME",
        help="the genres to choose from, one of the model's vocabularies: library (the default: the genres real "
        "libraries hold) or gtzan (ten classic genres only); both are listed below",
    )
    w.add_argument(
        "--group", choices=("album", "track"), default="album",
        help="album (the default): decide per album, from all its tracks, and write the album's genre to them "
        "(a track that clearly sounds otherwise keeps its own; compilations and loose files per track); "
        "track: every track on its own",
    )
    w.add_argument("--map", action="append", default=[], metavar="NAME=NEW", help="rename a genre, e.g. --map Hip-Hop=Rap")
    w.add_argument("--id3v23", action="store_true", help="write ID3v2.3 (default ID3v2.4)")
    w.add_argument("--id3-separator", default="; ", metavar="SEP", help="joins several genres in ID3v2.3 (default '; ')")
    w.add_argument("--keep-mtime", action="store_true", help="keep files' modification times after writing")
    w.add_argument("--yes", "-y", action="store_true", help="do not ask before --set writes into the files of a folder")
    o = p.add_argument_group("output")
    o.add_argument("--playlists", metavar="DIR", help="write one M3U8 playlist per genre into DIR")
    o.add_argument("--json", metavar="FILE", help="one record per file as JSON ('-' for stdout)")
    o.add_argument("--csv", metavar="FILE", help="one record per file as CSV ('-' for stdout)")
    o.add_argument("--quiet", "-q", action="store_true", help="errors only: no progress bar, no per-file lines, no summary "
                   "(--scan, --set and --undo alike)")
    j = p.add_argument_group("journal")
    j.add_argument("--undo", nargs="?", const="last", metavar="RUN", help="restore the genres of the last run (or run RUN)")
    j.add_argument("--history", action="store_true", help="list earlier runs")
    j.add_argument(
        "--set", metavar="GENRE[;GENRE...]",
        help="write this genre into the files given as PATH (no classification; journaled, --undo restores it; '' removes the "
        "genre). In a folder, files that have a genre keep it unless --overwrite; a terminal is asked first unless --yes",
    )
    j.add_argument(
        "--normalize-genres", action="store_true",
        help="rewrite the existing genres of the files given as PATH in the canonical spelling (Hip Hop, hiphop -> Hip-Hop; "
        "Electronica -> Electronic; then --map); no classification; --dry-run lists the changes; journaled, --undo restores",
    )
    e = p.add_argument_group("engine")
    e.add_argument("--workers", type=int, default=0, metavar="N", help="processes for decoding and inference (default: CPU cores)")
    e.add_argument("--no-cache", action="store_true", help="classify every file again even if it is unchanged")
    e.add_argument("--model", metavar="FILE", help="model metadata .json (default: the bundled model)")
    p.add_argument("--version", "-V", action="version", version=f"genre-tagger {__version__}")
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
            from .library.progress import clock, rate_and_eta

            self.last = now
            rate, eta = rate_and_eta(self.done, self.total, now - self.t0)
            width = 30
            fill = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} {rate:5.1f} tracks/s ETA {clock(eta)} ")
            self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _fmt(genres: list[str]) -> str:
    return ", ".join(genres) if genres else "(none)"


def _fmt_probs(genres: list[str], top: list[tuple[str, float]]) -> str:
    """Each genre with its own probability: ``Rock (62%), Pop (21%)``."""
    prob = dict(top)
    return ", ".join(f"{g} ({prob[g]:.0%})" if g in prob else g for g in genres) if genres else "(none)"


def _basis(r) -> list[tuple[str, float]]:
    """The probabilities a result's decision read: its album's when it follows the album."""
    return r.album_top if r.decided_by == "album" else r.top


def _shown(path) -> str:
    from .library.files import display_path

    return display_path(path)


def _say(stream, line: str) -> None:
    """Every line for the terminal goes through here: names never reach it raw."""
    from .library.files import safe_text

    stream.write(safe_text(line) + "\n")


def _tag_options(args, keep_mtime: bool = False):
    """The tag-writing options of the command line (scan, --set, --undo)."""
    from .tagstore.tags import TagOptions

    return TagOptions(id3_version=3 if args.id3v23 else 4, id3v23_separator=args.id3_separator, keep_mtime=keep_mtime)


def output_problems(args) -> list[str]:
    """Every output path checked before anything is scanned or written."""
    from .library.playlists import playlist_folder_problem
    from .library.report import output_file_problem

    problems = []
    for opt, dest in (("--json", args.json), ("--csv", args.csv)):
        why = dest and output_file_problem(dest)
        if why:
            problems.append(f"{opt}: {why}")
    if args.json and args.csv and args.json != "-" and os.path.abspath(args.json) == os.path.abspath(args.csv):
        problems.append("--json and --csv name the same file")
    if args.json == "-" and args.csv == "-":
        problems.append("--json - and --csv - cannot both go to stdout")
    why = args.playlists and playlist_folder_problem(args.playlists)
    if why:
        problems.append(f"--playlists: {why}")
    return problems


def missing_roots(roots: list[str]) -> list[str]:
    return [r for r in roots if not os.path.lexists(r)]


def _missing_roots_error(missing: list[str], err) -> int:
    from .library.files import display_path

    for r in missing:
        _say(err, f"genre-tagger: no such file or folder: {display_path(r)}")
    err.write("genre-tagger: give the folder that holds your music, e.g. genre-tagger --dry-run --scan /path/to/Music\n")
    return EXIT_USAGE


class _Interrupts:
    """Ctrl-C during a scan: the first press asks the scanner to stop after the files in
    progress; the second raises KeyboardInterrupt at once; later presses are ignored while
    the scan shuts down (so cleaning up never ends in a traceback)."""

    def __init__(self, cancel):
        self.cancel, self.presses = cancel, 0

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._handle)
        if getattr(self.previous, "count", 0):  # a Ctrl-C at start-up that an import swallowed (see
            signal.signal(signal.SIGINT, self.previous)  # _InterruptCount): honoured before any file is read
            raise KeyboardInterrupt
        return self

    def _handle(self, signum, frame) -> None:
        self.presses += 1
        if self.presses == 1:
            self.cancel()
            return
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self.previous)


def run_scan(args, out, err) -> int:
    from .library.processes import one_math_thread, start_fork_server, worker_count

    roots = args.scan + args.paths
    missing = missing_roots(roots)
    if missing:
        return _missing_roots_error(missing, err)
    one_math_thread()  # before numpy is imported (see processes.py)
    if worker_count(args.workers) > 1:
        start_fork_server()  # the workers' imports overlap this process's own
    from .errors import GenreTaggerError
    from .library.files import display_path
    from .library.policy import CHANGED, ERROR, STATUSES, TAGGED, WOULD_TAG, WritePolicy, parse_mapping, status_words
    from .library.scanner import Scanner, ScanOptions
    from .tagstore.journal import Journal, JournalBusyError

    problems = output_problems(args)
    if problems:
        for why in problems:
            _say(err, f"genre-tagger: {why}")
        return EXIT_USAGE
    try:
        policy = WritePolicy(
            overwrite=args.overwrite,
            min_confidence=args.min_confidence,
            max_genres=args.max_genres,
            dry_run=args.dry_run,
            mapping=parse_mapping(args.map),
        )
    except ValueError as e:
        _say(err, f"genre-tagger: {e}")
        return EXIT_USAGE
    tag_opts = _tag_options(args, keep_mtime=args.keep_mtime)
    opts = ScanOptions(policy=policy, tag_options=tag_opts, model=args.model, vocabulary=args.vocabulary,
                       workers=args.workers, use_cache=not args.no_cache, group=args.group)  # fmt: skip
    try:
        scanner = Scanner(opts, Journal())
    except (GenreTaggerError, ValueError) as e:  # ValueError: not one of the model's vocabularies
        _say(err, f"genre-tagger: {e}")
        return EXIT_USAGE
    scanner.command = "scan " + " ".join(display_path(r) for r in roots) + (" --dry-run" if args.dry_run else "")
    vocab = scanner.info.vocabulary(scanner.vocabulary)
    known = {n.lower() for n in (*vocab.genres, *vocab.display)}
    for item in args.map:
        name = item.partition("=")[0].strip()
        if name.lower() not in known:  # a typo, or a genre of another vocabulary: it would rename nothing
            _say(err, f"genre-tagger: warning: --map {item}: the model has no genre {name!r} "
                      f"(its genres: {', '.join(vocab.display)}); nothing is renamed")
    to_stdout = args.json == "-" or args.csv == "-"
    human = err if to_stdout else out
    progress = Progress(err, enabled=not args.quiet and err.isatty())
    results = []
    counts = dict.fromkeys(STATUSES, 0)
    genre_counts: dict[str, int] = {}
    total = [0]

    def on_total(n: int) -> None:
        total[0] = n
        progress.set_total(n)

    t0 = time.time()
    interrupted = False
    try:
        with _Interrupts(scanner.cancel):
            for r in scanner.scan(roots, on_total=on_total):
                results.append(r)
                counts[r.status] += 1
                for g in r.genres if r.status in (TAGGED, WOULD_TAG) else []:
                    genre_counts[g] = genre_counts.get(g, 0) + 1
                line = None
                if r.status == ERROR:
                    line = f"error: {_shown(r.path)}: {r.error}"
                elif r.status in (TAGGED, WOULD_TAG) and not args.quiet:
                    verb = "tagged" if r.status == TAGGED else "would tag"
                    line = f"{verb}: {_shown(r.path)}: {_fmt(r.previous)} -> {_fmt_probs(r.genres, _basis(r))}"
                    if r.status == WOULD_TAG and r.read_only:
                        line += " (read-only: the write would fail)"
                elif r.status == CHANGED and not args.quiet:  # another program wrote its genre after the scan
                    line = f"changed since the scan, left as it is: {_shown(r.path)}: now {_fmt(r.previous)}"
                if line:
                    progress.clear()
                    _say(err if r.status == ERROR else human, line)
                progress.step()
    except KeyboardInterrupt:
        interrupted = True
    except JournalBusyError as e:  # another run is writing tags: nothing was scanned
        _say(err, f"genre-tagger: {e}")
        return EXIT_USAGE
    finally:
        if scanner.run_id is not None:
            scanner.journal.finish_run(scanner.run_id)
    interrupted = interrupted or scanner.cancelled.is_set()
    progress.clear()
    seconds = time.time() - t0
    code = EXIT_FILES_FAILED if counts[ERROR] else EXIT_OK
    if interrupted:
        err.write(f"genre-tagger: interrupted after {len(results)} of {plural(total[0], 'file')}; no report or playlist written\n")
        code = EXIT_INTERRUPTED
    else:
        code = max(code, _write_outputs(args, results, human, err))
    if not args.quiet or interrupted:
        parts = [status_words(s, counts[s]) for s in STATUSES if counts[s]]
        read_only = sum(1 for r in results if r.status == WOULD_TAG and r.read_only)
        if read_only:  # as the app counts them: a dry run says which of its writes would fail
            parts.insert(parts.index(status_words(WOULD_TAG, counts[WOULD_TAG])) + 1, f"{read_only} of them read-only (would fail)")
        human.write(f"{plural(len(results), 'file')} in {seconds:.1f} s: " + (", ".join(parts) or "nothing to do") + "\n")
        if args.group == "album" and results:
            human.write(album_summary(results) + "\n")
        if genre_counts:
            _say(human, "genres: " + ", ".join(f"{g} {n}" for g, n in sorted(genre_counts.items(), key=lambda kv: -kv[1])))
        if scanner.run_id is not None:
            human.write(f"run {scanner.run_id} recorded; 'genre-tagger --undo' restores it\n")
        elif args.dry_run:
            human.write("dry run: no tag and no playlist was written\n")
    return code


def album_summary(results) -> str:
    """``albums: 12 (140 tracks, 131 take the album's genre, 9 keep their own); 25 tracks decided alone``."""
    from .library.albums import FOLLOWS_ALBUM, OWN_CONTRADICTS

    pooled = [r for r in results if r.album_tracks > 1 and r.decided_by in (FOLLOWS_ALBUM, OWN_CONTRADICTS)]
    follow = sum(r.decided_by == FOLLOWS_ALBUM for r in pooled)
    alone = sum(1 for r in results if r.decided_by) - len(pooled)
    n, own = len({r.album_key for r in pooled}), len(pooled) - follow
    keeps = "1 keeps its own" if own == 1 else f"{own} keep their own"
    return f"albums: {n} ({len(pooled)} tracks, {follow} take the album's genre, {keeps}); {alone} decided alone"


def _write_outputs(args, results, human, err) -> int:
    """Reports and playlists after a finished scan; a failure is one line, exit code 1."""
    from .library.playlists import playlists_by_genre, write_playlists
    from .library.report import record, write_report

    code = EXIT_OK
    records = [record(r) for r in results]
    for dest, kind in ((args.json, "json"), (args.csv, "csv")):
        if dest:
            try:
                write_report(records, dest, kind)
            except OSError as e:
                _say(err, f"genre-tagger: cannot write the {kind.upper()} report {dest} ({e.strerror or e})")
                code = EXIT_FILES_FAILED
    if args.playlists and args.dry_run:
        if not args.quiet:
            n = len(playlists_by_genre(results))
            _say(human, f"playlists: {n} would be written to {args.playlists} (dry run: none written)")
    elif args.playlists:
        try:
            written = write_playlists(results, args.playlists)
        except OSError as e:
            _say(err, f"genre-tagger: cannot write playlists into {args.playlists} ({e.strerror or e})")
            return EXIT_FILES_FAILED
        if not args.quiet:
            _say(human, f"playlists: {len(written)} written to {args.playlists}")
    return code


def run_undo(args, out, err) -> int:
    from .library.policy import ERROR
    from .library.scanner import undo
    from .tagstore.journal import Journal, JournalBusyError

    run = None
    if args.undo != "last":
        try:
            run = int(args.undo)
        except ValueError:
            err.write(f"genre-tagger: --undo takes a run number, not {args.undo!r}\n")
            return EXIT_USAGE
    tag_opts = _tag_options(args)
    try:
        new_run, results = undo(Journal(), run, tag_opts)
    except (LookupError, JournalBusyError) as e:
        err.write(f"genre-tagger: {e}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:  # the file being restored was finished or put back
        again = "--undo" if run is None else f"--undo {run}"
        err.write(f"genre-tagger: interrupted; the files restored so far are recorded, 'genre-tagger {again}' restores the rest\n")
        return EXIT_INTERRUPTED
    failed = 0
    for r in results:
        if r.status == ERROR:
            failed += 1
            _say(err, f"error: {_shown(r.path)}: {r.error}")
        elif not args.quiet:
            _say(out, f"restored: {_shown(r.path)}: {_fmt(r.previous)} -> {_fmt(r.genres)}")
    if new_run is None:  # no file could be restored: no undo run was recorded
        out.write(f"nothing restored: {failed} failed (see above); the run can be undone once the cause is fixed\n")
    elif not args.quiet:
        undone = Journal().get_run(new_run)
        of = f"undid run {undone.undo_of}" if undone is not None and undone.undo_of else "undo"
        out.write(f"{of}: {plural(len(results) - failed, 'file')} restored, {failed} failed (recorded as run {new_run})\n")
    return EXIT_FILES_FAILED if failed else EXIT_OK


def _interactive() -> bool:
    """Both ends are a terminal: a person can answer a question (tests replace this)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _ask(question: str, err) -> bool:
    """y/N on the terminal; anything but y/yes (or end of input) is no."""
    err.write(question)
    err.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes")


def _quoted(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def run_set(args, out, err) -> int:
    """``--set GENRE[;GENRE...] PATH...``: write a genre by hand through the write path."""
    from .errors import TagError
    from .library.files import display_path, iter_audio_files
    from .tagstore.journal import Journal, JournalBusyError
    from .tagstore.tags import read_tags
    from .tagstore.write import ERROR, TAGGED, WriteRun

    genres = [g.strip() for g in args.set.split(";") if g.strip()]
    roots = args.scan + args.paths
    if not roots:
        _say(err, "genre-tagger: --set needs the files (or folders) to write, e.g. --set Jazz song.mp3")
        return EXIT_USAGE
    missing = missing_roots(roots)
    for r in missing:
        _say(err, f"genre-tagger: no such file or folder: {display_path(r)}")
    if missing:
        return EXIT_USAGE
    failed: list[tuple[str, str]] = []
    files = list(iter_audio_files(roots, on_error=lambda p, why: failed.append((p, why))))
    total = len(files)
    tag_opts = _tag_options(args, keep_mtime=args.keep_mtime)
    for p, why in failed:
        _say(err, f"error: {_shown(p)}: {why}")
    counts = {"set": 0, "unchanged": 0, "kept": 0}
    # a folder (or --scan) is a bulk change: existing genres are replaced only with --overwrite, and a
    # terminal is asked first (unless --yes); files named one by one are set as asked
    bulk = bool(args.scan) or any(os.path.isdir(r) for r in roots)
    before: dict = {}
    if args.dry_run or bulk:
        for p in files:
            try:
                before[p] = read_tags(p, tag_opts).genres
            except TagError as e:
                failed.append((p, e.reason))
                _say(err, f"error: {_shown(p)}: {e.reason}")
        files = [p for p in files if p in before]
    if bulk and not args.overwrite:
        kept = {p for p in files if before[p] and before[p] != genres}
        counts["kept"] = len(kept)
        files = [p for p in files if p not in kept]
    kept = counts["kept"]
    kept_note = f", {kept} kept (a genre already; --overwrite replaces {'it' if kept == 1 else 'them'})" if kept else ""
    if args.dry_run:
        for p in files:
            counts["set" if before[p] != genres else "unchanged"] += 1
            if before[p] != genres and not args.quiet:
                _say(out, f"would set: {_shown(p)}: {_fmt(before[p])} -> {_fmt(genres)}")
        if not args.quiet:
            out.write(f"{plural(total, 'file')}: {counts['set']} would be set, {counts['unchanged']} unchanged{kept_note}, "
                      f"{len(failed)} failed (dry run: nothing written)\n")
        return EXIT_FILES_FAILED if failed else EXIT_OK
    if bulk and not args.yes and _interactive():
        changing = [p for p in files if before[p] != genres]
        if changing:
            have = sum(1 for p in changing if before[p])
            again = " ".join(_quoted(a) for a in ["--dry-run", "--set", args.set, *roots])
            _say(err, f"genre-tagger {again} lists every change without writing; --yes does not ask")
            question = f"Set {';'.join(genres) or 'no genre'} on {plural(len(changing), 'file')}"
            question += f" ({have} {'has' if have == 1 else 'have'} a genre)" if have else ""
            question += f" ({kept} with a genre kept: --overwrite replaces {'it' if kept == 1 else 'them'})" if kept else ""
            if not _ask(question + "? [y/N] ", err):
                out.write("nothing written\n")
                return EXIT_USAGE
    journal = Journal()
    command = "set " + ";".join(genres) + " " + " ".join(display_path(r) for r in roots)
    run, done, interrupted = WriteRun(journal, command), 0, False
    try:
        with run:
            for done, p in enumerate(files):  # noqa: B007 - done: how far a Ctrl-C got
                r = run.apply(p, genres, tag_opts)
                if r.status == ERROR:
                    failed.append((p, r.error))
                    _say(err, f"error: {_shown(p)}: {r.error}")
                elif r.status == TAGGED:
                    counts["set"] += 1
                    if not args.quiet:
                        _say(out, f"set: {_shown(p)}: {_fmt(r.previous)} -> {_fmt(genres)}")
                else:
                    counts["unchanged"] += 1
    except JournalBusyError as e:
        _say(err, f"genre-tagger: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:  # the file being written was finished or put back; the run was closed
        interrupted = True
        err.write(f"genre-tagger: interrupted after {done} of {plural(len(files), 'file')}\n")
    else:
        if not args.quiet:
            out.write(f"{plural(total, 'file')}: {counts['set']} set, {counts['unchanged']} unchanged{kept_note}, {len(failed)} failed\n")
    return _write_run_end(run.run_id, args.quiet, interrupted, bool(failed), out)


def _write_run_end(run_id: int | None, quiet: bool, interrupted: bool, failed: bool, out) -> int:
    """The end of a command that wrote through one journal run (``--set``,
    ``--normalize-genres``): where the run is recorded, and the exit code."""
    if run_id is not None and (not quiet or interrupted):
        out.write(f"run {run_id} recorded; 'genre-tagger --undo' restores it\n")
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FILES_FAILED if failed else EXIT_OK


def run_normalize(args, out, err) -> int:
    """``--normalize-genres PATH...``: existing genres in the canonical table's spelling,
    previewed (--dry-run, or the question on a terminal), journaled and undoable."""
    from .errors import TagError
    from .genres import canonical_names
    from .library.files import display_path, iter_audio_files
    from .library.policy import parse_mapping
    from .reasons import cannot_read
    from .tagstore.journal import Journal, JournalBusyError
    from .tagstore.steps import identity
    from .tagstore.tags import read_tags
    from .tagstore.write import ERROR, TAGGED, Expect, WriteRun

    roots = args.scan + args.paths
    if not roots:
        _say(err, "genre-tagger: --normalize-genres needs the files or folders, e.g. --normalize-genres --dry-run ~/Music")
        return EXIT_USAGE
    missing = missing_roots(roots)
    if missing:
        return _missing_roots_error(missing, err)
    try:
        mapping = parse_mapping(args.map)
    except ValueError as e:
        _say(err, f"genre-tagger: {e}")
        return EXIT_USAGE
    failed: list[tuple[str, str]] = []
    files = list(iter_audio_files(roots, on_error=lambda p, why: failed.append((p, why))))
    for p, why in failed:
        _say(err, f"error: {_shown(p)}: {why}")
    tag_opts = _tag_options(args, keep_mtime=args.keep_mtime)
    changes = []
    for p in files:
        try:
            seen = identity(os.stat(p))  # before the tags: a change after it is seen by the write
            before = read_tags(p, tag_opts).genres
        except TagError as e:
            failed.append((p, e.reason))
            _say(err, f"error: {_shown(p)}: {e.reason}")
            continue
        except OSError as e:
            failed.append((p, cannot_read(e)))
            _say(err, f"error: {_shown(p)}: {cannot_read(e)}")
            continue
        after = canonical_names(before, mapping)
        if after != before:
            changes.append((p, before, after, seen))
    if args.dry_run:
        for p, before, after, _ in changes if not args.quiet else []:
            _say(out, f"would normalize: {_shown(p)}: {_fmt(before)} -> {_fmt(after)}")
        if not args.quiet:
            out.write(f"{plural(len(files), 'file')}: {len(changes)} would be normalized, {len(failed)} failed "
                      "(dry run: nothing written)\n")
        return EXIT_FILES_FAILED if failed else EXIT_OK
    if changes and not args.yes and _interactive():
        again = " ".join(_quoted(a) for a in ["--dry-run", "--normalize-genres", *roots])
        _say(err, f"genre-tagger {again} lists every change without writing; --yes does not ask")
        if not _ask(f"Normalize the genre names of {plural(len(changes), 'file')}? [y/N] ", err):
            out.write("nothing written\n")
            return EXIT_USAGE
    command = "normalize genres " + " ".join(display_path(r) for r in roots)
    run, done, interrupted, written = WriteRun(Journal(), command), 0, False, 0
    try:
        with run:
            for done, (p, before, after, seen) in enumerate(changes):  # noqa: B007 - done: how far a Ctrl-C got
                # changed since it was read: what it holds then is normalized instead
                r = run.apply(p, after, tag_opts, expect=Expect(seen, before, lambda now: canonical_names(now, mapping)))
                if r.status == ERROR:
                    failed.append((p, r.error))
                    _say(err, f"error: {_shown(p)}: {r.error}")
                elif r.status == TAGGED:
                    written += 1
                    if not args.quiet:
                        _say(out, f"normalized: {_shown(p)}: {_fmt(r.previous)} -> {_fmt(after)}")
    except JournalBusyError as e:
        _say(err, f"genre-tagger: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        interrupted = True
        err.write(f"genre-tagger: interrupted after {done} of {plural(len(changes), 'file')}\n")
    else:
        if not args.quiet:
            out.write(f"{plural(len(files), 'file')}: {written} normalized, {len(failed)} failed\n")
    return _write_run_end(run.run_id, args.quiet, interrupted, bool(failed), out)


def run_history(args, out) -> int:
    from .library.run_names import run_title
    from .tagstore.journal import Journal
    from .tagstore.recover import recover

    journal = Journal()
    recover(journal)  # a run killed earlier shows as interrupted, its files reconciled
    runs = journal.runs()
    if not runs:
        out.write("no runs yet\n")
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
        note = f" (undone by run {r.undone_by})" if r.undone_by else ""
        if not r.undone_by and r.undone:
            note = f" ({r.undone} of {r.changes} files restored by undo)"
        if r.interrupted:
            note += " (interrupted: did not finish)"
        if r.unchecked and r.interrupted:
            note += f" ({r.unchecked} interrupted writes not checked yet: the files cannot be reached now)"
        if r.unknown:
            note += f" ({r.unknown} interrupted writes left as found: the files had changed since)"
        elif r.finished is None and not r.interrupted:
            note += " (running)"
        _say(out, f"{r.id:5d}  {when}  {r.changes:6d} files  {run_title(r.command)}{note}")
    return EXIT_OK


class _InterruptCount:
    """Counts Ctrl-C before raising KeyboardInterrupt as Python does. An interrupt that
    lands inside an extension module's import (numpy's C part importing ``datetime``)
    comes out as an ImportError, not KeyboardInterrupt: the count tells them apart."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum, frame) -> None:
        self.count += 1
        raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    interrupts = _InterruptCount()
    own = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if own:
        signal.signal(signal.SIGINT, interrupts)
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # the last lines may still be buffered: a closed pipe shows here, not at exit
            if own and signal.getsignal(signal.SIGINT) is interrupts:
                signal.signal(signal.SIGINT, signal.default_int_handler)
    except BrokenPipeError:  # `genre-tagger --history | head -1`: stop quietly, as other Unix tools
        _silence_closed_output()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # Ctrl-C before the scan started (loading the model, ...)
        sys.stderr.write("\ngenre-tagger: interrupted\n")
        return EXIT_INTERRUPTED
    except ImportError:
        if not interrupts.count:
            raise
        sys.stderr.write("\ngenre-tagger: interrupted\n")  # Ctrl-C inside a C extension's import
        return EXIT_INTERRUPTED
    except Exception as e:
        from .tagstore.journal import JournalError  # imported here: the journal is not needed to start

        if not isinstance(e, JournalError):
            raise
        _say(sys.stderr, f"genre-tagger: {e}")  # read-only or full disk, damaged database: nothing written
        return EXIT_USAGE


def _silence_closed_output() -> None:
    """Point stdout and stderr at /dev/null, so that the interpreter's own flush at exit
    does not print 'Exception ignored ... BrokenPipeError' for the unwritten rest."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
            pass
    os.close(devnull)


def _main(argv: list[str] | None) -> int:
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
    if args.set is not None:
        return run_set(args, out, err)
    if args.normalize_genres:
        return run_normalize(args, out, err)
    if not (args.scan or args.paths):
        parser.error("nothing to scan: give --scan PATH (or --undo / --history)")
    if args.max_genres < 1 or (args.min_confidence is not None and not 0 <= args.min_confidence <= 1):
        parser.error("--max-genres must be >= 1 and --min-confidence between 0 and 1")
    if args.workers < 0:
        parser.error("--workers must be >= 0")
    return run_scan(args, out, err)


if __name__ == "__main__":
    sys.exit(main())
