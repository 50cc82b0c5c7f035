"""Training from Python: an optimizer's minimize() (gradients by Rill's
C++ registry through `rill minimize`) on a cluster, rill.train() driving
`rill train`'s schemes, and the example script end to end."""

import os
import subprocess
import sys

import numpy as np
import pytest

import rill

HERE = os.path.dirname(os.path.abspath(__file__))


def blobs(n, seed):
    """Two features, three classes of Gaussian blobs: a linear model can
    reach ~97% accuracy."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 3], [3, -2], [-3, -2]], np.float32)
    y = rng.integers(0, 3, n)
    x = centers[y] + rng.standard_normal((n, 2)).astype(np.float32)
    return x.astype(np.float32), y.astype(np.int64)


def softmax_model(use_resource=False):
    g = rill.Graph()
    with g.as_default():
        x = rill.placeholder(rill.float32, [None, 2], name="x")
        y = rill.placeholder(rill.int64, [None], name="y")
        with rill.device("/job:ps/task:0"):
            w = rill.Variable(np.zeros((2, 3), np.float32), name="w",
                              use_resource=use_resource)
            b = rill.Variable(np.zeros(3, np.float32), name="b",
                              use_resource=use_resource)
        logits = rill.ops.bias_add(rill.ops.mat_mul(x, w), b)
        xent = rill.ops.sparse_softmax_cross_entropy_with_logits(logits, y)
        loss = rill.ops.mean(xent.loss, [0], name="loss")
        correct = rill.ops.equal(rill.ops.arg_max(logits, 1), y)
        accuracy = rill.ops.mean(rill.ops.cast(correct, DstT=rill.float32),
                                 [0], name="accuracy")
    return g, x, y, loss, accuracy


@pytest.mark.parametrize("optimizer,use_resource", [
    (lambda: rill.train.GradientDescentOptimizer(0.5), False),
    (lambda: rill.train.AdamOptimizer(0.1), True),
    (lambda: rill.train.MomentumOptimizer(0.1, momentum=0.9), False),
    (lambda: rill.train.AdagradOptimizer(0.5), True),
], ids=["sgd", "adam-resource", "momentum", "adagrad-resource"])
def test_minimize_trains_to_accuracy(cluster, optimizer, use_resource):
    g, x, y, loss, accuracy = softmax_model(use_resource)
    x_train, y_train = blobs(512, seed=1)
    x_test, y_test = blobs(512, seed=2)
    with g.as_default():
        step = rill.train.get_or_create_global_step()
        train_op = optimizer().minimize(loss, global_step=step)
        init = rill.global_variables_initializer()
    assert train_op.type == "NoOp" and train_op.graph is g
    # The slots the optimizer made live with their variables on the ps.
    slots = [op for op in g.get_operations()
             if op.type in ("VariableV2", "VarHandleOp") and "/" in op.name]
    for op in slots:
        assert op.colocation_groups or op.device, op.name
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        s.run(init)
        before = s.run(loss, {x: x_train, y: y_train})
        for i in range(60):
            rows = slice((i * 64) % 512, (i * 64) % 512 + 64)
            s.run(train_op, {x: x_train[rows], y: y_train[rows]})
        after, acc = s.run([loss, accuracy], {x: x_test, y: y_test})
        assert s.run(step) == 60
    assert before == pytest.approx(np.log(3), rel=1e-5)
    assert after < 0.4 * before
    assert acc >= 0.9, acc


def test_minimize_of_a_chosen_variable_only(cluster):
    g, x, y, loss, accuracy = softmax_model()
    with g.as_default():
        b = [v for v in rill.trainable_variables() if v.op.name == "b"][0]
        opt = rill.train.GradientDescentOptimizer(1.0)
        train_op = opt.minimize(loss, var_list=[b])
        init = rill.global_variables_initializer()
    assert len(opt.gradients) == 1
    x_train, y_train = blobs(64, seed=3)
    with rill.Session(cluster.target("worker", 1), graph=g) as s:
        s.run(init)
        s.run(train_op, {x: x_train, y: y_train})
        w_value, b_value = s.run(["w:0", "b:0"])
    assert not w_value.any() and b_value.any()


def test_minimize_errors():
    g, x, y, loss, accuracy = softmax_model()
    with g.as_default():
        with pytest.raises(rill.errors.InvalidArgumentError):
            rill.train.GradientDescentOptimizer(0.1).minimize(
                rill.ops.shape(x))  # No variable reaches it.
        with pytest.raises(ValueError, match="learning_rate"):
            rill.train.GradientDescentOptimizer(-1)


@pytest.mark.parametrize("scheme,jobs,flags", [
    ("allreduce", {"worker": 2}, {}),
    ("sync-ps", {"ps": 1, "worker": 2}, {}),
    ("local-sgd", {"worker": 2}, {"tau": 4}),
])
def test_rill_train_schemes_from_python(scheme, jobs, flags):
    g, x, y, loss, accuracy = softmax_model()
    with g.as_default():
        rill.global_variables_initializer()
    x_train, y_train = blobs(1024, seed=4)
    x_test, y_test = blobs(256, seed=5)
    report = rill.train(g, loss=loss, data={x: x_train, y: y_train},
                        eval_data={x: x_test, y: y_test}, metrics=[accuracy],
                        scheme=scheme, local_cluster=jobs, optimizer="sgd",
                        lr=0.5, batch=32, epochs=3, seed=1, **flags)
    assert report["scheme"] == scheme
    assert report["workers"] == 2
    assert report["epochs"] == 3
    assert report["final"]["accuracy"] >= 0.9, report
    assert report["final"]["loss"] < 0.5, report


def test_rill_train_on_a_running_cluster(cluster):
    g, x, y, loss, accuracy = softmax_model()
    with g.as_default():
        rill.global_variables_initializer()
    x_train, y_train = blobs(512, seed=6)
    report = rill.train(g, loss="loss", data={"x": x_train, "y": y_train},
                        scheme="async-ps", cluster=cluster, lr=0.5, steps=50,
                        n_fetch=2, n_push=2)
    assert report["steps"] >= 50 and report["final"]["loss"] < 0.6, report


def test_example_trains_end_to_end():
    example = os.path.join(os.path.dirname(HERE), "examples", "train_mlp.py")
    out = subprocess.run([sys.executable, example, "--steps", "200"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy"), out.stdout
    assert float(last.split()[-1]) >= 0.9, out.stdout
