"""Per-channel sums of NCHW arrays: a bias gradient, batch-norm statistics.

>>> import numpy as np
>>> channel_sum(np.ones((2, 3, 4, 5)))
array([40., 40., 40.])
"""
from __future__ import annotations


def channel_sum(v):
    """(n, c, h, w) -> (c,): sum each channel over the batch and the image.

    Summing each image's channel over its ``h*w`` values first, then the batch, reads along
    memory on both backends; ``sum(axis=(0, 2, 3))`` strides across channels (CuPy: 7 ms instead
    of <1 ms for SegNet's 64x360x480 maps on an H100). Summing over axes 2 and 3 rather than a
    reshaped ``h*w`` axis spares a copy of a strided view (a convolution's output with its junk
    columns cut: 17 -> 7 ms for SegNet's 64x360x480 on the CPU). A batch of one skips the second
    reduction: on a GPU each costs a kernel launch.
    """
    s = v.sum(axis=(2, 3))
    return s[0] if v.shape[0] == 1 else s.sum(axis=0)
