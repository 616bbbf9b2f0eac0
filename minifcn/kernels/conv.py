"""Convolution and transposed convolution as matrix products with the unfolding operator.

With ``col = im2col(x)`` laid out as (c*kh*kw, n, out_h*out_w), the batch's images side by
side, and ``W`` reshaped to (out_c, c*kh*kw), a convolution is ``y = W @ col``: one product for
the whole batch on small maps, one per image on large ones (``ONE_PRODUCT_MAX_COLS``). Its three
gradients are three products of the same pieces:

* ``gW = gy @ col.T``                    (summed over the batch)
* ``gx = col2im(W.T @ gy)``              (the transposed convolution of ``gy``; on a small map
  made pixels first, ``gy.T @ W``, and folded channels last: ``PIXELS_FIRST_MAX_PIXELS``)
* ``gb = gy.sum(over n, y, x)``

A transposed convolution is the same operator read backwards, so :func:`conv_transpose2d`
is :func:`conv2d_grad_input`, and its gradients are a convolution and a weight gradient.
Between forward and backward only the inputs are kept, and ``col`` when it is small
(``COL_KEEP_BYTES``): a big one is rebuilt when needed, so it lives only as long as one matrix
product. A shallow product (RGB input) also carries the bias, as a row of ones under ``col``
(``BIAS_ROW_MAX_DEPTH``).

Large stride-1 convolutions (``col`` would be 9x the input for a 3x3 kernel: over 1 GB for
VGG's conv1_2 at FCN's 698x698; or past the cache on a wide image) skip ``col`` altogether:
flattened padded rows read at shifted offsets, ``kw`` shifted copies instead of ``kh*kw``, over
chunks of whole output rows that stay in cache (:mod:`.shifted`). Shallow convolutions (RGB
input, narrow models) take this path too when it moves fewer bytes than im2col
(``_use_shifts``).

3x3 stride-1 convolutions with many channels on both sides (VGG's 64- to 512-channel layers)
take a third path, tried before the other two: Winograd's F(2x2, 3x3) or F(4x4, 3x3)
(:mod:`.winograd`), 16 products of depth ``c`` per 2x2 block of outputs, or 36 per 4x4 block,
where the products above do 9 per output (36 per 2x2 block, 144 per 4x4 block), at the price
of transforms over arrays 4x (2.25x) the input and the output. ``_winograd_tile`` says when
each pays (SegNet's 512 -> 512 at 45x60 runs forward in 44-51 ms instead of 79-86); on the CPU
it takes VGG's conv1_2 to conv5_3 at FCN's sizes, so the shifts serve the other layers, the
narrow models and the GPU (where Winograd is off, ``WINOGRAD_ON_GPU``).

A transposed convolution with stride ``s`` whose kernel overlaps (``k > s``: FCN's bilinear
upsamplings, 4/2, 16/8, 64/32) is ``s*s`` stride-1 convolutions interleaved (the "sub-pixel"
view): output row ``Y = q*s + r`` (before the padding is cut) only ever meets the kernel rows
``r, r + s, r + 2s, ...``. So with the kernel split by phase, ``A = ceil(k/s)`` taps a side,
one stride-1 convolution of ``x`` gives all ``s*s`` phases as channels, and a reshape and
transpose (depth to space) interleaves them (:mod:`.phases`). im2col would instead write
``k*k/(s*s)`` (4 for 16/8) times the output, and col2im add it back: the phases are 2-3x faster
(upscore8 of FCN-8s at 500x500: 71 -> 23 ms alone). A strided convolution with such a kernel,
the adjoint, is space to depth followed by the stride-1 transposed convolution.

>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
>>> W = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
>>> y = conv2d(x, W, padding=(1, 1))
>>> y.shape
(1, 3, 5, 5)
>>> bool(np.allclose(conv_transpose2d(y, W, out_hw=(5, 5), padding=(1, 1)),
...                  conv2d_grad_input(y, W, (5, 5), padding=(1, 1))))
True
"""
from __future__ import annotations

from ..backend import device_of, get_array_module
from ..im2col import col2im, conv_out_size, fill_window, im2col, pad2d
from . import cache, depthwise, phases, shifted, winograd
from .reduce import channel_sum
from .threads import channel_blocks, map_blocks, num_threads, products_on_cores, row_groups


# Above this size an unfolded ``col`` costs more than the products it feeds: allocating it
# (page faults), filling it and reading it back outweigh the efficiency of one big product.
# Stride-1 convolutions then use shifted slices of the flattened image (see the module doc).
COL_MAX_BYTES = 32 * 2**20
# Above this size ``col`` no longer sits in the last-level cache beside the image and the
# product (32 MB here), while the shifted slices' chunks do: 64 -> 128 at 112x112 (VGG's
# conv2_1, 28.9 MB) ran 7-13 % faster shifted. Small maps' input gradients made pixels first
# keep their ``col`` within it (``_pixels_first``).
COL_CACHE_BYTES = 8 * 2**20
# Above this size the batch's ``col``, unfolded at once, costs more than the shifted products'
# chunks, which stay in cache; the nineteenth session measured (forward and both gradients,
# alternated, medians of 9 rounds, ms; col / shifted): the main job's 32 -> 32 at 45x45, 8
# images (18.7 MB), 13.3 / 8.2; SegNet's 64 -> 64 at 20x20 at 1/8 wide, 8 images (7.4 MB),
# 7.7 / 6.9; 32 -> 32 at 23x23, 8 images (4.9 MB), 3.8 / 3.1; 64 -> 64 at 56x56, one image
# (7.2 MB), 5.9 / 5.2; 32 -> 32 at 64x64 (4.7 MB) 3.4 / 2.6; but 64 -> 64 at 20x20, 4 images
# (3.7 MB), 3.8 / 4.0, and 128 -> 128 at 10x10, 8 images (3.7 MB), 6.7 / 12.1. Only where the
# junk columns the shifted products also compute (``kw - 1`` a row) are at most SHIFTS_MAX_JUNK
# of them: 3x3 from 18 columns; 32 -> 32 at 12x12 (2 in 14), 8 images, 1.8 / 2.2; VGG's conv5_3
# (2 in 16) 16.2 / 36.8; fc6, 7x7 to 16x16 (6 in 22), took 3.4x as long shifted (two images).
COL_SHIFTS_BYTES = 4 * 2**20
SHIFTS_MAX_JUNK = 1 / 10
# While ``col`` holds at most this many times the values a pixel of the two maps it joins, it
# costs no more memory and trips to memory than they do, so its size does not count (see
# _use_shifts; 0: never, which the tests use to force the shifts).
COL_OVER_MAPS = 1
# Products shallower than this (``kw * c``: RGB input, narrow models) run far from the BLAS peak
# on either path, so there the path that moves fewer bytes wins, whatever the size of ``col``.
SHIFTS_BELOW_DEPTH = 64


def _use_shifts(c, out_c, kh, kw, out_hw, stride, itemsize, transposed=False, on_gpu=False, n=1):
    """Whether a stride-1 product of the convolution ``c -> out_c`` should use shifted slices
    rather than im2col (``transposed``: its input gradient, which reads ``out_c`` channels and
    writes ``c``; its ``col`` is the same size).

    When ``col`` holds no more values a pixel (``c*kh*kw``) than the two maps it joins
    (``read + write``; ``COL_OVER_MAPS``), its memory and its trips to memory cost no more than
    theirs: im2col,
    unless the product is shallow and the shifts move fewer bytes (below). VGG's conv1_1,
    3 -> 64 at FCN's 698x698: im2col took 34/38/35 ms forward, input and weight gradient,
    the shifts 69/89/56.

    Else, yes when an image's ``col`` would be large (``COL_MAX_BYTES``), or, on the CPU, the
    ``col`` of the batch's ``n`` images larger than the cache on a wide enough output
    (``COL_SHIFTS_BYTES``, ``SHIFTS_MAX_JUNK``; a GPU's cache is another matter, not measured).
    For shallow products whose ``col``
    is not large, yes when that moves fewer bytes per output pixel: im2col writes and reads
    ``kh*kw*read`` values; the shifts copy ``kw*read`` and add ``kh - 1`` partial products of
    ``write`` rows (read, read, write), so they win about when ``3*write <= 2*kw*read`` (conv1_1
    of the main job, 3 -> 4 channels: yes; VGG's conv1_1, 3 -> 64: no). A weight gradient adds
    no partial images but copies ``gy`` (``out_c`` rows) onto the padded width, about as dear,
    so it takes the same rule.
    """
    if tuple(stride) != (1, 1) or kh * kw == 1:
        return False
    read, write = (out_c, c) if transposed else (c, out_c)
    shallow, fewer_bytes = kw * read < SHIFTS_BELOW_DEPTH, 3 * write <= 2 * kw * read
    if c * kh * kw <= COL_OVER_MAPS * (read + write):
        return shallow and fewer_bytes
    col_bytes = c * kh * kw * out_hw[0] * out_hw[1] * itemsize
    if col_bytes > COL_MAX_BYTES:
        return True
    if shallow:
        return fewer_bytes
    junk = (kw - 1) / (out_hw[1] + kw - 1)
    return not on_gpu and n * col_bytes > COL_SHIFTS_BYTES and junk <= SHIFTS_MAX_JUNK


# 3x3 stride-1 convolutions with many channels on both sides run by Winograd's algorithm
# (:mod:`.winograd`). F(2x2, 3x3), 16 products where im2col needs 36 multiplications per 2x2
# outputs, when ``c*out_c/(c + out_c)`` is at least this. 128 -> 128 (64) is the edge: alone
# 0.9-1.0x the time of the shifted products, in SegNet's step at 180x240 0.85x; below it the
# transforms, at memory speed, eat the saving (64 -> 128, 43: 1.1-1.3x; 64 -> 64: 1.1-1.3x) ...
WINOGRAD_MIN_WIDTH = 64
# ... and the image has at least this many 2x2 tiles (products of fewer columns run far from
# the BLAS peak: 512 -> 512 at 14x14, 49 tiles, takes 1.5-1.8x the time, 1.1-1.3x with the
# seventeenth session's transforms, the kernel transform then costing what the products save;
# at 23x30 0.9x).
WINOGRAD_MIN_TILES = 150
# F(4x4, 3x3), 36 products per 4x4 outputs where F(2x2, 3x3) makes 64, and transforms that
# pass over 2.25x the input and output instead of 4x, wins from 32 -> 32 on big maps (fwd +
# both gradients, alternated, ms: 32 -> 32 at 224x224 18.7 against 24.3 direct; 64 -> 64 at
# 224x224 44-46 of kernels against 79-83; 64 -> 128 at 112x112 and 256 -> 256 at 56x56 0.7x
# and 0.6x PyTorch's time; not 16 -> 16 at 224x224: 11.6-13.0 against 10.0-10.6) ...
WINOGRAD4_MIN_WIDTH = 16
# ... when there is enough work to pay for the transforms' Python cost per block and their
# passes over memory: 4x4 tiles times ``c*out_c/(c + out_c)`` at least this (32 -> 32 at
# 56x56, 3136, and 64 -> 64 at 40x40, 3200: as fast as direct; 64 -> 64 at 56x56, 6272, just
# under the line: F(4x4) 5.5-6.3 ms against 6.7-8.0 direct in the twelfth session, even in the
# twenty-seventh, forward and both gradients 6.10 against 6.07, medians of 15 alternated rounds)
# ...
WINOGRAD4_MIN_WORK = 6400
# ... and while its kernel transform, 36*c*out_c values made twice a step and read back once,
# stays small against the tiles: at least this many 4x4 tiles per unit of that width
# (512 -> 512 at 45x60, 0.70: 117 against 126 by F(2x2); 256 -> 512 at 28x28, 0.29: 25-26
# against 23-25; 512 -> 512 at 28x28, 0.19: 56-62 against 46-51).
WINOGRAD4_MIN_TILES_PER_WIDTH = 0.5
# On a GPU these rules are not measured (no GPU was lent since Winograd came in): there the
# 3x3 layers run as im2col products through cuBLAS. The kernels are the same xp code and pass
# the tests on CuPy's stand-in; ``python -m benchmarks.gpu --winograd`` sets this to time them.
WINOGRAD_ON_GPU = False


def _winograd_tile(c, out_c, kh, kw, out_hw, stride, padding, dilation, like):
    """The ``m`` of the F(m x m, 3x3) that runs a convolution ``c -> out_c`` (or its input
    gradient: the same, read backwards), 4 or 2, or 0 for none: 3x3, stride 1, undilated,
    padding 0..2 (the input gradient pads by ``2 - p``), enough channels and tiles; on the CPU
    (on a GPU only with ``WINOGRAD_ON_GPU``)."""
    if (kh, kw) != (3, 3) or tuple(stride) != (1, 1) or tuple(dilation) != (1, 1):
        return 0
    if not all(0 <= p <= 2 for p in padding) or (device_of(like) == "cuda" and not WINOGRAD_ON_GPU):
        return 0
    width = c * out_c / (c + out_c)
    th, tw = winograd.tiles(out_hw, 4)
    if (width >= WINOGRAD4_MIN_WIDTH and th * tw * width >= WINOGRAD4_MIN_WORK
            and th * tw >= WINOGRAD4_MIN_TILES_PER_WIDTH * width):
        return 4
    th, tw = winograd.tiles(out_hw, 2)
    if width >= WINOGRAD_MIN_WIDTH and th * tw >= WINOGRAD_MIN_TILES:
        return 2
    return 0


# ``col`` is (c*kh*kw, n, L): the batch's images side by side, so that a small map's products can
# be one product over the whole batch, (c*kh*kw, n*L). An image's are short (SegNet's 64 -> 64
# at 10x10 is 64 x 576 @ 576 x 100), and OpenBLAS runs eight such far below the rate of one
# eight times as wide. That costs a copy of ``y`` or ``gy`` between the layouts (n, m, L) and
# (m, n*L): nothing beside a product that short, but a long one gains nothing to pay for it
# (FCN's upscore8 by phases, 961 columns an image: its backward took 6.0 -> 11.7 ms). So one
# product up to this many columns an image, else one per image (on a GPU always one: each
# product is a kernel launch, not measured). Forward and both gradients, 8 images, medians of
# 5 alternated rounds, ms, one product per image / one for the batch: the main job's fc6 (7x7,
# 32 -> 256 on 12x12) 7.3 / 5.6, its fc7 (1x1 on 6x6) 1.43 / 1.19, SegNet's 32 -> 32 at 10x10
# 1.37 / 1.21, 64 -> 64 at 5x5 1.20 / 1.13; one for the batch at every size: a 1x1 score layer
# on 45x45 0.38 -> 0.62, the main job's upscore8 13.4 -> 16.6.
ONE_PRODUCT_MAX_COLS = 400


def _one_product(n, l, like):
    """Whether the products of ``n`` images of ``l`` columns each run as one
    (``ONE_PRODUCT_MAX_COLS``)."""
    return n > 1 and (l <= ONE_PRODUCT_MAX_COLS or device_of(like) == "cuda")


def _batch_columns(a):
    """a (n, m, L) -> (m, n*L), image ``k``'s columns at ``k*L``: a view for one image, a copy
    for more."""
    n, m, l = a.shape
    return a.transpose(1, 0, 2).reshape(m, n * l)


def _pairs(gy, col):
    """The products of gy (n, m, L) with col (k, n, L) as pairs of matrices (m, L'), (k, L'):
    one pair for the whole batch (:func:`_one_product`), or one per image."""
    n, _, l = gy.shape
    if _one_product(n, l, col):
        return [(_batch_columns(gy), col.reshape(col.shape[0], n * l))]
    return [(gy[k], col[:, k]) for k in range(n)]


def _multiply(taps, col):
    """y (n, m, L) = taps (m, k) @ col (k, n, L), each image's columns giving its map."""
    xp = get_array_module(col)
    (k, n, l), m = col.shape, taps.shape[0]
    y = cache.empty((n, m, l), col.dtype, like=col)
    if not _one_product(n, l, col):   # one image, or large maps: straight into y
        for i in range(n):
            xp.matmul(taps, col[:, i], out=y[i])
        return y
    y[...] = (taps @ col.reshape(k, n * l)).reshape(m, n, l).transpose(1, 0, 2)
    return y


def _multiply_back(taps_t, gy):
    """col (k, n, L) = taps_t (k, m) @ gy (n, m, L), the images side by side."""
    xp = get_array_module(gy)
    n, _, l = gy.shape
    if _one_product(n, l, gy):
        return (taps_t @ _batch_columns(gy)).reshape(taps_t.shape[0], n, l)
    col = cache.empty((taps_t.shape[0], n, l), gy.dtype, like=gy)
    for i in range(n):
        xp.matmul(taps_t, gy[i], out=col[:, i])
    return col


def _unfold(x, kh, kw, stride, padding, dilation, ones=False):
    """x (n, c, h, w) -> col (c*kh*kw, n, out_h*out_w), the images side by side, and (out_h,
    out_w). With ``ones``, col has one more row, all ones, at the bottom."""
    n, c, h, w = x.shape
    (sy, sx), (ph, pw), (dy, dx) = stride, padding, dilation
    if _plain_1x1(kh, kw, stride, padding) and not ones:
        return x.reshape(n, c, h * w).transpose(1, 0, 2), (h, w)  # 1x1: no unfolding, a view
    out_h, out_w = out_size(h, w, kh, kw, stride, padding, dilation)
    depth = c * kh * kw
    col = cache.empty((depth + ones, n, out_h * out_w), x.dtype, like=x)
    # the first depth rows, seen as im2col's (n, c, kh, kw, out_h, out_w): a view, filled in place
    im2col(x, kh, kw, sy, sx, ph, pw, dy, dx,
           out=col[:depth].reshape(c, kh, kw, n, out_h, out_w).transpose(3, 0, 1, 2, 4, 5))
    if ones:
        col[depth] = 1
    return col, (out_h, out_w)


def _plain_1x1(kh, kw, stride, padding):
    """Whether the convolution is 1x1, stride 1, unpadded: its ``col`` is the image itself."""
    return kh == kw == 1 and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)


# An im2col product this shallow (``c*kh*kw``: 27 for RGB input) runs far from the BLAS peak,
# so a pass over its output costs nearly as much as the product: VGG's conv1_1 at 224
# (64 x 27 @ 27 x 50176, 1.9-2.0 ms) took 0.25 ms more to add the bias to y, and 0.5-0.8 ms to
# sum gy for the bias gradient. There the bias rides in the products instead, as one more row
# of ones under ``col``: ``y = [W | b] @ [col; 1]`` and ``[gW | gb] = gy @ [col; 1].T``. (On a
# deep product the forward would copy W to append b: fc6's is 411 MB.)
BIAS_ROW_MAX_DEPTH = 64
# A ``col`` no bigger than this is kept from the forward for the weight gradient rather than
# unfolded again (:func:`conv2d`'s ``keep``): conv1_1 at 224 (5.4 MB, 0.4 ms saved) and
# conv5_3 at 14x14 (3.6 MB, 0.5 ms); a big one is not worth its memory between the passes.
COL_KEEP_BYTES = 8 * 2**20


def _bias_in_product(c, kh, kw, stride, padding):
    """Whether an im2col convolution carries its bias in its products (``BIAS_ROW_MAX_DEPTH``):
    shallow, and unfolded anyway (a plain 1x1 convolution would need a copy of its input)."""
    return c * kh * kw <= BIAS_ROW_MAX_DEPTH and not _plain_1x1(kh, kw, stride, padding)


def _fold(col, c, kh, kw, out_hw, hw, stride, padding, dilation):
    """col (c*kh*kw, n, out_h*out_w), the images side by side -> image (n, c, h, w), adding
    overlapping taps."""
    n = col.shape[1]
    (sy, sx), (ph, pw), (dy, dx) = stride, padding, dilation
    if _plain_1x1(kh, kw, stride, padding):
        return col.transpose(1, 0, 2).reshape(n, c, *hw)
    col = col.reshape(c, kh, kw, n, *out_hw).transpose(3, 0, 1, 2, 4, 5)
    return col2im(col, hw[0], hw[1], sy, sx, ph, pw, dy, dx)


# The input gradient's product can be made the other way round, ``gy.T @ W``: one row per output
# pixel, holding its ``c*kh*kw`` taps, so that the fold adds whole rows of ``c`` channels (onto
# a channels-last image) instead of image rows ``out_w`` wide. On a small map with many
# channels that is far fewer, longer additions, and the product runs a little faster too
# (VGG's conv5_3, 512 -> 512 at 14x14: 6.55 ms against 7.27, faster in 134 of 150 alternated
# pairs; at 7x7 2.20 against 2.99; at 18x18 10.5 against 11.4). From about 22x22 it gains
# nothing (32x32: 32.5 against 28.5 ms), nor past the cache (fc6, a 26 MB col at 16x16: 339
# against 321 ms). So: at most this many output pixels, and the batch's ``col`` (one product:
# :func:`_grad_input_pixels_first`) within COL_CACHE_BYTES. conv5_3's shape on 8 images (29 MB)
# took 53.7 ms pixels first against 43.9, on 4 images 28.0 against 25.6 (medians of 5 rounds).
PIXELS_FIRST_MAX_PIXELS = 400


def _pixels_first(depth, out_hw, itemsize, on_gpu=False, n=1):
    """Whether an im2col input gradient of ``depth = c*kh*kw`` taps per pixel, ``n`` images,
    makes its ``col`` pixels first (``PIXELS_FIRST_MAX_PIXELS``; on the CPU: a GPU folds
    otherwise, not measured)."""
    pixels = out_hw[0] * out_hw[1]
    return (not on_gpu and pixels <= PIXELS_FIRST_MAX_PIXELS
            and n * depth * pixels * itemsize <= COL_CACHE_BYTES)


def _side_by_side(c, out_c, kh, kw, gy, stride, dilation):
    """Whether :func:`conv2d_grads` makes the input and the weight gradient side by side, one
    CPU core each (BLAS on one core), given two threads or more: both by im2col products on a
    small map (:func:`_pixels_first`), too small to keep two threads busy each. VGG's conv5_3,
    512 -> 512 at 14x14: both gradients 10.2-10.4 ms against 10.9-11.5, faster in 56 of 60
    alternated pairs; fc6's big products gain nothing (537-555 against 536-544 ms)."""
    out_hw, on_gpu = gy.shape[2:], device_of(gy) == "cuda"
    return (not on_gpu and num_threads() >= 2 and not phases.by_phases(kh, kw, stride, dilation)
            and not _use_shifts(c, out_c, kh, kw, out_hw, stride, gy.itemsize, n=len(gy))
            and not _use_shifts(c, out_c, kh, kw, out_hw, stride, gy.itemsize, transposed=True,
                                n=len(gy))
            and _pixels_first(c * kh * kw, out_hw, gy.itemsize, n=len(gy)))


def _grad_input_pixels_first(gy, W, hw, stride, padding, dilation):
    """conv2d_grad_input with ``col`` pixels first: ``gy.T @ W`` (n*out_h*out_w, c*kh*kw), one
    product for the batch, each tap's (n, out_h, out_w, c) block added onto padded channels-last
    images, whose inside is then turned back to (n, c, h, w)."""
    xp = get_array_module(gy)
    n, out_c, out_h, out_w = gy.shape
    _, c, kh, kw = W.shape
    (h, w), (sy, sx), (ph, pw), (dy, dx) = hw, stride, padding, dilation
    # padded rows and columns: the image's, or as far as the last tap reaches if that is further
    hp = max(h + 2 * ph, (kh - 1) * dy + (out_h - 1) * sy + 1)
    wp = max(w + 2 * pw, (kw - 1) * dx + (out_w - 1) * sx + 1)
    taps = W.reshape(out_c, c * kh * kw)
    # (n*out_h*out_w, out_c): for one image a transposed view, which BLAS reads as it is
    pixels = gy.transpose(0, 2, 3, 1).reshape(n * out_h * out_w, out_c)
    col = (pixels @ taps).reshape(n, out_h, out_w, c, kh, kw)
    img = xp.zeros((n, hp, wp, c), gy.dtype)
    # tap (i, j) of output (oy, ox) read the padded pixel (oy*sy + i*dy, ox*sx + j*dx)
    for i in range(kh):
        for j in range(kw):
            img[:, i * dy:i * dy + (out_h - 1) * sy + 1:sy,
                j * dx:j * dx + (out_w - 1) * sx + 1:sx] += col[..., i, j]
    gx = cache.empty((n, c, h, w), gy.dtype, like=gy)
    gx[...] = img[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)
    return gx


# A weight gradient summed over at least this many columns of one product (one image's pixels,
# or the batch's where small maps share a product: conv1_1's 224x224 is 50176) is split by
# columns among the CPU's threads (see _grad_weight_product).
SPLIT_COLS = 16384


def _grad_weight_product(pairs, out):
    """``out`` (m, k) = the sum of ``gy @ col.T`` over ``pairs`` of gy (m, l), col (k, l) (from
    :func:`_pairs`); when ``l >= SPLIT_COLS`` on the CPU, each thread sums its own columns
    (BLAS on one core), then the threads' sums are added in a fixed order (the same result on
    every run). One product of depth ``l`` on OpenBLAS's two threads runs far below its peak
    when ``m`` and ``k`` are small (conv1_1 at 224: 64 x 27, depth 50176: 2.8 ms, against 2.0
    split this way). Each thread makes its sum transposed, ``col @ gy.T`` (k, m), the form
    OpenBLAS runs faster when ``col`` is shallow (conv1_1's 64 x 28: 2.09-2.15 ms against
    2.32-2.40, faster in 95-97 % of 300 alternated pairs; 577 deep, the same), and the sums are
    added through their transposes into ``out``."""
    xp = get_array_module(out)
    l = pairs[0][1].shape[1]
    if l < SPLIT_COLS or device_of(out) == "cuda":
        xp.matmul(pairs[0][0], pairs[0][1].T, out=out)
        for gy, col in pairs[1:]:
            out += gy @ col.T
        return out

    def multiply(cols):   # one thread's columns of every pair, summed: (k, m)
        c0, c1 = cols
        part = pairs[0][1][:, c0:c1] @ pairs[0][0][:, c0:c1].T
        for gy, col in pairs[1:]:
            part += col[:, c0:c1] @ gy[:, c0:c1].T
        return part

    parts = products_on_cores(multiply, row_groups(l, num_threads()), out)
    xp.copyto(out, parts[0].T)
    for part in parts[1:]:
        out += part.T
    return out


def _grad_input_by_phases(gy, W, hw, stride, padding):
    """conv2d_grad_input for an overlapping strided kernel: one stride-1 convolution of ``gy``
    giving the ``s*t`` phases as channels, interleaved (depth to space), the padding cut."""
    xp = get_array_module(gy)
    n = gy.shape[0]
    (s, t), (ph, pw), (h, w), c = stride, padding, hw, W.shape[1]
    K = phases.kernel(W, stride)
    A, B = K.shape[2:]
    z = conv2d(gy, K, None, (1, 1), (A - 1, B - 1))                 # (n, s*t*c, q, r)
    full = phases.depth_to_space(z, s, t)      # (n, c, q*s, r*t), before the padding is cut
    # rows and columns of gx that the phases reach, on each axis on its own
    q, r = z.shape[2:]
    reach_h, reach_w = min(h, q * s - ph), min(w, r * t - pw)
    if (reach_h, reach_w) == (h, w):
        return full[:, :, ph:ph + h, pw:pw + w]
    # Past the kernel's last tap (a transposed convolution's output_padding, or the rows a
    # strided convolution's windows never reach, such as the last of 9 rows with kernel 3,
    # stride 3, padding 1): those rows and columns get nothing. One axis can fall short while
    # the other reaches past the image.
    gx = xp.zeros((n, c, h, w), dtype=gy.dtype)
    gx[:, :, :reach_h, :reach_w] = full[:, :, ph:ph + reach_h, pw:pw + reach_w]
    return gx


def _conv2d_by_phases(x, W, out_hw, stride, padding, z=None):
    """conv2d for an overlapping strided kernel, the adjoint of :func:`_grad_input_by_phases`:
    split the padded image into its ``s*t`` phases as channels (space to depth; ``z``, when
    made already), and run the stride-1 transposed convolution of those channels with the
    phase kernel."""
    K = phases.kernel(W, stride)
    A, B = K.shape[2:]
    if z is None:
        z = phases.space_to_depth(x, out_hw, W.shape[2], W.shape[3], stride, padding)
    return conv2d_grad_input(z, K, out_hw, (1, 1), (A - 1, B - 1))


def _grad_weight_by_phases(z, gy, kh, kw, stride):
    """conv2d_grad_weight for an overlapping strided kernel, from the phases ``z`` of x: y is
    the stride-1 transposed convolution of z with the phase kernel K (pad A - 1), so gK is the
    weight gradient of the stride-1 convolution of gy-shaped maps to z's, with z as its gy."""
    A, B = -(-kh // stride[0]), -(-kw // stride[1])
    gK = conv2d_grad_weight(gy, z, A, B, (1, 1), (A - 1, B - 1))
    return phases.kernel_grad(gK, kh, kw, stride)


# FCN pads conv1_1 by 100 (so that any input survives the five poolings: models/fcn.py). The
# outputs whose windows lie wholly in that padding see only zeros: they are the bias, and
# neither gradient gets anything from them. At the main job's 160x160 they are four fifths of
# conv1_1's 358x358 outputs. So a stride-1 convolution padded beyond its kernel's reach
# (``p > (k - 1)*d``) computes only the outputs whose windows touch the image (a convolution
# padded by ``(k - 1)*d``), placed inside an output filled with the bias, and its gradients read
# only those outputs' ``gy``: when they are at most this fraction of the outputs. Else the
# copies in and out of the ring cost what the products save. FCN's conv1_1 (3 -> 64, one image),
# forward and weight and bias gradients, medians of 11 alternated rounds, whole / inner: at
# 160x160 (inner 162x162 of 358x358, 0.20) 12.2 / 9.6 ms; at 224x224 (0.29) even, 19.2 / 18.9;
# at 320x320 (0.39) 29.8 / 35.0 in one run of 5 rounds. The main job's (8 images, 3 -> 4 at
# 160x160): 19.0 / 7.9 ms. The same on a GPU (not measured there).
INNER_MAX_FRACTION = 1 / 4


def _inner(hw, kh, kw, stride, padding, dilation):
    """For a stride-1 convolution of an (h, w) image padded beyond its kernel's reach: the
    padding ``(k - 1)*d`` of the convolution of its inner outputs, and the width of the ring of
    outputs around them that see only padding, ``((py, px), (my, mx))``; None when there is no
    ring or it is too thin to pay (``INNER_MAX_FRACTION``)."""
    if tuple(stride) != (1, 1):
        return None
    reach = ((kh - 1) * dilation[0], (kw - 1) * dilation[1])
    pad = (min(padding[0], reach[0]), min(padding[1], reach[1]))
    if tuple(pad) == tuple(padding):
        return None
    (oh, ow), (ih, iw) = (out_size(*hw, kh, kw, stride, p, dilation) for p in (padding, pad))
    if ih * iw > INNER_MAX_FRACTION * oh * ow:
        return None
    return pad, (padding[0] - pad[0], padding[1] - pad[1])


def _ring_cut(gy, ring):
    """gy (n, c, out_h, out_w) without its outer ring ``(my, mx)``: a view."""
    (my, mx), (oh, ow) = ring, gy.shape[2:]
    return gy[:, :, my:oh - my, mx:ow - mx]


def conv2d(x, W, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), keep=None):
    """y (n, out_c, out_h, out_w) = W (out_c, c, kh, kw) * x (n, c, h, w) + b (out_c,).

    ``keep``: a dict, given by a forward pass whose backward will follow; an unfolded ``col``
    small enough (``COL_KEEP_BYTES``) is left in it under ``"col"``, for
    :func:`conv2d_grads` to reuse."""
    xp = get_array_module(x)
    n, _, h, w = x.shape
    out_c, c, kh, kw = W.shape
    out_hw = out_size(h, w, kh, kw, stride, padding, dilation)
    inner = _inner((h, w), kh, kw, stride, padding, dilation)
    if inner:   # the outputs that see the image, inside a ring of bias
        pad, (my, mx) = inner
        y = cache.empty((n, out_c) + out_hw, x.dtype, like=x)
        fill_window(y, conv2d(x, W, b, stride, pad, dilation, keep), -my, -mx,
                    0 if b is None else b.reshape(1, out_c, 1, 1))
        return y
    m = _winograd_tile(c, out_c, kh, kw, out_hw, stride, padding, dilation, x)
    if m:
        return winograd.conv2d(x, W, b, padding, m=m)
    if _use_shifts(c, out_c, kh, kw, out_hw, stride, x.itemsize, on_gpu=device_of(x) == "cuda",
                   n=n):
        return shifted.correlate(x, padding, W, out_hw, dilation, b)
    if phases.by_phases(kh, kw, stride, dilation):
        y = _conv2d_by_phases(x, W, out_hw, stride, padding)
        if b is not None:
            y += b.reshape(1, out_c, 1, 1)
        return y
    fused = b is not None and _bias_in_product(c, kh, kw, stride, padding)
    col, (out_h, out_w) = _unfold(x, kh, kw, stride, padding, dilation, ones=fused)
    taps = W.reshape(out_c, c * kh * kw)
    if fused:   # [W | b]: the row of ones under col adds b
        taps = xp.concatenate([taps, b.reshape(out_c, 1)], axis=1)
    y = _multiply(taps, col)  # (n, out_c, out_h*out_w)
    if keep is not None and col.nbytes <= COL_KEEP_BYTES and not _plain_1x1(kh, kw, stride, padding):
        keep["col"] = col
    del col
    if b is not None and not fused:
        y += b.reshape(1, out_c, 1)
    return y.reshape(n, out_c, out_h, out_w)


def conv2d_grad_input(gy, W, hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """gx (n, c, h, w) = col2im(W.T @ gy): the input gradient of conv2d (a transposed conv)."""
    n, out_c, out_h, out_w = gy.shape
    _, c, kh, kw = W.shape
    inner = _inner(hw, kh, kw, stride, padding, dilation)
    if inner:   # the ring of outputs that saw only padding gives x nothing
        return conv2d_grad_input(_ring_cut(gy, inner[1]), W, hw, stride, inner[0], dilation)
    m = _winograd_tile(c, out_c, kh, kw, hw, stride, padding, dilation, gy)
    if m:
        return winograd.grad_input(gy, W, padding, m=m)
    if _use_shifts(c, out_c, kh, kw, (out_h, out_w), stride, gy.itemsize, transposed=True,
                   on_gpu=device_of(gy) == "cuda", n=n):
        # the full correlation of gy with the flipped kernel, seen through the padding
        (ph, pw), (dy, dx) = padding, dilation
        flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (c, out_c, kh, kw)
        return shifted.correlate(gy, ((kh - 1) * dy - ph, (kw - 1) * dx - pw), flipped, hw, dilation)
    if phases.by_phases(kh, kw, stride, dilation):
        return _grad_input_by_phases(gy, W, hw, stride, padding)
    if _pixels_first(c * kh * kw, (out_h, out_w), gy.itemsize, on_gpu=device_of(gy) == "cuda",
                     n=n):
        return _grad_input_pixels_first(gy, W, hw, stride, padding, dilation)
    col = _multiply_back(W.reshape(out_c, c * kh * kw).T, gy.reshape(n, out_c, out_h * out_w))
    return _fold(col, c, kh, kw, (out_h, out_w), hw, stride, padding, dilation)


def conv2d_grad_weight(x, gy, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """gW (out_c, c, kh, kw) = sum over images of gy (out_c, L) @ col.T (L, c*kh*kw)."""
    return _grad_weight(x, gy, kh, kw, stride, padding, dilation)[0]


def _grad_weight(x, gy, kh, kw, stride, padding, dilation, bias=False, col=None):
    """(gW, gb) by the path the forward took; ``gb`` (out_c,) is made only where it rides in
    the product (``bias``, and :func:`_bias_in_product`), else None. ``col``: the forward's,
    when it kept it."""
    n, c = x.shape[:2]
    inner = _inner(x.shape[2:], kh, kw, stride, padding, dilation)
    if inner:   # the ring of outputs that saw only padding multiplied zeros
        gy = _ring_cut(gy, inner[1])
        return _grad_weight(x, gy, kh, kw, stride, inner[0], dilation, False, col)[0], None
    out_c, out_h, out_w = gy.shape[1:]
    m = _winograd_tile(c, out_c, kh, kw, (out_h, out_w), stride, padding, dilation, x)
    if m:
        return winograd.grad_weight(x, gy, padding, m=m), None
    if _use_shifts(c, out_c, kh, kw, (out_h, out_w), stride, x.itemsize,
                   on_gpu=device_of(x) == "cuda", n=n):
        return shifted.grad_weight(x, gy, kh, kw, padding, dilation), None
    if phases.by_phases(kh, kw, stride, dilation):
        z = phases.space_to_depth(x, (out_h, out_w), kh, kw, stride, padding)
        return _grad_weight_by_phases(z, gy, kh, kw, stride), None
    depth, cols = c * kh * kw, (n, out_h * out_w)
    if col is not None and col.shape in ((depth, *cols), (depth + 1, *cols)):
        fused = bias and col.shape[0] == depth + 1   # the forward's col, with its ones row or not
        col = col if fused else col[:depth]
    else:
        fused = bias and _bias_in_product(c, kh, kw, stride, padding)
        col, _ = _unfold(x, kh, kw, stride, padding, dilation, ones=fused)
    # into a cached block (fc6's is 411 MB: fresh, its pages cost more than its product)
    gW = cache.empty((out_c, depth + fused), x.dtype, like=x)
    gW = _grad_weight_product(_pairs(gy.reshape(n, out_c, -1), col), gW)
    if not fused:
        return gW.reshape(out_c, c, kh, kw), None
    xp = get_array_module(x)   # [gW | gb]: the row of ones summed gy
    return xp.ascontiguousarray(gW[:, :depth]).reshape(out_c, c, kh, kw), gW[:, depth].copy()


def conv2d_grads(x, gy, W, stride=(1, 1), padding=(0, 0), dilation=(1, 1), need_input=True,
                 need_weight=True, need_bias=False, kept=None):
    """(gx, gW, gb) of conv2d, each None when not needed. The same as :func:`conv2d_grad_input`,
    :func:`conv2d_grad_weight` and :func:`conv2d_grad_bias`, except that a Winograd convolution
    makes gx and gW at once, sharing the transform of gy that both read (:func:`.winograd.grads`;
    VGG's conv2_1: 17 ms against 22), a shallow im2col one makes gb in gW's product
    (``BIAS_ROW_MAX_DEPTH``), ``kept``, the forward's ``col`` (:func:`conv2d`'s ``keep``),
    spares unfolding x again, and on a small map the two gradients run side by side, one CPU
    core each (:func:`_side_by_side`)."""
    out_c, c, kh, kw = W.shape
    m = _winograd_tile(c, out_c, kh, kw, x.shape[2:], stride, padding, dilation, x)
    gx = gW = gb = None
    if m and need_input and need_weight:
        gx, gW = winograd.grads(x, gy, W, padding, m=m)
    elif need_input and need_weight and _side_by_side(c, out_c, kh, kw, gy, stride, dilation):
        gx, (gW, gb) = products_on_cores(lambda task: task(), [
            lambda: conv2d_grad_input(gy, W, x.shape[2:], stride, padding, dilation),
            lambda: _grad_weight(x, gy, kh, kw, stride, padding, dilation, need_bias, kept)], x)
    else:
        if need_input:
            gx = conv2d_grad_input(gy, W, x.shape[2:], stride, padding, dilation)
        if need_weight:
            gW, gb = _grad_weight(x, gy, kh, kw, stride, padding, dilation, need_bias, kept)
    if need_bias and gb is None:
        gb = conv2d_grad_bias(gy)
    return gx, gW, gb


def conv2d_grad_bias(gy):
    """gb (out_c,) = gy (n, out_c, out_h, out_w) summed over the batch and the image (also the
    bias gradient of a transposed convolution). On the CPU, in blocks of channels on the
    threads (FCN's 64x698x698: 18 -> 9 ms)."""
    parts = map_blocks(lambda b: channel_sum(gy[:, b]), channel_blocks(gy), gy)
    return parts[0] if len(parts) == 1 else get_array_module(gy).concatenate(parts)


def conv_transpose2d(x, W, b=None, out_hw=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """y (n, out_c, out_h, out_w) = the transpose of conv2d(., W) applied to x (n, in_c, h, w).

    ``W`` is (in_c, out_c, kh, kw): read as a convolution from out_c to in_c channels, this is
    exactly that convolution's input gradient. ``out_hw``: the output size, by default
    ``((h - 1)*sy - 2*ph + dy*(kh - 1) + 1, ...)``; up to ``sy - 1`` (``sx - 1``) more rows
    (columns) is PyTorch's ``output_padding``, or up to ``dy - 1`` where the dilation is larger
    (:func:`_past_stride`).

    >>> import numpy as np
    >>> conv_transpose2d(np.ones((1, 4, 3, 3)), np.ones((4, 2, 4, 4)), stride=(2, 2), padding=(1, 1)).shape
    (1, 2, 6, 6)
    >>> conv_transpose2d(np.ones((1, 4, 3, 3)), np.ones((4, 2, 3, 3)), dilation=(2, 2)).shape
    (1, 2, 7, 7)
    """
    if out_hw is None:
        (h, w), (kh, kw), (dy, dx) = x.shape[2:], W.shape[2:], dilation
        out_hw = ((h - 1) * stride[0] - 2 * padding[0] + dy * (kh - 1) + 1,
                  (w - 1) * stride[1] - 2 * padding[1] + dx * (kw - 1) + 1)
    full = _past_stride(x.shape[2:], out_hw, W.shape[2:], stride, padding, dilation)
    if full:   # unpadded into the full map, then the output's window of it
        (ph, pw), (oh, ow) = padding, out_hw
        y = pad2d(conv2d_grad_input(x, W, full, stride, (0, 0), dilation),
                  -ph, oh + ph - full[0], -pw, ow + pw - full[1])
    else:
        y = conv2d_grad_input(x, W, out_hw, stride, padding, dilation)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


# PyTorch lets a transposed convolution's output_padding reach up to its dilation, where that
# is larger than the stride (stride 1, dilation 2, output_padding 1: one more row). The output
# then has more rows than any stride-s convolution maps back onto the input's: the convolution
# of its gradient would be a row longer than x, and the kernels above take gy and x to be such a
# pair. Such a transposed convolution runs unpadded instead, into the full map every tap
# reaches, of which the output is a window (hanging past the full map's end, there zero): the
# crop of pad2d, whose adjoint, for the gradients, pads gy out to the full map.
def _past_stride(hw, out_hw, k, stride, padding, dilation):
    """The full unpadded size ``((h - 1)*sy + dy*(kh - 1) + 1, ...)`` of a transposed
    convolution of an (h, w) input with kernel ``k = (kh, kw)`` whose output ``out_hw`` is
    longer than its stride allows (see above); None for every other (every undilated one)."""
    if tuple(dilation) == (1, 1) or out_size(*out_hw, *k, stride, padding, dilation) == tuple(hw):
        return None
    return tuple((n - 1) * s + d * (kn - 1) + 1 for n, kn, s, d in zip(hw, k, stride, dilation))


def conv_transpose2d_grads(x, gy, W, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                           need_input=True, need_weight=True):
    """(gx, gW) of :func:`conv_transpose2d`, each None when not needed: the same as
    :func:`conv_transpose2d_grad_input` and :func:`conv_transpose2d_grad_weight`, except that
    by phases (:func:`.phases.by_phases`) both read the same phases of ``gy``
    (:func:`.phases.space_to_depth`), made once (upscore_pool4 of FCN-8s at 500x500: 38 us of
    its 1.1 ms saved)."""
    kh, kw = W.shape[2:]
    full = _past_stride(x.shape[2:], gy.shape[2:], (kh, kw), stride, padding, dilation)
    if full:   # gy padded out to the unpadded full map (the adjoint of the forward's window)
        (ph, pw), (oh, ow) = padding, gy.shape[2:]
        gy, padding = pad2d(gy, ph, full[0] - ph - oh, pw, full[1] - pw - ow), (0, 0)
    if not (need_input and need_weight and phases.by_phases(kh, kw, stride, dilation)):
        return (conv_transpose2d_grad_input(gy, W, stride, padding, dilation) if need_input else None,
                conv_transpose2d_grad_weight(x, gy, kh, kw, stride, padding, dilation)
                if need_weight else None)
    # gy is read as the input of the stride-s convolution whose output has x's size
    z = phases.space_to_depth(gy, x.shape[2:], kh, kw, stride, padding)
    return (_conv2d_by_phases(gy, W, x.shape[2:], stride, padding, z=z),   # conv2d(gy, W)
            _grad_weight_by_phases(z, x, kh, kw, stride))       # conv2d_grad_weight(gy, x)


def conv_transpose2d_grad_input(gy, W, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """gx (n, in_c, h, w) = conv2d(gy, W): the adjoint of the adjoint is the convolution."""
    return conv2d(gy, W, None, stride, padding, dilation)


def conv_transpose2d_grad_weight(x, gy, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """gW (in_c, out_c, kh, kw): conv2d's weight gradient with the roles of x and gy swapped."""
    return conv2d_grad_weight(gy, x, kh, kw, stride, padding, dilation)


def out_size(h, w, kh, kw, stride, padding, dilation=(1, 1)):
    """(out_h, out_w) of a convolution."""
    return (conv_out_size(h, kh, stride[0], padding[0], dilation[0]),
            conv_out_size(w, kw, stride[1], padding[1], dilation[1]))


# --------------------------------------------------------------------- grouped convolutions
# groups > 1 (PyTorch's ``groups=``): the channels split into ``groups`` equal parts, and part i
# of the output sees only part i of the input. Each part is an ordinary convolution, so these
# loop over the groups and call the kernels above on channel slices: every path (im2col,
# shifts, Winograd, phases) and every gradient is reused as it is, and groups=1 never comes
# here, so FCN and SegNet pay nothing for it. A depthwise convolution (groups = channels, as
# MobileNet's) would be one tiny convolution per channel, a long Python loop: it has its own
# kernel instead, a sum over the taps of shifted slices (:mod:`.depthwise`).
def _group(a, i, size, axis):
    """Part ``i`` (of ``size`` channels) of ``a`` along ``axis``, contiguous for the kernels."""
    xp = get_array_module(a)
    index = [slice(None)] * a.ndim
    index[axis] = slice(i * size, (i + 1) * size)
    return xp.ascontiguousarray(a[tuple(index)])


def _joined(parts, axis):
    """The parts of each group, side by side along ``axis``; None if none were made."""
    if parts[0] is None:
        return None
    return get_array_module(parts[0]).concatenate(parts, axis=axis)


def grouped_conv2d(x, W, b, groups, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """y (n, out_c, out_h, out_w) of ``groups`` convolutions side by side: x (n, groups*c, h, w),
    W (out_c, c, kh, kw) with out_c = groups*og, b (out_c,). Group i maps input channels
    ``[i*c, (i+1)*c)`` onto output channels ``[i*og, (i+1)*og)``.

    >>> import numpy as np
    >>> grouped_conv2d(np.ones((1, 4, 3, 3)), np.ones((6, 2, 3, 3)), None, 2).shape
    (1, 6, 1, 1)
    """
    if groups == x.shape[1]:   # depthwise: one multiply-add a tap, not a loop over the channels
        return depthwise.depthwise_conv2d(x, W, b, stride, padding, dilation)
    c, og = W.shape[1], W.shape[0] // groups
    return _joined([conv2d(_group(x, i, c, 1), _group(W, i, og, 0),
                           None if b is None else _group(b, i, og, 0), stride, padding, dilation)
                    for i in range(groups)], axis=1)


def grouped_conv2d_grads(x, gy, W, groups, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                         need_input=True, need_weight=True, need_bias=False):
    """(gx, gW, gb) of :func:`grouped_conv2d`, each None when not needed: each group's
    :func:`conv2d_grads`, joined (gx along the channels, gW along its first axis)."""
    gb = conv2d_grad_bias(gy) if need_bias else None   # per output channel: no groups in it
    if groups == x.shape[1]:   # depthwise (see grouped_conv2d)
        return (*depthwise.depthwise_conv2d_grads(x, gy, W, stride, padding, dilation, need_input,
                                                  need_weight), gb)
    c, og = W.shape[1], W.shape[0] // groups
    grads = [conv2d_grads(_group(x, i, c, 1), _group(gy, i, og, 1), _group(W, i, og, 0), stride,
                          padding, dilation, need_input, need_weight, need_bias=False)
             for i in range(groups)]
    return _joined([g[0] for g in grads], axis=1), _joined([g[1] for g in grads], axis=0), gb


def grouped_conv_transpose2d(x, W, b, groups, out_hw=None, stride=(1, 1), padding=(0, 0),
                             dilation=(1, 1)):
    """y (n, groups*og, out_h, out_w) of ``groups`` transposed convolutions side by side:
    x (n, in_c, h, w), W (in_c, og, kh, kw) with in_c = groups*ic, b (groups*og,).

    >>> import numpy as np
    >>> grouped_conv_transpose2d(np.ones((1, 4, 2, 2)), np.ones((4, 3, 2, 2)), None, 2,
    ...                          stride=(2, 2)).shape
    (1, 6, 4, 4)
    """
    ic, og = W.shape[0] // groups, W.shape[1]
    return _joined([conv_transpose2d(_group(x, i, ic, 1), _group(W, i, ic, 0),
                                     None if b is None else _group(b, i, og, 0), out_hw, stride,
                                     padding, dilation)
                    for i in range(groups)], axis=1)


def grouped_conv_transpose2d_grads(x, gy, W, groups, stride=(1, 1), padding=(0, 0),
                                   dilation=(1, 1), need_input=True, need_weight=True):
    """(gx, gW) of :func:`grouped_conv_transpose2d`, each None when not needed."""
    ic, og = W.shape[0] // groups, W.shape[1]
    grads = [conv_transpose2d_grads(_group(x, i, ic, 1), _group(gy, i, og, 1), _group(W, i, ic, 0),
                                    stride, padding, dilation, need_input, need_weight)
             for i in range(groups)]
    return _joined([g[0] for g in grads], axis=1), _joined([g[1] for g in grads], axis=0)
