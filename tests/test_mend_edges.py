"""Elementwise operators and functions at the edges of the floats: inf - inf, inf * 0, an
overflow to inf (``exp(1000)``, ``big + big``, a sum past the largest float), powers at 0 and
inf, 0 * inf in a backward. PyTorch gives the IEEE inf and NaN silently; so do these, with no
NumPy RuntimeWarning (each is run with warnings as errors), forward and backward, and their
values and gradients are PyTorch's."""
import re
import warnings

import numpy as np
import pytest

from minifcn import Tensor
from oracle import to_np, torch_tensor


def _edges(dtype):
    big = np.finfo(dtype).max   # big + big, big * 2: an overflow to inf
    return np.array([0.0, -0.0, 1.0, -1.0, 2.5, big, -big, np.inf, -np.inf, np.nan, 1000.0, -1000.0, 100.0],
                    dtype=dtype)


def _upstream(shape, dtype):
    """A backward seed with 0 and inf among its values: 0 * inf and inf - inf meet there."""
    return np.resize(np.array([1.5, 0.0, -2.0, np.inf, 0.5], dtype=dtype), shape)


def _quietly(f):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a NumPy RuntimeWarning fails the test
        return f()


# each: (name, f(x) for x a Tensor of the edges, torch or minifcn alike)
ONE = [
    ("x + x", lambda x: x + x),
    ("x - x", lambda x: x - x),
    ("x * x", lambda x: x * x),
    ("x * 0", lambda x: x * 0.0),
    ("0 * x", lambda x: 0.0 * x),
    ("x * inf", lambda x: x * float("inf")),
    ("x + inf", lambda x: x + float("inf")),
    ("inf - x", lambda x: float("inf") - x),
    ("x - inf", lambda x: x - float("inf")),
    ("-x", lambda x: -x),
    ("x.add(x, alpha=2)", lambda x: x.add(x, alpha=2)),
    ("x.mul(x)", lambda x: x.mul(x)),
    ("x.sub(x)", lambda x: x.sub(x)),
    ("exp", lambda x: x.exp()),
    ("sum", lambda x: x.sum()),
    ("sum of x * x", lambda x: (x * x).sum()),
    ("mean", lambda x: x.mean()),
    ("x ** 2", lambda x: x ** 2),
    ("x ** 3", lambda x: x ** 3),
    ("x ** 0", lambda x: x ** 0),
    ("x ** 1.5", lambda x: x ** 1.5),
    ("x ** -3", lambda x: x ** -3),
    ("2 ** x", lambda x: 2.0 ** x),
    ("x ** x", lambda x: x ** x),
    ("square", lambda x: x.square()),
    ("sigmoid", lambda x: x.sigmoid()),
    ("tanh", lambda x: x.tanh()),
    ("abs", lambda x: x.abs()),
    ("sinh", lambda x: x.sinh()),
    ("cosh", lambda x: x.cosh()),
    ("expm1", lambda x: x.expm1()),
    ("exp2", lambda x: x.exp2()),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,f", ONE, ids=[name for name, _ in ONE])
def test_one_operand_at_the_edges_as_pytorchs_without_a_warning(xp, dtype, name, f):
    torch = pytest.importorskip("torch")
    e = _edges(dtype)
    x = Tensor(xp.asarray(e), requires_grad=True)
    xt = torch_tensor(torch, e, requires_grad=True)
    y = _quietly(lambda: f(x))
    yt = f(xt)
    g = _upstream(y.shape, dtype)
    _quietly(lambda: y.backward(xp.asarray(g)))
    yt.backward(torch.from_numpy(g))
    assert y.dtype == dtype
    # inf, -inf and NaN where PyTorch's are (assert_allclose asks that)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6, atol=0)
    np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=1e-6, atol=0)


def _pairs(dtype):
    """Two operands whose pairs meet every edge: inf with 0, inf and -inf, big with big (an
    overflow), NaN, signed zeros."""
    big, inf, nan = np.finfo(dtype).max, np.inf, np.nan
    a = np.array([inf, inf, -inf, 0.0, big, big, -big, nan, 1.0, -0.0, 0.0, 2.0, inf], dtype=dtype)
    b = np.array([0.0, inf, inf, inf, big, -big, big, 1.0, -0.0, 0.0, -inf, 3.0, -1.0], dtype=dtype)
    return a, b


TWO = [
    ("a + b", lambda a, b: a + b),
    ("a - b", lambda a, b: a - b),
    ("a * b", lambda a, b: a * b),
    ("a / b", lambda a, b: a / b),
    ("a ** b", lambda a, b: a ** b),
    ("a.add(b)", lambda a, b: a.add(b)),   # alpha: PyTorch fuses a + alpha * b (no overflow between)
    ("a.sub(b)", lambda a, b: a.sub(b)),
    ("a.mul(b)", lambda a, b: a.mul(b)),
    ("a * b + a", lambda a, b: a * b + a),   # a's two gradients summed in the backward
    ("(a - b).exp()", lambda a, b: (a - b).exp()),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,f", TWO, ids=[name for name, _ in TWO])
def test_two_operands_at_the_edges_as_pytorchs_without_a_warning(xp, dtype, name, f):
    torch = pytest.importorskip("torch")
    a, b = _pairs(dtype)
    ours = [Tensor(xp.asarray(v), requires_grad=True) for v in (a, b)]
    theirs = [torch_tensor(torch, v, requires_grad=True) for v in (a, b)]
    y = _quietly(lambda: f(*ours))
    yt = f(*theirs)
    g = _upstream(y.shape, dtype)
    _quietly(lambda: y.backward(xp.asarray(g)))
    yt.backward(torch.from_numpy(g))
    assert y.dtype == dtype
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6, atol=0)
    for mine, want in zip(ours, theirs):
        np.testing.assert_allclose(to_np(mine.grad), to_np(want.grad), rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("values", ["big, big", "inf, -inf", "big, big, -inf", "-big, -big, 1"])
@pytest.mark.parametrize("how", ["sum", "mean", "sum(dim=0)", "broadcast"])
def test_sums_overflowing_as_pytorchs_without_a_warning(xp, dtype, values, how):
    """A sum past the largest float is inf, inf + -inf NaN, in a sum and in the backward of a
    broadcast (the gradients of the broadcast operand summed back)."""
    torch = pytest.importorskip("torch")
    big = np.finfo(dtype).max
    v = np.array([eval(s, {"big": big, "inf": np.inf}) for s in values.split(", ")], dtype=dtype)
    if how == "broadcast":   # x (1,) + zeros (k,): x's gradient sums the seed, v, back
        x = Tensor(xp.ones(1, dtype), requires_grad=True)
        xt = torch_tensor(torch, np.ones(1, dtype), requires_grad=True)
        y = _quietly(lambda: x + Tensor(xp.zeros(v.shape, dtype)))
        yt = xt + torch.zeros(v.shape, dtype=xt.dtype)
        _quietly(lambda: y.backward(xp.asarray(v)))
        yt.backward(torch.from_numpy(v))
        np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=1e-6, atol=0)
        assert not np.isfinite(to_np(x.grad)).all()   # the edge was met
        return
    f = {"sum": lambda t: t.sum(), "mean": lambda t: t.mean(), "sum(dim=0)": lambda t: t.sum(dim=0)}[how]
    x, xt = Tensor(xp.asarray(v), requires_grad=True), torch_tensor(torch, v, requires_grad=True)
    y, yt = _quietly(lambda: f(x)), f(xt)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6, atol=0)
    assert not np.isfinite(to_np(y))
    _quietly(lambda: y.backward())
    yt.backward()
    np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_overflows_to_inf_and_its_gradient_meets_0_times_inf(xp, dtype):
    torch = pytest.importorskip("torch")
    v = np.array([1000.0, 100.0, -1000.0, 0.0], dtype=dtype)   # exp(100) overflows float32
    x, xt = Tensor(xp.asarray(v), requires_grad=True), torch_tensor(torch, v, requires_grad=True)
    y, yt = _quietly(lambda: x.exp()), xt.exp()
    g = np.array([0.0, 1.0, np.inf, 2.0], dtype=dtype)   # 0 * inf at 1000, inf * 0 at -1000
    _quietly(lambda: y.backward(xp.asarray(g)))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6, atol=0)
    np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=1e-6, atol=0)
    assert np.isnan(to_np(x.grad)[0]) and np.isinf(to_np(y)[0])


RUNS = [   # reductions and running ones, whose sums and products meet the edges
    ("cumsum", lambda t: t.cumsum(0)),
    ("cumprod", lambda t: t.cumprod(0)),
    ("prod", lambda t: t.prod()),
    ("norm", lambda t: t.norm()),
    ("norm(p=3)", lambda t: t.norm(p=3)),
]
LINES = ["inf, -inf, 1", "big, big, 2", "inf, 0, 2", "1e30, 1e30, 1", "-inf, -inf, 1", "0, 0, 1"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("values", LINES)
@pytest.mark.parametrize("name,f", RUNS, ids=[name for name, _ in RUNS])
def test_running_sums_products_and_norms_at_the_edges_without_a_warning(xp, dtype, values, name, f):
    """Their values are PyTorch's; so are their gradients, but prod's where a value is
    infinite or the product overflows: there ours is the product of the others (finite where
    they are: 1e30 * 1 for 1e30 in float64), PyTorch's ``result / x`` (inf / inf: NaN)."""
    torch = pytest.importorskip("torch")
    big = np.finfo(dtype).max
    with np.errstate(over="ignore"):   # 1e30 * 1e30 past float32: the edge asked for
        v = np.array([eval(s, {"big": big, "inf": np.inf}) for s in values.split(", ")], dtype=dtype)
    x, xt = Tensor(xp.asarray(v), requires_grad=True), torch_tensor(torch, v, requires_grad=True)
    y, yt = _quietly(lambda: f(x)), f(xt)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6, atol=0)
    g = np.ones(y.shape, dtype)
    _quietly(lambda: y.backward(xp.asarray(g)))
    yt.backward(torch.from_numpy(g))
    if name == "prod" and not np.isfinite(to_np(y)).all():
        with np.errstate(over="ignore", invalid="ignore"):
            others = [np.prod(np.delete(v, i)) for i in range(v.size)]   # a loop, as naive.py's
        np.testing.assert_allclose(to_np(x.grad), np.array(others, dtype), rtol=1e-6, atol=0)
        return
    np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=1e-6, atol=0)


# --------------------------------------------------------------------- extremes with an inf gradient
EXTREMES = [   # PyTorch's rules: max() and max(dim) put the gradient at the maxima only (exactly
    # 0 elsewhere); amax, and norm(inf) through it, multiply it by a 0/1 share (0 * inf: NaN)
    ("max()", lambda t: t.max()),
    ("min()", lambda t: t.min()),
    ("amax()", lambda t: t.amax()),
    ("amin(0)", lambda t: t.amin(0)),
    ("max(0)", lambda t: t.max(0)[0]),
    ("min(0)", lambda t: t.min(0)[0]),
    ("norm(inf)", lambda t: t.norm(p=float("inf"))),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [np.inf, -np.inf, 1.0, 0.0])
@pytest.mark.parametrize("name,f", EXTREMES, ids=[e[0] for e in EXTREMES])
def test_extremes_share_an_inf_gradient_as_pytorchs_without_a_warning(xp, dtype, seed, name, f):
    """``gy * share`` had warned at an inf ``gy`` and given max() NaN where PyTorch's is 0:
    [3, -3, 3, 1] (a tie, and non-maximal values) with gy = inf."""
    torch = pytest.importorskip("torch")
    v = np.array([3.0, -3.0, 3.0, 1.0], dtype)
    x, xt = Tensor(xp.asarray(v), requires_grad=True), torch_tensor(torch, v, requires_grad=True)
    y, yt = _quietly(lambda: f(x)), f(xt)
    g = np.full(y.shape, seed, dtype)
    _quietly(lambda: y.backward(xp.asarray(g)))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    np.testing.assert_array_equal(to_np(x.grad), to_np(xt.grad))   # NaN where PyTorch's is


# each: (x, upstream gradient) for a cumprod along the line, where PyTorch's backward masks
CUMPROD_LINES = [
    ([0.0, 0.0, 0.0], [1.0, np.inf, 0.5]),              # an inf past the second zero
    ([2.0, 0.0, 3.0, 0.0, 5.0], [1.0, 2.0, np.inf, 4.0, 5.0]),   # an inf past the first zero
    ([0.0, np.inf, 0.0], [1.0, 1.0, 1.0]),               # inf between two zeros: NaN there
    ([1.0, 0.0, np.inf, 2.0], [1.0, 1.0, 1.0, np.inf]),
    ([np.inf, 0.0, 2.0], [1.0, 1.0, 1.0]),
    ([3.0, 0.0, 2.0, 0.0], [1.0, -1.0, 2.0, -np.inf]),
    ([0.0, np.nan, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("line", range(len(CUMPROD_LINES)))
def test_cumprod_gradient_at_zeros_with_infinities_as_pytorchs(xp, dtype, line):
    """[0, 0, 0] with gy = [1, inf, .5] had given [nan, 0, 0] (inf times the product 0 past
    the second zero), PyTorch's [1, 0, 0]. In rows of a 2-d tensor too (each line its own)."""
    torch = pytest.importorskip("torch")
    v, g = (np.array(a, dtype) for a in CUMPROD_LINES[line])
    v, g = np.stack([v, v[::-1]]), np.stack([g, g[::-1]])   # two lines, the zeros at either end
    x, xt = Tensor(xp.asarray(v), requires_grad=True), torch_tensor(torch, v, requires_grad=True)
    y, yt = _quietly(lambda: x.cumprod(1)), xt.cumprod(1)
    _quietly(lambda: y.backward(xp.asarray(g)))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    np.testing.assert_array_equal(to_np(x.grad), to_np(xt.grad))


@pytest.mark.parametrize("p", [3.0, 1.5, 0.5])
@pytest.mark.parametrize("values,seed", [([0.0, np.nan, 1.0], 1.0), ([0.0, 2.0, -1.0], np.inf),
                                         ([0.0, 0.0], 1.0), ([0.0, np.inf, 1.0], 1.0)])
def test_norm_gradient_at_a_zero_beside_nan_or_inf_as_pytorchs(xp, p, values, seed):
    """A zero value's gradient is 0 * the row's scale: NaN where that is NaN (a NaN in the row,
    an inf gy), as PyTorch's; it had been 0 always."""
    torch = pytest.importorskip("torch")
    v = np.array(values)
    x, xt = Tensor(xp.asarray(v), requires_grad=True), torch_tensor(torch, v, requires_grad=True)
    y, yt = _quietly(lambda: x.norm(p=p)), xt.norm(p=p)
    _quietly(lambda: y.backward(xp.asarray(np.array(seed))))
    yt.backward(torch.tensor(seed, dtype=torch.float64))
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    # 1e-15: PyTorch writes the p > 2 formula x |x|^(p-2), ours sign(x) |x|^(p-1)
    np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=1e-15, atol=0)


@pytest.mark.parametrize("shape,dim", [((0,), None), ((2, 0), 1), ((0, 3), 0), ((0, 3), 1),
                                       ((2, 0, 3), (1, 2))])
def test_mean_of_no_values_is_nan_as_pytorchs(xp, shape, dim):
    """It had raised ZeroDivisionError; PyTorch's is NaN, and the gradient (of no values, or
    through a NaN) its own."""
    torch = pytest.importorskip("torch")
    v = np.zeros(shape, np.float32)
    x, xt = Tensor(xp.asarray(v), requires_grad=True), torch_tensor(torch, v, requires_grad=True)
    y, yt = _quietly(lambda: x.mean(dim=dim)), (xt.mean() if dim is None else xt.mean(dim=dim))
    assert y.dtype == np.float32 and y.shape == tuple(yt.shape)
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    _quietly(lambda: y.sum().backward())
    yt.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), to_np(xt.grad))


@pytest.mark.parametrize("stride,message", [((2.0,), "got (2.0,)"), ((0,), "got (0,)"), ([2.5], "got [2.5]")])
def test_conv2d_names_a_one_tuple_stride_as_passed(stride, message):
    """``stride=(2.0,)`` had been named "(2.0, 2.0)", the pair made from it."""
    from minifcn.nn import functional as F
    x, w = Tensor(np.ones((1, 1, 4, 4), np.float32)), Tensor(np.ones((1, 1, 2, 2), np.float32))
    with pytest.raises((TypeError, ValueError), match="conv2d: stride must be .*" + re.escape(message)):
        F.conv2d(x, w, stride=stride)
