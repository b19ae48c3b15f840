"""The probes' out-of-fold scoring (training/genre/probes.py)."""

import numpy as np
import pytest

from training.genre.probes import GENRES, probe_scores


def test_probe_scores_on_a_hand_made_case():
    g = len(GENRES)
    rock, jazz, pop = GENRES.index("rock"), GENRES.index("jazz"), GENRES.index("pop")
    probs = np.full((5, g), 0.01)
    # confidences 0.9 > 0.8 > 0.7 > 0.6 > 0.5; tops: rock, rock, jazz, pop, jazz
    for i, (top, conf) in enumerate([(rock, 0.9), (rock, 0.8), (jazz, 0.7), (pop, 0.6), (jazz, 0.5)]):
        probs[i, top] = conf
    mask = np.zeros((5, g))
    mask[0, [rock, pop]] = 1  # right
    mask[1, jazz] = 1  # wrong
    mask[2, jazz] = 1  # right
    mask[3, pop] = 1  # right
    mask[4, rock] = 1  # wrong
    gz_label = ["rock", "jazz", "jazz", "", "rock"]
    eligible = np.array([True, True, True, False, False])
    s = probe_scores(probs, mask, gz_label, eligible)
    assert s["extended_top1"] == pytest.approx(3 / 5, abs=1e-4)
    assert s["gtzan10_top1"] == pytest.approx(2 / 3, abs=1e-4)  # clip 1's top (rock) is not its GTZAN genre (jazz)
    assert s["precision_at_coverage_0.8"] == pytest.approx(3 / 4, abs=1e-4)  # the 4 most confident: right, wrong, right, right
    assert s["coverage_at_precision_0.92"] == pytest.approx(1 / 5, abs=1e-4)  # only the first keeps precision >= 0.92
