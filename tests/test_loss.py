"""softmax, log_softmax and the fused per-pixel cross-entropy: naive loops, finite differences, PyTorch."""
import warnings

import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.testing import gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor


def _targets(rng, n, C, h, w, ignore=255, frac_ignored=0.25):
    t = rng.integers(0, C, size=(n, h, w))
    t[rng.random((n, h, w)) < frac_ignored] = ignore
    return t


# --------------------------------------------------------------------- softmax
@pytest.mark.parametrize("axis", [1, -1, 0])
def test_softmax_and_log_softmax_match_naive(xp, rng, axis):
    x = rng.standard_normal((2, 4, 3, 5)) * 3
    ref = naive.softmax(x, axis)
    np.testing.assert_allclose(to_np(F.softmax(xp.asarray(x), axis)), ref, atol=1e-10, rtol=0)
    np.testing.assert_allclose(to_np(F.log_softmax(xp.asarray(x), axis)), np.log(ref), atol=1e-10, rtol=0)


def test_softmax_is_stable_for_large_scores(xp):
    x = xp.asarray([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(to_np(F.softmax(x)), [[1.0, 0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(to_np(F.log_softmax(x)), [[0.0, -1000.0, -2000.0]], atol=1e-9)


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
def test_softmax_gradcheck(xp, rng, op):
    x = xp.asarray(rng.standard_normal((2, 3, 2, 3)))
    assert gradcheck(lambda x: op(x, 1), [x])
    assert gradcheck(lambda x: op(x, -1), [x])
    big = xp.asarray(rng.standard_normal((2, 21, 9, 8)))
    assert gradcheck(lambda x: op(x, 1), [big], directions=4)


# --------------------------------------------------------------------- cross entropy
CE_CASES = [(None, "mean"), (None, "sum"), ("weighted", "mean"), ("weighted", "sum")]


@pytest.mark.parametrize("weighted,reduction", CE_CASES)
def test_cross_entropy_matches_naive(xp, rng, weighted, reduction):
    n, C, h, w = 2, 5, 4, 3
    z = rng.standard_normal((n, C, h, w)) * 2
    t = _targets(rng, n, C, h, w)
    wt = 0.5 + rng.random(C) if weighted else None
    loss = F.cross_entropy(xp.asarray(z), xp.asarray(t), None if wt is None else xp.asarray(wt),
                           ignore_index=255, reduction=reduction)
    ref = naive.cross_entropy(z, t, wt, 255, reduction)
    assert abs(loss.item() - ref) <= 1e-10 * max(1.0, abs(ref))


def test_cross_entropy_other_ignore_index_and_2d_logits(xp, rng):
    z = rng.standard_normal((6, 4))
    t = np.array([0, 3, -100, 1, -100, 2])
    loss = F.cross_entropy(xp.asarray(z), xp.asarray(t), ignore_index=-100)
    ref = naive.cross_entropy(z[:, :, None, None], t[:, None, None], None, -100, "mean")
    assert abs(loss.item() - ref) <= 1e-10


@pytest.mark.parametrize("weighted,reduction", CE_CASES)
def test_cross_entropy_of_2d_logits_gradcheck_and_vs_torch(xp, rng, weighted, reduction):
    # (n, C) logits, as a classifier's, with PyTorch's own ignore index
    z = rng.standard_normal((6, 4))
    t = np.array([0, 3, -100, 1, -100, 2])
    wt = 0.5 + rng.random(4) if weighted else None
    fn = lambda z: F.cross_entropy(z, xp.asarray(t), None if wt is None else xp.asarray(wt), ignore_index=-100, reduction=reduction)
    assert gradcheck(fn, [xp.asarray(z)])
    torch = pytest.importorskip("torch")
    ours, theirs = Tensor(xp.asarray(z), requires_grad=True), torch_tensor(torch, z, requires_grad=True)
    loss = fn(ours)
    losst = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(t), None if wt is None else torch.from_numpy(wt),
                                              reduction=reduction)   # its default ignore index is -100
    assert abs(loss.item() - losst.item()) <= 1e-12 * max(1.0, abs(losst.item()))
    loss.backward()
    losst.backward()
    np.testing.assert_allclose(to_np(ours.grad), theirs.grad.numpy(), rtol=0, atol=1e-12)


def test_cross_entropy_sum_is_mean_times_valid_pixels(xp, rng):
    z = xp.asarray(rng.standard_normal((1, 3, 4, 4)))
    t = _targets(rng, 1, 3, 4, 4)
    valid = int((t != 255).sum())
    mean = F.cross_entropy(z, xp.asarray(t)).item()
    total = F.cross_entropy(z, xp.asarray(t), reduction="sum").item()
    assert abs(total - mean * valid) <= 1e-10 * abs(total)


@pytest.mark.parametrize("weighted,reduction", CE_CASES)
def test_cross_entropy_gradcheck(xp, rng, weighted, reduction):
    n, C, h, w = 2, 4, 3, 2
    t = xp.asarray(_targets(rng, n, C, h, w))
    wt = xp.asarray(0.5 + rng.random(C)) if weighted else None
    z = xp.asarray(rng.standard_normal((n, C, h, w)))
    assert gradcheck(lambda z: F.cross_entropy(z, t, wt, ignore_index=255, reduction=reduction), [z])
    # a bigger one along random directions
    t2 = xp.asarray(_targets(rng, 2, 21, 9, 7))
    z2 = xp.asarray(rng.standard_normal((2, 21, 9, 7)))
    assert gradcheck(lambda z: F.cross_entropy(z, t2, None, ignore_index=255, reduction=reduction), [z2], directions=4)


@pytest.mark.parametrize("layout", ["channels last", "cropped"])
def test_cross_entropy_of_strided_logits(xp, rng, layout):
    # logits that are a view (NHWC memory, or FCN's crop of a bigger map): the loss and gradient
    # are those of the contiguous copy, whose gradient gradcheck proves (the labelled entries
    # are read and written by flat position, so they must address a C-ordered array)
    t = xp.asarray(_targets(rng, 2, 5, 4, 3))
    if layout == "channels last":
        view = xp.asarray(rng.standard_normal((2, 4, 3, 5))).transpose(0, 3, 1, 2)
    else:
        view = xp.asarray(rng.standard_normal((2, 5, 7, 6)))[:, :, 2:6, 1:4]
    got, want = Tensor(view, requires_grad=True), Tensor(xp.ascontiguousarray(view), requires_grad=True)
    for z in (got, want):
        F.cross_entropy(z, t).backward()
    assert abs(F.cross_entropy(view, t).item() - F.cross_entropy(want.data, t).item()) <= 1e-12
    assert np.allclose(to_np(got.grad), to_np(want.grad), rtol=0, atol=1e-12)


def test_cross_entropy_ignored_pixels_get_zero_gradient(xp, rng):
    t = _targets(rng, 1, 3, 4, 4, frac_ignored=0.5)
    z = Tensor(xp.asarray(rng.standard_normal((1, 3, 4, 4))), requires_grad=True)
    F.cross_entropy(z, xp.asarray(t)).backward()
    g = to_np(z.grad)
    assert np.all(g[:, :, t[0] == 255] == 0)
    assert np.all(np.abs(g[:, :, t[0] != 255]).sum(axis=1) > 0)


def test_cross_entropy_with_every_pixel_ignored(xp, rng):
    # "sum" adds no terms: +0.0 (it had been -0.0), with a zero gradient; "mean" divides
    # that by no pixels: NaN, as PyTorch gives (the trainer counts such a batch as a "sum")
    z = Tensor(xp.asarray(rng.standard_normal((2, 3, 4, 4)).astype(np.float32)), requires_grad=True)
    t = xp.full((2, 4, 4), 255)
    z.data[:, 0] += 50   # class 0 wins everywhere: each pixel's log softmax at class 0 is 0.0
    loss = F.cross_entropy(z, t, reduction="sum")
    assert float(loss.item()) == 0.0 and np.copysign(1.0, float(loss.item())) == 1.0
    loss.backward()
    assert not to_np(z.grad).any()
    z.grad = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # NaN said without NumPy's warning of 0 / 0
        loss = F.cross_entropy(z, t)
    assert np.isnan(float(loss.item()))
    loss.backward()   # zero, as PyTorch's: a NaN gradient would spread to every weight in one step
    assert not to_np(z.grad).any()


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_mean_over_pixels_whose_classes_weigh_nothing(xp, rng, eps):
    # every labelled pixel is background, weighted 0: the mean is NaN (PyTorch's too); the
    # gradient zero, smoothing's share included (it had been the "sum" gradient, the loss inf)
    z = Tensor(xp.asarray(rng.standard_normal((1, 3, 6, 6))), requires_grad=True)
    t = xp.zeros((1, 6, 6), dtype=xp.int64)
    t[0, 0, :3] = 255
    w = xp.asarray([0.0, 1.0, 2.0])
    loss = F.cross_entropy(z, t, weight=w, label_smoothing=eps)
    assert np.isnan(float(loss.item()))
    loss.backward()
    assert not to_np(z.grad).any()
    z.grad = None
    F.cross_entropy(z, t, weight=w, reduction="sum", label_smoothing=eps).backward()
    assert bool(to_np(z.grad).any()) == (eps > 0)   # the sum still has smoothing's share


def test_cross_entropy_of_no_labelled_pixel_vs_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4, 4))
    t = np.full((2, 4, 4), 255)
    w = np.array([0.5, 1.0, 2.0])
    for weight in (None, w):
        z = Tensor(x, requires_grad=True)
        zt = torch_tensor(torch, x, requires_grad=True)
        with np.errstate(invalid="ignore"):
            F.cross_entropy(z, t, weight=weight).backward()
        torch.nn.functional.cross_entropy(zt, torch.from_numpy(t), ignore_index=255,
                                          weight=None if weight is None else torch.from_numpy(w)).backward()
        np.testing.assert_array_equal(to_np(z.grad), zt.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted,reduction", CE_CASES)
def test_cross_entropy_vs_torch(rng, dtype, weighted, reduction):
    torch = pytest.importorskip("torch")
    n, C, h, w = 2, 21, 5, 7
    z = (rng.standard_normal((n, C, h, w)) * 3).astype(dtype)
    t = _targets(rng, n, C, h, w)
    wt = (0.5 + rng.random(C)).astype(dtype) if weighted else None
    ours = Tensor(z, requires_grad=True)
    theirs = torch_tensor(torch, z, requires_grad=True)
    loss = F.cross_entropy(ours, t, wt, ignore_index=255, reduction=reduction)
    losst = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(t), None if wt is None else torch.from_numpy(wt),
                                              ignore_index=255, reduction=reduction)
    assert loss.dtype == dtype
    assert_close(loss, losst, dtype, "loss")
    loss.backward()
    losst.backward()
    assert_close(ours.grad, theirs.grad, dtype, "grad logits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_vs_torch(rng, dtype, name):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((2, 5, 3, 4)) * 4).astype(dtype)
    ours = Tensor(x, requires_grad=True)
    theirs = torch_tensor(torch, x, requires_grad=True)
    y = getattr(F, name)(ours, 1)
    yt = getattr(torch.nn.functional, name)(theirs, 1)
    assert_close(y, yt, dtype, "forward")
    g = rng.standard_normal(x.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(ours.grad, theirs.grad, dtype, "grad")


# --------------------------------------------------------------------- reduction="none", label smoothing
def _class_weights(rng, C, weighted, dtype=np.float64):
    return (0.5 + rng.random(C)).astype(dtype) if weighted else None


def _maybe(xp, a):
    return None if a is None else xp.asarray(a)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_none_matches_naive(xp, rng, weighted, eps):
    n, C, h, w = 2, 5, 4, 3
    z = rng.standard_normal((n, C, h, w)) * 2
    t = _targets(rng, n, C, h, w)
    wt = _class_weights(rng, C, weighted)
    per = F.cross_entropy(xp.asarray(z), xp.asarray(t), _maybe(xp, wt), ignore_index=255, reduction="none", label_smoothing=eps)
    ref = naive.cross_entropy(z, t, wt, 255, "none", eps)
    assert per.shape == t.shape and ref.shape == t.shape
    np.testing.assert_allclose(to_np(per), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted,reduction", CE_CASES)
def test_cross_entropy_with_label_smoothing_matches_naive(xp, rng, weighted, reduction):
    n, C, h, w = 2, 4, 3, 3
    z = rng.standard_normal((n, C, h, w)) * 2
    t = _targets(rng, n, C, h, w)
    wt = _class_weights(rng, C, weighted)
    loss = F.cross_entropy(xp.asarray(z), xp.asarray(t), _maybe(xp, wt), ignore_index=255, reduction=reduction, label_smoothing=0.2)
    ref = naive.cross_entropy(z, t, wt, 255, reduction, 0.2)
    assert abs(loss.item() - ref) <= 1e-10 * max(1.0, abs(ref))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_none_gradcheck(xp, rng, weighted, eps):
    # gradcheck seeds backward with a random upstream gradient of the loss's shape: one gy a
    # pixel, ignored pixels included (a quarter of them)
    n, C, h, w = 2, 4, 3, 2
    t = xp.asarray(_targets(rng, n, C, h, w))
    wt = _maybe(xp, _class_weights(rng, C, weighted))
    z = xp.asarray(rng.standard_normal((n, C, h, w)))
    assert gradcheck(lambda z: F.cross_entropy(z, t, wt, ignore_index=255, reduction="none", label_smoothing=eps), [z])
    t2 = np.array([0, 3, -100, 1, -100, 2])   # (n, C) logits
    assert gradcheck(lambda z: F.cross_entropy(z, xp.asarray(t2), wt, ignore_index=-100, reduction="none", label_smoothing=eps),
                     [xp.asarray(rng.standard_normal((6, 4)))])
    t3 = xp.asarray(_targets(rng, 2, 21, 9, 7))
    z3 = xp.asarray(rng.standard_normal((2, 21, 9, 7)))
    assert gradcheck(lambda z: F.cross_entropy(z, t3, None, ignore_index=255, reduction="none", label_smoothing=eps), [z3], directions=4)


@pytest.mark.parametrize("weighted,reduction", CE_CASES)
def test_cross_entropy_with_label_smoothing_gradcheck(xp, rng, weighted, reduction):
    n, C, h, w = 2, 4, 3, 2
    t = xp.asarray(_targets(rng, n, C, h, w))
    wt = _maybe(xp, _class_weights(rng, C, weighted))
    z = xp.asarray(rng.standard_normal((n, C, h, w)))
    assert gradcheck(lambda z: F.cross_entropy(z, t, wt, ignore_index=255, reduction=reduction, label_smoothing=0.25), [z])


def _check_vs_torch(torch, rng, z, t, wt, ignore_index, reduction, eps):
    """Loss and logits gradient against PyTorch's, in z's dtype; "none" is seeded with a random
    gradient a pixel (nonzero at ignored pixels too)."""
    dtype = z.dtype
    ours, theirs = Tensor(z, requires_grad=True), torch_tensor(torch, z, requires_grad=True)
    loss = F.cross_entropy(ours, t, wt, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps)
    losst = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(t), None if wt is None else torch.from_numpy(wt),
                                              ignore_index=ignore_index, reduction=reduction, label_smoothing=eps)
    assert loss.dtype == dtype and loss.shape == tuple(losst.shape)
    assert_close(loss, losst, dtype, "loss")
    gy = rng.standard_normal(t.shape).astype(dtype) if reduction == "none" else None
    loss.backward(gy)
    losst.backward(None if gy is None else torch.from_numpy(gy))
    assert ours.grad.dtype == dtype
    assert_close(ours.grad, theirs.grad, dtype, "grad logits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape,ignore_index", [((2, 21, 5, 7), 255), ((9, 4), -100)])
def test_cross_entropy_none_vs_torch(rng, dtype, weighted, shape, ignore_index):
    torch = pytest.importorskip("torch")
    n, C, spatial = shape[0], shape[1], shape[2:]
    z = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, C, size=(n,) + spatial)
    t[rng.random(t.shape) < 0.25] = ignore_index
    _check_vs_torch(torch, rng, z, t, _class_weights(rng, C, weighted, dtype), ignore_index, "none", 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.1, 1.0])
def test_cross_entropy_with_label_smoothing_vs_torch(rng, dtype, weighted, reduction, eps):
    torch = pytest.importorskip("torch")
    n, C, h, w = 2, 21, 5, 7
    z = (rng.standard_normal((n, C, h, w)) * 3).astype(dtype)
    t = _targets(rng, n, C, h, w)
    _check_vs_torch(torch, rng, z, t, _class_weights(rng, C, weighted, dtype), 255, reduction, eps)
    z2, t2 = rng.standard_normal((6, 4)).astype(dtype), np.array([0, 3, -100, 1, -100, 2])   # (n, C) logits
    _check_vs_torch(torch, rng, z2, t2, _class_weights(rng, 4, weighted, dtype), -100, reduction, eps)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_none_sums_to_sum_and_weighted_mean(xp, rng, weighted, eps):
    # the per-pixel losses add up to "sum", and over the labelled pixels' weights to "mean";
    # seeded with 1 (or 1 / those weights) a pixel, their gradient is that of "sum" ("mean")
    n, C, h, w = 2, 5, 6, 4
    z = rng.standard_normal((n, C, h, w)) * 2
    t = _targets(rng, n, C, h, w)
    wt = _class_weights(rng, C, weighted)
    labelled = np.where(t != 255, (np.ones(C) if wt is None else wt)[np.where(t != 255, t, 0)], 0).sum()
    grads = {}
    for reduction in ("none", "sum", "mean"):
        x = Tensor(xp.asarray(z), requires_grad=True)
        loss = F.cross_entropy(x, xp.asarray(t), _maybe(xp, wt), ignore_index=255, reduction=reduction, label_smoothing=eps)
        if reduction == "none":
            per = to_np(loss)
            loss.backward(xp.full(t.shape, 1 / labelled))
        else:
            value = loss.item()
            want = per.sum() if reduction == "sum" else per.sum() / labelled
            assert abs(value - want) <= 1e-12 * abs(want), reduction
            loss.backward()
        grads[reduction] = to_np(x.grad)
    np.testing.assert_allclose(grads["none"], grads["mean"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads["none"] * labelled, grads["sum"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_none_is_exactly_zero_at_ignored_pixels(xp, rng, weighted, eps):
    t = _targets(rng, 2, 3, 4, 4, frac_ignored=0.5)
    t[0, 0, 0], t[1, 3, 3] = 255, 1   # some of each in any case
    ignored = t == 255
    wt = _maybe(xp, _class_weights(rng, 3, weighted))
    x = rng.standard_normal((2, 3, 4, 4)) * 3
    x[0, 0, 0, 0] += 50   # an ignored pixel whose log softmax at class 0 is 0.0: -(0 * 0.0) is -0.0
    z = Tensor(xp.asarray(x), requires_grad=True)
    per = F.cross_entropy(z, xp.asarray(t), wt, ignore_index=255, reduction="none", label_smoothing=eps)
    values = to_np(per)
    assert np.all(values[ignored] == 0) and not np.signbit(values[ignored]).any()   # +0.0
    assert np.all(values[~ignored] > 0)
    per.backward(xp.asarray(rng.standard_normal(t.shape) + 2))   # a nonzero gy at every pixel
    g = to_np(z.grad).transpose(0, 2, 3, 1)                        # (n, h, w, C)
    assert not g[ignored].any()
    assert np.all(np.abs(g[~ignored]).sum(axis=-1) > 0)


@pytest.mark.parametrize("reduction", ["avg", "Mean", None])
def test_cross_entropy_bad_reduction_names_it(xp, reduction):
    with pytest.raises(ValueError, match=rf"reduction must be 'mean', 'sum' or 'none', got {reduction!r}"):
        F.cross_entropy(xp.zeros((1, 3, 2, 2)), xp.zeros((1, 2, 2), dtype=xp.int64), reduction=reduction)


# --------------------------------------------------------------------- nll_loss
NLL_CASES = [(w, r) for w in (False, True) for r in ("mean", "sum", "none")]


@pytest.mark.parametrize("weighted,reduction", NLL_CASES)
def test_nll_of_log_softmax_is_cross_entropy(xp, rng, weighted, reduction):
    # the two-op loss and the fused one: the same values, and the same gradient of the scores
    # through log_softmax's backward (seeded with one random gy a pixel for "none")
    n, C, h, w = 2, 5, 4, 3
    z = rng.standard_normal((n, C, h, w)) * 2
    t = xp.asarray(_targets(rng, n, C, h, w))
    wt = _maybe(xp, _class_weights(rng, C, weighted))
    gy = xp.asarray(rng.standard_normal(t.shape)) if reduction == "none" else None
    a, b = Tensor(xp.asarray(z), requires_grad=True), Tensor(xp.asarray(z), requires_grad=True)
    two = F.nll_loss(F.log_softmax(a), t, wt, reduction=reduction)
    fused = F.cross_entropy(b, t, wt, reduction=reduction)
    assert two.shape == fused.shape
    np.testing.assert_allclose(to_np(two), to_np(fused), rtol=1e-12, atol=1e-14)
    two.backward(gy)
    fused.backward(gy)
    np.testing.assert_allclose(to_np(a.grad), to_np(b.grad), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("weighted,reduction", NLL_CASES)
def test_nll_loss_matches_naive(xp, rng, weighted, reduction):
    n, C, h, w = 2, 5, 4, 3
    logp = np.log(naive.softmax(rng.standard_normal((n, C, h, w)) * 2))
    t = _targets(rng, n, C, h, w)
    wt = _class_weights(rng, C, weighted)
    loss = F.nll_loss(xp.asarray(logp), xp.asarray(t), _maybe(xp, wt), reduction=reduction)
    np.testing.assert_allclose(to_np(loss), naive.nll_loss(logp, t, wt, 255, reduction), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("weighted,reduction", NLL_CASES)
def test_nll_loss_gradcheck(xp, rng, weighted, reduction):
    # any real input, not only log-probabilities: the loss is linear in it
    t = xp.asarray(_targets(rng, 2, 4, 3, 2))
    wt = _maybe(xp, _class_weights(rng, 4, weighted))
    assert gradcheck(lambda x: F.nll_loss(x, t, wt, reduction=reduction), [xp.asarray(rng.standard_normal((2, 4, 3, 2)))])
    t2 = xp.asarray(np.array([0, 3, -100, 1, -100, 2]))   # (n, C) input
    assert gradcheck(lambda x: F.nll_loss(x, t2, wt, ignore_index=-100, reduction=reduction),
                     [xp.asarray(rng.standard_normal((6, 4)))])


def test_nll_loss_of_a_strided_input(xp, rng):
    # a channels-last view: the labelled entries are found by logical position, not memory order
    t = xp.asarray(_targets(rng, 2, 5, 4, 3))
    view = xp.asarray(rng.standard_normal((2, 4, 3, 5))).transpose(0, 3, 1, 2)
    got, want = Tensor(view, requires_grad=True), Tensor(xp.ascontiguousarray(view), requires_grad=True)
    losses = [F.nll_loss(v, t, reduction="sum") for v in (got, want)]
    assert losses[0].item() == losses[1].item()
    for loss in losses:
        loss.backward()
    np.testing.assert_array_equal(to_np(got.grad), to_np(want.grad))


@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_over_no_labelled_pixel(xp, rng, weighted):
    # as cross_entropy: "mean" is NaN with a zero gradient, "sum" is +0.0; "none" is +0.0 a pixel
    x = Tensor(xp.asarray(rng.standard_normal((2, 3, 2, 2))), requires_grad=True)
    t = xp.full((2, 2, 2), 255)
    wt = _maybe(xp, _class_weights(rng, 3, weighted))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no NumPy warning of 0 / 0
        loss = F.nll_loss(x, t, wt)
    assert np.isnan(loss.item())
    loss.backward()
    assert not to_np(x.grad).any()
    x.grad = None
    total = F.nll_loss(x, t, wt, reduction="sum")
    assert total.item() == 0.0 and not np.signbit(total.item())
    per = F.nll_loss(x, t, wt, reduction="none")
    per.backward(xp.full(t.shape, -1.0))
    assert not np.signbit(to_np(per)).any() and not np.signbit(to_np(x.grad)).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted,reduction", NLL_CASES)
@pytest.mark.parametrize("shape,ignore_index", [((2, 21, 5, 7), 255), ((9, 4), -100)])
def test_nll_loss_vs_torch(rng, dtype, weighted, reduction, shape, ignore_index):
    torch = pytest.importorskip("torch")
    n, C, spatial = shape[0], shape[1], shape[2:]
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, C, size=(n,) + spatial)
    t[rng.random(t.shape) < 0.25] = ignore_index
    wt = _class_weights(rng, C, weighted, dtype)
    ours, theirs = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    loss = F.nll_loss(ours, t, wt, ignore_index=ignore_index, reduction=reduction)
    losst = torch.nn.functional.nll_loss(theirs, torch.from_numpy(t), None if wt is None else torch.from_numpy(wt),
                                         ignore_index=ignore_index, reduction=reduction)
    assert loss.dtype == dtype and loss.shape == tuple(losst.shape)
    assert_close(loss, losst, dtype, "loss")
    gy = rng.standard_normal(t.shape).astype(dtype) if reduction == "none" else None
    loss.backward(gy)
    losst.backward(None if gy is None else torch.from_numpy(gy))
    assert_close(ours.grad, theirs.grad, dtype, "grad input")


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_one_dimensional_scores_ask_for_the_batch_axis(loss):
    # the message had contradicted itself: "target shape (3,) does not match input (3,)"
    with pytest.raises(ValueError, match=r"must have at least 2 dimensions, \(n, C, \*spatial\), got shape \(3,\)"):
        loss(Tensor(np.zeros(3)), np.array([0, 1, 2]))
