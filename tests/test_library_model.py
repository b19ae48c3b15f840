"""The set-valued genre heads, calibration, vocabulary rule and format-2 export (no real data)."""

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from genre_tagger.listen.modelmeta import ModelMeta
from training.genre.library_experiments import PRECISION_BAR, genre_to_drop, mtt_subset
from training.genre.library_model import HeadSpec, LibraryNet, ModelSpec, export
from training.genre.musicnn import TaggerOutput
from training.genre.sethead import (
    choose_threshold,
    ece,
    fit_set_head,
    fit_temperature,
    set_mask,
    set_nll,
    softmax,
)


def test_set_nll_is_minus_log_mass_on_the_accepted_set():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
    mask = torch.from_numpy(set_mask([frozenset({"a", "b"}), frozenset({"c"})], ["a", "b", "c"]))
    assert torch.allclose(set_nll(logits, mask), -torch.log(torch.tensor([0.8, 0.8])), atol=1e-6)


def test_set_head_puts_the_mass_on_the_set_without_choosing_inside_it():
    rng = np.random.default_rng(0)
    genres = ["pop", "rock", "jazz"]
    # cluster 0: accepted {pop, rock} (as AllMusic's Pop/Rock); cluster 1: jazz
    x = np.concatenate([rng.normal(0, 1, (60, 4)) + [3, 0, 0, 0], rng.normal(0, 1, (60, 4)) - [3, 0, 0, 0]])
    sets = [frozenset({"pop", "rock"})] * 60 + [frozenset({"jazz"})] * 60
    head = fit_set_head(x, sets, genres, c=1.0)
    p = head.probs(x)
    assert p[:60, :2].sum(1).mean() > 0.9 and p[60:, 2].mean() > 0.9
    assert abs(p[:60, 0].mean() - p[:60, 1].mean()) < 0.1  # nothing tells pop from rock here
    # the folded layer acting on raw features gives the same probabilities
    w, b = head.folded()
    assert np.allclose(softmax(x @ w.T + b), p, atol=1e-5)


def test_clips_without_a_vocabulary_genre_are_ignored():
    x = np.array([[1.0], [-1.0], [5.0]])
    head = fit_set_head(x, [frozenset({"a"}), frozenset({"b"}), frozenset({"world"})], ["a", "b"], c=10.0)
    assert head.probs(np.array([[1.0]]))[0, 0] > 0.5


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1.5, (4000, 4))
    y = [rng.choice(4, p=p) for p in softmax(z)]
    genres = list("abcd")
    t = fit_temperature(3 * z, [frozenset({genres[k]}) for k in y], genres)
    assert 2.6 < t < 3.4


def test_ece_zero_when_calibrated_large_when_overconfident():
    conf = np.array([0.95] * 20 + [0.55] * 20)
    calibrated = np.array([1] * 19 + [0] + [1] * 11 + [0] * 9, dtype=bool)
    assert ece(conf, calibrated) < 1e-9
    assert abs(ece(np.full(10, 0.9), np.array([1] * 5 + [0] * 5, dtype=bool)) - 0.4) < 1e-9


def test_threshold_is_the_lowest_whose_written_precision_reaches_the_target():
    conf = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    ok = np.array([1, 1, 1, 1, 1, 0, 1, 0], dtype=bool)
    assert choose_threshold(conf, ok, 0.9, min_support=1) == 0.7  # 5/5; at 0.6 5/6 < 0.9
    assert choose_threshold(conf, ok, 0.8, min_support=1) == 0.5  # 6/7 >= 0.8, 6/8 not
    assert choose_threshold(conf, ~ok, 0.9, min_support=1) == 1.0
    # a miss at the very top does not block a lower threshold that reaches the target
    top_miss = np.array([0] + [1] * 9, dtype=bool)
    conf10 = np.linspace(0.95, 0.5, 10)
    assert choose_threshold(conf10, top_miss, 0.9, min_support=1) == 0.5
    assert choose_threshold(conf10, top_miss, 0.9, min_support=11) == 1.0  # too few clips to judge


def test_vocabulary_rule_drops_the_worst_genre_below_the_bar():
    per = {
        "electronic": {"written": 50, "written_precision": 0.9},
        "folk": {"written": 10, "written_precision": 0.6},
        "latin": {"written": 8, "written_precision": 0.5},
        "world": {"written": 2, "written_precision": 1.0},  # too few writes to measure
    }
    assert genre_to_drop(per, ["electronic", "folk", "latin", "world"]) == "world"
    assert genre_to_drop(per, ["electronic", "folk", "latin"]) == "latin"
    assert genre_to_drop(per, ["electronic", "folk"]) == "folk"
    assert genre_to_drop(per, ["electronic"]) is None and PRECISION_BAR == 0.8


def test_mtt_sees_every_step_th_window():
    assert mtt_subset(4, 1) == [0] and mtt_subset(4, 2) == [0, 2] and mtt_subset(8, 4) == [0, 2, 4, 6]


class TinyTagger(nn.Module):
    """Stands in for a musicnn tagger: 50 tag logits and an 8-d embedding per window."""

    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.emb, self.out = nn.Linear(96, 8), nn.Linear(8, 50)

    def forward_features(self, x):
        e = torch.relu(self.emb(x.mean(1)))
        return TaggerOutput(self.out(e), e)


def test_export_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    d = 50 + 8 + 50
    heads = [
        HeadSpec("library", ["rock", "electronic", "rnb"], rng.normal(0, 0.1, (3, d)), np.zeros(3), 0.55, 1.3,
                 {"extended_top1": 0.5}),
        HeadSpec("gtzan", ["blues", "rock"], rng.normal(0, 0.1, (2, d)), np.zeros(2), 0.6, 1.1),
    ]  # fmt: skip
    spec = ModelSpec(("msd_logits", "msd_embedding", "mtt_logits"), windows=4, mtt_windows=2, heads=heads)
    net = LibraryNet(spec, TinyTagger(0), TinyTagger(1)).eval()
    meta = export(net, spec, tmp_path, "tiny", "t1")
    loaded = ModelMeta.load(tmp_path / "tiny.json")
    assert loaded.vocabulary().name == "library" and loaded.vocabulary().display == ["Rock", "Electronic", "R&B"]
    assert loaded.vocabulary("library").min_confidence == 0.55 and loaded.vocabulary("gtzan").genres == ["blues", "rock"]
    assert len(loaded.tags) == 100 and loaded.outputs == ["probs_library", "probs_gtzan", "tag_probs"]
    assert meta.provenance["onnx_vs_pytorch_max_abs_diff"] < 1e-5
    sess = ort.InferenceSession(str(tmp_path / "tiny.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 4, 7):
        x = rng.uniform(0, 4, (n, 187, 96)).astype(np.float32)
        lib, gtz, tags = sess.run(None, {"patches": x})
        assert lib.shape == (3,) and gtz.shape == (2,) and tags.shape == (100,)
        assert abs(lib.sum() - 1) < 1e-5 and abs(gtz.sum() - 1) < 1e-5
        with torch.no_grad():
            ref = net(torch.from_numpy(x))
        assert np.allclose(lib, ref[0].numpy(), atol=1e-5)
        # MTT sees windows 0 and 2 only: changing window 1 changes the MSD part alone
    x2 = x.copy()
    x2[1] += 1.0
    with torch.no_grad():
        a, b = net(torch.from_numpy(x)), net(torch.from_numpy(x2))
    assert torch.allclose(a[2][50:], b[2][50:]) and not torch.allclose(a[2][:50], b[2][:50])


def test_exported_model_runs_the_app_path(tmp_path):
    """What the library chain exports, the app loads and runs on an audio file (was the v3
    chain's ``test_export_and_model``)."""
    from devtools.synth import write_audio
    from genre_tagger.listen.model import Classifier

    rng = np.random.default_rng(3)
    heads = [HeadSpec("library", ["rock", "jazz", "electronic"], rng.normal(0, 0.1, (3, 58)), np.zeros(3), 0.3, 1.0),
             HeadSpec("gtzan", ["blues", "rock"], rng.normal(0, 0.1, (2, 58)), np.zeros(2), 0.2, 1.0)]  # fmt: skip
    spec = ModelSpec(("msd_logits", "msd_embedding"), windows=3, mtt_windows=0, heads=heads)
    export(LibraryNet(spec, TinyTagger(0), None).eval(), spec, tmp_path, "tiny", "t1")
    meta = ModelMeta.load(tmp_path / "tiny.json")
    assert meta.format == 2 and len(meta.tags) == 50
    c = Classifier(tmp_path / "tiny.json", threads=1).classify_file(write_audio(tmp_path / "a.wav", "wav", seconds=8.0))
    assert c.windows == 3
    for vocab, n in (("library", 3), ("gtzan", 2)):
        ranked = c.ranked(vocab)
        assert len(ranked) == n and abs(sum(p for _, p in ranked) - 1) < 1e-4
    assert len(c.tags) == 50


def test_accuracy_figures_name_their_protocol_and_feed_the_about_box():
    from genre_tagger.gui.about import accuracy_lines
    from genre_tagger.listen.modelmeta import Vocabulary
    from training.genre.build_model import accuracy_figures

    r = {"clips": 641, "extended_top1": 0.7111, "gtzan10_top1": 0.75, "gtzan10_clips": 216,
         "written_precision": 0.91, "coverage": 0.27}  # fmt: skip
    figs = accuracy_figures({"command": "cmd", "realmusic": r,
                             "gtzan_filtered_test": {"clips": 75, "accuracy": 0.84, "balanced_accuracy": 0.8}})  # fmt: skip
    assert figs["library"]["realmusic-extended-top1"] == {"value": 0.711, "n": 641, "protocol": figs["library"]
                                                          ["realmusic-extended-top1"]["protocol"], "command": "cmd"}  # fmt: skip
    assert "grouped by artist" in figs["library"]["coverage"]["protocol"]
    assert figs["gtzan"]["fault-filtered-test"]["n"] == 75
    lines = accuracy_lines(Vocabulary("library", "probs_library", ["rock"], ["Rock"], 0.8, figs["library"]))
    assert lines[0].startswith("71%") and any(line.startswith("91%") for line in lines)


def test_weight_mask_keeps_a_genre_on_its_own_evidence():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (200, 3))
    y = (x[:, 1] > 0).astype(int)  # only feature 1 tells the genres apart
    sets = [frozenset({["a", "b"][k]}) for k in y]
    mask = np.array([[1, 0, 0], [1, 1, 1]], np.float32)  # genre a may read feature 0 only
    head = fit_set_head(x, sets, ["a", "b"], c=1.0, weight_mask=mask)
    assert head.weight[0, 1] == 0 and head.weight[0, 2] == 0 and abs(head.weight[1, 1]) > 0.5
    assert (head.probs(x).argmax(1) == y).mean() > 0.9  # b's weights carry the decision


def test_evidence_mask_matches_the_tag_evidence_table():
    from dataclasses import replace

    from training.genre.library_experiments import CANDIDATES, evidence_mask

    cand = replace(next(c for c in CANDIDATES if c.blocks == ("msd_logits", "msd_embedding")), evidence=True)
    m = evidence_mask(["rock", "disco", "electronic"], cand)
    assert m.shape == (3, 250) and m[0].sum() == 3  # msd:rock, msd:classic rock, msd:hard rock
    assert m[1].all() and m[2].all()  # no tag of their own: every feature
    assert evidence_mask(["rock"], replace(cand, evidence=False)) is None
