"""Small ops PyTorch users expect: the other dropouts (``F.dropout1d``, ``F.dropout3d``,
``F.alpha_dropout``, ``F.feature_alpha_dropout``), ``F.channel_shuffle`` and ``F.bilinear``.

* ``dropout1d`` and ``dropout3d`` are :func:`~minifcn.functional.dropout2d` on a 4-D view of
  their input, (n, c, 1, L) and (n, c, d*h, w): one draw per image and channel either way, so
  the masks, the generator and the Monte-Carlo use (``training=True`` at test time) are
  dropout2d's.
* Alpha dropout (Klambauer et al. 2017) keeps a SELU net's activations at mean 0 and variance 1:
  a dropped value is set to SELU's negative saturation ``-alpha'`` (not 0), and then every value
  goes through the affine map ``a y + b`` that restores the mean and the variance.
* ``channel_shuffle`` (ShuffleNet's) interleaves the channels of ``groups`` groups: a
  permutation, so its backward is the inverse permutation, a shuffle with ``c / groups`` groups.
* ``bilinear`` is ``y_k = x1^T W_k x2 + b_k``, each output a quadratic form of the two inputs.

>>> import numpy as np
>>> from minifcn import functional as F
>>> F.channel_shuffle(np.arange(6.0).reshape(1, 6, 1, 1), 2).numpy().ravel()   # groups 012, 345
array([0., 3., 1., 4., 2., 5.])
"""
from __future__ import annotations

import math

from . import backend
from .autograd import Function, as_tensor
from .backend import get_array_module
from .functional import _check_float, _check_same_dtype, _flag, check_count, check_dropout_p, dropout2d

__all__ = ["dropout1d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "channel_shuffle",
           "bilinear"]


# --------------------------------------------------------------------- channel dropout, 1-d and 3-d
def _channel_dropout(op, x, p, training, inplace, spatial):
    """x (n, c, *s) or (c, *s), ``len(s) == spatial``, through dropout2d on the view
    (n, c, prod(s[:-1]), s[-1]), and back to x's shape."""
    x = as_tensor(x)
    _flag(op, "inplace", inplace)
    training = _flag(op, "training", training)
    check_dropout_p(op, p)
    if x.ndim not in (spatial + 1, spatial + 2):
        layout = "(n, c, L)" if spatial == 1 else "(n, c, d, h, w)"
        raise ValueError(f"{op}: input must be {spatial + 2}-D {layout} or {spatial + 1}-D without the "
                         f"batch, got shape {tuple(x.shape)}")
    _check_float(op, x)
    if not training or p == 0.0:   # the identity: x itself, as dropout2d's
        return x
    n, c, *s = x.shape if x.ndim == spatial + 2 else (1, *x.shape)
    return dropout2d(x.reshape(n, c, math.prod(s[:-1]), s[-1]), p).reshape(x.shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of signals, as PyTorch's: each whole channel of x (n, c, L), or (c, L),
    zeroed with probability ``p`` (one draw per signal and channel), the rest scaled by
    1/(1-p). It is :func:`~minifcn.functional.dropout2d` on (n, c, 1, L): the same generator
    (:func:`minifcn.manual_seed`), and ``training=True`` at test time for Monte-Carlo sampling.
    ``inplace`` changes nothing.

    >>> import numpy as np, minifcn
    >>> minifcn.manual_seed(0)
    >>> y = dropout1d(np.ones((1, 1000, 3), dtype=np.float32)).numpy()
    >>> np.unique(y).tolist(), bool((y == y[:, :, :1]).all())   # each channel all 0 or all 2
    ([0.0, 2.0], True)
    """
    return _channel_dropout("dropout1d", input, p, training, inplace, spatial=1)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of volumes, as PyTorch's: each whole channel of x (n, c, d, h, w), or
    (c, d, h, w), zeroed with probability ``p`` (one draw per volume and channel), the rest
    scaled by 1/(1-p): :func:`~minifcn.functional.dropout2d` on (n, c, d*h, w), as
    :func:`dropout1d`. ``inplace`` changes nothing.

    >>> import numpy as np
    >>> y = dropout3d(np.ones((2, 50, 2, 3, 4)), p=0.5).numpy()
    >>> np.unique(y).tolist(), bool((y == y[:, :, :1, :1, :1]).all())
    ([0.0, 2.0], True)
    """
    return _channel_dropout("dropout3d", input, p, training, inplace, spatial=3)


# --------------------------------------------------------------------- alpha dropout
# SELU's negative saturation, scale * alpha = -lim_{x -> -inf} selu(x), with PyTorch's digits
SELU_SATURATION = 1.7580993408473766


class AlphaDropout(Function):
    """``a y + b``, ``y`` x with the dropped values set to ``-alpha'`` (SELU's saturation):
    ``a`` on the values kept, ``b`` everywhere, as PyTorch's ``_dropout_impl``. The mask is
    x's shape, or (n, c, 1, ...) with ``feature`` (one draw per channel); the gradient is
    ``a`` where kept, 0 where dropped."""

    def __init__(self, p, feature):
        self.p, self.feature = p, feature

    def forward(self, x):
        xp, p, dtype = get_array_module(x), self.p, x.dtype.type
        shape = x.shape[:2] + (1,) * (x.ndim - 2) if self.feature else x.shape
        keep = (backend.random_uniform(xp, shape, x.dtype) >= p).astype(x.dtype)   # kept with 1 - p
        # a and b make the output's mean 0 and variance 1 for an input of mean 0 and variance 1
        a = 1.0 / math.sqrt((SELU_SATURATION ** 2 * p + 1) * (1 - p))
        self.scale = keep * dtype(a)
        # b as PyTorch rounds it: (keep - 1) * alpha' a + alpha' a p, in x's dtype
        shift = (keep - 1) * dtype(SELU_SATURATION * a) + dtype(SELU_SATURATION * a * p)
        return x * self.scale + shift

    def backward(self, gy):
        return gy * self.scale


def _alpha_dropout(op, x, p, training, inplace, feature):
    x = as_tensor(x)
    _flag(op, "inplace", inplace)
    training = _flag(op, "training", training)
    check_dropout_p(op, p)
    _check_float(op, x)
    if not training or p == 0.0 or x.size == 0:   # the identity, whatever the shape, as PyTorch's
        return x
    if feature and x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions (n, c, *), one draw per "
                         f"channel, got shape {tuple(x.shape)}")
    if p == 1.0:   # PyTorch's: zeros (a would divide by 0), not the saturation
        return x * 0.0
    return AlphaDropout(float(p), feature)(x)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout, for self-normalising (SELU) nets (Klambauer et al. 2017), as PyTorch's:
    each value dropped with probability ``p`` is set to SELU's negative saturation
    ``-1.7581``, then every value goes through ``a x + b``, with ``a`` and ``b`` chosen so that
    an input of mean 0 and variance 1 keeps them. Any shape. ``training`` is False by default,
    as PyTorch's (the identity then); ``p=1`` gives zeros, as there. The draws come from the
    generator :func:`minifcn.manual_seed` seeds. ``inplace`` changes nothing.

    >>> import numpy as np, minifcn
    >>> minifcn.manual_seed(0)
    >>> y = alpha_dropout(np.random.default_rng(1).standard_normal(100000), 0.2, training=True).numpy()
    >>> bool(abs(y.mean()) < 0.01), round(float(y.var()), 2)
    (True, 1.0)
    """
    return _alpha_dropout("alpha_dropout", input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """:func:`alpha_dropout` of whole channels: one draw per image and channel of x
    (n, c, *), each channel dropped to the saturation value or kept, then ``a x + b``
    everywhere, as PyTorch's. ``training`` is False by default, as there.

    >>> import numpy as np
    >>> y = feature_alpha_dropout(np.zeros((1, 500, 2, 2)), 0.5, training=True).numpy()
    >>> bool((y == y[:, :, :1, :1]).all()), len(np.unique(y))      # two values, a channel each
    (True, 2)
    """
    return _alpha_dropout("feature_alpha_dropout", input, p, training, inplace, feature=True)


# --------------------------------------------------------------------- channel shuffle
def _shuffle(x, groups):
    """(n, c, *) -> (n, c, *), channel ``g * (c/groups) + k`` moved to ``k * groups + g``."""
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).swapaxes(1, 2).reshape(x.shape)


class ChannelShuffle(Function):
    """The channel permutation :func:`_shuffle`; its transpose, the backward, is the inverse
    permutation: the shuffle with ``c / groups`` groups."""

    def __init__(self, groups):
        self.groups = groups

    def forward(self, x):
        return _shuffle(x, self.groups)

    def backward(self, gy):
        return _shuffle(gy, gy.shape[1] // self.groups)


def channel_shuffle(input, groups):
    """ShuffleNet's channel shuffle (Zhang et al. 2018), as PyTorch's: the c channels of x
    (n, c, *) taken as ``groups`` groups of ``c / groups`` consecutive ones and interleaved, so
    that a following grouped convolution sees a channel of every group:
    ``(n, groups, c/groups, *) -> (n, c/groups, groups, *)``. Same shape out; x has at least 3
    dimensions and ``groups`` divides c, as there.

    >>> import numpy as np
    >>> channel_shuffle(np.arange(6.0).reshape(1, 6, 1), 3).numpy().ravel()   # groups 01, 23, 45
    array([0., 2., 4., 1., 3., 5.])
    """
    x = as_tensor(input)
    if x.ndim < 3:
        raise ValueError(f"channel_shuffle: input must have at least 3 dimensions (n, c, *), got "
                         f"shape {tuple(x.shape)}")
    groups = check_count("channel_shuffle", "groups", groups)
    if x.shape[1] % groups:
        raise ValueError(f"channel_shuffle: the {x.shape[1]} channels of the input {tuple(x.shape)} "
                         f"are not divisible by groups={groups}")
    return ChannelShuffle(groups)(x)


# --------------------------------------------------------------------- bilinear
class Bilinear(Function):
    """``y[m, k] = sum_ij x1[m, i] W[k, i, j] x2[m, j] (+ b[k])`` on (m, in1), (m, in2),
    written with matrix products: ``u = x2 W^T`` (m, out, in1), then each row summed against
    x1. Backward, from ``P = gy (x) x1`` (m, out*in1): ``gW = P^T x2``, ``gx2 = P W``, and
    ``gx1 = sum_k gy u``."""

    def forward(self, x1, x2, W, b=None):
        out, in1, in2 = W.shape
        self.x1, self.x2, self.W, self.has_bias = x1, x2, W, b is not None
        # u[m, k, i] = sum_j W[k, i, j] x2[m, j]: one (m, in2) @ (in2, out*in1) product
        self.u = (x2 @ W.reshape(out * in1, in2).T).reshape(len(x1), out, in1)
        y = (self.u * x1[:, None, :]).sum(axis=2)
        return y + b if b is not None else y

    def backward(self, gy):
        out, in1, in2 = self.W.shape
        P = (gy[:, :, None] * self.x1[:, None, :]).reshape(len(gy), out * in1)
        gx1 = (gy[:, :, None] * self.u).sum(axis=1)
        gx2 = P @ self.W.reshape(out * in1, in2)
        gW = (P.T @ self.x2).reshape(out, in1, in2)
        return gx1, gx2, gW, (gy.sum(axis=0) if self.has_bias else None)


def bilinear(input1, input2, weight, bias=None):
    """The bilinear map ``y_k = x1^T W_k x2 + b_k``, as PyTorch's: input1 (*, in1), input2
    (*, in2) (the same leading dims), weight (out, in1, in2), bias (out,) or None ->
    (*, out). One dtype for all four.

    >>> import numpy as np
    >>> W = np.zeros((1, 2, 3)); W[0, 1, 2] = 1.0             # y = x1[1] * x2[2]
    >>> bilinear(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0]]), W).numpy()
    array([[10.]])
    """
    x1, x2, W = as_tensor(input1), as_tensor(input2), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    if W.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {tuple(W.shape)}")
    if x1.ndim < 1 or x1.shape[:-1] != x2.shape[:-1] or x1.ndim != x2.ndim:
        raise ValueError(f"bilinear: input1 {tuple(x1.shape)} and input2 {tuple(x2.shape)} must be "
                         f"(*, in1) and (*, in2) with the same leading dims")
    out, in1, in2 = W.shape
    if (x1.shape[-1], x2.shape[-1]) != (in1, in2):
        raise ValueError(f"bilinear: inputs with {x1.shape[-1]} and {x2.shape[-1]} features do not "
                         f"match the weight {tuple(W.shape)} (expected (out, in1, in2) = "
                         f"({out}, {x1.shape[-1]}, {x2.shape[-1]}))")
    if bias is not None and tuple(bias.shape) != (out,):
        raise ValueError(f"bilinear: bias shape {tuple(bias.shape)} should be ({out},) for {out} outputs")
    _check_float("bilinear", x1, "input1")
    _check_same_dtype("bilinear", x1, W, bias)
    if x2.dtype != x1.dtype:
        raise TypeError(f"bilinear: input2 must have input1's dtype {x1.dtype}, got {x2.dtype}")
    lead = x1.shape[:-1]
    m = math.prod(lead)
    args = (x1.reshape(m, in1), x2.reshape(m, in2), W) + ((bias,) if bias is not None else ())
    return Bilinear()(*args).reshape(*lead, out)
