"""Shared fixtures: one LocalCluster (a ps and two workers, real `rill
server` processes) for the whole run, and a session factory on it.

The rill program comes from RILL_BINARY (scripts/test sets it) or the one
the package was built against; RILL_BIN_DIR is Bazel's bazel-bin, for the
C++ programs some tests compare with."""

import os

import pytest

import rill

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


def bin_dir():
    return os.environ.get("RILL_BIN_DIR") or os.path.join(REPO, "bazel-bin")


@pytest.fixture(scope="session")
def cluster():
    with rill.LocalCluster(ps=1, worker=2) as c:
        yield c


@pytest.fixture
def run(cluster):
    """run(graph, fetches, feed_dict=None, task=0): one step in a fresh
    session on a worker."""
    def run_step(graph, fetches, feed_dict=None, task=0, **kwargs):
        with rill.Session(cluster.target("worker", task), graph=graph) as s:
            return s.run(fetches, feed_dict, **kwargs)
    return run_step
