"""PyTorch twins of minifcn's FCN-8s, SegNet (Bayesian SegNet too) and SegNet-Basic: the same
layers, shapes and parameter names.

Only the benchmarks import this (PyTorch is a yardstick, never a dependency). Parameter names
match minifcn's state dicts, so ``load_minifcn_state`` copies a minifcn model's weights in and
``check_twin`` proves the two compute the same function before anything is timed.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

VGG_BLOCKS = (("conv1_1", "conv1_2"), ("conv2_1", "conv2_2"), ("conv3_1", "conv3_2", "conv3_3"),
              ("conv4_1", "conv4_2", "conv4_3"), ("conv5_1", "conv5_2", "conv5_3"))
VGG_CHANNELS = (64, 128, 256, 512, 512)


def _bilinear(channels, k):
    """FCN's fixed upsampling weight: a bilinear kernel on the channel diagonal (c, c, k, k)."""
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    og = np.ogrid[:k, :k]
    filt = (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)
    w = np.zeros((channels, channels, k, k), dtype=np.float32)
    w[range(channels), range(channels)] = filt
    return torch.from_numpy(w)


def _channels(width):
    """VGG's channels per block and fc width, scaled as minifcn scales them (``width`` 1: the
    paper's)."""
    from minifcn.models.vgg import VGG_FC, scaled
    return tuple(scaled(c, width) for c in VGG_CHANNELS), scaled(VGG_FC, width)


class TorchFCN8s(nn.Module):
    """FCN-8s (Caffe reference: conv1_1 padding 100, ceil pools, crops 5, 9, 31, fixed upsampling)."""

    def __init__(self, num_classes=21, crops=(5, 9, 31), width=1.0):
        super().__init__()
        channels, fc = _channels(width)
        c_in = 3
        for b, block in enumerate(VGG_BLOCKS):
            for name in block:
                pad = 100 if name == "conv1_1" else 1
                setattr(self, name, nn.Conv2d(c_in, channels[b], 3, padding=pad))
                c_in = channels[b]
        self.fc6 = nn.Conv2d(c_in, fc, 7)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.score_fr = nn.Conv2d(fc, num_classes, 1)
        self.score_pool4 = nn.Conv2d(channels[3], num_classes, 1)
        self.score_pool3 = nn.Conv2d(channels[2], num_classes, 1)
        for name, k, s in (("upscore2", 4, 2), ("upscore_pool4", 4, 2), ("upscore8", 16, 8)):
            up = nn.ConvTranspose2d(num_classes, num_classes, k, s, bias=False)
            up.weight.data.copy_(_bilinear(num_classes, k))
            up.weight.requires_grad_(False)
            setattr(self, name, up)
        self.crops = crops

    def forward(self, x):
        h, pools = x, {}
        for b, block in enumerate(VGG_BLOCKS, 1):
            for name in block:
                h = F.relu(getattr(self, name)(h))
            h = pools[b] = F.max_pool2d(h, 2, 2, ceil_mode=True)
        h = F.dropout(F.relu(self.fc6(h)), 0.5, self.training)
        h = F.dropout(F.relu(self.fc7(h)), 0.5, self.training)
        up2 = self.upscore2(self.score_fr(h))
        c4, c3, c = self.crops
        s4 = self.score_pool4(pools[4])[:, :, c4:c4 + up2.shape[2], c4:c4 + up2.shape[3]]
        up4 = self.upscore_pool4(up2 + s4)
        s3 = self.score_pool3(pools[3])[:, :, c3:c3 + up4.shape[2], c3:c3 + up4.shape[3]]
        up8 = self.upscore8(up4 + s3)
        return up8[:, :, c:c + x.shape[2], c:c + x.shape[3]].contiguous()


class TorchSegNet(nn.Module):
    """SegNet: 13 conv+BN+ReLU encoder, ceil pools with indices, mirrored decoder, conv1_1_D scores.

    ``dropout``: Bayesian SegNet, dropout of that rate after encoder blocks 3-5 (after their
    pools) and decoder blocks 5-3, as minifcn's ``BayesianSegNet``."""

    def __init__(self, num_classes=21, width=1.0, dropout=None):
        super().__init__()
        self.dropout = dropout
        channels, _ = _channels(width)
        c_in = 3
        for b, block in enumerate(VGG_BLOCKS):
            for name in block:
                self._conv_bn(name, c_in, channels[b])
                c_in = channels[b]
        for b in range(5, 0, -1):
            block = tuple(f"{n}_D" for n in reversed(VGG_BLOCKS[b - 1]))
            for i, name in enumerate(block):
                last = i == len(block) - 1
                c_out = (channels[b - 2] if b > 1 else num_classes) if last else channels[b - 1]
                if name == "conv1_1_D":
                    setattr(self, name, nn.Conv2d(c_in, c_out, 3, padding=1))
                else:
                    self._conv_bn(name, c_in, c_out)
                c_in = c_out

    def _conv_bn(self, name, c_in, c_out):
        setattr(self, name, nn.Conv2d(c_in, c_out, 3, padding=1))
        setattr(self, f"{name}_bn", nn.BatchNorm2d(c_out))

    def _cbr(self, name, h):
        return F.relu(getattr(self, f"{name}_bn")(getattr(self, name)(h)))

    def forward(self, x):
        h, indices, sizes = x, {}, {}
        for b, block in enumerate(VGG_BLOCKS, 1):
            for name in block:
                h = self._cbr(name, h)
            sizes[b] = h.shape[2:]
            h, indices[b] = F.max_pool2d(h, 2, 2, ceil_mode=True, return_indices=True)
            h = self._drop(b, h)
        for b in range(5, 0, -1):
            h = F.max_unpool2d(h, indices[b], 2, 2, output_size=sizes[b])
            for name in (f"{n}_D" for n in reversed(VGG_BLOCKS[b - 1])):
                h = getattr(self, name)(h) if name == "conv1_1_D" else self._cbr(name, h)
            h = self._drop(b, h)
        return h

    def _drop(self, block, h):
        if self.dropout is None or block < 3:
            return h
        return F.dropout(h, self.dropout, self.training)


class TorchSegNetBasic(nn.Module):
    """SegNet-Basic: input LRN, 4 encoder blocks (7x7 conv, BN, ReLU, pool with indices) of 64
    channels, 4 decoder blocks (unpool, 7x7 conv, BN, no ReLU), a 1x1 classifier."""

    def __init__(self, num_classes=11, width=1.0, lrn=True):
        super().__init__()
        from minifcn.models.vgg import scaled
        c = scaled(64, width)
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0) if lrn else None
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Conv2d(3 if i == 1 else c, c, 7, padding=3))
            setattr(self, f"conv{i}_bn", nn.BatchNorm2d(c))
        for i in range(4, 0, -1):
            setattr(self, f"conv_decode{i}", nn.Conv2d(c, c, 7, padding=3))
            setattr(self, f"conv_decode{i}_bn", nn.BatchNorm2d(c))
        self.conv_classifier = nn.Conv2d(c, num_classes, 1)

    def forward(self, x):
        h = x if self.norm is None else self.norm(x)
        indices, sizes = {}, {}
        for i in range(1, 5):
            h = F.relu(getattr(self, f"conv{i}_bn")(getattr(self, f"conv{i}")(h)))
            sizes[i] = h.shape[2:]
            h, indices[i] = F.max_pool2d(h, 2, 2, ceil_mode=True, return_indices=True)
        for i in range(4, 0, -1):
            h = F.max_unpool2d(h, indices[i], 2, 2, output_size=sizes[i])
            h = getattr(self, f"conv_decode{i}_bn")(getattr(self, f"conv_decode{i}")(h))
        return self.conv_classifier(h)


def load_minifcn_state(tmodel, state):
    """Copy a minifcn state dict (name -> array) into the twin; every name must match."""
    own = tmodel.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    extra = [k for k in state if k not in own]
    if missing or extra:
        raise ValueError(f"torch twin and minifcn model differ: missing {missing[:5]}, extra {extra[:5]}")
    with torch.no_grad():
        for k, v in state.items():
            if tuple(own[k].shape) != tuple(v.shape):
                raise ValueError(f"{k}: torch {tuple(own[k].shape)} vs minifcn {tuple(v.shape)}")
            own[k].copy_(torch.from_numpy(np.array(v, order="C")))   # ascontiguousarray makes 0-d 1-d


def check_twin(model, tmodel, x):
    """Largest relative difference of the two models' eval-mode outputs on x (n, 3, h, w)."""
    from minifcn import Tensor, no_grad
    model.eval()
    tmodel.eval()
    with no_grad():
        ours = model(Tensor(x)).numpy()
    with torch.no_grad():
        theirs = tmodel(torch.from_numpy(x)).numpy()
    model.train()
    tmodel.train()
    if ours.shape != theirs.shape:
        raise ValueError(f"output shapes differ: minifcn {ours.shape}, torch {theirs.shape}")
    return float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-30))
