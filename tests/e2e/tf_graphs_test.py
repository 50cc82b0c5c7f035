#!/usr/bin/env python3
"""Runs every TensorFlow-written graph of tests/testdata/tf_graphs through
`rill run` and compares the fetches with TensorFlow's saved values.

Usage: tf_graphs_test.py RILL DIR. Graphs Rill cannot run yet are listed in
NOT_YET with the text their error must contain: they must still fail
cleanly (one `rill:` line, non-zero status), and one that starts to pass
fails the test until it is taken off the list. Prints how many of the
graphs match TensorFlow.
"""
import json
import math
import os
import subprocess
import sys

# Graph -> a piece of the error it stops on today (issue 15's open items).
NOT_YET = {
    "cond_v2": "'StatelessIf'",
    "dataset_batches": "'TensorSliceDataset'",
    "dynamic_rnn_v1": "'TensorArrayV3'",
    "indexing": "'GatherNd'",
    "linear_algebra": "'Einsum'",
    "opt_adadelta": "'ApplyAdadelta'",
    "opt_ftrl": "'ApplyFtrl'",
    "opt_proximal_adagrad": "'ApplyProximalAdagrad'",
    "opt_proximal_gd": "'ApplyProximalGradientDescent'",
    "opt_rmsprop_centered": "'ApplyCenteredRMSProp'",
    "random_seeded": "'StatelessRandomGetKeyCounter'",
    "sampled_softmax": "'LogUniformCandidateSampler'",
    "sparse_math": "'SparseTensorDenseMatMul'",
    "strings": "'StringLength'",
    "while_v1": "'Enter'",
    "while_v2": "'StatelessWhile'",
}


def feed_arg(name, value):
    flat = value["values"]

    def nest(flat, shape):
        if not shape:
            return flat[0]
        step = len(flat) // shape[0] if shape[0] else 0
        return [nest(flat[i * step:(i + 1) * step], shape[1:])
                for i in range(shape[0])]
    return "%s=%s" % (name, json.dumps(nest(flat, value["shape"])))


def close(got, want, dtype):
    if dtype.startswith("float"):
        return all(math.isclose(g, w, rel_tol=1e-4, abs_tol=3e-5) or
                   (math.isnan(g) and math.isnan(w))
                   for g, w in zip(got, want))
    return got == want


def run_one(rill, path, spec):
    cmd = [rill, "run", path, "--format", "json",
           "--steps", str(spec["steps"])]
    for op in spec["init"]:
        cmd += ["--init", op]
    for name, value in sorted(spec["feeds"].items()):
        cmd += ["--feed", feed_arg(name, value)]
    for t in spec["targets"]:
        cmd += ["--target", t]
    for f in spec["fetches"]:
        cmd += ["--fetch", f]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return "error", p.stderr.strip()
    got = json.loads(p.stdout)["fetches"]
    for name, want in spec["expected"].items():
        g = got.get(name)
        if g is None:
            return "differs", "no fetch " + name
        if g["shape"] != want["shape"] or not close(
                g["values"], want["values"], want["dtype"]):
            return "differs", "%s: got %s, TensorFlow %s" % (
                name, json.dumps(g)[:300], json.dumps(want)[:300])
    return "match", ""


def main():
    rill, folder = sys.argv[1], sys.argv[2]
    names = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))
    failures = []
    matched = 0
    for name in names:
        spec = json.load(open(os.path.join(folder, name + ".json")))
        outcome, detail = run_one(rill, os.path.join(folder, name + ".pb"), spec)
        print("%-30s %s %s" % (name, outcome, detail[:200]))
        if outcome == "match":
            matched += 1
            if name in NOT_YET:
                failures.append(name + " now matches: take it off NOT_YET")
        elif name not in NOT_YET:
            failures.append("%s: %s %s" % (name, outcome, detail))
        elif outcome == "differs":
            failures.append("%s runs but differs from TensorFlow: %s" %
                            (name, detail))
        elif not (detail.startswith("rill: ") and "\n" not in detail and
                  NOT_YET[name] in detail):
            failures.append("%s: not the clean error expected (%r): %s" %
                            (name, NOT_YET[name], detail))
    print("%d of %d TensorFlow graphs match TensorFlow" % (matched, len(names)))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
