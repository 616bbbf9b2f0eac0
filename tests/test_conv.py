"""conv2d and conv_transpose2d, four ways: naive loops, finite differences, adjointness, PyTorch.

Every test runs through the three stride-1 code paths of the kernels: im2col + products,
shifted slices of the flattened image (normally only for large ``col``), and Winograd's
F(2x2, 3x3) for 3x3 kernels (normally only for many channels); each forced here.
"""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.init import bilinear_kernel
from minifcn.kernels import conv as K
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# (n, in_c, h, w, out_c, kh, kw, stride, padding, dilation)
CONV_CASES = [
    (2, 3, 5, 5, 4, 3, 3, 1, 1, 1),
    (1, 2, 7, 6, 3, 3, 2, 2, 0, 1),          # odd sizes, stride 2, rectangular kernel
    (2, 2, 8, 7, 2, 2, 2, 3, 1, 1),          # stride > kernel
    (1, 3, 9, 8, 2, 3, 3, (2, 1), (1, 2), 2),  # dilation, per-axis stride/padding
    (2, 4, 4, 5, 3, 1, 1, 1, 0, 1),          # 1x1 (no unfolding)
    (2, 2, 4, 5, 3, 3, 3, 1, (6, 5), 1),     # padded past the kernel's reach (FCN's conv1_1):
    (1, 2, 5, 4, 2, 3, 2, 1, (5, 4), (2, 1)),  # a ring of outputs that see only padding
    (1, 2, 9, 5, 2, 3, 3, (3, 1), 1, 1),     # overlapping across, not down: no window reaches row 8
]

# (n, in_c, h, w, out_c, kh, kw, stride, padding, output_padding)
CONVT_CASES = [
    (2, 3, 4, 4, 2, 3, 3, 1, 1, 0),
    (1, 2, 3, 5, 3, 3, 3, 2, 1, 1),
    (2, 2, 3, 3, 2, 4, 4, 2, 1, 0),          # FCN's 2x upsampling shape
    (1, 2, 3, 4, 2, 2, 3, (3, 2), 0, (2, 1)),  # stride > kernel, output_padding per axis
    (1, 2, 14, 13, 3, 3, 3, 1, 5, 0),        # padding past the reach: the input's ring unread
    (1, 2, 3, 5, 2, 2, 5, 2, (0, 3), 1),     # output_padding past the last tap down, not across
]


@pytest.fixture(autouse=True, params=["im2col", "im2col-plain", "shifted", "winograd", "winograd4"])
def conv_path(request, monkeypatch):
    """Force one of the stride-1 paths: a huge col limit (and no depth rule) keeps im2col,
    0 forces the shifts; no channel or tile minimum sends every 3x3 kernel Winograd's way,
    F(2x2, 3x3) or F(4x4, 3x3) (on the CPU: on a GPU the cases run by im2col, and
    tests/test_winograd.py calls the Winograd kernels on CuPy directly). The im2col path also
    splits every weight gradient's sum over the pixels among the threads (the others leave it
    whole for 1x1 kernels). Its cases are shallow, so their bias rides in the products, and
    autograd's forward keeps col for the backward, and small, so their input gradient's col is
    made pixels first (on the CPU) and a batch's images are one product, and a convolution
    padded past its kernel's reach always computes only its inner outputs; "im2col-plain" does
    none of these (on a GPU the batch is one product still)."""
    monkeypatch.setattr(K, "COL_MAX_BYTES", 0 if request.param == "shifted" else 2**62)
    monkeypatch.setattr(K, "COL_OVER_MAPS", 0)   # however small col is against the maps
    monkeypatch.setattr(K, "SHIFTS_BELOW_DEPTH", 0)
    if request.param == "im2col":
        monkeypatch.setattr(K, "SPLIT_COLS", 1)
        monkeypatch.setattr(K, "INNER_MAX_FRACTION", 1)
    if request.param == "im2col-plain":
        monkeypatch.setattr(K, "PIXELS_FIRST_MAX_PIXELS", 0)
        monkeypatch.setattr(K, "BIAS_ROW_MAX_DEPTH", 0)
        monkeypatch.setattr(K, "COL_KEEP_BYTES", 0)
        monkeypatch.setattr(K, "ONE_PRODUCT_MAX_COLS", 0)
        monkeypatch.setattr(K, "INNER_MAX_FRACTION", 0)
    if request.param == "winograd":
        monkeypatch.setattr(K, "WINOGRAD_MIN_WIDTH", 0)
        monkeypatch.setattr(K, "WINOGRAD_MIN_TILES", 0)
    if request.param == "winograd4":
        monkeypatch.setattr(K, "WINOGRAD4_MIN_WIDTH", 0)
        monkeypatch.setattr(K, "WINOGRAD4_MIN_WORK", 0)
        monkeypatch.setattr(K, "WINOGRAD4_MIN_TILES_PER_WIDTH", 0)
    return request.param


def _conv_inputs(rng, case):
    n, in_c, h, w, out_c, kh, kw = case[:7]
    return (rng.standard_normal((n, in_c, h, w)), rng.standard_normal((out_c, in_c, kh, kw)),
            rng.standard_normal(out_c))


def _convt_inputs(rng, case):
    n, in_c, h, w, out_c, kh, kw = case[:7]
    return (rng.standard_normal((n, in_c, h, w)), rng.standard_normal((in_c, out_c, kh, kw)),
            rng.standard_normal(out_c))


# --------------------------------------------------------------------- 1. naive loops
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_naive(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d = case[7:]
    y = F.conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), stride=s, padding=p, dilation=d)
    np.testing.assert_allclose(to_np(y), naive.conv2d(x, W, b, s, p, d), atol=1e-10, rtol=0)


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose2d_matches_naive(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op = case[7:]
    y = F.conv_transpose2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), stride=s, padding=p, output_padding=op)
    np.testing.assert_allclose(to_np(y), naive.conv_transpose2d(x, W, b, s, p, op), atol=1e-10, rtol=0)


@pytest.mark.parametrize("factor", [2, 3, 8])  # FCN's 4/2 and 16/8 upsamplings; an odd one (its centre)
def test_bilinear_transposed_conv_matches_naive_bilinear(xp, rng, factor):
    k = 2 * factor - factor % 2   # FCN's kernel: 2f, or 2f - 1 for an odd factor (a centre pixel)
    x = rng.standard_normal((1, 3, 3, 4))
    W = xp.asarray(bilinear_kernel(3, 3, k, dtype=np.float64, device="cpu"))
    y = F.conv_transpose2d(xp.asarray(x), W, stride=factor)
    assert y.shape == (1, 3, 2 * factor + k, 3 * factor + k)
    np.testing.assert_allclose(to_np(y), naive.bilinear_upsample(x, factor), atol=1e-10, rtol=0)


def test_bilinear_upsampling_interpolates_linear_ramps(xp):
    # a ramp is reproduced exactly away from the borders: bilinear interpolation of a linear function
    f = 4
    x = np.add.outer(np.arange(5.0), 2 * np.arange(5.0))[None, None]
    y = to_np(F.conv_transpose2d(xp.asarray(x), xp.asarray(bilinear_kernel(1, 1, 2 * f, dtype=np.float64, device="cpu")),
                                 stride=f))[0, 0]
    # output index m sits at input coordinate (m - f + 0.5) / f; between the first and last input
    # centres (m in [f, h*f)) the result is the ramp itself, so its slopes are 1/f and 2/f
    inner = y[f:-f, f:-f]
    np.testing.assert_allclose(np.diff(inner, axis=0), 1.0 / f, atol=1e-12)
    np.testing.assert_allclose(np.diff(inner, axis=1), 2.0 / f, atol=1e-12)


# --------------------------------------------------------------------- 2. finite differences
@pytest.mark.parametrize("case", CONV_CASES[:7])   # stride 1 too: each forced path through autograd
def test_conv2d_gradcheck_every_element(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d = case[7:]
    # a tiny batch so x, W and b are all checked element by element
    x = x[:1, :, :6, :6]
    assert gradcheck(lambda x, W, b: F.conv2d(x, W, b, s, p, d), [xp.asarray(v) for v in (x, W, b)])


def test_fcn_conv1_1_gradcheck_padding_100(xp, rng):
    # the outputs that see only padding (the inner path: the bias alone there) and the bias
    # in the product, through autograd
    x, W, b = rng.standard_normal((1, 3, 7, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    assert gradcheck(lambda x, W, b: F.conv2d(x, W, b, padding=100), [xp.asarray(v) for v in (x, W, b)],
                     max_elements=32, directions=4)


def test_1x1_on_a_map_past_the_pixels_first_limit_with_a_batch(xp, rng):
    # 420 output pixels an image: the input gradient is folded channels first, per image
    x, W, b = rng.standard_normal((2, 4, 21, 20)), rng.standard_normal((3, 4, 1, 1)), rng.standard_normal(3)
    gy = rng.standard_normal((2, 3, 21, 20))
    xt, Wt, bt = (Tensor(xp.asarray(v), requires_grad=True) for v in (x, W, b))
    F.conv2d(xt, Wt, bt).backward(xp.asarray(gy))
    np.testing.assert_allclose(to_np(xt.grad), naive.conv_transpose2d(gy, W), atol=1e-10, rtol=0)
    np.testing.assert_allclose(to_np(Wt.grad)[:, :, 0, 0], np.einsum("nohw,nchw->oc", gy, x), atol=1e-10, rtol=0)
    np.testing.assert_allclose(to_np(bt.grad), gy.sum(axis=(0, 2, 3)), atol=1e-10, rtol=0)
    assert gradcheck(lambda x, W, b: F.conv2d(x, W, b), [xp.asarray(v) for v in (x, W, b)],
                     max_elements=16, directions=3)


@pytest.mark.parametrize("wants", [(True, False, False), (False, True, False), (False, False, True),
                                   (True, False, True), (True, True, True)])
@pytest.mark.parametrize("transposed,k,s,p", [(False, 3, 1, 1), (False, 3, 2, 1),
                                              (True, 4, 2, 1), (True, 3, 1, 1)])
def test_a_layer_makes_only_the_gradients_wanted_on_every_path(xp, rng, wants, transposed, k, s, p):
    """x, W and b each with or without requires_grad: each gradient wanted equals its share of
    all three, the others stay None. FCN's upsamplings are frozen transposed convolutions
    whose input alone needs a gradient: their two flags swapped had left the whole trunk
    without one, and every op test had passed."""
    x = rng.standard_normal((2, 3, 5, 4))
    W = rng.standard_normal((3, 2, k, k) if transposed else (2, 3, k, k))
    b = rng.standard_normal(2)
    op = (lambda x, W, b: F.conv_transpose2d(x, W, b, s, p)) if transposed else \
        (lambda x, W, b: F.conv2d(x, W, b, s, p))
    every = [Tensor(xp.asarray(v), requires_grad=True) for v in (x, W, b)]
    y = op(*every)
    gy = rng.standard_normal(y.shape)
    y.backward(xp.asarray(gy))
    some = [Tensor(xp.asarray(v), requires_grad=w) for v, w in zip((x, W, b), wants)]
    op(*some).backward(xp.asarray(gy))
    for got, full, wanted in zip(some, every, wants):
        if wanted:
            np.testing.assert_allclose(to_np(got.grad), to_np(full.grad), atol=1e-10, rtol=0)
        else:
            assert got.grad is None
    # and the input's gradient by the loops: a convolution's is the transposed one, and back
    if transposed:
        want_gx = naive.conv2d(gy, W, None, s, p)
    else:   # output_padding: the rows and columns a strided window grid leaves unread
        op = tuple(x.shape[i] - ((y.shape[i] - 1) * s - 2 * p + k) for i in (2, 3))
        want_gx = naive.conv_transpose2d(gy, W, None, s, p, op)
    np.testing.assert_allclose(to_np(every[0].grad), want_gx, atol=1e-10, rtol=0)


def test_conv2d_gradcheck_random_directions(xp, rng):
    x = rng.standard_normal((2, 4, 11, 10))
    W = rng.standard_normal((5, 4, 3, 3))
    b = rng.standard_normal(5)
    assert gradcheck(lambda x, W, b: F.conv2d(x, W, b, stride=2, padding=1),
                     [xp.asarray(v) for v in (x, W, b)], max_elements=64, directions=4)


@pytest.mark.parametrize("case", CONVT_CASES[1:])
def test_conv_transpose2d_gradcheck_every_element(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op = case[7:]
    x = x[:1]
    assert gradcheck(lambda x, W, b: F.conv_transpose2d(x, W, b, s, p, op), [xp.asarray(v) for v in (x, W, b)])


def test_conv_transpose2d_gradcheck_random_directions(xp, rng):
    x = rng.standard_normal((2, 3, 6, 5))
    W = rng.standard_normal((3, 2, 4, 4))
    assert gradcheck(lambda x, W: F.conv_transpose2d(x, W, stride=2, padding=1),
                     [xp.asarray(x), xp.asarray(W)], max_elements=32, directions=4)


# --------------------------------------------------------------------- 3. adjointness
@pytest.mark.parametrize("h,w,k,s,p", [(7, 6, 3, 2, 1), (8, 8, 4, 2, 1), (9, 7, 2, 3, 0), (5, 5, 3, 1, 2)])
def test_conv_and_transposed_conv_are_adjoint(xp, rng, h, w, k, s, p):
    W = xp.asarray(rng.standard_normal((3, 2, k, k)))
    x = xp.asarray(rng.standard_normal((2, 2, h, w)))
    y_shape = F.conv2d(x, W, stride=s, padding=p).shape
    y = xp.asarray(rng.standard_normal(y_shape))
    # output_padding picks the input size among those the strided conv maps onto y's size
    op = (h - ((y_shape[2] - 1) * s - 2 * p + k), w - ((y_shape[3] - 1) * s - 2 * p + k))
    back = F.conv_transpose2d(y, W, stride=s, padding=p, output_padding=op)
    assert back.shape == x.shape
    lhs = float((F.conv2d(x, W, stride=s, padding=p).data * y).sum())
    rhs = float((x * back.data).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# --------------------------------------------------------------------- 4. PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, d = case[7:]
    check_vs_torch(torch, lambda x, W, b: F.conv2d(x, W, b, s, p, d),
                      lambda x, W, b: torch.nn.functional.conv2d(x, W, b, s, p, d),
                      _conv_inputs(rng, case), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1_1_padding_100_vs_torch(rng, dtype):
    # FCN's first layer: 3x3, padding 100, on an input much smaller than the padding
    torch = pytest.importorskip("torch")
    arrays = (rng.standard_normal((1, 3, 7, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4))
    check_vs_torch(torch, lambda x, W, b: F.conv2d(x, W, b, padding=100),
                      lambda x, W, b: torch.nn.functional.conv2d(x, W, b, padding=100), arrays, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose2d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, op = case[7:]
    check_vs_torch(torch, lambda x, W, b: F.conv_transpose2d(x, W, b, s, p, op),
                      lambda x, W, b: torch.nn.functional.conv_transpose2d(x, W, b, s, p, op),
                      _convt_inputs(rng, case), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,s,c,hw", [(4, 2, 3, 5), (16, 8, 3, 4), (64, 32, 2, 3)])  # FCN's upsamplings
def test_fcn_upsampling_vs_torch(rng, dtype, k, s, c, hw):
    torch = pytest.importorskip("torch")
    arrays = (rng.standard_normal((1, c, hw, hw + 1)), bilinear_kernel(c, c, k, dtype=np.float64, device="cpu")
              + 0.1 * rng.standard_normal((c, c, k, k)))  # bias=False, as FCN's upscore layers
    check_vs_torch(torch, lambda x, W: F.conv_transpose2d(x, W, stride=s),
                      lambda x, W: torch.nn.functional.conv_transpose2d(x, W, stride=s), arrays, dtype, rng)


SAME_CASES = [((3, 3), (1, 1)), ((2, 4), (1, 1)), ((1, 5), (1, 1)), ((2, 3), (2, 1)), ((4, 4), (1, 2))]


@pytest.mark.filterwarnings("ignore:Using padding='same'")   # PyTorch's note that it pads a copy
@pytest.mark.parametrize("k, dilation", SAME_CASES)
def test_padding_same_keeps_the_size_and_matches_pytorch(rng, k, dilation):
    torch = pytest.importorskip("torch")
    x, W, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3) + k), rng.standard_normal(4)
    ours = [Tensor(a, requires_grad=True) for a in (x, W, b)]
    theirs = [torch.from_numpy(a).requires_grad_() for a in (x, W, b)]
    y = F.conv2d(*ours, padding="same", dilation=dilation)
    yt = torch.nn.functional.conv2d(*theirs, padding="same", dilation=dilation)
    assert y.shape == (2, 4, 7, 6)
    np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(to_np(a.grad), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k, dilation", SAME_CASES[1:3])
def test_padding_same_gradcheck_and_naive(xp, rng, k, dilation):
    x, W = xp.asarray(rng.standard_normal((1, 2, 5, 6))), xp.asarray(rng.standard_normal((3, 2) + k))
    assert gradcheck(lambda a, w: F.conv2d(a, w, padding="same", dilation=dilation), [x, W])
    # the even kernel's extra zero row and column are after the image: the naive loop on the
    # image padded that way, without padding
    (kh, kw), (dy, dx) = k, dilation
    ty, tx = dy * (kh - 1), dx * (kw - 1)
    padded = np.pad(to_np(x), ((0, 0), (0, 0), (ty // 2, ty - ty // 2), (tx // 2, tx - tx // 2)))
    np.testing.assert_allclose(to_np(F.conv2d(x, W, padding="same", dilation=dilation)),
                               naive.conv2d(padded, to_np(W), None, 1, 0, dilation), rtol=1e-12, atol=1e-12)


def test_named_padding_valid_and_errors():
    x, W = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
    np.testing.assert_array_equal(F.conv2d(x, W, padding="valid").numpy(), F.conv2d(x, W).numpy())
    with pytest.raises(ValueError, match=r"padding='same' needs stride 1, got stride \(2, 2\)"):
        F.conv2d(x, W, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be an int, a pair, 'valid' or 'same', got 'full'"):
        F.conv2d(x, W, padding="full")
    assert nn.Conv2d(1, 2, 4, padding="same")(Tensor(np.ones((1, 1, 6, 5), np.float32))).shape == (1, 2, 6, 5)
