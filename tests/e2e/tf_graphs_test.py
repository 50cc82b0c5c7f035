#!/usr/bin/env python3
"""Runs every TensorFlow-written graph of tests/testdata/tf_graphs through
`rill run` and compares the fetches with TensorFlow's saved values.

Usage: tf_graphs_test.py RILL DIR [--doc FILE]. Graphs Rill cannot run yet are listed in
NOT_YET with the text their error must contain: they must still fail
cleanly (one `rill:` line, non-zero status), and one that starts to pass
fails the test until it is taken off the list. Prints how many of the
graphs match TensorFlow; with --doc, also writes that count and a table of
the graphs (docs/tf_coverage.md).
"""
import json
import math
import os
import re
import subprocess
import sys

# Graph -> a piece of the error it stops on today (issue 15's open items).
NOT_YET = {
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


DOC_HEAD = """# TensorFlow graph coverage

Typical tf.compat.v1 graphs, written and run by TensorFlow 2.21
(`tests/testdata/tf_graphs/make_tf_graphs.py`), are run through `rill run` by
`tests/e2e/tf_graphs_test.py` (part of `scripts/test`) and compared with
TensorFlow's saved fetches (floats to a relative 1e-4 or absolute 3e-5,
everything else exactly). A graph that does not run yet must still fail
with one clean `rill:` line naming what it stops on; one that starts to
match fails the test until it is taken off the test's list. This page is
written by `tf_graphs_test.py RILL DIR --doc docs/tf_coverage.md`.

**%d of %d graphs match TensorFlow.**

| graph | what it is | state |
| --- | --- | --- |
"""


def write_doc(path, rows):
    matched = sum(1 for r in rows if r[2] == "matches")
    with open(path, "w") as f:
        f.write(DOC_HEAD % (matched, len(rows)))
        for name, doc, state in rows:
            f.write("| `%s` | %s | %s |\n" % (name, doc, state))


def main():
    rill, folder = sys.argv[1], sys.argv[2]
    doc = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--doc" else None
    names = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))
    failures = []
    rows = []
    matched = 0
    for name in names:
        spec = json.load(open(os.path.join(folder, name + ".json")))
        outcome, detail = run_one(rill, os.path.join(folder, name + ".pb"), spec)
        print("%-30s %s %s" % (name, outcome, detail[:200]))
        missing = re.search(r"op type not registered: '(\w+)'", detail)
        rows.append((name, spec["doc"], "matches" if outcome == "match" else
                     "stops on a missing op: `%s`" % missing.group(1) if missing
                     else "%s: %s" % (outcome, detail[:120])))
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
    if doc:
        write_doc(doc, rows)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
