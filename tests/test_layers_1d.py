"""The 1-D ops and layers (minifcn/functional_1d.py, minifcn/nn_1d.py) and Embedding, four ways
as tests/test_conv.py: the loops of minifcn/naive.py (1-D ones, written on their own, not the
2-D loops on a row), float64 finite differences, the adjoint identity of each linear pair, and
PyTorch's forward and every gradient in float64 and float32; then the modules (state dicts,
torch's weights, reprs) and the errors.
"""
import math
import re
import warnings

import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.testing import distinct_values, gradcheck
from layer_twins import assert_backward_is_adjoint, assert_twin_takes_state, load_torch_twin
from oracle import DTYPES, assert_close, check_vs_torch, to_np, torch_tensor

# torch's note that its own "same" with an even kernel copies the input: not about minifcn
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

# (n, in_c, L, out_c, k, stride, padding, dilation, groups)
CONV_CASES = [
    (2, 3, 11, 4, 3, 1, 1, 1, 1),          # odd length
    (1, 4, 13, 6, 3, 4, 0, 1, 2),          # stride > kernel, groups
    (2, 4, 9, 4, 2, 2, 2, 3, 4),           # depthwise, dilated, an even kernel
    (1, 2, 7, 3, 4, 1, "same", 1, 1),      # "same" with an odd total (the extra zero at the end)
    (2, 2, 8, 4, 3, 1, "same", 3, 2),      # "same", dilated, grouped
    (2, 2, 6, 3, 3, 1, "valid", 1, 1),
]

# (n, in_c, L, out_c, k, stride, padding, output_padding, groups, dilation)
CONVT_CASES = [
    (2, 3, 5, 4, 3, 2, 1, 1, 1, 1),
    (1, 4, 6, 6, 2, 3, 0, 2, 2, 1),        # stride > kernel: gaps between the copies
    (2, 4, 5, 4, 3, 1, 2, 1, 4, 2),        # depthwise, dilated (output_padding < dilation)
]

# (n, c, L, k, stride, padding, ceil_mode)
POOL_CASES = [
    (2, 3, 11, 3, 2, 1, False),
    (1, 2, 10, 2, 3, 0, True),             # stride > kernel, ceil mode
    (2, 2, 9, 4, 2, 2, True),              # the last window hangs over the padding
    (1, 1, 7, 3, 1, 0, False),             # overlapping windows
]

# max pooling's: those, undilated, and (..., dilation) ones
MAX_POOL_CASES = [case + (1,) for case in POOL_CASES] + [
    (2, 3, 12, 3, 4, 1, True, 3),          # stride > kernel, taps 3 apart (a span of 7), ceil mode
    (2, 2, 11, 3, 1, 1, False, 2),         # dilated windows overlapping
    (1, 2, 8, 2, 2, 1, True, 4),           # a span of 5 over the padding at both ends
]


def _conv_inputs(rng, case):
    n, in_c, length, out_c, k, g = case[:5] + case[8:]
    return (rng.standard_normal((n, in_c, length)), rng.standard_normal((out_c, in_c // g, k)),
            rng.standard_normal(out_c))


def _convt_inputs(rng, case):
    n, in_c, length, out_c, k, g = case[:5] + case[8:9]
    return (rng.standard_normal((n, in_c, length)), rng.standard_normal((in_c, out_c // g, k)),
            rng.standard_normal(out_c))


def _same_as_numbers(case):
    """The numeric padding of a conv case for naive.conv1d, which takes no "same": the left
    zeros, and the right ones added to the input."""
    k, stride, padding, dilation = case[4:8]
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = dilation * (k - 1)
        return total // 2, total - total // 2
    return padding, padding


def _naive_conv1d(x, W, b, case):
    left, right = _same_as_numbers(case)
    stride, dilation, groups = case[5], case[7], case[8]
    # the zeros written out, then an unpadded loop convolution
    xpad = np.pad(x, ((0, 0), (0, 0), (left, right)))
    return naive.conv1d(xpad, W, b, stride, 0, dilation, groups)


# --------------------------------------------------------------------- 1. naive loops
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv1d_matches_naive(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d, g = case[5:]
    y = F.conv1d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, d, g)
    np.testing.assert_allclose(to_np(y), _naive_conv1d(x, W, b, case), atol=1e-10, rtol=0)


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose1d_matches_naive(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op, g, d = case[5:]
    y = F.conv_transpose1d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, op, g, d)
    np.testing.assert_allclose(to_np(y), naive.conv_transpose1d(x, W, b, s, p, op, g, d), atol=1e-10, rtol=0)


def test_naive_conv1d_is_naive_conv2d_on_a_row(rng):
    # the loops of the two dimensions agree: what makes "a row of conv2d" the 1-D definition
    x, W, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    y1 = naive.conv1d(x, W, b, 2, 1, 2, groups=2)
    y2 = naive.conv2d(x[:, :, None], W[:, :, None], b, (1, 2), (0, 1), (1, 2), groups=2)
    np.testing.assert_allclose(y1, y2[:, :, 0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pool1d_matches_naive(xp, case):
    n, c, length, k, s, p, ceil, d = case
    x = distinct_values((n, c, length), seed=length)
    y, idx = F.max_pool1d(xp.asarray(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    y_ref, idx_ref = naive.max_pool1d(x, k, s, p, ceil, d)
    np.testing.assert_array_equal(to_np(y), y_ref)
    np.testing.assert_array_equal(to_np(idx), idx_ref)


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool1d_matches_naive(xp, rng, case, count_include_pad):
    n, c, length, k, s, p, ceil = case
    x = rng.standard_normal((n, c, length))
    y = F.avg_pool1d(xp.asarray(x), k, s, p, ceil, count_include_pad)
    np.testing.assert_allclose(to_np(y), naive.avg_pool1d(x, k, s, p, ceil, count_include_pad), atol=1e-12, rtol=0)


@pytest.mark.parametrize("out", [1, 3, 4, 7])
def test_adaptive_avg_pool1d_matches_naive_on_a_row(xp, rng, out):
    x = rng.standard_normal((2, 3, 7))
    ref = naive.adaptive_avg_pool2d(x[:, :, None], 1, out)[:, :, 0]
    np.testing.assert_allclose(to_np(F.adaptive_avg_pool1d(xp.asarray(x), out)), ref, atol=1e-12, rtol=0)


def test_max_unpool1d_puts_values_back(xp):
    x = distinct_values((2, 3, 9), seed=3)
    y, idx = F.max_pool1d(xp.asarray(x), 2, return_indices=True)
    up = to_np(F.max_unpool1d(y, idx, 2, output_size=(9,)))
    ref = naive.max_unpool2d(to_np(y)[:, :, None], to_np(idx)[:, :, None], (1, 9))[:, :, 0]
    np.testing.assert_array_equal(up, ref)
    # each window's maximum back in its place, the rest zeros
    kept = up != 0
    np.testing.assert_array_equal(up[kept], x[kept])
    assert kept.sum() == y.size


def test_embedding_matches_naive(xp, rng):
    W = rng.standard_normal((7, 4))
    idx = rng.integers(0, 7, size=(3, 5))
    np.testing.assert_array_equal(to_np(F.embedding(xp.asarray(idx), xp.asarray(W))), naive.embedding(idx, W))


@pytest.mark.parametrize("padding_idx, scale", [(None, False), (2, False), (None, True), (-1, True)])
def test_embedding_gradient_matches_naive(xp, rng, padding_idx, scale):
    W = rng.standard_normal((6, 3))
    idx = np.array([[0, 2, 2, 5], [5, 1, 2, 0]])
    gy = rng.standard_normal((2, 4, 3))
    Wt = Tensor(xp.asarray(W), requires_grad=True)
    F.embedding(xp.asarray(idx), Wt, padding_idx=padding_idx, scale_grad_by_freq=scale).backward(xp.asarray(gy))
    pad = None if padding_idx is None else padding_idx % 6
    np.testing.assert_allclose(to_np(Wt.grad), naive.embedding_grad(idx, gy, 6, pad, scale), atol=1e-12, rtol=0)
    assert not to_np(Wt.grad)[[3, 4]].any()   # rows never read: no gradient
    if pad is not None:
        assert not to_np(Wt.grad)[pad].any()


# --------------------------------------------------------------------- 2. finite differences
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv1d_gradcheck(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d, g = case[5:]
    assert gradcheck(lambda x, W, b: F.conv1d(x, W, b, s, p, d, g), [xp.asarray(v) for v in (x[:1], W, b)])


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose1d_gradcheck(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op, g, d = case[5:]
    assert gradcheck(lambda x, W, b: F.conv_transpose1d(x, W, b, s, p, op, g, d),
                     [xp.asarray(v) for v in (x[:1], W, b)])


@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pool1d_gradcheck(xp, case):
    n, c, length, k, s, p, ceil, d = case
    x = xp.asarray(distinct_values((n, c, length), seed=length))   # no ties: no argmax flips
    assert gradcheck(lambda x: F.max_pool1d(x, k, s, p, d, ceil_mode=ceil), [x])


@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pools1d_gradcheck(xp, case):
    n, c, length, k, s, p, ceil = case
    x = xp.asarray(distinct_values((n, c, length), seed=length))
    assert gradcheck(lambda x: F.avg_pool1d(x, k, s, p, ceil, count_include_pad=False), [x])
    assert gradcheck(lambda x: F.adaptive_avg_pool1d(x, 4), [x])


def test_max_unpool1d_and_embedding_gradcheck(xp, rng):
    x = distinct_values((1, 2, 9), seed=1)
    _, idx = F.max_pool1d(x, 3, 2, return_indices=True)   # overlapping windows
    v = xp.asarray(rng.standard_normal(idx.shape))
    assert gradcheck(lambda v: F.max_unpool1d(v, xp.asarray(idx.data), 3, 2, output_size=(9,)), [v])
    idx = xp.asarray(np.array([[1, 3, 3], [0, 4, 1]]))
    W = xp.asarray(rng.standard_normal((5, 3)))
    assert gradcheck(lambda W: F.embedding(idx, W), [W])
    # padding_idx and scale_grad_by_freq change the gradient on purpose (PyTorch's), so it is not
    # the derivative of the lookup any more: they are checked against the loops and torch instead
    with pytest.raises(AssertionError, match="gradcheck"):
        gradcheck(lambda W: F.embedding(idx, W, scale_grad_by_freq=True), [W])


def test_batch_norm1d_gradcheck(xp, rng):
    bn = nn.BatchNorm1d(3).astype(np.float64).to("cpu" if xp is np else "cuda")
    bn.weight.data[...] = xp.asarray(rng.standard_normal(3))
    for shape in ((5, 3), (2, 3, 4)):
        assert gradcheck(lambda x, w, b: F.batch_norm(x.reshape(shape[0], 3, 1, -1), None, None, w, b,
                                                      training=True).reshape(shape),
                         [xp.asarray(rng.standard_normal(shape)), bn.weight.data, bn.bias.data])
        # the module's output is what the 2-D function gives on one row
        x = xp.asarray(rng.standard_normal(shape))
        np.testing.assert_allclose(
            to_np(bn.train()(x)),
            to_np(F.batch_norm(x.reshape(shape[0], 3, 1, -1), None, None, bn.weight, bn.bias, True).reshape(shape)),
            atol=1e-12, rtol=0)


# --------------------------------------------------------------------- 3. adjoint identities
@pytest.mark.parametrize("case", [(2, 4, 11, 6, 3, 2, 1, 1, 2), (1, 3, 10, 2, 4, 3, 2, 2, 1)])
def test_conv_transpose1d_is_the_adjoint_of_conv1d(xp, rng, case):
    # <conv1d(x, W), y> = <x, conv_transpose1d(y, W)>, same W, stride, padding, dilation, groups
    n, in_c, length, out_c, k, s, p, d, g = case
    x, W = rng.standard_normal((n, in_c, length)), rng.standard_normal((out_c, in_c // g, k))
    Ax = to_np(F.conv1d(xp.asarray(x), xp.asarray(W), None, s, p, d, g))
    y = rng.standard_normal(Ax.shape)
    # the output_padding that gives the transpose the input's length back
    op = length - ((Ax.shape[2] - 1) * s - 2 * p + d * (k - 1) + 1)
    ATy = to_np(F.conv_transpose1d(xp.asarray(y), xp.asarray(W), None, s, p, op, g, d))
    assert ATy.shape == x.shape
    np.testing.assert_allclose((Ax * y).sum(), (x * ATy).sum(), rtol=1e-10)


def test_linear_1d_ops_backward_is_their_adjoint(xp, rng):
    x = rng.standard_normal((2, 3, 11))
    assert_backward_is_adjoint(xp, rng, lambda t: F.avg_pool1d(t, 3, 2, 1, True, False), x)
    assert_backward_is_adjoint(xp, rng, lambda t: F.adaptive_avg_pool1d(t, 4), x)
    _, idx = F.max_pool1d(distinct_values((2, 3, 11)), 3, 2, return_indices=True)
    assert_backward_is_adjoint(xp, rng, lambda t: F.max_unpool1d(t, xp.asarray(idx.data), 3, 2, output_size=(11,)),
                                rng.standard_normal(idx.shape))


def test_embedding_gradient_is_its_adjoint(xp, rng):
    # the lookup is linear in the table: <E(W), Y> = <W, E^T Y>, E^T Y the scatter-added rows
    idx = xp.asarray(rng.integers(0, 8, size=(4, 6)))
    assert_backward_is_adjoint(xp, rng, lambda W: F.embedding(idx, W), rng.standard_normal((8, 5)))


# --------------------------------------------------------------------- 4. PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv1d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, d, g = case[5:]
    check_vs_torch(torch, lambda x, W, b: F.conv1d(x, W, b, s, p, d, g),
                   lambda x, W, b: torch.nn.functional.conv1d(x, W, b, s, p, d, g), _conv_inputs(rng, case), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose1d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, op, g, d = case[5:]
    check_vs_torch(torch, lambda x, W, b: F.conv_transpose1d(x, W, b, s, p, op, g, d),
                   lambda x, W, b: torch.nn.functional.conv_transpose1d(x, W, b, s, p, op, g, d),
                   _convt_inputs(rng, case), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_signals_vs_torch(rng, dtype):
    # (c, L) without the batch, as PyTorch takes it, for each op that takes one there
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, W, b = rng.standard_normal((4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    check_vs_torch(torch, lambda x, W, b: F.conv1d(x, W, b, 2, 1, groups=2),
                   lambda x, W, b: tf.conv1d(x, W, b, 2, 1, groups=2), (x, W, b), dtype, rng)
    check_vs_torch(torch, lambda x, W, b: F.conv_transpose1d(x, W, b, 2, 1, 1, 2),
                   lambda x, W, b: tf.conv_transpose1d(x, W, b, 2, 1, 1, 2),
                   (x, rng.standard_normal((4, 3, 3)), b), dtype, rng)
    x = distinct_values((3, 9), seed=2)
    check_vs_torch(torch, lambda x: F.max_pool1d(x, 2, ceil_mode=True), lambda x: tf.max_pool1d(x, 2, ceil_mode=True),
                   (x,), dtype, rng)
    check_vs_torch(torch, lambda x: F.avg_pool1d(x, 3, 2, 1), lambda x: tf.avg_pool1d(x, 3, 2, 1), (x,), dtype, rng)
    check_vs_torch(torch, lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: tf.adaptive_avg_pool1d(x, 4),
                   (x,), dtype, rng)
    y, idx = F.max_pool1d(x, 2, return_indices=True)
    yt, idxt = tf.max_pool1d(torch_tensor(torch, x), 2, return_indices=True)
    np.testing.assert_array_equal(to_np(idx), to_np(idxt))
    check_vs_torch(torch, lambda v: F.max_unpool1d(v, idx, 2, output_size=(9,)),
                   lambda v: tf.max_unpool1d(v, idxt, 2, output_size=(9,)), (to_np(y),), dtype, rng)


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("output_size", [(5,), (1, 1, 5), (7, 9, 4), 5, (1, 5), (1, 1, 1, 5), ()])
def test_max_unpool1d_output_size_lengths_as_torch(batched, output_size):
    # PyTorch takes 1 or 3 numbers (len(kernel) + 2) whatever the batch; (c, L) once took 1 or 2
    torch = pytest.importorskip("torch")
    x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]])[0 if not batched else slice(None)]
    y, idx = F.max_pool1d(x, 2, return_indices=True)
    yt, idxt = torch.nn.functional.max_pool1d(torch.from_numpy(x), 2, return_indices=True)
    try:
        want = torch.nn.functional.max_unpool1d(yt, idxt, 2, output_size=output_size).numpy()
    except (ValueError, TypeError) as e:
        if isinstance(output_size, int):   # ours takes the bare int PyTorch refuses (len(5))
            assert isinstance(e, TypeError)
            want = to_np(F.max_unpool1d(y, idx, 2, output_size=(output_size,)))
        else:
            with pytest.raises(ValueError, match=r"output_size must be \(L,\) or \(n, c, L\)"):
                F.max_unpool1d(y, idx, 2, output_size=output_size)
            return
    np.testing.assert_array_equal(to_np(F.max_unpool1d(y, idx, 2, output_size=output_size)), want)
    np.testing.assert_array_equal(to_np(nn.MaxUnpool1d(2)(y, idx, output_size)), want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool1d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    n, c, length, k, s, p, ceil = case
    for include in (True, False):
        check_vs_torch(torch, lambda x: F.avg_pool1d(x, k, s, p, ceil, include),
                       lambda x: torch.nn.functional.avg_pool1d(x, k, s, p, ceil, include),
                       (rng.standard_normal((n, c, length)),), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pool1d_and_unpool1d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    n, c, length, k, s, p, ceil, d = case
    x = distinct_values((n, c, length), seed=length)
    check_vs_torch(torch, lambda x: F.max_pool1d(x, k, s, p, d, ceil_mode=ceil),
                   lambda x: tf.max_pool1d(x, k, s, p, d, ceil_mode=ceil), (x,), dtype, rng)
    # PyTorch's 1-D indices, and the unpooling of them, value and gradient
    y, idx = F.max_pool1d(x.astype(dtype), k, s, p, d, ceil_mode=ceil, return_indices=True)
    yt, idxt = tf.max_pool1d(torch_tensor(torch, x.astype(dtype)), k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(to_np(idx), to_np(idxt))
    assert idx.dtype == np.int64
    span = d * (k - 1) + 1   # a dilated pooling is unpooled with its span as the kernel
    unpool = (lambda v: F.max_unpool1d(v, idx, span, s, p, output_size=(length,)),
              lambda v: tf.max_unpool1d(v, idxt, span, s, p, output_size=(length,)))
    rows = to_np(idx).reshape(-1, idx.shape[-1])
    last = np.array([[i not in row[j + 1:] for j, i in enumerate(row)] for row in rows]).reshape(idx.shape)
    if last.all():   # each position recorded once
        check_vs_torch(torch, *unpool, (to_np(y),), dtype, rng)
        return
    # overlapping windows that record a position twice: the same output as torch's, but only
    # the last record gets the gradient (README: max_unpool2d's, on purpose)
    assert span > s
    v, vt = Tensor(to_np(y), requires_grad=True), torch_tensor(torch, y, requires_grad=True)
    out, outt = unpool[0](v), unpool[1](vt)
    assert_close(out, outt, dtype, "unpool forward")
    g = rng.standard_normal(tuple(outt.shape)).astype(dtype)
    out.backward(g)
    outt.backward(torch.from_numpy(g))
    assert_close(v.grad, to_np(vt.grad) * last, dtype, "unpool grad, the last of each repeat")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", [1, 3, 5, 9])
def test_adaptive_avg_pool1d_vs_torch(rng, dtype, out):
    torch = pytest.importorskip("torch")
    check_vs_torch(torch, lambda x: F.adaptive_avg_pool1d(x, out),
                   lambda x: torch.nn.functional.adaptive_avg_pool1d(x, out), (rng.standard_normal((2, 3, 7)),),
                   dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -2, "scale_grad_by_freq": True},
                                    {"scale_grad_by_freq": True}])
def test_embedding_vs_torch(rng, dtype, kwargs):
    torch = pytest.importorskip("torch")
    idx = np.array([[1, 4, 4, 0], [3, 1, 1, 1]])
    check_vs_torch(torch, lambda W: F.embedding(idx, W, **kwargs),
                   lambda W: torch.nn.functional.embedding(torch.from_numpy(idx), W, **kwargs),
                   (rng.standard_normal((6, 3)),), dtype, rng)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renorms_the_rows_read_as_torch(rng, norm_type):
    torch = pytest.importorskip("torch")
    W = rng.standard_normal((6, 4)) * 2
    W[0] = [1.5, -1.0, 2.0, 0.5]            # over the limit in either norm
    W[2] *= 0.05                            # one row under the limit: left alone
    idx = np.array([0, 2, 2, 5])
    ours, theirs = W.copy(), torch.from_numpy(W.copy())
    y = F.embedding(idx, ours, max_norm=1.5, norm_type=norm_type)
    yt = torch.nn.functional.embedding(torch.from_numpy(idx), theirs, max_norm=1.5, norm_type=norm_type)
    assert_close(y, yt, np.float64, "forward")
    assert_close(ours, theirs, np.float64, "the table, renormed in place")
    np.testing.assert_array_equal(ours[[1, 3, 4]], W[[1, 3, 4]])   # rows not read: untouched
    np.testing.assert_array_equal(ours[2], W[2])
    assert np.linalg.norm(ours[0], ord=norm_type) < 1.5 < np.linalg.norm(W[0], ord=norm_type)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, math.inf, -math.inf, 0.0, -2.0, 0.5])
def test_embedding_max_norm_every_norm_type_and_infinite_rows_as_torch(dtype, norm_type):
    # p = inf once summed |w|**inf (then ** 0 = 1): no row was ever rescaled; rows of +-inf and
    # zeros too, where PyTorch's rescale gives NaN (inf * 0) or leaves the row as it is
    torch = pytest.importorskip("torch")
    inf = math.inf
    W = np.array([[3.0, -4.0, 0.0], [0.5, 0.2, 0.1], [inf, 1.0, 2.0], [-inf, 2.0, 0.5],
                  [0.0, 0.0, 0.0], [inf, -inf, inf], [1.5, -1.0, 2.0], [7.0, 7.0, 7.0]], dtype)
    idx = np.arange(len(W) - 1)             # the last row is not read: untouched
    ours, theirs = W.copy(), torch.from_numpy(W.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no numpy warning for the infinite rows
        y = F.embedding(idx, ours, max_norm=1.0, norm_type=norm_type)
    yt = torch.nn.functional.embedding(torch.from_numpy(idx), theirs, max_norm=1.0, norm_type=norm_type)
    # assert_close's float32 atol scales with the largest |value|, inf here: relative only
    rtol = 1e-10 if np.dtype(dtype) == np.float64 else 1e-4
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=rtol, atol=0)   # NaN and inf where torch's
    np.testing.assert_allclose(to_np(y), yt.numpy(), rtol=rtol, atol=0)
    np.testing.assert_array_equal(ours[-1], W[-1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm1d_vs_torch(rng, dtype, shape, momentum):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(3, momentum=momentum).astype(dtype), torch.nn.BatchNorm1d(3, momentum=momentum)
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    ours.load_state_dict({**ours.state_dict(), "weight": gamma.astype(dtype), "bias": beta.astype(dtype)})
    theirs.load_state_dict({**theirs.state_dict(), "weight": torch.from_numpy(gamma.astype(dtype)),
                            "bias": torch.from_numpy(beta.astype(dtype))})
    for step in range(2):   # two training batches: the running statistics move, as torch's
        x = (rng.standard_normal(shape) * 3 + step).astype(dtype)
        xo, xt = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
        y, yt = ours(xo), theirs(xt)
        assert_close(y, yt, dtype, "forward")
        g = rng.standard_normal(shape).astype(dtype)
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        assert_close(xo.grad, xt.grad, dtype, "grad x")
        assert_close(ours.weight.grad, theirs.weight.grad, dtype, "grad weight")
        assert_close(ours.bias.grad, theirs.bias.grad, dtype, "grad bias")
        ours.zero_grad()
        theirs.zero_grad()
    for name in ("running_mean", "running_var"):
        assert_close(getattr(ours, name), getattr(theirs, name), dtype, name)
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 2
    x = rng.standard_normal(shape).astype(dtype)
    assert_close(ours.eval()(x), theirs.eval()(torch_tensor(torch, x)), dtype, "eval")


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (2, 3), (1, 3, 2), (3, 3)])
@pytest.mark.parametrize("mode", ["train", "eval", "eval, untracked"])
def test_batch_norm1d_one_value_per_channel_refused_where_torch_refuses(rng, shape, mode):
    # refused in 1-D terms (it said shape (1, 3, 1, 1) and "an image whose map is 1x1"); a 2-D
    # (c, L) with L == num_features is no unbatched input but a batch of c, as PyTorch's (3, 3)
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(3, track_running_stats=mode != "eval, untracked"), \
        torch.nn.BatchNorm1d(3, track_running_stats=mode != "eval, untracked")
    if mode != "train":
        ours.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    try:
        want = theirs.double()(torch.from_numpy(x)).detach().numpy()
    except ValueError as e:
        assert "Expected more than 1 value per channel" in str(e)
        with pytest.raises(ValueError, match=rf"BatchNorm1d: .* got input of shape {re.escape(str(shape))} "
                                             r"\(one sample"):
            ours(x)
        assert ours.num_batches_tracked is None or int(ours.num_batches_tracked) == 0
        return
    assert_close(ours.astype(np.float64)(x), want, np.float64, "forward")


# --------------------------------------------------------------------- 5. the modules
def _torch_modules(torch):
    """(ours, torch's) pairs built with the same arguments."""
    tnn = torch.nn
    return [
        (nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), tnn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2)),
        (nn.Conv1d(2, 3, 4, padding="same", dilation=2, bias=False, padding_mode="reflect"),
         tnn.Conv1d(2, 3, 4, padding="same", dilation=2, bias=False, padding_mode="reflect")),
        (nn.Conv1d(2, 3, 3, padding=2, padding_mode="circular"),
         tnn.Conv1d(2, 3, 3, padding=2, padding_mode="circular")),
        (nn.Conv1d(2, 3, 3, padding=1, padding_mode="replicate"),
         tnn.Conv1d(2, 3, 3, padding=1, padding_mode="replicate")),
        (nn.Conv1d(2, 3, 4, padding="same", padding_mode="circular"),     # an odd total: 1 left, 2 right
         tnn.Conv1d(2, 3, 4, padding="same", padding_mode="circular")),
        (nn.Conv1d(2, 3, 4, padding="same"), tnn.Conv1d(2, 3, 4, padding="same")),
        (nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         tnn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)),
        (nn.ConvTranspose1d(2, 2, 2, dilation=3, bias=False), tnn.ConvTranspose1d(2, 2, 2, dilation=3, bias=False)),
        (nn.BatchNorm1d(2), tnn.BatchNorm1d(2)),
        (nn.BatchNorm1d(2, affine=False, track_running_stats=False),
         tnn.BatchNorm1d(2, affine=False, track_running_stats=False)),
    ]


def test_modules_state_dict_repr_and_outputs_with_torch_weights(rng):
    torch = pytest.importorskip("torch")
    for ours, theirs in _torch_modules(torch):
        load_torch_twin(ours, theirs)   # then the same outputs, in training and in eval
        for mode in ("train", "eval"):
            getattr(ours, mode)(), getattr(theirs, mode)()
            x = rng.standard_normal((3, _in_channels(ours), 10)).astype(np.float32)
            assert_close(ours(x), theirs(torch.from_numpy(x)), np.float32, repr(ours))


def _in_channels(m):
    return m.num_features if isinstance(m, nn.BatchNorm1d) else m.in_channels


def test_state_dict_round_trips(rng):
    for m in (nn.Conv1d(3, 4, 3), nn.ConvTranspose1d(3, 4, 3, stride=2), nn.BatchNorm1d(3),
              nn.Embedding(7, 2, padding_idx=3)):
        if isinstance(m, nn.Embedding):
            x = rng.integers(0, 7, (2, 5))
        else:
            x = rng.standard_normal((2, 3, 8)).astype(np.float32)
        if isinstance(m, nn.BatchNorm1d):
            m(x)   # the running statistics move off their start
        twin = type(m)(*_args(m))
        assert_twin_takes_state(m, twin, x)


def _args(m):
    if isinstance(m, nn.Embedding):
        return m.num_embeddings, m.embedding_dim, m.padding_idx
    if isinstance(m, nn.BatchNorm1d):
        return (m.num_features,)
    return m.in_channels, m.out_channels, m.kernel_size, m.stride


def test_embedding_module_with_torch_weights(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(9, 4, padding_idx=-3, scale_grad_by_freq=True)
    ours = nn.Embedding(9, 4, padding_idx=-3, scale_grad_by_freq=True)
    assert repr(ours) == repr(theirs) and ours.padding_idx == theirs.padding_idx == 6
    assert not ours.weight.numpy()[6].any()           # the padding row starts at zeros
    assert ours.weight.numpy().std() > 0.5            # N(0, 1), not a narrow fan-in draw
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    idx = np.array([[6, 2, 2], [0, 6, 8]])
    y, yt = ours(idx), theirs(torch.from_numpy(idx))
    assert_close(y, yt, np.float32, "forward")
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(ours.weight.grad, theirs.weight.grad, np.float32, "grad weight")


def test_embedding_from_pretrained(rng):
    torch = pytest.importorskip("torch")
    table = rng.standard_normal((5, 3)).astype(np.float32)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    assert np.shares_memory(frozen.weight.data, table)   # as torch's: the table itself
    idx = np.array([4, 0, 4])
    np.testing.assert_array_equal(frozen(idx).numpy(), table[idx])
    assert repr(frozen) == repr(torch.nn.Embedding.from_pretrained(torch.from_numpy(table)))
    learning = nn.Embedding.from_pretrained(Tensor(table.copy()), freeze=False, padding_idx=0)
    assert learning.weight.requires_grad
    np.testing.assert_array_equal(learning.weight.numpy()[0], table[0])   # the padding row as given
    learning(np.array([0, 1, 1])).sum().backward()
    np.testing.assert_array_equal(learning.weight.grad[:2], [[0, 0, 0], [2, 2, 2]])


def test_conv_transpose1d_module_output_size(rng):
    torch = pytest.importorskip("torch")
    ours = nn.ConvTranspose1d(2, 3, 3, stride=3, padding=1)
    theirs = torch.nn.ConvTranspose1d(2, 3, 3, stride=3, padding=1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((1, 2, 4)).astype(np.float32)
    for size in ([10], [12], (1, 3, 11)):   # the least output is 10: up to 12
        assert_close(ours(x, output_size=size), theirs(torch.from_numpy(x), output_size=size), np.float32, str(size))
    with pytest.raises(ValueError, match=r"output length of 13.*from 10 to 12"):
        ours(x, output_size=[13])


def test_layers_compose_in_a_sequential(rng):
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    ours = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.AvgPool1d(2),
                         nn.AdaptiveAvgPool1d(3))
    theirs = tnn.Sequential(tnn.Conv1d(3, 4, 3, padding=1), tnn.BatchNorm1d(4), tnn.ReLU(), tnn.AvgPool1d(2),
                            tnn.AdaptiveAvgPool1d(3))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 3, 11)).astype(np.float32)
    assert_close(ours(x), theirs(torch.from_numpy(x)), np.float32, "forward")
    for call in ("MaxPool1d(3, 2, 1, ceil_mode=True)", "MaxPool1d(2)", "MaxPool1d(2, 1, 0, 3, True)",
                 "MaxUnpool1d(2)", "MaxUnpool1d(3, 1)",
                 "AvgPool1d(3, 2, 1)", "AvgPool1d(2)", "AdaptiveAvgPool1d(5)", "BatchNorm1d(3, momentum=None)",
                 "Embedding(4, 2, max_norm=1.0, norm_type=1.0)"):
        assert repr(eval(call, vars(nn))) == repr(eval(call, vars(tnn))), call


def test_max_pool1d_module_returns_indices_for_unpool1d():
    pool, unpool = nn.MaxPool1d(2, return_indices=True), nn.MaxUnpool1d(2)
    x = distinct_values((1, 2, 7), seed=5)
    y, idx = pool(x)
    up = unpool(y, idx, output_size=(1, 2, 7)).numpy()
    assert up.shape == (1, 2, 7) and (up != 0).sum() == y.size
    np.testing.assert_array_equal(np.take_along_axis(up, idx.numpy(), axis=2), y.numpy())


# --------------------------------------------------------------------- 6. errors
SIG, W3 = np.ones((1, 2, 5)), np.ones((3, 2, 3))   # a signal and a weight that fit; none of the calls changes them


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.conv1d(SIG, np.ones((3, 2, 1, 3))), ValueError, r"conv1d: weight must be 3-D .*\(3, 2, 1, 3\)"),
    (lambda: F.conv2d(np.ones((1, 2, 5, 5)), W3), ValueError, r"conv2d: weight must be 4-D .*\(3, 2, 3\)"),
    (lambda: F.conv1d(np.ones((1, 2, 5, 5)), W3), ValueError, r"conv1d: input must be 3-D .*\(1, 2, 5, 5\)"),
    (lambda: F.conv1d(np.ones((1, 3, 5)), np.ones((4, 2, 3))), ValueError, r"input has 3 channels .* expects 2"),
    (lambda: F.conv1d(np.ones((1, 4, 5)), W3, groups=2), ValueError, r"3 output channels, not a multiple of groups=2"),
    (lambda: F.conv1d(SIG, W3, np.ones(4)), ValueError, r"bias shape \(4,\) should be \(3,\)"),
    (lambda: F.conv1d(SIG, W3, padding="full"), ValueError, r"'full'"),
    (lambda: F.conv1d(SIG, W3, stride=2, padding="same"), ValueError, r"'same' needs stride 1, got stride 2"),
    (lambda: F.conv1d(SIG, np.ones((3, 2, 4)), dilation=2), ValueError, r"kernel of 7 taps .* longer than the padded input, 5"),
    (lambda: F.conv1d(SIG, W3, stride=(1, 2)), TypeError, r"stride must be an int"),
    (lambda: F.conv1d(np.ones((1, 2, 5), np.float32), W3), TypeError, r"share one dtype"),
    (lambda: F.conv_transpose1d(SIG, np.ones((2, 3, 3)), stride=2, output_padding=2), ValueError,
     r"output_padding 2 must be smaller than the stride 2"),
    (lambda: F.conv_transpose1d(np.ones((1, 3, 5)), np.ones((2, 3, 3))), ValueError, r"input has 3 channels"),
    (lambda: F.max_pool1d(np.ones((1, 1, 2)), 2, 1, 1, dilation=3), ValueError,
     r"window at output position 0 holds no input pixel: its taps \[-1, 2\]"),
    (lambda: F.max_pool1d(SIG, 3, dilation=3), ValueError, r"kernel 3 with dilation 3 \(a span of 7\) is longer"),
    (lambda: F.max_pool1d(SIG, 2, padding=2), ValueError, r"padding 2 must be at most half the kernel 2"),
    (lambda: F.avg_pool1d(np.ones((1, 2, 2)), 4), ValueError, r"kernel 4 is longer than the padded input 2"),
    (lambda: F.max_unpool1d(np.ones((1, 1, 2)), np.array([[[0, 5]]]), 2), ValueError, r"\[0, 4\) .* got values in \[0, 5\]"),
    (lambda: F.max_unpool1d(np.ones((1, 1, 2)), np.array([[[0, -1]]]), 2), ValueError, r"got values in \[-1, 0\]"),
    (lambda: F.max_unpool1d(np.ones((1, 1, 2)), np.array([[[0, 1]]]), 2, output_size=(7,)), ValueError, r"output_size 7 .* expected 3 to 5"),
    (lambda: F.max_unpool1d(np.ones((1, 1, 2)), np.array([[0.0, 1.0]]), 2), TypeError, r"indices must be an integer"),
    (lambda: F.embedding(np.array([0, 7]), np.ones((7, 2))), IndexError, r"index 7 is out of range .* 7 rows \(expected 0 <= index < 7\)"),
    (lambda: F.embedding(np.array([-1, 2]), np.ones((7, 2))), IndexError, r"index -1 is out of range"),
    (lambda: F.embedding(np.array([0.0, 2.0]), np.ones((7, 2))), TypeError, r"integer tensor of indices .* float64"),
    (lambda: F.embedding(np.array([0]), np.ones((7, 2, 1))), ValueError, r"weight must be 2-D"),
    (lambda: F.embedding(np.array([0]), np.ones((7, 2)), padding_idx=7), ValueError, r"-7 <= padding_idx < 7, got 7"),
    (lambda: F.embedding(np.array([0]), np.ones((7, 2)), max_norm=-1.0), ValueError, r"max_norm must be a positive number, got -1.0"),
    (lambda: nn.Embedding(5, 2, sparse=True), ValueError, r"sparse=True is not supported"),
    (lambda: nn.Embedding(0, 2), ValueError, r"num_embeddings must be a positive int, got 0"),
    (lambda: nn.Embedding.from_pretrained(np.ones(4)), ValueError, r"must be 2-D .* got shape \(4,\)"),
    (lambda: nn.BatchNorm1d(3)(np.ones((2, 3, 4, 4), np.float32)), ValueError, r"BatchNorm1d: input must be 2-D \(n, c\) or 3-D"),
    (lambda: nn.BatchNorm1d(3)(np.ones((2, 4), np.float32)), ValueError, r"input has 4 channels .* num_features=3"),
    (lambda: nn.BatchNorm1d(3)(np.ones((1, 3), np.float32)), ValueError,
     r"BatchNorm1d: training needs more than one value per channel, got input of shape \(1, 3\) \(one sample: give a larger batch, or use eval mode\)$"),
    (lambda: nn.BatchNorm1d(3)(np.ones((1, 3, 1), np.float32)), ValueError, r"shape \(1, 3, 1\) \(one sample of length 1"),
    (lambda: nn.BatchNorm1d(3, track_running_stats=False).eval()(np.ones((1, 3), np.float32)), ValueError,
     r"\(one sample: give a larger batch\)$"),
    (lambda: F.conv1d(np.ones((1, 1, 3)), np.ones((1, 1, 5)), padding="valid"), ValueError,
     r"^conv1d: kernel of 5 taps \(dilated\) is longer than the padded input, 3$"),
    (lambda: nn.BatchNorm1d(3, momentum=2), ValueError, r"BatchNorm1d: momentum must be a number in \[0, 1\]"),
    (lambda: nn.Conv1d(4, 6, 3, groups=4), ValueError, r"out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: nn.Conv1d(2, 2, 3, stride=2, padding="same"), ValueError, r"'same' needs stride 1"),
    (lambda: nn.Conv1d(2, 2, 3, padding_mode="mirror"), ValueError, r"padding_mode must be one of"),
    (lambda: nn.ConvTranspose1d(2, 2, 3, padding_mode="reflect"), ValueError, r'only "zeros" padding mode'),
])
def test_bad_inputs_are_refused_with_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_embedding_refuses_out_of_range_indices_before_reading(xp):
    # NumPy and CuPy would wrap -1 to the last row without a word: refused before any lookup
    W = Tensor(xp.asarray(np.ones((4, 2))), requires_grad=True)
    with pytest.raises(IndexError, match=r"index -1"):
        F.embedding(xp.asarray(np.array([[0, -1]])), W)
    assert W.grad is None


def test_modules_on_every_backend(xp, rng):
    # the layers moved to the device compute what they compute on the host
    device = "cpu" if xp is np else "cuda"
    x = rng.standard_normal((2, 4, 9)).astype(np.float32)
    for m in (nn.Conv1d(4, 6, 3, padding="same", groups=2, padding_mode="reflect"),
              nn.ConvTranspose1d(4, 2, 3, stride=2), nn.BatchNorm1d(4), nn.AvgPool1d(3, 2, 1)):
        expected = to_np(m.eval()(x))
        np.testing.assert_allclose(to_np(m.to(device)(xp.asarray(x))), expected, rtol=1e-5, atol=1e-6)
    table = np.arange(1.0, 19.0, dtype=np.float32).reshape(6, 3)   # every row's norm over 0.5
    emb = nn.Embedding.from_pretrained(table.copy(), max_norm=0.5)
    idx = np.array([[1, 5], [5, 0]])
    emb.to(device)(xp.asarray(idx))
    renormed = to_np(emb.weight)
    np.testing.assert_allclose(np.linalg.norm(renormed[[0, 1, 5]], axis=1), 0.5, rtol=1e-5)
    np.testing.assert_array_equal(renormed[[2, 3, 4]], table[[2, 3, 4]])
