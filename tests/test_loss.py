"""softmax, log_softmax and the fused per-pixel cross-entropy: naive loops, finite differences, PyTorch."""
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
    fn = lambda z: F.cross_entropy(z, xp.asarray(t), None if wt is None else xp.asarray(wt), -100, reduction)
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
    assert gradcheck(lambda z: F.cross_entropy(z, t, wt, 255, reduction), [z])
    # a bigger one along random directions
    t2 = xp.asarray(_targets(rng, 2, 21, 9, 7))
    z2 = xp.asarray(rng.standard_normal((2, 21, 9, 7)))
    assert gradcheck(lambda z: F.cross_entropy(z, t2, None, 255, reduction), [z2], directions=4)


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
    with np.errstate(invalid="ignore"):
        loss = F.cross_entropy(z, t)
    assert np.isnan(float(loss.item()))
    loss.backward()   # zero, as PyTorch's: a NaN gradient would spread to every weight in one step
    assert not to_np(z.grad).any()


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
    loss = F.cross_entropy(ours, t, wt, 255, reduction)
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
