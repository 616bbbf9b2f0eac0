"""What the optimizer tests share: the same start in minifcn's Parameters and PyTorch's, an
optimizer and its PyTorch twin fed the same gradients, their parameters compared, each group's
momentum read, a state written and read back, a run replayed from recorded gradients."""
import numpy as np

import minifcn
from minifcn import nn
from oracle import to_np

SHAPES = [(4, 3), (5,), (2, 2, 2)]


def twin_params(torch, dtype=np.float64, seed=0):
    """The same start in minifcn's Parameters and PyTorch's, one of each shape in SHAPES."""
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    return [nn.Parameter(w.copy()) for w in w0], [torch.nn.Parameter(torch.tensor(w)) for w in w0]


def give_grads(torch, params, tparams, rng, skip=()):
    """A gradient that depends on the parameter (0.5 p, a quadratic's) plus noise whose scale
    changes every step over 6 decades (so a step is not lr * sign(g)), the same for both; None
    for the parameters in ``skip``, which both optimizers then pass over."""
    for k, (p, tp) in enumerate(zip(params, tparams)):
        noise = (rng.standard_normal(p.shape) * 10.0 ** rng.integers(-4, 2)).astype(p.dtype)
        if k in skip:
            p.grad = tp.grad = None
        else:
            p.grad = 0.5 * p.data + noise
            tp.grad = 0.5 * tp.detach() + torch.from_numpy(noise)


def assert_twins_close(params, tparams, rtol, msg="", atol=0.0):
    for k, (p, tp) in enumerate(zip(params, tparams)):
        np.testing.assert_allclose(to_np(p.data), tp.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{msg} param {k}")


def momenta(opt):
    """Each group's momentum: SGD's and RMSprop's ``momentum``, Adam's ``beta1``; None without."""
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def save_load(tree, tmp_path, name):
    """``tree`` written by minifcn.save and read back by minifcn.load."""
    path = tmp_path / name
    minifcn.save(tree, path)
    return minifcn.load(path)


def recorded_grads(torch, params, tparams, rng, steps, skip=lambda step: ()):
    """``steps`` rounds of :func:`give_grads`, each round's gradients (of ``params``) kept, to
    be given again to a run resumed from a save; ``skip(step)``: the parameters that round
    passes over (their gradient None)."""
    grads = []
    for step in range(steps):
        give_grads(torch, params, tparams, rng, skip=skip(step))
        grads.append([None if p.grad is None else p.grad.copy() for p in params])
    return grads


def replay(params, opt, grads, steps):
    """``opt`` stepped at each of ``steps`` with that step's recorded ``grads``."""
    for step in steps:
        for p, g in zip(params, grads[step]):
            p.grad = g
        opt.step()


def step_through(params, opt, sched, grads, steps):
    """Steps ``steps`` of a run with the recorded ``grads``: the optimizer, then the scheduler;
    each step's rates and momenta."""
    seen = []
    for i in steps:
        for p, g in zip(params, grads[i]):
            p.grad = g
        opt.step()
        sched.step()
        seen.append((sched.get_last_lr(), momenta(opt)))
    return seen


def assert_same_run(params, params2, opt=None, opt2=None):
    """A run resumed from a save (``params2``, ``opt2``) ended bit for bit as the one that went
    on: every parameter, and with the optimizers given, every entry of each one's state."""
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(q.data, p.data)
    if opt is not None:
        for p, q in zip(params, params2):
            for k, v in opt.state[id(p)].items():
                np.testing.assert_array_equal(opt2.state[id(q)][k], v)
