"""einsum, cumprod, index_select, nonzero and unique: against the loops of minifcn.naive (or a
loop here), against PyTorch (values, indices, gradients), by float64 finite differences, by the
adjoint identity where the op is linear, and their errors."""
import numpy as np
import pytest

import minifcn
from minifcn import Tensor, naive
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor

# --------------------------------------------------------------------- einsum
# (equation, operand shapes): products, batches, diagonals and traces, a letter only on one
# operand, an ellipsis broadcast or summed, a size-1 axis broadcast, three operands, 0-d, empty
CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                      # implicit output: ik
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->ji", [(2, 3)]),
    ("ba", [(3, 2)]),                                 # implicit output in ASCII order: ab
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),                                 # a trace
    ("iij,j->ij", [(3, 3, 4), (4,)]),
    ("iji->j", [(3, 2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij,k->i", [(2, 3), (4,)]),                      # j and k summed on one operand each
    ("...ij,...jk->...ik", [(2, 3, 4), (5, 1, 4, 2)]),
    ("...ij,...jk", [(2, 3, 4), (4, 2)]),
    ("i...,i...", [(2, 3), (2,)]),                    # ellipses aligned from the right
    ("...ij->ij", [(2, 3, 4)]),                       # an ellipsis not in the output: summed
    ("...ii->...i", [(2, 3, 3)]),
    ("i,i->", [(3,), (1,)]),                          # a named size-1 axis broadcasts too
    ("ij,j->i", [(3, 1), (4,)]),
    ("bchw,oc->bohw", [(2, 3, 4, 5), (6, 3)]),        # a 1x1 convolution
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,ij,ij->i", [(2, 3), (1, 3), (2, 1)]),
    (" i j , j k -> k i ", [(2, 3), (3, 4)]),         # spaces are ignored
    ("->", [()]),
    ("i,->i", [(3,), ()]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),                  # an empty sum: zeros
]
IDS = [eq.replace(" ", "_") or "empty" for eq, _ in CASES]


def _operands(rng, shapes, dtype=np.float64):
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _explicit(eq, shapes):
    """The equation with its output written, for the loop (which needs ``->``)."""
    from minifcn.ops import _einsum_parse
    subs, out, _ = _einsum_parse(eq, shapes)
    return ",".join(subs) + "->" + out


@pytest.mark.parametrize("eq, shapes", CASES, ids=IDS)
def test_einsum_matches_the_loop(xp, rng, eq, shapes):
    arrays = _operands(rng, shapes)
    y = minifcn.einsum(eq, *[Tensor(xp.asarray(a)) for a in arrays])
    expected = naive.einsum(_explicit(eq, shapes), *arrays)
    assert y.shape == expected.shape
    np.testing.assert_allclose(to_np(y), expected, rtol=1e-12, atol=1e-12)


def test_the_einsum_loop_itself_on_a_known_product():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(naive.einsum("ij,jk->ik", a, b), a @ b)
    np.testing.assert_array_equal(naive.einsum("ii->", np.diag([1.0, 2.0])), 3.0)
    np.testing.assert_array_equal(naive.einsum("...j,...j->...", a, a[:1]), (a * a[:1]).sum(1))


@pytest.mark.parametrize("eq, shapes", CASES, ids=IDS)
def test_einsum_gradcheck(xp, rng, eq, shapes):
    arrays = [xp.asarray(a) for a in _operands(rng, shapes)]
    assert gradcheck(lambda *ts: minifcn.einsum(eq, *ts), arrays)


@pytest.mark.parametrize("eq, shapes", CASES, ids=IDS)
def test_einsum_backward_is_the_adjoint_in_each_operand(xp, rng, eq, shapes):
    # linear in each operand: <A a_k, y> = <a_k, A^T y>, A^T y the backward with y upstream
    arrays = _operands(rng, shapes)
    for k in range(len(arrays)):
        ts = [Tensor(xp.asarray(a), requires_grad=j == k) for j, a in enumerate(arrays)]
        out = minifcn.einsum(eq, *ts)
        y = rng.standard_normal(out.shape)
        out.backward(xp.asarray(y))
        lhs, rhs = float((to_np(out) * y).sum()), float((arrays[k] * to_np(ts[k].grad)).sum())
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)), (k, lhs, rhs)


@pytest.mark.parametrize("eq, shapes", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_einsum_matches_pytorch(rng, eq, shapes, dtype):
    torch = pytest.importorskip("torch")
    arrays = _operands(rng, shapes, dtype)
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    tts = [torch_tensor(torch, a, requires_grad=True) for a in arrays]
    y, yt = minifcn.einsum(eq, ts), torch.einsum(eq, *tts)   # a list, and separate arguments
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert y.shape == tuple(yt.shape) and y.dtype == dtype
    np.testing.assert_allclose(to_np(y), to_np(yt), rtol=tol, atol=tol)
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    yt.backward(torch.from_numpy(gy))
    for t, tt in zip(ts, tts):
        assert t.grad.dtype == dtype
        np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=tol, atol=tol)


def test_einsum_of_one_tensor_twice_gets_both_gradients_and_copies(xp, rng):
    x = Tensor(xp.asarray(rng.standard_normal(4)), requires_grad=True)
    minifcn.einsum("i,i->", x, x).backward()
    np.testing.assert_allclose(to_np(x.grad), 2 * to_np(x), rtol=1e-14)
    m = xp.asarray(rng.standard_normal((3, 3)))
    for eq in ("ij->ji", "ii->i", "ij->ij"):   # NumPy's einsum gives views of m here
        assert not np.shares_memory(to_np(minifcn.einsum(eq, Tensor(m)).data), to_np(m)) or xp is not np


def test_einsum_only_the_operands_that_require_grad_get_one(rng):
    a, b = Tensor(rng.standard_normal((2, 3)), requires_grad=True), Tensor(rng.standard_normal((3, 4)))
    minifcn.einsum("ij,jk->ik", a, b).sum().backward()
    assert b.grad is None
    np.testing.assert_allclose(a.grad, np.broadcast_to(b.data.sum(1), (2, 3)), rtol=1e-14)


def test_einsum_of_integers_as_pytorch():
    torch = pytest.importorskip("torch")
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    y = minifcn.einsum("ij,jk->ik", Tensor(a), Tensor(b))
    yt = torch.einsum("ij,jk->ik", torch.from_numpy(a), torch.from_numpy(b))
    assert y.dtype == np.int64 and not y.requires_grad
    np.testing.assert_array_equal(to_np(y), to_np(yt))


@pytest.mark.parametrize("eq, shapes, message", [
    ("ij,jk", [(2, 3)], "names 2 operands, 1 were given"),
    ("i", [(3,), (3,)], "names 1 operand, 2 were given"),
    ("i", [(3, 3)], "operand 0 has 2 dimensions and 1 subscripts"),
    ("ijk...", [(3, 3)], "fewer than its 3 subscripts"),
    ("i1", [(3, 3)], "invalid subscript '1'"),
    ("i..", [(3, 3)], "not part of an ellipsis"),
    ("......", [(3, 3)], "more than one ellipsis"),
    ("ij->j->i", [(3, 2)], "more than one '->'"),
    ("ii->i", [(3, 1)], "subscript i is repeated for operand 0 but the sizes don't match, 3 != 1"),
    ("ij->k", [(3, 1)], "output subscript k does not appear"),
    ("ij->ii", [(3, 3)], "output subscript i appears more than once"),
    ("i,i", [(2,), (3,)], "subscript i has size 3 for operand 1"),
])
def test_einsum_refuses_what_pytorch_refuses(eq, shapes, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        minifcn.einsum(eq, *[Tensor(np.ones(s)) for s in shapes])
    with pytest.raises(RuntimeError):
        torch.einsum(eq, *[torch.ones(s) for s in shapes])


def test_einsum_refuses_two_dtypes_bool_no_operands_and_a_non_str():
    with pytest.raises(TypeError, match="operand 1 has dtype float32, operand 0 float64"):
        minifcn.einsum("i,i", Tensor(np.ones(3)), Tensor(np.ones(3, np.float32)))
    with pytest.raises(TypeError, match="bool"):
        minifcn.einsum("i,i", Tensor(np.ones(3, bool)), Tensor(np.ones(3, bool)))
    with pytest.raises(ValueError, match="no operands"):
        minifcn.einsum("i")
    with pytest.raises(TypeError, match="must be a str"):
        minifcn.einsum(["i"], Tensor(np.ones(3)))
    with pytest.raises(TypeError, match=r"must be a str, got Tensor \(PyTorch's other form"):
        minifcn.einsum(Tensor(np.ones(3)), [0], Tensor(np.ones(3)), [0])


def test_einsum_refuses_an_ellipsis_past_the_spare_letters():
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":   # an array of 53 axes: NumPy 1.x stops at 32
        pytest.skip("NumPy 1.x holds at most 32 axes")
    eq = "".join(chr(c) for c in range(ord("a"), ord("z") + 1)) + "ABCDEFGHIJKLMNOPQRSTUVWXY..."
    with pytest.raises(ValueError, match="leaves 1 unused letters for the 2 axes"):
        minifcn.einsum(eq, Tensor(np.ones((1,) * 53)))


# --------------------------------------------------------------------- cumprod
# lines with no zero, one zero (first, inside, last), two zeros, a zero then more
LINES = np.array([[2.0, -0.5, 3.0, 1.5, 0.7], [0.0, 2.0, 3.0, -1.0, 0.5], [1.5, 2.0, 0.0, 3.0, 0.5],
                  [1.5, 2.0, -0.5, 3.0, 0.0], [2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 1.0, 2.0, 3.0]])


@pytest.mark.parametrize("shape, dim", [((6, 5), 1), ((5, 6), 0), ((2, 3, 5), -1), ((3, 5, 2), 1)])
def test_cumprod_and_its_gradient_match_the_loop_zeros_included(xp, rng, shape, dim):
    # LINES laid along dim, so each line of the tensor is one of them
    moved = np.resize(LINES, tuple(s for i, s in enumerate(shape) if i != dim % len(shape)) + (5,))
    x = np.moveaxis(moved, -1, dim)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = minifcn.cumprod(t, dim)
    expected, grad = naive.cumprod(x, dim)
    np.testing.assert_allclose(to_np(y), expected, rtol=1e-14, atol=1e-15)
    gy = rng.standard_normal(shape)
    y.backward(xp.asarray(gy))
    np.testing.assert_allclose(to_np(t.grad), grad(gy), rtol=1e-12, atol=1e-13)


def test_cumprod_gradcheck_at_zeros(xp):
    # cumprod is linear in each value, so the central differences are exact at zeros too
    assert gradcheck(lambda t: minifcn.cumprod(t, 1), [xp.asarray(LINES)])
    assert gradcheck(lambda t: t.cumprod(0), [xp.asarray(LINES[:, :4].T.copy())])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cumprod_matches_pytorch_zeros_included(rng, dtype):
    torch = pytest.importorskip("torch")
    x = np.concatenate([LINES, rng.uniform(0.5, 1.5, (3, 5))]).astype(dtype)
    for dim in (0, 1, -1):
        t, tt = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
        y, yt = t.cumprod(dim), torch.cumprod(tt, dim)
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(to_np(y), to_np(yt), rtol=tol, atol=tol)
        gy = rng.standard_normal(x.shape).astype(dtype)
        y.backward(gy)
        yt.backward(torch.from_numpy(gy))
        assert t.grad.dtype == dtype
        np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=tol, atol=tol)


def test_cumprod_dtypes_and_0d_as_pytorch():
    torch = pytest.importorskip("torch")
    i8 = np.array([2, 3, 4, 5], np.int8)
    for kwargs in ({}, {"dtype": np.int8}):
        ours = minifcn.cumprod(Tensor(i8), 0, **kwargs)
        theirs = torch.cumprod(torch.from_numpy(i8), 0, **({"dtype": torch.int8} if kwargs else {}))
        assert ours.tolist() == theirs.tolist() and ours.dtype == (np.int8 if kwargs else np.int64)
    flags = np.array([True, True, False, True])
    assert minifcn.cumprod(Tensor(flags), 0).tolist() == torch.cumprod(torch.from_numpy(flags), 0).tolist()
    x = Tensor(np.array(3.0), requires_grad=True)
    y = minifcn.cumprod(x, 0)
    y.backward()
    assert y.shape == () and y.item() == 3.0 and x.grad == 1.0
    with pytest.raises(IndexError):
        minifcn.cumprod(Tensor(np.ones((2, 3))), 2)


# --------------------------------------------------------------------- index_select
SELECTS = [((3, 4), 0, [2, 0, 2, 1]), ((3, 4), 1, [3, 3]), ((2, 3, 4), -1, [0, 3, 1, 0, 2]),
           ((2, 3, 4), 1, []), ((5,), 0, [4, 0, 4])]


@pytest.mark.parametrize("shape, dim, index", SELECTS)
def test_index_select_matches_the_loop_and_its_backward_is_the_scatter_add(xp, rng, shape, dim, index):
    x, index = rng.standard_normal(shape), np.array(index, np.int64)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = minifcn.index_select(t, dim, xp.asarray(index))
    np.testing.assert_array_equal(to_np(y), naive.index_select(x, dim % len(shape), index))
    gy = rng.standard_normal(y.shape)
    y.backward(xp.asarray(gy))
    expected = np.zeros(shape)   # each slice of gy added where it was read from: repeats sum
    for i, j in enumerate(index.tolist()):
        expected[(slice(None),) * (dim % len(shape)) + (j,)] += gy[(slice(None),) * (dim % len(shape)) + (i,)]
    np.testing.assert_allclose(to_np(t.grad), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("shape, dim, index", SELECTS)
def test_index_select_gradcheck_and_adjoint(xp, rng, shape, dim, index):
    x, index = rng.standard_normal(shape), xp.asarray(np.array(index, np.int64))
    if index.size:   # (an empty output has nothing to differentiate)
        assert gradcheck(lambda t: t.index_select(dim, index), [xp.asarray(x)])
    # <select(x), y> = <x, A^T y>, A^T y computed by scatter_add of y along dim
    out = minifcn.index_select(Tensor(xp.asarray(x)), dim, index)
    y = rng.standard_normal(out.shape)
    full = xp.broadcast_to(index.reshape([-1 if d == dim % len(shape) else 1 for d in range(len(shape))]), y.shape)
    aty = minifcn.scatter_add(Tensor(xp.zeros(shape)), dim, xp.ascontiguousarray(full), Tensor(xp.asarray(y)))
    lhs, rhs = float((to_np(out) * y).sum()), float((x * to_np(aty)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_index_select_matches_pytorch(rng, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    for dim, index in ((0, np.array([2, 2, 0])), (1, np.array([3, 0, 3, 3], np.int32)), (2, np.array(4))):
        t, tt = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
        y, yt = t.index_select(dim, Tensor(index)), torch.index_select(tt, dim, torch.from_numpy(index))
        assert y.shape == tuple(yt.shape)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        gy = rng.standard_normal(y.shape).astype(dtype)
        y.backward(gy)
        yt.backward(torch.from_numpy(gy))
        np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=1e-6, atol=1e-6)
    five = torch.index_select(torch.tensor(5.0), 0, torch.tensor([0]))
    ours = minifcn.index_select(Tensor(np.array(5.0)), 0, np.array([0]))
    assert ours.shape == tuple(five.shape) == () and ours.item() == five.item()


def test_index_select_refuses_what_pytorch_refuses():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"index must be 1-d \(or 0-d\), got shape \(1, 1\)"):
        t.index_select(1, np.array([[1]]))
    with pytest.raises(TypeError, match="integer tensor"):
        t.index_select(1, np.array([1.0]))
    with pytest.raises(IndexError, match="index 3 is out of range for dimension 1 of size 3"):
        t.index_select(1, np.array([0, 3]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        t.index_select(1, np.array([-1]))
    with pytest.raises(ValueError, match="a 0-d input takes one index, got 2"):
        minifcn.index_select(Tensor(np.array(5.0)), 0, np.array([0, 0]))


# --------------------------------------------------------------------- nonzero
def _nonzero_loop(x):
    return [list(p) for p in np.ndindex(*x.shape) if x[p] != 0]


NONZEROS = [np.array([[0.0, 1.5, 0.0], [2.0, 0.0, np.nan]]), np.zeros((2, 3)), np.array(5.0),
            np.array(0.0), np.array([True, False, True]), np.zeros((0, 3)), np.arange(24).reshape(2, 3, 4) % 3]


@pytest.mark.parametrize("x", NONZEROS, ids=range(len(NONZEROS)))
def test_nonzero_matches_the_loop_and_pytorch(xp, x):
    y = Tensor(xp.asarray(x)).nonzero()
    assert y.dtype == np.int64 and y.shape == (int((x != 0).sum()), x.ndim)
    if x.ndim:
        assert to_np(y).tolist() == _nonzero_loop(x)
    parts = minifcn.nonzero(Tensor(xp.asarray(x)), as_tuple=True)
    assert len(parts) == max(x.ndim, 1) and all(p.dtype == np.int64 for p in parts)
    torch = pytest.importorskip("torch")
    tx = torch.from_numpy(np.array(x))
    assert to_np(y).tolist() == torch.nonzero(tx).tolist() and y.shape == tuple(torch.nonzero(tx).shape)
    assert [to_np(p).tolist() for p in parts] == [p.tolist() for p in torch.nonzero(tx, as_tuple=True)]


# --------------------------------------------------------------------- unique
UNIQUES = [(np.array([3, 1, 3, 2, 1, 1]), None), (np.array([[2.0, np.nan], [0.0, -0.0]]), None),
           (np.array(5.0), None), (np.array([True, False, True]), None), (np.zeros((0, 3)), None),
           (np.array([[1, 2], [1, 2], [0, 5], [1, 0]]), 0), (np.array([[1, 2, 1], [0, 5, 0]]), 1),
           (np.array([[1, 2, 1], [0, 5, 0]]), -1), (np.arange(24).reshape(2, 3, 4) % 2, 1),
           (np.array([[1.0, np.nan], [1.0, np.nan]]), 0), (np.zeros((0, 3)), 0)]


@pytest.mark.parametrize("x, dim", UNIQUES, ids=range(len(UNIQUES)))
def test_unique_matches_pytorch_and_rebuilds_the_input(xp, x, dim):
    values, inverse, counts = Tensor(xp.asarray(x)).unique(return_inverse=True, return_counts=True, dim=dim)
    assert inverse.dtype == counts.dtype == np.int64 and values.dtype == x.dtype
    v, inv, c = to_np(values), to_np(inverse), to_np(counts)
    if dim is None:   # each value where inverse says; the loop's count of it
        np.testing.assert_array_equal(v[inv], x)
        assert c.tolist() == [int((x == w).sum()) or 1 for w in v.tolist()]   # a NaN once each
    else:
        np.testing.assert_array_equal(np.take(v, inv, axis=dim), x)
    torch = pytest.importorskip("torch")
    expected = torch.unique(torch.from_numpy(np.array(x)), return_inverse=True, return_counts=True, dim=dim)
    for ours, theirs in zip((v, inv, c), expected):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours, to_np(theirs))
    alone = minifcn.unique(Tensor(xp.asarray(x)), sorted=False, dim=dim)   # sorted anyway
    np.testing.assert_array_equal(to_np(alone), v)
    only_counts = minifcn.unique(Tensor(xp.asarray(x)), return_counts=True, dim=dim)
    assert len(only_counts) == 2 and to_np(only_counts[1]).tolist() == c.tolist()


def test_unique_refuses_what_pytorch_refuses():
    with pytest.raises(IndexError, match="no dimensions"):
        minifcn.unique(Tensor(np.array(5.0)), dim=0)
    with pytest.raises(ValueError, match="dimension of size 0 other than dim=0"):
        minifcn.unique(Tensor(np.zeros((3, 0))), dim=0)


def test_the_new_names_are_exported():
    for name in ("einsum", "cumprod", "index_select", "nonzero", "unique"):
        assert callable(getattr(minifcn, name))
    for name in ("cumprod", "index_select", "nonzero", "unique"):
        assert callable(getattr(Tensor, name))


@pytest.mark.parametrize("equation, dtype", [("ij->", "uint8"), ("ij->i", "int32"), ("ij->", "int16"),
                                             ("ij->", "bool"), ("ij->ji", "bool"), ("ii->i", "bool"),
                                             ("ij->ji", "int16")])
def test_einsum_of_one_small_integer_or_bool_operand_as_pytorch(equation, dtype):
    """A sum over an index of one operand is a sum: in int64, as PyTorch's (uint8 had wrapped,
    750 read as 238); bools are taken there, and kept where nothing is summed."""
    torch = pytest.importorskip("torch")
    a = np.arange(9).reshape(3, 3) * 50
    a = (a > 100) if dtype == "bool" else a.astype(dtype)
    ours, theirs = minifcn.einsum(equation, Tensor(a)), torch.einsum(equation, torch.from_numpy(a))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
