"""Each rill.errors class, raised by a real server (or the client) for the
failure it names, carrying its status code and the server's message."""

import os

import numpy as np
import pytest

import rill
from rill import errors


def test_every_code_has_its_class():
    names = {
        1: "CancelledError", 2: "UnknownError", 3: "InvalidArgumentError",
        4: "DeadlineExceededError", 5: "NotFoundError",
        6: "AlreadyExistsError", 7: "PermissionDeniedError",
        8: "ResourceExhaustedError", 9: "FailedPreconditionError",
        10: "AbortedError", 11: "OutOfRangeError", 12: "UnimplementedError",
        13: "InternalError", 14: "UnavailableError", 15: "DataLossError",
        16: "UnauthenticatedError"}
    for code, name in names.items():
        e = errors.error_from_code(code, "m")
        assert type(e).__name__ == name and type(e) is getattr(errors, name)
        assert isinstance(e, errors.OpError)
        assert e.code == code and e.error_code == code and e.message == "m"
        assert errors.error_from_code(errors.code_name(code), "m").code == code
    e = errors.error_from_code(3, "node 'mm' (MatMul): bad")
    assert e.node_name == "mm"


def run_one(cluster, build, feed=None, **session_args):
    with rill.Graph().as_default() as g:
        fetch = build()
    with rill.Session(cluster.target("worker", 0), graph=g,
                      **session_args) as s:
        return s.run(fetch, feed)


def test_invalid_argument_names_the_node(cluster):
    with rill.Graph().as_default() as g:
        x = rill.placeholder(rill.float32, None, name="x")
        y = rill.ops.mat_mul(x, x, name="mm")
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        with pytest.raises(errors.InvalidArgumentError) as info:
            s.run(y, {x: np.ones((2, 3), np.float32)})
    assert info.value.code == errors.INVALID_ARGUMENT
    assert "mm" in info.value.message


def test_failed_precondition_for_an_uninitialized_variable(cluster):
    with pytest.raises(errors.FailedPreconditionError, match="never_initialized"):
        run_one(cluster, lambda: rill.Variable(1.0, name="never_initialized").value())


def test_out_of_range_on_a_closed_queue(cluster):
    with rill.Graph().as_default() as g:
        q = rill.ops.fifo_queue_v2(component_types=[rill.float32],
                                   shapes=[[]], name="q_closed")
        close = rill.ops.queue_close_v2(q)
        deq = rill.ops.queue_dequeue_v2(q, component_types=[rill.float32])
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        s.run(close)
        with pytest.raises(errors.OutOfRangeError):
            s.run(deq)


def save_op(prefix):
    return rill.ops.save_v2(prefix, ["t"], [""],
                            [rill.constant([1.0, 2.0], name="t")])


def restore_op(prefix):
    return rill.ops.restore_v2(prefix, ["t"], [""], dtypes=[rill.float32])


def test_files_outside_the_root_permission_denied(cluster):
    with pytest.raises(errors.PermissionDeniedError, match="file_root|outside"):
        run_one(cluster, lambda: save_op("/tmp/../etc/rill_ckpt"))
    assert not os.path.exists("/etc/rill_ckpt.index")


def test_not_found_and_data_loss_for_checkpoints(cluster):
    prefix = os.path.join(cluster.file_root, "ckpt")
    with pytest.raises(errors.NotFoundError):
        run_one(cluster, lambda: restore_op(prefix))
    run_one(cluster, lambda: save_op(prefix))
    np.testing.assert_array_equal(run_one(cluster, lambda: restore_op(prefix)),
                                  [[1.0, 2.0]])
    data = prefix + ".data-00000-of-00001"
    with open(data, "r+b") as f:
        f.write(b"\xff" * 8)
    with pytest.raises(errors.DataLossError):
        run_one(cluster, lambda: restore_op(prefix))


def test_unavailable_when_no_server_listens():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with rill.Graph().as_default() as g:
        c = rill.constant(1.0)
    with rill.Session("grpc://127.0.0.1:%d" % port, graph=g,
                      timeout=5) as sess:
        with pytest.raises(errors.UnavailableError, match=str(port)):
            sess.run(c)


def test_resource_exhausted_past_the_memory_limit():
    with rill.LocalCluster(worker=1, args=["--memory_limit", "64M"]) as c:
        with pytest.raises(errors.ResourceExhaustedError, match="big"):
            run_one(c, lambda: rill.ops.fill([100000000], np.float32(1),
                                             name="big"))
        # The server is still up.
        assert run_one(c, lambda: rill.constant(2.0)) == 2.0


def test_unauthenticated_without_the_token(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token-for-tests\n")
    with rill.LocalCluster(worker=1,
                           args=["--auth_token_file", str(token)]) as c:
        with pytest.raises(errors.UnauthenticatedError):
            run_one(c, lambda: rill.constant(1.0))
        with pytest.raises(errors.UnauthenticatedError):
            run_one(c, lambda: rill.constant(1.0), auth_token="wrong")
        assert run_one(c, lambda: rill.constant(1.0),
                       auth_token="s3cret-token-for-tests") == 1.0


def test_command_errors_carry_the_code():
    with rill.Graph().as_default() as g:
        rill.constant(1.0, name="c")
    with pytest.raises(errors.InvalidArgumentError, match="scheme"):
        rill.train(g, loss="c", data={"c": np.zeros((4, 1))},
                   scheme="no-such-scheme")
    with pytest.raises(errors.NotFoundError, match="no executable rill"):
        rill.LocalCluster(binary="/nonexistent/rill")
