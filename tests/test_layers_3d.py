"""The 3-D ops and layers (minifcn/im2col3d.py, minifcn/functional_3d.py, minifcn/nn_3d.py), four
ways as tests/test_conv.py: the 3-D loops of minifcn/naive.py, float64 finite differences, the
adjoint identity of each linear pair, and PyTorch's forward and every gradient in float64 and
float32; then the modules (state dicts, torch's weights, reprs) and the errors. Shapes are small
and odd: the loops run seven deep.
"""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.im2col3d import col2im3d, im2col3d
from minifcn.testing import distinct_values, gradcheck
from layer_twins import assert_backward_is_adjoint, assert_twin_takes_state, load_torch_twin
from oracle import DTYPES, assert_close, check_vs_torch, to_np, torch_tensor

# torch's note that its own "same" with an even kernel copies the input: not about minifcn
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

# (n, in_c, (d, h, w), out_c, kernel, stride, padding, dilation, groups)
CONV_CASES = [
    (2, 3, (4, 5, 3), 4, 3, 1, 1, 1, 1),                         # odd sizes
    (1, 4, (5, 6, 7), 6, (2, 3, 2), (3, 4, 3), 0, 1, 2),         # stride > kernel, groups
    (1, 4, (5, 5, 6), 4, 2, (1, 2, 1), (1, 0, 2), (2, 1, 3), 4),  # depthwise, dilated, an even kernel
    (1, 2, (4, 5, 3), 3, (2, 3, 4), 1, "same", (1, 2, 1), 1),   # "same" with odd totals (extra zero after)
    (1, 2, (3, 4, 5), 2, 2, 1, "valid", 1, 2),
]

# (n, in_c, (d, h, w), out_c, kernel, stride, padding, output_padding, groups, dilation)
CONVT_CASES = [
    (2, 3, (2, 3, 4), 4, 3, 2, 1, 1, 1, 1),
    (1, 4, (3, 2, 3), 6, 2, (3, 1, 2), 0, (2, 0, 1), 2, 1),       # stride > kernel: gaps between copies
    (1, 4, (3, 3, 2), 4, (3, 2, 3), 1, (2, 1, 1), (1, 0, 1), 4, 2),  # depthwise, dilated (op < dilation)
]

# (n, c, (d, h, w), kernel, stride, padding, ceil_mode)
POOL_CASES = [
    (2, 2, (5, 6, 7), 3, 2, 1, False),
    (1, 2, (6, 5, 7), 2, 3, 0, True),                    # stride > kernel, ceil mode
    (1, 2, (5, 7, 6), (2, 4, 3), 2, (1, 2, 1), True),    # the last windows hang over the padding
    (1, 1, (4, 5, 3), (3, 2, 2), 1, 0, False),           # overlapping windows
]

# max pooling's: those, undilated, and (..., dilation) ones
MAX_POOL_CASES = [case + (1,) for case in POOL_CASES] + [
    (1, 2, (7, 8, 7), 3, (2, 4, 3), 1, True, (2, 3, 1)),   # stride > kernel, dilated, ceil mode
    (1, 2, (5, 6, 5), 2, 1, (1, 1, 0), False, 2),          # dilated windows overlapping
]


def _conv_inputs(rng, case):
    n, in_c, size, out_c, k = case[:5]
    g = case[8]
    k = k if isinstance(k, tuple) else (k,) * 3
    return (rng.standard_normal((n, in_c) + size), rng.standard_normal((out_c, in_c // g) + k),
            rng.standard_normal(out_c))


def _convt_inputs(rng, case):
    n, in_c, size, out_c, k = case[:5]
    g = case[8]
    k = k if isinstance(k, tuple) else (k,) * 3
    return (rng.standard_normal((n, in_c) + size), rng.standard_normal((in_c, out_c // g) + k),
            rng.standard_normal(out_c))


def _naive_conv3d(x, W, b, case):
    """naive.conv3d, which takes no "same": the zeros written out ("same": the odd one after)."""
    stride, padding, dilation, groups = case[5:]
    if padding == "valid":
        padding = 0
    if padding == "same":
        dil = dilation if isinstance(dilation, tuple) else (dilation,) * 3
        totals = [d * (k - 1) for d, k in zip(dil, W.shape[2:])]
        x = np.pad(x, ((0, 0), (0, 0)) + tuple((t // 2, t - t // 2) for t in totals))
        padding = 0
    return naive.conv3d(x, W, b, stride, padding, dilation, groups)


# --------------------------------------------------------------------- 1. naive loops
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv3d_matches_naive(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d, g = case[5:]
    y = F.conv3d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, d, g)
    np.testing.assert_allclose(to_np(y), _naive_conv3d(x, W, b, case), atol=1e-10, rtol=0)


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose3d_matches_naive(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op, g, d = case[5:]
    y = F.conv_transpose3d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, op, g, d)
    np.testing.assert_allclose(to_np(y), naive.conv_transpose3d(x, W, b, s, p, op, g, d), atol=1e-10, rtol=0)


def test_naive_conv3d_is_naive_conv2d_on_one_plane(rng):
    # the loops of the two dimensions agree on a volume of depth 1 and a kernel of depth 1
    x, W, b = rng.standard_normal((2, 4, 1, 6, 7)), rng.standard_normal((6, 2, 1, 3, 2)), rng.standard_normal(6)
    y3 = naive.conv3d(x, W, b, (1, 2, 1), (0, 1, 1), (1, 2, 3), groups=2)
    y2 = naive.conv2d(x[:, :, 0], W[:, :, 0], b, (2, 1), (1, 1), (2, 3), groups=2)
    np.testing.assert_allclose(y3[:, :, 0], y2, atol=1e-12, rtol=0)


@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pool3d_matches_naive(xp, case):
    n, c, size, k, s, p, ceil, d = case
    x = distinct_values((n, c) + size, seed=sum(size))
    y, idx = F.max_pool3d(xp.asarray(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    y_ref, idx_ref = naive.max_pool3d(x, k, s, p, ceil, d)
    np.testing.assert_array_equal(to_np(y), y_ref)
    np.testing.assert_array_equal(to_np(idx), idx_ref)


def test_max_pool3d_ties_nan_and_minus_inf_as_pytorch_loop(xp):
    # ties keep the first voxel, a NaN window its last NaN, a window of -inf its first voxel
    # (never a padding tap): naive.max_pool3d's rule, which is PyTorch's loop
    x = np.zeros((1, 1, 2, 3, 3))
    x[0, 0, 1, :, :2] = -np.inf
    x[0, 0, 0, 2, 2], x[0, 0, 1, 2, 2] = np.nan, np.nan
    y, idx = F.max_pool3d(xp.asarray(x), 2, 1, 1, return_indices=True)
    y_ref, idx_ref = naive.max_pool3d(x, 2, 1, 1)
    np.testing.assert_array_equal(to_np(y), y_ref)
    np.testing.assert_array_equal(to_np(idx), idx_ref)
    assert np.isnan(y_ref).any() and (idx_ref >= 0).all()
    if xp is np:   # and PyTorch's own, once
        torch = pytest.importorskip("torch")
        yt, idxt = torch.nn.functional.max_pool3d(torch.from_numpy(x), 2, 1, 1, return_indices=True)
        np.testing.assert_array_equal(to_np(idx), idxt.numpy())
        np.testing.assert_array_equal(to_np(y), yt.numpy())   # NaN where torch has NaN


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool3d_matches_naive(xp, rng, case, count_include_pad):
    n, c, size, k, s, p, ceil = case
    x = rng.standard_normal((n, c) + size)
    y = F.avg_pool3d(xp.asarray(x), k, s, p, ceil, count_include_pad)
    np.testing.assert_allclose(to_np(y), naive.avg_pool3d(x, k, s, p, ceil, count_include_pad), atol=1e-12, rtol=0)
    y = F.avg_pool3d(xp.asarray(x), k, s, p, ceil, count_include_pad, divisor_override=5)
    np.testing.assert_allclose(to_np(y), naive.avg_pool3d(x, k, s, p, ceil, divisor_override=5), atol=1e-12, rtol=0)


@pytest.mark.parametrize("out", [1, (2, 3, 4), (3, None, 5)])
def test_adaptive_avg_pool3d_matches_bin_means(xp, rng, out):
    # each output the plain mean over PyTorch's bins, floor(i*n/o) to ceil((i+1)*n/o), box by box
    x = rng.standard_normal((2, 3, 5, 4, 7))
    y = to_np(F.adaptive_avg_pool3d(xp.asarray(x), out))
    outs = [m if o is None else o for m, o in zip(x.shape[2:], out if isinstance(out, tuple) else (out,) * 3)]
    assert y.shape == (2, 3, *outs)
    for o in np.ndindex(*outs):
        box = tuple(slice(i * m // k, -(-(i + 1) * m // k)) for i, m, k in zip(o, x.shape[2:], outs))
        np.testing.assert_allclose(y[(slice(None), slice(None)) + o], x[(Ellipsis,) + box].mean(axis=(2, 3, 4)),
                                   atol=1e-12, rtol=0)


def test_max_unpool3d_puts_values_back(xp):
    x = distinct_values((2, 3, 5, 4, 5), seed=3)
    y, idx = F.max_pool3d(xp.asarray(x), 2, return_indices=True)
    up = to_np(F.max_unpool3d(y, idx, 2, output_size=(5, 4, 5)))
    kept = up != 0
    np.testing.assert_array_equal(up[kept], x[kept])   # each maximum back in its place, the rest zeros
    assert kept.sum() == y.size
    flat = up.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, to_np(idx).reshape(2, 3, -1), axis=2),
                                  to_np(y).reshape(2, 3, -1))


# --------------------------------------------------------------------- 2. finite differences
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv3d_gradcheck(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d, g = case[5:]
    assert gradcheck(lambda x, W, b: F.conv3d(x, W, b, s, p, d, g), [xp.asarray(v) for v in (x[:1], W, b)])


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose3d_gradcheck(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op, g, d = case[5:]
    assert gradcheck(lambda x, W, b: F.conv_transpose3d(x, W, b, s, p, op, g, d),
                     [xp.asarray(v) for v in (x[:1], W, b)])


@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pool3d_gradcheck(xp, case):
    n, c, size, k, s, p, ceil, d = case
    x = xp.asarray(distinct_values((1, c) + size, seed=sum(size)))   # no ties: no argmax flips
    assert gradcheck(lambda x: F.max_pool3d(x, k, s, p, d, ceil_mode=ceil), [x])


@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pools3d_gradcheck(xp, case):
    n, c, size, k, s, p, ceil = case
    x = xp.asarray(distinct_values((1, c) + size, seed=sum(size)))
    assert gradcheck(lambda x: F.avg_pool3d(x, k, s, p, ceil, count_include_pad=False), [x])
    assert gradcheck(lambda x: F.adaptive_avg_pool3d(x, (2, 3, 4)), [x])


def test_max_unpool3d_and_batch_norm3d_gradcheck(xp, rng):
    x = distinct_values((1, 2, 5, 4, 5), seed=1)
    _, idx = F.max_pool3d(x, 3, 2, return_indices=True)   # overlapping windows
    v = xp.asarray(rng.standard_normal(idx.shape))
    assert gradcheck(lambda v: F.max_unpool3d(v, xp.asarray(idx.data), 3, 2, output_size=(5, 4, 5)), [v])
    # BatchNorm3d is batch_norm on the view (n, c, d*h, w): checked through that view, and the
    # module's output is that function's
    bn = nn.BatchNorm3d(3).astype(np.float64).to("cpu" if xp is np else "cuda")
    bn.weight.data[...] = xp.asarray(rng.standard_normal(3))
    shape = (2, 3, 2, 3, 2)
    view = (2, 3, 6, 2)
    assert gradcheck(lambda x, w, b: F.batch_norm(x.reshape(view), None, None, w, b, training=True).reshape(shape),
                     [xp.asarray(rng.standard_normal(shape)), bn.weight.data, bn.bias.data])
    x = xp.asarray(rng.standard_normal(shape))
    np.testing.assert_allclose(
        to_np(bn.train()(x)),
        to_np(F.batch_norm(x.reshape(view), None, None, bn.weight, bn.bias, True).reshape(shape)), atol=1e-12, rtol=0)


# --------------------------------------------------------------------- 3. adjoint identities
@pytest.mark.parametrize("stride, padding, dilation, out_size", [
    ((1, 1, 1), (0, 0, 0), (1, 1, 1), None),
    ((2, 1, 3), (1, 2, 0), (1, 2, 1), None),
    ((2, 2, 1), (0, 1, 1), (2, 1, 1), (3, 4, 6)),   # windows past the padding: more after
])
def test_col2im3d_is_the_adjoint_of_im2col3d(xp, rng, stride, padding, dilation, out_size):
    x = rng.standard_normal((2, 3, 5, 6, 4))
    col = to_np(im2col3d(xp.asarray(x), (2, 3, 2), stride, padding, dilation, out_size))
    c = rng.standard_normal(col.shape)
    back = to_np(col2im3d(xp.asarray(c), x.shape[2:], stride, padding, dilation))
    assert back.shape == x.shape
    np.testing.assert_allclose((col * c).sum(), (x * back).sum(), rtol=1e-10)


@pytest.mark.parametrize("case", [(2, 4, (5, 6, 4), 6, (3, 2, 3), (2, 1, 2), (1, 0, 1), (1, 2, 1), 2),
                                  (1, 3, (4, 5, 5), 2, (2, 2, 3), (3, 2, 1), 1, 1, 1)])
def test_conv_transpose3d_is_the_adjoint_of_conv3d(xp, rng, case):
    # <conv3d(x, W), y> = <x, conv_transpose3d(y, W)>, same W, stride, padding, dilation, groups
    n, in_c, size, out_c, k, s, p, d, g = case
    x, W = rng.standard_normal((n, in_c) + size), rng.standard_normal((out_c, in_c // g) + k)
    Ax = to_np(F.conv3d(xp.asarray(x), xp.asarray(W), None, s, p, d, g))
    y = rng.standard_normal(Ax.shape)
    trip = [v if isinstance(v, tuple) else (v,) * 3 for v in (s, p, d)]
    # the output_padding that gives the transpose the input's size back
    op = tuple(m - ((o - 1) * ss - 2 * pp + dd * (kk - 1) + 1)
               for m, o, ss, pp, dd, kk in zip(size, Ax.shape[2:], *trip, k))
    ATy = to_np(F.conv_transpose3d(xp.asarray(y), xp.asarray(W), None, s, p, op, g, d))
    assert ATy.shape == x.shape
    np.testing.assert_allclose((Ax * y).sum(), (x * ATy).sum(), rtol=1e-10)


def test_linear_3d_ops_backward_is_their_adjoint(xp, rng):
    x = rng.standard_normal((2, 3, 5, 6, 7))
    assert_backward_is_adjoint(xp, rng, lambda t: F.avg_pool3d(t, 3, 2, 1, True, False), x)
    assert_backward_is_adjoint(xp, rng, lambda t: F.adaptive_avg_pool3d(t, (2, 4, 3)), x)
    _, idx = F.max_pool3d(distinct_values((2, 3, 5, 6, 7)), 3, 2, return_indices=True)
    assert_backward_is_adjoint(xp, rng, lambda t: F.max_unpool3d(t, xp.asarray(idx.data), 3, 2, output_size=(5, 6, 7)),
                                rng.standard_normal(idx.shape))


@pytest.mark.parametrize("k, s", [(2, 2), (3, 2)])   # apart, and overlapping (gradients add)
def test_max_pool3d_gradient_is_the_adjoint_of_the_gather(xp, rng, k, s):
    # at fixed winners, pooling is the gather u -> u.flat[idx]; its backward must be the adjoint:
    # <gather(u), gy> = <u, backward(gy)>; without overlap it is the unpooling itself
    x = distinct_values((2, 2, 5, 6, 5), seed=4)
    xt = Tensor(xp.asarray(x), requires_grad=True)
    y, idx = F.max_pool3d(xt, k, s, return_indices=True)
    gy = rng.standard_normal(y.shape)
    y.backward(xp.asarray(gy))
    u = rng.standard_normal(x.shape)
    gathered = np.take_along_axis(u.reshape(2, 2, -1), to_np(idx).reshape(2, 2, -1), axis=2)
    np.testing.assert_allclose((gathered * gy.reshape(2, 2, -1)).sum(), (u * to_np(xt.grad)).sum(), rtol=1e-10)
    if k == s:
        np.testing.assert_array_equal(to_np(xt.grad), to_np(F.max_unpool3d(gy, idx, k, s, output_size=x.shape)))


# --------------------------------------------------------------------- 4. PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv3d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, d, g = case[5:]
    check_vs_torch(torch, lambda x, W, b: F.conv3d(x, W, b, s, p, d, g),
                   lambda x, W, b: torch.nn.functional.conv3d(x, W, b, s, p, d, g), _conv_inputs(rng, case), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose3d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, op, g, d = case[5:]
    check_vs_torch(torch, lambda x, W, b: F.conv_transpose3d(x, W, b, s, p, op, g, d),
                   lambda x, W, b: torch.nn.functional.conv_transpose3d(x, W, b, s, p, op, g, d),
                   _convt_inputs(rng, case), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool3d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    n, c, size, k, s, p, ceil = case
    x = rng.standard_normal((n, c) + size)
    for include, divisor in ((True, None), (False, None), (True, 3)):
        check_vs_torch(torch, lambda x: F.avg_pool3d(x, k, s, p, ceil, include, divisor),
                       lambda x: torch.nn.functional.avg_pool3d(x, k, s, p, ceil, include, divisor), (x,), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", [1, (2, 3, 4), (3, None, 5), (5, 4, 7)])
def test_adaptive_avg_pool3d_vs_torch(rng, dtype, out):
    torch = pytest.importorskip("torch")
    check_vs_torch(torch, lambda x: F.adaptive_avg_pool3d(x, out),
                   lambda x: torch.nn.functional.adaptive_avg_pool3d(x, out),
                   (rng.standard_normal((2, 3, 5, 4, 7)),), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pool3d_and_unpool3d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    n, c, size, k, s, p, ceil, d = case
    x = distinct_values((n, c) + size, seed=sum(size))
    check_vs_torch(torch, lambda x: F.max_pool3d(x, k, s, p, d, ceil_mode=ceil),
                   lambda x: tf.max_pool3d(x, k, s, p, d, ceil_mode=ceil), (x,), dtype, rng)
    # PyTorch's flat indices, and the unpooling of them, value and gradient
    y, idx = F.max_pool3d(x.astype(dtype), k, s, p, d, ceil_mode=ceil, return_indices=True)
    yt, idxt = tf.max_pool3d(torch_tensor(torch, x.astype(dtype)), k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(to_np(idx), to_np(idxt))
    assert idx.dtype == np.int64
    span = tuple(dd * (kk - 1) + 1 for dd, kk in zip(*(v if isinstance(v, tuple) else (v,) * 3 for v in (d, k))))
    unpool = (lambda v: F.max_unpool3d(v, idx, span, s, p, output_size=size),
              lambda v: tf.max_unpool3d(v, idxt, span, s, p, output_size=size))
    rows = to_np(idx).reshape(n * c, -1)
    last = np.array([[i not in row[j + 1:] for j, i in enumerate(row)] for row in rows]).reshape(idx.shape)
    if last.all():   # each voxel recorded once
        check_vs_torch(torch, *unpool, (to_np(y),), dtype, rng)
        return
    # overlapping windows that record a voxel twice: the same output as torch's (the last value
    # kept, as its CPU loop), but only the last record gets the gradient, the true derivative
    # (README: max_unpool2d's, on purpose; torch's gathers into every record)
    v, vt = Tensor(to_np(y), requires_grad=True), torch_tensor(torch, y, requires_grad=True)
    out, outt = unpool[0](v), unpool[1](vt)
    assert_close(out, outt, dtype, "unpool forward")
    g = rng.standard_normal(tuple(outt.shape)).astype(dtype)
    out.backward(g)
    outt.backward(torch.from_numpy(g))
    assert_close(v.grad, to_np(vt.grad) * last, dtype, "unpool grad, the last of each repeat")


@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_volumes_vs_torch(rng, dtype):
    # (c, d, h, w) without the batch, as PyTorch takes it, for each op that takes one there
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, b = rng.standard_normal((4, 5, 4, 6)), rng.standard_normal(6)
    check_vs_torch(torch, lambda x, W, b: F.conv3d(x, W, b, 2, 1, groups=2),
                   lambda x, W, b: tf.conv3d(x, W, b, 2, 1, groups=2), (x, rng.standard_normal((6, 2, 3, 3, 3)), b),
                   dtype, rng)
    check_vs_torch(torch, lambda x, W, b: F.conv_transpose3d(x, W, b, 2, 1, 1, 2),
                   lambda x, W, b: tf.conv_transpose3d(x, W, b, 2, 1, 1, 2),
                   (x, rng.standard_normal((4, 3, 3, 3, 3)), b), dtype, rng)
    x = distinct_values((3, 5, 4, 6), seed=2)
    check_vs_torch(torch, lambda x: F.max_pool3d(x, 2, ceil_mode=True), lambda x: tf.max_pool3d(x, 2, ceil_mode=True),
                   (x,), dtype, rng)
    check_vs_torch(torch, lambda x: F.avg_pool3d(x, 3, 2, 1), lambda x: tf.avg_pool3d(x, 3, 2, 1), (x,), dtype, rng)
    check_vs_torch(torch, lambda x: F.adaptive_avg_pool3d(x, (2, 3, 4)),
                   lambda x: tf.adaptive_avg_pool3d(x, (2, 3, 4)), (x,), dtype, rng)
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    yt, idxt = tf.max_pool3d(torch_tensor(torch, x), 2, return_indices=True)
    np.testing.assert_array_equal(to_np(idx), to_np(idxt))
    check_vs_torch(torch, lambda v: F.max_unpool3d(v, idx, 2, output_size=(5, 4, 6)),
                   lambda v: tf.max_unpool3d(v, idxt, 2, output_size=(5, 4, 6)), (to_np(y),), dtype, rng)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm3d_vs_torch(rng, mode):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm3d(3).astype(np.float64), torch.nn.BatchNorm3d(3).double()
    theirs.weight.data.normal_(), theirs.bias.data.normal_()
    theirs.running_mean.data.normal_(), theirs.running_var.data.uniform_(0.5, 2.0)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    getattr(ours, mode)(), getattr(theirs, mode)()
    x = rng.standard_normal((2, 3, 3, 4, 5))
    xt = torch_tensor(torch, x, requires_grad=True)
    xo = Tensor(x, requires_grad=True)
    y, yt = ours(xo), theirs(xt)
    assert_close(y, yt, np.float64, "forward")
    g = rng.standard_normal(x.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(xo.grad, xt.grad, np.float64, "grad x")
    assert_close(ours.weight.grad, theirs.weight.grad, np.float64, "grad weight")
    assert_close(ours.bias.grad, theirs.bias.grad, np.float64, "grad bias")
    for k in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(to_np(ours.state_dict()[k]), theirs.state_dict()[k].numpy(), rtol=1e-12, err_msg=k)


# --------------------------------------------------------------------- 5. the modules
def _torch_modules(torch):
    """(ours, torch's) pairs built with the same arguments."""
    tnn = torch.nn
    return [
        (nn.Conv3d(4, 6, 3, stride=2, padding=1, groups=2), tnn.Conv3d(4, 6, 3, stride=2, padding=1, groups=2)),
        (nn.Conv3d(2, 3, (2, 3, 4), padding="same", dilation=(1, 2, 1), bias=False, padding_mode="reflect"),
         tnn.Conv3d(2, 3, (2, 3, 4), padding="same", dilation=(1, 2, 1), bias=False, padding_mode="reflect")),
        (nn.Conv3d(2, 3, 3, padding=(1, 2, 0), padding_mode="circular"),
         tnn.Conv3d(2, 3, 3, padding=(1, 2, 0), padding_mode="circular")),
        (nn.Conv3d(2, 3, 3, padding=1, padding_mode="replicate"), tnn.Conv3d(2, 3, 3, padding=1, padding_mode="replicate")),
        (nn.Conv3d(2, 3, 2, padding="same"), tnn.Conv3d(2, 3, 2, padding="same")),
        (nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         tnn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)),
        (nn.ConvTranspose3d(2, 2, 2, dilation=(3, 1, 2), bias=False),
         tnn.ConvTranspose3d(2, 2, 2, dilation=(3, 1, 2), bias=False)),
        (nn.BatchNorm3d(2), tnn.BatchNorm3d(2)),
        (nn.BatchNorm3d(2, affine=False, track_running_stats=False),
         tnn.BatchNorm3d(2, affine=False, track_running_stats=False)),
    ]


def _in_channels(m):
    return m.num_features if isinstance(m, nn.BatchNorm3d) else m.in_channels


def test_modules_state_dict_repr_and_outputs_with_torch_weights(rng):
    torch = pytest.importorskip("torch")
    for ours, theirs in _torch_modules(torch):
        load_torch_twin(ours, theirs)   # then the same outputs and input gradients, in training and in eval
        for mode in ("train", "eval"):
            getattr(ours, mode)(), getattr(theirs, mode)()
            x = rng.standard_normal((2, _in_channels(ours), 4, 5, 6)).astype(np.float32)
            xo, xt = Tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
            y, yt = ours(xo), theirs(xt)
            assert_close(y, yt, np.float32, repr(ours))
            g = rng.standard_normal(y.shape).astype(np.float32)
            y.backward(g), yt.backward(torch.from_numpy(g))
            assert_close(xo.grad, xt.grad, np.float32, f"grad x {ours!r}")


def test_conv3d_modules_start_he_normal_with_zero_bias():
    conv, up = nn.Conv3d(8, 16, 3), nn.ConvTranspose3d(16, 8, 3, groups=2)
    assert not conv.bias.numpy().any() and not up.bias.numpy().any()
    # std sqrt(2 / fan_in): 8*27 for the conv, 16/2*27 for the grouped transpose
    for w, fan_in in ((conv.weight.numpy(), 8 * 27), (up.weight.numpy(), 8 * 27)):
        assert abs(w.std() / np.sqrt(2 / fan_in) - 1) < 0.1


def test_state_dict_round_trips(rng):
    for m in (nn.Conv3d(3, 4, 3), nn.ConvTranspose3d(3, 4, 3, stride=2), nn.BatchNorm3d(3)):
        x = rng.standard_normal((2, 3, 4, 5, 4)).astype(np.float32)
        if isinstance(m, nn.BatchNorm3d):
            m(x)   # the running statistics move off their start
            twin = nn.BatchNorm3d(3)
        else:
            twin = type(m)(m.in_channels, m.out_channels, m.kernel_size, m.stride)
        assert_twin_takes_state(m, twin, x)


def test_conv_transpose3d_module_output_size(rng):
    torch = pytest.importorskip("torch")
    ours = nn.ConvTranspose3d(2, 3, 3, stride=(3, 2, 1), padding=1)
    theirs = torch.nn.ConvTranspose3d(2, 3, 3, stride=(3, 2, 1), padding=1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((1, 2, 3, 4, 5)).astype(np.float32)
    for size in ([7, 7, 5], (9, 8, 5), (1, 3, 8, 7, 5)):   # the least is (7, 7, 5): up to (9, 8, 5)
        assert_close(ours(x, output_size=size), theirs(torch.from_numpy(x), output_size=size), np.float32, str(size))
    with pytest.raises(ValueError, match=r"output size of \(10, 7, 5\).*from \(7, 7, 5\) to \(9, 8, 5\)"):
        ours(x, output_size=(10, 7, 5))


def test_layers_compose_in_a_sequential(rng):
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    ours = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.AvgPool3d(2),
                         nn.AdaptiveAvgPool3d((1, 2, None)))
    theirs = tnn.Sequential(tnn.Conv3d(3, 4, 3, padding=1), tnn.BatchNorm3d(4), tnn.ReLU(), tnn.AvgPool3d(2),
                            tnn.AdaptiveAvgPool3d((1, 2, None)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 3, 5, 6, 7)).astype(np.float32)
    assert_close(ours(x), theirs(torch.from_numpy(x)), np.float32, "forward")
    for call in ("MaxPool3d(3, 2, 1, ceil_mode=True)", "MaxPool3d((1, 2, 2))", "MaxPool3d(2, 1, 0, 3, True)",
                 "MaxUnpool3d(2)", "MaxUnpool3d((1, 2, 2), 1)", "AvgPool3d(3, 2, 1)", "AvgPool3d(2)",
                 "AvgPool3d(2, divisor_override=3)", "AdaptiveAvgPool3d(5)", "AdaptiveAvgPool3d((1, None, 2))",
                 "BatchNorm3d(3, momentum=None)", "ConvTranspose3d(2, 4, 3, 2, 1, 1, dilation=2)",
                 "Conv3d(2, 4, (1, 3, 3), padding='valid', dilation=2)"):
        assert repr(eval(call, vars(nn))) == repr(eval(call, vars(tnn))), call


def test_max_pool3d_module_returns_indices_for_unpool3d(rng):
    pool, unpool = nn.MaxPool3d(2, return_indices=True), nn.MaxUnpool3d(2)
    x = distinct_values((1, 2, 5, 4, 4), seed=5)
    y, idx = pool(x)
    up = unpool(y, idx, output_size=(1, 2, 5, 4, 4)).numpy()
    assert up.shape == (1, 2, 5, 4, 4) and (up != 0).sum() == y.size


def test_modules_on_every_backend(xp, rng):
    # the layers moved to the device compute what they compute on the host
    device = "cpu" if xp is np else "cuda"
    x = rng.standard_normal((2, 4, 5, 4, 6)).astype(np.float32)
    for m in (nn.Conv3d(4, 6, 3, padding="same", groups=2, padding_mode="reflect"),
              nn.ConvTranspose3d(4, 2, 3, stride=2), nn.BatchNorm3d(4), nn.AvgPool3d(3, 2, 1),
              nn.MaxPool3d(2, ceil_mode=True), nn.AdaptiveAvgPool3d(2)):
        expected = to_np(m.eval()(x))
        np.testing.assert_allclose(to_np(m.to(device)(xp.asarray(x))), expected, rtol=1e-5, atol=1e-6)


def test_empty_batch(rng):
    # no volume: an empty output, and zero gradients for the weight (sums over no volumes)
    W = Tensor(rng.standard_normal((4, 2, 3, 3, 3)), requires_grad=True)
    x = Tensor(np.zeros((0, 2, 4, 5, 6)), requires_grad=True)
    y = F.conv3d(x, W, padding=1)
    assert y.shape == (0, 4, 4, 5, 6)
    y.sum().backward()
    assert x.grad.shape == x.shape and not W.grad.any()


def test_every_3d_name_is_exported():
    import minifcn.functional_3d as F3
    import minifcn.nn_3d as N3
    for name in F3.__all__:
        assert getattr(F, name) is getattr(F3, name) and name in F.__all__, name
    for name in N3.__all__:
        assert getattr(nn, name) is getattr(N3, name), name


# --------------------------------------------------------------------- 6. errors
VOL, W5 = np.ones((1, 2, 4, 4, 4)), np.ones((3, 2, 3, 3, 3))   # a volume and a weight that fit


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.conv3d(VOL, np.ones((3, 2, 3, 3))), ValueError, r"conv3d: weight must be 5-D .*\(3, 2, 3, 3\)"),
    (lambda: F.conv3d(np.ones((2, 4, 4)), W5), ValueError, r"conv3d: input must be 5-D .* or 4-D .*\(2, 4, 4\)"),
    (lambda: F.conv3d(np.ones((1, 3, 4, 4, 4)), W5), ValueError, r"input has 3 channels .* expects 2"),
    (lambda: F.conv3d(np.ones((1, 4, 4, 4, 4)), W5, groups=2), ValueError, r"3 output channels, not a multiple of groups=2"),
    (lambda: F.conv3d(VOL, W5, np.ones(4)), ValueError, r"bias shape \(4,\) should be \(3,\)"),
    (lambda: F.conv3d(VOL, W5, padding="full"), ValueError, r"'full'"),
    (lambda: F.conv3d(VOL, W5, stride=2, padding="same"), ValueError, r"'same' needs stride 1, got stride \(2, 2, 2\)"),
    (lambda: F.conv3d(VOL, W5, dilation=(1, 3, 1)), ValueError, r"kernel 3x7x3 \(dilated\) is larger than the padded input 4x4x4"),
    (lambda: F.conv3d(VOL, W5, stride=(1, 2)), TypeError, r"stride must be an int or a tuple of three ints, got \(1, 2\)"),
    (lambda: F.conv3d(VOL, W5, stride=1.5), TypeError, r"stride must be an int .* got 1.5"),
    (lambda: F.conv3d(VOL, W5, padding=-1), ValueError, r"padding must be >= 0, got -1"),
    (lambda: F.conv3d(VOL.astype(np.float32), W5), TypeError, r"share one dtype"),
    (lambda: F.conv3d(VOL.astype(np.int64), W5), TypeError, r"input must be float32 or float64, got int64"),
    (lambda: F.conv_transpose3d(VOL, np.ones((2, 3, 3, 3, 3)), stride=2, output_padding=2), ValueError,
     r"output_padding \(2, 2, 2\) must be smaller than the stride \(2, 2, 2\)"),
    (lambda: F.conv_transpose3d(np.ones((1, 3, 4, 4, 4)), np.ones((2, 3, 3, 3, 3))), ValueError, r"input has 3 channels"),
    (lambda: F.conv_transpose3d(VOL, np.ones((2, 3, 1, 1, 1)), padding=3), ValueError, r"leaves an empty output"),
    (lambda: F.max_pool3d(np.ones((1, 1, 2, 4, 4)), 2, 1, 1, dilation=3), ValueError,
     r"window at output depth 0 holds no input pixel: its taps \[-1, 2\]"),
    (lambda: F.max_pool3d(VOL, 3, dilation=(1, 3, 1)), ValueError, r"kernel \(3, 3, 3\) with dilation \(1, 3, 1\) \(a span of \(3, 7, 3\)\) is larger"),
    (lambda: F.max_pool3d(VOL, 2, padding=(0, 2, 0)), ValueError, r"padding \(0, 2, 0\) must be at most half the kernel \(2, 2, 2\)"),
    (lambda: F.max_pool3d(VOL, 2, ceil_mode="no"), TypeError, r"ceil_mode must be a bool, got 'no'"),
    (lambda: F.avg_pool3d(np.ones((1, 2, 2, 4, 4)), 4), ValueError, r"kernel \(4, 4, 4\) is larger than the padded input 2x4x4"),
    (lambda: F.avg_pool3d(VOL, 2, divisor_override=0), ValueError, r"divisor_override must be a non-zero int or None, got 0"),
    (lambda: F.adaptive_avg_pool3d(VOL, (2, 2)), TypeError, r"output_size must be an int or a tuple of three ints"),
    (lambda: F.adaptive_avg_pool3d(VOL, 0), ValueError, r"output_size must be >= 1, got 0"),
    (lambda: F.max_unpool3d(np.ones((1, 1, 1, 1, 2)), np.array([[[[[0, 16]]]]]), 2), ValueError,
     r"\[0, 16\) for an output of 2x2x4, got values in \[0, 16\]"),
    (lambda: F.max_unpool3d(np.ones((1, 1, 1, 1, 2)), np.array([[[[[0, -1]]]]]), 2), ValueError, r"got values in \[-1, 0\]"),
    (lambda: F.max_unpool3d(np.ones((1, 1, 1, 1, 2)), np.array([[[[[0, 1]]]]]), 2, output_size=(2, 2, 7)), ValueError,
     r"output_size width 7 .* expected 3 to 5"),
    (lambda: F.max_unpool3d(np.ones((1, 1, 1, 1, 2)), np.array([[[[[0, 1]]]]]), 2, output_size=(2, 4)), ValueError,
     r"output_size must be \(d, h, w\) or \(n, c, d, h, w\)"),
    (lambda: F.max_unpool3d(np.ones((1, 1, 1, 1, 2)), np.array([[[[[0.0, 1.0]]]]]), 2), TypeError,
     r"indices must be an integer tensor, got float64"),
    (lambda: F.max_unpool3d(np.ones((1, 1, 1, 1, 2)), np.array([[[[0, 1]]]]), 2), ValueError,
     r"indices shape \(1, 1, 1, 2\) must equal input shape \(1, 1, 1, 1, 2\)"),
    (lambda: nn.BatchNorm3d(3)(np.ones((3, 4, 4, 4), np.float32)), ValueError, r"BatchNorm3d: input must be 5-D"),
    (lambda: nn.BatchNorm3d(3)(np.ones((2, 4, 2, 2, 2), np.float32)), ValueError, r"input has 4 channels .* num_features=3"),
    (lambda: nn.BatchNorm3d(3)(np.ones((1, 3, 1, 1, 1), np.float32)), ValueError,
     r"BatchNorm3d: training needs more than one value per channel, got input of shape \(1, 3, 1, 1, 1\)"),
    (lambda: nn.BatchNorm3d(3, momentum=2), ValueError, r"BatchNorm3d: momentum must be a number in \[0, 1\]"),
    (lambda: nn.Conv3d(4, 6, 3, groups=4), ValueError, r"out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: nn.Conv3d(2, 2, 3, stride=2, padding="same"), ValueError, r"'same' needs stride 1"),
    (lambda: nn.Conv3d(2, 2, 3, padding_mode="mirror"), ValueError, r"padding_mode must be one of"),
    (lambda: nn.Conv3d(2, 2, (3, 3)), TypeError, r"Conv3d: kernel_size must be an int or a tuple of three ints"),
    (lambda: nn.ConvTranspose3d(2, 2, 3, padding_mode="reflect"), ValueError, r'only "zeros" padding mode'),
    (lambda: nn.Conv3d(2, 2, 3, padding=2, padding_mode="reflect")(np.ones((1, 2, 2, 4, 4))), ValueError,
     r"reflect padding 2 must be less than the input's height 2"),
])
def test_bad_inputs_are_refused_with_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()


ONE_TUPLE_3D = {
    "conv3d stride": lambda F, x, w: F.conv3d(x, w, stride=(2,)),
    "conv3d padding": lambda F, x, w: F.conv3d(x, w, padding=(1,)),
    "conv3d dilation": lambda F, x, w: F.conv3d(x, w, dilation=(2,)),
    "conv_transpose3d stride": lambda F, x, w: F.conv_transpose3d(x, w, stride=(2,)),
    "conv_transpose3d padding": lambda F, x, w: F.conv_transpose3d(x, w, stride=2, padding=(1,)),
    "conv_transpose3d output_padding": lambda F, x, w: F.conv_transpose3d(x, w, stride=2, output_padding=(1,)),
    "conv_transpose3d dilation": lambda F, x, w: F.conv_transpose3d(x, w, dilation=(2,)),
    "max_pool3d kernel_size": lambda F, x, w: F.max_pool3d(x, (2,)),
    "max_pool3d stride": lambda F, x, w: F.max_pool3d(x, 3, stride=(2,)),
    "max_pool3d padding": lambda F, x, w: F.max_pool3d(x, 3, padding=(1,)),
    "max_pool3d dilation": lambda F, x, w: F.max_pool3d(x, 2, dilation=(2,)),
    "avg_pool3d kernel_size": lambda F, x, w: F.avg_pool3d(x, (2,)),
    "avg_pool3d stride": lambda F, x, w: F.avg_pool3d(x, 3, stride=(2,)),
    "avg_pool3d padding": lambda F, x, w: F.avg_pool3d(x, 3, padding=(1,)),
}


@pytest.mark.parametrize("name", sorted(ONE_TUPLE_3D))
def test_3d_convolutions_and_poolings_take_a_1_tuple_as_pytorchs(name, rng):
    # PyTorch's expands a 1-tuple to all three axes; ours had refused it (2-D pooling: 8f4f735)
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    x, w = rng.standard_normal((1, 2, 5, 6, 7)), rng.standard_normal((2, 2, 2, 2, 2))
    got = ONE_TUPLE_3D[name](F, Tensor(x), Tensor(w))
    want = ONE_TUPLE_3D[name](TF, torch.tensor(x), torch.tensor(w))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, kernel, stride, padding, ceil_mode", [
    ((1, 1, 2, 4, 4), 3, 1, 1, False),
    ((1, 1, 2, 4, 4), 3, 2, 1, True),
    ((1, 1, 4, 4, 2), (1, 2, 3), 1, (0, 1, 1), False),
])
def test_avg_pool3d_refuses_an_input_smaller_than_the_kernel_as_pytorchs(shape, kernel, stride, padding, ceil_mode):
    # PyTorch checks the input itself, whatever the padding; ours had averaged the padded windows
    torch = pytest.importorskip("torch")
    x = np.ones(shape)
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.avg_pool3d(torch.tensor(x), kernel, stride, padding, ceil_mode)
    with pytest.raises(ValueError, match=r"avg_pool3d: input \d+x\d+x\d+ is smaller than the kernel"):
        F.avg_pool3d(x, kernel, stride, padding, ceil_mode)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        nn.AvgPool3d(kernel, stride, padding, ceil_mode)(x)
    # max_pool3d has no such check, in either
    assert F.max_pool3d(x, kernel, stride, padding, ceil_mode=ceil_mode).shape == tuple(
        torch.nn.functional.max_pool3d(torch.tensor(x), kernel, stride, padding, ceil_mode=ceil_mode).shape)
