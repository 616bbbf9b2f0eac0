"""Activation functions beyond ReLU, as PyTorch's: ELU, CELU, SELU, GELU, SiLU, Mish, Softplus,
GLU, ReLU6, Hardtanh, Hardsigmoid, Hardswish, LogSigmoid, Softsign, PReLU, RReLU, Threshold and
the shrinks (Hardshrink, Softshrink, Tanhshrink).

Each is an autograd :class:`~minifcn.Function` on arrays and a functional wrapper with
PyTorch's name and arguments, reached as ``minifcn.functional.<name>`` (``F.elu`` ...); the
layers are in :mod:`minifcn.nn`. All are elementwise on any shape (PReLU's weight is
broadcast over dim 1; GLU halves one dim), take float32 or float64 and compute in that dtype.

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

from . import backend
from .autograd import Function, as_tensor
from .backend import get_array_module
# functional.py imports this module after defining these two, and importing minifcn imports
# functional first, so the cycle is safe: the checks are the ones every other op of F uses
from .functional import _check_float, _flag
from .ops import _sigmoid

__all__ = ["elu", "celu", "selu", "gelu", "silu", "mish", "softplus", "relu6", "hardtanh",
           "hardsigmoid", "hardswish", "logsigmoid", "softsign", "prelu", "glu", "hardshrink",
           "softshrink", "tanhshrink", "threshold", "rrelu"]


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
    """erfc(y) for y >= 0.46875 (y clipped to [0.46875, 28]: below, the value is not erfc;
    above, erfc is 0 in float64 (exp(-784) rounds to 0; erfc(27) is still 5e-319, a subnormal),
    and 1 / y^2 stays finite): ``exp(-y^2) R(y)``."""
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
        # the clip keeps beta x finite; beyond it softplus(beta x) / beta is x itself where
        # beta x > 0 (its log1p(exp(-|beta x|)) rounds away) and 0 where beta x < 0, so the
        # clipped values count as linear on the positive side even past an infinite threshold
        limit = xp.finfo(x.dtype).max / 2 / max(abs(self.beta), 1)
        z = xp.clip(x, -limit, limit) * self.beta
        self.z = z
        self.linear = (z > self.threshold) | ((xp.abs(x) > limit) & (z > 0))
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


class GLU(Function):
    """``a * sigmoid(b)``, ``a`` and ``b`` the two halves of x along ``dim``; the gradients
    ``gy sigmoid(b)`` for ``a`` and ``gy a s (1 - s)`` for ``b``, put back side by side."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = get_array_module(x)
        a, b = xp.split(x, 2, axis=self.dim)
        self.a, self.s = a, _sigmoid(b)
        return a * self.s

    def backward(self, gy):
        xp, s = get_array_module(gy), self.s
        return xp.concatenate([gy * s, gy * self.a * s * (1 - s)], axis=self.dim)


def glu(input, dim=-1):
    """The gated linear unit (Dauphin et al. 2017): x split in two halves ``a``, ``b`` along
    ``dim``, then ``a * sigmoid(b)``; that dim's size (even) is halved, as PyTorch's.

    >>> glu([[1.0, 2.0, 0.0, 100.0]]).numpy()    # a = [1, 2], b = [0, 100]
    array([[0.5, 2. ]], dtype=float32)
    """
    x = _input("glu", input)
    if x.ndim == 0:
        raise ValueError("glu: input must have at least one dimension to halve, got a 0-d input")
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -x.ndim <= dim < x.ndim:
        raise ValueError(f"glu: dim must be an int in [{-x.ndim}, {x.ndim}) for an input of shape "
                         f"{tuple(x.shape)}, got {dim!r}")
    if x.shape[dim] % 2:
        raise ValueError(f"glu: the halved dim {dim} of the input {tuple(x.shape)} must have an even "
                         f"size, got {x.shape[dim]}")
    return GLU(int(dim) % x.ndim)(x)


# --------------------------------------------------------------------- shrinks
class Shrink(Function):
    """Hardshrink (``soft`` False) and softshrink: 0 on the closed interval [-lambd, lambd];
    outside, ``x`` itself (hard) or ``x`` moved by ``lambd`` towards 0 (soft); NaN stays NaN.
    The gradient is 1 where ``|x| > lambd``, else 0: on the interval, its ends, and at NaN, as
    PyTorch's vectorised kernels (their scalar loop, which only a tensor's last few values
    take, passes the gradient at NaN: we follow the kernel nearly every value meets)."""

    def __init__(self, lambd, soft):
        self.lambd, self.soft = lambd, soft

    def forward(self, x):
        xp = get_array_module(x)
        self.outside = abs(x) > self.lambd   # a bool mask: all the backward needs
        if self.soft:   # x - lambd above, x + lambd below, x - x = 0 inside, NaN stays NaN
            return x - xp.clip(x, -self.lambd, self.lambd)
        inside = (x >= -self.lambd) & (x <= self.lambd)   # False at NaN, which passes
        return xp.where(inside, 0, x).astype(x.dtype, copy=False)

    def backward(self, gy):
        return get_array_module(gy).where(self.outside, gy, 0).astype(gy.dtype, copy=False)


def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0, elementwise, any shape; at ``+-lambd`` the value
    and the gradient are 0, as PyTorch's. A negative ``lambd`` leaves x as it is (PyTorch's
    takes one too).

    >>> hardshrink([-1.0, 0.5, 0.7]).numpy()
    array([-1. ,  0. ,  0.7], dtype=float32)
    """
    return Shrink(_number("hardshrink", "lambd", lambd), soft=False)(_input("hardshrink", input))


def softshrink(input, lambd=0.5):
    """Soft thresholding: ``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0
    between, elementwise, any shape (the proximal map of ``lambd |x|``); the gradient is 0 at
    ``+-lambd``, as PyTorch's. ``lambd`` must be >= 0, as there.

    >>> softshrink([-1.0, 0.25, 2.0]).numpy()
    array([-0.5,  0. ,  1.5], dtype=float32)
    """
    lambd = _number("softshrink", "lambd", lambd)
    if not lambd >= 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd!r}")
    return Shrink(lambd, soft=True)(_input("softshrink", input))


class Tanhshrink(Function):
    """``x - tanh(x)``; the gradient ``1 - (1 - tanh^2) = tanh(x)^2``."""

    def forward(self, x):
        self.t = get_array_module(x).tanh(x)
        return x - self.t

    def backward(self, gy):
        return gy * self.t * self.t


def tanhshrink(input):
    """``x - tanh(x)``, elementwise, any shape: about ``x^3 / 3`` near 0, ``x -+ 1`` far out.

    >>> tanhshrink([0.0, 10.0]).numpy()
    array([0., 9.], dtype=float32)
    """
    return Tanhshrink()(_input("tanhshrink", input))


# --------------------------------------------------------------------- piecewise linear
class Hardtanh(Function):
    """``x`` clipped to [lo, hi]; the gradient passes strictly inside, 0 at the bounds and
    beyond, as PyTorch's ``hardtanh_backward``. At NaN it passes (PyTorch's is not consistent
    there: its vectorised loop gives 0 on tensors of some 64 values, its scalar tail passes)."""

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


class Threshold(Function):
    """``value`` where ``x <= threshold``, else ``x``; the gradient 0 there (at the threshold
    too) and passed elsewhere and at NaN, as PyTorch's ``threshold_backward``."""

    def __init__(self, threshold, value):
        self.threshold, self.value = threshold, value

    def forward(self, x):
        xp = get_array_module(x)
        self.below = x <= self.threshold   # a bool mask: all the backward needs
        return xp.where(self.below, self.value, x).astype(x.dtype, copy=False)

    def backward(self, gy):
        return get_array_module(gy).where(self.below, 0, gy).astype(gy.dtype, copy=False)


def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, else ``value``, elementwise, any shape (ReLU is
    ``threshold(x, 0, 0)``); the gradient is 0 at the threshold, as PyTorch's. Both are
    compared and written in the input's dtype. ``inplace`` changes nothing.

    >>> threshold([-1.0, 0.5, 2.0], 0.5, 9.0).numpy()
    array([9., 9., 2.], dtype=float32)
    """
    _flag("threshold", "inplace", inplace)
    t, v = _number("threshold", "threshold", threshold), _number("threshold", "value", value)
    x = _input("threshold", input)
    # the bounds as x's dtype, as PyTorch casts them (0.1 in float32 is not 0.1)
    dtype = x.dtype.type
    return Threshold(dtype(t), dtype(v))(x)


class RReLU(Function):
    """``x * slope``: the slope 1 for the positive values, else ``r``, drawn uniform in
    [lower, upper) for each value (training) or ``(lower + upper) / 2`` (eval); the gradient
    ``gy * slope``."""

    def __init__(self, lower, upper, training):
        self.lower, self.upper, self.training = lower, upper, training

    def forward(self, x):
        xp = get_array_module(x)
        if self.training:
            # PyTorch's draws for x <= 0 (NaN keeps slope 1): one draw a value, from the
            # generator minifcn.manual_seed seeds, as dropout's
            r = self.lower + (self.upper - self.lower) * backend.random_uniform(xp, x.shape, x.dtype)
            self.slope = xp.where(x <= 0, r, 1).astype(x.dtype, copy=False)
        else:   # leaky_relu's comparison, x > 0: NaN gets the slope
            self.slope = xp.where(x > 0, 1, (self.lower + self.upper) / 2).astype(x.dtype, copy=False)
        return x * self.slope

    def backward(self, gy):
        return gy * self.slope


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """The randomized leaky ReLU (Xu et al. 2015): ``x`` for ``x > 0``, else ``r x`` with
    ``r`` drawn uniform in ``[lower, upper)``, one draw a value, in training; in eval
    (``training=False``, the default as PyTorch's) ``r = (lower + upper) / 2``, a
    :func:`~minifcn.functional.leaky_relu`. The gradient is ``r`` below 0 (at 0 too). The draws
    come from the generator :func:`minifcn.manual_seed` seeds. ``lower > upper`` is refused, as
    PyTorch's. ``inplace`` changes nothing.

    >>> rrelu([-2.0, 3.0], 0.25, 0.75).numpy()          # eval: the slope 0.5
    array([-1.,  3.], dtype=float32)
    """
    _flag("rrelu", "inplace", inplace)
    training = _flag("rrelu", "training", training)
    lower, upper = _number("rrelu", "lower", lower), _number("rrelu", "upper", upper)
    if lower > upper:
        raise ValueError(f"rrelu: lower ({lower}) must not be greater than upper ({upper})")
    return RReLU(lower, upper, training)(_input("rrelu", input))


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
