"""The mn04 (EfficientAT, AudioSet) port and its numpy front end against reference outputs.

``../shared/weights/efficientat-mn04/reference_outputs.npz`` holds, for two 10-s synthetic
signals at 32 kHz, what a reference implementation produced at each stage (mel, last
feature map, pooled, hidden, logits). The weights and the reference come from the shared
folder (never committed); without it these tests are skipped, saying why.
"""

from pathlib import Path

import numpy as np
import pytest

from genre_tagger.listen.mn_frontend import MnFrontendConfig, kaldi_mel_filterbank, log_mel

MN04_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "weights" / "efficientat-mn04"
WEIGHTS = MN04_DIR / "mn04_as_mAP_432.pt"
REFERENCE = MN04_DIR / "reference_outputs.npz"
STAGES = ("features_last", "pooled", "hidden", "logits")

needs_shared = pytest.mark.skipif(
    not (WEIGHTS.exists() and REFERENCE.exists()), reason=f"mn04 weights/reference not found in {MN04_DIR} (../shared absent)"
)


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, np.ndarray]]:
    with np.load(REFERENCE) as z:
        out: dict[str, dict[str, np.ndarray]] = {}
        for k in z.files:
            name, stage = k.split("/")
            out.setdefault(name, {})[stage] = z[k]
    assert len(out) >= 2 and all({"wave", "mel", *STAGES} <= set(v) for v in out.values())
    return out


@pytest.fixture(scope="module")
def model():
    torch = pytest.importorskip("torch")
    from training.genre.mn04 import load_mn04

    torch.set_num_threads(1)
    return load_mn04(WEIGHTS)


@needs_shared
def test_frontend_matches_reference_mel(reference):
    for name, r in reference.items():
        mel = log_mel(r["wave"])
        assert mel.shape == r["mel"].shape == (128, 1000), name
        d = np.abs(mel - r["mel"])
        # float32 STFT rounding shows only where the mel power is tiny (ln amplifies it)
        assert d.max() < 5e-4 and d.mean() < 2e-6 and np.percentile(d, 99) < 2e-5, (name, d.max(), d.mean())


@needs_shared
@pytest.mark.parametrize("source", ["reference_mel", "numpy_frontend"])
def test_network_matches_reference(reference, model, source):
    import torch

    for name, r in reference.items():
        mel = r["mel"] if source == "reference_mel" else log_mel(r["wave"])
        with torch.no_grad():
            out = model.forward_features(torch.from_numpy(mel[None]))
        for stage in STAGES:
            got = getattr(out, stage)[0].numpy()
            want = r[stage]
            assert got.shape == want.shape, (name, stage)
            tol = 2e-5 if source == "reference_mel" else 1e-4
            np.testing.assert_allclose(got, want, atol=tol * max(1.0, np.abs(want).max()), rtol=0, err_msg=f"{name}/{stage}")


@needs_shared
def test_head_of_pooled_equals_forward(reference, model):
    import torch

    r = next(iter(reference.values()))
    with torch.no_grad():
        out = model.forward_features(torch.from_numpy(r["mel"][None]))
        hidden, logits = model.head(out.pooled)
    np.testing.assert_allclose(logits.numpy(), out.logits.numpy(), atol=1e-6)
    np.testing.assert_allclose(hidden.numpy(), out.hidden.numpy(), atol=1e-6)


def test_filterbank_shape_and_triangles():
    fb = kaldi_mel_filterbank(32000, 1024, 128, 0.0, 15000.0)
    assert fb.shape == (128, 513)
    assert np.all(fb[:, -1] == 0) and np.all(fb >= 0) and np.all(fb <= 1)
    peaks = fb.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0)  # centres rise with the band index
    top = int(15000 / 32000 * 1024)  # the bin at exactly 15 kHz (the last triangle's right foot)
    assert fb[:, 1:top].any(axis=0).all()  # every bin strictly between 0 and 15 kHz is covered
    assert not fb[:, 0].any() and not fb[:, top:].any()  # DC, 15 kHz and above get weight 0


def test_frames_and_short_input():
    cfg = MnFrontendConfig()
    for n in (514, 640, 641, 32000, 320000):
        mel = log_mel(np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.1, cfg)
        assert mel.shape == (128, cfg.frames(n)), n
        assert np.isfinite(mel).all()
    assert cfg.frames(cfg.samples_for(300)) == 300
    with pytest.raises(ValueError):
        log_mel(np.zeros(513, np.float32))


def test_config_round_trip_and_check():
    cfg = MnFrontendConfig()
    assert MnFrontendConfig.from_dict(cfg.to_dict()) == cfg
    cfg.check(MnFrontendConfig())
    with pytest.raises(ValueError, match="hop_length"):
        cfg.check(MnFrontendConfig(hop_length=160))
    with pytest.raises(ValueError, match="unknown"):
        MnFrontendConfig.from_dict({**cfg.to_dict(), "bogus": 1})
