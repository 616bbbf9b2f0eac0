"""One-dimensional ops and the embedding lookup, PyTorch's ``F.conv1d`` to ``F.embedding``.

A signal (n, c, L) is an image (n, c, 1, L) of one row, and every 1-D op here is its 2-D op
of :mod:`minifcn.functional` on that row with a kernel of height 1: exactly, not as an
approximation (a kernel of one row, no padding, stride or dilation along the height, reads
and writes that one row alone). So each one checks its arguments in 1-D terms, reshapes, and
calls the 2-D op, whose backward is then the 1-D one's too; a single signal (c, L), without the
batch, is taken where PyTorch takes one. Max pooling's indices come back as PyTorch's 1-D
ones: the 2-D flat index ``h * W + w`` of row 0 is ``w``.

:func:`embedding` is a table lookup, ``weight[input]``, whose gradient is scatter-added into
the rows that were read.

>>> import numpy as np
>>> from minifcn import functional as F
>>> F.conv1d(np.ones((2, 3, 10)), np.ones((4, 3, 3)), stride=2).shape   # (10 - 3) // 2 + 1
(2, 4, 4)
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .autograd import Function, Tensor, as_tensor
from .backend import get_array_module
from .functional import (MaxUnpool2d, _check_float, _check_same_dtype, _check_windows_hold_pixels, _flag,
                         adaptive_avg_pool2d, avg_pool2d, check_count, conv2d, conv_transpose2d, max_pool2d,
                         pad)
from .im2col import conv_out_size
from .indexing import _scatter_add

__all__ = ["conv1d", "conv_transpose1d", "max_pool1d", "max_unpool1d", "avg_pool1d",
           "adaptive_avg_pool1d", "embedding"]


# --------------------------------------------------------------------- a signal as one row
def _single(op, name, v, minimum=1):
    """An int, or PyTorch's 1-tuple of one (``kernel_size=(3,)``), at least ``minimum``."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int or a tuple of one int, got {v!r}")
    if v < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {v!r}")
    return int(v)


def _as_row(op, x):
    """x (n, c, L), or one signal (c, L), as the image (n, c, 1, L); and whether it had a batch."""
    x = as_tensor(x)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: input must be 3-D (n, c, L) or 2-D (c, L), got shape {tuple(x.shape)}")
    _check_float(op, x)
    batched = x.ndim == 3
    n, c, length = x.shape if batched else (1, *x.shape)
    return x.reshape(n, c, 1, length), batched


def _from_row(y, batched):
    """The image (n, c, 1, L') of a 1-D op back as (n, c, L'), or (c, L') without the batch."""
    n, c, _, length = y.shape
    return y.reshape(n, c, length) if batched else y.reshape(c, length)


def _check_weight(op, weight, layout):
    weight = as_tensor(weight)
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight must be 3-D {layout}, got shape {tuple(weight.shape)}")
    _check_float(op, weight, "weight")
    return weight


# --------------------------------------------------------------------- convolution
def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation), PyTorch's: :func:`~minifcn.functional.conv2d` on
    (n, c, 1, L) with the kernel (out_c, in_c/groups, 1, k).

    Shapes: x (n, in_c, L) or (in_c, L), weight (out_c, in_c/groups, k), bias (out_c,) ->
    (n, out_c, out_L) with ``out_L = (L + 2*p - d*(k - 1) - 1) // s + 1``.

    Args:
        stride, padding, dilation: an int (or a tuple of one). ``padding`` may also be
            ``"valid"`` (0) or ``"same"`` (stride 1: out_L = L; an odd total of zeros puts the
            extra one at the end, as PyTorch's).
        groups: as conv2d's: in_c and out_c split into that many parts, output part i made
            from input part i alone.

    >>> import numpy as np
    >>> conv1d(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 2))).numpy()     # sums of pairs
    array([[[1., 3., 5., 7.]]])
    >>> conv1d(np.ones((3, 8)), np.ones((2, 3, 4)), padding="same").shape       # no batch
    (2, 8)
    """
    x4, batched = _as_row("conv1d", x)
    weight = _check_weight("conv1d", weight, "(out_c, in_c/groups, k)")
    bias = None if bias is None else as_tensor(bias)
    _check_same_dtype("conv1d", x4, weight, bias)
    stride = _single("conv1d", "stride", stride)
    dilation = _single("conv1d", "dilation", dilation)
    groups = check_count("conv1d", "groups", groups)
    c, length = x4.shape[1], x4.shape[3]
    out_c, in_c, k = weight.shape
    if min(length, out_c, in_c, k) < 1:
        raise ValueError(f"conv1d: input {tuple(x4.shape[:2]) + (length,)} and weight "
                         f"{tuple(weight.shape)} must have at least one value, channel and tap")
    if out_c % groups:
        raise ValueError(f"conv1d: weight {tuple(weight.shape)} has {out_c} output channels, not a "
                         f"multiple of groups={groups}")
    if c != in_c * groups:
        raise ValueError(f"conv1d: input has {c} channels but weight {tuple(weight.shape)} expects "
                         f"{in_c * groups}" + (f" ({in_c} per group, groups={groups})" if groups > 1 else ""))
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"conv1d: bias shape {tuple(bias.shape)} should be ({out_c},)")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv1d: padding must be an int, 'valid' or 'same', got {padding!r}")
        if padding == "same" and stride != 1:   # PyTorch refuses it too
            raise ValueError(f"conv1d: padding='same' needs stride 1, got stride {stride}")
        pad_2d = padding   # conv2d's "same": the height's total d*(1 - 1) is 0
        p = 0 if padding == "valid" else None   # "same" pads any kernel to fit
    else:
        p = _single("conv1d", "padding", padding, minimum=0)
        pad_2d = (0, p)
    if p is not None and dilation * (k - 1) + 1 > length + 2 * p:   # said in 1-D, not as conv2d's 1xk
        raise ValueError(f"conv1d: kernel of {dilation * (k - 1) + 1} taps (dilated) is longer "
                         f"than the padded input, {length + 2 * p}")
    W4 = weight.reshape(out_c, in_c, 1, k)
    y = conv2d(x4, W4, bias, (1, stride), pad_2d, (1, dilation), groups)
    return _from_row(y, batched)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution, PyTorch's: :func:`~minifcn.functional.conv_transpose2d` on
    (n, c, 1, L) with the kernel (in_c, out_c/groups, 1, k); the transpose (and the input
    gradient) of :func:`conv1d` with the same weight.

    Shapes: x (n, in_c, L) or (in_c, L), weight (in_c, out_c/groups, k), bias (out_c,) ->
    (n, out_c, out_L) with ``out_L = (L - 1)*s - 2*p + d*(k - 1) + output_padding + 1``;
    ``output_padding`` smaller than the stride or the dilation.

    >>> import numpy as np
    >>> conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 3)), stride=2).numpy()
    array([[[1., 1., 2., 1., 2., 1., 1.]]])
    """
    x4, batched = _as_row("conv_transpose1d", x)
    weight = _check_weight("conv_transpose1d", weight, "(in_c, out_c/groups, k)")
    bias = None if bias is None else as_tensor(bias)
    _check_same_dtype("conv_transpose1d", x4, weight, bias)
    stride = _single("conv_transpose1d", "stride", stride)
    padding = _single("conv_transpose1d", "padding", padding, minimum=0)
    output_padding = _single("conv_transpose1d", "output_padding", output_padding, minimum=0)
    dilation = _single("conv_transpose1d", "dilation", dilation)
    groups = check_count("conv_transpose1d", "groups", groups)
    if output_padding >= max(stride, dilation):
        raise ValueError(f"conv_transpose1d: output_padding {output_padding} must be smaller than "
                         f"the stride {stride} or the dilation {dilation}")
    c, length = x4.shape[1], x4.shape[3]
    in_c, out_c, k = weight.shape
    if min(length, out_c, in_c, k) < 1:
        raise ValueError(f"conv_transpose1d: input {tuple(x4.shape[:2]) + (length,)} and weight "
                         f"{tuple(weight.shape)} must have at least one value, channel and tap")
    if c != in_c:
        raise ValueError(f"conv_transpose1d: input has {c} channels but weight {tuple(weight.shape)} "
                         f"expects {in_c} (weight is (in_c, out_c/groups, k))")
    if in_c % groups:
        raise ValueError(f"conv_transpose1d: input has {in_c} channels, not a multiple of groups={groups}")
    if bias is not None and tuple(bias.shape) != (out_c * groups,):
        raise ValueError(f"conv_transpose1d: bias shape {tuple(bias.shape)} should be ({out_c * groups},)")
    out_length = (length - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    if out_length < 1:
        raise ValueError(f"conv_transpose1d: padding {padding} leaves an empty output ({out_length})")
    W4 = weight.reshape(in_c, out_c, 1, k)
    y = conv_transpose2d(x4, W4, bias, (1, stride), (0, padding), (0, output_padding), groups, (1, dilation))
    return _from_row(y, batched)


# --------------------------------------------------------------------- pooling
def _pool_arguments(op, x4, kernel_size, stride, padding, ceil_mode, dilation=1):
    """(k, s, p, ceil_mode) of a 1-D pooling, checked as PyTorch checks them, in 1-D terms
    (the 2-D op would name a (1, k) kernel): stride defaults to the kernel, padding at most
    half of it, at least one window, and each dilated window holding an input value."""
    k = _single(op, "kernel_size", kernel_size)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else _single(op, "stride", stride)   # PyTorch reads an empty stride as None too
    p = _single(op, "padding", padding, minimum=0)
    ceil_mode = _flag(op, "ceil_mode", ceil_mode)
    if 2 * p > k:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel {k}")
    length = x4.shape[3]
    out = conv_out_size(length, k, s, p, dilation, ceil_mode=ceil_mode)
    if length < 1 or out < 1:
        span = "" if dilation == 1 else f" with dilation {dilation} (a span of {dilation * (k - 1) + 1})"
        raise ValueError(f"{op}: kernel {k}{span} is longer than the padded input {length + 2 * p}")
    if dilation != 1:   # taps that step over a short input onto the padding alone: refused
        _check_windows_hold_pixels(op, "position", length, out, k, s, p, dilation)
    return k, s, p, ceil_mode


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling, PyTorch's: :func:`~minifcn.functional.max_pool2d` on (n, c, 1, L) with
    a (1, k) window. With ``return_indices`` also the position ``l`` in the input of each
    maximum (PyTorch's 1-D index: the 2-D ``h * W + w`` of row 0), for :func:`max_unpool1d`.

    Shapes: x (n, c, L) or (c, L) -> (n, c, out_L) with
    ``out_L = floor((L + 2*p - d*(k - 1) - 1) / s) + 1`` (``ceil`` with ``ceil_mode``; a window
    must start inside the input or its left padding); ``stride`` defaults to ``kernel_size``;
    ``dilation`` spaces the window's k taps d apart.

    >>> import numpy as np
    >>> y, idx = max_pool1d(np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]]), 2, return_indices=True)
    >>> y.numpy(), idx.numpy()
    (array([[[3., 4.]]]), array([[[0, 2]]]))
    >>> max_pool1d(np.array([[3.0, 1.0, 4.0, 1.0, 5.0]]), 2, ceil_mode=True).numpy()   # no batch
    array([[3., 4., 5.]])
    >>> max_pool1d(np.array([[3.0, 1.0, 4.0, 1.0, 5.0]]), 2, 1, dilation=3).numpy()   # {0, 3}, {1, 4}
    array([[3., 5.]])
    """
    x4, batched = _as_row("max_pool1d", x)
    d = _single("max_pool1d", "dilation", dilation)
    k, s, p, ceil_mode = _pool_arguments("max_pool1d", x4, kernel_size, stride, padding, ceil_mode, d)
    return_indices = _flag("max_pool1d", "return_indices", return_indices)
    out = max_pool2d(x4, (1, k), (1, s), (0, p), (1, d), ceil_mode=ceil_mode, return_indices=return_indices)
    if not return_indices:
        return _from_row(out, batched)
    y, indices = out
    return _from_row(y, batched), Tensor(_from_row(indices, batched).data)   # ints: no graph


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Each value put back where :func:`max_pool1d` found it, zeros elsewhere, PyTorch's:
    :func:`~minifcn.functional.max_unpool2d` on (n, c, 1, L).

    Shapes: x and indices (n, c, L) or (c, L) -> (n, c, out_L) with
    ``out_L = (L - 1)*s - 2*p + k`` unless ``output_size`` (``(out_L,)``, or ``(n, c, out_L)``
    even for a (c, L) input, as PyTorch's) says otherwise, within a stride of it (an odd input
    length pools to the length of the even one below it). Where overlapping windows recorded
    one position twice, the last value is kept, as max_unpool2d's. No ``dilation`` (nor in
    PyTorch): a dilated pooling is unpooled with its span ``d*(k - 1) + 1`` as ``kernel_size``.

    >>> import numpy as np
    >>> y, idx = max_pool1d(np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]]), 2, return_indices=True)
    >>> max_unpool1d(y, idx, 2, output_size=(5,)).numpy()
    array([[[3., 0., 4., 0., 0.]]])
    """
    x4, batched = _as_row("max_unpool1d", x)
    x_shape = (x4.shape[0],) * batched + (x4.shape[1], x4.shape[3])   # as given: (n, c, L) or (c, L)
    idx = indices.data if isinstance(indices, Tensor) else indices
    if not hasattr(idx, "dtype") or idx.dtype.kind not in "iu":
        what = idx.dtype if hasattr(idx, "dtype") else type(idx).__name__
        raise TypeError(f"max_unpool1d: indices must be an integer tensor, got {what}")
    if tuple(idx.shape) != x_shape:
        raise ValueError(f"max_unpool1d: indices shape {tuple(idx.shape)} must equal input shape {x_shape}")
    k = _single("max_unpool1d", "kernel_size", kernel_size)
    s = k if stride is None else _single("max_unpool1d", "stride", stride)
    p = _single("max_unpool1d", "padding", padding, minimum=0)
    length = x4.shape[3]
    default = (length - 1) * s - 2 * p + k
    if output_size is None:
        out_length = default
    else:
        # PyTorch's rule (its _unpool_output_size): the length alone, or three numbers whose
        # last counts, (n, c, L), even for an unbatched (c, L) input
        shape = tuple(output_size.shape if hasattr(output_size, "shape") else output_size) \
            if not isinstance(output_size, numbers.Integral) else (output_size,)
        if len(shape) not in (1, 3):
            raise ValueError(f"max_unpool1d: output_size must be (L,) or (n, c, L), 1 or 3 numbers "
                             f"whether the input is batched or not (PyTorch's rule), got "
                             f"{output_size!r}")
        out_length = _single("max_unpool1d", "output_size", shape[-1])
        if not default - s < out_length < default + s:
            raise ValueError(f"max_unpool1d: output_size {out_length} is not one that pools to "
                             f"{length}: expected {max(default - s + 1, 1)} to {default + s - 1}")
    # one pass over the indices: read as unsigned, a negative index is larger than any valid one
    unsigned = idx.view(f"u{idx.dtype.itemsize}") if idx.dtype.kind == "i" else idx
    if idx.size and int(unsigned.max()) >= out_length:
        raise ValueError(f"max_unpool1d: indices must lie in [0, {out_length}) for an output of "
                         f"length {out_length}, got values in [{int(idx.min())}, {int(idx.max())}]")
    idx4 = idx.reshape(x4.shape)
    y = MaxUnpool2d(idx4, (1, out_length), overlap=k > s)(x4)   # checked here, in 1-D terms
    return _from_row(y, batched)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling, PyTorch's: :func:`~minifcn.functional.avg_pool2d` on (n, c, 1, L)
    with a (1, k) window (whose count is the same: the height is neither padded nor cut).

    Shapes: x (n, c, L) or (c, L) -> (n, c, out_L) with ``out_L = floor((L + 2*p - k) / s) + 1``
    (``ceil`` with ``ceil_mode``). Each window's sum over its count: its cells inside the
    padded input with ``count_include_pad``, else inside the input.

    >>> import numpy as np
    >>> avg_pool1d(np.arange(1.0, 6.0).reshape(1, 1, 5), 2, ceil_mode=True).numpy()
    array([[[1.5, 3.5, 5. ]]])
    """
    x4, batched = _as_row("avg_pool1d", x)
    k, s, p, ceil_mode = _pool_arguments("avg_pool1d", x4, kernel_size, stride, padding, ceil_mode)
    count_include_pad = _flag("avg_pool1d", "count_include_pad", count_include_pad)
    y = avg_pool2d(x4, (1, k), (1, s), (0, p), ceil_mode, count_include_pad)
    return _from_row(y, batched)


def adaptive_avg_pool1d(x, output_size):
    """Average pooling to ``output_size`` values, PyTorch's: :func:`~minifcn.functional.adaptive_avg_pool2d`
    on (n, c, 1, L) to (1, output_size). Output ``i`` averages the inputs
    ``floor(i*L/out)`` to ``ceil((i+1)*L/out) - 1``.

    Shapes: x (n, c, L) or (c, L) -> (n, c, output_size).

    >>> import numpy as np
    >>> adaptive_avg_pool1d(np.arange(4.0).reshape(1, 1, 4), 3).numpy()   # [0, 2), [1, 3), [2, 4)
    array([[[0.5, 1.5, 2.5]]])
    """
    x4, batched = _as_row("adaptive_avg_pool1d", x)
    out = _single("adaptive_avg_pool1d", "output_size", output_size)
    if x4.shape[3] < 1:
        raise ValueError(f"adaptive_avg_pool1d: input of shape {tuple(as_tensor(x).shape)} has no values to average")
    return _from_row(adaptive_avg_pool2d(x4, (1, out)), batched)


def pad1d(x, left, right, mode):
    """x (n, c, L) or (c, L) padded by ``left`` and ``right`` values along L in ``mode``
    (:func:`~minifcn.functional.pad`'s on one row): ``Conv1d``'s padding modes.

    >>> import numpy as np
    >>> pad1d(np.arange(1.0, 4.0).reshape(1, 1, 3), 2, 1, "circular").numpy()
    array([[[2., 3., 1., 2., 3., 1.]]])
    """
    x4, batched = _as_row("pad", x)
    return _from_row(pad(x4, (left, right), mode), batched)


# --------------------------------------------------------------------- embedding
class Embedding(Function):
    """Rows of the table W (num, dim) at ``index``: (*index.shape, dim). Backward: each row of
    the upstream gradient added into the row it was read from (a row read twice gets both);
    none into ``padding_idx``'s; with ``scale_grad_by_freq`` each divided by how often its
    index came in this input."""

    def __init__(self, index, padding_idx, scale_grad_by_freq):
        self.index, self.padding_idx, self.scale_grad_by_freq = index, padding_idx, scale_grad_by_freq

    def forward(self, W):
        self.W_shape = W.shape
        return get_array_module(W).take(W, self.index, axis=0)

    def backward(self, gy):
        xp = get_array_module(gy)
        num, dim = self.W_shape
        rows = self.index.reshape(-1)
        g = gy.reshape(rows.size, dim)
        if self.scale_grad_by_freq:
            counts = xp.bincount(rows, minlength=num)
            g = g / counts[rows].astype(g.dtype)[:, None]
        # the flat position of each gradient value in W: its row's start plus its column;
        # bincount adds repeats up (no unbuffered add.at)
        flat = rows[:, None] * dim + xp.arange(dim)
        gW = _scatter_add(flat, g, self.W_shape)
        if self.padding_idx is not None:
            gW[self.padding_idx] = 0   # PyTorch's: the padding row stays as it is
        return gW


def _embedding_index(op, input, weight):
    """``input`` as an int64 array on the weight's device, every value in [0, num_embeddings)."""
    index = input.data if isinstance(input, Tensor) else input
    if isinstance(index, (list, tuple, numbers.Integral)):
        index = get_array_module(weight.data).asarray(index)
    if not hasattr(index, "dtype") or index.dtype.kind not in "iu":
        what = f"dtype {index.dtype}" if hasattr(index, "dtype") else type(index).__name__
        raise TypeError(f"{op}: input must be an integer tensor of indices (int64, as PyTorch's), got {what}")
    if get_array_module(index) is not get_array_module(weight.data):
        raise ValueError(f"{op}: input and weight are on different devices; move one with .to()")
    num = weight.shape[0]
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= num:
            raise IndexError(f"{op}: index {lo if lo < 0 else hi} is out of range for a weight of "
                             f"{num} rows (expected 0 <= index < {num})")
    return index.astype(np.int64, copy=False)


def check_padding_idx(op, padding_idx, num_embeddings):
    """``padding_idx`` as a row in [0, num_embeddings) (a negative one counts from the end, as
    PyTorch's), or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, (bool, np.bool_)) or not isinstance(padding_idx, numbers.Integral):
        raise TypeError(f"{op}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings: expected "
                         f"{-num_embeddings} <= padding_idx < {num_embeddings}, got {padding_idx}")
    return int(padding_idx) % num_embeddings


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` looked up by ``input``, PyTorch's ``F.embedding``: ``weight[input]``.

    Shapes: input, integers in [0, num) of any shape; weight (num, dim) -> (*input.shape, dim).

    The gradient of ``weight`` is the upstream gradient's rows added into the rows they were
    read from (zero for rows not read). Args, as PyTorch's:

    * ``padding_idx``: that row gets no gradient (it is read as it is; the module
      :class:`~minifcn.nn.Embedding` starts it at zeros). Negative: counted from the end.
    * ``max_norm``: every row read whose ``norm_type``-norm exceeds it is first scaled, in
      place and outside the graph, to that norm (``max_norm / (norm + 1e-7)``, as PyTorch's).
      ``norm_type`` as ``torch.linalg.vector_norm``'s ``ord``: ``inf`` the largest ``|w|``,
      ``-inf`` the smallest, 0 the count of nonzero values.
    * ``scale_grad_by_freq``: each row's gradient divided by how often its index came.
    * ``sparse``: False only (the gradient is a dense array).

    >>> import numpy as np
    >>> from minifcn import Tensor
    >>> W = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    >>> y = embedding(np.array([[2, 0, 2]]), W)
    >>> y.shape, y.numpy()[0, 0]
    ((1, 3, 2), array([4., 5.]))
    >>> y.sum().backward(); W.grad                    # row 2 read twice, row 1 never
    array([[1., 1.],
           [0., 0.],
           [2., 2.]])
    """
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{tuple(weight.shape)}")
    _check_float("embedding", weight, "weight")
    index = _embedding_index("embedding", input, weight)
    padding_idx = check_padding_idx("embedding", padding_idx, weight.shape[0])
    scale_grad_by_freq = _flag("embedding", "scale_grad_by_freq", scale_grad_by_freq)
    if _flag("embedding", "sparse", sparse):
        raise ValueError("embedding: sparse=True is not supported (gradients here are dense arrays); "
                         "expected sparse=False")
    if max_norm is not None:
        _renorm_rows(weight, index, max_norm, norm_type)
    return Embedding(index, padding_idx, scale_grad_by_freq)(weight)


def _renorm_rows(weight, index, max_norm, norm_type):
    """PyTorch's ``embedding_renorm_``: the rows of ``weight`` read by ``index`` whose
    ``norm_type``-norm is over ``max_norm`` scaled down to it, in place, outside the graph
    (PyTorch's does it under no_grad too)."""
    if isinstance(max_norm, (bool, np.bool_)) or not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(f"embedding: max_norm must be a positive number, got {max_norm!r}")
    if (isinstance(norm_type, (bool, np.bool_)) or not isinstance(norm_type, numbers.Real)
            or math.isnan(norm_type)):
        raise ValueError(f"embedding: norm_type must be a number, got {norm_type!r}")
    xp = get_array_module(weight.data)
    rows = xp.unique(index.reshape(-1))
    W = weight.data
    a = xp.abs(W[rows])
    p = float(norm_type)
    # torch.linalg.vector_norm's rule, which PyTorch's renorm follows: sum(|w|**p)**(1/p) has
    # no limit to take at p = +-inf (it would give |w|**inf summed, then ** 0 = 1), so those
    # are the largest and the smallest |w|; p = 0 counts the nonzero values
    if a.shape[1] == 0:
        norms = xp.zeros(a.shape[0], a.dtype)
    elif p == math.inf:
        norms = a.max(axis=1)
    elif p == -math.inf:
        norms = a.min(axis=1)
    elif p == 0:
        norms = (a != 0).sum(axis=1).astype(a.dtype)
    else:   # p < 0: a zero value gives |0|**p = inf, the sum inf and the norm 0, as PyTorch's
        with np.errstate(divide="ignore"):
            norms = (a ** p).sum(axis=1) ** (1.0 / p)
    over = norms > max_norm
    scale = xp.where(over, max_norm / (norms + 1e-7), 1.0).astype(W.dtype)
    with np.errstate(invalid="ignore"):   # an infinite value times the scale 0: NaN, as PyTorch's
        W[rows] *= scale[:, None]
