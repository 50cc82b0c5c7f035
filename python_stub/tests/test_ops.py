"""Op wrappers against numpy: each case builds a graph with rill.ops, runs
it on a worker of the cluster, and compares with numpy's answer."""

import math

import numpy as np
import pytest

import rill

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((4, 5)).astype(np.float32)
C = RNG.standard_normal((3, 4)).astype(np.float32)
POS = (np.abs(A) + 0.5).astype(np.float32)
I = np.array([[3, -7, 2], [0, 9, -4]], np.int32)
J = np.array([[2, 3, -3], [5, 4, 3]], np.int32)
IMG = RNG.standard_normal((2, 5, 6, 3)).astype(np.float32)
KER = RNG.standard_normal((3, 2, 3, 4)).astype(np.float32)


def conv2d_reference(x, k, stride, padding):
    n, h, w, c = x.shape
    kh, kw, _, o = k.shape
    if padding == "SAME":
        oh, ow = math.ceil(h / stride), math.ceil(w / stride)
        ph = max((oh - 1) * stride + kh - h, 0)
        pw = max((ow - 1) * stride + kw - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2),
                       (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((n, oh, ow, o), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, i, j] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return out


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


o = None  # rill.ops, bound lazily in the cases below.

CASES = {
    # Elementwise math.
    "add": (lambda: o.add_v2(A, C), lambda: A + C),
    "sub": (lambda: o.sub(A, C), lambda: A - C),
    "mul_broadcast": (lambda: o.mul(A, C[0]), lambda: A * C[0]),
    "real_div": (lambda: o.real_div(A, POS), lambda: A / POS),
    "floor_div_int": (lambda: o.floor_div(I, J), lambda: I // J),
    "floor_mod_int": (lambda: o.floor_mod(I, J), lambda: np.mod(I, J)),
    "maximum": (lambda: o.maximum(A, C), lambda: np.maximum(A, C)),
    "minimum": (lambda: o.minimum(A, C), lambda: np.minimum(A, C)),
    "pow": (lambda: o.pow(POS, np.float32(1.5)), lambda: POS ** 1.5),
    "squared_difference": (lambda: o.squared_difference(A, C),
                           lambda: (A - C) ** 2),
    "neg": (lambda: o.neg(A), lambda: -A),
    "abs": (lambda: o.abs(I), lambda: np.abs(I)),
    "exp": (lambda: o.exp(A), lambda: np.exp(A)),
    "log": (lambda: o.log(POS), lambda: np.log(POS)),
    "log1p": (lambda: o.log1p(POS), lambda: np.log1p(POS)),
    "sqrt": (lambda: o.sqrt(POS), lambda: np.sqrt(POS)),
    "rsqrt": (lambda: o.rsqrt(POS), lambda: 1 / np.sqrt(POS)),
    "square": (lambda: o.square(A), lambda: A * A),
    "tanh": (lambda: o.tanh(A), lambda: np.tanh(A)),
    "sigmoid": (lambda: o.sigmoid(A), lambda: 1 / (1 + np.exp(-A))),
    "sin": (lambda: o.sin(A), lambda: np.sin(A)),
    "cos": (lambda: o.cos(A), lambda: np.cos(A)),
    "floor": (lambda: o.floor(A), lambda: np.floor(A)),
    "ceil": (lambda: o.ceil(A), lambda: np.ceil(A)),
    "round": (lambda: o.round(A * 3), lambda: np.round(A * 3)),
    "sign": (lambda: o.sign(A), lambda: np.sign(A)),
    "reciprocal": (lambda: o.reciprocal(POS), lambda: 1 / POS),
    "erf": (lambda: o.erf(A), lambda: np.vectorize(math.erf)(A)),
    # Comparison and logic.
    "less": (lambda: o.less(A, C), lambda: A < C),
    "greater_equal": (lambda: o.greater_equal(I, J), lambda: I >= J),
    "equal": (lambda: o.equal(I, J), lambda: I == J),
    "logical_and": (lambda: o.logical_and(A > 0, C > 0),
                    lambda: (A > 0) & (C > 0)),
    "select": (lambda: o.select_v2(A > C, A, C), lambda: np.where(A > C, A, C)),
    # Linear algebra.
    "mat_mul": (lambda: o.mat_mul(A, B), lambda: A @ B),
    "mat_mul_transposed": (lambda: o.mat_mul(A, C, transpose_b=True),
                           lambda: A @ C.T),
    "batch_mat_mul": (lambda: o.batch_mat_mul_v2(np.stack([A, C]),
                                                 np.stack([B, B])),
                      lambda: np.stack([A @ B, C @ B])),
    "einsum": (lambda: o.einsum([A, B], equation="ij,jk->ik"),
               lambda: A @ B),
    # Reductions.
    "sum": (lambda: o.sum(A, [1]), lambda: A.sum(axis=1)),
    "sum_keep_dims": (lambda: o.sum(A, [0], keep_dims=True),
                      lambda: A.sum(axis=0, keepdims=True)),
    "mean": (lambda: o.mean(A, [0, 1]), lambda: A.mean()),
    "max": (lambda: o.max(I, [0]), lambda: I.max(axis=0)),
    "min": (lambda: o.min(A, [1]), lambda: A.min(axis=1)),
    "prod": (lambda: o.prod(POS, [1]), lambda: POS.prod(axis=1)),
    "all": (lambda: o.all(A > -10, [1]), lambda: (A > -10).all(axis=1)),
    "arg_max": (lambda: o.arg_max(A, 1), lambda: A.argmax(axis=1)),
    "arg_min": (lambda: o.arg_min(A, 0, output_type=rill.int32),
                lambda: A.argmin(axis=0).astype(np.int32)),
    "cumsum": (lambda: o.cumsum(A, 1), lambda: np.cumsum(A, axis=1)),
    # Shapes and indexing.
    "reshape": (lambda: o.reshape(A, [2, 6]), lambda: A.reshape(2, 6)),
    "transpose": (lambda: o.transpose(IMG, [0, 3, 1, 2]),
                  lambda: IMG.transpose(0, 3, 1, 2)),
    "expand_dims": (lambda: o.expand_dims(A, -1), lambda: A[..., None]),
    "squeeze": (lambda: o.squeeze(A[None], squeeze_dims=[0]), lambda: A),
    "concat": (lambda: o.concat_v2([A, C], 1),
               lambda: np.concatenate([A, C], 1)),
    "pack": (lambda: o.pack([A, C], axis=1), lambda: np.stack([A, C], 1)),
    "split": (lambda: o.split(1, A, num_split=2), lambda: np.split(A, 2, 1)),
    "slice": (lambda: o.slice(A, [1, 1], [2, 2]), lambda: A[1:3, 1:3]),
    "getitem": (lambda: rill.constant(IMG)[1, :, ::2, -1],
                lambda: IMG[1, :, ::2, -1]),
    "getitem_newaxis": (lambda: rill.constant(A)[None, ..., 1:],
                        lambda: A[None, ..., 1:]),
    "gather": (lambda: o.gather_v2(A, [2, 0, 2], 0), lambda: A[[2, 0, 2]]),
    "gather_nd": (lambda: o.gather_nd(A, [[0, 1], [2, 3]]),
                  lambda: A[[0, 2], [1, 3]]),
    "tile": (lambda: o.tile(A, [2, 1]), lambda: np.tile(A, (2, 1))),
    "pad": (lambda: o.pad(A, [[1, 0], [0, 2]]),
            lambda: np.pad(A, ((1, 0), (0, 2)))),
    "reverse": (lambda: o.reverse_v2(A, [1]), lambda: A[:, ::-1]),
    "fill": (lambda: o.fill([2, 3], np.float32(7)),
             lambda: np.full((2, 3), 7, np.float32)),
    "range": (lambda: o.range(2, 11, 3), lambda: np.arange(2, 11, 3)),
    "one_hot": (lambda: o.one_hot([0, 2, 1], 3, np.float32(1),
                                  np.float32(0)),
                lambda: np.eye(3, dtype=np.float32)[[0, 2, 1]]),
    "shape": (lambda: o.shape(IMG), lambda: np.array(IMG.shape, np.int32)),
    "cast": (lambda: o.cast(A * 10, DstT=rill.int32),
             lambda: (A * 10).astype(np.int32)),
    "top_k": (lambda: o.top_kv2(A, 2).values,
              lambda: -np.sort(-A, axis=1)[:, :2]),
    "unique": (lambda: o.unique(np.array([3, 1, 3, 2, 1], np.int32)).y,
               lambda: np.array([3, 1, 2], np.int32)),
    "where": (lambda: o.where(A > 0), lambda: np.argwhere(A > 0)),
    "add_n": (lambda: o.add_n([A, C, A]), lambda: A + C + A),
    # Neural networks.
    "relu": (lambda: o.relu(A), lambda: np.maximum(A, 0)),
    "relu6": (lambda: o.relu6(A * 10), lambda: np.clip(A * 10, 0, 6)),
    "elu": (lambda: o.elu(A), lambda: np.where(A > 0, A, np.exp(A) - 1)),
    "softplus": (lambda: o.softplus(A), lambda: np.log1p(np.exp(A))),
    "softmax": (lambda: o.softmax(A), lambda: softmax(A)),
    "log_softmax": (lambda: o.log_softmax(A), lambda: np.log(softmax(A))),
    "bias_add": (lambda: o.bias_add(A, C[0]), lambda: A + C[0]),
    "l2_loss": (lambda: o.l2_loss(A), lambda: (A ** 2).sum() / 2),
    "conv2d_same": (lambda: o.conv2d(IMG, KER, strides=[1, 1, 1, 1],
                                     padding="SAME"),
                    lambda: conv2d_reference(IMG, KER, 1, "SAME")),
    "conv2d_valid_strided": (lambda: o.conv2d(IMG, KER, strides=[1, 2, 2, 1],
                                              padding="VALID"),
                             lambda: conv2d_reference(IMG, KER, 2, "VALID")),
    "max_pool": (lambda: o.max_pool(IMG[:, :4], ksize=[1, 2, 2, 1],
                                    strides=[1, 2, 2, 1], padding="VALID"),
                 lambda: IMG[:, :4].reshape(2, 2, 2, 3, 2, 3).max(
                     axis=(2, 4))),
    "avg_pool": (lambda: o.avg_pool(IMG[:, :4], ksize=[1, 2, 2, 1],
                                    strides=[1, 2, 2, 1], padding="VALID"),
                 lambda: IMG[:, :4].reshape(2, 2, 2, 3, 2, 3).mean(
                     axis=(2, 4))),
    "softmax_xent": (
        lambda: o.sparse_softmax_cross_entropy_with_logits(
            A, np.array([0, 3, 1], np.int64)).loss,
        lambda: -np.log(softmax(A)[[0, 1, 2], [0, 3, 1]])),
    # Strings.
    "string_join": (lambda: o.string_join([["a", "b"], "-x"]),
                    lambda: np.array([b"a-x", b"b-x"], object)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_numpy(run, case):
    global o
    o = rill.ops
    build, reference = CASES[case]
    with rill.Graph().as_default() as g:
        out = build()
    got = run(g, out)
    want = reference()
    if isinstance(want, list):
        assert len(got) == len(want)
        pairs = list(zip(got, want))
    else:
        pairs = [(got, want)]
    for g_value, w_value in pairs:
        w_value = np.asarray(w_value)
        assert g_value.shape == w_value.shape, case
        if w_value.dtype == object:
            assert g_value.tolist() == w_value.tolist()
        elif w_value.dtype.kind in "fc":
            np.testing.assert_allclose(g_value, w_value, rtol=2e-5,
                                       atol=2e-5)
        else:
            np.testing.assert_array_equal(g_value, w_value)


def test_ops_run_on_every_task(cluster):
    """One graph spread over the three tasks (Send/Recv between them)."""
    with rill.Graph().as_default() as g:
        with rill.device("/job:ps/task:0"):
            a = rill.constant(A, name="a")
        with rill.device("/job:worker/task:1"):
            b = rill.ops.mat_mul(a, B, name="b")
        with rill.device("/job:worker/task:0"):
            c = rill.ops.relu(b, name="c")
    with rill.Session(cluster.target("worker", 0), graph=g) as s:
        np.testing.assert_allclose(s.run(c), np.maximum(A @ B, 0), rtol=1e-5,
                                   atol=1e-5)
