#!/usr/bin/env python3
"""tf.compat.v1.train.SyncReplicasOptimizer on a Rill cluster, as TensorFlow
users run it: one process per worker, each a MonitoredTrainingSession
(chief and non-chief) with the optimizer's hook and a StopAtStepHook,
through tf.compat.v1.Session("grpc://...") (issue: parameter servers).

1. The queue and accumulator ops alone, scripted the same way against a
   Rill cluster and TensorFlow's own local session: the same values (mean
   of the fresh gradients, stale ones dropped, the global step after each
   take, queue order, sizes) and the same error classes.
2. 1 ps + 3 workers aggregating 2 gradients per step (one backup worker),
   on Rill and on TensorFlow's own cluster (tf.distribute.Server): every
   worker feeds the same batch, so each accepted gradient is the one at the
   current weights and the model after G global steps must be plain
   gradient descent for G steps (computed here in numpy); both systems must
   give it.
3. The same on Rill with one worker killed after a few steps: the two left
   finish (the backup worker absorbs the loss).

  bazel build //tools:rill
  python3 tests/compat/tf_sync_replicas_on_rill_cluster.py   # needs tensorflow-cpu
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
LR = 0.1
W_TRUE = np.array([[1.0], [-2.0], [0.5], [3.0]])


def data():
    rs = np.random.RandomState(0)
    xs = rs.randn(32, 4).astype(np.float32)
    return xs, (xs @ W_TRUE).astype(np.float32)


def model(tf, v1, task):
    """The graph every worker builds; returns its pieces."""
    with v1.device(v1.train.replica_device_setter(
            ps_tasks=1, worker_device="/job:worker/task:%d" % task)):
        step = v1.train.get_or_create_global_step()
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("w", [4, 1], initializer=v1.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    return step, x, y, w, loss


def worker(spec_json, task, aggregate, last_step, sync_dir):
    """One worker's process: trains until last_step; prints its steps."""
    import tensorflow as tf
    v1 = tf.compat.v1
    v1.disable_eager_execution()
    v1.disable_control_flow_v2()
    spec = json.loads(spec_json)
    target = "grpc://" + spec["worker"][task]
    step, x, y, w, loss = model(tf, v1, task)
    opt = v1.train.SyncReplicasOptimizer(
        v1.train.GradientDescentOptimizer(LR), replicas_to_aggregate=aggregate,
        total_num_replicas=len(spec["worker"]))
    with v1.device(v1.train.replica_device_setter(
            ps_tasks=1, worker_device="/job:worker/task:%d" % task)):
        train = opt.minimize(loss, global_step=step)
    is_chief = task == 0

    class Barrier(v1.train.SessionRunHook):
        """Says this worker is ready, then waits for the test's go: every
        worker starts training together."""

        def after_create_session(self, session, coord):
            open(os.path.join(sync_dir, "ready-%d" % task), "w").close()
            while not os.path.exists(os.path.join(sync_dir, "go")):
                time.sleep(0.02)

    xs, ys = data()
    seen = []
    with v1.train.MonitoredTrainingSession(
            master=target, is_chief=is_chief,
            hooks=[opt.make_session_run_hook(is_chief), Barrier(),
                   v1.train.StopAtStepHook(last_step=last_step)],
            stop_grace_period_secs=1, save_checkpoint_secs=None,
            save_summaries_steps=None, log_step_count_steps=None) as sess:
        while not sess.should_stop():
            _, s = sess.run([train, step], {x: xs, y: ys})
            seen.append(int(s))
    print(json.dumps({"task": task, "steps": seen}), flush=True)


def start_worker(spec, task, aggregate, last_step, sync_dir):
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec),
         str(task), str(aggregate), str(last_step), sync_dir],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, procs, seconds=120):
    deadline = time.time() + seconds
    while not os.path.exists(path):
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError("a worker exited early: %s" % p.stderr.read()[-3000:])
        if time.time() > deadline:
            raise RuntimeError("timed out waiting for " + path)
        time.sleep(0.05)


def train(tf, spec, aggregate, last_step, kill_task=None):
    """Runs one worker process per task; returns the final (global step,
    weights) read from the ps and each worker's steps."""
    v1 = tf.compat.v1
    sync_dir = tempfile.mkdtemp()
    # The chief first: non-chiefs find the model ready at once (they would
    # otherwise poll every 30 s).
    procs = [start_worker(spec, 0, aggregate, last_step, sync_dir)]
    wait_for(os.path.join(sync_dir, "ready-0"), procs)
    for t in range(1, len(spec["worker"])):
        procs.append(start_worker(spec, t, aggregate, last_step, sync_dir))
    for t in range(1, len(spec["worker"])):
        wait_for(os.path.join(sync_dir, "ready-%d" % t), procs)
    open(os.path.join(sync_dir, "go"), "w").close()
    started = time.time()
    if kill_task is not None:
        time.sleep(1.0)
        procs[kill_task].kill()
    results = {}
    for t, p in enumerate(procs):
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise RuntimeError("worker %d did not finish" % t)
        if t == kill_task:
            continue
        if p.returncode != 0:
            raise RuntimeError("worker %d failed:\n%s" % (t, err[-3000:]))
        results[t] = json.loads(out.strip().splitlines()[-1])["steps"]
    elapsed = time.time() - started
    g = tf.Graph()
    with g.as_default():
        step, _, _, w, _ = model(tf, v1, 0)
        with v1.Session("grpc://" + spec["worker"][0], graph=g) as sess:
            final_step, final_w = sess.run([step, w])
    return int(final_step), final_w, results, elapsed


def gradient_descent(steps):
    xs, ys = data()
    x, y = xs.astype(np.float64), ys.astype(np.float64)
    w = np.zeros((4, 1))
    for _ in range(steps):
        w -= LR * 2.0 / len(x) * x.T @ (x @ w - y)
    return w


def scripted_ops(tf, target):
    """Queue and accumulator ops in a fixed script; what each step gave."""
    v1 = tf.compat.v1
    from tensorflow.python.ops import data_flow_ops
    g = tf.Graph()
    out = []
    with g.as_default():
        if True:
            acc = data_flow_ops.ConditionalAccumulator(
                tf.float32, shape=[2], shared_name="scripted_acc")
            local = v1.placeholder(tf.int64, [])
            grad = v1.placeholder(tf.float32, [2])
            apply = acc.apply_grad(grad, local_step=local)
            take = acc.take_grad(2)
            count = acc.num_accumulated()
            set_step = acc.set_global_step(local)
            q = data_flow_ops.FIFOQueue(10, [tf.int64, tf.string], shapes=[[], []],
                                        shared_name="scripted_q")
            ids = v1.placeholder(tf.int64, [None])
            names = v1.placeholder(tf.string, [None])
            enq = q.enqueue_many((ids, names))
            deq = q.dequeue()
            deq2 = q.dequeue_many(2)
            up_to = q.dequeue_up_to(5)
            size = q.size()
            close = q.close()
            # The sparse family: IndexedSlices gradients merged by index.
            sacc = data_flow_ops.SparseConditionalAccumulator(
                tf.float32, shape=[None, 2], shared_name="scripted_sparse")
            sidx = v1.placeholder(tf.int64, [None])
            svals = v1.placeholder(tf.float32, [None, 2])
            sapply = sacc.apply_indexed_slices_grad(
                tf.IndexedSlices(svals, sidx, tf.constant([5, 2], tf.int64)),
                local_step=local)
            stake = sacc.take_indexed_slices_grad(2)
        with v1.Session(target, graph=g) as sess:
            for s, gr in ((0, [1, 2]), (0, [3, 6]), (0, [9, 9])):
                sess.run(apply, {local: s, grad: gr})
            out.append(("count", int(sess.run(count))))
            out.append(("mean", sess.run(take).tolist()))
            sess.run(apply, {local: 0, grad: [100, 100]})   # stale: dropped
            out.append(("after stale", int(sess.run(count))))
            sess.run(apply, {local: 1, grad: [1, 1]})
            sess.run(set_step, {local: 5})
            sess.run(apply, {local: 4, grad: [50, 50]})     # stale again
            sess.run(apply, {local: 5, grad: [3, 3]})
            out.append(("second mean", sess.run(take).tolist()))
            # Sorted indices merge (index 2 averaged over both gradients);
            # unsorted ones are merged as TensorFlow's sorted merge leaves
            # them; a stale one is dropped.
            for step_, i_, v_ in ((0, [0, 2], [[1, 1], [2, 2]]),
                                  (0, [2, 3], [[4, 4], [8, 8]]),
                                  (1, [3, 0], [[1, 2], [3, 4]]),
                                  (0, [1], [[50, 50]]),
                                  (1, [4, 3], [[5, 6], [7, 8]])):
                if step_ == 1 and i_ == [3, 0]:
                    r = sess.run(stake)
                    out.append(("sparse mean", [r.indices.tolist(),
                                                r.values.tolist(),
                                                r.dense_shape.tolist()]))
                sess.run(sapply, {local: step_, sidx: i_, svals: v_})
            r = sess.run(stake)
            out.append(("sparse unsorted", [r.indices.tolist(),
                                            r.values.tolist()]))
            sess.run(enq, {ids: [1, 2, 3, 4], names: [b"a", b"b", b"c", b"d"]})
            out.append(("size", int(sess.run(size))))
            i, n = sess.run(deq)
            out.append(("dequeue", [int(i), n.decode()]))
            i2, n2 = sess.run(deq2)
            out.append(("dequeue_many", [i2.tolist(), [v.decode() for v in n2]]))
            sess.run(close)
            i3, _ = sess.run(up_to)
            out.append(("up_to after close", i3.tolist()))
            try:
                sess.run(deq)
                out.append(("dequeue closed", "no error"))
            except tf.errors.OutOfRangeError:
                out.append(("dequeue closed", "OutOfRangeError"))
            try:
                sess.run(enq, {ids: [9], names: [b"z"]})
                out.append(("enqueue closed", "no error"))
            except tf.errors.CancelledError:
                out.append(("enqueue closed", "CancelledError"))
    return out


def main():
    import tensorflow as tf
    from rill_cluster import RillCluster, free_port
    v1 = tf.compat.v1
    v1.disable_eager_execution()
    failures = []

    with RillCluster({"worker": 1}) as rill:
        want = scripted_ops(tf, "")
        got = scripted_ops(tf, rill.target("worker", 0))
        for (what, w), (_, r) in zip(want, got):
            print("%-18s Rill %-30s TensorFlow %s" % (what, r, w))
            if r != w:
                failures.append("%s: Rill %s, TensorFlow %s" % (what, r, w))

    aggregate, last_step = 2, 15
    # TensorFlow's own cluster, in-process servers.
    tf_spec = {"ps": ["127.0.0.1:%d" % free_port()],
               "worker": ["127.0.0.1:%d" % free_port() for _ in range(3)]}
    servers = [tf.distribute.Server(tf.train.ClusterSpec(tf_spec), job_name=job,
                                    task_index=t)
               for job in ("ps", "worker") for t in range(len(tf_spec[job]))]
    runs = [("TensorFlow", tf_spec, None)]
    with RillCluster({"ps": 1, "worker": 3}) as rill:
        runs.append(("Rill", rill.spec, None))
        for name, spec, kill in runs:
            g, w, steps, elapsed = train(tf, spec, aggregate, last_step, kill)
            ref = gradient_descent(g)
            err = float(np.max(np.abs(w - ref)))
            print("%s: %d global steps in %.1f s; worker steps %s; "
                  "|w - gradient descent| = %.2e" %
                  (name, g, elapsed, {t: len(s) for t, s in steps.items()}, err))
            if g < last_step or err > 1e-4:
                failures.append("%s: global step %d, weights off by %g" %
                                (name, g, err))
    with RillCluster({"ps": 1, "worker": 3}) as rill:
        g, w, steps, elapsed = train(tf, rill.spec, aggregate, 40, kill_task=2)
        err = float(np.max(np.abs(w - gradient_descent(g))))
        print("Rill, worker 2 killed: %d global steps in %.1f s; worker steps %s; "
              "|w - gradient descent| = %.2e" %
              (g, elapsed, {t: len(s) for t, s in steps.items()}, err))
        if g < 40 or err > 1e-4 or sorted(steps) != [0, 1]:
            failures.append("after a worker died: global step %d, error %g" %
                            (g, err))
    del servers
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        sys.exit(1)
    print("tf_sync_replicas_on_rill_cluster: all checks passed")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
               sys.argv[6])
    else:
        main()
