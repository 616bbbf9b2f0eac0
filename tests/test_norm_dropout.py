"""batch_norm (training and eval) and dropout: naive loops, finite differences, PyTorch."""
import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.kernels import norm as N
from minifcn.testing import GradcheckError, gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor


def _bn_inputs(rng, shape=(3, 4, 5, 3)):
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 3
    return x, 1 + 0.5 * rng.standard_normal(c), rng.standard_normal(c)


def _blocks_of(monkeypatch, per, x_shape):
    """Make the CPU kernels walk ``per`` channels a block (None: the default, one block here)."""
    if per is not None:
        monkeypatch.setattr(N, "CHUNK", per * int(np.prod(x_shape)) // x_shape[1])


# --------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("per", [None, 1, 3])  # one block; a channel a block; uneven blocks
def test_batch_norm_train_matches_naive(xp, rng, monkeypatch, per):
    x, gamma, beta = _bn_inputs(rng)
    _blocks_of(monkeypatch, per, x.shape)
    rm, rv = xp.zeros(4), xp.ones(4)
    y = F.batch_norm(xp.asarray(x), rm, rv, xp.asarray(gamma), xp.asarray(beta), training=True,
                     momentum=0.1, eps=1e-5)
    mean, var = naive.batch_stats(x)
    np.testing.assert_allclose(to_np(y), naive.batch_norm(x, mean, var, gamma, beta, 1e-5), atol=1e-10, rtol=0)
    # running averages: (1 - m) * old + m * batch, with the unbiased variance
    m = x.size // 4
    np.testing.assert_allclose(to_np(rm), 0.1 * mean, atol=1e-12)
    np.testing.assert_allclose(to_np(rv), 0.9 + 0.1 * var * m / (m - 1), atol=1e-12)


def test_batch_norm_eval_matches_naive(xp, rng):
    x, gamma, beta = _bn_inputs(rng)
    rm, rv = rng.standard_normal(4), 0.5 + rng.random(4)
    rm_dev, rv_dev = xp.asarray(rm), xp.asarray(rv)
    y = F.batch_norm(xp.asarray(x), rm_dev, rv_dev, xp.asarray(gamma), xp.asarray(beta), training=False, eps=1e-3)
    np.testing.assert_allclose(to_np(y), naive.batch_norm(x, rm, rv, gamma, beta, 1e-3), atol=1e-10, rtol=0)
    # eval mode leaves the running averages alone
    np.testing.assert_array_equal(to_np(rm_dev), rm)
    np.testing.assert_array_equal(to_np(rv_dev), rv)


def test_batch_norm_eval_centres_before_it_scales(xp, rng):
    # a channel of mean 10 and spread 1e-3, in float32: x * scale + (beta - mean * scale) had
    # cancelled two terms of 1e4 to an error of 1e-4 of y (PyTorch's: 7e-8)
    x = (10 + 1e-3 * rng.standard_normal((2, 1, 8, 8))).astype(np.float32)
    mean, var = np.float32([10.0]), np.float32([1e-6 - 1e-9])
    y = F.batch_norm(xp.asarray(x), xp.asarray(mean), xp.asarray(var), xp.ones(1, np.float32),
                     xp.zeros(1, np.float32), training=False, eps=1e-9)
    want = (x.astype(np.float64) - 10) / np.sqrt(np.float64(var[0]) + 1e-9)
    assert np.abs(to_np(y) - want).max() < 2e-6 * np.abs(want).max()


@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (3, 2, 3, 1)])
def test_batch_norm_train_gradcheck_every_element(xp, rng, shape):
    x, gamma, beta = _bn_inputs(rng, shape)
    assert gradcheck(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
                     [xp.asarray(v) for v in (x, gamma, beta)])


@pytest.mark.parametrize("per", [None, 2])
def test_batch_norm_train_gradcheck_random_directions(xp, rng, monkeypatch, per):
    x, gamma, beta = _bn_inputs(rng, (4, 5, 7, 6))
    _blocks_of(monkeypatch, per, x.shape)
    assert gradcheck(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
                     [xp.asarray(v) for v in (x, gamma, beta)], max_elements=4, directions=4)


@pytest.mark.parametrize("per", [None, 1])
def test_batch_norm_train_on_a_strided_view(xp, rng, monkeypatch, per):
    # a conv output is a view with its junk columns cut: backward rebuilds xhat from that view
    x, gamma, beta = _bn_inputs(rng, (2, 3, 5, 6))
    wide = xp.asarray(np.concatenate([x, rng.standard_normal((2, 3, 5, 2)) * 1e3], axis=3))
    view = wide[..., :6]
    _blocks_of(monkeypatch, per, x.shape)
    gy = xp.asarray(rng.standard_normal(x.shape))
    g, b = xp.asarray(gamma), xp.asarray(beta)
    y, (mean, inv_std, _) = N.batch_norm_train(view, g, b, 1e-5)
    y_ref, (mean_ref, inv_ref, _) = N.batch_norm_train(xp.ascontiguousarray(view), g, b, 1e-5)
    got = N.batch_norm_train_backward(gy, view, g, mean, inv_std)
    ref = N.batch_norm_train_backward(gy, xp.ascontiguousarray(view), g, mean_ref, inv_ref)
    np.testing.assert_allclose(to_np(y), to_np(y_ref), atol=1e-12)
    for a, r in zip(got, ref):
        np.testing.assert_allclose(to_np(a), to_np(r), atol=1e-12)
    np.testing.assert_allclose(to_np(y), naive.batch_norm(x, *naive.batch_stats(x), gamma, beta, 1e-5), atol=1e-10)


def test_gradcheck_catches_a_wrong_batch_norm_input_gradient(monkeypatch):
    # data drawn from seed 0, gradcheck's default seed: its upstream gradient must not repeat
    # them, or it would lie in what batch norm's input gradient projects away (zero gradient)
    x, gamma, beta = _bn_inputs(np.random.default_rng(0), (4, 5, 7, 6))
    right = N.batch_norm_train_backward

    def wrong(*args):
        gx, ggamma, gbeta = right(*args)
        gx[:, 2] *= 1.5
        return gx, ggamma, gbeta

    monkeypatch.setattr(N, "batch_norm_train_backward", wrong)
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True), [x, gamma, beta],
                  max_elements=4, directions=4)


def test_batch_norm_eval_gradcheck(xp, rng):
    x, gamma, beta = _bn_inputs(rng, (2, 3, 3, 2))
    rm, rv = xp.asarray(rng.standard_normal(3)), xp.asarray(0.5 + rng.random(3))
    assert gradcheck(lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=False),
                     [xp.asarray(v) for v in (x, gamma, beta)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_vs_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    c = 4
    rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
    rmt, rvt = torch.zeros(c, dtype=torch.from_numpy(rm).dtype), torch.ones(c, dtype=torch.from_numpy(rm).dtype)
    for step in range(3):  # training steps: forward, every gradient, running averages
        x, gamma, beta = (a.astype(dtype) for a in _bn_inputs(rng, (2, c, 5, 3)))
        ours = [Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        theirs = [torch_tensor(torch, a, requires_grad=True) for a in (x, gamma, beta)]
        y = F.batch_norm(ours[0], rm, rv, ours[1], ours[2], training=True, momentum=0.1, eps=1e-5)
        yt = torch.nn.functional.batch_norm(theirs[0], rmt, rvt, theirs[1], theirs[2], training=True,
                                            momentum=0.1, eps=1e-5)
        assert_close(y, yt, dtype, f"step {step} forward")
        g = rng.standard_normal(x.shape).astype(dtype)
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        for name, a, b in zip(("x", "gamma", "beta"), ours, theirs):
            assert_close(a.grad, b.grad, dtype, f"step {step} grad {name}")
        assert_close(rm, rmt, dtype, f"step {step} running_mean")
        assert_close(rv, rvt, dtype, f"step {step} running_var")
    # eval mode with the running averages just learned
    x, gamma, beta = (a.astype(dtype) for a in _bn_inputs(rng, (2, c, 4, 4)))
    ours = [Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    theirs = [torch_tensor(torch, a, requires_grad=True) for a in (x, gamma, beta)]
    y = F.batch_norm(ours[0], rm, rv, ours[1], ours[2], training=False)
    yt = torch.nn.functional.batch_norm(theirs[0], rmt, rvt, theirs[1], theirs[2], training=False)
    assert_close(y, yt, dtype, "eval forward")
    g = rng.standard_normal(x.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for name, a, b in zip(("x", "gamma", "beta"), ours, theirs):
        assert_close(a.grad, b.grad, dtype, f"eval grad {name}")


def test_batch_norm_edge_arguments_as_pytorch(xp, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4, 4))
    # weight and bias None: no scale or shift (it had been refused, "weight shape ()")
    rm, rv = np.zeros(3), np.ones(3)
    got = F.batch_norm(xp.asarray(x), xp.asarray(rm), xp.asarray(rv), None, None, training=True)
    want = torch.nn.functional.batch_norm(torch.from_numpy(x), torch.zeros(3, dtype=torch.float64),
                                          torch.ones(3, dtype=torch.float64), None, None, training=True)
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-10, atol=1e-10)
    # an empty batch leaves the running statistics alone (they had become NaN for good)
    rm, rv = xp.zeros(3), xp.ones(3)
    y = F.batch_norm(xp.zeros((0, 3, 4, 4)), rm, rv, xp.ones(3), xp.zeros(3), training=True)
    assert y.shape == (0, 3, 4, 4) and to_np(rm).tolist() == [0, 0, 0] and to_np(rv).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="eps must be positive, got -1"):   # had given NaN
        F.batch_norm(xp.asarray(x), rm, rv, xp.ones(3), xp.zeros(3), eps=-1)
    with pytest.raises(TypeError, match="input float32, weight float64"):   # eval had gone float64
        F.batch_norm(xp.asarray(x, dtype=xp.float32), rm, rv, xp.ones(3), xp.zeros(3))
    with pytest.raises(TypeError, match="float32 or float64, got float16"):   # had passed, to fail later
        F.batch_norm(xp.asarray(x, dtype=xp.float16), rm, rv, xp.ones(3), xp.zeros(3))


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_without_running_statistics_as_pytorch(xp, rng, affine):
    # training with no running averages (BatchNorm2d(track_running_stats=False)), with or without
    # a scale and shift: output and gradients as PyTorch's; eval without them is refused by both
    torch = pytest.importorskip("torch")
    x, gamma, beta = _bn_inputs(rng, (2, 3, 4, 5))
    params = (gamma, beta) if affine else (None, None)
    ours = [Tensor(xp.asarray(x), requires_grad=True)] + [None if p is None else Tensor(xp.asarray(p), requires_grad=True)
                                                          for p in params]
    theirs = [torch_tensor(torch, x, requires_grad=True)] + [None if p is None else torch_tensor(torch, p, requires_grad=True)
                                                             for p in params]
    y = F.batch_norm(ours[0], None, None, ours[1], ours[2], training=True)
    yt = torch.nn.functional.batch_norm(theirs[0], None, None, theirs[1], theirs[2], training=True)
    assert_close(y, yt, np.float64, "forward")
    g = rng.standard_normal(x.shape)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    for name, a, b in zip(("x", "gamma", "beta"), ours, theirs):
        if a is not None:
            assert_close(a.grad, b.grad, np.float64, f"grad {name}")
    with pytest.raises(ValueError, match="eval mode needs running_mean and running_var"):
        F.batch_norm(ours[0], None, None, ours[1], ours[2], training=False)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        torch.nn.functional.batch_norm(theirs[0], None, None, theirs[1], theirs[2], training=False)


# --------------------------------------------------------------------- dropout
def test_dropout_gradcheck_with_a_fixed_mask(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 4, 4)))

    def fn(x):
        minifcn.manual_seed(123)  # the same mask on every call of fn
        return F.dropout(x, p=0.4, training=True)
    assert gradcheck(fn, [x])
    # and the mask really drops something, so the check was not of the identity
    y = to_np(fn(Tensor(x)))
    assert 0 < (y == 0).sum() < y.size


def test_dropout_with_a_fixed_mask_is_its_own_adjoint(xp, rng):
    # with its mask drawn, dropout is the diagonal map x -> m * x / (1 - p): <D x, g> = <x, D g>,
    # its backward must be D again (the same mask, the same scale)
    x = Tensor(xp.asarray(rng.standard_normal((2, 3, 4, 4))), requires_grad=True)
    g = rng.standard_normal((2, 3, 4, 4))
    minifcn.manual_seed(7)
    y = F.dropout(x, p=0.3, training=True)
    y.backward(xp.asarray(g))
    lhs, rhs = float((to_np(y.data) * g).sum()), float((to_np(x.data) * to_np(x.grad)).sum())
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))
    minifcn.manual_seed(7)
    np.testing.assert_allclose(to_np(x.grad), to_np(F.dropout(xp.asarray(g), p=0.3, training=True).data),
                               rtol=0, atol=1e-12)


def test_dropout_values_and_statistics(xp):
    minifcn.manual_seed(0)
    p = 0.3
    y = to_np(F.dropout(xp.ones((200, 500)), p=p))
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / (1 - p), rtol=1e-12)   # inverted dropout scale
    # 100k Bernoulli draws: the fraction dropped has std sqrt(p(1-p)/N) ~ 0.0015
    assert abs((y == 0).mean() - p) < 0.01
    assert abs(y.mean() - 1.0) < 0.02  # expectation preserved


def test_dropout_eval_and_p0_are_identity(xp, rng):
    x = Tensor(xp.asarray(rng.standard_normal((2, 3))), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0, training=True) is x


def test_dropout_reproducible_from_seed(xp):
    minifcn.manual_seed(7)
    a = to_np(F.dropout(xp.ones((50, 50)), 0.5))
    minifcn.manual_seed(7)
    b = to_np(F.dropout(xp.ones((50, 50)), 0.5))
    c = to_np(F.dropout(xp.ones((50, 50)), 0.5))  # the generator moved on
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_vs_torch(xp, p):
    # values are random in both libraries: compare what they promise, not the draws
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    minifcn.manual_seed(0)
    n = 100_000
    ours = to_np(F.dropout(xp.ones(n), p=p))
    theirs = torch.nn.functional.dropout(torch.ones(n, dtype=torch.float64), p=p).numpy()
    for y in (ours, theirs):
        assert abs((y == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(np.unique(ours[ours != 0]), np.unique(theirs[theirs != 0]), rtol=1e-12)


# --------------------------------------------------------------------- dropout2d
def _channel_mask(x, y):
    """The (n, c) mask that y = dropout2d(x) applied, 0 or 1/(1-p), from one pixel a channel."""
    return to_np(y)[:, :, 0, 0] / to_np(x)[:, :, 0, 0]


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout2d_zeros_whole_channels_and_scales_the_rest(xp, rng, p):
    x = rng.standard_normal((4, 16, 3, 5)) + 10   # no zero: a zero of y is a dropped value
    minifcn.manual_seed(3)
    y = to_np(F.dropout2d(xp.asarray(x), p=p))
    dropped = (y == 0).all(axis=(2, 3))                                   # (n, c)
    kept = np.isclose(y, x / (1 - p), rtol=1e-12, atol=0).all(axis=(2, 3))
    assert (dropped ^ kept).all()          # every channel all zero or all x / (1 - p), none mixed
    assert dropped.any() and kept.any()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout2d_keeps_about_1_minus_p_of_the_channels(xp, p):
    # 20000 (n, c) draws, each kept with probability 1 - p: the fraction kept has the binomial
    # standard deviation sqrt(p (1 - p) / 20000), at most 0.0035 (p = 0.5); 5 of them is a
    # bound a correct draw crosses once in about 1.7 million runs (and the seed is fixed)
    minifcn.manual_seed(0)
    n, c = 40, 500
    y = to_np(F.dropout2d(xp.ones((n, c, 2, 3)), p=p))
    kept = (y[:, :, 0, 0] != 0).mean()
    assert abs(kept - (1 - p)) < 5 * np.sqrt(p * (1 - p) / (n * c))
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / (n * c))   # the expectation kept: E y = x


def test_dropout2d_backward_multiplies_by_the_same_mask(xp, rng):
    x = Tensor(xp.asarray(rng.standard_normal((3, 8, 4, 5)) + 10), requires_grad=True)
    g = rng.standard_normal((3, 8, 4, 5))
    minifcn.manual_seed(11)
    y = F.dropout2d(x, p=0.4)
    y.backward(xp.asarray(g))
    mask = _channel_mask(x, y)[:, :, None, None]                    # (n, c, 1, 1)
    assert set(np.unique(mask).round(12)) == {0.0, round(1 / 0.6, 12)}
    np.testing.assert_allclose(to_np(x.grad), g * mask, rtol=1e-12, atol=0)
    # and <D x, g> = <x, D g>: the backward is the same diagonal map
    lhs, rhs = float((to_np(y) * g).sum()), float((to_np(x) * to_np(x.grad)).sum())
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


def test_dropout2d_gradcheck_with_a_fixed_mask(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 6, 3, 3)))

    def fn(x):
        minifcn.manual_seed(5)   # the same mask on every call of fn
        return F.dropout2d(x, p=0.5)
    assert gradcheck(fn, [x])
    y = to_np(fn(Tensor(x)))
    assert 0 < (y == 0).all(axis=(2, 3)).sum() < 12   # some channels dropped, not all


def test_dropout2d_eval_p0_and_p1(xp, rng):
    x = Tensor(xp.asarray(rng.standard_normal((2, 3, 4, 4))), requires_grad=True)
    assert F.dropout2d(x, 0.5, training=False) is x
    assert F.dropout2d(x, 0.0) is x
    y = F.dropout2d(x, 1.0)   # every channel dropped: zeros, and a zero gradient, as PyTorch
    assert y.shape == x.shape and not to_np(y).any()
    y.sum().backward()
    assert not to_np(x.grad).any()


def test_dropout2d_reproducible_from_seed_and_draws_a_channel_once(xp):
    minifcn.manual_seed(7)
    a = to_np(F.dropout2d(xp.ones((4, 50, 3, 3)), 0.5))
    minifcn.manual_seed(7)
    b = to_np(F.dropout2d(xp.ones((4, 50, 3, 3)), 0.5))
    c = to_np(F.dropout2d(xp.ones((4, 50, 3, 3)), 0.5))   # the generator moved on
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # one uniform draw per (n, c), as dropout would make for an (n, c, 1, 1) input
    minifcn.manual_seed(7)
    d = to_np(F.dropout(xp.ones((4, 50, 1, 1)), 0.5))
    np.testing.assert_array_equal(a[:, :, :1, :1], d)


def test_dropout2d_module_train_eval_and_always_on(rng):
    x = Tensor(rng.standard_normal((2, 64, 3, 3)).astype(np.float32) + 5)
    drop = minifcn.nn.Dropout2d(0.5)
    assert isinstance(drop, minifcn.nn.Dropout) and repr(drop) == "Dropout2d(p=0.5, inplace=False)"
    y = to_np(drop(x))
    assert 0 < (y == 0).all(axis=(2, 3)).sum() < 128 and ((y == 0).all(axis=(2, 3)) | (y != 0).all(axis=(2, 3))).all()
    assert drop.eval()(x) is x
    drop.always_on = True   # Monte-Carlo sampling, as Dropout's
    assert (to_np(drop(x)) == 0).any()
    assert minifcn.nn.Dropout2d(0.3, True).inplace   # PyTorch's second argument, taken
    assert list(drop.state_dict()) == []


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout2d_vs_torch(p):
    # random in both libraries: compare what they promise (whole channels, the scale, the rate)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    minifcn.manual_seed(0)
    n, c = 50, 400
    ours = to_np(F.dropout2d(np.ones((n, c, 2, 2)), p=p))
    theirs = torch.nn.functional.dropout2d(torch.ones(n, c, 2, 2, dtype=torch.float64), p=p).numpy()
    ttheirs = torch.nn.Dropout2d(p)(torch.ones(n, c, 2, 2, dtype=torch.float64)).numpy()
    for y in (ours, theirs, ttheirs):
        per_channel = y.reshape(n, c, -1)
        assert (per_channel == per_channel[..., :1]).all()                        # whole channels
        assert abs((per_channel[..., 0] == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / (n * c))
    np.testing.assert_allclose(np.unique(ours[ours != 0]), np.unique(theirs[theirs != 0]), rtol=1e-12)


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                  "FeatureAlphaDropout"])
def test_dropout_reprs_are_pytorchs_and_name_always_on(name):
    torch = pytest.importorskip("torch")
    for args in [(), (0.2,), (0.3, True)]:
        assert repr(getattr(minifcn.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    assert repr(getattr(minifcn.nn, name)(0.2, always_on=True)).endswith(
        "(p=0.2, inplace=False, always_on=True)")   # Monte-Carlo dropout, which PyTorch lacks
