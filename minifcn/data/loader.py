"""``DataLoader``: ``iterate_batches`` as an object a training loop iterates once per epoch.

PyTorch's loop reads ``for images, labels in loader:`` and ``len(loader)`` batches per epoch;
this is that shape on NumPy. It keeps one ``numpy.random.Generator`` and hands it to
``iterate_batches`` at every epoch, so each epoch draws a new order (with ``shuffle``) and the
random transforms draw from the same generator: the whole stream of batches is a function of
the seed, and saving ``loader.generator.bit_generator.state`` between epochs saves where it is.

>>> import tempfile
>>> from minifcn.data.synthetic import SyntheticSegmentation
>>> ds = SyntheticSegmentation(tempfile.mkdtemp(), "val", num_train=2, num_val=5, size=32)
>>> loader = DataLoader(ds, batch_size=2, shuffle=True, seed=0)
>>> len(loader), [images.shape[0] for images, labels in loader]
(3, [2, 2, 1])
"""
from __future__ import annotations

import operator

import numpy as np

from .voc import iterate_batches

__all__ = ["DataLoader", "DEFAULT_SEED"]

DEFAULT_SEED = 0   # the seed of a loader given neither generator nor seed


class DataLoader:
    """Batches of a dataset, epoch after epoch, as ``torch.utils.data.DataLoader`` in a loop.

    Iterating gives ``(images, labels)`` NumPy batches, ``(N, 3, H, W)`` ``float32`` and
    ``(N, H, W)`` ``int64``, exactly those of ``iterate_batches(dataset, batch_size, shuffle,
    generator, drop_last)`` (the samples must share one size unless ``batch_size=1``).
    ``len(loader)`` is the number of batches per epoch, as PyTorch's:
    ``ceil(len(dataset) / batch_size)``, or ``len(dataset) // batch_size`` with ``drop_last``.

    Randomness: one ``numpy.random.Generator`` drives the shuffling and the dataset's random
    transforms (``dataset.get(i, generator)``), and every new iteration (epoch) goes on from
    where the last left it, so each epoch has a new order. Given neither ``generator`` nor
    ``seed``, the loader seeds its own with ``DEFAULT_SEED`` (0): runs are reproducible by
    default, where PyTorch's draws from the global torch seed. Two loaders built alike give the
    same batches; give each its own ``seed`` for different streams. To resume between epochs
    where a run stopped, save ``loader.generator.bit_generator.state`` with the model and set
    it back before the next epoch (an epoch cut in the middle starts a new order).

    Args:
        dataset: anything with ``len`` and ``get(i, rng)`` or ``[i]`` giving ``(image, label)``
            (the readers of ``minifcn.data``, a ``subset``, a list of pairs).
        batch_size: N, at least 1 (the last batch may be smaller unless ``drop_last``).
        shuffle: a new random order of the samples at each epoch (otherwise dataset order).
        drop_last: leave out the last batch when it is smaller than ``batch_size``.
            Keyword-only, as in PyTorch (whose fourth positional argument is ``sampler``).
        generator: a ``numpy.random.Generator``, used (and advanced) as it is.
        seed: or an integer seed for a generator of the loader's own.

    >>> pairs = [(np.full((3, 2, 2), i, np.float32), np.zeros((2, 2), np.int64)) for i in range(5)]
    >>> loader = DataLoader(pairs, batch_size=2, drop_last=True)
    >>> len(loader), [images[:, 0, 0, 0].tolist() for images, _ in loader]
    (2, [[0.0, 1.0], [2.0, 3.0]])
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, *,
                 drop_last: bool = False, generator=None, seed=None):
        try:
            len(dataset)
        except TypeError:
            what = "shuffle it" if shuffle else "count and index its samples"
            raise TypeError(f"DataLoader: a dataset of type {type(dataset).__name__} has no len(), "
                            f"needed to {what}: expected a sized dataset (len and get(i, rng) "
                            "or [i])") from None
        if not (hasattr(dataset, "get") or hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: a dataset of type {type(dataset).__name__} cannot be "
                            "indexed: expected get(i, rng) or [i]")
        if isinstance(batch_size, bool):   # True is 1 to operator.index, and surely a slip
            raise TypeError(f"DataLoader: batch_size must be an integer, got {batch_size!r}")
        try:
            batch_size = operator.index(batch_size)   # 2.5 had reached range() in the loop
        except TypeError:
            raise TypeError(f"DataLoader: batch_size must be an integer, got {batch_size!r}") from None
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if generator is not None and seed is not None:
            raise ValueError(f"DataLoader: give a generator or a seed, not both (got seed={seed!r})")
        if generator is None:
            seed = DEFAULT_SEED if seed is None else seed
            try:
                generator = np.random.default_rng(seed)
            except (TypeError, ValueError) as e:
                raise ValueError(f"DataLoader: seed must be a non-negative integer, got {seed!r} "
                                 f"({e})") from None
        elif not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator (as "
                            f"numpy.random.default_rng(seed) makes), got "
                            f"{type(generator).__module__}.{type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator

    def __iter__(self):
        """One epoch: a fresh pass of ``iterate_batches`` on the loader's generator."""
        return iterate_batches(self.dataset, self.batch_size, shuffle=self.shuffle,
                               rng=self.generator, drop_last=self.drop_last)

    def __len__(self):
        n = len(self.dataset)   # read each time, as each epoch does: a dataset may change
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __repr__(self):
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
