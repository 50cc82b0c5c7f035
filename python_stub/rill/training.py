"""Training from Python without a gradient library of its own.

Optimizers (GradientDescentOptimizer, MomentumOptimizer, AdagradOptimizer,
AdamOptimizer, as tf.compat.v1.train has them): minimize(loss) sends the
graph to `rill minimize`, where Rill's C++ gradient registry adds the
gradients, one update per variable and the optimizer's slot variables, and
adds those nodes to this graph. It returns the train op; the slots'
initializers join global_variables_initializer().

train(): runs `rill train` (SPEC 7) on a graph and numpy data with a
distributed scheme, and returns its JSON report as a dict.
"""

import json
import os
import sys
import tempfile

import numpy as np

from rill import _binary
from rill import graph as graph_lib
from rill import importer
from rill import variables
from rill._proto.core.protos import graph_pb2


def get_or_create_global_step(graph=None):
    """The graph's int64 "global_step" variable, made (initialized to 0) on
    first use; the optimizers increment it when given it."""
    g = graph or graph_lib.get_default_graph()
    for v in g.get_collection("global_step"):
        return v
    with g.as_default(), g.name_scope(None):
        step = variables.Variable(np.int64(0), trainable=False,
                                  name="global_step")
    g.add_to_collection("global_step", step)
    return step


class Optimizer:
    """Base of the optimizers: `kind` is rill minimize's --optimizer."""

    def __init__(self, kind, learning_rate, name, binary=None, **flags):
        if not learning_rate >= 0:
            raise ValueError("learning_rate must be at least 0, got %r" %
                             (learning_rate,))
        self._kind = kind
        self._lr = float(learning_rate)
        self._name = name
        self._binary = binary
        self._flags = flags

    def minimize(self, loss, var_list=None, global_step=None, name=None):
        """Adds the gradients of `loss` (a scalar Tensor) by `var_list`
        (default: every trainable variable it depends on) and the updates;
        returns the train op (an Operation). `global_step`, a Variable, is
        incremented after each step's updates."""
        g = loss.graph
        args = ["--loss", loss.name, "--optimizer", self._kind, "--lr",
                repr(self._lr), "--name", name or self._name]
        for key, value in self._flags.items():
            args += ["--" + key, repr(float(value))]
        trainable = var_list
        if trainable is None:
            trainable = variables.trainable_variables(g)
            if not trainable:
                raise ValueError("no trainable variables in the graph of " +
                                 loss.name)
        for v in trainable:
            args += ["--var", v.op.name]
        if global_step is not None:
            args += ["--global_step", global_step.op.name]
        with tempfile.TemporaryDirectory(prefix="rill-minimize-") as tmp:
            graph_path = os.path.join(tmp, "graph.pb")
            out_path = os.path.join(tmp, "train.pb")
            with open(graph_path, "wb") as f:
                f.write(g.as_graph_def().SerializeToString())
            report = json.loads(_binary.run_command(
                ["minimize", graph_path, "--out", out_path] + args,
                binary=self._binary))
            result = graph_pb2.GraphDef()
            with open(out_path, "rb") as f:
                result.ParseFromString(f.read())
        importer.add_node_defs(
            g, [n for n in result.node if n.name not in g._by_name],
            outside=g._by_name)
        for init in report["initializers"]:
            g.add_to_collection(variables.INITIALIZERS,
                                g.get_operation_by_name(init))
        self.gradients = [g.get_tensor_by_name(n if ":" in n else n + ":0")
                          for n in report["gradients"]]
        return g.get_operation_by_name(report["train_op"])


class GradientDescentOptimizer(Optimizer):
    def __init__(self, learning_rate, name="GradientDescent", binary=None):
        super().__init__("sgd", learning_rate, name, binary)


class MomentumOptimizer(Optimizer):
    def __init__(self, learning_rate, momentum=0.9, name="Momentum",
                 binary=None):
        super().__init__("momentum", learning_rate, name, binary,
                         momentum=momentum)


class AdagradOptimizer(Optimizer):
    def __init__(self, learning_rate, name="Adagrad", binary=None):
        super().__init__("adagrad", learning_rate, name, binary)


class AdamOptimizer(Optimizer):
    def __init__(self, learning_rate=0.001, name="Adam", binary=None):
        super().__init__("adam", learning_rate, name, binary)


_SCHEME_FLAGS = {
    "tau": "--tau", "n_fetch": "--n-fetch", "n_push": "--n-push",
    "staleness": "--staleness",
    "replicas_to_aggregate": "--replicas-to-aggregate",
    "fusion_mb": "--fusion-mb",
}


def train(graph, loss, data, scheme="allreduce", local_cluster=None,
          cluster=None, optimizer="sgd", lr=0.01, batch=32, epochs=None,
          steps=None, eval_data=None, metrics=(), seed=0, checkpoint_dir=None,
          resume=False, logdir=None, binary=None, verbose=False,
          **scheme_flags):
    """Trains `graph` (a rill.Graph, a GraphDef, or a .pb/.pbtxt path) with
    `rill train`: `loss` the loss tensor or node, `data` maps each input
    placeholder (a Tensor or name) to a numpy array (or .npy path) whose
    rows are examples. `scheme`: allreduce, sync-ps, async-ps, ssp,
    local-sgd or average; `local_cluster` ({"ps": 1, "worker": 2} or
    "ps=1,worker=2") starts servers for the run, `cluster` (a LocalCluster
    or TensorFlow's cluster dict/JSON) uses running ones. Scheme flags by
    keyword: tau, n_fetch, n_push, staleness, replicas_to_aggregate,
    fusion_mb. Returns the JSON report (scheme, workers, steps, seconds,
    examples_per_second, final: {loss, metrics...}). Progress lines go to
    stderr when `verbose`."""
    for key in scheme_flags:
        if key not in _SCHEME_FLAGS:
            raise TypeError("train() got an unexpected argument '%s' (scheme "
                            "flags: %s)" % (key, ", ".join(_SCHEME_FLAGS)))
    with tempfile.TemporaryDirectory(prefix="rill-train-") as tmp:
        model = _model_path(graph, tmp)
        args = ["train", model, "--loss", _node_name(loss), "--scheme",
                scheme, "--optimizer", optimizer, "--lr", repr(float(lr)),
                "--batch", str(int(batch)), "--seed", str(int(seed)),
                "--format", "json"]
        args += _data_flags("--data", data, tmp, "data")
        if eval_data:
            args += _data_flags("--eval", eval_data, tmp, "eval")
        for m in metrics:
            args += ["--metric", _node_name(m)]
        if epochs is not None:
            args += ["--epochs", str(int(epochs))]
        if steps is not None:
            args += ["--steps", str(int(steps))]
        if local_cluster is not None:
            if isinstance(local_cluster, dict):
                local_cluster = ",".join("%s=%d" % kv
                                         for kv in local_cluster.items())
            args += ["--local-cluster", local_cluster]
        if cluster is not None:
            spec = getattr(cluster, "json", cluster)
            args += ["--cluster", spec if isinstance(spec, str)
                     else json.dumps(spec)]
        for key, value in scheme_flags.items():
            args += [_SCHEME_FLAGS[key], str(value)]
        if checkpoint_dir:
            args += ["--checkpoint-dir", os.path.abspath(checkpoint_dir)]
        if resume:
            args.append("--resume")
        if logdir:
            args += ["--logdir", os.path.abspath(logdir)]
        out = _binary.run_command(args, binary=binary,
                                  stderr=sys.stderr if verbose else None)
    return json.loads(out)


def _node_name(x):
    if isinstance(x, variables.Variable):
        x = x.value()
    if isinstance(x, graph_lib.Tensor):
        return x.op.name if x.value_index == 0 else x.name
    if isinstance(x, graph_lib.Operation):
        return x.name
    return str(x)


def _model_path(graph, tmp):
    if isinstance(graph, (str, os.PathLike)):
        return os.fspath(graph)
    if isinstance(graph, graph_lib.Graph):
        graph = graph.as_graph_def()
    path = os.path.join(tmp, "model.pb")
    with open(path, "wb") as f:
        f.write(graph.SerializeToString())
    return path


def _data_flags(flag, data, tmp, prefix):
    args = []
    for i, (key, value) in enumerate(data.items()):
        name = _node_name(key)
        if isinstance(value, (str, os.PathLike)):
            path = os.path.abspath(os.fspath(value))
        else:
            path = os.path.join(tmp, "%s_%d.npy" % (prefix, i))
            np.save(path, np.asarray(value))
        args += [flag, "%s=%s" % (name, path)]
    return args

