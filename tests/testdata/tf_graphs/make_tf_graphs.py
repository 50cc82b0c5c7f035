#!/usr/bin/env python3
"""Writes the corpus of TensorFlow-written graphs and TensorFlow's results.

Each case is a typical tf.compat.v1 graph, built and run by TensorFlow
itself. For each NAME this writes NAME.pb (the GraphDef, binary) and
NAME.json: how to run it (init ops, feeds, targets, fetches, steps, as
`rill run` takes them) and TensorFlow's values of the fetches in the last
step. tests/e2e/tf_graphs_test.py runs every one through `rill run` and
compares. Initial values come from numpy with fixed seeds (so that results
do not depend on a random generator), except in the cases about random ops.
Regenerate with
  pip install tensorflow-cpu==2.21.0 && python3 tests/testdata/tf_graphs/make_tf_graphs.py
"""
import json
import os
import sys

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def rng(seed=0):
    return np.random.RandomState(seed)


def var(name, value, resource=False):
    return v1.Variable(np.asarray(value, np.float32), name=name,
                       use_resource=resource)


def regression_data(n=16, d=4, seed=0):
    r = rng(seed)
    x = r.normal(size=(n, d)).astype(np.float32)
    w = r.normal(size=(d, 1)).astype(np.float32)
    y = (x @ w + 0.1 * r.normal(size=(n, 1))).astype(np.float32)
    return x, y


def classification_data(n=16, d=6, k=3, seed=1):
    r = rng(seed)
    x = r.normal(size=(n, d)).astype(np.float32)
    y = r.randint(0, k, size=n).astype(np.int64)
    return x, y


def linear_model(x, d, resource=False):
    w = var("w", rng(5).normal(size=(d, 1)) * 0.1, resource)
    b = var("b", np.zeros(1), resource)
    return tf.matmul(x, w) + b


def optimizer_case(name, make_opt, resource=False, sparse=False):
    def build():
        xv, yv = regression_data()
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        if sparse:
            table = var("table", rng(6).normal(size=(10, 4)) * 0.1, resource)
            ids = v1.placeholder(tf.int32, [None], name="ids")
            h = tf.nn.embedding_lookup(table, ids)
            pred = tf.reduce_sum(h * x, axis=1, keepdims=True)
            feeds = {"x": xv, "y": yv, "ids": np.arange(16) % 7}
        else:
            pred = linear_model(x, 4, resource)
            feeds = {"x": xv, "y": yv}
        loss = v1.losses.mean_squared_error(y, pred)
        loss = tf.identity(loss, name="loss")
        make_opt().minimize(loss, name="train")
        return dict(feeds=feeds, targets=["train"], fetches=["loss"], steps=4)
    build.__name__ = name
    CASES.append(build)


optimizer_case("opt_gradient_descent",
               lambda: v1.train.GradientDescentOptimizer(0.1))
optimizer_case("opt_momentum_nesterov",
               lambda: v1.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True))
optimizer_case("opt_adagrad", lambda: v1.train.AdagradOptimizer(0.1))
optimizer_case("opt_adam", lambda: v1.train.AdamOptimizer(0.05))
optimizer_case("opt_rmsprop", lambda: v1.train.RMSPropOptimizer(0.05))
optimizer_case("opt_rmsprop_centered",
               lambda: v1.train.RMSPropOptimizer(0.05, centered=True))
optimizer_case("opt_adadelta", lambda: v1.train.AdadeltaOptimizer(1.0))
optimizer_case("opt_ftrl", lambda: v1.train.FtrlOptimizer(
    0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.01))
optimizer_case("opt_ftrl_v2_shrinkage", lambda: v1.train.FtrlOptimizer(
    0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.01,
    l2_shrinkage_regularization_strength=0.05))
optimizer_case("opt_ftrl_sparse", lambda: v1.train.FtrlOptimizer(0.1),
               sparse=True)
optimizer_case("opt_proximal_adagrad", lambda: v1.train.ProximalAdagradOptimizer(
    0.1, l1_regularization_strength=0.01))
optimizer_case("opt_proximal_gd", lambda: v1.train.ProximalGradientDescentOptimizer(
    0.1, l2_regularization_strength=0.01))
optimizer_case("opt_adam_resource", lambda: v1.train.AdamOptimizer(0.05),
               resource=True)
optimizer_case("opt_adagrad_sparse", lambda: v1.train.AdagradOptimizer(0.1),
               sparse=True)
optimizer_case("opt_momentum_sparse_resource",
               lambda: v1.train.MomentumOptimizer(0.1, 0.9), resource=True,
               sparse=True)
optimizer_case("opt_adam_sparse", lambda: v1.train.AdamOptimizer(0.05),
               sparse=True)


@case
def mlp_softmax():
    """784-style MLP (small), ReLU, sparse softmax cross-entropy, Adam."""
    xv, yv = classification_data()
    x = v1.placeholder(tf.float32, [None, 6], name="x")
    y = v1.placeholder(tf.int64, [None], name="y")
    w1 = var("w1", rng(2).normal(size=(6, 8)) * 0.3)
    b1 = var("b1", np.zeros(8))
    w2 = var("w2", rng(3).normal(size=(8, 3)) * 0.3)
    h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w1), b1))
    logits = tf.matmul(h, w2)
    loss = tf.identity(v1.losses.sparse_softmax_cross_entropy(y, logits),
                       name="loss")
    v1.train.AdamOptimizer(0.01).minimize(loss, name="train")
    return dict(feeds={"x": xv, "y": yv}, targets=["train"],
                fetches=["loss"], steps=5)


@case
def regularized_decay():
    """L2 weight decay, an exponentially decaying learning rate, a global step."""
    xv, yv = regression_data()
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    y = v1.placeholder(tf.float32, [None, 1], name="y")
    pred = linear_model(x, 4)
    step = v1.train.get_or_create_global_step()
    lr = v1.train.exponential_decay(0.1, step, 2, 0.5, staircase=True)
    reg = 0.01 * tf.add_n([tf.nn.l2_loss(v) for v in v1.trainable_variables()])
    loss = tf.identity(v1.losses.mean_squared_error(y, pred) + reg, name="loss")
    v1.train.GradientDescentOptimizer(lr).minimize(loss, global_step=step,
                                                   name="train")
    tf.identity(lr, name="lr")
    return dict(feeds={"x": xv, "y": yv}, targets=["train"],
                fetches=["loss", "lr"], steps=5)


@case
def cnn_batch_norm():
    """Conv2D, fused batch norm in training, ReLU, max pooling, dense, GD."""
    r = rng(4)
    xv = r.normal(size=(4, 6, 6, 2)).astype(np.float32)
    yv = r.randint(0, 3, size=4).astype(np.int64)
    x = v1.placeholder(tf.float32, [None, 6, 6, 2], name="x")
    y = v1.placeholder(tf.int64, [None], name="y")
    k = var("k", r.normal(size=(3, 3, 2, 4)) * 0.3)
    gamma = var("gamma", np.ones(4))
    beta = var("beta", np.zeros(4))
    mean = var("moving_mean", np.zeros(4))
    variance = var("moving_variance", np.ones(4))
    c = tf.nn.conv2d(x, k, strides=1, padding="SAME")
    bn, m, v = v1.nn.fused_batch_norm(c, gamma, beta, epsilon=1e-3,
                                      is_training=True)
    updates = [v1.assign_sub(mean, 0.1 * (mean - m)),
               v1.assign_sub(variance, 0.1 * (variance - v))]
    h = tf.nn.max_pool2d(tf.nn.relu(bn), 2, 2, "VALID")
    w = var("w", r.normal(size=(36, 3)) * 0.1)
    logits = tf.matmul(tf.reshape(h, [-1, 36]), w)
    loss = tf.identity(v1.losses.sparse_softmax_cross_entropy(y, logits),
                       name="loss")
    with tf.control_dependencies(updates):
        v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    return dict(feeds={"x": xv, "y": yv}, targets=["train"],
                fetches=["loss"], steps=3)


@case
def batch_norm_inference_nchw():
    """Fused batch norm with population statistics, NCHW."""
    r = rng(7)
    x = tf.constant(r.normal(size=(2, 3, 2, 2)).astype(np.float32))
    y, _, _ = v1.nn.fused_batch_norm(
        x, tf.constant([1.0, 2.0, 0.5]), tf.constant([0.0, 0.1, -0.1]),
        mean=tf.constant([0.1, 0.2, 0.3]), variance=tf.constant([1.0, 2.0, 0.5]),
        is_training=False, data_format="NCHW")
    tf.identity(y, name="y")
    return dict(fetches=["y"])


@case
def activations():
    """The element-wise functions real graphs use."""
    x = tf.constant([-2.5, -1.0, -0.5, 0.0, 0.4, 1.5, 3.0], name="x")
    parts = [tf.nn.selu(x), tf.nn.elu(x), tf.nn.softplus(x), tf.nn.softsign(x),
             tf.math.erf(x), tf.math.erfc(x), tf.math.atan2(x, 2.0 - x),
             tf.floor(x), tf.math.ceil(x), tf.round(x), tf.math.rint(x),
             tf.nn.leaky_relu(x), tf.nn.relu6(x * 3), tf.sigmoid(x)]
    tf.stack(parts, name="values")
    tf.stack([tf.math.is_nan(x / x), tf.math.is_finite(1.0 / x),
              tf.math.is_inf(1.0 / x)], name="checks")
    return dict(fetches=["values", "checks"])


@case
def losses():
    """tf.compat.v1.losses: means with DivNoNan, weights, reductions."""
    r = rng(8)
    labels = tf.constant(r.randint(0, 2, size=(6, 1)).astype(np.float32))
    logits = tf.constant(r.normal(size=(6, 1)).astype(np.float32))
    weights = tf.constant([[1.0], [0.0], [2.0], [1.0], [0.5], [0.0]])
    out = [v1.losses.mean_squared_error(labels, logits, weights),
           v1.losses.absolute_difference(labels, logits),
           v1.losses.huber_loss(labels, logits),
           v1.losses.log_loss(labels, tf.sigmoid(logits)),
           v1.losses.hinge_loss(labels, logits),
           v1.losses.sigmoid_cross_entropy(labels, logits, weights)]
    tf.stack(out, name="losses")
    return dict(fetches=["losses"])


@case
def static_lstm():
    """A two-step LSTM unrolled by hand (split, concat: ConcatOffset in the
    gradient), trained by GD."""
    r = rng(9)
    xv = r.normal(size=(3, 2, 4)).astype(np.float32)
    x = v1.placeholder(tf.float32, [3, 2, 4], name="x")
    w = var("w", r.normal(size=(4 + 5, 20)) * 0.2)
    b = var("b", np.zeros(20))
    h = tf.zeros([3, 5])
    c = tf.zeros([3, 5])
    for t in range(2):
        z = tf.matmul(tf.concat([x[:, t, :], h], 1), w) + b
        i, f, g, o = tf.split(z, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
    loss = tf.identity(tf.reduce_mean(tf.square(h - 0.5)), name="loss")
    v1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
    return dict(feeds={"x": xv}, targets=["train"], fetches=["loss"], steps=3)


@case
def indexing():
    """Gathers, scatters, where, top-k, unique, segments, one-hot, masks."""
    p = tf.constant(np.arange(12, dtype=np.float32).reshape(3, 4))
    idx = tf.constant([[0, 1], [2, 3]])
    tf.identity(tf.gather_nd(p, idx), name="out_gather_nd")
    tf.identity(tf.scatter_nd(idx, tf.constant([5.0, 6.0]), [3, 4]),
                name="out_scatter_nd")
    tf.identity(tf.cast(tf.where(p > 6.5), tf.int32), name="out_where")
    values, indices = tf.math.top_k(tf.constant([1.0, 5.0, 3.0, 4.0]), k=2)
    tf.identity(values, name="out_top_k_values")
    tf.identity(indices, name="out_top_k_indices")
    u, ui = tf.unique(tf.constant([4, 1, 4, 2, 1]))
    tf.identity(u, name="out_unique")
    tf.identity(ui, name="out_unique_idx")
    seg = tf.constant([0, 0, 1])
    tf.identity(tf.math.segment_sum(p, seg), name="out_segment_sum")
    tf.identity(tf.math.unsorted_segment_max(p, tf.constant([1, 0, 1]), 2),
                name="out_segment_max")
    tf.identity(tf.math.unsorted_segment_mean(p, tf.constant([1, 0, 1]), 2),
                name="out_segment_mean")
    tf.identity(tf.one_hot(tf.constant([0, 2, 1]), 3), name="out_one_hot")
    tf.identity(tf.boolean_mask(tf.constant([1, 2, 3]),
                                tf.constant([True, False, True])), name="out_mask")
    return dict(fetches=["out_gather_nd", "out_scatter_nd", "out_where", "out_top_k_values",
                         "out_top_k_indices", "out_unique", "out_unique_idx",
                         "out_segment_sum", "out_segment_max", "out_segment_mean",
                         "out_one_hot", "out_mask"])


@case
def indexing_train():
    """A loss through GatherNd, TopKV2 and segment max/min/mean, trained by
    GD (TensorFlow's gradients of each: ScatterNd, ...)."""
    p = var("p", rng(13).normal(size=(5, 3)))
    loss = (tf.reduce_sum(tf.square(tf.gather_nd(p, [[0, 1], [3, 2], [0, 1]])))
            + tf.reduce_sum(tf.math.top_k(tf.reshape(p, [-1]), k=3).values)
            + tf.reduce_sum(tf.math.segment_max(p, [0, 0, 1, 3, 3]))
            + tf.reduce_sum(tf.math.segment_mean(p, [0, 1, 1, 1, 2]))
            + tf.reduce_sum(tf.math.unsorted_segment_min(p, [2, -1, 0, 2, 0], 3)))
    loss = tf.identity(loss, name="loss")
    v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    return dict(targets=["train"], fetches=["loss"], steps=4)


@case
def sparse_math():
    """Sparse tensors times dense, and to dense."""
    sp = tf.sparse.SparseTensor([[0, 1], [2, 0]], [2.0, 3.0], [3, 2])
    dense = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    tf.identity(tf.sparse.sparse_dense_matmul(sp, dense), name="out_product")
    tf.identity(v1.sparse_to_dense([[0, 1], [2, 0]], [3, 2], [7.0, 8.0]),
                name="out_dense")
    return dict(fetches=["out_product", "out_dense"])


@case
def linear_algebra():
    """einsum, inverse, determinant, diagonals."""
    a = tf.constant([[2.0, 1.0], [1.0, 3.0]])
    b = tf.constant(np.arange(12, dtype=np.float32).reshape(2, 3, 2))
    tf.identity(tf.einsum("ij,bkj->bki", a, b), name="out_einsum")
    tf.identity(tf.linalg.inv(a), name="out_inverse")
    tf.identity(tf.linalg.det(a), name="out_det")
    tf.identity(tf.linalg.diag(tf.constant([1.0, 2.0])), name="out_diag")
    tf.identity(tf.linalg.diag_part(a), name="out_diag_part")
    return dict(fetches=["out_einsum", "out_inverse", "out_det", "out_diag", "out_diag_part"])


@case
def kmeans_step():
    """One Lloyd iteration written with ops: distances, argmin, segment sums."""
    r = rng(10)
    pts = tf.constant(r.normal(size=(12, 2)).astype(np.float32))
    centers = var("centers", r.normal(size=(3, 2)))
    d = tf.reduce_sum(tf.square(tf.expand_dims(pts, 1) - centers), 2)
    assign = tf.argmin(d, 1, output_type=tf.int32)
    sums = tf.math.unsorted_segment_sum(pts, assign, 3)
    counts = tf.math.unsorted_segment_sum(tf.ones([12, 1]), assign, 3)
    v1.assign(centers, tf.math.divide_no_nan(sums, counts), name="update")
    tf.identity(centers, name="centers_now")
    return dict(targets=["update"], fetches=["centers_now"], steps=3)


def branch():
    """y = 2x for x > 0, -x otherwise, by tf.cond."""
    x = v1.placeholder(tf.float32, [], name="x")
    tf.identity(tf.cond(x > 0, lambda: x * 2, lambda: -x), name="y")
    return dict(feeds={"x": np.float32(3)}, fetches=["y"])


def count():
    """0 + 1 + ... + (n - 1) by tf.while_loop."""
    n = v1.placeholder(tf.int32, [], name="n")
    _, total = tf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s + i),
                             [0, 0])
    tf.identity(total, name="total")
    return dict(feeds={"n": np.int32(5)}, fetches=["total"])


@case
def cond_v1():
    """tf.cond as TensorFlow 1 wrote it (Switch and Merge)."""
    v1.disable_control_flow_v2()
    return branch()


@case
def while_v1():
    """tf.while_loop as TensorFlow 1 wrote it (frames: Enter, Exit, ...)."""
    v1.disable_control_flow_v2()
    return count()


@case
def cond_v2():
    """tf.cond in TensorFlow 2's graphs: StatelessIf with functions."""
    return branch()


@case
def while_v2():
    """tf.while_loop in TensorFlow 2's graphs: While with functions."""
    return count()


@case
def cond_v2_train():
    """A loss chosen by a TensorFlow 2 cond over variables, trained: the
    gradient is another If over gradient functions."""
    w = var("w", [0.5, -1.5, 2.0], resource=True)
    x = v1.placeholder(tf.float32, [], name="x")
    loss = tf.cond(x > 0, lambda: tf.reduce_sum(w * w * x),
                   lambda: tf.reduce_sum(tf.abs(w)))
    loss = tf.identity(loss, name="loss")
    v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    return dict(feeds={"x": np.float32(2)}, targets=["train"],
                fetches=["loss"], steps=3)


@case
def while_v2_train():
    """A TensorFlow 2 while loop over a variable, trained (its gradient
    keeps the loop's values in TensorLists)."""
    w = var("w", [0.9, 1.1], resource=True)
    _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * w),
                         [0, tf.ones([2])])
    loss = tf.identity(tf.reduce_sum(y), name="loss")
    v1.train.GradientDescentOptimizer(0.05).minimize(loss, name="train")
    return dict(targets=["train"], fetches=["loss"], steps=3)


@case
def function_call():
    """A tf.function called from a graph: a PartitionedCall of a library
    function, nested."""
    @tf.function
    def inner(a):
        return a * 2.0 + 1.0

    @tf.function
    def outer(a, b):
        return inner(a) - b

    x = v1.placeholder(tf.float32, [3], name="x")
    tf.identity(outer(x, tf.constant([1.0, 2.0, 3.0])), name="y")
    return dict(feeds={"x": np.array([1, 2, 3], np.float32)}, fetches=["y"])


@case
def dynamic_rnn_v1():
    """A recurrent net over time with a while loop and a TensorArray,
    trained (gradients through the loop: stacks)."""
    v1.disable_control_flow_v2()
    r = rng(11)
    xv = r.normal(size=(4, 2, 3)).astype(np.float32)  # time-major
    x = v1.placeholder(tf.float32, [4, 2, 3], name="x")
    w = var("w", r.normal(size=(3 + 4, 4)) * 0.3)
    inputs = v1.TensorArray(tf.float32, size=4).unstack(x)

    def step(t, h):
        return t + 1, tf.tanh(tf.matmul(tf.concat([inputs.read(t), h], 1), w))
    _, h = tf.while_loop(lambda t, h: t < 4, step, [0, tf.zeros([2, 4])])
    loss = tf.identity(tf.reduce_mean(tf.square(h - 0.3)), name="loss")
    v1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
    return dict(feeds={"x": xv}, targets=["train"], fetches=["loss"], steps=3)


class LSTMCell:
    """An LSTM cell as tf.compat.v1.nn.dynamic_rnn takes one (Keras 3 has
    no v1 cells): the state is (c, h), the gates one MatMul."""

    def __init__(self, units, kernel):
        self.units = units
        self.kernel = var("lstm/kernel", kernel)
        self.bias = var("lstm/bias", np.zeros(4 * units))

    @property
    def state_size(self):
        return (self.units, self.units)

    @property
    def output_size(self):
        return self.units

    def zero_state(self, batch_size, dtype):
        return (tf.zeros([batch_size, self.units], dtype),
                tf.zeros([batch_size, self.units], dtype))

    def __call__(self, inputs, state):
        c, h = state
        gates = tf.matmul(tf.concat([inputs, h], 1), self.kernel) + self.bias
        i, j, f, o = tf.split(gates, 4, axis=1)
        c = tf.sigmoid(f + 1.0) * c + tf.sigmoid(i) * tf.tanh(j)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, (c, h)


@case
def dynamic_rnn_lstm():
    """tf.compat.v1.nn.dynamic_rnn over an LSTM cell with sequence lengths
    (v1 loops; TensorArrays of inputs and outputs; stacks in the gradient
    loop), trained with Adam."""
    v1.disable_control_flow_v2()
    r = rng(21)
    xv = r.normal(size=(3, 5, 2)).astype(np.float32)
    x = v1.placeholder(tf.float32, [3, 5, 2], name="x")
    outputs, state = v1.nn.dynamic_rnn(
        LSTMCell(4, r.normal(size=(6, 16)) * 0.3), x,
        sequence_length=[5, 3, 4], dtype=tf.float32)
    loss = tf.identity(tf.reduce_mean(tf.square(outputs - 0.2)) +
                       tf.reduce_mean(state[0]), name="loss")
    v1.train.AdamOptimizer(0.05).minimize(loss, name="train")
    return dict(feeds={"x": xv}, targets=["train"], fetches=["loss"], steps=3)


@case
def tensor_array_v1():
    """TensorArrays in and out of v1 loops: map_fn, split and concat, a
    dynamically sized array grown in a loop, with their gradients."""
    v1.disable_control_flow_v2()
    r = rng(22)
    w = var("w", r.normal(size=(3, 3)) * 0.5)
    x = tf.constant(r.normal(size=(4, 3)).astype(np.float32))
    y = tf.map_fn(lambda row: tf.tanh(tf.linalg.matvec(w, row)), x)
    pieces = v1.TensorArray(tf.float32, size=2, infer_shape=False)
    z = pieces.split(tf.reshape(y, [-1]), lengths=[5, 7]).concat()
    grown = v1.TensorArray(tf.float32, size=0, dynamic_size=True)

    def body(i, ta):
        return i + 1, ta.write(i, z[i] * z[i])
    _, grown = tf.while_loop(lambda i, ta: i < 12, body, [0, grown])
    loss = tf.identity(tf.reduce_sum(grown.stack()) +
                       tf.cast(grown.size(), tf.float32), name="loss")
    v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    return dict(targets=["train"], fetches=["loss"], steps=3)


@case
def eval_and_debug_ops():
    """Evaluation and debugging ops in a training step: trigonometric
    features, tf.reverse, in_top_k, check_numerics, tf.compat.v1.Print and
    tf.print, gradients clipped by global norm."""
    r = rng(23)
    x = tf.constant(r.normal(size=(5, 4)).astype(np.float32))
    labels = tf.constant([0, 1, 2, 3, 1])
    w = var("w", r.normal(size=(4, 4)) * 0.5)
    logits = tf.matmul(tf.sin(x) + tf.cos(x) * tf.atan(x), w)
    logits = v1.Print(logits, [tf.reduce_sum(logits)], "logits: ")
    loss = tf.debugging.check_numerics(tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=tf.reverse(logits, [1]))), "loss")
    with tf.control_dependencies([tf.print("loss:", loss)]):
        loss = tf.identity(loss, name="loss")
    tf.identity(tf.cast(v1.nn.in_top_k(logits, labels, 2), tf.int32),
                name="hits")
    clipped, _ = tf.clip_by_global_norm(tf.gradients(loss, [w]), 0.5)
    v1.train.GradientDescentOptimizer(0.3).apply_gradients(
        zip(clipped, [w]), name="train")
    return dict(targets=["train"], fetches=["loss", "hits"], steps=3)


@case
def embedding_sparse():
    """Sparse features: embedding_lookup_sparse with the mean and sqrtn
    combiners (weighted and not) and safe_embedding_lookup_sparse over a
    batch with an empty row, trained with Adagrad."""
    r = rng(24)
    table = var("table", r.normal(size=(8, 3)) * 0.5)
    ids = tf.sparse.SparseTensor([[0, 0], [0, 1], [1, 0], [3, 0], [3, 1],
                                  [3, 2]],
                                 tf.constant([1, 5, 2, 5, 7, 1], tf.int64),
                                 [4, 3])
    weights = tf.sparse.SparseTensor(ids.indices,
                                     [1.0, 0.5, 2.0, 1.0, 1.0, 0.25], [4, 3])
    mean = tf.nn.embedding_lookup_sparse(table, ids, None, combiner="mean")
    sqrtn = tf.nn.embedding_lookup_sparse(table, ids, weights,
                                          combiner="sqrtn")
    # The safe form fills empty rows (row 2 has no ids) first.
    safe = tf.nn.safe_embedding_lookup_sparse(table, ids, weights,
                                              combiner="sum")
    loss = tf.identity(tf.reduce_sum(tf.square(mean - 0.1)) +
                       tf.reduce_sum(tf.square(sqrtn + 0.2)) +
                       tf.reduce_sum(tf.square(safe)), name="loss")
    v1.train.AdagradOptimizer(0.2).minimize(loss, name="train")
    return dict(targets=["train"], fetches=["loss"], steps=3)


@case
def feature_columns():
    """Feature columns into a linear model: an embedding and an indicator of
    a vocabulary list with an out-of-vocabulary bucket (lookup tables), a
    hashed categorical column, a bucketized numeric column; trained."""
    fc = tf.feature_column
    words = fc.categorical_column_with_vocabulary_list(
        "word", ["red", "green", "blue"], num_oov_buckets=1)
    hashed = fc.categorical_column_with_hash_bucket("tag", 5)
    age = fc.bucketized_column(fc.numeric_column("age"), [18.0, 30.0, 50.0])
    columns = [fc.embedding_column(words, 3, initializer=v1.constant_initializer(
                   rng(25).normal(size=(4, 3)) * 0.5)),
               fc.indicator_column(words), fc.indicator_column(hashed), age]
    feeds = {"word": np.array([[b"red"], [b"blue"], [b"pink"], [b"green"]]),
             "tag": np.array([[b"x"], [b"y"], [b"x"], [b"zz"]]),
             "age": np.array([[12.0], [35.0], [64.0], [30.0]], np.float32)}
    inputs = {
        "word": v1.placeholder(tf.string, [None, 1], name="word"),
        "tag": v1.placeholder(tf.string, [None, 1], name="tag"),
        "age": v1.placeholder(tf.float32, [None, 1], name="age")}
    features = v1.feature_column.input_layer(inputs, columns)
    w = var("w", rng(26).normal(size=(3 + 4 + 5 + 4, 1)) * 0.3)
    y = tf.constant([[1.0], [0.0], [1.0], [0.5]])
    loss = tf.identity(tf.reduce_mean(tf.square(tf.matmul(features, w) - y)),
                       name="loss")
    v1.train.GradientDescentOptimizer(0.3).minimize(loss, name="train")
    return dict(feeds=feeds, init=[v1.tables_initializer().name],
                targets=["train"], fetches=["loss"], steps=3)


@case
def sampled_softmax():
    """Sampled softmax loss: a candidate sampler and accidental hits."""
    r = rng(12)
    weights = var("weights", r.normal(size=(20, 4)) * 0.3)
    biases = var("biases", np.zeros(20))
    inputs = tf.constant(r.normal(size=(3, 4)).astype(np.float32))
    labels = tf.constant([[1], [5], [7]], dtype=tf.int64)
    loss = tf.nn.sampled_softmax_loss(weights, biases, labels, inputs,
                                      num_sampled=5, num_classes=20, seed=3)
    tf.identity(tf.reduce_mean(loss), name="loss")
    return dict(fetches=["loss"])


@case
def random_seeded():
    """Seeded random ops: TensorFlow's Philox numbers."""
    v1.set_random_seed(42)
    tf.identity(v1.random_uniform([4], seed=1), name="uniform")
    tf.identity(v1.random_normal([4], seed=2), name="normal")
    tf.identity(v1.truncated_normal([4], seed=3), name="truncated")
    tf.identity(tf.random.stateless_uniform([3], seed=[1, 2]), name="stateless")
    return dict(fetches=["uniform", "normal", "truncated", "stateless"])


@case
def dataset_batches():
    """tf.data in graph mode: slices, repeat, batch, an iterator."""
    ds = tf.data.Dataset.from_tensor_slices(np.arange(10, dtype=np.int64))
    ds = ds.repeat(2).batch(4)
    it = v1.data.make_initializable_iterator(ds)
    tf.identity(it.get_next(), name="batch")
    return dict(init=[it.initializer.name], fetches=["batch"], steps=3)


@case
def dataset_shuffle():
    """tf.data: a seeded shuffle reshuffled on each repeat, skip, take."""
    ds = tf.data.Dataset.range(6).shuffle(4, seed=3).repeat(2)
    ds = ds.skip(1).take(9).batch(3)
    it = v1.data.make_initializable_iterator(ds)
    tf.identity(it.get_next(), name="batch")
    return dict(init=[it.initializer.name], fetches=["batch"], steps=3)


@case
def dataset_map():
    """tf.data: a map with a captured tensor and two results, shuffled."""
    offset = tf.constant(100, dtype=tf.int64)
    ds = tf.data.Dataset.range(8).shuffle(4, seed=5)
    ds = ds.map(lambda x: (x * 2 + offset, tf.cast(x, tf.float32) / 2))
    ds = ds.batch(3)
    it = v1.data.make_initializable_iterator(ds)
    doubled, halved = it.get_next()
    tf.identity(doubled, name="doubled")
    tf.identity(halved, name="halved")
    return dict(init=[it.initializer.name], fetches=["doubled", "halved"],
                steps=2)


@case
def dataset_pipeline():
    """tf.data as training scripts write it: filter, a parallel map, cache,
    a seeded shuffle, repeat, batch and prefetch, through a one-shot
    iterator."""
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(20)))
    ds = ds.filter(lambda a, b: b % 3 != 0)
    ds = ds.map(lambda a, b: (a * 2.0, b), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.cache().shuffle(5, seed=3).repeat(2).batch(4)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    features, labels = v1.data.make_one_shot_iterator(ds).get_next()
    tf.identity(features, name="features")
    tf.identity(labels, name="labels")
    return dict(fetches=["features", "labels"], steps=6)


@case
def dataset_nested():
    """tf.data datasets of datasets and tuples: interleave, flat_map, zip,
    padded_batch, unbatch."""
    def inner(i):
        return tf.data.Dataset.range(i).map(lambda j: j * 10 + i)
    ds = tf.data.Dataset.range(1, 5).interleave(inner, cycle_length=2,
                                                block_length=2)
    rows = tf.data.Dataset.range(1, 5).flat_map(
        lambda i: tf.data.Dataset.from_tensors(
            tf.cast(tf.range(i), tf.int32)).repeat(2))
    z = tf.data.Dataset.zip((ds, rows)).padded_batch(
        3, padded_shapes=([], [4]),
        padding_values=(tf.constant(-1, tf.int64), tf.constant(-7, tf.int32)))
    z = z.unbatch().batch(3, drop_remainder=True)
    it = v1.data.make_initializable_iterator(z)
    ids, padded = it.get_next()
    tf.identity(ids, name="ids")
    tf.identity(padded, name="padded")
    return dict(init=[it.initializer.name], fetches=["ids", "padded"],
                steps=2)


@case
def dataset_tuples():
    """tf.data: elements of two components (floats and strings) batched."""
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    labels = np.array([b"a", b"b", b"c"])
    ds = tf.data.Dataset.from_tensor_slices((x, labels))
    ds = ds.batch(2, drop_remainder=True).repeat()
    it = v1.data.make_initializable_iterator(ds)
    feature, label = it.get_next()
    tf.identity(feature, name="feature")
    tf.identity(label, name="label")
    return dict(init=[it.initializer.name], fetches=["feature", "label"],
                steps=2)


@case
def summaries():
    """Scalar and histogram summaries merged: a serialized Summary."""
    x = tf.constant([1.0, 2.0, 3.0])
    v1.summary.scalar("mean", tf.reduce_mean(x))
    v1.summary.histogram("values", tf.constant([-2.5, 0.0, 0.0, 1e-13, 3.0,
                                                 3.1, 7e5]))
    tf.identity(v1.summary.merge_all(), name="summary")
    return dict(fetches=["summary"])


@case
def strings():
    """String tensors: joins, lengths, hashing into buckets."""
    s = tf.constant(["a", "bc", "def"])
    tf.identity(tf.strings.join([s, tf.constant("!")]), name="joined")
    tf.identity(tf.strings.length(s), name="lengths")
    tf.identity(tf.strings.to_hash_bucket_fast(s, 10), name="buckets")
    return dict(fetches=["joined", "lengths", "buckets"])


def text(x):
    """A string as `rill run --format json` writes it: UTF-8 as it is, other
    bytes one code point each."""
    if not isinstance(x, bytes):
        return str(x)
    try:
        return x.decode("utf-8")
    except UnicodeDecodeError:
        return x.decode("latin-1")


def value_json(v):
    # A bytes scalar as an object array: numpy's fixed-width bytes dtype
    # would drop its trailing NUL bytes.
    v = np.array(v, dtype=object) if isinstance(v, bytes) else np.asarray(v)
    if v.dtype.kind in "SUO":
        flat = [text(x) for x in v.reshape(-1)]
    else:
        flat = v.reshape(-1).tolist()
    return {"dtype": v.dtype.name if v.dtype.kind not in "SUO" else "string",
            "shape": list(v.shape), "values": flat}


def main():
    # With names on the command line, only those graphs are written.
    only = set(sys.argv[1:])
    names = []
    for build in CASES:
        name = build.__name__
        if only and name not in only:
            continue
        g = tf.Graph()
        with g.as_default():
            v1.enable_control_flow_v2()
            spec = build()
            v1.enable_control_flow_v2()
            init = spec.get("init", [])
            if v1.global_variables():
                init = [v1.global_variables_initializer().name] + init
            init = [n.split(":")[0] for n in init]
        feeds = spec.get("feeds", {})
        with v1.Session(graph=g) as sess:
            for op in init:
                sess.run(g.get_operation_by_name(op))
            fetches = [n if ":" in n else n + ":0" for n in spec["fetches"]]
            targets = [g.get_operation_by_name(t) for t in spec.get("targets", [])]
            feed_dict = {f if ":" in f else f + ":0": v for f, v in feeds.items()}
            for _ in range(spec.get("steps", 1)):
                got = sess.run(fetches + targets, feed_dict)[:len(fetches)]
        tf.io.write_graph(g.as_graph_def(), HERE, name + ".pb", as_text=False)
        record = {
            "doc": " ".join((build.__doc__ or "").split()),
            "init": init,
            "feeds": {k: value_json(v) for k, v in feeds.items()},
            "targets": spec.get("targets", []),
            "fetches": spec["fetches"],
            "steps": spec.get("steps", 1),
            "expected": {n: value_json(v) for n, v in zip(spec["fetches"], got)},
        }
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
            f.write("\n")
        names.append(name)
    print(len(names), "graphs:", " ".join(names))


if __name__ == "__main__":
    main()
