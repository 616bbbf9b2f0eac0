"""The depthwise kernel (minifcn/kernels/depthwise.py), four ways as tests/test_conv.py: naive
loops, finite differences, adjointness, PyTorch; across strides, paddings, dilations, channel
multipliers and batch sizes. F.conv2d with ``groups = in_c`` runs it (tests/test_conv_groups.py
keeps checking the loop over the groups for the other group counts).

Each test runs with the channels in one block and, through ``blocks``, one channel a block (so
several blocks, on the CPU's threads): the blocks' slices of x, gy, y, gx and gW must line up.
"""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.kernels import conv as K
from minifcn.kernels import depthwise as D
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# (n, c, h, w, k, kh, kw, stride, padding, dilation): k the channel multiplier, out_c = k*c
CASES = [
    (1, 3, 7, 7, 1, 3, 3, 1, 1, 1),                # MobileNet's 3x3, stride 1
    (2, 4, 8, 9, 1, 3, 3, 2, 1, 1),                # stride 2, odd width
    (2, 3, 9, 8, 2, 3, 3, 1, 0, 2),                # multiplier 2, dilated, unpadded
    (1, 2, 10, 7, 3, 3, 2, (2, 3), (1, 2), (2, 1)),  # everything unequal
    (3, 2, 5, 6, 1, 5, 5, 1, 2, 1),                # 5x5
    (1, 4, 6, 6, 1, 1, 1, 2, 0, 1),                # 1x1 strided: a per-channel scale
    (2, 2, 4, 4, 1, 3, 3, 3, 3, 1),                # padding past the kernel, stride 3
    (1, 2, 11, 11, 2, 4, 4, 2, 1, 2),              # even kernel, stride 2, dilated
]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _inputs(rng, case):
    n, c, h, w, k, kh, kw = case[:7]
    return (rng.standard_normal((n, c, h, w)), rng.standard_normal((k * c, 1, kh, kw)),
            rng.standard_normal(k * c))


@pytest.fixture(params=["one block", "a block a channel"])
def blocks(request, monkeypatch):
    if request.param == "a block a channel":
        monkeypatch.setattr(D, "BLOCK_VALUES", 1)


def _args(case):
    return tuple(_pair(v) for v in case[7:])


# --------------------------------------------------------------------- 1. naive loops
@pytest.mark.parametrize("case", CASES)
def test_matches_naive(xp, rng, blocks, case):
    x, W, b = _inputs(rng, case)
    s, p, d = case[7:]
    want = naive.conv2d(x, W, b, s, p, d, groups=x.shape[1])
    y = D.depthwise_conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), *_args(case))
    np.testing.assert_allclose(to_np(y), want, atol=1e-10, rtol=0)
    y = F.conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, d, groups=x.shape[1])
    np.testing.assert_allclose(to_np(y), want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("case", CASES[:4])
def test_gradients_match_the_loop_over_the_groups(rng, blocks, case):
    # the loop over the groups (one ordinary convolution a channel) is the reference here
    x, W, _ = _inputs(rng, case)
    c, k = x.shape[1], W.shape[0] // x.shape[1]
    y = D.depthwise_conv2d(x, W, None, *_args(case))
    gy = rng.standard_normal(y.shape)
    gx, gW = D.depthwise_conv2d_grads(x, gy, W, *_args(case))
    for i in range(c):
        part = slice(i * k, (i + 1) * k)
        hx, hW, _ = K.conv2d_grads(np.ascontiguousarray(x[:, i:i + 1]), np.ascontiguousarray(gy[:, part]),
                                   np.ascontiguousarray(W[part]), *_args(case))
        np.testing.assert_allclose(gx[:, i:i + 1], hx, atol=1e-10, rtol=0)
        np.testing.assert_allclose(gW[part], hW, atol=1e-10, rtol=0)


def test_grouped_convolution_takes_the_depthwise_kernel(rng, monkeypatch):
    calls = []
    for name in ("depthwise_conv2d", "depthwise_conv2d_grads"):
        real = getattr(D, name)
        monkeypatch.setattr(D, name, lambda *a, real=real, name=name, **kw: calls.append(name) or real(*a, **kw))
    x = Tensor(rng.standard_normal((1, 4, 5, 5)), requires_grad=True)
    F.conv2d(x, rng.standard_normal((8, 1, 3, 3)), padding=1, groups=4).sum().backward()
    assert calls == ["depthwise_conv2d", "depthwise_conv2d_grads"]
    calls.clear()   # groups = 2 of 4 channels: the loop, not this kernel
    F.conv2d(x, rng.standard_normal((4, 2, 3, 3)), padding=1, groups=2).sum().backward()
    assert calls == []


@pytest.mark.parametrize("need_input,need_weight", [(True, False), (False, True)])
def test_only_the_wanted_gradients_are_made(rng, need_input, need_weight):
    x, W, _ = _inputs(rng, CASES[1])
    gy = rng.standard_normal(D.depthwise_conv2d(x, W, None, *_args(CASES[1])).shape)
    gx, gW = D.depthwise_conv2d_grads(x, gy, W, *_args(CASES[1]), need_input=need_input,
                                      need_weight=need_weight)
    both = D.depthwise_conv2d_grads(x, gy, W, *_args(CASES[1]))
    assert (gx is None, gW is None) == (not need_input, not need_weight)
    made, want = (gx, both[0]) if need_input else (gW, both[1])
    np.testing.assert_array_equal(made, want)


# --------------------------------------------------------------------- 2. finite differences
@pytest.mark.parametrize("case", CASES)
def test_gradcheck_every_element(xp, rng, blocks, case):
    x, W, b = _inputs(rng, case)
    s, p, d = case[7:]
    g = x.shape[1]
    assert gradcheck(lambda x, W, b: F.conv2d(x, W, b, s, p, d, g),
                     [xp.asarray(v) for v in (x[:1], W, b)])


# --------------------------------------------------------------------- 3. adjointness
@pytest.mark.parametrize("case", CASES)
def test_input_and_weight_gradients_are_adjoints(xp, rng, blocks, case):
    # y = A x (W fixed) and y = B W (x fixed) are linear: <A x, u> = <x, A^T u>, <B W, u> = <W, B^T u>
    x, W, _ = (xp.asarray(v) for v in _inputs(rng, case))
    y = D.depthwise_conv2d(x, W, None, *_args(case))
    u = xp.asarray(rng.standard_normal(y.shape))
    gx, gW = D.depthwise_conv2d_grads(x, u, W, *_args(case))
    lhs = float((y * u).sum())
    for rhs in (float((x * gx).sum()), float((W * gW).sum())):
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# --------------------------------------------------------------------- 4. PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_vs_torch(rng, blocks, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, d = case[7:]
    g = case[1]
    check_vs_torch(torch, lambda x, W, b: F.conv2d(x, W, b, s, p, d, g),
                   lambda x, W, b: torch.nn.functional.conv2d(x, W, b, s, p, d, g),
                   _inputs(rng, case), dtype, rng)


def test_vs_torch_on_a_mobilenet_layer(rng):
    # the shapes the kernel was written for, big enough for the default blocks to be many
    torch = pytest.importorskip("torch")
    for s in (1, 2):
        x, W, b = (rng.standard_normal((2, 64, 28, 28)), rng.standard_normal((64, 1, 3, 3)),
                   rng.standard_normal(64))
        check_vs_torch(torch, lambda x, W, b: F.conv2d(x, W, b, s, 1, 1, 64),
                       lambda x, W, b: torch.nn.functional.conv2d(x, W, b, s, 1, 1, 64),
                       (x, W, b), np.float32, rng)


# --------------------------------------------------------------------- errors
def test_a_weight_that_is_not_depthwise_is_refused():
    with pytest.raises(ValueError, match=r"weight \(6, 2, 3, 3\) is not depthwise for 4 input "
                                         r"channels: expected \(4\*k, 1, kh, kw\)"):
        D.depthwise_conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 2, 3, 3)))
