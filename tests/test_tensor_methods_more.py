"""PyTorch's small Tensor methods: the named in-place operations (add_, sub_, mul_, div_,
clamp_, copy_, uniform_, normal_, detach_), the questions of shape and dtype (ndimension,
nelement, element_size, is_floating_point, is_contiguous, reshape_as) and the method forms of
unbind, tensor_split and isclose; each against PyTorch's, and the in-place ones refused in the
graph as the operators are."""
import warnings

import numpy as np
import pytest

import minifcn
from minifcn import Tensor
from oracle import to_np

IN_PLACE = {
    "add_": lambda t, o: t.add_(o),
    "add_alpha": lambda t, o: t.add_(o, alpha=-0.5),
    "sub_": lambda t, o: t.sub_(o),
    "sub_alpha": lambda t, o: t.sub_(o, alpha=3),
    "mul_": lambda t, o: t.mul_(o),
    "div_": lambda t, o: t.div_(o),
    "clamp_": lambda t, o: t.clamp_(-0.3, 0.4),
    "clamp_min": lambda t, o: t.clamp_(min=0.1),
    "clamp_max": lambda t, o: t.clamp_(max=-0.1),
    "copy_": lambda t, o: t.copy_(o),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
@pytest.mark.parametrize("other_shape", [(2, 3), (3,)])
def test_named_in_place_ops_change_the_tensor_itself_as_pytorchs(name, other_shape, xp, rng):
    torch = pytest.importorskip("torch")
    x, o = rng.standard_normal((2, 3)), rng.standard_normal(other_shape) + 2.0
    t = Tensor(xp.asarray(x.copy()))   # asarray would share x, which the oracle reads after
    alias = t.data
    out = IN_PLACE[name](t, Tensor(xp.asarray(o)))
    expected = IN_PLACE[name](torch.tensor(x), torch.tensor(o))
    assert out is t and t.data is alias    # the same tensor and array, changed
    np.testing.assert_allclose(to_np(t), expected.numpy(), rtol=1e-15)


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_named_in_place_ops_are_refused_in_the_graph_and_run_under_no_grad(name):
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{name.split('_')[0]}_ with a tensor that requires grad"):
        IN_PLACE[name](w, Tensor(np.full(3, 2.0)))
    with minifcn.no_grad():
        IN_PLACE[name](w, Tensor(np.full(3, 2.0)))
    assert w.requires_grad   # changed under no_grad, still a parameter
    assert not np.array_equal(w.numpy(), np.ones(3)) or name == "clamp_min"   # 1 is above 0.1 already


def test_copy_casts_and_refuses_what_does_not_broadcast():
    t = Tensor(np.zeros(3, dtype=np.float32))
    t.copy_(np.array([1, 2, 3]))
    assert t.dtype == np.float32 and t.numpy().tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError):
        t.copy_(np.ones(4))
    with pytest.raises(ValueError, match="clamp_: give min, max or both"):
        t.clamp_()


def test_uniform_and_normal_fill_in_place_from_the_seed():
    minifcn.manual_seed(3)
    a = Tensor(np.zeros(2000)).uniform_(-2.0, 5.0).numpy().copy()
    minifcn.manual_seed(3)
    b = Tensor(np.zeros(2000)).uniform_(-2.0, 5.0).numpy()
    np.testing.assert_array_equal(a, b)
    assert -2.0 <= a.min() and a.max() < 5.0 and abs(a.mean() - 1.5) < 0.2   # 7 / sqrt(12 * 2000) = 0.045 sd
    n = Tensor(np.zeros(4000)).normal_(3.0, 0.5).numpy()
    assert abs(n.mean() - 3.0) < 0.05 and abs(n.std() - 0.5) < 0.05   # sd of the mean 0.008


def test_detach_in_place_cuts_the_graph():
    torch = pytest.importorskip("torch")
    a = Tensor(np.ones(2), requires_grad=True)
    y = a * 2
    assert y.detach_() is y and not y.requires_grad and y.is_leaf
    yt = (torch.ones(2, requires_grad=True) * 2).detach_()
    assert yt.requires_grad == y.requires_grad and yt.is_leaf == y.is_leaf


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "bool"])
def test_shape_and_dtype_questions_as_pytorchs(dtype):
    torch = pytest.importorskip("torch")
    x = np.arange(24).reshape(2, 3, 4).astype(dtype)
    t, tt = Tensor(x), torch.tensor(x)
    assert t.ndimension() == tt.ndimension() and t.nelement() == tt.nelement()
    assert t.element_size() == tt.element_size() and t.is_floating_point() == tt.is_floating_point()
    assert t.is_contiguous() and tt.is_contiguous()
    assert t.transpose(0, 2).is_contiguous() == tt.transpose(0, 2).is_contiguous() == False
    assert t.reshape_as(Tensor(np.zeros((4, 6)))).shape == tuple(tt.reshape_as(torch.zeros(4, 6)).shape)


def test_unbind_tensor_split_and_isclose_methods_as_pytorchs(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 7))
    t, tt = Tensor(x), torch.tensor(x)
    for ours, theirs in zip(t.unbind(1), tt.unbind(1)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for args in [(3, 1), ([1, 5], 1), (2, 0)]:
        got, want = t.tensor_split(*args), tt.tensor_split(*args)
        assert [p.shape for p in got] == [tuple(p.shape) for p in want]
    y = x + np.where(rng.random(x.shape) < 0.5, 1e-9, 1e-3)
    np.testing.assert_array_equal(t.isclose(Tensor(y)).numpy(), tt.isclose(torch.tensor(y)).numpy())


@pytest.mark.parametrize("index", [0, -1, (1, 2), (np.int64(1), -3)])
def test_an_int_for_every_axis_gives_a_0d_view_that_in_place_ops_reach(index, xp):
    # NumPy's a[i, j] is a scalar copy; PyTorch's t[i, j] a 0-d view: t[0].add_(10) changes t
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(3, 4) if isinstance(index, tuple) else np.arange(4.0)
    t, tt = Tensor(xp.asarray(x.copy())), torch.tensor(x)
    for act in (lambda e: e.add_(10), lambda e: e.mul_(3), lambda e: e.sub_(2, alpha=2),
                lambda e: e.zero_(), lambda e: e.fill_(7), lambda e: e.clamp_(max=5)):
        e = t[index]
        assert e.shape == () and e.data.ndim == 0
        act(e)
        act(tt[index] if not isinstance(index, tuple) else tt[tuple(int(i) for i in index)])
        np.testing.assert_array_equal(to_np(t), tt.numpy())
        t[index].copy_(Tensor(xp.asarray(-1.0)))
        tt[index if not isinstance(index, tuple) else tuple(int(i) for i in index)].copy_(torch.tensor(-1.0))
        np.testing.assert_array_equal(to_np(t), tt.numpy())
    # the gradient still reaches the picked element only
    w = Tensor(xp.asarray(x), requires_grad=True)
    w[index].backward()
    want = np.zeros_like(x)
    want[index] = 1
    np.testing.assert_array_equal(to_np(w.grad), want)


def test_contiguous_copies_only_what_is_not_c_ordered_as_pytorchs(xp, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4))
    t, tt = Tensor(xp.asarray(x.copy())), torch.tensor(x)
    assert t.contiguous() is t and t.contiguous().data is t.data   # no copy where none is needed
    c, ct = t.t().contiguous(), tt.t().contiguous()
    assert c.is_contiguous() == ct.is_contiguous() == True
    c.add_(10)
    ct.add_(10)
    np.testing.assert_array_equal(to_np(t), tt.numpy())   # the copy changed, the original not
    np.testing.assert_array_equal(to_np(c), ct.numpy())
    # in the graph: the gradient passes through the copy
    w, wt = Tensor(xp.asarray(x), requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rng.standard_normal((4, 3))
    (w.t().contiguous() * Tensor(xp.asarray(g))).sum().backward()
    (wt.t().contiguous() * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(to_np(w.grad), wt.grad.numpy())


@pytest.mark.parametrize("name", ["add_", "sub_"])
@pytest.mark.parametrize("alpha", [2, 0.5, -1])
def test_add_and_sub_with_alpha_are_refused_in_the_graph_as_without(name, alpha):
    # the scaling had unwrapped a Tensor that requires grad before the check: its graph lost
    torch = pytest.importorskip("torch")
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{name} with a tensor that requires grad"):
        getattr(Tensor(np.zeros(2)), name)(w, alpha=alpha)
    # (PyTorch records it in its graph; here it is refused as alpha=1 is, never silently cut)
    with minifcn.no_grad():
        got = getattr(Tensor(np.zeros(2)), name)(w, alpha=alpha)
    want = getattr(torch.zeros(2, dtype=torch.float64), name)(torch.tensor([1.0, 2.0]), alpha=alpha)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("alpha", [2, 0.5])
def test_add_with_alpha_takes_a_list_as_an_array(alpha, xp):
    # [[1.0, 2.0]] * 2 had repeated the list (and * 0.5 raised a TypeError)
    torch = pytest.importorskip("torch")
    got = Tensor(xp.zeros((2, 2))).add_([[1.0, 2.0]], alpha=alpha)
    want = torch.zeros(2, 2, dtype=torch.float64).add_(torch.tensor([[1.0, 2.0]], dtype=torch.float64), alpha=alpha)
    np.testing.assert_array_equal(to_np(got), want.numpy())
    np.testing.assert_array_equal(to_np(Tensor(xp.zeros(2)).sub_([1.0, 2.0], alpha=alpha)), -alpha * np.array([1.0, 2.0]))


@pytest.mark.parametrize("name", ["uniform_", "normal_"])
def test_uniform_and_normal_methods_are_refused_in_the_graph_but_init_runs(name):
    torch = pytest.importorskip("torch")
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{name} with a tensor that requires grad"):
        getattr(w, name)()
    with pytest.raises(RuntimeError, match="in-place operation"):   # PyTorch's refuses it too
        getattr(torch.ones(3, requires_grad=True), name)()
    with minifcn.no_grad():
        assert getattr(w, name)() is w and w.requires_grad
    getattr(minifcn.init, name)(w)   # nn.init's run under no_grad, on parameters, in both
    getattr(torch.nn.init, name)(torch.ones(3, requires_grad=True))
    assert not np.array_equal(w.numpy(), np.ones(3))


@pytest.mark.parametrize("name", ["uniform_", "normal_"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_uniform_and_normal_refuse_integer_tensors_as_pytorchs(name, dtype):
    # the random floats had been truncated into the integers, silently
    torch = pytest.importorskip("torch")
    x = np.zeros(3, dtype=dtype)
    with pytest.raises(NotImplementedError, match="not implemented for"):
        getattr(torch.tensor(x), name)()
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor, got {dtype}"):
        getattr(Tensor(x), name)()
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor, got {dtype}"):
        getattr(minifcn.init, name)(Tensor(x))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool"])
def test_isclose_of_integers_as_pytorchs(dtype, xp, rng):
    # NumPy's isclose goes through float64: 2**62 and 2**62 + 1 were close with no tolerance.
    # PyTorch's: equal in the integers' dtype, or close in float32 where a tolerance is given
    torch = pytest.importorskip("torch")
    cases = [(np.array([2**62, 5]), np.array([2**62 + 1, 5]))] if dtype == "int64" else []
    cases += [(np.array([2**24 + 1, 1000, 1000]), np.array([2**24, 1003, 1002]))] if dtype in ("int64", "int32") else []
    for _ in range(40):
        if dtype == "bool":
            cases.append((rng.random(30) < 0.5, rng.random(30) < 0.5))
        else:
            info = np.iinfo(dtype)
            a = rng.integers(info.min, info.max, 30, dtype=dtype, endpoint=True)
            b = (a.astype(np.int64) + rng.integers(-3, 4, 30)).clip(info.min, info.max)
            cases.append((a, np.where(rng.random(30) < 0.2, rng.integers(info.min, info.max, 30), b)))
    for a, b in cases:
        a, b = a.astype(dtype), b.astype(dtype)
        for rtol, atol in [(0, 0), (1e-5, 1e-8), (0, 0.5), (0, 2.5), (0.1, 0), (1.0, 1)]:
            got = minifcn.isclose(Tensor(xp.asarray(a)), Tensor(xp.asarray(b)), rtol=rtol, atol=atol)
            want = torch.isclose(torch.tensor(a), torch.tensor(b), rtol=rtol, atol=atol)
            np.testing.assert_array_equal(to_np(got), want.numpy(), err_msg=f"{a} {b} {rtol} {atol}")


@pytest.mark.parametrize("name", ["div_", "/=", "mul_", "**=", "sub_"])
def test_in_place_ops_give_inf_and_nan_quietly_as_the_out_of_place_ones(name):
    # NumPy warned (divide by zero, invalid value) where t.div(0) and PyTorch's are silent
    torch = pytest.importorskip("torch")
    x = np.array([1.0, 0.0, -1.0, np.inf])
    other = {"div_": 0.0, "/=": 0.0, "mul_": np.array([np.inf, np.inf, 0, 0]), "**=": -1.0, "sub_": np.inf}[name]

    def act(t, o):
        if name == "/=":
            t /= o
        elif name == "**=":
            t **= o
        else:
            getattr(t, name)(o)
        return t
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = act(Tensor(x.copy()), other)
    want = act(torch.tensor(x), torch.tensor(other) if isinstance(other, np.ndarray) else other)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
