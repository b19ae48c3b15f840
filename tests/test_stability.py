"""Identical audio gives identical model input whatever the container, decoder, file
name or cut: windows sit on exact samples of the decoded 16 kHz signal, and resampling
does not depend on where a window was cut. Synthesized audio only."""

import os

import numpy as np
import pytest
import soundfile as sf
import soxr

from devtools.synth import synth_music, write_audio
from genre_tagger.listen import audio
from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.model import Classifier
from genre_tagger.listen.pipeline import signal_patches, track_patches
from genre_tagger.listen.windows import WindowSpec

FE = FrontendConfig()
WS = WindowSpec(count=5, margin=0.1)
SR = 44100


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("stab")
    y = synth_music(14.0, SR, seed=7)
    files = {fmt: write_audio(d / f"c.{fmt}", fmt, y=y, sr=SR) for fmt in ("wav", "flac", "mp3", "ogg", "opus", "m4a")}
    files["alac"] = write_audio(d / "c_alac.m4a", "alac", y=y, sr=SR)
    return y.astype(np.float32), files


def _by_reader(reader, path):
    planned = []

    def plan(n):
        planned[:] = WS.starts(n)
        return planned

    info, wins = reader(path, [audio.Request(plan, WS.length, FE.sample_rate)])
    return info, planned, wins[0]


def _whole(reader, path) -> np.ndarray:
    """The whole file decoded in one go by the same decoder, resampled in one go."""
    if reader is audio._read_soundfile:
        pcm, sr = sf.read(path, dtype="float32", always_2d=True)
        pcm = pcm.mean(axis=1)
    else:
        track = audio._AvTrack(path)
        pcm, sr = track.read(0, track.duration_n), track.sr
    return soxr.resample(pcm, sr, FE.sample_rate, quality="HQ")


@pytest.mark.parametrize(
    ("name", "reader"),
    [("wav", audio._read_soundfile), ("flac", audio._read_soundfile), ("flac", audio._read_av),
     ("m4a", audio._read_av), ("alac", audio._read_av), ("mp3", audio._read_av)],
)  # fmt: skip
def test_windows_equal_the_whole_track_resampled_at_once(clip, name, reader):
    """Seeking, trimming and resampling per window give exactly the samples of the whole
    decoded track resampled in one go, at the planned positions. (AAC is the exception
    that proves the alignment: its noise substitution draws from a random state that
    depends on where decoding started, so m4a agrees everywhere but in a few noise bands.)"""
    _, files = clip
    whole = _whole(reader, files[name])
    expected = signal_patches(whole, FE, WS)
    info, starts, wins = _by_reader(reader, files[name])
    assert info.n_samples == len(whole) and starts == expected.starts
    got = np.stack(wins)
    want = np.stack([whole[s : s + WS.length] for s in starts])
    if name == "m4a":
        assert np.median(np.abs(got - want)) < 1e-6 and np.abs(got - want).mean() < 1e-3
    else:
        np.testing.assert_allclose(got, want, atol=2e-6)
    tp = track_patches(files[name], FE, WS)
    if tp.backend == ("soundfile" if reader is audio._read_soundfile else "pyav") and name != "m4a":
        np.testing.assert_allclose(tp.patches, expected.patches, atol=1e-4)


@pytest.mark.parametrize(
    ("name", "reader"), [("wav", audio._read_soundfile), ("flac", audio._read_av), ("mp3", audio._read_av)]
)  # fmt: skip
def test_one_decode_for_two_rates_equals_each_rate_resampled_at_once(clip, name, reader):
    """Two window sets at 16 and 32 kHz (musicnn's and mn04's, overlapping) from one decode:
    each window is the slice of the whole track resampled at once to its rate."""
    _, files = clip
    ws2 = WindowSpec(count=3, margin=0.1, length=6 * 32000, sample_rate=32000)
    planned: list[list[int]] = [[], []]

    def plan(k, spec):
        def f(n):
            planned[k][:] = spec.starts(n)
            return planned[k]

        return f

    reqs = [audio.Request(plan(0, WS), WS.length, 16000), audio.Request(plan(1, ws2), ws2.length, 32000)]
    info, wins = reader(files[name], reqs)
    if reader is audio._read_soundfile:
        pcm, sr = sf.read(files[name], dtype="float32", always_2d=True)
        pcm = pcm.mean(axis=1)
    else:
        track = audio._AvTrack(files[name])
        pcm, sr = track.read(0, track.duration_n), track.sr
    for k, (rate, length) in enumerate(((16000, WS.length), (32000, ws2.length))):
        whole = soxr.resample(pcm, sr, rate, quality="HQ")
        assert len(wins[k]) == len(planned[k]) > 1
        for w, s in zip(wins[k], planned[k]):
            np.testing.assert_allclose(w, whole[s : s + length], atol=2e-6)


def test_second_input_through_track_patches(clip):
    """track_patches with a second input: musicnn's patches as without it, mn04's mels
    equal the front end of the 32 kHz windows of the whole track."""
    from genre_tagger.listen.mn_frontend import MnFrontendConfig
    from genre_tagger.listen.pipeline import SecondInput

    _, files = clip
    second = SecondInput(MnFrontendConfig(), WindowSpec(count=2, margin=0.1, length=5 * 32000, sample_rate=32000))
    a = track_patches(files["wav"], FE, WS, second)
    b = track_patches(files["wav"], FE, WS)
    np.testing.assert_allclose(a.patches, b.patches, atol=1e-5)
    pcm, sr = sf.read(files["wav"], dtype="float32", always_2d=True)
    y32 = soxr.resample(pcm.mean(axis=1), sr, 32000, quality="HQ")
    y16 = soxr.resample(pcm.mean(axis=1), sr, 16000, quality="HQ")
    ref = signal_patches(y16, FE, WS, second, y32)
    assert a.mn_mels.shape == (2, 128, second.frames) and a.mn_starts == ref.mn_starts
    np.testing.assert_allclose(a.mn_mels, ref.mn_mels, atol=1e-3)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "ogg", "opus", "m4a"])
def test_lossy_files_decode_to_the_same_windows_with_either_decoder(clip, fmt):
    """Where both decoders read a file, they agree to float precision (the PyAV path
    seeks and trims on exact samples); m4a (PyAV only) lines up with the original."""
    y, files = clip
    info_av, starts_av, wins_av = _by_reader(audio._read_av, files[fmt])
    if fmt != "m4a":
        info_sf, starts_sf, wins_sf = _by_reader(audio._read_soundfile, files[fmt])
        assert info_sf.n_samples == info_av.n_samples and starts_sf == starts_av
        for a, b in zip(wins_sf, wins_av):
            np.testing.assert_allclose(a, b, atol=1e-5)
    whole = soxr.resample(y, SR, FE.sample_rate, quality="HQ")
    assert abs(info_av.n_samples - len(whole)) <= 1
    for w, s in zip(wins_av, starts_av):  # aligned: the codec's error, not a shift
        ref = whole[s : s + WS.length]
        best = min(range(-40, 41), key=lambda k: np.abs(whole[s + k : s + k + WS.length] - w).mean())
        assert best == 0 and np.abs(w - ref).mean() < 0.02, (fmt, best)


def test_a_name_libsndfile_cannot_open_is_still_read_by_soundfile(clip, tmp_path):
    _, files = clip
    odd = tmp_path / os.fsdecode(b"caf\xe9 \xff.flac")  # not UTF-8
    odd.write_bytes(files["flac"].read_bytes())
    a, b = track_patches(odd, FE, WS), track_patches(files["flac"], FE, WS)
    assert a.backend == "soundfile" and np.array_equal(a.patches, b.patches)


@pytest.fixture(scope="module")
def tiny_clf(tiny_model_path):
    return Classifier(tiny_model_path, threads=1)


def test_probabilities_agree_across_containers_and_shifts(clip, tiny_clf, tmp_path):
    y, files = clip
    ref = tiny_clf.classify_file(files["wav"])
    vocab = tiny_clf.meta.default_vocabulary
    top, p0 = ref.ranked(vocab)[0]
    variants = dict(files)
    for ms in (-50, 50):
        n = int(SR * abs(ms) / 1000)
        z = np.concatenate([np.zeros(n, np.float32), y]) if ms > 0 else y[n:]
        variants[f"shift {ms} ms"] = write_audio(tmp_path / f"s{ms}.flac", "flac", y=z, sr=SR)
    dp = {name: abs(tiny_clf.classify_file(p).probs[vocab][top] - p0) for name, p in variants.items()}
    assert dp["flac"] < 1e-5 and dp["alac"] < 1e-5, dp
    assert max(dp.values()) <= 0.05, dp
