"""The activations of minifcn/activations.py (``F.elu`` ... ``F.prelu``) and their layers
(minifcn/nn_activations.py), each checked against its loop version in ``naive`` (float64), by
float64 finite differences away from its kinks, and against PyTorch forward and backward in
float64 and float32 at random points, exactly at the kinks and at large ``|x|``. PReLU's
output is linear in its weight: the adjoint identity checks that gradient too (none of the
others is linear in anything).

Every test here runs with warnings as errors: an overflow in a branch that ``where`` then
drops still warns in NumPy, and would fail.
"""
import math
import subprocess
import sys

import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.activations import _erf, _normal_cdf
from minifcn.testing import gradcheck
from oracle import assert_close, to_np, torch_tensor

pytestmark = pytest.mark.filterwarnings("error")

# Klambauer et al. (2017)'s constants, as PyTorch's documentation gives them
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name: (ours, PyTorch's (given torch.nn.functional), the loop version, the kinks, the slopes
# far below and far above 0). Each is called on one Tensor / array.
CASES = {
    "elu": (lambda x: F.elu(x), lambda tf, x: tf.elu(x), lambda a: naive.elu(a), [0.0], (0, 1)),
    "elu_alpha": (lambda x: F.elu(x, 2.0), lambda tf, x: tf.elu(x, 2.0),   # gradient 2 at 0, 1 above
                  lambda a: naive.elu(a, 2.0), [0.0], (0, 1)),
    "celu": (lambda x: F.celu(x, 0.5), lambda tf, x: tf.celu(x, 0.5),
             lambda a: naive.elu(a, 0.5, input_scale=2.0), [0.0], (0, 1)),
    "selu": (lambda x: F.selu(x), lambda tf, x: tf.selu(x),
             lambda a: naive.elu(a, SELU_ALPHA, SELU_SCALE), [0.0], (0, SELU_SCALE)),
    "gelu": (lambda x: F.gelu(x), lambda tf, x: tf.gelu(x), lambda a: naive.gelu(a), [], (0, 1)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda tf, x: tf.gelu(x, approximate="tanh"),
                  lambda a: naive.gelu(a, "tanh"), [], (0, 1)),
    "silu": (lambda x: F.silu(x), lambda tf, x: tf.silu(x), lambda a: naive.silu(a), [], (0, 1)),
    "mish": (lambda x: F.mish(x), lambda tf, x: tf.mish(x), lambda a: naive.mish(a), [], (0, 1)),
    "softplus": (lambda x: F.softplus(x), lambda tf, x: tf.softplus(x), lambda a: naive.softplus(a),
                 [20.0], (0, 1)),
    "softplus_beta": (lambda x: F.softplus(x, 2.0, 3.0), lambda tf, x: tf.softplus(x, 2.0, 3.0),
                      lambda a: naive.softplus(a, 2.0, 3.0), [1.5], (0, 1)),
    "softplus_negative_beta": (lambda x: F.softplus(x, -0.5, 1.0), lambda tf, x: tf.softplus(x, -0.5, 1.0),
                               lambda a: naive.softplus(a, -0.5, 1.0), [-2.0], (1, 0)),
    "relu6": (lambda x: F.relu6(x), lambda tf, x: tf.relu6(x), lambda a: naive.hardtanh(a, 0.0, 6.0),
              [0.0, 6.0], (0, 0)),
    "hardtanh": (lambda x: F.hardtanh(x), lambda tf, x: tf.hardtanh(x), lambda a: naive.hardtanh(a),
                 [-1.0, 1.0], (0, 0)),
    "hardtanh_bounds": (lambda x: F.hardtanh(x, -2.5, 0.5), lambda tf, x: tf.hardtanh(x, -2.5, 0.5),
                        lambda a: naive.hardtanh(a, -2.5, 0.5), [-2.5, 0.5], (0, 0)),
    "hardsigmoid": (lambda x: F.hardsigmoid(x), lambda tf, x: tf.hardsigmoid(x), lambda a: naive.hardsigmoid(a),
                    [-3.0, 3.0], (0, 0)),
    "hardswish": (lambda x: F.hardswish(x), lambda tf, x: tf.hardswish(x), lambda a: naive.hardswish(a),
                  [-3.0, 3.0], (0, 1)),
    "logsigmoid": (lambda x: F.logsigmoid(x), lambda tf, x: tf.logsigmoid(x), lambda a: naive.logsigmoid(a),
                   [], (1, 0)),
    "softsign": (lambda x: F.softsign(x), lambda tf, x: tf.softsign(x), lambda a: naive.softsign(a), [], (0, 0)),
}
NAMES = sorted(CASES)


def values(rng, kinks, dtype=np.float64):
    """Random values of both signs, each kink exactly, and large ones, (2, 3, 8) in all."""
    special = list(kinks) + [-0.0, 0.0, 30.0, -30.0, 1e3, -1e3, 1e4, -1e4]
    a = rng.standard_normal(48 - len(special)) * 4
    return np.concatenate([a, special]).reshape(2, 3, 8).astype(dtype)


def away_from_kinks(rng, kinks, shape=(2, 3, 4)):
    """Random values, and values 0.05 either side of each kink, none within 1e-3 of one: a
    finite-difference step of 1e-6 never crosses a kink."""
    a = np.concatenate([rng.standard_normal(int(np.prod(shape)) - 2 * len(kinks)) * 4,
                        [k + d for k in kinks for d in (-0.05, 0.05)]])
    for k in kinks:
        a[abs(a - k) < 1e-3] += 2e-3
    return a.reshape(shape)


@pytest.mark.parametrize("name", NAMES)
def test_against_the_loop_version(xp, rng, name):
    ours, _, loop, kinks, _ = CASES[name]
    a = values(rng, kinks)
    y = ours(Tensor(xp.asarray(a)))
    assert y.dtype == np.float64
    assert_close(y, loop(a), np.float64, name)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(xp, rng, name):
    ours, _, _, kinks, _ = CASES[name]
    assert gradcheck(ours, [xp.asarray(away_from_kinks(rng, kinks))])


def _assert_float32_close(ours, theirs, what):
    """float32 against PyTorch, value by value: no sums here, so each value differs by the
    rounding of a few elementary functions (exp, log1p, tanh, erf: a few float32 ulp each,
    6e-8 relative), computed in another order; 1e-5 relative leaves room for that. atol 1e-6
    covers values near 0 that come out of a difference of rounded numbers (exp(x) - 1,
    1 + tanh(z))."""
    np.testing.assert_allclose(to_np(ours), to_np(theirs), rtol=1e-5, atol=1e-6, err_msg=what)


# The gradients where PyTorch's own rounding strays further than the comparison's tolerance:
# (dtype, name): (rtol, atol), and why
GRADIENT_TOLERANCE = {
    # PyTorch's hardsigmoid_backward multiplies by 1.0f / 6.0f, a float32 constant, in float64
    # too: 3e-8 off 1/6 (ours is 1/6, test_hardsigmoid_s_gradient_is_a_sixth)
    (np.float64, "hardsigmoid"): (1e-7, 0.0),
    # tanh(z) near -1 has float32 steps of 6e-8, so 1 + t and 1 - t^2 are each off by a step or
    # two, times 0.5 |x| sqrt(2/pi) (1 + 3 0.044715 x^2) (up to 14 before t saturates) and |g|
    # (up to 3): PyTorch's vectorised tanh rounds to -1 at x = -5.06, where ours still gives
    # -1.4e-6 (-1.0e-6 in float64)
    (np.float32, "gelu_tanh"): (1e-5, 2e-5),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_against_pytorch_at_kinks_and_large_values(xp, rng, name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs, _, kinks, _ = CASES[name]
    a = values(rng, kinks, dtype)
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch_tensor(torch, a, requires_grad=True)
    y, yt = ours(x), theirs(torch.nn.functional, xt)
    g = rng.standard_normal(a.shape).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert y.dtype == dtype and x.grad.dtype == dtype
    check = (lambda p, q, w: assert_close(p, q, np.float64, w)) if dtype == np.float64 else _assert_float32_close
    check(y, yt, f"{name} forward")
    if (dtype, name) in GRADIENT_TOLERANCE:
        rtol, atol = GRADIENT_TOLERANCE[dtype, name]
        check = lambda p, q, w: np.testing.assert_allclose(to_np(p), to_np(q), rtol=rtol, atol=atol, err_msg=w)  # noqa: E731
    check(x.grad, xt.grad, f"{name} gradient")


def test_hardsigmoid_s_gradient_is_a_sixth(xp, rng):
    a = rng.uniform(-2.9, 2.9, 20)
    x = Tensor(xp.asarray(a), requires_grad=True)
    g = rng.standard_normal(20)
    F.hardsigmoid(x).backward(xp.asarray(g))
    np.testing.assert_array_equal(to_np(x.grad), g / 6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_the_dtype_s_largest_values_give_the_limits_without_overflow(xp, name, dtype):
    """At +-max: the loop version's value (computed in double, from the same input) and the
    slope of the function far out, both finite, with no warning raised on the way. SELU's
    1.0507 x overflows above max / 1.0507 in truth: it is taken at half the largest value."""
    ours, _, loop, _, (below, above) = CASES[name]
    big = np.finfo(dtype).max / (2 if name == "selu" else 1)
    a = np.array([-big, big], dtype)
    x = Tensor(xp.asarray(a), requires_grad=True)
    y = ours(x)
    y.backward(xp.ones(2, dtype))
    np.testing.assert_allclose(to_np(y), loop(a), rtol=1e-6)
    np.testing.assert_array_equal(to_np(x.grad), np.array([below, above], dtype))


def test_erf_and_the_normal_cdf_to_float64_rounding():
    """Cody's approximations against math.erf and math.erfc. erf: within 4 ulp everywhere (3
    measured). Phi(x) = erfc(-x / sqrt 2) / 2: within 8 ulp (7 measured for erfc) plus what
    rounding x / sqrt 2 costs, here and in math's: Phi's relative condition in the left tail
    is x^2, so 2^-52 x^2 relative (1e-13 at x = -30, whichever way it is computed); checked
    down to the smallest normal float, and exactly 0 and 1 beyond |x| = 40."""
    x = np.concatenate([np.linspace(-45, 45, 90001), np.geomspace(1e-300, 30, 3001),
                        -np.geomspace(1e-300, 30, 3001)])
    want = np.array([math.erf(v) for v in x])
    ulps = abs(_erf(x) - want) / np.spacing(abs(want))
    assert ulps.max() <= 4, x[ulps.argmax()]
    want = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    got = _normal_cdf(x)
    normal = want > np.finfo(np.float64).tiny
    bound = (8 + x[normal] ** 2) * 2.0 ** -52
    assert (abs(got - want)[normal] / want[normal] <= bound).all()
    assert got[x < -40].max() == 0 and got[x > 40].min() == 1
    x32 = x.astype(np.float32)
    assert _erf(x32).dtype == _normal_cdf(x32).dtype == np.float32
    np.testing.assert_allclose(_erf(x32), [math.erf(v) for v in x32.astype(np.float64)], rtol=3e-7, atol=1e-37)


def test_gelu_keeps_the_far_left_tail():
    """x Phi(x) at x = -10 is -7.6e-23; (1 + erf(x / sqrt 2)) / 2 would give 0 there."""
    y = F.gelu(np.array([-10.0, -20.0]))
    want = [-10 * 0.5 * math.erfc(10 / math.sqrt(2)), -20 * 0.5 * math.erfc(20 / math.sqrt(2))]
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12)
    assert (y.numpy() < 0).all()


@pytest.mark.parametrize("name", ["relu6", "hardtanh", "hardsigmoid", "hardswish", "elu", "softplus"])
def test_nan_as_pytorch(name):
    """A NaN input gives NaN and, where the kernel's comparisons send it, PyTorch's gradient
    (hardtanh's passes it, hardsigmoid's gives 0)."""
    torch = pytest.importorskip("torch")
    ours, theirs, *_ = CASES[name]
    a = np.array([np.nan, -4.0, 4.0])
    x, xt = Tensor(a, requires_grad=True), torch_tensor(torch, a, requires_grad=True)
    y = ours(x)
    y.backward(np.ones(3))
    theirs(torch.nn.functional, xt).backward(torch.ones(3, dtype=torch.float64))
    assert np.isnan(y.numpy()[0])
    assert_close(x.grad, xt.grad, np.float64, name)


# where PyTorch's gives NaN at an infinity and ours the limit: (name, what, position)
LIMITS_AT_INFINITY = {("gelu", "gradient", 0), ("gelu", "gradient", 1), ("gelu_tanh", "gradient", 0),
                      ("gelu_tanh", "gradient", 1), ("hardswish", "value", 1),
                      ("softsign", "gradient", 0), ("softsign", "gradient", 1)}


@pytest.mark.parametrize("name", NAMES)
def test_infinities_as_pytorch_or_the_limit(name):
    """At +-inf each value and gradient is PyTorch's (NaN where its is), except where
    PyTorch's comes out NaN from inf * 0 and ours is the limit: GELU's gradient (1 and 0),
    hardswish(-inf) (0) and softsign's gradient (0)."""
    torch = pytest.importorskip("torch")
    ours, theirs, _, _, (below, above) = CASES[name]
    a = np.array([np.inf, -np.inf])
    x, xt = Tensor(a, requires_grad=True), torch_tensor(torch, a, requires_grad=True)
    with np.errstate(invalid="ignore"):   # inf * 0 gives NaN in silu, mish ..., as in PyTorch's
        y = ours(x)
        y.backward(np.ones(2))
    yt = theirs(torch.nn.functional, xt)
    yt.backward(torch.ones(2, dtype=torch.float64))
    limits = {"value": np.array([np.inf, 0.0]), "gradient": np.array([above, below])}
    for what, mine, pytorch in [("value", y.numpy(), yt.detach().numpy()), ("gradient", x.grad, xt.grad.numpy())]:
        for i in range(2):
            want = limits[what][i] if (name, what, i) in LIMITS_AT_INFINITY else pytorch[i]
            assert np.array_equal(mine[i], want, equal_nan=True), (what, i, mine[i], want)
            assert ((name, what, i) in LIMITS_AT_INFINITY) == (np.isnan(pytorch[i]) and not np.isnan(mine[i]))


# --------------------------------------------------------------------- PReLU
PRELU_SHAPES = [((2, 3, 4, 5), (3,)), ((2, 3, 4, 5), (1,)), ((4, 3), (3,)), ((2, 5, 6), ()),
                ((5,), (1,)), ((), (1,))]


def _prelu_inputs(rng, shape, w_shape, zeros=True):
    a = rng.standard_normal(shape)
    if zeros and a.size > 1:
        a.flat[::5] = 0.0   # the kink: x's gradient is the weight's piece, the weight's 0
    return a, rng.uniform(-0.5, 0.5, w_shape)


@pytest.mark.parametrize("shape, w_shape", PRELU_SHAPES)
def test_prelu_against_the_loop_version_and_gradcheck(xp, rng, shape, w_shape):
    a, w = _prelu_inputs(rng, shape, w_shape)
    assert_close(F.prelu(Tensor(xp.asarray(a)), xp.asarray(w)), naive.prelu(a, w), np.float64)
    a, w = _prelu_inputs(rng, shape, w_shape, zeros=False)
    assert gradcheck(F.prelu, [xp.asarray(a), xp.asarray(w)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, w_shape", PRELU_SHAPES)
def test_prelu_against_pytorch(xp, rng, shape, w_shape, dtype):
    torch = pytest.importorskip("torch")
    a, w = (v.astype(dtype) for v in _prelu_inputs(rng, shape, w_shape))
    x, W = Tensor(xp.asarray(a), requires_grad=True), Tensor(xp.asarray(w), requires_grad=True)
    xt, Wt = torch_tensor(torch, a, requires_grad=True), torch_tensor(torch, w, requires_grad=True)
    y, yt = F.prelu(x, W), torch.nn.functional.prelu(xt, Wt)
    g = np.asarray(rng.standard_normal(a.shape)).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    for ours, theirs, what in [(y, yt, "forward"), (x.grad, xt.grad, "input"), (W.grad, Wt.grad, "weight")]:
        assert to_np(ours).dtype == dtype, what
        assert_close(ours, theirs, dtype, what)


def test_prelu_is_linear_in_its_weight(xp, rng):
    """y(w) - y(0) = A w, with A w the weight of each channel times the non-positive x: its
    transpose is what backward gives the weight, <A w, g> = <w, A^T g>."""
    a = rng.standard_normal((2, 4, 3, 3))
    w = rng.standard_normal(4)
    W = Tensor(xp.asarray(w), requires_grad=True)
    y = F.prelu(Tensor(xp.asarray(a)), W)
    g = rng.standard_normal(a.shape)
    y.backward(xp.asarray(g))
    Aw = to_np(y) - to_np(F.prelu(Tensor(xp.asarray(a)), xp.zeros(4)))
    lhs, rhs = float((Aw * g).sum()), float((w * to_np(W.grad)).sum())
    assert abs(lhs) > 1e-3 and abs(lhs - rhs) <= 1e-10 * abs(lhs)


def test_prelu_layer_as_pytorch_s(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert ours.weight.dtype == np.float32 and ours.weight.shape == (3,)
    ours.weight.data = ours.weight.data.astype(np.float64)
    assert_close(ours.weight, theirs.weight, np.float64, "init")
    a = rng.standard_normal((2, 3, 4, 4))
    y, yt = ours(Tensor(a)), theirs(torch.from_numpy(a))
    g = rng.standard_normal(a.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(y, yt, np.float64, "forward")
    assert_close(ours.weight.grad, theirs.weight.grad, np.float64, "weight gradient")
    ours.weight.data[:] = 7.0
    ours.reset_parameters()
    assert (ours.weight.data == 0.1).all()


# --------------------------------------------------------------------- layers
LAYERS = ["ELU()", "ELU(0.5, True)", "ELU(alpha=2)", "CELU()", "CELU(2.0, inplace=True)", "SELU()",
          "SELU(True)", "GELU()", "GELU('tanh')", "GELU(approximate='tanh')", "SiLU()",
          "SiLU(inplace=True)", "Mish()", "Mish(True)", "Softplus()", "Softplus(2, 10)",
          "Softplus(beta=0.5, threshold=5.0)", "ReLU6()", "ReLU6(True)", "Hardtanh()",
          "Hardtanh(-2, 3, True)", "Hardtanh(min_val=-0.5, max_val=0.25)", "Hardsigmoid()",
          "Hardsigmoid(True)", "Hardswish()", "Hardswish(inplace=True)", "LogSigmoid()", "Softsign()",
          "PReLU()", "PReLU(4, 0.1)", "PReLU(num_parameters=4, init=-0.5)"]


@pytest.mark.parametrize("call", LAYERS)
def test_layer_repr_and_values_as_pytorch_s(xp, rng, call):
    torch = pytest.importorskip("torch")
    ours, theirs = eval(call, vars(nn)), eval(call, vars(torch.nn))
    assert repr(ours) == repr(theirs)
    a = rng.standard_normal((2, 4, 5)) * 4
    if isinstance(ours, nn.PReLU):
        ours.weight.data = xp.asarray(to_np(ours.weight).astype(np.float64))
        theirs = theirs.double()
    x = Tensor(xp.asarray(a), requires_grad=True)
    xt = torch_tensor(torch, a, requires_grad=True)
    y, yt = ours(x), theirs(xt.clone())   # PyTorch's in-place layers refuse a leaf
    y.backward(xp.ones(a.shape))
    yt.backward(torch.ones(a.shape, dtype=torch.float64))
    assert_close(y, yt, np.float64, call)
    rtol, atol = GRADIENT_TOLERANCE.get((np.float64, type(ours).__name__.lower()), (1e-10, 1e-10))
    np.testing.assert_allclose(to_np(x.grad), to_np(xt.grad), rtol=rtol, atol=atol, err_msg=call)


def test_functional_names_are_minifcn_functional_s_and_import_on_their_own():
    import minifcn.activations as A
    for name in A.__all__:
        assert getattr(F, name) is getattr(A, name) and name in F.__all__
    # activations.py and functional.py import each other: either may come first
    for first in ("minifcn.activations", "minifcn.nn_activations"):
        run = subprocess.run([sys.executable, "-c", f"import {first}; import minifcn.functional as F; F.elu"],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


# --------------------------------------------------------------------- bad arguments
BAD = [
    (lambda: F.elu(np.ones(2), "1"), TypeError, "elu: alpha must be a number, got '1'"),
    (lambda: F.elu(np.ones(2), True), TypeError, "elu: alpha must be a number, got True"),
    (lambda: F.elu(np.ones(2), inplace="yes"), TypeError, "elu: inplace must be a bool, got 'yes'"),
    (lambda: F.elu(np.ones(2, np.int64)), TypeError, "elu: input must be float32 or float64, got int64"),
    (lambda: F.relu6(np.ones(2, np.float16)), TypeError, "relu6: input must be float32 or float64, got float16"),
    (lambda: F.celu(np.ones(2), 0.0), ValueError, r"celu: alpha must not be 0 \(it divides x\)"),
    (lambda: nn.CELU(0), ValueError, "CELU: alpha must not be 0"),
    (lambda: F.gelu(np.ones(2), "erf"), ValueError, "gelu: approximate must be 'none' or 'tanh', got 'erf'"),
    (lambda: nn.GELU(None), ValueError, "GELU: approximate must be 'none' or 'tanh', got None"),
    (lambda: F.softplus(np.ones(2), 0), ValueError, "softplus: beta must not be 0"),
    (lambda: F.softplus(np.ones(2), 1, None), TypeError, "softplus: threshold must be a number, got None"),
    (lambda: nn.Softplus(beta=0.0), ValueError, "Softplus: beta must not be 0"),
    (lambda: F.hardtanh(np.ones(2), 2.0, 1.0), ValueError,
     r"hardtanh: min_val \(2.0\) must not be greater than max_val \(1.0\)"),
    (lambda: nn.Hardtanh(1.0, 1.0), ValueError, r"Hardtanh: max_val \(1.0\) must be greater than min_val \(1.0\)"),
    (lambda: nn.Hardtanh("a"), TypeError, "Hardtanh: min_val must be a number, got 'a'"),
    (lambda: nn.ReLU6(inplace=2), TypeError, "ReLU6: inplace must be a bool, got 2"),
    (lambda: nn.SiLU("no"), TypeError, "SiLU: inplace must be a bool, got 'no'"),
    (lambda: nn.PReLU(0), ValueError, "PReLU: num_parameters must be a positive int, got 0"),
    (lambda: nn.PReLU(2, init="x"), TypeError, "PReLU: init must be a number, got 'x'"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones(2)), ValueError,
     r"prelu: weight must have 1 or 3 values \(one per channel of dim 1 of the input \(2, 3\)\), got 2"),
    (lambda: F.prelu(np.ones(3), np.ones(3)), ValueError, "prelu: weight must have 1 or 1 values"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones((1, 3))), ValueError,
     r"prelu: weight must be a number or 1-D, got shape \(1, 3\)"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones(3, np.float32)), TypeError,
     "prelu: weight must have the input's dtype float64, got float32"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones(3, np.int64)), TypeError,
     "prelu: weight must be float32 or float64, got int64"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_layers_are_related_as_pytorchs():
    """A CELU is no ELU, a Hardswish no Hardsigmoid, a Softshrink no Hardshrink; a ReLU6 is a
    Hardtanh: isinstance checks in user code see the classes as PyTorch's do."""
    torch = pytest.importorskip("torch")
    names = ["ELU", "CELU", "SELU", "GELU", "SiLU", "Mish", "Softplus", "Hardtanh", "ReLU6",
             "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "PReLU", "Hardshrink",
             "Softshrink", "Tanhshrink", "Threshold", "RReLU", "GLU"]
    for a in names:
        for b in names:
            assert issubclass(getattr(nn, a), getattr(nn, b)) == issubclass(
                getattr(torch.nn, a), getattr(torch.nn, b)), (a, b)
    with pytest.raises(TypeError, match="^CELU"):
        nn.CELU(alpha="0.5")


@pytest.mark.parametrize("beta", [1.0, 0.5, 3.0, -2.0])
def test_softplus_past_the_clip_with_an_infinite_threshold(beta):
    """Beyond half the float64 range, softplus(beta x) / beta is x where beta x > 0 and 0 where
    it is < 0, whatever the threshold (the clip had given half of x)."""
    x = np.array([1e308, -1e308, 3.0])
    y = F.softplus(Tensor(x), beta=beta, threshold=float("inf")).numpy()
    big = np.where(np.sign(beta) * x[:2] > 0, x[:2], 0.0)
    np.testing.assert_array_equal(y[:2], big)
    assert y[2] == pytest.approx(np.log1p(np.exp(beta * 3.0)) / beta, rel=1e-15)


def test_tanhshrink_gradient_near_zero_is_tanh_squared_where_pytorch_s_cancels():
    """Kept different on purpose: PyTorch's tanhshrink is ``x - tanh(x)``, whose gradient
    ``1 - (1 - tanh^2)`` cancels to 0 in float32 for |x| below ~3e-4; ours is ``tanh(x)^2``,
    accurate there. Elsewhere the two agree."""
    torch = pytest.importorskip("torch")
    x = np.array([1e-5, -1e-5, 1e-3, 3e-2, 1.5], np.float32)
    a = Tensor(x.copy(), requires_grad=True)
    F.tanhshrink(a).sum().backward()
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.tanhshrink(t).sum().backward()
    g = to_np(a.grad)
    np.testing.assert_allclose(g, np.tanh(x.astype(np.float64)) ** 2, rtol=1e-5)
    assert t.grad[0].item() == 0.0 and g[0] > 0
    assert_close(g[3:], t.grad[3:], np.float32, "tanhshrink's gradient away from 0")
