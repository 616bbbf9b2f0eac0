"""Division, remainders, powers, reciprocal, log and sqrt at their edges (0, negatives): the IEEE
inf and NaN, with no NumPy warning, in the forward and the backward, as PyTorch's; an integer
zero divisor refused, as PyTorch's."""
import re
import warnings

import numpy as np
import pytest

import minifcn
from minifcn import Tensor
from oracle import to_np, torch_tensor

EDGES = np.array([0.0, -0.0, 1.0, -1.0, 2.5, np.inf, -np.inf])

# each: (name, f(x) for x a Tensor of EDGES, torch or minifcn alike)
OPS = [
    ("x / 0", lambda x: x / 0),
    ("x / 0.0", lambda x: x / 0.0),
    ("x / x", lambda x: x / x),
    ("1 / x", lambda x: 1 / x),
    ("x / zeros", lambda x: x / (x.detach() > 1e9)),
    ("x // 0", lambda x: x // 0),
    ("x // x", lambda x: x // x),
    ("1 // x", lambda x: 1 // x),
    ("x % 0", lambda x: x % 0),
    ("x % x", lambda x: x % x),
    ("1 % x", lambda x: 1 % x),
    ("x ** -1", lambda x: x ** -1),
    ("x ** -2.5", lambda x: x ** -2.5),
    ("x ** 0.5", lambda x: x ** 0.5),
    ("0 ** x", lambda x: 0.0 ** x),
    ("x ** x", lambda x: x ** x),
    ("reciprocal", lambda x: x.reciprocal()),
    ("log", lambda x: x.log()),
    ("sqrt", lambda x: x.sqrt()),
    ("rsqrt", lambda x: x.rsqrt()),
    ("log2", lambda x: x.log2()),
    ("x.div(0)", lambda x: x.div(0)),
]


def _quietly(f):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a NumPy RuntimeWarning fails the test
        return f()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,f", OPS, ids=[name for name, _ in OPS])
def test_edges_give_pytorchs_values_and_gradients_without_a_warning(xp, dtype, name, f):
    torch = pytest.importorskip("torch")
    x = Tensor(xp.asarray(EDGES.astype(dtype)), requires_grad=True)
    xt = torch_tensor(torch, EDGES.astype(dtype), requires_grad=True)
    g = np.linspace(0.5, 2.0, EDGES.size).astype(dtype)
    y = _quietly(lambda: f(x))
    _quietly(lambda: y.backward(xp.asarray(g)))
    yt = f(xt)
    assert y.dtype == dtype
    # inf, -inf and NaN where PyTorch's are (assert_allclose asks that); the finite values
    # within a float32 ulp (log2 rounds differently in its libm)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=2e-7 if dtype == np.float32 else 1e-15, atol=0)
    if "//" in name:   # PyTorch has no derivative for floor_divide; ours is 0, as of a step function
        assert not to_np(x.grad).any()
        return
    if name == "1 % x":   # PyTorch has none for a number's remainder by a tensor: ours is quiet above
        return
    yt.backward(torch.from_numpy(g))
    # atol: x / x's two terms 1/x - x/x**2 cancel to 0 here and to 1e-16 in PyTorch's order
    np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,f", [("a / b", lambda a, b: a / b), ("b / a", lambda a, b: b / a),
                                    ("a // b", lambda a, b: a // b), ("a % b", lambda a, b: a % b),
                                    ("a ** b", lambda a, b: a ** b)])
def test_both_operands_gradients_at_zero_without_a_warning(xp, name, f):
    torch = pytest.importorskip("torch")
    a, b = np.array([0.0, 1.0, -2.0, 0.0]), np.array([0.0, 0.0, 0.0, 3.0])
    ours = [Tensor(xp.asarray(v), requires_grad=True) for v in (a, b)]
    theirs = [torch_tensor(torch, v, requires_grad=True) for v in (a, b)]
    y = _quietly(lambda: f(*ours))
    _quietly(lambda: y.sum().backward())
    yt = f(*theirs)
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    if "//" in name:   # PyTorch has no derivative for floor_divide; ours is 0, as of a step function
        assert not any(to_np(t.grad).any() for t in ours)
        return
    yt.sum().backward()
    for mine, want in zip(ours, theirs):
        np.testing.assert_array_equal(to_np(mine.grad), to_np(want.grad))


def test_integer_true_division_by_zero_is_inf_without_a_warning(xp):
    torch = pytest.importorskip("torch")
    i = np.array([1, 0, -3])
    for f in (lambda t: t / 0, lambda t: 2 / (t * 0), lambda t: t.div(0)):
        np.testing.assert_array_equal(to_np(_quietly(lambda: f(Tensor(xp.asarray(i))))), f(torch.from_numpy(i)).numpy())


@pytest.mark.parametrize("op,f", [("div", lambda t: t // 0), ("div", lambda t: 1 // t),
                                  ("remainder", lambda t: t % 0), ("remainder", lambda t: 1 % t),
                                  ("fmod", lambda t: t.fmod(0)), ("div", lambda t: t.div(0, rounding_mode="trunc"))])
def test_integer_division_by_zero_is_refused_as_pytorchs(xp, op, f):
    torch = pytest.importorskip("torch")
    i = np.array([1, 0, -3])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):   # PyTorch's: a RuntimeError naming it
        f(torch.from_numpy(i * 0))
    with pytest.raises(ZeroDivisionError, match=re.escape(f"{op}: integer division by zero (a 0 in the divisor, "
                                                          f"dtype int64)")):
        f(Tensor(xp.asarray(i * 0)))
