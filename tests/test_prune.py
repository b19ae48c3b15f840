"""Dead-filter pruning of musicnn keeps the tagger's outputs."""

import numpy as np
import pytest
import torch

from training.genre.musicnn import Musicnn, load_pretrained
from training.genre.musicnn_reference import reference_patches
from training.genre.prune import PrunedMusicnn, fidelity


def _random_musicnn(seed: int) -> Musicnn:
    torch.manual_seed(seed)
    m = Musicnn()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.2, 2.0)
                mod.weight.uniform_(-1.5, 1.5)  # negative scales too: max must not commute with BN
                mod.bias.uniform_(-0.5, 0.5)
        for conv in [m.timbral74, m.timbral77, *m.temporal]:
            dead = torch.rand(conv.out_channels) < 0.8
            conv.weight[dead] = 0.0
            conv.bias.uniform_(-0.3, 0.3)  # dead filters still output a (bias-driven) constant
    return m.eval()


@pytest.mark.parametrize("frames", [187, 40])
def test_pruning_zeroed_filters_is_exact(frames):
    full = _random_musicnn(0)
    pruned = PrunedMusicnn(full).eval()
    s = pruned.summary()
    assert s["front_filters_live"] < 0.4 * s["front_filters_total"]
    x = torch.rand(3, frames, 96) * 4
    with torch.no_grad():
        a, b = full.forward_features(x), pruned.forward_features(x)
    torch.testing.assert_close(b.logits, a.logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(b.embedding, a.embedding, atol=1e-4, rtol=1e-4)


def test_pruning_live_filters_would_change_the_output():
    full = _random_musicnn(1)
    lossy = PrunedMusicnn(full, tol=0.08)  # drops live filters too: the checks above can fail
    x = torch.rand(2, 187, 96) * 4
    with torch.no_grad():
        assert (full(x) - lossy(x)).abs().max() > 1e-2
    with pytest.raises(ValueError, match="nothing left"):
        PrunedMusicnn(full, tol=1e9)


def test_pruned_msd_musicnn_matches_the_port(musicnn_weights):
    full = load_pretrained("MSD_musicnn", musicnn_weights)
    pruned = PrunedMusicnn(full).eval()
    assert pruned.summary()["front_filters_live"] == 64  # of 561: the rest have |w| < 1e-6
    x = np.concatenate([reference_patches(), np.random.default_rng(0).uniform(0, 4, (2, 187, 96)).astype(np.float32)])
    res = fidelity(full, pruned, x)
    assert res["max_abs_diff_tag_logits"] < 1e-4
    assert res["max_abs_diff_embedding"] < 1e-4
    assert res["top_tag_agreement"] == 1.0
