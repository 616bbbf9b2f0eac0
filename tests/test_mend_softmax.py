"""softmax, log_softmax and softmin: which axis they read (axis 1 by default, every dim from
-ndim to ndim - 1, a 0-d input's 0 and -1), the errors for the others, nn.Softmax's PyTorch guess."""
import math
import re

import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, nn
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor

OPS = ["softmax", "log_softmax", "softmin"]


def _loop(op, x, axis):
    """The op along ``axis``, one 1-d slice at a time with math.exp."""
    y = np.empty_like(x)
    # a 0-d input as one row of one value; moveaxis gives views, so moved_y writes into y
    moved_x = np.moveaxis(x.reshape(x.shape or (1,)), axis, -1)
    moved_y = np.moveaxis(y.reshape(y.shape or (1,)), axis, -1)
    for idx in np.ndindex(moved_x.shape[:-1]):
        row = [-v if op == "softmin" else v for v in moved_x[idx]]
        top = max(row)
        total = sum(math.exp(v - top) for v in row)
        moved_y[idx] = [v - top - math.log(total) if op == "log_softmax" else math.exp(v - top) / total
                        for v in row]
    return y


CASES = [((), 0), ((), -1), ((4,), 0), ((4,), -1), ((3, 4), 0), ((3, 4), -1), ((3, 4), -2),
         ((2, 3, 4), 0), ((2, 3, 4), 2), ((2, 3, 4), -3), ((2, 3, 2, 2), 3), ((2, 3, 2, 2), -4)]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape,dim", CASES)
def test_every_dim_matches_the_loop_and_finite_differences(xp, rng, op, shape, dim):
    x = rng.standard_normal(shape) * 3
    y = getattr(F, op)(xp.asarray(x), dim=dim)
    np.testing.assert_allclose(to_np(y), _loop(op, x, dim % max(len(shape), 1)), rtol=1e-12, atol=1e-14)
    assert gradcheck(lambda t: getattr(F, op)(t, dim=dim), [xp.asarray(x)])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape,dim", CASES)
def test_every_dim_matches_pytorch(rng, op, shape, dim):
    torch = pytest.importorskip("torch")
    x, g = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    ours, theirs = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y, yt = getattr(F, op)(ours, dim=dim), getattr(torch.nn.functional, op)(theirs, dim=dim)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-12, atol=1e-14)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_np(ours.grad), to_np(theirs.grad), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape,dim", [((4,), 1), ((4,), -2), ((), 1), ((), -2), ((3, 4), 2),
                                       ((3, 4), -3), ((2, 3, 4), 3), ((2, 3, 2, 2), -5)])
def test_a_dim_out_of_range_is_named_with_the_shape(xp, op, shape, dim):
    torch = pytest.importorskip("torch")
    n = max(len(shape), 1)
    with pytest.raises(IndexError, match=re.escape(f"{op}: dim {dim} is out of range [{-n}, {n - 1}] "
                                                   f"for an input of shape {shape}")):
        getattr(F, op)(xp.ones(shape), dim=dim)
    with pytest.raises(IndexError, match="Dimension out of range"):   # PyTorch refuses it too
        getattr(torch.nn.functional, op)(torch.ones(shape), dim=dim)


def test_the_tensor_methods_and_layers_name_a_bad_dim(xp):
    x = Tensor(xp.ones((2, 3)))
    message = "softmax: dim 2 is out of range [-2, 1] for an input of shape (2, 3)"
    with pytest.raises(IndexError, match=re.escape(message)):
        x.softmax(2)
    with pytest.raises(IndexError, match=re.escape("log_softmax: dim -3 is out of range")):
        x.log_softmax(-3)
    with pytest.raises(IndexError, match=re.escape("softmin: dim 5 is out of range")):
        nn.Softmin(dim=5)(x)
    with pytest.raises(TypeError, match=re.escape("softmax: dim must be an int, got float 1.0")):
        F.softmax(x, dim=1.0)
    with pytest.raises(TypeError, match=re.escape("log_softmax: dim must be an int, got bool True")):
        F.log_softmax(x, dim=True)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", [(), (4,)])
def test_the_default_axis_1_is_asked_for_dim_0_on_a_scalar_or_vector(xp, op, shape):
    # it had been NumPy's AxisError for softmax and log_softmax
    message = re.escape(f"{op}: a {len(shape)}-d input has no axis 1, the default") + ".*" + \
        re.escape(f"pass dim=0 (input of shape {shape})")
    with pytest.raises(ValueError, match=message):
        getattr(F, op)(xp.ones(shape))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 3, 2, 2)])
def test_the_default_reads_axis_1_at_every_rank_from_2(rng, op, shape):
    # the explicit default, kept: PyTorch's guess agrees for 2- and 4-d inputs, reads 0 for 3-d
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(to_np(getattr(F, op)(x)), to_np(getattr(F, op)(x, dim=1)))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        theirs = getattr(torch.nn.functional, op)(torch.from_numpy(x))
    guess = 0 if len(shape) == 3 else 1
    np.testing.assert_allclose(to_np(getattr(F, op)(x, dim=guess)), to_np(theirs), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layer", ["Softmax", "LogSoftmax", "Softmin"])
@pytest.mark.parametrize("shape", [(), (4,), (3, 4), (2, 3, 4), (2, 3, 2, 2)])
def test_layers_without_dim_guess_as_pytorch_with_a_warning(rng, layer, shape):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        ours = getattr(nn, layer)()(x)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        theirs = getattr(torch.nn, layer)()(torch.from_numpy(x))
    np.testing.assert_allclose(to_np(ours), to_np(theirs), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape, dim", [((3, 0, 2), 1), ((3, 0, 2), 0), ((0, 4), 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_empty_input_gives_empty_output_and_gradient(xp, name, shape, dim):
    """An empty input has nothing to normalise: an empty result and gradient, as PyTorch's
    (NumPy's max over an empty axis had raised)."""
    x = Tensor(xp.zeros(shape), requires_grad=True)
    y = getattr(F, name)(x, dim=dim)
    assert y.shape == shape
    y.sum().backward()
    assert x.grad.shape == shape
    torch = pytest.importorskip("torch")
    assert tuple(getattr(torch.nn.functional, name)(torch.zeros(shape), dim=dim).shape) == shape
