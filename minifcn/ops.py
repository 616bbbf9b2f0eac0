"""The autograd Functions behind the Tensor's own operations: elementwise arithmetic (``+ - * /
**``, maximum, where, exp, log, clamp, ...), the shape ops (sum, reshape, transpose, indexing,
cat), PyTorch's smaller Tensor methods (sqrt, sigmoid, norm, expand, repeat, split, stack,
...) and the ops segmentation code reaches for (flip, roll, masked_fill, cumsum, prod, sign,
round, floor, ceil, logsumexp, argmin, argmax), with the free functions that call them (``add``,
``matmul``, ``cat``, ``flip``, ...).

Each :class:`~minifcn.autograd.Function` here works on arrays: ``forward`` computes the output
and keeps what the backward will need on ``self``, ``backward`` returns one gradient per input
(an array, or None). :class:`~minifcn.autograd.Tensor`'s operators and methods call them; the
pass that runs them backwards is :func:`minifcn.autograd._backprop`.

>>> import numpy as np
>>> from minifcn import Tensor
>>> x = Tensor(np.array([1.0, 4.0]), requires_grad=True)
>>> y = Sqrt()(x)                # y = sqrt(x): Function(...)(tensors) records it
>>> y.sum().backward()
>>> x.grad                       # d sqrt(x) / dx = 1 / (2 sqrt(x))
array([0.5 , 0.25])
"""
from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np

from . import backend
from .autograd import Function, Tensor, _as_array, _dim_alias, _dim_index, as_tensor, sum_to
from .backend import get_array_module


# --------------------------------------------------------------------- elementwise arithmetic
# inf - inf, inf * 0 and an overflow to inf give NaN and inf silently in PyTorch, and here: the
# IEEE result is the answer, so NumPy's warnings about it are silenced (np.errstate, about 1 us
# a call: the models make a few of these a step, next to convolutions of milliseconds)
_QUIET = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}


class Add(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        with np.errstate(**_QUIET):
            return a + b

    def backward(self, gy):
        with np.errstate(**_QUIET):   # a sum back over a broadcast may overflow
            return sum_to(gy, self.a_shape), sum_to(gy, self.b_shape)


class Sub(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        with np.errstate(**_QUIET):
            return a - b

    def backward(self, gy):
        with np.errstate(**_QUIET):
            return sum_to(gy, self.a_shape), sum_to(-gy, self.b_shape)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        with np.errstate(**_QUIET):
            return a * b

    def backward(self, gy):
        with np.errstate(**_QUIET):   # 0 * inf: NaN, as PyTorch's gradient there
            return sum_to(gy * self.b, self.a.shape), sum_to(gy * self.a, self.b.shape)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b
        return sum_to(ga, self.a.shape), sum_to(-ga * self.a / self.b, self.b.shape)


class Maximum(Function):
    """The larger of ``a`` and ``b`` at each position (broadcast); the gradient goes to the
    larger, half to each where they tie, as PyTorch's. ``Minimum`` is the same with the
    comparison turned round. A NaN wins (NumPy's and PyTorch's rule), and both get the whole
    gradient there, as PyTorch's formula gives (neither ``<`` nor ``==`` holds)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def _loses(self, a, b):
        return a < b

    def backward(self, gy):
        xp, a, b = get_array_module(gy), self.a, self.b
        split = xp.where(a == b, gy / 2, gy)   # a tie: half to each
        ga = xp.where(self._loses(a, b), 0, split)
        gb = xp.where(self._loses(b, a), 0, split)
        return sum_to(ga.astype(gy.dtype, copy=False), a.shape), sum_to(gb.astype(gy.dtype, copy=False), b.shape)


class Minimum(Maximum):
    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).minimum(a, b)

    def _loses(self, a, b):
        return a > b


class Where(Function):
    """``a`` where ``condition`` holds, ``b`` elsewhere (all three broadcast); the gradient goes
    the same way: to ``a`` where the condition holds, to ``b`` elsewhere. The condition gets none."""

    def forward(self, condition, a, b):
        self.condition, self.a_shape, self.b_shape = condition, a.shape, b.shape
        return get_array_module(a).where(condition, a, b)

    def backward(self, gy):
        xp, c = get_array_module(gy), self.condition
        ga = xp.where(c, gy, 0).astype(gy.dtype, copy=False)
        gb = xp.where(c, 0, gy).astype(gy.dtype, copy=False)
        return None, sum_to(ga, self.a_shape), sum_to(gb, self.b_shape)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, gy):
        return -gy


class Pow(Function):
    def __init__(self, exponent: float):
        # a number becomes a Python one: NumPy's float64 scalar or 0-d array would make a
        # float32 power float64 on NumPy 2 (a Python float does not, and keeps an integer
        # tensor's power a float one, as PyTorch's). An array of exponents, one per value
        # (broadcast), follows NumPy's types, as arrays do in arithmetic.
        if isinstance(exponent, Tensor):
            raise TypeError("pow: the exponent must be a number or an array (no gradient flows "
                            "to it), got a Tensor: pass its .data")
        if getattr(exponent, "ndim", None) == 0:
            exponent = exponent.item()
        self.exponent = exponent

    def forward(self, a):
        self.a = a
        return a ** self.exponent

    def backward(self, gy):
        e, xp = self.exponent, get_array_module(gy)
        if not hasattr(e, "ndim"):
            if e == 0:   # a ** 0 is 1 everywhere; 0 * 0 ** -1 would be NaN at 0
                return xp.zeros_like(gy)
            return gy * e * self.a ** (e - 1)
        with np.errstate(divide="ignore", invalid="ignore"):   # 0 ** -1 where e is 0, masked
            g = xp.where(e == 0, 0, gy * e * self.a ** (e - 1))
        return sum_to(g, self.a.shape)


class Cat(Function):
    """Arrays joined along ``axis``; each input's gradient is its slice of ``gy``."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return get_array_module(arrays[0]).concatenate(arrays, axis=self.axis)

    def backward(self, gy):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(g.copy() for g in get_array_module(gy).split(gy, cuts, axis=self.axis))


class ToDevice(Function):
    """``a`` copied to another device; the gradient goes back to ``a``'s."""

    def __init__(self, device):
        self.device = device

    def forward(self, a):
        self.source = backend.device_of(a)
        return backend.to_device(a, self.device)

    def backward(self, gy):
        return backend.to_device(gy, self.source)


class Extreme(Function):
    """The max or min over ``axis``; the gradient shared evenly among the ties. As PyTorch's,
    ``amax`` multiplies ``gy`` by the share (an inf ``gy`` gives NaN off the ties, 0 * inf),
    ``max()`` (``only_ties=True``) puts it at the ties only: exactly 0 elsewhere."""

    def __init__(self, which, axis, keepdims, only_ties=False):
        self.which, self.axis, self.keepdims, self.only_ties = which, axis, keepdims, only_ties

    def forward(self, a):
        y = a.max(axis=self.axis, keepdims=True) if self.which == "max" else a.min(axis=self.axis, keepdims=True)
        xp = get_array_module(a)
        # where the extreme is, ties included; a NaN is the extreme (as NumPy's max) and takes
        # the gradient (PyTorch's max() too), rather than 0 / 0 everywhere
        self.hit = (a == y) | (xp.isnan(a) & xp.isnan(y))
        self.shape = y.shape
        return y if self.keepdims else y.reshape(_reduced_shape(a.shape, self.axis))

    def backward(self, gy):
        share = self.hit / self.hit.sum(axis=self.axis, keepdims=True)
        gy = gy.reshape(self.shape)
        if self.only_ties:   # gy at the ties, 0 elsewhere, before the product: no 0 * inf there
            return (get_array_module(gy).where(self.hit, gy, 0) * share).astype(gy.dtype, copy=False)
        with np.errstate(invalid="ignore"):   # 0 * inf off the ties: NaN, as PyTorch's amax
            return (gy * share).astype(gy.dtype, copy=False)


def _reduce_axes(op, dim, ndim):
    """``dim`` (None, an int, or a tuple or list of them) as NumPy's axis: checked, and None on a
    0-d tensor, which has one value whatever the axis (as PyTorch takes dim 0 or -1 there)."""
    if dim is None:
        return None
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if not dims:
        return None
    axes = tuple(_dim_index(op, d, max(ndim, 1)) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dimension {dim} repeats an axis")
    return None if ndim == 0 else (axes if isinstance(dim, (tuple, list)) else axes[0])


def _reduced_shape(shape, axis):
    axes = range(len(shape)) if axis is None else {a % len(shape) for a in np.atleast_1d(axis)}
    return tuple(n for k, n in enumerate(shape) if k not in axes)


class ExtremeAt(Function):
    """Values picked at ``indices`` along ``axis`` (an argmax or argmin); the gradient goes to
    each index alone."""

    def __init__(self, indices, axis, keepdims):
        self.indices, self.axis, self.keepdims = indices, axis, keepdims

    def forward(self, a):
        xp = get_array_module(a)
        self.a_shape = a.shape
        y = xp.take_along_axis(a, xp.expand_dims(self.indices, self.axis), axis=self.axis)
        return y if self.keepdims else y.squeeze(self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        # one-hot along the axis, by comparing positions with the indices (CuPy has no
        # put_along_axis), times gy spread back over it
        positions = xp.arange(self.a_shape[self.axis]).reshape(
            [-1 if k == self.axis else 1 for k in range(len(self.a_shape))])
        hit = positions == xp.expand_dims(self.indices, self.axis)
        # where, not hit * gy: exactly 0 off the index, an inf gy too (PyTorch's scatter)
        gy = gy if self.keepdims else xp.expand_dims(gy, self.axis)
        return xp.where(hit, gy, 0).astype(gy.dtype, copy=False)


class MaxMin(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` give, as PyTorch's ``torch.return_types``."""
    values: "Tensor"
    indices: "Tensor"


def _extreme_along(t, which, dim, keepdim):
    """(values, indices) of the max or min along ``dim``, as PyTorch's ``max(dim)``."""
    xp = get_array_module(t.data)
    if t.ndim == 0:   # one value: itself, at index 0 (PyTorch takes dim 0 or -1 here)
        _dim_index(which, dim, 1)
        return MaxMin(t * 1.0, Tensor(xp.zeros((), dtype=xp.int64)))
    axis = _dim_index(which, dim, t.ndim)
    indices = (xp.argmax if which == "max" else xp.argmin)(t.data, axis=axis)
    values = ExtremeAt(indices, axis, keepdim)(t)
    return MaxMin(values, Tensor(xp.expand_dims(indices, axis) if keepdim else indices))


class Clone(Function):
    """A copy of ``a``; the gradient passes through unchanged."""

    def forward(self, a):
        return a.copy()

    def backward(self, gy):
        return gy


class Cast(Function):
    """``a`` in another dtype; the gradient goes back in ``a``'s."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, a):
        self.source = a.dtype
        return _cast(a, self.dtype)

    def backward(self, gy):
        return _cast(gy, self.source)


def _cast(a, dtype):
    """``a.astype(dtype)``; a float past the new dtype's range is inf (1e300 in float32), a NaN
    or inf into an integer whatever the cast gives, quietly, as PyTorch's (NumPy warns). The
    errstate (1 us) only where a cast can overflow: to a float of fewer bytes, or to integers."""
    if a.dtype.kind == "f" and (np.dtype(dtype).kind != "f" or np.dtype(dtype).itemsize < a.dtype.itemsize):
        with np.errstate(over="ignore", invalid="ignore"):
            return a.astype(dtype)
    return a.astype(dtype)


class Exp(Function):
    def forward(self, a):
        with np.errstate(**_QUIET):   # exp(1000) = inf, as PyTorch's
            self.y = get_array_module(a).exp(a)
        return self.y

    def backward(self, gy):
        with np.errstate(**_QUIET):
            return gy * self.y


class Abs(Function):
    def forward(self, a):
        self.a = a
        return abs(a)

    def backward(self, gy):
        xp = get_array_module(gy)
        with np.errstate(**_QUIET):   # inf * 0 at 0: NaN, as PyTorch's
            # sign: 0 at 0, and at NaN (nan_to_num), as PyTorch's sgn
            return gy * xp.sign(xp.nan_to_num(self.a))


class Clamp(Function):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, a):
        xp = get_array_module(a)
        keep = xp.ones(a.shape, dtype=bool)
        if self.low is not None:
            keep &= a >= self.low
        if self.high is not None:
            keep &= a <= self.high
        self.keep = keep
        return xp.clip(a, self.low, self.high).astype(a.dtype, copy=False)

    def backward(self, gy):
        return gy * self.keep


class Log(Function):
    def forward(self, a):
        self.a = a
        return get_array_module(a).log(a)

    def backward(self, gy):
        return gy / self.a


class MatMul(Function):
    """(..., m, k) @ (..., k, n) -> (..., m, n), the leading (stack) axes broadcast as NumPy's:
    ``ga = gy @ b^T`` and ``gb = a^T @ gy`` (transposing the last two axes), each summed back
    over the stack axes its operand was broadcast along."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        return (sum_to(gy @ b.swapaxes(-1, -2), a.shape),
                sum_to(a.swapaxes(-1, -2) @ gy, b.shape))


# --------------------------------------------------------------------- shape ops
class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.a_shape = a.shape
        keepdims = self.keepdims
        if a.ndim == 0 and self.axis is not None:   # over dim 0 or -1 a 0-d tensor is itself, as
            a, keepdims = a.reshape(1), False         # PyTorch's (NumPy's error for another dim)
        if a.dtype.kind != "f":   # int64 here, or the dtype= asked for, kept (NumPy widens)
            return _in_own_dtype(get_array_module(a).sum, a, axis=self.axis, keepdims=keepdims)
        with np.errstate(**_QUIET):   # inf + -inf, an overflow: NaN, inf, as PyTorch's
            return a.sum(axis=self.axis, keepdims=keepdims)

    def backward(self, gy):
        xp = get_array_module(gy)
        # put the summed axes back as size 1; a 0-d input summed over axis 0 or -1 is itself
        if self.axis is not None and not self.keepdims and self.a_shape:
            axes = [a % len(self.a_shape) for a in np.atleast_1d(self.axis)]
            gy = xp.expand_dims(gy, tuple(sorted(axes)))
        return xp.broadcast_to(gy, self.a_shape).copy()


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        self.a_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.a_shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes[0] if len(axes) == 1 and
                                                     isinstance(axes[0], (tuple, list)) else axes)

    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        # the inverse permutation, of the axes counted from 0 (-1 would sort first)
        return gy.transpose(tuple(np.argsort([a % gy.ndim for a in self.axes])))


class GetItem(Function):
    def __init__(self, index):
        self.index = index

    def forward(self, a):
        self.a_shape, self.a_dtype = a.shape, a.dtype
        if _one_element(self.index, a.ndim):
            # an int for every axis: NumPy gives a scalar, a copy; with ... it gives a 0-d view,
            # as PyTorch's t[0], so that t[0].add_(1) reaches t (no copy either way)
            return a[(*self.index, ...) if isinstance(self.index, tuple) else (self.index, ...)]
        return a[self.index]

    def backward(self, gy):
        xp = get_array_module(gy)
        if _basic_index(self.index):   # ints, slices, None, ...: each element picked once at most
            gx = xp.zeros(self.a_shape, dtype=gy.dtype)
            gx[self.index] = gy
            return gx
        # An index array can pick an element twice (a[[0, 0]]), and then its gradient is the sum
        # of both (an assignment would keep one). So: the flat position of every element picked,
        # found by the same index on the array of positions, and a sum per position.
        size = math.prod(self.a_shape)
        picked = xp.arange(size).reshape(self.a_shape)[self.index]
        gx = xp.bincount(picked.ravel(), weights=gy.ravel(), minlength=size)
        return gx.astype(gy.dtype, copy=False).reshape(self.a_shape)


def _one_element(index, ndim):
    """Whether ``index`` is an int for every one of ``ndim`` axes (NumPy's scalar result)."""
    parts = index if isinstance(index, tuple) else (index,)
    return len(parts) == ndim and all(isinstance(p, (int, np.integer)) and not isinstance(p, bool)
                                      for p in parts)


def _basic_index(index):
    """Whether ``a[index]`` is basic indexing (a view: ints, slices, None, Ellipsis), which never
    picks an element twice; index arrays and lists are advanced indexing, which can."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, np.integer)) for p in parts)


def _operands(a, b):
    """``a`` and ``b`` as Tensors for an arithmetic op, promoted as PyTorch promotes them.

    Where one operand is a Tensor and the other a number or an array, a floating Tensor keeps
    its dtype against a number, an integer or bool array, or a 0-d array (NumPy alone would
    make ``float32 + int64`` float64). An integer Tensor keeps its dtype against an integer,
    and against a float follows NumPy (it had taken the Tensor's dtype: ``Tensor([1, 2]) *
    0.5`` was ``[0, 0]``). A bool Tensor takes a number's PyTorch dtype, int64 or float32 (it
    had cast the number to bool: ``mask * 3`` was ``mask``). A NumPy scalar cast to the
    Tensor's dtype goes in as the Python number it holds, so an integer one out of an integer
    Tensor's range is refused as a Python int is (``asarray`` had wrapped ``np.int64(300)`` to
    int8's 44); a float one past a float32 Tensor's range is inf, quietly, as PyTorch's. Two
    Tensors, or a Tensor and a float array of one or more dimensions, follow NumPy, as PyTorch
    does there.

    >>> import numpy as np
    >>> x = Tensor(np.ones(2, np.float32))
    >>> (x + np.arange(2)).dtype, (x * np.float64(2)).dtype, (Tensor(np.arange(2)) * 0.5).data
    (dtype('float32'), dtype('float32'), array([0. , 0.5]))
    >>> (Tensor(np.array([True, False])) * 3).data
    array([3, 0])
    """
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        return as_tensor(a), as_tensor(b)
    floating = like.dtype.kind == "f"

    def promote(x):
        if isinstance(x, Tensor):
            return x
        xp = get_array_module(like.data)
        if isinstance(x, (bool, int, float)) or (isinstance(x, np.generic) and not x.shape):
            if like.dtype == np.bool_ and not isinstance(x, (bool, np.bool_)):
                # PyTorch's dtype of the number (the Tensor has no say): int64, or its
                # default float, float32 (1e300 quietly inf there, as in PyTorch)
                number = np.float32 if isinstance(x, (float, np.floating)) else np.int64
                with np.errstate(over="ignore"):
                    return Tensor(xp.asarray(x, dtype=number))
            if floating or not isinstance(x, (float, np.floating)):
                if isinstance(x, np.generic):   # as its Python number: checked, never wrapped
                    x = x.item()
                if like.dtype.kind in "iu" and isinstance(x, int) and not isinstance(x, bool):
                    info = np.iinfo(like.dtype)   # NumPy 2 refuses as here; NumPy 1.x wrapped
                    if not info.min <= x <= info.max:
                        raise OverflowError(f"Python integer {x} out of bounds for {like.dtype}")
                if floating and isinstance(x, float) and not abs(x) < 65504.0:
                    # past float16's largest (so maybe past the dtype's): 1e300 into float32
                    # is inf, quietly, as PyTorch's (errstate only here: it costs 1 us a call)
                    with np.errstate(over="ignore"):
                        return Tensor(xp.asarray(x, dtype=like.dtype))
                return Tensor(xp.asarray(x, dtype=like.dtype))
            return Tensor(xp.asarray(x))
        arr = _as_array(x)
        if floating and (arr.dtype.kind in "biu" or (arr.ndim == 0 and arr.dtype.kind == "f")):
            with np.errstate(over="ignore"):   # a 0-d float64 1e300 into float32: inf, as above
                arr = arr.astype(like.dtype)
        return Tensor(arr)
    return promote(a), promote(b)


def _array_operands(a, b):
    """``_operands`` for functions that take arrays as well as Tensors: where neither is a
    Tensor, an array is taken as one, so that a number beside it takes its dtype and device."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a, b = (v if np.isscalar(v) else as_tensor(v) for v in (a, b))
    return _operands(a, b)


def add(a, b):
    return Add()(*_operands(a, b))


def sub(a, b):
    if any(isinstance(x, (bool, np.bool_)) or getattr(x, "dtype", None) == np.bool_ for x in (a, b)):
        # as PyTorch's - and ops_math.sub: NumPy refused bool - bool, but took mask - 3
        raise TypeError(f"-: subtraction with a bool operand is not taken (as PyTorch), got "
                        f"{_kind_name(a)} - {_kind_name(b)}; use ^ (logical xor), ~ (logical "
                        "not) or cast to a number type")
    return Sub()(*_operands(a, b))


def _kind_name(x):
    """``x``'s dtype (a Tensor, an array) or type (a number), for an error message."""
    return str(x.dtype) if hasattr(x, "dtype") and not isinstance(x, np.generic) else type(x).__name__


def mul(a, b):
    return Mul()(*_operands(a, b))


def div(a, b):
    return Div()(*_operands(a, b))


def neg(a):
    return Neg()(a)


def maximum(a, b):
    """The larger of ``a`` and ``b`` at each position, in the graph (PyTorch's ``torch.maximum``).

    Shapes broadcast as in ``a + b``; ``a`` or ``b`` may be a number or an array. The gradient
    goes to the larger of the two, and half to each where they are equal, as PyTorch's; a NaN
    wins. (``max(dim)`` is the reduction along an axis.)

    >>> import numpy as np
    >>> a = Tensor(np.array([1.0, 5.0, 3.0]), requires_grad=True)
    >>> b = Tensor(np.array([2.0, 4.0, 3.0]), requires_grad=True)
    >>> y = maximum(a, b)
    >>> y.backward(np.ones(3))
    >>> y.numpy(), a.grad, b.grad
    (array([2., 5., 3.]), array([0. , 1. , 0.5]), array([1. , 0. , 0.5]))
    """
    return Maximum()(*_array_operands(a, b))


def minimum(a, b):
    """The smaller of ``a`` and ``b`` at each position, in the graph (PyTorch's ``torch.minimum``).

    As :func:`maximum`: broadcast, numbers and arrays taken, the gradient to the smaller and
    half to each on a tie, a NaN wins.

    >>> import numpy as np
    >>> x = Tensor(np.array([[-1.0, 0.5, 2.0]]), requires_grad=True)
    >>> y = minimum(x, np.array([[0.0], [1.0]]))     # (1, 3) against (2, 1): (2, 3)
    >>> y.sum().backward()
    >>> y.numpy().tolist(), x.grad.tolist()
    ([[-1.0, 0.0, 0.0], [-1.0, 0.5, 1.0]], [[2.0, 1.0, 0.0]])
    """
    return Minimum()(*_array_operands(a, b))


def where(condition, a, b):
    """``a`` where ``condition`` is True, else ``b``, in the graph (PyTorch's ``torch.where``).

    Shapes: ``condition`` (bool), ``a`` and ``b`` broadcast together to the output's. ``a`` or
    ``b`` may be a number or an array; a number takes the dtype of the other (or, two numbers,
    float32 for floats, as PyTorch's). The gradient goes to ``a`` where the condition holds and
    to ``b`` elsewhere, summed back over the axes each was broadcast along.

    >>> import numpy as np
    >>> x = Tensor(np.array([-2.0, 0.5, 3.0]), requires_grad=True)
    >>> y = where(x > 0, x, 0.1 * x)                 # a leaky ReLU
    >>> y.sum().backward()
    >>> y.numpy(), x.grad
    (array([-0.2,  0.5,  3. ]), array([0.1, 1. , 1. ]))
    """
    if not isinstance(condition, Tensor):
        condition = Tensor(_as_array(condition))
    if condition.dtype != np.bool_:   # NumPy would read any number as a truth value
        raise TypeError(f"where: condition must be bool (a comparison such as x > 0), got {condition.dtype}")
    if np.isscalar(a) and np.isscalar(b):   # two numbers: one dtype, on the condition's device
        pair = get_array_module(condition.data).asarray(_as_array([a, b]))
        a, b = pair[0], pair[1]
    return Where()(condition, *_array_operands(a, b))


def pow(a, exponent):
    return Pow(exponent)(a)


def matmul(a, b):
    """``a @ b`` for operands of at least 2 dimensions (stacks of matrices broadcast).

    >>> import numpy as np
    >>> (Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((4, 5)))).shape
    (2, 3, 5)
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: expected operands of at least 2 dimensions, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: inner dimensions differ: {tuple(a.shape)} @ {tuple(b.shape)}")
    return MatMul()(a, b)


def cat(tensors, dim=0):
    """Tensors joined along ``dim``, in the graph (PyTorch's ``torch.cat``; a U-Net's skips):
    every other axis must match.

    >>> import numpy as np
    >>> cat([Tensor(np.ones((1, 2, 4, 4))), Tensor(np.zeros((1, 3, 4, 4)))], dim=1).shape
    (1, 5, 4, 4)
    """
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected at least one tensor, got none")
    first = tensors[0]
    if not -first.ndim <= dim < first.ndim:
        raise IndexError(f"cat: dimension {dim} is out of range for a {first.ndim}-d tensor")
    dim %= first.ndim
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for k, (a, b) in enumerate(zip(t.shape, first.shape)) if k != dim):
            raise ValueError(f"cat: shapes {tuple(first.shape)} and {tuple(t.shape)} differ outside dimension {dim}")
        if t.dtype != first.dtype:   # NumPy would promote silently; PyTorch's too, but not a graph's dtype
            raise TypeError(f"cat: tensors must share one dtype, got {first.dtype} and {t.dtype}")
    return Cat(dim)(*tensors)


# --------------------------------------------------------------------- PyTorch's smaller ops
# The Functions behind the block of PyTorch's smaller Tensor methods, and stack, equal and
# allclose (package level, as torch.stack, torch.equal and torch.allclose); gather, scatter,
# scatter_add, sort, argsort and topk are in indexing.py.
def _sizes(sizes):
    """``f(2, 3)`` or ``f((2, 3))`` (PyTorch takes both) as a tuple of ints."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    return tuple(operator.index(n) for n in sizes)


def _numpy_keywords(op, dim, keepdim, axis, keepdims, out, dtype=None):
    """``dim`` and ``keepdim`` from PyTorch's names or NumPy's (``axis``, ``keepdims``: what
    ``np.all(t)`` or ``np.var(t)`` passes to the method); ``out`` and ``dtype`` must be None."""
    if out is not None or dtype is not None:
        raise TypeError(f"{op}: out= and dtype= are not taken")
    return _dim_alias(op, axis, dim, keepdim, keepdims)


def _all_or_any(t, op, dim, keepdim, axis, keepdims, out):
    empty = next((d for d in (dim, axis) if d is not None), None)
    dim, keepdim = _numpy_keywords(op, dim, keepdim, axis, keepdims, out)
    # PyTorch's all(dim=()) and all(dim=[]) reduce no axis (looked at before _numpy_keywords,
    # which reads [] as every axis, sum's meaning)
    if isinstance(empty, (tuple, list)) and not empty:
        return Tensor(t.data != 0)
    xp = get_array_module(t.data)
    return Tensor(getattr(xp, op)(t.data, axis=_reduce_axes(op, dim, t.ndim), keepdims=keepdim))


def _check_floating(op, t):
    if t.dtype.kind != "f":   # as PyTorch: NumPy would compute an integer tensor's in float64
        raise TypeError(f"{op}: expected a floating-point tensor, got {t.dtype}")


def _floating(t):
    """``t`` itself when it holds floats, else in float32 (PyTorch's result of ``sqrt``,
    ``sigmoid`` and ``tanh`` on integers and bools)."""
    return t if t.dtype.kind == "f" else t.astype(np.float32)


class Sqrt(Function):
    """``sqrt(a)``; the gradient ``gy / (2 sqrt(a))``, inf at 0, or 0 there with
    ``zero_at_zero`` (a standard deviation's, as PyTorch's)."""

    def __init__(self, zero_at_zero=False):
        self.zero_at_zero = zero_at_zero

    def forward(self, a):
        self.y = get_array_module(a).sqrt(a)
        return self.y

    def backward(self, gy):
        if not self.zero_at_zero:
            return gy / (2 * self.y)
        with np.errstate(divide="ignore", invalid="ignore"):   # y == 0 is masked
            return get_array_module(gy).where(self.y == 0, 0, gy / (2 * self.y)).astype(gy.dtype, copy=False)


def _sigmoid(a):
    """The array ``1 / (1 + exp(-a))``, written with ``e = exp(-|a|)`` (never overflows):
    ``1 / (1 + e)`` for ``a >= 0``, ``e / (1 + e)`` below."""
    xp = get_array_module(a)
    e = xp.exp(-abs(a))
    return xp.where(a >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    """``1 / (1 + exp(-x))``, without overflow (:func:`_sigmoid`)."""

    def forward(self, a):
        self.y = _sigmoid(a)
        return self.y

    def backward(self, gy):
        with np.errstate(**_QUIET):   # inf * 0 where y is 0 or 1: NaN, as PyTorch's
            return gy * self.y * (1 - self.y)


class Tanh(Function):
    def forward(self, a):
        self.y = get_array_module(a).tanh(a)
        return self.y

    def backward(self, gy):
        with np.errstate(**_QUIET):   # inf * 0 where |y| is 1: NaN, as PyTorch's
            return gy * (1 - self.y * self.y)


class Norm(Function):
    """The ``p``-norm over ``axis`` (``p`` > 0, not 1, 2 or inf: those are composed of ``abs``,
    squares and ``sqrt``); the gradient is ``gy * sign(x) |x|^(p-1) / norm^(p-1)``, 0 where the
    norm is 0 (NaN at a zero value where the norm is NaN, as PyTorch's)."""

    def __init__(self, p, axis, keepdims):
        self.p, self.axis, self.keepdims = p, axis, keepdims

    def forward(self, a):
        p = self.p
        self.a = a
        with np.errstate(**_QUIET):   # |x|^p past the largest float: inf, as PyTorch's
            self.y = (abs(a) ** p).sum(axis=self.axis, keepdims=True) ** (1 / p)
        return self.y if self.keepdims else self.y.reshape(_reduced_shape(a.shape, self.axis))

    def backward(self, gy):
        xp, p, a, y = get_array_module(gy), self.p, self.a, self.y
        gy = gy.reshape(y.shape)
        # y == 0 is masked; |a|^(p-1) is inf at 0 for p < 1, so it is set to 0 there; a zero
        # value's gradient is then 0 * scale: 0, or NaN where the scale is NaN or inf (a NaN
        # in the line, an inf gy), as PyTorch's
        with np.errstate(**_QUIET):
            scale = xp.where(y == 0, 0, gy / y ** (p - 1))
            g = xp.where(a == 0, 0, xp.sign(a) * abs(a) ** (p - 1)) * scale
        return g.astype(gy.dtype, copy=False)


class Expand(Function):
    """``a`` broadcast to ``shape`` (a read-only view); the gradient summed back to ``a``'s."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        self.a_shape = a.shape
        return get_array_module(a).broadcast_to(a, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.a_shape)


class Repeat(Function):
    """``a`` tiled ``reps[i]`` times along axis ``i``. Backward: ``gy`` seen as
    (r0, n0, r1, n1, ...), summed over the copies r0, r1, ..."""

    def __init__(self, reps):
        self.reps = reps

    def forward(self, a):
        self.a_shape = a.shape
        return get_array_module(a).tile(a, self.reps)

    def backward(self, gy):
        own = (1,) * (len(self.reps) - len(self.a_shape)) + tuple(self.a_shape)
        pairs = [n for r, s in zip(self.reps, own) for n in (r, s)]
        g = gy.reshape(pairs).sum(axis=tuple(range(0, len(pairs), 2)))
        return g.reshape(self.a_shape)


class Split(Function):
    """``a`` cut along ``axis`` into pieces of ``sizes`` (views, as PyTorch's); the gradient is
    the pieces' gradients joined again, zeros for a piece that got none."""

    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, a):
        self.a_shape = a.shape
        cuts = [int(c) for c in np.cumsum(self.sizes)[:-1]]
        return tuple(get_array_module(a).split(a, cuts, axis=self.axis))

    def backward(self, *gys):
        some = next(g for g in gys if g is not None)
        xp = get_array_module(some)
        parts = [g if g is not None else
                 xp.zeros(self.a_shape[:self.axis] + (n,) + self.a_shape[self.axis + 1:], some.dtype)
                 for g, n in zip(gys, self.sizes)]
        return xp.concatenate(parts, axis=self.axis)


def stack(tensors, dim=0):
    """Tensors of one shape stacked along a new axis ``dim``, in the graph (PyTorch's
    ``torch.stack``): ``dim`` counts in the result, from -(ndim + 1) to ndim. One dtype, as
    :func:`cat`.

    >>> import numpy as np
    >>> stack([Tensor(np.ones((2, 3))), Tensor(np.zeros((2, 3)))], dim=-1).shape
    (2, 3, 2)
    """
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected at least one tensor, got none")
    first = tensors[0]
    if not -first.ndim - 1 <= dim <= first.ndim:
        raise IndexError(f"stack: dimension {dim} is out of range for stacking {first.ndim}-d "
                         f"tensors (expected [{-first.ndim - 1}, {first.ndim}])")
    dim %= first.ndim + 1
    for t in tensors[1:]:
        if t.shape != first.shape:
            raise ValueError(f"stack: every tensor must have one shape, got {tuple(first.shape)} "
                             f"and {tuple(t.shape)}")
        if t.dtype != first.dtype:   # as cat: no silent promotion inside a graph
            raise TypeError(f"stack: tensors must share one dtype, got {first.dtype} and {t.dtype}")
    return cat([t.unsqueeze(dim) for t in tensors], dim)   # a new axis of size 1 each, joined


def _same_device(op, a, b):
    """``a`` and ``b`` as Tensors, refused (ValueError) on two devices."""
    a, b = as_tensor(a), as_tensor(b, like=a if isinstance(a, Tensor) else None)
    if a.device != b.device:
        raise ValueError(f"{op}: the tensors are on {a.device} and {b.device}; move one with .to()")
    return a, b


def equal(a, b) -> bool:
    """True when ``a`` and ``b`` have the same shape and the same values (PyTorch's
    ``torch.equal``): an int and a float tensor of equal values are equal; NaN equals nothing.

    >>> import numpy as np
    >>> equal(Tensor(np.array([1, 2])), Tensor(np.array([1.0, 2.0]))), equal(Tensor(np.ones(2)), Tensor(np.ones((1, 2))))
    (True, False)
    """
    a, b = _same_device("equal", a, b)
    return a.shape == b.shape and bool(get_array_module(a.data).all(a.data == b.data))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when ``|a - b| <= atol + rtol * |b|`` at every position (shapes broadcast), as
    PyTorch's ``torch.allclose``; one dtype, as there (NumPy's would compare across dtypes).

    >>> import numpy as np
    >>> allclose(Tensor(np.array([1.0, 2.0])), Tensor(np.array([1.0, 2.0 + 1e-6])))
    True
    """
    a, b = _same_device("allclose", a, b)
    if a.dtype != b.dtype:
        raise TypeError(f"allclose: the tensors' dtypes differ, {a.dtype} and {b.dtype}; cast one (.to)")
    xp = get_array_module(a.data)
    return bool(xp.allclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


# --------------------------------------------------------------------- segmentation's tensor ops
# flip, roll, masked_fill, cumsum, prod, sign, round / floor / ceil, logsumexp, argmin and argmax
# as PyTorch's functions (and the Tensor's methods, which call them): test-time augmentation
# flips a prediction back, a mask fills the void pixels, logsumexp is a stable log of a sum.
def _axes_of(op, dims, ndim):
    """``dims`` (an int, a tuple or list of ints) as a tuple of axes in ``range(ndim)``, each
    once; a 0-d tensor takes dims 0 and -1 (PyTorch's rule) and gives ``()``."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    axes = tuple(_dim_index(op, d, max(ndim, 1)) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dimension {dims} names an axis twice; expected each once")
    return axes if ndim else ()


class Flip(Function):
    """``a`` reversed along ``axes`` (a copy, as PyTorch's); the gradient is ``gy`` reversed
    along the same axes (a flip is its own inverse, and its own transpose)."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, a):
        return (get_array_module(a).flip(a, axis=self.axes) if self.axes else a).copy()

    def backward(self, gy):
        return get_array_module(gy).flip(gy, axis=self.axes) if self.axes else gy


def flip(input, dims):
    """``input`` reversed along each axis in ``dims``, in the graph (PyTorch's ``torch.flip``):
    test-time augmentation flips an image horizontally (``dims=-1``), runs the net and flips
    the prediction back. A copy; any dtype; a 0-d tensor takes dims 0 and -1 (and is itself).

    Shape: the input's. ``dims``: an int (a convenience: PyTorch's function wants a tuple, its
    method takes ints) or a tuple or list of ints, each once.

    >>> import numpy as np
    >>> flip(Tensor(np.array([[1, 2, 3], [4, 5, 6]])), dims=(-1,)).numpy()
    array([[3, 2, 1],
           [6, 5, 4]])
    """
    input = as_tensor(input)
    return Flip(_axes_of("flip", dims, input.ndim))(input)


class Roll(Function):
    """``a`` shifted cyclically by ``shifts[i]`` along ``axes[i]`` (``axes`` None: the values in
    order, the shape kept); the gradient is ``gy`` rolled back by ``-shifts``."""

    def __init__(self, shifts, axes):
        self.shifts, self.axes = shifts, axes

    def _roll(self, a, sign):
        xp = get_array_module(a)
        shifts = tuple(sign * s for s in self.shifts)
        if self.axes is None:   # the flat order rolled, as PyTorch's dims=None
            return xp.roll(a.reshape(-1), shifts[0]).reshape(a.shape)
        return xp.roll(a, shifts, axis=self.axes)

    def forward(self, a):
        return self._roll(a, 1)

    def backward(self, gy):
        return self._roll(gy, -1)


def _ints(op, name, values):
    """An int or a tuple or list of them as a tuple of ints (bools and floats refused)."""
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{op}: {name} must be ints, got {type(v).__name__} {v!r}")
    return tuple(int(v) for v in values)


def roll(input, shifts, dims=None):
    """``input`` shifted cyclically along ``dims``, in the graph (PyTorch's ``torch.roll``): what
    leaves one end comes back at the other. ``dims`` None rolls the values in their flat order
    (one shift). A repeated dim rolls twice. Any dtype.

    Shape: the input's. ``shifts`` and ``dims``: ints, or tuples of one length.

    >>> import numpy as np
    >>> x = Tensor(np.array([[1, 2, 3], [4, 5, 6]]))
    >>> roll(x, 1, dims=1).numpy(), roll(x, 1).numpy()
    (array([[3, 1, 2],
           [6, 4, 5]]), array([[6, 1, 2],
           [3, 4, 5]]))
    """
    input = as_tensor(input)
    shifts = _ints("roll", "shifts", shifts)
    if not shifts:
        raise ValueError("roll: shifts is empty; expected at least one shift")
    if dims is None or (isinstance(dims, (tuple, list)) and not dims):   # () as None, as PyTorch's
        if len(shifts) != 1:
            raise ValueError(f"roll: {len(shifts)} shifts {shifts} without dims; expected one "
                             "shift (the flat order), or dims of the same length")
        return Roll(shifts, None)(input)
    dims = _ints("roll", "dims", dims)
    if len(dims) != len(shifts):
        raise ValueError(f"roll: {len(shifts)} shifts {shifts} and {len(dims)} dims {dims}; "
                         "expected one shift per dim")
    if input.ndim == 0:
        raise IndexError(f"roll: a 0-d tensor has no dimension {dims[0]} to roll along")
    return Roll(shifts, tuple(_dim_index("roll", d, input.ndim) for d in dims))(input)


class MaskedFill(Function):
    """``value`` where ``mask`` holds, ``a`` elsewhere (``a`` and ``mask`` broadcast; ``value``
    0-d, in ``a``'s dtype). The gradient: ``gy`` to ``a`` where the mask is False (summed back
    over a broadcast), and the sum of ``gy`` where it is True to ``value``."""

    def forward(self, a, mask, value):
        self.mask, self.a_shape, self.value_dtype = mask, a.shape, value.dtype
        return get_array_module(a).where(mask, value.astype(a.dtype), a)

    def backward(self, gy):
        xp, mask = get_array_module(gy), self.mask
        ga = sum_to(xp.where(mask, 0, gy).astype(gy.dtype, copy=False), self.a_shape)
        gv = xp.where(mask, gy, 0).sum().astype(self.value_dtype)
        return ga, None, gv


def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` wherever ``mask`` is True, in the graph (PyTorch's
    out-of-place ``masked_fill``): the void pixels of a label map, the scores of a class that
    must not win (``-inf``).

    Shapes: ``mask`` (bool) broadcasts with ``input``; the result has their broadcast shape.
    ``value``: a number, or a 0-d Tensor (its gradient is the sum of the output's gradient
    where the mask holds; moved to ``input``'s device). It takes ``input``'s dtype: 2.7 fills
    an integer tensor with 2, as PyTorch's; a value that does not fit is refused.

    >>> import numpy as np
    >>> x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    >>> y = masked_fill(x, np.array([True, False]), -1.0)   # column 0, in every row
    >>> y.sum().backward()
    >>> y.numpy(), x.grad
    (array([[-1.,  2.],
           [-1.,  4.]]), array([[0., 1.],
           [0., 1.]]))
    """
    input = as_tensor(input)
    mask = as_tensor(mask)
    if mask.dtype != np.bool_:   # NumPy would read any number as a truth value
        raise TypeError(f"masked_fill: mask must be bool (a comparison such as labels == 255), "
                        f"got {mask.dtype}")
    try:
        np.broadcast_shapes(input.shape, mask.shape)
    except ValueError:
        raise ValueError(f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast with "
                         f"the input's {tuple(input.shape)}") from None
    if isinstance(value, Tensor) or hasattr(value, "shape") and hasattr(value, "dtype"):
        value = as_tensor(value)
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                             f"{tuple(value.shape)}")
        if value.device != input.device:   # a host scalar beside a GPU tensor, as PyTorch takes it
            value = value.to(input.device)
        if input.dtype.kind in "iu":
            _check_fits("masked_fill", value.item(), input.dtype)
    else:
        if not isinstance(value, (bool, int, float, np.bool_, np.number)):
            raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got "
                            f"{type(value).__name__} {value!r}")
        _check_fits("masked_fill", value, input.dtype)
        value = Tensor(get_array_module(input.data).asarray(value, dtype=input.dtype))
    return MaskedFill()(input, mask, value)


def _check_fits(op, value, dtype):
    """Refuse a number an integer ``dtype`` cannot hold (inf, NaN, out of range), as PyTorch does
    (NumPy would wrap it or leave an arbitrary integer)."""
    if np.dtype(dtype).kind not in "iu" or isinstance(value, (bool, np.bool_)):
        return
    info = np.iinfo(dtype)
    if not (math.isfinite(value) and info.min <= math.trunc(value) <= info.max):
        raise ValueError(f"{op}: value {value!r} does not fit {np.dtype(dtype)} (expected a "
                         f"finite number in [{info.min}, {info.max}])")


def _accumulating(t, dtype):
    """``t`` cast to ``dtype`` when given, else integers and bools to int64, as PyTorch sums
    and multiplies them (NumPy would give uint64 for uint8)."""
    if dtype is not None:
        return t.astype(dtype) if np.dtype(dtype) != t.dtype else t
    return t.astype(np.int64) if t.dtype.kind in "biu" and t.dtype != np.int64 else t


def _in_own_dtype(op, a, **kwargs):
    """``op`` (NumPy's cumsum or prod) with the result in ``a``'s dtype: NumPy's widens int8 to
    int32 to int64, where PyTorch's ``dtype=`` keeps the one asked for (int8's 720 wraps to
    -48); bools go through int64, then back to bool (nonzero: a running "any", or "all")."""
    if a.dtype == np.bool_:
        return op(a, dtype=np.int64, **kwargs) != 0
    return op(a, dtype=a.dtype, **kwargs)


class Cumsum(Function):
    """The running sum along ``axis`` (None: a 0-d tensor, itself). Backward: each value
    counts in every running sum from its place on, so its gradient is the sum of ``gy`` from
    there to the end, a running sum of ``gy`` taken backwards."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        if self.axis is None:
            return a.copy()
        with np.errstate(**_QUIET):   # inf + -inf, an overflow: NaN, inf, as PyTorch's
            return _in_own_dtype(get_array_module(a).cumsum, a, axis=self.axis)

    def backward(self, gy):
        if self.axis is None:
            return gy
        xp, k = get_array_module(gy), self.axis
        with np.errstate(**_QUIET):
            return xp.flip(xp.cumsum(xp.flip(gy, axis=k), axis=k), axis=k)


def cumsum(input, dim, *, dtype=None):
    """The running sum along ``dim``, in the graph (PyTorch's ``torch.cumsum``):
    ``y[..., i, ...] = x[..., 0, ...] + ... + x[..., i, ...]``. Integers and bools sum in int64,
    as PyTorch's; ``dtype`` casts the input first.

    Shape: the input's.

    >>> import numpy as np
    >>> cumsum(Tensor(np.array([[1, 2, 3], [4, 5, 6]])), dim=1).numpy()
    array([[ 1,  3,  6],
           [ 4,  9, 15]])
    """
    input = as_tensor(input)
    axis = _dim_index("cumsum", dim, max(input.ndim, 1))
    return Cumsum(axis if input.ndim else None)(_accumulating(input, dtype))


class Prod(Function):
    """The product over ``axis`` (None: every value). Backward: each value's gradient is the
    product of the others, made without dividing (``y / x`` fails at zeros) from two running
    products, one from each end, that leave the value itself out: with one zero, only the
    zero gets a gradient (the product of the rest); with two, none does, as PyTorch's."""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.a = a
        with np.errstate(**_QUIET):   # inf * 0, an overflow: NaN, inf, as PyTorch's
            y = _in_own_dtype(get_array_module(a).prod, a, axis=self.axis, keepdims=True)
        self.kept_shape = y.shape
        return y if self.keepdims else y.reshape(_reduced_shape(a.shape, self.axis))

    def backward(self, gy):
        xp, a = get_array_module(gy), self.a
        if a.size == 0:
            return xp.zeros_like(a)
        # the axis last (every value in one row when all are multiplied)
        b = a.reshape(1, -1) if self.axis is None else xp.moveaxis(a, self.axis, -1)
        ones = xp.ones(b.shape[:-1] + (1,), a.dtype)
        with np.errstate(**_QUIET):   # inf * 0 and overflows among the others: NaN, inf
            before = xp.concatenate([ones, xp.cumprod(b, axis=-1)[..., :-1]], axis=-1)
            after = xp.concatenate([xp.cumprod(b[..., ::-1], axis=-1)[..., -2::-1], ones], axis=-1)
            others = before * after
            others = others.reshape(a.shape) if self.axis is None else xp.moveaxis(others, -1, self.axis)
            return gy.reshape(self.kept_shape) * others


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """The product of the values (along ``dim``, one int), in the graph (PyTorch's
    ``torch.prod``); the gradient is right at zeros too (see :class:`Prod`). Integers and bools
    multiply in int64, as PyTorch's; ``dtype`` casts the input first. An empty product is 1.

    Shapes: ``dim`` None gives one value (with ``keepdim``, every axis kept as 1, as NumPy's:
    PyTorch takes no keepdim without a dim); else the input's without ``dim`` (kept as 1 with
    ``keepdim``).

    >>> import numpy as np
    >>> x = Tensor(np.array([2.0, 0.0, 3.0]), requires_grad=True)
    >>> y = prod(x)
    >>> y.backward()
    >>> y.item(), x.grad                # only the zero moves the product
    (0.0, array([0., 6., 0.]))
    """
    input = as_tensor(input)
    if dim is not None and (isinstance(dim, (tuple, list)) or not isinstance(dim, (int, np.integer))):
        raise TypeError(f"prod: dim must be one int or None, got {dim!r} (a product over several "
                        "axes: prod one after another)")
    axis = _reduce_axes("prod", dim, input.ndim)
    if input.ndim == 0:   # one value, whatever the dim: itself
        keepdim = False
    return Prod(axis, bool(keepdim))(_accumulating(input, dtype))


class Rounding(Function):
    """``sign``, ``floor``, ``ceil`` or ``round`` (half to even, as NumPy's and PyTorch's), with
    ``decimals`` as PyTorch's (``rint(x * 10^d) / 10^d``; for ``d < 0``,
    ``rint(x / 10^-d) * 10^-d``). The output is flat almost everywhere, so the gradient is 0,
    as PyTorch's (it still flows as zeros, so a graph through it stays whole)."""

    def __init__(self, kind, decimals=0):
        self.kind, self.decimals = kind, decimals

    def forward(self, a):
        xp, d = get_array_module(a), self.decimals
        if self.kind == "sign":   # (a > 0) - (a < 0): 0 at NaN and at -0.0, as PyTorch's
            return a.copy() if a.dtype == np.bool_ else (a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)
        if a.dtype.kind in "iu":   # already whole: a copy, in its own dtype (NumPy's floor gives floats)
            return a.copy()
        if self.kind != "round" or d == 0:
            return getattr(xp, {"floor": "floor", "ceil": "ceil", "round": "rint"}[self.kind])(a)
        # in a's dtype, as PyTorch computes it; float16 in float32, as PyTorch's (its 65504
        # would overflow at x * 10^d: 1234.5 to 2 places gave inf)
        b = a.astype(np.float32) if a.dtype == np.float16 else a
        # x * 10^d past the dtype's range is inf there too; a 10^d past it is inf, and every
        # value NaN (inf / inf, 0 * inf), as PyTorch's: float32 to 39 places, float64 to 309
        with np.errstate(over="ignore", invalid="ignore"):
            scale = b.dtype.type(10.0 ** abs(d) if abs(d) <= 308 else np.inf)
            y = xp.rint(b * scale) / scale if d > 0 else xp.rint(b / scale) * scale
        return y.astype(a.dtype, copy=False)

    def backward(self, gy):
        return get_array_module(gy).zeros_like(gy)


def _rounding(kind, input, decimals=0):
    input = as_tensor(input)
    if kind != "sign" and input.dtype == np.bool_:
        raise TypeError(f"{kind}: a bool tensor has nothing to round; expected numbers (as "
                        "PyTorch, which refuses it too)")
    decimals = operator.index(decimals)
    if decimals and input.dtype.kind != "f":
        raise TypeError(f"round: decimals={decimals} needs a floating-point tensor, got "
                        f"{input.dtype} (as PyTorch's)")
    return Rounding(kind, decimals)(input)


def sign(input):
    """-1, 0 or 1 by the sign of each value, in the input's dtype (bool stays bool), in the
    graph with a zero gradient (PyTorch's ``torch.sign``). NaN gives 0, as PyTorch's (NumPy's
    sign gives NaN).

    >>> import numpy as np
    >>> sign(Tensor(np.array([-2.5, 0.0, 3.0, np.nan]))).numpy()
    array([-1.,  0.,  1.,  0.])
    """
    return _rounding("sign", input)


def floor(input):
    """The largest whole number <= each value (PyTorch's ``torch.floor``), zero gradient;
    integers come back as they are (a copy), bools are refused.

    >>> import numpy as np
    >>> floor(Tensor(np.array([-1.5, 0.5, 2.0]))).numpy()
    array([-2.,  0.,  2.])
    """
    return _rounding("floor", input)


def ceil(input):
    """The smallest whole number >= each value (PyTorch's ``torch.ceil``), zero gradient.

    >>> import numpy as np
    >>> ceil(Tensor(np.array([-1.5, 0.5, 2.0]))).numpy()
    array([-1.,  1.,  2.])
    """
    return _rounding("ceil", input)


def round(input, *, decimals=0):   # PyTorch's name; this module's code never calls the builtin
    """Each value rounded to ``decimals`` places, halves to even (PyTorch's ``torch.round``),
    zero gradient. ``decimals`` < 0 rounds to tens, hundreds, ...; integers need decimals 0.

    >>> import numpy as np
    >>> round(Tensor(np.array([0.5, 1.5, 2.5, -0.5]))).numpy()
    array([ 0.,  2.,  2., -0.])
    >>> round(Tensor(np.array([1234.5, 0.125])), decimals=-2).numpy()
    array([1200.,    0.])
    """
    return _rounding("round", input, decimals)


class LogSumExp(Function):
    """``log(sum(exp(a)))`` over ``axis``, as ``m + log(sum(exp(a - m)))`` with ``m`` the
    largest value (set to 0 where it is infinite, so that all ``-inf`` gives ``-inf`` and a
    ``+inf`` gives ``inf``, not NaN): nothing overflows. The gradient is the softmax,
    ``gy * exp(a - y)``."""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        xp = get_array_module(a)
        kept = (1,) * a.ndim if self.axis is None else tuple(
            1 if k in np.atleast_1d(self.axis) else n for k, n in enumerate(a.shape))
        # an empty sum has no largest value: 0 there, and the log of 0 is -inf, as PyTorch's
        m = a.max(axis=self.axis, keepdims=True) if a.size else xp.zeros(kept, a.dtype)
        m = xp.where(xp.isfinite(m), m, 0).astype(a.dtype, copy=False)
        # log(0): every value -inf, or none; a - m past the range (-1e308 - 1e308): -inf, exp 0
        with np.errstate(divide="ignore", over="ignore"):
            y = xp.log(xp.exp(a - m).sum(axis=self.axis, keepdims=True)) + m
        self.a, self.y = a, y
        return y if self.keepdims else y.reshape(_reduced_shape(a.shape, self.axis))

    def backward(self, gy):
        xp = get_array_module(gy)
        with np.errstate(invalid="ignore"):   # inf - inf: NaN, as PyTorch's gradient there
            return gy.reshape(self.y.shape) * xp.exp(self.a - self.y)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(x)))`` along ``dim`` (an int, a tuple or list), in the graph, without
    overflow (PyTorch's ``torch.logsumexp``): ``logsumexp([1000, 1000]) = 1000 + log 2``.
    Integers and bools give float32, as PyTorch's. The gradient is the softmax along ``dim``.

    Shape: the input's without ``dim`` (kept as 1 with ``keepdim``).

    >>> import numpy as np
    >>> logsumexp(Tensor(np.array([[1000.0, 1000.0], [0.0, -np.inf]])), dim=1).numpy()
    array([1000.69314718,    0.        ])
    """
    input = as_tensor(input)
    if isinstance(dim, (tuple, list)) and not dim:
        raise ValueError("logsumexp: dim is empty; expected at least one dimension (PyTorch "
                         "refuses it too)")
    axis = _reduce_axes("logsumexp", dim, input.ndim)
    return LogSumExp(axis, bool(keepdim) and input.ndim > 0)(_floating(input))


def _arg_extreme(op, input, dim, keepdim):
    """The index of the first largest (argmax) or smallest (argmin) value along ``dim`` (None:
    in the flat order), int64, outside the graph, as PyTorch's; NaN counts as the extreme."""
    input = as_tensor(input)
    xp = get_array_module(input.data)
    if input.dtype == np.bool_:
        raise TypeError(f"{op}: expected numbers, got a bool tensor (as PyTorch, which refuses "
                        "it too); cast it first (.int())")
    if dim is None:
        if input.size == 0:
            raise IndexError(f"{op}: an empty tensor of shape {tuple(input.shape)} has no "
                             "extreme; give a dim whose size is not 0")
        axis = None
    else:
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{op}: dim must be one int or None, got {dim!r}")
        axis = _dim_index(op, dim, max(input.ndim, 1))
        if input.ndim == 0:   # one value: index 0, and no axis to keep
            return Tensor(xp.zeros((), xp.int64))
        if input.shape[axis] == 0:
            raise IndexError(f"{op}: dimension {dim} has size 0; expected a non-empty one")
    found = getattr(xp, op)(input.data, axis=axis, keepdims=bool(keepdim))
    return Tensor(xp.asarray(found).astype(xp.int64, copy=False))


def argmax(input, dim=None, keepdim=False):
    """The index of the largest value along ``dim`` (None: in the flat order), int64, outside
    the graph (PyTorch's ``torch.argmax``): a segmentation's prediction is
    ``argmax(scores, dim=1)``. Ties give the first; NaN counts as the largest.

    >>> import numpy as np
    >>> argmax(Tensor(np.array([[0.1, 0.7, 0.2]])), dim=1).numpy()
    array([1])
    """
    return _arg_extreme("argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """The index of the smallest value along ``dim`` (None: in the flat order), int64, outside
    the graph (PyTorch's ``torch.argmin``). Ties give the first; NaN counts as the smallest.

    >>> import numpy as np
    >>> argmin(Tensor(np.array([[3, 1, 1], [0, 5, 2]])), dim=1, keepdim=True).numpy()
    array([[1],
           [0]])
    """
    return _arg_extreme("argmin", input, dim, keepdim)


# --------------------------------------------------------------------- einsum, cumprod
# The letters einsum takes, in ASCII order: the implicit output's order, as PyTorch's and NumPy's.
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _einsum_terms(term, where):
    """One side's subscripts as a list of letters, ``"..."`` as one item ``...``; else the
    error PyTorch gives, naming the character."""
    if term.count("...") > 1:
        raise ValueError(f"einsum: {where} has more than one ellipsis ('...') in {term!r}")
    parts = []
    for piece in term.split("..."):
        for c in piece:
            if c == ".":
                raise ValueError(f"einsum: found '.' in {where} ({term!r}) that is not part of an "
                                 "ellipsis ('...')")
            if c not in _LETTERS:
                raise ValueError(f"einsum: invalid subscript {c!r} in {where} ({term!r}); "
                                 "subscripts must be letters a-z, A-Z")
            parts.append(c)
        parts.append("...")
    return parts[:-1]   # the last "..." stood for no ellipsis


def _einsum_parse(equation, shapes):
    """PyTorch's einsum equation with each ``...`` written out, read against the operands'
    shapes: (one string of letters per operand, the output's letters, each letter's size).

    An operand's ``...`` becomes the last of ``E`` letters the equation does not use (``E``
    the most axes any ``...`` stands for), so that the ellipses line up from the right, as
    broadcasting aligns shapes. Without ``->`` the output is the ellipsis's letters, then the
    letters seen exactly once, in ASCII order (uppercase first). A letter's size is the one
    its operands agree on, a size of 1 broadcasting to the others (PyTorch's rule, ellipsis
    or not).

    >>> _einsum_parse("...ij,jk", [(5, 2, 3), (3, 4)])
    (['Aij', 'jk'], 'Aik', {'A': 5, 'i': 2, 'j': 3, 'k': 4})
    """
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ValueError(f"einsum: {equation!r} has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} names {len(terms)} operand"
                         f"{'s' if len(terms) != 1 else ''}, {len(shapes)} were given")
    terms = [_einsum_terms(t, f"operand {k}") for k, t in enumerate(terms)]
    out_terms = _einsum_terms(rhs, "the output") if arrow else None
    # the axes each operand's ellipsis stands for, checked against its shape
    spans = []
    for k, (t, shape) in enumerate(zip(terms, shapes)):
        named = len(t) - t.count("...")
        if "..." not in t and named != len(shape):
            raise ValueError(f"einsum: operand {k} has {len(shape)} dimensions and {named} "
                             f"subscripts in the equation, and no ellipsis ('...') for the rest")
        if named > len(shape):
            raise ValueError(f"einsum: operand {k} has {len(shape)} dimensions, fewer than its "
                             f"{named} subscripts")
        spans.append(len(shape) - named)
    E = max(spans, default=0)
    used = set(eq)
    spare = [c for c in _LETTERS if c not in used][:E]
    if len(spare) < E:
        raise ValueError(f"einsum: {equation!r} leaves {len(spare)} unused letters for the "
                         f"{E} axes of its ellipsis (52 letters in all)")
    subs = ["".join("".join(spare[E - e:]) if c == "..." else c for c in t) for t, e in zip(terms, spans)]
    sizes = {}
    for k, (s, shape) in enumerate(zip(subs, shapes)):
        own = {}
        for c, n in zip(s, shape):
            if own.setdefault(c, n) != n:   # a diagonal needs a square
                raise ValueError(f"einsum: subscript {c} is repeated for operand {k} but the "
                                 f"sizes don't match, {own[c]} != {n}")
        for c, n in own.items():
            seen = sizes.setdefault(c, n)
            if seen != n and 1 not in (seen, n):
                raise ValueError(f"einsum: subscript {c} has size {n} for operand {k}, which does "
                                 f"not broadcast with the size {seen} before it")
            sizes[c] = max(seen, n) if 0 not in (seen, n) else 0
    if out_terms is None:
        letters = "".join(c for t in terms for c in t if c != "...")
        out = "".join(spare) + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    else:
        out = "".join("".join(spare) if c == "..." else c for c in out_terms)
        for c in out_terms:
            if c != "..." and c not in sizes:
                raise ValueError(f"einsum: output subscript {c} does not appear in the equation "
                                 "for any input operand")
            if c != "..." and out_terms.count(c) > 1:
                raise ValueError(f"einsum: output subscript {c} appears more than once in the output")
    return subs, out, sizes


def _place_on_diagonal(g, s, shape):
    """Zeros of ``shape`` (whose axes ``s`` names, a letter repeated for a diagonal) with ``g``
    (one axis per distinct letter of ``s``, in the order first seen) on the diagonal: each
    value of ``g`` at the flat position where the repeated axes share its index. Distinct
    positions, so one assignment writes them all."""
    xp = get_array_module(g)
    letters = list(dict.fromkeys(s))
    strides = [math.prod(shape[d + 1:]) for d in range(len(shape))]
    flat = xp.zeros((1,) * len(letters), np.int64)
    for p, c in enumerate(letters):   # a letter's step: the sum of its axes' strides
        step = sum(st for st, l in zip(strides, s) if l == c)
        flat = flat + xp.arange(g.shape[p]).reshape([-1 if q == p else 1 for q in range(len(letters))]) * step
    out = xp.zeros(math.prod(shape), g.dtype)
    out[flat.reshape(-1)] = g.reshape(-1)
    return out.reshape(shape)


class Einsum(Function):
    """The sum over the letters not in the output of the product of the operands, each read at
    its letters (:func:`einsum`), on equations with every ``...`` written out in letters.

    Backward: the output is linear in each operand, so operand k's gradient is an einsum too:
    of ``gy`` (at the output's letters) with the other operands, onto k's letters. Three of
    k's letters cannot be there: one on no other term (its values only summed: the gradient
    is the same all along it), one where k has size 1 and the rest more (broadcast: summed
    over it) and a repeated one (a diagonal: the gradient lies on it, zeros elsewhere). So the
    einsum gives the letters seen elsewhere at full size, once each, and the gradient is
    broadcast along the rest and put on the diagonal after.
    """

    def __init__(self, subs, out, sizes):
        self.subs, self.out, self.sizes = subs, out, sizes

    def _full(self, a, s):   # broadcast a's size-1 axes to the letters' sizes (a view)
        return get_array_module(a).broadcast_to(a, tuple(self.sizes[c] for c in s))

    def forward(self, *arrays):
        xp = get_array_module(arrays[0])
        self.arrays = [self._full(a, s) for a, s in zip(arrays, self.subs)]
        self.shapes = [a.shape for a in arrays]
        # optimize: pairwise contractions in a good order, through BLAS where they fit
        y = xp.einsum(",".join(self.subs) + "->" + self.out, *self.arrays, optimize=len(arrays) > 1)
        # with one operand einsum may give a view of it ("ij->ji", "ii->i"): a copy, as every op here
        return xp.array(y) if len(arrays) == 1 else xp.asarray(y)

    def backward(self, gy):
        xp = get_array_module(gy)
        grads = []
        for k, (s, shape) in enumerate(zip(self.subs, self.shapes)):
            if not getattr(self.inputs[k], "requires_grad", True):
                grads.append(None)
                continue
            others = [(t, a) for j, (t, a) in enumerate(zip(self.subs, self.arrays)) if j != k]
            elsewhere = set(self.out).union(*[t for t, _ in others])
            own = dict(zip(s, shape))
            letters = list(dict.fromkeys(s))
            kept = "".join(c for c in letters if c in elsewhere and own[c] == self.sizes[c])
            eq = ",".join([self.out] + [t for t, _ in others]) + "->" + kept
            g = xp.einsum(eq, gy, *[a for _, a in others], optimize=len(others) > 0)
            g = g.reshape([own[c] if c in kept else 1 for c in letters])
            g = xp.broadcast_to(g, [own[c] for c in letters])
            if len(letters) < len(s):
                g = _place_on_diagonal(g, s, shape)
            # ascontiguousarray: a broadcast view made whole (and 0-d made 1-d: reshaped back)
            grads.append(xp.ascontiguousarray(g).reshape(shape).astype(gy.dtype, copy=False))
        return tuple(grads)


def einsum(equation, *operands):
    """Einstein summation, PyTorch's ``torch.einsum``: each output value is the sum, over the
    letters not in the output, of the product of the operands read at their letters.
    ``einsum("ij,jk->ik", a, b)`` is ``a @ b``; ``"ii->i"`` a diagonal, ``"ii"`` a trace,
    ``"bchw,oc->bohw"`` a 1x1 convolution.

    Args:
        equation: one comma-separated term of letters (a-z, A-Z) per operand, then optionally
            ``->`` and the output's letters (without it: the letters seen once, in ASCII
            order). A letter repeated in one term reads its diagonal. ``...`` stands for the
            axes not named, aligned from the right and broadcast across the operands, as
            PyTorch's; a size of 1 broadcasts for a named letter too. Spaces are ignored.
        operands: Tensors (or arrays), one per term, as arguments or in one list; one dtype,
            one device. bool is refused, as PyTorch's.

    Shape: one axis per output letter, of that letter's size. In the graph: each operand's
    gradient is an einsum of the upstream one with the others (:class:`Einsum`).

    >>> import numpy as np
    >>> a, b = Tensor(np.arange(6.0).reshape(2, 3)), Tensor(np.ones((3, 2)))
    >>> einsum("ij,jk->ik", a, b).numpy()
    array([[ 3.,  3.],
           [12., 12.]])
    >>> einsum("ii", Tensor(np.eye(3) * 2)).item()       # a trace
    6.0
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a str, got {type(equation).__name__} (PyTorch's "
                        "other form, einsum(a, [0, 1], b, [1, 2]), is not taken)")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])   # einsum(eq, [a, b]), as PyTorch takes them too
    if not operands:
        raise ValueError("einsum: no operands given; expected at least one Tensor")
    operands = [as_tensor(x) for x in operands]
    for k, x in enumerate(operands):
        if x.device != operands[0].device:
            raise ValueError(f"einsum: operand {k} is on {x.device}, operand 0 on "
                             f"{operands[0].device}; move one with .to()")
        if x.dtype != operands[0].dtype:   # as PyTorch: no promotion inside the products
            raise TypeError(f"einsum: operand {k} has dtype {x.dtype}, operand 0 {operands[0].dtype}; "
                            "expected one dtype (cast with .to(dtype))")
    subs, out, sizes = _einsum_parse(equation, [x.shape for x in operands])
    dtype = operands[0].dtype
    if len(operands) == 1 and dtype.kind in "biu" and dtype != np.int64 and set(subs[0]) - set(out):
        # one operand summed over an index: a sum, in int64 as PyTorch's (uint8 would wrap)
        operands = [operands[0].astype(np.int64)]
    elif dtype == np.bool_ and len(operands) > 1:
        raise TypeError("einsum: bool operands are refused with several operands (PyTorch's "
                        "refuses their products); cast them to a number type")
    return Einsum(subs, out, sizes)(*operands)


class Cumprod(Function):
    """The running product along ``axis`` (None: a 0-d tensor, itself).

    Backward, PyTorch's way, right at zeros: ``y[i]`` is the product of ``x[:i+1]``, so
    ``dL/dx[k] = sum over i >= k of gy[i] * y[i] / x[k]``, a backward running sum divided by
    ``x[k]``, and that holds before a line's first zero. After it every term holds that zero:
    0. At it the division fails, and the sum is taken on the products with that one zero read
    as 1 instead: ``sum over i >= z of gy[i] * prod(x[:i+1] with x[z] = 1)``, up to the
    line's next zero (beyond it each product is 0; PyTorch's is NaN there where the values
    between the two zeros multiply to inf or NaN, and so is this).
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        if self.axis is None:
            return a.copy()
        self.a = a
        with np.errstate(**_QUIET):   # inf * 0, an overflow: NaN, inf, as PyTorch's
            self.y = _in_own_dtype(get_array_module(a).cumprod, a, axis=self.axis)
        return self.y

    def backward(self, gy):
        if self.axis is None:
            return gy
        xp, k = get_array_module(gy), self.axis
        # the axis last: each line a row
        x, y, g = (xp.moveaxis(v, k, -1) for v in (self.a, self.y, gy))
        zeros_so_far = xp.cumsum(x == 0, axis=-1)
        any_zero = bool((zeros_so_far[..., -1:] > 0).any())
        with np.errstate(**_QUIET):   # x = 0: replaced below; inf * 0, overflows: NaN, inf
            gy_y = g * y
            if any_zero:   # the terms before a line's first zero only: past it y is 0, and an
                # inf g would make its term NaN where it is 0 (PyTorch's masks them out too)
                gy_y = xp.where(zeros_so_far == 0, gy_y, 0)
            gx = xp.flip(xp.cumsum(xp.flip(gy_y, -1), axis=-1), -1) / x
            gx = xp.where(zeros_so_far == 0, gx, 0)
            if any_zero:
                first = (x == 0) & (zeros_so_far == 1)   # each line's first zero
                w = xp.cumprod(xp.where(first, 1, x).astype(x.dtype, copy=False), axis=-1)
                # up to the line's next zero: past it each term holds that zero, 0 (an inf g
                # times it would be NaN). PyTorch's takes them as 0 times the product of the
                # values between the two zeros: NaN where that is inf or NaN, so here too
                at = xp.where(zeros_so_far == 1, g * w, 0).sum(axis=-1, keepdims=True)
                between = xp.where((zeros_so_far == 1) & ~first, x, 1).prod(axis=-1, keepdims=True)
                second = zeros_so_far[..., -1:] > 1
                at = xp.where(second & ~xp.isfinite(between), xp.nan, at)
                gx = xp.where(first, at, gx)
        return xp.ascontiguousarray(xp.moveaxis(gx, -1, k)).astype(gy.dtype, copy=False)


def cumprod(input, dim, *, dtype=None):
    """The running product along ``dim``, in the graph (PyTorch's ``torch.cumprod``):
    ``y[..., i, ...] = x[..., 0, ...] * ... * x[..., i, ...]``. Integers and bools multiply in
    int64, as PyTorch's; ``dtype`` casts the input first. The gradient is right at zeros too,
    without dividing by them (:class:`Cumprod`).

    Shape: the input's.

    >>> import numpy as np
    >>> x = Tensor(np.array([2.0, 0.0, 3.0]), requires_grad=True)
    >>> y = cumprod(x, dim=0)
    >>> y.sum().backward()
    >>> y.numpy(), x.grad          # d(2 + 0 + 0)/dx, and through the zero: 2 + 2 * 3
    (array([2., 0., 0.]), array([1., 8., 0.]))
    """
    input = as_tensor(input)
    axis = _dim_index("cumprod", dim, max(input.ndim, 1))
    return Cumprod(axis if input.ndim else None)(_accumulating(input, dtype))
