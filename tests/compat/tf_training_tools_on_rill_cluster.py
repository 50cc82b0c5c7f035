#!/usr/bin/env python3
"""TensorFlow's own training tools on a Rill cluster, through
tf.compat.v1.Session("grpc://...") (issue: parameter servers):

1. A replica_device_setter MLP with a global step on 1 ps + 2 workers:
   tf.identity of the global step under a control dependency on the train
   op reads the step's own increment (1..5), for a ref and a resource
   global step, as TensorFlow's own cluster (tf.distribute.Server) gives
   from the same program.
2. A sharded Saver over 2 ps tasks (SaveV2 per task, MergeV2Checkpoints):
   save, overwrite the variables, restore; TensorFlow reads the merged
   checkpoint itself.
3. Partitioned variables (fixed_size_partitioner) over 2 ps tasks, ref and
   resource, trained through embedding_lookup with SGD, Adagrad and
   Momentum (sparse updates of each part) on TensorFlow's cluster and on
   Rill's: the same values; each system reads the other's sliced sharded
   checkpoint, Rill also into 3 parts where 2 were saved.
4. MonitoredTrainingSession (chief) with StopAtStepHook, checkpoint_dir and
   summaries (the Scaffold's report_uninitialized_variables, its sharded
   Saver, ScalarSummary/MergeSummary; v1 control flow for the global step):
   it trains to step 20, writes checkpoints and an event file, and a second
   one resumes from the checkpoint and stops at step 30.

  bazel build //tools:rill
  python3 tests/compat/tf_training_tools_on_rill_cluster.py   # needs tensorflow-cpu
"""
import os
import sys
import tempfile

import numpy as np
import tensorflow as tf

from rill_cluster import RillCluster, free_port

v1 = tf.compat.v1
v1.disable_eager_execution()


def global_step_reads(target, use_resource):
    """Five steps of a replica_device_setter MLP; the global step read
    after each step's train op."""
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(1)
        with v1.device(v1.train.replica_device_setter(
                ps_tasks=1, worker_device="/job:worker/task:0")):
            step = v1.Variable(0, dtype=tf.int64, name="global_step",
                               trainable=False, use_resource=use_resource)
            x = v1.placeholder(tf.float32, [None, 4])
            y = v1.placeholder(tf.int32, [None])
            w1 = v1.get_variable("w1", [4, 8], use_resource=use_resource)
            w2 = v1.get_variable("w2", [8, 3], use_resource=use_resource)
            b2 = v1.get_variable("b2", [3], initializer=v1.zeros_initializer(),
                                 use_resource=use_resource)
            logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2) + b2
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=logits))
            train = v1.train.GradientDescentOptimizer(0.1).minimize(
                loss, global_step=step)
            with tf.control_dependencies([train]):
                after = tf.identity(step.read_value())
        rs = np.random.RandomState(0)
        xs = rs.randn(16, 4).astype(np.float32)
        ys = rs.randint(0, 3, 16)
        with v1.Session(target, graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            return [int(sess.run(after, {x: xs, y: ys})) for _ in range(5)]


def sharded_saver(target, directory):
    g = tf.Graph()
    with g.as_default():
        with v1.device(v1.train.replica_device_setter(
                ps_tasks=2, worker_device="/job:worker/task:0")):
            step = v1.train.get_or_create_global_step()
            w = v1.get_variable("w", initializer=np.arange(6, dtype=np.float32)
                                .reshape(2, 3), use_resource=False)
            b = v1.get_variable("b", initializer=np.ones(3, np.float32))
            inc = v1.assign_add(step, 1)
            scramble = [v1.assign(w, tf.zeros_like(w)), v1.assign(b, b * 5)]
        saver = v1.train.Saver(sharded=True)
        with v1.Session(target, graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(inc)
            path = saver.save(sess, os.path.join(directory, "model"),
                              global_step=step, write_meta_graph=False)
            sess.run(scramble)
            saver.restore(sess, path)
            return path, sess.run([w, b, step])


# 160 rows: the parts start at rows >= 64, whose slice keys take the
# longer form of TensorFlow's signed-number encoding.
EMB = np.arange(640, dtype=np.float32).reshape(160, 4) / 640.0 - 0.5


def partitioned(target, use_resource, optimizer, parts=2, save_to=None,
                restore_from=None):
    """An embedding partitioned over 2 ps tasks (fixed_size_partitioner),
    loaded with EMB, trained 5 steps through embedding_lookup (sparse
    gradients: Scatter*/SparseApply* on each part); returns the embedding
    and the checkpoint path. With restore_from, the variables come from
    that checkpoint instead (in `parts` parts, whatever it was saved in)."""
    # The parts' variables outlive sessions on the ps tasks: another
    # partitioning needs them gone, on either system.
    v1.Session.reset(target)
    g = tf.Graph()
    with g.as_default():
        with v1.device(v1.train.replica_device_setter(
                ps_tasks=2, worker_device="/job:worker/task:0")):
            step = v1.train.get_or_create_global_step()
            emb = v1.get_variable("emb", [160, 4], use_resource=use_resource,
                                  partitioner=v1.fixed_size_partitioner(parts))
            w = v1.get_variable("w", [4, 1], use_resource=use_resource,
                                initializer=v1.constant_initializer(0.5))
            ids = tf.constant([1, 107, 3, 107, 150])
            y = tf.constant([[1.0], [-1.0], [0.5], [-1.0], [2.0]])
            pred = tf.matmul(tf.nn.embedding_lookup(emb, ids), w)
            loss = tf.reduce_mean(tf.square(pred - y))
            opt = {"sgd": v1.train.GradientDescentOptimizer(0.5),
                   "adagrad": v1.train.AdagradOptimizer(0.5),
                   "momentum": v1.train.MomentumOptimizer(0.1, 0.9)}[optimizer]
            train = opt.minimize(loss, global_step=step)
            whole = tf.concat([tf.convert_to_tensor(p) for p in emb], 0)
        saver = v1.train.Saver(sharded=True)
        with v1.Session(target, graph=g) as sess:
            if restore_from:
                saver.restore(sess, restore_from)
                return sess.run(whole), restore_from
            sess.run(v1.global_variables_initializer())
            row = 0
            for p in emb:
                n = p.shape[0]
                p.load(EMB[row:row + n], sess)
                row += n
            for _ in range(5):
                sess.run(train)
            path = saver.save(sess, save_to, global_step=step,
                              write_meta_graph=False) if save_to else None
            return sess.run(whole), path


def monitored_session(target, directory, last_step):
    """Trains until last_step; the global step the session started at and
    the loss at the end."""
    g = tf.Graph()
    with g.as_default():
        with v1.device(v1.train.replica_device_setter(
                ps_tasks=1, worker_device="/job:worker/task:0")):
            step = v1.train.get_or_create_global_step()
            x = v1.placeholder(tf.float32, [None, 4])
            y = v1.placeholder(tf.float32, [None, 1])
            w = v1.get_variable("w", [4, 1])
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            v1.summary.scalar("loss", loss)
            train = v1.train.GradientDescentOptimizer(0.1).minimize(
                loss, global_step=step)
        rs = np.random.RandomState(0)
        xs = rs.randn(32, 4).astype(np.float32)
        ys = xs @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
        with v1.train.MonitoredTrainingSession(
                master=target, is_chief=True, checkpoint_dir=directory,
                hooks=[v1.train.StopAtStepHook(last_step=last_step)],
                save_summaries_steps=5, save_checkpoint_steps=10) as sess:
            first = None
            while not sess.should_stop():
                s, l, _ = sess.run([step, loss, train], {x: xs, y: ys})
                first = s if first is None else first
        return first, l


def main():
    failures = []
    # TensorFlow's own cluster: the reference.
    spec = tf.train.ClusterSpec({
        "ps": ["127.0.0.1:%d" % free_port()],
        "worker": ["127.0.0.1:%d" % free_port() for _ in range(2)]})
    servers = [tf.distribute.Server(spec, job_name=job, task_index=t)
               for job, n in (("ps", 1), ("worker", 2)) for t in range(n)]
    with RillCluster({"ps": 1, "worker": 2}) as rill:
        for use_resource in (False, True):
            want = global_step_reads(servers[1].target, use_resource)
            got = global_step_reads(rill.target("worker", 0), use_resource)
            kind = "resource" if use_resource else "ref"
            print("%s global step after each train op: Rill %s, TensorFlow %s" %
                  (kind, got, want))
            if got != want or want != [1, 2, 3, 4, 5]:
                failures.append("%s global step: Rill %s, TensorFlow %s" %
                                (kind, got, want))
    # Partitioned variables over 2 ps tasks: the same training and sliced
    # checkpoints as TensorFlow's cluster, and each reads the other's.
    tf_spec = {"ps": ["127.0.0.1:%d" % free_port() for _ in range(2)],
               "worker": ["127.0.0.1:%d" % free_port()]}
    tf_servers = [tf.distribute.Server(tf.train.ClusterSpec(tf_spec),
                                       job_name=job, task_index=t)
                  for job in ("ps", "worker") for t in range(len(tf_spec[job]))]
    with RillCluster({"ps": 2, "worker": 1}) as rill:
        for use_resource, optimizer in ((False, "sgd"), (False, "adagrad"),
                                        (True, "sgd"), (True, "momentum")):
            kind = "%s %s" % ("resource" if use_resource else "ref", optimizer)
            tf_dir, rill_dir = tempfile.mkdtemp(), tempfile.mkdtemp()
            want, tf_ckpt = partitioned(tf_servers[2].target, use_resource,
                                        optimizer,
                                        save_to=os.path.join(tf_dir, "m"))
            got, rill_ckpt = partitioned(rill.target("worker", 0), use_resource,
                                         optimizer,
                                         save_to=os.path.join(rill_dir, "m"))
            err = float(np.max(np.abs(got - want)))
            print("partitioned %s: |Rill - TensorFlow| = %.2e" % (kind, err))
            if err > 1e-5 or np.array_equal(want, EMB):
                failures.append("partitioned %s: off by %g" % (kind, err))
            read = tf.train.load_checkpoint(rill_ckpt).get_tensor("emb")
            if not np.allclose(read, got, atol=1e-6):
                failures.append("TensorFlow read Rill's sliced emb as %s" % read)
            # Rill restores TensorFlow's sliced checkpoint, in 2 parts and in
            # 3 (slices assembled across the saved ones).
            for parts in (2, 3):
                back, _ = partitioned(rill.target("worker", 0), use_resource,
                                      optimizer, parts=parts,
                                      restore_from=tf_ckpt)
                if not np.allclose(back, want, atol=1e-6):
                    failures.append("Rill restored TensorFlow's %s checkpoint "
                                    "in %d parts as %s" % (kind, parts, back))
    del tf_servers
    with RillCluster({"ps": 2, "worker": 1}) as rill:
        directory = tempfile.mkdtemp()
        path, (w, b, step) = sharded_saver(rill.target("worker", 0), directory)
        files = sorted(os.listdir(directory))
        print("sharded save:", path, files)
        if files != ["checkpoint", "model-1.data-00000-of-00002",
                     "model-1.data-00001-of-00002", "model-1.index"]:
            failures.append("sharded save wrote %s" % files)
        if not (np.array_equal(w, np.arange(6).reshape(2, 3)) and
                np.array_equal(b, np.ones(3)) and step == 1):
            failures.append("restore gave w=%s b=%s step=%s" % (w, b, step))
        reader = tf.train.load_checkpoint(path)
        if not np.array_equal(reader.get_tensor("w"), np.arange(6).reshape(2, 3)):
            failures.append("TensorFlow read w=%s" % reader.get_tensor("w"))
    v1.disable_control_flow_v2()
    with RillCluster({"ps": 1, "worker": 1}) as rill:
        directory = tempfile.mkdtemp()
        first, loss1 = monitored_session(rill.target("worker", 0), directory, 20)
        files = sorted(os.listdir(directory))
        print("MonitoredTrainingSession wrote", files, "loss", loss1)
        if first != 0 or not any(f.startswith("events.out.tfevents") for f in files):
            failures.append("first session: started at %s, wrote %s" % (first, files))
        if tf.train.latest_checkpoint(directory) != os.path.join(directory, "model.ckpt-20"):
            failures.append("latest checkpoint %s" % tf.train.latest_checkpoint(directory))
        first, loss2 = monitored_session(rill.target("worker", 0), directory, 30)
        print("resumed at step", first, "loss", loss2)
        if first != 20 or not loss2 < loss1:
            failures.append("second session: resumed at %s, loss %s after %s" %
                            (first, loss2, loss1))
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        sys.exit(1)
    print("tf_training_tools_on_rill_cluster: all checks passed")


if __name__ == "__main__":
    main()
