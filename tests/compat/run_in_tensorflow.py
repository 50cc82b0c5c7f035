#!/usr/bin/env python3
"""Checks the other direction of compatibility: a GraphDef that Rill's C++ API
writes imports and runs in TensorFlow itself.

  bazel build //examples:build_mlp_graph
  python3 tests/compat/run_in_tensorflow.py      # needs pip install tensorflow-cpu

scripts/test runs it in a venv with tensorflow-cpu; the graph it checks is
the one examples/build_mlp_graph_test validates with rill inspect.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

from rill_cluster import BIN_DIR


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mlp.pb")
        subprocess.run([os.path.join(BIN_DIR, "examples", "build_mlp_graph"),
                        "--out=" + path, "--hidden=16"], check=True)
        gd = tf.compat.v1.GraphDef()
        with open(path, "rb") as f:
            gd.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(gd, name="")
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run("init")
        x = np.random.RandomState(0).rand(4, 784).astype(np.float32)
        loss, pred = sess.run(["loss:0", "prediction:0"],
                              {"x:0": x, "y:0": np.array([1, 2, 3, 4])})
    if not (np.isfinite(loss) and pred.shape == (4,)):
        sys.exit("unexpected results: loss %r, predictions %r" % (loss, pred))
    print("TensorFlow %s ran Rill's graph: loss %.4f" % (tf.__version__, loss))


if __name__ == "__main__":
    main()
