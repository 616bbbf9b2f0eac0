"""Per-channel sums of NCHW arrays: a bias gradient, batch-norm statistics.

>>> import numpy as np
>>> channel_sum(np.ones((2, 3, 4, 5)))
array([40., 40., 40.])
"""
from __future__ import annotations


def channel_sum(v):
    """(n, c, h, w) -> (c,): sum each channel over the batch and the image.

    Summing along memory (the contiguous ``h*w`` of each image's channel first, then the batch)
    is one fast pass on both backends; ``sum(axis=(0, 2, 3))`` strides across channels (CuPy: 7
    ms instead of <1 ms for SegNet's 64x360x480 maps on an H100). A batch of one skips the second
    reduction: on a GPU each costs a kernel launch.
    """
    n, c = v.shape[:2]
    if n == 1:
        return v.reshape(c, -1).sum(axis=1)
    return v.reshape(n, c, -1).sum(axis=2).sum(axis=0)
