"""The unfolding operator of a 3-D convolution (im2col3d), its transpose (col2im3d), and the
matrix products that make conv3d, its gradients and conv_transpose3d out of them.

As in 2-D (:mod:`minifcn.im2col`), a volume (n, c, d, h, w) is unfolded into columns
(n, c, kd, kh, kw, out_d, out_h, out_w): column ``(oz, oy, ox)`` holds the window that output
sees, so a convolution is one matrix product ``W (out_c, c*kd*kh*kw) @ col``. ``col2im3d`` adds
every column back onto the window it came from: the transpose, which is both conv3d's input
gradient and conv_transpose3d's forward. Output size along each axis (``k`` kernel, ``s``
stride, ``p`` padding, ``d`` dilation), as in 2-D::

    out = (size + 2p - d(k - 1) - 1) // s + 1

Neither loops over voxels: one strided slice of the padded volume per kernel offset
``(a, i, j)``, ``kd*kh*kw`` of them, copied out (im2col3d) or added back (col2im3d). The 2-D
file's faster paths (phases, shifted rows, Winograd) are not repeated here: this is the plain
path, whose cost is the product.

>>> import numpy as np
>>> x = np.arange(8.0).reshape(1, 1, 2, 2, 2)
>>> col = im2col3d(x, (2, 2, 2))             # one 2x2x2 window: the whole cube
>>> col.shape                                 # (n, c, kd, kh, kw, out_d, out_h, out_w)
(1, 1, 2, 2, 2, 1, 1, 1)
>>> col[0, 0, :, :, :, 0, 0, 0].ravel()
array([0., 1., 2., 3., 4., 5., 6., 7.])
"""
from __future__ import annotations

from .backend import get_array_module
from .im2col import conv_out_size

ONES = (1, 1, 1)
ZEROS = (0, 0, 0)


def pad3d(x, before, after, value=0.0):
    """x (..., d, h, w) with ``before[i]`` and ``after[i]`` values of ``value`` around each of its
    last three axes.

    >>> import numpy as np
    >>> pad3d(np.ones((1, 1, 1)), (1, 0, 0), (0, 0, 1), value=-1.0)[:, 0]
    array([[-1., -1.],
           [ 1., -1.]])
    """
    xp = get_array_module(x)
    d, h, w = x.shape[-3:]
    shape = x.shape[:-3] + tuple(n + b + a for n, b, a in zip((d, h, w), before, after))
    out = xp.full(shape, value, dtype=x.dtype)
    out[..., before[0]:before[0] + d, before[1]:before[1] + h, before[2]:before[2] + w] = x
    return out


def _taps(kernel, dilation):
    """Every kernel offset ``(a, i, j)`` with where it starts in the padded volume."""
    (kd, kh, kw), (dz, dy, dx) = kernel, dilation
    return [((a, i, j), (a * dz, i * dy, j * dx)) for a in range(kd) for i in range(kh) for j in range(kw)]


def _window(start, stride, out):
    """The slice that a kernel offset starting at ``start`` reads for ``out`` strided outputs."""
    return slice(start, start + stride * (out - 1) + 1, stride)


def _reach(size, out, k, s, p, d):
    """The padded length an axis needs: its padding on both sides, or as far as the last window
    reaches (a transposed convolution's ``output_padding``, a ceil-mode window)."""
    return max(size + 2 * p, (out - 1) * s + d * (k - 1) + 1)


def im2col3d(x, kernel, stride=ONES, padding=ZEROS, dilation=ONES, out_size=None, pad_value=0.0):
    """Unfold ``x`` (n, c, d, h, w) into columns (n, c, kd, kh, kw, out_d, out_h, out_w).

    ``col[:, :, a, i, j, oz, oy, ox] = x_padded[:, :, oz*sz + a*dz, oy*sy + i*dy, ox*sx + j*dx]``,
    ``x_padded`` the volume with ``padding`` values of ``pad_value`` on both sides of each axis
    (and more after, where ``out_size`` asks for windows past it). Triples throughout.

    >>> import numpy as np
    >>> im2col3d(np.ones((2, 3, 4, 5, 6)), (3, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1)).shape
    (2, 3, 3, 3, 3, 4, 3, 3)
    """
    xp = get_array_module(x)
    n, c = x.shape[:2]
    sizes = x.shape[2:]
    if out_size is None:
        out_size = tuple(conv_out_size(*args) for args in zip(sizes, kernel, stride, padding, dilation))
    reach = [_reach(*args) for args in zip(sizes, out_size, kernel, stride, padding, dilation)]
    after = [r - size - p for r, size, p in zip(reach, sizes, padding)]
    img = pad3d(x, padding, after, pad_value) if any(padding) or any(after) else x
    col = xp.empty((n, c) + tuple(kernel) + tuple(out_size), dtype=x.dtype)
    for (a, i, j), starts in _taps(kernel, dilation):   # one strided copy per kernel offset
        col[:, :, a, i, j] = img[(slice(None), slice(None)) + tuple(
            _window(t, s, o) for t, s, o in zip(starts, stride, out_size))]
    return col


def col2im3d(col, size, stride=ONES, padding=ZEROS, dilation=ONES):
    """Fold columns (n, c, kd, kh, kw, out_d, out_h, out_w) back onto a volume (n, c, *size),
    adding overlaps: the transpose (adjoint) of :func:`im2col3d`,
    ``<im2col3d(x), col> == <x, col2im3d(col)>``. Values that fell on the padding are dropped.

    >>> import numpy as np
    >>> col2im3d(np.ones((1, 1, 2, 1, 1, 2, 1, 1)), (3, 1, 1))[0, 0, :, 0, 0]   # voxel 1 seen twice
    array([1., 2., 1.])
    """
    xp = get_array_module(col)
    n, c = col.shape[:2]
    kernel, out_size = col.shape[2:5], col.shape[5:]
    reach = [_reach(*args) for args in zip(size, out_size, kernel, stride, padding, dilation)]
    img = xp.zeros((n, c) + tuple(reach), dtype=col.dtype)
    for (a, i, j), starts in _taps(kernel, dilation):   # one strided add per kernel offset
        img[(slice(None), slice(None)) + tuple(
            _window(t, s, o) for t, s, o in zip(starts, stride, out_size))] += col[:, :, a, i, j]
    (pd, ph, pw), (d, h, w) = padding, size
    return xp.ascontiguousarray(img[:, :, pd:pd + d, ph:ph + h, pw:pw + w])


# --------------------------------------------------------------------- the products
# With groups, the channels split into g equal parts: col (n, c*K, L) is read as
# (n, g, c/g*K, L) and W (out_c, c/g*K) as (g, out_c/g, c/g*K), and one batched matmul makes
# every group's product at once (no loop over the groups).
def conv3d(x, W, b=None, stride=ONES, padding=ZEROS, dilation=ONES, groups=1, out_size=None):
    """y (n, out_c, out_d, out_h, out_w) = W (out_c, c/groups, kd, kh, kw) * x (n, c, d, h, w) + b.

    ``out_size``: the output's (out_d, out_h, out_w) when not the formula's, as the input
    gradient of a transposed convolution asks (an ``output_padding`` of a stride or more, which
    dilation allows, adds outputs that no input voxel reached).

    >>> import numpy as np
    >>> conv3d(np.ones((1, 1, 3, 3, 3)), np.ones((1, 1, 2, 2, 2)))[0, 0, 0]   # sums of 8 ones
    array([[8., 8.],
           [8., 8.]])
    """
    xp = get_array_module(x)
    n = x.shape[0]
    out_c, cg = W.shape[:2]
    kernel = W.shape[2:]
    col = im2col3d(x, kernel, stride, padding, dilation, out_size)
    out_size = col.shape[5:]
    k = cg * kernel[0] * kernel[1] * kernel[2]
    L = out_size[0] * out_size[1] * out_size[2]   # spelt out: -1 cannot be read off an empty batch
    cols = col.reshape(n, groups, k, L)                        # (n, g, c/g*K, L)
    y = xp.matmul(W.reshape(groups, out_c // groups, k), cols)  # (n, g, out_c/g, L)
    y = y.reshape((n, out_c) + out_size)
    if b is not None:
        y += b.reshape(1, out_c, 1, 1, 1)
    return y


def conv3d_grad_input(gy, W, size, stride=ONES, padding=ZEROS, dilation=ONES, groups=1):
    """gx (n, c, *size) = col2im3d(W.T @ gy): conv3d's input gradient, which is also
    conv_transpose3d's forward (of ``gy`` with the same weight)."""
    xp = get_array_module(gy)
    n, out_c = gy.shape[:2]
    cg = W.shape[1]
    kernel = W.shape[2:]
    k = cg * kernel[0] * kernel[1] * kernel[2]
    Wt = W.reshape(groups, out_c // groups, k).transpose(0, 2, 1)           # (g, c/g*K, out_c/g)
    L = gy.shape[2] * gy.shape[3] * gy.shape[4]
    col = xp.matmul(Wt, gy.reshape(n, groups, out_c // groups, L))      # (n, g, c/g*K, L)
    col = col.reshape((n, cg * groups) + tuple(kernel) + gy.shape[2:])
    return col2im3d(col, size, stride, padding, dilation)


def conv3d_grad_weight(x, gy, kernel, stride=ONES, padding=ZEROS, dilation=ONES, groups=1):
    """gW (out_c, c/groups, kd, kh, kw) = sum over the batch of gy (out_c, L) @ col.T (L, c*K)."""
    n, c = x.shape[:2]
    out_c = gy.shape[1]
    col = im2col3d(x, kernel, stride, padding, dilation, out_size=gy.shape[2:])
    k = c // groups * kernel[0] * kernel[1] * kernel[2]
    L = gy.shape[2] * gy.shape[3] * gy.shape[4]
    cols = col.reshape(n, groups, k, L)
    g = gy.reshape(n, groups, out_c // groups, L)
    gW = (g @ cols.transpose(0, 1, 3, 2)).sum(axis=0)                   # (g, out_c/g, c/g*K)
    return gW.reshape((out_c, c // groups) + tuple(kernel))
