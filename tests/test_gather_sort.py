"""gather, scatter, scatter_add, sort, argsort and topk: against the loops of minifcn.naive,
against PyTorch (values, indices, gradients), by float64 finite differences, by the adjoint
identity between gather and scatter-add, and their errors."""
import numpy as np
import pytest

import minifcn
from minifcn import Tensor, naive
from minifcn.testing import distinct_values, gradcheck
from oracle import to_np, torch_tensor

# (input shape, dim, index shape): index smaller than the input off dim, larger along it, 1-d
CASES = [((3, 4), 0, (5, 2)), ((3, 4), 1, (2, 6)), ((2, 3, 4), 2, (2, 3, 4)),
         ((2, 3, 4), -2, (1, 5, 3)), ((6,), 0, (9,)), ((2, 1, 3), 1, (2, 4, 3))]


def _index(rng, in_shape, dim, idx_shape):
    """Random indices in range along ``dim``, repeats certain (more draws than values)."""
    return rng.integers(0, in_shape[dim], size=idx_shape)


# --------------------------------------------------------------------- gather
@pytest.mark.parametrize("in_shape, dim, idx_shape", CASES)
def test_gather_matches_the_loop_and_its_backward_is_the_scatter_add(xp, rng, in_shape, dim, idx_shape):
    x = rng.standard_normal(in_shape)
    index = _index(rng, in_shape, dim, idx_shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = minifcn.gather(t, dim, xp.asarray(index))
    np.testing.assert_array_equal(to_np(y), naive.gather(x, dim % len(in_shape), index))
    gy = rng.standard_normal(idx_shape)
    y.backward(xp.asarray(gy))
    # the gradient of a read is an add at the place read: repeats sum
    expected = naive.scatter(np.zeros(in_shape), dim % len(in_shape), index, gy, add=True)
    np.testing.assert_allclose(to_np(t.grad), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("in_shape, dim, idx_shape", CASES)
def test_gather_matches_pytorch(rng, in_shape, dim, idx_shape):
    torch = pytest.importorskip("torch")
    x, index = rng.standard_normal(in_shape), _index(rng, in_shape, dim, idx_shape)
    for dtype in (np.float64, np.float32):
        t = Tensor(x.astype(dtype), requires_grad=True)
        tt = torch_tensor(torch, x.astype(dtype), requires_grad=True)
        y, yt = t.gather(dim, Tensor(index)), torch.gather(tt, dim, torch.from_numpy(index))
        np.testing.assert_array_equal(to_np(y), to_np(yt))   # a copy of values: exact
        gy = rng.standard_normal(idx_shape).astype(dtype)
        y.backward(gy)
        yt.backward(torch.from_numpy(gy))
        tol = 1e-12 if dtype == np.float64 else 1e-5          # sums of a few float32 terms
        np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=tol, atol=tol)


def test_gather_gradcheck(xp, rng):
    x, index = rng.standard_normal((3, 4)), rng.integers(0, 4, size=(3, 7))
    assert gradcheck(lambda t: minifcn.gather(t, 1, xp.asarray(index)), [xp.asarray(x)])


@pytest.mark.parametrize("in_shape, dim, idx_shape", CASES)
def test_gather_and_scatter_add_are_adjoint(xp, rng, in_shape, dim, idx_shape):
    # <gather(x), y> = <x, scatter_add(0, y)> for the same index, repeats included
    x, y = rng.standard_normal(in_shape), rng.standard_normal(idx_shape)
    index = xp.asarray(_index(rng, in_shape, dim, idx_shape))
    ax = to_np(minifcn.gather(Tensor(xp.asarray(x)), dim, index))
    aty = to_np(minifcn.scatter_add(Tensor(xp.zeros(in_shape)), dim, index, Tensor(xp.asarray(y))))
    lhs, rhs = float((ax * y).sum()), float((x * aty).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_gather_and_scatter_of_0d_and_integer_tensors_as_pytorch():
    torch = pytest.importorskip("torch")
    five = Tensor(np.array(5.0))
    assert minifcn.gather(five, 0, np.array([0, 0])).tolist() == torch.gather(
        torch.tensor(5.0), 0, torch.tensor([0, 0])).tolist() == [5.0, 5.0]
    g = minifcn.gather(five, 0, np.array(0))
    assert g.shape == () and g.item() == 5.0
    for op in ("scatter", "scatter_add"):   # a 0-d input, index and src count as 1-d too
        ours = getattr(minifcn, op)(Tensor(np.array(2.0)), 0, np.array(0), Tensor(np.array(5.0)))
        theirs = getattr(torch, op)(torch.tensor(2.0, dtype=torch.float64), 0, torch.tensor(0),
                                    torch.tensor(5.0, dtype=torch.float64))
        assert ours.shape == tuple(theirs.shape) == () and ours.item() == theirs.item()
    ints = Tensor(np.array([[4, 7, 1]]))
    picked = ints.gather(1, np.array([[2, 0]], np.int32))    # an int32 index too, as PyTorch 2
    assert picked.dtype == np.int64 and picked.tolist() == [[1, 4]] and not picked.requires_grad


# --------------------------------------------------------------------- scatter, scatter_add
@pytest.mark.parametrize("in_shape, dim, idx_shape", CASES)
@pytest.mark.parametrize("add", [False, True])
def test_scatter_matches_the_loop_repeats_included(xp, rng, in_shape, dim, idx_shape, add):
    # repeats: scatter keeps the last in row-major order of index (the loop's), on every device
    x, index = rng.standard_normal(in_shape), _index(rng, in_shape, dim, idx_shape)
    src = rng.standard_normal(tuple(n + 1 for n in idx_shape))   # larger than index: its corner is read
    op = minifcn.scatter_add if add else minifcn.scatter
    y = op(Tensor(xp.asarray(x)), dim, xp.asarray(index), Tensor(xp.asarray(src)))
    expected = naive.scatter(x, dim % len(in_shape), index, src, add=add)
    np.testing.assert_allclose(to_np(y), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("add", [False, True])
def test_scatter_gradcheck_repeats_and_a_larger_src(xp, rng, add):
    # the overwritten values and src's part beyond index have no effect: zero gradient
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    index = xp.asarray(np.array([[1, 1, 3], [0, 2, 0]]))
    op = minifcn.scatter_add if add else minifcn.scatter
    assert gradcheck(lambda a, s: op(a, 1, index, s), [xp.asarray(x), xp.asarray(src)])
    s = Tensor(xp.asarray(src), requires_grad=True)
    op(Tensor(xp.asarray(x)), 1, index, s).sum().backward()
    g = to_np(s.grad)
    assert (g[2:] == 0).all() and (g[:, 3] == 0).all()      # outside index's (2, 3)
    # row 0 writes src[0, 0] and then src[0, 1] to column 1, row 1 src[1, 0] and then src[1, 2]
    # to column 0: the later stays, the earlier has no effect (scatter_add: both count)
    assert g[0, 0] == g[1, 0] == (1.0 if add else 0.0)
    assert g[0, 1] == g[1, 1] == g[1, 2] == 1.0


@pytest.mark.parametrize("in_shape, dim, idx_shape", [((3, 4), 1, (3, 2)), ((2, 3, 4), 0, (2, 3, 4)),
                                                      ((4, 5), 0, (2, 5))])
@pytest.mark.parametrize("add", [False, True])
def test_scatter_matches_pytorch_with_distinct_places(rng, in_shape, dim, idx_shape, add):
    # distinct places along dim (PyTorch's result is defined there, and its gradient too)
    torch = pytest.importorskip("torch")
    x, src = rng.standard_normal(in_shape), rng.standard_normal(idx_shape)
    index = np.argsort(rng.random(in_shape), axis=dim)[tuple(slice(0, n) for n in idx_shape)]
    for dtype in (np.float64, np.float32):
        a, s = Tensor(x.astype(dtype), requires_grad=True), Tensor(src.astype(dtype), requires_grad=True)
        at, st = torch_tensor(torch, x.astype(dtype), True), torch_tensor(torch, src.astype(dtype), True)
        y = a.scatter_add(dim, index, s) if add else a.scatter(dim, index, s)
        yt = at.scatter_add(dim, torch.from_numpy(index), st) if add else at.scatter(dim, torch.from_numpy(index), st)
        np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6 if dtype == np.float32 else 1e-15)
        gy = rng.standard_normal(in_shape).astype(dtype)
        y.backward(gy)
        yt.backward(torch.from_numpy(gy))
        np.testing.assert_array_equal(to_np(a.grad), to_np(at.grad))   # copies and zeros: exact
        np.testing.assert_array_equal(to_np(s.grad), to_np(st.grad))


def test_scatter_of_a_number_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    index = np.array([[0, 2], [1, 1]])
    a = Tensor(xp.zeros((2, 3)), requires_grad=True)
    y = a.scatter(1, xp.asarray(index), 7.0)
    yv = minifcn.scatter(a, 1, xp.asarray(index), value=7.0)
    at = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    yt = at.scatter(1, torch.from_numpy(index), 7.0)
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    np.testing.assert_array_equal(to_np(yv), to_np(yt))
    gy = np.arange(6.0).reshape(2, 3)
    y.backward(xp.asarray(gy))
    yt.backward(torch.from_numpy(gy))
    np.testing.assert_array_equal(to_np(a.grad), to_np(at.grad))   # zero where written


# --------------------------------------------------------------------- sort, argsort
def _with_ties(rng, shape):
    """Values from a few levels, so most lines have ties, and a NaN or two."""
    x = rng.integers(0, 4, size=shape).astype(np.float64)
    x.reshape(-1)[rng.choice(x.size, 2, replace=False)] = np.nan
    return x


@pytest.mark.parametrize("dtype, values", [("int32", [2**31 - 1, 2**31 - 1, 5]),
                                             ("int64", [2**53 + 1, 0, 2**62]),
                                             ("uint8", [200, 100, 7]), ("bool", [True, True, False])])
def test_scatter_add_of_integers_is_exact_and_wraps_as_pytorch(xp, dtype, values):
    """bincount adds in float64: 2**53 + 1 came back as 2**53, and two int32 maxima were not
    wrapped to -2 (with a warning) as PyTorch's are; bools add up as "any"."""
    torch = pytest.importorskip("torch")
    src, index = np.array(values, dtype), np.array([1, 1, 0])
    ours = minifcn.scatter_add(Tensor(xp.zeros(3, dtype)), 0, xp.asarray(index), Tensor(xp.asarray(src)))
    theirs = torch.zeros(3, dtype=getattr(torch, dtype)).scatter_add(0, torch.from_numpy(index),
                                                                     torch.from_numpy(src))
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(to_np(ours), theirs.numpy())


def test_scatter_of_a_0d_tensor_zeroes_the_overwritten_gradient_as_pytorch(xp):
    """A 0-d result's upstream gradient can arrive as a NumPy scalar; zeroing the written place
    in place had landed on a copy, and x kept a gradient of 3 where PyTorch's is 0."""
    torch = pytest.importorskip("torch")
    x, s = Tensor(xp.asarray(1.0), requires_grad=True), Tensor(xp.asarray(2.0), requires_grad=True)
    xt, st = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (1.0, 2.0))
    (minifcn.scatter(x, 0, xp.asarray(0), s) * 3).backward()
    (xt.scatter(0, torch.tensor(0), st) * 3).backward()
    assert float(to_np(x.grad)) == xt.grad.item() == 0.0
    assert float(to_np(s.grad)) == st.grad.item() == 3.0
    y = Tensor(xp.asarray(1.0), requires_grad=True)
    (minifcn.scatter(y, 0, xp.asarray(0), value=Tensor(xp.asarray(5.0))) * 3).backward()   # value=: a 0-d Tensor too
    assert float(to_np(y.grad)) == 0.0


@pytest.mark.parametrize("shape, dim", [((7,), 0), ((3, 6), 1), ((5, 2, 3), 0), ((2, 4, 5), -2)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_the_stable_loop_ties_and_nans_included(xp, rng, shape, dim, descending):
    x = _with_ties(rng, shape)
    values, indices = minifcn.sort(Tensor(xp.asarray(x)), dim, descending)
    v, i = naive.sort(x, dim, descending)
    np.testing.assert_array_equal(to_np(indices), i)        # ties: the lower index first
    np.testing.assert_array_equal(to_np(values), v)         # NaN == NaN here
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(to_np(minifcn.argsort(Tensor(xp.asarray(x)), dim, descending)), i)


@pytest.mark.parametrize("shape, dim", [((9,), 0), ((3, 6), 1), ((5, 2, 3), 0)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_pytorch_s_stable_sort(rng, shape, dim, descending):
    # PyTorch documents the order of ties for stable=True only: equal values keep their order
    torch = pytest.importorskip("torch")
    x = _with_ties(rng, shape)
    t, tt = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    values, indices = t.sort(dim, descending, stable=True)
    vt, it = torch.sort(tt, dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(to_np(indices), to_np(it))
    np.testing.assert_array_equal(to_np(values), to_np(vt))
    np.testing.assert_array_equal(to_np(t.argsort(dim, descending, stable=True)),
                                  to_np(torch.argsort(tt, dim=dim, descending=descending, stable=True)))
    gy = rng.standard_normal(shape)
    values.backward(gy)
    vt.backward(torch.from_numpy(gy))
    np.testing.assert_array_equal(to_np(t.grad), to_np(tt.grad))   # each value's own: exact


def test_sort_gradcheck(xp):
    x = distinct_values((3, 5), seed=1, xp=xp)   # tie-free: a step never swaps two values
    assert gradcheck(lambda t: minifcn.sort(t, 1, descending=True).values, [x])
    assert gradcheck(lambda t: minifcn.sort(t, 0).values, [x])


def test_sort_of_0d_and_integer_tensors(xp):
    torch = pytest.importorskip("torch")
    values, indices = minifcn.sort(Tensor(xp.asarray(3.0)))
    assert values.shape == indices.shape == () and values.item() == 3.0 and indices.item() == 0
    v, i = Tensor(xp.asarray([3, 1, 2, 1])).sort()
    vt, it = torch.sort(torch.tensor([3, 1, 2, 1]), stable=True)
    assert to_np(v).tolist() == vt.tolist() and to_np(i).tolist() == it.tolist()
    assert v.dtype == np.int64 and not v.requires_grad


# --------------------------------------------------------------------- topk
@pytest.mark.parametrize("shape, dim, k", [((7,), 0, 3), ((3, 6), 1, 6), ((5, 2, 3), 0, 2), ((2, 4, 5), -2, 0)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_is_the_first_k_of_the_stable_sort(xp, rng, shape, dim, k, largest):
    x = _with_ties(rng, shape)
    for is_sorted in (True, False):   # the same order either way
        values, indices = minifcn.topk(Tensor(xp.asarray(x)), k, dim, largest, is_sorted)
        v, i = naive.topk(x, k, dim, largest)
        np.testing.assert_array_equal(to_np(indices), i)
        np.testing.assert_array_equal(to_np(values), v)


@pytest.mark.parametrize("shape, dim, k", [((9,), 0, 4), ((3, 6), 1, 2), ((5, 2, 3), 0, 5)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_pytorch(rng, shape, dim, k, largest):
    # tie-free values: PyTorch does not say which of equal values topk picks first
    torch = pytest.importorskip("torch")
    x = distinct_values(shape, seed=int(rng.integers(100)))
    x.reshape(-1)[0] = np.nan   # NaN is the largest, in both
    t, tt = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    got, theirs = t.topk(k, dim, largest), torch.topk(tt, k, dim, largest)
    assert got._fields == ("values", "indices")
    np.testing.assert_array_equal(to_np(got.indices), to_np(theirs.indices))
    np.testing.assert_array_equal(to_np(got.values), to_np(theirs.values))
    gy = rng.standard_normal(tuple(theirs.values.shape))
    got.values.backward(gy)
    theirs.values.backward(torch.from_numpy(gy))
    np.testing.assert_array_equal(to_np(t.grad), to_np(tt.grad))


def test_topk_gradcheck(xp):
    x = distinct_values((4, 5), seed=2, xp=xp)
    assert gradcheck(lambda t: minifcn.topk(t, 3, dim=0).values, [x])
    assert gradcheck(lambda t: minifcn.topk(t, 2, largest=False).values, [x])


def test_topk_of_a_0d_tensor_is_itself():
    values, indices = minifcn.topk(Tensor(np.array(3.0)), 1)
    assert values.shape == () and values.item() == 3.0 and indices.item() == 0


# --------------------------------------------------------------------- errors
def test_bad_indices_are_named(xp):
    t = Tensor(xp.asarray(np.arange(6.0).reshape(2, 3)))
    index = xp.asarray(np.array([[5], [1]]))
    with pytest.raises(IndexError, match=r"gather: index 5 is out of range for dimension 1 of size 3 \(expected 0 <= index < 3\)"):
        t.gather(1, index)
    with pytest.raises(IndexError, match="scatter: index -1 is out of range for dimension 1 of size 3"):
        t.scatter(1, xp.asarray(np.array([[-1], [1]])), 0.0)
    with pytest.raises(IndexError, match=r"scatter_add: index 2 is out of range for dimension 0 of size 2"):
        t.scatter_add(0, xp.asarray(np.array([[2, 0]])), Tensor(xp.ones((1, 2))))
    with pytest.raises(ValueError, match="gather: index has 1 dimensions and the input 2"):
        t.gather(1, xp.asarray(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"index of shape \(3, 1\) is larger than the input \(2, 3\) at dimension 0 \(only dimension 1"):
        t.gather(1, xp.zeros((3, 1), dtype=np.int64))
    with pytest.raises(IndexError, match=r"gather: dimension 2 is out of range \[-2, 1\]"):
        t.gather(2, xp.zeros((2, 1), dtype=np.int64))
    with pytest.raises(TypeError, match="gather: index must be a signed integer tensor .*, got dtype float64"):
        t.gather(1, xp.zeros((2, 1)))
    with pytest.raises(TypeError, match="gather: index must be a signed integer tensor .*, got list"):
        t.gather(1, [[0], [1]])


@pytest.mark.parametrize("op", ["gather", "index_select"])
def test_an_unsigned_index_is_refused_as_pytorch_refuses_it(xp, op):
    t = Tensor(xp.zeros((2, 3)))
    index = xp.zeros((2, 1) if op == "gather" else (1,), dtype=np.uint8)
    with pytest.raises(TypeError, match=f"{op}: index must be a signed integer tensor .*, got dtype uint8"):
        getattr(t, op)(1, index)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="Expected dtype int32"):   # PyTorch: int32 or int64 only
        getattr(torch.zeros(2, 3), op)(1, torch.zeros(tuple(index.shape), dtype=torch.uint8))


def test_bad_sources_and_counts_are_named(xp):
    t = Tensor(xp.zeros((2, 3)))
    index = xp.asarray(np.array([[0, 2], [1, 1]]))
    with pytest.raises(TypeError, match="scatter: src must have the input's dtype float64, got float32"):
        t.scatter(1, index, Tensor(xp.ones((2, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"index of shape \(2, 2\) is larger than src \(2, 1\)"):
        t.scatter(1, index, Tensor(xp.ones((2, 1))))
    with pytest.raises(TypeError, match="give src .* or value, one of them"):
        t.scatter(1, index)
    with pytest.raises(TypeError, match="give src .* or value, one of them"):
        t.scatter(1, index, Tensor(xp.ones((2, 2))), value=1.0)
    with pytest.raises(ValueError, match=r"topk: k=4 is out of range for dimension 1 of size 3 \(expected 0 <= k <= 3\)"):
        t.topk(4)
    with pytest.raises(ValueError, match="topk: k=-1 is out of range"):
        t.topk(-1)
    with pytest.raises(TypeError, match="topk: k must be an int, got float 2.0"):
        t.topk(2.0)
    with pytest.raises(IndexError, match=r"sort: dimension 2 is out of range"):
        t.sort(2)


def test_an_index_on_another_device_is_refused(gpu):
    t = Tensor(gpu.zeros((2, 3)))
    with pytest.raises(ValueError, match="gather: index is on cpu, the input on cuda"):
        t.gather(1, np.zeros((2, 1), dtype=np.int64))
