"""Module's dotted paths and registration, beside PyTorch's: ``get_submodule``,
``get_parameter``, ``get_buffer`` on the real models (FCN-8s, SegNet) and their PyTorch twins
(benchmarks/torch_models.py), ``register_parameter`` with its empty slot (None), and the
keywords of ``named_modules`` (memo, prefix, remove_duplicate), ``named_parameters`` and
``named_buffers`` (prefix, recurse, remove_duplicate), each compared name for name with
PyTorch's on the same structure.
"""
from collections import OrderedDict

import numpy as np
import pytest

from minifcn import Tensor, nn
from minifcn.models import FCN8s, SegNet
from minifcn.optim import SGD

WIDTH = 1 / 16   # the models' names are the paper's at any width; a narrow one builds fast


@pytest.fixture(scope="module")
def fcn8s():
    return FCN8s(21, width=WIDTH)


@pytest.fixture(scope="module")
def segnet():
    return SegNet(5, width=WIDTH)


# --------------------------------------------------------------------- get_submodule & co
def test_every_parameter_and_buffer_by_its_state_dict_name(fcn8s, segnet):
    for net in (fcn8s, segnet):
        params = dict(net.named_parameters())
        buffers = dict(net.named_buffers())
        assert params and (buffers or net is fcn8s)
        for name in net.state_dict():
            owner = net.get_submodule(name.rpartition(".")[0])
            if name in params:
                assert net.get_parameter(name) is params[name]
                assert owner is dict(net.named_modules())[name.rpartition(".")[0]]
            else:
                assert net.get_buffer(name) is buffers[name]
                assert isinstance(owner, nn.BatchNorm2d)


def test_every_module_by_its_name(fcn8s, segnet):
    for net in (fcn8s, segnet):
        for name, m in net.named_modules():
            assert net.get_submodule(name) is m
    assert fcn8s.get_submodule("") is fcn8s
    assert isinstance(fcn8s.get_submodule("upscore8"), nn.ConvTranspose2d)


def test_nested_paths_walk_down_containers():
    net = nn.Sequential(OrderedDict(encoder=nn.ModuleList([nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)]),
                                    heads=nn.ModuleDict({"score": nn.Conv2d(2, 3, 1)})))
    assert net.get_submodule("encoder.1") is net.encoder[1]
    assert net.get_parameter("heads.score.bias") is net.heads["score"].bias
    assert net.get_buffer("encoder.1.running_var") is net.encoder[1].running_var
    assert net.get_submodule("encoder").get_parameter("0.weight") is net.encoder[0].weight


def test_the_same_names_as_the_pytorch_twins(fcn8s, segnet):
    torch = pytest.importorskip("torch")
    from benchmarks.torch_models import TorchFCN8s, TorchSegNet
    for ours, theirs in ((fcn8s, TorchFCN8s(21, width=WIDTH)), (segnet, TorchSegNet(5, width=WIDTH))):
        for name in theirs.state_dict():
            parent = name.rpartition(".")[0]
            assert type(ours.get_submodule(parent)).__name__ == type(theirs.get_submodule(parent)).__name__
            if name.endswith(("running_mean", "running_var", "num_batches_tracked")):
                assert tuple(ours.get_buffer(name).shape) == tuple(theirs.get_buffer(name).shape), name
            else:
                assert ours.get_parameter(name).shape == tuple(theirs.get_parameter(name).shape), name
        assert isinstance(theirs.get_parameter("conv1_1.weight"), torch.nn.Parameter)


# what fails, and PyTorch's words for it (the same on both, by the same regex)
FAILURES = [
    ("get_submodule", "score_fr2", r"has no attribute `score_fr2`"),
    ("get_submodule", "conv1_1.weight", r"`weight` is not an nn.Module"),
    ("get_submodule", "conv1_1.weight.data", r"`weight` is not an nn.Module"),
    ("get_submodule", "conv1_1..weight", r"has no attribute ``"),
    ("get_parameter", "upscore8.bias", r"`bias` is not an nn.Parameter"),   # bias=False: None
    ("get_parameter", "score_fr.stride", r"`stride` is not an nn.Parameter"),
    ("get_parameter", "score_fr.gamma", r"has no attribute `gamma`"),
    ("get_parameter", "score_fr2.weight", r"has no attribute `score_fr2`"),
    ("get_parameter", "", r"has no attribute ``"),
    ("get_parameter", "score_fr", r"`score_fr` is not an nn.Parameter"),
    ("get_buffer", "score_fr.weight", r"`weight` is not a buffer"),
    ("get_buffer", "conv1_1.running_mean", r"has no attribute `running_mean`"),
]


@pytest.mark.parametrize("method,target,message", FAILURES)
def test_failures_raise_pytorchs_attribute_errors(fcn8s, method, target, message):
    with pytest.raises(AttributeError, match=message):
        getattr(fcn8s, method)(target)


@pytest.mark.parametrize("method,target,message", FAILURES)
def test_pytorch_raises_the_same_there(method, target, message):
    pytest.importorskip("torch")
    from benchmarks.torch_models import TorchFCN8s
    with pytest.raises(AttributeError, match=message):
        getattr(TorchFCN8s(21, width=WIDTH), method)(target)


def test_errors_say_where_the_walk_stopped(fcn8s, segnet):
    with pytest.raises(AttributeError, match=r"^Conv2d at 'conv1_1' has no attribute `gamma` "
                                             r"\(looking for 'conv1_1.gamma' in FCN8s\)$"):
        fcn8s.get_parameter("conv1_1.gamma")
    with pytest.raises(AttributeError, match=r"^FCN8s has no attribute `conv9_9` \(looking for "
                                             r"'conv9_9.weight' in FCN8s\)$"):
        fcn8s.get_parameter("conv9_9.weight")
    with pytest.raises(AttributeError, match=r"`weight` is not an nn.Module: 'conv1_1.weight' is a "
                                             r"Parameter \(looking for 'conv1_1.weight.data' in FCN8s\)"):
        fcn8s.get_submodule("conv1_1.weight.data")
    with pytest.raises(AttributeError, match=r"`weight` is not a buffer: 'conv1_1_bn.weight' is a Parameter"):
        segnet.get_buffer("conv1_1_bn.weight")
    with pytest.raises(AttributeError, match=r"`bias` is not an nn.Parameter: 'upscore8.bias' is a NoneType"):
        fcn8s.get_parameter("upscore8.bias")
    for method in ("get_submodule", "get_parameter", "get_buffer"):
        with pytest.raises(TypeError, match=rf"FCN8s.{method}: target must be a dotted str path, got int"):
            getattr(fcn8s, method)(3)


# --------------------------------------------------------------------- register_parameter
def _pair_of_modules(torch):
    """An empty module of each library, and how each makes a parameter and a plain array."""
    return [(nn.Module(), lambda: nn.Parameter(np.zeros(2)), lambda: np.zeros(2)),
            (torch.nn.Module(), lambda: torch.nn.Parameter(torch.zeros(2)), lambda: torch.zeros(2))]


def test_an_empty_slot_keeps_its_place_as_pytorchs():
    torch = pytest.importorskip("torch")
    orders = []
    for m, param, array in _pair_of_modules(torch):
        m.register_parameter("a", None)
        m.register_parameter("b", param())
        assert m.a is None and [k for k, _ in m.named_parameters()] == ["b"] and list(m.state_dict()) == ["b"]
        with pytest.raises(TypeError):   # an array may not take a parameter's name
            m.a = array()
        m.a = param()
        orders.append((list(m.state_dict()), [k for k, _ in m.named_parameters()]))
        m.b = None   # a Parameter's name set to None: the slot stays, in its place
        with pytest.raises(AttributeError, match="`b` is not an nn.Parameter"):
            m.get_parameter("b")
        with pytest.raises(TypeError):
            m.b = array()
        m.b = param()
        orders.append([k for k, _ in m.named_parameters()])
        m.register_parameter("a", param())   # registered again: replaced, in its place
        orders.append(list(m.state_dict()))
    ours, theirs = orders[:3], orders[3:]
    assert ours == theirs == [(["a", "b"], ["a", "b"]), ["a", "b"], ["a", "b"]]


def test_a_module_with_an_empty_slot_trains_saves_and_loads():
    m = nn.Conv2d(1, 2, 3, bias=False)
    assert m.bias is None and [k for k, _ in m.named_parameters()] == ["weight"]
    state = m.state_dict()
    assert list(state) == ["weight"]
    m.load_state_dict(state)   # strict: the empty slot is no key
    opt = SGD(m.parameters(), lr=0.1)
    m(Tensor(np.ones((1, 1, 3, 3), np.float32))).sum().backward()
    opt.step()
    m.bias = nn.Parameter(np.zeros(2, np.float32))   # the slot taken: after weight, as PyTorch's
    assert list(m.state_dict()) == ["weight", "bias"]
    m.float()   # astype and to() step over an empty slot
    up = nn.ConvTranspose2d(2, 2, 4, 2, bias=False).to("cpu", np.float64)
    assert up.bias is None and up.weight.dtype == np.float64


@pytest.mark.parametrize("name,value,error,message", [
    (3, None, TypeError, r"Module.register_parameter: a parameter name must be a str, got int"),
    ("", None, KeyError, r"'' cannot name a parameter \(empty, holds a dot"),
    ("a.b", None, KeyError, r"'a.b' cannot name a parameter"),
    ("training", None, KeyError, r"'training' cannot name a parameter .*already an attribute of Module"),
    ("forward", None, KeyError, r"'forward' cannot name a parameter"),
    ("buf", None, KeyError, r"'buf' cannot name a parameter"),
    ("child", None, KeyError, r"'child' cannot name a parameter"),
    ("w", "array", TypeError, r"Module.register_parameter: 'w' must be a Parameter or None, got ndarray"),
    ("w", "tensor", TypeError, r"'w' must be a Parameter or None, got Tensor"),
])
def test_register_parameter_refuses_as_pytorch(name, value, error, message):
    torch = pytest.importorskip("torch")
    made = {"array": (np.zeros(2), torch.zeros(2).numpy()), "tensor": (Tensor(np.zeros(2)), torch.zeros(2)),
            None: (None, None)}[value]
    for m, v, lib in ((nn.Module(), made[0], nn), (torch.nn.Module(), made[1], torch.nn)):
        m.register_buffer("buf", np.zeros(1) if lib is nn else torch.zeros(1))
        m.child = lib.ReLU()
        with pytest.raises(error) as caught:
            m.register_parameter(name, v)
        if lib is nn:
            assert caught.match(message)


def test_register_parameter_before_init_and_a_buffer_over_a_slot():
    torch = pytest.importorskip("torch")

    class Early(nn.Module):
        def __init__(self):
            self.register_parameter("w", None)

    class TorchEarly(torch.nn.Module):
        def __init__(self):
            self.register_parameter("w", None)

    with pytest.raises(AttributeError, match=r"Early.__init__ must call super\(\).__init__\(\) before "
                                             r"registering parameter 'w'"):
        Early()
    with pytest.raises(AttributeError):
        TorchEarly()
    for m in (nn.Module(), torch.nn.Module()):
        m.register_parameter("w", None)
        with pytest.raises(KeyError):
            m.register_buffer("w", None)


# --------------------------------------------------------------------- the walks' keywords
def _net(lib):
    """One structure in either library: a module shared three ways, a batch norm (buffers), a
    container holding no parameters of its own."""
    shared = lib.Conv2d(2, 2, 1)
    body = lib.Sequential(lib.Conv2d(1, 2, 3), lib.BatchNorm2d(2), shared)
    return lib.Sequential(OrderedDict(body=body, head=shared, tail=lib.Sequential(lib.ReLU(), shared)))


@pytest.fixture(scope="module")
def twins():
    torch = pytest.importorskip("torch")
    return _net(nn), _net(torch.nn)


def _names(pairs):
    return [name for name, _ in pairs]


@pytest.mark.parametrize("args,kwargs", [
    ((), {}), ((), dict(prefix="net")), ((), dict(remove_duplicate=False)),
    ((None, "p", False), {}),   # PyTorch's order: memo, prefix, remove_duplicate
    ((), dict(prefix="p", remove_duplicate=False)),
])
def test_named_modules_as_pytorch(twins, args, kwargs):
    ours, theirs = twins
    got = _names(ours.named_modules(*args, **kwargs))
    assert got == _names(theirs.named_modules(*args, **kwargs))
    remove_duplicate = args[2] if args else kwargs.get("remove_duplicate", True)
    # seven modules; shared, the conv comes under body.2, head and tail.1
    assert len(got) == (7 if remove_duplicate else 9)


def test_named_modules_memo_leaves_out_what_it_holds(twins):
    ours, theirs = twins
    names = []
    for net in (ours, theirs):
        memo = {net.head}
        names.append(_names(net.named_modules(memo)))
        assert len(memo) == 7   # the walk added the six modules it met
    assert names[0] == names[1] == ["", "body", "body.0", "body.1", "tail", "tail.0"]


@pytest.mark.parametrize("prefix", ["", "net"])
@pytest.mark.parametrize("recurse", [True, False])
@pytest.mark.parametrize("remove_duplicate", [True, False])
@pytest.mark.parametrize("where", ["", "body", "body.0", "body.1"])
def test_named_parameters_and_buffers_as_pytorch(twins, prefix, recurse, remove_duplicate, where):
    ours, theirs = (net.get_submodule(where) for net in twins)
    for walk in ("named_parameters", "named_buffers"):
        got = list(getattr(ours, walk)(prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate))
        want = list(getattr(theirs, walk)(prefix, recurse, remove_duplicate))   # theirs by position
        assert _names(got) == _names(want), walk
        assert [tuple(v.shape) for _, v in got] == [tuple(v.shape) for _, v in want]
    assert [p.shape for p in ours.parameters(recurse=recurse)] == \
        [tuple(p.shape) for p in theirs.parameters(recurse=recurse)]


def test_shared_parameters_come_once_unless_asked(twins):
    ours, _ = twins
    once = _names(ours.named_parameters())
    every = _names(ours.named_parameters(remove_duplicate=False))
    assert once == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                    "body.2.weight", "body.2.bias"]
    assert every == once + ["head.weight", "head.bias", "tail.1.weight", "tail.1.bias"]
    assert [id(p) for p in ours.parameters()] == [id(p) for _, p in ours.named_parameters()]
