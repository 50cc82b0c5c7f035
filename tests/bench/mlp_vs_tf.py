#!/usr/bin/env python3
"""Side by side: one training step of the MLP 784-512-512-10 (batch 256,
forward and backward written out as graph ops) in Rill and in TensorFlow's
Session, on the same GraphDef, in one run. Prints ms per step, examples/s,
the peak RSS growth of each process over its steps (from a reset of
the peak count just before the first step), and Rill's figures as a
fraction of TensorFlow's.

  bazel build //tests/bench:mlp_bench
  python3 tests/bench/mlp_vs_tf.py        # needs pip install tensorflow-cpu
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bazel-bin", "tests", "bench", "mlp_bench")
BATCH = 256
STEPS = 40


def proc_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def tf_child(path):
    """Runs in a fresh process so its RSS is its own."""
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
        # Restart the peak RSS count (Linux), as mlp_bench does.
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        rss_before = proc_kb("VmRSS:")
        for _ in range(3):
            sess.run("train", feeds)
        times = []
        for _ in range(STEPS):
            start = time.perf_counter()
            sess.run("train", feeds)
            times.append(time.perf_counter() - start)
        growth = (proc_kb("VmHWM:") - rss_before) / 1024.0
    times.sort()
    print(json.dumps({"ms": times[len(times) // 2] * 1e3, "rss_growth_MiB": growth}))


def rill_figures():
    out = subprocess.run(
        [BENCH, "--benchmark_format=json", "--benchmark_repetitions=3"],
        check=True, capture_output=True, text=True).stdout
    runs = [r for r in json.loads(out)["benchmarks"] if r.get("run_type") == "iteration"]
    if not runs:
        sys.exit("mlp_bench printed no runs")
    times = sorted(r["real_time"] for r in runs)
    # Memory in a fresh process, 3 + 40 steps, as TensorFlow's is measured.
    memory = json.loads(subprocess.run([BENCH, "--measure_memory"], check=True,
                                       capture_output=True, text=True).stdout)
    return {"ms": times[len(times) // 2], "rss_growth_MiB": memory["rss_growth_MiB"],
            "step_peak_MiB": memory["step_peak_MiB"]}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--tf-child":
        tf_child(sys.argv[2])
        return
    if not os.path.exists(BENCH):
        sys.exit("build first: bazel build //tests/bench:mlp_bench")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([BENCH, "--write_dir=" + tmp], check=True)
        rill = rill_figures()
        tf = json.loads(subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--tf-child",
             os.path.join(tmp, "mlp.pb")],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print("step time    rill %7.2f ms (%6.0f examples/s)   tensorflow %7.2f ms (%6.0f examples/s)   ratio %.2f"
          % (rill["ms"], BATCH * 1e3 / rill["ms"], tf["ms"], BATCH * 1e3 / tf["ms"],
             rill["ms"] / tf["ms"]))
    print("RSS growth   rill %7.1f MiB   tensorflow %7.1f MiB   ratio %.2f"
          % (rill["rss_growth_MiB"], tf["rss_growth_MiB"],
             rill["rss_growth_MiB"] / max(tf["rss_growth_MiB"], 1e-9)))
    print("rill allocator peak within a step: %.1f MiB" % rill["step_peak_MiB"])


if __name__ == "__main__":
    main()
