"""map_blocks: results in order, blocks that cover the channels, and use from a forked child
(a process that forks after minifcn ran, as data-loading workers do)."""
import multiprocessing
import sys

import numpy as np
import pytest

from minifcn.kernels import threads


def test_map_blocks_keeps_order_and_channel_blocks_cover_every_channel(monkeypatch):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "3")
    x = np.arange(2 * 7 * 2 * 2.0).reshape(2, 7, 2, 2)
    blocks = threads.channel_blocks(x)
    assert len(blocks) == 3  # one per thread: 3, 3 and 1 channels
    assert sorted(c for b in blocks for c in range(7)[b]) == list(range(7))
    sums = threads.map_blocks(lambda b: x[:, b].sum(axis=(0, 2, 3)), blocks, x)
    np.testing.assert_array_equal(np.concatenate(sums), x.sum(axis=(0, 2, 3)))
    assert threads.channel_blocks(x, per_block=10**9) == [slice(None)]


def _use_pool_in_child(q):
    x = np.ones((1, 4, 2, 2))
    q.put(threads.map_blocks(lambda b: float(x[:, b].sum()), threads.channel_blocks(x), x))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
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
    assert q.get(timeout=5) == [8.0, 8.0]
