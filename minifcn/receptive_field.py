"""Receptive fields: analytic (layer by layer) and measured through the autograd.

Walking the spatial layers in forward order, with ``rf`` the receptive field (pixels), ``jump``
the distance in input pixels between neighbouring outputs and ``start`` the input coordinate of
the centre of output pixel 0's field (all along one axis; every layer here is square):

* convolution / pooling (kernel k, stride s, padding p, dilation d, K = d(k-1) + 1)::

      rf += (K - 1) * jump;   start += ((K - 1)/2 - p) * jump;   jump *= s

* transposed convolution: ``jump /= s``; output ``o`` reads the inputs ``i`` with
  ``0 <= o + p - i*s <= K - 1``, at most ``ceil(K / s)`` of them, so while ``jump_in`` is a whole
  number of pixels ``rf += (ceil(K / s) - 1) * jump_in``; ``start`` follows the inverse map (see
  :mod:`minifcn.models.coords`, which gives jump and start as the scale and offset of the
  composed coordinate map).

Past a transposed convolution the fields are no longer all alike: an output's field depends on
its phase (its position modulo the strides upsampled by). So ``rf`` is read from each output's
exact input interval, which the walk also carries (``RFRow.bounds``): the largest over one
period of phases. On convolution and pooling it is the recurrence's value. Two stride-2
transposed convolutions show why the recurrence alone is not enough: it gives 2.5 pixels.

>>> from minifcn import nn
>>> up = nn.Sequential(nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1),
...                    nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1))
>>> [(r.rf, r.jump, r.bounds(5)) for r in receptive_field(up)]
[(2, 0.5, (2, 3)), (3, 0.25, (0, 2))]

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
from .im2col import _pair, conv_out_size
from .models.coords import CoordMap, geometry, layer_map

#: One row per spatial layer: rf, jump, start in input pixels; size the output length when
#: ``input_size`` was given (else None); bounds, when the walk made the row, the function
#: ``o -> (first, last)``: the input pixels output ``o`` reads, on an unbounded input (None
#: where it reads none: a transposed convolution of stride above its kernel leaves gaps).
RFRow = namedtuple("RFRow", "name kernel stride padding rf jump start size bounds", defaults=(None,))
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
        A list of :data:`RFRow` ``(name, kernel, stride, padding, rf, jump, start, size,
        bounds)``; ``jump`` and ``start`` are ints where whole, else floats (a pool's centre
        between two pixels, a jump below 1 after a transposed convolution).

    >>> from minifcn import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    >>> [(r.name, r.rf, r.jump, r.start) for r in receptive_field(net)]
    [('0', 3, 1, 1), ('2', 4, 2, 1.5), ('3', 8, 2, 3.5)]
    """
    rows = []
    coord, size, period = CoordMap(), input_size, 1
    bounds = _Identity()
    for name, module in _layers(model):
        g = geometry(module)
        if g is None:
            continue
        K = g.dilation * (g.kernel - 1) + 1
        if g.kind == "deconv":
            size = None if size is None else ((size - 1) * g.stride - 2 * g.padding + K
                                              + _pair(module.output_padding)[0])
            period *= g.stride   # the fields repeat every `period` outputs
        elif size is not None:
            size = conv_out_size(size, K, g.stride, g.padding, ceil_mode=g.ceil_mode)
        if size is not None and size < 1:
            raise ValueError(f"receptive_field: layer {name!r} (kernel {g.kernel}, stride {g.stride}, "
                             f"padding {g.padding}) has no output for input_size {input_size}")
        bounds = _Bounds(bounds, g.kind, K, g.stride, g.padding)
        spans = [b[1] - b[0] + 1 for b in map(bounds, range(period)) if b is not None]
        coord = coord.compose(layer_map(module))     # jump = scale, start = offset
        rows.append(RFRow(name, g.kernel, g.stride, g.padding, max(spans, default=0),
                          _number(coord.scale), _number(coord.offset), size, bounds))
    return rows


class _Identity:
    """The input's own pixels: output ``o`` of no layer at all is input pixel ``o``."""

    def first(self, o):
        return o

    last = first

    def __call__(self, o):
        return o, o


class _Bounds:
    """``o -> (first, last)``: the input pixels that output ``o`` of one more layer reads,
    through the layers before it (``inner``); None where it reads none. Each end follows its
    own end of the layer's window (the reach is monotone in ``o``), so a walk of L layers costs
    L steps, not 2 ** L."""

    def __init__(self, inner, kind, K, stride, padding):
        self.inner, self.kind, self.K, self.s, self.p = inner, kind, K, stride, padding

    def _window(self, o):
        if self.kind == "deconv":   # the inputs i with 0 <= o + p - i*s <= K - 1
            return -((self.K - 1 - o - self.p) // self.s), (o + self.p) // self.s
        lo = self.s * o - self.p    # the window s*o - p ... s*o - p + K - 1
        return lo, lo + self.K - 1

    def first(self, o):
        lo, hi = self._window(o)
        return next((f for f in map(self.inner.first, range(lo, hi + 1)) if f is not None), None)

    def last(self, o):
        lo, hi = self._window(o)
        return next((f for f in map(self.inner.last, range(hi, lo - 1, -1)) if f is not None), None)

    def __call__(self, o):
        first = self.first(o)
        return None if first is None else (first, self.last(o))


def analytic_box(row: RFRow, out_pos, input_hw):
    """The input pixels (top, bottom, left, right), inclusive, of output ``out_pos`` = (y, x)
    of the layer in ``row``, clipped to an input of ``input_hw`` = (h, w).

    The row's ``bounds`` where :func:`receptive_field` made it (exact past transposed
    convolutions too); else centre ``start + jump * pos``, half-width ``(rf - 1) / 2``, which
    holds while every field is alike (convolution and pooling).

    >>> analytic_box(RFRow("fc7", 1, 1, 0, 404, 32, 12.5, None), (6, 0), (410, 300))
    (3, 406, 0, 214)
    """
    out = []
    for pos, n in zip(out_pos, input_hw):
        if row.bounds is not None:
            b = row.bounds(pos)
            if b is None:
                raise ValueError(f"analytic_box: output {pos} of layer {row.name!r} reads no input")
            first, last = b
        else:
            centre = Fraction(row.start) + Fraction(row.jump) * pos
            half = Fraction(row.rf - 1, 2)
            first, last = math.ceil(centre - half), math.floor(centre + half)
        out += [max(0, first), min(n - 1, last)]
    return tuple(out)


def empirical_receptive_field(model_fn, input_shape, out_pos, seed=0, dtype=np.float64, rtol=0.0):
    """Measure which input pixels influence one output pixel, through the autograd.

    Backpropagates from output pixel ``out_pos`` = (y, x) (all channels, every image of the
    batch) to a random input of ``input_shape`` = (n, c, h, w) drawn uniformly from [0, 1), and
    marks the pixels whose gradient is non-zero in any channel of any image.

    Max pooling passes gradient only to each window's maximum and ReLU only through active
    units, so one input can light up fewer pixels than the theoretical field; a batch of random
    inputs (the union over ``n``) fills it in. Positive weights and inputs keep every ReLU
    active. Use float64 and a small width: the measurement reads which gradients are non-zero,
    so it is exact up to ``rtol``.

    Args:
        model_fn: Tensor (n, c, h, w) -> Tensor (n, C, out_h, out_w).
        input_shape: (n, c, h, w).
        out_pos: (y, x) in the output.
        rtol: a gradient of at most ``rtol`` times the largest counts as zero. 0 marks every
            non-zero one; Winograd's transforms (the wide 3x3 layers) add and subtract
            neighbouring values, which leaves residues of about 1e-17 of the peak (float64)
            outside the field, so measure those nets with ``rtol=1e-12``.

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
    g = to_numpy(xp.abs(x.grad).max(axis=(0, 1)))
    mask = g > rtol * g.max()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("empirical_receptive_field: no input pixel has a non-zero gradient "
                         "(zero weights, or every ReLU on the path inactive?)")
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    return EmpiricalRF(top, bottom, left, right, bottom - top + 1, right - left + 1, mask)
