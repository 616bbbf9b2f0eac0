"""A small define-by-run reverse-mode autograd.

A :class:`Tensor` wraps an xp array (NumPy or CuPy). Calling a :class:`Function` on Tensors
runs its ``forward`` on the arrays and, unless :func:`no_grad` is active, records itself as the
``creator`` of its outputs. ``Tensor.backward()`` then visits the recorded functions from the
output back to the inputs, latest first (by *generation*, a topological order), calls each
one's ``backward`` on arrays and adds the results into the inputs' ``.grad``. :func:`grad`
makes the same pass and returns the gradients of the tensors it is asked for instead.

``.grad`` is a plain xp array (not a Tensor): higher-order gradients are not a goal here.

This file holds the engine: :class:`Tensor`, :class:`Function`, the grad modes and the backward
pass. The Functions of the Tensor's own operations (arithmetic, shapes, reductions) are in
:mod:`minifcn.ops`, those that pick values by index (gather, scatter, sort, topk) in
:mod:`minifcn.indexing`; the layers' (convolution, pooling, the loss) in
:mod:`minifcn.functional`.

>>> import numpy as np
>>> x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
>>> y = (x * x).sum()          # y = sum(x^2)
>>> y.backward()
>>> x.grad                      # dy/dx = 2x
array([2., 4., 6.])
"""
from __future__ import annotations

import functools
import heapq
import inspect
import itertools
import math
import operator
import weakref

import numpy as np

from . import backend
from .backend import get_array_module


class _Config:
    enable_grad = True


class _GradMode:
    """The grad mode ``mode`` (True: record the graph, False: not) inside a ``with`` block,
    the mode before back on leaving (after an error too; the same object may be entered again
    inside itself); called on a function, a decorator whose function runs in that mode
    whatever the mode it is called in. A generator function runs in it each time it is
    resumed, as PyTorch's decorators (a ``with`` around the call would end before its body
    runs: the call only makes the generator)."""

    def __init__(self, mode):
        self.mode = mode
        self._before = []   # a stack, for the object entered again inside itself

    def __enter__(self):
        self._before.append(_Config.enable_grad)
        _Config.enable_grad = bool(self.mode)
        return self

    def __exit__(self, *exc):
        _Config.enable_grad = self._before.pop()

    def __call__(self, func):
        return _run_in_mode(type(self).__name__, self.mode, func)


def _run_in_mode(op, mode, func):
    """``func`` wrapped to run in grad mode ``mode`` (each resumption, for a generator)."""
    if not callable(func):
        raise TypeError(f"{op}: a decorator takes a function, got {type(func).__name__}")
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def resumed_in_mode(*args, **kwargs):
            gen = func(*args, **kwargs)
            step = functools.partial(gen.send, None)
            while True:
                try:
                    with _GradMode(mode):
                        item = step()
                except StopIteration as stop:
                    return stop.value
                try:
                    sent = yield item
                except GeneratorExit:
                    with _GradMode(mode):
                        gen.close()
                    raise
                except BaseException as error:   # thrown in: passed on, in the mode
                    step = functools.partial(gen.throw, error)
                else:
                    step = functools.partial(gen.send, sent)
        return resumed_in_mode

    @functools.wraps(func)
    def called_in_mode(*args, **kwargs):
        with _GradMode(mode):
            return func(*args, **kwargs)
    return called_in_mode


class no_grad(_GradMode):
    """Inside this block no graph is recorded (evaluation, SGD updates); a decorator too,
    ``@no_grad()`` or ``@no_grad``, as PyTorch's.

    >>> import numpy as np
    >>> with no_grad():
    ...     y = Tensor(np.ones(2), requires_grad=True) * 2
    >>> y.requires_grad
    False
    """

    def __new__(cls, func=None):
        if func is not None:   # @no_grad, without the call
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func=None):
        super().__init__(False)


def is_grad_enabled() -> bool:
    return _Config.enable_grad


class set_grad_enabled:
    """Record the graph or not, as ``mode`` says, as PyTorch's: called, from then on;
    ``with set_grad_enabled(training): ...``, inside the block (the mode before comes back);
    ``@set_grad_enabled(mode)``, while the function runs (the decorator changes no mode)."""

    def __init__(self, mode: bool):
        self.before, self.mode = _Config.enable_grad, bool(mode)
        _Config.enable_grad = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _Config.enable_grad = self.before

    def __call__(self, func):
        _Config.enable_grad = self.before   # made to decorate: the call's change undone
        return _run_in_mode("set_grad_enabled", self.mode, func)


def inference_mode(mode=True):
    """PyTorch's: no graph inside the block, or while a function decorated with it runs
    (``@inference_mode()`` or ``@inference_mode``); ``mode`` False records it there, as
    PyTorch's (its guard turns grad mode on, even inside no_grad). It is no_grad with less
    bookkeeping there; here there is none to save."""
    if callable(mode):   # @inference_mode, without the call
        return no_grad()(mode)
    return no_grad() if mode else _GradMode(True)


def _as_array(data, dtype=None):
    """Arrays stay on their device; Python floats (and lists of them) become float32 NumPy
    arrays, as ``torch.tensor`` makes them; Python ints stay int64."""
    xp = get_array_module(data)
    if isinstance(data, (np.ndarray, np.generic)) or xp is not np:
        arr = data if isinstance(data, xp.ndarray) else xp.asarray(data)
    else:  # Python scalars / lists: float32 by default, like torch.tensor
        arr = np.asarray(data)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


class Tensor:
    """An n-d array with a gradient and a record of the Function that made it.

    Shape: any; layout NCHW for images. float32 by default, float64 for gradient checks.

    Args:
        data: a NumPy/CuPy array (kept, not copied), a Python number or a nested list.
        requires_grad: whether ``backward`` should fill ``.grad`` for this tensor.
        dtype: cast the data to this dtype (a copy) when it has another.
        name: a label of your own, for debugging (nothing in minifcn reads it).
    """

    __array_priority__ = 1000  # so ndarray * Tensor calls Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _as_array(data, dtype)
        self.grad = None
        self.requires_grad_(requires_grad)   # refuses an integer tensor, as PyTorch
        self.creator: Function | None = None
        self.generation = 0
        self.name = name
        self.retains_grad = False

    _grad_hooks = None   # {handle id: hook} of a leaf, once register_hook is called

    # ----------------------------------------------------------------- array-like
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        """The number of values, as NumPy's ``a.size`` (PyTorch's ``numel()``; its ``size()``
        is the shape, here ``.shape``). A plain int: an int subclass callable as PyTorch's
        ``size()`` was tried, and NumPy 2 promoted ``float32_array / t.size`` to float64 with it."""
        return self.data.size

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self):
        return len(self.data)

    def __bool__(self):   # the array's truth (one value; more is ambiguous), not "has a length"
        return bool(self.data)

    def __repr__(self):
        body = repr(backend.to_numpy(self.data)).replace("array", "tensor", 1)
        extra = ", requires_grad=True" if self.requires_grad else ""
        return body[:-1] + extra + ")" if extra else body

    def numpy(self):
        """The data as a NumPy array (copied from the GPU if needed)."""
        return backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``, ``plt.imshow(t)``: the data, as PyTorch gives it (without this NumPy
        read a Tensor as a sequence of 0-d Tensors, an array of objects). A GPU tensor refuses,
        as CuPy's arrays do: ``.numpy()`` copies it on purpose. So does a tensor that requires
        grad, as PyTorch's: ``np.exp(t)`` would leave the graph without a word, and
        ``backward`` fail far from the cause."""
        if self.requires_grad:
            raise RuntimeError("a Tensor that requires grad cannot become a NumPy array: NumPy "
                               "would compute outside the graph. Use the Tensor's own operations "
                               "(t.exp(), t * t, ...) to stay in it, or t.detach() / t.numpy() "
                               "to leave it on purpose")
        if copy is False and dtype is not None and np.dtype(dtype) != self.data.dtype:
            raise ValueError("a Tensor cannot be viewed as another dtype without a copy")
        a = np.asarray(self.data) if dtype is None else np.asarray(self.data, dtype=dtype)
        return a.copy() if copy else a

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    # one value as a Python number, as PyTorch's: float(loss), int(t.argmax()), f"{loss:.3f}"
    def __float__(self):
        return float(self._one("float"))

    def __int__(self):
        return int(self._one("int"))

    def __index__(self):   # range(t), a list index: 0-d integer tensors only
        # NumPy asks an index for __index__ before reading it as an array: a (1,) tensor taken
        # as one had dropped the axis it picks from (x[t] of shape () where PyTorch's is (1,))
        if self.data.dtype.kind not in "iu" or self.data.ndim != 0:
            raise TypeError(f"only a 0-d integer tensor can be an index, got {self.data.dtype} of "
                            f"shape {tuple(self.shape)}")
        return operator.index(self.data.item())

    def __format__(self, spec):
        return format(self.item(), spec) if self.data.size == 1 else format(str(self), spec)

    def _one(self, what):
        if self.data.size != 1:
            raise TypeError(f"only a tensor of one value converts to a Python {what}, this one has "
                            f"shape {tuple(self.shape)}")
        return self.data.item()

    def numel(self) -> int:
        """The number of values (PyTorch's name; :attr:`size` here is NumPy's, the same number)."""
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def cpu(self) -> "Tensor":
        """This tensor on the host: itself there, in the graph either way (:meth:`to`)."""
        return self.to("cpu")

    def to(self, *args, device=None, dtype=None) -> "Tensor":
        """This tensor on ``device`` (``"cpu"`` or ``"cuda"``) and in ``dtype``, as PyTorch's
        ``to``: ``t.to("cuda")``, ``t.to(np.float64)``, ``t.to("cuda", np.float64)``,
        ``t.to(other)`` (other's device and dtype). Itself when nothing changes, else a copy, in
        the graph (its gradient goes back to this device and dtype)."""
        device, dtype = to_arguments(args, device, dtype)
        out = self
        if device is not None:
            device = backend.check_device(device)   # "cuda:0", "GPU": as Module.to takes them
            if backend.device_of(self.data) != device:
                out = ToDevice(device)(out)
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = out.astype(dtype)
        return out

    def detach(self) -> "Tensor":
        return Tensor(self.data)

    # PyTorch's names for what the shape and dtype say
    def ndimension(self) -> int:
        """The number of dimensions, ``ndim``."""
        return self.ndim

    def nelement(self) -> int:
        """The number of values, ``numel()``."""
        return self.numel()

    def element_size(self) -> int:
        """Bytes per value (4 for float32)."""
        return self.data.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        """Whether the values lie in C order without gaps (a transposed view does not)."""
        return bool(self.data.flags.c_contiguous)

    def reshape_as(self, other) -> "Tensor":
        """This tensor in ``other``'s shape, in the graph."""
        return self.reshape(tuple(other.shape))

    def unbind(self, dim=0) -> tuple:
        """The slices along ``dim``, that axis removed: :func:`minifcn.functions.unbind`."""
        from . import functions
        return functions.unbind(self, dim)

    def tensor_split(self, indices_or_sections, dim=0) -> tuple:
        """Pieces along ``dim``: :func:`minifcn.functions.tensor_split`."""
        from . import functions
        return functions.tensor_split(self, indices_or_sections, dim)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> "Tensor":
        """Where ``|self - other| <= atol + rtol * |other|``: :func:`minifcn.functions.isclose`."""
        from . import functions
        return functions.isclose(self, other, rtol, atol, equal_nan)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place and return this tensor (PyTorch's way to freeze or
        unfreeze a parameter: ``p.requires_grad_(False)``)."""
        if requires_grad and self.data.dtype.kind != "f":   # as PyTorch: no gradient of an integer
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> "Tensor":
        """Indices of the maxima along ``axis`` (int64, outside the graph): a segmentation's
        prediction is ``scores.argmax(axis=1)``.

        >>> Tensor(np.array([[[[0.1]], [[0.7]], [[0.2]]]])).argmax(axis=1).numpy()
        array([[[1]]])
        """
        axis, keepdims = _dim_alias("argmax", axis, dim, keepdims, keepdim)
        return argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> "Tensor":
        """Indices of the minima along ``axis`` (int64, outside the graph), as :meth:`argmax`
        (PyTorch's ``argmin``: :func:`~minifcn.ops.argmin`).

        >>> Tensor(np.array([[2.0, 0.5, 1.0]])).argmin(dim=1).numpy()
        array([1])
        """
        axis, keepdims = _dim_alias("argmin", axis, dim, keepdims, keepdim)
        return argmin(self, axis, keepdims)

    def float(self) -> "Tensor":
        """In float32, in the graph (PyTorch's ``.float()``)."""
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        """In float64, in the graph (PyTorch's ``.double()``)."""
        return self.astype(np.float64)

    def astype(self, dtype) -> "Tensor":
        """This tensor in ``dtype``, in the graph (its gradient flows back in the old dtype, as
        PyTorch's ``.to(dtype)``; a detached copy had left the source's ``.grad`` empty)."""
        return Cast(dtype)(self)

    def retain_grad(self):
        """Keep ``.grad`` of this non-leaf tensor after backward (as in PyTorch; a leaf keeps
        its gradient anyway). The gradient kept is the one after this tensor's hooks."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        if self.creator is None or self.retains_grad:
            return
        self.retains_grad = True
        # kept on the function that made this tensor, as hooks are: the weak reference lets
        # the tensor (and its array) go while the graph still needs its creator
        f = self.creator
        if f.retained is None:
            f.retained = {}
        f.retained[self.output_index] = weakref.ref(self)

    def register_hook(self, hook) -> "RemovableHandle":
        """Call ``hook(grad)`` with this tensor's whole gradient in each backward; what it
        returns (an array, or None for no change) goes on in its place.

        As PyTorch's ``Tensor.register_hook``, except that the gradient is an array, as
        ``.grad`` is here. A leaf's hook sees the gradient of this backward before it is added
        to ``.grad``; an intermediate tensor's hook lives on the function that made it, so it
        runs even after the tensor itself is gone. Returns a handle: ``handle.remove()``.

        >>> import numpy as np
        >>> x = Tensor(np.ones(3), requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * 2).sum().backward()
        >>> x.grad
        array([20., 20., 20.])
        >>> h.remove()
        """
        if not callable(hook):
            raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        if self.creator is None:
            if self._grad_hooks is None:
                self._grad_hooks = {}
            return RemovableHandle(self._grad_hooks, hook)
        f = self.creator
        if f.hooks is None:
            f.hooks = {}
        return RemovableHandle(f.hooks.setdefault(self.output_index, {}), hook)

    def zero_grad(self):
        self.grad = None

    def set_creator(self, func: "Function", index: int = 0):
        self.creator = func
        self.output_index = index  # which of func's outputs this tensor is
        self.generation = func.generation + 1

    # ----------------------------------------------------------------- backprop
    def backward(self, grad=None, retain_graph: bool = False):
        """Fill ``.grad`` of every leaf that requires it with d(self)/d(leaf).

        Args:
            grad: the upstream gradient, same shape as ``self``; may be omitted for a scalar.
            retain_graph: keep the graph (and saved arrays) for a second backward.
        """
        xp = get_array_module(self.data)
        if not self.requires_grad:   # as PyTorch: nothing to differentiate is a mistake, not a no-op
            raise RuntimeError("backward: this tensor does not require grad (made under no_grad(), "
                               "or from tensors none of which requires grad)")
        given = grad is not None
        if grad is None:
            if self.size != 1:
                raise ValueError(f"backward() without a gradient needs a scalar, got shape {self.shape}")
            grad = xp.ones_like(self.data)
        else:
            grad = _as_array(grad.data if isinstance(grad, Tensor) else grad)
            if grad.shape != self.shape:
                raise ValueError(f"gradient shape {grad.shape} does not match tensor shape {self.shape}")
            if grad.dtype != self.dtype:   # as PyTorch: a float64 seed left float64 .grad on float32
                with np.errstate(over="ignore"):   # a seed of 1e300 on float32: inf, as PyTorch's
                    grad = grad.astype(self.dtype)
        _backprop([(self, grad, given)], retain_graph)

    # ----------------------------------------------------------------- operators
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __truediv__(self, other):   # quiet at 0, as t.div(0) and PyTorch's: inf and NaN, no warning
        from .ops_math import operator_div
        return operator_div(self, other)

    def __rtruediv__(self, other):
        from .ops_math import operator_div
        return operator_div(other, self)

    # Comparisons are elementwise, as PyTorch's: a bool Tensor outside the graph (they have no
    # gradient). A Tensor still hashes by identity, so it can key a dict or sit in a set.
    __hash__ = object.__hash__

    def _compare(self, other, op):
        return Tensor(op(self.data, other.data if isinstance(other, Tensor) else other))

    def __eq__(self, other):
        return self._compare(other, operator.eq)

    def __ne__(self, other):
        return self._compare(other, operator.ne)

    def __lt__(self, other):
        return self._compare(other, operator.lt)

    def __le__(self, other):
        return self._compare(other, operator.le)

    def __gt__(self, other):
        return self._compare(other, operator.gt)

    def __ge__(self, other):
        return self._compare(other, operator.ge)

    def __neg__(self):
        return neg(self)

    def __abs__(self):   # abs(t), as t.abs()
        return self.abs()

    def __pow__(self, exponent):   # a number (ops.Pow) or a Tensor, with its gradient too
        from .ops_math import pow as pow_
        return pow_(self, exponent)

    def __matmul__(self, other):   # PyTorch's rules, 1-d operands too (ops_shape.py)
        from . import ops_shape
        return ops_shape.matmul(self, other)

    def __getitem__(self, index):
        return GetItem(_raw_index(index))(self)

    # ----------------------------------------------------------------- in place
    # ``p -= lr * p.grad`` under no_grad (an SGD step by hand), ``mask[...] = 0``: they change
    # the data in place, as PyTorch's do (without them Python made a new Tensor for ``-=`` and
    # rebound the name: the parameter never moved). The graph records no in-place operation,
    # so where one would enter it (grad mode on, and a tensor that requires grad on either
    # side) it is refused, with the out-of-place form to write instead: PyTorch records it.
    # As nothing counts versions here, changing an array that a graph still holds for its
    # backward (a weight before backward) gives wrong gradients, where PyTorch would raise.
    def _in_place(self, what, op, other):
        """``op`` (``operator.iadd``, ...) on the data, in place, outside any graph."""
        self._refuse_in_graph(what, other)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # inf, NaN: quiet, as t.div(0)
            self.data = op(self.data, _raw(other))   # an array's in-place operator returns itself
        return self

    def _refuse_in_graph(self, what, other=None):
        if _Config.enable_grad and (self.requires_grad or getattr(other, "requires_grad", False)):
            # Made out of place and rebound, x += y would leave other names for x (ResNet's
            # identity = out) with the old value in training and the new one under no_grad
            raise RuntimeError(f"{what} with a tensor that requires grad is not recorded in the "
                               "graph here: write it out of place (out = out + skip), or run it "
                               "under minifcn.no_grad() (an SGD step by hand)")

    def __iadd__(self, other):
        return self._in_place("+=", operator.iadd, other)

    def __isub__(self, other):
        return self._in_place("-=", operator.isub, other)

    def __imul__(self, other):
        return self._in_place("*=", operator.imul, other)

    def __itruediv__(self, other):
        return self._in_place("/=", _true_into("/="), other)

    def __ipow__(self, exponent):
        return self._in_place("**=", operator.ipow, exponent)

    def __ifloordiv__(self, other):   # t //= 2: floor_divide's values, written back in place
        return self._in_place("//=", _into("floor_divide", "//="), other)

    def __imod__(self, other):
        return self._in_place("%=", _into("remainder", "%="), other)

    # PyTorch's named in-place methods: the operators above, under the same rule
    def add_(self, other, *, alpha=1) -> "Tensor":
        """``self += alpha * other``, in place (refused in the graph as ``+=`` is).

        >>> t = Tensor(np.ones(2)); t.add_(np.array([1.0, 2.0]), alpha=2).numpy()
        array([3., 5.])
        """
        return self._in_place("add_", _scaled(operator.iadd, alpha), other)

    def sub_(self, other, *, alpha=1) -> "Tensor":
        """``self -= alpha * other``, in place."""
        return self._in_place("sub_", _scaled(operator.isub, alpha), other)

    def mul_(self, other) -> "Tensor":
        """``self *= other``, in place."""
        return self._in_place("mul_", operator.imul, other)

    def div_(self, other) -> "Tensor":
        """``self /= other``, in place."""
        return self._in_place("div_", _true_into("div_"), other)

    def clamp_(self, min=None, max=None) -> "Tensor":   # PyTorch's names shadow the builtins here only
        """Each value clipped to [min, max], in place (either bound may be None)."""
        if min is None and max is None:
            raise ValueError("clamp_: give min, max or both")
        return self._in_place("clamp_", lambda a, _: get_array_module(a).clip(a, min, max, out=a), None)

    def copy_(self, src) -> "Tensor":
        """``src``'s values written into this tensor (broadcast to its shape, cast to its dtype),
        in place: ``p.copy_(q)`` under no_grad, as a target network's update.

        >>> t = Tensor(np.zeros((2, 2))); t.copy_(np.array([1.0, 2.0])).numpy()
        array([[1., 2.],
               [1., 2.]])
        """
        def put(a, b):
            xp = get_array_module(a)
            if backend.device_of(b) != backend.device_of(a):
                raise ValueError(f"copy_: src is on {backend.device_of(b)}, this tensor on "
                                 f"{backend.device_of(a)}; move one with .to()")
            a[...] = xp.broadcast_to(xp.asarray(b), a.shape)
            return a
        return self._in_place("copy_", put, src)

    def uniform_(self, a=0.0, b=1.0) -> "Tensor":
        """Values drawn uniformly from [a, b), in place (:func:`minifcn.init.uniform_`);
        refused in the graph as ``+=`` is (``init.uniform_`` runs outside it, as PyTorch's)."""
        from . import init
        self._refuse_in_graph("uniform_")
        return init.uniform_(self, a, b)

    def normal_(self, mean=0.0, std=1.0) -> "Tensor":
        """Values drawn from N(mean, std^2), in place (:func:`minifcn.init.normal_`); refused
        in the graph as ``+=`` is."""
        from . import init
        self._refuse_in_graph("normal_")
        return init.normal_(self, mean, std)

    def detach_(self) -> "Tensor":
        """This tensor cut from its graph and from the gradient, in place (PyTorch's
        ``detach_``): a leaf that does not require grad, its data shared."""
        self.creator, self.requires_grad = None, False
        return self

    def __setitem__(self, index, value):
        if _Config.enable_grad and (self.requires_grad or getattr(value, "requires_grad", False)):
            raise RuntimeError("item assignment is not recorded in the graph: run it under "
                               "minifcn.no_grad(), or build the tensor from its parts "
                               "(minifcn.cat, arithmetic)")
        self.data[_raw_index(index)] = _raw(value)

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """The sum along ``dim`` (all values by default). Integers and bools sum in int64, as
        PyTorch's (NumPy would give uint64 for uint8); ``dtype`` casts the input first."""
        axis, keepdims = _dim_alias("sum", axis, dim, keepdims, keepdim)
        return Sum(_every_axis_if_empty(axis), keepdims)(_accumulating(self, dtype))

    def amax(self, dim=None, keepdim=False):
        """The largest values along ``dim`` (all axes by default); the gradient is shared evenly
        among the values that tie for it, as PyTorch's ``amax`` (NaN wins, and takes it)."""
        return Extreme("max", _reduce_axes("amax", dim, self.ndim), keepdim)(self)

    def amin(self, dim=None, keepdim=False):
        """The smallest values along ``dim`` (all axes by default); ties share the gradient."""
        return Extreme("min", _reduce_axes("amin", dim, self.ndim), keepdim)(self)

    def max(self, dim=None, keepdim=False):
        """PyTorch's ``max``: without ``dim`` the largest value (ties share the gradient);
        with it ``(values, indices)`` along that axis, the gradient going to each index.

        >>> values, indices = Tensor(np.array([[1.0, 5.0], [7.0, 2.0]])).max(dim=1)
        >>> values.numpy(), indices.numpy()
        (array([5., 7.]), array([1, 0]))
        """
        if dim is None:   # the gradient at the ties only (amax's is gy times a share)
            return Extreme("max", None, False, only_ties=True)(self)
        return _extreme_along(self, "max", dim, keepdim)

    def min(self, dim=None, keepdim=False):
        """PyTorch's ``min``: as :meth:`max`, for the smallest."""
        if dim is None:
            return Extreme("min", None, False, only_ties=True)(self)
        return _extreme_along(self, "min", dim, keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """The mean along ``dim`` (all values by default), ``self`` cast to ``dtype`` first.
        Floats only, as PyTorch's: an integer or bool tensor is refused (NumPy would give
        float64), ``dtype=`` or ``.float()`` makes it float. Over no values it is NaN.

        >>> Tensor(np.array([1.0, 2.0])).mean().item(), Tensor(np.zeros(0)).mean().item()
        (1.5, nan)
        """
        x = self if dtype is None or np.dtype(dtype) == self.dtype else self.astype(dtype)
        if x.dtype.kind != "f":
            raise TypeError(f"mean: expected a floating-point tensor, got {x.dtype}; cast it "
                            "first (.float(), or dtype=)")
        if x is not self:
            return x.mean(axis, keepdims, dim=dim, keepdim=keepdim)
        axis, keepdims = _dim_alias("mean", axis, dim, keepdims, keepdim)
        axis = _every_axis_if_empty(axis)
        count = self.size if axis is None else int(np.prod([self.shape[a] for a in np.atleast_1d(axis)]))
        # no values: NaN (0 / 0), as PyTorch's; the gradient, of no values, is empty
        return Sum(axis, keepdims)(self) * (1.0 / count if count else math.nan)

    def unsqueeze(self, dim):
        """A new axis of size 1 at ``dim`` (negative: counted from the end of the result)."""
        dim = _dim_index("unsqueeze", dim, self.ndim + 1)
        dim %= self.ndim + 1
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Axes of size 1 removed: all of them, or ``dim`` if it is one (as PyTorch's)."""
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        if self.ndim == 0:   # as PyTorch: nothing to take out
            _dim_index("squeeze", dim, 1)
            return self
        dims = {_dim_index("squeeze", d, self.ndim) for d in (dim if isinstance(dim, tuple) else (dim,))}
        return self.reshape(tuple(n for k, n in enumerate(self.shape) if not (k in dims and n == 1)))

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes ``start_dim .. end_dim`` merged into one (``x.flatten(1)``: one row an image)."""
        if self.ndim == 0:
            return self.reshape(1)
        a, b = _dim_index("flatten", start_dim, self.ndim), _dim_index("flatten", end_dim, self.ndim)
        if a > b:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        # the merged length written out: -1 cannot be solved for when an axis is empty
        return self.reshape(self.shape[:a] + (math.prod(self.shape[a:b + 1]),) + self.shape[b + 1:])

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape(shape)(self)

    def view(self, *shape):
        """PyTorch's name for :meth:`reshape`. PyTorch's view refuses a tensor whose memory
        does not allow one; here a reshape copies then, as ``reshape`` does in both."""
        return self.reshape(*shape)

    def clone(self) -> "Tensor":
        """A copy of the data, in the graph: its gradient flows back to this tensor (PyTorch's
        ``clone``; :meth:`detach` leaves the graph instead).

        >>> a = Tensor(np.ones(2), requires_grad=True)
        >>> b = a.clone(); b.data[0] = 5.0; (b * b).sum().backward()
        >>> a.data, a.grad
        (array([1., 1.]), array([10.,  2.]))
        """
        return Clone()(self)

    def permute(self, *dims):
        """The axes reordered: axis ``i`` of the result is axis ``dims[i]`` of this tensor
        (PyTorch's ``permute``; NumPy spells it ``transpose(dims)``)."""
        return Transpose(dims)(self)

    # ----------------------------------------------------------------- PyTorch's shape and linear algebra
    # One block: thin methods over minifcn/ops_shape.py (imported when called: it imports
    # this module), checked against PyTorch in tests/test_ops_shape.py.
    def matmul(self, other) -> "Tensor":
        """``self @ other`` with PyTorch's 1-d rules: :func:`~minifcn.ops_shape.matmul`."""
        from . import ops_shape
        return ops_shape.matmul(self, other)

    def __rmatmul__(self, other):   # array @ Tensor
        from . import ops_shape
        return ops_shape.matmul(other, self)

    def mm(self, mat2) -> "Tensor":
        """(n, k) @ (k, m), 2-d only: :func:`~minifcn.ops_shape.mm`."""
        from . import ops_shape
        return ops_shape.mm(self, mat2)

    def bmm(self, mat2) -> "Tensor":
        """(b, n, k) @ (b, k, m): :func:`~minifcn.ops_shape.bmm`."""
        from . import ops_shape
        return ops_shape.bmm(self, mat2)

    def dot(self, other) -> "Tensor":
        """The dot product of two 1-d tensors: :func:`~minifcn.ops_shape.dot`."""
        from . import ops_shape
        return ops_shape.dot(self, other)

    def outer(self, vec2) -> "Tensor":
        """(n,) and (m,) -> (n, m), ``a[i] * b[j]``: :func:`~minifcn.ops_shape.outer`."""
        from . import ops_shape
        return ops_shape.outer(self, vec2)

    def kron(self, other) -> "Tensor":
        """The Kronecker product: :func:`~minifcn.ops_shape.kron`."""
        from . import ops_shape
        return ops_shape.kron(self, other)

    def cross(self, other, dim=None) -> "Tensor":
        """The cross product of 3-vectors along ``dim``: :func:`~minifcn.ops_shape.cross`."""
        from . import ops_shape
        return ops_shape.cross(self, other, dim)

    def t(self) -> "Tensor":
        """A 2-d tensor transposed (0-d, 1-d: as they are): :func:`~minifcn.ops_shape.t`."""
        from . import ops_shape
        return ops_shape.t(self)

    @property
    def mT(self) -> "Tensor":
        """The last two axes swapped (each matrix of a stack transposed), as PyTorch's ``.mT``.

        >>> Tensor(np.zeros((5, 2, 3))).mT.shape
        (5, 3, 2)
        """
        from . import ops_shape
        return ops_shape._mT(self)

    def swapaxes(self, axis0, axis1) -> "Tensor":
        """Two axes swapped: :func:`~minifcn.ops_shape.swapaxes`."""
        from . import ops_shape
        return ops_shape.swapaxes(self, axis0, axis1)

    def swapdims(self, dim0, dim1) -> "Tensor":
        """Two axes swapped (PyTorch's other name): :func:`~minifcn.ops_shape.swapaxes`."""
        return self.swapaxes(dim0, dim1)

    def movedim(self, source, destination) -> "Tensor":
        """Axes moved to new places, the others in order: :func:`~minifcn.ops_shape.movedim`."""
        from . import ops_shape
        return ops_shape.movedim(self, source, destination)

    def moveaxis(self, source, destination) -> "Tensor":
        """:meth:`movedim` by NumPy's name."""
        return self.movedim(source, destination)

    def tril(self, diagonal=0) -> "Tensor":
        """The lower triangle of the last two axes: :func:`~minifcn.ops_shape.tril`."""
        from . import ops_shape
        return ops_shape.tril(self, diagonal)

    def triu(self, diagonal=0) -> "Tensor":
        """The upper triangle of the last two axes: :func:`~minifcn.ops_shape.triu`."""
        from . import ops_shape
        return ops_shape.triu(self, diagonal)

    def diag(self, diagonal=0) -> "Tensor":
        """1-d to a diagonal matrix, 2-d to its diagonal: :func:`~minifcn.ops_shape.diag`."""
        from . import ops_shape
        return ops_shape.diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1) -> "Tensor":
        """A diagonal of the (dim1, dim2) planes, as the last axis:
        :func:`~minifcn.ops_shape.diagonal`."""
        from . import ops_shape
        return ops_shape.diagonal(self, offset, dim1, dim2)

    def trace(self) -> "Tensor":
        """The sum of a matrix's main diagonal: :func:`~minifcn.ops_shape.trace`."""
        from . import ops_shape
        return ops_shape.trace(self)

    def unflatten(self, dim, sizes) -> "Tensor":
        """Axis ``dim`` split into ``sizes``: :func:`~minifcn.ops_shape.unflatten`."""
        from . import ops_shape
        return ops_shape.unflatten(self, dim, sizes)

    def narrow(self, dim, start, length) -> "Tensor":
        """``length`` values of axis ``dim`` from ``start``: :func:`~minifcn.ops_shape.narrow`."""
        from . import ops_shape
        return ops_shape.narrow(self, dim, start, length)

    def select(self, dim, index) -> "Tensor":
        """The slice at ``index`` of axis ``dim``, the axis removed:
        :func:`~minifcn.ops_shape.select`."""
        from . import ops_shape
        return ops_shape.select(self, dim, index)

    def tile(self, *dims) -> "Tensor":
        """Tiled ``dims[i]`` times along axis ``i`` (leading 1s added to ``dims``):
        :func:`~minifcn.ops_shape.tile`."""
        from . import ops_shape
        return ops_shape.tile(self, _sizes(dims))

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None) -> "Tensor":
        """Each value (slice along ``dim``) repeated in place:
        :func:`~minifcn.ops_shape.repeat_interleave`."""
        from . import ops_shape
        return ops_shape.repeat_interleave(self, repeats, dim, output_size=output_size)

    def diff(self, n=1, dim=-1, prepend=None, append=None) -> "Tensor":
        """The ``n``-th forward difference along ``dim``: :func:`~minifcn.ops_shape.diff`."""
        from . import ops_shape
        return ops_shape.diff(self, n, dim, prepend, append)

    def view_as(self, other) -> "Tensor":
        """This tensor in ``other``'s shape (PyTorch's ``view_as``; :meth:`view`)."""
        return self.reshape(other.shape)

    def expand_as(self, other) -> "Tensor":
        """This tensor broadcast to ``other``'s shape (PyTorch's ``expand_as``; :meth:`expand`)."""
        return self.expand(other.shape)

    def type_as(self, other) -> "Tensor":
        """This tensor in ``other``'s dtype and on its device, in the graph (PyTorch's
        ``type_as``; itself when both match)."""
        return self.to(other.device, other.dtype)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        """Zeros of ``size``, in this tensor's dtype and on its device unless given (PyTorch's
        ``new_zeros``).

        >>> t = Tensor(np.ones(2, np.float64)).new_zeros(2, 3)
        >>> t.shape, t.dtype
        ((2, 3), dtype('float64'))
        """
        from . import ops_shape
        return ops_shape.new_full(self, _sizes(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        """Ones of ``size``, this tensor's dtype and device unless given (``new_ones``)."""
        from . import ops_shape
        return ops_shape.new_full(self, _sizes(size), 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False) -> "Tensor":
        """``fill_value`` in shape ``size``, this tensor's dtype and device unless given
        (``new_full``): :func:`~minifcn.ops_shape.new_full`."""
        from . import ops_shape
        return ops_shape.new_full(self, size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> "Tensor":
        """A copy of ``data`` in this tensor's dtype and device unless given (``new_tensor``):
        :func:`~minifcn.ops_shape.new_tensor`."""
        from . import ops_shape
        return ops_shape.new_tensor(self, data, dtype=dtype, device=device, requires_grad=requires_grad)

    def fill_(self, value) -> "Tensor":
        """Every value set to ``value``, in place (refused in the graph for a tensor that
        requires grad): :func:`~minifcn.ops_shape.fill_`."""
        from . import ops_shape
        return ops_shape.fill_(self, value)

    def zero_(self) -> "Tensor":
        """Every value set to 0, in place (refused as :meth:`fill_` is).

        >>> t = Tensor(np.ones(3)); t.zero_() is t, t.numpy()
        (True, array([0., 0., 0.]))
        """
        return self.fill_(0)

    def transpose(self, dim0, dim1):
        """Axes ``dim0`` and ``dim1`` swapped, as PyTorch's ``transpose`` (NumPy's
        ``transpose(axes)`` is :meth:`permute`).

        >>> Tensor(np.zeros((2, 3, 4))).transpose(0, -1).shape
        (4, 3, 2)
        """
        axes = list(range(self.ndim))
        for d in (dim0, dim1):
            if not -self.ndim <= operator.index(d) < self.ndim:
                raise IndexError(f"transpose: dimension {d} is out of range for a {self.ndim}-d tensor")
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return Transpose(axes)(self)

    def exp(self):
        """``e ** x``, in the graph. Integers and bools give float32, as PyTorch's."""
        return Exp()(_floating(self))

    # ----------------------------------------------------------------- elementwise math
    # PyTorch's elementwise math as methods, each calling the function of its name in
    # ops_math.py (imported when first called: it imports this module), which says how its
    # values and gradients are made; tests/test_ops_math.py checks them against PyTorch's.
    def _math(self, name, *args, **kwargs):
        from . import ops_math
        return getattr(ops_math, name)(self, *args, **kwargs)

    def log1p(self) -> "Tensor":
        """``log(1 + x)``: :func:`~minifcn.ops_math.log1p`."""
        return self._math("log1p")

    def expm1(self) -> "Tensor":
        """``exp(x) - 1``: :func:`~minifcn.ops_math.expm1`."""
        return self._math("expm1")

    def log2(self) -> "Tensor":
        """The base-2 logarithm: :func:`~minifcn.ops_math.log2`."""
        return self._math("log2")

    def log10(self) -> "Tensor":
        """The base-10 logarithm: :func:`~minifcn.ops_math.log10`."""
        return self._math("log10")

    def exp2(self) -> "Tensor":
        """``2 ** x``: :func:`~minifcn.ops_math.exp2`."""
        return self._math("exp2")

    def sin(self) -> "Tensor":
        """The sine: :func:`~minifcn.ops_math.sin`."""
        return self._math("sin")

    def cos(self) -> "Tensor":
        """The cosine: :func:`~minifcn.ops_math.cos`."""
        return self._math("cos")

    def tan(self) -> "Tensor":
        """The tangent: :func:`~minifcn.ops_math.tan`."""
        return self._math("tan")

    def asin(self) -> "Tensor":
        """The arcsine: :func:`~minifcn.ops_math.asin`."""
        return self._math("asin")

    def acos(self) -> "Tensor":
        """The arccosine: :func:`~minifcn.ops_math.acos`."""
        return self._math("acos")

    def atan(self) -> "Tensor":
        """The arctangent: :func:`~minifcn.ops_math.atan`."""
        return self._math("atan")

    def sinh(self) -> "Tensor":
        """The hyperbolic sine: :func:`~minifcn.ops_math.sinh`."""
        return self._math("sinh")

    def cosh(self) -> "Tensor":
        """The hyperbolic cosine: :func:`~minifcn.ops_math.cosh`."""
        return self._math("cosh")

    def asinh(self) -> "Tensor":
        """The inverse hyperbolic sine: :func:`~minifcn.ops_math.asinh`."""
        return self._math("asinh")

    def acosh(self) -> "Tensor":
        """The inverse hyperbolic cosine: :func:`~minifcn.ops_math.acosh`."""
        return self._math("acosh")

    def atanh(self) -> "Tensor":
        """The inverse hyperbolic tangent: :func:`~minifcn.ops_math.atanh`."""
        return self._math("atanh")

    def rsqrt(self) -> "Tensor":
        """``1 / sqrt(x)``: :func:`~minifcn.ops_math.rsqrt`."""
        return self._math("rsqrt")

    def reciprocal(self) -> "Tensor":
        """``1 / x``: :func:`~minifcn.ops_math.reciprocal`."""
        return self._math("reciprocal")

    def erf(self) -> "Tensor":
        """The error function: :func:`~minifcn.ops_math.erf`."""
        return self._math("erf")

    def erfc(self) -> "Tensor":
        """``1 - erf(x)``: :func:`~minifcn.ops_math.erfc`."""
        return self._math("erfc")

    def erfinv(self) -> "Tensor":
        """The inverse of erf: :func:`~minifcn.ops_math.erfinv`."""
        return self._math("erfinv")

    def neg(self) -> "Tensor":
        """``-x``: :func:`~minifcn.ops_math.neg`."""
        return self._math("neg")

    def negative(self) -> "Tensor":
        """``-x``: :func:`~minifcn.ops_math.negative`."""
        return self._math("negative")

    def square(self) -> "Tensor":
        """``x * x``: :func:`~minifcn.ops_math.square`."""
        return self._math("square")

    def isnan(self) -> "Tensor":
        """Where the values are NaN: :func:`~minifcn.ops_math.isnan`."""
        return self._math("isnan")

    def isinf(self) -> "Tensor":
        """Where the values are infinite: :func:`~minifcn.ops_math.isinf`."""
        return self._math("isinf")

    def isfinite(self) -> "Tensor":
        """Where the values are finite: :func:`~minifcn.ops_math.isfinite`."""
        return self._math("isfinite")

    def pow(self, exponent) -> "Tensor":
        """``self ** exponent``: :func:`~minifcn.ops_math.pow`."""
        return self._math("pow", exponent)

    def atan2(self, other) -> "Tensor":
        """The angle of (other, self): :func:`~minifcn.ops_math.atan2`."""
        return self._math("atan2", other)

    def hypot(self, other) -> "Tensor":
        """``sqrt(self^2 + other^2)``: :func:`~minifcn.ops_math.hypot`."""
        return self._math("hypot", other)

    def logaddexp(self, other) -> "Tensor":
        """``log(exp(self) + exp(other))``: :func:`~minifcn.ops_math.logaddexp`."""
        return self._math("logaddexp", other)

    def xlogy(self, other) -> "Tensor":
        """``self * log(other)``, 0 where self is 0: :func:`~minifcn.ops_math.xlogy`."""
        return self._math("xlogy", other)

    def mul(self, other) -> "Tensor":
        """``self * other``: :func:`~minifcn.ops_math.mul`."""
        return self._math("mul", other)

    def true_divide(self, other) -> "Tensor":
        """``self / other``: :func:`~minifcn.ops_math.true_divide`."""
        return self._math("true_divide", other)

    def floor_divide(self, other) -> "Tensor":
        """``floor(self / other)``: :func:`~minifcn.ops_math.floor_divide`."""
        return self._math("floor_divide", other)

    def remainder(self, other) -> "Tensor":
        """The remainder of ``self / other``, the sign of other (``%``): :func:`~minifcn.ops_math.remainder`."""
        return self._math("remainder", other)

    def fmod(self, other) -> "Tensor":
        """The remainder of ``self / other``, the sign of self: :func:`~minifcn.ops_math.fmod`."""
        return self._math("fmod", other)

    def clamp_min(self, min) -> "Tensor":
        """``max(self, min)``: :func:`~minifcn.ops_math.clamp_min`."""
        return self._math("clamp_min", min)

    def clamp_max(self, max) -> "Tensor":
        """``min(self, max)``: :func:`~minifcn.ops_math.clamp_max`."""
        return self._math("clamp_max", max)

    def add(self, other, *, alpha=1) -> "Tensor":
        """``self + alpha * other``: :func:`~minifcn.ops_math.add`."""
        return self._math("add", other, alpha=alpha)

    def sub(self, other, *, alpha=1) -> "Tensor":
        """``self - alpha * other``: :func:`~minifcn.ops_math.sub`."""
        return self._math("sub", other, alpha=alpha)

    def div(self, other, *, rounding_mode=None) -> "Tensor":
        """``self / other``, rounded with ``rounding_mode`` ``"trunc"`` or ``"floor"``:
        :func:`~minifcn.ops_math.div`."""
        return self._math("div", other, rounding_mode=rounding_mode)

    def logit(self, eps=None) -> "Tensor":
        """``log(x / (1 - x))``, ``x`` clamped to ``[eps, 1 - eps]`` with eps:
        :func:`~minifcn.ops_math.logit`."""
        return self._math("logit", eps)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None) -> "Tensor":
        """NaN and infinities replaced by numbers: :func:`~minifcn.ops_math.nan_to_num`."""
        return self._math("nan_to_num", nan, posinf, neginf)

    def lerp(self, end, weight) -> "Tensor":
        """``self + weight * (end - self)``: :func:`~minifcn.ops_math.lerp`."""
        return self._math("lerp", end, weight)

    def addcmul(self, tensor1, tensor2, *, value=1) -> "Tensor":
        """``self + value * tensor1 * tensor2``: :func:`~minifcn.ops_math.addcmul`."""
        return self._math("addcmul", tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1) -> "Tensor":
        """``self + value * tensor1 / tensor2``: :func:`~minifcn.ops_math.addcdiv`."""
        return self._math("addcdiv", tensor1, tensor2, value=value)

    def where(self, condition, other) -> "Tensor":
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's ``x.where(cond, y)``):
        :func:`~minifcn.ops.where`."""
        from .ops import where
        return where(condition, self, other)

    def __rpow__(self, base):   # 2 ** t
        from .ops_math import pow
        return pow(base, self)

    def __floordiv__(self, other):
        return self._math("floor_divide", other)

    def __rfloordiv__(self, other):
        from .ops_math import floor_divide
        return floor_divide(other, self)

    def __mod__(self, other):
        return self._math("remainder", other)

    def __rmod__(self, other):
        from .ops_math import remainder
        return remainder(other, self)

    def abs(self):
        return Abs()(self)

    def clamp(self, min=None, max=None):
        """Values held within [min, max] (either may be None; numbers, or tensors:
        :func:`~minifcn.ops_stats.clamp`); the gradient passes where a value lies within them,
        bounds included, as PyTorch's."""
        if min is None and max is None:
            raise ValueError("clamp: give min, max or both")
        if not all(b is None or isinstance(b, (int, float)) for b in (min, max)):
            from .ops_stats import _is_tensor_bound, clamp   # only then: the usual call stays short
            if any(_is_tensor_bound(b) for b in (min, max)):   # tensor bounds, in the graph too
                return clamp(self, min, max)
        x = self
        if self.dtype.kind != "f":   # PyTorch's promotion: a float bound gives float32, bools int64
            if any(isinstance(b, (float, np.floating)) for b in (min, max)):
                x = self.astype(np.float32)
            elif self.dtype == np.bool_:
                if all(b is None or isinstance(b, (bool, np.bool_)) for b in (min, max)):
                    raise TypeError("clamp: bool tensors with bool bounds are not taken (as "
                                    "PyTorch); cast to a number type")
                x = self.astype(np.int64)
        return Clamp(min, max)(x)

    def relu(self):
        from . import functional   # it imports this module
        return functional.relu(self)

    def softmax(self, dim):
        from . import functional
        return functional.softmax(self, dim=dim)

    def log_softmax(self, dim):
        from . import functional
        return functional.log_softmax(self, dim=dim)

    def log(self):
        """The natural logarithm, in the graph. Integers and bools give float32, as PyTorch's."""
        from .ops_math import _Log   # log(0) = -inf, log(-1) = NaN, with no NumPy warning (PyTorch's)
        return _Log()(_floating(self))

    @property
    def T(self):
        return Transpose(None)(self)

    # ----------------------------------------------------------------- PyTorch's smaller methods
    # Kept together, as one block (their Functions are at the end of this file), so that they
    # read as a list of what a PyTorch user finds here, and edits elsewhere in the class stay
    # apart. Each is PyTorch's, checked against it in tests/test_tensor_utils.py.
    # (all, any, var and std also take the keywords NumPy passes: np.all(t) and np.var(t)
    # call the method of that name, with axis=, keepdims=, out= and ddof=)
    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None) -> "Tensor":
        """Whether every value is nonzero (along ``dim``: an int or a tuple), a bool Tensor
        outside the graph, as PyTorch's.

        >>> Tensor(np.array([[1, 0], [2, 3]])).all(dim=1).numpy()
        array([False,  True])
        """
        return _all_or_any(self, "all", dim, keepdim, axis, keepdims, out)

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None) -> "Tensor":
        """Whether some value is nonzero (along ``dim``), a bool Tensor outside the graph."""
        return _all_or_any(self, "any", dim, keepdim, axis, keepdims, out)

    def eq(self, other) -> "Tensor":
        """``self == other``, elementwise: a bool Tensor outside the graph."""
        return self == other

    def ne(self, other) -> "Tensor":
        """``self != other``, elementwise: a bool Tensor outside the graph."""
        return self != other

    def equal(self, other) -> bool:
        """:func:`equal`: the same shape and the same values."""
        return equal(self, other)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        """:func:`allclose`: ``|self - other| <= atol + rtol * |other|`` everywhere."""
        return allclose(self, other, rtol, atol, equal_nan)

    def sqrt(self) -> "Tensor":
        """The square root, in the graph: the gradient is ``gy / (2 sqrt(x))`` (inf at 0).
        Integers and bools give float32, as PyTorch's."""
        from .ops_math import _Sqrt   # sqrt(-1) = NaN, with no NumPy warning (PyTorch's)
        return _Sqrt()(_floating(self))

    def sigmoid(self) -> "Tensor":
        """``1 / (1 + exp(-x))``, in the graph, without overflow for large ``|x|``; the
        gradient is ``gy * y * (1 - y)``.

        >>> Tensor(np.array([-1000.0, 0.0, 1000.0])).sigmoid().numpy()
        array([0. , 0.5, 1. ])
        """
        return Sigmoid()(_floating(self))

    def tanh(self) -> "Tensor":
        """The hyperbolic tangent, in the graph; the gradient is ``gy * (1 - y^2)``."""
        return Tanh()(_floating(self))

    def norm(self, p=2, dim=None, keepdim=False) -> "Tensor":
        """The ``p``-norm of the values (along ``dim``: an int or a tuple), in the graph, as
        PyTorch's ``norm`` and ``torch.linalg.vector_norm``: ``p`` > 0, ``inf`` (the largest
        ``|x|``) or ``"fro"`` (2). A zero vector's 2-norm has the gradient 0, as PyTorch's
        (``sqrt`` of a sum of squares would give NaN there); ties for the inf-norm share it.

        >>> Tensor(np.array([[3.0, 4.0], [0.0, 1.0]])).norm(dim=1).numpy()
        array([5., 1.])
        """
        _check_floating("norm", self)
        p = 2.0 if isinstance(p, str) and p == "fro" else float(p)
        if p == math.inf:
            return self.abs().amax(dim=dim, keepdim=keepdim)
        if not p > 0:   # PyTorch's 0 counts nonzeros, its -inf is the smallest |x|: not here
            raise ValueError(f"norm: p must be positive, inf or 'fro', got {p}")
        axis = _reduce_axes("norm", dim, self.ndim)
        if p == 1.0:
            return self.abs().sum(axis=axis, keepdims=keepdim)
        if p == 2.0:   # sqrt of the sum of squares; a zero vector's gradient 0, as std's
            return Sqrt(zero_at_zero=True)((self * self).sum(axis=axis, keepdims=keepdim))
        return Norm(p, axis, keepdim)(self)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None, ddof=None, dtype=None, out=None) -> "Tensor":
        """The variance along ``dim`` (all values by default), in the graph, as PyTorch's:
        ``sum((x - mean)^2) / (N - correction)``, ``correction`` 1 by default (Bessel's, the
        sample variance); ``unbiased=False`` is ``correction=0``, the population variance.
        ``N - correction <= 0`` gives inf or NaN, as there (one value: NaN).

        >>> x = Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
        >>> x.var().item(), x.var(unbiased=False).item(), x.var(correction=2).item()
        (1.6666666666666667, 1.25, 2.5)
        """
        if isinstance(dim, bool):   # var(False): PyTorch's older form, unbiased first
            dim, unbiased = None, dim
        dim, keepdim = _numpy_keywords("var", dim, keepdim, axis, keepdims, out, dtype)
        if ddof is not None:   # NumPy's name of the correction (np.var(t) passes 0)
            correction = ddof if correction is None else correction
        if unbiased is not None and correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        _check_floating("var", self)
        axis = _reduce_axes("var", dim, self.ndim)
        n = self.size if axis is None else math.prod(self.shape[a] for a in np.atleast_1d(axis))
        if n == 0:   # no values: NaN, as PyTorch's (the mean would divide by zero)
            return self.sum(axis=axis, keepdims=keepdim) * math.nan
        d = self - self.mean(axis=axis, keepdims=True)
        squares = (d * d).sum(axis=axis, keepdims=keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):   # no degrees of freedom left
            return squares / max(0, n - correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **numpy_keywords) -> "Tensor":
        """The standard deviation, ``sqrt`` of :meth:`var` (same arguments), in the graph;
        where the values do not vary its gradient is 0, as PyTorch's (not 0 / 0)."""
        return Sqrt(zero_at_zero=True)(self.var(dim, unbiased, keepdim, correction=correction,
                                                **numpy_keywords))

    def long(self) -> "Tensor":
        """In int64 (PyTorch's ``.long()``): floats rounded toward zero; no gradient flows."""
        return self.astype(np.int64)

    def int(self) -> "Tensor":
        """In int32, as PyTorch's ``.int()`` (``int(t)``, one value as a Python int, is
        ``__int__``); no gradient flows."""
        return self.astype(np.int32)

    def bool(self) -> "Tensor":
        """In bool, as PyTorch's ``.bool()``: nonzero is True."""
        return self.astype(np.bool_)

    def expand(self, *sizes) -> "Tensor":
        """This tensor broadcast to ``sizes``, in the graph, as PyTorch's: axes of size 1 grow,
        -1 keeps an axis, new leading axes may be added. A read-only view, no copy (PyTorch's
        expanded tensors refuse writes too); the gradient is summed back over the broadcast.

        >>> Tensor(np.array([[1.0], [2.0]])).expand(2, -1, 3).shape
        (2, 2, 3)
        """
        sizes = _sizes(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes for a {self.ndim}-d tensor; give at least {self.ndim}")
        shape = []
        for k, n in enumerate(sizes):
            own = self.shape[k - lead] if k >= lead else None
            if n == -1 and own is not None:
                n = own
            if n < 0 or (own is not None and own != 1 and n != own):
                raise ValueError(f"expand: size {sizes[k]} at dimension {k} does not fit shape "
                                 f"{tuple(self.shape)} (only a size-1 axis grows; -1 keeps one)")
            shape.append(n)
        return Expand(tuple(shape))(self)

    def repeat(self, *sizes) -> "Tensor":
        """This tensor tiled ``sizes[i]`` times along axis ``i``, in the graph, as PyTorch's
        ``repeat`` (NumPy's ``tile``; more sizes than axes add leading axes).

        >>> Tensor(np.array([1, 2])).repeat(2, 2).numpy()
        array([[1, 2, 1, 2],
               [1, 2, 1, 2]])
        """
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim or any(n < 0 for n in sizes):
            raise ValueError(f"repeat: expected {self.ndim} or more counts >= 0 for shape "
                             f"{tuple(self.shape)}, got {sizes}")
        return Repeat(sizes)(self)

    def split(self, split_size_or_sections, dim=0) -> tuple:
        """Pieces along ``dim``, in the graph, as PyTorch's ``split``: of ``split_size`` each
        (the last one smaller), or of the sizes listed (which add up to the axis).

        >>> [t.shape for t in Tensor(np.zeros((5, 2))).split(2)]
        [(2, 2), (2, 2), (1, 2)]
        """
        if self.ndim == 0:
            raise ValueError("split: a 0-d tensor has no axis to split")
        axis = _dim_index("split", dim, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [operator.index(s) for s in split_size_or_sections]
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise ValueError(f"split: sizes {sizes} do not add up to {n}, the size of dimension {dim}")
        else:
            size = operator.index(split_size_or_sections)
            if size < 1:
                raise ValueError(f"split: split_size must be >= 1, got {size}")
            sizes = [size] * (n // size) + ([n % size] if n % size or n == 0 else [])
        return Split(sizes, axis)(self)

    def chunk(self, chunks, dim=0) -> tuple:
        """At most ``chunks`` pieces along ``dim``, in the graph, as PyTorch's ``chunk``: each
        of ``ceil(n / chunks)`` (the last smaller), so there can be fewer than asked.

        >>> [t.shape[0] for t in Tensor(np.zeros(6)).chunk(4)]
        [2, 2, 2]
        """
        chunks = operator.index(chunks)
        if chunks < 1:
            raise ValueError(f"chunk: chunks must be >= 1, got {chunks}")
        n = self.shape[_dim_index("chunk", dim, self.ndim)] if self.ndim else 0
        if self.ndim and n == 0:   # an empty axis: as many empty pieces as asked, as PyTorch
            return self.split([0] * chunks, dim)
        return self.split(max(-(-n // chunks), 1), dim)

    def contiguous(self) -> "Tensor":
        """Itself when its values lie in C order already, else a C-ordered copy in the graph
        (its gradient passes back unchanged), as PyTorch's ``contiguous``: an in-place change
        of the copy leaves this tensor as it was.

        >>> t = Tensor(np.zeros((2, 3)))
        >>> t.contiguous() is t, t.t().contiguous().is_contiguous()
        (True, True)
        """
        return self if self.data.flags.c_contiguous else Clone()(self)

    def gather(self, dim, index) -> "Tensor":
        """Values picked along ``dim`` at ``index`` (PyTorch's ``gather``): :func:`gather`."""
        return gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None) -> "Tensor":
        """A copy with ``src`` (or ``value``) written along ``dim`` at ``index`` (PyTorch's
        out-of-place ``scatter``): :func:`scatter`."""
        return scatter(self, dim, index, src, value=value)

    def scatter_add(self, dim, index, src) -> "Tensor":
        """A copy with ``src`` added along ``dim`` at ``index`` (PyTorch's ``scatter_add``):
        :func:`scatter_add`."""
        return scatter_add(self, dim, index, src)

    def sort(self, dim=-1, descending=False, *, stable=False) -> "Sorted":
        """``(values, indices)`` sorted along ``dim`` (PyTorch's ``sort``): :func:`sort`."""
        return sort(self, dim, descending, stable=stable)

    def argsort(self, dim=-1, descending=False, stable=False) -> "Tensor":
        """The indices that sort along ``dim`` (PyTorch's ``argsort``): :func:`argsort`."""
        return argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True) -> "Sorted":
        """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim`` (PyTorch's
        ``topk``): :func:`topk`."""
        return topk(self, k, dim, largest, sorted)

    # segmentation's tensor ops, PyTorch's (their functions and Functions: the end of ops.py)
    def flip(self, *args, dims=None) -> "Tensor":
        """Reversed along ``dims`` (``t.flip(-1)``, ``t.flip(2, 3)``, ``t.flip(dims=(2, 3))``), in
        the graph, a copy (PyTorch's ``flip``): :func:`~minifcn.ops.flip`."""
        if dims is not None and args:
            raise TypeError(f"flip: give dims by position or as dims=, not both (got {args} and dims={dims!r})")
        return flip(self, dims if dims is not None else args[0] if len(args) == 1 else args)

    def roll(self, shifts, dims=None) -> "Tensor":
        """Shifted cyclically along ``dims``, in the graph (PyTorch's ``roll``):
        :func:`~minifcn.ops.roll`."""
        return roll(self, shifts, dims)

    def masked_fill(self, mask, value) -> "Tensor":
        """A copy with ``value`` where ``mask`` is True, in the graph (PyTorch's out-of-place
        ``masked_fill``): :func:`~minifcn.ops.masked_fill`."""
        return masked_fill(self, mask, value)

    def cumsum(self, dim, *, dtype=None) -> "Tensor":
        """The running sum along ``dim``, in the graph (PyTorch's ``cumsum``):
        :func:`~minifcn.ops.cumsum`."""
        return cumsum(self, dim, dtype=dtype)

    # statistics and smaller index ops, PyTorch's (their functions and Functions: ops_stats.py,
    # imported when called)
    def median(self, dim=None, keepdim=False):
        """The lower median; with ``dim``, ``(values, indices)`` (PyTorch's ``median``):
        :func:`~minifcn.ops_stats.median`."""
        from .ops_stats import median
        return median(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        """:meth:`median` of the values that are not NaN: :func:`~minifcn.ops_stats.nanmedian`."""
        from .ops_stats import nanmedian
        return nanmedian(self, dim, keepdim)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """``(values, indices)`` of the k-th smallest along ``dim``:
        :func:`~minifcn.ops_stats.kthvalue`."""
        from .ops_stats import kthvalue
        return kthvalue(self, k, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        """``(values, indices)`` of the most frequent value along ``dim``:
        :func:`~minifcn.ops_stats.mode`."""
        from .ops_stats import mode
        return mode(self, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear") -> "Tensor":
        """The ``q``-quantiles, in the graph: :func:`~minifcn.ops_stats.quantile`."""
        from .ops_stats import quantile
        return quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear") -> "Tensor":
        """:meth:`quantile` of the values that are not NaN: :func:`~minifcn.ops_stats.nanquantile`."""
        from .ops_stats import nanquantile
        return nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def cummax(self, dim):
        """``(values, indices)`` of the running max along ``dim``: :func:`~minifcn.ops_stats.cummax`."""
        from .ops_stats import cummax
        return cummax(self, dim)

    def cummin(self, dim):
        """``(values, indices)`` of the running min along ``dim``: :func:`~minifcn.ops_stats.cummin`."""
        from .ops_stats import cummin
        return cummin(self, dim)

    def nansum(self, dim=None, keepdim=False, *, dtype=None) -> "Tensor":
        """The sum of the values that are not NaN: :func:`~minifcn.ops_stats.nansum`."""
        from .ops_stats import nansum
        return nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None) -> "Tensor":
        """The mean of the values that are not NaN: :func:`~minifcn.ops_stats.nanmean`."""
        from .ops_stats import nanmean
        return nanmean(self, dim, keepdim, dtype=dtype)

    def aminmax(self, *, dim=None, keepdim=False):
        """``(min, max)`` (along ``dim``): :func:`~minifcn.ops_stats.aminmax`."""
        from .ops_stats import aminmax
        return aminmax(self, dim=dim, keepdim=keepdim)

    def count_nonzero(self, dim=None) -> "Tensor":
        """How many values are not zero, int64: :func:`~minifcn.ops_stats.count_nonzero`."""
        from .ops_stats import count_nonzero
        return count_nonzero(self, dim)

    def bincount(self, weights=None, minlength=0) -> "Tensor":
        """The count (or weight) of each non-negative int: :func:`~minifcn.ops_stats.bincount`."""
        from .ops_stats import bincount
        return bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0) -> "Tensor":
        """A histogram of equal bins: :func:`~minifcn.ops_stats.histc`."""
        from .ops_stats import histc
        return histc(self, bins, min, max)

    def take(self, index) -> "Tensor":
        """The values at flat ``index``, in the graph: :func:`~minifcn.ops_stats.take`."""
        from .ops_stats import take
        return take(self, index)

    def masked_select(self, mask) -> "Tensor":
        """The values where ``mask`` holds, 1-d, in the graph: :func:`~minifcn.ops_stats.masked_select`."""
        from .ops_stats import masked_select
        return masked_select(self, mask)

    def masked_scatter(self, mask, source) -> "Tensor":
        """A copy with ``source``'s values in order where ``mask`` holds (out of place):
        :func:`~minifcn.ops_stats.masked_scatter`."""
        from .ops_stats import masked_scatter
        return masked_scatter(self, mask, source)

    def index_add(self, dim, index, source, *, alpha=1) -> "Tensor":
        """A copy with ``alpha * source`` added at the slices ``index`` (out of place):
        :func:`~minifcn.ops_stats.index_add`."""
        from .ops_stats import index_add
        return index_add(self, dim, index, source, alpha=alpha)

    def index_copy(self, dim, index, source) -> "Tensor":
        """A copy with ``source`` written at the slices ``index`` (out of place):
        :func:`~minifcn.ops_stats.index_copy`."""
        from .ops_stats import index_copy
        return index_copy(self, dim, index, source)

    def index_fill(self, dim, index, value) -> "Tensor":
        """A copy with ``value`` in the slices ``index`` (out of place):
        :func:`~minifcn.ops_stats.index_fill`."""
        from .ops_stats import index_fill
        return index_fill(self, dim, index, value)

    def cumprod(self, dim, *, dtype=None) -> "Tensor":
        """The running product along ``dim``, in the graph, its gradient right at zeros
        (PyTorch's ``cumprod``): :func:`~minifcn.ops.cumprod`."""
        return cumprod(self, dim, dtype=dtype)

    def index_select(self, dim, index) -> "Tensor":
        """The slices along ``dim`` at ``index`` (1-d), in the graph (PyTorch's
        ``index_select``): :func:`~minifcn.indexing.index_select`."""
        return index_select(self, dim, index)

    def nonzero(self, *, as_tuple=False):
        """The coordinates of the nonzero values, int64 (PyTorch's ``nonzero``):
        :func:`~minifcn.indexing.nonzero`."""
        return nonzero(self, as_tuple=as_tuple)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (or slices along ``dim``), sorted, with the inverse and the
        counts when asked (PyTorch's ``unique``): :func:`~minifcn.indexing.unique`."""
        return unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        """Each run of equal consecutive values (or slices along ``dim``) cut to one, with the
        inverse and the counts when asked (PyTorch's ``unique_consecutive``):
        :func:`~minifcn.indexing.unique_consecutive`."""
        return unique_consecutive(self, return_inverse, return_counts, dim)

    def prod(self, dim=None, keepdim=False, *, dtype=None) -> "Tensor":
        """The product of the values (along ``dim``), in the graph, zeros included (PyTorch's
        ``prod``): :func:`~minifcn.ops.prod`."""
        return prod(self, dim, keepdim, dtype=dtype)

    def sign(self) -> "Tensor":
        """-1, 0 or 1 by sign, zero gradient (PyTorch's ``sign``): :func:`~minifcn.ops.sign`."""
        return sign(self)

    def round(self, *, decimals=0) -> "Tensor":
        """Rounded, halves to even, zero gradient (PyTorch's ``round``):
        :func:`~minifcn.ops.round`."""
        return round_(self, decimals=decimals)

    def floor(self) -> "Tensor":
        """Rounded down, zero gradient (PyTorch's ``floor``): :func:`~minifcn.ops.floor`."""
        return floor(self)

    def ceil(self) -> "Tensor":
        """Rounded up, zero gradient (PyTorch's ``ceil``): :func:`~minifcn.ops.ceil`."""
        return ceil(self)

    def logsumexp(self, dim, keepdim=False) -> "Tensor":
        """``log(sum(exp(x)))`` along ``dim``, stable, in the graph (PyTorch's ``logsumexp``):
        :func:`~minifcn.ops.logsumexp`."""
        return logsumexp(self, dim, keepdim)


def _dim_index(op, dim, ndim):
    """``dim`` as an axis in ``range(ndim)`` (negative: from the end), else IndexError."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: a dimension must be an int, got {type(dim).__name__} {dim!r}"
                        if not isinstance(dim, Tensor) else f"{op}: a dimension must be an int, got "
                        "a Tensor (an elementwise max of two tensors is not provided)")
    dim = operator.index(dim)
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dimension {dim} is out of range [{-ndim}, {ndim - 1}]")
    return dim % ndim


def _dim_alias(op, axis, dim, keepdims=False, keepdim=None):
    """NumPy's ``axis``/``keepdims``, or PyTorch's ``dim``/``keepdim`` (one of each pair).

    >>> _dim_alias("sum", None, 1, False, True)
    (1, True)
    """
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: give axis or dim, not both")
        axis = dim
    if isinstance(axis, list):   # PyTorch takes dim=[2, 3], and [] for every axis; NumPy a tuple
        axis = tuple(axis) or None
    return axis, keepdims if keepdim is None else keepdim


def _every_axis_if_empty(axis):
    """None (every axis) for an empty tuple of axes: PyTorch's ``sum(dim=())`` and ``mean(dim=())``
    reduce all, as its ``dim=[]`` does (NumPy's ``axis=()`` would reduce none)."""
    return None if isinstance(axis, tuple) and not axis else axis


def clear_grad(p, set_to_none):
    """``p.grad`` None, or zeroed in place (left None where it is None)."""
    if set_to_none:
        p.grad = None
    elif p.grad is not None:   # None stays None, as PyTorch's: SGD then skips the parameter
        p.grad[...] = 0


def _memory(a):
    """The array that owns ``a``'s memory (``a`` itself, or the base of a view)."""
    while getattr(a, "base", None) is not None and hasattr(a.base, "shape"):
        a = a.base
    return a


def _raw(v):
    """The array of a Tensor, anything else as it is."""
    return v.data if isinstance(v, Tensor) else v


def _scaled(op, alpha):
    """``op(a, alpha * b)`` for add_ and sub_: the scaling done inside the in-place op, so that
    the graph check sees ``other`` as given (a Tensor that requires grad), and on an array
    (a list times an int would repeat the list)."""
    if alpha == 1:
        return op

    def scaled(a, b):
        if not hasattr(b, "dtype") and not isinstance(b, (int, float, complex)):
            b = get_array_module(a).asarray(b)
        return op(a, b * alpha)
    return scaled


def _into(name, what):
    """``op(a, b)`` for ``//=`` and ``%=``: ``ops_math.<name>(a, b)``'s values (PyTorch's,
    an integer zero divisor refused) written into ``a`` itself, so that views of it see them,
    as PyTorch's in-place ops. As there, the result must keep ``a``'s shape, and its dtype
    must cast to ``a``'s without losing its kind (no float into an integer tensor: ``t //=
    2.5`` on int64 is refused; float64 into float32 is taken).

    >>> t = Tensor(np.array([7.0, -7.0])); t //= 2; t.numpy()
    array([ 3., -4.])
    """
    def into(a, b):
        from . import ops_math   # it imports this module
        y = getattr(ops_math, name)(Tensor(a), b).data
        if (y.dtype.kind == "f" and a.dtype.kind in "biu") or (y.dtype.kind != "b" and a.dtype.kind == "b"):
            raise TypeError(f"{what}: the result's dtype {y.dtype} cannot be written into this "
                            f"{a.dtype} tensor (as PyTorch: expected a result of its kind); "
                            f"write it out of place")
        if y.shape != a.shape:
            raise ValueError(f"{what}: the result's shape {tuple(y.shape)} (broadcast) is not "
                             f"this tensor's {tuple(a.shape)}, as in place it must be")
        a[...] = y
        return a
    return into


def _true_into(what):
    """``a /= b`` for ``/=`` and ``div_``: a true division's result is a float, which an
    integer or bool tensor cannot hold in place; refused with our message, as PyTorch's ("result
    type Float can't be cast to the desired output type Long"), where NumPy's ufunc raised its
    own casting error.

    >>> t = Tensor(np.array([4, 6])); t /= 2  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: /=: the result of a true division (a float) cannot be written into this int64 tensor ...
    """
    def into(a, b):
        if a.dtype.kind in "biu":
            raise TypeError(f"{what}: the result of a true division (a float) cannot be written "
                            f"into this {a.dtype} tensor (as PyTorch); write it out of place "
                            "(t = t / 2) or make the tensor a float first (.float())")
        return operator.itruediv(a, b)
    return into


def _raw_index(index):
    """An index with its Tensors as their arrays (in a tuple too): NumPy then reads them as
    index arrays, never through ``__index__``."""
    return tuple(_raw(i) for i in index) if isinstance(index, tuple) else _raw(index)


def as_tensor(x, like=None) -> Tensor:
    """Wrap ``x`` as a Tensor; Python numbers take the dtype and device of ``like``."""
    if isinstance(x, Tensor):
        return x
    if like is not None and np.isscalar(x):
        xp = get_array_module(like.data)
        return Tensor(xp.asarray(x, dtype=like.dtype))
    return Tensor(x)


class Function:
    """One node of the graph. Subclasses write ``forward`` and ``backward`` on arrays.

    ``forward(*arrays)`` returns an array or a tuple of arrays; ``backward(*gys)`` receives one
    upstream gradient per output (``None`` for an output that received none) and returns one gradient
    per input (``None`` where there is none). Whatever ``forward`` saves on ``self`` for
    ``backward`` lives only as long as the graph.
    """

    def __call__(self, *inputs):
        inputs = [as_tensor(x, like=next((t for t in inputs if isinstance(t, Tensor)), None))
                  for x in inputs]
        if len({type(x.data) for x in inputs}) > 1:  # NumPy and CuPy arrays mixed in one op
            devices = ", ".join(f"input {i} on {x.device}" for i, x in enumerate(inputs))
            raise ValueError(f"{type(self).__name__}: all inputs must be on one device, got {devices}; "
                             f"move them with .to(device)")
        if "inputs" in self.__dict__:   # release() keeps the key: a used node is refused too
            # one object is one node: a second call (with a graph or not) would overwrite what
            # the first saved for its backward, and its gradients would come out wrong, silently
            raise RuntimeError(f"{type(self).__name__}: this Function object is already a node of "
                               f"a graph; make a new one for each call, {type(self).__name__}()(x) "
                               f"(or {type(self).__name__}.apply(x))")
        ys = self.forward(*[x.data for x in inputs])
        multi = isinstance(ys, tuple)
        ys = ys if multi else (ys,)
        needs_grad = _Config.enable_grad and any(x.requires_grad for x in inputs)
        outputs = [Tensor(y, requires_grad=needs_grad and _is_float(y)) for y in ys]
        if needs_grad:
            self.generation = max(x.generation for x in inputs)
            for i, o in enumerate(outputs):
                if o.requires_grad:
                    o.set_creator(self, i)
            # leaves (parameters, inputs) are kept: backward fills their .grad. An intermediate
            # tensor is reached through an edge instead, so its array is freed as soon as no
            # function saved it (a conv output read only by a ReLU, which keeps its own output)
            self.inputs = [x if x.creator is None else _Edge(x) for x in inputs]
            self.n_outputs = len(outputs)
        return tuple(outputs) if multi else outputs[0]

    @classmethod
    def apply(cls, *inputs):
        """``cls()(*inputs)``: a new node for each call, as PyTorch's ``Function.apply`` is
        called (for a Function whose constructor takes no arguments)."""
        return cls()(*inputs)

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    released = False   # set by release(): what backward needs is gone
    hooks = None         # {output index: {handle id: hook}}, from the outputs' register_hook
    retained = None      # {output index: weak reference}, from the outputs' retain_grad

    def release(self):
        """Drop the inputs and whatever forward saved, once backward has used them."""
        self.__dict__ = {"generation": self.generation, "n_outputs": self.n_outputs, "inputs": [],
                         "released": True}


class _Edge:
    """How a function reaches an intermediate input in backward, without holding its array:
    the input's creator and output slot, its dtype and shape."""
    __slots__ = ("creator", "output_index", "requires_grad", "dtype", "shape")

    def __init__(self, t: Tensor):
        self.creator, self.output_index, self.requires_grad = t.creator, t.output_index, t.requires_grad
        self.dtype, self.shape = t.dtype, t.shape


class RemovableHandle:
    """What ``register_hook`` (and the modules' hook registrations) return, as PyTorch's:
    ``handle.remove()`` takes the hook out again; as a context manager, at the block's end."""
    _next_id = itertools.count()

    def __init__(self, table: dict, hook):
        self.table, self.id = table, next(RemovableHandle._next_id)
        table[self.id] = hook

    def remove(self):
        self.table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def to_arguments(args, device=None, dtype=None):
    """``(device, dtype)`` from ``to``'s arguments, read as PyTorch reads them: a device name
    (``"cpu"``, ``"cuda:0"``, a GPU index) or a dtype (``np.float64``, ``"float64"``), in any
    order, or a Tensor (its device and dtype); either may be None."""
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (np.dtype, type)) or (isinstance(a, str) and _names_dtype(a)):
            dtype = a
        else:
            device = a
    return device, dtype


def _names_dtype(name: str) -> bool:
    """Whether ``to``'s string argument is a number type (``"float64"``), not a device: NumPy
    also reads ``"c"`` and ``"S"`` as dtypes (bytes), which no tensor here takes."""
    try:
        return np.dtype(name).kind in "biuf"
    except TypeError:
        return False


def _run_hooks(hooks, g):
    """``g`` through each hook in the order registered; a hook returning None leaves it."""
    if not hooks:
        return g
    # the hooks get a copy: a gradient array may be shared (Add hands both inputs the same
    # one), and a hook that clips in place must change this tensor's gradient only
    g = g.copy()
    for hook in list(hooks.values()):
        out = hook(g)
        if out is None:
            continue
        out = out.data if isinstance(out, Tensor) else out
        if getattr(out, "shape", None) != g.shape or getattr(out, "dtype", None) != g.dtype:
            raise RuntimeError(f"a gradient hook returned {type(out).__name__} of shape "
                               f"{getattr(out, 'shape', None)} and dtype {getattr(out, 'dtype', None)}, "
                               f"expected an array of shape {g.shape} and dtype {g.dtype}")
        g = out
    return g


def _sum_of(a, b):
    """``a + b``, two gradients of one tensor summed: inf + -inf is NaN and an overflow inf
    there, silently, as in PyTorch's engine (no NumPy warning)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return a + b


def _outputs_hooked(f, gys, keep):
    """The whole gradient of each output of ``f`` through its hooks, then kept where the
    output tensor asked for ``retain_grad``."""
    gys = list(gys)
    for i, g in enumerate(gys):
        if g is None:
            continue
        gys[i] = g = _run_hooks((f.hooks or {}).get(i), g)
        t = f.retained[i]() if f.retained and i in f.retained else None
        if t is not None:
            keep(t, g)
    return gys


def _backprop(seeds, retain_graph, inputs=None):
    """The backward pass of :meth:`Tensor.backward` and :func:`grad`: one walk of the graph.

    ``seeds`` are ``(tensor, gradient, given)`` triples: the gradients start there (summed where
    a tensor comes twice); ``given`` marks one the caller passed in, which is never stored as
    it is. ``inputs`` None: every leaf that requires grad gets its gradient added into
    ``.grad`` (backward). A list of tensors: their gradients are returned instead, one array (or
    None, for one the walk did not reach) each, and no leaf's ``.grad`` changes (grad); only the
    functions on a path to one of them run, as in PyTorch's engine. Returns None, or
    ``(gradients, freed)``, ``freed`` telling whether the walk met a part of the graph that an
    earlier backward had freed (what lay behind it is unknown).
    """
    # Arrays already some tensor's .grad (or the caller's own seed): storing one again gives
    # a copy. a + b hands both inputs the same array, and an in-place change to a.grad would
    # have changed b.grad (PyTorch's .grad are separate tensors).
    stored = {id(_memory(g)) for _, g, given in seeds if given}

    def keep(t, g):   # t.grad += g, a new array either way
        if t.grad is not None:
            t.grad = _sum_of(t.grad, g)
            return
        if id(_memory(g)) in stored:   # a view of a stored array shares its memory too
            g = g.copy()
        stored.add(id(_memory(g)))
        t.grad = g

    # Leaves whose gradient is summed here and handed on at the end: a leaf with hooks (the
    # hooks see its whole gradient of this pass), and in grad every leaf asked for
    summed: dict[int, list] = {}

    def add_up(x, g):
        slot = summed.setdefault(id(x), [x, None])
        slot[1] = g if slot[1] is None else _sum_of(slot[1], g)

    if inputs is None:
        reach = needed = captures = None

        def to_leaf(x, g):   # a leaf without hooks keeps each gradient as it comes
            if x._grad_hooks:
                add_up(x, g)
            else:
                keep(x, g)
    else:
        wanted = {id(t) for t in inputs if t.creator is None}
        # an intermediate tensor asked for: its gradient is read off its creator's pending
        # slot (after its hooks), as PyTorch captures it at the function that receives it
        captures: dict[int, set] = {}
        for t in inputs:
            if t.creator is not None:
                captures.setdefault(id(t.creator), set()).add(t.output_index)
        needed, freed = _needed([t.creator for t, _, _ in seeds if t.creator is not None],
                                wanted, captures)
        reach = needed | captures.keys()
        captured: dict = {}

        def to_leaf(x, g):   # any other leaf's gradient goes nowhere
            if id(x) in wanted:
                add_up(x, g)

    # Gradients still to be handed to each function, one slot per output. Keeping them here,
    # not on the intermediate tensors, lets those tensors (and their arrays) be freed early.
    pending: dict[int, list] = {}
    # Max-heap on generation: a function runs only after every function that used its
    # outputs has run, so each of its output gradients is complete when it runs.
    heap = []
    # unique tie-breaker: len(pending) can repeat as slots are popped, and two equal
    # (generation, count) keys would make heapq compare Function objects (TypeError)
    order = itertools.count()

    def send(f, index, g):
        if reach is not None and id(f) not in reach:   # grad: f leads to no input asked for
            return
        if id(f) not in pending:
            pending[id(f)] = [None] * f.n_outputs
            heapq.heappush(heap, (-f.generation, next(order), f))
        slot = pending[id(f)]
        # a = a + b, never +=: the array may be shared with another tensor's gradient
        slot[index] = g if slot[index] is None else _sum_of(slot[index], g)

    for t, g, _ in seeds:
        if t.creator is None:   # backward() of a leaf, grad(x, x): its own gradient, through its hooks
            to_leaf(t, g)
        else:
            send(t.creator, t.output_index, g)
    while heap:
        f = heapq.heappop(heap)[2]
        gys = pending.pop(id(f))
        runs = needed is None or id(f) in needed   # else f is only read for an input asked for
        if f.released and runs:
            raise RuntimeError("backward: this part of the graph was freed by an earlier "
                               "backward(); pass retain_graph=True to that one to go back "
                               "through the graph again")
        # An input asked for is read off here, before its hooks when the pass goes on through
        # f, after them when it ends at f: PyTorch's engine does the same (its "hooks ordering")
        if runs and captures and id(f) in captures:
            captured.update({(id(f), i): gys[i] for i in captures[id(f)]})
        if f.hooks or f.retained:   # every use of these outputs has sent its gradient
            gys = _outputs_hooked(f, gys, keep)
        if not runs:   # f is on the way only for the inputs it made
            captured.update({(id(f), i): gys[i] for i in captures[id(f)]})
            continue
        gxs = f.backward(*gys)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        # zip would drop the rest: too few froze an input, silently; more are let pass when
        # they are None (a bias the call had none of), as PyTorch lets them
        if len(gxs) < len(f.inputs) or any(g is not None for g in gxs[len(f.inputs):]):
            raise RuntimeError(f"{type(f).__name__}.backward returned {len(gxs)} gradient"
                               f"{'s' if len(gxs) != 1 else ''} for {len(f.inputs)} inputs "
                               "(one per input of forward, None where there is none)")
        for x, gx in zip(f.inputs, gxs):
            if gx is None or not x.requires_grad:
                continue
            if gx.shape != x.shape:   # as PyTorch checks: a wrong one would spread silently
                raise RuntimeError(f"{type(f).__name__}.backward returned a gradient of shape "
                                   f"{tuple(gx.shape)} for an input of shape {tuple(x.shape)}")
            if gx.dtype != x.dtype:   # float32 * float64 array: x's gradient is float32, as x
                with np.errstate(over="ignore"):   # 1e300 is inf in float32, quietly, as PyTorch's
                    gx = gx.astype(x.dtype)
            if x.creator is not None:
                send(x.creator, x.output_index, gx)
            else:
                to_leaf(x, gx)
        if not retain_graph:
            f.release()
    if inputs is None:
        for x, g in summed.values():
            keep(x, _run_hooks(x._grad_hooks, g))
        return None
    for x, g in summed.values():
        captured[id(x)] = _run_hooks(x._grad_hooks, g)
    grads = []
    for t in inputs:
        g = captured.get(id(t) if t.creator is None else (id(t.creator), t.output_index))
        if g is not None and id(_memory(g)) in stored:   # a seed, a retained .grad, an input twice
            g = g.copy()
        if g is not None:
            stored.add(id(_memory(g)))
        grads.append(g)
    return grads, freed


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than added into
    ``.grad`` (PyTorch's ``torch.autograd.grad``): a vector-Jacobian product.

    The same backward pass as :meth:`Tensor.backward`, with two changes: only the functions on
    a path to one of ``inputs`` run, and no leaf's ``.grad`` changes. Several outputs' gradients
    are summed. An input may be an intermediate tensor (the gradient arriving there) or an
    output itself (its ``grad_outputs``).

    Args:
        outputs: a Tensor or a sequence of them, each requiring grad.
        inputs: a Tensor, a sequence of them, or a dict of them (``dict(net.named_parameters())``:
            the answer is then a dict with the same keys), each requiring grad.
        grad_outputs: one upstream gradient per output (a Tensor or an array of its shape), or
            None for a one-valued output (ones); all None when omitted.
        retain_graph: keep the graph for another pass (default ``create_graph``, so False).
        create_graph: refused: the gradients here are arrays, the graph first-order only.
        allow_unused: give None for an input the outputs do not depend on, rather than raise
            (default ``materialize_grads``).
        materialize_grads: give zeros of its shape there instead of None.

    Returns:
        A tuple of Tensors (or a dict), one per input, of the input's shape and dtype, which do
        not require grad.

    As PyTorch's: a tensor hook on the way (``register_hook``) runs and changes what flows on;
    hooks off the way do not run. An input's gradient is returned after its own hooks, except
    an intermediate tensor's when the pass goes on through it to another input: then the one
    before them (PyTorch's engine reads it off there). ``retain_grad`` keeps ``.grad`` of the
    intermediate tensors on the way; a module's backward hooks run when its graph is on the way
    (its full backward hook when the gradient goes through the module's input, as there).
    Unlike PyTorch: a function that runs computes the gradients of all its inputs (PyTorch
    skips those not needed: only time differs), and a part of the graph freed by an earlier
    pass (``backward`` without ``retain_graph``) that the gradient reaches raises, as
    ``backward`` does, even where it leads to no input asked for (a freed function forgets its
    inputs, so nothing tells; PyTorch raises only where it does). ``is_grads_batched``,
    ``only_inputs`` and gradient edges are not taken.

    >>> import numpy as np
    >>> x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    >>> h = x * x
    >>> y = (h * 3.0).sum()
    >>> grad(y, [x, h])          # d(3 sum x^2)/dx = 6x; d(3 sum h)/dh = 3
    (tensor([ 6., 12., 18.]), tensor([3., 3., 3.]))
    >>> x.grad is None
    True
    """
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (a graph of the gradient, for second "
                                  "derivatives) is not supported: gradients here are arrays and "
                                  "the graph is first-order only")
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: materialize_grads=True gives zeros for unused inputs; it needs "
                         "allow_unused True or not given, got allow_unused=False")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    keys = None
    if isinstance(inputs, dict):
        keys, inputs = list(inputs), list(inputs.values())
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError("grad: inputs cannot be empty")
    for what, ts in (("outputs", outputs), ("inputs", inputs)):
        for i, t in enumerate(ts):
            if not isinstance(t, Tensor):
                raise TypeError(f"grad: {what}[{i}] is a {type(t).__name__}, expected a Tensor")
            if not t.requires_grad:   # PyTorch's two errors, with the tensor's position
                raise RuntimeError(f"grad: {what}[{i}] does not require grad (made under "
                                   "no_grad(), or from tensors none of which requires grad)")
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):   # one, for one output
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad: got {len(outputs)} outputs and {len(grad_outputs)} grad_outputs; "
                           "give one gradient (or None) per output")
    seeds = []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        given = g is not None
        if g is None:
            if t.size != 1:
                raise RuntimeError(f"grad: grad_outputs[{i}] can be left None only for an output "
                                   f"of one value, outputs[{i}] has shape {tuple(t.shape)}")
            g = get_array_module(t.data).ones_like(t.data)
        else:
            g = _raw(g)
            if not hasattr(g, "shape") or not hasattr(g, "dtype"):
                raise TypeError(f"grad: grad_outputs[{i}] is a {type(g).__name__}, expected a "
                                "Tensor, an array or None")
            if g.shape != t.shape:
                raise RuntimeError(f"grad: grad_outputs[{i}] has shape {tuple(g.shape)}, "
                                   f"outputs[{i}] has shape {tuple(t.shape)}")
            if type(g) is not type(t.data):   # a host array for a GPU output, or the reverse
                raise ValueError(f"grad: grad_outputs[{i}] is on {backend.device_of(g)}, outputs[{i}] "
                                 f"on {t.device}")
            if g.dtype != t.dtype:   # as backward: the gradients keep the tensors' dtypes
                g = g.astype(t.dtype)
        seeds.append((t, g, given))
    grads, freed = _backprop(seeds, retain_graph, inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, grads)):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: inputs[{i}] appears not to have been used in the graph of the outputs (no "
                "gradient reached it); pass allow_unused=True to get None for it"
                + (" (or it lies behind a part of the graph freed by an earlier pass, which "
                   "needed retain_graph=True)" if freed else ""))
        if g is None and materialize_grads:
            g = get_array_module(t.data).zeros_like(t.data)
        result.append(None if g is None else Tensor(g))
    return dict(zip(keys, result)) if keys is not None else tuple(result)


def _needed(roots, leaves, captures):
    """The ids of the functions whose backward :func:`grad` must run: those with an input
    asked for (a leaf in ``leaves``, by id; an output ``i`` of a function ``c`` with ``i`` in
    ``captures[id(c)]``) or made by a needed function. Also whether a freed function was met.

    Every input of a function was made by a function of a lower generation, so one pass in
    increasing generation decides each function after all those it reads from.
    """
    seen, found, stack = set(), [], list(roots)
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        found.append(f)
        stack.extend(x.creator for x in f.inputs if x.creator is not None and x.requires_grad)
    needed = set()
    for f in sorted(found, key=lambda f: f.generation):
        if f.released:   # its inputs are gone: it may lead to one asked for, so it must run
            needed.add(id(f))   # (and raise, as backward does), not drop what flows through it
            continue
        for x in f.inputs:
            c = x.creator
            if not x.requires_grad:
                continue
            if (id(x) in leaves if c is None else
                    id(c) in needed or x.output_index in captures.get(id(c), ())):
                needed.add(id(f))
                break
    return needed, any(f.released for f in found)


def _is_float(a) -> bool:
    return a.dtype.kind == "f"


def sum_to(x, shape):
    """Sum ``x`` over the axes that broadcasting expanded to reach ``x.shape`` from ``shape``."""
    if x.shape == tuple(shape):
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
    y = x.sum(axis=axes, keepdims=True)
    return y.reshape(shape) if lead else y


# The Functions behind the Tensor's methods and operators (ops.py) and PyTorch's ops that pick
# values by index (indexing.py), imported last: they subclass Function and make Tensors, both
# defined above, and Tensor's methods look them up here when they run.
from .ops import (_accumulating, _all_or_any, _check_floating, _extreme_along, _floating,  # noqa: E402
    _numpy_keywords, _reduce_axes, _sizes, Abs, add, allclose, Cast, Clamp, Clone, div, equal, Exp,
    Expand, Extreme, GetItem, Log, matmul, mul, neg, Norm, pow, Repeat, Reshape, Sigmoid, Split,
    Sqrt, sub, Sum, Tanh, ToDevice, Transpose)
# round as round_: the builtin keeps its name in this module
from .ops import (argmax, argmin, ceil, cumprod, cumsum, flip, floor, logsumexp, masked_fill,  # noqa: E402
    prod, roll, round as round_, sign)
from .indexing import (Sorted, argsort, gather, index_select, nonzero, scatter, scatter_add,  # noqa: E402
    sort, topk, unique, unique_consecutive)
