"""SegNet, SegNet-Basic and Bayesian SegNet (Badrinarayanan, Kendall & Cipolla).

SegNet's encoder is VGG16's thirteen convolutions, each followed by batch norm and ReLU, and
five 2x2 stride-2 max pools that *keep the positions of their maxima*. The decoder mirrors the
encoder: each block unpools with the indices of the matching pool (the value goes back where
its maximum came from, zeros elsewhere), then convolutions + BN + ReLU. The last convolution
gives the class scores with neither BN nor ReLU after it (softmax comes with the loss).

The indices are passed explicitly, as local variables of ``forward``, from each pool to its
unpool; no layer stores them. Unpooling is told the size before pooling, so odd sizes come back
exactly (pools round up, as Caffe's, so every pixel is seen by a pool window).

>>> import numpy as np
>>> from minifcn import Tensor
>>> net = SegNet(num_classes=4, width=1 / 32)
>>> net(Tensor(np.zeros((2, 3, 45, 67), np.float32))).shape
(2, 4, 45, 67)
"""
from __future__ import annotations

import numbers

from .. import backend, nn
from .. import functional as F
from ..autograd import as_tensor, no_grad
from .vgg import VGG_BLOCKS, VGG_CHANNELS, check_num_classes, check_width, scaled

# decoder convolutions, block 5 first: conv5_3_D ... conv1_1_D (the Caffe names)
_DECODER_BLOCKS = tuple(tuple(f"{name}_D" for name in reversed(block)) for block in reversed(VGG_BLOCKS))


def _min_size(num_pools):
    """Smallest input side whose last pool still has 2 pixels to choose from (ceil pooling):
    2**(pools-1) + 1. Below it the deepest pool picks from one pixel, records nothing worth
    unpooling, and batch norm there has one value per channel for a single image."""
    return 2 ** (num_pools - 1) + 1


def _check_input(who, x, num_pools):
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{who}: input must be 4-D (n, c, h, w), got shape {tuple(x.shape)}")
    least = _min_size(num_pools)
    if min(x.shape[2:]) < least:
        raise ValueError(f"{who}: input {x.shape[2]}x{x.shape[3]} is too small for {num_pools} "
                         f"2x2 pools; each side must be at least {least}")
    return x


class SegNet(nn.Module):
    """SegNet: x (n, in_channels, h, w) -> class scores (n, num_classes, h, w), h, w >= 17.

    Encoder ``conv1_1 ... conv5_3`` (3x3, each with ``<name>_bn`` and ReLU), ``pool1 ... pool5``;
    decoder ``upsample5 ... upsample1`` and ``conv5_3_D ... conv1_1_D`` with ``<name>_bn``
    except the last, ``conv1_1_D``, which outputs the scores.

    Args:
        num_classes: output classes.
        width: channel multiplier (1.0 = the paper: 64, 128, 256, 512, 512).
        in_channels: image channels.
    """

    _POOLS = 5

    def __init__(self, num_classes: int, width: float = 1.0, in_channels: int = 3, _dropout=None):
        super().__init__()
        self.num_classes = check_num_classes(num_classes, type(self).__name__)
        self.width = check_width(width, type(self).__name__)
        ch = [scaled(c, self.width) for c in VGG_CHANNELS]
        c_in = in_channels
        for b, block in enumerate(VGG_BLOCKS, 1):
            for name in block:
                self._conv_bn(name, c_in, ch[b - 1], 3)
                c_in = ch[b - 1]
            setattr(self, f"pool{b}", nn.MaxPool2d(2, 2, ceil_mode=True, return_indices=True))
        for b, block in zip(range(5, 0, -1), _DECODER_BLOCKS):
            setattr(self, f"upsample{b}", nn.MaxUnpool2d(2, 2))
            for i, name in enumerate(block):
                last_of_block = i == len(block) - 1
                # the last conv of a block narrows to the next block's channels (or the classes)
                c_out = (ch[b - 2] if b > 1 else num_classes) if last_of_block else ch[b - 1]
                if name == "conv1_1_D":
                    setattr(self, name, nn.Conv2d(c_in, c_out, 3, padding=1))  # scores: no BN, no ReLU
                else:
                    self._conv_bn(name, c_in, c_out, 3)
                c_in = c_out
        # Bayesian SegNet: dropout after encoder blocks 3-5 and decoder blocks 5-3
        self.dropout_p = _dropout
        if _dropout is not None:
            for b in (3, 4, 5):
                setattr(self, f"encdrop{b}", nn.Dropout(_dropout))
            for b in (5, 4, 3):
                setattr(self, f"decdrop{b}", nn.Dropout(_dropout))

    def _conv_bn(self, name, c_in, c_out, k):
        setattr(self, name, nn.Conv2d(c_in, c_out, k, padding=k // 2))
        setattr(self, f"{name}_bn", nn.BatchNorm2d(c_out))

    def _cbr(self, name, h):
        """conv, batch norm, ReLU."""
        return F.relu(getattr(self, f"{name}_bn")(getattr(self, name)(h)))

    def _drop(self, name, h):
        drop = self._modules.get(name)
        return drop(h) if drop is not None else h

    def forward(self, x):
        h = _check_input(type(self).__name__, x, self._POOLS)
        indices, sizes = {}, {}                         # pool b -> argmax positions, pre-pool shape
        for b, block in enumerate(VGG_BLOCKS, 1):       # encoder: after block b, stride 1/2**b
            for name in block:
                h = self._cbr(name, h)
            sizes[b] = h.shape
            h, indices[b] = getattr(self, f"pool{b}")(h)
            h = self._drop(f"encdrop{b}", h)
        for b, block in zip(range(5, 0, -1), _DECODER_BLOCKS):   # decoder: stride 1/2**b -> 1/2**(b-1)
            h = getattr(self, f"upsample{b}")(h, indices[b], output_size=sizes[b])
            for name in block:
                h = getattr(self, name)(h) if name == "conv1_1_D" else self._cbr(name, h)
            h = self._drop(f"decdrop{b}", h)
        return h                                        # 1/1 scores, no BN / ReLU


class SegNetBasic(nn.Module):
    """SegNet-Basic: 4 encoder and 4 decoder blocks of 64 channels with 7x7 kernels.

    The input first goes through ``norm``, a local response normalisation across the colour
    channels (size 5, alpha 1e-4, beta 0.75, as the reference prototxt: each pixel divided by
    a power of its own colour energy, a per-pixel contrast normalisation). Encoder
    ``conv1 ... conv4`` each with ``conv<i>_bn``, ReLU and ``pool<i>`` (indices kept); decoder
    ``upsample4 ... upsample1``, ``conv_decode4 ... conv_decode1`` each with BN and, as in the
    reference prototxt, *no* ReLU; then ``conv_classifier`` (1x1) to the classes.
    x (n, c, h, w), h, w >= 9.

    Args:
        num_classes: output classes (11 for CamVid).
        width: channel multiplier (1.0 = 64 channels).
        in_channels: image channels.
        lrn: keep the input LRN (``False``: the image goes straight to ``conv1``). It has no
            parameters, so checkpoints load either way.
    """

    _POOLS = 4

    def __init__(self, num_classes: int, width: float = 1.0, in_channels: int = 3, lrn: bool = True):
        super().__init__()
        self.num_classes = check_num_classes(num_classes, "SegNetBasic")
        self.width = check_width(width, "SegNetBasic")
        c = scaled(64, self.width)
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75) if lrn else None
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Conv2d(in_channels if i == 1 else c, c, 7, padding=3))
            setattr(self, f"conv{i}_bn", nn.BatchNorm2d(c))
            setattr(self, f"pool{i}", nn.MaxPool2d(2, 2, ceil_mode=True, return_indices=True))
        for i in range(4, 0, -1):
            setattr(self, f"upsample{i}", nn.MaxUnpool2d(2, 2))
            setattr(self, f"conv_decode{i}", nn.Conv2d(c, c, 7, padding=3))
            setattr(self, f"conv_decode{i}_bn", nn.BatchNorm2d(c))
        self.conv_classifier = nn.Conv2d(c, num_classes, 1)

    def forward(self, x):
        h = _check_input("SegNetBasic", x, self._POOLS)
        if self.norm is not None:
            h = self.norm(h)
        indices, sizes = {}, {}
        for i in range(1, 5):                           # encoder: stride 1/2**i after block i
            h = F.relu(getattr(self, f"conv{i}_bn")(getattr(self, f"conv{i}")(h)))
            sizes[i] = h.shape
            h, indices[i] = getattr(self, f"pool{i}")(h)
        for i in range(4, 0, -1):                       # decoder: back to stride 1/2**(i-1)
            h = getattr(self, f"upsample{i}")(h, indices[i], output_size=sizes[i])
            h = getattr(self, f"conv_decode{i}_bn")(getattr(self, f"conv_decode{i}")(h))
        return self.conv_classifier(h)                  # 1/1 scores


class BayesianSegNet(SegNet):
    """Bayesian SegNet: SegNet with dropout ``p`` after the central six blocks (encoder blocks
    3-5 after their pools: ``encdrop3..5``; decoder blocks 5-3: ``decdrop5..3``).

    Dropout is on in training and off in a plain eval pass (deterministic);
    :meth:`mc_predict` keeps it on at test time, with batch norm on its running statistics.
    """

    def __init__(self, num_classes: int, width: float = 1.0, in_channels: int = 3, p: float = 0.5):
        if not 0.0 < p < 1.0:
            raise ValueError(f"BayesianSegNet: dropout p must be in (0, 1), got {p!r}")
        super().__init__(num_classes, width, in_channels, _dropout=float(p))

    def _dropouts(self):
        return [m for m in self.modules() if isinstance(m, nn.Dropout)]

    def mc_predict(self, x, samples: int = 50):
        """Monte-Carlo dropout: ``samples`` stochastic passes in eval mode with dropout on.

        Shapes: x (n, c, h, w) -> ``(mean_probs (n, C, h, w), prediction (n, h, w) int,
        uncertainty (n, h, w))`` as arrays on x's device. ``mean_probs`` is the mean softmax;
        ``prediction`` its argmax; ``uncertainty`` the per-class variance of the softmax over
        the samples, averaged over the classes. The model's train/eval mode is restored.

        >>> import numpy as np
        >>> net = BayesianSegNet(3, width=1 / 32)
        >>> probs, pred, unc = net.mc_predict(np.zeros((1, 3, 17, 17), np.float32), samples=2)
        >>> probs.shape, pred.shape, unc.shape
        ((1, 3, 17, 17), (1, 17, 17), (1, 17, 17))
        """
        if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or samples < 1:
            raise ValueError(f"mc_predict: samples must be a positive int, got {samples!r}")
        x = as_tensor(x)
        was_training = self.training
        drops = self._dropouts()
        self.eval()                                     # BN: running statistics
        for d in drops:
            d.always_on = True                          # dropout: still sampling
        try:
            with no_grad():
                # float64 sums: E[p^2] - E[p]^2 of a confident pixel (p near 1, variance 1e-9)
                # is two near-equal numbers; in float32 their difference is noise
                total = total_sq = None
                for _ in range(samples):
                    p = F.softmax(self(x), axis=1).data.astype("float64")
                    total = p if total is None else total + p
                    total_sq = p * p if total_sq is None else total_sq + p * p
        finally:
            for d in drops:
                d.always_on = False
            self.train(was_training)
        xp = backend.get_array_module(total)
        mean = total / samples
        var = xp.maximum(total_sq / samples - mean * mean, 0)   # E[p^2] - E[p]^2, clipped at 0
        dtype = x.dtype   # handed back in the input's dtype, as the model's outputs
        return mean.astype(dtype), mean.argmax(axis=1), var.mean(axis=1).astype(dtype)
