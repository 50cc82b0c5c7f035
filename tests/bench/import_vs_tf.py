#!/usr/bin/env python3
"""Side by side: Rill vs TensorFlow importing, validating and shape-inferring
the same 100,000-node GraphDef, in one run.

  bazel build -c opt //tests/bench:graph_import_bench //tools:rill
  python3 tests/bench/import_vs_tf.py

Rill's figure comes from graph_import_bench (Google Benchmark); TensorFlow's
from tf.graph_util.import_graph_def, which parses, validates and runs shape
inference on every node through the C API. Needs `pip install tensorflow-cpu`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bazel-bin", "tests", "bench", "graph_import_bench")


def rill_ns_per_node():
    out = subprocess.run(
        [BENCH, "--benchmark_filter=BM_ImportValidateInferShapes",
         "--benchmark_format=json", "--benchmark_repetitions=3",
         "--benchmark_report_aggregates_only=true"],
        check=True, capture_output=True, text=True).stdout
    runs = json.loads(out)["benchmarks"]
    median = [r for r in runs if r.get("aggregate_name") == "median"][0]
    return median["ns_per_node"], int(median["nodes"])


def tf_ns_per_node(path, nodes):
    import tensorflow as tf
    with open(path, "rb") as f:
        data = f.read()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        gd = tf.compat.v1.GraphDef()
        gd.ParseFromString(data)
        with tf.Graph().as_default():
            tf.graph_util.import_graph_def(gd, name="")
        times.append(time.perf_counter() - start)
    times.sort()
    return times[1] * 1e9 / nodes


def main():
    if not os.path.exists(BENCH):
        sys.exit("build first: bazel build -c opt //tests/bench:graph_import_bench")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "graph.pb")
        subprocess.run([BENCH, "--write=" + path], check=True)
        rill, nodes = rill_ns_per_node()
        try:
            tf = tf_ns_per_node(path, nodes)
        except ImportError:
            tf = None
    print("nodes: %d" % nodes)
    print("rill:       %.0f ns/node" % rill)
    if tf is None:
        print("tensorflow: not installed")
    else:
        print("tensorflow: %.0f ns/node" % tf)
        print("rill / tensorflow time: %.2f" % (rill / tf))


if __name__ == "__main__":
    main()
