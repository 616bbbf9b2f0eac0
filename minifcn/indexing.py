"""PyTorch's ops that pick values by index along one axis: :func:`gather`, :func:`scatter`,
:func:`scatter_add`, :func:`sort`, :func:`argsort` and :func:`topk`, as functions and as Tensor
methods.

``gather`` reads ``input[index]`` along the axis, ``scatter`` writes there, and each one's
backward is the other (gather's is a scatter-add: an index read twice gets both gradients).
``sort`` and ``topk`` find an order of indices (no gradient) and gather the values by it.

>>> import numpy as np
>>> from minifcn import Tensor
>>> x = Tensor(np.array([[3.0, 1.0, 2.0]]), requires_grad=True)
>>> values, indices = topk(x, 2)           # the two largest of the row, largest first
>>> indices
tensor([[0, 2]])
>>> values.sum().backward()
>>> x.grad                                  # 1 where a value was picked
array([[1., 0., 1.]])
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import backend
from .autograd import Function, Tensor, _dim_index, _raw, as_tensor
from .backend import get_array_module
from .kernels.pool import last_of_repeats_flat


# --------------------------------------------------------------------- gather, scatter, sort
# PyTorch's indexing along one axis: gather reads a[index] along it, scatter writes there, and
# each one's backward is the other (gather's the scatter-add, as an index read twice sums).
# sort and topk are an order of indices (no gradient) and a gather of the values by it.
def _index_array(op, index, t):
    """``index`` (a Tensor or an array) as an int64 array on ``t``'s device; else TypeError."""
    index = _raw(index)
    # signed only: PyTorch refuses uint8 (once its boolean mask type) and the other unsigned ones
    if not hasattr(index, "dtype") or index.dtype.kind != "i":
        what = f"dtype {index.dtype}" if hasattr(index, "dtype") else type(index).__name__
        raise TypeError(f"{op}: index must be a signed integer tensor (int64 or int32, as "
                        f"PyTorch's), got {what}")
    if backend.device_of(index) != t.device:
        raise ValueError(f"{op}: index is on {backend.device_of(index)}, the input on {t.device}; "
                         "move one with .to()")
    return index.astype(np.int64, copy=False)


def _along(op, t, dim, index, src_shape=None):
    """The checks PyTorch makes of ``gather(t, dim, index)`` and ``scatter(t, dim, index, src)``,
    and what both need: (axis, the index at least 1-d, the flat position in ``t`` of each of its
    elements). A 0-d tensor or index counts as 1-d, as there.

    The index has ``t``'s number of dimensions and is no larger than ``t`` on any other axis than
    ``dim`` (nor than ``src`` on any axis); its values lie in ``[0, t.shape[dim])``, negative
    ones refused, as PyTorch's.
    """
    shape = t.shape or (1,)
    axis = _dim_index(op, dim, len(shape))
    index = index.reshape(index.shape or (1,))
    if index.ndim != len(shape):
        raise ValueError(f"{op}: index has {index.ndim} dimensions and the input {len(shape)}; "
                         "they must have the same number")
    for d, (i, n) in enumerate(zip(index.shape, shape)):
        if d != axis and i > n:
            raise ValueError(f"{op}: index of shape {tuple(index.shape)} is larger than the input "
                             f"{tuple(shape)} at dimension {d} (only dimension {axis}, the one "
                             "indexed along, may be larger)")
    if src_shape is not None:
        src_shape = src_shape or (1,)
        if len(src_shape) != index.ndim or any(i > n for i, n in zip(index.shape, src_shape)):
            raise ValueError(f"{op}: index of shape {tuple(index.shape)} is larger than src "
                             f"{tuple(src_shape)} (src is read at index's positions)")
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= shape[axis]:
            raise IndexError(f"{op}: index {lo if lo < 0 else hi} is out of range for dimension "
                             f"{axis} of size {shape[axis]} (expected 0 <= index < {shape[axis]})")
    return axis, index, _flat_positions(index, axis, shape)


def _flat_positions(index, axis, shape):
    """The flat (C-order) position in an array of ``shape`` of each element of ``index``: its
    own coordinates, with the one along ``axis`` replaced by its value.

    >>> _flat_positions(np.array([[2, 0]]), 1, (2, 3))    # (0, 2) and (0, 0) of a 2x3 array
    array([[2, 0]])
    """
    xp = get_array_module(index)
    strides = [math.prod(shape[d + 1:]) for d in range(len(shape))]
    flat = index * strides[axis]
    for d, n in enumerate(index.shape):
        if d != axis:
            flat = flat + xp.arange(n).reshape([-1 if k == d else 1 for k in range(index.ndim)]) * strides[d]
    return flat


def _scatter_add(flat, values, shape):
    """Zeros of ``shape`` with each of ``values`` added at its flat position (repeats sum), by
    ``bincount`` rather than an unbuffered ``add.at`` (as GetItem's backward). Integers and
    bools by a running sum instead (:func:`_scatter_add_exact`)."""
    xp = get_array_module(values)
    if values.dtype.kind not in "fc":
        return _scatter_add_exact(flat, values, shape)
    y = xp.bincount(flat.reshape(-1), weights=values.reshape(-1), minlength=math.prod(shape))
    return y.astype(values.dtype, copy=False).reshape(shape)


def _scatter_add_exact(flat, values, shape):
    """:func:`_scatter_add` for integers and bools: ``bincount`` adds in float64, which drops
    bits past 2**53 and does not wrap as an int32 sum does (PyTorch's: 2 * (2**31 - 1) gives
    -2). So the values are sorted by position and summed by one running sum in their own
    dtype; each position's total is the running sum at its last value less that at the last
    value before it. Bools add up as "any", as PyTorch's."""
    xp = get_array_module(values)
    if values.dtype.kind == "b":
        return _scatter_add_exact(flat, values.astype(xp.int64), shape) != 0
    flat, values = flat.reshape(-1), values.reshape(-1)
    y = xp.zeros(math.prod(shape), values.dtype)
    if flat.size:
        order = xp.argsort(flat, kind="stable")
        at, run = flat[order], xp.cumsum(values[order], dtype=values.dtype)
        ends = xp.concatenate([xp.flatnonzero(at[1:] != at[:-1]), xp.asarray([at.size - 1])])
        totals = run[ends]
        totals[1:] -= run[ends[:-1]]
        y[at[ends]] = totals
    return y.reshape(shape)


def _within(src, shape):
    """The corner of ``src`` of ``shape`` (PyTorch's scatter reads src at index's positions)."""
    return src if src.shape == tuple(shape) else src[tuple(slice(0, n) for n in shape)]


def _into(g, shape):
    """``g`` in the corner of zeros of ``shape``: the gradient of :func:`_within`."""
    if g.shape == tuple(shape):
        return g
    out = get_array_module(g).zeros(shape, g.dtype)
    out[tuple(slice(0, n) for n in g.shape)] = g
    return out


class Gather(Function):
    """``a``'s values at flat positions ``flat`` (from :func:`_along`), in ``flat``'s shape.
    Backward: the scatter-add of ``gy`` into zeros of ``a``'s shape (a value read twice gets
    both gradients)."""

    def __init__(self, flat, shape):
        self.flat, self.shape = flat, shape

    def forward(self, a):
        self.a_shape = a.shape
        # take reads the flat positions of a in C order, whatever a's layout
        return get_array_module(a).take(a, self.flat).reshape(self.shape)

    def backward(self, gy):
        return _scatter_add(self.flat, gy, self.a_shape)


class Scatter(Function):
    """A copy of ``a`` with ``src``'s corner of ``flat``'s shape (or one ``value``) written at
    the flat positions ``flat``; where a position comes twice, the last in row-major order of
    the index stays. Backward: ``a``'s gradient is ``gy`` with the written positions zeroed,
    ``src``'s is ``gy`` read at them (gather), zero where a value was overwritten or not read."""

    def __init__(self, flat, value=None):
        self.flat, self.value = flat, value

    def forward(self, a, src=None):
        out = a.copy()   # C-ordered: its flat view is the positions' frame
        # which of the values written to one place stays: the last, as unpooling's rule
        self.keep = last_of_repeats_flat(self.flat.reshape(-1))
        at = self.flat.reshape(-1)[self.keep]
        if src is None:
            out.reshape(-1)[at] = self.value
        else:
            self.src_shape = src.shape
            out.reshape(-1)[at] = _within(src, self.flat.shape).reshape(-1)[self.keep]
        return out

    def backward(self, gy):
        xp = get_array_module(gy)
        ga = xp.array(gy)   # a copy, and an array where gy of a 0-d result is a NumPy scalar
        ga.reshape(-1)[self.flat.reshape(-1)] = 0
        if self.value is not None:
            return ga
        gs = xp.take(gy, self.flat) * self.keep.reshape(self.flat.shape)
        return ga, _into(gs.astype(gy.dtype, copy=False), self.src_shape)


class ScatterAdd(Function):
    """A copy of ``a`` with ``src``'s corner of ``flat``'s shape added at the flat positions
    ``flat`` (repeats sum). Backward: ``gy`` for ``a``; ``gy`` read at the positions for
    ``src`` (gather: the adjoint of the scatter-add)."""

    def __init__(self, flat):
        self.flat = flat

    def forward(self, a, src):
        self.src_shape = src.shape
        return a + _scatter_add(self.flat, _within(src, self.flat.shape), a.shape)

    def backward(self, gy):
        return gy, _into(get_array_module(gy).take(gy, self.flat), self.src_shape)


def gather(input, dim, index):
    """The values of ``input`` along ``dim`` at ``index`` (PyTorch's ``torch.gather``); for a
    3-d input and ``dim`` 1, ``out[i, j, k] = input[i, index[i, j, k], k]``.

    Shapes: ``index`` has ``input``'s number of dimensions and no larger size on any axis but
    ``dim``; ``out`` has ``index``'s shape. Values in ``[0, input.shape[dim])`` (negative ones
    are refused, as PyTorch's). In the graph; the gradient is the scatter-add of the upstream
    one (an index named twice gets both gradients).

    >>> t = Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    >>> gather(t, 1, np.array([[2, 0], [1, 1]])).numpy()
    array([[3., 1.],
           [5., 5.]])
    """
    input = as_tensor(input)
    index = _index_array("gather", index, input)
    _, _, flat = _along("gather", input, dim, index)
    return Gather(flat.reshape(index.shape), index.shape)(input)


def scatter(input, dim, index, src=None, *, value=None):
    """A copy of ``input`` with ``src`` written along ``dim`` at ``index`` (PyTorch's
    out-of-place ``torch.scatter``); for 2-d and ``dim`` 0,
    ``out[index[i, j], j] = src[i, j]``.

    Shapes: ``index`` as :func:`gather`'s, and no larger than ``src`` on any axis (src is read
    at index's positions only). ``src`` is a Tensor of ``input``'s dtype, or one number
    (``value``, or ``src`` given a number). Where ``index`` names one position twice, the value
    last in its row-major order stays, on every device (PyTorch's is left unspecified; its CPU
    loop keeps that one too). In the graph: ``input``'s gradient is the upstream one with the
    written positions zeroed, ``src``'s that gradient read at ``index`` (gather), zero for a
    value that was overwritten (PyTorch's gives it the gradient too) or that ``index`` does not
    read (PyTorch's backward refuses a ``src`` larger than ``index``).

    >>> scatter(Tensor(np.zeros((2, 3))), 1, np.array([[2], [0]]), Tensor(np.array([[7.0], [8.0]]))).numpy()
    array([[0., 0., 7.],
           [8., 0., 0.]])
    """
    input = as_tensor(input)
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a Tensor or a number) or value, one of them")
    if value is None and not isinstance(src, Tensor) and not hasattr(src, "shape"):
        src, value = None, src   # scatter(dim, index, 1.5): a number, as PyTorch takes it
    index = _index_array("scatter", index, input)
    if value is not None:
        if isinstance(value, Tensor) and value.ndim == 0:   # a 0-d Tensor, as PyTorch takes
            value = value.item()                             # it (no gradient goes to it)
        if not isinstance(value, (int, float, bool, np.number)):
            raise TypeError(f"scatter: value must be a number, got {type(value).__name__}")
        _, _, flat = _along("scatter", input, dim, index)
        return Scatter(flat, value)(input)
    src = _scatter_source("scatter", input, src)
    _, _, flat = _along("scatter", input, dim, index, src.shape)
    # flat is at least 1-d (_along's view of a 0-d index), and so must src be, to be cut to it
    return Scatter(flat)(input, src.reshape(src.shape or (1,)))


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added along ``dim`` at ``index`` (PyTorch's out-of-place
    ``torch.scatter_add``): as :func:`scatter`, but a position named twice receives the sum. The
    adjoint of :func:`gather`: ``gather``'s gradient is this, and this one's gradient for ``src``
    is a ``gather``.

    >>> scatter_add(Tensor(np.zeros(3)), 0, np.array([0, 2, 0]), Tensor(np.array([1.0, 2.0, 3.0]))).numpy()
    array([4., 0., 2.])
    """
    input = as_tensor(input)
    index = _index_array("scatter_add", index, input)
    src = _scatter_source("scatter_add", input, src)
    _, _, flat = _along("scatter_add", input, dim, index, src.shape)
    return ScatterAdd(flat)(input, src.reshape(src.shape or (1,)))


def _scatter_source(op, input, src):
    """``src`` as a Tensor on ``input``'s device and of its dtype, else the error saying which."""
    src = as_tensor(src)
    if src.device != input.device:
        raise ValueError(f"{op}: src is on {src.device}, the input on {input.device}; move one with .to()")
    if src.dtype != input.dtype:   # as PyTorch: no silent cast inside a graph
        raise TypeError(f"{op}: src must have the input's dtype {input.dtype}, got {src.dtype}")
    return src


class Sorted(NamedTuple):
    """What :func:`sort` and :func:`topk` give, as PyTorch's ``torch.return_types``."""
    values: "Tensor"
    indices: "Tensor"


def _order(a, axis, descending):
    """int64 indices that sort ``a`` along ``axis``, stable in both directions: equal values
    keep their order, the lower index first. NaN is the largest value (last ascending, first
    descending), as PyTorch's. Descending is the ascending stable sort of ``a`` reversed, read
    backwards: reversing twice puts equal values back in their own order."""
    xp = get_array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    backwards = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return ((a.shape[axis] - 1) - xp.flip(backwards, axis)).astype(np.int64, copy=False)


def _sorted_by(t, axis, order):
    """``(values, indices)``: ``t``'s values gathered along ``axis`` in ``order`` (in the graph,
    the gradient scattered back), and the order; both in ``order``'s shape."""
    shape = t.shape or (1,)
    flat = _flat_positions(order, axis, shape)
    values = Gather(flat, order.shape)(t)
    return values, Tensor(order)


def sort(input, dim=-1, descending=False, *, stable=False):
    """``(values, indices)`` of ``input`` sorted along ``dim`` (PyTorch's ``torch.sort``).

    Always stable (``stable`` is taken, and changes nothing): equal values keep their order,
    the lower index first, ascending or descending, as PyTorch's ``stable=True`` (its default
    order of ties is unspecified). NaN sorts as the largest value. The values are in the graph
    (each one's gradient goes back to where it came from); the indices are int64.

    >>> values, indices = sort(Tensor(np.array([3.0, 1.0, 2.0, 1.0])), descending=True)
    >>> values.numpy(), indices.numpy()
    (array([3., 2., 1., 1.]), array([0, 2, 1, 3]))
    """
    input = as_tensor(input)
    axis = _dim_index("sort", dim, max(input.ndim, 1))
    t = input.reshape(input.shape or (1,))
    values, indices = _sorted_by(t, axis, _order(t.data, axis, descending))
    return Sorted(values.reshape(input.shape), indices.reshape(input.shape))


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``input`` along ``dim`` (PyTorch's ``torch.argsort``): those
    of :func:`sort`, whose order of ties they share.

    >>> argsort(Tensor(np.array([[2.0, 0.5, 1.0]]))).numpy()
    array([[1, 2, 0]])
    """
    input = as_tensor(input)
    axis = _dim_index("argsort", dim, max(input.ndim, 1))
    data = input.data.reshape(input.shape or (1,))
    return Tensor(_order(data, axis, descending).reshape(input.shape))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) values of
    ``input`` along ``dim`` (PyTorch's ``torch.topk``); the output has ``k`` along ``dim``.

    In :func:`sort`'s order, whatever ``sorted`` says (PyTorch's ``sorted=False`` leaves the
    order unspecified): largest first (smallest first), ties the lower index first (PyTorch
    leaves that unspecified too). NaN counts as the largest value. The values are in the graph.

    >>> values, indices = topk(Tensor(np.array([1.0, 3.0, 1.0, 3.0, 2.0])), 3)
    >>> values.numpy(), indices.numpy()
    (array([3., 3., 2.]), array([1, 3, 4]))
    """
    input = as_tensor(input)
    axis = _dim_index("topk", dim, max(input.ndim, 1))
    t = input.reshape(input.shape or (1,))
    n = t.shape[axis]
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__} {k!r}")
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for dimension {axis} of size {n} "
                         f"(expected 0 <= k <= {n})")
    order = _order(t.data, axis, descending=largest)
    first = order[(slice(None),) * axis + (slice(0, k),)]
    values, indices = _sorted_by(t, axis, get_array_module(first).ascontiguousarray(first))
    if input.ndim == 0:   # one value: itself, at index 0 (or nothing, for k = 0)
        return Sorted(values.reshape(() if k else (0,)), indices.reshape(() if k else (0,)))
    return Sorted(values, indices)


# --------------------------------------------------------------------- index_select, nonzero, unique
class IndexSelect(Function):
    """``a``'s slices along ``axis`` at ``index`` (1-d), in its order, repeats allowed.
    Backward: a scatter-add along ``axis``: each slice of ``gy`` added back onto the slice it
    was read from (a slice read twice gets both)."""

    def __init__(self, axis, index):
        self.axis, self.index = axis, index

    def forward(self, a):
        self.a_shape = a.shape
        return get_array_module(a).take(a, self.index, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        # the index broadcast to gy's shape, as gather's would be; then gather's backward
        along = xp.broadcast_to(self.index.reshape([-1 if d == self.axis else 1 for d in range(gy.ndim)]),
                                gy.shape)
        return _scatter_add(_flat_positions(along, self.axis, self.a_shape), gy, self.a_shape)


def index_select(input, dim, index):
    """The slices of ``input`` along ``dim`` at ``index``, in its order (PyTorch's
    ``torch.index_select``): ``index_select(x, 1, [2, 0])`` is ``x[:, [2, 0]]``.

    Shapes: ``index`` is 1-d (or 0-d: one slice, the axis kept), an integer tensor with values
    in ``[0, input.shape[dim])`` (negative ones are refused, as PyTorch's); the output is the
    input's shape with ``dim``'s size replaced by ``len(index)``. A 0-d input takes one index 0
    and gives itself. In the graph: the gradient is the scatter-add of the upstream one along
    ``dim`` (a slice picked twice gets both).

    >>> t = Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    >>> index_select(t, 1, np.array([2, 0, 2])).numpy()
    array([[3., 1., 3.],
           [6., 4., 6.]])
    """
    input = as_tensor(input)
    index = _index_array("index_select", index, input)
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 1-d (or 0-d), got shape {tuple(index.shape)}")
    axis = _dim_index("index_select", dim, max(input.ndim, 1))
    n = input.shape[axis] if input.ndim else 1
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise IndexError(f"index_select: index {lo if lo < 0 else hi} is out of range for "
                             f"dimension {axis} of size {n} (expected 0 <= index < {n})")
    if input.ndim == 0:   # one value: PyTorch takes one index, and gives the 0-d value back
        if index.size != 1:
            raise ValueError(f"index_select: a 0-d input takes one index, got {index.size}")
        return IndexSelect(0, index.reshape(1))(input.reshape(1)).reshape(())
    return IndexSelect(axis, index.reshape(-1))(input)


def nonzero(input, *, as_tuple=False):
    """Where ``input`` is not zero (PyTorch's ``torch.nonzero``): an int64 tensor of shape
    ``(count, input.ndim)``, one row of coordinates per nonzero value in row-major order; with
    ``as_tuple``, one 1-d tensor per axis instead (NumPy's ``nonzero``, what ``x[...]`` takes).
    NaN is not zero. Outside the graph. A 0-d input counts as 1-d for ``as_tuple`` (one
    tensor), as PyTorch's; its rows have no coordinates: shape ``(count, 0)``.

    >>> nonzero(Tensor(np.array([[0.0, 1.5], [2.0, 0.0]]))).numpy()
    array([[0, 1],
           [1, 0]])
    >>> [t.tolist() for t in nonzero(Tensor(np.array([0, 3, 4])), as_tuple=True)]
    [[1, 2]]
    """
    input = as_tensor(input)
    xp = get_array_module(input.data)
    # NumPy refuses the nonzero of a 0-d array: its one value as 1-d
    where = xp.nonzero(input.data.reshape(input.shape or (1,)))
    where = [w.astype(np.int64, copy=False) for w in where]
    if as_tuple:
        return tuple(Tensor(w) for w in where)
    if input.ndim == 0:
        return Tensor(xp.zeros((where[0].size, 0), np.int64))
    return Tensor(xp.stack(where, axis=1))


def _unique_rows(name, input, dim):
    """The values :func:`unique` compares, as a 2-D array of rows: one value a row without
    ``dim`` (the input flattened), else one slice along ``dim`` a row; and the axis (None
    without ``dim``)."""
    if dim is None:
        return input.data.reshape(-1, 1), None
    if input.ndim == 0:
        raise IndexError(f"{name}: dim={dim} given, but the input has no dimensions")
    axis = _dim_index(name, dim, input.ndim)
    moved = get_array_module(input.data).moveaxis(input.data, axis, 0)
    if moved.size == 0 and moved.shape[0] != 0:
        raise ValueError(f"{name}: the input of shape {tuple(input.shape)} has a dimension of "
                         f"size 0 other than dim={dim}: no slice has values to compare "
                         "(PyTorch refuses it too)")
    return moved.reshape(moved.shape[0], math.prod(moved.shape[1:])), axis   # -1 fails on 0 rows


def _rows_back(xp, rows, input, axis):
    """Rows picked by :func:`_unique_rows` back in the input's layout: flat without ``dim``,
    else the input with ``dim``'s size the number of rows."""
    if axis is None:
        return xp.ascontiguousarray(rows.reshape(-1))
    shape = tuple(v for d, v in enumerate(input.shape) if d != axis)
    return xp.ascontiguousarray(xp.moveaxis(rows.reshape((rows.shape[0],) + shape), 0, axis))


def _switches(op, sorted, return_inverse, return_counts):
    """unique's yes/no arguments checked as bools (``"no"`` had read as yes, as PyTorch refuses
    it): ``(return_inverse, return_counts)``."""
    from .functional import _flag   # functional imports this module's Tensor at its top
    _flag(op, "sorted", sorted)
    return _flag(op, "return_inverse", return_inverse), _flag(op, "return_counts", return_counts)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of ``input`` in ascending order (PyTorch's ``torch.unique``), or
    with ``dim`` the distinct slices along it, in lexicographic order. Outside the graph.

    Returns the values (flat, or the input with ``dim``'s size the number of distinct slices),
    and when asked, as a tuple after them: ``inverse`` (int64: where each value of the input
    went, of the input's shape; with ``dim``, one per slice) and ``counts`` (int64, how many
    times each one came).

    Always sorted (``sorted=False`` is taken and changes nothing: PyTorch leaves that order
    unspecified, and its CPU's sorts too). As PyTorch's, NaN is not equal to itself: each
    NaN is a value (a slice holding one a slice) of its own, last; 0.0 and -0.0 are one.

    >>> values, inverse, counts = unique(Tensor(np.array([3, 1, 3, 2])), return_inverse=True,
    ...                                  return_counts=True)
    >>> values.tolist(), inverse.tolist(), counts.tolist()
    ([1, 2, 3], [2, 0, 2, 1], [1, 1, 2])
    """
    input = as_tensor(input)
    return_inverse, return_counts = _switches("unique", sorted, return_inverse, return_counts)
    xp = get_array_module(input.data)
    rows, axis = _unique_rows("unique", input, dim)
    n = rows.shape[0]
    # rows in lexicographic order, stable (lexsort's last key is the first column);
    # then a new value wherever a row differs from the one before it (NaN != NaN: its own)
    if n and rows.shape[1]:
        order = xp.lexsort(rows.T[::-1]).astype(np.int64, copy=False)
    else:
        order = xp.arange(n, dtype=np.int64)
    ranked = rows[order]
    new = xp.ones(n, dtype=bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    starts = xp.flatnonzero(new)
    out = [Tensor(_rows_back(xp, ranked[starts], input, axis))]
    if return_inverse:
        inverse = xp.empty(n, np.int64)
        inverse[order] = xp.cumsum(new) - 1   # the rank of each row's value, back in its place
        out.append(Tensor(inverse.reshape(input.shape) if axis is None else inverse))
    if return_counts:
        ends = xp.concatenate([starts[1:], xp.asarray([n], dtype=starts.dtype)]) if n else starts
        out.append(Tensor((ends - starts).astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The input with each run of equal consecutive values cut to one (PyTorch's
    ``torch.unique_consecutive``, Unix's ``uniq``), or with ``dim`` each run of equal
    consecutive slices along it. Unlike :func:`unique`, nothing is sorted: a value that comes
    back after another is kept again. Outside the graph.

    Returns the values (flat, or the input with ``dim``'s size the number of runs), and when
    asked, as a tuple after them: ``inverse`` (int64: the run each value of the input is in,
    of the input's shape; with ``dim``, one per slice) and ``counts`` (int64, each run's
    length). NaN is not equal to itself: each NaN (a slice holding one) is a run of its own;
    0.0 and -0.0 are one.

    >>> values, inverse, counts = unique_consecutive(Tensor(np.array([1, 1, 3, 3, 3, 1])),
    ...                                              return_inverse=True, return_counts=True)
    >>> values.tolist(), inverse.tolist(), counts.tolist()
    ([1, 3, 1], [0, 0, 1, 1, 1, 2], [2, 3, 1])
    """
    input = as_tensor(input)
    return_inverse, return_counts = _switches("unique_consecutive", True, return_inverse, return_counts)
    xp = get_array_module(input.data)
    rows, axis = _unique_rows("unique_consecutive", input, dim)
    n = rows.shape[0]
    # a run starts at the first row and wherever a row differs from the one before it
    new = xp.ones(n, dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    starts = xp.flatnonzero(new)
    out = [Tensor(_rows_back(xp, rows[starts], input, axis))]
    if return_inverse:
        inverse = (xp.cumsum(new) - 1).astype(np.int64, copy=False)   # the run of each row
        out.append(Tensor(inverse.reshape(input.shape) if axis is None else inverse))
    if return_counts:
        ends = xp.concatenate([starts[1:], xp.asarray([n], dtype=starts.dtype)]) if n else starts
        out.append(Tensor((ends - starts).astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)
