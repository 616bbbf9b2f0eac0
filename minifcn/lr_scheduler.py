"""Learning-rate schedulers shaped like PyTorch's ``torch.optim.lr_scheduler``, for a training
loop of one's own (the trainer follows :func:`minifcn.optim.lr_at` by itself).

Found where PyTorch keeps them too: ``from minifcn.optim.lr_scheduler import StepLR``, or
``from minifcn.optim import lr_scheduler``.

A scheduler takes each group's ``lr`` when it is built as that group's base, and at every
:meth:`~LRScheduler.step` writes ``base * factor(epoch)`` into the group's ``lr``. A group's
``lr_mult`` still applies on top, so FCN's biases (:func:`~minifcn.optim.fcn_param_groups`) keep
twice the weights' rate; a group given its own ``lr`` keeps its own base. The rates are PyTorch's
closed forms (its ``_get_closed_form_lr``), the numbers :func:`~minifcn.optim.lr_at` gives;
PyTorch's own ``step()`` reaches them by multiplying the last rate, which can differ from them
in the last bits.

FCN's "poly" policy, over 4 iterations here (power 0.9 in the paper)::

>>> import numpy as np
>>> from minifcn.nn import Parameter
>>> from minifcn.optim import SGD, lr_scheduler
>>> opt = SGD([Parameter(np.zeros(1))], lr=1.0, momentum=0.9)
>>> sched = lr_scheduler.PolynomialLR(opt, total_iters=4, power=1.0)
>>> for it in range(4):
...     # forward, backward and opt.step() here
...     sched.step()
...     print(sched.get_last_lr())
[0.75]
[0.5]
[0.25]
[0.0]
"""
from __future__ import annotations

import math
import numbers

from .functional import check_count
from .optim import lr_at   # optim imports this module at its end, once lr_at is defined


def _check_factor(op, name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{op}: {name} must be a finite number >= 0, got {v!r}")


class LRScheduler:
    """The base of the schedulers: a subclass gives ``_lr(k, epoch)``, group ``k``'s rate at
    ``epoch``, and names its options in ``_options`` (its state dict keeps them).

    Attributes, as PyTorch's: ``optimizer``, ``base_lrs`` (one per group), ``last_epoch`` (0
    once built: building it applies epoch 0's rates, as PyTorch's does).
    """

    _options: tuple[str, ...] = ()

    def __init__(self, optimizer):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got a {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def _lr(self, k, epoch):
        raise NotImplementedError

    def step(self):
        """Go on to the next epoch (or iteration: whatever the loop steps it after) and write
        each group's rate for it. Call it after ``optimizer.step()``, as in PyTorch."""
        self.last_epoch += 1
        self._last_lr = [self._lr(k, self.last_epoch) for k in range(len(self.base_lrs))]
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            g["lr"] = lr

    def get_last_lr(self):
        """The rates the last :meth:`step` wrote, one per group (before each group's ``lr_mult``)."""
        return list(self._last_lr)

    def state_dict(self):
        """The epoch, the bases, the last rates and the options: plain numbers (JSON-able).
        A :class:`LambdaLR`'s functions are not in it: build it again with the same ones."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs),
                "last_lr": list(self._last_lr), **{k: getattr(self, k) for k in self._options}}

    def load_state_dict(self, state):
        """Go on from a saved schedule, its options included (as PyTorch's), and write its last
        rates into the optimizer's groups (the optimizer's own state holds them too)."""
        name = type(self).__name__
        missing = [k for k in ("last_epoch", "base_lrs", "last_lr", *self._options) if k not in state]
        if missing:
            raise ValueError(f"{name}.load_state_dict: the state lacks {', '.join(missing)} "
                             f"(is it another scheduler's?)")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(state['base_lrs'])} groups, "
                             f"the optimizer {len(self.optimizer.param_groups)}")
        for k in self._options:
            setattr(self, k, state[k])
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs, self._last_lr = list(state["base_lrs"]), list(state["last_lr"])
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            g["lr"] = lr


class StepLR(LRScheduler):
    """``base * gamma ** (epoch // step_size)``: the rate falls by ``gamma`` every ``step_size``
    steps (Caffe's "step" policy).

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(5):
    ...     sched.step()
    >>> sched.get_last_lr(), opt.param_groups[0]["lr"]
    ([0.25], 0.25)
    """

    _options = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = check_count("StepLR", "step_size", step_size)
        _check_factor("StepLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def _lr(self, k, epoch):   # "step" has no last iteration: lr_at's max_iter is unused
        return lr_at("step", self.base_lrs[k], epoch, None, step_size=self.step_size, gamma=self.gamma)


class PolynomialLR(LRScheduler):
    """``base * (1 - min(epoch, total_iters) / total_iters) ** power``: down to 0 at
    ``total_iters`` and 0 after (FCN's "poly" policy has ``power`` 0.9).

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = PolynomialLR(opt, total_iters=2, power=2.0)
    >>> sched.step(); sched.get_last_lr()
    [0.25]
    """

    _options = ("total_iters", "power")

    def __init__(self, optimizer, total_iters, power=1.0):
        self.total_iters = check_count("PolynomialLR", "total_iters", total_iters)
        _check_factor("PolynomialLR", "power", power)
        self.power = power
        super().__init__(optimizer)

    def _lr(self, k, epoch):
        return lr_at("poly", self.base_lrs[k], epoch, self.total_iters, power=self.power)


class LambdaLR(LRScheduler):
    """``base * lr_lambda(epoch)``; ``lr_lambda`` is one function for every group, or a list of
    one per group. Building it applies ``lr_lambda(0)`` already, as PyTorch's does.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([{"params": [Parameter(np.zeros(1))]}, {"params": [Parameter(np.zeros(1))], "lr": 2.0}], lr=1.0)
    >>> sched = LambdaLR(opt, lambda epoch: 0.5 ** epoch)
    >>> sched.step(); sched.get_last_lr()
    [0.5, 1.0]
    """

    def __init__(self, optimizer, lr_lambda):
        groups = len(getattr(optimizer, "param_groups", ()))
        self.lr_lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(self.lr_lambdas) != groups:
            raise ValueError(f"LambdaLR: expected {groups} lr_lambdas, one per group, got {len(self.lr_lambdas)}")
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch (or a list of them), "
                            f"got {lr_lambda!r}")
        super().__init__(optimizer)

    def _lr(self, k, epoch):
        return self.base_lrs[k] * self.lr_lambdas[k](epoch)
