"""Three-dimensional ops, PyTorch's ``F.conv3d`` to ``F.adaptive_avg_pool3d``: volumes
(n, c, d, h, w), for volumetric segmentation and video.

Unlike the 1-D ops (a signal is one row of an image, :mod:`minifcn.functional_1d`), a volume
is not an image: these run on their own unfolding, :mod:`minifcn.im2col3d`, one strided slice
per kernel offset. The pairs are built as in 2-D: conv3d's input gradient is conv_transpose3d's
forward and conv3d is conv_transpose3d's input gradient; max pooling's gradient is unpooling's
scatter and unpooling's a gather. The max-pooling indices are PyTorch's, the flat position
``(z * H + y) * W + x`` inside each (n, c) volume, so a volume read as one long row,
(n, c, 1, d*h*w), is unpooled by the 2-D scatter itself. A single volume (c, d, h, w),
without the batch, is taken wherever PyTorch takes one.

>>> import numpy as np
>>> from minifcn import functional as F
>>> F.conv3d(np.ones((1, 2, 5, 6, 7)), np.ones((4, 2, 3, 3, 3)), stride=2).shape
(1, 4, 2, 2, 3)
"""
from __future__ import annotations

import numbers

import numpy as np

from . import im2col3d as K3
from .autograd import Function, Tensor, as_tensor
from .backend import get_array_module
from .functional import (MaxUnpool2d, _check_float, _check_same_dtype, _check_windows_hold_pixels, _flag,
                         _same_padding, _wants_grad, check_count)
from .im2col import conv_out_size
from .kernels import pool as P

__all__ = ["conv3d", "conv_transpose3d", "max_pool3d", "max_unpool3d", "avg_pool3d", "adaptive_avg_pool3d"]

AXES = ("depth", "height", "width")


# --------------------------------------------------------------------- arguments
def _triple(op, name, v, minimum=1):
    """An int, or three ints (depth, height, width), each at least ``minimum``; anything else
    (a float, a bool, two values) refused naming it."""
    triple = tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)
    if len(triple) != 3 or any(isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral)
                               for t in triple):
        raise TypeError(f"{op}: {name} must be an int or a tuple of three ints, got {v!r}")
    if min(triple) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {v!r}")
    return tuple(int(t) for t in triple)


def _triple_or_one(op, name, v, minimum=1):
    """:func:`_triple`, also taking a 1-tuple or 1-list for all three axes, as PyTorch's 3-D
    convolutions and poolings take their sizes, functions and layers alike (conv3d's,
    Conv3d's, ConvTranspose3d's stride, padding, dilation and output_padding; a pooling's
    kernel_size too). A convolution layer's kernel_size and MaxUnpool3d's and max_unpool3d's
    sizes take no 1-tuple there: :func:`_triple` refuses it, naming the value."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = (v[0],) * 3
    return _triple(op, name, v, minimum)


def _as_volume(op, x):
    """x (n, c, d, h, w), or one volume (c, d, h, w), as (n, c, d, h, w); and whether it had a
    batch."""
    x = as_tensor(x)
    if x.ndim not in (4, 5):
        raise ValueError(f"{op}: input must be 5-D (n, c, d, h, w) or 4-D (c, d, h, w), got shape "
                         f"{tuple(x.shape)}")
    _check_float(op, x)
    return (x, True) if x.ndim == 5 else (x.reshape((1,) + tuple(x.shape)), False)


def _unbatched(y, batched):
    return y if batched else y.reshape(tuple(y.shape[1:]))


def _check_weight(op, weight, layout):
    weight = as_tensor(weight)
    if weight.ndim != 5:
        raise ValueError(f"{op}: weight must be 5-D {layout}, got shape {tuple(weight.shape)}")
    _check_float(op, weight, "weight")
    return weight


def _check_not_empty(op, x5, weight):
    if min(tuple(x5.shape[2:]) + tuple(weight.shape)) < 1:
        raise ValueError(f"{op}: input {tuple(x5.shape)} and weight {tuple(weight.shape)} must have at "
                         "least one value on each axis and one channel")


# --------------------------------------------------------------------- convolution
class Conv3d(Function):
    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, W, b=None):
        self.x, self.W, self.has_bias = x, W, b is not None
        return K3.conv3d(x, W, b, self.stride, self.padding, self.dilation, self.groups)

    def backward(self, gy):
        x, W, args = self.x, self.W, (self.stride, self.padding, self.dilation, self.groups)
        # each skipped when not wanted (frozen weights, an input that needs none)
        gx = K3.conv3d_grad_input(gy, W, x.shape[2:], *args) if _wants_grad(self, 0) else None
        gW = K3.conv3d_grad_weight(x, gy, W.shape[2:], *args) if _wants_grad(self, 1) else None
        if not self.has_bias:
            return gx, gW
        return gx, gW, gy.sum(axis=(0, 2, 3, 4))


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation), PyTorch's.

    Shapes: x (n, in_c, d, h, w) or (in_c, d, h, w), weight (out_c, in_c/groups, kd, kh, kw),
    bias (out_c,) -> (n, out_c, out_d, out_h, out_w) with, on each axis,
    ``out = (size + 2*p - dil*(k - 1) - 1) // s + 1``.

    Args:
        stride, padding, dilation: an int or a (depth, height, width) triple. ``padding`` may
            also be ``"valid"`` (0) or ``"same"`` (stride 1: the output is the input's size;
            an odd total of zeros puts the extra one after, as PyTorch's).
        groups: in_c and out_c split into that many parts, output part i made from input
            part i alone.

    >>> import numpy as np
    >>> conv3d(np.ones((1, 1, 3, 3, 3)), np.ones((1, 1, 3, 3, 3)), padding=1).numpy()[0, 0, 1]
    array([[12., 18., 12.],
           [18., 27., 18.],
           [12., 18., 12.]])
    >>> conv3d(np.ones((2, 4, 4, 4)), np.ones((6, 1, 2, 2, 2)), padding="same", groups=2).shape   # no batch
    (6, 4, 4, 4)
    """
    x5, batched = _as_volume("conv3d", x)
    weight = _check_weight("conv3d", weight, "(out_c, in_c/groups, kd, kh, kw)")
    bias = None if bias is None else as_tensor(bias)
    _check_same_dtype("conv3d", x5, weight, bias)
    stride = _triple_or_one("conv3d", "stride", stride)
    dilation = _triple_or_one("conv3d", "dilation", dilation)
    groups = check_count("conv3d", "groups", groups)
    c, sizes = x5.shape[1], tuple(x5.shape[2:])
    out_c, in_c = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    _check_not_empty("conv3d", x5, weight)
    if out_c % groups:
        raise ValueError(f"conv3d: weight {tuple(weight.shape)} has {out_c} output channels, not a "
                         f"multiple of groups={groups}")
    if c != in_c * groups:
        raise ValueError(f"conv3d: input has {c} channels but weight {tuple(weight.shape)} expects "
                         f"{in_c * groups}" + (f" ({in_c} per group, groups={groups})" if groups > 1 else ""))
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"conv3d: bias shape {tuple(bias.shape)} should be ({out_c},)")
    crop = None
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv3d: padding must be an int, a triple, 'valid' or 'same', got {padding!r}")
        if padding == "same" and stride != (1, 1, 1):   # PyTorch refuses it too
            raise ValueError(f"conv3d: padding='same' needs stride 1, got stride {stride}")
        if padding == "valid":
            padding = (0, 0, 0)
        else:
            # as conv2d's: both sides padded by the larger half (after), then the one extra
            # output at the start of each axis with an odd total dropped
            pads = _same_padding(kernel, dilation)
            padding = tuple(after for _, after in pads)
            crop = tuple(after - before for before, after in pads)
    else:
        padding = _triple_or_one("conv3d", "padding", padding, minimum=0)
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(s > n + 2 * p for s, n, p in zip(span, sizes, padding)):
        raise ValueError(f"conv3d: kernel {'x'.join(map(str, span))} (dilated) is larger than the padded "
                         f"input {'x'.join(str(n + 2 * p) for n, p in zip(sizes, padding))}")
    fn = Conv3d(stride, padding, dilation, groups)
    y = fn(x5, weight) if bias is None else fn(x5, weight, bias)
    if crop is not None and any(crop):
        y = y[:, :, crop[0]:, crop[1]:, crop[2]:]
    return _unbatched(y, batched)


class ConvTranspose3d(Function):
    def __init__(self, stride, padding, dilation, groups, out_size):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.out_size = out_size

    def forward(self, x, W, b=None):
        self.x, self.W, self.has_bias = x, W, b is not None
        # conv3d's input gradient, W read as conv3d's (out_c = our in_c, in_c/groups = our out_c/groups)
        y = K3.conv3d_grad_input(x, W, self.out_size, self.stride, self.padding, self.dilation, self.groups)
        if b is not None:
            y += b.reshape(1, -1, 1, 1, 1)
        return y

    def backward(self, gy):
        x, W, args = self.x, self.W, (self.stride, self.padding, self.dilation, self.groups)
        # the transpose's input gradient is conv3d itself; its weight gradient conv3d's with the
        # roles of image and upstream gradient swapped
        gx = K3.conv3d(gy, W, None, *args, out_size=x.shape[2:]) if _wants_grad(self, 0) else None
        gW = K3.conv3d_grad_weight(gy, x, W.shape[2:], *args) if _wants_grad(self, 1) else None
        if not self.has_bias:
            return gx, gW
        return gx, gW, gy.sum(axis=(0, 2, 3, 4))


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution, PyTorch's: the transpose (and the input gradient) of
    :func:`conv3d` with the same weight.

    Shapes: x (n, in_c, d, h, w) or (in_c, d, h, w), weight (in_c, out_c/groups, kd, kh, kw),
    bias (out_c,) -> (n, out_c, out_d, out_h, out_w) with, on each axis,
    ``out = (size - 1)*s - 2*p + dil*(k - 1) + output_padding + 1``; ``output_padding``
    smaller than the stride or the dilation, on each axis.

    >>> import numpy as np
    >>> y = conv_transpose3d(np.ones((1, 1, 2, 1, 1)), np.ones((1, 1, 3, 1, 1)), stride=2)
    >>> y.shape, y.numpy().ravel()                       # depth 2 is covered by both inputs
    ((1, 1, 5, 1, 1), array([1., 1., 2., 1., 1.]))
    """
    x5, batched = _as_volume("conv_transpose3d", x)
    weight = _check_weight("conv_transpose3d", weight, "(in_c, out_c/groups, kd, kh, kw)")
    bias = None if bias is None else as_tensor(bias)
    _check_same_dtype("conv_transpose3d", x5, weight, bias)
    stride = _triple_or_one("conv_transpose3d", "stride", stride)
    padding = _triple_or_one("conv_transpose3d", "padding", padding, minimum=0)
    output_padding = _triple_or_one("conv_transpose3d", "output_padding", output_padding, minimum=0)
    dilation = _triple_or_one("conv_transpose3d", "dilation", dilation)
    groups = check_count("conv_transpose3d", "groups", groups)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose3d: output_padding {output_padding} must be smaller than the "
                         f"stride {stride} or the dilation {dilation}, on each axis")
    c, sizes = x5.shape[1], tuple(x5.shape[2:])
    in_c, out_c = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    _check_not_empty("conv_transpose3d", x5, weight)
    if c != in_c:
        raise ValueError(f"conv_transpose3d: input has {c} channels but weight {tuple(weight.shape)} "
                         f"expects {in_c} (weight is (in_c, out_c/groups, kd, kh, kw))")
    if in_c % groups:
        raise ValueError(f"conv_transpose3d: input has {in_c} channels, not a multiple of groups={groups}")
    if bias is not None and tuple(bias.shape) != (out_c * groups,):
        raise ValueError(f"conv_transpose3d: bias shape {tuple(bias.shape)} should be ({out_c * groups},)")
    out_size = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                     for n, s, p, d, k, op in zip(sizes, stride, padding, dilation, kernel, output_padding))
    if min(out_size) < 1:
        raise ValueError(f"conv_transpose3d: padding {padding} leaves an empty output "
                         f"({'x'.join(map(str, out_size))})")
    fn = ConvTranspose3d(stride, padding, dilation, groups, out_size)
    y = fn(x5, weight) if bias is None else fn(x5, weight, bias)
    return _unbatched(y, batched)


# --------------------------------------------------------------------- pooling
def _pool_arguments(op, x5, kernel_size, stride, padding, ceil_mode, dilation=(1, 1, 1)):
    """(kernel, stride, padding, ceil_mode, out_size) of a 3-D pooling, checked as PyTorch checks
    them: each an int, a triple or a 1-tuple; stride defaults to the kernel (an empty one too),
    padding at most half the kernel, at least one window, each dilated window holding an input
    voxel, and for avg_pool3d an input no smaller than the kernel on any axis."""
    kernel = _triple_or_one(op, "kernel_size", kernel_size)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and not stride)
    stride = kernel if no_stride else _triple_or_one(op, "stride", stride)
    padding = _triple_or_one(op, "padding", padding, minimum=0)
    ceil_mode = _flag(op, "ceil_mode", ceil_mode)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    sizes = tuple(x5.shape[2:])
    out = tuple(conv_out_size(*args, ceil_mode=ceil_mode) for args in zip(sizes, kernel, stride, padding, dilation))
    if min(sizes + out) < 1:
        span = "" if dilation == (1, 1, 1) else (
            f" with dilation {dilation} (a span of {tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))})")
        raise ValueError(f"{op}: kernel {kernel}{span} is larger than the padded input "
                         f"{'x'.join(str(n + 2 * p) for n, p in zip(sizes, padding))}")
    if op == "avg_pool3d" and any(n < k for n, k in zip(sizes, kernel)):
        # PyTorch's avg_pool3d checks the input itself, padding or not (its max_pool3d does not)
        raise ValueError(f"avg_pool3d: input {'x'.join(map(str, sizes))} is smaller than the kernel "
                         f"{'x'.join(map(str, kernel))} on some axis (as PyTorch, padding aside)")
    if dilation != (1, 1, 1):   # taps that step over a small input onto the padding alone: refused
        for side, args in zip(AXES, zip(sizes, out, kernel, stride, padding, dilation)):
            _check_windows_hold_pixels(op, side, *args)
    return kernel, stride, padding, ceil_mode, out


def _padded_for(x, out, kernel, stride, padding, dilation, value):
    """x padded with ``value`` by ``padding`` before and as far as the last window reaches after."""
    after = [K3._reach(*args) - n - p for args, n, p in
             zip(zip(x.shape[2:], out, kernel, stride, padding, dilation), x.shape[2:], padding)]
    return K3.pad3d(x, padding, after, value) if any(padding) or any(after) else x


def _windows(starts, stride, out):
    return (slice(None), slice(None)) + tuple(K3._window(t, s, o) for t, s, o in zip(starts, stride, out))


def max_pool3d_array(x, kernel, stride, padding, dilation, out):
    """x (n, c, d, h, w) -> (y, indices), both (n, c, *out); indices int64, PyTorch's flat
    ``(z * h + y) * w + x`` in the unpadded volume.

    One pass per kernel offset, PyTorch's rule: over the window's voxels inside the input, in
    (depth, row, column) order from the first, a voxel wins when it is greater than the
    maximum so far or NaN. So ties keep the first, a NaN window its last NaN, and a window of
    -inf its first voxel (never a padding tap: which taps are inside is known per axis)."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    sizes = x.shape[2:]
    img = _padded_for(x, out, kernel, stride, padding, dilation, -xp.inf)
    # inside[axis][tap, o]: whether tap ``tap`` of window ``o`` falls inside the input on that axis
    inside = [((np.arange(o) * s - p)[None, :] + np.arange(k)[:, None] * d >= 0)
              & ((np.arange(o) * s - p)[None, :] + np.arange(k)[:, None] * d < size)
              for size, o, k, s, p, d in zip(sizes, out, kernel, stride, padding, dilation)]
    best = xp.full((n, c) + tuple(out), -xp.inf, dtype=x.dtype)
    arg = xp.full((n, c) + tuple(out), -1, dtype=xp.int32)   # which tap won; -1: none yet
    taps = K3._taps(kernel, dilation)
    for t, ((a, i, j), starts) in enumerate(taps):
        v = img[_windows(starts, stride, out)]
        ok = xp.asarray(inside[0][a][:, None, None] & inside[1][i][None, :, None] & inside[2][j][None, None, :])
        better = ok & ((v > best) | xp.isnan(v) | (arg < 0))
        best = xp.where(better, v, best)
        arg = xp.where(better, t, arg)
    # tap number -> flat position: the window's origin plus the tap's offset
    (h, w), (sz, sy, sx), (pd, ph, pw) = sizes[1:], stride, padding
    oz, oy, ox = (np.arange(o) for o in out)
    origin = (((oz * sz - pd)[:, None, None] * h + (oy * sy - ph)[None, :, None]) * w
              + (ox * sx - pw)[None, None, :])
    offset = np.array([(z * h + y) * w + xx for _, (z, y, xx) in taps], dtype=np.int64)
    flat = xp.asarray(offset)[arg] + xp.asarray(origin)
    return best, flat


class MaxPool3d(Function):
    def __init__(self, kernel, stride, padding, dilation, out):
        self.kernel, self.stride, self.padding, self.dilation, self.out = kernel, stride, padding, dilation, out

    def forward(self, x):
        self.x_shape = x.shape
        y, self.indices = max_pool3d_array(x, self.kernel, self.stride, self.padding, self.dilation, self.out)
        return y, self.indices

    def backward(self, gy, _gindices=None):
        n, c, d, h, w = self.x_shape
        # the volume as one long row (n, c, 1, d*h*w), where the flat indices are 2-D ones: the
        # 2-D scatter; windows wider than the stride can pick one voxel twice, then gradients add
        overlap = any(dd * (k - 1) + 1 > s for k, s, dd in zip(self.kernel, self.stride, self.dilation))
        length = gy[0, 0].size
        gx = P.unpool_scatter(gy.reshape(n, c, 1, length), self.indices.reshape(n, c, 1, length),
                              (1, d * h * w), accumulate=overlap)
        return gx.reshape(self.x_shape)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling, PyTorch's, arguments in its order; with ``return_indices`` also the flat
    index ``(z * H + y) * W + x`` of each maximum in its (n, c) volume, for :func:`max_unpool3d`.

    Shapes: x (n, c, d, h, w) or (c, d, h, w) -> (n, c, out_d, out_h, out_w) with, on each axis,
    ``out = floor((size + 2*p - dil*(k - 1) - 1) / s) + 1`` (``ceil`` with ``ceil_mode``; a
    window must start inside the input or its left padding). ``stride`` defaults to
    ``kernel_size``; padding at most half the kernel; ties go to the first maximum in the
    window's (depth, row, column) order.

    >>> import numpy as np
    >>> x = np.arange(27.0).reshape(1, 1, 3, 3, 3)
    >>> y, idx = max_pool3d(x, 2, return_indices=True)
    >>> y.numpy().ravel(), idx.numpy().ravel()            # the far corner of the first window
    (array([13.]), array([13]))
    >>> max_pool3d(x, 2, ceil_mode=True).shape, max_pool3d(x, 2, 1, dilation=2).numpy().ravel()
    ((1, 1, 2, 2, 2), array([26.]))
    """
    x5, batched = _as_volume("max_pool3d", x)
    dilation = _triple_or_one("max_pool3d", "dilation", dilation)
    kernel, stride, padding, _, out = _pool_arguments("max_pool3d", x5, kernel_size, stride, padding,
                                                      ceil_mode, dilation)
    return_indices = _flag("max_pool3d", "return_indices", return_indices)
    y, indices = MaxPool3d(kernel, stride, padding, dilation, out)(x5)
    if not return_indices:
        return _unbatched(y, batched)
    return _unbatched(y, batched), Tensor(indices.data if batched else indices.data[0])   # ints: no graph


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Each value put back where :func:`max_pool3d` found it, zeros elsewhere, PyTorch's.

    Shapes: x and indices (n, c, d, h, w) or (c, d, h, w) -> (n, c, out_d, out_h, out_w) with
    ``out = (size - 1)*s - 2*p + k`` on each axis, unless ``output_size`` (``(d, h, w)``, or
    five numbers whose last three count, as PyTorch's) says otherwise, within a stride of it.
    Where overlapping windows recorded one voxel twice, the last value is kept, as
    max_unpool2d's. No ``dilation`` (nor in PyTorch): a dilated pooling is unpooled with its
    span ``d*(k - 1) + 1`` as ``kernel_size``.

    >>> import numpy as np
    >>> x = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    >>> y, idx = max_pool3d(x, 2, return_indices=True)
    >>> max_unpool3d(y, idx, 2).numpy().ravel()
    array([0., 0., 0., 0., 0., 0., 0., 7.])
    """
    x5, batched = _as_volume("max_unpool3d", x)
    idx = indices.data if isinstance(indices, Tensor) else indices
    if not hasattr(idx, "dtype") or idx.dtype.kind not in "iu":
        what = idx.dtype if hasattr(idx, "dtype") else type(idx).__name__
        raise TypeError(f"max_unpool3d: indices must be an integer tensor, got {what}")
    given = tuple(x5.shape) if batched else tuple(x5.shape[1:])
    if tuple(idx.shape) != given:
        raise ValueError(f"max_unpool3d: indices shape {tuple(idx.shape)} must equal input shape {given}")
    kernel = _triple("max_unpool3d", "kernel_size", kernel_size)
    stride = kernel if stride is None else _triple("max_unpool3d", "stride", stride)
    padding = _triple("max_unpool3d", "padding", padding, minimum=0)
    n, c = x5.shape[:2]
    sizes = tuple(x5.shape[2:])
    default = tuple((m - 1) * s - 2 * p + k for m, s, p, k in zip(sizes, stride, padding, kernel))
    if output_size is None:
        out = default
    else:
        # PyTorch's rule: (d, h, w) or five numbers whose last three count, each side within a
        # stride of the default (the sizes that pool to this one)
        shape = output_size.shape if hasattr(output_size, "shape") else output_size
        if not isinstance(shape, (tuple, list)) or len(shape) not in (3, 5):
            raise ValueError(f"max_unpool3d: output_size must be (d, h, w) or (n, c, d, h, w), got {output_size!r}")
        out = _triple("max_unpool3d", "output_size", tuple(shape[-3:]))
        for side, got, dflt, s in zip(AXES, out, default, stride):
            if not dflt - s < got < dflt + s:
                raise ValueError(f"max_unpool3d: output_size {side} {got} is not one that pools to "
                                 f"{'x'.join(map(str, sizes))}: expected {max(dflt - s + 1, 1)} to {dflt + s - 1}")
    volume = out[0] * out[1] * out[2]
    # one pass over the indices: read as unsigned, a negative index is larger than any valid one
    unsigned = idx.view(f"u{idx.dtype.itemsize}") if idx.dtype.kind == "i" else idx
    if idx.size and int(unsigned.max()) >= volume:
        raise ValueError(f"max_unpool3d: indices must lie in [0, {volume}) for an output of "
                         f"{'x'.join(map(str, out))}, got values in [{int(idx.min())}, {int(idx.max())}]")
    # the 2-D unpooling on the volumes read as rows (n, c, 1, d*h*w): the same flat positions
    length = sizes[0] * sizes[1] * sizes[2]
    row = MaxUnpool2d(idx.reshape(n, c, 1, length), (1, volume), overlap=any(k > s for k, s in zip(kernel, stride)))
    y = row(x5.reshape(n, c, 1, length)).reshape((n, c) + out)
    return _unbatched(y, batched)


def _avg_divisor(sizes, out, kernel, stride, padding, count_include_pad, divisor_override, like):
    """(out_d, out_h, out_w) divisors of the windows' sums: the product of each axis' counts
    (:func:`~minifcn.kernels.pool.window_counts`), or ``divisor_override``."""
    xp = get_array_module(like)
    if divisor_override is not None:
        return xp.full(out, divisor_override, dtype=like.dtype)
    cd, ch, cw = (P.window_counts(*args, count_include_pad) for args in zip(sizes, kernel, stride, padding, out))
    return xp.asarray(cd[:, None, None] * ch[None, :, None] * cw[None, None, :], dtype=like.dtype)


class AvgPool3d(Function):
    def __init__(self, kernel, stride, padding, out, count_include_pad, divisor_override):
        self.kernel, self.stride, self.padding, self.out = kernel, stride, padding, out
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def _divisor(self, like):
        return _avg_divisor(self.sizes, self.out, self.kernel, self.stride, self.padding,
                            self.count_include_pad, self.divisor_override, like)

    def forward(self, x):
        xp = get_array_module(x)
        self.sizes = x.shape[2:]
        img = _padded_for(x, self.out, self.kernel, self.stride, self.padding, (1, 1, 1), 0.0)
        y = xp.zeros(x.shape[:2] + self.out, dtype=x.dtype)
        for _, starts in K3._taps(self.kernel, (1, 1, 1)):   # the window's sum, a slice per offset
            y += img[_windows(starts, self.stride, self.out)]
        return y / self._divisor(x)

    def backward(self, gy):
        xp = get_array_module(gy)
        g = gy / self._divisor(gy)
        reach = [K3._reach(*args) for args in
                 zip(self.sizes, self.out, self.kernel, self.stride, self.padding, (1, 1, 1))]
        gx = xp.zeros(gy.shape[:2] + tuple(reach), dtype=gy.dtype)
        for _, starts in K3._taps(self.kernel, (1, 1, 1)):   # spread back evenly, overlaps adding
            gx[_windows(starts, self.stride, self.out)] += g
        (pd, ph, pw), (d, h, w) = self.padding, self.sizes
        return xp.ascontiguousarray(gx[:, :, pd:pd + d, ph:ph + h, pw:pw + w])   # padding's share dropped


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling, PyTorch's: each window's sum over its count.

    Shapes: x (n, c, d, h, w) or (c, d, h, w) -> (n, c, out_d, out_h, out_w) with, on each axis,
    ``out = floor((size + 2*p - k) / s) + 1`` (``ceil`` with ``ceil_mode``). The count is the
    window's voxels inside the padded input with ``count_include_pad`` (a ceil-mode window
    hanging past the padding counts fewer), else inside the input; ``divisor_override``
    replaces it for every window.

    >>> import numpy as np
    >>> avg_pool3d(np.arange(8.0).reshape(1, 1, 2, 2, 2), 2).numpy().ravel()
    array([3.5])
    >>> avg_pool3d(np.ones((1, 1, 1, 1, 3)), (1, 1, 2), ceil_mode=True).numpy().ravel()   # 1/1 at the end
    array([1., 1.])
    """
    x5, batched = _as_volume("avg_pool3d", x)
    kernel, stride, padding, _, out = _pool_arguments("avg_pool3d", x5, kernel_size, stride, padding, ceil_mode)
    count_include_pad = _flag("avg_pool3d", "count_include_pad", count_include_pad)
    if divisor_override is not None and (isinstance(divisor_override, (bool, np.bool_)) or
                                         not isinstance(divisor_override, numbers.Integral) or
                                         divisor_override == 0):
        raise ValueError(f"avg_pool3d: divisor_override must be a non-zero int or None, got {divisor_override!r}")
    divisor = None if divisor_override is None else int(divisor_override)
    y = AvgPool3d(kernel, stride, padding, out, count_include_pad, divisor)(x5)
    return _unbatched(y, batched)


def _index(axis, sl):
    return (slice(None),) * axis + (sl,)


class AdaptiveAvgPool3d(Function):
    """Means over PyTorch's adaptive bins, one axis after another (a mean over a box is the mean
    of the means of its rows); the backward spreads each gradient over its bin, the axes in
    reverse. A loop over the output bins of each axis, not over voxels."""

    def __init__(self, out):
        self.out = out

    def forward(self, x):
        xp = get_array_module(x)
        self.sizes = x.shape[2:]
        y = x
        for axis, o in zip((2, 3, 4), self.out):
            start, end = P.adaptive_bins(y.shape[axis], o)
            y = xp.concatenate([y[_index(axis, slice(s, e))].mean(axis=axis, keepdims=True)
                                for s, e in zip(start, end)], axis=axis)
        return xp.ascontiguousarray(y)

    def backward(self, gy):
        xp = get_array_module(gy)
        g = gy
        for axis in (4, 3, 2):
            size, o = self.sizes[axis - 2], self.out[axis - 2]
            start, end = P.adaptive_bins(size, o)
            shape = list(g.shape)
            shape[axis] = size
            gx = xp.zeros(shape, dtype=g.dtype)
            for i, (s, e) in enumerate(zip(start, end)):   # neighbouring bins may share a voxel: add
                gx[_index(axis, slice(s, e))] += g[_index(axis, slice(i, i + 1))] / (e - s)
            g = gx
        return g


def adaptive_avg_pool3d(x, output_size):
    """Average pooling to ``output_size``, PyTorch's: an int or a (d, h, w) triple, None in it
    keeping that axis' size. Output ``i`` of an axis averages the inputs ``floor(i*size/out)``
    to ``ceil((i+1)*size/out) - 1``.

    Shapes: x (n, c, d, h, w) or (c, d, h, w) -> (n, c, *output_size).

    >>> import numpy as np
    >>> adaptive_avg_pool3d(np.arange(8.0).reshape(1, 1, 2, 2, 2), 1).numpy().ravel()   # global
    array([3.5])
    >>> adaptive_avg_pool3d(np.ones((2, 3, 4, 5)), (1, None, 2)).shape                  # no batch
    (2, 1, 4, 2)
    """
    x5, batched = _as_volume("adaptive_avg_pool3d", x)
    sizes = tuple(x5.shape[2:])
    if min(sizes) < 1:
        raise ValueError(f"adaptive_avg_pool3d: input of shape {tuple(as_tensor(x).shape)} has no values to average")
    if isinstance(output_size, (tuple, list)) and len(output_size) == 3:   # else named by _triple
        output_size = tuple(n if o is None else o for n, o in zip(sizes, output_size))
    out = _triple("adaptive_avg_pool3d", "output_size", output_size)
    return _unbatched(AdaptiveAvgPool3d(out)(x5), batched)
