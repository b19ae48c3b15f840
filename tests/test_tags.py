"""Shared round-trip tests for every format: genre written and read back, audio payload
byte-identical, every other tag unchanged (checked on the file's bytes), and safety."""

import os
import shutil

import pytest

from devtools.synth import EXTENSION, FORMATS, write_audio
from genre_tagger.errors import TagError
from genre_tagger.tagstore.payload import payload_digest
from genre_tagger.tagstore.tags import TagOptions, read_tags
from genre_tagger.tagstore.write import write_genres


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    d = tmp_path_factory.mktemp("orig")
    return {f: write_audio(d / f"x.{EXTENSION.get(f, f)}" if f != "alac" else d / "alac.m4a", f, seconds=2.0) for f in FORMATS}


def _with_other_tags(path, id3_version=4):
    """Give the file artist/title/album (album artist, track and disc numbers too) and an
    unrelated tag, as a real library has."""
    import mutagen
    from mutagen.id3 import COMM, TALB, TIT2, TPE1, TPE2, TPOS, TRCK

    f = mutagen.File(str(path))
    if f.tags is None:
        f.add_tags()
    name = type(f).__name__
    if name in ("MP3", "WAVE", "AIFF"):
        f.tags.add(TPE1(encoding=3, text=["Artïst"]))
        f.tags.add(TIT2(encoding=3, text=["Títle"]))
        f.tags.add(TALB(encoding=3, text=["Album"]))
        f.tags.add(COMM(encoding=3, lang="eng", desc="", text=["keep me"]))
        f.tags.add(TPE2(encoding=3, text=["Àlbum Artist"]))
        f.tags.add(TRCK(encoding=3, text=["3/12"]))
        f.tags.add(TPOS(encoding=3, text=["2/2"]))
        f.save(v2_version=id3_version)
        return
    elif name in ("FLAC", "OggVorbis", "OggOpus"):
        f["artist"], f["title"], f["album"], f["comment"] = ["Artïst"], ["Títle"], ["Album"], ["keep me"]
        f["albumartist"], f["tracknumber"], f["discnumber"] = ["Àlbum Artist"], ["3/12"], ["2"]
    elif name == "MP4":
        f.tags["\xa9ART"], f.tags["\xa9nam"], f.tags["\xa9alb"], f.tags["\xa9cmt"] = ["Artïst"], ["Títle"], ["Album"], ["keep me"]
        f.tags["aART"], f.tags["trkn"], f.tags["disk"] = ["Àlbum Artist"], [(3, 12)], [(2, 2)]
    elif name == "ASF":
        f.tags["Author"], f.tags["Title"], f.tags["WM/AlbumTitle"], f.tags["Description"] = ["Artïst"], ["Títle"], ["Album"], ["keep me"]
        f.tags["WM/AlbumArtist"], f.tags["WM/TrackNumber"], f.tags["WM/PartOfSet"] = ["Àlbum Artist"], ["3"], ["2"]
    f.save()


CASES = [(f, 4) for f in FORMATS] + [(f, 3) for f in ("mp3", "wav", "aiff")]  # ID3v2.3 only for ID3 formats


def _mutagen_view(path):
    """mutagen's own reading of every tag but the genre (an independent parser)."""
    import mutagen

    f = mutagen.File(str(path))
    skip = {"tcon", "genre", "\xa9gen", "wm/genre"}
    items = f.tags.items() if hasattr(f.tags, "items") else list(f.tags or [])
    return sorted((str(k), repr(v)) for k, v in items if str(k).split(":")[0].lower() not in skip)


@pytest.mark.parametrize(("fmt", "id3_version"), CASES)
def test_round_trip_keeps_audio_and_other_tags(fmt, id3_version, originals, tmp_path):
    path = tmp_path / originals[fmt].name
    shutil.copy(originals[fmt], path)
    opts = TagOptions(id3_version=id3_version)
    _with_other_tags(path, id3_version)
    original = path.read_bytes()
    digest = payload_digest(path)
    others = _mutagen_view(path)

    assert read_tags(path, opts).genres == []
    assert write_genres(path, ["Rock", "Hip-Hop"], opts) == ["Rock", "Hip-Hop"]
    t = read_tags(path, opts)
    assert t.genres == ["Rock", "Hip-Hop"]
    assert (t.artist, t.title, t.album) == ("Artïst", "Títle", "Album")
    assert t.album_artist == "Àlbum Artist" and t.track_number.split("/")[0] == "3" and t.disc_number.split("/")[0] == "2"
    assert payload_digest(path) == digest
    assert _mutagen_view(path) == others
    grown = path.read_bytes()

    write_genres(path, ["Jazz"], opts)  # fits the padding the first write added: in place, same size
    assert read_tags(path, opts).genres == ["Jazz"]
    assert len(path.read_bytes()) == len(grown)
    write_genres(path, [], opts)
    assert read_tags(path, opts).genres == []
    assert payload_digest(path) == digest
    # byte check, independent of any parser: undoing the three writes gives the original file back
    from genre_tagger.tagstore.journal import Journal
    from genre_tagger.tagstore.undo import undo_run

    j = Journal()
    for _ in range(3):
        _, res = undo_run(j, options=opts)
        assert [r.status for r in res] == ["tagged"], [r.error for r in res]
    assert path.read_bytes() == original
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_existing_id3_version_is_kept(originals, tmp_path):
    from mutagen.id3 import ID3

    path = tmp_path / "v23.mp3"
    shutil.copy(originals["mp3"], path)
    write_genres(path, ["Rock"], TagOptions(id3_version=3))
    write_genres(path, ["Pop"], TagOptions(id3_version=4))
    assert ID3(str(path)).version[1] == 3 and read_tags(path).genres == ["Pop"]


def test_id3v23_separator_is_configurable(originals, tmp_path):
    path = tmp_path / "a.mp3"
    shutil.copy(originals["mp3"], path)
    opts = TagOptions(id3_version=3, id3v23_separator=" / ")
    write_genres(path, ["Rock", "Pop"], opts)
    from mutagen.id3 import ID3

    assert ID3(str(path)).version[1] == 3
    assert ID3(str(path))["TCON"].text == ["Rock / Pop"]
    assert read_tags(path, opts).genres == ["Rock", "Pop"]


def test_read_only_file_is_refused_and_untouched(originals, tmp_path):
    path = tmp_path / "ro.flac"
    shutil.copy(originals["flac"], path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    with pytest.raises(TagError, match="read-only"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == before


def test_failed_write_leaves_original_and_no_temp(originals, tmp_path, monkeypatch, no_shift):
    path = tmp_path / "crash.ogg"
    shutil.copy(originals["ogg"], path)
    before = path.read_bytes()
    import genre_tagger.tagstore.overlay as overlay_mod

    def boom(self, fd):
        raise OSError(28, "No space left on device")

    import genre_tagger.tagstore.write as writer_mod

    monkeypatch.setattr(writer_mod, "INPLACE_LIMIT", 0)  # a new file, whatever the size
    monkeypatch.setattr(overlay_mod.Overlay, "copy_to", boom)  # the new file cannot be written
    with pytest.raises(TagError, match="No space left"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["crash.ogg"]


def test_failed_in_place_write_puts_the_original_bytes_back(originals, tmp_path, monkeypatch):
    path = tmp_path / "crash.wav"
    shutil.copy(originals["wav"], path)
    before = path.read_bytes()
    import genre_tagger.tagstore.write as writer_mod

    real, calls = writer_mod.pwrite_all, []

    def fails_second_time(fd, data, off):
        calls.append(off)
        if len(calls) == 2:
            real(fd, data[: len(data) // 2], off)  # half of the header range reaches the file
            raise OSError(5, "Input/output error")
        real(fd, data, off)

    system_pwrite = os.pwrite

    def short_pwrite(fd, data, off):  # the system writes at most 3 bytes per call
        return system_pwrite(fd, bytes(data[:3]), off)

    monkeypatch.setattr(os, "pwrite", short_pwrite)  # every write loop must notice short writes
    import genre_tagger.tagstore.steps as steps_mod

    monkeypatch.setattr(writer_mod, "pwrite_all", fails_second_time)  # the chunk is appended, then the header fails
    monkeypatch.setattr(steps_mod, "pwrite_all", fails_second_time)  # (putting the original bytes back)
    with pytest.raises(TagError, match="Input/output error"):
        write_genres(path, ["Rock"])
    assert len(calls) == 3 and path.read_bytes() == before  # the third: the original bytes put back, in full


def test_payload_change_is_detected_and_not_written(originals, tmp_path, monkeypatch):
    path = tmp_path / "p.wav"
    shutil.copy(originals["wav"], path)
    before = path.read_bytes()
    import genre_tagger.tagstore.write as writer_mod

    real = writer_mod.payload_digest
    calls = []

    def fake(*a):
        calls.append(a)
        return real(*a) if len(calls) == 1 else "different"

    monkeypatch.setattr(writer_mod, "payload_regions", lambda *a: [])  # no proof from the plan: compare digests
    monkeypatch.setattr(writer_mod, "payload_digest", fake)
    with pytest.raises(TagError, match="audio data would change"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == before


def test_symlink_is_written_through(originals, tmp_path):
    real = tmp_path / "real.flac"
    shutil.copy(originals["flac"], real)
    link = tmp_path / "link.flac"
    link.symlink_to(real)
    write_genres(link, ["Blues"])
    assert link.is_symlink() and read_tags(real).genres == ["Blues"]


def test_keep_mtime(originals, tmp_path):
    path = tmp_path / "m.mp3"
    shutil.copy(originals["mp3"], path)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    write_genres(path, ["Rock"], TagOptions(keep_mtime=True))
    assert int(path.stat().st_mtime) == 1_000_000_000
    write_genres(path, ["Pop"])
    assert int(path.stat().st_mtime) != 1_000_000_000


def test_not_audio_is_a_tag_error(tmp_path):
    p = tmp_path / "x.mp3"
    p.write_bytes(os.urandom(2000))
    with pytest.raises(TagError):
        read_tags(p)
