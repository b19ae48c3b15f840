"""Generate small synthetic music files in every supported format.

Used by the tests, the benchmark and the screenshot scripts (no real music is ever
committed). soundfile writes wav/flac/aiff/ogg/opus/mp3; PyAV writes m4a (AAC, ALAC)
and wma.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genre_tagger.listen.audio import resample

FORMATS = ("wav", "flac", "aiff", "ogg", "opus", "mp3", "m4a", "alac", "wma")
EXTENSION = {"alac": "m4a"}


def synth_music(seconds: float, sr: int = 22050, seed: int = 0, channels: int = 1) -> np.ndarray:
    """A few seconds of chords, bass and drum-like noise bursts; ``[n]`` or ``[n, ch]`` float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    y = np.zeros(n)
    beat = 60 / rng.uniform(80, 140)
    for k, ratio in enumerate((1.0, 1.26, 1.5, 2.0)):
        y += 0.12 / (k + 1) * np.sin(2 * np.pi * root * ratio * t + rng.uniform(0, 6))
    y += 0.2 * np.sin(2 * np.pi * root / 2 * t) * (0.5 + 0.5 * np.sign(np.sin(2 * np.pi * t / beat)))
    env = np.exp(-((t % beat) / 0.05))
    y += 0.25 * env * rng.normal(0, 1, n)
    y = (0.8 * y / max(1e-9, np.abs(y).max())).astype(np.float32)
    if channels > 1:
        y = np.stack([y * (1 - 0.1 * c) for c in range(channels)], axis=1)
    return y


def _write_av(path: Path, y: np.ndarray, sr: int, codec: str, container: str) -> None:
    import av

    mono = y if y.ndim == 1 else y.mean(axis=1)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=sr)
        stream.layout = "mono"
        if codec in ("wmav2", "aac"):
            stream.bit_rate = 128000
        fmt = stream.codec_context.codec.audio_formats[0].name if stream.codec_context.codec.audio_formats else "fltp"
        pcm = (mono * 32767).astype(np.int16) if fmt.startswith("s16") else mono.astype(np.float32)
        if fmt.startswith("s32"):
            pcm = (mono * 2147483000).astype(np.int32)
        frame_size = stream.codec_context.frame_size or 1024
        for i in range(0, len(pcm), frame_size):
            chunk = pcm[i : i + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=fmt, layout="mono")
            frame.sample_rate = sr
            frame.pts = i
            for pkt in stream.encode(frame):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)


def write_audio(path: str | Path, fmt: str, seconds: float = 4.0, sr: int = 22050, seed: int = 0, y: np.ndarray | None = None) -> Path:
    """Write synthetic (or the given) audio as ``fmt`` to ``path``; returns the path."""
    import soundfile as sf

    path = Path(path)
    y = synth_music(seconds, sr, seed) if y is None else y
    if fmt == "wav":
        sf.write(path, y, sr, format="WAV", subtype="PCM_16")
    elif fmt == "flac":
        sf.write(path, y, sr, format="FLAC", subtype="PCM_16")
    elif fmt == "aiff":
        sf.write(path, y, sr, format="AIFF", subtype="PCM_16")
    elif fmt == "ogg":
        with sf.SoundFile(path, "w", sr, 1 if y.ndim == 1 else y.shape[1], format="OGG", subtype="VORBIS") as f:
            for i in range(0, len(y), sr):  # one big Vorbis write can crash libsndfile
                f.write(y[i : i + sr])
    elif fmt == "opus":
        y48 = resample(y, sr, 48000)
        with sf.SoundFile(path, "w", 48000, 1 if y.ndim == 1 else y.shape[1], format="OGG", subtype="OPUS") as f:
            for i in range(0, len(y48), 48000):
                f.write(y48[i : i + 48000])
    elif fmt == "mp3":
        sf.write(path, y, sr, format="MP3", subtype="MPEG_LAYER_III")
    elif fmt == "m4a":
        _write_av(path, resample(y, sr, 44100), 44100, "aac", "mp4")
    elif fmt == "alac":
        _write_av(path, y, sr, "alac", "ipod")
    elif fmt == "wma":
        _write_av(path, resample(y, sr, 44100), 44100, "wmav2", "asf")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return path


def write_library(folder: str | Path, n: int, seconds: float = 6.0, formats=FORMATS, seed: int = 0) -> list[Path]:
    """``n`` files cycling through ``formats`` in ``folder`` (nested in a few sub-folders)."""
    folder = Path(folder)
    out = []
    for i in range(n):
        fmt = formats[i % len(formats)]
        sub = folder / f"Artist {i % 3}" / f"Album {i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        out.append(write_audio(sub / f"{i:03d} Track.{EXTENSION.get(fmt, fmt)}", fmt, seconds, seed=seed + i))
    return out
