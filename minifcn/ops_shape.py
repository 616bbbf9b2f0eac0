"""PyTorch's shape and linear-algebra operations that a port of PyTorch code reaches for:
``matmul`` with its 1-d rules, ``mm``, ``bmm``, ``dot``, ``outer``, ``tensordot``, ``kron``,
``cross``, ``cdist``; the triangles and diagonals (``tril``, ``triu``, ``diag``, ``diagonal``,
``trace``); the axis moves and cuts (``t``, ``movedim``, ``swapaxes``, ``unflatten``,
``narrow``, ``select``, ``tile``, ``repeat_interleave``, ``diff``); and the Tensor's
``view_as`` / ``expand_as`` / ``type_as``, ``new_zeros`` / ``new_ones`` / ``new_full`` /
``new_tensor`` and the in-place ``zero_`` / ``fill_`` (the Tensor's methods call these).

Most are built from the Functions of :mod:`minifcn.ops` (``MatMul``, ``Transpose``,
``Reshape``, ``GetItem``, ``Repeat``, ``Mul``), so their gradients are those Functions'
transposes. The linear maps with Functions of their own here have their transposes as
backward: :class:`Diagonal` (read a diagonal) and :class:`DiagonalPut` (write one into
zeros), each the other's; :class:`Triangle` (keep one side of a diagonal: a mask, its own);
:class:`RepeatInterleave` (copy each slice; back: add up each slice's copies). Two are not
linear: :class:`Cross` (bilinear) and :class:`CDist`.

Mixed dtypes: ``matmul``, ``mm``, ``bmm``, ``dot``, ``tensordot``, ``cross`` and ``cdist``
refuse two dtypes, as PyTorch's do; ``outer``, ``kron`` and ``diff`` promote, as there
(int64 with float32 gives float32: :func:`_promoted`).

>>> import numpy as np
>>> from minifcn import Tensor
>>> a = Tensor(np.arange(6.0).reshape(2, 3))
>>> matmul(a, Tensor(np.ones(3))).numpy()        # (2, 3) @ (3,) -> (2,)
array([ 3., 12.])
>>> diagonal(a, offset=1).numpy(), tril(a).numpy()
(array([1., 5.]), array([[0., 0., 0.],
       [3., 4., 0.]]))
"""
from __future__ import annotations

import math
import operator

import numpy as np

from . import backend
from .autograd import Function, Tensor, _Config, _dim_index, as_tensor, sum_to
from .backend import get_array_module
from .ops import MatMul, Transpose, _sizes, cat


def _one_dtype(op, a, b):
    """Refuse two dtypes, as PyTorch's products do (NumPy would promote: a float32 weight
    times float64 data would make float64 activations, and a float64 gradient for float32)."""
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: expected both tensors to have one dtype, got {a.dtype} and "
                        f"{b.dtype}; cast one (.to(dtype))")
    if a.dtype == np.bool_:   # NumPy's bool product is an "or" of "and"s; PyTorch has none
        raise TypeError(f"{op}: not defined for bool tensors (as PyTorch); cast to a number "
                        "type first")


def _shape(t):
    return tuple(t.shape)


def _promoted(*tensors):
    """The tensors in PyTorch's common dtype: of two kinds (bool < integer < float) the higher
    one's dtype (int64 with float32: float32, where NumPy gives float64), within one kind
    NumPy's (float32 with float64: float64). Cast in the graph."""
    rank = {"b": 0, "u": 1, "i": 1, "f": 2}
    top = max(rank[t.dtype.kind] for t in tensors)
    dtype = np.result_type(*(t.dtype for t in tensors if rank[t.dtype.kind] == top))
    return [t if t.dtype == dtype else t.astype(dtype) for t in tensors]


# --------------------------------------------------------------------- products
def matmul(input, other):
    """The matrix product with PyTorch's rules (``torch.matmul``, the ``@`` operator): 1-d by
    1-d is the dot product (0-d); a 1-d ``input`` is a row (1, k) and a 1-d ``other`` a column
    (k, 1), that axis taken out of the result again; past 2-d, the leading (batch) axes
    broadcast. In the graph: ``ga = gy @ b^T``, ``gb = a^T @ gy``, summed over broadcast axes.

    Shapes: (..., n, k) @ (..., k, m) -> (..., n, m); (k,) @ (..., k, m) -> (..., m);
    (..., n, k) @ (k,) -> (..., n); (k,) @ (k,) -> ().

    >>> matmul(Tensor(np.ones(3)), Tensor(np.ones((2, 3, 4)))).shape
    (2, 4)
    """
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{_shape(a)} and {_shape(b)}")
    inner = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner:
        raise ValueError(f"matmul: inner dimensions differ: {_shape(a)} @ {_shape(b)}")
    _one_dtype("matmul", a, b)
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: the batch dimensions of {_shape(a)} and {_shape(b)} do not "
                         f"broadcast") from None
    A = a.reshape((1,) + a.shape) if a.ndim == 1 else a   # a row
    B = b.reshape(b.shape + (1,)) if b.ndim == 1 else b   # a column
    y = MatMul()(A, B)
    # the axes that were added, taken out: the row's at -2, the column's at -1
    out = batch + ((a.shape[-2],) if a.ndim > 1 else ()) + ((b.shape[-1],) if b.ndim > 1 else ())
    return y if y.shape == out else y.reshape(out)


def mm(input, mat2):
    """(n, k) @ (k, m) -> (n, m), 2-d only, no broadcasting (``torch.mm``); in the graph.

    >>> mm(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4)))).shape
    (2, 4)
    """
    a, b = as_tensor(input), as_tensor(mat2)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected two 2-d tensors, got shapes {_shape(a)} and {_shape(b)}")
    return matmul(a, b)


def bmm(input, mat2):
    """(b, n, k) @ (b, k, m) -> (b, n, m), one product per batch item, 3-d only and one batch
    size, no broadcasting (``torch.bmm``); in the graph.

    >>> bmm(Tensor(np.ones((5, 2, 3))), Tensor(np.ones((5, 3, 4)))).shape
    (5, 2, 4)
    """
    a, b = as_tensor(input), as_tensor(mat2)
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: expected two 3-d tensors, got shapes {_shape(a)} and {_shape(b)}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {_shape(a)} and {_shape(b)}")
    return matmul(a, b)


def dot(input, other):
    """``sum(a * b)`` of two 1-d tensors of one length and one dtype, 0-d (``torch.dot``).

    >>> dot(Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0, 4.0]))).item()
    11.0
    """
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"dot: expected two 1-d tensors of one length, got shapes {_shape(a)} "
                         f"and {_shape(b)}")
    _one_dtype("dot", a, b)
    return matmul(a, b)


def outer(input, vec2):
    """``y[i, j] = a[i] * b[j]`` of two 1-d tensors, (n,) and (m,) -> (n, m) (``torch.outer``;
    dtypes promote, as there); in the graph: ``ga = gy @ b``, ``gb = gy^T @ a``.

    >>> outer(Tensor(np.array([1, 2])), Tensor(np.array([1, 10, 100]))).numpy()
    array([[  1,  10, 100],
           [  2,  20, 200]])
    """
    a, b = as_tensor(input), as_tensor(vec2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expected two 1-d tensors, got shapes {_shape(a)} and {_shape(b)}")
    a, b = _promoted(a, b)
    return a.reshape(-1, 1) * b.reshape(1, -1)   # a column times a row, broadcast


def _axes_list(op, dims, ndim, which):
    dims = list(dims) if isinstance(dims, (list, tuple)) else [dims]
    axes = [_dim_index(op, d, ndim) for d in dims]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dims {dims} of {which} name an axis twice")
    return axes


def tensordot(a, b, dims=2):
    """The sum of products over the axes ``dims`` pairs (``torch.tensordot``): an int ``d``
    pairs ``a``'s last ``d`` axes with ``b``'s first ``d``; ``([a axes], [b axes])`` names
    them. The result has ``a``'s other axes, then ``b``'s. Computed as one matrix product
    (each operand's axes permuted and merged), so in the graph through it.

    Shapes: a (F_a..., K...) and b (K..., F_b...) -> (F_a..., F_b...), with ``dims=len(K)``.

    >>> tensordot(Tensor(np.ones((2, 3, 4))), Tensor(np.ones((3, 4, 5))), dims=2).shape
    (2, 5)
    >>> tensordot(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 2))), dims=([0], [1])).shape
    (3, 4)
    """
    a, b = as_tensor(a), as_tensor(b)
    _one_dtype("tensordot", a, b)
    if isinstance(dims, (list, tuple)):
        if len(dims) != 2:
            raise ValueError(f"tensordot: dims must be an int or two lists of axes, got {dims!r}")
        da = _axes_list("tensordot", dims[0], a.ndim, "a")
        db = _axes_list("tensordot", dims[1], b.ndim, "b")
        if len(da) != len(db):
            raise ValueError(f"tensordot: {len(da)} axes of a paired with {len(db)} of b: {dims!r}")
    else:
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)) or dims < 0:
            raise ValueError(f"tensordot: dims must be an int >= 0 or two lists of axes, got {dims!r}")
        d = int(dims)
        if d > a.ndim or d > b.ndim:
            raise ValueError(f"tensordot: dims {d} is more than the axes of {_shape(a)} or {_shape(b)}")
        da, db = list(range(a.ndim - d, a.ndim)), list(range(d))
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of a {_shape(a)} and axis {j} of b {_shape(b)} "
                             "differ in size; paired axes must match")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    A = Transpose(fa + da)(a).reshape(math.prod(a.shape[i] for i in fa), k)   # (F_a, K)
    B = Transpose(db + fb)(b).reshape(k, math.prod(b.shape[j] for j in fb))   # (K, F_b)
    return MatMul()(A, B).reshape(tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb))


def kron(input, other):
    """The Kronecker product (``torch.kron``): ``y[i*q + k, j*r + l] = a[i, j] * b[k, l]`` in
    2-d, the same on every axis in n-d (the one with fewer axes gets leading 1s); dtypes
    promote. Computed as ``a`` with a 1 after each axis times ``b`` with a 1 before each,
    broadcast, then merged, so in the graph through the product.

    Shape: a (a_0, ..., a_d), b (b_0, ..., b_d) -> (a_0 b_0, ..., a_d b_d).

    >>> kron(Tensor(np.array([1, 10])), Tensor(np.array([1, 2, 3]))).numpy()
    array([ 1,  2,  3, 10, 20, 30])
    """
    a, b = _promoted(as_tensor(input), as_tensor(other))
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    A = a.reshape(tuple(n for s in sa for n in (s, 1)))   # (a_0, 1, a_1, 1, ...)
    B = b.reshape(tuple(n for s in sb for n in (1, s)))   # (1, b_0, 1, b_1, ...)
    return (A * B).reshape(tuple(p * q for p, q in zip(sa, sb)))


class Cross(Function):
    """``a x b`` along ``axis`` (3 values there), ``a`` and ``b`` broadcast first. Bilinear:
    ``<gy, a x b> = <a, b x gy> = <b, gy x a>``, so ``ga = b x gy`` and ``gb = gy x a``, each
    summed back over the axes its operand was broadcast along."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a, b):
        xp = get_array_module(a)
        shape = np.broadcast_shapes(a.shape, b.shape)
        self.a_shape, self.b_shape = a.shape, b.shape
        self.a, self.b = xp.broadcast_to(a, shape), xp.broadcast_to(b, shape)
        return xp.cross(self.a, self.b, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        return (sum_to(xp.cross(self.b, gy, axis=self.axis), self.a_shape),
                sum_to(xp.cross(gy, self.a, axis=self.axis), self.b_shape))


def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (``torch.cross``): both tensors have as
    many axes, 3 values along ``dim``, and broadcast on the others. ``dim`` None takes the
    first axis of size 3 (``torch.cross``'s old default, without its warning; give ``dim``,
    -1 is ``torch.linalg.cross``'s). One dtype.

    >>> cross(Tensor(np.array([1.0, 0.0, 0.0])), Tensor(np.array([0.0, 1.0, 0.0]))).numpy()
    array([0., 0., 1.])
    """
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim != b.ndim:
        raise ValueError(f"cross: the tensors need as many dimensions, got shapes {_shape(a)} and {_shape(b)}")
    if a.ndim == 0:
        raise ValueError("cross: expected tensors of at least 1 dimension (3-vectors), got 0-d")
    _one_dtype("cross", a, b)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"cross: shapes {_shape(a)} and {_shape(b)} do not broadcast") from None
    if dim is None:
        axis = next((k for k, n in enumerate(shape) if n == 3), None)
        if axis is None:
            raise ValueError(f"cross: no dimension of size 3 in shape {shape}; give dim")
    else:
        axis = _dim_index("cross", dim, a.ndim)
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError(f"cross: dimension {axis} must have size 3 in both tensors, got shapes "
                         f"{_shape(a)} and {_shape(b)}")
    return Cross(axis)(a, b)


_COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


class CDist(Function):
    """``y[..., i, j] = ||a[..., i, :] - b[..., j, :]||_p`` from the differences ``d`` (shape
    (..., P, R, M)). Backward: ``g_d = gy * dy/dd``, then ``ga`` sums ``g_d`` over the R rows
    of ``b``, ``gb`` the negative over the P rows of ``a``. ``dy/dd`` is PyTorch's where the
    norm has no derivative: 0 at zero distance (and at a zero difference for p < 1), the sign
    for p = 1, every value that ties for the largest for p = inf (each gets the whole)."""

    def __init__(self, p):
        self.p = p

    def forward(self, a, b):
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        d = a[..., :, None, :] - b[..., None, :, :]   # (..., P, R, M)
        p = self.p
        if p == 0:     # how many coordinates differ
            y = (d != 0).sum(axis=-1).astype(a.dtype)
        elif p == 1:
            y = abs(d).sum(axis=-1)
        elif p == 2:
            y = xp.sqrt((d * d).sum(axis=-1))
        elif p == math.inf:   # no coordinates (M = 0): distance 0, as PyTorch's
            y = abs(d).max(axis=-1) if d.shape[-1] else xp.zeros(d.shape[:-1], a.dtype)
        else:
            y = (abs(d) ** p).sum(axis=-1) ** (1.0 / p)
        self.d, self.y = d, y
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        d, y, p = self.d, self.y[..., None], self.p
        g = gy[..., None]
        zero = xp.zeros((), d.dtype)
        if p == 0:
            gd = xp.zeros_like(d)
        elif p == 1:
            gd = xp.sign(d) * g
        elif p == math.inf:
            gd = xp.sign(d) * (abs(d) == y) * g
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if p == 2:
                    gd = xp.where(y == 0, zero, g / y) * d
                else:   # sign(d) |d|^(p-1) / y^(p-1)
                    gd = xp.sign(d) * abs(d) ** (p - 1) * g / y ** (p - 1)
                    off = (y == 0) | ((d == 0) if p < 1 else False)
                    gd = xp.where(off, zero, gd)
        return (sum_to(gd.sum(axis=-2), self.a_shape), sum_to(-gd.sum(axis=-3), self.b_shape))


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The ``p``-norm distance between each row of ``x1`` and each row of ``x2``
    (``torch.cdist``), batch axes broadcast; ``p`` >= 0 (0 counts the coordinates that differ,
    ``inf`` takes the largest). Float tensors of one dtype. In the graph, with PyTorch's
    gradient where the distance has none (0 at zero distance). Every ``compute_mode`` computes
    the differences directly (PyTorch's matrix-product route for p = 2 is faster on large sets
    and loses digits near zero distance): memory (..., P, R, M).

    Shapes: x1 (..., P, M), x2 (..., R, M) -> (..., P, R).

    >>> cdist(Tensor(np.array([[0.0, 0.0]])), Tensor(np.array([[3.0, 4.0], [1.0, 0.0]]))).numpy()
    array([[5., 1.]])
    """
    a, b = as_tensor(x1), as_tensor(x2)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"cdist: expected tensors of at least 2 dimensions (..., rows, M), got "
                         f"shapes {_shape(a)} and {_shape(b)}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"cdist: x1 and x2 need as many columns, got shapes {_shape(a)} and {_shape(b)}")
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise TypeError(f"cdist: expected floating-point tensors, got {a.dtype} and {b.dtype}")
    _one_dtype("cdist", a, b)
    p = float(p)
    if not p >= 0:   # NaN too
        raise ValueError(f"cdist: p must be >= 0, got {p}")
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"cdist: compute_mode must be one of {_COMPUTE_MODES}, got {compute_mode!r}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"cdist: the batch dimensions of {_shape(a)} and {_shape(b)} do not "
                         "broadcast") from None
    return CDist(p)(a, b)


# --------------------------------------------------------------------- transposes
def t(input):
    """A 2-d tensor transposed; 0-d and 1-d as they are (``torch.t``); in the graph.

    >>> t(Tensor(np.zeros((2, 3)))).shape, t(Tensor(np.zeros(3))).shape
    ((3, 2), (3,))
    """
    input = as_tensor(input)
    if input.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dimensions, got shape {_shape(input)} "
                         "(transpose(dim0, dim1) or .mT swaps two)")
    return Transpose(None)(input)


def _mT(input):
    """The last two axes swapped (PyTorch's ``.mT``: a stack of matrices transposed)."""
    if input.ndim < 2:
        raise ValueError(f"mT: expects a tensor of at least 2 dimensions, got shape {_shape(input)}")
    return swapaxes(input, -1, -2)


def swapaxes(input, axis0, axis1):
    """Axes ``axis0`` and ``axis1`` swapped (``torch.swapaxes``, ``swapdims``, ``transpose``);
    a 0-d tensor takes 0 and -1 and is itself.

    >>> swapaxes(Tensor(np.zeros((2, 3, 4))), 0, 2).shape
    (4, 3, 2)
    """
    input = as_tensor(input)
    i, j = (_dim_index("swapaxes", d, max(input.ndim, 1)) for d in (axis0, axis1))
    axes = list(range(input.ndim))
    if input.ndim:
        axes[i], axes[j] = axes[j], axes[i]
    return Transpose(axes)(input)


swapdims = swapaxes


def movedim(input, source, destination):
    """Axes ``source`` moved to the places ``destination`` (ints, or tuples of one length),
    the others kept in order (``torch.movedim``, NumPy's ``moveaxis``); in the graph.

    >>> movedim(Tensor(np.zeros((2, 3, 4))), 0, -1).shape
    (3, 4, 2)
    """
    input = as_tensor(input)
    nd = input.ndim
    src = _axes_list("movedim", source, max(nd, 1), "source")
    dst = _axes_list("movedim", destination, max(nd, 1), "destination")
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source!r} and destination {destination!r} name "
                         "different numbers of axes")
    if nd == 0:
        return Transpose(())(input)
    order = [k for k in range(nd) if k not in src]
    for d, s in sorted(zip(dst, src)):   # each moved axis at its place, lowest place first
        order.insert(d, s)
    return Transpose(order)(input)


moveaxis = movedim


# --------------------------------------------------------------------- triangles and diagonals
def _diagonal_index(xp, shape, offset, axis1, axis2):
    """The (row, column) coordinates of diagonal ``offset`` of the (axis1, axis2) planes."""
    n1, n2 = shape[axis1], shape[axis2]
    length = max(0, min(n1 - max(-offset, 0), n2 - max(offset, 0)))
    k = xp.arange(length)
    return k + max(-offset, 0), k + max(offset, 0)


def _take_diagonal(a, offset, axis1, axis2):
    """``a``'s diagonal ``offset`` of the (axis1, axis2) planes, as the last axis (a copy)."""
    return get_array_module(a).diagonal(a, offset, axis1, axis2).copy()


def _put_diagonal(d, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with ``d`` (diagonal last) on diagonal ``offset``: the transpose of
    :func:`_take_diagonal` (every value of ``d`` goes to the one place it was read from)."""
    xp = get_array_module(d)
    out = xp.zeros(shape, d.dtype)
    rows, cols = _diagonal_index(xp, shape, offset, axis1, axis2)
    # the two axes moved last, a writable view: its [..., rows, cols] has d's shape
    xp.moveaxis(out, (axis1, axis2), (-2, -1))[..., rows, cols] = d
    return out


class Diagonal(Function):
    """Diagonal ``offset`` of each (axis1, axis2) plane, as the last axis; its backward writes
    the gradient back on that diagonal of zeros (:class:`DiagonalPut`'s forward)."""

    def __init__(self, offset, axis1, axis2):
        self.offset, self.axis1, self.axis2 = offset, axis1, axis2

    def forward(self, a):
        self.a_shape = a.shape
        return _take_diagonal(a, self.offset, self.axis1, self.axis2)

    def backward(self, gy):
        return _put_diagonal(gy, self.a_shape, self.offset, self.axis1, self.axis2)


class DiagonalPut(Function):
    """``a`` written on diagonal ``offset`` of zeros of ``shape``; its backward reads that
    diagonal of the gradient (:class:`Diagonal`'s forward)."""

    def __init__(self, shape, offset, axis1, axis2):
        self.shape, self.offset, self.axis1, self.axis2 = shape, offset, axis1, axis2

    def forward(self, a):
        return _put_diagonal(a, self.shape, self.offset, self.axis1, self.axis2)

    def backward(self, gy):
        return _take_diagonal(gy, self.offset, self.axis1, self.axis2)


def _int(op, name, v):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be an int, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} {v!r}") from None


def diagonal(input, offset=0, dim1=0, dim2=1):
    """Diagonal ``offset`` (> 0 above the main one, < 0 below) of the planes of axes ``dim1``
    and ``dim2``, as a new last axis (``torch.diagonal``; a copy where PyTorch's is a view);
    in the graph, its gradient written back on that diagonal.

    Shape: the input's without ``dim1`` and ``dim2``, then the diagonal's length
    ``max(0, min(n1 - max(-offset, 0), n2 - max(offset, 0)))``.

    >>> diagonal(Tensor(np.arange(6).reshape(2, 3)), offset=-1).numpy()
    array([3])
    """
    input = as_tensor(input)
    offset = _int("diagonal", "offset", offset)
    if input.ndim < 2:
        raise ValueError(f"diagonal: expects a tensor of at least 2 dimensions, got shape {_shape(input)}")
    a1, a2 = (_dim_index("diagonal", d, input.ndim) for d in (dim1, dim2))
    if a1 == a2:
        raise ValueError(f"diagonal: dim1 {dim1} and dim2 {dim2} name one axis; expected two")
    return Diagonal(offset, a1, a2)(input)


def diag(input, diagonal=0):
    """``torch.diag``: a 1-d tensor of n values becomes the square matrix of side
    ``n + |diagonal|`` with them on that diagonal, zeros elsewhere; a 2-d tensor gives its
    diagonal ``diagonal`` (1-d). The two are each other's transpose, and each one's backward.

    >>> diag(Tensor(np.array([1, 2])), 1).numpy()
    array([[0, 1, 0],
           [0, 0, 2],
           [0, 0, 0]])
    """
    input = as_tensor(input)
    k = _int("diag", "diagonal", diagonal)
    if input.ndim == 1:
        m = input.shape[0] + abs(k)
        return DiagonalPut((m, m), k, 0, 1)(input)
    if input.ndim == 2:
        return Diagonal(k, 0, 1)(input)
    raise ValueError(f"diag: expects a 1-d or 2-d tensor, got shape {_shape(input)}")


def trace(input):
    """The sum of the main diagonal of a 2-d tensor (``torch.trace``); in the graph.

    >>> trace(Tensor(np.arange(9.0).reshape(3, 3))).item()
    12.0
    """
    input = as_tensor(input)
    if input.ndim != 2:
        raise ValueError(f"trace: expects a 2-d tensor (a matrix), got shape {_shape(input)}")
    return Diagonal(0, 0, 1)(input).sum()


class Triangle(Function):
    """``a`` with the values on one side of diagonal ``k`` of the last two axes set to 0 (a
    mask, so its own transpose: the gradient is masked the same way). ``where``, not ``a *
    mask``: an inf or NaN cut off gives 0, as PyTorch's."""

    def __init__(self, lower, k):
        self.lower, self.k = lower, k

    def _mask(self, xp, shape):
        # column - row: 0 on the main diagonal, k on diagonal k
        j_minus_i = xp.arange(shape[-1])[None, :] - xp.arange(shape[-2])[:, None]
        return j_minus_i <= self.k if self.lower else j_minus_i >= self.k

    def forward(self, a):
        xp = get_array_module(a)
        self.mask = self._mask(xp, a.shape)
        return xp.where(self.mask, a, xp.zeros((), a.dtype))

    def backward(self, gy):
        xp = get_array_module(gy)
        return xp.where(self.mask, gy, xp.zeros((), gy.dtype))


def _triangle(op, input, diagonal, lower):
    input = as_tensor(input)
    k = _int(op, "diagonal", diagonal)
    if input.ndim < 2:
        raise ValueError(f"{op}: expects a tensor of at least 2 dimensions, got shape {_shape(input)}")
    return Triangle(lower, k)(input)


def tril(input, diagonal=0):
    """The lower triangle of each matrix of the last two axes (``torch.tril``): the values on
    and below diagonal ``diagonal`` (0 the main one, > 0 above it), zeros above; in the graph.

    >>> tril(Tensor(np.ones((2, 3))), diagonal=1).numpy()
    array([[1., 1., 0.],
           [1., 1., 1.]])
    """
    return _triangle("tril", input, diagonal, lower=True)


def triu(input, diagonal=0):
    """The upper triangle (``torch.triu``): the values on and above diagonal ``diagonal``,
    zeros below; in the graph.

    >>> triu(Tensor(np.ones((3, 2))), diagonal=-1).numpy()
    array([[1., 1.],
           [1., 1.],
           [0., 1.]])
    """
    return _triangle("triu", input, diagonal, lower=False)


# --------------------------------------------------------------------- cuts and copies
def unflatten(input, dim, sizes):
    """Axis ``dim`` split into axes of ``sizes`` (one may be -1, worked out), the inverse of
    ``flatten`` (``torch.unflatten``); in the graph.

    >>> unflatten(Tensor(np.zeros((2, 12))), 1, (3, -1)).shape
    (2, 3, 4)
    """
    input = as_tensor(input)
    axis = _dim_index("unflatten", dim, max(input.ndim, 1))
    sizes = _sizes((sizes,))
    if not sizes:
        raise ValueError("unflatten: sizes must be non-empty")
    n = input.shape[axis] if input.ndim else 1
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"unflatten: sizes {sizes} must be >= 0, with at most one -1")
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if known == 0 or n % known:
            raise ValueError(f"unflatten: sizes {sizes} can't be completed to multiply up to "
                             f"{n}, the size of dimension {dim}")
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    elif known != n:
        raise ValueError(f"unflatten: sizes {sizes} don't multiply up to {n}, the size of "
                         f"dimension {dim}")
    return input.reshape(input.shape[:axis] + sizes + input.shape[axis + 1:])


def narrow(input, dim, start, length):
    """``length`` values of axis ``dim`` from ``start`` (negative: from the end), as
    ``x[:, start:start + length]`` for dim 1 (``torch.narrow``; a view of the data, as
    PyTorch's, like ``select``, ``t`` and ``swapaxes``); in the graph.

    >>> narrow(Tensor(np.arange(6).reshape(2, 3)), 1, -2, 2).numpy()
    array([[1, 2],
           [4, 5]])
    """
    input = as_tensor(input)
    if input.ndim == 0:
        raise ValueError("narrow: can't be applied to a 0-d tensor")
    axis = _dim_index("narrow", dim, input.ndim)
    start, length = _int("narrow", "start", start), _int("narrow", "length", length)
    n = input.shape[axis]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range [{-n}, {n}] for dimension {dim} of size {n}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise ValueError(f"narrow: start ({start}) + length ({length}) must lie within dimension "
                         f"{dim}'s size {n}, length >= 0")
    return input[(slice(None),) * axis + (slice(start, start + length),)]


def select(input, dim, index):
    """The slice at ``index`` (negative: from the end) of axis ``dim``, that axis removed, as
    ``x[:, index]`` for dim 1 (``torch.select``); in the graph.

    >>> select(Tensor(np.arange(6).reshape(2, 3)), 1, -1).numpy()
    array([2, 5])
    """
    input = as_tensor(input)
    if input.ndim == 0:
        raise IndexError("select: can't be applied to a 0-d tensor")
    axis = _dim_index("select", dim, input.ndim)
    index = _int("select", "index", index)
    n = input.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of range [{-n}, {n - 1}] for dimension "
                         f"{dim} of size {n}")
    return input[(slice(None),) * axis + (index,)]


def tile(input, dims):
    """``input`` tiled ``dims[i]`` times along axis ``i`` (``torch.tile``): as ``repeat``, but
    fewer counts than axes are padded with leading 1s; in the graph.

    >>> tile(Tensor(np.array([[1, 2]])), (2,)).numpy()
    array([[1, 2, 1, 2]])
    """
    input = as_tensor(input)
    dims = _sizes((dims,))
    if any(n < 0 for n in dims):
        raise ValueError(f"tile: counts must be >= 0, got {dims}")
    return input.repeat((1,) * (input.ndim - len(dims)) + dims)


class RepeatInterleave(Function):
    """Slice ``i`` of ``axis`` copied ``repeats[i]`` times, in order. Its transpose, the
    backward, adds up each slice's copies: with one count ``r`` for every slice, a reshape to
    (..., n, r, ...) and a sum over r; with counts of their own, a sum per owner slice
    (``bincount``, as GetItem's backward: no ``add.at``)."""

    def __init__(self, repeats, axis):
        self.repeats, self.axis = repeats, axis   # an int, or a host list of ints

    def forward(self, a):
        self.a_shape = a.shape
        return get_array_module(a).repeat(a, self.repeats, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        ax, n = self.axis, self.a_shape[self.axis]
        if isinstance(self.repeats, int):
            g = gy.reshape(gy.shape[:ax] + (n, self.repeats) + gy.shape[ax + 1:])
            return g.sum(axis=ax + 1)
        moved = xp.moveaxis(gy, ax, 0)                        # (total, rest...)
        rest = moved.shape[1:]
        flat = moved.reshape(moved.shape[0], math.prod(rest))   # -1 fails on empty arrays
        owner = xp.repeat(xp.arange(n), self.repeats)         # the slice each copy came from
        where = (owner[:, None] * flat.shape[1] + xp.arange(flat.shape[1])[None, :]).ravel()
        g = xp.bincount(where, weights=flat.ravel(), minlength=n * flat.shape[1])
        return xp.moveaxis(g.astype(gy.dtype, copy=False).reshape((n,) + rest), 0, ax)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each value (each slice along ``dim``) repeated, the copies side by side
    (``torch.repeat_interleave``): ``repeats`` one int for all, or an integer tensor with one
    count per slice (or one for all). ``dim`` None works on the values flattened. With no
    ``repeats``, ``input`` holds the counts and the result is ``arange(len(input))`` repeated
    by them (int64). ``output_size``, if given, must be the total. In the graph.

    >>> repeat_interleave(Tensor(np.array([[1, 2], [3, 4]])), Tensor(np.array([1, 2])), dim=0).numpy()
    array([[1, 2],
           [3, 4],
           [3, 4]])
    """
    input = as_tensor(input)
    if repeats is None:   # the counts alone: the index of each copy
        counts = _counts(input, None)
        xp = get_array_module(input.data)
        return Tensor(xp.repeat(xp.arange(len(counts)), counts))
    if dim is None:
        input, axis = input.reshape(-1), 0
    else:
        axis = _dim_index("repeat_interleave", dim, max(input.ndim, 1))
        if input.ndim == 0:
            input = input.reshape(1)
    n = input.shape[axis]
    if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, (bool, np.bool_)):
        counts = int(repeats)
        if counts < 0:
            raise ValueError(f"repeat_interleave: repeats must be >= 0, got {counts}")
    else:   # a tensor (an array, a list) of counts: one for every slice, or one for all
        counts = _counts(as_tensor(repeats), n)
        if len(counts) == 1 or (n and len(set(counts)) == 1):
            counts = counts[0]   # one count for all: the reshape backward
    total = counts * n if isinstance(counts, int) else sum(counts)
    if output_size is not None and output_size != total:
        raise ValueError(f"repeat_interleave: output_size {output_size} is not the total, {total}")
    return RepeatInterleave(counts, axis)(input)


def _counts(repeats, n):
    """The counts of an integer tensor (0-d or 1-d, >= 0) as a host list of ints; its length 1
    or ``n`` (None: any)."""
    if repeats.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave: repeats must be an integer tensor, got {repeats.dtype}")
    if repeats.ndim > 1:
        raise ValueError(f"repeat_interleave: repeats must be 0-d or 1-d, got shape {_shape(repeats)}")
    counts = [int(c) for c in backend.to_numpy(repeats.data).reshape(-1)]   # the sizes: on the host
    if any(c < 0 for c in counts):
        raise ValueError(f"repeat_interleave: repeats must be >= 0, got {min(counts)}")
    if n is not None and len(counts) not in (1, n):
        raise ValueError(f"repeat_interleave: {len(counts)} repeats for a dimension of size {n}; "
                         f"expected 1 or {n}")
    return counts


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``, ``x[i + 1] - x[i]`` taken ``n`` times
    (``torch.diff``), after ``prepend`` and ``append`` are joined on at either end (tensors of
    the input's dimensions, its shape off ``dim``; dtypes promote). Each difference is one
    shorter; past the length, empty. Bools give ``x[i + 1] != x[i]``, as PyTorch's. In the
    graph (two slices and a subtraction, each step).

    >>> diff(Tensor(np.array([1, 4, 9, 16])), n=2).numpy()
    array([2, 2])
    """
    x = as_tensor(input)
    if x.ndim == 0:
        raise ValueError("diff: expects a tensor of at least 1 dimension, got 0-d")
    n = _int("diff", "n", n)
    if n < 0:
        raise ValueError(f"diff: order n must be >= 0, got {n}")
    axis = _dim_index("diff", dim, x.ndim)
    parts = [as_tensor(p) for p in (prepend, x, append) if p is not None]
    for p in parts:
        if p.ndim != x.ndim or any(a != b for k, (a, b) in enumerate(zip(p.shape, x.shape)) if k != axis):
            raise ValueError(f"diff: prepend and append must have the input's shape {_shape(x)} "
                             f"except along dimension {axis}, got shape {_shape(p)}")
    if len(parts) > 1:
        x = cat(_promoted(*parts), dim=axis)
    head = (slice(None),) * axis
    for _ in range(n):
        later, earlier = x[head + (slice(1, None),)], x[head + (slice(None, -1),)]
        x = later != earlier if x.dtype == np.bool_ else later - earlier
    return x


# --------------------------------------------------------------------- like another tensor
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` in shape ``size``, this tensor's dtype and device unless given (PyTorch's
    ``new_full``); a value the dtype cannot hold (NaN or inf in integers) refused, as there."""
    from .creation import _fill_value
    xp = backend.xp_for(self.device if device is None else device)
    dtype = self.dtype if dtype is None else np.dtype(dtype)
    fill_value = _fill_value("new_full", fill_value, dtype)
    return Tensor(xp.full(_sizes((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` (a number, list, array or Tensor, whose graph is left) in this
    tensor's dtype and device unless given (PyTorch's ``new_tensor``)."""
    from .creation import tensor
    return tensor(data, dtype=self.dtype if dtype is None else dtype,
                  device=self.device if device is None else device, requires_grad=requires_grad)


def fill_(self, value):
    """Every value of ``self`` set to ``value`` (a number or a 0-d tensor), in place, its
    memory kept (PyTorch's ``fill_``). Refused with the graph on for a tensor that requires
    grad, as every in-place change here: PyTorch refuses it on such a leaf too ("a leaf
    Variable that requires grad is being used in an in-place operation"); under ``no_grad``,
    as ``init.constant_`` runs, it changes a parameter."""
    if getattr(value, "ndim", 0):   # a Tensor or an array of values: PyTorch takes one
        raise ValueError(f"fill_: expects a number or a 0-d tensor as the value, got shape "
                         f"{tuple(value.shape)}")
    if _Config.enable_grad and self.requires_grad:
        what = "a leaf tensor that requires grad" if self.is_leaf else "a tensor in the graph"
        raise RuntimeError(f"fill_ / zero_ on {what} is not recorded in the graph: run it under "
                           "minifcn.no_grad() (as init.zeros_ does), or make a new tensor "
                           "(minifcn.zeros_like, minifcn.full)")
    if _Config.enable_grad and getattr(value, "requires_grad", False):
        raise RuntimeError("fill_: the value requires grad, and a fill is not recorded in the "
                           "graph (PyTorch's passes the gradient to the value): fill with "
                           "value.detach(), or build the tensor from the value "
                           "(value.expand(shape))")
    if not isinstance(value, Tensor):
        from .creation import _fill_value
        value = _fill_value("fill_", value, self.dtype)
    self.data[...] = value.data if isinstance(value, Tensor) else value
    return self
