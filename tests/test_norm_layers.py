"""group_norm, layer_norm, instance_norm and their modules: naive loops, finite differences,
adjoint identities, PyTorch (forward, backward, running statistics, state dicts), errors."""
import warnings

import numpy as np
import pytest

import minifcn.functional as F
import minifcn.nn as nn
from minifcn import Tensor, naive, no_grad
from minifcn.kernels import norm as N
from minifcn.testing import GradcheckError, gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

# (input shape, num_groups): groups of several channels, one group, one channel a group,
# 3-D and 2-D inputs. Not groups of two values: their xhat is +-1 whatever x, so the input
# gradient is a float32 cancellation residue (1e-3 of the rest, 1 % apart in the two libraries)
GROUP_CASES = [((2, 6, 3, 4), 1), ((2, 6, 3, 4), 2), ((2, 6, 3, 4), 3), ((2, 6, 3, 4), 6),
               ((3, 4, 5), 2), ((4, 6), 2)]
# (input shape, normalized_shape): over the last 1, 2 and 3 dimensions, and a 2-D input
LAYER_CASES = [((2, 3, 4, 5), (5,)), ((2, 3, 4, 5), (4, 5)), ((2, 3, 4, 5), (3, 4, 5)), ((3, 5), (5,))]


def _data(rng, shape, param_shape):
    """x with an offset and a spread per element (so that centring matters), and a scale and
    shift of ``param_shape`` away from 1 and 0."""
    x = rng.standard_normal(shape) * 2 + 3
    return x, 1 + 0.5 * rng.standard_normal(param_shape), rng.standard_normal(param_shape)


# --------------------------------------------------------------------- naive loops
@pytest.mark.parametrize("shape, groups", GROUP_CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_naive(xp, rng, shape, groups, affine):
    x, gamma, beta = _data(rng, shape, shape[1])
    params = (gamma, beta) if affine else (None, None)
    y = F.group_norm(xp.asarray(x), groups, *[None if p is None else xp.asarray(p) for p in params], eps=1e-3)
    np.testing.assert_allclose(to_np(y), naive.group_norm(x, groups, *params, eps=1e-3), atol=1e-10, rtol=0)


@pytest.mark.parametrize("shape, normalized_shape", LAYER_CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_naive(xp, rng, shape, normalized_shape, affine):
    x, gamma, beta = _data(rng, shape, normalized_shape)
    params = (gamma, beta) if affine else (None, None)
    y = F.layer_norm(xp.asarray(x), normalized_shape, *[None if p is None else xp.asarray(p) for p in params])
    np.testing.assert_allclose(to_np(y), naive.layer_norm(x, normalized_shape, *params), atol=1e-10, rtol=0)


def test_layer_norm_takes_an_int_for_the_last_dimension(xp, rng):
    x, gamma, beta = _data(rng, (3, 4, 6), 6)
    y = F.layer_norm(xp.asarray(x), 6, xp.asarray(gamma), xp.asarray(beta))
    np.testing.assert_allclose(to_np(y), naive.layer_norm(x, (6,), gamma, beta), atol=1e-10, rtol=0)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 2, 7)])
def test_instance_norm_matches_naive_and_updates_the_running_statistics(xp, rng, shape):
    x, gamma, beta = _data(rng, shape, shape[1])
    c, spatial = shape[1], int(np.prod(shape[2:]))
    rm0, rv0 = rng.standard_normal(c), 0.5 + rng.random(c)
    rm, rv = xp.asarray(rm0.copy()), xp.asarray(rv0.copy())   # NumPy's asarray would not copy
    y = F.instance_norm(xp.asarray(x), rm, rv, xp.asarray(gamma), xp.asarray(beta), momentum=0.3)
    # instance norm is group norm with one channel a group
    np.testing.assert_allclose(to_np(y), naive.group_norm(x, c, gamma, beta), atol=1e-10, rtol=0)
    # the running averages move towards the batch's mean of the per-image means and unbiased variances
    mean, var = naive.instance_stats(x)
    np.testing.assert_allclose(to_np(rm), 0.7 * rm0 + 0.3 * mean.mean(axis=0), atol=1e-12, rtol=0)
    np.testing.assert_allclose(to_np(rv), 0.7 * rv0 + 0.3 * (var * spatial / (spatial - 1)).mean(axis=0),
                               atol=1e-12, rtol=0)


def test_instance_norm_with_running_statistics_is_batch_norm_with_them(xp, rng):
    x, gamma, beta = _data(rng, (2, 3, 4, 5), 3)
    rm, rv = rng.standard_normal(3), 0.5 + rng.random(3)
    rm_dev, rv_dev = xp.asarray(rm.copy()), xp.asarray(rv.copy())
    y = F.instance_norm(xp.asarray(x), rm_dev, rv_dev, xp.asarray(gamma), xp.asarray(beta),
                        use_input_stats=False, eps=1e-3)
    np.testing.assert_allclose(to_np(y), naive.batch_norm(x, rm, rv, gamma, beta, 1e-3), atol=1e-10, rtol=0)
    np.testing.assert_array_equal(to_np(rm_dev), rm)   # constants here: left alone
    np.testing.assert_array_equal(to_np(rv_dev), rv)


def test_group_norm_of_a_strided_view(xp, rng):
    # a conv output with its junk columns cut off is a view that does not reshape in place
    big = xp.asarray(rng.standard_normal((2, 4, 5, 7)))
    view = big[:, :, :, :5]
    gy = xp.asarray(rng.standard_normal((2, 4, 5, 5)))
    grads = []
    for x in (view, view.copy()):
        t = Tensor(x, requires_grad=True)
        F.group_norm(t, 2).backward(gy)
        grads.append(to_np(t.grad))
        np.testing.assert_allclose(to_np(F.group_norm(x, 2)), naive.group_norm(to_np(x), 2), atol=1e-10, rtol=0)
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-12, rtol=0)


# --------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("shape, groups", [((2, 4, 2, 3), 1), ((2, 4, 2, 3), 2), ((2, 4, 2, 3), 4), ((3, 4, 3), 2)])
def test_group_norm_gradcheck_every_element(xp, rng, shape, groups):
    x, gamma, beta = _data(rng, shape, shape[1])
    assert gradcheck(lambda x, g, b: F.group_norm(x, groups, g, b), [xp.asarray(v) for v in (x, gamma, beta)])


@pytest.mark.parametrize("shape, normalized_shape", [((2, 3, 2, 3), (3,)), ((2, 3, 2, 3), (2, 3)),
                                                     ((2, 3, 2, 3), (3, 2, 3))])
def test_layer_norm_gradcheck_every_element(xp, rng, shape, normalized_shape):
    x, gamma, beta = _data(rng, shape, normalized_shape)
    assert gradcheck(lambda x, g, b: F.layer_norm(x, normalized_shape, g, b),
                     [xp.asarray(v) for v in (x, gamma, beta)])


def test_instance_norm_gradcheck_every_element(xp, rng):
    x, gamma, beta = _data(rng, (2, 3, 2, 3), 3)
    assert gradcheck(lambda x, g, b: F.instance_norm(x, None, None, g, b), [xp.asarray(v) for v in (x, gamma, beta)])
    rm, rv = xp.asarray(rng.standard_normal(3)), xp.asarray(0.5 + rng.random(3))
    assert gradcheck(lambda x, g, b: F.instance_norm(x, rm, rv, g, b, use_input_stats=False),
                     [xp.asarray(v) for v in (x, gamma, beta)])


@pytest.mark.parametrize("norm", ["group", "layer", "instance"])
def test_gradcheck_random_directions_on_larger_maps(xp, rng, norm):
    shape = (3, 6, 7, 5)
    param_shape = (7, 5) if norm == "layer" else (6,)
    x, gamma, beta = _data(rng, shape, param_shape)
    fn = {"group": lambda x, g, b: F.group_norm(x, 3, g, b),
          "layer": lambda x, g, b: F.layer_norm(x, (7, 5), g, b),
          "instance": lambda x, g, b: F.instance_norm(x, None, None, g, b)}[norm]
    assert gradcheck(fn, [xp.asarray(v) for v in (x, gamma, beta)], max_elements=4, directions=4)


@pytest.mark.parametrize("which", ["weight", "bias"])
def test_gradcheck_with_the_scale_or_the_shift_alone(xp, rng, which):
    # PyTorch's bias=False (a scale alone), and a shift alone: the Function's inputs shift
    x, gamma, beta = _data(rng, (2, 4, 2, 3), 4)
    p = gamma if which == "weight" else beta

    def fn(x, p):
        return F.group_norm(x, 2, **{which: p})
    assert gradcheck(fn, [xp.asarray(x), xp.asarray(p)])
    assert gradcheck(lambda x, p: F.layer_norm(x, (4, 2, 3), **{which: p.reshape(4, 1, 1) * xp.ones((4, 2, 3))}),
                     [xp.asarray(x), xp.asarray(p)])


def test_gradcheck_catches_a_wrong_input_gradient(monkeypatch, rng):
    # gx made 1 % wrong in one slab: the checks above would have seen it
    x, gamma, beta = _data(rng, (2, 4, 2, 3), 4)
    right = N.group_norm_backward

    def wrong(*args):
        gx, ggamma, gbeta = right(*args)
        gx[0, 1] *= 1.01
        return gx, ggamma, gbeta

    monkeypatch.setattr(N, "group_norm_backward", wrong)
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x, g, b: F.group_norm(x, 2, g, b), [x, gamma, beta])


# --------------------------------------------------------------------- adjoint identities
@pytest.mark.parametrize("norm", ["group", "layer"])
def test_linear_in_the_scale_and_shift_jointly(xp, rng, norm):
    # y = xhat * gamma + beta is linear in (gamma, beta): <y, u> = <gamma, ggamma> + <beta, gbeta>
    shape = (3, 4, 5, 2)
    param_shape = (5, 2) if norm == "layer" else (4,)
    x, gamma, beta = _data(rng, shape, param_shape)
    g, b = Tensor(xp.asarray(gamma), requires_grad=True), Tensor(xp.asarray(beta), requires_grad=True)
    y = F.layer_norm(xp.asarray(x), (5, 2), g, b) if norm == "layer" else F.group_norm(xp.asarray(x), 2, g, b)
    u = rng.standard_normal(shape)
    y.backward(xp.asarray(u))
    lhs = float((to_np(y) * u).sum())
    rhs = float((gamma * to_np(g.grad)).sum() + (beta * to_np(b.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_instance_norm_with_running_statistics_is_linear_in_x(xp, rng):
    # eval with a zero running mean and no shift: y = x * gamma / sqrt(var + eps), so <A x, u> = <x, A^T u>
    x, gamma, _ = _data(rng, (2, 3, 4, 5), 3)
    rm, rv = xp.zeros(3), xp.asarray(0.5 + rng.random(3))
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = F.instance_norm(t, rm, rv, xp.asarray(gamma), use_input_stats=False)
    u = rng.standard_normal(x.shape)
    y.backward(xp.asarray(u))
    lhs, rhs = float((to_np(y) * u).sum()), float((x * to_np(t.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_the_normalisation_jacobian_is_self_adjoint(xp, rng):
    # without a scale, the Jacobian of xhat = (x - mean) / std is (I - 1 1^T / m - xhat xhat^T / m)
    # / std per slab, a symmetric matrix: backward, u -> J^T u, must then satisfy
    # <J^T u, v> = <u, J^T v> (a backward that mixed slabs or dropped a factor of one side would not)
    x = rng.standard_normal((2, 6, 3, 3)) * 2 + 3
    u, v = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
    back = []
    for up in (u, v):
        t = Tensor(xp.asarray(x), requires_grad=True)
        F.group_norm(t, 3).backward(xp.asarray(up))
        back.append(to_np(t.grad))
    lhs, rhs = float((back[0] * v).sum()), float((u * back[1]).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# --------------------------------------------------------------------- PyTorch
def _vs_torch(torch, ours_fn, torch_fn, arrays, dtype, rng):
    """Forward and every gradient of ours_fn and torch_fn on the same arrays (None: left out)."""
    ours = [None if a is None else Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    theirs = [None if a is None else torch_tensor(torch, a.astype(dtype), requires_grad=True) for a in arrays]
    y, yt = ours_fn(*ours), torch_fn(*theirs)
    assert_close(y, yt, dtype, "forward")
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for name, a, b in zip(("x", "weight", "bias"), ours, theirs):
        if a is not None:
            assert_close(a.grad, b.grad, dtype, f"grad {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, groups", GROUP_CASES)
@pytest.mark.parametrize("params", ["both", "weight", "neither"])
def test_group_norm_vs_torch(rng, dtype, shape, groups, params):
    torch = pytest.importorskip("torch")
    x, gamma, beta = _data(rng, shape, shape[1])
    arrays = [x, gamma if params != "neither" else None, beta if params == "both" else None]
    _vs_torch(torch, lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-4),
              lambda x, w, b: torch.nn.functional.group_norm(x, groups, w, b, eps=1e-4), arrays, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, normalized_shape", LAYER_CASES)
@pytest.mark.parametrize("params", ["both", "weight", "neither"])
def test_layer_norm_vs_torch(rng, dtype, shape, normalized_shape, params):
    torch = pytest.importorskip("torch")
    x, gamma, beta = _data(rng, shape, normalized_shape)
    arrays = [x, gamma if params != "neither" else None, beta if params == "both" else None]
    _vs_torch(torch, lambda x, w, b: F.layer_norm(x, normalized_shape, w, b),
              lambda x, w, b: torch.nn.functional.layer_norm(x, normalized_shape, w, b), arrays, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm_vs_torch_in_training_then_with_the_running_statistics(rng, dtype):
    torch = pytest.importorskip("torch")
    c = 3
    rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
    rmt, rvt = torch.zeros(c, dtype=torch.from_numpy(rm).dtype), torch.ones(c, dtype=torch.from_numpy(rm).dtype)
    for step in range(3):
        x, gamma, beta = _data(rng, (2, c, 4, 5), c)
        _vs_torch(torch, lambda x, w, b: F.instance_norm(x, rm, rv, w, b, momentum=0.2),
                  lambda x, w, b: torch.nn.functional.instance_norm(x, rmt, rvt, w, b, momentum=0.2),
                  [x, gamma, beta], dtype, rng)
        assert_close(rm, rmt, dtype, f"step {step} running_mean")
        assert_close(rv, rvt, dtype, f"step {step} running_var")
    x, gamma, beta = _data(rng, (2, c, 3, 3), c)
    _vs_torch(torch, lambda x, w, b: F.instance_norm(x, rm, rv, w, b, use_input_stats=False),
              lambda x, w, b: torch.nn.functional.instance_norm(x, rmt, rvt, w, b, use_input_stats=False),
              [x, gamma, beta], dtype, rng)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("batched", [True, False])
def test_instance_norm2d_train_and_eval_vs_torch(rng, momentum, batched):
    # the module with running statistics: training steps move them (momentum None: PyTorch's
    # instance norm leaves them alone), eval uses them; num_batches_tracked stays 0 in both
    torch = pytest.importorskip("torch")
    ours = nn.InstanceNorm2d(3, momentum=momentum, affine=True, track_running_stats=True)
    theirs = torch.nn.InstanceNorm2d(3, momentum=momentum, affine=True, track_running_stats=True)
    gamma, beta = 1 + 0.5 * rng.standard_normal(3), rng.standard_normal(3)
    ours.load_state_dict({**ours.state_dict(), "weight": gamma.astype(np.float32), "bias": beta.astype(np.float32)})
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(gamma)), theirs.bias.copy_(torch.from_numpy(beta))
    shape = (2, 3, 4, 5) if batched else (3, 4, 5)
    for mode in ("train", "train", "eval"):
        ours.train(mode == "train"), theirs.train(mode == "train")
        x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
        xt = Tensor(x, requires_grad=True)
        xtt = torch_tensor(torch, x, requires_grad=True)
        y, yt = ours(xt), theirs(xtt)
        assert_close(y, yt, np.float32, f"{mode} forward")
        g = rng.standard_normal(shape).astype(np.float32)
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        assert_close(xt.grad, xtt.grad, np.float32, f"{mode} grad x")
        assert_close(ours.weight.grad, theirs.weight.grad, np.float32, f"{mode} grad weight")
        ours.zero_grad(), theirs.zero_grad()
        state, tstate = ours.state_dict(), theirs.state_dict()
        for k in ("running_mean", "running_var"):
            assert_close(state[k], tstate[k], np.float32, f"{mode} {k}")
        assert int(state["num_batches_tracked"]) == int(tstate["num_batches_tracked"]) == 0
    if momentum is None:
        assert state["running_mean"].tolist() == [0, 0, 0] and state["running_var"].tolist() == [1, 1, 1]


def test_instance_norm2d_without_running_statistics_is_the_same_in_eval(rng):
    x = Tensor(rng.standard_normal((2, 3, 4, 4)).astype(np.float32))
    norm = nn.InstanceNorm2d(3)
    with no_grad():
        train = norm(x).numpy()
        evaluated = norm.eval()(x).numpy()
    np.testing.assert_array_equal(train, evaluated)
    np.testing.assert_allclose(train, naive.group_norm(x.numpy(), 3), atol=2e-6, rtol=0)   # float32's rounding


@pytest.mark.parametrize("cls", ["GroupNorm", "LayerNorm", "InstanceNorm2d"])
def test_modules_vs_torch_parameters_state_dict_repr_and_output(rng, cls):
    # for each configuration: the same state-dict keys, shapes, dtypes and starting values, the
    # same repr; then torch's state dict (its parameters changed) loads, and the outputs agree
    torch = pytest.importorskip("torch")
    configs = {"GroupNorm": [((2, 4), {}), ((2, 4), {"affine": False}), ((1, 4), {"bias": False}),
                             ((4, 4), {"eps": 1e-3})],
               "LayerNorm": [((5,), {}), (((3, 5),), {"bias": False}), (([4, 3, 5],), {"elementwise_affine": False}),
                             ((5, 1e-3), {})],
               "InstanceNorm2d": [((4,), {}), ((4,), {"affine": True}), ((4,), {"track_running_stats": True}),
                                  ((4, 1e-3, 0.2, True, True), {}), ((4,), {"affine": True, "bias": False})]}[cls]
    for args, kwargs in configs:
        ours, theirs = getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
        assert repr(ours) == repr(theirs)
        state, tstate = ours.state_dict(), theirs.state_dict()
        assert list(state) == list(tstate), (args, kwargs)
        for k, v in tstate.items():
            assert state[k].shape == tuple(v.shape) and state[k].dtype == v.numpy().dtype, k
            np.testing.assert_array_equal(state[k], v.numpy())
        with torch.no_grad():
            for p in theirs.parameters():
                p.add_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        x = (rng.standard_normal((2, 4, 3, 5)) * 2 + 1).astype(np.float32)
        with no_grad():
            assert_close(ours(Tensor(x)), theirs(torch.from_numpy(x)), np.float32, f"{cls}{args}{kwargs}")


def test_empty_batches_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    x = np.zeros((0, 4, 3, 3))
    for ours, theirs in ((lambda a: F.group_norm(a, 2), lambda a: torch.nn.functional.group_norm(a, 2)),
                         (lambda a: F.layer_norm(a, (3, 3)), lambda a: torch.nn.functional.layer_norm(a, (3, 3))),
                         (lambda a: F.instance_norm(a), lambda a: torch.nn.functional.instance_norm(a))):
        t = Tensor(xp.asarray(x), requires_grad=True)
        y = ours(t)
        assert y.shape == tuple(theirs(torch.from_numpy(x)).shape)
        y.sum().backward()
        assert t.grad.shape == x.shape
    # an empty batch leaves instance norm's running statistics alone (their mean over no image is NaN)
    rm, rv = xp.zeros(4), xp.ones(4)
    F.instance_norm(xp.asarray(x), rm, rv)
    assert to_np(rm).tolist() == [0] * 4 and to_np(rv).tolist() == [1] * 4


# --------------------------------------------------------------------- errors
def test_channels_not_divisible_by_groups():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        torch.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"input of shape \(2, 4, 3\) has 4 channels, not divisible by num_groups=3"):
        F.group_norm(np.zeros((2, 4, 3)), 3)
    with pytest.raises(ValueError, match="num_groups must be a positive int, got 0"):
        F.group_norm(np.zeros((2, 4, 3)), 0)
    with pytest.raises(ValueError, match=r"weight shape \(3,\) should be \(4,\)"):   # GroupNorm(…, 3) on 4 channels
        nn.GroupNorm(1, 3)(Tensor(np.zeros((2, 4, 3))))


def test_shape_mismatches_are_named():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"normalized_shape \(3,\) expects an input of shape "
                                         r"\(\*, 3\), got \(2, 3, 4\)"):
        F.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"normalized_shape \(1, 2, 3, 4\) expects .* got \(2, 3, 4\)"):
        F.layer_norm(x, (1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"expects an input of shape \(\*, 3, 4\)"):
        nn.LayerNorm((3, 4))(Tensor(np.zeros((2, 4, 3), np.float32)))
    with pytest.raises(ValueError, match=r"layer_norm: bias shape \(4,\) should be \(3, 4\)"):
        F.layer_norm(x, (3, 4), np.ones((3, 4)), np.zeros(4))
    for bad in ((), "4", (2.0,), (-1,), True):
        with pytest.raises(ValueError, match="normalized_shape must be an int or a non-empty sequence"):
            nn.LayerNorm(bad)
    with pytest.raises(ValueError, match=r"instance_norm: running_var shape \(4,\) should be \(3,\)"):
        F.instance_norm(x, np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match=r"input must have at least 3 dimensions \(n, c, \*spatial\)"):
        F.instance_norm(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"InstanceNorm2d: input must be 3-D \(c, h, w\) or 4-D"):
        nn.InstanceNorm2d(3)(Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match=r"has 4 channels, expected num_features=3"):
        nn.InstanceNorm2d(3, affine=True)(Tensor(np.zeros((1, 4, 2, 2), np.float32)))
    with pytest.warns(UserWarning, match="has 4 channels, not num_features=3"):   # as PyTorch's: a warning
        y = nn.InstanceNorm2d(3)(Tensor(np.arange(16.0, dtype=np.float32).reshape(1, 4, 2, 2)))
    assert abs(float(y.numpy().mean())) < 1e-6


def test_statistics_of_single_values_are_refused_as_pytorch():
    torch = pytest.importorskip("torch")
    for shape in ((1, 3, 1, 1), (4, 3, 1)):
        with pytest.raises(ValueError, match="one value per channel .* expected more than one spatial element"):
            F.instance_norm(np.zeros(shape))
        with pytest.raises(ValueError, match="Expected more than 1 spatial element"):
            torch.nn.functional.instance_norm(torch.zeros(shape))
    assert F.instance_norm(np.ones((1, 3, 1, 1)), np.zeros(3), np.ones(3), use_input_stats=False).shape == (1, 3, 1, 1)
    with pytest.raises(ValueError, match=r"input of shape \(1, 4, 1\) with num_groups=4 holds one value per group"):
        F.group_norm(np.zeros((1, 4, 1)), 4)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.functional.group_norm(torch.zeros((1, 4, 1)), 4)
    with pytest.raises(ValueError, match="use_input_stats=False needs running_mean and running_var"):
        F.instance_norm(np.zeros((1, 3, 2, 2)), use_input_stats=False)
    with pytest.raises(ValueError, match="give running_mean and running_var together"):
        F.instance_norm(np.zeros((1, 3, 2, 2)), np.zeros(3))


def test_bad_arguments_are_named():
    x32 = np.zeros((2, 4, 3), np.float32)
    with pytest.raises(TypeError, match="input float32, bias float64"):   # no weight: the bias's dtype is named
        F.group_norm(x32, 2, None, np.zeros(4))
    with pytest.raises(TypeError, match="input float32, weight float64"):
        F.layer_norm(x32, 3, np.ones(3))
    with pytest.raises(TypeError, match="float32 or float64, got float16"):
        F.group_norm(x32.astype(np.float16), 2)
    for fn in (lambda e: F.group_norm(x32, 2, eps=e), lambda e: F.layer_norm(x32, 3, eps=e),
               lambda e: F.instance_norm(x32, eps=e)):
        with pytest.raises(ValueError, match="eps must be a positive number, got -1"):
            fn(-1)
    with pytest.raises(TypeError, match="use_input_stats must be a bool, got 'no'"):
        F.instance_norm(x32, use_input_stats="no")
    with pytest.raises(ValueError, match="momentum must be a number in \\[0, 1\\], got 2"):
        F.instance_norm(x32, np.zeros(4, np.float32), np.ones(4, np.float32), momentum=2)
    with pytest.raises(ValueError, match="InstanceNorm2d: num_features must be a positive int, got 0"):
        nn.InstanceNorm2d(0)
    with pytest.raises(TypeError, match="GroupNorm: affine must be a bool, got 'yes'"):
        nn.GroupNorm(2, 4, affine="yes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a matching input: no warning
        nn.InstanceNorm2d(4)(Tensor(np.ones((1, 4, 2, 2), np.float32)))
