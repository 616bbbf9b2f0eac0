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
same tests as the CPU's. What it cannot: that CuPy has every function NumPy has, or its speed;
only a real GPU tells (``MINIFCN_DEVICE=cuda python -m pytest``, see the README).

>>> cp = _module                       # as a test gets it: ``import cupy as cp``
>>> a = cp.asarray([1.0, 2.0])
>>> type(a) is cp.ndarray, type(a * 2) is cp.ndarray, type(cp.zeros(3)[1:]) is cp.ndarray
(True, True, True)
>>> type(cp.asnumpy(a)) is np.ndarray
True
"""
from __future__ import annotations

import functools
import sys
import types

import numpy as np


class ndarray(np.ndarray):
    """A NumPy array standing for a CuPy one. Views, slices, arithmetic and ufuncs keep the
    class (NumPy's subclass rules); :func:`asnumpy` and ``get`` hand a plain copy back."""

    def get(self):
        return asnumpy(self)


def _device(result):
    """NumPy's plain arrays in ``result`` (an array, or a tuple or list of them) as ``ndarray``."""
    if type(result) is np.ndarray:
        return result.view(ndarray)
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


random = _Namespace(f"{__name__}.random", np.random, random_sample=_random_sample)
cuda = types.SimpleNamespace(is_available=lambda: True)

# everything else is NumPy's, through _Namespace: ``fakecupy.zeros``, ``fakecupy.lib``, ...
_module = sys.modules[__name__]
_numpy = _Namespace(__name__, np)


def __getattr__(name):
    return getattr(_numpy, name)
