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


def max_pool2d(x, kernel, stride, padding, ceil_mode=False, indices=True, dilation=(1, 1)):
    """x (n, c, h, w) -> (y, indices), both (n, c, out_h, out_w); indices int64.

    ``out = floor_or_ceil((h + 2p - d(k - 1) - 1) / s) + 1``. One pass per kernel offset keeps a
    running maximum and which offset gave it; ties go to the first offset in row-major order.
    Dilation ``d`` spaces the offsets ``d`` apart (tap ``(i, j)`` reads ``(i*dy, j*dx)`` from the
    window's corner): the same passes, so dilation 1 costs what it did. With ``indices=False``
    (inference: no gradient, no unpooling) only the maximum is kept, one operation per offset
    instead of three, and ``indices`` is None.

    Two kinds of window escape the running maximum's rule and follow PyTorch's (see
    :func:`_pytorch_winners`): one whose pixels are all -inf (its first pixel inside the image
    wins, not a padding tap, which lies outside it), and one holding NaN (its last NaN wins).

    >>> y, idx = max_pool2d(np.arange(6.0).reshape(1, 1, 1, 6), (1, 2), (1, 2), (0, 0),
    ...                     dilation=(1, 3))        # windows {0, 3} and {2, 5}
    >>> y[0, 0], idx[0, 0]
    (array([[3., 5.]]), array([[3, 5]]))
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sy, sx), (ph, pw), (dy, dx) = kernel, stride, padding, dilation
    out_h = conv_out_size(h, kh, sy, ph, dy, ceil_mode=ceil_mode)
    out_w = conv_out_size(w, kw, sx, pw, dx, ceil_mode=ceil_mode)
    # pad with -inf: bottom/right by as much as the last (ceil-mode) window reaches past the edge
    pad_b = max(ph, (out_h - 1) * sy + dy * (kh - 1) + 1 - h - ph)
    pad_r = max(pw, (out_w - 1) * sx + dx * (kw - 1) + 1 - w - pw)
    img = x
    if ph or pw or pad_b or pad_r:
        img = pad2d(x, ph, pad_b, pw, pad_r, -xp.inf)
    taps = [(i * dy, j * dx) for i in range(kh) for j in range(kw)]
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
                _pytorch_winners(x[:, b], yb, fb, kernel, stride, padding, dilation)

    map_blocks(pool_block, channel_blocks(x, BLOCK_VALUES, work=POOL_WORK), x)
    return y, flat


def _pytorch_winners(x, y, flat, kernel, stride, padding, dilation=(1, 1)):
    """Set ``flat`` where ``y`` is NaN or -inf by PyTorch's rule: ``val > max or isnan(val)``
    over the window's pixels inside the image, starting from its first one. So a window of
    -inf keeps its first pixel (the padding's -inf had won as tap 0: an index outside the
    window, negative or another pixel's, which sent the gradient astray), and a NaN window
    takes its last NaN (NaN compares false, so the running maximum had kept an earlier tap).
    Window by window, over those windows only."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sy, sx), (ph, pw), (dy, dx) = kernel, stride, padding, dilation
    b, ch, oy, ox = xp.nonzero(~(y > -xp.inf))
    nan = xp.isnan(y[b, ch, oy, ox])
    pick = xp.full(b.shape, -1, dtype=xp.int64)
    for i in range(kh):
        for j in range(kw):
            iy, ix = oy * sy - ph + i * dy, ox * sx - pw + j * dx
            inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            v = x[b, ch, xp.clip(iy, 0, h - 1), xp.clip(ix, 0, w - 1)]
            take = inside & xp.where(nan, xp.isnan(v), pick < 0)
            pick = xp.where(take, iy * w + ix, pick)
    flat[b, ch, oy, ox] = pick


def adaptive_bins(size, out):
    """PyTorch's adaptive pooling windows along one axis: ``[floor(i * size / out),
    ceil((i + 1) * size / out))`` for ``i < out``, as two NumPy int arrays (start, end).
    Neighbours share a value when ``out`` does not divide ``size``.

    >>> adaptive_bins(5, 3)                   # [0, 2), [1, 4), [3, 5)
    (array([0, 1, 3]), array([2, 4, 5]))
    """
    i = np.arange(out)
    return i * size // out, -(-(i + 1) * size // out)


def _max_over_bins(x, out):
    """Max and argmax of ``x`` (..., size) over its last axis' adaptive bins -> two (..., out)
    arrays, the maxima and their positions along that axis. One pass per offset into the
    widest bin; a narrower bin re-reads its last value, which changes nothing. PyTorch's rule:
    a value wins if greater than the maximum so far or NaN (so ties keep the first, NaN the
    last NaN, and a bin of -inf its first value)."""
    xp = get_array_module(x)
    start, end = adaptive_bins(x.shape[-1], out)
    best = x[..., xp.asarray(start)]
    arg = xp.broadcast_to(xp.asarray(start), best.shape)
    for t in range(1, int((end - start).max())):
        pos = xp.asarray(np.minimum(start + t, end - 1))
        v = x[..., pos]
        better = (v > best) | xp.isnan(v)
        best, arg = xp.where(better, v, best), xp.where(better, pos, arg)
    return best, arg


def adaptive_max_pool2d(x, out_hw):
    """x (n, c, h, w) -> (y, indices), both (n, c, *out_hw); indices int64, flat ``iy * w + ix``.

    Output ``(i, j)`` is the maximum over rows ``[floor(i h / oh), ceil((i + 1) h / oh))`` and
    the columns likewise, PyTorch's bins. Max is separable and so is its first winner: each
    row's maximum over every column bin (its first winning column), then the maximum of those
    over every row bin (the first row that holds it) is the first maximum in row-major order,
    as PyTorch's loop finds it (and its last NaN, and the first of a window of -inf).

    >>> x = np.array([[[[1., 5., 2.],
    ...                 [3., 4., 7.]]]])
    >>> y, idx = adaptive_max_pool2d(x, (1, 2))       # column bins [0, 2) and [1, 3)
    >>> y[0, 0], idx[0, 0]
    (array([[5., 7.]]), array([[1, 5]]))
    """
    xp = get_array_module(x)
    (out_h, out_w), w = out_hw, x.shape[3]
    rows, cols = _max_over_bins(x, out_w)                    # (n, c, h, out_w)
    y, r = _max_over_bins(rows.swapaxes(2, 3), out_h)        # (n, c, out_w, out_h)
    y, r = y.swapaxes(2, 3), r.swapaxes(2, 3)
    flat = r.astype(xp.int64) * w + xp.take_along_axis(cols, r, axis=2)
    return xp.ascontiguousarray(y), flat


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
    return last_of_repeats_flat(_flat_positions(indices, out_hw[0] * out_hw[1])).reshape(indices.shape)


def last_of_repeats_flat(flat):
    """True where a value of the 1-d ``flat`` is the last of its repeats (True where it does
    not repeat): a stable sort brings the repeats together in their order (also
    :func:`minifcn.indexing.scatter`'s rule)."""
    xp = get_array_module(flat)
    order = xp.argsort(flat, kind="stable")
    ranked = flat[order]
    last = xp.ones(flat.size, dtype=bool)
    last[:-1] = ranked[:-1] != ranked[1:]
    keep = xp.empty(flat.size, dtype=bool)
    keep[order] = last
    return keep


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


# --------------------------------------------------------------------- average pooling
def window_counts(size, k, s, p, out, count_include_pad=True):
    """How many values each of ``out`` windows along one axis averages, PyTorch's way (a NumPy
    int array): a window ``[o*s - p, o*s - p + k)`` clipped to the padded input ``[-p, size + p)``
    with ``count_include_pad`` (so a ceil-mode window hanging past the padding counts less than
    ``k``), else to the input ``[0, size)``. A rectangle's count is the product of its two axes'.

    >>> window_counts(5, 2, 2, 0, 3)               # ceil mode: the last window holds one pixel
    array([2, 2, 1])
    >>> window_counts(5, 3, 2, 1, 3), window_counts(5, 3, 2, 1, 3, count_include_pad=False)
    (array([3, 3, 3]), array([2, 3, 2]))
    """
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if not count_include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return end - start


def _avg_divisor(x_hw, out_hw, kernel, stride, padding, count_include_pad, divisor_override, like):
    """(out_h, out_w) divisors of the windows' sums, in ``like``'s dtype and on its device."""
    xp = get_array_module(like)
    if divisor_override is not None:
        return xp.full(out_hw, divisor_override, dtype=like.dtype)
    count_h, count_w = (window_counts(*args, count_include_pad)
                        for args in zip(x_hw, kernel, stride, padding, out_hw))
    return xp.asarray(np.outer(count_h, count_w), dtype=like.dtype)


def _avg_padding(x_hw, out_hw, kernel, stride, padding):
    """(bottom, right) zeros under and right of the input: the padding, or as far as the last
    (ceil-mode) window reaches past the edge."""
    return tuple(max(p, (o - 1) * s + k - n - p)
                 for n, o, k, s, p in zip(x_hw, out_hw, kernel, stride, padding))


def avg_pool2d(x, kernel, stride, padding, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """x (n, c, h, w) -> (n, c, out_h, out_w): each window's sum divided by its count.

    ``out = floor_or_ceil((h + 2p - k) / s) + 1``. The sum is one strided slice of the
    zero-padded input per kernel offset, added up; the divisor (:func:`window_counts`, or
    ``divisor_override``) is one number per output position, the same for every channel.

    >>> import numpy as np
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), (2, 2), (2, 2), (0, 0))[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    n, c, h, w = x.shape
    (kh, kw), (sy, sx), (ph, pw) = kernel, stride, padding
    out_h = conv_out_size(h, kh, sy, ph, ceil_mode=ceil_mode)
    out_w = conv_out_size(w, kw, sx, pw, ceil_mode=ceil_mode)
    pad_b, pad_r = _avg_padding((h, w), (out_h, out_w), kernel, stride, padding)
    img = pad2d(x, ph, pad_b, pw, pad_r) if ph or pw or pad_b or pad_r else x
    y = cache.zeros((n, c, out_h, out_w), x.dtype, like=x)
    for i in range(kh):
        for j in range(kw):
            y += img[:, :, i:i + sy * (out_h - 1) + 1:sy, j:j + sx * (out_w - 1) + 1:sx]
    y /= _avg_divisor((h, w), (out_h, out_w), kernel, stride, padding, count_include_pad,
                      divisor_override, x)
    return y


def avg_pool2d_backward(gy, x_hw, kernel, stride, padding, count_include_pad=True,
                        divisor_override=None):
    """gx (n, c, *x_hw): the transpose of :func:`avg_pool2d`, each ``gy / count`` spread evenly
    over its window, one strided slice added per kernel offset (overlapping windows add up)."""
    n, c, out_h, out_w = gy.shape
    (kh, kw), (sy, sx), (ph, pw) = kernel, stride, padding
    h, w = x_hw
    pad_b, pad_r = _avg_padding(x_hw, (out_h, out_w), kernel, stride, padding)
    g = gy / _avg_divisor(x_hw, (out_h, out_w), kernel, stride, padding, count_include_pad,
                          divisor_override, gy)
    gx = cache.zeros((n, c, ph + h + pad_b, pw + w + pad_r), gy.dtype, like=gy)
    for i in range(kh):
        for j in range(kw):
            gx[:, :, i:i + sy * (out_h - 1) + 1:sy, j:j + sx * (out_w - 1) + 1:sx] += g
    # the padding's share is dropped: the zeros there were constants
    return get_array_module(gy).ascontiguousarray(gx[:, :, ph:ph + h, pw:pw + w])


# --------------------------------------------------------------------- padding
# F.pad along one axis at a time, -1 (width) then -2 (height): every mode is separable, each
# corner being the padding of the padding. The backward of each step is its adjoint, a fold:
# every padded value's gradient is added back onto the input value it copied, one slice a side.
def _on_axis(axis, sl):
    """An index that applies the slice ``sl`` to ``axis`` (-1 or -2) and keeps the rest whole."""
    return (Ellipsis, sl) if axis == -1 else (Ellipsis, sl, slice(None))


def _flip(a, axis):
    return a[_on_axis(axis, slice(None, None, -1))]


def pad_axis(x, axis, before, after, mode):
    """x padded along ``axis`` (-1 or -2) with ``before`` and ``after`` (>= 0) values in ``mode``:
    ``"reflect"`` (the mirror image without the edge value, so each pad must be less than the
    size), ``"replicate"`` (the edge value repeated) or ``"circular"`` (the other end's values,
    so each pad is at most the size). (Constant padding is :func:`~minifcn.im2col.pad2d`'s.)

    >>> import numpy as np
    >>> x = np.arange(4.0).reshape(1, 4)
    >>> for mode in ("reflect", "replicate", "circular"):
    ...     print(pad_axis(x, -1, 2, 1, mode)[0])
    [2. 1. 0. 1. 2. 3. 2.]
    [0. 0. 0. 1. 2. 3. 3.]
    [2. 3. 0. 1. 2. 3. 0.]
    """
    size = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = before + size + after
    out = cache.empty(tuple(shape), x.dtype, like=x)
    out[_on_axis(axis, slice(before, before + size))] = x
    left = out[_on_axis(axis, slice(0, before))]
    right = out[_on_axis(axis, slice(before + size, before + size + after))]
    if mode == "reflect":       # x[before], ..., x[1] | x | x[size - 2], ..., x[size - 1 - after]
        left[...] = _flip(x[_on_axis(axis, slice(1, before + 1))], axis)
        right[...] = _flip(x[_on_axis(axis, slice(size - 1 - after, size - 1))], axis)
    elif mode == "replicate":   # broadcast: the edge's slice of width 1 fills the whole side
        left[...] = x[_on_axis(axis, slice(0, 1))]
        right[...] = x[_on_axis(axis, slice(size - 1, size))]
    else:                       # circular: x[size - before:] | x | x[:after]
        left[...] = x[_on_axis(axis, slice(size - before, size))]
        right[...] = x[_on_axis(axis, slice(0, after))]
    return out


def fold_axis(gy, axis, before, after, mode):
    """The adjoint of :func:`pad_axis`: the middle of ``gy`` plus, for every padded value, its
    gradient added onto the value it copied (a constant border has none: it is dropped)."""
    size = gy.shape[axis] - before - after
    g = gy[_on_axis(axis, slice(before, before + size))].copy()
    left = gy[_on_axis(axis, slice(0, before))]
    right = gy[_on_axis(axis, slice(before + size, before + size + after))]
    # each statement adds onto distinct positions; the two sides may overlap (a pad past half
    # the size), which is why they are two statements
    if mode == "reflect":
        g[_on_axis(axis, slice(1, before + 1))] += _flip(left, axis)
        g[_on_axis(axis, slice(size - 1 - after, size - 1))] += _flip(right, axis)
    elif mode == "replicate":
        if before:
            g[_on_axis(axis, slice(0, 1))] += left.sum(axis=axis, keepdims=True)
        if after:
            g[_on_axis(axis, slice(size - 1, size))] += right.sum(axis=axis, keepdims=True)
    elif mode == "circular":
        g[_on_axis(axis, slice(size - before, size))] += left
        g[_on_axis(axis, slice(0, after))] += right
    return g


def _pad_steps(pads, mode):
    """F.pad's two steps in the copying modes, in PyTorch's order: ``("crop", (top, bottom,
    left, right))`` for the negative amounts and ``("grow", ...)`` for the positive ones.
    Circular padding crops first (it wraps the cropped rows round); reflect and replicate grow
    first, as PyTorch's kernels read the whole input (a crop on the left, a mirror on the
    right: the mirror starts at the input's own edge)."""
    crop = tuple(max(-a, 0) for a in pads)
    grow = tuple(max(a, 0) for a in pads)
    steps = [("crop", crop), ("grow", grow)]
    return steps if mode == "circular" else steps[::-1]


def pad(x, pads, mode="constant", value=0.0):
    """x (n, c, h, w) -> (n, c, h + top + bottom, w + left + right), ``pads`` being
    (top, bottom, left, right); a negative amount crops that side.

    >>> import numpy as np
    >>> pad(np.arange(6.0).reshape(1, 1, 2, 3), (1, 0, -1, 2), "reflect")[0, 0]
    array([[4., 5., 4., 3.],
           [1., 2., 1., 0.],
           [4., 5., 4., 3.]])
    """
    xp = get_array_module(x)
    if mode == "constant":   # pad2d pads and crops at once (a negative amount crops)
        return pad2d(x, *pads, value)
    if not any(pads):   # a new array all the same, as every other case gives
        return x.copy()
    for step, (t, b, l, r) in _pad_steps(pads, mode):
        if not (t or b or l or r):
            continue
        if step == "crop":
            x = x[:, :, t:x.shape[2] - b, l:x.shape[3] - r]
        else:
            x = pad_axis(pad_axis(x, -1, l, r, mode), -2, t, b, mode)
    return xp.ascontiguousarray(x)


def pad_backward(gy, pads, mode):
    """gx: the adjoint of :func:`pad`, its steps' adjoints in reverse order: a crop's is a
    zero padding, a padding's is :func:`fold_axis` (constant: the middle alone)."""
    xp = get_array_module(gy)
    if mode == "constant":   # its adjoint: the same with every amount negated
        return pad2d(gy, *(-a for a in pads))
    for step, (t, b, l, r) in reversed(_pad_steps(pads, mode)):
        if not (t or b or l or r):
            continue
        if step == "crop":
            gy = pad2d(gy, t, b, l, r)
        else:
            gy = fold_axis(fold_axis(gy, -2, t, b, mode), -1, l, r, mode)
    return xp.ascontiguousarray(gy)
