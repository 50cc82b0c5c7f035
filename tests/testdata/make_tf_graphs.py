#!/usr/bin/env python3
"""Writes the fixture GraphDefs in this folder with TensorFlow itself.

Each graph is built with tf.compat.v1 and written by TensorFlow as binary
(.pb) and text (.pbtxt). Rill's import tests load every one of them.
Regenerate with
  pip install tensorflow-cpu && python3 tests/testdata/make_tf_graphs.py
"""
import os

import tensorflow as tf

v1 = tf.compat.v1
HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, graph):
    tf.io.write_graph(graph.as_graph_def(), HERE, name + ".pb", as_text=False)
    tf.io.write_graph(graph.as_graph_def(), HERE, name + ".pbtxt", as_text=True)


def mlp_train():
    """A 784-64-10 MLP with ref variables, trained by gradient descent."""
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 784], name="x")
        y = v1.placeholder(tf.int64, [None], name="y")
        w1 = v1.Variable(v1.truncated_normal([784, 64], stddev=0.1, seed=1),
                         use_resource=False, name="w1")
        b1 = v1.Variable(tf.zeros([64]), use_resource=False, name="b1")
        w2 = v1.Variable(v1.random_normal([64, 10], seed=2),
                         use_resource=False, name="w2")
        b2 = v1.Variable(tf.zeros([10]), use_resource=False, name="b2")
        h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w1), b1))
        logits = tf.add(tf.matmul(h, w2), b2, name="logits")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                           logits=logits),
            name="loss")
        v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        v1.global_variables_initializer()
    write("mlp_train", g)


def resource_vars():
    """Resource variables: VarHandleOp, AssignVariableOp, ReadVariableOp."""
    g = tf.Graph()
    with g.as_default():
        v = v1.Variable([[1.0, 2.0], [3.0, 4.0]], use_resource=True, name="v")
        x = v1.placeholder(tf.float32, [2, 2], name="x")
        y = tf.matmul(x, v.read_value(), transpose_b=True, name="y")
        v1.assign_add(v, tf.ones([2, 2]), name="bump")
        v1.global_variables_initializer()
        tf.identity(y, name="out")
    write("resource_vars", g)


def convnet():
    """Conv2D, pooling and reshapes on NHWC images."""
    g = tf.Graph()
    with g.as_default():
        img = v1.placeholder(tf.float32, [8, 28, 28, 1], name="images")
        k = tf.constant(0.1, shape=[5, 5, 1, 4], name="kernel")
        c = tf.nn.conv2d(img, k, strides=[1, 1, 1, 1], padding="SAME")
        c = tf.nn.relu(c)
        p = tf.nn.max_pool2d(c, ksize=2, strides=2, padding="VALID")
        a = tf.nn.avg_pool2d(p, ksize=2, strides=2, padding="SAME")
        flat = tf.reshape(a, [8, -1], name="flat")
        tf.nn.softmax(flat, name="probs")
    write("convnet", g)


def array_ops():
    """Shape and indexing ops with constant and placeholder operands."""
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [4, 6], name="x")
        idx = tf.constant([3, 0, 1], name="idx")
        gathered = tf.gather(x, idx, axis=0, name="gathered")
        cat = tf.concat([x, x], axis=1, name="cat")
        packed = tf.stack([x, x], axis=0, name="packed")
        sliced = tf.strided_slice(cat, [1, 0], [-1, 12], [1, 2],
                                  shrink_axis_mask=0, name="sliced")
        t = tf.transpose(packed, [1, 0, 2], name="t")
        e = tf.expand_dims(gathered, -1, name="e")
        s = tf.squeeze(e, [2], name="s")
        parts = tf.split(x, 2, axis=1, name="parts")
        tiled = tf.tile(parts[0], [1, 2], name="tiled")
        tf.add_n([tiled, x], name="sum_all")
        tf.reduce_sum(t, axis=[0, 2], keepdims=True, name="rsum")
        tf.argmax(sliced, axis=1, name="amax")
        tf.one_hot(idx, depth=5, name="onehot")
        tf.pad(s, [[1, 1], [0, 2]], name="padded")
        tf.cast(tf.greater(x, 0.5), tf.int32, name="mask")
        tf.where(tf.less(x, 0.0), -x, x, name="absx")
        tf.range(0, 10, 2, name="r")
        tf.fill([2, 3], 7.0, name="filled")
        tf.shape(x, name="xshape")
    write("array_ops", g)


def logreg_train():
    """Logistic regression (4 features, 3 classes) trained by gradient
    descent, plus logreg_train_expected.json: fixed feeds and the loss
    TensorFlow computes at each of 5 training steps, which the end-to-end
    test of `rill run` reproduces."""
    import json
    import numpy as np
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        y = v1.placeholder(tf.int32, [None], name="y")
        w = v1.Variable(tf.zeros([4, 3]), use_resource=False, name="w")
        b = v1.Variable(tf.zeros([3]), use_resource=False, name="b")
        logits = tf.add(tf.matmul(x, w), b, name="logits")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                           logits=logits),
            name="loss")
        v1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
        tf.argmax(logits, 1, name="prediction")
        v1.global_variables_initializer()
    write("logreg_train", g)
    rs = np.random.RandomState(7)
    xs = rs.randn(8, 4).astype(np.float32)
    ys = (xs[:, 0] > 0).astype(np.int32) + (xs[:, 1] > 0.5).astype(np.int32)
    w0 = (rs.randn(4, 3) * 0.1).astype(np.float32)
    losses = []
    with tf.compat.v1.Session(graph=g) as sess:
        sess.run("init", {"zeros:0": w0})
        for _ in range(5):
            l, _ = sess.run(["loss:0", "train"], {"x:0": xs, "y:0": ys})
            losses.append(float(l))
    with open(os.path.join(HERE, "logreg_train_expected.json"), "w") as f:
        json.dump({"x": xs.tolist(), "y": ys.tolist(), "w0": w0.tolist(),
                   "losses": losses}, f, indent=1)


def ps_logreg():
    """logreg_train pinned to a cluster, as a parameter-server user writes
    it: the variables (and so their updates) on /job:ps/task:0, the logits
    on worker 1, the loss and its gradient on worker 0. The same feeds give
    the losses of logreg_train_expected.json."""
    g = tf.Graph()
    with g.as_default():
        with tf.device("/job:worker/task:0"):
            x = v1.placeholder(tf.float32, [None, 4], name="x")
            y = v1.placeholder(tf.int32, [None], name="y")
        with tf.device("/job:ps/task:0"):
            w = v1.Variable(tf.zeros([4, 3]), use_resource=False, name="w")
            b = v1.Variable(tf.zeros([3]), use_resource=False, name="b")
        with tf.device("/job:worker/task:1"):
            logits = tf.add(tf.matmul(x, w), b, name="logits")
        with tf.device("/job:worker/task:0"):
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=logits), name="loss")
            v1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
        v1.global_variables_initializer()
    write("ps_logreg", g)


if __name__ == "__main__":
    ps_logreg()
    logreg_train()
    mlp_train()
    resource_vars()
    convnet()
    array_ops()
    print("wrote fixtures to", HERE)
