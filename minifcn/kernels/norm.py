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

from ..backend import get_array_module
from .reduce import channel_sum


def _per_channel(v):
    return v.reshape(1, -1, 1, 1)


def batch_norm_train(x, gamma, beta, eps):
    """x (n, c, h, w) -> y, and a cache (xhat, inv_std, batch mean, biased batch var)."""
    xp = get_array_module(x)
    m = x.size // x.shape[1]
    mean = channel_sum(x) / m
    xhat = x - _per_channel(mean)                   # centred first: var = mean of squares, no cancellation
    var = channel_sum(xhat * xhat) / m
    inv_std = 1.0 / xp.sqrt(var + eps)
    xhat *= _per_channel(inv_std)
    y = xhat * _per_channel(gamma)
    y += _per_channel(beta)
    return y, (xhat, inv_std, mean, var)


def batch_norm_train_backward(gy, gamma, xhat, inv_std):
    """(gx, ggamma, gbeta) for the training-mode forward (batch statistics)."""
    m = gy.size // gy.shape[1]
    gbeta = channel_sum(gy)
    ggamma = channel_sum(gy * xhat)
    gx = xhat * _per_channel(ggamma)
    gx += _per_channel(gbeta)
    gx -= m * gy                                    # gx = -(m*g - gbeta - xhat*ggamma) so far
    gx *= _per_channel(-gamma * inv_std / m)
    return gx, ggamma, gbeta


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
