"""NAdam, RAdam and Adamax against PyTorch (every option, groups, skipped parameters, float64
and float32, 60 steps), by hand on every backend, through their state dicts mid-run
(minifcn.save / minifcn.load), and their errors."""
import json

import numpy as np
import pytest

import minifcn
from minifcn import nn, optim
from minifcn.optim import Adamax, NAdam, RAdam, lr_scheduler
from oracle import to_np
from optim_twins import (assert_same_run, assert_twins_close, give_grads, recorded_grads, replay, save_load,
                         step_through, twin_params)


pytestmark = pytest.mark.usefixtures("host_default_device")

_OURS = {"NAdam": NAdam, "RAdam": RAdam, "Adamax": Adamax}


def _assert_state_like_torch(opt, topt, params, tparams, rtol, atol=0.0):
    for k, (p, tp) in enumerate(zip(params, tparams)):
        ours, theirs = opt.state[id(p)], topt.state[tp]
        assert sorted(ours) == sorted(theirs), k
        for key, v in ours.items():
            if key == "step":
                assert v == int(theirs["step"]), k
            elif key == "mu_product":
                assert isinstance(v, float)
                # PyTorch's is a tensor of its default dtype: in float32 each of the 60 products
                # is rounded (half an ulp, 6e-8, each), here none (a float64)
                tol = rtol if theirs[key].element_size() == 8 else 60 * 6e-8
                np.testing.assert_allclose(v, theirs[key].item(), rtol=tol)
            else:
                assert v.dtype == p.dtype, (k, key)
                np.testing.assert_allclose(to_np(v), theirs[key].numpy(), rtol=rtol, atol=atol, err_msg=f"{k} {key}")


_OPTIONS = {   # ids: the options' names
    "NAdam": [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
              {"momentum_decay": 0.05, "maximize": True}, {"betas": (0.5, 0.9), "eps": 1e-3},
              {"betas": (0.0, 0.5), "momentum_decay": 0.0}],
    "RAdam": [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
              {"maximize": True, "eps": 1e-3},
              {"betas": (0.8, 0.5)},   # rho_inf = 3: every step is momentum's, never rectified
              {"betas": (0.0, 0.9)}],   # rho_inf = 19: rectified from step 6 on
    "Adamax": [{}, {"weight_decay": 0.1}, {"maximize": True}, {"betas": (0.5, 0.9), "eps": 1e-2},
               {"betas": (0.0, 0.3)}],
}
_CASES = [(name, o) for name, options in _OPTIONS.items() for o in options]


# float32: PyTorch's sqrt and fused multiply-adds round other than NumPy's, by an ulp; a few
# ulps of a unit-sized value, absolute, where a parameter crosses 0 (test_adam's reason), and
# NAdam's mu_product rounded to float32 there (1e-7 relative, of a term of the step)
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 0.0), (np.float32, 2e-5, 1e-6)])
@pytest.mark.parametrize("name, options", _CASES, ids=[f"{n}-{','.join(o) or 'defaults'}" for n, o in _CASES])
def test_matches_torch_over_60_steps(name, options, dtype, rtol, atol):
    """Step by step, parameter 1 left without a gradient at steps 3, 4 and 17 (its count of
    steps, on which the corrections depend, lags: PyTorch's too); the state at the end. float32
    stays float32 in every state, as there; float64 runs PyTorch with float64 as its default."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        params, tparams = twin_params(torch, dtype)
        opt = _OURS[name](params, lr=0.01, **options)
        topt = getattr(torch.optim, name)(tparams, lr=0.01, **options)
        rng = np.random.default_rng(1)
        for step in range(60):
            give_grads(torch, params, tparams, rng, skip={1} if step in (3, 4, 17) else ())
            opt.step()
            topt.step()
            assert_twins_close(params, tparams, rtol, f"step {step}", atol)
            assert all(p.data.dtype == dtype for p in params)
        _assert_state_like_torch(opt, topt, params, tparams, rtol, atol)
    finally:
        torch.set_default_dtype(before)
    assert opt.state[id(params[1])]["step"] == 57 and opt.state[id(params[0])]["step"] == 60


@pytest.mark.parametrize("name", list(_OURS))
def test_groups_with_their_own_options_match_torch(torch64, name):
    """Three groups: the defaults; their own betas, weight decay (NAdam's and RAdam's
    decoupled) and FCN's lr_mult (2x the lr is PyTorch's own lr at 2x); their own lr, eps,
    maximize (and NAdam's momentum_decay). Group 2 starts at step 1."""
    torch = torch64
    params, tparams = twin_params(torch, np.float64)
    own = {"betas": (0.8, 0.99), "weight_decay": 0.3}
    last = {"lr": 0.05, "eps": 1e-2, "maximize": True}
    if name != "Adamax":
        own["decoupled_weight_decay"] = True
    if name == "NAdam":
        last["momentum_decay"] = 0.02
    opt = _OURS[name]([{"params": params[:1]}, {"params": params[1:2], "lr_mult": 2.0, **own},
                       {"params": params[2:], **last}], lr=0.01)
    topt = getattr(torch.optim, name)([{"params": tparams[:1]}, {"params": tparams[1:2], "lr": 0.02, **own},
                                       {"params": tparams[2:], **last}], lr=0.01)
    rng = np.random.default_rng(2)
    for step in range(30):
        give_grads(torch, params, tparams, rng, skip={2} if step == 0 else ())
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")
    _assert_state_like_torch(opt, topt, params, tparams, 1e-12)


def test_defaults_are_torchs():
    """The defaults PyTorch's constructors take (the signatures read, not copied)."""
    torch = pytest.importorskip("torch")
    import inspect
    for name, ours in _OURS.items():
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for arg, p in inspect.signature(ours).parameters.items():
            if arg != "params":
                assert p.default == theirs[arg].default, (name, arg)
                assert (p.kind == p.KEYWORD_ONLY) == (theirs[arg].kind == p.KEYWORD_ONLY), (name, arg)
    assert NAdam([nn.Parameter(np.ones(1))]).param_groups[0]["lr"] == 2e-3


# --------------------------------------------------------------------------- by hand
def test_nadam_by_hand(xp):
    """Four steps of NAdam's formulas (Dozat's schedule of momenta, PyTorch's form), written
    out in NumPy, on every backend; L2 decay and decoupled."""
    lr, (b1, b2), eps, wd, psi = 0.1, (0.9, 0.99), 1e-3, 0.2, 0.1
    for decoupled in (False, True):
        w = np.array([1.0, -2.0, 0.5])
        p = nn.Parameter(xp.array(w))
        opt = NAdam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, momentum_decay=psi,
                    decoupled_weight_decay=decoupled)
        m = v = np.zeros(3)
        prod = 1.0
        for t, g in enumerate(([3.0, -1.0, 0.5], [0.1, 0.2, -0.3], [0.01, 0.0, 0.02], [-1.0, 1.0, 2.0]), start=1):
            p.grad = xp.asarray(g)
            opt.step()
            g = np.array(g)
            if decoupled:
                w = w * (1 - lr * wd)
            else:
                g = g + wd * w
            mu, mu_next = (b1 * (1 - 0.5 * 0.96 ** (k * psi)) for k in (t, t + 1))
            prod *= mu
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            d = np.sqrt(v / (1 - b2 ** t)) + eps
            w = w - lr * (1 - mu) / (1 - prod) * g / d - lr * mu_next / (1 - prod * mu_next) * m / d
            np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)
        state = opt.state[id(p)]
        assert state["step"] == 4 and type(state["exp_avg"]) is type(p.data)
        np.testing.assert_allclose(state["mu_product"], prod, rtol=1e-15)


def test_radam_by_hand(xp):
    """Eight steps of RAdam's formulas, written out in NumPy, on every backend: with beta2 0.9,
    rho_inf is 19, and the steps are momentum's while rho <= 5 (steps 1 to 5: rho is 1,
    1.95, 2.86, 3.74, 4.58), rectified after (5.39 at step 6)."""
    lr, (b1, b2), eps, wd = 0.1, (0.8, 0.9), 1e-3, 0.2
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))
    opt = RAdam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    m = v = np.zeros(3)
    rect = []
    rng = np.random.default_rng(3)
    for t in range(1, 9):
        g = rng.standard_normal(3)
        p.grad = xp.asarray(g)
        opt.step()
        g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        mhat = m / (1 - b1 ** t)
        rect.append(rho > 5)
        if rho > 5:
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            w = w - lr * mhat * r * np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
        else:
            w = w - lr * mhat
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)
    assert rect == [False] * 5 + [True] * 3


def test_adamax_by_hand(xp):
    """Four steps of Adamax's formulas, written out in NumPy, on every backend; a gradient that
    shrinks, so that the decayed maximum (not the latest |g|) is what divides."""
    lr, (b1, b2), eps, wd = 0.1, (0.9, 0.8), 1e-3, 0.2
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))
    opt = Adamax([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    m = u = np.zeros(3)
    held = []
    for t, g in enumerate(([3.0, -1.0, 0.5], [0.1, 0.2, -0.3], [0.01, 0.0, 0.02], [-1.0, 1.0, 2.0]), start=1):
        p.grad = xp.asarray(g)
        opt.step()
        g = np.array(g) + wd * w
        m = b1 * m + (1 - b1) * g
        held.append(b2 * u > np.abs(g) + eps)
        u = np.maximum(b2 * u, np.abs(g) + eps)
        w = w - lr / (1 - b1 ** t) * m / u
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)
    assert np.any(held)   # the decayed maximum mattered
    assert sorted(opt.state[id(p)]) == ["exp_avg", "exp_inf", "step"]


@pytest.mark.parametrize("name", list(_OURS))
def test_float32_is_stepped_in_float32(xp, name):
    """No float64 anywhere: the parameter is updated in place and stays float32, its state
    float32, on its device; NumPy float32 options are made plain floats (JSON-able)."""
    p = nn.Parameter(xp.asarray([1.0, -1.0, 3.0], dtype=np.float32))
    data = p.data
    opt = _OURS[name]([p], lr=np.float32(0.1), betas=(np.float32(0.9), 0.999), weight_decay=0.1)
    for _ in range(7):   # RAdam's rectified steps from the 6th
        p.grad = xp.asarray([0.5, 2.0, -1.0], dtype=np.float32)
        opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert all(a.dtype == np.float32 and type(a) is type(data)
               for k, a in opt.state[id(p)].items() if k not in ("step", "mu_product"))
    json.dumps(opt.state_dict()["groups"])


# -------------------------------------------------------------------------- state dict
@pytest.mark.parametrize("name", list(_OURS))
def test_state_dict_round_trip_resumes_identically(tmp_path, name):
    """Saved after 4 steps (one parameter not stepped yet, one skipped once), through
    minifcn.save / load; a fresh optimizer with other options takes the saved ones and goes
    on bit for bit as the run that went on (RAdam across its switch to rectified steps,
    NAdam's mu_product a float through the file)."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    options = {"NAdam": {"momentum_decay": 0.01, "decoupled_weight_decay": True}, "RAdam": {},
               "Adamax": {"maximize": True}}[name]
    opt = _OURS[name](params, lr=0.01, weight_decay=0.1, **options)
    rng = np.random.default_rng(4)
    # parameter 2 gets its first gradient at step 3
    grads = recorded_grads(torch, params, tparams, rng, 10,
                           skip=lambda step: {2} if step < 3 else {1} if step == 5 else ())
    replay(params, opt, grads, range(4))
    saved = [p.data.copy() for p in params]
    state = save_load({"optimizer": opt.state_dict()}, tmp_path, f"{name}.npz")["optimizer"]
    assert state["state"][0]["step"] == 4 and state["state"][2]["step"] == 1
    if name == "NAdam":
        assert type(state["state"][0]["mu_product"]) is float
    replay(params, opt, grads, range(4, 10))

    params2 = [nn.Parameter(w.copy()) for w in saved]
    opt2 = _OURS[name](params2, lr=999.0, betas=(0.5, 0.5))
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999) and opt2.param_groups[0]["weight_decay"] == 0.1
    replay(params2, opt2, grads, range(4, 10))
    assert_same_run(params, params2, opt, opt2)


def test_nadam_state_loads_in_the_parameters_dtype(xp):
    """A float64 state loaded for float32 parameters gives float32 moments on their device;
    mu_product stays a float."""
    p64 = nn.Parameter(np.ones(3))
    opt64 = NAdam([p64])
    p64.grad = np.full(3, 0.5)
    opt64.step()
    p32 = nn.Parameter(xp.ones(3, dtype=np.float32))
    opt32 = NAdam([p32])
    opt32.load_state_dict(opt64.state_dict())
    state = opt32.state[id(p32)]
    assert state["step"] == 1 and state["mu_product"] == opt64.state[id(p64)]["mu_product"] < 1
    for k in ("exp_avg", "exp_avg_sq"):
        assert state[k].dtype == np.float32 and type(state[k]) is type(p32.data), k


def test_a_zero_dim_parameter_state_round_trips(tmp_path):
    """A 0-d parameter's moments are 0-d arrays, which load as arrays (not as floats, as
    NAdam's mu_product does)."""
    p = nn.Parameter(np.array(2.0))
    opt = NAdam([p], lr=0.1)
    p.grad = np.array(1.0)
    opt.step()
    state = save_load(opt.state_dict(), tmp_path, "zero.npz")
    q = nn.Parameter(p.data.copy())
    opt2 = NAdam([q], lr=0.1)
    opt2.load_state_dict(state)
    assert isinstance(opt2.state[id(q)]["exp_avg"], np.ndarray)
    p.grad = q.grad = np.array(-0.5)
    opt.step()
    opt2.step()
    assert q.data == p.data


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax"])
def test_one_cycle_cycles_beta1_and_resumes(torch64, tmp_path, name):
    """OneCycleLR cycles beta1 of Adam's relatives as Adam's (the same betas), as PyTorch's;
    saved and loaded mid-run (optimizer and scheduler), the run goes on identically."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    opt, topt = _OURS[name](params, lr=0.01), getattr(torch.optim, name)(tparams, lr=0.01)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=12)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=12)
    rng = np.random.default_rng(6)
    grads = recorded_grads(torch, params, tparams, rng, 12)
    for i in range(12):
        for p, tp, g in zip(params, tparams, grads[i]):
            p.grad, tp.grad = g, torch.from_numpy(g)
        if i == 5:
            ck = save_load({"opt": opt.state_dict(), "sched": sched.state_dict(),
                            "params": [p.data.copy() for p in params]}, tmp_path, "oc.npz")
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert opt.param_groups[0]["betas"] == topt.param_groups[0]["betas"], i
        assert_twins_close(params, tparams, 1e-12, f"step {i}")
    params2 = [nn.Parameter(w) for w in ck["params"]]
    opt2 = _OURS[name](params2, lr=0.01)
    sched2 = lr_scheduler.OneCycleLR(opt2, max_lr=0.05, total_steps=12)
    opt2.load_state_dict(ck["opt"])
    sched2.load_state_dict(ck["sched"])
    step_through(params2, opt2, sched2, grads, range(5, 12))
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(q.data, p.data)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name", list(_OURS))
@pytest.mark.parametrize("kwargs, group, error, message", [
    ({"lr": -1e-3}, {}, ValueError, r"{}: lr must be finite and >= 0, got -0.001"),
    ({"lr": float("inf")}, {}, ValueError, r"{}: lr must be finite and >= 0, got inf"),
    ({"eps": -1e-8}, {}, ValueError, r"{}: eps must be finite and >= 0, got -1e-08"),
    ({"weight_decay": -0.1}, {}, ValueError, r"{}: weight_decay must be finite and >= 0, got -0.1"),
    ({"betas": (1.0, 0.999)}, {}, ValueError, r"{}: betas must be in \[0, 1\), got \(1.0, 0.999\)"),
    ({}, {"betas": (0.9, float("nan"))}, ValueError, r"{} \(group 1\): betas must be in \[0, 1\), got \(0.9, nan\)"),
    ({}, {"lr_mult": -2.0}, ValueError, r"{} \(group 1\): lr_mult must be finite and >= 0, got -2.0"),
    ({"betas": 0.9}, {}, TypeError, r"{}: betas must be a pair of numbers \(beta1, beta2\), got 0.9"),
    ({"eps": None}, {}, TypeError, r"{}: eps must be a number, got None"),
    ({"maximize": "no"}, {}, TypeError, r"{}: maximize must be a bool, got 'no'"),
])
def test_option_errors_name_the_values(name, kwargs, group, error, message):
    groups = [{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))], **group}]
    with pytest.raises(error, match=message.format(name)):
        _OURS[name](groups, **kwargs)


@pytest.mark.parametrize("name, kwargs, error, message", [
    ("NAdam", {"momentum_decay": -0.004}, ValueError, r"NAdam: momentum_decay must be finite and >= 0, got -0.004"),
    ("NAdam", {"momentum_decay": "0.004"}, TypeError, r"NAdam: momentum_decay must be a number, got '0.004'"),
    ("NAdam", {"decoupled_weight_decay": "yes"}, TypeError, r"NAdam: decoupled_weight_decay must be a bool, got 'yes'"),
    ("RAdam", {"decoupled_weight_decay": 2}, TypeError, r"RAdam: decoupled_weight_decay must be a bool, got 2"),
])
def test_own_option_errors_name_the_values(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        _OURS[name]([nn.Parameter(np.ones(1))], **kwargs)
    with pytest.raises(error, match=message.replace(f"{name}:", rf"{name}.load_state_dict \(group 0\):")):
        opt = _OURS[name]([nn.Parameter(np.ones(1))])
        state = opt.state_dict()
        state["groups"][0].update(kwargs)
        opt.load_state_dict(state)


def test_adamax_has_no_decoupled_weight_decay_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.optim.Adamax([torch.nn.Parameter(torch.ones(1))], decoupled_weight_decay=True)
    with pytest.raises(TypeError, match="decoupled_weight_decay"):
        Adamax([nn.Parameter(np.ones(1))], decoupled_weight_decay=True)


def test_torch_refuses_the_values_refused():
    """The negative options refused above are PyTorch's ValueErrors too."""
    torch = pytest.importorskip("torch")
    for name in _OURS:
        cases = [{"lr": -1e-3}, {"eps": -1e-8}, {"weight_decay": -0.1}, {"betas": (1.0, 0.999)}]
        if name == "NAdam":
            cases.append({"momentum_decay": -0.004})
        for kwargs in cases:
            with pytest.raises(ValueError, match="Invalid"):
                getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))], **kwargs)
            with pytest.raises(ValueError, match=name):
                _OURS[name]([nn.Parameter(np.ones(1))], **kwargs)


def test_found_in_minifcn_optim():
    assert (optim.NAdam, optim.RAdam, optim.Adamax) == (NAdam, RAdam, Adamax)
    assert minifcn.optim.LBFGS.__name__ == "LBFGS"


def test_optimizer_docstring_names_every_subclass():
    # it named SGD, Adam, AdamW, RMSprop and Adagrad only, after NAdam, RAdam, Adamax and LBFGS came
    found = {name for name in dir(optim) if isinstance(getattr(optim, name), type)
             and issubclass(getattr(optim, name), optim.Optimizer) and name != "Optimizer"}
    assert {"NAdam", "RAdam", "Adamax", "LBFGS", "SGD"} <= found
    doc = optim.Optimizer.__doc__.split("``torch.optim.Optimizer``")[0]   # the opening sentence
    assert {name for name in found if f":class:`{name}`" in doc} == found
