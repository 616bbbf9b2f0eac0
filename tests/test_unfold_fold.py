"""F.unfold / F.fold (im2col and col2im in PyTorch's layout) and nn.Unfold / nn.Fold: against
the loop versions in naive.py, float64 finite differences, the adjoint identity, conv2d as a
matrix product, PyTorch, and the errors."""
import numpy as np
import pytest

import minifcn.functional as F
import minifcn.nn as nn
from minifcn import Tensor, naive
from minifcn.im2col import conv_out_size
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# (c, h, w, kernel_size, dilation, padding, stride)
GEOMETRIES = [
    (2, 5, 6, 2, 1, 0, 1),
    (3, 6, 5, (2, 3), 1, 1, 1),            # non-square kernel, padded
    (2, 7, 6, 3, 1, 1, 2),                 # strided, blocks overlap
    (1, 7, 8, (3, 2), (2, 1), (1, 0), (1, 2)),   # dilated, every argument a pair
    (2, 8, 7, 2, 1, 0, 2),                 # stride = kernel: blocks side by side
    (2, 7, 7, 2, 1, 0, 3),                 # stride > kernel: pixels no block covers
    (3, 4, 4, 3, 2, 2, 1),                 # dilation 2, padding 2
    (1, 3, 9, (1, 4), 1, (0, 2), (1, 3)),  # one-row kernel, wide padding
    (2, 5, 5, 1, 1, 0, 1),                 # 1x1: the image itself, flattened
]


def _grid(h, w, kernel_size, dilation, padding, stride):
    (kh, kw), (dy, dx), (ph, pw), (sy, sx) = (np.broadcast_to(a, 2) for a in
                                              (kernel_size, dilation, padding, stride))
    return conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx)


def _kernel_area(kernel_size):
    return int(np.prod(np.broadcast_to(kernel_size, 2)))


def _args(geom):
    return geom[3:]


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_unfold_matches_loops(xp, rng, geom):
    c, h, w = geom[:3]
    x = rng.standard_normal((2, c, h, w))
    col = F.unfold(Tensor(xp.asarray(x)), *_args(geom))
    out_h, out_w = _grid(h, w, *_args(geom))
    assert col.shape == (2, c * _kernel_area(geom[3]), out_h * out_w)
    assert col.device == ("cpu" if xp is np else "cuda")
    # copies only: equal to the last bit
    np.testing.assert_array_equal(to_np(col), naive.unfold(x, *_args(geom)))


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_fold_matches_loops(xp, rng, geom):
    c, h, w = geom[:3]
    out_h, out_w = _grid(h, w, *_args(geom))
    col = rng.standard_normal((2, c * _kernel_area(geom[3]), out_h * out_w))
    y = F.fold(Tensor(xp.asarray(col)), (h, w), *_args(geom))
    assert y.shape == (2, c, h, w)
    # sums of up to kh*kw overlapping values, added in another order than the loops'
    np.testing.assert_allclose(to_np(y), naive.fold(col, (h, w), *_args(geom)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_unfold_fold_adjoint(xp, rng, geom):
    # <unfold x, c> == <x, fold c>: fold is unfold's transpose, which makes each one's backward
    # the other
    c, h, w = geom[:3]
    out_h, out_w = _grid(h, w, *_args(geom))
    x = xp.asarray(rng.standard_normal((2, c, h, w)))
    col = xp.asarray(rng.standard_normal((2, c * _kernel_area(geom[3]), out_h * out_w)))
    lhs = float((F.unfold(x, *_args(geom)).data * col).sum())
    rhs = float((x * F.fold(col, (h, w), *_args(geom)).data).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("geom", GEOMETRIES[:5])
def test_gradcheck(xp, rng, geom):
    c, h, w = geom[:3]
    out_h, out_w = _grid(h, w, *_args(geom))
    x = xp.asarray(rng.standard_normal((2, c, h, w)))
    col = xp.asarray(rng.standard_normal((2, c * _kernel_area(geom[3]), out_h * out_w)))
    assert gradcheck(lambda x: F.unfold(x, *_args(geom)), [x])
    assert gradcheck(lambda col: F.fold(col, (h, w), *_args(geom)), [col])
    # one image, unbatched
    assert gradcheck(lambda x: F.unfold(x, *_args(geom)), [x[0]])
    assert gradcheck(lambda col: F.fold(col, (h, w), *_args(geom)), [col[1]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_vs_torch(rng, dtype, geom):
    torch = pytest.importorskip("torch")
    c, h, w = geom[:3]
    out_h, out_w = _grid(h, w, *_args(geom))
    args = _args(geom)
    x = rng.standard_normal((3, c, h, w))
    check_vs_torch(torch, lambda x: F.unfold(x, *args),
                   lambda x: torch.nn.functional.unfold(x, *args), [x], dtype, rng)
    col = rng.standard_normal((3, c * _kernel_area(geom[3]), out_h * out_w))
    check_vs_torch(torch, lambda col: F.fold(col, (h, w), *args),
                   lambda col: torch.nn.functional.fold(col, (h, w), *args), [col], dtype, rng)
    # unbatched: (c, h, w) and (c*kh*kw, L), as PyTorch takes them
    check_vs_torch(torch, lambda x: F.unfold(x, *args),
                   lambda x: torch.nn.functional.unfold(x, *args), [x[1]], dtype, rng)
    check_vs_torch(torch, lambda col: F.fold(col, (h, w), *args),
                   lambda col: torch.nn.functional.fold(col, (h, w), *args), [col[2]], dtype, rng)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), ((1, 2), (2, 0), (2, 1))])
def test_conv2d_is_weight_times_unfold(xp, rng, stride, padding, dilation):
    # PyTorch's documented identity: conv2d(x, W) == (W.view(out_c, -1) @ unfold(x)).view(...);
    # forward and both gradients
    n, c, h, w, out_c, kh, kw = 2, 3, 7, 6, 4, 3, 2
    x_, W_ = rng.standard_normal((n, c, h, w)), rng.standard_normal((out_c, c, kh, kw))
    u = xp.asarray(rng.standard_normal((n, out_c, *_grid(h, w, (kh, kw), dilation, padding, stride))))
    results = []
    for by_unfold in (False, True):
        x, W = Tensor(xp.asarray(x_), requires_grad=True), Tensor(xp.asarray(W_), requires_grad=True)
        if by_unfold:
            y = (W.view(out_c, -1) @ F.unfold(x, (kh, kw), dilation, padding, stride)).view(u.shape)
        else:
            y = F.conv2d(x, W, stride=stride, padding=padding, dilation=dilation)
        (y * Tensor(u)).sum().backward()
        results.append((y, x.grad, W.grad))
    for name, conv, product in zip(["forward", "grad x", "grad W"], *results):
        np.testing.assert_allclose(to_np(product), to_np(conv), rtol=1e-10, atol=1e-10, err_msg=name)


def test_fold_of_unfold_counts_the_blocks(rng):
    # PyTorch's documented identity: fold(unfold(x)) == x * fold(unfold(ones)), the divisor the
    # number of blocks covering each pixel (0 where none does: stride 3 > kernel 2)
    x = rng.standard_normal((2, 3, 7, 8))
    for args in [(3, 1, 1, 2), (2, 1, 0, 3), ((2, 3), 2, 1, 1)]:
        back = F.fold(F.unfold(x, *args), (7, 8), *args).numpy()
        divisor = F.fold(F.unfold(np.ones_like(x), *args), (7, 8), *args).numpy()
        np.testing.assert_allclose(back, x * divisor, rtol=1e-12, atol=1e-12)
    assert (F.fold(F.unfold(np.ones((1, 1, 7, 8)), 2, stride=3), (7, 8), 2, stride=3).numpy() == 0).any()


def test_row_order_is_channel_then_kernel_row_then_column():
    # values that say where they come from: 100 * channel + 10 * row + column
    c, h, w = 2, 3, 4
    ci, iy, ix = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    x = (100.0 * ci + 10 * iy + ix)[None]
    col = F.unfold(x, (2, 3)).numpy()[0]                  # (2 * 2 * 3, 2 * 2)
    block = col[:, 3]                                     # the block at output (1, 1)
    expected = [100 * k + 10 * (1 + i) + 1 + j for k in range(c) for i in range(2) for j in range(3)]
    np.testing.assert_array_equal(block, expected)


def test_modules(xp, rng):
    x = Tensor(xp.asarray(rng.standard_normal((2, 3, 6, 5))))
    unfold = nn.Unfold((2, 3), padding=1, stride=(2, 1))
    fold = nn.Fold((6, 5), (2, 3), padding=1, stride=(2, 1))
    col = unfold(x)
    np.testing.assert_array_equal(to_np(col), to_np(F.unfold(x, (2, 3), padding=1, stride=(2, 1))))
    np.testing.assert_array_equal(to_np(fold(col)), to_np(F.fold(col, (6, 5), (2, 3), 1, 1, (2, 1))))
    assert list(unfold.state_dict()) == [] and list(fold.parameters()) == []


def test_reprs_as_pytorch():
    torch = pytest.importorskip("torch")
    for call in ["Unfold(2)", "Unfold((2, 3), 2, 1, (1, 2))", "Unfold(kernel_size=3, stride=[2, 1])",
                 "Fold((4, 5), (2, 3))", "Fold(6, 2, padding=1, stride=2)"]:
        assert repr(eval(call, vars(nn))) == repr(eval(call, vars(torch.nn))), call


def test_empty_batch_as_torch():
    torch = pytest.importorskip("torch")
    x, col = np.zeros((0, 3, 5, 6)), np.zeros((0, 12, 20))
    theirs = torch.nn.functional.unfold(torch.from_numpy(x), 2, padding=1)
    assert F.unfold(x, 2, padding=1).shape == tuple(theirs.shape) == (0, 12, 42)
    theirs = torch.nn.functional.fold(torch.from_numpy(col), (5, 6), 2)
    assert F.fold(col, (5, 6), 2).shape == tuple(theirs.shape) == (0, 3, 5, 6)


def test_float32_in_float32_out(rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    col = F.unfold(x, 2)
    assert col.dtype == np.float32 and F.fold(col, 4, 2).dtype == np.float32


def test_errors():
    x, col = np.zeros((1, 3, 5, 6)), np.zeros((1, 12, 20))
    with pytest.raises(ValueError, match=r"fold: input has L=19 blocks .* output_size=\(5, 6\) .* has "
                                         r"4 x 5 = 20"):
        F.fold(np.zeros((1, 12, 19)), (5, 6), 2)
    with pytest.raises(ValueError, match=r"fold: input's dimension 1 \(13\) must be a positive multiple "
                                         r"of the product of kernel_size \(2, 2\), 4"):
        F.fold(np.zeros((1, 13, 20)), (5, 6), 2)
    with pytest.raises(ValueError, match=r"input's dimension 0 \(13\)"):   # unbatched
        F.fold(np.zeros((13, 20)), (5, 6), 2)
    with pytest.raises(ValueError, match=r"fold: input must be 2-D .* got shape \(1, 1, 12, 20\)"):
        F.fold(np.zeros((1, 1, 12, 20)), (5, 6), 2)
    with pytest.raises(ValueError, match=r"unfold: input must be 3-D .* got shape \(5, 6\)"):
        F.unfold(np.zeros((5, 6)), 2)
    with pytest.raises(ValueError, match=r"unfold: an image of size \(2, 2\) with kernel_size=\(3, 3\).* "
                                         r"has 0 x 0 sliding blocks"):
        F.unfold(np.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(ValueError, match=r"fold: an image of size \(2, 5\) .* has 0 x 3 sliding blocks"):
        F.fold(np.zeros((1, 9, 0)), (2, 5), 3)
    with pytest.raises(ValueError, match=r"unfold: input \(1, 0, 5, 6\) must have at least one channel"):
        F.unfold(np.zeros((1, 0, 5, 6)), 2)
    with pytest.raises(ValueError, match="unfold: padding must be >= 0, got -1"):
        F.unfold(x, 2, padding=-1)
    with pytest.raises(ValueError, match=r"unfold: stride must be >= 1, got \(1, 0\)"):
        F.unfold(x, 2, stride=(1, 0))
    with pytest.raises(TypeError, match="unfold: kernel_size must be an int or a pair of ints, got 2.0"):
        F.unfold(x, 2.0)
    with pytest.raises(TypeError, match="fold: output_size must be an int or a pair of ints, got 5.5"):
        F.fold(col, 5.5, 2)
    with pytest.raises(TypeError, match="unfold: input must be float32 or float64, got int64"):
        F.unfold(np.zeros((1, 3, 5, 6), np.int64), 2)
    with pytest.raises(TypeError, match="fold: input must be float32 or float64, got int64"):
        F.fold(np.zeros((1, 12, 20), np.int64), (5, 6), 2)
    # the modules check their arguments when built, not at their first input
    with pytest.raises(ValueError, match="Unfold: dilation must be >= 1, got 0"):
        nn.Unfold(2, dilation=0)
    with pytest.raises(ValueError, match=r"Fold: output_size must be an int or a pair of ints, "
                                         r"got \(1, 2, 3\)"):
        nn.Fold((1, 2, 3), 2)
