"""Big CPU arrays reused, not freshly allocated: a small caching allocator.

A big NumPy array is fresh memory from the operating system, and the first touch of each of
its pages costs a page fault. On the 2-core VM of ``benchmarks/README.md``, filling a fresh
1 GiB array takes 0.24-0.53 s against 0.12 s to fill it again. A training step allocates the
same maps every step (conv outputs, ReLU and batch-norm outputs, gradients), so the kernels
take their big outputs from here instead: a block that nothing uses any more is handed out
again, already in memory. PyTorch's CUDA caching allocator does the same for GPU memory (and
CuPy's memory pool for ours, so on a GPU :func:`empty` is plain ``cupy.empty``).

A block is free when only the cache refers to it. Every view of an array keeps the array that
owns the memory alive (``view.base``), so the owner's reference count tells: it is measured
once, on a block nobody else holds, and a block counting more has a live view somewhere.

The cache keeps at most ``MINIFCN_ARRAY_CACHE_MB`` MiB of blocks (default 4096, or a quarter
of the machine's memory if less; 0 turns it off); past that, free blocks are let go, and arrays
that still do not fit are plain ones.

>>> import numpy as np
>>> a = empty((1024, 1024), np.float32, like=np.zeros(1))   # 4 MiB: from the cache
>>> address = a.__array_interface__["data"][0]
>>> del a                                                   # free again
>>> b = empty((512, 2048), np.float32, like=np.zeros(1))    # same size: the same block
>>> b.__array_interface__["data"][0] == address
True
"""
from __future__ import annotations

import math
import os
import sys
import threading

import numpy as np

from ..backend import get_array_module

# Below this, malloc's own heap already reuses memory (and the bookkeeping would cost more).
MIN_BYTES = 1 << 20
# A free block serves requests down to this fraction of its size (no huge block for a small map).
MIN_FILL = 0.75

_blocks: list[np.ndarray] = []   # uint8 arrays owning the memory, smallest first
_lock = threading.Lock()


def _count(i):
    return sys.getrefcount(_blocks[i])


def _free_count():
    """The reference count of a block that only the cache holds, measured the way
    :func:`_find` measures (this interpreter's count, not an assumed constant)."""
    _blocks.insert(0, np.empty(1, np.uint8))
    try:
        return _count(0)
    finally:
        del _blocks[0]


# Free-threaded CPython defers reference counts, so they say nothing about views there.
_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()
_FREE = _free_count()


def _default_cap():
    """4 GiB, or a quarter of the machine's memory if that is less (a laptop keeps its RAM)."""
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):   # no sysconf (Windows) or no such name
        ram = 0
    return min(4096 << 20, ram // 4) if ram > 0 else 4096 << 20


def cap_bytes() -> int:
    """The most the cache holds: ``MINIFCN_ARRAY_CACHE_MB`` MiB, else :func:`_default_cap`."""
    value = os.environ.get("MINIFCN_ARRAY_CACHE_MB", "").strip()
    return int(value) << 20 if value.isdigit() else _default_cap()


def held_bytes() -> int:
    """Bytes of the blocks the cache holds, in use or not."""
    return sum(b.nbytes for b in _blocks)


def clear():
    """Let go of every block (those in use live on as ordinary arrays)."""
    with _lock:
        _blocks.clear()


def _find(nbytes):
    """The smallest free block that fits ``nbytes`` and is not too big for it, or None."""
    for i in range(len(_blocks)):
        size = _blocks[i].nbytes
        if size >= nbytes and _count(i) == _FREE:
            return _blocks[i] if nbytes >= MIN_FILL * size else None
    return None


def _make_room(nbytes, cap):
    """Drop free blocks, biggest first, until ``nbytes`` more fit under ``cap``."""
    held = held_bytes()
    for i in range(len(_blocks) - 1, -1, -1):
        if held + nbytes <= cap:
            break
        if _count(i) == _FREE:
            held -= _blocks[i].nbytes
            del _blocks[i]
    return held + nbytes <= cap


def empty(shape, dtype, like):
    """An uninitialised array, like ``xp.empty(shape, dtype)`` for the array module of ``like``,
    taken from the cache when it is a big CPU array."""
    xp = get_array_module(like)
    dtype = np.dtype(dtype)
    # math.prod, not np.prod: 3-5 us a call, and a layer makes about ten
    nbytes = (math.prod(shape) if hasattr(shape, "__len__") else int(shape)) * dtype.itemsize
    if xp is not np or nbytes < MIN_BYTES or not _ENABLED:
        return xp.empty(shape, dtype=dtype)
    with _lock:
        block = _find(nbytes)
        if block is None:
            cap = cap_bytes()
            if not _make_room(nbytes, cap):
                return np.empty(shape, dtype=dtype)
            block = np.empty(nbytes, dtype=np.uint8)
            _blocks.append(block)
            _blocks.sort(key=lambda b: b.nbytes)
        return block[:nbytes].view(dtype).reshape(shape)


def zeros(shape, dtype, like):
    """:func:`empty`, filled with zeros."""
    a = empty(shape, dtype, like)
    a.fill(0)
    return a
