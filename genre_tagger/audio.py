"""Decode only the parts of an audio file that the model needs.

soundfile (libsndfile) reads wav/flac/ogg/opus/mp3/aiff with exact seeking; PyAV
(bundled FFmpeg, no system ffmpeg) reads m4a/aac/alac/wma and anything soundfile
refuses. Every window comes back mono, float32, at the front-end's sample rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioTooShortError, DecodeError, SilentAudioError

SOUNDFILE_EXTS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc"}
AUDIO_EXTS = SOUNDFILE_EXTS | {".m4a", ".mp4", ".m4b", ".aac", ".alac", ".wma", ".asf"}
SILENCE_PEAK = 1e-4  # every window quieter than this (about -80 dBFS) counts as silence


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds
    sample_rate: int
    channels: int
    backend: str


def _resample(y: np.ndarray, sr: int, target: int) -> np.ndarray:
    if sr == target:
        return y.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(y, sr, target, quality="HQ").astype(np.float32, copy=False)


Plan = Callable[[float], list[float]]  # duration (s; 0 = unknown) -> window starts


def _read_soundfile(path: Path, plan: Plan, length: float, target_sr: int) -> tuple[AudioInfo, list[np.ndarray]]:
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        sr, n_total = f.samplerate, f.frames
        if n_total <= 0 or sr <= 0:
            raise ValueError("no audio frames")
        info = AudioInfo(n_total / sr, sr, f.channels, "soundfile")
        out = []
        for s in _fit(plan(info.duration), length, info.duration):
            f.seek(min(int(round(s * sr)), n_total - 1))
            data = f.read(int(round(length * sr)) + 1, dtype="float32", always_2d=True)
            out.append(_resample(data.mean(axis=1), sr, target_sr))
    return info, out


def _av_duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _read_av(path: Path, plan: Plan, length: float, target_sr: int) -> tuple[AudioInfo, list[np.ndarray]]:
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        duration = _av_duration(container, stream)
        sr = stream.codec_context.sample_rate or stream.rate
        info = AudioInfo(duration, int(sr or 0), stream.codec_context.channels or 0, "pyav")
        need = int(round(length * target_sr)) + 1
        out = []
        for s in _fit(plan(duration), length, duration if duration > 0 else float("inf")):
            if s > 0:
                container.seek(int(s / stream.time_base), stream=stream, backward=True, any_frame=False)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=target_sr)
            chunks: list[np.ndarray] = []
            got, first_t = 0, None
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else None
                for rf in resampler.resample(frame):
                    arr = rf.to_ndarray().reshape(-1)
                    if first_t is None:
                        first_t = t if t is not None else s
                        skip = int(round(max(0.0, s - first_t) * target_sr))
                        arr = arr[skip:]
                    chunks.append(arr)
                    got += len(arr)
                if got >= need:
                    break
            y = np.concatenate(chunks)[:need] if chunks else np.zeros(0, np.float32)
            out.append(y.astype(np.float32, copy=False))
        if duration <= 0 and out:
            info = AudioInfo(len(out[0]) / target_sr, info.sample_rate, info.channels, "pyav")
    return info, out


def _fit(starts: list[float], length: float, duration: float) -> list[float]:
    return [max(0.0, min(s, duration - length)) for s in starts]


_ASF_ENCRYPTION = (
    bytes.fromhex("fbb31122 23bd d211 b4b7 00a0c955fc6e".replace(" ", "")),  # Content Encryption Object
    bytes.fromhex("14e68a29 2226 174c b935 dae07ee9289c".replace(" ", "")),  # Extended Content Encryption
)


def check_drm(path: Path) -> None:
    """Raise DecodeError for DRM-protected (encrypted) MP4 or ASF audio."""
    ext = path.suffix.lower()
    if ext in (".m4a", ".mp4", ".m4b", ".m4p", ".aac", ".alac"):
        try:
            from mutagen.mp4 import MP4

            codec = MP4(str(path)).info.codec
        except Exception:  # noqa: BLE001 - not readable as MP4: the decoder will say why
            return
        if codec in ("drms", "drmi", "enca", "p608"):
            raise DecodeError(path, f"DRM-protected audio ({codec}); cannot be decoded")
    elif ext in (".wma", ".asf"):
        with open(path, "rb") as f:
            head = f.read(24)
            if len(head) < 24:
                return
            size = int.from_bytes(head[16:24], "little")
            header = head + f.read(min(size, 1 << 20) - 24)
        if any(g in header for g in _ASF_ENCRYPTION):
            raise DecodeError(path, "DRM-protected audio (encrypted WMA); cannot be decoded")


def _short(e: Exception) -> str:
    """One short line: no errno prefix, no repeated file name (the caller names the file)."""
    import re

    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    msg = re.sub(r"^\[Errno -?\d+\]\s*", "", msg)
    msg = re.sub(r":\s*'[^']*'$", "", msg)
    return msg[:160]


def read_windows(
    path: str | Path,
    starts_for: Plan,
    length: float,
    target_sr: int,
    min_seconds: float,
) -> tuple[AudioInfo, list[np.ndarray]]:
    """Decode windows of ``length`` s at the starts that ``starts_for(duration)`` returns.

    Raises :class:`DecodeError` (or a subclass) with the path on any failure: not audio,
    unsupported/DRM codec, unreadable, shorter than ``min_seconds``, or silent.
    """
    path = Path(path)
    if not path.is_file():
        raise DecodeError(path, "no such file")
    try:
        if path.stat().st_size == 0:
            raise DecodeError(path, "empty file (0 bytes)")
    except OSError as e:
        raise DecodeError(path, f"cannot read file ({e.strerror})") from e
    check_drm(path)

    def plan(duration: float) -> list[float]:
        if duration and duration < min_seconds:
            raise AudioTooShortError(path, f"audio too short ({duration:.2f} s < {min_seconds:.2f} s)")
        return starts_for(duration)

    errors = []
    readers = [_read_soundfile, _read_av] if path.suffix.lower() in SOUNDFILE_EXTS else [_read_av]
    for reader in readers:
        try:
            info, windows = reader(path, plan, length, target_sr)
            break
        except DecodeError:
            raise
        except PermissionError as e:
            raise DecodeError(path, f"cannot read file ({e.strerror})") from e
        except Exception as e:  # noqa: BLE001 - try the next decoder
            errors.append(_short(e))
    else:
        raise DecodeError(path, "cannot decode audio (" + "; ".join(errors) + ")")
    windows = [w for w in windows if len(w) > 0]
    if not windows:
        raise DecodeError(path, "no audio could be decoded")
    got = max(len(w) for w in windows) / target_sr
    if got < min(min_seconds, length) - 0.05:
        raise AudioTooShortError(path, f"audio too short ({got:.2f} s decoded, need {min_seconds:.2f} s)")
    if max(float(np.max(np.abs(w))) for w in windows) < SILENCE_PEAK:
        raise SilentAudioError(path, "audio is silent")
    return info, windows
