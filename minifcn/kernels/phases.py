"""Strided convolutions as stride-1 ones over the stride's phases (the "sub-pixel" view).

A transposed convolution with stride ``s`` writes output row ``Y = q*s + r`` (before the padding
is cut) only from the kernel rows ``r, r + s, r + 2s, ...``: each of the ``s`` row phases ``r`` (and
``t`` column phases ``u``) is a stride-1 correlation of the input with its own ``A x B`` kernel,
``A = ceil(kh/s)``, ``B = ceil(kw/t)`` taps a side. FCN's bilinear upsamplings (4/2, 16/8, 64/32)
have kernels twice their stride, so every phase is a 2x2 stride-1 kernel.

So the transposed convolution is one stride-1 convolution whose ``s*t*c`` output channels are
the phases (:func:`kernel` arranges the taps), followed by :func:`depth_to_space`, which
interleaves them into the image. Its adjoint, a strided convolution with such a kernel, is
:func:`space_to_depth` (the padded image cut into its phases, as channels) followed by the
stride-1 transposed convolution with the same phase kernel. im2col would instead write
``kh*kw/(s*t)`` times the output (4x for k = 2s) and col2im add it back.

The pieces here only move values: :func:`kernel_grad` is :func:`kernel`'s adjoint, and
:func:`depth_to_space` inverts :func:`space_to_depth`'s layout. :mod:`.conv` chooses this path
(:func:`by_phases`) and runs the stride-1 convolutions.

>>> import numpy as np
>>> x = np.arange(2 * 4 * 6.0).reshape(1, 2, 4, 6)
>>> z = space_to_depth(x, (2, 3), 2, 2, (2, 2), (0, 0))   # 2x2 windows, stride 2: 4 phases
>>> z.shape, z[0, :, 0, 0]                  # channel (r*t + u)*c + i: phase (r, u) of channel i
((1, 8, 2, 3), array([ 0., 24.,  1., 25.,  6., 30.,  7., 31.]))
>>> bool((depth_to_space(z, 2, 2) == x).all())
True
"""
from __future__ import annotations

from ..backend import device_of, get_array_module
from . import cache


def by_phases(kh, kw, stride, dilation):
    """Whether a strided convolution (or its transpose) runs as stride-1 ones over phases: when
    its kernel overlaps itself (``k > s`` on an axis) and is not dilated."""
    (sy, sx) = stride
    return tuple(dilation) == (1, 1) and (sy, sx) != (1, 1) and (kh > sy or kw > sx)


def kernel(W, stride):
    """W (out_c, c, kh, kw) of a stride-(s, t) convolution -> (s*t*c, out_c, A, B), A = ceil(kh/s),
    B = ceil(kw/t): the stride-1 kernel that maps ``y`` (out_c channels) to the ``s*t`` phases of
    the transposed convolution, channel ``(r*t + u)*c + i`` being phase ``(r, u)`` of channel ``i``.

    Kernel row ``a*s + r`` (zero past ``kh``) reaches output row ``(oy + a)*s + r`` from ``y`` row
    ``oy``: as a correlation over ``y`` padded by ``A - 1``, that is tap ``A - 1 - a``.
    """
    xp = get_array_module(W)
    (s, t), (out_c, c, kh, kw) = stride, W.shape
    A, B = -(-kh // s), -(-kw // t)
    Wp = xp.zeros((out_c, c, A * s, B * t), dtype=W.dtype)
    Wp[:, :, :kh, :kw] = W
    Wp = Wp.reshape(out_c, c, A, s, B, t)[:, :, ::-1, :, ::-1, :]   # (o, i, A-1-a, r, B-1-b, u)
    return xp.ascontiguousarray(Wp.transpose(3, 5, 1, 0, 2, 4)).reshape(s * t * c, out_c, A, B)


def kernel_grad(gK, kh, kw, stride):
    """The adjoint of :func:`kernel` (which only moves and zero-pads taps): a gradient
    (s*t*c, out_c, A, B) of the phase kernel -> the gradient (out_c, c, kh, kw) of W."""
    xp = get_array_module(gK)
    (s, t), (_, out_c, A, B) = stride, gK.shape
    c = gK.shape[0] // (s * t)
    g = gK.reshape(s, t, c, out_c, A, B).transpose(3, 2, 4, 0, 5, 1)[:, :, ::-1, :, ::-1, :]
    return xp.ascontiguousarray(g.reshape(out_c, c, A * s, B * t)[:, :, :kh, :kw])


def space_to_depth(x, out_hw, kh, kw, stride, padding):
    """x (n, c, h, w), as a stride-(s, t) convolution with a kh x kw kernel reads it, padded ->
    (n, s*t*c, q, r) with q = out_h + A - 1: channel ``(r*t + u)*c + i`` holds the padded rows
    ``r, r + s, ...`` and columns ``u, u + t, ...`` of channel ``i``."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (s, t), (ph, pw), (oh, ow) = stride, padding, out_hw
    q, r = oh + -(-kh // s) - 1, ow + -(-kw // t) - 1
    # the padded image, cut where no window reaches (the last window ends before row q*s)
    hh, ww = min(h, q * s - ph), min(w, r * t - pw)
    full = cache.zeros((n, c, q * s, r * t), x.dtype, like=x)
    full[:, :, ph:ph + hh, pw:pw + ww] = x[:, :, :hh, :ww]
    z = xp.ascontiguousarray(full.reshape(n, c, q, s, r, t).transpose(0, 3, 5, 1, 2, 4))
    return z.reshape(n, s * t * c, q, r)


# Depth to space copies the s*t phases of z into one image. As one transposed copy NumPy's
# innermost loop runs over a phase's ``t`` columns (2 for FCN's 4/2 upsamplings); one copy per
# phase runs over a row of ``r`` instead: 21 x 70 x 70 (upscore_pool4) 42 against 175 us, 21 x
# 34 x 34 14 against 43. For s = 8 on one wide image the two are even (FCN-8s's upscore8 at
# 500x500, 21 x 70 x 70: 16.2 against 16.3 ms for the whole transposed convolution), but on the
# main job's batch of 8 narrow maps (6 x 30 x 30) the per-phase copies win, 6.9 against 10.0 ms
# (five alternated rounds; the copy alone 2.4-3.0 against 7.4-7.7). For s = 32 the one copy
# wins (5.0-5.6 against 8.3-9.1 ms). So: per phase up to this many phases (s = t = 8), on the
# CPU (a GPU runs the one copy as one kernel).
PHASE_COPIES_MAX = 64


def depth_to_space(z, s, t):
    """z (n, s*t*c, q, r), channel ``(a*t + b)*c + i`` being phase ``(a, b)`` of channel ``i``
    -> (n, c, q*s, r*t), phase ``(a, b)`` at rows ``a, a + s, ...`` and columns ``b, b + t, ...``
    (the inverse of :func:`space_to_depth`'s layout)."""
    xp = get_array_module(z)
    n, q, r = z.shape[0], z.shape[2], z.shape[3]
    c = z.shape[1] // (s * t)
    split = z.reshape(n, s, t, c, q, r)
    if s * t > PHASE_COPIES_MAX or device_of(z) == "cuda":
        return xp.ascontiguousarray(split.transpose(0, 3, 4, 1, 5, 2)).reshape(n, c, q * s, r * t)
    full = cache.empty((n, c, q, s, r, t), z.dtype, like=z)
    for a in range(s):
        for b in range(t):
            full[:, :, :, a, :, b] = split[:, a, b]
    return full.reshape(n, c, q * s, r * t)
