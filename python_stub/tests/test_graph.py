"""Graph building: names and scopes as the C++ API makes them, devices,
control dependencies, colocation, variables, attrs, and a graph built here
equal to the same graph built with the C++ API."""

import os
import subprocess

import numpy as np
import pytest

import rill
from rill._proto.core.protos import graph_pb2

from conftest import bin_dir


def test_names_are_unique_within_scopes():
    with rill.Graph().as_default() as g:
        a = rill.constant(1.0)
        b = rill.constant(2.0)
        c = rill.constant(3.0, name="Const_1")  # Taken: becomes Const_1_1.
        with rill.name_scope("layer"):
            d = rill.ops.add_v2(a, b)
            with rill.name_scope("inner"):
                e = rill.ops.add_v2(a, b, name="sum")
        with rill.name_scope("layer"):
            f = rill.ops.add_v2(a, b)
        with rill.name_scope("layer/"):  # Re-entered as it is.
            h = rill.ops.add_v2(a, b)
    assert [t.op.name for t in (a, b, c, d, e, f, h)] == [
        "Const", "Const_1", "Const_1_1", "layer/AddV2", "layer/inner/sum",
        "layer_1/AddV2", "layer/AddV2_1"]
    assert g.get_tensor_by_name("layer/inner/sum:0") is e
    assert e.name == "layer/inner/sum:0"


def test_devices_control_dependencies_and_colocation():
    with rill.Graph().as_default() as g:
        with rill.device("/job:ps/task:0"):
            a = rill.constant(1.0, name="a")
            with rill.device("/device:CPU:1"):
                b = rill.constant(2.0, name="b")
            with rill.device(None):
                c = rill.constant(3.0, name="c")
        with rill.control_dependencies([a, b.op]):
            d = rill.ops.add_v2(a, c, name="d")
            with rill.control_dependencies(None):
                e = rill.ops.neg(a, name="e")
        with rill.colocate_with(a):
            f = rill.ops.neg(c, name="f")
    assert a.device == "/job:ps/task:0"
    assert b.device == "/job:ps/task:0/device:CPU:1"
    assert c.device == ""
    assert list(d.op.node_def.input) == ["a", "c", "^a", "^b"]
    assert list(e.op.node_def.input) == ["a"]
    assert f.op.get_attr("_class") == [b"loc:@a"]
    assert f.op.colocation_groups == ["loc:@a"]


def test_inline_values_take_the_ops_dtype():
    with rill.Graph().as_default():
        x = rill.placeholder(rill.float64, [2], name="x")
        y = rill.ops.mul(2, x)  # The 2 is a float64 Const.
        assert y.dtype == rill.float64
        assert y.op.inputs[0].dtype == rill.float64
        z = x * 3 + 1
        assert z.dtype == rill.float64
        parts = rill.ops.split(0, x, num_split=2)
        assert isinstance(parts, list) and len(parts) == 2
        top = rill.ops.top_kv2(x, 1)
        assert top.values.dtype == rill.float64
        assert top.indices.dtype == rill.int32
        assert rill.ops.no_op().type == "NoOp"


def test_bad_op_calls_name_what_is_wrong():
    with rill.Graph().as_default():
        x = rill.placeholder(rill.float32, [2], name="x")
        i = rill.placeholder(rill.int32, [2], name="i")
        with pytest.raises(TypeError, match="MatMul input 'b': expected "
                           "float32, got i:0 of int32"):
            rill.ops.mat_mul(x, i)
        with pytest.raises(TypeError, match="unexpected keyword argument 'transpose_c'"):
            rill.ops.mat_mul(x, x, transpose_c=True)
        with pytest.raises(TypeError, match="transpose_a.*expected a bool"):
            rill.ops.mat_mul(x, x, transpose_a="yes")
        with pytest.raises(TypeError, match="not one of"):
            rill.ops.relu(rill.constant("s"))
        with pytest.raises(TypeError, match="missing a required argument: 'b'"):
            rill.ops.mat_mul(x)
        with pytest.raises(TypeError, match="needs a reference"):
            rill.ops.assign(x, x)
        with pytest.raises(TypeError, match="expected a list"):
            rill.ops.add_n(x)
        with pytest.raises(AttributeError, match="no op function"):
            rill.ops.no_such_op
        with pytest.raises(ValueError, match="not a valid node name"):
            rill.constant(1.0, name="bad name!")


def test_every_registered_op_has_a_wrapper():
    names = rill.ops.op_names()
    assert len(names) > 300
    functions = [rill.ops.function_name(op) for op in names]
    assert len(set(functions)) == len(names)  # No two ops share a name.
    for op in names:
        fn = getattr(rill.ops, rill.ops.function_name(op))
        assert callable(fn) and op in fn.__doc__
    assert rill.ops.function_name("Conv2DBackpropInput") == \
        "conv2d_backprop_input"
    assert rill.ops.function_name("L2Loss") == "l2_loss"
    assert rill.ops.function_name("TopKV2") == "top_kv2"
    assert rill.ops.function_name("BatchMatMulV2") == "batch_mat_mul_v2"


def test_variables_ref_and_resource():
    with rill.Graph().as_default() as g:
        v = rill.Variable(np.zeros((2, 3), np.float32), name="w")
        r = rill.Variable(1.5, name="r", use_resource=True)
        k = rill.Variable(np.int64(0), trainable=False, name="k")
        init = rill.global_variables_initializer()
    ops = {op.name: op.type for op in g.get_operations()}
    assert ops["w"] == "VariableV2" and ops["w/Assign"] == "Assign"
    assert ops["w/read"] == "Identity"
    assert ops["w/initial_value"] == "Const"
    assert ops["r"] == "VarHandleOp" and ops["r/Assign"] == "AssignVariableOp"
    assert ops["r/Read/ReadVariableOp"] == "ReadVariableOp"
    assert v.shape == [2, 3] and v.dtype == rill.float32
    assert r.handle.dtype == rill.resource
    assert rill.trainable_variables(g) == [v, r]
    assert rill.global_variables(g) == [v, r, k]
    assert {c.name for c in init.control_inputs} == {"w/Assign", "r/Assign",
                                                     "k/Assign"}
    assert g.get_operation_by_name("w/read").get_attr("_class") == [b"loc:@w"]


def test_get_attr_values():
    with rill.Graph().as_default():
        x = rill.placeholder(rill.float32, [None, 3], name="x")
        y = rill.ops.conv2d(rill.placeholder(rill.float32, [1, 4, 4, 1]),
                            rill.placeholder(rill.float32, [2, 2, 1, 1]),
                            strides=[1, 1, 1, 1], padding="SAME")
    assert x.op.get_attr("dtype") == rill.float32
    assert x.op.get_attr("shape") == [None, 3]
    assert x.shape == [None, 3] and x.shape.rank == 2
    assert y.op.get_attr("strides") == [1, 1, 1, 1]
    assert y.op.get_attr("padding") == b"SAME"
    assert y.op.get_attr("data_format") == b"NHWC"
    assert y.shape.dims is None


def mlp_like_the_cpp_example(inputs, hidden, classes):
    """The graph of examples/build_mlp_graph.cc, built in Python."""
    g = rill.Graph()

    def dense(x, n_in, n_out, inits):
        w = rill.ops.variable_v2(shape=[n_in, n_out], dtype=rill.float32,
                                 name="w")
        b = rill.ops.variable_v2(shape=[n_out], dtype=rill.float32, name="b")
        w0 = rill.ops.mul(rill.ops.truncated_normal(
            np.array([n_in, n_out], np.int64), dtype=rill.float32, seed=1),
            np.float32(0.05))
        with rill.colocate_with(w):
            inits.append(rill.ops.assign(w, w0, name="w/Assign").op)
        fill = rill.ops.fill(np.array([n_out], np.int64), np.float32(0))
        with rill.colocate_with(b):
            inits.append(rill.ops.assign(b, fill, name="b/Assign").op)
        return rill.ops.bias_add(rill.ops.mat_mul(x, w), b)

    with g.as_default():
        x = rill.placeholder(rill.float32, [None, inputs], name="x")
        y = rill.placeholder(rill.int64, [None], name="y")
        inits = []
        with rill.name_scope("hidden"):
            h = dense(x, inputs, hidden, inits)
        h = rill.ops.relu(h)
        with rill.name_scope("logits"):
            logits = dense(h, hidden, classes, inits)
        xent = rill.ops.sparse_softmax_cross_entropy_with_logits(logits, y)
        rill.ops.mean(xent.loss, [0], name="loss")
        prediction = rill.ops.arg_max(logits, 1, output_type=rill.int64,
                                      name="prediction")
        rill.ops.mean(rill.ops.cast(rill.ops.equal(prediction, y),
                                    DstT=rill.float32), [0], name="accuracy")
        with rill.control_dependencies(inits):
            rill.ops.no_op(name="init")
    return g


def test_graph_equals_the_cpp_apis(tmp_path):
    builder = os.path.join(bin_dir(), "examples", "build_mlp_graph")
    out = tmp_path / "mlp.pb"
    subprocess.run([builder, "--out=%s" % out, "--inputs=4", "--hidden=5",
                    "--classes=3"], check=True, capture_output=True)
    cpp = graph_pb2.GraphDef()
    cpp.ParseFromString(out.read_bytes())
    py = mlp_like_the_cpp_example(4, 5, 3).as_graph_def()
    assert [n.name for n in py.node] == [n.name for n in cpp.node]
    for a, b in zip(py.node, cpp.node):
        assert a == b, "node %s differs:\n%s\nvs C++\n%s" % (a.name, a, b)
    assert py == cpp
    assert py.SerializeToString(deterministic=True) == \
        cpp.SerializeToString(deterministic=True)


def test_graph_def_runs_through_the_cli(tmp_path):
    g = mlp_like_the_cpp_example(4, 5, 3)
    path = tmp_path / "mlp.pb"
    path.write_bytes(g.as_graph_def().SerializeToString())
    rill_bin = rill._binary.find_binary()
    out = subprocess.run([rill_bin, "inspect", str(path)], check=True,
                         capture_output=True, text=True).stdout
    assert "nodes" in out and "MatMul" in out


def test_static_shapes_where_they_follow_from_the_inputs():
    with rill.Graph().as_default():
        x = rill.placeholder(rill.float32, [None, 3])
        w = rill.ops.truncated_normal([3, 4], dtype=rill.float32) * 0.1
        assert w.shape == [3, 4]
        assert rill.ops.mat_mul(x, w).shape == [None, 4]
        assert rill.ops.mat_mul(w, w, transpose_a=True).shape == [4, 4]
        assert (x + rill.constant(np.ones((1, 3), np.float32))).shape == \
            [None, 3]
        assert rill.ops.add_v2(rill.constant(np.ones((2, 1))),
                               rill.constant(np.ones(5))).shape == [2, 5]
        assert rill.ops.reshape(w, [2, 6]).shape == [2, 6]
        assert rill.ops.relu(x).shape == [None, 3]
        # Unknown where it does not follow simply.
        assert rill.ops.reshape(w, rill.ops.shape(x)).shape.dims is None
        v = rill.Variable(rill.ops.truncated_normal([3, 4],
                                                    dtype=rill.float32))
        assert v.shape == [3, 4] and v.op.get_attr("shape") == [3, 4]
