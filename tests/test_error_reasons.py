"""Decode errors reach the CLI and the GUI as one plain line naming the real cause,
never as backend text (``<_io.BufferedReader name=...>``, ``Format not recognised.``)."""

import pytest

from genre_tagger.audio import read_windows
from genre_tagger.errors import DecodeError
from genre_tagger.synth import write_audio


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
    import genre_tagger.audio as audio

    p = write_audio(tmp_path / "locked.wav", "wav", seconds=2.0)

    def refuse(path, *a):  # as open() does for a file the user may not read (root reads any)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(audio, "_read_soundfile", refuse)
    assert _reason(p) == "cannot read file: permission denied"
