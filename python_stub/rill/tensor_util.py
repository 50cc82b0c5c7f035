"""numpy arrays to and from TensorProto, the form tensors take in graphs
(Const values), feeds and fetches.

Feeds are encoded in tensor_content (the raw little-endian bytes, as
TensorFlow's client sends them); constants in the typed fields (float_val,
int_val, ...), one value per element, as Rill's C++ API writes them, so a
graph built here equals the one built there. Decoding takes both, with
TensorFlow's rule that a typed field shorter than the shape repeats its
last value.
"""

import numpy as np

from rill import dtypes
from rill._proto.core.protos import tensor_pb2
from rill._proto.core.protos import tensor_shape_pb2

_HALF_BITS = (dtypes.float16.as_datatype_enum,
              dtypes.bfloat16.as_datatype_enum)
# Typed field of each DataType (half and bfloat16 keep their bits in
# half_val; complex values are (real, imaginary) pairs).
_FIELD = {
    1: "float_val", 2: "double_val", 3: "int_val", 4: "int_val",
    5: "int_val", 6: "int_val", 7: "string_val", 8: "scomplex_val",
    9: "int64_val", 10: "bool_val", 11: "int_val", 12: "int_val",
    13: "int_val", 14: "half_val", 15: "int_val", 16: "int_val",
    17: "int_val", 18: "dcomplex_val", 19: "half_val", 22: "uint32_val",
    23: "uint64_val",
}


def shape_proto(shape):
    """A TensorShapeProto: None is an unknown rank, None or -1 an unknown
    dimension."""
    proto = tensor_shape_pb2.TensorShapeProto()
    if shape is None:
        proto.unknown_rank = True
        return proto
    for d in shape:
        proto.dim.add().size = -1 if d is None else int(d)
    return proto


def shape_from_proto(proto):
    """A list of ints (None for unknown dimensions), or None for an unknown
    rank."""
    if proto.unknown_rank:
        return None
    return [None if d.size < 0 else d.size for d in proto.dim]


def _bfloat16_bits(values):
    """float32 values as bfloat16 bits, rounded to nearest even."""
    f = np.ascontiguousarray(values, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    bits = bits.astype(np.uint16)
    bits[np.isnan(f)] = 0x7FC0
    return bits


def _storage(dtype):
    """The numpy type a DataType's bytes are read as."""
    if dtype == dtypes.bfloat16 and dtypes._ml_dtypes is None:
        return np.uint16
    return dtype.as_numpy_dtype


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, np.bytes_):
        return bytes(value)
    raise TypeError("a string tensor's elements are bytes or str, not %s" %
                    type(value).__name__)


def to_numpy(value, dtype=None):
    """`value` (a scalar, nested lists, a numpy array) as an array of
    `dtype`, or of the dtype TensorFlow infers: Python floats float32, ints
    int32 (int64 when they do not fit), str and bytes strings."""
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype).base_dtype
        if dtype == dtypes.string:
            arr = np.asarray(value, dtype=object)
            flat = [_to_bytes(v) for v in arr.reshape(-1)]
            out = np.empty(len(flat), dtype=object)
            out[:] = flat
            return out.reshape(arr.shape)
        if dtype in (dtypes.resource, dtypes.variant):
            raise TypeError("cannot make a %s tensor from Python values" %
                            dtype.name)
        src = np.asarray(value)
        if src.dtype.kind in ("U", "S", "O") and src.size:
            raise TypeError("cannot convert %r to %s" % (value, dtype.name))
        if dtype == dtypes.bfloat16 and dtypes._ml_dtypes is None:
            return src.astype(np.float32, copy=False)
        target = dtype.as_numpy_dtype
        if np.dtype(target).kind in "iu" and src.size and \
                src.dtype.kind in "iuf":
            info = np.iinfo(target)
            low, high = src.min(), src.max()
            if low < info.min or high > info.max:
                raise ValueError("%s is out of the range of %s" % (
                    low if low < info.min else high, dtype.name))
        if (np.issubdtype(src.dtype, np.floating) or
                np.issubdtype(src.dtype, np.complexfloating)) and \
                np.dtype(target).kind in "iub" and src.size and \
                not np.array_equal(src, np.round(np.real(src))):
            raise TypeError("cannot convert %s values with fractions to %s" %
                            (src.dtype, dtype.name))
        return src.astype(target, copy=False)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in ("U", "S"):
            return to_numpy(value, dtypes.string)
        return value
    arr = np.asarray(value)
    if arr.dtype.kind in ("U", "S") or (arr.dtype == object and arr.size and
                                        isinstance(arr.reshape(-1)[0],
                                                   (str, bytes))):
        return to_numpy(value, dtypes.string)
    if isinstance(value, (np.generic,)):
        return arr
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64:
        info = np.iinfo(np.int32)
        if arr.size == 0 or (arr.min() >= info.min and arr.max() <= info.max):
            return arr.astype(np.int32)
    if arr.dtype == object:
        raise TypeError("cannot make a tensor from %r" % (value,))
    return arr


def dtype_of(array):
    """The DType of a numpy array made by to_numpy."""
    return dtypes.as_dtype(array.dtype)


def make_tensor_proto(value, dtype=None, shape=None, typed_fields=False,
                      out=None):
    """A TensorProto of `value`. With `shape`, a single value fills it (as
    tf.constant(0.0, shape=[2, 3]) does); otherwise the sizes must agree.
    `typed_fields` writes the values into float_val etc. (constants) rather
    than tensor_content (feeds). `out`: an empty TensorProto to fill in
    place (a request's own field: no copy of the bytes into it)."""
    dtype = dtypes.as_dtype(dtype).base_dtype if dtype is not None else None
    arr = to_numpy(value, dtype)
    if dtype is None:
        dtype = dtype_of(arr)
    if shape is not None:
        shape = [int(d) for d in shape]
        count = int(np.prod(shape)) if shape else 1
        if arr.size == 1 and count != 1:
            arr = np.full(shape, arr.reshape(-1)[0], dtype=arr.dtype)
        elif arr.size != count:
            raise ValueError("%d values cannot fill shape %s" %
                             (arr.size, shape))
        else:
            arr = arr.reshape(shape)
    proto = out if out is not None else tensor_pb2.TensorProto()
    proto.dtype = dtype.as_datatype_enum
    proto.tensor_shape.CopyFrom(shape_proto(arr.shape))
    enum = dtype.as_datatype_enum
    flat = arr.reshape(-1)
    if dtype == dtypes.string:
        proto.string_val.extend(_to_bytes(v) for v in flat)
    elif not typed_fields:
        if enum == dtypes.bfloat16.as_datatype_enum and \
                dtypes._ml_dtypes is None:
            flat = _bfloat16_bits(flat)
        # Little-endian bytes; no copy besides tobytes' own on x86.
        proto.tensor_content = np.ascontiguousarray(
            flat, dtype=flat.dtype.newbyteorder("<")).tobytes()
    elif enum in _HALF_BITS:
        if enum == dtypes.bfloat16.as_datatype_enum and \
                dtypes._ml_dtypes is None:
            bits = _bfloat16_bits(flat)
        else:
            bits = np.ascontiguousarray(flat).view(np.uint16)
        proto.half_val.extend(int(b) for b in bits)
    elif dtype.is_complex:
        pairs = np.stack([flat.real, flat.imag], axis=-1).reshape(-1)
        getattr(proto, _FIELD[enum]).extend(pairs.tolist())
    else:
        getattr(proto, _FIELD[enum]).extend(flat.tolist())
    return proto


def make_ndarray(proto):
    """The numpy array a TensorProto holds (np.object_ of bytes for strings;
    resource and variant tensors as arrays of their protos)."""
    dtype = dtypes.as_dtype(proto.dtype).base_dtype
    shape = [d.size for d in proto.tensor_shape.dim]
    count = int(np.prod(shape)) if shape else 1
    enum = dtype.as_datatype_enum
    if dtype in (dtypes.resource, dtypes.variant):
        vals = list(proto.resource_handle_val if dtype == dtypes.resource else
                    proto.variant_val)
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out.reshape(shape) if len(vals) == count else out
    if dtype == dtypes.string:
        vals = list(proto.string_val)
        if proto.tensor_content and not vals:
            raise ValueError("string tensors in tensor_content are not "
                             "supported")
        vals = _pad(vals, count, b"")
        out = np.empty(count, dtype=object)
        out[:] = vals
        return out.reshape(shape)
    storage = _storage(dtype)
    if proto.tensor_content:
        # A copy the caller owns (frombuffer's view is read-only).
        arr = np.frombuffer(proto.tensor_content,
                            dtype=np.dtype(storage).newbyteorder("<"))
        arr = arr.astype(storage, copy=True)
    elif enum in _HALF_BITS:
        bits = np.array(_pad(list(proto.half_val), count, 0), dtype=np.uint16)
        arr = bits.view(storage) if storage != np.uint16 else bits
    elif dtype.is_complex:
        vals = list(getattr(proto, _FIELD[enum]))
        pairs = [complex(vals[i], vals[i + 1])
                 for i in range(0, len(vals) - 1, 2)]
        arr = np.array(_pad(pairs, count, 0j), dtype=storage)
    else:
        vals = _pad(list(getattr(proto, _FIELD[enum])), count, 0)
        arr = np.array(vals, dtype=storage)
    if arr.size != count:
        raise ValueError("a %s TensorProto of shape %s holds %d values" %
                         (dtype.name, shape, arr.size))
    if dtype == dtypes.bfloat16 and dtypes._ml_dtypes is None:
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.reshape(shape)


def _pad(values, count, zero):
    if len(values) >= count:
        return values[:count]
    return values + [values[-1] if values else zero] * (count - len(values))
