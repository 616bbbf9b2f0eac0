"""Audit of functional.py's Functions: the checks of the four (loop version, float64 finite
differences, adjoint identity, PyTorch) that the other test files did not yet make.

* nearest interpolation: checked against PyTorch only; here against a loop version
  (``naive.interpolate_nearest``), by finite differences, and by the adjoint identity;
* nll_loss is linear in its input, and the cross-entropy against class probabilities is
  affine in the probabilities: both by the adjoint identity;
* batch norm: in eval mode an affine map of x; in either mode linear in (weight, bias) jointly;
* max_unpool2d, conv2d and conv_transpose2d (in the weight and the bias): the adjoint identity
  through the Function and autograd, where the other files check the array kernels.

For an affine map ``f(x) = A x + c`` the identity is ``<f(x) - f(0), g> = <x, A^T g>``.
"""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.testing import distinct_values, gradcheck
from oracle import to_np


def _dot(a, b):
    return float((to_np(a) * to_np(b)).sum())


def _assert_close(lhs, rhs, rtol=1e-10):
    assert abs(lhs - rhs) <= rtol * max(1.0, abs(lhs)), (lhs, rhs)
    assert abs(lhs) > 1e-3, "a vanishing <f(x), g> would make the check empty"


def adjoint(xp, rng, fn, x, affine=False):
    """``(<f(x) - f(0), g>, <x, J^T g>)`` for a map ``fn`` linear (or affine) in ``x``."""
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = fn(t)
    g = xp.asarray(rng.standard_normal(y.shape))
    y.backward(g)
    value = to_np(y)
    if affine:
        value = value - to_np(fn(Tensor(xp.zeros_like(xp.asarray(x)))))
    return _dot(value, g), _dot(x, t.grad)


# --------------------------------------------------------------------- nearest interpolation
NEAREST = [   # (input h, w), interpolate's keywords, the loop's (out_h, out_w, scale_factor)
    ((5, 7), dict(size=(3, 11)), (3, 11, None)),               # down in h, up in w
    ((4, 5), dict(size=(8, 10)), (8, 10, None)),
    ((4, 5), dict(scale_factor=(2, 3)), (8, 15, (2, 3))),
    ((4, 5), dict(scale_factor=1.5), (6, 7, 1.5)),              # s = 1 / 1.5, not 5 / 7
    ((3, 3), dict(size=(1, 1)), (1, 1, None)),
]


@pytest.mark.parametrize("hw, kw, loop", NEAREST)
def test_nearest_matches_the_loops(xp, rng, hw, kw, loop):
    x = rng.standard_normal((2, 3) + hw)
    y = F.interpolate(xp.asarray(x), mode="nearest", **kw)
    np.testing.assert_array_equal(to_np(y), naive.interpolate_nearest(x, *loop))


def test_the_nearest_loop_is_pytorch_s(rng):
    # the loop is an oracle only if it is PyTorch's rule, which the kernel's tests compare with
    torch = pytest.importorskip("torch")
    for hw, kw, loop in NEAREST:
        x = rng.standard_normal((1, 2) + hw)
        want = torch.nn.functional.interpolate(torch.from_numpy(x), mode="nearest", **kw).numpy()
        np.testing.assert_array_equal(naive.interpolate_nearest(x, *loop), want)


@pytest.mark.parametrize("hw, kw, loop", NEAREST)
def test_nearest_backward_is_its_transpose_and_matches_finite_differences(xp, rng, hw, kw, loop):
    # each output copies one input: the backward adds every output's gradient onto its source
    x = rng.standard_normal((1, 2) + hw)
    _assert_close(*adjoint(xp, rng, lambda t: F.interpolate(t, mode="nearest", **kw), x))
    assert gradcheck(lambda t: F.interpolate(t, mode="nearest", **kw), [xp.asarray(x)])


# --------------------------------------------------------------------- losses linear in an input
def _labels(rng, n, C, h, w, ignore=255):
    t = rng.integers(0, C, (n, h, w))
    t[rng.random((n, h, w)) < 0.25] = ignore
    t.flat[0] = 0   # at least one labelled pixel
    return t


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_backward_is_its_transpose(xp, rng, reduction, weighted):
    # -w[t] x[t] (over the summed w[t] for "mean"): linear in x, whatever x holds
    n, C, h, w = 2, 4, 3, 5
    t = xp.asarray(_labels(rng, n, C, h, w))
    wt = xp.asarray(0.5 + rng.random(C)) if weighted else None
    x = rng.standard_normal((n, C, h, w))
    _assert_close(*adjoint(xp, rng, lambda v: F.nll_loss(v, t, wt, reduction=reduction), x))
    t2 = xp.asarray(np.array([0, 3, -100, 1, 2]))   # (n, C) scores, another ignore index
    _assert_close(*adjoint(xp, rng, lambda v: F.nll_loss(v, t2, wt, ignore_index=-100, reduction=reduction),
                           rng.standard_normal((5, 4))))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted,eps", [(False, 0.0), (True, 0.0), (True, 0.3)])
def test_cross_entropy_is_affine_in_the_probabilities(xp, rng, reduction, weighted, eps):
    # -sum_c w_c q_c log softmax(z)_c with q = (1 - eps) p + eps / C: linear in p without
    # smoothing, affine with it; the logits are held fixed
    n, C, h, w = 2, 4, 3, 2
    z = xp.asarray(rng.standard_normal((n, C, h, w)))
    wt = xp.asarray(0.5 + rng.random(C)) if weighted else None
    p = rng.standard_normal((n, C, h, w))   # off the simplex too: the map is linear in any p
    fn = lambda q: F.cross_entropy(z, q, wt, reduction=reduction, label_smoothing=eps)
    _assert_close(*adjoint(xp, rng, fn, p, affine=eps > 0))


# --------------------------------------------------------------------- batch norm
def _bn(rng, shape=(3, 4, 3, 2)):
    c = shape[1]
    return rng.standard_normal(shape) * 2 + 1, 0.5 + rng.random(c), rng.standard_normal(c)


def test_batch_norm_eval_is_affine_in_x(xp, rng):
    x, gamma, beta = _bn(rng)
    rm, rv = xp.asarray(rng.standard_normal(4)), xp.asarray(0.5 + rng.random(4))
    fn = lambda t: F.batch_norm(t, rm, rv, xp.asarray(gamma), xp.asarray(beta), training=False, eps=1e-3)
    _assert_close(*adjoint(xp, rng, fn, x, affine=True))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_is_linear_in_weight_and_bias_together(xp, rng, training):
    # y = gamma * xhat + beta, xhat fixed by x (and the statistics): <y, g> must equal
    # <gamma, ggamma> + <beta, gbeta>, the two parameters' gradients from one backward
    x, gamma, beta = _bn(rng)
    rm, rv = xp.asarray(rng.standard_normal(4)), xp.asarray(0.5 + rng.random(4))
    ga, be = Tensor(xp.asarray(gamma), requires_grad=True), Tensor(xp.asarray(beta), requires_grad=True)
    y = F.batch_norm(xp.asarray(x), None if training else rm, None if training else rv, ga, be,
                     training=training)
    g = xp.asarray(rng.standard_normal(y.shape))
    y.backward(g)
    _assert_close(_dot(y, g), _dot(gamma, ga.grad) + _dot(beta, be.grad))


# --------------------------------------------------------------------- through the Functions
@pytest.mark.parametrize("k, s, p, hw", [(2, 2, 0, (7, 5)), (3, 2, 1, (9, 7)), ((1, 2), (1, 1), 0, (1, 3))])
def test_max_unpool2d_backward_is_its_transpose(xp, rng, k, s, p, hw):
    # overlapping windows (3/2, and 2/1 on a row, where both windows pick one 5) repeat an
    # index: unpooling keeps the last value, and the backward must give the lost one nothing
    x = distinct_values((1, 2) + hw, seed=2) if hw != (1, 3) else np.array([[[[0.0, 5.0, 1.0]]]])
    _, idx = F.max_pool2d(xp.asarray(x), k, s, p, ceil_mode=True, return_indices=True)
    v = rng.standard_normal(idx.shape)
    _assert_close(*adjoint(xp, rng, lambda t: F.max_unpool2d(t, idx, k, s, p, output_size=hw), v))


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("k, s, p, groups", [(3, 1, 1, 1), (4, 2, 1, 1), (3, 2, 0, 2)])
def test_convolution_backward_in_weight_and_bias_is_its_transpose(xp, rng, transposed, k, s, p, groups):
    # conv2d(x; W, b) is linear in (W, b) jointly for a fixed x: through autograd's graph
    x = xp.asarray(rng.standard_normal((2, 4, 6, 5)))
    W = rng.standard_normal((4, 6 // groups, k, k) if transposed else (6, 4 // groups, k, k))
    b = rng.standard_normal(6)
    op = F.conv_transpose2d if transposed else F.conv2d
    Wt, bt = Tensor(xp.asarray(W), requires_grad=True), Tensor(xp.asarray(b), requires_grad=True)
    y = op(x, Wt, bt, stride=s, padding=p, groups=groups)
    g = xp.asarray(rng.standard_normal(y.shape))
    y.backward(g)
    _assert_close(_dot(y, g), _dot(W, Wt.grad) + _dot(b, bt.grad))
