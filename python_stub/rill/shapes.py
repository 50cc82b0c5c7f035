"""Static shapes of what a graph computes, where they follow simply from
the inputs' (a small part of what Rill's C++ shape functions know): enough
for a Variable made from an initializer expression
(truncated_normal([n, m]) * scale) to know its shape, as optimizers need
for their slots. Everything else stays unknown (None) until run."""

from rill import tensor_util

# Output shape = the shape the int vector input `index` holds.
_SHAPE_FROM_INPUT = {
    "Fill": 0, "RandomStandardNormal": 0, "TruncatedNormal": 0,
    "RandomUniform": 0, "RandomUniformInt": 0, "Zeros": 0,
}
_UNARY = {
    "Identity", "Snapshot", "StopGradient", "Neg", "Abs", "Relu", "Relu6",
    "Elu", "Selu", "Softplus", "Sigmoid", "Tanh", "Exp", "Log", "Log1p",
    "Square", "Sqrt", "Rsqrt", "Reciprocal", "Sin", "Cos", "Floor", "Ceil",
    "Round", "Sign", "Cast", "ZerosLike", "OnesLike", "Softmax",
    "LogSoftmax", "Erf", "LeakyRelu",
}
_BINARY = {
    "Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "FloorDiv", "FloorMod",
    "Maximum", "Minimum", "Pow", "SquaredDifference", "Less", "LessEqual",
    "Greater", "GreaterEqual", "Equal", "NotEqual", "LogicalAnd",
    "LogicalOr",
}


def const_value(tensor):
    """The value of a Const's output, else None."""
    if tensor.op.type != "Const":
        return None
    return tensor_util.make_ndarray(tensor.op._attrs["value"].tensor)


def _broadcast(a, b):
    """numpy's broadcast of two shapes (None: unknown sizes)."""
    if a is None or b is None:
        return None
    rank = max(len(a), len(b))
    a = [1] * (rank - len(a)) + list(a)
    b = [1] * (rank - len(b)) + list(b)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        elif x == y:
            out.append(x)
        else:
            return None  # Incompatible: the server will say so.
    return out


def infer(op):
    """Sets op's output shapes where they follow from its inputs'."""
    if not op.outputs:
        return
    dims = [t.shape.dims for t in op.inputs]
    shape = None
    if op.type == "Const":
        shape = tensor_util.shape_from_proto(
            op._attrs["value"].tensor.tensor_shape)
    elif op.type in ("Placeholder", "VariableV2", "PlaceholderWithDefault") \
            and "shape" in op._attrs:
        shape = tensor_util.shape_from_proto(op._attrs["shape"].shape)
    elif op.type in _SHAPE_FROM_INPUT and op.inputs:
        value = const_value(op.inputs[_SHAPE_FROM_INPUT[op.type]])
        if value is not None and value.ndim == 1:
            shape = [int(v) for v in value]
    elif op.type in _UNARY and dims:
        shape = dims[0]
    elif op.type in _BINARY and len(dims) == 2:
        shape = _broadcast(dims[0], dims[1])
    elif op.type == "BiasAdd" and dims:
        shape = dims[0]
    elif op.type == "MatMul" and len(dims) == 2 and None not in (dims[0],
                                                                 dims[1]):
        a, b = dims
        if len(a) == 2 and len(b) == 2:
            ta = bool(op._attrs["transpose_a"].b)
            tb = bool(op._attrs["transpose_b"].b)
            shape = [a[1] if ta else a[0], b[0] if tb else b[1]]
    elif op.type == "Reshape" and len(op.inputs) == 2:
        value = const_value(op.inputs[1])
        if value is not None and value.ndim == 1 and (value >= 0).all():
            shape = [int(v) for v in value]
    if shape is not None:
        op.outputs[0]._set_shape(shape)

