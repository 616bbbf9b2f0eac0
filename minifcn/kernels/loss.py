"""Softmax, log-softmax and the fused per-pixel softmax cross-entropy.

For logits ``z`` (n, C, h, w) and labels ``t`` (n, h, w), pixel by pixel::

    loss = -w[t] * log softmax(z)[t]       d loss / dz = w[t] * (softmax(z) - onehot(t))

Pixels labelled ``ignore_index`` contribute nothing. ``"mean"`` divides by the summed weights
of the valid pixels (PyTorch's rule), ``"sum"`` does not (the FCN reference loss), ``"none"``
keeps one loss a pixel (0 where ignored), whose backward takes one upstream gradient a pixel.

Label smoothing ``eps`` (PyTorch's) aims at ``(1 - eps) onehot(t) + eps / C`` instead, with
each class's share weighted by its own weight::

    loss = -(1 - eps) w[t] log softmax(z)[t] - eps / C * sum_c w[c] log softmax(z)[c]
    d loss / dz = ((1 - eps) w[t] + eps / C * sum(w)) softmax(z) - (1 - eps) w[t] onehot(t)
                  - eps / C * w

``"mean"`` still divides by the summed ``w[t]`` of the valid pixels, as PyTorch does.

Class probabilities ``p`` (n, C, *spatial) in place of labels (:func:`cross_entropy_probs`)
aim at ``q = (1 - eps) p + eps / C``: ``loss = -sum_c w[c] q[c] log softmax(z)[c]``, every
pixel counted, ``"mean"`` dividing by the number of pixels.

>>> import numpy as np
>>> z = np.zeros((1, 4, 1, 1)); t = np.zeros((1, 1, 1), dtype=np.int64)
>>> loss, _ = cross_entropy(z, t, None, 255, "mean")
>>> round(float(loss), 6) == round(float(np.log(4)), 6)      # uniform over 4 classes
True
"""
from __future__ import annotations

import math

from ..backend import get_array_module
from . import cache


def log_softmax(x, axis=1):
    """x - logsumexp(x) along ``axis``, computed after subtracting the max (no overflow)."""
    xp = get_array_module(x)
    if x.size == 0:   # nothing to normalise (the max of an empty axis is undefined)
        return xp.empty_like(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def softmax(x, axis=1):
    xp = get_array_module(x)
    if x.size == 0:
        return xp.empty_like(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _flat_positions(t, C):
    """For labels t (n, *spatial), the flat position of each pixel's labelled entry in a
    C-ordered (n, C, *spatial) array: ``(k*C + t)*P + p`` for image k and pixel p of P.

    Built in place, one small range per axis added with broadcasting: a whole image's
    ``arange(P)`` and products as new arrays cost more in page faults than in arithmetic (one
    500x500 image: 4.5-4.8 ms as one expression, 2.9-3.0 with ``arange(P)`` added in place,
    0.24-0.36 this way).

    >>> import numpy as np
    >>> _flat_positions(np.array([[1, 0], [0, 2]]), 3).tolist()     # 2 images of 2 pixels
    [2, 1, 6, 11]
    """
    xp = get_array_module(t)
    n, spatial = t.shape[0], t.shape[1:]
    pixels = math.prod(spatial)
    flat = t * pixels                                      # (n, *spatial), a new array
    # what one step along each axis moves: an image, C*P; a pixel row, the row's length, ...
    steps = [C * pixels] + [math.prod(spatial[i + 1:]) for i in range(len(spatial))]
    for axis, (size, step) in enumerate(zip((n,) + spatial, steps)):
        if size > 1:
            shape = [1] * t.ndim
            shape[axis] = size
            flat += (xp.arange(size) * step).reshape(shape)
    return flat.reshape(-1)


def _labelled(target, C, weight, ignore_index, dtype):
    """What the label losses read of ``target`` (n, *spatial): (the labelled pixels, each
    pixel's flat position of its label's entry in (n, C, *spatial), its weight ``w[t]``, 0
    where ignored)."""
    xp = get_array_module(target)
    valid = target != ignore_index
    t = xp.where(valid, target, 0)  # any class id will do where ignored: its weight is 0
    wt = valid.astype(dtype) if weight is None else weight[t] * valid
    return valid, _flat_positions(t, C), wt


def _reduce(neg, wt, reduction):
    """(loss, denominator) from ``neg``, minus the loss of each pixel: ``"none"`` the pixels'
    losses, ``"sum"`` their sum, ``"mean"`` that over the summed weights ``wt`` (the
    denominator 1 for the other two)."""
    xp, dtype = get_array_module(neg), neg.dtype
    # 0 - x, not -x: no -0.0 (a sum of zeros may be -0.0: no pixel labelled); a zero of the
    # loss's dtype, as NumPy 1.x would make a Python 0 minus a float32 float64
    zero = dtype.type(0)
    if reduction == "none":
        return xp.subtract(zero, neg), dtype.type(1)
    loss = xp.subtract(zero, neg.sum())
    if reduction == "sum":
        return loss, dtype.type(1)
    denom = wt.sum()
    # over no labelled (or no weighted) pixel the mean is NaN, as PyTorch's, without NumPy's
    # warning of 0 / 0; with label smoothing the sum is not 0 there, and had given inf
    empty = denom == 0
    return xp.where(empty, dtype.type("nan"), loss / xp.where(empty, dtype.type(1), denom)), denom


def _mean_guard(xp, gy, denom):
    """``(gy, denom)`` for a backward: a mean over no labelled pixel is NaN, its gradient zero,
    as PyTorch's (every weight w[t] is 0 there), not NaN, which one SGD step would spread to
    every weight. So too over pixels whose classes all weigh 0 (PyTorch's is NaN there), label
    smoothing's share too."""
    empty = denom == 0
    return gy * ~empty, xp.where(empty, denom.dtype.type(1), denom)


def cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing=0.0):
    """Returns (loss, cache for the backward pass): the loss a 0-d array for ``"mean"`` and
    ``"sum"``, one value a pixel, shaped as ``target``, for ``"none"``.

    logits (n, C, *spatial), target (n, *spatial) integers, weight (C,) or None.

    Four passes over the logits: their max over the classes, ``e = z - max``, ``e = exp(e)`` in
    place (after reading each pixel's labelled entry) and the sum of ``e``. The loss needs only
    ``log softmax`` at the labels, ``(z_t - max) - log(sum e)``, so the full log-softmax is
    never written; the backward pass needs ``softmax = e / sum e``, so ``e`` is what is kept.
    The labelled entries are read by flat position in ``e`` (image ``k``, class ``t``, pixel
    ``p``: ``(k*C + t)*P + p``), not by ``take_along_axis``, which builds index arrays for every
    axis (21 x 500 x 500, labels in 20 x 20 blobs: 0.40-0.45 against 3.7-3.8 ms). Each pass is
    bound by memory: split over two cores, or into blocks of pixels that stay in cache, the
    passes gained too little to keep (benchmarks/README.md). Label smoothing adds one more:
    ``sum_c w[c] (z_c - max)``, read before ``exp`` overwrites ``e``.
    """
    xp = get_array_module(logits)
    n, C = logits.shape[:2]
    valid, flat, wt = _labelled(target, C, weight, ignore_index, logits.dtype)
    # C-ordered, as the flat positions assume (``logits - max`` would keep the memory order of
    # its input: channels-last logits would give a channels-last result)
    e = cache.empty(logits.shape, logits.dtype, like=logits)
    xp.subtract(logits, logits.max(axis=1, keepdims=True), out=e)     # (n, C, *spatial), <= 0
    picked = e.reshape(-1).take(flat).reshape(target.shape)            # z_t - max
    if label_smoothing:
        # sum_c w[c] (z_c - max), (n, *spatial). einsum writes no (n, C, *spatial) temporary
        # (21 x 500 x 500: 0.7-1.4 ms, as e.sum; e * w summed, 1.8); BLAS's matmul took 0.2
        # to 8 ms, as its threads found the two cores free or busy
        spread = e.sum(axis=1) if weight is None else xp.einsum("nc...,c->n...", e, weight)
    xp.exp(e, out=e)
    total = e.sum(axis=1)                                              # (n, *spatial), >= 1
    picked -= xp.log(total)                                            # log softmax(z)_t
    per = picked                                                       # becomes -loss, in place
    per *= wt
    smooth = None
    if label_smoothing:
        weight_sum = C if weight is None else weight.sum()             # sum_c w[c]
        spread -= weight_sum * xp.log(total)                           # sum_c w[c] log softmax_c
        spread *= valid
        per *= 1 - label_smoothing
        per += (label_smoothing / C) * spread
        smooth = (label_smoothing, weight, weight_sum, valid)
    loss, denom = _reduce(per, wt, reduction)
    return loss, (e, total, flat, wt, denom, smooth)


def cross_entropy_backward(gy, cache_):
    """d loss / d logits = (softmax - onehot) * w[t] / denom * gy: one pass over the logits
    (``e`` scaled by ``w[t] gy / (denom * sum e)`` per pixel), then the labelled entries less
    their pixel's scale, by flat position (one entry a pixel: no repeats). ``gy`` is a 0-d
    array, or one value a pixel for ``"none"``. Label smoothing changes the scales and adds a
    second pass, ``eps / C * w[c]`` off every class."""
    e, total, flat, wt, denom, smooth = cache_
    xp = get_array_module(e)
    gy, denom = _mean_guard(xp, gy, denom)
    g = cache.empty(e.shape, e.dtype, like=e)
    if smooth is None:
        scale = wt * (gy / denom)                                      # (n, *spatial)
        xp.multiply(e, (scale / total)[:, None], out=g)
        g.reshape(-1)[flat] -= scale.reshape(-1)
        return g
    eps, weight, weight_sum, valid = smooth
    per_pixel = (gy / denom) * valid                                   # (n, *spatial)
    label = (1 - eps) * wt * per_pixel                                 # the one-hot part's pull
    spread = (eps / e.shape[1]) * per_pixel                            # the uniform part's, per w[c]
    xp.multiply(e, ((label + weight_sum * spread) / total)[:, None], out=g)
    g.reshape(-1)[flat] -= label.reshape(-1)
    # eps / C * w[c] off every class: w as (1, C, 1, ...) times spread as (n, 1, *spatial)
    spread = spread[:, None]
    g -= spread if weight is None else weight.reshape((-1,) + (1,) * (e.ndim - 2)) * spread
    return g


def nll(logp, target, weight, ignore_index, reduction):
    """The negative log-likelihood of log-probabilities ``logp`` (n, C, *spatial) at the labels
    ``target`` (n, *spatial): ``loss = -w[t] * logp[t]`` a pixel, reduced as
    :func:`cross_entropy` does. Returns (loss, cache for the backward pass).

    One read of each pixel's labelled entry, by flat position (``reshape(-1)`` is the C-ordered
    flattening whatever the memory order, a copy only for a strided view); the other C - 1
    entries are never read.

    >>> import numpy as np
    >>> logp = np.log(np.full((1, 4, 1, 2), 0.25)); t = np.array([[[0, 255]]])
    >>> loss, _ = nll(logp, t, None, 255, "sum")
    >>> round(float(loss), 6) == round(float(np.log(4)), 6)      # one labelled pixel
    True
    """
    C = logp.shape[1]
    _, flat, wt = _labelled(target, C, weight, ignore_index, logp.dtype)
    per = logp.reshape(-1).take(flat).reshape(target.shape)           # logp_t, (n, *spatial)
    per *= wt                                                          # -loss, a new array
    loss, denom = _reduce(per, wt, reduction)
    return loss, (logp.shape, flat, wt, denom)


def nll_backward(gy, cache_):
    """d loss / d logp: ``-w[t] * gy / denom`` at each pixel's labelled entry, zero elsewhere
    (one write a pixel, by flat position). Over no labelled or weighted pixel the ``"mean"``
    gradient is zero, not NaN, as :func:`cross_entropy_backward`'s."""
    shape, flat, wt, denom = cache_
    xp = get_array_module(wt)
    gy, denom = _mean_guard(xp, gy, denom)
    g = cache.zeros(shape, wt.dtype, like=wt)
    # 0 - scale: +0.0 at ignored pixels (w = 0) whatever the sign of gy
    g.reshape(-1)[flat] = xp.subtract(wt.dtype.type(0), wt * (gy / denom)).reshape(-1)
    return g


def cross_entropy_probs(logits, probs, weight, reduction, label_smoothing=0.0):
    """The cross-entropy against class probabilities (PyTorch's "soft labels"). Returns (loss,
    cache for the backward pass): a 0-d array for ``"mean"`` and ``"sum"``, one value a pixel,
    shaped (n, *spatial), for ``"none"``.

    logits and probs (n, C, *spatial), weight (C,) or None. With ``q = (1 - eps) p + eps / C``
    (``q = p`` without smoothing) and ``a_c = w_c q_c``, pixel by pixel::

        loss = -sum_c a_c log softmax(z)_c

    ``"sum"`` adds the pixels, ``"mean"`` divides that sum by their number, n * prod(spatial),
    whatever the weights (PyTorch's rule for probabilities; labels divide by the summed
    ``w[t]``). ``log softmax`` subtracts each pixel's max first, as :func:`log_softmax`. No
    pixel is ignored, and ``p`` is read as given: neither its range nor its sum is checked.

    >>> import numpy as np
    >>> z = np.zeros((1, 4, 1, 1)); p = np.full((1, 4, 1, 1), 0.25)
    >>> loss, _ = cross_entropy_probs(z, p, None, "mean")
    >>> round(float(loss), 6) == round(float(np.log(4)), 6)      # uniform against uniform
    True
    """
    xp = get_array_module(logits)
    C = logits.shape[1]
    logp = log_softmax(logits, 1)                                      # (n, C, *spatial), <= 0
    keep = 1.0 - label_smoothing
    a = probs * keep + label_smoothing / C if label_smoothing else probs
    if weight is not None:
        a = a * weight.reshape((1, C) + (1,) * (logits.ndim - 2))      # w as (1, C, 1, ...)
    zero = logits.dtype.type(0)                                        # 0 - x: no -0.0
    per = xp.subtract(zero, (a * logp).sum(axis=1))                    # (n, *spatial)
    count = per.size                                                   # the pixels, n * prod(spatial)
    # in the logits' dtype: NumPy 1.x made a float32 scalar over a Python number a float64
    denom = logits.dtype.type(max(count, 1) if reduction == "mean" else 1)
    cache_ = (logp, a, weight, logits.dtype.type(keep), denom)
    if reduction == "none":
        return per, cache_
    loss = per.sum()
    if reduction == "mean":
        # no pixel at all (n = 0): NaN, as PyTorch's 0 / 0, without NumPy's warning
        loss = loss / denom if count else xp.asarray(float("nan"), dtype=logits.dtype)
    return loss, cache_


def cross_entropy_probs_backward(gy, cache_, probs_grad=False):
    """The gradients of :func:`cross_entropy_probs`: (d loss / d logits, d loss / d probs, the
    latter None unless ``probs_grad``). ``gy`` is a 0-d array, or one value a pixel for
    ``"none"``; ``s = gy / denom`` (denom: the pixel count for ``"mean"``, else 1).

    From ``loss = -sum_c a_c (z_c - logsumexp(z))`` and ``d logsumexp(z) / d z_j = softmax_j``::

        d loss / d z_j = softmax(z)_j * sum_c a_c - a_j       (times s)
        d loss / d p_j = -(1 - eps) w_j log softmax(z)_j      (times s)

    Without smoothing or weights ``sum_c a_c = sum_c p_c``: 1 for a distribution, which gives
    the familiar ``softmax - p``; it is kept general, as PyTorch's is, for targets that do not
    sum to 1.
    """
    logp, a, weight, keep, denom = cache_
    xp = get_array_module(logp)
    s = gy / denom
    if s.ndim:                                                         # "none": (n, *spatial)
        s = xp.expand_dims(s, 1)                                       # -> (n, 1, *spatial)
    gx = xp.exp(logp)                                                  # softmax, a new array
    gx *= a.sum(axis=1, keepdims=True)
    gx -= a
    gx *= s
    if not probs_grad:
        return gx, None
    gp = logp * (s * -keep)
    if weight is not None:
        gp *= weight.reshape((1, -1) + (1,) * (logp.ndim - 2))
    return gx, gp
