"""SGD (momentum, weight decay, parameter groups) against PyTorch and by hand; lr policies; resume."""
import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, nn, optim
from minifcn.optim import SGD, fcn_param_groups, lr_at
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
@pytest.mark.parametrize("mom, wd", [(0.9, 0.5), (0.9, 0.0), (0.0, 0.5), (0.0, 0.0)])
def test_sgd_chunked_update_matches_whole_array_formula(xp, monkeypatch, mom, wd, threads):
    # chunks of 7 values: uneven over a (3, 5, 4) parameter; a transposed (non-contiguous) one
    # must be updated in place too, not through a copy
    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    monkeypatch.setattr(optim, "CHUNK", 7)
    rng = np.random.default_rng(0)
    w0 = [rng.standard_normal((3, 5, 4)), rng.standard_normal((4, 6)).T]
    params = [nn.Parameter(xp.asarray(w)) for w in w0]
    params[1].data = xp.asarray(w0[1].T.copy()).T
    assert not params[1].data.flags.c_contiguous
    opt = SGD(params, lr=0.1, momentum=mom, weight_decay=wd)
    w, v = [a.copy() for a in w0], [np.zeros_like(a) for a in w0]
    for _ in range(3):
        grads = [rng.standard_normal(a.shape) for a in w0]
        for p, g in zip(params, grads):
            p.grad = xp.asarray(g)
        opt.step()
        for k, g in enumerate(grads):
            v[k] = mom * v[k] + g + wd * w[k]
            w[k] = w[k] - 0.1 * v[k]
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


def test_sgd_groups_match_torch_over_5_steps():
    torch = pytest.importorskip("torch")
    net = _tiny_net()
    tnet = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(3, 4, 1)).double()
    with torch.no_grad():
        for (name, p), tp in zip(net.named_parameters(), tnet.parameters()):
            tp.copy_(torch.from_numpy(to_np(p.data)))
    lr, mom, wd = 1e-3, 0.9, 5e-4
    # FCN's recipe: weights decayed, biases at 2x lr without decay
    opt = SGD(fcn_param_groups(net, bias_lr_mult=2.0, weight_decay=wd), lr=lr, momentum=mom)
    tparams = list(tnet.named_parameters())
    topt = torch.optim.SGD([{"params": [p for n, p in tparams if n.endswith("weight")], "weight_decay": wd},
                            {"params": [p for n, p in tparams if n.endswith("bias")], "lr": 2 * lr,
                             "weight_decay": 0.0}], lr=lr, momentum=mom)
    for x, t in _batches(5):
        opt.zero_grad()
        _loss(net, x, t).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(t), reduction="sum").backward()
        topt.step()
    for (name, p), tp in zip(net.named_parameters(), tnet.parameters()):
        np.testing.assert_allclose(to_np(p.data), tp.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


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


def test_load_state_dict_refuses_a_different_optimizer():
    a = SGD([nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))], lr=0.1)
    b = SGD([nn.Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="2 parameters in 1 groups, this optimizer 1 in 1"):
        b.load_state_dict(a.state_dict())


def test_an_empty_parameter_list_is_refused_and_weight_decay_is_a_keyword():
    """As PyTorch: an optimizer of nothing trains nothing. And SGD's fourth argument is
    PyTorch's dampening, so a weight decay given there is refused, not taken."""
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([{"params": []}], lr=0.1)
    with pytest.raises(TypeError, match="positional"):
        SGD([nn.Parameter(np.zeros(2))], 0.1, 0.9, 0.1)
