"""One-dimensional layers and the embedding table, PyTorch's ``nn.Conv1d`` to ``nn.Embedding``.

Each runs its op of :mod:`minifcn.functional_1d` (a 2-D op on a signal as one row); their
parameters, state-dict keys, attributes (tuples of one, as PyTorch's ``kernel_size=(3,)``)
and reprs are PyTorch's, so a state dict copied from a torch module loads and computes the
same. Weights start as this library's 2-D layers do (He-normal, zero biases); Embedding's
rows as PyTorch's, N(0, 1).

>>> import numpy as np
>>> from minifcn import nn
>>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(2))
>>> net(np.zeros((1, 2, 9), np.float32)).shape
(1, 4, 4)
>>> list(net.state_dict())[:3]
['0.weight', '0.bias', '1.weight']
"""
from __future__ import annotations

from . import init
from . import functional as F
from .autograd import Tensor, as_tensor
from .functional_1d import _single, check_padding_idx, pad1d
from .module import Module, Parameter
from .nn import (_AdaptiveAvgPoolNd, _BatchNorm, _ConvTransposeNd, _MaxPoolNd,
                 _check_groups, _check_padding_mode, _weight_and_bias)

__all__ = ["Conv1d", "ConvTranspose1d", "MaxPool1d", "MaxUnpool1d", "AvgPool1d", "AdaptiveAvgPool1d",
           "BatchNorm1d", "Embedding"]


def _conv_repr(module, in_c, out_c):
    """PyTorch's ``_ConvNd.extra_repr``: what is not the default, tuples as they are stored."""
    return (f"{in_c}, {out_c}, kernel_size={module.kernel_size}, stride={module.stride}"
            + (f", padding={module.padding}" if module.padding != (0,) else "")
            + (f", dilation={module.dilation}" if module.dilation != (1,) else "")
            + (f", output_padding={module.output_padding}" if getattr(module, "output_padding", (0,)) != (0,) else "")
            + (f", groups={module.groups}" if module.groups != 1 else "")
            + (", bias=False" if module.bias is None else "")
            + (f", padding_mode={module.padding_mode}" if module.padding_mode != "zeros" else ""))


class Conv1d(Module):
    """1-D convolution layer (:func:`F.conv1d <minifcn.functional.conv1d>`, a 2-D one on
    (n, c, 1, L)). weight (out_c, in_c/groups, k) He-initialised, bias (out_c,) zeros.

    Output length: ``(L + 2*padding - dilation*(k - 1) - 1) // stride + 1``; ``padding="same"``
    (stride 1) keeps L, ``"valid"`` is 0. ``padding_mode`` as PyTorch's: ``"zeros"``, or
    ``"reflect"``, ``"replicate"``, ``"circular"``, for which the input is padded in that mode
    (``"same"``: the odd one at the end), then convolved unpadded.

    >>> Conv1d(4, 8, 3, padding=1, groups=2)
    Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=(1,), groups=2)
    >>> import numpy as np
    >>> conv = Conv1d(1, 1, 3, padding=1, bias=False, padding_mode="circular")
    >>> conv.weight.data[...] = [[[1, 0, 0]]]                  # y[l] = x[l - 1], wrapped round
    >>> conv(np.arange(4.0, dtype=np.float32).reshape(1, 1, 4)).numpy()
    array([[[3., 0., 1., 2.]]], dtype=float32)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__()
        self.in_channels = F.check_count("Conv1d", "in_channels", in_channels)
        self.out_channels = F.check_count("Conv1d", "out_channels", out_channels)
        self.kernel_size = (_single("Conv1d", "kernel_size", kernel_size),)
        self.stride = (_single("Conv1d", "stride", stride),)
        self.dilation = (_single("Conv1d", "dilation", dilation),)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv1d: padding must be an int, 'valid' or 'same', got {padding!r}")
            if padding == "same" and self.stride != (1,):   # as PyTorch's, refused when built
                raise ValueError(f"Conv1d: padding='same' needs stride 1, got stride {stride!r}")
            self.padding = padding
        else:
            self.padding = (_single("Conv1d", "padding", padding, minimum=0),)
        self.groups = _check_groups("Conv1d", self.in_channels, self.out_channels, groups)
        self.padding_mode = _check_padding_mode("Conv1d", padding_mode)
        _weight_and_bias(self, (self.out_channels, self.in_channels // self.groups, self.kernel_size[0]),
                         bias, self.out_channels)

    def forward(self, x):
        if self.padding_mode == "zeros":
            return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return F.conv1d(pad1d(x, *self._pad_amounts(), self.padding_mode), self.weight, self.bias,
                        self.stride, 0, self.dilation, self.groups)

    def _pad_amounts(self):
        """(left, right) for a padding mode other than zeros; for ``"same"`` ``dilation*(k - 1)``
        in all, the odd one at the end (PyTorch's ``_reversed_padding_repeated_twice``)."""
        if self.padding == "valid":
            return 0, 0
        if self.padding == "same":
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            return total // 2, total - total // 2
        return self.padding[0], self.padding[0]

    def extra_repr(self):
        return _conv_repr(self, self.in_channels, self.out_channels)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer (:func:`F.conv_transpose1d
    <minifcn.functional.conv_transpose1d>`). weight (in_c, out_c/groups, k), bias (out_c,).

    Output length: ``(L - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1``.
    ``forward(x, output_size)`` asks for a length instead (``(out_L,)`` or the whole output
    shape), within ``stride - 1`` above the least one, as PyTorch's; the layer's
    ``output_padding`` is then not used. ``padding_mode`` is ``"zeros"`` alone, as PyTorch's.

    >>> import numpy as np
    >>> up = ConvTranspose1d(1, 1, 3, stride=2, padding=1)
    >>> x = np.zeros((1, 1, 4), np.float32)
    >>> up(x).shape, up(x, output_size=(8,)).shape
    ((1, 1, 7), (1, 1, 8))
    >>> up
    ConvTranspose1d(1, 1, kernel_size=(3,), stride=(2,), padding=(1,))
    """

    _conv = staticmethod(F.conv_transpose1d)
    _axes = ("L",)

    @staticmethod
    def _kernel(who, v):
        return (_single(who, "kernel_size", v),)

    @staticmethod
    def _sizes(who, name, v, minimum):
        return (_single(who, name, v, minimum),)

    def extra_repr(self):
        return _conv_repr(self, self.in_channels, self.out_channels)


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling (:func:`F.max_pool1d <minifcn.functional.max_pool1d>`), PyTorch's
    arguments in its order; with ``return_indices`` the forward returns ``(y, indices)``.

    >>> MaxPool1d(3)
    MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)
    """

    _pool = staticmethod(F.max_pool1d)


class MaxUnpool1d(Module):
    """Unpooling (:func:`F.max_unpool1d <minifcn.functional.max_unpool1d>`) with the indices
    of the matching :class:`MaxPool1d`, passed at each call: ``forward(x, indices, output_size)``.

    >>> MaxUnpool1d(2)
    MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = (_single("MaxUnpool1d", "kernel_size", kernel_size),)
        self.stride = self.kernel_size if stride is None else (_single("MaxUnpool1d", "stride", stride),)
        self.padding = (_single("MaxUnpool1d", "padding", padding, minimum=0),)

    def forward(self, x, indices, output_size=None):
        return F.max_unpool1d(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """1-D average pooling (:func:`F.avg_pool1d <minifcn.functional.avg_pool1d>`), PyTorch's
    arguments in its order: ``out_L = floor((L + 2p - k) / s) + 1`` (ceil with ``ceil_mode``).

    >>> import numpy as np
    >>> AvgPool1d(2)(np.arange(4.0).reshape(1, 1, 4)).numpy()
    array([[[0.5, 2.5]]])
    >>> AvgPool1d(3, 2, 1)
    AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = (_single("AvgPool1d", "kernel_size", kernel_size),)
        self.stride = self.kernel_size if stride is None else (_single("AvgPool1d", "stride", stride),)
        self.padding = (_single("AvgPool1d", "padding", padding, minimum=0),)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling to ``output_size`` values (:func:`F.adaptive_avg_pool1d
    <minifcn.functional.adaptive_avg_pool1d>`): (n, c, L) -> (n, c, output_size).

    >>> import numpy as np
    >>> AdaptiveAvgPool1d(1)(np.arange(6.0).reshape(1, 2, 3)).numpy()   # global
    array([[[1.],
            [4.]]])
    """

    _pool = staticmethod(F.adaptive_avg_pool1d)


class BatchNorm1d(_BatchNorm):
    """Batch norm of (n, c) over n, or of (n, c, L) over (n, L), for each channel: PyTorch's
    BatchNorm1d, with :class:`~minifcn.nn.BatchNorm2d`'s options (``affine``, ``bias``,
    ``track_running_stats``, ``momentum=None``), buffers and state-dict keys. It is
    BatchNorm2d on (n, c, 1, 1) or (n, c, 1, L): the same values per channel, so the same
    statistics. Not a kind of BatchNorm2d (PyTorch's two are siblings).

    >>> import numpy as np
    >>> bn = BatchNorm1d(2)
    >>> y = bn(Tensor(np.array([[1.0, 10.0], [3.0, 30.0]], np.float32)))
    >>> y.numpy().round(3), bn.running_mean * 10               # 0.1 of the batch's mean
    (array([[-1., -1.],
           [ 1.,  1.]], dtype=float32), array([ 2., 20.], dtype=float32))
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    def forward(self, x):
        x = as_tensor(x)
        # no unbatched (c, L), as PyTorch's has none; but a 2-D input is read as (n, c), so a
        # (c, L) one with L == num_features runs as a batch of c samples (PyTorch's does too)
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: input must be 2-D (n, c) or 3-D (n, c, L), got shape "
                             f"{tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: input has {x.shape[1]} channels (dimension 1), expected "
                             f"num_features={self.num_features}")
        n, c = x.shape[:2]
        length = x.shape[2] if x.ndim == 3 else 1
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        if use_batch and n * length == 1:   # said here: batch_norm would name (1, c, 1, 1) and an image
            # eval mode without running statistics normalises by the batch's too, as PyTorch's
            hint = ", or use eval mode" if self.running_mean is not None else ""
            raise ValueError(f"BatchNorm1d: training needs more than one value per channel, got input "
                             f"of shape {tuple(x.shape)} (one sample{' of length 1' * (x.ndim == 3)}: "
                             f"give a larger batch{hint})")
        # the shared normalisation (momentum, counting, running statistics) on one row
        y = self._normalize(x.reshape(n, c, 1, length))
        return y.reshape(x.shape)


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of ``embedding_dim`` values, looked up by index
    (:func:`F.embedding <minifcn.functional.embedding>`): indices of any shape ->
    (*shape, embedding_dim). weight (num_embeddings, embedding_dim) N(0, 1), as PyTorch's; the
    row ``padding_idx`` (a negative one counts from the end) starts at zeros and gets no
    gradient. ``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` as the function's;
    ``sparse`` False only.

    >>> import numpy as np
    >>> emb = Embedding(10, 3, padding_idx=0)
    >>> emb(np.array([[0, 2], [4, 0]])).shape, emb.weight.numpy()[0].tolist()
    ((2, 2, 3), [0.0, 0.0, 0.0])
    >>> emb
    Embedding(10, 3, padding_idx=0)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False):
        super().__init__()
        self.num_embeddings = F.check_count("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = F.check_count("Embedding", "embedding_dim", embedding_dim)
        self.padding_idx = check_padding_idx("Embedding", padding_idx, self.num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq = F._flag("Embedding", "scale_grad_by_freq", scale_grad_by_freq)
        if F._flag("Embedding", "sparse", sparse):
            raise ValueError("Embedding: sparse=True is not supported (gradients here are dense "
                             "arrays); expected sparse=False")
        self.sparse = False
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            weight = init.normal_(init.zeros(shape))
            if self.padding_idx is not None:
                weight[self.padding_idx] = 0
        else:   # from_pretrained's: the table as it is, padding row included (PyTorch's)
            weight = _weight.data if isinstance(_weight, Tensor) else _weight
            if tuple(weight.shape) != shape:
                raise ValueError(f"Embedding: _weight of shape {tuple(weight.shape)} should be {shape}")
        self.weight = Parameter(weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is ``embeddings`` (num_embeddings, embedding_dim), a Tensor
        or an array (its memory shared, as PyTorch's); ``freeze``: no gradient for it.

        >>> import numpy as np
        >>> emb = Embedding.from_pretrained(np.eye(3, dtype=np.float32))
        >>> emb(np.array([2])).numpy(), emb.weight.requires_grad
        (array([[0., 0., 1.]], dtype=float32), False)
        """
        data = embeddings.data if isinstance(embeddings, Tensor) else embeddings
        if not hasattr(data, "ndim") or data.ndim != 2:
            got = f"shape {tuple(data.shape)}" if hasattr(data, "shape") else type(data).__name__
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, "
                             f"embedding_dim), got {got}")
        return cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq,
                   sparse, _weight=data, _freeze=F._flag("Embedding.from_pretrained", "freeze", freeze))

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        return (f"{self.num_embeddings}, {self.embedding_dim}"
                + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
                + (f", max_norm={self.max_norm}" if self.max_norm is not None else "")
                + (f", norm_type={self.norm_type}" if self.norm_type != 2 else "")
                + (f", scale_grad_by_freq={self.scale_grad_by_freq}" if self.scale_grad_by_freq else ""))
