"""Depthwise convolution (``groups = in_c``) as a sum over the kernel's taps of shifted slices.

A depthwise convolution filters each input channel by its own ``kh x kw`` kernels, ``k`` of
them (the channel multiplier: ``out_c = k * in_c``; MobileNet's layers have ``k = 1``).
Output channel ``o = c*k + m`` reads input channel ``c`` alone:

    y[b, c*k + m, oy, ox] = sum_{i, j} W[c*k + m, 0, i, j] * xpad[b, c, oy*sy + i*dy, ox*sx + j*dx]

with ``xpad`` the input padded by ``(ph, pw)`` zeros, and ``out_h = (h + 2*ph - dy*(kh - 1) - 1)
// sy + 1`` (``out_w`` likewise). There is no sum over channels, so no matrix product: for a
fixed tap ``(i, j)`` the values every output reads form one strided slice of ``xpad``,
``xpad[..., i*dy : : sy, j*dx : : sx]`` cut to (out_h, out_w), and the convolution is ``kh*kw``
multiply-adds of such slices by one weight per channel. The input gradient adds ``gy`` times
the same weights back into the same slices of a zero padded map, then cuts the padding off (the
adjoint of slicing is adding into the slice); the weight gradient is, per tap, the dot product
of ``gy`` with the tap's slice over the batch and the image, one per channel.

The grouped kernels of :mod:`.conv` loop over the groups, one small convolution per channel:
for a depthwise layer of many channels that is hundreds of Python calls of tiny products. Here
the Python cost is ``kh*kw*k`` array operations a block of channels, whatever the channels.
On the CPU the channels run in blocks of about ``BLOCK_VALUES`` values (a block's padded
input, output and product then stay in the core's cache across the taps instead of making a
trip to memory each) spread over the threads (:func:`.threads.map_blocks`); on a GPU, one block.

Measured on the 2-core VM of ``benchmarks/README.md``, 3x3, padding 1, float32, forward and
then input + weight gradient, ms, medians of alternated rounds, against
``torch.nn.functional.conv2d(..., groups=c)`` (see :func:`depthwise_conv2d`'s note for the
figures).

>>> import numpy as np
>>> from minifcn import naive
>>> x = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
>>> W = np.random.default_rng(1).standard_normal((6, 1, 3, 3))     # multiplier 2
>>> y = depthwise_conv2d(x, W, padding=(1, 1))
>>> y.shape
(2, 6, 5, 6)
>>> bool(np.allclose(y, naive.conv2d(x, W, None, 1, 1, 1, groups=3)))
True
"""
from __future__ import annotations

from ..backend import get_array_module
from ..im2col import conv_out_size, pad2d
from . import cache
from .threads import channel_blocks, map_blocks

# The channels run in blocks of about this many values of the padded input: with the block's
# output and one product of the same size, 3 x 256 KiB of float32, within a core's 1 MiB of L2
# (an EPYC's half of 2 MiB), so the kh*kw passes of the taps read the cache, not memory.
BLOCK_VALUES = 1 << 16


def _tap(a, i, j, out_hw, stride, dilation):
    """The values tap ``(i, j)`` meets at every output: ``a[..., oy*sy + i*dy, ox*sx + j*dx]`` for
    all ``oy < out_h``, ``ox < out_w``, a strided view (..., out_h, out_w) of the padded ``a``."""
    (oh, ow), (sy, sx), (dy, dx) = out_hw, stride, dilation
    return a[..., i * dy: i * dy + (oh - 1) * sy + 1: sy, j * dx: j * dx + (ow - 1) * sx + 1: sx]


def _check(x, W):
    """The multiplier ``k`` of a depthwise W (k*c, 1, kh, kw) for x (n, c, h, w)."""
    c, (out_c, depth) = x.shape[1], W.shape[:2]
    if depth != 1 or out_c % c:
        raise ValueError(f"depthwise: weight {tuple(W.shape)} is not depthwise for {c} input "
                         f"channels: expected ({c}*k, 1, kh, kw)")
    return out_c // c


def _weights(W, c, k):
    """W (c*k, 1, kh, kw) -> (k, kh*kw, c, 1, 1): ``[m, t]`` is tap ``t``'s weight of every
    channel's ``m``-th filter, shaped to broadcast against a block (n, c, out_h, out_w)."""
    kh, kw = W.shape[2:]
    return W.reshape(c, k, kh * kw).transpose(1, 2, 0)[..., None, None]


def _blocks(x):
    """Slices of x's channels for :func:`.threads.map_blocks` (``BLOCK_VALUES``; a GPU: one)."""
    return channel_blocks(x, per_block=BLOCK_VALUES)


def out_hw(x, W, stride, padding, dilation):
    """(out_h, out_w) of the depthwise convolution of x by W."""
    return tuple(conv_out_size(n, kn, s, p, d) for n, kn, s, p, d in
                 zip(x.shape[2:], W.shape[2:], stride, padding, dilation))


def depthwise_conv2d(x, W, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """y (n, k*c, out_h, out_w) of x (n, c, h, w) filtered channel by channel by W (k*c, 1, kh,
    kw), plus b (k*c,) if given: the convolution with ``groups = c`` (formula: module doc).

    >>> import numpy as np
    >>> depthwise_conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 1, 3, 3)), stride=(2, 2))[0, 0]
    array([[9., 9.],
           [9., 9.]])
    """
    xp = get_array_module(x)
    k, (n, c), (kh, kw) = _check(x, W), x.shape[:2], W.shape[2:]
    (ph, pw), size = padding, out_hw(x, W, stride, padding, dilation)
    y = cache.empty((n, c * k) + size, x.dtype, like=x)
    y5, taps = y.reshape(n, c, k, *size), _weights(W, c, k)

    def block(chans):
        xpad = pad2d(x[:, chans], ph, ph, pw, pw)
        slices = [_tap(xpad, i, j, size, stride, dilation) for i in range(kh) for j in range(kw)]
        product = xp.empty(slices[0].shape, x.dtype)
        for m in range(k):
            out, w = y5[:, chans, m], taps[m, :, chans]
            xp.multiply(slices[0], w[0], out=out)
            for t in range(1, kh * kw):   # y += w_t * tap_t, without a fresh array per tap
                xp.multiply(slices[t], w[t], out=product)
                out += product

    map_blocks(block, _blocks(x), x)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def depthwise_conv2d_grads(x, gy, W, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                           need_input=True, need_weight=True):
    """(gx, gW) of :func:`depthwise_conv2d`, each None when not needed: gx (n, c, h, w), gW
    (k*c, 1, kh, kw), for gy (n, k*c, out_h, out_w).

    ``gx`` is ``gy`` times each tap's weight, added into that tap's slice of a zero padded map
    whose padding is then cut off; ``gW[c*k + m, 0, i, j]`` is the sum over the batch and the
    image of ``gy[:, c*k + m]`` times tap ``(i, j)``'s slice of channel ``c``. Both walk the same
    blocks of channels, so each block's ``gy`` is read from the cache the second time.

    >>> import numpy as np
    >>> gx, gW = depthwise_conv2d_grads(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)),
    ...                                 np.ones((1, 1, 3, 3)), padding=(1, 1))
    >>> gx[0, 0]                     # how many outputs each input pixel feeds
    array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]])
    >>> gW[0, 0]                     # how many outputs each tap sees inside the image
    array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]])
    """
    xp = get_array_module(x)
    k, (n, c, h, w), (kh, kw) = _check(x, W), x.shape, W.shape[2:]
    (ph, pw), size = padding, tuple(gy.shape[2:])
    gy5, taps = gy.reshape(n, c, k, *size), _weights(W, c, k)
    gx = cache.empty(x.shape, x.dtype, like=x) if need_input else None
    gW = xp.empty((c, k, kh * kw), x.dtype) if need_weight else None

    def block(chans):
        cb = len(range(c)[chans])
        product = xp.empty((n, cb) + size, x.dtype)
        if need_weight:
            xpad = pad2d(x[:, chans], ph, ph, pw, pw)
            for t in range(kh * kw):
                tap = _tap(xpad, t // kw, t % kw, size, stride, dilation)
                for m in range(k):   # one dot product a channel, over the batch and the image
                    xp.multiply(gy5[:, chans, m], tap, out=product)
                    s = product.sum(axis=(2, 3))
                    gW[chans, m, t] = s[0] if n == 1 else s.sum(axis=0)
        if need_input:
            gpad = xp.zeros((n, cb, h + 2 * ph, w + 2 * pw), x.dtype)
            for t in range(kh * kw):
                into = _tap(gpad, t // kw, t % kw, size, stride, dilation)
                for m in range(k):   # a tap's slices do not overlap: += adds each value once
                    xp.multiply(gy5[:, chans, m], taps[m, t, chans], out=product)
                    into += product
            gx[:, chans] = gpad[:, :, ph:ph + h, pw:pw + w]

    map_blocks(block, _blocks(x), x)
    return gx, None if gW is None else gW.reshape(c * k, 1, kh, kw)
