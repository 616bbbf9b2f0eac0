"""Elementwise math as PyTorch's, on Tensors: the functions (``minifcn.log1p``, ``minifcn.atan2``,
``minifcn.remainder``, ...) behind the Tensor's methods of the same names.

* **Unary, on floats:** ``log1p``, ``expm1``, ``log2``, ``log10``, ``exp2``, ``sin``, ``cos``,
  ``tan``, ``asin``, ``acos``, ``atan``, ``sinh``, ``cosh``, ``asinh``, ``acosh``, ``atanh``,
  ``rsqrt``, ``reciprocal``, ``erf``, ``erfc``, ``erfinv``, ``logit``: one :class:`Pointwise`
  Function and a table of (value, derivative) pairs, the derivative written as PyTorch's
  ``derivatives.yaml`` writes it, so that the gradient at an edge (``log1p`` at -1, ``asin``
  at 1, ``rsqrt`` at 0) is PyTorch's, inf or NaN included. Integers and bools give float32.
* **Unary, in the input's dtype:** ``neg`` / ``negative``, ``square``, ``clamp_min``,
  ``clamp_max``, ``nan_to_num``; and ``isnan``, ``isinf``, ``isfinite`` (bool, outside the graph).
* **Two operands, broadcast** (a number or an array for either): ``pow``, ``atan2``,
  ``hypot``, ``logaddexp``, ``xlogy``, ``remainder``, ``fmod``, ``floor_divide``, ``add`` /
  ``sub`` (``alpha=``), ``mul``, ``div`` (``rounding_mode=``) / ``true_divide``; each
  gradient summed back over the axes its operand was broadcast along. Three: ``lerp``,
  ``addcmul``, ``addcdiv``.

The Tensor's operators ``**`` (a Tensor exponent too), ``2 ** t``, ``//`` and ``%`` are
``pow``, ``floor_divide`` and ``remainder``. Dtypes are PyTorch's (``_result_dtype``): a
Python float beside an integer tensor gives float32, an integer tensor beside a float one
takes its dtype, a 0-d tensor or a number widens a dimensioned tensor of its kind no further
(float32 with a float64 0-d tensor stays float32), true division of integers gives float32; a
NumPy array counts as a tensor, a NumPy scalar as a number. Domain edges give PyTorch's inf
and NaN with no NumPy warning (each Function computes under ``np.errstate`` where an edge can
be reached). Integer division, ``remainder`` and ``fmod`` by an integer zero (where the result
is an integer) raise ZeroDivisionError, as PyTorch's (NumPy's give 0 and a warning).

>>> import numpy as np
>>> from minifcn import Tensor
>>> x = Tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
>>> y = log1p(x)
>>> y.sum().backward()
>>> y.numpy(), x.grad
(array([      -inf, 0.        , 0.69314718]), array([inf, 1. , 0.5]))
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .activations import _ERF_SMALL, _erf, _erf_small, _erfc_tail
from .autograd import Function, Tensor, _as_array, as_tensor, sum_to
from .backend import get_array_module
from .ops import Add, Clamp, Div, Log, Mul, Neg, Pow, Sqrt, Sub, _check_floating, _floating, _operands

__all__ = ["log1p", "expm1", "log2", "log10", "exp2", "sin", "cos", "tan", "asin", "acos", "atan",
           "sinh", "cosh", "asinh", "acosh", "atanh", "rsqrt", "reciprocal", "erf", "erfc",
           "erfinv", "logit", "neg", "negative", "square", "pow", "clamp_min", "clamp_max",
           "nan_to_num", "isnan", "isinf", "isfinite", "atan2", "hypot", "logaddexp", "xlogy",
           "remainder", "fmod", "floor_divide", "add", "sub", "mul", "div", "true_divide",
           "lerp", "addcmul", "addcdiv"]

_LN2, _LN10 = math.log(2), math.log(10)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


# --------------------------------------------------------------------- erfc and erfinv
def _erfc(x):
    """``1 - erf(x)`` of an array, keeping its digits in the right tail (where ``1 - erf``
    cancels them all): ``1 - erf`` near 0, Cody's ``erfc`` (activations.py) beyond, and
    ``2 - erfc(-x)`` on the left.

    >>> _erfc(np.array([0.0, 1.0, 10.0]))
    array([1.00000000e+00, 1.57299207e-01, 2.08848758e-45])
    """
    xp = get_array_module(x)
    tail = _erfc_tail(abs(x))
    return xp.where(abs(x) <= _ERF_SMALL, 1 - _erf_small(x), xp.where(x < 0, 2 - tail, tail))


# M. Giles, "Approximating the erfinv function", GPU Computing Gems (2011): its single-precision
# polynomials, to ~4e-7 relative, as the first guess of Newton's steps below
_GILES_CENTRE = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                 -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
               -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _erfinv(y):
    """The ``x`` with ``erf(x) = y``, elementwise, in ``y``'s dtype: Giles's polynomial, then
    Newton's steps on ``erf(x) = y`` (``|y| <= 1/2``) or on ``log erfc(|x|) = log(1 - |y|)``
    (beyond, where ``1 - |y|`` is exact and ``erf`` has no digits left to compare). Close to
    the root each step squares the error (4e-7, 1e-13, ...); four, because past float32's
    range (``1 - |y| < 6e-8``), where the polynomial was not fitted, the first two only bring
    the guess near. Within 5 float64 ulp of SciPy's erfinv (tests/test_ops_math.py).
    ``erfinv(+-1) = +-inf``, NaN outside [-1, 1].

    >>> _erfinv(np.array([0.0, 0.5, -0.999]))
    array([ 0.        ,  0.47693628, -2.32675377])
    """
    xp = get_array_module(y)
    # |y| = 1 takes log(0) on the way (its x is set to inf at the end), and NaN stays NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        return _erfinv_newton(xp, y)


def _erfinv_newton(xp, y):
    """:func:`_erfinv`'s polynomial and steps (its caller silences the warnings at +-1)."""
    a = xp.minimum(abs(y), 1)
    w = -xp.log((1 - a) * (1 + a))
    centre, tail = w - 2.5, xp.sqrt(w) - 3
    p, q = _GILES_CENTRE[0], _GILES_TAIL[0]
    for c, t in zip(_GILES_CENTRE[1:], _GILES_TAIL[1:]):
        p, q = c + p * centre, t + q * tail
    x = xp.where(w < 5, p, q) * a                   # |x|, finite for |y| < 1
    x = xp.where(a < 1, x, 1)                       # a placeholder at |y| = 1 (inf below)
    near_one = a > 0.5
    for _ in range(4):
        slope = _TWO_OVER_SQRT_PI * xp.exp(-x * x)  # erf'(x); never 0 for the |x| < 6 here
        # Newton on erf(x) = a; near 1 on log(erfc(x)) = log(1 - a), nearly a parabola in x
        # (-x^2), which converges from the polynomial's guess where it strays (past float32's
        # range, 1 - a < 6e-8, where Giles's polynomial was not fitted)
        tail = _erfc_tail(x)
        step = xp.where(near_one, (xp.log(tail) - xp.log(1 - a)) * tail, a - _erf(x)) / slope
        x = x + step
    x = xp.where(a < 1, x, xp.inf)
    x = xp.where(abs(y) <= 1, x, xp.nan)
    return xp.copysign(x, y).astype(y.dtype, copy=False)   # erfinv(-0.0) = -0.0


# --------------------------------------------------------------------- one operand
def _rsqrt(xp, a):
    return 1 / xp.sqrt(a)


# name: (y = f(xp, x), dy/dx = d(xp, x, y)); each derivative is PyTorch's formula (from its
# derivatives.yaml), in its order of operations, so that 0 * inf and inf / inf come out as there
_UNARY = {
    "log1p": (lambda xp, x: xp.log1p(x), lambda xp, x, y: 1 / (x + 1)),
    "expm1": (lambda xp, x: xp.expm1(x), lambda xp, x, y: y + 1),
    "log2": (lambda xp, x: xp.log2(x), lambda xp, x, y: 1 / (x * _LN2)),
    "log10": (lambda xp, x: xp.log10(x), lambda xp, x, y: 1 / (x * _LN10)),
    "exp2": (lambda xp, x: xp.exp2(x), lambda xp, x, y: y * _LN2),
    "sin": (lambda xp, x: xp.sin(x), lambda xp, x, y: xp.cos(x)),
    "cos": (lambda xp, x: xp.cos(x), lambda xp, x, y: -xp.sin(x)),
    "tan": (lambda xp, x: xp.tan(x), lambda xp, x, y: 1 + y * y),
    "asin": (lambda xp, x: xp.arcsin(x), lambda xp, x, y: _rsqrt(xp, -x * x + 1)),
    "acos": (lambda xp, x: xp.arccos(x), lambda xp, x, y: -_rsqrt(xp, -x * x + 1)),
    "atan": (lambda xp, x: xp.arctan(x), lambda xp, x, y: 1 / (x * x + 1)),
    "sinh": (lambda xp, x: xp.sinh(x), lambda xp, x, y: xp.cosh(x)),
    "cosh": (lambda xp, x: xp.cosh(x), lambda xp, x, y: xp.sinh(x)),
    "asinh": (lambda xp, x: xp.arcsinh(x), lambda xp, x, y: _rsqrt(xp, x * x + 1)),
    "acosh": (lambda xp, x: xp.arccosh(x), lambda xp, x, y: _rsqrt(xp, x * x - 1)),
    "atanh": (lambda xp, x: xp.arctanh(x), lambda xp, x, y: 1 / (1 - x * x)),
    "rsqrt": (_rsqrt, lambda xp, x, y: -0.5 * y * y * y),
    "reciprocal": (lambda xp, x: 1 / x, lambda xp, x, y: -(y * y)),
    "erf": (lambda xp, x: _erf(x), lambda xp, x, y: _TWO_OVER_SQRT_PI * xp.exp(-x * x)),
    "erfc": (lambda xp, x: _erfc(x), lambda xp, x, y: -_TWO_OVER_SQRT_PI * xp.exp(-x * x)),
    "erfinv": (lambda xp, x: _erfinv(x), lambda xp, x, y: math.sqrt(math.pi) / 2 * xp.exp(y * y)),
}


class Pointwise(Function):
    """``y = f(x)`` elementwise for one row of the table ``_UNARY``; the gradient is
    ``gy * f'(x)``. At the domain's edges the value and the gradient are the IEEE results
    (``log1p(-1) = -inf``, ``asin(2) = NaN``, a gradient of ``inf``), as PyTorch's, and NumPy's
    warnings about them are silenced: they are the answer, not an accident."""

    def __init__(self, name):
        self.name = name

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.a, self.y = a, _UNARY[self.name][0](get_array_module(a), a)
        return self.y

    def backward(self, gy):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            g = gy * _UNARY[self.name][1](get_array_module(gy), self.a, self.y)
        return g.astype(gy.dtype, copy=False)


def _pointwise(name, input):
    return Pointwise(name)(_floating(as_tensor(input)))


def log1p(input):
    """``log(1 + x)``, accurate for small ``x``; the gradient ``1 / (1 + x)``. -inf at -1, NaN
    below.

    >>> log1p(Tensor(np.array([1e-10, -1.0]))).numpy()
    array([1.e-10,   -inf])
    """
    return _pointwise("log1p", input)


def expm1(input):
    """``exp(x) - 1``, accurate for small ``x``; the gradient ``exp(x)``.

    >>> expm1(Tensor(np.array([1e-10, 0.0]))).numpy()
    array([1.e-10, 0.e+00])
    """
    return _pointwise("expm1", input)


def log2(input):
    """The base-2 logarithm; the gradient ``1 / (x ln 2)``.

    >>> log2(Tensor(np.array([8.0, 0.5]))).numpy()
    array([ 3., -1.])
    """
    return _pointwise("log2", input)


def log10(input):
    """The base-10 logarithm; the gradient ``1 / (x ln 10)``.

    >>> log10(Tensor(np.array([100.0]))).numpy()
    array([2.])
    """
    return _pointwise("log10", input)


def exp2(input):
    """``2 ** x``; the gradient ``2 ** x ln 2``.

    >>> exp2(Tensor(np.array([3.0, -1.0]))).numpy()
    array([8. , 0.5])
    """
    return _pointwise("exp2", input)


def sin(input):
    """The sine (radians); the gradient ``cos(x)``.

    >>> sin(Tensor(np.array([0.0, np.pi / 2]))).numpy()
    array([0., 1.])
    """
    return _pointwise("sin", input)


def cos(input):
    """The cosine (radians); the gradient ``-sin(x)``.

    >>> cos(Tensor(np.array([0.0, np.pi]))).numpy()
    array([ 1., -1.])
    """
    return _pointwise("cos", input)


def tan(input):
    """The tangent (radians); the gradient ``1 + tan(x)^2``.

    >>> tan(Tensor(np.array([0.0, np.pi / 4]))).numpy().round(12)
    array([0., 1.])
    """
    return _pointwise("tan", input)


def asin(input):
    """The arcsine, in [-pi/2, pi/2]; the gradient ``1 / sqrt(1 - x^2)``: inf at +-1, NaN
    (with the value) beyond.

    >>> asin(Tensor(np.array([1.0, 2.0]))).numpy()
    array([1.57079633,        nan])
    """
    return _pointwise("asin", input)


def acos(input):
    """The arccosine, in [0, pi]; the gradient ``-1 / sqrt(1 - x^2)``: -inf at +-1.

    >>> acos(Tensor(np.array([1.0, -1.0]))).numpy()
    array([0.        , 3.14159265])
    """
    return _pointwise("acos", input)


def atan(input):
    """The arctangent, in (-pi/2, pi/2); the gradient ``1 / (1 + x^2)``.

    >>> atan(Tensor(np.array([1.0, np.inf]))).numpy()
    array([0.78539816, 1.57079633])
    """
    return _pointwise("atan", input)


def sinh(input):
    """The hyperbolic sine; the gradient ``cosh(x)``.

    >>> sinh(Tensor(np.array([0.0]))).numpy()
    array([0.])
    """
    return _pointwise("sinh", input)


def cosh(input):
    """The hyperbolic cosine; the gradient ``sinh(x)``.

    >>> cosh(Tensor(np.array([0.0]))).numpy()
    array([1.])
    """
    return _pointwise("cosh", input)


def asinh(input):
    """The inverse hyperbolic sine; the gradient ``1 / sqrt(x^2 + 1)``.

    >>> asinh(Tensor(np.array([0.0]))).numpy()
    array([0.])
    """
    return _pointwise("asinh", input)


def acosh(input):
    """The inverse hyperbolic cosine, for ``x >= 1`` (NaN below); the gradient
    ``1 / sqrt(x^2 - 1)``: inf at 1.

    >>> acosh(Tensor(np.array([1.0]))).numpy()
    array([0.])
    """
    return _pointwise("acosh", input)


def atanh(input):
    """The inverse hyperbolic tangent, on [-1, 1] (+-inf at the ends, NaN beyond); the gradient
    ``1 / (1 - x^2)``.

    >>> atanh(Tensor(np.array([0.0, 1.0]))).numpy()
    array([ 0., inf])
    """
    return _pointwise("atanh", input)


def rsqrt(input):
    """``1 / sqrt(x)``; the gradient ``-rsqrt(x)^3 / 2``. inf at 0, NaN below.

    >>> rsqrt(Tensor(np.array([4.0, 0.0]))).numpy()
    array([0.5, inf])
    """
    return _pointwise("rsqrt", input)


def reciprocal(input):
    """``1 / x`` (integers give float32, as PyTorch's); the gradient ``-1 / x^2``.

    >>> reciprocal(Tensor(np.array([2, 0]))).numpy()
    array([0.5, inf], dtype=float32)
    """
    return _pointwise("reciprocal", input)


def erf(input):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt`` (W. J. Cody's, the one GELU
    uses: ``activations._erf``); the gradient ``2/sqrt(pi) exp(-x^2)``.

    >>> erf(Tensor(np.array([0.0, np.inf]))).numpy()
    array([0., 1.])
    """
    return _pointwise("erf", input)


def erfc(input):
    """``1 - erf(x)``, its digits kept for large ``x`` (Cody's erfc); the gradient
    ``-2/sqrt(pi) exp(-x^2)``.

    >>> erfc(Tensor(np.array([0.0, 10.0]))).numpy()
    array([1.00000000e+00, 2.08848758e-45])
    """
    return _pointwise("erfc", input)


def erfinv(input):
    """The inverse of ``erf`` on [-1, 1] (``+-inf`` at the ends, NaN beyond); the gradient
    ``sqrt(pi)/2 exp(erfinv(x)^2)``. Computed as :func:`_erfinv` says.

    >>> erfinv(Tensor(np.array([0.0, 0.5, 1.0]))).numpy()
    array([0.        , 0.47693628,        inf])
    """
    return _pointwise("erfinv", input)


class Logit(Function):
    """``log(z / (1 - z))``, ``z`` the input clamped to ``[eps, 1 - eps]`` (none without eps).
    The gradient is ``gy / (x (1 - x))``, PyTorch's ``logit_backward``: 0 outside
    ``[eps, 1 - eps]`` with eps (the clamp is flat there), NaN outside [0, 1] without."""

    def __init__(self, eps):
        self.eps = eps

    def forward(self, a):
        xp = get_array_module(a)
        self.a = a
        z = a if self.eps is None else xp.clip(a, self.eps, 1 - self.eps).astype(a.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):   # log(0) at 0, x / 0 at 1
            return xp.log(z / (1 - z))

    def backward(self, gy):
        xp, a = get_array_module(gy), self.a
        low, high = (0, 1) if self.eps is None else (self.eps, 1 - self.eps)
        # gy / 0 at 0 and 1, and gy / x(1 - x) overflows to inf for a subnormal x: PyTorch's inf
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            g = xp.where((a < low) | (a > high), xp.nan if self.eps is None else 0, gy / (a * (1 - a)))
        return g.astype(gy.dtype, copy=False)


def logit(input, eps=None):
    """``log(x / (1 - x))``, the inverse of the sigmoid; with ``eps``, ``x`` is clamped to
    ``[eps, 1 - eps]`` first (finite at 0 and 1). The gradient ``1 / (x (1 - x))``, 0 where the
    clamp holds ``x``; NaN outside [0, 1] without ``eps``, as PyTorch's.

    >>> logit(Tensor(np.array([0.5, 0.0, 1.0]))).numpy()
    array([  0., -inf,  inf])
    >>> logit(Tensor(np.array([0.0])), eps=1e-6).numpy().round(4)
    array([-13.8155])
    """
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
            raise TypeError(f"logit: eps must be a number or None, got {eps!r}")
        eps = float(eps)
    return Logit(eps)(_floating(as_tensor(input)))


def neg(input):
    """``-x`` (``ops.Neg``), any number type; a bool tensor is refused, as PyTorch's.

    >>> neg(Tensor(np.array([1, -2]))).numpy()
    array([-1,  2])
    """
    input = as_tensor(input)
    if input.dtype == np.bool_:
        raise TypeError("neg: a bool tensor cannot be negated (as PyTorch); to invert a mask, "
                        "use ~mask")
    return Neg()(input)


negative = neg   # PyTorch's other name


# --------------------------------------------------------------------- powers and arithmetic
def _quiet(function):
    """``function`` (one of ops.py's Functions) with NumPy's warnings about inf and NaN
    silenced in its forward and backward: ``0 ** -1``, ``inf - inf``, ``0 * inf`` give inf and
    NaN in PyTorch, silently, and they are the answer here too."""
    class Quiet(function):
        def forward(self, *xs):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return super().forward(*xs)

        def backward(self, *gys):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return super().backward(*gys)
    Quiet.__name__ = Quiet.__qualname__ = function.__name__
    return Quiet


# the four operations of ops.py, as add, sub, mul and div call them (Add, Sub and Mul are quiet
# in themselves: the Tensor's + - * are they)
_Add, _Sub, _Mul, _Div = Add, Sub, Mul, _quiet(Div)
# and the Tensor's log and sqrt: log(0) is -inf, sqrt(-1) NaN, and their gradients inf and NaN
_Log, _Sqrt = _quiet(Log), _quiet(Sqrt)


def operator_div(a, b):
    """``a / b`` for the Tensor's ``/`` operator: ops.py's promotion (NumPy's, as ``+`` and
    ``*`` have it), with :func:`div`'s quiet Function, so ``x / 0`` gives inf and NaN with no
    NumPy warning in the forward and the backward, as ``x.div(0)`` and PyTorch's. Where
    neither side holds a float (integer and bool Tensors, arrays, Python ints), the division
    is in float32, PyTorch's default dtype, as :func:`div`'s: NumPy's would be float64; and
    as there, an integer number need not fit the tensor's dtype (``int8 / 300``: no integer
    is made of it). A bool tensor takes a number's PyTorch dtype, as ``+`` and ``*`` do.

    >>> x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    >>> y = operator_div(x, 0)
    >>> y.backward(np.ones(2))
    >>> y.numpy(), x.grad
    (array([inf, nan]), array([inf, inf]))
    >>> operator_div(Tensor(np.array([1, 2])), 4).numpy()
    array([0.25, 0.5 ], dtype=float32)
    >>> operator_div(Tensor(np.array([7], np.int8)), 300).dtype   # 300: past int8, taken
    dtype('float32')
    """
    if not any(isinstance(x, Tensor) and x.dtype.kind == "f" for x in (a, b)):   # (a float Tensor: quick)
        if _result_dtype(a, b).kind != "f":   # int / int: float32, not NumPy's float64
            return _Div()(*_as_result(a, b, dtype=np.float32))
    return _Div()(*_operands(a, b))


def _power(xp, a, e):
    """``a ** e`` for a number ``e``, as PyTorch's kernel takes it: ``sqrt`` for 0.5, ``1 /
    sqrt`` for -0.5, products for 2, 3, -1 and -2 (so ``(-0.0) ** 0.5`` is -0.0 and
    ``(-0.0) ** -0.5`` is -inf there, where C's pow gives +0.0 and +inf), and an integral
    exponent beyond float32's exact range taken as a double."""
    if a.dtype.kind == "f":
        if e == 0.5:
            return xp.sqrt(a)
        if e == -0.5:
            return 1 / xp.sqrt(a)
        if e in (-1, -2):
            return 1 / (a if e == -1 else a * a)
        if float(e).is_integer() and float(a.dtype.type(e)) != e:
            # an integral exponent float32 cannot hold (16777217): PyTorch's kernel passes it
            # to C's pow as a double; NumPy's would round it to float32 first (an even
            # 16777216, so (-1) ** 16777217 would be 1)
            return (a.astype(np.float64) ** float(e)).astype(a.dtype)
    if e == 2:
        return a * a
    if e == 3:
        return a * a * a
    return a ** e


class PowNumber(Pow):
    """``ops.Pow`` (``a ** e``, the gradient ``gy e a^(e-1)``, none at ``e = 0``) for a number
    ``e``, computed as PyTorch's (:func:`_power`) and without NumPy's warnings at ``0 ** -1``
    (inf) and ``(-1) ** 0.5`` (NaN), which PyTorch gives silently."""

    def forward(self, a):
        self.a = a
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _power(get_array_module(a), a, self.exponent)

    def backward(self, gy):
        e, xp = self.exponent, get_array_module(gy)
        if e == 0:   # a ** 0 is 1 everywhere; 0 * 0 ** -1 would be NaN at 0
            return xp.zeros_like(gy)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (gy * (e * _power(xp, self.a, e - 1))).astype(gy.dtype, copy=False)


def _integer(t):
    return t.dtype.kind in "biu"


# --------------------------------------------------------------------- PyTorch's promotion
# PyTorch's result dtype of an op (c10's result_type) sorts the operands into three groups,
# dimensioned tensors, 0-d tensors and numbers, promotes within each group, then lets a later
# group change the dtype only where it is of a higher kind (bool < integer < float): float32
# (3,) with a float64 0-d tensor stays float32, int32 with an int64 one int32, where NumPy
# would widen both. A NumPy array is a tensor of its shape (0-d included), a NumPy scalar a
# number of its kind; a number has PyTorch's dtype for it: bool, int64, float32.
def _is_number(x):
    return isinstance(x, (numbers.Number, np.generic))


def _number_dtype(x):
    if isinstance(x, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(x, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(x, numbers.Real):
        return np.dtype(np.float32)   # PyTorch's default dtype
    raise TypeError(f"expected a real number, got {type(x).__name__} {x!r}")


def _promote(d1, d2):
    """PyTorch's ``promote_types``: a float beside an integer or a bool gives the float,
    whatever their widths (int64 with float32: float32, NumPy's float64); else NumPy's."""
    if (d1.kind == "f") != (d2.kind == "f"):
        return d1 if d1.kind == "f" else d2
    return np.promote_types(d1, d2)


def _over(higher, lower):
    """The dtype of one group (``higher``) with a later group's (``lower``), c10's
    ``combine_categories``: ``lower`` counts where it is of a higher kind."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return _promote(higher, lower)
    return higher


def _result_dtype(*operands):
    """PyTorch's result dtype of ``operands`` (Tensors, arrays and numbers).

    >>> _result_dtype(Tensor(np.ones(3, np.float32)), Tensor(np.array(2.0)), 2)
    dtype('float32')
    >>> _result_dtype(Tensor(np.array([1, 2])), 0.5), _result_dtype(np.array([True]), 2)
    (dtype('float32'), dtype('int64'))
    """
    groups = [None, None, None]   # dimensioned, 0-d, numbers
    for x in operands:
        if _is_number(x):
            at, dtype = 2, _number_dtype(x)
        else:
            x = x if isinstance(x, Tensor) or hasattr(x, "dtype") else _as_array(x)
            at, dtype = (0 if x.ndim else 1), np.dtype(x.dtype)
        groups[at] = dtype if groups[at] is None else _promote(groups[at], dtype)
    return _over(groups[0], _over(groups[1], groups[2]))


def _as_result(*operands, dtype=None):
    """``operands`` as Tensors of one dtype, PyTorch's result dtype (or ``dtype``), on the
    first Tensor's device. A Tensor of another dtype is cast in the graph (its gradient comes
    back in its own dtype); an integer number out of the dtype's range wraps, as PyTorch's
    (``add(uint8, -1)`` subtracts 1), and a float one out of float32's is inf."""
    dtype = _result_dtype(*operands) if dtype is None else np.dtype(dtype)
    like = next((x for x in operands if isinstance(x, Tensor)), None)
    xp = np if like is None else get_array_module(like.data)
    out = []
    for x in operands:
        if not isinstance(x, Tensor):
            with np.errstate(over="ignore"):
                x = Tensor((xp.asarray(x) if _is_number(x) else _as_array(x)).astype(dtype, copy=False))
        out.append(x if x.dtype == dtype else x.astype(dtype))
    return out


def _check_number_fits(op, name, value, dtype):
    """Refuse an integer ``value`` that ``dtype`` cannot hold where PyTorch checks one (a bound,
    alpha, an exponent): c10's range, ``[min, max]``, and ``[-max, max]`` for unsigned types
    (-1 is taken there, and wraps)."""
    if dtype.kind not in "iu" or isinstance(value, (bool, np.bool_)):
        return
    info = np.iinfo(dtype)
    low = -info.max if dtype.kind == "u" else info.min
    if not low <= value <= info.max:
        raise ValueError(f"{op}: {name} {value!r} does not fit {dtype} (expected an integer in "
                         f"[{low}, {info.max}]), as PyTorch's")


def pow(input, exponent):
    """``input ** exponent``, PyTorch's ``torch.pow``: either may be a number or a Tensor
    (broadcast; the gradient goes to each Tensor, summed back), the result dtype PyTorch's
    (``_result_dtype``). Integers keep their dtype (``int ** int``, bools as int64); a
    negative *number* exponent of an integer tensor is refused, as PyTorch's, while a negative
    value in an integer *tensor* exponent gives PyTorch's integer power: 1 for the base 1,
    +-1 for -1, 0 for any other base (``2 ** -1`` is 0). A float exponent makes an integer
    base float32. ``0 ** 0 = 1`` with a zero gradient, ``0 ** -1 = inf``; a negative base to
    a fractional power is NaN.

    >>> x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    >>> y = pow(x, 0.5)
    >>> y.sum().backward()
    >>> y.numpy().round(4), x.grad.round(4)
    (array([0.    , 1.4142]), array([   inf, 0.3536]))
    >>> pow(Tensor(np.array([2, 3])), 2).numpy(), pow(2, Tensor(np.array([0.5]))).numpy().round(4)
    (array([4, 9]), array([1.4142]))
    >>> pow(Tensor(np.array([1, 2, -1])), Tensor(np.array([-1, -2, -3]))).numpy()
    array([ 1,  0, -1])
    """
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"pow: expected a Tensor for input or exponent, got "
                        f"{type(input).__name__} and {type(exponent).__name__}")
    if isinstance(input, Tensor) and _is_number(exponent):
        dtype = _result_dtype(input, exponent)   # True ** 2: int64; 2 ** 0.5: float32
        if dtype == np.bool_:   # mask ** True is the mask, mask ** False all True, as PyTorch's
            xp = get_array_module(input.data)
            return Tensor(input.data.copy() if exponent else xp.ones_like(input.data))
        exponent = exponent.item() if isinstance(exponent, np.generic) else exponent
        if dtype.kind in "iu":
            if exponent < 0:
                raise ValueError(f"pow: integers to negative integer powers are not allowed "
                                 f"(exponent {exponent!r}); make the base a float")
            _check_number_fits("pow", "exponent", exponent, dtype)
        # ** with a number: ops.Pow's formulas, PyTorch's kernel
        return PowNumber(exponent)(input if input.dtype == dtype else input.astype(dtype))
    base, exponent = _as_result(input, exponent)
    if base.dtype == np.bool_:
        raise TypeError("pow: bool ** bool is not defined (as PyTorch); cast to a number type")
    return PowTensor()(base, exponent)


def square(input):
    """``x * x`` (``pow(x, 2)``): integers keep their dtype, bools give int64, as PyTorch's;
    the gradient ``2 x``.

    >>> square(Tensor(np.array([-3, 2], dtype=np.int8))).numpy()
    array([9, 4], dtype=int8)
    """
    return pow(as_tensor(input), 2)


def clamp_min(input, min):
    """``max(x, min)``, PyTorch's ``clamp_min`` (``clamp(x, min=min)``): ``min`` a number, or
    a Tensor broadcast with ``x`` (its gradient: where ``x < min``). The gradient passes to
    ``x`` where ``x >= min``, ties included; NaN on either side gives NaN and no gradient. A
    float bound makes an integer tensor float32, as PyTorch's.

    >>> clamp_min(Tensor(np.array([-1.0, 2.0])), 0.0).numpy()
    array([0., 2.])
    >>> clamp_min(Tensor(np.array([-1.0, 2.0])), Tensor(np.array([0.0, 3.0]))).numpy()
    array([0., 3.])
    """
    return _clamp_one("clamp_min", input, min, None)


def clamp_max(input, max):
    """``min(x, max)``, PyTorch's ``clamp_max`` (``clamp(x, max=max)``), as :func:`clamp_min`
    turned round: the gradient passes to ``x`` where ``x <= max``, to a Tensor ``max`` where
    ``x > max``.

    >>> clamp_max(Tensor(np.array([-1.0, 2.0])), 0.0).numpy()
    array([-1.,  0.])
    """
    return _clamp_one("clamp_max", input, None, max)


class ClampBy(Function):
    """``max(a, bound)`` (``"min"``) or ``min(a, bound)`` (``"max"``), broadcast, NaN from
    either side; the gradient goes to ``a`` where it is kept (``a >= bound``, or ``<=``) and to
    the bound where it wins (``a < bound``, or ``>``): PyTorch's ``clamp_backward``, so neither
    gets one at a NaN, and ``a`` alone at a tie (``maximum`` would split it)."""

    def __init__(self, which):
        self.which = which

    def forward(self, a, bound):
        xp = get_array_module(a)
        self.a, self.bound = a, bound
        return xp.maximum(a, bound) if self.which == "min" else xp.minimum(a, bound)

    def backward(self, gy):
        xp, a, bound = get_array_module(gy), self.a, self.bound
        keep, win = (a >= bound, a < bound) if self.which == "min" else (a <= bound, a > bound)
        return _summed_back(self, (xp.where(keep, gy, 0), xp.where(win, gy, 0)), (a.shape, bound.shape),
                            gy.dtype)


def _clamp_one(op, input, low, high):
    bound = low if high is None else high
    if isinstance(bound, Tensor):
        return ClampBy(op[-3:])(*_as_result(input, bound))
    if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
        raise TypeError(f"{op}: the bound must be a number or a Tensor, got "
                        f"{type(bound).__name__} {bound!r}")
    input = as_tensor(input)
    if _integer(input) and isinstance(bound, (float, np.floating)):
        input = input.astype(np.float32)
    bound = bound.item() if isinstance(bound, np.generic) else bound   # np.int64(300) would wrap
    _check_number_fits(op, "bound", bound, input.dtype)
    if input.dtype.kind in "iu":   # in the dtype, as PyTorch's: -1 is 255 for uint8
        bound = np.asarray(bound).astype(input.dtype).item()
    low, high = (bound, None) if high is None else (None, bound)
    return Clamp(low, high)(input)


class NanToNum(Function):
    """NaN, +inf and -inf replaced by numbers; the gradient passes where ``x`` is finite (0 at
    the replaced values, as PyTorch's)."""

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, a):
        xp = get_array_module(a)
        self.finite = xp.isfinite(a)
        return xp.nan_to_num(a, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, gy):
        return gy * self.finite


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN as ``nan``, +inf as ``posinf`` and -inf as ``neginf`` (None: the dtype's largest and
    smallest finite values), PyTorch's ``nan_to_num``; integers and bools come back as they are
    (a copy). The gradient is 0 at the replaced values.

    >>> nan_to_num(Tensor(np.array([np.nan, np.inf, -np.inf])), posinf=9.0).numpy()
    array([ 0.00000000e+000,  9.00000000e+000, -1.79769313e+308])
    """
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            raise TypeError(f"nan_to_num: {name} must be a number or None, got {v!r}")
    input = as_tensor(input)
    if input.dtype.kind != "f":
        return input.clone()
    return NanToNum(nan, posinf, neginf)(input)


def _test(op, input):
    input = as_tensor(input)
    return Tensor(getattr(get_array_module(input.data), op)(input.data))


def isnan(input):
    """Where the values are NaN: a bool Tensor, outside the graph.

    >>> isnan(Tensor(np.array([np.nan, 1.0]))).numpy()
    array([ True, False])
    """
    return _test("isnan", input)


def isinf(input):
    """Where the values are +inf or -inf: a bool Tensor, outside the graph.

    >>> isinf(Tensor(np.array([np.inf, np.nan, -np.inf]))).numpy()
    array([ True, False,  True])
    """
    return _test("isinf", input)


def isfinite(input):
    """Where the values are neither NaN nor infinite: a bool Tensor, outside the graph.

    >>> isfinite(Tensor(np.array([np.inf, np.nan, 0.0]))).numpy()
    array([False, False,  True])
    """
    return _test("isfinite", input)


# --------------------------------------------------------------------- two operands
class Binary(Function):
    """A two-operand op whose operands broadcast: subclasses write ``_value(xp, a, b)`` and
    ``_grads(xp, gy, a, b, y)``; each gradient is summed back to its operand's shape, and
    NumPy's warnings at the domain's edges are silenced (PyTorch's inf and NaN are the answer)."""

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.a, self.b = a, b
            self.y = self._value(get_array_module(a), a, b)
        return self.y

    def backward(self, gy):
        # the sums back over a broadcast too: inf + -inf is NaN there, as in PyTorch's
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            grads = self._grads(get_array_module(gy), gy, self.a, self.b, self.y)
            return _summed_back(self, grads, (self.a.shape, self.b.shape), gy.dtype)


def _summed_back(f, grads, shapes, dtype):
    """Each gradient of ``f``'s inputs summed back to its input's shape, in ``dtype``; None
    for an input that needs none (a number's: its sum could only warn, or cost time)."""
    return tuple(sum_to(g.astype(dtype, copy=False), shape) if x.requires_grad else None
                 for g, shape, x in zip(grads, shapes, f.inputs))


def _integer_power(xp, a, b):
    """``a ** b`` for integer arrays of one dtype, as PyTorch's ``powi``: where ``b < 0`` (NumPy
    refuses it), 1 for ``a = 1``, +-1 for ``a = -1`` (by ``b``'s parity), else 0, the integer
    part of ``1 / a^|b|``.

    >>> _integer_power(np, np.array([1, -1, -1, 2, 0]), np.array([-1, -2, -3, -1, -1]))
    array([ 1,  1, -1,  0,  0])
    """
    if a.dtype.kind == "u":   # b has a's dtype: no negative exponent
        return a ** b
    negative = b < 0
    p = a ** xp.where(negative, b & 1, b)   # b & 1: b's parity (0 or 1), for b < 0 too
    return xp.where(negative & (a != 1) & (a != -1), 0, p)


class PowTensor(Binary):
    """``a ** b`` with a gradient for both (broadcast), PyTorch's: ``gy b a^(b-1)`` to ``a``
    (0 where ``b`` is 0, so ``0 ** 0`` has none), ``gy a^b ln a`` to ``b`` (0 where ``a`` is 0
    and ``b >= 0``: ``0 ** b`` is flat there)."""

    def _value(self, xp, a, b):
        return _integer_power(xp, a, b) if a.dtype.kind in "iu" else a ** b

    def _grads(self, xp, gy, a, b, y):
        return (xp.where(b == 0, 0, gy * (b * a ** (b - 1))),
                gy * xp.where((a == 0) & (b >= 0), 0, y * xp.log(a)))


class Atan2(Binary):
    """``atan2(a, b)``, the angle of the point (b, a); gradients ``gy b / (a^2 + b^2)`` and
    ``-gy a / (a^2 + b^2)``, with ``1 / (a^2 + b^2)`` read as 0 where the sum is 0 (at (0, 0),
    and where both squares underflow), as PyTorch's: a zero gradient there, not 0 / 0."""

    def _value(self, xp, a, b):
        return xp.arctan2(a, b)

    def _grads(self, xp, gy, a, b, y):
        squares = a * a + b * b
        recip = xp.where(squares == 0, 0, 1 / squares)
        return gy * b * recip, gy * -a * recip


class Hypot(Binary):
    """``sqrt(a^2 + b^2)`` without overflow; gradients ``gy a / y`` and ``gy b / y``."""

    def _value(self, xp, a, b):
        return xp.hypot(a, b)

    def _grads(self, xp, gy, a, b, y):
        return gy * a / y, gy * b / y


class LogAddExp(Binary):
    """``log(exp(a) + exp(b))`` without overflow; gradients ``gy / (1 + exp(b - a))`` and
    ``gy / (1 + exp(a - b))`` (the softmax of the pair)."""

    def _value(self, xp, a, b):
        return xp.logaddexp(a, b)

    def _grads(self, xp, gy, a, b, y):
        return gy / (1 + xp.exp(b - a)), gy / (1 + xp.exp(a - b))


class Xlogy(Binary):
    """``a log(b)``, 0 where ``a`` is 0 (whatever ``b``, unless NaN); gradients ``gy log(b)``
    (0 where ``a`` is 0 and ``b <= 0``, PyTorch's) and ``gy a / b``."""

    def _value(self, xp, a, b):
        y = a * xp.log(b)
        return xp.where(xp.isnan(b), xp.nan, xp.where(a == 0, 0, y)).astype(y.dtype, copy=False)

    def _grads(self, xp, gy, a, b, y):
        ga = xp.where((a == 0) & (b <= 0), 0, gy * xp.log(b))
        return ga, gy * a / b


def _floating_pair(op, a, b, integers_to_float32=True):
    """``a`` and ``b`` as Tensors of PyTorch's result dtype (``_as_result``); an integer or
    bool one as float32 (PyTorch's result), or refused where PyTorch has no integer kernel."""
    dtype = _result_dtype(a, b)
    if dtype.kind != "f":
        if not integers_to_float32:
            raise TypeError(f"{op}: expected floating-point tensors, got {_dtype_name(a)} and "
                            f"{_dtype_name(b)} (as PyTorch, which has no integer version "
                            "either); cast with .float()")
        dtype = np.dtype(np.float32)
    return _as_result(a, b, dtype=dtype)


def _dtype_name(x):
    return type(x).__name__ if _is_number(x) else str(as_tensor(x).dtype)


def atan2(input, other):
    """The angle of the point (other, input), in [-pi, pi], elementwise and broadcast (PyTorch's
    ``torch.atan2``): ``atan2(0, -1) = pi``; integers give float32. Gradients
    ``other / (input^2 + other^2)`` and ``-input / (...)``: 0 at (0, 0), as PyTorch's (where
    the formula's 0 / 0 would be NaN).

    >>> atan2(Tensor(np.array([1.0, 0.0, 0.0])), Tensor(np.array([1.0, -1.0, 0.0]))).numpy()
    array([0.78539816, 3.14159265, 0.        ])
    """
    return Atan2()(*_floating_pair("atan2", input, other))


def hypot(input, other):
    """``sqrt(input^2 + other^2)``, without overflow (PyTorch's ``torch.hypot``); floats only.

    >>> hypot(Tensor(np.array([3.0, 1e200])), 4.0).numpy()
    array([5.e+000, 1.e+200])
    """
    return Hypot()(*_floating_pair("hypot", input, other, integers_to_float32=False))


def logaddexp(input, other):
    """``log(exp(input) + exp(other))``, without overflow (PyTorch's ``torch.logaddexp``);
    floats only. The gradients are the softmax of the pair.

    >>> logaddexp(Tensor(np.array([1000.0, -np.inf])), 1000.0).numpy()
    array([1000.69314718, 1000.        ])
    """
    return LogAddExp()(*_floating_pair("logaddexp", input, other, integers_to_float32=False))


def xlogy(input, other):
    """``input * log(other)``, 0 where ``input`` is 0 (an entropy's ``p log p`` at ``p = 0``),
    NaN where ``other`` is NaN (PyTorch's ``torch.xlogy``); integers give float32.

    >>> xlogy(Tensor(np.array([0.0, 0.0, 2.0])), Tensor(np.array([0.0, np.nan, np.e]))).numpy()
    array([ 0., nan,  2.])
    """
    return Xlogy()(*_floating_pair("xlogy", input, other))


# --------------------------------------------------------------------- division and remainders
def _nonzero_divisor(op, b):
    """Refuse an integer zero divisor, as PyTorch does (NumPy gives 0 and a warning)."""
    if _integer(b) and bool((b.data == 0).any()):
        raise ZeroDivisionError(f"{op}: integer division by zero (a 0 in the divisor, dtype "
                                f"{b.dtype}); divide floats to get inf and NaN")


def _floor_div(xp, a, b):
    """``floor(a / b)``, PyTorch's ``div(rounding_mode="floor")``: NumPy's floor_divide (for
    floats the exact quotient from fmod, as Python's ``//``; ``a / b`` where ``b`` is 0)."""
    return xp.floor_divide(a, b)


def _trunc_div(xp, a, b):
    """``trunc(a / b)``: for integers, ``a // b`` plus 1 where the quotient was negative and
    not exact (``//`` rounded it down, away from 0); for floats ``trunc`` of the division."""
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        q = a // b
        return q + ((q < 0) & (q * b != a))
    return xp.trunc(a / b)


class RoundedDiv(Binary):
    """``a / b`` rounded towards 0 (``"trunc"``) or down (``"floor"``); flat almost
    everywhere, so both gradients are 0, as PyTorch's."""

    def __init__(self, mode):
        self.mode = mode

    def _value(self, xp, a, b):
        return (_trunc_div if self.mode == "trunc" else _floor_div)(xp, a, b)

    def _grads(self, xp, gy, a, b, y):
        return xp.zeros_like(gy), xp.zeros_like(gy)


class Remainder(Binary):
    """``a - b * floor(a / b)``, the sign of ``b`` (Python's ``%``); ``fmod=True``:
    ``a - b * trunc(a / b)``, the sign of ``a`` (C's). Floats as PyTorch computes them: from
    ``fmod``, plus ``b`` where the signs differ (so ``-4 % 2`` is ``-0.0`` there, NumPy's
    ``+0.0``); NaN where ``b`` is 0. Gradients ``gy`` and ``-gy * floor(a / b)`` (``trunc``)."""

    def __init__(self, fmod=False):
        self.fmod = fmod

    def _value(self, xp, a, b):
        if a.dtype.kind in "iub" and b.dtype.kind in "iub":
            r = xp.fmod(a, b) if self.fmod else xp.remainder(a, b)
            return r
        m = xp.fmod(a, b)
        if self.fmod:
            return m
        return xp.where((m != 0) & ((b < 0) != (m < 0)), m + b, m).astype(m.dtype, copy=False)

    def _grads(self, xp, gy, a, b, y):
        q = (_trunc_div if self.fmod else _floor_div)(xp, a, b)
        return gy, -gy * q


def _division_pair(op, a, b):
    """``a`` and ``b`` as Tensors of PyTorch's result dtype; an integer zero divisor raised on
    only where that dtype is an integer one (a float array over an integer 0 gives inf)."""
    a, b = _as_result(a, b)
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        raise TypeError(f"{op}: not defined for two bool tensors (as PyTorch); cast to a number type")
    _nonzero_divisor(op, b)
    return a, b


def div(input, other, *, rounding_mode=None):
    """``input / other``, broadcast (PyTorch's ``torch.div``): a true division (integers give
    float32) with ``rounding_mode`` None; ``"trunc"`` rounds towards 0 and ``"floor"`` down,
    integers staying integers (an integer zero divisor raises ZeroDivisionError), with a zero
    gradient.

    >>> x, y = Tensor(np.array([7, -7])), Tensor(np.array([2, 2]))
    >>> div(x, y).numpy()
    array([ 3.5, -3.5], dtype=float32)
    >>> div(x, y, rounding_mode="trunc").numpy(), div(x, y, rounding_mode="floor").numpy()
    (array([ 3, -3]), array([ 3, -4]))
    """
    if rounding_mode is None:   # a true division: integers (and bools) give float32
        dtype = _result_dtype(input, other)
        return _Div()(*_as_result(input, other, dtype=dtype if dtype.kind == "f" else np.float32))
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    return RoundedDiv(rounding_mode)(*_division_pair("div", input, other))


def true_divide(input, other):
    """``div(input, other)``: the true division, PyTorch's alias.

    >>> true_divide(Tensor(np.array([1])), 4).numpy()
    array([0.25], dtype=float32)
    """
    return div(input, other)


def floor_divide(input, other):
    """``floor(input / other)`` (PyTorch's ``torch.floor_divide``, ``//``):
    ``div(input, other, rounding_mode="floor")``.

    >>> floor_divide(Tensor(np.array([7, -7])), 2).numpy()
    array([ 3, -4])
    """
    return div(input, other, rounding_mode="floor")


def remainder(input, other):
    """``input - other * floor(input / other)``, the sign of ``other`` (PyTorch's
    ``torch.remainder``, ``%``, Python's). NaN where a float divisor is 0; an integer 0 raises.
    Gradients ``1`` and ``-floor(input / other)``.

    >>> remainder(Tensor(np.array([-3, 3])), 2).numpy(), remainder(Tensor(np.array([3.0])), -2).numpy()
    (array([1, 1]), array([-1.]))
    """
    return Remainder()(*_division_pair("remainder", input, other))


def fmod(input, other):
    """``input - other * trunc(input / other)``, the sign of ``input`` (PyTorch's
    ``torch.fmod``, C's). Gradients ``1`` and ``-trunc(input / other)``.

    >>> fmod(Tensor(np.array([-3, 3])), 2).numpy()
    array([-1,  1])
    """
    return Remainder(fmod=True)(*_division_pair("fmod", input, other))


def _scaled(op, name, t, alpha):
    """``alpha * t`` for add, sub, addcmul and addcdiv, ``t`` a Tensor already in the result's
    dtype (``t`` itself where alpha is 1). As PyTorch's, the result's dtype decides what alpha
    may be: a bool only for a bool result (where alpha is a truth value: bools stay bools),
    a float only for a float one, an integer one that the dtype holds (c10's range)."""
    kind = t.dtype.kind
    if isinstance(alpha, (bool, np.bool_)) and kind != "b":
        raise TypeError(f"{op}: {name}={alpha!r}: a bool {name} is only taken for bool results")
    if not isinstance(alpha, numbers.Number):
        raise TypeError(f"{op}: {name} must be a number, got {type(alpha).__name__} {alpha!r}")
    if kind != "f" and isinstance(alpha, (float, np.floating)):
        raise TypeError(f"{op}: {name}={alpha!r}: for integer tensors {name} must be an integer "
                        "(as PyTorch)")
    alpha = alpha.item() if isinstance(alpha, np.generic) else alpha
    if kind == "b":
        alpha = bool(alpha)
    _check_number_fits(op, name, alpha, t.dtype)
    if alpha == 1:
        return t
    return _Mul()(*_as_result(t, alpha, dtype=t.dtype))


def add(input, other, *, alpha=1):
    """``input + alpha * other``, broadcast, in the graph (PyTorch's ``torch.add``), PyTorch's
    result dtype (``_result_dtype``; ``alpha`` has no say in it).

    >>> add(Tensor(np.array([1.0, 2.0])), Tensor(np.array([1.0, 1.0])), alpha=10).numpy()
    array([11., 12.])
    >>> add(Tensor(np.array([True, False])), 2, alpha=2).numpy()
    array([5, 4])
    """
    a, b = _as_result(input, other)
    return _Add()(a, _scaled("add", "alpha", b, alpha))


def sub(input, other, *, alpha=1):
    """``input - alpha * other``, broadcast, in the graph (PyTorch's ``torch.sub``); a bool
    operand (a Tensor, an array or a number) is refused, as there (``^`` is two masks'
    difference, ``~`` a mask's inverse).

    >>> sub(Tensor(np.array([1.0, 2.0])), 1.0, alpha=2).numpy()
    array([-1.,  0.])
    """
    if any((_number_dtype(x) if _is_number(x) else as_tensor(x).dtype) == np.bool_
           for x in (input, other)):
        raise TypeError("sub: subtraction with a bool operand is not taken (as PyTorch); use ^ "
                        "(logical xor), ~ (logical not) or cast to a number type")
    a, b = _as_result(input, other)
    return _Sub()(a, _scaled("sub", "alpha", b, alpha))


def mul(input, other):
    """``input * other``, broadcast, in the graph (PyTorch's ``torch.mul``).

    >>> mul(Tensor(np.array([1.0, 2.0])), 3.0).numpy(), mul(Tensor(np.array([True, False])), 2).numpy()
    (array([3., 6.]), array([2, 0]))
    """
    return _Mul()(*_as_result(input, other))


# --------------------------------------------------------------------- three operands
class Lerp(Function):
    """``start + weight (end - start)``, written as PyTorch's kernel writes it so the ends are
    exact: ``end - (end - start)(1 - weight)`` from ``weight >= 0.5`` on. Gradients
    ``gy (1 - w)``, ``gy w`` and ``gy (end - start)``, each summed back over a broadcast."""

    def forward(self, s, e, w):
        self.s, self.e, self.w = s, e, w
        with np.errstate(invalid="ignore", over="ignore"):
            d = e - s
            y = get_array_module(s).where(abs(w) < 0.5, s + w * d, e - d * (1 - w))
        return y.astype(s.dtype, copy=False)

    def backward(self, gy):
        s, e, w = self.s, self.e, self.w
        with np.errstate(invalid="ignore", over="ignore"):   # inf - inf, as in PyTorch's: NaN
            return _summed_back(self, (gy * (1 - w), gy * w, gy * (e - s)), (s.shape, e.shape, w.shape),
                                gy.dtype)


def lerp(input, end, weight):
    """``input + weight * (end - input)``, broadcast (PyTorch's ``torch.lerp``): ``input`` and
    ``end`` float Tensors of one dtype, ``weight`` a number or a Tensor of it; exact at
    ``weight`` 0 and 1. The gradient goes to all three.

    >>> lerp(Tensor(np.array([0.0, 10.0])), Tensor(np.array([1.0, 20.0])), 0.25).numpy()
    array([ 0.25, 12.5 ])
    """
    input, end = as_tensor(input), as_tensor(end, like=input if isinstance(input, Tensor) else None)
    _check_floating("lerp", input)
    if end.dtype != input.dtype:
        raise TypeError(f"lerp: input and end must share one dtype, got {input.dtype} and {end.dtype}")
    if isinstance(weight, Tensor):
        if weight.dtype != input.dtype:
            raise TypeError(f"lerp: weight must have the input's dtype {input.dtype}, got "
                            f"{weight.dtype}")
    elif isinstance(weight, bool) or not isinstance(weight, numbers.Real):
        raise TypeError(f"lerp: weight must be a number or a Tensor, got "
                        f"{type(weight).__name__} {weight!r}")
    else:
        weight = Tensor(get_array_module(input.data).asarray(weight, dtype=input.dtype))
    return Lerp()(input, end, weight)


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``, broadcast, in the graph (PyTorch's
    ``torch.addcmul``); a float ``value`` is refused with integer tensors.

    >>> x, a, b = Tensor(np.zeros(2)), Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0, 4.0]))
    >>> addcmul(x, a, b, value=0.5).numpy()
    array([1.5, 4. ])
    """
    x, t1, t2 = _as_result(input, tensor1, tensor2)   # the three's result dtype, PyTorch's
    return _Add()(x, _scaled("addcmul", "value", _Mul()(t1, t2), value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``, broadcast, in the graph (PyTorch's
    ``torch.addcdiv``: Adam's step); integer ``tensor1`` and ``tensor2`` are refused, as there.

    >>> x, a, b = Tensor(np.ones(2)), Tensor(np.array([1.0, 2.0])), Tensor(np.array([4.0, 4.0]))
    >>> addcdiv(x, a, b, value=2).numpy()
    array([1.5, 2. ])
    """
    t1, t2 = as_tensor(tensor1), as_tensor(tensor2)
    if _integer(t1) and _integer(t2):
        raise TypeError(f"addcdiv: integer division is not taken (tensor1 {t1.dtype}, tensor2 "
                        f"{t2.dtype}), as PyTorch's; cast them to floats")
    x, t1, t2 = _as_result(input, t1, t2)
    return _Add()(x, _scaled("addcdiv", "value", _Div()(t1, t2), value))
