"""Winograd's F(2x2, 3x3) and F(4x4, 3x3) kernels, four ways: against the loop convolution of ``naive.py`` and
the im2col path (float64), by finite differences through ``F.conv2d`` with the path forced, by
the adjoint identities of its transforms, and against PyTorch on a shape that takes this path
by itself. Also: which convolutions take it."""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.kernels import conv as K
from minifcn.kernels import winograd as Wg
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# (n, c, h, w, out_c, padding): odd and even output sizes, every padding the path takes
CASES = [
    (1, 2, 5, 6, 3, (1, 1)),
    (2, 3, 7, 5, 4, (0, 1)),     # odd output rows: the last row of tiles is cut
    (2, 3, 6, 9, 2, (2, 0)),
    (1, 1, 3, 3, 1, (1, 2)),
    (2, 5, 13, 11, 7, (1, 1)),
]


@pytest.fixture(params=["whole", "small pieces"])
def pieces(request, monkeypatch):
    """The default slabs and blocks, or one tile row a slab and one channel a block, on three
    threads: every way of cutting the work must give the same sums."""
    if request.param == "small pieces":
        monkeypatch.setattr(Wg, "SLAB_BYTES", 1)
        monkeypatch.setattr(Wg, "BLOCK_VALUES", 1)
        monkeypatch.setenv("MINIFCN_NUM_THREADS", "3")
    return request.param


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("case", CASES)
def test_forward_and_gradients_match_naive_and_im2col(xp, rng, pieces, monkeypatch, case, m):
    n, c, h, w, out_c, p = case
    x, W, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((out_c, c, 3, 3)), rng.standard_normal(out_c)
    y = Wg.conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), p, m=m)
    np.testing.assert_allclose(to_np(y), naive.conv2d(x, W, b, 1, p, 1), atol=1e-10, rtol=0)
    gy = rng.standard_normal(y.shape)
    gx = Wg.grad_input(xp.asarray(gy), xp.asarray(W), p, m=m)
    gW = Wg.grad_weight(xp.asarray(x), xp.asarray(gy), p, m=m)
    both = Wg.grads(xp.asarray(x), xp.asarray(gy), xp.asarray(W), p, m=m)   # sharing gM
    np.testing.assert_array_equal(to_np(both[0]), to_np(gx))
    np.testing.assert_array_equal(to_np(both[1]), to_np(gW))
    monkeypatch.setattr(K, "COL_MAX_BYTES", 2**62)   # the im2col path, for the gradients
    monkeypatch.setattr(K, "SHIFTS_BELOW_DEPTH", 0)
    monkeypatch.setattr(K, "WINOGRAD_MIN_TILES", 2**62)
    monkeypatch.setattr(K, "WINOGRAD4_MIN_WIDTH", 2**62)
    np.testing.assert_allclose(to_np(gx), K.conv2d_grad_input(gy, W, (h, w), (1, 1), p), atol=1e-10, rtol=0)
    np.testing.assert_allclose(to_np(gW), K.conv2d_grad_weight(x, gy, 3, 3, (1, 1), p), atol=1e-10, rtol=0)


@pytest.fixture(params=[2, 4])
def forced(request, monkeypatch):
    """Every eligible convolution through F(2x2, 3x3), or through F(4x4, 3x3)."""
    if request.param == 2:
        monkeypatch.setattr(K, "WINOGRAD_MIN_WIDTH", 0)
        monkeypatch.setattr(K, "WINOGRAD_MIN_TILES", 0)
    else:
        monkeypatch.setattr(K, "WINOGRAD4_MIN_WIDTH", 0)
        monkeypatch.setattr(K, "WINOGRAD4_MIN_WORK", 0)
        monkeypatch.setattr(K, "WINOGRAD4_MIN_TILES_PER_WIDTH", 0)
    return request.param


def test_gradcheck_every_element(rng, forced):
    x, W, b = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    assert K._winograd_tile(2, 3, 3, 3, (5, 4), (1, 1), (1, 1), (1, 1), x) == forced
    # eps 1e-3, not 1e-6: F(4x4)'s transforms (entries up to 8 and 1/24) round the loss ~100x
    # more than a direct sum, and a difference quotient divides that by eps; the convolution is
    # linear in each input, so a larger step adds no truncation error
    assert gradcheck(lambda x, W, b: F.conv2d(x, W, b, padding=1), [x, W, b], eps=1e-3)


def test_gradcheck_random_directions(rng, forced):
    x, W = rng.standard_normal((1, 6, 11, 10)), rng.standard_normal((5, 6, 3, 3))
    assert gradcheck(lambda x, W: F.conv2d(x, W, padding=(2, 0)), [x, W], max_elements=0, eps=1e-3)


@pytest.mark.parametrize("m", [2, 4])
def test_transforms_are_adjoint(xp, rng, m):
    # <output_transform(M), y> = <M, output_transform_grad(y)>, and the same for the kernels
    n, out_c, out_hw, tt = 2, 3, (7, 6), (m + 2)**2
    th, tw = Wg.tiles(out_hw, m)
    gy = xp.asarray(rng.standard_normal((n, out_c) + out_hw))
    y = xp.zeros((n, out_c, m * th, m * tw))
    lhs = rhs = 0.0
    for k in range(n):
        M = xp.asarray(rng.standard_normal((tt, out_c, th * tw)))
        Wg.output_transform(M, y, (k, 0, th))
        rhs += float((M * Wg.output_transform_grad(gy, (k, 0, th), m)).sum())
    lhs = float((y[:, :, :out_hw[0], :out_hw[1]] * gy).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
    # <input_transform(x), gV> = <x, input_transform_grad(gV)>, over slabs of one tile row
    # (the second and later add the row they share with the one before)
    c, padding = 3, (1, 2)
    hw = (out_hw[0] - 2 * padding[0] + 2, out_hw[1] - 2 * padding[1] + 2)
    x = xp.asarray(rng.standard_normal((n, c) + hw))
    gx = xp.full((n, c) + hw, np.nan)   # every pixel is written, none left as it was
    lhs = 0.0
    for k in range(n):
        for r in range(th):
            gV = xp.asarray(rng.standard_normal((tt, c, tw)))
            lhs += float((Wg.input_transform(x, padding, out_hw, (k, r, r + 1), m) * gV).sum())
            Wg.input_transform_grad(gV, gx, padding, (k, r, r + 1), m)
    rhs = float((x * gx).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
    W, gU = xp.asarray(rng.standard_normal((4, 3, 3, 3))), xp.asarray(rng.standard_normal((tt, 4, 3)))
    lhs = float((Wg.kernel_transform(W, m) * gU).sum())
    rhs = float((W * Wg.kernel_transform_grad(gU)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_one_tile_is_the_papers_formula(rng):
    # Y = A^T [(G g G^T) * (B^T d B)] A for a single 4x4 tile, written with the matrices
    d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    Y = Wg.A_T @ ((Wg.G @ g @ Wg.G.T) * (Wg.B_T @ d @ Wg.B_T.T)) @ Wg.A_T.T
    np.testing.assert_allclose(Y, naive.conv2d(d[None, None], g[None, None], None, 1, 0, 1)[0, 0], atol=1e-12)
    np.testing.assert_allclose(Wg.conv2d(d[None, None], g[None, None], padding=(0, 0))[0, 0], Y, atol=1e-12)


def test_one_tile_of_f4x4_is_the_papers_formula(rng):
    # the same for F(4x4, 3x3): a 6x6 tile, 36 products, a 4x4 output
    d, g = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))
    Y = Wg.A4_T @ ((Wg.G4 @ g @ Wg.G4.T) * (Wg.B4_T @ d @ Wg.B4_T.T)) @ Wg.A4_T.T
    np.testing.assert_allclose(Y, naive.conv2d(d[None, None], g[None, None], None, 1, 0, 1)[0, 0], atol=1e-12)
    np.testing.assert_allclose(Wg.conv2d(d[None, None], g[None, None], padding=(0, 0), m=4)[0, 0], Y, atol=1e-12)


# (x shape, out_c, the F(m x m, 3x3) the rule picks): 128 -> 256 with 7 x 6 4x4 tiles, under
# half a tile per unit of c*out_c/(c + out_c) (85), and 64 -> 128 with 12 x 13 (enough work:
# 156 tiles x 43)
@pytest.mark.parametrize("shape, out_c, m", [((1, 128, 25, 24), 256, 2), ((1, 64, 48, 52), 128, 4)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_vs_torch_on_a_shape_that_takes_the_path(rng, dtype, shape, out_c, m):
    torch = pytest.importorskip("torch")
    c = shape[1]
    arrays = (rng.standard_normal(shape) * 0.1, rng.standard_normal((out_c, c, 3, 3)) * 0.1,
              rng.standard_normal(out_c))
    assert K._winograd_tile(c, out_c, 3, 3, shape[2:], (1, 1), (1, 1), (1, 1), arrays[0]) == m
    check_vs_torch(torch, lambda x, W, b: F.conv2d(x, W, b, padding=1),
                   lambda x, W, b: torch.nn.functional.conv2d(x, W, b, padding=1), arrays, dtype, rng)


@pytest.mark.parametrize("c, out_c, hw, kwargs, expected", [
    (512, 512, (45, 60), {}, 4),                 # SegNet's conv4 at 360x480: 180 4x4 tiles
    (128, 256, (56, 56), {}, 4),                 # VGG's conv3_1 at 224
    (64, 128, (112, 112), {}, 4),                # VGG's conv2_1: c*out_c/(c + out_c) = 43
    (64, 64, (224, 224), {}, 4),                 # VGG's conv1_2 (32)
    (32, 32, (224, 224), {}, 4),                 # 16, 56 x 56 tiles
    (32, 32, (56, 56), {}, 0),                   # 16 x 196 tiles: too little work
    (16, 16, (224, 224), {}, 0),                 # 8: the transforms dominate
    (256, 512, (28, 28), {}, 2),                 # VGG's conv4_1: 49 4x4 tiles, 196 2x2 ones
    (512, 512, (23, 30), {}, 2),                 # 12 x 15 = 180 2x2 tiles
    (512, 512, (14, 14), {}, 0),                 # too few tiles (49)
    (512, 512, (45, 60), dict(stride=(2, 2)), 0),
    (512, 512, (45, 60), dict(dilation=(2, 2)), 0),
    (512, 512, (45, 60), dict(padding=(3, 3)), 0),   # the input gradient would pad by -1
    (512, 512, (45, 60), dict(k=5), 0),
])
def test_which_convolutions_take_the_path(c, out_c, hw, kwargs, expected):
    k = kwargs.get("k", 3)
    args = (kwargs.get("stride", (1, 1)), kwargs.get("padding", (1, 1)), kwargs.get("dilation", (1, 1)))
    assert K._winograd_tile(c, out_c, k, k, hw, *args, np.empty(1)) == expected


@pytest.mark.parametrize("m", [2, 4])
def test_on_a_gpu_the_path_runs_only_when_asked(gpu, rng, monkeypatch, m):
    # CuPy (or its stand-in): im2col by default; with WINOGRAD_ON_GPU the same layer takes
    # F(m x m, 3x3), and a training step's three results agree with im2col's
    x = rng.standard_normal((1, 128, 40, 36), dtype=np.float32)
    W = rng.standard_normal((256, 128, 3, 3), dtype=np.float32)
    gy = rng.standard_normal((1, 256, 40, 36), dtype=np.float32)
    if m == 2:
        monkeypatch.setattr(K, "WINOGRAD4_MIN_WIDTH", 2**62)
    assert K._winograd_tile(128, 256, 3, 3, (40, 36), (1, 1), (1, 1), (1, 1), gpu.asarray(x)) == 0

    def step():
        xd, Wd, gyd = gpu.asarray(x), gpu.asarray(W), gpu.asarray(gy)
        return [to_np(a) for a in (K.conv2d(xd, Wd, padding=(1, 1)),
                                   *K.conv2d_grads(xd, gyd, Wd, padding=(1, 1))[:2])]
    direct = step()
    monkeypatch.setattr(K, "WINOGRAD_ON_GPU", True)
    assert K._winograd_tile(128, 256, 3, 3, (40, 36), (1, 1), (1, 1), (1, 1), gpu.asarray(x)) == m
    calls = []
    monkeypatch.setattr(Wg, "input_transform", lambda *a, f=Wg.input_transform: calls.append(a[4]) or f(*a))
    for a, b in zip(step(), direct):
        np.testing.assert_allclose(a, b, rtol=0, atol=(1e-5 if m == 2 else 1e-4) * float(np.abs(b).max()))
    assert calls and set(calls) == {m}


# F(4x4, 3x3)'s float32 error is about 20x F(2x2)'s (entries up to 8 and 1/24 in its matrices,
# see kernels/winograd.py): 0.8-1.4e-5 of the largest output on VGG's shapes against 4-8e-7, so
# its bound is 1e-4 (that of the PyTorch comparisons in float32)
@pytest.mark.parametrize("m, tol", [(2, 1e-5), (4, 1e-4)])
def test_a_module_uses_the_path_and_matches_im2col(rng, monkeypatch, m, tol):
    # float32 through the public API: the path's error is that of the direct product
    x = Tensor(rng.standard_normal((1, 128, 34, 35), dtype=np.float32), requires_grad=True)
    conv = nn.Conv2d(128, 256, 3, padding=1)
    if m == 2:   # 9 x 9 4x4 tiles would take F(4x4, 3x3)
        monkeypatch.setattr(K, "WINOGRAD4_MIN_WIDTH", 2**62)
    calls = []
    monkeypatch.setattr(Wg, "input_transform", lambda *a, f=Wg.input_transform: calls.append(a[4]) or f(*a))
    y = conv(x)
    y.backward(np.ones(y.shape, np.float32))
    assert calls and set(calls) == {m}, f"a 128 -> 256 convolution at 34x35 should take F({m}x{m}, 3x3)"
    got = [y.data, x.grad, conv.weight.grad]
    monkeypatch.setattr(K, "WINOGRAD_MIN_TILES", 2**62)
    monkeypatch.setattr(K, "WINOGRAD4_MIN_WIDTH", 2**62)
    x.grad = conv.weight.grad = conv.bias.grad = None
    y = conv(x)
    y.backward(np.ones(y.shape, np.float32))
    for a, b in zip(got, [y.data, x.grad, conv.weight.grad]):
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * float(np.abs(b).max()))


@pytest.mark.parametrize("wants", [(True, False, False), (False, True, False), (True, True, True),
                                   (False, False, True), (True, False, True)])
def test_a_layer_makes_only_the_gradients_wanted(rng, forced, wants):
    # the image needs no gradient, a frozen kernel neither, a frozen bias neither; each alone
    # equals its share of all three (a bias flag read from the weight's had passed every test)
    x, W, b = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((5, 4, 3, 3)), rng.standard_normal(5)
    gy = rng.standard_normal((2, 5, 9, 8))
    xt, Wt, bt = (Tensor(a, requires_grad=w) for a, w in zip((x, W, b), wants))
    F.conv2d(xt, Wt, bt, padding=1).backward(gy)
    # the transposed convolution of gy with W, and the correlation of x with gy, by the loops
    want_gx = naive.conv_transpose2d(gy, W, None, 1, 1)
    want_gW = naive.conv2d(x.transpose(1, 0, 2, 3), gy.transpose(1, 0, 2, 3), None, 1, 1).transpose(1, 0, 2, 3)
    want_gb = gy.sum(axis=(0, 2, 3))
    for got, wanted, want in [(xt.grad, wants[0], want_gx), (Wt.grad, wants[1], want_gW),
                              (bt.grad, wants[2], want_gb)]:
        if wanted:
            np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
        else:
            assert got is None
