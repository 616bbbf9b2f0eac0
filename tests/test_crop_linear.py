"""crop, linear and relu: definition, finite differences, PyTorch."""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np


# --------------------------------------------------------------------- crop
@pytest.mark.parametrize("offset,size", [(0, (3, 4)), (2, (3, 3)), ((1, 3), (4, 2)), ((3, 0), (2, 6)),
                                         (0, (6, 7))])
def test_crop_is_a_top_left_anchored_window(xp, rng, offset, size):
    x = rng.standard_normal((2, 3, 6, 7))
    oy, ox = (offset, offset) if np.isscalar(offset) else offset
    y = F.crop(xp.asarray(x), offset, size)
    want = np.empty(x.shape[:2] + tuple(size))   # pixel by pixel: not the slice the code takes
    for i in range(size[0]):
        for j in range(size[1]):
            want[:, :, i, j] = x[:, :, oy + i, ox + j]
    np.testing.assert_array_equal(to_np(y), want)


def test_crop_size_from_a_tensor_array_or_4d_shape(xp, rng):
    x = xp.asarray(rng.standard_normal((1, 2, 9, 9)))
    ref = Tensor(xp.zeros((1, 5, 4, 3)))
    assert F.crop(x, 5, ref).shape == (1, 2, 4, 3)
    assert F.crop(x, 5, ref.data).shape == (1, 2, 4, 3)   # a bare array: its shape, not its values
    assert F.crop(x, (1, 2), (1, 5, 4, 3)).shape == (1, 2, 4, 3)


def test_crop_and_linear_refuse_what_they_had_misread(xp):
    x = xp.zeros((1, 1, 6, 6))
    with pytest.raises(ValueError, match="crop: size must be >= 0"):   # -1 had sliced as Python does
        F.crop(x, 0, (-1, 3))
    with pytest.raises(TypeError, match="crop: size must be an int or a pair of ints, got"):
        F.crop(x, 0, (2.9, 3.9))   # had been cut to (2, 3)
    assert F.crop(x, 1, 3).shape == (1, 1, 3, 3)   # an int, as offset takes one
    with pytest.raises(ValueError, match="crop: input must be 4-D"):
        F.crop(x[0], 0, (3, 3))
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints, got True"):
        F.conv2d(x, xp.zeros((1, 1, 3, 3)), stride=True)   # True had been stride 1
    w = Tensor(xp.ones((4, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"linear: bias shape \(1,\) should be \(4,\)"):
        F.linear(xp.ones((2, 3)), w, xp.zeros(1))   # had broadcast, its gradient (4,)
    with pytest.raises(TypeError, match="input float32, weight float64"):
        F.linear(xp.ones((2, 3), dtype=xp.float32), w)


def test_crop_gradcheck(xp, rng):
    x = xp.asarray(rng.standard_normal((1, 2, 5, 6)))
    assert gradcheck(lambda x: F.crop(x, (1, 2), (3, 3)), [x])


def test_crop_and_its_backward_are_adjoint(xp, rng):
    # crop is a selection matrix S; its backward must be S.T, which puts g back in the window
    # and zeros around it: <crop(x), g> = <x, crop_backward(g)>
    x = Tensor(xp.asarray(rng.standard_normal((2, 3, 6, 7))), requires_grad=True)
    g = rng.standard_normal((2, 3, 3, 4))
    y = F.crop(x, (1, 2), (3, 4))
    y.backward(xp.asarray(g))
    lhs, rhs = float((to_np(y.data) * g).sum()), float((to_np(x.data) * to_np(x.grad)).sum())
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))
    assert not to_np(x.grad)[:, :, :1].any() and not to_np(x.grad)[:, :, :, 6:].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_crop_vs_torch_slicing(rng, dtype):
    torch = pytest.importorskip("torch")
    check_vs_torch(torch, lambda x: F.crop(x, (2, 1), (3, 5)), lambda x: x[:, :, 2:5, 1:6],
                   [rng.standard_normal((2, 3, 6, 7)).astype(dtype)], dtype, rng)


def test_fcn32s_crop_of_19_recovers_the_input_grid(xp):
    # FCN-32s: a 500x500 image gives a 568x568 upscore map; offset 19 realigns it
    y = F.crop(xp.zeros((1, 21, 568, 568)), 19, (500, 500))
    assert y.shape == (1, 21, 500, 500)


# --------------------------------------------------------------------- linear
def test_linear_matches_definition(xp, rng):
    x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    y = F.linear(xp.asarray(x), xp.asarray(W), xp.asarray(b))
    ref = np.array([[sum(x[i, k] * W[j, k] for k in range(5)) + b[j] for j in range(3)] for i in range(4)])
    np.testing.assert_allclose(to_np(y), ref, atol=1e-10, rtol=0)


def test_linear_gradcheck(xp, rng):
    arrays = [rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)]
    assert gradcheck(lambda x, W, b: F.linear(x, W, b), [xp.asarray(a) for a in arrays])
    assert gradcheck(lambda x, W: F.linear(x, W), [xp.asarray(a) for a in arrays[:2]])


def test_linear_and_its_gradients_are_adjoint(xp, rng):
    # y = x W.T is linear in x (for a fixed W) and in W (for a fixed x): each gradient is the
    # transpose of that map, <y, g> = <x, gx> = <W, gW>
    x, W, g = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal((4, 3))
    xt, Wt = Tensor(xp.asarray(x), requires_grad=True), Tensor(xp.asarray(W), requires_grad=True)
    y = F.linear(xt, Wt)
    y.backward(xp.asarray(g))
    lhs = float((to_np(y.data) * g).sum())
    for a, ga in ((x, xt.grad), (W, Wt.grad)):
        assert abs(lhs - float((a * to_np(ga)).sum())) <= 1e-12 * max(1.0, abs(lhs))


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_vs_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    arrays = [a.astype(dtype) for a in (rng.standard_normal((4, 50)), rng.standard_normal((7, 50)),
                                        rng.standard_normal(7))]
    check_vs_torch(torch, F.linear, torch.nn.functional.linear, arrays, dtype, rng)


# --------------------------------------------------------------------- relu
@pytest.mark.parametrize("shape, threads", [((2, 3, 4), "2"), ((2, 5, 4, 3), "1"), ((2, 5, 4, 3), "3")])
def test_relu_definition_and_gradcheck(xp, rng, monkeypatch, shape, threads):
    # NCHW maps run in channel blocks, one per thread (3 threads: blocks of 2, 2 and 1 channels)
    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    x = rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink at 0, where there is no derivative
    np.testing.assert_array_equal(to_np(F.relu(xp.asarray(x))), np.maximum(x, 0))
    assert gradcheck(F.relu, [xp.asarray(x)])


@pytest.mark.parametrize("view", [np.s_[:, :, :, :5], np.s_[:, 1:4], np.s_[:, :, ::2]])
def test_relu_of_strided_views_and_nan(xp, rng, monkeypatch, view):
    """A convolution's output with its junk columns cut, a slice of channels, every other row:
    relu compares against zeros laid out for x's rows or planes, whatever their strides; NaN
    stays NaN, as in PyTorch."""
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    full = rng.standard_normal((3, 5, 6, 7))
    full[0, 1, 2, 3] = np.nan
    got = to_np(F.relu(xp.asarray(full)[view]).data)
    np.testing.assert_array_equal(got, np.maximum(full[view], 0))


def test_relu_gradient_at_zero_is_zero_like_torch(xp):
    x = Tensor(xp.asarray([-1.0, 0.0, 2.0]), requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [0.0, 0.0, 1.0])
    torch = pytest.importorskip("torch")
    xt = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch.relu(xt).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), xt.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_vs_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 5, 4, 3)).astype(dtype)
    x[0, 0, 0] = [0.0, -0.0, np.nan]   # the kink and a negative zero, as PyTorch treats them
    ours = Tensor(x, requires_grad=True)
    theirs = torch.from_numpy(x.copy()).requires_grad_()
    y, yt = F.relu(ours), torch.relu(theirs)
    np.testing.assert_array_equal(to_np(y.data), yt.detach().numpy())
    g = rng.standard_normal(x.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    theirs_grad = theirs.grad.numpy().copy()
    assert theirs_grad[0, 0, 0, 2] == g[0, 0, 0, 2] and ours.grad[0, 0, 0, 2] == 0   # at NaN: ours 0 (documented)
    theirs_grad[0, 0, 0, 2] = 0
    np.testing.assert_array_equal(to_np(ours.grad), theirs_grad)
