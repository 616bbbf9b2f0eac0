"""The activation layers of :mod:`minifcn.activations` (re-exported by :mod:`minifcn.nn`), as
PyTorch's: the same arguments and defaults, the same reprs. ``inplace`` is taken where
PyTorch's layer has it and changes nothing: the result is a new array, as ``nn.ReLU``'s.

>>> import numpy as np
>>> from minifcn import Tensor
>>> ELU(alpha=0.5), GELU("tanh"), Hardtanh(-2.0, 2.0, inplace=True), PReLU(3)
(ELU(alpha=0.5), GELU(approximate='tanh'), Hardtanh(min_val=-2.0, max_val=2.0, inplace=True), PReLU(num_parameters=3))
>>> ReLU6()(Tensor(np.array([-1.0, 8.0]))).numpy()
array([0., 6.])
"""
from __future__ import annotations

import operator

import numpy as np

from . import activations as A
from . import functional as F
from . import init
from .module import Module, Parameter


class _Activation(Module):
    """A layer with PyTorch's ``inplace`` flag (taken, changing nothing), shown in the repr as
    ``inplace=True`` when set, as most of PyTorch's layers show it."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = F._flag(type(self).__name__, "inplace", inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class _Alpha(_Activation):
    """ELU's and CELU's ``alpha`` and ``inplace`` (siblings, as PyTorch's: a CELU is no ELU)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        A._number(type(self).__name__, "alpha", alpha)
        self.alpha = alpha

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class ELU(_Alpha):
    """:func:`F.elu <minifcn.functional.elu>` as a layer: ``x`` above 0, else
    ``alpha * (exp(x) - 1)``; any shape."""

    def forward(self, x):
        return A.elu(x, self.alpha)


class CELU(_Alpha):
    """:func:`F.celu <minifcn.functional.celu>` as a layer: ``x`` above 0, else
    ``alpha * (exp(x / alpha) - 1)``; any shape. ``alpha`` 0 is refused here already (PyTorch's
    layer refuses it when called)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha, inplace)
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0 (it divides x), got 0")

    def forward(self, x):
        return A.celu(x, self.alpha)


class SELU(_Activation):
    """:func:`F.selu <minifcn.functional.selu>` as a layer: ``1.0507 * elu(x, 1.6733)``."""

    def forward(self, x):
        return A.selu(x)


class GELU(Module):
    """:func:`F.gelu <minifcn.functional.gelu>` as a layer: ``x * Phi(x)``, or its tanh form
    with ``approximate="tanh"``; any shape."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = A._check_approximate("GELU", approximate)

    def forward(self, x):
        return A.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_Activation):
    """:func:`F.silu <minifcn.functional.silu>` as a layer: ``x * sigmoid(x)``."""

    def forward(self, x):
        return A.silu(x)


class Mish(_Activation):
    """:func:`F.mish <minifcn.functional.mish>` as a layer: ``x * tanh(softplus(x))``."""

    def forward(self, x):
        return A.mish(x)


class Softplus(Module):
    """:func:`F.softplus <minifcn.functional.softplus>` as a layer:
    ``log(1 + exp(beta x)) / beta``, ``x`` where ``beta x > threshold``; any shape."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        A._number("Softplus", "threshold", threshold)
        if A._number("Softplus", "beta", beta) == 0:
            raise ValueError("Softplus: beta must not be 0 (it divides the result), got 0")
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return A.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(_Activation):
    """:func:`F.hardtanh <minifcn.functional.hardtanh>` as a layer: ``x`` clipped to
    ``[min_val, max_val]``, which must have ``max_val > min_val`` (as PyTorch's layer; the
    function takes equal bounds)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        lo, hi = A._number("Hardtanh", "min_val", min_val), A._number("Hardtanh", "max_val", max_val)
        if not hi > lo:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return A.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """:func:`F.relu6 <minifcn.functional.relu6>` as a layer: ``min(max(x, 0), 6)``, a
    :class:`Hardtanh` on [0, 6] as PyTorch's."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Threshold(_Activation):
    """:func:`F.threshold <minifcn.functional.threshold>` as a layer: ``x`` above
    ``threshold``, else ``value`` (both required, as PyTorch's)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(inplace)
        A._number("Threshold", "threshold", threshold)
        A._number("Threshold", "value", value)
        self.threshold, self.value = threshold, value

    def forward(self, x):
        return A.threshold(x, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class RReLU(_Activation):
    """:func:`F.rrelu <minifcn.functional.rrelu>` as a layer: ``x`` above 0, else ``r x``,
    ``r`` drawn uniform in ``[lower, upper)`` for each value in training mode (from the
    generator :func:`minifcn.manual_seed` seeds), ``(lower + upper) / 2`` in eval mode.

    >>> import numpy as np
    >>> RReLU(0.1, 0.3).eval()(np.array([-1.0, 2.0])).numpy()
    array([-0.2,  2. ])
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__(inplace)
        if A._number("RReLU", "lower", lower) > A._number("RReLU", "upper", upper):
            raise ValueError(f"RReLU: lower ({lower}) must not be greater than upper ({upper})")
        self.lower, self.upper = lower, upper

    def forward(self, x):
        return A.rrelu(x, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class _QuietInplace(_Activation):
    """An ``inplace`` flag the repr leaves out, as PyTorch's Hardsigmoid and Hardswish do."""

    def extra_repr(self):
        return ""


class Hardsigmoid(_QuietInplace):
    """:func:`F.hardsigmoid <minifcn.functional.hardsigmoid>` as a layer:
    ``min(max(x + 3, 0), 6) / 6``. Its repr leaves ``inplace`` out, as PyTorch's."""

    def forward(self, x):
        return A.hardsigmoid(x)


class Hardswish(_QuietInplace):
    """:func:`F.hardswish <minifcn.functional.hardswish>` as a layer:
    ``x * min(max(x + 3, 0), 6) / 6``. Its repr leaves ``inplace`` out, as PyTorch's."""

    def forward(self, x):
        return A.hardswish(x)


class LogSigmoid(Module):
    """:func:`F.logsigmoid <minifcn.functional.logsigmoid>` as a layer:
    ``log(sigmoid(x))``."""

    def forward(self, x):
        return A.logsigmoid(x)


class Softsign(Module):
    """:func:`F.softsign <minifcn.functional.softsign>` as a layer: ``x / (1 + |x|)``."""

    def forward(self, x):
        return A.softsign(x)


class GLU(Module):
    """:func:`F.glu <minifcn.functional.glu>` as a layer: the input's two halves along
    ``dim``, ``a * sigmoid(b)``; that dim (of even size) halved.

    >>> import numpy as np
    >>> GLU(dim=1)(np.zeros((2, 6, 3))).shape
    (2, 3, 3)
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        # an int or an integer-like (np.int64, through operator.index), as F.glu takes; no bool
        if isinstance(dim, (bool, np.bool_)) or not hasattr(type(dim), "__index__"):
            raise TypeError(f"GLU: dim must be an int, got {dim!r}")
        self.dim = operator.index(dim)

    def forward(self, x):
        return A.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class _Lambd(Module):
    """The shrinks' ``lambd`` (siblings, as PyTorch's: a Softshrink is no Hardshrink)."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        A._number(type(self).__name__, "lambd", lambd)
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Lambd):
    """:func:`F.hardshrink <minifcn.functional.hardshrink>` as a layer: ``x`` where
    ``|x| > lambd``, else 0."""

    def forward(self, x):
        return A.hardshrink(x, self.lambd)


class Softshrink(_Lambd):
    """:func:`F.softshrink <minifcn.functional.softshrink>` as a layer: ``x`` moved
    ``lambd`` towards 0, 0 on [-lambd, lambd]. A negative ``lambd`` is refused here already
    (PyTorch's layer refuses it when called)."""

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd)
        if not lambd >= 0:
            raise ValueError(f"Softshrink: lambd must be >= 0, got {lambd!r}")

    def forward(self, x):
        return A.softshrink(x, self.lambd)


class Tanhshrink(Module):
    """:func:`F.tanhshrink <minifcn.functional.tanhshrink>` as a layer: ``x - tanh(x)``."""

    def forward(self, x):
        return A.tanhshrink(x)


class PReLU(Module):
    """:func:`F.prelu <minifcn.functional.prelu>` as a layer: ``x`` above 0, else
    ``weight * x``, with ``weight`` a Parameter of ``num_parameters`` values (1: one for all
    channels, or the number of channels, dim 1 of the input), each ``init`` at the start;
    float32 on the default device, as every layer's.

    >>> import numpy as np
    >>> m = PReLU(2, init=0.5)
    >>> m(np.array([[-2.0, -2.0]], np.float32)).numpy()
    array([[-1., -1.]], dtype=float32)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        # PyTorch's takes 0 and fails when called: refused here
        self.num_parameters = F.check_count("PReLU", "num_parameters", num_parameters)
        self.init = A._number("PReLU", "init", init)
        self.weight = Parameter(_full((self.num_parameters,), self.init))

    def reset_parameters(self):
        """Every weight back to ``init``, in place, as PyTorch's."""
        self.weight.data[...] = self.init

    def forward(self, x):
        return A.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


def _full(shape, value):
    """float32 ``value`` everywhere, on the default device (minifcn.init's placement)."""
    w = init.ones(shape)
    w[...] = value
    return w
