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

``num_workers=N`` loads the next batches on N threads while the caller computes (see
``_ThreadedBatches``): the same batches, bit for bit, as ``num_workers=0``.
"""
from __future__ import annotations

import operator
import threading

import numpy as np

from .voc import SegmentationDataset, batch_order, batch_pair, iterate_batches, stack_batch

__all__ = ["DataLoader", "DEFAULT_SEED"]

DEFAULT_SEED = 0   # the seed of a loader given neither generator nor seed


def _integer(name, value):
    """``value`` as an int, or a TypeError naming ``name`` (a float, a str, a bool)."""
    if isinstance(value, bool):   # True is 1 to operator.index, and surely a slip
        raise TypeError(f"DataLoader: {name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"DataLoader: {name} must be an integer, got {value!r}") from None


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

    Workers: ``num_workers=N`` loads samples on N threads (not processes: decoding with PIL and
    NumPy's work release the GIL, and a thread needs no pickled copy of the dataset), up to
    ``N * prefetch_factor`` batches ahead of the one the caller holds. The batches are those of
    ``num_workers=0``, bit for bit, and the generator ends each epoch (or a ``break``) where
    ``num_workers=0`` leaves it: the random transforms still draw from the one generator, in
    sample order, one sample at a time (``dataset.load(i)``, the file decoding, runs in
    parallel; its ``transform`` in turn). A dataset with ``get(i, rng)`` but no ``load`` runs
    its whole ``get`` in turn (it overlaps the caller's work, not the other workers'); one with
    ``[i]`` only runs it in parallel. An error in a worker reaches the caller at that batch,
    naming the sample. One epoch at a time: the generator is the loader's while it runs.

    Args:
        dataset: anything with ``len`` and ``get(i, rng)`` or ``[i]`` giving ``(image, label)``
            (the readers of ``minifcn.data``, a ``subset``, a list of pairs).
        batch_size: N, at least 1 (the last batch may be smaller unless ``drop_last``).
        shuffle: a new random order of the samples at each epoch (otherwise dataset order).
        drop_last: leave out the last batch when it is smaller than ``batch_size``.
            Keyword-only, as in PyTorch (whose fourth positional argument is ``sampler``).
        generator: a ``numpy.random.Generator``, used (and advanced) as it is.
        seed: or an integer seed for a generator of the loader's own.
        num_workers: loading threads; 0 (default) loads in the caller's thread, when asked.
        prefetch_factor: batches each worker may load ahead (default 2 with workers; None,
            and only None, without, as PyTorch's).


    >>> pairs = [(np.full((3, 2, 2), i, np.float32), np.zeros((2, 2), np.int64)) for i in range(5)]
    >>> loader = DataLoader(pairs, batch_size=2, drop_last=True)
    >>> len(loader), [images[:, 0, 0, 0].tolist() for images, _ in loader]
    (2, [[0.0, 1.0], [2.0, 3.0]])
    >>> threaded = DataLoader(pairs, batch_size=2, drop_last=True, num_workers=2)
    >>> [images[:, 0, 0, 0].tolist() for images, _ in threaded]
    [[0.0, 1.0], [2.0, 3.0]]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, *,
                 drop_last: bool = False, generator=None, seed=None, num_workers: int = 0,
                 prefetch_factor=None):
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
        batch_size = _integer("batch_size", batch_size)   # 2.5 had reached range() in the loop
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
        num_workers = _integer("num_workers", num_workers)
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0 (0 loads in the caller's "
                             f"thread), got {num_workers}")
        if prefetch_factor is not None:
            if num_workers == 0:   # PyTorch's rule: nothing is loaded ahead without workers
                raise ValueError(f"DataLoader: prefetch_factor={prefetch_factor!r} needs "
                                 "num_workers > 0 (leave it None without workers)")
            prefetch_factor = _integer("prefetch_factor", prefetch_factor)
            if prefetch_factor < 1:
                raise ValueError(f"DataLoader: prefetch_factor must be >= 1, got {prefetch_factor}")
        elif num_workers > 0:
            prefetch_factor = 2
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator

    def __iter__(self):
        """One epoch: a fresh pass of ``iterate_batches`` on the loader's generator (or its
        threaded twin, ``_ThreadedBatches``, with workers)."""
        if self.num_workers > 0:
            return _ThreadedBatches(self.dataset, self.batch_size, self.shuffle, self.generator,
                                    self.drop_last, self.num_workers, self.prefetch_factor)
        return iterate_batches(self.dataset, self.batch_size, shuffle=self.shuffle,
                               rng=self.generator, drop_last=self.drop_last)

    def __len__(self):
        n = len(self.dataset)   # read each time, as each epoch does: a dataset may change
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __repr__(self):
        n = len(self.dataset)
        return (f"DataLoader({n} sample{'s' if n != 1 else ''}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}"
                + (f", num_workers={self.num_workers}" if self.num_workers else "") + ")")


class _Stopped(Exception):
    """The epoch was closed while a worker waited: it leaves without a result."""


class _Epoch:
    """What the workers of one threaded epoch share, all guarded by one condition ``cv``.

    Workers claim batches in order (``claimed``), up to ``allowed`` (the caller's position
    plus the prefetch), and put ``(images, labels, error, state)`` in ``results[b]``. The
    samples of batch ``b`` draw from the generator only when ``turn == b``, one after the
    other: the draws come in the order of ``num_workers=0`` whichever thread is first. (A
    turn per batch, not per sample: a hand-over costs about a sample's transform at 64 x 64.)
    ``state`` is the generator's state ``num_workers=0`` would have there (None: untouched).
    Workers hold this, never the iterator, so a dropped iterator is freed and stops them.
    """

    def __init__(self, dataset, batches, rng, ahead):
        self.dataset, self.batches, self.rng = dataset, batches, rng
        self.cv = threading.Condition()
        self.claimed, self.allowed, self.turn = 0, ahead, 0
        self.results, self.stop = {}, False
        getter = getattr(dataset, "get", None)
        if getter is not None and getattr(type(dataset), "get", None) is SegmentationDataset.get:
            self.mode = "load"      # load(i) in parallel, then transform(image, label, rng) in turn
        elif getter is not None:
            self.mode = "get"       # get(i, rng) may draw anywhere: all of it in turn
        else:
            self.mode = "index"     # dataset[i] never sees the generator: all in parallel

    def wait_turn(self, b):
        with self.cv:
            while self.turn != b and not self.stop:
                self.cv.wait()
            if self.stop:
                raise _Stopped

    def pass_turn(self):
        with self.cv:
            self.turn += 1
            self.cv.notify_all()

    def work(self):
        """A worker's loop: claim the next batch, load it, post it, until none is left."""
        while True:
            with self.cv:
                while not self.stop and self.claimed < len(self.batches) and self.claimed >= self.allowed:
                    self.cv.wait()
                if self.stop or self.claimed >= len(self.batches):
                    return
                b = self.claimed
                self.claimed += 1
            try:
                result = self.load_batch(b)
            except _Stopped:
                return
            except BaseException as e:   # not the dataset's (those come back named): still the caller's
                result = None, None, (e, self.batches[b]), None
            with self.cv:
                self.results[b] = result
                self.cv.notify_all()

    def load_batch(self, b):
        """Batch ``b`` as ``iterate_batches`` makes it; an error comes back, naming its sample."""
        idx, ds, rng = self.batches[b], self.dataset, self.rng
        raw = []
        for i in idx:   # the part that draws nothing, in parallel with the other workers
            try:
                raw.append(ds.load(i) if self.mode == "load" else ds[i] if self.mode == "index" else None)
            except BaseException as e:
                raw.append(e)
                break   # num_workers=0 would not load past it
        xs, ys = [], []
        if self.mode != "index":
            self.wait_turn(b)   # the batches before b have drawn: now b's samples may
        for i, sample in zip(idx, raw):
            try:
                if isinstance(sample, BaseException):
                    raise sample
                if self.mode == "get":
                    sample = ds.get(i, rng)
                elif self.mode == "load" and ds.transform is not None:
                    sample = ds.transform(*sample, rng)
                x, y = batch_pair(*sample, i)   # as iterate_batches does
                xs.append(x)
                ys.append(y)
            except BaseException as e:   # the turn stays here: no later sample draws
                return None, None, (e, i), self.state()
        state = self.state()
        if self.mode != "index":
            self.pass_turn()
        try:
            return (*stack_batch(xs, ys), None, state)
        except ValueError as e:
            return None, None, (e, idx), state

    def state(self):
        # read by the thread whose turn it is: no other thread draws meanwhile
        return None if self.mode == "index" else self.rng.bit_generator.state


class _ThreadedBatches:
    """One epoch of ``DataLoader(num_workers=N)``: ``iterate_batches``' batches, loaded ahead.

    The order is drawn here, in the caller's thread, as ``iterate_batches`` draws it; then N
    daemon threads run ``_Epoch.work``. ``close()`` (also on ``break``, when the iterator is
    dropped, and on an error) stops and joins them and sets the generator back to where
    ``num_workers=0`` would stand: after the last batch handed out, or at the failed sample.
    """

    def __init__(self, dataset, batch_size, shuffle, rng, drop_last, num_workers, prefetch_factor):
        # the same draw as iterate_batches', before any sample's
        batches = batch_order(len(dataset), batch_size, shuffle, rng, drop_last)
        self._epoch = _Epoch(dataset, batches, rng, num_workers * prefetch_factor)
        self._next = 0                       # the batch the caller gets next
        self._state = rng.bit_generator.state   # the generator after the batches handed out
        self._threads = [threading.Thread(target=self._epoch.work, daemon=True,
                                          name=f"minifcn-loader-{k}") for k in range(num_workers)]
        for t in self._threads:
            t.start()

    def __iter__(self):
        return self

    def __next__(self):
        ep = self._epoch
        if self._threads is None or self._next >= len(ep.batches):
            self.close()   # the workers have left or are leaving: join them
            raise StopIteration
        try:
            with ep.cv:
                while self._next not in ep.results:
                    ep.cv.wait(timeout=1.0)   # the timeout only to notice dead workers
                    if self._next not in ep.results and not any(t.is_alive() for t in self._threads):
                        raise RuntimeError(f"DataLoader: the workers stopped before batch {self._next}")
                x, y, error, state = ep.results.pop(self._next)
                self._next += 1
                ep.allowed += 1   # a batch left the buffer: one more may be loaded
                ep.cv.notify_all()
        except BaseException:   # Ctrl-C while waiting: stop the workers too
            self.close()
            raise
        if state is not None:
            self._state = state
        if error is not None:
            self.close()
            raise _named(*error) from error[0]
        return x, y

    def close(self):
        """Stop and join the workers; the generator goes back to where the caller stands."""
        if getattr(self, "_threads", None) is None:   # closed, or __init__ never got there
            return
        ep = self._epoch
        with ep.cv:
            ep.stop = True
            ep.cv.notify_all()
        for t in self._threads:
            t.join()   # each finishes the sample in its hands first
        self._threads = None
        ep.rng.bit_generator.state = self._state   # undo what was loaded ahead and never handed out
        ep.results.clear()

    def __del__(self):
        self.close()

    def __len__(self):
        return len(self._epoch.batches)


def _named(e, where):
    """``e`` again, its message naming the sample (or batch) a worker was loading, as PyTorch's
    re-raised worker errors: the same type where it takes one message, else a RuntimeError."""
    what = f"sample {where}" if isinstance(where, int) else f"the batch of samples {where}"
    msg = f"{e} (in a DataLoader worker thread, loading {what} of the dataset)"
    if isinstance(e, StopIteration):   # would end the caller's loop silently (PEP 479's reason)
        return RuntimeError(f"StopIteration: {msg}")
    try:
        return type(e)(msg)
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {msg}")
