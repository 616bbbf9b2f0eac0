"""Random tensors, as PyTorch's: ``rand``, ``randn``, ``randint``, their ``*_like`` forms,
``randperm``, ``normal``, ``bernoulli`` and ``multinomial``.

Every draw comes from minifcn's own generators (:mod:`minifcn.backend`), the ones dropout and
weight initialisation draw from: NumPy's ``Generator`` on the CPU, CuPy's global one on a GPU.
``minifcn.manual_seed(s)`` seeds both, so a seed gives the same values again on each device;
never PyTorch's values (its generators are others), nor the same values on the CPU and a GPU.

The draws are outside any graph; ``requires_grad`` makes the result a leaf that takes a
gradient (a float one only). The keywords are PyTorch's (``dtype``, ``device``,
``requires_grad``) but for ``generator=``: there is one generator per device here.

>>> import minifcn
>>> _ = minifcn.manual_seed(0); a = minifcn.rand(2, 3)
>>> _ = minifcn.manual_seed(0); b = minifcn.rand(2, 3)
>>> minifcn.equal(a, b), a.dtype, minifcn.randint(5, (4,)).dtype
(True, dtype('float32'), dtype('int64'))
"""
from __future__ import annotations

import numbers
import operator
import warnings

import numpy as np

from . import backend
from .autograd import Tensor
from .creation import _count, _like, _made, _shape
from .ops import _sizes

__all__ = ["rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm",
           "normal", "bernoulli", "multinomial"]


def _float_dtype(op, dtype, default=np.float32):
    """``dtype`` (or ``default``) checked to be float32 or float64: uniform draws are made in
    it, and a float16 cast of a float64 draw below 1 could round to 1."""
    dtype = np.dtype(default if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dtype}")
    return dtype


def _float_input(op, t):
    """``t`` as a Tensor holding floats, else TypeError (PyTorch refuses integer ones too)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got {t.dtype}")
    return t


def rand(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) of shape ``size`` (``rand(2, 3)``, ``rand((2, 3))`` or
    ``rand(size=(2, 3))``), float32 by default, as ``torch.rand``.

    >>> t = rand(1000); t.shape, bool((t >= 0).all() and (t < 1).all())
    ((1000,), True)
    """
    xp = backend.xp_for(device)
    return _made(backend.random_uniform(xp, _shape("rand", sizes, size), _float_dtype("rand", dtype)), requires_grad)


def randn(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples (mean 0, variance 1) of shape ``size``, float32 by default, as
    ``torch.randn``: drawn in float64, then cast.

    >>> randn(2, 3, dtype="float64").dtype
    dtype('float64')
    """
    dtype = _float_dtype("randn", dtype)
    xp = backend.xp_for(device)
    return _made(backend.random_normal(xp, _shape("randn", sizes, size)).astype(dtype, copy=False), requires_grad)


def _integer_range(op, low, high, dtype):
    """``(low, high)`` checked: ints, ``low < high``, and ``low .. high - 1`` within ``dtype``;
    for a float dtype, within its finite range, with PyTorch's warning past ``2**digits``,
    where it no longer holds every integer (float16: 2048, float32: 2**24)."""
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{op}: {name} must be an int, got {v!r}")
    low, high = int(low), int(high)
    if low >= high:
        raise ValueError(f"{op}: expected low < high, got low={low} and high={high}")
    if dtype.kind not in "iuf":
        raise TypeError(f"{op}: dtype must be an integer or float dtype, got {dtype}")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if low < info.min or high - 1 > info.max:
            raise ValueError(f"{op}: [{low}, {high}) does not fit in {dtype} "
                             f"([{info.min}, {info.max}])")
    else:
        top, digits = int(np.finfo(dtype).max), np.finfo(dtype).nmant + 1
        if low < -top or high - 1 > top:   # the cast would make inf
            raise ValueError(f"{op}: [{low}, {high}) does not fit in {dtype} ([{-top}, {top}])")
        if low < -2**digits or high - 1 > 2**digits:
            warnings.warn(f"{op}: [{low}, {high}) goes past [-(2^{digits}), 2^{digits}], where "
                          f"{dtype} holds every integer: some values cannot be drawn, others "
                          "come more often (PyTorch warns too)", stacklevel=3)
    if high - low > 2**63 - 1:   # the generators draw int64
        raise ValueError(f"{op}: the range [{low}, {high}) is wider than int64 holds")
    return low, high


def randint(low=None, high=None, size=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Integers drawn evenly from ``low .. high - 1`` (``low`` 0 when left out), of shape
    ``size``, int64 by default, as ``torch.randint``: ``randint(10, (2, 3))``,
    ``randint(5, 10, (4,))``, ``randint(5, size=(4,))``, ``randint(high=5, size=(4,))``. A
    float dtype holds whole numbers: bounds past its largest value are refused, past
    ``2**digits`` (float16: 2048, float32: 2**24) they warn, as PyTorch's.

    >>> t = randint(3, 6, (100,)); t.dtype, sorted(set(t.tolist()))
    (dtype('int64'), [3, 4, 5])
    """
    if size is None and isinstance(high, (tuple, list)):   # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:   # randint(high, size=...)
        low, high = 0, low
    elif low is None:   # randint(high=..., size=...)
        low = 0
    if high is None:
        raise TypeError("randint: high is required, e.g. randint(10, (2, 3))")
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(10, (2, 3))")
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    low, high = _integer_range("randint", low, high, dtype)
    xp = backend.xp_for(device)
    values = backend.random_integers(xp, low, high, _sizes((size,)))
    return _made(values.astype(dtype, copy=False), requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """:func:`rand` of ``input``'s shape, dtype and device (each may be changed), as
    ``torch.rand_like``; the dtype must be a float one."""
    xp, dtype, shape = _like(input, dtype, device)
    return _made(backend.random_uniform(xp, shape, _float_dtype("rand_like", dtype)), requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """:func:`randn` of ``input``'s shape, dtype and device (each may be changed), as
    ``torch.randn_like``; the dtype must be a float one."""
    xp, dtype, shape = _like(input, dtype, device)
    dtype = _float_dtype("randn_like", dtype)
    return _made(backend.random_normal(xp, shape).astype(dtype, copy=False), requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """:func:`randint` of ``input``'s shape, dtype and device (each may be changed), as
    ``torch.randint_like``: ``randint_like(t, high)`` or ``randint_like(t, low, high)``; a
    float tensor gets whole numbers in its dtype.

    >>> import minifcn
    >>> randint_like(minifcn.zeros(3), 1, 2).numpy()
    array([1., 1., 1.], dtype=float32)
    """
    if high is None:
        low, high = 0, low
    xp, dtype, shape = _like(input, dtype, device)
    low, high = _integer_range("randint_like", low, high, dtype)
    return _made(backend.random_integers(xp, low, high, shape).astype(dtype, copy=False), requires_grad)


def randperm(n, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of ``0 .. n - 1``, int64 by default, as ``torch.randperm``: the
    order that sorts ``n`` uniform float64 draws (every order equally likely, but where two
    draws tie: a chance of about ``n**2 / 2**54``). A float dtype must hold every value
    exactly: ``n`` at most ``2**digits + 1`` (float16: 2049, float32: 2**24 + 1), as PyTorch's.

    >>> sorted(randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    n = _count("randperm", "n", n)
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype.kind in "iu" and n - 1 > np.iinfo(dtype).max:
        raise ValueError(f"randperm: n = {n} does not fit in {dtype}")
    if dtype.kind == "f" and n > 2 ** (np.finfo(dtype).nmant + 1) + 1:   # PyTorch's bound
        digits = np.finfo(dtype).nmant + 1
        raise ValueError(f"randperm: n cannot be greater than 2^{digits}+1 for {dtype}: past "
                         f"2^{digits} it does not hold every integer")
    xp = backend.xp_for(device)
    order = xp.argsort(backend.random_uniform(xp, (n,), np.float64))
    return _made(order.astype(dtype, copy=False), requires_grad)


def _on_device_of(op, values, like):
    """``values`` (a Tensor or a number) as an array on the device of Tensor ``like``."""
    if isinstance(values, Tensor):
        if values.device != like.device:
            raise ValueError(f"{op}: the tensors are on {like.device} and {values.device}; "
                             "move one with .to()")
        return values.data
    return values


def normal(mean, std=1.0, size=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Normal samples, ``mean + std * randn``, as ``torch.normal``: with a Tensor ``mean``
    and/or ``std``, one sample for each position (the two broadcast; the dtype and device of
    ``mean``, or of ``std`` when only it is a Tensor);
    with two numbers, of shape ``size`` (float32 by default). ``std`` must be >= 0.

    PyTorch's result takes a gradient of zero for a ``mean`` or ``std`` that requires one;
    here it is outside the graph (the same zero, without the graph).

    >>> import minifcn
    >>> normal(minifcn.tensor([0.0, 100.0]), 0.0).numpy(), normal(2.0, 3.0, (2, 2)).shape
    (array([  0., 100.], dtype=float32), (2, 2))
    """
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    for name, v in (("mean", mean), ("std", std)):
        if not isinstance(v, Tensor) and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            raise TypeError(f"normal: {name} must be a Tensor or a number, got {type(v).__name__}")
    if tensors:
        if size is not None or dtype is not None or device is not None:
            raise TypeError("normal: size, dtype and device are taken with a number mean and std "
                            "only; a Tensor's give the result's")
        for t in tensors:
            _float_input("normal", t)
        like = tensors[0]
        m, s = _on_device_of("normal", mean, like), _on_device_of("normal", std, like)
        xp = backend.get_array_module(like.data)
        dtype = like.dtype   # mean's when it is a Tensor, as PyTorch's
        shape = np.broadcast_shapes(*[np.shape(v) for v in (m, s)])
    else:
        if size is None:
            raise TypeError("normal: with a number mean and std, give size, e.g. normal(0.0, 1.0, (2, 3))")
        m, s = float(mean), float(std)
        xp, dtype, shape = backend.xp_for(device), _float_dtype("normal", dtype), _sizes((size,))
    if not bool(xp.all(xp.asarray(s) >= 0)):   # NaN fails it too
        got = f"{s}" if np.isscalar(s) else "a tensor with a negative value or NaN"
        raise ValueError(f"normal: std must be >= 0 everywhere, got {got}")
    values = m + s * backend.random_normal(xp, shape)
    return _made(values.astype(dtype, copy=False), requires_grad)


def bernoulli(input, p=None) -> Tensor:
    """Zeros and ones, 1 with probability ``input`` at each position (or ``p``, one number for
    all, as ``torch.bernoulli(input, p)``), in ``input``'s dtype and on its device, outside
    the graph. Each probability must lie in [0, 1].

    >>> import minifcn
    >>> bernoulli(minifcn.tensor([0.0, 1.0, 1.0])).numpy()
    array([0., 1., 1.], dtype=float32)
    """
    input = _float_input("bernoulli", input)
    xp = backend.get_array_module(input.data)
    if p is None:
        probs = input.data
        if not bool(xp.all((probs >= 0) & (probs <= 1))):   # NaN fails it too
            raise ValueError("bernoulli: every probability must lie in [0, 1]; the input has "
                             "values outside it (or NaN)")
    else:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"bernoulli: p must be a number in [0, 1], got {p!r}")
        probs = float(p)
    # u < p: u in [0, 1) lands below p with probability p, never for 0, always for 1
    u = backend.random_uniform(xp, input.shape, np.float64)
    return Tensor((u < probs).astype(input.dtype))


def multinomial(input, num_samples, replacement=False) -> Tensor:
    """Category indices drawn with probabilities proportional to ``input``'s weights, as
    ``torch.multinomial``: ``input`` (k,) or (rows, k) of non-negative finite weights (they
    need not sum to 1), the result (num_samples,) or (rows, num_samples), int64.

    With ``replacement``: each draw is the category where a uniform ``u`` falls in the
    cumulative weights, divided by their total (a zero weight is never drawn). Without: each
    category gets the key ``log(1 - u) / w`` and the ``num_samples`` largest keys are drawn,
    in that order (the exponential race, Efraimidis and Spirakis 2006): the same distribution
    as drawing one at a time and taking each drawn category out. Categories of zero weight
    come only after all the others, in their order (PyTorch's draws them last too).

    >>> import minifcn
    >>> multinomial(minifcn.tensor([0.0, 1.0, 0.0]), 3, replacement=True).tolist()
    [1, 1, 1]
    >>> sorted(multinomial(minifcn.tensor([1.0, 2.0, 3.0]), 3).tolist())
    [0, 1, 2]
    """
    input = _float_input("multinomial", input)
    if input.ndim not in (1, 2):
        raise ValueError(f"multinomial: expected a 1-d or 2-d tensor of weights, got shape "
                         f"{tuple(input.shape)}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples < 1:
        raise ValueError(f"multinomial: num_samples must be an int >= 1, got {num_samples!r}")
    num_samples = operator.index(num_samples)
    k = input.shape[-1]
    if k == 0:
        raise ValueError(f"multinomial: no categories to draw from (shape {tuple(input.shape)})")
    if not replacement and num_samples > k:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples from {k} categories "
                         "without replacement")
    xp = backend.get_array_module(input.data)
    w = input.data.reshape(-1, k).astype(np.float64)
    rows = w.shape[0]
    if rows == 0:   # (0, k) weights: (0, num_samples) draws, as PyTorch's
        return Tensor(xp.zeros((0, num_samples), dtype=np.int64))
    if not bool(xp.all(xp.isfinite(w) & (w >= 0))):
        raise ValueError("multinomial: the weights must be finite and >= 0; got inf, NaN or a "
                         "negative one")
    total = w.sum(axis=1)
    if not bool(xp.all(total > 0)):
        raise ValueError("multinomial: every row of weights must have a positive sum; a row "
                         "sums to 0")
    u = backend.random_uniform(xp, (rows, num_samples if replacement else k), np.float64)
    if replacement:
        # Divided by the running sum's own last value (w.sum() adds in another order and may
        # differ in the last bits): c = 1 exactly from the last nonzero weight L on, and u < 1,
        # so the count of c <= u is at most L; a zero weight repeats the c before it, so it is
        # never drawn. One searchsorted per row: an exact search, no (rows, samples, k) compare.
        c = xp.cumsum(w, axis=1)
        c = c / c[:, -1:]
        drawn = xp.stack([xp.searchsorted(c[r], u[r], side="right") for r in range(rows)])
    else:
        with np.errstate(divide="ignore", invalid="ignore"):   # a zero weight: key -inf, drawn last
            keys = xp.where(w > 0, xp.log1p(-u) / w, -np.inf)
        drawn = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor(drawn.astype(np.int64, copy=False).reshape(input.shape[:-1] + (num_samples,)))
