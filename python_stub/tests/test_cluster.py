"""rill.LocalCluster: real server processes for a with block, stopped at
its end, on an exception, and when the Python process is killed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import rill


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie not yet reaped by its parent is gone for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def test_targets_and_spec():
    with rill.LocalCluster(ps=1, worker=2) as c:
        assert set(c.cluster_spec) == {"ps", "worker"}
        assert len(c.cluster_spec["worker"]) == 2
        assert c.target("worker", 1) == "grpc://" + c.cluster_spec["worker"][1]
        assert json.loads(c.json) == c.cluster_spec
        with pytest.raises(ValueError, match="no task /job:worker/task:2"):
            c.target("worker", 2)
        pids = [c.pid("ps", 0), c.pid("worker", 0), c.pid("worker", 1)]
        assert all(alive(p) for p in pids)
        root = c.file_root
        assert os.path.isdir(root)
    assert wait_gone(pids, 1)
    assert not os.path.exists(root)


def test_stopped_on_an_exception():
    pids = []
    with pytest.raises(KeyError):
        with rill.LocalCluster(worker=2) as c:
            pids = [c.pid("worker", 0), c.pid("worker", 1)]
            raise KeyError("boom")
    assert pids and wait_gone(pids, 1)


def test_stopped_when_python_is_killed(tmp_path):
    script = tmp_path / "start.py"
    script.write_text(
        "import os, signal, sys, rill\n"
        "c = rill.LocalCluster(worker=2).start()\n"
        "print(c.pid('worker', 0), c.pid('worker', 1), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == -signal.SIGKILL, out.stderr
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    assert wait_gone(pids), "servers outlived the killed Python process"


def test_a_server_that_cannot_start_is_reported():
    with pytest.raises(rill.errors.UnavailableError, match="exited"):
        rill.LocalCluster(worker=1, args=["--no_such_flag", "1"]).start()


def test_bad_counts():
    with pytest.raises(ValueError, match="at least one task"):
        rill.LocalCluster(worker=0)
    with pytest.raises(ValueError, match="count of tasks"):
        rill.LocalCluster(worker=-1)


def test_a_port_taken_meanwhile_is_retried(monkeypatch):
    """Another process binds the port chosen for a server before the
    server does: the cluster starts again on other ports."""
    import socket
    from rill import cluster as cluster_lib
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    real = cluster_lib._free_port
    calls = []

    def free_port():
        calls.append(1)
        return taken if len(calls) == 1 else real()
    monkeypatch.setattr(cluster_lib, "_free_port", free_port)
    try:
        with rill.LocalCluster(worker=1, stderr=subprocess.DEVNULL) as c:
            assert c.address("worker", 0) != "127.0.0.1:%d" % taken
            with rill.Graph().as_default() as g:
                x = rill.constant(4.0)
            with rill.Session(c.target(), graph=g) as s:
                assert s.run(x) == 4.0
    finally:
        squatter.close()
    assert len(calls) == 2
