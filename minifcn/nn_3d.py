"""Three-dimensional layers, PyTorch's ``nn.Conv3d`` to ``nn.BatchNorm3d``: volumes
(n, c, d, h, w), for volumetric segmentation and video.

Each runs its op of :mod:`minifcn.functional_3d`; their parameters, state-dict keys,
attributes (triples, as PyTorch's ``kernel_size=(3, 3, 3)``) and reprs are PyTorch's, so a
state dict copied from a torch module loads and computes the same. Weights start as this
library's 2-D layers do: He-normal, zero biases.

>>> import numpy as np
>>> from minifcn import nn
>>> net = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2))
>>> net(np.zeros((1, 2, 4, 6, 6), np.float32)).shape
(1, 4, 2, 3, 3)
>>> list(net.state_dict())[:3]
['0.weight', '0.bias', '1.weight']
"""
from __future__ import annotations

from . import functional as F
from .autograd import as_tensor
from .functional_3d import _as_volume, _triple, _triple_or_one, _unbatched
from .module import Module
from .nn import (_AdaptiveAvgPoolNd, _AvgPoolNd, _BatchNorm, _ConvTransposeNd, _MaxPoolNd,
                 _check_groups, _check_padding_mode, _weight_and_bias)

__all__ = ["Conv3d", "ConvTranspose3d", "MaxPool3d", "MaxUnpool3d", "AvgPool3d", "AdaptiveAvgPool3d",
           "BatchNorm3d"]


def _conv_repr(module, in_c, out_c):
    """PyTorch's ``_ConvNd.extra_repr``: what is not the default, tuples as they are stored."""
    return (f"{in_c}, {out_c}, kernel_size={module.kernel_size}, stride={module.stride}"
            + (f", padding={module.padding}" if module.padding != (0, 0, 0) else "")
            + (f", dilation={module.dilation}" if module.dilation != (1, 1, 1) else "")
            + (f", output_padding={module.output_padding}"
               if getattr(module, "output_padding", (0, 0, 0)) != (0, 0, 0) else "")
            + (f", groups={module.groups}" if module.groups != 1 else "")
            + (", bias=False" if module.bias is None else "")
            + (f", padding_mode={module.padding_mode}" if module.padding_mode != "zeros" else ""))


def pad3d(x, pads, mode):
    """x (n, c, d, h, w) or (c, d, h, w) padded by ``pads`` ``((front, back), (top, bottom),
    (left, right))`` in ``mode`` (``"reflect"``, ``"replicate"``, ``"circular"``): the 2-D
    :func:`F.pad <minifcn.functional.pad>` twice, exactly, as every mode is separable: first
    (h, w) with the depth among the channels, then the depth as the rows of (n, c, d, h*w)
    with no columns added.

    >>> import numpy as np
    >>> pad3d(np.arange(2.0).reshape(1, 1, 2, 1, 1), ((1, 2), (0, 0), (0, 0)), "circular").numpy().ravel()
    array([1., 0., 1., 0., 1.])
    """
    x5, batched = _as_volume("pad", x)
    n, c, d, h, w = x5.shape
    (front, back), (top, bottom), (left, right) = pads
    y = F.pad(x5.reshape(n, c * d, h, w), (left, right, top, bottom), mode)
    hh, ww = y.shape[2:]
    y = F.pad(y.reshape(n, c, d, hh * ww), (0, 0, front, back), mode)
    return _unbatched(y.reshape(n, c, d + front + back, hh, ww), batched)


class Conv3d(Module):
    """3-D convolution layer (:func:`F.conv3d <minifcn.functional.conv3d>`). weight
    (out_c, in_c/groups, kd, kh, kw) He-initialised, bias (out_c,) zeros.

    Output size on each axis: ``(size + 2*padding - dilation*(k - 1) - 1) // stride + 1``;
    ``padding="same"`` (stride 1) keeps it, ``"valid"`` is 0. ``padding_mode`` as PyTorch's:
    ``"zeros"``, or ``"reflect"``, ``"replicate"``, ``"circular"``, for which the input is
    padded in that mode (``"same"``: the odd one after), then convolved unpadded.

    >>> Conv3d(4, 8, 3, padding=1, groups=2)
    Conv3d(4, 8, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1), groups=2)
    >>> Conv3d(4, 8, (1, 3, 3), groups=2).weight.shape
    (8, 2, 1, 3, 3)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__()
        self.in_channels = F.check_count("Conv3d", "in_channels", in_channels)
        self.out_channels = F.check_count("Conv3d", "out_channels", out_channels)
        # no 1-tuple kernel (PyTorch's makes a 1-D kernel of it, to fail later); a 1-tuple
        # stride, dilation or padding is spread over the three axes, as PyTorch's
        self.kernel_size = _triple("Conv3d", "kernel_size", kernel_size)
        self.stride = _triple_or_one("Conv3d", "stride", stride)
        self.dilation = _triple_or_one("Conv3d", "dilation", dilation)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv3d: padding must be an int, a triple, 'valid' or 'same', got {padding!r}")
            if padding == "same" and self.stride != (1, 1, 1):   # as PyTorch's, refused when built
                raise ValueError(f"Conv3d: padding='same' needs stride 1, got stride {stride!r}")
            self.padding = padding
        else:
            self.padding = _triple_or_one("Conv3d", "padding", padding, minimum=0)
        self.groups = _check_groups("Conv3d", self.in_channels, self.out_channels, groups)
        self.padding_mode = _check_padding_mode("Conv3d", padding_mode)
        _weight_and_bias(self, (self.out_channels, self.in_channels // self.groups) + self.kernel_size,
                         bias, self.out_channels)

    def forward(self, x):
        if self.padding_mode == "zeros":
            return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return F.conv3d(pad3d(x, self._pad_amounts(), self.padding_mode), self.weight, self.bias,
                        self.stride, 0, self.dilation, self.groups)

    def _pad_amounts(self):
        """(before, after) on each axis for a padding mode other than zeros; for ``"same"``
        ``dilation*(k - 1)`` in all, the odd one after (PyTorch's)."""
        if self.padding == "valid":
            return ((0, 0),) * 3
        if self.padding == "same":
            return F._same_padding(self.kernel_size, self.dilation)
        return tuple((p, p) for p in self.padding)

    def extra_repr(self):
        return _conv_repr(self, self.in_channels, self.out_channels)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution layer (:func:`F.conv_transpose3d
    <minifcn.functional.conv_transpose3d>`). weight (in_c, out_c/groups, kd, kh, kw), bias (out_c,).

    Output size on each axis: ``(size - 1)*stride - 2*padding + dilation*(k - 1) +
    output_padding + 1``. ``forward(x, output_size)`` asks for a size instead (``(d, h, w)`` or
    the whole output shape), each axis within ``stride - 1`` above the least one, as PyTorch's;
    the layer's ``output_padding`` is then not used. ``padding_mode`` is ``"zeros"`` alone, as
    PyTorch's.

    >>> import numpy as np
    >>> up = ConvTranspose3d(1, 1, 3, stride=2, padding=1)
    >>> x = np.zeros((1, 1, 2, 3, 4), np.float32)
    >>> up(x).shape, up(x, output_size=(4, 6, 7)).shape
    ((1, 1, 3, 5, 7), (1, 1, 4, 6, 7))
    >>> up
    ConvTranspose3d(1, 1, kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1))
    """

    _conv = staticmethod(F.conv_transpose3d)
    _axes = ("d", "h", "w")

    @staticmethod
    def _kernel(who, v):   # no 1-tuple: PyTorch's would make a 1-D kernel of it
        return _triple(who, "kernel_size", v)

    @staticmethod
    def _sizes(who, name, v, minimum):
        return _triple_or_one(who, name, v, minimum)   # (2,) for all three axes, as PyTorch's

    def extra_repr(self):
        return _conv_repr(self, self.in_channels, self.out_channels)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling (:func:`F.max_pool3d <minifcn.functional.max_pool3d>`), PyTorch's
    arguments in its order (``return_indices`` before ``ceil_mode``); with ``return_indices``
    the forward returns ``(y, indices)``, for :class:`MaxUnpool3d`.

    >>> MaxPool3d((1, 2, 2))
    MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2), padding=0, dilation=1, ceil_mode=False)
    """

    _pool = staticmethod(F.max_pool3d)


class MaxUnpool3d(Module):
    """Unpooling (:func:`F.max_unpool3d <minifcn.functional.max_unpool3d>`) with the indices of
    the matching :class:`MaxPool3d`, passed at each call: ``forward(x, indices, output_size)``.

    >>> MaxUnpool3d(2)
    MaxUnpool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _triple("MaxUnpool3d", "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _triple("MaxUnpool3d", "stride", stride)
        self.padding = _triple("MaxUnpool3d", "padding", padding, minimum=0)

    def forward(self, x, indices, output_size=None):
        return F.max_unpool3d(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling (:func:`F.avg_pool3d <minifcn.functional.avg_pool3d>`), PyTorch's
    arguments in its order: ``out = floor((size + 2p - k) / s) + 1`` on each axis (ceil with
    ``ceil_mode``), the stride the kernel's size unless given.

    >>> import numpy as np
    >>> AvgPool3d(2)(np.arange(8.0).reshape(1, 1, 2, 2, 2)).numpy().ravel()
    array([3.5])
    >>> AvgPool3d(3, 2, 1)
    AvgPool3d(kernel_size=3, stride=2, padding=1)
    """

    _pool = staticmethod(F.avg_pool3d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling to ``output_size`` (an int or a triple; None keeps that axis' size), see
    :func:`F.adaptive_avg_pool3d <minifcn.functional.adaptive_avg_pool3d>`.

    >>> import numpy as np
    >>> AdaptiveAvgPool3d(1)(np.arange(16.0).reshape(1, 2, 2, 2, 2)).numpy().ravel()   # global
    array([ 3.5, 11.5])
    """

    _pool = staticmethod(F.adaptive_avg_pool3d)


class BatchNorm3d(_BatchNorm):
    """Batch norm of (n, c, d, h, w) over (n, d, h, w) for each channel: PyTorch's BatchNorm3d,
    with :class:`~minifcn.nn.BatchNorm2d`'s options (``affine``, ``bias``,
    ``track_running_stats``, ``momentum=None``), buffers and state-dict keys. It is
    BatchNorm2d on the view (n, c, d*h, w): the same values per channel, so the same
    statistics and gradients, exactly. Not a kind of BatchNorm2d (PyTorch's are siblings).

    >>> import numpy as np
    >>> bn = BatchNorm3d(2)
    >>> y = bn(np.arange(16.0, dtype=np.float32).reshape(1, 2, 2, 2, 2))
    >>> bn.running_mean * 10                                    # 0.1 of each channel's mean
    array([ 3.5, 11.5], dtype=float32)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 5:   # PyTorch's takes no unbatched volume either
            raise ValueError(f"BatchNorm3d: input must be 5-D (n, c, d, h, w), got shape {tuple(x.shape)}")
        n, c, d, h, w = x.shape
        if c != self.num_features:
            raise ValueError(f"BatchNorm3d: input has {c} channels (dimension 1), expected "
                             f"num_features={self.num_features}")
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        if use_batch and n * d * h * w == 1:   # said here: batch_norm would name a (1, c, 1, 1) image
            hint = ", or use eval mode" if self.running_mean is not None else ""
            raise ValueError(f"BatchNorm3d: training needs more than one value per channel, got input "
                             f"of shape {tuple(x.shape)} (one volume of one voxel: give a larger "
                             f"volume or batch{hint})")
        # the shared normalisation (momentum, counting, running statistics) on the view
        y = self._normalize(x.reshape(n, c, d * h, w))
        return y.reshape(x.shape)
