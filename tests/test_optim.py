"""SGD (momentum, dampening, Nesterov, weight decay, parameter groups) against PyTorch and by
hand; lr policies and schedulers; resume."""
import json
import warnings

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, nn, optim
from minifcn.optim import SGD, Adam, fcn_param_groups, lr_at, lr_scheduler
from oracle import to_np


pytestmark = pytest.mark.usefixtures("host_default_device")

def _tiny_net():
    minifcn.manual_seed(0)
    return nn.Sequential(conv1=nn.Conv2d(2, 3, 3, padding=1), relu=nn.ReLU(), score=nn.Conv2d(3, 4, 1)).astype(np.float64)


def _batches(n=5):
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((2, 2, 5, 5)), rng.integers(0, 4, size=(2, 5, 5))) for _ in range(n)]


def _loss(net, x, t):
    return F.cross_entropy(net(Tensor(x)), t, reduction="sum")


def _torch_twin(torch, net):
    """PyTorch's copy of _tiny_net's ``net``, and its parameters by name."""
    tnet = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(3, 4, 1)).double()
    with torch.no_grad():
        for p, tp in zip(net.parameters(), tnet.parameters()):
            tp.copy_(torch.from_numpy(to_np(p.data)))
    return tnet, dict(tnet.named_parameters())


def _train_both(torch, net, opt, tnet, topt, batches, scheds=()):
    """The same steps on both nets (and ``scheds``' steps after each, as PyTorch's loops do)."""
    for x, t in batches:
        opt.zero_grad()
        _loss(net, x, t).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(t), reduction="sum").backward()
        topt.step()
        for s in scheds:
            s.step()


def test_sgd_by_hand(xp):
    p = nn.Parameter(xp.asarray([1.0, -2.0]))
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    v = np.zeros(2)
    w = np.array([1.0, -2.0])
    for g in ([1.0, 1.0], [0.5, -1.0], [0.0, 2.0]):
        p.grad = xp.asarray(g)
        opt.step()
        d = np.array(g) + 0.5 * w
        v = 0.9 * v + d
        w = w - 0.1 * v
        np.testing.assert_allclose(to_np(p.data), w, rtol=1e-14)


@pytest.mark.parametrize("threads", ["1", "3"])   # the chunks in one share; in three
@pytest.mark.parametrize("mom, wd, damp, nesterov", [
    (0.9, 0.5, 0.0, False), (0.9, 0.0, 0.0, False), (0.0, 0.5, 0.0, False), (0.0, 0.0, 0.0, False),
    (0.9, 0.5, 0.3, False), (0.9, 0.0, 0.3, False), (0.9, 0.5, 0.0, True), (0.9, 0.0, 0.0, True),
    (0.0, 0.5, 0.3, False)])   # dampening without momentum: nothing to damp
def test_sgd_chunked_update_matches_whole_array_formula(xp, monkeypatch, mom, wd, damp, nesterov, threads):
    # chunks of 7 values: uneven over a (3, 5, 4) parameter; a transposed (non-contiguous) one
    # must be updated in place too, not through a copy
    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    monkeypatch.setattr(optim, "CHUNK", 7)
    rng = np.random.default_rng(0)
    w0 = [rng.standard_normal((3, 5, 4)), rng.standard_normal((4, 6)).T]
    params = [nn.Parameter(xp.asarray(w)) for w in w0]
    params[1].data = xp.asarray(w0[1].T.copy()).T
    assert not params[1].data.flags.c_contiguous
    opt = SGD(params, lr=0.1, momentum=mom, dampening=damp, weight_decay=wd, nesterov=nesterov)
    w, v = [a.copy() for a in w0], [None for a in w0]
    for _ in range(3):
        grads = [rng.standard_normal(a.shape) for a in w0]
        for p, g in zip(params, grads):
            p.grad = xp.asarray(g)
        opt.step()
        for k, g in enumerate(grads):
            d = g + wd * w[k]
            if mom:   # the buffer starts as d, undamped
                v[k] = d if v[k] is None else mom * v[k] + (1 - damp) * d
                d = d + mom * v[k] if nesterov else v[k]
            w[k] = w[k] - 0.1 * d
            np.testing.assert_allclose(to_np(params[k].data), w[k], rtol=1e-13, atol=1e-15)
            np.testing.assert_array_equal(to_np(params[k].grad), g)  # the gradient is left as it was


def test_sgd_skips_params_without_grad_and_frozen_params(xp):
    a, b = nn.Parameter(xp.ones(2)), nn.Parameter(xp.ones(2), requires_grad=False)
    opt = SGD([a, b], lr=1.0)
    b.grad = xp.ones(2)
    opt.step()  # a has no grad: untouched; b is frozen: not in any group
    np.testing.assert_array_equal(to_np(a.data), [1, 1])
    np.testing.assert_array_equal(to_np(b.data), [1, 1])


def test_sgd_refuses_one_bare_parameter_and_a_parameter_listed_twice():
    p = nn.Parameter(np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="wrap it in a list"):   # had stepped its rows: nothing
        SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="more than once"):   # would be stepped twice
        SGD([{"params": [p]}, {"params": [p], "lr": 0.2}], lr=0.1)
    opt = SGD([{"params": p}], lr=0.1)   # one Parameter as a group's params: PyTorch takes it too
    p.grad = np.ones((3, 2), np.float32)
    opt.step()
    assert np.allclose(p.data, 0.9)


def _fcn_groups_torch(tparams, lr, wd, **bias_options):
    """fcn_param_groups' groups, PyTorch's way: the biases' 2x as their own lr."""
    return [{"params": [p for n, p in tparams.items() if n.endswith("weight")], "weight_decay": wd},
            {"params": [p for n, p in tparams.items() if n.endswith("bias")], "lr": 2 * lr,
             "weight_decay": 0.0, **bias_options}]


@pytest.mark.parametrize("options, bias_options", [
    ({}, {}),
    ({"nesterov": True}, {}),
    ({"dampening": 0.3}, {}),   # the first step's buffer is d itself, undamped
    ({"dampening": 1.0}, {}),   # the gradient enters on the first step only
    ({"nesterov": True}, {"nesterov": False, "dampening": 0.5}),   # options per group
    ({}, {"nesterov": True})])
def test_sgd_groups_match_torch_over_5_steps(options, bias_options):
    torch = pytest.importorskip("torch")
    net = _tiny_net()
    tnet, tparams = _torch_twin(torch, net)
    lr, mom, wd = 1e-3, 0.9, 5e-4
    # FCN's recipe: weights decayed, biases at 2x lr without decay
    groups = fcn_param_groups(net, bias_lr_mult=2.0, weight_decay=wd)
    groups[1].update(bias_options)
    opt = SGD(groups, lr=lr, momentum=mom, **options)
    topt = torch.optim.SGD(_fcn_groups_torch(tparams, lr, wd, **bias_options), lr=lr, momentum=mom, **options)
    _train_both(torch, net, opt, tnet, topt, _batches(5))
    for (name, p), tp in zip(net.named_parameters(), tnet.parameters()):
        np.testing.assert_allclose(to_np(p.data), tp.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_sgd_first_step_with_dampening_by_hand(xp):
    # PyTorch's buffer starts as the gradient itself: 0.9 * 0 + (1 - 0.5) * g would halve it
    p = nn.Parameter(xp.asarray([0.0]))
    opt = SGD([p], lr=1.0, momentum=0.9, dampening=0.5)
    p.grad = xp.asarray([1.0])
    opt.step()   # v = 1
    opt.step()   # v = 0.9 + 0.5 = 1.4
    np.testing.assert_allclose(to_np(p.data), [-2.4], rtol=1e-15)


def test_fcn_param_groups_split_weights_and_biases():
    net = _tiny_net()
    weights, biases = fcn_param_groups(net)
    assert [id(p) for p in weights["params"]] == [id(net.conv1.weight), id(net.score.weight)]
    assert [id(p) for p in biases["params"]] == [id(net.conv1.bias), id(net.score.bias)]
    assert biases["lr_mult"] == 2.0 and biases["weight_decay"] == 0.0 and weights["weight_decay"] == 5e-4


def test_set_lr_keeps_lr_mult(xp):
    w, b = nn.Parameter(xp.zeros(1)), nn.Parameter(xp.zeros(1))
    opt = SGD([{"params": [w]}, {"params": [b], "lr_mult": 2.0}], lr=1.0)
    opt.set_lr(0.25)
    w.grad, b.grad = xp.ones(1), xp.ones(1)
    opt.step()
    np.testing.assert_allclose(to_np(w.data), [-0.25])
    np.testing.assert_allclose(to_np(b.data), [-0.5])


def test_state_dict_round_trip_resumes_identically():
    batches = _batches(5)
    net = _tiny_net()
    opt = SGD(fcn_param_groups(net), lr=1e-2, momentum=0.9)
    for x, t in batches[:3]:
        opt.zero_grad()
        _loss(net, x, t).backward()
        opt.step()
    model_state, opt_state = net.state_dict(), opt.state_dict()
    for x, t in batches[3:]:  # keep going: this must not change the saved state
        opt.zero_grad()
        _loss(net, x, t).backward()
        opt.step()
    straight = net.state_dict()

    net2 = _tiny_net()  # a fresh model and optimizer, resumed from the checkpoint
    net2.load_state_dict(model_state)
    opt2 = SGD(fcn_param_groups(net2), lr=999.0, momentum=0.0)
    opt2.load_state_dict(opt_state)
    for x, t in batches[3:]:
        opt2.zero_grad()
        _loss(net2, x, t).backward()
        opt2.step()
    for k, v in net2.state_dict().items():
        np.testing.assert_array_equal(v, straight[k], err_msg=k)


def test_state_dict_carries_dampening_and_nesterov(tmp_path):
    """Per group, through a checkpoint's JSON too: a resumed run steps as the saved one."""
    from minifcn.checkpoint import load_checkpoint, save_checkpoint
    net = _tiny_net()
    groups = fcn_param_groups(net)
    groups[1].update(dampening=0.25, nesterov=False)
    opt = SGD(groups, lr=1e-2, momentum=0.9, nesterov=True)
    save_checkpoint(tmp_path / "ck.npz", net, opt)
    opt2 = SGD(fcn_param_groups(_tiny_net()), lr=1e-2, momentum=0.9)
    opt2.load_state_dict(load_checkpoint(tmp_path / "ck.npz")["optim"])
    assert [(g["nesterov"], g["dampening"]) for g in opt2.param_groups] == [(True, 0.0), (False, 0.25)]


def test_load_state_dict_refuses_nesterov_without_momentum_and_changes_nothing():
    opt = SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9, nesterov=True)
    state = opt.state_dict()
    state["groups"][0]["momentum"] = 0.0
    state["base_lr"] = 0.5
    with pytest.raises(ValueError, match=r"load_state_dict \(group 0\): nesterov needs momentum > 0 .* "
                                         r"got momentum 0.0 and dampening 0.0"):
        opt.load_state_dict(state)
    assert opt.param_groups[0]["momentum"] == 0.9 and opt.base_lr == 0.1


def test_optimizer_state_dict_is_a_snapshot():
    # step() updates momentum buffers in place; a saved state must not follow them
    p = nn.Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([1.0])
    opt.step()
    state = opt.state_dict()
    opt.step()
    np.testing.assert_array_equal(state["velocity"][0], [1.0])


def test_lr_policies():
    assert lr_at("fixed", 0.1, 500, 1000) == 0.1
    assert lr_at("step", 0.1, 0, 100, step_size=30) == pytest.approx(0.1)
    assert lr_at("step", 0.1, 29, 100, step_size=30) == pytest.approx(0.1)
    assert lr_at("step", 0.1, 30, 100, step_size=30) == pytest.approx(0.01)
    assert lr_at("step", 0.1, 65, 100, step_size=30, gamma=0.5) == pytest.approx(0.025)
    assert lr_at("poly", 0.1, 0, 100) == pytest.approx(0.1)
    assert lr_at("poly", 0.1, 75, 100, power=2.0) == pytest.approx(0.1 * 0.25 ** 2)
    assert lr_at("poly", 0.1, 100, 100) == 0.0
    assert lr_at("poly", 0.1, 150, 100) == 0.0  # never negative past the end
    # linear warm-up over the first 4 iterations, then the policy
    assert [lr_at("fixed", 1.0, i, 100, warmup=4) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_lr_policy_errors():
    with pytest.raises(ValueError, match="unknown lr policy 'cosine'"):
        lr_at("cosine", 0.1, 0, 10)
    with pytest.raises(ValueError, match="step_size"):
        lr_at("step", 0.1, 0, 10)
    with pytest.raises(ValueError, match="must be finite and >= 0, got -1.0"):
        SGD([nn.Parameter(np.ones(1))], lr=-1.0)
    with pytest.raises(ValueError, match="must be finite and >= 0, got inf"):   # NaN a step later
        SGD([nn.Parameter(np.ones(1))], lr=float("inf"))
    with pytest.raises(ValueError, match="must be finite and >= 0, got 0.1, nan"):
        SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=float("nan"))


@pytest.mark.parametrize("kwargs, group, error, message", [
    ({"momentum": 0.0, "nesterov": True}, {}, ValueError,
     r"SGD: nesterov needs momentum > 0 and dampening 0 \(as PyTorch's\), got momentum 0.0 and dampening 0.0"),
    ({"momentum": 0.9, "nesterov": True, "dampening": 0.1}, {}, ValueError,
     r"SGD: nesterov .* got momentum 0.9 and dampening 0.1"),
    ({"momentum": 0.9}, {"nesterov": True, "momentum": 0.0}, ValueError,   # a group's own options
     r"SGD \(group 1\): nesterov needs momentum > 0 .* got momentum 0.0 and dampening 0.0"),
    ({"momentum": 0.9}, {"lr": -1.0}, ValueError, r"SGD \(group 1\): .* must be finite and >= 0, got -1.0, 0.9, 0.0"),
    ({"momentum": 0.9, "dampening": 1.5}, {}, ValueError, r"SGD: dampening must be a number in \[0, 1\], got 1.5"),
    ({"momentum": 0.9, "dampening": float("nan")}, {}, ValueError, r"dampening must be a number in \[0, 1\], got nan"),
    ({"momentum": 0.9, "nesterov": "False"}, {}, TypeError, r"SGD: nesterov must be a bool, got 'False'"),
    # a string or None had failed a comparison, naming nothing
    ({"dampening": "0.1"}, {}, TypeError, r"SGD: dampening must be a number, got '0.1'"),
    ({}, {"lr": None}, TypeError, r"SGD \(group 1\): lr must be a number, got None"),
    ({}, {"lr_mult": -2.0}, ValueError, r"SGD \(group 1\): lr_mult must be finite and >= 0, got -2.0"),   # an ascent
])
def test_sgd_option_errors_name_the_values(kwargs, group, error, message):
    groups = [{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))], **group}]
    with pytest.raises(error, match=message):
        SGD(groups, lr=0.1, **kwargs)


def test_load_state_dict_refuses_a_different_optimizer():
    a = SGD([nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))], lr=0.1)
    b = SGD([nn.Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="2 parameters in 1 groups, this optimizer 1 in 1"):
        b.load_state_dict(a.state_dict())


def test_an_empty_parameter_list_is_refused_and_weight_decay_is_a_keyword():
    """As PyTorch: an optimizer of nothing trains nothing. And SGD's fourth argument is
    PyTorch's dampening, so dampening is keyword-only here, as weight decay is: a 4th given by
    place is refused, not read as either."""
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([{"params": []}], lr=0.1)
    with pytest.raises(TypeError, match="positional"):
        SGD([nn.Parameter(np.zeros(2))], 0.1, 0.9, 0.1)


# --------------------------------------------------------------------- schedulers
_SCHEDULERS = {   # name: (ours, PyTorch's): each builds the scheduler of an optimizer
    "step": (lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
             lambda torch, o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    "step-default-gamma": (lambda o: lr_scheduler.StepLR(o, 3),
                           lambda torch, o: torch.optim.lr_scheduler.StepLR(o, 3)),
    "poly-0.9": (lambda o: lr_scheduler.PolynomialLR(o, total_iters=40, power=0.9),   # past its end
                 lambda torch, o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=40, power=0.9)),
    "poly-1": (lambda o: lr_scheduler.PolynomialLR(o, 30),
               lambda torch, o: torch.optim.lr_scheduler.PolynomialLR(o, 30)),
    "lambda": (lambda o: lr_scheduler.LambdaLR(o, lambda e: 0.5 * 0.97 ** e),
               lambda torch, o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.5 * 0.97 ** e)),
    "lambdas": (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.9 ** e, lambda e: 1.0]),
                lambda torch, o: torch.optim.lr_scheduler.LambdaLR(
                    o, [lambda e: 1 / (1 + e), lambda e: 0.9 ** e, lambda e: 1.0])),
    # milestones unsorted, one twice (it falls twice there), one past the end
    "multistep": (lambda o: lr_scheduler.MultiStepLR(o, [30, 5, 12, 12, 60], gamma=0.5),
                  lambda torch, o: torch.optim.lr_scheduler.MultiStepLR(o, [30, 5, 12, 12, 60], gamma=0.5)),
    "multistep-at-0": (lambda o: lr_scheduler.MultiStepLR(o, [0, 4]),   # applied as built
                       lambda torch, o: torch.optim.lr_scheduler.MultiStepLR(o, [0, 4])),
    "exponential": (lambda o: lr_scheduler.ExponentialLR(o, 0.9),
                    lambda torch, o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    # down to 0 at 10, up again to 20 (the added step at 11), down at 30, ...
    "cosine": (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10),
               lambda torch, o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)),
    "cosine-odd": (lambda o: lr_scheduler.CosineAnnealingLR(o, 7.0),
                   lambda torch, o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 7)),
    "linear-warmup": (lambda o: lr_scheduler.LinearLR(o),
                      lambda torch, o: torch.optim.lr_scheduler.LinearLR(o)),
    "linear-down": (lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=30),
                    lambda torch, o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=30)),
    "linear-both": (lambda o: lr_scheduler.LinearLR(o, start_factor=0.9, end_factor=0.1, total_iters=20),
                    lambda torch, o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.9, end_factor=0.1, total_iters=20)),
}


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(_SCHEDULERS))
def test_schedulers_match_torch_over_50_steps(name, optimizer):
    """Three groups: FCN's weights, its biases at 2x by lr_mult, and a group with its own lr
    (PyTorch's way to give one). The rates are PyTorch's exactly: its step() multiplies the
    last rate by a factor (or moves it along the cosine), as ours does; within a few units of
    the last bit of the closed forms. On SGD and on Adam."""
    torch = pytest.importorskip("torch")
    ours, theirs = _SCHEDULERS[name]
    net = _tiny_net()
    weights, biases = fcn_param_groups(net)
    options = {"momentum": 0.9} if optimizer == "SGD" else {}
    opt = getattr(optim, optimizer)([weights, dict(biases, params=biases["params"][:1]),
                                     {"params": biases["params"][1:], "lr": 0.03}], lr=0.01, **options)
    tp = [torch.nn.Parameter(torch.zeros(1)) for _ in range(3)]
    topt = getattr(torch.optim, optimizer)([{"params": [tp[0]]}, {"params": [tp[1]], "lr": 0.02},
                                            {"params": [tp[2]], "lr": 0.03}], lr=0.01, **options)
    sched, tsched = ours(opt), theirs(torch, topt)
    for epoch in range(51):   # the rates as built, then after each of 50 steps
        got = [lr * g["lr_mult"] for lr, g in zip(sched.get_last_lr(), opt.param_groups)]
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr(), epoch   # written into the groups
        assert got == tsched.get_last_lr(), epoch
        closed = tsched._get_closed_form_lr() if hasattr(tsched, "_get_closed_form_lr") else tsched.get_last_lr()
        ours_closed = [lr * g["lr_mult"] for lr, g in zip(sched.closed_form_lr(), opt.param_groups)]
        assert ours_closed == closed, epoch
        np.testing.assert_allclose(got, closed, rtol=1e-13, atol=1e-300, err_msg=str(epoch))
        assert sched.last_epoch == tsched.last_epoch == epoch
        topt.step()   # PyTorch warns of a scheduler stepped before its optimizer
        sched.step()
        tsched.step()


def test_poly_scheduler_is_lr_at_and_reaches_the_optimizer():
    # FCN's poly policy, as the trainer's lr_at gives it; and SGD steps with the written rate
    p = nn.Parameter(np.zeros(1))
    opt = SGD([{"params": [p], "lr_mult": 2.0}], lr=0.1)
    sched = lr_scheduler.PolynomialLR(opt, total_iters=10, power=0.9)
    expected = 0.0
    for it in range(12):
        np.testing.assert_allclose(sched.get_last_lr(), [lr_at("poly", 0.1, it, 10, power=0.9)],
                                   rtol=1e-14, atol=1e-300)   # multiplied step by step, as PyTorch's
        expected -= 2 * sched.get_last_lr()[0]
        p.grad = np.ones(1)
        opt.step()
        sched.step()
        np.testing.assert_allclose(p.data, [expected], rtol=1e-15)


@pytest.mark.parametrize("make, fresh", [
    (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5), lambda o: lr_scheduler.StepLR(o, 100)),
    (lambda o: lr_scheduler.PolynomialLR(o, total_iters=8, power=0.9), lambda o: lr_scheduler.PolynomialLR(o, 1000)),
    (lambda o: lr_scheduler.LambdaLR(o, lambda e: 0.8 ** e), lambda o: lr_scheduler.LambdaLR(o, lambda e: 0.8 ** e)),
    (lambda o: lr_scheduler.MultiStepLR(o, [2, 4], 0.5), lambda o: lr_scheduler.MultiStepLR(o, [100])),
    (lambda o: lr_scheduler.ExponentialLR(o, 0.7), lambda o: lr_scheduler.ExponentialLR(o, 0.99)),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, 4, eta_min=1e-4), lambda o: lr_scheduler.CosineAnnealingLR(o, 100)),
    (lambda o: lr_scheduler.LinearLR(o, 0.1, total_iters=5), lambda o: lr_scheduler.LinearLR(o, 0.9, 0.5, 100)),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o, 0.1, total_iters=2),
                                             lr_scheduler.CosineAnnealingLR(o, 5)], [4]),
     lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o, 0.5, total_iters=50),
                                             lr_scheduler.CosineAnnealingLR(o, 50)], [30])),
])
def test_scheduler_state_dict_round_trip_resumes_identically(make, fresh):
    """Saved after 3 steps, through JSON (a checkpoint's meta); a fresh optimizer and scheduler
    with other rates and options, loaded, take the same 3 steps as the run that went on."""
    batches = _batches(6)
    net = _tiny_net()
    opt = SGD(fcn_param_groups(net), lr=1e-2, momentum=0.9, nesterov=True)
    sched = make(opt)

    def train(net, opt, sched, batches):
        lrs = []
        for x, t in batches:
            opt.zero_grad()
            _loss(net, x, t).backward()
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        return lrs

    train(net, opt, sched, batches[:3])
    model_state, opt_state = net.state_dict(), opt.state_dict()
    sched_state = json.loads(json.dumps(sched.state_dict()))
    lrs = train(net, opt, sched, batches[3:])
    straight = net.state_dict()

    net2 = _tiny_net()
    net2.load_state_dict(model_state)
    opt2 = SGD(fcn_param_groups(net2), lr=999.0, momentum=0.9)
    sched2 = fresh(opt2)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    assert train(net2, opt2, sched2, batches[3:]) == lrs
    for k, v in net2.state_dict().items():
        np.testing.assert_array_equal(v, straight[k], err_msg=k)


def test_scheduler_errors_name_the_values():
    opt = SGD([{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))]}], lr=0.1)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 0"):
        lr_scheduler.StepLR(opt, 0)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 2.5"):
        lr_scheduler.StepLR(opt, 2.5)
    with pytest.raises(ValueError, match="StepLR: gamma must be a finite number >= 0, got inf"):
        lr_scheduler.StepLR(opt, 2, gamma=float("inf"))
    with pytest.raises(ValueError, match="PolynomialLR: total_iters must be a positive int, got 0"):
        lr_scheduler.PolynomialLR(opt, 0)   # a division by 0
    with pytest.raises(ValueError, match="PolynomialLR: power must be a finite number >= 0, got -1"):
        lr_scheduler.PolynomialLR(opt, 10, power=-1)
    with pytest.raises(ValueError, match="LambdaLR: expected 2 lr_lambdas, one per group, got 3"):
        lr_scheduler.LambdaLR(opt, [abs, abs, abs])
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda must be a function of the epoch .* got 0.5"):
        lr_scheduler.LambdaLR(opt, 0.5)
    with pytest.raises(TypeError, match="StepLR: expected an optimizer, got a list"):
        lr_scheduler.StepLR([nn.Parameter(np.ones(1))], 2)
    step = lr_scheduler.StepLR(opt, 2)
    with pytest.raises(ValueError, match="PolynomialLR.load_state_dict: the state lacks total_iters, power"):
        lr_scheduler.PolynomialLR(opt, 10).load_state_dict(step.state_dict())
    one_group = SGD([nn.Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="StepLR.load_state_dict: the state has 2 groups, the optimizer 1"):
        lr_scheduler.StepLR(one_group, 2).load_state_dict(step.state_dict())


def test_schedulers_compose_and_follow_a_rate_set_by_hand_as_pytorch():
    """Two schedulers on one optimizer, a rate changed by hand between steps, a third
    scheduler built later (from the groups' initial_lr, not their decayed rate): PyTorch's
    chainable steps. Closed forms that overwrote the rate had given 0.5 where PyTorch gives 0.25."""
    torch = pytest.importorskip("torch")
    p, tp = nn.Parameter(np.ones(1)), torch.nn.Parameter(torch.ones(1))
    opt, topt = SGD([p], lr=1.0), torch.optim.SGD([tp], lr=1.0)
    ours = [lr_scheduler.StepLR(opt, 2, 0.5), lr_scheduler.PolynomialLR(opt, 6, 1.0)]
    theirs = [torch.optim.lr_scheduler.StepLR(topt, 2, 0.5), torch.optim.lr_scheduler.PolynomialLR(topt, 6, 1.0)]
    for epoch in range(8):
        if epoch == 3:
            opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"] = 0.1
        if epoch == 4:
            ours.append(lr_scheduler.LambdaLR(opt, lambda e: 0.9 ** e))
            theirs.append(torch.optim.lr_scheduler.LambdaLR(topt, lambda e: 0.9 ** e))
        topt.step()   # before its schedulers, or PyTorch warns
        for s in ours:
            s.step()
        for s in theirs:
            s.step()
        assert opt.param_groups[0]["lr"] == topt.param_groups[0]["lr"], epoch
        assert ours[-1].base_lrs == theirs[-1].base_lrs == [1.0]


def test_scheduler_arguments_pytorch_takes():
    torch = pytest.importorskip("torch")
    opt, topt = SGD([nn.Parameter(np.ones(1))], lr=1.0), torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    ours, theirs = lr_scheduler.PolynomialLR(opt), torch.optim.lr_scheduler.PolynomialLR(topt)
    assert ours.total_iters == theirs.total_iters == 5
    assert lr_scheduler.PolynomialLR(SGD([nn.Parameter(np.ones(1))], lr=1.0), 3.0).total_iters == 3
    # resuming by last_epoch needs the groups' initial_lr, as PyTorch's
    with pytest.raises(KeyError, match=r"param_groups\[0\] has no 'initial_lr'"):
        lr_scheduler.StepLR(SGD([nn.Parameter(np.ones(1))], lr=1.0), 2, last_epoch=4)
    for lib, o in ((lr_scheduler, opt), (torch.optim.lr_scheduler, topt)):
        o.param_groups[0]["lr"] = o.param_groups[0]["initial_lr"] = 1.0
        s = lib.StepLR(o, 2, 0.5, last_epoch=4)
        assert s.last_epoch == 5 and o.param_groups[0]["lr"] == 1.0   # one step from epoch 4, not a boundary
    with pytest.warns(UserWarning, match="deprecated"):
        ours.step(4)   # by the closed form, as PyTorch's
    assert ours.get_last_lr() == [lr_at("poly", 1.0, 4, 5, power=1.0)]


def test_scheduler_state_is_json_and_checked_when_loaded():
    opt = SGD([nn.Parameter(np.ones(1))], lr=1.0)
    step = lr_scheduler.StepLR(opt, 3, np.float32(0.5))
    json.dumps(step.state_dict())   # a NumPy float32 gamma had made it unsaveable
    with pytest.raises(ValueError, match=r"LambdaLR.load_state_dict: the state has step_size, gamma \(is it another"):
        lr_scheduler.LambdaLR(opt, lambda e: 1.0).load_state_dict(step.state_dict())
    poly = lr_scheduler.PolynomialLR(opt, 10)
    with pytest.raises(ValueError, match="PolynomialLR: total_iters must be a positive int, got 0"):
        poly.load_state_dict(dict(poly.state_dict(), total_iters=0))


def test_a_parameter_unfrozen_after_the_optimizer_was_built_is_said_not_stepped():
    net = _tiny_net()
    frozen = net.parameters()[0]
    frozen.requires_grad_(False)
    opt = SGD(net.parameters(), lr=0.1)
    frozen.requires_grad_(True)   # PyTorch's SGD would now step it; this one left it out
    before = frozen.data.copy()
    for _ in range(2):
        opt.zero_grad()
        frozen.grad = np.ones_like(frozen.data)
        if _ == 0:
            with pytest.warns(UserWarning, match=r"1 parameter\(s\) of shape .* were frozen when this optimizer was built"):
                opt.step()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")   # said once
                opt.step()
    np.testing.assert_array_equal(frozen.data, before)
    stepped = [p for g in opt.param_groups for p in g["params"]]
    for p in stepped[1:]:
        p.grad = np.ones_like(p.data)
    opt.zero_grad(set_to_none=False)   # zeros in place; None stays None, as PyTorch's
    assert stepped[0].grad is None and all(not p.grad.any() for p in stepped[1:])


def test_add_param_group_steps_an_unfrozen_layer_as_pytorch():
    torch = pytest.importorskip("torch")
    a, b = np.ones(3), np.full(2, 2.0)
    p, q = nn.Parameter(a.copy()), nn.Parameter(b.copy())
    tp, tq = torch.nn.Parameter(torch.tensor(a)), torch.nn.Parameter(torch.tensor(b))
    opt, topt = SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    for step in range(4):
        if step == 2:   # the second layer joins, at its own rate
            opt.add_param_group({"params": [q], "lr": 0.5})
            topt.add_param_group({"params": [tq], "lr": 0.5})
        for x, tx in ((p, tp), (q, tq)):
            x.grad, tx.grad = x.data * 1.0, tx.detach() * 1.0
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(q.data, tq.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="already in another group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match=r"add_param_group \(group 2\): lr, momentum and weight_decay must be"):
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": -1.0})


def test_chainable_schedulers_set_groups_added_later_as_pytorch():
    torch = pytest.importorskip("torch")
    p, q = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    tp, tq = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    opt, topt = SGD([p], lr=1.0), torch.optim.SGD([tp], lr=1.0)
    s, ts = lr_scheduler.StepLR(opt, 1, 0.5), torch.optim.lr_scheduler.StepLR(topt, 1, 0.5)
    opt.add_param_group({"params": [q], "lr": np.float32(0.4)})   # float32: JSON-able once checked
    topt.add_param_group({"params": [tq], "lr": 0.4})
    for _ in range(3):
        topt.step()
        s.step()
        ts.step()
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-7)
    json.dumps(opt.state_dict()["groups"])
    lr_scheduler.StepLR(SGD([nn.Parameter(np.ones(1)), ], lr=1.0), 1).load_state_dict(
        dict(s.state_dict(), base_lrs=[1.0], last_lr=[0.125]))
    with pytest.raises(ValueError, match="appears more than once in the group"):
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))] * 2})


_RESUMABLE = {   # class, options: as PyTorch's, built with last_epoch
    "StepLR": {"step_size": 3, "gamma": 0.5},
    "MultiStepLR": {"milestones": [4, 5], "gamma": 0.5},
    "ExponentialLR": {"gamma": 0.8},
    "PolynomialLR": {"total_iters": 8, "power": 0.9},
    "CosineAnnealingLR": {"T_max": 5, "eta_min": 0.001},
    "LinearLR": {"start_factor": 0.25, "total_iters": 6},
}


@pytest.mark.parametrize("last_epoch", [0, 3, 4, 5, 11])
@pytest.mark.parametrize("name", list(_RESUMABLE))
def test_schedulers_resumed_by_last_epoch_and_stepped_to_an_epoch_as_torch(name, last_epoch):
    """Built with ``last_epoch`` (the groups holding their initial_lr), then stepped: the
    step building it is PyTorch's initial one, which leaves the rate as it is for most (a
    resumed PolynomialLR had decayed it once more). Then ``step(epoch)``, the closed form."""
    torch = pytest.importorskip("torch")
    opt = Adam([{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))], "lr": 0.3}], lr=0.1)
    topt = torch.optim.Adam([{"params": [torch.nn.Parameter(torch.ones(1))]},
                             {"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.3}], lr=0.1)
    for o in (opt, topt):
        for g, base in zip(o.param_groups, (0.2, 0.5)):
            g["initial_lr"] = base
    s = getattr(lr_scheduler, name)(opt, **_RESUMABLE[name], last_epoch=last_epoch)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **_RESUMABLE[name], last_epoch=last_epoch)
    for step in range(15):
        assert s.get_last_lr() == ts.get_last_lr() == [g["lr"] for g in opt.param_groups], step
        assert s.last_epoch == ts.last_epoch
        topt.step()
        s.step()
        ts.step()
    for epoch in (2, 7, 3):
        with pytest.warns(UserWarning, match="deprecated"):
            s.step(epoch)
        with pytest.warns(UserWarning):
            ts.step(epoch)
        assert s.get_last_lr() == ts.get_last_lr() == s.closed_form_lr(epoch), epoch


def test_sequential_lr_matches_torch():
    """A warm-up, a cosine from the initial rates at epoch 5, a MultiStepLR from them again at
    25 (its milestones counted from there), on Adam with two groups: PyTorch's rates exactly.
    Its closed form is the scheduler's whose turn it is, at its own epoch."""
    torch = pytest.importorskip("torch")
    L, TL = lr_scheduler, torch.optim.lr_scheduler
    opt = Adam([{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))], "lr": 0.3}], lr=0.1)
    topt = torch.optim.Adam([{"params": [torch.nn.Parameter(torch.ones(1))]},
                             {"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.3}], lr=0.1)
    s = L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=5), L.CosineAnnealingLR(opt, 20, 0.001),
                             L.MultiStepLR(opt, [3, 6])], milestones=[5, 25])
    ts = TL.SequentialLR(topt, [TL.LinearLR(topt, 0.1, total_iters=5), TL.CosineAnnealingLR(topt, 20, 0.001),
                                TL.MultiStepLR(topt, [3, 6])], milestones=[5, 25])
    lrs = []
    for epoch in range(40):
        assert s.get_last_lr() == ts.get_last_lr() == [g["lr"] for g in opt.param_groups], epoch
        assert s.last_epoch == ts.last_epoch == epoch
        np.testing.assert_allclose(s.closed_form_lr(), s.get_last_lr(), rtol=1e-13, err_msg=str(epoch))
        lrs.append(s.get_last_lr()[0])
        topt.step()
        s.step()
        ts.step()
    assert lrs[0] == pytest.approx(0.01) and lrs[5] == lrs[25] == 0.1 and lrs[31] == pytest.approx(0.001)


def test_sequential_lr_with_one_scheduler_and_a_milestone_at_0_as_torch():
    torch = pytest.importorskip("torch")
    L, TL = lr_scheduler, torch.optim.lr_scheduler
    for build in (lambda L, o: L.SequentialLR(o, [L.ExponentialLR(o, 0.5)], []),
                  lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.5), L.ExponentialLR(o, 0.5)], [0])):
        opt, topt = SGD([nn.Parameter(np.ones(1))], lr=1.0), torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
        s, ts = build(L, opt), build(TL, topt)
        for step in range(6):
            assert s.get_last_lr() == ts.get_last_lr() == [opt.param_groups[0]["lr"]], step
            topt.step()
            s.step()
            ts.step()


def test_scheduler_option_errors_name_the_values():
    L = lr_scheduler
    opt = Adam([nn.Parameter(np.ones(1))], lr=0.1)
    cases = [
        (lambda: L.MultiStepLR(opt, [3, -1]), ValueError, r"MultiStepLR: milestones must be ints >= 0, got \[3, -1\]"),
        (lambda: L.MultiStepLR(opt, [2.5]), ValueError, r"MultiStepLR: milestones must be ints >= 0, got \[2.5\]"),
        (lambda: L.MultiStepLR(opt, 3), TypeError, r"MultiStepLR: milestones must be a list of epochs, got 3"),
        (lambda: L.MultiStepLR(opt, [3], gamma=-0.5), ValueError, r"MultiStepLR: gamma must be a finite number >= 0, got -0.5"),
        (lambda: L.ExponentialLR(opt, float("nan")), ValueError, r"ExponentialLR: gamma must be a finite number >= 0, got nan"),
        (lambda: L.CosineAnnealingLR(opt, 0), ValueError, r"CosineAnnealingLR: T_max must be a positive int, got 0"),
        (lambda: L.CosineAnnealingLR(opt, 10, eta_min=-1e-3), ValueError,
         r"CosineAnnealingLR: eta_min must be a finite number >= 0, got -0.001"),
        (lambda: L.LinearLR(opt, start_factor=0), ValueError, r"LinearLR: start_factor must be a number in \(0, 1\], got 0"),
        (lambda: L.LinearLR(opt, start_factor=1.5), ValueError, r"LinearLR: start_factor must be a number in \(0, 1\], got 1.5"),
        (lambda: L.LinearLR(opt, end_factor=-0.1), ValueError, r"LinearLR: end_factor must be a number in \[0, 1\], got -0.1"),
        (lambda: L.LinearLR(opt, total_iters=0), ValueError, r"LinearLR: total_iters must be a positive int, got 0"),
        (lambda: L.ExponentialLR(opt, 0.5, last_epoch=-2), ValueError, r"ExponentialLR: last_epoch must be an int >= -1, got -2"),
    ]
    for build, error, message in cases:
        with pytest.raises(error, match=message):
            build()


def test_sequential_lr_errors_name_the_values():
    L = lr_scheduler
    opt, other = SGD([nn.Parameter(np.ones(1))], lr=0.1), SGD([nn.Parameter(np.ones(1))], lr=0.1)
    a, b = L.LinearLR(opt), L.ExponentialLR(opt, 0.9)
    with pytest.raises(ValueError, match="SequentialLR: expected at least one scheduler, got none"):
        L.SequentialLR(opt, [], [])
    with pytest.raises(ValueError, match=r"SequentialLR: expected 1 milestones \(one fewer than the schedulers\), got 2"):
        L.SequentialLR(opt, [a, b], [3, 5])
    with pytest.raises(ValueError, match=r"SequentialLR: schedulers\[1\] \(StepLR\) sets another optimizer's rates"):
        L.SequentialLR(opt, [a, L.StepLR(other, 2)], [3])
    with pytest.raises(ValueError, match=r"SequentialLR: milestones must be in increasing order, got \[5, 3\]"):
        L.SequentialLR(opt, [a, b, a], [5, 3])
    with pytest.raises(TypeError, match=r"SequentialLR: schedulers\[0\] must be a scheduler other than SequentialLR, got a str"):
        L.SequentialLR(opt, ["LinearLR"], [])
    with pytest.raises(TypeError, match="SequentialLR: expected an optimizer, got a list"):
        L.SequentialLR([], [a], [])
    seq = L.SequentialLR(opt, [a, b], [3])
    with pytest.raises(TypeError, match=r"schedulers\[0\] must be a scheduler other than SequentialLR, got a SequentialLR"):
        L.SequentialLR(opt, [seq, b], [3])
    with pytest.raises(ValueError, match=r"SequentialLR.load_state_dict: expected .* with 2 schedulers' states, got .* with 1"):
        seq.load_state_dict(dict(seq.state_dict(), schedulers=[a.state_dict()]))


def test_cosine_sets_the_groups_it_was_built_with():
    """A group added later has no base to anneal from: left at its rate (PyTorch's multiplies
    it by the cosine's ratios, then fails at the bottom of the cosine, where it needs the base)."""
    opt = Adam([nn.Parameter(np.ones(1))], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, 2)
    opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": 0.5})
    for _ in range(4):   # through the bottom, at step 2
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.5] and sched.get_last_lr() == [1.0]
