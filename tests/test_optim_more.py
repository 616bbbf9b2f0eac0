"""step(closure) on every optimizer; RMSprop; ReduceLROnPlateau and OneCycleLR. Each against
PyTorch step by step (the same parameters and gradients fed to both), by hand where a formula
is short, through its state dict mid-run (JSON and minifcn.save / minifcn.load), and its errors."""
import json
import math
import types
import warnings

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, nn, no_grad
from minifcn.optim import SGD, Adam, AdamW, RMSprop, lr_scheduler
from oracle import to_np
from optim_twins import (assert_same_run, assert_twins_close, give_grads, momenta, recorded_grads, replay, save_load,
                         step_through, twin_params)


pytestmark = pytest.mark.usefixtures("host_default_device")

_OURS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}


# ------------------------------------------------------------------------- step(closure)
_CLOSURE_OPTIONS = {"SGD": {"lr": 0.05, "momentum": 0.9}, "Adam": {"lr": 0.01}, "AdamW": {"lr": 0.01},
                    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True}}


@pytest.mark.parametrize("name", list(_OURS))
def test_step_with_a_closure_matches_torch(name):
    """A closure that computes the loss of a tiny net and its gradients, called by step()
    inside no_grad (as PyTorch's, the closure records its graph all the same): the losses
    returned and the parameters after 6 steps are PyTorch's; the closure ran once a step."""
    torch = pytest.importorskip("torch")
    minifcn.manual_seed(0)
    net = nn.Sequential(conv=nn.Conv2d(2, 3, 3, padding=1), relu=nn.ReLU(), score=nn.Conv2d(3, 4, 1)).astype(np.float64)
    tnet = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(3, 4, 1)).double()
    with torch.no_grad():
        for p, tp in zip(net.parameters(), tnet.parameters()):
            tp.copy_(torch.from_numpy(to_np(p.data)))
    opt = _OURS[name](net.parameters(), **_CLOSURE_OPTIONS[name])
    topt = getattr(torch.optim, name)(tnet.parameters(), **_CLOSURE_OPTIONS[name])
    rng = np.random.default_rng(0)
    calls = []
    for step in range(6):
        x, t = rng.standard_normal((2, 2, 5, 5)), rng.integers(0, 4, size=(2, 5, 5))

        def closure():
            calls.append(step)
            opt.zero_grad()
            loss = F.cross_entropy(net(Tensor(x)), t, reduction="sum")
            loss.backward()
            return loss

        def tclosure():
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(t), reduction="sum")
            loss.backward()
            return loss

        with no_grad():
            loss = opt.step(closure)
        with torch.no_grad():
            tloss = topt.step(tclosure)
        assert isinstance(loss, Tensor)
        np.testing.assert_allclose(float(loss), tloss.item(), rtol=1e-12, err_msg=f"step {step}")
    assert calls == list(range(6))
    for (pname, p), tp in zip(net.named_parameters(), tnet.parameters()):
        np.testing.assert_allclose(to_np(p.data), tp.detach().numpy(), rtol=1e-10, atol=1e-13, err_msg=pname)


@pytest.mark.parametrize("name", list(_OURS))
def test_step_returns_what_the_closure_returns_and_none_without_one(name):
    p = nn.Parameter(np.array([1.0, 2.0]))
    opt = _OURS[name]([p], lr=0.1)
    p.grad = np.ones(2)
    assert opt.step() is None
    token = object()
    assert opt.step(lambda: token) is token   # whatever it returns, as PyTorch's
    with pytest.raises(TypeError, match=rf"{name}.step: closure must be a function .* got 0.5"):
        opt.step(0.5)


def test_the_closure_runs_before_the_update():
    """The gradients the closure writes are the ones stepped with (the step reads them after)."""
    p = nn.Parameter(np.array([1.0, -1.0]))
    opt = SGD([p], lr=0.5)

    def closure():
        p.grad = np.array([2.0, 4.0])
        return 7.0

    assert opt.step(closure) == 7.0
    np.testing.assert_array_equal(p.data, [0.0, -3.0])


# ------------------------------------------------------------------------------ RMSprop
_RMS_OPTIONS = [   # ids: the options' names
    {},
    {"weight_decay": 0.1},
    {"momentum": 0.9},
    {"centered": True},
    {"centered": True, "momentum": 0.7, "weight_decay": 0.05},
    {"maximize": True, "momentum": 0.3},
    {"alpha": 0.3, "eps": 1e-2},   # a short memory (PyTorch's lerp takes its other branch) and an eps that counts
    {"alpha": 1.0},   # s never moves from 0: each step is g / eps
]


# float32: PyTorch's sqrt and fused multiply-adds round other than NumPy's, by an ulp; a few
# ulps of a unit-sized value, absolute, where a parameter crosses 0 (test_adam's reason too)
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 0.0), (np.float32, 2e-5, 1e-6)])
@pytest.mark.parametrize("options", _RMS_OPTIONS, ids=lambda o: ",".join(o) or "defaults")
def test_rmsprop_matches_torch_over_40_steps(options, dtype, rtol, atol):
    """Step by step, with parameter 1 left without a gradient at steps 3, 4 and 17; the state
    at the end (its keys, PyTorch's, and values). float32 stays float32, as there."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, dtype)
    lr = 1e-10 if options.get("alpha") == 1.0 else 0.01   # alpha 1 steps by g / eps (1e8 g): a small lr
    opt = RMSprop(params, lr=lr, **options)
    topt = torch.optim.RMSprop(tparams, lr=lr, **options)
    rng = np.random.default_rng(1)
    for step in range(40):
        give_grads(torch, params, tparams, rng, skip={1} if step in (3, 4, 17) else ())
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, rtol, f"step {step}", atol)
        assert all(p.data.dtype == dtype for p in params)
    for k, (p, tp) in enumerate(zip(params, tparams)):
        ours, theirs = opt.state[id(p)], topt.state[tp]
        assert sorted(ours) == sorted(theirs), k
        assert ours["step"] == int(theirs["step"]) == (37 if k == 1 else 40)
        for key in ours.keys() - {"step"}:
            assert ours[key].dtype == dtype, (k, key)
            np.testing.assert_allclose(ours[key], theirs[key].numpy(), rtol=rtol, atol=atol, err_msg=f"{k} {key}")


def test_rmsprop_groups_with_their_own_options_match_torch():
    """Three groups: the defaults; their own alpha, momentum, centered and FCN's lr_mult (2x
    the lr is PyTorch's own lr at 2x); their own eps, weight decay and maximize."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch)
    own = {"alpha": 0.9, "momentum": 0.5, "centered": True}
    last = {"lr": 0.05, "eps": 1e-3, "weight_decay": 0.2, "maximize": True}
    opt = RMSprop([{"params": params[:1]}, {"params": params[1:2], "lr_mult": 2.0, **own},
                   {"params": params[2:], **last}], lr=0.01)
    topt = torch.optim.RMSprop([{"params": tparams[:1]}, {"params": tparams[1:2], "lr": 0.02, **own},
                                {"params": tparams[2:], **last}], lr=0.01)
    rng = np.random.default_rng(2)
    for step in range(30):
        give_grads(torch, params, tparams, rng, skip={2} if step == 0 else ())   # group 2 starts late
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")


@pytest.mark.parametrize("centered, momentum", [(False, 0.0), (True, 0.9)])
def test_rmsprop_by_hand(xp, centered, momentum):
    """Four steps of the formulas, written out in NumPy, on every backend."""
    lr, alpha, eps, wd = 0.1, 0.8, 1e-3, 0.2
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))
    opt = RMSprop([p], lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum, centered=centered)
    s = a = b = np.zeros(3)
    for g in ([3.0, -1.0, 0.5], [0.1, 0.2, -0.3], [0.01, 0.0, 0.02], [-1.0, 1.0, 2.0]):
        p.grad = xp.asarray(g)
        opt.step()
        g = np.array(g) + wd * w
        s = alpha * s + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g
        d = (np.sqrt(s - a * a) if centered else np.sqrt(s)) + eps
        b = momentum * b + g / d
        w = w - lr * (b if momentum else g / d)
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-13)
    state = opt.state[id(p)]
    assert state["step"] == 4 and type(state["square_avg"]) is type(p.data)   # on the parameter's device
    assert ("grad_avg" in state) == centered and ("momentum_buffer" in state) == (momentum > 0)


def test_rmsprop_state_dict_round_trip_resumes_identically(tmp_path):
    """Saved after 3 steps (one parameter not stepped yet), through minifcn.save / load; a
    fresh RMSprop with other options takes the saved ones and goes on bit for bit as the run
    that went on."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch)
    opt = RMSprop(params, lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)
    rng = np.random.default_rng(4)
    # parameter 2 gets its first gradient at step 3
    grads = recorded_grads(torch, params, tparams, rng, 6, skip=lambda step: {2} if step < 3 else ())
    replay(params, opt, grads, range(3))
    saved = [p.data.copy() for p in params]
    state = save_load({"optimizer": opt.state_dict()}, tmp_path, "rms.npz")["optimizer"]
    assert state["state"][2] is None and state["state"][0]["step"] == 3
    replay(params, opt, grads, range(3, 6))

    params2 = [nn.Parameter(w.copy()) for w in saved]
    opt2 = RMSprop(params2, lr=999.0, alpha=0.5)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["alpha"] == 0.99 and opt2.param_groups[0]["centered"] is True
    replay(params2, opt2, grads, range(3, 6))
    assert_same_run(params, params2)


def test_rmsprop_turns_on_momentum_and_centering_later_from_zeros():
    """A momentum or a centering that a group's options ask for after the first step (as
    OneCycleLR does) starts its buffer at zeros, where PyTorch's would look it up and fail:
    the step after equals a fresh buffer's."""
    p = nn.Parameter(np.array([1.0, -1.0]))
    opt = RMSprop([p], lr=0.1, alpha=0.5)
    p.grad = np.array([1.0, 2.0])
    opt.step()
    w, s = p.data.copy(), opt.state[id(p)]["square_avg"].copy()
    opt.param_groups[0].update(momentum=0.9, centered=True)
    p.grad = np.array([0.5, -1.0])
    opt.step()
    s = 0.5 * s + 0.5 * p.grad ** 2
    a = 0.5 * p.grad
    np.testing.assert_allclose(p.data, w - 0.1 * p.grad / (np.sqrt(s - a * a) + 1e-8), rtol=1e-14)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"lr": -0.1}, ValueError, r"RMSprop: lr must be finite and >= 0, got -0.1"),
    ({"alpha": -0.5}, ValueError, r"RMSprop: alpha must be finite and >= 0, got -0.5"),
    ({"alpha": 1.5}, ValueError, r"RMSprop: alpha must be in \[0, 1\], got 1.5"),
    ({"momentum": -0.9}, ValueError, r"RMSprop: momentum must be finite and >= 0, got -0.9"),
    ({"eps": float("nan")}, ValueError, r"RMSprop: eps must be finite and >= 0, got nan"),
    ({"weight_decay": "0.1"}, TypeError, r"RMSprop: weight_decay must be a number, got '0.1'"),
    ({"centered": "no"}, TypeError, r"RMSprop: centered must be a bool, got 'no'"),
])
def test_rmsprop_option_errors_name_the_values(kwargs, error, message):
    with pytest.raises(error, match=message):
        RMSprop([nn.Parameter(np.ones(2))], **kwargs)
    with pytest.raises(error, match=message.replace("RMSprop:", r"RMSprop \(group 0\):")):
        RMSprop([{"params": [nn.Parameter(np.ones(2))], **kwargs}])


def test_rmsprop_refuses_what_pytorch_refuses():
    """The negative options PyTorch refuses too (its messages are its own)."""
    torch = pytest.importorskip("torch")
    for kwargs in ({"lr": -0.1}, {"alpha": -0.5}, {"momentum": -0.9}, {"eps": -1.0}, {"weight_decay": -1.0}):
        with pytest.raises(ValueError):
            torch.optim.RMSprop([torch.nn.Parameter(torch.ones(2))], **kwargs)
        with pytest.raises(ValueError, match=f"RMSprop: {next(iter(kwargs))} must be finite and >= 0"):
            RMSprop([nn.Parameter(np.ones(2))], **kwargs)


# -------------------------------------------------------------------- ReduceLROnPlateau
def _metrics(mode):
    """52 scripted metrics: improvements, ties, improvements too small for a threshold of 1e-2
    (relative or absolute), long plateaus, a NaN (a bad step in PyTorch's comparison); for
    "max", the same turned upside down."""
    m = [1.0, 0.9, 0.9, 0.895, 0.9, 0.91, 0.85, 0.849, 0.8495, 0.85, 0.86, 0.7, 0.7, 0.7, 0.7, 0.695,
         0.71, 0.72, 0.73, 0.74, 0.75, 0.5, 0.5, 0.5, math.nan, 0.5, 0.45, 0.5, 0.5, 0.5, 0.5, 0.44,
         0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.43, 0.5] + [0.45] * 12   # long enough for the default patience, 10
    return m if mode == "min" else [2.0 - v for v in m]


_PLATEAU = [   # ids: the options
    {},
    {"patience": 0},
    {"patience": 2, "factor": 0.5},
    {"patience": 1, "cooldown": 3, "factor": 0.5},
    {"patience": 2, "threshold": 1e-2},
    {"patience": 2, "threshold": 1e-2, "threshold_mode": "abs"},
    {"patience": 0, "threshold": 0.0, "threshold_mode": "abs", "cooldown": 1},
    {"patience": 1, "factor": 0.5, "min_lr": [0.2, 0.01]},   # per group: both reach theirs
    {"patience": 1, "factor": 0.5, "min_lr": 0.05},
    {"patience": 0, "factor": 0.5, "eps": 0.02},   # group 1's later halvings too small to be made
    {"patience": 1, "factor": 0.0},
]


@pytest.mark.parametrize("options", _PLATEAU, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_lr_on_plateau_matches_torch_on_scripted_metrics(mode, options):
    """Two groups, 52 metrics: after each step the rates, the best metric, the counts of bad
    and cooldown steps are PyTorch's; the parameters (SGD with momentum, the same gradients)
    too. At least one reduction happened, else the test had checked nothing."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch)
    opt = SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}], lr=1.0, momentum=0.9)
    topt = torch.optim.SGD([{"params": tparams[:2]}, {"params": tparams[2:], "lr": 0.1}], lr=1.0, momentum=0.9)
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode=mode, **options)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, mode=mode, **options)
    assert sched.get_last_lr() == tsched.get_last_lr() == [1.0, 0.1]
    rng = np.random.default_rng(5)
    # the metric as a float, a NumPy scalar and a 0-d Tensor, in turn
    kinds = [float, np.float64, lambda v: Tensor(np.array(v))]
    for i, metric in enumerate(_metrics(mode)):
        give_grads(torch, params, tparams, rng)
        opt.step()
        topt.step()
        sched.step(kinds[i % 3](metric))
        tsched.step(metric)
        assert sched.get_last_lr() == tsched.get_last_lr() == [g["lr"] for g in topt.param_groups], i
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr(), i
        assert (sched.best, sched.num_bad_epochs, sched.cooldown_counter, sched.last_epoch) == \
               (tsched.best, tsched.num_bad_epochs, tsched.cooldown_counter, tsched.last_epoch), i
        assert_twins_close(params, tparams, 1e-12, f"step {i}")
    assert sched.get_last_lr()[0] < 1.0


def test_reduce_lr_on_plateau_by_hand():
    """Patience 2, cooldown 1, relative threshold 0.1 in "min": each step's count of bad
    steps and the rate, written out."""
    opt = SGD([nn.Parameter(np.ones(1))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=0.1, cooldown=1)
    #           best:  10   9.5 is not < 9; 9 neither; 8.9 < 9: best; ...
    metrics = [10.0, 9.5, 9.0, 8.5, 8.9, 8.8, 8.7, 8.6, 8.0, 7.6]
    bad = [0, 1, 2, 0, 1, 2, 0, 0, 1, 0]   # 3 bad at 8.7: halved, cooldown; 8.6 is in it
    lrs = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    for m, b, lr in zip(metrics, bad, lrs):
        sched.step(m)
        assert (sched.num_bad_epochs, opt.param_groups[0]["lr"]) == (b, lr), m
    assert sched.best == 7.6


@pytest.mark.parametrize("eps", [0.25, 0.2499])
def test_reduce_lr_on_plateau_makes_only_changes_larger_than_eps_as_torch(eps):
    """1.0 * 0.75 is a change of exactly 0.25: not made with eps 0.25 (it must be larger),
    made with 0.2499."""
    torch = pytest.importorskip("torch")
    opt, topt = SGD([nn.Parameter(np.ones(1))], lr=1.0), torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.75, patience=0, eps=eps)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.75, patience=0, eps=eps)
    for m in (1.0, 2.0):
        sched.step(m)
        tsched.step(m)
    assert sched.get_last_lr() == tsched.get_last_lr() == [1.0 if eps == 0.25 else 0.75]


def test_reduce_lr_on_plateau_min_lr_and_groups_added_later_as_torch():
    """One min_lr applies to a group added after the scheduler was built; a list of one per
    group raises at the next reduction (PyTorch's RuntimeError), until min_lrs is set."""
    torch = pytest.importorskip("torch")
    for min_lr in (0.3, [0.3]):
        opt = SGD([nn.Parameter(np.ones(1))], lr=1.0)
        topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
        sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, min_lr=min_lr)
        tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=0, min_lr=min_lr)
        sched.step(1.0)
        tsched.step(1.0)
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": 2.0})
        topt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": 2.0})
        if isinstance(min_lr, list):
            with pytest.raises(RuntimeError):
                tsched.step(2.0)
            with pytest.raises(RuntimeError, match="ReduceLROnPlateau: the optimizer has 2 groups, min_lr 1 values"):
                sched.step(2.0)
            sched.min_lrs = tsched.min_lrs = [0.3, 0.3]
        for m in (3.0, 4.0, 5.0):
            sched.step(m)
            tsched.step(m)
            assert sched.get_last_lr() == tsched.get_last_lr(), (min_lr, m)
        assert sched.get_last_lr()[1] == 0.3   # group 1 went down to min_lr, not below


@pytest.mark.parametrize("at", [0, 7, 13])
def test_reduce_lr_on_plateau_state_dict_round_trip_continues_identically(tmp_path, at):
    """Saved after ``at`` steps (0: best still inf), through JSON and through minifcn.save /
    load; a fresh optimizer and scheduler built with other options, loaded, take the same
    steps as the run that went on: the same rates, counters and parameters."""
    torch = pytest.importorskip("torch")
    metrics = _metrics("max")[:25]
    params, tparams = twin_params(torch)
    rng = np.random.default_rng(6)
    grads = recorded_grads(torch, params, tparams, rng, len(metrics))

    def train_on_metrics(params, opt, sched, steps):
        seen = []
        for i in steps:
            for p, g in zip(params, grads[i]):
                p.grad = g
            opt.step()
            sched.step(metrics[i])
            seen.append((sched.get_last_lr(), sched.best, sched.num_bad_epochs, sched.cooldown_counter))
        return seen

    def build(params, **options):
        opt = Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], lr=0.1)
        return opt, lr_scheduler.ReduceLROnPlateau(opt, **options)

    opt, sched = build(params, mode="max", factor=0.5, patience=1, cooldown=2, min_lr=[0.01, 0.02],
                       threshold=1e-2, threshold_mode="abs")
    train_on_metrics(params, opt, sched, range(at))
    saved = [p.data.copy() for p in params]
    state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
    via_json = json.loads(json.dumps(state["scheduler"]))
    via_file = save_load(state, tmp_path, "plateau.npz")
    went_on = train_on_metrics(params, opt, sched, range(at, len(metrics)))
    assert any(lrs != went_on[0][0] for lrs, *_ in went_on)   # a reduction after the save

    for sched_state in (via_json, via_file["scheduler"]):
        params2 = [nn.Parameter(w.copy()) for w in saved]
        opt2, sched2 = build(params2, patience=7, factor=0.9)
        opt2.load_state_dict(via_file["optimizer"])
        sched2.load_state_dict(sched_state)
        assert (sched2.mode, sched2.threshold_mode, sched2.min_lrs) == ("max", "abs", [0.01, 0.02])
        assert train_on_metrics(params2, opt2, sched2, range(at, len(metrics))) == went_on
        for p, q in zip(params, params2):
            np.testing.assert_array_equal(q.data, p.data)


def test_reduce_lr_on_plateau_errors_name_the_values():
    torch = pytest.importorskip("torch")
    opt = SGD([{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))]}], lr=0.1)
    topt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))]},
                            {"params": [torch.nn.Parameter(torch.ones(1))]}], lr=0.1)
    R, TR = lr_scheduler.ReduceLROnPlateau, torch.optim.lr_scheduler.ReduceLROnPlateau
    # refused by PyTorch too
    for kwargs, message in [({"factor": 1.0}, r"factor must be a number in \[0, 1\), got 1.0"),
                            ({"mode": "mean"}, "mode must be 'min' or 'max', got 'mean'"),
                            ({"threshold_mode": "relative"}, "threshold_mode must be 'rel' or 'abs', got 'relative'"),
                            ({"min_lr": [0.1, 0.2, 0.3]}, r"min_lr must be one number or one per group \(2\), got 3")]:
        with pytest.raises(ValueError):
            TR(topt, **kwargs)
        with pytest.raises(ValueError, match="ReduceLROnPlateau: " + message):
            R(opt, **kwargs)
    # PyTorch takes them (a negative factor sets the rate to min_lr; a negative patience reduces at every step)
    for kwargs, message in [({"factor": -0.5}, "factor must be a finite number >= 0, got -0.5"),
                            ({"patience": -1}, "patience must be an int >= 0, got -1"),
                            ({"patience": 2.5}, "patience must be an int >= 0, got 2.5"),
                            ({"cooldown": -2}, "cooldown must be an int >= 0, got -2"),
                            ({"threshold": -1e-4}, "threshold must be a finite number >= 0, got -0.0001"),
                            ({"min_lr": [0.1, -0.1]}, "min_lr must be a finite number >= 0, got -0.1"),
                            ({"eps": float("nan")}, "eps must be a finite number >= 0, got nan")]:
        with pytest.raises(ValueError, match="ReduceLROnPlateau: " + message):
            R(opt, **kwargs)
    with pytest.raises(TypeError, match="ReduceLROnPlateau: expected an optimizer, got a list"):
        R([nn.Parameter(np.ones(1))])
    sched = R(opt)
    with pytest.raises(TypeError, match="ReduceLROnPlateau.step: metrics must be a number, got '0.5'"):
        sched.step("0.5")
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: metrics must be a number \(or a Tensor or "
                                        r"array of one value\), got array\(\[0.5, 0.4\]\)"):
        sched.step(np.array([0.5, 0.4]))
    assert sched.last_epoch == 0   # refused before anything changed
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau.load_state_dict: the state lacks .* \(is it another"):
        sched.load_state_dict(lr_scheduler.StepLR(opt, 2).state_dict())
    with pytest.raises(ValueError, match=r"factor must be a number in \[0, 1\), got 2"):
        sched.load_state_dict(dict(sched.state_dict(), factor=2))
    with pytest.raises(TypeError, match=r"SequentialLR: schedulers\[1\] is a ReduceLROnPlateau"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt), sched], [3])


def test_reduce_lr_on_plateau_step_with_an_epoch_warns_and_sets_it_as_torch():
    torch = pytest.importorskip("torch")
    opt, topt = SGD([nn.Parameter(np.ones(1))], lr=1.0), torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=0)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(1.0, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsched.step(1.0, 5)
    sched.step(2.0)
    tsched.step(2.0)
    assert sched.last_epoch == tsched.last_epoch == 6 and sched.get_last_lr() == tsched.get_last_lr()


# ---------------------------------------------------------------------------- OneCycleLR
def _one_cycle_pair(torch, name, groups_lr=(0.1, 0.3)):
    """Our optimizer ``name`` and PyTorch's on the same 3 parameters in 2 groups."""
    params, tparams = twin_params(torch)
    options = {"SGD": {"momentum": 0.9}, "RMSprop": {"momentum": 0.5}}.get(name, {})
    opt = _OURS[name]([{"params": params[:2]}, {"params": params[2:], "lr": groups_lr[1]}], lr=groups_lr[0], **options)
    topt = getattr(torch.optim, name)([{"params": tparams[:2]}, {"params": tparams[2:], "lr": groups_lr[1]}],
                                      lr=groups_lr[0], **options)
    return params, tparams, opt, topt


_CYCLES = [   # ids: the options
    {"total_steps": 60},
    {"total_steps": 60, "anneal_strategy": "linear"},
    {"total_steps": 60, "three_phase": True},
    {"total_steps": 60, "three_phase": True, "anneal_strategy": "linear"},
    {"epochs": 7, "steps_per_epoch": 9, "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0},
    {"total_steps": 45, "pct_start": 0.45, "three_phase": True, "base_momentum": [0.8, 0.7],
     "max_momentum": [0.9, 0.95]},
    {"total_steps": 30, "cycle_momentum": False},
    {"total_steps": 50, "pct_start": 0.0},   # no climb: the anneal starts at once
]


@pytest.mark.parametrize("options", _CYCLES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_one_cycle_lr_matches_torch_over_its_whole_schedule(name, options):
    """The whole schedule, the step past its last included (allowed, as PyTorch's): each
    group's rate and momentum (SGD's and RMSprop's momentum, Adam's beta1) equal PyTorch's
    at every step, and the parameters stepped with them; the keys it writes in the groups
    too. One step more raises in both, and changes nothing here."""
    torch = pytest.importorskip("torch")
    params, tparams, opt, topt = _one_cycle_pair(torch, name)
    before = momenta(opt)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.4], **options)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=[0.1, 0.4], **options)
    total = options.get("total_steps") or options["epochs"] * options["steps_per_epoch"]
    assert sched.total_steps == tsched.total_steps == total
    rng = np.random.default_rng(7)
    lrs = []
    for step in range(total + 1):
        assert sched.last_epoch == tsched.last_epoch == step
        assert sched.get_last_lr() == tsched.get_last_lr() == [g["lr"] for g in opt.param_groups], step
        assert momenta(opt) == momenta(topt), step
        lrs.append(sched.get_last_lr()[1])
        give_grads(torch, params, tparams, rng)
        opt.step()
        topt.step()
        # an ulp of a unit-sized value, absolute, where a parameter passes near 0: PyTorch's
        # updates round in another order (its add_ with alpha)
        assert_twins_close(params, tparams, 1e-12, f"step {step}", atol=1e-15)
        if step < total:
            sched.step()
            tsched.step()
    for g, tg in zip(opt.param_groups, topt.param_groups):
        momentum_keys = ("max_momentum", "base_momentum") if sched.cycle_momentum else ()
        for key in ("initial_lr", "max_lr", "min_lr", *momentum_keys):
            assert g[key] == tg[key], key
    if not sched.cycle_momentum:
        assert momenta(opt) == before
    # up to the peak (near max_lr: it may fall between two steps), then down to min_lr at the
    # last step (the step past it goes on along the anneal: below min_lr, as PyTorch's)
    peak = int(np.argmax(lrs))
    assert 0.4 * 0.99 < lrs[peak] <= 0.4 and lrs[total - 1] == pytest.approx(opt.param_groups[1]["min_lr"], rel=1e-12)
    assert (np.diff(lrs[:peak + 1]) > 0).all() and (np.diff(lrs[peak:total]) < 0).all()
    with pytest.raises(ValueError, match=f"Tried to step {total + 1} times"):
        tsched.step()
    last = sched.get_last_lr()
    with pytest.raises(ValueError, match=f"OneCycleLR: tried to step to step {total + 1}, past total_steps {total}"):
        sched.step()
    assert sched.last_epoch == total and sched.get_last_lr() == last == [g["lr"] for g in opt.param_groups]


def test_one_cycle_lr_by_hand():
    """The cos anneal's formula at each step of a 2-phase cycle of 10 steps, written out."""
    opt = SGD([nn.Parameter(np.ones(1))], lr=0.5, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=2.0, total_steps=10, pct_start=0.4, div_factor=8.0,
                                    final_div_factor=5.0)

    def cos(start, end, pct):
        return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2

    for step in range(11):
        if step <= 3:   # the climb ends at step 0.4 * 10 - 1 = 3
            lr, m = cos(0.25, 2.0, step / 3), cos(0.95, 0.85, step / 3)
        else:   # down to 0.25 / 5 at step 9 (and past it, at step 10)
            lr, m = cos(2.0, 0.05, (step - 3) / 6), cos(0.85, 0.95, (step - 3) / 6)
        assert sched.get_last_lr()[0] == pytest.approx(lr, rel=1e-14, abs=1e-16), step
        assert opt.param_groups[0]["momentum"] == pytest.approx(m, rel=1e-14), step
        if step < 10:
            sched.step()


def test_one_cycle_lr_with_a_phase_of_no_length_raises_as_torch():
    """pct_start * total_steps = 1: the climb ends at step 0, where it starts. PyTorch's
    divides by zero at building; ours says why."""
    torch = pytest.importorskip("torch")
    with pytest.raises(ZeroDivisionError):
        torch.optim.lr_scheduler.OneCycleLR(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0, momentum=0.9),
                                            max_lr=1.0, total_steps=10, pct_start=0.1)
    with pytest.raises(ValueError, match=r"OneCycleLR: step 0 falls in phase 1, which has no length .* pct_start 0.1 "
                                         r"and total_steps 10"):
        lr_scheduler.OneCycleLR(SGD([nn.Parameter(np.ones(1))], lr=1.0, momentum=0.9), max_lr=1.0,
                                total_steps=10, pct_start=0.1)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
@pytest.mark.parametrize("at", [5, 23])   # in the climb; in the anneal
def test_one_cycle_lr_state_dict_round_trip_continues_identically(tmp_path, name, at):
    """Saved at step ``at``, through JSON and through minifcn.save / load; a fresh optimizer
    and scheduler built with other rates, momenta and length, loaded, take the same steps as
    the run that went on: the same rates, momenta and parameters, and the same error one
    step past the end. The scheduler's state alone brings back the groups' momenta."""
    torch = pytest.importorskip("torch")
    total = 30
    params, tparams, opt, _ = _one_cycle_pair(torch, name)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.4], total_steps=total, three_phase=True,
                                    anneal_strategy="linear", base_momentum=[0.8, 0.7])
    rng = np.random.default_rng(8)
    grads = recorded_grads(torch, params, tparams, rng, total)

    step_through(params, opt, sched, grads, range(at))
    saved = [p.data.copy() for p in params]
    state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
    via_json = json.loads(json.dumps(state["scheduler"]))
    via_file = save_load(state, tmp_path, "cycle.npz")
    went_on = step_through(params, opt, sched, grads, range(at, total))

    for sched_state in (via_json, via_file["scheduler"]):
        params2 = [nn.Parameter(w.copy()) for w in saved]
        opt2 = _OURS[name]([{"params": params2[:2]}, {"params": params2[2:], "lr": 6.0}], lr=5.0)
        sched2 = lr_scheduler.OneCycleLR(opt2, max_lr=9.0, total_steps=100, max_momentum=0.5, base_momentum=0.1)
        opt2.load_state_dict(via_file["optimizer"])
        before = momenta(opt2)
        sched2.load_state_dict(sched_state)
        assert momenta(opt2) == before   # the optimizer's state had them; the scheduler's writes the same
        opt2.param_groups[0]["betas" if name == "Adam" else "momentum"] = (0.0, 0.999) if name == "Adam" else 0.0
        sched2.load_state_dict(sched_state)   # ...and alone brings them back
        assert momenta(opt2) == before
        assert step_through(params2, opt2, sched2, grads, range(at, total)) == went_on
        for p, q in zip(params, params2):
            np.testing.assert_array_equal(q.data, p.data)
        with pytest.raises(ValueError, match=f"tried to step to step {total + 1}, past total_steps {total}"):
            sched2.step()


# PyTorch's, for a scheduler stepped without training
@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)` before")
def test_one_cycle_lr_resumed_by_last_epoch_as_torch():
    """PyTorch's other way to resume: groups that hold initial_lr (from the first run), a
    scheduler built with last_epoch; the steps after are the first run's."""
    torch = pytest.importorskip("torch")
    results = []
    for lib, optim in ((lr_scheduler, None), (torch.optim.lr_scheduler, torch.optim)):
        opt = (SGD([nn.Parameter(np.ones(1))], lr=1.0, momentum=0.9) if optim is None else
               optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0, momentum=0.9))
        first = lib.OneCycleLR(opt, max_lr=2.0, total_steps=20)
        straight = []
        for _ in range(12):
            first.step()
            straight.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
        opt.param_groups[0]["lr"] = 123.0   # overwritten by the resumed scheduler's first step
        resumed = lib.OneCycleLR(opt, max_lr=2.0, total_steps=20, last_epoch=6)
        again = [(opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"])]
        for _ in range(5):
            resumed.step()
            again.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
        assert again == straight[6:12]
        results.append(again)
    assert results[0] == results[1]
    with pytest.raises(KeyError, match=r"param_groups\[0\] has no 'initial_lr'"):
        lr_scheduler.OneCycleLR(SGD([nn.Parameter(np.ones(1))], lr=1.0), max_lr=1.0, total_steps=5, last_epoch=3)


def test_one_cycle_lr_errors_name_the_values():
    torch = pytest.importorskip("torch")
    opt = SGD([{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))]}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))]},
                            {"params": [torch.nn.Parameter(torch.ones(1))]}], lr=0.1, momentum=0.9)
    O, TO = lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.OneCycleLR
    # refused by PyTorch too
    for kwargs, message in [({}, "give total_steps, or epochs and steps_per_epoch, got total_steps None, "
                                 "epochs None and steps_per_epoch None"),
                            ({"epochs": 3}, "give total_steps, or epochs and steps_per_epoch"),
                            ({"total_steps": 0}, "total_steps must be a positive int, got 0"),
                            ({"total_steps": -5}, "total_steps must be a positive int, got -5"),
                            ({"epochs": 0, "steps_per_epoch": 5}, "epochs must be a positive int, got 0"),
                            ({"total_steps": 10, "pct_start": 1.5}, r"pct_start must be a number in \[0, 1\], got 1.5"),
                            ({"total_steps": 10, "anneal_strategy": "exp"},
                             "anneal_strategy must be 'cos' or 'linear', got 'exp'")]:
        with pytest.raises(ValueError):
            TO(topt, max_lr=1.0, **kwargs)
        with pytest.raises(ValueError, match="OneCycleLR: " + message):
            O(opt, max_lr=1.0, **kwargs)
    with pytest.raises(ValueError):
        TO(topt, max_lr=[1.0, 2.0, 3.0], total_steps=10)
    with pytest.raises(ValueError, match=r"OneCycleLR: max_lr must be one number or one per group \(2\), got 3"):
        O(opt, max_lr=[1.0, 2.0, 3.0], total_steps=10)
    # PyTorch takes them, and divides by zero, or trains on a negative rate, or with Adam's beta1 1
    for kwargs, message in [({"max_lr": -1.0}, "max_lr must be a finite number >= 0, got -1.0"),
                            ({"div_factor": 0.0}, "div_factor must be a finite number > 0, got 0.0"),
                            ({"final_div_factor": -1}, "final_div_factor must be a finite number > 0, got -1"),
                            ({"max_momentum": float("inf")}, "max_momentum must be a finite number >= 0, got inf"),
                            ({"three_phase": "yes"}, "three_phase must be a bool, got 'yes'")]:
        with pytest.raises((ValueError, TypeError), match="OneCycleLR: " + message):
            O(opt, **{"max_lr": 1.0, "total_steps": 10, **kwargs})
    adam = Adam([nn.Parameter(np.ones(1))])
    with pytest.raises(ValueError, match=r"OneCycleLR: max_momentum must be in \[0, 1\) for an optimizer whose "
                                         r"momentum is beta1 .* got 1.0"):
        O(adam, max_lr=1.0, total_steps=10, max_momentum=1.0)
    O(adam, max_lr=1.0, total_steps=10, max_momentum=1.0, cycle_momentum=False)   # beta1 untouched then
    assert adam.param_groups[0]["betas"] == (0.9, 0.999)
    no_momentum = types.SimpleNamespace(param_groups=[{"lr": 0.1}], defaults={"lr": 0.1})   # as Adagrad's
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum needs an optimizer with a momentum or betas "
                                         "option, got a SimpleNamespace"):
        O(no_momentum, max_lr=1.0, total_steps=10)
    with pytest.raises(TypeError, match="OneCycleLR: expected an optimizer, got a list"):
        O([nn.Parameter(np.ones(1))], max_lr=1.0, total_steps=10)
    sched = O(opt, max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match=r"OneCycleLR.load_state_dict: the state lacks .* \(is it another"):
        sched.load_state_dict(lr_scheduler.StepLR(opt, 2).state_dict())
    with pytest.raises(ValueError, match=r"OneCycleLR: pct_start must be a number in \[0, 1\], got 2"):
        sched.load_state_dict(dict(sched.state_dict(), pct_start=2))
