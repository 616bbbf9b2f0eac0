"""Adadelta, ASGD and Rprop against PyTorch (every option, groups, add_param_group, skipped
parameters, float64 and float32, 60 steps; Rprop's sign flips and clamps, ASGD's average after
t0), by hand on every backend, through their state dicts mid-run (minifcn.save /
minifcn.load), and their errors."""
import inspect
import json

import numpy as np
import pytest

import minifcn
from minifcn import nn, optim
from minifcn.optim import ASGD, Adadelta, Rprop, lr_scheduler
from oracle import to_np
from optim_twins import assert_same_run, assert_twins_close, give_grads, recorded_grads, replay, save_load, twin_params


pytestmark = pytest.mark.usefixtures("host_default_device")

_OURS = {"Adadelta": Adadelta, "ASGD": ASGD, "Rprop": Rprop}
_LR = {"Adadelta": 1.0, "ASGD": 0.01, "Rprop": 0.01}   # Adadelta's default: its lr only scales


def _assert_state_like_torch(opt, topt, params, tparams, rtol, atol=0.0):
    for k, (p, tp) in enumerate(zip(params, tparams)):
        ours, theirs = opt.state[id(p)], topt.state[tp]
        assert sorted(ours) == sorted(theirs), k
        for key, v in ours.items():
            if key == "step":
                assert v == int(theirs["step"]), k
            elif key in ("eta", "mu"):   # ASGD's: a float here, a 0-d tensor of the default dtype there
                assert isinstance(v, float)
                tol = rtol if theirs[key].element_size() == 8 else 6e-8   # float32's rounding of one
                np.testing.assert_allclose(v, theirs[key].item(), rtol=tol, err_msg=f"{k} {key}")
            else:
                assert v.dtype == p.dtype, (k, key)
                np.testing.assert_allclose(to_np(v), theirs[key].numpy(), rtol=rtol, atol=atol, err_msg=f"{k} {key}")


_OPTIONS = {   # ids: the options' names
    "Adadelta": [{}, {"weight_decay": 0.1}, {"maximize": True}, {"rho": 0.5, "eps": 1e-3},
                 {"rho": 0.0, "lr": 0.1}, {"rho": 1.0}],
    "ASGD": [{}, {"weight_decay": 0.1}, {"maximize": True, "lambd": 0.5},
             {"t0": 10.0, "lambd": 1.0, "alpha": 0.5, "lr": 0.1},   # the rate decays, the average from step 12
             {"t0": 0.0, "alpha": 0.0, "lambd": 0.1}, {"t0": 2.5, "lambd": 0.0}],
    "Rprop": [{}, {"maximize": True}, {"etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05)},
              {"lr": 0.1, "step_sizes": (0.005, 0.02)},   # both bounds from the first growth, the first flip
              {"etas": (0.9, 1.01)}],
}
_CASES = [(name, o) for name, options in _OPTIONS.items() for o in options]


# float32: PyTorch's sqrt and fused multiply-adds round other than NumPy's, by an ulp; a few
# ulps of a unit-sized value, absolute, where a parameter crosses 0 (test_adam's reason), and
# ASGD's eta and mu rounded to float32 there (6e-8 relative, of a term of the step)
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 0.0), (np.float32, 2e-5, 1e-6)])
@pytest.mark.parametrize("name, options", _CASES, ids=[f"{n}-{','.join(o) or 'defaults'}" for n, o in _CASES])
def test_matches_torch_over_60_steps(name, options, dtype, rtol, atol):
    """Step by step, parameter 1 left without a gradient at steps 3, 4 and 17 (its count of
    steps, on which ASGD's rate and average depend, lags: PyTorch's too); the state at the
    end. float32 stays float32 in every state, as there; float64 runs PyTorch with float64 as
    its default. give_grads' noise flips the gradients' signs often: Rprop's flips are taken."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    options = dict({"lr": _LR[name]}, **options)
    try:
        params, tparams = twin_params(torch, dtype)
        opt = _OURS[name](params, **options)
        topt = getattr(torch.optim, name)(tparams, **options)
        rng = np.random.default_rng(1)
        flips = 0
        for step in range(60):
            give_grads(torch, params, tparams, rng, skip={1} if step in (3, 4, 17) else ())
            opt.step()
            topt.step()
            assert_twins_close(params, tparams, rtol, f"step {step}", atol)
            assert all(p.data.dtype == dtype for p in params)
            if name == "Rprop":   # a flip leaves 0 in prev
                flips += int(np.sum(opt.state[id(params[0])]["prev"] == 0))
        _assert_state_like_torch(opt, topt, params, tparams, rtol, atol)
    finally:
        torch.set_default_dtype(before)
    assert opt.state[id(params[1])]["step"] == 57 and opt.state[id(params[0])]["step"] == 60
    if name == "Rprop":   # flips were taken, and the sizes left lr
        assert flips > 10 and np.all(opt.state[id(params[0])]["step_size"] != options["lr"])


@pytest.mark.parametrize("name", list(_OURS))
def test_groups_with_their_own_options_match_torch(torch64, name):
    """Three groups: the defaults; their own options and FCN's lr_mult (2x the lr is PyTorch's
    own lr at 2x); their own lr and maximize. Group 2 starts at step 1; a fourth group is added
    at step 10 (add_param_group), on both sides."""
    torch = torch64
    params, tparams = twin_params(torch, np.float64)
    rng = np.random.default_rng(2)
    late = rng.standard_normal((3, 2))
    params.append(nn.Parameter(late.copy()))
    tparams.append(torch.nn.Parameter(torch.tensor(late)))
    lr = _LR[name]
    own = {"Adadelta": {"rho": 0.6, "weight_decay": 0.3},
           "ASGD": {"lambd": 0.3, "alpha": 0.6, "t0": 4.0, "weight_decay": 0.3},
           "Rprop": {"etas": (0.4, 1.3), "step_sizes": (1e-3, 0.04)}}[name]
    last = {"lr": lr / 2, "maximize": True}
    added = dict(own, lr=lr * 3)
    opt = _OURS[name]([{"params": params[:1]}, {"params": params[1:2], "lr_mult": 2.0, **own},
                       {"params": params[2:3], **last}], lr=lr)
    topt = getattr(torch.optim, name)([{"params": tparams[:1]}, {"params": tparams[1:2], "lr": 2 * lr, **own},
                                       {"params": tparams[2:3], **last}], lr=lr)
    for step in range(30):
        if step == 10:
            opt.add_param_group({"params": params[3:], **added})
            topt.add_param_group({"params": tparams[3:], **added})
        n = len(opt.param_groups)
        give_grads(torch, params[:n], tparams[:n], rng, skip={2} if step == 0 else ())
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")
    assert opt.state[id(params[3])]["step"] == 20
    assert not np.array_equal(params[3].data, late)
    _assert_state_like_torch(opt, topt, params, tparams, 1e-12)


def test_defaults_are_torchs():
    """The defaults PyTorch's constructors take (the signatures read, not copied); maximize is
    keyword-only here, as PyTorch's but for ASGD's, the one difference kept (its 7th place
    there, after foreach)."""
    torch = pytest.importorskip("torch")
    for name, ours in _OURS.items():
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for arg, p in inspect.signature(ours).parameters.items():
            if arg != "params":
                assert p.default == theirs[arg].default, (name, arg)
                kept = name == "ASGD" and arg == "maximize"
                assert ((p.kind == p.KEYWORD_ONLY) == (theirs[arg].kind == p.KEYWORD_ONLY)) != kept, (name, arg)
    assert list(inspect.signature(torch.optim.ASGD).parameters).index("foreach") == 6
    assert Adadelta([nn.Parameter(np.ones(1))]).param_groups[0]["lr"] == 1.0


# -------------------------------------------------------------------- sign flips, t0
def test_rprop_flips_and_clamps_match_torch(torch64):
    """A full-batch quadratic, sum((p - c)**2) (a gradient that changes sign as p passes c):
    the sizes grow by etaplus to the max while the sign holds, flips halve them, and near the
    minimum they shrink to the min; every step as PyTorch's. The sizes' path is checked
    against a by-hand record of flips; a zero gradient keeps the size and takes no step."""
    torch = torch64
    c = np.array([5.0, -4.0, 0.7, 0.0])
    lo, hi = 1e-4, 0.5
    p = nn.Parameter(np.zeros(4))
    tp = torch.nn.Parameter(torch.zeros(4))
    opt = Rprop([p], lr=0.05, step_sizes=(lo, hi))
    topt = torch.optim.Rprop([tp], lr=0.05, step_sizes=(lo, hi))
    size, prev = np.full(4, 0.05), np.zeros(4)
    flips, at_max, at_min = 0, np.zeros(4, bool), np.zeros(4, bool)
    for step in range(120):
        g = 2 * (p.data - c)
        p.grad, tp.grad = g.copy(), torch.from_numpy(2 * (tp.detach().numpy() - c))
        opt.step()
        topt.step()
        assert_twins_close([p], [tp], 1e-12, f"step {step}")
        # by hand: the product's sign, then the clamp
        s = np.sign(g * prev)
        size = np.clip(size * np.where(s > 0, 1.2, np.where(s < 0, 0.5, 1.0)), lo, hi)
        prev = np.where(s < 0, 0.0, g)
        flips += int(np.sum(s < 0))
        at_max |= size == hi
        at_min |= size == lo
        np.testing.assert_allclose(opt.state[id(p)]["step_size"], size, rtol=1e-15)
        np.testing.assert_array_equal(opt.state[id(p)]["prev"], prev)
    assert flips > 20 and at_max[:2].all() and at_min[:3].all()
    np.testing.assert_allclose(p.data, c, atol=1e-3)
    # weight 3 starts at its minimum: a gradient of 0, no step, its size kept at lr
    assert p.data[3] == 0 and opt.state[id(p)]["step_size"][3] == 0.05


def test_asgd_averages_after_t0_as_torch(torch64):
    """With t0 = 5, ``ax`` follows the parameter through step 7, then is the mean of its
    values after steps 7, ..., t (the test keeps them); ``mu`` is 1 / (t - t0) from there on;
    every step, and ``ax``, as PyTorch's."""
    torch = torch64
    params, tparams = twin_params(torch, np.float64)
    opt = ASGD(params, lr=0.05, lambd=0.2, t0=5.0)
    topt = torch.optim.ASGD(tparams, lr=0.05, lambd=0.2, t0=5.0)
    rng = np.random.default_rng(3)
    seen = []
    for t in range(1, 31):
        give_grads(torch, params, tparams, rng)
        opt.step()
        topt.step()
        seen.append(params[0].data.copy())
        assert_twins_close(params, tparams, 1e-12, f"step {t}")
        state = opt.state[id(params[0])]
        np.testing.assert_allclose(state["ax"], topt.state[tparams[0]]["ax"].numpy(), rtol=1e-12)
        if t <= 7:
            np.testing.assert_array_equal(state["ax"], params[0].data)
        else:
            np.testing.assert_allclose(state["ax"], np.mean(seen[6:], axis=0), rtol=1e-12)
        assert state["mu"] == 1 / max(1, t - 5)
        assert state["eta"] == pytest.approx(0.05 / (1 + 0.2 * 0.05 * t) ** 0.75, rel=1e-15)
    assert not np.allclose(state["ax"], params[0].data)


# --------------------------------------------------------------------------- by hand
def test_adadelta_by_hand(xp):
    """Four steps of Adadelta's formulas, written out in NumPy, on every backend; decay and
    maximize."""
    lr, rho, eps, wd = 0.5, 0.8, 1e-2, 0.2
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))
    opt = Adadelta([p], lr=lr, rho=rho, eps=eps, weight_decay=wd, maximize=True)
    s = u = np.zeros(3)
    for g in ([3.0, -1.0, 0.5], [0.1, 0.2, -0.3], [0.01, 0.0, 0.02], [-1.0, 1.0, 2.0]):
        p.grad = xp.asarray(g)
        opt.step()
        g = -np.array(g) + wd * w
        s = rho * s + (1 - rho) * g * g
        d = np.sqrt(u + eps) / np.sqrt(s + eps) * g
        u = rho * u + (1 - rho) * d * d
        w = w - lr * d
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)
    state = opt.state[id(p)]
    assert state["step"] == 4 and type(state["acc_delta"]) is type(p.data)
    np.testing.assert_allclose(to_np(state["acc_delta"]), u, rtol=1e-14)


def test_asgd_by_hand(xp):
    """Six steps of ASGD's formulas, written out in NumPy, on every backend: the rate decays,
    the average starts at step t0 + 2 = 3."""
    lr, lambd, alpha, t0, wd = 0.2, 0.5, 0.75, 1.0, 0.1
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))
    opt = ASGD([p], lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=wd)
    eta, mu, ax = lr, 1.0, None
    rng = np.random.default_rng(4)
    for t in range(1, 7):
        g = rng.standard_normal(3)
        p.grad = xp.asarray(g)
        opt.step()
        g = g + wd * w
        w = w * (1 - lambd * eta) - eta * g
        ax = w.copy() if mu == 1 else ax + mu * (w - ax)
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)
        np.testing.assert_allclose(to_np(opt.state[id(p)]["ax"]), ax, rtol=1e-14)
    assert mu == 0.2 and eta < lr / 1.3


def test_rprop_by_hand(xp):
    """Five steps of Rprop's formulas, written out in NumPy, on every backend: a flip halves
    the size and takes no step, the step after it no change of size; clamped at both ends."""
    lr, (em, ep), (lo, hi) = 0.1, (0.5, 1.5), (0.04, 0.2)
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))
    opt = Rprop([p], lr=lr, etas=(em, ep), step_sizes=(lo, hi))
    size, prev = np.full(3, lr), np.zeros(3)
    grads = ([1.0, 1.0, -1.0], [2.0, -1.0, -1.0], [3.0, -1.0, 1.0], [1.0, -2.0, -1.0], [1.0, 1.0, 1.0])
    for g in grads:
        p.grad = xp.asarray(g)
        opt.step()
        g = np.array(g)
        s = np.sign(g * prev)
        size = np.clip(size * np.where(s > 0, ep, np.where(s < 0, em, 1.0)), lo, hi)
        g = np.where(s < 0, 0.0, g)
        w = w - np.sign(g) * size
        prev = g
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)
    # by hand: 0.1, 0.15, 0.225 -> 0.2 (the max), ...; 0.1, 0.05, 0.05, 0.075, 0.0375 -> 0.04 (the min)
    np.testing.assert_allclose(to_np(opt.state[id(p)]["step_size"]), [0.2, 0.04, 0.04], rtol=1e-14)


@pytest.mark.parametrize("name", list(_OURS))
def test_float32_is_stepped_in_float32(xp, name):
    """No float64 anywhere: the parameter is updated in place and stays float32, its state
    float32, on its device; NumPy float32 options are made plain floats (JSON-able)."""
    p = nn.Parameter(xp.asarray([1.0, -1.0, 3.0], dtype=np.float32))
    data = p.data
    options = {"Adadelta": {"rho": np.float32(0.9), "weight_decay": 0.1},
               "ASGD": {"lambd": np.float32(0.1), "t0": 2, "weight_decay": 0.1},
               "Rprop": {"etas": (np.float32(0.5), 1.2), "step_sizes": [np.float32(1e-3), 1]}}[name]
    opt = _OURS[name]([p], lr=np.float32(0.1), **options)
    for k in range(7):
        p.grad = xp.asarray([0.5, 2.0 * (-1) ** k, -1.0], dtype=np.float32)
        opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert all(a.dtype == np.float32 and type(a) is type(data)
               for k, a in opt.state[id(p)].items() if k not in ("step", "eta", "mu"))
    json.dumps(opt.state_dict()["groups"])


# -------------------------------------------------------------------------- state dict
@pytest.mark.parametrize("name", list(_OURS))
def test_state_dict_round_trip_resumes_identically(tmp_path, name):
    """Saved after 4 steps (one parameter not stepped yet, one skipped once), through
    minifcn.save / load; a fresh optimizer with other options takes the saved ones and goes
    on bit for bit as the run that went on (ASGD across its t0, its eta and mu floats
    through the file; Rprop's flips across the save)."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    options = {"Adadelta": {"rho": 0.7, "weight_decay": 0.1}, "ASGD": {"t0": 3.0, "lambd": 0.5, "maximize": True},
               "Rprop": {"etas": (0.3, 1.4), "step_sizes": (1e-3, 0.02)}}[name]
    opt = _OURS[name](params, lr=0.01, **options)
    other = {"Adadelta": {"rho": 0.1}, "ASGD": {"t0": 1e6, "lambd": 0.0},
             "Rprop": {"etas": (0.5, 1.2), "step_sizes": (0.0, 1.0)}}[name]
    rng = np.random.default_rng(5)
    # parameter 2 gets its first gradient at step 3
    grads = recorded_grads(torch, params, tparams, rng, 10,
                           skip=lambda step: {2} if step < 3 else {1} if step == 5 else ())
    replay(params, opt, grads, range(4))
    saved = [p.data.copy() for p in params]
    state = save_load({"optimizer": opt.state_dict()}, tmp_path, f"{name}.npz")["optimizer"]
    assert state["state"][0]["step"] == 4 and state["state"][2]["step"] == 1
    if name == "ASGD":
        assert type(state["state"][0]["eta"]) is type(state["state"][0]["mu"]) is float
        assert state["state"][0]["mu"] == 1.0   # step 4 = t0 + 1: still a copy
    replay(params, opt, grads, range(4, 10))

    params2 = [nn.Parameter(w.copy()) for w in saved]
    opt2 = _OURS[name](params2, lr=999.0, **other)
    opt2.load_state_dict(state)
    for k, v in options.items():
        assert opt2.param_groups[0][k] == v, k
    replay(params2, opt2, grads, range(4, 10))
    assert_same_run(params, params2, opt, opt2)
    if name == "ASGD":   # past t0 + 2: an average, not a copy
        assert opt.state[id(params[0])]["mu"] < 1
        assert not np.array_equal(opt.state[id(params[0])]["ax"], params[0].data)


@pytest.mark.parametrize("name", list(_OURS))
def test_schedulers_change_the_rate_as_torch(torch64, name):
    """ExponentialLR's rate reaches each as PyTorch's: Adadelta's step at once, ASGD's eta one
    step late, Rprop's sizes never (lr is read at the first step only); OneCycleLR refuses
    them without cycle_momentum=False (they have no momentum)."""
    torch = torch64
    params, tparams = twin_params(torch, np.float64)
    opt = _OURS[name](params, lr=_LR[name])
    topt = getattr(torch.optim, name)(tparams, lr=_LR[name])
    sched, tsched = lr_scheduler.ExponentialLR(opt, 0.8), torch.optim.lr_scheduler.ExponentialLR(topt, 0.8)
    rng = np.random.default_rng(6)
    for step in range(15):
        give_grads(torch, params, tparams, rng)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")
    with pytest.raises(ValueError, match=f"got a {name}: pass cycle_momentum=False"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name", list(_OURS))
@pytest.mark.parametrize("kwargs, group, error, message", [
    ({"lr": -1e-3}, {}, ValueError, r"{}: lr must be finite and >= 0, got -0.001"),
    ({"lr": float("inf")}, {}, ValueError, r"{}: lr must be finite and >= 0, got inf"),
    ({}, {"lr_mult": -2.0}, ValueError, r"{} \(group 1\): lr_mult must be finite and >= 0, got -2.0"),
    ({"lr": None}, {}, TypeError, r"{}: lr must be a number, got None"),
    ({"maximize": "no"}, {}, TypeError, r"{}: maximize must be a bool, got 'no'"),
])
def test_option_errors_name_the_values(name, kwargs, group, error, message):
    groups = [{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))], **group}]
    with pytest.raises(error, match=message.format(name)):
        _OURS[name](groups, **kwargs)


_OWN_ERRORS = [
    ("Adadelta", {"rho": 1.5}, ValueError, r"Adadelta: rho must be in \[0, 1\], got 1.5"),
    ("Adadelta", {"rho": -0.1}, ValueError, r"Adadelta: rho must be finite and >= 0, got -0.1"),
    ("Adadelta", {"eps": -1e-6}, ValueError, r"Adadelta: eps must be finite and >= 0, got -1e-06"),
    ("Adadelta", {"weight_decay": -0.1}, ValueError, r"Adadelta: weight_decay must be finite and >= 0, got -0.1"),
    ("ASGD", {"weight_decay": -0.1}, ValueError, r"ASGD: weight_decay must be finite and >= 0, got -0.1"),
    ("ASGD", {"lambd": -1e-4}, ValueError, r"ASGD: lambd must be finite and >= 0, got -0.0001"),
    ("ASGD", {"alpha": -0.75}, ValueError, r"ASGD: alpha must be finite and >= 0, got -0.75"),
    ("ASGD", {"t0": float("nan")}, ValueError, r"ASGD: t0 must be finite and >= 0, got nan"),
    ("ASGD", {"t0": "1e6"}, TypeError, r"ASGD: t0 must be a number, got '1e6'"),
    ("Rprop", {"etas": (0.5, 1.0)}, ValueError,
     r"Rprop: etas must be \(etaminus, etaplus\) with 0 < etaminus < 1 < etaplus, finite, got \(0.5, 1.0\)"),
    ("Rprop", {"etas": (0.0, 1.2)}, ValueError, r"Rprop: etas must be .*, got \(0.0, 1.2\)"),
    ("Rprop", {"etas": (0.5, float("inf"))}, ValueError, r"Rprop: etas must be .*, got \(0.5, inf\)"),
    ("Rprop", {"etas": 0.5}, TypeError, r"Rprop: etas must be a pair of numbers \(etaminus, etaplus\), got 0.5"),
    ("Rprop", {"step_sizes": (1.0, 0.1)}, ValueError,
     r"Rprop: step_sizes must be \(min, max\) with 0 <= min <= max, finite, got \(1.0, 0.1\)"),
    ("Rprop", {"step_sizes": (-1e-6, 50)}, ValueError, r"Rprop: step_sizes must be .*, got \(-1e-06, 50.0\)"),
    ("Rprop", {"step_sizes": (1e-6, None)}, TypeError, r"Rprop: step_sizes must be a number, got None"),
]


@pytest.mark.parametrize("name, kwargs, error, message", _OWN_ERRORS)
def test_own_option_errors_name_the_values(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        _OURS[name]([nn.Parameter(np.ones(1))], **kwargs)
    with pytest.raises(error, match=message.replace(f"{name}:", rf"{name}.load_state_dict \(group 0\):")):
        opt = _OURS[name]([nn.Parameter(np.ones(1))])
        state = opt.state_dict()
        state["groups"][0].update(kwargs)
        opt.load_state_dict(state)
    with pytest.raises(error, match=message.replace(f"{name}:", rf"{name}.add_param_group \(group 1\):")):
        _OURS[name]([nn.Parameter(np.ones(1))]).add_param_group({"params": [nn.Parameter(np.ones(1))], **kwargs})


def test_torch_refuses_the_values_refused():
    """The options that PyTorch checks are its ValueErrors too; lambd, alpha, t0 and
    step_sizes, which it does not check, are refused here only (the differences kept)."""
    torch = pytest.importorskip("torch")
    cases = {"Adadelta": [{"lr": -1e-3}, {"rho": 1.5}, {"eps": -1e-6}, {"weight_decay": -0.1}],
             "ASGD": [{"lr": -1e-3}, {"weight_decay": -0.1}],
             "Rprop": [{"lr": -1e-3}, {"etas": (0.5, 1.0)}, {"etas": (0.0, 1.2)}]}
    for name, kwargs_list in cases.items():
        for kwargs in kwargs_list:
            with pytest.raises(ValueError, match="Invalid"):
                getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))], **kwargs)
            with pytest.raises(ValueError, match=name):
                _OURS[name]([nn.Parameter(np.ones(1))], **kwargs)
    for name, kwargs in (("ASGD", {"lambd": -1e-4}), ("ASGD", {"t0": -1.0}), ("Rprop", {"step_sizes": (1.0, 0.1)})):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))], **kwargs)
        with pytest.raises(ValueError, match=name):
            _OURS[name]([nn.Parameter(np.ones(1))], **kwargs)


def test_found_in_minifcn_optim_and_named_in_the_docstrings():
    assert (optim.Adadelta, optim.ASGD, optim.Rprop) == (Adadelta, ASGD, Rprop)
    doc = optim.Optimizer.__doc__.split("``torch.optim.Optimizer``")[0]
    for name in _OURS:
        assert f":class:`{name}`" in doc, name
        assert name in lr_scheduler.__doc__.split("A group's")[0], name
    assert minifcn.optim_classic.__name__ == "minifcn.optim_classic"


def test_rprop_skips_a_nan_gradient_as_pytorchs():
    """A NaN gradient: PyTorch's sign gives 0 there, so that weight does not move and its step
    size stays; NumPy's sign had written NaN into the weight (a reviewer found it)."""
    torch = pytest.importorskip("torch")
    p = nn.Parameter(np.zeros(2))
    pt = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    ours, theirs = Rprop([p], lr=0.1), torch.optim.Rprop([pt], lr=0.1)
    for g in ([1.0, np.nan], [1.0, 1.0], [-1.0, 1.0]):
        p.grad = np.array(g)
        pt.grad = torch.tensor(g, dtype=torch.float64)
        ours.step()
        theirs.step()
        np.testing.assert_array_equal(p.numpy(), pt.detach().numpy())
    assert np.isfinite(p.numpy()).all()
