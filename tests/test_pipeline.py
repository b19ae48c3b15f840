"""One audio -> patches pipeline: the app's Classifier, the trainer's feature extraction
and an in-memory signal all give the same patches."""

import numpy as np
import pytest

from devtools.synth import synth_music, write_audio
from genre_tagger.errors import AudioTooShortError
from genre_tagger.listen.frontend import FrontendConfig
from genre_tagger.listen.model import Classifier
from genre_tagger.listen.pipeline import min_samples, signal_patches, track_patches
from genre_tagger.listen.windows import WindowSpec

FE = FrontendConfig()


def test_file_and_memory_paths_agree_exactly(tmp_path):
    y = synth_music(11.0, FE.sample_rate, seed=3)
    wav = write_audio(tmp_path / "a.wav", "wav", y=y, sr=FE.sample_rate)  # 16 kHz: no resampling
    import soundfile as sf

    pcm, _ = sf.read(wav, dtype="float32")
    ws = WindowSpec(count=6, margin=0.05)
    a, b = track_patches(wav, FE, ws), signal_patches(pcm, FE, ws)
    assert a.starts == b.starts == ws.starts(len(pcm)) and a.n_samples == len(pcm)
    assert np.array_equal(a.patches, b.patches)


def test_app_and_trainer_entry_points_give_the_same_patches(tmp_path, tiny_model_path):
    """The trainer's feature cache (``training.genre.feature_cache``) decodes with
    ``track_patches``: given the model's windows, its patches are the app Classifier's, bit for bit."""
    f = write_audio(tmp_path / "b.mp3", "mp3", seconds=9.0, seed=4)
    clf = Classifier(tiny_model_path, threads=1)
    ws = clf.meta.windows
    app = clf.patches_for_file(f).patches
    assert app.shape == (ws.count, FE.patch_frames, FE.n_mels)
    assert np.array_equal(app, track_patches(f, FE, ws).patches)


def test_tracks_shorter_than_the_minimum_are_refused(tmp_path):
    ws = WindowSpec(min_seconds=5.0)
    assert min_samples(FE, ws) == 5 * FE.sample_rate and min_samples(FE, WindowSpec()) == FE.patch_samples
    f = write_audio(tmp_path / "short.flac", "flac", seconds=4.0)
    with pytest.raises(AudioTooShortError, match="too short") as e:
        track_patches(f, FE, ws)
    assert e.value.path == f
    assert track_patches(f, FE, WindowSpec()).patches.shape[0] == WindowSpec().count
