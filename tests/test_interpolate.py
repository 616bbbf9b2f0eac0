"""F.interpolate (nearest, bilinear) four ways: the loop version, finite differences, the adjoint
identity of a linear map, and PyTorch's own interpolate."""
import re

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


def _nearest_triples(rng, count, max_out):
    """(in, out, scale) with out <= max_out, scale None (size=) or a factor of 1 to 3 decimals."""
    triples = []
    while len(triples) < count:
        n = int(rng.integers(1, 60))
        if rng.random() < 0.4:
            triples.append((n, int(rng.integers(1, max_out + 1)), None))
            continue
        scale = float(np.round(rng.uniform(0.1, 4.0), int(rng.integers(1, 4))))
        if 1 <= int(np.floor(n * scale)) <= max_out:
            triples.append((n, int(np.floor(n * scale)), scale))
    return triples


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_reads_pytorchs_pixel_for_random_sizes_and_factors(rng, mode):
    # PyTorch picks the pixel in float32 (1/3.7 rounded, then 37 * it is 10, 9.999... in
    # float64), copies an axis of the same size and reads o // 2 at twice it (nearest_idx).
    # Its CPU forward uses that rule where out_h + out_w <= 128 or on a channels-last input of
    # more than 3 channels, and its backward always: both are checked here
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    for n, out, scale in _nearest_triples(rng, 400, 127) + _nearest_triples(rng, 40, 300):
        kw = dict(size=(1, out)) if scale is None else dict(scale_factor=(1.0, scale))
        x = np.tile(np.arange(float(n)), (1, 4, 1, 1))   # each value its own column's index
        y = F.interpolate(x, mode=mode, **kw).numpy()
        xt = torch.tensor(x).contiguous(memory_format=torch.channels_last)
        np.testing.assert_array_equal(y, TF.interpolate(xt, mode=mode, **kw).numpy(), err_msg=f"{n, out, scale}")
        if mode == "nearest":
            np.testing.assert_array_equal(y, naive.interpolate_nearest(x, 1, out, scale and (1.0, scale)))
    # the gradient goes where the value came from, as PyTorch's backward sends it
    x = rng.standard_normal((1, 2, 15, 57))
    t, tt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kw = dict(scale_factor=(3.7, 3.7), mode=mode)
    g = rng.standard_normal((1, 2, 55, 210))
    F.interpolate(t, **kw).backward(g)
    TF.interpolate(tt, **kw).backward(torch.tensor(g))
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode, factor, corners", [
    ("bilinear", (1.1, 1.1), None), ("bilinear", (1.1, 1.1), True), ("bilinear", (1.2, 1.5), None),
    ("bilinear", (1.2, 1.5), True), ("bilinear", (1.0, 0.9), None), ("nearest", (1.1, 1.1), None),
    ("nearest", (1.1, 2.1), None), ("nearest", (2.1, 0.95), None), ("nearest-exact", (1.1, 2.1), None)])
def test_an_axis_a_factor_leaves_its_size_is_copied_as_pytorch(rng, mode, factor, corners):
    # floor(5 * 1.1) = 5: PyTorch's bilinear and nearest copy that axis whatever the factor
    # (nearest also reads o // 2 at floor(5 * 2.1) = 10); its gradient is the copy's, and ours
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 5, 5))
    kw = dict(scale_factor=factor, mode=mode, align_corners=corners)
    t, tt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = F.interpolate(t, **kw), torch.nn.functional.interpolate(tt, **kw)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-12)
    if mode != "nearest-exact" and factor == (1.1, 1.1):   # both axes copied: the input itself
        np.testing.assert_array_equal(y.numpy(), x)


def _same_nonfinite(a, b, what):
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=what)
    np.testing.assert_array_equal(a[np.isinf(b)], b[np.isinf(b)], err_msg=what)   # the signs too
    finite = np.isfinite(b)
    np.testing.assert_allclose(a[finite], b[finite], rtol=1e-12, atol=1e-12, err_msg=what)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_an_inf_or_nan_meets_pytorchs_taps(rng, mode):
    # PyTorch sums each output's taps: an inf times a tap of weight 0 (bilinear's second tap on
    # the last pixel, or on an axis whose size is unchanged, where it copies) is NaN, and two
    # taps of opposite signs clamped onto one pixel (bicubic's, at a border) add to NaN
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    cases = [((1, 2), dict(size=(1, 3), align_corners=True)), ((1, 2), dict(size=(2, 2))),
             ((1, 4), dict(size=(1, 3))), ((1, 3), dict(size=(1, 5), align_corners=True))]
    for _ in range(30):
        hw = tuple(int(v) for v in rng.integers(1, 7, size=2))
        out = tuple(int(v) for v in rng.integers(1, 9, size=2))
        cases.append((hw, dict(size=out, align_corners=bool(rng.integers(2)))))
    for hw, kw in cases:
        if mode == "nearest":
            kw = dict(size=kw["size"])
        kw["mode"] = mode
        x = rng.standard_normal((1, 2) + hw)
        bad = rng.random(x.shape) < 0.15
        x[bad] = rng.choice([np.inf, -np.inf, np.nan], size=int(bad.sum()))
        x[0, 0, 0, 0] = np.inf
        _same_nonfinite(F.interpolate(x, **kw).numpy(), TF.interpolate(torch.tensor(x), **kw).numpy(),
                        f"forward {hw} {kw}")
        if mode == "bicubic" and hw == kw["size"]:
            continue   # PyTorch's bicubic backward copies there (see test_resample.py)
        t, tt = Tensor(np.zeros_like(x), requires_grad=True), torch.zeros(x.shape, dtype=torch.float64,
                                                                           requires_grad=True)
        y = F.interpolate(t, **kw)
        g = rng.standard_normal(y.shape)
        g[rng.random(g.shape) < 0.15] = np.inf
        y.backward(g)
        TF.interpolate(tt, **kw).backward(torch.tensor(g))
        _same_nonfinite(t.grad, tt.grad.numpy(), f"backward {hw} {kw}")


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic", "area"])
@pytest.mark.parametrize("shape", [(1, 2, 0, 5), (1, 2, 4, 0)])
def test_an_input_with_no_rows_or_columns_is_refused(mode, shape):
    # PyTorch refuses it too; no batch is fine
    with pytest.raises(ValueError, match=re.escape(f"interpolate: input of shape {shape} has no rows or columns")):
        F.interpolate(np.ones(shape), size=(3, 3), mode=mode)
    assert F.interpolate(np.ones((0, 2, 4, 5)), size=(3, 3), mode=mode).shape == (0, 2, 3, 3)


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(scale_factor=1.5, mode="bilinear", align_corners=True),
                                dict(scale_factor=(2, 3), mode="bicubic"), dict(size=(3, 4), mode="area"),
                                dict(size=5), dict(scale_factor=np.float32(0.5), mode="nearest-exact")])
def test_upsample_repr_and_factor_are_pytorchs(rng, kw):
    # the factor kept as a float (a tuple of them), shown alone if given, else the size
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Upsample(**kw), torch.nn.Upsample(**kw)
    assert repr(ours) == repr(theirs)
    assert ours.scale_factor == theirs.scale_factor and type(ours.scale_factor) is type(theirs.scale_factor)
    x = rng.standard_normal((1, 2, 4, 6))
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)
