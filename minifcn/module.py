"""``Module``: the base of every layer, and the containers (``Sequential``, ``ModuleList``,
``ModuleDict``), as PyTorch's ``torch.nn.Module``: what a layer is, apart from the layers.

A :class:`Module` registers every :class:`Parameter`, buffer (``register_buffer``) and
sub-module assigned to it as an attribute, in order; ``state_dict()`` then walks them, so its
keys read like the paper's Caffe net (``conv1_1.weight``, ``fc6.bias`` ...). Calling a module
runs its ``forward`` between its hooks (forward hooks here, backward hooks through
:mod:`minifcn.hooks`). The layers themselves are in :mod:`minifcn.nn`, which also re-exports
everything here.

>>> import numpy as np
>>> from minifcn.nn import Conv2d, ReLU
>>> net = Sequential(Conv2d(3, 4, 3, padding=1), ReLU())
>>> [name for name, _ in net.named_parameters()]
['0.weight', '0.bias']
"""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from . import backend
from .autograd import RemovableHandle, Tensor, clear_grad, to_arguments
from .hooks import BackwardHookCall


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
        # As PyTorch: a Parameter or a sub-module is replaced only by its kind or None (a
        # parameter's name then stays, empty, in its place: register_parameter's None; a
        # module's is dropped); an array over a Parameter had dropped it from the state dict.
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
        empty_param = value is None and name in self._params
        for table, keeps in ((self._params, isinstance(value, Parameter) or empty_param),
                             (self._modules, isinstance(value, Module)), (self._buffers, buffer)):
            if name in table and not keeps:   # a name changes kind: it leaves its old table
                del table[name]
        # assigned to a name it already has, an entry keeps its place in the state dict's order
        if isinstance(value, Parameter) or empty_param:
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

    def register_parameter(self, name: str, param) -> None:
        """``setattr(self, name, param)`` with a name made at run time, as PyTorch's: a
        :class:`Parameter`, or None, which holds the name in the parameters' order without one
        (left out of ``parameters()`` and the state dict: PyTorch's ``bias=False``), for a
        Parameter assigned later to take.

        >>> import numpy as np
        >>> m = Module()
        >>> m.register_parameter("weight", Parameter(np.ones(2)))
        >>> m.register_parameter("bias", None)
        >>> [name for name, _ in m.named_parameters()], m.bias
        (['weight'], None)
        >>> m.bias = Parameter(np.zeros(2))
        >>> list(m.state_dict())
        ['weight', 'bias']
        """
        if "_params" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before registering parameter {name!r}")
        if not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}.register_parameter: a parameter name must be "
                            f"a str, got {type(name).__name__}")
        _check_child_name(self, name, self._params, "a parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter: {name!r} must be a "
                            f"Parameter or None, got {type(param).__name__}")
        if param is None:   # the empty slot (__setattr__ keeps one that is there already)
            self._params[name] = None
        setattr(self, name, param)

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
        >>> from minifcn.nn import ReLU
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
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(name, module)`` for this module and every one below it, depth first in
        registration order; a module reached by two names (shared) comes once, under its first,
        unless ``remove_duplicate`` is False. As PyTorch's, with its arguments: ``memo``, a set
        of modules to leave out (with their children), which the walk adds to; ``prefix``,
        put before every name."""
        memo = set() if memo is None else memo

        def walk(m, name):
            if m in memo:
                return
            if remove_duplicate:
                memo.add(m)
            yield name, m
            for child, sub in m._modules.items():
                yield from walk(sub, f"{name}.{child}" if name else child)
        yield from walk(self, prefix)

    def get_submodule(self, target: str) -> "Module":
        """The module at the dotted path ``target`` (``"score_fr"``, ``"block.0"``; ``""``: this
        one), as PyTorch's: a walk down the names, as long as the path, not a search of
        :meth:`named_modules`. An AttributeError, with PyTorch's words, names the step that
        failed, the module it was looked for in and the whole path.

        >>> from minifcn.nn import Conv2d, ReLU
        >>> net = Sequential(OrderedDict(block=Sequential(Conv2d(1, 2, 3), ReLU())))
        >>> net.get_submodule("block.1")
        ReLU()
        >>> net.get_parameter("block.0.bias").shape
        (2,)
        >>> net.get_submodule("block.2")
        Traceback (most recent call last):
        AttributeError: Sequential at 'block' has no attribute `2` (looking for 'block.2' in Sequential)
        """
        if not isinstance(target, str):
            raise TypeError(f"{type(self).__name__}.get_submodule: target must be a dotted str "
                            f"path, got {type(target).__name__}")
        return self._walk(target, target)

    def _walk(self, path, target):
        """The module at ``path``, on the way to ``target`` (which the errors name)."""
        mod, walked = self, ""
        for item in path.split(".") if path else ():
            value = self._attribute(mod, walked, item, target)
            walked = f"{walked}.{item}" if walked else item
            if not isinstance(value, Module):
                raise AttributeError(f"`{item}` is not an nn.Module: {walked!r} is a "
                                     f"{type(value).__name__} (looking for {target!r} in "
                                     f"{type(self).__name__})")
            mod = value
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The :class:`Parameter` at the dotted path ``target`` (``"score_fr.weight"``), as
        PyTorch's: :meth:`get_submodule` of all but the last name, then that attribute, which
        must be a Parameter (an empty slot, ``bias=False``'s None, is not one)."""
        mod, path, name = self._path_parent("get_parameter", target)
        value = self._attribute(mod, path, name, target)
        if not isinstance(value, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter: {target!r} is a "
                                 f"{type(value).__name__} (in {type(self).__name__})")
        return value

    def get_buffer(self, target: str):
        """The buffer (an array, or None where one is registered empty) at the dotted path
        ``target`` (``"bn.running_mean"``), as PyTorch's :meth:`get_parameter` for buffers."""
        mod, path, name = self._path_parent("get_buffer", target)
        value = self._attribute(mod, path, name, target)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer: {target!r} is a "
                                 f"{type(value).__name__} (in {type(self).__name__})")
        return value

    def _path_parent(self, op, target):
        """(module, its path, last name) of a dotted path to a parameter or buffer."""
        if not isinstance(target, str):
            raise TypeError(f"{type(self).__name__}.{op}: target must be a dotted str path, got "
                            f"{type(target).__name__}")
        path, _, name = target.rpartition(".")
        return self._walk(path, target), path, name

    def _attribute(self, mod, path, name, target):
        """``getattr(mod, name)``, or PyTorch's AttributeError saying where it was looked for
        (``mod`` is at ``path`` under self)."""
        if not hasattr(mod, name):
            where = type(mod).__name__ + (f" at {path!r}" if path else "")
            raise AttributeError(f"{where} has no attribute `{name}` (looking for {target!r} in "
                                 f"{type(self).__name__})")
        return getattr(mod, name)

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

        >>> from minifcn.nn import Conv2d, ReLU
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

    def _named_members(self, members, prefix, recurse, remove_duplicate):
        """``(name, value)`` of the ``members(module)`` pairs of this module (and, with
        ``recurse``, every one below it), None skipped; a value met twice (shared) comes once,
        under its first name, unless ``remove_duplicate`` is False (PyTorch's walk)."""
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for mod_name, m in modules:
            for name, v in members(m):
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (f"{mod_name}.{name}" if mod_name else name), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(name, parameter)`` in the state dict's order; a parameter shared by two modules
        comes once (an optimizer would otherwise step it twice), unless ``remove_duplicate`` is
        False. As PyTorch's: ``recurse=False`` gives this module's own alone, ``prefix`` goes
        before every name.

        >>> from minifcn.nn import Conv2d
        >>> net = Sequential(Conv2d(1, 2, 3), Conv2d(2, 2, 1, bias=False))
        >>> [name for name, _ in net.named_parameters(prefix="net")]
        ['net.0.weight', 'net.0.bias', 'net.1.weight']
        >>> [name for name, _ in net[0].named_parameters(recurse=False)]
        ['weight', 'bias']
        """
        return self._named_members(lambda m: m._params.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every parameter once (:meth:`named_parameters`' order), in a list; ``recurse=False``:
        this module's own."""
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def _buffer_slots(self, persistent_only=False):
        """``(name, module, key)`` of every buffer that holds an array, under every name it has
        (the state dict's; with ``persistent_only``, the state dict's buffers alone)."""
        for mod_name, m in self.named_modules(remove_duplicate=False):
            for name, buf in m._buffers.items():
                if buf is not None and not (persistent_only and name in m._non_persistent):
                    yield (f"{mod_name}.{name}" if mod_name else name), m, name

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """``(name, array)`` of every buffer that holds an array (BN's running statistics),
        each once unless ``remove_duplicate`` is False; ``prefix`` and ``recurse`` as
        :meth:`named_parameters`' (PyTorch's)."""
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return [b for _, b in self.named_buffers(recurse=recurse)]

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
                if p is not None:   # an empty slot (register_parameter's None) is left out
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


def _check_child_name(owner, name, table=None, what="a module"):
    """Refuse a child's name (in ``table``, the owner's modules by default) as PyTorch's
    ``add_module`` and ``register_parameter`` do: a dot would split the state dict's name, and a
    child named ``train`` would hide the method every trainer calls."""
    table = owner._modules if table is None else table
    if not name or "." in name or (hasattr(owner, name) and name not in table):
        raise KeyError(f"{type(owner).__name__}: {name!r} cannot name {what} (empty, holds a "
                       f"dot, or is already an attribute of {type(owner).__name__})")


class Sequential(Module):
    """Modules applied in order; named ``0, 1, ...``, or by the keys of one ordered dict (as
    PyTorch's), or by the keywords given.

    >>> from minifcn.nn import Conv2d, ReLU
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

    >>> from minifcn.nn import Conv2d, ReLU
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

    >>> from minifcn.nn import Conv2d
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
