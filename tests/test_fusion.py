"""The v5 fusion's maths on small generated data: late fusion's folded weights equal the
fitted heads, the evidence mask, and the fusion weights' fit."""

import numpy as np
import pytest

pytest.importorskip("torch")

from training.genre import fusion_experiments as fx  # noqa: E402
from training.genre.model_v5 import fold_fitted  # noqa: E402
from training.genre.sethead import LinearHead, fit_set_head, set_mask, set_nll  # noqa: E402

GENRES = ["rock", "jazz", "rnb"]


def _head(rng, d):
    return LinearHead(GENRES, rng.normal(size=d), rng.uniform(0.5, 2, d), rng.normal(size=(3, d)), rng.normal(size=3))


@pytest.mark.parametrize("late", [True, False])
def test_folded_weights_reproduce_the_fitted_logits(late):
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(7, 5)), rng.normal(size=(7, 4))
    if late:
        fitted = fx.Fitted([_head(rng, 5), _head(rng, 4)], np.array([0.7, 1.3]), 0.5)
        want = fitted.logits([x1, x2])
    else:
        fitted = fx.Fitted([_head(rng, 9)], np.array([0.8]), 0.5)
        want = fitted.logits([np.concatenate([x1, x2], 1)])
    h = fold_fitted("library", GENRES, fitted, d1=5)
    got = x1 @ h.w1.T + x2 @ h.w2.T + h.b
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert h.min_confidence == 0.5


def test_evidence_mask_limits_weak_genres_to_their_own_evidence():
    f = fx.Fusion("t", mn=("music",), evidence=True, mode="late")
    names = fx.feature_names(f)
    m = fx.evidence_mask(GENRES, f)
    assert m.shape == (3, len(names)) and m[0].all() and m[1].all()
    own = {names[i] for i in np.nonzero(m[2])[0]}
    assert own == {"as:226", "as:227", "as:232", "msd:soul", "msd:rnb", "msd:funk"}
    mn_part = fx.evidence_mask(GENRES, f, "mn")
    assert mn_part.shape == (3, 146) and mn_part[2].sum() == 3
    assert fx.evidence_mask(GENRES, fx.Fusion("t", mn=("music",))) is None


def test_fit_weights_beats_equal_weights():
    rng = np.random.default_rng(1)
    n = 200
    y = rng.integers(0, 3, n)
    sets = [frozenset([GENRES[k]]) for k in y]
    informative = np.eye(3)[y] * 3 + rng.normal(0, 1, (n, 3))
    noise = rng.normal(0, 3, (n, 3))
    w = fx.fit_weights([informative, noise], sets, GENRES)
    assert w[0] > w[1]
    import torch

    m = torch.tensor(set_mask(sets, GENRES), dtype=torch.float64)

    def nll(a, b):
        return float(set_nll(torch.tensor(a * informative + b * noise), m).mean())

    assert nll(*w) < nll(1.0, 1.0)


def test_set_head_fits_generated_genres():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 120)
    x = np.eye(3)[y] + rng.normal(0, 0.3, (120, 3))
    h = fit_set_head(x, [frozenset([GENRES[k]]) for k in y], GENRES, c=1.0)
    assert (h.probs(x).argmax(1) == y).mean() > 0.9
