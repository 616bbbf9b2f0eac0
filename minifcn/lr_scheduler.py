"""Learning-rate schedulers shaped like PyTorch's ``torch.optim.lr_scheduler``, for a training
loop of one's own (the trainer follows :func:`minifcn.optim.lr_at` by itself).

Found where PyTorch keeps them too: ``from minifcn.optim.lr_scheduler import StepLR``, or
``from minifcn.optim import lr_scheduler``.

A scheduler works as PyTorch's: when built it notes each group's ``lr`` as that group's
``initial_lr`` (kept in the group, so a second scheduler on the same optimizer starts from the
same base), and each :meth:`~LRScheduler.step` changes the group's ``lr`` as PyTorch's
``step()`` does: :class:`StepLR`, :class:`MultiStepLR`, :class:`ExponentialLR`,
:class:`PolynomialLR` and :class:`LinearLR` multiply the current rate by a factor (so they
compose, and a rate set by hand carries on), :class:`CosineAnnealingLR` moves it along the
cosine from where it is, :class:`LambdaLR` writes ``base * lr_lambda(epoch)``;
:class:`SequentialLR` hands over from one scheduler to the next (a warm-up, then a decay);
:class:`OneCycleLR` writes its closed form (the rate and the momentum of the 1cycle policy);
:class:`ReduceLROnPlateau` lowers the rate when a metric given to its ``step(metrics)`` stops
improving; :class:`ConstantLR` and :class:`MultiplicativeLR` multiply it too,
:class:`CosineAnnealingWarmRestarts` and :class:`CyclicLR` write theirs (the latter the
momentum too), and :class:`ChainedScheduler` steps several at once. They work on any of
:mod:`minifcn.optim`'s optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop,
LBFGS). A group's ``lr_mult`` still applies on top, so FCN's biases
(:func:`~minifcn.optim.fcn_param_groups`) keep twice the weights' rate. The closed forms
(PyTorch's ``_get_closed_form_lr``, :meth:`~LRScheduler.closed_form_lr`) are the rates as a function of the epoch alone (StepLR's
and PolynomialLR's are the numbers :func:`~minifcn.optim.lr_at` gives); left alone, the stepped
rates stay within a few units of the last bit of them.

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

import bisect
import math
import numbers
import warnings

from .functional import _flag
from .optim import lr_at   # optim imports this module at its end, once lr_at is defined


def _check_factor(op, name, v, positive=False):
    """A finite number >= 0, or > 0 if ``positive`` (a divisor)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (
            math.isfinite(v) and (v > 0 if positive else v >= 0)):
        raise ValueError(f"{op}: {name} must be a finite number {'>' if positive else '>='} 0, got {v!r}")
    return float(v)   # NumPy's float32 would not go into a checkpoint's JSON


def _check_iters(op, name, v, minimum=1):
    """A count of steps, ``minimum`` or more (0 for a patience, a cooldown): an int, or a float
    that is one (PyTorch takes ``3.0``)."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
        least = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{op}: {name} must be {least}, got {v!r}")
    return int(v)


def _check_in(op, name, v, low_open, high=1.0):
    """A number in ``(0, high]`` (``low_open``) or ``[0, high]``: LinearLR's factors."""
    ok = (isinstance(v, numbers.Real) and not isinstance(v, bool)
          and (0 < v if low_open else 0 <= v) and v <= high)   # NaN fails both
    if not ok:
        raise ValueError(f"{op}: {name} must be a number in {'(' if low_open else '['}0, {high:g}], got {v!r}")
    return float(v)


def _check_milestones(op, v, ordered=False):
    """Epochs: a list of ints >= 0 (floats that are ints too), sorted; as given if ``ordered``,
    which must then be non-decreasing (SequentialLR's are searched in the order given)."""
    try:
        v = [int(m) if isinstance(m, float) and m.is_integer() else m for m in v]
    except TypeError:
        raise TypeError(f"{op}: milestones must be a list of epochs, got {v!r}") from None
    if not all(isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 0 for m in v):
        raise ValueError(f"{op}: milestones must be ints >= 0, got {v!r}")
    if ordered and v != sorted(v):
        raise ValueError(f"{op}: milestones must be in increasing order, got {v!r}")
    return sorted(int(m) for m in v)


def _check_last_epoch(op, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < -1:
        raise ValueError(f"{op}: last_epoch must be an int >= -1, got {v!r}")
    return int(v)


def _check_momentum(op, name, v, beta1):
    """A finite number >= 0; below 1 if it is Adam's ``beta1``."""
    v = _check_factor(op, name, v)
    if beta1 and not v < 1:
        raise ValueError(f"{op}: {name} must be in [0, 1) for an optimizer whose momentum is "
                         f"beta1 (Adam's, AdamW's), got {v!r}")
    return v


def _check_choice(op, name, v, choices):
    if not isinstance(v, str) or v not in choices:
        raise ValueError(f"{op}: {name} must be {' or '.join(map(repr, choices))}, got {v!r}")
    return v


def _per_group(op, name, v, groups):
    """One value for every group, or a list (a tuple) of one per group, as PyTorch's
    ``_format_param``: a list of ``groups`` values, not yet checked."""
    if isinstance(v, (list, tuple)):
        if len(v) != groups:
            raise ValueError(f"{op}: {name} must be one number or one per group ({groups}), got {len(v)}: {list(v)!r}")
        return list(v)
    return [v] * groups


def _lr_lambdas(op, optimizer, lr_lambda):
    """One function of the epoch per group: ``lr_lambda`` for every group, or its list of one per group."""
    groups = len(getattr(optimizer, "param_groups", ()))
    lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
    if len(lambdas) != groups:
        raise ValueError(f"{op}: expected {groups} lr_lambdas, one per group, got {len(lambdas)}")
    if not all(callable(f) for f in lambdas):
        raise TypeError(f"{op}: lr_lambda must be a function of the epoch (or a list of them), got {lr_lambda!r}")
    return lambdas


class LRScheduler:
    """The base of the schedulers: a subclass gives ``_factor(epoch, initial)``, the number the
    group's current rate is multiplied by at that epoch (PyTorch's chainable form), or
    ``_lr(k, epoch, initial)``, group ``k``'s rate outright; and ``closed_form_lr``, the rates as
    a function of the epoch alone. ``initial`` is true at the step building it takes (PyTorch's
    ``_is_initial``: most schedulers leave the rates as they are there, whatever the epoch). It
    names its options in ``_options`` (its state dict keeps them).

    Attributes, as PyTorch's: ``optimizer``, ``base_lrs`` (each group's ``initial_lr``),
    ``last_epoch`` (0 once built: building it applies epoch 0's rates, as PyTorch's does).
    ``last_epoch`` other than -1 resumes a schedule: the groups must then hold ``initial_lr``.
    """

    _options: tuple[str, ...] = ()
    # Whether a step refuses an optimizer with more groups than it was built with: schedulers
    # with something of their own per group (a lambda, a peak) have nothing for a group added
    # later. PyTorch's raise there too (a ValueError from zip): leaving it unscheduled silently
    # would train it at a rate nobody chose.
    _built_groups_only = False

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got a {type(optimizer).__name__}")
        last_epoch = _check_last_epoch(name, last_epoch)
        for i, g in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                g.setdefault("initial_lr", g["lr"])
            elif "initial_lr" not in g:   # PyTorch's KeyError
                raise KeyError(f"{name}: param_groups[{i}] has no 'initial_lr' to resume from "
                               f"(last_epoch {last_epoch}): build it with last_epoch=-1")
        self.optimizer = optimizer
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """The step building it takes: to epoch ``last_epoch + 1`` (0 for a new schedule)."""
        self._advance(initial=True)

    def _advance(self, initial=False):
        """One epoch on, by the chainable form (PyTorch's ``step()``)."""
        self.last_epoch += 1
        self._write([self._lr(k, self.last_epoch, initial) for k in range(self._groups())])

    def _jump(self, epoch):
        """To ``epoch``, by the closed form (PyTorch's ``_update_lr(epoch)``)."""
        self.last_epoch = int(epoch)
        self._write(self.closed_form_lr())

    def _write(self, lrs):
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups[:len(lrs)]]

    def _groups(self):
        """The groups a step sets: all of the optimizer's, those added after this scheduler too
        (PyTorch's chainable schedulers multiply every group's rate)."""
        return len(self.optimizer.param_groups)

    def _lr(self, k, epoch, initial):
        """Group ``k``'s rate at ``epoch``: its current one times the step's factor."""
        return self.optimizer.param_groups[k]["lr"] * self._factor(epoch, initial)

    def _factor(self, epoch, initial):
        raise NotImplementedError

    def closed_form_lr(self, epoch=None):
        """Each group's rate at ``epoch`` (default: the last) from its base alone."""
        raise NotImplementedError

    def step(self, epoch=None):
        """Go on to the next epoch (or iteration: whatever the loop steps it after) and write
        each group's rate for it. Call it after ``optimizer.step()``, as in PyTorch.
        ``step(epoch)`` jumps to ``epoch`` by the closed form (PyTorch deprecates it, and warns)."""
        self._check_groups()
        if epoch is None:
            self._advance()
        else:
            warnings.warn("scheduler.step(epoch) is deprecated in PyTorch: call step() once per "
                          "epoch", UserWarning, stacklevel=2)
            self._jump(epoch)

    def _check_groups(self):
        built, now = len(self.base_lrs), len(self.optimizer.param_groups)
        if self._built_groups_only and now != built:
            raise ValueError(f"{type(self).__name__}: the optimizer has {now} param groups, this "
                             f"scheduler was built for {built}: build the scheduler after "
                             "add_param_group (as PyTorch's, it has no rate for a group added later)")

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

    def _factor(self, epoch, initial):   # at the initial step too, as PyTorch's (a resumed schedule)
        return self.gamma if epoch > 0 and epoch % self.step_size == 0 else 1.0

    def closed_form_lr(self, epoch=None):   # "step" has no last iteration: lr_at's max_iter unused
        epoch = self.last_epoch if epoch is None else epoch
        return [lr_at("step", base, epoch, None, step_size=self.step_size, gamma=self.gamma)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """The rate falls by ``gamma`` at each of the ``milestones`` (epochs, in any order; one
    listed twice falls twice): ``base * gamma ** (the number of milestones <= epoch)`` when
    nothing else moves it.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = MultiStepLR(opt, milestones=[2, 3], gamma=0.5)
    >>> for _ in range(4):
    ...     sched.step(); print(sched.get_last_lr())
    [1.0]
    [0.5]
    [0.25]
    [0.25]
    """

    _options = ("milestones", "gamma")

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self._set_options(milestones, gamma)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, milestones, gamma):
        self.milestones = _check_milestones("MultiStepLR", milestones)   # sorted: JSON-able
        self.gamma = _check_factor("MultiStepLR", "gamma", gamma)

    def _factor(self, epoch, initial):   # at the initial step too, as PyTorch's
        return self.gamma ** self.milestones.count(epoch)

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [base * self.gamma ** bisect.bisect_right(self.milestones, epoch) for base in self.base_lrs]


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

    def _factor(self, epoch, initial):
        if initial or epoch > self.total_iters:
            return 1.0
        t = self.total_iters   # the ratio of this epoch's closed form to the last one's
        return ((1.0 - epoch / t) / (1.0 - (epoch - 1) / t)) ** self.power

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [lr_at("poly", base, epoch, self.total_iters, power=self.power) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """The rate falls by ``gamma`` every step: ``base * gamma ** epoch`` when nothing else
    moves it.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import Adam
    >>> opt = Adam([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.25]
    """

    _options = ("gamma",)

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self._set_options(gamma)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, gamma):
        self.gamma = _check_factor("ExponentialLR", "gamma", gamma)

    def _factor(self, epoch, initial):
        return 1.0 if initial else self.gamma

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [base * self.gamma ** epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base rate down to ``eta_min`` over ``T_max`` steps, then back up
    over the next ``T_max`` (PyTorch's goes on as a cosine of period ``2 * T_max``, without
    restarts)::

        eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    is the closed form; each :meth:`step` moves the current rate along the cosine instead
    (PyTorch's recursive form: ``(lr - eta_min)`` times the ratio of this epoch's ``1 + cos``
    to the last one's, plus ``eta_min``; an added step where that ratio would divide by zero),
    so it chains with other schedulers. It sets the groups it was built with. ``eta_min`` is a
    rate before each group's ``lr_mult``: a group with ``lr_mult`` 2 ends at ``2 * eta_min``
    (give it its own ``lr`` instead to end at PyTorch's ``eta_min``).

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import Adam
    >>> opt = Adam([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=4)
    >>> for _ in range(5):
    ...     sched.step(); print(round(sched.get_last_lr()[0], 4))
    0.8536
    0.5
    0.1464
    0.0
    0.1464
    """

    _options = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self._set_options(T_max, eta_min)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, T_max, eta_min):
        self.T_max = _check_iters("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = _check_factor("CosineAnnealingLR", "eta_min", eta_min)

    def _groups(self):   # the groups it has a base for (PyTorch's fails at the bottom on others)
        return len(self.base_lrs)

    def _lr(self, k, epoch, initial):
        lr, base, eta, t = self.optimizer.param_groups[k]["lr"], self.base_lrs[k], self.eta_min, self.T_max
        if initial:
            return lr
        if (epoch - 1 - t) % (2 * t) == 0:   # up from the bottom: the ratio below would be x / 0
            return lr + (base - eta) * (1 - math.cos(math.pi / t)) / 2
        return (1 + math.cos(math.pi * epoch / t)) / (1 + math.cos(math.pi * (epoch - 1) / t)) * (lr - eta) + eta

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """A straight line from ``start_factor * base`` at epoch 0 to ``end_factor * base`` at
    ``total_iters``, then constant: a warm-up with the defaults (a third of the rate, up to all
    of it in 5 steps, as PyTorch's)::

        base * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)

    when nothing else moves it.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> sched.get_last_lr()                            # building it applies epoch 0
    [0.25]
    >>> for _ in range(4):
    ...     sched.step(); print(sched.get_last_lr())
    [0.5]
    [0.75]
    [1.0]
    [1.0]
    """

    _options = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        self._set_options(start_factor, end_factor, total_iters)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, start_factor, end_factor, total_iters):
        self.start_factor = _check_in("LinearLR", "start_factor", start_factor, low_open=True)
        self.end_factor = _check_in("LinearLR", "end_factor", end_factor, low_open=False)
        self.total_iters = _check_iters("LinearLR", "total_iters", total_iters)

    def _factor(self, epoch, initial):
        s, e, t = self.start_factor, self.end_factor, self.total_iters
        if epoch == 0:
            return s
        if initial or epoch > t:
            return 1.0
        return 1.0 + (e - s) / (t * s + (epoch - 1) * (e - s))   # this epoch's line over the last's

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        s, e, t = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(t, epoch) / t) for base in self.base_lrs]


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
        self.lr_lambdas = _lr_lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    _built_groups_only = True   # one lambda each

    def _groups(self):
        return len(self.base_lrs)

    def _lr(self, k, epoch, initial=False):
        return self.base_lrs[k] * float(self.lr_lambdas[k](epoch))

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [self._lr(k, epoch) for k in range(len(self.base_lrs))]


class SequentialLR(LRScheduler):
    """One scheduler after another: ``schedulers[0]`` until epoch ``milestones[0]``, then
    ``schedulers[1]``, started afresh from the groups' initial rates (its closed form at its
    own epoch 0), and so on; PyTorch's. The schedulers are built on the same optimizer first;
    building this one undoes what their building did and starts the first again.

    A warm-up of 2 steps, then a cosine over 4:

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import AdamW
    >>> opt = AdamW([Parameter(np.zeros(1))], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = CosineAnnealingLR(opt, T_max=4)
    >>> sched = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(6):
    ...     sched.step(); lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.5, 0.75, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = "SequentialLR"
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got a {type(optimizer).__name__}")
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{name}: expected at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, SequentialLR):
                raise TypeError(f"{name}: schedulers[{i}] must be a scheduler other than SequentialLR, "
                                f"got a {type(s).__name__}")
            if isinstance(s, ReduceLROnPlateau):   # PyTorch's fails at its first step instead
                raise TypeError(f"{name}: schedulers[{i}] is a ReduceLROnPlateau, whose step needs a metric "
                                "that SequentialLR's step has not to give: step it by itself")
            if isinstance(s, ChainedScheduler):   # no epoch to undo or jump to (PyTorch's fails at a milestone)
                raise TypeError(f"{name}: schedulers[{i}] is a ChainedScheduler, which has no epoch to start "
                                "from at a milestone: put the SequentialLR in the ChainedScheduler instead")
            if s.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{i}] ({type(s).__name__}) sets another optimizer's rates")
        milestones = _check_milestones(name, milestones, ordered=True)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: expected {len(schedulers) - 1} milestones (one fewer than the "
                             f"schedulers), got {len(milestones)}")
        self.optimizer, self._schedulers, self.milestones = optimizer, schedulers, milestones
        self.last_epoch = _check_last_epoch(name, last_epoch) + 1
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        for g in optimizer.param_groups:   # undo the schedulers' building...
            g["lr"] = g["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1
        first = schedulers[bisect.bisect_right(milestones, 0)]
        first._initial_step()   # ...and build the first again
        self._last_lr = first.get_last_lr()

    def step(self):
        """Go on to the next epoch: the scheduler whose turn it is steps, or, at a milestone,
        starts from its epoch 0. (PyTorch's takes no epoch either.)"""
        self.last_epoch += 1
        i = bisect.bisect_right(self.milestones, self.last_epoch)
        s = self._schedulers[i]
        if i > 0 and self.milestones[i - 1] == self.last_epoch:
            s._jump(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def closed_form_lr(self, epoch=None):
        """The rates at ``epoch`` of the scheduler whose turn it is then, by its closed form at
        its own epoch (not in PyTorch)."""
        epoch = self.last_epoch if epoch is None else epoch
        i = bisect.bisect_right(self.milestones, epoch)
        return self._schedulers[i].closed_form_lr(epoch - (self.milestones[i - 1] if i else 0))

    def state_dict(self):
        """Its epoch, milestones, bases and last rates, and each scheduler's state dict."""
        return {"last_epoch": self.last_epoch, "milestones": list(self.milestones),
                "base_lrs": [float(v) for v in self.base_lrs], "last_lr": [float(v) for v in self._last_lr],
                "schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state):
        known = ("last_epoch", "milestones", "base_lrs", "last_lr", "schedulers")
        if sorted(state) != sorted(known) or len(state["schedulers"]) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: expected {', '.join(known)} with "
                             f"{len(self._schedulers)} schedulers' states, got {', '.join(state)}"
                             + (f" with {len(state['schedulers'])}" if "schedulers" in state else ""))
        milestones = _check_milestones("SequentialLR", state["milestones"], ordered=True)
        for s, saved in zip(self._schedulers, state["schedulers"]):
            s.load_state_dict(saved)
        self.milestones, self.last_epoch = milestones, int(state["last_epoch"])
        self.base_lrs, self._last_lr = list(state["base_lrs"]), list(state["last_lr"])
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):   # the one whose turn it is
            g["lr"] = lr


class ReduceLROnPlateau(LRScheduler):
    """The rate falls by ``factor`` when a metric (a validation loss, a mean IoU) has stopped
    improving for more than ``patience`` steps, PyTorch's: :meth:`step` takes the metric.

    A step improves when its metric beats the best so far by more than ``threshold``: in
    ``mode`` "min", below ``best * (1 - threshold)`` ("rel") or ``best - threshold``
    ("abs"); in "max", above ``best * (1 + threshold)`` or ``best + threshold``. The others
    are bad steps; after ``patience + 1`` of them in a row (the first step always improves on
    the start), each group's rate becomes ``max(lr * factor, min_lr)``, unless that changes it
    by ``eps`` or less, and then ``cooldown`` steps follow in which no step counts as bad.

    Args:
        optimizer: any of :mod:`minifcn.optim`'s.
        mode: "min" or "max": whether the metric is to fall or to rise.
        factor: in [0, 1) (PyTorch takes a negative one, which sets the rate to ``min_lr``).
        patience, cooldown: ints >= 0 (steps).
        threshold: a number >= 0; threshold_mode: "rel" or "abs".
        min_lr: a rate below which it never goes: one for every group, or a list of one per
            group. A single one applies to groups added later too; a list does not (a
            reduction then raises, as PyTorch's).
        eps: a change of rate this small or smaller is not made.

    Attributes, as PyTorch's: ``best``, ``num_bad_epochs``, ``cooldown_counter``,
    ``last_epoch`` (the count of steps), ``min_lrs``. It writes no ``initial_lr``.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for val_loss in [1.0, 0.9, 0.95, 0.92, 0.91, 0.95]:   # best 0.9; 2 bad steps: halved
    ...     sched.step(val_loss); print(sched.get_last_lr())
    [1.0]
    [1.0]
    [1.0]
    [0.5]
    [0.5]
    [0.25]
    """
    # the options (checked again when loaded) and the counters its state dict holds
    _options = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lrs",
                "default_min_lr", "eps")
    _counters = ("last_epoch", "best", "num_bad_epochs", "cooldown_counter", "last_lr")

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"ReduceLROnPlateau: expected an optimizer, got a {type(optimizer).__name__}")
        self.optimizer = optimizer
        groups = len(optimizer.param_groups)
        per_group = isinstance(min_lr, (list, tuple))
        self._set_options(mode, factor, patience, threshold, threshold_mode, cooldown,
                          min_lrs=_per_group("ReduceLROnPlateau", "min_lr", min_lr, groups),
                          default_min_lr=None if per_group else min_lr, eps=eps)
        self.last_epoch = 0   # PyTorch's: no step at building, and none of its rates changed
        self._last_lr = [g["lr"] for g in optimizer.param_groups]
        self.best = self._worst()
        self.num_bad_epochs = self.cooldown_counter = 0

    def _set_options(self, mode, factor, patience, threshold, threshold_mode, cooldown, min_lrs,
                     default_min_lr, eps):
        op = "ReduceLROnPlateau"
        self.mode = _check_choice(op, "mode", mode, ("min", "max"))
        self.factor = _check_factor(op, "factor", factor)
        if not self.factor < 1:   # PyTorch's check too: the rate would never fall
            raise ValueError(f"{op}: factor must be a number in [0, 1), got {factor!r}")
        self.patience = _check_iters(op, "patience", patience, minimum=0)
        self.threshold = _check_factor(op, "threshold", threshold)
        self.threshold_mode = _check_choice(op, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = _check_iters(op, "cooldown", cooldown, minimum=0)
        self.min_lrs = [_check_factor(op, "min_lr", v) for v in min_lrs]
        self.default_min_lr = None if default_min_lr is None else _check_factor(op, "min_lr", default_min_lr)
        self.eps = _check_factor(op, "eps", eps)

    def _worst(self):
        """The best metric before the first step: one that any metric improves on."""
        return math.inf if self.mode == "min" else -math.inf

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        """Whether the metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics, epoch=None):
        """Take this step's metric (a number, or a Tensor or array of one value); count it as an
        improvement or a bad step, and lower the rates after too many bad ones. ``epoch``
        sets the count of steps (deprecated in PyTorch, which warns)."""
        if isinstance(metrics, (str, bytes, bool)):   # float("0.5") and float(True) would pass
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number, got {metrics!r}")
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number (or a Tensor or array "
                            f"of one value), got {metrics!r}") from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn("scheduler.step(metrics, epoch) is deprecated in PyTorch: call step(metrics) "
                          "once per epoch", UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):   # NaN never is: a bad step, as PyTorch's
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:   # bad steps in the cooldown do not count
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):   # a group added since it was built
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} groups, "
                                   f"min_lr {len(self.min_lrs)} values (one per group when it was "
                                   "built): set sched.min_lrs to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for g, low in zip(groups, self.min_lrs):
            old = float(g["lr"])
            new = max(old * self.factor, low)
            if old - new > self.eps:
                g["lr"] = new

    def closed_form_lr(self, epoch=None):
        raise NotImplementedError("ReduceLROnPlateau: its rates depend on the metrics, not on the epoch alone")

    def state_dict(self):
        """The options, the best metric so far (inf or -inf before the first step: Python's
        JSON writes them), the counters and the last rates: plain numbers."""
        return {**{k: getattr(self, k) for k in self._options if k != "min_lrs"},
                "min_lrs": list(self.min_lrs), "last_epoch": self.last_epoch, "best": float(self.best),
                "num_bad_epochs": self.num_bad_epochs, "cooldown_counter": self.cooldown_counter,
                "last_lr": [float(v) for v in self._last_lr]}

    def load_state_dict(self, state):
        """Go on from a saved state: its options (checked as when built), counters and last
        rates, which it writes into the optimizer's groups."""
        name = "ReduceLROnPlateau"
        known = (*self._options, *self._counters)
        missing, foreign = [k for k in known if k not in state], [k for k in state if k not in known]
        if missing or foreign:
            raise ValueError(f"{name}.load_state_dict: the state "
                             + (f"lacks {', '.join(missing)}" if missing else f"has {', '.join(foreign)}")
                             + " (is it another scheduler's?)")
        if len(state["last_lr"]) > len(self.optimizer.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(state['last_lr'])} groups, "
                             f"the optimizer {len(self.optimizer.param_groups)}")
        self._set_options(**{k: state[k] for k in self._options})
        for k in ("last_epoch", "num_bad_epochs", "cooldown_counter"):
            setattr(self, k, _check_iters(f"{name}.load_state_dict", k, state[k], minimum=0))
        self.best, self._last_lr = float(state["best"]), [float(v) for v in state["last_lr"]]
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            g["lr"] = lr


class _MomentumCycle(LRScheduler):
    """The base of :class:`OneCycleLR` and :class:`CyclicLR`: schedulers that write each group's
    rate and momentum at a step outright, the momentum moving against the rate. A subclass
    gives ``_schedule_at(epoch)``, the rates and the momenta at step ``epoch``."""

    def _set_momenta(self, op, cycle_momentum, base_momentums, max_momentums):
        """Check and set ``cycle_momentum`` and the momenta's bounds, one per group (after ``max_lrs``)."""
        self.cycle_momentum = _flag(op, "cycle_momentum", cycle_momentum)
        defaults = getattr(self.optimizer, "defaults", {})
        if self.cycle_momentum and "momentum" not in defaults and "betas" not in defaults:
            raise ValueError(f"{op}: cycle_momentum needs an optimizer with a momentum or betas option, "
                             f"got a {type(self.optimizer).__name__}: pass cycle_momentum=False")
        self.use_beta1 = "betas" in defaults   # PyTorch's name: Adam's beta1 is the momentum
        # beta1 = 1 would divide by 1 - beta1**t = 0 in Adam's bias correction
        beta1 = self.cycle_momentum and self.use_beta1
        self.base_momentums = [_check_momentum(op, "base_momentum", v, beta1) for v in base_momentums]
        self.max_momentums = [_check_momentum(op, "max_momentum", v, beta1) for v in max_momentums]
        if not len(self.max_lrs) == len(self.base_momentums) == len(self.max_momentums):
            raise ValueError(f"{op}: max_lr, base_momentum and max_momentum must have one value per group, got "
                             f"{len(self.max_lrs)}, {len(self.base_momentums)} and {len(self.max_momentums)}")

    def _advance(self, initial=False):
        self._go_to(self.last_epoch + 1)

    def _jump(self, epoch):
        self._go_to(int(epoch))

    def _go_to(self, epoch):
        """Write each group's rate and momentum at step ``epoch`` (all computed before any is written)."""
        lrs, momenta = self._schedule_at(epoch)
        self.last_epoch = epoch
        self._write(lrs)
        self._write_momenta(momenta)

    def _write_momenta(self, momenta):
        """With ``cycle_momentum``, each group's momentum (Adam's ``beta1``) and its bounds."""
        if not self.cycle_momentum:
            return
        for k, (g, m) in enumerate(zip(self.optimizer.param_groups, momenta)):
            g["max_momentum"], g["base_momentum"] = self.max_momentums[k], self.base_momentums[k]
            if self.use_beta1:
                g["betas"] = (m, *g["betas"][1:])
            else:
                g["momentum"] = m


class OneCycleLR(_MomentumCycle):
    """The 1cycle policy (Smith and Topin, 2019), PyTorch's: the rate climbs from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of ``total_steps``,
    then anneals down to ``max_lr / div_factor / final_div_factor``; the momentum (SGD's and
    RMSprop's ``momentum``, Adam's and AdamW's ``beta1``) moves the other way, from
    ``max_momentum`` down to ``base_momentum`` and back. Step it after every batch.

    Each phase goes from its start to its end along ``anneal_strategy``: "cos"
    (``end + (start - end) * (1 + cos(pi * pct)) / 2``) or "linear", ``pct`` the fraction of
    the phase gone by. The phases end at steps ``pct_start * total_steps - 1`` and
    ``total_steps - 1``; with ``three_phase`` the rate first comes back down to its start, by
    ``2 * pct_start * total_steps - 2``, and then anneals to its minimum (fast.ai's form)
    while the momentum stays at ``max_momentum``.

    Args:
        optimizer: any of :mod:`minifcn.optim`'s.
        max_lr: the peak rate, one for every group or a list of one per group. Building it
            sets each group's ``initial_lr`` (``max_lr / div_factor``), ``max_lr``, ``min_lr``
            and, with ``cycle_momentum``, ``max_momentum`` and ``base_momentum``, as PyTorch's.
        total_steps: the number of steps of the schedule; or give ``epochs`` and
            ``steps_per_epoch``, whose product it then is. Building it takes step 0; a
            :meth:`step` past step ``total_steps`` raises a ValueError, as PyTorch's.
        pct_start: in [0, 1]; anneal_strategy: "cos" or "linear".
        cycle_momentum, base_momentum, max_momentum: the momentum's cycle (ones per group
            too), which needs an optimizer with a ``momentum`` or ``betas`` option.
        div_factor, final_div_factor: numbers > 0. three_phase: above.

    It schedules the groups it was built with, from its own copies of their peaks and
    minima (PyTorch's reads the groups' keys at each step); its state dict holds them, so a
    loaded one goes on as the saved one did. A phase with no length (``pct_start *
    total_steps`` 1: a climb that ends at step 0) raises a ValueError at the step that falls
    in it, where PyTorch's divides by zero.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0, momentum=0.9)
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=4, pct_start=0.5, anneal_strategy="linear",
    ...                    div_factor=4.0, final_div_factor=2.0)
    >>> for _ in range(4):   # step 0 (building it), then 3 steps: up to the peak in 1, down in 2
    ...     print(sched.get_last_lr(), round(opt.param_groups[0]["momentum"], 4))
    ...     sched.step()
    [0.25] 0.95
    [1.0] 0.85
    [0.5625] 0.9
    [0.125] 0.95
    """

    _options = ("total_steps", "pct_start", "anneal_strategy", "three_phase", "max_lrs", "final_div_factor",
                "cycle_momentum", "base_momentums", "max_momentums")
    _built_groups_only = True   # a base (and a peak) of its own per group

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        op = "OneCycleLR"
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{op}: expected an optimizer, got a {type(optimizer).__name__}")
        self.optimizer = optimizer
        if total_steps is not None:
            total_steps = _check_iters(op, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            total_steps = _check_iters(op, "epochs", epochs) * _check_iters(op, "steps_per_epoch", steps_per_epoch)
        else:
            raise ValueError(f"{op}: give total_steps, or epochs and steps_per_epoch, got total_steps None, "
                             f"epochs {epochs!r} and steps_per_epoch {steps_per_epoch!r}")
        div_factor = _check_factor(op, "div_factor", div_factor, positive=True)
        groups = len(optimizer.param_groups)
        self._set_options(total_steps, pct_start, anneal_strategy, three_phase,
                          _per_group(op, "max_lr", max_lr, groups), final_div_factor, cycle_momentum,
                          _per_group(op, "base_momentum", base_momentum, groups),
                          _per_group(op, "max_momentum", max_momentum, groups))
        if _check_last_epoch(op, last_epoch) == -1:   # PyTorch's: a group's own lr is not used
            for g, top in zip(optimizer.param_groups, self.max_lrs):
                g["initial_lr"] = top / div_factor
        super().__init__(optimizer, last_epoch)

    def _set_options(self, total_steps, pct_start, anneal_strategy, three_phase, max_lrs, final_div_factor,
                     cycle_momentum, base_momentums, max_momentums):
        op = "OneCycleLR"
        self.total_steps = _check_iters(op, "total_steps", total_steps)
        self.pct_start = _check_in(op, "pct_start", pct_start, low_open=False)
        self.anneal_strategy = _check_choice(op, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.three_phase = _flag(op, "three_phase", three_phase)
        self.max_lrs = [_check_factor(op, "max_lr", v) for v in max_lrs]
        self.final_div_factor = _check_factor(op, "final_div_factor", final_div_factor, positive=True)
        self._set_momenta(op, cycle_momentum, base_momentums, max_momentums)

    def _phases(self):
        """``(end step, start, end)`` of each phase: the names of its rates and momenta at its
        ends, as PyTorch's ``_schedule_phases`` (the same sums, for the same bits)."""
        up = float(self.pct_start * self.total_steps) - 1
        if self.three_phase:
            return [(up, ("initial", "max"), ("max", "base")),
                    (float(2 * self.pct_start * self.total_steps) - 2, ("max", "initial"), ("base", "max")),
                    (self.total_steps - 1, ("initial", "min"), ("max", "max"))]
        return [(up, ("initial", "max"), ("max", "base")), (self.total_steps - 1, ("max", "min"), ("base", "max"))]

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _at(self, k, epoch):
        """Group ``k``'s rate and momentum at step ``epoch``."""
        lrs = {"initial": self.base_lrs[k], "max": self.max_lrs[k],
               "min": self.base_lrs[k] / self.final_div_factor}
        momenta = {"base": self.base_momentums[k], "max": self.max_momentums[k]}
        phases, start = self._phases(), 0.0
        for i, (end, (lr0, lr1), (m0, m1)) in enumerate(phases):
            if epoch <= end or i == len(phases) - 1:
                if end == start:
                    raise ValueError(f"OneCycleLR: step {epoch} falls in phase {i + 1}, which has no length "
                                     f"(from step {start:g} to step {end:g}) with pct_start {self.pct_start} and "
                                     f"total_steps {self.total_steps} (PyTorch's divides by zero here): "
                                     "choose another pct_start")
                pct = (epoch - start) / (end - start)
                return self._anneal(lrs[lr0], lrs[lr1], pct), self._anneal(momenta[m0], momenta[m1], pct)
            start = end

    def _schedule_at(self, epoch):
        """Each group's rate and momentum at step ``epoch``; past the end, raise."""
        if epoch > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step to step {epoch}, past total_steps {self.total_steps} "
                             "(PyTorch's raises too): build it with more total_steps, or stop stepping it")
        at = [self._at(k, epoch) for k in range(len(self.base_lrs))]
        return [lr for lr, _ in at], [m for _, m in at]

    def _write_momenta(self, momenta):
        """The groups' peaks and minima (PyTorch's sets them), and with ``cycle_momentum`` their momentum."""
        for k, g in enumerate(self.optimizer.param_groups[:len(momenta)]):
            g["max_lr"], g["min_lr"] = self.max_lrs[k], self.base_lrs[k] / self.final_div_factor
        super()._write_momenta(momenta)

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        return [self._at(k, epoch)[0] for k in range(len(self.base_lrs))]

    def load_state_dict(self, state):
        """Go on from a saved schedule (:meth:`LRScheduler.load_state_dict`), and write the
        groups' peaks, minima and momenta at its step, so that it needs no optimizer state."""
        if "max_lrs" in state and "base_lrs" in state and len(state["max_lrs"]) != len(state["base_lrs"]):
            raise ValueError(f"OneCycleLR.load_state_dict: the state has {len(state.get('max_lrs', ()))} "
                             f"max_lrs for {len(state.get('base_lrs', ()))} groups (is it another scheduler's?)")
        super().load_state_dict(state)
        self._write_momenta([self._at(k, self.last_epoch)[1] for k in range(len(self.base_lrs))])


class ConstantLR(LRScheduler):
    """The rate at ``factor`` times its base for the first ``total_iters`` steps, then at its
    base again (a warm-up at a constant rate): ``base * factor`` while ``epoch < total_iters``,
    ``base`` after, when nothing else moves it. The defaults are PyTorch's: a third, 5 steps.
    It multiplies the current rate by ``factor`` at epoch 0 and divides it by ``factor`` at
    ``total_iters``, so it chains with other schedulers (:class:`ChainedScheduler`).

    ``factor`` is in (0, 1]: PyTorch's takes 0, and divides by it at ``total_iters``.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = ConstantLR(opt, factor=0.5, total_iters=2)
    >>> sched.get_last_lr()                            # building it applies epoch 0
    [0.5]
    >>> for _ in range(3):
    ...     sched.step(); print(sched.get_last_lr())
    [0.5]
    [1.0]
    [1.0]
    """

    _options = ("factor", "total_iters")

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        self._set_options(factor, total_iters)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, factor, total_iters):
        self.factor = _check_in("ConstantLR", "factor", factor, low_open=True)
        self.total_iters = _check_iters("ConstantLR", "total_iters", total_iters)

    def _factor(self, epoch, initial):   # at the initial step too, as PyTorch's (a resumed schedule)
        if epoch == 0:
            return self.factor
        return 1.0 / self.factor if epoch == self.total_iters else 1.0

    def closed_form_lr(self, epoch=None):
        epoch = self.last_epoch if epoch is None else epoch
        f = self.factor   # PyTorch's sum, for its bits
        return [base * (f + (epoch >= self.total_iters) * (1 - f)) for base in self.base_lrs]


class MultiplicativeLR(LRScheduler):
    """Each step multiplies the rate by ``lr_lambda(epoch)`` (one function for every group, or a
    list of one per group): ``base * lr_lambda(1) * ... * lr_lambda(epoch)`` when nothing else
    moves it. Building it leaves the rates as they are, as PyTorch's. ``step(epoch)``
    multiplies by ``lr_lambda(epoch)`` once, as PyTorch's (it has no closed form to jump by).

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = MultiplicativeLR(opt, lambda epoch: 0.5 if epoch % 2 else 1.0)
    >>> for _ in range(4):
    ...     sched.step(); print(sched.get_last_lr())
    [0.5]
    [0.5]
    [0.25]
    [0.25]
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lr_lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    _built_groups_only = True   # one lambda each

    def _groups(self):
        return len(self.base_lrs)

    def _lr(self, k, epoch, initial):
        lr = self.optimizer.param_groups[k]["lr"]
        return lr if initial else lr * float(self.lr_lambdas[k](epoch))

    def _jump(self, epoch):   # PyTorch's step(epoch): get_lr at that epoch, from the current rate
        self.last_epoch = int(epoch)
        self._write([self._lr(k, self.last_epoch, False) for k in range(self._groups())])

    def closed_form_lr(self, epoch=None):
        """The product of the factors of epochs 1 to ``epoch`` times the base (not in PyTorch)."""
        epoch = self.last_epoch if epoch is None else epoch
        rates = []
        for base, f in zip(self.base_lrs, self.lr_lambdas):
            for e in range(1, epoch + 1):
                base *= float(f(e))
            rates.append(base)
        return rates


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov and Hutter, 2017), PyTorch's: a cosine from the base rate down to
    ``eta_min`` over ``T_i`` steps, then back at the base at once (a warm restart), the next
    cycle ``T_mult`` times longer (``T_i`` is ``T_0``, then ``T_0 * T_mult``, ...)::

        eta_min + (base - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    ``T_cur`` the steps since the last restart. Step it after every epoch, or after every batch
    with the fraction of the epoch gone by: ``step(epoch + i / iters)`` (a float epoch, as
    PyTorch's, and without its warning: this one is meant to take one); a :meth:`step`
    without one after it goes on by 1 from there. Not chainable: it writes its rates outright.

    Args:
        optimizer: any of :mod:`minifcn.optim`'s.
        T_0: the first cycle's length, a positive int. T_mult: an int >= 1.
        eta_min: the lowest rate, a number >= 0 (before each group's ``lr_mult``).

    Attributes, as PyTorch's: ``T_0``, ``T_i``, ``T_mult``, ``T_cur``, ``eta_min``, ``base_lrs``,
    ``last_epoch`` (the whole epochs: ``floor`` of the last one given). Where PyTorch's finds
    the cycle of a given epoch by a logarithm, this one counts the cycles: at an epoch where a
    cycle starts (``T_0`` 1, ``T_mult`` 3, epoch 121) PyTorch's rounds down into the cycle
    before and gives ``eta_min``, this one the base. A schedule resumed by ``last_epoch``
    starts in the cycle of that epoch (PyTorch's counts as if it were in the first, which is
    wrong from epoch ``2 * T_0`` on with ``T_mult`` above 1).

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(7):
    ...     sched.step(); lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs                                            # cycles of 2, then 4 steps; restarts at 2 and 6
    [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0, 0.9619]
    >>> sched.step(2.5); round(sched.get_last_lr()[0], 4), sched.T_cur, sched.last_epoch
    (0.9619, 0.5, 2)
    """

    _options = ("T_0", "T_mult", "eta_min")
    _counters = ("T_i", "T_cur")
    _built_groups_only = True   # a base of its own per group

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        self._set_options(T_0, T_mult, eta_min)
        super().__init__(optimizer, last_epoch)

    def _set_options(self, T_0, T_mult, eta_min):
        op = "CosineAnnealingWarmRestarts"
        self.T_0 = _check_iters(op, "T_0", T_0)
        self.T_mult = _check_iters(op, "T_mult", T_mult)
        self.eta_min = _check_factor(op, "eta_min", eta_min)

    def _cycle(self, epoch):
        """``(T_cur, T_i)`` at ``epoch``: where it falls in its cycle, and the cycle's length."""
        if epoch < self.T_0:
            return epoch, self.T_0
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        start, length = 0, self.T_0   # a cycle T_mult times the last: log(epoch / T_0) of them
        while epoch >= start + length:
            start, length = start + length, length * self.T_mult
        return epoch - start, length

    def _initial_step(self):
        self._go_to(self.last_epoch + 1)

    def _go_to(self, epoch):
        self.T_cur, self.T_i = self._cycle(epoch)
        self.last_epoch = math.floor(epoch)
        self._write(self.closed_form_lr())

    def _advance(self, initial=False):   # PyTorch's count: on by 1 from a fractional T_cur too
        self.T_cur += 1
        if self.T_cur >= self.T_i:
            self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        self.last_epoch += 1
        self._write(self.closed_form_lr())

    def _jump(self, epoch):
        self._go_to(epoch)

    def step(self, epoch=None):
        """On by one step, or to ``epoch`` (a number >= 0; a float falls inside a cycle)."""
        self._check_groups()
        if epoch is None:
            self._advance()
            return
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or not (math.isfinite(epoch) and epoch >= 0):
            raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be a finite number >= 0, got {epoch!r}")
        # a Python number: a NumPy one would not go into a checkpoint's JSON
        self._go_to(int(epoch) if isinstance(epoch, numbers.Integral) else float(epoch))

    def closed_form_lr(self, epoch=None):
        """The rates at ``epoch`` (a float too; default: where the schedule is now)."""
        t_cur, t_i = (self.T_cur, self.T_i) if epoch is None else self._cycle(epoch)
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
                for base in self.base_lrs]

    def state_dict(self):
        """:meth:`LRScheduler.state_dict`, and where the schedule is in its cycle: ``T_i``, ``T_cur``."""
        return {**super().state_dict(), "T_i": self.T_i, "T_cur": self.T_cur}

    def load_state_dict(self, state):
        name = "CosineAnnealingWarmRestarts.load_state_dict"
        missing = [k for k in self._counters if k not in state]
        if missing:
            raise ValueError(f"{name}: the state lacks {', '.join(missing)} (is it another scheduler's?)")
        t_i = _check_iters(name, "T_i", state["T_i"])
        t_cur = state["T_cur"]
        if isinstance(t_cur, bool) or not isinstance(t_cur, numbers.Real) or not 0 <= t_cur < t_i:
            raise ValueError(f"{name}: T_cur must be a number in [0, T_i {t_i}), got {t_cur!r}")
        super().load_state_dict({k: v for k, v in state.items() if k not in self._counters})
        self.T_i, self.T_cur = t_i, t_cur


class CyclicLR(_MomentumCycle):
    """Cyclical learning rates (Smith, 2017), PyTorch's: the rate goes up from ``base_lr`` to
    ``max_lr`` in ``step_size_up`` steps and back down in ``step_size_down`` (default: the same),
    over and over; the momentum (SGD's and RMSprop's ``momentum``, Adam's and AdamW's ``beta1``)
    goes the other way, from ``max_momentum`` down to ``base_momentum`` and back. Step it after
    every batch. At step ``epoch``, with ``cycle = floor(1 + epoch / (up + down))`` and
    ``h`` the height in the triangle (0 at its ends, 1 at its top)::

        lr = base_lr + (max_lr - base_lr) * h * scale_fn(cycle  or  epoch)
        momentum = max_momentum - (max_momentum - base_momentum) * h * scale_fn(...)

    ``mode`` picks ``scale_fn``: "triangular" (1), "triangular2" (halved each cycle:
    ``1 / 2 ** (cycle - 1)``) or "exp_range" (``gamma ** epoch``, of the steps); or give your
    own ``scale_fn`` (a function of a number, into [0, 1]) and ``scale_mode``, "cycle" or
    "iterations" (whether it takes the cycle or the step).

    Args:
        optimizer: any of :mod:`minifcn.optim`'s. Building it writes ``base_lr`` into each
            group's ``lr`` (and its ``initial_lr`` if it has none) and, with ``cycle_momentum``,
            the groups' ``max_momentum`` and ``base_momentum``, as PyTorch's.
        base_lr, max_lr: numbers >= 0, one for every group or a list of one per group.
        step_size_up, step_size_down: numbers of steps > 0 (a float too, as PyTorch's);
            ``step_size_down`` 0 too, a sawtooth.
        gamma: a number >= 0. cycle_momentum, base_momentum, max_momentum: as
            :class:`OneCycleLR`'s (PyTorch's defaults here: 0.8 and 0.9).

    ``mode`` and ``scale_mode`` are checked even where ``scale_fn`` makes one unused (PyTorch's
    takes any then). The state dict says whether a ``scale_fn`` of one's own was given, not
    the function: build the loading one with the same, as for :class:`LambdaLR`.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=123.0, momentum=0.9)
    >>> sched = CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2, step_size_down=1, mode="triangular2")
    >>> for _ in range(7):
    ...     print(round(sched.get_last_lr()[0], 4), round(opt.param_groups[0]["momentum"], 4))
    ...     sched.step()
    0.1 0.9
    0.3 0.85
    0.5 0.8
    0.1 0.9
    0.2 0.875
    0.3 0.85
    0.1 0.9
    """

    _options = ("max_lrs", "step_size_up", "step_size_down", "mode", "gamma", "scale_mode", "custom_scale_fn",
                "cycle_momentum", "base_momentums", "max_momentums")
    _built_groups_only = True   # a base (and a peak) of its own per group

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        op = "CyclicLR"
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{op}: expected an optimizer, got a {type(optimizer).__name__}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"{op}: scale_fn must be a function of a number (or None), got {scale_fn!r}")
        self.optimizer, self._scale_fn_custom = optimizer, scale_fn
        groups = len(optimizer.param_groups)
        base_lrs = [_check_factor(op, "base_lr", v) for v in _per_group(op, "base_lr", base_lr, groups)]
        self._set_options(_per_group(op, "max_lr", max_lr, groups), step_size_up,
                          step_size_up if step_size_down is None else step_size_down, mode, gamma, scale_mode,
                          scale_fn is not None, cycle_momentum, _per_group(op, "base_momentum", base_momentum, groups),
                          _per_group(op, "max_momentum", max_momentum, groups))
        if _check_last_epoch(op, last_epoch) == -1:
            for g, lr in zip(optimizer.param_groups, base_lrs):
                g["lr"] = lr
        self._given_base_lrs = base_lrs
        super().__init__(optimizer, last_epoch)

    def _set_options(self, max_lrs, step_size_up, step_size_down, mode, gamma, scale_mode, custom_scale_fn,
                     cycle_momentum, base_momentums, max_momentums):
        op = "CyclicLR"
        self.max_lrs = [_check_factor(op, "max_lr", v) for v in max_lrs]
        self.step_size_up = _check_factor(op, "step_size_up", step_size_up, positive=True)
        # 0 down: a sawtooth, the rate falling back to base_lr at once (PyTorch's takes it)
        if isinstance(step_size_down, numbers.Real) and not isinstance(step_size_down, bool) and step_size_down == 0:
            self.step_size_down = 0.0
        else:
            self.step_size_down = _check_factor(op, "step_size_down", step_size_down, positive=True)
        self.mode = _check_choice(op, "mode", mode, ("triangular", "triangular2", "exp_range"))
        self.gamma = _check_factor(op, "gamma", gamma)
        self.scale_mode = _check_choice(op, "scale_mode", scale_mode, ("cycle", "iterations"))
        self.custom_scale_fn = _flag(op, "custom_scale_fn", custom_scale_fn)
        if self.custom_scale_fn != (self._scale_fn_custom is not None):   # only a loaded state can differ
            saved, built = ("with" if v else "without" for v in (self.custom_scale_fn, self._scale_fn_custom))
            raise ValueError(f"{op}: the state was saved by a CyclicLR {saved} a scale_fn of its own, this one "
                             f"is built {built}: build it as the saved one was")
        if not self.custom_scale_fn:   # the mode's own, as PyTorch's
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"
        self._set_momenta(op, cycle_momentum, base_momentums, max_momentums)

    def scale_fn(self, x):
        """The amplitude's scale at ``x`` (the cycle, or the step): the mode's, or the one given."""
        if self._scale_fn_custom is not None:
            return float(self._scale_fn_custom(x))
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def _initial_step(self):
        # PyTorch's steps from the groups' initial_lr here, and from base_lr after: base_lr here too
        self.base_lrs = list(self._given_base_lrs)
        self._go_to(self.last_epoch + 1)

    def _schedule_at(self, epoch):
        """Each group's rate and momentum at step ``epoch``: PyTorch's sums, for its bits."""
        total = self.step_size_up + self.step_size_down
        ratio = self.step_size_up / total
        cycle = math.floor(1 + epoch / total)
        x = 1.0 + epoch / total - cycle   # how far into the cycle, in [0, 1)
        height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else epoch)
        lrs = [base + (top - base) * height * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        momenta = [top - (top - low) * height * scale for low, top in zip(self.base_momentums, self.max_momentums)]
        return lrs, momenta

    def closed_form_lr(self, epoch=None):
        return self._schedule_at(self.last_epoch if epoch is None else epoch)[0]

    def load_state_dict(self, state):
        """Go on from a saved schedule (:meth:`LRScheduler.load_state_dict`), and write the
        groups' momenta at its step, so that it needs no optimizer state."""
        if "max_lrs" in state and "base_lrs" in state and len(state["max_lrs"]) != len(state["base_lrs"]):
            raise ValueError(f"CyclicLR.load_state_dict: the state has {len(state['max_lrs'])} max_lrs for "
                             f"{len(state['base_lrs'])} groups (is it another scheduler's?)")
        super().load_state_dict(state)
        self._write_momenta(self._schedule_at(self.last_epoch)[1])


class ChainedScheduler(LRScheduler):
    """Several schedulers stepped as one, PyTorch's: each :meth:`step` steps each of them in
    turn, so that their factors multiply (a :class:`ConstantLR` warm-up under an
    :class:`ExponentialLR` decay). They are built on the same optimizer first. It has no epoch
    of its own, as PyTorch's; its state dict holds theirs.

    Args:
        schedulers: a list of schedulers of one optimizer (not :class:`ReduceLROnPlateau`,
            whose step needs a metric).
        optimizer: theirs (default: the first one's), checked.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> from minifcn.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> warmup = ConstantLR(opt, factor=0.1, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> sched = ChainedScheduler([warmup, decay])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     sched.step(); lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.1, 0.05, 0.25, 0.125]
    """

    def __init__(self, schedulers, optimizer=None):
        name = "ChainedScheduler"
        try:
            schedulers = list(schedulers)
        except TypeError:
            raise TypeError(f"{name}: schedulers must be a list of schedulers, got {schedulers!r}") from None
        if not schedulers:
            raise ValueError(f"{name}: expected at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"{name}: schedulers[{i}] must be a scheduler, got a {type(s).__name__}")
            if isinstance(s, ReduceLROnPlateau):   # PyTorch's ValueError
                raise ValueError(f"{name}: schedulers[{i}] is a ReduceLROnPlateau, whose step needs a metric "
                                 "that ChainedScheduler's step has not to give: step it by itself")
        optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got a {type(optimizer).__name__}")
        for i, s in enumerate(schedulers):
            if s.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{i}] ({type(s).__name__}) sets another optimizer's rates")
        self.optimizer, self._schedulers = optimizer, schedulers
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self):
        """Step each scheduler in turn. (PyTorch's takes no epoch either.)"""
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def closed_form_lr(self, epoch=None):
        raise NotImplementedError("ChainedScheduler: its rates are its schedulers' factors multiplied step "
                                  "by step; it has no closed form")

    def state_dict(self):
        """The last rates and each scheduler's state dict."""
        return {"last_lr": [float(v) for v in self._last_lr], "schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state):
        """Go on from a saved chain: each scheduler's state, then the chain's last rates
        written into the optimizer's groups."""
        known = ("last_lr", "schedulers")
        if sorted(state) != sorted(known) or len(state["schedulers"]) != len(self._schedulers):
            raise ValueError(f"ChainedScheduler.load_state_dict: expected {', '.join(known)} with "
                             f"{len(self._schedulers)} schedulers' states, got {', '.join(state)}"
                             + (f" with {len(state['schedulers'])}" if "schedulers" in state else ""))
        if len(state["last_lr"]) > len(self.optimizer.param_groups):
            raise ValueError(f"ChainedScheduler.load_state_dict: the state has {len(state['last_lr'])} groups, "
                             f"the optimizer {len(self.optimizer.param_groups)}")
        for s, saved in zip(self._schedulers, state["schedulers"]):
            s.load_state_dict(saved)
        self._last_lr = [float(v) for v in state["last_lr"]]
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            g["lr"] = lr
