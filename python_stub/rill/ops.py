"""rill.ops: a function for every op Rill registers, named as TensorFlow's
Python wrappers are (MatMul -> mat_mul, Conv2D -> conv2d, L2Loss ->
l2_loss; an op whose name is a Python keyword gets a trailing "_").

The functions are made from the op registry: the OpList `rill ops` prints,
bundled into the package (binary, ops.pb) when it was built (or asked of
the rill program at first use when the package has none). Each takes the
op's inputs positionally or by name, then its attrs by keyword (type and
length attrs are inferred from the inputs), and `name`:

    y = rill.ops.mat_mul(x, w, transpose_b=True, name="y")
    parts = rill.ops.split(0, x, num_split=2)      # a list of Tensors
    values, indices = rill.ops.top_kv2(x, 3)       # a namedtuple

op_def(name) gives an op's OpDef; op_names() every op's name.
"""

import inspect
import keyword
import os
import threading

from rill import op_def_library
from rill._proto.core.protos import op_def_pb2

_lock = threading.Lock()
_op_defs = None      # op name -> OpDef.
_by_function = None  # function name -> op name.


def function_name(op_name):
    """TensorFlow's wrapper name: an underscore before each capital that
    follows a lower-case letter or starts a word of lower-case letters."""
    out = []
    for i, c in enumerate(op_name):
        if c.isupper():
            if i > 0 and (op_name[i - 1].islower() or
                          (i + 1 < len(op_name) and
                           op_name[i + 1].islower())):
                if out and out[-1] != "_":
                    out.append("_")
            out.append(c.lower())
        else:
            out.append(c)
    name = "".join(out)
    return name + "_" if keyword.iskeyword(name) else name


def _load():
    global _op_defs, _by_function
    with _lock:
        if _op_defs is not None:
            return
        op_list = op_def_pb2.OpList()
        path = os.path.join(os.path.dirname(__file__), "ops.pb")
        if os.path.exists(path):
            with open(path, "rb") as f:
                op_list.ParseFromString(f.read())
        else:
            from google.protobuf import text_format
            from rill import _binary
            text_format.Parse(_binary.run_command(["ops"]), op_list)
        defs = {op.name: op for op in op_list.op}
        _by_function = {function_name(name): name for name in defs}
        _op_defs = defs


def op_def(name):
    """The OpDef of op `name` ("MatMul"); KeyError when Rill has no such op."""
    _load()
    if name not in _op_defs:
        raise KeyError("Rill registers no op '%s'" % name)
    return _op_defs[name]


def op_names():
    _load()
    return sorted(_op_defs)


def _param_name(name):
    return name + "_" if keyword.iskeyword(name) else name


def _make_function(op):
    """The wrapper of one OpDef."""
    inferred = set()
    for arg in op.input_arg:
        for attr in (arg.type_attr, arg.number_attr, arg.type_list_attr):
            if attr:
                inferred.add(attr)
    inputs = [a.name for a in op.input_arg]
    params = [inspect.Parameter(_param_name(n),
                                inspect.Parameter.POSITIONAL_OR_KEYWORD)
              for n in inputs]
    attr_names = []
    for attr in op.attr:
        if attr.name in inputs:
            continue  # An attr shadowed by an input's name cannot be passed.
        attr_names.append(attr.name)
        required = attr.name not in inferred and not attr.HasField(
            "default_value")
        params.append(inspect.Parameter(
            _param_name(attr.name), inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if required else None))
    params.append(inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY,
                                    default=None))
    signature = inspect.Signature(params)

    def wrapper(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError("%s(): %s" % (fname, e)) from None
        given = bound.arguments
        values = [given[_param_name(n)] for n in inputs]
        attrs = {a: given.get(_param_name(a)) for a in attr_names}
        return op_def_library.apply_op(op, values, attrs,
                                       name=given.get("name"))

    fname = function_name(op.name)
    wrapper.__name__ = fname
    wrapper.__qualname__ = fname
    wrapper.__signature__ = signature
    wrapper.__doc__ = _doc(op)
    return wrapper


def _doc(op):
    def arg_line(a):
        kind = (a.type_attr or a.type_list_attr or
                (op_def_library.dtypes.as_dtype(a.type).name if a.type
                 else "?"))
        if a.number_attr:
            kind = "list of %s %s" % (a.number_attr, kind)
        return "    %s: %s%s" % (a.name, kind, " (ref)" if a.is_ref else "")
    lines = ["The %s op." % op.name, ""]
    if op.summary:
        lines[0] = "%s: %s" % (op.name, op.summary)
    if op.input_arg:
        lines += ["Inputs:"] + [arg_line(a) for a in op.input_arg]
    if op.attr:
        lines.append("Attrs:")
        for attr in op.attr:
            lines.append("    %s: %s" % (attr.name, attr.type))
    if op.output_arg:
        lines += ["Outputs:"] + [arg_line(a) for a in op.output_arg]
    return "\n".join(lines)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    _load()
    if name not in _by_function:
        raise AttributeError("rill.ops has no op function '%s' (Rill "
                             "registers %d ops; see rill.ops.op_names())" %
                             (name, len(_op_defs)))
    fn = _make_function(_op_defs[_by_function[name]])
    globals()[name] = fn
    return fn


def __dir__():
    _load()
    return sorted(set(globals()) | set(_by_function))
