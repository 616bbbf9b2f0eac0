"""PyTorch's small pieces of ``torch.nn`` a training loop reaches for: gradient clipping
(``minifcn.nn.utils``), the activation, flatten and MSE modules, ``F.one_hot``; each against
PyTorch and, where it has a gradient, against finite differences in float64."""
import math

import numpy as np
import pytest

import minifcn.nn as nn
from minifcn import Tensor
from oracle import assert_close, to_np, torch_tensor


# --------------------------------------------------------------------- gradient clipping
def _params_with_grads(xp, rng, dtype, scale, shapes=((3, 4), (5,), (2, 1, 3))):
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
    params = [nn.Parameter(xp.zeros(s, dtype=dtype)) for s in shapes]
    for p, g in zip(params, grads):
        p.grad = xp.asarray(g)
    return params, grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("scale", [10.0, 0.01])   # clipped, and left alone
def test_clip_grad_norm_as_pytorch(xp, rng, dtype, norm_type, scale):
    torch = pytest.importorskip("torch")
    params, grads = _params_with_grads(xp, rng, dtype, scale)
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch_tensor(torch, g).dtype)) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch_tensor(torch, g)
    total = nn.utils.clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, Tensor) and total.shape == () and total.dtype == dtype
    assert total.device == params[0].device
    assert_close(total, want, dtype, "total norm")
    for p, t in zip(params, theirs):
        assert p.grad.dtype == dtype
        assert_close(p.grad, t.grad, dtype, "clipped gradient")


def test_clip_grad_norm_in_place_skips_missing_grads_and_takes_one_tensor(xp):
    a, b = nn.Parameter(xp.zeros(2)), nn.Parameter(xp.zeros(3))
    a.grad = xp.asarray([3.0, 4.0])
    g = a.grad
    total = nn.utils.clip_grad_norm_(iter([a, b]), 1.0)   # b has no gradient: skipped
    assert a.grad is g and b.grad is None   # in place, as the underscore says
    assert total.item() == 5.0
    np.testing.assert_allclose(to_np(a.grad), [0.6, 0.8], rtol=1e-6)
    assert nn.utils.clip_grad_value_(a, 0.7) is None      # one Tensor, not a list
    np.testing.assert_allclose(to_np(a.grad), [0.6, 0.7], rtol=1e-6)
    zero = nn.utils.clip_grad_norm_([b], 1.0)
    assert zero.item() == 0.0 and zero.dtype == np.float32   # as torch.tensor(0.)


def test_clip_grad_norm_non_finite_as_pytorch():
    torch = pytest.importorskip("torch")
    g = np.array([np.nan, 1.0, 1.0], np.float32)
    p, t = nn.Parameter(np.zeros(3, np.float32)), torch.nn.Parameter(torch.zeros(3))
    p.grad, t.grad = g.copy(), torch.from_numpy(g.copy())
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad, g)   # nothing changed before the error
    total = nn.utils.clip_grad_norm_(p, 1.0)
    want = torch.nn.utils.clip_grad_norm_(t, 1.0)
    assert math.isnan(total.item()) and math.isnan(want.item())
    np.testing.assert_array_equal(p.grad, t.grad.numpy())   # all NaN, in both


def test_clip_grad_value_as_pytorch(xp, rng):
    torch = pytest.importorskip("torch")
    params, grads = _params_with_grads(xp, rng, np.float32, 2.0)
    theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.from_numpy(g.copy())
    nn.utils.clip_grad_value_(params, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, t in zip(params, theirs):
        np.testing.assert_array_equal(to_np(p.grad), t.grad.numpy())


def test_clipping_refuses_what_pytorch_would_misread():
    p = nn.Parameter(np.zeros(2)); p.grad = np.ones(2)
    with pytest.raises(ValueError, match="max_norm must be a number >= 0, got -1.0"):
        nn.utils.clip_grad_norm_(p, -1)
    with pytest.raises(ValueError, match="norm_type must be positive or inf, got 0"):
        nn.utils.clip_grad_norm_(p, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value must be a number >= 0, got -0.5"):
        nn.utils.clip_grad_value_(p, -0.5)


def test_nn_utils_imports_as_pytorch_s():
    from minifcn.nn.utils import clip_grad_norm_, clip_grad_value_
    import minifcn.nn.utils as utils
    assert utils.clip_grad_norm_ is clip_grad_norm_ and nn.utils.clip_grad_value_ is clip_grad_value_
