"""DataLoader(num_workers=N): the very batches of num_workers=0 (shuffle, random transforms,
drop_last, several epochs) and the generator left where it leaves it; loading ahead on threads,
at most N * prefetch_factor batches; a break, a dropped iterator or an error joins every
thread; a worker's error reaches the caller naming the sample; the arguments checked."""
import threading
import time

import numpy as np
import pytest

from minifcn.data import BadSampleError, DataLoader, SyntheticSegmentation, build_transform, subset


class Tagged:
    """``n`` random 5x5 RGB images through a random crop and flip (``get(i, rng)`` only); sample
    i's label is i everywhere, so a batch tells which samples it holds. ``bad``: a sample whose
    ``get`` raises. ``seen``: the threads that called ``get``. ``delay``: sleep up to 2 ms before
    drawing, longer for some samples, so that threads drawing out of turn would show."""

    def __init__(self, n, bad=None, delay=False):
        rng = np.random.default_rng(n)
        self.images = rng.integers(0, 256, (n, 5, 5, 3), dtype=np.uint8)
        self.transform = build_transform("unit", crop=3, flip=True)
        self.bad, self.seen, self.calls, self.delay = bad, set(), 0, delay

    def __len__(self):
        return len(self.images)

    def get(self, i, rng=None):
        self.seen.add(threading.current_thread().name)
        self.calls += 1
        if i == self.bad:
            raise KeyError(f"no sample numbered {i} here")
        if self.delay:
            time.sleep(0.001 * (i * 7 % 3))
        return self.transform(self.images[i], np.full((5, 5), i, np.uint8), rng)


def loader_threads():
    return [t for t in threading.enumerate() if t.name.startswith("minifcn-loader")]


def epochs(loader, k):
    """``k`` epochs of batches, and the generator's state after each."""
    out = []
    for _ in range(k):
        out.append((list(loader), loader.generator.bit_generator.state))
    return out


def assert_same_epochs(a, b):
    assert len(a) == len(b)
    for (batches1, state1), (batches2, state2) in zip(a, b):
        assert len(batches1) == len(batches2)
        for (x1, y1), (x2, y2) in zip(batches1, batches2):
            assert x1.dtype == x2.dtype == np.float32 and y1.dtype == y2.dtype == np.int64
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
        assert state1 == state2   # the next epoch draws alike too


@pytest.mark.parametrize("num_workers,prefetch_factor", [(1, 1), (2, None), (3, 1), (4, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_the_batches_of_num_workers_0(num_workers, prefetch_factor, drop_last, shuffle):
    ds = Tagged(11, delay=True)
    kw = dict(batch_size=3, shuffle=shuffle, drop_last=drop_last, seed=4)
    ref = epochs(DataLoader(ds, **kw), 4)
    ds.seen.clear()
    got = epochs(DataLoader(ds, **kw, num_workers=num_workers, prefetch_factor=prefetch_factor), 4)
    assert_same_epochs(ref, got)
    assert ds.seen and all(name.startswith("minifcn-loader") for name in ds.seen)   # not the caller
    assert not loader_threads()   # each epoch joined its workers at its end


@pytest.fixture(scope="module")
def voc_like(tmp_path_factory):
    """The synthetic set through the VOC reader: JPEG decoding in parallel (``load``), the random
    scale, crop and flip in turn."""
    transform = build_transform("torchvision", crop=24, flip=True, scale=(0.5, 1.5))
    return SyntheticSegmentation(tmp_path_factory.mktemp("synthetic"), "train", num_train=13,
                                 num_val=2, size=32, transform=transform)


@pytest.mark.parametrize("which", ["dataset", "subset", "pairs"])
def test_the_batches_of_num_workers_0_from_files_subsets_and_lists(voc_like, which):
    if which == "dataset":
        ds = voc_like
    elif which == "subset":   # a Subset's load remaps the labels, in the workers
        ds = subset(voc_like, classes=["disc", "square"])
    else:                     # [i] only: no draws, loaded in parallel
        ds = [voc_like.get(i, np.random.default_rng(i)) for i in range(len(voc_like))]
    kw = dict(batch_size=4, shuffle=True, seed=7)
    ref = epochs(DataLoader(ds, **kw), 3)
    assert_same_epochs(ref, epochs(DataLoader(ds, **kw, num_workers=2), 3))
    assert_same_epochs(ref, epochs(DataLoader(ds, **kw, drop_last=False, num_workers=3,
                                              prefetch_factor=1), 3))


@pytest.mark.parametrize("stop_after", [0, 1, 2])
def test_a_break_joins_the_workers_and_leaves_the_generator_where_num_workers_0_does(stop_after):
    ds = Tagged(40)

    def run(num_workers):
        loader = DataLoader(ds, 2, shuffle=True, seed=1, num_workers=num_workers)
        taken = []
        for k, batch in enumerate(loader):
            taken.append(batch)
            if k == stop_after:
                break
        assert not loader_threads(), loader_threads()   # joined at the break, not at exit
        return [(taken, loader.generator.bit_generator.state)] + epochs(loader, 2)

    assert_same_epochs(run(0), run(3))


def test_a_dropped_iterator_and_close_join_the_workers():
    loader = DataLoader(Tagged(30), 2, num_workers=2)
    it = iter(loader)
    next(it)
    assert len(loader_threads()) == 2
    del it
    assert not loader_threads()
    it = iter(loader)
    it.close()
    it.close()   # twice: nothing left to do
    assert not loader_threads()
    with pytest.raises(StopIteration):
        next(it)


def test_loads_at_most_num_workers_times_prefetch_factor_batches_ahead():
    ds = Tagged(40)
    loader = DataLoader(ds, 2, num_workers=2, prefetch_factor=3)
    it = iter(loader)
    next(it)
    bound = (1 + 2 * 3) * 2   # the batch handed out, and 6 more of 2 samples
    deadline = time.monotonic() + 10
    while ds.calls < bound and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)   # time to go past the bound, were it not kept
    assert ds.calls == bound
    next(it)
    deadline = time.monotonic() + 10
    while ds.calls < bound + 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ds.calls == bound + 2   # one batch taken, one more loaded
    it.close()


@pytest.mark.parametrize("num_workers", [1, 3])
def test_an_error_in_a_worker_names_the_sample_and_joins_the_workers(num_workers):
    ds = Tagged(12, bad=7)
    ref_loader = DataLoader(ds, 3, seed=2)
    loader = DataLoader(ds, 3, seed=2, num_workers=num_workers)
    got = []
    with pytest.raises(KeyError, match="no sample numbered 7 here.*worker thread, loading sample 7 "):
        for batch in loader:
            got.append(batch)
    assert len(got) == 2   # batches 0 and 1 came before the one holding sample 7
    assert not loader_threads()
    # the generator stands where num_workers=0 leaves it: after sample 6's draws
    with pytest.raises(KeyError, match="no sample numbered 7 here'$"):
        list(ref_loader)
    assert loader.generator.bit_generator.state == ref_loader.generator.bit_generator.state


def test_a_bad_file_names_the_file_and_the_sample(voc_like, tmp_path):
    ds = SyntheticSegmentation(tmp_path, "val", num_train=2, num_val=5, size=32)
    ipath, _ = ds._paths(ds.ids[3])
    ipath.write_bytes(ipath.read_bytes()[:40])   # a truncated JPEG
    with pytest.raises(BadSampleError, match=f"{ipath.name}.*loading sample 3 of the dataset"):
        list(DataLoader(ds, 2, num_workers=2))
    assert not loader_threads()


def test_samples_of_different_sizes_name_the_batch():
    pairs = [(np.zeros((3, 4 + i, 4), np.float32), np.zeros((4 + i, 4), np.int64)) for i in range(3)]
    with pytest.raises(ValueError, match=r"different sizes .* the batch of samples \[0, 1\] of"):
        list(DataLoader(pairs, 2, num_workers=2))
    assert not loader_threads()


def test_arguments_name_the_value():
    ds = Tagged(5)
    for bad in (-1, -3):
        with pytest.raises(ValueError, match=f"num_workers must be >= 0 .*, got {bad}"):
            DataLoader(ds, 2, num_workers=bad)
    for bad in (1.5, "2", True):
        with pytest.raises(TypeError, match=f"num_workers must be an integer, got {bad!r}"):
            DataLoader(ds, 2, num_workers=bad)
    with pytest.raises(ValueError, match="prefetch_factor=2 needs num_workers > 0"):
        DataLoader(ds, 2, prefetch_factor=2)
    with pytest.raises(ValueError, match="prefetch_factor must be >= 1, got 0"):
        DataLoader(ds, 2, num_workers=1, prefetch_factor=0)
    with pytest.raises(TypeError, match="prefetch_factor must be an integer, got 1.5"):
        DataLoader(ds, 2, num_workers=1, prefetch_factor=1.5)
    with pytest.raises(TypeError):   # keyword-only, as drop_last
        DataLoader(ds, 2, False, 2)


def test_len_repr_and_defaults_as_pytorch_s():
    ds = Tagged(7)
    for drop_last in (False, True):
        a = DataLoader(ds, 3, drop_last=drop_last)
        b = DataLoader(ds, 3, drop_last=drop_last, num_workers=2)
        assert len(a) == len(b) == len(list(b)) == (2 if drop_last else 3)
    assert (a.num_workers, a.prefetch_factor, b.prefetch_factor) == (0, None, 2)
    assert repr(b) == "DataLoader(7 samples, batch_size=3, shuffle=False, drop_last=True, num_workers=2)"
    assert repr(a) == "DataLoader(7 samples, batch_size=3, shuffle=False, drop_last=True)"
    empty = DataLoader([], 2, num_workers=2)
    assert len(empty) == 0 and list(empty) == [] and not loader_threads()
