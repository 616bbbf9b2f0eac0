"""Gradient clipping, as PyTorch's ``torch.nn.utils``; also reached as ``minifcn.nn.utils``.

:func:`clip_grad_norm_` rescales all gradients together so that their joint norm is at most
``max_norm``; :func:`clip_grad_value_` clamps each value. Both change ``.grad`` in place (the
trailing underscore), after ``loss.backward()`` and before ``optimizer.step()``.

The norm is summed in float64 over chunks of :data:`NORM_CHUNK` values (:func:`global_norm`),
so a float32 gradient of a hundred million values (FCN's fc6) adds up without a float32 sum's
drift and without a float64 copy of the whole array.

>>> import numpy as np
>>> from minifcn.nn import Parameter
>>> p = Parameter(np.zeros(2, np.float32)); p.grad = np.array([3.0, 4.0], np.float32)
>>> clip_grad_norm_([p], max_norm=1.0)          # the norm before clipping
tensor(5., dtype=float32)
>>> p.grad.round(4)
array([0.6, 0.8], dtype=float32)
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .autograd import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "global_norm"]

NORM_CHUNK = 1 << 20


def global_norm(arrays) -> float:
    """The L2 norm of all ``arrays`` together, squared and summed in float64 over chunks of
    ``NORM_CHUNK`` values: the same sums as over whole float64 copies (an array of at most a
    chunk gives the very same bits), without those copies (fc6's gradient at full width: 822
    MB; the whole FCN-8s took 198-1450 ms, 138 ms in chunks). A float32 dot product would take
    20 ms, but was 0.1 % off over fc6, and the main job, whose first steps are clipped, ended
    at 0.893 mean IoU instead of 0.920: another trajectory.

    >>> global_norm([np.full(3, 2.0, np.float32), np.full((2, 2), 1.0, np.float32)])
    4.0
    """
    return math.sqrt(_chunked_sum(arrays, lambda xp, c: xp.square(c, dtype=xp.float64)))


def _chunked_sum(arrays, term) -> float:
    """The sum of ``term(xp, chunk)`` (float64 values) over every ``NORM_CHUNK`` values of
    ``arrays``: no float64 copy of a whole array, one transfer from a GPU, at the end."""
    total = 0.0
    for a in arrays:
        xp = backend.get_array_module(a)
        flat = a.reshape(-1)
        for i in range(0, flat.size, NORM_CHUNK):
            total = total + xp.sum(term(xp, flat[i:i + NORM_CHUNK]))
    return float(total)


def _norm_type(norm_type) -> float:
    """``norm_type`` as a float (``"inf"`` taken, as PyTorch takes it), positive or inf."""
    try:
        p = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"norm_type must be a number or 'inf', got {norm_type!r}") from None
    if not p > 0:   # PyTorch's 0 counts the tensors with a nonzero norm, not the values
        raise ValueError(f"norm_type must be positive or inf, got {norm_type!r}")
    return p


def _total_norm(arrays, p: float) -> float:
    """The ``p``-norm of all values of ``arrays`` together (float64 sums, in chunks)."""
    if p == 2.0:
        return global_norm(arrays)
    if p == math.inf:   # np.max, not Python's max: a NaN wins wherever it stands
        return float(np.max([float(abs(a).max()) for a in arrays if a.size] or [0.0]))
    def term(xp, chunk):
        part = xp.abs(chunk.astype(xp.float64))
        return part if p == 1.0 else part ** p
    return _chunked_sum(arrays, term) ** (1.0 / p)


def _with_grads(parameters):
    """The tensors of ``parameters`` (one Tensor or an iterable of them) that have a ``.grad``."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of ``parameters`` together so that their joint ``norm_type``-norm is
    at most ``max_norm``, in place; return the norm before clipping, as PyTorch's.

    The norm is that of all gradient values as one vector (the norm of the per-tensor norms).
    Each gradient is multiplied by ``max_norm / (norm + 1e-6)`` when that is below 1 (PyTorch's
    factor; the ``1e-6`` keeps a zero norm harmless), else left alone. A non-finite norm scales
    them by NaN or 0, as PyTorch's, unless ``error_if_nonfinite`` raises RuntimeError first.

    Args:
        parameters: a Tensor or an iterable of Tensors; those whose ``.grad`` is None are skipped.
        max_norm: the largest norm allowed (a number >= 0).
        norm_type: ``p`` > 0 of the p-norm, or ``inf`` (also ``"inf"``): the largest ``|g|``.
        error_if_nonfinite: raise RuntimeError if the norm is NaN or infinite (nothing is changed).
        foreach: taken for PyTorch's code; there is one code path.

    Returns:
        The total norm, a 0-d Tensor in the gradients' dtype on their device (float32 zero when
        no parameter has a gradient).

    >>> import numpy as np
    >>> g = [np.array([1.0, -2.0]), np.array([2.0])]
    >>> ps = [Tensor(np.zeros_like(a), requires_grad=True) for a in g]
    >>> for p, a in zip(ps, g): p.grad = a
    >>> clip_grad_norm_(ps, 1.5, norm_type="inf").item(), ps[0].grad.round(4).tolist()
    (2.0, [0.75, -1.5])
    """
    grads = [p.grad for p in _with_grads(parameters)]
    p = _norm_type(norm_type)
    max_norm = float(max_norm)
    if not max_norm >= 0:   # a negative one would flip every gradient
        raise ValueError(f"clip_grad_norm_: max_norm must be a number >= 0, got {max_norm}")
    if not grads:
        return Tensor(np.zeros((), np.float32))
    total = _total_norm(grads, p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale "
                           "the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:   # NaN too: the gradients become NaN, as PyTorch's
        for g in grads:
            g *= coef     # a Python float: a float32 gradient stays float32
    xp = backend.get_array_module(grads[0])
    return Tensor(xp.asarray(total, dtype=np.result_type(*[g.dtype for g in grads])))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient value of ``parameters`` into ``[-clip_value, clip_value]``, in
    place, as PyTorch's (which returns None too). Tensors whose ``.grad`` is None are skipped.

    >>> import numpy as np
    >>> p = Tensor(np.zeros(3), requires_grad=True); p.grad = np.array([-2.0, 0.5, 3.0])
    >>> clip_grad_value_(p, 1.0); p.grad
    array([-1. ,  0.5,  1. ])
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:   # PyTorch's would set every value to the negative bound
        raise ValueError(f"clip_grad_value_: clip_value must be a number >= 0, got {clip_value}")
    for p in _with_grads(parameters):
        backend.get_array_module(p.grad).clip(p.grad, -clip_value, clip_value, out=p.grad)
