#!/usr/bin/env python3
"""Side by side, one run: float32 MatMul GFLOP/s at N = 256, 1024, 4096 for
Rill (Session::Run), Eigen and OpenBLAS (from matmul_bench), and TensorFlow's
Session. Prints Rill's throughput as a fraction of the best BLAS and of
TensorFlow's.

  bazel build //tests/bench:matmul_bench
  python3 tests/bench/matmul_vs_tf.py     # needs pip install tensorflow-cpu
"""
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bazel-bin", "tests", "bench", "matmul_bench")


def bench():
    out = subprocess.run([BENCH, "--benchmark_format=json", "--benchmark_min_time=1"],
                         check=True, capture_output=True, text=True).stdout
    figures = {}
    for r in json.loads(out)["benchmarks"]:
        name, n = r["name"].split("/")[0].replace("BM_", ""), int(r["name"].split("/")[1])
        figures[(name, n)] = r["GFLOPS"]
    return figures


def tf_gflops(n, seconds=1.0):
    import numpy as np
    import tensorflow as tf
    g = tf.Graph()
    with g.as_default():
        a = tf.compat.v1.placeholder(tf.float32, [n, n])
        b = tf.compat.v1.placeholder(tf.float32, [n, n])
        c = tf.matmul(a, b)
    rs = np.random.RandomState(0)
    feeds = {a: rs.rand(n, n).astype(np.float32), b: rs.rand(n, n).astype(np.float32)}
    with tf.compat.v1.Session(graph=g) as s:
        s.run(c, feeds)
        runs, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            s.run(c, feeds)
            runs += 1
        elapsed = time.perf_counter() - start
    return 2.0 * n ** 3 * runs / elapsed / 1e9


def main():
    f = bench()
    for n in (256, 1024, 4096):
        rill, eigen, blas = f[("RillMatMul", n)], f[("EigenGemm", n)], f[("OpenBlasSgemm", n)]
        tf = tf_gflops(n)
        best = max(eigen, blas)
        print("N=%-5d rill %6.1f  eigen %6.1f  openblas %6.1f  tensorflow %6.1f GFLOP/s"
              "   rill/best-blas %.2f  rill/tf %.2f" % (n, rill, eigen, blas, tf, rill / best, rill / tf))


if __name__ == "__main__":
    main()
