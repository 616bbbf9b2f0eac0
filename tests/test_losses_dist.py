"""The distances and losses of ``minifcn/losses_more.py`` (``F.normalize`` ... ``F.triplet_margin_loss``)
and their modules (``minifcn/nn_losses.py``).

Each against PyTorch (values and the gradient of every input PyTorch differentiates, float64
and float32, every reduction, on every backend), against a loop written here from PyTorch's
documented definition (float64), and by float64 finite differences on data kept away from
the kinks. Then the kinks themselves (a margin hit exactly, tied norms, a zero vector,
targets of 0), PyTorch's values and gradients there; the few places kept different on purpose;
and bad arguments. Where one is affine in an argument (kl_div in the input; the Poisson loss
without ``full`` and the multi-label soft margin in the target), the adjoint identity too."""
import math
import warnings

import numpy as np
import pytest

import minifcn.functional as F
import minifcn.nn as nn
from minifcn import Tensor
from minifcn.testing import gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

REDUCTIONS = ["mean", "sum", "none"]


# --------------------------------------------------------------------- loops over the values
def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _norm(v, p):
    v = [abs(float(a)) for a in v]
    return max(v, default=0.0) if p == math.inf else sum(a ** p for a in v) ** (1 / p)


def _reduced(values, reduction, batchmean_n=None):
    values = np.asarray(values, np.float64)
    if reduction == "none":
        return values
    if reduction == "batchmean":
        return values.sum() / batchmean_n
    return values.sum() if reduction == "sum" else values.mean()


def loop(name, args, kw):
    """Each op from its textbook definition, one value (or one sample) at a time, in float64."""
    a = [np.asarray(x, np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x) for x in args]
    red = kw.get("reduction", "mean")
    if name == "normalize":
        x, p, eps = a[0], kw.get("p", 2.0), kw.get("eps", 1e-12)
        out = np.zeros_like(x)
        for i in range(x.shape[0]):
            for k in range(x.shape[2]):
                out[i, :, k] = x[i, :, k] / max(_norm(x[i, :, k], p), eps)
        return out
    if name == "cosine_similarity":
        x1, x2 = np.broadcast_arrays(a[0], a[1])
        return np.array([sum(u * v for u, v in zip(r1, r2)) / (max(_norm(r1, 2), 1e-8) * max(_norm(r2, 2), 1e-8))
                         for r1, r2 in zip(x1, x2)])
    if name == "pairwise_distance":
        x1, x2 = np.broadcast_arrays(a[0], a[1])
        out = np.array([_norm([u - v + kw.get("eps", 1e-6) for u, v in zip(r1, r2)], kw.get("p", 2.0))
                        for r1, r2 in zip(x1, x2)])
        return out[:, None] if kw.get("keepdim") else out
    if name == "pdist":
        x = a[0]
        return np.array([_norm(x[i] - x[j], kw.get("p", 2)) for i in range(len(x)) for j in range(i + 1, len(x))])
    if name == "kl_div":
        x, t = a
        v = [math.exp(q) * (q - s) if kw.get("log_target") else (0.0 if q == 0 else q * (math.log(q) - s))
             for s, q in zip(x.ravel(), t.ravel())]
        return _reduced(np.reshape(v, x.shape), red, x.shape[0])
    if name == "poisson_nll_loss":
        x, t = a
        log_input, full = (kw.get("log_input", True) if len(args) < 3 else args[2]), kw.get("full", False)
        v = []
        for s, q in zip(x.ravel(), t.ravel()):
            lv = math.exp(s) - q * s if log_input else s - q * math.log(s + kw.get("eps", 1e-8))
            if full and q > 1:
                lv += q * math.log(q) - q + 0.5 * math.log(2 * math.pi * q)
            v.append(lv)
        return _reduced(np.reshape(v, x.shape), red)
    if name == "gaussian_nll_loss":
        x, t, var = a
        var = np.broadcast_to(var if var.shape == x.shape or var.ndim == x.ndim else var[..., None], x.shape)
        e = kw.get("eps", 1e-6)
        v = [0.5 * (math.log(max(s2, e)) + (s - q) ** 2 / max(s2, e))
             + (0.5 * math.log(2 * math.pi) if kw.get("full") else 0.0)
             for s, q, s2 in zip(x.ravel(), t.ravel(), var.ravel())]
        return _reduced(np.reshape(v, x.shape), red)
    if name == "soft_margin_loss":
        return _reduced([_softplus(-s * q) for s, q in zip(a[0].ravel(), a[1].ravel())], red).reshape(
            a[0].shape if red == "none" else ())
    if name == "multilabel_soft_margin_loss":
        x, t = a
        w = np.broadcast_to(kw["weight"] if kw.get("weight") is not None else 1.0, x.shape)
        v = [sum(w[n, c] * (t[n, c] * _softplus(-x[n, c]) + (1 - t[n, c]) * _softplus(x[n, c]))
                 for c in range(x.shape[1])) / x.shape[1] for n in range(x.shape[0])]
        return _reduced(v, red)
    if name == "margin_ranking_loss":
        x1, x2, t = np.broadcast_arrays(*a)
        return _reduced([max(0.0, -q * (u - v) + kw.get("margin", 0.0)) for u, v, q in zip(x1, x2, t)], red)
    if name == "hinge_embedding_loss":
        m = kw.get("margin", 1.0)
        return _reduced(np.reshape([s if q == 1 else (max(0.0, m - s) if q == -1 else s + max(0.0, m - s))
                                    for s, q in zip(a[0].ravel(), a[1].ravel())], a[0].shape), red)
    if name == "cosine_embedding_loss":
        x1, x2, t = a
        v = []
        for r1, r2, q in zip(x1, x2, t):
            cos = float(r1 @ r2) / math.sqrt((float(r1 @ r1) + 1e-12) * (float(r2 @ r2) + 1e-12))
            v.append(1 - cos if q == 1 else (max(0.0, cos - kw.get("margin", 0.0)) if q == -1 else 0.0))
        return _reduced(v, red)
    if name == "multi_margin_loss":
        x, y = a
        p, m, w = kw.get("p", 1), kw.get("margin", 1.0), kw.get("weight")
        v = []
        for row, label in zip(x, y):
            wy = 1.0 if w is None else w[label]
            v.append(sum(wy * max(0.0, m - row[label] + row[j]) ** p for j in range(len(row)) if j != label) / len(row))
        return _reduced(v, red)
    if name == "multilabel_margin_loss":
        x, y = a
        v = []
        for row, labels in zip(x, y):
            listed = []
            for lab in labels:
                if lab == -1:
                    break
                listed.append(int(lab))
            others = [i for i in range(len(row)) if i not in listed]
            v.append(sum(max(0.0, 1 - (row[j] - row[i])) for j in listed for i in others) / len(row))
        return _reduced(v, red)
    if name == "triplet_margin_loss":
        an, po, ne = a
        p, eps, m = kw.get("p", 2), kw.get("eps", 1e-6), kw.get("margin", 1.0)
        v = []
        for r, s, q in zip(an, po, ne):
            dp, dn = _norm(r - s + eps, p), _norm(r - q + eps, p)
            if kw.get("swap"):
                dn = min(dn, _norm(s - q + eps, p))
            v.append(max(0.0, m + dp - dn))
        return _reduced(v, red)
    raise KeyError(name)


# --------------------------------------------------------------------- the cases
def _away(v, lo=0.05):
    """Values pushed at least ``lo`` from 0, keeping their sign."""
    return np.where(v >= 0, 1, -1) * (lo + np.abs(v))


def _labels(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


def case(name, rng):
    """(arrays, which of them PyTorch differentiates, the kinks' arguments as a function of the
    arrays, or None): random data, the kinks' arguments (margins, ties) at least 0.05 from 0 so
    a finite-difference step never crosses one."""
    n, d = 4, 3
    x = rng.standard_normal
    if name == "normalize":
        return [x((n, d, 2))], [True], None
    if name == "cosine_similarity":
        return [x((n, d)), x((1, d))], [True, True], None
    if name == "pairwise_distance":
        return [x((n, d)), x((n, d))], [True, True], None
    if name == "pdist":
        return [x((n, d))], [True], None
    if name == "kl_div":
        return [x((n, d)), rng.uniform(0.1, 1.0, (n, d))], [True, True], None
    if name == "poisson_nll_loss":
        t = np.where(rng.random((n, d)) < 0.5, rng.uniform(0.0, 0.8, (n, d)), rng.uniform(1.2, 4.0, (n, d)))
        return [rng.uniform(0.2, 2.0, (n, d)), t], [True, True], None
    if name == "gaussian_nll_loss":
        return [x((n, d)), x((n, d)), rng.uniform(0.6, 2.0, (n, d))], [True, True, True], None   # var > eps 0.5
    if name == "soft_margin_loss":
        return [2 * x((n, d)), _labels(rng, (n, d))], [True, False], None
    if name == "multilabel_soft_margin_loss":
        return [2 * x((n, d)), rng.uniform(0, 1, (n, d))], [True, True], None
    if name == "margin_ranking_loss":
        t = _labels(rng, (n,))
        x2 = x(n)
        # -t (x1 - x2) = -away, at least 0.3 from 0: off the kinks at margins 0 and 0.25
        return [x2 + t * _away(x(n), 0.3), x2, t], [True, True, True], None
    if name == "hinge_embedding_loss":
        s = rng.permutation(np.arange(n * d)).reshape(n, d) * 0.45 - 1.3   # >= 0.05 from margins 1 and 2.5
        return [s, np.where(rng.random((n, d)) < 0.8, _labels(rng, (n, d)), 0.0)], [True, False], None
    if name == "cosine_embedding_loss":
        def kinks(a, b, t):   # cos - margin for both margins drawn
            cos = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
            return np.concatenate([cos, cos + 0.3])
        return [x((n, d)), x((n, d)), _labels(rng, (n,))], [True, True, False], kinks
    if name == "multi_margin_loss":
        y = rng.integers(0, 4, n)
        s = rng.permutation(np.arange(4 * n)).reshape(n, 4) * 0.37   # margins 1 - 0.37 k: 0.11 from 0 at least
        return [s, y], [True, False], None
    if name == "multilabel_margin_loss":
        s = rng.permutation(np.arange(4 * n)).reshape(n, 4) * 0.37
        y = np.array([[3, 0, -1, 1], [1, -1, 2, 2], [2, 2, 0, -1], [-1, 0, 1, 2]])   # repeats; one empty
        return [s, y], [True, False], None
    if name == "triplet_margin_loss":
        def kinks(a, p, q):   # margin + d(a, p) - d(a, n) for every variant, and the swap's tie
            out = []
            for pn, m in ((2, 1.0), (1, 0.7), (math.inf, 1.0)):
                dp, dn, ds = (np.linalg.norm(u - v, pn, axis=1) for u, v in ((a, p), (a, q), (p, q)))
                out += [m + dp - dn, m + dp - np.minimum(dn, ds), dn - ds]
            return np.concatenate(out)
        return [x((n, d)), x((n, d)), x((n, d))], [True, True, True], kinks
    raise KeyError(name)


def drawn(name, rng):
    """:func:`case`, drawn again until every kink's argument is at least 0.05 from 0."""
    while True:
        arrays, grads, kinks = case(name, rng)
        if kinks is None or np.abs(kinks(*arrays)).min() >= 0.05:
            return arrays, grads


# each op's keyword variants, the defaults first
VARIANTS = {
    "normalize": [{}, {"p": 1.0, "dim": 1}, {"p": math.inf}, {"p": 3.0, "eps": 0.1}],
    "cosine_similarity": [{}, {"dim": -1, "eps": 1e-3}],
    "pairwise_distance": [{}, {"p": 1.0}, {"p": math.inf, "keepdim": True}, {"p": 0.5, "eps": 0.0}, {"p": 3.0}],
    "pdist": [{}, {"p": 1.0}, {"p": math.inf}, {"p": 3.0}, {"p": 0.7}],
    "kl_div": [{}, {"log_target": True}],
    "poisson_nll_loss": [{}, {"full": True}, {"log_input": False}, {"log_input": False, "full": True, "eps": 0.1}],
    "gaussian_nll_loss": [{}, {"full": True, "eps": 0.5}],
    "soft_margin_loss": [{}],
    "multilabel_soft_margin_loss": [{}, {"weight": np.array([0.5, 2.0, 1.5])}],
    "margin_ranking_loss": [{}, {"margin": 0.25}],
    "hinge_embedding_loss": [{}, {"margin": 2.5}],
    "cosine_embedding_loss": [{}, {"margin": -0.3}],
    "multi_margin_loss": [{}, {"p": 2, "margin": 1.0}, {"weight": np.array([0.5, 2.0, 1.5, 1.0])}],
    "multilabel_margin_loss": [{}],
    "triplet_margin_loss": [{}, {"margin": 0.7, "p": 1.0, "swap": True}, {"p": math.inf, "eps": 0.0, "swap": True}],
}
LOSSES = {"kl_div", "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
          "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "multi_margin_loss",
          "multilabel_margin_loss", "triplet_margin_loss"}
CASES = [(name, i) for name in VARIANTS for i in range(len(VARIANTS[name]))]


def _reductions(name):
    return ["batchmean", "mean", "sum", "none"] if name == "kl_div" else REDUCTIONS if name in LOSSES else [None]


def _ours_and_theirs(torch, xp, name, arrays, grads, kw, dtype):
    ours = [Tensor(xp.asarray(a.astype(dtype)), requires_grad=g) if a.dtype.kind == "f" else xp.asarray(a)
            for a, g in zip(arrays, grads)]
    theirs = [torch_tensor(torch, a.astype(dtype), requires_grad=g) if a.dtype.kind == "f" else torch.from_numpy(a)
              for a, g in zip(arrays, grads)]
    ko = {k: xp.asarray(v.astype(dtype)) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kt = {k: torch_tensor(torch, v.astype(dtype)) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    with warnings.catch_warnings():   # kl_div's "mean" warns, in both
        warnings.simplefilter("ignore", UserWarning)
        y = getattr(F, name)(*ours, **ko)
        yt = getattr(torch.nn.functional, name)(*theirs, **kt)
    return ours, theirs, y, yt


def against_torch(torch, xp, name, arrays, grads, kw, dtype, rng):
    """Forward and every gradient PyTorch gives, ours vs PyTorch's, for one random upstream
    gradient; returns our result."""
    ours, theirs, y, yt = _ours_and_theirs(torch, xp, name, arrays, grads, kw, dtype)
    assert y.dtype == dtype and y.shape == tuple(yt.shape), (y.dtype, y.shape, yt.shape)
    assert_close(y, yt, dtype, f"{name} {kw} forward")
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    for k, (a, b, wanted) in enumerate(zip(ours, theirs, grads)):
        if wanted:
            assert a.grad is not None and a.grad.dtype == dtype, f"{name}: argument {k} got no gradient"
            mine, want = to_np(a.grad), to_np(b.grad)
            nan = np.isnan(want)   # kl_div's target at 0: NaN in both (float32's tolerance scales by the max)
            np.testing.assert_array_equal(np.isnan(mine), nan, err_msg=f"{name} {kw}: NaN of argument {k}")
            assert_close(mine[~nan], want[~nan], dtype, f"{name} {kw} gradient of argument {k}")
    return y


@pytest.mark.parametrize("name,variant", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_values_and_every_gradient_as_pytorch_and_the_loop(xp, rng, name, variant, dtype):
    torch = pytest.importorskip("torch")
    arrays, grads = drawn(name, rng)
    for reduction in _reductions(name):
        kw = dict(VARIANTS[name][variant], **({} if reduction is None else {"reduction": reduction}))
        y = against_torch(torch, xp, name, arrays, grads, kw, dtype, rng)
        if dtype == np.float64:
            lk = {k: v for k, v in kw.items()}
            want = loop(name, arrays, lk)
            np.testing.assert_allclose(to_np(y), want, rtol=1e-11, atol=1e-12, err_msg=f"{name} {kw} vs the loop")


@pytest.mark.parametrize("name,variant,reduction",
                         [(name, i, red) for name, i in CASES for red in _reductions(name)])
def test_gradients_by_finite_differences(xp, rng, name, variant, reduction):
    """Every variant with every reduction: "none" and "sum" have backward code of their own
    (a gradient per sample or value, no division) that "mean" alone would leave unchecked."""
    arrays, grads = drawn(name, rng)
    kw = {k: xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in VARIANTS[name][variant].items()}
    if reduction is not None:
        kw["reduction"] = reduction
    fixed = {k: xp.asarray(a) for k, (a, g) in enumerate(zip(arrays, grads)) if not g}
    free = [xp.asarray(a) for a, g in zip(arrays, grads) if g]

    def fn(*ts):
        it = iter(ts)
        with warnings.catch_warnings():   # kl_div's "mean" warns (PyTorch's does too)
            warnings.simplefilter("ignore", UserWarning)
            return getattr(F, name)(*[fixed[k] if k in fixed else next(it) for k in range(len(arrays))], **kw)
    assert gradcheck(fn, free)


@pytest.mark.parametrize("name,which,kw", [
    ("kl_div", 0, {}), ("kl_div", 0, {"log_target": True}), ("poisson_nll_loss", 1, {}),
    ("poisson_nll_loss", 1, {"log_input": False}), ("multilabel_soft_margin_loss", 1, {"weight": np.array([0.5, 2.0, 1.5])})])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_adjoint_identity_where_affine(xp, rng, name, which, kw, reduction):
    """For f affine in one argument, f(a) = A a + c: <f(a) - f(0), g> = <a, A^T g>, the right
    side from the backward, to 1e-10."""
    arrays, _ = drawn(name, rng)
    kw = {k: xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    other = xp.asarray(arrays[1 - which])

    def f(a):
        args = [a, other] if which == 0 else [other, a]
        return getattr(F, name)(*args, reduction=reduction, **kw)
    a = Tensor(xp.asarray(arrays[which]), requires_grad=True)
    y = f(a)
    g = xp.asarray(rng.standard_normal(y.shape))
    y.backward(g)
    lhs = float(((to_np(y) - to_np(f(xp.zeros_like(a.data)))) * to_np(g)).sum())
    rhs = float((to_np(a.data) * to_np(a.grad)).sum())
    assert abs(lhs) > 1e-3 and abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)), (lhs, rhs)


# --------------------------------------------------------------------- kinks, as PyTorch's
def _kink(torch, xp, name, arrays, grads, dtype, rng, **kw):
    return against_torch(torch, xp, name, [np.asarray(a) for a in arrays], grads, kw, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_margins_hit_exactly_as_pytorch(xp, rng, dtype):
    """A margin of exactly 0: clamp_min passes the gradient (margin ranking, hinge embedding,
    cosine embedding, triplet); the multi-class kernels count only margins > 0 (gradient 0)."""
    torch = pytest.importorskip("torch")
    for red in REDUCTIONS:
        _kink(torch, xp, "margin_ranking_loss", [[1.0, 2.0, 0.5], [1.0, 1.0, 1.0], [1.0, -1.0, 1.0]],
              [True] * 3, dtype, rng, reduction=red)
        _kink(torch, xp, "hinge_embedding_loss", [[1.0, 0.5, 2.0, 3.0], [-1.0, -1.0, 1.0, 0.0]], [True, False],
              dtype, rng, reduction=red)
        _kink(torch, xp, "cosine_embedding_loss", [[[1.0, 0.0], [2.0, 0.0]], [[0.0, 3.0], [0.0, -1.0]], [-1.0, -1.0]],
              [True, True, False], dtype, rng, reduction=red)   # cos exactly 0 = margin
        _kink(torch, xp, "multi_margin_loss", [[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]], np.array([1, 0])], [True, False],
              dtype, rng, reduction=red)
        _kink(torch, xp, "multilabel_margin_loss", [[[1.0, 2.0, 0.0, 0.5], [0.0, 1.0, 3.0, 1.0]],
                                                    np.array([[1, 0, -1, 2], [2, -1, 0, 0]])], [True, False],
              dtype, rng, reduction=red)
        _kink(torch, xp, "triplet_margin_loss", [[[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 2.0]]], [True] * 3, dtype, rng,
              eps=0.0, reduction=red)   # 1 + 1 - 2 = 0
    assert to_np(F.margin_ranking_loss(np.array([1.0]), np.array([1.0]), np.array([1.0]))).item() == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_and_zero_vectors_as_pytorch(xp, rng, dtype):
    """Ties of the inf-norm: pairwise_distance shares the gradient, pdist gives each the whole
    of it; triplet's swap tie is shared; a zero vector: normalize gives 0, cosine_similarity
    0 with the gradient x2_hat / eps (PyTorch's clamp outside the graph); a distance of 0 in
    pdist has the gradient 0; a norm of exactly eps in normalize passes the gradient."""
    torch = pytest.importorskip("torch")
    tie = [[1.0, 3.0, -3.0], [0.0, 0.0, 0.0]]
    _kink(torch, xp, "pdist", [tie], [True], dtype, rng, p=math.inf)
    _kink(torch, xp, "pairwise_distance", [tie[:1], tie[1:]], [True, True], dtype, rng, p=math.inf, eps=0.0)
    for p in (2, 1, 3, 0.5, math.inf):   # rows 0 and 1 equal
        _kink(torch, xp, "pdist", [[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, -2.0, 1.0]]], [True], dtype, rng, p=p)
        _kink(torch, xp, "pairwise_distance", [[[1.0, 2.0, 3.0], [1.0, -2.0, 2.0]], [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]],
              [True, True], dtype, rng, p=p, eps=0.0)
    _kink(torch, xp, "normalize", [[[0.0, 0.0], [3.0, 4.0], [0.6, 0.8]]], [True], dtype, rng, eps=1.0)
    _kink(torch, xp, "cosine_similarity", [[[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], [[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]]],
          [True, True], dtype, rng)
    # a norm below eps: clamped outside the graph, so the gradient still goes through the norm
    _kink(torch, xp, "cosine_similarity", [[[1e-9, -2e-9, 0.0]], [[1.0, 2.0, 2.0]]], [True, True], dtype, rng)
    _kink(torch, xp, "normalize", [[[1e-9, -2e-9, 0.0]]], [True], dtype, rng, eps=1e-8)
    for red in REDUCTIONS:   # d(a, n) = d(p, n) = 2: the swap's minimum ties
        _kink(torch, xp, "triplet_margin_loss", [[[0.0, 0.0]], [[0.0, 4.0]], [[0.0, 2.0]]], [True] * 3, dtype, rng,
              margin=3.0, eps=0.0, swap=True, reduction=red)
    x = Tensor(xp.asarray(np.zeros((1, 3), dtype)), requires_grad=True)
    F.cosine_similarity(x, xp.asarray(np.array([[1.0, 2.0, 2.0]], dtype))).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), np.array([[1, 2, 2]]) / 3 / dtype(1e-8), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_targets_of_zero_and_variances_below_eps_as_pytorch(xp, rng, dtype):
    """kl_div at t = 0: value 0, the target's gradient NaN (PyTorch's xlogy backward, 0 / 0);
    a variance of 0 is clamped to eps with the gradient of the unclamped expression there."""
    torch = pytest.importorskip("torch")
    for red in ["batchmean", "sum", "none"]:
        y = _kink(torch, xp, "kl_div", [[[-1.0, -2.0, -0.5]], [[0.0, 0.5, 0.5]]], [True, True], dtype, rng,
                  reduction=red)
        assert np.isfinite(to_np(y)).all()
    for red in REDUCTIONS:
        _kink(torch, xp, "gaussian_nll_loss", [[1.0, 2.0, 0.0], [0.5, 3.0, 0.0], [1.0, 0.0, 1e-7]], [True] * 3,
              dtype, rng, reduction=red)
    _kink(torch, xp, "gaussian_nll_loss", [[[1.0, 2.0]], [[0.5, 3.0]], [[0.1]]], [True] * 3, np.float64, rng)
    _kink(torch, xp, "gaussian_nll_loss", [[[1.0, 2.0]], [[0.5, 3.0]], [0.1]], [True] * 3, np.float64, rng)


def test_poisson_target_gradient_at_counts_of_zero_is_finite_where_pytorchs_is_nan(xp, rng):
    """Kept different on purpose: with full=True the Stirling term is masked where t <= 1,
    and PyTorch's masked_fill backward still multiplies 0 by log 0 there (NaN); ours is
    the gradient of what the loss computes, -x. Elsewhere both agree."""
    torch = pytest.importorskip("torch")
    a, b = np.array([1.0, 2.0, 0.5, 0.3]), np.array([0.0, 1.0, 3.0, 0.5])
    x, t = Tensor(xp.asarray(a), requires_grad=True), Tensor(xp.asarray(b), requires_grad=True)
    tt = torch_tensor(torch, b, requires_grad=True)
    F.poisson_nll_loss(x, t, full=True, reduction="sum").backward()
    torch.nn.functional.poisson_nll_loss(torch_tensor(torch, a), tt, full=True, reduction="sum").backward()
    theirs = to_np(tt.grad)
    assert np.isnan(theirs[0]) and to_np(t.grad)[0] == -1.0
    np.testing.assert_allclose(to_np(t.grad)[1:], theirs[1:], rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_margin_loss_does_not_overflow(xp, dtype):
    """log(1 + e^z) as max(z, 0) + log1p(e^-|z|): z = 1000 gives 1000 (PyTorch's float32 gives
    inf from z ~ 89 on, its gradient NaN), the gradient -t sigmoid(z), which is -t there."""
    x = Tensor(xp.asarray(np.array([-1000.0, 1000.0, 0.0], dtype)), requires_grad=True)
    t = xp.asarray(np.array([1.0, 1.0, -1.0], dtype))
    y = F.soft_margin_loss(x, t, reduction="none")
    np.testing.assert_allclose(to_np(y), [1000.0, 0.0, math.log(2)], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [-1.0, 0.0, 0.5], atol=1e-7)


def test_targets_pytorch_does_not_differentiate_get_no_gradient(rng):
    """hinge and cosine embedding: a target that requires grad gets none (PyTorch's, silently);
    soft_margin_loss refuses one, as PyTorch's does."""
    x = Tensor(rng.standard_normal(3), requires_grad=True)
    t = Tensor(np.array([1.0, -1.0, 1.0]), requires_grad=True)
    F.hinge_embedding_loss(x, t).backward()
    assert t.grad is None and x.grad is not None
    with pytest.raises(ValueError, match="soft_margin_loss: target must not require grad"):
        F.soft_margin_loss(x, t)


def test_kl_div_mean_warns_and_batchmean_divides_by_the_batch(rng):
    x, t = np.log(rng.dirichlet(np.ones(4), 3)), rng.dirichlet(np.ones(4), 3)
    with pytest.warns(UserWarning, match="batchmean"):
        mean = F.kl_div(x, t).item()
    total = F.kl_div(x, t, reduction="sum").item()
    assert mean == pytest.approx(total / 12) and F.kl_div(x, t, reduction="batchmean").item() == pytest.approx(total / 3)
    assert total > 0   # Gibbs' inequality: two different distributions


def test_pdist_order_and_shapes():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [6.0, 8.0]])
    want = [np.linalg.norm(x[i] - x[j]) for i in range(4) for j in range(i + 1, 4)]
    np.testing.assert_allclose(to_np(F.pdist(x)), want, rtol=1e-14)
    assert F.pdist(np.ones((1, 3))).shape == (0,) and F.pdist(np.ones((2, 0))).numpy().tolist() == [0.0]


def test_cosine_similarity_broadcasts_along_the_reduced_axis():
    """(N, 1) against (N, D) along dim 1: the expanded x1's norm counts its value D times."""
    torch = pytest.importorskip("torch")
    a, b = np.array([[1.0], [-2.0]]), np.array([[1.0, 2.0, 2.0], [0.0, 3.0, 4.0]])
    want = torch.nn.functional.cosine_similarity(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(to_np(F.cosine_similarity(a, b)), want, rtol=1e-14)


def test_cosine_similarity_of_0d_inputs_and_its_gradient_as_pytorchs(xp):
    """dim=0 of two 0-d inputs: a 1-vector each, cosine 1 (or -1), gradient 0 (the backward of
    Tensor.sum over dim 0 of a 0-d tensor had failed)."""
    torch = pytest.importorskip("torch")
    for u, v in ((2.0, 3.0), (-1.5, 4.0)):
        a, b = (Tensor(xp.asarray(np.float64(w)), requires_grad=True) for w in (u, v))
        ta, tb = (torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in (u, v))
        y, yt = F.cosine_similarity(a, b, dim=0), torch.nn.functional.cosine_similarity(ta, tb, dim=0)
        y.backward()
        yt.backward()
        assert y.shape == tuple(yt.shape) == () and y.item() == yt.item()
        assert to_np(a.grad).item() == ta.grad.item() and to_np(b.grad).item() == tb.grad.item()


def test_gaussian_var_shapes_as_pytorchs():
    torch = pytest.importorskip("torch")
    x, t = np.zeros((2, 3, 4)), np.ones((2, 3, 4))
    for v in (np.full((2, 3), 2.0), np.full((2, 3, 1), 2.0), np.full((2, 1, 4), 2.0), np.full((2, 3, 4), 2.0), 2.0):
        vt = torch.from_numpy(v) if isinstance(v, np.ndarray) else v
        want = torch.nn.functional.gaussian_nll_loss(torch.from_numpy(x), torch.from_numpy(t), vt).item()
        assert F.gaussian_nll_loss(x, t, v).item() == pytest.approx(want, rel=1e-14)
    for v in (np.ones((2, 4)), np.ones((1, 1, 4)), np.ones((3, 4))):
        with pytest.raises(ValueError, match=r"gaussian_nll_loss: var shape"):
            F.gaussian_nll_loss(x, t, v)
        with pytest.raises(ValueError):
            torch.nn.functional.gaussian_nll_loss(torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(v))


def test_unbatched_inputs_as_pytorch(rng):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    s, v = rng.standard_normal(4), rng.standard_normal(4)
    for red in REDUCTIONS:
        assert F.multi_margin_loss(s, np.array(2), reduction=red).item() == pytest.approx(
            TF.multi_margin_loss(torch.from_numpy(s), torch.tensor(2), reduction=red).item(), rel=1e-13)
        assert F.multilabel_margin_loss(s, np.array([2, 0, -1, 3]), reduction=red).item() == pytest.approx(
            TF.multilabel_margin_loss(torch.from_numpy(s), torch.tensor([2, 0, -1, 3]), reduction=red).item(), rel=1e-13)
        assert F.cosine_embedding_loss(s, v, np.array(-1.0), reduction=red).item() == pytest.approx(
            TF.cosine_embedding_loss(torch.from_numpy(s), torch.from_numpy(v), torch.tensor(-1.0), reduction=red).item(),
            rel=1e-13)
        assert F.triplet_margin_loss(s, v, -s, reduction=red).item() == pytest.approx(
            TF.triplet_margin_loss(torch.from_numpy(s), torch.from_numpy(v), torch.from_numpy(-s), reduction=red).item(),
            rel=1e-13)
    assert F.pairwise_distance(s, v).shape == () and F.pairwise_distance(s, v, keepdim=True).shape == (1,)


# --------------------------------------------------------------------- names
def test_names_are_functional_s_nn_s_and_top_level_and_import_on_their_own():
    import subprocess
    import sys

    import minifcn
    import minifcn.losses_more as L
    import minifcn.nn_losses as M
    for name in L.__all__:
        assert getattr(F, name) is getattr(L, name) and name in F.__all__
    for name in M.__all__:
        assert getattr(nn, name) is getattr(M, name)
    for name in ("cosine_similarity", "pairwise_distance", "pdist"):   # torch.pdist and the rest
        assert getattr(minifcn, name) is getattr(F, name)
    for first in ("minifcn.losses_more", "minifcn.nn_losses"):
        run = subprocess.run([sys.executable, "-c", f"import {first}; import minifcn.nn as nn; nn.KLDivLoss"],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


# --------------------------------------------------------------------- modules
def test_modules_call_their_functions(rng):
    a, b, c = rng.standard_normal((3, 4, 5))
    t = rng.choice([-1.0, 1.0], 4)
    y = rng.integers(0, 5, 4)
    w = rng.uniform(0.5, 2, 5)
    pairs = [
        (nn.CosineSimilarity(dim=0, eps=1e-4)(a, b), F.cosine_similarity(a, b, 0, 1e-4)),
        (nn.PairwiseDistance(p=1.0, keepdim=True)(a, b), F.pairwise_distance(a, b, 1.0, keepdim=True)),
        (nn.KLDivLoss(reduction="batchmean", log_target=True)(a, b), F.kl_div(a, b, reduction="batchmean", log_target=True)),
        (nn.PoissonNLLLoss(log_input=False, full=True, eps=0.1)(abs(a), abs(b) * 3),
         F.poisson_nll_loss(abs(a), abs(b) * 3, False, True, eps=0.1)),
        (nn.GaussianNLLLoss(full=True, reduction="sum")(a, b, abs(c)), F.gaussian_nll_loss(a, b, abs(c), True, reduction="sum")),
        (nn.SoftMarginLoss(reduction="sum")(a, np.sign(b)), F.soft_margin_loss(a, np.sign(b), reduction="sum")),
        (nn.MultiLabelSoftMarginLoss(w)(a, abs(np.sign(b))), F.multilabel_soft_margin_loss(a, abs(np.sign(b)), w)),
        (nn.MarginRankingLoss(0.5)(a[0], b[0], np.sign(c[0])), F.margin_ranking_loss(a[0], b[0], np.sign(c[0]), 0.5)),
        (nn.HingeEmbeddingLoss(2.0)(a, np.sign(b)), F.hinge_embedding_loss(a, np.sign(b), 2.0)),
        (nn.CosineEmbeddingLoss(0.2)(a, b, t), F.cosine_embedding_loss(a, b, t, 0.2)),
        (nn.MultiMarginLoss(2, 0.5, w)(a, y), F.multi_margin_loss(a, y, 2, 0.5, w)),
        (nn.MultiLabelMarginLoss(reduction="none")(a, np.tile([4, 1, -1, 0, 0], (4, 1))),
         F.multilabel_margin_loss(a, np.tile([4, 1, -1, 0, 0], (4, 1)), reduction="none")),
        (nn.TripletMarginLoss(0.5, 1.0, swap=True)(a, b, c), F.triplet_margin_loss(a, b, c, 0.5, 1.0, swap=True)),
    ]
    for mine, want in pairs:
        np.testing.assert_array_equal(to_np(mine), to_np(want))
    assert list(nn.MultiMarginLoss(weight=w).state_dict()) == ["weight"]
    assert list(nn.MultiLabelSoftMarginLoss(w).state_dict()) == ["weight"]
    assert repr(nn.KLDivLoss(reduction="batchmean")) == "KLDivLoss(reduction='batchmean', log_target=False)"


@pytest.mark.parametrize("make", [
    lambda: nn.KLDivLoss(reduction="avg"), lambda: nn.PoissonNLLLoss(reduction="avg"),
    lambda: nn.GaussianNLLLoss(reduction="batchmean"), lambda: nn.SoftMarginLoss(reduction=None),
    lambda: nn.MultiLabelSoftMarginLoss(reduction="total"), lambda: nn.MarginRankingLoss(reduction="elementwise"),
    lambda: nn.HingeEmbeddingLoss(reduction=""), lambda: nn.CosineEmbeddingLoss(reduction="Mean"),
    lambda: nn.MultiMarginLoss(reduction="max"), lambda: nn.MultiLabelMarginLoss(reduction="batchmean"),
    lambda: nn.TripletMarginLoss(reduction="avg")])
def test_modules_refuse_a_bad_reduction_when_built(make):
    with pytest.raises(ValueError, match="reduction must be"):
        make()


def test_modules_refuse_bad_settings_when_built():
    with pytest.raises(ValueError, match="TripletMarginLoss: margin must be greater than 0, got 0"):
        nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="MultiMarginLoss: p must be 1 or 2, got 3"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match=r"PairwiseDistance: p must be a nonzero number or \+-inf, got 0"):
        nn.PairwiseDistance(p=0)   # PyTorch's counts nonzeros; its negative p are taken
    with pytest.raises(ValueError, match="MultiMarginLoss: weight must be 1-D"):
        nn.MultiMarginLoss(weight=np.ones((2, 2)))
    with pytest.raises(TypeError, match="HingeEmbeddingLoss: margin must be a number, got 'one'"):
        nn.HingeEmbeddingLoss(margin="one")


# --------------------------------------------------------------------- bad arguments
X, Y = np.zeros((2, 3)), np.zeros((2, 3))


@pytest.mark.parametrize("call,match", [
    (lambda: F.normalize(X, p=0), r"normalize: p must be a nonzero number or \+-inf, got 0"),
    (lambda: F.normalize(X, p=math.nan), r"normalize: p must be a nonzero number or \+-inf, got nan"),
    (lambda: F.normalize(X, dim=2), r"normalize: dim must be an int in \[-2, 2\) for a 2-d input, got 2"),
    (lambda: F.normalize(X, eps=-1), r"normalize: eps must be a non-negative number, got -1"),
    (lambda: F.cosine_similarity(X, np.zeros((3, 3))), r"cosine_similarity: shapes \(2, 3\), \(3, 3\) do not broadcast"),
    (lambda: F.cosine_similarity(X, X, dim=-3), r"cosine_similarity: dim must be an int in \[-2, 2\)"),
    (lambda: F.pairwise_distance(X, np.zeros(2)), r"pairwise_distance: shapes \(2, 3\), \(2,\) do not broadcast"),
    (lambda: F.pairwise_distance(X, Y, p=0), r"pairwise_distance: p must be a nonzero number or \+-inf, got 0"),
    (lambda: F.pdist(np.zeros(3)), r"pdist: input must be 2-D \(N, M\), got shape \(3,\)"),
    (lambda: F.kl_div(X, Y, reduction="batch"), r"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got 'batch'"),
    (lambda: F.kl_div(X, np.zeros((2, 2)), reduction="sum"), r"kl_div: target shape \(2, 2\) differs from input shape \(2, 3\)"),
    (lambda: F.poisson_nll_loss(X, Y, reduction="avg"), r"poisson_nll_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: F.gaussian_nll_loss(X, Y, -np.ones((2, 3))), r"gaussian_nll_loss: var must be non-negative, got -1.0"),
    (lambda: F.gaussian_nll_loss(X, Y, -1.0), r"gaussian_nll_loss: var must be non-negative, got -1.0"),
    (lambda: F.soft_margin_loss(X, np.zeros(3)), r"soft_margin_loss: target shape \(3,\) differs from input shape \(2, 3\)"),
    (lambda: F.multilabel_soft_margin_loss(X, Y, np.ones(2)), r"multilabel_soft_margin_loss: weight shape \(2,\) does not broadcast"),
    (lambda: F.margin_ranking_loss(X, Y, np.ones(3)), r"margin_ranking_loss: input1, input2 and target must have one number of axes"),
    (lambda: F.margin_ranking_loss(X[0], Y[0], np.ones(3), margin=None), r"margin_ranking_loss: margin must be a number, got None"),
    (lambda: F.hinge_embedding_loss(X, np.ones(3)), r"hinge_embedding_loss: target shape \(3,\) must be \(2, 3\)"),
    (lambda: F.cosine_embedding_loss(X, Y, np.ones(3)), r"cosine_embedding_loss: target shape \(3,\) must be \(2,\)"),
    (lambda: F.cosine_embedding_loss(X, np.zeros((2, 4)), np.ones(2)), r"cosine_embedding_loss: input1 and input2 must be of one shape"),
    (lambda: F.multi_margin_loss(X, np.array([0, 3])), r"multi_margin_loss: every target must be a class index in \[0, 3\), got 3"),
    (lambda: F.multi_margin_loss(X, np.array([0.0, 1.0])), r"multi_margin_loss: target must hold integer class indices, got float64"),
    (lambda: F.multi_margin_loss(X, np.array([0, 1, 2])), r"multi_margin_loss: target shape \(3,\) must be \(2,\)"),
    (lambda: F.multi_margin_loss(X, np.array([0, 1]), p=3), r"multi_margin_loss: p must be 1 or 2, got 3"),
    (lambda: F.multi_margin_loss(X, np.array([0, 1]), weight=np.ones(2)), r"multi_margin_loss: weight shape \(2,\) does not broadcast"),
    (lambda: F.multilabel_margin_loss(X, np.array([[0, 1, 5], [0, -1, 0]])), r"multilabel_margin_loss: every target must be a class index in \[0, 3\) or -1, got 5"),
    (lambda: F.multilabel_margin_loss(X, np.array([0, 1])), r"multilabel_margin_loss: target shape \(2,\) must be the input's \(2, 3\)"),
    (lambda: F.triplet_margin_loss(X, Y, X, margin=-1), r"triplet_margin_loss: margin must be greater than 0, got -1.0"),
    (lambda: F.triplet_margin_loss(X, Y, X[0]), r"triplet_margin_loss: anchor, positive and negative must have one number of axes"),
    (lambda: F.triplet_margin_loss(X, Y, X, reduction="batchmean"), r"triplet_margin_loss: reduction must be 'mean', 'sum' or 'none'"),
])
def test_bad_arguments_are_refused_by_name(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_integer_inputs_are_refused():
    with pytest.raises(TypeError, match="cosine_similarity: x1 must be float32 or float64, got int64"):
        F.cosine_similarity(np.ones((2, 3), np.int64), X)
    with pytest.raises(TypeError, match="pdist: input must be float32 or float64, got int64"):
        F.pdist(np.ones((2, 3), np.int64))


# --------------------------------------------------------------------- review fixes, each against PyTorch
def _grads_vs_torch(torch, name, arrays, grads, kw, dtype=np.float64, rng=None):
    """Values and gradients (upstream ones) of F.name vs PyTorch's, NaN where PyTorch's is."""
    rng = np.random.default_rng(0) if rng is None else rng
    return against_torch(torch, np, name, [np.asarray(a) for a in arrays], grads, kw, dtype, rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margins_that_do_not_count_ignore_infinite_and_nan_scores_as_pytorch(reduction):
    """multilabel_margin_loss had summed 0 * z over every margin: a score of -inf (or NaN)
    whose margins do not count gave NaN (0 * inf); PyTorch's kernel adds only margins > 0."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # quietly: no NumPy RuntimeWarning for inf - inf
        y = _grads_vs_torch(torch, "multilabel_margin_loss", [[[2.0, -np.inf, 0.5]], np.array([[0, -1, 0]])],
                            [True, False], {"reduction": reduction})
        assert to_np(y).ravel().tolist() == [0.0]
        for scores in ([[2.0, -np.inf, 0.5, np.nan], [np.inf, 1.0, -np.inf, 0.0]],
                       [[1.0, np.nan, 0.5, 3.0], [np.inf, np.inf, 0.0, 0.3]]):
            _grads_vs_torch(torch, "multilabel_margin_loss", [scores, np.array([[0, 2, -1, 1], [0, -1, 1, 1]])],
                            [True, False], {"reduction": reduction})
            _grads_vs_torch(torch, "multi_margin_loss", [scores, np.array([0, 2])], [True, False],
                            {"reduction": reduction})


@pytest.mark.parametrize("call", [
    lambda: F.kl_div(X, Y, reduction="sum", log_target="False"),
    lambda: F.poisson_nll_loss(X, Y, log_input="no"), lambda: F.poisson_nll_loss(X, Y, full="no"),
    lambda: F.gaussian_nll_loss(X, Y, np.ones((2, 3)), full="yes"),
    lambda: F.pairwise_distance(X, Y, keepdim="True"), lambda: F.triplet_margin_loss(X, Y, X, swap="no"),
    lambda: F.triplet_margin_loss(X, Y, X, swap=2),
    lambda: nn.KLDivLoss(log_target="False"), lambda: nn.PoissonNLLLoss(log_input="no"),
    lambda: nn.PoissonNLLLoss(full=None), lambda: nn.GaussianNLLLoss(full="no"),
    lambda: nn.PairwiseDistance(keepdim="no"), lambda: nn.TripletMarginLoss(swap="no")])
def test_switches_must_be_bools(call):
    """bool("False") is True: a string had switched log_target (and the rest) on, silently.
    PyTorch's refuses a str (its Python gaussian_nll_loss alone reads any truth value)."""
    with pytest.raises(TypeError, match="must be a bool, got"):
        call()


def test_switches_refused_as_pytorch_refuses_them():
    torch = pytest.importorskip("torch")
    TF, t = torch.nn.functional, torch.zeros(2, 3, dtype=torch.float64)
    for call in (lambda: TF.kl_div(t, t, reduction="sum", log_target="False"),
                 lambda: TF.poisson_nll_loss(t, t, full="no"), lambda: TF.pairwise_distance(t, t, keepdim="True"),
                 lambda: TF.triplet_margin_loss(t, t, t, swap="no")):
        with pytest.raises(TypeError):
            call()
    assert F.kl_div(X, Y, reduction="sum", log_target=np.bool_(False)).item() == 0.0   # NumPy's bool and 0/1 pass
    assert F.pairwise_distance(X, Y, keepdim=1).shape == (2, 1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, target", [((4,), [3]), ((4,), 3), ((1, 4), 3), ((1, 4), [3])])
def test_multi_margin_loss_takes_one_sample_s_target_as_0d_or_1_as_pytorch(shape, target, reduction):
    """A (C,) input with a (1,) target had been refused (PyTorch: 0.325); "none" has the
    target's shape, as PyTorch's."""
    torch = pytest.importorskip("torch")
    x = np.array([0.1, 0.2, 0.4, 0.8]).reshape(shape)
    y = _grads_vs_torch(torch, "multi_margin_loss", [x, np.array(target)], [True, False], {"reduction": reduction})
    assert to_np(y).ravel().tolist() == pytest.approx([0.325], rel=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [-1.0, -2.5, -0.5, -math.inf])
def test_negative_norm_orders_as_pytorch(rng, p, dtype):
    """normalize and pairwise_distance take PyTorch's negative p (and -inf, the smallest
    |x|): values and gradients, a zero value (norm 0, clamped by eps) and ties too; pdist
    refuses them, as PyTorch's does."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((3, 4))
    kinks = np.array([[1.0, -1.0, 3.0, 2.0], [0.0, 2.0, -2.0, 1.0], [0.5, 0.0, 0.0, -0.5]])
    for x in (a, kinks):
        _grads_vs_torch(torch, "normalize", [x], [True], {"p": p}, dtype, rng)
        _grads_vs_torch(torch, "normalize", [x], [True], {"p": p, "dim": 0, "eps": 0.1}, dtype, rng)
        _grads_vs_torch(torch, "pairwise_distance", [x, b], [True, True], {"p": p}, dtype, rng)
        _grads_vs_torch(torch, "pairwise_distance", [x, np.zeros(4)], [True, False], {"p": p, "eps": 0.0}, dtype, rng)
    _grads_vs_torch(torch, "triplet_margin_loss", [a, b, -a], [True] * 3, {"p": p}, dtype, rng)
    assert nn.PairwiseDistance(p=p).norm == p
    with pytest.raises(ValueError, match="pdist: p must be a positive number or inf"):
        F.pdist(a, p=p)
    with pytest.raises(RuntimeError):
        torch.pdist(torch.from_numpy(a), p=p)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("tshape", [(1, 4), (3, 1), (4,), (1, 1), ()])
def test_multilabel_soft_margin_loss_broadcasts_its_target_as_pytorch(rng, tshape, reduction):
    torch = pytest.importorskip("torch")
    x, t = rng.standard_normal((3, 4)), rng.uniform(0, 1, tshape)
    _grads_vs_torch(torch, "multilabel_soft_margin_loss", [x, t], [True, True], {"reduction": reduction})
    with pytest.raises(ValueError, match=r"target shape \(2, 3, 4\) must broadcast to the input's \(3, 4\)"):
        F.multilabel_soft_margin_loss(x, np.ones((2, 3, 4)))   # PyTorch's would sum another axis


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [[(3, 2, 4)] * 3, [(3, 2, 4), (3, 2, 4), (1, 2, 4)], [(2, 1, 3, 4)] * 3,
                                    [(3, 2, 4), (3, 1, 4), (1, 2, 4)]])
def test_triplet_margin_loss_takes_n_star_d_inputs_as_pytorch(rng, shapes, reduction):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s) for s in shapes]
    _grads_vs_torch(torch, "triplet_margin_loss", arrays, [True] * 3, {"reduction": reduction, "swap": True})
    with pytest.raises(ValueError, match="triplet_margin_loss: anchor, positive and negative must have one number"):
        F.triplet_margin_loss(arrays[0], arrays[1][0], arrays[2])


_EMPTY = [
    ("kl_div", [np.zeros((0, 5)), np.zeros((0, 5))]), ("poisson_nll_loss", [np.zeros((0, 5)), np.zeros((0, 5))]),
    ("gaussian_nll_loss", [np.zeros((0, 5)), np.zeros((0, 5)), np.ones((0, 5))]),
    ("multilabel_soft_margin_loss", [np.zeros((0, 5)), np.zeros((0, 5))]),
    ("margin_ranking_loss", [np.zeros(0), np.zeros(0), np.ones(0)]),
    ("hinge_embedding_loss", [np.zeros(0), np.ones(0)]),
    ("cosine_embedding_loss", [np.zeros((0, 5)), np.zeros((0, 5)), np.ones(0)]),
    ("multi_margin_loss", [np.zeros((0, 5)), np.zeros(0, np.int64)]),
    ("multilabel_margin_loss", [np.zeros((0, 5)), np.zeros((0, 5), np.int64)]),
    ("triplet_margin_loss", [np.zeros((0, 5)), np.zeros((0, 5)), np.ones((0, 5))])]


@pytest.mark.parametrize("name, args, reduction", [(n, a, "mean") for n, a in _EMPTY] +
                         [("kl_div", _EMPTY[0][1], "batchmean")])
def test_an_empty_batch_gives_nan_quietly_forward_and_backward_as_pytorch(name, args, reduction):
    """PyTorch's mean of no losses is NaN, silently; ours had NumPy's 0 / 0 RuntimeWarnings
    (kl_div's batchmean in the forward and the backward, the others' in the backward). The two
    multi-class margins of PyTorch's CPU return an uninitialised value there: ours is NaN."""
    torch = pytest.importorskip("torch")
    ours = [Tensor(a, requires_grad=True) if a.dtype.kind == "f" else a for a in args]
    theirs = [torch_tensor(torch, a) if a.dtype.kind == "f" else torch.from_numpy(a) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)   # kl_div's "mean", and PyTorch's own
        y = getattr(F, name)(*ours, reduction=reduction)
        y.backward()
        yt = getattr(torch.nn.functional, name)(*theirs, reduction=reduction)
    assert math.isnan(y.item()) and (name in ("multi_margin_loss", "multilabel_margin_loss") or math.isnan(yt.item()))
    assert ours[0].grad.shape == ours[0].shape   # the others' as PyTorch differentiates them
    assert all(a.grad is None or a.grad.shape == a.shape for a in ours if isinstance(a, Tensor))
