"""Training checkpoints: model, optimizer and random-number state in one ``.npz``, written atomically.

A checkpoint is a :func:`minifcn.weights.save_npz` file (no pickle anywhere):

- arrays ``model/<name>`` (the model's ``state_dict``: parameters and BN buffers),
  ``optim/velocity/<i>`` (SGD momentum buffers, in parameter order; absent before the first step)
  and any extra arrays the trainer adds (``trainer/order``: the epoch's shuffled sample order);
- one JSON ``meta`` dict: ``format``, ``version``, the optimizer's hyper-parameters
  (``optim``: ``base_lr`` and the groups), and whatever the trainer stores (config, epoch,
  iteration, the RNG states as ``bit_generator.state`` dicts, the last scores ...).

``save_npz`` writes to a temporary name and renames it into place, so a crash while saving leaves
the previous checkpoint intact. A truncated or foreign file raises ValueError naming the file.

>>> import os, tempfile, numpy as np
>>> from minifcn import nn, optim
>>> net = nn.Conv2d(1, 2, 3)
>>> opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
>>> save_checkpoint(path, net, opt, {"iteration": 7})
>>> ck = load_checkpoint(path)
>>> sorted(ck["model"]), ck["meta"]["iteration"]
(['bias', 'weight'], 7)
"""
from __future__ import annotations

import os

import numpy as np

from .weights import load_npz, save_npz

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT", "save", "load"]

CHECKPOINT_FORMAT = "minifcn-checkpoint"
_VERSION = 1


def save_checkpoint(path, model, optimizer=None, meta=None, arrays=None) -> None:
    """Write ``model`` (+ ``optimizer``) state and a JSON-able ``meta`` dict to ``path`` atomically.

    Args:
        path: destination file (conventionally ``checkpoint.npz``).
        model: a :class:`minifcn.nn.Module`; its ``state_dict()`` is saved under ``model/``.
        optimizer: a :class:`minifcn.optim.SGD` or None. Another optimizer (Adam, AdamW) is
            refused with a TypeError: this layout holds SGD's momentum buffers alone; save such
            a run with ``minifcn.save({"model": ..., "optimizer": opt.state_dict()}, path)``.
        meta: JSON-serialisable dict (ints of any size, floats round-trip exactly).
        arrays: extra ``name -> array`` entries (e.g. ``{"trainer/order": order}``).
    """
    state = {f"model/{k}": v for k, v in model.state_dict().items()}
    full_meta = {"format": CHECKPOINT_FORMAT, "version": _VERSION}
    if optimizer is not None:
        from .optim import SGD
        if not isinstance(optimizer, SGD):   # its state dict has no "velocity": a KeyError had said so
            name = type(optimizer).__name__
            raise TypeError(
                f"save_checkpoint: the trainer's checkpoint holds an SGD optimizer's momentum buffers, "
                f"got a {name}: save a run with a {name} as a tree of state dicts, "
                f"minifcn.save({{'model': model.state_dict(), 'optimizer': optimizer.state_dict()}}, path), "
                f"and go on from it with ck = minifcn.load(path); "
                f"optimizer.load_state_dict(ck['optimizer'])")
        osd = optimizer.state_dict()
        full_meta["optim"] = {"base_lr": osd["base_lr"], "groups": osd["groups"],
                              "num_params": len(osd["velocity"])}
        for i, v in enumerate(osd["velocity"]):
            if v is not None:
                state[f"optim/velocity/{i}"] = v
    for k, v in (arrays or {}).items():
        if k.startswith(("model/", "optim/")):
            raise ValueError(f"extra array name {k!r} clashes with the model/optimizer entries")
        state[k] = v
    full_meta.update(meta or {})
    save_npz(path, state, full_meta)


def load_checkpoint(path) -> dict:
    """Read a checkpoint; return ``{"model": state, "optim": sgd_state or None, "meta": dict,
    "arrays": extra arrays}``.

    ``optim`` has the layout of :meth:`minifcn.optim.SGD.state_dict` (feed it to
    ``load_state_dict``). Raises FileNotFoundError for a missing file and ValueError naming the
    file when it is truncated, corrupt, or not a minifcn checkpoint.
    """
    path = os.fspath(path)
    if os.path.isdir(path):   # a run's directory (--out): its checkpoint, as `minifcn train` writes it
        inside = os.path.join(path, "checkpoint.npz")
        if not os.path.isfile(inside):
            raise IsADirectoryError(f"checkpoint {path} is a directory, not a checkpoint file "
                                    "(nor a run's directory: no checkpoint.npz in it)")
        path = inside
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        state, meta = load_npz(path)
    except ValueError as e:
        raise ValueError(f"checkpoint {path} cannot be read ({e}): it is truncated or corrupt, or "
                         "not a checkpoint; give another one") from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        # a bare state dict (minifcn.save, save_npz) knows no model name, classes or config
        hint = ("; it holds bare weights (minifcn.save or weights.save_npz), without the model, "
                "classes and settings a checkpoint records: load them in Python with "
                "net.load_state_dict(minifcn.load(path)), or bring FCN weights in with "
                "`minifcn import`") if state and not meta.get("format") else ""
        raise ValueError(f"{path} is not a minifcn training checkpoint (meta format "
                         f"{meta.get('format')!r}, expected {CHECKPOINT_FORMAT!r}){hint}")
    model = {k[len("model/"):]: v for k, v in state.items() if k.startswith("model/")}
    if not model:
        raise ValueError(f"checkpoint {path} holds no model/* arrays")
    arrays = {k: v for k, v in state.items() if not k.startswith(("model/", "optim/"))}
    optim = None
    if "optim" in meta:
        try:
            n = int(meta["optim"]["num_params"])
            base_lr, groups = meta["optim"]["base_lr"], meta["optim"]["groups"]
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"checkpoint {path}: its optimizer record is incomplete or corrupt "
                             f"({type(e).__name__}: {e})") from None
        velocity = [state.get(f"optim/velocity/{i}") for i in range(n)]
        optim = {"base_lr": base_lr, "groups": groups,
                 "velocity": [None if v is None else np.asarray(v) for v in velocity]}
    return {"model": model, "optim": optim, "meta": meta, "arrays": arrays}


# ------------------------------------------------------------------ state dicts alone
def save(state, f) -> None:
    """Save a state dict to the file ``f``, as ``torch.save(net.state_dict(), f)`` is used: an
    uncompressed ``.npz`` of its arrays (no pickle), written to a temporary name and renamed
    into place. Only state dicts: a module itself is rebuilt by its constructor, then loaded.

    >>> import os, tempfile
    >>> import minifcn
    >>> from minifcn import nn
    >>> net = nn.Conv2d(1, 2, 3)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> minifcn.save(net.state_dict(), path)
    >>> nn.Conv2d(1, 2, 3).load_state_dict(minifcn.load(path))
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    from collections.abc import Mapping
    if not isinstance(state, Mapping):
        what = type(state).__name__
        hint = (": save its state_dict(), and load it into a model built the same way"
                if hasattr(state, "state_dict") else "")
        raise TypeError(f"minifcn.save: expected a state dict (names to arrays), got {what}{hint}")
    save_npz(f, state)


def load(f) -> dict:
    """The state dict in the file ``f``: one written by :func:`save` (or ``weights.save_npz``),
    or the model's of a training checkpoint (``minifcn train``'s ``checkpoint.npz``, or its run
    directory), ready for ``net.load_state_dict``. Arrays on the CPU, as saved."""
    path = os.fspath(f)
    if os.path.isdir(path) or load_npz(path)[1].get("format") == CHECKPOINT_FORMAT:
        return load_checkpoint(path)["model"]
    return load_npz(path)[0]
