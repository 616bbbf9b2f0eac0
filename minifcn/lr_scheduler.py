"""Learning-rate schedulers shaped like PyTorch's ``torch.optim.lr_scheduler``, for a training
loop of one's own (the trainer follows :func:`minifcn.optim.lr_at` by itself).

Found where PyTorch keeps them too: ``from minifcn.optim.lr_scheduler import StepLR``, or
``from minifcn.optim import lr_scheduler``.

A scheduler works as PyTorch's: when built it notes each group's ``lr`` as that group's
``initial_lr`` (kept in the group, so a second scheduler on the same optimizer starts from the
same base), and each :meth:`~LRScheduler.step` changes the group's ``lr`` as PyTorch's
``step()`` does: :class:`StepLR` and :class:`PolynomialLR` multiply the current rate by a factor
(so they compose, and a rate set by hand carries on), :class:`LambdaLR` writes ``base *
lr_lambda(epoch)``. A group's ``lr_mult`` still applies on top, so FCN's biases
(:func:`~minifcn.optim.fcn_param_groups`) keep twice the weights' rate. The closed forms
(PyTorch's ``_get_closed_form_lr``, :meth:`~LRScheduler.closed_form_lr`) are the numbers
:func:`~minifcn.optim.lr_at` gives; left alone, the multiplied rates stay within a few units of
the last bit of them.

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
import warnings

from .functional import check_count
from .optim import lr_at   # optim imports this module at its end, once lr_at is defined


def _check_factor(op, name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{op}: {name} must be a finite number >= 0, got {v!r}")
    return float(v)   # NumPy's float32 would not go into a checkpoint's JSON


def _check_iters(op, name, v):
    """A positive count of steps: an int, or a float that is one (PyTorch takes ``3.0``)."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return check_count(op, name, v)


class LRScheduler:
    """The base of the schedulers: a subclass gives ``_factor(epoch)``, the number the group's
    current rate is multiplied by at that epoch (PyTorch's chainable form), or ``_lr(k, epoch)``,
    group ``k``'s rate outright; and ``closed_form_lr``, the rates as a function of the epoch
    alone. It names its options in ``_options`` (its state dict keeps them).

    Attributes, as PyTorch's: ``optimizer``, ``base_lrs`` (each group's ``initial_lr``),
    ``last_epoch`` (0 once built: building it applies epoch 0's rates, as PyTorch's does).
    ``last_epoch`` other than -1 resumes a schedule: the groups must then hold ``initial_lr``.
    """

    _options: tuple[str, ...] = ()

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got a {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) or last_epoch < -1:
            raise ValueError(f"{name}: last_epoch must be an int >= -1, got {last_epoch!r}")
        for i, g in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                g.setdefault("initial_lr", g["lr"])
            elif "initial_lr" not in g:   # PyTorch's KeyError
                raise KeyError(f"{name}: param_groups[{i}] has no 'initial_lr' to resume from "
                               f"(last_epoch {last_epoch}): build it with last_epoch=-1")
        self.optimizer = optimizer
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self.step()

    def _groups(self):
        """The groups a step sets: all of the optimizer's, those added after this scheduler too
        (PyTorch's chainable schedulers multiply every group's rate)."""
        return len(self.optimizer.param_groups)

    def _lr(self, k, epoch):
        """Group ``k``'s rate at ``epoch``: its current one times the step's factor."""
        return self.optimizer.param_groups[k]["lr"] * self._factor(epoch)

    def _factor(self, epoch):
        raise NotImplementedError

    def closed_form_lr(self, epoch=None):
        """Each group's rate at ``epoch`` (default: the last) from its base alone."""
        raise NotImplementedError

    def step(self, epoch=None):
        """Go on to the next epoch (or iteration: whatever the loop steps it after) and write
        each group's rate for it. Call it after ``optimizer.step()``, as in PyTorch.
        ``step(epoch)`` jumps to ``epoch`` by the closed form (PyTorch deprecates it, and warns)."""
        if epoch is None:
            self.last_epoch += 1
            lrs = [self._lr(k, self.last_epoch) for k in range(self._groups())]
        else:
            warnings.warn("scheduler.step(epoch) is deprecated in PyTorch: call step() once per "
                          "epoch", UserWarning, stacklevel=2)
            self.last_epoch = int(epoch)
            lrs = self.closed_form_lr()
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups[:len(lrs)]]

    def get_last_lr(self):
        """The rates the last :meth:`step` wrote, one per group (before each group's ``lr_mult``)."""
        return list(self._last_lr)

    def state_dict(self):
        """The epoch, the bases, the last rates and the options: plain numbers (JSON-able).
        A :class:`LambdaLR`'s functions are not in it: build it again with the same ones."""
        return {"last_epoch": self.last_epoch, "base_lrs": [float(v) for v in self.base_lrs],
                "last_lr": [float(v) for v in self._last_lr],
                **{k: getattr(self, k) for k in self._options}}

    def load_state_dict(self, state):
        """Go on from a saved schedule, its options included (as PyTorch's), and write its last
        rates into the optimizer's groups (the optimizer's own state holds them too)."""
        name = type(self).__name__
        known = ("last_epoch", "base_lrs", "last_lr", *self._options)
        missing, foreign = [k for k in known if k not in state], [k for k in state if k not in known]
        if missing or foreign:
            raise ValueError(f"{name}.load_state_dict: the state "
                             + (f"lacks {', '.join(missing)}" if missing else f"has {', '.join(foreign)}")
                             + " (is it another scheduler's?)")
        if len(state["base_lrs"]) > len(self.optimizer.param_groups):   # fewer: groups added since
            raise ValueError(f"{name}.load_state_dict: the state has {len(state['base_lrs'])} groups, "
                             f"the optimizer {len(self.optimizer.param_groups)}")
        self._set_options(**{k: state[k] for k in self._options})   # checked as when built
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs, self._last_lr = list(state["base_lrs"]), list(state["last_lr"])
        for g, base, lr in zip(self.optimizer.param_groups, self.base_lrs, self._last_lr):
            g["initial_lr"], g["lr"] = base, lr

    def _set_options(self, **options):
        pass


class StepLR(LRScheduler):
    """The rate falls by ``gamma`` every ``step_size`` steps: ``base * gamma ** (epoch //
    step_size)`` when nothing else moves it (Caffe's "step" policy).

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

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self._set_options(step_size, gamma)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, step_size, gamma):
        self.step_size = _check_iters("StepLR", "step_size", step_size)
        self.gamma = _check_factor("StepLR", "gamma", gamma)

    def _factor(self, epoch):
        return self.gamma if epoch > 0 and epoch % self.step_size == 0 else 1.0

    def closed_form_lr(self, epoch=None):   # "step" has no last iteration: lr_at's max_iter unused
        epoch = self.last_epoch if epoch is None else epoch
        return [lr_at("step", base, epoch, None, step_size=self.step_size, gamma=self.gamma)
                for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Down to 0 at ``total_iters`` and 0 after: ``base * (1 - min(epoch, total_iters) /
    total_iters) ** power`` when nothing else moves it (FCN's "poly" policy has ``power`` 0.9).
    ``total_iters`` defaults to 5, as PyTorch's.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = PolynomialLR(opt, total_iters=2, power=2.0)
    >>> sched.step(); sched.get_last_lr()
    [0.25]
    """

    _options = ("total_iters", "power")

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self._set_options(total_iters, power)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, total_iters, power):
        self.total_iters = _check_iters("PolynomialLR", "total_iters", total_iters)
        self.power = _check_factor("PolynomialLR", "power", power)

    def _factor(self, epoch):
        if epoch == 0 or epoch > self.total_iters:
            return 1.0
        t = self.total_iters   # the ratio of this epoch's closed form to the last one's
        return ((1.0 - epoch / t) / (1.0 - (epoch - 1) / t)) ** self.power

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [lr_at("poly", base, epoch, self.total_iters, power=self.power) for base in self.base_lrs]


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

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = len(getattr(optimizer, "param_groups", ()))
        self.lr_lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(self.lr_lambdas) != groups:
            raise ValueError(f"LambdaLR: expected {groups} lr_lambdas, one per group, got {len(self.lr_lambdas)}")
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch (or a list of them), "
                            f"got {lr_lambda!r}")
        super().__init__(optimizer, last_epoch)

    def _groups(self):   # the groups it was built with, as PyTorch's (one base, one lambda each)
        return len(self.base_lrs)

    def _lr(self, k, epoch):
        return self.base_lrs[k] * float(self.lr_lambdas[k](epoch))

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [self._lr(k, epoch) for k in range(len(self.base_lrs))]
