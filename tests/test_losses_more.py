"""The elementwise losses after cross-entropy: ``F.binary_cross_entropy`` (probabilities),
``F.binary_cross_entropy_with_logits`` (``weight``, ``pos_weight``), ``F.l1_loss``,
``F.smooth_l1_loss`` (``beta``), ``F.huber_loss`` (``delta``) and their modules. Each against
a loop over the values written from the definition (below), against PyTorch (values, and
the gradients of input and target, float32 and float64, every reduction, logits of +-100 and
probabilities of 0 and 1), and against float64 finite differences."""
import math

import numpy as np
import pytest

import minifcn.functional as F
import minifcn.nn as nn
from minifcn import Tensor
from minifcn.testing import gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

REDUCTIONS = ["mean", "sum", "none"]
KINDS = ["bce", "bce_logits", "l1", "smooth_l1", "huber"]


# --------------------------------------------------------------------- loops over the values
def _log_sigmoid(a):
    """log(1 / (1 + e^-a)) for one float, without overflow on either side."""
    return -math.log1p(math.exp(-a)) if a >= 0 else a - math.log1p(math.exp(a))


def loop_loss(kind, x, t, reduction, weight=None, pos_weight=None, beta=1.0, delta=1.0):
    """Each loss value by value from its textbook definition (PyTorch's docs), in float64."""
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    w = np.broadcast_to(np.float64(1.0) if weight is None else weight, x.shape)
    p = np.broadcast_to(np.float64(1.0) if pos_weight is None else pos_weight, x.shape)
    out = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        a, b = float(x[i]), float(t[i])
        if kind == "bce":   # each log clamped at -100
            log_a = max(math.log(a), -100.0) if a > 0 else -100.0
            log_1ma = max(math.log(1 - a), -100.0) if a < 1 else -100.0
            v = -(b * log_a + (1 - b) * log_1ma)
        elif kind == "bce_logits":   # -(p t log s(a) + (1 - t) log(1 - s(a))), 1 - s(a) = s(-a)
            v = -(p[i] * b * _log_sigmoid(a) + (1 - b) * _log_sigmoid(-a))
        elif kind == "l1":
            v = abs(a - b)
        elif kind == "smooth_l1":
            d = abs(a - b)
            v = d if beta == 0 else (0.5 * d * d / beta if d < beta else d - 0.5 * beta)
        else:
            d = abs(a - b)
            v = 0.5 * d * d if d < delta else delta * (d - 0.5 * delta)
        out[i] = w[i] * v
    return out if reduction == "none" else (out.sum() if reduction == "sum" else out.mean())


# --------------------------------------------------------------------- the cases
def _data(kind, shape, rng):
    """Input and target of ``kind``: probabilities away from 0 and 1 for BCE, logits for its
    fused twin; pairs never within 0.05 of a kink (|d| = 0 or beta = delta = 0.7) for the rest,
    so a finite-difference step never crosses one."""
    if kind == "bce":
        return rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    if kind == "bce_logits":
        return 3 * rng.standard_normal(shape), rng.uniform(0, 1, shape)
    x = rng.standard_normal(shape)
    d = rng.choice([-1.0, 1.0], shape) * np.where(rng.random(shape) < 0.5, rng.uniform(0.05, 0.65, shape),
                                                  rng.uniform(0.75, 2.0, shape))
    return x, x - d


def _weights(kind, shape, rng):
    """weight (and pos_weight) of the BCE losses: one a class, (C, 1, 1), for (n, C, h, w);
    one a value of the last axis for other shapes (PyTorch's plain broadcasting)."""
    if kind not in ("bce", "bce_logits") or len(shape) == 0:
        return {}
    wshape = (shape[1], 1, 1) if len(shape) == 4 else shape[-1:]
    k = {"weight": rng.uniform(0.5, 2.0, wshape)}
    if kind == "bce_logits":
        k["pos_weight"] = rng.uniform(0.5, 4.0, wshape)
    return k


def ours(kind, x, t, reduction, **k):
    if kind == "bce":
        return F.binary_cross_entropy(x, t, k.get("weight"), reduction=reduction)
    if kind == "bce_logits":
        return F.binary_cross_entropy_with_logits(x, t, k.get("weight"), reduction=reduction,
                                                  pos_weight=k.get("pos_weight"))
    if kind == "l1":
        return F.l1_loss(x, t, reduction=reduction)
    if kind == "smooth_l1":
        return F.smooth_l1_loss(x, t, reduction=reduction, beta=k.get("beta", 0.7))
    return F.huber_loss(x, t, reduction=reduction, delta=k.get("delta", 0.7))


def theirs(torch, kind, x, t, reduction, **k):
    TF = torch.nn.functional
    k = {name: torch_tensor(torch, v.astype(to_np(x).dtype)) if isinstance(v, np.ndarray) else v
         for name, v in k.items()}
    if kind == "bce":
        return TF.binary_cross_entropy(x, t, k.get("weight"), reduction=reduction)
    if kind == "bce_logits":
        return TF.binary_cross_entropy_with_logits(x, t, k.get("weight"), reduction=reduction,
                                                   pos_weight=k.get("pos_weight"))
    if kind == "l1":
        return TF.l1_loss(x, t, reduction=reduction)
    if kind == "smooth_l1":
        return TF.smooth_l1_loss(x, t, reduction=reduction, beta=k.get("beta", 0.7))
    return TF.huber_loss(x, t, reduction=reduction, delta=k.get("delta", 0.7))


def _against_torch(torch, xp, kind, a, b, dtype, reduction, rng, **k):
    """Forward and both gradients, ours vs PyTorch's, for one random upstream gradient."""
    x = Tensor(xp.asarray(a.astype(dtype)), requires_grad=True)
    t = Tensor(xp.asarray(b.astype(dtype)), requires_grad=True)
    xt = torch_tensor(torch, a.astype(dtype), requires_grad=True)
    tt = torch_tensor(torch, b.astype(dtype), requires_grad=True)
    ko = {name: xp.asarray(v.astype(dtype)) if isinstance(v, np.ndarray) else v for name, v in k.items()}
    y, yt = ours(kind, x, t, reduction, **ko), theirs(torch, kind, xt, tt, reduction, **k)
    assert y.dtype == dtype and y.shape == tuple(yt.shape)
    assert_close(y, yt, dtype, f"{kind} forward")
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert x.grad.dtype == dtype and t.grad.dtype == dtype
    assert_close(x.grad, xt.grad, dtype, f"{kind} input gradient")
    assert_close(t.grad, tt.grad, dtype, f"{kind} target gradient")
    return y


# --------------------------------------------------------------------- against PyTorch and the loops
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (7,), (3, 4), ()])
def test_loss_values_and_both_gradients_as_pytorch_and_the_loop(xp, rng, kind, dtype, reduction, shape):
    torch = pytest.importorskip("torch")
    a, b = _data(kind, shape, rng)
    k = _weights(kind, shape, rng)
    y = _against_torch(torch, xp, kind, a, b, dtype, reduction, rng, **k)
    if dtype == np.float64:
        want = loop_loss(kind, a, b, reduction, beta=0.7, delta=0.7, **k)
        np.testing.assert_allclose(to_np(y), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_gradients_of_input_and_target_by_finite_differences(xp, rng, kind, reduction):
    a, b = _data(kind, (2, 3, 2, 2), rng)
    k = {name: xp.asarray(v) for name, v in _weights(kind, (2, 3, 2, 2), rng).items()}
    assert gradcheck(lambda x, t: ours(kind, x, t, reduction, **k), [xp.asarray(a), xp.asarray(b)])


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 2.5])
def test_smooth_l1_and_huber_over_their_parameter_as_pytorch(rng, beta):
    """beta = 0 is the L1 loss (no 0 / 0); Huber is delta times SmoothL1 of beta = delta."""
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((3, 5)) * 2, rng.standard_normal((3, 5))
    for reduction in REDUCTIONS:
        y = _against_torch(torch, np, "smooth_l1", a, b, np.float64, reduction, rng, beta=beta)
        np.testing.assert_allclose(to_np(y), loop_loss("smooth_l1", a, b, reduction, beta=beta), rtol=1e-12)
        if beta > 0:
            h = _against_torch(torch, np, "huber", a, b, np.float64, reduction, rng, delta=beta)
            np.testing.assert_allclose(to_np(h), beta * to_np(y), rtol=1e-12, atol=1e-15)
    assert F.smooth_l1_loss(a, b, beta=0.0).item() == F.l1_loss(a, b).item()


# --------------------------------------------------------------------- extremes
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_stays_finite_and_exact_at_large_logits(xp, rng, dtype, reduction):
    torch = pytest.importorskip("torch")
    a = np.array([100.0, -100.0, 100.0, -100.0, 1000.0, -1000.0, 0.0, 40.0])
    b = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.5, 0.25])
    for k in ({}, {"pos_weight": np.array([3.0])}, {"weight": rng.uniform(0.5, 2, 8), "pos_weight": rng.uniform(0.5, 4, 8)}):
        y = _against_torch(torch, xp, "bce_logits", a, b, dtype, reduction, rng, **k)
        assert np.isfinite(to_np(y)).all()
    loss = to_np(F.binary_cross_entropy_with_logits(xp.asarray(a.astype(dtype)), xp.asarray(b.astype(dtype)),
                                                    reduction="none"))
    assert loss[0] == 100 and loss[1] == 100 and loss[4] == 0 and loss[5] == 0   # wrong by 100: 100; right: 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_at_probabilities_0_and_1_as_pytorch(xp, rng, dtype, reduction):
    """Values, PyTorch's: each log clamped at -100 (1e-42's log, -96.7, is not; 1e-44's, -101.3,
    is). The input gradient, PyTorch's: 1e12 for a 0 or 1 that is wrong (its floor of
    x (1 - x) at 1e-12), 0 for one that is right. The target gradient: the slope of the clamped
    logs, log(1 - x) - log(x), which is PyTorch's -logit(x) while both logs are above -100,
    and +-100 past that, where PyTorch's goes on (to +-inf at 0 and 1)."""
    torch = pytest.importorskip("torch")
    a = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5, 1e-30, 0.999, 1e-42, 1e-44])
    b = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.3, 1.0, 1.0, 1.0, 1.0])
    if dtype == np.float32:
        a[7] = 1e-6   # 1e-30 is no float32 (1e-42 and 1e-44 are, subnormal)
    x = Tensor(xp.asarray(a.astype(dtype)), requires_grad=True)
    t = Tensor(xp.asarray(b.astype(dtype)), requires_grad=True)
    xt = torch_tensor(torch, a.astype(dtype), requires_grad=True)
    tt = torch_tensor(torch, b.astype(dtype), requires_grad=True)
    y = F.binary_cross_entropy(x, t, reduction=reduction)
    yt = torch.nn.functional.binary_cross_entropy(xt, tt, reduction=reduction)
    assert_close(y, yt, dtype, "forward")
    assert np.isfinite(to_np(y)).all()
    y.backward(xp.ones(y.shape, dtype=dtype))
    yt.backward(torch.ones(yt.shape, dtype=yt.dtype))
    assert_close(x.grad, xt.grad, dtype, "input gradient")
    scale = 1 / a.size if reduction == "mean" else 1
    np.testing.assert_allclose(to_np(x.grad)[:4], np.array([0, 0, -1e12, 1e12]) * scale, rtol=1e-7)
    gt, want = to_np(t.grad), to_np(tt.grad)
    with np.errstate(divide="ignore"):
        a32 = a.astype(dtype).astype(np.float64)
        logs_clamped = (np.log(a32) > -100) & (np.log1p(-a32) > -100)
    assert list(np.flatnonzero(~logs_clamped)) == [0, 1, 2, 3, 4, 5, 10]
    assert_close(gt[logs_clamped], want[logs_clamped], dtype, "target gradient")
    np.testing.assert_allclose(gt[~logs_clamped], np.sign(want[~logs_clamped]) * 100 * scale, rtol=1e-6)
    assert np.isinf(want[:6]).all() and np.isfinite(want[6:]).all()


def test_bce_gradient_in_the_target_is_the_slope_of_the_clamped_forward():
    """Where PyTorch says inf, the finite difference of the clamped loss in t says +-100."""
    x = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([0.2, 0.7, 0.9, 0.1])
    assert gradcheck(lambda x, t: F.binary_cross_entropy(x, t, reduction="sum"),
                     [Tensor(x), Tensor(t, requires_grad=True)])


# --------------------------------------------------------------------- weights and broadcasting
@pytest.mark.parametrize("dtype", DTYPES)
def test_weight_and_pos_weight_broadcast_as_pytorch(xp, rng, dtype):
    """(C, 1, 1) is one value a class of (n, C, h, w); a (w,) one meets the last axis, as in
    PyTorch (its docs' warning); a full-shape one weighs each value."""
    torch = pytest.importorskip("torch")
    shape = (2, 3, 4, 5)
    a, b = 3 * rng.standard_normal(shape), (rng.random(shape) < 0.3).astype(np.float64)
    for wshape in [(3, 1, 1), (5,), shape, (4, 1), (1,)]:
        k = {"weight": rng.uniform(0.5, 2, wshape), "pos_weight": rng.uniform(0.5, 4, wshape)}
        for reduction in REDUCTIONS:
            _against_torch(torch, xp, "bce_logits", a, b, dtype, reduction, rng, **k)
            _against_torch(torch, xp, "bce", 1 / (1 + np.exp(-a)), b, dtype, reduction, rng, weight=k["weight"])
    y = F.binary_cross_entropy_with_logits(a, b, reduction="none", pos_weight=rng.uniform(1, 2, (3, 1, 1)))
    np.testing.assert_allclose(to_np(F.binary_cross_entropy_with_logits(a, b, reduction="none")),
                               loop_loss("bce_logits", a, b, "none"), rtol=1e-12)
    assert y.shape == shape


def test_integer_targets_are_read_in_the_input_s_dtype(rng):
    x = rng.uniform(0.1, 0.9, (2, 3)).astype(np.float32)
    mask = (rng.random((2, 3)) < 0.5).astype(np.int64)   # PyTorch refuses a Long target here
    for fn in (F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.l1_loss, F.smooth_l1_loss, F.huber_loss):
        y = fn(Tensor(x), mask)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.item(), fn(Tensor(x), mask.astype(np.float32)).item(), rtol=0)


def test_mean_of_nothing_is_nan_as_pytorch(xp):
    empty = xp.zeros((0, 3))
    for kind in KINDS:
        x = Tensor(empty, requires_grad=True)
        y = ours(kind, x, empty, "mean")
        assert math.isnan(y.item())
        y.backward()
        assert x.grad.shape == (0, 3)
        assert ours(kind, x, empty, "sum").item() == 0.0


def test_only_the_gradients_asked_for(rng):
    """A target that is data gets no gradient; an input that is data neither."""
    a, b = _data("huber", (3, 4), rng)
    x, t = Tensor(a, requires_grad=True), Tensor(b)
    F.huber_loss(x, t).backward()
    assert t.grad is None and x.grad is not None
    x, t = Tensor(a), Tensor(b, requires_grad=True)
    F.l1_loss(x, t).backward()
    assert x.grad is None and t.grad is not None


# --------------------------------------------------------------------- modules
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_the_modules_as_pytorch_s(rng, reduction):
    torch = pytest.importorskip("torch")
    shape = (2, 3, 4, 5)
    w, pw = rng.uniform(0.5, 2, (3, 1, 1)), rng.uniform(0.5, 4, (3, 1, 1))
    pairs = [
        (nn.BCELoss(w, reduction=reduction), torch.nn.BCELoss(torch.from_numpy(w), reduction=reduction), "bce"),
        (nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw),
         torch.nn.BCEWithLogitsLoss(torch.from_numpy(w), reduction=reduction, pos_weight=torch.from_numpy(pw)), "bce_logits"),
        (nn.BCEWithLogitsLoss(reduction=reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction), "bce_logits"),
        (nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), "l1"),
        (nn.SmoothL1Loss(reduction=reduction, beta=0.7), torch.nn.SmoothL1Loss(reduction=reduction, beta=0.7), "smooth_l1"),
        (nn.HuberLoss(reduction, 0.7), torch.nn.HuberLoss(reduction, 0.7), "huber"),
    ]
    for mine, theirs_, kind in pairs:
        a, b = _data(kind, shape, rng)
        x, xt = Tensor(a, requires_grad=True), torch_tensor(torch, a, requires_grad=True)
        y, yt = mine(x, b), theirs_(xt, torch.from_numpy(b))
        assert_close(y, yt, np.float64, type(mine).__name__)
        g = rng.standard_normal(tuple(yt.shape))
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        assert_close(x.grad, xt.grad, np.float64, type(mine).__name__ + " gradient")
        assert sorted(mine.state_dict()) == sorted(theirs_.state_dict()), type(mine).__name__


def test_the_modules_repr_and_buffers():
    m = nn.BCEWithLogitsLoss(pos_weight=np.ones((3, 1, 1)))
    assert m.pos_weight.shape == (3, 1, 1) and m.weight is None
    assert sorted(m.state_dict()) == ["pos_weight"]
    assert repr(nn.SmoothL1Loss(beta=0.5)) == "SmoothL1Loss(reduction='mean', beta=0.5)"
    assert repr(nn.HuberLoss("sum", 2)) == "HuberLoss(reduction='sum', delta=2.0)"
    assert repr(nn.L1Loss(reduction="none")) == "L1Loss(reduction='none')"


# --------------------------------------------------------------------- errors
def test_errors_name_the_bad_value():
    x, t = np.full((3,), 0.5), np.full((1, 3), 0.5)
    for name, fn in [("binary_cross_entropy", F.binary_cross_entropy),
                     ("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
                     ("l1_loss", F.l1_loss), ("smooth_l1_loss", F.smooth_l1_loss), ("huber_loss", F.huber_loss)]:
        with pytest.raises(ValueError, match=rf"{name}: target shape \(1, 3\) differs from input shape \(3,\)"):
            fn(x, t)
        with pytest.raises(ValueError, match=rf"{name}: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
            fn(x, x, reduction="avg")
        with pytest.raises(TypeError, match=rf"{name}: input must be float32 or float64, got int64"):
            fn(np.zeros(3, np.int64), x)
        with pytest.raises(TypeError, match=rf"{name}: a target that requires grad must have the input's dtype float64, got float32"):
            fn(x, Tensor(x.astype(np.float32), requires_grad=True))
    for bad, what in [(1.5, "1.5"), (-0.1, "-0.1"), (np.nan, "nan")]:
        with pytest.raises(ValueError, match=rf"binary_cross_entropy: every input value must be a probability in \[0, 1\], got {what}"):
            F.binary_cross_entropy(np.array([0.5, bad]), x[:2])
        with pytest.raises(ValueError, match=rf"binary_cross_entropy: every target value must be a probability in \[0, 1\], got {what}"):
            F.binary_cross_entropy(x[:2], np.array([0.5, bad]))
    for beta in (-1, -1e-9, True, "1"):
        with pytest.raises(ValueError, match=rf"smooth_l1_loss: beta must be a non-negative number, got {beta!r}"):
            F.smooth_l1_loss(x, x, beta=beta)
        with pytest.raises(ValueError, match="SmoothL1Loss: beta must be a non-negative number"):
            nn.SmoothL1Loss(beta=beta)
    for delta in (0, 0.0, -1.0, False):
        with pytest.raises(ValueError, match=rf"huber_loss: delta must be a positive number, got {delta!r}"):
            F.huber_loss(x, x, delta=delta)
        with pytest.raises(ValueError, match="HuberLoss: delta must be a positive number"):
            nn.HuberLoss(delta=delta)
    y = np.full((2, 3), 0.5)
    for wshape in [(4,), (2, 1, 3), (3, 2)]:   # not broadcasting, or to more than the input
        with pytest.raises(ValueError, match=rf"binary_cross_entropy: weight shape \({wshape[0]},.* does not broadcast to the input shape \(2, 3\)"):
            F.binary_cross_entropy(y, y, np.ones(wshape))
        with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight shape .* does not broadcast to the input shape \(2, 3\)"):
            F.binary_cross_entropy_with_logits(y, y, pos_weight=np.ones(wshape))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: weight must not require grad"):
        F.binary_cross_entropy_with_logits(y, y, Tensor(np.ones(3), requires_grad=True))
    for M in (nn.BCELoss, nn.BCEWithLogitsLoss, nn.L1Loss, nn.SmoothL1Loss):
        with pytest.raises(ValueError, match=rf"{M.__name__}: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
            M(reduction="avg")
    with pytest.raises(ValueError, match="HuberLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.HuberLoss("avg")


@pytest.mark.parametrize("loss", ["l1", "smooth_l1_beta0"])
def test_a_nan_or_inf_difference_gives_a_zero_gradient_as_pytorch(loss):
    """sign(NaN) is NaN in NumPy: the L1 loss's gradient had been NaN where PyTorch's is 0 (a
    NaN input, inf - inf), with NumPy's 'invalid value' warnings."""
    import warnings
    torch = pytest.importorskip("torch")
    xs, ts = np.array([np.nan, 1.0, np.inf, -2.0]), np.array([0.0, 0.0, np.inf, 3.0])
    call = {"l1": lambda f, x, t: f.l1_loss(x, t, reduction="sum"),
            "smooth_l1_beta0": lambda f, x, t: f.smooth_l1_loss(x, t, reduction="sum", beta=0.0)}[loss]
    x, t = Tensor(xs, requires_grad=True), Tensor(ts, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call(F, x, t).backward()
    xt, tt = (torch.tensor(v, requires_grad=True) for v in (xs, ts))
    call(torch.nn.functional, xt, tt).backward()
    np.testing.assert_array_equal(to_np(x.grad), xt.grad.numpy())
    np.testing.assert_array_equal(to_np(t.grad), tt.grad.numpy())


@pytest.mark.parametrize("make", [lambda w: nn.BCELoss(weight=w), lambda w: nn.BCEWithLogitsLoss(weight=w),
                                  lambda w: nn.BCEWithLogitsLoss(pos_weight=w)])
def test_a_module_s_weight_that_requires_grad_is_refused_as_the_function_s(make):
    """The module stores its weights as buffers (arrays): one requiring grad had lost its grad
    silently, where the functions refuse it (and PyTorch's module raises when called)."""
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="must not require grad"):
        make(w)
    assert make(w.detach()) is not None
