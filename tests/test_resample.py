"""Resampling beyond nearest and bilinear: F.interpolate's bicubic, area and nearest-exact modes
and recompute_scale_factor, F.pixel_shuffle / F.pixel_unshuffle, F.affine_grid and
F.grid_sample, each checked against the loop version in naive.py, by finite differences, by the
adjoint identity of a linear map, and against PyTorch in float64 and float32."""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# --------------------------------------------------------------------- interpolate

CASES = [   # (input h, w), interpolate's keywords: odd sizes, up and down, both corner rules
    ((3, 4), dict(size=(7, 9), mode="bicubic")),
    ((3, 4), dict(size=(7, 9), mode="bicubic", align_corners=True)),
    ((7, 5), dict(size=(3, 2), mode="bicubic")),                        # down: taps skip pixels
    ((7, 5), dict(size=(3, 2), mode="bicubic", align_corners=True)),
    ((5, 6), dict(scale_factor=1.7, mode="bicubic")),                    # the factor places the taps
    ((5, 6), dict(scale_factor=1.7, mode="bicubic", recompute_scale_factor=True)),   # in / out does
    ((5, 6), dict(scale_factor=(0.6, 2.5), mode="bicubic", align_corners=True)),
    ((5, 5), dict(scale_factor=1.5, mode="bicubic")),                   # 7.5: floored to 7
    ((5, 5), dict(scale_factor=(1.1, 0.9), mode="bicubic")),           # down a pixel on x
    ((1, 5), dict(size=(1, 3), mode="bicubic", align_corners=True)),    # one row: out 1
    ((2, 2), dict(size=(5, 1), mode="bicubic")),                        # every tap clamped somewhere
    ((5, 7), dict(size=(3, 4), mode="area")),                            # windows overlap
    ((6, 5), dict(scale_factor=(0.5, 1.4), mode="area")),
    ((5, 7), dict(size=(8, 3), mode="nearest-exact")),
    ((5, 6), dict(scale_factor=1.7, mode="nearest-exact")),
    ((5, 6), dict(scale_factor=1.7, mode="nearest", recompute_scale_factor=True)),
    ((5, 6), dict(scale_factor=0.7, mode="bilinear", recompute_scale_factor=True)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw, kw", CASES)
def test_interpolate_matches_pytorch(rng, hw, kw, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3) + hw)
    check_vs_torch(torch, lambda t: F.interpolate(t, **kw),
                   lambda t: torch.nn.functional.interpolate(t, **kw), [x], dtype, rng)


def _scale(kw):
    return kw.get("scale_factor") if not kw.get("recompute_scale_factor") else None


@pytest.mark.parametrize("hw, kw", [c for c in CASES if c[1]["mode"] == "bicubic"])
def test_bicubic_matches_the_loops_its_adjoint_and_finite_differences(xp, rng, hw, kw):
    x = rng.standard_normal((1, 2) + hw)
    y = F.interpolate(xp.asarray(x), **kw)
    ref = naive.interpolate_bicubic(x, *y.shape[2:], kw.get("align_corners", False), _scale(kw))
    np.testing.assert_allclose(to_np(y), ref, rtol=1e-12, atol=1e-12)
    # a linear map: <A x, v> = <x, A^T v>, A^T being the backward
    v = rng.standard_normal(y.shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    F.interpolate(t, **kw).backward(xp.asarray(v))
    assert np.isclose(float((to_np(y) * v).sum()), float((x * to_np(t.grad)).sum()), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda a: F.interpolate(a, **kw), [xp.asarray(x)])


def test_bicubic_weights_are_keys_kernel_and_sum_to_one():
    # each row: the kernel at the taps' distances (the loop version's textbook form), summing
    # to 1 (a constant stays constant); the outer taps negative, so not a mere average
    A = F.interpolation_matrix(9, 20, "bicubic")
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert (A < 0).any()
    for t in (0.0, 0.25, 0.5, 0.9):
        for A_ in (-0.75, -0.5):
            np.testing.assert_allclose(F._cubic_weights(t, A_),
                                       [naive._keys_cubic(d, A_) for d in (t + 1, t, 1 - t, 2 - t)],
                                       rtol=0, atol=1e-14)   # terms up to 8|A|d ~ 12 cancel to ~0.005
    # with A = -0.5 (Keys' own choice) the kernel reproduces a straight line too
    taps = np.array([-1, 0, 1, 2])
    for t in (0.25, 0.5, 0.9):
        assert np.isclose(np.dot(F._cubic_weights(t, -0.5), taps), t, rtol=0, atol=1e-15)
        if t != 0.5:   # PyTorch's -0.75 bends a line off the half-way point (there, by symmetry, not)
            assert not np.isclose(np.dot(F._cubic_weights(t, -0.75), taps), t, rtol=0, atol=1e-3)


def test_bicubic_at_the_same_size_is_the_identity(rng):
    # t = 0 on every pixel: weights (0, 1, 0, 0)
    x = rng.standard_normal((1, 2, 5, 4))
    for corners in (False, True):
        np.testing.assert_allclose(F.interpolate(x, size=(5, 4), mode="bicubic", align_corners=corners).numpy(),
                                   x, rtol=0, atol=1e-15)


def test_bicubic_keeping_the_size_by_a_factor_still_resamples(rng):
    # floor(5 * 1.1) = 5: the same size, yet the factor moves every tap. PyTorch's forward
    # does so; its CPU backward copies the gradient through whenever the sizes match (as
    # its bilinear one, pytorch/pytorch#65200), which is not the forward's transpose. Ours is.
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 5, 5))
    kw = dict(scale_factor=1.1, mode="bicubic")
    y = F.interpolate(x, **kw).numpy()
    np.testing.assert_allclose(y, torch.nn.functional.interpolate(torch.tensor(x), **kw).numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, naive.interpolate_bicubic(x, 5, 5, scale_factor=1.1), rtol=1e-12, atol=1e-12)
    assert not np.allclose(y, x)
    assert gradcheck(lambda a: F.interpolate(a, **kw), [x])


@pytest.mark.parametrize("hw, out", [((5, 7), (3, 4)), ((4, 4), (7, 9)), ((6, 5), (2, 5))])
def test_area_is_adaptive_average_pooling_and_its_adjoint(xp, rng, hw, out):
    x = rng.standard_normal((2, 3) + hw)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = F.interpolate(t, size=out, mode="area")
    np.testing.assert_allclose(to_np(y), naive.adaptive_avg_pool2d(x, *out), rtol=1e-12, atol=1e-12)
    v = rng.standard_normal(y.shape)
    y.backward(xp.asarray(v))
    assert np.isclose(float((to_np(y) * v).sum()), float((x * to_np(t.grad)).sum()), rtol=1e-12)


def test_recompute_scale_factor_places_pixels_by_the_sizes(rng):
    # floor(5 * 1.7) = 8: with the factor recomputed, the result is the one for size 8
    x = rng.standard_normal((1, 1, 5, 5))
    for mode in ("nearest", "bilinear", "bicubic"):
        recomputed = F.interpolate(x, scale_factor=1.7, mode=mode, recompute_scale_factor=True).numpy()
        sized = F.interpolate(x, size=8, mode=mode).numpy()
        np.testing.assert_array_equal(recomputed, sized)
        assert not np.allclose(F.interpolate(x, scale_factor=1.7, mode=mode).numpy(), sized)


def test_upsample_layer_takes_the_new_modes_and_recompute(rng):
    x = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    layer = nn.Upsample(scale_factor=1.5, mode="bicubic", align_corners=False, recompute_scale_factor=True)
    y = layer(Tensor(x))
    assert y.dtype == np.float32 and y.shape == (1, 2, 6, 7)
    np.testing.assert_array_equal(y.numpy(), F.interpolate(x, size=(6, 7), mode="bicubic").numpy())
    np.testing.assert_array_equal(nn.Upsample(size=(2, 3), mode="area")(x).numpy(),
                                  F.adaptive_avg_pool2d(x, (2, 3)).numpy())


@pytest.mark.parametrize("out, corners", [((7, 9), False), ((10, 12), False),
                                          ((9, 11), True)])   # t = 0 every other pixel: taps of weight 0
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_bicubic_sends_an_inf_with_its_weights_sign(bad, out, corners):
    # the outer taps' weights are negative: PyTorch's sum gives -inf there, and a NaN where
    # both signs meet, and a NaN where a tap of weight exactly 0 reads it (0 * inf); a
    # product of matrices had spread 0 * inf = NaN over the whole map
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 6))
    x[0, 1, 2, 3] = bad
    gy = np.zeros((1, 2) + out)
    gy[0, 0, 3, 4] = bad
    t = Tensor(x, requires_grad=True)
    y = F.interpolate(t, size=out, mode="bicubic", align_corners=corners)
    y.backward(gy)
    tt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.interpolate(tt, size=out, mode="bicubic", align_corners=corners)
    yt.backward(torch.tensor(gy))
    for a, b in ((y.numpy(), yt.detach().numpy()), (t.grad, tt.grad.numpy())):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(a[np.isinf(b)], b[np.isinf(b)])   # the signs too
        finite = np.isfinite(b)
        np.testing.assert_allclose(a[finite], b[finite], rtol=1e-12, atol=1e-12)
    if bad == np.inf:   # cases that tell the signs apart, and see a tap of weight 0
        assert (y.numpy() == -np.inf).any() and (y.numpy() == np.inf).any()
        assert np.isnan(y.numpy()).any() == corners


@pytest.mark.parametrize("kw, error, message", [
    (dict(size=4, mode="cubic"), ValueError, "mode must be one of .*got 'cubic'"),
    (dict(size=4, mode="area", align_corners=False), ValueError,
     "align_corners applies to 'bilinear' and 'bicubic' only, not 'area'"),
    (dict(size=4, mode="bicubic", align_corners="yes"), TypeError, "align_corners must be a bool, got 'yes'"),
    (dict(size=4, mode="bicubic", recompute_scale_factor=True), ValueError,
     r"recompute_scale_factor=True goes with a scale_factor, not with size=4"),
    (dict(scale_factor=2, mode="bicubic", recompute_scale_factor="no"), TypeError,
     "recompute_scale_factor must be a bool, got 'no'"),
    (dict(scale_factor=0.2, mode="area"), ValueError, r"scale_factor 0.2 leaves no pixel of 3x3"),
    (dict(size=2, mode="area", antialias=True), ValueError,
     "antialias=True applies to 'bilinear' and 'bicubic' only, not 'area'"),
])
def test_interpolate_errors_name_the_values(kw, error, message):
    with pytest.raises(error, match=message):
        F.interpolate(np.ones((1, 1, 3, 3)), **kw)


# --------------------------------------------------------------------- pixel shuffle

SHUFFLES = [((2, 8, 3, 5), 2), ((1, 18, 2, 3), 3), ((3, 4, 1, 1), 1),   # r = 1: nothing moves
            ((5, 8, 2, 3), 2), ((2, 3, 9, 4, 2), 3)]                     # 3-D and 5-D: (*, c, h, w)


@pytest.mark.parametrize("shape, r", SHUFFLES)
def test_pixel_shuffle_matches_the_loops_is_undone_and_adjoint(xp, rng, shape, r):
    x = rng.standard_normal(shape)
    y = F.pixel_shuffle(xp.asarray(x), r)
    ref = naive.pixel_shuffle(x, r)
    assert y.shape == ref.shape == shape[:-3] + (shape[-3] // r ** 2, shape[-2] * r, shape[-1] * r)
    np.testing.assert_array_equal(to_np(y), ref)
    z = rng.standard_normal(ref.shape)
    np.testing.assert_array_equal(to_np(F.pixel_unshuffle(xp.asarray(z), r)), naive.pixel_unshuffle(z, r))
    # each the other's inverse, both ways
    np.testing.assert_array_equal(to_np(F.pixel_unshuffle(y, r)), x)
    np.testing.assert_array_equal(to_np(F.pixel_shuffle(F.pixel_unshuffle(xp.asarray(z), r), r)), z)
    # and each other's adjoint: <S x, z> = <x, U z>, U being S's backward
    t = Tensor(xp.asarray(x), requires_grad=True)
    F.pixel_shuffle(t, r).backward(xp.asarray(z))
    np.testing.assert_array_equal(to_np(t.grad), naive.pixel_unshuffle(z, r))
    assert np.isclose(float((ref * z).sum()), float((x * naive.pixel_unshuffle(z, r)).sum()), rtol=1e-12)
    u = Tensor(xp.asarray(z), requires_grad=True)
    F.pixel_unshuffle(u, r).backward(xp.asarray(x))
    np.testing.assert_array_equal(to_np(u.grad), ref)


def test_pixel_shuffle_moves_values_not_only_shapes():
    # channel k*r*r + i*r + j lands on rows i::r, columns j::r of channel k
    x = np.arange(2 * 4 * 2 * 3, dtype=np.float64).reshape(1, 8, 2, 3)
    y = F.pixel_shuffle(x, 2).numpy()
    for k in range(2):
        for i in range(2):
            for j in range(2):
                np.testing.assert_array_equal(y[0, k, i::2, j::2], x[0, k * 4 + i * 2 + j])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, r", [((2, 8, 3, 5), 2), ((1, 18, 3, 2), 3), ((2, 3, 9, 4, 2), 3)])
def test_pixel_shuffle_and_unshuffle_match_pytorch(rng, shape, r, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    check_vs_torch(torch, lambda t: F.pixel_shuffle(t, r),
                   lambda t: torch.nn.functional.pixel_shuffle(t, r), [x], dtype, rng)
    z = naive.pixel_shuffle(x, r)
    check_vs_torch(torch, lambda t: F.pixel_unshuffle(t, r),
                   lambda t: torch.nn.functional.pixel_unshuffle(t, r), [z], dtype, rng)


def test_pixel_shuffle_gradcheck_and_layers(xp, rng):
    x = xp.asarray(rng.standard_normal((1, 8, 2, 3)))
    assert gradcheck(lambda a: F.pixel_shuffle(a, 2) * F.pixel_shuffle(a, 2), [x])
    assert gradcheck(lambda a: F.pixel_unshuffle(a, 2) ** 3, [xp.asarray(rng.standard_normal((1, 2, 4, 2)))])
    layer, back = nn.PixelShuffle(2), nn.PixelUnshuffle(2)
    assert "upscale_factor=2" in repr(layer) and "downscale_factor=2" in repr(back)
    np.testing.assert_array_equal(to_np(back(layer(x))), to_np(x))
    np.testing.assert_array_equal(to_np(layer(x)), to_np(F.pixel_shuffle(x, 2)))


@pytest.mark.parametrize("fn, shape, r", [(F.pixel_shuffle, (1, 4, 1, 1), 2), (F.pixel_shuffle, (2, 3, 4, 5), 1),
                                         (F.pixel_shuffle, (3, 9, 1, 1), 3), (F.pixel_unshuffle, (1, 1, 2, 2), 2),
                                         (F.pixel_unshuffle, (2, 3, 4, 5), 1), (F.pixel_shuffle, (2, 8, 3, 5), 2)])
def test_pixel_shuffle_and_unshuffle_always_copy(xp, fn, shape, r):
    # as PyTorch's: where the axes it swaps have size 1 (r = 1, a 1x1 map, an r x r map
    # unshuffled) a reshape alone would give a view, and a change to the output would change x
    x = Tensor(xp.zeros(shape))
    y = fn(x, r)
    y.data[...] = 1
    assert float(to_np(x).sum()) == 0


@pytest.mark.parametrize("fn, shape, r, error, message", [
    (F.pixel_shuffle, (1, 6, 2, 2), 2, ValueError, "the input's 6 channels are not a multiple of upscale_factor\\*\\*2 = 4"),
    (F.pixel_shuffle, (1, 4, 2, 2), 0, ValueError, "upscale_factor must be >= 1, got 0"),
    (F.pixel_shuffle, (1, 4, 2, 2), 2.0, TypeError, "upscale_factor must be an int, got 2.0"),
    (F.pixel_shuffle, (1, 4, 2, 2), True, TypeError, "upscale_factor must be an int, got True"),
    (F.pixel_shuffle, (4, 2), 2, ValueError, r"at least 3-D, got shape \(4, 2\)"),
    (F.pixel_unshuffle, (1, 1, 4, 5), 2, ValueError, "height 4 and width 5 must both be multiples of downscale_factor 2"),
    (F.pixel_unshuffle, (1, 1, 4, 4), -2, ValueError, "downscale_factor must be >= 1, got -2"),
    (F.pixel_unshuffle, (4, 4), 2, ValueError, r"at least 3-D, got shape \(4, 4\)"),
])
def test_pixel_shuffle_errors_name_the_values(fn, shape, r, error, message):
    with pytest.raises(error, match=message):
        fn(np.ones(shape), r)


# --------------------------------------------------------------------- grid sampling

GRID_CASES = [(mode, padding, corners) for mode in ("bilinear", "nearest")
              for padding in ("zeros", "border", "reflection") for corners in (False, True)]


def _grid(rng, n, out_h, out_w, reach=2.5):
    # points well outside [-1, 1] too: the padding modes at work, reflection mirrored twice
    return rng.uniform(-reach, reach, (n, out_h, out_w, 2))


@pytest.mark.parametrize("mode, padding, corners", GRID_CASES)
def test_grid_sample_matches_the_loops_and_its_adjoint(xp, rng, mode, padding, corners):
    x, grid = rng.standard_normal((2, 3, 5, 4)), _grid(rng, 2, 3, 7)
    kw = dict(mode=mode, padding_mode=padding, align_corners=corners)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = F.grid_sample(t, xp.asarray(grid), **kw)
    np.testing.assert_allclose(to_np(y), naive.grid_sample(x, grid, **kw), rtol=1e-12, atol=1e-12)
    # linear in the input for a fixed grid: <S x, v> = <x, S^T v>, S^T the backward
    v = rng.standard_normal(y.shape)
    y.backward(xp.asarray(v))
    assert np.isclose(float((to_np(y) * v).sum()), float((x * to_np(t.grad)).sum()), rtol=1e-12)


@pytest.mark.parametrize("padding, corners", [(p, c) for _, p, c in GRID_CASES[:6]])
def test_grid_sample_gradcheck_input_and_grid(xp, rng, padding, corners):
    x, grid = rng.standard_normal((1, 2, 4, 5)), _grid(rng, 1, 3, 2)
    kw = dict(padding_mode=padding, align_corners=corners)
    assert gradcheck(lambda a, g: F.grid_sample(a, g, **kw), [xp.asarray(x), xp.asarray(grid)])
    # nearest: the grid's gradient is 0, as the differences are (no point sits on a rounding edge)
    assert gradcheck(lambda a, g: F.grid_sample(a, g, mode="nearest", **kw), [xp.asarray(x), xp.asarray(grid)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode, padding, corners", GRID_CASES)
def test_grid_sample_matches_pytorch(rng, mode, padding, corners, dtype):
    torch = pytest.importorskip("torch")
    x, grid = rng.standard_normal((2, 3, 5, 4)), _grid(rng, 2, 6, 3)
    kw = dict(mode=mode, padding_mode=padding, align_corners=corners)
    check_vs_torch(torch, lambda a, g: F.grid_sample(a, g, **kw),
                   lambda a, g: torch.nn.functional.grid_sample(a, g, **kw), [x, grid], dtype, rng)


@pytest.mark.parametrize("corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 3)])   # one row: y = 0
def test_affine_grid_matches_the_loops_pytorch_and_its_adjoint(xp, rng, size, corners):
    theta = rng.standard_normal((size[0], 2, 3))
    t = Tensor(xp.asarray(theta), requires_grad=True)
    grid = F.affine_grid(t, size, align_corners=corners)
    assert grid.shape == (size[0], size[2], size[3], 2)
    np.testing.assert_allclose(to_np(grid), naive.affine_grid(theta, *size[2:], corners), rtol=1e-12, atol=1e-12)
    v = rng.standard_normal(grid.shape)   # linear in theta
    grid.backward(xp.asarray(v))
    assert np.isclose(float((to_np(grid) * v).sum()), float((theta * to_np(t.grad)).sum()), rtol=1e-12)
    assert gradcheck(lambda a: F.affine_grid(a, size, align_corners=corners), [xp.asarray(theta)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("corners", [False, True])
def test_affine_grid_and_a_spatial_transformer_match_pytorch(rng, corners, dtype):
    torch = pytest.importorskip("torch")
    size = (2, 3, 5, 6)
    theta = rng.standard_normal((2, 2, 3)) * 0.7
    check_vs_torch(torch, lambda a: F.affine_grid(a, size, align_corners=corners),
                   lambda a: torch.nn.functional.affine_grid(a, size, align_corners=corners), [theta], dtype, rng)
    x = rng.standard_normal(size)

    def ours(a, th):
        return F.grid_sample(a, F.affine_grid(th, size, corners), padding_mode="border", align_corners=corners)

    def theirs(a, th):
        f = torch.nn.functional
        return f.grid_sample(a, f.affine_grid(th, size, corners), padding_mode="border", align_corners=corners)

    check_vs_torch(torch, ours, theirs, [x, theta], dtype, rng)


@pytest.mark.parametrize("corners", [False, True])
def test_the_identity_transform_gives_the_image_back_and_theta_learns(xp, rng, corners):
    # the identity grid lands on every pixel's centre: bilinear weights (1, 0, 0, 0)
    x = rng.standard_normal((2, 3, 5, 4))
    eye = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
    grid = F.affine_grid(xp.asarray(eye), x.shape, align_corners=corners)
    np.testing.assert_allclose(to_np(F.grid_sample(xp.asarray(x), grid, align_corners=corners)), x,
                               rtol=0, atol=1e-12)
    # a small rotation and shift: the gradient reaches theta through the grid
    theta = eye + 0.1 * rng.standard_normal(eye.shape)
    assert gradcheck(lambda th: F.grid_sample(xp.asarray(x), F.affine_grid(th, x.shape, corners),
                                              align_corners=corners), [xp.asarray(theta)])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")   # inf * 0: the NaN asked for
@pytest.mark.parametrize("bad", [np.inf, np.nan])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_keeps_an_inf_to_the_points_that_read_it(mode, bad):
    # a point outside the image reads nothing: pixel 0's inf (where an outside tap's index
    # points) reaches only the points near it, as PyTorch's, and a gradient of inf likewise
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, grid = rng.standard_normal((1, 2, 4, 5)), _grid(rng, 1, 6, 6)
    x[0, 1, 0, 0] = bad
    grid[0, 0, 0] = (-0.85, -0.8)   # a point by pixel (0, 0)'s centre (-0.8, -0.75)
    gy = np.zeros((1, 2, 6, 6))
    gy[0, 0, 2, 3] = bad
    t, g = Tensor(x, requires_grad=True), Tensor(grid, requires_grad=True)
    y = F.grid_sample(t, g, mode=mode)
    y.backward(gy)
    tt, tg = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
    yt = torch.nn.functional.grid_sample(tt, tg, mode=mode, align_corners=False)
    yt.backward(torch.tensor(gy))
    for a, b in ((y.numpy(), yt.detach().numpy()), (t.grad, tt.grad.numpy()), (g.grad, tg.grad.numpy())):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(a[np.isinf(b)], b[np.isinf(b)])
        finite = np.isfinite(b)
        np.testing.assert_allclose(a[finite], b[finite], rtol=1e-12, atol=1e-12)
    outside = (np.abs(grid[0]) > 1.2).any(axis=-1)   # every tap outside the image
    assert not np.isfinite(y.numpy()[0, 1, 0, 0]) and np.isfinite(y.numpy()[0, 1][outside]).all()


@pytest.mark.parametrize("fn, args, kw, error, message", [
    (F.grid_sample, ((1, 1, 3, 3), (1, 2, 2, 3)), {}, ValueError, r"grid must be \(n, out_h, out_w, 2\) with the input's n = 1, got shape \(1, 2, 2, 3\)"),
    (F.grid_sample, ((2, 1, 3, 3), (1, 2, 2, 2)), {}, ValueError, "with the input's n = 2, got shape"),
    (F.grid_sample, ((1, 1, 3, 3), (1, 2, 2, 2)), dict(mode="cubic"), ValueError, "mode must be one of 'bilinear', 'nearest', 'bicubic', got 'cubic'"),
    (F.grid_sample, ((1, 1, 3, 3), (1, 2, 2, 2)), dict(padding_mode="reflect"), ValueError, "padding_mode must be one of 'zeros', 'border', 'reflection', got 'reflect'"),
    (F.grid_sample, ((1, 1, 3, 3), (1, 2, 2, 2)), dict(align_corners="no"), TypeError, "align_corners must be a bool, got 'no'"),
    (F.grid_sample, ((3, 3), (1, 2, 2, 2)), {}, ValueError, r"input must be 4-D \(n, c, h, w\), got shape \(3, 3\)"),
    (F.affine_grid, ((1, 3, 3), (1, 1, 4, 4)), {}, ValueError, r"theta must be \(n, 2, 3\), .* got shape \(1, 3, 3\)"),
    (F.affine_grid, ((1, 2, 3), (1, 1, 2, 4, 4)), {}, ValueError, r"size must be 4 ints \(n, c, h, w\) \(2-D images only\), got \(1, 1, 2, 4, 4\)"),
    (F.affine_grid, ((2, 2, 3), (1, 1, 4, 4)), {}, ValueError, r"size \(1, 1, 4, 4\) must have theta's batch 2"),
    (F.affine_grid, ((1, 2, 3), (1, 1, 0, 4)), {}, ValueError, r"size \(1, 1, 0, 4\) must have h and w >= 1"),
])
def test_grid_errors_name_the_values(fn, args, kw, error, message):
    a, b = args
    with pytest.raises(error, match=message):
        fn(np.zeros(a), b if fn is F.affine_grid else np.zeros(b), **kw)


def test_grid_sample_refuses_a_grid_of_another_dtype():
    with pytest.raises(TypeError, match="grid must have the input's dtype float32, got float64"):
        F.grid_sample(np.zeros((1, 1, 2, 2), np.float32), np.zeros((1, 1, 1, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 2])   # no image: shapes and gradients still right
def test_shapes_and_dtypes_pass_through_with_any_batch(n, dtype):
    x = Tensor(np.ones((n, 8, 3, 5), dtype), requires_grad=True)
    theta = Tensor(np.tile(np.eye(2, 3, dtype=dtype), (n, 1, 1)), requires_grad=True)
    grid = F.affine_grid(theta, (n, 8, 4, 2))
    outs = [F.pixel_shuffle(x, 2), F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2),
            F.interpolate(x, size=(5, 4), mode="bicubic"), F.interpolate(x, size=(2, 2), mode="area"),
            F.grid_sample(x, grid)]
    assert [o.shape for o in outs] == [(n, 2, 6, 10), (n, 8, 3, 5), (n, 8, 5, 4), (n, 8, 2, 2), (n, 8, 4, 2)]
    sum(o.sum() for o in outs).backward()
    for t in (x, theta):
        assert t.grad.shape == t.shape and t.grad.dtype == dtype
    assert all(o.dtype == dtype for o in outs) and grid.dtype == dtype
