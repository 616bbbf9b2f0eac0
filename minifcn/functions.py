"""PyTorch's top-level function forms of the Tensor's methods: ``minifcn.exp(x)`` is
``x.exp()``, ``minifcn.sum(x, dim=1)`` is ``x.sum(dim=1)``, ..., each with ``torch``'s
signature (``dim=``, ``keepdim=``, the first argument named ``input``); and the few that have
no method: ``unbind``, ``tensor_split``, ``hstack``, ``vstack``, ``concat`` / ``concatenate``
(:func:`~minifcn.ops.cat`), ``broadcast_to``, ``broadcast_tensors``, ``isclose``,
``is_tensor``, ``numel``, and :class:`enable_grad`, the counterpart of ``no_grad``.

All are in the graph where the method is: each is a thin call of it, so the method's tests
hold for both (tests/test_functions.py checks each against PyTorch).

>>> import minifcn
>>> x = minifcn.tensor([[1.0, 4.0], [9.0, 16.0]])
>>> minifcn.sqrt(x).tolist(), minifcn.sum(x, dim=1).tolist(), [t.tolist() for t in minifcn.unbind(x, 1)]
([[1.0, 2.0], [3.0, 4.0]], [5.0, 25.0], [[1.0, 9.0], [4.0, 16.0]])
"""
from __future__ import annotations

import operator

import numpy as np

from .autograd import Tensor, _GradMode
from .backend import get_array_module
from .ops import _dim_index, _same_device, _sizes, cat, maximum, minimum

__all__ = ["exp", "log", "sqrt", "abs", "clamp", "sigmoid", "tanh", "relu", "reshape", "flatten",
           "squeeze", "unsqueeze", "transpose", "permute", "split", "chunk", "unbind",
           "tensor_split", "max", "min", "amax", "amin", "mean", "sum", "std", "var", "norm",
           "concat", "concatenate", "hstack", "vstack", "broadcast_to", "broadcast_tensors",
           "isclose", "is_tensor", "numel", "enable_grad"]

def _input(op, x):
    """``x`` as a Tensor: a Tensor itself, a NumPy or CuPy array wrapped (no copy); anything
    else refused, as PyTorch refuses a list or a number where it wants a tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) or get_array_module(x) is not np:
        return Tensor(x)
    raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def _cast(op, x, dtype):
    """``x`` in ``dtype`` before a reduction (PyTorch's ``dtype=`` of ``sum``, ``mean``)."""
    x = _input(op, x)
    return x if dtype is None else x.to(dtype=dtype)


# The names below are PyTorch's, so this module's abs, max, min and sum hide Python's builtins:
# the code here calls none of those four.
# --------------------------------------------------------------------- elementwise
def exp(input) -> Tensor:
    """``e ** input``, in the graph (``Tensor.exp``)."""
    return _input("exp", input).exp()


def log(input) -> Tensor:
    """The natural logarithm, in the graph (``Tensor.log``)."""
    return _input("log", input).log()


def sqrt(input) -> Tensor:
    """The square root, in the graph (``Tensor.sqrt``; integers give float32)."""
    return _input("sqrt", input).sqrt()


def abs(input) -> Tensor:
    """``|input|``, in the graph (``Tensor.abs``)."""
    return _input("abs", input).abs()


def clamp(input, min=None, max=None) -> Tensor:
    """Values held within [min, max], in the graph (``Tensor.clamp``)."""
    return _input("clamp", input).clamp(min, max)


def sigmoid(input) -> Tensor:
    """``1 / (1 + exp(-input))``, in the graph (``Tensor.sigmoid``)."""
    return _input("sigmoid", input).sigmoid()


def tanh(input) -> Tensor:
    """The hyperbolic tangent, in the graph (``Tensor.tanh``)."""
    return _input("tanh", input).tanh()


def relu(input) -> Tensor:
    """``max(input, 0)``, in the graph (``Tensor.relu``, ``F.relu``)."""
    return _input("relu", input).relu()


# --------------------------------------------------------------------- shapes
def reshape(input, shape) -> Tensor:
    """``input`` in shape ``shape`` (a tuple; -1 once: the rest), in the graph."""
    return _input("reshape", input).reshape(shape)


def flatten(input, start_dim=0, end_dim=-1) -> Tensor:
    """Axes ``start_dim .. end_dim`` merged into one, in the graph."""
    return _input("flatten", input).flatten(start_dim, end_dim)


def squeeze(input, dim=None) -> Tensor:
    """Axes of size 1 removed: all, or those of ``dim`` (an int or a tuple), in the graph."""
    return _input("squeeze", input).squeeze(dim)


def unsqueeze(input, dim) -> Tensor:
    """A new axis of size 1 at ``dim``, in the graph."""
    return _input("unsqueeze", input).unsqueeze(dim)


def transpose(input, dim0, dim1) -> Tensor:
    """Axes ``dim0`` and ``dim1`` swapped, in the graph."""
    return _input("transpose", input).transpose(dim0, dim1)


def permute(input, dims) -> Tensor:
    """The axes reordered by ``dims`` (a tuple: axis ``i`` of the result is ``dims[i]``)."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"permute: dims must be a tuple of ints, got {dims!r}")
    return _input("permute", input).permute(*dims)


def split(tensor, split_size_or_sections, dim=0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last smaller), or of the sizes listed."""
    return _input("split", tensor).split(split_size_or_sections, dim)


def chunk(input, chunks, dim=0) -> tuple:
    """At most ``chunks`` pieces of ``ceil(n / chunks)`` along ``dim``."""
    return _input("chunk", input).chunk(chunks, dim)


def unbind(input, dim=0) -> tuple:
    """The slices along ``dim``, that axis removed, in the graph, as ``torch.unbind``:
    ``unbind(x, 1)[j]`` is ``x[:, j]``.

    >>> import minifcn
    >>> [t.tolist() for t in unbind(minifcn.tensor([[1, 2], [3, 4]]))]
    [[1, 2], [3, 4]]
    """
    input = _input("unbind", input)
    if input.ndim == 0:
        raise ValueError("unbind: a 0-d tensor has no axis to take apart")
    axis = _dim_index("unbind", dim, input.ndim)
    return tuple(piece.squeeze(axis) for piece in input.split(1, axis)) if input.shape[axis] else ()


def tensor_split(input, indices_or_sections=None, dim=0, *, indices=None, sections=None,
                 tensor_indices_or_sections=None) -> tuple:
    """Pieces along ``dim``, in the graph, as ``torch.tensor_split``: ``sections`` (an int)
    pieces as equal as can be, the first ``n % sections`` one longer; or cut before each of
    ``indices`` (a list), ``x[:i0], x[i0:i1], ..., x[ik:]``, read as Python slices (negative
    from the end; past the end or backwards: an empty piece). Unlike :func:`split`, always
    that many pieces. A Tensor (0-d: sections, 1-d: indices) is taken too, and PyTorch's
    keywords ``sections=``, ``indices=`` and ``tensor_indices_or_sections=`` (one of the four).

    >>> import minifcn
    >>> [t.tolist() for t in tensor_split(minifcn.arange(7), 3)]
    [[0, 1, 2], [3, 4], [5, 6]]
    >>> [t.tolist() for t in tensor_split(minifcn.arange(7), [2, 5])]
    [[0, 1], [2, 3, 4], [5, 6]]
    """
    input = _input("tensor_split", input)
    given = [c for c in (indices_or_sections, indices, sections, tensor_indices_or_sections)
             if c is not None]
    if len(given) != 1:
        raise TypeError("tensor_split: give the indices or the number of sections once (as "
                        "indices_or_sections, indices=, sections= or tensor_indices_or_sections=)")
    if sections is not None and isinstance(sections, (list, tuple)):
        raise TypeError(f"tensor_split: sections must be an int, got {sections!r}")
    if indices is not None and not isinstance(indices, (list, tuple)):
        raise TypeError(f"tensor_split: indices must be a list of ints, got {indices!r}")
    if input.ndim == 0:
        raise ValueError("tensor_split: a 0-d tensor has no axis to split")
    axis = _dim_index("tensor_split", dim, input.ndim)
    cuts = given[0]
    if isinstance(cuts, Tensor):
        if cuts.dtype.kind not in "iu" or cuts.ndim > 1:
            raise TypeError(f"tensor_split: a tensor of indices or sections must be 0-d or 1-d "
                            f"integers, got {cuts.dtype} of shape {tuple(cuts.shape)}")
        cuts = cuts.tolist()
    n = input.shape[axis]
    if isinstance(cuts, (list, tuple)):
        bounds = [None] + [operator.index(i) for i in cuts] + [None]
    else:
        sections = operator.index(cuts)
        if sections < 1:
            raise ValueError(f"tensor_split: sections must be >= 1, got {sections}")
        size, longer = divmod(n, sections)
        bounds = [0]
        for k in range(sections):
            bounds.append(bounds[-1] + size + (k < longer))
    before = (slice(None),) * axis
    return tuple(input[before + (slice(a, b),)] for a, b in zip(bounds, bounds[1:]))


# --------------------------------------------------------------------- reductions
def max(input, dim=None, keepdim=False, *, other=None):
    """PyTorch's three ``max``: ``max(x)``, the largest value; ``max(x, dim, keepdim)``,
    ``(values, indices)`` along ``dim``; ``max(x, other)`` (or ``other=``), the elementwise
    larger (:func:`~minifcn.ops.maximum`). In the graph.

    >>> import minifcn
    >>> x = minifcn.tensor([[1.0, 5.0], [7.0, 2.0]])
    >>> max(x).item(), max(x, 1).indices.tolist(), max(x, minifcn.tensor([3.0, 3.0])).tolist()
    (7.0, [1, 0], [[3.0, 5.0], [7.0, 3.0]])
    """
    dim = _other_or_dim("max", dim, other)
    if isinstance(dim, Tensor):
        return maximum(_input("max", input), dim)
    return _input("max", input).max(dim, keepdim)


def min(input, dim=None, keepdim=False, *, other=None):
    """PyTorch's three ``min``: as :func:`max`, for the smallest."""
    dim = _other_or_dim("min", dim, other)
    if isinstance(dim, Tensor):
        return minimum(_input("min", input), dim)
    return _input("min", input).min(dim, keepdim)


def _other_or_dim(op, dim, other):
    """The second argument of ``max`` / ``min``: ``dim`` (an int, or a Tensor given in its
    place) or ``other=``, a Tensor; not both."""
    if other is None:
        return dim
    if dim is not None:
        raise TypeError(f"{op}: give dim or other, not both")
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}: other must be a Tensor, got {type(other).__name__}")
    return other


def amax(input, dim=(), keepdim=False) -> Tensor:
    """The largest values along ``dim`` (an int or a tuple; ``()``, the default: every axis)."""
    return _input("amax", input).amax(dim, keepdim)


def amin(input, dim=(), keepdim=False) -> Tensor:
    """The smallest values along ``dim`` (an int or a tuple; ``()``: every axis)."""
    return _input("amin", input).amin(dim, keepdim)


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None) -> Tensor:
    """The sum along ``dim`` (all values by default), ``input`` cast to ``dtype`` first;
    integers and bools sum in int64 (``Tensor.sum``). ``axis`` and ``keepdims``, NumPy's
    names, are taken too, as PyTorch takes them."""
    keepdim = keepdim if keepdims is None else keepdims
    return _input("sum", input).sum(axis, dim=dim, keepdim=keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """The mean along ``dim`` (all values by default), ``input`` cast to ``dtype`` first;
    floats only, as PyTorch's (``Tensor.mean``)."""
    return _cast("mean", input, dtype).mean(dim=dim, keepdim=keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
    """The standard deviation along ``dim``, ``correction`` 1 by default (``Tensor.std``);
    ``std(x, dim, unbiased, keepdim)``, PyTorch's older form, too."""
    return _input("std", input).std(dim, unbiased, keepdim, correction=correction)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
    """The variance along ``dim``, ``correction`` 1 by default (``Tensor.var``)."""
    return _input("var", input).var(dim, unbiased, keepdim, correction=correction)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None) -> Tensor:
    """The ``p``-norm (``"fro"``: 2, the default) along ``dim`` (all values by default),
    ``input`` cast to ``dtype`` first (``Tensor.norm``)."""
    return _cast("norm", input, dtype).norm(p, dim, keepdim)


def numel(input) -> int:
    """The number of values in ``input``."""
    return _input("numel", input).numel()


# --------------------------------------------------------------------- joining, broadcasting
def concat(tensors, dim=0, *, axis=None) -> Tensor:
    """:func:`~minifcn.ops.cat` by PyTorch's other name (``axis=`` taken for ``dim``, as
    PyTorch takes it)."""
    return cat(tensors, _axis_or_dim("concat", dim, axis, 0))


def concatenate(tensors, axis=0, *, dim=None) -> Tensor:
    """:func:`~minifcn.ops.cat` by NumPy's name (and its ``axis``, or ``dim=``), as
    ``torch.concatenate``."""
    return cat(tensors, _axis_or_dim("concatenate", axis, dim, 0))


def _axis_or_dim(op, first, second, default):
    """One axis from two names for it (PyTorch takes ``dim`` and NumPy's ``axis`` alike)."""
    if second is None:
        return first
    if first != default:
        raise TypeError(f"{op}: give axis or dim, not both")
    return second


def hstack(tensors) -> Tensor:
    """Tensors side by side, as ``torch.hstack``: joined along axis 1, or along axis 0 when
    they are 1-d (a 0-d one counts as 1-d, one value).

    >>> import minifcn
    >>> hstack([minifcn.tensor([1, 2]), minifcn.tensor([3])]).tolist()
    [1, 2, 3]
    """
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in (_input("hstack", t) for t in tensors)]
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Tensors one above the other, as ``torch.vstack``: joined along axis 0, a 1-d tensor
    (n,) taken as a row (1, n) and a 0-d one as (1, 1).

    >>> import minifcn
    >>> vstack([minifcn.tensor([1, 2]), minifcn.tensor([[3, 4]])]).tolist()
    [[1, 2], [3, 4]]
    """
    tensors = [_input("vstack", t) for t in tensors]
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def broadcast_to(input, size) -> Tensor:
    """``input`` broadcast to ``size`` (``Tensor.expand``: -1 keeps an axis), in the graph, a
    read-only view."""
    return _input("broadcast_to", input).expand(*_sizes((size,)))


def broadcast_tensors(*tensors) -> tuple:
    """The tensors broadcast to one shape, as in ``a + b`` (NumPy's rules), in the graph.

    >>> import minifcn
    >>> [t.shape for t in broadcast_tensors(minifcn.zeros(2, 1), minifcn.zeros(3))]
    [(2, 3), (2, 3)]
    """
    tensors = [_input("broadcast_tensors", t) for t in tensors]
    try:
        shape = np.broadcast_shapes(*[t.shape for t in tensors])
    except ValueError:
        raise ValueError("broadcast_tensors: shapes " + ", ".join(str(tuple(t.shape)) for t in tensors)
                         + " do not broadcast (each axis must match, or be 1 in all but one)") from None
    return tuple(t.expand(*shape) for t in tensors)


# --------------------------------------------------------------------- comparisons, types
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """Where ``|input - other| <= atol + rtol * |other|``, a bool Tensor (shapes broadcast),
    outside the graph, as ``torch.isclose``: one dtype and one device for both.

    >>> import minifcn
    >>> isclose(minifcn.tensor([1.0, 2.0]), minifcn.tensor([1.0, 2.1])).tolist()
    [True, False]
    """
    if not isinstance(other, Tensor):
        raise TypeError(f"isclose: other must be a Tensor, got {type(other).__name__}")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not v >= 0:   # NaN fails it too
            raise ValueError(f"isclose: {name} must be >= 0, got {v} (as PyTorch)")
    a, b = _same_device("isclose", _input("isclose", input), other)
    if a.dtype != b.dtype:
        raise TypeError(f"isclose: the tensors' dtypes differ, {a.dtype} and {b.dtype}; cast one (.to)")
    xp = get_array_module(a.data)
    if a.dtype.kind in "biu":
        return Tensor(_isclose_integers(xp, a.data, b.data, rtol, atol))
    return Tensor(xp.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _isclose_integers(xp, x, y, rtol, atol):
    """PyTorch's isclose of integers and bools: equal in their own dtype (NumPy's goes through
    float64, where 2**62 + 1 is 2**62), or, with a tolerance, close as float32 (PyTorch's
    default dtype, where 2**24 + 1 is 2**24): ``|x - y| <= atol + |rtol * y|``."""
    close = x == y
    if rtol == 0 and atol == 0:
        return close
    x, y = x.astype(np.float32), y.astype(np.float32)
    return close | (xp.abs(x - y) <= np.float32(atol) + xp.abs(np.float32(rtol) * y))


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a minifcn Tensor (an array is not)."""
    return isinstance(obj, Tensor)


# --------------------------------------------------------------------- grad mode
class enable_grad(_GradMode):
    """Record the graph again, inside a ``no_grad`` block, as ``torch.enable_grad``: a context
    manager, or a decorator (``@enable_grad()`` or ``@enable_grad``) whose function records it
    whatever the mode it is called in (a generator function: each time it is resumed, as
    PyTorch's). The mode before comes back on leaving.

    >>> import minifcn
    >>> x = minifcn.tensor([1.0], requires_grad=True)
    >>> with minifcn.no_grad():
    ...     with enable_grad():
    ...         y = x * 2
    ...     z = x * 2
    >>> y.requires_grad, z.requires_grad
    (True, False)
    """

    def __new__(cls, func=None):
        if func is not None:   # @enable_grad, without the call
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func=None):
        super().__init__(True)
