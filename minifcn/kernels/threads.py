"""Elementwise work on every CPU core.

BLAS runs its matrix products on all cores by itself; the rest of NumPy runs on one. But
NumPy's loops release the GIL, so Python threads that each run the same operations on their
own block of an array do run in parallel: ReLU of SegNet's 64x360x480 maps takes 17 ms on one
core and 10 ms on two. :func:`map_blocks` is that, and nothing more. On a GPU (or with a single
thread, or a single block) it is a plain loop: the GPU is parallel already.

The number of threads is ``MINIFCN_NUM_THREADS``, else ``OMP_NUM_THREADS`` or
``OPENBLAS_NUM_THREADS`` (so one setting governs BLAS and these loops), else the cores this
process may run on.

>>> import numpy as np
>>> x = np.arange(8.0).reshape(2, 4)
>>> map_blocks(lambda b: float(x[:, b].sum()), [slice(0, 2), slice(2, 4)], x)
[10.0, 18.0]
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from ..backend import device_of

_pool, _pool_threads = None, 0


def num_threads() -> int:
    """Threads for :func:`map_blocks` (see the module doc)."""
    for var in ("MINIFCN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var, "").strip().isdigit() and int(os.environ[var]) > 0:
            return int(os.environ[var])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def map_blocks(fn, blocks, like):
    """``[fn(b) for b in blocks]``, in order, the calls spread over the CPU's threads when
    ``like`` (an array the blocks index) lives on the CPU. ``fn`` must only write its own block."""
    blocks = list(blocks)
    if len(blocks) < 2 or device_of(like) == "cuda" or num_threads() < 2:
        return [fn(b) for b in blocks]
    global _pool, _pool_threads
    if _pool is None or _pool_threads != num_threads():  # made once, again if the setting changes
        _pool_threads = num_threads()
        _pool = ThreadPoolExecutor(_pool_threads, thread_name_prefix="minifcn")
    return list(_pool.map(fn, blocks))


def channel_blocks(x, per_block=None):
    """Slices of the channels of x (n, c, h, w) for :func:`map_blocks`: whole channels, about
    ``per_block`` values a block (default: one block per thread); ``[slice(None)]`` when one
    block holds them all (always on a GPU)."""
    c = x.shape[1]
    if device_of(x) == "cuda":
        return [slice(None)]
    per = -(-c // num_threads()) if per_block is None else max(1, per_block // max(1, x.size // c))
    if per >= c:
        return [slice(None)]
    return [slice(c0, min(c, c0 + per)) for c0 in range(0, c, per)]
