"""PyTorch's smaller tensor pieces: the creation functions (minifcn.tensor, zeros, arange, ...),
minifcn.stack, equal and allclose, and the Tensor methods a PyTorch user reaches for (sqrt,
sigmoid, tanh, norm, var, std, expand, repeat, split, chunk, all, any, casts). Each against
PyTorch, and each one with a gradient against finite differences in float64."""
import math

import numpy as np
import pytest

import minifcn
from minifcn import Tensor, nn
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor


def _lib(t):
    """minifcn or torch, by the tensor's kind: one lambda runs on both."""
    if type(t).__module__.startswith("torch"):
        import torch
        return torch
    return minifcn


# --------------------------------------------------------------------- creation
@pytest.mark.parametrize("data", [[1.0, 2.0], [1, 2], [True, False], 3.0, 7, [[0.5], [1.5]],
                                  np.array([1.0, 2.0]), np.array([1, 2], np.int32), np.float64(2.5)])
def test_tensor_takes_pytorch_s_default_dtypes(data):
    torch = pytest.importorskip("torch")
    ours, theirs = minifcn.tensor(data), torch.tensor(data)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == to_np(theirs).dtype
    np.testing.assert_array_equal(to_np(ours), to_np(theirs))


def test_tensor_copies_and_casts_from_the_data_itself(xp):
    a = xp.asarray([1.0, 2.0])
    t = minifcn.tensor(a)
    a[0] = 9.0
    assert t.device == minifcn.backend.device_of(a) and to_np(t).tolist() == [1.0, 2.0]
    assert minifcn.tensor([0.1], dtype="float64").item() == 0.1   # not 0.1 rounded to float32
    x = Tensor(xp.ones(2), requires_grad=True) * 2.0
    y = minifcn.tensor(x)   # a copy outside the graph, as PyTorch's
    assert y.is_leaf and not y.requires_grad and y.data is not x.data
    assert minifcn.tensor([1.0], requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        minifcn.tensor([1, 2], requires_grad=True)


def test_creation_functions_go_to_the_device_asked(xp):
    where = "cpu" if xp is np else "cuda"
    made = [minifcn.tensor([1.0], device=where), minifcn.zeros(2, device=where),
            minifcn.ones((2, 1), device=where), minifcn.full((2,), 3, device=where),
            minifcn.arange(3, device=where), minifcn.zeros_like(Tensor(xp.ones(2))),
            minifcn.ones_like(np.ones(2), device=where), minifcn.tensor(xp.ones(2))]
    for t in made:
        assert t.device == where and isinstance(t.data, xp.ndarray)


def test_from_numpy_shares_memory_as_pytorch(xp):
    a = np.zeros((2, 2), np.int32)
    t = minifcn.from_numpy(a)
    a[0, 0] = 5
    t.data[1, 1] = 7
    assert t.dtype == np.int32 and t.device == "cpu" and t.numpy().tolist() == [[5, 0], [0, 7]]
    assert a[1, 1] == 7
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got list"):
        minifcn.from_numpy([1.0])
    if xp is not np:   # a GPU array (or its stand-in) is no NumPy array
        with pytest.raises(TypeError, match="expected a NumPy array"):
            minifcn.from_numpy(xp.zeros(2))


SHAPED = {
    "zeros": lambda m: m.zeros(2, 3),
    "zeros_tuple": lambda m: m.zeros((2, 3)),
    "zeros_list_int": lambda m: m.zeros([4], dtype=m.int32),
    "ones": lambda m: m.ones(3, 1),
    "ones_float64": lambda m: m.ones((2,), dtype=m.float64),
    "full_float": lambda m: m.full((2, 2), 1.5),
    "full_int": lambda m: m.full((3,), 7),
    "full_bool": lambda m: m.full((2,), True),
    "full_cast": lambda m: m.full((2,), 2, dtype=m.float64),
    "zeros_like": lambda m: m.zeros_like(m.ones((2, 3), dtype=m.float64)),
    "ones_like_int": lambda m: m.ones_like(m.zeros(2, dtype=m.int64)),
    "ones_like_dtype": lambda m: m.ones_like(m.zeros(2), dtype=m.float64),
    "arange": lambda m: m.arange(5),
    "arange_start": lambda m: m.arange(2, 7),
    "arange_step": lambda m: m.arange(1, 10, 3),
    "arange_down": lambda m: m.arange(5, 0, -2),
    "arange_float": lambda m: m.arange(1, 2.5, 0.5),
    "arange_float_end": lambda m: m.arange(0.5),
    "arange_tenths": lambda m: m.arange(0, 1, 0.1),
    "arange_inexact": lambda m: m.arange(-1.3, 2.71, 0.37),
    "arange_float_of_ints": lambda m: m.arange(4, dtype=m.float64),
    "arange_empty": lambda m: m.arange(3, 3),
}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_made_from_a_shape_as_pytorch(name):
    torch = pytest.importorskip("torch")
    ours = SHAPED[name](_np_names(minifcn))
    theirs = SHAPED[name](torch)
    assert ours.dtype == to_np(theirs).dtype and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(to_np(ours), to_np(theirs))


def _np_names(module):
    """minifcn with PyTorch's dtype names (torch.float64, ...) as NumPy's, for SHAPED."""
    class Names:
        int32, int64, float64 = np.int32, np.int64, np.float64

        def __getattr__(self, name):
            return getattr(module, name)
    return Names()


def test_arange_refuses_steps_that_never_arrive():
    with pytest.raises(ValueError, match="arange: step -1 never goes from 0 to 3"):
        minifcn.arange(0, 3, -1)
    with pytest.raises(ValueError, match="step 0 never goes"):
        minifcn.arange(0, 3, 0)
    with pytest.raises(TypeError, match="arange: end must be a finite number, got inf"):
        minifcn.arange(0, math.inf)


# --------------------------------------------------------------------- differentiable methods
OPS = {
    "sqrt": (lambda a: (a * a + 0.5).sqrt(), [(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid() * 3.0, [(3, 4)]),
    "sigmoid_far": (lambda a: (a * 40.0).sigmoid(), [(8,)]),
    "tanh": (lambda a: a.tanh(), [(3, 4)]),
    "norm": (lambda a: a.norm(), [(3, 4)]),
    "norm_dim": (lambda a: a.norm(dim=1), [(2, 3, 4)]),
    "norm_dims_keepdim": (lambda a: a.norm(2, dim=(0, 2), keepdim=True) * a, [(2, 3, 4)]),
    "norm_p1": (lambda a: a.norm(p=1, dim=-1), [(3, 4)]),
    "norm_p3": (lambda a: a.norm(p=3, dim=0), [(3, 4)]),
    "norm_p1_5": (lambda a: a.norm(p=1.5), [(5,)]),
    "norm_inf": (lambda a: a.norm(p=math.inf, dim=1), [(3, 4)]),
    "norm_fro": (lambda a: a.norm(p="fro", dim=(0, 1)), [(3, 4)]),
    "var": (lambda a: a.var(), [(3, 4)]),
    "var_dim": (lambda a: a.var(dim=1), [(2, 3, 4)]),
    "var_population_keepdim": (lambda a: a.var(dim=(0, 2), unbiased=False, keepdim=True) * a, [(2, 3, 4)]),
    "var_correction": (lambda a: a.var(dim=0, correction=2), [(5, 3)]),
    "std": (lambda a: a.std(), [(3, 4)]),
    "std_dim": (lambda a: a.std(dim=-1, keepdim=True), [(3, 4)]),
    "std_population": (lambda a: a.std(1, unbiased=False), [(3, 4)]),
    "expand": (lambda a, b: a.expand(2, 3, 4) * b, [(3, 1), (2, 3, 4)]),
    "expand_minus_one": (lambda a, b: a.expand(-1, 5) * b, [(3, 1), (3, 5)]),
    "expand_tuple": (lambda a: a.expand((4, 2)) * 2.0, [(2,)]),
    "repeat": (lambda a: a.repeat(2, 3) * 1.5, [(2, 3)]),
    "repeat_new_axes": (lambda a, b: a.repeat(2, 1, 2) * b, [(3, 2), (2, 3, 4)]),
    "split_size": (lambda a: _lib(a).cat(a.split(2, dim=1)[::-1], dim=1), [(2, 5)]),
    "split_sections_one_unused": (lambda a: a.split([1, 2, 1], dim=1)[0] * a.split([1, 2, 1], 1)[2], [(3, 4)]),
    "chunk": (lambda a: a.chunk(3)[0] * a.chunk(3)[2], [(6, 2)]),
    "chunk_last_unused": (lambda a: a.chunk(2, dim=-1)[0] * 2.0, [(3, 4)]),
    "stack": (lambda a, b: _lib(a).stack([a, b * b, a]) * 2.0, [(2, 3), (2, 3)]),
    "stack_last": (lambda a, b: _lib(a).stack([a, b], dim=-1).sum(0), [(2, 3), (2, 3)]),
    "stack_middle": (lambda a, b: _lib(a).stack([a, b], dim=1), [(2, 3), (2, 3)]),
    "contiguous": (lambda a: a.transpose(0, 1).contiguous() * 2.0, [(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_method_gradcheck(xp, rng, name):
    fn, shapes = OPS[name]
    assert gradcheck(fn, [xp.asarray(rng.standard_normal(s)) for s in shapes])


@pytest.mark.parametrize("name", sorted(OPS))
def test_method_vs_torch(xp, rng, name):
    torch = pytest.importorskip("torch")
    fn, shapes = OPS[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    theirs = [torch_tensor(torch, a, requires_grad=True) for a in arrays]
    y, yt = fn(*ours), fn(*theirs)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_sigmoid_tanh_sqrt_norm_std_as_pytorch(rng):
    torch = pytest.importorskip("torch")
    a = (rng.standard_normal((4, 5)) * 30).astype(np.float32)   # sigmoid saturates at both ends
    a[0, 0], a[0, 1] = 200.0, -200.0
    x, xt = Tensor(a), torch.from_numpy(a)
    for ours, theirs in [(x.sigmoid(), xt.sigmoid()), (x.tanh(), xt.tanh()),
                         (x.abs().sqrt(), xt.abs().sqrt()), (x.norm(dim=1), xt.norm(dim=1)),
                         (x.std(0), xt.std(0)), (x.var(), xt.var())]:
        assert ours.dtype == np.float32
        np.testing.assert_allclose(to_np(ours), to_np(theirs), rtol=2e-6, atol=1e-30)


@pytest.mark.filterwarnings(r"ignore:var\(\)")   # PyTorch warns: no degrees of freedom left
def test_norm_of_zeros_has_gradient_zero_and_var_without_freedom_is_nan_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    x, xt = Tensor(xp.zeros((2, 3)), requires_grad=True), torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
    (x.norm(dim=1).sum() + x.norm(p=3)).backward()
    (xt.norm(dim=1).sum() + xt.norm(p=3)).backward()
    np.testing.assert_array_equal(to_np(x.grad), xt.grad.numpy())   # zeros, not NaN
    one, onet = Tensor(xp.ones((1, 3))), torch.ones((1, 3), dtype=torch.float64)
    assert np.isnan(to_np(one.var(0))).all() and torch.isnan(onet.var(0)).all()
    want = onet.var(1, correction=4)
    np.testing.assert_array_equal(to_np(one.var(1, correction=4)), want.numpy())   # 0 / 0: NaN
    np.testing.assert_array_equal(to_np(Tensor(xp.asarray([[1.0, 2.0]])).var(1, correction=3)),
                                  torch.tensor([[1.0, 2.0]], dtype=torch.float64).var(1, correction=3).numpy())


# --------------------------------------------------------------------- outside the graph
def test_all_any_eq_ne_as_pytorch(xp, rng):
    torch = pytest.importorskip("torch")
    a = rng.integers(0, 3, (2, 3, 4))
    x, xt = Tensor(xp.asarray(a)), torch.from_numpy(a)
    for dim, keepdim in [(None, False), (1, False), (-1, True), ((0, 2), False), ((), False), ([], True)]:
        # dim=[] as (): no axis (where sum's [] reduces every axis)
        for op in ("all", "any"):
            kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
            ours, theirs = getattr(x, op)(**kwargs), getattr(xt, op)(**kwargs)
            assert ours.dtype == np.bool_ and not ours.requires_grad
            np.testing.assert_array_equal(to_np(ours), theirs.numpy())
    np.testing.assert_array_equal(to_np(x.eq(1)), xt.eq(1).numpy())
    np.testing.assert_array_equal(to_np(x.ne(x[0])), xt.ne(xt[0]).numpy())
    assert Tensor(xp.asarray(2.0)).all().item() is True


def test_numpy_s_reductions_of_a_tensor_still_work(rng):
    # np.all(t), np.var(t) call the Tensor's method of that name, with NumPy's keywords
    a = rng.standard_normal((3, 4))
    t = Tensor(a)
    assert bool(np.all(t == t)) and not bool(np.any(t != t))
    np.testing.assert_array_equal(to_np(np.any(t > 1, axis=1, keepdims=True)), np.any(a > 1, axis=1, keepdims=True))
    np.testing.assert_allclose(to_np(np.var(t)), np.var(a), rtol=1e-12)   # NumPy's ddof=0 passed on
    np.testing.assert_allclose(to_np(np.std(t, axis=0, ddof=1)), np.std(a, axis=0, ddof=1), rtol=1e-12)


def test_casts_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    a = np.array([-1.7, -0.5, 0.0, 2.9])
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch.from_numpy(a)
    for ours, theirs in [(x.long(), xt.long()), (x.int(), xt.int()), (x.bool(), xt.bool())]:
        assert ours.dtype == theirs.numpy().dtype and not ours.requires_grad
        np.testing.assert_array_equal(to_np(ours), theirs.numpy())
    assert int(Tensor(np.array(3.7))) == 3   # __int__, one value as a Python int, is still there


def test_equal_and_allclose_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    pairs = [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.0 + 1e-6]), ([1.0, 2.0], [1.0, 2.1]),
             ([1.0, np.nan], [1.0, np.nan]), ([1.0, 2.0], [[1.0, 2.0]]), ([0.0], [1e-9])]
    for a, b in pairs:
        x, y = Tensor(xp.asarray(a)), Tensor(xp.asarray(b))
        xt, yt = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
        assert minifcn.equal(x, y) is torch.equal(xt, yt) and x.equal(y) is torch.equal(xt, yt)
        assert minifcn.allclose(x, y) is torch.allclose(xt, yt)
        assert x.allclose(y, equal_nan=True) is xt.allclose(yt, equal_nan=True)
        assert minifcn.allclose(x, y, rtol=0.1, atol=0) is torch.allclose(xt, yt, rtol=0.1, atol=0)
    ints = Tensor(xp.asarray([1, 2]))
    assert minifcn.equal(ints, Tensor(xp.asarray([1.0, 2.0])))   # values, as torch.equal
    with pytest.raises(TypeError, match="allclose: the tensors' dtypes differ, int64 and float64"):
        minifcn.allclose(ints, Tensor(xp.asarray([1.0, 2.0])))


# --------------------------------------------------------------------- shapes and errors
def test_split_chunk_shapes_as_pytorch():
    torch = pytest.importorskip("torch")
    for n in (0, 1, 5, 6, 7):
        a = np.zeros((n, 2))
        for k in (1, 2, 3, 4):
            assert [t.shape for t in Tensor(a).chunk(k)] == [tuple(t.shape) for t in torch.from_numpy(a).chunk(k)]
            assert [t.shape for t in Tensor(a).split(k)] == [tuple(t.shape) for t in torch.from_numpy(a).split(k)]


def test_views_expand_and_split_refuse_wrong_sizes():
    x = Tensor(np.ones((3, 1)))
    assert not x.expand(3, 4).data.flags.writeable   # a view, refused for writing
    with pytest.raises(ValueError, match=r"expand: size 4 at dimension 0 does not fit shape \(3, 1\)"):
        x.expand(4, 4)
    with pytest.raises(ValueError, match="expand: 1 sizes for a 2-d tensor"):
        x.expand(3)
    with pytest.raises(ValueError, match=r"repeat: expected 2 or more counts >= 0 for shape \(3, 1\), got \(2,\)"):
        x.repeat(2)
    with pytest.raises(ValueError, match=r"split: sizes \[1, 1\] do not add up to 3"):
        x.split([1, 1])
    with pytest.raises(ValueError, match="chunk: chunks must be >= 1, got 0"):
        x.chunk(0)
    with pytest.raises(TypeError, match="var: expected a floating-point tensor, got int64"):
        Tensor(np.arange(3)).var()
    with pytest.raises(ValueError, match="norm: p must be positive, inf or 'fro', got 0.0"):
        x.norm(0)
    assert x.contiguous() is x


def test_stack_refuses_what_it_cannot_join():
    a = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"stack: every tensor must have one shape, got \(2, 3\) and \(3, 2\)"):
        minifcn.stack([a, Tensor(np.ones((3, 2)))])
    with pytest.raises(TypeError, match="stack: tensors must share one dtype, got float64 and float32"):
        minifcn.stack([a, Tensor(np.ones((2, 3), np.float32))])
    with pytest.raises(IndexError, match=r"stack: dimension 3 is out of range .* \[-3, 2\]"):
        minifcn.stack([a, a], dim=3)
    with pytest.raises(ValueError, match="stack: expected at least one tensor"):
        minifcn.stack([])


def test_review_edge_cases_as_pytorchs():
    torch = pytest.importorskip("torch")
    # a constant's std has the gradient 0 (sqrt's 1 / 0 times 0 had been NaN), as PyTorch's
    t = Tensor(np.ones(3), requires_grad=True)
    t.std().backward()
    assert t.grad.tolist() == [0.0, 0.0, 0.0]
    u, ut = Tensor(np.array([0.0, 1.0]), requires_grad=True), torch.tensor([0.0, 1.0], requires_grad=True)
    u.norm(0.5).backward()
    ut.norm(0.5).backward()
    np.testing.assert_array_equal(u.grad, ut.grad.numpy())        # 0 at the zero value, not NaN
    assert np.isnan(Tensor(np.zeros(0)).var().item())              # no values: NaN, not a crash
    assert nn.Flatten()(Tensor(np.zeros((0, 2, 3)))).shape == (0, 6)   # an empty batch
    assert Tensor(np.array([1, 4])).sqrt().dtype == np.float32     # integers give float32
    assert Tensor(np.array([True])).sigmoid().dtype == np.float32  # bools too (had crashed)


def test_save_keys_that_npz_names_could_confuse(tmp_path):
    import minifcn
    path = tmp_path / "k.npz"
    minifcn.save({"a": np.array(1.0), "a.npy": np.array(2.0)}, path)   # "a.npy" had read back 1.0
    back = minifcn.load(path)
    assert back["a"] == 1.0 and back["a.npy"] == 2.0
    with pytest.raises(ValueError, match="without NUL"):
        minifcn.save({"a\x00b": np.array(1.0)}, path)
    deep = leaf = {}
    for _ in range(150):
        leaf["k"] = {}
        leaf = leaf["k"]
    with pytest.raises(ValueError, match="containers deep; at most 100"):   # load could not rebuild it
        minifcn.save(deep, path)
