import pytest

from genre_tagger.listen.windows import WindowSpec, window_starts

W = 48000  # 3 s at 16 kHz


@pytest.mark.parametrize("seconds", [3.5, 10.0, 30.0, 240.0, 3600.0])
@pytest.mark.parametrize("count", [1, 2, 4, 10])
def test_windows_lie_inside_the_track(seconds, count):
    n = int(seconds * 16000)
    starts = window_starts(n, W, count, 0.1)
    assert len(starts) == count
    assert all(isinstance(s, int) and 0 <= s <= n - W for s in starts)
    assert starts == sorted(starts)


def test_long_tracks_skip_intro_and_outro():
    n = 300 * 16000
    for margin in (0.1, 0.25):
        starts = window_starts(n, W, 4, margin)
        # every window lies inside [margin, 1 - margin] of the track (with margin 0.25,
        # ignoring it would put the first window at 36 s, inside the skipped 75 s)
        assert all(margin * n <= s and s + W <= (1 - margin) * n for s in starts)
        # centred on evenly spaced points of [margin, 1 - margin]
        centres = [s + W // 2 for s in starts]
        assert centres == [round(margin * n + (1 - 2 * margin) * n * (2 * k + 1) / 8) for k in range(4)]


def test_short_track_gets_one_window():
    assert window_starts(2 * 16000, W, 4, 0.1) == [0]


def test_positions_are_exact_samples_of_the_length():
    """The same length gives the same windows; one sample more moves them by < 1 sample."""
    n = 1_234_567
    a, b = window_starts(n, W, 8, 0.1), window_starts(n + 1, W, 8, 0.1)
    assert a == window_starts(n, W, 8, 0.1)
    assert all(abs(x - y) <= 1 for x, y in zip(a, b))


def test_spec_round_trip_and_checks():
    ws = WindowSpec(count=6, margin=0.05)
    assert WindowSpec.from_dict(ws.to_dict()) == ws
    assert ws.starts(160000 * 3) == window_starts(480000, ws.length, 6, 0.05)
    with pytest.raises(ValueError, match="unknown window parameters"):
        WindowSpec.from_dict({**ws.to_dict(), "aggregation": "mean"})
    with pytest.raises(ValueError):
        WindowSpec(count=0)
    with pytest.raises(ValueError):
        WindowSpec(margin=0.5)
