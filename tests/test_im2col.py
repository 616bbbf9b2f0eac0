"""im2col / col2im and the explicit Toeplitz matrix: definition, adjointness, conv_matrix identities."""
import threading

import numpy as np
import pytest

import minifcn.functional as F
from minifcn import backend, naive
from minifcn.im2col import col2im, conv_matrix, conv_out_size, im2col, pad2d
from minifcn.kernels import conv as K
from oracle import to_np

# (kh, kw, sy, sx, ph, pw, dy, dx)
GEOMETRIES = [
    (3, 3, 1, 1, 0, 0, 1, 1),
    (3, 2, 2, 1, 1, 0, 1, 1),
    (2, 3, 3, 2, 1, 2, 1, 1),   # stride > kernel along y
    (3, 3, 2, 2, 1, 1, 2, 2),   # dilation
    (1, 1, 2, 3, 0, 0, 1, 1),
    # stride 1, the output as wide as the image: each tap one shifted slice of the flat image
    (3, 3, 1, 1, 1, 1, 1, 1),
    (5, 3, 1, 1, 0, 1, 1, 1),   # fewer output rows than the image's
    (3, 5, 1, 1, 3, 4, 2, 2),   # dilated, more output rows than the image's
    (1, 15, 1, 1, 0, 7, 1, 1),  # padding wider than the image
]


def _im2col_loops(x, kh, kw, sy, sx, ph, pw, dy, dx, out_h, out_w):
    """col[n, c, i, j, oy, ox] = x_padded[n, c, oy*sy + i*dy, ox*sx + j*dx], zero outside."""
    n, c, h, w = x.shape
    col = np.zeros((n, c, kh, kw, out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            for oy in range(out_h):
                for ox in range(out_w):
                    iy, ix = oy * sy + i * dy - ph, ox * sx + j * dx - pw
                    if 0 <= iy < h and 0 <= ix < w:
                        col[:, :, i, j, oy, ox] = x[:, :, iy, ix]
    return col


@pytest.mark.parametrize("threads", ["1", "3"])   # the channels in one block; one per block
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_im2col_matches_definition(xp, rng, geom, threads, monkeypatch):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    kh, kw, sy, sx, ph, pw, dy, dx = geom
    x = rng.standard_normal((2, 3, 7, 6))
    col = im2col(xp.asarray(x), kh, kw, sy, sx, ph, pw, dy, dx)
    out_h, out_w = conv_out_size(7, kh, sy, ph, dy), conv_out_size(6, kw, sx, pw, dx)
    assert col.shape == (2, 3, kh, kw, out_h, out_w)
    np.testing.assert_allclose(to_np(col), _im2col_loops(x, *geom, out_h, out_w), atol=0, rtol=0)


@pytest.mark.parametrize("threads", ["1", "3"])
@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("extra", [0, 1])  # 1: one more output row/col than floor (ceil-mode pools)
def test_im2col_col2im_adjoint(xp, rng, geom, extra, threads, monkeypatch):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    kh, kw, sy, sx, ph, pw, dy, dx = geom
    h, w = 7, 6
    out_h = conv_out_size(h, kh, sy, ph, dy) + extra
    out_w = conv_out_size(w, kw, sx, pw, dx) + extra
    x = xp.asarray(rng.standard_normal((2, 3, h, w)))
    c = xp.asarray(rng.standard_normal((2, 3, kh, kw, out_h, out_w)))
    lhs = float((im2col(x, kh, kw, sy, sx, ph, pw, dy, dx, out_h=out_h, out_w=out_w) * c).sum())
    rhs = float((x * col2im(c, h, w, sy, sx, ph, pw, dy, dx)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_col2im_counts_coverage(xp):
    # each pixel receives one 1 per window covering it: 3x3 windows, stride 2 on a 5x5 image
    col = xp.ones((1, 1, 3, 3, 2, 2))
    counts = to_np(col2im(col, 5, 5, 2, 2))[0, 0]
    expected = np.zeros((5, 5))
    for oy in range(2):
        for ox in range(2):
            expected[2 * oy:2 * oy + 3, 2 * ox:2 * ox + 3] += 1
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("size,k,s,p", [(7, 2, 2, 0), (8, 2, 2, 0), (5, 3, 2, 1), (6, 3, 3, 1),
                                         (6, 2, 3, 1), (698, 2, 2, 0), (11, 3, 2, 1)])
def test_conv_out_size_counts_windows(size, k, s, p):
    # window i spans [i*s - p, i*s - p + k) in input coordinates.
    # floor mode: windows that fit inside the padded input.
    fits = sum(1 for i in range(size + 2 * p) if i * s + k <= size + 2 * p)
    # ceil mode: windows that cover some of the padded input and may hang over its end by less
    # than one stride, but must start inside the input or its left padding (Caffe, PyTorch).
    ceil = sum(1 for i in range(size + 2 * p) if i * s <= size + 2 * p - k + s - 1 and i * s - p < size)
    assert conv_out_size(size, k, s, p) == fits
    assert conv_out_size(size, k, s, p, ceil_mode=True) == ceil


CONV_MATRIX_CASES = [
    # (out_c, in_c, kh, kw, h, w, stride, padding, dilation)
    (2, 3, 3, 3, 5, 6, 2, 1, 1),
    (3, 2, 3, 2, 6, 5, 1, (1, 0), 2),
    (2, 2, 2, 2, 7, 7, 3, 0, 1),  # stride > kernel
    (1, 1, 1, 1, 3, 4, 1, 0, 1),
]


def _output_padding_back_to(h, k, s, p, d):
    """output_padding that makes conv_transpose2d map back onto exactly h (dilation 1 only)."""
    out = conv_out_size(h, k, s, p, d)
    return h - ((out - 1) * s - 2 * p + d * (k - 1) + 1)


@pytest.mark.parametrize("case", CONV_MATRIX_CASES)
def test_conv_matrix_identities(xp, rng, case):
    out_c, in_c, kh, kw, h, w, stride, padding, dilation = case
    W = xp.asarray(rng.standard_normal((out_c, in_c, kh, kw)))
    x = xp.asarray(rng.standard_normal((1, in_c, h, w)))
    T = conv_matrix(W, (h, w), stride, padding, dilation)
    y = F.conv2d(x, W, stride=stride, padding=padding, dilation=dilation)
    assert T.shape == (y.size, x.size)
    np.testing.assert_allclose(to_np(T @ x.ravel()), to_np(y.data).ravel(), atol=1e-10)

    g = xp.asarray(rng.standard_normal(y.shape))
    # T.T is the transposed convolution / input gradient of conv2d (any dilation)
    gx = K.conv2d_grad_input(g, W, (h, w), F._pair(stride), F._pair(padding), F._pair(dilation))
    np.testing.assert_allclose(to_np(T.T @ g.ravel()), to_np(gx).ravel(), atol=1e-10)
    if dilation == 1:  # the public conv_transpose2d has no dilation
        sy, sx = F._pair(stride)
        ph, pw = F._pair(padding)
        op = (_output_padding_back_to(h, kh, sy, ph, 1),
              _output_padding_back_to(w, kw, sx, pw, 1))
        yt = F.conv_transpose2d(g, W, stride=stride, padding=padding, output_padding=op)
        np.testing.assert_allclose(to_np(T.T @ g.ravel()), to_np(yt.data).ravel(), atol=1e-10)


def test_conv_matrix_entries_by_hand():
    # 1 channel, 2x2 kernel [[a, b], [c, d]] on a 2x3 image, stride 1: 1x2 outputs
    W = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    T = conv_matrix(W, (2, 3))
    np.testing.assert_array_equal(T, [[1, 2, 0, 3, 4, 0],
                                      [0, 1, 2, 0, 3, 4]])


@pytest.mark.parametrize("case", CONV_MATRIX_CASES)
def test_conv_matrix_sparse_equals_dense(rng, case):
    pytest.importorskip("scipy")
    out_c, in_c, kh, kw, h, w, stride, padding, dilation = case
    W = rng.standard_normal((out_c, in_c, kh, kw))
    dense = conv_matrix(W, (h, w), stride, padding, dilation)
    sparse = conv_matrix(W, (h, w), stride, padding, dilation, sparse=True)
    assert sparse.shape == dense.shape
    np.testing.assert_array_equal(sparse.toarray(), dense)
    # the matrix really is sparse: at most kh*kw*in_c taps per row
    assert sparse.nnz <= dense.shape[0] * in_c * kh * kw


def test_conv_matrix_stays_on_device(xp, rng):
    W = xp.asarray(rng.standard_normal((2, 1, 3, 3)))
    T = conv_matrix(W, (4, 4), padding=1)
    assert backend.get_array_module(T) is xp


@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (1, 1, 1, 1), (0, 3, 2, 0), (4, 0, 0, 1)])
@pytest.mark.parametrize("value", [0.0, -np.inf])
def test_pad2d_matches_numpy_pad(xp, rng, pads, value):
    x = rng.standard_normal((2, 3, 4, 5))
    top, bottom, left, right = pads
    want = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)
    got = pad2d(xp.asarray(x), top, bottom, left, right, value)
    np.testing.assert_array_equal(to_np(got), want)


def test_on_a_gpu_a_padded_unfold_is_three_copies(stand_in, rng, monkeypatch):
    """Each array operation is a kernel launch on a GPU, dearer than the copy it makes on small
    maps: padding is one fill and one copy (not a fill per border strip), and the stride-1
    windows one copy (not one per tap: 9 for 3x3, 49 for fc6's 7x7)."""
    x = stand_in.asarray(rng.standard_normal((1, 4, 6, 7)))
    copies = []
    set_item = stand_in.ndarray.__setitem__
    monkeypatch.setattr(stand_in.ndarray, "__setitem__", lambda a, k, v: copies.append(k) or set_item(a, k, v))
    for k, p in ((3, 1), (7, 3)):
        copies.clear()
        col = im2col(x, k, k, ph=p, pw=p)
        np.testing.assert_array_equal(to_np(col), im2col(to_np(x), k, k, ph=p, pw=p))
        assert len(copies) == 3, f"{k}x{k}: {len(copies)} copies"


# ------------------------------------------------ the unfolded convolution's bias row and kept col
@pytest.mark.parametrize("split", [False, True])
def test_shallow_conv_carries_its_bias_in_the_products(xp, rng, monkeypatch, split):
    # RGB input, 27 deep: col gets a row of ones, y = [W | b] @ [col; 1], [gW | gb] = gy @ [col; 1].T
    monkeypatch.setattr(K, "SPLIT_COLS", 1 if split else 2**62)   # the weight product split by pixels, or whole
    x, W, b = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((8, 3, 3, 3)), rng.standard_normal(8)
    gy = rng.standard_normal((2, 8, 9, 8))
    X, Wx, B, G = (xp.asarray(v) for v in (x, W, b, gy))
    assert K._bias_in_product(3, 3, 3, (1, 1), (1, 1)) and not K._use_shifts(3, 8, 3, 3, (9, 8), (1, 1), 8)
    kept = {}
    y = K.conv2d(X, Wx, B, padding=(1, 1), keep=kept)
    col = kept["col"]
    # the two images' columns side by side, and under them the row of ones, kept
    assert col.shape == (28, 2, 72) and bool((col[27] == 1).all())
    np.testing.assert_allclose(to_np(y), naive.conv2d(x, W, b, 1, 1, 1), atol=1e-10, rtol=0)
    # the gradients from their definitions: gx by the loop transposed convolution, gW tap by tap
    gx_ref = naive.conv_transpose2d(gy, W, None, 1, 1)
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    gW_ref = np.stack([np.stack([np.einsum("noyx,ncyx->oc", gy, xpad[:, :, i:i + 9, j:j + 8])
                                 for j in range(3)], -1) for i in range(3)], -2)
    gb_ref = gy.sum(axis=(0, 2, 3))
    for given in (col, None):   # with the forward's col, and unfolded again
        gx, gW, gb = K.conv2d_grads(X, G, Wx, padding=(1, 1), need_bias=True, kept=given)
        np.testing.assert_allclose(to_np(gx), gx_ref, atol=1e-10, rtol=0)
        np.testing.assert_allclose(to_np(gW), gW_ref, atol=1e-10, rtol=0)
        np.testing.assert_allclose(to_np(gb), gb_ref, atol=1e-10, rtol=0)
        assert gW.flags.c_contiguous and gb.shape == (8,)
    # the kept col with its ones row still serves a layer whose bias is frozen, unfolded no more
    monkeypatch.setattr(K, "_unfold", lambda *a, **k: pytest.fail("x unfolded again"))
    _, gW, gb = K.conv2d_grads(X, G, Wx, padding=(1, 1), need_input=False, kept=col)
    assert gb is None
    np.testing.assert_allclose(to_np(gW), gW_ref, atol=1e-10, rtol=0)


def test_deep_or_big_col_is_neither_fused_nor_kept(xp, rng, monkeypatch):
    monkeypatch.setattr(K, "BIAS_ROW_MAX_DEPTH", 26)   # 3 x 3 x 3 = 27: too deep now
    x, W, b = rng.standard_normal((1, 3, 6, 7)), rng.standard_normal((8, 3, 3, 3)), rng.standard_normal(8)
    kept = {}
    y = K.conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), padding=(1, 1), keep=kept)
    assert kept["col"].shape == (27, 1, 42)   # no row of ones
    np.testing.assert_allclose(to_np(y), naive.conv2d(x, W, b, 1, 1, 1), atol=1e-10, rtol=0)
    monkeypatch.setattr(K, "COL_KEEP_BYTES", kept["col"].nbytes - 1)
    kept = {}
    K.conv2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), padding=(1, 1), keep=kept)
    assert kept == {}


def test_im2col_into_a_view_of_a_bigger_buffer(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 5, 4)))
    buf = xp.full((2, 3 * 9 * 20 + 20), -7.0)
    out = buf[:, :3 * 9 * 20].reshape(2, 3, 3, 3, 5, 4)
    assert im2col(x, 3, 3, ph=1, pw=1, out=out) is out
    np.testing.assert_array_equal(to_np(out), to_np(im2col(x, 3, 3, ph=1, pw=1)))
    assert bool((buf[:, 3 * 9 * 20:] == -7.0).all())   # the rest untouched
    with pytest.raises(ValueError, match=r"out has shape \(2, 3, 3, 3, 4, 4\), expected \(2, 3, 3, 3, 5, 4\)"):
        im2col(x, 3, 3, ph=1, pw=1, out=xp.empty((2, 3, 3, 3, 4, 4)))


def test_a_batch_is_one_product_on_small_maps_and_one_image_is_never_copied(rng):
    """``col`` holds the images side by side, (depth, n, L): one image's matrices are the
    arrays themselves (no copy at batch 1, VGG's case), and a batch of small maps is one
    product, of large ones one per image (``ONE_PRODUCT_MAX_COLS``)."""
    gy1, x1 = rng.standard_normal((1, 4, 30)), rng.standard_normal((1, 3, 5, 6))
    assert np.shares_memory(K._batch_columns(gy1), gy1)
    col, _ = K._unfold(x1, 1, 1, (1, 1), (0, 0), (1, 1))          # a 1x1 convolution: x itself
    assert col.shape == (3, 1, 30) and np.shares_memory(col, x1)
    small, large = rng.standard_normal((3, 4, 400)), rng.standard_normal((3, 4, 401))
    assert len(K._pairs(small, rng.standard_normal((5, 3, 400)))) == 1
    pairs = K._pairs(large, rng.standard_normal((5, 3, 401)))
    assert len(pairs) == 3 and all(np.shares_memory(g, large) for g, _ in pairs)


def test_only_the_outputs_that_see_the_image_are_convolved_where_they_are_few():
    """FCN's conv1_1 (3x3, padding 100): the outputs whose windows touch the image are those of
    the convolution padded by 2, ringed by 98 that see only padding; worth it at the main job's
    160x160 (0.20 of the outputs), not at 224x224 (0.29: ``INNER_MAX_FRACTION``)."""
    assert K._inner((160, 160), 3, 3, (1, 1), (100, 100), (1, 1)) == ((2, 2), (98, 98))
    assert K._inner((224, 224), 3, 3, (1, 1), (100, 100), (1, 1)) is None
    assert K._inner((3, 40), 3, 3, (1, 1), (12, 1), (1, 1)) == ((2, 1), (10, 0))  # one axis only
    assert K._inner((3, 3), 3, 3, (1, 1), (2, 2), (1, 1)) is None     # within reach: no ring
    assert K._inner((3, 3), 3, 3, (2, 2), (9, 9), (1, 1)) is None     # strided: not done
    assert K._inner((3, 3), 3, 3, (1, 1), (9, 9), (3, 3)) is None     # dilated, reach 6: 9x9 of 15x15
    assert K._inner((3, 3), 3, 3, (1, 1), (20, 20), (3, 3)) == ((6, 6), (14, 14))


def test_pixels_first_input_gradient_only_on_small_maps_within_the_cache():
    """The rule of ``PIXELS_FIRST_MAX_PIXELS`` (the path itself is checked by every conv test,
    on and off: tests/test_conv.py's ``im2col`` and ``im2col-plain``)."""
    assert K._pixels_first(512 * 9, (14, 14), 4)                    # VGG's conv5_3 at 224
    assert K._pixels_first(512 * 9, (20, 20), 4)
    assert not K._pixels_first(512 * 9, (21, 20), 4)                # more than 400 pixels
    assert not K._pixels_first(512 * 49, (16, 16), 4)               # fc6: a 26 MB col
    assert not K._pixels_first(512 * 9, (14, 14), 4, on_gpu=True)
    # the batch's col is one product: 64 -> 64 at 10x10 on 8 images (1.8 MB) yes, conv5_3's (29 MB) no
    assert K._pixels_first(64 * 9, (10, 10), 4, n=8)
    assert not K._pixels_first(512 * 9, (14, 14), 4, n=8)


def test_pixels_first_fold_reaches_past_the_padding(rng, monkeypatch):
    """Stride 3 with a 2x2 kernel leaves input rows no window reads; padding 2 lets windows
    hang over the edge, dilated: the pixels-first input gradient is the adjoint of the loops'
    convolution there, and equals the channels-first fold."""
    for xs, ws, s, p, d in [((1, 2, 8, 7), (3, 2, 2, 2), (3, 3), (0, 0), (1, 1)),
                            ((2, 3, 5, 6), (4, 3, 3, 3), (1, 2), (2, 1), (2, 1))]:
        x, W = rng.standard_normal(xs), rng.standard_normal(ws)
        out_hw = K.out_size(*xs[2:], *ws[2:], s, p, d)
        gy = rng.standard_normal((xs[0], ws[0]) + out_hw)
        assert K._pixels_first(ws[1] * ws[2] * ws[3], out_hw, 8)
        gx = K.conv2d_grad_input(gy, W, xs[2:], s, p, d)
        np.testing.assert_allclose(np.vdot(gx, x), np.vdot(gy, naive.conv2d(x, W, None, s, p, d)),
                                   rtol=1e-12)
        with monkeypatch.context() as m:   # not monkeypatch.undo(): the autouse fixtures' patches stay
            m.setattr(K, "PIXELS_FIRST_MAX_PIXELS", 0)
            np.testing.assert_allclose(gx, K.conv2d_grad_input(gy, W, xs[2:], s, p, d), atol=1e-12, rtol=0)


def test_small_maps_make_their_two_gradients_side_by_side(rng, monkeypatch):
    """conv5_3's shape: both gradients at once, one per thread (the caller and a helper), the
    same numbers as one after the other; fc6 (a 26 MB col) and strided upsampling kernels do
    not."""
    gy14 = np.empty((1, 512, 14, 14), np.float32)
    assert K._side_by_side(512, 512, 3, 3, gy14, (1, 1), (1, 1))
    gy16 = np.empty((1, 4096, 16, 16), np.float32)
    assert not K._side_by_side(512, 4096, 7, 7, gy16, (1, 1), (1, 1))
    assert not K._side_by_side(21, 21, 4, 4, np.empty((1, 21, 8, 8), np.float32), (2, 2), (1, 1))
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "1")   # one thread: one after the other, BLAS on all cores
    assert not K._side_by_side(512, 512, 3, 3, gy14, (1, 1), (1, 1))
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    seen, both = [], threading.Barrier(2, timeout=10)   # each waits for the other: two threads
    for name in ("conv2d_grad_input", "_grad_weight"):
        def spy(*a, _f=getattr(K, name), _n=name, **k):
            if len(seen) < 2:
                both.wait()
                seen.append((_n, threading.current_thread().name))
            return _f(*a, **k)
        monkeypatch.setattr(K, name, spy)
    x, W = rng.standard_normal((1, 32, 5, 5)), rng.standard_normal((8, 32, 3, 3))   # im2col, not shifts
    gy = rng.standard_normal((1, 8, 5, 5))
    gx, gW, gb = K.conv2d_grads(x, gy, W, padding=(1, 1), need_bias=True)
    assert sorted(n for n, _ in seen) == ["_grad_weight", "conv2d_grad_input"]
    assert {t for _, t in seen} == {threading.current_thread().name, "minifcn_0"}
    monkeypatch.setattr(K, "PIXELS_FIRST_MAX_PIXELS", 0)   # one after the other
    for got, want in zip((gx, gW, gb), K.conv2d_grads(x, gy, W, padding=(1, 1), need_bias=True)):
        np.testing.assert_allclose(got, want, atol=1e-12, rtol=0)


@pytest.mark.parametrize("geom", [g for g in GEOMETRIES if g[2:4] == (1, 1)])
@pytest.mark.parametrize("pad_value", [0.0, -1.5])
def test_im2col_flat_shifts_agree_with_the_padded_image(xp, rng, geom, pad_value):
    """A stride-1 window whose output is as wide as the image unfolds by shifts of the flat image
    (im2col._unfold_flat); an ``out`` whose planes are not contiguous takes the padded image."""
    kh, kw, sy, sx, ph, pw, dy, dx = geom
    x = xp.asarray(rng.standard_normal((2, 3, 7, 6)))
    out_h, out_w = conv_out_size(7, kh, sy, ph, dy), conv_out_size(6, kw, sx, pw, dx)
    flat = im2col(x, kh, kw, sy, sx, ph, pw, dy, dx, pad_value=pad_value)
    wide = xp.empty((2, 3, kh, kw, out_h, out_w + 1))
    padded = im2col(x, kh, kw, sy, sx, ph, pw, dy, dx, pad_value=pad_value, out=wide[..., :out_w])
    np.testing.assert_array_equal(to_np(flat), to_np(padded))
    if out_w == 6:   # the flat path ran: the value padding gave is where the loops found no pixel
        inside = _im2col_loops(np.ones((2, 3, 7, 6)), *geom, out_h, out_w) == 1
        assert (to_np(flat)[~inside] == pad_value).all() and (~inside).any()

