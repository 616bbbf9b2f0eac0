"""Pooling beyond FCN's: dilated max pooling (with indices and unpooling), adaptive max pooling,
and power-average (LP) pooling, each four ways: against the loops of ``naive.py``, by finite
differences, by an adjoint identity, and against PyTorch. Max-pooling inputs are tie-free
(``distinct_values``) where a finite-difference step must not flip an argmax; the ties tests
draw small integers on purpose."""
import re

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
import minifcn.nn as nn
from minifcn import Tensor, naive
from minifcn.kernels import pool as P
from minifcn.models.coords import geometry
from minifcn.receptive_field import receptive_field
from minifcn.testing import distinct_values, gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

# (n, c, h, w, kernel, stride, padding, dilation, ceil_mode)
DILATED_CASES = [
    (1, 2, 9, 8, 2, 2, 0, 2, False),                     # windows {0, 2} 2 apart: no overlap
    (2, 2, 11, 10, 3, 2, 1, 2, True),                    # overlapping, padding, ceil, odd sizes
    (1, 2, 13, 9, 2, 3, 1, 3, True),                     # dilation 3, padding, ceil
    (1, 1, 10, 11, (3, 2), (1, 2), (1, 1), (2, 3), False),  # pairs, different on each axis
    (1, 2, 7, 9, 3, 1, 1, 3, False),                     # stride 1, dilation 3: much overlap
    (1, 1, 8, 7, 2, 4, 1, 2, True),                      # stride 4 > span 3: pixels no window reads
    (1, 2, 12, 11, 3, 3, 1, 2, True),                    # span 5 > stride 3
]


def _span(k, d):
    """A dilated window's extent, d(k - 1) + 1, per axis."""
    (kh, kw), (dy, dx) = (k, k) if isinstance(k, int) else k, (d, d) if isinstance(d, int) else d
    return dy * (kh - 1) + 1, dx * (kw - 1) + 1


def _dpool(x, case, **kw):
    k, s, p, d, ceil = case[4:]
    return F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, **kw)


def _naive_dpool(x, case):
    k, s, p, d, ceil = case[4:]
    return naive.max_pool2d(x, k, s, p, ceil_mode=ceil, dilation=d)


# --------------------------------------------------------------------- dilation: loops
@pytest.mark.parametrize("block_values", [2**19, 1])  # all channels in one block; one per block
@pytest.mark.parametrize("case", DILATED_CASES)
def test_dilated_max_pool2d_matches_naive(xp, monkeypatch, case, block_values):
    monkeypatch.setattr(P, "BLOCK_VALUES", block_values)
    x = distinct_values(case[:4], seed=1)
    y, idx = _dpool(xp.asarray(x), case, return_indices=True)
    y_ref, idx_ref = _naive_dpool(x, case)
    np.testing.assert_array_equal(to_np(y), y_ref)
    np.testing.assert_array_equal(to_np(idx), idx_ref)
    with minifcn.no_grad():   # inference keeps the maxima alone, by another path
        np.testing.assert_array_equal(to_np(_dpool(xp.asarray(x), case)), y_ref)
    # each index holds its maximum in the unpadded plane
    n, c, h, w = case[:4]
    at = np.take_along_axis(x.reshape(n, c, h * w), idx_ref.reshape(n, c, -1), 2)
    np.testing.assert_array_equal(at.reshape(y_ref.shape), y_ref)


def test_the_loops_read_the_dilated_taps():
    # an independent hand check of naive.max_pool2d itself: 1 x 7, kernel 3, dilation 2 reads
    # columns {0, 2, 4}, then {2, 4, 6} with stride 2
    x = np.array([[[[9., 0., 1., 8., 2., 0., 3.]]]])
    y, idx = naive.max_pool2d(x, (1, 3), (1, 2), dilation=(1, 2))
    assert y.tolist() == [[[[9., 3.]]]] and idx.tolist() == [[[[0, 6]]]]


@pytest.mark.parametrize("case", DILATED_CASES)
def test_dilated_ties_go_to_the_first_maximum_as_in_pytorch(xp, rng, case):
    x = rng.integers(0, 3, case[:4]).astype(np.float64)
    y, idx = _dpool(xp.asarray(x), case, return_indices=True)
    want_y, want_idx = _naive_dpool(x, case)
    assert np.array_equal(to_np(idx), want_idx) and np.array_equal(to_np(y), want_y)
    torch = pytest.importorskip("torch")
    k, s, p, d, ceil = case[4:]
    _, t_idx = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, d, ceil, True)
    assert np.array_equal(want_idx, t_idx.numpy())


@pytest.mark.parametrize("case", DILATED_CASES[1:4])
def test_dilated_windows_of_minus_inf_and_nan_point_where_pytorch_points(xp, rng, monkeypatch, case):
    monkeypatch.setattr(P, "BLOCK_VALUES", 64)
    x = rng.standard_normal(case[:4])
    x[rng.random(x.shape) < 0.5] = -np.inf
    x[rng.random(x.shape) < 0.05] = np.nan
    x[0, 0] = -np.inf                                # one whole plane of -inf
    x_t = Tensor(xp.asarray(x), requires_grad=True)
    y, idx = _dpool(x_t, case, return_indices=True)
    want_y, want_idx = _naive_dpool(x, case)
    assert np.array_equal(to_np(idx), want_idx)
    np.testing.assert_array_equal(to_np(y), want_y)
    gy = rng.standard_normal(y.shape)
    y.backward(xp.asarray(gy))
    torch = pytest.importorskip("torch")
    k, s, p, d, ceil = case[4:]
    xt = torch.from_numpy(x).requires_grad_()
    yt, t_idx = torch.nn.functional.max_pool2d(xt, k, s, p, d, ceil, True)
    assert np.array_equal(want_idx, t_idx.numpy())
    yt.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(to_np(x_t.grad), xt.grad.numpy(), rtol=0, atol=1e-12)


# --------------------------------------------------------------------- dilation: finite differences
@pytest.mark.parametrize("case", DILATED_CASES)
def test_dilated_max_pool2d_gradcheck(xp, case):
    x = xp.asarray(distinct_values(case[:4], seed=4))
    assert gradcheck(lambda x: _dpool(x, case), [x], max_elements=150)


@pytest.mark.parametrize("case", DILATED_CASES)
def test_unpooling_dilated_indices_gradcheck(xp, rng, case):
    k, s, p, d, _ = case[4:]
    _, idx = _dpool(xp.asarray(distinct_values(case[:4], seed=6)), case, return_indices=True)
    v = xp.asarray(rng.standard_normal(idx.shape))
    assert gradcheck(lambda v: F.max_unpool2d(v, idx, _span(k, d), s, p, output_size=case[2:4]), [v])


# --------------------------------------------------------------------- dilation: adjoints
@pytest.mark.parametrize("case", DILATED_CASES)
def test_dilated_pooling_is_a_gather_whose_backward_is_its_transpose(xp, rng, case):
    # for a fixed argmax, pooling is the linear gather G x: <G x, v> = <x, G^T v>, G^T v being
    # the backward pass (overlapping windows add up there)
    x = Tensor(xp.asarray(distinct_values(case[:4], seed=7)), requires_grad=True)
    y = _dpool(x, case)
    v = rng.standard_normal(y.shape)
    y.backward(xp.asarray(v))
    lhs, rhs = float((to_np(y) * v).sum()), float((to_np(x) * to_np(x.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("case", DILATED_CASES)
def test_unpooling_dilated_indices_is_pooling_s_gradient(xp, rng, case):
    k, s, p, d, _ = case[4:]
    n, c, h, w = case[:4]
    x = Tensor(xp.asarray(distinct_values(case[:4], seed=8)), requires_grad=True)
    y, idx = _dpool(x, case, return_indices=True)
    v = xp.asarray(rng.standard_normal(y.shape))
    y.backward(v)
    g = xp.asarray(rng.standard_normal((n, c, h, w)))
    # the accumulating scatter is pooling's gradient, and the gather its adjoint
    scattered = P.unpool_scatter(v, idx.data, (h, w), accumulate=True)
    np.testing.assert_allclose(to_np(scattered), to_np(x.grad), rtol=0, atol=1e-12)
    lhs, rhs = float((scattered * g).sum()), float((v * P.unpool_gather(g, idx.data)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
    # F.max_unpool2d (given the span as its kernel) is linear: its backward is its adjoint
    vt = Tensor(v, requires_grad=True)
    out = F.max_unpool2d(vt, idx, _span(k, d), s, p, output_size=(h, w))
    out.backward(g)
    lhs, rhs = float((to_np(out) * to_np(g)).sum()), float((to_np(v) * to_np(vt.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
    if all(sp <= st for sp, st in zip(_span(k, d), (s, s) if isinstance(s, int) else s)):
        # windows apart: no index repeats, and unpooling is pooling's gradient exactly
        np.testing.assert_array_equal(to_np(out), to_np(x.grad))


# --------------------------------------------------------------------- dilation: PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DILATED_CASES)
def test_dilated_max_pool2d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    k, s, p, d, ceil = case[4:]
    x = distinct_values(case[:4], seed=9).astype(dtype)
    ours, theirs = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y, idx = F.max_pool2d(ours, k, s, p, d, ceil, True)
    yt, idxt = torch.nn.functional.max_pool2d(theirs, k, s, p, d, ceil, True)
    assert_close(y, yt, dtype, "forward")
    np.testing.assert_array_equal(to_np(idx), to_np(idxt))
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(ours.grad, theirs.grad, dtype, "grad x")
    # unpooled with the span as the kernel, as PyTorch's max_unpool2d (no dilation) takes it
    v = rng.standard_normal(y.shape).astype(dtype)
    out = to_np(F.max_unpool2d(v, idx, _span(k, d), s, p, output_size=case[2:4]))
    outt = torch.nn.functional.max_unpool2d(torch.from_numpy(v), idxt, _span(k, d), s, p,
                                            output_size=case[2:4]).numpy()
    np.testing.assert_array_equal(out, naive.max_unpool2d(v, to_np(idx), case[2:4]))  # the last wins
    # where overlapping windows recorded a position twice PyTorch's threads race (which value
    # lands there varies with the thread count): compared elsewhere only
    n, c, h, w = case[:4]
    repeated = np.stack([np.bincount(i.ravel(), minlength=h * w) > 1
                         for i in to_np(idx).reshape(n * c, -1)]).reshape(out.shape)
    np.testing.assert_array_equal(np.where(repeated, 0, out), np.where(repeated, 0, outt))


def test_dilated_output_sizes_and_values_vs_torch_over_many_shapes():
    # sizes (ceil mode's rule that the last window starts inside the input or its left padding
    # included), values and indices; where a window holds no pixel PyTorch gives -inf and an
    # index outside the input, and this pooling refuses the arguments
    torch = pytest.importorskip("torch")
    compared = refused = 0
    for h in range(1, 14):
        x = distinct_values((1, 1, h, h + 2), seed=h)
        for k, d, s in ((2, 2, 1), (2, 2, 2), (2, 3, 2), (3, 2, 2), (3, 3, 1), (2, 3, 3), (3, 2, 3)):
            for p in range(k // 2 + 1):
                for ceil in (False, True):
                    try:
                        yt, it = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, d, ceil, True)
                    except RuntimeError:
                        with pytest.raises(ValueError, match="larger than the padded input"):
                            F.max_pool2d(x, k, s, p, d, ceil)
                        continue
                    if torch.isinf(yt).any():
                        with pytest.raises(ValueError, match="holds no input pixel"):
                            F.max_pool2d(x, k, s, p, d, ceil)
                        refused += 1
                        continue
                    y, i = F.max_pool2d(x, k, s, p, d, ceil, True)
                    assert y.shape == tuple(yt.shape), (h, k, d, s, p, ceil)
                    np.testing.assert_array_equal(to_np(y), yt.numpy())
                    np.testing.assert_array_equal(to_np(i), it.numpy())
                    compared += 1
    assert compared > 250 and refused > 0   # most settings compared (297), some refused


def test_positional_arguments_are_pytorch_s(rng):
    # F.max_pool2d: (kernel, stride, padding, dilation, ceil_mode, return_indices);
    # nn.MaxPool2d: (kernel, stride, padding, dilation, return_indices, ceil_mode)
    torch = pytest.importorskip("torch")
    x = distinct_values((1, 2, 10, 9), seed=12)
    y, idx = F.max_pool2d(x, 3, 2, 1, 2, True, True)
    yt, idxt = torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2, 1, 2, True, True)
    assert np.array_equal(to_np(y), yt.numpy()) and np.array_equal(to_np(idx), idxt.numpy())
    ours, theirs = nn.MaxPool2d(3, 2, 1, 2, True, False), torch.nn.MaxPool2d(3, 2, 1, 2, True, False)
    (y, idx), (yt, idxt) = ours(x), theirs(torch.from_numpy(x))
    assert np.array_equal(to_np(y), yt.numpy()) and np.array_equal(to_np(idx), idxt.numpy())
    assert nn.MaxPool2d(2, 2, 0, 1, False, True)(x).shape == torch.nn.MaxPool2d(2, 2, 0, 1, False, True)(
        torch.from_numpy(x)).shape == (1, 2, 5, 5)   # ceil mode: 5 rows, not 4


@pytest.mark.parametrize("args", [(2,), (3, 2, 1, 2, True, True), ((3, 2), (2, 1), (1, 0), (2, 3)),
                                  (2, None, 1, 3, False, True)])
def test_max_pool_module_repr_attributes_and_no_state_as_pytorch_s(args):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.MaxPool2d(*args), torch.nn.MaxPool2d(*args)
    assert repr(ours) == repr(theirs)
    for name in ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.state_dict() == {} and list(ours.parameters()) == [] and list(ours.buffers()) == []
    # no state: a call leaves nothing on the layer, and each call depends on its input alone
    before = dict(vars(ours))
    a, b = distinct_values((1, 1, 9, 8), seed=1), distinct_values((1, 1, 9, 8), seed=2)
    first = to_np(ours(a)[0] if ours.return_indices else ours(a))
    ours(b)
    again = to_np(ours(a)[0] if ours.return_indices else ours(a))
    assert vars(ours).keys() == before.keys() and np.array_equal(first, again)
    assert ours.state_dict() == {}


def test_a_dilated_pool_s_geometry_and_receptive_field():
    pool = nn.MaxPool2d(2, 1, dilation=3)
    assert geometry(pool).dilation == 3
    net = nn.Sequential(nn.Conv2d(1, 1, 3), pool)
    rows = receptive_field(net, input_size=12)
    assert rows[-1].rf == 3 + 3   # a span of 4 one apart adds 3 to the conv's 3
    assert rows[-1].size == net(np.zeros((1, 1, 12, 12), dtype=np.float32)).shape[-1] == 7


@pytest.mark.parametrize("args, kw, error, message", [
    ((2,), dict(dilation=0), ValueError, "dilation must be >= 1, got 0"),
    ((2,), dict(dilation=(1, -1)), ValueError, "dilation must be >= 1, got (1, -1)"),
    ((2,), dict(dilation=1.5), TypeError, "dilation must be an int or a pair of ints, got 1.5"),
    ((2,), dict(dilation=(1, 2, 3)), ValueError, "dilation must be an int or a pair of ints, got (1, 2, 3)"),
    ((2, 1, 2), dict(dilation=3), ValueError, "padding (2, 2) must be at most half the kernel (2, 2)"),
    ((3, 1), dict(dilation=3), ValueError,
     "kernel (3, 3) with dilation (3, 3) (a span of (7, 7)) is larger than the padded input 5x5"),
    ((2, 1, 1), dict(dilation=(1, 3)), ValueError,    # PyTorch: -inf, and index 2 past a 2-wide row
     "the window at output column 0 holds no input pixel: its taps [-1, 2] (kernel 2, dilation 3, "
     "padding 1) all fall outside the input's 2 columns"),
])
def test_dilated_max_pool2d_errors_name_the_values(xp, args, kw, error, message):
    shape = (1, 1, 5, 2) if "holds no" in message else (1, 1, 5, 5)
    with pytest.raises(error, match="max_pool2d: " + re.escape(message)):
        F.max_pool2d(xp.zeros(shape), *args, **kw)


# --------------------------------------------------------------------- adaptive max pooling
ADAPTIVE_CASES = [   # (h, w), output_size
    ((7, 9), (3, 4)),       # bins overlapping by a value
    ((8, 6), (4, 3)),       # bins apart: a partition
    ((4, 6), 1),            # global max pooling
    ((5, 3), (7, 8)),       # more outputs than inputs: bins repeat
    ((9, 4), (2, None)),    # None keeps the width
    ((5, 11), (None, 3)),
]


def _out_hw(hw, size):
    pair = size if isinstance(size, tuple) else (size, size)
    return tuple(n if o is None else o for n, o in zip(hw, pair))


@pytest.mark.parametrize("hw, size", ADAPTIVE_CASES)
def test_adaptive_max_pool2d_matches_the_loops(xp, hw, size):
    x = distinct_values((2, 3) + hw, seed=13)
    y, idx = F.adaptive_max_pool2d(xp.asarray(x), size, return_indices=True)
    y_ref, idx_ref = naive.adaptive_max_pool2d(x, *_out_hw(hw, size))
    np.testing.assert_array_equal(to_np(y), y_ref)
    np.testing.assert_array_equal(to_np(idx), idx_ref)
    np.testing.assert_array_equal(to_np(F.adaptive_max_pool2d(xp.asarray(x), size)), y_ref)


def test_adaptive_bins_by_hand():
    # the loops' bins checked by hand: 5 -> 3 gives [0, 2), [1, 4), [3, 5)
    x = np.array([[[[4., 1., 2., 5., 3.]]]])
    y, idx = naive.adaptive_max_pool2d(x, 1, 3)
    assert y.tolist() == [[[[4., 5., 5.]]]] and idx.tolist() == [[[[0, 3, 3]]]]


@pytest.mark.parametrize("hw, size", ADAPTIVE_CASES)
def test_adaptive_max_ties_nan_and_minus_inf_as_pytorch(xp, rng, hw, size):
    # ties to the first maximum in row-major order, NaN to the last NaN, -inf to the first pixel
    x = rng.integers(0, 3, (2, 3) + hw).astype(np.float64)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[1, 2] = -np.inf
    y, idx = F.adaptive_max_pool2d(xp.asarray(x), size, return_indices=True)
    y_ref, idx_ref = naive.adaptive_max_pool2d(x, *_out_hw(hw, size))
    np.testing.assert_array_equal(to_np(y), y_ref)
    np.testing.assert_array_equal(to_np(idx), idx_ref)
    torch = pytest.importorskip("torch")
    yt, idxt = torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(x), size, True)
    np.testing.assert_array_equal(y_ref, yt.numpy())
    np.testing.assert_array_equal(idx_ref, idxt.numpy())


@pytest.mark.parametrize("hw, size", ADAPTIVE_CASES)
def test_adaptive_max_pool2d_gradcheck_and_adjoint(xp, rng, hw, size):
    x = xp.asarray(distinct_values((1, 2) + hw, seed=14))
    assert gradcheck(lambda t: F.adaptive_max_pool2d(t, size), [x])
    # a gather for a fixed argmax: <G x, v> = <x, G^T v>, G^T v the backward (repeats add up)
    xt = Tensor(x, requires_grad=True)
    y = F.adaptive_max_pool2d(xt, size)
    v = rng.standard_normal(y.shape)
    y.backward(xp.asarray(v))
    lhs, rhs = float((to_np(y) * v).sum()), float((to_np(x) * to_np(xt.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw, size", ADAPTIVE_CASES)
def test_adaptive_max_pool2d_vs_torch(rng, dtype, hw, size):
    torch = pytest.importorskip("torch")
    x = distinct_values((2, 3) + hw, seed=15).astype(dtype)
    ours, theirs = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y, idx = nn.AdaptiveMaxPool2d(size, True)(ours)
    yt, idxt = torch.nn.AdaptiveMaxPool2d(size, True)(theirs)
    assert_close(y, yt, dtype, "forward")
    np.testing.assert_array_equal(to_np(idx), to_np(idxt))
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(ours.grad, theirs.grad, dtype, "grad x")
    assert repr(nn.AdaptiveMaxPool2d(size)) == repr(torch.nn.AdaptiveMaxPool2d(size))


@pytest.mark.parametrize("size, kw, error, message", [
    (0, {}, ValueError, "output_size must be >= 1, got 0"),
    ((3, 0), {}, ValueError, "output_size must be >= 1, got (3, 0)"),
    ((2, 3, 4), {}, ValueError, "output_size must be an int or a pair of ints, got (2, 3, 4)"),
    (2.5, {}, TypeError, "output_size must be an int or a pair of ints, got 2.5"),
    (2, dict(return_indices="yes"), TypeError, "return_indices must be a bool, got 'yes'"),
])
def test_adaptive_max_pool2d_errors_name_the_values(xp, size, kw, error, message):
    with pytest.raises(error, match="adaptive_max_pool2d: " + re.escape(message)):
        F.adaptive_max_pool2d(xp.zeros((1, 1, 5, 5)), size, **kw)
    with pytest.raises(ValueError, match=re.escape("input must be 4-D (n, c, h, w), got shape (5, 5)")):
        F.adaptive_max_pool2d(xp.zeros((5, 5)), 2)
    with pytest.raises(ValueError, match=re.escape("input of shape (1, 1, 0, 5) has no values to pool")):
        F.adaptive_max_pool2d(xp.zeros((1, 1, 0, 5)), 2)


# --------------------------------------------------------------------- LP pooling
LP_CASES = [   # (h, w), norm_type, kernel, stride, ceil_mode
    ((7, 8), 2, 2, None, False),
    ((7, 9), 3, 3, 2, True),             # overlapping, odd p (negative sums: NaN), ceil
    ((9, 7), 1, (2, 3), (3, 1), True),   # p = 1: the window's sum; stride 3 > kernel 2
    ((8, 8), 1.5, 2, 1, False),          # a fractional power (positive inputs)
    ((6, 7), 4, 3, 3, True),             # ceil windows hanging past the edge: scaled as PyTorch's
]


def _lp_input(rng, shape, p):
    """Normal values; positive (away from 0) for a fractional power, whose root of a negative
    value is NaN."""
    x = rng.standard_normal(shape)
    return np.abs(x) + 0.1 if p != int(p) else x


@pytest.mark.parametrize("hw, p, k, s, ceil", LP_CASES)
def test_lp_pool2d_matches_the_loops(xp, rng, hw, p, k, s, ceil):
    x = _lp_input(rng, (2, 3) + hw, p)
    y = F.lp_pool2d(xp.asarray(x), p, k, s, ceil)
    want = naive.lp_pool2d(x, p, k, s, ceil)
    np.testing.assert_allclose(to_np(y), want, rtol=1e-12, atol=1e-12)   # NaN where NaN
    if p == 3:
        assert np.isnan(want).any() and not np.isnan(want).all()


def test_lp_pool_loops_by_hand():
    # p = 2 over 1 x 2 windows of [3, 4, 1, 2, 2]: sqrt(9 + 16), sqrt(1 + 4); ceil mode's last
    # window holds the 2 alone and is scaled by 2 / 1 as PyTorch's formula scales it: sqrt(8)
    x = np.array([[[[3., 4., 1., 2., 2.]]]])
    np.testing.assert_allclose(naive.lp_pool2d(x, 2, (1, 2), ceil_mode=True)[0, 0, 0],
                               [5.0, np.sqrt(5.0), np.sqrt(8.0)], rtol=1e-15)


@pytest.mark.parametrize("hw, p, k, s, ceil", LP_CASES)
def test_lp_pool2d_gradcheck(xp, rng, hw, p, k, s, ceil):
    # positive inputs: every sum away from 0, where the root's derivative is infinite
    x = xp.asarray(np.abs(rng.standard_normal((1, 2) + hw)) + 0.2)
    assert gradcheck(lambda t: F.lp_pool2d(t, p, k, s, ceil), [x])


@pytest.mark.parametrize("hw, k, s, ceil", [((7, 8), 2, None, False), ((9, 7), (2, 3), (3, 1), True),
                                            ((7, 9), 3, 2, True)])
def test_lp_pool2d_of_power_one_is_linear_and_its_backward_its_transpose(xp, rng, hw, k, s, ceil):
    x = xp.asarray(rng.standard_normal((2, 3) + hw))
    xt = Tensor(x, requires_grad=True)
    y = F.lp_pool2d(xt, 1, k, s, ceil)
    g = rng.standard_normal(y.shape)
    y.backward(xp.asarray(g))
    lhs, rhs = float((to_np(y) * g).sum()), float((to_np(x) * to_np(xt.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw, p, k, s, ceil", LP_CASES)
def test_lp_pool2d_vs_torch(rng, dtype, hw, p, k, s, ceil):
    torch = pytest.importorskip("torch")
    x = _lp_input(rng, (2, 3) + hw, p).astype(dtype)
    ours, theirs = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y, yt = nn.LPPool2d(p, k, s, ceil)(ours), torch.nn.LPPool2d(p, k, s, ceil)(theirs)
    nan = np.isnan(to_np(yt))
    np.testing.assert_array_equal(np.isnan(to_np(y)), nan)
    assert_close(np.where(nan, 0, to_np(y)), np.where(nan, 0, to_np(yt)), dtype, "forward")
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    gnan = np.isnan(to_np(theirs.grad))
    np.testing.assert_array_equal(np.isnan(to_np(ours.grad)), gnan)
    assert_close(np.where(gnan, 0, to_np(ours.grad)), np.where(gnan, 0, to_np(theirs.grad)), dtype, "grad x")
    assert repr(nn.LPPool2d(p, k, s, ceil)) == repr(torch.nn.LPPool2d(p, k, s, ceil))


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_lp_pool_window_of_zeros_passes_back_zero_as_in_pytorch(rng, dtype):
    # the root's derivative is infinite at a zero sum; PyTorch's sign * relu gives 0 there
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 4, 6)).astype(dtype)
    x[0, 0, :2, :2] = 0   # one window of zeros
    ours, theirs = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y, yt = F.lp_pool2d(ours, 2, 2), torch.nn.functional.lp_pool2d(theirs, 2, 2)
    assert float(to_np(y)[0, 0, 0, 0]) == 0.0
    y.backward(np.ones(y.shape, dtype=dtype))
    yt.backward(torch.ones(yt.shape, dtype=yt.dtype))
    assert not np.isnan(to_np(ours.grad)).any()
    assert (to_np(ours.grad)[0, 0, :2, :2] == 0).all()
    assert_close(ours.grad, theirs.grad, dtype, "grad x")


@pytest.mark.parametrize("args, error, message", [
    ((0, 2), ValueError, "norm_type must be a positive finite number, got 0"),
    ((-2, 2), ValueError, "norm_type must be a positive finite number, got -2"),
    ((float("inf"), 2), ValueError, "norm_type must be a positive finite number, got inf"),
    ((float("nan"), 2), ValueError, "norm_type must be a positive finite number, got nan"),
    ((True, 2), ValueError, "norm_type must be a positive finite number, got True"),
    (("2", 2), ValueError, "norm_type must be a positive finite number, got '2'"),
    ((2, 6), ValueError, "kernel (6, 6) is larger than the padded input 5x5"),
    ((2, 2, 0), ValueError, "stride must be >= 1, got 0"),
    ((2, 2.5), TypeError, "kernel_size must be an int or a pair of ints, got 2.5"),
])
def test_lp_pool2d_errors_name_the_values(xp, args, error, message):
    with pytest.raises(error, match="lp_pool2d: " + re.escape(message)):
        F.lp_pool2d(xp.zeros((1, 1, 5, 5)), *args)


POOL_FORMS = [   # (function, its name in torch, positional args after x, keywords): PyTorch takes each
    (F.max_pool2d, "max_pool2d", ((2,),), {}),
    (F.max_pool2d, "max_pool2d", ([3],), dict(stride=(2,), padding=(1,), dilation=[2])),
    (F.max_pool2d, "max_pool2d", (2,), dict(dilation=(2,))),
    (F.max_pool2d, "max_pool2d", (2, []), {}),          # an empty stride: the kernel's, as None
    (F.max_pool2d, "max_pool2d", ((3, 2), ()), dict(padding=[1])),
    (F.avg_pool2d, "avg_pool2d", ((2,), ()), {}),
    (F.avg_pool2d, "avg_pool2d", ([3], [1]), dict(padding=(1,))),
    (F.avg_pool2d, "avg_pool2d", (2, (2, 1)), dict(padding=(1, 0), ceil_mode=True)),
    (F.lp_pool2d, "lp_pool2d", (2, 2, ()), {}),
    (F.lp_pool2d, "lp_pool2d", (3, (2, 3), []), {}),
    (F.lp_pool2d, "lp_pool2d", (2, 2, (1,)), {}),
]


@pytest.mark.parametrize("fn, name, args, kw", POOL_FORMS)
def test_pooling_takes_pytorchs_argument_forms(rng, fn, name, args, kw):
    # a 1-tuple (or 1-list) is both axes' value, an empty stride is None: the kernel's size
    torch = pytest.importorskip("torch")
    x = rng.random((1, 2, 7, 8)) + 0.5
    want = getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kw).numpy()
    np.testing.assert_allclose(fn(x, *args, **kw).numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("module, kw", [(nn.MaxPool2d, dict(kernel_size=(2,), stride=(), dilation=(2,))),
                                        (nn.AvgPool2d, dict(kernel_size=[3], stride=(), padding=(1,))),
                                        (nn.LPPool2d, dict(norm_type=2, kernel_size=2, stride=()))])
def test_pooling_modules_take_pytorchs_argument_forms(rng, module, kw):
    torch = pytest.importorskip("torch")
    x = rng.random((1, 2, 7, 8)) + 0.5
    ours, theirs = module(**kw), getattr(torch.nn, module.__name__)(**kw)
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("call, message", [   # what PyTorch refuses, refused here too
    (lambda x: F.max_pool2d(x, ()), "kernel_size must be an int or a pair of ints, got ()"),
    (lambda x: F.max_pool2d(x, 2, (1, 1, 1)), r"stride must be an int or a pair of ints, got \(1, 1, 1\)"),
    (lambda x: F.avg_pool2d(x, 3, 1, ()), r"padding must be an int or a pair of ints, got \(\)"),
    (lambda x: F.max_pool2d(x, 2, dilation=()), r"dilation must be an int or a pair of ints, got \(\)"),
    (lambda x: F.lp_pool2d(x, 2, (2,)), r"kernel_size must be an int or a pair of ints, got \(2,\)"),
    (lambda x: F.adaptive_avg_pool2d(x, (3,)), r"output_size must be an int or a pair of ints, got \(3,\)"),
    (lambda x: F.adaptive_max_pool2d(x, [3]), r"output_size must be an int or a pair of ints, got \[3\]"),
])
def test_pooling_refuses_the_forms_pytorch_refuses(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.ones((1, 1, 6, 6)))
