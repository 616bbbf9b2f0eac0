"""Adam and AdamW against PyTorch (every option, groups, skipped parameters, float64 and
float32) and by hand on every backend; their state dict, errors and schedulers on them."""
import json
import warnings

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, nn
from minifcn.optim import SGD, Adam, AdamW, fcn_param_groups, lr_scheduler
from oracle import to_np
from optim_twins import assert_same_run, assert_twins_close, give_grads, recorded_grads, replay, twin_params


pytestmark = pytest.mark.usefixtures("host_default_device")

_OURS = {"Adam": Adam, "AdamW": AdamW}


def _assert_state_like_torch(opt, topt, params, tparams, rtol, atol=0.0):
    for k, (p, tp) in enumerate(zip(params, tparams)):
        ours, theirs = opt.state.get(id(p), {}), topt.state[tp]
        assert sorted(ours) == sorted(theirs), k   # max_exp_avg_sq with amsgrad only
        for key, v in ours.items():
            if key == "step":
                assert v == int(theirs["step"]), k
            else:
                assert v.dtype == p.dtype, (k, key)
                np.testing.assert_allclose(to_np(v), theirs[key].numpy(), rtol=rtol, atol=atol, err_msg=f"{k} {key}")


_OPTIONS = [   # ids: the options' names
    {},
    {"weight_decay": 0.1},
    {"amsgrad": True},
    {"maximize": True},
    {"weight_decay": 0.05, "amsgrad": True, "maximize": True},
    {"betas": (0.5, 0.9), "eps": 1e-3},   # an eps that counts: added after the corrected root
    {"betas": (0.0, 0.5)},   # beta1 0: m = g (PyTorch's lerp takes its other branch)
]


# float32: PyTorch's sqrt and fused multiply-adds round other than NumPy's, by an ulp; a few
# ulps of a unit-sized value, absolute, where a parameter crosses 0
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 0.0), (np.float32, 2e-5, 1e-6)])
@pytest.mark.parametrize("options", _OPTIONS, ids=lambda o: ",".join(o) or "defaults")
@pytest.mark.parametrize("name", list(_OURS))
def test_adam_matches_torch_over_40_steps(name, options, dtype, rtol, atol):
    """Step by step, with parameter 1 left without a gradient at steps 3, 4 and 17 (its
    step count, on which the bias correction depends, then lags the others': PyTorch's too);
    the moments and counts at the end. float32 stays float32 in every state, as there."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, dtype)
    opt = _OURS[name](params, lr=0.01, **options)
    topt = getattr(torch.optim, name)(tparams, lr=0.01, **options)
    rng = np.random.default_rng(1)
    for step in range(40):
        give_grads(torch, params, tparams, rng, skip={1} if step in (3, 4, 17) else ())
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, rtol, f"step {step}", atol)
        assert all(p.data.dtype == dtype for p in params)
    _assert_state_like_torch(opt, topt, params, tparams, rtol, atol)
    assert opt.state[id(params[1])]["step"] == 37 and opt.state[id(params[0])]["step"] == 40


@pytest.mark.parametrize("name", list(_OURS))
def test_adam_groups_with_their_own_options_match_torch(name):
    """Three groups: the defaults; their own lr, betas, amsgrad and weight decay; their own
    eps and maximize. And FCN's lr_mult: 2x the lr is PyTorch's own lr at 2x."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    own = {"betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.3}
    opt = _OURS[name]([{"params": params[:1]},
                       {"params": params[1:2], "lr_mult": 2.0, **own},
                       {"params": params[2:], "lr": 0.05, "eps": 1e-2, "maximize": True}], lr=0.01)
    topt = getattr(torch.optim, name)([{"params": tparams[:1]},
                                       {"params": tparams[1:2], "lr": 0.02, **own},
                                       {"params": tparams[2:], "lr": 0.05, "eps": 1e-2, "maximize": True}], lr=0.01)
    rng = np.random.default_rng(2)
    for step in range(30):
        give_grads(torch, params, tparams, rng, skip={2} if step == 0 else ())   # group 2 starts late
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")
    _assert_state_like_torch(opt, topt, params, tparams, 1e-12)


def test_adam_trains_a_net_as_torch():
    """The tiny FCN-like net of test_optim, FCN's groups (biases 2x, no decay), 6 steps on
    real losses: the gradients themselves are ours and PyTorch's, equal to ~1e-15."""
    torch = pytest.importorskip("torch")
    minifcn.manual_seed(0)
    net = nn.Sequential(conv1=nn.Conv2d(2, 3, 3, padding=1), relu=nn.ReLU(), score=nn.Conv2d(3, 4, 1)).astype(np.float64)
    tnet = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(3, 4, 1)).double()
    with torch.no_grad():
        for p, tp in zip(net.parameters(), tnet.parameters()):
            tp.copy_(torch.from_numpy(to_np(p.data)))
    tparams = dict(tnet.named_parameters())
    opt = AdamW(fcn_param_groups(net, weight_decay=0.01), lr=1e-2)
    topt = torch.optim.AdamW([{"params": [p for n, p in tparams.items() if n.endswith("weight")], "weight_decay": 0.01},
                              {"params": [p for n, p in tparams.items() if n.endswith("bias")], "lr": 2e-2,
                               "weight_decay": 0.0}], lr=1e-2)
    rng = np.random.default_rng(3)
    for _ in range(6):
        x, t = rng.standard_normal((2, 2, 5, 5)), rng.integers(0, 4, size=(2, 5, 5))
        opt.zero_grad()
        F.cross_entropy(net(Tensor(x)), t, reduction="sum").backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(t), reduction="sum").backward()
        topt.step()
    for (name, p), tp in zip(net.named_parameters(), tnet.parameters()):
        np.testing.assert_allclose(to_np(p.data), tp.detach().numpy(), rtol=1e-10, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_by_hand(xp, decoupled):
    """Three steps of the formulas, written out in NumPy, on every backend; amsgrad with a
    gradient that shrinks, so that the max of the second moments is what divides."""
    lr, (b1, b2), eps, wd = 0.1, (0.9, 0.99), 1e-8, 0.2
    w = np.array([1.0, -2.0, 0.5])
    p = nn.Parameter(xp.array(w))   # a copy: w is the reference
    opt = (AdamW if decoupled else Adam)([p], lr=lr, betas=(b1, b2), weight_decay=wd, amsgrad=True)
    m = v = vmax = np.zeros(3)
    for t, g in enumerate(([3.0, -1.0, 0.5], [0.1, 0.2, -0.3], [0.01, 0.0, 0.02]), start=1):
        p.grad = xp.asarray(g)
        opt.step()
        g = np.array(g)
        if decoupled:
            w = w * (1 - lr * wd)
        else:
            g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        w = w - lr / (1 - b1 ** t) * m / (np.sqrt(vmax) / np.sqrt(1 - b2 ** t) + eps)
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)
    assert (vmax > v).any()   # the max mattered
    state = opt.state[id(p)]
    assert type(state["exp_avg"]) is type(p.data) and state["step"] == 3   # on the parameter's device


def test_adam_steps_float32_in_float32(xp):
    """No float64 anywhere: the parameter is updated in place and stays float32, its moments
    are float32, on its device; float64 gradients of a float32 parameter are PyTorch's error,
    not tested here."""
    p = nn.Parameter(xp.asarray([1.0, -1.0, 3.0], dtype=np.float32))
    data = p.data
    opt = AdamW([p], lr=np.float32(0.1), betas=(np.float32(0.9), 0.999), weight_decay=0.1, amsgrad=True)
    for _ in range(3):
        p.grad = xp.asarray([0.5, 2.0, -1.0], dtype=np.float32)
        opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert all(a.dtype == np.float32 and type(a) is type(data)
               for k, a in opt.state[id(p)].items() if k != "step")
    json.dumps(opt.state_dict()["groups"])   # NumPy float32 options made plain floats
    assert opt.param_groups[0]["betas"] == (float(np.float32(0.9)), 0.999)


def test_adam_state_dict_round_trip_resumes_identically():
    """Saved after 3 steps (one parameter never stepped yet, one skipped once), through JSON
    for the options; a fresh optimizer with other options takes the saved ones and goes on
    bit for bit as the run that went on. The saved state is a snapshot: steps after do not
    change it."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    opt = Adam(params, lr=0.01, amsgrad=True, weight_decay=0.1)
    rng = np.random.default_rng(4)
    # parameter 2 gets its first gradient at step 3
    grads = recorded_grads(torch, params, tparams, rng, 6,
                           skip=lambda step: {2} if step < 3 else {1} if step == 4 else ())
    replay(params, opt, grads, range(3))
    saved = [p.data.copy() for p in params]
    state = opt.state_dict()
    state["groups"] = json.loads(json.dumps(state["groups"]))
    before = {k: v.copy() for k, v in state["state"][0].items() if k != "step"}
    assert state["state"][2] is None and state["state"][0]["step"] == 3
    replay(params, opt, grads, range(3, 6))
    for k, v in before.items():
        np.testing.assert_array_equal(state["state"][0][k], v)   # not moved by the steps after

    params2 = [nn.Parameter(w.copy()) for w in saved]
    opt2 = Adam(params2, lr=999.0, betas=(0.5, 0.5))
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999) and opt2.param_groups[0]["amsgrad"] is True
    replay(params2, opt2, grads, range(3, 6))
    assert_same_run(params, params2)
    for k in opt.state[id(params[1])]:
        np.testing.assert_array_equal(opt2.state[id(params2[1])][k], opt.state[id(params[1])][k])
    for k, v in before.items():   # loaded as copies: opt2's steps did not move the dict's arrays
        np.testing.assert_array_equal(state["state"][0][k], v)


def test_adam_state_loads_in_the_parameters_dtype(xp):
    """As PyTorch's: a float64 state loaded for float32 parameters gives float32 moments, on
    the parameters' device."""
    p64 = nn.Parameter(np.ones(3))
    opt64 = Adam([p64], amsgrad=True)
    p64.grad = np.full(3, 0.5)
    opt64.step()
    p32 = nn.Parameter(xp.ones(3, dtype=np.float32))
    opt32 = Adam([p32])
    opt32.load_state_dict(opt64.state_dict())
    state = opt32.state[id(p32)]
    assert state["step"] == 1 and opt32.param_groups[0]["amsgrad"] is True
    for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert state[k].dtype == np.float32 and type(state[k]) is type(p32.data), k
    p32.grad = xp.full(3, 0.5, dtype=np.float32)
    opt32.step()
    assert p32.data.dtype == np.float32


def test_adam_load_state_dict_checks_before_changing_anything():
    p = nn.Parameter(np.ones(3))
    opt = Adam([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    sgd = SGD([nn.Parameter(np.ones(3))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: the state has no 'state' \(is it another "
                                         r"optimizer's\? it has 'base_lr', 'groups', 'velocity'\)"):
        opt.load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="SGD.load_state_dict: the state has no 'velocity'"):
        sgd.load_state_dict(opt.state_dict())
    other = Adam([nn.Parameter(np.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: parameter 0's exp_avg has shape \(3,\), "
                                         r"the parameter \(2,\)"):
        other.load_state_dict(opt.state_dict())
    bad = opt.state_dict()
    bad["groups"][0]["betas"] = [0.9, 1.0]
    bad["base_lr"] = 5.0
    with pytest.raises(ValueError, match=r"Adam.load_state_dict \(group 0\): betas must be in \[0, 1\), got \(0.9, 1.0\)"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999) and opt.base_lr == 0.1 and opt.state[id(p)]["step"] == 1


@pytest.mark.parametrize("name", list(_OURS))
@pytest.mark.parametrize("kwargs, group, error, message", [
    ({"lr": -1e-3}, {}, ValueError, r"{}: lr must be finite and >= 0, got -0.001"),
    ({"lr": float("nan")}, {}, ValueError, r"{}: lr must be finite and >= 0, got nan"),
    ({"eps": -1e-8}, {}, ValueError, r"{}: eps must be finite and >= 0, got -1e-08"),
    ({"weight_decay": -0.1}, {}, ValueError, r"{}: weight_decay must be finite and >= 0, got -0.1"),
    ({"betas": (1.0, 0.999)}, {}, ValueError, r"{}: betas must be in \[0, 1\), got \(1.0, 0.999\)"),
    ({"betas": (0.9, -0.1)}, {}, ValueError, r"{}: betas must be in \[0, 1\), got \(0.9, -0.1\)"),
    ({}, {"betas": (0.9, 1.5)}, ValueError, r"{} \(group 1\): betas must be in \[0, 1\), got \(0.9, 1.5\)"),
    ({}, {"lr": -1.0}, ValueError, r"{} \(group 1\): lr must be finite and >= 0, got -1.0"),
    ({}, {"lr_mult": -2.0}, ValueError, r"{} \(group 1\): lr_mult must be finite and >= 0, got -2.0"),
    ({"betas": 0.9}, {}, TypeError, r"{}: betas must be a pair of numbers \(beta1, beta2\), got 0.9"),
    ({"betas": ("0.9", 0.999)}, {}, TypeError, r"{}: betas must be a number, got '0.9'"),
    ({"amsgrad": "False"}, {}, TypeError, r"{}: amsgrad must be a bool, got 'False'"),
    ({"maximize": None}, {}, TypeError, r"{}: maximize must be a bool, got None"),
    ({"eps": None}, {}, TypeError, r"{}: eps must be a number, got None"),
])
def test_adam_option_errors_name_the_values(name, kwargs, group, error, message):
    groups = [{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))], **group}]
    with pytest.raises(error, match=message.format(name)):
        _OURS[name](groups, **kwargs)


def test_torch_refuses_the_values_adam_refuses():
    """The ValueErrors above are PyTorch's too (it names them its own way)."""
    torch = pytest.importorskip("torch")
    for kwargs in ({"lr": -1e-3}, {"eps": -1e-8}, {"weight_decay": -0.1}, {"betas": (1.0, 0.999)},
                   {"betas": (0.9, -0.1)}):
        with pytest.raises(ValueError, match="Invalid"):
            torch.optim.Adam([torch.nn.Parameter(torch.ones(1))], **kwargs)


def test_adam_shares_sgds_rules_for_params_frozen_and_listed():
    p = nn.Parameter(np.ones((3, 2)))
    with pytest.raises(TypeError, match="Adam: params must be an iterable .* wrap it in a list"):
        Adam(p)
    with pytest.raises(ValueError, match="AdamW: a parameter appears more than once"):
        AdamW([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        Adam([])
    frozen = nn.Parameter(np.ones(2), requires_grad=False)
    opt = Adam([p, frozen], lr=0.1)
    frozen.requires_grad_(True)
    p.grad, frozen.grad = np.ones((3, 2)), np.ones(2)
    with pytest.warns(UserWarning, match=r"Adam: 1 parameter\(s\) of shape \(2,\) were frozen when this optimizer was built"):
        opt.step()
    np.testing.assert_array_equal(frozen.data, [1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # said once
        opt.step()
    opt.zero_grad()
    assert p.grad is None


def test_adam_add_param_group_and_set_lr_as_torch():
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    opt, topt = Adam(params[:2], lr=0.01), torch.optim.Adam(tparams[:2], lr=0.01)
    rng = np.random.default_rng(5)
    for step in range(8):
        if step == 3:   # a layer unfrozen for fine-tuning joins, with its own options
            opt.add_param_group({"params": params[2:], "lr": 0.05, "amsgrad": True})
            topt.add_param_group({"params": tparams[2:], "lr": 0.05, "amsgrad": True})
        if step == 5:   # the trainer's way to set a rate: every group's lr
            opt.set_lr(0.002)
            for g in topt.param_groups:
                g["lr"] = 0.002
        give_grads(torch, params, tparams, rng, skip={2} if step < 3 else ())
        opt.step()
        topt.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")
    with pytest.raises(ValueError, match=r"Adam.add_param_group \(group 2\): eps must be finite and >= 0, got -1.0"):
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "eps": -1.0})


# ------------------------------------------------------------------- schedulers on Adam
_PAIRS = {   # ours, PyTorch's: a scheduler for an optimizer
    "cosine": (lambda L, o: L.CosineAnnealingLR(o, T_max=6, eta_min=1e-3),) * 2,
    "multistep": (lambda L, o: L.MultiStepLR(o, [3, 7, 7], gamma=0.5),) * 2,
    "exponential": (lambda L, o: L.ExponentialLR(o, 0.8),) * 2,
    "linear": (lambda L, o: L.LinearLR(o, start_factor=0.1, total_iters=4),) * 2,
    "warmup-then-cosine": (
        lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.2, total_iters=3), L.CosineAnnealingLR(o, 8)], [3]),) * 2,
}


@pytest.mark.parametrize("name", list(_PAIRS))
@pytest.mark.parametrize("opt_name", list(_OURS))
def test_schedulers_drive_adam_as_torch(opt_name, name):
    """The rate each scheduler writes is the one Adam steps with: parameters equal to
    PyTorch's to 1e-12 after 15 steps with a scheduler step after each, two groups with
    their own lr."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    opt = _OURS[opt_name]([{"params": params[:2]}, {"params": params[2:], "lr": 0.03}], lr=0.01)
    topt = getattr(torch.optim, opt_name)([{"params": tparams[:2]}, {"params": tparams[2:], "lr": 0.03}], lr=0.01)
    sched, tsched = _PAIRS[name][0](lr_scheduler, opt), _PAIRS[name][0](torch.optim.lr_scheduler, topt)
    rng = np.random.default_rng(6)
    for step in range(15):
        assert sched.get_last_lr() == tsched.get_last_lr() == [g["lr"] for g in opt.param_groups], step
        give_grads(torch, params, tparams, rng)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert_twins_close(params, tparams, 1e-12, f"step {step}")


def test_two_schedulers_chained_on_adam_as_torch():
    """A warm-up and a cosine stepped together (PyTorch's chaining: each multiplies what the
    other left), then a MultiStepLR joins at step 6 from the initial rates."""
    torch = pytest.importorskip("torch")
    params, tparams = twin_params(torch, np.float64)
    opt, topt = Adam(params, lr=0.01, amsgrad=True), torch.optim.Adam(tparams, lr=0.01, amsgrad=True)
    ours = [lr_scheduler.LinearLR(opt, 0.25, total_iters=4), lr_scheduler.CosineAnnealingLR(opt, 10)]
    theirs = [torch.optim.lr_scheduler.LinearLR(topt, 0.25, total_iters=4),
              torch.optim.lr_scheduler.CosineAnnealingLR(topt, 10)]
    rng = np.random.default_rng(7)
    for step in range(25):
        if step == 6:
            ours.append(lr_scheduler.MultiStepLR(opt, [8, 12], 0.5))
            theirs.append(torch.optim.lr_scheduler.MultiStepLR(topt, [8, 12], 0.5))
        give_grads(torch, params, tparams, rng)
        opt.step()
        topt.step()
        for s in ours + theirs:
            s.step()
        assert opt.param_groups[0]["lr"] == topt.param_groups[0]["lr"], step
        assert_twins_close(params, tparams, 1e-12, f"step {step}")


def test_a_step_count_stored_as_a_numpy_integer_loads():
    # a state saved through .npz gives the step back as np.int64 or a 0-d array: it had been
    # refused as "step has shape (), the parameter (3,)"
    from minifcn.nn import Parameter
    from minifcn.optim import Adam
    p = Parameter(np.ones(3))
    opt = Adam([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    state = opt.state_dict()
    for step in (np.int64(1), np.array(1)):
        state["state"][0]["step"] = step
        again = Adam([Parameter(np.ones(3))], lr=0.1)
        again.load_state_dict(state)
        assert again.state_dict()["state"][0]["step"] == 1
