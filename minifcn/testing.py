"""Gradient checking by float64 finite differences, and tie-free test inputs.

:func:`gradcheck` compares the autograd gradient of ``L = sum(fn(*inputs) * u)`` (``u`` a fixed
random upstream gradient, so every output element matters with its own weight) with central
differences ``(L(x + eps e) - L(x - eps e)) / 2 eps``:

* small inputs: every element ``e`` of every input, one at a time (the whole Jacobian row);
* large inputs: a few random unit directions ``d``, comparing ``<grad, d>`` with the
  directional difference, which tests every element at once.

Use float64: in float32 the rounding error of a difference quotient swamps the tolerance. And
keep ``u`` unrelated to the inputs: batch norm's input gradient removes, per channel, every part
of ``u`` that is constant or proportional to the normalised input, so a ``u`` drawn from the same
seed as ``x`` (an affine map of it) leaves a zero gradient that any backward "matches". ``u``
therefore comes from a random stream of its own.

>>> import numpy as np
>>> from minifcn import functional as F
>>> x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
>>> W = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
>>> gradcheck(lambda x, W: F.conv2d(x, W, stride=2, padding=1), [x, W])
True
"""
from __future__ import annotations

import math

import numpy as np

from .autograd import Tensor
from .backend import get_array_module, to_numpy


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6, wrt=None, max_elements=256,
              directions=3, seed=0, raise_exception=True):
    """Check ``fn``'s backward against finite differences; True, or raise GradcheckError.

    Central differences in float64 with ``eps = 1e-6`` are off by about ``eps**2`` times the
    third derivative (truncation, ~1e-12) plus ``1e-16 * |loss| / eps`` (rounding, ~1e-10 of
    the loss): ``rtol`` 1e-6 and ``atol`` 1e-8 leave room for both and still catch a backward
    wrong by a part in a million (they were 1e-3 and 1e-5, which let one 0.1 % wrong through).
    On a big output the rounding of the loss's sum outgrows ``atol``, which then rises to it
    (about ``1.8e-9 * sqrt(out.size) * mean |u * out|``).

    Args:
        fn: takes Tensors (one per input) and returns a Tensor.
        inputs: float64 arrays (NumPy or CuPy), or Tensors holding them (as
            ``torch.autograd.gradcheck`` takes them: where some require grad, those alone are
            checked, unless ``wrt`` says otherwise).
        wrt: indices of the inputs to check (default: all floating ones).
        max_elements: inputs up to this size are checked element by element, larger ones along
            ``directions`` random directions.
    """
    if isinstance(inputs, (Tensor, np.ndarray)) or not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)   # one input, as torch's gradcheck takes it too
    if wrt is None and any(isinstance(a, Tensor) and a.requires_grad for a in inputs):
        # Tensors say which inputs to check, as torch's gradcheck reads them
        wrt = [i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a.requires_grad]
    inputs = [a.data if isinstance(a, Tensor) else a for a in inputs]
    xp = get_array_module(*inputs)
    # A stream of its own: from default_rng(seed) itself, u would repeat test data drawn with the
    # same seed, and an upstream gradient equal to (an affine map of) the input is exactly what
    # batch norm's input gradient projects away: that check would pass whatever the backward.
    rng = np.random.default_rng([seed, 0x9C])
    for a in inputs:
        if a.dtype.kind == "f" and a.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs, got {a.dtype}: float32 differences are too noisy")
    wrt = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"] if wrt is None else list(wrt)

    tensors = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(inputs)]
    out = fn(*tensors)
    u = xp.asarray(rng.standard_normal(out.shape))  # upstream gradient
    (out * Tensor(u)).sum().backward()
    # The loss sums out.size terms u*out, each rounded: its rounding error grows about as
    # sqrt(out.size) * |u*out| * 1.1e-16, and divided by 2*eps it is a floor under any
    # tolerance (a 21-class log-softmax of 2x9x8 pixels: 4e-9 to 7e-8, past atol's 1e-8 on
    # NumPy 1.23's exp and log). Small outputs stay under atol.
    terms = np.abs(to_numpy(out.data) * to_numpy(u))
    atol = max(atol, 8 * np.finfo(np.float64).eps * math.sqrt(terms.size) * float(terms.mean()) / (2 * eps))

    def loss(arrays):
        return float((to_numpy(fn(*[Tensor(a) for a in arrays]).data) * to_numpy(u)).sum())

    for i in wrt:
        analytic = to_numpy(tensors[i].grad if tensors[i].grad is not None else xp.zeros_like(inputs[i]))
        base = [a.copy() for a in inputs]
        if inputs[i].size <= max_elements:
            numeric = np.zeros(inputs[i].shape)
            flat = base[i].reshape(-1)  # a view: edits change base[i]
            for k in range(flat.size):
                old = float(flat[k])
                flat[k] = old + eps
                plus = loss(base)
                flat[k] = old - eps
                minus = loss(base)
                flat[k] = old
                numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
            bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
            if bad.any():
                k = int(np.argmax(bad.reshape(-1)))
                where = tuple(int(j) for j in np.unravel_index(k, numeric.shape))
                msg = (f"gradcheck: input {i} element {where}: analytic "
                       f"{analytic.reshape(-1)[k]:.10g} vs numeric {numeric.reshape(-1)[k]:.10g} "
                       f"({int(bad.sum())} of {bad.size} elements differ)")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
        else:
            for _ in range(directions):
                d = rng.standard_normal(inputs[i].shape)
                d /= np.linalg.norm(d)
                dd = xp.asarray(d)
                plus = [a.copy() for a in inputs]
                minus = [a.copy() for a in inputs]
                plus[i] = plus[i] + eps * dd
                minus[i] = minus[i] - eps * dd
                numeric = (loss(plus) - loss(minus)) / (2 * eps)
                exact = float((analytic * d).sum())
                if not np.isclose(exact, numeric, atol=atol, rtol=rtol):
                    msg = f"gradcheck: input {i}, random direction: analytic {exact:.10g} vs numeric {numeric:.10g}"
                    if raise_exception:
                        raise GradcheckError(msg)
                    return False
    return True


def distinct_values(shape, seed=0, gap=1e-2, xp=np):
    """A float64 array of ``shape`` whose values are all different by at least ``gap``.

    A random permutation of ``0, gap, 2*gap, ...``, shifted to be centred on zero: max-pooling
    inputs without ties, so a finite-difference step (far smaller than ``gap``) never changes
    which element wins a window.

    >>> v = distinct_values((2, 3))
    >>> len(set(v.ravel().tolist())), v.shape
    (6, (2, 3))
    """
    n = int(np.prod(shape))
    vals = (np.random.default_rng(seed).permutation(n) - n / 2) * gap
    return xp.asarray(vals.reshape(shape))
