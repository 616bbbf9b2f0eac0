"""Adam's relatives, PyTorch's algorithms: :class:`NAdam` (Nesterov's momentum in Adam),
:class:`RAdam` (Adam with its early steps' variance rectified) and :class:`Adamax` (Adam with
the infinity norm in place of the root mean square). ``minifcn.optim`` imports them:
``minifcn.optim.NAdam`` and so on, as ``torch.optim.NAdam``.

Each keeps, per parameter, PyTorch's state (names and meanings): a count ``step`` and running
means of the gradient, made at the parameter's first step with a gradient; the state dict
holds them as :class:`~minifcn.optim.Adam`'s does. Every update is written in place, in the
parameter's dtype (the scalars are cast to it first, as PyTorch's kernels do), on its device.

>>> import numpy as np
>>> from minifcn.nn import Parameter
>>> p = Parameter(np.array([1.0, 1.0]))
>>> opt = Adamax([p], lr=0.1)
>>> p.grad = np.array([1.0, -1000.0]); opt.step(); p.data     # a step of lr against the sign
array([0.9, 1.1])
"""
from __future__ import annotations

from . import backend
from .functional import _flag
from .optim import Optimizer, _check_betas, _nonnegative_options


def _check_family(g, where, numbers, flags):
    """Refuse a group's options that PyTorch refuses (a negative lr, eps, weight decay or
    momentum_decay, betas outside [0, 1)) or that would train wrongly (inf, NaN): ``numbers``
    made floats, ``betas`` a pair of floats, ``flags`` bools."""
    _nonnegative_options(g, where, ("lr", "eps", "weight_decay", "lr_mult") + numbers)
    _check_betas(g, where)
    for name in flags:
        g[name] = _flag(where, name, g[name])


def _decay(p, g, lr, wd, decoupled):
    """The weight decay of Adam's family, ``p`` shrunk in place (AdamW's) or ``g + wd*p``
    returned (L2's); ``g`` itself when there is none."""
    c = p.dtype.type
    if wd and decoupled:
        p *= c(1 - lr * wd)
    elif wd:
        g = g + c(wd) * p
    return g


def _nadam_update(p, g, m, v, mu_product, t, lr, beta1, beta2, eps, wd, momentum_decay, decoupled):
    """One NAdam step of the array ``p`` in place, PyTorch's (``t`` counts this step); returns
    the new product of the momenta::

        p = p * (1 - lr*wd)  if decoupled, else  g = g + wd*p
        mu = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))     this step's momentum...
        mu' = beta1 * (1 - 0.5 * 0.96**((t + 1) * momentum_decay))   ...and the next one's
        m = beta1*m + (1 - beta1)*g;  v = beta2*v + (1 - beta2)*g*g
        d = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_product*mu) * g / d
              - lr * mu' / (1 - mu_product*mu*mu') * m / d

    ``m`` and ``v`` are written in place."""
    xp = backend.get_array_module(p)
    c = p.dtype.type
    g = _decay(p, g, lr, wd, decoupled)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product *= mu
    m += c(1 - beta1) * (g - m)   # = beta1*m + (1 - beta1)*g: PyTorch's lerp, one product
    v *= c(beta2)
    v += c(1 - beta2) * g * g
    d = xp.sqrt(v / c(1 - beta2 ** t))   # PyTorch's: the division under the root, unlike Adam's
    d += c(eps)
    # two of PyTorch's addcdiv, (value * x) / d each, in its order
    p += c(-lr * (1 - mu) / (1 - mu_product)) * g / d
    p += c(-lr * mu_next / (1 - mu_product * mu_next)) * m / d
    return mu_product


class NAdam(Optimizer):
    """NAdam (Dozat, 2016), PyTorch's algorithm: Adam whose step takes the gradient and the
    momentum as Nesterov's does, one step ahead, with a momentum that warms up from
    ``beta1 / 2`` towards ``beta1`` (``momentum_decay`` sets the pace; the update:
    :func:`_nadam_update`).

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`~minifcn.optim.SGD`'s
            (``lr_mult`` too).
        lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay: defaults for every
            group, as PyTorch's (``lr`` 2e-3, ``momentum_decay`` 4e-3; ``decoupled_weight_decay``
            shrinks the parameter as AdamW does, else the decay is added to the gradient);
            ``maximize`` keyword-only.

    Each parameter keeps PyTorch's state: ``step`` (an int), ``mu_product`` (the product of
    the momenta so far, a float: float64 whatever the parameter's dtype, where PyTorch's is a
    tensor of its default dtype, float32 unless set), ``exp_avg`` and ``exp_avg_sq``.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0, 1.0]))
    >>> opt = NAdam([p], lr=0.1)
    >>> p.grad = np.array([1.0, -1000.0]); opt.step(); p.data.round(4)   # lr for g, 0.056 lr for m
    array([0.8944, 1.1056])
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize})

    def _check_options(self, group, where):
        _check_family(group, where, ("momentum_decay",), ("decoupled_weight_decay", "maximize"))

    def _update(self, p, group, state):
        xp = backend.get_array_module(p.data)
        if not state:   # PyTorch's: made at the parameter's first step
            state.update(step=0, mu_product=1.0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
        state["step"] += 1
        beta1, beta2 = group["betas"]
        state["mu_product"] = _nadam_update(
            p.data, -p.grad if group["maximize"] else p.grad, state["exp_avg"], state["exp_avg_sq"],
            state["mu_product"], state["step"], group["lr"] * group["lr_mult"], beta1, beta2, group["eps"],
            group["weight_decay"], group["momentum_decay"], group["decoupled_weight_decay"])


def _radam_update(p, g, m, v, t, lr, beta1, beta2, eps, wd, decoupled):
    """One RAdam step of the array ``p`` in place, PyTorch's (``t`` counts this step)::

        p = p * (1 - lr*wd)  if decoupled, else  g = g + wd*p
        m = beta1*m + (1 - beta1)*g;  v = beta2*v + (1 - beta2)*g*g
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 t beta2**t / (1 - beta2**t)       the length of v's average, so far
        r = sqrt((rho - 4)(rho - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho))
        p = p - lr * m / (1 - beta1**t) * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r   if rho > 5
        p = p - lr * m / (1 - beta1**t)                     else: SGD with momentum

    ``m`` and ``v`` are written in place."""
    xp = backend.get_array_module(p)
    c = p.dtype.type
    g = _decay(p, g, lr, wd, decoupled)
    m += c(1 - beta1) * (g - m)
    v *= c(beta2)
    v += c(1 - beta2) * g * g
    bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2 ** t / bc2
    # PyTorch's order: ((m / bc1) * lr) * (sqrt(bc2) / (sqrt(v) + eps)) * r
    step = m / c(bc1) * c(lr)
    if rho > 5.0:   # v averages enough steps for its variance to be corrected
        r = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5
        d = xp.sqrt(v)
        d += c(eps)
        step *= c(bc2 ** 0.5) / d
        step *= c(r)
    p -= step


class RAdam(Optimizer):
    """RAdam (Liu et al., 2020), PyTorch's algorithm: Adam whose first steps, while the
    running mean of ``g**2`` holds too few gradients to be trusted, are SGD with momentum, and
    whose later ones are rectified by the variance of that mean (the update:
    :func:`_radam_update`). With the default ``beta2`` the first 5 steps are momentum's; with a
    ``beta2`` of 2/3 or less (``rho_inf``, which ``rho`` never reaches, at most 5) every step is.

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`~minifcn.optim.SGD`'s
            (``lr_mult`` too).
        lr, betas, eps, weight_decay, decoupled_weight_decay: defaults for every group, as
            PyTorch's (``lr`` 1e-3); ``maximize`` keyword-only.

    Each parameter keeps PyTorch's state: ``step`` (an int), ``exp_avg`` and ``exp_avg_sq``.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0, 1.0]))
    >>> opt = RAdam([p], lr=0.1)
    >>> p.grad = np.array([2.0, -3.0]); opt.step(); p.data     # the first step: p - lr * g
    array([0.8, 1.3])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
                 *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize})

    def _check_options(self, group, where):
        _check_family(group, where, (), ("decoupled_weight_decay", "maximize"))

    def _update(self, p, group, state):
        xp = backend.get_array_module(p.data)
        if not state:   # PyTorch's: made at the parameter's first step, zeros
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
        state["step"] += 1
        beta1, beta2 = group["betas"]
        _radam_update(p.data, -p.grad if group["maximize"] else p.grad, state["exp_avg"], state["exp_avg_sq"],
                      state["step"], group["lr"] * group["lr_mult"], beta1, beta2, group["eps"],
                      group["weight_decay"], group["decoupled_weight_decay"])


def _adamax_update(p, g, m, u, t, lr, beta1, beta2, eps, wd):
    """One Adamax step of the array ``p`` in place, PyTorch's (``t`` counts this step)::

        g = g + wd*p
        m = beta1*m + (1 - beta1)*g
        u = max(beta2*u, |g| + eps)                 a decaying infinity norm of the gradients
        p = p - lr / (1 - beta1**t) * m / u

    ``m`` and ``u`` are written in place; ``eps`` goes inside the max (PyTorch's), so that
    ``u`` is never 0 while ``eps > 0``."""
    xp = backend.get_array_module(p)
    c = p.dtype.type
    g = _decay(p, g, lr, wd, False)
    m += c(1 - beta1) * (g - m)
    u *= c(beta2)
    a = xp.abs(g)
    a += c(eps)
    xp.maximum(u, a, out=u)
    p += c(-lr / (1 - beta1 ** t)) * m / u   # PyTorch's addcdiv: (value * m) / u


class Adamax(Optimizer):
    """Adamax (Kingma and Ba, 2015, section 7.1), PyTorch's algorithm: Adam with the running
    root mean square of the gradient replaced by a decaying maximum of its size (the update:
    :func:`_adamax_update`). Each step moves a weight by about ``lr`` at most, whatever the
    gradient's scale: ``m / (1 - beta1**t)`` averages gradients that ``u`` bounds (but for
    ``beta2``'s decay).

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`~minifcn.optim.SGD`'s
            (``lr_mult`` too).
        lr, betas, eps, weight_decay: defaults for every group, as PyTorch's (``lr`` 2e-3; the
            decay is added to the gradient: Adamax has no decoupled one); ``maximize``
            keyword-only (PyTorch's 6th place, ``foreach``, is not taken).

    Each parameter keeps PyTorch's state: ``step`` (an int), ``exp_avg`` and ``exp_inf`` (u).

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0]))
    >>> opt = Adamax([p], lr=0.1, betas=(0.5, 0.9), eps=0.0)
    >>> p.grad = np.array([4.0]); opt.step(); p.data    # m = 2, u = 4: 1 - 0.1 / 0.5 * 2 / 4
    array([0.9])
    >>> p.grad = np.array([1.0]); opt.step(); p.data    # m = 1.5, u = 3.6: 0.9 - 0.1 / 0.75 * 1.5 / 3.6
    array([0.84444444])
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize})

    def _check_options(self, group, where):
        _check_family(group, where, (), ("maximize",))

    def _update(self, p, group, state):
        xp = backend.get_array_module(p.data)
        if not state:   # PyTorch's: made at the parameter's first step, zeros
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_inf=xp.zeros_like(p.data))
        state["step"] += 1
        beta1, beta2 = group["betas"]
        _adamax_update(p.data, -p.grad if group["maximize"] else p.grad, state["exp_avg"], state["exp_inf"],
                       state["step"], group["lr"] * group["lr_mult"], beta1, beta2, group["eps"],
                       group["weight_decay"])
