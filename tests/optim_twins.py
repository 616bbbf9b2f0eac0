"""What the optimizer tests share: an optimizer and its PyTorch twin fed the same gradients,
their parameters compared, each group's momentum read, a state written and read back."""
import numpy as np

import minifcn
from oracle import to_np


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


def recorded_grads(torch, params, tparams, rng, steps):
    """``steps`` rounds of :func:`give_grads`, each round's gradients (of ``params``) kept, to
    be given again to a run resumed from a save."""
    grads = []
    for _ in range(steps):
        give_grads(torch, params, tparams, rng)
        grads.append([p.grad.copy() for p in params])
    return grads


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
