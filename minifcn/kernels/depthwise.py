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

Measured on the 2-core VM of ``benchmarks/README.md`` (shared, so noisy), 3x3, padding 1,
float32, ms, medians of 7 rounds alternated with ``torch.nn.functional.conv2d(..., groups=c)``
(forward; then input + weight gradient, torch's backward alone on a kept graph); the loop over
the groups before it in brackets:

=================  ===============================  ===============================
c x h x w, batch   forward: ours [loop] / torch     backward: ours [loop] / torch
=================  ===============================  ===============================
32x112x112, 1      0.99 [5.9] / 0.57                1.60 [14.5] / 0.6-2.8
64x56x56, 8        3.10 [50.7] / 0.73               6.05 [94.0] / 2.00
256x56x56, 1       2.00 [39.6] / 0.31               4.28 [70.4] / 0.71
256x56x56, 8       8.35 [100] / 4.6-27              22.5 [237] / 25-43
256x28x28, 8       6.82 [66.6] / 0.90               8.24 [154] / 1.68
512x14x14, 1       0.58 [49.2] / 0.10               0.96 [129] / 0.23
512x14x14, 8       3.91 [143] / 0.36                5.41 [340] / 0.82
=================  ===============================  ===============================

So 5-60x the loop's speed, and 2-11x PyTorch's time (stride 2 alike: 0.33-7.0 ms forward):
NumPy has no fused multiply-add, so each tap is two passes over a block where PyTorch's
kernel makes one vectorised pass for all nine, and small maps pay Python's cost per operation.

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
from .reduce import channel_dot
from .threads import channel_blocks, map_blocks

# The channels run in blocks of about this many values of the input (whole channels, all the
# images): a block's planes, sum and product, 1 MiB each in float32, stay in the L2 and L3
# caches across the taps, and a block is long enough that Python's cost per array operation
# (a few us, ``2*kh*kw*k`` of them) is small beside it. Forward / both gradients, 3x3, ms, two
# threads: 256 x 56 x 56, one image, 1.68 / 4.20 at 2**16, 1.35 / 3.45 at 2**18, 1.37 / 3.28 at
# 2**19; eight images 13.9 / 40.1, 8.6 / 23.4, 8.9 / 23.6; 512 x 14 x 14 0.55-0.6 / 0.9-1.3.
BLOCK_VALUES = 1 << 18


class _Layout:
    """Where the taps of a depthwise convolution of an (h, w) map read.

    The padded map is split by stride phase into ``sy*sx`` planes of (hq, wq): plane ``(a, b)``
    holds padded rows ``a, a + sy, ...`` and columns ``b, b + sx, ...`` (stride 1: one plane, the
    padded map). Flattened, each plane is one row of ``hq*wq`` values, and tap ``(i, j)``'s
    values for *all* outputs are the contiguous run ``plane[off : off + out_h*wq]`` of plane
    ``(i*dy % sy, j*dx % sx)``, ``off = (i*dy // sy)*wq + j*dx // sx``: output ``(oy, ox)`` at
    ``oy*wq + ox``. Columns ``ox >= out_w`` of each row are junk (windows wrapping onto the
    next row); ``hq`` has one row of zeros more than the map needs, so the last row's junk reads
    stay inside. Contiguous runs are why: NumPy multiplies them 2-2.5x as fast as the strided
    (out_h, out_w) views of the same values (256 x 56 x 56, 9 taps: 2.6 ms against 6.6).
    """

    def __init__(self, hw, k, stride, padding, dilation):
        (h, w), (kh, kw), (sy, sx), (ph, pw), (dy, dx) = hw, k, stride, padding, dilation
        self.stride, self.padding, self.hw = (sy, sx), (ph, pw), (h, w)
        self.out = (conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx))
        self.hq, self.wq = -(-(h + 2 * ph) // sy) + 1, -(-(w + 2 * pw) // sx)
        self.length = self.out[0] * self.wq   # an output plane, junk columns included
        # per tap t = i*kw + j: (plane a, plane b, offset of its run)
        self.taps = [((i * dy) % sy, (j * dx) % sx, (i * dy) // sy * self.wq + (j * dx) // sx)
                     for i in range(kh) for j in range(kw)]

    def planes(self, x):
        """x (n, c, h, w) -> (sy, sx, n, c, hq*wq): padded (pad2d), split by phase, flattened."""
        (sy, sx), (ph, pw), (h, w) = self.stride, self.padding, self.hw
        n, c = x.shape[:2]
        xpad = pad2d(x, ph, self.hq * sy - h - ph, pw, self.wq * sx - w - pw)
        if (sy, sx) == (1, 1):
            return xpad.reshape(1, 1, n, c, self.hq * self.wq)
        split = xpad.reshape(n, c, self.hq, sy, self.wq, sx).transpose(3, 5, 0, 1, 2, 4)
        return get_array_module(x).ascontiguousarray(split).reshape(sy, sx, n, c, -1)

    def run(self, planes, t):
        """Tap ``t``'s values for every output: (n, c, out_h*wq), a view of ``planes``."""
        a, b, off = self.taps[t]
        return planes[a, b, :, :, off:off + self.length]

    def wide(self, gy):
        """gy (n, c, out_h, out_w) -> (n, c, out_h*wq), zeros in the junk columns (so that
        they add nothing where they wrap onto real pixels)."""
        n, c, oh, ow = gy.shape
        out = get_array_module(gy).zeros((n, c, oh, self.wq), gy.dtype)
        out[..., :ow] = gy
        return out.reshape(n, c, self.length)

    def narrow(self, run):
        """(n, c, out_h*wq) -> (n, c, out_h, out_w), a view without the junk columns."""
        n, c = run.shape[:2]
        return run.reshape(n, c, self.out[0], self.wq)[..., :self.out[1]]

    def unsplit(self, g, gx):
        """Write into gx (n, c, h, w) the pixels of g (sy, sx, n, c, hq*wq), the planes of a
        padded map, leaving out the padding: pixel row r sits in plane ``(r + ph) % sy``, at
        row ``(r + ph) // sy``."""
        (sy, sx), (ph, pw), (h, w) = self.stride, self.padding, self.hw
        n, c = g.shape[2:4]
        g = g.reshape(sy, sx, n, c, self.hq, self.wq)
        for r0 in range(min(sy, h)):
            for c0 in range(min(sx, w)):
                q, p = (r0 + ph) // sy, (c0 + pw) // sx
                rows, cols = len(range(r0, h, sy)), len(range(c0, w, sx))
                gx[:, :, r0::sy, c0::sx] = g[(r0 + ph) % sy, (c0 + pw) % sx, :, :,
                                             q:q + rows, p:p + cols]


def _check(x, W):
    """The multiplier ``k`` of a depthwise W (k*c, 1, kh, kw) for x (n, c, h, w)."""
    c, (out_c, depth) = x.shape[1], W.shape[:2]
    if depth != 1 or out_c % c:
        raise ValueError(f"depthwise: weight {tuple(W.shape)} is not depthwise for {c} input "
                         f"channels: expected ({c}*k, 1, kh, kw)")
    return out_c // c


def _weights(W, c, k):
    """W (c*k, 1, kh, kw) -> (k, kh*kw, c, 1): ``[m, t]`` is tap ``t``'s weight of every
    channel's ``m``-th filter, shaped to broadcast against a block's runs (n, c, L)."""
    kh, kw = W.shape[2:]
    return W.reshape(c, k, kh * kw).transpose(1, 2, 0)[..., None]


def _blocks(x, work):
    """Slices of x's channels for :func:`.threads.map_blocks` (``BLOCK_VALUES``; a GPU: one).
    ``work``: array operations a value of x (``2*kh*kw*k``): a map too small for two blocks'
    worth of threads at one operation a value has enough work at that many."""
    return channel_blocks(x, per_block=BLOCK_VALUES, work=work)


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
    lay = _Layout(x.shape[2:], (kh, kw), stride, padding, dilation)
    y = cache.empty((n, c * k) + lay.out, x.dtype, like=x)
    y5, taps = y.reshape(n, c, k, *lay.out), _weights(W, c, k)

    def block(chans):
        planes = lay.planes(x[:, chans])
        acc = xp.empty(planes.shape[2:4] + (lay.length,), x.dtype)
        product = xp.empty_like(acc)
        for m in range(k):
            w = taps[m, :, chans]
            xp.multiply(lay.run(planes, 0), w[0], out=acc)
            for t in range(1, kh * kw):   # acc += w_t * tap_t, without a fresh array per tap
                xp.multiply(lay.run(planes, t), w[t], out=product)
                acc += product
            y5[:, chans, m] = lay.narrow(acc)

    map_blocks(block, _blocks(x, 2 * kh * kw * k), x)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def depthwise_conv2d_grads(x, gy, W, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                           need_input=True, need_weight=True):
    """(gx, gW) of :func:`depthwise_conv2d`, each None when not needed: gx (n, c, h, w), gW
    (k*c, 1, kh, kw), for gy (n, k*c, out_h, out_w).

    ``gx`` is ``gy`` times each tap's weight, added into that tap's run of zero padded planes,
    whose padding is then left out; ``gW[c*k + m, 0, i, j]`` is the dot product, over the batch
    and the image, of ``gy[:, c*k + m]`` with tap ``(i, j)``'s run of channel ``c`` (one
    (1, L) @ (L, 1) product a plane: 3-4x as fast as multiplying, then summing). Both read
    ``gy`` with zeros in the junk columns, made once a block.

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
    k, (n, c), (kh, kw) = _check(x, W), x.shape[:2], W.shape[2:]
    lay = _Layout(x.shape[2:], (kh, kw), stride, padding, dilation)
    gy5, taps = gy.reshape(n, c, k, *gy.shape[2:]), _weights(W, c, k)
    gx = cache.empty(x.shape, x.dtype, like=x) if need_input else None
    gW = xp.empty((c, k, kh * kw), x.dtype) if need_weight else None

    def block(chans):
        wide = [lay.wide(gy5[:, chans, m]) for m in range(k)]
        if need_weight:
            planes = lay.planes(x[:, chans])
            for t in range(kh * kw):
                run = lay.run(planes, t)[:, :, None]
                for m in range(k):
                    gW[chans, m, t] = channel_dot(wide[m][:, :, None], run)
        if need_input:
            sy, sx = lay.stride
            g = xp.zeros((sy, sx) + wide[0].shape[:2] + (lay.hq * lay.wq,), x.dtype)
            product = xp.empty_like(wide[0])
            for t in range(kh * kw):
                run = lay.run(g, t)
                for m in range(k):   # runs of one tap do not overlap: += adds each value once
                    xp.multiply(wide[m], taps[m, t, chans], out=product)
                    run += product
            lay.unsplit(g, gx[:, chans])

    map_blocks(block, _blocks(x, 2 * kh * kw * k), x)
    return gx, None if gW is None else gW.reshape(c * k, 1, kh, kw)
