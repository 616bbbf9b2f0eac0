"""DataLoader: PyTorch's len, every sample once per epoch, a new order each epoch from one
generator, reproducible by seed, and the very batches of iterate_batches."""
import numpy as np
import pytest

from minifcn.data import DataLoader, build_transform, iterate_batches
from minifcn.data.loader import DEFAULT_SEED


class Tagged:
    """``n`` random 5x5 RGB images; sample i's label is i everywhere, so a batch tells which
    samples it holds whatever the crop and flip drew. A random crop and flip by default."""

    def __init__(self, n, transform="random"):
        rng = np.random.default_rng(n)
        self.images = rng.integers(0, 256, (n, 5, 5, 3), dtype=np.uint8)
        self.transform = build_transform("unit", crop=3, flip=True) if transform == "random" else transform

    def __len__(self):
        return len(self.images)

    def get(self, i, rng=None):
        image, label = self.images[i], np.full((5, 5), i, np.uint8)
        return self.transform(image, label, rng) if self.transform else (image, label)


def ids(batch):
    return batch[1][:, 0, 0].tolist()


def assert_same_batches(a, b):
    a, b = list(a), list(b)
    assert len(a) == len(b)
    for (x1, y1), (x2, y2) in zip(a, b):
        assert x1.dtype == x2.dtype == np.float32 and y1.dtype == y2.dtype == np.int64
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("n", [0, 1, 5, 6, 7])
@pytest.mark.parametrize("batch_size", [1, 2, 3, 6, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_is_pytorch_s_and_the_number_of_batches(n, batch_size, drop_last):
    loader = DataLoader(Tagged(n, None), batch_size, shuffle=True, drop_last=drop_last)
    expected = n // batch_size if drop_last else (n + batch_size - 1) // batch_size
    assert len(loader) == expected == len(list(loader)) == len(list(loader))
    sizes = [len(y) for _, y in loader]
    assert all(s == batch_size for s in sizes[:-1])
    assert sum(sizes) == (n - n % batch_size if drop_last else n)


def test_len_matches_torch_s():
    torch = pytest.importorskip("torch")
    for n in (0, 1, 5, 6, 7):
        for batch_size in (1, 2, 3, 6, 8):
            for drop_last in (False, True):
                theirs = torch.utils.data.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
                assert len(DataLoader(Tagged(n, None), batch_size, drop_last=drop_last)) == len(theirs)


@pytest.mark.parametrize("drop_last", [False, True])
def test_every_sample_once_per_epoch_in_a_new_order(drop_last):
    n, batch_size = 10, 3
    loader = DataLoader(Tagged(n), batch_size, shuffle=True, drop_last=drop_last, seed=1)
    orders = []
    for epoch in range(4):
        order = [i for batch in loader for i in ids(batch)]
        assert len(order) == len(set(order)) == (9 if drop_last else 10)   # none twice
        if not drop_last:
            assert sorted(order) == list(range(n))
        orders.append(tuple(order))
    assert len(set(orders)) == 4, orders   # each epoch drew its own order
    assert orders[0] != tuple(sorted(orders[0]))


def test_without_shuffle_the_dataset_order_each_epoch():
    loader = DataLoader(Tagged(7), 3)
    for epoch in range(2):
        assert [ids(b) for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]


def test_reproducible_by_seed_and_by_default():
    ds = Tagged(8)

    def epochs(loader, k=3):
        return [batch for _ in range(k) for batch in loader]

    a = epochs(DataLoader(ds, 3, shuffle=True, seed=3))
    assert_same_batches(a, epochs(DataLoader(ds, 3, shuffle=True, seed=3)))
    assert_same_batches(a, epochs(DataLoader(ds, 3, shuffle=True, generator=np.random.default_rng(3))))
    other = epochs(DataLoader(ds, 3, shuffle=True, seed=4))
    assert [ids(b) for b in a] != [ids(b) for b in other]
    # neither seed nor generator: the fixed default seed, the same stream every run
    default = epochs(DataLoader(ds, 3, shuffle=True))
    assert_same_batches(default, epochs(DataLoader(ds, 3, shuffle=True, seed=DEFAULT_SEED)))
    assert_same_batches(default, epochs(DataLoader(ds, 3, shuffle=True)))


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_the_batches_of_iterate_batches_on_the_same_generator(shuffle, drop_last):
    ds = Tagged(7)
    loader = DataLoader(ds, 2, shuffle=shuffle, drop_last=drop_last, generator=np.random.default_rng(9))
    rng = np.random.default_rng(9)
    for epoch in range(3):   # each epoch goes on from the generator's state: as many calls
        assert_same_batches(loader, iterate_batches(ds, 2, shuffle=shuffle, rng=rng, drop_last=drop_last))
    # the random transforms drew from it: the crops differ from one epoch to the next
    first, second = list(loader), list(loader)
    assert any(not np.array_equal(x1, x2) for (x1, _), (x2, _) in zip(first, second))


def test_a_given_generator_is_used_and_advanced():
    g = np.random.default_rng(5)
    loader = DataLoader(Tagged(4), 2, shuffle=True, generator=g)
    assert loader.generator is g
    before = g.bit_generator.state["state"]["state"]
    list(loader)
    assert g.bit_generator.state["state"]["state"] != before
    # saved between epochs and set again, the next epoch comes again
    state = g.bit_generator.state
    a = list(loader)
    g.bit_generator.state = state
    assert_same_batches(a, loader)


def test_a_list_of_pairs_and_raw_images():
    pairs = [(np.full((4, 4, 3), i, np.uint8), np.full((4, 4), i, np.uint8)) for i in range(3)]
    images, labels = next(iter(DataLoader(pairs, 3)))
    assert images.shape == (3, 3, 4, 4) and images.dtype == np.float32
    assert labels[:, 0, 0].tolist() == [0, 1, 2] and images[:, 0, 0, 0].tolist() == [0, 1, 2]


def test_errors_name_the_value():
    ds = Tagged(4, None)
    for bad in (0, -2):
        with pytest.raises(ValueError, match=f"batch_size must be >= 1, got {bad}"):
            DataLoader(ds, bad)
    for bad in (2.5, "4", True):
        with pytest.raises(TypeError, match=f"batch_size must be an integer, got {bad!r}"):
            DataLoader(ds, bad)

    class Unsized:
        def __getitem__(self, i):
            return ds.get(i)

    with pytest.raises(TypeError, match="type Unsized has no len\\(\\), needed to shuffle it"):
        DataLoader(Unsized(), 2, shuffle=True)
    with pytest.raises(TypeError, match="type Unsized has no len\\(\\), needed to count"):
        DataLoader(Unsized(), 2)
    with pytest.raises(TypeError, match="type set cannot be indexed"):
        DataLoader({1, 2}, 2)
    with pytest.raises(ValueError, match="a generator or a seed, not both \\(got seed=1\\)"):
        DataLoader(ds, 2, generator=np.random.default_rng(0), seed=1)
    with pytest.raises(TypeError, match="numpy.random.Generator .* got numpy.random.mtrand.RandomState"):
        DataLoader(ds, 2, shuffle=True, generator=np.random.RandomState(0))
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        DataLoader(ds, 2, seed=-1)
    with pytest.raises(TypeError):   # drop_last is keyword-only: PyTorch's 4th is the sampler
        DataLoader(ds, 2, True, True)


def test_repr():
    assert repr(DataLoader(Tagged(5, None), 2, shuffle=True)) == \
        "DataLoader(5 samples, batch_size=2, shuffle=True, drop_last=False)"
