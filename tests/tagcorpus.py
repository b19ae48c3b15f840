"""A corpus of tag layouts, built in code byte by byte (independent of genre_tagger's
parsers): what real libraries hold and what broke earlier write paths.

``corpus(folder)`` returns :class:`Case` objects; each names its file, whether a write
must succeed or be refused (and why), and the raw byte strings that must survive it.
"""

from __future__ import annotations

import os
import random
import struct
from dataclasses import dataclass, field
from pathlib import Path

from devtools.synth import _write_av, synth_music, write_audio


@dataclass
class Case:
    name: str
    path: Path
    refuse: str = ""  # a write must be refused with this in the reason ("" = must succeed)
    keep: list[bytes] = field(default_factory=list)  # byte strings that must still be in the file after a write
    tail: int = 0  # the last ``tail`` bytes (audio + ID3v1) must be unchanged


def syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def frame(fid: str, body: bytes, version: int = 3) -> bytes:
    size = syncsafe(len(body)) if version == 4 else len(body).to_bytes(4, "big")
    return fid.encode() + size + b"\0\0" + body


def id3(version: int, frames: list[bytes], padding: int = 0, flags: int = 0) -> bytes:
    body = b"".join(frames) + b"\0" * padding
    return b"ID3" + bytes((version, 0, flags)) + syncsafe(len(body)) + body


def id3v1(title: bytes, genre: int) -> bytes:
    return b"TAG" + title.ljust(30, b"\0") + b"Artist".ljust(30, b"\0") + b"Album".ljust(30, b"\0") + b"1999" + \
        b"keep this v1 comment".ljust(28, b"\0") + b"\0\x05" + bytes((genre,))  # fmt: skip


def _strip_id3(data: bytes) -> bytes:
    if data[:3] == b"ID3":
        n = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
        return data[n:]
    return data


def _mpeg(folder: Path, name: str, sr: int, subtype: str) -> bytes:
    import soundfile as sf

    p = folder / name
    if subtype == "MPEG_LAYER_II":  # libsndfile cannot encode Layer II; PyAV can
        _write_av(p, synth_music(1.0, sr), sr, "mp2", "mp2")
    else:
        sf.write(p, synth_music(1.0, sr), sr, format="MP3", subtype=subtype)
    data = _strip_id3(p.read_bytes())
    p.unlink()
    return data


def _flac_blocks(flac: bytes) -> tuple[list[bytes], int]:
    """A FLAC file's metadata blocks (header with the last-block flag cleared, then the
    body) and the offset of the audio behind them."""
    blocks, pos = [], 4
    while True:
        last, n = flac[pos] & 0x80, int.from_bytes(flac[pos + 1 : pos + 4], "big")
        blocks.append(bytes((flac[pos] & 0x7F,)) + flac[pos + 1 : pos + 4 + n])
        pos += 4 + n
        if last:
            return blocks, pos


def corpus(folder: Path) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    cover = bytes(rng.getrandbits(8) for _ in range(30_000))
    audio = _mpeg(folder, "base.mp3", 22050, "MPEG_LAYER_III")
    cases: list[Case] = []

    def mp3(name: str, data: bytes, refuse: str = "", keep=(), tail: int = 0) -> None:
        p = folder / name
        p.write_bytes(data)
        cases.append(Case(name, p, refuse, list(keep), tail))

    # ID3v2.3 + ID3v1, a numeric genre, a 30 KB cover, Latin-1 text, no padding (the tag must grow)
    v23 = [frame("TIT2", b"\x00Caf\xe9 Latin-1"), frame("TPE1", b"\x01" + "Ärtist".encode("utf-16")),
           frame("TYER", b"\x001999"), frame("COMM", b"\x00eng\x00a comment"),
           frame("APIC", b"\x00image/jpeg\x00\x03\x00" + cover)]  # fmt: skip
    tail = audio + id3v1(b"v1 title", 17)
    mp3("v23_numeric_cover_v1.mp3", id3(3, v23[:2] + [frame("TCON", b"\x00(17)")] + v23[2:]) + tail, keep=v23, tail=len(tail))
    mp3("v23_17rock_padded.mp3", id3(3, [frame("TCON", b"\x00(17)Rock")] + v23[:4], padding=2048) + audio, keep=v23[:4], tail=len(audio))
    mp3("v23_two_numeric.mp3", id3(3, v23[:1] + [frame("TCON", b"\x00(17)(18)")], padding=512) + audio, keep=v23[:1])
    mp3("v23_latin1_genre.mp3", id3(3, [frame("TCON", b"\x00\xc9lectro")] + v23[:1], padding=256) + audio, keep=v23[:1])
    v24 = [frame("TIT2", b"\x03title", 4), frame("TDRC", b"\x032001-02-03", 4),
           frame("APIC", b"\x00image/png\x00\x03\x00" + cover[:5000], 4)]  # fmt: skip
    mp3("v24_plain_number.mp3", id3(4, [frame("TCON", b"\x0317", 4)] + v24, padding=1024) + audio, keep=v24, tail=len(audio))
    # a frame whose size runs past the tag: the tag cannot be accounted for, so no write
    bad = frame("TIT2", b"\x00ok") + b"COMM" + (900_000).to_bytes(4, "big") + b"\0\0" + b"\0eng\0x"
    bad += frame("APIC", b"\0x\0\3\0" + cover[:2000])
    mp3("broken_frame_size.mp3", id3(3, [bad], padding=100) + audio, refuse="ID3 tag partly unreadable")
    mp3("unsynchronised.mp3", id3(3, v23[:2], padding=64, flags=0x80) + audio, refuse="unsynchronisation")
    mp3("leading_zeros.mp3", b"\0" * 4096 + audio, tail=len(audio) + 4096)
    mp3("mpeg25_8khz.mp3", _mpeg(folder, "m25.mp3", 8000, "MPEG_LAYER_III"))
    mp3("layer2.mp3", _mpeg(folder, "l2.mp2", 44100, "MPEG_LAYER_II"))

    # FLAC: a leading ID3 tag; the key spelled "Genre"; a short (corrupt) picture block
    flac = write_audio(folder / "base.flac", "flac", seconds=1.0).read_bytes()
    (folder / "base.flac").unlink()
    lead = id3(3, v23[:1], padding=64)
    mp3("flac_leading_id3.flac", lead + flac, keep=[lead])
    import mutagen.flac

    p = folder / "flac_genre_key.flac"
    p.write_bytes(flac)
    f = mutagen.flac.FLAC(p)
    f.tags[:] = [("TITLE", "t"), ("Genre", "Jazz"), ("ARTIST", "a")]
    f.save()
    cases.append(Case(p.name, p, keep=[b"TITLE=t", b"ARTIST=a"]))
    # STREAMINFO, then a PICTURE block whose content claims more than the block holds
    pic = (3).to_bytes(4, "big") + (100).to_bytes(4, "big") + b"image/"
    si_len = int.from_bytes(flac[5:8], "big")
    short = flac[:4] + bytes((flac[4] & 0x7F,)) + flac[5 : 8 + si_len] + bytes((0x86,)) + len(pic).to_bytes(3, "big") + pic
    blocks, audio = _flac_blocks(flac)  # the blocks after STREAMINFO are dropped, the audio kept
    mp3("flac_short_picture.flac", short + flac[audio:], refuse="cannot read tags", keep=[pic])
    # no comment block at all (one is added)
    kept = [b for b in blocks if b[0] != 4]
    kept[-1] = bytes((kept[-1][0] | 0x80,)) + kept[-1][1:]
    mp3("flac_no_comments.flac", b"fLaC" + b"".join(kept) + flac[audio:], keep=[kept[0][4:]])

    # WAV / AIFF: whole files and truncated ones (a chunk runs past the end)
    for fmt in ("wav", "aiff"):
        data = write_audio(folder / f"base.{fmt}", fmt, seconds=1.0).read_bytes()
        (folder / f"base.{fmt}").unlink()
        mp3(f"whole.{fmt}", data)
        mp3(f"truncated.{fmt}", data[: len(data) - 1000], refuse="truncated")

    # a name of 240 bytes (the longest names leave no room for a longer temporary name)
    long = "L" * 234 + ".flac"
    mp3(long, flac)

    # MP4 with a numeric gnre atom (made from a ©gen one of the same size)
    import mutagen.mp4

    p = folder / "gnre.m4a"
    _write_av(p, synth_music(1.0, 44100), 44100, "aac", "mp4")
    m = mutagen.mp4.MP4(p)
    m.tags = m.tags if m.tags is not None else mutagen.mp4.MP4Tags()
    m["\xa9gen"] = ["XX"]
    m["\xa9nam"] = ["keep title"]
    m.save()
    data = bytearray(p.read_bytes())
    i = data.index(b"\xa9gen")
    data[i : i + 4] = b"gnre"
    d = data.index(b"data", i)
    data[d + 4 : d + 8] = b"\0\0\0\0"  # implicit type: a big-endian number
    data[d + 12 : d + 14] = (18).to_bytes(2, "big")  # ID3v1 genre 17 + 1: Rock
    p.write_bytes(bytes(data))
    cases.append(Case(p.name, p, keep=[b"keep title"]))

    for fmt in ("ogg", "opus", "wma"):
        p = write_audio(folder / f"plain.{fmt}", fmt, seconds=1.0)
        cases.append(Case(p.name, p))
    p = folder / "adts.aac"  # no tag: an APEv2 tag at the end (an ID3v2 tag in front would make mutagen.File fail)
    _write_av(p, synth_music(1.0, 44100), 44100, "aac", "adts")
    audio = p.read_bytes()
    cases.append(Case(p.name, p))
    tagged = folder / "adts_id3.aac"  # an ID3v2 tag another tagger put in front: its genre is written there
    tagged.write_bytes(id3(4, [frame("TIT2", b"\x03keep title\x00", 4)], padding=256) + audio)
    cases.append(Case(tagged.name, tagged, keep=[b"keep title"], tail=len(audio)))
    from genre_tagger.tagstore.rawtags import APE_HAS_HEADER, ape_item, build_ape

    ape = folder / "adts_ape_v1.aac"  # Picard's layout, items around the genre, a binary item, and an ID3v1 tag
    items = [ape_item(b"Artist", b"keep artist"), ape_item(b"GENRE", b"Polka"),
             struct.pack("<II", 5, 2) + b"Cover Art (Front)\0" + b"\xff\xd8\xff\x00\x01"]  # fmt: skip
    ape.write_bytes(audio + build_ape(items, APE_HAS_HEADER) + id3v1(b"v1 title", 17))
    cases.append(Case(ape.name, ape, keep=[items[0], items[2], id3v1(b"v1 title", 17)]))
    for c in cases:
        assert os.path.getsize(c.path) > 0
    return cases
