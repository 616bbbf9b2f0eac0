"""F.batch_norm on every rank PyTorch's takes, (n, c), (n, c, L), (n, c, h, w), (n, c, d, h, w):
a loop version, finite differences, the adjoint of eval mode, PyTorch, and the errors."""
import re

import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor

SHAPES = [(5, 3), (2, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 2)]


def _loop_stats(x):
    """Each channel's mean and biased variance, from its values listed one by one."""
    values = [[v for v in np.moveaxis(x, 1, 0)[ci].ravel()] for ci in range(x.shape[1])]
    mean = np.array([sum(vs) / len(vs) for vs in values])
    var = np.array([sum((v - m) ** 2 for v in vs) / len(vs) for vs, m in zip(values, mean)])
    return mean, var


@pytest.mark.parametrize("shape", SHAPES)
def test_every_rank_matches_the_loop_version(xp, rng, shape):
    x = rng.standard_normal(shape) * 2 + 3
    gamma, beta = 1 + rng.random(3), rng.standard_normal(3)
    rm, rv = xp.zeros(3), xp.ones(3)
    y = F.batch_norm(xp.asarray(x), rm, rv, xp.asarray(gamma), xp.asarray(beta), training=True)
    mean, var = _loop_stats(x)
    assert y.shape == shape
    np.testing.assert_allclose(to_np(y), naive.batch_norm(x, mean, var, gamma, beta), atol=1e-10, rtol=0)
    m = x.size // 3   # values per channel: the running variance is the unbiased one
    np.testing.assert_allclose(to_np(rm), 0.1 * mean, atol=1e-12)
    np.testing.assert_allclose(to_np(rv), 0.9 + 0.1 * var * m / (m - 1), atol=1e-12)
    run_mean, run_var = rng.standard_normal(3), 0.5 + rng.random(3)
    y = F.batch_norm(xp.asarray(x), xp.asarray(run_mean), xp.asarray(run_var), xp.asarray(gamma),
                     xp.asarray(beta), training=False)
    np.testing.assert_allclose(to_np(y), naive.batch_norm(x, run_mean, run_var, gamma, beta),
                               atol=1e-10, rtol=0)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_every_rank_gradcheck(rng, shape, training):
    x = rng.standard_normal(shape)
    gamma, beta = 1 + rng.random(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), 0.5 + rng.random(3)
    assert gradcheck(lambda x, g, b: F.batch_norm(x, rm.copy(), rv.copy(), g, b, training=training),
                     [x, gamma, beta])


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (2, 3, 2, 2, 2)])
def test_eval_without_shift_is_linear_and_its_backward_is_its_adjoint(rng, shape):
    x, u = rng.standard_normal(shape), rng.standard_normal(shape)
    gamma, rm, rv = rng.standard_normal(3), rng.standard_normal(3), 0.5 + rng.random(3)
    # eval without bias is x -> gamma * (x - rm) / s: linear once the constant (x = 0) is removed
    a = lambda x: F.batch_norm(x, rm, rv, gamma, None) - F.batch_norm(np.zeros(shape), rm, rv, gamma, None)
    xt = Tensor(x, requires_grad=True)
    F.batch_norm(xt, rm, rv, gamma, None).backward(u)
    np.testing.assert_allclose(np.vdot(to_np(a(x)), u), np.vdot(x, to_np(xt.grad)), rtol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("stats", [True, False])
def test_every_rank_matches_pytorch(rng, shape, training, affine, stats):
    torch = pytest.importorskip("torch")
    if not training and not stats:   # eval needs running statistics, as PyTorch's F.batch_norm
        return
    x = rng.standard_normal(shape) * 2 + 3
    params = [1 + rng.random(3), rng.standard_normal(3)][:{"both": 2, "weight": 1, "none": 0}[affine]]
    params += [None] * (2 - len(params))
    rm, rv = rng.standard_normal(3), 0.5 + rng.random(3)
    ours = [None if p is None else Tensor(p, requires_grad=True) for p in [x] + params]
    theirs = [None if p is None else torch_tensor(torch, p, requires_grad=True) for p in [x] + params]
    our_stats = (rm.copy(), rv.copy()) if stats else (None, None)
    their_stats = (torch.tensor(rm), torch.tensor(rv)) if stats else (None, None)
    y = F.batch_norm(ours[0], *our_stats, ours[1], ours[2], training=training, momentum=0.2, eps=1e-3)
    yt = torch.nn.functional.batch_norm(theirs[0], *their_stats, theirs[1], theirs[2], training=training,
                                        momentum=0.2, eps=1e-3)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for name, a, b in zip(("x", "weight", "bias"), ours, theirs):
        if a is not None:
            np.testing.assert_allclose(to_np(a.grad), to_np(b.grad), rtol=1e-10, atol=1e-10, err_msg=name)
    for a, b in zip(our_stats, their_stats):
        if a is not None:
            np.testing.assert_allclose(a, to_np(b), rtol=1e-12, atol=1e-12)


def test_the_4d_hot_path_passes_the_input_itself(xp, monkeypatch):
    # the models' (n, c, h, w) maps reach the kernel as they are: no reshape, no copy
    seen = []
    forward = F.BatchNorm.forward
    monkeypatch.setattr(F.BatchNorm, "forward", lambda self, x, *p: seen.append(x) or forward(self, x, *p))
    x = Tensor(xp.ones((2, 3, 4, 5)))
    F.batch_norm(x, None, None, None, None, training=True)
    assert seen[0] is x.data
    F.batch_norm(Tensor(xp.ones((2, 3, 4))), None, None, None, None, training=True)
    assert seen[1].shape == (2, 3, 1, 4)


@pytest.mark.parametrize("shape", [(), (3,)])
def test_fewer_than_two_dimensions_are_refused_naming_the_shape(xp, shape):
    with pytest.raises(ValueError, match=re.escape(f"batch_norm: input must have at least 2 dimensions "
                                                   f"(n, c, ...), got shape {shape}")):
        F.batch_norm(xp.ones(shape), xp.zeros(3), xp.ones(3), None, None, training=True)


@pytest.mark.parametrize("shape", [(2, 4), (2, 4, 5), (2, 4, 1, 1, 3)])
def test_a_channel_mismatch_names_the_input_shape(xp, shape):
    with pytest.raises(ValueError, match=re.escape(f"batch_norm: running_mean shape (3,) should be (4,) "
                                                   f"for 4 channels (input of shape {shape})")):
        F.batch_norm(xp.ones(shape), xp.zeros(3), xp.ones(3), None, None, training=True)
    with pytest.raises(ValueError, match=re.escape(f"batch_norm: weight shape (3,) should be (4,)")):
        F.batch_norm(xp.ones(shape), None, None, xp.ones(3), None, training=True)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1, 1)])
def test_one_value_per_channel_is_refused_in_training_at_every_rank(xp, shape):
    with pytest.raises(ValueError, match=re.escape(f"batch_norm: training needs more than one value per "
                                                   f"channel, got input of shape {shape} (one sample")):
        F.batch_norm(xp.ones(shape), None, None, None, None, training=True)
    assert F.batch_norm(xp.ones(shape), xp.zeros(3), xp.ones(3), None, None).shape == shape


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0, 2, 2)])
def test_an_empty_input_keeps_its_shape(xp, shape):
    y = F.batch_norm(xp.ones(shape), xp.zeros(3), xp.ones(3), xp.ones(3), xp.zeros(3), training=True)
    assert y.shape == shape


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 5), (2, 3, 2, 3, 2)])
def test_the_layer_batchnorm2d_takes_images_only(shape):
    """F.batch_norm takes every rank; nn.BatchNorm2d, as PyTorch's, refuses all but 4-D
    (it had taken them for a while, through the functional form)."""
    import minifcn.nn as nn
    x = np.ones(shape, np.float32)
    with pytest.raises(ValueError, match=re.escape(f"BatchNorm2d: input must be 4-D (n, c, h, w), got shape {shape}")):
        nn.BatchNorm2d(3)(Tensor(x))
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="expected 4D input"):
        torch.nn.BatchNorm2d(3)(torch.from_numpy(x))
