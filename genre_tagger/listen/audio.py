"""Decode only the parts of an audio file that the model needs.

soundfile (libsndfile) reads wav/flac/ogg/opus/mp3/aiff with exact seeking; PyAV
(bundled FFmpeg, no system ffmpeg) reads m4a/aac/alac/wma and anything soundfile
refuses. Every window comes back mono, float32, at the front-end's sample rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import gcd, lcm
from pathlib import Path

import numpy as np

from ..errors import AudioTooShortError, DecodeError, SilentAudioError
from ..reasons import NOT_AUDIO, cannot_read, first_line

SOUNDFILE_EXTS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc"}
AUDIO_EXTS = SOUNDFILE_EXTS | {".m4a", ".mp4", ".m4b", ".aac", ".alac", ".wma", ".asf"}
SILENCE_PEAK = 1e-4  # every window quieter than this (about -80 dBFS) counts as silence


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds
    n_samples: int  # length of the decoded signal at the target rate (window positions count in these)
    sample_rate: int  # native
    channels: int
    backend: str


Plan = Callable[[int], list[int]]  # track length in target-rate samples -> window start samples
CONTEXT_SECONDS = 0.05  # decoded on each side of a window before resampling, then trimmed off
SEEK_PREROLL_SECONDS = 0.3  # PyAV seeks this much earlier (codec overlap, packet granularity)
# PyAV demuxers whose seeking is used: sample-exact for mp4/mov, mp3 and flac (tests/test_stability.py);
# ASF (wma) has millisecond timestamps, so its windows may sit up to 1 ms off, which is
# far cheaper than decoding a whole WMA file for each track. Others (ogg via PyAV, a rare
# fallback) are decoded whole.
SEEKABLE = {"mp4", "mov", "mp3", "flac", "asf"}


@dataclass(frozen=True)
class _Span:
    """Native samples ``[a0, a1)`` that, resampled, give target samples ``[start, start+length)``
    at ``offset`` into the result. ``a0`` lies on the common grid of the two rates, so the
    result does not depend on where the window was cut (equal to resampling the whole track)."""

    a0: int
    a1: int
    offset: int
    length: int


def _spans(starts: list[int], length: int, n_native: int, sr: int, target: int) -> list[_Span]:
    g = gcd(sr, target)
    step_in, step_out = sr // g, target // g
    ctx = 0 if sr == target else int(CONTEXT_SECONDS * sr)
    out = []
    for s in starts:
        a0 = max(0, ((s * sr) // target - ctx) // step_in * step_in)
        a1 = min(n_native, -(-(s + length) * sr // target) + ctx)
        out.append(_Span(a0, a1, s - a0 // step_in * step_out, length))
    return out


def resample(x: np.ndarray, sr: int, target: int) -> np.ndarray:
    """``x`` at ``sr`` Hz -> float32 at ``target`` Hz (soxr, high quality; ``x`` itself if
    the rates are equal). The one resampler of the app, its tests and fixtures."""
    if sr == target:
        return np.asarray(x, dtype=np.float32)
    import soxr

    return soxr.resample(x, sr, target, quality="HQ").astype(np.float32, copy=False)


def _cut(read: Callable[[int, int], np.ndarray], n_native: int, sr: int, plan: Plan, length: int, target: int) -> list[np.ndarray]:
    """The planned windows at the target rate; ``read(a0, a1)`` = native mono samples ``[a0, a1)``."""
    spans = _spans(plan(n_native * target // sr), length, n_native, sr, target)
    return [resample(read(sp.a0, sp.a1), sr, target)[sp.offset : sp.offset + sp.length] for sp in spans]


@dataclass(frozen=True)
class Request:
    """Windows of ``length`` samples at ``target`` Hz, at the starts ``plan(n)`` returns for a
    track of ``n`` samples at ``target`` Hz (one model input's windows)."""

    plan: Plan
    length: int
    target: int


def _cut_all(read: Callable[[int, int], np.ndarray], n_native: int, sr: int, requests: list[Request]) -> list[list[np.ndarray]]:
    """The windows of every request, each native sample decoded once: one request is cut as
    :func:`_cut` does; with several (e.g. 16 kHz and 32 kHz windows of two front ends), the
    native spans of all windows are merged where they overlap, every merged span is read
    once and resampled once per rate it serves, and each window is sliced out of it. A
    merged span starts on the common grid of every rate, so a window is the same slice of
    the whole track resampled at once, as with :func:`_cut`."""
    if len(requests) == 1:
        r = requests[0]
        return [_cut(read, n_native, sr, r.plan, r.length, r.target)]
    spans = [_spans(r.plan(n_native * r.target // sr), r.length, n_native, sr, r.target) for r in requests]
    grid = lcm(*(sr // gcd(sr, r.target) for r in requests))
    merged: list[list] = []  # [a0, a1, [(request, window), ...]]
    for a0, a1, ri, wi in sorted((sp.a0, sp.a1, ri, wi) for ri, ss in enumerate(spans) for wi, sp in enumerate(ss)):
        if merged and a0 < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], a1)
            merged[-1][2].append((ri, wi))
        else:
            merged.append([a0 // grid * grid, a1, [(ri, wi)]])
    out: list[list[np.ndarray]] = [[np.zeros(0, np.float32)] * len(ss) for ss in spans]
    for a0, a1, members in merged:
        x = read(a0, a1)
        for ri in sorted({m[0] for m in members}):
            r = requests[ri]
            y = resample(x, sr, r.target)
            base = a0 * r.target // sr  # exact: a0 lies on this rate's grid
            for rj, wi in members:
                if rj == ri:
                    sp = spans[ri][wi]
                    s = sp.offset + sp.a0 * r.target // sr - base  # window start inside y
                    out[ri][wi] = y[s : s + sp.length]
    return out


def _read_soundfile(path: Path, requests: list[Request]) -> tuple[AudioInfo, list[list[np.ndarray]]]:
    import soundfile as sf

    # a file object, not the name: libsndfile cannot open some names (e.g. not UTF-8)
    with open(path, "rb") as fobj, sf.SoundFile(fobj) as f:
        sr, n_native = f.samplerate, f.frames
        if n_native <= 0 or sr <= 0:
            raise ValueError("no audio frames")

        def read(a0: int, a1: int) -> np.ndarray:
            f.seek(a0)
            return f.read(a1 - a0, dtype="float32", always_2d=True).mean(axis=1)

        out = _cut_all(read, n_native, sr, requests)
        info = AudioInfo(n_native / sr, n_native * requests[0].target // sr, sr, f.channels, "soundfile")
    return info, out


def _frame_mono(frame) -> np.ndarray:
    """A decoded PyAV frame -> mono float32 (channel mean, as the soundfile path)."""
    a = frame.to_ndarray()
    ch = len(frame.layout.channels)
    if not frame.format.is_planar:
        a = a.reshape(-1, ch).T
    if a.dtype.kind == "i":
        a = a.astype(np.float32) / float(-np.iinfo(a.dtype).min)
    elif a.dtype.kind == "u":  # u8
        a = (a.astype(np.float32) - 128.0) / 128.0
    return a.astype(np.float32, copy=False).mean(axis=0)


class _AvTrack:
    """Sample-exact access to PyAV's decoded signal.

    Sample 0 is the first sample of the first frame decoded from the start of the file.
    After a seek, the first frame is placed by its timestamp (exact where the time base
    is the sample rate, as in mp4 and mp3; within 1 ms in ASF) and the following ones by
    counting samples, never by the seek target. Each read decodes in a freshly opened
    container: decoders are not sample-exact after a seek back to the start (AAC
    priming) or after reaching the end. (AAC's noise substitution still draws from a
    random state that depends on where decoding started: a few noise bands differ.)"""

    def __init__(self, path: Path):
        import av

        self._av, self.path = av, path
        with self._open() as c:
            s = c.streams.audio[0]
            self.sr = int(s.codec_context.sample_rate or s.rate or 0)
            if self.sr <= 0:
                raise ValueError("unknown sample rate")
            self.tb = s.time_base
            self.format = c.format.name
            self.channels = s.codec_context.channels or 0
            self.duration_n = self._length(c, s)
            first = next(c.decode(s), None)
            if first is None or first.pts is None:
                raise ValueError("no decodable audio frames with timestamps")
            self.origin = first.pts

    def _open(self):
        c = self._av.open(str(self.path))
        if not c.streams.audio:
            c.close()
            raise ValueError("no audio stream")
        return c

    def _length(self, c, s) -> int:
        """Native length from the container (0 = unknown)."""
        if s.duration is not None and self.tb is not None:
            return int(round(s.duration * self.tb * self.sr))
        if c.duration is not None:
            return int(c.duration * self.sr // 1_000_000)
        return 0

    def _index(self, frame) -> int:
        return int(round((frame.pts - self.origin) * frame.time_base * self.sr))

    def read(self, a0: int, a1: int) -> np.ndarray:
        """Native mono samples ``[a0, a1)`` (fewer at the end of the stream)."""
        for preroll in (SEEK_PREROLL_SECONDS, 3.0, None):
            with self._open() as c:
                s = c.streams.audio[0]
                if preroll is not None:
                    if a0 / self.sr <= preroll:
                        continue  # near the start: decode from the start instead
                    t = self.origin + int((a0 / self.sr - preroll) / self.tb)
                    c.seek(t, stream=s, backward=True, any_frame=False)
                got = self._collect(c.decode(s), a0, a1, exact_start=preroll is None)
            if got is not None:
                return got
        raise ValueError("cannot seek to the window")

    def _collect(self, frames, a0: int, a1: int, exact_start: bool) -> np.ndarray | None:
        chunks, i = [], None
        for frame in frames:
            if i is None:
                if exact_start:
                    i = 0
                elif frame.pts is None:
                    raise ValueError("frames without timestamps")
                else:
                    i = self._index(frame)
                    if i > a0:
                        return None  # landed after the window start: seek further back
            y = _frame_mono(frame)
            lo, hi = max(a0 - i, 0), min(a1 - i, len(y))
            if hi > lo:
                chunks.append(y[lo:hi])
            i += len(y)
            if i >= a1:
                break
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _read_av(path: Path, requests: list[Request]) -> tuple[AudioInfo, list[list[np.ndarray]]]:
    track = _AvTrack(path)
    sr, n_native = track.sr, track.duration_n
    whole = None
    if n_native <= 0 or not set(track.format.split(",")) & SEEKABLE:  # decode it all once
        whole = track.read(0, 1 << 62)
        n_native = len(whole)
    out = _cut_all(track.read if whole is None else lambda a0, a1: whole[a0:a1], n_native, sr, requests)
    return AudioInfo(n_native / sr, n_native * requests[0].target // sr, sr, track.channels, "pyav"), out


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
        except Exception:  # not readable as MP4: the decoder will say why
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


def _plain(e: Exception) -> tuple[int, str]:
    """A decoder's exception -> (how telling, one plain line). The backends' own texts
    (``Error opening <_io.BufferedReader ...>: Format not recognised.``, ``Invalid data
    found when processing input``) name no cause a user can act on."""
    msg = first_line(e)
    if isinstance(e, MemoryError):
        return 3, "not enough memory to decode the audio"
    if isinstance(e, OSError) and e.strerror and not isinstance(e, ValueError):
        return 2, cannot_read(e)
    if msg == "no audio stream":
        return 2, "the file holds no audio track"
    if msg in ("unknown sample rate", "no decodable audio frames with timestamps") or any(
        t in msg for t in ("not recognised", "Invalid data found", "nknown format")
    ):
        return 0, NOT_AUDIO  # no decoder found audio in it
    return 1, "the audio data is damaged or uses a codec genre-tagger cannot decode"


def read_windows(
    path: str | Path,
    starts_for: Plan,
    length: int,
    target_sr: int,
    min_samples: int,
) -> tuple[AudioInfo, list[np.ndarray]]:
    """Decode windows of ``length`` samples (at ``target_sr``) at the start samples that
    ``starts_for(n)`` returns for a track of ``n`` samples at ``target_sr``.

    Positions are exact samples of the decoded, downmixed, resampled signal, and every
    window equals the same slice of the whole track resampled at once, whichever decoder
    (soundfile or PyAV) read it. Raises :class:`DecodeError` (or a subclass) with the path
    on any failure: not audio, unsupported/DRM codec, unreadable, shorter than
    ``min_samples``, or silent.
    """
    info, windows = read_requests(path, [Request(starts_for, length, target_sr)], min_samples)
    return info, windows[0]


def read_requests(path: str | Path, requests: list[Request], min_samples: int) -> tuple[AudioInfo, list[list[np.ndarray]]]:
    """:func:`read_windows` for several window sets at once (e.g. two front ends at 16 and
    32 kHz) from ONE decode of the file: each request's windows, in order. ``min_samples``,
    the length and silence checks and ``AudioInfo.n_samples`` refer to the first request."""
    if not requests:
        raise ValueError("read_requests: no request")
    path = Path(path)
    first = requests[0]
    target_sr, length, starts_for = first.target, first.length, first.plan
    if not path.is_file():
        raise DecodeError(path, "no such file")
    try:
        if path.stat().st_size == 0:
            raise DecodeError(path, "file is empty (0 bytes)")
    except OSError as e:
        raise DecodeError(path, cannot_read(e)) from e
    check_drm(path)

    def plan(n: int) -> list[int]:
        if n < min_samples:
            raise AudioTooShortError(path, f"audio too short ({n / target_sr:.2f} s < {min_samples / target_sr:.2f} s)")
        return starts_for(n)

    checked = [Request(plan, length, target_sr), *requests[1:]]

    errors = []
    readers = [_read_soundfile, _read_av] if path.suffix.lower() in SOUNDFILE_EXTS else [_read_av]
    for reader in readers:
        try:
            info, all_windows = reader(path, checked)
            break
        except DecodeError:
            raise
        except PermissionError as e:
            raise DecodeError(path, cannot_read(e)) from e
        except Exception as e:  # try the next decoder
            errors.append(_plain(e))
    else:
        raise DecodeError(path, max(errors)[1])
    windows = [w for w in all_windows[0] if len(w) > 0]
    if not windows:
        raise DecodeError(path, "no audio could be decoded")
    got = max(len(w) for w in windows)
    if got < min(min_samples, length) - int(0.05 * target_sr):
        raise AudioTooShortError(path, f"audio too short ({got / target_sr:.2f} s decoded, need {min_samples / target_sr:.2f} s)")
    if max(float(np.max(np.abs(w))) for w in windows) < SILENCE_PEAK:
        raise SilentAudioError(path, "audio is silent")
    return info, [windows] + [[w for w in ws if len(w) > 0] for ws in all_windows[1:]]
