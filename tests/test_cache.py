"""The cache of big CPU arrays (``kernels/cache.py``): a block goes out again only when nothing
refers to it, and training with the cache gives bit for bit what training without it gives."""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, manual_seed
from minifcn.kernels import cache
from minifcn.models import FCN8s, SegNet
from minifcn.optim import SGD
from oracle import to_np

HOST = np.zeros(1)


def _address(a):
    return a.__array_interface__["data"][0]


@pytest.fixture
def fresh(monkeypatch):
    """An empty cache with a 1 MiB threshold, the blocks of other tests left alone."""
    monkeypatch.setattr(cache, "_blocks", [])
    monkeypatch.setattr(cache, "MIN_BYTES", 1 << 20)
    monkeypatch.delenv("MINIFCN_ARRAY_CACHE_MB", raising=False)
    return cache


def test_a_free_block_is_reused_and_a_viewed_one_is_not(fresh):
    a = cache.empty((512, 1024), np.float32, like=HOST)       # 2 MiB
    first = _address(a)
    view = a[::2, 3:]                                           # keeps the block alive
    del a
    b = cache.empty((512, 1024), np.float32, like=HOST)
    assert _address(b) != first
    b.fill(7.0)
    view[...] = 1.0
    assert np.all(b == 7.0)                                     # no memory shared
    del view
    c = cache.empty((1024, 512), np.float32, like=HOST)        # same size, another shape
    assert _address(c) == first
    assert cache.held_bytes() == 2 * (2 << 20)


def test_small_arrays_and_oversized_blocks_are_not_used(fresh):
    small = cache.empty((100, 100), np.float32, like=HOST)
    assert cache.held_bytes() == 0 and small.shape == (100, 100)
    big = cache.empty((4 << 20,), np.uint8, like=HOST)
    address = _address(big)
    del big
    half = cache.empty((2 << 20,), np.uint8, like=HOST)        # half the free block: a new one
    assert _address(half) != address
    three_quarters = cache.empty((3 << 20,), np.uint8, like=HOST)
    assert _address(three_quarters) == address


def test_the_cap_lets_free_blocks_go_and_zero_turns_the_cache_off(fresh, monkeypatch):
    monkeypatch.setenv("MINIFCN_ARRAY_CACHE_MB", "5")
    a = cache.empty((4 << 20,), np.uint8, like=HOST)
    kept = cache.empty((4 << 20,), np.uint8, like=HOST)        # over the cap: a plain array
    assert cache.held_bytes() == 4 << 20 and kept.base is None
    del a
    b = cache.empty((2 << 20,), np.uint8, like=HOST)           # the free 4 MiB block is let go
    assert cache.held_bytes() == 2 << 20 and b.base is not None
    monkeypatch.setenv("MINIFCN_ARRAY_CACHE_MB", "0")
    cache.clear()
    z = cache.zeros((4 << 20,), np.uint8, like=HOST)
    assert cache.held_bytes() == 0 and not z.any()


def test_gpu_arrays_bypass_the_cache(xp, fresh):
    a = cache.zeros((1 << 20,), np.float32, like=xp.zeros(1))
    assert type(a) is type(xp.zeros(1)) and not bool(a.any())
    assert cache.held_bytes() == (0 if xp is not np else 4 << 20)


def _train(make, x, t, steps=3):
    manual_seed(0)
    model = make()
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(Tensor(x)), t)
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    return losses, [to_np(p.data).copy() for p in model.parameters()]


@pytest.mark.parametrize("make", [lambda: FCN8s(3, width=1 / 16), lambda: SegNet(3, width=1 / 16)],
                         ids=["fcn8s", "segnet"])
def test_training_with_the_cache_is_bit_for_bit_training_without(fresh, monkeypatch, make):
    """Every kernel array through the cache (no size threshold): any block handed out while
    still in use would change the numbers."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 48, 40)).astype(np.float32)
    t = rng.integers(0, 3, (2, 48, 40))
    monkeypatch.setattr(cache, "_ENABLED", False)
    plain = _train(make, x, t)
    monkeypatch.setattr(cache, "_ENABLED", True)
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    cached = _train(make, x, t)
    assert cache.held_bytes() > 0
    assert plain[0] == cached[0]
    for a, b in zip(plain[1], cached[1]):
        np.testing.assert_array_equal(a, b)


def test_the_default_cap_is_4_gib_or_a_quarter_of_the_memory(monkeypatch):
    monkeypatch.delenv("MINIFCN_ARRAY_CACHE_MB", raising=False)
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": (8 << 30) // 4096}         # an 8 GiB laptop
    monkeypatch.setattr(cache.os, "sysconf", lambda name: pages[name])
    assert cache.cap_bytes() == 2 << 30
    pages["SC_PHYS_PAGES"] = (64 << 30) // 4096
    assert cache.cap_bytes() == 4 << 30
    monkeypatch.setenv("MINIFCN_ARRAY_CACHE_MB", "100")
    assert cache.cap_bytes() == 100 << 20

