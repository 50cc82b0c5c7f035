#!/usr/bin/env python3
"""Rill's Python client (python_stub) against TensorFlow's own client, both
driving the same `rill server` (one worker task on loopback), and against
TensorFlow's client on TensorFlow's own server:

  step     the empty step: feed a scalar, fetch it plus one (median of 500)
  feed     feed a float32 array of N bytes, fetch its sum
  fetch    fetch a float32 array of N bytes filled on the server
  build    build a 1000-op graph (python only, no server)

The client's cost is what differs: the servers are the same (or TF's).

  bazel build //tools:rill && pip install ./python_stub tensorflow-cpu
  python3 tests/bench/python_client_vs_tf.py [--json]
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_vs_tcp import RILL, free_ports  # noqa: E402
from cluster_vs_tf import TF_SERVER, wait_for_port  # noqa: E402

os.environ.setdefault("RILL_BINARY", RILL)
import rill  # noqa: E402

# The rill client is measured in a process of its own, without TensorFlow
# (as its users run it): TensorFlow loaded beside it slows Python's gRPC.
if sys.argv[1:2] != ["--rill-client"]:
    import tensorflow as tf
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
SIZES = [1 << 20, 64 << 20]
REPEATS = {1 << 20: 100, 64 << 20: 10}


def median_seconds(fn, repeats):
    # Warm: the graph goes with the first run, and gRPC's flow-control
    # windows grow over the first transfers (steady state is measured).
    for _ in range(min(repeats, 20)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_session(s, v, plus, arrays, sums, fills):
    """The steps' medians in session `s` (either client's: both have
    run(fetches, feed_dict))."""
    data = {n: np.ones(n // 4, np.float32) for n in SIZES}
    out = {"step": median_seconds(lambda: s.run(plus, {v: 1.0}), 500)}
    for n in SIZES:
        out["feed_%d" % n] = median_seconds(
            lambda: s.run(sums[n], {arrays[n]: data[n]}), REPEATS[n])
        out["fetch_%d" % n] = median_seconds(
            lambda: s.run(fills[n], {v: 2.0}), REPEATS[n])
    return out


def rill_client(target):
    with rill.Graph().as_default() as g:
        v = rill.placeholder(rill.float32, [], name="v")
        plus = rill.ops.add_v2(v, np.float32(1))
        arrays = {n: rill.placeholder(rill.float32, [n // 4]) for n in SIZES}
        sums = {n: rill.ops.sum(arrays[n], [0]) for n in SIZES}
        fills = {n: rill.ops.fill([n // 4], v) for n in SIZES}
    with rill.Session(target, graph=g) as s:
        return time_session(s, v, plus, arrays, sums, fills)


def tf_client(target):
    with tf.Graph().as_default():
        v = tf1.placeholder(tf.float32, [], name="v")
        plus = v + 1
        arrays = {n: tf1.placeholder(tf.float32, [n // 4]) for n in SIZES}
        sums = {n: tf.reduce_sum(arrays[n]) for n in SIZES}
        fills = {n: tf.fill([n // 4], v) for n in SIZES}
        with tf1.Session(target) as s:
            return time_session(s, v, plus, arrays, sums, fills)


def rill_build():
    with rill.Graph().as_default():
        x = rill.placeholder(rill.float32, [None, 8])
        for _ in range(500):
            x = rill.ops.relu(rill.ops.add_v2(x, np.float32(1)))


def build_seconds():
    def tf_build():
        with tf.Graph().as_default():
            x = tf1.placeholder(tf.float32, [None, 8])
            for _ in range(500):
                x = tf.nn.relu(tf.add(x, 1.0))
    return median_seconds(tf_build, 5)


def main():
    if sys.argv[1:2] == ["--rill-client"]:
        out = rill_client(sys.argv[2])
        out["build"] = median_seconds(rill_build, 5)
        print(json.dumps(out))
        return
    results = {}
    with rill.LocalCluster(worker=1) as cluster:
        target = cluster.target("worker", 0)
        rill_side = json.loads(subprocess.run(
            [sys.executable, __file__, "--rill-client", target], check=True,
            stdout=subprocess.PIPE, text=True).stdout)
        rill_build_seconds = rill_side.pop("build")
        results["rill_client_on_rill"] = rill_side
        results["tf_client_on_rill"] = tf_client(target)
    port = free_ports(1)[0]
    spec = json.dumps({"worker": ["127.0.0.1:%d" % port]})
    server = subprocess.Popen([sys.executable, "-c", TF_SERVER, spec,
                               "worker"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        results["tf_client_on_tf"] = tf_client("grpc://127.0.0.1:%d" % port)
    finally:
        server.kill()
        server.wait()
    results["build_500x2_ops"] = {"rill": rill_build_seconds,
                                  "tf": build_seconds()}
    if "--json" in sys.argv:
        print(json.dumps(results, indent=1))
        return
    r, t, tt = (results["rill_client_on_rill"], results["tf_client_on_rill"],
                results["tf_client_on_tf"])
    print("%-14s %12s %12s %12s %10s" % ("", "rill client", "TF client",
                                         "TF on TF", "rill/TF"))
    for key in r:
        print("%-14s %10.3f ms %10.3f ms %10.3f ms %10.2f" % (
            key, r[key] * 1e3, t[key] * 1e3, tt[key] * 1e3, r[key] / t[key]))
    b = results["build_500x2_ops"]
    print("build 1000 ops: rill %.1f ms, TF %.1f ms (rill/TF %.2f)" % (
        b["rill"] * 1e3, b["tf"] * 1e3, b["rill"] / b["tf"]))


if __name__ == "__main__":
    main()
