"""The command line at its edges: output paths checked before the scan, --dry-run writes
nothing, a missing root, names that must not reach the terminal or a playlist raw,
special files, --help, the CSV columns, and Ctrl-C (in a real subprocess)."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import run
from clirun import scan_args as _scan

from devtools.synth import write_audio
from genre_tagger import cli
from genre_tagger.library.report import FIELDS
from genre_tagger.tagstore.tags import read_tags

ROOT = Path(__file__).resolve().parents[1]




def _snapshot(folder: Path) -> dict:
    """Every entry under ``folder``, with the bytes of every regular file."""
    return {p: (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.fixture()
def song(tmp_path):
    d = tmp_path / "Music"
    d.mkdir()
    write_audio(d / "song.wav", "wav", seconds=4.0)
    return d


# -- output paths: checked before anything is scanned or written -----------------------


@pytest.mark.parametrize(
    "make_args",
    [
        lambda t: ["--json", str(t / "missing" / "r.json")],
        lambda t: ["--csv", str(t / "missing" / "r.csv")],
        lambda t: ["--csv", str(t)],  # a folder, not a file
        lambda t: ["--playlists", str(t / "taken.txt")],  # an existing file
        lambda t: ["--playlists", str(t / "taken.txt" / "lists")],  # under a file
        lambda t: ["--json", str(t / "same"), "--csv", str(t / "same")],
    ],
    ids=["json-missing-folder", "csv-missing-folder", "csv-is-a-folder", "playlists-is-a-file", "playlists-under-a-file", "same-file"],
)
def test_bad_output_path_is_a_usage_error_before_anything_is_written(make_args, song, tmp_path, tiny_model_path, capsys):
    (tmp_path / "taken.txt").write_text("mine")
    before = _snapshot(tmp_path)
    code, out, err = run(_scan(tiny_model_path, str(song), *make_args(tmp_path)), capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genre-tagger: ") and "Traceback" not in err, err
    assert _snapshot(tmp_path) == before  # no tag written, no report, no playlist folder
    assert read_tags(song / "song.wav").genres == []
    assert run(["--history"], capsys)[1].strip() == "no runs yet"


def test_report_write_failure_after_the_scan_is_one_line(song, tmp_path, tiny_model_path, capsys, monkeypatch):
    import genre_tagger.library.report as report

    def full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "write_text_atomic", full)
    code, out, err = run(_scan(tiny_model_path, str(song), "--dry-run", "--json", str(tmp_path / "r.json")), capsys)
    assert code == 1 and "Traceback" not in err
    assert "cannot write the JSON report" in err and "No space left" in err
    assert "1 file in" in out  # the summary still comes


# -- --dry-run writes nothing ------------------------------------------------------------


def test_dry_run_writes_no_playlists_and_says_so(song, tmp_path, tiny_model_path, capsys):
    lists = tmp_path / "lists"
    before = _snapshot(tmp_path)
    code, out, err = run(_scan(tiny_model_path, str(song), "--dry-run", "--playlists", str(lists)), capsys)
    assert code == 0, err
    assert not lists.exists() and _snapshot(tmp_path) == before
    assert "would be written" in out and "none written" in out
    assert "dry run: no tag and no playlist was written" in out
    code, out, err = run(_scan(tiny_model_path, str(song), "--dry-run", "--playlists", str(lists), "-q"), capsys)
    assert code == 0 and out == "" and not lists.exists()


def test_playlists_are_written_without_dry_run(song, tmp_path, tiny_model_path, capsys):
    lists = tmp_path / "lists"
    code, out, _ = run(_scan(tiny_model_path, str(song), "--playlists", str(lists)), capsys)
    assert code == 0 and len(list(lists.glob("*.m3u8"))) == 1 and "playlists: 1 written" in out


# -- a missing root ------------------------------------------------------------------------


def test_missing_root_is_a_usage_error_with_a_hint(song, tmp_path, tiny_model_path, capsys):
    code, out, err = run(_scan(tiny_model_path, str(song), "--scan", str(tmp_path / "Musik")), capsys)
    assert code == 2
    assert "no such file or folder" in err and "Musik" in err and "--dry-run --scan" in err
    assert read_tags(song / "song.wav").genres == []  # the existing root was not scanned either


# -- names that must not reach a terminal or a file raw ------------------------------------

EVIL = "evil\nerror: fake line\x1b[31m\u202e"


def test_names_with_control_characters_are_escaped_on_the_terminal(tmp_path, tiny_model_path, capsys):
    d = tmp_path / "Music"
    d.mkdir()
    f = write_audio(d / f"{EVIL}.wav", "wav", seconds=4.0)
    bad = d / f"broken{EVIL}.mp3"
    bad.write_bytes(b"not audio")
    code, out, err = run(_scan(tiny_model_path, str(d), "--dry-run"), capsys)
    assert code == 1
    for text in (out, err):
        assert "\x1b" not in text and "\u202e" not in text
        assert "fake line" not in text or "\\nerror: fake line\\x1b[31m\\u202e" in text
    would = [line for line in out.splitlines() if line.startswith("would tag:")]
    assert len(would) == 1 and "\\nerror: fake line\\x1b[31m\\u202e.wav" in would[0]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken" in errors[0]
    assert f.exists()


def test_non_utf8_name_is_escaped_and_history_works(tmp_path, tiny_model_path, capsys):
    d = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9\nx"))
    d.mkdir()
    write_audio(tmp_path / "a.wav", "wav", seconds=4.0).rename(d / "a.wav")  # soundfile cannot write there
    code, out, err = run(_scan(tiny_model_path, str(d)), capsys)
    assert code == 0, err
    assert "caf\\xe9\\nx/a.wav" in out
    code, out, _ = run(["--history"], capsys)
    lines = out.splitlines()
    assert len(lines) == 1 and "caf\\xe9\\nx" in lines[0]  # one run, one line: no injected lines


def test_history_shows_a_folder_name_with_a_newline_on_one_line(tmp_path, tiny_model_path, capsys):
    d = tmp_path / "Music\n    99  2020-01-01 00:00       1 files  fake run"
    d.mkdir()
    write_audio(d / "a.wav", "wav", seconds=4.0)
    assert run(_scan(tiny_model_path, str(d)), capsys)[0] == 0
    code, out, _ = run(["--history"], capsys)
    assert code == 0 and len(out.splitlines()) == 1 and "\\n    99" in out


def test_playlist_entries_stay_one_line_and_resolve(tmp_path, tiny_model_path, capsys):
    from urllib.parse import unquote_to_bytes, urlparse

    d = tmp_path / "Music"
    d.mkdir()
    evil = write_audio(d / f"{EVIL}.wav", "wav", seconds=4.0, seed=1)
    plain = write_audio(d / "plain.wav", "wav", seconds=4.0, seed=2)
    nonutf8 = Path(os.fsdecode(bytes(d) + b"/caf\xe9.wav"))
    write_audio(tmp_path / "x.wav", "wav", seconds=4.0, seed=3).rename(nonutf8)
    lists = tmp_path / "lists"
    assert run(_scan(tiny_model_path, str(d), "--playlists", str(lists), "-q"), capsys)[0] == 0
    targets = []
    for p in lists.glob("*.m3u8"):
        text = p.read_bytes().decode("utf-8")  # valid UTF-8, whatever the names
        lines = text.splitlines()
        assert lines[0] == "#EXTM3U" and lines[1].startswith("#PLAYLIST:")
        body = lines[2:]
        assert len(body) % 2 == 0
        for info, target in zip(body[::2], body[1::2]):
            assert info.startswith("#EXTINF:") and not target.startswith("#")
            assert not any(c in target for c in "\x1b\u202e\r")
            if target.startswith("file://"):
                targets.append(Path(os.fsdecode(unquote_to_bytes(urlparse(target).path))))
            else:
                targets.append((lists / target).resolve())
    assert sorted(map(os.fsencode, targets)) == sorted(os.fsencode(p.resolve()) for p in (evil, plain, nonutf8))


# -- special files ----------------------------------------------------------------------


def test_fifo_symlink_loop_and_dangling_link_get_one_line_each(tmp_path, tiny_model_path, capsys):
    d = tmp_path / "Music"
    (d / "sub").mkdir(parents=True)
    write_audio(d / "good.wav", "wav", seconds=4.0)
    os.mkfifo(d / "pipe.mp3")
    os.symlink("loop.flac", d / "loop.flac")
    os.symlink("gone.ogg", d / "dangling.ogg")
    os.symlink("..", d / "sub" / "up")
    code, out, err = run(_scan(tiny_model_path, str(d), "--dry-run", "--json", "-", "-q"), capsys)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 4, err
    text = "\n".join(errors)
    assert "pipe.mp3: skipped: not a regular file: a named pipe (FIFO)" in text
    assert "loop.flac: skipped: symbolic link loop" in text
    assert "dangling.ogg: skipped: broken symbolic link" in text
    assert "sub/up: skipped: symbolic link loop" in text
    recs = json.loads(out)
    assert [Path(r["path"]).name for r in recs if r["status"] == "would-tag"] == ["good.wav"]


# -- --help, CSV ----------------------------------------------------------------------------


def test_help_explains_double_dash_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "-- -rf.mp3" in out and "130" in out and "--dry-run" in out


@pytest.mark.parametrize("what", ["history", "scan"])
def test_output_closed_early_stops_quietly(what, song, tmp_path, tiny_model_path):
    """`genre-tagger --history | head -1`: the reader has gone before the output is written
    (a pipe whose read end is closed: deterministic, unlike a real `head`)."""
    args = ["--history"] if what == "history" else ["--model", str(tiny_model_path), "--workers", "2", "--dry-run", str(song)]
    (tmp_path / "data").mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), GENRE_TAGGER_DATA_DIR=str(tmp_path / "data"))
    env.pop("PYTHONUNBUFFERED", None)  # buffered, as in a user's shell: the failure may come at the last flush
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "genre_tagger", *args], env=env, cwd=tmp_path,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == cli.EXIT_BROKEN_PIPE == 141, proc.stderr
    assert proc.stderr == ""  # no traceback, no 'Exception ignored ... BrokenPipeError'


def test_a_name_starting_with_a_dash_after_double_dash(tmp_path, tiny_model_path, capsys, monkeypatch):
    write_audio(tmp_path / "-rf.wav", "wav", seconds=4.0)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(_scan(tiny_model_path, "--dry-run", "--", "-rf.wav"), capsys)
    assert code == 0 and "would tag: -rf.wav" in out, err


def test_csv_has_the_documented_columns(song, tiny_model_path, capsys):
    code, out, _ = run(_scan(tiny_model_path, str(song), "--dry-run", "--csv", "-", "-q"), capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 1
    assert list(rows[0]) == ["path", "status", "genres", "top", "previous", "error", "artist", "title", "album", "duration", "cached",
                             "album_artist", "album_key", "album_tracks", "album_genres", "album_confidence", "album_top",
                             "decided_by"]  # fmt: skip
    assert FIELDS == list(rows[0])
    row = rows[0]
    assert row["status"] == "would-tag" and row["cached"] == "no" and abs(float(row["duration"]) - 4.0) < 0.1
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{col}`" in readme for col in FIELDS)  # the README lists the same columns


def test_each_written_genre_shows_its_own_probability(song, tiny_model_path, capsys):
    code, out, _ = run(_scan(tiny_model_path, str(song), "--dry-run", "--max-genres", "2", "--min-confidence", "0"), capsys)
    line = next(line for line in out.splitlines() if line.startswith("would tag:"))
    args = ("--dry-run", "--max-genres", "2", "--min-confidence", "0", "--json", "-", "-q")
    code, js, _ = run(_scan(tiny_model_path, str(song), *args), capsys)
    rec = json.loads(js)[0]
    expected = [(g, dict(rec["top"])[g]) for g in rec["genres"]]
    shown = [part.rsplit(" (", 1) for part in line.split(" -> ", 1)[1].split(", ")]
    assert [g for g, _ in shown] == [g for g, _ in expected] and len(expected) == 2
    # the report rounds to 4 decimals, so a percentage may differ by the last rounding step
    assert all(abs(int(pct.rstrip("%)")) - 100 * p) <= 0.51 for (_, pct), (_, p) in zip(shown, expected))


# -- Ctrl-C, in a subprocess ----------------------------------------------------------------

SLOW_DECODE = """\
import os, time
if os.environ.get("GT_TEST_SLOW_DECODE"):
    import soundfile
    _init = soundfile.SoundFile.__init__
    def _slow(self, *a, **k):
        time.sleep(float(os.environ["GT_TEST_SLOW_DECODE"]))
        _init(self, *a, **k)
    soundfile.SoundFile.__init__ = _slow
"""


def _start_scan(tmp_path, model, n_files=12, slow=0.2, workers=2):
    """A scan in its own process group (as a terminal runs it), decoding slowly."""
    lib = tmp_path / "Music"
    lib.mkdir()
    first = write_audio(lib / "00.wav", "wav", seconds=4.0)
    for i in range(1, n_files):
        (lib / f"{i:02d}.wav").write_bytes(first.read_bytes())
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_DECODE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    if slow:
        env["GT_TEST_SLOW_DECODE"] = str(slow)
    cmd = [sys.executable, "-m", "genre_tagger", "--model", str(model), "--workers", str(workers), "--scan", str(lib)]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    return proc, lib


def _wait_for_line(proc, prefix: str, timeout: float = 60) -> list[str]:
    lines, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no {prefix!r} line: {lines}")


def _group_gone(pgid: int, timeout: float = 10) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc and process groups")
def test_first_ctrl_c_stops_cleanly_with_a_summary(tmp_path, tiny_model_path):
    proc, lib = _start_scan(tmp_path, tiny_model_path)
    _wait_for_line(proc, "tagged:")
    os.killpg(proc.pid, signal.SIGINT)  # the terminal sends it to the whole process group
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted after" in err
    assert "error:" not in err  # files in progress finish; none is reported as failed
    assert "run 1 recorded" in out and "files in" in out
    done = [f for f in sorted(lib.iterdir()) if read_tags(f).genres]
    assert 0 < len(done) < 12  # stopped part-way; what was written is in the journal
    assert _group_gone(proc.pid), "worker processes outlived the scan"


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc and process groups")
def test_second_ctrl_c_never_hangs(tmp_path, tiny_model_path):
    proc, _ = _start_scan(tmp_path, tiny_model_path, slow=2.0)
    _wait_for_line(proc, "tagged:")
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and time.monotonic() - t0 < 1.9, err  # did not wait for a 2-s decode
    assert "Traceback" not in err and "interrupted" in err
    assert _group_gone(proc.pid), "worker processes outlived the scan"


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc and process groups")
def test_ctrl_c_during_start_up_prints_no_traceback(tmp_path, tiny_model_path):
    proc, _ = _start_scan(tmp_path, tiny_model_path, n_files=2, slow=None)
    maps = Path(f"/proc/{proc.pid}/maps")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30 and proc.poll() is None:  # until the heavy imports begin
        try:
            if "numpy" in maps.read_text():
                break
        except OSError:
            pass
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err and "interrupted" in err, err
    assert _group_gone(proc.pid)


# -- the scan's worker processes -------------------------------------------------------------


def test_workers_run_numpy_with_one_thread(monkeypatch):
    """One process per core; a multi-threaded BLAS inside each only spins (2.5x the CPU)."""
    from concurrent.futures import ProcessPoolExecutor

    from genre_tagger.library.processes import worker_context

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with ProcessPoolExecutor(1, mp_context=worker_context()) as ex:
        seen = ex.submit(os.getenv, "OPENBLAS_NUM_THREADS").result(timeout=60)
    assert seen == "1"


def test_rate_and_time_left():
    from genre_tagger.library.progress import clock, rate_and_eta

    assert rate_and_eta(5, 10, 10.0) == (0.5, 10.0)
    assert rate_and_eta(0, 10, 3.0) == (0.0, 0.0)  # unknown yet
    assert clock(125.9) == "2:05"


# -- --set on a folder: a bulk change ---------------------------------------------------


@pytest.fixture()
def tagged_folder(tmp_path):
    """Four files, two of them with a genre already."""
    from genre_tagger.tagstore.write import write_genres

    d = tmp_path / "Music"
    d.mkdir()
    for i, fmt in enumerate(("mp3", "flac", "ogg", "wav")):
        write_audio(d / f"{i} song.{fmt}", fmt, seconds=1.0, seed=i)
    write_genres(d / "0 song.mp3", ["Rock"])
    write_genres(d / "1 song.flac", ["Hip Hop"])
    return d


def _genres(folder: Path) -> dict:
    return {p.name: read_tags(p).genres for p in sorted(folder.iterdir())}


def test_set_on_a_folder_keeps_existing_genres_without_overwrite(tagged_folder, capsys, monkeypatch):
    """`--set Jazz DIR` replaced every file's genre (35 of 40 in the issue) without asking."""
    monkeypatch.setattr(cli, "_interactive", lambda: False)  # a script: nothing to ask
    code, out, err = run(["--set", "Jazz", str(tagged_folder)], capsys)
    assert code == 0, err
    assert _genres(tagged_folder) == {"0 song.mp3": ["Rock"], "1 song.flac": ["Hip Hop"], "2 song.ogg": ["Jazz"], "3 song.wav": ["Jazz"]}
    assert "4 files: 2 set, 0 unchanged, 2 kept (a genre already; --overwrite replaces them), 0 failed" in out
    code, out, err = run(["--set", "Jazz", "--overwrite", "--scan", str(tagged_folder)], capsys)
    assert code == 0 and set(map(tuple, _genres(tagged_folder).values())) == {("Jazz",)}


def test_set_on_a_folder_asks_on_a_terminal(tagged_folder, capsys, monkeypatch):
    asked = []
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    monkeypatch.setattr(cli, "_ask", lambda question, err: asked.append(question) or False)
    before = _snapshot(tagged_folder)
    code, out, err = run(["--set", "Jazz", "--overwrite", str(tagged_folder)], capsys)
    assert asked == ["Set Jazz on 4 files (2 have a genre)? [y/N] "]
    assert code == 2 and "nothing written" in out and _snapshot(tagged_folder) == before  # No is the default
    assert "--dry-run --set Jazz" in err and "--yes" in err  # where to look first
    asked.clear()
    code, out, err = run(["--set", "Jazz", str(tagged_folder)], capsys)
    assert asked == ["Set Jazz on 2 files (2 with a genre kept: --overwrite replaces them)? [y/N] "]
    monkeypatch.setattr(cli, "_ask", lambda question, err: asked.append(question) or True)
    asked.clear()
    code, out, err = run(["--set", "Jazz", "--yes", "--overwrite", str(tagged_folder)], capsys)
    assert asked == [] and code == 0 and set(map(tuple, _genres(tagged_folder).values())) == {("Jazz",)}
    # files named one by one are set as asked (no question, existing genres replaced)
    code, out, err = run(["--set", "Blues", str(tagged_folder / "0 song.mp3")], capsys)
    assert asked == [] and code == 0 and read_tags(tagged_folder / "0 song.mp3").genres == ["Blues"]


def test_dry_run_flags_read_only_files(song, tiny_model_path, capsys):
    wav = song / "song.wav"
    wav.chmod(0o444)
    try:
        code, out, err = run(_scan(tiny_model_path, "--dry-run", "--min-confidence", "0", str(song)), capsys)
    finally:
        wav.chmod(0o644)
    assert code == 0 and "would tag: " in out and "(read-only: the write would fail)" in out
    assert "1 of them read-only (would fail)" in out  # the summary counts them, as the app does


# -- words: one set of status names, plurals, -q alike everywhere -----------------------


def test_status_words_are_the_apps_and_a_kept_genre_is_kept(song, tiny_model_path, capsys):
    """A file that keeps its genre was 'skipped-low-confidence' or 'kept' by confidence, and the
    app called both 'Keeps its genre'; counts read '1 files'."""
    from genre_tagger.tagstore.write import write_genres

    code, out, err = run(_scan(tiny_model_path, "--dry-run", "--min-confidence", "0", str(song)), capsys)
    assert "1 file in " in out and ": 1 will be written" in out
    write_genres(song / "song.wav", ["Polka"])
    for conf in ("0", "1"):  # sure or not: a file with a genre keeps it (without --overwrite)
        code, out, err = run(_scan(tiny_model_path, "--dry-run", "--min-confidence", conf, "--json", "-", str(song)), capsys)
        assert json.loads(out)[0]["status"] == "kept" and ": 1 keeps its genre" in err


def test_undo_says_which_run_it_undid_and_q_is_quiet_everywhere(song, tiny_model_path, capsys):
    wav = str(song / "song.wav")
    code, out, err = run(["--set", "Jazz", wav], capsys)
    assert code == 0 and "run 1 recorded" in out
    code, out, err = run(["--undo"], capsys)
    assert code == 0 and "undid run 1: 1 file restored, 0 failed" in out and "undo run" not in out
    for args in (["--set", "Jazz", "-q", wav], ["--undo", "-q"], _scan(tiny_model_path, "-q", "--min-confidence", "0", str(song)),
                 ["--set", "Blues", "-q", "--dry-run", wav]):  # fmt: skip
        code, out, err = run(args, capsys)
        assert code == 0 and out == "" and err == "", args  # -q: errors only, for --scan, --set and --undo alike


def test_map_of_a_genre_the_model_lacks_is_warned(song, tiny_model_path, capsys):
    code, out, err = run(_scan(tiny_model_path, "--dry-run", "--map", "Hipp-Hop=Rap", "--map", "Rock=Rawk", str(song)), capsys)
    assert code == 0 and "warning: --map Hipp-Hop=Rap: the model has no genre 'Hipp-Hop'" in err and "Hip-Hop" in err
    assert "Rock=Rawk" not in err


def test_version_short_flag_and_help_lists_the_genres(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["-V"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("genre-tagger ")
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "Genres (--vocabulary NAME" in text and "Hip-Hop" in text and "Electronic" in text
    from genre_tagger.listen.model import load_info

    meta = load_info(None, verify_hash=False)  # the bundled model's genres, as its metadata is read elsewhere
    listed = " ".join(text.split("Genres (--vocabulary NAME")[1].split("\n\n")[0].split())
    for v in meta.vocabularies:
        assert f"{v.name}{' (default)' if v.name == meta.default_vocabulary else ''}: {', '.join(v.display)}" in listed
    assert "CNN" not in text and "GTZAN's ten" not in text
    from genre_tagger.listen.model import DEFAULT_MODEL_NAME

    assert cli.BUNDLED_MODEL_NAME == DEFAULT_MODEL_NAME  # --help reads the model the scan uses


# -- canonical genre names -----------------------------------------------------------------


def test_normalize_genres_is_previewed_journaled_and_undone(tagged_folder, capsys, monkeypatch):
    """"Hip Hop", "Hip-Hop" and "Electronica" stayed separate genres (playlists, counts)."""
    from genre_tagger.tagstore.write import write_genres

    write_genres(tagged_folder / "2 song.ogg", ["Electronica", "hiphop"])
    before = _snapshot(tagged_folder)
    code, out, err = run(["--normalize-genres", "--dry-run", str(tagged_folder)], capsys)
    assert code == 0 and _snapshot(tagged_folder) == before  # the preview writes nothing
    assert "would normalize: " in out and "Hip Hop -> Hip-Hop" in out and "Electronica, hiphop -> Electronic, Hip-Hop" in out
    assert "4 files: 2 would be normalized" in out  # Rock is canonical already; the wav has no genre
    asked = []
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    monkeypatch.setattr(cli, "_ask", lambda q, err: asked.append(q) or False)
    code, out, err = run(["--normalize-genres", str(tagged_folder)], capsys)
    assert asked == ["Normalize the genre names of 2 files? [y/N] "] and _snapshot(tagged_folder) == before
    code, out, err = run(["--normalize-genres", "--yes", "--map", "Hip-Hop=Rap", str(tagged_folder)], capsys)
    assert code == 0 and "4 files: 2 normalized, 0 failed" in out and " recorded;" in out
    assert _genres(tagged_folder)["1 song.flac"] == ["Rap"] and _genres(tagged_folder)["2 song.ogg"] == ["Electronic", "Rap"]
    code, out, err = run(["--undo"], capsys)
    assert code == 0 and _snapshot(tagged_folder) == before  # byte for byte


def test_playlists_group_spellings_of_one_genre(tmp_path):
    from genre_tagger.library.playlists import playlists_by_genre
    from genre_tagger.library.scanner import FileResult

    results = [FileResult(tmp_path / f"{i}.mp3", "kept", previous=[g]) for i, g in enumerate(["Hip Hop", "Hip-Hop", "hiphop", "Hip Hop"])]
    results.append(FileResult(tmp_path / "x.mp3", "kept", previous=["Electronica", "Polka"]))
    lists = playlists_by_genre(results)
    assert sorted(lists) == ["Electronica", "Hip Hop", "Polka"]  # one playlist per genre, named by its most common spelling
    assert len(lists["Hip Hop"]) == 4


def test_normalize_genres_normalizes_what_a_file_holds_when_it_changed_after_the_read(tagged_folder, capsys, monkeypatch):
    import mutagen

    from genre_tagger.tagstore.write import WriteRun

    real = WriteRun.apply

    def apply(self, path, *a, **k):  # another program writes into the file between our read and our write
        if path.name == "1 song.flac":
            f = mutagen.File(path)
            f["genre"] = ["RnB"]
            f.save()
        return real(self, path, *a, **k)

    monkeypatch.setattr(WriteRun, "apply", apply)
    code, out, err = run(["--normalize-genres", "--yes", str(tagged_folder)], capsys)
    assert code == 0, err
    assert _genres(tagged_folder)["1 song.flac"] == ["R&B"]  # not the Hip-Hop decided on the Hip Hop it read


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_set_on_a_folder_asks_on_a_real_terminal(tagged_folder):
    """The question and its answer through a pseudo-terminal, as a person sees them."""
    before = _snapshot(tagged_folder)
    master, slave = os.openpty()
    p = subprocess.Popen([sys.executable, "-m", "genre_tagger", "--set", "Jazz", "--overwrite", str(tagged_folder)],
                         cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        seen += os.read(master, 4096)
    os.write(master, b"n\n")
    assert p.wait(timeout=60) == 2
    try:
        while True:
            seen += os.read(master, 4096)
    except OSError:
        pass
    os.close(master)
    text = seen.decode(errors="replace")
    assert "Set Jazz on 4 files (2 have a genre)? [y/N]" in text and "nothing written" in text
    assert _snapshot(tagged_folder) == before
