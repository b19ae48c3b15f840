"""Tags that grow at the start of a file, written by moving the audio by whole blocks
(genre_tagger.tagstore.shift; ext4's fallocate insert/collapse range, emulated by rewriting the file
where the test folder cannot do it): only the head is written, the journal can put it
back after a kill at any step, undo is byte-exact, and a file system that refuses gets a
new file instead. Checks compare bytes, never the writer's own parsers."""

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shiftemu

from devtools.synth import write_audio
from genre_tagger.tagstore import shift
from genre_tagger.tagstore.journal import Journal
from genre_tagger.tagstore.recover import _recover_shifted, recover
from genre_tagger.tagstore.tags import read_tags
from genre_tagger.tagstore.undo import undo_run
from genre_tagger.tagstore.write import INPLACE_LIMIT, TAGGED, WriteRun

ROOT = Path(__file__).resolve().parents[1]


# of noise: files over INPLACE_LIMIT (smaller ones are patched whole) whose first tag must grow
# at the start (libsndfile's Opus files have room in their comment header: written in place)
SECONDS = {"mp3": 36, "flac": 5, "ogg": 36}


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    d = tmp_path_factory.mktemp("shift_originals")
    rng = np.random.default_rng(0)
    out = {}
    for fmt, seconds in SECONDS.items():
        out[fmt] = write_audio(d / f"song.{fmt}", fmt, sr=44100, y=(0.2 * rng.standard_normal(seconds * 44100)).astype(np.float32))
        assert out[fmt].stat().st_size > INPLACE_LIMIT + (32 << 10)
    return out


@pytest.fixture
def shifting(tmp_path, monkeypatch):
    return shiftemu.install(tmp_path, monkeypatch.setattr)


def _copy(src: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    return Path(shutil.copy(src, folder / src.name))


def _common_suffix(a: bytes, b: bytes) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[len(a) - 1 - n] == b[len(b) - 1 - n]:
        n += 1
    return n


def _modes(j: Journal) -> list[str]:
    return [w.plan["mode"] for r in sorted(j.runs(), key=lambda r: r.id) for w in sorted(j.writes(r.id), key=lambda w: w.id)]


def _note(j: Journal, write_id: int) -> str:
    return j.db.execute("SELECT note FROM writes WHERE id = ?", (write_id,)).fetchone()[0]


def test_plan_shift_finds_whole_block_moves_and_the_growth_that_makes_one():
    # a new 8192-byte head, then the old file from byte 300 on: grows by 7892, 300 short of two blocks
    s, grow = shift.plan_shift((8192, 300), 4096)
    assert s is None and grow == 300
    s, grow = shift.plan_shift((8492, 300), 4096)
    assert grow == 0 and s == shift.Shift(at=0, delta=8192, head=8492) and s.old_head == 300
    assert shift.plan_shift((9038, 5000), 4096) == (None, 58)
    # the file's first 4200 bytes kept, a new block of 8192 after them: inserted after the first whole block
    s, _ = shift.plan_shift((12392, 4200), 4096)
    assert s == shift.Shift(at=4096, delta=8192, head=12392)
    s, _ = shift.plan_shift((4500, 4500 + 8192), 4096)
    assert s == shift.Shift(at=4096, delta=-8192, head=4500)  # shrinks: two blocks removed after the new head's start
    assert shift.plan_shift(None, 4096) == (None, 0)  # the end is not carried over
    assert shift.plan_shift((0, 0), 4096) == (None, 0)  # nothing moves


@pytest.mark.parametrize("fmt", SECONDS)
def test_a_first_write_moves_the_audio_by_whole_blocks_and_writes_only_the_head(fmt, originals, tmp_path, shifting):
    path = _copy(originals[fmt], tmp_path / "lib")
    original = path.read_bytes()
    j = Journal()
    with WriteRun(j, "first") as run:
        first = run.apply(path, ["Rock", "Pop"])
        written = path.read_bytes()
        second = run.apply(path, ["Jazz"])  # the padding left by the first write: in place
    assert first.status == second.status == TAGGED, (first.error, second.error)
    assert _modes(j) == ["shift", "inplace"]
    grown = len(written) - len(original)
    assert grown > 0 and grown % 4096 == 0  # whole blocks
    assert first.bytes_written <= 64 << 10 and _common_suffix(original, written) >= len(written) - first.bytes_written
    assert _common_suffix(original, written) >= len(original) - 8192  # all but the old head: the same bytes
    assert len(path.read_bytes()) == len(written) and second.bytes_written <= 4096
    assert read_tags(path).genres == ["Jazz"]
    _, results = undo_run(j)  # newest first: the in-place write, then the shift (blocks removed again)
    assert [r.status for r in results] == [TAGGED, TAGGED], [r.error for r in results]
    assert path.read_bytes() == original
    assert _modes(j) == ["shift", "inplace", "inplace", "shift"] and [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_file_system_that_refuses_to_move_blocks_gets_a_new_file(originals, tmp_path, monkeypatch, shifting):
    path = _copy(originals["flac"], tmp_path / "lib")
    original = path.read_bytes()

    def refuse(fd, mode, at, length):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(shift, "_call", refuse)
    monkeypatch.setattr(shift, "_refused", set())
    j = Journal()
    with WriteRun(j, "t") as run:
        res = run.apply(path, ["Rock"])
    assert res.status == TAGGED, res.error
    assert read_tags(path).genres == ["Rock"] and path.read_bytes() != original
    (w_shift, w_new) = sorted(j.writes(j.runs()[0].id), key=lambda w: w.id)
    assert (w_shift.state, w_shift.plan["mode"], w_new.state, w_new.plan["mode"]) == ("failed", "shift", "done", "replace")
    assert "cannot move blocks" in _note(j, w_shift.id)
    _, (r,) = undo_run(j)
    assert r.status == TAGGED and path.read_bytes() == original


def test_an_error_while_writing_the_head_moves_the_audio_back(originals, tmp_path, monkeypatch, shifting):
    import genre_tagger.tagstore.write as writer_mod

    path = _copy(originals["mp3"], tmp_path / "lib")
    original = path.read_bytes()
    real, calls = writer_mod.pwrite_all, []

    def fail_second(fd, data, pos):
        calls.append(pos)
        if len(calls) == 2:
            raise OSError(errno.EIO, "Input/output error")
        real(fd, data, pos)

    monkeypatch.setattr(writer_mod, "pwrite_all", fail_second)
    j = Journal()
    with WriteRun(j, "t") as run:
        res = run.apply(path, ["Rock"])
    assert res.status == "error" and "Input/output error" in res.error and "\n" not in res.error
    assert path.read_bytes() == original
    ((w,),) = [j.writes(r.id) for r in j.runs()]
    assert w.state == "failed" and "original bytes restored" in _note(j, w.id)


def test_ctrl_c_right_after_the_blocks_moved_puts_the_file_back(originals, tmp_path, monkeypatch, shifting):
    """KeyboardInterrupt can arrive as the block move returns, before the head is written:
    the blocks are moved back at once (the file is never left with a hole for a head)."""
    path = _copy(originals["flac"], tmp_path / "lib")
    original = path.read_bytes()
    real = shift.apply

    def then_ctrl_c(fd, m):
        real(fd, m)
        raise KeyboardInterrupt

    monkeypatch.setattr(shift, "apply", then_ctrl_c)
    j = Journal()
    with pytest.raises(KeyboardInterrupt), WriteRun(j, "t") as run:
        run.apply(path, ["Rock"])
    assert path.read_bytes() == original
    (w,) = j.writes(j.runs()[0].id)
    assert w.state == "failed" and "original bytes restored" in _note(j, w.id)


def test_a_move_that_fails_half_way_is_left_alone_not_made_worse(originals, tmp_path, monkeypatch, shifting):
    """ext4 makes the file longer before it moves the extents: a move that fails after that
    leaves the audio where it was in a longer file. The write path sees that the audio is
    not where the move puts it, does nothing more to the file, and recovery leaves it too."""
    path = _copy(originals["mp3"], tmp_path / "lib")
    original = path.read_bytes()

    def longer_only(fd, m):
        os.ftruncate(fd, os.fstat(fd).st_size + m.delta)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shift, "apply", longer_only)
    j = Journal()
    with WriteRun(j, "t") as run:
        res = run.apply(path, ["Rock"])
    assert res.status == "error" and "file system error while moving blocks" in res.error and "left as it is" in res.error
    assert path.read_bytes()[: len(original)] == original  # nothing written over the audio
    (w,) = j.pending_writes()
    recover(j)
    assert _note(j, w.id).startswith("interrupted; the file has changed since") and path.read_bytes()[: len(original)] == original


STEPS = ["journaled", "shifted", "head-half", "patched", "done"]


def _crash(code: str, args: list[str], step: str, data_dir: Path, folder: Path) -> int:
    prelude = (  # the same block moves as in this process: the file system's, or the emulation
        f"import sys\nfrom pathlib import Path\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        f"import shiftemu\nshiftemu.install(Path({str(folder)!r}))\n"
    )
    env = dict(os.environ, GENRE_TAGGER_CRASH_AT=step, GENRE_TAGGER_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", prelude + code, *args], env=env, timeout=60).returncode


WRITE = (
    "from genre_tagger.tagstore.journal import Journal\nfrom genre_tagger.tagstore.write import WriteRun\n"
    "with WriteRun(Journal(), 'crash test') as run:\n    r = run.apply(sys.argv[1], ['Rock', 'Pop'])\n"
    "sys.exit(0 if r.status == 'tagged' else 3)\n"
)
UNDO = (
    "from genre_tagger.tagstore.journal import Journal\nfrom genre_tagger.tagstore.undo import undo_run\n"
    "_, (r,) = undo_run(Journal())\nsys.exit(0 if r.status == 'tagged' else 3)\n"
)


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_each_step_of_a_growing_write_is_recovered_and_undoable(step, originals, tmp_path, _isolated_data_dir, shifting):
    ref = _copy(originals["flac"], tmp_path / "ref")  # the same write without a kill: the expected bytes
    with WriteRun(Journal(tmp_path / "ref.sqlite3"), "reference") as run:
        assert run.apply(ref, ["Rock", "Pop"]).status == TAGGED
    path = _copy(originals["flac"], tmp_path / "lib")
    original, expected = path.read_bytes(), ref.read_bytes()
    assert _crash(WRITE, [str(path)], step, _isolated_data_dir, path.parent) == 86
    j = Journal()
    recover(j)
    data = path.read_bytes()
    assert data in (original, expected)  # never half written, never half moved
    (run,) = j.runs()
    assert run.interrupted and j.pending_writes() == [] and run.changes == (1 if data == expected else 0)
    assert (data == expected) == (step != "journaled")  # once the blocks have moved, recovery completes the write
    if data == expected:
        _, (r,) = undo_run(j)
        assert r.status == TAGGED, r.error
    assert path.read_bytes() == original


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_each_step_of_an_undo_that_removes_blocks_is_recovered(step, originals, tmp_path, _isolated_data_dir, shifting):
    path = _copy(originals["flac"], tmp_path / "lib")  # its head is not empty (an MP3's original is)
    original = path.read_bytes()
    with WriteRun(Journal(), "write") as run:
        assert run.apply(path, ["Rock"]).status == TAGGED
    written = path.read_bytes()
    assert len(written) > len(original)
    assert _crash(UNDO, [], step, _isolated_data_dir, path.parent) == 86
    j = Journal()
    recover(j)
    data = path.read_bytes()
    assert data in (written, original)
    assert (data == original) == (step != "journaled") and j.pending_writes() == []
    if data == written:  # the undo did not happen: it can be done again
        _, (r,) = undo_run(j)
        assert r.status == TAGGED, r.error
    assert path.read_bytes() == original


def _shift_row(path: Path, genres: list[str], j: Journal):
    with WriteRun(j, "t") as run:
        assert run.apply(path, genres).status == TAGGED
    w = j.writes(j.runs()[-1].id)[-1]
    assert w.plan["mode"] == "shift"
    return w


def test_recovery_puts_back_files_left_half_moved_back_or_leaves_files_changed_since(originals, tmp_path, shifting):
    """States a kill can leave while a shifting write is put back after a failure (between
    moving the blocks and writing the head), built by hand: with the blocks moved, recovery
    completes the write (no block move needed); moved back, it writes the original head;
    a file changed since, or whose audio is not where the move puts it, is left alone."""
    j = Journal()
    path = _copy(originals["flac"], tmp_path / "lib")
    original = path.read_bytes()
    grow = _shift_row(path, ["Rock"], j)  # delta > 0
    written = path.read_bytes()
    m = shift.Shift(grow.plan["at"], grow.plan["delta"], grow.plan["head"])

    # grown, and the original head half written back where it lands once the blocks are removed
    fd = os.open(path, os.O_RDWR)
    os.pwrite(fd, grow.old[m.at :][: len(grow.old) // 2], m.at + m.delta)
    os.close(fd)
    assert _recover_shifted(path, grow.plan, grow.old, grow.new) == ("done", "interrupted during the write; the write was completed")
    assert path.read_bytes() == written

    # shrinking (the undo of that write): blocks inserted back, the head not yet written
    path.write_bytes(written)
    undo = dict(grow.plan, at=m.at, delta=-m.delta, head=m.old_head, new_size=len(original), identity=[0, 0, len(written), 0])
    fd = os.open(path, os.O_RDWR)
    shift.collapse(fd, m.at, m.delta)  # the undo's move...
    os.pwrite(fd, grow.old[:1], 0)  # ...a byte of its head...
    shift.insert(fd, m.at, m.delta)  # ...and moved back by its failure handling, killed before the head
    os.close(fd)
    assert path.read_bytes() != written
    assert _recover_shifted(path, undo, grow.new, grow.old)[0] == "failed"
    assert path.read_bytes() == written

    # changed by another program since (same size, another head): left alone
    changed = bytes(b ^ 0xFF for b in written[:100]) + written[100:]
    path.write_bytes(changed)
    assert _recover_shifted(path, grow.plan, grow.old, grow.new)[0] == "unknown"
    assert path.read_bytes() == changed

    # the head torn as by a kill, but the audio after it not where the move puts it (a file
    # system error half-way through the move): left alone, not completed over it
    torn = bytes(m.delta) + written[m.delta : m.head] + bytes(16) + written[m.head + 16 :]
    path.write_bytes(torn)
    assert _recover_shifted(path, grow.plan, grow.old, grow.new)[0] == "unknown"
    assert path.read_bytes() == torn
    path.write_bytes(bytes(m.delta) + written[m.delta :])  # the same torn head, the audio in place: completed
    assert _recover_shifted(path, grow.plan, grow.old, grow.new)[0] == "done"
    assert path.read_bytes() == written


@pytest.mark.skipif(sys.platform != "linux", reason="ext4 is a Linux file system")
def test_on_ext4_the_audio_blocks_are_moved_not_copied(originals, tmp_path, monkeypatch):
    if not shiftemu.real_shift_works(tmp_path):
        pytest.skip("the test folder is not on ext4")
    shiftemu.install(tmp_path, monkeypatch.setattr)
    path = _copy(originals["flac"], tmp_path / "lib")
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    before = _extents(fd)
    os.close(fd)
    with WriteRun(Journal(), "t") as run:
        assert run.apply(path, ["Rock"]).status == TAGGED
    grown = path.stat().st_size - size
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    after = _extents(fd)
    os.close(fd)
    for off in (size // 2, size - 1):  # audio bytes: on the same disk blocks, now ``grown`` bytes further in the file
        assert _physical(after, off + grown) == _physical(before, off)


def _extents(fd: int) -> list[tuple[int, int, int]]:
    """(logical offset, physical offset, length) of each extent (FIEMAP)."""
    import fcntl
    import struct

    n = 32
    req = bytearray(struct.pack("=QQIIII", 0, 2**64 - 1, 1, 0, n, 0) + bytes(56 * n))
    fcntl.ioctl(fd, shift.FS_IOC_FIEMAP, req, True)
    count = struct.unpack_from("=QQIIII", req)[3]
    return [struct.unpack_from("=QQQ", req, 32 + 56 * i) for i in range(count)]


def _physical(extents: list[tuple[int, int, int]], off: int) -> int:
    return next(phys + off - log for log, phys, n in extents if log <= off < log + n)


@pytest.mark.skipif(sys.platform != "linux", reason="ext4 is a Linux file system")
def test_a_fragmented_file_is_not_moved_by_blocks(tmp_path, monkeypatch):
    """More extents than the inode holds: moving them could take several steps of the file
    system's journal, so such a file gets a new file instead."""
    if not shiftemu.real_shift_works(tmp_path):
        pytest.skip("the test folder is not on ext4")
    shiftemu.install(tmp_path, monkeypatch.setattr)
    path = tmp_path / "sparse.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        for i in range(3):
            os.pwrite(fd, b"x" * 4096, i * 65536)
        os.fsync(fd)
        assert shift.extent_count(fd) == 3 and shift.block_size(fd) == os.fstat(fd).st_blksize
        for i in range(3, 6):  # pieces with holes between them: one extent each
            os.pwrite(fd, b"x" * 4096, i * 65536)
        assert shift.extent_count(fd) == 6 and shift.block_size(fd) is None
    finally:
        os.close(fd)


@pytest.mark.skipif(sys.platform != "linux", reason="ext4 is a Linux file system")
def test_a_file_of_four_extents_is_not_moved_a_split_could_need_a_fifth(tmp_path, monkeypatch):
    """ext4's inode holds 4 extents; inserting blocks inside an extent splits it in two: a
    file of 4 extents can need 5 after the move (an extent-tree block, several metadata
    writes), so only files of at most 3 are moved. Shown on the file system itself."""
    if not shiftemu.real_shift_works(tmp_path):
        pytest.skip("the test folder is not on ext4")
    shiftemu.install(tmp_path, monkeypatch.setattr)
    path = tmp_path / "four.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        for i in range(4):  # four pieces with holes between them: one extent each, 2 blocks long
            os.pwrite(fd, b"x" * 8192, i * 65536)
        os.fsync(fd)
        assert shift.extent_count(fd) == 4 and shift.block_size(fd) is None
        shift.insert(fd, 4096, 4096)  # what a move does, inside the first extent: it splits
        assert shift.extent_count(fd) == 5
        os.ftruncate(fd, 0)
        for i in range(3):
            os.pwrite(fd, b"x" * 8192, i * 65536)
        os.fsync(fd)
        assert shift.extent_count(fd) == 3 and shift.block_size(fd) == os.fstat(fd).st_blksize
        shift.insert(fd, 4096, 4096)
        assert shift.extent_count(fd) <= 4  # still in the inode
    finally:
        os.close(fd)


def test_blocks_are_moved_only_on_an_ext4_with_a_journal(tmp_path, monkeypatch):
    """jbd2 lists each journaled ext4 device in /proc/fs/jbd2 as <device>-<inode>; an ext4
    without a journal (no entry) gets a new file, as a power cut there can leave freed
    blocks mapped (nothing orders the inode against the block bitmaps)."""
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        dev = os.fstat(fd).st_dev
    finally:
        os.close(fd)
    try:
        name = os.path.basename(os.readlink(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}"))
    except OSError:
        pytest.skip("no /sys/dev/block entry for the test folder's device")
    jbd2 = tmp_path / "jbd2"
    jbd2.mkdir()
    monkeypatch.setattr(shift, "JBD2", str(jbd2))
    monkeypatch.setattr(shift, "_journal_of_dev", {})
    (jbd2 / "other-8").mkdir()
    assert not shift.has_journal(dev)
    monkeypatch.setattr(shift, "_journal_of_dev", {})
    (jbd2 / f"{name}-8").mkdir()
    assert shift.has_journal(dev)
    if shiftemu.real_shift_works(tmp_path):  # on ext4: the rule decides block_size
        path = tmp_path / "f.bin"
        path.write_bytes(bytes(8192))
        fd = os.open(path, os.O_RDONLY)
        try:
            assert shift.block_size(fd) == os.fstat(fd).st_blksize
            monkeypatch.setattr(shift, "_journal_of_dev", {})
            (jbd2 / f"{name}-8").rmdir()
            assert shift.block_size(fd) is None
        finally:
            os.close(fd)


def test_a_file_another_program_has_open_gets_a_new_file_not_a_block_move(originals, tmp_path, shifting):
    """A player streaming the file would read the audio at moved offsets; a write lease
    that cannot be taken shows the file is open elsewhere: a new file is renamed over it,
    and the player goes on reading the original, whole."""
    path = _copy(originals["flac"], tmp_path / "lib")
    original = path.read_bytes()
    player = os.open(path, os.O_RDONLY)
    try:
        j = Journal()
        with WriteRun(j, "t") as run:
            assert run.apply(path, ["Rock"]).status == TAGGED
        assert _modes(j) == ["replace"]
        assert os.pread(player, len(original) + 1, 0) == original
    finally:
        os.close(player)
    with WriteRun(j, "t") as run:  # nobody has it open now: blocks are moved
        assert run.apply(path, ["Jazz Fusion " * 900]).status == TAGGED
    assert _modes(j)[-1] == "shift"
