#!/usr/bin/env python3
"""rill train's schemes side by side on one local cluster size: the digits
MLP (64-HIDDEN-10, Adam) on 1 ps + 2 workers (allreduce: 2 workers), the
same global batch and epochs. Per scheme: steps/s, examples/s, the wall
time until the held-out accuracy first reaches --target (from the progress
lines as they arrive, evaluation included), the final accuracy, and the
bytes sent per step (fetched + pushed for the ps schemes, the ring's volume
for allreduce).

  python3 tests/bench/train_ps_schemes.py [--hidden 256] [--epochs 20] [--json out.json]

It builds the optimized binaries itself (bazel build //tools:rill
//examples:build_mlp_graph, the default optimized configuration).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "examples", "data")

SCHEMES = [
    ("allreduce", ["--scheme", "allreduce", "--local-cluster", "ps=0,worker=2"]),
    ("sync-ps", ["--scheme", "sync-ps", "--local-cluster", "ps=1,worker=2"]),
    ("sync-ps 2 of 3", ["--scheme", "sync-ps", "--replicas-to-aggregate", "2",
                        "--local-cluster", "ps=1,worker=3"]),
    ("async-ps", ["--scheme", "async-ps", "--local-cluster", "ps=1,worker=2"]),
    ("async-ps fetch 4 push 2", ["--scheme", "async-ps", "--n-fetch", "4",
                                 "--n-push", "2", "--local-cluster", "ps=1,worker=2"]),
    ("ssp s=2", ["--scheme", "ssp", "--staleness", "2", "--local-cluster",
                 "ps=1,worker=2"]),
]


def build():
    subprocess.run(["bazel", "build", "//tools:rill", "//examples:build_mlp_graph"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    bin_dir = subprocess.run(["bazel", "info", "bazel-bin"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return (os.path.join(bin_dir, "tools", "rill"),
            os.path.join(bin_dir, "examples", "build_mlp_graph"))


def run(rill, model, flags, args):
    cmd = [rill, "train", model, "--loss", "loss",
           "--data", "x=%s/digits_train_x.npy" % DATA,
           "--data", "y=%s/digits_train_y.npy" % DATA,
           "--eval", "x=%s/digits_test_x.npy" % DATA,
           "--eval", "y=%s/digits_test_y.npy" % DATA,
           "--metric", "accuracy", "--batch", str(args.batch), "--optimizer", "adam",
           "--lr", "0.003", "--epochs", str(args.epochs), "--format", "json"] + flags
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    to_target = None
    for line in proc.stderr:
        words = line.split()
        if words[:1] == ["epoch"] and "accuracy" in words and to_target is None:
            if float(words[words.index("accuracy") + 1]) >= args.target:
                to_target = time.perf_counter() - start
    out = proc.stdout.read()
    if proc.wait() != 0:
        sys.exit("failed: %s" % " ".join(cmd))
    result = json.loads(out)
    result["to_target_s"] = to_target
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--json")
    args = parser.parse_args()
    rill, build_mlp = build()
    model = os.path.join(tempfile.mkdtemp(), "mlp.pbtxt")
    subprocess.run([build_mlp, "--out=" + model, "--inputs=64",
                    "--hidden=%d" % args.hidden, "--labels=int32"], check=True,
                   stdout=subprocess.DEVNULL)
    rows = []
    print("%-24s %8s %11s %12s %9s %14s" % ("scheme", "steps/s", "examples/s",
                                           "to %.2f (s)" % args.target, "accuracy",
                                           "bytes/step"))
    for name, flags in SCHEMES:
        r = run(rill, model, flags, args)
        row = {"scheme": name, "steps_per_s": r["steps"] / r["seconds"],
               "examples_per_s": r["examples_per_second"],
               "to_target_s": r["to_target_s"], "accuracy": r["final"]["accuracy"],
               "bytes_per_step": r["bytes_sent"] / r["steps"]}
        rows.append(row)
        print("%-24s %8.1f %11.0f %12s %9.3f %14.0f" % (
            name, row["steps_per_s"], row["examples_per_s"],
            "-" if row["to_target_s"] is None else "%.2f" % row["to_target_s"],
            row["accuracy"], row["bytes_per_step"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
