"""VGG16 (Simonyan & Zisserman) with Caffe layer names, and its convolutionalization.

Thirteen 3x3 convolutions with ReLU in five blocks, each block ending in a 2x2 stride-2 max
pool, then three fully connected layers fc6 (pool5's 7x7 map -> 4096), fc7 (4096 -> 4096) and
fc8 (4096 -> classes), ReLU and dropout 0.5 after fc6 and fc7. Pools round up (Caffe's only
mode; for a 224 input both roundings give 7x7 at pool5).

*Net surgery* (FCN, section 3.1): fc6 looks at a 7x7 window of pool5 with a weight
``(4096, c * 7 * 7)``; reshaped to ``(4096, c, 7, 7)`` it is a 7x7 convolution that computes the
same numbers on a 224 input and slides over a larger one with stride 32. fc7 and fc8 become 1x1
convolutions. :meth:`VGG16.convolutionalize` returns that fully convolutional net.

``width`` scales every channel count (64 * width, ..., fc 4096 * width; at least 1) so small
versions train on a CPU.

>>> import numpy as np
>>> from minifcn import Tensor
>>> vgg = VGG16(num_classes=10, width=1 / 32).eval()
>>> vgg(Tensor(np.zeros((1, 3, 224, 224), np.float32))).shape
(1, 10)
>>> vgg.convolutionalize()(Tensor(np.zeros((1, 3, 288, 256), np.float32))).shape
(1, 10, 3, 2)
"""
from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

from .. import functional as F
from .. import nn
from ..weights import convolutionalize_state

#: The five blocks of VGG16's convolutions (each followed by pool1 ... pool5).
VGG_BLOCKS = (("conv1_1", "conv1_2"), ("conv2_1", "conv2_2"), ("conv3_1", "conv3_2", "conv3_3"),
              ("conv4_1", "conv4_2", "conv4_3"), ("conv5_1", "conv5_2", "conv5_3"))
#: conv1_1 ... pool5 in forward order.
VGG_LAYERS = tuple(name for b, block in enumerate(VGG_BLOCKS, 1) for name in block + (f"pool{b}",))
VGG_CHANNELS = (64, 128, 256, 512, 512)
VGG_FC = 4096


def scaled(channels: int, width: float) -> int:
    """``round(channels * width)``, at least 1.

    >>> scaled(64, 1 / 32), scaled(4096, 0.5), scaled(64, 1 / 1000)
    (2, 2048, 1)
    """
    return max(1, int(round(channels * width)))


def width_of_state(state) -> float:
    """The width whose :func:`scaled` channel counts are those of ``state``'s VGG16 layers
    (conv1_1 ... conv5_3, and fc6 / fc7 where present): the simplest fraction in the interval
    that every layer's count allows. conv1_1's channels / 64 alone is not enough: a width-0.3
    net has 19 of 64 there (0.297) but 77 of 256 in conv3, which 0.297 makes 76.

    >>> width_of_state({"conv1_1.weight": np.zeros((19, 3, 3, 3)), "conv3_1.weight": np.zeros((77, 38, 3, 3))})
    0.3
    """
    bases = {name: VGG_CHANNELS[b] for b, block in enumerate(VGG_BLOCKS) for name in block}
    bases.update(fc6=VGG_FC, fc7=VGG_FC)
    counts = {name: (state[f"{name}.weight"].shape[0], base) for name, base in bases.items()
              if f"{name}.weight" in state}
    if not counts:
        raise ValueError("no VGG16 layer (conv1_1 ... conv5_3, fc6, fc7) to read a width from")
    # round(base * w) == n  <=>  (n - 1/2) / base <= w < (n + 1/2) / base (n = 1 also below)
    lo = max(Fraction(2 * n - 1, 2 * base) if n > 1 else Fraction(0) for n, base in counts.values())
    hi = min(Fraction(2 * n + 1, 2 * base) for n, base in counts.values())
    if not lo < hi:
        have = ", ".join(f"{name} {n} of {base}" for name, (n, base) in counts.items())
        raise ValueError(f"the layers' channel counts fit no single width of VGG16: {have}")
    for den in range(1, 1 << 16):   # the simplest fraction strictly inside: 0.3, not 0.30004
        w = Fraction(math.floor(lo * den) + 1, den)   # the least num / den above lo
        if w < hi:
            return float(w)
    return float((lo + hi) / 2)


def check_width(width, who: str) -> float:
    """Validate a width multiplier (a positive number, NumPy's included)."""
    if isinstance(width, (bool, np.bool_)) or not isinstance(width, numbers.Real) or not 0 < width < math.inf:
        raise ValueError(f"{who}: width must be a positive number (1.0 = the paper), got {width!r}")
    return float(width)


def check_num_classes(num_classes, who: str) -> int:
    """Validate a class count (a positive int, NumPy's included)."""
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(f"{who}: num_classes must be a positive int, got {num_classes!r}")
    return int(num_classes)


def add_vgg_body(net, width: float, in_channels: int = 3, conv1_padding: int = 1) -> int:
    """Attach conv1_1 ... conv5_3 (3x3, padding 1) and pool1 ... pool5 (2x2/2, ceil) to ``net``.

    ``conv1_padding`` is conv1_1's padding (FCN uses 100). Returns conv5_3's channel count.
    """
    c_in = in_channels
    for b, block in enumerate(VGG_BLOCKS, 1):
        c_out = scaled(VGG_CHANNELS[b - 1], width)
        for name in block:
            setattr(net, name, nn.Conv2d(c_in, c_out, 3, padding=conv1_padding if name == "conv1_1" else 1))
            c_in = c_out
        setattr(net, f"pool{b}", nn.MaxPool2d(2, 2, ceil_mode=True))
    return c_in


def vgg_body(net, x, blobs=None):
    """Run conv1_1 ... pool5 of ``net`` on x (n, 3, h, w); store pool1 ... pool5 in ``blobs``.

    Each pool halves the size, rounding up: pool``b`` is at stride ``1/2**b`` of conv1_1's
    output. Returns pool5.
    """
    blobs = {} if blobs is None else blobs
    h = x
    for b, block in enumerate(VGG_BLOCKS, 1):
        for name in block:
            h = F.relu(getattr(net, name)(h))
        h = blobs[f"pool{b}"] = getattr(net, f"pool{b}")(h)  # 1/2**b
    return h


class VGG16(nn.Module):
    """VGG16 classifier: x (n, 3, 224, 224) -> class scores (n, num_classes).

    Attributes conv1_1 ... conv5_3, pool1 ... pool5, fc6, fc7, fc8 (Linear), drop6, drop7.
    fc6 expects pool5 to be 7x7 (a 224x224 input; 193 ... 224 all give 7 with ceil pooling).

    Args:
        num_classes: width of fc8 (1000 for ImageNet).
        width: channel multiplier (1.0 = the paper).
        in_channels: image channels.
    """

    def __init__(self, num_classes: int = 1000, width: float = 1.0, in_channels: int = 3):
        super().__init__()
        self.num_classes = check_num_classes(num_classes, "VGG16")
        self.width = check_width(width, "VGG16")
        c5 = add_vgg_body(self, self.width, in_channels)
        fc = scaled(VGG_FC, self.width)
        self.fc6 = nn.Linear(c5 * 7 * 7, fc)
        self.drop6 = nn.Dropout(0.5)
        self.fc7 = nn.Linear(fc, fc)
        self.drop7 = nn.Dropout(0.5)
        self.fc8 = nn.Linear(fc, num_classes)

    def forward(self, x):
        h = vgg_body(self, x)                              # (n, c5, 7, 7), 1/32
        n, c, ph, pw = h.shape
        if (ph, pw) != (7, 7):
            raise ValueError(f"VGG16: fc6 needs a 7x7 pool5 map (a 224x224 input), got {ph}x{pw} "
                             f"from input {tuple(x.shape)}; use convolutionalize() for other sizes")
        h = h.reshape(n, c * 7 * 7)                        # (channel, row, column) order
        h = self.drop6(F.relu(self.fc6(h)))
        h = self.drop7(F.relu(self.fc7(h)))
        return self.fc8(h)

    def receptive_field_layers(self):
        """The spatial layers in forward order (fc6 and later see the whole 224 image)."""
        return [(name, getattr(self, name)) for name in VGG_LAYERS]

    def convolutionalize(self) -> "FullyConvVGG16":
        """Net surgery: the same weights as a fully convolutional net (fc6 7x7, fc7/fc8 1x1).

        The new net is in this net's mode (train/eval) and owns copies of the weights.
        """
        conv = FullyConvVGG16(self.num_classes, self.width, in_channels=self.conv1_1.weight.shape[1])
        # dtype and device first: load_state_dict casts to the parameters' dtype
        conv.astype(self.conv1_1.weight.dtype).to(self.conv1_1.weight.device)
        conv.load_state_dict(convolutionalize_state(self.state_dict()))
        return conv.train(self.training)


class FullyConvVGG16(nn.Module):
    """VGG16 after net surgery: x (n, 3, h, w) -> score map (n, num_classes, out_h, out_w).

    ``out = ceil-pooled size / 32 - 6``: a 224 input gives 1x1, 384 gives 6x6; cell (i, j) is
    the classifier's fc layers applied to the 7x7 window of pool5 at (i, j). That equals the
    classifier on the 224 crop at (32 i, 32 j) only approximately: inside the big image the
    crop's border convolutions see real neighbours where the crop alone sees zero padding.
    """

    def __init__(self, num_classes: int = 1000, width: float = 1.0, in_channels: int = 3):
        super().__init__()
        self.num_classes = check_num_classes(num_classes, "FullyConvVGG16")
        self.width = check_width(width, "FullyConvVGG16")
        c5 = add_vgg_body(self, self.width, in_channels)
        fc = scaled(VGG_FC, self.width)
        self.fc6 = nn.Conv2d(c5, fc, 7)
        self.drop6 = nn.Dropout(0.5)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.drop7 = nn.Dropout(0.5)
        self.fc8 = nn.Conv2d(fc, num_classes, 1)

    def forward(self, x):
        h = vgg_body(self, x)                              # 1/32
        h = self.drop6(F.relu(self.fc6(h)))                # 1/32, pool5 - 6
        h = self.drop7(F.relu(self.fc7(h)))                # 1/32
        return self.fc8(h)                                 # 1/32

    def receptive_field_layers(self):
        return [(name, getattr(self, name)) for name in VGG_LAYERS + ("fc6", "fc7", "fc8")]
