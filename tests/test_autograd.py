"""The autograd core: graph order, accumulation, no_grad, memory, and every arithmetic op's gradient."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Function, Tensor, no_grad
from minifcn.testing import GradcheckError, gradcheck
from oracle import to_np, torch_tensor


# --------------------------------------------------------------------- graph order
def test_diamond_graph_uses_both_paths(xp):
    # x feeds two branches that meet again: dy/dx must add both, after both are complete
    x = Tensor(xp.asarray([0.5, -1.0, 2.0]), requires_grad=True)
    a = x * x
    b = x * 3.0
    y = (a * b).sum()          # y = 3 x^3
    y.backward()
    np.testing.assert_allclose(to_np(x.grad), 9 * to_np(x.data) ** 2, rtol=1e-12)


def test_uneven_branches_run_in_topological_order(xp):
    # exp(exp(x)) + exp(x): branches of different depth meeting at one add. This graph once
    # made the backward heap compare two Function objects (equal generation and tie-breaker).
    v = xp.asarray([0.1, 0.2, -0.3])
    x = Tensor(v, requires_grad=True)
    (x.exp().exp() + x.exp()).sum().backward()
    e = np.exp(to_np(v))
    np.testing.assert_allclose(to_np(x.grad), np.exp(e) * e + e, rtol=1e-12)


def test_wide_graph_with_many_equal_generations(xp):
    x = Tensor(xp.asarray([0.3, 0.7]), requires_grad=True)
    branches = [x.exp() * float(k) for k in range(1, 6)]
    total = branches[0]
    for b in branches[1:]:
        total = total + b.exp()
    total.sum().backward()
    e = np.exp(to_np(x.data))
    expected = e + sum(np.exp(k * e) * k * e for k in range(2, 6))
    np.testing.assert_allclose(to_np(x.grad), expected, rtol=1e-12)


def test_grads_accumulate_across_backward_calls(xp):
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), 2 * to_np(x.data) + 3, rtol=1e-12)
    x.zero_grad()
    assert x.grad is None


def test_retain_graph_allows_a_second_backward(xp):
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(to_np(x.grad), 4 * to_np(x.data), rtol=1e-12)


def test_a_second_backward_through_a_freed_graph_says_so(xp):
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        y.backward()
    np.testing.assert_allclose(to_np(x.grad), 2 * to_np(x.data), rtol=1e-12)   # the first one's


def test_no_grad_records_nothing(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    with no_grad():
        y = (x * 2 + 1).sum()
    assert y.creator is None and not y.requires_grad
    z = x * 2  # recording is back on after the block
    assert z.creator is not None and z.requires_grad


def test_inputs_without_requires_grad_get_no_grad(xp):
    a = Tensor(xp.ones(2), requires_grad=True)
    b = Tensor(xp.ones(2))
    (a * b).sum().backward()
    assert b.grad is None and a.grad is not None
    c = b * 2
    assert c.creator is None and not c.requires_grad


def test_intermediate_arrays_are_freed_unless_a_function_saved_them(xp):
    # the graph reaches intermediate tensors through edges (creator + slot), not the tensors:
    # an intermediate lives on only where a function saved its array for backward
    x = Tensor(xp.ones((4, 4)), requires_grad=True)
    h = x * 2                      # Mul saves x and 2, not its output
    tensor_alive = weakref.ref(h)
    try:   # NumPy's arrays and the stand-in's (it had been checked on NumPy's alone)
        array_alive = weakref.ref(h.data)
    except TypeError:   # an array type without weak references
        array_alive = None
    z = h + 1                      # Add saves only shapes: h's array is not needed in backward
    y = (z * z).sum()              # Mul saves z's array
    del h, z
    gc.collect()
    assert tensor_alive() is None
    assert array_alive is None or array_alive() is None
    y.backward()
    np.testing.assert_allclose(to_np(x.grad), np.full((4, 4), 12.0))  # d/dx (2x + 1)^2 = 4(2x + 1)


def test_retain_graph_keeps_what_a_dropped_intermediate_saved(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    del h
    y.backward(retain_graph=True)
    np.testing.assert_allclose(to_np(x.grad), np.full(3, 8.0))
    y.backward()                   # the saved arrays are still there: gradients add up
    np.testing.assert_allclose(to_np(x.grad), np.full(3, 16.0))


def test_retain_grad_after_the_tensor_was_used(xp):
    # the creator holds a weak reference, so retain_grad() still works when called after h was used
    x = Tensor(xp.asarray([1.0, 2.0]), requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()
    h.retain_grad()
    y.backward()
    np.testing.assert_allclose(to_np(h.grad), [6.0, 12.0])


def test_retain_grad_on_an_intermediate(xp):
    x = Tensor(xp.asarray([1.0, -2.0]), requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    k = x * 5.0  # no retain_grad: stays None
    (h * h + k).sum().backward()
    np.testing.assert_allclose(to_np(h.grad), 2 * to_np(h.data), rtol=1e-12)
    assert k.grad is None
    np.testing.assert_allclose(to_np(x.grad), 18 * to_np(x.data) + 5, rtol=1e-12)


def test_backward_of_a_non_scalar_needs_a_gradient(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"scalar, got shape \(3,\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"gradient shape \(2,\) does not match tensor shape \(3,\)"):
        (x * 2).backward(xp.ones(2))


# --------------------------------------------------------------------- op gradients
OPS = {
    "add_broadcast": (lambda a, b: a + b, [(2, 3, 4), (3, 1)]),
    "sub_broadcast": (lambda a, b: a - b, [(2, 1, 4), (3, 4)]),
    "mul_broadcast": (lambda a, b: a * b, [(2, 3, 4), (1, 3, 1)]),
    "div_broadcast": (lambda a, b: a / (b * b + 1.0), [(2, 3), (3,)]),
    "rops": (lambda a: 2.0 - a * 3.0 + 1.0 / (a * a + 1.0), [(3, 2)]),
    "neg_pow": (lambda a: -(a * a + 1.0) ** 1.5, [(2, 3)]),
    "exp_log": (lambda a: (a * a + 1.0).log() + a.exp(), [(4,)]),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 2)]),
    "matmul_stacked": (lambda a, b: a @ b, [(2, 3, 4), (2, 4, 2)]),
    "matmul_broadcast": (lambda a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)]),
    "sum_axis": (lambda a: a.sum(axis=1), [(2, 3, 4)]),
    "sum_keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)]),
    "mean_all": (lambda a: a.mean(), [(2, 3)]),
    "mean_axes": (lambda a: a.mean(axis=(0, 2)), [(2, 3, 4)]),
    "mean_neg_axis": (lambda a: a.mean(axis=-1), [(2, 3, 4)]),
    "reshape": (lambda a: a.reshape(4, 6) * a.reshape((4, 6)), [(2, 3, 4)]),
    "view": (lambda a: a.view(4, 6) * a.view((4, 6)), [(2, 3, 4)]),
    # clone stays in the graph: both factors send their gradient back to a
    "clone": (lambda a: a.clone() * a + a.clone().sum(), [(2, 3)]),
    "unsqueeze_squeeze": (lambda a: a.unsqueeze(1).unsqueeze(-1).sum(dim=(1, 3)) * a.unsqueeze(0).squeeze(), [(2, 3)]),
    "squeeze_dim": (lambda a: a.squeeze(1) * a.squeeze(-1).squeeze(0), [(1, 1, 4)]),
    "flatten": (lambda a: a.flatten(1).sum(dim=1) * (a.flatten(0, 1) * a.flatten(0, 1)).sum(), [(2, 3, 4)]),
    "sum_dim_list": (lambda a: a.sum(dim=[0, 2]) * a.mean(dim=[1, 2], keepdim=True).sum(), [(2, 3, 4)]),
    "double": (lambda a: a.double() * a, [(2, 3)]),   # float() rounds: no finite differences through it
    "cat": (lambda a, b: _cat([a, b * b, a], dim=1) * 2.0, [(2, 3, 4), (2, 1, 4)]),
    "cat_negative_dim": (lambda a, b: _cat([a, b], dim=-1).sum(dim=0), [(2, 3), (2, 2)]),
    "abs_clamp": (lambda a: a.abs() * a.clamp(-0.5, 0.7) + a.clamp(min=0.1) + a.clamp(max=-0.2), [(3, 4)]),
    "softmax_methods": (lambda a: a.softmax(1) * a.log_softmax(dim=0) + a.relu(), [(3, 4)]),
    "amax_amin": (lambda a: a.amax(dim=1) * a.amin(dim=(0, 2), keepdim=True).sum() + a.amax(), [(2, 3, 4)]),
    "max_min_dim": (lambda a: a.max(dim=1)[0] * a.min(dim=-1, keepdim=True)[0].sum() + a.max() * a.min(), [(2, 3, 4)]),
    "permute": (lambda a, b: a.permute(2, 0, 1) * b, [(2, 3, 4), (4, 2, 3)]),
    # axes counted from the end: the backward had sorted -1 first, a gradient of shape (4, 2, 3)
    "permute_negative_axes": (lambda a, b: a.permute(0, -1, 1) * b, [(2, 3, 4), (2, 4, 3)]),
    # two axes swapped, as PyTorch's transpose (it had read (0, 1) as NumPy's permutation: no change)
    "transpose_2d": (lambda a, b: a.transpose(0, 1) * b, [(2, 3), (3, 2)]),
    "transpose_swap": (lambda a, b: a.transpose(-1, 0) * b, [(2, 3, 4), (4, 3, 2)]),
    "T": (lambda a: a.T @ a, [(3, 2)]),
    "getitem_slices": (lambda a: a[1:, ::2] * 2.0, [(3, 5)]),
    "getitem_int": (lambda a: a[1] * a[2], [(3, 4)]),
    # index arrays that pick an element twice: its gradient is the sum of both picks
    "getitem_repeated_rows": (lambda a: a[np.array([0, 0, 2, 0])] * 2.0, [(3, 4)]),
    "getitem_repeated_pairs": (lambda a: a[np.array([1, 1, 0]), np.array([2, 2, 3])] * a[0, 0], [(3, 4)]),
    "getitem_mask_and_slice": (lambda a: a[np.array([True, False, True]), 1:] * 3.0, [(3, 4)]),
}


def _cat(tensors, dim):   # minifcn's or torch's, by the tensors' kind
    if type(tensors[0]).__module__.startswith("torch"):
        import torch
        return torch.cat(tensors, dim=dim)
    return minifcn.cat(tensors, dim=dim)


def test_cat_refuses_what_it_cannot_join():
    a = Tensor(np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match=r"cat: shapes \(1, 2, 3\) and \(2, 2, 3\) differ outside dimension 1"):
        minifcn.cat([a, Tensor(np.ones((2, 2, 3)))], dim=1)
    with pytest.raises(TypeError, match="cat: tensors must share one dtype, got float64 and float32"):
        minifcn.cat([a, Tensor(np.ones((1, 2, 3), np.float32))])
    with pytest.raises(IndexError, match="cat: dimension 3 is out of range for a 3-d tensor"):
        minifcn.cat([a, a], dim=3)


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradcheck(xp, rng, name):
    fn, shapes = OPS[name]
    assert gradcheck(fn, [xp.asarray(rng.standard_normal(s)) for s in shapes])


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_vs_torch(rng, name):
    torch = pytest.importorskip("torch")
    fn, shapes = OPS[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch_tensor(torch, a, requires_grad=True) for a in arrays]
    if name == "T":
        y, yt = fn(*ours), theirs[0].T @ theirs[0]
    else:
        y, yt = fn(*ours), fn(*theirs)
    np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_clone_is_a_copy_and_detach_leaves_the_graph(xp):
    a = Tensor(xp.ones(3), requires_grad=True)
    b, d = a.clone(), a.detach()
    b.data[0] = 7.0   # the clone's memory is its own
    assert float(a.data[0]) == 1.0 and b.requires_grad and not b.is_leaf
    assert not d.requires_grad and d.is_leaf


def test_python_numbers_take_the_tensor_dtype(xp):
    x = Tensor(xp.ones(2, dtype=xp.float32), requires_grad=True)
    y = 2.0 * x + 1.0
    assert y.dtype == np.float32


@pytest.mark.parametrize("other", ["int_array", "bool_array", "float64_0d", "numpy_float64",
                                   "float64_array", "python_float", "int_tensor_x_float"])
def test_arithmetic_promotes_as_pytorch(xp, other):
    # NumPy alone made float32 + int64 (or + a 0-d float64) float64, silently, and the
    # integer Tensor took a float's dtype: Tensor([1, 2, 3]) * 0.5 was [0, 0, 0]
    torch = pytest.importorskip("torch")
    x, xt = Tensor(xp.ones(3, dtype=xp.float32), requires_grad=True), torch.ones(3, requires_grad=True)
    b = {"int_array": np.arange(3), "bool_array": np.array([True, False, True]),
         "float64_0d": np.array(2.0), "numpy_float64": np.float64(2.0),
         "float64_array": np.full(3, 2.0), "python_float": 2.5, "int_tensor_x_float": 0.5}[other]
    if other == "int_tensor_x_float":
        got = Tensor(xp.asarray([1, 2, 3])) * b
        assert np.array_equal(to_np(got), [0.5, 1.0, 1.5])   # values; the dtype follows NumPy
        return
    bt = torch.from_numpy(np.asarray(b)) if isinstance(b, (np.ndarray, np.generic)) else b
    for op in (lambda p, q: p * q, lambda p, q: q + p, lambda p, q: p / (q + 1)):
        y, yt = op(x, b if isinstance(b, float) or other == "numpy_float64" else xp.asarray(b)), op(xt, bt)
        assert str(y.dtype) == str(yt.dtype).replace("torch.", "")
        y.sum().backward()
        assert x.grad.dtype == np.float32   # a gradient has its input's dtype, as in PyTorch
        x.grad = None


def test_pow_keeps_float32_and_has_a_gradient_at_zero_for_exponent_zero(xp):
    x = Tensor(xp.asarray([0.0, 2.0], dtype=xp.float32), requires_grad=True)
    y = x ** np.float64(2)   # a NumPy float64 scalar had made the power float64
    assert y.dtype == np.float32
    (x ** 0).sum().backward()   # 0 * 0 ** -1 had been NaN at 0
    assert np.array_equal(to_np(x.grad), [0.0, 0.0])
    n = Tensor(xp.asarray([2, 4]))   # an integer tensor to a float power is a float one (PyTorch)
    assert np.array_equal(to_np(n ** -1.0), [0.5, 0.25]) and (n ** 2.0).dtype.kind == "f"


def test_each_grad_is_an_array_of_its_own(xp):
    # a + b hands both inputs one array, and the caller's seed reached x.grad itself: an
    # in-place change to one .grad had changed the other, or the caller's array (PyTorch's
    # .grad are separate tensors)
    a, b = (Tensor(xp.ones(2), requires_grad=True) for _ in range(2))
    (a + b).sum().backward()
    a.grad *= 2
    assert to_np(b.grad).tolist() == [1.0, 1.0]
    x, seed = Tensor(xp.ones(2), requires_grad=True), xp.ones(2)
    (x + 0).backward(seed)
    x.grad *= 3
    assert to_np(seed).tolist() == [1.0, 1.0]


def test_astype_stays_in_the_graph_and_integers_need_no_grad(xp):
    # astype had returned a detached copy: the source's .grad stayed None
    w = Tensor(xp.asarray([1.0, 2.0], dtype=xp.float32), requires_grad=True)
    y = w.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert w.grad.dtype == np.float32 and np.array_equal(to_np(w.grad), [2.0, 4.0])
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, got dtype int64"):
        Tensor(xp.asarray([1, 2]), requires_grad=True)


def test_backward_checks_what_it_is_given(xp):
    x = Tensor(xp.ones(2, dtype=xp.float32), requires_grad=True)
    (x * 2).backward(xp.ones(2))   # a float64 seed: cast, as PyTorch (it left float64 .grad)
    assert x.grad.dtype == np.float32
    with no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):   # had done nothing, silently
        y.backward()
    assert bool(Tensor(xp.zeros(1))) is False and bool(Tensor(xp.ones(()))) is True   # len() had decided
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor(xp.ones(2)))


# --------------------------------------------------------------------- gradcheck can fail
class _WrongSquare(Function):
    """y = x^2 with a backward that forgets the factor 2."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return gy * self.x


def test_gradcheck_catches_a_wrong_backward(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3)))
    with pytest.raises(GradcheckError, match="analytic .* vs numeric"):
        gradcheck(lambda x: _WrongSquare()(x), [x])
    assert gradcheck(lambda x: _WrongSquare()(x), [x], raise_exception=False) is False
    big = xp.asarray(rng.standard_normal((20, 20)))
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(lambda x: _WrongSquare()(x), [big], max_elements=10)


class _SlightlyWrongLogSoftmax(Function):
    """log_softmax over axis 1 whose backward is 1e-5 too big: a part in 100000."""

    def forward(self, x):
        self.y = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
        return self.y

    def backward(self, gy):
        return (gy - np.exp(self.y) * gy.sum(axis=1, keepdims=True)) * (1 + 1e-5)


def test_gradcheck_on_a_big_output_still_catches_a_small_error(rng):
    # a 21-class map of 2x9x8 pixels: its loss's rounding raises atol to about 1e-7, and a
    # backward wrong by 1e-5 of itself is still far past that
    big = rng.standard_normal((2, 21, 9, 8))
    assert gradcheck(lambda x: F.log_softmax(x, 1), [big], directions=4)
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(lambda x: _SlightlyWrongLogSoftmax()(x), [big], directions=4)


def test_gradcheck_refuses_float32(xp):
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * x, [xp.ones(3, dtype=xp.float32)])


def test_matmul_bad_shapes_say_why(xp):
    a = Tensor(xp.ones((2, 3)))
    assert (a @ Tensor(xp.ones(3))).shape == (2,)   # PyTorch's rule: a 1-d right operand is a column
    with pytest.raises(ValueError, match=r"at least 1 dimension, got shapes \(2, 3\) and \(\)"):
        a @ Tensor(xp.asarray(3.0))
    with pytest.raises(ValueError, match=r"inner dimensions differ: \(2, 3\) @ \(4, 2\)"):
        a @ Tensor(xp.ones((4, 2)))


def test_numpy_reads_a_tensor_as_its_array():
    """np.asarray(t), and so plt.imshow(t), see the data (NumPy had walked the Tensor as a
    sequence: an array of 0-d Tensors, dtype object)."""
    t = Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2, 3) and np.shares_memory(a, t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    t.requires_grad_()
    assert isinstance(np.float32(2) * t, Tensor)        # arithmetic still stays in the graph
    # as PyTorch: NumPy would compute outside the graph (np.exp(t) had given a plain array,
    # and backward failed later, far from the cause)
    with pytest.raises(RuntimeError, match="requires grad cannot become a NumPy array"):
        np.exp(t)
    assert np.asarray(t.detach()).shape == (2, 3) and t.numpy().shape == (2, 3)


def test_comparisons_are_elementwise_and_hashing_by_identity(xp):
    """As PyTorch's: ``t == 2`` compares each value (it had compared the objects: False), a
    bool Tensor with no gradient; a Tensor still keys a dict by identity."""
    t = Tensor(xp.asarray([0.0, 1.0, 2.0, 3.0]), requires_grad=True)
    u = Tensor(xp.asarray([0.0, 5.0, 2.0, 1.0]))
    assert to_np((t == u).data).tolist() == [True, False, True, False]
    assert to_np((t != 2).data).tolist() == [True, True, False, True]
    assert to_np((t < u).data).tolist() == [False, True, False, False]
    assert to_np((t <= 1).data).tolist() == [True, True, False, False]
    assert to_np((t > u).data).tolist() == [False, False, False, True]
    assert to_np((1 >= t).data).tolist() == [True, True, False, False]   # reflected
    assert (t == u).dtype == np.bool_ and not (t == u).requires_grad
    assert {t: "t", u: "u"}[t] == "t" and len({t, u, t}) == 2


def test_pow_takes_a_0d_array_as_a_number_and_an_array_per_value():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    # a 0-d float64 array had made a float32 power float64 on NumPy 2, as a number does not
    assert (x ** np.array(2.0)).dtype == (x ** np.float64(2.0)).dtype == np.float32
    e = np.array([[2.0], [0.0], [3.0]])   # broadcast against (1, 4): the gradient sums back
    a = np.random.default_rng(0).random((1, 4)) + 0.5
    assert gradcheck(lambda t: t ** e, [a])
    a[0, 0] = 0.0                          # 0 ** 0 is 1 whatever 0 ** -1: no NaN in the gradient
    t = Tensor(a, requires_grad=True)
    (t ** e).sum().backward()
    assert t.grad.shape == (1, 4) and np.isfinite(t.grad).all() and t.grad[0, 0] == 0
    # a Tensor exponent is in the graph too (ops_math.pow, as PyTorch's): 1 ** e has the
    # gradient 1 ** e ln 1 = 0 for the exponent, 2 * 1 = 2 per value for the base
    e = Tensor(np.float32(2.0), requires_grad=True)
    (x ** e).sum().backward()
    assert x.grad.tolist() == [2.0] * 3 and e.grad == 0.0


def test_argmax_and_requires_grad_as_pytorch_s(xp, rng):
    scores = rng.standard_normal((2, 5, 3, 4))
    t = Tensor(xp.asarray(scores), requires_grad=True)
    pred = t.argmax(axis=1)
    assert pred.shape == (2, 3, 4) and not pred.requires_grad
    np.testing.assert_array_equal(to_np(pred.data), scores.argmax(axis=1))
    assert t.argmax(axis=1, keepdims=True).shape == (2, 1, 3, 4) and int(t.argmax().item()) == scores.argmax()
    w = Tensor(xp.ones(3), requires_grad=True)
    assert w.requires_grad_(False) is w and not w.requires_grad
    (w * 2.0 + t.sum()).sum().backward()   # a frozen tensor gets no gradient
    assert w.grad is None and t.grad is not None
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(xp.arange(3)).requires_grad_()


def test_pytorch_s_dim_and_keepdim_are_taken_beside_axis_and_keepdims(xp, rng):
    a = rng.standard_normal((2, 3, 4))
    t = Tensor(xp.asarray(a))
    for op in ("sum", "mean"):
        ours = getattr(t, op)(dim=1, keepdim=True)
        np.testing.assert_allclose(to_np(ours.data), getattr(a, op)(axis=1, keepdims=True), rtol=1e-12)
        np.testing.assert_array_equal(to_np(ours.data), to_np(getattr(t, op)(axis=1, keepdims=True).data))
    assert to_np(t.argmax(dim=2).data).tolist() == a.argmax(axis=2).tolist()
    np.testing.assert_array_equal(to_np(F.softmax(t, dim=2).data), to_np(F.softmax(t, axis=2).data))
    np.testing.assert_array_equal(to_np(F.log_softmax(t, dim=0).data), to_np(F.log_softmax(t, axis=0).data))
    with pytest.raises(TypeError, match="give axis or dim, not both"):
        t.sum(axis=0, dim=1)


def test_sgd_by_hand_in_place_under_no_grad_as_pytorch(rng):
    """``p -= lr * p.grad`` had made a new Tensor and rebound the loop's name: the parameters
    never moved. In place, as PyTorch's; refused while a graph is recorded."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 4))
    p, tp = Tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    for _ in range(3):
        for q in (p, tp):
            q.grad = None
        (p * p * p).sum().backward()
        (tp * tp * tp).sum().backward()
        with no_grad():
            for q in (p,):   # a loop variable: the case that had never moved the parameter
                q -= 0.1 * q.grad
                q *= 0.99
        with torch.no_grad():
            tp -= 0.1 * tp.grad
            tp *= 0.99
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)
    assert p.is_leaf and p.requires_grad
    with pytest.raises(RuntimeError, match=r"-= with a tensor that requires grad is not recorded in the graph here"):
        p -= 1.0   # PyTorch refuses it on a leaf too
    with pytest.raises(RuntimeError, match="item assignment is not recorded in the graph"):
        p[0] = 1.0
    with no_grad():
        p **= 2   # **= too had rebound the name
    np.testing.assert_allclose(p.data, tp.detach().numpy() ** 2, rtol=1e-12)
    mask = Tensor(np.ones(4))
    mask[1:3] = Tensor(np.zeros(2))   # no gradient wanted: in place, as PyTorch's
    mask /= 2
    assert mask.data.tolist() == [0.5, 0.0, 0.0, 0.5]


def test_one_value_tensors_are_python_numbers_as_pytorch(xp):
    loss = Tensor(xp.asarray(0.123456, dtype=xp.float32))
    assert f"{loss:.3f}" == "0.123" and abs(float(loss) - 0.123456) < 1e-7
    k = Tensor(xp.asarray([[0.1, 0.9, 0.3]])).argmax()
    assert int(k) == 1 and [10, 20, 30][k] == 20   # an index, as PyTorch's integer tensors
    with pytest.raises(TypeError, match=r"only a tensor of one value converts to a Python float, this one has shape \(2,\)"):
        float(Tensor(xp.ones(2)))
    with pytest.raises(TypeError, match=r"only a 0-d integer tensor can be an index, got float64 of shape \(\)"):
        [1, 2][Tensor(xp.asarray(1.0))]
    # a (1,) index tensor picks along its axis, as PyTorch's: read as an integer it had dropped it
    x = Tensor(xp.arange(10.0))
    assert x[Tensor(xp.asarray([2]))].shape == (1,) and x[Tensor(xp.asarray(2))].shape == ()
    t = Tensor(xp.ones((2, 3, 4)))
    assert (t.numel(), t.dim(), t.cpu().device, t.tolist()[1][2]) == (24, 3, "cpu", [1.0] * 4)
    assert t.float().dtype == np.float32 and t.double().dtype == np.float64
    with pytest.raises(IndexError, match=r"unsqueeze: dimension 4 is out of range \[-4, 3\]"):
        t.unsqueeze(4)


def test_set_grad_enabled_and_inference_mode():
    x = Tensor(np.ones(2), requires_grad=True)
    with minifcn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with minifcn.set_grad_enabled(True):
            assert (x * 2).requires_grad
    with minifcn.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad and minifcn.is_grad_enabled()
    with pytest.raises(ValueError, match="clamp: give min, max or both"):
        x.clamp()


def test_in_place_into_the_graph_is_refused_with_the_form_to_write():
    """``reg += (w * w).sum()``, ResNet's ``out += identity``: an in-place change the graph
    would have to record. Changing the data had dropped the sum from the graph (w.grad 2 where
    PyTorch's is 4); making ``out + identity`` and rebinding ``out`` had given other names for
    ``out`` the old value in training and the new one under no_grad. Refused, saying what to
    write; under no_grad it is in place, as PyTorch's."""
    w = Tensor(np.ones(3), requires_grad=True)
    reg, out = Tensor(np.zeros(())), w * 3.0
    with pytest.raises(RuntimeError, match=r"\+= with a tensor that requires grad .*\(out = out \+ skip"):
        reg += (w * w).sum()
    with pytest.raises(RuntimeError, match=r"\*= with a tensor that requires grad"):
        out *= 2.0
    with pytest.raises(RuntimeError, match="item assignment is not recorded"):
        Tensor(np.zeros(2))[0] = w.sum()   # it had written the value and left the graph
    identity = out
    with no_grad():
        out += 1.0
    assert identity is out and out.data.tolist() == [4.0] * 3


def test_to_and_cpu_stay_in_the_graph_as_pytorch(xp):
    w = Tensor(xp.ones(3), requires_grad=True)
    assert w.cpu() is w if xp is np else w.cpu() is not w
    (w.cpu() * 2.0 + w.to("cpu") if xp is np else w.cpu() * 2.0).sum().backward()
    np.testing.assert_allclose(to_np(w.grad), [3.0] * 3 if xp is np else [2.0] * 3)


def test_dim_lists_and_dimension_checks_as_pytorch():
    torch = pytest.importorskip("torch")
    x, t = Tensor(np.arange(6.0).reshape(2, 1, 3)), torch.arange(6.0, dtype=torch.float64).reshape(2, 1, 3)
    assert float(x.sum(dim=[])) == float(t.sum(dim=[])) == 15.0   # an empty list: every axis
    assert x.squeeze((0, 1)).shape == tuple(t.squeeze((0, 1)).shape) == (2, 3)
    assert Tensor(np.ones(())).squeeze(0).shape == ()
    for bad in (lambda a: a.flatten(-5), lambda a: a.flatten(0, 5), lambda a: a.unsqueeze(4)):
        with pytest.raises(IndexError):
            bad(t)
        with pytest.raises(IndexError, match=r"dimension -?[45] is out of range \[-[34], [23]\]"):
            bad(x)
    with pytest.raises(TypeError, match="a dimension must be an int, got bool True"):
        x.unsqueeze(True)


def test_two_leaves_never_share_a_gradient_s_memory():
    """``w1.reshape(3) + w2``: the add hands both the same array, w1's through a reshape view;
    a copy was made only for the same array, so scaling w1.grad in place changed w2.grad."""
    w1, w2 = Tensor(np.ones((3, 1)), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    ((w1.reshape(3) + w2) * Tensor(np.arange(3.0))).sum().backward()
    assert not np.shares_memory(w1.grad, w2.grad)
    w1.grad *= 10
    assert w2.grad.tolist() == [0.0, 1.0, 2.0]


def test_size_is_numpy_s_plain_count():
    # an int subclass callable as PyTorch's size() made NumPy 2 promote float32 / t.size to float64
    t = Tensor(np.zeros((2, 3, 4), np.float32))
    assert type(t.size) is int and t.size == t.numel() == 24
    assert (t.data / t.size).dtype == np.float32


def test_max_with_ties_shares_or_picks_as_pytorch(xp):
    """amax and max() share the gradient among tied values; max(dim) sends it to the index."""
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for fn in (lambda t: t.amax(dim=1), lambda t: t.max(), lambda t: t.max(dim=1)[0],
               lambda t: t.min(dim=0, keepdim=True)[0], lambda t: t.amin()):
        ours, theirs = Tensor(xp.asarray(a), requires_grad=True), torch.tensor(a, requires_grad=True)
        fn(ours).sum().backward()
        fn(theirs).sum().backward()
        np.testing.assert_allclose(to_np(ours.grad), theirs.grad.numpy(), rtol=1e-12)
    values, indices = Tensor(xp.asarray(a)).max(dim=1)
    tv, ti = torch.tensor(a).max(dim=1)
    assert to_np(values).tolist() == tv.tolist() and to_np(indices).tolist() == ti.tolist()


def test_max_of_nan_and_of_one_value_as_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([1.0, np.nan, 3.0])
    ours, theirs = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # 0 / 0 had warned, and spread NaN to every gradient
        ours.max().backward()
    theirs.max().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())   # [0, 1, 0]: the NaN takes it
    one, tone = Tensor(np.array(3.0)), torch.tensor(3.0)
    for d in (0, -1):
        v, i = one.max(dim=d)
        tv, ti = tone.max(dim=d)
        assert (float(v), int(i)) == (float(tv), int(ti))
    assert float(one.amax(dim=(0,))) == 3.0
    values, indices = Tensor(np.eye(2)).min(dim=0)
    assert Tensor(np.eye(2)).min(dim=0).indices is not None and values.shape == indices.shape == (2,)
    with pytest.raises(TypeError, match="an elementwise max of two tensors is not provided"):
        one.max(Tensor(np.array(2.0)))


def test_set_grad_enabled_called_as_pytorch():
    try:
        minifcn.set_grad_enabled(False)   # called: from then on
        assert not minifcn.is_grad_enabled()
    finally:
        minifcn.set_grad_enabled(True)
    with minifcn.inference_mode(False):   # mode False: grad on
        assert minifcn.is_grad_enabled()
    with minifcn.no_grad(), minifcn.inference_mode(False):   # inside no_grad too, as PyTorch's
        assert minifcn.is_grad_enabled()


# --------------------------------------------------------------------- maximum, minimum, where
def _tie_free(*shapes):
    """float64 arrays of ``shapes`` whose values all differ by at least 0.01, across arrays too:
    a finite-difference step never changes which of two wins."""
    from minifcn.testing import distinct_values
    sizes = [int(np.prod(s)) for s in shapes]
    flat = distinct_values((sum(sizes),), seed=len(shapes))
    return [a.reshape(s) for a, s in zip(np.split(flat, np.cumsum(sizes)[:-1]), shapes)]


ELEMENTWISE = {   # name: (fn(minifcn or torch, *inputs), float shapes, bool condition shape or None)
    "maximum": (lambda m, a, b: m.maximum(a, b), [(3, 4), (3, 4)], None),
    "maximum_broadcast": (lambda m, a, b: m.maximum(a, b), [(3, 4), (4,)], None),
    "minimum_broadcast_both": (lambda m, a, b: m.minimum(a, b), [(2, 1, 3), (4, 1)], None),
    "min_max_chain": (lambda m, a, b: m.minimum(m.maximum(a, b) * 2.0, b + 0.015), [(2, 3), (2, 3)], None),
    "where": (lambda m, c, a, b: m.where(c, a, b), [(3, 4), (3, 4)], (3, 4)),
    "where_broadcast": (lambda m, c, a, b: m.where(c, a, b), [(1, 4), (3, 1)], (3, 4)),
    "where_condition_broadcast": (lambda m, c, a, b: m.where(c, a, b), [(2, 3, 4), (4,)], (3, 1)),
}


def _torch_or_minifcn(t):
    if type(t).__module__.startswith("torch"):
        import torch
        return torch
    return minifcn


def _run(name, inputs):
    fn, _, cond = ELEMENTWISE[name]
    return fn(_torch_or_minifcn(inputs[-1]), *inputs)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_gradcheck(xp, rng, name):
    _, shapes, cond = ELEMENTWISE[name]
    arrays = [xp.asarray(a) for a in _tie_free(*shapes)]
    if cond is not None:
        arrays.insert(0, xp.asarray(rng.random(cond) < 0.5))
    assert gradcheck(lambda *t: _run(name, t), arrays)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_vs_torch_with_ties(xp, rng, name):
    # values drawn from {0, 1, 2}: many ties, where PyTorch's maximum and minimum give each
    # side half the gradient; and a NaN, which wins and gives both sides all of it
    torch = pytest.importorskip("torch")
    _, shapes, cond = ELEMENTWISE[name]
    arrays = [rng.integers(0, 3, s).astype(np.float64) for s in shapes]
    arrays[0].flat[1] = np.nan
    if cond is not None:
        arrays.insert(0, rng.random(cond) < 0.5)
    ours = [Tensor(xp.asarray(a), requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch_tensor(torch, a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y, yt = _run(name, ours), _run(name, theirs)
    np.testing.assert_array_equal(to_np(y), yt.detach().numpy())
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    for a, b in zip(ours, theirs):
        if b.requires_grad:
            np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=1e-12, atol=1e-12)
        else:
            assert a.grad is None


def test_elementwise_with_numbers_and_arrays(xp):
    torch = pytest.importorskip("torch")
    x = Tensor(xp.asarray([-2.0, 0.5, 3.0], dtype=xp.float32), requires_grad=True)
    xt = torch.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = minifcn.maximum(x, 0.25) + minifcn.minimum(1.0, x) + minifcn.where(x > 0, x, 0.25)
    yt = torch.clamp(xt, min=0.25) + torch.clamp(xt, max=1.0) + torch.where(xt > 0, xt, 0.25)
    y.sum().backward()
    yt.sum().backward()   # clamp's gradient at a tie is 1, maximum's 1/2: no tie in this data
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(to_np(x.grad), xt.grad.numpy(), rtol=1e-6)
    # the dtypes of torch.where's numbers: two floats float32, two ints int64, against a Tensor its own
    c, ct = Tensor(xp.asarray([True, False])), torch.tensor([True, False])
    for a, b in ((1.0, 0.0), (1, 0), (2, 0.5), (True, False)):
        got, want = minifcn.where(c, a, b), torch.where(ct, a, b)
        assert str(got.dtype) == str(want.dtype).replace("torch.", "") and type(got.data) is type(c.data)
        assert to_np(got).tolist() == want.tolist()
    h = Tensor(xp.asarray([1.0, 2.0], dtype=xp.float64))
    assert minifcn.where(c, h, 7).dtype == np.float64 and minifcn.where(c.data, 7.5, h.data).dtype == np.float64
    assert to_np(minifcn.maximum(xp.asarray([1.0, 3.0]), xp.asarray([2.0, 2.0]))).tolist() == [2.0, 3.0]
    low = minifcn.minimum(2.5, xp.asarray([1.0, 3.0], dtype=xp.float32))   # an array's device and dtype
    assert type(low.data) is type(c.data) and low.dtype == np.float32 and to_np(low).tolist() == [1.0, 2.5]


def test_where_refuses_a_condition_that_is_not_bool():
    x = Tensor(np.ones(3))
    with pytest.raises(TypeError, match=r"where: condition must be bool \(a comparison such as x > 0\), got int64"):
        minifcn.where(np.array([1, 0, 1]), x, 0.0)
    with pytest.raises(TypeError, match="got float64"):
        minifcn.where(x, x, 0.0)


class _Square(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return 2 * self.x * gy


def test_a_function_object_is_one_node():
    # reusing one object had overwritten what its first call saved: a's gradient came out None
    # and b's wrong (12 for 6), with no error
    a, b = Tensor(np.array([1.0]), requires_grad=True), Tensor(np.array([3.0]), requires_grad=True)
    sq = _Square()
    sq(a)
    with pytest.raises(RuntimeError, match=r"already a node of a graph; make a new one for each call, _Square\(\)\(x\)"):
        sq(b)
    with pytest.raises(RuntimeError, match="already a node"):   # no graph either: forward would
        sq(Tensor(np.array([10.0])))                          # overwrite what backward reads
    (_Square.apply(a) + _Square.apply(b)).sum().backward()   # PyTorch's spelling: a new node each time
    assert a.grad.tolist() == [2.0] and b.grad.tolist() == [6.0]
    with no_grad():                     # no graph: nothing saved for a backward, reuse is harmless
        sq2 = _Square()
        assert sq2(a).tolist() == [1.0] and sq2(b).tolist() == [9.0]


class _Scale(Function):
    def __init__(self, returns):
        self.returns = returns

    def forward(self, x, k):
        self.k = k
        return x * k

    def backward(self, gy):
        return self.returns(gy, self.k)


@pytest.mark.parametrize("returns, message", [
    (lambda gy, k: gy * k, r"returned 1 gradient for 2 inputs"),          # k frozen, silently, before
    (lambda gy, k: (gy * k, gy, gy), r"returned 3 gradients for 2 inputs"),
])
def test_backward_must_return_a_gradient_per_input(returns, message):
    x, k = Tensor(np.array([2.0]), requires_grad=True), Tensor(np.array([3.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="_Scale.backward " + message):
        _Scale(returns)(x, k).sum().backward()
    # extra Nones pass, as PyTorch lets them (a bias the call had none of)
    x.grad = k.grad = None
    _Scale(lambda gy, kk: (gy * kk, gy * 2.0, None))(x, k).sum().backward()
    assert x.grad.tolist() == [3.0] and k.grad.tolist() == [2.0]


def test_gradcheck_takes_tensors_as_torch_does():
    from minifcn.testing import GradcheckError, gradcheck
    x = Tensor(np.array([0.5, -1.5, 2.0]))
    assert gradcheck(lambda t: _Square.apply(t), (x,))
    assert gradcheck(lambda t: _Square.apply(t), x)          # one input, not in a tuple

    class Wrong(_Square):
        def backward(self, gy):
            return 2.001 * self.x * gy
    with pytest.raises(GradcheckError, match=r"input 0 element \(0,\): analytic"):   # plain ints
        gradcheck(lambda t: Wrong.apply(t), x)


def test_gradcheck_checks_the_tensors_that_require_grad():
    # as torch's: a constant Tensor beside them is not checked (its None gradient had failed)
    class MulConst(Function):
        def forward(self, a, b):
            self.b = b
            return a * b

        def backward(self, gy):
            return gy * self.b, None
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    assert gradcheck(lambda a, b: MulConst()(a, b), (x, Tensor(np.array([3.0, 3.0]))))


@pytest.mark.parametrize("dim", [0, -1, (0,), [-1]])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_of_a_0d_tensor_over_dim_0_or_minus_1_is_itself_as_pytorch_s(xp, dim, keepdim):
    # its backward had taken the axis modulo the 0 axes of the input (ZeroDivisionError, then
    # "cannot broadcast a non-scalar to a scalar array"); cosine_similarity(dim=0) of 0-d inputs met it
    torch = pytest.importorskip("torch")
    x = Tensor(xp.asarray(np.float64(2.0)), requires_grad=True)
    t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    y, yt = x.sum(dim=dim, keepdim=keepdim), t.sum(dim=dim, keepdim=keepdim)
    (y * 3.0).backward()
    (yt * 3.0).backward()
    assert y.shape == tuple(yt.shape) == () and y.item() == yt.item() == 2.0
    assert x.grad.shape == () and to_np(x.grad).item() == t.grad.item() == 3.0
