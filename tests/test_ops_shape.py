"""ops_shape.py, PyTorch's shape and linear-algebra operations (matmul, mm, bmm, dot, outer,
tensordot, kron, cross, cdist, t / mT, swapaxes, movedim, tril / triu, diag, diagonal, trace,
unflatten, narrow, select, tile, repeat_interleave, diff, view_as / expand_as / type_as,
new_*, fill_ / zero_): against plain loops (written here), against PyTorch (values, dtypes,
gradients in float64 and float32; 0-d and empty tensors), by float64 finite differences, by
the adjoint identity for the linear ones, and their errors. Each case is one lambda taking the
library (minifcn or torch) and the tensors, so one line runs on both."""
import math

import numpy as np
import pytest

import minifcn
from minifcn import Tensor
from minifcn.testing import gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

INF = math.inf


# --------------------------------------------------------------------- plain loops
# One output value at a time, by the definitions.
def loop_matmul(a, b):
    """PyTorch's rules spelled out: 1-d operands as a row / a column, batch axes broadcast."""
    A = a[None, :] if a.ndim == 1 else a
    B = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    Ab, Bb = np.broadcast_to(A, batch + A.shape[-2:]), np.broadcast_to(B, batch + B.shape[-2:])
    y = np.zeros(batch + (A.shape[-2], B.shape[-1]))
    for idx in np.ndindex(y.shape):
        *s, i, j = idx
        y[idx] = sum(Ab[tuple(s) + (i, k)] * Bb[tuple(s) + (k, j)] for k in range(A.shape[-1]))
    if b.ndim == 1:
        y = y[..., 0]
    if a.ndim == 1:
        y = y[..., 0, :] if b.ndim > 1 else y[..., 0]
    return y


def loop_tensordot(a, b, da, db):
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    y = np.zeros(tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb))
    for out in np.ndindex(y.shape):
        total = 0.0
        for ks in np.ndindex(tuple(a.shape[i] for i in da)):
            ia, ib = [0] * a.ndim, [0] * b.ndim
            for i, v in zip(fa, out[:len(fa)]):
                ia[i] = v
            for j, v in zip(fb, out[len(fa):]):
                ib[j] = v
            for i, j, k in zip(da, db, ks):
                ia[i], ib[j] = k, k
            total += a[tuple(ia)] * b[tuple(ib)]
        y[out] = total
    return y


def loop_kron(a, b):
    nd = max(a.ndim, b.ndim)
    a, b = a.reshape((1,) * (nd - a.ndim) + a.shape), b.reshape((1,) * (nd - b.ndim) + b.shape)
    y = np.zeros(tuple(p * q for p, q in zip(a.shape, b.shape)))
    for ia in np.ndindex(a.shape):
        for ib in np.ndindex(b.shape):
            y[tuple(i * q + j for i, j, q in zip(ia, ib, b.shape))] = a[ia] * b[ib]
    return y


def loop_cross(a, b, axis):
    a, b = np.broadcast_arrays(a, b)
    y = np.zeros(a.shape)
    for idx in np.ndindex(a.shape[:axis] + a.shape[axis + 1:]):
        def at(x, k):
            return x[idx[:axis] + (k,) + idx[axis:]]
        for k in range(3):   # y_k = a_{k+1} b_{k+2} - a_{k+2} b_{k+1}
            y[idx[:axis] + (k,) + idx[axis:]] = (at(a, (k + 1) % 3) * at(b, (k + 2) % 3)
                                                 - at(a, (k + 2) % 3) * at(b, (k + 1) % 3))
    return y


def loop_cdist(a, b, p):
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    y = np.zeros(batch + (a.shape[-2], b.shape[-2]))
    for idx in np.ndindex(y.shape):
        *s, i, j = idx
        d = [abs(u - v) for u, v in zip(a[tuple(s) + (i,)], b[tuple(s) + (j,)])]
        if p == 0:
            y[idx] = sum(x != 0 for x in d)
        elif p == INF:
            y[idx] = max(d, default=0.0)
        else:
            y[idx] = sum(x ** p for x in d) ** (1 / p)
    return y


def loop_diagonal(a, offset, d1, d2):
    others = [k for k in range(a.ndim) if k not in (d1, d2)]
    rows = [i for i in range(a.shape[d1]) if 0 <= i + offset < a.shape[d2]]
    y = np.zeros(tuple(a.shape[k] for k in others) + (len(rows),))
    for idx in np.ndindex(y.shape[:-1]):
        for n, i in enumerate(rows):
            full = [0] * a.ndim
            for k, v in zip(others, idx):
                full[k] = v
            full[d1], full[d2] = i, i + offset
            y[idx + (n,)] = a[tuple(full)]
    return y


def loop_triangle(a, k, lower):
    y = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        i, j = idx[-2:]
        if (j - i <= k) if lower else (j - i >= k):
            y[idx] = a[idx]
    return y


def loop_repeat_interleave(a, counts, axis):
    counts = [counts] * a.shape[axis] if isinstance(counts, int) else counts
    slices = [np.take(a, [i], axis=axis) for i, c in enumerate(counts) for _ in range(c)]
    return np.concatenate(slices, axis=axis) if slices else np.take(a, [], axis=axis)


def loop_diff(a, n, axis):
    for _ in range(n):
        a = np.stack([np.take(a, i + 1, axis=axis) - np.take(a, i, axis=axis)
                      for i in range(a.shape[axis] - 1)], axis=axis) if a.shape[axis] > 1 else \
            np.take(a, [], axis=axis)
    return a


def _close(ours, expected, tol=1e-12):
    np.testing.assert_allclose(to_np(ours), expected, rtol=tol, atol=tol)


# --------------------------------------------------------------------- the cases
# name: (fn(lib, *tensors), input shapes); the same lambda runs on minifcn and on torch.
CASES = {
    "matmul_1d_1d": (lambda m, a, b: m.matmul(a, b), [(4,), (4,)]),
    "matmul_1d_3d": (lambda m, a, b: m.matmul(a, b), [(3,), (2, 3, 4)]),
    "matmul_3d_1d": (lambda m, a, b: m.matmul(a, b), [(2, 4, 3), (3,)]),
    "matmul_2d_2d": (lambda m, a, b: a.matmul(b), [(2, 3), (3, 4)]),
    "matmul_broadcast": (lambda m, a, b: m.matmul(a, b), [(2, 1, 3, 4), (5, 4, 2)]),
    "at_1d": (lambda m, a, b: a @ b, [(2, 3), (3,)]),
    "mm": (lambda m, a, b: m.mm(a, b), [(2, 3), (3, 4)]),
    "bmm": (lambda m, a, b: a.bmm(b), [(2, 3, 4), (2, 4, 5)]),
    "dot": (lambda m, a, b: m.dot(a, b), [(5,), (5,)]),
    "outer": (lambda m, a, b: a.outer(b), [(3,), (4,)]),
    "tensordot_2": (lambda m, a, b: m.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)]),
    "tensordot_lists": (lambda m, a, b: m.tensordot(a, b, dims=([0], [1])), [(2, 3), (4, 2)]),
    "tensordot_crossed": (lambda m, a, b: m.tensordot(a, b, dims=([1, 2], [1, 0])), [(2, 3, 4), (4, 3, 5)]),
    "tensordot_0": (lambda m, a, b: m.tensordot(a, b, dims=0), [(2,), (3,)]),
    "kron_2d": (lambda m, a, b: m.kron(a, b), [(2, 3), (3, 2)]),
    "kron_ranks": (lambda m, a, b: a.kron(b), [(2,), (2, 3)]),
    "cross_last": (lambda m, a, b: m.cross(a, b, dim=-1), [(4, 3), (4, 3)]),
    "cross_broadcast": (lambda m, a, b: a.cross(b, dim=1), [(2, 3, 5), (1, 3, 5)]),
    "cross_first_3": (lambda m, a, b: m.cross(a, b, dim=0), [(3, 4), (3, 4)]),
    "t": (lambda m, a: a.t(), [(2, 3)]),
    "t_1d": (lambda m, a: m.t(a), [(3,)]),
    "mT": (lambda m, a: a.mT, [(2, 3, 4)]),
    "T": (lambda m, a: a.T, [(2, 3)]),
    "swapaxes": (lambda m, a: m.swapaxes(a, 0, -1), [(2, 3, 4)]),
    "swapdims": (lambda m, a: a.swapdims(1, 2), [(2, 3, 4)]),
    "movedim": (lambda m, a: m.movedim(a, (0, 1), (3, 0)), [(2, 3, 4, 5)]),
    "moveaxis": (lambda m, a: a.moveaxis(-1, 0), [(2, 3, 4)]),
    "tril": (lambda m, a: m.tril(a), [(4, 5)]),
    "tril_above": (lambda m, a: a.tril(2), [(4, 5)]),
    "tril_stack": (lambda m, a: m.tril(a, diagonal=-1), [(2, 3, 4)]),
    "triu": (lambda m, a: a.triu(), [(5, 4)]),
    "triu_below": (lambda m, a: m.triu(a, -2), [(2, 4, 3)]),
    "triu_far": (lambda m, a: m.triu(a, 10), [(3, 3)]),
    "diag_vector": (lambda m, a: m.diag(a), [(4,)]),
    "diag_vector_above": (lambda m, a: a.diag(2), [(3,)]),
    "diag_vector_below": (lambda m, a: m.diag(a, -1), [(3,)]),
    "diag_matrix": (lambda m, a: a.diag(), [(3, 4)]),
    "diag_matrix_above": (lambda m, a: m.diag(a, 1), [(3, 4)]),
    "diag_matrix_below": (lambda m, a: m.diag(a, -2), [(3, 4)]),
    "diagonal": (lambda m, a: m.diagonal(a, 1, 0, 2), [(3, 4, 5)]),
    "diagonal_back": (lambda m, a: a.diagonal(offset=-1, dim1=2, dim2=1), [(2, 3, 4)]),
    "trace": (lambda m, a: m.trace(a), [(3, 4)]),
    "unflatten": (lambda m, a: m.unflatten(a, 1, (3, -1)), [(2, 12)]),
    "narrow": (lambda m, a: m.narrow(a, 1, -3, 2), [(4, 5)]),
    "select": (lambda m, a: a.select(0, -1), [(4, 5)]),
    "tile": (lambda m, a: m.tile(a, (2, 1, 2)), [(2, 3)]),
    "tile_few": (lambda m, a: a.tile(2), [(2, 3)]),
    "repeat_interleave_int": (lambda m, a: a.repeat_interleave(2, dim=1), [(2, 3)]),
    "repeat_interleave_flat": (lambda m, a: m.repeat_interleave(a, 3), [(2, 2)]),
    "repeat_interleave_counts": (lambda m, a: m.repeat_interleave(a, m.tensor([1, 0, 3]), dim=0), [(3, 4)]),
    "repeat_interleave_one_count": (lambda m, a: a.repeat_interleave(m.tensor([2]), dim=-1), [(2, 3)]),
    "diff": (lambda m, a: m.diff(a, dim=0), [(5, 4)]),
    "diff_3": (lambda m, a: a.diff(3), [(2, 6)]),
    "diff_ends": (lambda m, a, p, q: m.diff(a, n=2, dim=-1, prepend=p, append=q), [(3, 4), (3, 1), (3, 2)]),
    "view_as": (lambda m, a, b: a.view_as(b) * b, [(2, 6), (3, 4)]),
    "expand_as": (lambda m, a, b: a.expand_as(b) * b, [(3, 1), (2, 3, 4)]),
    # empty and 0-d
    "matmul_empty_inner": (lambda m, a, b: m.matmul(a, b), [(2, 0), (0, 3)]),
    "dot_empty": (lambda m, a, b: m.dot(a, b), [(0,), (0,)]),
    "matmul_empty_batch": (lambda m, a, b: m.matmul(a, b), [(0, 2, 3), (3,)]),
    "tensordot_0d": (lambda m, a, b: m.tensordot(a, b, dims=0), [(), (2,)]),
    "kron_0d": (lambda m, a, b: m.kron(a, b), [(), (2, 2)]),
    "t_0d": (lambda m, a: a.t(), [()]),
    "diag_empty": (lambda m, a: m.diag(a, 1), [(0,)]),
    "diag_matrix_off": (lambda m, a: m.diag(a, 5), [(2, 3)]),
    "tril_empty": (lambda m, a: m.tril(a), [(0, 3)]),
    "narrow_empty": (lambda m, a: m.narrow(a, 0, 4, 0), [(4, 2)]),
    "repeat_interleave_0d": (lambda m, a: a.repeat_interleave(2), [()]),
    "repeat_interleave_zero": (lambda m, a: a.repeat_interleave(0, dim=0), [(3, 2)]),
    "repeat_interleave_no_columns": (lambda m, a: a.repeat_interleave(m.tensor([1, 3]), dim=0), [(2, 0)]),
    "repeat_interleave_no_rows": (lambda m, a: m.repeat_interleave(a, m.arange(0), dim=0), [(0, 3)]),
    "diff_past_length": (lambda m, a: m.diff(a, n=4), [(2, 3)]),
    "cross_empty": (lambda m, a, b: m.cross(a, b, dim=1), [(0, 3), (0, 3)]),
}

# cdist for each p, with rows of their own (no zero distance: those are tested on their own)
CDIST = {
    f"cdist_p{p}": (lambda m, a, b, p=p: m.cdist(a, b, p=p, compute_mode="donot_use_mm_for_euclid_dist"),
                    [(5, 3), (4, 3)]) for p in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, INF)
}
CDIST["cdist_batch"] = (lambda m, a, b: m.cdist(a, b), [(2, 5, 3), (1, 4, 3)])
CDIST["cdist_no_columns"] = (lambda m, a, b: m.cdist(a, b, p=INF), [(2, 0), (3, 0)])
CDIST["cdist_no_rows"] = (lambda m, a, b: m.cdist(a, b), [(0, 3), (3, 3)])
ALL = {**CASES, **CDIST}
EMPTY = {"matmul_empty_inner", "dot_empty", "matmul_empty_batch", "diag_empty", "diag_matrix_off",
         "tril_empty", "narrow_empty", "repeat_interleave_zero", "diff_past_length",
         "repeat_interleave_no_columns", "repeat_interleave_no_rows", "cross_empty",
         "cdist_no_columns", "cdist_no_rows"}   # an empty input or output: nothing to difference


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


# --------------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ALL))
def test_forward_and_gradients_match_pytorch(xp, name, dtype):
    torch = pytest.importorskip("torch")
    fn, shapes = ALL[name]
    arrays = [a.astype(dtype) for a in _inputs(shapes)]
    ours = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    theirs = [torch_tensor(torch, a, requires_grad=True) for a in arrays]
    y, yt = fn(minifcn, *ours), fn(torch, *theirs)
    assert y.dtype == to_np(yt).dtype, name
    assert_close(y, yt, dtype, f"{name} forward")
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    for k, (a, b) in enumerate(zip(ours, theirs)):
        expected = b.grad if b.grad is not None else torch.zeros_like(b)
        got = a.grad if a.grad is not None else np.zeros(a.shape, dtype)
        assert got.dtype == dtype, f"{name}: the gradient of input {k} is {got.dtype}"
        assert_close(got, expected, dtype, f"{name} grad of input {k}")


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, INF])
def test_cdist_gradient_at_zero_distance_and_ties_is_pytorch_s(xp, p):
    """Rows that coincide (zero distance: 0, not NaN), coordinates that agree (p < 1), and
    coordinates that tie for the largest (p = inf: each gets the whole gradient)."""
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0], [0.0, 0.0, 0.0]])
    b = np.array([[1.0, 2.0, 0.0], [1.0, 5.0, 1.0], [1.0, -1.0, 0.5], [2.0, 2.0, 2.0]])
    ours = [Tensor(xp.asarray(v), requires_grad=True) for v in (a, b)]
    theirs = [torch_tensor(torch, v, requires_grad=True) for v in (a, b)]
    y = minifcn.cdist(*ours, p=p)
    yt = torch.cdist(*theirs, p=p)
    g = np.random.default_rng(2).standard_normal(y.shape)
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert_close(y, yt, np.float64, "forward")
    for k in range(2):
        assert np.isfinite(to_np(ours[k].grad)).all()
        assert_close(ours[k].grad, theirs[k].grad, np.float64, f"grad {k}")


@pytest.mark.parametrize("name, fn, arrays", [
    ("matmul", lambda m, a, b: m.matmul(a, b), [np.arange(6).reshape(2, 3), np.arange(3)]),
    ("tril", lambda m, a: m.tril(a, 1), [np.arange(12, dtype=np.int32).reshape(3, 4)]),
    ("diag", lambda m, a: m.diag(a), [np.arange(3)]),
    ("trace", lambda m, a: m.trace(a), [np.arange(6, dtype=np.int32).reshape(2, 3)]),
    ("kron", lambda m, a, b: m.kron(a, b), [np.arange(2), np.arange(3, dtype=np.float64)]),
    ("outer", lambda m, a, b: m.outer(a, b), [np.arange(2), np.arange(3, dtype=np.float32)]),
    ("cross", lambda m, a, b: m.cross(a, b, dim=0), [np.arange(3), np.array([2, 0, 1])]),
    ("repeat_interleave", lambda m, a: m.repeat_interleave(a, m.tensor([2, 0, 1])), [np.arange(3)]),
    ("counts_alone", lambda m, a: m.repeat_interleave(a), [np.array([1, 0, 2])]),
    ("diff_bool", lambda m, a: m.diff(a), [np.array([True, False, False, True])]),
    ("diff_promotes", lambda m, a, b: m.diff(a, prepend=b), [np.arange(3), np.array([0.5])]),
    ("tensordot_int", lambda m, a, b: m.tensordot(a, b, dims=1), [np.arange(6).reshape(2, 3), np.arange(3)]),
])
def test_integers_bools_and_promotion_as_pytorch(xp, name, fn, arrays):
    torch = pytest.importorskip("torch")
    y = fn(minifcn, *[Tensor(xp.asarray(a)) for a in arrays])
    yt = fn(torch, *[torch_tensor(torch, a) for a in arrays])
    assert y.dtype == to_np(yt).dtype, name
    np.testing.assert_array_equal(to_np(y), to_np(yt))


# --------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("name", [n for n in ALL if n not in EMPTY])
def test_gradients_match_finite_differences(xp, name):
    fn, shapes = ALL[name]
    assert gradcheck(lambda *ts: fn(minifcn, *ts), [xp.asarray(a) for a in _inputs(shapes, seed=3)])


# --------------------------------------------------------------------- the adjoint identity
# The linear ones, in their first input (the others held fixed): <A x, y> == <x, A^T y>, where
# A^T y is what backward computes.
LINEAR = [n for n in CASES if not n.startswith(("view_as", "expand_as", "diff_ends"))] + [
    "view_as", "expand_as"]


@pytest.mark.parametrize("name", LINEAR)
def test_linear_ops_and_their_backward_are_adjoint(xp, name):
    fn, shapes = CASES[name]
    x, *rest = [xp.asarray(a) for a in _inputs(shapes, seed=4)]
    t = Tensor(x, requires_grad=True)
    y = fn(minifcn, t, *[Tensor(r) for r in rest])
    u = xp.asarray(np.random.default_rng(5).standard_normal(y.shape))
    y.backward(u)
    lhs = float((to_np(y) * to_np(u)).sum())
    rhs = float((to_np(x) * to_np(t.grad)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


def test_diff_with_ends_is_adjoint_in_all_three(xp):
    """diff is linear in the input, prepend and append together."""
    xs = [xp.asarray(a) for a in _inputs([(3, 4), (3, 1), (3, 2)], seed=6)]
    ts = [Tensor(a, requires_grad=True) for a in xs]
    y = minifcn.diff(ts[0], n=2, prepend=ts[1], append=ts[2])
    u = xp.asarray(np.random.default_rng(7).standard_normal(y.shape))
    y.backward(u)
    rhs = sum(float((to_np(a) * to_np(t.grad)).sum()) for a, t in zip(xs, ts))
    assert float((to_np(y) * to_np(u)).sum()) == pytest.approx(rhs, rel=1e-10, abs=1e-10)


# --------------------------------------------------------------------- against the loops
@pytest.mark.parametrize("sa, sb", [((4,), (4,)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,)), ((2, 3), (3, 4)),
                                    ((2, 1, 3, 4), (5, 4, 2)), ((2, 0), (0, 3))])
def test_matmul_matches_the_loop(xp, rng, sa, sb):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    _close(minifcn.matmul(Tensor(xp.asarray(a)), Tensor(xp.asarray(b))), loop_matmul(a, b))
    _close(Tensor(xp.asarray(a)) @ Tensor(xp.asarray(b)), loop_matmul(a, b))


@pytest.mark.parametrize("sa, sb, da, db", [((2, 3, 4), (3, 4, 5), [1, 2], [0, 1]), ((2, 3), (4, 2), [0], [1]),
                                            ((2, 3, 4), (4, 3, 5), [1, 2], [1, 0]), ((2,), (3,), [], [])])
def test_tensordot_matches_the_loop(xp, rng, sa, sb, da, db):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    y = minifcn.tensordot(Tensor(xp.asarray(a)), Tensor(xp.asarray(b)), dims=(da, db))
    _close(y, loop_tensordot(a, b, da, db))


@pytest.mark.parametrize("sa, sb", [((2, 3), (3, 2)), ((2,), (2, 3)), ((2, 1, 2), (3,)), ((), (2,))])
def test_kron_matches_the_loop(xp, rng, sa, sb):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    _close(minifcn.kron(Tensor(xp.asarray(a)), Tensor(xp.asarray(b))), loop_kron(a, b))


@pytest.mark.parametrize("sa, sb, dim", [((4, 3), (4, 3), -1), ((2, 3, 5), (1, 3, 5), 1), ((3, 4), (3, 1), None)])
def test_cross_matches_the_loop(xp, rng, sa, sb, dim):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    axis = 0 if dim is None else dim % len(sa)   # None: the first axis of size 3
    _close(minifcn.cross(Tensor(xp.asarray(a)), Tensor(xp.asarray(b)), dim=dim), loop_cross(a, b, axis))


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 2.0, 3.0, INF])
@pytest.mark.parametrize("sa, sb", [((5, 3), (4, 3)), ((2, 3, 2), (1, 4, 2)), ((2, 0), (3, 0))])
def test_cdist_matches_the_loop(xp, rng, sa, sb, p):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    a[..., 0, :1] = b[..., 0, :1]   # a coordinate that agrees: it counts 0 for p = 0
    _close(minifcn.cdist(Tensor(xp.asarray(a)), Tensor(xp.asarray(b)), p=p), loop_cdist(a, b, p))


@pytest.mark.parametrize("shape, offset, d1, d2", [((3, 4), 0, 0, 1), ((3, 4), 2, 0, 1), ((3, 4), -2, 0, 1),
                                                   ((3, 4, 5), 1, 2, 0), ((2, 3, 4), -1, -1, 1), ((3, 4), 7, 0, 1)])
def test_diagonal_matches_the_loop_and_its_gradient_goes_back_on_it(xp, rng, shape, offset, d1, d2):
    a = rng.standard_normal(shape)
    t = Tensor(xp.asarray(a), requires_grad=True)
    y = t.diagonal(offset, d1, d2)
    expected = loop_diagonal(a, offset, d1 % a.ndim, d2 % a.ndim)
    _close(y, expected)
    y.backward(xp.ones(y.shape))   # the ones land where the diagonal was read, zeros elsewhere
    _close(t.grad, _mask_of_diagonal(shape, offset, d1 % a.ndim, d2 % a.ndim))


def _mask_of_diagonal(shape, offset, d1, d2):
    m = np.zeros(shape)
    for idx in np.ndindex(shape):
        if idx[d2] - idx[d1] == offset:
            m[idx] = 1.0
    return m


@pytest.mark.parametrize("k", [-2, 0, 1, 5])
def test_tril_and_triu_match_the_loop_and_cut_inf_to_zero(xp, rng, k):
    a = rng.standard_normal((2, 3, 4))
    a[0, 0, 3] = np.inf   # above every diagonal k < 3: tril gives 0 there, not inf * 0
    a[1, 2, 0] = np.nan
    _close(minifcn.tril(Tensor(xp.asarray(a)), k), loop_triangle(a, k, lower=True))
    _close(minifcn.triu(Tensor(xp.asarray(a)), k), loop_triangle(a, k, lower=False))


@pytest.mark.parametrize("shape, counts, dim", [((3, 4), [1, 0, 3], 0), ((2, 3), 2, 1), ((2, 3), [0, 0, 0], 1),
                                                ((2, 3, 2), [2, 1], -1)])
def test_repeat_interleave_matches_the_loop(xp, rng, shape, counts, dim):
    a, axis = rng.standard_normal(shape), dim % len(shape)
    reps = counts if isinstance(counts, int) else Tensor(xp.asarray(np.array(counts)))
    t = Tensor(xp.asarray(a), requires_grad=True)
    y = minifcn.repeat_interleave(t, reps, dim=dim)
    _close(y, loop_repeat_interleave(a, counts, axis))
    y.backward(xp.ones(y.shape))   # each value's gradient: how many copies it has
    c = [counts] * shape[axis] if isinstance(counts, int) else counts
    _close(t.grad, np.broadcast_to(np.array(c, float).reshape([-1 if k == axis else 1 for k in range(len(shape))]), shape))


@pytest.mark.parametrize("shape, n, dim", [((5, 4), 1, 0), ((2, 6), 3, -1), ((3,), 2, 0), ((2, 3), 5, 1)])
def test_diff_matches_the_loop(xp, rng, shape, n, dim):
    a = rng.standard_normal(shape)
    _close(minifcn.diff(Tensor(xp.asarray(a)), n=n, dim=dim), loop_diff(a, n, dim % len(shape)))


def test_narrow_select_unflatten_tile_are_the_slices_and_reshapes_they_name(xp, rng):
    a = rng.standard_normal((4, 5))
    t = Tensor(xp.asarray(a))
    np.testing.assert_array_equal(to_np(t.narrow(1, -3, 2)), a[:, 2:4])
    np.testing.assert_array_equal(to_np(minifcn.select(t, 1, 3)), a[:, 3])
    np.testing.assert_array_equal(to_np(t.unflatten(0, (2, 2))), a.reshape(2, 2, 5))
    np.testing.assert_array_equal(to_np(t.tile(2, 1, 1)), np.tile(a, (2, 1, 1)))
    np.testing.assert_array_equal(to_np(t.t()), a.T)
    np.testing.assert_array_equal(to_np(minifcn.movedim(Tensor(xp.asarray(a[None])), 0, -1)), a[:, :, None])


# --------------------------------------------------------------------- the operator, methods and names
def test_matmul_operator_takes_1d_and_arrays_on_either_side(xp, rng):
    a, v = rng.standard_normal((2, 3)), rng.standard_normal(3)
    _close(Tensor(xp.asarray(a)) @ xp.asarray(v), a @ v)
    _close(xp.asarray(a) @ Tensor(xp.asarray(v)), a @ v)   # __rmatmul__
    assert (Tensor(xp.asarray(v)) @ Tensor(xp.asarray(v))).shape == ()


def test_every_name_is_a_method_and_a_function_as_in_pytorch():
    torch = pytest.importorskip("torch")
    functions = ["matmul", "mm", "bmm", "dot", "outer", "tensordot", "kron", "cross", "cdist", "t",
                 "swapaxes", "swapdims", "movedim", "moveaxis", "tril", "triu", "diag", "diagonal",
                 "trace", "unflatten", "narrow", "select", "tile", "repeat_interleave", "diff"]
    methods = ["matmul", "mm", "bmm", "dot", "outer", "kron", "cross", "t", "mT", "T", "swapaxes",
               "swapdims", "movedim", "moveaxis", "tril", "triu", "diag", "diagonal", "trace",
               "unflatten", "narrow", "select", "tile", "repeat_interleave", "diff", "view_as",
               "expand_as", "type_as", "new_zeros", "new_ones", "new_full", "new_tensor", "zero_", "fill_"]
    for name in functions:
        assert hasattr(torch, name) and callable(getattr(minifcn, name)), name
    for name in methods:
        assert hasattr(torch.Tensor, name) and hasattr(Tensor, name), name


def test_type_as_takes_the_dtype_and_the_gradient_comes_back_in_its_own(xp):
    a = Tensor(xp.asarray(np.array([1.5, 2.5], np.float32)), requires_grad=True)
    b = Tensor(xp.zeros(1, np.float64))
    y = a.type_as(b)
    assert y.dtype == np.float64 and y.device == a.device
    (y * y).sum().backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_array_equal(to_np(a.grad), [3.0, 5.0])
    assert Tensor(xp.ones(2)).type_as(Tensor(xp.ones(1, np.int32))).dtype == np.int32


def test_new_functions_take_this_tensor_s_dtype_and_device(xp):
    torch = pytest.importorskip("torch")
    base = Tensor(xp.ones(2, np.float64))
    tb = torch.ones(2, dtype=torch.float64)
    pairs = [(base.new_zeros(2, 3), tb.new_zeros(2, 3)), (base.new_ones((3,)), tb.new_ones((3,))),
             (base.new_full((2, 2), 7), tb.new_full((2, 2), 7)), (base.new_tensor([1, 2]), tb.new_tensor([1, 2])),
             (base.new_zeros(2, dtype=np.int32), tb.new_zeros(2, dtype=torch.int32))]
    for ours, theirs in pairs:
        assert ours.dtype == to_np(theirs).dtype and ours.device == base.device
        np.testing.assert_array_equal(to_np(ours), to_np(theirs))
        assert ours.is_leaf and not ours.requires_grad
    assert base.new_zeros(1, requires_grad=True).requires_grad
    source = Tensor(xp.ones(2), requires_grad=True) * 2
    copy = base.new_tensor(source)   # a copy outside the graph
    assert not copy.requires_grad and copy.data is not source.data


def test_zero_and_fill_change_in_place_and_keep_the_memory():
    a = np.ones((2, 3), np.float32)
    t = minifcn.from_numpy(a)
    assert t.fill_(2.5) is t and (a == 2.5).all()   # the NumPy array sees it
    t.zero_()
    assert (a == 0).all()
    t.fill_(Tensor(np.array(4.0)))
    assert (a == 4).all() and t.dtype == np.float32
    i = Tensor(np.zeros(2, np.int64)).fill_(2.7)   # cast as PyTorch's: toward zero
    assert i.tolist() == [2, 2]


def test_in_place_fill_is_refused_in_the_graph_and_taken_under_no_grad():
    torch = pytest.importorskip("torch")
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.zero_()
    with pytest.raises(RuntimeError):   # PyTorch refuses it on such a leaf too
        torch.ones(3, requires_grad=True).zero_()
    h = w * 2
    with pytest.raises(RuntimeError, match="a tensor in the graph.*no_grad"):
        h.fill_(1.0)
    with pytest.raises(RuntimeError, match="fill_: the value requires grad, and a fill is not recorded"):
        Tensor(np.ones(3)).fill_(Tensor(np.array(1.0), requires_grad=True))   # self requires none
    with minifcn.no_grad():
        w.fill_(3.0)
    assert w.tolist() == [3.0, 3.0, 3.0] and w.requires_grad
    with pytest.raises(ValueError, match=r"0-d tensor as the value, got shape \(1,\)"):
        Tensor(np.ones(3)).fill_(Tensor(np.ones(1)))
    with pytest.raises(ValueError, match=r"0-d tensor as the value, got shape \(3,\)"):
        Tensor(np.ones(3)).fill_(np.arange(3.0))


def test_fill_on_the_device_and_through_a_view(xp):
    t = Tensor(xp.ones((2, 3)))
    t.fill_(Tensor(xp.asarray(4.0)))   # a 0-d tensor on the device
    assert to_np(t).tolist() == [[4.0] * 3] * 2
    t.narrow(1, 1, 2).zero_()          # narrow is a view, as PyTorch's: the base changes
    assert to_np(t).tolist() == [[4.0, 0.0, 0.0]] * 2


def test_values_an_integer_tensor_cannot_hold_are_refused_as_pytorch_s():
    """NaN, inf and values past the range into integers (NumPy's cast gives INT64_MIN, with a
    warning), a finite value past float16's largest: PyTorch refuses them (but for a fill of
    one value, which it makes inf); -1 into uint8 is 255 in both; 2.7 is 2."""
    torch = pytest.importorskip("torch")
    refused = [(lambda m, t: t(np.zeros(2, np.int64)).fill_(float("nan")), "fill_: the value = nan does not fit in int64"),
               (lambda m, t: t(np.zeros(2, np.int64)).new_full((2,), float("inf")), "new_full: the value = inf does not fit"),
               (lambda m, t: t(np.zeros(2)).new_full((2,), 1e30, dtype=m.int64 if m is torch else np.int64),
                r"new_full: the value = 1e\+30 does not fit in int64"),
               (lambda m, t: t(np.zeros(2, np.int8)).fill_(200), r"fill_: the value = 200 does not fit in int8 \(\[-128, 127\]\)"),
               (lambda m, t: t(np.zeros(2, np.float16)).fill_(1e6), "fill_: the value = 1000000.0 does not fit in float16"),
               (lambda m, t: t(np.zeros(2, np.float16)).new_full((3,), -1e6), "new_full: the value = -1000000.0 does not fit")]
    for call, message in refused:
        with pytest.raises(ValueError, match=message):
            call(minifcn, Tensor)
        with pytest.raises(RuntimeError, match="cannot be converted"):
            call(torch, torch.from_numpy)
    for call in (lambda m, t: t(np.zeros(2, np.uint8)).fill_(-1), lambda m, t: t(np.zeros(2, np.int64)).fill_(2.7),
                 lambda m, t: t(np.zeros(2, np.uint8)).new_full((2,), -1), lambda m, t: t(np.zeros(2)).fill_(float("inf"))):
        ours, theirs = call(minifcn, Tensor), call(torch, torch.from_numpy)
        assert ours.dtype == to_np(theirs).dtype and ours.tolist() == theirs.tolist()


def test_products_of_bools_are_refused_as_pytorch_s():
    torch = pytest.importorskip("torch")
    b, m = np.ones(3, np.bool_), np.ones((1, 3, 3), np.bool_)
    for call in (lambda lib, t: t(b) @ t(b), lambda lib, t: lib.matmul(t(m), t(m)), lambda lib, t: lib.mm(t(m[0]), t(m[0])),
                 lambda lib, t: lib.bmm(t(m), t(m)), lambda lib, t: lib.dot(t(b), t(b)),
                 lambda lib, t: lib.tensordot(t(m), t(m), 1), lambda lib, t: lib.cross(t(b), t(b), dim=0)):
        with pytest.raises(TypeError, match="not defined for bool tensors"):
            call(minifcn, Tensor)
        with pytest.raises((NotImplementedError, RuntimeError)):
            call(torch, torch.from_numpy)


# --------------------------------------------------------------------- errors
ERRORS = [
    (lambda: minifcn.matmul(Tensor(np.ones(3)), Tensor(np.array(2.0))),
     ValueError, r"at least 1 dimension, got shapes \(3,\) and \(\)"),
    (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 2))),
     ValueError, r"inner dimensions differ: \(2, 3\) @ \(4, 2\)"),
    (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones(4)),
     ValueError, r"inner dimensions differ: \(2, 3\) @ \(4,\)"),
    (lambda: minifcn.matmul(Tensor(np.ones((2, 2, 3))), Tensor(np.ones((3, 3, 1)))),
     ValueError, "batch dimensions .* do not broadcast"),
    (lambda: minifcn.matmul(Tensor(np.ones(3, np.float32)), Tensor(np.ones(3))),
     TypeError, "one dtype, got float32 and float64"),
    (lambda: minifcn.mm(Tensor(np.ones((2, 3))), Tensor(np.ones(3))),
     ValueError, r"mm: expected two 2-d tensors, got shapes \(2, 3\) and \(3,\)"),
    (lambda: minifcn.bmm(Tensor(np.ones((2, 3, 4))), Tensor(np.ones((3, 4, 5)))),
     ValueError, r"bmm: batch sizes differ"),
    (lambda: minifcn.bmm(Tensor(np.ones((3, 4))), Tensor(np.ones((4, 5)))),
     ValueError, r"bmm: expected two 3-d"),
    (lambda: minifcn.dot(Tensor(np.ones(3)), Tensor(np.ones(2))),
     ValueError, r"dot: .*got shapes \(3,\) and \(2,\)"),
    (lambda: minifcn.dot(Tensor(np.ones(3, np.int64)), Tensor(np.ones(3))),
     TypeError, "dot: .*int64 and float64"),
    (lambda: minifcn.outer(Tensor(np.ones((3, 1))), Tensor(np.ones(3))),
     ValueError, r"outer: expected two 1-d tensors, got shapes \(3, 1\)"),
    (lambda: minifcn.tensordot(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3))), dims=([0], [1])),
     ValueError, r"axis 0 of a \(2, 3\) and axis 1 of b \(2, 3\) differ"),
    (lambda: minifcn.tensordot(Tensor(np.ones(2)), Tensor(np.ones(2)), dims=3),
     ValueError, "dims 3 is more than the axes"),
    (lambda: minifcn.tensordot(Tensor(np.ones(2)), Tensor(np.ones(2)), dims=-1),
     ValueError, "dims must be an int >= 0"),
    (lambda: minifcn.tensordot(Tensor(np.ones((2, 2))), Tensor(np.ones((2, 2))), dims=([0, 0], [0, 1])),
     ValueError, "name an axis twice"),
    (lambda: minifcn.tensordot(Tensor(np.ones((2, 2))), Tensor(np.ones((2, 2))), dims=([0], [0, 1])),
     ValueError, "1 axes of a paired with 2 of b"),
    (lambda: minifcn.cross(Tensor(np.ones((2, 3))), Tensor(np.ones(3)), dim=1),
     ValueError, "as many dimensions"),
    (lambda: minifcn.cross(Tensor(np.ones((2, 4))), Tensor(np.ones((2, 4)))),
     ValueError, r"no dimension of size 3 in shape \(2, 4\)"),
    (lambda: minifcn.cross(Tensor(np.ones((3, 4))), Tensor(np.ones((3, 4))), dim=1),
     ValueError, "dimension 1 must have size 3"),
    (lambda: minifcn.cross(Tensor(np.ones(3, np.float32)), Tensor(np.ones(3))),
     TypeError, "float32 and float64"),
    (lambda: minifcn.cdist(Tensor(np.ones(3)), Tensor(np.ones((2, 3)))),
     ValueError, r"at least 2 dimensions .*got shapes \(3,\)"),
    (lambda: minifcn.cdist(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 4)))), ValueError, "as many columns"),
    (lambda: minifcn.cdist(Tensor(np.ones((2, 3), np.int64)), Tensor(np.ones((2, 3), np.int64))),
     TypeError, "floating-point tensors, got int64"),
    (lambda: minifcn.cdist(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3))), p=-1),
     ValueError, "p must be >= 0, got -1.0"),
    (lambda: minifcn.cdist(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3))), p=math.nan),
     ValueError, "p must be >= 0, got nan"),
    (lambda: minifcn.cdist(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3))), compute_mode="fast"),
     ValueError, "compute_mode must be one of"),
    (lambda: minifcn.cdist(Tensor(np.ones((2, 2, 3))), Tensor(np.ones((3, 2, 3)))),
     ValueError, "batch dimensions"),
    (lambda: Tensor(np.ones((2, 3, 4))).t(),
     ValueError, r"t: expects a tensor of at most 2 dimensions, got shape \(2, 3, 4\)"),
    (lambda: Tensor(np.ones(3)).mT,
     ValueError, r"mT: expects a tensor of at least 2 dimensions, got shape \(3,\)"),
    (lambda: minifcn.swapaxes(Tensor(np.ones((2, 3))), 0, 2),
     IndexError, r"dimension 2 is out of range \[-2, 1\]"),
    (lambda: minifcn.movedim(Tensor(np.ones((2, 3))), (0, 1), (1, 1)),
     ValueError, "destination name an axis twice"),
    (lambda: minifcn.movedim(Tensor(np.ones((2, 3))), (0, 1), 1), ValueError, "different numbers of axes"),
    (lambda: minifcn.tril(Tensor(np.ones(3))),
     ValueError, r"tril: expects a tensor of at least 2 dimensions, got shape \(3,\)"),
    (lambda: minifcn.triu(Tensor(np.ones((2, 2))), 1.5),
     TypeError, "triu: diagonal must be an int, got float 1.5"),
    (lambda: minifcn.diag(Tensor(np.array(1.0))),
     ValueError, r"diag: expects a 1-d or 2-d tensor, got shape \(\)"),
    (lambda: minifcn.diagonal(Tensor(np.ones((3, 3))), 0, 1, -1),
     ValueError, "dim1 1 and dim2 -1 name one axis"),
    (lambda: minifcn.diagonal(Tensor(np.ones(3))), ValueError, "at least 2 dimensions"),
    (lambda: minifcn.trace(Tensor(np.ones(3))),
     ValueError, r"trace: expects a 2-d tensor \(a matrix\), got shape \(3,\)"),
    (lambda: minifcn.unflatten(Tensor(np.ones((2, 6))), 1, (4, -1)),
     ValueError, r"sizes \(4, -1\) can't be completed to multiply up to 6"),
    (lambda: minifcn.unflatten(Tensor(np.ones((2, 6))), 1, (4, 2)),
     ValueError, r"sizes \(4, 2\) don't multiply up to 6"),
    (lambda: minifcn.unflatten(Tensor(np.ones((2, 6))), 1, (-1, -1)), ValueError, "at most one -1"),
    (lambda: minifcn.unflatten(Tensor(np.ones((2, 6))), 1, ()), ValueError, "sizes must be non-empty"),
    (lambda: minifcn.narrow(Tensor(np.ones(5)), 0, 6, 0), IndexError, r"start 6 is out of range \[-5, 5\]"),
    (lambda: minifcn.narrow(Tensor(np.ones(5)), 0, 3, 3),
     ValueError, r"start \(3\) \+ length \(3\) must lie within dimension 0's size 5"),
    (lambda: minifcn.narrow(Tensor(np.ones(5)), 0, 0, -1), ValueError, r"length \(-1\)"),
    (lambda: minifcn.narrow(Tensor(np.array(1.0)), 0, 0, 1), ValueError, "0-d"),
    (lambda: minifcn.select(Tensor(np.ones(5)), 0, -6), IndexError, r"index -6 is out of range \[-5, 4\]"),
    (lambda: minifcn.select(Tensor(np.array(5.0)), 0, 0), IndexError, "0-d"),
    (lambda: minifcn.tile(Tensor(np.ones(2)), (-1,)), ValueError, r"counts must be >= 0, got \(-1,\)"),
    (lambda: minifcn.repeat_interleave(Tensor(np.ones(3)), -1), ValueError, "repeats must be >= 0, got -1"),
    (lambda: minifcn.repeat_interleave(Tensor(np.ones(3)), Tensor(np.array([2, -1, 1]))),
     ValueError, "repeats must be >= 0, got -1"),
    (lambda: minifcn.repeat_interleave(Tensor(np.ones(3)), Tensor(np.array([2, 1]))),
     ValueError, "2 repeats for a dimension of size 3; expected 1 or 3"),
    (lambda: minifcn.repeat_interleave(Tensor(np.ones(3)), Tensor(np.array([2.0]))),
     TypeError, "integer tensor, got float64"),
    (lambda: minifcn.repeat_interleave(Tensor(np.ones((2, 3))), 2, dim=1, output_size=5),
     ValueError, "output_size 5 is not the total, 6"),
    (lambda: minifcn.diff(Tensor(np.array(1.0))), ValueError, "at least 1 dimension, got 0-d"),
    (lambda: minifcn.diff(Tensor(np.ones(3)), n=-1), ValueError, "order n must be >= 0, got -1"),
    (lambda: minifcn.diff(Tensor(np.ones((3, 2))), dim=0, append=Tensor(np.ones((1, 3)))),
     ValueError, r"shape \(3, 2\) except along dimension 0, got shape \(1, 3\)"),
    (lambda: minifcn.diff(Tensor(np.ones(3)), prepend=Tensor(np.array(0.0))), ValueError, r"got shape \(\)"),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_bad_arguments_are_refused_with_the_value_and_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()
