"""The elementwise math of minifcn/ops_math.py (``minifcn.log1p`` ... ``minifcn.addcdiv`` and the
Tensor methods of the same names), checked four ways:

* against the loop versions in ``naive`` (``naive.elementwise`` of ``naive.MATH``'s scalar
  definitions), float64, inside each domain, with two operands broadcast;
* by float64 finite differences away from the edges (``gradcheck``), broadcast operands too, so
  each gradient is summed back to its operand's shape;
* by the adjoint identity ``<A x, y> = <x, A^T y>`` for the maps that are linear (``neg``,
  ``add`` / ``sub`` with ``alpha``, ``mul`` and ``addcmul`` / ``addcdiv`` in one operand, ``lerp``
  in start and end), with broadcasting;
* against PyTorch forward and backward in float64 and float32, at random values and at the
  edges (0, -0, +-1, +-inf, NaN, each domain's boundaries and beyond), integers and bools
  where PyTorch takes them (its result dtypes), and its errors where it refuses them.

Every test runs with warnings as errors: NumPy warns at the domain edges (log(0), 0 ** -1,
inf - inf) where PyTorch gives inf or NaN silently, and so must minifcn.
"""
import math

import numpy as np
import pytest

import minifcn
from minifcn import Tensor, naive
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor

pytestmark = pytest.mark.filterwarnings("error")

INF, NAN = math.inf, math.nan


# --------------------------------------------------------------------- one operand
# name: (low, high) of the random values inside the domain, away from its edges (a finite
# difference step of 1e-6 stays inside); the loop version is naive.MATH[name], PyTorch's is
# torch.<name>
UNARY = {
    "log1p": (-0.9, 5.0), "expm1": (-5.0, 5.0), "log2": (0.1, 5.0), "log10": (0.1, 5.0),
    "exp2": (-5.0, 5.0), "sin": (-5.0, 5.0), "cos": (-5.0, 5.0), "tan": (-1.4, 1.4),
    "asin": (-0.95, 0.95), "acos": (-0.95, 0.95), "atan": (-5.0, 5.0), "sinh": (-5.0, 5.0),
    "cosh": (-5.0, 5.0), "asinh": (-5.0, 5.0), "acosh": (1.1, 5.0), "atanh": (-0.95, 0.95),
    "rsqrt": (0.1, 5.0), "reciprocal": (0.2, 5.0), "erf": (-4.0, 4.0), "erfc": (-4.0, 8.0),
    "erfinv": (-0.99, 0.99), "logit": (0.05, 0.95), "neg": (-5.0, 5.0), "square": (-5.0, 5.0),
}
UNARY_NAMES = sorted(UNARY)
# every op meets each of these: zeros of both signs, the domains' ends (+-1, 0), points beyond
# them, tiny and huge values, the infinities and NaN
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.0, -2.0, 1 - 2.0 ** -24, -(1 - 2.0 ** -24),
         1e-30, -1e-30, 1e-300, 30.0, -30.0, 1e3, -1e3, INF, -INF, NAN]


def inside(rng, name, shape=(2, 3, 4)):
    low, high = UNARY[name]
    return rng.uniform(low, high, shape)


@pytest.mark.parametrize("name", UNARY_NAMES)
def test_unary_against_the_loop_version(xp, rng, name):
    a = inside(rng, name)
    y = getattr(minifcn, name)(Tensor(xp.asarray(a)))
    assert y.dtype == np.float64
    np.testing.assert_allclose(to_np(y), naive.elementwise(naive.MATH[name], a), rtol=1e-13, atol=1e-15,
                               err_msg=name)


@pytest.mark.parametrize("name", UNARY_NAMES)
def test_unary_gradcheck(xp, rng, name):
    assert gradcheck(getattr(minifcn, name), [xp.asarray(inside(rng, name))])


def _assert_as_torch(ours, theirs, dtype, what):
    """Value by value, NaN where PyTorch's is NaN, the same infinities, the same sign of zero.
    float64: both libraries round each elementary function to within a few ulp, so 1e-12
    relative. float32: a few float32 ulp each (6e-8), computed in another order, so 1e-5
    relative, and 1e-6 absolute for values near 0 that come out of a difference of rounded
    numbers (cos near pi/2, 1 - erf)."""
    a, b = to_np(ours), to_np(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape, a.dtype, b.dtype)
    if np.dtype(dtype) == np.float64:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=what)
    zeros = (a == 0) & (b == 0)
    np.testing.assert_array_equal(np.signbit(a[zeros]), np.signbit(b[zeros]), err_msg=f"{what}: sign of 0")


def _unary_values(rng, name, dtype):
    return np.concatenate([inside(rng, name, (26,)), EDGES]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY_NAMES)
def test_unary_against_pytorch_at_the_edges(xp, rng, name, dtype):
    torch = pytest.importorskip("torch")
    a = _unary_values(rng, name, dtype)
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch_tensor(torch, a, requires_grad=True)
    y, yt = getattr(minifcn, name)(x), getattr(torch, name)(xt)
    g = rng.standard_normal(a.shape).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    _assert_as_torch(y, yt, dtype, f"{name} forward")
    _assert_as_torch(x.grad, xt.grad, dtype, f"{name} gradient")


@pytest.mark.parametrize("name", UNARY_NAMES)
def test_unary_on_integers_and_bools_as_pytorch(name):
    """Integers and bools give float32 (neg and square keep integers, and square makes bools
    int64; neg refuses bools), as PyTorch's."""
    torch = pytest.importorskip("torch")
    for a in (np.array([-3, -1, 0, 1, 2, 7]), np.array([5, 0, 1], np.uint8), np.array([True, False])):
        try:
            want = getattr(torch, name)(torch.from_numpy(a))
        except RuntimeError:
            with pytest.raises(TypeError, match="bool"):
                getattr(minifcn, name)(Tensor(a))
            continue
        got = getattr(minifcn, name)(Tensor(a))
        assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (name, a.dtype, got.dtype, want.dtype)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-6, err_msg=name)


def test_erfinv_to_float64_rounding():
    """Within 5 ulp of the loop version's bisection on math.erf / math.erfc everywhere in
    (-1, 1), up to 2^-53 from the ends (where Giles's polynomial strays and Newton's steps bring
    it back), and of SciPy's erfinv where SciPy is accurate (1.8 strayed by 1e13 ulp near +-1)."""
    special = pytest.importorskip("scipy.special")
    from minifcn.ops_math import _erfinv
    ends = np.geomspace(2.0 ** -53, 0.5, 500)
    ends[0] = 2.0 ** -53   # NumPy 1.x's geomspace missed it by an ulp: 1 - it rounded to 1
    y = np.concatenate([np.linspace(-1, 1, 20001)[1:-1], 1 - ends, -1 + ends, np.geomspace(1e-300, 0.5, 300)])
    some = np.concatenate([y[::41], y[19999:]])   # the ends whole, the middle sampled
    ref = naive.elementwise(naive.MATH["erfinv"], some)
    assert (abs(_erfinv(some) - ref) / np.spacing(abs(ref))).max() <= 5
    import scipy
    if tuple(int(v) for v in scipy.__version__.split(".")[:2]) >= (1, 10):
        want = special.erfinv(y)
        assert (abs(_erfinv(y) - want) / np.spacing(abs(want))).max() <= 5
    y32 = y.astype(np.float32)
    # float32: a few float32 ulp (6e-8 each); atol: below 1e-38 the results are subnormal,
    # rounded to float32's spacing there, 1.4e-45
    np.testing.assert_allclose(_erfinv(y32), special.erfinv(y32.astype(np.float64)), rtol=1e-6, atol=1e-44)


def test_the_edges_by_their_definitions():
    """Values and gradients at the edges from the functions' definitions (not from PyTorch):
    the limits, inf where the slope is vertical, NaN outside the domain."""
    x = Tensor(np.array([-1.0, -2.0, 0.0]), requires_grad=True)
    y = minifcn.log1p(x)
    y.backward(np.ones(3))
    assert y.numpy()[0] == -INF and np.isnan(y.numpy()[1]) and x.grad[0] == INF and x.grad[2] == 1
    x = Tensor(np.array([1.0, -1.0, 0.0]), requires_grad=True)
    minifcn.asin(x).backward(np.ones(3))
    assert x.grad.tolist() == [INF, INF, 1.0]
    assert minifcn.rsqrt(Tensor(np.array([0.0, -0.0]))).numpy().tolist() == [INF, -INF]
    assert minifcn.erfinv(Tensor(np.array([1.0, -1.0, 1.5]))).numpy()[:2].tolist() == [INF, -INF]
    assert minifcn.erfc(Tensor(np.array([10.0]))).item() == pytest.approx(math.erfc(10.0), rel=1e-14)


def test_logit_with_and_without_eps_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    a = np.array([0.0, 1e-7, 0.01, 0.5, 0.99, 1.0, -0.5, 1.5, 1e-3, 1 - 1e-3, NAN])
    for eps in (None, 1e-3, 0.0, 0.4):
        x, xt = Tensor(xp.asarray(a), requires_grad=True), torch_tensor(torch, a, requires_grad=True)
        y, yt = minifcn.logit(x, eps=eps), torch.logit(xt, eps=eps)
        y.backward(xp.ones(a.shape))
        yt.backward(torch.ones(a.shape, dtype=torch.float64))
        _assert_as_torch(y, yt, np.float64, f"logit eps={eps}")
        _assert_as_torch(x.grad, xt.grad, np.float64, f"logit gradient eps={eps}")
    assert gradcheck(lambda t: minifcn.logit(t, eps=0.1), [xp.asarray(np.array([0.2, 0.5, 0.85]))])
    with pytest.raises(TypeError, match="eps must be a number"):
        minifcn.logit(Tensor(a), eps="0.1")


# --------------------------------------------------------------------- two operands
def _away_from_jumps(a, b):
    """Move ``a`` off the points where ``a / b`` is a whole number (where remainder, fmod and the
    rounded divisions jump): a finite difference step never crosses one."""
    frac = np.mod(a / b, 1.0)
    return np.where((frac < 1e-2) | (frac > 1 - 1e-2), a + 0.05 * abs(b), a)


def _random_pair(rng, name, shapes=((2, 3, 1), (1, 4))):
    a, b = rng.uniform(-3, 3, shapes[0]), rng.uniform(-3, 3, shapes[1])
    if name in ("xlogy", "pow"):
        (b if name == "xlogy" else a)[...] = rng.uniform(0.3, 3, (b if name == "xlogy" else a).shape)
    if name in ("remainder", "fmod", "div", "div_trunc", "div_floor", "floor_divide", "true_divide"):
        b = np.sign(b) * (0.5 + abs(b))
        a = _away_from_jumps(a, b)
    return a, b


# name: (ours, PyTorch's (given torch), the loop's scalar definition); each takes two operands
BINARY = {
    "atan2": (minifcn.atan2, lambda torch: torch.atan2, naive.MATH["atan2"]),
    "hypot": (minifcn.hypot, lambda torch: torch.hypot, naive.MATH["hypot"]),
    "logaddexp": (minifcn.logaddexp, lambda torch: torch.logaddexp, naive.MATH["logaddexp"]),
    "xlogy": (minifcn.xlogy, lambda torch: torch.xlogy, naive.MATH["xlogy"]),
    "pow": (minifcn.pow, lambda torch: torch.pow, naive.MATH["pow"]),
    "remainder": (minifcn.remainder, lambda torch: torch.remainder, naive.MATH["remainder"]),
    "fmod": (minifcn.fmod, lambda torch: torch.fmod, naive.MATH["fmod"]),
    "div": (minifcn.div, lambda torch: torch.div, naive.MATH["div"]),
    "true_divide": (minifcn.true_divide, lambda torch: torch.true_divide, naive.MATH["div"]),
    "div_trunc": (lambda a, b: minifcn.div(a, b, rounding_mode="trunc"),
                  lambda torch: lambda a, b: torch.div(a, b, rounding_mode="trunc"), naive.MATH["trunc_divide"]),
    "div_floor": (lambda a, b: minifcn.div(a, b, rounding_mode="floor"),
                  lambda torch: lambda a, b: torch.div(a, b, rounding_mode="floor"), naive.MATH["floor_divide"]),
    "floor_divide": (minifcn.floor_divide, lambda torch: torch.floor_divide, naive.MATH["floor_divide"]),
    "add_alpha": (lambda a, b: minifcn.add(a, b, alpha=-2.5), lambda torch: lambda a, b: torch.add(a, b, alpha=-2.5),
                  lambda a, b: naive.MATH["add"](a, b, alpha=-2.5)),
    "sub_alpha": (lambda a, b: minifcn.sub(a, b, alpha=0.5), lambda torch: lambda a, b: torch.sub(a, b, alpha=0.5),
                  lambda a, b: naive.MATH["sub"](a, b, alpha=0.5)),
    "mul": (minifcn.mul, lambda torch: torch.mul, naive.MATH["mul"]),
    "clamp_min": (minifcn.clamp_min, lambda torch: torch.clamp_min, naive.MATH["clamp_min"]),
    "clamp_max": (minifcn.clamp_max, lambda torch: torch.clamp_max, naive.MATH["clamp_max"]),
}
BINARY_NAMES = sorted(BINARY)


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_against_the_loop_version_broadcast(xp, rng, name):
    ours, _, loop = BINARY[name]
    a, b = _random_pair(rng, name)
    y = ours(Tensor(xp.asarray(a)), Tensor(xp.asarray(b)))
    assert y.shape == (2, 3, 4) and y.dtype == np.float64
    np.testing.assert_allclose(to_np(y), naive.elementwise(loop, a, b), rtol=1e-13, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_gradcheck_broadcast(xp, rng, name):
    """Both gradients, each summed back over the axes its operand was broadcast along; the
    rounded divisions' are 0 (they are flat between their jumps)."""
    a, b = _random_pair(rng, name)
    assert gradcheck(BINARY[name][0], [xp.asarray(a), xp.asarray(b)])


# the values each operand meets at the edges: every pair of them, flattened (100 pairs)
PAIR_EDGES = np.array([0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.5, INF, -INF, NAN])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_against_pytorch_at_the_edges(xp, rng, name, dtype):
    """Every pair of edge values (0 ** 0, 0 ** -1, atan2(0, 0), x % 0, inf - inf, ...), values and
    both gradients; then random broadcast operands."""
    torch = pytest.importorskip("torch")
    ours, theirs, _ = BINARY[name]
    a, b = (v.ravel().astype(dtype) for v in np.meshgrid(PAIR_EDGES, PAIR_EDGES))
    for a, b in [(a, b), tuple(v.astype(dtype) for v in _random_pair(rng, name))]:
        x, z = Tensor(xp.asarray(a), requires_grad=True), Tensor(xp.asarray(b), requires_grad=True)
        xt, zt = torch_tensor(torch, a, requires_grad=True), torch_tensor(torch, b, requires_grad=True)
        y, yt = ours(x, z), theirs(torch)(xt, zt)
        g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
        y.backward(xp.asarray(g))
        _assert_as_torch(y, yt, dtype, f"{name} forward")
        if name == "floor_divide":   # PyTorch's backward raises (no derivative); ours is div's, 0
            assert not to_np(x.grad).any() and not to_np(z.grad).any()
            continue
        yt.backward(torch.from_numpy(g))
        _assert_as_torch(x.grad, xt.grad, dtype, f"{name} gradient of input")
        _assert_as_torch(z.grad, zt.grad, dtype, f"{name} gradient of other")


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "xlogy", "pow", "remainder", "fmod",
                                  "div_floor", "add_alpha", "mul"])
def test_binary_with_a_number_keeps_float32(name):
    """A Python number beside a float32 tensor leaves it float32 (either side), as PyTorch's."""
    ours = BINARY[name][0]
    x = Tensor(np.array([0.5, 2.0], np.float32))
    assert ours(x, 1.5).dtype == np.float32 and ours(1.5, x).dtype == np.float32


# Operand pairs whose dtypes NumPy and PyTorch promote differently: PyTorch sorts the operands
# into dimensioned tensors, 0-d tensors and numbers, and a later group changes the dtype only
# where it is of a higher kind (float32 (3,) with a float64 0-d tensor stays float32, NumPy's
# float64); a float beside an integer takes the float's dtype (int64 with float32: float32).
# A NumPy array is a tensor of its shape (0-d too) for minifcn; a NumPy scalar a number.
PROMOTIONS = [
    ("float32 (3,), float64 0-d", np.array([0.5, 1.5, 2.5], np.float32), np.array(2.0)),
    ("float64 0-d, float32 (3,)", np.array(1.5), np.array([0.5, 1.5, 2.5], np.float32)),
    ("int32 (3,), int64 0-d", np.array([1, -2, 3], np.int32), np.array(2)),
    ("int32 (3,), float64 0-d", np.array([1, -2, 3], np.int32), np.array(2.5)),
    ("bool (3,), int8 0-d", np.array([True, False, True]), np.array(3, np.int8)),
    ("uint8 (3,), int8 (3,)", np.array([1, 2, 250], np.uint8), np.array([3, -2, 1], np.int8)),
    ("int64 (3,), float32 (3,)", np.array([1, -2, 3]), np.array([1.5, 2.5, -0.5], np.float32)),
    ("int64 0-d, float32 0-d", np.array(3), np.array(1.5, np.float32)),
    ("int32 (3,), numpy float64", np.array([1, -2, 3], np.int32), np.float64(2.5)),
    ("uint8 (3,), numpy int64", np.array([1, 2, 250], np.uint8), np.int64(3)),
    ("float64 0-d, numpy float32", np.array(1.5), np.float32(2.5)),
    ("int8 0-d, python float", np.array(3, np.int8), 0.5),
]
PROMOTED_OPS = ["add", "sub", "mul", "div", "pow", "xlogy", "atan2", "hypot", "logaddexp", "remainder",
                "fmod", "floor_divide", "clamp_min", "clamp_max"]


@pytest.mark.parametrize("as_array", [False, True], ids=["tensors", "an array"])
@pytest.mark.parametrize("name", PROMOTED_OPS)
def test_result_dtypes_as_pytorch(name, as_array):
    """Each pair through each two-operand function, the second operand a Tensor (or a number)
    or a NumPy array: PyTorch's dtype and values, or an error where PyTorch gives one."""
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(minifcn, name), getattr(torch, name)
    for what, a, b in PROMOTIONS:
        if as_array and (not isinstance(b, np.ndarray) or name.startswith("clamp")):
            continue   # clamp_min / clamp_max take a number or a Tensor bound, as PyTorch's
        b_ours = b if as_array or not isinstance(b, np.ndarray) else Tensor(b)
        b_torch = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
        try:
            want = theirs(torch.from_numpy(a), b_torch)
        except TypeError as e:
            if "must be Tensor" in str(e):   # atan2, hypot, logaddexp: no number in PyTorch's
                continue
            raise
        except RuntimeError:   # PyTorch's refusal (bool - x, hypot of integers)
            with pytest.raises((TypeError, ValueError, ZeroDivisionError)):
                ours(Tensor(a), b_ours)
            continue
        got = ours(Tensor(a), b_ours)
        assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (name, what, got.dtype, want.dtype)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-6, equal_nan=True, err_msg=f"{name} {what}")


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod", "div_trunc"])
def test_a_float_array_over_an_integer_zero_is_a_float_division(name):
    """The result's dtype decides whether a zero divisor is an integer one: a float array over
    an integer Tensor holding 0 gives inf and NaN, as PyTorch's; integers over it still raise."""
    torch = pytest.importorskip("torch")
    ours, theirs, _ = BINARY[name]
    a, b = np.array([1.5, -1.5, 0.0]), np.array([2, 0, 0])
    want = theirs(torch)(torch.from_numpy(a), torch.from_numpy(b))
    got = ours(a, Tensor(b))
    assert got.dtype == np.float64 and str(want.dtype) == "torch.float64"
    np.testing.assert_array_equal(to_np(got), want.numpy())
    with pytest.raises(ZeroDivisionError):
        ours(np.array([1, 2, 3]), Tensor(b))


def test_logit_gradient_and_huge_integral_powers_as_pytorch():
    """logit's gradient at a subnormal (gy / x(1 - x) overflows to inf) and beyond 1 (NaN) with
    no NumPy warning (this module runs with warnings as errors); a float32 base to an odd
    integral exponent float32 cannot hold keeps its sign, as PyTorch's (the exponent a double)."""
    torch = pytest.importorskip("torch")
    for a in (np.array([1e-320, 1e38, 0.5, 1 - 1e-16]), np.array([1e-45, 3e38, 0.5, 1e-38], np.float32)):
        x, xt = Tensor(a, requires_grad=True), torch_tensor(torch, a, requires_grad=True)
        minifcn.logit(x).sum().backward()
        torch.logit(xt).sum().backward()
        _assert_as_torch(x.grad, xt.grad, a.dtype, "logit gradient")
    a = np.array([-1.0, 1.0, -1.0 + 2 ** -23, 1.0 - 2 ** -24], np.float32)
    for e in (16777217, -16777217, 16777219.0, 2 ** 25 + 1):
        _assert_as_torch(Tensor(a) ** e, torch.from_numpy(a) ** e, np.float32, f"float32 ** {e}")
        _assert_as_torch(minifcn.pow(Tensor(a), e), torch.pow(torch.from_numpy(a), e), np.float32, f"pow {e}")


def test_numpy_integer_scalars_beside_integer_tensors_are_never_wrapped():
    """A NumPy integer as the Python int it holds: the operators (NumPy's dtypes, the tensor's
    kept) refuse one out of the tensor's range as they refuse a Python int, where it had wrapped
    (int8 + np.int64(300) added 44); in range it keeps the tensor's dtype."""
    x = Tensor(np.array([1, 2], np.int8))
    for op in (lambda a, n: a + n, lambda a, n: a * n, lambda a, n: n - a):
        with pytest.raises(OverflowError):
            op(x, 300)
        with pytest.raises(OverflowError):
            op(x, np.int64(300))
        y = op(x, np.int64(3))
        assert y.dtype == np.int8 and y.tolist() == op(np.array([1, 2], np.int8), 3).tolist()


# --------------------------------------------------------------------- three operands
def _three(rng, name):
    x, t1, t2 = rng.uniform(-2, 2, (2, 1, 3)), rng.uniform(-2, 2, (4, 1)), rng.uniform(-2, 2, (1, 3))
    if name == "addcdiv":
        t2 = np.sign(t2) * (0.5 + abs(t2))
    if name == "lerp":
        t2 = rng.uniform(-1, 2, (1, 3))   # the weight: both of lerp's formulas (below and above 0.5)
    return x, t1, t2


TERNARY = {
    "lerp": (minifcn.lerp, lambda torch: torch.lerp, naive.MATH["lerp"]),
    "addcmul": (lambda x, a, b: minifcn.addcmul(x, a, b, value=-1.5),
                lambda torch: lambda x, a, b: torch.addcmul(x, a, b, value=-1.5),
                lambda x, a, b: naive.MATH["addcmul"](x, a, b, value=-1.5)),
    "addcdiv": (lambda x, a, b: minifcn.addcdiv(x, a, b, value=0.25),
                lambda torch: lambda x, a, b: torch.addcdiv(x, a, b, value=0.25),
                lambda x, a, b: naive.MATH["addcdiv"](x, a, b, value=0.25)),
}


@pytest.mark.parametrize("name", sorted(TERNARY))
def test_ternary_against_the_loop_version_and_gradcheck(xp, rng, name):
    ours, _, loop = TERNARY[name]
    arrays = _three(rng, name)
    y = ours(*[Tensor(xp.asarray(v)) for v in arrays])
    np.testing.assert_allclose(to_np(y), naive.elementwise(loop, *arrays), rtol=1e-13, atol=1e-15)
    assert gradcheck(ours, [xp.asarray(v) for v in arrays])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(TERNARY))
def test_ternary_against_pytorch(xp, rng, name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs, _ = TERNARY[name]
    arrays = [v.astype(dtype) for v in _three(rng, name)]
    if name == "lerp":   # the weight's ends, exact in both formulas
        arrays[2][0, :] = [0.0, 0.5, 1.0]
    mine = [Tensor(xp.asarray(v), requires_grad=True) for v in arrays]
    torchs = [torch_tensor(torch, v, requires_grad=True) for v in arrays]
    y, yt = ours(*mine), theirs(torch)(*torchs)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    _assert_as_torch(y, yt, dtype, f"{name} forward")
    for k, (p, q) in enumerate(zip(mine, torchs)):
        _assert_as_torch(p.grad, q.grad, dtype, f"{name} gradient {k}")


def test_lerp_is_exact_at_its_ends_and_takes_a_number():
    s, e = Tensor(np.array([0.1, -3.3, 1e10])), Tensor(np.array([0.7, 2.9, -1e-10]))
    np.testing.assert_array_equal(minifcn.lerp(s, e, 0.0).numpy(), s.numpy())
    np.testing.assert_array_equal(minifcn.lerp(s, e, 1.0).numpy(), e.numpy())
    np.testing.assert_array_equal(s.lerp(e, Tensor(np.array([0.0, 1.0, 1.0]))).numpy(), [0.1, 2.9, -1e-10])


# --------------------------------------------------------------------- the adjoint identity
# the maps here that are linear in some operands (the others held fixed): (the map of the
# linear operands, their shapes); shapes broadcast, so the transpose sums back
LINEAR = {
    "neg": (lambda x: minifcn.neg(x), [(2, 3)]),
    "add_alpha": (lambda a, b: minifcn.add(a, b, alpha=-2.5), [(2, 3, 1), (1, 4)]),
    "sub_alpha": (lambda a, b: minifcn.sub(a, b, alpha=0.5), [(3, 1), (2, 1, 4)]),
    "mul": (lambda a: minifcn.mul(a, Tensor(np.linspace(-1, 2, 4))), [(3, 1)]),
    "lerp": (lambda s, e: minifcn.lerp(s, e, Tensor(np.array([[-0.5], [0.3], [0.7], [1.5]]))), [(1, 3), (4, 1)]),
    "addcmul": (lambda x, a: minifcn.addcmul(x, a, Tensor(np.array([2.0, -1.0, 0.5])), value=3), [(2, 1), (1, 3)]),
    "addcdiv": (lambda x, a: minifcn.addcdiv(x, a, Tensor(np.array([2.0, -1.0, 0.5])), value=3), [(2, 3), (3,)]),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_adjoint_identity(rng, name):
    """``<A x, y> = <x, A^T y>``: the backward of a linear map is its transpose, broadcast
    operands summed back included."""
    f, shapes = LINEAR[name]
    xs = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    out = f(*xs)
    y = rng.standard_normal(out.shape)
    out.backward(y)
    lhs = float((out.numpy() * y).sum())
    rhs = sum(float((x.numpy() * x.grad).sum()) for x in xs)
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


# --------------------------------------------------------------------- dtypes of integers and bools
I = np.array([7, -7, 3, -3, 0, 5])
J = np.array([2, 2, -2, -2, 3, 5])
B = np.array([True, False, True, True, False, False])
F32 = np.array([0.5, -1.5, 2.0, 3.0, -0.25, 4.0], np.float32)

# (what, ours, PyTorch's): each given (module, Tensor maker); integer and bool inputs where PyTorch
# takes them, for its result dtypes (integer division, pow of ints, a float number beside ints)
INTEGER_CASES = [
    ("pow int int", lambda m, T: m.pow(T(np.abs(I)), T(np.abs(J)))),
    ("pow int number", lambda m, T: m.pow(T(I), 3)),
    ("pow int float", lambda m, T: m.pow(T(I), 2.5)),
    ("pow int8", lambda m, T: m.pow(T(I.astype(np.int8)), 2)),
    ("pow bool", lambda m, T: m.pow(T(B), 2)),
    ("pow number int", lambda m, T: m.pow(2, T(np.abs(J)))),
    ("pow float int", lambda m, T: m.pow(2.5, T(J))),
    ("pow int float tensor", lambda m, T: m.pow(T(np.abs(I)), T(F32))),
    ("square int8", lambda m, T: m.square(T(I.astype(np.int8)))),
    ("square bool", lambda m, T: m.square(T(B))),
    ("neg int", lambda m, T: m.neg(T(I))),
    ("remainder", lambda m, T: m.remainder(T(I), T(J))),
    ("remainder number", lambda m, T: m.remainder(T(I), -2)),
    ("remainder float number", lambda m, T: m.remainder(T(I), 1.5)),
    ("remainder of a number", lambda m, T: m.remainder(3, T(J))),
    ("fmod", lambda m, T: m.fmod(T(I), T(J))),
    ("div", lambda m, T: m.div(T(I), T(J))),
    ("div number", lambda m, T: m.div(T(I), 2)),
    ("true_divide", lambda m, T: m.true_divide(T(I), T(J))),
    ("div bool", lambda m, T: m.div(T(B), T(~B | B))),
    ("div trunc", lambda m, T: m.div(T(I), T(J), rounding_mode="trunc")),
    ("div floor", lambda m, T: m.div(T(I), T(J), rounding_mode="floor")),
    ("div floor float number", lambda m, T: m.div(T(I), 2.0, rounding_mode="floor")),
    ("floor_divide", lambda m, T: m.floor_divide(T(I), T(J))),
    ("add alpha", lambda m, T: m.add(T(I), T(J), alpha=2)),
    ("add bool", lambda m, T: m.add(T(B), T(B))),
    ("add float number", lambda m, T: m.add(T(I), 1.5)),
    ("sub alpha", lambda m, T: m.sub(T(I), T(J), alpha=-3)),
    ("sub float number", lambda m, T: m.sub(T(I), 1.5)),
    ("mul bool", lambda m, T: m.mul(T(B), T(B))),
    ("mul bool number", lambda m, T: m.mul(T(B), 2)),
    ("atan2", lambda m, T: m.atan2(T(I), T(J))),
    ("atan2 int float32", lambda m, T: m.atan2(T(I), T(F32))),
    ("remainder float32 int", lambda m, T: m.remainder(T(F32), T(J))),
    ("clamp_min int float32", lambda m, T: m.clamp_min(T(I), T(F32))),
    ("xlogy", lambda m, T: m.xlogy(T(I), T(np.abs(J)))),
    ("clamp_min int", lambda m, T: m.clamp_min(T(I), 1)),
    ("clamp_min float", lambda m, T: m.clamp_min(T(I), 0.5)),
    ("clamp_max int", lambda m, T: m.clamp_max(T(I), -1)),
    ("nan_to_num int", lambda m, T: m.nan_to_num(T(I))),
    ("nan_to_num bool", lambda m, T: m.nan_to_num(T(B))),
    ("isnan int", lambda m, T: m.isnan(T(I))),
    ("isinf bool", lambda m, T: m.isinf(T(B))),
    ("isfinite int", lambda m, T: m.isfinite(T(I))),
    ("addcmul int", lambda m, T: m.addcmul(T(I), T(I), T(J), value=2)),
    # alpha by the result's dtype: a bool tensor beside an int gives int64, alpha taken whole
    ("add bool number alpha", lambda m, T: m.add(T(B), 2, alpha=2)),
    ("add bool float alpha", lambda m, T: m.add(T(B), 2.5, alpha=-1)),
    ("add int32 bool alpha", lambda m, T: m.add(T(I.astype(np.int32)), T(B), alpha=2)),
    ("addcmul int32 bool alpha", lambda m, T: m.addcmul(T(I.astype(np.int32)), T(B), T(B), value=3)),
    # numbers as PyTorch takes them: a true division by 300 (not by int8's 44), -1 wrapping in uint8
    ("div int8 numpy int", lambda m, T: m.div(T(I.astype(np.int8)), np.int64(300))),
    ("mul int8 numpy int", lambda m, T: m.mul(T(I.astype(np.int8)), np.int64(300))),
    ("div int8 number", lambda m, T: m.div(T(I.astype(np.int8)), 300)),
    ("div uint8 -1", lambda m, T: m.div(T(np.abs(I).astype(np.uint8)), -1)),
    ("add uint8 -1", lambda m, T: m.add(T(np.abs(I).astype(np.uint8)), -1)),
    ("sub uint8 alpha -1", lambda m, T: m.sub(T(np.abs(I).astype(np.uint8)), 1, alpha=-1)),
    ("clamp_min uint8 -1", lambda m, T: m.clamp_min(T(np.abs(I).astype(np.uint8)), -1)),
    ("add int32 numpy float", lambda m, T: m.add(T(I.astype(np.int32)), np.float64(0.5))),
    # an integer tensor exponent: negative values give 1, +-1 or 0, as PyTorch's powi
    ("pow int negative int tensor", lambda m, T: m.pow(T(np.array([1, 2, -1, 0, -1, 3])),
                                                       T(np.array([-1, -2, -3, -1, -2, 2])))),
    ("pow int8 -128", lambda m, T: m.pow(T(np.array([-1, 2, 1, -1], np.int8)),
                                         T(np.array([-128, -128, -127, -127], np.int8)))),
    ("pow uint8 int8", lambda m, T: m.pow(T(np.array([0, 1, 2, 255], np.uint8)),
                                          T(np.array([-1, -1, -2, -1], np.int8)))),
    ("pow bool negative int tensor", lambda m, T: m.pow(T(B), T(-np.abs(J)))),
    ("number ** negative int tensor", lambda m, T: 2 ** T(np.array([3, -1, 0, -2]))),
]


@pytest.mark.parametrize("what, f", INTEGER_CASES, ids=[c[0] for c in INTEGER_CASES])
def test_integer_and_bool_results_as_pytorch(what, f):
    torch = pytest.importorskip("torch")
    got = f(minifcn, lambda a: Tensor(a))
    want = f(torch, lambda a: torch.from_numpy(np.array(a)))
    assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (what, got.dtype, want.dtype)
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-6, err_msg=what)


@pytest.mark.parametrize("op", ["remainder", "fmod", "div_trunc", "div_floor", "floor_divide"])
def test_signs_of_remainders_and_quotients_as_pytorch(xp, op):
    """Every sign of dividend and divisor, exact multiples included (-4 % 2 is -0.0 in PyTorch,
    NumPy's +0.0), integers and floats, and the Python / C definitions checked on their own:
    remainder takes the divisor's sign, fmod the dividend's."""
    torch = pytest.importorskip("torch")
    ours, theirs, _ = BINARY[op]
    a = np.array([7, -7, 7, -7, 4, -4, 4, -4, 0, 0])
    b = np.array([2, 2, -2, -2, 2, 2, -2, -2, 3, -3])
    for dtype in (np.int64, np.float64, np.float32):
        y = ours(Tensor(xp.asarray(a.astype(dtype))), Tensor(xp.asarray(b.astype(dtype))))
        yt = theirs(torch)(torch.from_numpy(a.astype(dtype)), torch.from_numpy(b.astype(dtype)))
        assert str(y.dtype) == str(yt.dtype).replace("torch.", "")
        np.testing.assert_array_equal(to_np(y), yt.numpy())
        np.testing.assert_array_equal(np.signbit(to_np(y)), np.signbit(yt.numpy()), err_msg=f"{op} {dtype}")
    y = to_np(ours(Tensor(xp.asarray(a)), Tensor(xp.asarray(b))))
    if op == "remainder":
        assert ((y == 0) | (np.sign(y) == np.sign(b))).all() and (y == a % b).all()
    if op == "fmod":
        assert ((y == 0) | (np.sign(y) == np.sign(a))).all() and (y == np.fmod(a, b)).all()


def test_pow_at_zero_and_below():
    """0 ** 0 = 1 with no gradient to the base (and none to the exponent: 0 ** b is flat
    there), 0 ** -1 = inf, 0 ** 0.5 has an infinite slope, (-8) ** (1/3) is NaN (no real
    branch is picked)."""
    x = Tensor(np.array([0.0, 0.0, 0.0, -8.0]), requires_grad=True)
    e = Tensor(np.array([0.0, -1.0, 0.5, 1 / 3]), requires_grad=True)
    y = x ** e
    y.backward(np.ones(4))
    assert y.numpy()[:3].tolist() == [1.0, INF, 0.0] and np.isnan(y.numpy()[3])
    assert x.grad[0] == 0 and x.grad[2] == INF and e.grad[0] == 0 and e.grad[2] == 0
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x ** 0).backward(np.ones(2))
    assert x.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pow_with_a_number_as_pytorch_at_the_edges(xp, dtype):
    """``x ** e`` for numbers ``e`` (ops.Pow, the exponent kept in double) and ``e ** x`` for
    numbers ``e`` (the base 0 and negative too), on every edge value, forward and backward."""
    torch = pytest.importorskip("torch")
    a = np.array(EDGES, dtype)
    g = np.linspace(-1.5, 2.0, a.size).astype(dtype)
    for e in [0, 1, 2, 3, -1, -2, 0.5, -0.5, 1 / 3, 2.5, 0.0]:
        for ours, theirs in [(lambda t: t ** e, lambda t: t ** e), (lambda t: e ** t, lambda t: torch.pow(e, t))]:
            x, xt = Tensor(xp.asarray(a), requires_grad=True), torch_tensor(torch, a, requires_grad=True)
            y, yt = ours(x), theirs(xt)
            y.backward(xp.asarray(g))
            yt.backward(torch.from_numpy(g))
            _assert_as_torch(y, yt, dtype, f"pow {e} forward")
            _assert_as_torch(x.grad, xt.grad, dtype, f"pow {e} gradient")


def test_operators_and_methods_are_the_functions(rng):
    """``**`` with a Tensor exponent, ``2 ** t``, ``//`` and ``%``, and each method, the same as
    the function of its name."""
    a, b = rng.uniform(0.5, 3, (2, 3)), rng.uniform(0.5, 3, (3,))
    x, z = Tensor(a), Tensor(b)
    np.testing.assert_array_equal((x ** z).numpy(), minifcn.pow(x, z).numpy())
    np.testing.assert_array_equal((2 ** z).numpy(), 2 ** b)
    np.testing.assert_array_equal((x // z).numpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal((7 // z).numpy(), np.floor_divide(7, b))
    np.testing.assert_array_equal((x % z).numpy(), minifcn.remainder(x, z).numpy())
    np.testing.assert_array_equal((-7.5 % z).numpy(), naive.elementwise(naive.MATH["remainder"], -7.5, b))
    for name in UNARY_NAMES + ["isnan", "isinf", "isfinite", "negative", "nan_to_num", "logit"]:
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(minifcn, name)(x).numpy(), err_msg=name)
    for name in ["pow", "atan2", "hypot", "logaddexp", "xlogy", "mul", "true_divide", "floor_divide",
                 "remainder", "fmod", "add", "sub", "div", "clamp_min", "clamp_max"]:
        other = z if name not in ("clamp_min", "clamp_max") else 1.5
        np.testing.assert_array_equal(getattr(x, name)(other).numpy(), getattr(minifcn, name)(x, other).numpy(),
                                      err_msg=name)
    assert x.add(z, alpha=2).allclose(x + 2 * z) and x.sub(z, alpha=2).allclose(x - 2 * z)
    assert x.div(z, rounding_mode="trunc").equal(Tensor(np.trunc(a / b)))
    assert x.lerp(z, 0.25).allclose(x + 0.25 * (z - x))
    assert x.addcmul(x, z, value=2).allclose(x + 2 * x * z) and x.addcdiv(x, z).allclose(x + x / z)
    cond = Tensor(a > 1.5)
    np.testing.assert_array_equal(x.where(cond, -1.0).numpy(), np.where(a > 1.5, a, -1.0))


def test_clamp_min_max_and_nan_to_num_as_pytorch(xp):
    """Ties with the bound pass the gradient (PyTorch's), NaN stays NaN with none; nan_to_num's
    defaults are the dtype's extremes, and the replaced values get no gradient."""
    torch = pytest.importorskip("torch")
    a = np.array([-1.0, 0.5, 0.5, 2.0, NAN, INF, -INF])
    for ours, theirs in [(lambda t: t.clamp_min(0.5), lambda t: t.clamp_min(0.5)),
                         (lambda t: minifcn.clamp_max(t, 0.5), lambda t: torch.clamp_max(t, 0.5)),
                         (lambda t: t.nan_to_num(), lambda t: t.nan_to_num()),
                         (lambda t: minifcn.nan_to_num(t, nan=1.0, posinf=2.0, neginf=-3.0),
                          lambda t: torch.nan_to_num(t, nan=1.0, posinf=2.0, neginf=-3.0))]:
        for dtype in (np.float64, np.float32):
            x, xt = Tensor(xp.asarray(a.astype(dtype)), requires_grad=True), torch_tensor(torch, a.astype(dtype), True)
            y, yt = ours(x), theirs(xt)
            y.backward(xp.ones(7, dtype))
            yt.backward(torch.ones(7, dtype=yt.dtype))
            _assert_as_torch(y, yt, dtype, "forward")
            _assert_as_torch(x.grad, xt.grad, dtype, "gradient")


def test_isnan_isinf_isfinite(xp):
    a = xp.asarray(np.array([0.0, -INF, INF, NAN, 1e308]))
    assert to_np(minifcn.isnan(Tensor(a))).tolist() == [False, False, False, True, False]
    assert to_np(minifcn.isinf(Tensor(a))).tolist() == [False, True, True, False, False]
    y = minifcn.isfinite(Tensor(a, requires_grad=True))
    assert to_np(y).tolist() == [True, False, False, False, True] and not y.requires_grad


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, match", [
    (lambda: minifcn.remainder(Tensor(I), Tensor(J * 0)), ZeroDivisionError, "remainder: integer division by zero"),
    (lambda: minifcn.fmod(Tensor(I), 0), ZeroDivisionError, "fmod: integer division by zero"),
    (lambda: minifcn.div(Tensor(I), 0, rounding_mode="floor"), ZeroDivisionError, "div: integer division"),
    (lambda: Tensor(I) // 0, ZeroDivisionError, "div: integer division"),
    (lambda: minifcn.div(Tensor(F32), 2.0, rounding_mode="round"), ValueError, "got 'round'"),
    (lambda: minifcn.pow(Tensor(I), -1), ValueError, "negative integer powers.*-1"),
    (lambda: minifcn.pow(Tensor(B), Tensor(B)), TypeError, "bool \\*\\* bool"),
    (lambda: minifcn.pow(2, 3), TypeError, "expected a Tensor.*int and int"),
    (lambda: minifcn.add(Tensor(I), Tensor(J), alpha=0.5), TypeError, "alpha=0.5.*integer"),
    (lambda: minifcn.add(Tensor(F32), Tensor(F32), alpha=True), TypeError, "alpha=True"),
    (lambda: minifcn.sub(Tensor(B), Tensor(B)), TypeError, "bool"),
    (lambda: minifcn.neg(Tensor(B)), TypeError, "bool tensor cannot be negated"),
    (lambda: minifcn.hypot(Tensor(I), Tensor(J)), TypeError, "hypot: expected floating-point.*int64"),
    (lambda: minifcn.logaddexp(Tensor(I), 1), TypeError, "logaddexp: expected floating-point"),
    (lambda: minifcn.lerp(Tensor(F32), Tensor(F32.astype(np.float64)), 0.5), TypeError, "float32 and float64"),
    (lambda: minifcn.lerp(Tensor(I), Tensor(I), 0.5), TypeError, "floating-point"),
    (lambda: minifcn.lerp(Tensor(F32), Tensor(F32), "half"), TypeError, "weight must be a number"),
    (lambda: minifcn.addcdiv(Tensor(I), Tensor(I), Tensor(J)), TypeError, "addcdiv: integer division"),
    (lambda: minifcn.addcmul(Tensor(I), Tensor(I), Tensor(J), value=0.5), TypeError, "value=0.5"),
    (lambda: minifcn.clamp_min(Tensor(F32), "0"), TypeError, "clamp_min: the bound must be a number or a Tensor"),
    (lambda: minifcn.clamp_min(Tensor(I.astype(np.int8)), np.int64(300)), ValueError,
     "clamp_min: bound 300 does not fit int8"),
    (lambda: minifcn.clamp_max(Tensor(I.astype(np.uint8)), -300), ValueError,
     "clamp_max: bound -300 does not fit uint8"),
    (lambda: minifcn.add(Tensor(I.astype(np.int8)), 1, alpha=300), ValueError, "alpha 300 does not fit int8"),
    (lambda: minifcn.pow(Tensor(I.astype(np.int8)), 300), ValueError, "exponent 300 does not fit int8"),
    (lambda: minifcn.pow(Tensor(B), -1), ValueError, "negative integer powers"),
    (lambda: minifcn.sub(Tensor(I), Tensor(B)), TypeError, "sub: subtraction with a bool operand"),
    (lambda: minifcn.sub(Tensor(F32), True), TypeError, "sub: subtraction with a bool operand"),
    (lambda: minifcn.add(Tensor(B), Tensor(B), alpha=0.5), TypeError, "alpha=0.5"),
    (lambda: minifcn.nan_to_num(Tensor(F32), posinf="big"), TypeError, "posinf must be a number"),
])
def test_errors_name_the_value(call, error, match):
    with pytest.raises(error, match=match):
        call()
