"""Small layers PyTorch users expect, re-exported by :mod:`minifcn.nn`: the other dropouts
(``Dropout1d``, ``Dropout3d``, ``AlphaDropout``, ``FeatureAlphaDropout``), ``ChannelShuffle``,
``Unflatten``, ``Bilinear``, the 1-d padding layers, and the parameter containers
``ParameterList`` and ``ParameterDict``.

Arguments, defaults, reprs and state-dict keys are PyTorch's. The dropouts are kinds of
:class:`~minifcn.nn.Dropout` here, so ``always_on=True`` (Monte-Carlo sampling at test time,
Bayesian SegNet's) works for them too. ``Bilinear`` starts as this library's ``Linear`` does
(He-normal weight, zero bias), not as PyTorch's. The padding layers are the 2-d ones of
:func:`F.pad <minifcn.functional.pad>` on a signal as one row, (n, c, 1, L).

>>> import numpy as np
>>> from minifcn import nn
>>> net = nn.Sequential(nn.Unflatten(1, (6, 1)), nn.ChannelShuffle(2), nn.Flatten())
>>> net(np.arange(6.0).reshape(1, 6)).numpy()            # (1, 6) -> (1, 6, 1) -> shuffled -> (1, 6)
array([[0., 3., 1., 4., 2., 5.]])
>>> list(nn.ParameterList([np.zeros(2), np.ones(3)]).state_dict())
['0', '1']
"""
from __future__ import annotations

import math
import numbers
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from . import functional as F
from . import init
from .autograd import Tensor, as_tensor
from .backend import get_array_module
from .functional_1d import _as_row, _from_row
from .module import Module, Parameter
from .nn import Dropout

__all__ = ["Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "ChannelShuffle",
           "Unflatten", "Bilinear", "ReflectionPad1d", "ReplicationPad1d", "ConstantPad1d", "ZeroPad1d",
           "CircularPad1d", "ParameterList", "ParameterDict"]


# --------------------------------------------------------------------- dropouts
class _DropoutNd(Dropout):
    """A :class:`~minifcn.nn.Dropout` (its arguments, ``always_on`` too, and its repr) running
    ``_fn``."""
    _fn = None

    def forward(self, x):
        return type(self)._fn(x, self.p, training=self.training or self.always_on)


class Dropout1d(_DropoutNd):
    """Channel dropout of signals (:func:`F.dropout1d <minifcn.functional.dropout1d>`): whole
    channels of (n, c, L) or (c, L) zeroed, one draw per signal and channel.

    >>> import numpy as np
    >>> Dropout1d(0.5).eval()(np.ones((1, 4, 3))).numpy().tolist() == np.ones((1, 4, 3)).tolist()
    True
    """
    _fn = staticmethod(F.dropout1d)


class Dropout3d(_DropoutNd):
    """Channel dropout of volumes (:func:`F.dropout3d <minifcn.functional.dropout3d>`): whole
    channels of (n, c, d, h, w) or (c, d, h, w) zeroed, one draw per volume and channel."""
    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU nets (:func:`F.alpha_dropout <minifcn.functional.alpha_dropout>`):
    dropped values set to SELU's saturation, then ``a x + b`` keeping mean 0 and variance 1;
    active in training mode (or always, with ``always_on``), the identity in eval mode."""
    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """:class:`AlphaDropout` of whole channels (:func:`F.feature_alpha_dropout
    <minifcn.functional.feature_alpha_dropout>`), one draw per image and channel of (n, c, *)."""
    _fn = staticmethod(F.feature_alpha_dropout)


# --------------------------------------------------------------------- reshaping
class ChannelShuffle(Module):
    """:func:`F.channel_shuffle <minifcn.functional.channel_shuffle>` as a layer: the channels
    of ``groups`` groups interleaved (ShuffleNet's)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = F.check_count("ChannelShuffle", "groups", groups)

    def forward(self, x):
        return F.channel_shuffle(x, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class Unflatten(Module):
    """Dim ``dim`` of the input unflattened into ``unflattened_size``, as PyTorch's
    (:class:`~minifcn.nn.Flatten` undone): (n, 12) -> (n, 3, 4) with ``Unflatten(1, (3, 4))``;
    one size may be -1, inferred. A linear map: its backward reshapes back.

    >>> import numpy as np
    >>> Unflatten(-1, (2, -1))(np.zeros((5, 12))).shape
    (5, 2, 6)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or a list of ints, got "
                            f"{unflattened_size!r}")
        if not unflattened_size or sum(s == -1 for s in unflattened_size) > 1 or any(
                s < -1 for s in unflattened_size):
            raise ValueError(f"Unflatten: unflattened_size must hold sizes >= 0 and at most one -1, "
                             f"got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, x):
        x = as_tensor(x)
        dim, sizes = self.dim, tuple(int(s) for s in self.unflattened_size)
        if not -x.ndim <= dim < x.ndim:
            raise ValueError(f"Unflatten: dim {dim} is out of range for an input of shape {tuple(x.shape)}")
        dim %= x.ndim
        n = x.shape[dim]
        known = math.prod(s for s in sizes if s != -1)
        if (-1 in sizes and (known == 0 or n % known)) or (-1 not in sizes and known != n):
            raise ValueError(f"Unflatten: sizes {list(self.unflattened_size)} do not multiply up to "
                             f"the size {n} of dim {self.dim} of the input {tuple(x.shape)}")
        sizes = tuple(n // known if s == -1 else s for s in sizes)
        return x.reshape(*x.shape[:dim], *sizes, *x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


# --------------------------------------------------------------------- bilinear
class Bilinear(Module):
    """:func:`F.bilinear <minifcn.functional.bilinear>` as a layer: ``y_k = x1^T W_k x2 + b_k``
    with weight (out, in1, in2) and bias (out,), PyTorch's shapes and keys. They start as
    :class:`~minifcn.nn.Linear`'s here: the weight He-normal, ``std = sqrt(2 / (in1 * in2))``
    (each output sums in1 * in2 products), the bias zero; PyTorch's draw both uniform in
    ``+-1 / sqrt(in1)`` (``init.uniform_`` gives that start).

    >>> import numpy as np
    >>> m = Bilinear(3, 4, 5)
    >>> m(np.ones((2, 3), np.float32), np.ones((2, 4), np.float32)).shape, list(m.state_dict())
    ((2, 5), ['weight', 'bias'])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True):
        super().__init__()
        in1 = F.check_count("Bilinear", "in1_features", in1_features)
        in2 = F.check_count("Bilinear", "in2_features", in2_features)
        out = F.check_count("Bilinear", "out_features", out_features)
        bias = F._flag("Bilinear", "bias", bias)
        self.weight = Parameter(init.he_normal((out, in1, in2)))   # fan_in = in1 * in2
        self.bias = Parameter(init.zeros((out,))) if bias else None
        self.in1_features, self.in2_features, self.out_features = in1, in2, out

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


# --------------------------------------------------------------------- 1-d padding
class _Pad1d(Module):
    """:func:`F.pad <minifcn.functional.pad>` of a signal (n, c, L) or (c, L) as one row, in
    one mode: ``padding`` an int (both ends) or PyTorch's (left, right)."""
    mode = "constant"
    value = None

    def __init__(self, padding):
        super().__init__()
        who = type(self).__name__
        if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            padding = (int(padding),) * 2
        if not isinstance(padding, (tuple, list)) or len(padding) != 2:
            raise ValueError(f"{who}: padding must be an int or a pair of ints (left, right), got {padding!r}")
        F.pad_amounts(who, padding)   # ints, named
        self.padding = tuple(int(a) for a in padding)

    def forward(self, x):
        x4, batched = _as_row(type(self).__name__, x)
        return _from_row(F.pad(x4, self.padding, self.mode, self.value), batched)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_Pad1d):
    """Pads with the mirror image of the signal, its end value left out (each side's padding
    less than L): (n, c, L) -> (n, c, left + L + right).

    >>> import numpy as np
    >>> ReflectionPad1d((2, 1))(np.arange(4.0).reshape(1, 1, 4)).numpy()
    array([[[2., 1., 0., 1., 2., 3., 2.]]])
    """
    mode = "reflect"


class ReplicationPad1d(_Pad1d):
    """Pads with the signal's end values, repeated; shapes as :class:`ReflectionPad1d`'s.

    >>> import numpy as np
    >>> ReplicationPad1d(2)(np.arange(3.0).reshape(1, 3)).numpy()   # (c, L): no batch
    array([[0., 0., 0., 1., 2., 2., 2.]])
    """
    mode = "replicate"


class CircularPad1d(_Pad1d):
    """Pads with the values of the signal's other end, as if it wrapped round; shapes as
    :class:`ReflectionPad1d`'s.

    >>> import numpy as np
    >>> CircularPad1d((2, 1))(np.arange(4.0).reshape(1, 1, 4)).numpy()
    array([[[2., 3., 0., 1., 2., 3., 0.]]])
    """
    mode = "circular"


class ConstantPad1d(_Pad1d):
    """Pads with ``value``; shapes as :class:`ReflectionPad1d`'s.

    >>> import numpy as np
    >>> ConstantPad1d((1, 2), 7.0)(np.zeros((1, 1, 2))).numpy()
    array([[[7., 0., 0., 7., 7.]]])
    """

    def __init__(self, padding, value):
        super().__init__(padding)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{type(self).__name__}: value must be a number, got {value!r}")
        self.value = value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad1d(ConstantPad1d):
    """Pads with zeros; shapes as :class:`ReflectionPad1d`'s."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


# --------------------------------------------------------------------- parameter containers
def _as_parameter(who, what, value):
    """``value`` as a Parameter: itself, or a Tensor or array wrapped (sharing its array, as
    PyTorch wraps a plain tensor)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor) or isinstance(value, get_array_module(value).ndarray):
        return Parameter(value)
    raise TypeError(f"{who}: {what} must be a Parameter, a Tensor or an array, got {type(value).__name__}")


def _parameters_repr(module, items):
    """PyTorch's repr of a parameter container: one line a parameter, its dtype and size (the
    dtype named as NumPy names it; the device when it is not the CPU)."""
    lines = []
    for key, p in items:
        device = f" ({p.device})" if p.device != "cpu" else ""
        size = "x".join(str(d) for d in p.shape)
        lines.append(f"    ({key}): Parameter containing: [{p.dtype} of size {size}{device}]")
    name = type(module).__name__
    return f"{name}(\n" + "\n".join(lines) + "\n)" if lines else f"{name}()"


class ParameterList(Module):
    """Parameters held in a list, registered under ``0, 1, ...`` (their state-dict keys), as
    PyTorch's: for a model with a number of weights known only when it is built. A plain
    Python list would hide them from ``parameters()``, the optimizer and the state dict.
    Tensors and arrays put in are wrapped as Parameters.

    >>> import numpy as np
    >>> ws = ParameterList([np.zeros((2, 3))]).append(np.ones(4))   # returns the list
    >>> len(ws), [tuple(p.shape) for p in ws], list(ws.state_dict())
    (2, [(2, 3), (4,)], ['0', '1'])
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, index):
        """``index`` as a position in range, or an IndexError that names it."""
        n = len(self)
        i = operator.index(index)
        if not -n <= i < n:
            raise IndexError(f"ParameterList: index {i} is out of range for {n} parameters")
        return i % n

    def __getitem__(self, index):
        """The parameter at ``index``, or a ParameterList of a slice (the same Parameters)."""
        if isinstance(index, slice):
            return ParameterList(list(self._params.values())[index])
        return self._params[str(self._index(index))]

    def __setitem__(self, index, value):
        i = self._index(index)
        setattr(self, str(i), _as_parameter("ParameterList", f"item {i}", value))

    def __len__(self):
        return len(self._params)

    def __iter__(self):
        return iter(list(self._params.values()))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        """Add ``value`` at the end, named ``len(self)``; returns the list, as PyTorch's."""
        setattr(self, str(len(self)), _as_parameter("ParameterList", f"item {len(self)}", value))
        return self

    def extend(self, values):
        """Append each of ``values`` (an iterable: one Tensor or array is refused, as PyTorch's)."""
        if isinstance(values, Tensor) or not isinstance(values, Iterable) or hasattr(values, "shape"):
            raise TypeError(f"ParameterList.extend takes an iterable of Parameters, got "
                            f"{type(values).__name__}: use append for one")
        for value in list(values):   # a list first: extending a list by itself
            self.append(value)
        return self

    def __repr__(self):
        return _parameters_repr(self, enumerate(self))


class ParameterDict(Module):
    """Parameters held by name, as PyTorch's: the names are their state-dict keys. Built or
    updated from an ``OrderedDict`` or another ParameterDict the order is kept; from any other
    mapping the keys are sorted, as PyTorch's; from ``(key, value)`` pairs, their order.
    Tensors and arrays put in are wrapped as Parameters.

    >>> import numpy as np
    >>> d = ParameterDict({"scale": np.ones(3), "bias": np.zeros(3)})
    >>> list(d), list(d.state_dict())                # a dict's keys sorted
    (['bias', 'scale'], ['bias', 'scale'])
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._params:
            raise KeyError(key)
        return self._params[key]

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be str, got {type(key).__name__} {key!r}")
        # register_parameter refuses what cannot be an attribute: "", "a.b", "train"
        self.register_parameter(key, _as_parameter("ParameterDict", repr(key), value))

    def __delitem__(self, key):
        if key not in self._params:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self._params)

    def __iter__(self):
        return iter(list(self._params))

    def __contains__(self, key):
        return key in self._params

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    def items(self):
        return self._params.items()

    def __reversed__(self):
        return reversed(list(self._params))

    def get(self, key, default=None):
        return self._params.get(key, default)

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        """The last ``(key, parameter)`` pair put in, removed, as PyTorch's (a KeyError when
        empty)."""
        if not self._params:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self._params))
        return key, self.pop(key)

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with ``keys``, each holding ``default`` (a Parameter, a Tensor or
        an array: every key wraps the same array), as PyTorch's (a method of an instance there
        too). PyTorch's default of None, a dict of Nones, is refused: this one holds Parameters."""
        return ParameterDict((key, default) for key in keys)

    def __or__(self, other):
        """A copy updated from ``other`` (a mapping, a ParameterDict or pairs), as PyTorch's."""
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):
        """``mapping | self``: a copy of the mapping (a plain dict stays one, as PyTorch's)
        updated from this one."""
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self

    def setdefault(self, key, default=None):
        """The parameter at ``key``, put there from ``default`` first when there is none."""
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        for key in list(self._params):
            del self[key]

    def copy(self):
        """A new ParameterDict holding the same Parameters, in the same order."""
        return ParameterDict(OrderedDict(self.items()))

    def update(self, parameters):
        """Add or replace parameters from a mapping (sorted by key unless it is an
        ``OrderedDict`` or a ParameterDict, as PyTorch's) or from ``(key, value)`` pairs."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = list(parameters.items())
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        elif isinstance(parameters, Iterable) and not isinstance(parameters, (str, Tensor)):
            pairs = list(parameters)
            for j, pair in enumerate(pairs):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"ParameterDict.update: element {j} must be a (key, value) pair, "
                                     f"got {pair!r}")
        else:
            raise TypeError(f"ParameterDict.update takes a mapping or (key, value) pairs, got "
                            f"{type(parameters).__name__}")
        for key, value in pairs:
            self[key] = value

    def __repr__(self):
        return _parameters_repr(self, self.items())
