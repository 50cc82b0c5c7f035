#!/usr/bin/env python3
"""Model parallelism as DistBelief partitions a network, with GPipe-style
micro-batches, measured with `rill train --scheme model-parallel`: the step
time of a deep MLP split over 2 and 4 `rill server` workers by layers,
against the same model on one task, with and without micro-batches, and
the bytes that cross between the tasks per step.

Model: an MLP 64-1024-1024-1024-1024-10 written by TensorFlow
(tf.compat.v1, ref variables, Glorot-uniform initial values), softmax
cross-entropy; the digits (examples/data), Adam lr 0.001, batch 256,
3 epochs. Writes docs/repro_model_parallel.png and its section of
docs/reproductions.md.

  ~/.cache/rill-venv-dev/bin/python tests/bench/repro_model_parallel.py
"""
import os
import tempfile

import repro_common as rc

HIDDEN = [1024, 1024, 1024, 1024]
SETUPS = [(1, 1), (1, 4), (2, 1), (2, 4), (2, 8), (4, 1), (4, 8)]


def write_model(path):
    import tensorflow as tf
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 64], name="x")
        y = tf.compat.v1.placeholder(tf.int32, [None], name="y")
        h, width = x, 64
        for i, n in enumerate(HIDDEN + [10]):
            w = tf.compat.v1.get_variable(
                "w%d" % i, [width, n], use_resource=False,
                initializer=tf.compat.v1.glorot_uniform_initializer(seed=i + 1))
            b = tf.compat.v1.get_variable("b%d" % i, [n], use_resource=False,
                                          initializer=tf.zeros_initializer())
            h = tf.matmul(h, w) + b
            if i < len(HIDDEN):
                h = tf.nn.relu(h)
            width = n
        tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=h), name="loss")
        tf.reduce_mean(tf.cast(tf.equal(tf.cast(tf.argmax(h, 1), tf.int32), y),
                               tf.float32), name="accuracy")
        tf.compat.v1.global_variables_initializer()
    with open(path, "wb") as f:
        f.write(g.as_graph_def().SerializeToString())


def main():
    rill, _ = rc.build()
    model = os.path.join(tempfile.mkdtemp(), "deep_mlp.pb")
    write_model(model)
    rows, base = [], None
    for workers, parts in SETUPS:
        r = rc.train(rill, model, ["--loss", "loss"] + rc.DIGITS + [
            "--metric", "accuracy", "--optimizer", "adam", "--lr", "0.001",
            "--batch", "256", "--epochs", "3", "--seed", "1",
            "--scheme", "model-parallel", "--micro-batches", str(parts),
            "--local-cluster", "ps=0,worker=%d" % workers])
        ms = 1000 * r["seconds"] / r["steps"]
        if base is None:
            base = ms
        rows.append([workers, parts, "%.1f" % ms, "%.2f" % (ms / base),
                     "%.0f" % (r["bytes_sent"] / r["steps"]), "%.4f" % r["final"]["loss"],
                     "%.3f" % r["final"]["accuracy"]])
        print(rows[-1])
    fig, ax = rc.plt.subplots(figsize=(6.4, 3.6))
    labels = ["%d task%s, %d part%s" % (w, "" if w == 1 else "s", m, "" if m == 1 else "s")
              for w, m in SETUPS]
    ax.barh(range(len(rows)), [float(r[2]) for r in rows])
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("ms per step (batch 256)")
    ax.grid(True, alpha=0.3, axis="x")
    ax.set_title("MLP 64-%s-10 split by layers" % "-".join(map(str, HIDDEN)))
    rc.save(fig, "repro_model_parallel.png")
    rc.write_section("model_parallel", """
## 6. DistBelief's model parallelism, pipelined as GPipe

`tests/bench/repro_model_parallel.py`; `rill train --scheme model-parallel
--micro-batches M` on local clusters of 1, 2 and 4 `rill server` workers:
an MLP 64-%s-10 written by TensorFlow, split by layers (variables cut into
one contiguous run per worker, balanced by bytes), Adam, batch 256, 3
epochs. "vs one task" is the step time over that of the same model on one
task without micro-batches. Bytes per step: every activation that crosses
a cut, forward, and its gradient, back, for every micro-batch.

%s

![model parallelism](repro_model_parallel.png)

The micro-batches' mean loss is the batch's, so splitting changes where
the work runs, not what it computes: the final losses differ only by
rounding (Adam's normalization lets the rounding of near-zero gradient
entries show; tests/e2e/train_mp_test.sh checks one task against two on
the digits MLP to 1e-5).
With one part per step the stages wait on each other, as in DistBelief's
single-machine pipeline; with M parts each stage works on one part while
the next works on another: the overlap that machines with a core (or a
GPU) per stage turn into a shorter step. Machine: %s: the tasks share its cores, so
the overlap cannot show as a faster step here; the bytes per step carry
over.
""" % ("-".join(map(str, HIDDEN)),
       rc.table(["tasks", "micro-batches", "ms/step", "vs one task", "bytes/step",
                 "final loss", "accuracy"], rows), rc.machine()))


if __name__ == "__main__":
    main()
