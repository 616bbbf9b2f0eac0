"""Weight initialisers. Arrays are float32 on the default device (``MINIFCN_DEVICE``).

Random draws come from the host generator of :mod:`minifcn.backend` (seed it with
``minifcn.manual_seed``), so a model is the same on CPU and GPU for the same seed.

>>> bilinear_kernel(1, 1, 4)[0, 0]          # FCN's 2x upsampling filter (kernel 4, stride 2)
array([[0.0625, 0.1875, 0.1875, 0.0625],
       [0.1875, 0.5625, 0.5625, 0.1875],
       [0.1875, 0.5625, 0.5625, 0.1875],
       [0.0625, 0.1875, 0.1875, 0.0625]], dtype=float32)
"""
from __future__ import annotations

import math

import numpy as np

from . import backend


def _place(array, device=None):
    return backend.to_device(array, device) if (device or backend.default_device()) != "cpu" else array


def zeros(shape, dtype=np.float32, device=None):
    return _place(np.zeros(shape, dtype=dtype), device)


def ones(shape, dtype=np.float32, device=None):
    return _place(np.ones(shape, dtype=dtype), device)


def he_normal(shape, fan_in=None, dtype=np.float32, device=None):
    """N(0, 2 / fan_in), for layers followed by ReLU; fan_in = in_c * kh * kw by default."""
    fan_in = fan_in if fan_in is not None else int(np.prod(shape[1:]))
    w = backend.numpy_rng().standard_normal(shape) * math.sqrt(2.0 / max(fan_in, 1))
    return _place(w.astype(dtype), device)


def xavier_normal(shape, dtype=np.float32, device=None):
    """N(0, 2 / (fan_in + fan_out)) (Glorot)."""
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    w = backend.numpy_rng().standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))
    return _place(w.astype(dtype), device)


def bilinear_kernel(in_channels, out_channels, kernel_size, dtype=np.float32, device=None):
    """Weight (in_c, out_c, k, k) of a transposed convolution that upsamples bilinearly.

    Channel ``i`` maps to channel ``i`` with the separable tent ``(1 - |y - c|/f)(1 - |x - c|/f)``,
    ``f = ceil(k / 2)``, centre ``c = f - 1`` (odd k) or ``f - 0.5`` (even k); other channel pairs
    are zero. With stride ``f`` and ``k = 2f``, interior pixels are exact bilinear interpolation.
    """
    f = (kernel_size + 1) // 2
    center = f - 1 if kernel_size % 2 == 1 else f - 0.5
    og = np.arange(kernel_size)
    tent = 1 - np.abs(og - center) / f
    filt = np.outer(tent, tent)
    w = np.zeros((in_channels, out_channels, kernel_size, kernel_size), dtype=dtype)
    n = min(in_channels, out_channels)
    w[np.arange(n), np.arange(n)] = filt
    return _place(w, device)
