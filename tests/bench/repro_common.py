"""Shared by the reproductions of the lecture's results (tests/bench/repro_*.py):
building the optimized binaries, running `rill train` / `rill fit` with
the progress lines timed as they arrive, and writing a script's section of
docs/reproductions.md (between its markers) and its plot into docs/.

The scripts need numpy and matplotlib (and tensorflow for the models some
write); run them with the venv that has them, e.g.
  ~/.cache/rill-venv-dev/bin/python tests/bench/repro_sparknet.py
"""
import json
import os
import re
import subprocess
import tempfile
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "examples", "data")
DOCS = os.path.join(ROOT, "docs")
DIGITS = ["--data", "x=%s/digits_train_x.npy" % DATA,
          "--data", "y=%s/digits_train_y.npy" % DATA,
          "--eval", "x=%s/digits_test_x.npy" % DATA,
          "--eval", "y=%s/digits_test_y.npy" % DATA]


def build():
    """(rill, build_mlp_graph): the optimized binaries, built here."""
    subprocess.run(["bazel", "build", "//tools:rill", "//examples:build_mlp_graph"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    bin_dir = subprocess.run(["bazel", "info", "bazel-bin"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return (os.path.join(bin_dir, "tools", "rill"),
            os.path.join(bin_dir, "examples", "build_mlp_graph"))


def digits_mlp(build_mlp, hidden=32):
    """The digits MLP (64-hidden-10) as a GraphDef file."""
    path = os.path.join(tempfile.mkdtemp(), "mlp_%d.pbtxt" % hidden)
    subprocess.run([build_mlp, "--out=" + path, "--inputs=64",
                    "--hidden=%d" % hidden, "--labels=int32"], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def train(rill, model, flags):
    """Runs `rill train MODEL FLAGS --format json`; the JSON result with
    "curve": (seconds since start, epoch, step, {metric: value}) per
    progress line as it arrived."""
    cmd = [rill, "train", model] + flags + ["--format", "json"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    curve, log = [], []
    for line in proc.stderr:
        log.append(line)
        words = line.split()
        if words[:1] == ["epoch"] and "step" in words:
            values = {}
            for key in ("loss", "accuracy", "mse"):
                if key in words:
                    value = words[words.index(key) + 1]
                    values[key] = float("nan") if value == "null" else float(value)
            curve.append((time.perf_counter() - start, int(words[1]),
                          int(words[words.index("step") + 1]), values))
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), "".join(log[-5:])))
    result = json.loads(out)
    result["curve"] = curve
    result["wall_s"] = time.perf_counter() - start
    return result


def fit(rill, algorithm, flags):
    out = subprocess.run([rill, "fit", algorithm, "--format", "json"] + flags,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit("rill fit %s failed: %s" % (algorithm, out.stderr))
    return json.loads(out.stdout)


def machine():
    """A line saying what this machine is, for the notes."""
    cores = os.cpu_count()
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%d cores (%s)" % (cores, model or "unknown CPU")


def write_section(name, markdown):
    """Replaces this script's section of docs/reproductions.md (between
    <!-- begin NAME --> and <!-- end NAME -->), appending it if new."""
    path = os.path.join(DOCS, "reproductions.md")
    text = open(path).read() if os.path.exists(path) else "# Reproductions\n"
    begin, end = "<!-- begin %s -->" % name, "<!-- end %s -->" % name
    block = "%s\n%s\n%s" % (begin, markdown.strip(), end)
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def table(header, rows):
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---:" if i else "---" for i in range(len(header))) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def save(fig, name):
    path = os.path.join(DOCS, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
