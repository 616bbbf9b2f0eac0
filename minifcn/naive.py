"""Loop-by-loop reference versions of the main ops (convolutions 2-d, 1-d and 3-d, pooling (dilated,
3-d, adaptive max, LP) and unpooling, batch, group, instance and layer norm, local response norm, the
activations, the elementwise math, softmax and the loss, bilinear and bicubic upsampling and interpolation, pixel
shuffle, grid sampling, unfold and fold, embedding, gather, scatter, sort, einsum, cumprod and
index_select; and the boundary F1 score): slow, obvious, and the oracle for the fast ones.

Each function here follows the textbook definition with explicit Python loops over output
pixels, on NumPy arrays (they accept CuPy arrays too, by copying them to the host). The tests
compare the fast kernels of :mod:`minifcn.functional` with these in float64 to 1e-10, and the
lessons import them to show the definition before the fast version.

>>> import numpy as np
>>> x = np.arange(9.0).reshape(1, 1, 3, 3)
>>> conv2d(x, np.ones((1, 1, 2, 2)))[0, 0]       # sums of 2x2 windows
array([[ 8., 12.],
       [20., 24.]])
"""
from __future__ import annotations

import math

import numpy as np

from .backend import to_numpy
from .im2col import _pair, conv_out_size


def conv2d(x, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    """``y[n, o, oy, ox] = b[o] + sum_{c,i,j} W[o, c, i, j] * x_pad[n, g*cg + c, oy*sy + i*dy, ox*sx + j*dx]``
    with ``g = o // (out_c/groups)`` the group of output channel o, ``cg = c_in/groups``.

    x (n, c_in, h, w), W (out_c, c_in/groups, kh, kw) -> y (n, out_c, out_h, out_w).
    """
    x, W = to_numpy(x), to_numpy(W)
    sy, sx = _pair(stride)
    ph, pw = _pair(padding)
    dy, dx = _pair(dilation)
    n, c, h, w = x.shape
    out_c, cg, kh, kw = W.shape
    og = out_c // groups   # output channels per group
    out_h, out_w = conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx)
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((n, out_c, out_h, out_w), dtype=x.dtype)
    for b_ in range(n):
        for o in range(out_c):
            for oy in range(out_h):
                for ox in range(out_w):
                    total = 0.0
                    for ci in range(cg):   # the input channels of o's group
                        c_in = (o // og) * cg + ci
                        for i in range(kh):
                            for j in range(kw):
                                total += W[o, ci, i, j] * xpad[b_, c_in, oy * sy + i * dy, ox * sx + j * dx]
                    y[b_, o, oy, ox] = total + (0.0 if b is None else to_numpy(b)[o])
    return y


def conv_transpose2d(x, W, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input pixel *scatters* a copy of the kernel, its taps ``dilation`` apart, scaled by
    its value, onto the output channels of its group; the output is that full map cut by
    ``padding`` (and ``output_padding`` rows of zeros past its end).

    x (n, in_c, h, w), W (in_c, out_c/groups, kh, kw) -> y (n, out_c, out_h, out_w) with
    ``out_h = (h - 1)*sy - 2*ph + dy*(kh - 1) + output_padding + 1``.
    """
    x, W = to_numpy(x), to_numpy(W)
    sy, sx = _pair(stride)
    ph, pw = _pair(padding)
    oph, opw = _pair(output_padding)
    dy, dx = _pair(dilation)
    n, in_c, h, w = x.shape
    _, og, kh, kw = W.shape   # og output channels per group
    ig, out_c = in_c // groups, og * groups
    full_h, full_w = (h - 1) * sy + dy * (kh - 1) + 1 + oph, (w - 1) * sx + dx * (kw - 1) + 1 + opw
    y = np.zeros((n, out_c, full_h, full_w), dtype=x.dtype)
    for b_ in range(n):
        for ci in range(in_c):
            for iy in range(h):
                for ix in range(w):
                    for o in range(og):   # channel o of ci's group
                        for i in range(kh):
                            for j in range(kw):
                                y[b_, (ci // ig) * og + o, iy * sy + i * dy, ix * sx + j * dx] += \
                                    x[b_, ci, iy, ix] * W[ci, o, i, j]
    y = y[:, :, ph:full_h - ph, pw:full_w - pw]
    if b is not None:
        y = y + to_numpy(b).reshape(1, -1, 1, 1)
    return y


def conv1d(x, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    """``y[n, o, ol] = b[o] + sum_{c,i} W[o, c, i] * x_pad[n, g*cg + c, ol*s + i*d]``, ``g`` the
    group of output channel o: the 1-D definition, on its own (not conv2d on a row).

    x (n, c_in, L), W (out_c, c_in/groups, k) -> y (n, out_c, (L + 2p - d(k - 1) - 1) // s + 1).
    """
    x, W = to_numpy(x), to_numpy(W)
    n, _, length = x.shape
    out_c, cg, k = W.shape
    og = out_c // groups
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out_len = conv_out_size(length, k, stride, padding, dilation)
    y = np.zeros((n, out_c, out_len), dtype=x.dtype)
    for b_ in range(n):
        for o in range(out_c):
            for ol in range(out_len):
                total = sum(W[o, ci, i] * xpad[b_, (o // og) * cg + ci, ol * stride + i * dilation]
                            for ci in range(cg) for i in range(k))
                y[b_, o, ol] = total + (0.0 if b is None else to_numpy(b)[o])
    return y


def conv_transpose1d(x, W, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input value scatters the kernel, its taps ``dilation`` apart, scaled by it, onto the
    output channels of its group; the full signal is then cut by ``padding`` at both ends
    (``output_padding`` zeros past its end).

    x (n, in_c, L), W (in_c, out_c/groups, k) -> y (n, out_c, (L - 1)s - 2p + d(k - 1) + op + 1).
    """
    x, W = to_numpy(x), to_numpy(W)
    n, in_c, length = x.shape
    _, og, k = W.shape
    ig = in_c // groups
    full = (length - 1) * stride + dilation * (k - 1) + 1 + output_padding
    y = np.zeros((n, og * groups, full), dtype=x.dtype)
    for b_ in range(n):
        for ci in range(in_c):
            for il in range(length):
                for o in range(og):
                    for i in range(k):
                        y[b_, (ci // ig) * og + o, il * stride + i * dilation] += x[b_, ci, il] * W[ci, o, i]
    y = y[:, :, padding:full - padding]
    return y if b is None else y + to_numpy(b).reshape(1, -1, 1)


def conv3d(x, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    """``y[n, o, oz, oy, ox] = b[o] + sum_{c,a,i,j} W[o, c, a, i, j] * x_pad[n, g*cg + c, oz*sz + a*dz,
    oy*sy + i*dy, ox*sx + j*dx]``, ``g`` the group of output channel o: the 3-D definition.

    x (n, c_in, d, h, w), W (out_c, c_in/groups, kd, kh, kw) -> y (n, out_c, out_d, out_h, out_w).
    """
    x, W = to_numpy(x), to_numpy(W)
    (sz, sy, sx), (pd, ph, pw), (dz, dy, dx) = (_three(v) for v in (stride, padding, dilation))
    n, _, d, h, w = x.shape
    out_c, cg, kd, kh, kw = W.shape
    og = out_c // groups
    out_d, out_h, out_w = (conv_out_size(*a) for a in zip((d, h, w), (kd, kh, kw), (sz, sy, sx), (pd, ph, pw),
                                                            (dz, dy, dx)))
    xpad = np.pad(x, ((0, 0), (0, 0), (pd, pd), (ph, ph), (pw, pw)))
    y = np.zeros((n, out_c, out_d, out_h, out_w), dtype=x.dtype)
    for b_ in range(n):
        for o in range(out_c):
            for oz in range(out_d):
                for oy in range(out_h):
                    for ox in range(out_w):
                        total = 0.0
                        for ci in range(cg):
                            c_in = (o // og) * cg + ci
                            for a in range(kd):
                                for i in range(kh):
                                    for j in range(kw):
                                        total += W[o, ci, a, i, j] * xpad[b_, c_in, oz * sz + a * dz,
                                                                          oy * sy + i * dy, ox * sx + j * dx]
                        y[b_, o, oz, oy, ox] = total + (0.0 if b is None else to_numpy(b)[o])
    return y


def conv_transpose3d(x, W, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input voxel scatters the kernel, its taps ``dilation`` apart, scaled by it, onto the
    output channels of its group; the full volume is then cut by ``padding`` on both sides of
    each axis (``output_padding`` zeros past its end).

    x (n, in_c, d, h, w), W (in_c, out_c/groups, kd, kh, kw) -> y (n, out_c, out_d, out_h, out_w),
    ``out = (size - 1)s - 2p + dil(k - 1) + output_padding + 1`` on each axis.
    """
    x, W = to_numpy(x), to_numpy(W)
    stride, padding, output_padding, dilation = (_three(v) for v in (stride, padding, output_padding, dilation))
    n, in_c = x.shape[:2]
    sizes = x.shape[2:]
    og, kernel = W.shape[1], W.shape[2:]
    ig = in_c // groups
    full = [(m - 1) * s + dd * (k - 1) + 1 + op for m, s, dd, k, op in zip(sizes, stride, dilation, kernel, output_padding)]
    y = np.zeros((n, og * groups, *full), dtype=x.dtype)
    for b_ in range(n):
        for ci in range(in_c):
            for iz, iy, ix in np.ndindex(*sizes):
                for o in range(og):
                    for a, i, j in np.ndindex(*kernel):
                        y[b_, (ci // ig) * og + o, iz * stride[0] + a * dilation[0], iy * stride[1] + i * dilation[1],
                          ix * stride[2] + j * dilation[2]] += x[b_, ci, iz, iy, ix] * W[ci, o, a, i, j]
    (pd, ph, pw), (fd, fh, fw) = padding, full
    y = y[:, :, pd:fd - pd, ph:fh - ph, pw:fw - pw]
    return y if b is None else y + to_numpy(b).reshape(1, -1, 1, 1, 1)


def _three(v):
    """An int or a triple as a triple."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, dilation=1):
    """Max over each window and the flat index ``h * W + w`` (in the unpadded input) of the winner.

    Window ``(oy, ox)`` holds pixels ``(oy*sy - ph + i*dy, ox*sx - pw + j*dx)``. PyTorch's rule,
    over the window's pixels inside the input in row-major order, from the first: a pixel wins
    when it is greater than the maximum so far or is NaN. So ties go to the first maximum, a
    window of -inf to its first pixel, and one with NaN to its last NaN. Returns (y, indices).
    """
    x = to_numpy(x)
    kh, kw = _pair(kernel_size)
    sy, sx = _pair(stride if stride is not None else kernel_size)
    ph, pw = _pair(padding)
    dy, dx = _pair(dilation)
    n, c, h, w = x.shape
    out_h = conv_out_size(h, kh, sy, ph, dy, ceil_mode=ceil_mode)
    out_w = conv_out_size(w, kw, sx, pw, dx, ceil_mode=ceil_mode)
    y = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    idx = np.empty((n, c, out_h, out_w), dtype=np.int64)
    for b_ in range(n):
        for ci in range(c):
            for oy in range(out_h):
                for ox in range(out_w):
                    best, where = -math.inf, None
                    for i in range(kh):
                        for j in range(kw):
                            iy, ix = oy * sy - ph + i * dy, ox * sx - pw + j * dx
                            if not (0 <= iy < h and 0 <= ix < w):
                                continue
                            v = x[b_, ci, iy, ix]
                            if where is None or v > best or math.isnan(v):
                                best, where = v, iy * w + ix
                    y[b_, ci, oy, ox], idx[b_, ci, oy, ox] = best, where
    return y, idx


def max_unpool2d(x, indices, output_hw):
    """Put each value of ``x`` back at its recorded flat position; zeros elsewhere."""
    x, indices = to_numpy(x), to_numpy(indices)
    n, c, h, w = x.shape
    out_h, out_w = output_hw
    y = np.zeros((n, c, out_h, out_w), dtype=x.dtype)
    for b_ in range(n):
        for ci in range(c):
            for oy in range(h):
                for ox in range(w):
                    k = indices[b_, ci, oy, ox]
                    y[b_, ci, k // out_w, k % out_w] = x[b_, ci, oy, ox]
    return y


def batch_norm(x, mean, var, gamma, beta, eps=1e-5):
    """``gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c]`` pixel by pixel."""
    x = to_numpy(x)
    y = np.empty_like(x)
    for ci in range(x.shape[1]):
        y[:, ci] = gamma[ci] * (x[:, ci] - mean[ci]) / math.sqrt(var[ci] + eps) + beta[ci]
    return y


def batch_stats(x):
    """Per-channel mean and biased variance over (n, h, w), with two explicit passes."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    mean = np.array([sum(x[b_, ci, i, j] for b_ in range(n) for i in range(h) for j in range(w))
                     for ci in range(c)]) / (n * h * w)
    var = np.array([sum((x[b_, ci, i, j] - mean[ci]) ** 2 for b_ in range(n) for i in range(h) for j in range(w))
                    for ci in range(c)]) / (n * h * w)
    return mean, var


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha/size * sum of squares over the channel window) ** beta``, value by value."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    y = np.empty_like(x)
    for b_ in range(n):
        for ci in range(c):
            window = range(max(0, ci - size // 2), min(c, ci + (size - 1) // 2 + 1))
            for i in range(h):
                for j in range(w):
                    s = sum(x[b_, cj, i, j] ** 2 for cj in window)
                    y[b_, ci, i, j] = x[b_, ci, i, j] / (k + alpha / size * s) ** beta
    return y


def leaky_relu(x, negative_slope=0.01):
    """``v if v > 0 else negative_slope * v``, value by value."""
    x = to_numpy(x)
    slope = x.dtype.type(negative_slope)   # the product in x's dtype, as the array op's
    return np.array([v if v > 0 else slope * v for v in x.ravel()], x.dtype).reshape(x.shape)


def _each(x, f):
    """``f`` (on Python floats, in double precision) of every value of ``x``, in x's dtype."""
    x = to_numpy(x)
    return np.array([f(float(v)) for v in x.ravel()]).astype(x.dtype).reshape(x.shape)


def _sigmoid(v):
    """``1 / (1 + exp(-v))``, the exp taken of ``-|v|`` (math.exp raises past 709)."""
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _softplus(v):
    """``log(1 + exp(v))``, as ``v + log(1 + exp(-v))`` above 0."""
    return v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v))


def elu(x, alpha=1.0, scale=1.0, input_scale=1.0):
    """``scale * v`` if ``v > 0`` else ``scale * alpha * (exp(input_scale * v) - 1)``, value by
    value: ELU, CELU (``input_scale = 1 / alpha``) and SELU (Klambauer et al.'s alpha and
    scale)."""
    return _each(x, lambda v: scale * v if v > 0 else scale * alpha * math.expm1(input_scale * v))


def gelu(x, approximate="none"):
    """``v * Phi(v)``, Phi the standard normal CDF ``erfc(-v / sqrt 2) / 2`` (math's erfc), or
    ``v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3))) / 2``, value by value."""
    if approximate == "tanh":
        return _each(x, lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v * v * v))))
    return _each(x, lambda v: v * 0.5 * math.erfc(-v / math.sqrt(2)))


def silu(x):
    """``v * sigmoid(v)``, value by value."""
    return _each(x, lambda v: v * _sigmoid(v))


def mish(x):
    """``v * tanh(log(1 + exp(v)))``, value by value."""
    return _each(x, lambda v: v * math.tanh(_softplus(v)))


def softplus(x, beta=1.0, threshold=20.0):
    """``v`` if ``beta * v > threshold`` else ``log(1 + exp(beta * v)) / beta``, value by value."""
    return _each(x, lambda v: v if beta * v > threshold else _softplus(beta * v) / beta)


def logsigmoid(x):
    """``log(sigmoid(v)) = -log(1 + exp(-v))``, value by value."""
    return _each(x, lambda v: -_softplus(-v))


def softsign(x):
    """``v / (1 + |v|)``, value by value."""
    return _each(x, lambda v: v / (1 + abs(v)))


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """``min_val`` below it, ``max_val`` above it, else ``v``, value by value (ReLU6: 0 and 6)."""
    return _each(x, lambda v: min_val if v < min_val else max_val if v > max_val else v)


def hardsigmoid(x):
    """0 up to -3, 1 from 3 on, ``v / 6 + 1/2`` between, value by value."""
    return _each(x, lambda v: 0.0 if v <= -3 else 1.0 if v >= 3 else v / 6 + 0.5)


def hardswish(x):
    """0 up to -3, ``v`` from 3 on, ``v (v + 3) / 6`` between, value by value."""
    return _each(x, lambda v: 0.0 if v <= -3 else v if v >= 3 else v * (v + 3) / 6)


def prelu(x, weight):
    """``v`` if ``v > 0`` else ``w v``, with ``w`` the weight of v's channel (dim 1; one weight
    for all when it has one value), value by value."""
    x, w = to_numpy(x), to_numpy(weight).ravel()
    y = np.empty_like(x)
    for pos in np.ndindex(x.shape):
        v, c = x[pos], (pos[1] if w.size > 1 else 0)
        y[pos] = v if v > 0 else w[c] * v
    return y


def hardshrink(x, lambd=0.5):
    """``v`` if ``|v| > lambd`` else 0, value by value."""
    return _each(x, lambda v: v if abs(v) > lambd else 0.0)


def softshrink(x, lambd=0.5):
    """``v - lambd`` above ``lambd``, ``v + lambd`` below ``-lambd``, else 0, value by value."""
    return _each(x, lambda v: v - lambd if v > lambd else v + lambd if v < -lambd else 0.0)


def tanhshrink(x):
    """``v - tanh(v)``, value by value."""
    return _each(x, lambda v: v - math.tanh(v))


def threshold(x, threshold, value):
    """``v`` if ``v > threshold`` else ``value``, value by value."""
    return _each(x, lambda v: v if v > threshold else value)


def glu(x, dim=-1):
    """``a * sigmoid(b)``, ``a`` the first half of ``x`` along ``dim`` and ``b`` the second,
    one pair of values at a time."""
    x = np.moveaxis(to_numpy(x), dim, -1)
    half = x.shape[-1] // 2
    y = np.empty(x.shape[:-1] + (half,), x.dtype)
    for pos in np.ndindex(y.shape):
        *lead, k = pos
        y[pos] = x[(*lead, k)] * _sigmoid(float(x[(*lead, half + k)]))
    return np.moveaxis(y, -1, dim)


# --------------------------------------------------------------------- elementwise math (ops_math.py)
def elementwise(f, *arrays):
    """``f`` of the values at each position of ``arrays`` broadcast together, one Python call
    per position (Python ints stay ints, floats are doubles): the loop version of the ops of
    ``ops_math``, with ``f`` one of :data:`MATH`'s scalar definitions. A float64 (or int64)
    array of the broadcast shape.

    >>> elementwise(MATH["atan2"], np.array([[1.0], [0.0]]), np.array([1.0, -1.0]))
    array([[0.78539816, 2.35619449],
           [0.        , 3.14159265]])
    """
    arrays = [to_numpy(a) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    full = [np.broadcast_to(a, shape) for a in arrays]
    values = [f(*(a[pos].item() for a in full)) for pos in np.ndindex(shape)]
    return np.array(values).reshape(shape)


def _trunc_div(a, b):
    """``a / b`` rounded towards 0: for ints exactly (``|a| // |b|`` with the quotient's
    sign), for floats ``trunc`` of the rounded quotient (PyTorch's ``"trunc"``)."""
    if isinstance(a, float) or isinstance(b, float):
        return float(math.trunc(a / b))
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _erfinv(y):
    """The ``x`` with ``erf(x) = y`` by bisection on [0, 30] until the interval stops
    shrinking, compared through ``erfc`` above 1/2 (where ``1 - y`` is exact)."""
    if abs(y) >= 1:
        return math.copysign(math.inf, y) if abs(y) == 1 else math.nan
    t, lo, hi = abs(y), 0.0, 30.0
    while True:
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            return math.copysign(mid, y)
        below = math.erfc(mid) > 1 - t if t > 0.5 else math.erf(mid) < t
        lo, hi = (mid, hi) if below else (lo, mid)


# Each op's definition on Python numbers, for :func:`elementwise`; inside each domain (math
# raises at its edges, where the tests compare with PyTorch instead)
MATH = {
    "log1p": math.log1p, "expm1": math.expm1, "log2": math.log2, "log10": math.log10,
    "exp2": lambda v: 2.0 ** v, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "asin": math.asin, "acos": math.acos, "atan": math.atan, "sinh": math.sinh,
    "cosh": math.cosh, "asinh": math.asinh, "acosh": math.acosh, "atanh": math.atanh,
    "rsqrt": lambda v: 1 / math.sqrt(v), "reciprocal": lambda v: 1 / v, "erf": math.erf,
    "erfc": math.erfc, "erfinv": _erfinv, "logit": lambda v: math.log(v / (1 - v)),
    "neg": lambda v: -v, "square": lambda v: v * v,
    "pow": lambda a, b: a ** b, "atan2": math.atan2, "hypot": math.hypot,
    "logaddexp": lambda a, b: max(a, b) + math.log1p(math.exp(-abs(a - b))),
    "xlogy": lambda a, b: 0.0 if a == 0 else a * math.log(b),
    "remainder": lambda a, b: a % b,                       # Python's %: the sign of b
    "fmod": lambda a, b: (math.fmod(a, b) if isinstance(a, float) or isinstance(b, float)
                          else a - b * _trunc_div(a, b)),             # C's: the sign of a
    "floor_divide": lambda a, b: a // b, "trunc_divide": _trunc_div,
    "div": lambda a, b: a / b, "mul": lambda a, b: a * b,
    "add": lambda a, b, alpha=1: a + alpha * b, "sub": lambda a, b, alpha=1: a - alpha * b,
    "lerp": lambda s, e, w: s + w * (e - s) if abs(w) < 0.5 else e - (e - s) * (1 - w),
    "addcmul": lambda x, a, b, value=1: x + value * a * b,
    "addcdiv": lambda x, a, b, value=1: x + value * a / b,
    "clamp_min": lambda v, low: max(v, low), "clamp_max": lambda v, high: min(v, high),
}


def softmax(x, axis=1):
    """``exp(x_k) / sum_j exp(x_j)`` along ``axis``, one vector at a time."""
    x = np.moveaxis(to_numpy(x), axis, -1)
    out = np.empty_like(x)
    for pos in np.ndindex(x.shape[:-1]):
        v = x[pos]
        e = np.array([math.exp(t - v.max()) for t in v])
        out[pos] = e / e.sum()
    return np.moveaxis(out, -1, axis)


def cross_entropy(logits, target, weight=None, ignore_index=255, reduction="mean", label_smoothing=0.0):
    """Per-pixel ``-w[t] * log softmax(logits)[t]``; ignored pixels count for nothing.

    ``"mean"`` divides by the summed weights of the valid pixels (PyTorch's rule), ``"sum"`` does
    not, ``"none"`` returns the (n, h, w) array of per-pixel losses, 0 where ignored. With
    ``label_smoothing`` eps the target is ``(1 - eps) onehot(t) + eps / C``, each class's share
    weighted by its own weight; ``"mean"`` still divides by the summed ``w[t]``.
    """
    logits, target = to_numpy(logits), to_numpy(target)
    n, C, h, w = logits.shape
    cw = np.ones(C) if weight is None else to_numpy(weight).astype(float)
    per = np.zeros((n, h, w))
    wsum = 0.0
    for b_ in range(n):
        for i in range(h):
            for j in range(w):
                t = int(target[b_, i, j])
                if t == ignore_index:
                    continue
                v = logits[b_, :, i, j]
                m = v.max()
                lse = m + math.log(sum(math.exp(u - m) for u in v))
                # the target distribution, weighted class by class: w[t] alone without smoothing
                aim = [(1 - label_smoothing) * (c == t) + label_smoothing / C for c in range(C)]
                per[b_, i, j] = -sum(aim[c] * cw[c] * (v[c] - lse) for c in range(C))
                wsum += cw[t]
    if reduction == "none":
        return per
    total = float(per.sum())
    if reduction == "sum":
        return total
    return total / wsum if wsum > 0 else float("nan")


def cross_entropy_probs(logits, probs, weight=None, reduction="mean", label_smoothing=0.0):
    """Per-pixel ``-sum_c w[c] q[c] log softmax(logits)[c]`` against class probabilities
    ``probs`` of the logits' shape (n, C, h, w), ``q = (1 - eps) probs + eps / C``. Every pixel
    counts (no ignore index); ``"mean"`` divides by the number of pixels, n * h * w, whatever
    the weights (PyTorch's rule for probabilities), ``"sum"`` does not, ``"none"`` returns the
    (n, h, w) array.
    """
    logits, probs = to_numpy(logits), to_numpy(probs)
    n, C, h, w = logits.shape
    cw = np.ones(C) if weight is None else to_numpy(weight).astype(float)
    per = np.zeros((n, h, w))
    for b_ in range(n):
        for i in range(h):
            for j in range(w):
                v = logits[b_, :, i, j]
                m = v.max()
                lse = m + math.log(sum(math.exp(u - m) for u in v))
                aim = [(1 - label_smoothing) * probs[b_, c, i, j] + label_smoothing / C for c in range(C)]
                per[b_, i, j] = -sum(aim[c] * cw[c] * (v[c] - lse) for c in range(C))
    if reduction == "none":
        return per
    total = float(per.sum())
    if reduction == "sum":
        return total
    return total / (n * h * w) if n * h * w else float("nan")


def nll_loss(logp, target, weight=None, ignore_index=255, reduction="mean"):
    """Per-pixel ``-w[t] * logp[t]`` of log-probabilities (n, C, h, w); ignored pixels count
    for nothing. Reductions as :func:`cross_entropy`'s."""
    logp, target = to_numpy(logp), to_numpy(target)
    n, C, h, w = logp.shape
    cw = np.ones(C) if weight is None else to_numpy(weight).astype(float)
    per = np.zeros((n, h, w))
    wsum = 0.0
    for b_ in range(n):
        for i in range(h):
            for j in range(w):
                t = int(target[b_, i, j])
                if t == ignore_index:
                    continue
                per[b_, i, j] = -cw[t] * logp[b_, t, i, j]
                wsum += cw[t]
    if reduction == "none":
        return per
    total = float(per.sum())
    if reduction == "sum":
        return total
    return total / wsum if wsum > 0 else float("nan")


def distance_sq(feature):
    """Squared Euclidean distance from each pixel to the nearest ``True`` pixel of ``feature``,
    by trying every pair of pixels: ``d2[y, x] = min over (v, u) with feature[v, u] of
    (y - v)^2 + (x - u)^2``, ``inf`` where ``feature`` has no True pixel.

    feature (h, w) bool -> d2 (h, w) float64.
    """
    feature = to_numpy(feature).astype(bool)
    h, w = feature.shape
    pts = [(v, u) for v in range(h) for u in range(w) if feature[v, u]]
    d2 = np.full((h, w), np.inf)
    for y in range(h):
        for x in range(w):
            for v, u in pts:
                d2[y, x] = min(d2[y, x], float((y - v) ** 2 + (x - u) ** 2))
    return d2


def boundary_pixels(mask):
    """The pixels ``(y, x)`` of a boolean (h, w) mask with a 4-neighbour outside it, where
    beyond the frame is outside: a list, row by row."""
    mask = to_numpy(mask).astype(bool)
    h, w = mask.shape
    out = []
    for y in range(h):
        for x in range(w):
            if not mask[y, x]:
                continue
            for v, u in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if not (0 <= v < h and 0 <= u < w) or not mask[v, u]:
                    out.append((y, x))
                    break
    return out


def boundary_f1(pred, target, num_classes, theta=None, ignore_index=255):
    """The boundary F1 score of one image by brute force: every predicted boundary pixel against
    every true one by explicit distance, in float64.

    For each class c of the ground truth (its labelled pixels: ``ignore_index`` is no class, even
    inside [0, C)): masks ``pred == c`` and ``target == c``, ignored pixels outside both; P = matched predicted boundary pixels / predicted boundary pixels
    (0 when there are none), a pixel matched when some true boundary pixel is at distance
    ``< theta``; R the converse; F1 = 2PR / (P + R) (0 when P + R = 0). The image's BF is the
    mean F1 over those classes. theta defaults to ``0.0075 * sqrt(h^2 + w^2)``.

    pred, target (h, w) -> (bf, per-class F1 list, per-class P list, per-class R list), nan for
    classes absent from the truth.
    """
    pred, target = to_numpy(pred), to_numpy(target)
    h, w = target.shape
    if theta is None:
        theta = 0.0075 * math.sqrt(h * h + w * w)
    f1s, ps, rs = [math.nan] * num_classes, [math.nan] * num_classes, [math.nan] * num_classes
    labelled = target != ignore_index   # an ignore_index inside [0, C) is no class either
    for c in range(num_classes):
        true_mask = (target == c) & labelled
        if not true_mask.any():
            continue
        pred_mask = (pred == c) & labelled
        tb, pb = boundary_pixels(true_mask), boundary_pixels(pred_mask)

        def matched(a, b):   # pixels of a with some pixel of b closer than theta
            return sum(1 for (y, x) in a
                       if any(math.sqrt(float((y - v) ** 2 + (x - u) ** 2)) < theta for (v, u) in b))
        p = matched(pb, tb) / len(pb) if pb else 0.0
        r = matched(tb, pb) / len(tb)
        ps[c], rs[c] = p, r
        f1s[c] = 2 * p * r / (p + r) if p + r > 0 else 0.0
    present = [v for v in f1s if not math.isnan(v)]
    bf = sum(present) / len(present) if present else math.nan
    return bf, f1s, ps, rs


def bilinear_upsample(x, factor):
    """Upsample (n, c, h, w) by an integer ``factor`` the way FCN's bilinear-initialised
    transposed convolution does (kernel ``2f - f % 2``, stride ``f``), before any crop, by
    spreading each pixel with the bilinear tent weights ``(1 - |dy|/f)(1 - |dx|/f)``."""
    x = to_numpy(x)
    k = 2 * factor - factor % 2
    center = (k - 1) / 2 if k % 2 == 1 else factor - 0.5
    n, c, h, w = x.shape
    y = np.zeros((n, c, (h - 1) * factor + k, (w - 1) * factor + k), dtype=x.dtype)
    for iy in range(h):
        for ix in range(w):
            for i in range(k):
                for j in range(k):
                    wt = (1 - abs(i - center) / factor) * (1 - abs(j - center) / factor)
                    y[:, :, iy * factor + i, ix * factor + j] += wt * x[:, :, iy, ix]
    return y



def interpolate_bilinear(x, out_h, out_w, align_corners=False):
    """PyTorch's bilinear ``interpolate`` pixel by pixel: output ``(oy, ox)`` reads the input at
    ``src = (o + 0.5) * in / out - 0.5`` (clamped at 0), or ``o * (in - 1) / (out - 1)`` with
    ``align_corners``, and mixes its four neighbours by their distances."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    y = np.zeros((n, c, out_h, out_w), dtype=x.dtype)

    def source(o, n_in, n_out):
        if n_in == n_out:   # PyTorch copies an axis whose size does not change
            return o, o, 0.0
        if align_corners:
            s = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            s = max((o + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = min(int(math.floor(s)), n_in - 1)
        return i0, min(i0 + 1, n_in - 1), s - i0

    for oy in range(out_h):
        y0, y1, fy = source(oy, h, out_h)
        for ox in range(out_w):
            x0, x1, fx = source(ox, w, out_w)
            y[:, :, oy, ox] = ((1 - fy) * ((1 - fx) * x[:, :, y0, x0] + fx * x[:, :, y0, x1])
                               + fy * ((1 - fx) * x[:, :, y1, x0] + fx * x[:, :, y1, x1]))
    return y


def _keys_cubic(d, A=-0.75):
    """Keys' cubic convolution kernel at distance ``d``, the textbook piecewise form."""
    d = abs(d)
    if d <= 1:
        return (A + 2) * d ** 3 - (A + 3) * d ** 2 + 1
    if d < 2:
        return A * d ** 3 - 5 * A * d ** 2 + 8 * A * d - 4 * A
    return 0.0


def interpolate_bicubic(x, out_h, out_w, align_corners=False, scale_factor=None):
    """PyTorch's bicubic ``interpolate`` pixel by pixel: output ``(oy, ox)`` reads the input at
    ``src = (o + 0.5) * s - 0.5`` (not clamped), ``s`` being ``in / out`` or ``1 / scale_factor``
    (a number or an (y, x) pair), or at ``o * (in - 1) / (out - 1)`` with ``align_corners``,
    and sums the 4x4 pixels ``floor(src) - 1 .. floor(src) + 2`` around it, each weighted by
    the cubic kernel of its distance on each axis; a pixel past the border reads the border's."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    sf = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
    y = np.zeros((n, c, out_h, out_w), dtype=x.dtype)

    def taps(o, n_in, n_out, scale):
        if align_corners:
            s = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            s = (o + 0.5) * (1.0 / scale if scale else n_in / n_out) - 0.5
        i0 = math.floor(s)
        return [(min(max(i, 0), n_in - 1), _keys_cubic(s - i)) for i in range(i0 - 1, i0 + 3)]

    for oy in range(out_h):
        for ox in range(out_w):
            for iy, wy in taps(oy, h, out_h, sf[0]):
                for ix, wx in taps(ox, w, out_w, sf[1]):
                    y[:, :, oy, ox] += wy * wx * x[:, :, iy, ix]
    return y


def interpolate_antialias(x, out_h, out_w, mode="bilinear", align_corners=False, scale_factor=None):
    """PyTorch's ``interpolate(..., antialias=True)`` pixel by pixel: along each axis output
    ``o`` is centred at ``c = (o + 0.5) * s`` (``s = in / out``, ``1 / scale_factor`` when
    given, ``(in - 1) / (out - 1)`` with ``align_corners``); it reads the pixels ``i`` from
    ``int(c - support + 0.5)`` (at least 0) to ``int(c + support + 0.5)`` (at most ``in``,
    excluded), ``support`` being 1 (bilinear) or 2 (bicubic) times ``max(s, 1)``, each
    weighted by the triangle or Keys' cubic with A = -0.5 at ``(i + 0.5 - c) / max(s, 1)``,
    the weights divided by their sum; an axis of unchanged size is copied."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    sf = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)

    def kernel(d):
        return max(1 - abs(d), 0.0) if mode == "bilinear" else _keys_cubic(d, -0.5)

    def taps(o, n_in, n_out, scale):
        if n_in == n_out:
            return [(o, 1.0)]
        if align_corners:
            s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            s = 1.0 / scale if scale else n_in / n_out
        support = (1.0 if mode == "bilinear" else 2.0) * max(s, 1.0)
        centre = (o + 0.5) * s
        lo, hi = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), n_in)
        weights = [kernel((i + 0.5 - centre) / max(s, 1.0)) for i in range(lo, hi)]
        total = sum(weights)
        return [(i, wt / total) for i, wt in zip(range(lo, hi), weights)]

    y = np.zeros((n, c, out_h, out_w), dtype=x.dtype)
    for oy in range(out_h):
        for ox in range(out_w):
            for iy, wy in taps(oy, h, out_h, sf[0]):
                for ix, wx in taps(ox, w, out_w, sf[1]):
                    y[:, :, oy, ox] += wy * wx * x[:, :, iy, ix]
    return y


def interpolate_nearest(x, out_h, out_w, scale_factor=None):
    """PyTorch's nearest ``interpolate`` pixel by pixel: output ``(oy, ox)`` copies input
    ``(floor(oy * sy), floor(ox * sx))`` (at most the last row and column), ``s`` being
    ``in / out``, or ``1 / scale_factor`` (a number or an (y, x) pair) when one is given, both
    ``s`` and the product in float32, as PyTorch's ``nearest_idx``; an axis of the input's size
    is copied, one of twice its size reads ``o // 2``."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    sf = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)

    def source(o, n_in, n_out, scale):
        if n_out == n_in:
            return o
        if n_out == 2 * n_in:
            return o // 2
        s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
        return min(int(math.floor(np.float32(o) * s)), n_in - 1)

    y = np.zeros((n, c, out_h, out_w), dtype=x.dtype)
    for oy in range(out_h):
        iy = source(oy, h, out_h, sf[0])
        for ox in range(out_w):
            y[:, :, oy, ox] = x[:, :, iy, source(ox, w, out_w, sf[1])]
    return y


def pixel_shuffle(x, r):
    """PyTorch's ``pixel_shuffle`` value by value: ``y[..., k, oy, ox]`` is
    ``x[..., k*r*r + (oy % r)*r + (ox % r), oy // r, ox // r]``: each group of ``r*r`` channels
    becomes one channel ``r`` times as tall and wide. (*, c*r*r, h, w) -> (*, c, h*r, w*r)."""
    x = to_numpy(x)
    *lead, crr, h, w = x.shape
    c = crr // (r * r)
    y = np.empty((*lead, c, h * r, w * r), dtype=x.dtype)
    for k in range(c):
        for oy in range(h * r):
            for ox in range(w * r):
                y[..., k, oy, ox] = x[..., k * r * r + (oy % r) * r + ox % r, oy // r, ox // r]
    return y


def pixel_unshuffle(x, r):
    """PyTorch's ``pixel_unshuffle`` value by value, :func:`pixel_shuffle` undone:
    ``y[..., k*r*r + i*r + j, iy, ix]`` is ``x[..., k, iy*r + i, ix*r + j]``.
    (*, c, h*r, w*r) -> (*, c*r*r, h, w)."""
    x = to_numpy(x)
    *lead, c, hr, wr = x.shape
    h, w = hr // r, wr // r
    y = np.empty((*lead, c * r * r, h, w), dtype=x.dtype)
    for k in range(c):
        for i in range(r):
            for j in range(r):
                for iy in range(h):
                    for ix in range(w):
                        y[..., k * r * r + i * r + j, iy, ix] = x[..., k, iy * r + i, ix * r + j]
    return y


def channel_shuffle(x, groups):
    """PyTorch's ``channel_shuffle`` channel by channel: output channel ``k * groups + g`` is
    input channel ``g * (c / groups) + k``. (n, c, *) -> (n, c, *)."""
    x = to_numpy(x)
    c = x.shape[1]
    per_group = c // groups
    y = np.empty_like(x)
    for g in range(groups):
        for k in range(per_group):
            y[:, k * groups + g] = x[:, g * per_group + k]
    return y


def bilinear(x1, x2, W, b=None):
    """``y[m, k] = sum_i sum_j x1[m, i] W[k, i, j] x2[m, j] + b[k]`` term by term, on x1
    (m, in1), x2 (m, in2), W (out, in1, in2)."""
    x1, x2, W = to_numpy(x1), to_numpy(x2), to_numpy(W)
    out, in1, in2 = W.shape
    y = np.zeros((len(x1), out), x1.dtype)
    for m in range(len(x1)):
        for k in range(out):
            for i in range(in1):
                for j in range(in2):
                    y[m, k] += x1[m, i] * W[k, i, j] * x2[m, j]
            if b is not None:
                y[m, k] += to_numpy(b)[k]
    return y


def affine_grid(theta, h, w, align_corners=False):
    """PyTorch's ``affine_grid`` pixel by pixel: ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)``,
    ``x_j = -1 + (2j + 1) / w`` (the pixels' centres, -1 and 1 the image's edges), or
    ``-1 + 2j / (w - 1)`` with ``align_corners`` (the corner pixels' centres); 0 for one pixel."""
    theta = to_numpy(theta)

    def centre(i, size):
        if size == 1:
            return 0.0
        return -1 + 2 * i / (size - 1) if align_corners else -1 + (2 * i + 1) / size

    grid = np.empty((theta.shape[0], h, w, 2), dtype=theta.dtype)
    for b_ in range(theta.shape[0]):
        for i in range(h):
            for j in range(w):
                grid[b_, i, j] = theta[b_] @ np.array([centre(j, w), centre(i, h), 1.0])
    return grid


def grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    """PyTorch's ``grid_sample`` point by point: ``grid[n, i, j] = (gx, gy)`` in [-1, 1] is the
    pixel position ``((g + 1) * size - 1) / 2`` (``(g + 1) / 2 * (size - 1)`` with
    ``align_corners``); ``"border"`` clips it to [0, size - 1], ``"reflection"`` mirrors it at
    the edges (``-0.5`` and ``size - 0.5``, or 0 and ``size - 1``) until it is between them,
    then clips. Bilinear mixes the four pixels around it, nearest takes the one rounded to
    (halves to even); a pixel outside the image reads 0. Bicubic takes the position
    unclipped and sums the 4x4 pixels ``floor(p) - 1 .. floor(p) + 2`` around it, weighted by
    the cubic kernel (A = -0.75) of their distances; each of these pixels' own coordinates
    goes through the padding (mirrored, clipped, or read as 0 outside)."""
    x, grid = to_numpy(x), to_numpy(grid)
    n, c, h, w = x.shape
    out_h, out_w = grid.shape[1:3]

    def unnormalize(g, size):
        return (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2

    def padded(p, size):
        if padding_mode == "reflection":
            lo, hi = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
            if lo == hi:
                return 0.0
            while p < lo or p > hi:   # one mirror at a time
                p = 2 * lo - p if p < lo else 2 * hi - p
        if padding_mode in ("border", "reflection"):
            p = min(max(p, 0.0), size - 1.0)
        return p

    def position(g, size):
        return padded(unnormalize(g, size), size)

    def pixel(b_, iy, ix):
        return x[b_, :, iy, ix] if 0 <= iy < h and 0 <= ix < w else np.zeros(c, dtype=x.dtype)

    y = np.zeros((n, c, out_h, out_w), dtype=x.dtype)
    for b_ in range(n):
        for i in range(out_h):
            for j in range(out_w):
                if mode == "bicubic":
                    px, py = unnormalize(grid[b_, i, j, 0], w), unnormalize(grid[b_, i, j, 1], h)
                    x0, y0 = math.floor(px), math.floor(py)
                    for ty in range(y0 - 1, y0 + 3):
                        for tx in range(x0 - 1, x0 + 3):   # the tap's own coordinates padded
                            y[b_, :, i, j] += (_keys_cubic(py - ty) * _keys_cubic(px - tx)
                                               * pixel(b_, int(padded(ty, h)), int(padded(tx, w))))
                    continue
                px, py = position(grid[b_, i, j, 0], w), position(grid[b_, i, j, 1], h)
                if mode == "nearest":
                    y[b_, :, i, j] = pixel(b_, int(round(py)), int(round(px)))   # round: halves to even
                    continue
                x0, y0 = math.floor(px), math.floor(py)
                fx, fy = px - x0, py - y0
                y[b_, :, i, j] = ((1 - fy) * ((1 - fx) * pixel(b_, y0, x0) + fx * pixel(b_, y0, x0 + 1))
                                  + fy * ((1 - fx) * pixel(b_, y0 + 1, x0) + fx * pixel(b_, y0 + 1, x0 + 1)))
    return y


def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad`` value by value: ``pad`` (left, right[, top, bottom]); output pixel
    ``(oy, ox)`` reads input ``(oy - top, ox - left)`` and, where that falls outside the input,
    ``value`` (constant), the mirror position without the edge (reflect), the nearest edge
    (replicate) or the position modulo the size (circular). Negative amounts crop: for
    circular, the size it wraps by is the cropped one, as PyTorch's."""
    x = to_numpy(x)
    left, right, top, bottom = tuple(pad) + (0, 0) * (len(pad) == 2)
    n, c, h, w = x.shape
    out_h, out_w = h + top + bottom, w + left + right

    def source(o, before, after, size):
        """The input index output ``o`` reads along one axis, or None for the constant."""
        i = o - before
        if 0 <= i < size:
            return i
        if mode == "constant":
            return None
        if mode == "reflect":
            return -i if i < 0 else 2 * (size - 1) - i
        if mode == "replicate":
            return 0 if i < 0 else size - 1
        lo, hi = max(-before, 0), size - max(-after, 0)   # circular: the cropped range
        return lo + (i - lo) % (hi - lo)

    y = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    for oy in range(out_h):
        for ox in range(out_w):
            iy, ix = source(oy, top, bottom, h), source(ox, left, right, w)
            y[:, :, oy, ox] = value if iy is None or ix is None else x[:, :, iy, ix]
    return y


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """PyTorch's average pooling window by window: the sum of the window's pixels inside the
    input, over the window's size clipped to the padded input ``[-p, size + p)``
    (``count_include_pad``) or to the input, or over ``divisor_override``."""
    x = to_numpy(x)
    kh, kw = _pair(kernel_size)
    sy, sx = _pair(stride if stride is not None else kernel_size)
    ph, pw = _pair(padding)
    n, c, h, w = x.shape
    out_h = conv_out_size(h, kh, sy, ph, ceil_mode=ceil_mode)
    out_w = conv_out_size(w, kw, sx, pw, ceil_mode=ceil_mode)
    y = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    for oy in range(out_h):
        for ox in range(out_w):
            y0, x0 = oy * sy - ph, ox * sx - pw
            y1, x1 = min(y0 + kh, h + ph), min(x0 + kw, w + pw)
            count = (y1 - y0) * (x1 - x0)
            y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
            if not count_include_pad:
                count = (y1 - y0) * (x1 - x0)
            if divisor_override is not None:
                count = divisor_override
            for b_ in range(n):
                for ci in range(c):
                    total = 0.0
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            total += x[b_, ci, iy, ix]
                    y[b_, ci, oy, ox] = total / count
    return y


def max_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, dilation=1):
    """Max over each window of (n, c, L), its taps ``l = ol*s - p + i*d``, and the position
    ``l`` of its winner (PyTorch's rule, as :func:`max_pool2d`'s: a value wins when greater
    than the maximum so far or NaN). Returns (y, indices)."""
    x = to_numpy(x)
    stride = kernel_size if stride is None else stride
    n, c, length = x.shape
    out_len = conv_out_size(length, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    y = np.empty((n, c, out_len), dtype=x.dtype)
    idx = np.empty((n, c, out_len), dtype=np.int64)
    for b_ in range(n):
        for ci in range(c):
            for ol in range(out_len):
                best, where = -math.inf, None
                for il in range(ol * stride - padding, ol * stride - padding + dilation * (kernel_size - 1) + 1,
                                dilation):
                    if 0 <= il < length and (where is None or x[b_, ci, il] > best or math.isnan(x[b_, ci, il])):
                        best, where = x[b_, ci, il], il
                y[b_, ci, ol], idx[b_, ci, ol] = best, where
    return y, idx


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """PyTorch's 1-D average pooling window by window: the sum of the window's values inside the
    input over the window's length clipped to ``[-p, L + p)`` (``count_include_pad``) or to
    the input."""
    x = to_numpy(x)
    stride = kernel_size if stride is None else stride
    n, c, length = x.shape
    out_len = conv_out_size(length, kernel_size, stride, padding, ceil_mode=ceil_mode)
    y = np.empty((n, c, out_len), dtype=x.dtype)
    for ol in range(out_len):
        start = ol * stride - padding
        end = min(start + kernel_size, length + padding)
        lo, hi = max(start, 0), min(end, length)
        count = end - start if count_include_pad else hi - lo
        y[:, :, ol] = [[sum(x[b_, ci, il] for il in range(lo, hi)) / count for ci in range(c)]
                       for b_ in range(n)]
    return y


def max_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, dilation=1):
    """Max over each window of (n, c, d, h, w), its voxels ``(oz*sz - pd + a*dz, ...)``, and the
    flat index ``(z * H + y) * W + x`` of its winner, PyTorch's rule as :func:`max_pool2d`'s:
    over the window's voxels inside the input in (depth, row, column) order, a voxel wins when
    greater than the maximum so far or NaN. Returns (y, indices)."""
    x = to_numpy(x)
    kernel = _three(kernel_size)
    stride = kernel if stride is None else _three(stride)
    padding, dilation = _three(padding), _three(dilation)
    n, c, d, h, w = x.shape
    out = [conv_out_size(*a, ceil_mode=ceil_mode) for a in zip((d, h, w), kernel, stride, padding, dilation)]
    y = np.empty((n, c, *out), dtype=x.dtype)
    idx = np.empty((n, c, *out), dtype=np.int64)
    for b_ in range(n):
        for ci in range(c):
            for o in np.ndindex(*out):
                best, where = -math.inf, None
                for tap in np.ndindex(*kernel):
                    iz, iy, ix = (oo * s - p + t * dd for oo, s, p, t, dd in zip(o, stride, padding, tap, dilation))
                    if not (0 <= iz < d and 0 <= iy < h and 0 <= ix < w):
                        continue
                    v = x[b_, ci, iz, iy, ix]
                    if where is None or v > best or math.isnan(v):
                        best, where = v, (iz * h + iy) * w + ix
                y[(b_, ci) + o], idx[(b_, ci) + o] = best, where
    return y, idx


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """PyTorch's 3-D average pooling window by window: the sum of the window's voxels inside the
    input over the window's size clipped to the padded input ``[-p, size + p)`` on each axis
    (``count_include_pad``) or to the input, or over ``divisor_override``."""
    x = to_numpy(x)
    kernel = _three(kernel_size)
    stride = kernel if stride is None else _three(stride)
    padding = _three(padding)
    n, c = x.shape[:2]
    sizes = x.shape[2:]
    out = [conv_out_size(*a, ceil_mode=ceil_mode) for a in zip(sizes, kernel, stride, padding)]
    y = np.empty((n, c, *out), dtype=x.dtype)
    for o in np.ndindex(*out):
        lo = [oo * s - p for oo, s, p in zip(o, stride, padding)]
        hi = [min(a + k, m + p) for a, k, m, p in zip(lo, kernel, sizes, padding)]
        count = math.prod(b - a for a, b in zip(lo, hi))
        lo, hi = [max(a, 0) for a in lo], [min(b, m) for b, m in zip(hi, sizes)]
        if not count_include_pad:
            count = math.prod(b - a for a, b in zip(lo, hi))
        if divisor_override is not None:
            count = divisor_override
        for b_ in range(n):
            for ci in range(c):
                total = 0.0
                for iz, iy, ix in np.ndindex(*(b - a for a, b in zip(lo, hi))):
                    total += x[b_, ci, lo[0] + iz, lo[1] + iy, lo[2] + ix]
                y[(b_, ci) + o] = total / count
    return y


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """PyTorch's power-average pooling window by window: ``(sum x**p * kh*kw / count)**(1/p)``
    over the window's pixels inside the input, ``count`` their number (so it is the plain
    ``(sum x**p)**(1/p)`` except for a ceil-mode window hanging past the edge, scaled up as
    PyTorch's average-pooling formula scales it). No padding."""
    x = to_numpy(x)
    kh, kw = _pair(kernel_size)
    sy, sx = _pair(stride if stride is not None else kernel_size)
    n, c, h, w = x.shape
    out_h = conv_out_size(h, kh, sy, 0, ceil_mode=ceil_mode)
    out_w = conv_out_size(w, kw, sx, 0, ceil_mode=ceil_mode)
    y = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    for b_ in range(n):
        for ci in range(c):
            for oy in range(out_h):
                for ox in range(out_w):
                    rows = range(oy * sy, min(oy * sy + kh, h))
                    cols = range(ox * sx, min(ox * sx + kw, w))
                    # a negative value or sum to a fractional power: NaN, as PyTorch's
                    with np.errstate(invalid="ignore"):
                        total = sum(x[b_, ci, iy, ix] ** norm_type for iy in rows for ix in cols)
                        y[b_, ci, oy, ox] = (total * (kh * kw) / (len(rows) * len(cols))) ** (1.0 / norm_type)
    return y


def _adaptive_window(o, size, out):
    """PyTorch's adaptive window of output ``o`` of ``out`` over ``size`` inputs:
    ``floor(o*size/out)`` to ``ceil((o+1)*size/out)`` (excluded)."""
    return math.floor(o * size / out), math.ceil((o + 1) * size / out)


def adaptive_avg_pool2d(x, out_h, out_w):
    """PyTorch's adaptive average pooling: output ``(oy, ox)`` is the mean of input rows
    ``floor(oy*h/out_h)`` to ``ceil((oy+1)*h/out_h) - 1`` and the columns likewise."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    y = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    for oy in range(out_h):
        y0, y1 = _adaptive_window(oy, h, out_h)
        for ox in range(out_w):
            x0, x1 = _adaptive_window(ox, w, out_w)
            for b_ in range(n):
                for ci in range(c):
                    y[b_, ci, oy, ox] = sum(x[b_, ci, iy, ix] for iy in range(y0, y1)
                                            for ix in range(x0, x1)) / ((y1 - y0) * (x1 - x0))
    return y


def adaptive_max_pool2d(x, out_h, out_w):
    """PyTorch's adaptive max pooling: output ``(oy, ox)`` is the maximum over input rows
    ``floor(oy*h/out_h)`` to ``ceil((oy+1)*h/out_h) - 1`` and the columns likewise, with the
    flat index ``iy * w + ix`` of its winner by :func:`max_pool2d`'s rule (the first maximum in
    row-major order; a NaN, the last NaN). Returns (y, indices)."""
    x = to_numpy(x)
    n, c, h, w = x.shape
    y = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    idx = np.empty((n, c, out_h, out_w), dtype=np.int64)
    for oy in range(out_h):
        y0, y1 = _adaptive_window(oy, h, out_h)
        for ox in range(out_w):
            x0, x1 = _adaptive_window(ox, w, out_w)
            for b_ in range(n):
                for ci in range(c):
                    best, where = -math.inf, y0 * w + x0
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            v = x[b_, ci, iy, ix]
                            if v > best or math.isnan(v):
                                best, where = v, iy * w + ix
                    y[b_, ci, oy, ox], idx[b_, ci, oy, ox] = best, where
    return y, idx


def _normalise(values, eps):
    """A list of numbers -> (mean, biased variance, the values normalised), in two explicit passes."""
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return mean, var, [(v - mean) / math.sqrt(var + eps) for v in values]


def group_norm(x, num_groups, gamma=None, beta=None, eps=1e-5):
    """Image by image, group by group: the values of channels ``g*c/G .. (g+1)*c/G - 1`` at every
    position, normalised together, then ``gamma[c] * v + beta[c]`` (None: 1 and 0). x (n, c, *).
    Instance norm is this with ``num_groups = c``."""
    x = to_numpy(x)
    n, c = x.shape[:2]
    cg = c // num_groups
    y = np.empty_like(x)
    for b_ in range(n):
        for g in range(num_groups):
            channels = range(g * cg, (g + 1) * cg)
            where = [(ci, pos) for ci in channels for pos in np.ndindex(*x.shape[2:])]
            _, _, normed = _normalise([x[(b_, ci) + pos] for ci, pos in where], eps)
            for (ci, pos), v in zip(where, normed):
                scale, shift = 1.0 if gamma is None else gamma[ci], 0.0 if beta is None else beta[ci]
                y[(b_, ci) + pos] = scale * v + shift
    return y


def instance_stats(x):
    """Per image and channel of x (n, c, *): the mean and the biased variance over the positions,
    each (n, c), with two explicit passes."""
    x = to_numpy(x)
    n, c = x.shape[:2]
    stats = [[_normalise([x[(b_, ci) + pos] for pos in np.ndindex(*x.shape[2:])], 0.0)[:2]
              for ci in range(c)] for b_ in range(n)]
    return np.array([[s[0] for s in row] for row in stats]), np.array([[s[1] for s in row] for row in stats])


def layer_norm(x, normalized_shape, gamma=None, beta=None, eps=1e-5):
    """Position by leading position: the ``prod(normalized_shape)`` trailing values normalised
    together, then ``gamma[e] * v + beta[e]`` element by element (None: 1 and 0)."""
    x = to_numpy(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    y = np.empty_like(x)
    for lead in np.ndindex(*x.shape[:x.ndim - len(shape)]):
        elements = list(np.ndindex(*shape))
        _, _, normed = _normalise([x[lead + e] for e in elements], eps)
        for e, v in zip(elements, normed):
            y[lead + e] = (1.0 if gamma is None else gamma[e]) * v + (0.0 if beta is None else beta[e])
    return y


def gather(x, dim, index):
    """PyTorch's gather element by element: ``out[p] = x[p with p[dim] replaced by index[p]]``
    for every position ``p`` of ``index``."""
    x, index = to_numpy(x), to_numpy(index)
    out = np.empty(index.shape, dtype=x.dtype)
    for p in np.ndindex(*index.shape):
        q = list(p)
        q[dim] = index[p]
        out[p] = x[tuple(q)]
    return out


def scatter(x, dim, index, src, add=False):
    """PyTorch's scatter (``add``: scatter_add) element by element: a copy of ``x`` with
    ``src[p]`` written (added) at ``p with p[dim] replaced by index[p]``, for every position
    ``p`` of ``index`` in row-major order, so of two writes to one place the later stays.
    ``src`` may be one number."""
    x, index = to_numpy(x), to_numpy(index)
    out = x.copy()
    for p in np.ndindex(*index.shape):
        q = list(p)
        q[dim] = index[p]
        v = src if np.isscalar(src) else to_numpy(src)[p]
        out[tuple(q)] = out[tuple(q)] + v if add else v
    return out


def sort(x, dim=-1, descending=False):
    """``(values, indices)`` of each line of ``x`` along ``dim`` sorted by Python's stable
    ``sorted`` (``reverse=True`` keeps equal values in their order too), NaN the largest."""
    x = to_numpy(x)
    indices = np.empty(x.shape, dtype=np.int64)
    moved, moved_idx = np.moveaxis(x, dim, -1), np.moveaxis(indices, dim, -1)   # views
    for p in np.ndindex(*moved.shape[:-1]):
        line = moved[p]
        key = [(math.isnan(v), 0.0 if math.isnan(v) else v) for v in line.tolist()]
        moved_idx[p] = sorted(range(len(line)), key=lambda i: key[i], reverse=descending)
    return np.take_along_axis(x, indices, axis=dim), indices


def unique_consecutive(x, dim=None):
    """PyTorch's ``unique_consecutive`` slice by slice: walk along ``dim`` (the flattened
    values without it) and start a new run wherever a slice is not equal to the one before
    (a NaN is equal to nothing). Returns (values, inverse, counts)."""
    x = to_numpy(x)
    items = list(x.reshape(-1)) if dim is None else [np.take(x, i, axis=dim) for i in range(x.shape[dim])]
    kept, inverse, counts = [], [], []
    for i, item in enumerate(items):
        if i == 0 or not np.array_equal(item, items[i - 1]):   # array_equal: NaN != NaN
            kept.append(item)
            counts.append(0)
        inverse.append(len(kept) - 1)
        counts[-1] += 1
    if dim is None:
        values = np.array(kept, dtype=x.dtype)
    else:
        rest = tuple(v for d, v in enumerate(x.shape) if d != dim % x.ndim)
        values = np.stack(kept, axis=dim) if kept else np.zeros((0,) + rest, x.dtype)
    inverse = np.array(inverse, dtype=np.int64)
    return values, inverse.reshape(x.shape) if dim is None else inverse, np.array(counts, dtype=np.int64)


def topk(x, k, dim=-1, largest=True):
    """The first ``k`` of :func:`sort` along ``dim``, largest first (or smallest)."""
    values, indices = sort(x, dim, descending=largest)
    first = [slice(None)] * values.ndim
    first[dim] = slice(0, k)
    return values[tuple(first)], indices[tuple(first)]


def _lines(x, dim):
    """Each line of ``x`` along ``dim``, as (its place among the other axes, a Python list)."""
    moved = np.moveaxis(x, dim, -1)
    for p in np.ndindex(*moved.shape[:-1]):
        yield p, moved[p].tolist()


def kthvalue(x, k, dim=-1):
    """``(values, indices)``: the ``k``-th (from 1) of each line of ``x`` by Python's stable
    ``sorted``, NaN the largest; equal values in their order along the line."""
    x = to_numpy(x)
    values, indices = np.empty(np.delete(x.shape, dim % x.ndim)), np.empty(np.delete(x.shape, dim % x.ndim), np.int64)
    for p, line in _lines(x, dim):
        order = sorted(range(len(line)), key=lambda i: (math.isnan(line[i]), 0.0 if math.isnan(line[i]) else line[i]))
        indices[p] = order[k - 1]
        values[p] = line[order[k - 1]]
    return values, indices


def median(x, dim=-1, ignore_nan=False):
    """``(values, indices)`` of the lower median of each line: the ``(m + 1) // 2``-th of its
    ``m`` numbers by :func:`kthvalue`'s order; a NaN in the line (``ignore_nan``: nothing
    but NaN) gives its first NaN."""
    x = to_numpy(x)
    values, indices = np.empty(np.delete(x.shape, dim % x.ndim)), np.empty(np.delete(x.shape, dim % x.ndim), np.int64)
    for p, line in _lines(x, dim):
        numbers = [i for i, v in enumerate(line) if not math.isnan(v)]
        nans = [i for i, v in enumerate(line) if math.isnan(v)]
        if (nans and not ignore_nan) or not numbers:
            indices[p] = nans[0]
        else:
            ranked = sorted(numbers, key=lambda i: line[i])
            indices[p] = ranked[(len(ranked) - 1) // 2]
        values[p] = line[indices[p]]
    return values, indices


def mode(x, dim=-1):
    """``(values, indices)``: the value of each line counted most often (NaNs one value),
    the smallest of those that tie, at the last place it comes."""
    x = to_numpy(x)
    values, indices = np.empty(np.delete(x.shape, dim % x.ndim)), np.empty(np.delete(x.shape, dim % x.ndim), np.int64)
    for p, line in _lines(x, dim):
        key = ["nan" if math.isnan(v) else v for v in line]
        counts = {k: key.count(k) for k in key}
        best = min(counts, key=lambda k: (-counts[k], math.inf if k == "nan" else k))
        indices[p] = max(i for i, k in enumerate(key) if k == best)
        values[p] = line[indices[p]]
    return values, indices


def cummax(x, dim, smallest=False):
    """``(values, indices)``: the largest (``smallest``: least) value so far along ``dim`` and
    where; a tie moves the index on, and so does every NaN (the value then stays NaN)."""
    x = to_numpy(x)
    values, indices = np.empty(x.shape), np.empty(x.shape, np.int64)
    mv, mi = np.moveaxis(values, dim, -1), np.moveaxis(indices, dim, -1)   # views
    for p, line in _lines(x, dim):
        best = 0
        for i, v in enumerate(line):
            b = line[best]
            if math.isnan(v) or (not math.isnan(b) and (v <= b if smallest else v >= b)):
                best = i
            mv[p + (i,)], mi[p + (i,)] = line[best], best
    return values, indices


def quantile(values, q, interpolation="linear"):
    """The ``q``-quantile of a list of numbers (NaN: NaN), by its definition: the rank
    ``q (n - 1)`` in the sorted list, between the values below and above it."""
    line = sorted(values)
    if any(math.isnan(v) for v in values):
        return math.nan
    rank = q * (len(line) - 1)
    lo, hi = math.floor(rank), math.ceil(rank)
    if interpolation == "lower":
        return line[lo]
    if interpolation == "higher":
        return line[hi]
    if interpolation == "nearest":
        return line[round(rank)]   # Python's round: halves to even
    w = 0.5 if interpolation == "midpoint" else rank - lo
    return line[lo] + w * (line[hi] - line[lo])


def searchsorted(sequence, value, right=False):
    """The first index ``i`` of a sorted list with ``sequence[i] >= value`` (``right``:
    ``> value``), by walking it; ``len(sequence)`` if none."""
    for i, s in enumerate(sequence):
        if (s > value) if right else (s >= value):
            return i
    return len(sequence)


def histc(values, bins, lo, hi):
    """Counts of ``values`` in ``bins`` equal bins over ``[lo, hi]``, by comparing each value
    with the bin edges ``lo + k (hi - lo) / bins``; ``hi`` in the last bin."""
    counts = [0] * bins
    for v in values:
        if lo <= v <= hi:
            k = next((k for k in range(bins) if v < lo + (k + 1) * (hi - lo) / bins), bins - 1)
            counts[k] += 1
    return counts


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """PyTorch's ``F.unfold`` block by block: column ``l = oy*out_w + ox`` holds the block under
    the kernel at output ``(oy, ox)``, its row ``(ci*kh + i)*kw + j`` the value
    ``x_pad[n, ci, oy*sy + i*dy, ox*sx + j*dx]`` (zero on the padding).

    x (n, c, h, w) -> (n, c*kh*kw, out_h*out_w).
    """
    x = to_numpy(x)
    kh, kw = _pair(kernel_size)
    dy, dx = _pair(dilation)
    ph, pw = _pair(padding)
    sy, sx = _pair(stride)
    n, c, h, w = x.shape
    out_h, out_w = conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx)
    col = np.zeros((n, c * kh * kw, out_h * out_w), dtype=x.dtype)
    for oy in range(out_h):
        for ox in range(out_w):
            for ci in range(c):
                for i in range(kh):
                    for j in range(kw):
                        iy, ix = oy * sy + i * dy - ph, ox * sx + j * dx - pw
                        if 0 <= iy < h and 0 <= ix < w:
                            col[:, (ci * kh + i) * kw + j, oy * out_w + ox] = x[:, ci, iy, ix]
    return col


def fold(col, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """PyTorch's ``F.fold`` block by block: every entry of :func:`unfold`'s layout is added back
    onto the pixel it was read from, values that fell on the padding dropped.

    col (n, c*kh*kw, L) -> (n, c, h, w), ``(h, w) = output_size``.
    """
    col = to_numpy(col)
    h, w = _pair(output_size)
    kh, kw = _pair(kernel_size)
    dy, dx = _pair(dilation)
    ph, pw = _pair(padding)
    sy, sx = _pair(stride)
    n, depth, _ = col.shape
    c = depth // (kh * kw)
    out_h, out_w = conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx)
    y = np.zeros((n, c, h, w), dtype=col.dtype)
    for oy in range(out_h):
        for ox in range(out_w):
            for ci in range(c):
                for i in range(kh):
                    for j in range(kw):
                        iy, ix = oy * sy + i * dy - ph, ox * sx + j * dx - pw
                        if 0 <= iy < h and 0 <= ix < w:
                            y[:, ci, iy, ix] += col[:, (ci * kh + i) * kw + j, oy * out_w + ox]
    return y


def einsum(equation, *operands):
    """Einstein summation by one loop over every assignment of values to the letters:
    ``out[output letters] += product of operand k at its letters``. A ``...`` is written out
    as digits, each operand's aligned from the right; an axis of size 1 broadcasts (read at
    0). The equation must have ``->``.
    """
    operands = [to_numpy(a) for a in operands]
    lhs, rhs = equation.replace(" ", "").split("->")
    terms = lhs.split(",")
    E = max(a.ndim - len(t.replace("...", "")) for t, a in zip(terms, operands))
    dots = "".join(str(d) for d in range(E))
    terms = [t.replace("...", dots[E - (a.ndim - len(t.replace("...", ""))):]) for t, a in zip(terms, operands)]
    rhs = rhs.replace("...", dots)
    size = {}
    for t, a in zip(terms, operands):
        for c, n in zip(t, a.shape):
            size[c] = max(size.get(c, n), n) if n else 0
    letters = sorted(size)
    out = np.zeros([size[c] for c in rhs], dtype=np.result_type(*operands))
    for values in np.ndindex(*[size[c] for c in letters]):
        at = dict(zip(letters, values))
        term = 1
        for t, a in zip(terms, operands):
            term = term * a[tuple(at[c] if n > 1 else 0 for c, n in zip(t, a.shape))]
        out[tuple(at[c] for c in rhs)] += term
    return out


def cumprod(x, dim):
    """``y[..., i, ...] = x[..., 0, ...] * ... * x[..., i, ...]``, one product at a time, and
    the gradient for an upstream ``gy`` as its definition says, without dividing:
    ``gx[k] = sum over i >= k of gy[i] * prod(x[j] for j <= i, j != k)``. Returns (y, a
    function of gy giving gx)."""
    x = to_numpy(x)
    moved = np.moveaxis(x, dim, -1)
    y = np.empty_like(moved)
    for p in np.ndindex(*moved.shape):
        y[p] = math.prod(moved[p[:-1]][:p[-1] + 1].tolist())

    def grad(gy):
        g = np.moveaxis(to_numpy(gy), dim, -1)
        gx = np.zeros_like(moved)
        for p in np.ndindex(*moved.shape):
            line, k = moved[p[:-1]].tolist(), p[-1]
            gx[p] = sum(g[p[:-1] + (i,)] * math.prod(line[j] for j in range(i + 1) if j != k)
                        for i in range(k, len(line)))
        return np.moveaxis(gx, -1, dim)

    return np.moveaxis(y, -1, dim), grad


def index_select(x, dim, index):
    """``out`` with ``out[..., i, ...] = x[..., index[i], ...]`` along ``dim``, slice by slice."""
    x = to_numpy(x)
    out = np.empty(x.shape[:dim] + (len(index),) + x.shape[dim + 1:], dtype=x.dtype)
    for i, j in enumerate(to_numpy(index).tolist()):
        out[(slice(None),) * dim + (i,)] = x[(slice(None),) * dim + (j,)]
    return out


def meshgrid(vectors, indexing="ij"):
    """Grid ``k`` at each position ``p``: ``vectors[k][p[k]]`` (``"ij"``), the first two
    coordinates of ``p`` read the other way round for ``"xy"``; one position at a time."""
    vectors = [to_numpy(v).reshape(-1) for v in vectors]
    lengths = [len(v) for v in vectors]
    if indexing == "xy" and len(vectors) > 1:
        lengths[0], lengths[1] = lengths[1], lengths[0]
    grids = [np.empty(lengths, dtype=v.dtype) for v in vectors]
    for p in np.ndindex(*lengths):
        q = list(p)   # the index into each vector
        if indexing == "xy" and len(vectors) > 1:
            q[0], q[1] = q[1], q[0]
        for k, v in enumerate(vectors):
            grids[k][p] = v[q[k]]
    return grids


def tensor_split(x, indices_or_sections, dim=0):
    """Pieces of ``x`` along ``dim``: for ``sections`` (an int), piece ``k`` holds the
    positions ``i`` whose share ``k`` is given out by dealing ``n`` positions in order, the
    first ``n % sections`` pieces one more; for a list of indices, the slices between them,
    each index made non-negative and held within ``[0, n]`` (Python's slice rule) by hand."""
    x = to_numpy(x)
    n = x.shape[dim]
    if isinstance(indices_or_sections, int):
        s = indices_or_sections
        sizes = [n // s + (1 if k < n % s else 0) for k in range(s)]
        bounds = [0]
        for size in sizes:
            bounds.append(bounds[-1] + size)
    else:
        bounds = [0]
        for i in indices_or_sections:
            i = i + n if i < 0 else i
            bounds.append(min(max(i, 0), n))
        bounds.append(n)
    pieces = []
    for a, b in zip(bounds, bounds[1:]):
        rows = [np.take(x, [i], axis=dim) for i in range(a, b)]   # one position at a time
        pieces.append(np.concatenate(rows, axis=dim) if rows else
                      np.empty(x.shape[:dim] + (0,) + x.shape[dim + 1:], dtype=x.dtype))
    return pieces


def embedding(index, W):
    """``out[p] = W[index[p]]`` for each position ``p`` of ``index``, one row at a time."""
    index, W = to_numpy(index), to_numpy(W)
    out = np.empty(index.shape + (W.shape[1],), dtype=W.dtype)
    for p in np.ndindex(index.shape):
        out[p] = W[index[p]]
    return out


def embedding_grad(index, gy, num_embeddings, padding_idx=None, scale_grad_by_freq=False):
    """The gradient of :func:`embedding`'s table: each row of ``gy`` added into the row it was
    read from, one at a time; nothing into ``padding_idx``'s; with ``scale_grad_by_freq`` each
    divided by how often its index came."""
    index, gy = to_numpy(index), to_numpy(gy)
    gW = np.zeros((num_embeddings, gy.shape[-1]), dtype=gy.dtype)
    counts = {}
    for p in np.ndindex(index.shape):
        counts[int(index[p])] = counts.get(int(index[p]), 0) + 1
    for p in np.ndindex(index.shape):
        row = int(index[p])
        if row != padding_idx:
            gW[row] += gy[p] / (counts[row] if scale_grad_by_freq else 1)
    return gW
