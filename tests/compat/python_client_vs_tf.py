"""The Python client (python_stub, package `rill`) beside TensorFlow in one
process: both import (rill's messages live in a descriptor pool of its
own); the same graphs built with rill.ops and with tf.compat.v1 give the
same values, rill's run on a Rill cluster and TensorFlow's in-process; a
GraphDef built by rill loads and runs in TensorFlow; and training a model
through `rill minimize` (Rill's C++ gradients) follows TensorFlow's
GradientDescentOptimizer step by step. scripts/test installs the package
into this venv before it runs.
"""
import os

import numpy as np
import tensorflow as tf

from rill_cluster import RILL, check, close

os.environ.setdefault("RILL_BINARY", RILL)
import rill  # noqa: E402 (after TensorFlow on purpose)

tf1 = tf.compat.v1
tf1.disable_eager_execution()
RNG = np.random.default_rng(3)
A = RNG.standard_normal((4, 6)).astype(np.float32)
B = RNG.standard_normal((6, 3)).astype(np.float32)
IMG = RNG.standard_normal((2, 7, 7, 3)).astype(np.float32)
KER = RNG.standard_normal((3, 3, 3, 5)).astype(np.float32)


# Each case: (rill builder, TensorFlow builder) over the same raw ops.
CASES = {
    "matmul_softmax": (
        lambda o: o.softmax(o.mat_mul(A, B)),
        lambda r: r.Softmax(logits=r.MatMul(a=A, b=B))),
    "conv_relu_pool": (
        lambda o: o.max_pool(o.relu(o.conv2d(IMG, KER, strides=[1, 2, 2, 1],
                                             padding="SAME")),
                             ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1],
                             padding="VALID"),
        lambda r: r.MaxPool(input=r.Relu(features=r.Conv2D(
            input=IMG, filter=KER, strides=[1, 2, 2, 1], padding="SAME")),
            ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding="VALID")),
    "reductions": (
        lambda o: o.concat_v2([o.sum(A, [1], keep_dims=True),
                               o.max(A, [1], keep_dims=True),
                               o.mean(A, [1], keep_dims=True)], 1),
        lambda r: r.ConcatV2(values=[
            r.Sum(input=A, axis=[1], keep_dims=True),
            r.Max(input=A, axis=[1], keep_dims=True),
            r.Mean(input=A, axis=[1], keep_dims=True)], axis=1)),
    "xent": (
        lambda o: o.sparse_softmax_cross_entropy_with_logits(
            o.mat_mul(A, B), np.array([0, 2, 1, 2], np.int64)).loss,
        lambda r: r.SparseSoftmaxCrossEntropyWithLogits(
            features=r.MatMul(a=A, b=B),
            labels=np.array([0, 2, 1, 2], np.int64)).loss),
    "gather_transpose": (
        lambda o: o.transpose(o.gather_v2(A, [3, 0, 3], 0), [1, 0]),
        lambda r: r.Transpose(x=r.GatherV2(params=A, indices=[3, 0, 3],
                                           axis=0), perm=[1, 0])),
}


def tf_value(build):
    with tf.Graph().as_default():
        out = build(tf.raw_ops)
        with tf1.Session() as s:
            return s.run(out)


def main():
    with rill.LocalCluster(worker=1) as cluster:
        target = cluster.target("worker", 0)
        for name, (rill_build, tf_build) in sorted(CASES.items()):
            with rill.Graph().as_default() as g:
                out = rill_build(rill.ops)
            with rill.Session(target, graph=g) as s:
                got = s.run(out)
            close(got, tf_value(tf_build), 1e-5, name)
            # The GraphDef rill built loads into TensorFlow and gives the
            # same value there.
            graph_def = tf1.GraphDef()
            graph_def.ParseFromString(g.as_graph_def().SerializeToString())
            with tf.Graph().as_default():
                tf1.import_graph_def(graph_def, name="")
                with tf1.Session() as s:
                    close(s.run(out.name), got, 1e-5, name + " in TensorFlow")
            print("ok:", name)

        # Training: a softmax regression, the same initial weights, the same
        # batches: rill minimize's gradient descent against TensorFlow's.
        x_data = RNG.standard_normal((64, 6)).astype(np.float32)
        teacher = RNG.standard_normal((6, 3)).astype(np.float32)
        y_data = np.argmax(x_data @ teacher, axis=1).astype(np.int64)
        w0 = (RNG.standard_normal((6, 3)) * 0.1).astype(np.float32)
        with rill.Graph().as_default() as g:
            x = rill.placeholder(rill.float32, [None, 6], name="x")
            y = rill.placeholder(rill.int64, [None], name="y")
            w = rill.Variable(w0, name="w")
            b = rill.Variable(np.zeros(3, np.float32), name="b")
            logits = rill.ops.bias_add(rill.ops.mat_mul(x, w), b)
            loss = rill.ops.mean(rill.ops.sparse_softmax_cross_entropy_with_logits(
                logits, y).loss, [0], name="loss")
            train = rill.train.GradientDescentOptimizer(0.5).minimize(loss)
            init = rill.global_variables_initializer()
        rill_losses = []
        with rill.Session(target, graph=g) as s:
            s.run(init)
            for i in range(8):
                rows = slice(i * 8, i * 8 + 8)
                rill_losses.append(s.run([loss, train],
                                         {x: x_data[rows], y: y_data[rows]})[0])
        with tf.Graph().as_default():
            tx = tf1.placeholder(tf.float32, [None, 6])
            ty = tf1.placeholder(tf.int64, [None])
            tw = tf1.Variable(w0)
            tb = tf1.Variable(np.zeros(3, np.float32))
            tloss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=ty, logits=tf.nn.bias_add(tf.matmul(tx, tw), tb)))
            ttrain = tf1.train.GradientDescentOptimizer(0.5).minimize(tloss)
            tf_losses = []
            with tf1.Session() as s:
                s.run(tf1.global_variables_initializer())
                for i in range(8):
                    rows = slice(i * 8, i * 8 + 8)
                    tf_losses.append(s.run([tloss, ttrain],
                                           {tx: x_data[rows], ty: y_data[rows]})[0])
        close(rill_losses, tf_losses, 1e-5, "training losses")
        check(rill_losses[-1] < rill_losses[0], "training did not lower the loss")
        print("ok: training follows TensorFlow's:", np.round(rill_losses, 4))

        # bfloat16 with ml_dtypes (a TensorFlow dependency) installed.
        with rill.Graph().as_default() as g:
            p = rill.placeholder(rill.bfloat16, [3], name="p")
            q = rill.ops.identity(p)
        values = np.array([1.0, -2.5, 3.140625], np.float32)
        with rill.Session(target, graph=g) as s:
            out = s.run(q, {p: values.astype(tf.bfloat16.as_numpy_dtype)})
        check(str(out.dtype) == "bfloat16", "bfloat16 came back as %s" % out.dtype)
        close(out.astype(np.float32), values, 0, "bfloat16 values")
        print("ok: bfloat16 as ml_dtypes.bfloat16")


if __name__ == "__main__":
    main()
    print("PASS")
