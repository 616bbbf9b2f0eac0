"""Modules: layers that own their parameters, named and ordered, PyTorch-shaped.

The layers, each a :class:`~minifcn.module.Module` (the base and the containers ``Sequential``,
``ModuleList``, ``ModuleDict`` are in :mod:`minifcn.module`, re-exported here): every
:class:`Parameter`, buffer and sub-module assigned to one is registered in order, so
``state_dict()`` keys read like the paper's Caffe net (``conv1_1.weight``, ``fc6.bias``,
``score_pool4.weight`` ...).

>>> import numpy as np
>>> from minifcn import Tensor
>>> net = Sequential(Conv2d(3, 4, 3, padding=1), ReLU(), MaxPool2d(2))
>>> net(Tensor(np.zeros((1, 3, 8, 8), dtype=np.float32))).shape
(1, 4, 4, 4)
>>> list(net.state_dict())
['0.weight', '0.bias']
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from . import backend, init
from . import functional as F
from . import nn_utils as utils
from .autograd import Tensor, as_tensor
from .im2col import _pair
from .module import (IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter,  # noqa: F401
                     Sequential, StateDictError)   # the base and the containers, re-exported

# ``import minifcn.nn.utils`` and ``from minifcn.nn.utils import clip_grad_norm_``, and
# ``import minifcn.nn.functional as F`` (minifcn.functional itself), as in PyTorch, though this
# module is a file, not a package: the import system finds the names here
functional = F
sys.modules[__name__ + ".utils"] = utils
sys.modules[__name__ + ".functional"] = functional


def _weight_and_bias(module, weight_shape, bias, out_channels, **he):
    """A convolution's ``weight`` (He-initialised, ``he``: :func:`init.he_normal`'s options)
    and ``bias`` (zeros, one an output channel; without it the name registered empty, as
    PyTorch's), in that order, so the random draws stay those of the layers before."""
    module.weight = Parameter(init.he_normal(weight_shape, **he))
    if bias:
        module.bias = Parameter(init.zeros((out_channels,)))
    else:
        module.register_parameter("bias", None)


def _check_groups(op, in_channels, out_channels, groups):
    """groups: a positive int dividing both channel counts (PyTorch's three checks), named."""
    groups = F.check_count(op, "groups", groups)
    for name, count in (("in_channels", in_channels), ("out_channels", out_channels)):
        if count % groups:
            raise ValueError(f"{op}: {name} ({count}) must be divisible by groups ({groups})")
    return groups


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_padding_mode(op, padding_mode):
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{op}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, "
                         f"got {padding_mode!r}")
    return padding_mode


def _not_default(v, d):
    """Whether ``v`` (an int or a pair: a padding, a dilation) is other than ``d`` (or
    ``(d, d)``), for a repr (which never raises)."""
    return v not in (d, (d, d), [d, d])


class Conv2d(Module):
    """2-D convolution layer. weight (out_c, in_c/groups, kh, kw) He-initialised, bias zeros.

    Output size: ``(h + 2*padding - dilation*(k - 1) - 1) // stride + 1``; ``padding="same"``
    (stride 1) keeps ``h``, ``"valid"`` is 0 (:func:`minifcn.functional.conv2d`). ``groups``
    splits the channels into that many independent convolutions (``groups = in_channels``: a
    depthwise one); both channel counts must be multiples of it. ``padding_mode``, as
    PyTorch's: ``"zeros"``, or ``"reflect"``, ``"replicate"``, ``"circular"``, for which the
    input is padded by :func:`F.pad <minifcn.functional.pad>` in that mode (``"same"``: the
    odd one at the bottom and right), then convolved unpadded.

    >>> Conv2d(4, 8, 3, padding=1, groups=2)
    Conv2d(4, 8, kernel_size=(3, 3), stride=1, padding=1, groups=2)
    >>> Conv2d(4, 8, 3, groups=2).weight.shape
    (8, 2, 3, 3)
    >>> import numpy as np
    >>> conv = Conv2d(1, 1, 3, padding=1, bias=False, padding_mode="circular")
    >>> conv.weight.data[...] = 0
    >>> conv.weight.data[0, 0, 1, 0] = 1                       # y[i, j] = x[i, j - 1], wrapped
    >>> conv(np.arange(4.0, dtype=np.float32).reshape(1, 1, 1, 4)).numpy()[0, 0]
    array([[3., 0., 1., 2.]], dtype=float32)
    >>> conv
    Conv2d(1, 1, kernel_size=(3, 3), stride=1, padding=1, bias=False, padding_mode='circular')
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__()
        in_channels = F.check_count("Conv2d", "in_channels", in_channels)
        out_channels = F.check_count("Conv2d", "out_channels", out_channels)
        kh, kw = F._positive_pair("kernel_size", kernel_size, "Conv2d")
        self.groups = _check_groups("Conv2d", in_channels, out_channels, groups)
        # kept as given (the repr shows them so), but a 1-tuple spread over both axes, as
        # PyTorch's takes it (conv2d's own check wants an int or a pair)
        self.stride, self.padding, self.dilation = (_spread(v, 2) for v in (stride, padding, dilation))
        self.padding_mode = _check_padding_mode("Conv2d", padding_mode)
        _weight_and_bias(self, (out_channels, in_channels // self.groups, kh, kw), bias, out_channels)
        if padding_mode != "zeros":
            self._pad_amounts()   # a padding that cannot be, refused now (as PyTorch)

    def forward(self, x):
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return F.conv2d(F.pad(x, self._pad_amounts(), self.padding_mode), self.weight, self.bias,
                        self.stride, 0, self.dilation, self.groups)

    def _pad_amounts(self):
        """``F.pad``'s (left, right, top, bottom) for a padding mode other than zeros: the
        padding on both sides; for ``"same"`` ``dilation*(k - 1)`` in all, the odd one after
        (PyTorch's ``_reversed_padding_repeated_twice``)."""
        padding = self.padding
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
            if padding == "valid":
                return (0, 0, 0, 0)
            stride = F._positive_pair("stride", self.stride, "Conv2d")
            if stride != (1, 1):   # as conv2d's: 'same' has no one meaning for a stride
                raise ValueError(f"Conv2d: padding='same' needs stride 1, got stride {stride}")
            dilation = F._positive_pair("dilation", self.dilation, "Conv2d")
            (top, bottom), (left, right) = F._same_padding(self.weight.shape[2:], dilation)
            return (left, right, top, bottom)
        ph, pw = F._positive_pair("padding", padding, "Conv2d", minimum=0)
        return (pw, pw, ph, ph)

    def extra_repr(self):
        out_c, in_c, kh, kw = self.weight.shape
        groups = self.groups
        return (f"{in_c * groups}, {out_c}, kernel_size=({kh}, {kw}), stride={self.stride}, "
                f"padding={self.padding!r}"
                + (f", dilation={self.dilation!r}" if _not_default(self.dilation, 1) else "")
                + (f", groups={groups}" if groups != 1 else "")
                + (", bias=False" if self.bias is None else "")
                + (f", padding_mode={self.padding_mode!r}" if self.padding_mode != "zeros" else ""))


def _spread(v, n):
    """A 1-tuple or 1-list as ``n`` copies of its one value, as PyTorch's convolutions read a
    stride, padding, dilation or output padding; anything else as given.

    >>> _spread((2,), 2), _spread(3, 2), _spread((1, 2), 2)
    ((2, 2), 3, (1, 2))
    """
    return tuple(v) * n if isinstance(v, (tuple, list)) and len(v) == 1 else v


class _ConvTransposeNd(Module):
    """What ConvTranspose1d, 2d and 3d share (siblings, as PyTorch's): the arguments in its
    order, the weight (in_c, out_c/groups, *kernel) He-initialised and the bias (out_c,), the
    forward, and the output padding that gives an asked-for ``output_size`` (PyTorch's rule).

    Each subclass gives its function (``_conv``), the names of its spatial axes (``_axes``),
    whether it takes one unbatched input (``_unbatched``), and how it reads its sizes:
    ``_kernel(who, v)`` and ``_sizes(who, name, v, minimum)`` give tuples of ints (a 1-tuple is
    spread over every axis, as PyTorch's); with ``_as_given`` the stride, padding, output
    padding and dilation are kept as given (ConvTranspose2d's repr shows them so), else as
    those tuples."""

    _as_given = False
    _unbatched = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros"):
        super().__init__()
        who = type(self).__name__
        self.in_channels = F.check_count(who, "in_channels", in_channels)
        self.out_channels = F.check_count(who, "out_channels", out_channels)
        self.kernel_size = self._kernel(who, kernel_size)
        for name, v, minimum in (("stride", stride, 1), ("padding", padding, 0),
                                 ("output_padding", output_padding, 0), ("dilation", dilation, 1)):
            keep = _spread(v, len(self._axes)) if self._as_given else self._sizes(who, name, v, minimum)
            setattr(self, name, keep)
        self.groups = g = _check_groups(who, self.in_channels, self.out_channels, groups)
        if _check_padding_mode(who, padding_mode) != "zeros":
            raise ValueError(f'{who}: only "zeros" padding mode is supported (as '
                             f"PyTorch's), got padding_mode={padding_mode!r}")
        self.padding_mode = padding_mode
        fan_in = self.in_channels // g * int(np.prod(self.kernel_size))
        _weight_and_bias(self, (self.in_channels, self.out_channels // g) + self.kernel_size, bias,
                         self.out_channels, fan_in=fan_in)

    def forward(self, x, output_size=None):
        output_padding = self.output_padding if output_size is None else self._output_padding(x, output_size)
        return self._conv(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                          self.groups, self.dilation)

    def _output_padding(self, x, output_size):
        """The output padding that makes ``x``'s output ``output_size``: PyTorch's rule, each
        axis within ``[least, least + stride - 1]``, ``least = (size - 1)*stride - 2*padding +
        dilation*(k - 1) + 1``."""
        who, axes = type(self).__name__, ", ".join(self._axes)
        d = len(self._axes)
        x = as_tensor(x)
        if x.ndim not in ((d + 2, d + 1) if self._unbatched else (d + 2,)):
            unbatched = f" or {d + 1}-D (c, {axes})" if self._unbatched else ""
            raise ValueError(f"{who}: input must be {d + 2}-D (n, c, {axes}){unbatched}, got shape "
                             f"{tuple(x.shape)}")
        # the sizes themselves: an array or a Tensor holding them gives its values (its .shape
        # would be the shape of the sizes)
        shape = output_size.tolist() if hasattr(output_size, "tolist") else output_size
        if not isinstance(shape, (tuple, list)) or len(shape) not in (d, x.ndim):
            whole = f"({'n, ' if x.ndim == d + 2 else ''}c, {axes})"
            raise ValueError(f"{who}: output_size must be ({axes}{',' * (d == 1)}) or {whole}, got "
                             f"{output_size!r}")
        want = tuple(shape[-d:])   # any ints (a negative one too: the range check names what can be)
        if any(isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) for n in want):
            raise TypeError(f"{who}: output_size must hold ints, got {output_size!r}")
        want = tuple(int(n) for n in want)
        stride, padding, dilation = (self._sizes(who, name, getattr(self, name), minimum) for name, minimum
                                     in (("stride", 1), ("padding", 0), ("dilation", 1)))
        least = tuple((n - 1) * s - 2 * p + dl * (k - 1) + 1 for n, s, p, dl, k in
                      zip(x.shape[-d:], stride, padding, dilation, self.kernel_size))
        most = tuple(lo + s - 1 for lo, s in zip(least, stride))
        if not all(lo <= n <= hi for n, lo, hi in zip(want, least, most)):
            if d == 1:   # a signal's: lengths, as numbers
                raise ValueError(f"{who}: requested an output length of {want[0]}, but valid lengths "
                                 f"range from {least[0]} to {most[0]} (for an input of length "
                                 f"{x.shape[-1]})")
            raise ValueError(f"{who}: requested an output size of {want}, but valid sizes range from "
                             f"{least} to {most} (for an input of {'x'.join(map(str, x.shape[-d:]))})")
        return tuple(n - lo for n, lo in zip(want, least))


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed convolution layer. weight (in_c, out_c/groups, kh, kw); ``groups`` as
    :class:`Conv2d`'s.

    Output size: ``(h - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1``. FCN's
    upsampling layers use ``bias=False`` and a bilinear weight
    (:func:`minifcn.init.bilinear_kernel`). ``padding_mode`` is ``"zeros"`` alone, as PyTorch's.

    ``forward(x, output_size)`` asks for a size instead, as PyTorch's: a stride-``s``
    convolution maps ``s`` input sizes onto the same ``h``, so the transpose may give any of
    ``(h - 1)*s - 2*padding + dilation*(k - 1) + 1`` up to ``s - 1`` more; ``output_size``
    ``(out_h, out_w)`` (or a 4-D shape, of which the last two count) picks one, and the layer's
    ``output_padding`` is then not used. A size outside that range is a ValueError naming the
    range.

    >>> import numpy as np
    >>> up = ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    >>> x = np.zeros((1, 1, 4, 4), np.float32)
    >>> up(x).shape, up(x, output_size=(8, 7)).shape, up(x, output_size=(2, 1, 8, 8)).shape
    ((1, 1, 7, 7), (1, 1, 8, 7), (1, 1, 8, 8))
    >>> ConvTranspose2d(1, 1, 3, dilation=2)(x).shape
    (1, 1, 8, 8)
    """

    _conv = staticmethod(F.conv_transpose2d)
    _axes = ("h", "w")
    _unbatched = False   # conv_transpose2d takes (n, c, h, w) alone
    _as_given = True     # the repr shows stride=2, as this library's always has

    @staticmethod
    def _kernel(who, v):
        return F._positive_pair("kernel_size", v, who)

    @staticmethod
    def _sizes(who, name, v, minimum):
        return F._pool_pair(name, v, who, minimum)   # a 1-tuple for both axes, as PyTorch's

    def extra_repr(self):
        in_c, out_c, kh, kw = self.weight.shape
        groups = self.groups
        # as PyTorch's: padding, output padding, dilation, groups and the bias where they are
        # not the defaults (two upsamplings that differ print differently)
        return (f"{in_c}, {out_c * groups}, kernel_size=({kh}, {kw}), stride={self.stride}"
                + (f", padding={self.padding!r}" if _not_default(self.padding, 0) else "")
                + (f", output_padding={self.output_padding!r}" if _not_default(self.output_padding, 0) else "")
                + (f", dilation={self.dilation!r}" if _not_default(self.dilation, 1) else "")
                + (f", groups={groups}" if groups != 1 else "")
                + (", bias=False" if self.bias is None else ""))


class Linear(Module):
    """Fully connected layer. weight (out_f, in_f), bias (out_f,)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        in_features = F.check_count("Linear", "in_features", in_features)
        out_features = F.check_count("Linear", "out_features", out_features)
        self.weight = Parameter(init.he_normal((out_features, in_features)))
        self.bias = Parameter(init.zeros((out_features,))) if bias else None
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Unfold(Module):
    """The sliding blocks of an image as columns, :func:`F.unfold <minifcn.functional.unfold>` as
    a layer (no parameters): (n, c, h, w) -> (n, c*kh*kw, L), rows channel-major as PyTorch's.
    The arguments are checked when the layer is built and kept as given (the repr shows them).

    >>> import numpy as np
    >>> Unfold(kernel_size=(2, 3), padding=1)(np.zeros((1, 2, 4, 4))).shape   # 5 x 4 blocks
    (1, 12, 20)
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        F._block_arguments("Unfold", kernel_size, dilation, padding, stride)
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x):
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Columns summed back onto an image of ``output_size``, :func:`F.fold
    <minifcn.functional.fold>` as a layer (no parameters): (n, c*kh*kw, L) -> (n, c, h, w), the
    transpose of :class:`Unfold` with the same arguments.

    >>> import numpy as np
    >>> Fold((4, 4), 2, stride=2)(np.ones((1, 4, 4))).numpy()[0, 0]   # blocks side by side
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        F._positive_pair("output_size", output_size, "Fold")
        F._block_arguments("Fold", kernel_size, dilation, padding, stride)
        self.output_size = output_size
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x):
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class ReLU(Module):
    """max(x, 0). ``inplace`` is taken for PyTorch's code and changes nothing: the result is a
    new array either way (the backward reads it, not x)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = F._flag("ReLU", "inplace", inplace)

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """:func:`F.leaky_relu <minifcn.functional.leaky_relu>` as a layer: ``x`` above 0, else
    ``negative_slope * x``. ``inplace`` is taken for PyTorch's code, as ReLU's."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, F._flag("LeakyReLU", "inplace", inplace)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, elementwise, any shape (:meth:`Tensor.sigmoid
    <minifcn.Tensor.sigmoid>`).

    >>> import numpy as np
    >>> Sigmoid()(np.array([0.0])).numpy()
    array([0.5])
    """

    def forward(self, x):
        return as_tensor(x).sigmoid()


class Tanh(Module):
    """The hyperbolic tangent, elementwise, any shape (:meth:`Tensor.tanh <minifcn.Tensor.tanh>`).

    >>> import numpy as np
    >>> Tanh()(np.array([0.0])).numpy()
    array([0.])
    """

    def forward(self, x):
        return as_tensor(x).tanh()


# ELU, GELU, SiLU, Softplus, Hardtanh, PReLU and the other activation layers: in nn_activations.py
from .nn_activations import (CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh,  # noqa: E402,F401
                             LogSigmoid, Mish, PReLU, ReLU6, SiLU, Softplus, Softsign)
from .nn_activations import GLU, Hardshrink, RReLU, Softshrink, Tanhshrink, Threshold  # noqa: E402,F401


def _softmax_dim(who, dim, ndim):
    """``dim``, or PyTorch's old implicit choice when it is None (0 for 0-, 1- and 3-d inputs,
    else 1), with PyTorch's warning."""
    if dim is not None:
        return dim
    warnings.warn(f"{who}: implicit dimension choice for softmax has been deprecated (PyTorch's "
                  "rule); give dim=", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """:func:`F.softmax <minifcn.functional.softmax>` along ``dim`` as a layer, as PyTorch's.

    >>> import numpy as np
    >>> Softmax(dim=1)(Tensor(np.zeros((1, 4)))).numpy()
    array([[0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = as_tensor(x)
        return F.softmax(x, dim=_softmax_dim("Softmax", self.dim, x.ndim))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """:func:`F.log_softmax <minifcn.functional.log_softmax>` along ``dim`` as a layer."""

    def forward(self, x):
        x = as_tensor(x)
        return F.log_softmax(x, dim=_softmax_dim("LogSoftmax", self.dim, x.ndim))


class Softmin(Softmax):
    """:func:`F.softmin <minifcn.functional.softmin>` along ``dim`` as a layer: the softmax
    of ``-x``.

    >>> import numpy as np
    >>> Softmin(dim=1)(Tensor(np.array([[0.0, np.log(3.0)]]))).numpy()
    array([[0.75, 0.25]])
    """

    def forward(self, x):
        x = as_tensor(x)
        return F.softmin(x, dim=_softmax_dim("Softmin", self.dim, x.ndim))


class Softmax2d(Module):
    """The softmax over the channels of each pixel, dim -3 of (n, c, h, w) or (c, h, w), as
    PyTorch's.

    >>> import numpy as np
    >>> Softmax2d()(np.zeros((2, 4, 3, 3))).numpy()[0, :, 0, 0]
    array([0.25, 0.25, 0.25, 0.25])
    """

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: input must be 3-D (c, h, w) or 4-D (n, c, h, w), got shape "
                             f"{tuple(x.shape)}")
        return F.softmax(x, dim=-3)


class Flatten(Module):
    """Axes ``start_dim .. end_dim`` merged into one, as PyTorch's: (n, c, h, w) -> (n, c*h*w)
    by default, the batch axis kept.

    >>> import numpy as np
    >>> Flatten()(Tensor(np.zeros((2, 3, 4, 5)))).shape
    (2, 60)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Upsample(Module):
    """:func:`F.interpolate <minifcn.functional.interpolate>` as a layer, as PyTorch's: modes
    ``"nearest"``, ``"nearest-exact"``, ``"bilinear"``, ``"bicubic"``, ``"area"``.

    >>> import numpy as np
    >>> Upsample(scale_factor=1.5, mode="bicubic", align_corners=True)(np.ones((1, 2, 4, 3))).shape
    (1, 2, 6, 4)
    >>> Upsample(scale_factor=2), Upsample(size=(3, 4), mode="bilinear")
    (Upsample(scale_factor=2.0, mode='nearest'), Upsample(size=(3, 4), mode='bilinear'))
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        # kept as floats, as PyTorch's (its repr shows 2.0); 0 or None is no factor
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        # PyTorch's: the factor if there is one, else the size; then the mode
        shown = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{shown}, mode={self.mode!r}"


class PixelShuffle(Module):
    """:func:`F.pixel_shuffle <minifcn.functional.pixel_shuffle>` as a layer, as PyTorch's:
    (*, c*r*r, h, w) -> (*, c, h*r, w*r), ``r = upscale_factor`` (a sub-pixel convolution's
    last step: a convolution to ``c*r*r`` channels, then this).

    >>> import numpy as np
    >>> PixelShuffle(3)(np.zeros((2, 18, 4, 5))).shape
    (2, 2, 12, 15)
    """

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """:func:`F.pixel_unshuffle <minifcn.functional.pixel_unshuffle>` as a layer, as PyTorch's:
    (*, c, h*r, w*r) -> (*, c*r*r, h, w), ``r = downscale_factor``, :class:`PixelShuffle` undone.

    >>> import numpy as np
    >>> PixelUnshuffle(2)(np.zeros((1, 3, 4, 6))).shape
    (1, 12, 2, 3)
    """

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class Identity(Module):
    """Its input, unchanged (a placeholder where a model leaves a layer out, as PyTorch's)."""

    def __init__(self, *args, **kwargs):   # PyTorch's takes and ignores any arguments
        super().__init__()

    def forward(self, x):
        return x


class _Pad2d(Module):
    """F.pad as a layer, in one mode: ``padding`` an int (every side) or PyTorch's
    (left, right, top, bottom), checked when the layer is built."""
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, (bool, np.bool_)):
            padding = (int(padding),) * 4
        F.pad_amounts(type(self).__name__, padding)
        self.padding = tuple(padding)

    def forward(self, x):
        return F.pad(x, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad2d(_Pad2d):
    """Pads with ``value`` (see :func:`F.pad <minifcn.functional.pad>`)."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pads with zeros: (n, c, h, w) -> (n, c, top + h + bottom, left + w + right), ``padding``
    an int (every side) or ``(left, right, top, bottom)``.

    >>> import numpy as np
    >>> ZeroPad2d((1, 0, 0, 2))(np.ones((1, 1, 2, 2))).numpy()[0, 0]
    array([[0., 1., 1.],
           [0., 1., 1.],
           [0., 0., 0.],
           [0., 0., 0.]])
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad2d(_Pad2d):
    """Pads with the mirror image of the input, its edge value left out (each side's padding
    less than the input's size there); shapes as :class:`ZeroPad2d`'s.

    >>> import numpy as np
    >>> ReflectionPad2d((2, 1, 0, 0))(np.arange(4.0).reshape(1, 1, 1, 4)).numpy()[0, 0]
    array([[2., 1., 0., 1., 2., 3., 2.]])
    """
    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pads with the input's edge values, repeated; shapes as :class:`ZeroPad2d`'s.

    >>> import numpy as np
    >>> ReplicationPad2d((2, 1, 0, 0))(np.arange(4.0).reshape(1, 1, 1, 4)).numpy()[0, 0]
    array([[0., 0., 0., 1., 2., 3., 3.]])
    """
    mode = "replicate"


class CircularPad2d(_Pad2d):
    """Pads with the values of the input's other end, as if it wrapped round; shapes as
    :class:`ZeroPad2d`'s.

    >>> import numpy as np
    >>> CircularPad2d((2, 1, 0, 0))(np.arange(4.0).reshape(1, 1, 1, 4)).numpy()[0, 0]
    array([[2., 3., 0., 1., 2., 3., 0.]])
    """
    mode = "circular"


class _AvgPoolNd(Module):
    """What AvgPool2d and AvgPool3d share: PyTorch's arguments, kept as given, and its repr;
    each subclass names its function as ``_pool``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        # as PyTorch's: no stride is the kernel's size, kept as such (the repr shows it)
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return self._pool(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """Average pooling (see :func:`F.avg_pool2d <minifcn.functional.avg_pool2d>`), PyTorch's
    arguments in PyTorch's order: (n, c, h, w) -> (n, c, out_h, out_w), ``out = floor((h + 2p -
    k) / s) + 1`` (ceil with ``ceil_mode``), the stride the kernel's size unless given.

    >>> import numpy as np
    >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    _pool = staticmethod(F.avg_pool2d)


class LPPool2d(Module):
    """Power-average pooling (see :func:`F.lp_pool2d <minifcn.functional.lp_pool2d>`):
    ``(sum over the window of x**p) ** (1/p)``, PyTorch's arguments in PyTorch's order; the
    stride stays None until the forward takes the kernel's size for it (as PyTorch's repr shows).

    >>> import numpy as np
    >>> LPPool2d(1, 2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()[0, 0]    # p = 1: sums
    array([[10., 18.],
           [42., 50.]])
    """

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, x):
        return F.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class _AdaptiveAvgPoolNd(Module):
    """What the AdaptiveAvgPool modules share: ``output_size`` kept as given, and PyTorch's
    repr; each subclass names its function as ``_pool``."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return self._pool(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to ``output_size`` (an int or a pair; None keeps that side's size):
    (n, c, h, w) -> (n, c, out_h, out_w), output row ``i`` averaging input rows
    ``floor(i h / out_h)`` to ``ceil((i + 1) h / out_h)`` (excluded), as PyTorch's.

    >>> import numpy as np
    >>> AdaptiveAvgPool2d(1)(np.arange(8.0).reshape(1, 2, 2, 2)).numpy().ravel()   # global
    array([1.5, 5.5])
    """

    _pool = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveMaxPool2d(Module):
    """Max pooling to ``output_size`` (an int or a pair; None keeps that side's size), see
    :func:`F.adaptive_max_pool2d <minifcn.functional.adaptive_max_pool2d>`; with
    ``return_indices`` the forward returns ``(y, indices)``, as PyTorch's.

    >>> import numpy as np
    >>> AdaptiveMaxPool2d(1)(np.arange(8.0).reshape(1, 2, 2, 2)).numpy().ravel()   # global
    array([3., 7.])
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Dropout(Module):
    """Inverted dropout; active in training mode, or always with ``always_on`` (MC dropout), a
    keyword only. ``inplace``, PyTorch's second argument, is taken and changes nothing (the
    result is a new array either way)."""

    def __init__(self, p=0.5, inplace: bool = False, *, always_on=False):
        super().__init__()
        who = type(self).__name__   # Dropout2d's too
        F.check_dropout_p(who, p)   # 1.5 had been taken, to fail at the first training step
        self.inplace = F._flag(who, "inplace", inplace)
        # a plain attribute: Bayesian SegNet switches it on and off around its sampling
        self.p, self.always_on = p, F._flag(who, "always_on", always_on)

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training or self.always_on)

    def extra_repr(self):   # PyTorch's, and always_on where it is set
        return f"p={self.p}, inplace={self.inplace}" + (", always_on=True" if self.always_on else "")


class Dropout2d(Dropout):
    """Spatial dropout (:func:`F.dropout2d <minifcn.functional.dropout2d>`): whole channels of
    (n, c, h, w) zeroed, one draw per image and channel, the rest scaled by 1/(1-p). Arguments
    as :class:`Dropout`'s, ``always_on`` (Monte-Carlo sampling) included. A kind of Dropout
    here (PyTorch's two are siblings), so code that finds the dropout layers finds these too.

    >>> import numpy as np
    >>> drop = Dropout2d(0.5).eval()                                  # eval: the identity
    >>> bool((drop(Tensor(np.ones((1, 4, 2, 2)))).numpy() == 1).all())
    True
    """

    def forward(self, x):
        return F.dropout2d(x, self.p, training=self.training or self.always_on)


class _MaxPoolNd(Module):
    """What MaxPool1d, MaxPool2d and MaxPool3d share: PyTorch's arguments in its order
    (``return_indices`` before ``ceil_mode``, unlike the functions'), kept as given, and its
    repr; each subclass names its function as ``_pool``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        # as PyTorch's: the arguments kept as given, no stride the kernel's size
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return self._pool(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """Max pooling (see :func:`F.max_pool2d <minifcn.functional.max_pool2d>`), PyTorch's
    arguments in PyTorch's order (``return_indices`` before ``ceil_mode``, unlike the
    function's); with ``return_indices`` the forward returns ``(y, indices)``. No state: the
    indices go back to the caller, never onto the layer.

    >>> import numpy as np
    >>> MaxPool2d(2, 1, dilation=2)
    MaxPool2d(kernel_size=2, stride=1, padding=0, dilation=2, ceil_mode=False)
    >>> MaxPool2d(2, 1, dilation=2)(np.arange(9.0).reshape(1, 1, 3, 3)).numpy()[0, 0]
    array([[8.]])
    """

    _pool = staticmethod(F.max_pool2d)


class MaxUnpool2d(Module):
    """Unpooling with the indices of the matching pool, passed explicitly at each call."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x, indices, output_size=None):
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)


class LocalResponseNorm(Module):
    """Local response normalisation across channels (see :func:`F.local_response_norm`)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class _BatchNorm(Module):
    """What BatchNorm1d, BatchNorm2d and BatchNorm3d share (siblings, as PyTorch's): the
    options, parameters and buffers, the repr, and the normalisation of a (n, c, h, w) view
    (``_normalize``: momentum, counting, running statistics); each names itself in errors."""

    _optional_buffers = ("num_batches_tracked",)   # state dicts from before the count lack it

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 bias=True):
        super().__init__()   # bias a keyword only: PyTorch's sixth and seventh are device and dtype
        who = type(self).__name__
        F.check_momentum(who, momentum, none_ok=True)   # None: a cumulative average
        _affine_and_running(self, who, num_features, affine, bias, track_running_stats)
        self.eps, self.momentum = eps, momentum

    def _normalize(self, x):
        count = self.training and self.track_running_stats and self.num_batches_tracked is not None
        momentum = 0.0 if self.momentum is None else self.momentum
        if count and self.momentum is None:   # the cumulative average: this batch weighs 1 / count
            momentum = 1.0 / (int(self.num_batches_tracked) + 1)
        # batch statistics in training, and in eval without running ones (PyTorch's rule); the
        # running ones are updated only when tracked
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        stats = not self.training or self.track_running_stats
        y = F.batch_norm(x, self.running_mean if stats else None, self.running_var if stats else None,
                         self.weight, self.bias, use_batch, momentum, self.eps)
        if count:   # after the batch went through: one that was refused is not counted
            self.num_batches_tracked += 1   # in place: a 0-d array, on the module's device
        return y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(_BatchNorm):
    """Batch norm over (n, h, w) for each channel of (n, c, h, w) (:func:`F.batch_norm
    <minifcn.functional.batch_norm>`), with PyTorch's options and state-dict names:

    * ``affine``: a learnable scale gamma (``weight``, ones) and shift beta (``bias``, zeros);
      False: neither, nor their state-dict entries. ``bias=False`` (a keyword, as in recent
      PyTorch) keeps the scale alone.
    * ``track_running_stats``: buffers ``running_mean`` (zeros), ``running_var`` (ones) and
      ``num_batches_tracked`` (a 0-d int64 count of training batches), updated in training and
      used in eval; False: no buffers, and the batch's own statistics in eval too.
    * ``momentum``: ``running = (1 - momentum) * running + momentum * batch``; None: the
      cumulative average of all batches so far, ``momentum = 1 / num_batches_tracked``.

    A state dict saved without ``num_batches_tracked`` (this library's before it kept one)
    still loads: the count stays as it was, as PyTorch's does for its older files.

    >>> import numpy as np
    >>> bn = BatchNorm2d(1, momentum=None)
    >>> for mean in (1.0, 3.0):                                   # two batches of two values
    ...     _ = bn(Tensor(np.array([[[[mean - 1, mean + 1]]]], np.float32)))
    >>> bn.running_mean.tolist(), int(bn.num_batches_tracked)   # the plain mean of the two
    ([2.0], 2)
    >>> list(BatchNorm2d(2, affine=False).state_dict())
    ['running_mean', 'running_var', 'num_batches_tracked']
    """

    def forward(self, x):
        if x.ndim != 4:   # F.batch_norm takes every rank; the layer, as PyTorch's, only images
            raise ValueError(f"BatchNorm2d: input must be 4-D (n, c, h, w), got shape {tuple(x.shape)} "
                             f"(BatchNorm1d takes (n, c) and (n, c, L), BatchNorm3d (n, c, d, h, w))")
        return self._normalize(x)


def _affine_and_running(module, who, num_features, affine, bias, track_running_stats):
    """Batch and instance norm's parameters and buffers, PyTorch's ``_NormBase``: ``weight``
    (ones) and ``bias`` (zeros) when ``affine`` (``bias=False``: the scale alone), and
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (0, int64)
    when ``track_running_stats``. One left out holds its name with None (PyTorch's
    ``register_parameter(name, None)``): no state-dict entry."""
    num_features = F.check_count(who, "num_features", num_features)
    module.affine = F._flag(who, "affine", affine)
    module.track_running_stats = F._flag(who, "track_running_stats", track_running_stats)
    module.num_features = num_features
    _affine(module, who, (num_features,), module.affine, bias)
    track = module.track_running_stats
    module.register_buffer("running_mean", init.zeros((num_features,)) if track else None)
    module.register_buffer("running_var", init.ones((num_features,)) if track else None)
    module.register_buffer("num_batches_tracked", init.zeros((), dtype=np.int64) if track else None)


def _affine(module, who, shape, affine, bias):
    """A norm's ``weight`` (ones) and ``bias`` (zeros) of ``shape`` when ``affine``
    (``bias=False``: the scale alone); one left out is None."""
    module.weight = Parameter(init.ones(shape)) if affine else None
    with_bias = affine and F._flag(who, "bias", bias)
    module.bias = Parameter(init.zeros(shape)) if with_bias else None


class InstanceNorm2d(Module):
    """Instance norm (:func:`F.instance_norm <minifcn.functional.instance_norm>`): each channel
    of each image normalised over its (h, w), for (n, c, h, w) or one image (c, h, w). It is
    :class:`GroupNorm` with ``num_groups = num_channels``, but with PyTorch's defaults and
    state-dict names, which differ from GroupNorm's:

    * ``affine=False``: no parameters; True: ``weight`` (ones) and ``bias`` (zeros), (c,).
    * ``track_running_stats=False``: the image's own statistics in training and eval alike;
      True: buffers ``running_mean``, ``running_var`` and ``num_batches_tracked``, updated in
      training, used in eval. As PyTorch's, the count stays 0 and ``momentum=None`` leaves the
      averages where they are (PyTorch's instance norm passes momentum 0 then).

    Without ``affine``, an input whose channels are not ``num_features`` is normalised all the
    same, with a warning, as PyTorch's.

    >>> import numpy as np
    >>> norm = InstanceNorm2d(2, track_running_stats=True)
    >>> list(norm.state_dict()), list(InstanceNorm2d(2).state_dict())
    (['running_mean', 'running_var', 'num_batches_tracked'], [])
    >>> x = Tensor(np.array([[[[1.0, 3.0]], [[0.0, 10.0]]]], np.float32))   # (1, 2, 1, 2)
    >>> norm(x).numpy().round(3).tolist()
    [[[[-1.0, 1.0]], [[-1.0, 1.0]]]]
    >>> [round(v, 4) for v in norm.running_mean.tolist()]     # 0.1 of the way to (2, 5)
    [0.2, 0.5]
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, *,
                 bias=True):
        super().__init__()   # bias a keyword only: PyTorch's sixth and seventh are device and dtype
        F.check_momentum("InstanceNorm2d", momentum, none_ok=True)
        _affine_and_running(self, "InstanceNorm2d", num_features, affine, bias, track_running_stats)
        self.eps, self.momentum = eps, momentum

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: input must be 3-D (c, h, w) or 4-D (n, c, h, w), got "
                             f"shape {tuple(x.shape)}")
        c = x.shape[-3]
        if c != self.num_features:
            if self.affine:
                raise ValueError(f"InstanceNorm2d: input of shape {tuple(x.shape)} has {c} channels, "
                                 f"expected num_features={self.num_features}")
            warnings.warn(f"InstanceNorm2d: input of shape {tuple(x.shape)} has {c} channels, not "
                          f"num_features={self.num_features} (unused without affine)", stacklevel=2)
        batch = x if x.ndim == 4 else x.unsqueeze(0)
        # the image's statistics unless eval with running ones (PyTorch's rule)
        y = F.instance_norm(batch, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return y if x.ndim == 4 else y.squeeze(0)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class GroupNorm(Module):
    """Group norm (:func:`F.group_norm <minifcn.functional.group_norm>`): the channels of
    (n, c, *) in ``num_groups`` groups, each image's group normalised on its own; ``weight``
    (ones) and ``bias`` (zeros) per channel, (c,), when ``affine`` (``bias=False``: the scale
    alone). The same in training and eval: no running statistics. ``num_groups = 1`` normalises
    each image as a whole, ``num_groups = num_channels`` is :class:`InstanceNorm2d` (affine).

    >>> import numpy as np
    >>> GroupNorm(2, 4)
    GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    >>> x = Tensor(np.arange(8.0, dtype=np.float32).reshape(1, 4, 2, 1))
    >>> GroupNorm(2, 4)(x).numpy()[0, :2, :, 0].round(4)      # channels 0-1: values 0-3
    array([[-1.3416, -0.4472],
           [ 0.4472,  1.3416]], dtype=float32)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True):
        super().__init__()   # bias a keyword only: PyTorch's fifth and sixth are device and dtype
        self.num_groups = F.check_count("GroupNorm", "num_groups", num_groups)
        self.num_channels = F.check_count("GroupNorm", "num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.eps, self.affine = eps, F._flag("GroupNorm", "affine", affine)
        _affine(self, "GroupNorm", (self.num_channels,), self.affine, bias)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LayerNorm(Module):
    """Layer norm (:func:`F.layer_norm <minifcn.functional.layer_norm>`): each input of shape
    (*, *normalized_shape) normalised over its trailing ``normalized_shape`` dimensions (an int:
    the last one); ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``, one
    value per element, when ``elementwise_affine`` (``bias=False``: the scale alone).

    >>> import numpy as np
    >>> norm = LayerNorm((4, 2))
    >>> norm, norm.weight.shape
    (LayerNorm((4, 2), eps=1e-05, elementwise_affine=True, bias=True), (4, 2))
    >>> y = norm(Tensor(np.arange(24.0, dtype=np.float32).reshape(3, 4, 2))).numpy()
    >>> np.allclose(y.mean(axis=(1, 2)), 0, atol=1e-6), np.allclose(y.var(axis=(1, 2)), 1, atol=1e-4)
    (True, True)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()   # PyTorch's fifth and sixth are device and dtype
        self.normalized_shape = F.check_normalized_shape("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = F._flag("LayerNorm", "elementwise_affine", elementwise_affine)
        _affine(self, "LayerNorm", self.normalized_shape, self.elementwise_affine, bias)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


def _loss_weight(who, weight, reduction):
    """A loss module's class weights as an array (or None), its reduction checked: said when
    the module is built, not at the first batch."""
    F.check_reduction(who, reduction)
    if isinstance(weight, Tensor):
        weight = weight.data
    if weight is not None:
        weight = backend.get_array_module(weight).asarray(weight)
        if weight.ndim != 1:
            raise ValueError(f"{who}: weight must hold one value a class, got shape {tuple(weight.shape)}")
    return weight


class CrossEntropyLoss(Module):
    """:func:`F.cross_entropy <minifcn.functional.cross_entropy>` as a module, PyTorch's
    ``criterion``: ``loss = criterion(scores, target)``. The class weights are a buffer, so
    they move with ``to`` and are saved in the state dict (as PyTorch's). ``ignore_index``
    defaults to 255, PASCAL VOC's void label, where PyTorch's is -100. The target is class ids
    (n, *spatial), or class probabilities of the scores' own shape (n, C, *spatial), float, as
    PyTorch's (no pixel ignored; ``"mean"`` divides by the number of pixels).

    >>> import numpy as np
    >>> criterion = CrossEntropyLoss(weight=np.array([1.0, 2.0], np.float32))
    >>> scores = Tensor(np.zeros((1, 2, 1, 2), np.float32))
    >>> round(criterion(scores, np.array([[[0, 1]]])).item(), 4)   # ln 2, whatever the weights
    0.6931
    >>> round(CrossEntropyLoss()(scores, np.full((1, 2, 1, 2), 0.5, np.float32)).item(), 4)   # probabilities
    0.6931
    """

    # keyword-only after weight: PyTorch's second argument is size_average
    def __init__(self, weight=None, *, ignore_index=255, reduction="mean", label_smoothing=0.0):
        super().__init__()
        F.check_label_smoothing("CrossEntropyLoss", label_smoothing)
        self.register_buffer("weight", _loss_weight("CrossEntropyLoss", weight, reduction))
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, scores, target):
        return F.cross_entropy(scores, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self):
        weight = "" if self.weight is None else f"weight of {len(self.weight)} classes, "
        return (f"{weight}ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")


class NLLLoss(Module):
    """:func:`F.nll_loss <minifcn.functional.nll_loss>` as a module, PyTorch's: the loss of
    log-probabilities, ``criterion(F.log_softmax(scores), target)``. The class weights are a
    buffer, as :class:`CrossEntropyLoss`'s; ``ignore_index`` defaults to 255 (PyTorch's: -100).

    >>> import numpy as np
    >>> criterion = NLLLoss()
    >>> logp = F.log_softmax(Tensor(np.zeros((1, 2, 1, 2), np.float32)))
    >>> round(criterion(logp, np.array([[[0, 255]]])).item(), 4)       # ln 2
    0.6931
    """

    # keyword-only after weight: PyTorch's second argument is size_average
    def __init__(self, weight=None, *, ignore_index=255, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", _loss_weight("NLLLoss", weight, reduction))
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def extra_repr(self):
        weight = "" if self.weight is None else f"weight of {len(self.weight)} classes, "
        return f"{weight}ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class MSELoss(Module):
    """:func:`F.mse_loss <minifcn.functional.mse_loss>` as a module, PyTorch's ``criterion``:
    the squared error averaged, summed or kept per value (``reduction``).

    >>> import numpy as np
    >>> MSELoss()(Tensor(np.array([1.0, 3.0])), np.array([0.0, 1.0])).item()   # (1 + 4) / 2
    2.5
    """

    # keyword-only: PyTorch's first argument is size_average
    def __init__(self, *, reduction="mean"):
        super().__init__()
        F.check_reduction("MSELoss", reduction)   # when built, not at the first batch
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


def _elementwise_weight(module, name, weight):
    """A BCE module's ``weight`` or ``pos_weight`` as an array (or None), for a buffer: it
    broadcasts to the input (checked by the function, where the input's shape is known). One
    that requires grad is refused, as the functions refuse it (a buffer would drop its grad)."""
    if isinstance(weight, Tensor):
        if weight.requires_grad:
            raise ValueError(f"{module}: {name} must not require grad (the loss is not "
                             f"differentiable in it, as PyTorch's is not): pass {name}.detach()")
        weight = weight.data
    return None if weight is None else backend.get_array_module(weight).asarray(weight)


class BCELoss(Module):
    """:func:`F.binary_cross_entropy <minifcn.functional.binary_cross_entropy>` as a module,
    PyTorch's: the loss of probabilities (a sigmoid's output) against targets in [0, 1]. The
    ``weight`` (broadcast to the input) is a buffer, as PyTorch's.

    >>> import numpy as np
    >>> round(BCELoss()(Tensor(np.array([0.5, 0.5])), np.array([0.0, 1.0])).item(), 4)   # ln 2
    0.6931
    """

    # keyword-only after weight: PyTorch's second argument is size_average
    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__()
        F.check_reduction("BCELoss", reduction)   # when built, not at the first batch
        self.register_buffer("weight", _elementwise_weight("BCELoss", "weight", weight))
        self.reduction = reduction

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(Module):
    """:func:`F.binary_cross_entropy_with_logits
    <minifcn.functional.binary_cross_entropy_with_logits>` as a module, PyTorch's: sigmoid and
    BCE fused, stable for any logit. ``weight`` and ``pos_weight`` are buffers (both in the
    state dict, as PyTorch's); for (n, C, h, w) logits a weight of the positives a class is
    (C, 1, 1).

    >>> import numpy as np
    >>> criterion = BCEWithLogitsLoss(pos_weight=np.array([3.0]))
    >>> round(criterion(Tensor(np.zeros(2)), np.array([1.0, 0.0])).item(), 4)   # (3 + 1) ln 2 / 2
    1.3863
    """

    # keyword-only after weight: PyTorch's second argument is size_average
    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__()
        F.check_reduction("BCEWithLogitsLoss", reduction)
        for name, w in (("weight", weight), ("pos_weight", pos_weight)):
            self.register_buffer(name, _elementwise_weight("BCEWithLogitsLoss", name, w))
        self.reduction = reduction

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction, pos_weight=self.pos_weight)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class L1Loss(Module):
    """:func:`F.l1_loss <minifcn.functional.l1_loss>` as a module, PyTorch's: the absolute
    error averaged, summed or kept per value (``reduction``).

    >>> import numpy as np
    >>> L1Loss()(Tensor(np.array([1.0, 3.0])), np.array([0.0, 1.0])).item()   # (1 + 2) / 2
    1.5
    """

    # keyword-only: PyTorch's first argument is size_average
    def __init__(self, *, reduction="mean"):
        super().__init__()
        F.check_reduction("L1Loss", reduction)
        self.reduction = reduction

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class SmoothL1Loss(Module):
    """:func:`F.smooth_l1_loss <minifcn.functional.smooth_l1_loss>` as a module, PyTorch's:
    squared below ``beta``, L1 above.

    >>> import numpy as np
    >>> SmoothL1Loss(beta=0.5)(Tensor(np.array([0.0, 0.0])), np.array([0.25, 2.0])).item()   # (0.0625 + 1.75) / 2
    0.90625
    """

    # keyword-only: PyTorch's first argument is size_average
    def __init__(self, *, reduction="mean", beta=1.0):
        super().__init__()
        F.check_reduction("SmoothL1Loss", reduction)
        self.reduction, self.beta = reduction, F.check_nonnegative("SmoothL1Loss", "beta", beta)

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(Module):
    """:func:`F.huber_loss <minifcn.functional.huber_loss>` as a module, PyTorch's: squared
    below ``delta``, a slope of ``delta`` above.

    >>> import numpy as np
    >>> HuberLoss(delta=2.0)(Tensor(np.array([0.0, 0.0])), np.array([1.0, 3.0])).item()   # (0.5 + 4) / 2
    2.25
    """

    # positional, as PyTorch's (it has no size_average)
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__()
        F.check_reduction("HuberLoss", reduction)
        self.reduction = reduction
        self.delta = F.check_nonnegative("HuberLoss", "delta", delta, positive=True)

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, delta={self.delta}"


from .nn_1d import *  # noqa: E402,F401,F403  Conv1d ... Embedding: the 1-D layers, on the 2-D ops
from .nn_losses import *  # noqa: E402,F401,F403  CosineSimilarity ... TripletMarginLoss: distances and more losses
from .nn_misc import *  # noqa: E402,F401,F403  Dropout1d ... ParameterDict: the other small layers
from .nn_3d import *  # noqa: E402,F401,F403  Conv3d ... BatchNorm3d: the 3-D layers
