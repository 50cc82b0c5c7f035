"""Session.run as TensorFlow's: fetch structures, names, feeds, run
options and metadata, make_callable, graphs extended between runs,
variables on the ps task."""

import collections

import numpy as np
import pytest

import rill


def small_graph():
    with rill.Graph().as_default() as g:
        a = rill.placeholder(rill.float32, [2], name="a")
        b = rill.constant(np.array([10, 20], np.float32), name="b")
        s = rill.ops.add_v2(a, b, name="s")
        p = rill.ops.mul(a, b, name="p")
    return g, a, b, s, p


def test_nested_fetches(run):
    g, a, b, s, p = small_graph()
    Pair = collections.namedtuple("Pair", ["sum", "prod"])
    out = run(g, {"x": [s, (p, s)], "pair": Pair(s, p), "b": b,
                  "name": "s:0"}, {a: np.array([1, 2], np.float32)})
    np.testing.assert_array_equal(out["x"][0], [11, 22])
    assert isinstance(out["x"][1], tuple)
    np.testing.assert_array_equal(out["x"][1][0], [10, 40])
    assert isinstance(out["pair"], Pair)
    np.testing.assert_array_equal(out["pair"].prod, [10, 40])
    np.testing.assert_array_equal(out["b"], [10, 20])
    np.testing.assert_array_equal(out["name"], [11, 22])


def test_empty_fetches_run_nothing(run):
    g, a, b, s, p = small_graph()
    assert run(g, []) == [] and run(g, {}) == {} and run(g, ()) == ()


def test_operation_fetch_is_none_and_feed_by_name(run):
    g, a, b, s, p = small_graph()
    out = run(g, [s.op, "p", s], {"a:0": np.array([1, 1], np.float32)})
    assert out[0] is None and out[1] is None
    np.testing.assert_array_equal(out[2], [11, 21])


def test_variables_live_across_runs_and_on_the_ps(cluster):
    with rill.Graph().as_default() as g:
        with rill.device("/job:ps/task:0"):
            v = rill.Variable(np.zeros(3, np.float32), name="v")
        with rill.device("/job:worker/task:1"):
            inc = v.assign_add(np.ones(3, np.float32))
        init = rill.global_variables_initializer()
    assert v.device == "/job:ps/task:0"
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        s.run(init)
        for _ in range(3):
            s.run(inc)
        np.testing.assert_array_equal(s.run(v), [3, 3, 3])
        devices = {d.name for d in s.list_devices()}
    assert any("/job:ps/replica:0/task:0" in d for d in devices), devices
    assert any("/job:worker/replica:0/task:1" in d for d in devices), devices


def test_graph_extended_between_runs(run, cluster):
    with rill.Graph().as_default() as g:
        x = rill.constant(2.0, name="x")
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        assert s.run(x) == 2.0
        with g.as_default():
            y = x * 3.0
            z = rill.ops.square(y)
        assert s.run([y, z]) == [6.0, 36.0]


def test_make_callable_and_default_session(cluster):
    g, a, b, s_, p = small_graph()
    with rill.Session(cluster.target("worker", 1), graph=g) as s:
        f = s.make_callable([s_, p], [a])
        out = f(np.array([1, 2], np.float32))
        np.testing.assert_array_equal(out[1], [10, 40])
        with pytest.raises(TypeError, match="expected 1"):
            f()
        with s.as_default():
            np.testing.assert_array_equal(b.eval(), [10, 20])


def test_run_options_trace_and_metadata(cluster):
    g, a, b, s_, p = small_graph()
    options = rill.RunOptions(trace_level=rill.RunOptions.FULL_TRACE,
                              timeout_in_ms=60000)
    metadata = rill.RunMetadata()
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        s.run(p, {a: np.ones(2, np.float32)}, options=options,
              run_metadata=metadata)
    nodes = [n.node_name for d in metadata.step_stats.dev_stats
             for n in d.node_stats]
    assert "p" in nodes, nodes


def test_timeout_option_ends_a_blocked_step(cluster):
    with rill.Graph().as_default() as g:
        q = rill.ops.fifo_queue_v2(component_types=[rill.float32],
                                   shapes=[[]], name="q_blocked")
        deq = rill.ops.queue_dequeue_v2(q, component_types=[rill.float32])
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        with pytest.raises(rill.errors.DeadlineExceededError):
            s.run(deq, options=rill.RunOptions(timeout_in_ms=300))


def test_closed_session_refuses(cluster):
    g, a, b, s_, p = small_graph()
    s = rill.Session(cluster.target("worker", 0), graph=g)
    s.run(b)
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.run(b)


def test_bad_targets():
    for target in ("", "grpc://", "localhost", None):
        with pytest.raises(ValueError, match="target"):
            rill.Session(target)


def test_steps_of_several_threads_run_concurrently(cluster):
    """Hogwild-style: four threads share one session and one variable."""
    import threading
    with rill.Graph().as_default() as g:
        v = rill.Variable(np.zeros([], np.float32), name="counter")
        inc = rill.ops.assign_add(v, np.float32(1), use_locking=True)
        init = rill.global_variables_initializer()
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        s.run(init)

        def work():
            for _ in range(25):
                s.run(inc)
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert s.run(v) == 100
