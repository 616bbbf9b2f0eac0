"""F.interpolate's antialias=True (bilinear and bicubic), F.grid_sample's bicubic mode and
minifcn.unique_consecutive, each checked against the loop version in naive.py, by finite
differences, by the adjoint identity where linear, and against PyTorch in float64 and float32."""
import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# --------------------------------------------------------------------- antialiased interpolate

AA_CASES = [   # (input h, w), interpolate's keywords (mode added below): down, up, odd, big
    ((7, 5), dict(size=(3, 2))),                                # down: windows of 2-3 pixels
    ((7, 5), dict(size=(3, 2), align_corners=True)),            # s = (in - 1) / (out - 1)
    ((9, 8), dict(size=(1, 1))),                                # one output: the whole image
    ((9, 8), dict(size=(1, 1), align_corners=True)),            # s = 0: one tap's window
    ((4, 5), dict(size=(9, 11))),                               # up: the kernel keeps its width
    ((4, 5), dict(size=(9, 11), align_corners=True)),
    ((12, 10), dict(scale_factor=(0.3, 0.45))),                 # the factor sets s
    ((12, 10), dict(scale_factor=0.3, recompute_scale_factor=True)),   # in / out does
    ((6, 7), dict(scale_factor=(0.5, 1.6))),                    # down on y, up on x
    ((6, 9), dict(size=(6, 4))),                                # y copied
    ((5, 5), dict(scale_factor=(1.1, 0.9))),                    # floor(5 * 1.1) = 5: copied
]
AA_MODES = ("bilinear", "bicubic")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", AA_MODES)
@pytest.mark.parametrize("hw, kw", AA_CASES)
def test_antialias_matches_pytorch(rng, hw, kw, mode, dtype):
    torch = pytest.importorskip("torch")
    if hw == (5, 5):
        pytest.skip("the same size by a factor: PyTorch's backward differs, see the test below")
    x = rng.standard_normal((2, 3) + hw)
    kw = dict(kw, mode=mode, antialias=True)
    check_vs_torch(torch, lambda t: F.interpolate(t, **kw),
                   lambda t: torch.nn.functional.interpolate(t, **kw), [x], dtype, rng)


def _scale(kw):
    return kw.get("scale_factor") if not kw.get("recompute_scale_factor") else None


@pytest.mark.parametrize("mode", AA_MODES)
@pytest.mark.parametrize("hw, kw", AA_CASES)
def test_antialias_matches_the_loops_its_adjoint_and_finite_differences(xp, rng, hw, kw, mode):
    x = rng.standard_normal((1, 2) + hw)
    kw = dict(kw, mode=mode, antialias=True)
    y = F.interpolate(xp.asarray(x), **kw)
    ref = naive.interpolate_antialias(x, *y.shape[2:], mode, kw.get("align_corners", False), _scale(kw))
    np.testing.assert_allclose(to_np(y), ref, rtol=1e-12, atol=1e-12)
    # a linear map: <A x, v> = <x, A^T v>, A^T being the backward
    v = rng.standard_normal(y.shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    F.interpolate(t, **kw).backward(xp.asarray(v))
    assert np.isclose(float((to_np(y) * v).sum()), float((x * to_np(t.grad)).sum()), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda a: F.interpolate(a, **kw), [xp.asarray(x)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", AA_MODES)
@pytest.mark.parametrize("corners", [False, True])
def test_antialias_big_reduction_matches_pytorch_and_the_loops(rng, mode, corners, dtype):
    # 500 -> 37: windows of ~14 (bilinear) or ~27 (bicubic) pixels, none skipped
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 500, 9))
    kw = dict(size=(37, 4), mode=mode, align_corners=corners, antialias=True)
    check_vs_torch(torch, lambda t: F.interpolate(t, **kw),
                   lambda t: torch.nn.functional.interpolate(t, **kw), [x], dtype, rng)
    if dtype == np.float64:
        np.testing.assert_allclose(F.interpolate(x, **kw).numpy(),
                                   naive.interpolate_antialias(x, 37, 4, mode, corners), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", AA_MODES)
def test_antialias_rows_sum_to_one_and_cover_every_pixel(mode):
    # each output a weighted average (constants stay), and on a 6x reduction every input
    # pixel is read (the plain modes, 2 or 4 taps a row, skip some: that skipping is the aliasing)
    for corners in (False, True):
        A = F.interpolation_matrix(60, 10, mode, corners, antialias=True)
        np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=0, atol=1e-14)
        assert (np.abs(A) > 0).any(axis=0).all()
    plain = F.interpolation_matrix(60, 10, mode)
    assert not (np.abs(plain) > 0).any(axis=0).all()
    if mode == "bilinear":   # the triangle is never negative
        assert (F.interpolation_matrix(60, 10, mode, antialias=True) >= 0).all()


def test_antialias_bilinear_upsampling_is_the_plain_mode_bicubic_is_not(rng):
    # upsampling keeps the kernel's width: bilinear's weights are the plain mode's (the taps
    # past a border dropped and the rest renormalised is the plain clamp); bicubic's use
    # A = -0.5, not -0.75, and renormalise at the borders instead of clamping. With
    # align_corners PyTorch's antialiased modes still centre output o at s * (o + 0.5), only
    # with s = (in - 1) / (out - 1): not the plain mode's corners-on-corners
    x = rng.standard_normal((1, 2, 4, 5))
    kw = dict(size=(9, 11))
    np.testing.assert_allclose(F.interpolate(x, mode="bilinear", antialias=True, **kw).numpy(),
                               F.interpolate(x, mode="bilinear", **kw).numpy(), rtol=0, atol=1e-14)
    for mode, corners in (("bicubic", False), ("bicubic", True), ("bilinear", True)):
        assert not np.allclose(F.interpolate(x, mode=mode, align_corners=corners, antialias=True, **kw).numpy(),
                               F.interpolate(x, mode=mode, align_corners=corners, **kw).numpy())
    np.testing.assert_allclose(F._antialias_filter(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5]), True),
                               [naive._keys_cubic(d, -0.5) for d in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)],
                               rtol=0, atol=1e-15)


def test_antialias_keeping_the_size_by_a_factor_copies(rng):
    # floor(5 * 1.1) = 5: PyTorch's antialiased forward copies that axis, as ours; its CPU
    # backward resamples it anyway (not the forward's transpose). Ours is the transpose.
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 5, 5))
    for mode in AA_MODES:
        kw = dict(scale_factor=1.1, mode=mode, antialias=True)
        y = F.interpolate(x, **kw).numpy()
        np.testing.assert_array_equal(y, x)
        t = torch.tensor(x, requires_grad=True)
        np.testing.assert_array_equal(y, torch.nn.functional.interpolate(t, **kw).detach().numpy())
        # the gradient of a copy is the upstream one: ours; PyTorch's is not
        g = rng.standard_normal(x.shape)
        torch.nn.functional.interpolate(t, **kw).backward(torch.tensor(g))
        ours = Tensor(x, requires_grad=True)
        F.interpolate(ours, **kw).backward(g)
        np.testing.assert_array_equal(ours.grad, g)
        assert not np.allclose(t.grad.numpy(), g)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("mode", AA_MODES)
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_antialias_sends_an_inf_to_the_outputs_that_read_it(mode, bad):
    # the windows are finite: an inf reaches only the outputs whose window holds it (with its
    # weight's sign; NaN through a weight of 0 or where signs meet), as PyTorch's sum takes it
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 2, 23, 17))
    x[0, 1, 11, 3] = bad
    kw = dict(size=(6, 5), mode=mode, antialias=True)
    y = F.interpolate(x, **kw).numpy()
    yt = torch.nn.functional.interpolate(torch.tensor(x), **kw).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(yt))
    np.testing.assert_array_equal(y[np.isinf(yt)], yt[np.isinf(yt)])
    finite = np.isfinite(yt)
    np.testing.assert_allclose(y[finite], yt[finite], rtol=1e-12, atol=1e-12)
    assert np.isfinite(y[0, 0]).all() and not np.isfinite(y[0, 1]).all() and np.isfinite(y[0, 1]).any()


def test_antialias_refuses_the_other_modes():
    for mode in ("nearest", "nearest-exact", "area"):
        with pytest.raises(ValueError, match=f"antialias=True applies to 'bilinear' and 'bicubic' only, not '{mode}'"):
            F.interpolate(np.ones((1, 1, 4, 4)), size=2, mode=mode, antialias=True)
    with pytest.raises(TypeError, match="antialias must be a bool, got 'yes'"):
        F.interpolate(np.ones((1, 1, 4, 4)), size=2, mode="bilinear", antialias="yes")


# --------------------------------------------------------------------- grid_sample, bicubic

PADDINGS = [(padding, corners) for padding in ("zeros", "border", "reflection") for corners in (False, True)]


def _grid(rng, n, out_h, out_w, reach=2.5):
    # points well outside [-1, 1] too: every tap padded somewhere, reflection mirrored twice
    return rng.uniform(-reach, reach, (n, out_h, out_w, 2))


@pytest.mark.parametrize("padding, corners", PADDINGS)
def test_bicubic_grid_sample_matches_the_loops_and_its_adjoint(xp, rng, padding, corners):
    x, grid = rng.standard_normal((2, 3, 5, 4)), _grid(rng, 2, 3, 7)
    kw = dict(mode="bicubic", padding_mode=padding, align_corners=corners)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = F.grid_sample(t, xp.asarray(grid), **kw)
    np.testing.assert_allclose(to_np(y), naive.grid_sample(x, grid, **kw), rtol=1e-12, atol=1e-12)
    # linear in the input for a fixed grid: <S x, v> = <x, S^T v>, S^T the backward
    v = rng.standard_normal(y.shape)
    y.backward(xp.asarray(v))
    assert np.isclose(float((to_np(y) * v).sum()), float((x * to_np(t.grad)).sum()), rtol=1e-12)


@pytest.mark.parametrize("padding, corners", PADDINGS)
def test_bicubic_grid_sample_gradcheck_input_and_grid(xp, rng, padding, corners):
    # the kernel and its slope are continuous: the grid's gradient is the derivative even
    # where a tap crosses the border (the padding moves which pixel a tap reads, not its weight)
    x, grid = rng.standard_normal((1, 2, 4, 5)), _grid(rng, 1, 3, 2)
    kw = dict(mode="bicubic", padding_mode=padding, align_corners=corners)
    assert gradcheck(lambda a, g: F.grid_sample(a, g, **kw), [xp.asarray(x), xp.asarray(grid)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding, corners", PADDINGS)
def test_bicubic_grid_sample_matches_pytorch(rng, padding, corners, dtype):
    torch = pytest.importorskip("torch")
    x, grid = rng.standard_normal((2, 3, 5, 4)), _grid(rng, 2, 6, 3)
    kw = dict(mode="bicubic", padding_mode=padding, align_corners=corners)
    check_vs_torch(torch, lambda a, g: F.grid_sample(a, g, **kw),
                   lambda a, g: torch.nn.functional.grid_sample(a, g, **kw), [x, grid], dtype, rng)


@pytest.mark.parametrize("corners", [False, True])
def test_bicubic_grid_sample_on_the_pixel_centres_is_the_identity(xp, rng, corners):
    # t = 0 on both axes: weights (0, 1, 0, 0); and on a 1-pixel image every tap reads it
    x = rng.standard_normal((2, 3, 5, 4))
    eye = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
    grid = F.affine_grid(xp.asarray(eye), x.shape, align_corners=corners)
    for padding in ("zeros", "border", "reflection"):
        y = F.grid_sample(xp.asarray(x), grid, mode="bicubic", padding_mode=padding, align_corners=corners)
        np.testing.assert_allclose(to_np(y), x, rtol=0, atol=1e-12)
    one = rng.standard_normal((1, 2, 1, 1))
    y = F.grid_sample(one, rng.uniform(-0.4, 0.4, (1, 3, 3, 2)), mode="bicubic", padding_mode="border",
                      align_corners=corners)
    np.testing.assert_allclose(y.numpy(), np.broadcast_to(one, (1, 2, 3, 3)), rtol=0, atol=1e-12)


def test_bicubic_grid_sample_shapes_and_dtypes(rng):
    for dtype in DTYPES:
        x = Tensor(np.ones((0, 2, 3, 5), dtype), requires_grad=True)
        g = Tensor(np.zeros((0, 4, 2, 2), dtype), requires_grad=True)
        y = F.grid_sample(x, g, mode="bicubic")
        assert y.shape == (0, 2, 4, 2) and y.dtype == dtype
        y.sum().backward()
        assert x.grad.shape == x.shape and g.grad.shape == g.shape and g.grad.dtype == dtype
