"""Activation functions beyond ReLU, as PyTorch's: ELU, CELU, SELU, GELU, SiLU, Mish, Softplus,
ReLU6, Hardtanh, Hardsigmoid, Hardswish, LogSigmoid, Softsign and PReLU.

Each is an autograd :class:`~minifcn.Function` on arrays and a functional wrapper with
PyTorch's name and arguments, reached as ``minifcn.functional.<name>`` (``F.elu`` ...); the
layers are in :mod:`minifcn.nn`. All are elementwise on any shape (PReLU's weight is
broadcast over dim 1), take float32 or float64 and compute in that dtype.

Three rules run through them:

* **No overflow.** ``exp`` is only ever taken of a number <= 0 (``exp(-|x|)``, ``expm1(min(x,
  0))``) and powers of ``x`` only of a clipped copy where the function has saturated to
  rounding, so ``|x|`` up to the dtype's largest value gives no NumPy warning, and finite
  results wherever the function's value is finite (SELU's ``1.0507 x`` is not, near the top).
* **PyTorch's kinks.** At the points where a piece ends (ELU's 0, Hardtanh's bounds,
  Hardswish's -3 and 3, Softplus's threshold ...) the value and the gradient are the ones
  PyTorch's kernels give, comparison for comparison (``x <= 0`` or ``x < 0``); each function's
  docstring says which.
* **One code path.** Everything is written with ``xp = get_array_module(x)``: NumPy has no
  ``erf``, so GELU's is written here (:func:`_erf`, :func:`_normal_cdf`).

>>> import minifcn.functional as F
>>> F.relu6([-1.0, 3.0, 7.0]).numpy()
array([0., 3., 6.], dtype=float32)
"""
from __future__ import annotations

import math
import numbers

from .autograd import Function, as_tensor
from .backend import get_array_module
# functional.py imports this module after defining these two, and importing minifcn imports
# functional first, so the cycle is safe: the checks are the ones every other op of F uses
from .functional import _check_float, _flag
from .ops import _sigmoid

__all__ = ["elu", "celu", "selu", "gelu", "silu", "mish", "softplus", "relu6", "hardtanh",
           "hardsigmoid", "hardswish", "logsigmoid", "softsign", "prelu"]


# --------------------------------------------------------------------- argument checks
def _number(op, name, v) -> float:
    """A real number as a float (a bool is refused: ``alpha=True`` is a slip, not 1.0)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {v!r}")
    return float(v)


def _input(op, x):
    """``x`` as a Tensor of float32 or float64. PyTorch's kernels refuse integers for most of
    these; hardtanh, relu6 and softsign take them there, not here."""
    x = as_tensor(x)
    _check_float(op, x)
    return x


# --------------------------------------------------------------------- erf, written here
# W. J. Cody's rational approximations, "Rational Chebyshev approximations for the error
# function", Math. Comp. 23 (1969) 631-638, as in his netlib SPECFUN routine CALERF: erf on
# |x| <= 0.46875, erfc on (0.46875, 4] and beyond 4, each to at least 18 significant digits in
# exact arithmetic, so float64 rounding is the only error left (3 ulp for erf, 7 for erfc,
# measured against math.erf in tests/test_activations.py). NumPy has no erf (CuPy's is in
# cupyx.scipy.special, SciPy's on the host): written here, the one code runs on both.
# math.erf through np.vectorize would run on the host only, one Python call per value, and it
# is slower there too: 124 ms on a million float64 values against 83 for these ~60 array
# passes (one core).
_ERF_A = (3.16112374387056560, 1.13864154151050156e2, 3.77485237685302021e2,
          3.20937758913846947e3, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
          2.84423683343917062e3)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594, 6.61191906371416295e1,
           2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3,
           2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
           1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
           3.43936767414372164e3, 1.23033935480374942e3)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242, 1.87295284992346047, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_SMALL = 0.46875   # Cody's first breakpoint


def _erf_small(x):
    """erf(x) for |x| <= 0.46875 (x clipped there: the value beyond is not erf, only finite):
    ``x P(x^2) / Q(x^2)``."""
    xp = get_array_module(x)
    x = xp.clip(x, -_ERF_SMALL, _ERF_SMALL)
    z = x * x
    num, den = _ERF_A[4] * z, z
    for a, b in zip(_ERF_A[:3], _ERF_B[:3]):
        num, den = (num + a) * z, (den + b) * z
    return x * (num + _ERF_A[3]) / (den + _ERF_B[3])


def _erfc_tail(y):
    """erfc(y) for y >= 0.46875 (y clipped to [0.46875, 27]: below, the value is not erfc;
    above, erfc is exactly 0 (exp(-784) rounds to 0), and 1 / y^2 stays finite): ``exp(-y^2) R(y)``."""
    xp = get_array_module(y)
    y = xp.clip(y, _ERF_SMALL, 28.0)
    mid = xp.minimum(y, 4.0)                 # (0.46875, 4]: R = P(y) / Q(y)
    num, den = _ERFC_C[8] * mid, mid
    for c, d in zip(_ERFC_C[:7], _ERFC_D[:7]):
        num, den = (num + c) * mid, (den + d) * mid
    r_mid = (num + _ERFC_C[7]) / (den + _ERFC_D[7])
    far = xp.maximum(y, 4.0)                 # beyond 4: R = (1/sqrt(pi) - P(z)/Q(z) z) / y, z = 1/y^2
    z = 1 / (far * far)
    num, den = _ERFC_P[5] * z, z
    for p, q in zip(_ERFC_P[:4], _ERFC_Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    r_far = (1 / math.sqrt(math.pi) - z * (num + _ERFC_P[4]) / (den + _ERFC_Q[4])) / far
    # exp(-y^2) as exp(-s^2) exp(-(y - s)(y + s)), s = y cut to sixteenths (exact): y^2's own
    # rounding error, times y^2 up to 729, would cost 10 bits
    s = xp.floor(y * 16) / 16
    return xp.exp(-s * s) * xp.exp(-(y - s) * (y + s)) * xp.where(y <= 4.0, r_mid, r_far)


def _erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt`` of an array, elementwise,
    in its dtype, by Cody's rational approximations (see above).

    >>> import numpy as np
    >>> _erf(np.array([0.0, 0.5, -3.0]))
    array([ 0.        ,  0.52049988, -0.99997791])
    """
    xp = get_array_module(x)
    y = abs(x)
    big = 0.5 - _erfc_tail(y) + 0.5       # 1 - erfc, rounded as Cody's
    return xp.where(y <= _ERF_SMALL, _erf_small(x), xp.where(x < 0, -big, big))


def _normal_cdf(x):
    """``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` of an array, written as ``erfc(-x / sqrt 2) / 2``
    below the middle so that the left tail keeps its digits (``1 + erf`` cancels them all:
    at x = -10 it gives 0 for Phi's 7.6e-24)."""
    xp = get_array_module(x)
    u = x * (1 / math.sqrt(2))
    tail = 0.5 * _erfc_tail(abs(u))        # Phi(-|x|)
    return xp.where(abs(u) <= _ERF_SMALL, 0.5 + 0.5 * _erf_small(u), xp.where(u < 0, tail, 1 - tail))


def _softplus(z):
    """``log(1 + exp(z))`` of an array, without overflow: ``max(z, 0) + log1p(exp(-|z|))``."""
    xp = get_array_module(z)
    return xp.maximum(z, 0) + xp.log1p(xp.exp(-abs(z)))


# --------------------------------------------------------------------- exponential units
class ELU(Function):
    """PyTorch's ``elu(x, alpha, scale, input_scale)``: ``scale * x`` for ``x > 0``, else
    ``scale * alpha * (exp(input_scale * x) - 1)``; ELU, CELU and SELU are all this one. The
    gradient at 0 is the lower piece's (``scale * alpha * input_scale``), as PyTorch's."""

    def __init__(self, alpha, scale=1.0, input_scale=1.0):
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale

    def forward(self, x):
        xp = get_array_module(x)
        self.lower = x <= 0
        # the exponent of the lower piece, from x <= 0 only (no exp of a large x), and not
        # below -800 (exp is 0 to float64 from -746 on) so that input_scale * x cannot overflow
        self.z = xp.clip(x, -800 / abs(self.input_scale), 0) * self.input_scale
        # expm1 keeps the digits near 0 that exp - 1 cancels
        return xp.where(self.lower, xp.expm1(self.z) * (self.alpha * self.scale), x * self.scale)

    def backward(self, gy):
        xp = get_array_module(gy)
        slope = xp.exp(self.z) * (self.alpha * self.scale * self.input_scale)
        return xp.where(self.lower, gy * slope, gy * self.scale)


def elu(input, alpha=1.0, inplace=False):
    """The exponential linear unit: ``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``,
    elementwise, any shape (Clevert et al. 2016). The gradient at 0 is ``alpha``, the lower
    piece's, as PyTorch's. ``inplace`` is taken for PyTorch's code and changes nothing: the
    result is a new array.

    >>> elu([-1.0, 0.0, 2.0]).numpy()
    array([-0.63212055,  0.        ,  2.        ], dtype=float32)
    """
    _flag("elu", "inplace", inplace)
    alpha = _number("elu", "alpha", alpha)
    return ELU(alpha)(_input("elu", input))


def celu(input, alpha=1.0, inplace=False):
    """The continuously differentiable ELU: ``x`` for ``x > 0``, else
    ``alpha * (exp(x / alpha) - 1)``, elementwise, any shape (Barron 2017); its gradient is 1
    at 0 for every ``alpha``. ``alpha`` 0 is refused, as PyTorch's. ``inplace`` changes nothing.

    >>> celu([-2.0, 0.0, 2.0], alpha=2.0).numpy()
    array([-1.2642411,  0.       ,  2.       ], dtype=float32)
    """
    _flag("celu", "inplace", inplace)
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x), got 0")
    # 1 / alpha then a product, as PyTorch's input_scale: x / alpha rounds differently
    return ELU(alpha, input_scale=1 / alpha)(_input("celu", input))


# Klambauer et al. 2017's constants, with PyTorch's digits
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """The scaled ELU of self-normalising networks: ``scale * elu(x, alpha)`` with
    ``alpha = 1.6733`` and ``scale = 1.0507`` (Klambauer et al. 2017), elementwise, any shape;
    the gradient at 0 is ``scale * alpha``, as PyTorch's. ``inplace`` changes nothing.

    >>> selu([0.0, 1.0]).numpy()
    array([0.      , 1.050701], dtype=float32)
    """
    _flag("selu", "inplace", inplace)
    return ELU(SELU_ALPHA, scale=SELU_SCALE)(_input("selu", input))


# --------------------------------------------------------------------- smooth gates
_GELU_K = math.sqrt(2 / math.pi)   # the tanh form's sqrt(2/pi) and cubic coefficient
_GELU_C = 0.044715


class GELU(Function):
    """``x * Phi(x)`` (Phi the standard normal CDF, :func:`_normal_cdf`), or its tanh form;
    the gradients ``Phi(x) + x phi(x)`` and the tanh form's, written as PyTorch's kernel."""

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        if self.approximate == "tanh":
            # beyond |x| = 10 the tanh is +-1 to rounding (its argument passes 43): clipping
            # there changes nothing but keeps x^3 finite for any float
            xc = xp.clip(x, -10, 10)
            self.t = xp.tanh(_GELU_K * (xc + _GELU_C * xc * xc * xc))
            return 0.5 * x * (1 + self.t)
        self.cdf = _normal_cdf(x)
        return x * self.cdf

    def backward(self, gy):
        xp = get_array_module(gy)
        # phi(x) is 0 to float64 beyond |x| = 40 (exp(-800)): the clip keeps x^2 finite
        xc = xp.clip(self.x, -40, 40)
        if self.approximate == "tanh":
            t = self.t
            inner = _GELU_K * (1 + 3 * _GELU_C * xc * xc)
            return gy * (0.5 * (1 + t) + 0.5 * xc * (1 - t * t) * inner)
        pdf = xp.exp(-0.5 * xc * xc) * (1 / math.sqrt(2 * math.pi))
        return gy * (self.cdf + xc * pdf)


GELU_APPROXIMATIONS = ("none", "tanh")


def _check_approximate(op, approximate):
    if approximate not in GELU_APPROXIMATIONS:
        raise ValueError(f"{op}: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def gelu(input, approximate="none"):
    """The Gaussian error linear unit ``x * Phi(x)``, Phi the standard normal CDF (Hendrycks
    and Gimpel 2016), elementwise, any shape; ``approximate="tanh"`` takes
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` instead, as PyTorch's.

    ``Phi(x) = erfc(-x / sqrt 2) / 2`` is computed here, in the input's dtype, by W. J. Cody's
    rational approximations of erf and erfc (1969, to float64 rounding: NumPy has none); in the
    far left tail it keeps digits that PyTorch's ``(1 + erf(x / sqrt 2)) / 2`` rounds to 0
    (below 1e-16 of |x|). The tanh form's gradient stays finite for any ``|x|`` (PyTorch's is
    NaN past ``|x|^2`` overflowing: 1.8e19 in float32).

    >>> gelu([0.0, 1.0]).numpy()
    array([0.       , 0.8413447], dtype=float32)
    """
    return GELU(_check_approximate("gelu", approximate))(_input("gelu", input))


class SiLU(Function):
    """``x * sigmoid(x)``; the gradient ``s (1 + x (1 - s))`` (s the sigmoid)."""

    def forward(self, x):
        self.x, self.s = x, _sigmoid(x)
        return x * self.s

    def backward(self, gy):
        return gy * self.s * (1 + self.x * (1 - self.s))


def silu(input, inplace=False):
    """The sigmoid linear unit (swish) ``x * sigmoid(x)``, elementwise, any shape; the sigmoid
    without overflow (``ops._sigmoid``). ``inplace`` changes nothing.

    >>> silu([0.0, 100.0]).numpy()
    array([  0., 100.], dtype=float32)
    """
    _flag("silu", "inplace", inplace)
    return SiLU()(_input("silu", input))


class Mish(Function):
    """``x * tanh(softplus(x))``; the gradient ``t + x sigmoid(x) (1 - t^2)``, t that tanh."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x, self.t = x, xp.tanh(_softplus(x))
        return x * self.t

    def backward(self, gy):
        x, t = self.x, self.t
        return gy * (t + x * _sigmoid(x) * (1 - t * t))


def mish(input, inplace=False):
    """Mish, ``x * tanh(softplus(x))`` (Misra 2019), elementwise, any shape, without
    overflow for large ``|x|``. ``inplace`` changes nothing.

    >>> mish([0.0, 100.0]).numpy()
    array([  0., 100.], dtype=float32)
    """
    _flag("mish", "inplace", inplace)
    return Mish()(_input("mish", input))


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, ``x`` itself where ``beta x > threshold``; the gradient
    ``sigmoid(beta x)``, 1 on the linear piece."""

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = get_array_module(x)
        # beyond half the dtype's largest value over |beta|, beta x is past any threshold (or
        # softplus 0 on the other side) either way: the clip keeps the product finite
        limit = xp.finfo(x.dtype).max / 2 / max(abs(self.beta), 1)
        z = xp.clip(x, -limit, limit) * self.beta
        self.z, self.linear = z, z > self.threshold
        return xp.where(self.linear, x, _softplus(z) / self.beta)

    def backward(self, gy):
        return get_array_module(gy).where(self.linear, gy, gy * _sigmoid(self.z))


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, a smooth ReLU, elementwise, any shape; where
    ``beta * x > threshold`` it is ``x`` (PyTorch's switch, strictly above: at the threshold
    itself the smooth piece). Written without overflow for any ``threshold``. ``beta`` 0 is
    refused (PyTorch's gives inf).

    >>> softplus([0.0, 30.0]).numpy()
    array([ 0.6931472, 30.       ], dtype=float32)
    """
    beta = _number("softplus", "beta", beta)
    threshold = _number("softplus", "threshold", threshold)
    if beta == 0:
        raise ValueError("softplus: beta must not be 0 (it divides the result), got 0")
    return Softplus(beta, threshold)(_input("softplus", input))


class LogSigmoid(Function):
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``; the gradient ``sigmoid(-x)``."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-abs(x)))

    def backward(self, gy):
        return gy * _sigmoid(-self.x)


def logsigmoid(input):
    """``log(1 / (1 + exp(-x)))``, elementwise, any shape, without overflow: about ``x`` far
    below 0, about ``-exp(-x)`` far above.

    >>> logsigmoid([-100.0, 0.0]).numpy()
    array([-100.       ,   -0.6931472], dtype=float32)
    """
    return LogSigmoid()(_input("logsigmoid", input))


class Softsign(Function):
    """``x / (1 + |x|)``; the gradient ``1 / (1 + |x|)^2``, divided twice so that the square
    cannot overflow."""

    def forward(self, x):
        self.d = 1 + abs(x)
        return x / self.d

    def backward(self, gy):
        return gy / self.d / self.d


def softsign(input):
    """``x / (1 + |x|)``, elementwise, any shape.

    >>> softsign([-1.0, 3.0]).numpy()
    array([-0.5 ,  0.75], dtype=float32)
    """
    return Softsign()(_input("softsign", input))


# --------------------------------------------------------------------- piecewise linear
class Hardtanh(Function):
    """``x`` clipped to [lo, hi]; the gradient passes strictly inside, 0 at the bounds and
    beyond (and passes at NaN), as PyTorch's ``hardtanh_backward``."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.outside = (x <= self.lo) | (x >= self.hi)   # a bool mask: all the backward needs
        return get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        return get_array_module(gy).where(self.outside, 0, gy).astype(gy.dtype, copy=False)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``x`` clipped to ``[min_val, max_val]``, elementwise, any shape; the gradient is 1
    strictly inside, 0 at either bound, as PyTorch's. ``min_val > max_val`` is refused (equal
    bounds give a constant). ``inplace`` changes nothing.

    >>> hardtanh([-2.0, 0.5, 2.0]).numpy()
    array([-1. ,  0.5,  1. ], dtype=float32)
    """
    _flag("hardtanh", "inplace", inplace)
    lo, hi = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")
    return Hardtanh(lo, hi)(_input("hardtanh", input))


def relu6(input, inplace=False):
    """``min(max(x, 0), 6)``, elementwise, any shape: :func:`hardtanh` on [0, 6], as
    PyTorch's, so the gradient is 0 at 0 and at 6. ``inplace`` changes nothing.

    >>> relu6([-1.0, 6.0, 7.0]).numpy()
    array([0., 6., 6.], dtype=float32)
    """
    _flag("relu6", "inplace", inplace)
    return Hardtanh(0.0, 6.0)(_input("relu6", input))


class Hardsigmoid(Function):
    """``min(max(x + 3, 0), 6) / 6``; the gradient 1/6 strictly inside (-3, 3), else 0."""

    def forward(self, x):
        xp = get_array_module(x)
        self.inside = (x > -3) & (x < 3)
        return xp.clip(x + 3, 0, 6) / 6

    def backward(self, gy):
        return get_array_module(gy).where(self.inside, gy / 6, 0).astype(gy.dtype, copy=False)


def hardsigmoid(input, inplace=False):
    """A piecewise linear sigmoid: 0 up to -3, ``x / 6 + 1/2`` between, 1 from 3 on,
    elementwise, any shape (computed as PyTorch's, ``min(max(x + 3, 0), 6) / 6``); the gradient
    is 0 at -3 and 3. ``inplace`` changes nothing.

    >>> hardsigmoid([-4.0, 0.0, 1.5]).numpy()
    array([0.  , 0.5 , 0.75], dtype=float32)
    """
    _flag("hardsigmoid", "inplace", inplace)
    return Hardsigmoid()(_input("hardsigmoid", input))


class Hardswish(Function):
    """``x * min(max(x + 3, 0), 6) / 6``; the gradient 0 up to -3 (at -3 too), ``x/3 + 1/2``
    on (-3, 3), 1 from 3 on, as PyTorch's ``hardswish_backward``."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        # PyTorch's x * min(max(x + 3, 0), 6) / 6, on x clipped to [-3, 3] (the same there,
        # -0 below) and x itself from 3 on: x * 6 overflows past a sixth of the largest float
        xc = xp.clip(x, -3, 3)
        return xp.where(x >= 3, x, xc * (xc + 3) / 6)

    def backward(self, gy):
        xp, x = get_array_module(gy), self.x
        return xp.where(x <= -3, 0, xp.where(x < 3, gy * (x / 3 + 0.5), gy)).astype(gy.dtype, copy=False)


def hardswish(input, inplace=False):
    """``x * hardsigmoid(x)`` (Howard et al. 2019, MobileNetV3), elementwise, any shape: 0 up
    to -3, ``x (x + 3) / 6`` between, ``x`` from 3 on. Its gradient at -3 is 0 and at 3 is 1,
    as PyTorch's. ``inplace`` changes nothing.

    >>> hardswish([-4.0, 0.0, 3.0]).numpy()
    array([-0.,  0.,  3.], dtype=float32)
    """
    _flag("hardswish", "inplace", inplace)
    return Hardswish()(_input("hardswish", input))


class PReLU(Function):
    """``x`` for ``x > 0``, else ``w x``, with ``w`` (one value, or one per channel of dim 1)
    learned; the weight's gradient sums ``x gy`` over the non-positive ``x`` of its channel."""

    def forward(self, x, w):
        xp = get_array_module(x)
        # one weight per channel of dim 1: (c,) -> (c, 1, ..., 1) against x's trailing axes
        self.wb = w.reshape(w.shape + (1,) * (x.ndim - 2)) if w.size > 1 else w.reshape(())
        self.x, self.w_shape = x, w.shape
        self.positive = x > 0
        return xp.where(self.positive, x, self.wb * x)

    def backward(self, gy):
        xp, x = get_array_module(gy), self.x
        gx = xp.where(self.positive, gy, self.wb * gy)
        gw = xp.where(self.positive, 0, x * gy)
        # summed over every axis but the channels' (over all of them for one shared weight)
        axes = tuple(a for a in range(x.ndim) if a != 1 or self.wb.ndim == 0)
        return gx, gw.sum(axis=axes).reshape(self.w_shape).astype(gy.dtype, copy=False)


def prelu(input, weight):
    """The parametric ReLU: ``x`` for ``x > 0``, else ``weight * x`` (He et al. 2015),
    elementwise. ``weight`` is one value (shape () or (1,)) or one per channel, (c,), broadcast
    over dim 1 of ``input`` (n, c, *) (an input of fewer than 2 dims has one channel), of the
    input's dtype; both get gradients. At 0 the gradient is the weight's piece, as PyTorch's.

    >>> import numpy as np
    >>> prelu(np.array([[-2.0, -2.0, 3.0]]), np.array([0.5, 0.25, 0.5])).numpy()   # 3 channels
    array([[-1. , -0.5,  3. ]])
    """
    x = _input("prelu", input)
    w = as_tensor(weight, like=x)
    _check_float("prelu", w, "weight")
    if w.dtype != x.dtype:
        raise TypeError(f"prelu: weight must have the input's dtype {x.dtype}, got {w.dtype}")
    if w.ndim > 1:
        raise ValueError(f"prelu: weight must be a number or 1-D, got shape {tuple(w.shape)}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.size not in (1, channels):
        raise ValueError(f"prelu: weight must have 1 or {channels} values (one per channel of dim 1 "
                         f"of the input {tuple(x.shape)}), got {w.size}")
    return PReLU()(x, w)
