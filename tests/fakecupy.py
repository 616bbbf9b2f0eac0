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
scalars. And CuPy's API, as read from CuPy 13.6 and 14.2 themselves (tests/cupy_api.py):
a NumPy name that CuPy lacks is no attribute here (``cp.errstate``), an argument that CuPy's
function or method has no parameter for is refused (``cp.take(..., mode=)``,
``a.max(initial=)``, ``a.item(0)``), a NumPy attribute that ``cupy.ndarray`` lacks raises
(``a.resize``), ``np.f(a)`` of a device array needs CuPy's ``f`` (its ``__array_function__``),
of the ufuncs' methods only those CuPy implements run (``reduce`` of ``add`` and
``multiply`` only, ``at`` of ``add``, ``subtract``, ``maximum``, ``minimum`` for CuPy's
dtypes), a 0-d device array is no index or slice bound (no ``__index__``), and the sort
kinds, ``lexsort`` keys and ``pad`` modes are CuPy's (``_VALUES``). What it cannot: the other
values an argument may take where CuPy takes fewer (those of functions minifcn does not call),
results where CuPy's algorithm differs (NaN order, float16 sums, random draws), or its speed;
only a real GPU tells (``MINIFCN_DEVICE=cuda python -m pytest``, see the README).

>>> cp = _module                       # as a test gets it: ``import cupy as cp``
>>> a = cp.asarray([1.0, 2.0])
>>> type(a) is cp.ndarray, type(a * 2) is cp.ndarray, type(cp.zeros(3)[1:]) is cp.ndarray
(True, True, True)
>>> type(cp.asnumpy(a)) is np.ndarray, type(a.sum()) is cp.ndarray, a.sum().shape
(True, True, ())
>>> a + np.ones(2)
Traceback (most recent call last):
TypeError: Unsupported type <class 'numpy.ndarray'>
>>> cp.errstate
Traceback (most recent call last):
AttributeError: module 'cupy' has no attribute 'errstate' (CuPy 13.6 and 14.2 have none: tests/cupy_api.py)
>>> cp.max(a, initial=0.0)
Traceback (most recent call last):
TypeError: cupy.max() got an unexpected keyword argument 'initial' (CuPy's parameters: a axis out keepdims)
"""
from __future__ import annotations

import functools
import sys
import types

import numpy as np

import cupy_api   # tests/ is on the path, as for this module

# CuPy's names as sets (looked up on every ufunc call and function call of a device array)
_NAMES = {space: frozenset(names) for space, names in cupy_api.NAMES.items()}


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
        if method != "__call__" or kwargs or ufunc.__name__ not in _NAMES[""]:
            refusal = _ufunc_refusal(ufunc, method, inputs, kwargs)
            if refusal and not _numpy_inside(_caller()):   # NumPy's own (``a.sum()``): CuPy's code
                raise refusal
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

    def __array_function__(self, func, types, args, kwargs):
        # ``np.f(a)`` runs CuPy's ``f`` of the same module path, and fails where CuPy has none
        # (CuPy's ``ndarray.__array_function__``: ``NotImplemented``, then NumPy's TypeError)
        space = ".".join(func.__module__.split(".")[1:])
        if func.__name__ not in _NAMES.get(space, ()):
            refusal = TypeError(f"no implementation found for '{func.__module__}.{func.__name__}'"
                                " on types that implement __array_function__: [cupy.ndarray]")
        else:
            refusal = _call_refusal(f"{space}.{func.__name__}".lstrip("."), args, kwargs)
        # NumPy 1.x dispatches from Python (``<__array_function__ internals>``, in
        # numpy.core.overrides' namespace): the caller is the frame past it
        if refusal and not _numpy_inside(_caller(past="numpy.core.overrides")):
            raise refusal
        return super().__array_function__(func, types, args, kwargs)

    def __index__(self):
        # ``cupy.ndarray`` has no ``__index__`` (CuPy 13.6, 14.2): a 0-d device array is no
        # length, index or slice bound (``range(n)``, ``a[:n]``, ``reshape(n)``); ``int(n)`` is
        # (NumPy asks it of a slice bound from within this class's ``__getitem__``)
        if not _numpy_inside(_caller(2, past=__name__)):
            raise TypeError("'cupy.ndarray' object cannot be interpreted as an integer")
        return super().__index__()

    def __getitem__(self, key):
        return _device(super().__getitem__(_index_arrays(key)))

    def __setitem__(self, key, value):
        key = _index_arrays(key)
        # CuPy's basic indexing writes a value that is not a device array with ``fill``, which
        # takes a host array of 0 dimensions only; index arrays (advanced indexing) copy it over
        if (isinstance(value, np.ndarray) and not isinstance(value, ndarray) and value.ndim
                and not _advanced(key)):
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        super().__setitem__(key, value)


def _caller(depth=2, past=None):
    """The module that called the function this is called in; with ``past``, the first one
    up the stack that is not that module."""
    frame = sys._getframe(depth)
    while past is not None and frame.f_back is not None and frame.f_globals.get("__name__") == past:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "")


@functools.lru_cache(maxsize=None)
def _parameters(spec):
    """CuPy's parameters as tests/cupy_api.py writes them (``"a axis *shape"``): the keyword
    names, and how many positional arguments they take (None: any number)."""
    names = spec.split()
    many = any(n.startswith("*") and not n.startswith("**") for n in names)
    plain = [n for n in names if not n.startswith("*")]
    return frozenset(plain), None if many else len(plain), any(n.startswith("**") for n in names)


def _argument_refusal(what, spec, args, kwargs):
    """CuPy's TypeError where ``args``/``kwargs`` do not fit CuPy's ``spec``, else None."""
    keywords, most, any_keyword = _parameters(spec)
    if most is not None and len(args) > most:
        return TypeError(f"{what} takes at most {most} positional arguments ({len(args)} given; "
                         f"CuPy's parameters: {spec})")
    extra = [k for k in kwargs if k not in keywords]
    if extra and not any_keyword:
        return TypeError(f"{what} got an unexpected keyword argument {extra[0]!r} "
                         f"(CuPy's parameters: {spec})")
    return None


def _call_refusal(path, args, kwargs):
    """What CuPy's function ``path`` (``"take"``, ``"random.randint"``) would raise for these
    arguments, else None."""
    refusal = None
    if path in cupy_api.SIGNATURES:
        refusal = _argument_refusal(f"cupy.{path}()", cupy_api.SIGNATURES[path], args, kwargs)
    if refusal is None and path in _VALUES:
        try:
            _VALUES[path](*args, **kwargs)
        except Exception as e:   # noqa: BLE001 (the rule's own error, as CuPy's)
            refusal = e
    return refusal


def _stable_only(a, axis=-1, kind=None, *rest, **more):
    # cupy/_sorting/sort.py (13.6, 14.2): "kind can only be None or 'stable'"
    if kind not in (None, "stable"):
        raise ValueError(f"kind can only be None or 'stable', not {kind!r}")


def _keys_array(keys, *rest, **more):
    # cupy/_sorting/sort.py, ``lexsort``: the keys are one array of rank 1 or 2 (it asks for
    # ``keys.ndim``; NumPy also takes a tuple of 1-d keys), and no ``axis``
    if not isinstance(keys, ndarray):
        raise AttributeError(f"'{type(keys).__name__}' object has no attribute 'ndim'")
    if keys.ndim > 2:
        raise NotImplementedError("Keys with the rank of three or more is not supported in lexsort")


def _pad_mode(array, pad_width, mode="constant", **kwargs):
    # cupy/_padding/pad.py: no 'median' mode and no callable one
    if mode not in ("constant", "edge", "linear_ramp", "maximum", "mean", "minimum",
                    "reflect", "symmetric", "wrap", "empty"):
        raise ValueError(f"mode '{mode}' is not supported")


# the values of an argument where CuPy takes fewer than NumPy, for the functions minifcn calls
_VALUES = {"sort": _stable_only, "argsort": _stable_only, "lexsort": _keys_array, "pad": _pad_mode}


# CuPy's ufuncs (cupy/_core/_kernel.pyx, ``ufunc``): ``__call__`` takes ``out``, ``dtype`` and
# ``casting`` (no ``where``); ``reduce`` and ``accumulate`` exist for ``add`` and ``multiply``
# only (``sum``/``prod``, ``cumsum``/``cumprod``; no ``initial``/``where``), ``reduceat`` for
# ``add``; ``at`` for the ufuncs with a scatter kernel, and with an index array only for
# the dtypes that kernel has (_routines_indexing.pyx, ``_scatter_op_single``; CuPy 13 has no
# int64 ``add.at``); ``outer`` for any (a broadcast call).
_UFUNC_KEYWORDS = {"__call__": {"out", "dtype", "casting"},
                   "reduce": {"axis", "dtype", "out", "keepdims"},
                   "accumulate": {"axis", "dtype", "out"},
                   "reduceat": {"axis", "dtype", "out"}, "at": set(), "outer": {"out", "dtype", "casting"}}
_UFUNC_METHODS = {"reduce": {"add", "multiply"}, "accumulate": {"add", "multiply"},
                  "reduceat": {"add"}}
_SCATTER_DTYPES = {
    "add": ("int32", "uint32", "uint64", "float16", "float32", "float64"),
    "subtract": ("int32", "uint32"),
    "maximum": ("int32", "int64", "uint32", "uint64", "float32", "float64"),
    "minimum": ("int32", "int64", "uint32", "uint64", "float32", "float64"),
    "bitwise_and": ("int32", "int64", "uint32", "uint64"),
    "bitwise_or": ("int32", "int64", "uint32", "uint64"),
    "bitwise_xor": ("int32", "int64", "uint32", "uint64")}


def _ufunc_refusal(ufunc, method, inputs, kwargs):
    """What CuPy raises for ``ufunc.method(*inputs, **kwargs)``, else None."""
    name = ufunc.__name__
    if name.startswith("_"):   # NumPy's private ufuncs its operators call (1.x's ``a ** 0``:
        return None            # ``_ones_like``); CuPy's operators have kernels of their own
    if name not in _NAMES[""]:
        return TypeError(f"operand type(s) all returned NotImplemented from __array_ufunc__"
                         f"({name!r}, {method!r}): CuPy has no ufunc {name!r}")
    if method in _UFUNC_METHODS and name not in _UFUNC_METHODS[method]:
        return NotImplementedError(f"`cupy_{name}.{method}` is not supported yet")
    if method == "at":
        if name not in _SCATTER_DTYPES:
            return NotImplementedError(f"`cupy_{name}.at` is not supported yet")
        a, index = inputs[0], inputs[1]
        if _advanced(index) and a.dtype.name not in _SCATTER_DTYPES[name]:
            return TypeError(f"cupy.{name}.at only supports "
                             f"{', '.join(_SCATTER_DTYPES[name])} as data type, not {a.dtype}")
    extra = kwargs.keys() - _UFUNC_KEYWORDS[method] if kwargs else ()
    if extra:
        return TypeError(f"Wrong arguments {sorted(extra)} for cupy.{name}.{method}")
    return None


def _index_arrays(key):
    """``key`` with its 0-d device arrays as plain ones: an index array (``a[n]``, CuPy's
    advanced indexing) is fine, where the same array as a slice bound (``a[:n]``) asks for the
    ``__index__`` that CuPy's arrays lack."""
    if type(key) is ndarray:
        return key.view(np.ndarray) if not key.ndim else key
    if type(key) is tuple and ndarray in map(type, key):
        return tuple(k.view(np.ndarray) if type(k) is ndarray and not k.ndim else k for k in key)
    return key


def _advanced(key):
    """Whether an index takes NumPy's (and CuPy's) advanced indexing: an array, list or bool."""
    return any(isinstance(k, (np.ndarray, list, bool, np.bool_))
               for k in (key if isinstance(key, tuple) else (key,)))


def _checked_method(name, method):
    """``method`` refusing what ``cupy.ndarray``'s method of that name has no parameter for,
    when minifcn or a test calls it (NumPy's own functions call methods as they like)."""
    what, spec = f"cupy.ndarray.{name}()", cupy_api.NDARRAY_SIGNATURES[name]
    keywords, most, _ = _parameters(spec)

    def call(self, *args, **kwargs):
        # the cheap test first: these methods run on every step of every test
        if (most is not None and len(args) > most) or (kwargs and not kwargs.keys() <= keywords):
            if not _numpy_inside(_caller()):
                raise _argument_refusal(what, spec, args, kwargs)
        return method(self, *args, **kwargs)
    # NumPy's name, not its docstring (whose examples pytest's doctests would collect here)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"NumPy's ``ndarray.{name}`` with CuPy's parameters: {spec or 'none'}."
    return call


def _lacking(name):
    """An attribute NumPy's arrays have and CuPy's have not: an AttributeError, as on a GPU,
    when minifcn or a test asks for it."""
    def get(self):
        if _numpy_inside(_caller()):
            return getattr(super(ndarray, self), name)
        raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r} "
                             "(tests/cupy_api.py)")
    return property(get)


for _name in dir(np.ndarray):
    if _name.startswith("_") or _name == "get":
        continue
    if _name not in cupy_api.NDARRAY:
        setattr(ndarray, _name, _lacking(_name))
    elif _name in cupy_api.NDARRAY_SIGNATURES:
        setattr(ndarray, _name, _checked_method(_name, getattr(ndarray, _name)))


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


def _checked_call(path, fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        refusal = _call_refusal(path, args, kwargs)
        if refusal:
            raise refusal
        return fn(*args, **kwargs)
    return call


class _Namespace(types.ModuleType):
    """NumPy's module ``real``, its functions returning ``ndarray``; submodules likewise. Types
    (dtypes, ``finfo``), constants and ufuncs (which keep the class of their inputs, and have
    methods of their own) pass through as they are. Only the names CuPy has too are there
    (``space``: the namespace's path in tests/cupy_api.py), and a function whose CuPy
    signature is narrower than NumPy's refuses the arguments CuPy's would."""

    def __init__(self, name, real, space="", **own):
        super().__init__(name)
        self._real = real
        self._space = space
        self.__dict__.update(own)

    def __getattr__(self, name):
        if name.startswith("__"):   # a module's own attributes (``__path__``, ...) are not NumPy's
            raise AttributeError(name)
        if name not in _NAMES.get(self._space, ()):
            module = ".".join(["cupy", self._space]).rstrip(".")
            raise AttributeError(f"module {module!r} has no attribute {name!r} "
                                 "(CuPy 13.6 and 14.2 have none: tests/cupy_api.py)")
        value = getattr(self._real, name)
        path = f"{self._space}.{name}".lstrip(".")
        if isinstance(value, types.ModuleType):
            value = _Namespace(f"{self.__name__}.{name}", value, path)
        elif callable(value) and not isinstance(value, (type, np.ufunc)):
            value = _on_device(value)
            if path in cupy_api.SIGNATURES or path in _VALUES:
                value = _checked_call(path, value)
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


random = _Namespace(f"{__name__}.random", np.random, "random", random_sample=_random_sample)
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
