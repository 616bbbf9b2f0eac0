"""The two ways conv kernels compute a stride-1 convolution agree: im2col + one product, and
shifted slices of the flattened padded image (used when ``col`` would be large)."""
import numpy as np
import pytest

from minifcn.im2col import fill_window
from minifcn.kernels import conv as K
from minifcn.kernels import shifted
from oracle import to_np

# (n, c, h, w, out_c, kh, kw, padding, dilation): odd sizes, rectangular kernels, dilation,
# padding larger than the kernel (FCN's conv1_1 has padding 100 on a 3x3 kernel)
CASES = [
    (2, 3, 7, 6, 4, 3, 3, (1, 1), (1, 1)),
    (1, 2, 9, 8, 3, 3, 2, (0, 2), (2, 1)),
    (1, 2, 5, 6, 3, 3, 3, (4, 3), (1, 1)),
    (1, 3, 6, 6, 2, 7, 7, (0, 0), (1, 1)),
    (2, 3, 5, 7, 4, 1, 3, (0, 1), (1, 1)),   # one kernel row: no stacked row blocks to add
]


def _both(monkeypatch, fn):
    """fn() with im2col forced (huge limit) and with the shifted slices forced (limit 0)."""
    monkeypatch.setattr(K, "COL_MAX_BYTES", 2**62)
    monkeypatch.setattr(K, "SHIFTS_BELOW_DEPTH", 0)
    via_col = fn()
    monkeypatch.setattr(K, "COL_MAX_BYTES", 0)
    monkeypatch.setattr(K, "COL_OVER_MAPS", 0)
    return via_col, fn()


@pytest.mark.parametrize("threads", ["1", "3"])   # one group of chunks; three, over the images
# one chunk per image; one output row a chunk (fewer than the rows a kernel reaches past it);
# two or three rows a chunk
@pytest.mark.parametrize("chunk_cols", [4096, 1, 25])
@pytest.mark.parametrize("case", CASES)
def test_shifted_and_im2col_paths_agree(xp, rng, monkeypatch, case, chunk_cols, threads):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    monkeypatch.setattr(shifted, "CHUNK_COLS", chunk_cols)
    monkeypatch.setattr(shifted, "STACKED_CHUNK_COLS", chunk_cols)
    monkeypatch.setattr(shifted, "CHUNK_BYTES", 0)      # no longer chunks for narrow layers here
    n, c, h, w, out_c, kh, kw, p, d = case
    x = xp.asarray(rng.standard_normal((n, c, h, w)))
    W = xp.asarray(rng.standard_normal((out_c, c, kh, kw)))
    b = xp.asarray(rng.standard_normal(out_c))
    out_hw = K.out_size(h, w, kh, kw, (1, 1), p, d)
    gy = xp.asarray(rng.standard_normal((n, out_c) + out_hw))
    for fn in (lambda: K.conv2d(x, W, b, (1, 1), p, d),
               lambda: K.conv2d_grad_input(gy, W, (h, w), (1, 1), p, d),
               lambda: K.conv2d_grad_weight(x, gy, kh, kw, (1, 1), p, d)):
        a, s = _both(monkeypatch, fn)
        assert a.shape == s.shape
        np.testing.assert_allclose(to_np(s), to_np(a), atol=1e-10, rtol=0)


@pytest.mark.parametrize("case", CASES)
def test_the_shifted_correlation_writes_whole_planes_without_junk_columns(xp, rng, case):
    n, c, h, w, out_c, kh, kw, p, d = case
    x = xp.asarray(rng.standard_normal((n, c, h, w)))
    W = xp.asarray(rng.standard_normal((out_c, c, kh, kw)))
    out_hw = K.out_size(h, w, kh, kw, (1, 1), p, d)
    y = shifted.correlate(x, p, W, out_hw, d)
    # contiguous, so batch norm and ReLU read whole planes (the windows that run off each row
    # were computed, and left out when the kernel rows' sums were added)
    assert y.shape == (n, out_c) + out_hw and y.flags.c_contiguous
    np.testing.assert_allclose(to_np(y), to_np(K.conv2d(x, W, None, (1, 1), p, d)), atol=1e-10)


def test_narrow_layers_take_chunks_of_chunk_bytes_and_wide_ones_the_columns_given():
    # 3 -> 4 (RGB into the main job's 4 channels): 3*3 + 3*4 values a column
    cols = shifted._chunk_cols(4096, 3, 4, 3, 3, 4)
    assert cols * 21 * 4 <= shifted.CHUNK_BYTES < (cols + 1) * 21 * 4
    assert shifted._chunk_cols(4096, 64, 64, 3, 3, 4) == 4096     # VGG's: 6 MB already
    assert shifted._chunk_cols(4096, 512, 512, 3, 3, 4) == 4096


@pytest.mark.parametrize("n, out_h, threads", [(1, 7, 2), (3, 5, 2), (2, 4, 3), (1, 2, 4)])
def test_chunk_groups_cover_every_row_once_in_shares_per_thread(monkeypatch, n, out_h, threads):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", str(threads))
    wp, chunk_cols = 10, 20                       # two output rows a chunk
    groups = shifted.chunk_groups(np.empty((n, 1, 1, 1)), out_h, wp, chunk_cols)
    assert len(groups) == min(threads, n * out_h)
    rows = [(k, r) for chunks in groups for k, r0, r1 in chunks for r in range(r0, r1)]
    assert rows == [(k, r) for k in range(n) for r in range(out_h)]   # each once, in order
    assert all(0 < r1 - r0 <= chunk_cols // wp for chunks in groups for _, r0, r1 in chunks)
    shares = [sum(r1 - r0 for _, r0, r1 in chunks) for chunks in groups]
    assert max(shares) - min(shares) <= 1


def test_shifted_weight_gradient_sums_its_shares_the_same_way_every_time(rng):
    x = rng.standard_normal((2, 8, 30, 30)).astype(np.float32)
    gy = rng.standard_normal((2, 16, 30, 30)).astype(np.float32)
    first = K.conv2d_grad_weight(x, gy, 3, 3, padding=(1, 1))
    assert K._use_shifts(8, 16, 3, 3, (30, 30), (1, 1), 4)
    for _ in range(3):
        np.testing.assert_array_equal(K.conv2d_grad_weight(x, gy, 3, 3, padding=(1, 1)), first)


@pytest.mark.parametrize("y0, x0", [(-2, -3), (1, 2), (4, -1), (-9, 0), (0, 7), (6, 6)])
def test_fill_window_is_the_zero_padded_crop(xp, y0, x0):
    img = xp.asarray(np.arange(1.0, 2 * 5 * 6 + 1).reshape(2, 5, 6))
    out = xp.full((2, 4, 5), np.nan)  # every value must be written, zeros included
    fill_window(out, img, y0, x0)
    padded = np.pad(to_np(img), ((0, 0), (20, 20), (20, 20)))
    want = padded[:, 20 + y0:24 + y0, 20 + x0:25 + x0]
    np.testing.assert_array_equal(to_np(out), want)
    # into a buffer that held another window of the same columns: only its rows are redone
    out = xp.array(padded[:, 17 + y0:21 + y0, 20 + x0:25 + x0])  # a copy: padded stays
    fill_window(out, img, y0, x0, fill="rows")
    np.testing.assert_array_equal(to_np(out), want)
    out = xp.zeros((2, 4, 5))
    fill_window(out, img, y0, x0, fill="none")
    np.testing.assert_array_equal(to_np(out), want)


def test_shifted_path_is_taken_for_large_col(monkeypatch):
    monkeypatch.setattr(K, "COL_MAX_BYTES", 0)
    assert K._use_shifts(64, 64, 3, 3, (10, 10), (1, 1), 4)
    assert not K._use_shifts(64, 64, 3, 3, (10, 10), (2, 2), 4)   # strided: im2col
    assert not K._use_shifts(64, 64, 1, 1, (10, 10), (1, 1), 4)   # 1x1: no unfolding at all
    monkeypatch.setattr(K, "COL_MAX_BYTES", 32 * 2**20)
    assert not K._use_shifts(64, 64, 3, 3, (10, 10), (1, 1), 4)  # deep and small: im2col
    assert K._use_shifts(3, 4, 3, 3, (10, 10), (1, 1), 4)        # 3 -> 4 channels: fewer bytes shifted
    assert not K._use_shifts(3, 64, 3, 3, (10, 10), (1, 1), 4)   # 3 -> 64: the partial sums cost more
    assert K._use_shifts(64, 64, 3, 3, (224, 224), (1, 1), 4)    # 64 x 9 x 224^2 floats = 115 MB
    # fc6's input gradient reads 4096 channels, but its col is the forward's: 512 x 49 x 8^2 floats
    assert not K._use_shifts(512, 4096, 7, 7, (8, 8), (1, 1), 4, transposed=True)
    assert K._use_shifts(4, 3, 3, 3, (10, 10), (1, 1), 4, transposed=True)  # reads 3, writes 4


def test_path_rule_on_the_models_shapes():
    # FCN's conv1_1 at 500x500 input (698x698 out): col is 52 MB, but 27 values a pixel, fewer
    # than the two maps' 67: im2col, forward and backward
    assert not K._use_shifts(3, 64, 3, 3, (698, 698), (1, 1), 4)
    assert not K._use_shifts(3, 64, 3, 3, (698, 698), (1, 1), 4, transposed=True)
    # a shallow product whose col outgrows its maps (21 -> 43: 189 values a pixel) is capped
    assert K._use_shifts(21, 43, 3, 3, (698, 698), (1, 1), 4)
    assert not K._use_shifts(21, 43, 3, 3, (100, 100), (1, 1), 4)
    # VGG's conv2_1 at 224 input: col 28.9 MB, past the cache, on a 112-wide output
    assert K._use_shifts(64, 128, 3, 3, (112, 112), (1, 1), 4)
    assert K._use_shifts(64, 64, 3, 3, (56, 56), (1, 1), 4)         # 7.2 MB: past 4 MB
    assert not K._use_shifts(64, 64, 3, 3, (28, 28), (1, 1), 4)     # 1.8 MB: in cache
    assert not K._use_shifts(64, 128, 3, 3, (112, 112), (1, 1), 4, on_gpu=True)  # a CPU cache rule
    # the main job's conv4 (32 -> 32 at 45x45): 2.3 MB an image, but 8 images unfold at once
    assert not K._use_shifts(32, 32, 3, 3, (45, 45), (1, 1), 4)
    assert K._use_shifts(32, 32, 3, 3, (45, 45), (1, 1), 4, n=8)
    assert K._use_shifts(32, 32, 3, 3, (45, 45), (1, 1), 4, transposed=True, n=8)
    assert not K._use_shifts(64, 64, 3, 3, (20, 20), (1, 1), 4, n=4)  # 3.7 MB
    assert not K._use_shifts(32, 32, 3, 3, (12, 12), (1, 1), 4, n=32)  # 5.3 MB, but 2 junk in 14
    assert not K._use_shifts(512, 512, 3, 3, (14, 14), (1, 1), 4, n=2)   # conv5_3: 2 in 16
    assert not K._use_shifts(512, 4096, 7, 7, (16, 16), (1, 1), 4, n=2)   # fc6: 6 junk in 22
    # fc6 (7x7 to 16x16 on 22x22): col 25.7 MB, but 6 junk columns in 22: im2col
    assert not K._use_shifts(512, 4096, 7, 7, (16, 16), (1, 1), 4)


def test_a_batch_takes_the_path_its_whole_col_calls_for(monkeypatch, rng):
    # the rule must be told the batch: 8 images of 32 -> 32 at 45x45 unfold 18.7 MB at once
    calls = []
    correlate, grad_weight = shifted.correlate, shifted.grad_weight
    monkeypatch.setattr(shifted, "correlate", lambda *a, **k: calls.append("correlate") or correlate(*a, **k))
    monkeypatch.setattr(shifted, "grad_weight", lambda *a, **k: calls.append("grad_weight") or grad_weight(*a, **k))
    W = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    for n, shifts in ((1, False), (8, True)):
        calls.clear()
        x = rng.standard_normal((n, 32, 45, 45)).astype(np.float32)
        y = K.conv2d(x, W, None, (1, 1), (1, 1))
        K.conv2d_grad_input(y, W, (45, 45), (1, 1), (1, 1))
        K.conv2d_grad_weight(x, y, 3, 3, (1, 1), (1, 1))
        assert calls == (["correlate", "correlate", "grad_weight"] if shifts else []), (n, calls)
