"""Shared pieces of the benchmarks: thread setup, timing, the SGEMM peak, the machine report, tables.

Import this module before NumPy or PyTorch are imported anywhere: it fixes the thread count of
both libraries (``BENCH_THREADS``, default 2) through the environment, which BLAS and OpenMP
read only when they load.
"""
from __future__ import annotations

import os
import sys

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MINIFCN_NUM_THREADS"):
    os.environ[_var] = str(THREADS)   # minifcn's own threads read the last, before OMP_NUM_THREADS
# before NumPy: minifcn then sets how long OpenBLAS's idle workers spin (minifcn/__init__.py)
import minifcn  # noqa: E402,F401

import ctypes  # noqa: E402
import ctypes.util  # noqa: E402

# glibc serves allocations above its mmap threshold with fresh pages from the kernel (a page
# fault on each first touch) and hands heap memory back past its trim threshold. Both
# thresholds move as the process runs: freeing an mmap'd block of up to 32 MiB raises them to
# its size (and twice that). So a library's times depended on what ran before: PyTorch's
# conv1_1 (3 -> 64 at 224, forward and backward) took 16-20 ms in a fresh process or after
# minifcn's calls, and 3.8-4.6 ms once the thresholds had risen (NumPy's 2048x2048 products
# of the peak measurement raise them). Fixed at the values that rule settles on in a training
# loop (32 MiB, 64 MiB), every case starts from the same state; minifcn's kernels take their
# big arrays from their own cache (minifcn/kernels/cache.py) either way. Each benchmark's main
# calls steady_malloc() first (not this import: the tests import this module too).
MMAP_THRESHOLD, TRIM_THRESHOLD = 32 << 20, 64 << 20
STEADY_MALLOC = False


def steady_malloc():
    """Fix glibc's mmap and trim thresholds for this process (see above); True if set, False
    where the C library is not glibc."""
    global STEADY_MALLOC
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # glibc's malloc.h
    STEADY_MALLOC = (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                     and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return STEADY_MALLOC

import datetime  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

# the same helpers as ``minifcn bench``'s (minifcn/bench.py), kept there: the SGEMM peak and the
# machine's description
from minifcn.bench import blas_info as _blas  # noqa: E402,F401
from minifcn.bench import cpu_model as _cpu_model  # noqa: E402,F401
from minifcn.bench import sgemm_peak  # noqa: E402,F401


def current_rss_mib():
    """Resident memory of this process now, MiB (Linux's VmRSS), or None where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset VmHWM to the present resident size (Linux's ``clear_refs`` 5), so that the peak read
    after it is the work's since; elsewhere a no-op (the peak then includes what came before)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def load_torch():
    """PyTorch with the same thread count, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


# After each of its calls PyTorch's OpenMP worker spins on a core for 8-10 ms (its thread's CPU
# time in the 0.2 s after a conv1_1 call, from /proc/self/task/*/schedstat: 7.9 and 10.4 ms;
# minifcn's threads: none), so whatever runs next has one core less for that long. Blocks of
# short calls start with this much untimed work (twice the spin), not with a single call.
LEAD_IN_S = 0.02


def time_pair(fns, min_repeats=5, min_time=1.0, max_repeats=30, warmup=1, block=1, lead_in=0.0):
    """Median and best seconds of each callable in ``fns``, run interleaved in rounds: each
    round runs ``fns[0]`` ``block`` times back to back, then ``fns[1]`` as often, and so on.

    Interleaving makes the ratio between them robust to other jobs on a shared machine: a
    burst of load hits both. Repeats until each has run ``min_repeats`` times and ``min_time``
    seconds have passed (at most ``max_repeats``). ``None`` entries are skipped (None, None).
    The best time is what the code costs on a quiet machine; the median what a user sees here.

    ``lead_in`` (seconds) starts each block with untimed calls, at least one, until that long
    has passed: for calls of a few milliseconds, whose first ones after the other library's pay
    for the switch (PyTorch's OpenMP worker spins on a core for 8-10 ms after each of its
    calls; cores left idle wake slowly), not for their own work. The timed calls are then
    those of the steady state, as in a training loop (benchmarks/README.md, "How the times are
    taken", has the measurements). ``LEAD_IN_S`` outlasts that spin.

    The objects alive at the start (PyTorch's modules, the cases' arrays) are frozen out of
    the garbage collector's reach, so the collection before each block takes about a
    millisecond, not the 70-90 ms it takes with PyTorch loaded.
    """
    times = [[] for _ in fns]
    for _ in range(warmup):
        for f in fns:
            if f is not None:
                f()
    gc.collect()
    gc.freeze()
    try:
        start = time.perf_counter()
        while True:
            for k, f in enumerate(fns):
                if f is None:
                    continue
                gc.collect()
                if lead_in > 0:
                    t0 = time.perf_counter()
                    f()
                    while time.perf_counter() - t0 < lead_in:
                        f()
                for _ in range(block):
                    t0 = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t0)
            done = len(times[0]) if fns[0] is not None else len(times[-1])
            enough = done >= min_repeats and time.perf_counter() - start >= min_time
            if done >= max_repeats or enough:
                break
    finally:
        gc.unfreeze()
    return [(float(np.median(t)), min(t)) if t else (None, None) for t in times]


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _spin():
    """The spin of OpenBLAS's idle workers as OpenBLAS itself reports it (0: its default)."""
    from minifcn.kernels.threads import blas_spin
    spin = blas_spin()
    return "n/a: not an OpenBLAS that says" if spin is None else spin


def environment(torch=None):
    """Lines describing the machine, the versions and the thread counts of this run."""
    lines = [
        f"date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"machine: {_cpu_model()}, {os.cpu_count()} logical CPUs, Linux {platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__}, BLAS: {_blas()}",
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', '(unset)')} "
        f"(OpenBLAS read {_spin()}), "
        f"threads: {THREADS} (BENCH_THREADS)",
        "glibc malloc thresholds: " + (
            f"mmap {MMAP_THRESHOLD >> 20} MiB, trim {TRIM_THRESHOLD >> 20} MiB, fixed" if STEADY_MALLOC
            else "not set (not glibc, or not asked: common.steady_malloc)"),
    ]
    if torch is not None:
        lines.append(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}")
    else:
        lines.append("torch: not installed (minifcn columns only)")
    lines.append(f"load average at start (1, 5, 15 min): {load_average()}")
    return lines


def fmt(v, spec=".3f", none="-"):
    return none if v is None else format(v, spec)


def print_table(header, rows, out=sys.stdout):
    """A Markdown table: ``header`` a list of names, ``rows`` lists of already formatted cells."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(header), file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for r in rows:
        print(line(r), file=out)
    out.flush()


def peak_rss_mib():
    """Peak resident memory of this process so far, MiB (Linux: VmHWM; else ru_maxrss)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(args, timeout=900):
    """Run ``python -m <args>`` in a fresh process; return its last stdout line (JSON by convention)."""
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]
