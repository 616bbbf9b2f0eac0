"""Helpers for the PyTorch-oracle tests. torch is imported lazily, inside each test, through
``pytest.importorskip("torch")`` so the suite skips these tests cleanly without it.

Tolerances:

* float64: both libraries do the same arithmetic in a different summation order, so results
  agree to ~1e-15 relative; 1e-10 is a wide margin that still catches any wrong index.
* float32: the unit roundoff is 2**-24 ~ 6e-8 and one output sums up to c*kh*kw products
  (hundreds), summed in a different order by our BLAS and torch's kernels, so differences of
  ~1e-6 of the largest magnitude are normal. We allow 1e-4 relative to the tensor's largest
  value: a real mistake (a wrong tap, a missing term) changes values by O(1) of that scale.
"""
from __future__ import annotations

import numpy as np

from minifcn import Tensor, backend

DTYPES = [np.float64, np.float32]


def to_np(a):
    """Host copy of a minifcn Tensor, an xp array or a torch tensor."""
    if type(a).__module__.startswith("torch"):
        return a.detach().cpu().numpy()
    if isinstance(a, Tensor):  # only Tensors: NumPy and CuPy arrays have a .data attribute too
        a = a.data
    return backend.to_numpy(a)


def torch_tensor(torch, a, requires_grad=False):
    """A CPU torch tensor holding a copy of ``a`` (any array or Tensor), dtype kept."""
    t = torch.from_numpy(np.array(to_np(a), copy=True))
    return t.requires_grad_(requires_grad) if requires_grad else t


def assert_close(ours, theirs, dtype, what=""):
    """Compare with the tolerance of ``dtype`` (see the module docstring for why)."""
    a, b = to_np(ours), to_np(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    if np.dtype(dtype) == np.float64:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=what)
    else:
        scale = max(float(np.abs(b).max()), 1e-30) if b.size else 1.0
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


def check_vs_torch(torch, fn_ours, fn_torch, arrays, dtype, rng):
    """Forward of ``fn_ours`` vs ``fn_torch`` on the same inputs (x, W[, b]), then the gradient
    of every input for one random upstream gradient, each within ``assert_close``'s tolerance."""
    ours = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    theirs = [torch_tensor(torch, a.astype(dtype), requires_grad=True) for a in arrays]
    y, yt = fn_ours(*ours), fn_torch(*theirs)
    assert_close(y, yt, dtype, "forward")
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for name, a, b in zip("xWb", ours, theirs):
        assert_close(a.grad, b.grad, dtype, f"grad {name}")
