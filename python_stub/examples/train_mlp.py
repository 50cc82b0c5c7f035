"""Trains an MLP on the 8x8 handwritten digits from Python, on a local
Rill cluster: the variables on a parameter server, the steps on a worker.

    pip install ./python_stub
    python python_stub/examples/train_mlp.py [--steps 600] [--data_dir DIR]

The graph is built with rill.ops, Adam's gradients and updates come from
Rill's C++ gradient registry (AdamOptimizer.minimize), and every step is a
Session.run on the cluster. Ends with "test accuracy 0.9xx".
"""

import argparse
import os

import numpy as np

import rill

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                    "examples", "data")


def dense(x, n_in, n_out, name, seed):
    """x @ w + b with w drawn from a truncated normal on the graph."""
    with rill.name_scope(name):
        w0 = rill.ops.truncated_normal([n_in, n_out], dtype=rill.float32,
                                       seed=seed) * np.sqrt(2.0 / n_in)
        with rill.device("/job:ps/task:0"):
            w = rill.Variable(w0, name="w")
            b = rill.Variable(np.zeros(n_out, np.float32), name="b")
        return rill.ops.bias_add(rill.ops.mat_mul(x, w), b)


def build(hidden, lr):
    g = rill.Graph()
    with g.as_default():
        x = rill.placeholder(rill.float32, [None, 64], name="x")
        y = rill.placeholder(rill.int32, [None], name="y")
        h = rill.ops.relu(dense(x, 64, hidden, "hidden", seed=1))
        logits = dense(h, hidden, 10, "logits", seed=2)
        xent = rill.ops.sparse_softmax_cross_entropy_with_logits(logits, y)
        loss = rill.ops.mean(xent.loss, [0], name="loss")
        prediction = rill.ops.arg_max(logits, 1, output_type=rill.int32)
        accuracy = rill.ops.mean(
            rill.ops.cast(rill.ops.equal(prediction, y), DstT=rill.float32),
            [0], name="accuracy")
        step = rill.train.get_or_create_global_step()
        train_op = rill.train.AdamOptimizer(lr).minimize(loss,
                                                         global_step=step)
        init = rill.global_variables_initializer()
    return g, x, y, loss, accuracy, train_op, init


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--data_dir", default=DATA)
    args = parser.parse_args()

    def load(name):
        return np.load(os.path.join(args.data_dir, "digits_%s.npy" % name))
    x_train, y_train = load("train_x"), load("train_y")
    x_test, y_test = load("test_x"), load("test_y")

    g, x, y, loss, accuracy, train_op, init = build(args.hidden, args.lr)
    rng = np.random.default_rng(0)
    with rill.LocalCluster(ps=1, worker=1) as cluster, \
            rill.Session(cluster.target("worker", 0), graph=g) as sess:
        sess.run(init)
        order = rng.permutation(len(x_train))
        for i in range(args.steps):
            start = (i * args.batch) % len(x_train)
            if start + args.batch > len(x_train):
                order = rng.permutation(len(x_train))
                start = 0
            rows = order[start:start + args.batch]
            _, value = sess.run([train_op, loss],
                                {x: x_train[rows], y: y_train[rows]})
            if (i + 1) % 100 == 0:
                print("step %d  loss %.4f" % (i + 1, value), flush=True)
        acc = sess.run(accuracy, {x: x_test, y: y_test})
    print("test accuracy %.3f" % acc)


if __name__ == "__main__":
    main()
