"""max_pool2d (with indices) and max_unpool2d, four ways. Pooling inputs are tie-free
(``distinct_values``) so the argmax is unique and a finite-difference step never flips it."""
import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.kernels import pool as P
from minifcn.testing import distinct_values, gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

# (n, c, h, w, kernel, stride, padding, ceil_mode)
POOL_CASES = [
    (2, 3, 6, 6, 2, 2, 0, False),
    (1, 2, 7, 5, 2, 2, 0, True),     # odd sizes, ceil mode (FCN's pools)
    (1, 2, 7, 8, 3, 2, 0, False),    # overlapping windows 3/2
    (2, 2, 9, 7, 3, 2, 1, True),     # overlapping + padding + ceil
    (1, 2, 8, 7, 2, 3, 0, True),     # stride > kernel, ceil
    (1, 1, 5, 6, (3, 2), (1, 2), (1, 1), False),
]


def _pool(x, case, **kw):
    k, s, p, ceil = case[4:]
    return F.max_pool2d(x, k, s, p, ceil_mode=ceil, **kw)


# --------------------------------------------------------------------- 1. naive loops
@pytest.mark.parametrize("block_values", [2**19, 1])  # all channels in one block; one per block
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_matches_naive(xp, monkeypatch, case, block_values):
    monkeypatch.setattr(P, "BLOCK_VALUES", block_values)
    x = distinct_values(case[:4], seed=1)
    y, idx = _pool(xp.asarray(x), case, return_indices=True)
    y_ref, idx_ref = naive.max_pool2d(x, *case[4:])
    np.testing.assert_allclose(to_np(y), y_ref, atol=1e-10, rtol=0)
    np.testing.assert_array_equal(to_np(idx), idx_ref)
    # without indices and without a graph (inference), the maxima alone: the same values
    with minifcn.no_grad():
        y_plain = _pool(xp.asarray(x), case)
    np.testing.assert_array_equal(to_np(y_plain.data), to_np(y.data))
    # PyTorch's convention: flat index into the (h, w) plane of the unpadded input
    n, c, h, w = case[:4]
    flat = x.reshape(n, c, h * w)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx_ref.reshape(n, c, -1), 2).reshape(y_ref.shape), y_ref)


@pytest.mark.parametrize("block_values", [2**19, 1])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_unpool2d_matches_naive(xp, rng, monkeypatch, case, block_values):
    monkeypatch.setattr(P, "BLOCK_VALUES", block_values)
    x = distinct_values(case[:4], seed=2)
    k, s, p, _ = case[4:]
    y, idx = _pool(xp.asarray(x), case, return_indices=True)
    v = rng.standard_normal(y.shape)
    out = F.max_unpool2d(xp.asarray(v), idx, k, s, p, output_size=x.shape)
    assert out.shape == x.shape
    # overlapping windows may pick one pixel twice: the last write in row-major order is kept,
    # by the kernel as by the loop (it had compared only where the values were non-zero)
    np.testing.assert_allclose(to_np(out), naive.max_unpool2d(v, to_np(idx), x.shape[2:]), atol=1e-10, rtol=0)


@pytest.mark.parametrize("case", POOL_CASES)
def test_ties_go_to_the_first_maximum_as_in_pytorch(xp, rng, case):
    # every other test draws distinct values: ties (ReLU's zeros, equal pixels) had gone
    # untested, and a kernel giving them to the last maximum passed them all
    x = rng.integers(0, 3, case[:4]).astype(np.float64)
    y, idx = _pool(xp.asarray(x), case, return_indices=True)
    want_y, want_idx = naive.max_pool2d(x, *case[4:])
    assert np.array_equal(to_np(idx), want_idx) and np.array_equal(to_np(y), want_y)
    torch = pytest.importorskip("torch")
    k, s, p, ceil = case[4:]
    _, t_idx = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, ceil_mode=ceil, return_indices=True)
    assert np.array_equal(want_idx, t_idx.numpy())


def test_unpool_default_output_size_and_odd_sizes(xp):
    x = distinct_values((1, 2, 7, 5), seed=3)
    y, idx = F.max_pool2d(xp.asarray(x), 2, ceil_mode=True, return_indices=True)  # 4x3
    assert F.max_unpool2d(y, idx, 2).shape == (1, 2, 8, 6)      # the formula (h - 1)*s + k
    back = F.max_unpool2d(y, idx, 2, output_size=(7, 5))      # the size the pool saw
    # every maximum goes back where it was, everything else is zero
    ref = np.where(naive.max_unpool2d(to_np(y), to_np(idx), (7, 5)) != 0, x, 0)
    np.testing.assert_array_equal(to_np(back), ref)
    # PyTorch's rule for output_size: any had been taken (a wider plane re-reads the positions
    # at another width, values landing elsewhere), fractions cut, a bare int not iterable
    for bad, message in (((10, 6), "height 10 is not one that pools to 4x3: expected 7 to 9"),
                         ((7, 4.5), "output_size must be an int or a pair of ints"),
                         (7, r"output_size must be \(h, w\) or \(n, c, h, w\), got 7"),
                         ((1, 2, 3, 7, 5), r"must be \(h, w\) or \(n, c, h, w\)")):
        with pytest.raises((ValueError, TypeError), match=message):
            F.max_unpool2d(y, idx, 2, output_size=bad)
    assert F.max_unpool2d(y, idx, 2, output_size=(1, 2, 7, 5)).shape == (1, 2, 7, 5)


# --------------------------------------------------------------------- 2. finite differences
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_gradcheck(xp, case):
    x = xp.asarray(distinct_values(case[:4], seed=4))
    assert gradcheck(lambda x: _pool(x, case), [x], max_elements=150)


def test_max_pool2d_gradcheck_random_directions(xp):
    x = xp.asarray(distinct_values((2, 3, 13, 11), seed=5))
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [x], max_elements=64, directions=4)


def test_a_ceil_mode_window_may_hang_over_a_small_input_as_in_pytorch(xp):
    # a kernel past a 1x1 or 2x3 input had been refused; PyTorch keeps the one window there
    for shape, k, want in (((1, 1, 1, 1), 2, 0), ((1, 1, 2, 3), 3, 5)):
        x = Tensor(xp.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)
        y, idx = F.max_pool2d(x, k, 2, ceil_mode=True, return_indices=True)
        assert y.shape == (1, 1, 1, 1) and int(to_np(idx).ravel()[0]) == want
        y.sum().backward()
    with pytest.raises(ValueError, match="larger than the padded input"):   # no window at all
        F.max_pool2d(xp.zeros((1, 1, 3, 3)), 5, 2, ceil_mode=True)
    with pytest.raises(ValueError, match="larger than the padded input"):   # floor mode: none fits
        F.max_pool2d(xp.zeros((1, 1, 1, 1)), 2, 2)


@pytest.mark.parametrize("k, s, p, ceil", [(3, 1, 1, False), (2, 2, 1, False), (3, 2, 1, True),
                                         (2, 2, 0, True), (3, 3, 1, True)])
def test_windows_of_minus_inf_and_nan_point_where_pytorch_points(xp, rng, monkeypatch, k, s, p, ceil):
    # a window of -inf had kept the padding's tap: an index outside it (negative, or another
    # pixel's), so the gradient went astray and an all -inf map crashed its backward; a NaN
    # window had pointed at an earlier pixel, not at its last NaN as PyTorch does
    monkeypatch.setattr(P, "BLOCK_VALUES", 64)   # several blocks, each repaired on its own
    x = rng.standard_normal((2, 3, 7, 8))
    x[rng.random(x.shape) < 0.5] = -np.inf
    x[rng.random(x.shape) < 0.05] = np.nan
    x[1, 2] = -np.inf                               # one whole plane of -inf
    x_t = Tensor(xp.asarray(x), requires_grad=True)
    y, idx = F.max_pool2d(x_t, k, s, p, ceil_mode=ceil, return_indices=True)
    want_y, want_idx = naive.max_pool2d(x, k, s, p, ceil_mode=ceil)
    assert np.array_equal(to_np(idx), want_idx)
    np.testing.assert_array_equal(to_np(y), want_y)   # NaN where NaN
    assert to_np(idx).min() >= 0 and to_np(idx).max() < 7 * 8
    with minifcn.no_grad():   # inference keeps the maxima alone: NaN must survive there too
        np.testing.assert_array_equal(to_np(F.max_pool2d(xp.asarray(x), k, s, p, ceil_mode=ceil)), want_y)
    gy = rng.standard_normal(y.shape)
    y.backward(xp.asarray(gy))   # had raised in bincount: negative positions
    torch = pytest.importorskip("torch")
    xt = torch.from_numpy(x).requires_grad_()
    yt, t_idx = torch.nn.functional.max_pool2d(xt, k, s, p, ceil_mode=ceil, return_indices=True)
    assert np.array_equal(want_idx, t_idx.numpy())
    yt.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(to_np(x_t.grad), xt.grad.numpy(), rtol=0, atol=1e-12)   # each window's winner


# with overlapping windows two outputs can carry the same index: unpooling keeps the last value,
# so the map is still linear, with a zero derivative in the overwritten one
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_unpool2d_gradcheck(xp, rng, case):
    xin = xp.asarray(distinct_values(case[:4], seed=6))
    k, s, p, _ = case[4:]
    y, idx = _pool(xin, case, return_indices=True)
    v = xp.asarray(rng.standard_normal(y.shape))
    assert gradcheck(lambda v: F.max_unpool2d(v, idx, k, s, p, output_size=case[2:4]), [v])


def test_overlapping_unpool_keeps_the_last_value_and_its_gradient_only(xp):
    # 1x3 input [0, 5, 1], kernel 2 stride 1: both windows pick the 5 (index 1)
    _, idx = F.max_pool2d(xp.asarray([[[[0.0, 5.0, 1.0]]]]), (1, 2), (1, 1), return_indices=True)
    np.testing.assert_array_equal(to_np(idx.data), [[[[1, 1]]]])
    v = Tensor(xp.asarray([[[[2.0, 3.0]]]]), requires_grad=True)
    out = F.max_unpool2d(v, idx, (1, 2), (1, 1), output_size=(1, 3))
    np.testing.assert_array_equal(to_np(out.data), [[[[0.0, 3.0, 0.0]]]])  # the last one wins
    out.backward(xp.asarray([[[[10.0, 20.0, 30.0]]]]))
    np.testing.assert_array_equal(to_np(v.grad), [[[[0.0, 20.0]]]])       # the lost one: none
    keep = P.last_of_repeats(xp.asarray([[[3, 1, 3, 0, 1]], [[2, 2, 2, 0, 1]]]), (1, 4))
    np.testing.assert_array_equal(to_np(keep), [[[False, False, True, True, True]],
                                                [[False, False, True, True, True]]])


def test_pool_then_unpool_gradcheck(xp):
    # SegNet's pattern: the decoder's unpool uses the encoder's indices
    x = xp.asarray(distinct_values((1, 2, 6, 7), seed=7))

    def fn(x):
        y, idx = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
        return F.max_unpool2d(y * y, idx, 2, output_size=x.shape)
    assert gradcheck(fn, [x])


# --------------------------------------------------------------------- 3. adjointness
@pytest.mark.parametrize("blocks", ["one", "per_channel", "gpu"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_unpool_scatter_and_gather_are_adjoint(xp, rng, monkeypatch, case, blocks):
    """Over one block, one channel per block, and the GPU's whole-batch block (forced here)."""
    monkeypatch.setattr(P, "BLOCK_VALUES", 1 if blocks == "per_channel" else 2**19)
    if blocks == "gpu":
        monkeypatch.setattr(P, "device_of", lambda a: "cuda")
    n, c, h, w = case[:4]
    _, idx = _pool(xp.asarray(distinct_values(case[:4], seed=8)), case, return_indices=True)
    idx = idx.data
    x = xp.asarray(rng.standard_normal(idx.shape))
    g = xp.asarray(rng.standard_normal((n, c, h, w)))
    # accumulate=True is the linear map (repeated indices add up); it is what backprop uses
    lhs = float((P.unpool_scatter(x, idx, (h, w), accumulate=True) * g).sum())
    rhs = float((x * P.unpool_gather(g, idx)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
    if case[4] == case[5]:  # without overlap the plain scatter is the same linear map
        lhs2 = float((P.unpool_scatter(x, idx, (h, w)) * g).sum())
        assert abs(lhs2 - rhs) <= 1e-10 * max(1.0, abs(lhs))
    # unpooling that keeps the last of repeats, and the gather that zeroes the others
    keep = P.last_of_repeats(idx, (h, w))
    lhs3 = float((P.unpool_scatter(x, idx, (h, w), keep=keep) * g).sum())
    rhs3 = float((x * P.unpool_gather(g, idx, keep)).sum())
    assert abs(lhs3 - rhs3) <= 1e-10 * max(1.0, abs(lhs3))


def test_overlapping_pool_gradient_adds_up(xp):
    # 1x3 input [0, 5, 1], kernel 2 stride 1: the 5 wins both windows and gets both gradients
    x = Tensor(xp.asarray([[[[0.0, 5.0, 1.0]]]]), requires_grad=True)
    F.max_pool2d(x, (1, 2), (1, 1)).backward(xp.asarray([[[[2.0, 3.0]]]]))
    np.testing.assert_array_equal(to_np(x.grad), [[[[0.0, 5.0, 0.0]]]])


# --------------------------------------------------------------------- 4. PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    k, s, p, ceil = case[4:]
    x = distinct_values(case[:4], seed=9).astype(dtype)
    ours = Tensor(x, requires_grad=True)
    theirs = torch_tensor(torch, x, requires_grad=True)
    y, idx = F.max_pool2d(ours, k, s, p, ceil_mode=ceil, return_indices=True)
    yt, idxt = torch.nn.functional.max_pool2d(theirs, k, s, p, ceil_mode=ceil, return_indices=True)
    assert_close(y, yt, dtype, "forward")
    np.testing.assert_array_equal(to_np(idx), to_np(idxt))
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(ours.grad, theirs.grad, dtype, "grad x")


@pytest.mark.parametrize("h", range(4, 12))
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 3, 1), (2, 3, 1)])
def test_ceil_mode_output_sizes_vs_torch(h, k, s, p):
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, h, h + 1), dtype=np.float32)
    for ceil in (False, True):
        ours = F.max_pool2d(x, k, s, p, ceil_mode=ceil)
        theirs = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, ceil_mode=ceil)
        assert ours.shape == tuple(theirs.shape)


def test_overlapping_unpool_forward_vs_torch(rng):
    # PyTorch's CPU kernel writes in order, so the last of repeated indices wins, as ours
    torch = pytest.importorskip("torch")
    x = distinct_values((2, 3, 9, 10), seed=11)
    _, idx = F.max_pool2d(x, 3, 2, return_indices=True)
    _, idxt = torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2, return_indices=True)
    assert not P.last_of_repeats(idx.data, (9, 10)).all()          # some positions repeat
    v = rng.standard_normal(idx.shape)
    out = F.max_unpool2d(v, idx, 3, 2, output_size=(9, 10))
    outt = torch.nn.functional.max_unpool2d(torch.from_numpy(v), idxt, 3, 2, output_size=(9, 10))
    np.testing.assert_array_equal(to_np(out), outt.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw", [(7, 5), (9, 9), (6, 8)])
def test_max_unpool2d_vs_torch(rng, dtype, hw):
    torch = pytest.importorskip("torch")
    x = distinct_values((2, 3) + hw, seed=10).astype(dtype)
    y, idx = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    yt, idxt = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, ceil_mode=True, return_indices=True)
    v = rng.standard_normal(y.shape).astype(dtype)
    ours = Tensor(v, requires_grad=True)
    theirs = torch_tensor(torch, v, requires_grad=True)
    out = F.max_unpool2d(ours, idx, 2, output_size=hw)
    outt = torch.nn.functional.max_unpool2d(theirs, idxt, 2, output_size=hw)
    assert_close(out, outt, dtype, "forward")
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(g)
    outt.backward(torch.from_numpy(g))
    assert_close(ours.grad, theirs.grad, dtype, "grad x")
