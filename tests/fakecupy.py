"""CuPy played by NumPy: minifcn's GPU code paths, run on a machine without a GPU.

minifcn's kernels take some paths only on a GPU (``device_of(x) == "cuda"``): one block where
the CPU cuts maps into blocks for its threads, a whole-batch scatter and gather in unpooling,
no thread-split weight gradient, none of the CPU-only layout rules (the flat unfold, depth to
space per phase, the pixels-first fold), CuPy's ``take`` without a mode. Without a GPU those
paths would never run, and a change to the code around them could break them unseen. With this
module standing in for CuPy (``tests/conftest.py``'s ``xp`` fixture, parameter
``"fakecupy"``), every test that takes ``xp`` runs them too.

What it is: :class:`ndarray`, a NumPy array that :mod:`minifcn.backend` takes for a CuPy
array, and a module whose functions are NumPy's, with the arrays they return made into that
class. What it checks: the GPU paths' logic (shapes, indices, which path runs), against the
same tests as the CPU's; and the rules where CuPy is stricter than NumPy, so that code which
runs on NumPy alone fails here as on a GPU: no host array beside a device one in an
operation or written into a slice of one, no implicit copy to the host (``np.asarray`` of a device array raises; with
:func:`refuse_host_conversions` installed, as the fixtures do), 0-d arrays where NumPy gives
scalars. What it cannot: that CuPy has every function NumPy has, its other differences, or
its speed; only a real GPU tells (``MINIFCN_DEVICE=cuda python -m pytest``, see the README).

>>> cp = _module                       # as a test gets it: ``import cupy as cp``
>>> a = cp.asarray([1.0, 2.0])
>>> type(a) is cp.ndarray, type(a * 2) is cp.ndarray, type(cp.zeros(3)[1:]) is cp.ndarray
(True, True, True)
>>> type(cp.asnumpy(a)) is np.ndarray, type(a.sum()) is cp.ndarray, a.sum().shape
(True, True, ())
>>> a + np.ones(2)
Traceback (most recent call last):
TypeError: Unsupported type <class 'numpy.ndarray'>
"""
from __future__ import annotations

import functools
import sys
import types

import numpy as np


class ndarray(np.ndarray):
    """A NumPy array standing for a CuPy one. Views, slices, arithmetic and ufuncs keep the
    class (NumPy's subclass rules); :func:`asnumpy` and ``get`` hand a plain copy back.

    Where CuPy differs from NumPy in a way that could hide a GPU bug, it does as CuPy does:
    a ufunc (an operator too) refuses a host array among its inputs or outputs, Python and
    NumPy scalars pass (CuPy's ``_preprocess_args``); a host array is no value for a slice
    (``a[:] = host`` raises, as CuPy's ``fill`` does); reductions, ``argmax`` and indexing to
    one element give 0-d arrays, not NumPy scalars."""

    def get(self):
        return asnumpy(self)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        for a in inputs + (out or ()):
            if isinstance(a, np.ndarray) and not isinstance(a, ndarray):
                raise TypeError(f"Unsupported type {type(a)}")
        plain = [a.view(np.ndarray) if isinstance(a, ndarray) else a for a in inputs]
        if out is not None:   # written in place, through plain views of the same memory
            kwargs["out"] = tuple(o.view(np.ndarray) for o in out)
        result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _device(result)

    def argmax(self, *args, **kwargs):
        return _device(super().argmax(*args, **kwargs))

    def argmin(self, *args, **kwargs):
        return _device(super().argmin(*args, **kwargs))

    def __getitem__(self, key):
        return _device(super().__getitem__(key))

    def __setitem__(self, key, value):
        # CuPy's basic indexing writes a value that is not a device array with ``fill``, which
        # takes a host array of 0 dimensions only; index arrays (advanced indexing) copy it over
        if (isinstance(value, np.ndarray) and not isinstance(value, ndarray) and value.ndim
                and not _advanced(key)):
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        super().__setitem__(key, value)


def _advanced(key):
    """Whether an index takes NumPy's (and CuPy's) advanced indexing: an array, list or bool."""
    return any(isinstance(k, (np.ndarray, list, bool, np.bool_))
               for k in (key if isinstance(key, tuple) else (key,)))


def _device(result):
    """NumPy's plain arrays and scalars in ``result`` (one, or a tuple or list of them) as
    ``ndarray``: a scalar becomes a 0-d array, as on CuPy."""
    if type(result) is np.ndarray:
        return result.view(ndarray)
    if isinstance(result, np.generic):
        return np.asarray(result).view(ndarray)
    if isinstance(result, (tuple, list)):
        return type(result)(_device(r) for r in result)
    return result


def _on_device(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        return _device(fn(*args, **kwargs))
    return call


class _Namespace(types.ModuleType):
    """NumPy's module ``real``, its functions returning ``ndarray``; submodules likewise. Types
    (dtypes, ``finfo``), constants and ufuncs (which keep the class of their inputs, and have
    methods of their own) pass through as they are."""

    def __init__(self, name, real, **own):
        super().__init__(name)
        self._real = real
        self.__dict__.update(own)

    def __getattr__(self, name):
        if name.startswith("__"):   # a module's own attributes (``__path__``, ...) are not NumPy's
            raise AttributeError(name)
        value = getattr(self._real, name)
        if isinstance(value, types.ModuleType):
            value = _Namespace(f"{self.__name__}.{name}", value)
        elif callable(value) and not isinstance(value, (type, np.ufunc)):
            value = _on_device(value)
        setattr(self, name, value)   # looked up once
        return value


def asnumpy(a):
    """A plain NumPy copy (CuPy's device-to-host copy)."""
    return np.array(a, subok=False)


def _random_sample(size=None, dtype=float):
    """CuPy's ``random.random_sample`` takes a dtype; NumPy's does not."""
    return np.random.random_sample(size).astype(dtype, copy=False).view(ndarray)


def take(a, indices, axis=None, out=None):
    """CuPy's ``take`` has no ``mode`` (minifcn passes NumPy's "clip" on the CPU only)."""
    return _device(np.take(a, indices, axis=axis, out=out))


def einsum(*operands, **kwargs):
    """NumPy's ``einsum`` on plain views of the device arrays: with ``optimize`` it multiplies
    arrays of its own making (a diagonal, a reshape: plain ones) by its inputs in a ufunc,
    which :class:`ndarray` would refuse as a host array (CuPy's einsum is its own code). A
    host array among the operands is refused still, as CuPy's."""
    arrays = [a for a in operands if isinstance(a, np.ndarray)]
    if any(not isinstance(a, ndarray) for a in arrays):
        raise TypeError(f"Unsupported type {np.ndarray}")
    return _device(np.einsum(*[a.view(np.ndarray) if isinstance(a, ndarray) else a
                               for a in operands], **kwargs))


random = _Namespace(f"{__name__}.random", np.random, random_sample=_random_sample)
cuda = types.SimpleNamespace(is_available=lambda: True)

# everything else is NumPy's, through _Namespace: ``fakecupy.zeros``, ``fakecupy.lib``, ...
_module = sys.modules[__name__]
_numpy = _Namespace(__name__, np)


def __getattr__(name):
    return getattr(_numpy, name)


def _refusing(convert):
    """NumPy's ``convert`` (``asarray``, ``array``, ...), refusing arrays of this module as
    CuPy's ``__array__`` does (a NumPy subclass is taken without asking it)."""
    @functools.wraps(convert)
    def call(a, *args, **kwargs):
        if _on_gpu(a) and not _numpy_inside(sys._getframe(1).f_globals.get("__name__", "")):
            raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                            "Please use `.get()` to construct a NumPy array explicitly.")
        return convert(a, *args, **kwargs)
    return call


def _numpy_inside(caller):
    """Whether the conversion is made inside NumPy (``broadcast_to``, ``as_strided``: CuPy
    has its own) or this module, not by minifcn or a test (``numpy.testing`` is a test's)."""
    return caller == __name__ or (caller.startswith("numpy.") and not caller.startswith("numpy.testing"))


def _on_gpu(a):
    return isinstance(a, ndarray) or (isinstance(a, (list, tuple)) and any(map(_on_gpu, a)))


def refuse_host_conversions(monkeypatch):
    """Make ``np.asarray``, ``np.asanyarray``, ``np.array`` and ``np.ascontiguousarray`` refuse
    this module's arrays, as CuPy's ``__array__`` does (for this test: ``monkeypatch``), when
    called by minifcn or a test; NumPy's own functions that this module lends (``broadcast_to``,
    ``as_strided``) still convert, as CuPy's own versions of them need not."""
    for name in ("asarray", "asanyarray", "array", "ascontiguousarray"):
        monkeypatch.setattr(np, name, _refusing(getattr(np, name)))
