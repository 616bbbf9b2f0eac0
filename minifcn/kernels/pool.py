"""Max pooling that records where each maximum came from, and unpooling that puts values back.

Indices are PyTorch's: the flat position ``iy * w + ix`` of the winner inside its (n, c) plane
of the *unpadded* input. Pooling's backward pass is an unpooling scatter of ``gy`` to those
positions, and unpooling's backward pass is a gather from them: the two ops are each other's
adjoint (``<unpool(x), g> == <x, gather(g)>``).

>>> import numpy as np
>>> x = np.array([[[[1., 5., 2., 0.],
...                 [3., 4., 7., 1.]]]])
>>> y, idx = max_pool2d(x, (2, 2), (2, 2), (0, 0))
>>> y[0, 0], idx[0, 0]                  # maxima 5 at (0, 1) and 7 at (1, 2) -> flat 1 and 6
(array([[5., 7.]]), array([[1, 6]]))
>>> unpool_scatter(y, idx, (2, 4))[0, 0]
array([[0., 5., 0., 0.],
       [0., 0., 7., 0.]])
"""
from __future__ import annotations

import numpy as np

from ..backend import device_of, get_array_module
from ..im2col import conv_out_size, pad2d
from . import cache
from .threads import channel_blocks, map_blocks


# Pooling works block by block of whole channels, about this many input values each (2 MB of
# float32): a block's running maximum, winner and mask stay in cache through the kernel's taps,
# and the blocks run on every core. 1.5-2.3x faster than whole maps on one core (64x698x698:
# 152 -> 85 ms). Unpooling's scatter and gather take blocks of channels of one image, this
# many unpooled values each (1.3-1.7x).
BLOCK_VALUES = 2**19
# Pooling costs a few passes per value (a compare, a maximum and a tap number per tap), so its
# floor for a thread's share is a quarter of ``threads.MIN_BLOCK_VALUES``, below one block: any
# array of more than ``BLOCK_VALUES`` values is cut into blocks that run on every core (one
# alternated run: max pooling fwd+bwd of 256x56x56, 0.8 M values, took 2.0 ms in two blocks
# against 2.5 on one thread; of 256x28x28, 0.2 M, 0.55 ms on one thread against 0.65 in two).
POOL_WORK = 4
# Unpooling's scatter or gather is about one pass per unpooled value (zeros, then a quarter of
# them placed), so only maps of over ``2 * threads.MIN_BLOCK_VALUES`` unpooled values an image
# are shared out: alternated, nine rounds, scatter and gather of one image (ms, 4 / 1): 256 x
# 56 x 56 (0.8 M values) 1.17 / 0.75, 512 x 28 x 28 0.33 / 0.33, 64 x 224 x 224 (3.2 M, blocks
# either way) 3.1 / 3.0.
UNPOOL_WORK = 1


def max_pool2d(x, kernel, stride, padding, ceil_mode=False, indices=True):
    """x (n, c, h, w) -> (y, indices), both (n, c, out_h, out_w); indices int64.

    ``out = floor_or_ceil((h + 2p - k) / s) + 1``. One pass per kernel offset keeps a running
    maximum and which offset gave it; ties go to the first offset in row-major order. With
    ``indices=False`` (inference: no gradient, no unpooling) only the maximum is kept, one
    operation per offset instead of three, and ``indices`` is None.

    Two kinds of window escape the running maximum's rule and follow PyTorch's (see
    :func:`_pytorch_winners`): one whose pixels are all -inf (its first pixel inside the image
    wins, not a padding tap, which lies outside it), and one holding NaN (its last NaN wins).
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sy, sx), (ph, pw) = kernel, stride, padding
    out_h = conv_out_size(h, kh, sy, ph, ceil_mode=ceil_mode)
    out_w = conv_out_size(w, kw, sx, pw, ceil_mode=ceil_mode)
    # pad with -inf: bottom/right by as much as the last (ceil-mode) window reaches past the edge
    pad_b = max(ph, (out_h - 1) * sy + kh - h - ph)
    pad_r = max(pw, (out_w - 1) * sx + kw - w - pw)
    img = x
    if ph or pw or pad_b or pad_r:
        img = pad2d(x, ph, pad_b, pw, pad_r, -xp.inf)
    taps = [(i, j) for i in range(kh) for j in range(kw)]
    y = cache.empty((n, c, out_h, out_w), x.dtype, like=x)
    flat = cache.empty(y.shape, xp.int64, like=x) if indices else None
    # which tap won, as a small integer: a quarter of the traffic of int64
    arg_type = xp.int8 if len(taps) < 128 else xp.int32
    if indices:   # tap number -> flat position in the unpadded plane: window origin + tap offset
        origin = ((xp.arange(out_h) * sy - ph) * w).reshape(out_h, 1) + (xp.arange(out_w) * sx - pw)
        tap_offset = xp.asarray([i * w + j for i, j in taps], dtype=xp.int64)

    def pool_block(b):
        src, yb = img[:, b], y[:, b]
        arg = better = None
        for k, (i, j) in enumerate(taps):
            v = src[:, :, i:i + sy * (out_h - 1) + 1:sy, j:j + sx * (out_w - 1) + 1:sx]
            if k == 0:
                yb[...] = v
                if indices:
                    arg = xp.zeros(v.shape, dtype=arg_type)
                    better = xp.empty(v.shape, dtype=bool)
            elif not indices:
                xp.maximum(yb, v, out=yb)
            else:
                # in place, no masked copies (slow): strict > so ties keep the earlier tap, and
                # since k exceeds every earlier tap number, max(arg, k * better) sets arg = k
                # where v won
                xp.greater(v, yb, out=better)
                xp.maximum(yb, v, out=yb)
                xp.maximum(arg, better.astype(arg_type) * arg_type(k), out=arg)
        if indices:
            fb = flat[:, b]
            fb[...] = tap_offset[arg]
            fb += origin
            # a NaN or -inf maximum: rare; yb is in cache (on a GPU, one wait for the device a
            # call, as unpooling's range check makes)
            if yb.size and not yb.min() > -xp.inf:
                _pytorch_winners(x[:, b], yb, fb, kernel, stride, padding)

    map_blocks(pool_block, channel_blocks(x, BLOCK_VALUES, work=POOL_WORK), x)
    return y, flat


def _pytorch_winners(x, y, flat, kernel, stride, padding):
    """Set ``flat`` where ``y`` is NaN or -inf by PyTorch's rule: ``val > max or isnan(val)``
    over the window's pixels inside the image, starting from its first one. So a window of
    -inf keeps its first pixel (the padding's -inf had won as tap 0: an index outside the
    window, negative or another pixel's, which sent the gradient astray), and a NaN window
    takes its last NaN (NaN compares false, so the running maximum had kept an earlier tap).
    Window by window, over those windows only."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sy, sx), (ph, pw) = kernel, stride, padding
    b, ch, oy, ox = xp.nonzero(~(y > -xp.inf))
    nan = xp.isnan(y[b, ch, oy, ox])
    pick = xp.full(b.shape, -1, dtype=xp.int64)
    for i in range(kh):
        for j in range(kw):
            iy, ix = oy * sy - ph + i, ox * sx - pw + j
            inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            v = x[b, ch, xp.clip(iy, 0, h - 1), xp.clip(ix, 0, w - 1)]
            take = inside & xp.where(nan, xp.isnan(v), pick < 0)
            pick = xp.where(take, iy * w + ix, pick)
    flat[b, ch, oy, ox] = pick


def _flat_positions(indices, size):
    """Flat positions of ``indices`` (..., h, w) in an array of planes of ``size`` values each
    (the whole (n, c, size) array, or a block of its planes): plane ``p``, the leading axes
    flattened, is offset by ``p * size``. One flat index per value: cheaper than 2-D fancy
    indexing."""
    xp = get_array_module(indices)
    per_plane = indices.reshape(-1, indices.shape[-2] * indices.shape[-1])
    return (per_plane + (xp.arange(per_plane.shape[0]) * size).reshape(-1, 1)).ravel()


def last_of_repeats(indices, out_hw):
    """A bool mask of ``indices``' shape: True where a position is the last of its repeats in its
    (n, c) plane, in row-major order (every position that does not repeat is True).

    Overlapping pools (kernel > stride) can pick the same input twice; unpooling then keeps the
    last value, as PyTorch's CPU loop does, and only that value has a gradient. A stable sort
    finds the repeats, the same on every backend (a scatter with repeats is undefined on CuPy).
    """
    xp = get_array_module(indices)
    flat = _flat_positions(indices, out_hw[0] * out_hw[1])
    order = xp.argsort(flat, kind="stable")
    ranked = flat[order]
    last = xp.ones(flat.size, dtype=bool)
    last[:-1] = ranked[:-1] != ranked[1:]
    keep = xp.empty(flat.size, dtype=bool)
    keep[order] = last
    return keep.reshape(indices.shape)


def _image_blocks(big):
    """(image k, channel slice) pairs for :func:`map_blocks` over the unpooled side ``big``
    (n, c, ...): about ``BLOCK_VALUES`` of its values each (4x the pooled ones for 2x2 windows);
    on a GPU the whole batch as one block. Inside one image a slice of channels of a contiguous
    array is contiguous, so its flat positions index it in place, and only its block of a
    strided input is ever copied."""
    if device_of(big) == "cuda":
        return [(slice(None), slice(None))]   # one launch per operation
    return [(k, cs) for k in range(big.shape[0])
            for cs in channel_blocks(big[k:k + 1], BLOCK_VALUES, work=UNPOOL_WORK)]


def unpool_scatter(x, indices, out_hw, accumulate=False, keep=None):
    """y (n, c, *out_hw): zeros, with ``x[n, c, i]`` placed at flat position ``indices[n, c, i]``.

    With ``accumulate=True`` repeated indices add up (the gradient of overlapping pools), done
    with ``bincount`` rather than an unbuffered scatter-add (``add.at``), which is slow. Else
    indices must not repeat, or ``keep`` (:func:`last_of_repeats`) says which value of each
    repeat to place (PyTorch's max_unpool2d). That case runs in blocks of channels on every core
    (64x698x698 from 349x349: 71-76 -> 48-53 ms; 64x360x480: 23 -> 15 ms).
    """
    xp = get_array_module(x)
    n, c = x.shape[:2]
    size = out_hw[0] * out_hw[1]
    if accumulate:
        flat = _flat_positions(indices, size)
        y = xp.bincount(flat, weights=x.ravel(), minlength=n * c * size)
        return y.astype(x.dtype, copy=False).reshape(n, c, *out_hw)
    y = cache.empty((n, c, size), x.dtype, like=x)

    def scatter_block(block):
        k, cs = block
        yb = y[k, cs]
        yb[...] = 0
        flat, v = _flat_positions(indices[k, cs], size), x[k, cs].ravel()
        if keep is not None:
            kb = keep[k, cs].ravel()
            flat, v = flat[kb], v[kb]
        yb.reshape(-1)[flat] = v

    map_blocks(scatter_block, _image_blocks(y), x)
    return y.reshape(n, c, *out_hw)


def unpool_gather(gy, indices, keep=None):
    """g (n, c, *indices.shape[2:]) = gy at the flat positions ``indices``: unpool's adjoint;
    zero where ``keep`` is False (a value that unpooling overwrote has no effect, so no gradient).
    ``take`` on flat positions (twice as fast as ``take_along_axis``), in blocks of channels on
    every core."""
    xp = get_array_module(gy)
    size = gy.shape[2] * gy.shape[3]
    g = cache.empty(indices.shape, gy.dtype, like=gy)
    # NumPy's take into ``out`` goes through a buffer in its default mode ("raise"), not in
    # "clip", which leaves valid positions as they are (F.max_unpool2d checks the range once):
    # 64 x 224 x 224, the take alone 2.85 -> 1.97 ms. CuPy's take has no mode (and no check).
    take_mode = {"mode": "clip"} if xp is np else {}

    def gather_block(block):
        k, cs = block
        # the block's planes of gy, copied (in cache) only where gy is a strided view
        flat = _flat_positions(indices[k, cs], size)
        xp.take(gy[k, cs].reshape(-1), flat, out=g[k, cs].reshape(-1), **take_mode)

    map_blocks(gather_block, _image_blocks(gy), gy)
    g = g.reshape(indices.shape)
    if keep is not None:
        g *= keep
    return g
