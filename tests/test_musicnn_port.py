"""The PyTorch port of musicnn against outputs of the original TensorFlow graphs.

tests/data/musicnn_reference.json was made by training/genre/tools/make_musicnn_reference.py
(TensorFlow 2.21 running musicnn's own models.py on the same input patches).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from training.genre.musicnn import MODEL_NAMES, load_pretrained
from training.genre.musicnn_reference import reference_patches

REF = json.loads((Path(__file__).parent / "data" / "musicnn_reference.json").read_text())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_port_matches_tensorflow(name, musicnn_weights):
    model = load_pretrained(name, musicnn_weights)
    with torch.no_grad():
        out = model.forward_features(torch.from_numpy(reference_patches()))
    ref = REF["models"][name]
    np.testing.assert_allclose(out.logits.numpy(), np.array(ref["logits"]), atol=2e-4, rtol=1e-4)
    np.testing.assert_allclose(out.embedding.numpy(), np.array(ref["embedding"]), atol=2e-4, rtol=1e-4)


def test_reference_file_covers_every_model():
    assert set(REF["models"]) == set(MODEL_NAMES)
    for r in REF["models"].values():
        assert np.array(r["logits"]).shape == (3, 50)
