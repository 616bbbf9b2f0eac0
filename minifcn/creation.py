"""Tensors made from data or from a shape, as PyTorch's creation functions (``minifcn.tensor``,
``minifcn.zeros``, ...). All are leaves outside any graph (``requires_grad`` sets them to take a
gradient) but two, in the graph as PyTorch's: ``meshgrid`` (views of its tensors) and
``as_tensor`` of a Tensor to another dtype or device (a copy made by ``Tensor.to``). All take
PyTorch's keywords: ``dtype`` (a NumPy dtype or its name: ``np.float64``, ``"int32"``) and
``device`` (``"cpu"`` or ``"cuda"``; None: the default device, ``MINIFCN_DEVICE``, or where
the data already is).

Default dtypes are the Tensor's: Python floats give float32, ints int64, bools bool.

The random ones (``rand``, ``randn``, ``randint``, ...) are in :mod:`minifcn.sampling`.

>>> import minifcn
>>> minifcn.zeros(2, 3).dtype, minifcn.arange(4).tolist(), minifcn.full((2,), 7).dtype
(dtype('float32'), [0, 1, 2, 3], dtype('int64'))
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend
from .autograd import Tensor, _as_array
from .ops import _sizes

__all__ = ["tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "arange",
           "as_tensor", "empty", "empty_like", "full_like", "linspace", "logspace", "eye", "meshgrid"]


def _dtype(dtype):
    return None if dtype is None else np.dtype(dtype)


def _shape(op, sizes, size):
    """The shape of ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))`` (PyTorch takes all three)."""
    if size is not None:
        if sizes:
            raise TypeError(f"{op}: got the size twice, as arguments and as size=")
        sizes = (size,)
    return _sizes(sizes)


def _made(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)   # refuses an integer tensor that requires grad


def tensor(data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (a number, a nested list, a NumPy or CuPy array,
    or a Tensor, whose graph is left), as ``torch.tensor``. ``Tensor(array)`` keeps the array
    itself; this one never shares memory.

    Python floats become float32 (float64 arrays stay float64). Without ``device``, a Tensor or
    a CuPy array stays on its device; numbers, lists and NumPy arrays go to the default device.

    >>> import numpy as np
    >>> a = np.array([1.0, 2.0]); t = tensor(a); a[0] = 9.0
    >>> t.numpy(), tensor([1, 2]).dtype, tensor([0.1], dtype="float64").item()
    (array([1., 2.]), dtype('int64'), 0.1)
    """
    dtype = _dtype(dtype)
    stays = isinstance(data, Tensor) or backend.device_of(data) == "cuda"   # a CuPy array too
    if isinstance(data, Tensor):
        data = data.data
    if stays or isinstance(data, np.ndarray):
        array = data
    else:   # numbers and lists: in dtype straight away (0.1 through float32 would lose digits)
        array = np.asarray(data, dtype=dtype) if dtype is not None else _as_array(data)
    source = backend.device_of(array)
    here = backend.check_device(device) if device is not None else source if stays else backend.default_device()
    if source == here:
        array = array.astype(dtype or array.dtype, copy=True)
    else:
        array = backend.to_device(array, here).astype(dtype or array.dtype, copy=False)
    return _made(array, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a Tensor, sharing its memory where it can, as ``torch.as_tensor``: a Tensor
    already of this dtype and device is returned itself (else :meth:`Tensor.to`: a copy, in
    the graph); a NumPy or CuPy array of this dtype and device is wrapped without a copy (a
    change to one is seen in the other); numbers and lists are copied as :func:`tensor` does.

    >>> import numpy as np
    >>> a = np.zeros(2); t = as_tensor(a); a[0] = 5.0
    >>> t.numpy(), as_tensor(t) is t, as_tensor(a, dtype="float32").dtype
    (array([5., 0.]), True, dtype('float32'))
    """
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) or backend.device_of(data) == "cuda":   # a CuPy array too
        if data.dtype.kind not in "biuf":
            raise TypeError(f"as_tensor: can't convert an array of dtype {data.dtype}: bool, "
                            "integers and floats are taken")
        here = backend.device_of(data) if device is None else backend.check_device(device)
        array = backend.to_device(data, here)   # the array itself when it is there already
        return Tensor(array.astype(_dtype(dtype) or array.dtype, copy=False))
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray) -> Tensor:
    """A CPU Tensor that shares ``ndarray``'s memory, as ``torch.from_numpy``: a change to one
    is seen in the other. Its dtype is the array's.

    >>> import numpy as np
    >>> a = np.zeros(2); t = from_numpy(a); a[0] = 5.0
    >>> t.numpy()
    array([5., 0.])
    """
    if not isinstance(ndarray, np.ndarray) or backend.device_of(ndarray) != "cpu":
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: can't convert an array of dtype {ndarray.dtype}: bool, "
                        "integers and floats are taken")
    return Tensor(ndarray)


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of shape ``size`` (``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``),
    float32 by default."""
    xp = backend.xp_for(device)
    return _made(xp.zeros(_shape("zeros", sizes, size), dtype=_dtype(dtype) or np.float32), requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of shape ``size``, float32 by default.

    >>> ones(2, 1, dtype="float64").numpy()
    array([[1.],
           [1.]])
    """
    xp = backend.xp_for(device)
    return _made(xp.ones(_shape("ones", sizes, size), dtype=_dtype(dtype) or np.float32), requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of shape ``size`` whose values are whatever the memory held (``torch.empty``:
    fill it before reading it), float32 by default.

    >>> empty(2, 3).shape, empty((4,), dtype="int32").dtype
    ((2, 3), dtype('int32'))
    """
    xp = backend.xp_for(device)
    return _made(xp.empty(_shape("empty", sizes, size), dtype=_dtype(dtype) or np.float32), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` at every position of shape ``size``; the dtype, unless given, is the
    value's as a Tensor takes it (float32, int64 or bool), as ``torch.full``.

    >>> full((2, 2), 0.5).numpy()
    array([[0.5, 0.5],
           [0.5, 0.5]], dtype=float32)
    """
    dtype = _dtype(dtype) or _as_array(fill_value).dtype
    xp = backend.xp_for(device)
    fill_value = _fill_value("full", fill_value, dtype)
    return _made(xp.full(_sizes((size,)), fill_value, dtype=dtype), requires_grad)


def _like(input, dtype, device):
    """The array module, dtype and device of a ``*_like`` call: ``input``'s unless given."""
    a = input.data if isinstance(input, Tensor) else input
    device = backend.device_of(a) if device is None else device
    return backend.xp_for(device), _dtype(dtype) or a.dtype, a.shape


def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of ``input``'s shape, dtype and device (each may be changed), as ``torch.zeros_like``."""
    xp, dtype, shape = _like(input, dtype, device)
    return _made(xp.zeros(shape, dtype=dtype), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of ``input``'s shape, dtype and device (each may be changed), as ``torch.ones_like``."""
    xp, dtype, shape = _like(input, dtype, device)
    return _made(xp.ones(shape, dtype=dtype), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An unfilled tensor of ``input``'s shape, dtype and device (each may be changed), as
    ``torch.empty_like``: its values are whatever the memory held."""
    xp, dtype, shape = _like(input, dtype, device)
    return _made(xp.empty(shape, dtype=dtype), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` at every position of ``input``'s shape, in ``input``'s dtype (not the
    value's: ``full_like(int_tensor, 2.7)`` holds 2s) and on its device, as ``torch.full_like``.

    >>> full_like(zeros(2, dtype="int64"), 2.7).numpy(), full_like(zeros(1), 3).dtype
    (array([2, 2]), dtype('float32'))
    """
    xp, dtype, shape = _like(input, dtype, device)
    fill_value = _fill_value("full_like", fill_value, dtype)
    return _made(xp.full(shape, fill_value, dtype=dtype), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``start, start + step, ...`` up to ``end`` (excluded), as ``torch.arange``: ``arange(n)``
    counts from 0. int64 when every argument is an int, else float32; ``ceil((end - start) /
    step)`` values, each ``start + i * step`` computed in float64 then cast (PyTorch computes
    in the result's dtype, so float32 values may differ from its by one unit in the last place,
    and an integer dtype with fractional arguments casts its own way: give ints there).

    >>> arange(1, 2.5, 0.5).numpy(), arange(5, 0, -2).numpy()
    (array([1. , 1.5, 2. ], dtype=float32), array([5, 3, 1]))
    """
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise TypeError(f"arange: {name} must be a finite number, got {v!r}")
    if step == 0 or (end - start) * step < 0:
        raise ValueError(f"arange: step {step} never goes from {start} to {end}")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dtype = _dtype(dtype) or np.dtype(np.int64 if integral else np.float32)
    xp = backend.xp_for(device)
    if integral:   # exact: ceil((end - start) / step) in integers
        n = -((start - end) // step)
        values = start + xp.arange(n, dtype=np.int64) * step
    else:
        n = math.ceil((end - start) / step)
        values = start + xp.arange(n, dtype=np.float64) * step
    return _made(values.astype(dtype, copy=False), requires_grad)


def _real(op, name, v):
    """A finite number (or a one-valued Tensor's value) as a Python float, else TypeError."""
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise TypeError(f"{op}: {name} must be a finite number, got {v!r}")
    return float(v)


def _count(op, name, n):
    """A count >= 0 as an int, else TypeError (not an integer) or ValueError (negative)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {n!r}")
    if n < 0:
        raise ValueError(f"{op}: {name} must be >= 0, got {n}")
    return int(n)


def _converted(op, name, v, dtype):
    """Number ``v`` as PyTorch's checked cast makes it ``dtype``, refusing what that refuses
    ("cannot be converted without overflow"): into an integer dtype, NaN, inf and values past
    its range (a negative int wraps into an unsigned dtype: -1 is 255 in uint8), the rest
    truncated toward zero; into a float dtype, a finite value past its largest (inf and NaN
    stay); into bool, anything."""
    if dtype.kind == "b" or not isinstance(v, numbers.Real):
        return v
    if dtype.kind == "f":
        high = float(np.finfo(dtype).max)
        if math.isfinite(v) and not -high <= v <= high:
            raise ValueError(f"{op}: {name} = {v!r} does not fit in {dtype} ([{-high}, {high}])")
        return v
    low, high = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    if dtype.kind == "u" and isinstance(v, numbers.Integral) and -high <= v < 0:
        return int(v) + high + 1
    if not (math.isfinite(v) and low <= v <= high):
        raise ValueError(f"{op}: {name} = {v!r} does not fit in {dtype} ([{low}, {high}])")
    return math.trunc(v)


def _fill_value(op, value, dtype):
    """A fill value for ``dtype`` (full, full_like, new_full, fill_): :func:`_converted`."""
    return _converted(op, "the value", value, dtype)


def _end(op, name, v, dtype):
    """``start`` or ``end`` of linspace / logspace as PyTorch casts it to ``dtype`` before
    spacing the values (:func:`_converted`: truncated toward zero for an integer dtype)."""
    if isinstance(v, Tensor):
        v = v.item()
    _real(op, name, v)   # a finite number
    if dtype.kind == "b":
        raise TypeError(f"{op}: dtype bool is not taken (as PyTorch); ask for a number dtype")
    v = _converted(op, name, v, dtype)
    return float(v) if dtype.kind == "f" else v


def _spaced(xp, start, end, steps):
    """PyTorch's ``steps`` values from ``start`` to ``end`` in float64: ``start + i * step`` in
    the first half, ``end - (steps - 1 - i) * step`` in the second (the last is ``end``)."""
    start, end = float(start), float(end)
    i = xp.arange(steps, dtype=np.float64)
    step = (end - start) / max(steps - 1, 1)
    half = max(steps // 2, 1)   # one step: start alone, as PyTorch's
    return xp.where(i < half, start + i * step, end - (steps - 1 - i) * step)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end``, both included, as
    ``torch.linspace``: float32 by default. Value ``i`` is ``start + i * step`` in the first
    half and ``end - (steps - 1 - i) * step`` in the second, ``step = (end - start) / (steps
    - 1)`` (PyTorch's formula: the last value is ``end`` exactly), computed in float64 then
    cast. With an integer dtype, as PyTorch's: ``start`` and ``end`` are truncated toward zero
    first, then each value (``linspace(-1.5, 0, 4, dtype=int64)`` is ``[-1, 0, 0, 0]``); where
    a value is a whole number, PyTorch's vectorised float64 sum may land a hair below it and
    truncate one lower (in about 0.7 % of random integer ranges, one value differs by 1). An
    end past the dtype's range is refused, as PyTorch refuses it.

    >>> linspace(0, 1, 5).numpy(), linspace(-3, 7, 5, dtype="int64").numpy()
    (array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32), array([-3,  0,  2,  4,  7]))
    """
    dtype = _dtype(dtype) or np.dtype(np.float32)
    steps = _count("linspace", "steps", steps)
    # PyTorch converts (and checks) an end only where it is used: none for no steps, one for one
    start = _end("linspace", "start", start, dtype) if steps else _real("linspace", "start", start)
    end = _end("linspace", "end", end, dtype) if steps > 1 else _real("linspace", "end", end)
    values = _spaced(backend.xp_for(device), start, end, steps)
    return _made(values.astype(dtype), requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``base ** linspace(start, end, steps)``, as ``torch.logspace``: ``steps`` values from
    ``base ** start`` to ``base ** end`` in equal ratios, float32 by default (powers taken in
    float64, then cast; an overflow is inf, a negative base to a fraction NaN, quietly, as
    PyTorch's). With an integer dtype the exponents' ends are truncated first, as PyTorch's
    (``logspace(0, 2.5, 2, dtype=int64)`` is ``[1, 100]``), then each power; a power past the
    dtype's range is refused (PyTorch's cast gives a wrapped or arbitrary value there).

    >>> logspace(0, 3, 4).numpy(), logspace(0, 3, 4, base=2, dtype="int64").numpy()
    (array([   1.,   10.,  100., 1000.], dtype=float32), array([1, 2, 4, 8]))
    """
    base = _real("logspace", "base", base)
    dtype = _dtype(dtype) or np.dtype(np.float32)
    steps = _count("logspace", "steps", steps)
    if steps > 1:
        start, end = _end("logspace", "start", start, dtype), _end("logspace", "end", end, dtype)
    else:   # PyTorch's one value: base ** start, start as given (not truncated)
        start, end = _real("logspace", "start", start), _real("logspace", "end", end)
    xp = backend.xp_for(device)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # inf, NaN: PyTorch's
        values = base ** _spaced(xp, start, end, steps)
        if dtype.kind == "f":
            return _made(values.astype(dtype), requires_grad)
    info = np.iinfo(dtype)
    if not bool(xp.all(xp.isfinite(values) & (values >= info.min) & (values < info.max + 1.0))):
        raise ValueError(f"logspace: the powers of {base:g} from {start} to {end} go past "
                         f"{dtype} ([{info.min}, {info.max}]) or are not numbers")
    return _made(values.astype(dtype), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The ``n`` x ``m`` identity (``m`` = ``n`` by default): ones on the diagonal, zeros
    elsewhere, float32 by default, as ``torch.eye``.

    >>> eye(2, 3).numpy()
    array([[1., 0., 0.],
           [0., 1., 0.]], dtype=float32)
    """
    n = _count("eye", "n", n)
    m = n if m is None else _count("eye", "m", m)
    xp = backend.xp_for(device)
    return _made(xp.eye(n, m, dtype=_dtype(dtype) or np.float32), requires_grad)


def meshgrid(*tensors, indexing="ij") -> tuple:
    """Coordinate grids from 1-d tensors (0-d: one value), in the graph, as ``torch.meshgrid``:
    output ``k`` holds ``tensors[k]``'s values along its own axis, repeated along the others.
    ``indexing="ij"``: the grids have shape ``(len(t0), len(t1), ...)`` (matrix indexing);
    ``"xy"``: the first two axes swapped, ``(len(t1), len(t0), ...)`` (image ``x, y``, as
    NumPy's default). Each output is a read-only broadcast view; its gradient is summed back
    over the repeats. Pass the tensors one by one or as one list. PyTorch warns when
    ``indexing`` is not given (and uses ``"ij"``); here ``"ij"`` is simply the default.

    >>> ys, xs = meshgrid(arange(2), arange(3), indexing="ij")
    >>> ys.numpy(), xs.numpy()
    (array([[0, 0, 0],
           [1, 1, 1]]), array([[0, 1, 2],
           [0, 1, 2]]))
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expected at least one tensor, got none")
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid: expected Tensors, got {type(t).__name__} at position {k}")
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expected 0-d or 1-d tensors, got shape {tuple(t.shape)} "
                             f"at position {k}")
        if t.dtype != tensors[0].dtype or t.device != tensors[0].device:
            raise TypeError(f"meshgrid: the tensors must share one dtype and device, got "
                            f"{tensors[0].dtype} on {tensors[0].device} and {t.dtype} on {t.device}")
    axes = list(range(len(tensors)))   # axes[k]: the output axis along which tensors[k] runs
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for k, t in enumerate(tensors):
        shape[axes[k]] = t.numel()
    grids = []
    for k, t in enumerate(tensors):
        own = [1] * len(tensors)
        own[axes[k]] = t.numel()
        grids.append(t.reshape(tuple(own)).expand(*shape))
    return tuple(grids)
