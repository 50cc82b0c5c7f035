"""rill.LocalCluster: `rill server` processes on free loopback ports for
the length of a `with` block.

    with rill.LocalCluster(ps=1, worker=2) as cluster:
        with rill.Session(cluster.target("worker", 0), graph=g) as s: ...

The servers are stopped when the block ends, also on an exception, and
when this process dies (they get SIGTERM from the kernel then).
"""

import atexit
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref

from rill import _binary
from rill import errors

_PR_SET_PDEATHSIG = 1


class _PortTaken(Exception):
    """A server exited because another process took its port."""
_live = weakref.WeakSet()


def _watch_serving(proc):
    """An Event set when the server prints its "serving on" line; a thread
    drains its stdout until it exits."""
    event = threading.Event()

    def read():
        for line in proc.stdout:
            if b"serving on" in line:
                event.set()
        proc.stdout.close()

    threading.Thread(target=read, daemon=True).start()
    return event


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


try:  # Looked up here: the forked child must not import anything.
    import ctypes
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (ImportError, OSError, AttributeError):  # Not Linux.
    _prctl = None


def _die_with_parent():
    """In the child: SIGTERM when the parent dies (Linux)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


class LocalCluster:
    """Servers of jobs "chief" (when chief=1), "ps" and "worker", each task
    on its own loopback port. `binary`: the rill program (else RILL_BINARY,
    PATH). `file_root`: where the servers may save checkpoints (default: a
    temporary directory removed at the end). `args`: more flags for every
    server (e.g. ["--memory_limit", "1G"]). `stderr`: where the servers'
    logs go (default: this process's stderr)."""

    def __init__(self, ps=0, worker=1, chief=0, binary=None, file_root=None,
                 args=(), stderr=None, timeout=60):
        for job, n in (("ps", ps), ("worker", worker), ("chief", chief)):
            if not isinstance(n, int) or n < 0:
                raise ValueError("%s must be a count of tasks, got %r" %
                                 (job, n))
        if ps + worker + chief == 0:
            raise ValueError("a LocalCluster needs at least one task")
        self._binary = _binary.find_binary(binary)
        self._counts = {"chief": chief, "ps": ps, "worker": worker}
        self._args = list(args)
        self._stderr = stderr
        self._timeout = timeout
        self._tmp = None
        self.file_root = file_root
        self._procs = {}
        self.cluster_spec = {}

    # Lifetime -------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if self._procs:
            return self
        if self.file_root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rill-cluster-")
            self.file_root = self._tmp.name
        _live.add(self)
        try:
            # A free port can be taken by another process before the server
            # binds it; that server exits, and the cluster starts again on
            # other ports.
            for attempt in range(3):
                try:
                    self._spawn_all()
                    return self
                except _PortTaken:
                    self._stop_servers()
                    if attempt == 2:
                        raise errors.UnavailableError(
                            "rill servers could not bind free ports three "
                            "times") from None
        except BaseException:
            self.stop()
            raise

    def _spawn_all(self):
        self.cluster_spec = {
            job: ["127.0.0.1:%d" % _free_port() for _ in range(n)]
            for job, n in self._counts.items() if n > 0}
        spec = json.dumps(self.cluster_spec)
        serving = {}
        for job, addresses in self.cluster_spec.items():
            for task in range(len(addresses)):
                proc = subprocess.Popen(
                    [self._binary, "server", "--cluster", spec, "--job", job,
                     "--task", str(task), "--file_root", self.file_root] +
                    self._args,
                    stdout=subprocess.PIPE,
                    stderr=self._stderr if self._stderr is not None
                    else sys.stderr,
                    preexec_fn=_die_with_parent)
                self._procs[(job, task)] = proc
                serving[(job, task)] = _watch_serving(proc)
        self._wait_serving(serving)

    def _port(self, job, task):
        return int(self.cluster_spec[job][task].rsplit(":", 1)[1])

    def _wait_serving(self, serving):
        """Until each server has said it serves (it bound its port itself:
        a port merely accepting connections could be another process's)."""
        deadline = time.monotonic() + self._timeout
        waiting = dict(serving)
        while waiting:
            for (job, task), event in list(waiting.items()):
                if event.is_set():
                    del waiting[(job, task)]
                    continue
                proc = self._procs[(job, task)]
                if proc.poll() is not None:
                    if _listening(self._port(job, task)):
                        raise _PortTaken()  # By another process.
                    raise errors.UnavailableError(
                        "rill server for /job:%s/task:%d exited with status "
                        "%d before it served (see its error above)" %
                        (job, task, proc.returncode))
            if waiting and time.monotonic() > deadline:
                job, task = next(iter(waiting))
                raise errors.UnavailableError(
                    "rill server for /job:%s/task:%d did not serve within "
                    "%d s" % (job, task, self._timeout))
            if waiting:
                time.sleep(0.02)

    def _stop_servers(self):
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self._procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = {}

    def stop(self):
        """Stops every server: SIGTERM, then SIGKILL after 10 s."""
        self._stop_servers()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.file_root = None
        _live.discard(self)

    # Addresses --------------------------------------------------------------

    def target(self, job="worker", task=0):
        """"grpc://127.0.0.1:PORT" of a task, to give to rill.Session."""
        return "grpc://" + self.address(job, task)

    def address(self, job="worker", task=0):
        if job not in self.cluster_spec or not \
                0 <= task < len(self.cluster_spec[job]):
            raise ValueError("the cluster has no task /job:%s/task:%s (it has "
                             "%s)" % (job, task, self._describe()))
        return self.cluster_spec[job][task]

    def _describe(self):
        return ", ".join("%s=%d" % (j, len(a))
                         for j, a in self.cluster_spec.items()) or "none"

    @property
    def json(self):
        """TensorFlow's cluster JSON, as `rill train --cluster` takes it."""
        return json.dumps(self.cluster_spec)

    def pid(self, job="worker", task=0):
        self.address(job, task)
        return self._procs[(job, task)].pid


@atexit.register
def _stop_all():
    for cluster in list(_live):
        cluster.stop()

