"""Distances and the losses after the elementwise ones: PyTorch's ``F.normalize`` to
``F.triplet_margin_loss`` (imported into :mod:`minifcn.functional`, so ``F.kl_div`` and the rest).

Most are written as PyTorch writes them, from the Tensor ops (norms, ``clamp``, ``where``,
``minimum``): the values and gradients are then PyTorch's, kinks included, because each piece's
rule at its kink is (``clamp(min=m)`` passes the gradient where the value is ``>= m``, a tie of
``minimum`` or of an inf-norm shares it, a zero vector's 2-norm has the gradient 0). The few
that PyTorch writes as kernels of their own are Functions here with the kernel's rule:
the two multi-class margins count a margin only where it is ``> 0`` (its gradient is 0 right
at the kink), ``pdist``'s inf-norm gives every tie the whole gradient, and the Poisson and KL
losses are :class:`~minifcn.functional.ElementwiseLoss` es. ``soft_margin_loss`` is
``log(1 + e^z)`` without overflow (PyTorch's overflows to inf past ``z`` ~ 89 in float32).

Reductions, as PyTorch's: ``"mean"`` (the sum divided by the count of loss values: values
for the elementwise losses, samples for the per-sample ones), ``"sum"``, ``"none"``;
``kl_div`` also ``"batchmean"``.

>>> import numpy as np
>>> from minifcn import functional as F
>>> F.cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[2.0, 0.0], [-1.0, -1.0]])).numpy()
array([ 1., -1.])
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .autograd import Function, Tensor, as_tensor
from .backend import get_array_module
from .functional import (ElementwiseLoss, _check_elementwise_weight, _check_float, _check_pair, _flag, _raw,
                         check_nonnegative, check_reduction)
from .activations import logsigmoid
from .ops import Norm, _reduce_axes, _sigmoid, minimum, where

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist", "kl_div",
           "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "multi_margin_loss",
           "multilabel_margin_loss", "triplet_margin_loss"]


# --------------------------------------------------------------------- argument checks
def _real(op, name, v) -> float:
    """A margin: a real number (not a bool), as a float."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {v!r}")
    return float(v)


def _check_p(op, p, negative=False) -> float:
    """A norm's order: a positive number or inf; with ``negative`` (normalize,
    pairwise_distance) a negative one or -inf too, as PyTorch's (pdist refuses those, as
    there). PyTorch's 0, a count of nonzeros with no gradient, is refused, as ``Tensor.norm``
    refuses it."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) or not (p > 0 or negative and p < 0):
        kinds = "a nonzero number or +-inf" if negative else "a positive number or inf"
        raise ValueError(f"{op}: p must be {kinds}, got {p!r}")
    return float(p)


def _norm(x, p, dim, keepdim=False):
    """``x.norm(p, dim, keepdim)``, and PyTorch's negative orders: ``-inf`` the smallest
    ``|x|`` (ties share the gradient), a negative ``p`` ``(sum |x|^p)^(1/p)``, 0 where a value
    is 0 (``|0|^p`` is inf), its gradient then 0, as PyTorch's."""
    if p == -math.inf:
        return x.abs().amin(dim=dim, keepdim=keepdim)
    if p < 0:
        with np.errstate(divide="ignore"):   # |0|^p = inf, as PyTorch's
            return Norm(p, _reduce_axes("norm", dim, x.ndim), keepdim)(x)
    return x.norm(p, dim=dim, keepdim=keepdim)


def _check_dim(op, dim, ndim) -> int:
    """An axis of an ``ndim``-d tensor, negatives counted from the end."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral) \
            or not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{op}: dim must be an int in [{-max(ndim, 1)}, {max(ndim, 1)}) for a "
                         f"{ndim}-d input, got {dim!r}")
    return int(dim) % max(ndim, 1)


def _float_input(op, x, name="input"):
    x = as_tensor(x)
    _check_float(op, x, name)
    return x


def _like(op, name, t, x):
    """``t`` (a target) as a Tensor of x's dtype; one that requires grad must have it already
    (its gradient has that dtype)."""
    t = as_tensor(t, like=x)
    if t.dtype != x.dtype:
        if t.requires_grad:
            raise TypeError(f"{op}: a {name} that requires grad must have the input's dtype "
                            f"{x.dtype}, got {t.dtype}")
        t = Tensor(t.data.astype(x.dtype))
    return t


def _constant(op, name, t, x, shape):
    """A target the loss is not differentiable in (PyTorch's is not): its array in x's dtype,
    of ``shape``. PyTorch gives such a target no gradient, silently; so does this."""
    a = _raw(as_tensor(t, like=x))
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} shape {tuple(a.shape)} must be {tuple(shape)}")
    return get_array_module(x.data).asarray(a, dtype=x.dtype)


def _broadcast_shape(op, *tensors):
    try:
        return np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    except ValueError:
        raise ValueError(f"{op}: shapes {', '.join(str(tuple(t.shape)) for t in tensors)} do not "
                         "broadcast together") from None


def _mean_of(total, count):
    """``total / count``; for a count of 0 NaN, quietly (PyTorch's 0 / 0): ``total * NaN``, so
    neither the forward nor the backward divides by 0 (the gradient reaches no value)."""
    return total / count if count else total * math.nan


def _reduce(loss, reduction):
    """PyTorch's reduction of the loss values: ``"mean"`` divides the sum by their count (NaN
    for none), as PyTorch's."""
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else _mean_of(total, loss.size)


class _ClampedNoGrad(Function):
    """``max(a, low)`` whose gradient passes everywhere, as if unclamped: PyTorch clamps the
    norms of ``cosine_similarity`` and the variance of ``gaussian_nll_loss`` in place under
    ``no_grad``, so its backward differentiates the unclamped expression at the clamped value."""

    def __init__(self, low):
        self.low = low

    def forward(self, a):
        return get_array_module(a).maximum(a, a.dtype.type(self.low))

    def backward(self, gy):
        return gy


# --------------------------------------------------------------------- distances
def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``input / max(||input||_p, eps)`` along ``dim``, as PyTorch's: each vector scaled to
    p-norm 1 (a vector shorter than ``eps`` is divided by ``eps``, so a zero stays zero). Any
    shape; the gradient is PyTorch's (through the norm where it is ``>= eps``, else only the
    ``1 / eps``).

    >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).numpy()
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    x = _float_input("normalize", input)
    p = _check_p("normalize", p, negative=True)
    dim = _check_dim("normalize", dim, x.ndim) if x.ndim else None
    eps = check_nonnegative("normalize", "eps", eps)
    return x / _norm(x, p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim``, as PyTorch's:
    ``sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)))``, each divided by its own norm
    first, so the result stays in [-1, 1]. Shapes: ``x1`` and ``x2`` broadcast together; the
    result is that shape without ``dim``. PyTorch's eps rule, gradient too: the norms are
    clamped outside the graph, so a zero vector gives 0 and the gradient ``x2_hat / eps`` for
    it (huge, as PyTorch's).

    >>> cosine_similarity(np.array([1.0, 0.0]), np.array([1.0, 1.0]), dim=0).item()   # 1 / sqrt(2)
    0.7071067811865475
    """
    op = "cosine_similarity"
    x1, x2 = _float_input(op, x1, "x1"), _float_input(op, x2, "x2")
    if x1.dtype != x2.dtype:
        raise TypeError(f"{op}: x1 and x2 must share one dtype, got {x1.dtype} and {x2.dtype}")
    shape = _broadcast_shape(op, x1, x2)
    dim = _check_dim(op, dim, len(shape))
    eps = check_nonnegative(op, "eps", eps)
    # expanded first: a norm along a broadcast axis counts each value as many times
    x1 = x1 if tuple(x1.shape) == shape else x1.expand(*shape)
    x2 = x2 if tuple(x2.shape) == shape else x2.expand(*shape)
    n1 = _ClampedNoGrad(eps)(x1.norm(2, dim=dim, keepdim=True))
    n2 = _ClampedNoGrad(eps)(x2.norm(2, dim=dim, keepdim=True))
    return ((x1 / n1) * (x2 / n2)).sum(axis=dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of ``x1 - x2 + eps`` along the last axis, as PyTorch's (``eps`` is added to
    each difference, so equal vectors are ``eps * D^(1/p)`` apart and the gradient stays
    finite). Shapes: (N, D) and (N, D) (either may broadcast, e.g. (D,) against (N, D)) give
    (N,), or (N, 1) with ``keepdim``; (D,) and (D,) give ().

    >>> pairwise_distance(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([3.0, 4.0]), eps=0).numpy()
    array([5.        , 3.60555128])
    """
    op = "pairwise_distance"
    x1, x2 = _float_input(op, x1, "x1"), _float_input(op, x2, "x2")
    if x1.dtype != x2.dtype:
        raise TypeError(f"{op}: x1 and x2 must share one dtype, got {x1.dtype} and {x2.dtype}")
    shape = _broadcast_shape(op, x1, x2)
    if not shape:
        raise ValueError(f"{op}: x1 and x2 must have at least one axis (the vectors'), got 0-d")
    p = _check_p(op, p, negative=True)
    eps = _real(op, "eps", eps)
    return _norm(x1 - x2 + eps, p, len(shape) - 1, _flag(op, "keepdim", keepdim))


class _RowMaxAbs(Function):
    """``max |d|`` along axis 1, pdist's inf-norm: its gradient goes whole to every tie (the
    kernel's rule; ``Tensor.norm``'s, as ``torch.norm``'s, shares it among them)."""

    def forward(self, d):
        self.d = d
        self.y = abs(d).max(axis=1) if d.shape[1] else get_array_module(d).zeros(d.shape[0], d.dtype)
        return self.y

    def backward(self, gy):
        xp = get_array_module(gy)
        hit = (abs(self.d) == self.y[:, None]) & (self.y[:, None] > 0)
        return (xp.sign(self.d) * hit * gy[:, None]).astype(gy.dtype, copy=False)


def pdist(input, p=2):
    """The p-norm distances between the rows of ``input`` (N, M), each pair once, as
    PyTorch's: (N (N - 1) / 2,), in the order (0, 1), (0, 2), ..., (1, 2), ... (the upper
    triangle of the distance matrix, row by row). A distance of 0 has the gradient 0; with
    ``p = inf`` every coordinate that ties for the largest gets the whole gradient, as
    PyTorch's pdist (its norm shares it).

    >>> pdist(np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])).numpy()
    array([5.        , 1.        , 4.24264069])
    """
    x = _float_input("pdist", input)
    if x.ndim != 2:
        raise ValueError(f"pdist: input must be 2-D (N, M), got shape {tuple(x.shape)}")
    p = _check_p("pdist", p)
    xp = get_array_module(x.data)
    i, j = xp.triu_indices(x.shape[0], 1)
    d = x[i] - x[j]   # (N (N - 1) / 2, M): row i less row j
    return _RowMaxAbs()(d) if p == math.inf else d.norm(p, dim=1)


# --------------------------------------------------------------------- divergence and likelihoods
class KLDiv(ElementwiseLoss):
    """``t (log t - x)`` (``0`` where ``t = 0``), or ``e^t (t - x)`` with ``log_target``.
    Partials, PyTorch's: ``-t`` and ``log t + 1 - x`` (NaN at ``t = 0``: PyTorch's ``xlogy``
    backward gives 0 / 0 there); with ``log_target``, ``-e^t`` and ``e^t (t - x + 1)``."""

    def __init__(self, log_target, reduction):
        super().__init__(reduction)
        self.log_target = log_target

    def values(self, x, t):
        xp = get_array_module(x)
        if self.log_target:
            return xp.exp(t) * (t - x)
        with np.errstate(divide="ignore", invalid="ignore"):   # log 0 is masked; log(-1) NaN, as PyTorch's
            xlogx = xp.where(t == 0, 0, t * xp.log(t)).astype(x.dtype, copy=False)
        return xlogx - t * x

    def partials(self, x, t, want_x, want_t):
        xp = get_array_module(x)
        if self.log_target:
            e = xp.exp(t)
            return -e, e * (t - x + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            gt = xp.where(t == 0, 0, xp.log(t)) + t / t - x
        return -t, gt.astype(x.dtype, copy=False)


_KL_MEAN = ("kl_div: reduction='mean' divides the total by the count of values, not by the batch "
            "size; 'batchmean' is the KL divergence (PyTorch's warning)")


def kl_div(input, target, *, reduction="mean", log_target=False):
    """The Kullback-Leibler divergence ``KL(target || exp(input))`` value by value, as
    PyTorch's: ``input`` holds log-probabilities (a ``log_softmax``), ``target`` probabilities
    (log-probabilities with ``log_target``); each value is ``t (log t - x)``, 0 where
    ``t = 0``. ``reduction="batchmean"`` is the divergence per sample (the sum divided by
    ``input.shape[0]``); ``"mean"`` divides by the count of values instead (PyTorch's default,
    with its warning, repeated here). Shapes: input and target alike. Both are differentiable.

    >>> x = np.log(np.array([[0.5, 0.5]]))
    >>> round(kl_div(x, np.array([[0.9, 0.1]]), reduction="batchmean").item(), 4)   # 0.9 ln 1.8 + 0.1 ln 0.2
    0.3681
    """
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    base = "sum" if reduction == "batchmean" else reduction   # then divided by the batch size
    if reduction == "mean":
        warnings.warn(_KL_MEAN, UserWarning, stacklevel=2)
    input, target = _check_pair("kl_div", input, target, base)
    loss = KLDiv(_flag("kl_div", "log_target", log_target), base)(input, target)
    return _mean_of(loss, input.shape[0]) if reduction == "batchmean" and input.ndim else loss


class PoissonNLL(ElementwiseLoss):
    """``e^x - t x`` (``log_input``) or ``x - t log(x + eps)``, plus with ``full`` the
    Stirling term ``t log t - t + log(2 pi t) / 2`` where ``t > 1``. Partials: ``e^x - t`` or
    ``1 - t / (x + eps)``; ``-x`` or ``-log(x + eps)``, plus ``log t + 1 / (2 t)`` where
    ``t > 1`` (PyTorch's is NaN at ``t <= 0`` with ``full``: its masked term's 0 * log 0)."""

    def __init__(self, log_input, full, eps, reduction):
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def _big(self, t):
        """t where t > 1, else 1 (whose log is 0): the Stirling term's argument, safe to log."""
        return get_array_module(t).where(t > 1, t, 1).astype(t.dtype, copy=False)

    def values(self, x, t):
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):   # log of x + eps <= 0: -inf / NaN, as PyTorch's
            loss = xp.exp(x) - t * x if self.log_input else x - t * xp.log(x + self.eps)
        if self.full:
            s = self._big(t)
            loss = loss + xp.where(t > 1, s * xp.log(s) - s + 0.5 * xp.log(2 * math.pi * s), 0)
        return loss.astype(x.dtype, copy=False)

    def partials(self, x, t, want_x, want_t):
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.log_input:
                gx, gt = xp.exp(x) - t, -x
            else:
                gx, gt = 1 - t / (x + self.eps), -xp.log(x + self.eps)
        if self.full and want_t:
            s = self._big(t)
            gt = gt + xp.where(t > 1, xp.log(s) + 0.5 / s, 0)
        return gx.astype(x.dtype, copy=False), gt.astype(x.dtype, copy=False)


# keyword-only after full: PyTorch's 5th argument is size_average, eps its 6th
def poisson_nll_loss(input, target, log_input=True, full=False, *, eps=1e-8, reduction="mean"):
    """The negative log-likelihood of counts ``target`` under a Poisson of rate ``exp(input)``
    (``log_input``, the default) or ``input``, as PyTorch's: ``exp(x) - t x``, or
    ``x - t log(x + eps)``; ``full`` adds Stirling's approximation of ``log(t!)`` where
    ``t > 1``. Shapes: input and target alike; both differentiable.

    >>> round(poisson_nll_loss(np.array([0.0, 1.0]), np.array([1.0, 2.0])).item(), 4)   # (1 + e - 2) / 2
    0.8591
    """
    input, target = _check_pair("poisson_nll_loss", input, target, reduction)
    eps = check_nonnegative("poisson_nll_loss", "eps", eps)
    log_input, full = _flag("poisson_nll_loss", "log_input", log_input), _flag("poisson_nll_loss", "full", full)
    return PoissonNLL(log_input, full, eps, reduction)(input, target)


def _check_var(op, var, x):
    """gaussian_nll_loss's ``var`` as a Tensor that broadcasts to x by PyTorch's rules: x's
    shape; x's without its last axis (one variance a vector); or x's with the sizes of the
    axes where they differ summing to 1 (an axis of 1, e.g. (n, 1, h, w) for (n, c, h, w))."""
    if isinstance(var, numbers.Real) and not isinstance(var, (bool, np.bool_)):
        if var < 0:
            raise ValueError(f"{op}: var must be non-negative, got {var!r}")
        return Tensor(get_array_module(x.data).full(x.shape, var, dtype=x.dtype))
    var = _like(op, "var", var, x)
    vs, xs = tuple(var.shape), tuple(x.shape)
    if vs != xs:
        if vs == xs[:-1]:
            var = var.unsqueeze(-1)
        elif not (len(vs) == len(xs) and sum(b for a, b in zip(xs, vs) if a != b) == 1):
            raise ValueError(f"{op}: var shape {vs} must be the input's {xs}, that without its last "
                             "axis, or that with one axis of size 1")
    bad = var.data < 0
    if bool(bad.any()):
        raise ValueError(f"{op}: var must be non-negative, got {float(var.data[bad].ravel()[0])!r}")
    return var


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """The negative log-likelihood of ``target`` under a Gaussian of mean ``input`` and
    variance ``var``, as PyTorch's: ``(log v + (x - t)^2 / v) / 2`` with ``v = max(var, eps)``
    (clamped outside the graph, as PyTorch's: the gradient of ``var`` is the unclamped
    expression's at ``v``), plus ``log(2 pi) / 2`` with ``full``. Shapes: target as input;
    ``var`` the same, or without the last axis, or with one axis of size 1 (one variance
    shared along it), or a number. Input, target and var are differentiable.

    >>> round(gaussian_nll_loss(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0])).item(), 4)   # (1 / 2 + 0) / 2
    0.25
    """
    op = "gaussian_nll_loss"
    full = _flag(op, "full", full)
    input, target = _check_pair(op, input, target, reduction)
    eps = check_nonnegative(op, "eps", eps)
    var = _ClampedNoGrad(eps)(_check_var(op, var, input))
    d = input - target
    loss = 0.5 * (var.log() + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# --------------------------------------------------------------------- margins
class SoftMargin(ElementwiseLoss):
    """``log(1 + e^(-x t))``, written ``max(z, 0) + log1p(e^-|z|)`` with ``z = -x t`` (no
    overflow); partial ``-t sigmoid(z)``. Not differentiable in t (PyTorch's is not)."""

    def values(self, x, t):
        xp = get_array_module(x)
        z = -x * t
        return xp.maximum(z, 0) + xp.log1p(xp.exp(-abs(z)))

    def partials(self, x, t, want_x, want_t):
        return -t * _sigmoid(-x * t), None


def soft_margin_loss(input, target, *, reduction="mean"):
    """The two-class logistic loss ``log(1 + exp(-x t))`` of scores ``x`` and labels
    ``t = +-1``, as PyTorch's, without its overflow (a float32 ``x t`` of -100 gives 100, not
    inf). Shapes: input and target alike. The target gets no gradient: PyTorch refuses one
    that requires grad, and so does this.

    >>> round(soft_margin_loss(np.array([0.0, 100.0]), np.array([1.0, -1.0]), reduction="sum").item(), 4)   # ln 2 + 100
    100.6931
    """
    input, target = _check_pair("soft_margin_loss", input, target, reduction)
    if target.requires_grad:
        raise ValueError("soft_margin_loss: target must not require grad (the loss is not "
                         "differentiable in it, as PyTorch's is not): pass target.detach()")
    return SoftMargin(reduction)(input, target)


def multilabel_soft_margin_loss(input, target, weight=None, *, reduction="mean"):
    """Each class a yes/no, as PyTorch's: ``-(t log sigmoid(x) + (1 - t) log sigmoid(-x))``,
    times ``weight``, averaged over the classes (the last axis), then reduced over the samples.
    Shapes: input (N, C) (or (C,)), target alike (0/1, or in [0, 1]) or broadcast to it
    ((1, C), (N, 1), ...), weight broadcast to them ((C,)); the result (N,) with ``"none"``.
    Input and target are differentiable.

    >>> round(multilabel_soft_margin_loss(np.zeros((1, 2)), np.array([[1.0, 0.0]])).item(), 4)   # ln 2
    0.6931
    """
    op = "multilabel_soft_margin_loss"
    check_reduction(op, reduction)
    input = _float_input(op, input)
    target = _like(op, "target", target, input)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, (N, C) or (C,), got 0-d")
    # PyTorch broadcasts any shapes; one that would grow the input (and so move the class axis
    # it sums) is refused here
    if _broadcast_shape(op, input, target) != tuple(input.shape):
        raise ValueError(f"{op}: target shape {tuple(target.shape)} must broadcast to the input's "
                         f"{tuple(input.shape)}")
    w = _check_elementwise_weight(op, "weight", weight, input)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if w is not None:
        loss = loss * w
    loss = loss.sum(axis=-1) / input.shape[-1]
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, *, reduction="mean"):
    """``max(0, -t (x1 - x2) + margin)``, as PyTorch's: ``t = 1`` asks ``x1`` to rank above
    ``x2`` by ``margin``, ``t = -1`` below. Shapes: the three of one number of axes,
    broadcast together. All three are differentiable; right at the margin the gradient passes
    (PyTorch's ``clamp_min``).

    >>> margin_ranking_loss(np.array([1.0, 1.0]), np.array([2.0, 0.0]), np.array([1.0, 1.0]), reduction="none").numpy()
    array([1., 0.])
    """
    op = "margin_ranking_loss"
    check_reduction(op, reduction)
    x1 = _float_input(op, input1, "input1")
    x2, t = _like(op, "input2", input2, x1), _like(op, "target", target, x1)
    if not x1.ndim == x2.ndim == t.ndim:
        raise ValueError(f"{op}: input1, input2 and target must have one number of axes, got shapes "
                         f"{tuple(x1.shape)}, {tuple(x2.shape)} and {tuple(t.shape)}")
    _broadcast_shape(op, x1, x2, t)
    margin = _real(op, "margin", margin)
    return _reduce((-t * (x1 - x2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, *, reduction="mean"):
    """For distances ``x`` and labels ``t``, as PyTorch's: ``x`` where ``t = 1`` (similar:
    pull together), ``max(0, margin - x)`` where ``t = -1`` (dissimilar: push past the
    margin); a label that is neither adds both. Shapes: input and target alike. The target
    gets no gradient (as PyTorch's).

    >>> hinge_embedding_loss(np.array([0.5, 0.5, 2.0]), np.array([1.0, -1.0, -1.0]), reduction="none").numpy()
    array([0.5, 0.5, 0. ])
    """
    op = "hinge_embedding_loss"
    check_reduction(op, reduction)
    x = _float_input(op, input)
    t = _constant(op, "target", target, x, x.shape)
    margin = _real(op, "margin", margin)
    xp = get_array_module(x.data)
    zero = xp.zeros((), x.dtype)
    loss = where(t != 1, (margin - x).clamp(min=0), zero) + where(t != -1, x, zero)
    return _reduce(loss, reduction)


_EPSILON = 1e-12   # PyTorch's, added to each squared norm of cosine_embedding_loss


def cosine_embedding_loss(input1, input2, target, margin=0.0, *, reduction="mean"):
    """For pairs of vectors and labels ``t``, as PyTorch's: ``1 - cos(x1, x2)`` where
    ``t = 1``, ``max(0, cos(x1, x2) - margin)`` where ``t = -1``, 0 elsewhere; the cosine is
    ``x1 . x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))`` (PyTorch's). Shapes: input1 and
    input2 (N, D) with target (N,), or (D,) with a 0-d target. The target gets no gradient.

    >>> cosine_embedding_loss(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0]]),
    ...                       np.array([1.0, -1.0]), reduction="none").numpy().round(4)
    array([1.    , 0.7071])
    """
    op = "cosine_embedding_loss"
    check_reduction(op, reduction)
    x1 = _float_input(op, input1, "input1")
    x2 = _like(op, "input2", input2, x1)
    if x1.ndim not in (1, 2) or tuple(x2.shape) != tuple(x1.shape):
        raise ValueError(f"{op}: input1 and input2 must be of one shape, (N, D) or (D,), got "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    t = _constant(op, "target", target, x1, x1.shape[:-1])
    margin = _real(op, "margin", margin)
    axis = x1.ndim - 1
    dot = (x1 * x2).sum(axis=axis)
    cos = dot / (((x1 * x1).sum(axis=axis) + _EPSILON) * ((x2 * x2).sum(axis=axis) + _EPSILON)).sqrt()
    zero = get_array_module(x1.data).zeros((), x1.dtype)
    loss = where(t == 1, 1 - cos, zero) + where(t == -1, (cos - margin).clamp(min=0), zero)
    return _reduce(loss, reduction)


def _class_labels(op, target, x):
    """A class index a sample: an integer array of shape x.shape[:-1], each in [0, C); one
    sample's, of a (C,) or (1, C) input, also () or (1,), as PyTorch's."""
    t = _raw(as_tensor(target))
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got {t.dtype}")
    one = x.ndim == 1 or x.shape[0] == 1
    if tuple(t.shape) != tuple(x.shape[:-1]) and not (one and tuple(t.shape) in ((), (1,))):
        raise ValueError(f"{op}: target shape {tuple(t.shape)} must be {tuple(x.shape[:-1])} for "
                         f"input {tuple(x.shape)}")
    c = x.shape[-1]
    bad = (t < 0) | (t >= c)
    if bool(bad.any()):
        raise ValueError(f"{op}: every target must be a class index in [0, {c}), got "
                         f"{int(t[bad].ravel()[0])}")
    return get_array_module(x.data).asarray(t).astype(np.int64)


def _reduce_array(loss, reduction):
    """The per-sample losses (N,) of the two multi-class margins reduced, in their dtype (a
    batch of none: NaN for "mean", quietly, as PyTorch's)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(invalid="ignore"):
        return get_array_module(loss).true_divide(loss.sum(), loss.size, dtype=loss.dtype)


def _unreduce_grad(gy, n, reduction):
    """:func:`_reduce_array`'s backward: the gradient of the loss, one a sample (n,)."""
    if reduction == "none":
        return gy
    # an empty batch: an empty gradient, no 1 / 0
    return get_array_module(gy).broadcast_to(gy / (max(n, 1) if reduction == "mean" else 1), (n,))


class MultiMargin(Function):
    """Per sample of (N, C) scores with label y: ``sum_{j != y} w_y max(0, m - x_y + x_j)^p / C``.
    A margin counts where it is ``> 0``, PyTorch's kernel's rule: right at the kink its
    gradient is 0."""

    def __init__(self, y, p, margin, weight, reduction):
        self.y, self.p, self.margin, self.weight, self.reduction = y, p, margin, weight, reduction

    def forward(self, x):
        xp = get_array_module(x)
        n, c = x.shape
        rows = xp.arange(n)
        with np.errstate(invalid="ignore"):   # inf - inf: NaN, no margin (not > 0), quietly
            z = self.margin - x[rows, self.y][:, None] + x   # (N, C)
        on = z > 0
        on[rows, self.y] = False   # no margin against its own class
        self.z, self.on = z, on
        h = xp.where(on, z if self.p == 1 else z * z, 0)
        w = 1 if self.weight is None else self.weight[self.y][:, None]
        loss = ((h * w).sum(axis=1) / c).astype(x.dtype, copy=False)   # (N,)
        return _reduce_array(loss, self.reduction)

    def backward(self, gy):
        xp = get_array_module(gy)
        n, c = self.z.shape
        gy = _unreduce_grad(gy, n, self.reduction)
        w = 1 if self.weight is None else self.weight[self.y]
        scale = (gy * w / c)[:, None]
        g = xp.where(self.on, 1 if self.p == 1 else 2 * self.z, 0) * scale   # d/dx_j
        g[xp.arange(n), self.y] -= g.sum(axis=1)   # each margin has -x_y in it
        return g.astype(gy.dtype, copy=False)


# keyword-only after weight: PyTorch's 6th argument is size_average
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, *, reduction="mean"):
    """The multi-class hinge loss, as PyTorch's: for scores ``x`` (C,) and the label ``y``,
    ``sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C``, ``p`` 1 or 2. Shapes: input (N, C)
    with target (N,) integer, or (C,) with a 0-d target (one sample, (C,) or (1, C), takes a
    target of () or (1,), as PyTorch's; ``"none"`` gives the target's shape); weight (C,).
    ``"mean"`` divides by N.

    >>> round(multi_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])).item(), 4)   # (0.3 + 0.4 + 0.6) / 4
    0.325
    """
    op = "multi_margin_loss"
    check_reduction(op, reduction)
    x = _float_input(op, input)
    if p not in (1, 2) or isinstance(p, (bool, np.bool_)):
        raise ValueError(f"{op}: p must be 1 or 2, got {p!r}")
    margin = _real(op, "margin", margin)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"{op}: input must be (N, C) or (C,) with C >= 1, got shape {tuple(x.shape)}")
    y = _class_labels(op, target, x)
    w = None
    if weight is not None:
        w = _check_elementwise_weight(op, "weight", weight, x)
        if w.shape != (x.shape[-1],):
            raise ValueError(f"{op}: weight must be 1-D, one a class ({x.shape[-1]},), got shape {tuple(w.shape)}")
    out = MultiMargin(y.reshape(-1), int(p), margin, w, reduction)(x.reshape(-1, x.shape[-1]))
    return out.reshape(y.shape) if reduction == "none" else out   # "none": the target's shape, as PyTorch's


class MultiLabelMargin(Function):
    """Per sample of (N, C) scores and its labels Y (each counted as often as listed):
    ``sum_{j in Y} sum_{i not in Y} max(0, 1 - x_j + x_i) / C``; a margin counts where it is
    ``> 0`` (PyTorch's kernel's rule)."""

    def __init__(self, counts, is_target, reduction):
        self.counts, self.is_target, self.reduction = counts, is_target, reduction

    def forward(self, x):
        xp = get_array_module(x)
        n, c = x.shape
        with np.errstate(invalid="ignore"):   # inf - inf: NaN, no margin (not > 0), quietly
            z = 1 - x[:, :, None] + x[:, None, :]   # (N, C_j, C_i): 1 - x_j + x_i
        self.on = (z > 0) & ~self.is_target[:, None, :]
        self.mult = self.counts[:, :, None] * self.on   # how often each margin counts
        # summed where a margin counts: 0 * z elsewhere is NaN where z is +-inf or NaN
        loss = ((xp.where(self.mult > 0, z, 0) * self.mult).sum(axis=(1, 2)) / c).astype(x.dtype, copy=False)
        return _reduce_array(loss, self.reduction)

    def backward(self, gy):
        n, c = self.counts.shape
        gy = _unreduce_grad(gy, n, self.reduction)
        m = self.mult * (gy / c)[:, None, None]
        return (m.sum(axis=1) - m.sum(axis=2)).astype(gy.dtype, copy=False)   # +x_i, -x_j


def multilabel_margin_loss(input, target, *, reduction="mean"):
    """The multi-label hinge loss, as PyTorch's: a sample's labels are the indices at the
    start of its target row, up to the first -1; each label ``j`` and each class ``i`` not a
    label add ``max(0, 1 - (x_j - x_i))``, and the sum is divided by C. Shapes: input (N, C)
    or (C,); target alike, integers in [-1, C).

    >>> round(multilabel_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]])).item(), 4)
    0.85
    """
    op = "multilabel_margin_loss"
    check_reduction(op, reduction)
    x = _float_input(op, input)
    if x.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be (N, C) or (C,), got shape {tuple(x.shape)}")
    t = _raw(as_tensor(target))
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got {t.dtype}")
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(f"{op}: target shape {tuple(t.shape)} must be the input's {tuple(x.shape)}")
    c = x.shape[-1]
    bad = (t < -1) | (t >= c)
    if bool(bad.any()):
        raise ValueError(f"{op}: every target must be a class index in [0, {c}) or -1, got "
                         f"{int(t[bad].ravel()[0])}")
    xp = get_array_module(x.data)
    x2, t2 = (x.reshape(1, c), t.reshape(1, c)) if x.ndim == 1 else (x, t)
    t2 = xp.asarray(t2).astype(np.int64)
    # a label counts while no -1 came before it in its row
    valid = xp.cumsum(t2 == -1, axis=1) == 0
    n = t2.shape[0]
    flat = (xp.arange(n)[:, None] * c + xp.where(valid, t2, 0))[valid]
    counts = xp.bincount(flat, minlength=n * c).reshape(n, c).astype(x.dtype)
    out = MultiLabelMargin(counts, counts > 0, reduction)(x2)
    return out.reshape(()) if x.ndim == 1 and reduction == "none" else out


# keyword-only after swap: PyTorch's 8th argument is size_average
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, *,
                        reduction="mean"):
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` :func:`pairwise_distance` (``p``,
    ``eps``), as PyTorch's; ``swap`` takes ``min(d(a, n), d(p, n))`` as the negative's
    distance (a tie shares its gradient). Shapes: the three (N, *, D) (one number of axes,
    broadcast together), or (D,); the result (N, *) with ``"none"``. All three are
    differentiable. ``margin`` > 0.

    >>> triplet_margin_loss(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[0.0, 1.0]]), eps=0).item()   # 1 + 5 - 1
    5.0
    """
    op = "triplet_margin_loss"
    check_reduction(op, reduction)
    margin = _real(op, "margin", margin)
    if not margin > 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    a = _float_input(op, anchor, "anchor")
    pos, neg = _like(op, "positive", positive, a), _like(op, "negative", negative, a)
    if not a.ndim == pos.ndim == neg.ndim or a.ndim == 0:
        raise ValueError(f"{op}: anchor, positive and negative must have one number of axes, "
                         f"(N, *, D) or (D,), got shapes {tuple(a.shape)}, {tuple(pos.shape)} and "
                         f"{tuple(neg.shape)}")
    _broadcast_shape(op, a, pos, neg)
    swap = _flag(op, "swap", swap)
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)
