"""L-BFGS, PyTorch's ``torch.optim.LBFGS`` (after Schmidt's minFunc): a quasi-Newton method
that builds an approximation of the inverse Hessian from the last ``history_size`` steps
``s = x' - x`` and changes of the gradient ``y = g' - g``, and steps along ``-H g``. ``minifcn.optim``
imports it: ``minifcn.optim.LBFGS``.

Unlike the other optimizers, one :meth:`LBFGS.step` runs up to ``max_iter`` iterations and
calls the closure (the loss and its gradients, at the parameters as they stand) several times:
the closure is required. All the parameters are one flat vector to it, concatenated in their
order; one parameter group only, as PyTorch's.

One iteration, at ``x`` with gradient ``g`` (PyTorch's)::

    y = g - g_prev;  s = t_prev * d_prev;  kept (the oldest dropped) if y.s > 1e-10
    q = -g;  for the pairs, newest first:  a_i = rho_i s_i.q;  q = q - a_i y_i     (rho_i = 1 / y_i.s_i)
    r = q * (y.s / y.y)   (the newest pair's: the initial Hessian's scale)
    for the pairs, oldest first:  b_i = rho_i y_i.r;  r = r + (a_i - b_i) s_i
    d = r  (d = -g at the first iteration);  x = x + t d

``t`` is ``lr`` (at the very first iteration ``lr * min(1, 1 / sum|g|)``); with
``line_search_fn="strong_wolfe"`` that is the first trial of a line search, and ``t`` where
it finds the loss lowered enough and its slope along ``d`` flattened.

>>> import numpy as np
>>> from minifcn import Tensor
>>> from minifcn.nn import Parameter
>>> p = Parameter(np.array([0.0, 0.0]))
>>> opt = LBFGS([p], line_search_fn="strong_wolfe")
>>> target, weight = Tensor(np.array([3.0, -1.0])), Tensor(np.array([1.0, 2.0]))
>>> def closure():                      # (p0 - 3)^2 + 2 (p1 + 1)^2
...     opt.zero_grad()
...     loss = ((p - target) ** 2 * weight).sum()
...     loss.backward()
...     return loss
>>> float(opt.step(closure)), p.data.round(4)    # the loss before the step; the minimum after
(11.0, array([ 3., -1.]))
"""
from __future__ import annotations

import numbers

import numpy as np

from . import backend
from .autograd import no_grad, set_grad_enabled
from .optim import Optimizer, _nonnegative_options


def _scalar(a):
    """A 0-d array or a NumPy scalar (a dot product, a sum: on the GPU a 0-d device array) as
    a host NumPy scalar of its dtype: PyTorch keeps these 0-d tensors of the parameters'
    dtype, and a float32 run stays float32."""
    return a.dtype.type(a.item())


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through ``(x1, f1)`` with slope ``g1`` and ``(x2, f2)`` with
    slope ``g2``, clipped to ``bounds`` (by default the interval between ``x1`` and ``x2``);
    the middle of ``bounds`` where the cubic has no minimum. PyTorch's (Nocedal and Wright,
    equation 3.59)."""
    xmin_bound, xmax_bound = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step ``t`` along ``d`` that meets the strong Wolfe conditions, PyTorch's search:
    ``f(t) <= f + c1 t gtd`` (enough decrease) and ``|g(t).d| <= -c2 gtd`` (a flatter slope).
    First steps grow (cubic interpolation, up to 10x) until they bracket such a point, then the
    bracket is narrowed ("zoom"), at most ``max_ls`` evaluations in all. ``obj_func(t, d)``
    gives the loss and the flat gradient at ``x + t d``. Returns ``(f_new, g_new, t, evals)``."""
    d_norm = float(abs(d).max())
    f_new, g_new = obj_func(t, d)
    ls_func_evals = 1
    gtd_new = _scalar(g_new.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:   # grow the step until a point is bracketed
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:   # the slope turned: a minimum lies between
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = _scalar(g_new.dot(d))
        ls_iter += 1
    if ls_iter == max_ls:   # out of evaluations: the start and the last point
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: narrow the bracket until its low end meets the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:   # too narrow to matter
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a point too near an end of the bracket makes little progress: moved 10% in, unless
        # the last one was not near an end
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = _scalar(g_new.dot(d))
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:   # t is the new high end
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos] = t, f_new, g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:   # the old low end becomes the high
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos] = t, f_new, g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _count(where, name, v):
    """``v`` as an int >= 1, or an error naming it (0 iterations or a history of 0 steps had
    done nothing, or failed inside a step)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {v!r}")
    if v < 1:
        raise ValueError(f"{where}: {name} must be >= 1, got {v}")
    return int(v)


def _check_lbfgs_options(g, where):
    """Refuse an LBFGS group's options that PyTorch refuses (a negative lr) or that would do
    nothing or fail inside a step: counts below 1, negative or NaN tolerances, a line search
    other than None or "strong_wolfe" (PyTorch's says so at the first step). ``max_eval``
    None becomes ``max_iter * 5 // 4``, PyTorch's default."""
    _nonnegative_options(g, where, ("lr", "tolerance_grad", "tolerance_change", "lr_mult"))
    g["max_iter"] = _count(where, "max_iter", g["max_iter"])
    if g["max_eval"] is None:
        g["max_eval"] = g["max_iter"] * 5 // 4
    for name in ("max_eval", "history_size"):
        g[name] = _count(where, name, g[name])
    if g["line_search_fn"] not in (None, "strong_wolfe"):
        raise ValueError(f"{where}: line_search_fn must be None or 'strong_wolfe', got {g['line_search_fn']!r}")


class LBFGS(Optimizer):
    """L-BFGS (Liu and Nocedal, 1989), PyTorch's algorithm (the module docstring shows one
    iteration). For full-batch problems (a least-squares fit, a style transfer's image): its
    history assumes one fixed loss, which a new mini-batch at each step is not.

    Args:
        params: a list of Parameters (or one group's dict): one group, as PyTorch's.
        lr: the step along the direction (1: Newton's, where the curvature is learnt).
        max_iter: iterations at most in one :meth:`step` (default 20).
        max_eval: closure calls at most in one step (default ``max_iter * 5 // 4``).
        tolerance_grad: a step stops once every gradient value is this small (default 1e-7).
        tolerance_change: ... or once the loss, or the step, changes by less (default 1e-9).
        history_size: pairs ``(s, y)`` kept (default 100).
        line_search_fn: None (steps of ``lr``) or ``"strong_wolfe"``.

    Its state is PyTorch's, in one dict (the first parameter's, as there): ``func_evals`` and
    ``n_iter`` (counts over all steps), the last direction ``d`` and step ``t``, the pairs
    (``old_stps``: s, ``old_dirs``: y, ``ro``: 1 / y.s), ``H_diag``, ``prev_flat_grad``,
    ``prev_loss`` and ``al``; the values that PyTorch keeps as 0-d tensors are NumPy scalars
    of the parameters' dtype here. The state dict holds that dict as ``"state"[0]`` (the other
    parameters' entries None), host arrays, as PyTorch's ``state_dict()["state"][0]``.
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                                  "history_size": history_size, "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:   # one flat vector: one lr, one history
            raise ValueError(f"LBFGS: takes one parameter group (as PyTorch's), got {len(self.param_groups)}")
        params = self._params()
        if not params:
            raise ValueError("LBFGS: no parameter requires grad: there is nothing to step")
        kinds = {(p.data.dtype, backend.device_of(p.data)) for p in params}
        if len(kinds) != 1:   # concatenated into one vector: one dtype, one device
            raise ValueError(f"LBFGS: the parameters must share one dtype and one device, got "
                             f"{sorted((str(d), dev) for d, dev in kinds)}")

    def _check_options(self, group, where):
        _check_lbfgs_options(group, where)

    def add_param_group(self, group):
        raise ValueError("LBFGS.add_param_group: LBFGS takes one parameter group (as PyTorch's); "
                         "build a new LBFGS over all the parameters")

    # ---- the parameters as one flat vector
    def _gather_flat_grad(self):
        """The gradients, concatenated (a new array: zeros for a parameter without one)."""
        params = self._params()
        xp = backend.get_array_module(params[0].data)
        return xp.concatenate([xp.zeros(p.data.size, p.data.dtype) if p.grad is None else p.grad.reshape(-1)
                               for p in params])

    def _add_grad(self, t, d):
        """Every parameter moved by ``t`` times its part of the flat vector ``d``, in place."""
        c = d.dtype.type
        offset = 0
        for p in self._params():
            n = p.data.size
            p.data += (c(t) * d[offset:offset + n]).reshape(p.data.shape)
            offset += n

    def _evaluate(self, closure):
        """The closure's loss as a float (its graph recorded, for its backward)."""
        with set_grad_enabled(True):
            loss = closure()
        if loss is None:
            raise TypeError("LBFGS.step: the closure returned None; expected it to return the loss "
                            "(after zero_grad() and loss.backward())")
        return loss

    def _directional_evaluate(self, closure, x, t, d):
        """The loss and flat gradient at ``x + t d``; the parameters put back to ``x`` after."""
        self._add_grad(t, d)
        loss = float(self._evaluate(closure))
        flat_grad = self._gather_flat_grad()
        for p, a in zip(self._params(), x):
            p.data[...] = a
        return loss, flat_grad

    def step(self, closure):
        """Up to ``max_iter`` iterations (the module docstring), each calling ``closure`` (a
        function that zeroes the gradients, computes the loss, calls its ``backward()`` and
        returns it) once, or several times in a line search. Returns the loss the first call
        returned, before the step, as PyTorch's.

        Stops early when the gradient is below ``tolerance_grad``, the loss or the step changes
        by less than ``tolerance_change``, the direction goes uphill, or ``max_eval`` calls
        were made; the next step goes on with the history."""
        if not callable(closure):
            raise TypeError(f"LBFGS.step: closure must be a function that computes the loss and its "
                            f"gradients and returns the loss, got {closure!r} (LBFGS needs one)")
        group = self.param_groups[0]
        lr = group["lr"] * group["lr_mult"]
        max_iter, max_eval, history_size = group["max_iter"], group["max_eval"], group["history_size"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        params = self._params()
        state = self.state.setdefault(id(params[0]), {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        self._warn_unfrozen()
        with no_grad():
            loss = float(orig_loss)
            current_evals = 1
            state["func_evals"] += 1
            flat_grad = self._gather_flat_grad()
            c = flat_grad.dtype.type
            if float(abs(flat_grad).max()) <= tolerance_grad:   # already at a minimum
                return orig_loss
            d, t = state.get("d"), state.get("t")
            old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
            H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:   # steepest descent, no curvature known yet
                    d = -flat_grad
                    old_dirs, old_stps, ro = [], [], []
                    H_diag = 1
                else:
                    y = flat_grad - prev_flat_grad
                    s = d * c(t)
                    ys = _scalar(y.dot(s))
                    if ys > 1e-10:   # a pair with positive curvature: kept, the oldest dropped
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        H_diag = ys / _scalar(y.dot(y))
                    # the two loops: d = -H g
                    num_old = len(old_dirs)
                    if "al" not in state:
                        state["al"] = [None] * history_size
                    al = state["al"]
                    q = -flat_grad
                    for i in range(num_old - 1, -1, -1):
                        al[i] = _scalar(old_stps[i].dot(q)) * ro[i]
                        q -= c(al[i]) * old_dirs[i]
                    d = r = q * c(H_diag)
                    for i in range(num_old):
                        be_i = _scalar(old_dirs[i].dot(r)) * ro[i]
                        r += c(al[i] - be_i) * old_stps[i]
                prev_flat_grad = flat_grad.copy()
                prev_loss = loss
                # the first step is scaled down by the gradient's size: no curvature known yet
                t = min(1.0, c(1.0) / _scalar(abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
                gtd = _scalar(flat_grad.dot(d))
                if gtd > -tolerance_change:   # not a descent direction (or too flat)
                    break

                ls_func_evals = 0
                if group["line_search_fn"] == "strong_wolfe":
                    x_init = [p.data.copy() for p in params]
                    loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                        lambda t, d: self._directional_evaluate(closure, x_init, t, d),
                        t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                    self._add_grad(t, d)
                    opt_cond = float(abs(flat_grad).max()) <= tolerance_grad
                else:
                    self._add_grad(t, d)
                    if n_iter != max_iter:   # the last iteration's loss is the next step's first
                        loss = float(self._evaluate(closure))
                        flat_grad = self._gather_flat_grad()
                        opt_cond = float(abs(flat_grad).max()) <= tolerance_grad
                        ls_func_evals = 1
                current_evals += ls_func_evals
                state["func_evals"] += ls_func_evals

                if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                    break
                if float(abs(d * c(t)).max()) <= tolerance_change:   # the step is too small
                    break
                if abs(loss - prev_loss) < tolerance_change:   # so is the change of the loss
                    break

            state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                         prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # ---- the state dict: one dict, the first parameter's
    def state_dict(self):
        """The base lr, the group's options and the state (``"state"[0]``; None before the
        first step), host copies: NumPy arrays, lists of them, NumPy scalars and numbers."""
        params = self._params()
        state = self.state.get(id(params[0]))
        packed = None if not state else {k: _pack(v) for k, v in state.items()}
        return {"base_lr": self.base_lr,
                "groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups],
                "state": [packed] + [None] * (len(params) - 1)}

    def load_state_dict(self, state):
        """Go on from a saved state (another LBFGS's over parameters of the same sizes). Checked
        whole before anything changes."""
        params = self._params()
        if "state" not in state or "groups" not in state:
            raise ValueError(f"LBFGS.load_state_dict: expected an LBFGS state dict (its 'state' and "
                             f"'groups'), got one with {', '.join(map(repr, state))}")
        if len(state["state"]) != len(params) or len(state["groups"]) != 1:
            raise ValueError(f"LBFGS.load_state_dict: the state has {len(state['state'])} parameters in "
                             f"{len(state['groups'])} groups, this optimizer {len(params)} in 1")
        if any(s is not None for s in state["state"][1:]):
            raise ValueError("LBFGS.load_state_dict: the state of parameters after the first is not "
                             "None: is it another optimizer's?")
        merged = dict(self.param_groups[0], **state["groups"][0])
        _check_lbfgs_options(merged, "LBFGS.load_state_dict (group 0)")
        saved = state["state"][0]
        numel, like = sum(p.data.size for p in params), params[0].data
        loaded = None if saved is None else {k: _unpack(v, like) for k, v in saved.items()}
        for k, v in (loaded or {}).items():
            for a in (v if isinstance(v, list) else [v]):
                if hasattr(a, "shape") and a.ndim and a.shape != (numel,):
                    raise ValueError(f"LBFGS.load_state_dict: the state's {k} holds a vector of shape "
                                     f"{tuple(a.shape)}, the parameters {numel} values")
        self.base_lr = state["base_lr"]
        self.param_groups[0].update(merged)
        self.state = {} if loaded is None else {id(params[0]): loaded}


def _pack(v):
    """One state value on the host: an array copied, a list of them, a scalar kept (a NumPy
    scalar keeps its dtype through :func:`minifcn.save`)."""
    if isinstance(v, list):
        return [_pack(a) for a in v]
    if v is None or isinstance(v, (numbers.Number, np.generic)):
        return v
    return backend.to_numpy(v).copy()


def _unpack(v, like):
    """The inverse of :func:`_pack`: arrays copied to ``like``'s device, in its dtype; a 0-d
    array (a scalar read back by another route) a NumPy scalar of that dtype."""
    if isinstance(v, list):
        return [_unpack(a, like) for a in v]
    if v is None or isinstance(v, (int, float)) and not isinstance(v, np.generic):
        return v
    if np.ndim(v) == 0:
        return like.dtype.type(v)
    return backend.get_array_module(like).array(v, dtype=like.dtype)

