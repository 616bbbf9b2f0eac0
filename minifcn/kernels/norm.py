"""Batch normalisation, group, instance and layer normalisation, local response normalisation
and dropout kernels.

Batch norm, per channel ``c`` over the ``M = n*h*w`` values of a batch::

    xhat = (x - mean) / sqrt(var + eps)        y = gamma * xhat + beta

and, with ``g = gy``, its backward pass in the usual closed form::

    gbeta = sum(g)   ggamma = sum(g * xhat)
    gx = gamma / sqrt(var + eps) / M * (M * g - gbeta - xhat * ggamma)

>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
>>> y, (mean, inv_std, var) = batch_norm_train(x, np.ones(3), np.zeros(3), 1e-5)
>>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0)), bool(np.allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-4))
(True, True)
"""
from __future__ import annotations

from ..backend import get_array_module
from . import cache
from .reduce import channel_dot, channel_sum
from .threads import channel_blocks, map_blocks


def _per_channel(v):
    return v.reshape(1, -1, 1, 1)


# Batch norm walks the channels in blocks of about this many values, whole channels each, so that
# a block's temporaries stay in cache: a training forward then reads x and writes y once each,
# instead of about ten trips over memory (SegNet's 64x360x480 maps). The blocks are
# spread over the CPU's cores (threads.map_blocks). A GPU takes all the channels in one block.
CHUNK = 2**18


def _joined(xp, parts):
    """Per-block (c_b,) results as one (c,) array (no copy for a single block)."""
    return parts[0] if len(parts) == 1 else xp.concatenate(parts)


def batch_norm_train(x, gamma, beta, eps):
    """x (n, c, h, w) -> y, and the batch statistics (mean, inv_std, biased var), each (c,).

    Each block of channels is read from memory once: its mean, its centred values, their
    variance and y are all computed while the block is in cache. ``xhat`` is not kept: the
    backward pass recomputes it from ``x``, which the graph holds anyway (as PyTorch does).
    """
    xp = get_array_module(x)
    m = x.size // x.shape[1]
    y = cache.empty(x.shape, x.dtype, like=x)

    def block(b):
        xb = x[:, b]
        mean = channel_sum(xb) / m
        d = xb - _per_channel(mean)                         # centred first: no cancellation
        var = channel_dot(d, d) / m
        inv_std = 1.0 / xp.sqrt(var + eps)
        d *= _per_channel(gamma[b] * inv_std)
        xp.add(d, _per_channel(beta[b]), out=y[:, b])
        return mean, inv_std, var

    mean, inv_std, var = zip(*map_blocks(block, channel_blocks(x, CHUNK), x))
    return y, (_joined(xp, mean), _joined(xp, inv_std), _joined(xp, var))


def batch_norm_train_backward(gy, x, gamma, mean, inv_std):
    """(gx, ggamma, gbeta) for the training-mode forward (batch statistics), from its input x.

    ``xhat`` is rebuilt block by block in the block of ``gx`` that it then becomes, written as
    ``gx = gamma * inv_std * (g - (gbeta + xhat * ggamma) / M)``: no temporary at all.
    """
    xp = get_array_module(gy)
    m = gy.size // gy.shape[1]
    gx = cache.empty(gy.shape, gy.dtype, like=gy)

    def block(b):
        g = gy[:, b]
        xh = xp.subtract(x[:, b], _per_channel(mean[b]), out=gx[:, b])
        xh *= _per_channel(inv_std[b])
        gbeta, ggamma = channel_sum(g), channel_dot(g, xh)
        xh *= _per_channel(ggamma / m)
        xh += _per_channel(gbeta / m)
        xh -= g                                             # -(g - (gbeta + xhat * ggamma) / M)
        xh *= _per_channel(-gamma[b] * inv_std[b])
        return ggamma, gbeta

    ggamma, gbeta = zip(*map_blocks(block, channel_blocks(gy, CHUNK), gy))
    return gx, _joined(xp, ggamma), _joined(xp, gbeta)


def batch_norm_eval(x, mean, var, gamma, beta, eps):
    """y = (x - mean) * scale + beta with the running statistics: an affine map per channel.
    Centred first: ``x * scale + (beta - mean * scale)`` is one pass fewer, but its two terms
    cancel where a channel's mean is large against its spread (mean 10, std 1e-3: an error of
    1e-4 of y, 2000x PyTorch's)."""
    xp = get_array_module(x)
    inv_std = 1.0 / xp.sqrt(var + eps)
    y = x - _per_channel(mean)
    y *= _per_channel(gamma * inv_std)
    y += _per_channel(beta)
    return y, inv_std


def batch_norm_eval_backward(gy, x, mean, gamma, inv_std):
    """(gx, ggamma, gbeta) for the eval-mode forward (statistics are constants)."""
    gx = gy * _per_channel(gamma * inv_std)
    ggamma = channel_sum(gy * (x - _per_channel(mean))) * inv_std
    return gx, ggamma, channel_sum(gy)


def _window_sum(v, before, after):
    """s[:, c] = v[:, c - before] + ... + v[:, c + after], the channels that exist: one shifted
    slice added per offset, over whole (n, c, ...) arrays."""
    s = v.copy()
    c = v.shape[1]
    for o in range(1, min(before, c - 1) + 1):
        s[:, o:] += v[:, :c - o]
    for o in range(1, min(after, c - 1) + 1):
        s[:, :c - o] += v[:, o:]
    return s


def lrn(x, size, alpha, beta, k):
    """Local response normalisation across channels (AlexNet; Caffe's LRN, PyTorch's
    ``local_response_norm``): x (n, c, h, w) -> (y, d) with

        d[c] = k + alpha / size * sum(x[c']**2 for c' in c - size//2 .. c + (size-1)//2)
        y = x / d**beta
    """
    d = _window_sum(x * x, size // 2, (size - 1) // 2)
    d *= x.dtype.type(alpha / size)
    d += x.dtype.type(k)
    return x * d ** x.dtype.type(-beta), d


def lrn_backward(gy, x, y, d, size, alpha, beta):
    """gx of :func:`lrn`. Channel j appears in the windows of channels j - (size-1)//2 ..
    j + size//2, so

        gx[j] = gy[j] / d[j]**beta - 2 * alpha * beta / size * x[j] * sum(gy[c] * y[c] / d[c])
    """
    t = gy * y / d
    s = _window_sum(t, (size - 1) // 2, size // 2)           # the transposed window
    s *= x
    s *= gy.dtype.type(2 * alpha * beta / size)
    return gy * d ** gy.dtype.type(-beta) - s


def dropout_mask(xp, shape, p, dtype, rng_uniform):
    """A mask of 0 and 1/(1-p) (inverted dropout: no rescaling at test time)."""
    keep = rng_uniform(xp, shape, dtype) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


# --------------------------------------------------------------------- group, instance, layer norm
# All three normalise slabs of a 4-D view (n, g, k, l) of their input: each (n, g) slab over its
# k*l values, then scale and shift per (g, k), the same for every n and l:
#
#   group norm      (N, C, *s) -> (N, G, C/G, prod(s))     gamma, beta (C,) as (G, C/G)
#   instance norm   (N, C, *s) -> (N, C, 1, prod(s))       group norm with G = C
#   layer norm      (*lead, *shape) -> (prod(lead), 1, prod(shape), 1)   gamma, beta as (1, prod(shape))
#
# So one forward and one backward serve the three; the views cost no copy for a contiguous input.

def _slabs(v):
    """(n, g, k, l) -> (1, n*g, k*l, 1): each slab a channel of one image (a view where ``v`` is
    contiguous), so that :func:`channel_sum` and :func:`channel_dot` give per-slab sums."""
    n, g, k, l = v.shape
    return v.reshape(1, n * g, k * l, 1)


def _per_slab(s, n, g):
    """A per-slab (n*g,) result as (n, g, 1, 1), to broadcast over the slab's values."""
    return s.reshape(n, g, 1, 1)


def _per_feature(p):
    """gamma or beta (g, k) as (1, g, k, 1)."""
    return p[None, :, :, None]


def group_norm(x, gamma, beta, eps):
    """x (n, g, k, l) -> y (n, g, k, l), and (mean, inv_std, var), each (n*g,), biased variance:

        xhat = (x - mean[n, g]) * inv_std[n, g]      y = gamma[g, k] * xhat + beta[g, k]

    ``gamma``, ``beta``: (g, k), or None for no scale, no shift.

    >>> import numpy as np
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)                       # two groups of four values
    >>> y, (mean, inv_std, var) = group_norm(x, None, None, 0.0)
    >>> mean.tolist(), var.tolist(), y[0, 0].ravel().round(4).tolist()
    ([1.5, 5.5], [1.25, 1.25], [-1.3416, -0.4472, 0.4472, 1.3416])
    """
    xp = get_array_module(x)
    n, g, k, l = x.shape
    m = max(k * l, 1)                                       # empty slabs: sums of nothing, not 0 / 0
    mean = channel_sum(_slabs(x)) / m
    y = x - _per_slab(mean, n, g)                           # centred first: no cancellation
    var = channel_dot(_slabs(y), _slabs(y)) / m
    inv_std = 1.0 / xp.sqrt(var + eps)
    y *= _per_slab(inv_std, n, g)
    if gamma is not None:
        y *= _per_feature(gamma)
    if beta is not None:
        y += _per_feature(beta)
    return y, (mean, inv_std, var)


def group_norm_backward(gy, x, gamma, mean, inv_std, need_gamma=True, need_beta=True):
    """(gx, ggamma, gbeta) of :func:`group_norm`, from its input x (n, g, k, l); ggamma and
    gbeta (g, k), None where not needed. With ``g = gy * gamma``, the gradient that reaches
    xhat, and ``mean_s`` the mean over a slab's k*l values (batch norm's closed form, a slab for
    a channel)::

        gx = inv_std * (g - mean_s(g) - xhat * mean_s(g * xhat))
        ggamma = sum over n, l of gy * xhat        gbeta = sum over n, l of gy

    ``xhat`` is rebuilt from x, as batch norm's backward does, in the array ``gx`` then becomes.
    """
    xp = get_array_module(gy)
    n, g, k, l = x.shape
    m = max(k * l, 1)
    xh = x - _per_slab(mean, n, g)
    xh *= _per_slab(inv_std, n, g)
    ggamma = xp.einsum("ngkl,ngkl->gk", gy, xh) if need_gamma and gamma is not None else None
    gbeta = gy.sum(axis=(0, 3)) if need_beta else None
    gxh = gy if gamma is None else gy * _per_feature(gamma)
    a = channel_sum(_slabs(gxh)) / m
    b = channel_dot(_slabs(gxh), _slabs(xh)) / m
    gx = xh                                                 # xhat's array, overwritten in place
    gx *= _per_slab(b, n, g)
    gx += _per_slab(a, n, g)
    gx -= gxh                                               # -(g - mean_s(g) - xhat * mean_s(g * xhat))
    gx *= _per_slab(-inv_std, n, g)
    return gx, ggamma, gbeta
