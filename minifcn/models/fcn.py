"""FCN-32s, FCN-16s and FCN-8s (Long, Shelhamer & Darrell), layer for layer as the Caffe nets.

The body is VGG16 with two changes that make it work for any input size:

* conv1_1 pads by 100, so that fc6 (a 7x7 convolution without padding) has a map to slide over
  even for tiny images, and the upsampled scores always cover the image;
* the pools round up (ceil mode): with floor rounding the skip crops fall off the edge of the
  coarser blobs for many input sizes.

fc6 (7x7) and fc7 (1x1) are followed by ReLU and dropout 0.5. ``score_fr`` (1x1, zero init)
turns fc7 into class scores at stride 32; transposed convolutions without bias, initialised to
bilinear interpolation and frozen (unless ``learnable_upsampling``), bring them back up.
FCN-16s adds the scores of pool4 (``score_pool4``, zero init) at stride 16, FCN-8s also those
of pool3 at stride 8. Blobs are aligned by top-left crops whose offsets are *computed* from the
layers' coordinate maps (:mod:`minifcn.models.coords`): 19; 5 and 27; 5, 9 and 31.

>>> import numpy as np
>>> from minifcn import Tensor
>>> net = FCN8s(num_classes=3, width=1 / 64)
>>> net.crop_offsets
{'score_pool4c': 5, 'score_pool3c': 9, 'score': 31}
>>> net(Tensor(np.zeros((1, 3, 45, 67), np.float32))).shape
(1, 3, 45, 67)
"""
from __future__ import annotations

from .. import functional as F
from .. import init, nn
from ..weights import convolutionalize_state
from . import coords
from .vgg import (VGG_FC, VGG_LAYERS, VGG16, add_vgg_body, check_num_classes, check_width, scaled,
                  vgg_body, width_of_state)

_TO_POOL3 = VGG_LAYERS[:VGG_LAYERS.index("pool3") + 1]
_TO_POOL4 = VGG_LAYERS[:VGG_LAYERS.index("pool4") + 1]
_TO_SCORE_FR = VGG_LAYERS + ("fc6", "drop6", "fc7", "drop7", "score_fr")


def _score_layer(in_channels, num_classes):
    """A 1x1 convolution to the classes, weights and bias zero (FCN's score layers)."""
    conv = nn.Conv2d(in_channels, num_classes, 1)
    conv.weight.data = init.zeros(conv.weight.shape)
    return conv


def _upsample_layer(num_classes, kernel, stride, learnable):
    """A bias-free transposed convolution initialised to bilinear upsampling (frozen by default)."""
    up = nn.ConvTranspose2d(num_classes, num_classes, kernel, stride=stride, bias=False)
    up.weight.data = init.bilinear_kernel(num_classes, num_classes, kernel)
    up.weight.requires_grad = bool(learnable)
    return up


class _FCN(nn.Module):
    """The VGG16 trunk shared by the three FCNs: conv1_1 (pad 100) ... fc7, and score_fr."""

    def __init__(self, num_classes, width, learnable_upsampling):
        super().__init__()
        who = type(self).__name__
        self.num_classes = check_num_classes(num_classes, who)
        self.width = check_width(width, who)
        self.learnable_upsampling = bool(learnable_upsampling)
        c5 = add_vgg_body(self, self.width, 3, conv1_padding=100)
        fc = scaled(VGG_FC, self.width)
        self.fc6 = nn.Conv2d(c5, fc, 7)
        self.drop6 = nn.Dropout(0.5)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.drop7 = nn.Dropout(0.5)
        self.score_fr = _score_layer(fc, num_classes)

    def _upsample(self, kernel, stride):
        return _upsample_layer(self.num_classes, kernel, stride, self.learnable_upsampling)

    def _map(self, *names):
        """Coordinate map of the path through the named layers (forward order) to the image."""
        return coords.path_map(getattr(self, name) for name in names)

    def _trunk(self, x, blobs):
        """conv1_1 ... score_fr into ``blobs`` (returned): fc7 (n, 4096w, ~h/32 + 1, ...), from
        x (n, 3, h, w)."""
        vgg_body(self, x, blobs)                           # pool3 1/8, pool4 1/16, pool5 1/32
        h = blobs["fc6"] = self.drop6(F.relu(self.fc6(blobs["pool5"])))   # 1/32, pool5 - 6
        h = blobs["fc7"] = self.drop7(F.relu(self.fc7(h)))                # 1/32
        blobs["score_fr"] = self.score_fr(h)                              # 1/32
        return blobs

    def forward(self, x):
        """x (n, 3, h, w) -> class scores (n, num_classes, h, w), for every h, w >= 1."""
        return self.blobs(x)["score"]

    def blobs(self, x):
        """Every named tensor of the forward pass (the Caffe net's blobs), ``"score"`` last."""
        raise NotImplementedError

    def receptive_field_layers(self):
        """The deepest path: conv1_1 ... score_fr, then the upsampling layers."""
        return [(name, getattr(self, name)) for name in _TO_SCORE_FR + self._UPSAMPLING]

    def _copy_from(self, other, names):
        """Copy the parameters of the named layers from ``other`` (same widths and classes)."""
        self.astype(other.conv1_1.weight.dtype).to(other.conv1_1.weight.device)
        src = other.state_dict()
        state = {k: v for k, v in src.items() if k.split(".")[0] in names}
        own = self.state_dict()
        state = {**own, **state}
        self.load_state_dict(state)
        return self


def _check_stage(who, net, kind):
    """The staged recipe starts each stage from the one before: an FCN-32s for FCN-16s, an
    FCN-16s for FCN-8s (an FCN-32s there had been taken, score_pool4 and upscore2 left fresh
    although the docstring says they are copied; a VGG16 had failed on a missing attribute)."""
    if type(net) is not kind:
        raise TypeError(f"{who}: expected a trained {kind.__name__}, got {type(net).__name__}")


class FCN32s(_FCN):
    """FCN-32s: score_fr upsampled 32x at once (``upscore``, kernel 64, stride 32), cropped at 19.

    Args:
        num_classes: output classes (21 for PASCAL VOC).
        width: channel multiplier (1.0 = the paper).
        learnable_upsampling: train the bilinear ``upscore`` (the reference keeps it fixed).
    """

    _UPSAMPLING = ("upscore",)

    def __init__(self, num_classes: int = 21, width: float = 1.0, learnable_upsampling: bool = False):
        super().__init__(num_classes, width, learnable_upsampling)
        self.upscore = self._upsample(64, 32)
        upscore = self._map(*_TO_SCORE_FR, "upscore")
        self.crop_offsets = {"score": coords.crop_offset(upscore, coords.CoordMap())}  # 19

    def blobs(self, x):
        b = self._trunk(x, {})                             # score_fr 1/32
        b["upscore"] = self.upscore(b["score_fr"])         # 1/1, larger than x
        b["score"] = F.crop(b["upscore"], self.crop_offsets["score"], x)   # 1/1, x's size
        return b

    @classmethod
    def from_vgg16(cls, vgg, num_classes: int = 21, learnable_upsampling: bool = False):
        """FCN-32s initialised from VGG16 (a :class:`VGG16` or its state dict, e.g. from
        :func:`minifcn.weights.import_vgg16`): conv1_1 ... conv5_3 copied, fc6/fc7 reshaped into
        convolutions (net surgery); fc8 is dropped, score_fr starts at zero.

        The width is read from ``vgg`` (``vgg.width``, or for a state the width its layers'
        channel counts fit: :func:`~minifcn.models.vgg.width_of_state`). The trainer's ``--init``
        does the same surgery on a model it has built, FCN or SegNet
        (:func:`minifcn.train.init_from_vgg16`).
        """
        state = vgg.state_dict() if isinstance(vgg, nn.Module) else dict(vgg)
        width = vgg.width if isinstance(vgg, VGG16) else width_of_state(state)
        net = cls(num_classes, width, learnable_upsampling).astype(state["conv1_1.weight"].dtype)
        state = convolutionalize_state(state)
        keep = {k: v for k, v in state.items() if not k.startswith("fc8.")}
        net.load_state_dict({**net.state_dict(), **keep})
        return net


class FCN16s(_FCN):
    """FCN-16s: score_fr upsampled 2x (``upscore2``, 4/2), plus pool4's scores cropped at 5,
    upsampled 16x (``upscore16``, 32/16) and cropped at 27."""

    _UPSAMPLING = ("upscore2", "upscore16")

    def __init__(self, num_classes: int = 21, width: float = 1.0, learnable_upsampling: bool = False):
        super().__init__(num_classes, width, learnable_upsampling)
        self.score_pool4 = _score_layer(scaled(512, self.width), num_classes)
        self.upscore2 = self._upsample(4, 2)
        self.upscore16 = self._upsample(32, 16)
        upscore2 = self._map(*_TO_SCORE_FR, "upscore2")
        self.crop_offsets = {
            "score_pool4c": coords.crop_offset(self._map(*_TO_POOL4, "score_pool4"), upscore2),  # 5
            "score": coords.crop_offset(upscore2.compose(coords.layer_map(self.upscore16)),
                                        coords.CoordMap()),                                     # 27
        }

    def blobs(self, x):
        b = self._trunk(x, {})                             # score_fr 1/32
        b["upscore2"] = self.upscore2(b["score_fr"])       # 1/16
        b["score_pool4"] = self.score_pool4(b["pool4"])    # 1/16
        b["score_pool4c"] = F.crop(b["score_pool4"], self.crop_offsets["score_pool4c"], b["upscore2"])
        b["fuse_pool4"] = b["upscore2"] + b["score_pool4c"]                # 1/16
        b["upscore16"] = self.upscore16(b["fuse_pool4"])   # 1/1
        b["score"] = F.crop(b["upscore16"], self.crop_offsets["score"], x)  # 1/1, x's size
        return b

    @classmethod
    def from_fcn32s(cls, fcn32s: FCN32s, learnable_upsampling=None):
        """FCN-16s initialised from a trained FCN-32s (the staged recipe): conv1_1 ... fc7 and
        score_fr copied; score_pool4 zero; upsampling bilinear."""
        _check_stage("from_fcn32s", fcn32s, FCN32s)
        learn = fcn32s.learnable_upsampling if learnable_upsampling is None else learnable_upsampling
        net = cls(fcn32s.num_classes, fcn32s.width, learn)
        return net._copy_from(fcn32s, set(VGG_LAYERS) | {"fc6", "fc7", "score_fr"})


class FCN8s(_FCN):
    """FCN-8s: as FCN-16s, then the fused stride-16 scores upsampled 2x (``upscore_pool4``,
    4/2) plus pool3's scores cropped at 9, upsampled 8x (``upscore8``, 16/8) and cropped at 31.

    ``at_once=True`` is the all-at-once variant: pool4 is scaled by 0.01 and pool3 by 0.0001
    before their score layers (fixed scales, so the skips start small and learn at a slower
    effective rate than score_fr).
    """

    _UPSAMPLING = ("upscore2", "upscore_pool4", "upscore8")

    def __init__(self, num_classes: int = 21, width: float = 1.0, learnable_upsampling: bool = False,
                 at_once: bool = False):
        super().__init__(num_classes, width, learnable_upsampling)
        self.at_once = bool(at_once)
        self.scale_pool4, self.scale_pool3 = (0.01, 0.0001) if self.at_once else (1.0, 1.0)
        self.score_pool4 = _score_layer(scaled(512, self.width), num_classes)
        self.score_pool3 = _score_layer(scaled(256, self.width), num_classes)
        self.upscore2 = self._upsample(4, 2)
        self.upscore_pool4 = self._upsample(4, 2)
        self.upscore8 = self._upsample(16, 8)
        upscore2 = self._map(*_TO_SCORE_FR, "upscore2")
        upscore_pool4 = upscore2.compose(coords.layer_map(self.upscore_pool4))
        upscore8 = upscore_pool4.compose(coords.layer_map(self.upscore8))
        self.crop_offsets = {
            "score_pool4c": coords.crop_offset(self._map(*_TO_POOL4, "score_pool4"), upscore2),       # 5
            "score_pool3c": coords.crop_offset(self._map(*_TO_POOL3, "score_pool3"), upscore_pool4),  # 9
            "score": coords.crop_offset(upscore8, coords.CoordMap()),                                # 31
        }

    def blobs(self, x):
        b = self._trunk(x, {})                             # score_fr 1/32
        b["upscore2"] = self.upscore2(b["score_fr"])       # 1/16
        pool4 = b["pool4"] * self.scale_pool4 if self.at_once else b["pool4"]
        b["score_pool4"] = self.score_pool4(pool4)         # 1/16
        b["score_pool4c"] = F.crop(b["score_pool4"], self.crop_offsets["score_pool4c"], b["upscore2"])
        b["fuse_pool4"] = b["upscore2"] + b["score_pool4c"]                # 1/16
        b["upscore_pool4"] = self.upscore_pool4(b["fuse_pool4"])           # 1/8
        pool3 = b["pool3"] * self.scale_pool3 if self.at_once else b["pool3"]
        b["score_pool3"] = self.score_pool3(pool3)         # 1/8
        b["score_pool3c"] = F.crop(b["score_pool3"], self.crop_offsets["score_pool3c"], b["upscore_pool4"])
        b["fuse_pool3"] = b["upscore_pool4"] + b["score_pool3c"]           # 1/8
        b["upscore8"] = self.upscore8(b["fuse_pool3"])     # 1/1
        b["score"] = F.crop(b["upscore8"], self.crop_offsets["score"], x)  # 1/1, x's size
        return b

    @classmethod
    def from_fcn16s(cls, fcn16s: FCN16s, learnable_upsampling=None):
        """FCN-8s initialised from a trained FCN-16s: conv1_1 ... fc7, score_fr, score_pool4 and
        upscore2 copied; score_pool3 zero; the other upsampling layers bilinear."""
        _check_stage("from_fcn16s", fcn16s, FCN16s)
        learn = fcn16s.learnable_upsampling if learnable_upsampling is None else learnable_upsampling
        net = cls(fcn16s.num_classes, fcn16s.width, learn)
        return net._copy_from(fcn16s, set(VGG_LAYERS) | {"fc6", "fc7", "score_fr", "score_pool4", "upscore2"})
