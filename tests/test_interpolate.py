"""F.interpolate (nearest, bilinear) four ways: the loop version, finite differences, the adjoint
identity of a linear map, and PyTorch's own interpolate."""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.testing import gradcheck
from oracle import to_np

CASES = [   # (input h, w), interpolate's keywords
    ((3, 4), dict(size=(7, 9), mode="bilinear")),
    ((3, 4), dict(size=(7, 9), mode="bilinear", align_corners=True)),
    ((5, 6), dict(size=(2, 3), mode="bilinear")),                      # down
    ((4, 5), dict(scale_factor=2, mode="bilinear")),
    ((4, 5), dict(scale_factor=1.5, mode="bilinear")),                 # the factor maps, not in/out
    ((4, 5), dict(scale_factor=(2, 3), mode="nearest")),
    ((5, 7), dict(size=(3, 11), mode="nearest")),
    ((1, 4), dict(size=(1, 8), mode="bilinear", align_corners=True)),  # one row: out 1
]


@pytest.mark.parametrize("hw, kw", CASES)
def test_interpolate_matches_pytorch(rng, hw, kw):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3) + hw)
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = F.interpolate(ours, **kw), torch.nn.functional.interpolate(theirs, **kw)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_np(ours.grad), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hw, out, corners", [((3, 4), (7, 9), False), ((3, 4), (7, 9), True),
                                              ((6, 5), (4, 2), False), ((2, 2), (5, 1), True)])
def test_bilinear_matches_the_loops_and_its_adjoint(xp, rng, hw, out, corners):
    x = rng.standard_normal((1, 2) + hw)
    y = F.interpolate(xp.asarray(x), size=out, mode="bilinear", align_corners=corners)
    np.testing.assert_allclose(to_np(y), naive.interpolate_bilinear(x, *out, corners), rtol=1e-12, atol=1e-12)
    # a linear map: <A x, v> = <x, A^T v>, A^T being the backward
    v = rng.standard_normal(y.shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    F.interpolate(t, size=out, mode="bilinear", align_corners=corners).backward(xp.asarray(v))
    assert np.isclose(float((to_np(y) * v).sum()), float((x * to_np(t.grad)).sum()), rtol=1e-12)
    assert gradcheck(lambda a: F.interpolate(a, size=out, mode="bilinear", align_corners=corners),
                     [xp.asarray(x)])


def test_interpolate_keeps_float32_and_upsample_is_the_layer(rng):
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    y = nn.Upsample(scale_factor=2, mode="bilinear")(Tensor(x))
    assert y.dtype == np.float32 and y.shape == (1, 2, 6, 6)
    np.testing.assert_array_equal(y.numpy(), F.interpolate(x, scale_factor=2, mode="bilinear").numpy())


@pytest.mark.parametrize("kw, message", [
    (dict(size=4, mode="cubic"), "mode must be one of 'nearest', .*'bicubic', 'area', got 'cubic'"),
    (dict(size=4, mode="nearest", align_corners=True),
     "align_corners applies to 'bilinear' and 'bicubic' only, not 'nearest'"),
    (dict(), "give size or scale_factor, one of them"),
    (dict(size=4, scale_factor=2), "give size or scale_factor, one of them"),
    (dict(scale_factor=0.1), r"scale_factor 0.1 leaves no pixel of 3x3"),
    (dict(scale_factor=-2), "scale_factor must be positive, got -2"),
])
def test_interpolate_errors_name_the_values(kw, message):
    with pytest.raises(ValueError, match=message):
        F.interpolate(np.ones((1, 1, 3, 3)), **kw)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("op", ["adaptive", "bilinear", "nearest"])
def test_an_inf_or_nan_stays_where_its_window_is(xp, bad, op):
    # as PyTorch: a window's sum holds it, the other windows do not (a product of matrices had
    # multiplied it by every zero weight, and 0 * inf spread NaN over the whole map)
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 6))
    x[0, 1, 0, 0] = bad
    gy_bad = np.zeros((1, 2, 3, 5))
    gy_bad[0, 0, 2, 4] = bad

    size = (3, 5)
    if op == "adaptive":
        ours_fn, theirs_fn = (lambda t: F.adaptive_avg_pool2d(t, size),
                              lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size))
    else:
        ours_fn, theirs_fn = (lambda t: F.interpolate(t, size=size, mode=op),
                              lambda t: torch.nn.functional.interpolate(t, size=size, mode=op))
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = ours_fn(t)
    y.backward(xp.asarray(gy_bad))
    y, gx = to_np(y), to_np(t.grad)
    tt = torch.tensor(x, requires_grad=True)
    yt = theirs_fn(tt)
    yt.backward(torch.tensor(gy_bad))
    yt, gxt = yt.detach().numpy(), tt.grad.numpy()
    for a, b in ((y, yt), (gx, gxt)):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
        np.testing.assert_array_equal(a[np.isinf(b)], b[np.isinf(b)])   # the signs too
        finite = np.isfinite(b)
        np.testing.assert_allclose(a[finite], b[finite], rtol=1e-12, atol=1e-12)
