"""Shared fixtures: every test body runs once per available backend through ``xp``.

``xp`` is NumPy always, and CuPy too when a CUDA GPU answers (``MINIFCN_DEVICE=cuda`` or not):
one test body, no per-device copies.
Tests without ``xp`` are pinned to the CPU even under ``MINIFCN_DEVICE=cuda`` (the root
``conftest.py`` says why).
"""
import os

import numpy as np
import pytest

from minifcn import backend

os.environ.setdefault("MPLBACKEND", "Agg")

# with no GPU, CuPy's part is played by NumPy (tests/fakecupy.py): minifcn's GPU code paths run
_BACKENDS = ["numpy", "cupy" if backend.gpu_available() else "fakecupy"]


def _stand_in_for_cupy(monkeypatch):
    """Install CuPy's NumPy stand-in for this test: minifcn then takes its arrays for GPU arrays."""
    import fakecupy   # tests/ is on the path, as for oracle.py
    monkeypatch.setattr(backend, "_cupy", fakecupy)
    monkeypatch.setattr(backend, "_gpu_available", True)
    fakecupy.refuse_host_conversions(monkeypatch)
    return fakecupy


@pytest.fixture(params=_BACKENDS)
def xp(request, monkeypatch):
    if request.param == "cupy":
        import cupy
        return cupy
    if request.param == "fakecupy":
        return _stand_in_for_cupy(monkeypatch)
    return np


@pytest.fixture
def gpu(monkeypatch):
    """CuPy when a GPU answers, else its NumPy stand-in, installed: device "cuda" then runs the
    GPU code paths on the CPU."""
    if backend.gpu_available():
        import cupy
        return cupy
    return _stand_in_for_cupy(monkeypatch)


@pytest.fixture
def stand_in(monkeypatch):
    """CuPy's NumPy stand-in, installed even when a GPU answers: for the tests that count a GPU
    path's operations, which CuPy's own arrays do not let them patch."""
    return _stand_in_for_cupy(monkeypatch)


@pytest.fixture(autouse=True)
def blocks_of_any_size(monkeypatch):
    """Cut even the tests' tiny arrays into blocks on the CPU's threads, as the big maps of a
    training step are (small ones stay on one thread: ``threads.MIN_BLOCK_VALUES``), so the
    tests check the threaded block code. tests/test_threads.py checks the size rule itself."""
    from minifcn.kernels import threads
    monkeypatch.setattr(threads, "MIN_BLOCK_VALUES", 1)


@pytest.fixture
def host_default_device(monkeypatch):
    """Pin the default device to the CPU even under MINIFCN_DEVICE=cuda, for tests that build
    modules on the default device and feed them NumPy data (tests taking ``xp`` move things)."""
    monkeypatch.setenv("MINIFCN_DEVICE", "cpu")


@pytest.fixture
def torch64():
    """PyTorch with float64 as its default dtype, the old one put back after: the optimizers
    whose state holds a 0-d tensor of that dtype there (NAdam's ``mu_product``, ASGD's ``eta``
    and ``mu``; float32 by default) and a Python float (float64) here are compared in it; the
    other optimizers' steps do not read the default dtype."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def to_np(a):
    """Host copy of an array or Tensor (for comparisons). CuPy arrays have a ``.data`` (a device
    pointer) too, so only a Tensor is unwrapped."""
    from minifcn import Tensor
    return backend.to_numpy(a.data if isinstance(a, Tensor) else a)
