#!/usr/bin/env python3
"""The same two-task steps on a TensorFlow cluster and on a Rill cluster,
driven by the same client (TensorFlow's tf.compat.v1.Session over gRPC):
two `tf.distribute.Server` processes, then two `rill server` processes, on
loopback. A step fills a float tensor of N bytes on /job:a and sums it on
/job:b (one RecvTensor of N bytes); N = 4 is the empty step. The fill value
is fed, so neither master can fold the step into a constant.

  bazel build //tools:rill
  python3 tests/bench/cluster_vs_tf.py     # needs: pip install tensorflow-cpu
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_vs_tcp import RILL, free_ports  # noqa: E402
SIZES = [4, 1 << 20, 64 << 20, 256 << 20]

TF_SERVER = """
import sys, json
import tensorflow as tf
cluster = tf.train.ClusterSpec(json.loads(sys.argv[1]))
server = tf.distribute.Server(cluster, job_name=sys.argv[2], task_index=0)
print("serving", flush=True)
server.join()
"""


def wait_for_port(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("no server on port %d" % port)


def time_steps(tf, target, nbytes, steps):
    """Median seconds of session.run for the fill-and-sum step."""
    graph = tf.Graph()
    with graph.as_default():
        value = tf.compat.v1.placeholder(tf.float32, [], name="value")
        with tf.device("/job:a/task:0"):
            made = tf.fill([max(nbytes // 4, 1)], value)
        with tf.device("/job:b/task:0"):
            total = tf.reduce_sum(made)
    with tf.compat.v1.Session(target, graph=graph) as session:
        times = []
        for i in range(steps + 2):
            start = time.perf_counter()
            out = session.run(total, {value: 1.0})
            elapsed = time.perf_counter() - start
            if nbytes < (64 << 20):
                assert out == max(nbytes // 4, 1), out
            if i >= 2:
                times.append(elapsed)
    times.sort()
    return times[len(times) // 2]


def main():
    try:
        import tensorflow as tf
    except ImportError:
        sys.exit("needs TensorFlow: pip install tensorflow-cpu")
    if not os.path.exists(RILL):
        sys.exit("build first: bazel build //tools:rill")
    tf.compat.v1.disable_eager_execution()
    results = {}
    for system in ("tensorflow", "rill"):
        pa, pb = free_ports(2)
        spec = {"a": ["localhost:%d" % pa], "b": ["localhost:%d" % pb]}
        if system == "tensorflow":
            cmd = lambda job: [sys.executable, "-c", TF_SERVER, json.dumps(spec), job]
        else:
            cmd = lambda job: [RILL, "server", "--cluster", json.dumps(spec), "--job", job,
                               "--task", "0"]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        servers = [subprocess.Popen(cmd(job), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=env)
                   for job in ("a", "b")]
        try:
            wait_for_port(pa)
            wait_for_port(pb)
            target = "grpc://localhost:%d" % pb
            for size in SIZES:
                steps = 9 if size >= (64 << 20) else 200
                results[(system, size)] = time_steps(tf, target, size, steps)
        finally:
            for s in servers:
                s.terminate()
            for s in servers:
                s.wait()
    print("%10s %14s %14s %10s" % ("bytes", "TensorFlow ms", "Rill ms", "Rill/TF"))
    for size in SIZES:
        t, r = results[("tensorflow", size)], results[("rill", size)]
        print("%10d %14.3f %14.3f %10.2f" % (size, t * 1e3, r * 1e3, r / t))


if __name__ == "__main__":
    main()
