"""Every dtype Rill has, fed and fetched through a real server: values
and dtypes come back as they went in. (Rill's tensors have no complex
types: feeding one is an UnimplementedError.)"""

import numpy as np
import pytest

import rill

try:
    import ml_dtypes
except ImportError:
    ml_dtypes = None

NUMERIC = [
    (rill.float32, np.float32, [[1.5, -2.25], [3e38, np.inf]]),
    (rill.float64, np.float64, [[1e300, -1e-300], [np.pi, -0.0]]),
    (rill.float16, np.float16, [[0.5, -65504.0], [1e-3, 2.0]]),
    (rill.int8, np.int8, [[-128, 127], [0, 1]]),
    (rill.int16, np.int16, [[-32768, 32767], [0, 1]]),
    (rill.int32, np.int32, [[-2**31, 2**31 - 1], [0, 1]]),
    (rill.int64, np.int64, [[-2**63, 2**63 - 1], [0, 1]]),
    (rill.uint8, np.uint8, [[0, 255], [1, 2]]),
    (rill.uint16, np.uint16, [[0, 65535], [1, 2]]),
    (rill.uint32, np.uint32, [[0, 2**32 - 1], [1, 2]]),
    (rill.uint64, np.uint64, [[0, 2**64 - 1], [1, 2]]),
    (rill.bool, np.bool_, [[True, False], [False, True]]),
]


def identity_graph(dtype, shape=None):
    with rill.Graph().as_default() as g:
        x = rill.placeholder(dtype, shape, name="x")
        y = rill.ops.identity(x, name="y")
    return g, x, y


@pytest.mark.parametrize("dtype,np_type,values", NUMERIC,
                         ids=[d.name for d, _, _ in NUMERIC])
def test_numeric_round_trip(run, dtype, np_type, values):
    value = np.array(values, dtype=np_type)
    g, x, y = identity_graph(dtype, [2, 2])
    out = run(g, y, {x: value})
    assert out.dtype == np.dtype(np_type)
    np.testing.assert_array_equal(out, value)
    # Constants of the dtype (typed fields of the TensorProto) too.
    with g.as_default():
        c = rill.constant(value, name="c")
    assert c.dtype == dtype
    np.testing.assert_array_equal(run(g, c), value)


def test_shapes_scalars_and_empty(run):
    g, x, y = identity_graph(rill.float32)
    for value in (np.float32(7), np.zeros((0, 3), np.float32),
                  np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(
                      2, 3, 4, 5)):
        out = run(g, y, {x: value})
        assert out.shape == np.shape(value)
        np.testing.assert_array_equal(out, value)


def test_strings(run):
    value = np.array([[b"", b"plain"], ["unicode \u00e9\u4e2d", b"\x00\xff\xfe"]],
                     dtype=object)
    g, x, y = identity_graph(rill.string, [2, 2])
    with g.as_default():
        joined = rill.ops.string_join([y, rill.constant("!")], separator="")
        length = rill.ops.string_length(y)
    out, j, n = run(g, [y, joined, length], {x: value})
    expected = [[b"", b"plain"], ["unicode \u00e9\u4e2d".encode(),
                                  b"\x00\xff\xfe"]]
    assert out.dtype == object and out.tolist() == expected
    assert j.tolist() == [[s + b"!" for s in row] for row in expected]
    np.testing.assert_array_equal(n, [[0, 5], [len(expected[1][0]), 3]])


def test_bfloat16(run):
    values = np.array([1.0, -2.5, 3.140625, 65280.0], np.float32)
    g, x, y = identity_graph(rill.bfloat16, [4])
    out = run(g, y, {x: values})
    # Exactly representable in bfloat16: values come back unchanged.
    if ml_dtypes is not None:
        assert out.dtype == ml_dtypes.bfloat16
    else:
        assert out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out, np.float32), values)


def test_scalars_come_back_as_numpy_scalars(run):
    with rill.Graph().as_default() as g:
        f = rill.constant(2.5)
        s = rill.constant("text")
        i = rill.constant(np.int64(7))
    out = run(g, [f, s, i])
    assert isinstance(out[0], np.float32) and out[0] == 2.5
    assert out[1] == b"text"
    assert isinstance(out[2], np.int64) and out[2] == 7


def test_python_values_take_tensorflow_dtypes():
    with rill.Graph().as_default():
        assert rill.constant(1.5).dtype == rill.float32
        assert rill.constant(3).dtype == rill.int32
        assert rill.constant(2**40).dtype == rill.int64
        assert rill.constant(True).dtype == rill.bool
        assert rill.constant("s").dtype == rill.string
        assert rill.constant([1, 2], dtype=rill.float64).dtype == rill.float64
        assert rill.constant(np.float64(1)).dtype == rill.float64


def test_feed_converts_to_the_placeholder_dtype(run):
    g, x, y = identity_graph(rill.float64, [3])
    out = run(g, y, {x: [1, 2, 3]})
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1, 2, 3])


def test_bad_feeds_are_clear_errors(run):
    g, x, y = identity_graph(rill.int32, [2])
    with pytest.raises(TypeError, match="fractions"):
        run(g, y, {x: [1.5, 2]})
    with pytest.raises(ValueError, match="shape"):
        run(g, y, {x: [1, 2, 3]})
    with pytest.raises(TypeError, match="out of the range of int32"):
        run(g, y, {x: [1, 2**40]})
    with pytest.raises(TypeError, match="x:0"):
        run(g, y, {x: ["a", "b"]})
    with pytest.raises(TypeError, match="cannot feed"):
        run(g, y, {"nope:0": [1, 2]})


def test_complex_is_unimplemented_on_the_server(run):
    g, x, y = identity_graph(rill.complex64, [1])
    with pytest.raises(rill.errors.UnimplementedError, match="complex64"):
        run(g, y, {x: np.array([1 + 2j], np.complex64)})
    # The client's encoding itself round-trips.
    proto = rill.make_tensor_proto(np.array([1 + 2j, -3j], np.complex64))
    np.testing.assert_array_equal(rill.make_ndarray(proto), [1 + 2j, -3j])
    proto = rill.make_tensor_proto(np.array([1 + 2j], np.complex128),
                                   typed_fields=True)
    np.testing.assert_array_equal(rill.make_ndarray(proto), [1 + 2j])
