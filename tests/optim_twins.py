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
