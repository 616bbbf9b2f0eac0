"""flip, roll, masked_fill, cumsum, prod, sign, round / floor / ceil, logsumexp, argmin and argmax:
against plain loops (written here), against PyTorch (values, dtypes, gradients; negative dims,
0-d and empty tensors, integers), by float64 finite differences, by the adjoint identity for
the linear ones (flip, roll, cumsum, masked_fill in its input), and their errors."""
import itertools
import math
import warnings

import numpy as np
import pytest

import minifcn
from minifcn import Tensor
from minifcn import functional as F
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor


# --------------------------------------------------------------------- plain loops
# One value at a time, by the definitions, over every position of the other axes.
def _lines(shape, axis):
    """Each 1-d line along ``axis``: the index tuples of its values, in order."""
    others = [range(n) if k != axis else [None] for k, n in enumerate(shape)]
    for pos in itertools.product(*others):
        yield [tuple(i if k == axis else p for k, p in enumerate(pos)) for i in range(shape[axis])]


def loop_flip(x, axes):
    y = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        src = tuple(x.shape[k] - 1 - i if k in axes else i for k, i in enumerate(idx))
        y[idx] = x[src]
    return y


def loop_roll(x, shift, axis):
    y = np.empty_like(x)
    for idx in np.ndindex(x.shape):   # y[i] = x[i - shift], cyclically
        src = tuple((i - shift) % x.shape[k] if k == axis else i for k, i in enumerate(idx))
        y[idx] = x[src]
    return y


def loop_cumsum(x, axis):
    y = np.empty_like(x)
    for line in _lines(x.shape, axis):
        total = 0.0
        for idx in line:
            total += x[idx]
            y[idx] = total
    return y


def loop_prod_and_grad(x, axis):
    """The product along ``axis`` (keepdims) and each value's gradient: the product of the
    others on its line, multiplied out (no division)."""
    y = np.empty(tuple(1 if k == axis else n for k, n in enumerate(x.shape)))
    g = np.empty_like(x)
    for line in _lines(x.shape, axis):
        y[tuple(0 if k == axis else i for k, i in enumerate(line[0]))] = math.prod(x[i] for i in line)
        for j, idx in enumerate(line):
            g[idx] = math.prod(x[i] for k, i in enumerate(line) if k != j)
    return y, g


def loop_logsumexp(x, axis):
    y = np.empty(tuple(n for k, n in enumerate(x.shape) if k != axis))
    for line in _lines(x.shape, axis):
        out = tuple(i for k, i in enumerate(line[0]) if k != axis)
        y[out] = math.log(math.fsum(math.exp(x[i]) for i in line))
    return y


def _close(ours, expected, tol=1e-12):
    np.testing.assert_allclose(to_np(ours), expected, rtol=tol, atol=tol)


# --------------------------------------------------------------------- against the loops
@pytest.mark.parametrize("shape, dims", [((3, 4), (1,)), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, -3, 1)), ((5,), (0,))])
def test_flip_matches_the_loop_and_flips_the_gradient_back(xp, rng, shape, dims):
    x, gy = rng.standard_normal(shape), rng.standard_normal(shape)
    axes = {d % len(shape) for d in dims}
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = t.flip(dims)
    np.testing.assert_array_equal(to_np(y), loop_flip(x, axes))
    y.backward(xp.asarray(gy))
    np.testing.assert_array_equal(to_np(t.grad), loop_flip(gy, axes))


@pytest.mark.parametrize("shape, shift, dim", [((3, 4), 1, 1), ((3, 4), -5, 0), ((2, 3, 4), 7, -1), ((4,), 0, 0)])
def test_roll_matches_the_loop(xp, rng, shape, shift, dim):
    x, gy = rng.standard_normal(shape), rng.standard_normal(shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = minifcn.roll(t, shift, dim)
    np.testing.assert_array_equal(to_np(y), loop_roll(x, shift, dim % len(shape)))
    y.backward(xp.asarray(gy))   # rolled back
    np.testing.assert_array_equal(to_np(t.grad), loop_roll(gy, -shift, dim % len(shape)))
    flat = minifcn.roll(Tensor(xp.asarray(x)), shift)   # no dims: the flat order
    np.testing.assert_array_equal(to_np(flat), loop_roll(x.reshape(-1), shift, 0).reshape(shape))


@pytest.mark.parametrize("shape, dim", [((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1), ((6,), 0)])
def test_cumsum_matches_the_loop_and_its_gradient_is_the_sum_to_the_end(xp, rng, shape, dim):
    x, gy = rng.standard_normal(shape), rng.standard_normal(shape)
    axis = dim % len(shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = t.cumsum(dim)
    _close(y, loop_cumsum(x, axis))
    y.backward(xp.asarray(gy))
    # x[i] counts in y[j] for every j >= i: the gradient is gy summed from i to the end
    _close(t.grad, loop_flip(loop_cumsum(loop_flip(gy, {axis}), axis), {axis}))


@pytest.mark.parametrize("zeros", [0, 1, 2])
@pytest.mark.parametrize("shape, dim", [((3, 4), 1), ((2, 3, 4), -3), ((5,), 0)])
def test_prod_matches_the_loop_with_no_one_or_two_zeros_on_a_line(xp, rng, shape, dim, zeros):
    axis = dim % len(shape)
    x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
    first = tuple(0 if k != axis else slice(0, zeros) for k in range(len(shape)))
    x[first] = 0.0   # the first line along the axis: that many zeros
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = t.prod(dim, keepdim=True)
    expected, grad = loop_prod_and_grad(x, axis)
    _close(y, expected)
    y.backward(xp.ones(y.shape))
    _close(t.grad, grad)
    if zeros == 2:   # two zeros on a line: no value there moves the product
        assert not to_np(t.grad)[first[:axis] + (slice(None),) + first[axis + 1:]].any()


@pytest.mark.parametrize("shape, dim", [((3, 4), 1), ((2, 3, 4), 0), ((5,), -1)])
def test_logsumexp_matches_the_loop_and_its_gradient_is_the_softmax(xp, rng, shape, dim):
    x = 3 * rng.standard_normal(shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = minifcn.logsumexp(t, dim)
    _close(y, loop_logsumexp(x, dim % len(shape)))
    y.sum().backward()
    _close(t.grad, to_np(F.softmax(Tensor(x), dim=dim % len(shape))))


def test_logsumexp_is_stable_where_exp_overflows(xp):
    x = Tensor(xp.asarray([[1000.0, 1000.0], [-1000.0, -1001.0], [0.0, -np.inf]]), requires_grad=True)
    y = x.logsumexp(1)
    _close(y, [1000.0 + math.log(2.0), -1000.0 + math.log1p(math.exp(-1.0)), 0.0])
    y.sum().backward()
    _close(x.grad, [[0.5, 0.5], [1 / (1 + math.exp(-1.0)), 1 - 1 / (1 + math.exp(-1.0))], [1.0, 0.0]])
    assert x.logsumexp(1).dtype == np.float64
    x32 = Tensor(xp.asarray([88.0, 89.0], dtype=np.float32))   # exp(89) is inf in float32
    assert math.isfinite(x32.logsumexp(0).item())


# --------------------------------------------------------------------- against PyTorch
# Each case runs on minifcn and on torch: fn(lib, t) with t that library's tensor.
FLOAT_CASES = {
    "flip_fn": lambda m, t: m.flip(t, (0, -1)),
    "flip_method_ints": lambda m, t: t.flip(1, 0),
    "flip_list": lambda m, t: t.flip([-2]),
    "flip_none": lambda m, t: m.flip(t, ()),
    "roll_one": lambda m, t: m.roll(t, 2, 1),
    "roll_negative_dim": lambda m, t: t.roll(-1, -2),
    "roll_two": lambda m, t: m.roll(t, (1, -3), (0, 1)),
    "roll_same_dim_twice": lambda m, t: m.roll(t, (1, 2), (1, 1)),
    "roll_flat": lambda m, t: t.roll(5),
    "roll_large": lambda m, t: t.roll(-17, 1),
    "cumsum": lambda m, t: m.cumsum(t, 1),
    "cumsum_negative": lambda m, t: t.cumsum(dim=-2),
    "prod_all": lambda m, t: m.prod(t),
    "prod_dim": lambda m, t: t.prod(1),
    "prod_keepdim": lambda m, t: m.prod(t, -2, keepdim=True),
    "logsumexp": lambda m, t: m.logsumexp(t, 1),
    "logsumexp_tuple": lambda m, t: t.logsumexp((0, -1), keepdim=True),
    "logsumexp_list": lambda m, t: m.logsumexp(t, [0]),
    "sign": lambda m, t: m.sign(t),
    "round": lambda m, t: m.round(t),
    "round_decimals": lambda m, t: t.round(decimals=1),
    "round_negative_decimals": lambda m, t: m.round(t * 100, decimals=-1),
    "floor": lambda m, t: t.floor(),
    "ceil": lambda m, t: m.ceil(t),
    "masked_fill": lambda m, t: t.masked_fill(t > 0.5, -1.0),
    "masked_fill_row": lambda m, t: m.masked_fill(t, _mask(m, [[True], [False], [True]]), 2.0),
    "masked_fill_grows": lambda m, t: t[0].masked_fill(_mask(m, [[True] * 4, [False] * 4]), 9.0),
    "masked_fill_inf": lambda m, t: t.masked_fill(_mask(m, [False, True, False, True]), -math.inf),
}


def _mask(m, values):
    return m.tensor(values) if m is minifcn else m.tensor(values, dtype=m.bool)


def _pair(torch, x, dtype):
    return Tensor(x.astype(dtype), requires_grad=True), torch_tensor(torch, x.astype(dtype), requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(FLOAT_CASES))
def test_float_ops_match_pytorch_values_dtypes_and_gradients(rng, name, dtype):
    torch = pytest.importorskip("torch")
    fn = FLOAT_CASES[name]
    x = np.round(rng.standard_normal((3, 4)), 3)   # ties for round(decimals=1) at most once in 1000
    x[0, 0] = 0.0                                  # sign's and prod's zero
    ours, theirs = _pair(torch, x, dtype)
    y, yt = fn(minifcn, ours), fn(torch, theirs)
    assert y.shape == tuple(yt.shape) and y.dtype == to_np(yt).dtype and y.requires_grad
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=tol, atol=tol)
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    yt.backward(torch.from_numpy(gy))
    assert ours.grad.dtype == dtype
    np.testing.assert_allclose(to_np(ours.grad), to_np(theirs.grad), rtol=tol, atol=tol)


def test_masked_fill_s_value_gets_the_gradient_where_the_mask_holds_as_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(3)
    mask = np.array([[True, False, True], [False, False, True]])   # (2, 3): the result grows
    ours, theirs = _pair(torch, x, np.float32)
    v, vt = Tensor(np.float64(5.0), requires_grad=True), torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    y, yt = ours.masked_fill(Tensor(mask), v), theirs.masked_fill(torch.from_numpy(mask), vt)
    assert y.dtype == np.float32 and y.shape == (2, 3)
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    gy = rng.standard_normal((2, 3)).astype(np.float32)
    y.backward(gy)
    yt.backward(torch.from_numpy(gy))
    for a, b in ((ours, theirs), (v, vt)):
        assert a.grad.dtype == to_np(b.grad).dtype
        np.testing.assert_allclose(to_np(a.grad), to_np(b.grad), rtol=1e-6, atol=1e-6)
    assert abs(v.grad - gy[mask].sum()) < 1e-5   # the filled places' share


INT_CASES = {   # integers and bools, where PyTorch takes them: values and dtypes (no gradient)
    "flip": lambda m, t: m.flip(t, (1,)),
    "roll": lambda m, t: t.roll(1, 0),
    "masked_fill_float_value": lambda m, t: t.masked_fill(t > 2, 2.7),
    "masked_fill_negative_value": lambda m, t: m.masked_fill(t, t < 2, -2.7),
    "masked_fill_bool_value": lambda m, t: t.masked_fill(t == 0, True),
    "cumsum": lambda m, t: m.cumsum(t, 1),
    "cumsum_dtype": lambda m, t: t.cumsum(0, dtype=np.float64 if m is minifcn else m.float64),
    "prod": lambda m, t: m.prod(t + 1),
    "prod_dim": lambda m, t: t.prod(0, keepdim=True),
    "sign": lambda m, t: m.sign(t - 2),
    "round": lambda m, t: m.round(t),
    "floor": lambda m, t: t.floor(),
    "ceil": lambda m, t: m.ceil(t),
    "logsumexp": lambda m, t: m.logsumexp(t, 1),
    "argmin": lambda m, t: m.argmin(t),
    "argmin_dim": lambda m, t: t.argmin(dim=1),
    "argmin_keepdim": lambda m, t: m.argmin(t, -2, keepdim=True),
    "argmin_flat_keepdim": lambda m, t: t.argmin(keepdim=True),
    "argmax": lambda m, t: m.argmax(t, 0),
    "argmax_keepdim": lambda m, t: t.argmax(dim=-1, keepdim=True),
}
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8"])
@pytest.mark.parametrize("name", sorted(INT_CASES))
def test_integer_ops_match_pytorch_values_and_dtypes(rng, name, dtype):
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 5, (3, 4)).astype(dtype)
    if name == "masked_fill_negative_value" and dtype == "uint8":   # both refuse it
        with pytest.raises(RuntimeError, match="value cannot be converted to type uint8_t"):
            INT_CASES[name](torch, torch.from_numpy(x))
        with pytest.raises(ValueError, match="masked_fill: value -2.7 does not fit uint8"):
            INT_CASES[name](minifcn, Tensor(x))
        return
    y, yt = INT_CASES[name](minifcn, Tensor(x)), INT_CASES[name](torch, torch.from_numpy(x))
    assert y.shape == tuple(yt.shape) and y.dtype == to_np(yt).dtype, (y.dtype, yt.dtype)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6)


BOOL_CASES = {
    "flip": lambda m, t: m.flip(t, (0,)),
    "roll": lambda m, t: t.roll(1),
    "masked_fill": lambda m, t: t.masked_fill(_mask(m, [True, False, False]), 0.5),
    "cumsum": lambda m, t: m.cumsum(t, 0),
    "prod": lambda m, t: t.prod(),
    "sign": lambda m, t: m.sign(t),
    "logsumexp": lambda m, t: m.logsumexp(t, 0),
}


@pytest.mark.parametrize("name", sorted(BOOL_CASES))
def test_bool_ops_match_pytorch(name):
    torch = pytest.importorskip("torch")
    x = np.array([True, False, True])
    y, yt = BOOL_CASES[name](minifcn, Tensor(x)), BOOL_CASES[name](torch, torch.from_numpy(x))
    assert y.shape == tuple(yt.shape) and y.dtype == to_np(yt).dtype
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6)


SPECIAL_CASES = {   # 0-d and empty tensors, NaN and infinities, ties
    "flip_0d": (lambda m, t: m.flip(t, (0,)), np.float64(2.5)),
    "flip_0d_none": (lambda m, t: t.flip(()), np.float64(2.5)),
    "flip_empty": (lambda m, t: m.flip(t, (0, 1)), np.zeros((0, 3))),
    "roll_0d": (lambda m, t: m.roll(t, 3), np.float64(2.5)),
    "roll_empty": (lambda m, t: m.roll(t, 1, 0), np.zeros((0, 3))),
    "roll_empty_flat": (lambda m, t: t.roll(2), np.zeros((2, 0))),
    "roll_no_dims": (lambda m, t: m.roll(t, 2, ()), np.arange(6.0).reshape(2, 3)),   # as dims=None
    "masked_fill_0d": (lambda m, t: t.masked_fill(_mask(m, True), 1.0), np.float64(2.5)),
    "masked_fill_0d_mask": (lambda m, t: t.masked_fill(_mask(m, True), 1.0), np.ones((2, 2))),
    "masked_fill_empty": (lambda m, t: t.masked_fill(_mask(m, [True, False, True]), 1.0), np.zeros((0, 3))),
    "masked_fill_nan": (lambda m, t: t.masked_fill(_mask(m, [True, False]), math.nan), np.ones(2)),
    "cumsum_0d": (lambda m, t: m.cumsum(t, 0), np.float64(2.5)),
    "cumsum_0d_negative": (lambda m, t: t.cumsum(-1), np.float64(2.5)),
    "cumsum_empty": (lambda m, t: m.cumsum(t, 0), np.zeros((0, 3))),
    "prod_0d": (lambda m, t: m.prod(t), np.float64(2.5)),
    "prod_0d_dim": (lambda m, t: t.prod(0, keepdim=True), np.float64(2.5)),
    "prod_empty": (lambda m, t: m.prod(t), np.zeros((0, 3))),
    "prod_empty_axis": (lambda m, t: t.prod(0), np.zeros((0, 3))),
    "prod_of_empties": (lambda m, t: t.prod(1), np.zeros((0, 3))),
    "sign_nan_and_zeros": (lambda m, t: m.sign(t), np.array([math.nan, -0.0, 0.0, -math.inf, math.inf])),
    "sign_0d": (lambda m, t: t.sign(), np.float64(-2.5)),
    "round_halves": (lambda m, t: m.round(t), np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, math.nan, math.inf])),
    "round_decimals_halves": (lambda m, t: m.round(t, decimals=2), np.array([0.125, 0.135, 2.675, 1e300, -math.inf])),
    "round_decimals_overflow": (lambda m, t: m.round(t.float(), decimals=3), np.array([3.4e38, 1.5])),
    "round_decimals_past_float64": (lambda m, t: t.round(decimals=309), np.array([1.5, 0.0, -2.0])),   # 10^309 is inf: NaN
    "round_decimals_past_float32": (lambda m, t: m.round(t.float(), decimals=39), np.array([1.5, 0.0, -2.0])),
    "round_tens_past_float32": (lambda m, t: m.round(t.float(), decimals=-39), np.array([1.5, 0.0, -2.0])),
    "round_thousands": (lambda m, t: t.round(decimals=-3), np.array([1500.0, 2500.0, -12345.6])),
    "floor_0d": (lambda m, t: m.floor(t), np.float64(-2.5)),
    "ceil_empty": (lambda m, t: m.ceil(t), np.zeros((0, 3))),
    "logsumexp_0d": (lambda m, t: m.logsumexp(t, 0), np.float64(2.5)),
    "logsumexp_0d_keepdim": (lambda m, t: t.logsumexp(-1, keepdim=True), np.float64(2.5)),
    "logsumexp_empty_axis": (lambda m, t: m.logsumexp(t, 0), np.zeros((0, 3))),
    "logsumexp_of_empties": (lambda m, t: m.logsumexp(t, 1), np.zeros((0, 3))),
    "logsumexp_infinities": (lambda m, t: m.logsumexp(t, 1), np.array(
        [[-math.inf, -math.inf], [math.inf, 1.0], [math.inf, math.inf], [-math.inf, 1.0], [math.nan, 1.0]])),
    "argmin_0d": (lambda m, t: m.argmin(t), np.float64(2.5)),
    "argmin_0d_dim": (lambda m, t: t.argmin(0), np.float64(2.5)),
    "argmin_0d_keepdim": (lambda m, t: m.argmin(t, -1, keepdim=True), np.float64(2.5)),
    "argmin_of_empties": (lambda m, t: m.argmin(t, 1), np.zeros((0, 3))),
    "argmin_nan": (lambda m, t: m.argmin(t), np.array([1.0, math.nan, 0.0, math.nan])),
    "argmax_nan": (lambda m, t: t.argmax(), np.array([1.0, math.nan, 5.0])),
    "argmin_ties": (lambda m, t: m.argmin(t, 1), np.array([[2.0, 1.0, 1.0], [0.0, 0.0, 3.0]])),
    "argmax_0d": (lambda m, t: m.argmax(t, 0), np.float64(2.5)),
}


@pytest.mark.parametrize("name", sorted(SPECIAL_CASES))
def test_0d_empty_and_special_values_as_pytorch(name):
    torch = pytest.importorskip("torch")
    fn, x = SPECIAL_CASES[name]
    x = np.asarray(x)
    ours, theirs = Tensor(x.copy(), requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y, yt = fn(minifcn, ours), fn(torch, theirs)
    assert y.shape == tuple(yt.shape) and y.dtype == to_np(yt).dtype
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-12, equal_nan=True)
    assert np.array_equal(np.signbit(to_np(y)), np.signbit(to_np(yt)))   # -0.0 where PyTorch's is
    if yt.requires_grad:
        gy = np.linspace(-1.0, 1.0, y.size).reshape(y.shape)
        y.backward(gy)
        yt.backward(torch.from_numpy(gy))
        np.testing.assert_allclose(to_np(ours.grad), to_np(theirs.grad), rtol=1e-12, equal_nan=True)
    else:   # argmin and argmax: outside the graph, as there
        assert not y.requires_grad


def test_prod_s_gradient_at_zeros_as_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 1.0], [1.5, -2.0, 0.5, 3.0]])
    for dim in (None, 0, 1):
        ours, theirs = _pair(torch, x, np.float64)
        y = ours.prod() if dim is None else ours.prod(dim)
        yt = theirs.prod() if dim is None else theirs.prod(dim)
        gy = rng.standard_normal(y.shape)
        y.backward(gy)
        yt.backward(torch.from_numpy(gy))
        np.testing.assert_allclose(to_np(ours.grad), to_np(theirs.grad), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------- finite differences
def _on(t, mask):
    """A host mask on ``t``'s device."""
    return Tensor(mask).to(t.device)


GRADCHECKED = {
    "flip": lambda t: t.flip((0, 2)),
    "roll": lambda t: t.roll((2, -1), (2, 0)),
    "roll_flat": lambda t: minifcn.roll(t, 7),
    "cumsum": lambda t: minifcn.cumsum(t, 1),
    "cumsum_last": lambda t: t.cumsum(-1),
    "prod_all": lambda t: minifcn.prod(t),
    "prod_dim": lambda t: t.prod(1, keepdim=True),
    "prod_with_zeros": lambda t: t.masked_fill(_on(t, np.arange(24).reshape(2, 3, 4) % 5 == 0), 0.0).prod(2),
    "logsumexp": lambda t: minifcn.logsumexp(t, 1),
    "logsumexp_tuple": lambda t: t.logsumexp((0, 2), keepdim=True),
    "masked_fill": lambda t: t.masked_fill(t > 0, 0.5),
    "sign": lambda t: minifcn.sign(t),
    "round": lambda t: minifcn.round(t * 3, decimals=1),
    "floor": lambda t: (t * 3).floor(),
    "ceil": lambda t: minifcn.ceil(t * 3),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_gradcheck(xp, rng, name):
    # away from the rounding ops' jumps: 3x lies at least 0.02 from a multiple of 0.1
    x = (np.round(rng.uniform(-2, 2, (2, 3, 4)) * 30) + 0.5) / 30 + 0.003
    assert gradcheck(GRADCHECKED[name], [xp.asarray(x)])
    if name in ("sign", "round", "floor", "ceil"):   # and the gradient is 0, as PyTorch's
        t = Tensor(xp.asarray(x), requires_grad=True)
        GRADCHECKED[name](t).sum().backward()
        assert not to_np(t.grad).any()


def test_masked_fill_gradcheck_in_the_input_and_the_value(xp, rng):
    mask = xp.asarray(rng.random((2, 3, 4)) < 0.5)
    x, v = rng.standard_normal((3, 4)), np.float64(0.7)   # x broadcast to the mask's (2, 3, 4)
    assert gradcheck(lambda t, value: t.masked_fill(mask, value), [xp.asarray(x), xp.asarray(v)])


# --------------------------------------------------------------------- the adjoint identity
LINEAR = {   # A, applied by the op; A^T y, by its backward
    "flip": lambda t: t.flip((0, -1)),
    "roll": lambda t: minifcn.roll(t, (3, -2), (1, 2)),
    "roll_flat": lambda t: t.roll(-11),
    "cumsum": lambda t: t.cumsum(1),
    "cumsum_first": lambda t: minifcn.cumsum(t, 0),
    "masked_fill": lambda t: t.masked_fill(_on(t, np.arange(4) % 3 == 0), 0.0),
    "masked_fill_broadcast": lambda t: t[0].masked_fill(_on(t, np.arange(24).reshape(2, 3, 4) % 5 == 0), 0.0),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_ops_and_their_backward_are_adjoint(xp, rng, name):
    x = rng.standard_normal((2, 3, 4))
    t = Tensor(xp.asarray(x), requires_grad=True)
    ax = LINEAR[name](t)
    y = rng.standard_normal(ax.shape)
    ax.backward(xp.asarray(y))
    lhs, rhs = float((to_np(ax) * y).sum()), float((x * to_np(t.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# --------------------------------------------------------------------- use
def test_a_flipped_prediction_flipped_back_is_the_prediction_of_the_flipped_kernel(xp, rng):
    # test-time augmentation: conv(flip(x)) flipped back is the same conv with its kernel flipped
    x, W = rng.standard_normal((1, 2, 6, 7)), rng.standard_normal((3, 2, 3, 3))
    t, Wt = Tensor(xp.asarray(x), requires_grad=True), Tensor(xp.asarray(W))
    back = F.conv2d(t.flip(-1), Wt, padding=1).flip(-1)
    _close(back, to_np(F.conv2d(Tensor(xp.asarray(x)), Wt.flip(-1), padding=1)), 1e-10)
    averaged = (F.conv2d(t, Wt, padding=1) + back) * 0.5
    averaged.sum().backward()   # the gradient reaches the input through both branches
    t2 = Tensor(xp.asarray(x), requires_grad=True)
    (F.conv2d(t2, Tensor(xp.asarray((W + W[..., ::-1]) / 2)), padding=1)).sum().backward()
    _close(t.grad, to_np(t2.grad), 1e-10)


def test_masked_fill_keeps_the_void_label_out_of_the_argmax(xp):
    scores = Tensor(xp.asarray([[[[0.1]], [[0.9]], [[0.3]]]]))   # (1, 3, 1, 1): class 1 wins
    banned = Tensor(xp.asarray([False, True, False]).reshape(3, 1, 1))
    assert scores.argmax(dim=1).item() == 1
    assert scores.masked_fill(banned, -math.inf).argmax(dim=1).item() == 2
    assert minifcn.argmin(scores, dim=1, keepdim=True).shape == (1, 1, 1, 1)


# --------------------------------------------------------------------- errors
def test_bad_dims_are_named(xp):
    t = Tensor(xp.zeros((2, 3)))
    with pytest.raises(IndexError, match=r"flip: dimension 2 is out of range \[-2, 1\]"):
        t.flip(2)
    with pytest.raises(ValueError, match=r"flip: dimension \(0, -2\) names an axis twice"):
        minifcn.flip(t, (0, -2))
    with pytest.raises(TypeError, match="flip: a dimension must be an int, got float 0.5"):
        minifcn.flip(t, [0.5])
    with pytest.raises(IndexError, match=r"cumsum: dimension 1 is out of range \[-1, 0\]"):
        Tensor(np.float64(1.0)).cumsum(1)
    with pytest.raises(IndexError, match=r"logsumexp: dimension -3 is out of range"):
        t.logsumexp(-3)
    with pytest.raises(ValueError, match=r"logsumexp: dimension \(1, -1\) repeats an axis"):
        t.logsumexp((1, -1))
    with pytest.raises(ValueError, match="logsumexp: dim is empty; expected at least one"):
        t.logsumexp(())
    with pytest.raises(TypeError, match=r"prod: dim must be one int or None, got \(0, 1\)"):
        t.prod((0, 1))
    with pytest.raises(IndexError, match=r"prod: dimension 5 is out of range"):
        t.prod(5)
    with pytest.raises(TypeError, match=r"argmin: dim must be one int or None, got \(0, 1\)"):
        minifcn.argmin(t, (0, 1))
    with pytest.raises(IndexError, match=r"argmin: dimension 2 is out of range"):
        t.argmin(2)


def test_bad_shifts_are_named(xp):
    t = Tensor(xp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"roll: 2 shifts \(1, 2\) and 1 dims \(0,\); expected one shift per dim"):
        t.roll((1, 2), 0)
    with pytest.raises(ValueError, match=r"roll: 2 shifts \(1, 2\) without dims; expected one shift"):
        t.roll((1, 2))
    with pytest.raises(ValueError, match="roll: shifts is empty"):
        minifcn.roll(t, [], [])
    with pytest.raises(TypeError, match="roll: shifts must be ints, got float 1.5"):
        t.roll(1.5)
    with pytest.raises(TypeError, match="roll: shifts must be ints, got bool True"):
        t.roll(True, 0)
    with pytest.raises(TypeError, match="roll: dims must be ints, got str 'a'"):
        t.roll(1, "a")
    with pytest.raises(IndexError, match="roll: a 0-d tensor has no dimension 0 to roll along"):
        Tensor(np.float64(1.0)).roll(1, 0)
    with pytest.raises(IndexError, match=r"roll: dimension 2 is out of range"):
        t.roll(1, 2)


def test_bad_masks_and_values_are_named(xp):
    t = Tensor(xp.zeros((2, 3)))
    with pytest.raises(TypeError, match="masked_fill: mask must be bool .*, got int64"):
        t.masked_fill(xp.asarray([1, 0, 1]), 1.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(2,\) does not broadcast with the input's \(2, 3\)"):
        t.masked_fill(xp.asarray([True, False]), 1.0)
    with pytest.raises(ValueError, match=r"masked_fill: value must be a number or a 0-d tensor, got shape \(1,\)"):
        t.masked_fill(xp.asarray([True, False, True]), Tensor(xp.ones(1)))
    with pytest.raises(TypeError, match="masked_fill: value must be a number or a 0-d tensor, got str 'a'"):
        t.masked_fill(xp.asarray([True, False, True]), "a")
    ints = Tensor(xp.zeros(3, dtype=np.int32))
    mask = xp.asarray([True, False, True])
    with pytest.raises(ValueError, match=r"masked_fill: value 1099511627776 does not fit int32 "
                                         r"\(expected a finite number in \[-2147483648, 2147483647\]\)"):
        ints.masked_fill(mask, 2 ** 40)
    with pytest.raises(ValueError, match="masked_fill: value inf does not fit int32"):
        ints.masked_fill(mask, math.inf)
    with pytest.raises(ValueError, match="masked_fill: value nan does not fit int32"):
        ints.masked_fill(mask, Tensor(xp.asarray(math.nan)))
    assert ints.masked_fill(mask, 2 ** 31 - 1).numpy().tolist() == [2 ** 31 - 1, 0, 2 ** 31 - 1]


def test_bad_dtypes_and_empties_are_named(xp):
    b = Tensor(xp.asarray([True, False]))
    for op in ("round", "floor", "ceil"):
        with pytest.raises(TypeError, match=f"{op}: a bool tensor has nothing to round"):
            getattr(minifcn, op)(b)
    with pytest.raises(TypeError, match="round: decimals=1 needs a floating-point tensor, got int64"):
        Tensor(xp.arange(3)).round(decimals=1)
    for op in ("argmin", "argmax"):
        with pytest.raises(TypeError, match=f"{op}: expected numbers, got a bool tensor"):
            getattr(b, op)()
    e = Tensor(xp.zeros((0, 3)))
    with pytest.raises(IndexError, match=r"argmin: an empty tensor of shape \(0, 3\) has no extreme"):
        e.argmin()
    with pytest.raises(IndexError, match="argmax: dimension 0 has size 0; expected a non-empty one"):
        minifcn.argmax(e, 0)


def test_a_host_value_goes_to_the_input_s_device_and_a_mask_elsewhere_is_refused(gpu):
    t = Tensor(gpu.zeros((2, 3)), requires_grad=True)
    v = Tensor(np.float64(4.0), requires_grad=True)   # on the host, as PyTorch takes a CPU scalar
    y = t.masked_fill(gpu.asarray([True, False, True]), v)
    assert y.device == "cuda" and y.numpy().tolist() == [[4.0, 0.0, 4.0]] * 2
    y.sum().backward()
    assert v.grad.item() == 4.0 and isinstance(v.grad, np.ndarray)
    with pytest.raises(ValueError, match="MaskedFill: all inputs must be on one device"):
        t.masked_fill(np.array([True, False, True]), 1.0)


# --------------------------------------------------------------------- a reviewer's findings
@pytest.mark.parametrize("dtype", ["int32", "int16", "int8", "uint8", "float32"])
@pytest.mark.parametrize("op", ["cumsum", "prod"])
def test_dtype_is_the_result_s_dtype_as_pytorch(op, dtype):
    """NumPy's cumsum and prod widen int8 to int64: dtype=int8 came back int64, and prod of
    1..6 as 720 where PyTorch's int8 wraps to -48."""
    torch = pytest.importorskip("torch")
    a = np.arange(1, 7).reshape(2, 3)
    args = {"cumsum": (1,), "prod": ()}[op]
    ours = getattr(minifcn, op)(Tensor(a), *args, dtype=np.dtype(dtype))
    theirs = getattr(torch, op)(torch.from_numpy(a), *args, dtype=getattr(torch, dtype))
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_prod_as_bool_is_all_as_pytorch():
    torch = pytest.importorskip("torch")
    a = np.arange(1, 7).reshape(2, 3)
    for mask in (a > 2, a > 0):
        ours = minifcn.prod(Tensor(mask), dtype=np.bool_)
        assert ours.dtype == np.bool_
        assert ours.item() == torch.prod(torch.from_numpy(mask), dtype=torch.bool).item()


def test_flip_method_takes_dims_by_keyword_as_pytorch():
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(2, 3, 4)
    t, tt = Tensor(a), torch.from_numpy(a)
    for dims in ((0,), [0, 2], (-1,)):
        np.testing.assert_array_equal(t.flip(dims=dims).numpy(), tt.flip(dims=dims).numpy())
    np.testing.assert_array_equal(t.flip(0, 2).numpy(), tt.flip(0, 2).numpy())
    with pytest.raises(TypeError, match="not both"):
        t.flip(0, dims=(1,))


def test_round_of_float16_does_not_overflow_as_pytorch():
    """x * 10^d in float16 overflowed past 65504: 1234.5678 to 2 places gave inf (5: NaN)."""
    torch = pytest.importorskip("torch")
    h = np.array([1234.5678, 3.14159, -0.125], np.float16)
    for d in (1, 2, 5, -1):
        ours = minifcn.round(Tensor(h), decimals=d)
        assert ours.dtype == np.float16
        np.testing.assert_array_equal(ours.numpy(), torch.round(torch.from_numpy(h), decimals=d).numpy())


def test_logsumexp_across_the_whole_range_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = minifcn.logsumexp(Tensor(np.array([1e308, -1e308])), 0)
    assert y.item() == 1e308
