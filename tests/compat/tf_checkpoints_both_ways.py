#!/usr/bin/env python3
"""Checkpoints move between Rill and TensorFlow both ways (issue: parameter
servers, TensorFlow's checkpoint format):

1. Rill's linear_regression example trains and saves (V2 format); TensorFlow
   lists and reads the checkpoint, and its w and b are the values Rill
   printed.
2. TensorFlow's own Saver writes a checkpoint of the same variables with
   other values and a global step of 500; Rill's example resumes from it
   (at step 500, epoch 16 of 30) and trains on towards the same solution.
3. `rill train --scheme sync-ps --checkpoint-dir` on 2 ps tasks (the
   hidden layer's weights, above a ps task's share, partitioned over both):
   TensorFlow reads the parameters under the model's names, hidden/w whole
   from its two slices, and they give the held-out accuracy Rill reported.

  bazel build //examples:linear_regression
  python3 tests/compat/tf_checkpoints_both_ways.py   # needs tensorflow-cpu
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

from rill_cluster import BIN_DIR, RILL

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "examples", "data")

LINREG = os.path.join(BIN_DIR, "examples", "linear_regression")
v1 = tf.compat.v1
v1.disable_eager_execution()


def run_rill(*args):
    r = subprocess.run([LINREG, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("linear_regression failed: " + r.stderr)
    return r.stdout


def main():
    failures = []
    tmp = tempfile.mkdtemp()
    rill_dir = os.path.join(tmp, "rill")
    os.makedirs(rill_dir)
    out = run_rill("--checkpoint_dir=" + rill_dir, "--epochs=3")
    learned = re.search(r"learned w = (.*), b = (\S+)", out)
    w_rill = np.array([float(x) for x in learned.group(1).split()])
    b_rill = float(learned.group(2))

    # 1. TensorFlow reads Rill's checkpoint.
    latest = tf.train.latest_checkpoint(rill_dir)
    listed = dict(tf.train.list_variables(latest))
    if listed != {"w": [4, 1], "b": [], "global_step": []}:
        failures.append("TensorFlow lists %s" % listed)
    reader = tf.train.load_checkpoint(latest)
    w = reader.get_tensor("w").reshape(-1)
    b = float(reader.get_tensor("b"))
    if not np.allclose(w, w_rill, atol=1e-4) or abs(b - b_rill) > 1e-4:
        failures.append("TensorFlow read w=%s b=%s, Rill printed w=%s b=%s" %
                        (w, b, w_rill, b_rill))
    if int(reader.get_tensor("global_step")) != 96:
        failures.append("global_step %s" % reader.get_tensor("global_step"))

    # 2. Rill resumes from TensorFlow's checkpoint.
    tf_dir = os.path.join(tmp, "tf")
    g = tf.Graph()
    with g.as_default():
        tw = v1.Variable(np.full([4, 1], 0.25, np.float32), name="w",
                         use_resource=False)
        tb = v1.Variable(np.float32(-1.0), name="b", use_resource=False)
        step = v1.Variable(np.int64(500), name="global_step", use_resource=False)
        saver = v1.train.Saver([tw, tb, step])
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, os.path.join(tf_dir, "model"), global_step=500,
                       write_meta_graph=False)
    out = run_rill("--checkpoint_dir=" + tf_dir, "--resume", "--epochs=30")
    if "resumed from %s/model-500 at step 500" % tf_dir not in out:
        failures.append("Rill did not resume from TensorFlow's checkpoint: " + out)
    learned = re.search(r"learned w = (.*), b = (\S+)", out)
    w_after = np.array([float(x) for x in learned.group(1).split()])
    # From w = 0.25 with the learning rate of epoch 16 (decayed), most of
    # the way to the solution.
    start_gap = np.abs(0.25 - w_rill).max()
    if np.abs(w_after - w_rill).max() > 0.1 * start_gap:
        failures.append("after resuming Rill learned w=%s (solution %s)" %
                        (w_after, w_rill))

    # 3. rill train's checkpoint of partitioned parameters.
    ckpt_dir = os.path.join(tmp, "train")
    graph = os.path.join(tmp, "mlp.pbtxt")
    subprocess.run([os.path.join(BIN_DIR, "examples", "build_mlp_graph"),
                    "--out=" + graph, "--inputs=64", "--hidden=32",
                    "--labels=int32"], check=True, capture_output=True)
    r = subprocess.run(
        [RILL, "train", graph, "--loss", "loss", "--scheme", "sync-ps",
         "--local-cluster", "ps=2,worker=2", "--optimizer", "adam", "--lr",
         "0.01", "--batch", "96", "--epochs", "6", "--format", "json",
         "--checkpoint-dir", ckpt_dir,
         "--data", "x=" + os.path.join(DATA, "digits_train_x.npy"),
         "--data", "y=" + os.path.join(DATA, "digits_train_y.npy"),
         "--eval", "x=" + os.path.join(DATA, "digits_test_x.npy"),
         "--eval", "y=" + os.path.join(DATA, "digits_test_y.npy"),
         "--metric", "accuracy"], capture_output=True, text=True)
    if r.returncode != 0:
        failures.append("rill train failed: " + r.stderr[-2000:])
    else:
        import json
        reported = json.loads(r.stdout)["final"]["accuracy"]
        reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(ckpt_dir))
        shapes = reader.get_variable_to_shape_map()
        want = {"hidden/w": [64, 32], "hidden/b": [32], "logits/w": [32, 10],
                "logits/b": [10], "rill_epoch": []}
        if any(shapes.get(k) != v for k, v in want.items()):
            failures.append("TensorFlow lists %s" % shapes)
        else:
            x = np.load(os.path.join(DATA, "digits_test_x.npy"))
            y = np.load(os.path.join(DATA, "digits_test_y.npy"))
            h = np.maximum(x @ reader.get_tensor("hidden/w") +
                           reader.get_tensor("hidden/b"), 0)
            logits = h @ reader.get_tensor("logits/w") + reader.get_tensor("logits/b")
            acc = float(np.mean(np.argmax(logits, 1) == y))
            print("rill train's checkpoint read by TensorFlow: accuracy %.4f, "
                  "Rill reported %.4f" % (acc, reported))
            if abs(acc - reported) > 1e-3 or acc < 0.9:
                failures.append("accuracy from TensorFlow's read %s, Rill %s" %
                                (acc, reported))
            if int(reader.get_tensor("rill_epoch")) != 6:
                failures.append("rill_epoch %s" % reader.get_tensor("rill_epoch"))

    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        sys.exit(1)
    print("tf_checkpoints_both_ways: all checks passed")


if __name__ == "__main__":
    main()
