"""`rill fit` (Chu et al.'s exact algorithms, map-reduced over the workers)
as a user runs it, against NumPy: k-means, Gaussian naive Bayes and PCA on
the 8x8 digits (examples/data), logistic regression by Newton on digits
< 5 vs >= 5, and linear regression on synthetic data with a known teacher
(x ~ N(0, 1)^6, y = x.w + 0.7 + N(0, 0.1^2), seed 0). Each runs in this
process and on local clusters of 2 and 4 `rill server` workers: the
answers agree to 1e-9 (only the order of the sums differs) and equal
NumPy's one-machine computation; bad input gets a clear error.
"""
import json
import os
import subprocess
import tempfile

import numpy as np

from rill_cluster import RILL, ROOT, check, close

DATA = os.path.join(ROOT, "examples", "data")
X = os.path.join(DATA, "digits_train_x.npy")
Y = os.path.join(DATA, "digits_train_y.npy")
TX = os.path.join(DATA, "digits_test_x.npy")
TY = os.path.join(DATA, "digits_test_y.npy")


def fit(algorithm, workers, *flags):
    cmd = [RILL, "fit", algorithm, "--format", "json"] + list(flags)
    if workers > 1:
        cmd += ["--local-cluster", "worker=%d" % workers]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(out.returncode == 0, "%s on %d: %s" % (algorithm, workers, out.stderr))
    r = json.loads(out.stdout)
    check(r["workers"] == workers and r["converged"], "%s: %s" % (algorithm, r))
    if workers > 1:
        check(r["bytes_sent"] > 0, algorithm + ": no bytes sent on a cluster")
    return r


def on_all(algorithm, *flags):
    """The result on 1 worker, after checking 2 and 4 give the same."""
    results = [fit(algorithm, w, *flags) for w in (1, 2, 4)]
    for r in results[1:]:
        for key, value in results[0]["result"].items():
            close(r["result"][key], value, 1e-9,
                  "%s %s on %d workers" % (algorithm, key, r["workers"]))
    return results[0]["result"]


def expect_error(what, code, text, *args):
    out = subprocess.run([RILL] + list(args), capture_output=True, text=True,
                         timeout=120)
    line = out.stderr.strip()
    check(out.returncode != 0 and code in line and text in line
          and "\n" not in line, "%s: got %r" % (what, out.stderr))


def main():
    tmp = tempfile.mkdtemp()
    x = np.load(X).astype(np.float64)
    y = np.load(Y)
    tx, ty = np.load(TX).astype(np.float64), np.load(TY)
    n, d = x.shape

    # PCA: the covariance's leading eigenvectors (sign: largest entry > 0).
    r = on_all("pca", "--data", X, "--components", "5")
    close(r["mean"], x.mean(0), 1e-12, "pca mean")
    values, vectors = np.linalg.eigh(np.cov(x.T))
    top = vectors[:, ::-1][:, :5].T
    top *= np.sign(top[np.arange(5), np.argmax(np.abs(top), 1)])[:, None]
    close(r["components"], top, 1e-8, "pca components")
    close(r["explained_variance"], values[::-1][:5], 1e-10, "pca variance")
    close(r["explained_variance_ratio"], values[::-1][:5] / values.sum(),
          1e-10, "pca ratio")

    # Gaussian naive Bayes: per-class means, variances (+1e-9 of the
    # largest variance) and priors; its predictions.
    r = on_all("naive-bayes", "--data", X, "--labels", Y, "--eval", TX,
               "--eval-labels", TY)
    means = np.stack([x[y == c].mean(0) for c in range(10)])
    var = np.stack([x[y == c].var(0) for c in range(10)]) + 1e-9 * x.var(0).max()
    close(r["means"], means, 1e-12, "naive-bayes means")
    close(r["variances"], var, 1e-9, "naive-bayes variances")
    close(r["priors"], np.bincount(y) / n, 1e-12, "naive-bayes priors")

    def predict(data):
        ll = (-0.5 * np.log(2 * np.pi * var).sum(1) + np.log(np.bincount(y) / n)
              - 0.5 * (((data[:, None, :] - means[None]) ** 2) / var[None]).sum(2))
        return ll.argmax(1)
    close(r["accuracy"], (predict(x) == y).mean(), 1e-12, "naive-bayes accuracy")
    close(r["eval_accuracy"], (predict(tx) == ty).mean(), 1e-12,
          "naive-bayes held-out accuracy")
    check(r["eval_accuracy"] > 0.75, "naive-bayes: held-out accuracy %f" % r["eval_accuracy"])

    # k-means: a fixed point of Lloyd's iteration, and its cost.
    r = on_all("kmeans", "--data", X, "--k", "10", "--seed", "3", "--eval", TX)
    c = np.array(r["centroids"])
    dist = ((x[:, None, :] - c[None]) ** 2).sum(2)
    nearest = dist.argmin(1)
    close(c, np.stack([x[nearest == k].mean(0) for k in range(10)]), 1e-9,
          "kmeans centroids are their rows' means")
    close(r["sizes"], np.bincount(nearest, minlength=10), 0, "kmeans sizes")
    close(r["cost"], dist.min(1).sum(), 1e-9, "kmeans cost")
    close(r["eval_cost"], ((tx[:, None, :] - c[None]) ** 2).sum(2).min(1).sum(),
          1e-9, "kmeans held-out cost")

    # Logistic regression (Newton, ridge 1e-3 off the intercept).
    b = (y < 5).astype(np.float32)
    bpath = os.path.join(tmp, "binary.npy")
    np.save(bpath, b)
    r = on_all("logreg", "--data", X, "--labels", bpath, "--l2", "1e-3")
    a = np.c_[x, np.ones(n)]
    w = np.zeros(d + 1)
    pen = np.r_[np.full(d, 1e-3), 0.0]
    for _ in range(100):
        p = 1 / (1 + np.exp(-a @ w))
        g = a.T @ (b - p) - pen * w
        h = (a * (p * (1 - p))[:, None]).T @ a + np.diag(pen)
        w += np.linalg.solve(h, g)
    close(r["weights"], w[:d], 1e-7, "logreg weights")
    close(r["intercept"], w[d], 1e-7, "logreg intercept")
    z = a @ w
    close(r["log_likelihood"], (b * z - np.logaddexp(0, z)).sum(), 1e-9,
          "logreg log-likelihood")
    close(r["accuracy"], ((z > 0) == b).mean(), 1e-12, "logreg accuracy")

    # Linear regression against least squares.
    rng = np.random.default_rng(0)
    lx = rng.normal(size=(600, 6))
    ly = lx @ np.array([1, -2, 3, 0.5, 0, 4.0]) + 0.7 + 0.1 * rng.normal(size=600)
    np.save(os.path.join(tmp, "lx.npy"), lx.astype(np.float32))
    np.save(os.path.join(tmp, "ly.npy"), ly)
    r = on_all("linreg", "--data", os.path.join(tmp, "lx.npy"), "--labels",
               os.path.join(tmp, "ly.npy"))
    la = np.c_[lx.astype(np.float32).astype(np.float64), np.ones(600)]
    coef = np.linalg.lstsq(la, ly, rcond=None)[0]
    close(r["weights"], coef[:6], 1e-9, "linreg weights")
    close(r["intercept"], coef[6], 1e-9, "linreg intercept")
    close(r["rmse"], np.sqrt(((la @ coef - ly) ** 2).mean()), 1e-9, "linreg rmse")

    # Bad input.
    nan = os.path.join(tmp, "nan.npy")
    np.save(nan, np.array([[1.0, np.nan]]))
    short = os.path.join(tmp, "short.npy")
    np.save(short, y[:10])
    expect_error("unknown algorithm", "INVALID_ARGUMENT", "unknown algorithm 'svm'",
                 "fit", "svm", "--data", X)
    expect_error("no labels", "INVALID_ARGUMENT", "--labels: is required for logreg",
                 "fit", "logreg", "--data", X)
    expect_error("labels not 0/1", "INVALID_ARGUMENT", "logreg needs labels 0 and 1",
                 "fit", "logreg", "--data", X, "--labels", Y)
    expect_error("labels rows", "INVALID_ARGUMENT", "one label per row",
                 "fit", "naive-bayes", "--data", X, "--labels", short)
    expect_error("nan", "INVALID_ARGUMENT", "holds NaN or infinity",
                 "fit", "pca", "--data", nan)
    expect_error("k", "INVALID_ARGUMENT", "--k: 2000 clusters for 1437 rows",
                 "fit", "kmeans", "--data", X, "--k", "2000")
    expect_error("components", "INVALID_ARGUMENT", "--components: 65 components of 64",
                 "fit", "pca", "--data", X, "--components", "65")
    expect_error("missing file", "NOT_FOUND", "nope.npy",
                 "fit", "pca", "--data", os.path.join(tmp, "nope.npy"))
    expect_error("eval columns", "INVALID_ARGUMENT", "columns",
                 "fit", "kmeans", "--data", X, "--eval", os.path.join(tmp, "lx.npy"))
    expect_error("labels for pca", "INVALID_ARGUMENT", "--labels: pca takes none",
                 "fit", "pca", "--data", X, "--labels", Y)
    expect_error("ps tasks", "INVALID_ARGUMENT", "uses no ps tasks",
                 "fit", "pca", "--data", X, "--local-cluster", "ps=1,worker=2")
    print("PASS")


if __name__ == "__main__":
    main()
