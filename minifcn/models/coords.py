"""Coordinate maps: where a pixel of a layer's output sits in its input, and FCN's crop offsets.

Every spatial layer maps an output coordinate ``x`` to the input coordinate of the centre of
the window it sees: an affine map ``x_in = scale * x_out + offset`` (one axis; every layer here
is square). For a convolution or a pooling (kernel ``k``, stride ``s``, padding ``p``, dilation
``d``, effective kernel ``K = d(k - 1) + 1``) the window of output ``x`` starts at ``s*x - p``
and its centre is

    x_in = s * x_out - p + (K - 1) / 2

A transposed convolution is the same operator read backwards, so its map is the inverse:

    x_in = (x_out + p - (K - 1) / 2) / s

Pointwise layers (ReLU, dropout, batch norm) are the identity. Composing the maps along a path
gives the map from a blob to the input image (Caffe's ``coord_map.py`` does the same). Two
blobs that are added together must be aligned: if blob A maps by ``a*y + b_A`` and blob B by
``a*x + b_B`` (same scale), then A's pixel ``y = x + (b_B - b_A)/a`` sits on B's pixel ``x``,
and ``(b_B - b_A)/a`` is the top-left crop offset for A. That is where FCN's 19; 5, 27;
5, 9, 31 come from. Fractions keep the half-pixel centres exact.

>>> from minifcn import nn
>>> conv = nn.Conv2d(1, 1, 3, padding=100)              # FCN's conv1_1
>>> layer_map(conv)                                      # x_in = x_out - 99
CoordMap(scale=1, offset=-99)
>>> path_map([conv, nn.MaxPool2d(2, 2)])                 # x_in = 2 x_out + 1/2 - 99
CoordMap(scale=2, offset=-197/2)
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from fractions import Fraction

from .. import nn
from ..im2col import _pair

#: The shape-changing parameters of one layer, along the height axis.
Geometry = namedtuple("Geometry", "kind kernel stride padding dilation ceil_mode")

# layers that act on each pixel alone (local response norm mixes channels, not pixels): they
# keep coordinates as they are
_POINTWISE = (nn.ReLU, nn.Dropout, nn.BatchNorm2d, nn.LocalResponseNorm)


def geometry(module):
    """The (kind, kernel, stride, padding, dilation, ceil_mode) of a spatial layer, or None.

    ``kind`` is ``"conv"``, ``"pool"`` or ``"deconv"``; pointwise layers give None. Raises
    TypeError for layers whose geometry depends on the data (unpooling) or is unknown.

    >>> from minifcn import nn
    >>> geometry(nn.MaxPool2d(2, 2, ceil_mode=True))
    Geometry(kind='pool', kernel=2, stride=2, padding=0, dilation=1, ceil_mode=True)
    """
    if isinstance(module, nn.Conv2d):
        return Geometry("conv", module.weight.shape[2], _pair(module.stride)[0],
                        _pair(module.padding)[0], _pair(module.dilation)[0], False)
    if isinstance(module, nn.MaxPool2d):
        k = _pair(module.kernel_size)[0]
        s = k if module.stride is None else _pair(module.stride)[0]
        return Geometry("pool", k, s, _pair(module.padding)[0], _pair(module.dilation)[0],
                        bool(module.ceil_mode))
    if isinstance(module, nn.ConvTranspose2d):
        return Geometry("deconv", module.weight.shape[2], _pair(module.stride)[0],
                        _pair(module.padding)[0], _pair(module.dilation)[0], False)
    if isinstance(module, _POINTWISE):
        return None
    raise TypeError(f"no coordinate map for {type(module).__name__}: expected Conv2d, MaxPool2d, "
                    "ConvTranspose2d or a pointwise layer (ReLU, Dropout, BatchNorm2d, "
                    "LocalResponseNorm)")


@dataclass(frozen=True)
class CoordMap:
    """The affine map ``x_in = scale * x_out + offset`` (exact fractions).

    >>> CoordMap(2, 1)(3)
    Fraction(7, 1)
    """
    scale: Fraction = Fraction(1)
    offset: Fraction = Fraction(0)

    def __post_init__(self):
        object.__setattr__(self, "scale", Fraction(self.scale))
        object.__setattr__(self, "offset", Fraction(self.offset))

    def __call__(self, x):
        return self.scale * x + self.offset

    def compose(self, inner: "CoordMap") -> "CoordMap":
        """``self(inner(x))``: ``inner`` maps a deeper layer's coordinates into ours."""
        return CoordMap(self.scale * inner.scale, self.scale * inner.offset + self.offset)

    def __repr__(self):
        return f"CoordMap(scale={self.scale}, offset={self.offset})"


def layer_map(module) -> CoordMap:
    """The coordinate map of one layer: output coordinate -> input coordinate (window centre).

    conv / pool: ``x_in = s*x_out - p + (K-1)/2``; transposed conv: ``x_in = (x_out + p -
    (K-1)/2) / s`` with ``K = d(k-1) + 1``; pointwise layers: the identity.

    >>> from minifcn import nn
    >>> layer_map(nn.ConvTranspose2d(1, 1, 64, stride=32, bias=False))   # FCN-32s upscore
    CoordMap(scale=1/32, offset=-63/64)
    """
    g = geometry(module)
    if g is None:
        return CoordMap()
    half = Fraction(g.dilation * (g.kernel - 1), 2)  # (K - 1) / 2
    if g.kind == "deconv":
        return CoordMap(Fraction(1, g.stride), (g.padding - half) / g.stride)
    return CoordMap(g.stride, half - g.padding)


def path_map(layers) -> CoordMap:
    """Compose the maps of ``layers`` (in forward order): last output -> first input.

    >>> from minifcn import nn
    >>> path_map([nn.Conv2d(1, 1, 3, padding=1)] * 4)        # 3x3 pad-1 convs keep coordinates
    CoordMap(scale=1, offset=0)
    """
    total = CoordMap()
    for layer in layers:
        total = total.compose(layer_map(layer))
    return total


def crop_offset(cropped: CoordMap, reference: CoordMap) -> int:
    """Top-left offset at which to crop the blob mapped by ``cropped`` to align with ``reference``.

    Both maps go to the same (image) coordinates. Pixel ``x + offset`` of the cropped blob sits
    where pixel ``x`` of the reference does: ``offset = (ref.offset - cropped.offset) / scale``.
    Raises ValueError if the scales differ or the offset is not a non-negative integer (the
    blobs cannot be aligned by a crop).

    >>> crop_offset(CoordMap(1, -19), CoordMap())          # FCN-32s: upscore vs the image
    19
    """
    if cropped.scale != reference.scale:
        raise ValueError(f"crop_offset: blobs with scales {cropped.scale} and {reference.scale} "
                         "cannot be aligned by a crop (expected equal scales)")
    offset = (reference.offset - cropped.offset) / cropped.scale
    if offset.denominator != 1 or offset < 0:
        raise ValueError(f"crop_offset: the blobs are misaligned by {offset} pixels; a crop needs "
                         "a non-negative whole number")
    return int(offset)
