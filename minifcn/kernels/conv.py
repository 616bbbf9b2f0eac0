"""Convolution and transposed convolution as matrix products with the unfolding operator.

With ``col = im2col(x)`` reshaped to (n, c*kh*kw, out_h*out_w) and ``W`` reshaped to
(out_c, c*kh*kw), a convolution is ``y = W @ col``. Its three gradients are three products of
the same pieces:

* ``gW = gy @ col.T``                    (summed over the batch)
* ``gx = col2im(W.T @ gy)``              (the transposed convolution of ``gy``)
* ``gb = gy.sum(over n, y, x)``

A transposed convolution is the same operator read backwards, so :func:`conv_transpose2d`
is :func:`conv2d_grad_input`, and its gradients are a convolution and a weight gradient.
Nothing is saved between forward and backward except the inputs: ``col`` is rebuilt when
needed, so a big ``col`` lives only as long as one matrix product.

>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
>>> W = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
>>> y = conv2d(x, W, padding=(1, 1))
>>> y.shape
(1, 3, 5, 5)
>>> bool(np.allclose(conv_transpose2d(y, W, out_hw=(5, 5), padding=(1, 1)),
...                  conv2d_grad_input(y, W, (5, 5), padding=(1, 1))))
True
"""
from __future__ import annotations

from ..backend import get_array_module
from ..im2col import col2im, conv_out_size, im2col


def _unfold(x, kh, kw, stride, padding, dilation):
    """x (n, c, h, w) -> col (n, c*kh*kw, out_h*out_w), and (out_h, out_w)."""
    n, c, h, w = x.shape
    (sy, sx), (ph, pw), (dy, dx) = stride, padding, dilation
    if kh == kw == 1 and sy == sx == 1 and ph == pw == 0:
        return x.reshape(n, c, h * w), (h, w)  # a 1x1 convolution needs no unfolding
    col = im2col(x, kh, kw, sy, sx, ph, pw, dy, dx)
    out_h, out_w = col.shape[-2:]
    return col.reshape(n, c * kh * kw, out_h * out_w), (out_h, out_w)


def _fold(col, c, kh, kw, out_hw, hw, stride, padding, dilation):
    """col (n, c*kh*kw, out_h*out_w) -> image (n, c, h, w), adding overlapping taps."""
    n = col.shape[0]
    (sy, sx), (ph, pw), (dy, dx) = stride, padding, dilation
    if kh == kw == 1 and sy == sx == 1 and ph == pw == 0:
        return col.reshape(n, c, *hw)
    col = col.reshape(n, c, kh, kw, *out_hw)
    return col2im(col, hw[0], hw[1], sy, sx, ph, pw, dy, dx)


def _bmm(a, b):
    """(m, k) @ (n, k, l) -> (n, m, l), one BLAS call per image."""
    xp = get_array_module(b)
    if b.shape[0] == 1:
        return (a @ b[0])[None]
    return xp.matmul(a, b)


def conv2d(x, W, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """y (n, out_c, out_h, out_w) = W (out_c, c, kh, kw) * x (n, c, h, w) + b (out_c,)."""
    n = x.shape[0]
    out_c, c, kh, kw = W.shape
    col, (out_h, out_w) = _unfold(x, kh, kw, stride, padding, dilation)
    y = _bmm(W.reshape(out_c, c * kh * kw), col)  # (n, out_c, out_h*out_w)
    del col
    if b is not None:
        y += b.reshape(1, out_c, 1)
    return y.reshape(n, out_c, out_h, out_w)


def conv2d_grad_input(gy, W, hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """gx (n, c, h, w) = col2im(W.T @ gy): the input gradient of conv2d (a transposed conv)."""
    n, out_c, out_h, out_w = gy.shape
    _, c, kh, kw = W.shape
    col = _bmm(W.reshape(out_c, c * kh * kw).T, gy.reshape(n, out_c, out_h * out_w))
    return _fold(col, c, kh, kw, (out_h, out_w), hw, stride, padding, dilation)


def conv2d_grad_weight(x, gy, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """gW (out_c, c, kh, kw) = sum over images of gy (out_c, L) @ col.T (L, c*kh*kw)."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    out_c = gy.shape[1]
    col, _ = _unfold(x, kh, kw, stride, padding, dilation)
    gy = gy.reshape(n, out_c, -1)
    if n == 1:
        gW = gy[0] @ col[0].T
    else:
        gW = xp.tensordot(gy, col, axes=([0, 2], [0, 2]))
    return gW.reshape(out_c, c, kh, kw)


def conv_transpose2d(x, W, b=None, out_hw=None, stride=(1, 1), padding=(0, 0)):
    """y (n, out_c, out_h, out_w) = the transpose of conv2d(., W) applied to x (n, in_c, h, w).

    ``W`` is (in_c, out_c, kh, kw): read as a convolution from out_c to in_c channels, this is
    exactly that convolution's input gradient. ``out_hw`` fixes the output size
    (``(h - 1)*sy - 2*ph + kh + output_padding``).
    """
    y = conv2d_grad_input(x, W, out_hw, stride, padding)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def conv_transpose2d_grad_input(gy, W, stride=(1, 1), padding=(0, 0)):
    """gx (n, in_c, h, w) = conv2d(gy, W): the adjoint of the adjoint is the convolution."""
    return conv2d(gy, W, None, stride, padding)


def conv_transpose2d_grad_weight(x, gy, kh, kw, stride=(1, 1), padding=(0, 0)):
    """gW (in_c, out_c, kh, kw): conv2d's weight gradient with the roles of x and gy swapped."""
    return conv2d_grad_weight(gy, x, kh, kw, stride, padding)


def out_size(h, w, kh, kw, stride, padding, dilation=(1, 1)):
    """(out_h, out_w) of a convolution."""
    return (conv_out_size(h, kh, stride[0], padding[0], dilation[0]),
            conv_out_size(w, kw, stride[1], padding[1], dilation[1]))
