"""Modules: layers that own their parameters, named and ordered, PyTorch-shaped.

A :class:`Module` registers every :class:`Parameter`, buffer and sub-module assigned to it as an
attribute, in order, so ``state_dict()`` keys read like the paper's Caffe net
(``conv1_1.weight``, ``fc6.bias``, ``score_pool4.weight`` ...).

>>> import numpy as np
>>> from minifcn import Tensor
>>> net = Sequential(Conv2d(3, 4, 3, padding=1), ReLU(), MaxPool2d(2))
>>> net(Tensor(np.zeros((1, 3, 8, 8), dtype=np.float32))).shape
(1, 4, 4, 4)
>>> list(net.state_dict())
['0.weight', '0.bias']
"""
from __future__ import annotations

import operator
import sys
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from . import backend, init
from . import functional as F
from . import nn_utils as utils
from .autograd import RemovableHandle, Tensor, as_tensor, clear_grad, to_arguments
from .hooks import BackwardHookCall
from .im2col import _pair

# ``import minifcn.nn.utils`` and ``from minifcn.nn.utils import clip_grad_norm_``, as in
# PyTorch, though this module is a file, not a package: the import system finds the name here
sys.modules[__name__ + ".utils"] = utils


class StateDictError(ValueError, RuntimeError):
    """A state dict that does not fit the module: names or shapes. A RuntimeError, as PyTorch
    raises, and a ValueError, as this library's earlier releases did, so either ``except``
    catches it."""


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` did not match (empty lists when strict)."""
    missing_keys: list
    unexpected_keys: list


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (``requires_grad=True``)."""

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)


class Module:
    """Base class: assign Parameters, buffers (``register_buffer``) and Modules as attributes."""

    def __init__(self):
        object.__setattr__(self, "_params", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())   # buffers left out of the state dict
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_params" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        # As PyTorch: a Parameter or a sub-module is replaced only by its kind (or None, which
        # drops it); an array over a Parameter had dropped it from the state dict, silently.
        for table, kind, what in ((self._params, Parameter, "parameter"),
                                  (self._modules, Module, "child module")):
            if name in table and value is not None and not isinstance(value, kind):
                raise TypeError(f"cannot assign {type(value).__name__} as {what} {name!r} of "
                                f"{type(self).__name__}: {kind.__name__} or None expected")
        buffer = name in self._buffers and not isinstance(value, (Parameter, Module))   # None stays one
        if buffer and value is not None and not isinstance(value, backend.get_array_module(value).ndarray):
            # 3.0 over a buffer had stayed in the state dict, where loading it back failed
            raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} of "
                            f"{type(self).__name__}: an array or None expected")
        for table, keeps in ((self._params, isinstance(value, Parameter)),
                             (self._modules, isinstance(value, Module)), (self._buffers, buffer)):
            if name in table and not keeps:   # a name changes kind: it leaves its old table
                del table[name]
        # assigned to a name it already has, an entry keeps its place in the state dict's order
        if isinstance(value, Parameter):
            self._params[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif buffer:
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):   # ``del m.bias`` takes it out of the state dict too
        for table in (self._params, self._buffers, self._modules):
            table.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def add_module(self, name: str, module) -> None:
        """``setattr(self, name, module)`` with a name made at run time, as PyTorch's (also
        ``register_module``): a child module, or None (an attribute, no child)."""
        if not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}.add_module: a module name must be a str, "
                            f"got {type(name).__name__}")
        _check_child_name(self, name)   # not empty, no dot, not an attribute already
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module or None, "
                            f"got {type(module).__name__}")
        setattr(self, name, module)

    register_module = add_module

    def register_buffer(self, name, array, persistent: bool = True):
        """A non-trained array saved in the state dict (e.g. BN running averages), as PyTorch's:
        None holds the name without an array (left out of the state dict), and a buffer that is
        not ``persistent`` moves with the module but is not saved."""
        if name in self._params or name in self._modules:
            raise KeyError(f"{type(self).__name__}.register_buffer: {name!r} is already a "
                           f"{'parameter' if name in self._params else 'child module'}")
        if array is not None and not isinstance(array, backend.get_array_module(array).ndarray):
            raise TypeError(f"{type(self).__name__}.register_buffer: buffer {name!r} must be an array "
                            f"or None, got {type(array).__name__}")
        self._buffers[name] = array
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)
        object.__setattr__(self, name, array)

    # {handle id: hook}, made by the first registration (most modules never have one)
    # buffers a state dict may lack (saved before the module kept them): loading leaves them
    _optional_buffers = ()

    _forward_pre_hooks = None
    _forward_hooks = None
    _backward_pre_hooks = None
    _backward_hooks = None

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        for hook, with_kwargs, _ in list((self._forward_pre_hooks or {}).values()):
            if with_kwargs:
                out = hook(self, args, kwargs)
                if out is not None:   # (args, kwargs), both new
                    args, kwargs = out
                continue
            out = hook(self, args)
            if out is not None:   # new positional arguments (one, or a tuple of them)
                args = out if isinstance(out, tuple) else (out,)
        backward = None
        if self._backward_hooks or self._backward_pre_hooks:   # identities around the call
            backward = BackwardHookCall(self)
            args = backward.wrap_inputs(args)
        try:
            y = self.forward(*args, **kwargs)
        except BaseException:
            for hook, with_kwargs, always_call in list((self._forward_hooks or {}).values()):
                if always_call:   # called with no output, then the error goes on
                    hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
            raise
        for hook, with_kwargs, _ in list((self._forward_hooks or {}).values()):
            out = hook(self, args, kwargs, y) if with_kwargs else hook(self, args, y)
            if out is not None:   # a new output
                y = out
        return y if backward is None else backward.wrap_outputs(y)

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; if it returns something, that is
        the new positional arguments (a tuple, or one value). As PyTorch's: ``with_kwargs``
        calls ``hook(module, args, kwargs)``, which may return ``(args, kwargs)``; ``prepend``
        runs it before the hooks already there. Returns a handle whose ``remove()`` takes the
        hook out."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs=with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; if it returns something,
        that is the new output. As PyTorch's: the way to look at the activations inside a
        model without changing its code,

            maps = {}
            for name, m in net.named_modules():
                if isinstance(m, nn.ReLU):
                    m.register_forward_hook(lambda m, args, y, name=name: maps.update({name: y}))

        ``with_kwargs`` calls ``hook(module, args, kwargs, output)``; ``prepend`` runs it before
        the hooks already there; ``always_call`` runs it even when forward raises (with output
        None), before the error goes on. Returns a handle whose ``remove()`` takes the hook out
        (or use it as a ``with`` block).

        >>> import numpy as np
        >>> net = Sequential(ReLU())
        >>> seen = []
        >>> with net[0].register_forward_hook(lambda m, args, y: seen.append(y.shape)):
        ...     _ = net(Tensor(np.ones((1, 2, 3, 3))))
        >>> _ = net(Tensor(np.ones((1, 2, 3, 3))))   # the hook is gone: nothing added
        >>> seen
        [(1, 2, 3, 3)]
        """
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs=with_kwargs,
                              always_call=always_call)

    def register_full_backward_hook(self, hook, *, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of this module's
        inputs are computed: ``grad_input`` one entry per positional Tensor argument (None for
        one that needs no gradient), ``grad_output`` one per Tensor output. If it returns a
        tuple, that is the new ``grad_input``. As PyTorch's (how: :mod:`minifcn.hooks`); the
        gradients are arrays, as ``.grad`` is. Returns a handle whose ``remove()`` takes it out."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook, *, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs are
        known, before they go through it; if it returns a tuple, that is the new
        ``grad_output``. As PyTorch's; returns a handle whose ``remove()`` takes it out."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def _add_hook(self, attr, hook, prepend, **flags):
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.register_{attr[1:-1]}: expected a callable, "
                            f"got {type(hook).__name__}")
        if getattr(self, attr) is None:
            object.__setattr__(self, attr, OrderedDict())
        table = getattr(self, attr)
        # forward hooks go in with their options, (hook, with_kwargs, always_call); backward
        # hooks alone (hooks.py calls them)
        entry = (hook, flags.get("with_kwargs", False), flags.get("always_call", False)) if flags else hook
        handle = RemovableHandle(table, entry)
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    # ----------------------------------------------------------------- traversal
    def named_modules(self, prefix="", remove_duplicate=True):
        """``(name, module)`` for this module and every one below it, depth first in
        registration order; a module reached by two names (shared) comes once, under its first,
        unless ``remove_duplicate`` is False (as PyTorch)."""
        seen = set()

        def walk(m, name):
            if remove_duplicate:
                if id(m) in seen:
                    return
                seen.add(id(m))
            yield name, m
            for child, sub in m._modules.items():
                yield from walk(sub, f"{name}.{child}" if name else child)
        yield from walk(self, prefix)

    def modules(self):
        """This module and every one below it, once each, depth first (PyTorch's order): the
        loop a custom initialisation runs, ``for m in net.modules(): if isinstance(m, Conv2d): ...``."""
        return (m for _, m in self.named_modules())

    def children(self):
        """The modules assigned directly to this one, in order, each once (as PyTorch's)."""
        return (m for _, m in self.named_children())

    def named_children(self):
        """``(name, module)`` of the direct children, in order; a child assigned under two
        names comes once, under its first (as PyTorch)."""
        seen = set()
        for name, m in self._modules.items():
            if id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def apply(self, fn):
        """Call ``fn(module)`` on every child, depth first, then on this module; returns self.
        As PyTorch's: a child held twice by one module is visited once, one held by two
        modules once under each.

        >>> def zero_bias(m):
        ...     if isinstance(m, Conv2d):
        ...         m.bias.data[...] = 0
        >>> net = Sequential(Conv2d(1, 2, 3), ReLU(), Conv2d(2, 2, 1)).apply(zero_bias)
        >>> float(abs(net[2].bias.data).sum())
        0.0
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def named_parameters(self, prefix="", remove_duplicate=True):
        """``(name, parameter)`` in the state dict's order; a parameter shared by two modules
        comes once (an optimizer would otherwise step it twice), unless ``remove_duplicate`` is
        False (as PyTorch)."""
        seen = set()
        for mod_name, m in self.named_modules(prefix, remove_duplicate):
            for name, p in m._params.items():
                if remove_duplicate:
                    if id(p) in seen:
                        continue
                    seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def _buffer_slots(self, persistent_only=False):
        """``(name, module, key)`` of every buffer that holds an array, under every name it has
        (the state dict's; with ``persistent_only``, the state dict's buffers alone)."""
        for mod_name, m in self.named_modules(remove_duplicate=False):
            for name, buf in m._buffers.items():
                if buf is not None and not (persistent_only and name in m._non_persistent):
                    yield (f"{mod_name}.{name}" if mod_name else name), m, name

    def named_buffers(self):
        """``(name, array)`` of every buffer that holds an array (BN's running statistics),
        each once, as PyTorch's."""
        seen = set()
        for name, m, key in self._buffer_slots():
            if id(m._buffers[key]) not in seen:
                seen.add(id(m._buffers[key]))
                yield name, m._buffers[key]

    def buffers(self):
        return [b for _, b in self.named_buffers()]

    def num_parameters(self, trainable_only=False) -> int:
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def zero_grad(self, set_to_none: bool = True):
        """Forget every parameter's gradient: None (the default, as PyTorch's), or zeros."""
        for p in self.parameters():
            clear_grad(p, set_to_none)

    def requires_grad_(self, requires_grad: bool = True):
        """Freeze (False) or unfreeze every parameter; returns self (as PyTorch's). Build the
        optimizer after unfreezing: :class:`~minifcn.optim.SGD` leaves out what is frozen then."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def float(self):
        """Every parameter and buffer in float32 (PyTorch's ``.float()``; :meth:`astype`)."""
        return self.astype(np.float32)

    def double(self):
        """Every parameter and buffer in float64 (PyTorch's ``.double()``; :meth:`astype`)."""
        return self.astype(np.float64)

    # ----------------------------------------------------------------- modes and devices
    def train(self, mode: bool = True):
        """Training mode: dropout drops, batch norm uses and updates batch statistics."""
        for _, m in self.named_modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, *args, device=None, dtype=None):
        """Move every parameter and buffer to ``device`` (``"cpu"`` or ``"cuda"``) and cast them
        to ``dtype`` (:meth:`astype`), in place, as PyTorch's: ``net.to("cuda")``,
        ``net.to(np.float64)``, ``net.to("cuda", np.float64)``."""
        device, dtype = to_arguments(args, device, dtype)
        if device is not None:
            self._to_device(device)
        if dtype is not None:
            self.astype(dtype)
        return self

    def _to_device(self, device):
        for p in self.parameters():
            p.data = backend.to_device(p.data, device)
            p.grad = None
        for _, m, name in list(self._buffer_slots()):
            m.register_buffer(name, backend.to_device(m._buffers[name], device), name not in m._non_persistent)
        return self

    def astype(self, dtype):
        """Cast every parameter and buffer to ``dtype`` (float64 for gradient checks)."""
        if np.dtype(dtype) not in (np.float32, np.float64):   # int32 had truncated the weights
            raise TypeError(f"{type(self).__name__}.astype: the layers run in float32 or float64, "
                            f"got {np.dtype(dtype)}")
        for p in self.parameters():
            p.data = p.data.astype(dtype)
        for _, m, name in list(self._buffer_slots()):
            if m._buffers[name].dtype.kind == "f":   # a count (num_batches_tracked) stays an int
                m.register_buffer(name, m._buffers[name].astype(dtype), name not in m._non_persistent)
        return self

    # ----------------------------------------------------------------- state
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Name -> array, as NumPy copies on the host: module by module in registration order,
        each module's parameters then its buffers (PyTorch's order)."""
        state = OrderedDict()
        for mod_name, m in self.named_modules(remove_duplicate=False):   # shared: under each name
            prefix = f"{mod_name}." if mod_name else ""
            for name, p in m._params.items():
                state[prefix + name] = backend.to_numpy(p.data).copy()
            for name, buf in m._buffers.items():
                if buf is not None and name not in m._non_persistent:
                    state[prefix + name] = backend.to_numpy(buf).copy()
        return state

    def load_state_dict(self, state, strict: bool = True):
        """Copy arrays into the parameters and buffers, checking names and shapes.

        Raises :class:`StateDictError` (a ValueError and a RuntimeError) naming the layer and
        the two shapes on a mismatch, and (when ``strict``) listing missing and unexpected keys. Returns ``(missing_keys,
        unexpected_keys)``, as PyTorch's. A batch norm's ``num_batches_tracked`` may be missing
        (state dicts saved before this library kept one): the count stays as it is, as
        PyTorch's does for its older files.
        """
        if not isinstance(state, Mapping):
            # load_npz's (state, meta) pair had failed as "unhashable type: 'dict'"
            pair = isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], Mapping)
            hint = (": weights.load_npz returns (state, meta), pass its first item (or use "
                    "minifcn.load, which returns the state dict alone)") if pair else ""
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a mapping of names "
                            f"to arrays, got {type(state).__name__}{hint}")
        own = {name: p for name, p in self.named_parameters(remove_duplicate=False)}
        bufs = {name: (m, key) for name, m, key in self._buffer_slots(persistent_only=True)}
        optional = {name for name, (m, key) in bufs.items() if key in m._optional_buffers}
        missing = [k for k in list(own) + list(bufs) if k not in state and k not in optional]
        unexpected = [k for k in state if k not in own and k not in bufs]
        if strict and (missing or unexpected):
            raise StateDictError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        for name, value in state.items():
            value = backend.to_numpy(value)
            if name in own:
                p = own[name]
                if tuple(value.shape) != tuple(p.shape):
                    raise StateDictError(f"{type(self).__name__}.load_state_dict: layer {name!r} expects shape "
                                     f"{tuple(p.shape)} but the state has {tuple(value.shape)}")
                xp = backend.get_array_module(p.data)
                p.data = xp.asarray(value, dtype=p.dtype).copy()
            elif name in bufs:
                m, key = bufs[name]
                old = m._buffers[key]
                if tuple(value.shape) != tuple(old.shape):
                    raise StateDictError(f"{type(self).__name__}.load_state_dict: buffer {name!r} expects shape "
                                     f"{tuple(old.shape)} but the state has {tuple(value.shape)}")
                xp = backend.get_array_module(old)
                m.register_buffer(key, xp.asarray(value, dtype=old.dtype).copy())
        return IncompatibleKeys(missing, unexpected)

    def __repr__(self):
        lines = [f"{type(self).__name__}("]
        for name, m in self._modules.items():
            lines.append(f"  ({name}): " + repr(m).replace("\n", "\n  "))
        return "\n".join(lines) + ")" if self._modules else f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        return ""


def _check_child_name(owner, name):
    """Refuse a container's child name as PyTorch's ``add_module`` does: a dot would split the
    state dict's name, and a child named ``train`` would hide the method every trainer calls."""
    if not name or "." in name or (hasattr(owner, name) and name not in owner._modules):
        raise KeyError(f"{type(owner).__name__}: {name!r} cannot name a module (empty, holds a "
                       f"dot, or is already an attribute of {type(owner).__name__})")


class Sequential(Module):
    """Modules applied in order; named ``0, 1, ...``, or by the keys of one ordered dict (as
    PyTorch's), or by the keywords given.

    >>> list(Sequential(OrderedDict(conv=Conv2d(1, 2, 3), relu=ReLU())).state_dict())
    ['conv.weight', 'conv.bias']
    """

    def __init__(self, *modules, **named):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            named, modules = {**modules[0], **named}, ()
        for name, m in [(str(i), m) for i, m in enumerate(modules)] + list(named.items()):
            if not isinstance(m, Module):   # an attribute, not a layer: the net would skip it
                raise TypeError(f"Sequential: {name!r} must be a Module, got {type(m).__name__}")
            _check_child_name(self, name)
            setattr(self, name, m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        """The layer at ``index`` in order (whatever its name), or a Sequential of a slice."""
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[index]

    def __len__(self):
        return len(self._modules)

    def append(self, module):
        """Add ``module`` at the end, named ``len(self)`` (as PyTorch's); returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: items must be Modules, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self


class ModuleList(Module):
    """Modules held in a list, registered under ``0, 1, ...`` (their state-dict names), as
    PyTorch's: for a model whose layers are built in a loop. It has no forward; the model that
    holds it says how its layers are applied. A plain Python list would hide its layers from
    ``parameters()`` and the state dict.

    >>> blocks = ModuleList(Conv2d(2, 2, 3, padding=1) for _ in range(3))
    >>> blocks = blocks.append(ReLU())   # returns the list, as PyTorch's
    >>> len(blocks), [k for k in Sequential(blocks=blocks).state_dict()][:3]
    (4, ['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight'])
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _set(self, layers):   # renumber: after an insert or a delete, as PyTorch does
        for layer in layers:
            if not isinstance(layer, Module):
                raise TypeError(f"ModuleList: items must be Modules, got {type(layer).__name__}")
        for name in list(self._modules):
            delattr(self, name)
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def _index(self, index):
        """``index`` as a position in range, or an IndexError that names it."""
        n = len(self._modules)
        i = operator.index(index)
        if not -n <= i < n:
            raise IndexError(f"ModuleList: index {i} is out of range for {n} modules")
        return i % n

    def __getitem__(self, index):
        """The module at ``index``, or a ModuleList of a slice."""
        layers = list(self._modules.values())
        return ModuleList(layers[index]) if isinstance(index, slice) else layers[self._index(index)]

    def __setitem__(self, index, module):
        layers = list(self._modules.values())
        if isinstance(index, slice):
            layers[index] = module
        else:
            layers[self._index(index)] = module
        self._set(layers)

    def __delitem__(self, index):
        layers = list(self._modules.values())
        del layers[index if isinstance(index, slice) else self._index(index)]
        self._set(layers)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        """A new ModuleList of this one's modules, then ``other``'s (as PyTorch's)."""
        return ModuleList(list(self) + list(other))

    def append(self, module):
        """Add ``module`` at the end, named ``len(self)`` (as PyTorch's: no renumbering)."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: items must be Modules, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules):
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend takes an iterable of Modules, got one "
                            f"{type(modules).__name__}: use append")
        for module in list(modules):   # a list first: extending a list by itself
            self.append(module)
        return self

    def insert(self, index, module):
        layers = list(self._modules.values())
        layers.insert(index, module)
        self._set(layers)


class ModuleDict(Module):
    """Modules held by name, in the order they were put in, as PyTorch's: the names are their
    state-dict prefixes. No forward, like :class:`ModuleList`.

    >>> heads = ModuleDict({"score_fr": Conv2d(8, 21, 1), "score_pool4": Conv2d(4, 21, 1)})
    >>> list(heads), [k for k in heads.state_dict()][:2]
    (['score_fr', 'score_pool4'], ['score_fr.weight', 'score_fr.bias'])
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be str, got {type(key).__name__}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {key!r} must be a Module, got {type(module).__name__}")
        _check_child_name(self, key)
        setattr(self, key, module)

    def __delitem__(self, key):
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def update(self, modules):
        """Add or replace modules from a mapping, or from ``(name, module)`` pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module


def _check_groups(op, in_channels, out_channels, groups):
    """groups: a positive int dividing both channel counts (PyTorch's three checks), named."""
    groups = F.check_count(op, "groups", groups)
    for name, count in (("in_channels", in_channels), ("out_channels", out_channels)):
        if count % groups:
            raise ValueError(f"{op}: {name} ({count}) must be divisible by groups ({groups})")
    return groups


class Conv2d(Module):
    """2-D convolution layer. weight (out_c, in_c/groups, kh, kw) He-initialised, bias zeros.

    Output size: ``(h + 2*padding - dilation*(k - 1) - 1) // stride + 1``; ``padding="same"``
    (stride 1) keeps ``h``, ``"valid"`` is 0 (:func:`minifcn.functional.conv2d`). ``groups``
    splits the channels into that many independent convolutions (``groups = in_channels``: a
    depthwise one); both channel counts must be multiples of it.

    >>> Conv2d(4, 8, 3, padding=1, groups=2)
    Conv2d(4, 8, kernel_size=(3, 3), stride=1, padding=1, groups=2)
    >>> Conv2d(4, 8, 3, groups=2).weight.shape
    (8, 2, 3, 3)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True):
        super().__init__()
        in_channels = F.check_count("Conv2d", "in_channels", in_channels)
        out_channels = F.check_count("Conv2d", "out_channels", out_channels)
        kh, kw = F._positive_pair("kernel_size", kernel_size, "Conv2d")
        self.groups = _check_groups("Conv2d", in_channels, out_channels, groups)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = Parameter(init.he_normal((out_channels, in_channels // self.groups, kh, kw)))
        self.bias = Parameter(init.zeros((out_channels,))) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        out_c, in_c, kh, kw = self.weight.shape
        groups = self.groups
        return (f"{in_c * groups}, {out_c}, kernel_size=({kh}, {kw}), stride={self.stride}, "
                f"padding={self.padding!r}" + (f", groups={groups}" if groups != 1 else ""))


class ConvTranspose2d(Module):
    """Transposed convolution layer. weight (in_c, out_c/groups, kh, kw); ``groups`` as
    :class:`Conv2d`'s.

    Output size: ``(h - 1)*stride - 2*padding + k + output_padding``. FCN's upsampling layers
    use ``bias=False`` and a bilinear weight (:func:`minifcn.init.bilinear_kernel`).

    ``forward(x, output_size)`` asks for a size instead, as PyTorch's: a stride-``s``
    convolution maps ``s`` input sizes onto the same ``h``, so the transpose may give any of
    ``(h - 1)*s - 2*padding + k`` up to ``s - 1`` more; ``output_size`` ``(out_h, out_w)`` (or a
    4-D shape, of which the last two count) picks one, and the layer's ``output_padding`` is
    then not used. A size outside that range is a ValueError naming the range.

    >>> import numpy as np
    >>> up = ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    >>> x = np.zeros((1, 1, 4, 4), np.float32)
    >>> up(x).shape, up(x, output_size=(8, 7)).shape, up(x, output_size=(2, 1, 8, 8)).shape
    ((1, 1, 7, 7), (1, 1, 8, 7), (1, 1, 8, 8))
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True):
        super().__init__()   # PyTorch's ninth argument, dilation, is not here
        in_channels = F.check_count("ConvTranspose2d", "in_channels", in_channels)
        out_channels = F.check_count("ConvTranspose2d", "out_channels", out_channels)
        kh, kw = F._positive_pair("kernel_size", kernel_size, "ConvTranspose2d")
        self.groups = g = _check_groups("ConvTranspose2d", in_channels, out_channels, groups)
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.weight = Parameter(init.he_normal((in_channels, out_channels // g, kh, kw),
                                               fan_in=in_channels // g * kh * kw))
        self.bias = Parameter(init.zeros((out_channels,))) if bias else None

    def forward(self, x, output_size=None):
        output_padding = self.output_padding if output_size is None else self._output_padding(x, output_size)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups)

    def _output_padding(self, x, output_size):
        """The ``(oph, opw)`` that make ``x``'s output ``output_size``: PyTorch's rule, each side
        within ``[min, min + stride - 1]``, ``min = (h - 1)*stride - 2*padding + k``."""
        x = as_tensor(x)
        F._check_4d("ConvTranspose2d", "input", x)
        # the sizes themselves: an array or a Tensor holding them gives its values (its .shape
        # would be the shape of the sizes)
        shape = output_size.tolist() if hasattr(output_size, "tolist") else output_size
        if not isinstance(shape, (tuple, list)) or len(shape) not in (2, 4):
            raise ValueError(f"ConvTranspose2d: output_size must be (h, w) or (n, c, h, w), got "
                             f"{output_size!r}")
        try:   # any two ints (a negative one too: the range check below names what is possible)
            want = _pair(tuple(shape[-2:]))
        except TypeError:
            raise TypeError(f"ConvTranspose2d: output_size must hold ints, got {output_size!r}") from None
        sy, sx = F._positive_pair("stride", self.stride, "ConvTranspose2d")
        ph, pw = F._positive_pair("padding", self.padding, "ConvTranspose2d", minimum=0)
        _, _, kh, kw = self.weight.shape
        h, w = x.shape[2:]
        low = ((h - 1) * sy - 2 * ph + kh, (w - 1) * sx - 2 * pw + kw)
        high = (low[0] + sy - 1, low[1] + sx - 1)
        if not all(lo <= n <= hi for n, lo, hi in zip(want, low, high)):
            raise ValueError(f"ConvTranspose2d: requested an output size of {want}, but valid sizes "
                             f"range from {low} to {high} (for an input of {h}x{w})")
        return want[0] - low[0], want[1] - low[1]

    def extra_repr(self):
        in_c, out_c, kh, kw = self.weight.shape
        groups = self.groups
        return (f"{in_c}, {out_c * groups}, kernel_size=({kh}, {kw}), stride={self.stride}"
                + (f", groups={groups}" if groups != 1 else ""))


class Linear(Module):
    """Fully connected layer. weight (out_f, in_f), bias (out_f,)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        in_features = F.check_count("Linear", "in_features", in_features)
        out_features = F.check_count("Linear", "out_features", out_features)
        self.weight = Parameter(init.he_normal((out_features, in_features)))
        self.bias = Parameter(init.zeros((out_features,))) if bias else None
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """max(x, 0). ``inplace`` is taken for PyTorch's code and changes nothing: the result is a
    new array either way (the backward reads it, not x)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = F._flag("ReLU", "inplace", inplace)

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """:func:`F.leaky_relu <minifcn.functional.leaky_relu>` as a layer: ``x`` above 0, else
    ``negative_slope * x``. ``inplace`` is taken for PyTorch's code, as ReLU's."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, F._flag("LeakyReLU", "inplace", inplace)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, elementwise, any shape (:meth:`Tensor.sigmoid
    <minifcn.Tensor.sigmoid>`).

    >>> import numpy as np
    >>> Sigmoid()(np.array([0.0])).numpy()
    array([0.5])
    """

    def forward(self, x):
        return as_tensor(x).sigmoid()


class Tanh(Module):
    """The hyperbolic tangent, elementwise, any shape (:meth:`Tensor.tanh <minifcn.Tensor.tanh>`).

    >>> import numpy as np
    >>> Tanh()(np.array([0.0])).numpy()
    array([0.])
    """

    def forward(self, x):
        return as_tensor(x).tanh()


def _softmax_dim(who, dim, ndim):
    """``dim``, or PyTorch's old implicit choice when it is None (0 for 0-, 1- and 3-d inputs,
    else 1), with PyTorch's warning."""
    if dim is not None:
        return dim
    warnings.warn(f"{who}: implicit dimension choice for softmax has been deprecated (PyTorch's "
                  "rule); give dim=", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """:func:`F.softmax <minifcn.functional.softmax>` along ``dim`` as a layer, as PyTorch's.

    >>> import numpy as np
    >>> Softmax(dim=1)(Tensor(np.zeros((1, 4)))).numpy()
    array([[0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = as_tensor(x)
        return F.softmax(x, dim=_softmax_dim("Softmax", self.dim, x.ndim))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """:func:`F.log_softmax <minifcn.functional.log_softmax>` along ``dim`` as a layer."""

    def forward(self, x):
        x = as_tensor(x)
        return F.log_softmax(x, dim=_softmax_dim("LogSoftmax", self.dim, x.ndim))


class Flatten(Module):
    """Axes ``start_dim .. end_dim`` merged into one, as PyTorch's: (n, c, h, w) -> (n, c*h*w)
    by default, the batch axis kept.

    >>> import numpy as np
    >>> Flatten()(Tensor(np.zeros((2, 3, 4, 5)))).shape
    (2, 60)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Upsample(Module):
    """:func:`F.interpolate <minifcn.functional.interpolate>` as a layer, as PyTorch's."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self):
        return f"size={self.size}, scale_factor={self.scale_factor}, mode={self.mode!r}"


class Identity(Module):
    """Its input, unchanged (a placeholder where a model leaves a layer out, as PyTorch's)."""

    def __init__(self, *args, **kwargs):   # PyTorch's takes and ignores any arguments
        super().__init__()

    def forward(self, x):
        return x


class _Pad2d(Module):
    """F.pad as a layer, in one mode: ``padding`` an int (every side) or PyTorch's
    (left, right, top, bottom), checked when the layer is built."""
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, (bool, np.bool_)):
            padding = (int(padding),) * 4
        F.pad_amounts(type(self).__name__, padding)
        self.padding = tuple(padding)

    def forward(self, x):
        return F.pad(x, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad2d(_Pad2d):
    """Pads with ``value`` (see :func:`F.pad <minifcn.functional.pad>`)."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pads with zeros: (n, c, h, w) -> (n, c, top + h + bottom, left + w + right), ``padding``
    an int (every side) or ``(left, right, top, bottom)``.

    >>> import numpy as np
    >>> ZeroPad2d((1, 0, 0, 2))(np.ones((1, 1, 2, 2))).numpy()[0, 0]
    array([[0., 1., 1.],
           [0., 1., 1.],
           [0., 0., 0.],
           [0., 0., 0.]])
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad2d(_Pad2d):
    """Pads with the mirror image of the input, its edge value left out (each side's padding
    less than the input's size there); shapes as :class:`ZeroPad2d`'s.

    >>> import numpy as np
    >>> ReflectionPad2d((2, 1, 0, 0))(np.arange(4.0).reshape(1, 1, 1, 4)).numpy()[0, 0]
    array([[2., 1., 0., 1., 2., 3., 2.]])
    """
    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pads with the input's edge values, repeated; shapes as :class:`ZeroPad2d`'s.

    >>> import numpy as np
    >>> ReplicationPad2d((2, 1, 0, 0))(np.arange(4.0).reshape(1, 1, 1, 4)).numpy()[0, 0]
    array([[0., 0., 0., 1., 2., 3., 3.]])
    """
    mode = "replicate"


class CircularPad2d(_Pad2d):
    """Pads with the values of the input's other end, as if it wrapped round; shapes as
    :class:`ZeroPad2d`'s.

    >>> import numpy as np
    >>> CircularPad2d((2, 1, 0, 0))(np.arange(4.0).reshape(1, 1, 1, 4)).numpy()[0, 0]
    array([[2., 3., 0., 1., 2., 3., 0.]])
    """
    mode = "circular"


class AvgPool2d(Module):
    """Average pooling (see :func:`F.avg_pool2d <minifcn.functional.avg_pool2d>`), PyTorch's
    arguments in PyTorch's order: (n, c, h, w) -> (n, c, out_h, out_w), ``out = floor((h + 2p -
    k) / s) + 1`` (ceil with ``ceil_mode``), the stride the kernel's size unless given.

    >>> import numpy as np
    >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        # as PyTorch's: no stride is the kernel's size, kept as such (the repr shows it)
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to ``output_size`` (an int or a pair; None keeps that side's size):
    (n, c, h, w) -> (n, c, out_h, out_w), output row ``i`` averaging input rows
    ``floor(i h / out_h)`` to ``ceil((i + 1) h / out_h)`` (excluded), as PyTorch's.

    >>> import numpy as np
    >>> AdaptiveAvgPool2d(1)(np.arange(8.0).reshape(1, 2, 2, 2)).numpy().ravel()   # global
    array([1.5, 5.5])
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Dropout(Module):
    """Inverted dropout; active in training mode, or always with ``always_on`` (MC dropout), a
    keyword only. ``inplace``, PyTorch's second argument, is taken and changes nothing (the
    result is a new array either way)."""

    def __init__(self, p=0.5, inplace: bool = False, *, always_on=False):
        super().__init__()
        who = type(self).__name__   # Dropout2d's too
        F.check_dropout_p(who, p)   # 1.5 had been taken, to fail at the first training step
        self.inplace = F._flag(who, "inplace", inplace)
        self.p, self.always_on = p, always_on

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training or self.always_on)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Spatial dropout (:func:`F.dropout2d <minifcn.functional.dropout2d>`): whole channels of
    (n, c, h, w) zeroed, one draw per image and channel, the rest scaled by 1/(1-p). Arguments
    as :class:`Dropout`'s, ``always_on`` (Monte-Carlo sampling) included. A kind of Dropout
    here (PyTorch's two are siblings), so code that finds the dropout layers finds these too.

    >>> import numpy as np
    >>> drop = Dropout2d(0.5).eval()                                  # eval: the identity
    >>> bool((drop(Tensor(np.ones((1, 4, 2, 2)))).numpy() == 1).all())
    True
    """

    def forward(self, x):
        return F.dropout2d(x, self.p, training=self.training or self.always_on)


class MaxPool2d(Module):
    """Max pooling; with ``return_indices`` the forward returns ``(y, indices)``. ``ceil_mode``
    and ``return_indices`` are keywords only (PyTorch's fourth argument is a dilation)."""

    def __init__(self, kernel_size, stride=None, padding=0, *, ceil_mode=False, return_indices=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode, self.return_indices = ceil_mode, return_indices

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode,
                            return_indices=self.return_indices)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, ceil_mode={self.ceil_mode}"


class MaxUnpool2d(Module):
    """Unpooling with the indices of the matching pool, passed explicitly at each call."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x, indices, output_size=None):
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)


class LocalResponseNorm(Module):
    """Local response normalisation across channels (see :func:`F.local_response_norm`)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class BatchNorm2d(Module):
    """Batch norm over (n, h, w) for each channel of (n, c, h, w) (:func:`F.batch_norm
    <minifcn.functional.batch_norm>`), with PyTorch's options and state-dict names:

    * ``affine``: a learnable scale gamma (``weight``, ones) and shift beta (``bias``, zeros);
      False: neither, nor their state-dict entries. ``bias=False`` (a keyword, as in recent
      PyTorch) keeps the scale alone.
    * ``track_running_stats``: buffers ``running_mean`` (zeros), ``running_var`` (ones) and
      ``num_batches_tracked`` (a 0-d int64 count of training batches), updated in training and
      used in eval; False: no buffers, and the batch's own statistics in eval too.
    * ``momentum``: ``running = (1 - momentum) * running + momentum * batch``; None: the
      cumulative average of all batches so far, ``momentum = 1 / num_batches_tracked``.

    A state dict saved without ``num_batches_tracked`` (this library's before it kept one)
    still loads: the count stays as it was, as PyTorch's does for its older files.

    >>> import numpy as np
    >>> bn = BatchNorm2d(1, momentum=None)
    >>> for mean in (1.0, 3.0):                                   # two batches of two values
    ...     _ = bn(Tensor(np.array([[[[mean - 1, mean + 1]]]], np.float32)))
    >>> bn.running_mean.tolist(), int(bn.num_batches_tracked)   # the plain mean of the two
    ([2.0], 2)
    >>> list(BatchNorm2d(2, affine=False).state_dict())
    ['running_mean', 'running_var', 'num_batches_tracked']
    """

    _optional_buffers = ("num_batches_tracked",)   # state dicts from before this session lack it

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 bias=True):
        super().__init__()   # bias a keyword only: PyTorch's sixth and seventh are device and dtype
        num_features = F.check_count("BatchNorm2d", "num_features", num_features)
        F.check_momentum("BatchNorm2d", momentum, none_ok=True)   # None: a cumulative average
        self.affine = F._flag("BatchNorm2d", "affine", affine)
        self.track_running_stats = F._flag("BatchNorm2d", "track_running_stats", track_running_stats)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        # None holds the name, as PyTorch's register_parameter(name, None): no state-dict entry
        self.weight = Parameter(init.ones((num_features,))) if self.affine else None
        with_bias = self.affine and F._flag("BatchNorm2d", "bias", bias)
        self.bias = Parameter(init.zeros((num_features,))) if with_bias else None
        track = self.track_running_stats
        self.register_buffer("running_mean", init.zeros((num_features,)) if track else None)
        self.register_buffer("running_var", init.ones((num_features,)) if track else None)
        self.register_buffer("num_batches_tracked", init.zeros((), dtype=np.int64) if track else None)

    def forward(self, x):
        count = self.training and self.track_running_stats and self.num_batches_tracked is not None
        momentum = 0.0 if self.momentum is None else self.momentum
        if count and self.momentum is None:   # the cumulative average: this batch weighs 1 / count
            momentum = 1.0 / (int(self.num_batches_tracked) + 1)
        # batch statistics in training, and in eval without running ones (PyTorch's rule); the
        # running ones are updated only when tracked
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        stats = not self.training or self.track_running_stats
        y = F.batch_norm(x, self.running_mean if stats else None, self.running_var if stats else None,
                         self.weight, self.bias, use_batch, momentum, self.eps)
        if count:   # after the batch went through: one that was refused is not counted
            self.num_batches_tracked += 1   # in place: a 0-d array, on the module's device
        return y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


def _loss_weight(who, weight, reduction):
    """A loss module's class weights as an array (or None), its reduction checked: said when
    the module is built, not at the first batch."""
    F.check_reduction(who, reduction)
    if isinstance(weight, Tensor):
        weight = weight.data
    if weight is not None:
        weight = backend.get_array_module(weight).asarray(weight)
        if weight.ndim != 1:
            raise ValueError(f"{who}: weight must hold one value a class, got shape {tuple(weight.shape)}")
    return weight


class CrossEntropyLoss(Module):
    """:func:`F.cross_entropy <minifcn.functional.cross_entropy>` as a module, PyTorch's
    ``criterion``: ``loss = criterion(scores, target)``. The class weights are a buffer, so
    they move with ``to`` and are saved in the state dict (as PyTorch's). ``ignore_index``
    defaults to 255, PASCAL VOC's void label, where PyTorch's is -100. The target is class ids
    (n, *spatial), or class probabilities of the scores' own shape (n, C, *spatial), float, as
    PyTorch's (no pixel ignored; ``"mean"`` divides by the number of pixels).

    >>> import numpy as np
    >>> criterion = CrossEntropyLoss(weight=np.array([1.0, 2.0], np.float32))
    >>> scores = Tensor(np.zeros((1, 2, 1, 2), np.float32))
    >>> round(criterion(scores, np.array([[[0, 1]]])).item(), 4)   # ln 2, whatever the weights
    0.6931
    >>> round(CrossEntropyLoss()(scores, np.full((1, 2, 1, 2), 0.5, np.float32)).item(), 4)   # probabilities
    0.6931
    """

    # keyword-only after weight: PyTorch's second argument is size_average
    def __init__(self, weight=None, *, ignore_index=255, reduction="mean", label_smoothing=0.0):
        super().__init__()
        F.check_label_smoothing("CrossEntropyLoss", label_smoothing)
        self.register_buffer("weight", _loss_weight("CrossEntropyLoss", weight, reduction))
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, scores, target):
        return F.cross_entropy(scores, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self):
        weight = "" if self.weight is None else f"weight of {len(self.weight)} classes, "
        return (f"{weight}ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")


class NLLLoss(Module):
    """:func:`F.nll_loss <minifcn.functional.nll_loss>` as a module, PyTorch's: the loss of
    log-probabilities, ``criterion(F.log_softmax(scores), target)``. The class weights are a
    buffer, as :class:`CrossEntropyLoss`'s; ``ignore_index`` defaults to 255 (PyTorch's: -100).

    >>> import numpy as np
    >>> criterion = NLLLoss()
    >>> logp = F.log_softmax(Tensor(np.zeros((1, 2, 1, 2), np.float32)))
    >>> round(criterion(logp, np.array([[[0, 255]]])).item(), 4)       # ln 2
    0.6931
    """

    # keyword-only after weight: PyTorch's second argument is size_average
    def __init__(self, weight=None, *, ignore_index=255, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", _loss_weight("NLLLoss", weight, reduction))
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def extra_repr(self):
        weight = "" if self.weight is None else f"weight of {len(self.weight)} classes, "
        return f"{weight}ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class MSELoss(Module):
    """:func:`F.mse_loss <minifcn.functional.mse_loss>` as a module, PyTorch's ``criterion``:
    the squared error averaged, summed or kept per value (``reduction``).

    >>> import numpy as np
    >>> MSELoss()(Tensor(np.array([1.0, 3.0])), np.array([0.0, 1.0])).item()   # (1 + 4) / 2
    2.5
    """

    # keyword-only: PyTorch's first argument is size_average
    def __init__(self, *, reduction="mean"):
        super().__init__()
        F.check_reduction("MSELoss", reduction)   # when built, not at the first batch
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"
