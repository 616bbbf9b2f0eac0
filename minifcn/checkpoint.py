"""Training checkpoints: model, optimizer and random-number state in one ``.npz``, written
atomically; and :func:`save` / :func:`load` (``minifcn.save``, ``minifcn.load``), PyTorch's
``torch.save`` / ``torch.load`` for a state dict or any tree of them, without pickle.

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
from collections.abc import Mapping

import numpy as np

from . import backend
from ._files import deferring_sigint
from .autograd import Tensor
from .optim import SGD
from .weights import _META_KEY, _file_name, load_npz, save_npz

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT", "TREE_FORMAT", "save", "load"]

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
    with deferring_sigint():   # Ctrl-C mid-write: the file is finished and renamed, then it stops
        save_npz(path, state, full_meta)


def checkpoint_file(path) -> str:
    """The checkpoint file ``path`` names: itself, or a run's directory's ``checkpoint.npz``
    (``minifcn train --out DIR`` writes it there), so a resumed run goes on in that directory."""
    path = os.fspath(path)
    inside = os.path.join(path, "checkpoint.npz")
    return inside if os.path.isdir(path) and os.path.isfile(inside) else path


def load_checkpoint(path) -> dict:
    """Read a checkpoint; return ``{"model": state, "optim": sgd_state or None, "meta": dict,
    "arrays": extra arrays}``.

    ``optim`` has the layout of :meth:`minifcn.optim.SGD.state_dict` (feed it to
    ``load_state_dict``). Raises FileNotFoundError for a missing file and ValueError naming the
    file when it is truncated, corrupt, or not a minifcn checkpoint, or when a parameter, buffer
    or momentum buffer holds NaN or Inf (naming the first such entry): a diverged net can only
    diverge again (``train --resume``) or score nothing (``eval``, ``predict``).
    (:func:`load` reads such a file without the check, for a look at what went wrong.)
    """
    path = checkpoint_file(path)   # a run's directory (--out): its checkpoint
    if os.path.isdir(path):
        raise IsADirectoryError(f"checkpoint {path} is a directory, not a checkpoint file "
                                "(nor a run's directory: no checkpoint.npz in it)")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        state, meta = load_npz(path)
    except ValueError as e:
        raise ValueError(f"checkpoint {path} cannot be read ({e}): it is truncated or corrupt, or "
                         "not a checkpoint; give another one") from None
    ck = _checkpoint(state, meta, path)
    _check_finite(state, path)
    return ck


def _check_finite(state, path) -> None:
    """ValueError naming ``path`` and its first model or optimizer entry holding NaN or Inf."""
    for name, value in state.items():
        if not name.startswith(("model/", "optim/")) or value.dtype.kind not in "fc":
            continue
        bad = ~np.isfinite(value)
        if bad.any():
            where = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), value.shape))
            at = f"[{', '.join(map(str, where))}]" if where else ""
            raise ValueError(
                f"checkpoint {path} holds a non-finite value: {name}{at} is {value[where]} "
                f"({int(bad.sum())} of its {value.size} values not finite): "
                "the run had diverged when it was saved; go on from an earlier checkpoint, or "
                "start afresh (a lower --lr)")


def _checkpoint(state, meta, path) -> dict:
    """:func:`load_checkpoint`'s answer from the file's arrays and meta (``path`` names it)."""
    if meta.get("format") != CHECKPOINT_FORMAT:
        # a bare state dict (minifcn.save, save_npz) knows no model name, classes or config
        hint = ("; it holds bare weights (minifcn.save or weights.save_npz), without the model, "
                "classes and settings a checkpoint records: load them in Python with "
                "net.load_state_dict(minifcn.load(path)), or bring FCN weights in with "
                "`minifcn import`") if state and not meta.get("format") else ""
        if meta.get("format") == TREE_FORMAT:
            hint = ("; minifcn.save wrote it (a tree of state dicts): read it in Python with "
                    "ck = minifcn.load(path), then net.load_state_dict(ck['model']) and so on")
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


# ------------------------------------------------------------------ minifcn.save / minifcn.load
TREE_FORMAT = "minifcn-tree"
_TREE_VERSION = 1
# a JSON object with one of these keys alone stands for what is not JSON: an array or a NumPy
# scalar (the name of its .npz entry), a tuple (its items); a dict that is one such key alone is
# wrapped as {"__dict__": {...}}, so that no dict is taken for one of the others
_TAGS = ("__array__", "__scalar__", "__tuple__", "__dict__")


def save(obj, f) -> None:
    """Save ``obj`` to ``f``, as ``torch.save(obj, f)``, without pickle: a state dict, or a tree
    of them and of anything else a run goes on from.

    ``obj`` is built of dicts (str keys), lists, tuples, arrays (NumPy; CuPy's and minifcn
    Tensors' are copied to the host), Python and NumPy scalars, str, bool and None. The file is
    an uncompressed ``.npz``: each array is an entry named by its path in the tree
    (``model/conv1_1.weight``, ``optimizer/state/0/exp_avg``), the rest is one JSON record in
    the ``__meta__`` entry, with a placeholder where each array was. A flat mapping of names
    to arrays (a model's ``state_dict()``) is stored as :func:`minifcn.weights.save_npz`
    stores it, one entry per name, as any ``.npz`` reader expects.

    Modules, optimizers and schedulers are not stored: save their ``state_dict()``, and load it
    into one built the same way. Anything else (a set, a dict with a key that is not a str,
    an array of Python objects) is a TypeError naming where it sits in the tree, before
    anything is written.

    Args:
        obj: what to save (above).
        f: a path, written to a temporary name and renamed into place (a save cut short
            leaves the old file, or none); or an open binary file object, written directly
            from where it stands (not atomically) and left open.

    >>> import os, tempfile, numpy as np
    >>> import minifcn
    >>> from minifcn import nn, optim
    >>> net = nn.Conv2d(1, 2, 3)
    >>> opt = optim.Adam(net.parameters(), lr=1e-3)
    >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
    >>> minifcn.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    >>> ck = minifcn.load(path)
    >>> net.load_state_dict(ck["model"]); opt.load_state_dict(ck["optimizer"]); ck["epoch"]
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    3
    >>> sorted(np.load(path).files)   # any .npz reader sees the arrays
    ['__meta__', 'model/bias', 'model/weight']
    """
    if not hasattr(f, "write"):
        f = os.fspath(f)
    if _is_flat(obj):   # a state dict: entries named by its keys, as save_npz has always stored it
        save_npz(f, {name: _host(v, f"state[{name!r}]") for name, v in obj.items()})
        return
    arrays = {}
    tree = _pack(obj, "state", [], arrays, set())   # every problem raised before a byte is written
    save_npz(f, arrays, {"format": TREE_FORMAT, "version": _TREE_VERSION, "tree": tree})


def load(f, map_location=None, *, weights_only=None):
    """What :func:`save` saved in ``f``, rebuilt: dicts (in their order), lists, tuples,
    arrays (host NumPy arrays, 0-d ones included, in their dtypes), scalars of their type (a
    Python int stays an int, a ``np.float32`` a ``np.float32``), str, bool, None. A flat
    state dict comes back as one (any ``weights.save_npz`` file too); a training checkpoint
    (``minifcn train``'s ``checkpoint.npz``, or its run's directory) gives its model's state
    dict, ready for ``net.load_state_dict``.

    Args:
        f: a path, or an open binary file object (read from where it stands).
        map_location: PyTorch's keyword, accepted for PyTorch's sake: None or ``"cpu"``; the
            arrays are always NumPy arrays on the host. Anything else is a ValueError: move
            them after loading (``net.load_state_dict`` copies onto the model's device, and
            ``net.to(device)`` moves a model; ``Tensor(array).to(device)`` one array).
        weights_only: PyTorch's keyword, accepted for PyTorch's sake (None, True or False):
            nothing is ever unpickled here, so either way only arrays and plain data are read.

    Any mapping (an ``OrderedDict``) comes back a plain dict, in its order; an array saved twice
    comes back as two arrays. A corrupt file, or one a newer minifcn wrote, is a ValueError
    naming it.

    >>> import io, numpy as np
    >>> import minifcn
    >>> buf = io.BytesIO()
    >>> minifcn.save({"step": 7, "betas": (0.9, 0.999), "m": np.zeros(2, np.float32)}, buf)
    >>> _ = buf.seek(0)
    >>> minifcn.load(buf, map_location="cpu", weights_only=True)
    {'step': 7, 'betas': (0.9, 0.999), 'm': array([0., 0.], dtype=float32)}
    """
    if map_location is not None and not (isinstance(map_location, str) and map_location == "cpu"):
        raise ValueError(
            f"minifcn.load: map_location={map_location!r} is not supported: it loads host NumPy "
            "arrays alone (map_location None or 'cpu'); move them after loading: "
            "net.load_state_dict(state) copies them onto the model's device (net.to(device) "
            "moves a model), Tensor(array).to(device) moves one array")
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"minifcn.load: weights_only must be None, True or False (accepted for "
                        f"PyTorch's sake: nothing is unpickled either way), got {weights_only!r}")
    if hasattr(f, "read"):
        where = _file_name(f)
    else:
        f = where = os.fspath(f)
        if os.path.isdir(f):   # a run's directory: its checkpoint's model
            return load_checkpoint(f)["model"]
    state, meta = load_npz(f)
    if meta.get("format") == CHECKPOINT_FORMAT:
        return _checkpoint(state, meta, where)["model"]
    if meta.get("format") != TREE_FORMAT:
        return state
    if not isinstance(meta.get("version"), int) or meta["version"] > _TREE_VERSION:
        raise ValueError(f"{where}: a minifcn.save file of version {meta.get('version')!r}; this "
                         f"minifcn reads version {_TREE_VERSION} and below: update minifcn")
    try:
        return _unpack(meta["tree"], state)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"{where}: its minifcn.save record is corrupt ({type(e).__name__}: {e})") from None


def _is_array(x):
    return isinstance(x, (np.ndarray, Tensor)) or hasattr(x, "__cuda_array_interface__")


def _is_flat(obj):
    """Whether ``obj`` is a state dict: str keys (none the .npz's ``__meta__``) to arrays."""
    return (isinstance(obj, Mapping) and _META_KEY not in obj
            and all(isinstance(k, str) and _is_array(v) for k, v in obj.items()))


def _host(x, where):
    """``x`` as a NumPy array on the host, or a TypeError naming ``where`` it sits."""
    array = backend.to_numpy(x)
    if array.dtype.hasobject:
        raise TypeError(f"minifcn.save: {where} is an array of dtype {array.dtype}: an .npz holds "
                        "numbers, bools and strings, no Python objects (store them as lists)")
    return array


def _put(arrays, parts, array):
    """Enter ``array`` in ``arrays`` under its path's name (``a/b/0``), made unique; the name."""
    base = "/".join(parts) or "_"
    name, n = base, 1
    while name in arrays or name == _META_KEY:   # a key holding "/" can make a path twice
        n += 1
        name = f"{base}~{n}"
    arrays[name] = array
    return name


MAX_DEPTH = 100   # containers within containers: far beyond any state dict's, far below Python's limit


def _pack(x, where, parts, arrays, inside):
    """``x`` as JSON, its arrays and NumPy scalars entered in ``arrays``. ``where`` is its path
    as Python would write it (``state['optimizer']['state'][0]``), for the errors; ``parts``
    the same keys, to name the entries; ``inside`` the ids of the containers around it."""
    if isinstance(x, np.generic):   # before float: np.float64 is one; as a 0-d entry, type kept
        return {"__scalar__": _put(arrays, parts, _host(x, where))}
    if _is_array(x):
        return {"__array__": _put(arrays, parts, _host(x, where))}
    if x is None or type(x) in (bool, int, float, str):   # JSON's own (ints any size, floats exact)
        return x
    if isinstance(x, Mapping) or type(x) in (list, tuple):
        if len(inside) >= MAX_DEPTH:   # load's JSON and rebuilding would overflow Python's stack
            raise ValueError(f"minifcn.save: {where} is nested {len(inside)} containers deep; "
                             f"at most {MAX_DEPTH} are stored")
        if id(x) in inside:
            raise ValueError(f"minifcn.save: {where} is a {type(x).__name__} it sits in (a cycle): "
                             "a tree cannot hold itself")
        inside = inside | {id(x)}
    if isinstance(x, Mapping):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str):
                raise TypeError(f"minifcn.save: {where} has the key {k!r} of type {type(k).__name__}: "
                                "keys must be str (JSON's); use str(key), or a list in place of "
                                "a dict keyed by index")
            out[k] = _pack(v, f"{where}[{k!r}]", parts + [k], arrays, inside)
        return {"__dict__": out} if len(out) == 1 and next(iter(out)) in _TAGS else out
    if type(x) in (list, tuple):
        items = [_pack(v, f"{where}[{i}]", parts + [str(i)], arrays, inside) for i, v in enumerate(x)]
        return items if type(x) is list else {"__tuple__": items}
    what = type(x).__name__
    if hasattr(x, "state_dict"):   # a module, an optimizer, a scheduler
        hint = ": save its state_dict(), and load it into one built the same way"
    elif isinstance(x, (set, frozenset)):
        hint = ": store a list (sorted, for the same order every time)"
    else:
        hint = ("; minifcn.save stores dicts (str keys), lists, tuples, arrays, Python and NumPy "
                "scalars, str, bool and None")
    raise TypeError(f"minifcn.save: {where} {'is' if where == 'state' else 'holds'} a {what}{hint}")


def _unpack(x, arrays):
    """The inverse of :func:`_pack`, the arrays taken from the file's ``arrays``."""
    if isinstance(x, list):
        return [_unpack(v, arrays) for v in x]
    if not isinstance(x, dict):
        return x
    if len(x) == 1:
        (tag, v), = x.items()
        if tag == "__array__":
            return arrays[v]
        if tag == "__scalar__":
            return arrays[v][()]   # the 0-d entry's NumPy scalar
        if tag == "__tuple__":
            return tuple(_unpack(item, arrays) for item in v)
        if tag == "__dict__":
            return {k: _unpack(item, arrays) for k, item in v.items()}
    return {k: _unpack(v, arrays) for k, v in x.items()}
