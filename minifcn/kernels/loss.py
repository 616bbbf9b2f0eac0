"""Softmax, log-softmax and the fused per-pixel softmax cross-entropy.

For logits ``z`` (n, C, h, w) and labels ``t`` (n, h, w), pixel by pixel::

    loss = -w[t] * log softmax(z)[t]       d loss / dz = w[t] * (softmax(z) - onehot(t))

Pixels labelled ``ignore_index`` contribute nothing. ``"mean"`` divides by the summed weights
of the valid pixels (PyTorch's rule), ``"sum"`` does not (the FCN reference loss).

>>> import numpy as np
>>> z = np.zeros((1, 4, 1, 1)); t = np.zeros((1, 1, 1), dtype=np.int64)
>>> loss, _ = cross_entropy(z, t, None, 255, "mean")
>>> round(float(loss), 6) == round(float(np.log(4)), 6)      # uniform over 4 classes
True
"""
from __future__ import annotations

from ..backend import get_array_module


def log_softmax(x, axis=1):
    """x - logsumexp(x) along ``axis``, computed after subtracting the max (no overflow)."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def softmax(x, axis=1):
    xp = get_array_module(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def cross_entropy(logits, target, weight, ignore_index, reduction):
    """Returns (loss as a 0-d array, cache for the backward pass).

    logits (n, C, *spatial), target (n, *spatial) integers, weight (C,) or None.
    """
    xp = get_array_module(logits)
    logp = log_softmax(logits, axis=1)
    valid = target != ignore_index
    t = xp.where(valid, target, 0)  # any class id will do where ignored: its weight is 0
    picked = xp.take_along_axis(logp, t[:, None], axis=1)[:, 0]
    wt = valid.astype(logits.dtype) if weight is None else weight[t] * valid
    loss = -(picked * wt).sum()
    denom = wt.sum() if reduction == "mean" else logits.dtype.type(1)
    return loss / denom, (logp, t, wt, denom)


def cross_entropy_backward(gy, cache):
    """d loss / d logits = (softmax - onehot) * w[t] / denom * gy, one pass over the logits."""
    xp = get_array_module(gy)
    logp, t, wt, denom = cache
    g = xp.exp(logp)
    classes = xp.arange(logp.shape[1]).reshape((1, -1) + (1,) * (logp.ndim - 2))
    g -= classes == t[:, None]
    g *= (wt * (gy / denom))[:, None]
    return g
