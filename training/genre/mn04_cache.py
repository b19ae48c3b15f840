"""Cache mn04's (EfficientAT, AudioSet) outputs for every GTZAN and realmusic clip.

Same clips and keys as :mod:`training.genre.feature_cache` (the musicnn cache). Each clip
is decoded ONCE through the app's decoder (:func:`genre_tagger.listen.audio.read_windows`:
downmix, soxr resampling, positions in exact samples), whole, at 32 kHz; mn04's windows
are then cut from that signal — which equals what the app's windowed reads return (the
decoder makes every window the same slice of the whole track resampled at once).

Stored per clip (``<out>/<key with / as __>.npz``, resumable: cached clips are skipped):

- ``win_starts`` [W]: window starts at 32 kHz; windows of ``--window-samples`` (default
  95 232 = 2 x 47 616: exactly musicnn's 2.98-s window) centred on the points that
  :class:`genre_tagger.listen.windows.WindowSpec` uses (``--windows`` windows over
  ``[margin, 1 - margin]``), so window k covers the audio of musicnn's cached window k;
- ``win_pooled`` [W, 384], ``win_hidden`` [W, 512], ``win_logits`` [W, 527];
- ``clip_pooled`` [384], ``clip_hidden`` [512], ``clip_logits`` [527]: one pass over the
  whole clip (what the probe in the mn04 README used);
- ``clip_columns`` [384, T'] float16: the whole-clip last feature map averaged over
  frequency, one column per 32 frames (0.32 s), for trying other window lengths;
- ``n_samples``: the clip's length at 32 kHz.

    python -m training.genre.mn04_cache --gtzan ../shared/data/gtzan \\
        --realmusic ../shared/data/realmusic --weights ../shared/weights/efficientat-mn04/mn04_as_mAP_432.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from genre_tagger.listen.audio import read_windows
from genre_tagger.listen.mn_frontend import MnFrontendConfig, log_mel
from genre_tagger.listen.windows import window_starts

from .feature_cache import Item, cache_each, cache_file, clip_items
from .mn04 import MN04, load_mn04

WINDOW_SAMPLES = 2 * 47616  # musicnn's window (187 frames at 16 kHz) at 32 kHz: 298 mn04 frames
KEYS = ("win_pooled", "win_hidden", "win_logits", "clip_pooled", "clip_hidden", "clip_logits")


def decode_32k(path: Path, fe: MnFrontendConfig) -> np.ndarray:
    """The whole clip, mono, at the mn04 front end's rate, through the app's decoder."""
    whole: list[int] = []

    def plan(n: int) -> list[int]:
        whole.append(n)
        return [0]

    _, wins = read_windows(path, plan, 1 << 40, fe.sample_rate, fe.n_fft)
    return wins[0][: whole[0]]


def mn_windows(y: np.ndarray, count: int, margin: float, length: int) -> tuple[list[int], list[np.ndarray]]:
    """``count`` windows of ``length`` samples placed as :class:`WindowSpec` places musicnn's
    (a shorter signal is repeat-padded to one window)."""
    if len(y) < length:
        y = np.tile(y, int(np.ceil(length / len(y))))[:length]
    starts = window_starts(len(y), length, count, margin)
    return starts, [y[s : s + length] for s in starts]


def clip_outputs(model: MN04, y: np.ndarray, fe: MnFrontendConfig, count: int, margin: float, length: int) -> dict[str, np.ndarray]:
    starts, wins = mn_windows(y, count, margin, length)
    mels = np.stack([log_mel(w, fe) for w in wins])
    with torch.no_grad():
        w = model.forward_features(torch.from_numpy(mels))
        c = model.forward_features(torch.from_numpy(log_mel(y, fe)[None]))
    return {
        "win_starts": np.array(starts),
        "win_pooled": w.pooled.numpy(),
        "win_hidden": w.hidden.numpy(),
        "win_logits": w.logits.numpy(),
        "clip_pooled": c.pooled[0].numpy(),
        "clip_hidden": c.hidden[0].numpy(),
        "clip_logits": c.logits[0].numpy(),
        "clip_columns": c.features_last[0].mean(dim=1).numpy().astype(np.float16),
        "n_samples": np.array(len(y)),
    }


def extract(items: list[Item], out: Path, weights: Path, count: int, margin: float, length: int) -> None:
    fe = MnFrontendConfig()
    model = load_mn04(weights)
    cache_each(items, out, lambda it: clip_outputs(model, decode_32k(it.path, fe), fe, count, margin, length))


def load(out: Path, keys: list[str], names: tuple[str, ...] = KEYS) -> dict[str, np.ndarray]:
    """Stack cached arrays: ``{name: [n_clips, ...]}`` (``win_*``: [n_clips, W, dim])."""
    res: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for key in keys:
        with np.load(cache_file(out, key)) as z:
            for k in names:
                res[k].append(z[k])
    return {k: np.stack(v) for k, v in res.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, help="GTZAN root (<genre>/<genre>.NNNNN.<ext>)")
    ap.add_argument("--realmusic", type=Path, help="realmusic root (labels.csv)")
    ap.add_argument("--weights", type=Path, required=True, help="mn04_as_mAP_432.pt (a state_dict)")
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--window-samples", type=int, default=WINDOW_SAMPLES)
    ap.add_argument("--out", type=Path, default=Path("runs/features_mn04"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sub = f"w{args.windows}_m{args.margin:g}_l{args.window_samples}"
    extract(clip_items(args.gtzan, args.realmusic), args.out / sub, args.weights, args.windows, args.margin, args.window_samples)


if __name__ == "__main__":
    main()
