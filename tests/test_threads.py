"""map_blocks: results in order, blocks that cover the channels, and use from a forked child
(a process that forks after minifcn ran, as data-loading workers do); blas_threads: the count
set inside, restored after, also when uses overlap; products_on_cores: on the threads with one
BLAS thread each, or in turn where BLAS's count cannot be set; OpenBLAS's idle workers told to
sleep at once, whichever of NumPy and minifcn was imported first."""
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import weakref

import numpy as np
import pytest

from minifcn.kernels import threads


def test_map_blocks_keeps_order_and_channel_blocks_cover_every_channel(monkeypatch):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "3")
    x = np.arange(2 * 7 * 2 * 2.0).reshape(2, 7, 2, 2)
    blocks = threads.channel_blocks(x)
    assert len(blocks) == 3  # one per thread: 2, 2 and 3 channels
    assert sorted(c for b in blocks for c in range(7)[b]) == list(range(7))
    sums = threads.map_blocks(lambda b: x[:, b].sum(axis=(0, 2, 3)), blocks, x)
    np.testing.assert_array_equal(np.concatenate(sums), x.sum(axis=(0, 2, 3)))
    assert threads.channel_blocks(x, per_block=10**9) == [slice(None)]


def test_map_blocks_nested_in_its_own_threads_runs_them_in_turn(monkeypatch):
    """Every thread busy with a block that splits its own work again: those blocks run on the
    thread itself (a wait on the others would never end), with the same results."""
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    x = np.arange(4 * 6 * 2 * 2.0).reshape(4, 6, 2, 2)
    inner_threads = []   # (the thread of the outer block, the thread of an inner one)

    both = threading.Barrier(2, timeout=10)   # each outer block waits for the other: two threads

    def outer(b):   # each of the two threads sums its images, channel block by channel block
        def inner(c):
            inner_threads.append((mine, threading.current_thread().name))
            return x[b, c].sum()
        both.wait()
        mine = threading.current_thread().name
        return sum(threads.map_blocks(inner, [slice(0, 3), slice(3, 6)], x))

    done = []
    runner = threading.Thread(target=lambda: done.append(
        threads.map_blocks(outer, [slice(0, 2), slice(2, 4)], x)), daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert done, "map_blocks nested in its own threads hung"
    assert done[0] == [x[:2].sum(), x[2:].sum()]
    assert len(inner_threads) == 4 and all(outer == inner for outer, inner in inner_threads)
    assert {outer for outer, _ in inner_threads} == {"minifcn_0", runner.name}   # both worked


def test_map_blocks_raises_the_first_failed_blocks_error_after_the_started_ones_finish(monkeypatch):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    finished = []

    def block(b):
        if b in (1, 3):
            raise ValueError(f"block {b}")
        finished.append(b)
        return b

    with pytest.raises(ValueError, match="block 1"):   # block 1 always runs: it is taken before 3
        threads.map_blocks(block, range(6), np.empty(1))
    assert 0 in finished
    assert threads.map_blocks(block, [0, 2], np.empty(1)) == [0, 2]   # the helpers still work


def test_map_blocks_does_its_blocks_itself_while_the_helpers_are_busy(monkeypatch):
    """The caller takes blocks too and waits only for the blocks a helper has started: with the
    helper held by another caller's long block, a second caller's map_blocks still returns (a
    pool whose caller waits for its queued blocks would wait for the first caller)."""
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    started, release = threading.Barrier(2, timeout=10), threading.Event()

    def long_block(b):   # the first caller's two blocks: one on it, one on the helper
        started.wait()
        release.wait(timeout=30)
        return b

    first = []
    holder = threading.Thread(target=lambda: first.append(
        threads.map_blocks(long_block, [0, 1], np.empty(1))), daemon=True)
    holder.start()
    try:
        time.sleep(0.05)   # both long blocks started: the only helper is busy
        here = threading.current_thread().name
        big = np.empty(1000)
        seen = threads.map_blocks(lambda b, big=big: (b, threading.current_thread().name, big.size),
                                  range(4), np.empty(1))
        assert seen == [(b, here, 1000) for b in range(4)]
        assert not first   # the first caller still waits for its helper's block
        # the job waits in the busy helper's inbox, but lets go of what its blocks used
        gone = weakref.ref(big)
        del big
        assert gone() is None
    finally:
        release.set()
        holder.join(timeout=30)
    assert first == [[0, 1]]


def test_channel_blocks_keep_small_arrays_on_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "MIN_BLOCK_VALUES", 1000)   # conftest sets 1
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "4")
    assert threads.channel_blocks(np.empty((1, 10, 10, 10))) == [slice(None)]   # 1000 values
    # 2000 values: two blocks of 1000, not four of 500
    assert threads.channel_blocks(np.empty((1, 20, 10, 10))) == [slice(0, 10), slice(10, 20)]
    # work 9 (an im2col 3x3): blocks of at least 1000 // 9 = 111 values, so 4 blocks of 5 channels
    assert len(threads.channel_blocks(np.empty((1, 20, 10, 10)), work=9)) == 4
    # no block under the minimum: 3 channels of 400 values, at least 1000 a block, stay whole
    # (split 2 + 1, the 1 would be under it; an RGB image's im2col)
    assert threads.channel_blocks(np.empty((1, 3, 20, 20)), work=1) == [slice(None)]
    assert threads.channel_blocks(np.empty((1, 7, 20, 20))) == [slice(0, 3), slice(3, 7)]   # 3 + 4, not 3 + 3 + 1
    # a caller's block size (chosen for the cache) is kept once the array is big enough
    assert len(threads.channel_blocks(np.empty((1, 20, 10, 10)), per_block=500)) == 4
    assert threads.channel_blocks(np.empty((1, 19, 10, 10)), per_block=500) == [slice(None)]


def _use_pool_in_child(q):
    fresh = threads._helpers == []   # the parent's helpers' inboxes came along, but no thread
    x = np.ones((1, 4, 2, 2))
    q.put((fresh, threads.map_blocks(lambda b: float(x[:, b].sum()), threads.channel_blocks(x), x)))


# Python 3.12+ warns that forking a process with threads may deadlock the child: forking one
# with minifcn's threads alive is what these tests check is safe
_FORK_WITH_THREADS = "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
@pytest.mark.filterwarnings(_FORK_WITH_THREADS)
def test_map_blocks_works_in_a_forked_child(monkeypatch):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    x = np.ones((1, 4, 2, 2))
    threads.map_blocks(lambda b: None, threads.channel_blocks(x), x)  # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_use_pool_in_child, args=(q,))
    child.start()
    child.join(timeout=30)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "map_blocks hung in a forked child"
    assert q.get(timeout=5) == (True, [8.0, 8.0])   # a pool of its own (_after_fork_in_child)


def test_row_groups_split_the_rows_evenly_and_never_return_an_empty_group():
    assert threads.row_groups(7, 2) == [(0, 3), (3, 7)]
    assert threads.row_groups(2, 4) == [(0, 1), (1, 2)]
    assert threads.row_groups(0, 3) == []


@pytest.mark.skipif(threads.blas_controls() is None, reason="NumPy's BLAS is not a known OpenBLAS")
def test_blas_threads_sets_the_count_inside_and_restores_it_after_overlapping_uses():
    _, get = threads.blas_controls()
    before = get()
    with threads.blas_threads(1):
        assert get() == 1
        inside, release = threading.Event(), threading.Event()

        def other():   # a second use that starts inside the first and ends after it
            with threads.blas_threads(1):
                inside.set()
                release.wait(10)

        t = threading.Thread(target=other)
        t.start()
        inside.wait(10)
    assert get() == 1          # the other use still runs: the count stays
    release.set()
    t.join(10)
    assert get() == before     # the last use out restores it
    with pytest.raises(RuntimeError):
        with threads.blas_threads(1):
            raise RuntimeError("inside")
    assert get() == before


@pytest.mark.skipif(threads.blas_controls() is None, reason="NumPy's BLAS is not a known OpenBLAS")
def test_products_on_cores_run_on_the_threads_with_one_blas_thread_each(monkeypatch):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    _, get = threads.blas_controls()
    both = threading.Barrier(2, timeout=10)   # each group waits for the other: two threads

    def product(g):
        both.wait()
        return g, threading.current_thread().name, get()

    seen = threads.products_on_cores(product, [0, 1], np.empty(1))
    assert [g for g, _, _ in seen] == [0, 1]
    assert {name for _, name, _ in seen} == {"MainThread", "minifcn_0"}   # the caller works too
    assert all(count == 1 for _, _, count in seen), seen


def test_products_on_cores_run_in_turn_where_the_blas_count_cannot_be_set(monkeypatch):
    """MKL or Accelerate run each product on every core already and keep their count: two
    products at once would put two BLAS teams on the cores."""
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")
    monkeypatch.setattr(threads, "_blas", False)   # looked for, not found
    here = threading.current_thread().name
    seen = threads.products_on_cores(lambda g: (g, threading.current_thread().name), [0, 1, 2],
                                     np.empty(1))
    assert seen == [(0, here), (1, here), (2, here)]


def _report_blas_count(q):
    q.put(threads.blas_controls()[1]())


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
@pytest.mark.skipif(threads.blas_controls() is None, reason="NumPy's BLAS is not a known OpenBLAS")
@pytest.mark.filterwarnings(_FORK_WITH_THREADS)
def test_a_child_forked_inside_blas_threads_gets_the_count_back():
    _, get = threads.blas_controls()
    before = get()
    if before < 2:
        pytest.skip("BLAS runs on one thread here: nothing to restore")
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with threads.blas_threads(1):
        child = ctx.Process(target=_report_blas_count, args=(q,))
        child.start()
    child.join(timeout=30)
    assert q.get(timeout=5) == before


def _timeout_seen(code, **env):
    """OPENBLAS_THREAD_TIMEOUT as a fresh interpreter sees it after running ``code``."""
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    environ.update(env)
    code += "; import os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset'))"
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_import_sets_openblas_thread_timeout_before_numpy_loads():
    # imported first: OpenBLAS's idle workers will sleep at once (read when NumPy loads it)
    assert _timeout_seen("import minifcn") == str(threads.SPIN_LOG2_CYCLES)
    # the user's own value wins
    assert _timeout_seen("import minifcn", OPENBLAS_THREAD_TIMEOUT="12") == "12"
    # NumPy first: set all the same, and OpenBLAS told again (next test)
    assert _timeout_seen("import numpy, minifcn") == str(threads.SPIN_LOG2_CYCLES)


def _openblas_report(code, **env):
    """What a fresh interpreter prints after ``code`` (run with OPENBLAS_THREAD_TIMEOUT unset
    unless given): ``code`` prints what OpenBLAS itself reports."""
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    environ.update(env)
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


_SPIN = "from minifcn.kernels import threads; print(threads.blas_spin())"


@pytest.mark.skipif(threads.blas_spin() is None, reason="NumPy's BLAS is not a known OpenBLAS")
def test_openblas_spins_briefly_whichever_was_imported_first():
    short = str(threads.SPIN_LOG2_CYCLES)
    assert _openblas_report("import minifcn; " + _SPIN) == [short]
    # the usual order: without set_blas_spin OpenBLAS would keep its default (reported as 0)
    assert _openblas_report("import numpy; import minifcn; " + _SPIN) == [short]
    # a value of the user's own is left as OpenBLAS read it
    assert _openblas_report("import numpy; import minifcn; " + _SPIN,
                            OPENBLAS_THREAD_TIMEOUT="9") == ["9"]


@pytest.mark.skipif(sys.platform != "linux", reason="threads counted in /proc/self/status")
@pytest.mark.skipif(threads.blas_spin() is None, reason="NumPy's BLAS is not a known OpenBLAS")
def test_set_blas_spin_restarts_openblas_workers_that_still_multiply_right():
    if threads.blas_controls()[1]() < 2:
        pytest.skip("BLAS runs on one thread here: no workers to restart")
    code = """
import numpy as np
def count():
    return int([l for l in open('/proc/self/status') if l.startswith('Threads')][0].split()[1])
a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
a @ a
before = count()               # NumPy's thread and OpenBLAS's workers
from minifcn.kernels import threads
assert threads.set_blas_spin(5)
stopped = count()              # the workers stopped
c = a @ a                      # started again, with the new spin
err = np.abs(c - a.astype(np.float64) @ a).max() / np.abs(c).max()
print(before, stopped, count(), threads.blas_spin(), err < 1e-5)
"""
    before, stopped, after, spin, right = _openblas_report(code)
    assert int(stopped) < int(before) == int(after)
    assert (spin, right) == ("5", "True")


def test_set_blas_spin_rejects_a_spin_outside_openblas_range():
    with pytest.raises(ValueError, match="4..30"):
        threads.set_blas_spin(3)


# ------------------------------------------------- OpenBLAS's kernels on AMD's Zen 4 (minifcn/_cpu.py)
_AMD_ZEN4 = "processor : 0\nvendor_id : AuthenticAMD\ncpu family : 25\nflags : fpu avx2 avx512f avx512bw\n\n" \
            "processor : 1\nvendor_id : AuthenticAMD\ncpu family : 25\nflags : fpu avx2 avx512f\n"


@pytest.mark.parametrize("text,zen4", [
    (_AMD_ZEN4, True),
    (_AMD_ZEN4.replace(" avx512f avx512bw", ""), False),                 # Zen 3: family 25, no AVX-512
    (_AMD_ZEN4.replace("cpu family : 25", "cpu family : 26", 1), False),  # Zen 5: full 512-bit units
    (_AMD_ZEN4.replace("AuthenticAMD", "GenuineIntel", 1), False),
    ("", False),
])
def test_is_zen4_reads_the_first_processor(text, zen4):
    from minifcn._cpu import is_zen4
    assert is_zen4(text) is zen4


def _coretype_seen(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    environ.update(env)
    code += "; import os; print(os.environ.get('OPENBLAS_CORETYPE', 'unset'))"
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _avx2_wanted():
    """What ``import minifcn`` decides here: on a Zen 4 with an OpenBLAS old enough."""
    from minifcn._cpu import is_zen4
    return threads.wants_avx2_kernels(is_zen4(), threads.blas_version(), False)


def test_import_asks_openblas_for_its_avx2_kernels_on_zen4_only():
    want = "Haswell" if _avx2_wanted() else "unset"
    assert _coretype_seen("import minifcn") == want
    assert _coretype_seen("import minifcn", OPENBLAS_CORETYPE="SkylakeX") == "SkylakeX"   # the user's wins
    assert _coretype_seen("import numpy, minifcn") == want      # whichever was imported first
    assert _coretype_seen("import numpy, minifcn", OPENBLAS_CORETYPE="SkylakeX") == "SkylakeX"
    if _avx2_wanted() and _switches_kernels():   # and the kernels OpenBLAS runs are the ones asked for
        kernels = "; from minifcn.kernels.threads import blas_kernels; print(blas_kernels())"
        assert _coretype_seen("import numpy, minifcn" + kernels).split() == ["Haswell", "Haswell"]


@pytest.mark.parametrize("zen4, version, user_chose, want", [
    (True, (0, 3, 31), False, True),      # NumPy 2.4's OpenBLAS: measured safe and faster
    (True, (0, 3, 33), False, True),
    (True, (0, 3, 34), False, False),     # NumPy 2.5's: its AVX2 float64 kernel crashes on Zen 4
    (True, (0, 4, 0), False, False),      # newer: not known safe
    (True, None, False, False),           # not OpenBLAS
    (True, (0, 3, 31), True, False),      # the user's OPENBLAS_CORETYPE wins
    (False, (0, 3, 31), False, False),    # not a Zen 4
])
def test_the_avx2_kernels_only_where_they_are_known_safe(zen4, version, user_chose, want):
    assert threads.wants_avx2_kernels(zen4, version, user_chose) is want


def test_blas_version_reads_openblas():
    version = threads.blas_version()
    if threads.blas_controls() is None:
        assert version is None
    else:
        assert len(version) == 3 and version >= (0, 2, 0)


def _switches_kernels():
    blas = threads.blas_controls() and threads._blas[2]
    return bool(blas) and hasattr(blas, "gotoblas_dynamic_init") and threads.blas_kernels() is not None


@pytest.mark.skipif(not _switches_kernels(), reason="NumPy's BLAS is not an OpenBLAS built for many CPUs")
def test_set_blas_kernels_repicks_openblas_kernels_that_still_multiply_right():
    code = """
import numpy as np
from minifcn.kernels import threads
a = np.random.default_rng(0).standard_normal((300, 200)).astype(np.float32)
b = np.random.default_rng(1).standard_normal((200, 500)).astype(np.float32)
exact = a.astype(np.float64) @ b
first = threads.blas_kernels()
seen = []
for name in ("Nehalem", "Sandybridge", first):   # SSE4.2, AVX, and back to the first pick
    ok = threads.set_blas_kernels(name)
    err = np.abs(a @ b - exact).max() / np.abs(exact).max()
    seen.append(f"{ok},{threads.blas_kernels()},{err < 1e-5}")
unknown = threads.set_blas_kernels("NoSuchCore")   # OpenBLAS falls back on a pick of its own
print(first, *seen, unknown, np.abs(a @ b - exact).max() / np.abs(exact).max() < 1e-5)
"""
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    first, *seen, unknown, right = out.stdout.split()
    assert seen == ["True,Nehalem,True", "True,Sandybridge,True", f"True,{first},True"]
    assert (unknown, right) == ("False", "True")



def test_the_suite_runs_the_kernels_a_user_gets():
    """The root conftest imports minifcn first, so on Zen 4 (with an OpenBLAS older than
    0.3.34) these tests run on the OpenBLAS kernels that ``import minifcn`` picks for a user's
    program, not NumPy's own pick."""
    if not _avx2_wanted() or threads.blas_kernels() is None:
        pytest.skip("a kernel choice is made on Zen 4 with an OpenBLAS older than 0.3.34 only")
    if os.environ.get("OPENBLAS_CORETYPE", "Haswell") != "Haswell":
        pytest.skip("OPENBLAS_CORETYPE was set by whoever ran the suite")
    assert threads.blas_kernels() == "Haswell"
