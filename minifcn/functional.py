"""Differentiable ops (imported as ``F``): autograd Functions around the array kernels.

Each op checks its arguments once, at this public boundary, then calls array kernels from
:mod:`minifcn.kernels`. Every backward pass is built from other forward kernels: convolution's
input gradient is a transposed convolution and vice versa; max pooling's gradient is an
unpooling scatter and unpooling's is a gather.

All ops take and return :class:`~minifcn.Tensor` (arrays and numbers are wrapped).
Layout NCHW; float32 or float64.

>>> import numpy as np
>>> import minifcn.functional as F
>>> from minifcn import Tensor
>>> x = Tensor(np.ones((1, 3, 8, 8), dtype=np.float32))
>>> W = Tensor(np.ones((4, 3, 3, 3), dtype=np.float32))
>>> F.conv2d(x, W, padding=1).shape
(1, 4, 8, 8)
"""
from __future__ import annotations

import fractions
import functools
import math
import numbers
import operator

import numpy as np

from . import backend
from .autograd import Function, Tensor, as_tensor, is_grad_enabled
from .backend import get_array_module
from .im2col import _pair, col2im, conv_out_size, im2col
from .kernels import cache
from .kernels import conv as K
from .kernels import loss as L
from .kernels import norm as N
from .kernels import pointwise as E
from .kernels import pool as P
from .ops import _sigmoid

__all__ = ["conv2d", "conv_transpose2d", "max_pool2d", "max_unpool2d", "relu", "dropout",
           "dropout2d", "batch_norm", "group_norm", "layer_norm", "instance_norm",
           "local_response_norm", "softmax", "log_softmax", "softmin", "cross_entropy",
           "nll_loss", "crop", "linear", "interpolate", "pad", "avg_pool2d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "lp_pool2d",
           "pixel_shuffle", "pixel_unshuffle", "affine_grid", "grid_sample",
           "leaky_relu", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "l1_loss", "smooth_l1_loss", "huber_loss", "one_hot", "unfold", "fold"]


# --------------------------------------------------------------------- argument checks
def _positive_pair(name, v, op, minimum=1, given=None):
    """``v`` as a pair of ints >= ``minimum``; an error names ``given`` (what the caller was
    passed, where ``v`` was made from it), else ``v``."""
    given = v if given is None else given
    try:
        pair = _pair(v)
    except (TypeError, ValueError) as e:   # a float, a Tensor, three values: named here
        got = (f"a {type(given).__name__} of shape {tuple(given.shape)}" if hasattr(given, "shape")
               else repr(given))
        raise type(e)(f"{op}: {name} must be an int or a pair of ints, got {got}") from None
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {given!r}")
    return pair


def _pool_pair(name, v, op, minimum=1):
    """:func:`_positive_pair`, also taking a 1-tuple or 1-list for both axes, as PyTorch's 2-D
    poolings take their kernel_size, stride, padding and dilation, and its conv2d and
    conv_transpose2d their stride, padding, dilation and output_padding."""
    if isinstance(v, (tuple, list)) and len(v) == 1:   # the error names (2.0,), as passed
        return _positive_pair(name, (v[0], v[0]), op, minimum, given=v)
    return _positive_pair(name, v, op, minimum)


def _flag(op, name, v) -> bool:
    """A yes/no argument as a bool: a bool, NumPy's, or 0 / 1. ``bool("False")`` is True, so a
    string had read as yes."""
    if isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, np.integer)) and v in (0, 1)):
        return bool(v)
    raise TypeError(f"{op}: {name} must be a bool, got {v!r}")


def check_momentum(op, momentum, none_ok=False):
    """Batch norm's ``momentum``: a number in [0, 1]; or None where ``none_ok`` (the module's
    cumulative average, which passes :func:`batch_norm` 1 / its count of batches, as
    PyTorch's: its ``F.batch_norm`` refuses None too)."""
    if momentum is None and none_ok:
        return
    if isinstance(momentum, (bool, np.bool_)) or not isinstance(momentum, numbers.Real) \
            or not 0 <= momentum <= 1:
        raise ValueError(f"{op}: momentum must be a number in [0, 1]{' or None' if none_ok else ''}, "
                         f"got {momentum!r}")


def check_count(op, name, v) -> int:
    """A count of channels or features: a positive int (NumPy's too; not a bool or a float)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")
    return int(v)


def check_reduction(op, reduction):
    """A loss's ``reduction``: one of PyTorch's three, else the ValueError naming it."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def check_label_smoothing(op, eps):
    """A number in [0, 1] (True had read as 1.0, a string failed a comparison unnamed)."""
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real) or not 0.0 <= eps <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be a number in [0, 1], got {eps!r}")


def check_dropout_p(op, p):
    """Dropout's probability: a number in [0, 1]."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be a number in [0, 1], got {p!r}")


def _check_float(op, t, name="input"):
    """``t`` (``name`` in the error) float32 or float64, else TypeError."""
    if t.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: {name} must be float32 or float64, got {t.dtype}")


def _check_4d(op, name, t):
    if t.ndim != 4:
        raise ValueError(f"{op}: {name} must be 4-D (n, c, h, w), got shape {tuple(t.shape)}")
    _check_float(op, t, name)   # float16 had passed, to fail in dropout


def _check_not_empty(op, x, weight):
    """An image of no rows or columns, or a kernel of none, has no convolution (PyTorch refuses
    them too); the padding alone had made a map of the bias out of an image of 0 rows."""
    if min(x.shape[2:]) < 1 or min(weight.shape) < 1:
        raise ValueError(f"{op}: input {tuple(x.shape)} and weight {tuple(weight.shape)} must have "
                         "at least one row, column and channel")


def _raw(v):
    """The array inside a Tensor (numpy arrays have a ``.data`` too: do not unwrap those)."""
    return v.data if isinstance(v, Tensor) else v


def _check_same_dtype(op, x, weight, bias=None):
    """The input, weight and bias of ``op`` share one float dtype; else TypeError naming each
    (NumPy's ``np.random.rand`` gives float64, the models' parameters are float32)."""
    named = {"input": x, "weight": weight, "bias": bias}
    dtypes = {name: str(t.dtype) for name, t in named.items() if t is not None}
    if len(set(dtypes.values())) > 1:
        have = ", ".join(f"{name} {d}" for name, d in dtypes.items())
        param = dtypes.get("weight", dtypes.get("bias"))   # group/layer norm's weight may be None
        raise TypeError(f"{op}: input, weight and bias must share one dtype, got {have} (cast "
                        f"the input, e.g. x.astype(np.{param}), or the model, "
                        f"model.astype(np.{dtypes['input']}), if a weight was set in another)")


def _wants_grad(fn, i):
    """Whether input ``i`` of the Function ``fn`` needs a gradient (True if not run by autograd)."""
    inputs = getattr(fn, "inputs", None)
    return True if not inputs else inputs[i].requires_grad


# --------------------------------------------------------------------- convolution
def _empty_batch_grads(x, W, out_c):
    """The gradients of a convolution of no image: zeros (sums over no images); ``out_c`` the
    bias's length, None without one."""
    xp = get_array_module(x)
    return xp.zeros_like(x), xp.zeros_like(W), None if out_c is None else xp.zeros(out_c, W.dtype)


class Conv2d(Function):
    def __init__(self, stride, padding, dilation, groups=1):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, W, b=None):
        self.x, self.W, self.has_bias = x, W, b is not None
        self.kept = {}   # a small unfolded x, for the weight gradient (K.conv2d's keep)
        if x.shape[0] == 0:   # no image: the kernels' blocks and products assume one
            kh, kw = W.shape[2:]
            out = [conv_out_size(n, k, s, p, d) for n, k, s, p, d in
                   zip(x.shape[2:], (kh, kw), self.stride, self.padding, self.dilation)]
            return get_array_module(x).zeros((0, W.shape[0], *out), x.dtype)
        if self.groups > 1:   # a loop over the groups (K.grouped_conv2d: why)
            return K.grouped_conv2d(x, W, b, self.groups, self.stride, self.padding, self.dilation)
        return K.conv2d(x, W, b, self.stride, self.padding, self.dilation, keep=self.kept)

    def backward(self, gy):
        x, W = self.x, self.W
        if x.shape[0] == 0:
            return _empty_batch_grads(x, W, W.shape[0] if self.has_bias else None)
        # each skipped when not wanted: the image needs no gradient, frozen weights neither
        if self.groups > 1:
            return K.grouped_conv2d_grads(x, gy, W, self.groups, self.stride, self.padding,
                                          self.dilation, _wants_grad(self, 0), _wants_grad(self, 1),
                                          self.has_bias and _wants_grad(self, 2))
        return K.conv2d_grads(x, gy, W, self.stride, self.padding, self.dilation,
                              need_input=_wants_grad(self, 0), need_weight=_wants_grad(self, 1),
                              need_bias=self.has_bias and _wants_grad(self, 2),
                              kept=self.kept.get("col"))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in every framework).

    Shapes: x (n, in_c, h, w), weight (out_c, in_c/groups, kh, kw), bias (out_c,) ->
    (n, out_c, out_h, out_w) with ``out_h = (h + 2*ph - dy*(kh - 1) - 1) // sy + 1``.

    Args:
        stride, padding, dilation: an int, an (y, x) pair or a 1-tuple for both (as
            PyTorch's). ``padding`` may also be PyTorch's ``"valid"`` (0) or ``"same"``
            (stride 1: the output is the input's size; an even kernel pads one more at the
            bottom and right, as PyTorch's, done here by padding both sides that much and
            cutting the first row or column off the output).
        groups: the channels split into this many equal parts, output part i computed from
            input part i alone (``groups = in_c``: a depthwise convolution); out_c must be a
            multiple of it.

    >>> import numpy as np
    >>> from minifcn import Tensor
    >>> conv2d(Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3))), stride=2).numpy()[0, 0]
    array([[9., 9.],
           [9., 9.]])
    >>> conv2d(Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 2, 4))), padding="same").shape
    (1, 1, 5, 5)
    >>> conv2d(Tensor(np.ones((1, 4, 3, 3))), Tensor(np.ones((6, 2, 3, 3))), groups=2).shape
    (1, 6, 1, 1)
    """
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    _check_4d("conv2d", "input", x)
    _check_4d("conv2d", "weight", weight)
    _check_not_empty("conv2d", x, weight)
    _check_same_dtype("conv2d", x, weight, bias)
    stride = _pool_pair("stride", stride, "conv2d")
    dilation = _pool_pair("dilation", dilation, "conv2d")
    groups = check_count("conv2d", "groups", groups)
    if isinstance(padding, str):
        return _conv2d_named_padding(x, weight, bias, stride, padding, dilation, groups)
    padding = _pool_pair("padding", padding, "conv2d", minimum=0)
    n, c, h, w = x.shape
    out_c, in_c, kh, kw = weight.shape
    if out_c % groups:
        raise ValueError(f"conv2d: weight {tuple(weight.shape)} has {out_c} output channels, not "
                         f"a multiple of groups={groups}")
    if c != in_c * groups:
        raise ValueError(f"conv2d: input has {c} channels but weight {tuple(weight.shape)} expects "
                         f"{in_c * groups}" + (f" ({in_c} per group, groups={groups})" if groups > 1 else ""))
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"conv2d: bias shape {tuple(bias.shape)} should be ({out_c},)")
    eff_h, eff_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eff_h > h + 2 * padding[0] or eff_w > w + 2 * padding[1]:
        raise ValueError(f"conv2d: kernel {eff_h}x{eff_w} (dilated) is larger than the padded input "
                         f"{h + 2 * padding[0]}x{w + 2 * padding[1]}")
    fn = Conv2d(stride, padding, dilation, groups)
    return fn(x, weight) if bias is None else fn(x, weight, bias)


def _same_padding(kernel_size, dilation):
    """``padding="same"``'s zeros, PyTorch's: per axis ``dilation*(k - 1)`` in all, the odd
    one after, as ``((top, bottom), (left, right))``."""
    totals = (d * (k - 1) for d, k in zip(dilation, kernel_size))
    return tuple((t // 2, t - t // 2) for t in totals)


def _conv2d_named_padding(x, weight, bias, stride, padding, dilation, groups=1):
    """conv2d with PyTorch's ``padding="valid"`` or ``"same"``."""
    if padding == "valid":
        return conv2d(x, weight, bias, stride, 0, dilation, groups)
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    if stride != (1, 1):   # PyTorch refuses it too: 'same' has no one meaning for a stride
        raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
    # pad both sides by the larger half (after), then the one extra output at the top (left)
    # is the one to drop
    pads = _same_padding(weight.shape[2:], dilation)
    y = conv2d(x, weight, bias, 1, [after for _, after in pads], dilation, groups)
    extra_y, extra_x = (after - before for before, after in pads)
    return y[:, :, extra_y:, extra_x:] if extra_y or extra_x else y


class ConvTranspose2d(Function):
    def __init__(self, stride, padding, out_hw, groups=1, dilation=(1, 1)):
        self.stride, self.padding, self.out_hw, self.groups = stride, padding, out_hw, groups
        self.dilation = dilation

    def forward(self, x, W, b=None):
        self.x, self.W, self.has_bias = x, W, b is not None
        if x.shape[0] == 0:   # no image: the kernels' blocks and products assume one
            return get_array_module(x).zeros((0, W.shape[1] * self.groups, *self.out_hw), x.dtype)
        if self.groups > 1:   # a loop over the groups (K.grouped_conv2d: why)
            return K.grouped_conv_transpose2d(x, W, b, self.groups, self.out_hw, self.stride,
                                              self.padding, self.dilation)
        return K.conv_transpose2d(x, W, b, self.out_hw, self.stride, self.padding, self.dilation)

    def backward(self, gy):
        if self.x.shape[0] == 0:
            return _empty_batch_grads(self.x, self.W,
                                      self.W.shape[1] * self.groups if self.has_bias else None)
        # FCN's upsampling weights are frozen by default: their gradient would be wasted work
        if self.groups > 1:
            gx, gW = K.grouped_conv_transpose2d_grads(self.x, gy, self.W, self.groups, self.stride,
                                                      self.padding, self.dilation,
                                                      _wants_grad(self, 0), _wants_grad(self, 1))
        else:
            gx, gW = K.conv_transpose2d_grads(self.x, gy, self.W, self.stride, self.padding,
                                              self.dilation, _wants_grad(self, 0), _wants_grad(self, 1))
        gb = K.conv2d_grad_bias(gy) if self.has_bias else None
        return gx, gW, gb


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution: multiplication by the transpose of conv2d's matrix.

    Shapes: x (n, in_c, h, w), weight (in_c, out_c/groups, kh, kw), bias (out_c,) ->
    (n, out_c, out_h, out_w) with ``out_h = (h - 1)*sy - 2*ph + dy*(kh - 1) + output_padding + 1``
    (PyTorch's). ``output_padding`` picks among the output sizes that a stride-``sy``
    convolution maps onto the same ``h``; as PyTorch's, it must be smaller than the stride or
    the dilation, on each axis. ``groups``: as :func:`conv2d`'s (in_c a multiple of it), the
    transpose of the grouped convolution with the same weight. ``dilation``: the kernel's taps
    ``dy`` rows apart, the transpose of :func:`conv2d`'s dilated convolution.

    >>> import numpy as np
    >>> from minifcn import Tensor
    >>> y = conv_transpose2d(Tensor(np.ones((1, 1, 2, 2))), Tensor(np.ones((1, 1, 3, 3))), stride=2)
    >>> y.shape, y.numpy()[0, 0, 2]        # row 2 is covered by both input rows
    ((1, 1, 5, 5), array([2., 2., 4., 2., 2.]))
    >>> conv_transpose2d(Tensor(np.ones((1, 4, 2, 2))), Tensor(np.ones((4, 3, 2, 2))), groups=2).shape
    (1, 6, 3, 3)
    >>> conv_transpose2d(Tensor(np.ones((1, 1, 1, 2))), Tensor(np.ones((1, 1, 1, 2))), dilation=2).numpy()[0, 0]
    array([[1., 1., 1., 1.]])
    """
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    _check_4d("conv_transpose2d", "input", x)
    _check_4d("conv_transpose2d", "weight", weight)
    _check_not_empty("conv_transpose2d", x, weight)
    _check_same_dtype("conv_transpose2d", x, weight, bias)
    stride = _pool_pair("stride", stride, "conv_transpose2d")
    padding = _pool_pair("padding", padding, "conv_transpose2d", minimum=0)
    oph, opw = _pool_pair("output_padding", output_padding, "conv_transpose2d", minimum=0)
    groups = check_count("conv_transpose2d", "groups", groups)
    dilation = _pool_pair("dilation", dilation, "conv_transpose2d")
    if not (oph < max(stride[0], dilation[0]) and opw < max(stride[1], dilation[1])):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding!r} must be smaller than "
                         f"the stride {stride!r} or the dilation {dilation!r}, on each axis")
    n, c, h, w = x.shape
    in_c, out_c, kh, kw = weight.shape
    if c != in_c:
        raise ValueError(f"conv_transpose2d: input has {c} channels but weight {tuple(weight.shape)} "
                         f"expects {in_c} (weight is (in_c, out_c/groups, kh, kw))")
    if in_c % groups:
        raise ValueError(f"conv_transpose2d: input has {in_c} channels, not a multiple of "
                         f"groups={groups}")
    out_c *= groups
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"conv_transpose2d: bias shape {tuple(bias.shape)} should be ({out_c},)")
    out_h = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + oph + 1
    out_w = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + opw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"conv_transpose2d: padding {padding!r} leaves an empty output ({out_h}x{out_w})")
    fn = ConvTranspose2d(stride, padding, (out_h, out_w), groups, dilation)
    return fn(x, weight) if bias is None else fn(x, weight, bias)


class Linear(Function):
    def forward(self, x, W, b=None):
        self.x, self.W, self.has_bias = x, W, b is not None
        y = x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        return gy @ self.W, gy.T @ self.x, (gy.sum(axis=0) if self.has_bias else None)


def linear(x, weight, bias=None):
    """Fully connected layer: x (n, in_f) @ weight.T (in_f, out_f) + bias (out_f,) -> (n, out_f).

    >>> import numpy as np
    >>> linear(np.ones((2, 3)), np.ones((4, 3))).shape
    (2, 4)
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"linear: input {tuple(x.shape)} and weight {tuple(weight.shape)} do not match "
                         "(expected (n, in_f) and (out_f, in_f))")
    bias = None if bias is None else as_tensor(bias)
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):   # a (1,) bias had broadcast,
        raise ValueError(f"linear: bias shape {tuple(bias.shape)} should be "   # and got a (out_f,)
                         f"({weight.shape[0]},) for {weight.shape[0]} outputs")  # gradient
    _check_same_dtype("linear", x, weight, bias)
    return Linear()(x, weight) if bias is None else Linear()(x, weight, bias)


# --------------------------------------------------------------------- unfold and fold
# im2col and col2im as ops of their own, in PyTorch's layout: the sliding blocks of an image as
# the columns of a matrix (n, c*kh*kw, L), and back. im2col's (n, c, kh, kw, out_h, out_w) is
# already in PyTorch's row order (channel, then kernel row, then kernel column), so each op is
# one kernel call and a reshape; each one's backward is the other, as each is the other's
# transpose.
def _block_arguments(op, kernel_size, dilation, padding, stride):
    """``(kernel, dilation, padding, stride)``, each a pair, checked as PyTorch checks them."""
    return (_positive_pair("kernel_size", kernel_size, op), _positive_pair("dilation", dilation, op),
            _positive_pair("padding", padding, op, minimum=0), _positive_pair("stride", stride, op))


def _block_grid(op, hw, blocks):
    """(out_h, out_w): how many sliding blocks fit along each axis of an image of size ``hw``;
    ValueError naming the image and the arguments when it is none."""
    (kh, kw), (dy, dx), (ph, pw), (sy, sx) = blocks
    grid = (conv_out_size(hw[0], kh, sy, ph, dy), conv_out_size(hw[1], kw, sx, pw, dx))
    if min(grid) < 1:
        raise ValueError(f"{op}: an image of size {tuple(hw)} with kernel_size={(kh, kw)}, "
                         f"dilation={(dy, dx)}, padding={(ph, pw)}, stride={(sy, sx)} has "
                         f"{grid[0]} x {grid[1]} sliding blocks; expected at least one along each axis")
    return grid


def _unfold_array(x, blocks):
    """x (n, c, h, w) -> col (n, c*kh*kw, out_h*out_w), by :func:`~minifcn.im2col.im2col`."""
    (kh, kw), (dy, dx), (ph, pw), (sy, sx) = blocks
    n, c = x.shape[:2]
    col = im2col(x, kh, kw, sy, sx, ph, pw, dy, dx)    # (n, c, kh, kw, out_h, out_w)
    return col.reshape(n, c * kh * kw, col.shape[4] * col.shape[5])   # a view: the same order


def _fold_array(col, hw, blocks):
    """col (n, c*kh*kw, out_h*out_w) -> image (n, c, h, w), overlaps added, by
    :func:`~minifcn.im2col.col2im`."""
    (kh, kw), (dy, dx), (ph, pw), (sy, sx) = blocks
    out_h, out_w = conv_out_size(hw[0], kh, sy, ph, dy), conv_out_size(hw[1], kw, sx, pw, dx)
    n, depth = col.shape[:2]
    col = col.reshape(n, depth // (kh * kw), kh, kw, out_h, out_w)
    return col2im(col, hw[0], hw[1], sy, sx, ph, pw, dy, dx)


class Unfold(Function):
    def __init__(self, blocks, batched=True):
        self.blocks, self.batched = blocks, batched

    def forward(self, x):
        x = x if self.batched else x[None]   # one image (c, h, w): a batch of one, then its col
        self.hw = x.shape[2:]
        col = _unfold_array(x, self.blocks)
        return col if self.batched else col[0]

    def backward(self, gy):
        gx = _fold_array(gy if self.batched else gy[None], self.hw, self.blocks)
        return gx if self.batched else gx[0]


class Fold(Function):
    def __init__(self, hw, blocks, batched=True):
        self.hw, self.blocks, self.batched = hw, blocks, batched

    def forward(self, col):
        y = _fold_array(col if self.batched else col[None], self.hw, self.blocks)
        return y if self.batched else y[0]

    def backward(self, gy):
        gcol = _unfold_array(gy if self.batched else gy[None], self.blocks)
        return gcol if self.batched else gcol[0]


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of an image as columns (im2col), PyTorch's ``F.unfold``.

    Shapes: (n, c, h, w) -> (n, c*kh*kw, L), or one image (c, h, w) -> (c*kh*kw, L), with
    ``L = out_h * out_w`` blocks, ``out_h = (h + 2*ph - dy*(kh - 1) - 1) // sy + 1``. Column
    ``l = oy*out_w + ox`` is the block under the kernel at output ``(oy, ox)``; its row
    ``(ci*kh + i)*kw + j`` is channel ``ci`` at kernel tap ``(i, j)`` (zero on the padding). So
    ``conv2d(x, W)`` is ``(W.view(out_c, -1) @ unfold(x)).view(n, out_c, out_h, out_w)``:
    the lesson ``lessons/03_conv_as_matrix.py``. Its transpose is :func:`fold` (and its gradient).

    Args:
        kernel_size, dilation, stride: an int or an (y, x) pair, >= 1; padding: >= 0.

    >>> import numpy as np
    >>> col = unfold(np.arange(9.0).reshape(1, 1, 3, 3), 2)   # four 2x2 blocks
    >>> col.shape
    (1, 4, 4)
    >>> col.numpy()[0, :, 0]                                   # the top-left one
    array([0., 1., 3., 4.])
    """
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"unfold: input must be 3-D (c, h, w) or 4-D (n, c, h, w), got shape "
                         f"{tuple(x.shape)}")
    _check_float("unfold", x)
    if min(x.shape[-3:]) < 1:   # the batch alone may be empty, as PyTorch's
        raise ValueError(f"unfold: input {tuple(x.shape)} must have at least one channel, row and column")
    blocks = _block_arguments("unfold", kernel_size, dilation, padding, stride)
    _block_grid("unfold", x.shape[-2:], blocks)
    return Unfold(blocks, batched=x.ndim == 4)(x)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns summed back onto an image (col2im), PyTorch's ``F.fold``: the transpose of
    :func:`unfold`, so overlapping blocks add up (``fold(unfold(x))`` is ``x`` times the number
    of blocks covering each pixel) and values on the padding are dropped.

    Shapes: (n, c*kh*kw, L) -> (n, c, h, w), or (c*kh*kw, L) -> (c, h, w), with
    ``(h, w) = output_size`` and ``L`` the number of blocks :func:`unfold` makes of that image.

    Args:
        output_size: (h, w), or an int for both.
        kernel_size, dilation, padding, stride: as :func:`unfold`'s.

    >>> import numpy as np
    >>> fold(np.ones((1, 4, 4)), (3, 3), 2).numpy()[0, 0]    # how many 2x2 blocks cover each pixel
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    col = as_tensor(input)
    if col.ndim not in (2, 3):
        raise ValueError(f"fold: input must be 2-D (c*kh*kw, L) or 3-D (n, c*kh*kw, L), got shape "
                         f"{tuple(col.shape)}")
    _check_float("fold", col)
    hw = _positive_pair("output_size", output_size, "fold")
    blocks = _block_arguments("fold", kernel_size, dilation, padding, stride)
    depth, length = col.shape[-2:]
    kh, kw = blocks[0]
    if depth < 1 or depth % (kh * kw):
        raise ValueError(f"fold: input's dimension {col.ndim - 2} ({depth}) must be a positive multiple "
                         f"of the product of kernel_size {(kh, kw)}, {kh * kw}")
    out_h, out_w = _block_grid("fold", hw, blocks)
    if length != out_h * out_w:
        raise ValueError(f"fold: input has L={length} blocks (its last dimension), but output_size={hw} "
                         f"with kernel_size={(kh, kw)}, dilation={blocks[1]}, padding={blocks[2]}, "
                         f"stride={blocks[3]} has {out_h} x {out_w} = {out_h * out_w}")
    return Fold(hw, blocks, batched=col.ndim == 3)(col)


# --------------------------------------------------------------------- pooling
def _pool_arguments(op, x, kernel_size, stride, padding, ceil_mode, dilation=(1, 1)):
    """A pooling's (kernel, stride, padding, ceil_mode), checked as PyTorch checks them: each an
    int, a pair or a 1-tuple; stride defaults to the kernel (an empty one too, as PyTorch reads
    it as None), padding at most half the kernel, at least one window. ``dilation`` (a checked
    pair) spaces the kernel's taps apart: the window spans ``d(k - 1) + 1``."""
    _check_4d(op, "input", x)
    ceil_mode = _flag(op, "ceil_mode", ceil_mode)
    kernel = _pool_pair("kernel_size", kernel_size, op)
    empty = isinstance(stride, (tuple, list)) and not stride
    stride = kernel if stride is None or empty else _pool_pair("stride", stride, op)
    padding = _pool_pair("padding", padding, op, minimum=0)
    # half the kernel itself, not its dilated span, as PyTorch's CPU check has it (kernel 2,
    # dilation 3, padding 2 is refused there, though the span is 4)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    h, w = x.shape[2:]
    out = [conv_out_size(n, k, s, p, d, ceil_mode=ceil_mode)
           for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)]
    # at least one window (ceil mode keeps one that starts inside and hangs over the edge, as
    # PyTorch does: a kernel past a 1x1 or 2x3 input has one there)
    if min(h, w, *out) < 1:
        dilated = "" if dilation == (1, 1) else (
            f" with dilation {dilation} (a span of {tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))})")
        raise ValueError(f"{op}: kernel {kernel}{dilated} is larger than the padded input "
                         f"{h + 2 * padding[0]}x{w + 2 * padding[1]}")
    if dilation != (1, 1):   # undilated, every window holds a pixel (padding <= half the kernel)
        for side, n, o, k, s, p, d in zip(("row", "column"), (h, w), out, kernel, stride, padding, dilation):
            _check_windows_hold_pixels(op, side, n, o, k, s, p, d)
    return kernel, stride, padding, ceil_mode


def _check_windows_hold_pixels(op, side, size, out, k, s, p, d):
    """Refuse a dilated window whose taps along one axis all fall on the padding (they can step
    over a small input): PyTorch gives -inf there and an index past the input, which would send
    the gradient out of the image."""
    taps = (np.arange(out) * s - p).reshape(-1, 1) + np.arange(k) * d
    empty = np.flatnonzero(~((taps >= 0) & (taps < size)).any(axis=1))
    if empty.size:
        o = int(empty[0])
        raise ValueError(f"{op}: the window at output {side} {o} holds no input pixel: its taps "
                         f"{taps[o].tolist()} (kernel {k}, dilation {d}, padding {p}) all fall outside "
                         f"the input's {size} {side}s")


class MaxPool2d(Function):
    def __init__(self, kernel, stride, padding, ceil_mode, dilation=(1, 1)):
        self.kernel, self.stride, self.padding, self.ceil_mode = kernel, stride, padding, ceil_mode
        self.dilation = dilation

    def forward(self, x):
        y, self.indices = P.max_pool2d(x, self.kernel, self.stride, self.padding, self.ceil_mode,
                                       dilation=self.dilation)
        self.hw = x.shape[2:]
        return y, self.indices

    def backward(self, gy, _gindices=None):
        # windows wider than the stride (dilation spreads them) can pick the same input twice:
        # then the gradients must add up
        overlap = any(d * (k - 1) + 1 > s for k, s, d in zip(self.kernel, self.stride, self.dilation))
        return P.unpool_scatter(gy, self.indices, self.hw, accumulate=overlap)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling; with ``return_indices`` also the flat index ``h * W + w`` of each maximum.

    Arguments in PyTorch's order. Shapes: x (n, c, h, w) -> (n, c, out_h, out_w) with
    ``out_h = floor((h + 2*ph - dy*(kh - 1) - 1) / sy) + 1`` (``ceil`` with ``ceil_mode``; a
    window must start inside the input or its left padding). ``stride`` defaults to
    ``kernel_size``; ``dilation`` (int or pair) spaces the window's ``kh x kw`` taps ``dy``
    rows and ``dx`` columns apart. Ties go to the first maximum in the window's row-major
    order. Padding may be at most half of ``kernel_size``; a dilated window whose taps all
    fall on the padding is refused (PyTorch gives -inf and an index outside the input there).

    >>> import numpy as np
    >>> x = np.arange(25.0).reshape(1, 1, 5, 5)
    >>> max_pool2d(x, 2).shape, max_pool2d(x, 2, ceil_mode=True).shape
    ((1, 1, 2, 2), (1, 1, 3, 3))
    >>> y, idx = max_pool2d(x, 2, return_indices=True)
    >>> idx.numpy()[0, 0]                      # bottom-right of each window wins
    array([[ 6,  8],
           [16, 18]])
    >>> max_pool2d(x, 2, 1, dilation=3).numpy()[0, 0]    # taps 3 apart: rows and columns {0, 3}, {1, 4}
    array([[18., 19.],
           [23., 24.]])
    """
    x = as_tensor(x)
    dilation = _pool_pair("dilation", dilation, "max_pool2d")
    kernel, stride, padding, ceil_mode = _pool_arguments("max_pool2d", x, kernel_size, stride,
                                                         padding, ceil_mode, dilation)
    return_indices = _flag("max_pool2d", "return_indices", return_indices)
    if not return_indices and not (is_grad_enabled() and x.requires_grad):
        # inference: no gradient will flow back and nobody asked where the maxima were
        return Tensor(P.max_pool2d(x.data, kernel, stride, padding, ceil_mode, indices=False,
                                   dilation=dilation)[0])
    y, indices = MaxPool2d(kernel, stride, padding, ceil_mode, dilation)(x)
    return (y, indices) if return_indices else y


class MaxUnpool2d(Function):
    def __init__(self, indices, out_hw, overlap):
        self.indices, self.out_hw = indices, out_hw
        # only overlapping windows can repeat a position: then the last value of each repeat wins
        self.keep = P.last_of_repeats(indices, out_hw) if overlap else None

    def forward(self, x):
        return P.unpool_scatter(x, self.indices, self.out_hw, keep=self.keep)

    def backward(self, gy):
        return P.unpool_gather(gy, self.indices, self.keep)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value back where max pooling found it; zeros elsewhere (SegNet's upsampling).

    Shapes: x and indices (n, c, h, w) -> (n, c, out_h, out_w) with
    ``out_h = (h - 1)*sy - 2*ph + kh`` unless ``output_size`` (h, w) (or a 4-D shape) says
    otherwise, as it must when the pooled input had an odd size. Where overlapping windows
    (kernel > stride) recorded one position twice, the last value in row-major order is kept,
    as PyTorch's CPU kernel does, and the other gets no gradient. There is no ``dilation``
    (nor in PyTorch): to unpool a dilated pooling give ``kernel_size`` its span
    ``d*(k - 1) + 1``, which sets the default size and tells whether windows overlap.

    >>> import numpy as np
    >>> x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    >>> _, idx = max_pool2d(np.random.default_rng(0).random((1, 1, 4, 4)), 2, return_indices=True)
    >>> max_unpool2d(x, idx, 2).shape
    (1, 1, 4, 4)
    """
    x = as_tensor(x)
    _check_4d("max_unpool2d", "input", x)
    idx = _raw(indices)
    if tuple(idx.shape) != tuple(x.shape):
        raise ValueError(f"max_unpool2d: indices shape {tuple(idx.shape)} must equal input shape {tuple(x.shape)}")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"max_unpool2d: indices must be integers, got {idx.dtype}")
    kh, kw = _positive_pair("kernel_size", kernel_size, "max_unpool2d")
    sy, sx = _positive_pair("stride", kernel_size if stride is None else stride, "max_unpool2d")
    ph, pw = _positive_pair("padding", padding, "max_unpool2d", minimum=0)
    h, w = x.shape[2:]
    default = ((h - 1) * sy - 2 * ph + kh, (w - 1) * sx - 2 * pw + kw)
    if output_size is None:
        out_hw = default
    else:
        # PyTorch's rule: (h, w) or a 4-D shape, each side within a stride of the default (the
        # sizes whose pooling gives h x w). Any size had been taken (an 8 re-read a 6-wide
        # plane's positions 8 wide, values landing elsewhere), fractions cut.
        shape = output_size.shape if hasattr(output_size, "shape") else output_size
        if not isinstance(shape, (tuple, list)) or len(shape) not in (2, 4):
            raise ValueError(f"max_unpool2d: output_size must be (h, w) or (n, c, h, w), got {output_size!r}")
        out_hw = _positive_pair("output_size", shape[-2:], "max_unpool2d", minimum=1)
        for side, got, d, s_ in (("height", out_hw[0], default[0], sy), ("width", out_hw[1], default[1], sx)):
            if not d - s_ < got < d + s_:
                raise ValueError(f"max_unpool2d: output_size {side} {got} is not one that pools to "
                                 f"{h}x{w}: expected {max(d - s_ + 1, 1)} to {d + s_ - 1}")
    # one pass over the indices, not two: read as unsigned, a negative index is larger than any
    # valid one (SegNet's 64x112x112 indices: 90 against 250 us for their min and max)
    unsigned = idx.view(f"u{idx.dtype.itemsize}") if idx.dtype.kind == "i" else idx
    if idx.size and int(unsigned.max()) >= out_hw[0] * out_hw[1]:
        raise ValueError(f"max_unpool2d: indices must lie in [0, {out_hw[0] * out_hw[1]}) for an output of "
                         f"{out_hw[0]}x{out_hw[1]}, got values in [{int(idx.min())}, {int(idx.max())}]")
    return MaxUnpool2d(idx, out_hw, overlap=kh > sy or kw > sx)(x)


# --------------------------------------------------------------------- pointwise
class ReLU(Function):
    def forward(self, x):
        self.y = E.relu(x)
        return self.y

    def backward(self, gy):
        return E.relu_backward(gy, self.y)


def relu(x):
    """max(x, 0), elementwise. Any shape. NaN stays NaN; its gradient there is 0 (PyTorch's
    passes the upstream gradient through a NaN: one comparison fewer here, and a net with a NaN
    activation has diverged either way).

    >>> relu([-1.0, 2.0]).numpy()
    array([0., 2.], dtype=float32)
    """
    return ReLU()(as_tensor(x))


class LeakyReLU(Function):
    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        self.positive = x > 0   # a bool mask: all the backward needs
        return get_array_module(x).where(self.positive, x, x * self.slope)

    def backward(self, gy):
        return get_array_module(gy).where(self.positive, gy, gy * self.slope)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """``x`` where ``x > 0``, else ``negative_slope * x``, elementwise, as PyTorch's (the
    gradient at 0 is the slope's, as there). Any shape. ``inplace`` is taken for PyTorch's
    code and changes nothing: the result is a new array.

    >>> leaky_relu([-2.0, 0.0, 3.0], 0.1).numpy()
    array([-0.2,  0. ,  3. ], dtype=float32)
    """
    _flag("leaky_relu", "inplace", inplace)
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
    return LeakyReLU(float(negative_slope))(as_tensor(x))


# ELU, GELU, SiLU, Softplus, Hardtanh, PReLU and the rest, as PyTorch's: in activations.py
from .activations import (celu, elu, gelu, hardsigmoid, hardswish, hardtanh, logsigmoid,  # noqa: E402
                          mish, prelu, relu6, selu, silu, softplus, softsign)
from .activations import glu, hardshrink, rrelu, softshrink, tanhshrink, threshold  # noqa: E402
from .activations import __all__ as _activations   # noqa: E402
__all__ += _activations


class Dropout(Function):
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        xp = get_array_module(x)
        self.mask = N.dropout_mask(xp, x.shape, self.p, x.dtype, backend.random_uniform)
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each value with probability ``p`` and scale the rest by 1/(1-p).

    With ``training=False`` it is the identity. Monte-Carlo dropout (Bayesian SegNet) simply
    keeps ``training=True`` at test time. Any shape. ``inplace``, PyTorch's fourth argument, is
    taken and changes nothing (the result is a new array, as the other dropouts').

    >>> import numpy as np
    >>> y = dropout(np.ones(10000, dtype=np.float32), p=0.5).numpy()
    >>> sorted(set(y.tolist())), bool(0.45 < (y == 0).mean() < 0.55)
    ([0.0, 2.0], True)
    """
    x = as_tensor(x)
    _flag("dropout", "inplace", inplace)
    training = _flag("dropout", "training", training)
    check_dropout_p("dropout", p)
    if not training or p == 0.0:
        return x
    if p == 1.0:   # every value dropped: zeros, as PyTorch (the scale 1 / (1 - p) has no value)
        return x * 0.0
    return Dropout(float(p))(x)


class Dropout2d(Dropout):
    """Dropout's Function with one draw a channel: the mask is (n, c, 1, 1), broadcast over
    the pixels forward and backward."""

    def forward(self, x):
        xp = get_array_module(x)
        self.mask = N.dropout_mask(xp, x.shape[:2] + (1, 1), self.p, x.dtype, backend.random_uniform)
        return x * self.mask


def dropout2d(x, p=0.5, training=True, inplace=False):
    """Spatial dropout, as PyTorch's: zero each whole channel of x (n, c, h, w) with
    probability ``p`` (one draw per image and channel) and scale the channels kept by
    1/(1-p). Neighbouring pixels of a feature map are strongly correlated, so dropping
    pixels one by one hardly regularises a convolutional layer; dropping its maps does.

    With ``training=False``, or ``p=0``, it is the identity; ``p=1`` gives zeros. The draws
    come from the generator :func:`minifcn.manual_seed` seeds, as :func:`dropout`'s.
    ``inplace`` is taken and changes nothing, as :func:`dropout`'s.

    >>> import numpy as np, minifcn
    >>> minifcn.manual_seed(0)
    >>> y = dropout2d(np.ones((1, 1000, 2, 2), dtype=np.float32), p=0.5).numpy()
    >>> np.unique(y).tolist(), bool((y == y[:, :, :1, :1]).all())   # each channel all 0 or all 2
    ([0.0, 2.0], True)
    >>> bool(0.45 < (y[0, :, 0, 0] == 0).mean() < 0.55)              # about half the channels
    True
    """
    x = as_tensor(x)
    _check_4d("dropout2d", "input", x)   # PyTorch's 3-D inputs read as (n, c, l) or (c, h, w): not here
    _flag("dropout2d", "inplace", inplace)
    training = _flag("dropout2d", "training", training)
    check_dropout_p("dropout2d", p)
    if not training or p == 0.0:
        return x
    if p == 1.0:   # every channel dropped: zeros, as PyTorch
        return x * 0.0
    return Dropout2d(float(p))(x)


class BatchNorm(Function):
    def __init__(self, training, momentum, eps, running_mean=None, running_var=None):
        self.training, self.momentum, self.eps = training, momentum, eps
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x, gamma, beta):
        self.x, self.gamma = x, gamma  # x, not xhat: backward rebuilds xhat (no extra map kept)
        rm, rv = self.running_mean, self.running_var
        if not self.training:
            y, self.inv_std = N.batch_norm_eval(x, rm, rv, gamma, beta, self.eps)
            return y
        y, (self.mean, self.inv_std, var) = N.batch_norm_train(x, gamma, beta, self.eps)
        if rm is not None:  # running averages, updated in place (they are module buffers)
            m, mo = x.size // x.shape[1], self.momentum
            rm *= 1 - mo
            rm += mo * self.mean.astype(rm.dtype)
            rv *= 1 - mo
            rv += mo * (var * (m / max(m - 1, 1))).astype(rv.dtype)  # unbiased, as PyTorch
        return y

    def backward(self, gy):
        if self.training:
            return N.batch_norm_train_backward(gy, self.x, self.gamma, self.mean, self.inv_std)
        return N.batch_norm_eval_backward(gy, self.x, self.running_mean, self.gamma, self.inv_std)


def batch_norm(x, running_mean, running_var, weight, bias, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over (n, h, w) for each channel of x (n, c, h, w), or over n and
    the trailing axes of (n, c), (n, c, L), (n, c, d, h, w), ...: every rank from 2, as
    PyTorch's (channels on axis 1).

    Training: normalise with the batch mean and (biased) variance and update the running
    averages in place: ``running = (1 - momentum) * running + momentum * batch`` (the unbiased
    variance, as PyTorch). Eval: normalise with the running averages. ``weight``/``bias`` are
    the per-channel scale gamma and shift beta (c,). As PyTorch's ``F.batch_norm``: either may
    be None (no scale, no shift); the running averages may be None in training (nothing is
    updated), not in eval; ``momentum`` is a number (:class:`~minifcn.nn.BatchNorm2d`'s None,
    a cumulative average, passes 1 / its count of batches).

    >>> import numpy as np
    >>> c = 3; rm, rv = np.zeros(c), np.ones(c)
    >>> x = np.random.default_rng(0).standard_normal((2, c, 4, 4)) + 5
    >>> y = batch_norm(x, rm, rv, np.ones(c), np.zeros(c), training=True)
    >>> bool(abs(y.numpy().mean()) < 1e-8), bool(np.all(rm > 0.4))
    (True, True)
    >>> x2 = np.array([[1.0, 10.0], [3.0, 30.0]])                  # (n, c): over the batch
    >>> batch_norm(x2, None, None, None, None, training=True).numpy().round(3)
    array([[-1., -1.],
           [ 1.,  1.]])
    """
    x = as_tensor(x)
    if x.ndim < 2:   # PyTorch's failed on a 0-d input with an IndexError
        raise ValueError(f"batch_norm: input must have at least 2 dimensions (n, c, ...), got shape "
                         f"{tuple(x.shape)}")
    _check_float("batch_norm", x)
    training = _flag("batch_norm", "training", training)
    check_momentum("batch_norm", momentum)   # 5.0 had been taken, None failed in the kernel
    c = x.shape[1]
    xp = get_array_module(x.data)
    # None: no scale or shift (PyTorch's affine=False); it had become a 0-d object array
    weight = Tensor(xp.ones(c, x.dtype)) if weight is None else as_tensor(weight)
    bias = Tensor(xp.zeros(c, x.dtype)) if bias is None else as_tensor(bias)
    for name, v in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if v is not None and tuple(v.shape) != (c,):
            raise ValueError(f"batch_norm: {name} shape {tuple(v.shape)} should be ({c},) for {c} channels "
                             f"(input of shape {tuple(x.shape)})")
    _check_same_dtype("batch_norm", x, weight, bias)   # float64 parameters had made eval float64
    if not eps > 0:   # a negative eps made the output NaN
        raise ValueError(f"batch_norm: eps must be positive, got {eps!r}")
    rm, rv = _raw(running_mean), _raw(running_var)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    if x.size == 0:   # no values: nothing to normalise, no statistics to average (as PyTorch; the
        return x * weight.reshape(per_channel) + bias.reshape(per_channel)   # mean of none was NaN)
    if training and x.size == c:   # PyTorch refuses this too: the variance of one value is 0
        what = "one image whose map is 1x1" if x.ndim == 4 else "one sample of one value per channel"
        raise ValueError(f"batch_norm: training needs more than one value per channel, got input "
                         f"of shape {tuple(x.shape)} ({what}: give a larger input or batch, or use "
                         f"eval mode)")
    if not training and (rm is None or rv is None):
        raise ValueError("batch_norm: eval mode needs running_mean and running_var")
    if x.ndim == 4:   # the models' input goes as it is: no reshape on the hot path
        return BatchNorm(training, momentum, eps, rm, rv)(x, weight, bias)
    # any other rank as the 4-D view (n, c, 1, L): the same values per channel, so the same
    # statistics and gradients (BatchNorm1d and 3d do the same)
    y = BatchNorm(training, momentum, eps, rm, rv)(x.reshape(x.shape[0], c, 1, -1), weight, bias)
    return y.reshape(x.shape)


# --------------------------------------------------------------------- group, instance, layer norm
def _check_float_input(op, x, min_ndim, layout):
    """A float32 or float64 input of at least ``min_ndim`` axes (``layout`` names them)."""
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: input must have at least {min_ndim} dimensions {layout}, got shape "
                         f"{tuple(x.shape)}")
    _check_float(op, x)


def _check_eps(op, eps):
    """A positive number (a negative one makes the output NaN, as in :func:`batch_norm`)."""
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"{op}: eps must be a positive number, got {eps!r}")


def _affine_params(op, x, weight, bias, shape):
    """``weight`` and ``bias`` as Tensors of ``shape`` and x's dtype, or None (no scale, no
    shift): else the error naming the one that is not."""
    weight = None if weight is None else as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and tuple(v.shape) != shape:
            raise ValueError(f"{op}: {name} shape {tuple(v.shape)} should be {shape} for input of "
                             f"shape {tuple(x.shape)}")
    _check_same_dtype(op, x, weight, bias)
    return weight, bias


def check_normalized_shape(op, normalized_shape) -> tuple:
    """LayerNorm's ``normalized_shape``: an int or a non-empty sequence of ints >= 0, as a tuple."""
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if not shape or not all(isinstance(d, numbers.Integral) and not isinstance(d, (bool, np.bool_))
                            and d >= 0 for d in shape):
        raise ValueError(f"{op}: normalized_shape must be an int or a non-empty sequence of ints "
                         f">= 0 (the input's trailing dimensions), got {normalized_shape!r}")
    return tuple(int(d) for d in shape)


class SlabNorm(Function):
    """Group, instance and layer norm: each slab of the 4-D view ``view`` (n, g, k, l) of x
    normalised over its k*l values, then scaled and shifted per (g, k)
    (:mod:`minifcn.kernels.norm` gives each norm's view). With running averages (instance
    norm's), they are updated in place from the slabs' mean and unbiased variance, averaged over
    the batch, as PyTorch's."""

    def __init__(self, view, eps, has_weight, has_bias, running_mean=None, running_var=None, momentum=0.0):
        self.view, self.eps, self.has_weight, self.has_bias = view, eps, has_weight, has_bias
        self.running_mean, self.running_var, self.momentum = running_mean, running_var, momentum

    def forward(self, x, *params):
        n, g, k, l = self.view
        weight = params[0] if self.has_weight else None
        bias = params[-1] if self.has_bias else None
        self.x_shape, self.param_shape = x.shape, params[0].shape if params else None
        self.x = x.reshape(self.view)   # a view of a contiguous x: nothing kept that the graph lacks
        self.gamma = None if weight is None else weight.reshape(g, k)
        beta = None if bias is None else bias.reshape(g, k)
        y, (self.mean, self.inv_std, var) = N.group_norm(self.x, self.gamma, beta, self.eps)
        rm, rv = self.running_mean, self.running_var
        if rm is not None and n > 0:   # an empty batch leaves them alone (its mean is NaN)
            m, mo = k * l, self.momentum
            rm *= 1 - mo
            rm += mo * self.mean.reshape(n, g).mean(axis=0).astype(rm.dtype)
            rv *= 1 - mo
            rv += mo * (var.reshape(n, g).mean(axis=0) * (m / max(m - 1, 1))).astype(rv.dtype)
        return y.reshape(x.shape)

    def backward(self, gy):
        need_weight = self.has_weight and _wants_grad(self, 1)
        need_bias = self.has_bias and _wants_grad(self, 2 if self.has_weight else 1)
        gx, gw, gb = N.group_norm_backward(gy.reshape(self.view), self.x, self.gamma, self.mean,
                                           self.inv_std, need_weight, need_bias)
        grads = [gx.reshape(self.x_shape)]
        for has, gp in ((self.has_weight, gw), (self.has_bias, gb)):
            if has:
                grads.append(None if gp is None else gp.reshape(self.param_shape))
        return tuple(grads)


def _slab_norm(x, view, weight, bias, eps, running_mean=None, running_var=None, momentum=0.0):
    """x normalised by :class:`SlabNorm` over the slabs of ``view``, with the parameters given."""
    params = [p for p in (weight, bias) if p is not None]
    fn = SlabNorm(view, float(eps), weight is not None, bias is not None, running_mean, running_var,
                  momentum)
    return fn(x, *params)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation (Wu and He, 2018) of x (n, c, *): the c channels split into
    ``num_groups`` groups of consecutive channels, each image's group normalised over all its
    channels and positions together (mean 0, biased variance 1), then scaled by ``weight`` and
    shifted by ``bias``, each (c,) or None (none). Same shape out.

    ``num_groups=1`` normalises each image as a whole; ``num_groups=c`` is
    :func:`instance_norm` (without running statistics). No statistic crosses images, so a
    batch of one is normalised as well as a large one, and training and eval are the same.

    >>> import numpy as np
    >>> x = np.arange(8.0).reshape(1, 4, 2, 1)     # groups: channels 0-1 and 2-3, values 0-3, 4-7
    >>> group_norm(x, 2).numpy()[0, :, :, 0].round(4)
    array([[-1.3416, -0.4472],
           [ 0.4472,  1.3416],
           [-1.3416, -0.4472],
           [ 0.4472,  1.3416]])
    """
    x = as_tensor(input)
    _check_float_input("group_norm", x, 2, "(n, c, *)")
    num_groups = check_count("group_norm", "num_groups", num_groups)
    n, c = x.shape[:2]
    if c % num_groups:
        raise ValueError(f"group_norm: input of shape {tuple(x.shape)} has {c} channels, not "
                         f"divisible by num_groups={num_groups}")
    weight, bias = _affine_params("group_norm", x, weight, bias, (c,))
    _check_eps("group_norm", eps)
    l = math.prod(x.shape[2:])
    if n * (c // num_groups) * l == 1:   # PyTorch's rule: the batch holds one value a group
        raise ValueError(f"group_norm: input of shape {tuple(x.shape)} with num_groups={num_groups} "
                         f"holds one value per group: expected more than one (a larger batch or map)")
    return _slab_norm(x, (n, num_groups, c // num_groups, l), weight, bias, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation (Ba et al., 2016): x (*, *normalized_shape) normalised over its
    trailing ``normalized_shape`` dimensions, each of the leading positions on its own (mean 0,
    biased variance 1), then multiplied by ``weight`` and shifted by ``bias``, each of shape
    ``normalized_shape`` (one value per normalised element) or None. Same shape out.

    Over (c, h, w) of an (n, c, h, w) map it is :func:`group_norm` with one group, except that
    its parameters are per element rather than per channel.

    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])
    >>> layer_norm(x, 3).numpy().round(4)                         # each row on its own
    array([[-1.2247,  0.    ,  1.2247],
           [-0.7071, -0.7071,  1.4142]])
    """
    x = as_tensor(input)
    shape = check_normalized_shape("layer_norm", normalized_shape)
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} expects an input of shape "
                         f"(*, {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    _check_float_input("layer_norm", x, k, "(*, *normalized_shape)")
    weight, bias = _affine_params("layer_norm", x, weight, bias, shape)
    _check_eps("layer_norm", eps)
    m = math.prod(shape)
    return _slab_norm(x, (math.prod(x.shape[:x.ndim - k]), 1, m, 1), weight, bias, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation (Ulyanov et al., 2016) of x (n, c, *spatial): each channel of
    each image normalised over its positions (mean 0, biased variance 1), then scaled and
    shifted per channel by ``weight`` and ``bias`` (c,) or None: :func:`group_norm` with one
    channel a group, which computes it.

    ``use_input_stats`` (PyTorch's default True): the statistics of each image's channel, and
    the running averages (c,), when given, updated in place as batch norm's are,
    ``running = (1 - momentum) * running + momentum * stat``, ``stat`` the batch's mean of
    the per-image means and unbiased variances. False: normalise with the running averages
    instead (:func:`batch_norm`'s eval).

    >>> import numpy as np
    >>> x = np.array([[[[1.0, 3.0]], [[0.0, 10.0]]]])               # (1, 2, 1, 2)
    >>> rm, rv = np.zeros(2), np.ones(2)
    >>> instance_norm(x, rm, rv, momentum=0.5).numpy().round(4).tolist()
    [[[[-1.0, 1.0]], [[-1.0, 1.0]]]]
    >>> rm.tolist(), rv.tolist()                     # halfway to (2, 5) and to (2, 50)
    ([1.0, 2.5], [1.5, 25.5])
    """
    x = as_tensor(input)
    _check_float_input("instance_norm", x, 3, "(n, c, *spatial)")
    use_input_stats = _flag("instance_norm", "use_input_stats", use_input_stats)
    check_momentum("instance_norm", momentum)
    n, c = x.shape[:2]
    weight, bias = _affine_params("instance_norm", x, weight, bias, (c,))
    rm, rv = _raw(running_mean), _raw(running_var)
    for name, v in (("running_mean", rm), ("running_var", rv)):
        if v is not None and tuple(v.shape) != (c,):
            raise ValueError(f"instance_norm: {name} shape {tuple(v.shape)} should be ({c},) for "
                             f"{c} channels")
    if (rm is None) != (rv is None):
        raise ValueError("instance_norm: give running_mean and running_var together, or neither")
    _check_eps("instance_norm", eps)
    l = math.prod(x.shape[2:])
    if not use_input_stats:   # per-channel constants: batch norm's eval, on an (n, c, l, 1) view
        if rm is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        return batch_norm(x.reshape(n, c, l, 1), rm, rv, weight, bias, training=False,
                          eps=eps).reshape(x.shape)
    if l == 1:   # PyTorch refuses it too: each channel's variance is 0, y is the bias alone
        raise ValueError(f"instance_norm: input of shape {tuple(x.shape)} has one value per channel "
                         f"of an image: expected more than one spatial element (or use_input_stats=False)")
    return _slab_norm(x, (n, c, 1, l), weight, bias, eps, rm, rv, momentum)


class LocalResponseNorm(Function):
    def __init__(self, size, alpha, beta, k):
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        self.x = x
        self.y, self.d = N.lrn(x, self.size, self.alpha, self.beta, self.k)
        return self.y

    def backward(self, gy):
        return N.lrn_backward(gy, self.x, self.y, self.d, self.size, self.alpha, self.beta)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels of x (n, c, h, w), PyTorch's and Caffe's
    (``ACROSS_CHANNELS``): each value divided by ``(k + alpha/size * s)**beta``, ``s`` the sum of
    squares over the ``size`` neighbouring channels ``c - size//2 .. c + (size-1)//2`` (those that
    exist). SegNet-Basic applies it to the input image (size 5). Same shape out.

    >>> import numpy as np
    >>> x = np.ones((1, 3, 1, 1))
    >>> local_response_norm(x, 5, alpha=5.0, beta=1.0, k=1.0).numpy().ravel()   # 1 / (1 + 3)
    array([0.25, 0.25, 0.25])
    """
    x = as_tensor(x)
    _check_4d("local_response_norm", "input", x)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive integer, got {size!r}")
    if not k > 0 or not beta >= 0:
        raise ValueError(f"local_response_norm: need k > 0 and beta >= 0, got k={k!r}, beta={beta!r}")
    return LocalResponseNorm(int(size), float(alpha), float(beta), float(k))(x)


# --------------------------------------------------------------------- softmax and loss
class LogSoftmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = L.log_softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


class Softmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = L.softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


def _softmax_axis(op, x, axis, dim):
    """The axis that ``dim`` (or ``axis``, 1 by default) names in x, counted from the end when
    negative; a 0-d x takes 0 or -1, as PyTorch's (one value, of probability 1). Else the error
    naming it and x's shape, not NumPy's AxisError.

    The default stays axis 1, the class axis of NCHW scores, for every rank: PyTorch's
    ``F.softmax(x)`` without ``dim`` guesses (0 for 0-, 1- and 3-d inputs, else 1, with a
    deprecation warning), and a guess that gave 0 for a vector here would still read axis 1
    of a 3-d input where PyTorch's reads 0. So a 0-d or 1-d input, which has no axis 1, is
    asked for ``dim=0``; ``nn.Softmax()`` without ``dim`` follows PyTorch's guess."""
    if dim is None and axis == 1 and x.ndim < 2:
        raise ValueError(f"{op}: a {x.ndim}-d input has no axis 1, the default (the class axis of "
                         f"NCHW scores, as softmax's here): pass dim=0 (input of shape {tuple(x.shape)})")
    d = axis if dim is None else dim
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(d).__name__} {d!r}")
    n = max(x.ndim, 1)
    if not -n <= d < n:   # an IndexError, as PyTorch's "Dimension out of range"
        raise IndexError(f"{op}: dim {d} is out of range [{-n}, {n - 1}] for an input of shape "
                         f"{tuple(x.shape)}")
    return int(d) % n


def softmax(x, axis=1, *, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (the class axis of NCHW scores by default; PyTorch's
    ``dim`` is taken too). A 0-d or 1-d input needs ``dim=0`` (:func:`_softmax_axis` says why).

    >>> import numpy as np
    >>> softmax(np.zeros((1, 4, 1, 1))).numpy().ravel()
    array([0.25, 0.25, 0.25, 0.25])
    >>> softmax(np.zeros(2), dim=-1).numpy()
    array([0.5, 0.5])
    """
    x = as_tensor(x)
    return Softmax(_softmax_axis("softmax", x, axis, dim))(x)


def log_softmax(x, axis=1, *, dim=None):
    """x - log(sum(exp(x))) along ``axis`` (or PyTorch's ``dim``), stable for large scores.

    >>> import numpy as np
    >>> float(log_softmax(np.array([[0.0, 0.0]])).numpy()[0, 0]) == float(-np.log(2))
    True
    """
    x = as_tensor(x)
    return LogSoftmax(_softmax_axis("log_softmax", x, axis, dim))(x)


def softmin(x, axis=1, *, dim=None):
    """exp(-x) / sum(exp(-x)) along ``axis`` (or PyTorch's ``dim``): :func:`softmax` of ``-x``,
    the smallest score the most probable.

    Reads axis 1 by default, as :func:`softmax` here (the class axis of NCHW scores), where
    PyTorch's ``F.softmin`` without ``dim`` guesses one (0 for 0-, 1- and 3-d inputs), with a
    warning; ``nn.Softmin()`` follows PyTorch's guess. A 0-d or 1-d input needs ``dim=0``.

    >>> import numpy as np
    >>> softmin(np.array([[0.0, np.log(3.0)]])).numpy()
    array([[0.75, 0.25]])
    """
    x = as_tensor(x)
    return softmax(-x, _softmax_axis("softmin", x, axis, dim))


def _check_labels(op, name, x, target, weight, ignore_index, reduction):
    """The checks that cross_entropy and nll_loss share, on scores ``x`` (n, C, *spatial) named
    ``name``: the reduction, the target's shape, dtype and range, the weight's shape. Returns
    the target as int64 and the weight as an array of x's dtype (or None)."""
    xp = get_array_module(x.data)
    t = xp.asarray(_raw(target))
    check_reduction(op, reduction)
    if x.ndim < 2:   # PyTorch also takes one unbatched (C,) score vector; here a batch is needed
        raise ValueError(f"{op}: {name} must have at least 2 dimensions, (n, C, *spatial), got "
                         f"shape {tuple(x.shape)}: add the batch axis, x[None], and target[None]")
    if tuple(t.shape) != (x.shape[0],) + tuple(x.shape[2:]):
        soft = (f" Class probabilities as targets (PyTorch's soft labels) are not taken by {op}: "
                "give one class index a pixel, or the logits and the probabilities to "
                "cross_entropy.") if tuple(t.shape) == tuple(x.shape) else ""
        raise ValueError(f"{op}: target shape {tuple(t.shape)} does not match {name} "
                         f"{tuple(x.shape)} (expected (n, *spatial) = "
                         f"{(x.shape[0],) + tuple(x.shape[2:])}).{soft}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class ids, got {t.dtype}")
    C = x.shape[1]
    # NumPy and CuPy would silently wrap a label of -1 or C: refuse it here instead
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bool(bad.any()):
        raise ValueError(f"{op}: label {int(t[bad].ravel()[0])} is outside [0, {C}) and is not "
                         f"the ignore index {ignore_index}")
    return t.astype(xp.int64, copy=False), _check_class_weight(op, x, weight)


def _check_class_weight(op, x, weight):
    """The class weights as an array of x's dtype, shape (C,) for scores x (n, C, ...); or None."""
    if weight is None:
        return None
    w = get_array_module(x.data).asarray(_raw(weight), dtype=x.dtype)
    if tuple(w.shape) != (x.shape[1],):
        raise ValueError(f"{op}: weight shape {tuple(w.shape)} should be ({x.shape[1]},)")
    return w


def _check_probs(op, x, target, weight, reduction):
    """The checks of a target of the scores' own shape, class probabilities: float, and of x's
    dtype where it requires grad (its gradient has that dtype); cast to it otherwise. Returns
    the target as a Tensor and the weight as an array of x's dtype (or None)."""
    check_reduction(op, reduction)
    target = as_tensor(target, like=x)
    if target.dtype.kind != "f":
        raise TypeError(f"{op}: a target of the logits' shape {tuple(x.shape)} holds class "
                        f"probabilities and must be float, got {target.dtype}; class ids go in "
                        f"shape (n, *spatial) = {(x.shape[0],) + tuple(x.shape[2:])}")
    if target.dtype != x.dtype:
        if target.requires_grad:
            raise TypeError(f"{op}: a target that requires grad must have the logits' dtype "
                            f"{x.dtype}, got {target.dtype}")
        target = Tensor(target.data.astype(x.dtype))
    return target, _check_class_weight(op, x, weight)


class CrossEntropy(Function):
    def __init__(self, target, weight, ignore_index, reduction, label_smoothing):
        self.target, self.weight = target, weight
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing

    def forward(self, logits):
        loss, self.cache = L.cross_entropy(logits, self.target, self.weight, self.ignore_index,
                                           self.reduction, self.label_smoothing)
        return loss

    def backward(self, gy):
        return L.cross_entropy_backward(gy, self.cache)


class CrossEntropyProbs(Function):
    """The cross-entropy against class probabilities, differentiable in both the logits and the
    target (as PyTorch's): ``forward(logits, probs)``, kernels/loss.py."""

    def __init__(self, weight, reduction, label_smoothing):
        self.weight, self.reduction, self.label_smoothing = weight, reduction, label_smoothing

    def forward(self, logits, probs):
        loss, self.cache = L.cross_entropy_probs(logits, probs, self.weight, self.reduction,
                                                 self.label_smoothing)
        return loss

    def backward(self, gy):
        # the target's gradient only where it asks for one (most targets are data)
        return L.cross_entropy_probs_backward(gy, self.cache, self.inputs[1].requires_grad)


# keyword-only after weight: PyTorch's 4th argument is size_average, its 5th ignore_index
def cross_entropy(logits, target, weight=None, *, ignore_index=255, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy per pixel, fused: log-softmax is read only at the labels, and the
    backward pass is one pass over the scores (kernels/loss.py).

    Shapes: logits (n, C, h, w) (or (n, C)), target (n, h, w) (or (n,)) integers in [0, C) or
    ``ignore_index``, weight (C,). ``"mean"`` averages over the non-ignored pixels (weighted:
    divides by the summed weights) and ``"sum"`` sums them (FCN's reference loss), each to a
    scalar; ``"none"`` returns each pixel's weighted loss (``w[t] * loss`` without smoothing)
    with the target's shape, 0 at ignored pixels (its ``backward`` takes a gradient of that
    shape). ``label_smoothing`` in [0, 1] aims at ``(1 - eps) onehot + eps / C``, as PyTorch's
    does, each class's share weighted by its own weight. Over no labelled pixel (or only pixels
    whose classes weigh 0) ``"mean"`` is NaN, as PyTorch's, and its gradient zero.

    Class probabilities (PyTorch's soft labels): a float ``target`` of the logits' own shape
    (n, C, *spatial) gives each pixel ``-sum_c w_c q_c log softmax(z)_c`` with
    ``q = (1 - eps) p + eps / C`` (``q = p`` without smoothing). Every pixel counts:
    ``ignore_index`` does not apply (PyTorch refuses a non-negative one there; here one other
    than the default 255 is refused, and 255 is not read) and ``"mean"`` divides by the number of pixels, n * prod(spatial),
    not by the weights; ``"none"`` gives (n, *spatial). ``p`` is taken as given (neither its
    range nor its sums are checked, as PyTorch's are not) and cast to the logits' dtype; one
    that requires grad must already have it (PyTorch would promote). It is differentiable too,
    as in PyTorch (distillation, mixup of targets)::

        d loss / d z = (softmax(z) * sum_c w_c q_c - w * q) * s
        d loss / d p = -(1 - eps) * w * log softmax(z) * s

    with ``s`` the upstream gradient over the pixel count for ``"mean"`` (kernels/loss.py).
    A one-hot ``p`` gives the labels' loss for ``"sum"`` and ``"none"``; the ``"mean"`` of
    labels divides by the summed ``w[t]`` of the labelled pixels instead.

    >>> import numpy as np
    >>> logits = np.zeros((1, 3, 2, 2), dtype=np.float32)
    >>> target = np.array([[[0, 1], [2, 255]]])
    >>> round(cross_entropy(logits, target).item(), 4), round(cross_entropy(logits, target, reduction="sum").item(), 4)
    (1.0986, 3.2958)
    >>> cross_entropy(logits, target, reduction="none").numpy().round(4)     # log 3 a pixel, 0 if ignored
    array([[[1.0986, 1.0986],
            [1.0986, 0.    ]]], dtype=float32)
    >>> p = np.array([[[[1.0, 0.5]], [[0.0, 0.5]], [[0.0, 0.0]]]], np.float32)   # (1, 3, 1, 2)
    >>> cross_entropy(logits[:, :, :1], p, reduction="none").numpy().round(4)    # log 3 each
    array([[[1.0986, 1.0986]]], dtype=float32)
    """
    logits = as_tensor(logits)
    check_label_smoothing("cross_entropy", label_smoothing)
    if isinstance(target, (list, tuple)):   # nested lists: their shape and kind, as an array's
        target = np.asarray(target)
    if logits.ndim >= 2 and tuple(getattr(target, "shape", ())) == tuple(logits.shape):
        # class probabilities (no ignore_index: every pixel counts)
        if ignore_index != 255:   # one given on purpose would mask nothing: say so, as PyTorch
            raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not read with class "
                             "probabilities as the target (every pixel counts): give a pixel "
                             "that should not count all-zero probabilities")
        p, w = _check_probs("cross_entropy", logits, target, weight, reduction)
        return CrossEntropyProbs(w, reduction, float(label_smoothing))(logits, p)
    t, w = _check_labels("cross_entropy", "logits", logits, target, weight, ignore_index, reduction)
    return CrossEntropy(t, w, ignore_index, reduction, float(label_smoothing))(logits)


class NLLLoss(Function):
    def __init__(self, target, weight, ignore_index, reduction):
        self.target, self.weight = target, weight
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, logp):
        loss, self.cache = L.nll(logp, self.target, self.weight, self.ignore_index, self.reduction)
        return loss

    def backward(self, gy):
        return L.nll_backward(gy, self.cache)


# keyword-only after weight, as cross_entropy's (PyTorch's 4th argument is size_average)
def nll_loss(input, target, weight=None, *, ignore_index=255, reduction="mean"):
    """The negative log-likelihood per pixel: ``-w[t] * input[t]``, for ``input`` holding
    log-probabilities, e.g. :func:`log_softmax`'s. ``nll_loss(log_softmax(x), t)`` is
    ``cross_entropy(x, t)``, in two ops (cross_entropy fuses them).

    Shapes: input (n, C, h, w) (or (n, C)), target (n, h, w) (or (n,)) integers in [0, C) or
    ``ignore_index``, weight (C,). Labels, weights and reductions as :func:`cross_entropy`'s:
    ``"mean"`` divides by the summed weights of the non-ignored pixels (NaN over none, with a
    zero gradient), ``"sum"`` sums, ``"none"`` keeps each pixel's ``-w[t] * input[t]`` (0
    where ignored) in the target's shape. The gradient is ``-w[t] / denom`` at each pixel's
    labelled entry and 0 at the other C - 1.

    >>> import numpy as np
    >>> logp = np.log(np.full((1, 3, 1, 2), 1 / 3, dtype=np.float32))
    >>> round(nll_loss(logp, np.array([[[2, 255]]])).item(), 4)       # ln 3: one pixel labelled
    1.0986
    >>> nll_loss(logp, np.array([[[2, 255]]]), reduction="none").numpy().round(4)
    array([[[1.0986, 0.    ]]], dtype=float32)
    """
    input = as_tensor(input)
    t, w = _check_labels("nll_loss", "input", input, target, weight, ignore_index, reduction)
    return NLLLoss(t, w, ignore_index, reduction)(input)


# keyword-only after target: PyTorch's third argument is size_average
def mse_loss(input, target, *, reduction="mean"):
    """The mean squared error ``(input - target)^2``, averaged (``"mean"``), summed (``"sum"``)
    or kept per value (``"none"``), as PyTorch's. Shapes: ``input`` and ``target`` alike (any);
    both may require grad. An integer target is read in ``input``'s dtype.

    >>> mse_loss([1.0, 2.0, 4.0, 3.0], [1.0, 0.0, 2.0, 3.0]).item(), mse_loss([1.0, 3.0], [0.0, 1.0], reduction="sum").item()
    (2.0, 5.0)
    """
    input, target = as_tensor(input), as_tensor(target)
    check_reduction("mse_loss", reduction)
    if tuple(target.shape) != tuple(input.shape):   # PyTorch broadcasts them, with a warning
        raise ValueError(f"mse_loss: target shape {tuple(target.shape)} differs from input shape "
                         f"{tuple(input.shape)}")
    if target.dtype.kind in "biu":   # float32 - int64 would be float64 in NumPy, float32 in PyTorch
        target = Tensor(target.data.astype(input.dtype))
    d = input - target
    squares = d * d
    if reduction == "none":
        return squares
    # "mean" divides, as PyTorch's (Tensor.mean multiplies by 1 / N: a last bit apart in float32)
    return squares.sum() if reduction == "sum" else squares.sum() / squares.size


# --------------------------------------------------------------------- elementwise losses
def _check_pair(op, input, target, reduction):
    """The checks the elementwise losses share: the reduction; a float32 or float64 input; a
    target of its very shape (PyTorch broadcasts other shapes, with a warning or an error),
    read in the input's dtype (an integer mask too; a float target that requires grad must
    already have it: its gradient has that dtype). Returns both as Tensors."""
    check_reduction(op, reduction)
    input = as_tensor(input)
    target = as_tensor(target, like=input)
    _check_float(op, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target shape {tuple(target.shape)} differs from input shape "
                         f"{tuple(input.shape)}")
    if target.dtype != input.dtype:
        if target.requires_grad:
            raise TypeError(f"{op}: a target that requires grad must have the input's dtype "
                            f"{input.dtype}, got {target.dtype}")
        target = Tensor(target.data.astype(input.dtype))
    return input, target


def _check_elementwise_weight(op, name, weight, x):
    """A ``weight`` (or ``pos_weight``) of the BCE losses as an array of x's dtype that
    broadcasts to x's shape (NumPy's rules, as PyTorch's: a class weight of (n, C, h, w) scores
    is (C, 1, 1)); or None. It is no leaf to learn: PyTorch refuses one that requires grad."""
    if weight is None:
        return None
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise ValueError(f"{op}: {name} must not require grad (the loss is not differentiable "
                         f"in it, as PyTorch's is not): pass {name}.detach()")
    w = get_array_module(x.data).asarray(_raw(weight), dtype=x.dtype)
    try:
        fits = np.broadcast_shapes(w.shape, x.shape) == tuple(x.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: {name} shape {tuple(w.shape)} does not broadcast to the input "
                         f"shape {tuple(x.shape)}")
    return w


def _check_probabilities(op, name, a):
    """Values in [0, 1], as PyTorch checks them (NaN fails too): a log of a negative number
    would be NaN and one of 1.5's complement too, silently."""
    bad = ~((a >= 0) & (a <= 1))
    if bool(bad.any()):
        raise ValueError(f"{op}: every {name} value must be a probability in [0, 1], got "
                         f"{float(a[bad].ravel()[0])!r}")


def check_nonnegative(op, name, v, positive=False):
    """SmoothL1's ``beta`` (>= 0) or Huber's ``delta`` (> 0, ``positive``): a real number (not
    a bool), as a float; else the ValueError naming it (PyTorch's RuntimeError)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not (
            v > 0 if positive else v >= 0):
        raise ValueError(f"{op}: {name} must be a {'positive' if positive else 'non-negative'} "
                         f"number, got {v!r}")
    return float(v)


class ElementwiseLoss(Function):
    """A loss ``l(x, t)`` of each input value and its target, then reduced: ``forward(x, t)``.

    A subclass gives ``values(x, t)`` and ``partials(x, t, want_x, want_t)``: the closed forms
    of ``l``, ``dl/dx`` and ``dl/dt`` on arrays (None for a partial not wanted). This class
    reduces them, as PyTorch does: ``"sum"``, ``"mean"`` (the sum divided by the count), or
    ``"none"`` (the values of ``x``'s shape), and scales the partials by the upstream gradient.
    """

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, x, t):
        self.x, self.t = x, t
        loss = self.values(x, t)
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction == "sum":
            return total
        if loss.size == 0:   # NaN, as PyTorch's mean of nothing, without NumPy's 0 / 0 warning
            return get_array_module(x).full((), np.nan, dtype=x.dtype)
        # divided, as PyTorch's (a * (1 / N) is a last bit apart), in the loss's dtype: NumPy
        # 1.x would divide a float32 scalar by an int in float64
        return get_array_module(x).true_divide(total, loss.size, dtype=loss.dtype)

    def backward(self, gy):
        if self.reduction == "mean":
            gy = gy / max(self.x.size, 1)   # of nothing: an empty gradient, no 1 / 0
        gx, gt = self.partials(self.x, self.t, _wants_grad(self, 0), _wants_grad(self, 1))
        return (None if gx is None else gx * gy), (None if gt is None else gt * gy)


def _weighted(a, w):
    return a if w is None or a is None else a * w


class BinaryCrossEntropy(ElementwiseLoss):
    """``-w (t log x + (1 - t) log(1 - x))``, each log clamped at -100 (PyTorch's). Partials:
    ``dl/dx = w (x - t) / max(x (1 - x), 1e-12)`` (PyTorch's floor: 0 and 1 give +-1e12 where
    they are wrong, not inf) and ``dl/dt = w (log(1 - x) - log x)``, the clamped logs (PyTorch's
    ``-logit(x)`` is +-inf at 0 and 1; the clamped logs are the forward's own slope in t)."""

    def __init__(self, weight, reduction):
        super().__init__(reduction)
        self.weight = weight

    @staticmethod
    def _logs(x):
        xp = get_array_module(x)
        # log 0 is -inf (and a NumPy warning) before the clamp: take it of 1 there instead
        log_x = xp.where(x > 0, xp.maximum(xp.log(xp.where(x > 0, x, 1)), -100), -100)
        log_1mx = xp.where(x < 1, xp.maximum(xp.log1p(-xp.where(x < 1, x, 0)), -100), -100)
        return log_x.astype(x.dtype, copy=False), log_1mx.astype(x.dtype, copy=False)

    def values(self, x, t):
        log_x, log_1mx = self._logs(x)
        return _weighted((t - 1) * log_1mx - t * log_x, self.weight)

    def partials(self, x, t, want_x, want_t):
        gx = gt = None
        if want_x:
            # PyTorch's floor is the float32 1e-12 (9.99999996e-13) in float64 too
            floor = x.dtype.type(np.float32(1e-12))
            gx = (x - t) / get_array_module(x).maximum((1 - x) * x, floor)
        if want_t:
            log_x, log_1mx = self._logs(x)
            gt = log_1mx - log_x
        return _weighted(gx, self.weight), _weighted(gt, self.weight)


class BinaryCrossEntropyWithLogits(ElementwiseLoss):
    """``w ((1 - t) x - (1 + (p - 1) t) log sigmoid(x))``: the BCE of ``sigmoid(x)``, with
    ``p`` the positives' weight, written with ``log sigmoid(x) = min(x, 0) - log(1 + e^-|x|)``
    so no exp overflows (logits of +-100 and more are exact). Partials, as PyTorch's:
    ``dl/dx = w ((1 + (p - 1) t) sigmoid(x) - p t)`` and
    ``dl/dt = w (log sigmoid(-x) - p log sigmoid(x))`` (``-w x`` without ``p``)."""

    def __init__(self, weight, pos_weight, reduction):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    @staticmethod
    def _log_sigmoids(x):
        """log sigmoid(x) and log sigmoid(-x), from one exp of -|x| (at most 1)."""
        xp = get_array_module(x)
        soft = xp.log1p(xp.exp(-xp.abs(x)))
        return xp.minimum(x, 0) - soft, xp.minimum(-x, 0) - soft

    def values(self, x, t):
        log_sig, _ = self._log_sigmoids(x)
        p = self.pos_weight
        log_weight = 1 if p is None else 1 + (p - 1) * t
        return _weighted((1 - t) * x - log_weight * log_sig, self.weight)

    def partials(self, x, t, want_x, want_t):
        p = self.pos_weight
        gx = gt = None
        if want_x:
            sig = _sigmoid(x)   # without overflow on either side
            gx = sig - t if p is None else (1 + (p - 1) * t) * sig - p * t
        if want_t:
            if p is None:
                gt = -x
            else:
                log_sig, log_sig_neg = self._log_sigmoids(x)
                gt = log_sig_neg - p * log_sig
        return _weighted(gx, self.weight), _weighted(gt, self.weight)


def _difference(x, t):
    """``x - t``, NaN at inf - inf as PyTorch's, without NumPy's warning."""
    with np.errstate(invalid="ignore"):
        return x - t


class L1(ElementwiseLoss):
    """``|x - t|``; partials ``sign(x - t)`` and its negative (0 where they are equal, as
    PyTorch's)."""

    def values(self, x, t):
        return abs(_difference(x, t))

    def partials(self, x, t, want_x, want_t):
        s = _sign_or_zero(x, t)
        return s, -s


def _sign_or_zero(x, t):
    """sign(x - t), 0 where it is NaN (a NaN or inf - inf), as PyTorch's: NumPy's sign would
    spread the NaN into the gradient."""
    d = _difference(x, t)
    return (d > 0).astype(d.dtype) - (d < 0).astype(d.dtype)


class SmoothL1(ElementwiseLoss):
    """With ``d = x - t``: ``d^2 / (2 beta)`` where ``|d| < beta``, ``|d| - beta / 2``
    elsewhere; partials ``d / beta`` and ``sign(d)`` there (negated for t). ``beta = 0`` is
    the L1 loss (PyTorch's switch: no 0 / 0)."""

    def __init__(self, beta, reduction):
        super().__init__(reduction)
        self.beta = beta

    def values(self, x, t):
        d, b = _difference(x, t), self.beta
        a = abs(d)
        return a if b == 0 else get_array_module(x).where(a < b, 0.5 * d * d / b, a - 0.5 * b)

    def partials(self, x, t, want_x, want_t):
        xp = get_array_module(x)
        d, b = _difference(x, t), self.beta
        # beta 0 is the L1 loss, PyTorch's too: 0 at a NaN there, NaN past beta otherwise
        g = _sign_or_zero(x, t) if b == 0 else xp.where(abs(d) < b, d / b, xp.sign(d))
        return g, -g


class Huber(ElementwiseLoss):
    """With ``d = x - t``: ``d^2 / 2`` where ``|d| < delta``, ``delta (|d| - delta / 2)``
    elsewhere (``delta`` times SmoothL1's with ``beta = delta``); partials ``d`` and
    ``delta sign(d)`` there (negated for t)."""

    def __init__(self, delta, reduction):
        super().__init__(reduction)
        self.delta = delta

    def values(self, x, t):
        d, c = _difference(x, t), self.delta
        a = abs(d)
        return get_array_module(x).where(a < c, 0.5 * d * d, c * (a - 0.5 * c))

    def partials(self, x, t, want_x, want_t):
        xp = get_array_module(x)
        d, c = _difference(x, t), self.delta
        g = xp.where(abs(d) < c, d, c * xp.sign(d))
        return g, -g


# keyword-only after weight: PyTorch's 4th and 5th arguments are size_average and reduce
def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """The binary cross-entropy of probabilities ``x`` (a sigmoid's output) and targets ``t``,
    value by value, as PyTorch's: ``-w (t log x + (1 - t) log(1 - x))``, each log clamped at
    -100 so a probability of exactly 0 or 1 costs at most 100, not inf.

    Shapes: input and target alike (any), both in [0, 1] (else ValueError); weight broadcasts
    to them (e.g. (C, 1, 1) for one weight a class of (n, C, h, w)). ``reduction``
    ``"mean"`` (over every value, weighted or not), ``"sum"`` or ``"none"``. Both input and
    target are differentiable: ``dl/dx = w (x - t) / max(x (1 - x), 1e-12)`` (PyTorch's
    floor) and ``dl/dt = w (log(1 - x) - log x)`` with the clamped logs (PyTorch gives +-inf
    at x = 0 or 1). An integer target (a 0/1 mask) is read in input's dtype (PyTorch refuses
    it). :func:`binary_cross_entropy_with_logits` takes the scores instead, stabler.

    >>> binary_cross_entropy([0.5, 0.0], [1.0, 1.0], reduction="none").numpy().round(4)   # ln 2; clamped
    array([  0.6931, 100.    ], dtype=float32)
    """
    input, target = _check_pair("binary_cross_entropy", input, target, reduction)
    _check_probabilities("binary_cross_entropy", "input", input.data)
    _check_probabilities("binary_cross_entropy", "target", target.data)
    w = _check_elementwise_weight("binary_cross_entropy", "weight", weight, input)
    return BinaryCrossEntropy(w, reduction)(input, target)


# keyword-only after weight, as binary_cross_entropy's
def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean", pos_weight=None):
    """:func:`binary_cross_entropy` of ``sigmoid(x)``, fused and stable, as PyTorch's:
    ``w ((1 - t) x - (1 + (p - 1) t) log sigmoid(x))``, with ``log sigmoid(x)`` taken as
    ``min(x, 0) - log(1 + e^-|x|)`` (no exp of a large logit, no log of 0: logits of +-100
    give PyTorch's values, no clamp needed). Each pixel of a multi-label map is its own yes/no.

    Shapes: input (the logits) and target alike (any), the target in [0, 1] (not checked, as
    PyTorch does not); ``weight`` and ``pos_weight`` broadcast to them by NumPy's rules, as
    PyTorch's: a weight of the positives a class for (n, C, h, w) logits is (C, 1, 1) (a (C,)
    one would meet the last axis, w). ``pos_weight = n_neg / n_pos`` evens out rare positives.
    Gradients: ``dl/dx = w ((1 + (p - 1) t) sigmoid(x) - p t)`` (``w (sigmoid(x) - t)``
    without ``p``) and ``dl/dt = w (log sigmoid(-x) - p log sigmoid(x))`` (``-w x``).

    >>> binary_cross_entropy_with_logits([0.0, 100.0, -100.0], [1.0, 1.0, 1.0], reduction="none").numpy().round(4)
    array([  0.6931,   0.    , 100.    ], dtype=float32)
    """
    op = "binary_cross_entropy_with_logits"
    input, target = _check_pair(op, input, target, reduction)
    w = _check_elementwise_weight(op, "weight", weight, input)
    p = _check_elementwise_weight(op, "pos_weight", pos_weight, input)
    return BinaryCrossEntropyWithLogits(w, p, reduction)(input, target)


# keyword-only after target: PyTorch's third argument is size_average
def l1_loss(input, target, *, reduction="mean"):
    """The absolute error ``|input - target|``, averaged, summed or kept per value, as
    PyTorch's. Shapes: input and target alike (any); both may require grad (the gradient is
    ``sign(input - target)``, 0 where they are equal). An integer target is read in input's
    dtype.

    >>> l1_loss([1.0, 2.0, 4.0], [1.0, 0.0, 3.0]).item()   # (0 + 2 + 1) / 3
    1.0
    """
    input, target = _check_pair("l1_loss", input, target, reduction)
    return L1(reduction)(input, target)


# keyword-only after target: PyTorch's third argument is size_average
def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):
    """PyTorch's smooth L1 loss (Fast R-CNN's): with ``d = input - target``,
    ``0.5 d^2 / beta`` where ``|d| < beta`` and ``|d| - 0.5 beta`` elsewhere: squared near
    0, so its gradient ``d / beta`` fades to 0, and the L1 loss's slope 1 far off, so one
    outlier does not dominate. ``beta`` >= 0; 0 is :func:`l1_loss`. Shapes and reductions as
    :func:`l1_loss`'s.

    >>> smooth_l1_loss([0.0, 0.0], [0.5, 3.0], reduction="none").numpy()   # 0.5 * 0.25, 3 - 0.5
    array([0.125, 2.5  ], dtype=float32)
    """
    beta = check_nonnegative("smooth_l1_loss", "beta", beta)
    input, target = _check_pair("smooth_l1_loss", input, target, reduction)
    return SmoothL1(beta, reduction)(input, target)


# reduction second, as PyTorch's huber_loss (it has no size_average)
def huber_loss(input, target, reduction="mean", delta=1.0):
    """The Huber loss, as PyTorch's: with ``d = input - target``, ``0.5 d^2`` where
    ``|d| < delta`` and ``delta (|d| - 0.5 delta)`` elsewhere, ``delta`` > 0: the squared
    error near 0, a slope of ``delta`` far off. It is ``delta`` times
    :func:`smooth_l1_loss` with ``beta = delta`` (the same for ``delta = 1``). Shapes and
    reductions as :func:`l1_loss`'s.

    >>> huber_loss([0.0, 0.0], [0.5, 3.0], reduction="none", delta=2.0).numpy()   # 0.5 * 0.25, 2 * (3 - 1)
    array([0.125, 4.   ], dtype=float32)
    """
    delta = check_nonnegative("huber_loss", "delta", delta, positive=True)
    input, target = _check_pair("huber_loss", input, target, reduction)
    return Huber(delta, reduction)(input, target)


def one_hot(tensor, num_classes=-1):
    """Class indices as one-hot vectors, as PyTorch's: shape (*, C) from (*), int64, outside the
    graph. ``num_classes=-1`` takes the largest index + 1; an index below 0 or from C up is an
    error (NumPy would compare it silently to nothing).

    >>> import numpy as np
    >>> one_hot(np.array([0, 2]), 3).numpy()
    array([[1, 0, 0],
           [0, 0, 1]])
    """
    t = _raw(tensor)
    xp = get_array_module(t)
    t = xp.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got {t.dtype}")
    num_classes = operator.index(num_classes)
    if num_classes == -1:
        if t.size == 0:
            raise ValueError("one_hot: cannot take the number of classes from an empty tensor: give num_classes")
        num_classes = int(t.max()) + 1
    if num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or >= 0, got {num_classes}")
    if t.size and int(t.min()) < 0:
        raise ValueError(f"one_hot: class values must be >= 0, got {int(t.min())}")
    if t.size and int(t.max()) >= num_classes:
        raise ValueError(f"one_hot: class value {int(t.max())} is not below num_classes {num_classes}")
    return Tensor((t[..., None] == xp.arange(num_classes)).astype(xp.int64))


# --------------------------------------------------------------------- crop
class Crop(Function):
    def __init__(self, oy, ox, h, w):
        self.oy, self.ox, self.h, self.w = oy, ox, h, w

    def forward(self, x):
        self.x_shape = x.shape
        xp = get_array_module(x)
        return xp.ascontiguousarray(x[:, :, self.oy:self.oy + self.h, self.ox:self.ox + self.w])

    def backward(self, gy):
        gx = cache.zeros(self.x_shape, gy.dtype, like=gy)
        gx[:, :, self.oy:self.oy + self.h, self.ox:self.ox + self.w] = gy
        return gx


def crop(x, offset, size):
    """Keep the window of ``size`` (h, w) whose top-left corner is at ``offset`` (oy, ox).

    Top-left anchored like Caffe's Crop layer (FCN's crops 19; 5 and 27; 5, 9 and 31).
    ``size`` may also be a 4-D shape, or a Tensor or array whose last two dimensions give (h, w).

    >>> import numpy as np
    >>> crop(np.arange(16.0).reshape(1, 1, 4, 4), 1, (2, 2)).numpy()[0, 0]
    array([[ 5.,  6.],
           [ 9., 10.]])
    """
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"crop: input must be 4-D (n, c, h, w), got shape {tuple(x.shape)}")
    oy, ox = _positive_pair("offset", offset, "crop", minimum=0)
    if hasattr(size, "shape"):  # a Tensor or an array: its size (iterating it would read its values)
        size = size.shape
    if isinstance(size, (tuple, list)) and len(size) in (2, 4):
        size = tuple(size)[-2:]
    h, w = _positive_pair("size", size, "crop", minimum=0)   # -1 had sliced as Python does
    H, W = x.shape[-2:]
    if oy + h > H or ox + w > W:
        raise ValueError(f"crop: a {h}x{w} window at offset ({oy}, {ox}) does not fit in the "
                         f"{H}x{W} input")
    return Crop(oy, ox, h, w)(x)


# --------------------------------------------------------------------- padding
PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad_amounts(op, pad):
    """PyTorch's ``pad`` tuple, (left, right) or (left, right, top, bottom) (the last axis
    first), as (top, bottom, left, right)."""
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{op}: pad must be a tuple of 2 or 4 ints (left, right[, top, bottom]), "
                        f"got {pad!r}")
    if len(pad) not in (2, 4):   # 6 or 8 would pad the channels and the batch: not taken here
        raise ValueError(f"{op}: pad must hold 2 or 4 ints (left, right[, top, bottom]), got "
                         f"{len(pad)}: {tuple(pad)!r}")
    for a in pad:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{op}: pad must hold ints, got {a!r} in {tuple(pad)!r}")
    left, right, top, bottom = tuple(int(a) for a in pad) + (0, 0) * (len(pad) == 2)
    return top, bottom, left, right


def _check_pad_fits(op, shape, pads, mode):
    """Each mode's limits, side by side with the input's size (what PyTorch refuses, and a
    circular crop past the input, where PyTorch reads memory that is not the input's)."""
    top, bottom, left, right = pads
    for name, size, before, after in (("height", shape[2], top, bottom), ("width", shape[3], left, right)):
        kept = size - max(-before, 0) - max(-after, 0)   # after the crops
        if mode in ("constant", "circular") and kept < 0:
            raise ValueError(f"{op}: padding ({before}, {after}) crops more than the input's "
                             f"{name} of {size}")
        for a in (before, after):
            if mode == "reflect" and a > 0 and a >= size:
                raise ValueError(f"{op}: reflect padding {a} must be less than the input's {name} "
                                 f"{size} (the mirror image leaves out the edge value)")
            if mode == "circular" and a > kept:
                raise ValueError(f"{op}: circular padding {a} is more than the {name} {kept} it "
                                 f"wraps round (once at most)")
            if mode == "replicate" and a > 0 and size == 0:
                raise ValueError(f"{op}: replicate padding {a} of an input of {name} 0: no edge value")
        if size + before + after < 0:
            raise ValueError(f"{op}: padding ({before}, {after}) of the input's {name} {size} "
                             f"leaves {size + before + after} values")


class Pad(Function):
    def __init__(self, pads, mode, value):
        self.pads, self.mode, self.value = pads, mode, value

    def forward(self, x):
        return P.pad(x, self.pads, self.mode, self.value)

    def backward(self, gy):
        # the adjoint: each padded value's gradient goes back to the value it copied (none for
        # a constant border; a cropped value gets zero)
        return P.pad_backward(gy, self.pads, self.mode)


def pad(x, pad, mode="constant", value=None):
    """Pad the last two axes of x (n, c, h, w), as PyTorch's ``F.pad``; a negative amount crops.

    ``pad`` is (left, right) or (left, right, top, bottom), PyTorch's order (the last axis first):
    x (n, c, h, w) -> (n, c, h + top + bottom, w + left + right). Modes: ``"constant"`` (``value``,
    0 when None; no other mode takes one), ``"reflect"`` (the mirror image without the edge
    value: each amount less than the size), ``"replicate"`` (the edge value repeated),
    ``"circular"`` (the other end's values: each amount at most the size). Every mode is a
    linear map of x, and its backward is the transpose: a constant border's gradient is
    dropped, the others' added back onto the values they copied.

    >>> import numpy as np
    >>> x = np.arange(1.0, 4.0).reshape(1, 1, 1, 3)
    >>> pad(x, (2, 1), mode="reflect").numpy()[0, 0]
    array([[3., 2., 1., 2., 3., 2.]])
    >>> pad(x, (1, -1, 1, 0)).numpy()[0, 0]             # -1: the last column cropped
    array([[0., 0., 0.],
           [0., 1., 2.]])
    """
    x = as_tensor(x)
    _check_4d("pad", "input", x)
    pads = pad_amounts("pad", pad)
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, PAD_MODES))}, got {mode!r}")
    if value is not None and value != 0 and mode != "constant":   # as PyTorch: 0 is let pass
        raise ValueError(f"pad: mode {mode!r} takes no value, got value={value!r}")
    if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"pad: value must be a number, got {value!r}")
    _check_pad_fits("pad", x.shape, pads, mode)
    return Pad(pads, mode, 0.0 if value is None else float(value))(x)


# --------------------------------------------------------------------- average pooling
class AvgPool2d(Function):
    def __init__(self, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        self.kernel, self.stride, self.padding, self.ceil_mode = kernel, stride, padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        self.hw = x.shape[2:]
        return P.avg_pool2d(x, self.kernel, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def backward(self, gy):
        return P.avg_pool2d_backward(gy, self.hw, self.kernel, self.stride, self.padding,
                                     self.count_include_pad, self.divisor_override)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling, as PyTorch's: each window's sum over its count.

    Shapes: x (n, c, h, w) -> (n, c, out_h, out_w) with ``out_h = floor((h + 2*ph - kh) / sy) + 1``
    (``ceil`` with ``ceil_mode``; a window must start inside the input or its left padding).
    ``stride`` defaults to ``kernel_size``. The count of a window is, with
    ``count_include_pad``, its cells inside the padded input (a ceil-mode window hanging past
    the padding counts fewer than ``kh * kw``), else its cells inside the input;
    ``divisor_override`` replaces it for every window. A linear map: the backward spreads each
    gradient, over the same count, evenly back over its window.

    >>> import numpy as np
    >>> x = np.arange(1.0, 6.0).reshape(1, 1, 1, 5)
    >>> avg_pool2d(x, (1, 2), ceil_mode=True).numpy()[0, 0]        # the last window holds 5 alone
    array([[1.5, 3.5, 5. ]])
    >>> avg_pool2d(x, (1, 3), 2, (0, 1)).numpy()[0, 0]             # zeros of the padding count
    array([[1., 3., 3.]])
    >>> avg_pool2d(x, (1, 3), 2, (0, 1), count_include_pad=False).numpy()[0, 0]
    array([[1.5, 3. , 4.5]])
    """
    x = as_tensor(x)
    kernel, stride, padding, ceil_mode = _pool_arguments("avg_pool2d", x, kernel_size, stride,
                                                         padding, ceil_mode)
    count_include_pad = _flag("avg_pool2d", "count_include_pad", count_include_pad)
    if divisor_override is not None and (isinstance(divisor_override, (bool, np.bool_)) or
                                         not isinstance(divisor_override, numbers.Integral) or
                                         divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a non-zero int or None, got "
                         f"{divisor_override!r}")
    divisor = None if divisor_override is None else int(divisor_override)
    return AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad, divisor)(x)


class LPPool2d(Function):
    def __init__(self, p, kernel, stride, ceil_mode):
        self.p, self.kernel, self.stride, self.ceil_mode = p, kernel, stride, ceil_mode

    def forward(self, x):
        xp = get_array_module(x)
        self.x, area = x, self.kernel[0] * self.kernel[1]
        # PyTorch's formula, step by step: the average of x**p times the window's area
        with np.errstate(invalid="ignore", divide="ignore"):   # NaN, inf where PyTorch has them
            self.s = P.avg_pool2d(xp.power(x, self.p), self.kernel, self.stride, (0, 0),
                                  self.ceil_mode) * area
            return xp.power(self.s, 1.0 / self.p)

    def backward(self, gy):
        xp = get_array_module(gy)
        p, area = self.p, self.kernel[0] * self.kernel[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            gs = gy * ((1.0 / p) * xp.power(self.s, 1.0 / p - 1.0))
            # PyTorch's sign(a) * relu(|a|) has a zero gradient at a zero sum (relu's), where
            # the root's is infinite: a window of zeros passes nothing back, not NaN
            ga = xp.where(self.s == 0, 0, gs * area).astype(gy.dtype, copy=False)
            gpow = P.avg_pool2d_backward(ga, self.x.shape[2:], self.kernel, self.stride, (0, 0))
            return gpow * (p * xp.power(self.x, p - 1.0))


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling, as PyTorch's: ``(sum over the window of x**p) ** (1/p)``, ``p =
    norm_type`` (``p = 1``: the window's sum; large ``p`` nears the maximum of ``|x|``).

    Shapes: x (n, c, h, w) -> (n, c, out_h, out_w), ``out_h = floor((h - kh) / sy) + 1``
    (``ceil`` with ``ceil_mode``); no padding; ``stride`` defaults to ``kernel_size``.
    Computed as PyTorch does, :func:`avg_pool2d` of ``x**p`` times ``kh*kw``, so a ceil-mode
    window hanging past the edge has its sum scaled by ``kh*kw`` over its pixels, as there;
    a negative ``x`` or sum to a fractional power is NaN, as there; and a window whose sum is
    0 passes back a zero gradient, as there (the root's derivative is infinite at 0).
    ``norm_type`` must be a positive finite number (PyTorch takes any, with meaningless
    results for ``p <= 0`` or ``inf``).

    >>> import numpy as np
    >>> lp_pool2d(np.array([[[[3., 4., 1., 2.]]]]), 2, (1, 2)).numpy()[0, 0]   # sqrt(9 + 16)
    array([[5.        , 2.23606798]])
    """
    x = as_tensor(x)
    if (isinstance(norm_type, (bool, np.bool_)) or not isinstance(norm_type, numbers.Real)
            or not 0 < norm_type < math.inf):
        raise ValueError(f"lp_pool2d: norm_type must be a positive finite number, got {norm_type!r}")
    _positive_pair("kernel_size", kernel_size, "lp_pool2d")   # no 1-tuple: PyTorch's unpacks a pair
    kernel, stride, _, ceil_mode = _pool_arguments("lp_pool2d", x, kernel_size, stride, 0, ceil_mode)
    return LPPool2d(float(norm_type), kernel, stride, ceil_mode)(x)


def adaptive_pool_matrix(in_size, out_size):
    """The (out_size, in_size) matrix of 1-D adaptive average pooling, ``y = A @ x``: row ``i``
    averages PyTorch's window ``[floor(i * in / out), ceil((i + 1) * in / out))``. Windows may
    overlap by a value when ``out`` does not divide ``in``.

    >>> adaptive_pool_matrix(4, 3)           # windows [0, 2), [1, 3), [2, 4)
    array([[0.5, 0.5, 0. , 0. ],
           [0. , 0.5, 0.5, 0. ],
           [0. , 0. , 0.5, 0.5]])
    """
    i = np.arange(out_size).reshape(-1, 1)
    start, end = i * in_size // out_size, -(-(i + 1) * in_size // out_size)
    cols = np.arange(in_size)
    return ((cols >= start) & (cols < end)) / (end - start)


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a given size, as PyTorch's: x (n, c, h, w) -> (n, c, *output_size).

    ``output_size`` is an int or an (out_h, out_w) pair; None in it keeps that side's size.
    Output row ``i`` averages input rows ``floor(i*h/out_h)`` to ``ceil((i+1)*h/out_h) - 1``,
    and likewise the columns: each axis one :func:`adaptive_pool_matrix`, applied as
    :func:`interpolate` applies its matrices (the backward is their transposes).

    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 1).numpy().ravel()   # global
    array([7.5])
    >>> adaptive_avg_pool2d(np.ones((1, 1, 7, 5)), (3, None)).shape
    (1, 1, 3, 5)
    """
    x = as_tensor(x)
    _check_4d("adaptive_avg_pool2d", "input", x)
    h, w = x.shape[2:]
    if min(h, w) < 1:
        raise ValueError(f"adaptive_avg_pool2d: input of shape {tuple(x.shape)} has no values to average")
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:   # else named below
        output_size = tuple(n if o is None else o for n, o in zip((h, w), output_size))
    out_h, out_w = _positive_pair("output_size", output_size, "adaptive_avg_pool2d")
    xp = get_array_module(x.data)
    A_h, A_w = (xp.asarray(adaptive_pool_matrix(n, o), dtype=x.dtype) for n, o in ((h, out_h), (w, out_w)))
    return Interpolate(A_h, A_w)(x)   # the same separable linear map as interpolate's, below


class AdaptiveMaxPool2d(Function):
    def __init__(self, out_hw):
        self.out_hw = out_hw

    def forward(self, x):
        (h, w), (out_h, out_w) = x.shape[2:], self.out_hw
        y, self.indices = P.adaptive_max_pool2d(x, self.out_hw)
        self.hw = (h, w)
        # bins share a row or column where the output does not divide the input: one input can
        # win two of them, and its gradients must add up
        self.overlap = bool(h % out_h or w % out_w)
        return y, self.indices

    def backward(self, gy, _gindices=None):
        return P.unpool_scatter(gy, self.indices, self.hw, accumulate=self.overlap)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Max pooling to a given size, as PyTorch's: x (n, c, h, w) -> (n, c, *output_size); with
    ``return_indices`` also the flat index ``iy * w + ix`` of each maximum.

    ``output_size`` is an int or an (out_h, out_w) pair; None in it keeps that side's size.
    Output ``(i, j)`` is the maximum over rows ``floor(i*h/out_h)`` to
    ``ceil((i+1)*h/out_h) - 1`` and the columns likewise (:func:`adaptive_avg_pool2d`'s bins);
    ties go to the first maximum in row-major order. The gradient goes to each maximum.

    >>> import numpy as np
    >>> y, idx = adaptive_max_pool2d(np.arange(20.0).reshape(1, 1, 4, 5), (2, None), True)
    >>> y.shape, idx.numpy()[0, 0]
    ((1, 1, 2, 5), array([[ 5,  6,  7,  8,  9],
           [15, 16, 17, 18, 19]]))
    """
    x = as_tensor(x)
    _check_4d("adaptive_max_pool2d", "input", x)
    h, w = x.shape[2:]
    if min(h, w) < 1:
        raise ValueError(f"adaptive_max_pool2d: input of shape {tuple(x.shape)} has no values to pool")
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:   # else named below
        output_size = tuple(n if o is None else o for n, o in zip((h, w), output_size))
    out_hw = _positive_pair("output_size", output_size, "adaptive_max_pool2d")
    return_indices = _flag("adaptive_max_pool2d", "return_indices", return_indices)
    y, indices = AdaptiveMaxPool2d(out_hw)(x)
    return (y, indices) if return_indices else y


# --------------------------------------------------------------------- pixel shuffle
def _pixel_shuffle_array(x, r):
    """(*, c*r*r, h, w) -> (*, c, h*r, w*r): channel ``k*r*r + i*r + j`` fills the pixels
    ``(y*r + i, x*r + j)`` of channel ``k``, PyTorch's order."""
    *lead, crr, h, w = x.shape
    c = crr // (r * r)
    y = x.reshape(math.prod(lead), c, r, r, h, w).transpose(0, 1, 4, 2, 5, 3)   # (b, c, h, i, w, j)
    # always a copy, as PyTorch's: reshaping the transpose copies too, unless the axes it
    # swaps have size 1 (r = 1, a 1x1 map), where it would be a view of x
    return y.copy().reshape(*lead, c, h * r, w * r)


def _pixel_unshuffle_array(x, r):
    """(*, c, h*r, w*r) -> (*, c*r*r, h, w), :func:`_pixel_shuffle_array` undone."""
    *lead, c, hr, wr = x.shape
    h, w = hr // r, wr // r
    y = x.reshape(math.prod(lead), c, h, r, w, r).transpose(0, 1, 3, 5, 2, 4)   # (b, c, i, j, h, w)
    return y.copy().reshape(*lead, c * r * r, h, w)   # a copy, as above (r = 1, an r x r map)


class PixelShuffle(Function):
    def __init__(self, r):
        self.r = r

    def forward(self, x):
        return _pixel_shuffle_array(x, self.r)

    def backward(self, gy):
        # a permutation of the values: its transpose is its inverse, the unshuffle
        return _pixel_unshuffle_array(gy, self.r)


class PixelUnshuffle(Function):
    def __init__(self, r):
        self.r = r

    def forward(self, x):
        return _pixel_unshuffle_array(x, self.r)

    def backward(self, gy):
        return _pixel_shuffle_array(gy, self.r)


def _check_factor(op, name, r):
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {r!r}")
    if r < 1:
        raise ValueError(f"{op}: {name} must be >= 1, got {r}")
    return int(r)


def pixel_shuffle(input, upscale_factor):
    """Sub-pixel convolution's rearrangement (Shi et al. 2016), as PyTorch's ``F.pixel_shuffle``:
    (*, c*r*r, h, w) -> (*, c, h*r, w*r), ``r = upscale_factor``. Output
    ``y[..., k, oy, ox] = x[..., k*r*r + (oy % r)*r + ox % r, oy // r, ox // r]``: each group of
    ``r*r`` channels tiles one channel's r x r blocks, row by row. A permutation of the values,
    so its backward is its inverse, :func:`pixel_unshuffle`.

    >>> import numpy as np
    >>> pixel_shuffle(np.arange(4.0).reshape(1, 4, 1, 1), 2).numpy()[0, 0]
    array([[0., 1.],
           [2., 3.]])
    """
    x = as_tensor(input)
    r = _check_factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if x.ndim < 3:
        raise ValueError(f"pixel_shuffle: input must be (*, c*r*r, h, w), at least 3-D, got shape "
                         f"{tuple(x.shape)}")
    if x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: the input's {x.shape[-3]} channels are not a multiple of "
                         f"upscale_factor**2 = {r * r}")
    return PixelShuffle(r)(x)


def pixel_unshuffle(input, downscale_factor):
    """:func:`pixel_shuffle` undone, as PyTorch's ``F.pixel_unshuffle``: (*, c, h*r, w*r) ->
    (*, c*r*r, h, w), ``r = downscale_factor``; each r x r block of a channel becomes ``r*r``
    channels, ``y[..., k*r*r + i*r + j, iy, ix] = x[..., k, iy*r + i, ix*r + j]``. Its backward
    is :func:`pixel_shuffle`.

    >>> import numpy as np
    >>> pixel_unshuffle(np.arange(4.0).reshape(1, 1, 2, 2), 2).numpy().ravel()
    array([0., 1., 2., 3.])
    """
    x = as_tensor(input)
    r = _check_factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if x.ndim < 3:
        raise ValueError(f"pixel_unshuffle: input must be (*, c, h*r, w*r), at least 3-D, got shape "
                         f"{tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: the input's height {h} and width {w} must both be "
                         f"multiples of downscale_factor {r}")
    return PixelUnshuffle(r)(x)


# --------------------------------------------------------------------- grid sampling
def _grid_axis(size, align_corners):
    """The ``size`` pixel centres of one axis in grid coordinates, PyTorch's: -1 and 1 the
    corner pixels' centres with ``align_corners``, else the image's outer edges (the centres
    at ``(2i + 1) / size - 1``); one pixel at 0."""
    if size <= 1:
        return np.zeros(size)
    v = np.linspace(-1.0, 1.0, size)
    return v if align_corners else v * (size - 1) / size


class AffineGrid(Function):
    def __init__(self, base, hw):
        self.base, self.hw = base, hw   # base (h*w, 3): each output pixel's x, y, 1

    def forward(self, theta):
        # (n, 2, 3) -> (n, h, w, 2): each pixel's (x, y) sent through its image's theta
        return (self.base @ theta.transpose(0, 2, 1)).reshape(theta.shape[0], *self.hw, 2)

    def backward(self, gy):
        # linear in theta: (n, 2, h*w) @ (h*w, 3)
        return gy.reshape(gy.shape[0], self.base.shape[0], 2).transpose(0, 2, 1) @ self.base


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of an affine map, as PyTorch's ``F.affine_grid`` (2-D): theta
    (n, 2, 3), size (n, c, h, w) -> grid (n, h, w, 2), ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)``
    with ``x_j``, ``y_i`` the output pixels' centres in [-1, 1] (:func:`grid_sample`'s
    coordinates: ``align_corners`` as there, False when None). An identity theta gives the grid
    that samples every pixel of an (h, w) image at its centre; the grid's gradient flows back
    into theta (a spatial transformer's localisation net learns through it).

    >>> import numpy as np
    >>> eye = np.array([[[1.0, 0, 0], [0, 1.0, 0]]])
    >>> affine_grid(eye, (1, 1, 1, 2)).numpy()[0, 0]          # x = -0.5 and 0.5, y = 0
    array([[-0.5,  0. ],
           [ 0.5,  0. ]])
    """
    theta = as_tensor(theta)
    _check_float("affine_grid", theta, "theta")
    if theta.ndim != 3 or theta.shape[1:] != (2, 3):
        raise ValueError(f"affine_grid: theta must be (n, 2, 3), one 2x3 affine matrix an image, got "
                         f"shape {tuple(theta.shape)}")
    size = tuple(size) if isinstance(size, (tuple, list)) or hasattr(size, "__len__") else size
    if (not isinstance(size, tuple) or len(size) != 4 or
            any(isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) for v in size)):
        raise ValueError(f"affine_grid: size must be 4 ints (n, c, h, w) (2-D images only), got {size!r}")
    n, _, h, w = (int(v) for v in size)
    if n != theta.shape[0]:
        raise ValueError(f"affine_grid: size {size!r} must have theta's batch {theta.shape[0]} as n")
    if min(h, w) < 1:
        raise ValueError(f"affine_grid: size {size!r} must have h and w >= 1")
    corners = False if align_corners is None else _flag("affine_grid", "align_corners", align_corners)
    ys, xs = np.meshgrid(_grid_axis(h, corners), _grid_axis(w, corners), indexing="ij")
    base = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w)], axis=1)   # x first, as the grid
    xp = get_array_module(theta.data)
    return AffineGrid(xp.asarray(base, dtype=theta.dtype), (h, w))(theta)


def _unnormalize(coord, size, align_corners):
    """Grid coordinates of one axis (-1 .. 1) -> pixel positions (0 .. size - 1), as PyTorch
    maps them, and the slope d position / d coordinate (one number)."""
    scale = (size - 1) / 2 if align_corners else size / 2
    return (coord + 1) * scale - (0 if align_corners else 0.5), scale


def _pad_positions(pos, size, padding_mode, align_corners):
    """Pixel positions of one axis -> where the padding mode reads them, and the slope of that
    map (1, 0 or -1): ``"border"`` clips the position onto the edge pixels, ``"reflection"``
    mirrors it at the image's edges (the corner pixels' centres with ``align_corners``) as
    often as it takes, then clips; ``"zeros"`` leaves it (a position outside reads 0)."""
    xp = get_array_module(pos)
    slope = xp.ones_like(pos)
    if padding_mode == "reflection":
        lo, hi = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
        span = hi - lo
        if span == 0:   # one pixel, corners aligned: nowhere to go
            return xp.zeros_like(pos), xp.zeros_like(pos)
        d = pos - lo
        sign = xp.where(d < 0, -1.0, 1.0)   # |d| below: the mirror at lo turns the slope
        d = xp.abs(d)
        flips = xp.floor(d / span)
        odd = flips % 2 == 1                # an odd number of mirrors: reversed
        pos = xp.where(odd, span - xp.fmod(d, span), xp.fmod(d, span)) + lo
        slope = slope * sign * xp.where(odd, -1.0, 1.0)
    if padding_mode in ("border", "reflection"):
        # PyTorch's slope counts the edge pixels themselves as outside: 0 there
        slope = slope * ((pos > 0) & (pos < size - 1))
        pos = xp.clip(pos, 0, size - 1)
    return pos, slope


def _grid_positions(coord, size, padding_mode, align_corners):
    """Grid coordinates of one axis (-1 .. 1) -> pixel positions (0 .. size - 1) through the
    padding mode (:func:`_pad_positions`), as bilinear and nearest read them, and the slope
    d position / d coordinate of each."""
    pos, scale = _unnormalize(coord, size, align_corners)
    pos, slope = _pad_positions(pos, size, padding_mode, align_corners)
    return pos.astype(coord.dtype, copy=False), (slope * scale).astype(coord.dtype, copy=False)


def _cubic_slopes(t, A=-0.75):
    """d/dt of :func:`_cubic_weights`: the kernel's slope at the taps' distances ``t + 1, t,
    1 - t, 2 - t``, the last two turned (their distance falls as t grows)."""
    def near(d):   # |d| <= 1
        return (3 * (A + 2) * d - 2 * (A + 3)) * d

    def far(d):    # 1 < |d| < 2
        return (3 * A * d - 10 * A) * d + 8 * A

    return far(t + 1), near(t), -near(1 - t), -far(2 - t)


def _grid_taps(px, py, h, w, mode, padding_mode="zeros", align_corners=False):
    """The input pixels each output reads: a list of (flat index ``y * w + x``, weight, d weight
    / d px, d weight / d py, inside), arrays (n, L); a tap outside the image (``inside`` False)
    has index 0, and reads and receives nothing.
    Bilinear: the four around (px, py); nearest: the one rounded to, halves to even (as C's
    ``nearbyint``), its weight's slopes 0; both take (px, py) already through the padding.
    Bicubic takes them unpadded: the 4x4 pixels ``floor(p) - 1 .. floor(p) + 2`` around, each
    weighted by the cubic kernel (A = -0.75) on each axis, and sends each tap's own
    coordinates through the padding mode (a tap past the border reads the border's pixel,
    or its mirror image's, or 0)."""
    xp = get_array_module(px)
    if mode == "nearest":
        x0, y0 = xp.rint(px), xp.rint(py)
        corners = [(y0, x0, xp.ones_like(px), xp.zeros_like(px), xp.zeros_like(px))]
    elif mode == "bicubic":
        x0, y0 = xp.floor(px), xp.floor(py)
        wx, wy = _cubic_weights(px - x0), _cubic_weights(py - y0)
        sx, sy = _cubic_slopes(px - x0), _cubic_slopes(py - y0)
        # each tap's row and column through the padding (integers stay integers)
        cols = [_pad_positions(x0 + k, w, padding_mode, align_corners)[0] for k in (-1, 0, 1, 2)]
        rows = [_pad_positions(y0 + k, h, padding_mode, align_corners)[0] for k in (-1, 0, 1, 2)]
        corners = [(rows[i], cols[j], wx[j] * wy[i], sx[j] * wy[i], wx[j] * sy[i])
                   for i in range(4) for j in range(4)]
    else:
        x0, y0 = xp.floor(px), xp.floor(py)
        fx, fy = px - x0, py - y0
        corners = [(y0, x0, (1 - fx) * (1 - fy), -(1 - fy), -(1 - fx)),
                   (y0, x0 + 1, fx * (1 - fy), 1 - fy, -fx),
                   (y0 + 1, x0, (1 - fx) * fy, -fy, 1 - fx),
                   (y0 + 1, x0 + 1, fx * fy, fy, fx)]
    taps = []
    for ty, tx, weight, dx, dy in corners:
        inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
        flat = xp.where(inside, ty * w + tx, 0).astype(xp.int64)
        taps.append((flat, weight, dx, dy, inside))
    return taps


def _gather_taps(x_flat, flat, inside):
    """x_flat (n, c, h*w) at the taps (n, L) -> (n, c, L), 0 outside the image (where a product
    with the weight would turn an inf at index 0 into NaN)."""
    xp = get_array_module(x_flat)
    return xp.where(inside[:, None, :], xp.take_along_axis(x_flat, flat[:, None, :], axis=2), 0)


class GridSample(Function):
    def __init__(self, mode, padding_mode, align_corners):
        self.mode, self.padding_mode, self.align_corners = mode, padding_mode, align_corners

    def _taps(self, x, grid):
        n, c, h, w = x.shape
        L = grid.shape[1] * grid.shape[2]
        gx, gy = grid[..., 0].reshape(n, L), grid[..., 1].reshape(n, L)
        if self.mode == "bicubic":   # the taps go through the padding, not the point
            (px, self.slope_x), (py, self.slope_y) = (_unnormalize(gx, w, self.align_corners),
                                                      _unnormalize(gy, h, self.align_corners))
        else:
            px, self.slope_x = _grid_positions(gx, w, self.padding_mode, self.align_corners)
            py, self.slope_y = _grid_positions(gy, h, self.padding_mode, self.align_corners)
        return _grid_taps(px, py, h, w, self.mode, self.padding_mode, self.align_corners)

    def forward(self, x, grid):
        xp = get_array_module(x)
        self.x, self.grid = x, grid
        n, c, h, w = x.shape
        x_flat = x.reshape(n, c, h * w)
        y = xp.zeros((n, c, grid.shape[1] * grid.shape[2]), dtype=x.dtype)
        for flat, weight, _, _, inside in self._taps(x, grid):   # (n, L) each, for every channel
            y += _gather_taps(x_flat, flat, inside) * weight[:, None, :]
        return y.reshape(n, c, *grid.shape[1:3])

    def backward(self, gy):
        xp = get_array_module(gy)
        x, grid = self.x, self.grid
        n, c, h, w = x.shape
        taps = self._taps(x, grid)
        gy = gy.reshape(n, c, grid.shape[1] * grid.shape[2])   # not -1: n may be 0
        gx = ggrid = None
        if _wants_grad(self, 0):
            # the transpose of the gather: each output's gradient added back onto its taps,
            # by one bincount (an unbuffered add.at is slow) over (image, channel, pixel)
            plane = (xp.arange(n * c).reshape(n, c, 1) * (h * w))
            flat = xp.concatenate([plane + f[:, None, :] for f, _, _, _, _ in taps], axis=2)
            vals = xp.concatenate([xp.where(inside[:, None, :], gy * wt[:, None, :], 0)
                                   for _, wt, _, _, inside in taps], axis=2)
            gx = xp.bincount(flat.ravel(), weights=vals.ravel(), minlength=n * c * h * w)
            gx = gx.reshape(x.shape).astype(x.dtype, copy=False)
        if _wants_grad(self, 1) and self.mode == "nearest":   # a step function of the grid
            ggrid = xp.zeros_like(grid)
        elif _wants_grad(self, 1):
            # each tap's value times its weight's slope, summed over the channels, then the
            # chain rule through the position (x, y) -> pixel map
            x_flat = x.reshape(n, c, h * w)
            g_px, g_py = xp.zeros(gy.shape[::2], x.dtype), xp.zeros(gy.shape[::2], x.dtype)
            for flat, _, dx, dy, inside in taps:
                g = (gy * _gather_taps(x_flat, flat, inside)).sum(axis=1)   # (n, L)
                g_px, g_py = g_px + g * dx, g_py + g * dy
            ggrid = xp.stack([g_px * self.slope_x, g_py * self.slope_y], axis=-1).reshape(grid.shape)
        return gx, ggrid


GRID_SAMPLE_MODES, GRID_SAMPLE_PADDINGS = ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection")


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` at the points of ``grid``, as PyTorch's ``F.grid_sample`` (2-D):
    input (n, c, h, w), grid (n, out_h, out_w, 2) -> (n, c, out_h, out_w).

    ``grid[n, i, j] = (x, y)`` in [-1, 1]: -1 and 1 the image's outer edges, or the corner
    pixels' centres with ``align_corners`` (False when None); x across the width. ``mode``
    ``"bilinear"`` mixes the four pixels around the point, ``"nearest"`` takes the nearest
    (halves to even), ``"bicubic"`` the 4x4 around it by cubic convolution (A = -0.75, as
    :func:`interpolate`'s bicubic). Outside the image ``padding_mode`` ``"zeros"`` reads 0,
    ``"border"`` the edge pixels, ``"reflection"`` the image mirrored at its edges; bilinear
    and nearest move the point there, bicubic each of its 16 taps (as PyTorch's). Gradients
    for both: the input's is the gather's transpose (linear in the input), the grid's the
    weights' slopes (0 for nearest). With :func:`affine_grid`, a spatial transformer.

    >>> import numpy as np
    >>> x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    >>> grid = np.array([[[[0.0, 0.0], [-1.0, -1.0]]]])            # the centre, the top-left corner
    >>> grid_sample(x, grid, align_corners=True).numpy().ravel()
    array([2.5, 1. ])
    >>> grid_sample(x, grid).numpy().ravel()       # -1: the image's corner, a quarter of pixel 0's
    array([2.5 , 0.25])
    """
    x, grid = as_tensor(input), as_tensor(grid)
    _check_4d("grid_sample", "input", x)
    _check_float("grid_sample", grid, "grid")
    if grid.ndim != 4 or grid.shape[3] != 2 or grid.shape[0] != x.shape[0]:
        raise ValueError(f"grid_sample: grid must be (n, out_h, out_w, 2) with the input's n = "
                         f"{x.shape[0]}, got shape {tuple(grid.shape)}")
    if grid.dtype != x.dtype:
        raise TypeError(f"grid_sample: grid must have the input's dtype {x.dtype}, got {grid.dtype}")
    if min(x.shape[2:]) < 1:
        raise ValueError(f"grid_sample: input of shape {tuple(x.shape)} has no pixel to sample")
    if mode not in GRID_SAMPLE_MODES:
        raise ValueError(f"grid_sample: mode must be one of {', '.join(map(repr, GRID_SAMPLE_MODES))}, "
                         f"got {mode!r}")
    if padding_mode not in GRID_SAMPLE_PADDINGS:
        raise ValueError(f"grid_sample: padding_mode must be one of "
                         f"{', '.join(map(repr, GRID_SAMPLE_PADDINGS))}, got {padding_mode!r}")
    corners = False if align_corners is None else _flag("grid_sample", "align_corners", align_corners)
    return GridSample(mode, padding_mode, corners)(x, grid)


# --------------------------------------------------------------------- interpolate
def _source_position(out_size, in_size, scale, align_corners):
    """Where output pixel ``o`` reads the input, as PyTorch maps it: ``o * (in - 1) / (out - 1)``
    with ``align_corners`` (corner pixels' centres on each other), else ``(o + 0.5) * s - 0.5``,
    ``s`` being ``1 / scale_factor`` when one was given, ``in / out`` otherwise. The latter
    rounded once, as PyTorch's CPU kernels compute it, a fused multiply-add (where the CPU has
    one, as every x86-64 with AVX2): with ``s = 0.2``, ``2.5 * s - 0.5`` is 2.8e-17, not 0, and
    a bilinear tap of weight 2.8e-17 sends an inf on, where one of weight 0 makes it NaN."""
    o = np.arange(out_size, dtype=np.float64)
    if align_corners:
        return o * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    s = fractions.Fraction(1.0 / scale if scale else in_size / out_size)
    return np.array([float(s * fractions.Fraction(2 * i + 1, 2) - fractions.Fraction(1, 2))
                     for i in range(out_size)])   # exact, then one rounding


def _cubic_weights(t, A=-0.75):
    """Keys' cubic convolution weights of the four taps ``floor(src) - 1 .. floor(src) + 2``,
    ``t = src - floor(src)`` in [0, 1): the kernel ``(A+2)|d|^3 - (A+3)|d|^2 + 1`` for
    ``|d| <= 1``, ``A|d|^3 - 5A|d|^2 + 8A|d| - 4A`` for ``1 < |d| < 2``, at the taps' distances
    ``t + 1, t, 1 - t, 2 - t``. ``A = -0.75`` is PyTorch's (and OpenCV's); the four sum to 1.

    >>> [float(v) for v in _cubic_weights(0.5)]
    [-0.09375, 0.59375, 0.59375, -0.09375]
    """
    def near(d):   # |d| <= 1
        return ((A + 2) * d - (A + 3)) * d * d + 1

    def far(d):    # 1 < |d| < 2
        return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _nearest_source(in_size, out_size, scale, exact):
    """The input pixel each output pixel copies, PyTorch's ``nearest_idx`` and
    ``nearest_exact_idx`` (ATen's UpSample.h) to the bit: ``s = 1 / scale_factor`` (or
    ``in / out``) rounded to a float32, then ``floor(o * s)`` in float32 arithmetic, or
    ``floor((o + 0.5) * s)`` rounded to a float32 first for ``exact`` (nearest-exact); at most
    the last pixel. Plain nearest copies ``o`` when the sizes match and reads ``o // 2`` when
    the output is twice the input, whatever the factor. In float64 ``37 * (1 / 3.7)`` is
    9.999..., in float32 10: the precision decides which pixel is read.

    >>> int(_nearest_source(15, 55, 3.7, False)[37]), _nearest_source(5, 10, 2.1, False)[:4].tolist()
    (10, [0, 0, 1, 1])
    """
    o = np.arange(out_size)
    if not exact and out_size == in_size:
        return o
    if not exact and out_size == 2 * in_size:
        return o // 2
    s = np.float32(1.0 / scale) if scale else np.float32(in_size) / np.float32(out_size)
    src = ((o + 0.5) * np.float64(s)).astype(np.float32) if exact else o.astype(np.float32) * s
    return np.minimum(np.floor(src).astype(np.int64), in_size - 1)


def _linear_taps(in_size, out_size, align_corners=False, scale=None, cubic=False):
    """The taps of bilinear (2 a row) or bicubic (4, ``cubic``) resampling, as PyTorch's CPU
    kernel lists them: ``(cols, weights)``, each (out_size, taps). Its rules, kept here:
    bilinear copies an axis whose size does not change (taps ``(o, 1)`` and ``(o, 0)``,
    whatever the factor); the source position is clamped at 0 for bilinear only; its floor
    is taken of the position rounded to a float32 (``floorf``), the fraction clamped to
    [0, 1]; taps past a border are clamped onto it, so one row may read a pixel twice (with
    weights of either sign, or 0)."""
    if not cubic and out_size == in_size:
        o = np.arange(out_size)
        return np.stack([o, o], axis=1), np.stack([np.ones(out_size), np.zeros(out_size)], axis=1)
    src = _source_position(out_size, in_size, scale, align_corners)
    if not cubic:
        src = np.maximum(src, 0.0)
    left = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), in_size - 1)
    t = np.clip(src - left, 0.0, 1.0)
    if cubic:
        cols = np.clip(left[:, None] + np.arange(-1, 3), 0, in_size - 1)
        return cols, np.stack(_cubic_weights(t), axis=1)
    return np.stack([left, np.minimum(left + 1, in_size - 1)], axis=1), np.stack([1.0 - t, t], axis=1)


def _antialias_filter(d, cubic):
    """The kernels of PyTorch's antialiased modes at distance ``d`` (in input pixels, already
    divided by the stretch): the triangle ``max(1 - |d|, 0)`` (bilinear), or Keys' cubic with
    ``A = -0.5`` (bicubic; Keys' own choice, where the plain mode takes -0.75), 0 from 2 on."""
    d = np.abs(d)
    if not cubic:
        return np.maximum(1.0 - d, 0.0)
    A = -0.5
    return np.where(d < 1, ((A + 2) * d - (A + 3)) * d * d + 1,
                    np.where(d < 2, (((d - 5) * d + 8) * d - 4) * A, 0.0))


def _antialias_taps(in_size, out_size, align_corners=False, scale=None, cubic=False):
    """The taps of antialiased bilinear or bicubic resampling, as PyTorch's CPU kernel
    (``_compute_indices_min_size_weights_aa``) lists them: ``(cols, weights, valid)``, each
    (out_size, taps), ``valid`` False on the padding of a row shorter than the longest.

    ``s`` is ``in / out`` (``1 / scale_factor`` when given; ``(in - 1) / (out - 1)`` with
    ``align_corners``, the only thing it changes). Output ``o`` is centred at
    ``c = s * (o + 0.5)``; the kernel (:func:`_antialias_filter`, half-width ``support`` = 1
    or 2) is stretched by ``s`` when downsampling (``s >= 1``), so each output averages about
    ``s`` times as many pixels; it reads pixels ``trunc(c - support + 0.5)`` (at least 0) up
    to ``trunc(c + support + 0.5)`` (at most ``in``, excluded), weighted by the kernel at
    ``(i + 0.5 - c) / max(s, 1)`` and divided by their sum: no tap past a border, every row sums to
    1. Upsampling keeps the kernel's width (bilinear's weights are then the plain mode's,
    without ``align_corners``; bicubic's differ near the borders, and by its ``A``). An axis
    whose size does not change is copied, whatever the factor."""
    if out_size == in_size:
        o = np.arange(out_size)[:, None]
        return o, np.ones(o.shape), np.ones(o.shape, dtype=bool)
    if align_corners:
        s = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    else:
        s = 1.0 / scale if scale else in_size / out_size
    support = (2.0 if cubic else 1.0) * max(s, 1.0)
    width = 2 * int(math.ceil(support)) + 1   # the most pixels a window can hold
    centre = s * (np.arange(out_size) + 0.5)
    lo = np.maximum((centre - support + 0.5).astype(np.int64), 0)   # astype truncates, as C's cast
    size = np.clip(np.minimum((centre + support + 0.5).astype(np.int64), in_size) - lo, 0, width)
    taps = np.arange(width)
    valid = taps < size[:, None]
    cols = np.where(valid, lo[:, None] + taps, 0)
    weights = np.where(valid, _antialias_filter((cols + 0.5 - centre[:, None]) / max(s, 1.0), cubic), 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return cols, weights / np.where(total == 0, 1.0, total), valid


def _resample_taps(in_size, out_size, mode, align_corners=False, scale=None, antialias=False):
    """``(cols, weights, valid)`` of one axis, (out_size, taps) each, for any mode but
    ``"area"``: ``valid`` False where a row has fewer taps than the widest."""
    if antialias:
        return _antialias_taps(in_size, out_size, align_corners, scale, cubic=mode == "bicubic")
    if mode in ("nearest", "nearest-exact"):
        cols = _nearest_source(in_size, out_size, scale, mode == "nearest-exact")[:, None]
    else:
        cols, weights = _linear_taps(in_size, out_size, align_corners, scale, cubic=mode == "bicubic")
        return cols, weights, np.ones(cols.shape, dtype=bool)
    return cols, np.ones(cols.shape), np.ones(cols.shape, dtype=bool)


def _taps_matrix(cols, weights, valid, in_size):
    """The (out, in) matrix of the taps, and the taps' signs: three bool matrices, whether a
    row reads a pixel through a weight > 0, < 0 and = 0 (a row may do all three at a
    border; PyTorch's sum still multiplies an inf by each of them). A tap not ``valid`` is
    no tap."""
    out_size = cols.shape[0]
    A = np.zeros((out_size, in_size))
    signs = [np.zeros((out_size, in_size), dtype=bool) for _ in range(3)]
    rows = np.arange(out_size)
    for c, w, v in zip(cols.T, weights.T, valid.T):   # one tap a row in each statement: no repeated index
        A[rows, c] += np.where(v, w, 0.0)
        for mask, hit in zip(signs, (w > 0, w < 0, w == 0)):
            mask[rows, c] |= hit & v
    return A, tuple(signs)


def interpolation_matrix(in_size, out_size, mode="bilinear", align_corners=False, scale=None,
                         antialias=False):
    """The (out_size, in_size) matrix ``A`` of 1-D resampling, ``y = A @ x``: bilinear
    interpolation is ``A_h @ x @ A_w.T`` on each (h, w) plane, a linear map like every layer
    here, so its backward is the transposes, ``A_h.T @ gy @ A_w``. Bicubic is the same with
    four taps a row (:func:`_cubic_weights`; some of them negative), nearest one tap
    (:func:`_nearest_source`), ``"area"`` is :func:`adaptive_pool_matrix`. ``antialias``
    (bilinear and bicubic) widens the kernel by the reduction (:func:`_antialias_taps`).

    >>> interpolation_matrix(2, 4)            # 2x bilinear, PyTorch's align_corners=False
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.25, 0.75],
           [0.  , 1.  ]])
    >>> interpolation_matrix(4, 2, "bicubic")[0]   # src 0.5: taps -1..2, -1 clamped onto 0
    array([ 0.5    ,  0.59375, -0.09375,  0.     ])
    >>> interpolation_matrix(4, 2, antialias=True) * 7   # the triangle twice as wide: 3 taps
    array([[3., 3., 1., 0.],
           [0., 1., 3., 3.]])
    """
    if mode == "area":   # PyTorch's area mode is adaptive average pooling (scales unused)
        return adaptive_pool_matrix(in_size, out_size)
    return _taps_matrix(*_resample_taps(in_size, out_size, mode, align_corners, scale, antialias), in_size)[0]


def _separable(A, x, B, signs_a=None, signs_b=None):
    """``A @ x @ B`` on each (h, w) plane of ``x``, an inf or a NaN reaching the outputs as
    PyTorch's sum over the taps takes it, not as the matrix product would (which multiplies
    it by every zero weight of the matrix: 0 * inf is NaN everywhere). ``signs_a`` and
    ``signs_b`` (:func:`_taps_matrix`'s, shaped as ``A`` and ``B``) say through which signs of
    weight each output reads each pixel; by default the signs of the entries, no tap of
    weight 0. An inf gives +-inf by its weight's sign, NaN where both signs meet (bicubic's
    taps clamped onto one border pixel) or where a tap of weight 0 reads it (bilinear's
    second tap on the last pixel, or on an axis it copies); a NaN gives NaN wherever a tap
    reads it."""
    xp = get_array_module(x)
    finite = xp.isfinite(x)
    if bool(finite.all()):
        return A @ (x @ B)
    y = A @ (xp.where(finite, x, 0) @ B)

    def floats(M, signs):   # weights > 0, < 0, and = 0, as 0/1 matrices
        if signs is None:
            signs = (M > 0, M < 0, xp.zeros(M.shape, dtype=bool))
        return [m.astype(x.dtype) for m in signs]

    (pos_a, neg_a, zero_a), (pos_b, neg_b, zero_b) = floats(A, signs_a), floats(B, signs_b)
    all_a, all_b = pos_a + neg_a + zero_a, pos_b + neg_b + zero_b
    same, opposite = ((pos_a, pos_b), (neg_a, neg_b)), ((pos_a, neg_b), (neg_a, pos_b))

    def reached(mask, pairs):   # outputs that read a value of the mask through one of the pairs
        m = mask.astype(x.dtype)
        return functools.reduce(operator.or_, ((a @ (m @ b)) > 0 for a, b in pairs))

    up = reached(x == xp.inf, same) | reached(x == -xp.inf, opposite)
    down = reached(x == -xp.inf, same) | reached(x == xp.inf, opposite)
    nan = (reached(xp.isnan(x), ((all_a, all_b),)) |
           reached(xp.isinf(x), ((zero_a, all_b), (all_a, zero_b))))   # 0 * inf
    y = xp.where(up, xp.inf, xp.where(down, -xp.inf, y))
    return xp.where(nan | (up & down), xp.nan, y).astype(x.dtype, copy=False)


class Interpolate(Function):
    def __init__(self, A_h, A_w, signs_h=None, signs_w=None):
        self.A_h, self.A_w, self.signs_h, self.signs_w = A_h, A_w, signs_h, signs_w

    @staticmethod
    def _t(signs):
        return None if signs is None else tuple(m.T for m in signs)

    def forward(self, x):
        # (n, c, h, w) -> (n, c, out_h, out_w)
        return _separable(self.A_h, x, self.A_w.T, self.signs_h, self._t(self.signs_w))

    def backward(self, gy):
        # the transposes: the adjoint of a linear map
        return _separable(self.A_h.T, gy, self.A_w, self._t(self.signs_h), self.signs_w)


INTERPOLATE_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample x (n, c, h, w) to ``size`` (out_h, out_w) or by ``scale_factor``, as PyTorch's
    ``F.interpolate``: ``"nearest"``, ``"nearest-exact"``, ``"bilinear"``, ``"bicubic"``
    (``align_corners`` False by default; cubic convolution, A = -0.75, the taps past the
    border clamped onto it) or ``"area"`` (:func:`adaptive_avg_pool2d`).
    Output size ``floor(h * scale_factor)`` when a factor is given; the factor also places the
    source pixels (``(o + 0.5) / scale_factor - 0.5``) unless ``recompute_scale_factor``, which
    places them by ``h / out_h``, as ``size`` does. PyTorch's CPU rules are kept: bilinear and
    nearest copy an axis whose size a factor leaves unchanged (bicubic resamples it), nearest
    reads ``o // 2`` where the output is twice the input, and nearest picks its pixel in
    float32 arithmetic (:func:`_nearest_source`). ``antialias=True`` (bilinear and bicubic)
    is PyTorch's antialiased resampling: downsampling by ``s`` stretches the kernel ``s``
    times, so each output averages the pixels it covers instead of skipping some
    (:func:`_antialias_taps`). Each axis is one
    :func:`interpolation_matrix`; FCN upsamples with a transposed convolution initialised to the
    same bilinear weights instead (lesson 6), which it can then learn.

    >>> import numpy as np
    >>> interpolate(np.ones((1, 1, 2, 3)), scale_factor=2, mode="bilinear").shape
    (1, 1, 4, 6)
    >>> interpolate(np.arange(4.0).reshape(1, 1, 1, 4), size=(1, 2), mode="bicubic").numpy().ravel()
    array([0.40625, 2.59375])
    """
    x = as_tensor(x)
    _check_4d("interpolate", "input", x)
    if mode not in INTERPOLATE_MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(map(repr, INTERPOLATE_MODES))}, "
                         f"got {mode!r}")
    if align_corners is not None and mode not in ("bilinear", "bicubic"):   # as PyTorch refuses it
        raise ValueError(f"interpolate: align_corners applies to 'bilinear' and 'bicubic' only, "
                         f"not {mode!r}")
    if align_corners is not None:
        align_corners = _flag("interpolate", "align_corners", align_corners)
    antialias = _flag("interpolate", "antialias", antialias)
    if antialias and mode not in ("bilinear", "bicubic"):   # as PyTorch refuses it
        raise ValueError(f"interpolate: antialias=True applies to 'bilinear' and 'bicubic' only, "
                         f"not {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"interpolate: give size or scale_factor, one of them, got size={size!r} "
                         f"and scale_factor={scale_factor!r}")
    if recompute_scale_factor is not None:
        recompute_scale_factor = _flag("interpolate", "recompute_scale_factor", recompute_scale_factor)
    if recompute_scale_factor and size is not None:   # as PyTorch refuses it
        raise ValueError(f"interpolate: recompute_scale_factor=True goes with a scale_factor, not "
                         f"with size={size!r}")
    h, w = x.shape[2:]
    if min(h, w) < 1:   # as PyTorch refuses it: no pixel to read
        raise ValueError(f"interpolate: input of shape {tuple(x.shape)} has no rows or columns to resample")
    if size is not None:
        out_hw, scales = _positive_pair("size", size, "interpolate"), (None, None)
    else:
        scales = tuple(float(f) for f in (scale_factor if isinstance(scale_factor, (tuple, list))
                                          else (scale_factor, scale_factor)))
        if len(scales) != 2 or not all(math.isfinite(f) and f > 0 for f in scales):
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor!r}")
        out_hw = (int(math.floor(h * scales[0])), int(math.floor(w * scales[1])))
        if min(out_hw) < 1:
            raise ValueError(f"interpolate: scale_factor {scale_factor!r} leaves no pixel of {h}x{w}")
        if recompute_scale_factor:   # the size alone places the pixels, as a given size would
            scales = (None, None)
    xp = get_array_module(x.data)
    axes = ((h, out_hw[0], scales[0]), (w, out_hw[1], scales[1]))
    if mode == "area":   # PyTorch's adaptive average pooling: no weight of 0, none negative
        A_h, A_w = (xp.asarray(adaptive_pool_matrix(n_in, n_out), dtype=x.dtype) for n_in, n_out, _ in axes)
        return Interpolate(A_h, A_w)(x)
    # each axis's matrix, with the signs of its taps, for an inf's way through them
    (A_h, signs_h), (A_w, signs_w) = (
        _taps_matrix(*_resample_taps(n_in, n_out, mode, bool(align_corners), scale, antialias), n_in)
        for n_in, n_out, scale in axes)
    return Interpolate(xp.asarray(A_h, dtype=x.dtype), xp.asarray(A_w, dtype=x.dtype),
                       tuple(xp.asarray(m) for m in signs_h), tuple(xp.asarray(m) for m in signs_w))(x)


from .functional_1d import *  # noqa: E402,F401,F403  conv1d ... embedding: the 1-D ops, on these 2-D ones
from .functional_1d import __all__ as _all_1d  # noqa: E402
__all__ += _all_1d
from .losses_more import *  # noqa: E402,F401,F403  normalize ... triplet_margin_loss: distances and more losses
from .losses_more import __all__ as _all_losses  # noqa: E402
__all__ += _all_losses

from .functional_misc import *  # noqa: E402,F401,F403  dropout1d ... bilinear: the other small ops
from .functional_misc import __all__ as _all_misc  # noqa: E402
__all__ += _all_misc

from .functional_3d import *  # noqa: E402,F401,F403  conv3d ... adaptive_avg_pool3d: the 3-D ops, on im2col3d
from .functional_3d import __all__ as _all_3d  # noqa: E402
__all__ += _all_3d
