"""rill.import_graph_def: a GraphDef TensorFlow wrote, trained from Python
on a cluster, gives TensorFlow's losses; imported graphs extend and
re-export; bad GraphDefs are refused whole."""

import json
import os
import subprocess

import numpy as np
import pytest

import rill
from rill._proto.core.protos import graph_pb2

from conftest import REPO, bin_dir

DATA = os.path.join(REPO, "tests", "testdata")


def read_graph(name):
    graph_def = graph_pb2.GraphDef()
    with open(os.path.join(DATA, name), "rb") as f:
        graph_def.ParseFromString(f.read())
    return graph_def


def test_tensorflow_graph_trains_to_tensorflows_losses(cluster):
    expected = json.load(open(os.path.join(DATA,
                                           "logreg_train_expected.json")))
    with rill.Graph().as_default() as g:
        init, train, loss = rill.import_graph_def(
            read_graph("logreg_train.pb"), name="",
            return_elements=["init", "train", "loss:0"])
    assert isinstance(init, rill.Operation) and loss.dtype == rill.float32
    feeds = {"x:0": np.array(expected["x"], np.float32),
             "y:0": np.array(expected["y"]),
             "zeros:0": np.array(expected["w0"], np.float32)}
    losses = []
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        s.run(init, feeds)
        for _ in range(len(expected["losses"])):
            losses.append(s.run([loss, train], feeds)[0])
    np.testing.assert_allclose(losses, expected["losses"], rtol=1e-4)


def test_imported_under_a_prefix_and_extended(cluster):
    with rill.Graph().as_default() as g:
        a = rill.constant(1.0, name="a")
        out = rill.import_graph_def(read_graph("logreg_train.pb"),
                                    return_elements=["logits:0"])[0]
        again = rill.import_graph_def(read_graph("logreg_train.pb"))
        probs = rill.ops.softmax(out, name="probs")
    assert again is None
    assert out.name == "import/logits:0"
    assert g.get_operation_by_name("import_1/logits").type == \
        out.op.type
    assert a.op.name == "a"
    w_assign = g.get_operation_by_name("import/w/Assign")
    assert w_assign.get_attr("_class") in ([], [b"loc:@import/w"])
    x = np.ones((2, 4), np.float32)
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        s.run("import/init", {"import/zeros:0": np.zeros((4, 3), np.float32)})
        p = s.run(probs, {"import/x:0": x})
    np.testing.assert_allclose(p, np.full((2, 3), 1 / 3), rtol=1e-6)


def test_reimport_of_the_cpp_graph_is_the_same_graph_def(tmp_path):
    out = tmp_path / "mlp.pb"
    subprocess.run([os.path.join(bin_dir(), "examples", "build_mlp_graph"),
                    "--out=%s" % out, "--inputs=4", "--hidden=5"],
                   check=True, capture_output=True)
    cpp = graph_pb2.GraphDef()
    cpp.ParseFromString(out.read_bytes())
    with rill.Graph().as_default() as g:
        rill.import_graph_def(cpp.SerializeToString(), name="")
    assert g.as_graph_def() == cpp
    assert g.get_tensor_by_name("hidden/w:0").dtype == rill.float32.as_ref
    assert g.get_tensor_by_name("x:0").shape == [None, 4]


def test_bad_graph_defs_add_nothing():
    def graph(*nodes):
        graph_def = graph_pb2.GraphDef()
        for name, op, inputs in nodes:
            node = graph_def.node.add(name=name, op=op)
            node.input.extend(inputs)
            if op == "Neg":
                node.attr["T"].type = rill.float32.as_datatype_enum
            if op == "Const":
                node.attr["dtype"].type = rill.float32.as_datatype_enum
                node.attr["value"].tensor.CopyFrom(
                    rill.make_tensor_proto(np.float32(1)))
        return graph_def
    cases = [
        (graph(("a", "NoSuchOp", [])), "no op 'NoSuchOp'"),
        (graph(("a", "Const", []), ("b", "Neg", ["zz"])), "input 'zz'"),
        (graph(("a", "Const", []), ("b", "Neg", ["a:3"])), "output 3"),
        (graph(("a", "Const", []), ("a", "Const", [])), "two nodes 'a'"),
        (graph(("p", "Placeholder", [])), "lacks attr 'dtype'"),
    ]
    for graph_def, message in cases:
        with rill.Graph().as_default() as g:
            with pytest.raises(ValueError, match=message):
                rill.import_graph_def(graph_def, name="")
        assert g.get_operations() == []
