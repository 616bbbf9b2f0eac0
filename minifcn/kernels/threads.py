"""Elementwise work on every CPU core.

BLAS runs its matrix products on all cores by itself; the rest of NumPy runs on one. But
NumPy's loops release the GIL, so Python threads that each run the same operations on their
own block of an array do run in parallel: ReLU of SegNet's 64x360x480 maps takes 17 ms on one
core and 10 ms on two. :func:`map_blocks` is that, and nothing more. On a GPU (or with a single
thread, or a single block) it is a plain loop: the GPU is parallel already.

The number of threads is ``MINIFCN_NUM_THREADS``, else ``OMP_NUM_THREADS`` or
``OPENBLAS_NUM_THREADS`` (so one setting governs BLAS and these loops), else the cores this
process may run on.

Matrix products can be split the same way: each thread runs BLAS on its own slice, with BLAS
told to use one core (:func:`blas_threads`). For the short, wide products of VGG's 64- and
128-channel layers that beats letting OpenBLAS split each product over both cores itself
(192 x 192 @ 192 x 16384: 97-104 GFLOP/s that way, 132-134 as two one-core products), and the
copies and additions between the products run on both cores too.

>>> import numpy as np
>>> x = np.arange(8.0).reshape(2, 4)
>>> map_blocks(lambda b: float(x[:, b].sum()), [slice(0, 2), slice(2, 4)], x)
[10.0, 18.0]
"""
from __future__ import annotations

import ctypes
import glob
import os
import queue
import re
import threading
from contextlib import contextmanager

from ..backend import device_of


def num_threads() -> int:
    """Threads for :func:`map_blocks` (see the module doc)."""
    for var in ("MINIFCN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var, "").strip().isdigit() and int(os.environ[var]) > 0:
            return int(os.environ[var])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_POOL_PREFIX = "minifcn"
_helpers: list[queue.SimpleQueue] = []   # one inbox per helper thread
_helpers_lock = threading.Lock()
_inside = threading.local()   # .active: this thread is running a block of map_blocks


class _Blocks:
    """One :func:`map_blocks` call: its blocks, handed out one at a time to whichever thread
    asks next (the caller and the helpers it woke), and their results, in order."""

    def __init__(self, fn, blocks):
        self.fn, self.blocks, self.n = fn, blocks, len(blocks)
        self.results = [None] * len(blocks)
        self.errors = []              # (block index, exception)
        self.taken = self.finished = 0
        self.lock = threading.Lock()
        self.all_finished = threading.Event()

    def _claim(self):
        """The index of the next block nobody has taken, or None. After a failed block the
        rest are not started (counted as finished, so that nobody waits for them)."""
        n = self.n
        with self.lock:
            if self.errors and self.taken < n:
                self.finished += n - self.taken
                self.taken = n
                if self.finished == n:
                    self.all_finished.set()
            if self.taken == n:
                return None
            self.taken += 1
            return self.taken - 1

    def run(self):
        """Run blocks until none is left (on the caller, and on each helper it woke)."""
        while (i := self._claim()) is not None:
            try:
                result, error = self.fn(self.blocks[i]), None
            except BaseException as e:   # handed to the caller, which raises it
                result, error = None, e
            with self.lock:
                self.results[i] = result
                if error is not None:
                    self.errors.append((i, error))
                self.finished += 1
                if self.finished == self.n:
                    self.all_finished.set()


def _helper(inbox):
    while (job := inbox.get()) is not None:
        job.run()


def _start_helpers(count):
    """``count`` helper threads, started once (again if ``num_threads()`` changes)."""
    global _helpers
    with _helpers_lock:
        if len(_helpers) != count:
            for inbox in _helpers:
                inbox.put(None)        # the old ones end
            _helpers = [queue.SimpleQueue() for _ in range(count)]
            for k, inbox in enumerate(_helpers):
                threading.Thread(target=_helper, args=(inbox,), name=f"{_POOL_PREFIX}_{k}",
                                 daemon=True).start()
        return _helpers


def map_blocks(fn, blocks, like):
    """``[fn(b) for b in blocks]``, in order, the calls spread over the CPU's threads when
    ``like`` (an array the blocks index) lives on the CPU. ``fn`` must only write its own block.

    The calling thread works too: it wakes up to ``num_threads() - 1`` helpers, then takes
    blocks itself, each thread taking the next block nobody has, and it waits only for blocks
    a helper has started. A helper that wakes late finds nothing left and goes back to sleep.
    So a handoff costs the caller about 10 us, not a helper's wake-up, 50-100 us on the VM of
    ``benchmarks/README.md``: ``concurrent.futures.ThreadPoolExecutor``, whose caller waits
    for every block, took 50-100 us for two empty blocks and about 160 for two blocks of
    13 us. An exception in a block is raised here, once the blocks started have finished (the
    first block's, by position, when several fail); the blocks not started by then are not.

    Called within a block (``fn`` itself splitting its block again), the blocks run there, in
    turn: the other threads may all be busy, and one that waited on them would wait for ever."""
    blocks = list(blocks)
    nested = getattr(_inside, "active", False) or threading.current_thread().name.startswith(
        _POOL_PREFIX + "_")
    if len(blocks) < 2 or device_of(like) == "cuda" or num_threads() < 2 or nested:
        return [fn(b) for b in blocks]
    job = _Blocks(fn, blocks)
    for inbox in _start_helpers(num_threads() - 1)[:len(blocks) - 1]:
        inbox.put(job)
    _inside.active = True
    try:
        job.run()
    finally:
        _inside.active = False
    job.all_finished.wait()
    results, errors = job.results, job.errors
    # a helper that has not woken yet still holds the job in its inbox: let go of what it refers
    # to (the blocks' arrays, through fn), or those arrays live on, and the array cache cannot
    # hand their memory out again (FCN-8s's step at 500x500 peaked 191 MiB higher)
    job.fn = job.blocks = job.results = None
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    return results


def products_on_cores(fn, groups, like):
    """``[fn(g) for g in groups]`` for groups of matrix products, the groups on the CPU's
    threads, each running BLAS on one core (:func:`blas_threads`): two one-core products beat
    one two-core product on short, wide shapes (see the module doc), and the copies and sums
    between them run on both cores too. A plain loop for a single group, on a GPU, and with a
    BLAS whose thread count cannot be set (MKL, Accelerate): there each product already runs
    on every core, and two at once would put twice as many BLAS threads on the cores."""
    if len(groups) < 2 or device_of(like) == "cuda" or blas_controls() is None:
        return [fn(g) for g in groups]
    with blas_threads(1):
        return map_blocks(fn, groups, like)


# A helper thread takes 50-100 us to wake on the 2-core VM of benchmarks/README.md, the time one
# core takes to write a few MB. The caller of map_blocks does not wait for that (it takes the
# blocks itself meanwhile), but a block only gains from a second thread once it takes longer.
# So the blocks of :func:`channel_blocks` hold at least this many values of the array they cut
# (2 MB of float32), and smaller arrays stay on the calling thread: ReLU of 64x64x64 took 105 us
# in one block and 146 in two, of 64x96x96 230 and 223, of 64x128x128 394 and 284; an im2col
# (3x3) of 64x64x64, with the thread pool before, 675 and 659.
MIN_BLOCK_VALUES = 1 << 19


def channel_blocks(x, per_block=None, work=1):
    """Slices of the channels of x (n, c, h, w) for :func:`map_blocks`: whole channels, about
    ``per_block`` values a block (default: at most one block per thread, as equal as whole
    channels allow, each of at least ``MIN_BLOCK_VALUES / work`` values); ``[slice(None)]`` when
    no two blocks of that size fit (always on a GPU). ``work``: values the operation writes per
    value of x (an im2col: ``kh*kw``), so heavier work is shared out from smaller arrays. An RGB
    image's im2col (3 x 224 x 224, 3x3) thus stays on one thread: its channels would split 2 + 1,
    the 1 under the minimum, and the split took 0.51-0.65 ms against 0.29-0.31 on one thread.

    >>> import numpy as np
    >>> channel_blocks(np.empty((1, 64, 8, 8)))             # 4096 values: not worth a thread
    [slice(None, None, None)]
    >>> len(channel_blocks(np.empty((1, 64, 128, 128)))) == min(2, num_threads())   # 1 M values
    True
    """
    c = x.shape[1]
    least = max(1, MIN_BLOCK_VALUES // work)
    if device_of(x) == "cuda" or x.size < 2 * least:
        return [slice(None)]
    per_channel = max(1, x.size // c)
    if per_block is None:   # as many blocks as hold ``least`` values each in whole channels
        blocks = min(num_threads(), c // -(-least // per_channel))
        if blocks < 2:
            return [slice(None)]
        return [slice(c0, c1) for c0, c1 in row_groups(c, blocks)]
    per = max(1, per_block // per_channel)   # the caller's size (chosen for the cache)
    if per >= c:
        return [slice(None)]
    return [slice(c0, min(c, c0 + per)) for c0 in range(0, c, per)]


def row_groups(n_rows, groups):
    """``groups`` contiguous ranges ``(r0, r1)`` of ``range(n_rows)``, as equal as they can be,
    none empty (fewer when ``n_rows < groups``).

    >>> row_groups(10, 3)
    [(0, 3), (3, 6), (6, 10)]
    """
    groups = min(groups, n_rows)
    return [(g * n_rows // groups, (g + 1) * n_rows // groups) for g in range(groups)]


# -- the number of BLAS threads -----------------------------------------------------------------
# OpenBLAS (NumPy's wheels bundle it) keeps one process-wide thread count, read and set through
# ``openblas_set_num_threads`` / ``openblas_get_num_threads``, whose names carry the prefix and
# suffix of the build (``scipy_openblas_set_num_threads64_`` in NumPy 2's wheels). With another
# BLAS (MKL in conda's NumPy, Accelerate in the macOS arm64 wheels) nothing is found,
# :func:`blas_threads` changes nothing, and :func:`products_on_cores` runs its groups in turn.

_blas = None   # (set, get, library), or False once looked for and not found
_blas_lock = threading.Lock()
_blas_users, _blas_before = 0, None   # blocks inside blas_threads now; the count they found


def _loaded_libraries():
    """Paths of the libraries that look like OpenBLAS: NumPy's own first (SciPy may have loaded
    another copy, whose thread count would not be NumPy's), then any mapped into this process."""
    import numpy
    here = os.path.dirname(numpy.__file__)
    paths = []
    for pattern in ("../numpy.libs/*openblas*", ".dylibs/*openblas*"):   # wheels: beside NumPy
        paths += sorted(glob.glob(os.path.join(here, pattern)))
    try:
        with open("/proc/self/maps") as maps:   # Linux: every mapped file (a system OpenBLAS)
            paths += [line.split(None, 5)[-1].strip() for line in maps if "openblas" in line.lower()]
    except OSError:
        pass
    return list(dict.fromkeys(os.path.realpath(p) for p in paths if os.path.isfile(p)))


def _openblas_function(lib, name):
    """OpenBLAS's function ``openblas_<name>`` in ``lib`` under this build's prefix and suffix
    (``scipy_openblas_<name>64_`` in NumPy 2's wheels), or None."""
    for prefix in ("scipy_openblas", "openblas"):
        for suffix in ("64_", "_64", ""):
            try:
                return getattr(lib, f"{prefix}_{name}{suffix}")
            except AttributeError:
                continue
    return None


def _find_blas_controls():
    """``(set_num_threads, get_num_threads, library)`` of the first OpenBLAS found, or False."""
    for path in _loaded_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        set_ = _openblas_function(lib, "set_num_threads")
        get_ = _openblas_function(lib, "get_num_threads")
        if set_ is not None and get_ is not None:
            set_.argtypes, set_.restype, get_.restype = [ctypes.c_int], None, ctypes.c_int
            return set_, get_, lib
    return False


def blas_controls():
    """OpenBLAS's ``(set_num_threads, get_num_threads)``, or None when NumPy's BLAS is not a
    recognised OpenBLAS."""
    global _blas
    if _blas is None:
        _blas = _find_blas_controls()
    return _blas[:2] if _blas else None


def _openblas_text(name):
    """The string that OpenBLAS's ``openblas_<name>()`` returns, or None when NumPy's BLAS is
    not a recognised OpenBLAS or has no such function."""
    if blas_controls() is None:
        return None
    fn = _openblas_function(_blas[2], name)
    if fn is None:
        return None
    fn.restype = ctypes.c_char_p
    return fn().decode(errors="replace").strip()


def blas_version():
    """OpenBLAS's version, ``(0, 3, 31)`` for "OpenBLAS 0.3.31.188.0 ..." (its
    ``openblas_get_config``), or None when NumPy's BLAS is not a recognised OpenBLAS."""
    found = re.match(r"OpenBLAS\s+(\d+)\.(\d+)\.(\d+)", _openblas_text("get_config") or "")
    return tuple(int(v) for v in found.groups()) if found else None


# OpenBLAS 0.3.34 sizes its blocks for Zen 4 whichever kernels it runs there: its Zen 4 values
# (dgemm_q 512) override the table of kernels forced by OPENBLAS_CORETYPE, and its AVX2 float64
# kernel, whose stack buffer holds 256 values of k, then writes past it: on a Zen 4, NumPy 2.5's
# float64 products of more than 256 deep crash the process under OPENBLAS_CORETYPE=Haswell
# ((64, 392) @ (392, 4) did, here; OpenMathLib/OpenBLAS#6013, #6021, #6026). So minifcn asks
# for the AVX2 kernels only of an OpenBLAS older than this (0.3.31, NumPy 2.4's, measured safe
# and faster: benchmarks/README.md); a newer one keeps its own pick.
AVX2_KERNELS_BEFORE = (0, 3, 34)


def wants_avx2_kernels(zen4, version, user_chose):
    """Whether ``import minifcn`` asks OpenBLAS for its AVX2 kernels: on a Zen 4, an OpenBLAS
    of a known ``version`` older than ``AVX2_KERNELS_BEFORE``, and no ``OPENBLAS_CORETYPE`` of
    the user's.

    >>> wants_avx2_kernels(True, (0, 3, 31), False), wants_avx2_kernels(True, (0, 3, 34), False)
    (True, False)
    """
    return bool(zen4) and not user_chose and version is not None and tuple(version) < AVX2_KERNELS_BEFORE


def blas_kernels():
    """The name of the kernels OpenBLAS picked for this CPU when NumPy loaded it (``"Haswell"``,
    ``"SkylakeX"``, ...: ``OPENBLAS_CORETYPE`` when set), or None when not OpenBLAS."""
    return _openblas_text("get_corename")


# After a product on several threads OpenBLAS's workers spin, waiting for the next one, for
# 2**OPENBLAS_THREAD_TIMEOUT cycles (default about 2**28, ~0.1 s) before they sleep: on a
# 2-core machine that spin takes a core from whatever minifcn runs next on its own threads
# (see minifcn/__init__.py). OpenBLAS reads the variable once, when NumPy loads it.
SPIN_LOG2_CYCLES = 4


def blas_spin():
    """log2 of the cycles OpenBLAS's idle workers spin before they sleep, as OpenBLAS read it
    (0: the variable was unset, OpenBLAS's own default applies); None when not OpenBLAS."""
    blas_controls()
    try:
        read = _blas[2].openblas_thread_timeout
    except (TypeError, AttributeError):   # no OpenBLAS, or one without the function
        return None
    read.restype = ctypes.c_int
    return read()


def set_blas_spin(log2_cycles=SPIN_LOG2_CYCLES):
    """Make OpenBLAS's idle workers spin ``2**log2_cycles`` cycles (4..30) from now on, after
    NumPy has loaded it: for a program that imported NumPy before minifcn.

    OpenBLAS has no call for this; it reads ``OPENBLAS_THREAD_TIMEOUT`` into its settings when
    it loads (``openblas_read_env``) and hands it to its workers when it starts them. So the
    variable is set, the settings read again, and the workers stopped
    (``blas_thread_shutdown_``, as OpenBLAS does itself before a ``fork``): the next product on
    several threads starts them afresh, with the new spin. Call it while no product is
    running. Returns whether OpenBLAS now reports that spin (False: not an OpenBLAS that
    exports these functions; nothing was changed but the variable)."""
    if not 4 <= int(log2_cycles) <= 30:
        raise ValueError(f"log2_cycles must be in 4..30 (OpenBLAS's range), got {log2_cycles!r}")
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(int(log2_cycles))
    if blas_spin() == int(log2_cycles):   # read so already: leave the workers be
        return True
    try:
        read_env, shutdown = _blas[2].openblas_read_env, _blas[2].blas_thread_shutdown_
    except (TypeError, AttributeError):
        return False
    read_env.restype, shutdown.restype = None, ctypes.c_int
    with _blas_lock:
        read_env()    # os.environ writes through to the C environment (putenv)
        shutdown()
    return blas_spin() == int(log2_cycles)


def set_blas_kernels(name):
    """Make OpenBLAS run its ``name`` kernels (``"Haswell"``, ``"SkylakeX"``, ...: the names
    ``OPENBLAS_CORETYPE`` takes) from now on, after NumPy has loaded it: for a program that
    imported NumPy before minifcn (see minifcn/__init__.py).

    A build for many CPUs (``DYNAMIC_ARCH``, as NumPy's wheels are) keeps its kernels and their
    block sizes in one table, picked when it loads (``gotoblas_dynamic_init``, which reads
    ``OPENBLAS_CORETYPE``). So the variable is set, the pick dropped
    (``gotoblas_dynamic_quit``) and made again; each product reads the table when it starts.
    Call it while no product is running. Returns whether OpenBLAS now reports those kernels
    (False: not an OpenBLAS that exports these functions, or none of that name in this build,
    in which case OpenBLAS picks by the CPU's instruction sets)."""
    os.environ["OPENBLAS_CORETYPE"] = str(name)

    def picked():
        return (blas_kernels() or "").lower() == str(name).lower()

    if picked():   # already: leave it be
        return True
    try:
        quit_, init = _blas[2].gotoblas_dynamic_quit, _blas[2].gotoblas_dynamic_init
    except (TypeError, AttributeError):
        return False
    quit_.restype, init.restype = None, None
    with _blas_lock:
        quit_()
        init()    # os.environ writes through to the C environment (putenv)
    return picked()


@contextmanager
def blas_threads(n):
    """Run the block with BLAS limited to ``n`` threads, then restore its count. For products
    that Python threads split among themselves (:func:`map_blocks`); the count is process-wide,
    so a product started meanwhile by another thread of the program also runs on ``n``."""
    controls = blas_controls()
    if controls is None:
        yield
        return
    set_, get_ = controls
    global _blas_users, _blas_before
    with _blas_lock:   # nested or overlapping uses: the first sets the count, the last restores it
        if _blas_users == 0:
            _blas_before = get_()
        _blas_users += 1
        set_(n)
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                set_(_blas_before)


def _after_fork_in_child():
    """A forked child (data-loading workers) starts its own helper threads: it inherits the
    parent's list of their inboxes but none of the threads, so nothing handed to them would
    ever run (the child would work on one thread while its inboxes filled up), and their locks
    may have been held by a thread that is not there. A child
    forked inside :func:`blas_threads` (by another thread) also gets its BLAS count back and a
    fresh lock: the thread that would restore them is not there."""
    global _blas_lock, _blas_users, _helpers, _helpers_lock
    _helpers, _helpers_lock = [], threading.Lock()
    _blas_lock = threading.Lock()
    if _blas_users and _blas:
        _blas[0](_blas_before)
    _blas_users = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
