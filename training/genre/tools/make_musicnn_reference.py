"""Run the ORIGINAL musicnn TensorFlow graphs on the reference patches; store outputs.

Not part of the normal set-up (it needs TensorFlow). How the stored file was made::

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu tf_keras numpy
    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python training/genre/tools/make_musicnn_reference.py \
        --musicnn-dir <unpacked musicnn-0.1.0 wheel>/musicnn --out tests/data/musicnn_reference.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from training.genre.musicnn_reference import reference_patches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--musicnn-dir", required=True, help="the 'musicnn' package folder of the wheel")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import tensorflow as tf

    sys.path.insert(0, str(Path(args.musicnn_dir).resolve().parent))
    from musicnn import models  # the original graph definitions

    tf.compat.v1.disable_eager_execution()
    x_np = reference_patches()
    result = {"tensorflow": tf.__version__, "input": "training.genre.musicnn_reference.reference_patches()", "models": {}}
    for name in ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"):
        tf.compat.v1.reset_default_graph()
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, 187, 96])
            is_training = tf.compat.v1.placeholder(tf.bool)
            outs = models.define_model(x, is_training, name, 50)
        sess = tf.compat.v1.Session()
        tf.compat.v1.train.Saver().restore(sess, str(Path(args.musicnn_dir) / name) + "/")
        emb = outs[-1] if "musicnn" in name else tf.compat.v1.layers.flatten(outs[-1])
        logits, embedding = sess.run([outs[0], emb], feed_dict={x: x_np, is_training: False})
        result["models"][name] = {
            "logits": [[round(float(v), 6) for v in row] for row in logits],
            "embedding": [[round(float(v), 6) for v in row] for row in embedding],
        }
        sess.close()
        print(name, logits.shape, embedding.shape)
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
