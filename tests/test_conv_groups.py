"""Grouped convolutions (``groups=``), four ways as tests/test_conv.py: naive loops, finite
differences, adjointness, PyTorch; then depthwise (groups = in_c), the layers, and the errors.

groups > 1 loops over the groups calling the kernels of groups=1 (tests/test_conv.py forces
each of their paths); here they run on their default paths.
"""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# (n, in_c, h, w, out_c, kh, kw, stride, padding, dilation, groups)
CONV_CASES = [
    (2, 4, 5, 5, 6, 3, 3, 1, 1, 1, 2),
    (1, 6, 7, 6, 3, 3, 2, 2, 0, 1, 3),          # one output channel per group, stride 2
    (1, 4, 9, 8, 4, 3, 3, (2, 1), (1, 2), 2, 4),  # depthwise, dilated
    (2, 6, 4, 5, 6, 1, 1, 1, 0, 1, 2),          # 1x1
]

# (n, in_c, h, w, out_c, kh, kw, stride, padding, output_padding, groups)
CONVT_CASES = [
    (2, 4, 4, 4, 6, 3, 3, 1, 1, 0, 2),
    (1, 6, 3, 5, 3, 3, 3, 2, 1, 1, 3),
    (2, 4, 3, 3, 4, 4, 4, 2, 1, 0, 4),          # depthwise 2x upsampling (FCN's shape)
]


def _conv_inputs(rng, case):
    n, in_c, h, w, out_c, kh, kw, g = case[:7] + case[10:]
    return (rng.standard_normal((n, in_c, h, w)), rng.standard_normal((out_c, in_c // g, kh, kw)),
            rng.standard_normal(out_c))


def _convt_inputs(rng, case):
    n, in_c, h, w, out_c, kh, kw, g = case[:7] + case[10:]
    return (rng.standard_normal((n, in_c, h, w)), rng.standard_normal((in_c, out_c // g, kh, kw)),
            rng.standard_normal(out_c))


# --------------------------------------------------------------------- 1. naive loops
@pytest.mark.parametrize("case", CONV_CASES)
def test_grouped_conv2d_matches_naive(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d, g = case[7:]
    y = F.conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, d, groups=g)
    np.testing.assert_allclose(to_np(y), naive.conv2d(x, W, b, s, p, d, groups=g), atol=1e-10, rtol=0)


@pytest.mark.parametrize("case", CONVT_CASES)
def test_grouped_conv_transpose2d_matches_naive(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op, g = case[7:]
    y = F.conv_transpose2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, op, groups=g)
    np.testing.assert_allclose(to_np(y), naive.conv_transpose2d(x, W, b, s, p, op, groups=g),
                               atol=1e-10, rtol=0)


def test_groups_are_separate_convolutions(rng):
    # the definition: the output's part i is the ungrouped convolution of the input's part i
    x, W, b = rng.standard_normal((1, 4, 6, 6)), rng.standard_normal((6, 2, 3, 3)), rng.standard_normal(6)
    y = naive.conv2d(x, W, b, padding=1, groups=2)
    for i in range(2):
        part = naive.conv2d(x[:, 2 * i:2 * i + 2], W[3 * i:3 * i + 3], b[3 * i:3 * i + 3], padding=1)
        np.testing.assert_allclose(y[:, 3 * i:3 * i + 3], part, atol=1e-12, rtol=0)


# --------------------------------------------------------------------- 2. finite differences
@pytest.mark.parametrize("case", CONV_CASES)
def test_grouped_conv2d_gradcheck_every_element(xp, rng, case):
    x, W, b = _conv_inputs(rng, case)
    s, p, d, g = case[7:]
    assert gradcheck(lambda x, W, b: F.conv2d(x, W, b, s, p, d, g), [xp.asarray(v) for v in (x[:1], W, b)])


@pytest.mark.parametrize("case", CONVT_CASES)
def test_grouped_conv_transpose2d_gradcheck_every_element(xp, rng, case):
    x, W, b = _convt_inputs(rng, case)
    s, p, op, g = case[7:]
    assert gradcheck(lambda x, W, b: F.conv_transpose2d(x, W, b, s, p, op, g),
                     [xp.asarray(v) for v in (x[:1], W, b)])


@pytest.mark.parametrize("wants", ["x", "W", "b"])
def test_only_the_wanted_gradients_are_made(xp, rng, wants):
    x, W, b = (Tensor(xp.asarray(v), requires_grad=name == wants)
               for name, v in zip("xWb", _conv_inputs(rng, CONV_CASES[0])))
    F.conv2d(x, W, b, padding=1, groups=2).sum().backward()
    assert [t.grad is not None for t in (x, W, b)] == [name == wants for name in "xWb"]


# --------------------------------------------------------------------- 3. adjointness
@pytest.mark.parametrize("h,w,k,s,p,g", [(7, 6, 3, 2, 1, 2), (8, 8, 4, 2, 1, 4), (5, 5, 3, 1, 2, 2)])
def test_grouped_conv_and_transposed_conv_are_adjoint(xp, rng, h, w, k, s, p, g):
    # conv2d's weight (out_c, in_c/g, ...) read by conv_transpose2d as (its in_c, its out_c/g, ...)
    W = xp.asarray(rng.standard_normal((2 * g, 4 // g, k, k)))
    x = xp.asarray(rng.standard_normal((2, 4, h, w)))
    y_shape = F.conv2d(x, W, stride=s, padding=p, groups=g).shape
    y = xp.asarray(rng.standard_normal(y_shape))
    op = (h - ((y_shape[2] - 1) * s - 2 * p + k), w - ((y_shape[3] - 1) * s - 2 * p + k))
    back = F.conv_transpose2d(y, W, stride=s, padding=p, output_padding=op, groups=g)
    assert back.shape == x.shape
    lhs = float((F.conv2d(x, W, stride=s, padding=p, groups=g).data * y).sum())
    rhs = float((x * back.data).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# --------------------------------------------------------------------- 4. PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_grouped_conv2d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, d, g = case[7:]
    check_vs_torch(torch, lambda x, W, b: F.conv2d(x, W, b, s, p, d, g),
                   lambda x, W, b: torch.nn.functional.conv2d(x, W, b, s, p, d, g),
                   _conv_inputs(rng, case), dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONVT_CASES)
def test_grouped_conv_transpose2d_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, op, g = case[7:]
    check_vs_torch(torch, lambda x, W, b: F.conv_transpose2d(x, W, b, s, p, op, g),
                   lambda x, W, b: torch.nn.functional.conv_transpose2d(x, W, b, s, p, op, g),
                   _convt_inputs(rng, case), dtype, rng)


def test_layers_match_torch_layers_with_the_same_weights(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 5, 5)).astype(np.float32)
    for ours, theirs in [(nn.Conv2d(6, 4, 3, 1, 1, 1, 2), torch.nn.Conv2d(6, 4, 3, 1, 1, 1, 2)),
                         (nn.ConvTranspose2d(6, 9, 4, 2, 1, 0, 3), torch.nn.ConvTranspose2d(6, 9, 4, 2, 1, 0, 3))]:
        assert ours.weight.shape == tuple(theirs.weight.shape)
        ours.weight.data[...] = theirs.weight.detach().numpy()
        ours.bias.data[...] = theirs.bias.detach().numpy()
        np.testing.assert_allclose(ours(x).numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------- depthwise
def test_depthwise_is_one_filter_per_channel(xp, rng):
    # groups = in_c: channel c of the output is channel c of the input filtered by W[c, 0] alone
    x, W = rng.standard_normal((2, 5, 6, 7)), rng.standard_normal((5, 1, 3, 3))
    y = to_np(F.conv2d(xp.asarray(x), xp.asarray(W), padding=1, groups=5))
    for c in range(5):
        np.testing.assert_allclose(y[:, c:c + 1], naive.conv2d(x[:, c:c + 1], W[c:c + 1], padding=1),
                                   atol=1e-10, rtol=0)
    assert gradcheck(lambda x, W: F.conv2d(x, W, padding=1, groups=5),
                     [xp.asarray(x), xp.asarray(W)], max_elements=32, directions=4)


def test_empty_batch_and_same_padding(rng):
    W = np.ones((6, 2, 3, 3))
    assert F.conv2d(np.zeros((0, 4, 5, 5)), W, groups=2).shape == (0, 6, 3, 3)
    assert F.conv_transpose2d(np.zeros((0, 6, 5, 5)), W, groups=3).shape == (0, 6, 7, 7)
    x = rng.standard_normal((1, 4, 5, 6))
    np.testing.assert_allclose(F.conv2d(x, W, padding="same", groups=2).numpy(),
                               naive.conv2d(x, W, padding=1, groups=2), atol=1e-10, rtol=0)


# --------------------------------------------------------------------- layers and errors
def test_layer_shapes_and_reprs():
    conv = nn.Conv2d(4, 8, 3, padding=1, groups=4)
    assert conv.weight.shape == (8, 1, 3, 3)
    assert repr(conv) == "Conv2d(4, 8, kernel_size=(3, 3), stride=1, padding=1, groups=4)"
    assert repr(nn.Conv2d(4, 8, 3)) == "Conv2d(4, 8, kernel_size=(3, 3), stride=1, padding=0)"
    up = nn.ConvTranspose2d(4, 6, 4, 2, 1, 0, 2, False)   # PyTorch's order: groups, then bias
    assert up.weight.shape == (4, 3, 4, 4) and up.bias is None
    assert repr(up) == "ConvTranspose2d(4, 6, kernel_size=(4, 4), stride=2, padding=1, groups=2, bias=False)"
    assert up(np.zeros((1, 4, 3, 3), np.float32)).shape == (1, 6, 6, 6)
    assert nn.Conv2d(4, 8, 3, 1, 0, 1, 2, False).bias is None


@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, r"Conv2d: out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), ValueError, r"Conv2d: groups must be a positive int, got 0"),
    (lambda: nn.ConvTranspose2d(4, 3, 3, groups=2), ValueError,
     r"ConvTranspose2d: out_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.ConvTranspose2d(4, 4, 3, groups=1.5), ValueError, r"groups must be a positive int, got 1.5"),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 4, 3, 3)), groups=2), ValueError,
     r"input has 4 channels but weight \(6, 4, 3, 3\) expects 8 \(4 per group, groups=2\)"),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"weight \(3, 2, 3, 3\) has 3 output channels, not a multiple of groups=2"),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((4, 2, 3, 3)), groups=-2), ValueError,
     r"conv2d: groups must be a positive int, got -2"),
    (lambda: F.conv_transpose2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"conv_transpose2d: input has 3 channels, not a multiple of groups=2"),
    (lambda: F.conv_transpose2d(np.zeros((1, 4, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(2), groups=2),
     ValueError, r"bias shape \(2,\) should be \(4,\)"),
])
def test_errors_name_the_values(make, error, message):
    with pytest.raises(error, match=message):
        make()
