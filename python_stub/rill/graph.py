"""Graphs of operations and tensors, built as TensorFlow 1.x builds them:
a default graph, name scopes, device scopes, control dependencies and
colocation, and the GraphDef they make.

Names follow Rill's C++ API (core/cc/scope.cc), so that a graph built here
equals the same graph built there: an op's name is its scope's prefix and
its given name or op type, made unique with "_1", "_2", ...; a name scope
is made unique the same way. A Graph is built from one thread at a time.
"""

import contextlib
import re
import threading

from rill._proto.core.protos import graph_pb2
from rill._proto.core.protos import node_def_pb2

# The GraphDef version TensorFlow 2.x writes for v1 graphs (as the C++ API).
GRAPH_DEF_VERSION = 1994


class TensorShape:
    """A tensor's static shape as far as it is known: `dims` a list of ints
    and None (unknown sizes), or None when even the rank is unknown."""

    def __init__(self, dims):
        self.dims = None if dims is None else [
            None if d is None or d < 0 else int(d) for d in dims]

    @property
    def rank(self):
        return None if self.dims is None else len(self.dims)

    def as_list(self):
        if self.dims is None:
            raise ValueError("as_list() of a shape of unknown rank")
        return list(self.dims)

    def is_fully_defined(self):
        return self.dims is not None and None not in self.dims

    def __iter__(self):
        return iter(self.as_list())

    def __len__(self):
        return len(self.as_list())

    def __getitem__(self, i):
        return self.as_list()[i]

    def __eq__(self, other):
        if isinstance(other, TensorShape):
            return self.dims == other.dims
        try:
            return self.dims == list(other)
        except TypeError:
            return False

    def __repr__(self):
        if self.dims is None:
            return "TensorShape(None)"
        return "TensorShape(%s)" % self.dims


class Operation:
    """A node of a graph: `name`, `type` (the op), `inputs` (Tensors),
    `control_inputs`, `outputs`, `device`, its attrs (get_attr)."""

    def __init__(self, graph, name, op_type, inputs, control_inputs, attrs,
                 output_types, device="", op_def=None):
        self.graph = graph
        self.name = name
        self.type = op_type
        self.inputs = list(inputs)
        self.control_inputs = list(control_inputs)
        self.device = device
        self._attrs = dict(attrs)  # name -> AttrValue proto.
        self.op_def = op_def
        self.outputs = [Tensor(self, i, t) for i, t in enumerate(output_types)]
        self._shapes = [None] * len(self.outputs)

    @property
    def node_def(self):
        node = node_def_pb2.NodeDef(name=self.name, op=self.type,
                                    device=self.device)
        for t in self.inputs:
            node.input.append(t._input_name())
        for c in self.control_inputs:
            node.input.append("^" + c.name)
        for key, value in self._attrs.items():
            node.attr[key].CopyFrom(value)
        return node

    def get_attr(self, name):
        """The attr's value as Python: ints, floats, bools, bytes, DTypes,
        shapes (lists), numpy arrays for tensors, and lists of them."""
        if name not in self._attrs:
            raise ValueError("operation '%s' has no attr '%s'" %
                             (self.name, name))
        from rill import op_def_library
        return op_def_library.attr_to_python(self._attrs[name])

    @property
    def colocation_groups(self):
        attr = self._attrs.get("_class")
        return [s.decode() for s in attr.list.s] if attr is not None else []

    def run(self, feed_dict=None, session=None):
        """Runs the op in `session` (default: the default session)."""
        from rill import session as session_lib
        session_lib._session_or_default(session).run(self, feed_dict)

    def __repr__(self):
        return "<rill.Operation '%s' type=%s>" % (self.name, self.type)


class Tensor:
    """Output `value_index` of an operation: named "op:index", of `dtype`."""

    def __init__(self, op, value_index, dtype):
        self.op = op
        self.value_index = value_index
        self.dtype = dtype

    @property
    def graph(self):
        return self.op.graph

    @property
    def name(self):
        return "%s:%d" % (self.op.name, self.value_index)

    @property
    def device(self):
        return self.op.device

    @property
    def shape(self):
        return TensorShape(self.op._shapes[self.value_index])

    def get_shape(self):
        return self.shape

    def _set_shape(self, dims):
        self.op._shapes[self.value_index] = (
            None if dims is None else list(dims))

    def _input_name(self):
        if self.value_index == 0:
            return self.op.name
        return "%s:%d" % (self.op.name, self.value_index)

    def consumers(self):
        return [op for op in self.graph.get_operations()
                if any(t is self for t in op.inputs)]

    def eval(self, feed_dict=None, session=None):
        """This tensor's value in `session` (default: the default session)."""
        from rill import session as session_lib
        return session_lib._session_or_default(session).run(self, feed_dict)

    def __repr__(self):
        return "<rill.Tensor '%s' dtype=%s>" % (self.name, self.dtype.name)

    # Python operators build ops, as TensorFlow's do (== stays identity).
    def __add__(self, other):
        return _ops().add_v2(self, other)

    def __radd__(self, other):
        return _ops().add_v2(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().real_div(self, other)

    def __rtruediv__(self, other):
        return _ops().real_div(other, self)

    def __floordiv__(self, other):
        return _ops().floor_div(self, other)

    def __mod__(self, other):
        return _ops().floor_mod(self, other)

    def __pow__(self, other):
        return _ops().pow(self, other)

    def __matmul__(self, other):
        return _ops().mat_mul(self, other)

    def __neg__(self):
        return _ops().neg(self)

    def __abs__(self):
        return _ops().abs(self)

    def __lt__(self, other):
        return _ops().less(self, other)

    def __le__(self, other):
        return _ops().less_equal(self, other)

    def __gt__(self, other):
        return _ops().greater(self, other)

    def __ge__(self, other):
        return _ops().greater_equal(self, other)

    def __and__(self, other):
        return _ops().logical_and(self, other)

    def __or__(self, other):
        return _ops().logical_or(self, other)

    def __invert__(self):
        return _ops().logical_not(self)

    def __getitem__(self, key):
        return _strided_slice(self, key)

    def __bool__(self):
        raise TypeError("a rill.Tensor has no truth value while the graph is "
                        "built; run it in a Session")

    def __iter__(self):
        raise TypeError("a rill.Tensor is not iterable while the graph is "
                        "built")

    __hash__ = object.__hash__


def _ops():
    from rill import ops
    return ops


def _strided_slice(tensor, key):
    """tensor[key] for ints, slices of ints, Ellipsis and None
    (np.newaxis), as a StridedSlice."""
    if not isinstance(key, tuple):
        key = (key,)
    begin, end, strides = [], [], []
    masks = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0,
             "new_axis_mask": 0, "shrink_axis_mask": 0}
    for i, k in enumerate(key):
        bit = 1 << i
        if k is Ellipsis:
            masks["ellipsis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif k is None:
            masks["new_axis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif isinstance(k, slice):
            for part in (k.start, k.stop, k.step):
                if part is not None and not isinstance(part, int):
                    raise TypeError("a slice of a rill.Tensor takes ints, "
                                    "not %r" % (part,))
            if k.step == 0:
                raise ValueError("a slice's step cannot be 0")
            begin.append(k.start or 0)
            end.append(k.stop or 0)
            strides.append(k.step or 1)
            if k.start is None:
                masks["begin_mask"] |= bit
            if k.stop is None:
                masks["end_mask"] |= bit
        elif isinstance(k, int) and not isinstance(k, bool):
            masks["shrink_axis_mask"] |= bit
            begin.append(k)
            end.append(k + 1 if k != -1 else 0)
            strides.append(1)
            if k == -1:
                masks["end_mask"] |= bit
        else:
            raise TypeError("rill.Tensor indices are ints, slices, Ellipsis "
                            "or None, not %r" % (k,))
    import numpy as np
    return _ops().strided_slice(tensor, np.array(begin, np.int32),
                                np.array(end, np.int32),
                                np.array(strides, np.int32), **masks)


_DEVICE_FIELD = re.compile(r"/(job|replica|task|device):([^/]*)")


def merge_device(outer, inner):
    """`inner` with the fields it leaves out ("/job:", "/task:", ...) taken
    from `outer`; TensorFlow's merging of nested device scopes."""
    if not outer:
        return inner
    if not inner:
        return outer
    fields = dict(_DEVICE_FIELD.findall(outer))
    fields.update(_DEVICE_FIELD.findall(inner))
    return "".join("/%s:%s" % (k, fields[k])
                   for k in ("job", "replica", "task", "device") if k in fields)


class _Context(threading.local):
    def __init__(self):
        super().__init__()
        self.graphs = []


_context = _Context()
_default_graph = None


def get_default_graph():
    """The innermost `with g.as_default()` graph of this thread, else the
    process's global default graph."""
    global _default_graph
    if _context.graphs:
        return _context.graphs[-1]
    if _default_graph is None:
        _default_graph = Graph()
    return _default_graph


def reset_default_graph():
    global _default_graph
    if _context.graphs:
        raise AssertionError("reset_default_graph inside a with block of "
                             "Graph.as_default()")
    _default_graph = Graph()


class Graph:
    """Operations and their tensors, in the order they were added."""

    def __init__(self):
        self._ops = []
        self._by_name = {}
        self._name_counts = {}
        self._prefix = ""
        self._device = ""
        self._control = []
        self._colocate = ""
        self._collections = {}
        self._library = None
        self._finalized = False
        self.version = 0  # Ops added so far; a Session extends by the rest.

    # Context managers ----------------------------------------------------

    @contextlib.contextmanager
    def as_default(self):
        _context.graphs.append(self)
        try:
            yield self
        finally:
            _context.graphs.pop()

    @contextlib.contextmanager
    def name_scope(self, name):
        """Ops made inside are named "<scope>/<name>". The scope's name is
        made unique ("layer", "layer_1") unless it ends with "/" (then it is
        used as it is, to re-enter a scope); None or "" is the root."""
        old = self._prefix
        if not name:
            self._prefix = ""
        elif name.endswith("/"):
            self._prefix = name[:-1]
        else:
            self._prefix = self.unique_name(
                name if not old else old + "/" + name)
        try:
            yield self._prefix + "/" if self._prefix else ""
        finally:
            self._prefix = old

    @contextlib.contextmanager
    def device(self, device):
        """Ops made inside ask for `device` ("/job:ps/task:0", "/device:CPU:1");
        the fields it leaves out come from the enclosing device scope; None
        clears it."""
        old = self._device
        self._device = "" if device is None else merge_device(old, device)
        try:
            yield
        finally:
            self._device = old

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops made inside run after `control_inputs` (ops or tensors);
        None clears the enclosing ones."""
        old = self._control
        if control_inputs is None:
            self._control = []
        else:
            added = []
            for c in control_inputs:
                c = _as_operation(c)
                if c.graph is not self:
                    raise ValueError("control input '%s' is from another "
                                     "graph" % c.name)
                added.append(c)
            self._control = old + added
        try:
            yield
        finally:
            self._control = old

    @contextlib.contextmanager
    def colocate_with(self, op):
        """Ops made inside are placed with `op` (its colocation group when it
        has one): the "_class" attr "loc:@<name>"."""
        old = self._colocate
        if op is None:
            self._colocate = ""
        else:
            op = _as_operation(op)
            groups = op.colocation_groups
            self._colocate = groups[0] if groups else "loc:@" + op.name
        try:
            yield
        finally:
            self._colocate = old

    # Names ---------------------------------------------------------------

    def unique_name(self, full):
        """`full`, or `full`_N for the first N that no node and no scope
        has taken (the C++ API's Scope::UniqueName)."""
        count = self._name_counts.setdefault(full, 0)
        name = full
        while True:
            if count > 0:
                name = "%s_%d" % (full, count)
            count += 1
            if name not in self._by_name and (
                    name == full or name not in self._name_counts):
                break
        self._name_counts[full] = count
        if name != full:
            self._name_counts[name] = 1
        return name

    def _name_for_op(self, name, default):
        if name and name.endswith("/"):
            name = name[:-1]
            if name in self._by_name:
                raise ValueError("the graph has a node '%s' already" % name)
            self._name_counts.setdefault(name, 1)
            return name
        base = name or default
        _check_name(base)
        return self.unique_name(base if not self._prefix else
                                self._prefix + "/" + base)

    # Building ------------------------------------------------------------

    def create_op(self, op_type, inputs, attrs, output_types, name=None,
                  op_def=None):
        """Adds an op under the current scopes; `attrs` maps names to
        AttrValue protos. Returns the Operation."""
        if self._finalized:
            raise RuntimeError("the graph is finalized")
        for t in inputs:
            if t.graph is not self:
                raise ValueError("input '%s' of a %s is from another graph" %
                                 (t.name, op_type))
        attrs = dict(attrs)
        if self._colocate:
            from rill._proto.core.protos import attr_value_pb2
            value = attr_value_pb2.AttrValue()
            value.list.s.append(self._colocate.encode())
            attrs["_class"] = value
        control = []
        for c in self._control:
            if all(c is not d for d in control):
                control.append(c)
        op = Operation(self, self._name_for_op(name, op_type), op_type, inputs,
                       control, attrs, output_types, self._device, op_def)
        self._add(op)
        return op

    def _add(self, op):
        self._ops.append(op)
        self._by_name[op.name] = op
        self.version += 1

    def finalize(self):
        """Makes the graph read-only: adding an op raises."""
        self._finalized = True

    @property
    def finalized(self):
        return self._finalized

    # Lookup --------------------------------------------------------------

    def get_operations(self):
        return list(self._ops)

    def get_operation_by_name(self, name):
        if name not in self._by_name:
            raise KeyError("the graph has no operation '%s'" % name)
        return self._by_name[name]

    def get_tensor_by_name(self, name):
        op_name, _, index = name.rpartition(":")
        if not op_name or not index.isdigit():
            raise ValueError("'%s' is not a tensor name (\"op:index\")" % name)
        op = self.get_operation_by_name(op_name)
        if int(index) >= len(op.outputs):
            raise KeyError("operation '%s' has %d outputs, not %d" %
                           (op_name, len(op.outputs), int(index) + 1))
        return op.outputs[int(index)]

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """A Tensor or Operation of this graph from itself or its name
        ("op:0" a tensor, "op" an operation)."""
        from rill import variables
        if isinstance(obj, variables.Variable):
            obj = obj._graph_element
        if isinstance(obj, (Tensor, Operation)):
            if obj.graph is not self:
                raise ValueError("%s is from another graph" % obj.name)
            if isinstance(obj, Tensor) and not allow_tensor:
                raise TypeError("expected an operation, got tensor " +
                                obj.name)
            if isinstance(obj, Operation) and not allow_operation:
                raise TypeError("expected a tensor, got operation " + obj.name)
            return obj
        if isinstance(obj, str):
            if ":" in obj and allow_tensor:
                return self.get_tensor_by_name(obj)
            if allow_operation:
                return self.get_operation_by_name(obj)
            return self.get_tensor_by_name(obj + ":0")
        raise TypeError("cannot use %r as a graph element" % (obj,))

    # Collections ---------------------------------------------------------

    def add_to_collection(self, key, value):
        self._collections.setdefault(key, []).append(value)

    def get_collection(self, key):
        return list(self._collections.get(key, []))

    # Serialization -------------------------------------------------------

    def as_graph_def(self, from_version=0):
        """The GraphDef of the ops (from the `from_version`th on), in the
        order they were added."""
        graph = graph_pb2.GraphDef()
        graph.node.extend(op.node_def for op in self._ops[from_version:])
        graph.versions.producer = GRAPH_DEF_VERSION
        if self._library is not None:
            graph.library.CopyFrom(self._library)
        return graph


_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")


def _check_name(name):
    if not _NAME.match(name):
        raise ValueError("'%s' is not a valid node name (letters, digits, "
                         "'.', '_', '-', '/')" % name)


def _as_operation(x):
    from rill import variables
    if isinstance(x, variables.Variable):
        x = x.op
    if isinstance(x, Tensor):
        return x.op
    if isinstance(x, Operation):
        return x
    raise TypeError("expected an Operation or Tensor, got %r" % (x,))


# Module-level forms of the default graph's scopes, as tf.* has them.
def name_scope(name):
    return get_default_graph().name_scope(name)


def device(spec):
    return get_default_graph().device(spec)


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def colocate_with(op):
    return get_default_graph().colocate_with(op)
