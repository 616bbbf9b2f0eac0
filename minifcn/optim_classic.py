"""The classic optimizers of ``torch.optim`` that are not Adam's relatives, PyTorch's algorithms:
:class:`Adadelta` (a step in the units of the parameter, no rate to tune), :class:`ASGD` (SGD
with a decaying rate and a running average of the parameter) and :class:`Rprop` (a step per
weight that grows while the gradient keeps its sign and shrinks when it flips).
``minifcn.optim`` imports them: ``minifcn.optim.Adadelta`` and so on, as ``torch.optim.Adadelta``.

Each keeps, per parameter, PyTorch's state (names and meanings), made at the parameter's first
step with a gradient; the state dict holds it as :class:`~minifcn.optim.Adam`'s does. Every
update is written in place, in the parameter's dtype (the scalars are cast to it first, as
PyTorch's kernels do), on its device.

>>> import numpy as np
>>> from minifcn.nn import Parameter
>>> p = Parameter(np.array([1.0, 1.0]))
>>> opt = Rprop([p], lr=0.1)
>>> p.grad = np.array([3.0, -1000.0]); opt.step(); p.data     # a step of lr against the sign
array([0.9, 1.1])
"""
from __future__ import annotations

import math

from . import backend
from .functional import _flag
from .optim import Optimizer, _nonnegative_options, _number


def _adadelta_update(p, g, s, u, lr, rho, eps, wd):
    """One Adadelta step of the array ``p`` in place, PyTorch's::

        g = g + wd*p
        s = rho*s + (1 - rho)*g*g                   a running mean of the gradient's square...
        d = sqrt(u + eps) / sqrt(s + eps) * g
        u = rho*u + (1 - rho)*d*d                   ...and of the step's
        p = p - lr*d

    ``s`` and ``u`` are written in place."""
    xp = backend.get_array_module(p)
    c = p.dtype.type
    if wd:
        g = g + c(wd) * p
    s *= c(rho)
    s += c(1 - rho) * g * g
    d = xp.sqrt(u + c(eps))
    d /= xp.sqrt(s + c(eps))   # PyTorch's order: (sqrt(u + eps) / sqrt(s + eps)) * g
    d *= g
    u *= c(rho)
    u += c(1 - rho) * d * d
    p += c(-lr) * d


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), PyTorch's algorithm (the update: :func:`_adadelta_update`): the
    gradient scaled by the ratio of two running root mean squares, of the past steps over the
    past gradients, so that a step has the units of the parameter. ``lr`` (1.0 by default, as
    PyTorch's) only scales that step.

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`~minifcn.optim.SGD`'s
            (``lr_mult`` too).
        lr, rho, eps, weight_decay: defaults for every group, as PyTorch's (``rho`` 0.9, the
            running means' memory, in [0, 1]; ``eps`` 1e-6, which starts the steps: with ``u``
            at 0 the first is ``sqrt(eps / (1 - rho))`` times the gradient's sign, about:
            3.2 ``sqrt(eps)`` at the default ``rho``); ``maximize``
            keyword-only (PyTorch's 6th place, ``foreach``, is not taken).

    Each parameter keeps PyTorch's state: ``step`` (an int), ``square_avg`` (s) and
    ``acc_delta`` (u). It has no momentum: :class:`~minifcn.lr_scheduler.OneCycleLR` and
    ``CyclicLR`` need ``cycle_momentum=False`` with it.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0]))
    >>> opt = Adadelta([p], rho=0.5, eps=0.01)
    >>> p.grad = np.array([0.3]); opt.step(); p.data    # s = 0.045: 1 - sqrt(0.01 / 0.055) * 0.3
    array([0.87207957])
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize})

    def _check_options(self, group, where):
        """PyTorch's checks (lr, eps and weight decay >= 0, rho in [0, 1]), inf and NaN refused too."""
        _nonnegative_options(group, where, ("lr", "rho", "eps", "weight_decay", "lr_mult"))
        if group["rho"] > 1:   # the square's weight 1 - rho negative: a root of a negative mean
            raise ValueError(f"{where}: rho must be in [0, 1], got {group['rho']}")
        group["maximize"] = _flag(where, "maximize", group["maximize"])

    def _update(self, p, group, state):
        xp = backend.get_array_module(p.data)
        if not state:   # PyTorch's: made at the parameter's first step, zeros
            state.update(step=0, square_avg=xp.zeros_like(p.data), acc_delta=xp.zeros_like(p.data))
        state["step"] += 1
        _adadelta_update(p.data, -p.grad if group["maximize"] else p.grad, state["square_avg"],
                         state["acc_delta"], group["lr"] * group["lr_mult"], group["rho"], group["eps"],
                         group["weight_decay"])


def _asgd_update(p, g, ax, eta, mu, lambd, wd):
    """One ASGD step of the array ``p`` in place, PyTorch's, with this step's rate ``eta`` and
    averaging weight ``mu`` (both made by the step before)::

        g = g + wd*p
        p = p * (1 - lambd*eta) - eta*g
        ax = p  if mu == 1, else  ax = ax + mu*(p - ax)

    ``ax`` is written in place."""
    c = p.dtype.type
    if wd:
        g = g + c(wd) * p
    p *= c(1 - lambd * eta)
    p += c(-eta) * g
    if mu != 1:
        ax += (p - ax) * c(mu)
    else:   # PyTorch's: a copy, not a weighted sum with weight 1
        ax[...] = p


class ASGD(Optimizer):
    """Averaged SGD (Polyak and Juditsky, 1992; the rate of Bottou, 2012), PyTorch's algorithm
    (the update: :func:`_asgd_update`). At the parameter's ``t``-th step the rate is ``eta``
    and the average's weight ``mu``, both from step ``t - 1`` (``lr`` and 1 at the first)::

        p = p * (1 - lambd*eta) - eta*g         SGD, its rate and a decay of its own...
        ax = ax + mu*(p - ax)                   ...and the parameters' running average
        eta = lr / (1 + lambd*lr*t)**alpha      the next step's rate, decaying
        mu = 1 / max(1, t - t0)                 the next step's weight

    ``ax`` copies the parameter until step ``t0 + 2`` and from there on is the mean of the
    parameter's values after steps ``t0 + 2, ..., t``: read it from ``optimizer.state`` (it is
    not written into the parameter, as PyTorch's is not).

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`~minifcn.optim.SGD`'s
            (``lr_mult`` too).
        lr, lambd, alpha, t0, weight_decay: defaults for every group, as PyTorch's (``lr``
            1e-2, ``lambd`` 1e-4, ``alpha`` 0.75, ``t0`` 1e6), all finite and >= 0 (PyTorch's
            checks only ``lr`` and ``weight_decay``); ``maximize`` keyword-only (PyTorch's 7th
            place, after ``foreach``: given by place it would mean one thing here and another
            there).

    Each parameter keeps PyTorch's state: ``step`` (an int), ``eta`` and ``mu`` (floats:
    float64 whatever the parameter's dtype, where PyTorch's are tensors of its default dtype)
    and ``ax``. A new ``lr`` (a scheduler's) reaches ``eta`` one step late, as PyTorch's. It
    has no momentum: :class:`~minifcn.lr_scheduler.OneCycleLR` and ``CyclicLR`` need
    ``cycle_momentum=False`` with it.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0]))
    >>> opt = ASGD([p], lr=0.5, lambd=0.0, t0=0)
    >>> for g in (1.0, 1.0, 1.0):
    ...     p.grad = np.array([g]); opt.step()
    >>> p.data, opt.state[id(p)]["ax"]          # 0.5, 0, -0.5; ax the mean of the last two
    (array([-0.5]), array([-0.25]))
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, *, maximize=False):
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _check_options(self, group, where):
        """PyTorch's checks (lr and weight decay >= 0), and lambd, alpha and t0 finite and >= 0:
        a negative lambd grows the parameter and makes ``eta`` a root of a negative number, a
        negative alpha a rate that grows without end, a negative t0 an average weighted from
        before the first step."""
        _nonnegative_options(group, where, ("lr", "lambd", "alpha", "t0", "weight_decay", "lr_mult"))
        group["maximize"] = _flag(where, "maximize", group["maximize"])

    def _update(self, p, group, state):
        lr = group["lr"] * group["lr_mult"]
        if not state:   # PyTorch's: made at the parameter's first step
            state.update(step=0, eta=lr, mu=1.0, ax=backend.get_array_module(p.data).zeros_like(p.data))
        state["step"] += 1
        _asgd_update(p.data, -p.grad if group["maximize"] else p.grad, state["ax"], state["eta"],
                     state["mu"], group["lambd"], group["weight_decay"])
        t = state["step"]
        state["eta"] = lr / (1 + group["lambd"] * lr * t) ** group["alpha"]
        state["mu"] = 1 / max(1, t - group["t0"])


def _sign(a):
    """-1, 0 or 1 in ``a``'s dtype, and 0 at NaN, as PyTorch's ``sign`` (NumPy's gives NaN: a
    NaN gradient would write NaN into its weight, where PyTorch's step skips it)."""
    return (a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)


def _rprop_update(p, g, prev, size, etaminus, etaplus, size_min, size_max):
    """One Rprop step of the array ``p`` in place, PyTorch's (the variant without
    backtracking, Rprop-)::

        size = size * etaplus    where g*prev > 0   the sign held: a longer step
        size = size * etaminus   where g*prev < 0   it flipped (a minimum was jumped)...
        g = 0                    there              ...no step this time, nor a flip seen next
        size = clip(size, size_min, size_max)
        p = p - sign(g) * size;  prev = g

    ``prev`` and ``size`` are written in place."""
    xp = backend.get_array_module(p)
    c = p.dtype.type
    sign = _sign(g * prev)   # PyTorch's: of the product (0 where it underflows)
    size *= xp.where(sign > 0, c(etaplus), xp.where(sign < 0, c(etaminus), c(1)))
    xp.clip(size, c(size_min), c(size_max), out=size)
    g = xp.where(sign < 0, c(0), g)
    p -= _sign(g) * size
    prev[...] = g


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller and Braun, 1993), PyTorch's algorithm (the update:
    :func:`_rprop_update`): each weight moves by a step size of its own, against the sign of
    its gradient, whatever the gradient's size; the step grows by ``etaplus`` while the sign
    holds and shrinks by ``etaminus`` when it flips, within ``step_sizes``. Meant for full
    batches: a noisy gradient flips its sign by chance.

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`~minifcn.optim.SGD`'s
            (``lr_mult`` too).
        lr: each weight's first step size (1e-2, as PyTorch's); read once, at the parameter's
            first step, so a scheduler that changes it later changes nothing, as PyTorch's.
        etas: ``(etaminus, etaplus)``, with ``0 < etaminus < 1 < etaplus`` (PyTorch's (0.5, 1.2)).
        step_sizes: ``(min, max)``, the step sizes' bounds, ``0 <= min <= max`` (PyTorch's
            (1e-6, 50), which it does not check); ``maximize`` keyword-only.

    Each parameter keeps PyTorch's state: ``step`` (an int), ``prev`` (the last gradient, 0
    where it had flipped) and ``step_size``. It has no momentum: :class:`~minifcn.lr_scheduler.OneCycleLR`
    and ``CyclicLR`` need ``cycle_momentum=False`` with it.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([0.0, 0.0]))
    >>> opt = Rprop([p], lr=0.1)
    >>> for g in ([1.0, 1.0], [1.0, -1.0], [1.0, -1.0]):
    ...     p.grad = np.array(g); opt.step()
    >>> opt.state[id(p)]["step_size"], p.data      # 0.1, 0.12, 0.144 | 0.1, 0.05 (no step), 0.05
    (array([0.144, 0.05 ]), array([-0.364, -0.05 ]))
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, maximize=False):
        super().__init__(params, {"lr": lr, "etas": etas, "step_sizes": step_sizes, "maximize": maximize})

    def _check_options(self, group, where):
        """PyTorch's checks (lr >= 0, ``0 < etaminus < 1 < etaplus``), and step_sizes
        ``0 <= min <= max``; inf and NaN refused. ``etas`` and ``step_sizes`` made pairs of
        floats (lists after JSON)."""
        _nonnegative_options(group, where, ("lr", "lr_mult"))
        etaminus, etaplus = _pair(group, where, "etas", "(etaminus, etaplus)")
        if not (0 < etaminus < 1 < etaplus and math.isfinite(etaplus)):   # NaN too
            raise ValueError(f"{where}: etas must be (etaminus, etaplus) with 0 < etaminus < 1 < etaplus, "
                             f"finite, got {group['etas']}")
        lo, hi = _pair(group, where, "step_sizes", "(min, max)")
        if not (0 <= lo <= hi and math.isfinite(hi)):   # a min above the max: every size the max
            raise ValueError(f"{where}: step_sizes must be (min, max) with 0 <= min <= max, finite, "
                             f"got {group['step_sizes']}")
        group["maximize"] = _flag(where, "maximize", group["maximize"])

    def _update(self, p, group, state):
        xp = backend.get_array_module(p.data)
        if not state:   # PyTorch's: made at the parameter's first step; the sizes start at lr
            state.update(step=0, prev=xp.zeros_like(p.data),
                         step_size=xp.full_like(p.data, group["lr"] * group["lr_mult"]))
        state["step"] += 1
        _rprop_update(p.data, -p.grad if group["maximize"] else p.grad, state["prev"], state["step_size"],
                      *group["etas"], *group["step_sizes"])


def _pair(g, where, name, what):
    """Make group ``g``'s option ``name`` a pair of floats (a list after JSON), or raise a
    TypeError naming it; returns the pair."""
    v = g[name]
    if not isinstance(v, (tuple, list)) or len(v) != 2:
        raise TypeError(f"{where}: {name} must be a pair of numbers {what}, got {v!r}")
    g[name] = tuple(_number(where, name, x) for x in v)
    return g[name]
