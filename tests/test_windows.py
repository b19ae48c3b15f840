import numpy as np
import pytest

from genre_tagger.windows import aggregate, window_starts


@pytest.mark.parametrize("duration", [3.5, 10.0, 30.0, 240.0, 3600.0])
@pytest.mark.parametrize("count", [1, 2, 4, 10])
def test_windows_lie_inside_the_track(duration, count):
    starts = window_starts(duration, 3.0, count, 0.1)
    assert len(starts) == count
    assert all(0 <= s <= duration - 3.0 + 1e-9 for s in starts)
    assert starts == sorted(starts)


def test_long_tracks_skip_intro_and_outro():
    starts = window_starts(300.0, 3.0, 4, 0.1)
    assert starts[0] > 30 - 3 and starts[-1] + 3 < 270 + 3


def test_short_track_gets_one_window():
    assert window_starts(2.0, 3.0, 4, 0.1) == [0.0]


def test_aggregate():
    p = np.array([[0.8, 0.2], [0.4, 0.6]])
    np.testing.assert_allclose(aggregate(p, "mean"), [0.6, 0.4])
    g = aggregate(p, "geometric")
    assert g.sum() == pytest.approx(1.0) and g[0] > g[1]
    with pytest.raises(ValueError):
        aggregate(p, "median-ish")
