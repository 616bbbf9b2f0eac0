"""Tensors made from data or from a shape, as PyTorch's creation functions (``minifcn.tensor``,
``minifcn.zeros``, ...). All are leaves outside any graph (``requires_grad`` sets them to take a
gradient) and take PyTorch's keywords: ``dtype`` (a NumPy dtype or its name: ``np.float64``,
``"int32"``) and ``device`` (``"cpu"`` or ``"cuda"``; None: the default device,
``MINIFCN_DEVICE``, or where the data already is).

Default dtypes are the Tensor's: Python floats give float32, ints int64, bools bool.

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

__all__ = ["tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "arange"]


def _dtype(dtype):
    return None if dtype is None else np.dtype(dtype)


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


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``), float32 by default."""
    xp = backend.xp_for(device)
    return _made(xp.zeros(_sizes(size), dtype=_dtype(dtype) or np.float32), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of shape ``size``, float32 by default.

    >>> ones(2, 1, dtype="float64").numpy()
    array([[1.],
           [1.]])
    """
    xp = backend.xp_for(device)
    return _made(xp.ones(_sizes(size), dtype=_dtype(dtype) or np.float32), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` at every position of shape ``size``; the dtype, unless given, is the
    value's as a Tensor takes it (float32, int64 or bool), as ``torch.full``.

    >>> full((2, 2), 0.5).numpy()
    array([[0.5, 0.5],
           [0.5, 0.5]], dtype=float32)
    """
    dtype = _dtype(dtype) or _as_array(fill_value).dtype
    xp = backend.xp_for(device)
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
