"""SGD with momentum, weight decay and parameter groups; Adam, AdamW, RMSprop and Adagrad;
learning-rate schedules. NAdam, RAdam and Adamax (:mod:`minifcn.optim_adam_family`), Adadelta,
ASGD and Rprop (:mod:`minifcn.optim_classic`) and LBFGS (:mod:`minifcn.optim_lbfgs`) are found
here too.

SGD's update, per parameter ``p`` with gradient ``g`` (PyTorch's form)::

    g = g + weight_decay * p
    v = g                                   on the first step (v is the momentum buffer)
    v = momentum * v + (1 - dampening) * g  on the others
    g = g + momentum * v  if nesterov, else  g = v
    p = p - lr * g

Caffe's SGD solver puts the rate inside the momentum (``v = momentum * v + lr * g; p = p - v``):
the same steps while ``lr`` is fixed, but not under a schedule, where Caffe's momentum carries
the older, larger rates a while longer.

Adam's, at the parameter's ``t``-th step (``m``, ``v`` start at 0; PyTorch's form)::

    g = -g  if maximize
    g = g + weight_decay * p            Adam;  AdamW instead: p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g     a running mean of the gradient...
    v = beta2 * v + (1 - beta2) * g**2  ...and of its square
    v = vmax = max(vmax, v)             if amsgrad: the largest v so far
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

The divisions by ``1 - beta**t`` undo the start at zero (the bias correction); ``eps`` is added
after the square root is corrected, as in the paper and PyTorch (Keras adds it before, to
``sqrt(v)``, which makes its ``eps`` a different number).

RMSprop's (``s``, ``a``, ``b`` start at 0; PyTorch's form, which has no bias correction)::

    g = -g  if maximize
    g = g + weight_decay * p
    s = alpha * s + (1 - alpha) * g**2      a running mean of the gradient's square
    a = alpha * a + (1 - alpha) * g         if centered: of the gradient too...
    d = sqrt(s - a**2) + eps  if centered, else  sqrt(s) + eps   ...whose square it takes off
    b = momentum * b + g / d;  p = p - lr * b   with momentum; else  p = p - lr * g / d

Adagrad's (:class:`Adagrad`: a sum of the squared gradients, and a decaying rate).

The schedules: :func:`lr_at` (Caffe's policies, which the trainer follows), and for a training
loop of one's own PyTorch's schedulers (:class:`~minifcn.lr_scheduler.StepLR`, ``MultiStepLR``,
``ExponentialLR``, ``PolynomialLR``, ``CosineAnnealingLR``, ``LinearLR``, ``LambdaLR``,
``SequentialLR``, ``ReduceLROnPlateau``, ``OneCycleLR``, ``CosineAnnealingWarmRestarts``,
``CyclicLR``, ``ConstantLR``, ``ChainedScheduler``, ``MultiplicativeLR``), found where PyTorch
keeps them: ``minifcn.optim.lr_scheduler``.

FCN trains biases at twice the learning rate and without weight decay: give them their own
group (:func:`fcn_param_groups`).

>>> import numpy as np
>>> from minifcn.nn import Parameter
>>> p = Parameter(np.array([1.0]))
>>> opt = SGD([p], lr=0.1, momentum=0.9)
>>> p.grad = np.array([1.0]); opt.step(); p.data
array([0.9])
>>> p.grad = np.array([1.0]); opt.step(); p.data       # v = 0.9 * 1 + 1 = 1.9
array([0.71])
"""
from __future__ import annotations

import math
import numbers
import sys
import warnings

import numpy as np

from . import backend
from .autograd import Tensor, clear_grad, no_grad, set_grad_enabled
from .functional import _flag
from .kernels import threads   # threads.MIN_BLOCK_VALUES read at each call (the tests lower it)

# The update walks each parameter in chunks of this many values, so that its temporaries stay in
# cache: a step then reads p, g and v and writes p and v once each (5 trips over memory, not the
# 15 of whole-array temporaries). FCN-8s, 134M weights (103M in fc6): 0.61 s -> 0.22 s a step;
# PyTorch's takes 0.28 s.
# A GPU takes each parameter whole: there a kernel launch costs more than a trip to memory.
CHUNK = 2**16


def _chunks(p, g, v):
    """Matching chunks of ``p``, ``g`` and ``v`` (None without momentum): slices of their flat
    views, or the arrays whole on a GPU or when one is not contiguous (its flat view would be a
    copy, and the update would be lost)."""
    arrays = [a for a in (p, g, v) if a is not None]
    if backend.device_of(p) == "cuda" or not all(a.flags.c_contiguous for a in arrays):
        yield p, g, v
        return
    p, g = p.reshape(-1), g.reshape(-1)
    v = None if v is None else v.reshape(-1)
    for a in range(0, p.size, CHUNK):
        yield p[a:a + CHUNK], g[a:a + CHUNK], None if v is None else v[a:a + CHUNK]


def _update(p, g, v, lr, mom, wd, dampening=0.0, nesterov=False, first=False):
    """One SGD step of the array ``p`` in place, PyTorch's::

        d = g + wd*p
        v = d  if first, else  v = mom*v + (1 - dampening)*d
        d = d + mom*v  if nesterov, else  d = v
        p -= lr*d

    ``v``: the momentum buffer, written in place (None without momentum; on the ``first`` step
    its values are not read). The chunks are shared out among the CPU's threads (fc6, 103M
    weights: 217-224 -> 163-164 ms a step)."""
    xp = backend.get_array_module(p)
    scalar = p.dtype.type
    chunks = list(_chunks(p, g, v))
    second = v is not None and (dampening or nesterov)   # a second temporary: d is still needed

    def update(share):
        tmp = tmp2 = None
        for pc, gc, vc in chunks[share[0]:share[1]]:
            if tmp is None:   # the first chunk is the largest
                tmp = xp.empty(pc.size, dtype=p.dtype)
                tmp2 = xp.empty_like(tmp) if second else None
            t = tmp[:pc.size].reshape(pc.shape)
            u = tmp2[:pc.size].reshape(pc.shape) if second else None
            d = gc
            if wd:
                d = xp.multiply(pc, scalar(wd), out=t)
                d += gc
            if vc is not None:
                if first:   # PyTorch's buffer starts as d itself, not damped
                    vc[...] = d
                else:
                    vc *= scalar(mom)
                    vc += xp.multiply(d, scalar(1 - dampening), out=u) if dampening else d
                if nesterov:
                    d = xp.add(d, xp.multiply(vc, scalar(mom), out=u), out=u)
                else:
                    d = vc
            pc -= xp.multiply(d, scalar(lr), out=t)

    # a share of at least MIN_BLOCK_VALUES values: a smaller one costs more to hand to a thread
    shares = min(threads.num_threads(), max(1, p.size // threads.MIN_BLOCK_VALUES))
    threads.map_blocks(update, threads.row_groups(len(chunks), shares), p)


class Optimizer:
    """The base of :class:`SGD`, :class:`Adam`, :class:`AdamW`, :class:`RMSprop`, :class:`Adagrad`,
    :class:`NAdam`, :class:`RAdam`, :class:`Adamax`, :class:`Adadelta`, :class:`ASGD`, :class:`Rprop`
    and :class:`LBFGS` (whose :meth:`step` is its own), as PyTorch's ``torch.optim.Optimizer``: parameter groups with their own options, ``lr_mult``,
    :meth:`add_param_group`, :meth:`zero_grad`, :meth:`step` (a closure first, if given; then
    each parameter with a gradient, under ``no_grad``) and a state dict. A subclass gives its
    options' checks (``_check_options(group, where)``) and one parameter's update (``_update(p, group, state)``,
    ``state`` a dict of its own, empty at the parameter's first step). ``optimizer.state`` holds
    those dicts by ``id(param)`` (PyTorch's by the parameter itself).

    Parameters that do not require grad when the optimizer is built (FCN's fixed upsampling)
    are left out of its groups and its state dict: unlike PyTorch's optimizers, which keep them
    and step them once they require grad again, this one never steps a parameter unfrozen
    later, and warns at the first step where one has a gradient. Build the optimizer after
    unfreezing.
    """

    _state_key = "state"   # the name of the per-parameter list in the state dict

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor):   # list() would take its rows, which never get a gradient
            raise TypeError(f"{name}: params must be an iterable of Parameters or of dicts, got one "
                            f"{type(params).__name__}: wrap it in a list")
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        groups = [dict(g, params=[g["params"]] if isinstance(g["params"], Tensor) else list(g["params"]))
                  for g in groups]
        listed = [id(p) for g in groups for p in g["params"]]
        if not listed:   # as PyTorch: a run that trains nothing is a mistake
            raise ValueError(f"{name}: got an empty parameter list")
        if len(set(listed)) != len(listed):   # it would be stepped once per listing
            raise ValueError(f"{name}: a parameter appears more than once in params (or in two groups)")
        self.defaults = dict(defaults, lr_mult=1.0)
        self._check_options(self.defaults, name)
        self.param_groups = []
        self._left_out = []   # frozen when built: said at a step where one has a gradient
        for i, g in enumerate(groups):
            group = dict(self.defaults, **g)
            self._check_options(group, f"{name} (group {i})")
            self._left_out += [p for p in group["params"] if not p.requires_grad]
            group["params"] = [p for p in group["params"] if p.requires_grad]
            self.param_groups.append(group)
        self.base_lr = self.defaults["lr"]
        self.state = {}   # id(param) -> that parameter's state (a dict), from its first step on

    def add_param_group(self, group):
        """Step more parameters from now on, with their own options (PyTorch's: a layer
        unfrozen for fine-tuning): ``{"params": [...], "lr": ...}``, the others the defaults."""
        name = type(self).__name__
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        held = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in held for p in group["params"]):
            raise ValueError(f"{name}.add_param_group: a parameter is already in another group")
        if len({id(p) for p in group["params"]}) != len(group["params"]):   # stepped twice
            raise ValueError(f"{name}.add_param_group: a parameter appears more than once in the group")
        group = dict(self.defaults, **group)
        self._check_options(group, f"{name}.add_param_group (group {len(self.param_groups)})")
        self._left_out = [p for p in self._left_out if not any(p is q for q in group["params"])]
        self._left_out += [p for p in group["params"] if not p.requires_grad]
        group["params"] = [p for p in group["params"] if p.requires_grad]
        self.param_groups.append(group)

    def set_lr(self, lr):
        """Set the base learning rate of every group, a group's own ``lr`` included (each then
        steps with ``lr * lr_mult``)."""
        self.base_lr = lr
        for g in self.param_groups:
            g["lr"] = lr

    def zero_grad(self, set_to_none: bool = True):
        """Forget the gradients of the parameters it steps: None (as PyTorch's), or zeros."""
        for g in self.param_groups:
            for p in g["params"]:
                clear_grad(p, set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient; one whose ``grad`` is None is skipped
        (its state, its count of steps included, waits), as PyTorch's.

        ``closure``, if given, is called first, with the graph recorded (even inside
        ``no_grad``, as PyTorch's ``enable_grad`` there): a function that zeroes the
        gradients, computes the loss, calls its ``backward()`` and returns it. The step returns
        what the closure returned (None without one), as PyTorch's.

        >>> import numpy as np
        >>> from minifcn.nn import Parameter
        >>> p = Parameter(np.array([3.0]))
        >>> opt = SGD([p], lr=0.25)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = (p * p).sum()                 # gradient 2p
        ...     loss.backward()
        ...     return loss
        >>> float(opt.step(closure)), p.data         # the loss before the step; 3 - 0.25 * 6
        (9.0, array([1.5]))
        """
        loss = None
        if closure is not None:
            if not callable(closure):
                raise TypeError(f"{type(self).__name__}.step: closure must be a function that computes "
                                f"the loss and its gradients and returns the loss, got {closure!r}")
            with set_grad_enabled(True):   # the closure's backward needs the graph
                loss = closure()
        self._warn_unfrozen()
        with no_grad():
            for g in self.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        if p.grad.shape != p.shape:   # it would broadcast into every row
                            raise ValueError(f"{type(self).__name__}.step: a parameter of shape "
                                             f"{tuple(p.shape)} has a gradient of shape "
                                             f"{tuple(p.grad.shape)}; expected the parameter's")
                        self._update(p, g, self.state.setdefault(id(p), {}))
        return loss

    def _warn_unfrozen(self):
        """Warn, once for each, of the parameters frozen when built that now have a gradient."""
        unfrozen = [p for p in self._left_out if p.requires_grad and p.grad is not None]
        if unfrozen:   # PyTorch's would step them: say so once, rather than train them silently not
            warnings.warn(f"{type(self).__name__}: {len(unfrozen)} parameter(s) of shape "
                          f"{tuple(unfrozen[0].shape)}{', ...' if len(unfrozen) > 1 else ''} were "
                          "frozen when this optimizer was built and are left out: it does not step "
                          "them. Build the optimizer after unfreezing", UserWarning, stacklevel=3)
            self._left_out = [p for p in self._left_out if not any(p is q for q in unfrozen)]

    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def _pack(self, state):
        """One parameter's state as the state dict holds it: host copies of its arrays (step()
        updates them in place), None before its first step."""
        if not state:
            return None
        # a count (Adam's step) stays an int, a scalar of the run (NAdam's mu_product) a float
        return {k: v if isinstance(v, (int, float)) else backend.to_numpy(v).copy() for k, v in state.items()}

    def _unpack(self, saved, p):
        """The inverse of :meth:`_pack`: arrays copied to ``p``'s device, in its dtype."""
        xp = backend.get_array_module(p.data)
        # a count (Adam's step) stays an int, however it was stored (np.int64, a 0-d array); a
        # float a float (NAdam's mu_product: a 0-d parameter's moments are 0-d arrays, not floats,
        # and may be device ones: to_numpy, as CuPy refuses np.asarray)
        return {k: int(v) if np.ndim(v) == 0 and backend.to_numpy(v).dtype.kind in "iu" else
                v if isinstance(v, float) else
                xp.array(v, dtype=p.data.dtype) for k, v in (saved or {}).items()}

    def state_dict(self):
        """The base lr, the groups' options (plain numbers: JSON-able) and each parameter's
        state in parameter order (host arrays)."""
        return {"base_lr": self.base_lr,
                "groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups],
                self._state_key: [self._pack(self.state.get(id(p))) for p in self._params()]}

    def load_state_dict(self, state):
        """Go on from a saved state: the groups' options and each parameter's state. Checked
        whole before anything changes."""
        name, key = type(self).__name__, self._state_key
        if key not in state:
            raise ValueError(f"{name}.load_state_dict: the state has no {key!r} (is it another "
                             f"optimizer's? it has {', '.join(map(repr, state))})")
        order = self._params()
        if len(state[key]) != len(order) or len(state["groups"]) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(state[key])} parameters in "
                             f"{len(state['groups'])} groups, this optimizer {len(order)} in {len(self.param_groups)}")
        # each group's options checked (and made floats, bools, as when built) before any change
        merged = [dict(g, **saved) for g, saved in zip(self.param_groups, state["groups"])]
        for i, m in enumerate(merged):
            self._check_options(m, f"{name}.load_state_dict (group {i})")
        loaded = [self._unpack(saved, p) for p, saved in zip(order, state[key])]
        for i, (p, s) in enumerate(zip(order, loaded)):
            for k, v in s.items():
                if not isinstance(v, (int, float)) and v.shape != p.shape:
                    raise ValueError(f"{name}.load_state_dict: parameter {i}'s {k} has shape "
                                     f"{tuple(v.shape)}, the parameter {tuple(p.shape)}")
        self.base_lr = state["base_lr"]
        for g, m in zip(self.param_groups, merged):
            g.update(m)   # a state saved before an option existed keeps this one's
        self.state = {id(p): s for p, s in zip(order, loaded) if s}

    def _check_options(self, group, where):
        raise NotImplementedError

    def _update(self, p, group, state):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent.

    Args:
        params: a list of Parameters, or of dicts ``{"params": [...], "lr": ..., "weight_decay": ...}``
            whose keys override the defaults for that group (``lr_mult`` scales the base lr).
            :meth:`set_lr`, which the trainer calls every step, sets every group's ``lr``: a
            group that must keep its own rate under a schedule takes an ``lr_mult``.
        lr, momentum, dampening, weight_decay, nesterov: defaults for every group, as PyTorch's
            (all but ``lr`` and ``momentum`` keyword-only). ``nesterov`` needs ``momentum > 0``
            and ``dampening == 0``.

    Parameters frozen when it is built are left out (:class:`Optimizer` says why): build it
    after unfreezing. Its state dict keeps the momentum buffers as ``"velocity"``, one array
    (or None) per parameter, as the trainer's checkpoints hold them.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0]))
    >>> opt = SGD([p], lr=0.1, momentum=0.5, nesterov=True)
    >>> p.grad = np.array([1.0]); opt.step(); p.data     # v = 1; p -= 0.1 * (1 + 0.5 * v)
    array([0.85])
    """

    _state_key = "velocity"

    # keyword-only after momentum: PyTorch's 4th is dampening, its 5th weight_decay; a 4th given
    # by place would mean one thing here and another there
    def __init__(self, params, lr, momentum=0.0, *, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _check_options(self, group, where):
        _check_options(group, where)

    def _update(self, p, g, state):
        v, first = None, False
        if g["momentum"]:
            v = state.get("momentum_buffer")
            first = v is None
            if first:   # _update writes it whole
                v = state["momentum_buffer"] = backend.get_array_module(p.data).empty_like(p.data)
        _update(p.data, p.grad, v, g["lr"] * g["lr_mult"], g["momentum"], g["weight_decay"],
                g["dampening"], g["nesterov"], first)

    def _pack(self, state):   # the buffer alone: the checkpoint's layout
        return None if not state else backend.to_numpy(state["momentum_buffer"]).copy()

    def _unpack(self, v, p):
        return {} if v is None else {"momentum_buffer": backend.get_array_module(p.data).asarray(v).copy()}


def _adam_update(p, g, m, v, vmax, t, lr, beta1, beta2, eps, wd, decoupled):
    """One Adam step of the array ``p`` in place, PyTorch's (``t`` counts this step)::

        p = p * (1 - lr*wd)  if decoupled (AdamW), else  g = g + wd*p
        m = beta1*m + (1 - beta1)*g
        v = beta2*v + (1 - beta2)*g*g
        v = vmax = max(vmax, v)  if amsgrad (``vmax`` not None)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    ``m``, ``v`` and ``vmax`` are written in place. The scalars are cast to ``p``'s dtype, so a
    float32 parameter is stepped in float32, as PyTorch's."""
    xp = backend.get_array_module(p)
    s = p.dtype.type
    if wd and decoupled:
        p *= s(1 - lr * wd)
    elif wd:
        g = g + s(wd) * p
    m += s(1 - beta1) * (g - m)   # = beta1*m + (1 - beta1)*g: PyTorch's lerp, one product
    v *= s(beta2)
    v += s(1 - beta2) * g * g
    if vmax is not None:
        v = xp.maximum(vmax, v, out=vmax)
    denom = xp.sqrt(v) / s((1 - beta2 ** t) ** 0.5) + s(eps)
    p -= s(lr / (1 - beta1 ** t)) * m / denom


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), PyTorch's algorithm (the module docstring shows the update).

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`SGD`'s (``lr_mult``
            too: :func:`fcn_param_groups` gives FCN's groups here as well).
        lr, betas, eps, weight_decay, amsgrad: defaults for every group, as PyTorch's;
            ``maximize`` and ``decoupled_weight_decay`` (AdamW's decay: :class:`AdamW`) keyword-only.

    Each parameter keeps its own state from its first step with a gradient, as PyTorch's:
    ``step`` (an int; a parameter skipped at some step counts fewer), ``exp_avg`` (m),
    ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``, in the parameter's dtype and on
    its device. The state dict holds them as ``"state"``, one dict (or None) per parameter in
    parameter order, host arrays; the groups' options are plain numbers (JSON-able).

    Each step moves a parameter by about ``lr``, whatever the gradient's scale:

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0, 1.0]))
    >>> opt = Adam([p], lr=0.1)
    >>> p.grad = np.array([1.0, 1000.0]); opt.step(); p.data   # m / sqrt(v) = 1 at the first step
    array([0.9, 0.9])
    >>> opt.state_dict()["state"][0]["step"]
    1
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def _check_options(self, group, where):
        _check_adam_options(group, where)

    def _update(self, p, group, state):
        xp = backend.get_array_module(p.data)
        if not state:   # PyTorch's: made at the parameter's first step, zeros
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        _adam_update(p.data, -p.grad if group["maximize"] else p.grad,
                     state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"] if group["amsgrad"] else None,
                     state["step"], group["lr"] * group["lr_mult"], beta1, beta2, group["eps"],
                     group["weight_decay"], group["decoupled_weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), PyTorch's ``AdamW``:
    each step first shrinks the parameter, ``p = p * (1 - lr * weight_decay)``, where Adam adds
    ``weight_decay * p`` to the gradient (which the division by ``sqrt(v)`` then rescales).
    ``weight_decay`` defaults to 1e-2; the rest is :class:`Adam`.

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([2.0]))
    >>> opt = AdamW([p], lr=0.1, weight_decay=0.5)
    >>> p.grad = np.array([0.0]); opt.step(); p.data        # 2 * (1 - 0.1 * 0.5); m = 0
    array([1.9])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


def _number(where, name, v):
    """``v`` as a float, or a TypeError naming it (a string or None had failed a comparison,
    naming nothing; NumPy's float32 would not go into a checkpoint's JSON)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {v!r}")
    return float(v)


def _nonnegative_options(g, where, names):
    """Make each of group ``g``'s options ``names`` a float, or raise: a TypeError if one is not
    a number, a ValueError if it is not finite and >= 0."""
    for name in names:
        g[name] = _number(where, name, g[name])
        if not (math.isfinite(g[name]) and g[name] >= 0):
            raise ValueError(f"{where}: {name} must be finite and >= 0, got {g[name]}")


def _check_adam_options(g, where):
    """Refuse an Adam group's options that PyTorch refuses (a negative lr, eps or weight decay,
    betas outside [0, 1)) or that would train wrongly (inf, NaN); makes the flags bools and
    ``betas`` a pair of floats (a list after JSON)."""
    _nonnegative_options(g, where, ("lr", "eps", "weight_decay", "lr_mult"))
    _check_betas(g, where)
    for name in ("amsgrad", "maximize", "decoupled_weight_decay"):
        g[name] = _flag(where, name, g[name])


def _check_betas(g, where):
    """Make group ``g``'s ``betas`` a pair of floats in [0, 1) (a list after JSON), or raise
    naming it (Adam's and NAdam's, RAdam's, Adamax's)."""
    betas = g["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{where}: betas must be a pair of numbers (beta1, beta2), got {betas!r}")
    betas = tuple(_number(where, "betas", b) for b in betas)
    if not all(0 <= b < 1 for b in betas):   # NaN too; beta2 = 1 never forgets, and divides by 0
        raise ValueError(f"{where}: betas must be in [0, 1), got {betas}")
    g["betas"] = betas


def _check_options(g, where):
    """Refuse a group's options that would train wrongly (NaN a step later, an ascent) or that
    PyTorch refuses (nesterov without momentum, or with dampening); makes ``nesterov`` a bool."""
    for name in ("lr", "momentum", "weight_decay", "dampening", "lr_mult"):
        g[name] = _number(where, name, g[name])
    lr, mom, wd, damp = g["lr"], g["momentum"], g["weight_decay"], g["dampening"]
    if not all(math.isfinite(v) and v >= 0 for v in (lr, mom, wd)):
        raise ValueError(f"{where}: lr, momentum and weight_decay must be finite and >= 0, got "
                         f"{lr}, {mom}, {wd}")
    if not (math.isfinite(g["lr_mult"]) and g["lr_mult"] >= 0):   # below 0: an ascent
        raise ValueError(f"{where}: lr_mult must be finite and >= 0, got {g['lr_mult']}")
    if not 0 <= damp <= 1:   # NaN too
        raise ValueError(f"{where}: dampening must be a number in [0, 1], got {damp}")
    g["nesterov"] = _flag(where, "nesterov", g["nesterov"])
    if g["nesterov"] and (mom <= 0 or damp != 0):
        raise ValueError(f"{where}: nesterov needs momentum > 0 and dampening 0 (as PyTorch's), "
                         f"got momentum {mom} and dampening {damp}")


def fcn_param_groups(model, bias_lr_mult=2.0, weight_decay=5e-4):
    """FCN's recipe: weights decayed, biases at ``bias_lr_mult`` x lr and no decay."""
    weights, biases = [], []
    for name, p in model.named_parameters():
        (biases if name.endswith("bias") else weights).append(p)
    return [{"params": weights, "weight_decay": weight_decay},
            {"params": biases, "lr_mult": bias_lr_mult, "weight_decay": 0.0}]


def lr_at(policy, base_lr, it, max_iter, step_size=None, gamma=0.1, power=0.9, warmup=0):
    """Learning rate at iteration ``it`` under a Caffe-style policy.

    ``fixed``: base_lr. ``step``: base_lr * gamma ** (it // step_size).
    ``poly``: base_lr * (1 - it / max_iter) ** power. ``warmup`` iterations ramp linearly first.

    >>> lr_at("poly", 0.1, 50, 100, power=1.0)
    0.05
    >>> lr_at("step", 1.0, 25, 100, step_size=10, gamma=0.5)
    0.25
    """
    if policy == "fixed":
        lr = base_lr
    elif policy == "step":
        if not step_size:
            raise ValueError("lr policy 'step' needs step_size > 0")
        lr = base_lr * gamma ** (it // step_size)
    elif policy == "poly":
        lr = base_lr * max(0.0, 1.0 - it / max(max_iter, 1)) ** power
    else:
        raise ValueError(f"unknown lr policy {policy!r}: expected 'fixed', 'step' or 'poly'")
    if warmup and it < warmup:
        lr *= (it + 1) / warmup
    return lr


def _rmsprop_update(p, g, s, a, b, lr, alpha, eps, wd, momentum):
    """One RMSprop step of the array ``p`` in place, PyTorch's::

        g = g + wd*p
        s = alpha*s + (1 - alpha)*g*g
        a = alpha*a + (1 - alpha)*g           if centered (``a`` not None)
        d = sqrt(s - a*a) + eps  if centered, else  sqrt(s) + eps
        b = momentum*b + g/d; p = p - lr*b    if ``b`` is not None, else  p = p - lr*g/d

    ``s``, ``a`` and ``b`` are written in place; the scalars are cast to ``p``'s dtype, as in
    :func:`_adam_update`."""
    xp = backend.get_array_module(p)
    c = p.dtype.type
    if wd:
        g = g + c(wd) * p
    s *= c(alpha)
    s += c(1 - alpha) * g * g
    if a is not None:
        a += c(1 - alpha) * (g - a)   # = alpha*a + (1 - alpha)*g: PyTorch's lerp, one product
        d = xp.sqrt(s - a * a)   # the variance of g: >= 0, as a mean of squares minus a squared mean
    else:
        d = xp.sqrt(s)
    d += c(eps)
    if b is not None:
        b *= c(momentum)
        b += g / d
        p -= c(lr) * b
    else:
        p -= c(lr) * (g / d)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e; centered: Graves, 2013), PyTorch's algorithm (the module
    docstring shows the update): each step divides the gradient by the root of a running mean
    of its square, so that every weight moves at about the same pace.

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`SGD`'s (``lr_mult`` too).
        lr, alpha, eps, weight_decay, momentum, centered: defaults for every group, as
            PyTorch's (``lr`` 1e-2, ``alpha`` 0.99: the running mean's memory, in [0, 1]);
            ``maximize`` keyword-only.

    Each parameter keeps its own state from its first step with a gradient, PyTorch's names:
    ``step`` (an int), ``square_avg`` (s), ``momentum_buffer`` (b, with momentum) and
    ``grad_avg`` (a, when centered), in the parameter's dtype and on its device; one that a
    group's options ask for later (a momentum that :class:`~minifcn.lr_scheduler.OneCycleLR`
    turns on) starts at zeros then. The state dict holds them as Adam's does.

    The first step divides by ``sqrt(1 - alpha) |g|``: 10x the gradient's sign, with the
    default alpha:

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0, 1.0]))
    >>> opt = RMSprop([p], lr=0.01, eps=0.0)
    >>> p.grad = np.array([2.0, -1000.0]); opt.step(); p.data
    array([0.9, 1.1])
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 *, maximize=False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def _check_options(self, group, where):
        _check_rmsprop_options(group, where)

    def _update(self, p, group, state):
        xp = backend.get_array_module(p.data)
        if not state:   # PyTorch's: made at the parameter's first step, zeros
            state.update(step=0, square_avg=xp.zeros_like(p.data))
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(p.data)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        _rmsprop_update(p.data, -p.grad if group["maximize"] else p.grad, state["square_avg"],
                        state["grad_avg"] if group["centered"] else None,
                        state["momentum_buffer"] if group["momentum"] > 0 else None,
                        group["lr"] * group["lr_mult"], group["alpha"], group["eps"],
                        group["weight_decay"], group["momentum"])


def _check_rmsprop_options(g, where):
    """Refuse an RMSprop group's options that PyTorch refuses (a negative lr, alpha, eps,
    momentum or weight decay), or that would train wrongly: inf, NaN, and an alpha above 1,
    which gives the square a negative weight (a square root of a negative mean, NaN);
    makes the flags bools."""
    _nonnegative_options(g, where, ("lr", "alpha", "eps", "weight_decay", "momentum", "lr_mult"))
    if g["alpha"] > 1:
        raise ValueError(f"{where}: alpha must be in [0, 1], got {g['alpha']}")
    for name in ("centered", "maximize"):
        g[name] = _flag(where, name, g[name])


def _adagrad_update(p, g, s, clr, eps, wd):
    """One Adagrad step of the array ``p`` in place, PyTorch's::

        g = g + wd*p
        s = s + g*g
        p = p - clr * g / (sqrt(s) + eps)

    ``s`` is written in place; ``clr`` is the step's rate, already decayed. The scalars are cast
    to ``p``'s dtype, as in :func:`_adam_update`."""
    xp = backend.get_array_module(p)
    c = p.dtype.type
    if wd:
        g = g + c(wd) * p
    s += g * g
    d = xp.sqrt(s)
    d += c(eps)
    p += c(-clr) * g / d   # PyTorch's addcdiv: (value * g) / d, in that order


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan and Singer, 2011), PyTorch's algorithm: each weight's step is
    divided by the root of the sum of all its squared gradients so far, so that a weight that
    has had large gradients slows down for good. At the parameter's ``t``-th step::

        g = -g  if maximize
        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                        (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    Args:
        params: a list of Parameters, or of dicts of groups, as :class:`SGD`'s (``lr_mult`` too).
        lr, lr_decay, weight_decay, initial_accumulator_value, eps: defaults for every group, as
            PyTorch's (``lr`` 1e-2, ``eps`` 1e-10), all finite and >= 0; ``maximize``
            keyword-only.

    Each parameter keeps its own state from its first step with a gradient, PyTorch's names:
    ``step`` (an int) and ``sum`` (s), in the parameter's dtype and on its device; the state dict
    holds them as Adam's does. ``sum`` starts at the parameter's group's
    ``initial_accumulator_value`` (PyTorch's starts every group's at the optimizer's default,
    whatever the group says). It has no momentum: :class:`~minifcn.lr_scheduler.OneCycleLR`
    and ``CyclicLR`` need ``cycle_momentum=False`` with it.

    The first step divides by ``|g|``: a step of ``lr`` against the gradient's sign:

    >>> import numpy as np
    >>> from minifcn.nn import Parameter
    >>> p = Parameter(np.array([1.0, 1.0]))
    >>> opt = Adagrad([p], lr=0.5, eps=0.0)
    >>> p.grad = np.array([4.0, -1000.0]); opt.step(); p.data
    array([0.5, 1.5])
    >>> p.grad = np.array([3.0, 0.0]); opt.step(); p.data     # 0.5 - 0.5 * 3 / sqrt(16 + 9)
    array([0.2, 1.5])
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                                  "maximize": maximize})

    def _check_options(self, group, where):
        _check_adagrad_options(group, where)

    def _update(self, p, group, state):
        if not state:   # made at the parameter's first step (PyTorch's at building: the same numbers)
            state.update(step=0, sum=backend.get_array_module(p.data).full_like(
                p.data, group["initial_accumulator_value"]))
        state["step"] += 1
        clr = group["lr"] * group["lr_mult"] / (1 + (state["step"] - 1) * group["lr_decay"])
        _adagrad_update(p.data, -p.grad if group["maximize"] else p.grad, state["sum"], clr,
                        group["eps"], group["weight_decay"])


def _check_adagrad_options(g, where):
    """Refuse an Adagrad group's options that PyTorch refuses (any of them negative) or that
    would train wrongly (inf, NaN); makes ``maximize`` a bool."""
    _nonnegative_options(g, where, ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "lr_mult"))
    g["maximize"] = _flag(where, "maximize", g["maximize"])


# NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop and LBFGS build on Optimizer above: imported once
# it is defined
from .optim_adam_family import NAdam, RAdam, Adamax   # noqa: E402, F401
from .optim_classic import Adadelta, ASGD, Rprop   # noqa: E402, F401
from .optim_lbfgs import LBFGS   # noqa: E402, F401

# PyTorch's schedulers live in torch.optim.lr_scheduler; these in minifcn/lr_scheduler.py, which
# needs lr_at above, so they are imported last. Registered as a submodule of this module too, so
# that ``from minifcn.optim.lr_scheduler import StepLR`` works (the standard library's os.path
# is one the same way).
from . import lr_scheduler   # noqa: E402

sys.modules[__name__ + ".lr_scheduler"] = lr_scheduler
