"""The unfolding operator of a convolution (im2col), its transpose (col2im), and the matrix itself.

A convolution is linear in its input, so it *is* a matrix ``T`` (a block-Toeplitz matrix when
stride is 1): ``conv2d(x).ravel() == T @ x.ravel()``. Nobody builds ``T`` for real images (it is
mostly zeros); instead ``im2col`` copies, for every output position, the input patch it sees into
one column, so that the convolution becomes one dense matrix product ``W @ col``. ``col2im`` is
the transpose of ``im2col``: it adds every column back onto the patch it came from. That is both
the input gradient of convolution and the forward pass of transposed convolution.

Output size along one axis (``k`` kernel, ``s`` stride, ``p`` padding, ``d`` dilation)::

    out = (size + 2p - d(k - 1) - 1) // s + 1

Neither kernel loops over pixels. With stride 1, ``col`` is one strided view of the padded
image, copied once (``_windows``); ``col2im`` adds one strided slice per kernel offset. With a
stride, the image is stored phase by phase (``_phase_shape``), and the ``sy`` consecutive taps
``a*sy .. a*sy + sy - 1`` read all ``sy`` phases at the same shift ``a``: without dilation they
are moved in blocks, ``ceil(kh/sy) * ceil(kw/sx)`` slices in all (``_tap_blocks``).
With stride 1 on a small map ("same" padding across, short rows), each offset is one shifted
slice of the flattened image, and the padding is written afterwards (``FLAT_MAX_WIDTH``).

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> col = im2col(x, 2, 2, sy=2, sx=2)        # 2x2 patches, stride 2
>>> col.shape                                  # (n, c, kh, kw, out_h, out_w)
(1, 1, 2, 2, 2, 2)
>>> col[0, 0, :, :, 0, 0]                      # the top-left patch
array([[0., 1.],
       [4., 5.]])
"""
from __future__ import annotations

import operator

import numpy as np

from .backend import device_of, get_array_module
from .kernels import cache
from .kernels.threads import channel_blocks, map_blocks


def conv_out_size(size: int, k: int, s: int, p: int, d: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling along one axis.

    ``floor((size + 2p - d(k-1) - 1) / s) + 1`` (``ceil`` with ``ceil_mode``, where, as in
    Caffe and PyTorch, the last window must start inside the input or its left padding).

    >>> conv_out_size(224, 3, 1, 1), conv_out_size(7, 2, 2, 0), conv_out_size(7, 2, 2, 0, ceil_mode=True)
    (224, 3, 4)
    """
    span = size + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + p:  # the last window would start in the right padding
            out -= 1
        return out
    return span // s + 1


def fill_window(out, img, y0, x0, value=0.0, fill="all"):
    """Fill ``out`` (..., rows, cols) with the window of ``img`` (..., h, w) whose top-left corner
    is at row ``y0``, column ``x0`` (either may be negative), and ``value`` where it falls off
    ``img`` (a number, or an array that broadcasts against ``out``: a bias per channel). The
    leading axes of the two match.

    ``fill`` says which of the ``value`` cells to write: ``"all"``; ``"rows"``, when the columns
    left and right of ``img`` hold ``value`` already (a reused buffer whose windows move only
    down); ``"none"``, when all of ``out`` does.

    >>> import numpy as np
    >>> out = np.empty((1, 4, 4))
    >>> fill_window(out, np.arange(1.0, 7.0).reshape(1, 2, 3), -1, 1)
    >>> out[0]
    array([[0., 0., 0., 0.],
           [2., 3., 0., 0.],
           [5., 6., 0., 0.],
           [0., 0., 0., 0.]])
    """
    h, w = img.shape[-2:]
    rows, cols = out.shape[-2:]
    s0, s1 = min(rows, max(0, -y0)), max(0, min(rows, h - y0))
    q0, q1 = min(cols, max(0, -x0)), max(0, min(cols, w - x0))
    if s0 >= s1 or q0 >= q1:
        if fill != "none":
            out[...] = value
        return
    strips = [] if fill == "none" else [out[..., :s0, :], out[..., s1:, :]]
    if fill == "all":
        strips += [out[..., s0:s1, :q0], out[..., s0:s1, q1:]]
    strips = [strip for strip in strips if strip.size]
    if len(strips) > 1 and device_of(out) == "cuda":
        # a GPU fills all of ``out`` in one launch (each costs more than the extra writes), where
        # the CPU writes only the strips, so as not to write the inside twice
        strips = [out]
    for strip in strips:
        strip[...] = value
    out[..., s0:s1, q0:q1] = img[..., y0 + s0:y0 + s1, x0 + q0:x0 + q1]


def pad2d(x, top: int, bottom: int, left: int, right: int, value: float = 0.0):
    """x (..., h, w) padded with ``value``: (..., top + h + bottom, left + w + right).

    NumPy's ``pad`` in constant mode does the same copy and border strips, but under CuPy its
    Python layers cost 100-150 us a call, more than the copies themselves on a GPU.

    >>> import numpy as np
    >>> pad2d(np.ones((1, 1, 1, 2)), 0, 1, 1, 0, value=-1.0)[0, 0]
    array([[-1.,  1.,  1.],
           [-1., -1., -1.]])
    """
    h, w = x.shape[-2:]
    out = cache.empty(x.shape[:-2] + (top + h + bottom, left + w + right), x.dtype, like=x)
    fill_window(out, x, -top, -left, value)
    return out


def im2col(x, kh: int, kw: int, sy: int = 1, sx: int = 1, ph: int = 0, pw: int = 0,
           dy: int = 1, dx: int = 1, out_h: int | None = None, out_w: int | None = None,
           pad_value: float = 0.0, out=None):
    """Unfold ``x`` (n, c, h, w) into columns (n, c, kh, kw, out_h, out_w).

    ``col[:, :, i, j, oy, ox] = x_padded[:, :, oy*sy + i*dy, ox*sx + j*dx]``. ``out_h``/``out_w``
    may be given larger than the floor formula (windows hanging over the bottom/right edge, as
    a ceil-mode pooling's); the padding then grows there with ``pad_value``. ``out``: an array of that shape to write into (a view
    of a bigger buffer: the convolutions put a row of ones under it) instead of a new one. The
    copies run in blocks of channels on the CPU's threads
    (:func:`~minifcn.kernels.threads.map_blocks`; VGG's conv3 at 56x56: 6.2 -> 3.8 ms), as do
    :func:`col2im`'s additions (11.0 -> 6.6 ms).

    >>> import numpy as np
    >>> im2col(np.ones((2, 3, 5, 5)), 3, 3, ph=1, pw=1).shape
    (2, 3, 3, 3, 5, 5)
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out_h = conv_out_size(h, kh, sy, ph, dy) if out_h is None else out_h
    out_w = conv_out_size(w, kw, sx, pw, dx) if out_w is None else out_w
    shape = (n, c, kh, kw, out_h, out_w)
    if out is not None and tuple(out.shape) != shape:
        raise ValueError(f"im2col: out has shape {tuple(out.shape)}, expected {shape}")
    col = cache.empty(shape, x.dtype, like=x) if out is None else out
    if ((sy, sx) == (1, 1) and out_w == w <= FLAT_MAX_WIDTH and _rows_contiguous(col)
            and device_of(x) != "cuda"):
        # stride 1, the output as wide as the short rows of the image: no padded image
        map_blocks(lambda b: _unfold_flat(x[:, b], col[:, b], dy, dx, ph, pw, pad_value),
                   channel_blocks(x, work=kh * kw), x)
        return col
    phases, (qh, qw) = _phase_shape(h + 2 * ph, w + 2 * pw, kh, kw, sy, sx, dy, dx, out_h, out_w)
    # pad, growing bottom/right to a whole number of strides (ceil-mode windows may need it too)
    extra_h, extra_w = qh * sy - h - 2 * ph, qw * sx - w - 2 * pw
    if ph or pw or extra_h or extra_w:
        img = pad2d(x, ph, ph + extra_h, pw, pw + extra_w, pad_value)
    else:
        img = x
    if phases:  # (n, c, sy, sx, qh, qw): every tap becomes a contiguous block (see _phase_shape)
        img = xp.ascontiguousarray(img.reshape(n, c, qh, sy, qw, sx).transpose(0, 1, 3, 5, 2, 4))

    def unfold(b):   # the channels b, every tap (the copies of each block on its own thread)
        if not phases:   # stride 1: every window at once, one copy
            col[:, b] = _windows(img[:, b], kh, kw, dy, dx, out_h, out_w)
        elif dy == dx == 1:
            for (a, ma), (t, mb) in _tap_blocks(kh, kw, sy, sx):  # taps a*sy .. a*sy+ma-1 read phases 0..ma-1
                col[:, b, a * sy:a * sy + ma, t * sx:t * sx + mb] = img[:, b, :ma, :mb, a:a + out_h, t:t + out_w]
        else:
            for i in range(kh):
                y0 = i * dy
                for j in range(kw):
                    x0 = j * dx
                    col[:, b, i, j] = img[:, b, y0 % sy, x0 % sx, y0 // sy:y0 // sy + out_h, x0 // sx:x0 // sx + out_w]

    map_blocks(unfold, channel_blocks(x, work=kh * kw), x)
    return col


# A stride-1 window whose output is as wide as the image unfolds by shifted slices of the
# flattened image (:func:`_unfold_flat`) when its rows are at most this long. There the window
# copies loop once per image row, a few values each: 3x3 windows of 512 x 14 x 14 took 0.15-0.20
# against 0.30-0.43 ms, of 512 x 7 x 7 0.10 against 0.21, of 128 x 28 x 28 0.16-0.21 against
# 0.26-0.31. On wider rows it gains nothing (256 x 22 x 22 the same, 256 x 32 x 32 0.97 against
# 0.89, 64 x 64 x 64 0.76 against 0.58) and can lose much: copying RGB's 224 x 224 planes
# shifted by one value (tap (1, 0)) took 274 against 17 us, each store landing 4 bytes before
# the next load modulo 4096 (4K aliasing: both planes start on a page boundary). On the CPU
# only: on a GPU its four operations a tap would be four kernel launches (not measured).
FLAT_MAX_WIDTH = 28


def _windows(img, kh, kw, dy, dx, out_h, out_w):
    """The view (n, c, kh, kw, out_h, out_w) of the padded image img (n, c, H, W) whose
    ``[:, :, i, j, oy, ox]`` is ``img[:, :, oy + i*dy, ox + j*dx]``: every stride-1 window at
    once, overlapping, no copy (``as_strided``). Copied into ``col`` it is one operation where
    a copy per tap made ``kh*kw``: on a GPU one kernel launch instead of 9 for a 3x3 kernel
    (49 for fc6); on the CPU fc6's 512 x 22 x 22, 7x7, 1.5 against 2.6 ms, RGB at 224 the same,
    64 x 112 x 112 (which the models unfold by other paths) 2.0 against 1.7-1.8."""
    xp = get_array_module(img)
    sn, sc, sh, sw = img.strides
    return xp.lib.stride_tricks.as_strided(img, shape=img.shape[:2] + (kh, kw, out_h, out_w),
                                           strides=(sn, sc, dy * sh, dx * sw, sh, sw))


def _rows_contiguous(col):
    """Whether each (out_h, out_w) plane of col (n, c, kh, kw, out_h, out_w) is one contiguous run
    of values, as :func:`_unfold_flat` writes it (``im2col``'s ``out`` may be any view)."""
    return col.strides[-1] == col.itemsize and col.strides[-2] == col.shape[-1] * col.itemsize


def _unfold_flat(x, col, dy, dx, ph, pw, value):
    """im2col of a stride-1 window whose output is as wide as ``x`` (``2*pw == (kw - 1)*dx``), into
    col (n, c, kh, kw, out_h, w), each plane contiguous.

    With the image flattened per channel (``h*w`` values), tap ``(i, j)`` of output ``(oy, ox)``
    reads ``x[oy + i*dy - ph, ox + j*dx - pw]``, flat position ``p + d`` for the output's own flat
    position ``p = oy*w + ox`` and ``d = (i*dy - ph)*w + j*dx - pw``: every tap is one shifted
    slice, copied whole (an inner loop ``out_h*w`` long, not ``w``: ``FLAT_MAX_WIDTH``). Then the
    padding: the outputs whose source lies before or past the flat image, and the columns whose
    window runs past the left or right edge (there the slice wrapped onto the row above or
    below), get ``value``."""
    n, c, h, w = x.shape
    kh, kw, out_h = col.shape[2], col.shape[3], col.shape[4]
    size, out_size = h * w, out_h * w
    flat = x.reshape(n, c, size)
    for i in range(kh):
        for j in range(kw):
            d = (i * dy - ph) * w + j * dx - pw
            plane = col[:, :, i, j]                     # (n, c, out_h, w)
            dst = plane.reshape(n, c, out_size)         # a view: the plane is contiguous
            a, b = min(max(0, -d), out_size), max(0, min(out_size, size - d))
            dst[..., a:b] = flat[..., a + d:b + d]
            dst[..., :a] = value
            dst[..., max(a, b):] = value
            left, right = pw - j * dx, j * dx - pw      # columns off the left, right edge
            if left > 0:
                plane[..., :left] = value
            if right > 0:
                plane[..., max(0, w - right):] = value


def _tap_blocks(kh, kw, sy, sx):
    """Kernel taps grouped by stride: ``((a, ma), (b, mb))`` for each block of taps
    ``i = a*sy + p`` (``p < ma``), ``j = b*sx + q`` (``q < mb``).

    Tap ``i = a*sy + p`` of output row ``oy`` reads padded row ``(oy + a)*sy + p``: row ``oy + a``
    of phase ``p``. So the taps of one block read *all* their phases at the same shift ``(a, b)``,
    and the col block ``col[:, :, a*sy:a*sy+ma, b*sx:b*sx+mb]`` (n, c, ma, mb, out_h, out_w) is one
    slice of the phase-major image (n, c, sy, sx, qh, qw). A 16x16 kernel at stride 8 (FCN's 16/8
    upsampling, were it unfolded: the library runs it by phases, :mod:`.kernels.phases`) has
    256 taps but only 2x2 blocks: 4 copies instead of 256.
    """
    rows = [(a, min(sy, kh - a * sy)) for a in range(-(-kh // sy))]
    cols = [(b, min(sx, kw - b * sx)) for b in range(-(-kw // sx))]
    return [(r, q) for r in rows for q in cols]


def _phase_shape(full_h, full_w, kh, kw, sy, sx, dy, dx, out_h, out_w):
    """Whether to work on the stride phases of the image, and their size (qh, qw).

    The rows a stride-``sy`` window grid reads at tap ``i`` are ``i*dy + sy*oy``: all in one
    phase, the rows ``r`` with ``r % sy == i*dy % sy``, which taken alone form a sub-image whose
    row ``r // sy`` is image row ``r``. Stored phase by phase, each tap is then a contiguous block
    instead of a stride-``sy`` sieve: large strides (a 16/8 or 64/32 kernel unfolded) stop
    touching a whole cache line per value. Stride 1 has a single phase: the image itself.
    """
    need_h = max(full_h, (out_h - 1) * sy + (kh - 1) * dy + 1)
    need_w = max(full_w, (out_w - 1) * sx + (kw - 1) * dx + 1)
    qh, qw = -(-need_h // sy), -(-need_w // sx)
    return (sy, sx) != (1, 1), (qh, qw)


def col2im(col, h: int, w: int, sy: int = 1, sx: int = 1, ph: int = 0, pw: int = 0,
           dy: int = 1, dx: int = 1):
    """Fold columns (n, c, kh, kw, out_h, out_w) back onto an image (n, c, h, w), adding overlaps.

    The exact transpose (adjoint) of :func:`im2col`: ``<im2col(x), col> == <x, col2im(col)>``.
    Values that fell on the padding are dropped.

    >>> import numpy as np
    >>> col2im(np.ones((1, 1, 3, 3, 2, 2)), 4, 4)[0, 0]   # how many windows cover each pixel
    array([[1., 2., 2., 1.],
           [2., 4., 4., 2.],
           [2., 4., 4., 2.],
           [1., 2., 2., 1.]])
    """
    n, c, kh, kw, out_h, out_w = col.shape
    phases, (qh, qw) = _phase_shape(h + 2 * ph, w + 2 * pw, kh, kw, sy, sx, dy, dx, out_h, out_w)
    if not phases:
        img = cache.zeros((n, c, qh, qw), col.dtype, like=col)

        def fold(b):   # the channels b, every tap (each block on its own thread)
            for i in range(kh):
                for j in range(kw):
                    img[:, b, i * dy:i * dy + out_h, j * dx:j * dx + out_w] += col[:, b, i, j]

        map_blocks(fold, channel_blocks(img, work=kh * kw), img)
        return img[:, :, ph:ph + h, pw:pw + w]
    # strided: add each tap into its phase as a contiguous block, then interleave the phases
    img = cache.zeros((n, c, sy, sx, qh, qw), col.dtype, like=col)

    def fold_phases(b):
        if dy == dx == 1:  # one add per block of taps (see _tap_blocks), not per tap
            for (a, ma), (t, mb) in _tap_blocks(kh, kw, sy, sx):
                img[:, b, :ma, :mb, a:a + out_h, t:t + out_w] += col[:, b, a * sy:a * sy + ma, t * sx:t * sx + mb]
            return
        for i in range(kh):
            y0 = i * dy
            for j in range(kw):
                x0 = j * dx
                img[:, b, y0 % sy, x0 % sx, y0 // sy:y0 // sy + out_h, x0 // sx:x0 // sx + out_w] += col[:, b, i, j]

    map_blocks(fold_phases, channel_blocks(img, work=kh * kw), img)
    img = img.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, qh * sy, qw * sx)
    return img[:, :, ph:ph + h, pw:pw + w]


def conv_matrix(weight, input_hw, stride=1, padding=0, dilation=1, sparse: bool = False):
    """The explicit matrix ``T`` of ``conv2d(., weight)`` on inputs of size ``input_hw``.

    Shape: ``(out_c * out_h * out_w, in_c * h * w)`` so that, for one image,
    ``conv2d(x, W).ravel() == T @ x.ravel()`` and ``conv_transpose2d(y, W).ravel() == T.T @ y.ravel()``
    (the transposed convolution's weight is the same array, read as ``(in_c, out_c, kh, kw)``
    with ``in_c`` = this convolution's ``out_c``; with a stride, give it the ``output_padding``
    that makes its output ``input_hw`` again, and no dilation, which it does not take).

    Built entry by entry from the definition: row ``(o, oy, ox)``, column ``(ci, iy, ix)`` holds
    ``W[o, ci, i, j]`` when ``iy = oy*sy - ph + i*dy`` and ``ix = ox*sx - pw + j*dx``. Dense by
    default (for lessons and tests: keep sizes small); ``sparse=True`` returns a SciPy CSR matrix.

    >>> import numpy as np
    >>> T = conv_matrix(np.array([[[[1.0, 2.0]]]]), (1, 3))    # 1x2 kernel on a 1x3 image
    >>> T
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    xp = get_array_module(weight)
    sy, sx = _pair(stride)
    ph, pw = _pair(padding)
    dy, dx = _pair(dilation)
    out_c, in_c, kh, kw = weight.shape
    h, w = input_hw
    out_h, out_w = conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx)
    o, ci, oy, ox = np.meshgrid(np.arange(out_c), np.arange(in_c), np.arange(out_h), np.arange(out_w),
                                indexing="ij")
    rows, cols, vals = [], [], []
    for i in range(kh):
        for j in range(kw):
            iy, ix = oy * sy - ph + i * dy, ox * sx - pw + j * dx
            inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)  # taps on padding hit zeros
            rows.append(((o * out_h + oy) * out_w + ox)[inside])
            cols.append(((ci * h + iy) * w + ix)[inside])
            vals.append(np.broadcast_to(np.arange(out_c * in_c).reshape(out_c, in_c, 1, 1),
                                        o.shape)[inside] * (kh * kw) + i * kw + j)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    vals = weight.reshape(-1)[xp.asarray(np.concatenate(vals))]  # flat index into W
    shape = (out_c * out_h * out_w, in_c * h * w)
    if sparse:
        try:
            import scipy.sparse
        except ImportError as e:
            raise ImportError("conv_matrix(sparse=True) needs scipy: pip install scipy") from e
        from .backend import to_numpy
        return scipy.sparse.csr_matrix((to_numpy(vals), (rows, cols)), shape=shape)
    T = xp.zeros(shape, dtype=weight.dtype)
    T[xp.asarray(rows), xp.asarray(cols)] = vals  # each (row, col) pair gets one tap at most
    return T


def _pair(v):
    """An int or a pair of ints as a pair of ints; anything else (a float, whose ``int`` would
    silently drop its fraction, a bool, a Tensor) raises TypeError naming it, and a sequence of
    another length ValueError."""
    pair = v if isinstance(v, (tuple, list)) else (v, v)
    if len(pair) != 2:
        raise ValueError(f"expected an int or a pair of ints, got {v!r}")
    if any(isinstance(p, (bool, np.bool_)) for p in pair):   # True is an int to Python: stride 1
        raise TypeError(f"expected an int or a pair of ints, got {v!r}")
    try:
        return operator.index(pair[0]), operator.index(pair[1])
    except TypeError:
        raise TypeError(f"expected an int or a pair of ints, got {v!r}") from None
