"""The backward passes an audit found short of the project's standard (every op by float64 finite
differences, by the adjoint identity where it is linear, and against PyTorch), checked here:

* ``NanToNum`` (ops_math.py): finite differences off the NaNs and infs, the gradient ``g`` at
  finite values and 0 at the replaced ones, and PyTorch's ``torch.nan_to_num`` backward;
* ``ops.Pow`` (ops.py): no longer called on its own (``PowNumber`` and ``PowTensor`` in
  ops_math.py serve ``**``) but ``PowNumber``'s base class, so its own forward and backward,
  number and array exponents, by finite differences and against PyTorch;
* the adjoint identities of the BACKWARD kernels: ``<f(x), g> = <x, f^T g>`` with ``f^T g``
  whatever autograd's backward computes, for conv2d's input and weight gradients on every path
  the kernels choose by size (im2col, pixels first, folded, shifted slices, Winograd F(2x2) and
  F(4x4), phases, the inner ring, groups, depthwise; which one ran is asserted on NumPy),
  conv_transpose2d's, conv3d's, bilinear in each argument, nansum / nanmean, alpha dropout's
  linear part and dropout / dropout2d at a fixed mask;
* dropout and dropout2d against PyTorch's rule: the mask read from our output, PyTorch's
  gradient for it, ``g * mask / (1 - p)``, built by hand; the kept fraction, the scale, the
  ``training`` flag, and ``inplace`` (PyTorch's fourth argument, which ``F.dropout`` and
  ``F.dropout2d`` refused until this file's test found it).

The losses' other reductions are gradchecked in tests/test_losses_dist.py.
"""
import math

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, ops
from minifcn.kernels import conv as K
from minifcn.kernels import depthwise, shifted, winograd
from minifcn.testing import gradcheck
from oracle import assert_close, to_np, torch_tensor

INF, NAN = math.inf, math.nan


def _dot(a, b):
    return float((to_np(a).astype(np.float64) * to_np(b).astype(np.float64)).sum())


def assert_adjoint(lhs, rhs, terms, what=""):
    """``lhs = <A x, g>`` equals ``rhs = <x, A^T g>`` to 1e-10 of ``terms``, the sum of the
    magnitudes ``|A x| . |g|``: both sides sum thousands of products of both signs (Winograd's
    transforms add a few roundings more), so their rounding scales with the magnitudes, not
    with the sum, which cancels; 1e-10 of them is still far below any wrong tap or term."""
    assert abs(lhs) > 1e-6, f"{what}: <A x, g> = {lhs}, too small to test anything"
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, terms), f"{what}: <A x, g> = {lhs!r}, <x, A^T g> = {rhs!r}"


# --------------------------------------------------------------------- NanToNum
@pytest.mark.parametrize("kw", [{}, {"nan": 1.5, "posinf": 2.0, "neginf": -3.0}])
def test_nan_to_num_gradcheck_off_the_replaced_values(xp, rng, kw):
    # finite inputs: the op is the identity there, its finite differences those of x
    x = xp.asarray(rng.standard_normal((3, 4)))
    assert gradcheck(lambda t: minifcn.nan_to_num(t, **kw), [x])


def _with_nan_and_inf(rng, dtype):
    x = rng.standard_normal((4, 5)).astype(dtype)
    x.flat[[0, 3, 7]] = NAN
    x.flat[[5, 11]] = INF
    x.flat[[12, 19]] = -INF
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_to_num_gradient_passes_only_at_finite_values(xp, rng, dtype):
    x = _with_nan_and_inf(rng, dtype)
    t = Tensor(xp.asarray(x), requires_grad=True)
    g = rng.standard_normal(x.shape).astype(dtype)   # not all ones: a wrong factor would show
    minifcn.nan_to_num(t, nan=0.5).backward(xp.asarray(g))
    np.testing.assert_array_equal(to_np(t.grad), np.where(np.isfinite(x), g, 0))
    assert t.grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [{}, {"nan": 1.5, "posinf": 2.0, "neginf": -3.0}, {"posinf": 7.0}])
def test_nan_to_num_backward_as_pytorch(xp, rng, dtype, kw):
    torch = pytest.importorskip("torch")
    x = _with_nan_and_inf(rng, dtype)
    t, tt = Tensor(xp.asarray(x), requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y, yt = minifcn.nan_to_num(t, **kw), torch.nan_to_num(tt, **kw)
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    g = rng.standard_normal(x.shape).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(to_np(t.grad), to_np(tt.grad))


# --------------------------------------------------------------------- ops.Pow
# ops.pow() has no caller and Tensor.__pow__ goes through ops_math.pow, but ops.Pow is the
# base class of ops_math.PowNumber (its __init__, the exponent's checks): alive, so checked.
@pytest.mark.parametrize("e", [2.5, -1.5, 3, 0.5, 0])
def test_ops_pow_gradcheck_with_a_number(xp, rng, e):
    a = xp.asarray(rng.uniform(0.5, 2.0, (3, 4)))   # positive: every real power is smooth there
    assert gradcheck(lambda t: ops.Pow(e)(t), [a])


def test_ops_pow_gradcheck_with_an_array_of_exponents(xp, rng):
    e = xp.asarray(np.array([[2.0], [0.0], [-0.5]]))   # (3, 1) against (1, 4): summed back
    assert gradcheck(lambda t: ops.Pow(e)(t), [xp.asarray(rng.uniform(0.5, 2.0, (1, 4)))])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("e", [2.5, -1.5, 3.0, 0.0, "array"])
def test_ops_pow_as_pytorch(xp, rng, dtype, e):
    torch = pytest.importorskip("torch")
    a = rng.uniform(0.5, 2.0, (3, 4)).astype(dtype)
    ours_e, their_e = e, e
    if e == "array":
        ours_e = np.array([[2.0, 0.0, -0.5, 1.5]], dtype)
        ours_e, their_e = xp.asarray(ours_e), torch.from_numpy(ours_e)
    t, tt = Tensor(xp.asarray(a), requires_grad=True), torch_tensor(torch, a, requires_grad=True)
    y, yt = ops.Pow(ours_e)(t), torch.pow(tt, their_e)
    assert_close(y, yt, dtype, f"pow {e}")
    g = rng.standard_normal(a.shape).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert_close(t.grad, tt.grad, dtype, f"pow {e} gradient")


def test_ops_pow_refuses_a_tensor_exponent():
    with pytest.raises(TypeError, match="exponent must be a number or an array"):
        ops.Pow(Tensor(np.array([2.0])))


# --------------------------------------------------------------------- conv2d's backward kernels
# the functions that say which path a backward took: (module, attribute) a path's name
PATHS = {
    "winograd": [(winograd, "grads"), (winograd, "grad_input"), (winograd, "grad_weight"),
                 (winograd, "conv2d")],
    "shifted": [(shifted, "correlate"), (shifted, "grad_weight")],
    "phases": [(K, "_grad_input_by_phases"), (K, "_grad_weight_by_phases"), (K, "_conv2d_by_phases")],
    "pixels_first": [(K, "_grad_input_pixels_first")],
    "fold": [(K, "_fold")],
    "im2col_weight": [(K, "_grad_weight_product")],
    "im2col": [(K, "_multiply")],   # the forward's product: a transposed convolution's gx
    "inner": [(K, "_ring_cut")],
    "depthwise": [(depthwise, "depthwise_conv2d_grads")],
}


@pytest.fixture
def paths_taken(monkeypatch):
    """A set that the kernels' path functions add their path's name to when they run."""
    seen = set()
    for name, places in PATHS.items():
        for module, attr in places:
            real = getattr(module, attr)

            def spy(*args, _real=real, _name=name, **kwargs):
                seen.add(_name + str(kwargs.get("m", "")))   # Winograd's tile: winograd2, winograd4
                return _real(*args, **kwargs)
            monkeypatch.setattr(module, attr, spy)
    return seen


def _bilinear_adjoint(xp, rng, f, arrays, wants, names, seen=None):
    """For ``f`` linear in each of ``arrays`` with the others fixed (a convolution in x and in W):
    ``<f(...), g> = <a, grad_a>`` for each ``a`` that ``wants`` a gradient, the gradients from
    autograd's backward; ``seen`` is cleared after the forward, so it holds the backward's paths."""
    ts = [Tensor(xp.asarray(a), requires_grad=w) for a, w in zip(arrays, wants)]
    y = f(*ts)
    g = rng.standard_normal(y.shape)
    if seen is not None:
        seen.clear()
    y.backward(xp.asarray(g))
    lhs, terms = _dot(y, g), _dot(np.abs(to_np(y)), np.abs(g))
    for t, w, name in zip(ts, wants, names):
        if w:
            assert t.grad is not None and t.grad.shape == t.shape, name
            assert_adjoint(lhs, _dot(t.data, t.grad), terms, f"gradient of {name}")
        else:
            assert t.grad is None, f"{name} wants no gradient but got one"


# (name, (n, c, h, w), out_c, (kh, kw), stride, padding, dilation, groups, the paths its
# backward takes on NumPy by the kernels' own size rules)
CONV_CASES = [
    ("small map", (2, 24, 6, 6), 8, (3, 3), 1, 1, 1, 1, {"pixels_first", "im2col_weight"}),
    ("strided, rectangular", (2, 3, 7, 6), 4, (3, 2), 2, 0, 1, 1, {"phases"}),
    ("stride past the kernel", (2, 24, 8, 7), 8, (2, 2), 3, 1, 1, 1, {"pixels_first", "im2col_weight"}),
    ("dilated, per-axis", (1, 24, 9, 8), 4, (3, 3), (2, 1), (1, 2), 2, 1, {"pixels_first", "im2col_weight"}),
    ("1x1", (2, 8, 5, 4), 6, (1, 1), 1, 0, 1, 1, {"pixels_first", "im2col_weight"}),
    ("large map, folded", (1, 32, 48, 48), 8, (2, 2), 2, 0, 1, 1, {"fold", "im2col_weight"}),
    ("padded past the reach", (1, 2, 4, 5), 3, (3, 3), 1, 6, 1, 1, {"inner"}),
    ("large map, shifted", (1, 16, 64, 64), 16, (3, 3), 1, 1, 1, 1, {"shifted"}),
    ("Winograd F(2x2)", (1, 128, 26, 26), 128, (3, 3), 1, 1, 1, 1, {"winograd2"}),
    ("Winograd F(4x4)", (1, 32, 80, 80), 32, (3, 3), 1, 1, 1, 1, {"winograd4"}),
    ("groups", (2, 6, 7, 6), 4, (3, 3), (1, 2), 1, 1, 2, {"phases"}),
    ("depthwise", (2, 4, 7, 6), 8, (3, 3), 2, 1, 1, 4, {"depthwise"}),
]
WANTS = {"both": (True, True), "x": (True, False), "W": (False, True)}


@pytest.mark.parametrize("wants", list(WANTS))
@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv2d_backward_is_the_adjoint_of_the_forward(xp, rng, paths_taken, case, wants):
    """<conv2d(x, W), g> = <x, grad_x(g)> = <W, grad_W(x, g)>: the backward's two kernels are the
    transposes of the forward in x and in W, whichever path they take (both at once: Winograd's
    and the side-by-side small maps share work; one alone: conv2d_grad_input or _grad_weight)."""
    name, (n, c, h, w), out_c, k, s, p, d, groups, expected = case
    x = rng.standard_normal((n, c, h, w))
    W = rng.standard_normal((out_c, c // groups) + k)
    _bilinear_adjoint(xp, rng, lambda x, W: F.conv2d(x, W, None, s, p, d, groups), [x, W], WANTS[wants],
                      "xW", paths_taken)
    if xp is np:   # a GPU (or its stand-in) picks its own paths: no Winograd, no pixels first
        want = set(expected)
        if wants == "x":
            want -= {"im2col_weight"}
        if wants == "W":
            want -= {"pixels_first", "fold"}
        assert want <= paths_taken, f"{name}: expected the paths {want}, the backward took {paths_taken}"


# (n, in_c, h, w), out_c, (kh, kw), stride, padding, output_padding, dilation, groups, the path
# its backward takes on NumPy (gx is conv2d(gy, W), gW conv2d's weight gradient of gy by x)
CONVT_CASES = [
    ((2, 3, 4, 4), 2, (3, 3), 1, 1, 0, 1, 1, "shifted"),         # shallow: the shifts move fewer bytes
    ((2, 8, 5, 5), 24, (3, 3), 1, 1, 0, 1, 1, "im2col"),
    ((2, 2, 3, 3), 2, (4, 4), 2, 1, 0, 1, 1, "phases"),          # FCN's 2x upsampling
    ((1, 2, 3, 5), 3, (3, 3), 2, 1, 1, 1, 1, "phases"),          # output_padding
    ((1, 2, 3, 4), 2, (2, 3), (3, 2), 0, (2, 1), 1, 1, "phases"),  # stride past the kernel across
    ((1, 2, 4, 3), 2, (3, 3), 1, 0, 1, 2, 1, "shifted"),         # output_padding past the stride (full map)
    ((2, 4, 3, 4), 6, (3, 3), 2, 1, 1, 1, 2, "phases"),          # groups
    ((1, 16, 62, 62), 16, (3, 3), 1, 1, 0, 1, 1, "shifted"),     # large map
    ((1, 128, 26, 26), 128, (3, 3), 1, 1, 0, 1, 1, "winograd2"),  # wide 3x3
]


@pytest.mark.parametrize("wants", list(WANTS))
@pytest.mark.parametrize("case", CONVT_CASES, ids=[f"{c[-1]}{i}" for i, c in enumerate(CONVT_CASES)])
def test_conv_transpose2d_backward_is_the_adjoint_of_the_forward(xp, rng, paths_taken, case, wants):
    shape, out_c, k, s, p, op, d, groups, path = case
    x = rng.standard_normal(shape)
    W = rng.standard_normal((shape[1], out_c // groups) + k)
    _bilinear_adjoint(xp, rng, lambda x, W: F.conv_transpose2d(x, W, None, s, p, op, groups, d), [x, W],
                      WANTS[wants], "xW", paths_taken)
    if xp is np:   # im2col: gx a forward product, gW the weight gradient's
        want = {path}
        if path == "im2col":
            want = {name for name, w in zip(["im2col", "im2col_weight"], WANTS[wants]) if w}
        assert want <= paths_taken, f"{case}: expected the paths {want}, the backward took {paths_taken}"


# (n, c, d, h, w), out_c, (kd, kh, kw), stride, padding, dilation, groups
CONV3D_CASES = [
    ((2, 3, 4, 5, 4), 2, (3, 3, 3), 1, 1, 1, 1),
    ((1, 2, 5, 6, 7), 3, (2, 3, 2), (2, 1, 3), (0, 1, 1), 1, 1),
    ((1, 2, 7, 6, 6), 2, (3, 2, 3), 1, (2, 0, 1), (2, 1, 2), 1),
    ((2, 4, 4, 4, 5), 6, (3, 3, 3), 2, 1, 1, 2),
]


@pytest.mark.parametrize("wants", list(WANTS))
@pytest.mark.parametrize("case", CONV3D_CASES)
def test_conv3d_backward_is_the_adjoint_of_the_forward(xp, rng, case, wants):
    shape, out_c, k, s, p, d, groups = case
    x = rng.standard_normal(shape)
    W = rng.standard_normal((out_c, shape[1] // groups) + k)
    _bilinear_adjoint(xp, rng, lambda x, W: F.conv3d(x, W, None, s, p, d, groups), [x, W], WANTS[wants], "xW")


# --------------------------------------------------------------------- the other linear maps
@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("lead", [(5,), (2, 3)])
def test_bilinear_backward_is_the_adjoint_in_each_argument(xp, rng, which, lead):
    """y_k = x1^T W_k x2 is linear in x1, in x2 and in W, each with the other two fixed."""
    arrays = [rng.standard_normal(lead + (3,)), rng.standard_normal(lead + (4,)),
              rng.standard_normal((2, 3, 4))]
    wants = [i == which for i in range(3)]
    _bilinear_adjoint(xp, rng, F.bilinear, arrays, wants, ["input1", "input2", "weight"])


@pytest.mark.parametrize("op", ["nansum", "nanmean"])
@pytest.mark.parametrize("kw", [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": (0, 2)}])
def test_nansum_nanmean_backward_is_the_adjoint(xp, rng, op, kw):
    """At fixed NaN positions nansum is linear in the other values (nanmean too: its counts are
    fixed): <f(x), g> = <x with 0 at the NaNs, grad>, and the NaNs' gradient is 0."""
    x = rng.standard_normal((3, 4, 5))
    nan = rng.random(x.shape) < 0.3
    nan[:, :, 0] = False   # no all-NaN row along any dim: its mean's gradient is NaN
    x[nan] = NAN
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = getattr(minifcn, op)(t, **kw)
    g = rng.standard_normal(y.shape)
    y.backward(xp.asarray(g))
    grad = to_np(t.grad)
    np.testing.assert_array_equal(grad[nan], 0)
    assert_adjoint(_dot(y, g), _dot(np.where(nan, 0, x), grad), _dot(np.abs(to_np(y)), np.abs(g)), op)


@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_backward_is_the_adjoint_of_its_linear_part(xp, rng, p, feature):
    """At a fixed draw alpha dropout is affine, y = A x + b: <y(x) - y(0), g> = <x, A^T g>."""
    f = F.feature_alpha_dropout if feature else F.alpha_dropout
    x = rng.standard_normal((3, 4, 5, 2))

    def run(a):
        minifcn.manual_seed(7)   # the same draw both times
        return f(a, p, training=True)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = run(t)
    g = rng.standard_normal(y.shape)
    y.backward(xp.asarray(g))
    shift = to_np(run(Tensor(xp.zeros_like(t.data))))
    assert len(np.unique(shift)) == 2   # b takes two values: kept and dropped (so some of each)
    lhs = _dot(to_np(y) - shift, g)
    assert_adjoint(lhs, _dot(x, t.grad), _dot(np.abs(to_np(y) - shift), np.abs(g)), "alpha dropout")


@pytest.mark.parametrize("op", ["dropout", "dropout2d"])
def test_dropout_backward_is_the_adjoint_at_its_mask(xp, rng, op):
    x = rng.standard_normal((3, 6, 4, 5))
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = getattr(F, op)(t, 0.4)
    g = rng.standard_normal(y.shape)
    y.backward(xp.asarray(g))
    assert_adjoint(_dot(y, g), _dot(x, t.grad), _dot(np.abs(to_np(y)), np.abs(g)), op)


# --------------------------------------------------------------------- dropout vs PyTorch's rule
def _binomial_ok(dropped, total, p):
    """The dropped count within 5 standard deviations of p * total."""
    return abs(dropped - p * total) <= 5 * math.sqrt(total * p * (1 - p)) + 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_mask_scale_and_gradient_as_pytorch(xp, rng, dtype, p):
    torch = pytest.importorskip("torch")
    x = (rng.uniform(0.5, 2.0, (4, 50, 60)) * rng.choice([-1, 1], (4, 50, 60))).astype(dtype)   # no 0
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = F.dropout(t, p)
    out = to_np(y)
    mask = (out != 0).astype(dtype)   # x is nonzero: 0 marks a dropped value
    assert _binomial_ok((mask == 0).sum(), x.size, p), (mask == 0).mean()
    # PyTorch's rule for that mask: x * mask / (1 - p), forward and backward
    xt = torch_tensor(torch, x, requires_grad=True)
    mt = torch.from_numpy(mask)
    yt = xt * mt / (1 - p)
    assert_close(out, yt, dtype, "dropout forward")
    g = rng.standard_normal(x.shape).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert t.grad.dtype == dtype
    assert_close(t.grad, xt.grad, dtype, "dropout gradient")
    # PyTorch's own dropout drops the same fraction, and scales by the same 1 / (1 - p)
    theirs = torch.nn.functional.dropout(torch.from_numpy(x), p, training=True).numpy()
    assert _binomial_ok((theirs == 0).sum(), x.size, p)
    kept = theirs != 0
    np.testing.assert_allclose(theirs[kept] / x[kept], 1 / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(out[mask == 1] / x[mask == 1], 1 / (1 - p), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout2d_mask_scale_and_gradient_as_pytorch(xp, rng, dtype, p):
    torch = pytest.importorskip("torch")
    shape = (8, 64, 3, 4)
    x = (rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)).astype(dtype)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = F.dropout2d(t, p)
    out = to_np(y)
    mask = (out != 0).astype(dtype)
    # whole channels: the mask is constant over each (image, channel)'s pixels
    np.testing.assert_array_equal(mask, np.broadcast_to(mask[:, :, :1, :1], shape))
    assert _binomial_ok((mask[:, :, 0, 0] == 0).sum(), shape[0] * shape[1], p)
    xt = torch_tensor(torch, x, requires_grad=True)
    yt = xt * torch.from_numpy(mask) / (1 - p)
    assert_close(out, yt, dtype, "dropout2d forward")
    g = rng.standard_normal(shape).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert_close(t.grad, xt.grad, dtype, "dropout2d gradient")
    theirs = torch.nn.functional.dropout2d(torch.from_numpy(x), p, training=True).numpy()
    dropped = theirs[:, :, 0, 0] == 0
    assert _binomial_ok(dropped.sum(), shape[0] * shape[1], p)
    np.testing.assert_allclose(theirs[~dropped] / x[~dropped], 1 / (1 - p), rtol=1e-6)


@pytest.mark.parametrize("op", ["dropout", "dropout2d"])
def test_dropout_training_flag_and_the_ends_of_p_as_pytorch(xp, rng, op):
    """training=False and p=0: the input itself, gradient g; p=1: zeros, gradient 0, in both."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    for p, training in [(0.5, False), (0.0, True), (1.0, True)]:
        t, tt = Tensor(xp.asarray(x), requires_grad=True), torch_tensor(torch, x, requires_grad=True)
        y, yt = getattr(F, op)(t, p, training), getattr(torch.nn.functional, op)(tt, p, training)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        y.backward(xp.asarray(g))
        yt.backward(torch.from_numpy(g))
        np.testing.assert_array_equal(to_np(t.grad), to_np(tt.grad))


@pytest.mark.parametrize("op", ["dropout", "dropout2d"])
def test_dropout_takes_pytorchs_inplace_argument(xp, rng, op):
    """PyTorch's ``dropout(input, p, training, inplace)``: ``inplace`` taken, positionally too,
    changing nothing here (a new array, as the other dropouts'); not a bool: an error."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for inplace in (False, True):
        y = getattr(F, op)(xp.asarray(x), 0.5, False, inplace)   # not training: the identity
        yt = getattr(torch.nn.functional, op)(torch.from_numpy(x.copy()), 0.5, False, inplace)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        t = Tensor(xp.asarray(x), requires_grad=True)
        minifcn.manual_seed(3)
        y = getattr(F, op)(t, 0.5, True, inplace=inplace)
        np.testing.assert_array_equal(to_np(t.data), x)   # the input untouched
        mask = to_np(y) != 0
        np.testing.assert_allclose(to_np(y)[mask], 2 * x[mask], rtol=1e-6)
    with pytest.raises(TypeError, match="inplace must be a bool, got 'yes'"):
        getattr(F, op)(xp.asarray(x), 0.5, True, "yes")
