"""rill dtypes: TensorFlow's DataType enum values with names and numpy
equivalents (rill.float32, rill.int64, rill.string, ...).

Reference dtypes (a VariableV2's output) are the base value + 100, as in
TensorFlow. bfloat16 maps to ml_dtypes.bfloat16 when ml_dtypes is
installed; without it bfloat16 tensors come back as float32 arrays.
"""

import builtins

import numpy as np

try:
    import ml_dtypes as _ml_dtypes
except ImportError:  # Optional.
    _ml_dtypes = None

_REF_OFFSET = 100

__all__ = [
    "DType", "as_dtype", "float32", "float64", "double", "int32", "uint8",
    "int16", "int8", "string", "complex64", "int64", "bool", "qint8",
    "quint8", "qint32", "bfloat16", "qint16", "quint16", "uint16",
    "complex128", "float16", "half", "resource", "variant", "uint32",
    "uint64",
]


class DType:
    """A tensor's element type: `as_datatype_enum` is the DataType value of
    the protos, `name` TensorFlow's name ("float32", "string")."""

    __slots__ = ("_enum",)

    def __init__(self, enum):
        if enum not in _NAMES and enum - _REF_OFFSET not in _NAMES:
            raise TypeError("%r is not a DataType Rill knows" % (enum,))
        self._enum = int(enum)

    @property
    def as_datatype_enum(self):
        return self._enum

    @property
    def is_ref_dtype(self):
        return self._enum > _REF_OFFSET

    @property
    def base_dtype(self):
        return DType(self._enum - _REF_OFFSET) if self.is_ref_dtype else self

    @property
    def as_ref(self):
        return self if self.is_ref_dtype else DType(self._enum + _REF_OFFSET)

    @property
    def name(self):
        base = _NAMES[self.base_dtype._enum]
        return base + "_ref" if self.is_ref_dtype else base

    @property
    def as_numpy_dtype(self):
        """The numpy type of the values (np.object_ for strings); TypeError
        for resource and variant, which have none."""
        base = self.base_dtype._enum
        if base not in _NUMPY:
            raise TypeError("%s has no numpy equivalent" % self.name)
        return _NUMPY[base]

    @property
    def is_floating(self):
        return self.base_dtype._enum in (1, 2, 14, 19)

    @property
    def is_integer(self):
        return self.base_dtype._enum in (3, 4, 5, 6, 9, 17, 22, 23)

    @property
    def is_complex(self):
        return self.base_dtype._enum in (8, 18)

    def __eq__(self, other):
        try:
            return self._enum == as_dtype(other)._enum
        except TypeError:
            return False

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return self._enum

    def __repr__(self):
        return "rill." + self.name


# DataType values (core/protos/types.proto) and TensorFlow's names.
_NAMES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16",
    6: "int8", 7: "string", 8: "complex64", 9: "int64", 10: "bool",
    11: "qint8", 12: "quint8", 13: "qint32", 14: "bfloat16", 15: "qint16",
    16: "quint16", 17: "uint16", 18: "complex128", 19: "float16",
    20: "resource", 21: "variant", 22: "uint32", 23: "uint64",
}
_NUMPY = {
    1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16,
    6: np.int8, 7: np.object_, 8: np.complex64, 9: np.int64, 10: np.bool_,
    11: np.int8, 12: np.uint8, 13: np.int32, 15: np.int16, 16: np.uint16,
    17: np.uint16, 18: np.complex128, 19: np.float16, 22: np.uint32,
    23: np.uint64,
    14: _ml_dtypes.bfloat16 if _ml_dtypes is not None else np.float32,
}

float32 = DType(1)
float64 = DType(2)
double = float64
int32 = DType(3)
uint8 = DType(4)
int16 = DType(5)
int8 = DType(6)
string = DType(7)
complex64 = DType(8)
int64 = DType(9)
bool = DType(10)  # noqa: A001 (TensorFlow's name)
qint8 = DType(11)
quint8 = DType(12)
qint32 = DType(13)
bfloat16 = DType(14)
qint16 = DType(15)
quint16 = DType(16)
uint16 = DType(17)
complex128 = DType(18)
float16 = DType(19)
half = float16
resource = DType(20)
variant = DType(21)
uint32 = DType(22)
uint64 = DType(23)

_BY_NAME = {name: DType(enum) for enum, name in _NAMES.items()}
_BY_NAME.update({"float": float32, "double": float64, "half": float16})
_FROM_NUMPY = {
    np.dtype(np.float32): float32, np.dtype(np.float64): float64,
    np.dtype(np.int32): int32, np.dtype(np.uint8): uint8,
    np.dtype(np.int16): int16, np.dtype(np.int8): int8,
    np.dtype(np.complex64): complex64, np.dtype(np.int64): int64,
    np.dtype(np.bool_): bool, np.dtype(np.uint16): uint16,
    np.dtype(np.complex128): complex128, np.dtype(np.float16): float16,
    np.dtype(np.uint32): uint32, np.dtype(np.uint64): uint64,
    np.dtype(np.object_): string,
}
if _ml_dtypes is not None:
    _FROM_NUMPY[np.dtype(_ml_dtypes.bfloat16)] = bfloat16


def as_dtype(value):
    """A DType from a DType, a DataType int, a name ("float32", "float"),
    a numpy dtype or type, or a Python type (float, int, bool, str, bytes)."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value.endswith("_ref") and value[:-4] in _BY_NAME:
            return _BY_NAME[value[:-4]].as_ref
        if value in _BY_NAME:
            return _BY_NAME[value]
        raise TypeError("unknown dtype name %r" % value)
    if isinstance(value, (int, np.integer)) and \
            not isinstance(value, builtins.bool):
        return DType(int(value))
    python = {builtins.bool: bool, float: float32, int: int32,
              complex: complex128, str: string, bytes: string}
    if isinstance(value, type) and value in python:
        return python[value]
    try:
        np_dtype = np.dtype(value)
    except TypeError:
        raise TypeError("cannot make a dtype from %r" % (value,)) from None
    if np_dtype.kind in ("U", "S"):
        return string
    if np_dtype in _FROM_NUMPY:
        return _FROM_NUMPY[np_dtype]
    raise TypeError("numpy dtype %s has no Rill dtype" % np_dtype)
