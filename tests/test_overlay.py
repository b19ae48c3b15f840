"""Overlay: the segment index (bisection, local merge) gives the same bytes as a plain
bytearray under random reads, writes, moves, splices and truncations."""

from __future__ import annotations

import os
import random

import pytest

from genre_tagger.tagstore.overlay import Overlay, _merge


def _keeps_base_linear(ov: Overlay, start: int, end: int) -> bool:
    return start >= end or any(len(s) == 2 and s[0] <= start and end <= s[0] + s[1] for s in ov.segments)


def _check(ov: Overlay, model: bytearray, rng: random.Random) -> None:
    for _ in range(40):  # keeps_base (bisection over base segments) against the plain definition
        a = rng.randrange(ov.base_size)
        b = a + rng.randrange(1, 3000)
        assert ov.keeps_base(a, b) == _keeps_base_linear(ov, a, b)
    assert ov.size == len(model)
    assert ov.pread(0, ov.size) == bytes(model)
    assert ov.segments == _merge(ov.segments)  # kept merged: the journal sees only real changes


def test_random_edits_match_a_bytearray(tmp_path):
    rng = random.Random(7)
    base = bytes(rng.randrange(256) for _ in range(20000))
    p = tmp_path / "base.bin"
    p.write_bytes(base)
    fd = os.open(p, os.O_RDONLY)
    try:
        ov, model = Overlay(fd, len(base)), bytearray(base)
        for step in range(600):
            op = rng.randrange(5)
            size = len(model)
            if op == 0:  # write (maybe past the end: zeros in between)
                pos = rng.randrange(size + 50)
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
                ov.seek(pos)
                ov.write(data)
                if pos > size:
                    model.extend(b"\0" * (pos - size))
                model[pos : pos + len(data)] = data
            elif op == 1 and size:  # move (mutagen's move_bytes)
                count = rng.randrange(1, min(size, 500) + 1)
                src, dest = rng.randrange(size - count + 1), rng.randrange(size - count + 1)
                chunk = model[src : src + count]
                ov.move(dest, src, count)
                model[dest : dest + count] = chunk
            elif op == 2:  # splice: grow or shrink
                start = rng.randrange(size + 1)
                old = rng.randrange(min(300, size - start) + 1)
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
                ov.splice(start, old, data)
                model[start : start + old] = data
            elif op == 3:  # truncate or extend
                n = rng.randrange(size + 100)
                ov.truncate(n)
                del model[n:]
                model.extend(b"\0" * (n - len(model)))
            else:  # read at a random place
                pos = rng.randrange(size + 1)
                n = rng.randrange(400)
                ov.seek(pos)
                assert ov.read(n) == bytes(model[pos : pos + n])
            if step % 25 == 0:
                _check(ov, model, rng)
        _check(ov, model, rng)
        ov.segments = [(0, 10), (b"abc",), (10, 5)]  # assigned from outside (undo's image): index rebuilt
        assert ov.size == 18 and ov.pread(8, 6) == base[8:10] + b"abc" + base[10:11]
    finally:
        os.close(fd)


def test_ogg_renumber_on_an_overlay_matches_mutagen_and_changes_only_page_headers(tmp_path):
    """A comment that grows by more than a page renumbers every later page: on an overlay
    that is 8 header bytes per page, and the result is the very file mutagen writes."""
    from mutagen.oggvorbis import OggVorbis

    from devtools.synth import write_audio
    from genre_tagger.tagstore.overlay import patch_mutagen

    patch_mutagen()
    src = write_audio(tmp_path / "a.ogg", "ogg", seconds=20, seed=3)
    plain = tmp_path / "plain.ogg"
    plain.write_bytes(src.read_bytes())

    def pad(info):
        return 70000  # more than one 255-lacing-value page can hold: every later page is renumbered

    f = OggVorbis(plain)
    f["genre"] = ["Rock"]
    f.save(padding=pad)  # mutagen on a real file
    want = plain.read_bytes()

    fd = os.open(src, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        ov = Overlay(fd, size)
        g = OggVorbis(ov)
        g["genre"] = ["Rock"]
        g.save(ov, padding=pad)
        assert ov.pread(0, ov.size) == want
        new = sum(len(s[0]) for s in ov.segments if len(s) == 1)
        pages = want.count(b"OggS")
        assert pages > 20
        assert new < 70000 + 8192 + 8 * pages  # the comment pages and 8 bytes a page, not the file
    finally:
        os.close(fd)
    assert src.read_bytes() != want  # the real file untouched


def _ogg_pages(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, bytes) of every page of an Ogg file, split by the tests' own reading of the
    page headers; each page's checksum is checked against a plain CRC-32 (Ogg's polynomial)."""
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        nseg = data[pos + 26]
        n = 27 + nseg + sum(data[pos + 27 : pos + 27 + nseg])
        page = data[pos : pos + n]
        crc = 0
        for byte in page[:22] + b"\0\0\0\0" + page[26:]:
            crc ^= byte << 24
            for _ in range(8):
                crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
        assert page[22:26] == crc.to_bytes(4, "little"), f"bad checksum at {pos}"
        pages.append((pos, page))
        pos += n
    return pages


def test_first_ogg_write_keeps_every_audio_page_byte_for_byte(tmp_path):
    """A comment that grows on a first write (8 KB of padding added) stays in as many pages
    as before (pages of up to 255 lacing values): no later page is renumbered, the audio
    pages are the original bytes, and the new file is the original's tail behind new
    header pages. With mutagen's 4 KB pages every page would change."""
    from devtools.synth import write_audio
    from genre_tagger.tagstore.journal import Journal
    from genre_tagger.tagstore.tags import read_tags
    from genre_tagger.tagstore.undo import undo_run
    from genre_tagger.tagstore.write import TAGGED, WriteRun

    p = write_audio(tmp_path / "a.ogg", "ogg", seconds=20, seed=3)
    before = p.read_bytes()
    old_pages = _ogg_pages(before)
    j = Journal()
    with WriteRun(j, "t") as run:
        res = run.apply(p, ["Rock"])
    assert res.status == TAGGED and read_tags(p).genres == ["Rock"]
    after = p.read_bytes()
    new_pages = _ogg_pages(after)
    assert len(after) > len(before) + 8192 and len(new_pages) == len(old_pages) > 20
    audio = next(i for i, (off, pg) in enumerate(old_pages) if int.from_bytes(pg[6:14], "little", signed=True) > 0)
    assert [pg for _, pg in new_pages[audio:]] == [pg for _, pg in old_pages[audio:]]
    assert after.endswith(before[old_pages[audio][0] :])
    undo_run(j)
    assert p.read_bytes() == before
    j.close()


def test_ogg_payload_regions_are_the_audio_page_bodies_from_a_file_an_overlay_or_memory(tmp_path):
    """The payload walk reads only page headers (pread); the regions are the bodies of the
    pages with a granule position > 0, by the tests' own page split, whatever the source."""
    import io

    from devtools.synth import write_audio
    from genre_tagger.tagstore.payload import payload_digest, payload_regions

    p = write_audio(tmp_path / "a.ogg", "ogg", seconds=10, seed=4)
    data = p.read_bytes()
    want = []
    for off, page in _ogg_pages(data):
        if int.from_bytes(page[6:14], "little", signed=True) > 0:
            body = 27 + page[26]
            want.append((off + body, off + len(page)))
    fd = os.open(p, os.O_RDONLY)
    try:
        with open(p, "rb") as fh:
            assert payload_regions(p, fh, len(data)) == want
        assert payload_regions(p, Overlay(fd, len(data)), len(data)) == want
        assert payload_regions(p, io.BytesIO(data), len(data)) == want
        assert payload_digest(p) == payload_digest(p, io.BytesIO(data), len(data)) == payload_digest(p, Overlay(fd, len(data)), len(data))
    finally:
        os.close(fd)
    assert len(want) > 10


def test_the_ogg_payload_check_skips_the_walk_over_a_tail_carried_over_whole_but_not_a_changed_page(tmp_path):
    """With the offset from which the planned file keeps the old one whole, the walk ends at
    the first page there (one range to the end); an audio page changed before that offset is
    still found, and the write refused."""
    from devtools.synth import write_audio
    from genre_tagger.errors import TagError
    from genre_tagger.tagstore.payload import payload_regions
    from genre_tagger.tagstore.write import _check_payload

    p = write_audio(tmp_path / "a.ogg", "ogg", seconds=10, seed=4)
    data = p.read_bytes()
    pages = list(_ogg_pages(data))
    audio = [off for off, page in pages if int.from_bytes(page[6:14], "little", signed=True) > 0]
    cut = audio[3] - 5  # inside the page before the fourth audio page
    fd = os.open(p, os.O_RDONLY)
    try:
        with open(p, "rb") as fh:
            regions = payload_regions(p, fh, len(data), whole_from=cut)
        assert regions[-1] == (audio[3], len(data)) and len(regions) == 4  # three page bodies walked, then the rest
        ov = Overlay(fd, len(data))
        ov.splice(0, 0, b"")  # nothing changed: proved
        _check_payload(p, ov, len(data))
        changed = Overlay(fd, len(data))  # a byte of the second audio page's body changed
        body = audio[1] + 27 + data[audio[1] + 26] + 10
        changed.splice(body, 1, bytes([data[body] ^ 0xFF]))
        with pytest.raises(TagError, match="audio data would change"):
            _check_payload(p, changed, len(data))
    finally:
        os.close(fd)


def test_ogg_pages_keep_count_round_trips_packets_or_gives_up():
    """Packets laid out in the old number of pages read back as the same packets (pages of
    at most 255 lacing values, continued packets flagged); too much data for that many
    pages, or an old layout that ends inside a packet, gives None (mutagen's layout)."""
    import io

    from mutagen.ogg import OggPage

    from genre_tagger.tagstore.overlay import ogg_pages_keep_count

    rng = random.Random(5)
    laid = 0
    for _ in range(600):
        sizes = [rng.choice([rng.randrange(600), rng.randrange(70000), 255 * rng.randrange(1, 300)]) for _ in range(rng.randint(1, 3))]
        packets = [rng.randbytes(n) for n in sizes]
        old = [OggPage() for _ in range(rng.randint(1, 3))]
        pages = ogg_pages_keep_count(packets, old)
        if pages is None:
            continue
        laid += 1
        assert len(pages) == len(old)
        for i, page in enumerate(pages):
            page.sequence = i
        data = b"".join(OggPage.write(page) for page in pages)
        f = io.BytesIO(data)
        back = [OggPage(f) for _ in pages]
        assert f.tell() == len(data) and all(len(pg.write()) <= 27 + 255 + 255 * 255 for pg in back)
        assert OggPage.to_packets(back, strict=True) == packets
    assert laid > 100
    assert len(ogg_pages_keep_count([b"c" * 8296, b"s" * 3460], [OggPage()])) == 1  # a first write's comment + setup
    assert ogg_pages_keep_count([b"c" * 70000, b"s" * 3460], [OggPage()]) is None  # more than a page holds
    old = [OggPage()]
    old[0].complete = False
    assert ogg_pages_keep_count([b"x" * 10], old) is None


def _random_file(tmp_path, seed: int, size: int) -> tuple[bytes, int]:
    """Random bytes written to a file, and that file opened read-only (the caller closes it)."""
    base = random.Random(seed).randbytes(size)
    p = tmp_path / "base.bin"
    p.write_bytes(base)
    return base, os.open(p, os.O_RDONLY)


def test_patches_are_the_changed_64_byte_blocks_also_in_large_new_segments(tmp_path):
    """Large rewritten regions (diffed with numpy) and small ones (diffed in Python) give
    the same blocks: only the 64-byte blocks that really differ, and applying the patches
    to the base gives the new content."""
    base, fd = _random_file(tmp_path, 3, 300_000)
    try:
        for size, changes in ((200_000, [5, 70_000, 70_001, 70_063, 199_999]), (3000, [0, 64, 2999]), (200_000, [])):
            new = bytearray(base[:size])
            for off in changes:
                new[off] ^= 0xFF
            ov = Overlay(fd, len(base))
            ov.splice(0, size, bytes(new))  # one new-bytes segment over [0, size)
            blocks = sorted({off // 64 * 64 for off in changes})
            want, run = [], None
            for b in blocks:  # consecutive blocks form one range
                if run and run[1] == b:
                    run[1] = b + 64
                else:
                    run = [b, b + 64]
                    want.append(run)
            assert ov.patches() == [(a, bytes(new[a:b])) for a, b in want]
            changed = sum(len(d) for _, d in ov.patches())
            assert ov.patches(limit=changed) is not None and (not blocks or ov.patches(limit=changed - 1) is None)
            patched = bytearray(base)
            for off, data in ov.patches():
                patched[off : off + len(data)] = data
            assert bytes(patched) == ov.pread(0, ov.size)
    finally:
        os.close(fd)


def test_patches_gives_up_on_a_shifted_file_without_diffing_it_but_diffs_a_short_shift(tmp_path, monkeypatch):
    """A tag that grows in front of the audio shifts the rest of the file: more shifted bytes
    than the limit allows means a new file, decided from the segments alone; a shift
    shorter than the limit is still diffed (and may be written in place)."""
    import genre_tagger.tagstore.overlay as overlay_mod

    calls = []
    real_diff = overlay_mod._diff
    monkeypatch.setattr(overlay_mod, "_diff", lambda *a: calls.append(1) or real_diff(*a))
    base, fd = _random_file(tmp_path, 8, 2 << 20)
    try:
        ov = Overlay(fd, len(base))
        ov.splice(100, 0, b"t" * 8192)  # 8 KiB inserted near the start: 2 MiB shifted
        assert ov.patches(256 << 10) is None and calls == []
        ov = Overlay(fd, len(base))
        ov.splice(len(base) - 50_000, 0, b"t" * 100)  # 50 KB shifted: within the limit, diffed
        got = ov.patches(256 << 10)
        assert calls and got is not None
        patched = bytearray(base) + bytes(100)
        for off, data in got:
            patched[off : off + len(data)] = data
        assert bytes(patched) == ov.pread(0, ov.size)
    finally:
        os.close(fd)


def test_copy_to_writes_the_content_of_a_fragmented_overlay(tmp_path, monkeypatch):
    """Long base ranges are copied by the kernel, short ones and new bytes gathered in
    memory (an Ogg file renumbered: 8 new bytes every few KiB): the same bytes either way,
    also where copy_file_range is missing or refused."""
    import genre_tagger.tagstore.overlay as overlay_mod

    rng = random.Random(5)
    base, fd = _random_file(tmp_path, 5, 3_000_000)
    try:
        ov = Overlay(fd, len(base))
        edits, pos = [], 100
        while pos < 2_500_000:  # 8-byte changes every 1-6 KiB, then an untouched 500 KB tail
            edits.append((pos, rng.randbytes(8)))
            pos += rng.randrange(1000, 6000)
        ov.put_many(edits)
        ov.splice(0, 10, b"a longer header than before")
        ov.splice(ov.size, 0, b"and new bytes at the end")
        want = ov.pread(0, ov.size)
        for refuse in (False, True):
            if refuse:
                monkeypatch.setattr(overlay_mod.os, "copy_file_range", lambda *a: (_ for _ in ()).throw(OSError(18, "EXDEV")))
            out = tmp_path / f"out{refuse}.bin"
            ofd = os.open(out, os.O_RDWR | os.O_CREAT)
            try:
                ov.copy_to(ofd)
            finally:
                os.close(ofd)
            assert out.read_bytes() == want
    finally:
        os.close(fd)


def test_pread_ranges_gives_each_ranges_bytes_with_few_reads(tmp_path, monkeypatch):
    import genre_tagger.tagstore.overlay as overlay_mod

    base, fd = _random_file(tmp_path, 9, 4_000_000)
    calls = []
    real = overlay_mod.pread
    monkeypatch.setattr(overlay_mod, "pread", lambda *a: calls.append(a) or real(*a))
    try:
        rng = random.Random(9)
        pages = [(off, 8) for off in range(100, 3_000_000, 4000)]  # ascending, small gaps: a few large reads
        assert overlay_mod.pread_ranges(fd, pages) == [base[o : o + n] for o, n in pages]
        assert len(calls) <= 4
        mixed = [(rng.randrange(4_000_000), rng.randrange(0, 200_000)) for _ in range(300)]  # any order, overlapping
        mixed += [(3_999_990, 50), (5_000_000, 10)]  # past the end: short, as pread
        assert overlay_mod.pread_ranges(fd, mixed) == [base[o : o + n] for o, n in mixed]
    finally:
        os.close(fd)


def test_tail_is_where_the_base_end_is_carried_over_as_one_piece(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(bytes(range(256)) * 40)
    fd = os.open(p, os.O_RDONLY)
    try:
        ov = Overlay(fd, 10240)
        assert ov.tail() == (0, 0)  # untouched: the whole base, in place
        ov.splice(0, 300, b"x" * 8192)  # a new head of 8192 bytes instead of the first 300
        assert ov.tail() == (8192, 300)
        ov.splice(ov.size - 1, 1, b"y")  # the last byte changed: the end is not the base's
        assert ov.tail() is None
    finally:
        os.close(fd)
