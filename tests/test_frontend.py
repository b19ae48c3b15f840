import numpy as np
import pytest

from genre_tagger.listen.frontend import FrontendConfig, log_mel, patch_from_window, patches_from_windows


def test_log_mel_matches_librosa():
    librosa = pytest.importorskip("librosa")
    cfg = FrontendConfig()
    y = np.random.default_rng(0).normal(0, 0.1, cfg.patch_samples).astype(np.float32)
    ours = log_mel(y, cfg)
    S = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels, pad_mode="reflect"
    ).T
    np.testing.assert_allclose(ours, np.log10(cfg.log_multiplier * S + 1), atol=1e-4)


def test_patch_shape_and_repeat_padding():
    cfg = FrontendConfig()
    short = np.sin(np.arange(cfg.patch_samples // 3) / 7).astype(np.float32)
    p = patch_from_window(short, cfg)
    assert p.shape == (cfg.patch_frames, cfg.n_mels) and p.dtype == np.float32
    assert patches_from_windows([short, short], cfg).shape == (2, cfg.patch_frames, cfg.n_mels)


def test_check_names_every_difference():
    app = FrontendConfig()
    with pytest.raises(ValueError, match="n_mels.*hop_length|hop_length.*n_mels"):
        app.check(FrontendConfig(n_mels=128, hop_length=512))
    app.check(FrontendConfig())  # identical: no error


def test_from_dict_refuses_unknown_parameters():
    d = FrontendConfig().to_dict()
    assert FrontendConfig.from_dict(d) == FrontendConfig()
    d["top_db"] = 80
    with pytest.raises(ValueError, match="top_db"):
        FrontendConfig.from_dict(d)
