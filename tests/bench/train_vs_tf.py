#!/usr/bin/env python3
"""Side by side: training throughput of the MLP 784-512-512-10 at batch 256
in Rill and in TensorFlow's Session, on the same GraphDef (built by Rill's
C++ API with Optimizer::Minimize: symbolic gradients and ApplyGradientDescent
or ApplyAdam per variable), same feeds, in one run. Prints examples/s for
each optimizer and Rill's step time as a fraction of TensorFlow's.

  bazel build //tests/bench:train_bench
  python3 tests/bench/train_vs_tf.py        # needs pip install tensorflow-cpu
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bazel-bin", "tests", "bench", "train_bench")
BATCH = 256
STEPS = 40


def tf_child(path):
    """One optimizer's graph in a fresh TensorFlow process."""
    import numpy as np
    import tensorflow as tf
    gd = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        gd.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(gd, name="")
    rng = np.random.default_rng(7)
    feeds = {"x:0": rng.random((BATCH, 784), dtype=np.float32),
             "labels:0": rng.integers(0, 10, BATCH).astype(np.int32)}
    # TensorFlow's default configuration (Grappler on): what users get.
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run("init")
        for _ in range(5):
            sess.run("train", feeds)
        times = []
        for _ in range(STEPS):
            start = time.perf_counter()
            sess.run("train", feeds)
            times.append(time.perf_counter() - start)
        loss = float(sess.run("loss:0", feeds))
    times.sort()
    print(json.dumps({"ms": times[len(times) // 2] * 1e3, "loss": loss}))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--tf-child":
        tf_child(sys.argv[2])
        return
    if not os.path.exists(BENCH):
        sys.exit("build first: bazel build //tests/bench:train_bench")
    out = subprocess.run(
        [BENCH, "--benchmark_format=json", "--benchmark_repetitions=3"],
        check=True, capture_output=True, text=True).stdout
    rill = {}
    for r in json.loads(out)["benchmarks"]:
        if r.get("run_type") == "iteration":
            rill.setdefault(r["label"], []).append(r["real_time"])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([BENCH, "--write_dir=" + tmp], check=True)
        for name in ("sgd", "adam"):
            tf = json.loads(subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--tf-child",
                 os.path.join(tmp, "train_%s.pb" % name)],
                check=True, capture_output=True,
                text=True).stdout.strip().splitlines()[-1])
            ms = sorted(rill[name])[len(rill[name]) // 2]
            print("%-4s  rill %6.2f ms/step (%6.0f examples/s)   tensorflow %6.2f ms/step "
                  "(%6.0f examples/s)   rill/tf time %.2f"
                  % (name, ms, BATCH * 1e3 / ms, tf["ms"], BATCH * 1e3 / tf["ms"],
                     ms / tf["ms"]))


if __name__ == "__main__":
    main()
