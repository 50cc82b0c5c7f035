#!/usr/bin/env python3
"""Writes tests/testdata/tf_checkpoint/: a V2 checkpoint TensorFlow's own
Saver wrote (model.index, model.data-00000-of-00001, and the `checkpoint`
state file) holding VALUES, for Rill's reader to be tested against without
TensorFlow installed (runtime/training/checkpoint_file_test.cc expects
these values). Regenerate with
  pip install tensorflow-cpu && python3 tests/testdata/make_tf_checkpoint.py
"""
import os

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tf_checkpoint")

VALUES = {
    "dense/kernel": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    "dense/bias": np.array([0.5, -1.25, 3.0, 1e-3], np.float32),
    "global_step": np.int64(1234567890123),
    "counts": np.array([1, -2, 3], np.int32),
    "scale": np.float64(2.718281828459045),
    "flags": np.array([True, False, True]),
    "words": np.array([b"alpha", b"", b"\xce\xbb multi-byte", b"x" * 300]),
    "empty": np.zeros([0, 5], np.float32),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    g = tf.Graph()
    with g.as_default():
        variables = [v1.Variable(value, name=name, use_resource=False)
                     for name, value in VALUES.items()]
        saver = v1.train.Saver(variables)
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, os.path.join(OUT, "model"), write_meta_graph=False)
    # The state file names the checkpoint by its path relative to OUT.
    with open(os.path.join(OUT, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model"\n'
                'all_model_checkpoint_paths: "model"\n')
    print("wrote", OUT)


if __name__ == "__main__":
    main()
