#!/usr/bin/env python3
"""TensorFlow's own client drives a Rill cluster (SPEC 5): two `rill server`
processes (one ps, one worker) on loopback, and tf.compat.v1.Session
("grpc://...") builds a parameter-server model with tf.device pins, trains
it for a few steps (the last one traced, read by TensorFlow's timeline),
runs a callable and reads the variables. The same program run by
TensorFlow alone (a local session) gives the losses to compare.

  bazel build //tools:rill
  python3 tests/compat/tf_client_on_rill_cluster.py   # needs tensorflow-cpu

scripts/test runs it in a venv with tensorflow-cpu.
"""
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.client import timeline

from rill_cluster import RILL
v1 = tf.compat.v1
v1.disable_eager_execution()


def train(target, pinned):
    """Five SGD steps of logistic regression, the last one traced; returns
    losses, final w, the devices, and the trace's devices and ops."""
    g = tf.Graph()
    with g.as_default():
        rs = np.random.RandomState(3)
        xs = rs.randn(16, 4).astype(np.float32)
        ys = (xs[:, 0] - xs[:, 2] > 0).astype(np.int32)
        with tf.device("/job:ps/task:0" if pinned else None):
            w = v1.Variable(tf.zeros([4, 2]), use_resource=False, name="w")
            b = v1.Variable(tf.zeros([2]), use_resource=False, name="b")
        with tf.device("/job:worker/task:0" if pinned else None):
            x = v1.placeholder(tf.float32, [None, 4], name="x")
            y = v1.placeholder(tf.int32, [None], name="y")
            logits = tf.matmul(x, w) + b
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                               logits=logits))
            train_op = v1.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = v1.global_variables_initializer()
        with v1.Session(target, graph=g) as sess:
            sess.run(init)
            losses = [float(sess.run([loss, train_op], {x: xs, y: ys})[0])
                      for _ in range(4)]
            meta = v1.RunMetadata()
            losses.append(float(sess.run(
                [loss, train_op], {x: xs, y: ys},
                options=v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE),
                run_metadata=meta)[0]))
            # TensorFlow's own timeline reads the step's stats.
            trace = json.loads(timeline.Timeline(meta.step_stats)
                               .generate_chrome_trace_format())
            ops = {e["args"]["op"] for e in trace["traceEvents"]
                   if e.get("ph") == "X"}
            traced = sorted(d.device for d in meta.step_stats.dev_stats)
            # A callable (MakeCallable/RunCallable, as Keras's graph
            # functions run) gives the loss sess.run gives.
            opts = config_pb2.CallableOptions(feed=[x.name, y.name],
                                              fetch=[loss.name])
            callable_loss = float(sess._make_callable_from_options(opts)(xs, ys)[0])
            assert abs(callable_loss - float(sess.run(loss, {x: xs, y: ys}))) < 1e-6
            devices = [d.name for d in sess.list_devices()]
            return losses, sess.run(w), devices, (traced, ops)


def main():
    if not os.path.exists(RILL):
        sys.exit("build first: bazel build //tools:rill")
    ports = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        s.close()
    cluster = json.dumps({"ps": ["localhost:%d" % ports[0]],
                          "worker": ["localhost:%d" % ports[1]]})
    servers = [subprocess.Popen([RILL, "server", "--cluster", cluster, "--job", job,
                                 "--task", "0"], stdout=subprocess.DEVNULL)
               for job in ("ps", "worker")]
    try:
        time.sleep(1.0)
        got, got_w, devices, (traced, ops) = train(
            "grpc://localhost:%d" % ports[1], pinned=True)
        want, want_w, _, _ = train("", pinned=False)
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            s.wait()
    print("devices TensorFlow's client sees:", devices)
    print("losses on the Rill cluster:", got)
    print("losses in TensorFlow alone:", want)
    print("traced devices:", traced)
    print("traced ops include:", sorted(ops & {"ApplyGradientDescent", "MatMul", "_Send", "_Recv"}))
    ok = np.allclose(got, want, atol=1e-5) and np.allclose(got_w, want_w, atol=1e-5)
    ok = ok and len(traced) == 2 and {"ApplyGradientDescent", "MatMul"} <= ops
    print("same results" if ok else "DIFFERENT RESULTS")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
