#!/usr/bin/env python3
"""TensorFlow's own parameter-server training on TensorFlow's cluster and on
Rill's, driven by the same client program: 1 ps + 2 workers on loopback
(three `tf.distribute.Server` processes, then three `rill server`
processes), one client process per worker running a
tf.compat.v1.train.MonitoredTrainingSession over gRPC, the digits MLP
(64-HIDDEN-HIDDEN-10, batch 64 per worker) placed by replica_device_setter:

  async  GradientDescentOptimizer.minimize: each worker fetches the
         weights and pushes its gradients every step (Downpour with
         n_fetch = n_push = 1)
  sync   SyncReplicasOptimizer(replicas_to_aggregate=2, total_num_replicas=2):
         the accumulators and the token queue on the ps

Each worker times its steps after a warm-up; reported per system and
scheme: the median step time over both workers, global examples/s, and
Rill's step time over TensorFlow's. A fresh cluster for every run.

  bazel build //tools:rill
  python3 tests/bench/ps_vs_tf.py [--steps 300] [--hidden 256] [--json out.json]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "compat"))
from rill_cluster import free_port  # noqa: E402
RILL = os.path.join(ROOT, "bazel-bin", "tools", "rill")
DATA = os.path.join(ROOT, "examples", "data")
WARMUP = 20
BATCH = 64

TF_SERVER = """
import sys, json
import tensorflow as tf
server = tf.distribute.Server(tf.train.ClusterSpec(json.loads(sys.argv[1])),
                              job_name=sys.argv[2], task_index=int(sys.argv[3]))
server.join()
"""


def start_cluster(system):
    spec = {"ps": ["127.0.0.1:%d" % free_port()],
            "worker": ["127.0.0.1:%d" % free_port() for _ in range(2)]}
    procs = []
    for job, addresses in spec.items():
        for task in range(len(addresses)):
            if system == "tensorflow":
                cmd = [sys.executable, "-c", TF_SERVER, json.dumps(spec), job,
                       str(task)]
            else:
                cmd = [RILL, "server", "--cluster", json.dumps(spec), "--job",
                       job, "--task", str(task)]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
    deadline = time.time() + 60
    for addresses in spec.values():
        for a in addresses:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", int(a.split(":")[1])),
                                             1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        sys.exit("server %s did not start" % a)
                    time.sleep(0.1)
    return spec, procs


def worker(spec_json, task, scheme, steps, hidden, sync_dir):
    """A worker's client process; prints its step times as JSON."""
    import numpy as np
    import tensorflow as tf
    v1 = tf.compat.v1
    v1.disable_eager_execution()
    v1.disable_control_flow_v2()
    spec = json.loads(spec_json)
    xs = np.load(os.path.join(DATA, "digits_train_x.npy")).astype(np.float32)
    ys = np.load(os.path.join(DATA, "digits_train_y.npy")).astype(np.int64)
    with v1.device(v1.train.replica_device_setter(
            ps_tasks=1, worker_device="/job:worker/task:%d" % task)):
        step = v1.train.get_or_create_global_step()
        x = v1.placeholder(tf.float32, [None, xs.shape[1]])
        y = v1.placeholder(tf.int64, [None])
        h = x
        for i, width in enumerate([hidden, hidden, 10]):
            w = v1.get_variable("w%d" % i, [h.shape[1], width])
            b = v1.get_variable("b%d" % i, [width],
                                initializer=v1.zeros_initializer())
            h = tf.matmul(h, w) + b
            if i < 2:
                h = tf.nn.relu(h)
        logits = h
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=logits))
        opt = v1.train.GradientDescentOptimizer(0.05)
        hooks = []
        if scheme == "sync":
            opt = v1.train.SyncReplicasOptimizer(opt, replicas_to_aggregate=2,
                                                 total_num_replicas=2)
            hooks.append(opt.make_session_run_hook(task == 0))
        train = opt.minimize(loss, global_step=step)

    class Barrier(v1.train.SessionRunHook):
        def after_create_session(self, session, coord):
            open(os.path.join(sync_dir, "ready-%d" % task), "w").close()
            while not os.path.exists(os.path.join(sync_dir, "go")):
                time.sleep(0.01)

    if scheme == "sync":
        # Every worker stops at the same global step (a worker that left
        # early would hold the other's last step).
        hooks.append(v1.train.StopAtStepHook(last_step=WARMUP + steps))
    rs = np.random.RandomState(task)
    times = []
    with v1.train.MonitoredTrainingSession(
            master="grpc://" + spec["worker"][task], is_chief=task == 0,
            hooks=hooks + [Barrier()], stop_grace_period_secs=1,
            save_checkpoint_secs=None, save_summaries_steps=None,
            log_step_count_steps=None) as sess:
        i = 0
        while not sess.should_stop() and (scheme == "sync" or
                                          i < WARMUP + steps):
            rows = rs.randint(0, len(xs), BATCH)
            start = time.perf_counter()
            sess.run(train, {x: xs[rows], y: ys[rows]})
            if i >= WARMUP:
                times.append(time.perf_counter() - start)
            i += 1
    print(json.dumps({"times": times}), flush=True)


def run(system, scheme, steps, hidden):
    spec, servers = start_cluster(system)
    sync_dir = tempfile.mkdtemp()
    procs = []
    try:
        for task in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--worker",
                 json.dumps(spec), str(task), scheme, str(steps), str(hidden),
                 sync_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True))
            ready = os.path.join(sync_dir, "ready-%d" % task)
            deadline = time.time() + 120
            while not os.path.exists(ready):
                if procs[-1].poll() is not None or time.time() > deadline:
                    sys.exit("%s worker %d failed:\n%s" % (
                        system, task, procs[-1].stderr.read()[-3000:]))
                time.sleep(0.05)
        open(os.path.join(sync_dir, "go"), "w").close()
        start = time.time()
        times = []
        for task, p in enumerate(procs):
            out, err = p.communicate(timeout=900)
            if p.returncode != 0:
                sys.exit("%s worker %d failed:\n%s" % (system, task, err[-3000:]))
            times += json.loads(out.strip().splitlines()[-1])["times"]
        wall = time.time() - start
    finally:
        for p in procs + servers:
            p.kill()
            p.wait()
    times.sort()
    median = times[len(times) // 2]
    return {"median_ms": median * 1e3,
            "examples_per_s": 2 * steps * BATCH / wall}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]),
               int(sys.argv[6]), sys.argv[7])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--json")
    args = parser.parse_args()
    if not os.path.exists(RILL):
        sys.exit("no %s: bazel build //tools:rill first" % RILL)
    results = {}
    print("%-6s %-11s %14s %14s" % ("scheme", "system", "step ms (med)",
                                    "examples/s"))
    for scheme in ("async", "sync"):
        for system in ("tensorflow", "rill"):
            r = run(system, scheme, args.steps, args.hidden)
            results["%s/%s" % (scheme, system)] = r
            print("%-6s %-11s %14.2f %14.0f" % (scheme, system, r["median_ms"],
                                              r["examples_per_s"]), flush=True)
        ratio = (results[scheme + "/rill"]["median_ms"] /
                 results[scheme + "/tensorflow"]["median_ms"])
        results[scheme + "/ratio"] = ratio
        print("%-6s Rill step time / TensorFlow's: %.2f" % (scheme, ratio))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
