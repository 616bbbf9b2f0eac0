"""Division, remainders, powers, reciprocal, log and sqrt at their edges (0, negatives): the IEEE
inf and NaN, with no NumPy warning, in the forward and the backward, as PyTorch's; an integer
zero divisor refused, as PyTorch's."""
import operator
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


# --------------------------------------------------------------------- int / int: float32
INTS = np.array([7, -7, 0, 16777217])   # 16777217: float32 holds it as 16777216, in both

# each: (name, f(a, b) for a an int64 tensor, b another; torch or minifcn alike, a Tensor or an array)
TRUE_DIVISIONS = [
    ("int / int", lambda t, a: t(a) / t(a * 0 + 3)),
    ("int / bool", lambda t, a: t(a) / t(a != 0)),
    ("bool / int", lambda t, a: t(a > 0) / t(a * 0 + 3)),
    ("bool / bool", lambda t, a: t(a > 0) / t(a != 0)),
    ("int / python int", lambda t, a: t(a) / 3),
    ("python int / int", lambda t, a: 3 / t(a * 0 + 2)),
    ("int / python bool", lambda t, a: t(a) / True),
    ("int / 0-d int", lambda t, a: t(a) / t(np.array(3))),
    ("int8 / int8", lambda t, a: t(a.astype(np.int8)) / t(np.full(a.shape, 3, np.int8))),
    ("uint8 / int", lambda t, a: t(np.abs(a).astype(np.uint8)) / 3),
    ("int.div(int)", lambda t, a: t(a).div(t(a * 0 + 3))),
    ("int.true_divide(int)", lambda t, a: t(a).true_divide(3)),
    # a float on either side keeps its dtype: float64 stays float64
    ("float64 / int", lambda t, a: t(a.astype(np.float64)) / t(a * 0 + 3)),
    ("int / float64", lambda t, a: t(a) / t(np.full(a.shape, 3.0))),
    ("float64 / python int", lambda t, a: t(a.astype(np.float64)) / 3),
]


@pytest.mark.parametrize("name,f", TRUE_DIVISIONS, ids=[name for name, _ in TRUE_DIVISIONS])
def test_true_division_of_integers_is_float32_as_pytorchs(xp, name, f):
    """``/`` of two integers had given NumPy's float64; PyTorch's (and div's here) is its
    default dtype, float32, with the values rounded to it (16777217 / 1 is 16777216)."""
    torch = pytest.importorskip("torch")
    want = f(torch.from_numpy, INTS)
    got = _quietly(lambda: f(lambda v: Tensor(xp.asarray(v)), INTS))
    assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(to_np(got), want.numpy())


def test_the_default_dtype_is_float32():
    torch = pytest.importorskip("torch")
    assert torch.get_default_dtype() == torch.float32   # what the rule above leans on
    assert (Tensor(np.array([1])) / 2).dtype == minifcn.tensor([1.0]).dtype == np.float32


def test_true_division_of_integers_keeps_its_gradient_path(xp):
    """A float tensor divided by an integer one: the float's gradient (the integer has none)."""
    torch = pytest.importorskip("torch")
    x = Tensor(xp.asarray(np.array([1.0, -2.0, 3.0], np.float32)), requires_grad=True)
    xt = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    i = np.array([2, 4, -8])
    (x / Tensor(xp.asarray(i))).sum().backward()
    (xt / torch.from_numpy(i)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(to_np(x.grad), xt.grad.numpy())


# --------------------------------------------------------------------- //= and %= in place
def _in_place(t, op, other):
    if op == "//":
        t //= other
    else:
        t %= other
    return t


IN_PLACE = [   # (what, dtype of the tensor, its values, the other operand: a number or an array)
    ("floats by a number", np.float32, [7.0, -7.0, 0.5, -0.0], 2),
    ("floats by a negative float", np.float64, [7.0, -7.0, 0.5, 3.0], -2.5),
    ("floats by 0", np.float32, [7.0, -7.0, 0.0, -0.0], 0),
    ("floats at inf", np.float32, [-4.0, 1.0, np.inf, -1.0, 5.0],
     np.array([2.0, np.inf, 2.0, np.inf, -0.0], np.float32)),
    ("float32 by float64 values", np.float32, [7.0, -7.0], np.array([2.0, 3.0])),
    ("ints by a number", np.int64, [7, -7, 0, 6], 2),
    ("ints by negative ints", np.int64, [7, -7, 0, 6], np.array([-2, -2, -3, 4])),
    ("int32 by int64 values", np.int32, [7, -7], np.array([2, 3])),
    ("ints by bools", np.int64, [3, 4], np.array([True, True])),
    ("uint8 by a number", np.uint8, [7, 200], 3),
]


@pytest.mark.parametrize("op", ["//", "%"])
@pytest.mark.parametrize("what,dtype,values,other", IN_PLACE, ids=[c[0] for c in IN_PLACE])
def test_floor_divide_and_remainder_in_place_as_pytorchs(xp, op, what, dtype, values, other):
    """``t //= b`` and ``t %= b`` had made a new Tensor (NumPy's values, a warning at 0) and
    rebound the name; now they change ``t`` itself, with floor_divide's and remainder's
    values (PyTorch's), in ``t``'s dtype, with no NumPy warning."""
    torch = pytest.importorskip("torch")
    a = np.array(values, dtype=dtype)
    array = isinstance(other, np.ndarray)
    theirs = _in_place(torch.from_numpy(a.copy()), op, torch.from_numpy(other) if array else other)
    t = Tensor(xp.asarray(a))
    before = t.data
    mine = _quietly(lambda: _in_place(t, op, xp.asarray(other) if array else other))
    assert mine is t and t.data is before   # the same array, changed in place
    assert t.dtype == dtype
    np.testing.assert_array_equal(to_np(t), theirs.numpy())


@pytest.mark.parametrize("op", ["//", "%"])
def test_in_place_on_a_view_changes_its_base(xp, op):
    torch = pytest.importorskip("torch")
    a = np.array([[7.0, 8.0], [-9.0, 10.0]])
    t, tt = Tensor(xp.asarray(a.copy())), torch.from_numpy(a.copy())
    _in_place(t[1, 0], op, 4)
    _in_place(tt[1, 0], op, 4)
    np.testing.assert_array_equal(to_np(t), tt.numpy())
    assert to_np(t)[1, 0] != a[1, 0]


@pytest.mark.parametrize("op,name", [("//", "div"), ("%", "remainder")])
def test_in_place_refusals_as_pytorchs(xp, op, name):
    """What PyTorch refuses in place, refused here with the value and what was expected: an
    integer zero divisor, a float result for an integer tensor, a result broadcast past the
    tensor's shape, a leaf that requires grad (allowed under no_grad, as there)."""
    torch = pytest.importorskip("torch")
    ints = np.array([7, -7])
    cases = [   # (ours, theirs, error, message)
        (lambda: _in_place(Tensor(xp.asarray(ints)), op, 0), lambda: _in_place(torch.from_numpy(ints.copy()), op, 0),
         ZeroDivisionError, f"{name}: integer division by zero (a 0 in the divisor, dtype int64)"),
        (lambda: _in_place(Tensor(xp.asarray(ints)), op, 2.5),
         lambda: _in_place(torch.from_numpy(ints.copy()), op, 2.5),
         TypeError, f"{op}=: the result's dtype float32 cannot be written into this int64 tensor"),
        (lambda: _in_place(Tensor(xp.asarray(np.ones(2))), op, xp.ones((3, 2))),
         lambda: _in_place(torch.ones(2, dtype=torch.float64), op, torch.ones(3, 2, dtype=torch.float64)),
         ValueError, f"{op}=: the result's shape (3, 2) (broadcast) is not this tensor's (2,)"),
        (lambda: _in_place(Tensor(xp.asarray(np.ones(2)), requires_grad=True), op, 2),
         lambda: _in_place(torch.ones(2, requires_grad=True), op, 2),
         RuntimeError, f"{op}= with a tensor that requires grad is not recorded in the graph here"),
    ]
    for ours, theirs, error, message in cases:
        with pytest.raises(RuntimeError):
            theirs()
        with pytest.raises(error, match=re.escape(message)):
            ours()
    x, xt = Tensor(xp.asarray(np.array([7.0, -7.0])), requires_grad=True), torch.tensor([7.0, -7.0], requires_grad=True)
    with minifcn.no_grad():
        _in_place(x, op, 2)
    with torch.no_grad():
        _in_place(xt, op, 2)
    np.testing.assert_array_equal(to_np(x), xt.detach().numpy())
    assert x.requires_grad and x.grad is None


# --------------------------------------------------------------------- operators with numbers
# A bool tensor with a number had cast the number to bool (mask / 3 was mask, 3 / mask 1,
# mask * 3 stayed bool); an int8 tensor over 300 raised. Each operator, on either side, against
# PyTorch: its values and dtype, or a refusal where PyTorch refuses. (NumPy's bool scalar is
# left out: PyTorch reads np.True_ as a float, this library as a bool.)
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "//": operator.floordiv, "%": operator.mod, "**": operator.pow}
OPERAND_TENSORS = {"bool": np.array([True, False, True]), "int8": np.array([7, -7, 0], np.int8),
                   "uint8": np.array([7, 200, 0], np.uint8)}
NUMBERS = [3, -2, 300, 2.5, -0.5, True, np.int8(3), np.int64(300), np.float64(2.5), np.float32(-0.5)]


def _differs_on_purpose(tensor_dtype, number, op):
    """README's differences from PyTorch in the operators, else None: an integer tensor with
    a float number keeps NumPy's dtype in + - * / (float64 for a Python float); an integer
    number out of an integer tensor's range is refused in + - * (PyTorch's wraps it)."""
    if tensor_dtype.kind not in "iu" or isinstance(number, (bool, np.bool_)):
        return None
    if isinstance(number, (float, np.floating)) and op in "+-*/":
        return "numpy"
    info = np.iinfo(tensor_dtype)
    if op in ("+", "-", "*") and not info.min <= int(number) <= info.max:
        return "refused"
    return None


@pytest.mark.parametrize("side", ["tensor op number", "number op tensor"])
@pytest.mark.parametrize("op", list(OPERATORS))
@pytest.mark.parametrize("kind", list(OPERAND_TENSORS))
def test_operators_with_numbers_give_pytorchs_values_and_dtypes(xp, kind, op, side):
    torch = pytest.importorskip("torch")
    a, f = OPERAND_TENSORS[kind], OPERATORS[op]
    for number in NUMBERS:
        def apply(t):
            return f(t, number) if side == "tensor op number" else f(number, t)
        try:
            want = apply(torch.from_numpy(a.copy()))
        except RuntimeError:
            want = None
        differs = _differs_on_purpose(a.dtype, number, op)
        what = f"{kind} {side.replace('op', op).replace('number', repr(number))}"
        if want is None or differs == "refused":
            with pytest.raises((TypeError, ValueError, OverflowError, ZeroDivisionError)):
                _quietly(lambda: apply(Tensor(xp.asarray(a))))
            continue
        got = _quietly(lambda: apply(Tensor(xp.asarray(a))))
        if differs == "numpy":   # NumPy's: the same operation on the array
            with np.errstate(divide="ignore"):
                expected = apply(a)
            assert got.dtype == expected.dtype, what
            np.testing.assert_array_equal(to_np(got), expected, err_msg=what)
            continue
        assert str(got.dtype) == str(want.dtype).replace("torch.", ""), what
        if got.dtype.kind == "f":
            # one float32 ulp: PyTorch's number / t is t.reciprocal() * number, and its
            # uint8 ** 2.5 rounds its pow differently (3 / 7: 0.42857146 there, 0.42857143 here)
            np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1.2e-7, atol=0, err_msg=what)
        else:
            np.testing.assert_array_equal(to_np(got), want.numpy(), err_msg=what)


PAIRS = [("b / 3", lambda t: t / 3, lambda t: t.div(3)),
         ("3 / b", lambda t: 3 / t, lambda t: minifcn.div(3, t)),
         ("b * 3", lambda t: t * 3, lambda t: t.mul(3)),
         ("b + 3", lambda t: t + 3, lambda t: t.add(3)),
         ("b * 2.5", lambda t: t * 2.5, lambda t: t.mul(2.5)),
         ("b / 2.5", lambda t: t / 2.5, lambda t: t.div(2.5)),
         ("int8 / 300", lambda t: t.astype(np.int8) / 300, lambda t: t.astype(np.int8).div(300))]


@pytest.mark.parametrize("name,operator_form,method_form", PAIRS, ids=[p[0] for p in PAIRS])
def test_the_operators_give_what_the_methods_give(xp, name, operator_form, method_form):
    """For a bool tensor (and an int8 one over 300) the operators follow the rule of add, mul
    and div (PyTorch's promotion), which they had not: b / 3 was [1, 0]."""
    b = Tensor(xp.asarray(np.array([True, False])))
    got, want = operator_form(b), method_form(b)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(to_np(got), to_np(want))


# --------------------------------------------------------------------- past float32's range
BEYOND = [   # (what, f(t) for t a float32 tensor, torch or minifcn alike)
    ("t + 1e300", lambda t: t + 1e300),
    ("1e300 + t", lambda t: 1e300 + t),
    ("t * 1e39", lambda t: t * 1e39),
    ("t / 1e300", lambda t: t / 1e300),
    ("1e300 / t", lambda t: 1e300 / t),
    ("t - -1e300", lambda t: t - -1e300),
    ("np.float64(1e300) + t", lambda t: np.float64(1e300) + t),
    ("t * 0-d float64 array", lambda t: t * (torch_0d(1e300) if type(t).__module__.startswith("torch")
                                              else backend_0d(t, 1e300))),
    ("t.add(1e300)", lambda t: t.add(1e300)),
]


def torch_0d(v):
    import torch
    return torch.tensor(v, dtype=torch.float64)   # a NumPy array would take over torch's *


def backend_0d(t, v):
    """A 0-d float64 array on ``t``'s device."""
    from minifcn.backend import get_array_module
    return get_array_module(t.data).asarray(v)


@pytest.mark.parametrize("what,f", BEYOND, ids=[b[0] for b in BEYOND])
def test_a_float_past_float32s_range_is_inf_without_a_warning(xp, what, f):
    """``asarray(1e300, dtype=float32)`` had warned "overflow encountered in cast"; PyTorch's
    (and add's here) is inf, silently. The gradient too."""
    torch = pytest.importorskip("torch")
    a = np.array([1.0, -2.0, 0.5], np.float32)
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = _quietly(lambda: f(x)), f(xt)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(to_np(y), yt.detach().numpy())
    _quietly(lambda: y.sum().backward())
    yt.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), xt.grad.numpy())


CASTS = [   # (what, f(x) for x float32 (requires grad) whose result is backed by a float64 seed)
    ("float32 * float64 tensor of 1.79e308", lambda x, t: x * t(np.full(3, 1.79e308))),
    ("float64 1e300: sum(dtype=float32)", lambda x, t: (x.double() * 1e300).sum(dtype=t.float32)),
    ("float64 1e300: .float()", lambda x, t: (x.double() * 1e300).float()),
]


@pytest.mark.parametrize("what,f", CASTS, ids=[c[0] for c in CASTS])
def test_casts_past_float32s_range_are_inf_without_a_warning(xp, what, f):
    """A gradient cast back to its input's dtype (float64 into float32), ``sum(dtype=)`` and
    ``.float()`` had warned at 1e300; PyTorch's is inf, silently."""
    torch = pytest.importorskip("torch")
    a = np.array([1.0, -2.0, 0.5], np.float32)
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch.tensor(a, requires_grad=True)

    class Ours:   # the names f uses, for minifcn
        float32 = np.float32

        def __call__(self, v):
            return Tensor(xp.asarray(v))

    class Theirs:
        float32 = torch.float32

        def __call__(self, v):
            return torch.from_numpy(v)

    y, yt = _quietly(lambda: f(x, Ours())), f(xt, Theirs())
    assert str(y.dtype) == str(yt.dtype).replace("torch.", "")
    np.testing.assert_array_equal(to_np(y), yt.detach().numpy())
    assert not np.isfinite(to_np(y)).all()   # the edge was met
    g = np.ones(y.shape)
    _quietly(lambda: y.backward(xp.asarray(g.astype(y.dtype))))
    yt.backward(torch.from_numpy(g.astype(np.dtype(str(yt.dtype).replace("torch.", "")))))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(to_np(x.grad), xt.grad.numpy())


def test_a_float64_seed_past_float32s_range_is_inf_without_a_warning(xp):
    torch = pytest.importorskip("torch")
    x, xt = Tensor(xp.ones(2, np.float32), requires_grad=True), torch.ones(2, requires_grad=True)
    seed = np.array([1e300, -1.0])
    _quietly(lambda: (x * 1.0).backward(xp.asarray(seed)))
    (xt * 1.0).backward(torch.from_numpy(seed).float())
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(to_np(x.grad), xt.grad.numpy())


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.bool_])
@pytest.mark.parametrize("how", ["/=", "div_"])
def test_true_division_in_place_of_integers_refused_with_our_message(xp, dtype, how):
    """``t /= 2`` on an integer tensor had raised NumPy's raw casting error; PyTorch refuses
    it too ("result type Float can't be cast to the desired output type Long")."""
    torch = pytest.importorskip("torch")
    a = np.array([4, 6]).astype(dtype)

    def divide(t):
        if how == "/=":
            t /= 2
        else:
            t.div_(2)
    with pytest.raises(RuntimeError, match="can't be cast"):
        divide(torch.from_numpy(a.copy()))
    t = Tensor(xp.asarray(a))
    with pytest.raises(TypeError, match=re.escape(f"{how}: the result of a true division (a float) "
                                                  f"cannot be written into this {np.dtype(dtype)} tensor")):
        divide(t)
    np.testing.assert_array_equal(to_np(t), a)   # left as it was
    f = Tensor(xp.asarray(a.astype(np.float32)))
    divide(f)
    np.testing.assert_array_equal(to_np(f), a.astype(np.float32) / 2)
