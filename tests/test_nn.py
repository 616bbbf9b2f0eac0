"""Modules: ordering and names, train/eval, BN running stats vs PyTorch, state dicts, dtype and device."""
from collections import OrderedDict

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, nn
from minifcn.naive import softmax as naive_softmax
from minifcn.testing import distinct_values, gradcheck
from oracle import to_np


pytestmark = pytest.mark.usefixtures("host_default_device")

def _net():
    minifcn.manual_seed(0)
    return nn.Sequential(
        features=nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()),
        drop=nn.Dropout(0.5),
        score=nn.Conv2d(4, 2, 1),
    )


def test_sequential_applies_modules_in_order(xp, rng):
    minifcn.manual_seed(0)
    conv, pool = nn.Conv2d(2, 3, 3), nn.MaxPool2d(2)
    net = nn.Sequential(conv, nn.ReLU(), pool).to("cuda" if xp is not np else "cpu")
    x = xp.asarray(rng.standard_normal((1, 2, 8, 8)).astype(np.float32))
    by_hand = F.max_pool2d(F.relu(F.conv2d(x, conv.weight, conv.bias)), 2)
    np.testing.assert_array_equal(to_np(net(Tensor(x))), to_np(by_hand))
    assert len(net) == 3 and list(net) == [net._modules[k] for k in ("0", "1", "2")]


def test_state_dict_names_follow_registration_order():
    net = _net()
    # module by module, each one's parameters then its buffers (BN running averages): PyTorch's order
    assert list(net.state_dict()) == [
        "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
        "score.weight", "score.bias"]
    assert [n for n, _ in net.named_parameters()] == [
        "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
        "score.weight", "score.bias"]
    assert net.num_parameters() == 4 * 3 * 9 + 4 + 4 + 4 + 4 * 2 + 2


def test_conv_without_bias_has_no_bias_entry():
    up = nn.ConvTranspose2d(3, 3, 4, stride=2, bias=False)
    assert list(up.state_dict()) == ["weight"]
    assert up(Tensor(np.zeros((1, 3, 5, 5), dtype=np.float32))).shape == (1, 3, 12, 12)  # (5-1)*2 + 4


def test_train_and_eval_switch_dropout_and_batch_norm(rng):
    net = _net()
    x = Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    assert all(m.training for _, m in net.named_modules())
    net.eval()
    assert not any(m.training for _, m in net.named_modules())
    bn = net.features._modules["1"]
    before = bn.running_mean.copy()
    a, b = net(x), net(x)
    np.testing.assert_array_equal(to_np(a), to_np(b))      # deterministic: no dropout
    np.testing.assert_array_equal(bn.running_mean, before)  # eval BN does not update
    net.train()
    h = net.features(x)
    # training BN normalises with batch statistics: per-channel mean 0 before the ReLU
    pre = F.batch_norm(net.features._modules["0"](x), None, None, bn.weight, bn.bias, training=True)
    np.testing.assert_allclose(to_np(pre).mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert not np.array_equal(bn.running_mean, before)
    assert (to_np(net.drop(h)) == 0).mean() > 0.3  # dropout on in training


def test_always_on_dropout_stays_on_in_eval():
    d = nn.Dropout(0.5, always_on=True).eval()
    y = to_np(d(Tensor(np.ones(1000, dtype=np.float32))))
    assert 0.4 < (y == 0).mean() < 0.6


def test_batchnorm2d_running_stats_match_torch(rng):
    torch = pytest.importorskip("torch")
    bn, tbn = nn.BatchNorm2d(3, momentum=0.2), torch.nn.BatchNorm2d(3, momentum=0.2)
    for _ in range(4):
        x = (rng.standard_normal((2, 3, 4, 5)) * 3 + 1).astype(np.float32)
        y, yt = bn(Tensor(x)), tbn(torch.from_numpy(x))
        np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    # float32 running averages: 1e-5 relative covers a few roundings of values ~1-10
    np.testing.assert_allclose(bn.running_mean, tbn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, tbn.running_var.numpy(), rtol=1e-5, atol=1e-6)
    bn.eval(), tbn.eval()
    x = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(to_np(bn(Tensor(x))), tbn(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("track", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm2d_options_match_torch(xp, rng, affine, track, momentum):
    """Each of PyTorch's option combinations, in float64: four training steps (the output, every
    gradient, the whole state dict after each), then eval (batch statistics there too when
    untracked). The batches drift, so a cumulative average (momentum None) and an exponential
    one end in different places."""
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm2d(3, momentum=momentum, affine=affine, track_running_stats=track).double()
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum, affine=affine, track_running_stats=track).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert repr(ours) == (f"BatchNorm2d(3, eps=1e-05, momentum={momentum}, affine={affine}, bias={affine}, "
                          f"track_running_stats={track})")   # PyTorch's (2.13's: bias= too)
    if affine:   # a scale and shift off ones and zeros, the same in both
        gamma, beta = 1 + 0.3 * rng.standard_normal(3), rng.standard_normal(3)
        ours.load_state_dict({**ours.state_dict(), "weight": gamma, "bias": beta})
        theirs.load_state_dict({**theirs.state_dict(), "weight": torch.from_numpy(gamma), "bias": torch.from_numpy(beta)})
    if xp is not np:
        ours.to("cuda")

    def step(what):
        x = rng.standard_normal((2, 3, 4, 5)) * 3 + 2 * len(seen)
        seen.append(what)
        a, b = Tensor(xp.asarray(x), requires_grad=True), torch.from_numpy(x).requires_grad_()
        y, yt = ours(a), theirs(b)
        np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=what)
        g = rng.standard_normal(x.shape)
        y.backward(xp.asarray(g))
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=what)
        for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(to_np(p.grad), pt.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=f"{what} {name}")
        state, tstate = ours.state_dict(), theirs.state_dict()
        assert list(state) == list(tstate)
        for k, v in tstate.items():
            assert state[k].dtype == v.numpy().dtype, f"{what} {k}"
            np.testing.assert_allclose(state[k], v.numpy(), rtol=1e-12, atol=1e-12, err_msg=f"{what} {k}")

    seen = []
    for i in range(4):
        step(f"training step {i}")
    ours.eval(), theirs.eval()
    step("eval")   # the count and the running statistics stay where training left them
    if track:
        assert int(ours.num_batches_tracked) == 4


def test_batchnorm2d_scale_without_a_shift_as_recent_pytorch(rng):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm2d(3, bias=False)
    assert ours.bias is None and list(ours.state_dict())[:2] == ["weight", "running_mean"]
    with pytest.raises(TypeError, match="positional"):   # PyTorch's sixth argument is a device
        nn.BatchNorm2d(3, 1e-5, 0.1, True, True, False)
    if "bias" not in torch.nn.BatchNorm2d.__init__.__code__.co_varnames:
        pytest.skip("this PyTorch's BatchNorm2d has no bias argument")
    theirs = torch.nn.BatchNorm2d(3, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(to_np(ours(Tensor(x))), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_batchnorm2d_state_without_a_count_still_loads(rng):
    """A state dict saved before BatchNorm2d kept num_batches_tracked loads strictly, the
    count left as it was (PyTorch's rule for its older files); a count given to a batch norm
    that tracks nothing is unexpected, in PyTorch too."""
    torch = pytest.importorskip("torch")
    trained = nn.BatchNorm2d(2)
    trained(Tensor(rng.standard_normal((2, 2, 3, 3)).astype(np.float32)))
    old = {k: v for k, v in trained.state_dict().items() if k != "num_batches_tracked"}
    fresh = nn.BatchNorm2d(2)
    assert fresh.load_state_dict(old) == ([], [])
    np.testing.assert_array_equal(fresh.running_mean, trained.running_mean)
    assert int(fresh.num_batches_tracked) == 0 and fresh.num_batches_tracked.dtype == np.int64
    fresh.load_state_dict(trained.state_dict())
    assert int(fresh.num_batches_tracked) == 1
    theirs = torch.nn.BatchNorm2d(2)
    assert theirs.load_state_dict({k: torch.from_numpy(v) for k, v in old.items()}) is not None
    counted = {"weight": np.ones(2, np.float32), "bias": np.zeros(2, np.float32), "num_batches_tracked": np.array(3)}
    with pytest.raises(ValueError, match=r"unexpected keys \['num_batches_tracked'\]"):
        nn.BatchNorm2d(2, track_running_stats=False).load_state_dict(counted)
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        torch.nn.BatchNorm2d(2, track_running_stats=False).load_state_dict({k: torch.from_numpy(v) for k, v in counted.items()})


def test_batchnorm2d_count_survives_to_astype_and_a_refused_batch(xp):
    bn = nn.BatchNorm2d(2, momentum=None).double()
    if xp is not np:
        bn.to("cuda")
    assert bn.num_batches_tracked.dtype == np.int64
    bn(Tensor(xp.ones((2, 2, 2, 2))))
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn(Tensor(xp.ones((1, 2, 1, 1))))   # refused: not counted
    assert int(bn.num_batches_tracked) == 1
    bn.eval()(Tensor(xp.ones((1, 2, 1, 1))))   # eval: not counted
    assert int(bn.num_batches_tracked) == 1
    bn.astype(np.float32)
    assert bn.running_mean.dtype == np.float32 and bn.num_batches_tracked.dtype == np.int64


def test_load_state_dict_round_trip(rng):
    a = _net()
    minifcn.manual_seed(1)
    b = nn.Sequential(features=nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()),
                      drop=nn.Dropout(0.5), score=nn.Conv2d(4, 2, 1))
    a.features(Tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32)))  # move a's running stats
    a.eval(), b.eval()
    x = Tensor(rng.standard_normal((1, 3, 5, 5)).astype(np.float32))
    assert not np.array_equal(to_np(a(x)), to_np(b(x)))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(to_np(a(x)), to_np(b(x)))
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)


def test_state_dict_returns_copies():
    net = _net()
    state = net.state_dict()
    state["score.bias"][:] = 42.0
    state["features.1.running_var"][:] = 42.0
    assert not np.any(to_np(net.score.bias.data) == 42.0)
    assert not np.any(net.features._modules["1"].running_var == 42.0)


def test_non_strict_load_ignores_unknown_and_missing_keys():
    net = _net()
    state = net.state_dict()
    del state["score.weight"]
    state["extra.weight"] = np.zeros(3)
    state["score.bias"] = np.array([1.0, 2.0])
    net.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(to_np(net.score.bias.data), [1.0, 2.0])
    assert net.score.bias.dtype == np.float32  # loaded values take the parameter's dtype


def test_module_to_cpu_and_astype(rng):
    net = _net().to("cpu").astype(np.float64)
    assert all(p.dtype == np.float64 for p in net.parameters())
    # every float array; the batch count stays an int, as PyTorch's .double() leaves it
    assert {k: v.dtype for k, v in net.state_dict().items() if v.dtype != np.float64} == \
        {"features.1.num_batches_tracked": np.int64}
    assert all(p.device == "cpu" for p in net.parameters())
    x = rng.standard_normal((2, 3, 4, 4))
    assert net.eval()(Tensor(x)).dtype == np.float64


def test_float64_module_gradcheck(rng):
    # a whole conv + BN (training) + ReLU + pool block, input and every parameter
    minifcn.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1).astype(np.float64)
    conv.bias.data = rng.standard_normal(3)

    def block(x, W, b, g, beta):
        h = F.conv2d(x, W, b, padding=1)
        h = F.batch_norm(h, None, None, g, beta, training=True)
        return F.max_pool2d(F.relu(h), 2)
    x = distinct_values((2, 2, 4, 4), seed=3, gap=0.1)
    arrays = [x, conv.weight.data, conv.bias.data, 1 + rng.random(3), rng.standard_normal(3)]
    assert gradcheck(block, arrays, max_elements=60)


def test_module_grads_reach_parameters_and_zero_grad(rng):
    net = _net()
    F.cross_entropy(net(Tensor(rng.standard_normal((1, 3, 4, 4)).astype(np.float32))),
                    rng.integers(0, 2, size=(1, 4, 4))).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_pool_and_unpool_modules_pass_indices_explicitly(xp):
    pool, unpool = nn.MaxPool2d(2, ceil_mode=True, return_indices=True), nn.MaxUnpool2d(2)
    x = Tensor(xp.asarray(distinct_values((1, 2, 5, 7), seed=4) + 10.0))  # positive: beat the zeros
    y, idx = pool(x)
    back = unpool(y, idx, output_size=x.shape)
    assert back.shape == x.shape
    # the maxima are back in place
    np.testing.assert_array_equal(to_np(F.max_pool2d(back, 2, ceil_mode=True)), to_np(y))


def test_astype_takes_the_float_dtypes_the_layers_run_in():
    net = _net()
    for bad in (np.int32, np.float16):   # int32 had truncated every weight, still requiring grad
        with pytest.raises(TypeError, match=f"float32 or float64, got {np.dtype(bad)}"):
            net.astype(bad)
    assert net.astype(np.float64).score.weight.dtype == np.float64


def test_batch_norm_momentum_is_a_number_or_none():
    for bad in (1.5, "0.1", True):
        with pytest.raises(ValueError, match=r"BatchNorm2d: momentum must be a number in \[0, 1\] or None, got"):
            nn.BatchNorm2d(4, momentum=bad)   # said when built, not at the first training step
    assert nn.BatchNorm2d(4, momentum=None).momentum is None   # PyTorch's cumulative average


def test_module_must_call_super_init():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1))
    with pytest.raises(AttributeError, match=r"must call super\(\)\.__init__\(\) before assigning 'w'"):
        Bad()


class _Tied(nn.Module):
    """One convolution applied twice, under two names (weights tied, as in a recurrent net)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 1)
        self.b = self.a

    def forward(self, x):
        return self.b(self.a(x))


def test_a_shared_module_is_one_set_of_parameters_as_in_pytorch():
    # named_parameters() had listed a.weight and b.weight: an optimizer stepped the weight twice
    torch = pytest.importorskip("torch")
    from minifcn.optim import SGD
    m = _Tied()
    m.a.weight.data[...], m.a.bias.data[...] = 1.0, 0.0
    assert [n for n, _ in m.named_parameters()] == ["a.weight", "a.bias"] and m.num_parameters() == 2
    assert [n for n, _ in m.named_modules()] == ["", "a"]
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]   # PyTorch's too
    m.load_state_dict(m.state_dict())   # strict: every name it writes, it reads
    opt = SGD(m.parameters(), lr=0.1)
    m(Tensor(np.ones((1, 1, 1, 1), np.float32))).sum().backward()
    opt.step()
    t = torch.nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        t.weight.fill_(1.0), t.bias.fill_(0.0)
    tied = torch.nn.Module()
    tied.a = tied.b = t
    topt = torch.optim.SGD(tied.parameters(), lr=0.1)
    tied.b(tied.a(torch.ones(1, 1, 1, 1))).sum().backward()
    topt.step()
    assert list(dict(tied.named_parameters())) == ["a.weight", "a.bias"]
    assert list(tied.state_dict()) == list(m.state_dict())
    np.testing.assert_allclose(m.a.weight.data.ravel(), t.weight.detach().numpy().ravel())   # 0.8


def test_assigning_over_a_parameter_or_module_keeps_its_kind_and_place():
    c = nn.Conv2d(1, 2, 3)
    with pytest.raises(TypeError, match="cannot assign ndarray as parameter 'weight' of Conv2d"):
        c.weight = c.weight.data * 2   # had dropped weight from the state dict, silently
    c.weight = nn.Parameter(c.weight.data * 2)
    assert list(c.state_dict()) == ["weight", "bias"]   # had moved weight after bias
    net = nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU())
    with pytest.raises(TypeError, match="as child module '0'"):
        setattr(net, "0", np.zeros(3))
    bn = nn.BatchNorm2d(2)
    bn.running_mean = np.full(2, 3.0, np.float32)   # an array on a buffer's name stays that buffer
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert bn.state_dict()["running_mean"].tolist() == [3.0, 3.0]


def test_segnet_state_dict_order_is_pytorchs():
    pytest.importorskip("torch")
    from benchmarks.torch_models import TorchSegNet
    from minifcn.models import SegNet
    assert list(SegNet(5).state_dict()) == list(TorchSegNet(5).state_dict())


def test_sequential_indexes_its_layers_in_order():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 3, 1))
    assert net[0] is getattr(net, "0") and net[-1] is getattr(net, "2")
    assert list(net[1:]) == [getattr(net, "1"), getattr(net, "2")]
    assert list(net[1:].state_dict()) == ["2.weight", "2.bias"]   # the names they had


def test_sequential_takes_an_ordered_dict_and_refuses_what_is_not_a_module():
    """As PyTorch's: an OrderedDict names the layers. It had been stored as a plain attribute,
    leaving a net with no layers that returned its input."""
    from collections import OrderedDict
    net = nn.Sequential(OrderedDict([("conv", nn.Conv2d(3, 4, 3, padding=1)), ("relu", nn.ReLU())]))
    assert list(net.state_dict()) == ["conv.weight", "conv.bias"]
    assert net(Tensor(np.zeros((1, 3, 5, 5), dtype=np.float32))).shape == (1, 4, 5, 5)
    with pytest.raises(TypeError, match=r"'0' must be a Module, got list"):
        nn.Sequential([nn.ReLU()])
    with pytest.raises(TypeError, match=r"'act' must be a Module, got function"):
        nn.Sequential(act=F.relu)


@pytest.mark.parametrize("make", [
    lambda: nn.Dropout(0.5, True, True),          # PyTorch takes two; the third, always_on, a keyword
])
def test_arguments_whose_place_means_another_thing_in_pytorch_are_keywords(make):
    with pytest.raises(TypeError, match="positional"):
        make()


@pytest.mark.parametrize("make,message", [
    (lambda: nn.Conv2d(2.5, 4, 3), "Conv2d: in_channels must be a positive int, got 2.5"),
    (lambda: nn.Conv2d(3, 0, 3), "Conv2d: out_channels must be a positive int, got 0"),
    (lambda: nn.Conv2d(3, 4, 0), "Conv2d: kernel_size must be >= 1"),
    (lambda: nn.ConvTranspose2d(True, 4, 3), "ConvTranspose2d: in_channels must be a positive int, got True"),
    (lambda: nn.Linear(3, -1), "Linear: out_features must be a positive int, got -1"),
    (lambda: nn.BatchNorm2d(0), "BatchNorm2d: num_features must be a positive int, got 0"),
])
def test_layer_sizes_are_positive_ints_named_in_the_error(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make()


def test_layer_sizes_accept_numpy_ints():
    conv = nn.Conv2d(np.int64(3), np.int32(4), np.int64(3))
    assert conv.weight.shape == (4, 3, 3, 3) and type(conv.weight.shape[0]) is int


def test_load_state_dict_returns_the_keys_it_did_not_match():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    state = net.state_dict()
    assert net.load_state_dict(state) == ([], [])
    del state["0.bias"]
    state["extra"] = np.zeros(1)
    missing, unexpected = net.load_state_dict(state, strict=False)   # as PyTorch's
    assert (missing, unexpected) == (["0.bias"], ["extra"])


def test_a_pytorch_batch_norm_state_loads_strictly():
    """PyTorch's BatchNorm2d state loads strictly, its num_batches_tracked included (before this
    library kept one, a strict load had failed on it)."""
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    theirs.train()(torch.randn(2, 1, 5, 5))   # running statistics off their start
    ours = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    assert "1.num_batches_tracked" in state
    assert ours.load_state_dict(state) == ([], [])
    np.testing.assert_array_equal(to_np(ours[1].running_mean), state["1.running_mean"])
    assert int(ours[1].num_batches_tracked) == 1
    with pytest.raises(ValueError, match=r"unexpected keys \['0.num_batches_tracked'\]"):
        ours.load_state_dict({**state, "0.num_batches_tracked": state["1.num_batches_tracked"]})


def test_buffers_none_not_persistent_deleted_and_over_a_parameter_as_in_pytorch():
    m = nn.Conv2d(1, 2, 3)
    m.register_buffer("mask", None)          # a name without an array: not saved
    m.register_buffer("scratch", np.ones(2), persistent=False)
    m.register_buffer("kept", np.zeros(2))
    assert list(m.state_dict()) == ["weight", "bias", "kept"]
    m.astype(np.float32)                     # moves and casts the scratch buffer, keeps it unsaved
    assert m.scratch.dtype == np.float32 and "scratch" not in m.state_dict()
    assert m.load_state_dict(m.state_dict()) == ([], [])
    m.mask = np.ones(3)                      # an array over the None buffer: saved from now on
    assert list(m.state_dict()) == ["weight", "bias", "mask", "kept"]   # in its registered place
    del m.bias                               # it had stayed in the state dict
    assert "bias" not in m.state_dict() and not hasattr(m, "bias")
    with pytest.raises(KeyError, match="'weight' is already a parameter"):
        m.register_buffer("weight", np.zeros(2))
    with pytest.raises(TypeError, match="buffer 'x' must be an array or None, got float"):
        m.register_buffer("x", 3.0)


def test_a_state_dict_that_does_not_fit_raises_what_pytorch_raises_and_what_we_raised():
    net = nn.Sequential(nn.Conv2d(1, 2, 3))
    bad = {"0.weight": np.zeros((2, 1, 5, 5), np.float32), "0.bias": np.zeros(2, np.float32)}
    with pytest.raises(RuntimeError, match=r"layer '0.weight' expects shape \(2, 1, 3, 3\)"):
        net.load_state_dict(bad)   # PyTorch's type: code written for it catches this
    with pytest.raises(ValueError, match="missing keys"):
        net.load_state_dict({})    # ours before: code written for minifcn still catches it


def _blocks_init(self, lib, depth):
    """A model whose layers are built in a loop: PyTorch users' ModuleList."""
    lib.nn.Module.__init__(self)
    self.stem = lib.nn.Conv2d(1, 2, 3, padding=1)
    self.blocks = lib.nn.ModuleList([lib.nn.Conv2d(2, 2, 3, padding=1) for _ in range(depth)])
    self.head = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Conv2d(2, 3, 1))


def _blocks(lib, depth=3):   # the same class for both libraries: its Module base set per call
    cls = type("Blocks", (lib.nn.Module,), {"__init__": _blocks_init})
    return cls(lib, depth)


def test_module_list_registers_its_layers_as_pytorch():
    m = _blocks(minifcn)
    assert [k for k in m.state_dict()][:6] == ["stem.weight", "stem.bias", "blocks.0.weight",
                                               "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert m.num_parameters() == 3 * (2 * 2 * 9 + 2) + (2 * 9 + 2) + (2 * 3 + 3)
    x = Tensor(np.ones((1, 1, 4, 4), np.float32))
    y = m.stem(x)
    for block in m.blocks:
        y = block(y)
    m.head(y).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    torch = pytest.importorskip("torch")
    t = _blocks(torch)
    assert list(m.state_dict()) == list(t.state_dict())
    assert [type(a).__name__ for a in m.modules()] == [type(b).__name__ for b in t.modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]


def test_module_list_edits_renumber_as_pytorch():
    torch = pytest.importorskip("torch")

    def edit(lib):
        ml = lib.nn.ModuleList([lib.nn.Conv2d(1, 1, 1), lib.nn.ReLU()])
        ml.append(lib.nn.Conv2d(1, 2, 1))
        ml.extend([lib.nn.Conv2d(2, 3, 1)])
        ml.insert(1, lib.nn.Conv2d(1, 4, 1))
        del ml[0]
        ml[-1] = lib.nn.Conv2d(2, 5, 1)
        ml += [lib.nn.ReLU()]
        return ml, [(k, tuple(v.shape)) for k, v in ml.state_dict().items()]

    (ours, keys), (theirs, tkeys) = edit(minifcn), edit(torch)
    assert keys == tkeys and len(ours) == len(theirs) == 5
    assert [type(m).__name__ for m in ours[1:3]] == ["ReLU", "Conv2d"]
    assert isinstance(ours[1:3], nn.ModuleList)
    with pytest.raises(TypeError, match="ModuleList: items must be Modules, got ndarray"):
        ours.append(np.zeros(3))
    with pytest.raises(TypeError, match="use append"):
        ours.extend(nn.ReLU())


def test_apply_visits_children_first_and_modules_once_each_as_pytorch():
    torch = pytest.importorskip("torch")
    seen = {}
    for lib in (minifcn, torch):
        m = _blocks(lib, depth=2)
        m.shared = m.blocks[0]   # apply visits it under each name; modules() once
        order = []
        assert m.apply(lambda mod: order.append(type(mod).__name__)) is m
        seen[lib.__name__] = (order, [type(a).__name__ for a in m.modules()],
                              [n for n, _ in m.named_children()])
    assert seen["minifcn"] == seen["torch"]
    assert seen["minifcn"][0][-1] == "Blocks" and seen["minifcn"][0].count("Conv2d") == 5


def test_apply_is_the_custom_initialisation_loop():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 1))

    def init(m):
        if isinstance(m, nn.Conv2d):
            m.weight.data[...] = 0.5

    net.apply(init)
    assert all(float(m.weight.data.min()) == 0.5 for m in net.modules() if isinstance(m, nn.Conv2d))
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 2


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_loss_module_matches_pytorch(rng, reduction):
    torch = pytest.importorskip("torch")
    scores = rng.standard_normal((2, 3, 4, 5))
    target = rng.integers(0, 3, (2, 4, 5))
    target[0, 0, :2] = 255
    weight = np.array([0.5, 2.0, 1.0])
    ours = nn.CrossEntropyLoss(weight=weight, reduction=reduction, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(weight), ignore_index=255,
                                       reduction=reduction, label_smoothing=0.1)
    x, xt = Tensor(scores, requires_grad=True), torch.from_numpy(scores).requires_grad_()
    loss, loss_t = ours(x, target), theirs(xt, torch.from_numpy(target))
    np.testing.assert_allclose(to_np(loss), loss_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(loss_t.shape)
    loss.backward(g)
    loss_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_np(x.grad), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == list(torch.nn.CrossEntropyLoss().state_dict())


def test_cross_entropy_loss_module_refuses_a_bad_reduction_when_built():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.CrossEntropyLoss(reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_module_matches_pytorch(xp, rng, reduction):
    torch = pytest.importorskip("torch")
    logp = np.log(naive_softmax(rng.standard_normal((2, 3, 4, 5))))
    target = rng.integers(0, 3, (2, 4, 5))
    target[0, 0, :2] = 255
    weight = np.array([0.5, 2.0, 1.0])
    ours = nn.NLLLoss(weight=weight, reduction=reduction)
    theirs = torch.nn.NLLLoss(weight=torch.from_numpy(weight), ignore_index=255, reduction=reduction)
    if xp is not np:
        ours.to("cuda")   # the weight is a buffer: it moves with the module
    x, xt = Tensor(xp.asarray(logp), requires_grad=True), torch.from_numpy(logp).requires_grad_()
    loss, loss_t = ours(x, xp.asarray(target)), theirs(xt, torch.from_numpy(target))
    np.testing.assert_allclose(to_np(loss), loss_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(loss_t.shape)
    loss.backward(xp.asarray(g))
    loss_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_np(x.grad), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert list(nn.NLLLoss().state_dict()) == list(torch.nn.NLLLoss().state_dict()) == []
    assert "weight of 3 classes" in repr(ours) and "ignore_index=255" in repr(ours)


def test_module_dict_keeps_names_and_order_as_pytorch():
    torch = pytest.importorskip("torch")

    def build(lib):
        d = lib.nn.ModuleDict({"score_fr": lib.nn.Conv2d(4, 3, 1), "relu": lib.nn.ReLU()})
        d.update([("score_pool4", lib.nn.Conv2d(2, 3, 1))])
        d["score_fr"] = lib.nn.Conv2d(4, 5, 1)   # replaced: keeps its place
        popped = d.pop("relu")
        return d, popped, [(k, tuple(v.shape)) for k, v in d.state_dict().items()]

    (ours, popped, keys), (theirs, _, tkeys) = build(minifcn), build(torch)
    assert keys == tkeys == [("score_fr.weight", (5, 4, 1, 1)), ("score_fr.bias", (5,)),
                             ("score_pool4.weight", (3, 2, 1, 1)), ("score_pool4.bias", (3,))]
    assert list(ours) == list(theirs) and "relu" not in ours and isinstance(popped, nn.ReLU)
    assert [type(m).__name__ for m in ours.values()] == ["Conv2d", "Conv2d"]
    with pytest.raises(TypeError, match="'x' must be a Module, got int"):
        ours["x"] = 3
    with pytest.raises(TypeError, match="keys must be str, got int"):
        ours[0] = nn.ReLU()
    for bad in ("train", "a.b", ""):   # PyTorch refuses these too
        with pytest.raises(KeyError, match="cannot name a module"):
            ours[bad] = nn.ReLU()
        with pytest.raises(KeyError):
            theirs[bad] = torch.nn.ReLU()
    assert ours.train() is ours
    with pytest.raises(KeyError, match="Sequential: 'eval' cannot name a module"):
        nn.Sequential(OrderedDict(eval=nn.ReLU()))


def test_a_child_held_twice_by_one_module_is_visited_once_as_pytorch():
    torch = pytest.importorskip("torch")
    counts = {}
    for lib in (minifcn, torch):
        c = lib.nn.Conv2d(1, 1, 1)
        seen = []
        for holder in (lib.nn.Sequential(c, c), lib.nn.ModuleList([c, c])):
            holder.apply(lambda m: seen.append(type(m).__name__))   # apply had doubled c's init
            seen.append(len(list(holder.children())))
        counts[lib.__name__] = seen
    assert counts["minifcn"] == counts["torch"] == ["Conv2d", "Sequential", 1, "Conv2d", "ModuleList", 1]


def test_module_list_appends_after_named_children_and_adds_as_pytorch():
    torch = pytest.importorskip("torch")
    keys = {}
    for lib in (minifcn, torch):
        ml = lib.nn.ModuleList([lib.nn.Conv2d(1, 1, 1)])
        ml.head = lib.nn.Conv2d(1, 2, 1)       # a subclass's own child, by attribute
        ml.append(lib.nn.Conv2d(1, 3, 1))      # named len(ml): nothing renumbered
        both = ml + lib.nn.ModuleList([lib.nn.ReLU()])
        keys[lib.__name__] = (list(ml.state_dict()), len(both), type(both).__name__)
    assert keys["minifcn"] == keys["torch"]
    ml = nn.ModuleList([nn.ReLU(), nn.ReLU()])
    for bad in (lambda: ml[5], lambda: ml.__setitem__(-3, nn.ReLU()), lambda: ml.__delitem__(2)):
        with pytest.raises(IndexError, match=r"ModuleList: index -?\d is out of range for 2 modules"):
            bad()


def test_cross_entropy_loss_checks_what_it_is_built_with():
    with pytest.raises(ValueError, match="CrossEntropyLoss: label_smoothing must be a number in"):
        nn.CrossEntropyLoss(label_smoothing=-1)
    with pytest.raises(ValueError, match=r"weight must hold one value a class, got shape \(2, 2\)"):
        nn.CrossEntropyLoss(weight=np.ones((2, 2)))
    with pytest.raises(TypeError, match="positional"):   # PyTorch's second is size_average
        nn.CrossEntropyLoss(None, False)
    assert "weight of 3 classes" in repr(nn.CrossEntropyLoss(weight=np.ones(3)))


def test_pytorch_module_habits_work(rng):
    """ReLU(inplace=True) and Dropout(p, True) as VGG code writes them (computed out of place
    here); Identity; zero_grad(set_to_none=False); requires_grad_, float, double, buffers."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    for lib in (minifcn, torch):
        lib.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.Identity(),
                        nn.Dropout(0.5, True))
    assert net[2].inplace and net[4].inplace
    y = net.eval()(Tensor(x))
    assert y.shape == (2, 4, 2, 2) and float(y.data.min()) >= 0
    net.train()(Tensor(x)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    net[0].bias.grad = None
    net.zero_grad(set_to_none=False)   # None stays None, as PyTorch's (SGD then skips it)
    assert net[0].bias.grad is None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    assert net.double()[0].weight.dtype == np.float64 and net.float()[1].running_mean.dtype == np.float32
    t = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert len(net.buffers()) == 3 and net[1].num_batches_tracked.dtype == np.int64


def test_sequential_append_as_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(1, 2, 1)).append(nn.ReLU()).append(nn.Conv2d(2, 3, 1))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1)).append(torch.nn.ReLU()).append(torch.nn.Conv2d(2, 3, 1))
    assert list(ours.state_dict()) == list(theirs.state_dict()) and len(ours) == 3
    with pytest.raises(TypeError, match="Sequential: items must be Modules, got function"):
        ours.append(F.relu)


def _transpose_pair(torch, stride, padding, kernel=3, output_padding=0):
    """A float64 ConvTranspose2d of ours and torch's with the same weight and bias."""
    minifcn.manual_seed(0)
    ours = nn.ConvTranspose2d(2, 3, kernel, stride, padding, output_padding).astype(np.float64)
    ours.bias.data[...] = np.arange(3.0)
    theirs = torch.nn.ConvTranspose2d(2, 3, kernel, stride, padding, output_padding).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(to_np(ours.weight)))
        theirs.bias.copy_(torch.from_numpy(to_np(ours.bias)))
    return ours, theirs


@pytest.mark.parametrize("stride", [1, 2, 3, (3, 2)])
@pytest.mark.parametrize("padding", [0, 1, (2, 0)])
def test_conv_transpose2d_output_size_as_pytorch(xp, rng, stride, padding):
    # every output size the stride allows, both ends of the range included, on each side; the
    # layer's own output_padding (1 where the stride allows it) is not used, as in PyTorch
    torch = pytest.importorskip("torch")
    sy, sx = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    ours, theirs = _transpose_pair(torch, stride, padding, 4, output_padding=int(min(sy, sx) > 1))
    ours.to("cuda" if xp is not np else "cpu")
    x = rng.standard_normal((2, 2, 4, 5))
    low = ((4 - 1) * sy - 2 * ph + 4, (5 - 1) * sx - 2 * pw + 4)
    for out_h in range(low[0], low[0] + sy):
        for out_w in range(low[1], low[1] + sx):
            for size in ((out_h, out_w), [2, 3, out_h, out_w], torch.Size([2, 3, out_h, out_w])):
                xt = torch.from_numpy(x.copy()).requires_grad_()
                yt = theirs(xt, output_size=size)
                ours.zero_grad()
                xo = Tensor(xp.asarray(x), requires_grad=True)
                y = ours(xo, output_size=size)
                assert y.shape == tuple(yt.shape) == (2, 3, out_h, out_w)
                np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
                g = rng.standard_normal(y.shape)
                y.backward(xp.asarray(g))
                yt.backward(torch.from_numpy(g))
                np.testing.assert_allclose(to_np(xo.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
                np.testing.assert_allclose(to_np(ours.weight.grad), theirs.weight.grad.numpy(),
                                           rtol=1e-10, atol=1e-10)
                theirs.zero_grad()


@pytest.mark.parametrize("stride, padding, size", [
    (1, 0, (7, 8)), (1, 0, (5, 6)), (2, 1, (9, 9)), (2, 1, (6, 8)), (3, 0, (15, 16)),
    (3, 0, (13, 12)), (2, 0, (-1, 10)),
])
def test_conv_transpose2d_output_size_out_of_range_as_pytorch(stride, padding, size):
    # an input of 4x5, kernel 3: sizes from (h - 1)*s - 2p + 3 up to s - 1 more
    torch = pytest.importorskip("torch")
    ours, theirs = _transpose_pair(torch, stride, padding)
    x = np.zeros((1, 2, 4, 5))
    low = (3 * stride - 2 * padding + 3, 4 * stride - 2 * padding + 3)
    high = (low[0] + stride - 1, low[1] + stride - 1)
    with pytest.raises(ValueError, match="valid sizes range from"):
        theirs(torch.from_numpy(x), output_size=size)
    message = (f"ConvTranspose2d: requested an output size of {size}, but valid sizes range from "
               f"{low} to {high} (for an input of 4x5)")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ours(x, output_size=size)


def test_conv_transpose2d_output_size_of_another_length_or_kind_is_refused():
    torch = pytest.importorskip("torch")
    ours, theirs = _transpose_pair(torch, 2, 1)
    x = np.zeros((1, 2, 4, 5))
    for size in ((7,), (1, 7, 9), (1, 3, 7, 9, 9)):   # PyTorch takes 2 or 4 for a 4-D input
        with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
            theirs(torch.from_numpy(x), output_size=size)
        with pytest.raises(ValueError, match=r"output_size must be \(h, w\) or \(n, c, h, w\), got"):
            ours(x, output_size=size)
    with pytest.raises(ValueError, match="output_size must be"):
        ours(x, output_size=7)
    with pytest.raises(TypeError, match=r"output_size must hold ints, got \(7.0, 9\)"):
        ours(x, output_size=(7.0, 9))
    with pytest.raises(ValueError, match="input must be 4-D"):
        ours(np.zeros((2, 4, 5)), output_size=(7, 9))
    # an array holds the sizes, as PyTorch reads one (not an array whose shape is the size)
    assert ours(x, output_size=np.array([8, 10])).shape == (1, 3, 8, 10)
    assert tuple(theirs(torch.from_numpy(x), output_size=np.array([8, 10])).shape) == (1, 3, 8, 10)


def test_to_takes_a_dtype_as_pytorchs():
    # .to(np.float64) had been read as a device: "unknown device <class 'numpy.float64'>"
    bn = nn.BatchNorm2d(2).to(np.float64)
    assert bn.weight.dtype == bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    assert nn.Conv2d(1, 2, 3).to("cpu", dtype="float64").weight.dtype == np.float64
    t = Tensor(np.ones(2, np.float32), requires_grad=True)
    assert t.to("cpu") is t and t.to(np.float32) is t
    u = t.to(np.float64)
    assert u.dtype == np.float64
    (u * 2).sum().backward()                       # in the graph: the gradient comes back in float32
    assert t.grad.dtype == np.float32 and t.grad.tolist() == [2.0, 2.0]
    assert Tensor(np.ones(2)).to(t).dtype == np.float32   # another tensor's device and dtype
    with pytest.raises(TypeError, match="float32 or float64"):
        nn.Conv2d(1, 2, 3).to(np.int32)


def test_small_readings_of_to_and_output_size():
    t = Tensor(np.ones(2))
    assert t.to("cpu:0") is t                      # PyTorch's name for the CPU too
    with pytest.raises(ValueError, match="unknown device 'c'"):   # NumPy reads "c" as a bytes dtype
        t.to("c")
    up = nn.ConvTranspose2d(1, 1, 3, stride=2)
    x = Tensor(np.ones((1, 1, 4, 4), np.float32))
    assert up(x, output_size=np.array([10, 10])).shape == (1, 1, 10, 10)   # its values, not its .shape


def test_add_module_and_abs_as_pytorchs():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Module(), torch.nn.Module()
    for i in range(2):   # names made at run time
        ours.add_module(f"conv{i}", nn.Conv2d(1, 2, 3))
        theirs.add_module(f"conv{i}", torch.nn.Conv2d(1, 2, 3))
    ours.register_module("relu", nn.ReLU())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_children()] == ["conv0", "conv1", "relu"]
    with pytest.raises(KeyError, match="'a.b' cannot name a module"):
        ours.add_module("a.b", nn.ReLU())
    with pytest.raises(TypeError, match="must be a Module or None, got int"):
        ours.add_module("x", 3)
    t = Tensor(np.array([-1.5, 2.0]), requires_grad=True)
    abs(t).sum().backward()                       # abs(t) had been a TypeError
    assert t.grad.tolist() == [-1.0, 1.0]
