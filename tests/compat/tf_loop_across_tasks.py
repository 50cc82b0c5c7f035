#!/usr/bin/env python3
"""TensorFlow 1 while loops on a Rill cluster, driven by TensorFlow's own
client (tf.compat.v1 with control flow v1): a recurrent net whose weights
live on the ps task while the loop runs on the worker (TensorArrays and the
gradient loop's stacks), and one whose loop body itself spans the tasks (a
MatMul pinned to the ps inside the loop, forward and gradient), also with
the TensorArray read asked for on the ps (it goes with its array on the
worker, as TensorFlow places it). Each trains for three steps; the losses must equal TensorFlow's alone, and the traced
last step must show the loop's MatMul on the ps task.

  bazel build //tools:rill
  python3 tests/compat/tf_loop_across_tasks.py   # needs tensorflow-cpu

scripts/test runs it in a venv with tensorflow-cpu.
"""
import sys

import numpy as np
import tensorflow as tf

from rill_cluster import RillCluster
v1 = tf.compat.v1
v1.disable_eager_execution()
v1.disable_control_flow_v2()

PS = "/job:ps/task:0"
WORKER = "/job:worker/task:0"


def train(target, pinned, body_on_ps, read_array):
    """Three SGD steps of a tanh RNN over 4 time steps; the losses and the
    devices the last step's MatMuls ran on."""
    g = tf.Graph()
    with g.as_default():
        r = np.random.RandomState(11)
        xv = r.normal(size=(4, 2, 3)).astype(np.float32)
        with tf.device(PS if pinned else None):
            w = v1.Variable((r.normal(size=(7, 4)) * 0.3).astype(np.float32),
                            name="w", use_resource=False)
        with tf.device(WORKER if pinned else None):
            x = v1.placeholder(tf.float32, [4, 2, 3], name="x")
            inputs = v1.TensorArray(tf.float32, size=4).unstack(x)

            def step(t, h):
                with tf.device(PS if pinned and body_on_ps else None):
                    xt = inputs.read(t) if read_array else tf.gather(x, t)
                    m = tf.matmul(tf.concat([xt, h], 1), w)
                return t + 1, tf.tanh(m)
            _, h = tf.while_loop(lambda t, h: t < 4, step,
                                 [0, tf.zeros([2, 4])])
            loss = tf.reduce_mean(tf.square(h - 0.3))
            train_op = v1.train.GradientDescentOptimizer(0.5).minimize(loss)
        with v1.Session(target, graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            losses = [float(sess.run([loss, train_op], {x: xv})[0])
                      for _ in range(2)]
            meta = v1.RunMetadata()
            losses.append(float(sess.run(
                [loss, train_op], {x: xv},
                options=v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE),
                run_metadata=meta)[0]))
            matmul_devices = sorted({
                d.device for d in meta.step_stats.dev_stats
                for n in d.node_stats if n.node_name == "while/MatMul"})
            return losses, matmul_devices


def main():
    ok = True
    for body_on_ps, read_array in ((False, True), (True, False),
                                   (True, True)):
        want, _ = train("", False, body_on_ps, read_array)
        with RillCluster({"ps": 1, "worker": 1}) as c:
            got, devices = train(c.target("worker", 0), True, body_on_ps,
                                 read_array)
        where = "ps" if body_on_ps else "worker"
        same = np.allclose(got, want, rtol=1e-5, atol=1e-6)
        placed = len(devices) == 1 and ("/job:%s/" % where) in devices[0]
        print("loop body MatMul on the %s (%s): losses %s (TensorFlow %s), "
              "traced on %s: %s" % (
                  where, "TensorArray" if read_array else "gather", got, want,
                  devices, "ok" if same and placed else "WRONG"))
        ok = ok and same and placed
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
