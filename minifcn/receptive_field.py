"""Receptive fields: analytic (layer by layer) and measured through the autograd.

Walking the spatial layers in forward order, with ``rf`` the receptive field (pixels), ``jump``
the distance in input pixels between neighbouring outputs and ``start`` the input coordinate of
the centre of output pixel 0's field (all along one axis; every layer here is square):

* convolution / pooling (kernel k, stride s, padding p, dilation d, K = d(k-1) + 1)::

      rf += (K - 1) * jump;   start += ((K - 1)/2 - p) * jump;   jump *= s

* transposed convolution: ``jump /= s``; each output sees at most ``ceil(K / s)`` inputs, so
  ``rf += (ceil(K / s) - 1) * jump_in``; ``start`` follows the inverse map (see
  :mod:`minifcn.models.coords`, which gives jump and start as the scale and offset of the
  composed coordinate map).

FCN's fc7 / score_fr sees 404 pixels: 212 at pool5 (VGG16's), plus (7 - 1) * 32 for fc6.

>>> from minifcn.models import FCN32s
>>> rows = receptive_field(FCN32s(num_classes=2, width=1 / 64), input_size=500)
>>> [(r.name, r.rf, r.jump, r.size) for r in rows if r.name in ("pool5", "fc7", "score_fr")]
[('pool5', 212, 32, 22), ('fc7', 404, 32, 16), ('score_fr', 404, 32, 16)]
"""
from __future__ import annotations

import math
from collections import namedtuple
from fractions import Fraction

import numpy as np

from .autograd import Tensor
from .backend import get_array_module, to_numpy
from .im2col import conv_out_size
from .models.coords import CoordMap, geometry, layer_map

#: One row per spatial layer: rf, jump, start in input pixels; size the output length when
#: ``input_size`` was given (else None).
RFRow = namedtuple("RFRow", "name kernel stride padding rf jump start size")
#: A measured field: inclusive pixel bounds, its height and width, and the (h, w) boolean mask.
EmpiricalRF = namedtuple("EmpiricalRF", "top bottom left right height width mask")


def _layers(model):
    if hasattr(model, "receptive_field_layers"):
        return list(model.receptive_field_layers())
    if hasattr(model, "_modules"):                   # e.g. a Sequential: modules in order
        return list(model._modules.items())
    raise TypeError(f"receptive_field: {type(model).__name__} has no receptive_field_layers() and "
                    "is not a Module with sub-modules")


def _number(v: Fraction):
    return int(v) if v.denominator == 1 else float(v)


def receptive_field(model, input_size=None):
    """Per-layer receptive field, jump and start offset of ``model``'s spatial layers.

    The layers come from ``model.receptive_field_layers()`` (VGG16, FullyConvVGG16, the FCNs)
    or, for any other Module, its sub-modules in registration order. Pointwise layers are
    skipped; unpooling raises TypeError (its geometry depends on the data).

    Args:
        model: a Module.
        input_size: optional input side (int); then each row's ``size`` is the output side
            (``floor/ceil((size + 2p - K) / s) + 1``; ``(size - 1)*s - 2p + K`` for transposed).

    Returns:
        A list of :data:`RFRow` ``(name, kernel, stride, padding, rf, jump, start, size)``;
        ``jump`` and ``start`` are ints, or floats after a transposed convolution.

    >>> from minifcn import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    >>> [(r.name, r.rf, r.jump, r.start) for r in receptive_field(net)]
    [('0', 3, 1, 1), ('2', 4, 2, 1.5), ('3', 8, 2, 3.5)]
    """
    rows = []
    rf, coord, size = 1, CoordMap(), input_size
    for name, module in _layers(model):
        g = geometry(module)
        if g is None:
            continue
        K = g.dilation * (g.kernel - 1) + 1
        jump_in = coord.scale
        if g.kind == "deconv":
            rf = rf + (math.ceil(K / g.stride) - 1) * jump_in
            size = None if size is None else (size - 1) * g.stride - 2 * g.padding + K
        else:
            rf = rf + (K - 1) * jump_in
            size = None if size is None else conv_out_size(size, K, g.stride, g.padding, ceil_mode=g.ceil_mode)
        coord = coord.compose(layer_map(module))     # jump = scale, start = offset
        rows.append(RFRow(name, g.kernel, g.stride, g.padding, _number(Fraction(rf)),
                          _number(coord.scale), _number(coord.offset), size))
    return rows


def analytic_box(row: RFRow, out_pos, input_hw):
    """The input pixels (top, bottom, left, right), inclusive, of output ``out_pos`` = (y, x)
    of the layer in ``row``, clipped to an input of ``input_hw`` = (h, w).

    Centre ``start + jump * pos``, half-width ``(rf - 1) / 2``.

    >>> analytic_box(RFRow("fc7", 1, 1, 0, 404, 32, 12.5, None), (6, 0), (410, 300))
    (3, 406, 0, 214)
    """
    out = []
    for pos, n in zip(out_pos, input_hw):
        centre = Fraction(row.start) + Fraction(row.jump) * pos
        half = Fraction(row.rf - 1, 2)
        out += [max(0, math.ceil(centre - half)), min(n - 1, math.floor(centre + half))]
    return tuple(out)


def empirical_receptive_field(model_fn, input_shape, out_pos, seed=0, dtype=np.float64):
    """Measure which input pixels influence one output pixel, through the autograd.

    Backpropagates from output pixel ``out_pos`` = (y, x) (all channels, every image of the
    batch) to a random input of ``input_shape`` = (n, c, h, w) drawn uniformly from [0, 1), and
    marks the pixels whose gradient is non-zero in any channel of any image.

    Max pooling passes gradient only to each window's maximum and ReLU only through active
    units, so one input can light up fewer pixels than the theoretical field; a batch of random
    inputs (the union over ``n``) fills it in. Positive weights and inputs keep every ReLU
    active. Use float64 and a small width: the measurement is exact, not approximate.

    Args:
        model_fn: Tensor (n, c, h, w) -> Tensor (n, C, out_h, out_w).
        input_shape: (n, c, h, w).
        out_pos: (y, x) in the output.

    Returns:
        :data:`EmpiricalRF` ``(top, bottom, left, right, height, width, mask)``; bounds
        inclusive, ``mask`` (h, w) bool on the host. Raises ValueError if no pixel is reached.

    >>> from minifcn import nn
    >>> conv = nn.Conv2d(1, 1, 3).astype(np.float64)
    >>> conv.weight.data[...] = 1.0
    >>> r = empirical_receptive_field(conv, (1, 1, 9, 9), (2, 2))
    >>> r[:6]
    (2, 4, 2, 4, 3, 3)
    """
    if len(input_shape) != 4:
        raise ValueError(f"empirical_receptive_field: input_shape must be (n, c, h, w), got {input_shape!r}")
    x = Tensor(np.random.default_rng(seed).random(input_shape).astype(dtype), requires_grad=True)
    y = model_fn(x)
    oy, ox = out_pos
    if not (0 <= oy < y.shape[2] and 0 <= ox < y.shape[3]):
        raise ValueError(f"empirical_receptive_field: out_pos {tuple(out_pos)} is outside the "
                         f"{y.shape[2]}x{y.shape[3]} output")
    xp = get_array_module(y.data)
    pick = xp.zeros(y.shape, dtype=y.dtype)
    pick[:, :, oy, ox] = 1                           # d(sum of that pixel's scores) / dx
    (y * Tensor(pick)).sum().backward()
    mask = to_numpy((x.grad != 0).any(axis=(0, 1)))
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("empirical_receptive_field: no input pixel has a non-zero gradient "
                         "(zero weights, or every ReLU on the path inactive?)")
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    return EmpiricalRF(top, bottom, left, right, bottom - top + 1, right - left + 1, mask)
