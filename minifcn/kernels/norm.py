"""Batch normalisation and dropout kernels.

Batch norm, per channel ``c`` over the ``M = n*h*w`` values of a batch::

    xhat = (x - mean) / sqrt(var + eps)        y = gamma * xhat + beta

and, with ``g = gy``, its backward pass in the usual closed form::

    gbeta = sum(g)   ggamma = sum(g * xhat)
    gx = gamma / sqrt(var + eps) / M * (M * g - gbeta - xhat * ggamma)

>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
>>> y, cache = batch_norm_train(x, np.ones(3), np.zeros(3), 1e-5)
>>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0)), bool(np.allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-4))
(True, True)
"""
from __future__ import annotations

from ..backend import device_of, get_array_module
from .reduce import channel_sum


def _per_channel(v):
    return v.reshape(1, -1, 1, 1)


# Batch norm walks the channels in blocks of about this many values, whole channels each, so that
# a block's temporaries stay in cache: a training forward then reads x twice and writes xhat and
# y once, instead of about ten trips over memory (SegNet's 64x360x480 maps). A GPU takes all the
# channels in one block: there a kernel launch costs more than a trip to memory.
CHUNK = 2**18


def _channel_blocks(x):
    """Slices of the channels of x (n, c, h, w): whole channels, about ``CHUNK`` values a block
    (``slice(None)`` alone when one block holds them all)."""
    c = x.shape[1]
    per = c if device_of(x) == "cuda" else max(1, CHUNK // max(1, x.size // c))
    if per >= c:
        return [slice(None)]
    return [slice(c0, min(c, c0 + per)) for c0 in range(0, c, per)]


def _joined(xp, parts):
    """Per-block (c_b,) results as one (c,) array (no copy for a single block)."""
    return parts[0] if len(parts) == 1 else xp.concatenate(parts)


def batch_norm_train(x, gamma, beta, eps):
    """x (n, c, h, w) -> y, and a cache (xhat, inv_std, batch mean, biased batch var)."""
    xp = get_array_module(x)
    m = x.size // x.shape[1]
    mean = channel_sum(x) / m
    xhat, y = xp.empty(x.shape, dtype=x.dtype), xp.empty(x.shape, dtype=x.dtype)
    var, inv_std, tmp = [], [], None
    for b in _channel_blocks(x):
        xh = xp.subtract(x[:, b], _per_channel(mean[b]), out=xhat[:, b])  # centred first: no cancellation
        if tmp is None:
            tmp = xp.empty(xh.shape, dtype=x.dtype)            # the first block is the largest
        var.append(channel_sum(xp.multiply(xh, xh, out=tmp[:, :xh.shape[1]])) / m)
        inv_std.append(1.0 / xp.sqrt(var[-1] + eps))
        xh *= _per_channel(inv_std[-1])
        yb = xp.multiply(xh, _per_channel(gamma[b]), out=y[:, b])
        yb += _per_channel(beta[b])
    return y, (xhat, _joined(xp, inv_std), mean, _joined(xp, var))


def batch_norm_train_backward(gy, gamma, xhat, inv_std):
    """(gx, ggamma, gbeta) for the training-mode forward (batch statistics)."""
    xp = get_array_module(gy)
    m = gy.size // gy.shape[1]
    gx = xp.empty(gy.shape, dtype=gy.dtype)
    gbeta, ggamma, tmp = [], [], None
    for b in _channel_blocks(gy):
        g, xh = gy[:, b], xhat[:, b]
        if tmp is None:
            tmp = xp.empty(g.shape, dtype=gy.dtype)             # the first block is the largest
        t = tmp[:, :g.shape[1]]
        gbeta.append(channel_sum(g))
        ggamma.append(channel_sum(xp.multiply(g, xh, out=t)))
        gxb = xp.multiply(xh, _per_channel(ggamma[-1]), out=gx[:, b])
        gxb += _per_channel(gbeta[-1])
        gxb -= xp.multiply(g, gy.dtype.type(m), out=t)          # gx = -(m*g - gbeta - xhat*ggamma)
        gxb *= _per_channel(-gamma[b] * inv_std[b] / m)
    return gx, _joined(xp, ggamma), _joined(xp, gbeta)


def batch_norm_eval(x, mean, var, gamma, beta, eps):
    """y = x * scale + shift with the running statistics: an affine map per channel."""
    xp = get_array_module(x)
    inv_std = 1.0 / xp.sqrt(var + eps)
    return x * _per_channel(gamma * inv_std) + _per_channel(beta - mean * gamma * inv_std), inv_std


def batch_norm_eval_backward(gy, x, mean, gamma, inv_std):
    """(gx, ggamma, gbeta) for the eval-mode forward (statistics are constants)."""
    gx = gy * _per_channel(gamma * inv_std)
    ggamma = channel_sum(gy * (x - _per_channel(mean))) * inv_std
    return gx, ggamma, channel_sum(gy)


def dropout_mask(xp, shape, p, dtype, rng_uniform):
    """A mask of 0 and 1/(1-p) (inverted dropout: no rescaling at test time)."""
    keep = rng_uniform(xp, shape, dtype) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
