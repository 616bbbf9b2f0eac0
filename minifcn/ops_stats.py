"""PyTorch's statistics and its smaller index ops, as functions and as Tensor methods:
selections along one axis (:func:`median`, :func:`nanmedian`, :func:`kthvalue`, :func:`mode`),
:func:`quantile` / :func:`nanquantile`, running extremes (:func:`cummax`, :func:`cummin`),
reductions (:func:`nansum`, :func:`nanmean`, :func:`aminmax`, :func:`var_mean`,
:func:`std_mean`, :func:`count_nonzero`), counts (:func:`bincount`, :func:`histc`), sorted
look-ups (:func:`searchsorted`, :func:`bucketize`), reads and writes by index or mask
(:func:`take`, :func:`masked_select`, :func:`masked_scatter`, :func:`index_add`,
:func:`index_copy`, :func:`index_fill`) and :func:`clamp` with tensor bounds.

A selection finds its index outside the graph, as a place in the stable ascending order of
the values (equal values in the input's order: the k-th smallest of a tie is its k-th in the
input, so ``kthvalue(k=2)`` of two equal values picks the later one; ``mode`` takes the last
place its value comes, as PyTorch's), and gathers the value there, so its gradient goes to
that index alone, as PyTorch's. The index ops are linear maps, each one's backward its transpose: ``take``
and ``masked_select`` read, and their gradients scatter back; ``index_add`` writes, and its
source's gradient is an ``index_select``.

>>> import numpy as np
>>> from minifcn import Tensor
>>> x = Tensor(np.array([[3.0, 1.0, 2.0, 5.0]]), requires_grad=True)
>>> values, indices = median(x, dim=1)       # the lower of the two middle values: 2 at index 2
>>> values.sum().backward()
>>> values.numpy(), indices.numpy(), x.grad
(array([2.]), array([2]), array([[0., 0., 1., 0.]]))
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .autograd import Function, Tensor, _dim_index, _raw, as_tensor, sum_to
from .backend import get_array_module
from .indexing import Gather, Scatter, ScatterAdd, _flat_positions, _index_array, _order
from .ops import _accumulating, _check_floating, _reduce_axes, _reduced_shape, masked_fill
from .ops_math import Lerp


class Selected(NamedTuple):
    """What :func:`median`, :func:`kthvalue`, :func:`mode`, :func:`cummax` and :func:`cummin`
    give along a dimension, as PyTorch's ``torch.return_types``."""
    values: "Tensor"
    indices: "Tensor"


class MinMax(NamedTuple):
    """What :func:`aminmax` gives, as PyTorch's ``torch.return_types.aminmax``."""
    min: "Tensor"
    max: "Tensor"


def _is_nan(a):
    """NaN where ``a`` has one; False for integers and bools (``a != a`` holds for NaN only)."""
    return a != a


# --------------------------------------------------------------------- median, kthvalue, mode
# Each is one position in the stable ascending order of the values along the axis (NaN last,
# as sort's): median the lower middle one, or the first NaN; kthvalue the k-th. The value is
# gathered there, in the graph; its gradient goes to that index alone.
def _axis_of(op, input, dim):
    """(the input at least 1-d, the axis of ``dim`` in it); a 0-d input takes dim 0 or -1."""
    if input.ndim == 0:
        _dim_index(op, dim, 1)
        return input.reshape(1), 0
    return input, _dim_index(op, dim, input.ndim)


def _pick(op, input, dim, keepdim, position):
    """``(values, indices)`` of the values of ``input`` at ``position(data, axis)`` (an int
    array of the keepdim shape: a place in the stable ascending order along ``axis``)."""
    input = as_tensor(input)
    t, axis = _axis_of(op, input, dim)
    n = t.shape[axis]
    if n == 0 and math.prod(_reduced_shape(t.shape, axis)) > 0:
        raise IndexError(f"{op}: dimension {dim} has size 0, so there is no value to pick "
                         f"(input of shape {tuple(input.shape)})")
    xp = get_array_module(t.data)
    order = _order(t.data, axis, descending=False)
    place = position(t.data, axis)
    indices = xp.take_along_axis(order, place, axis=axis) if n else place
    values = Gather(_flat_positions(indices, axis, t.shape), indices.shape)(t)
    if input.ndim == 0:
        return Selected(values.reshape(()), Tensor(indices.reshape(())))
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return Selected(values, Tensor(indices))


def _count_numbers(a, axis):
    """How many values along ``axis`` are not NaN (keepdims)."""
    return (~_is_nan(a)).sum(axis=axis, keepdims=True)


class _EvenlyAt(Function):
    """A value picked from ``a`` (``value``, 0-d); its gradient shared evenly by every element
    equal to it (NaN: by every NaN), as PyTorch's ``median()`` and ``nanmedian()`` share it."""

    def __init__(self, value):
        self.value = value

    def forward(self, a):
        xp = get_array_module(a)
        self.hit = (a == self.value) | (_is_nan(a) & _is_nan(self.value))
        return xp.asarray(self.value)

    def backward(self, gy):
        return (gy * self.hit / self.hit.sum()).astype(gy.dtype, copy=False)


def _whole(op, input, ignore_nan):
    """``median()`` / ``nanmedian()`` of every value: 0-d, the gradient shared by its ties."""
    input = as_tensor(input)
    if input.size == 0:   # no value: NaN, as PyTorch's
        if input.dtype.kind != "f":
            raise ValueError(f"{op}: an empty {input.dtype} tensor has no median (NaN needs a "
                             "floating dtype)")
        return input.sum() * math.nan
    flat = input.data.reshape(-1)
    picked = _pick(op, Tensor(flat), 0, False, _median_position(ignore_nan)).values.data
    return _EvenlyAt(picked)(input)


def _median_position(ignore_nan):
    def position(a, axis):
        n, numbers = a.shape[axis], _count_numbers(a, axis)
        if ignore_nan:   # the lower middle of the numbers (all NaN: the first NaN)
            return get_array_module(a).maximum((numbers - 1) // 2, 0)
        # a NaN makes the median NaN: the first NaN, just after the numbers
        return get_array_module(a).where(numbers < n, numbers, (n - 1) // 2)
    return position


def median(input, dim=None, keepdim=False):
    """The median of ``input``'s values (PyTorch's ``torch.median``): for an even count the
    lower of the two middle values, not their mean. Without ``dim`` a 0-d tensor, the
    gradient shared evenly by the values equal to it; with ``dim``, ``(values, indices)``
    along it, the gradient going to each index. A NaN makes the median NaN (its index the
    first NaN's). Among equal values the index is the one a stable sort ranks there (PyTorch
    leaves it unspecified, and its CPU's pick follows no rule: see the tests).

    Shapes: ``(*, n, *)`` -> ``(*, *)`` (``keepdim``: ``(*, 1, *)``).

    >>> median(Tensor(np.array([4.0, 1.0, 3.0, 2.0]))).item()
    2.0
    """
    if dim is None:
        return _whole("median", input, ignore_nan=False)
    return _pick("median", input, dim, keepdim, _median_position(ignore_nan=False))


def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` of the values that are not NaN (PyTorch's ``torch.nanmedian``); NaN
    where a row holds nothing else (its index 0 in the stable order: the first NaN).

    >>> values, indices = nanmedian(Tensor(np.array([1.0, np.nan, 2.0, 3.0])), dim=0)
    >>> values.item(), indices.item()
    (2.0, 2)
    """
    if dim is None:
        return _whole("nanmedian", input, ignore_nan=True)
    return _pick("nanmedian", input, dim, keepdim, _median_position(ignore_nan=True))


def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)`` of the ``k``-th smallest value along ``dim`` (PyTorch's
    ``torch.kthvalue``; ``k`` from 1). NaN counts as the largest value, as in :func:`sort`;
    among equal values the index is the stable sort's (PyTorch's is unspecified). The values
    are in the graph, the gradient going to each index.

    >>> values, indices = kthvalue(Tensor(np.array([[5.0, 1.0, 4.0]])), 2)
    >>> values.numpy(), indices.numpy()
    (array([4.]), array([2]))
    """
    t = as_tensor(input)
    n = t.shape[_dim_index("kthvalue", dim, t.ndim)] if t.ndim else 1
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"kthvalue: k must be an int, got {type(k).__name__} {k!r}")
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue: k={k} is out of range for dimension {dim} of size {n} "
                         f"(expected 1 <= k <= {n})")

    def position(a, axis):
        return get_array_module(a).full(_kept(a.shape, axis), k - 1, dtype=np.int64)
    return _pick("kthvalue", t, dim, keepdim, position)


def _kept(shape, axis):
    return tuple(1 if d == axis else s for d, s in enumerate(shape))


def mode(input, dim=-1, keepdim=False):
    """``(values, indices)`` of the most frequent value along ``dim`` (PyTorch's
    ``torch.mode``): where several values come as often, the smallest; its index the last
    place it comes, as PyTorch's. NaNs count as one value, the largest (PyTorch's CPU counts
    them by no rule we could find: see the tests). The values are in the graph.

    >>> values, indices = mode(Tensor(np.array([3.0, 1.0, 3.0, 1.0, 2.0])))
    >>> values.item(), indices.item()
    (1.0, 3)
    """
    def position(a, axis):
        xp = get_array_module(a)
        n = a.shape[axis]
        if n == 0:   # no values, and (as _pick checked) no rows
            return xp.zeros(_kept(a.shape, axis), np.int64)
        s = xp.take_along_axis(a, _order(a, axis, False), axis=axis)
        # a run of equal values starts where a value differs from the one before (NaN = NaN)
        first, rest = (s.take(xp.arange(lo, hi), axis=axis) for lo, hi in ((1, n), (0, n - 1)))
        starts = (first != rest) & ~(_is_nan(first) & _is_nan(rest))
        starts = xp.concatenate([xp.ones(_kept(s.shape, axis), bool), starts], axis=axis)
        at = xp.arange(n).reshape([-1 if d == axis else 1 for d in range(a.ndim)])
        start = _running(xp.maximum, xp.where(starts, at, 0), axis)
        length = at - start + 1   # how many equal values so far in the run
        # the first place the longest run ends is the smallest of the most frequent values;
        # its last in the stable order is the last in the input's order
        longest = length.max(axis=axis, keepdims=True)
        return xp.argmax(length == longest, axis=axis).reshape(_kept(a.shape, axis))
    return _pick("mode", input, dim, keepdim, position)


# --------------------------------------------------------------------- cummax, cummin
def _running(op, a, axis):
    """The running ``op`` (``maximum`` or ``minimum``) along ``axis``, by doubling: after the
    step with shift ``s`` each place holds ``op`` of the ``2 s`` values up to it. log2(n) steps
    of whole-array ops, on NumPy and CuPy alike (CuPy's ``maximum.accumulate`` is not there)."""
    xp = get_array_module(a)
    out = xp.moveaxis(a, axis, 0).copy()
    shift = 1
    while shift < out.shape[0]:
        out[shift:] = op(out[shift:], out[:-shift])   # the right side is a new array: no overlap
        shift *= 2
    return xp.moveaxis(out, 0, axis)


def _cumulative(op, which, input, dim):
    input = as_tensor(input)
    t, axis = _axis_of(op, input, dim)
    xp = get_array_module(t.data)
    a = t.data
    running = _running(which, a, axis)
    at = xp.arange(a.shape[axis]).reshape([-1 if d == axis else 1 for d in range(a.ndim)])
    # the extreme so far was last set where a value equals it (ties: the later index, as
    # PyTorch's >=), or at a NaN: from the first on the value is NaN, its index the last NaN's
    indices = _running(xp.maximum, xp.where((a == running) | _is_nan(a), at, 0), axis)
    values = Gather(_flat_positions(indices, axis, t.shape), indices.shape)(t)
    return Selected(values.reshape(input.shape), Tensor(indices.reshape(input.shape)))


def cummax(input, dim):
    """``(values, indices)``: the largest value so far along ``dim``, and where it is
    (PyTorch's ``torch.cummax``). Ties take the later index, as PyTorch's; from the first NaN
    on, NaN, at the index of the latest NaN so far (PyTorch's too). The values are in the
    graph: each one's gradient goes to its index (one index can take several).

    >>> values, indices = cummax(Tensor(np.array([1.0, 3.0, 2.0, 3.0])), 0)
    >>> values.numpy(), indices.numpy()
    (array([1., 3., 3., 3.]), array([0, 1, 1, 3]))
    """
    return _cumulative("cummax", get_array_module(_raw(as_tensor(input))).maximum, input, dim)


def cummin(input, dim):
    """``(values, indices)``: the smallest value so far along ``dim`` (PyTorch's
    ``torch.cummin``), as :func:`cummax`.

    >>> cummin(Tensor(np.array([2.0, 1.0, 3.0, 1.0])), 0).indices.numpy()
    array([0, 1, 1, 3])
    """
    return _cumulative("cummin", get_array_module(_raw(as_tensor(input))).minimum, input, dim)


# --------------------------------------------------------------------- quantile
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):
    input = as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: the input must be float32 or float64, got {input.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, got "
                         f"{interpolation!r}")
    if input.size == 0:
        raise ValueError(f"{op}: the input of shape {tuple(input.shape)} is empty")
    xp = get_array_module(input.data)
    scalar_q = isinstance(q, (int, float, np.number)) and not isinstance(q, (bool, np.bool_))
    if scalar_q:   # a number takes the input's dtype
        q = Tensor(xp.asarray(q, dtype=input.dtype))
    elif not isinstance(q, Tensor) and not hasattr(q, "shape"):
        raise TypeError(f"{op}: q must be a number or a 0-d or 1-d float tensor, got {type(q).__name__}")
    q = as_tensor(q)
    if q.ndim > 1:
        raise ValueError(f"{op}: q must be a number or a 0-d or 1-d tensor, got shape {tuple(q.shape)}")
    if not scalar_q and q.dtype != input.dtype:
        raise TypeError(f"{op}: q must have the input's dtype {input.dtype}, got {q.dtype}")
    if q.device != input.device:
        raise ValueError(f"{op}: q is on {q.device}, the input on {input.device}; move one with .to()")
    if q.size and not bool(((q.data >= 0) & (q.data <= 1)).all()):
        raise ValueError(f"{op}: q must lie in [0, 1], got {q.data.tolist()}")
    # the rows to sort, each one's values along the last axis: (*lead, n), lead the reduced
    # shape (nothing for dim=None); kept is the keepdim shape (every axis 1 for dim=None)
    if dim is None:
        rows, kept = input.reshape(-1), (1,) * input.ndim
    else:
        t, axis = _axis_of(op, input, dim)
        rows = t.permute(*[d for d in range(t.ndim) if d != axis], axis)
        kept = _kept(input.shape, axis) if input.ndim else ()
    sorted_ = _sorted_rows(rows)                                  # in the graph, NaN last
    lead, n = sorted_.shape[:-1], sorted_.shape[-1]
    nan = _is_nan(sorted_.data)
    qs = q.data.reshape(-1, *([1] * len(lead)))                   # (Q, 1...)
    real = input.dtype.type
    if ignore_nan:   # ranks among the numbers (all NaN: rank 0, a NaN)
        slope = xp.maximum((~nan).sum(axis=-1).astype(input.dtype) - real(1), real(0))
    else:            # a NaN in the row: the last rank, a NaN
        slope = xp.where(nan.any(axis=-1), real(0), real(n - 1))
    ranks = xp.where(nan.any(axis=-1), real(n - 1), qs * slope) if not ignore_nan else qs * slope
    ranks = ranks.astype(input.dtype, copy=False)
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)   # halves to even, as PyTorch's round
    below = ranks.astype(np.int64)
    out_shape = below.shape                                       # (Q, *lead)
    row_start = (xp.arange(math.prod(lead)) * n).reshape(lead)

    def at(rank):   # the sorted values at these ranks, in the graph
        return Gather(xp.ascontiguousarray(row_start + rank), out_shape)(sorted_)
    out = at(below)
    if interpolation in ("linear", "midpoint"):
        if interpolation == "midpoint":
            w = Tensor(xp.full(out_shape, 0.5, input.dtype))
        elif q.requires_grad:   # the weight in the graph: q's gradient (above - below) * slope
            # where the slope is 0 (a row holding NaN, or one number) q has no say, and its
            # gradient there is 0, not gy * (above - below), NaN at a NaN (0 * NaN even where
            # the loss never reads the row): masked, as PyTorch's masked_fill of the ranks
            w = masked_fill(q.reshape(-1, *([1] * len(lead))) * Tensor(slope), Tensor(slope == 0), 0)
            w = w - Tensor(below.astype(input.dtype))
        else:
            w = Tensor(ranks - below.astype(input.dtype))
        out = Lerp()(out, at(xp.ceil(ranks).astype(np.int64)), w)   # ops_math's: PyTorch's lerp
    # (Q, *lead) -> (Q, *kept) with keepdim; then without Q for a number or a 0-d q
    out = out.reshape(out_shape[:1] + (kept if keepdim else lead))
    return out.reshape(out.shape[1:]) if q.ndim == 0 else out


def _sorted_rows(t):
    """``t`` sorted along its last axis, in the graph, NaN last (as :func:`~minifcn.sort`)."""
    from .indexing import sort
    return sort(t, -1).values


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-quantiles of ``input`` (all values, or along ``dim``), as PyTorch's
    ``torch.quantile``: the values sorted, the rank ``q (n - 1)``, and between the two values
    around it ``interpolation``: ``"linear"`` (by the rank's fraction), ``"lower"``,
    ``"higher"``, ``"midpoint"``, ``"nearest"`` (halves to even). A row holding NaN gives NaN.

    Shapes: ``q`` a number or 0-d tensor -> the reduced shape; ``q`` 1-d of ``Q`` -> ``(Q,
    *reduced)``. ``input`` float, not empty; ``q`` in [0, 1], a tensor of ``input``'s dtype.
    In the graph: the gradient goes to the one or two values each quantile reads, weighted;
    a ``q`` tensor requiring grad gets its own (``"linear"``; the others are steps in ``q``).

    >>> x = Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> quantile(x, 0.5).item(), quantile(x, Tensor(np.array([0.0, 0.5])), interpolation="lower").tolist()
    (2.5, [1.0, 2.0])
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` of the values that are not NaN (PyTorch's ``torch.nanquantile``);
    NaN where a row has nothing else.

    >>> nanquantile(Tensor(np.array([1.0, np.nan, 3.0])), 0.25).item()
    1.5
    """
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


# --------------------------------------------------------------------- nansum, nanmean, ...
class NanSum(Function):
    """The sum over ``axis`` of the values that are not NaN; with ``mean``, over their count
    (0 / 0: NaN where there are none). Backward: ``gy`` (over the count) spread back, times 0
    at the NaNs: a product, as PyTorch's, so where the count is 0 the gradient is NaN."""

    def __init__(self, axis, keepdims, mean=False):
        self.axis, self.keepdims, self.mean = axis, keepdims, mean

    def forward(self, a):
        xp = get_array_module(a)
        self.keep, self.a_shape = ~_is_nan(a), a.shape
        y = xp.where(self.keep, a, 0).sum(axis=self.axis, keepdims=True).astype(a.dtype, copy=False)
        self.kept_shape = y.shape
        if self.mean:
            self.count = self.keep.sum(axis=self.axis, keepdims=True).astype(a.dtype)
            with np.errstate(divide="ignore", invalid="ignore"):
                y = y / self.count
        return y if self.keepdims else y.reshape(_reduced_shape(a.shape, self.axis))

    def backward(self, gy):
        xp = get_array_module(gy)
        gy = gy.reshape(self.kept_shape)
        with np.errstate(divide="ignore", invalid="ignore"):   # 1 / 0, then inf * 0: NaN
            if self.mean:
                gy = gy / self.count
            return (xp.broadcast_to(gy, self.a_shape) * self.keep).astype(gy.dtype, copy=False)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum of the values that are not NaN (PyTorch's ``torch.nansum``), in the graph, the
    NaNs' gradient 0. Integers and bools sum in int64, as PyTorch's; ``dtype`` casts first.

    >>> nansum(Tensor(np.array([[1.0, np.nan], [2.0, 3.0]])), dim=1).numpy()
    array([1., 5.])
    """
    input = _accumulating(as_tensor(input), dtype)
    return NanSum(_reduce_axes("nansum", dim, input.ndim), keepdim)(input)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean of the values that are not NaN (PyTorch's ``torch.nanmean``): :func:`nansum`
    over their count, NaN where there are none (and, as PyTorch's, a NaN gradient there).
    Floats only.

    >>> nanmean(Tensor(np.array([1.0, np.nan, 4.0]))).item()
    2.5
    """
    input = as_tensor(input)
    if dtype is not None:
        input = input.astype(dtype)
    _check_floating("nanmean", input)
    return NanSum(_reduce_axes("nanmean", dim, input.ndim), keepdim, mean=True)(input)


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` of ``input`` (along ``dim``), as PyTorch's ``torch.aminmax``: its
    :meth:`~minifcn.Tensor.amin` and :meth:`~minifcn.Tensor.amax`, in the graph (ties share
    the gradient). NaN wins both. An empty reduction is refused (no identity).

    >>> aminmax(Tensor(np.array([[1.0, 5.0], [3.0, 2.0]])), dim=1).max.numpy()
    array([5., 3.])
    """
    input = as_tensor(input)
    axis = None if dim is None or input.ndim == 0 else _dim_index("aminmax", dim, input.ndim)
    if dim is not None and input.ndim == 0:
        _dim_index("aminmax", dim, 1)
    n = input.size if axis is None else input.shape[axis]
    if n == 0 and (axis is None or math.prod(_reduced_shape(input.shape, axis))):
        raise ValueError(f"aminmax: cannot reduce an empty dimension (input of shape "
                         f"{tuple(input.shape)}, dim={dim}): the min and max have no identity")
    return MinMax(input.amin(dim, keepdim), input.amax(dim, keepdim))


def _stat_mean(op, input, dim, unbiased, keepdim, correction):
    input = as_tensor(input)
    if isinstance(dim, bool):   # var_mean(x, False): PyTorch's older form, unbiased first
        dim, unbiased = None, dim
    stat = getattr(input, op)(dim, unbiased, keepdim, correction=correction)
    axis = _reduce_axes(op, dim, input.ndim)
    axes = range(input.ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    if math.prod(input.shape[a] for a in axes) == 0:
        # an empty dimension: the mean is NaN, as PyTorch's (0 / 0; Tensor.mean refuses it)
        return stat, input.sum(axis=axis, keepdims=keepdim) * math.nan
    return stat, input.mean(dim=axis, keepdim=keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` along ``dim`` (PyTorch's ``torch.var_mean``): :meth:`~minifcn.Tensor.var`
    (``correction`` 1 by default, ``unbiased=False`` is 0) and the mean, both in the graph.

    >>> [t.item() for t in var_mean(Tensor(np.array([1.0, 2.0, 3.0, 4.0])), correction=0)]
    [1.25, 2.5]
    """
    return _stat_mean("var", input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` along ``dim`` (PyTorch's ``torch.std_mean``), as :func:`var_mean`.

    >>> [round(t.item(), 4) for t in std_mean(Tensor(np.array([1.0, 2.0, 3.0, 4.0])))]
    [1.291, 2.5]
    """
    return _stat_mean("std", input, dim, unbiased, keepdim, correction)


def count_nonzero(input, dim=None):
    """How many values are not zero (along ``dim``: an int or a tuple), int64, as PyTorch's
    ``torch.count_nonzero``; NaN is not zero. Outside the graph.

    >>> count_nonzero(Tensor(np.array([[0.0, 2.0], [3.0, np.nan]])), dim=0).tolist()
    [1, 2]
    """
    input = as_tensor(input)
    axis = _reduce_axes("count_nonzero", dim, input.ndim)
    return Tensor((input.data != 0).sum(axis=axis).astype(np.int64))


# --------------------------------------------------------------------- bincount, histc
def bincount(input, weights=None, minlength=0):
    """How many times each of ``0 .. max(input)`` comes in ``input`` (1-d, non-negative
    integers), or the sum of ``weights`` there, as PyTorch's ``torch.bincount``: at least
    ``minlength`` bins. int64 counts; float32 weights give float32, other weights float64.
    Outside the graph (PyTorch's has no gradient either).

    >>> bincount(Tensor(np.array([0, 2, 2, 5])), minlength=7).tolist()
    [1, 0, 2, 0, 0, 1, 0]
    """
    input = as_tensor(input)
    xp = get_array_module(input.data)
    if input.dtype.kind not in "iu" or input.ndim != 1:
        raise ValueError(f"bincount: the input must be a 1-d tensor of non-negative integers, "
                         f"got {input.ndim}-d {input.dtype}")
    if input.size and int(input.data.min()) < 0:
        raise ValueError(f"bincount: the input holds {int(input.data.min())}; expected "
                         "non-negative integers")
    if isinstance(minlength, bool) or not isinstance(minlength, (int, np.integer)) or minlength < 0:
        raise ValueError(f"bincount: minlength must be an int >= 0, got {minlength!r}")
    if weights is None:
        return Tensor(xp.bincount(input.data, minlength=int(minlength)).astype(np.int64))
    w = as_tensor(weights)
    if w.shape != input.shape:
        raise ValueError(f"bincount: weights must be 1-d of the input's length {input.shape[0]}, "
                         f"got shape {tuple(w.shape)}")
    out = xp.bincount(input.data, weights=w.data.astype(np.float64), minlength=int(minlength))
    return Tensor(out.astype(np.float32 if w.dtype == np.float32 else np.float64))


def histc(input, bins=100, min=0, max=0):
    """A histogram of ``input``'s values in ``bins`` equal bins over ``[min, max]`` (PyTorch's
    ``torch.histc``): ``min == max`` takes the data's range (one value ``v``: ``[v - 1,
    v + 1]``); values outside, and NaN, are not counted; ``max`` falls in the last bin. The
    bin of ``x`` is ``floor((x - min) * bins / (max - min))``, in the input's dtype, as
    PyTorch's (where that would overflow, ``[-1e308, 1e308]``, from the halves of ``x``,
    ``min`` and ``max``: PyTorch's loses every value there). Float input; the counts in its
    dtype; outside the graph.

    >>> histc(Tensor(np.array([1.0, 2.0, 1.0, 4.0])), bins=4, min=0, max=3).tolist()
    [0.0, 2.0, 1.0, 0.0]
    """
    input = as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"histc: the input must be float32 or float64, got {input.dtype}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins <= 0:
        raise ValueError(f"histc: bins must be a positive int, got {bins!r}")
    xp = get_array_module(input.data)
    a = input.data.reshape(-1)
    real = input.dtype.type
    lo, hi = real(min), real(max)
    if lo > hi:
        raise ValueError(f"histc: max must be larger than min, got min={min}, max={max}")
    if lo == hi and a.size:
        lo, hi = real(a.min()), real(a.max())
    if lo == hi:
        lo, hi = lo - real(1), hi + real(1)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"histc: the range [{lo}, {hi}] is not finite (a NaN or inf in the data; "
                         "give min and max)")
    inside = a[(a >= lo) & (a <= hi)]
    if (float(hi) - float(lo)) * bins <= float(np.finfo(input.dtype).max):
        at = (inside - lo) * real(bins) / (hi - lo)
    else:   # the width, or (x - min) * bins, would overflow to inf: halves, divided first
        at = (inside / real(2) - lo / real(2)) / (hi / real(2) - lo / real(2)) * real(bins)
    at = at.astype(np.int64)
    at = xp.minimum(at, bins - 1)   # max itself: the last bin
    return Tensor(xp.bincount(at, minlength=bins).astype(input.dtype))


# --------------------------------------------------------------------- searchsorted, bucketize
def _binary_search(seq, values, right):
    """Where each of ``values`` (R, m) goes in its row of ``seq`` (R, n): PyTorch's loop
    (first place where ``seq >= v``, or ``seq > v`` for ``right``, by halving), run for every
    value at once. Its own comparisons, not NumPy's ``searchsorted``: a NaN in ``seq`` or
    ``values`` lands where PyTorch's lands (NaN is neither ``>=`` nor ``>``)."""
    xp = get_array_module(seq)
    n = seq.shape[1]
    start = xp.zeros(values.shape, np.int64)
    end = xp.full(values.shape, n, np.int64)
    for _ in range(n.bit_length()):   # each step halves every range [start, end)
        active = start < end
        mid = start + (end - start) // 2
        at = xp.take_along_axis(seq, xp.minimum(mid, n - 1), axis=1)
        later = ~(at > values) if right else ~(at >= values)
        start = xp.where(active & later, mid + 1, start)
        end = xp.where(active & ~later, mid, end)
    return start


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where ``input``'s values would go in ``sorted_sequence`` to keep it sorted (PyTorch's
    ``torch.searchsorted``): the first index ``i`` with ``seq[i] >= v``, or with ``right``
    (``side="right"``) ``seq[i] > v``. ``sorted_sequence`` is 1-d (for any ``input``), or
    ``(*, n)`` with ``input`` ``(*, m)``, one row each; ``sorter`` the indices that sort it.

    int64 (``out_int32``: int32) of ``input``'s shape; a number gives a 0-d tensor.

    >>> searchsorted(Tensor(np.array([1.0, 3.0, 5.0])), Tensor(np.array([3.0, 4.0])), right=True).tolist()
    [2, 2]
    """
    seq = as_tensor(sorted_sequence)
    number = not isinstance(input, Tensor) and not hasattr(input, "shape")
    # a number as it is (2.5 must not become seq's int 2), on seq's device
    values = Tensor(get_array_module(seq.data).asarray(input)) if number else as_tensor(input)
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted: side='left' and right=True contradict each other")
        right = side == "right"
    if seq.ndim == 0:
        raise ValueError("searchsorted: sorted_sequence must have at least 1 dimension, got 0-d")
    if values.device != seq.device:
        raise ValueError(f"searchsorted: the input is on {values.device}, sorted_sequence on "
                         f"{seq.device}; move one with .to()")
    xp = get_array_module(seq.data)
    s = seq.data
    if sorter is not None:
        order = _index_array("searchsorted", sorter, seq)
        if order.shape != s.shape:
            raise ValueError(f"searchsorted: sorter of shape {tuple(order.shape)} must have "
                             f"sorted_sequence's shape {tuple(s.shape)}")
        if order.size and (int(order.min()) < 0 or int(order.max()) >= s.shape[-1]):
            raise IndexError(f"searchsorted: sorter holds indices outside [0, {s.shape[-1]})")
        s = xp.take_along_axis(s, order, axis=-1)
    n = s.shape[-1]
    if seq.ndim == 1:
        rows, v = s.reshape(1, n), values.data.reshape(1, -1)
    else:
        if values.shape[:-1] != seq.shape[:-1] or values.ndim != seq.ndim:
            raise ValueError(f"searchsorted: sorted_sequence of shape {tuple(seq.shape)} needs an "
                             f"input of shape ({', '.join(map(str, seq.shape[:-1]))}, m): the same "
                             f"leading dimensions; got {tuple(values.shape)}")
        rows = s.reshape(math.prod(seq.shape[:-1]), n)   # n may be 0: -1 could not be solved
        v = values.data.reshape(rows.shape[0], values.shape[-1])
    if n == 0:
        found = xp.zeros(v.shape, np.int64)
    else:
        found = _binary_search(rows, v, right)
    found = found.reshape(() if number else values.shape)
    return Tensor(found.astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value of ``input`` among the 1-d ``boundaries`` (PyTorch's
    ``torch.bucketize``): ``i`` with ``boundaries[i - 1] < x <= boundaries[i]``, or with
    ``right`` ``boundaries[i - 1] <= x < boundaries[i]``; :func:`searchsorted` with the
    arguments swapped.

    >>> bucketize(Tensor(np.array([0.5, 1.0, 7.0])), Tensor(np.array([1.0, 2.0, 3.0]))).tolist()
    [0, 0, 3]
    """
    boundaries = as_tensor(boundaries)
    if boundaries.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got shape {tuple(boundaries.shape)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# --------------------------------------------------------------------- take, masked_select, masked_scatter
def take(input, index):
    """``input``'s values at ``index``, reading ``input`` as 1-d in row-major order
    (PyTorch's ``torch.take``); negative indices count from the end. The output has
    ``index``'s shape. In the graph: the gradient is the scatter-add of the upstream one
    (a place read twice gets both).

    >>> take(Tensor(np.array([[1.0, 2.0], [3.0, 4.0]])), np.array([3, 0, -1])).numpy()
    array([4., 1., 4.])
    """
    input = as_tensor(input)
    index = _index_array("take", index, input)
    n = input.size
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < -n or hi >= n:
            raise IndexError(f"take: index {lo if lo < -n else hi} is out of range for an input of "
                             f"{n} values (expected {-n} <= index < {n})")
    xp = get_array_module(index)
    flat = xp.where(index < 0, index + n, index)
    return Gather(flat, index.shape)(input)


def _mask_array(op, mask, input):
    mask = as_tensor(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be bool, got {mask.dtype}")
    if mask.device != input.device:
        raise ValueError(f"{op}: mask is on {mask.device}, the input on {input.device}; move one with .to()")
    try:
        shape = np.broadcast_shapes(input.shape, mask.shape)
    except ValueError:
        raise ValueError(f"{op}: mask of shape {tuple(mask.shape)} does not broadcast with the "
                         f"input's {tuple(input.shape)}") from None
    return get_array_module(mask.data).broadcast_to(mask.data, shape), shape


class MaskedSelect(Function):
    """``a`` (broadcast to ``mask``'s shape) read where ``mask`` holds, 1-d in row-major
    order. Backward: ``gy`` written back there, zeros elsewhere, summed over the broadcast."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, a):
        self.a_shape = a.shape
        return get_array_module(a).broadcast_to(a, self.mask.shape)[self.mask]

    def backward(self, gy):
        g = get_array_module(gy).zeros(self.mask.shape, gy.dtype)
        g[self.mask] = gy
        return sum_to(g, self.a_shape)


def masked_select(input, mask):
    """The values of ``input`` where ``mask`` (bool, broadcast with it) holds, 1-d, in
    row-major order (PyTorch's ``torch.masked_select``). In the graph; its gradient puts the
    upstream one back in place (the transpose: :func:`masked_scatter` into zeros).

    >>> masked_select(Tensor(np.array([[1.0, 2.0], [3.0, 4.0]])), np.array([True, False])).numpy()
    array([1., 3.])
    """
    input = as_tensor(input)
    mask, _ = _mask_array("masked_select", mask, input)
    return MaskedSelect(mask)(input)


class MaskedScatter(Function):
    """``a`` (broadcast to ``mask``'s shape) with the first ``count`` values of ``src`` (read
    flat) written where ``mask`` holds, in row-major order. Backward: ``gy`` off the mask for
    ``a``; ``gy`` on the mask, in order, for the first values of ``src`` (0 for the rest)."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, a, src):
        xp = get_array_module(a)
        self.a_shape, self.src_shape = a.shape, src.shape
        self.count = int(self.mask.sum())
        out = xp.array(xp.broadcast_to(a, self.mask.shape))
        out[self.mask] = src.reshape(-1)[:self.count]
        return out

    def backward(self, gy):
        xp = get_array_module(gy)
        ga = sum_to(xp.where(self.mask, 0, gy).astype(gy.dtype, copy=False), self.a_shape)
        gs = xp.zeros(math.prod(self.src_shape), gy.dtype)
        gs[:self.count] = gy[self.mask]
        return ga, gs.reshape(self.src_shape)


def masked_scatter(input, mask, source):
    """A copy of ``input`` with ``source``'s values, in order, where ``mask`` holds (PyTorch's
    out-of-place ``masked_scatter``): the k-th True place, row-major, gets ``source``'s k-th
    value (``source`` read flat; it needs at least as many values as the mask has True, and
    ``input``'s dtype). ``mask`` and ``input`` broadcast. In the graph, both ways.

    >>> masked_scatter(Tensor(np.zeros(4)), np.array([True, False, True, False]),
    ...                Tensor(np.array([7.0, 8.0, 9.0]))).numpy()
    array([7., 0., 8., 0.])
    """
    input = as_tensor(input)
    mask, _ = _mask_array("masked_scatter", mask, input)
    source = as_tensor(source)
    if source.dtype != input.dtype:
        raise TypeError(f"masked_scatter: source must have the input's dtype {input.dtype}, got {source.dtype}")
    if source.device != input.device:
        raise ValueError(f"masked_scatter: source is on {source.device}, the input on "
                         f"{input.device}; move one with .to()")
    count = int(mask.sum())
    if source.size < count:
        raise ValueError(f"masked_scatter: the mask holds {count} True values and source only "
                         f"{source.size} values; expected at least {count}")
    return MaskedScatter(mask)(input, source)


# --------------------------------------------------------------------- index_add, index_copy, index_fill
def _slices_at(op, input, dim, index, negative=False):
    """(the input at least 1-d, the axis, the index as a checked 1-d int64 array) for the
    ``index_*`` ops: ``index`` 1-d or 0-d (one slice), in ``[0, n)`` (``negative``: also
    ``[-n, 0)``, counted from the end, as PyTorch's ``index_fill``)."""
    index = _index_array(op, index, input)
    if index.ndim > 1:
        raise ValueError(f"{op}: index must be 1-d (or 0-d), got shape {tuple(index.shape)}")
    t, axis = _axis_of(op, input, dim)
    n = t.shape[axis]
    index = index.reshape(-1)
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        low = -n if negative else 0
        if lo < low or hi >= n:
            raise IndexError(f"{op}: index {lo if lo < low else hi} is out of range for dimension "
                             f"{axis} of size {n} (expected {low} <= index < {n})")
    if negative:
        index = get_array_module(index).where(index < 0, index + n, index)
    return t, axis, index


def _source_positions(op, t, axis, index, source):
    """``source`` checked (``t``'s dtype and device, ``t``'s shape with ``len(index)`` along the
    axis) and the flat place in ``t`` of each of its values."""
    source = as_tensor(source)
    if source.dtype != t.dtype:
        raise TypeError(f"{op}: source must have the input's dtype {t.dtype}, got {source.dtype}")
    if source.device != t.device:
        raise ValueError(f"{op}: source is on {source.device}, the input on {t.device}; move one with .to()")
    expected = tuple(index.size if d == axis else s for d, s in enumerate(t.shape))
    if source.shape != expected and not (source.size == 1 and expected == (1,)):
        raise ValueError(f"{op}: source of shape {tuple(source.shape)} must be {expected}: the "
                         f"input's shape with dimension {axis} the index's length {index.size}")
    xp = get_array_module(index)
    along = xp.broadcast_to(index.reshape([-1 if d == axis else 1 for d in range(t.ndim)]), expected)
    return source.reshape(expected), _flat_positions(along, axis, t.shape)


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added along ``dim`` at the slices ``index``
    (1-d; PyTorch's out-of-place ``index_add``): ``out[index[i]] += alpha * source[i]`` along
    the axis, an index named twice receiving both. ``source`` has ``input``'s shape with
    ``len(index)`` along ``dim``, and its dtype. In the graph: ``input``'s gradient the upstream
    one, ``source``'s ``alpha`` times its :func:`~minifcn.index_select` (the transpose).

    >>> index_add(Tensor(np.zeros(3)), 0, np.array([0, 2, 0]), Tensor(np.array([1.0, 2.0, 3.0])), alpha=2).numpy()
    array([8., 0., 4.])
    """
    input = as_tensor(input)
    t, axis, index = _slices_at("index_add", input, dim, index)
    source, flat = _source_positions("index_add", t, axis, index, source)
    if input.dtype.kind != "f" and not isinstance(alpha, (int, np.integer)):
        raise TypeError(f"index_add: alpha must be an int for an integer input ({input.dtype}), "
                        f"got {alpha!r}")
    if alpha != 1:
        source = source * alpha
    return ScatterAdd(flat)(t, source).reshape(input.shape)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with ``source``'s slices written along ``dim`` at ``index`` (1-d;
    PyTorch's out-of-place ``index_copy``). Where ``index`` names a slice twice the last write
    stays, on every device, and only its source gets a gradient (PyTorch leaves which one
    stays unspecified, and gives each the gradient). In the graph: ``input``'s gradient is
    the upstream one with the written slices zeroed, ``source``'s that gradient read there.

    >>> index_copy(Tensor(np.zeros((2, 3))), 1, np.array([2, 0]), Tensor(np.ones((2, 2)))).numpy()
    array([[1., 0., 1.],
           [1., 0., 1.]])
    """
    input = as_tensor(input)
    t, axis, index = _slices_at("index_copy", input, dim, index)
    source, flat = _source_positions("index_copy", t, axis, index, source)
    return Scatter(flat)(t, source).reshape(input.shape)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with ``value`` in the slices along ``dim`` at ``index`` (1-d or 0-d;
    negative indices from the end, as PyTorch's ``index_fill``). ``value`` a number or a 0-d
    tensor (whose gradient is the sum of the upstream one over the filled places); it takes
    ``input``'s dtype, as :func:`~minifcn.masked_fill` (which this is, with the slices as mask).

    >>> index_fill(Tensor(np.zeros((2, 3))), 1, np.array([0, -1]), 5.0).numpy()
    array([[5., 0., 5.],
           [5., 0., 5.]])
    """
    input = as_tensor(input)
    t, axis, index = _slices_at("index_fill", input, dim, index, negative=True)
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"index_fill: value must be a number or a 0-d tensor, got shape "
                         f"{tuple(value.shape)}")
    xp = get_array_module(index)
    hit = xp.zeros(t.shape[axis], bool)
    hit[index] = True
    mask = hit.reshape([-1 if d == axis else 1 for d in range(t.ndim)])
    return masked_fill(t, Tensor(mask), value).reshape(input.shape)


# --------------------------------------------------------------------- clamp with tensor bounds
def _is_tensor_bound(b):
    """Whether a bound of :func:`clamp` is a tensor (or an array), not a number (NumPy's
    scalars included, which have a shape too)."""
    return isinstance(b, Tensor) or (hasattr(b, "shape") and not isinstance(b, np.generic))


def _promoted(dtypes):
    """PyTorch's result dtype of tensors of ``dtypes``: the widest of the highest kind (bool <
    integer < float), so float32 with int64 stays float32 (NumPy would give float64)."""
    rank = {"b": 0, "u": 1, "i": 1, "f": 2}
    top = max(rank[d.kind] for d in dtypes)
    return np.result_type(*[d for d in dtypes if rank[d.kind] == top])


class ClampBetween(Function):
    """``min(max(a, low), high)`` with tensor bounds (either may be absent), broadcast; NaN
    anywhere gives NaN. Gradients as PyTorch's: to ``a`` where ``low <= a <= high``; to ``low``
    where ``a < low < high``; to ``high`` where ``a > high`` or ``high < low`` (so where
    ``low == high``, ``high`` gets it where ``a`` is above, and no one where ``a`` is below)."""

    def __init__(self, has_low, has_high):
        self.has_low, self.has_high = has_low, has_high

    def forward(self, a, *bounds):
        xp = get_array_module(a)
        bounds = list(bounds)
        low = bounds.pop(0) if self.has_low else None
        high = bounds.pop(0) if self.has_high else None
        self.shapes = [a.shape] + [b.shape for b in (low, high) if b is not None]
        y = a
        keep = True
        if low is not None:
            y = xp.maximum(y, low)
            keep = keep & (a >= low)
        if high is not None:
            y = xp.minimum(y, high)
            keep = keep & (a <= high)
        self.keep = keep
        if low is not None:
            self.to_low = (a < low) & ((low < high) if high is not None else True)
        if high is not None:
            self.to_high = (a > high) | ((high < low) if low is not None else False)
        return xp.array(xp.broadcast_to(y, np.broadcast_shapes(*self.shapes)))

    def backward(self, gy):
        xp = get_array_module(gy)
        grads = [xp.where(self.keep, gy, 0)]
        if self.has_low:
            grads.append(xp.where(self.to_low, gy, 0))
        if self.has_high:
            grads.append(xp.where(self.to_high, gy, 0))
        return tuple(sum_to(g.astype(gy.dtype, copy=False), s) for g, s in zip(grads, self.shapes))


def clamp(input, min=None, max=None):
    """Values held within ``[min, max]`` (PyTorch's ``torch.clamp``): each bound a number, a
    tensor (broadcast with ``input``; ``min(max(x, min), max)``, so where ``min > max`` the
    result is ``max``), or None. Tensor bounds are in the graph, their gradients as PyTorch's
    (:class:`ClampBetween`); the dtype is PyTorch's promotion of the tensors (float32 with
    int64 bounds stays float32).

    >>> x = Tensor(np.array([-1.0, 0.5, 3.0]))
    >>> clamp(x, Tensor(np.array([0.0, 1.0, 0.0])), 2.0).numpy()
    array([0., 1., 2.])
    """
    input = as_tensor(input)
    if min is None and max is None:
        raise ValueError("clamp: give min, max or both")
    if not any(_is_tensor_bound(b) for b in (min, max)):
        return input.clamp(min, max)
    xp = get_array_module(input.data)
    bounds = []
    for name, b in (("min", min), ("max", max)):
        if b is None:
            continue
        if _is_tensor_bound(b):
            b = as_tensor(b)
            if b.device != input.device:
                raise ValueError(f"clamp: {name} is on {b.device}, the input on {input.device}; "
                                 "move one with .to()")
        elif isinstance(b, (bool, int, float, np.number)):
            # a number takes a float input's dtype; beside an integer input, a float is float32
            floating = isinstance(b, (float, np.floating)) and input.dtype.kind != "f"
            b = Tensor(xp.asarray(b, dtype=np.float32 if floating else input.dtype))
        else:
            raise TypeError(f"clamp: {name} must be a number, a tensor or None, got {type(b).__name__}")
        bounds.append(b)
    dtype = _promoted([input.dtype] + [b.dtype for b in bounds])
    cast = [t if t.dtype == dtype else t.astype(dtype) for t in [input] + bounds]
    return ClampBetween(min is not None, max is not None)(*cast)
