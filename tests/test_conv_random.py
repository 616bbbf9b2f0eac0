"""conv2d and conv_transpose2d on random shapes, under random path rules, against the loops.

``kernels/conv.py`` picks among im2col, the shifted slices, Winograd and the phases by rules of
measured thresholds, and some of its paths take shortcuts of their own (the ring of bias, a kept
``col``, the bias in the product, pixels-first input gradients). ``tests/test_conv.py`` forces
each path on hand-picked shapes; here every case draws its shape, stride, padding, dilation and
output padding at random, and each threshold is either its default or one drawn from
0, 1, 1/1000 and 1000 times it, so paths and shortcuts meet in combinations no hand-picked case
holds. A case drawn this way found the twenty-fifth session's fix: the input gradient by phases
failed when one axis's windows fell short of the image and the other's reached past it.

The references know nothing of the kernels: ``naive.conv2d`` and ``naive.conv_transpose2d``
for the outputs, the explicit matrix ``conv_matrix`` for conv2d's input gradient, and for the
weight gradients the identity ``<gW, D> = <conv(x; D), gy>`` (the output is linear in W).
"""
import random

import numpy as np
import pytest

from minifcn import naive
from minifcn.im2col import conv_matrix
from minifcn.kernels import conv as K
from oracle import to_np

RULES = ["COL_MAX_BYTES", "COL_SHIFTS_BYTES", "COL_CACHE_BYTES", "COL_OVER_MAPS",
         "SHIFTS_BELOW_DEPTH", "WINOGRAD_MIN_WIDTH", "WINOGRAD_MIN_TILES", "WINOGRAD4_MIN_WIDTH",
         "WINOGRAD4_MIN_WORK", "WINOGRAD4_MIN_TILES_PER_WIDTH", "ONE_PRODUCT_MAX_COLS",
         "PIXELS_FIRST_MAX_PIXELS", "COL_KEEP_BYTES", "BIAS_ROW_MAX_DEPTH", "SPLIT_COLS",
         "INNER_MAX_FRACTION"]
CASES = 60   # cases per test and backend: the file takes about 12 s on 2 cores


def _draw_rules(draw, monkeypatch):
    """Each threshold its default, or 0, 1, a thousandth or a thousand times the default."""
    for name in RULES:
        default = getattr(K, name)
        if draw.random() < 0.5:
            scaled = default // 1000 if isinstance(default, int) else default / 1000
            monkeypatch.setattr(K, name, draw.choice([0, 1, scaled, default * 1000]))


def _weight_gradient_agrees(gW, gy, output_of, rng):
    """<gW, D> == <output_of(D), gy> for two random directions D (the output is linear in W)."""
    for _ in range(2):
        D = rng.standard_normal(gW.shape)
        lhs, rhs = float((gW * D).sum()), float((output_of(D) * gy).sum())
        assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(rhs)), (lhs, rhs)


@pytest.mark.parametrize("seed", range(CASES))
def test_conv2d_and_its_gradients_on_a_random_case(xp, monkeypatch, seed):
    draw, rng = random.Random(seed), np.random.default_rng(seed)
    _draw_rules(draw, monkeypatch)
    while True:   # a shape whose output is not empty
        n, c, out_c = draw.randint(1, 3), draw.randint(1, 8), draw.randint(1, 8)
        kh = draw.randint(1, 4)
        kw = draw.choice([kh, draw.randint(1, 4)])
        stride = (draw.choice([1, 1, 2, 3]), draw.choice([1, 1, 2, 3]))
        dilation = (draw.choice([1, 1, 2]), draw.choice([1, 1, 2]))
        padding = (draw.randint(0, 3 * kh), draw.randint(0, 3 * kw))   # past the reach, too
        h, w = draw.randint(1, 14), draw.randint(1, 14)
        if min(h + 2 * padding[0] - dilation[0] * (kh - 1), w + 2 * padding[1] - dilation[1] * (kw - 1)) >= 1:
            break
    case = (n, c, out_c, h, w, kh, kw, stride, padding, dilation)
    x, W, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((out_c, c, kh, kw)), rng.standard_normal(out_c)

    kept = {}
    y = K.conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), stride, padding, dilation, keep=kept)
    np.testing.assert_allclose(to_np(y), naive.conv2d(x, W, b, stride, padding, dilation),
                               atol=1e-10, rtol=0, err_msg=str(case))
    gy = rng.standard_normal(y.shape)
    gx, gW, gb = (to_np(g) for g in K.conv2d_grads(
        xp.asarray(x), xp.asarray(gy), xp.asarray(W), stride, padding, dilation, need_bias=True,
        kept=kept.get("col")))
    T = conv_matrix(W, (h, w), stride, padding, dilation)
    gx_ref = np.stack([(T.T @ gy[k].ravel()).reshape(c, h, w) for k in range(n)])
    np.testing.assert_allclose(gx, gx_ref, atol=1e-10, rtol=0, err_msg=str(case))
    np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)), atol=1e-10, rtol=0, err_msg=str(case))
    _weight_gradient_agrees(gW, gy, lambda D: naive.conv2d(x, D, None, stride, padding, dilation), rng)


@pytest.mark.parametrize("seed", range(CASES))
def test_conv_transpose2d_and_its_gradients_on_a_random_case(xp, monkeypatch, seed):
    draw, rng = random.Random(seed), np.random.default_rng(seed)
    _draw_rules(draw, monkeypatch)
    while True:
        n, c, out_c = draw.randint(1, 3), draw.randint(1, 7), draw.randint(1, 7)
        kh = draw.randint(1, 5)
        kw = draw.choice([kh, draw.randint(1, 5)])
        stride = (draw.randint(1, 4), draw.randint(1, 4))
        padding = (draw.randint(0, 2 * kh), draw.randint(0, 2 * kw))   # past the reach, too
        output_padding = (draw.randint(0, stride[0] - 1), draw.randint(0, stride[1] - 1))
        h, w = draw.randint(1, 12), draw.randint(1, 12)
        out_hw = ((h - 1) * stride[0] - 2 * padding[0] + kh + output_padding[0],
                  (w - 1) * stride[1] - 2 * padding[1] + kw + output_padding[1])
        if min(out_hw) >= 1:
            break
    case = (n, c, out_c, h, w, kh, kw, stride, padding, output_padding)
    x, W, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((c, out_c, kh, kw)), rng.standard_normal(out_c)

    y = K.conv_transpose2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), out_hw, stride, padding)
    np.testing.assert_allclose(to_np(y), naive.conv_transpose2d(x, W, b, stride, padding, output_padding),
                               atol=1e-10, rtol=0, err_msg=str(case))
    gy = rng.standard_normal(y.shape)
    gx, gW = (to_np(g) for g in K.conv_transpose2d_grads(xp.asarray(x), xp.asarray(gy), xp.asarray(W),
                                                           stride, padding))
    # the adjoint of the transposed convolution is the convolution with the same weights
    np.testing.assert_allclose(gx, naive.conv2d(gy, W, None, stride, padding, 1), atol=1e-10, rtol=0,
                               err_msg=str(case))
    _weight_gradient_agrees(
        gW, gy, lambda D: naive.conv_transpose2d(x, D, None, stride, padding, output_padding), rng)
