"""minifcn.autograd.grad, PyTorch's torch.autograd.grad: the gradients returned rather than
added into .grad, by the same backward pass as Tensor.backward. Against PyTorch (values, which
functions and hooks run, the errors), against backward itself, and its own rules."""
import warnings

import numpy as np
import pytest

import minifcn
from minifcn import Function, Tensor, nn, no_grad
from minifcn.autograd import grad
from oracle import to_np, torch_tensor


def _lib(t):
    """minifcn or torch, by the tensor's kind: one function builds the same graph on both."""
    if type(t).__module__.startswith("torch"):
        import torch
        return torch
    return minifcn


def _graph(x, w):
    """A graph with a branch that meets again, a reduction and a division: (h, y1, y2)."""
    h = (x * w).exp()
    y1 = (h * x + h / (w * w + 1.0)).sum()
    y2 = h * w - x
    return h, y1, y2


@pytest.fixture
def data(rng):
    return rng.standard_normal(5) * 0.5, rng.standard_normal(5) * 0.5, rng.standard_normal(5)


# --------------------------------------------------------------------- values, against PyTorch
def test_grad_of_leaves_and_an_intermediate_matches_pytorch(xp, data):
    torch = pytest.importorskip("torch")
    xv, wv, g2 = data
    x, w = Tensor(xp.asarray(xv), requires_grad=True), Tensor(xp.asarray(wv), requires_grad=True)
    xt, wt = torch_tensor(torch, xv, True), torch_tensor(torch, wv, True)
    h, y1, y2 = _graph(x, w)
    ht, y1t, y2t = _graph(xt, wt)
    # two outputs summed, one seeded with ones (a scalar), one with g2; an intermediate input
    ours = grad([y1, y2], [x, h, w], [None, Tensor(xp.asarray(g2))])
    theirs = torch.autograd.grad([y1t, y2t], [xt, ht, wt], [None, torch.from_numpy(g2)])
    assert isinstance(ours, tuple) and len(ours) == 3
    for a, b in zip(ours, theirs):
        assert isinstance(a, Tensor) and not a.requires_grad and a.device == x.device
        np.testing.assert_allclose(to_np(a), to_np(b), rtol=1e-12, atol=1e-14)
    assert x.grad is None and w.grad is None and h.grad is None   # nothing stored


def test_grad_equals_what_backward_stores(xp, data):
    xv, wv, g2 = data
    x, w = Tensor(xp.asarray(xv), requires_grad=True), Tensor(xp.asarray(wv), requires_grad=True)
    _, y1, y2 = _graph(x, w)
    loss = y1 + (y2 * Tensor(xp.asarray(g2))).sum()
    gx, gw = grad(loss, (x, w), retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(to_np(gx), to_np(x.grad))   # one engine, one arithmetic
    np.testing.assert_array_equal(to_np(gw), to_np(w.grad))


def test_the_gradient_of_an_output_itself_is_its_seed_and_a_copy(xp):
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    seed = xp.asarray([3.0, -1.0])
    a = x * 2
    ga, = grad(a, a, seed)
    gx, = grad(x, x, seed)        # a leaf as output and input: PyTorch gives the seed too
    for g in (ga, gx):
        assert to_np(g).tolist() == [3.0, -1.0]
        g.data[0] = 9.0           # the caller's seed is not handed back to be changed
    assert to_np(seed).tolist() == [3.0, -1.0]


def test_an_input_twice_gets_two_separate_arrays(xp):
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    g1, g2 = grad((x * 3.0).sum(), [x, x])
    assert to_np(g1).tolist() == to_np(g2).tolist() == [3.0, 3.0]
    g1.data[0] = 0.0
    assert to_np(g2).tolist() == [3.0, 3.0]


def test_a_dict_of_inputs_gives_a_dict(rng):
    torch = pytest.importorskip("torch")
    net = nn.Conv2d(2, 3, 3, padding=1).double()
    x = rng.standard_normal((1, 2, 4, 4))
    grads = grad((net(Tensor(x)) ** 2).sum(), dict(net.named_parameters()))
    assert list(grads) == ["weight", "bias"]
    twin = torch.nn.Conv2d(2, 3, 3, padding=1).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    theirs = torch.autograd.grad((twin(torch.from_numpy(x)) ** 2).sum(), dict(twin.named_parameters()))
    for k in grads:
        np.testing.assert_allclose(to_np(grads[k]), to_np(theirs[k]), rtol=1e-10, atol=1e-12)
    assert net.weight.grad is None


def test_grad_outputs_take_the_outputs_dtype_and_arrays():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    g, = grad(x * 2, x, np.array([1.0, 0.5]))            # float64 seed, float32 graph
    assert g.dtype == np.float32 and g.tolist() == [2.0, 1.0]
    g, = grad(x * 2, x, Tensor(np.array([1, 2])))        # an integer seed too, as PyTorch
    assert g.dtype == np.float32 and g.tolist() == [2.0, 4.0]


def test_grad_runs_under_no_grad(xp):
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    with no_grad():
        g, = grad(y, x)
    assert to_np(g).tolist() == [2.0, 4.0]


# --------------------------------------------------------------------- which functions run
class _Counted(Function):
    """x -> 2x, counting its backward calls."""
    calls = 0

    def forward(self, a):
        return 2 * a

    def backward(self, gy):
        _Counted.calls += 1
        return 2 * gy


def test_only_the_functions_on_a_path_to_an_input_run_and_are_freed(xp):
    # b = 2w is off the path from y to x: its backward must not run, nor its graph be freed, so
    # a later backward through b still works (as in PyTorch, where it does too)
    torch = pytest.importorskip("torch")
    x, w = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True), Tensor(xp.asarray([3.0, 4.0]), requires_grad=True)
    _Counted.calls = 0
    b = _Counted.apply(w)
    gx, = grad((x * b).sum(), x)
    assert _Counted.calls == 0 and w.grad is None
    np.testing.assert_array_equal(to_np(gx), [6.0, 8.0])
    (b * 3.0).sum().backward()           # no retain_graph above: b's creator was not run, so kept
    assert _Counted.calls == 1 and to_np(w.grad).tolist() == [6.0, 6.0]
    xt, wt = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)
    bt = wt * 2
    torch.autograd.grad((xt * bt).sum(), xt)
    (bt * 3.0).sum().backward()
    assert wt.grad.tolist() == to_np(w.grad).tolist()


def test_retain_graph_keeps_the_graph_and_its_default_frees_it(xp):
    torch = pytest.importorskip("torch")
    for lib, make in ((minifcn, lambda v: Tensor(xp.asarray(v), requires_grad=True)),
                      (torch, lambda v: torch.tensor(v, requires_grad=True))):
        x = make([1.0, 2.0])
        y = (x * x).sum()
        first = lib.autograd.grad(y, x, retain_graph=True)
        second = lib.autograd.grad(y, x)       # retain_graph None: create_graph's False
        assert to_np(first[0]).tolist() == to_np(second[0]).tolist() == [2.0, 4.0]
        with pytest.raises(RuntimeError, match="freed|second time"):
            lib.autograd.grad(y, x)


def test_a_freed_graph_in_the_way_raises_as_backward_does(xp):
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    b = (x * 2).exp()
    b.sum().backward()                   # frees exp and the product: x lies behind them
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        grad((b * 3.0).sum(), x)


@pytest.mark.parametrize("inputs", ["a", "b", "a and h"])
def test_a_freed_part_beside_a_live_path_raises_not_drops_its_share(xp, inputs):
    """h = a * b, freed by a backward; a reaches the new output both through h and directly.
    Dropping h's share silently gave a gradient of 1 for a (2b + 1 is right): it raises, as
    PyTorch's (which says the graph is gone) and as backward() here."""
    torch = pytest.importorskip("torch")
    for lib, make in ((None, lambda v: Tensor(xp.asarray(v), requires_grad=True)),
                      (torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))):
        a, b = make([1.0, 2.0, 3.0]), make([4.0, 5.0, 6.0])
        h = a * b
        h.sum().backward()
        out = (h * 2 + a).sum() + (b * b).sum()
        asked = {"a": [a], "b": [b], "a and h": [a, h]}[inputs]
        with pytest.raises(RuntimeError, match="freed|second time"):
            (grad if lib is None else torch.autograd.grad)(out, asked, allow_unused=True)


# --------------------------------------------------------------------- hooks, against PyTorch
def _hooked_run(lib, make, asked):
    """Tensor hooks on the leaf x, on the intermediate a, on b and w off the path to them, and
    a retain_grad on a; what grad returns for ``asked`` and what each hook saw."""
    seen = []
    x, w = make([1.0, 2.0]), make([3.0, 4.0])
    x.register_hook(lambda g: seen.append(("x", to_np(g).tolist())) or g * 10)
    a = x * 2
    a.retain_grad()
    a.register_hook(lambda g: seen.append(("a", to_np(g).tolist())) or g * 100)
    b = w * 2                            # off the path to x and a: its hook must not run
    b.register_hook(lambda g: seen.append(("b", to_np(g).tolist())))
    w.register_hook(lambda g: seen.append(("w", to_np(g).tolist())))
    y = (a * a * b).sum()                # dy/da = 2ab = 8xw = [24, 64]
    got = lib.autograd.grad(y, [{"x": x, "a": a}[k] for k in asked])
    return [to_np(g).tolist() for g in got] + [to_np(a.grad).tolist(), x.grad, w.grad], seen


@pytest.mark.parametrize("asked, expected", [
    # a alone: the pass ends at a, whose gradient is returned after its hook (x 100)
    ("a", [[2400.0, 6400.0]]),
    # x too: the pass goes on through a, and a's is returned before its hook (PyTorch's rule);
    # x's after both hooks: 24 * 100 * 2 * 10
    ("xa", [[48000.0, 128000.0], [24.0, 64.0]]),
    ("x", [[48000.0, 128000.0]]),
])
def test_tensor_hooks_and_retain_grad_in_grad_as_pytorchs(xp, asked, expected):
    torch = pytest.importorskip("torch")
    ours, ours_seen = _hooked_run(minifcn, lambda v: Tensor(xp.asarray(v), requires_grad=True), asked)
    theirs, theirs_seen = _hooked_run(torch, lambda v: torch.tensor(v, requires_grad=True), asked)
    assert ours == theirs
    assert ours_seen == theirs_seen
    assert ours[:len(asked)] == expected
    assert ours[len(asked)] == [2400.0, 6400.0]        # a's retained .grad: after its hook
    assert ours[-2:] == [None, None]                   # no leaf's .grad changes
    assert not [name for name, _ in ours_seen if name in "bw"]


@pytest.mark.parametrize("wrt, input_grad", [("input", True), ("weight", True), ("weight", False)])
def test_module_backward_hooks_run_as_in_pytorch(rng, wrt, input_grad):
    # grad with respect to the weight, the input needing a gradient: the gradient never goes
    # through the module's input, so its full backward hook does not run, in PyTorch either
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 4, 4))
    calls = {}
    for lib, conv, xin in ((minifcn, nn.Conv2d(2, 3, 3).double(), Tensor(x.copy(), requires_grad=input_grad)),
                           (torch, torch.nn.Conv2d(2, 3, 3).double(), torch.tensor(x, requires_grad=input_grad))):
        log = calls[lib.__name__] = []
        conv.register_full_backward_pre_hook(lambda m, gout, log=log: log.append("pre"))
        conv.register_full_backward_hook(lambda m, gin, gout, log=log: log.append("full"))
        with warnings.catch_warnings():   # PyTorch's note that no input requires grad
            warnings.simplefilter("ignore", UserWarning)
            lib.autograd.grad(conv(xin).sum(), xin if wrt == "input" else conv.weight)
    assert calls["minifcn"] == calls["torch"]
    assert calls["minifcn"] == (["pre"] if (wrt, input_grad) == ("weight", True) else ["pre", "full"])


# --------------------------------------------------------------------- unused inputs and errors
def test_unused_inputs_raise_or_give_none_or_zeros_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    for lib, make in ((minifcn, lambda: Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)),
                      (torch, lambda: torch.tensor([1.0, 2.0], requires_grad=True))):
        x, z = make(), make()
        with pytest.raises(RuntimeError, match=r"(index 1|inputs\[1\]) appears"):
            lib.autograd.grad((x * 2).sum(), [x, z], retain_graph=True)
        gx, gz = lib.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
        assert gz is None and to_np(gx).tolist() == [2.0, 2.0]
        gx, gz = lib.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
        assert to_np(gz).tolist() == [0.0, 0.0] and not gz.requires_grad
        with pytest.raises(ValueError, match="allow_unused=False"):
            lib.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True, allow_unused=False)


def test_an_input_reached_by_no_gradient_is_unused():
    # in the graph, but behind a function whose backward gives it none
    class Stop(Function):
        def forward(self, a):
            return a.copy()

        def backward(self, gy):
            return None
    x = Tensor(np.ones(2), requires_grad=True)
    y = (Stop.apply(x) * 2).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[0\] appears not to have been used"):
        grad(y, x, retain_graph=True)
    assert grad(y, x, allow_unused=True) == (None,)


def test_bad_arguments_are_named():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x * 2
    with pytest.raises(NotImplementedError, match="create_graph=True .* first-order only"):
        grad(y.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="inputs cannot be empty"):
        grad(y.sum(), [])
    with pytest.raises(RuntimeError, match=r"inputs\[1\] does not require grad"):
        grad(y.sum(), [x, Tensor(np.ones(2))])
    with pytest.raises(RuntimeError, match=r"outputs\[1\] does not require grad"):
        grad([y.sum(), Tensor(np.ones(()))], x)
    with pytest.raises(TypeError, match=r"inputs\[0\] is a ndarray, expected a Tensor"):
        grad(y.sum(), [np.ones(2)])
    with pytest.raises(RuntimeError, match=r"grad_outputs\[0\] can be left None only for an output of one value, outputs\[0\] has shape \(2,\)"):
        grad(y, x)
    with pytest.raises(RuntimeError, match=r"grad_outputs\[0\] has shape \(3,\), outputs\[0\] has shape \(2,\)"):
        grad(y, x, np.ones(3))
    with pytest.raises(RuntimeError, match="got 2 outputs and 1 grad_outputs"):
        grad([y, y * 3], x, [np.ones(2)])
    with pytest.raises(TypeError, match=r"grad_outputs\[0\] is a list, expected a Tensor, an array or None"):
        grad(y, x, [[1.0, 1.0]])
    assert x.grad is None


def test_a_gpu_output_refuses_a_host_seed(gpu):
    x = Tensor(gpu.asarray([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] is on cpu, outputs\[0\] on cuda"):
        grad(x * 2, x, np.ones(2))
