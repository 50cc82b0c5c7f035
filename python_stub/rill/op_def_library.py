"""Adds an op to a graph from its OpDef, as TensorFlow's op_def_library
does: inputs converted to tensors (numpy values and Python scalars become
Const nodes of the dtype the op needs), type and length attrs inferred from
the inputs, the other attrs from keyword arguments or their defaults, each
checked against the OpDef, and the outputs' dtypes computed.
"""

import collections
import keyword

import numpy as np

from rill import dtypes
from rill import graph as graph_lib
from rill import shapes
from rill import tensor_util
from rill._proto.core.protos import attr_value_pb2
from rill._proto.core.protos import tensor_pb2


def _is_tensor_like(value):
    from rill import variables
    return isinstance(value, (graph_lib.Tensor, variables.Variable))


def _as_input_tensor(value, arg, op_type):
    """A Variable as the tensor an input arg takes: its ref for a ref
    input, its handle for a resource input, its value otherwise."""
    from rill import variables
    if isinstance(value, variables.Variable):
        if arg.is_ref:
            return value._ref()
        if arg.type == dtypes.resource.as_datatype_enum:
            return value.handle
        return value.value()
    return value


# Attr values ---------------------------------------------------------------

def _shape_value(value, what):
    if isinstance(value, graph_lib.TensorShape):
        return tensor_util.shape_proto(value.dims)
    if value is None:
        return tensor_util.shape_proto(None)
    try:
        dims = list(value)
    except TypeError:
        raise TypeError("%s: expected a shape (a list of ints and None), got "
                        "%r" % (what, value)) from None
    for d in dims:
        if d is not None and not isinstance(d, (int, np.integer)):
            raise TypeError("%s: a shape's dimensions are ints or None, not "
                            "%r" % (what, d))
    return tensor_util.shape_proto(dims)


def _scalar_attr(kind, value, what):
    out = attr_value_pb2.AttrValue()
    _set_scalar(out, kind, value, what)
    return out


def _set_scalar(out, kind, value, what):
    if kind == "string":
        if isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, bytes):
            raise TypeError("%s: expected a string, got %r" % (what, value))
        out.s = value
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError("%s: expected an int, got %r" % (what, value))
        out.i = int(value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)):
            raise TypeError("%s: expected a float, got %r" % (what, value))
        out.f = float(value)
    elif kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError("%s: expected a bool, got %r" % (what, value))
        out.b = bool(value)
    elif kind == "type":
        try:
            out.type = dtypes.as_dtype(value).base_dtype.as_datatype_enum
        except TypeError as e:
            raise TypeError("%s: %s" % (what, e)) from None
    elif kind == "shape":
        out.shape.CopyFrom(_shape_value(value, what))
    elif kind == "tensor":
        if isinstance(value, tensor_pb2.TensorProto):
            out.tensor.CopyFrom(value)
        else:
            out.tensor.CopyFrom(
                tensor_util.make_tensor_proto(value, typed_fields=True))
    elif kind == "func":
        out.func.name = value if isinstance(value, str) else value.name
    else:
        raise TypeError("%s: attrs of type %s are not supported" %
                        (what, kind))


def make_attr_value(attr_def, value, what):
    """An AttrValue of the OpDef attr's type from a Python value."""
    if isinstance(value, attr_value_pb2.AttrValue):
        return value
    kind = attr_def.type
    if not kind.startswith("list("):
        return _scalar_attr(kind, value, what)
    inner = kind[5:-1]
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError("%s: expected a list, got %r" % (what, value))
    out = attr_value_pb2.AttrValue()
    out.list.SetInParent()
    for v in value:
        one = _scalar_attr(inner, v, what)
        field = {"string": "s", "int": "i", "float": "f", "bool": "b",
                 "type": "type", "shape": "shape", "tensor": "tensor",
                 "func": "func"}[inner]
        target = getattr(out.list, field)
        if inner in ("shape", "tensor", "func"):
            target.add().CopyFrom(getattr(one, field))
        else:
            target.append(getattr(one, field))
    return out


def attr_to_python(value):
    """An AttrValue as Python (get_attr)."""
    which = value.WhichOneof("value")
    if which == "list":
        lst = value.list
        if lst.type:
            return [dtypes.as_dtype(t) for t in lst.type]
        if lst.shape:
            return [tensor_util.shape_from_proto(s) for s in lst.shape]
        if lst.tensor:
            return [tensor_util.make_ndarray(t) for t in lst.tensor]
        for field in ("s", "i", "f", "b", "func"):
            if getattr(lst, field):
                return list(getattr(lst, field))
        return []
    if which == "type":
        return dtypes.as_dtype(value.type)
    if which == "shape":
        return tensor_util.shape_from_proto(value.shape)
    if which == "tensor":
        return tensor_util.make_ndarray(value.tensor)
    if which == "func":
        return value.func.name
    return getattr(value, which) if which else None


# Applying an op ------------------------------------------------------------

_OUTPUT_TUPLES = {}


def _output_tuple(op_def):
    names = [a.name + ("_" if keyword.iskeyword(a.name) else "")
             for a in op_def.output_arg]
    key = op_def.name
    if key not in _OUTPUT_TUPLES:
        _OUTPUT_TUPLES[key] = collections.namedtuple(op_def.name, names)
    return _OUTPUT_TUPLES[key]


def _allowed(attr_def, dtype):
    allowed = attr_def.allowed_values.list.type
    return not allowed or dtype.as_datatype_enum in allowed


def _type_error(op_def, arg, message):
    return TypeError("%s input '%s': %s" % (op_def.name, arg.name, message))


def apply_op(op_def, inputs, attrs, name=None):
    """Adds an op: `inputs` one value per input arg (a list for list args),
    `attrs` Python values by attr name (None: inferred or default). Returns
    a Tensor, a list of them (one list output), a namedtuple (several
    output args), or the Operation (no outputs)."""
    op_type = op_def.name
    attr_defs = {a.name: a for a in op_def.attr}
    values = {}
    types = {}       # type attr -> DType.
    type_lists = {}  # list(type) attr -> [DType].
    for key, value in attrs.items():
        if value is None:
            continue
        if key not in attr_defs:
            raise TypeError("%s has no attr '%s' (it has: %s)" %
                            (op_type, key, ", ".join(sorted(attr_defs)) or
                             "none"))
        values[key] = make_attr_value(attr_defs[key], value,
                                      "%s attr '%s'" % (op_type, key))
        if attr_defs[key].type == "type":
            types[key] = dtypes.as_dtype(values[key].type)
        elif attr_defs[key].type == "list(type)":
            type_lists[key] = [dtypes.as_dtype(t)
                               for t in values[key].list.type]

    if len(inputs) != len(op_def.input_arg):
        raise TypeError("%s takes %d inputs, got %d" %
                        (op_type, len(op_def.input_arg), len(inputs)))
    # The graph: the inputs' (all one), else the default.
    graph = None
    for value in inputs:
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if _is_tensor_like(v):
                g = v.graph
                if graph is not None and g is not graph:
                    raise ValueError("%s: inputs from different graphs" %
                                     op_type)
                graph = g
    if graph is None:
        graph = graph_lib.get_default_graph()

    # Type attrs from the inputs that are tensors already, so that a Python
    # value in an earlier input takes the tensor's dtype (mul(2, x)).
    for arg, value in zip(op_def.input_arg, inputs):
        if arg.type_attr and arg.type_attr not in types:
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if _is_tensor_like(v):
                    types[arg.type_attr] = v.dtype.base_dtype
                    break

    flat = []
    with graph.as_default():
        for arg, value in zip(op_def.input_arg, inputs):
            is_list = bool(arg.number_attr or arg.type_list_attr)
            if is_list:
                if _is_tensor_like(value) or not isinstance(value,
                                                            (list, tuple)):
                    raise _type_error(op_def, arg, "expected a list of "
                                      "tensors, got %r" % (value,))
                items = list(value)
            else:
                items = [value]
            tensors = []
            for i, v in enumerate(items):
                v = _as_input_tensor(v, arg, op_type)
                want = None
                if arg.type:
                    want = dtypes.as_dtype(arg.type)
                elif arg.type_attr:
                    want = types.get(arg.type_attr)
                    # The attr's default is the dtype of Python values; a
                    # numpy value keeps its own (as the C++ API's do).
                    if want is None and not isinstance(
                            v, (np.ndarray, np.generic)) and \
                            attr_defs[arg.type_attr].HasField(
                                "default_value"):
                        want = dtypes.as_dtype(
                            attr_defs[arg.type_attr].default_value.type)
                elif arg.type_list_attr and arg.type_list_attr in type_lists:
                    listed = type_lists[arg.type_list_attr]
                    want = listed[i] if i < len(listed) else None
                if not isinstance(v, graph_lib.Tensor):
                    try:
                        v = _constant(graph, v, want)
                    except (TypeError, ValueError) as e:
                        raise _type_error(op_def, arg, str(e)) from None
                if arg.is_ref and not v.dtype.is_ref_dtype:
                    raise _type_error(op_def, arg, "needs a reference (a "
                                      "Variable's), got %s of %s" %
                                      (v.name, v.dtype.name))
                if want is not None and v.dtype.base_dtype != want:
                    raise _type_error(op_def, arg, "expected %s, got %s of %s"
                                      % (want.name, v.name, v.dtype.name))
                tensors.append(v)
            if arg.number_attr:
                n = _scalar_attr("int", len(tensors), "")
                if arg.number_attr in values and \
                        values[arg.number_attr].i != len(tensors):
                    raise _type_error(op_def, arg, "attr %s is %d but %d "
                                      "tensors are given" %
                                      (arg.number_attr,
                                       values[arg.number_attr].i,
                                       len(tensors)))
                values[arg.number_attr] = n
            if arg.type_attr and tensors:
                got = tensors[0].dtype.base_dtype
                for t in tensors[1:]:
                    if t.dtype.base_dtype != got:
                        raise _type_error(op_def, arg, "the list mixes %s and "
                                          "%s" % (got.name,
                                                  t.dtype.base_dtype.name))
                types.setdefault(arg.type_attr, got)
            if arg.type_list_attr:
                got = [t.dtype.base_dtype for t in tensors]
                if arg.type_list_attr in type_lists and \
                        type_lists[arg.type_list_attr] != got:
                    raise _type_error(op_def, arg, "attr %s is %s but the "
                                      "inputs are %s" % (
                                          arg.type_list_attr,
                                          [t.name for t in
                                           type_lists[arg.type_list_attr]],
                                          [t.name for t in got]))
                type_lists[arg.type_list_attr] = got
            flat.extend(tensors)

        for key, dtype in types.items():
            values[key] = _scalar_attr("type", dtype, "")
        for key, listed in type_lists.items():
            values[key] = make_attr_value(attr_defs[key], listed, "")
        for attr in op_def.attr:
            if attr.name in values:
                continue
            if attr.HasField("default_value"):
                values[attr.name] = attr.default_value
            else:
                raise TypeError("%s needs attr '%s' (%s)" %
                                (op_type, attr.name, attr.type))
        _check_attrs(op_def, values)

        output_types, groups = _output_types(op_def, values)
        op = graph.create_op(op_type, flat, values, output_types, name=name,
                             op_def=op_def)
    if not op_def.output_arg:
        return op
    shapes.infer(op)
    outs = []
    begin = 0
    for arg, n in zip(op_def.output_arg, groups):
        part = op.outputs[begin:begin + n]
        begin += n
        outs.append(part if arg.number_attr or arg.type_list_attr
                    else part[0])
    if len(outs) == 1:
        return outs[0]
    return _output_tuple(op_def)(*outs)


def output_types_of(op_def, attrs):
    """The output dtypes of an op with these attrs (AttrValues)."""
    return _output_types(op_def, attrs)[0]


def _output_types(op_def, values):
    types, groups = [], []
    for arg in op_def.output_arg:
        if arg.number_attr:
            n = values[arg.number_attr].i
            listed = [dtypes.as_dtype(arg.type or
                                      values[arg.type_attr].type)] * n
        elif arg.type_list_attr:
            listed = [dtypes.as_dtype(t)
                      for t in values[arg.type_list_attr].list.type]
        elif arg.type:
            listed = [dtypes.as_dtype(arg.type)]
        else:
            listed = [dtypes.as_dtype(values[arg.type_attr].type)]
        if arg.is_ref:
            listed = [t.as_ref for t in listed]
        types.extend(listed)
        groups.append(len(listed))
    return types, groups


def _check_attrs(op_def, values):
    for attr in op_def.attr:
        value = values[attr.name]
        what = "%s attr '%s'" % (op_def.name, attr.name)
        if attr.type == "type":
            dtype = dtypes.as_dtype(value.type)
            if not _allowed(attr, dtype):
                allowed = ", ".join(dtypes.as_dtype(t).name for t in
                                    attr.allowed_values.list.type)
                raise TypeError("%s is %s, not one of: %s" %
                                (what, dtype.name, allowed))
        elif attr.type == "list(type)":
            for t in value.list.type:
                if not _allowed(attr, dtypes.as_dtype(t)):
                    raise TypeError("%s holds %s, not allowed" %
                                    (what, dtypes.as_dtype(t).name))
        elif attr.type == "string" and attr.allowed_values.list.s:
            if value.s not in attr.allowed_values.list.s:
                raise ValueError("%s is %r, not one of %s" % (
                    what, value.s.decode(errors="replace"),
                    [s.decode() for s in attr.allowed_values.list.s]))
        if attr.has_minimum:
            if attr.type == "int" and value.i < attr.minimum:
                raise ValueError("%s is %d, less than its minimum %d" %
                                 (what, value.i, attr.minimum))
            if attr.type.startswith("list("):
                length = max(len(getattr(value.list, f)) for f in
                             ("s", "i", "f", "b", "type", "shape", "tensor",
                              "func"))
                if length < attr.minimum:
                    raise ValueError("%s has %d elements, fewer than its "
                                     "minimum %d" % (what, length,
                                                     attr.minimum))


def _constant(graph, value, dtype):
    """A Const node holding `value` beside the op being built, as the C++
    API makes one: named "Const" in the current scope, without the scope's
    control dependencies."""
    from rill import constant_op
    with graph.control_dependencies(None):
        return constant_op.constant(value, dtype=dtype)
