"""Constants and placeholders: rill.constant, rill.placeholder,
rill.placeholder_with_default, rill.convert_to_tensor."""

from rill import dtypes
from rill import graph as graph_lib
from rill import op_def_library
from rill import tensor_util


def constant(value, dtype=None, shape=None, name="Const"):
    """A Const node holding `value` (a numpy array, nested lists, a scalar,
    strings) as `dtype` (else numpy's dtype; Python floats are float32 and
    ints int32, as in TensorFlow). With `shape`, one value fills it."""
    from rill import ops
    proto = tensor_util.make_tensor_proto(value, dtype, shape,
                                          typed_fields=True)
    return op_def_library.apply_op(
        ops.op_def("Const"), [], {"value": proto, "dtype": proto.dtype},
        name=name)


def placeholder(dtype, shape=None, name=None):
    """A Placeholder of `dtype`: fed in Session.run. `shape` may hold None
    for sizes fed freely; None leaves even the rank open."""
    from rill import ops
    return op_def_library.apply_op(
        ops.op_def("Placeholder"), [],
        {"dtype": dtypes.as_dtype(dtype),
         "shape": graph_lib.TensorShape(None if shape is None else
                                        list(shape))}, name=name)


def placeholder_with_default(input, shape, name=None):  # noqa: A002
    """`input`'s value unless a value is fed."""
    from rill import ops
    return ops.placeholder_with_default(
        input, shape=graph_lib.TensorShape(None if shape is None else
                                           list(shape)), name=name)


def convert_to_tensor(value, dtype=None, name=None):
    """A Tensor (a Variable's value) as it is, anything else a Const."""
    from rill import variables
    if isinstance(value, variables.Variable):
        value = value.value()
    if isinstance(value, graph_lib.Tensor):
        if dtype is not None and value.dtype.base_dtype != \
                dtypes.as_dtype(dtype):
            raise TypeError("%s is %s, not %s" % (value.name, value.dtype.name,
                                                  dtypes.as_dtype(dtype).name))
        return value
    return constant(value, dtype=dtype, name=name or "Const")
