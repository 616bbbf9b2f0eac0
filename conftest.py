"""Root pytest configuration, shared by ``tests/`` and the doctests under ``minifcn/``.

Under ``MINIFCN_DEVICE=cuda``, tests that do not take the ``xp`` fixture (and every doctest) build
modules on the default device yet feed them NumPy data by construction, so they are pinned to
the CPU. The GPU runs the ``xp`` tests (every op and model, see ``tests/conftest.py``) and the
training tests that ask for the GPU by name.

minifcn is imported here, first, so that the whole suite runs on the BLAS settings a user's
program gets (``import minifcn`` sets OpenBLAS's idle spin and may pick its kernels: see
``minifcn/__init__.py``).
"""
import minifcn  # noqa: F401  (first: see above)
import pytest


@pytest.fixture(autouse=True)
def _pin_default_device_unless_xp(request, monkeypatch):
    if "xp" not in request.fixturenames:
        monkeypatch.setenv("MINIFCN_DEVICE", "cpu")
