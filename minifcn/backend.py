"""The one module that knows about CuPy.

Every kernel in minifcn starts with ``xp = get_array_module(x)`` and then calls ``xp.*``:
the same code runs on NumPy arrays (CPU) and CuPy arrays (GPU). Nothing else imports cupy.

The default device comes from the environment variable ``MINIFCN_DEVICE`` (``cpu`` or
``cuda``); ``Tensor.to("cuda")`` and ``Module.to("cuda")`` move things explicitly.

>>> import numpy as np
>>> get_array_module(np.zeros(3)) is np
True
>>> device_of(np.zeros(3))
'cpu'
"""
from __future__ import annotations

import os

import numpy as np

try:  # importing cupy succeeds on machines without a GPU, so also ask whether one is there
    import cupy as _cupy
except Exception:  # ImportError, or a broken CUDA install
    _cupy = None

_gpu_available: bool | None = None


def gpu_available() -> bool:
    """True when CuPy is importable *and* a CUDA device answers."""
    global _gpu_available
    if _gpu_available is None:
        try:
            _gpu_available = _cupy is not None and bool(_cupy.cuda.is_available())
        except Exception:
            _gpu_available = False
    return _gpu_available


def get_array_module(*arrays):
    """``cupy`` if any argument is a CuPy array, else ``numpy`` (Tensors are unwrapped)."""
    if _cupy is not None:
        for a in arrays:
            if not isinstance(a, (np.ndarray, _cupy.ndarray)):
                a = getattr(a, "data", a)  # a minifcn Tensor: look at the array inside
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def check_device(device: str) -> str:
    """Normalise a device name (``"cpu"``, ``"cuda"``, ``"cuda:0"``, or PyTorch's GPU index,
    ``0``) or raise ValueError."""
    if isinstance(device, int) and not isinstance(device, bool):   # .to(0), as PyTorch's
        device = f"cuda:{device}"
    name = str(device).lower()
    if name == "gpu" or name.startswith("cuda"):
        if not gpu_available():
            raise ValueError(f"device {device!r} asked for, but no CUDA GPU is usable "
                             "(install cupy-cuda12x / cupy-cuda13x on a machine with a GPU)")
        return "cuda"
    if name in ("cpu", "cpu:0"):   # PyTorch's spelling of the one CPU device too
        return "cpu"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def default_device() -> str:
    """The device named by ``MINIFCN_DEVICE`` (default ``cpu``)."""
    try:
        return check_device(os.environ.get("MINIFCN_DEVICE", "cpu"))
    except ValueError as e:   # say where the name came from: no argument of the user's gave it
        raise ValueError(f"MINIFCN_DEVICE={os.environ['MINIFCN_DEVICE']!r} (the default device): "
                         f"{e}") from None


def xp_for(device: str | None = None):
    """The array module of a device (``None`` = the default device)."""
    return _cupy if check_device(device or default_device()) == "cuda" else np


def device_of(array) -> str:
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cuda" if get_array_module(array) is not np else "cpu"


def to_device(array, device: str | None = None):
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    device = check_device(default_device() if device is None else device)   # 0 had read as None
    if device == "cuda":
        return _cupy.asarray(array)
    return to_numpy(array)


def to_numpy(array):
    """A NumPy array on the host, whatever ``array`` is: a NumPy or CuPy array, a minifcn
    Tensor (its data), a list or a number. CuPy's arrays are copied by ``asnumpy``: they
    refuse ``np.asarray``."""
    if hasattr(array, "requires_grad"):   # a minifcn Tensor (autograd imports this module)
        array = array.data
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.asnumpy(array)
    return np.asarray(array)


# --------------------------------------------------------------------- random numbers
# The host's generator, kept here so that dropout draws are reproducible from a seed and a
# checkpoint can store (and resume) its state bit for bit; CuPy draws from its own global one.
_rng = {"numpy": np.random.default_rng(0)}


def manual_seed(seed: int):
    """Seed the generators of both backends (dropout and weight initialisation; the data's
    shuffling and augmentation draw from generators of their own)."""
    _rng["numpy"] = np.random.default_rng(seed)
    if gpu_available():
        _cupy.random.seed(seed)


def numpy_rng() -> np.random.Generator:
    """The host generator (parameter initialisation and CPU dropout draw from it)."""
    return _rng["numpy"]


def random_uniform(xp, shape, dtype):
    """Uniform [0, 1) samples of ``shape`` and float ``dtype`` on the device of ``xp``."""
    if xp is np:
        return _rng["numpy"].random(shape, dtype=np.dtype(dtype))
    return xp.random.random_sample(shape, dtype=dtype)


def random_normal(xp, shape):
    """Standard normal float64 samples of ``shape`` on the device of ``xp`` (``minifcn.randn``)."""
    if xp is np:
        return _rng["numpy"].standard_normal(shape)
    return xp.random.standard_normal(shape)


def random_integers(xp, low, high, shape):
    """int64 samples of ``shape``, each of ``low .. high - 1`` equally likely, on the device of
    ``xp`` (``minifcn.randint``): the generators' own integer draws, unbiased for any range,
    where ``floor(u * (high - low))`` of a float would not be."""
    if xp is np:
        return _rng["numpy"].integers(low, high, shape, dtype=np.int64)
    return xp.random.randint(low, high, shape, dtype=np.int64)


def get_rng_state():
    """The host generator's state (a dict), for checkpoints."""
    return _rng["numpy"].bit_generator.state


def set_rng_state(state):
    _rng["numpy"].bit_generator.state = state
