#!/usr/bin/env python3
"""Side by side: executor overhead of Rill and TensorFlow's Session on the
same two GraphDefs of 10,000 scalar AddV2 nodes (a chain and a fan-out), in
one run. Prints ns per node and Rill's time as a fraction of TensorFlow's.

  bazel build //tests/bench:executor_bench
  python3 tests/bench/executor_vs_tf.py        # needs pip install tensorflow-cpu
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bazel-bin", "tests", "bench", "executor_bench")
NODES = 10000


def rill_figures():
    out = subprocess.run(
        [BENCH, "--benchmark_format=json", "--benchmark_repetitions=5",
         "--benchmark_report_aggregates_only=true"],
        check=True, capture_output=True, text=True).stdout
    figures = {}
    for r in json.loads(out)["benchmarks"]:
        if r.get("aggregate_name") == "median":
            figures[r["run_name"].split("/")[0].replace("BM_", "").lower()] = r["ns_per_node"]
    return figures


def tf_ns_per_node(path, fetch, reps=30):
    import tensorflow as tf
    gd = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        gd.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(gd, name="")
    # Grappler and the classic graph optimizer would fold the chain of +1s and
    # prune the fan-out: switch them off so both systems run every node.
    config = tf.compat.v1.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    config.graph_options.optimizer_options.opt_level = -1  # L0
    config.graph_options.optimizer_options.do_constant_folding = False
    config.graph_options.optimizer_options.do_common_subexpression_elimination = False
    with tf.compat.v1.Session(graph=graph, config=config) as sess:
        run = lambda: sess.run("out:0" if fetch else "out", {"x:0": 0.0})
        run()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e9 / NODES


def main():
    if not os.path.exists(BENCH):
        sys.exit("build first: bazel build //tests/bench:executor_bench")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([BENCH, "--write_dir=" + tmp], check=True)
        rill = rill_figures()
        tf = {"chain": tf_ns_per_node(os.path.join(tmp, "chain.pb"), True),
              "fanout": tf_ns_per_node(os.path.join(tmp, "fanout.pb"), False)}
    for name in ("chain", "fanout"):
        print("%-7s rill %7.0f ns/node   tensorflow %7.0f ns/node   ratio %.2f"
              % (name, rill[name], tf[name], rill[name] / tf[name]))


if __name__ == "__main__":
    main()
