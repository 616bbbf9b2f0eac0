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


# --------------------------------------------------------------------- PyTorch's in-place forms
# ``torch.nn.init``'s functions, for initialisation code ported from PyTorch: each fills a
# Tensor's (a Parameter's) array in place, keeping its dtype and device, and returns the Tensor.
# Draws come from the same host generator as above.

def _fill(tensor, values):
    data = tensor if isinstance(tensor, backend.get_array_module(tensor).ndarray) else tensor.data
    data[...] = backend.to_device(np.asarray(values), backend.device_of(data))
    return tensor


def _fans(shape):
    """(fan_in, fan_out) as PyTorch counts them: ``shape[1]`` and ``shape[0]`` times the
    kernel's size (a transposed convolution's weight, (in, out, k, k), read the same way)."""
    if len(shape) < 2:
        raise ValueError(f"fans need a weight of 2 dimensions or more, got shape {tuple(shape)}")
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The factor PyTorch's initialisers scale by for a following ``nonlinearity``:
    ``"relu"`` sqrt(2), ``"leaky_relu"`` sqrt(2 / (1 + slope^2)), ``"tanh"`` 5/3, ``"selu"`` 3/4,
    1 for ``"linear"``, the convolutions and ``"sigmoid"``."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is not None and (isinstance(param, bool) or not isinstance(param, (int, float))):
            raise ValueError(f"calculate_gain: the negative slope must be a number, got {param!r}")
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _kaiming_std(shape, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = _fans(shape)[0 if mode == "fan_in" else 1]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2), std = gain / sqrt(fan): He's initialisation, as :func:`he_normal` for a=0."""
    std = _kaiming_std(tensor.shape, a, mode, nonlinearity)
    return _fill(tensor, backend.numpy_rng().standard_normal(tensor.shape) * std)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b), b = sqrt(3) * gain / sqrt(fan) (PyTorch's default for its layers has a = sqrt(5))."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor.shape, a, mode, nonlinearity)
    return _fill(tensor, backend.numpy_rng().uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _fans(tensor.shape)
    return _fill(tensor, backend.numpy_rng().standard_normal(tensor.shape) * gain * math.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform_(tensor, gain=1.0):
    """U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _fans(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, backend.numpy_rng().uniform(-bound, bound, tensor.shape))


def _floating(what, tensor):
    """Random floats cast into an integer tensor would be truncated: refused, as PyTorch's
    ("not implemented for 'Long'")."""
    if tensor.dtype.kind != "f":
        raise TypeError(f"{what}: expected a floating-point tensor, got {tensor.dtype} (PyTorch's "
                        "is not implemented for integers and bools either)")


def normal_(tensor, mean=0.0, std=1.0):
    _floating("normal_", tensor)
    return _fill(tensor, backend.numpy_rng().normal(mean, std, tensor.shape))


def uniform_(tensor, a=0.0, b=1.0):
    _floating("uniform_", tensor)
    return _fill(tensor, backend.numpy_rng().uniform(a, b, tensor.shape))


def constant_(tensor, val):
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)
