"""The small layers of PyTorch that minifcn had lacked: Softmin, Softmax2d, GLU, the shrinks,
Threshold and RReLU (activations.py, nn_activations.py, F.softmin in functional.py); the other
dropouts, channel shuffle and the bilinear map (functional_misc.py); and Unflatten, the 1-d
padding layers, ParameterList and ParameterDict (nn_misc.py).

Each deterministic op is checked against its loop version in ``naive`` (float64), by float64
finite differences (away from its kinks), against PyTorch forward and backward in float64 and
float32, and, where it is linear (channel shuffle, Unflatten, the padding, the bilinear map in
each of its arguments), by the adjoint identity <A x, y> = <x, A^T y>. The random ones (RReLU
in training, the dropouts) are checked by what their draws must satisfy, with fixed seeds:
which values share a draw, the values a draw can give, the fraction dropped, the moments kept,
the gradient given the draw, and against PyTorch's outputs wherever the two draws agree.
"""
import math
from collections import OrderedDict

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.testing import gradcheck
from oracle import assert_close, to_np, torch_tensor

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float64, np.float32]


def _backward_pair(torch, ours, theirs, arrays, dtype, rng, xp=np):
    """Run ``ours`` on Tensors and ``theirs`` on torch tensors of ``arrays`` (cast to
    ``dtype``), backward one random upstream gradient through both; returns (outputs, grads)
    as pairs (ours, theirs)."""
    arrays = [np.asarray(a, dtype) for a in arrays]
    xs = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    ts = [torch_tensor(torch, a, requires_grad=True) for a in arrays]
    y, yt = ours(*xs), theirs(*ts)
    g = rng.standard_normal(yt.shape).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert y.dtype == dtype
    return (y, yt), [(x.grad, t.grad) for x, t in zip(xs, ts)]


def _check_vs_torch(torch, ours, theirs, arrays, dtype, rng, xp=np):
    (y, yt), grads = _backward_pair(torch, ours, theirs, arrays, dtype, rng, xp)
    assert_close(y, yt, dtype, "forward")
    for i, (gx, gt) in enumerate(grads):
        assert to_np(gx).dtype == dtype
        assert_close(gx, gt, dtype, f"gradient {i}")


# --------------------------------------------------------------------- elementwise
# name: (ours, PyTorch's (given torch.nn.functional), the loop version, the kinks)
CASES = {
    "hardshrink": (lambda x: F.hardshrink(x), lambda tf, x: tf.hardshrink(x), naive.hardshrink, [-0.5, 0.5]),
    "hardshrink_lambd": (lambda x: F.hardshrink(x, 1.5), lambda tf, x: tf.hardshrink(x, 1.5),
                         lambda a: naive.hardshrink(a, 1.5), [-1.5, 1.5]),
    "softshrink": (lambda x: F.softshrink(x), lambda tf, x: tf.softshrink(x), naive.softshrink, [-0.5, 0.5]),
    "softshrink_lambd": (lambda x: F.softshrink(x, 2.0), lambda tf, x: tf.softshrink(x, 2.0),
                         lambda a: naive.softshrink(a, 2.0), [-2.0, 2.0]),
    "tanhshrink": (lambda x: F.tanhshrink(x), lambda tf, x: tf.tanhshrink(x), naive.tanhshrink, []),
    "threshold": (lambda x: F.threshold(x, 0.5, -3.0), lambda tf, x: tf.threshold(x, 0.5, -3.0),
                  lambda a: naive.threshold(a, 0.5, -3.0), [0.5]),
    # eval: a leaky ReLU of slope (lower + upper) / 2 = 0.3
    "rrelu_eval": (lambda x: F.rrelu(x, 0.1, 0.5), lambda tf, x: tf.rrelu(x, 0.1, 0.5),
                   lambda a: naive.leaky_relu(a, 0.3), [0.0]),
}
NAMES = sorted(CASES)


def values(rng, kinks, dtype=np.float64):
    """Random values of both signs, each kink exactly, zeros and large ones, (2, 3, 8)."""
    special = list(kinks) + [-0.0, 0.0, 30.0, -30.0, 1e4, -1e4]
    a = rng.standard_normal(48 - len(special)) * 3
    return np.concatenate([a, special]).reshape(2, 3, 8).astype(dtype)


def away_from_kinks(rng, kinks, shape=(2, 3, 4)):
    """Random values and values 0.05 either side of each kink, none within 1e-3 of one (a
    finite-difference step of 1e-6 never crosses a kink)."""
    a = np.concatenate([rng.standard_normal(int(np.prod(shape)) - 2 * len(kinks)) * 3,
                        [k + d for k in kinks for d in (-0.05, 0.05)]])
    for k in kinks:
        a[abs(a - k) < 1e-3] += 2e-3
    return a.reshape(shape)


@pytest.mark.parametrize("name", NAMES)
def test_elementwise_against_the_loop_version(xp, rng, name):
    ours, _, loop, kinks = CASES[name]
    a = values(rng, kinks)
    y = ours(Tensor(xp.asarray(a)))
    assert y.dtype == np.float64
    assert_close(y, loop(a), np.float64, name)


@pytest.mark.parametrize("name", NAMES)
def test_elementwise_gradcheck(xp, rng, name):
    ours, _, _, kinks = CASES[name]
    assert gradcheck(ours, [xp.asarray(away_from_kinks(rng, kinks))])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_elementwise_against_pytorch_at_kinks_nan_and_large_values(xp, rng, name, dtype):
    """The kinks exactly (the gradient 0 or passed there as PyTorch's), NaN (its value and
    gradient passed through as there) and values far out."""
    torch = pytest.importorskip("torch")
    ours, theirs, _, kinks = CASES[name]
    a = values(rng, kinks, dtype)
    a[0, 0, 0] = np.nan
    (y, yt), [(gx, gt)] = _backward_pair(torch, ours, lambda t: theirs(torch.nn.functional, t), [a],
                                         dtype, rng, xp)
    # no sums: each value one or two roundings, so float32 is held to 1e-6 relative, not 1e-4
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_np(y), to_np(yt), err_msg="forward", **tol)
    np.testing.assert_allclose(to_np(gx), to_np(gt), err_msg="gradient", **tol)
    if kinks:   # the gradient at a kink is one piece's: 0 (the shrinks, threshold) or the slope
        at = np.isin(a, np.asarray(kinks, dtype))
        assert np.array_equal(to_np(gx)[at], to_np(gt).astype(dtype)[at])


def test_threshold_compares_in_the_input_s_dtype():
    """0.1 is not a float32: PyTorch casts the threshold to the input's dtype first, so a
    float32 0.1 is at the threshold (replaced), not above it."""
    torch = pytest.importorskip("torch")
    a = np.array([0.1, 0.2], np.float32)
    y = F.threshold(a, 0.1, 5.0).numpy()
    assert y.tolist() == torch.nn.functional.threshold(torch.from_numpy(a), 0.1, 5.0).numpy().tolist()
    assert y[0] == 5.0 and y.dtype == np.float32


# --------------------------------------------------------------------- GLU, softmin, Softmax2d
@pytest.mark.parametrize("shape, dim", [((3, 4), -1), ((2, 6, 3), 1), ((4, 2, 5), 0), ((8,), 0)])
def test_glu_against_the_loop_version_and_gradcheck(xp, rng, shape, dim):
    a = rng.standard_normal(shape) * 3
    y = F.glu(Tensor(xp.asarray(a)), dim)
    assert_close(y, naive.glu(a, dim), np.float64)
    assert gradcheck(lambda x: F.glu(x, dim), [xp.asarray(a)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, dim", [((3, 4), -1), ((2, 6, 3), 1), ((4, 2, 5), -3)])
def test_glu_against_pytorch(xp, rng, shape, dim, dtype):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape) * 3
    _check_vs_torch(torch, lambda x: F.glu(x, dim), lambda t: torch.nn.functional.glu(t, dim), [a], dtype, rng, xp)


def test_glu_layer_takes_an_integer_like_dim_as_f_glu_and_pytorch_s(rng):
    """nn.GLU(np.int64(1)) had been refused though F.glu (and PyTorch's layer) take it."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 6, 3))
    for dim in (np.int64(1), np.int32(-2), np.uint8(1)):
        layer = nn.GLU(dim)
        assert type(layer.dim) is int and repr(layer) == repr(torch.nn.GLU(dim)) == f"GLU(dim={int(dim)})"
        _check_vs_torch(torch, layer, torch.nn.GLU(dim), [a], np.float64, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, dim", [((3, 5), 1), ((2, 4, 3, 3), 1), ((2, 3, 4), -1), ((6,), 0)])
def test_softmin_against_pytorch_and_the_loop_version(xp, rng, shape, dim, dtype):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape) * 3
    assert_close(F.softmin(Tensor(xp.asarray(a)), dim=dim), naive.softmax(-a, dim), np.float64)
    _check_vs_torch(torch, lambda x: F.softmin(x, dim=dim), lambda t: torch.nn.functional.softmin(t, dim),
                    [a], dtype, rng, xp)
    _check_vs_torch(torch, nn.Softmin(dim), torch.nn.Softmin(dim), [a], dtype, rng, xp)
    assert gradcheck(lambda x: F.softmin(x, dim=dim), [xp.asarray(a)])


def test_softmin_reads_axis_1_by_default_as_softmax_here_and_names_it_on_a_vector():
    """F.softmin, as F.softmax here, reads axis 1 by default (PyTorch's guesses 0 for 0-, 1-
    and 3-d inputs); a vector had met NumPy's AxisError; nn.Softmin() guesses as PyTorch's."""
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(3, 2, 2) / 10
    np.testing.assert_array_equal(to_np(F.softmin(x)), to_np(F.softmax(-x)))
    np.testing.assert_array_equal(to_np(F.softmin(x)), to_np(F.softmin(x, dim=1)))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        want = torch.nn.Softmin()(torch.from_numpy(x)).numpy()
    with pytest.warns(UserWarning, match="implicit dimension"):
        mine = nn.Softmin()(x)
    np.testing.assert_allclose(to_np(mine), want, rtol=1e-14)
    for v in (np.array([1.0, 2.0]), np.array(1.0)):
        with pytest.raises(ValueError, match=f"softmin: a {v.ndim}-d input has no axis 1, the default .*: pass dim=0"):
            F.softmin(v)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            want = torch.nn.functional.softmin(torch.from_numpy(v)).numpy()
        np.testing.assert_allclose(to_np(F.softmin(v, dim=0)), want, rtol=1e-14)
        np.testing.assert_allclose(to_np(F.softmin(v, 0)), want, rtol=1e-14)


@pytest.mark.parametrize("shape", [(2, 4, 3, 3), (4, 3, 2)])
def test_softmax2d_against_pytorch(xp, rng, shape):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape) * 3
    for dtype in DTYPES:
        _check_vs_torch(torch, nn.Softmax2d(), torch.nn.Softmax2d(), [a], dtype, rng, xp)
    assert gradcheck(nn.Softmax2d(), [xp.asarray(a)])


# --------------------------------------------------------------------- RReLU in training
def test_rrelu_training_draws_a_uniform_slope_for_each_value_at_or_below_zero():
    torch = pytest.importorskip("torch")
    lower, upper = 0.1, 0.4
    a = -np.random.default_rng(1).uniform(0.5, 2.0, 40000)
    a[:10] = 0.0
    a[10:20] = 3.0
    minifcn.manual_seed(0)
    x = Tensor(a, requires_grad=True)
    y = F.rrelu(x, lower, upper, training=True)
    y.backward(np.ones_like(a))
    slope = y.numpy()[20:] / a[20:]
    assert np.array_equal(y.numpy()[10:20], a[10:20]) and np.array_equal(x.grad[10:20], np.ones(10))
    # the gradient is the slope drawn, at 0 too, where the value gives no sight of it
    np.testing.assert_allclose(x.grad[20:], slope, rtol=1e-12)
    assert ((x.grad[:10] >= lower) & (x.grad[:10] < upper)).all()
    assert (slope >= lower).all() and (slope < upper).all() and len(np.unique(slope)) > 39000
    # uniform on [lower, upper): mean (l+u)/2, variance (u-l)^2/12, each to a few standard errors
    n, width = slope.size, upper - lower
    assert abs(slope.mean() - (lower + upper) / 2) < 4 * width / math.sqrt(12 * n)
    assert abs(slope.var() - width ** 2 / 12) < 4 * width ** 2 / math.sqrt(180 * n)
    assert abs((slope < lower + width / 4).mean() - 0.25) < 0.01
    # PyTorch's training slopes: the same law (read the same way, so our reading is checked)
    neg = torch.from_numpy(a[20:])
    tslope = (torch.nn.functional.rrelu(neg, lower, upper, training=True) / neg).numpy()
    assert (tslope >= lower).all() and (tslope <= upper).all()
    assert abs(tslope.mean() - slope.mean()) < 8 * width / math.sqrt(12 * n)
    # the draws come from minifcn's generator: the same seed, the same slopes
    minifcn.manual_seed(0)
    assert np.array_equal(F.rrelu(a, lower, upper, training=True).numpy(), y.numpy())


def test_rrelu_layer_draws_in_training_and_averages_in_eval(xp, rng):
    m = nn.RReLU(0.2, 0.6)
    a = xp.asarray(-rng.uniform(1, 2, (4, 50)))
    y_train = to_np(m(a))
    assert len(np.unique(to_np(y_train) / to_np(a))) > 150
    np.testing.assert_allclose(to_np(m.eval()(a)), 0.4 * to_np(a), rtol=1e-15)
    same = nn.RReLU(0.3, 0.3)   # lower == upper: one slope, in training too
    np.testing.assert_allclose(to_np(same(a)), 0.3 * to_np(a), rtol=1e-7)


# --------------------------------------------------------------------- dropout1d, dropout3d
@pytest.mark.parametrize("fn, shape", [(F.dropout1d, (4, 500, 3)), (F.dropout1d, (500, 3)),
                                       (F.dropout3d, (2, 300, 2, 3, 2)), (F.dropout3d, (300, 2, 2, 3))])
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_channel_dropout_zeroes_whole_channels(fn, shape, p):
    minifcn.manual_seed(3)
    a = np.random.default_rng(0).uniform(1, 2, shape)
    x = Tensor(a, requires_grad=True)
    y = fn(x, p)
    g = np.random.default_rng(1).standard_normal(shape)
    y.backward(g)
    # 0 or 1/(1-p), to the rounding of a product and a quotient (rounded off, so that a channel's
    # values compare equal)
    mask = np.round(y.numpy() / a, 12)
    batched = len(shape) == (3 if fn is F.dropout1d else 5)
    per_channel = mask.reshape((shape[0] * shape[1], -1) if batched else (shape[0], -1))
    assert (per_channel == per_channel[:, :1]).all()                 # one draw a channel
    np.testing.assert_allclose(np.unique(per_channel), [0.0, 1 / (1 - p)], rtol=1e-12)
    dropped = (per_channel[:, 0] == 0).mean()
    n = len(per_channel)
    assert abs(dropped - p) < 4 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(x.grad, g * mask, rtol=1e-12)        # the gradient: the mask
    minifcn.manual_seed(3)
    assert np.array_equal(fn(a, p).numpy(), y.numpy())               # minifcn's generator


def test_channel_dropout_as_pytorch_s_structure_and_limits():
    """PyTorch's masks are drawn by its own generator: compared by what they must agree on,
    one draw a channel with the same values; and exactly where nothing is drawn."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).uniform(1, 2, (3, 200, 4))
    for ours, theirs, shape in [(F.dropout1d, torch.nn.functional.dropout1d, (3, 200, 4)),
                                (F.dropout3d, torch.nn.functional.dropout3d, (3, 200, 1, 2, 2))]:
        b = a.reshape(shape)
        y, yt = (np.round(v / b, 12) for v in (ours(b, 0.4).numpy(), theirs(torch.from_numpy(b), 0.4).numpy()))
        for m in (y, yt):
            m = m.reshape(600, -1)
            assert (m == m[:, :1]).all()
            np.testing.assert_allclose(np.unique(m), [0, 1 / 0.6], rtol=1e-12)
        for kwargs in (dict(p=0.4, training=False), dict(p=0.0), dict(p=1.0)):
            assert np.array_equal(ours(b, **kwargs).numpy(), theirs(torch.from_numpy(b), **kwargs).numpy())
    x = Tensor(a)
    assert F.dropout1d(x, 0.5, training=False) is x                  # eval: x itself


@pytest.mark.parametrize("layer", [nn.Dropout1d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout])
def test_dropout_layers_drop_in_training_or_always_on_and_not_in_eval(xp, layer):
    shape = (2, 40, 3) if layer is nn.Dropout1d else (2, 40, 2, 2, 3)
    a = xp.ones(shape)
    assert isinstance(layer(), nn.Dropout)    # found where code looks for dropout layers
    assert (to_np(layer(0.5)(a)) != 1).any()
    assert (to_np(layer(0.5).eval()(a)) == 1).all()
    assert (to_np(layer(0.5, always_on=True).eval()(a)) != 1).any()   # Monte-Carlo sampling


# --------------------------------------------------------------------- alpha dropout
ALPHA = 1.6732632423543772848170429916717 * 1.0507009873554804934193349852946   # SELU's saturation



@pytest.mark.parametrize("layer", [nn.Dropout, nn.Dropout2d, nn.Dropout1d, nn.Dropout3d, nn.AlphaDropout,
                                   nn.FeatureAlphaDropout])
def test_dropout_layers_take_always_on_only_as_a_bool(layer):
    """always_on="no" had switched sampling on (bool("no")); refused as every switch here.
    The attribute stays plain: Bayesian SegNet sets it True and False around its samples."""
    for bad in ("no", "False", 2, None):
        with pytest.raises(TypeError, match=f"{layer.__name__}: always_on must be a bool"):
            layer(0.5, always_on=bad)
    drop = layer(0.5, always_on=np.bool_(True))
    assert drop.always_on is True and "always_on=True" in repr(drop)
    drop = layer(0.5, always_on=False).eval()
    drop.always_on = True
    x = np.ones({nn.Dropout3d: (2, 200, 3, 4, 5), nn.Dropout1d: (2, 200, 3)}.get(layer, (2, 200, 3, 4)))
    assert not np.array_equal(to_np(drop(x)), x)
    drop.always_on = False
    assert np.array_equal(to_np(drop(x)), x) and repr(drop) == repr(layer(0.5))


@pytest.mark.parametrize("shape", [(3,), (), (0,)])
def test_feature_alpha_dropout_of_fewer_than_2_dims_is_the_identity_where_pytorch_s_is(shape):
    """In eval mode (the function's default) or with p = 0 any input comes back, as PyTorch's;
    only a draw needs the channel axis (PyTorch's error too), an empty input none."""
    torch = pytest.importorskip("torch")
    TF, x = torch.nn.functional, np.ones(shape)
    for kw in ({}, {"training": False}, {"p": 0.0, "training": True}):
        want = TF.feature_alpha_dropout(torch.from_numpy(x), **dict({"p": 0.5}, **kw)).numpy()
        assert np.array_equal(to_np(F.feature_alpha_dropout(x, **dict({"p": 0.5}, **kw))), want)
    assert np.array_equal(to_np(nn.FeatureAlphaDropout(0.5).eval()(x)), x)
    if x.size:
        with pytest.raises(RuntimeError):
            TF.feature_alpha_dropout(torch.from_numpy(x), 0.5, training=True)
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            F.feature_alpha_dropout(x, 0.5, training=True)
    else:
        assert F.feature_alpha_dropout(x, 0.5, training=True).shape == x.shape


def test_dropout3d_is_described_as_the_view_it_takes():
    import inspect

    import minifcn.functional_misc as fm
    for doc in (fm.__doc__, inspect.getdoc(fm.dropout3d)):
        assert "(n, c, d*h, w)" in doc and "(n, c, d, h*w)" not in doc
    assert "math.prod(s[:-1]), s[-1]" in inspect.getsource(fm._channel_dropout)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_keeps_mean_zero_and_variance_one(p):
    """Klambauer et al.'s design: for x of mean 0 and variance 1 the output keeps both."""
    minifcn.manual_seed(0)
    a = np.random.default_rng(0).standard_normal(400000)
    y = F.alpha_dropout(a, p, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01
    # the two pieces: a * x + b where kept, a * (-alpha') + b where dropped
    scale = 1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    shift = ALPHA * scale * p
    kept = np.isclose(y, scale * a + shift, rtol=1e-14, atol=0)
    np.testing.assert_allclose(y[~kept], -ALPHA * scale + shift, rtol=1e-14)
    assert abs((~kept).mean() - p) < 4 * math.sqrt(p * (1 - p) / a.size)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_against_pytorch_where_the_draws_agree(rng, feature, dtype):
    """PyTorch's draws are not ours; where both kept a value, or both dropped it, the outputs
    and gradients must agree; both drop about p of them."""
    torch = pytest.importorskip("torch")
    p = 0.3
    ours = F.feature_alpha_dropout if feature else F.alpha_dropout
    theirs = torch.nn.functional.feature_alpha_dropout if feature else torch.nn.functional.alpha_dropout
    a = rng.standard_normal((4, 300, 2, 2))
    (y, yt), [(gx, gt)] = _backward_pair(torch, lambda x: ours(x, p, True), lambda t: theirs(t, p, True),
                                         [a], dtype, rng)
    y, yt, gx, gt = to_np(y), to_np(yt), to_np(gx), to_np(gt)
    kept, tkept = gx != 0, gt != 0
    if feature:
        for k in (kept, tkept):
            assert (k == k[:, :, :1, :1]).all()
    for k in (kept, tkept):
        n = k.size // (4 if feature else 1)
        assert abs((~k).mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    both, neither = kept & tkept, ~kept & ~tkept
    assert both.sum() > 1000 and neither.sum() > 100
    for ours_v, theirs_v in ((y, yt), (gx, gt)):
        assert_close(ours_v[both], theirs_v[both], dtype, "kept")
        assert_close(ours_v[neither], theirs_v[neither], dtype, "dropped")
    x = Tensor(a.astype(dtype))
    assert ours(x, p) is x                        # training=False by default, as PyTorch's
    assert (ours(a, 1.0, True).numpy() == theirs(torch.from_numpy(a), 1.0, True).numpy()).all()


def test_alpha_dropout_gradcheck_given_its_draw():
    """The draw fixed by the seed, the op is affine in x: its finite differences see the mask."""
    a = np.random.default_rng(0).standard_normal((2, 3, 4))

    def fn(x):
        minifcn.manual_seed(5)
        return F.alpha_dropout(x, 0.4, training=True)
    assert gradcheck(fn, [a])


# --------------------------------------------------------------------- channel shuffle
@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 4), 2), ((2, 6, 3, 4), 3), ((1, 12, 5), 4),
                                           ((2, 4, 1, 2, 3), 2), ((2, 5, 3), 1), ((2, 5, 3), 5)])
def test_channel_shuffle_against_the_loop_version_adjoint_and_gradcheck(xp, rng, shape, groups):
    a = rng.standard_normal(shape)
    x = Tensor(xp.asarray(a), requires_grad=True)
    y = F.channel_shuffle(x, groups)
    assert_close(y, naive.channel_shuffle(a, groups), np.float64)
    g = rng.standard_normal(shape)
    y.backward(xp.asarray(g))
    lhs, rhs = float((to_np(y) * g).sum()), float((a * to_np(x.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1)
    assert_close(x.grad, naive.channel_shuffle(g, shape[1] // groups), np.float64)   # the inverse
    assert gradcheck(lambda t: F.channel_shuffle(t, groups), [xp.asarray(a)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_channel_shuffle_against_pytorch(xp, rng, dtype):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 12, 3, 2))
    for g in (2, 3, 4, 6):
        _check_vs_torch(torch, nn.ChannelShuffle(g), torch.nn.ChannelShuffle(g), [a], dtype, rng, xp)
    ints = np.arange(24).reshape(1, 6, 4)    # a permutation: integers too, as PyTorch's
    assert np.array_equal(F.channel_shuffle(ints, 3).numpy(),
                          torch.nn.functional.channel_shuffle(torch.from_numpy(ints), 3).numpy())


# --------------------------------------------------------------------- Unflatten
@pytest.mark.parametrize("shape, dim, sizes", [((2, 12), 1, (3, 4)), ((2, 12, 5), -2, [2, -1, 3]),
                                               ((6, 2), 0, (6,)), ((2, 3, 8), -1, (-1, 2, 2))])
def test_unflatten_as_pytorch_and_its_adjoint(xp, rng, shape, dim, sizes):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape)
    m, mt = nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
    assert repr(m) == repr(mt)
    _check_vs_torch(torch, m, mt, [a], np.float64, rng, xp)
    x = Tensor(xp.asarray(a), requires_grad=True)
    y = m(x)
    g = rng.standard_normal(y.shape)
    y.backward(xp.asarray(g))
    assert abs(float((to_np(y) * g).sum()) - float((a * to_np(x.grad)).sum())) < 1e-10


# --------------------------------------------------------------------- bilinear
@pytest.mark.parametrize("m, bias", [(3, True), (1, False), (0, True)])
def test_bilinear_against_the_loop_version_and_gradcheck(xp, rng, m, bias):
    x1, x2 = rng.standard_normal((m, 3)), rng.standard_normal((m, 4))
    W, b = rng.standard_normal((2, 3, 4)), (rng.standard_normal(2) if bias else None)
    y = F.bilinear(Tensor(xp.asarray(x1)), xp.asarray(x2), xp.asarray(W), None if b is None else xp.asarray(b))
    assert_close(y, naive.bilinear(x1, x2, W, b), np.float64)
    if m:
        args = [x1, x2, W] + ([b] if bias else [])
        assert gradcheck(F.bilinear, [xp.asarray(v) for v in args])


def test_bilinear_is_linear_in_each_argument(xp, rng):
    """With the other two fixed, y is a linear map of x1, of x2 and of W: for each, the
    gradient backward gives is that map's transpose applied to the upstream gradient."""
    arrays = [rng.standard_normal((5, 3)), rng.standard_normal((5, 4)), rng.standard_normal((2, 3, 4))]
    g = rng.standard_normal((5, 2))
    for i in range(3):
        ts = [Tensor(xp.asarray(v), requires_grad=(j == i)) for j, v in enumerate(arrays)]
        y = F.bilinear(*ts)
        y.backward(xp.asarray(g))
        lhs, rhs = float((to_np(y) * g).sum()), float((arrays[i] * to_np(ts[i].grad)).sum())
        assert abs(lhs) > 1e-3 and abs(lhs - rhs) <= 1e-10 * abs(lhs), i


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead", [(6,), (2, 3), ()])
def test_bilinear_against_pytorch(xp, rng, lead, dtype):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(lead + (3,)), rng.standard_normal(lead + (5,)),
              rng.standard_normal((4, 3, 5)), rng.standard_normal(4)]
    _check_vs_torch(torch, F.bilinear, torch.nn.functional.bilinear, arrays, dtype, rng, xp)
    _check_vs_torch(torch, F.bilinear, torch.nn.functional.bilinear, arrays[:3], dtype, rng, xp)


def test_bilinear_layer_keys_torch_s_weights_and_its_start(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Bilinear(6, 5, 4), torch.nn.Bilinear(6, 5, 4).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    assert [v.shape for v in ours.state_dict().values()] == [tuple(v.shape) for v in theirs.state_dict().values()]
    assert ours.weight.dtype == np.float32
    assert list(nn.Bilinear(6, 5, 4, bias=False).state_dict()) == ["weight"]
    # PyTorch's weights load and compute as there
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.double()
    x1, x2 = rng.standard_normal((3, 6)), rng.standard_normal((3, 5))
    _check_vs_torch(torch, ours, theirs, [x1, x2], np.float64, rng)
    # and round trip
    again = nn.Bilinear(6, 5, 4).double()
    again.load_state_dict(ours.state_dict())
    assert np.array_equal(again(x1, x2).numpy(), ours(x1, x2).numpy())
    # the start: He-normal over fan_in = in1 * in2 (Linear's here), a zero bias
    w = nn.Bilinear(20, 30, 50).weight.numpy()
    assert abs(w.std() / math.sqrt(2 / 600) - 1) < 0.03 and abs(w.mean()) < 0.003
    assert (nn.Bilinear(2, 3, 4).bias.numpy() == 0).all()


# --------------------------------------------------------------------- 1-d padding
PAD_1D = ["ReflectionPad1d(2)", "ReflectionPad1d((3, 1))", "ReplicationPad1d(3)", "ReplicationPad1d((0, 4))",
          "CircularPad1d(2)", "CircularPad1d((1, 3))", "ConstantPad1d(2, 3.5)", "ConstantPad1d((1, -2), -1.0)",
          "ZeroPad1d(2)", "ZeroPad1d((0, 3))"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("call", PAD_1D)
def test_1d_padding_as_pytorch(xp, rng, call, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = eval(call, vars(nn)), eval(call, vars(torch.nn))
    assert repr(ours) == repr(theirs)
    for shape in [(2, 3, 5), (3, 5)]:        # batched and one signal
        _check_vs_torch(torch, ours, theirs, [rng.standard_normal(shape)], dtype, rng, xp)


@pytest.mark.parametrize("call", ["ReflectionPad1d((3, 1))", "CircularPad1d((1, 3))", "ReplicationPad1d(2)",
                                  "ConstantPad1d((2, -1), 2.0)"])
def test_1d_padding_adjoint_and_gradcheck(xp, rng, call):
    m = eval(call, vars(nn))
    a = rng.standard_normal((2, 3, 5))
    x = Tensor(xp.asarray(a), requires_grad=True)
    y = m(x)
    g = rng.standard_normal(y.shape)
    y.backward(xp.asarray(g))
    lin = to_np(y) - to_np(m(xp.zeros_like(xp.asarray(a))))     # the linear part (no constant border)
    assert abs(float((lin * g).sum()) - float((a * to_np(x.grad)).sum())) < 1e-10
    assert gradcheck(m, [xp.asarray(a)])


# --------------------------------------------------------------------- parameter containers
def _torch_repr(torch_module):
    """PyTorch's repr with its dtype names as this library's (NumPy's)."""
    return (repr(torch_module).replace("torch.float32", "float32").replace("torch.float64", "float64")
            .replace("torch.FloatTensor", "float32").replace("torch.DoubleTensor", "float64"))


def test_parameter_list_as_pytorch_s():
    torch = pytest.importorskip("torch")
    shapes = [(2,), (3, 4), (1, 2, 3)]
    ours = nn.ParameterList([np.zeros(s, np.float32) for s in shapes[:2]])
    theirs = torch.nn.ParameterList([torch.zeros(s) for s in shapes[:2]])
    ours.append(Tensor(np.ones(shapes[2])))
    theirs.append(torch.ones(shapes[2], dtype=torch.float64))
    ours += [np.zeros(5, np.float32)]
    theirs += [torch.zeros(5)]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1", "2", "3"]
    assert repr(ours) == _torch_repr(theirs)
    assert repr(nn.ParameterList()) == repr(torch.nn.ParameterList()) == "ParameterList()"
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours)
    assert ours[-1] is ours[3] and [tuple(p.shape) for p in ours[1:3]] == shapes[1:]
    assert isinstance(ours[1:3], nn.ParameterList)
    ours[0] = np.full(2, 7.0)
    assert (ours[0].numpy() == 7.0).all() and list(ours.state_dict()) == ["0", "1", "2", "3"]
    # held by a module: its keys, parameters() and an optimizer see them
    holder, tholder = nn.Sequential(), torch.nn.Module()
    holder.ws, tholder.ws = ours, theirs
    assert list(holder.state_dict()) == list(tholder.state_dict()) == [f"ws.{i}" for i in range(4)]
    assert [id(p) for p in holder.parameters()] == [id(p) for p in ours]


def test_parameter_dict_as_pytorch_s():
    torch = pytest.importorskip("torch")
    ours = nn.ParameterDict({"b": np.zeros(2, np.float32), "a": np.zeros((3, 4))})
    theirs = torch.nn.ParameterDict({"b": torch.zeros(2), "a": torch.zeros(3, 4, dtype=torch.float64)})
    assert list(ours) == list(theirs) == ["a", "b"]           # a dict's keys sorted, as PyTorch's
    ours.update([("z", np.ones(1, np.float32)), ("c", np.ones(1, np.float32))])
    theirs.update([("z", torch.ones(1)), ("c", torch.ones(1))])
    ours.update(OrderedDict(y=np.ones(2, np.float32), x=np.ones(2, np.float32)))
    theirs.update(OrderedDict(y=torch.ones(2), x=torch.ones(2)))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a", "b", "z", "c", "y", "x"]
    assert repr(ours) == _torch_repr(theirs)
    assert repr(nn.ParameterDict()) == repr(torch.nn.ParameterDict())
    del ours["z"]
    assert "z" not in ours and ours.pop("c").shape == (1,) and len(ours) == 4
    assert ours.get("nope") is None and ours.setdefault("w", np.ones(3)).shape == (3,)
    assert list(ours.copy()) == list(ours) and ours.copy()["a"] is ours["a"]
    holder, tholder = nn.Sequential(), torch.nn.Module()
    holder.d, tholder.d = nn.ParameterDict({"k": np.ones(2)}), torch.nn.ParameterDict({"k": torch.ones(2)})
    assert list(holder.state_dict()) == list(tholder.state_dict()) == ["d.k"]
    ours.clear()
    assert len(ours) == 0 and list(ours.state_dict()) == []



def test_parameter_dict_reversed_popitem_fromkeys_and_or_as_pytorch_s():
    """__reversed__, popitem, fromkeys, | (either side) and |=, which it had lacked
    (reversed() fell back to d[1], d[0]: a KeyError)."""
    torch = pytest.importorskip("torch")
    ours = nn.ParameterDict(OrderedDict(b=np.zeros(1), a=np.ones(1), c=np.ones(2)))
    theirs = torch.nn.ParameterDict(OrderedDict(b=torch.zeros(1), a=torch.ones(1), c=torch.ones(2)))
    assert list(reversed(ours)) == list(reversed(theirs)) == ["c", "a", "b"]
    ours["b"], theirs["b"] = np.ones(3), torch.ones(3)   # replaced: its place kept, not the last put in
    c = ours["c"]
    key, value = ours.popitem()
    assert (key, theirs.popitem()[0]) == ("c", "c") and value is c and list(ours) == list(theirs) == ["b", "a"]
    made, tmade = ours.fromkeys(["q", "p"], np.zeros(2)), theirs.fromkeys(["q", "p"], torch.zeros(2))
    assert type(made) is nn.ParameterDict and list(made) == list(tmade) == ["q", "p"]
    assert list(made.state_dict()) == list(tmade.state_dict()) and made["q"] is not made["p"]
    merged, tmerged = ours | {"z": np.ones(1), "a": np.zeros(4)}, theirs | {"z": torch.ones(1), "a": torch.zeros(4)}
    assert type(merged) is nn.ParameterDict and list(merged) == list(tmerged) == ["b", "a", "z"]
    assert merged["a"].shape == (4,) and ours["a"].shape == (1,) and merged["b"] is ours["b"]
    left, tleft = {"y": np.ones(1)} | ours, {"y": torch.ones(1)} | theirs   # a dict stays one, as PyTorch's
    assert type(left) is dict and type(tleft) is dict and list(left) == list(tleft) == ["y", "b", "a"]
    assert list(nn.ParameterDict({"x": np.ones(1)}) | ours) == ["x", "b", "a"]
    same = ours
    ours |= [("k", np.ones(1))]
    theirs |= [("k", torch.ones(1))]
    assert ours is same and list(ours) == list(theirs) == ["b", "a", "k"]
    for d in (nn.ParameterDict(), torch.nn.ParameterDict()):
        with pytest.raises(KeyError, match="popitem"):
            d.popitem()
        assert list(reversed(d)) == []
    with pytest.raises(TypeError):
        ours | 3
    with pytest.raises(TypeError):
        [("k", np.ones(1))] | ours   # PyTorch's: AttributeError (a list has no update)


@pytest.mark.parametrize("container", ["list", "dict"])
def test_parameter_containers_round_trip_their_state(tmp_path, container):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (4,), ()]]

    def make(values):
        return (nn.ParameterList(values) if container == "list"
                else nn.ParameterDict(OrderedDict(zip(["w", "scale", "t"], values))))
    src, dst = make(arrays), make([np.zeros_like(a) for a in arrays])
    minifcn.save(src.state_dict(), tmp_path / "p.npz")
    dst.load_state_dict(minifcn.load(tmp_path / "p.npz"))
    assert list(dst.state_dict()) == list(src.state_dict())
    for p, a in zip(dst.parameters(), arrays):
        assert np.array_equal(p.numpy(), a)
    with pytest.raises(minifcn.nn.StateDictError):
        dst.load_state_dict({k: v for k, v in list(src.state_dict().items())[1:]})


# --------------------------------------------------------------------- reprs, names, bad arguments
LAYERS = ["Softmin()", "Softmin(dim=1)", "Softmax2d()", "GLU()", "GLU(1)", "GLU(dim=-2)", "Hardshrink()",
          "Hardshrink(0.3)", "Softshrink()", "Softshrink(lambd=1.5)", "Tanhshrink()", "Threshold(0.1, 20)",
          "Threshold(0.1, 20.0, True)", "RReLU()", "RReLU(0.1, 0.3, True)", "Dropout1d()", "Dropout3d(0.1)",
          "AlphaDropout(0.2, True)", "FeatureAlphaDropout()", "ChannelShuffle(2)", "Unflatten(1, (2, 3))",
          "Unflatten(-1, [2, 3])", "Bilinear(2, 3, 4)", "Bilinear(2, 3, 4, bias=False)"]


@pytest.mark.parametrize("call", LAYERS)
def test_repr_as_pytorch_s(call):
    torch = pytest.importorskip("torch")
    assert repr(eval(call, vars(nn))) == repr(eval(call, vars(torch.nn)))


def test_names_are_in_functional_and_nn():
    for name in ["softmin", "glu", "hardshrink", "softshrink", "tanhshrink", "threshold", "rrelu", "dropout1d",
                 "dropout3d", "alpha_dropout", "feature_alpha_dropout", "channel_shuffle", "bilinear"]:
        assert name in F.__all__ and callable(getattr(F, name)), name
        assert getattr(minifcn.nn.functional, name) is getattr(F, name)
    for name in ["Softmin", "Softmax2d", "GLU", "Hardshrink", "Softshrink", "Tanhshrink", "Threshold", "RReLU",
                 "Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "ChannelShuffle", "Unflatten",
                 "Bilinear", "ReflectionPad1d", "ReplicationPad1d", "ConstantPad1d", "ZeroPad1d", "CircularPad1d",
                 "ParameterList", "ParameterDict"]:
        assert issubclass(getattr(nn, name), nn.Module), name


X = np.zeros((2, 4, 3))
X2, X4, W = np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((5, 3, 4))   # bilinear's
BAD = [
    ("F.softshrink(X, -0.5)", ValueError, "lambd must be >= 0, got -0.5"),
    ("nn.Softshrink(-1)", ValueError, "lambd must be >= 0"),
    ("F.hardshrink(X, 'a')", TypeError, "lambd must be a number"),
    ("F.hardshrink(np.zeros(3, np.int64))", TypeError, "float32 or float64, got int64"),
    ("F.threshold(X, None, 1.0)", TypeError, "threshold must be a number, got None"),
    ("nn.Threshold(0.1, True)", TypeError, "value must be a number, got True"),
    ("F.rrelu(X, 0.5, 0.2)", ValueError, "lower (0.5) must not be greater than upper (0.2)"),
    ("nn.RReLU(0.5, 0.2)", ValueError, "lower (0.5) must not be greater than upper"),
    ("F.rrelu(X, training='yes')", TypeError, "training must be a bool"),
    ("F.glu(X, 2)", ValueError, "the halved dim 2 of the input (2, 4, 3) must have an even size, got 3"),
    ("F.glu(np.float64(1.0))", ValueError, "0-d"),
    ("F.glu(X, 3)", ValueError, "dim must be an int in [-3, 3)"),
    ("nn.GLU(1.0)", TypeError, "dim must be an int"),
    ("nn.GLU(True)", TypeError, "dim must be an int"),
    ("nn.GLU(np.bool_(True))", TypeError, "dim must be an int"),
    ("nn.Softmax2d()(np.zeros((2, 3)))", ValueError, "3-D (c, h, w) or 4-D"),
    ("F.dropout1d(np.zeros((2, 3, 4, 5)))", ValueError, "3-D (n, c, L) or 2-D"),
    ("F.dropout3d(X)", ValueError, "5-D (n, c, d, h, w) or 4-D"),
    ("F.dropout1d(X, 1.5)", ValueError, "p must be a number in [0, 1], got 1.5"),
    ("nn.Dropout3d(-0.1)", ValueError, "p must be a number in [0, 1]"),
    ("F.alpha_dropout(X, 0.5, 'no')", TypeError, "training must be a bool"),
    ("F.feature_alpha_dropout(np.zeros(3), 0.5, True)", ValueError, "at least 2 dimensions"),
    ("F.channel_shuffle(np.zeros((2, 4)), 2)", ValueError, "at least 3 dimensions"),
    ("F.channel_shuffle(np.zeros((2, 5, 3)), 2)", ValueError,
     "5 channels of the input (2, 5, 3) are not divisible by groups=2"),
    ("F.channel_shuffle(X, 0)", ValueError, "groups must be a positive int, got 0"),
    ("nn.ChannelShuffle(2.0)", ValueError, "groups must be a positive int"),
    ("nn.Unflatten(1, 6)", TypeError, "tuple or a list of ints"),
    ("nn.Unflatten(1, (2, -1, -1))", ValueError, "at most one -1"),
    ("nn.Unflatten(1, (4, 2))(np.zeros((2, 6)))", ValueError, "do not multiply up to the size 6 of dim 1"),
    ("nn.Unflatten(2, (2, 3))(np.zeros((2, 6)))", ValueError, "dim 2 is out of range"),
    ("F.bilinear(X2, np.zeros((3, 4)), W)", ValueError, "same leading dims"),
    ("F.bilinear(X2, X4, np.zeros((5, 4, 3)))", ValueError, "do not match the weight"),
    ("F.bilinear(X2, X4, np.zeros((5, 12)))", ValueError, "weight must be 3-D"),
    ("F.bilinear(X2, X4, W, np.zeros(4))", ValueError, "bias shape (4,) should be (5,)"),
    ("F.bilinear(X2, X4.astype(np.float32), W)", TypeError, "input2 must have input1's dtype"),
    ("F.bilinear(X2.astype(np.float32), X4.astype(np.float32), W)", TypeError, "share one dtype"),
    ("nn.Bilinear(0, 3, 4)", ValueError, "in1_features must be a positive int, got 0"),
    ("nn.ReflectionPad1d((1, 2, 3))", ValueError, "an int or a pair of ints (left, right)"),
    ("nn.ReflectionPad1d((1.0, 2))", TypeError, "pad must hold ints"),
    ("nn.ReflectionPad1d(3)(np.zeros((1, 2, 3)))", ValueError, "reflect padding 3 must be less than"),
    ("nn.ZeroPad1d(1)(np.zeros((1, 2, 3, 4)))", ValueError, "3-D (n, c, L) or 2-D (c, L)"),
    ("nn.ConstantPad1d(1, 'x')", TypeError, "value must be a number"),
    ("nn.ParameterList([1.0])", TypeError, "item 0 must be a Parameter, a Tensor or an array, got float"),
    ("nn.ParameterList(np.zeros(3))", TypeError, "use append for one"),
    ("nn.ParameterList([np.zeros(1)])[1]", IndexError, "index 1 is out of range for 1 parameters"),
    ("nn.ParameterDict({1: np.zeros(1)})", TypeError, "keys must be str, got int"),
    ("nn.ParameterDict({'a.b': np.zeros(1)})", KeyError, "cannot name a parameter"),
    ("nn.ParameterDict({'train': np.zeros(1)})", KeyError, "cannot name a parameter"),
    ("nn.ParameterDict([('a', np.zeros(1), 3)])", ValueError, "element 0 must be a (key, value) pair"),
    ("nn.ParameterDict(3)", TypeError, "a mapping or (key, value) pairs, got int"),
    ("nn.ParameterDict()['missing']", KeyError, "missing"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error) as e:
        eval(call, {"F": F, "nn": nn, "np": np, "X": X, "X2": X2, "X4": X4, "W": W})
    assert message in str(e.value)
