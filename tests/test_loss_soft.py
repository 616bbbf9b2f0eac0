"""cross_entropy against class probabilities (PyTorch's soft labels): the naive loops, PyTorch,
finite differences in the logits and the target, one-hot targets against integer labels, errors."""
import numpy as np
import pytest

import minifcn.functional as F
import minifcn.nn as nn
from minifcn import Tensor, naive
from minifcn.testing import gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [(2, 5, 3, 4), (6, 4)]          # (N, C, H, W) scores, and a classifier's (N, C)


def _probs(rng, shape):
    """Random class probabilities: positive, summing to 1 along axis 1."""
    p = rng.random(shape) + 0.05
    return p / p.sum(axis=1, keepdims=True)


def _case(rng, shape, weighted):
    z = rng.standard_normal(shape) * 2
    p = _probs(rng, shape)
    w = 0.5 + rng.random(shape[1]) if weighted else None
    return z, p, w


def _as4d(a):
    return a.reshape(a.shape + (1, 1)) if a.ndim == 2 else a


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_matches_naive(xp, rng, reduction, weighted, eps):
    z, p, w = _case(rng, (2, 5, 3, 4), weighted)
    loss = F.cross_entropy(xp.asarray(z), xp.asarray(p), None if w is None else xp.asarray(w),
                           reduction=reduction, label_smoothing=eps)
    ref = naive.cross_entropy_probs(z, p, w, reduction, eps)
    np.testing.assert_allclose(to_np(loss), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,eps", [(False, 0.0), (True, 0.0), (False, 0.1), (True, 0.3)])
def test_matches_torch(rng, dtype, shape, reduction, weighted, eps):
    torch = pytest.importorskip("torch")
    z, p, w = _case(rng, shape, weighted)
    z, p = z.astype(dtype), p.astype(dtype)
    w = None if w is None else w.astype(dtype)
    ours = [Tensor(z, requires_grad=True), Tensor(p, requires_grad=True)]
    theirs = [torch_tensor(torch, z, requires_grad=True), torch_tensor(torch, p, requires_grad=True)]
    loss = F.cross_entropy(*ours, w, reduction=reduction, label_smoothing=eps)
    losst = torch.nn.functional.cross_entropy(*theirs, None if w is None else torch.from_numpy(w),
                                              reduction=reduction, label_smoothing=eps)
    assert loss.dtype == dtype
    assert_close(loss, losst, dtype, "loss")
    g = rng.standard_normal(tuple(losst.shape)).astype(dtype)
    loss.backward(g)
    losst.backward(torch.from_numpy(g))
    assert ours[0].grad.dtype == dtype and ours[1].grad.dtype == dtype
    assert_close(ours[0].grad, theirs[0].grad, dtype, "grad logits")
    assert_close(ours[1].grad, theirs[1].grad, dtype, "grad target")


def test_matches_torch_for_targets_off_the_simplex(rng):
    # neither range nor sum is checked, in either library: sum_c w_c q_c stays in the gradient
    torch = pytest.importorskip("torch")
    z, p = rng.standard_normal((3, 4, 2, 2)), rng.standard_normal((3, 4, 2, 2))
    zt = Tensor(z, requires_grad=True)
    Z = torch_tensor(torch, z, requires_grad=True)
    F.cross_entropy(zt, p, reduction="sum").backward()
    torch.nn.functional.cross_entropy(Z, torch.from_numpy(p), reduction="sum").backward()
    assert_close(zt.grad, Z.grad, np.float64, "grad logits")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,eps", [(False, 0.0), (True, 0.0), (True, 0.25)])
def test_gradcheck_logits_and_target(xp, rng, shape, reduction, weighted, eps):
    z, p, w = _case(rng, shape, weighted)
    wt = None if w is None else xp.asarray(w)
    fn = lambda z, p: F.cross_entropy(z, p, wt, reduction=reduction, label_smoothing=eps)
    assert gradcheck(fn, [xp.asarray(z), xp.asarray(p)])
    # the target as data: its gradient is neither computed nor stored
    zt, pt = Tensor(xp.asarray(z), requires_grad=True), Tensor(xp.asarray(p))
    fn(zt, pt).sum().backward()
    assert zt.grad is not None and pt.grad is None


def test_gradcheck_larger_map_along_directions(xp, rng):
    z, p, w = _case(rng, (2, 21, 9, 8), True)
    fn = lambda z, p: F.cross_entropy(z, p, xp.asarray(w), label_smoothing=0.1)
    assert gradcheck(fn, [xp.asarray(z), xp.asarray(p)], directions=4)


def test_target_gradient_flows_into_a_graph(xp, rng):
    # distillation: the target is a teacher's softmax, and the teacher learns too
    z, t = rng.standard_normal((2, 3, 2, 2)), rng.standard_normal((2, 3, 2, 2))
    assert gradcheck(lambda z, t: F.cross_entropy(z, F.softmax(t)), [xp.asarray(z), xp.asarray(t)])


@pytest.mark.parametrize("reduction", ["sum", "none"])
@pytest.mark.parametrize("weighted,eps", [(False, 0.0), (True, 0.0), (True, 0.2)])
def test_one_hot_equals_labels(xp, rng, reduction, weighted, eps):
    n, C, h, w = 2, 4, 3, 3
    z = xp.asarray(rng.standard_normal((n, C, h, w)))
    t = rng.integers(0, C, size=(n, h, w))
    onehot = np.moveaxis(np.eye(C)[t], -1, 1)                         # (n, C, h, w)
    wt = None if not weighted else xp.asarray(0.5 + rng.random(C))
    za, zb = Tensor(z, requires_grad=True), Tensor(z, requires_grad=True)
    a = F.cross_entropy(za, xp.asarray(t), wt, reduction=reduction, label_smoothing=eps)
    b = F.cross_entropy(zb, xp.asarray(onehot), wt, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(to_np(a), to_np(b), rtol=1e-13, atol=1e-13)
    g = xp.asarray(rng.standard_normal(a.shape))
    a.backward(g)
    b.backward(g)
    np.testing.assert_allclose(to_np(za.grad), to_np(zb.grad), rtol=1e-13, atol=1e-13)


def test_one_hot_mean_differs_by_the_divisor(xp, rng):
    # labels: the sum over the summed w[t] of the labelled pixels; probabilities: over the
    # pixel count. Unweighted and with nothing ignored the two divisors agree
    n, C, h, w = 2, 4, 3, 3
    z = xp.asarray(rng.standard_normal((n, C, h, w)))
    t = rng.integers(0, C, size=(n, h, w))
    t[0, 0, 0] = 255
    onehot = np.moveaxis(np.eye(C)[np.where(t == 255, 0, t)], -1, 1)
    onehot[0, :, 0, 0] = 0                                            # the ignored pixel: no class
    weight = 0.5 + rng.random(C)
    labels = F.cross_entropy(z, xp.asarray(t), xp.asarray(weight)).item()
    probs = F.cross_entropy(z, xp.asarray(onehot), xp.asarray(weight)).item()
    valid = t != 255
    wsum = weight[t[valid]].sum()
    assert abs(labels * wsum - probs * (n * h * w)) <= 1e-12 * abs(labels * wsum)
    assert abs(labels - probs) > 1e-3
    t[0, 0, 0] = 1
    onehot = np.moveaxis(np.eye(C)[t], -1, 1)
    assert abs(F.cross_entropy(z, xp.asarray(t)).item() - F.cross_entropy(z, xp.asarray(onehot)).item()) <= 1e-13


def test_stable_for_large_scores(xp):
    z = xp.asarray([[1000.0, 0.0, -1000.0]])
    p = xp.asarray([[0.5, 0.5, 0.0]])
    zt = Tensor(z, requires_grad=True)
    loss = F.cross_entropy(zt, p)
    loss.backward()
    assert abs(loss.item() - 500.0) <= 1e-9                           # 0.5 * 0 + 0.5 * 1000
    np.testing.assert_allclose(to_np(zt.grad), [[0.5, -0.5, 0.0]], atol=1e-12)


def test_float32_stays_float32_and_float64_target_is_cast(xp, rng):
    z = xp.asarray(rng.standard_normal((2, 3, 2, 2)).astype(np.float32))
    p = xp.asarray(_probs(rng, (2, 3, 2, 2)))                         # float64 data
    zt = Tensor(z, requires_grad=True)
    for reduction in REDUCTIONS:
        loss = F.cross_entropy(zt, p, reduction=reduction)
        assert loss.dtype == np.float32
        loss.sum().backward()
        assert zt.grad.dtype == np.float32


def test_empty_batch_mean_is_nan(xp):
    z, p = xp.zeros((0, 3, 2, 2)), xp.zeros((0, 3, 2, 2))
    assert np.isnan(F.cross_entropy(z, p).item())
    assert F.cross_entropy(z, p, reduction="sum").item() == 0.0


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_module_takes_probabilities(xp, rng, reduction):
    z, p, w = _case(rng, (2, 5, 3, 4), True)
    criterion = nn.CrossEntropyLoss(weight=xp.asarray(w), reduction=reduction, label_smoothing=0.1)
    ref = naive.cross_entropy_probs(z, p, w, reduction, 0.1)
    np.testing.assert_allclose(to_np(criterion(Tensor(xp.asarray(z)), xp.asarray(p))), ref, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------- errors
def test_integer_target_of_the_logits_shape_is_refused(xp):
    logits = xp.zeros((2, 3, 4, 4))
    for dtype in (xp.int64, xp.bool_):
        with pytest.raises(TypeError, match=r"cross_entropy: a target of the logits' shape \(2, 3, 4, 4\) "
                                            r"holds class probabilities and must be float, got (int64|bool).*"
                                            r"\(n, \*spatial\) = \(2, 4, 4\)"):
            F.cross_entropy(logits, xp.zeros((2, 3, 4, 4), dtype=dtype))


def test_probabilities_of_the_wrong_shape_are_refused(xp):
    logits = xp.zeros((2, 3, 4, 4))
    for shape in [(2, 4, 4, 3), (2, 3, 4, 5), (2, 3, 16)]:
        # not the logits' shape: read as labels, which must be (n, *spatial)
        with pytest.raises(ValueError, match=rf"target shape \({shape[0]}, .*\) does not match logits \(2, 3, 4, 4\)"):
            F.cross_entropy(logits, xp.zeros(shape))


def test_probability_target_checks(xp):
    logits = xp.zeros((2, 3, 4, 4))
    p = xp.full((2, 3, 4, 4), 1 / 3)
    with pytest.raises(ValueError, match=r"reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(logits, p, reduction="avg")
    with pytest.raises(ValueError, match=r"weight shape \(4,\) should be \(3,\)"):
        F.cross_entropy(logits, p, xp.ones(4))
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\]"):
        F.cross_entropy(logits, p, label_smoothing=2.0)
    with pytest.raises(TypeError, match=r"requires grad must have the logits' dtype float32, got float64"):
        F.cross_entropy(logits.astype(xp.float32), Tensor(p, requires_grad=True))


def test_soft_targets_review_cases():
    z = np.zeros((2, 3, 2), np.float32)
    p = np.full((2, 3, 2), 1 / 3, np.float32)
    # nested lists are read by their shape and kind, as an array (the list had gone the labels' way)
    assert abs(F.cross_entropy(z, p.tolist()).item() - np.log(3)) < 1e-6
    with pytest.raises(ValueError, match="ignore_index=1 is not read with class probabilities"):
        F.cross_entropy(z, p, ignore_index=1)   # had masked nothing, silently
