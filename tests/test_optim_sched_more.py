"""Adagrad; CosineAnnealingWarmRestarts, CyclicLR, ConstantLR, MultiplicativeLR and
ChainedScheduler. Each against PyTorch step by step over whole schedules (the rates, the
momenta and the parameters stepped with them), by hand where a formula is short, through its
state dict mid-run (JSON and minifcn.save / minifcn.load), and its errors."""
import json
import math
import warnings

import numpy as np
import pytest

import minifcn
from minifcn import nn
from minifcn.optim import SGD, Adagrad, Adam, AdamW, RMSprop, lr_scheduler
from oracle import to_np
from optim_twins import (assert_same_run, assert_twins_close, give_grads, momenta, recorded_grads, replay, save_load,
                         step_through, twin_params)


pytestmark = pytest.mark.usefixtures("host_default_device")

_OURS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop, "Adagrad": Adagrad}


# ------------------------------------------------------------------------------ Adagrad
_ADAGRAD_OPTIONS = [   # ids: the options' names
    {},
    {"lr_decay": 0.05},
    {"weight_decay": 0.1},
    {"initial_accumulator_value": 0.3},
    {"eps": 1e-2, "maximize": True},
    {"lr_decay": 0.01, "weight_decay": 0.05, "initial_accumulator_value": 1.0, "eps": 1e-6},
]


# float32: PyTorch's sqrt and division round other than NumPy's by an ulp; a few ulps of a
# unit-sized value, absolute, where a parameter crosses 0 (test_optim_more's RMSprop's reason)
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 0.0), (np.float32, 2e-5, 1e-6)])
@pytest.mark.parametrize("options", _ADAGRAD_OPTIONS, ids=lambda o: ",".join(o) or "defaults")
def test_adagrad_matches_torch_over_40_steps(options, dtype, rtol, atol):
    """Step by step, parameter 1 without a gradient at steps 3, 4 and 17 (its step count, and so
    its decayed rate, lags); the state at the end (PyTorch's keys and values). float32 stays
    float32, as there."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, dtype)
    opt = Adagrad(params, lr=0.1, **options)
    topt = torch.optim.Adagrad(tparams, lr=0.1, **options)
    rng = np.random.default_rng(1)
    for step in range(40):
        give_grads(torch, params, tparams, rng, skip={1} if step in (3, 4, 17) else ())
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, rtol, f"step {step}", atol)
        assert all(p.data.dtype == dtype for p in params)
    for k, (p, tp) in enumerate(zip(params, tparams)):
        ours, theirs = opt.state[id(p)], topt.state[tp]
        assert sorted(ours) == sorted(theirs) == ["step", "sum"], k
        assert ours["step"] == int(theirs["step"]) == (37 if k == 1 else 40)
        assert ours["sum"].dtype == dtype
        np.testing.assert_allclose(ours["sum"], theirs["sum"].numpy(), rtol=rtol, err_msg=str(k))


def test_adagrad_groups_with_their_own_options_match_torch():
    """Three groups: the defaults; FCN's lr_mult (2x the lr is PyTorch's own lr at 2x) with its
    own lr_decay; its own lr, eps, weight decay and maximize, and no gradient at first."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch)
    last = {"lr": 0.3, "eps": 1e-3, "weight_decay": 0.2, "maximize": True}
    opt = Adagrad([{"params": params[:1]}, {"params": params[1:2], "lr_mult": 2.0, "lr_decay": 0.1},
                   {"params": params[2:], **last}], lr=0.05, initial_accumulator_value=0.5)
    topt = torch.optim.Adagrad([{"params": tparams[:1]}, {"params": tparams[1:2], "lr": 0.1, "lr_decay": 0.1},
                                {"params": tparams[2:], **last}], lr=0.05, initial_accumulator_value=0.5)
    rng = np.random.default_rng(2)
    for step in range(30):
        give_grads(torch, params, tparams, rng, skip={2} if step < 2 else ())
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")


def test_adagrad_by_hand(xp):
    """Four steps of the formula, written out in NumPy, on every backend; a group's own
    initial_accumulator_value is the one its sum starts at (PyTorch's takes the default's)."""
    lr, lr_decay, eps, wd = 0.5, 0.25, 1e-3, 0.2
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))
    opt = Adagrad([{"params": [p], "initial_accumulator_value": 2.0}], lr=lr, lr_decay=lr_decay, eps=eps,
                  weight_decay=wd, initial_accumulator_value=0.0)
    s = np.full(3, 2.0)
    for t, g in enumerate(([3.0, -1.0, 0.5], [0.1, 0.2, -0.3], [0.01, 0.0, 0.02], [-1.0, 1.0, 2.0]), start=1):
        p.grad = xp.asarray(g)
        opt.step()
        g = np.array(g) + wd * w
        s = s + g * g
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-13)
    state = opt.state[id(p)]
    assert state["step"] == 4 and type(state["sum"]) is type(p.data)   # on the parameter's device
    np.testing.assert_allclose(to_np(state["sum"]), s, rtol=1e-13)


def test_adagrad_state_dict_round_trip_resumes_identically(tmp_path):
    """Saved after 3 steps (one parameter not stepped yet), through minifcn.save / load; a
    fresh Adagrad with other options takes the saved ones and goes on bit for bit."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch)
    opt = Adagrad(params, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)
    rng = np.random.default_rng(4)
    # parameter 2 gets its first gradient at step 3
    grads = recorded_grads(torch, params, tparams, rng, 7, skip=lambda step: {2} if step < 3 else ())
    replay(params, opt, grads, range(3))
    saved = [p.data.copy() for p in params]
    state = save_load({"optimizer": opt.state_dict()}, tmp_path, "adagrad.npz")["optimizer"]
    assert state["state"][2] is None and state["state"][0]["step"] == 3
    replay(params, opt, grads, range(3, 7))

    params2 = [nn.Parameter(w.copy()) for w in saved]
    opt2 = Adagrad(params2, lr=999.0, initial_accumulator_value=7.0)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["lr_decay"] == 0.05 and opt2.param_groups[0]["initial_accumulator_value"] == 0.2
    replay(params2, opt2, grads, range(3, 7))
    assert_same_run(params, params2)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"lr": -0.1}, ValueError, r"Adagrad: lr must be finite and >= 0, got -0.1"),
    ({"lr_decay": -0.5}, ValueError, r"Adagrad: lr_decay must be finite and >= 0, got -0.5"),
    ({"weight_decay": float("inf")}, ValueError, r"Adagrad: weight_decay must be finite and >= 0, got inf"),
    ({"initial_accumulator_value": -1}, ValueError,
     r"Adagrad: initial_accumulator_value must be finite and >= 0, got -1.0"),
    ({"eps": float("nan")}, ValueError, r"Adagrad: eps must be finite and >= 0, got nan"),
    ({"lr_decay": "0.1"}, TypeError, r"Adagrad: lr_decay must be a number, got '0.1'"),
    ({"maximize": "no"}, TypeError, r"Adagrad: maximize must be a bool, got 'no'"),
])
def test_adagrad_option_errors_name_the_values(kwargs, error, message):
    with pytest.raises(error, match=message):
        Adagrad([nn.Parameter(np.ones(2))], **kwargs)
    with pytest.raises(error, match=message.replace("Adagrad:", r"Adagrad \(group 0\):")):
        Adagrad([{"params": [nn.Parameter(np.ones(2))], **kwargs}])


def test_adagrad_refuses_what_pytorch_refuses():
    torch = pytest.importorskip("torch")
    for kwargs in ({"lr": -0.1}, {"lr_decay": -0.5}, {"weight_decay": -1.0}, {"initial_accumulator_value": -1.0},
                   {"eps": -1.0}):
        with pytest.raises(ValueError):
            torch.optim.Adagrad([torch.nn.Parameter(torch.ones(2))], **kwargs)
        with pytest.raises(ValueError, match=f"Adagrad: {next(iter(kwargs))} must be finite and >= 0"):
            Adagrad([nn.Parameter(np.ones(2))], **kwargs)


# ------------------------------------------------------- the schedulers against PyTorch
def _optimizers(torch, name):
    """Our optimizer ``name`` and PyTorch's on the same 3 parameters in 2 groups (lr 0.1, 0.3)."""
    params, tparams = twin_params(torch)
    options = {"SGD": {"momentum": 0.9}, "RMSprop": {"momentum": 0.5}}.get(name, {})
    opt = _OURS[name]([{"params": params[:2]}, {"params": params[2:], "lr": 0.3}], lr=0.1, **options)
    topt = getattr(torch.optim, name)([{"params": tparams[:2]}, {"params": tparams[2:], "lr": 0.3}], lr=0.1, **options)
    return params, tparams, opt, topt


def _halve_odd(epoch):
    return 0.5 if epoch % 2 else 1.1


# (id, optimizer, builder(lib, opt) -> scheduler, steps): lib is lr_scheduler or PyTorch's
_SCHEDULES = [
    ("constant", "SGD", lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=7), 15),
    ("constant-defaults", "Adam", lambda L, o: L.ConstantLR(o), 10),
    ("multiplicative", "SGD", lambda L, o: L.MultiplicativeLR(o, lambda e: 0.9), 20),
    ("multiplicative-per-group", "Adam",
     lambda L, o: L.MultiplicativeLR(o, [_halve_odd, lambda e: 1.0 / (1 + e)]), 20),
    ("warm-restarts", "SGD", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5), 23),
    ("warm-restarts-mult2", "Adam", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), 40),
    ("warm-restarts-mult3", "RMSprop",
     lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3, eta_min=0.001), 45),
    ("cyclic", "SGD", lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.5], step_size_up=4), 30),
    ("cyclic-triangular2", "SGD",
     lambda L, o: L.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=3, step_size_down=5,
                             mode="triangular2", base_momentum=[0.7, 0.6], max_momentum=0.95), 40),
    ("cyclic-exp-range-adam", "Adam",
     lambda L, o: L.CyclicLR(o, base_lr=0.001, max_lr=0.05, step_size_up=2, step_size_down=4, mode="exp_range",
                             gamma=0.95), 40),
    ("cyclic-float-steps-rmsprop", "RMSprop",
     lambda L, o: L.CyclicLR(o, base_lr=0.001, max_lr=0.02, step_size_up=2.5, step_size_down=1.5), 25),
    ("cyclic-scale-fn-cycle", "SGD",
     lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 1 / x), 30),
    ("cyclic-scale-fn-iterations", "AdamW",
     lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 0.97 ** x,
                             scale_mode="iterations"), 30),
    ("cyclic-no-momentum-adagrad", "Adagrad",
     lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False), 20),
    ("chained-constant-exponential", "SGD",
     lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1, total_iters=4), L.ExponentialLR(o, gamma=0.9)]), 12),
    ("chained-three", "Adam",
     lambda L, o: L.ChainedScheduler([L.LinearLR(o, start_factor=0.2, total_iters=5),
                                      L.MultiplicativeLR(o, _halve_odd), L.StepLR(o, 3, gamma=0.5)], optimizer=o), 15),
    ("sequential-constant-warm-restarts", "SGD",
     lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=3),
                                     L.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2)], milestones=[3]), 25),
    ("sequential-linear-cyclic", "SGD",
     lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.5, total_iters=4),
                                     L.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=3)], milestones=[4]), 25),
    ("sequential-multiplicative", "Adam",
     lambda L, o: L.SequentialLR(o, [L.ExponentialLR(o, gamma=0.8), L.MultiplicativeLR(o, _halve_odd)],
                                 milestones=[5]), 15),
]


# PyTorch's SequentialLR builds its schedulers and then steps them from the start again
@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)` before")
@pytest.mark.parametrize("name, build, steps", [s[1:] for s in _SCHEDULES], ids=[s[0] for s in _SCHEDULES])
def test_scheduler_matches_torch_over_its_schedule(name, build, steps):
    """Each step: every group's rate (get_last_lr and the group's lr) equals PyTorch's, bit for
    bit, and so does its momentum (SGD's and RMSprop's momentum, Adam's beta1: cycled by
    CyclicLR, left alone by the others); the parameters stepped with them stay PyTorch's. The
    rates moved, else the test checked nothing."""
    torch = pytest.importorskip("torch")
    params, tparams, opt, topt = _optimizers(torch, name)
    sched, tsched = build(lr_scheduler, opt), build(torch.optim.lr_scheduler, topt)
    rng = np.random.default_rng(7)
    seen = set()
    for step in range(steps + 1):
        assert sched.get_last_lr() == tsched.get_last_lr() == [g["lr"] for g in opt.param_groups], step
        assert momenta(opt) == momenta(topt), step
        seen.add(tuple(sched.get_last_lr()))
        give_grads(torch, params, tparams, rng)
        opt.step()
        topt.step()
        # an ulp of a unit-sized value, absolute, where a parameter passes near 0 (PyTorch's
        # updates round in another order: test_optim_more's OneCycleLR's reason)
        assert_twins_close(params, tparams, 1e-12, f"step {step}", atol=1e-15)
        sched.step()
        tsched.step()
    assert len(seen) > 1   # ConstantLR has two rates


def test_constant_lr_by_hand_and_its_closed_form():
    """factor 0.2 for 3 steps: 0.2, 0.2, 0.2, then 1; the closed form gives the same numbers."""
    opt = SGD([nn.Parameter(np.ones(1))], lr=2.0)
    sched = lr_scheduler.ConstantLR(opt, factor=0.2, total_iters=3)
    for epoch in range(6):
        want = 2.0 * (0.2 if epoch < 3 else 1.0)
        assert sched.get_last_lr()[0] == pytest.approx(want, rel=1e-15)
        assert sched.closed_form_lr(epoch)[0] == pytest.approx(want, rel=1e-15)
        sched.step()


def test_cyclic_lr_by_hand():
    """step_size_up 2, down 3, exp_range gamma 0.9: the triangle's height at each step times
    gamma ** step, written out; the momentum the other way."""
    opt = SGD([nn.Parameter(np.ones(1))], lr=5.0, momentum=0.0)
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=1.1, step_size_up=2, step_size_down=3,
                                  mode="exp_range", gamma=0.9, base_momentum=0.5, max_momentum=0.9)
    heights = [0, 0.5, 1, 2 / 3, 1 / 3]
    for step in range(15):
        h = heights[step % 5] * 0.9 ** step
        assert sched.get_last_lr()[0] == pytest.approx(0.1 + 1.0 * h, rel=1e-14), step
        assert opt.param_groups[0]["momentum"] == pytest.approx(0.9 - 0.4 * h, rel=1e-14), step
        sched.step()
    assert opt.param_groups[0]["initial_lr"] == 0.1 and opt.param_groups[0]["max_momentum"] == 0.9


def test_warm_restarts_by_hand():
    """T_0 2, T_mult 3: cycles of 2, 6, 18 steps; restarts at 2 and 8."""
    opt = SGD([nn.Parameter(np.ones(1))], lr=1.0)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.1)
    for epoch in range(12):
        t_cur, t_i = (epoch, 2) if epoch < 2 else (epoch - 2, 6) if epoch < 8 else (epoch - 8, 18)
        want = 0.1 + 0.9 * (1 + math.cos(math.pi * t_cur / t_i)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(want, rel=1e-14), epoch
        assert (sched.T_cur, sched.T_i, sched.last_epoch) == (t_cur, t_i, epoch)
        sched.step()


def test_warm_restarts_float_epochs_match_torch():
    """step(epoch + i / iters) after every batch, as PyTorch's documentation says, with a
    step() now and then in between (it goes on by 1 from there), and a jump back: the rates,
    T_cur, T_i and last_epoch equal PyTorch's, without a warning from either."""
    torch = pytest.importorskip("torch")
    opt = SGD([nn.Parameter(np.ones(1)), ], lr=1.0)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    for T_mult in (1, 2):
        sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult, eta_min=0.05)
        tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=3, T_mult=T_mult, eta_min=0.05)
        calls = [e + i / 4 for e in range(12) for i in range(4)] + [None, None, 2.5, None, 40, None, 0]
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # neither warns
            for epoch in calls:
                sched.step(epoch)
                tsched.step(epoch)
                assert sched.get_last_lr() == tsched.get_last_lr(), (T_mult, epoch)
                assert (sched.T_cur, sched.T_i, sched.last_epoch) == (tsched.T_cur, tsched.T_i, tsched.last_epoch)


def test_warm_restarts_at_an_epoch_that_starts_a_cycle_gives_the_base_where_torch_rounds_down():
    """T_0 1, T_mult 3: cycles start at 1, 4, 13, 40, 121. PyTorch's finds epoch 121's cycle by
    a logarithm, log_3(243) = 4.99...: the cycle before, at its end (eta_min). Ours counts
    the cycles: 121 starts one (the base), as step() by step gets there too."""
    torch = pytest.importorskip("torch")
    opt = SGD([nn.Parameter(np.ones(1))], lr=1.0)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3, eta_min=0.0)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=1, T_mult=3, eta_min=0.0)
    sched.step(121)
    tsched.step(121)
    assert tsched.get_last_lr() == [0.0] and (tsched.T_cur, tsched.T_i) == (81, 81)
    assert sched.get_last_lr() == [1.0] and (sched.T_cur, sched.T_i) == (0, 243)
    stepped = lr_scheduler.CosineAnnealingWarmRestarts(SGD([nn.Parameter(np.ones(1))], lr=1.0), T_0=1, T_mult=3)
    for _ in range(121):
        stepped.step()
    assert (stepped.T_cur, stepped.T_i, stepped.get_last_lr()) == (0, 243, [1.0])
    sched.step(120.5)   # inside a cycle both agree
    tsched.step(120.5)
    assert sched.get_last_lr() == tsched.get_last_lr()


@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)` before")
def test_warm_restarts_resumed_by_last_epoch():
    """PyTorch's other way to resume: with T_mult 1 the steps after are the first run's in both;
    with T_mult 2 too while the epoch is in the first two cycles' first 2 * T_0 steps, and past
    them in ours only (PyTorch's counts from the epoch as if it were in the first cycle)."""
    torch = pytest.importorskip("torch")
    for T_mult, last_epoch in ((1, 7), (2, 2), (2, 9)):
        runs = []
        for lib, optim in ((lr_scheduler, None), (torch.optim.lr_scheduler, torch.optim)):
            opt = (SGD([nn.Parameter(np.ones(1))], lr=1.0) if optim is None else
                   optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0))
            first = lib.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult)
            straight = []
            for _ in range(20):
                first.step()
                straight.append(opt.param_groups[0]["lr"])
            resumed = lib.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult, last_epoch=last_epoch)
            again = [opt.param_groups[0]["lr"]]
            for _ in range(6):
                resumed.step()
                again.append(opt.param_groups[0]["lr"])
            runs.append((again, straight[last_epoch:last_epoch + 7]))
        assert runs[0][0] == runs[0][1], (T_mult, last_epoch)
        assert (runs[1][0] == runs[1][1]) == (T_mult == 1 or last_epoch + 1 < 2 * 3), (T_mult, last_epoch)


def test_multiplicative_lr_step_with_an_epoch_multiplies_once_as_torch():
    torch = pytest.importorskip("torch")
    lrs = []
    for lib, optim in ((lr_scheduler, None), (torch.optim.lr_scheduler, torch.optim)):
        opt = (SGD([nn.Parameter(np.ones(1))], lr=1.0) if optim is None else
               optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0))
        sched = lib.MultiplicativeLR(opt, lambda e: 1.0 / (e + 1))
        opt.step()
        sched.step()
        with pytest.warns(UserWarning):
            sched.step(4)
        sched.step()
        lrs.append((sched.get_last_lr(), sched.last_epoch))
    assert lrs[0] == lrs[1] == ([1.0 / 2 / 5 / 6], 5)


def test_multiplicative_lr_closed_form_is_the_product():
    opt = SGD([nn.Parameter(np.ones(1))], lr=3.0)
    sched = lr_scheduler.MultiplicativeLR(opt, lambda e: 1.0 - 0.1 * e)
    for epoch in range(6):
        assert sched.closed_form_lr()[0] == pytest.approx(sched.get_last_lr()[0], rel=1e-15)
        product = math.prod(1 - 0.1 * e for e in range(1, epoch + 1))
        assert sched.closed_form_lr(epoch)[0] == pytest.approx(3.0 * product)
        sched.step()


def test_chained_scheduler_is_the_product_of_its_factors():
    """ConstantLR then ExponentialLR (PyTorch's documented example): 0.1 x lr for 20 steps,
    times 0.9 ** epoch throughout."""
    opt = SGD([nn.Parameter(np.ones(1))], lr=0.05)
    sched = lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=20),
                                           lr_scheduler.ExponentialLR(opt, gamma=0.9)], optimizer=opt)
    for epoch in range(25):
        want = 0.05 * (0.1 if epoch < 20 else 1.0) * 0.9 ** epoch
        assert sched.get_last_lr()[0] == pytest.approx(want, rel=1e-13), epoch
        sched.step()


# -------------------------------------------------------- state dicts: round trips mid-run
# (id, optimizer, builder with the saved run's options, builder with others, steps)
_RESUMES = [
    ("constant", "SGD", lambda o: lr_scheduler.ConstantLR(o, factor=0.25, total_iters=13),
     lambda o: lr_scheduler.ConstantLR(o, factor=0.9, total_iters=2), 15),
    ("multiplicative", "SGD", lambda o: lr_scheduler.MultiplicativeLR(o, _halve_odd),
     lambda o: lr_scheduler.MultiplicativeLR(o, _halve_odd), 15),
    ("warm-restarts", "Adam", lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
     lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=50, eta_min=0.5), 30),
    ("cyclic-sgd", "SGD",
     lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.5], step_size_up=4, step_size_down=2,
                                     mode="triangular2", base_momentum=[0.7, 0.6]),
     lambda o: lr_scheduler.CyclicLR(o, base_lr=1.0, max_lr=2.0, step_size_up=9, mode="exp_range",
                                     base_momentum=0.1, max_momentum=0.2), 30),
    ("cyclic-adam", "Adam",
     lambda o: lr_scheduler.CyclicLR(o, base_lr=0.001, max_lr=0.05, step_size_up=3, mode="exp_range", gamma=0.9),
     lambda o: lr_scheduler.CyclicLR(o, base_lr=0.5, max_lr=0.6, step_size_up=3), 30),
    ("chained", "SGD",
     lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(o, factor=0.1, total_iters=8),
                                              lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5)]),
     lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(o, factor=0.5, total_iters=2),
                                              lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2)]), 20),
]


@pytest.mark.parametrize("at", [4, 11])
@pytest.mark.parametrize("name, build, build_other, steps", [r[1:] for r in _RESUMES], ids=[r[0] for r in _RESUMES])
def test_scheduler_state_dict_round_trip_continues_identically(tmp_path, name, build, build_other, steps, at):
    """Saved at step ``at``, through JSON and through minifcn.save / load; a fresh optimizer and
    scheduler built with other options, loaded (the optimizer first, then the scheduler), take
    the same steps as the run that went on: the same rates, momenta and parameters."""
    torch = pytest.importorskip("torch")
    params, tparams, opt, _ = _optimizers(torch, name)
    sched = build(opt)
    rng = np.random.default_rng(8)
    grads = recorded_grads(torch, params, tparams, rng, steps)

    step_through(params, opt, sched, grads, range(at))
    saved = [p.data.copy() for p in params]
    state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
    via_json = json.loads(json.dumps(state["scheduler"]))
    via_file = save_load(state, tmp_path, "sched.npz")
    went_on = step_through(params, opt, sched, grads, range(at, steps))
    assert len({tuple(lr) for lr, _ in went_on}) > 1   # the rates moved after the save

    for sched_state in (via_json, via_file["scheduler"]):
        params2 = [nn.Parameter(w.copy()) for w in saved]
        opt2 = _OURS[name]([{"params": params2[:2]}, {"params": params2[2:], "lr": 6.0}], lr=5.0)
        sched2 = build_other(opt2)
        opt2.load_state_dict(via_file["optimizer"])
        sched2.load_state_dict(sched_state)
        assert step_through(params2, opt2, sched2, grads, range(at, steps)) == went_on
        for p, q in zip(params, params2):
            np.testing.assert_array_equal(q.data, p.data)


def test_cyclic_lr_state_alone_brings_back_the_momenta():
    """The optimizer's momentum lost (a fresh optimizer): loading the scheduler's state writes
    the momentum at its step, as the saved run had it."""
    opt = SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4)
    for _ in range(3):
        sched.step()
    want = (opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"])
    assert want[1] != 0.9
    opt2 = SGD([nn.Parameter(np.ones(1))], lr=0.7, momentum=0.0)
    sched2 = lr_scheduler.CyclicLR(opt2, base_lr=0.3, max_lr=0.4, step_size_up=2)
    sched2.load_state_dict(sched.state_dict())
    assert (opt2.param_groups[0]["lr"], opt2.param_groups[0]["momentum"]) == want


def test_cyclic_lr_state_says_whether_it_had_a_scale_fn_of_its_own():
    opt = SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    custom = lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, scale_fn=lambda x: 1.0)
    plain = lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1)
    assert custom.state_dict()["custom_scale_fn"] is True and plain.state_dict()["custom_scale_fn"] is False
    with pytest.raises(ValueError, match="CyclicLR: the state was saved by a CyclicLR with a scale_fn of its own, "
                                         "this one is built without"):
        plain.load_state_dict(custom.state_dict())


# ------------------------------------------------------------------------------ errors
def _sgd(momentum=0.9, groups=1):
    return SGD([{"params": [nn.Parameter(np.ones(1))]} for _ in range(groups)], lr=0.1, momentum=momentum)


@pytest.mark.parametrize("build, error, message", [
    (lambda o: lr_scheduler.ConstantLR(o, factor=0.0), ValueError,
     r"ConstantLR: factor must be a number in \(0, 1\], got 0.0"),
    (lambda o: lr_scheduler.ConstantLR(o, factor=1.5), ValueError,
     r"ConstantLR: factor must be a number in \(0, 1\], got 1.5"),
    (lambda o: lr_scheduler.ConstantLR(o, total_iters=0), ValueError,
     "ConstantLR: total_iters must be a positive int, got 0"),
    (lambda o: lr_scheduler.MultiplicativeLR(o, 0.9), TypeError,
     "MultiplicativeLR: lr_lambda must be a function of the epoch .* got 0.9"),
    (lambda o: lr_scheduler.MultiplicativeLR(o, [_halve_odd] * 2), ValueError,
     "MultiplicativeLR: expected 1 lr_lambdas, one per group, got 2"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
     "CosineAnnealingWarmRestarts: T_0 must be a positive int, got 0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError,
     "CosineAnnealingWarmRestarts: T_0 must be a positive int, got 2.5"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError,
     "CosineAnnealingWarmRestarts: T_mult must be a positive int, got 0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, eta_min=-0.1), ValueError,
     "CosineAnnealingWarmRestarts: eta_min must be a finite number >= 0, got -0.1"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=1.0, mode="triangle"), ValueError,
     "CyclicLR: mode must be 'triangular' or 'triangular2' or 'exp_range', got 'triangle'"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=1.0, scale_mode="epochs"), ValueError,
     "CyclicLR: scale_mode must be 'cycle' or 'iterations', got 'epochs'"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=1.0, step_size_up=0), ValueError,
     "CyclicLR: step_size_up must be a finite number > 0, got 0"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=1.0, step_size_down=-2), ValueError,
     "CyclicLR: step_size_down must be a finite number > 0, got -2"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=-0.1, max_lr=1.0), ValueError,
     "CyclicLR: base_lr must be a finite number >= 0, got -0.1"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=[1.0, 2.0]), ValueError,
     r"CyclicLR: max_lr must be one number or one per group \(1\), got 2"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=1.0, scale_fn=2.0), TypeError,
     "CyclicLR: scale_fn must be a function of a number .* got 2.0"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=1.0, cycle_momentum="yes"), TypeError,
     "CyclicLR: cycle_momentum must be a bool, got 'yes'"),
    (lambda o: lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=1.0, gamma=float("nan")), ValueError,
     "CyclicLR: gamma must be a finite number >= 0, got nan"),
    (lambda o: lr_scheduler.ChainedScheduler([]), ValueError,
     "ChainedScheduler: expected at least one scheduler, got none"),
    (lambda o: lr_scheduler.ChainedScheduler([o]), TypeError,
     r"ChainedScheduler: schedulers\[0\] must be a scheduler, got a SGD"),
    (lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(o)]), ValueError,
     r"ChainedScheduler: schedulers\[0\] is a ReduceLROnPlateau"),
    (lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(o, 2), lr_scheduler.StepLR(_sgd(), 2)]), ValueError,
     r"ChainedScheduler: schedulers\[1\] \(StepLR\) sets another optimizer's rates"),
    (lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(o, 2)], optimizer=_sgd()), ValueError,
     r"ChainedScheduler: schedulers\[0\] \(StepLR\) sets another optimizer's rates"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(o, 2)])], []),
     TypeError, r"SequentialLR: schedulers\[0\] is a ChainedScheduler"),
])
def test_scheduler_errors_name_the_values(build, error, message):
    with pytest.raises(error, match=message):
        build(_sgd())


def test_schedulers_refuse_what_pytorch_refuses():
    """The arguments PyTorch's refuse too (its messages are its own)."""
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
    L = torch.optim.lr_scheduler
    for build in (lambda m, o: m.ConstantLR(o, factor=1.5),
                  lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
                  lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5),
                  lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
                  lambda m, o: m.CyclicLR(o, base_lr=0.1, max_lr=1.0, mode="triangle"),
                  lambda m, o: m.CyclicLR(o, base_lr=0.1, max_lr=[1.0, 2.0]),
                  lambda m, o: m.MultiplicativeLR(o, [_halve_odd] * 2),
                  lambda m, o: m.ChainedScheduler([])):
        with pytest.raises(ValueError):
            build(L, topt)
        with pytest.raises(ValueError):
            build(lr_scheduler, _sgd())


def test_cycle_momentum_needs_a_momentum_and_adam_beta1_below_1():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.optim.lr_scheduler.CyclicLR(torch.optim.Adagrad([torch.nn.Parameter(torch.ones(1))]), 0.1, 1.0)
    adagrad = Adagrad([nn.Parameter(np.ones(1))])
    with pytest.raises(ValueError, match="CyclicLR: cycle_momentum needs an optimizer with a momentum or betas "
                                         "option, got a Adagrad: pass cycle_momentum=False"):
        lr_scheduler.CyclicLR(adagrad, base_lr=0.1, max_lr=1.0)
    with pytest.raises(ValueError, match=r"OneCycleLR: cycle_momentum needs .* got a Adagrad"):
        lr_scheduler.OneCycleLR(adagrad, max_lr=1.0, total_steps=10)
    adam = Adam([nn.Parameter(np.ones(1))])
    with pytest.raises(ValueError, match=r"CyclicLR: max_momentum must be in \[0, 1\) for an optimizer whose "
                                         r"momentum is beta1 .* got 1.0"):
        lr_scheduler.CyclicLR(adam, base_lr=0.1, max_lr=1.0, max_momentum=1.0)


def test_warm_restarts_step_refuses_a_bad_epoch():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="Expected non-negative epoch"):
        torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1), T_0=2).step(-1)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(_sgd(), T_0=2)
    for bad in (-1, -0.5, float("nan"), "3", True):
        with pytest.raises(ValueError, match=f"CosineAnnealingWarmRestarts.step: epoch must be a finite number >= 0, "
                                             f"got {bad!r}"):
            sched.step(bad)
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.1]   # left as it was


def test_load_state_dict_refuses_another_schedulers_state():
    opt = _sgd()
    warm = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3)
    with pytest.raises(ValueError, match=r"CosineAnnealingWarmRestarts.load_state_dict: the state lacks T_i, T_cur"):
        warm.load_state_dict(lr_scheduler.StepLR(opt, 2).state_dict())
    with pytest.raises(ValueError, match=r"T_cur must be a number in \[0, T_i 3\), got 5"):
        warm.load_state_dict(dict(warm.state_dict(), T_cur=5))
    cyclic = lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=1.0)
    with pytest.raises(ValueError, match=r"CyclicLR.load_state_dict: the state lacks .* \(is it another"):
        cyclic.load_state_dict(lr_scheduler.StepLR(opt, 2).state_dict())
    chained = lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(opt, 2)])
    with pytest.raises(ValueError, match="ChainedScheduler.load_state_dict: expected last_lr, schedulers with 1 "
                                         "schedulers' states, got last_lr, schedulers with 2"):
        chained.load_state_dict(lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(opt, 2),
                                                               lr_scheduler.StepLR(opt, 3)]).state_dict())
    constant = lr_scheduler.ConstantLR(opt)
    with pytest.raises(ValueError, match=r"ConstantLR: factor must be a number in \(0, 1\], got 2"):
        constant.load_state_dict(dict(constant.state_dict(), factor=2))


def test_the_new_names_are_where_pytorch_keeps_them():
    from minifcn.optim.lr_scheduler import ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts, CyclicLR
    from minifcn.optim.lr_scheduler import LRScheduler, MultiplicativeLR
    for cls in (ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts, CyclicLR, MultiplicativeLR):
        assert issubclass(cls, LRScheduler)
    assert isinstance(Adagrad([nn.Parameter(np.ones(1))]), minifcn.optim.Optimizer)


# --------------------------------------------------------------------- a reviewer's findings
SCHEDULERS_OF_THEIR_GROUPS = {   # name: (ours, PyTorch's) built on an optimizer of one group
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.5 ** e),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.5),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, 4),
    "CyclicLR": lambda L, o: L.CyclicLR(o, 0.01, 0.1, 2),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS_OF_THEIR_GROUPS))
def test_a_group_added_after_a_scheduler_of_its_own_per_group_is_refused_as_pytorch(name):
    """These keep a lambda or a base per group: a group added later had been left at its own
    rate, silently; PyTorch's raise at the step (a ValueError from zip, OneCycleLR's KeyError)."""
    torch = pytest.importorskip("torch")
    make = SCHEDULERS_OF_THEIR_GROUPS[name]
    opt = SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    sched = make(lr_scheduler, opt)
    sched.step()                                  # one group: fine
    opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": 0.1})
    with pytest.raises(ValueError, match=rf"{name}: the optimizer has 2 param groups, this scheduler was built for 1"):
        sched.step()
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
    tsched = make(torch.optim.lr_scheduler, topt)
    topt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.1})
    topt.step()                                   # PyTorch warns of a scheduler stepped first
    with pytest.raises((ValueError, KeyError)):
        tsched.step()
        tsched.step()


def test_cyclic_lr_with_no_way_down_is_a_sawtooth_as_pytorch():
    torch = pytest.importorskip("torch")
    opt = SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
    sched = lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3, step_size_down=0)
    tsched = torch.optim.lr_scheduler.CyclicLR(topt, 0.01, 0.1, step_size_up=3, step_size_down=0)
    ours, theirs = [], []
    for _ in range(8):
        opt.step(), topt.step()
        sched.step(), tsched.step()
        ours.append(sched.get_last_lr()[0]), theirs.append(tsched.get_last_lr()[0])
    assert ours == pytest.approx(theirs, rel=1e-12, abs=0)
    assert min(ours) == pytest.approx(0.01) and ours[2] == pytest.approx(0.01)   # back at once


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps),
                                  lambda ps: RMSprop(ps), lambda ps: Adagrad(ps)])
def test_a_gradient_of_another_shape_is_refused_not_broadcast(make):
    """p.grad of shape (4,) on a (3, 4) parameter had been broadcast into every row by RMSprop,
    Adagrad and Adam (SGD failed with NumPy's message); PyTorch refuses it when assigned."""
    p = nn.Parameter(np.zeros((3, 4), np.float32))
    p.grad = np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"a parameter of shape \(3, 4\) has a gradient of shape \(4,\)"):
        make([p]).step()
    assert not p.data.any()
