#!/usr/bin/env python3
"""Chu et al. (2007), "Map-Reduce for Machine Learning on Multicore",
reproduced with `rill fit`: each exact algorithm in the statistical-query
form on 1, 2 and 4 workers (in-process for 1; local clusters of `rill
server` processes for 2 and 4): the largest difference of any result from
the one-worker answer, the map-reduce passes, the bytes sent and the time.

Data: the 8x8 digits (examples/data) repeated 8 times with a little noise
(11,496 rows x 64 features, seeded), binary labels digit < 5 for logistic
regression, the pixel sum as the target of linear regression. Writes
docs/repro_chu.png and its section of docs/reproductions.md.

  ~/.cache/rill-venv-dev/bin/python tests/bench/repro_chu.py
"""
import os
import tempfile

import numpy as np

import repro_common as rc

WORKERS = [1, 2, 4]


def flat(v):
    return sum((flat(x) for x in v), []) if isinstance(v, list) else [v]


def main():
    rill, _ = rc.build()
    tmp = tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    x = np.load(os.path.join(rc.DATA, "digits_train_x.npy"))
    y = np.load(os.path.join(rc.DATA, "digits_train_y.npy"))
    x = np.concatenate([x + 0.01 * rng.normal(size=x.shape) for _ in range(8)]).astype(np.float32)
    y = np.concatenate([y] * 8)
    paths = {}
    for name, value in [("x", x), ("y", y), ("binary", (y < 5).astype(np.float32)),
                        ("target", x.sum(1) + rng.normal(size=len(x)))]:
        paths[name] = os.path.join(tmp, name + ".npy")
        np.save(paths[name], value)
    algorithms = [
        ("kmeans", ["--data", paths["x"], "--k", "10", "--seed", "1"]),
        ("logreg", ["--data", paths["x"], "--labels", paths["binary"], "--l2", "1e-3"]),
        ("linreg", ["--data", paths["x"], "--labels", paths["target"]]),
        ("naive-bayes", ["--data", paths["x"], "--labels", paths["y"]]),
        ("pca", ["--data", paths["x"], "--components", "10"]),
    ]
    rows, times = [], {}
    for name, flags in algorithms:
        one = None
        for w in WORKERS:
            r = rc.fit(rill, name, flags + (["--local-cluster", "worker=%d" % w] if w > 1 else []))
            if one is None:
                one = r
            diff = max(abs(a - b) / max(1.0, abs(a))
                       for key, value in one["result"].items()
                       for a, b in zip(flat(value), flat(r["result"][key])))
            times.setdefault(name, []).append(r["seconds"])
            rows.append([name, w, r["iterations"], r["queries"], "%.1e" % diff,
                         "%.0f" % r["bytes_sent"], "%.3f" % r["seconds"]])
            print(rows[-1])
    fig, ax = rc.plt.subplots(figsize=(6.4, 3.6))
    width = 0.25
    for i, w in enumerate(WORKERS):
        ax.bar([j + (i - 1) * width for j in range(len(algorithms))],
               [times[name][i] for name, _ in algorithms], width,
               label="%d worker%s" % (w, "" if w == 1 else "s"))
    ax.set_xticks(range(len(algorithms)))
    ax.set_xticklabels([name for name, _ in algorithms])
    ax.set_ylabel("seconds (data loaded)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    ax.set_title("rill fit on %d rows x %d features" % x.shape)
    rc.save(fig, "repro_chu.png")
    rc.write_section("chu", """
## 5. Chu et al.: exact algorithms map-reduced over the workers

`tests/bench/repro_chu.py`; `rill fit ALGORITHM` in-process (1 worker) and
on local clusters of 2 and 4 `rill server` workers. Data: the digits
repeated 8 times with noise of 0.01 (%d rows x %d features, seed 0).
"max diff" is the largest relative difference of any number of the result
from the one-worker answer: only the order of the sums differs, so the
answers agree to rounding (tests/compat/exact_algorithms_vs_numpy.py checks
them against NumPy). Seconds exclude loading the shards.

%s

![Chu et al.](repro_chu.png)

Each pass sends the parameters to every worker and one sum per statistic
back (k-means: the centroids out, k x d sums and k counts in; PCA: a d x d
scatter matrix in). Machine: %s: the workers share the cores, so more
workers add the cost of the passes without adding cores; the paper's
linear speedup needs one core per worker.
""" % (x.shape[0], x.shape[1],
       rc.table(["algorithm", "workers", "iterations", "passes", "max diff",
                 "bytes sent", "seconds"], rows), rc.machine()))


if __name__ == "__main__":
    main()
