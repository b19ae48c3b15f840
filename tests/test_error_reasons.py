"""Decode and tag-read errors reach the CLI and the GUI as one plain line naming the real
cause, never as backend text (``<_io.BufferedReader name=...>``, ``Format not recognised.``,
``MP4StreamInfoError: not a MP4 file``, ``file said 16777215 bytes, read 48438 bytes``)."""

import pytest

from devtools.synth import write_audio
from genre_tagger.errors import DecodeError, TagError
from genre_tagger.listen.audio import read_windows
from genre_tagger.reasons import DAMAGED, short_reason
from genre_tagger.tagstore.tags import read_tags


def _reason(path) -> str:
    with pytest.raises(DecodeError) as ei:
        read_windows(path, lambda n: [0], 16000, 16000, 16000)
    assert ei.value.path == path
    return str(ei.value.reason if hasattr(ei.value, "reason") else ei.value)


@pytest.mark.parametrize("name", ["notes.mp3", "notes.flac", "notes.m4a", "notes.wma"])
def test_a_text_file_is_not_an_audio_file(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"this is not audio at all\n" * 100)
    r = _reason(p)
    assert "not an audio file, or a format genre-tagger cannot read" in r
    assert "BufferedReader" not in r and "recognised" not in r and "Invalid data" not in r and "\n" not in r


def test_an_empty_file_says_so(tmp_path):
    p = tmp_path / "empty.flac"
    p.write_bytes(b"")
    assert "file is empty" in _reason(p)


def test_a_truncated_file_is_damaged_or_unreadable(tmp_path):
    p = write_audio(tmp_path / "t.flac", "flac", seconds=2.0)
    p.write_bytes(p.read_bytes()[:60])  # the header cut short
    r = _reason(p)
    assert "BufferedReader" not in r and "Error opening" not in r and len(r) < 200


def test_permission_denied_is_named(tmp_path, monkeypatch):
    import genre_tagger.listen.audio as audio

    p = write_audio(tmp_path / "locked.wav", "wav", seconds=2.0)

    def refuse(path, *a):  # as open() does for a file the user may not read (root reads any)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(audio, "_read_soundfile", refuse)
    assert _reason(p) == "cannot read file: permission denied"


# -- tag reading -----------------------------------------------------------------------------


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _bad_header(data: bytes) -> bytes:
    return data[:4] + b"\xff" * 8 + data[12:]  # FLAC: a metadata block "of 16777215 bytes"


@pytest.mark.parametrize(
    "fmt, damage",
    [("m4a", _cut), ("m4a", lambda d: d[:60]), ("flac", _bad_header), ("flac", lambda d: d[:60]), ("ogg", lambda d: d[:60]),
     ("opus", _bad_header), ("wma", lambda d: d[:60])],  # fmt: skip
)
def test_a_damaged_file_cannot_have_its_tags_read_in_plain_words(tmp_path, fmt, damage):
    p = write_audio(tmp_path / f"song.{fmt}", fmt, seconds=2.0)
    p.write_bytes(damage(p.read_bytes()))
    with pytest.raises(TagError) as ei:
        read_tags(p)
    assert ei.value.path == p
    assert ei.value.reason == f"cannot read tags ({DAMAGED})"


def test_a_text_file_named_mp3_has_no_audio_frames(tmp_path):
    p = tmp_path / "notes.mp3"
    p.write_bytes(b"this is not audio at all\n" * 100)
    with pytest.raises(TagError) as ei:
        read_tags(p)
    assert ei.value.reason == "not an MP3 audio file (no audio frames found in it)"


def test_short_reason_names_no_library_class():
    from mutagen.flac import error as FLACError
    from mutagen.mp4 import MP4StreamInfoError

    for e in (MP4StreamInfoError("not a MP4 file"), FLACError("file said 16777215 bytes, read 48438 bytes"), EOFError()):
        assert short_reason(e) == DAMAGED
    assert short_reason(PermissionError(13, "Permission denied", "/x")) == "Permission denied"
    assert short_reason(TagError("/x/a.mp3", "read-only file")) == "read-only file"  # the path is on the line already
    assert short_reason(ValueError("ID3 tag has a footer\nmore")) == "ID3 tag has a footer"
