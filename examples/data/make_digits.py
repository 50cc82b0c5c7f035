#!/usr/bin/env python3
"""Converts the 8x8 handwritten digits that Debian's python3-sklearn ships
(sklearn/datasets/data/digits.csv.gz: 1797 rows of 64 pixels 0..16 and a
label) into .npy files for examples/mlp_digits: pixels scaled to [0, 1] as
float32, labels as int32, split 80/20 into train and test after a fixed
shuffle.

  apt-get install python3-sklearn && python3 examples/data/make_digits.py
"""
import gzip
import os
import sys

import numpy as np

DEFAULT = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.float64)
    x = (rows[:, :64] / 16.0).astype(np.float32)
    y = rows[:, 64].astype(np.int32)
    order = np.random.RandomState(0).permutation(len(y))
    x, y = x[order], y[order]
    n_train = int(len(y) * 0.8)
    for name, value in [("train_x", x[:n_train]), ("train_y", y[:n_train]),
                        ("test_x", x[n_train:]), ("test_y", y[n_train:])]:
        np.save(os.path.join(HERE, "digits_%s.npy" % name), value)
    print("wrote %d train and %d test digits to %s" %
          (n_train, len(y) - n_train, HERE))


if __name__ == "__main__":
    main()
