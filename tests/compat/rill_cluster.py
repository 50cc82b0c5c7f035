"""Shared by the scripts in tests/compat: where Rill's binaries are, and a
cluster of `rill server` processes on free loopback ports for a `with`
block.

  with RillCluster({"ps": 2, "worker": 1}) as c:
      sess = tf.compat.v1.Session(c.target("worker", 0))

RILL_BIN_DIR names the folder with tools/ and examples/ (bazel-bin of the
optimized build; scripts/test sets it); the default is ROOT/bazel-bin.
"""
import json
import os
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.environ.get("RILL_BIN_DIR", os.path.join(ROOT, "bazel-bin"))
RILL = os.path.join(BIN_DIR, "tools", "rill")


def check(cond, what):
    """Ends the script with "FAIL: what" unless cond holds."""
    if not cond:
        raise SystemExit("FAIL: " + what)


def close(a, b, tol, what):
    """check() that a and b have one shape and agree to `tol`, relative
    for values past 1."""
    import numpy as np
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    check(a.shape == b.shape, "%s: shapes %s, %s" % (what, a.shape, b.shape))
    err = np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))) if a.size else 0
    check(err <= tol, "%s: off by %g (tolerance %g)" % (what, err, tol))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RillCluster:
    def __init__(self, jobs):
        self.spec = {job: ["127.0.0.1:%d" % free_port() for _ in range(n)]
                     for job, n in jobs.items()}
        self.procs = []

    def __enter__(self):
        if not os.path.exists(RILL):
            raise SystemExit("no %s: build first (bazel build //tools:rill)" % RILL)
        spec = json.dumps(self.spec)
        for job, addresses in self.spec.items():
            for task in range(len(addresses)):
                self.procs.append(subprocess.Popen(
                    [RILL, "server", "--cluster", spec, "--job", job, "--task",
                     str(task), "--file_root", tempfile.gettempdir()],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL))
        # Until every server accepts connections.
        deadline = time.time() + 30
        for addresses in self.spec.values():
            for address in addresses:
                host, port = address.split(":")
                while True:
                    try:
                        socket.create_connection((host, int(port)), 0.5).close()
                        break
                    except OSError:
                        if time.time() > deadline:
                            raise SystemExit("rill server %s did not start" % address)
                        time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait()

    def target(self, job, task):
        return "grpc://" + self.spec[job][task]
