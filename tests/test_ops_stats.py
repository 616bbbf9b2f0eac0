"""ops_stats.py: median, nanmedian, kthvalue, mode, quantile, nanquantile, cummax, cummin,
nansum, nanmean, aminmax, var_mean, std_mean, count_nonzero, bincount, histc, searchsorted,
bucketize, take, masked_select, masked_scatter, index_add, index_copy, index_fill and clamp with
tensor bounds: against the loops of minifcn.naive, against PyTorch (values, indices, gradients,
float64 and float32), by float64 finite differences on tie-free inputs, by the adjoint identity
for the linear ones, on 0-d and empty tensors, with NaN, and their errors."""
import numpy as np
import pytest

import minifcn
from minifcn import Tensor, naive
from minifcn.testing import distinct_values, gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

NAN = float("nan")


def _torch():
    return pytest.importorskip("torch")


def _pair(torch, x, dtype, requires_grad=True):
    """The same values as a minifcn Tensor and a torch tensor, both requiring grad (floats)."""
    x = np.asarray(x).astype(dtype)
    grad = requires_grad and x.dtype.kind == "f"
    return Tensor(x, requires_grad=grad), torch_tensor(torch, x, requires_grad=grad)


def _backward_both(torch, y, yt, rng):
    """One random upstream gradient (of torch's output shape) through both outputs."""
    g = rng.standard_normal(tuple(yt.shape)).astype(to_np(yt).dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))


# --------------------------------------------------------------------- median, kthvalue, mode
SHAPES_DIMS = [((7,), 0), ((3, 6), 1), ((3, 6), 0), ((2, 3, 5), -1), ((2, 4, 3), 1)]


@pytest.mark.parametrize("shape, dim", SHAPES_DIMS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_median_kthvalue_along_dim_match_pytorch_on_distinct_values(shape, dim, dtype, keepdim, rng):
    torch = _torch()
    x = distinct_values(shape, seed=int(rng.integers(1000)))
    n = shape[dim]
    cases = [("median", lambda t: t.median(dim, keepdim), lambda t: t.median(dim, keepdim)),
             ("nanmedian", lambda t: t.nanmedian(dim, keepdim), lambda t: t.nanmedian(dim, keepdim))]
    cases += [(f"kthvalue {k}", lambda t, k=k: t.kthvalue(k, dim, keepdim),
               lambda t, k=k: t.kthvalue(k, dim, keepdim)) for k in (1, (n + 1) // 2, n)]
    for name, ours, theirs in cases:
        t, tt = _pair(torch, x, dtype)
        (v, i), (vt, it) = ours(t), theirs(tt)
        np.testing.assert_array_equal(to_np(v), to_np(vt), err_msg=name)   # a copy: exact
        np.testing.assert_array_equal(to_np(i), to_np(it), err_msg=name)
        assert to_np(i).dtype == np.int64
        _backward_both(torch, v, vt, rng)
        np.testing.assert_array_equal(to_np(t.grad), to_np(tt.grad), err_msg=name)


@pytest.mark.parametrize("shape, dim", SHAPES_DIMS)
def test_selections_match_the_loops_with_ties_and_nan(shape, dim, rng):
    # few distinct values: ties everywhere; and a NaN or two
    x = rng.integers(0, 3, size=shape).astype(np.float64)
    x.reshape(-1)[rng.choice(x.size, size=2, replace=False)] = NAN
    for ignore_nan, f in ((False, minifcn.median), (True, minifcn.nanmedian)):
        v, i = f(Tensor(x), dim)
        ev, ei = naive.median(x, dim, ignore_nan=ignore_nan)
        np.testing.assert_array_equal(to_np(v), ev)
        np.testing.assert_array_equal(to_np(i), ei)
    for k in (1, shape[dim]):
        v, i = minifcn.kthvalue(Tensor(x), k, dim)
        ev, ei = naive.kthvalue(x, k, dim)
        np.testing.assert_array_equal(to_np(v), ev)
        np.testing.assert_array_equal(to_np(i), ei)
    v, i = minifcn.mode(Tensor(x), dim)
    ev, ei = naive.mode(x, dim)
    np.testing.assert_array_equal(to_np(v), ev)
    np.testing.assert_array_equal(to_np(i), ei)


def test_selections_on_ties_give_pytorchs_values_and_a_tied_index(rng):
    # PyTorch's CPU picks among equal values by its quickselect, by no rule: median of
    # [2, 1, 2, 1, 3] gives index 0, kthvalue(3) of the same row index 2. Here the stable
    # order's pick: for both, index 0 (the first 2). The values always agree, and each index
    # points at a value equal to the one given.
    torch = _torch()
    x = rng.integers(0, 4, size=(5, 9)).astype(np.float64)
    for ours, theirs in ((lambda t: t.median(1), lambda t: t.median(1)),
                         (lambda t: t.kthvalue(4, 1), lambda t: t.kthvalue(4, 1)),
                         (lambda t: t.nanmedian(0), lambda t: t.nanmedian(0))):
        (v, i), (vt, _) = ours(Tensor(x)), theirs(torch.from_numpy(x))
        np.testing.assert_array_equal(to_np(v), to_np(vt))
        dim = 0 if i.shape == (9,) else 1
        np.testing.assert_array_equal(np.take_along_axis(x, np.expand_dims(to_np(i), dim), dim).squeeze(dim), to_np(v))
    row = np.array([2.0, 1.0, 2.0, 1.0, 3.0])
    assert minifcn.median(Tensor(row), 0).indices.item() == 0
    assert minifcn.kthvalue(Tensor(row), 3).indices.item() == 0
    assert torch.median(torch.from_numpy(row), 0).indices.item() == 0


def test_mode_matches_pytorch_values_indices_and_gradient(rng):
    # PyTorch's mode: the smallest of the most frequent values, at the last place it comes
    torch = _torch()
    for dtype in DTYPES:
        x = rng.integers(0, 4, size=(6, 11)).astype(dtype)
        for dim in (0, 1):
            t, tt = _pair(torch, x, dtype)
            (v, i), (vt, it) = t.mode(dim), tt.mode(dim)
            np.testing.assert_array_equal(to_np(v), to_np(vt))
            np.testing.assert_array_equal(to_np(i), to_np(it))
            _backward_both(torch, v, vt, rng)
            np.testing.assert_array_equal(to_np(t.grad), to_np(tt.grad))
    assert minifcn.mode(Tensor(np.array([3.0, 1.0, 3.0, 1.0, 3.0, 1.0]))).indices.item() == 5


def test_mode_counts_nans_as_one_value_where_pytorch_follows_no_rule():
    # PyTorch's CPU: [nan, 2, nan] -> nan at 0, but [nan, 1, nan, 1, nan] -> nan at 0 and
    # [1, nan, nan] -> 1 at 0. Here NaNs are one value, the largest, as sort orders them.
    v, i = minifcn.mode(Tensor(np.array([NAN, 1.0, NAN, 1.0, NAN])))
    assert np.isnan(v.item()) and i.item() == 4
    v, i = minifcn.mode(Tensor(np.array([NAN, 2.0, 3.0])))
    assert v.item() == 2.0 and i.item() == 1


def test_median_and_nanmedian_of_everything_share_the_gradient_as_pytorch(rng):
    torch = _torch()
    rows = [[3.0, 1.0, 2.0, 2.0, 5.0, 2.0], [3.0, NAN, 1.0, NAN], [3.0, NAN, 1.0, 2.0],
            [[4.0, 4.0], [1.0, 7.0]], [NAN, NAN]]
    for row in rows:
        for dtype in DTYPES:
            for name in ("median", "nanmedian"):
                t, tt = _pair(torch, row, dtype)
                y, yt = getattr(t, name)(), getattr(tt, name)()
                assert y.shape == ()
                np.testing.assert_array_equal(to_np(y), to_np(yt))
                y.backward()
                yt.backward()
                np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=1e-7, err_msg=f"{name} {row}")


def test_selection_gradients_by_finite_differences(xp):
    x = distinct_values((3, 5), seed=3, xp=xp)
    assert gradcheck(lambda t: minifcn.median(t, 1).values, [x])
    assert gradcheck(lambda t: minifcn.nanmedian(t, 0, keepdim=True).values, [x])
    assert gradcheck(lambda t: minifcn.kthvalue(t, 4, 1).values, [x])
    assert gradcheck(lambda t: minifcn.median(t), [x])


def test_selections_of_0d_and_empty_tensors():
    torch = _torch()
    for name in ("median", "nanmedian", "mode"):
        v, i = getattr(minifcn, name)(Tensor(np.float64(5.0)), 0)
        assert v.shape == () and i.shape == () and v.item() == 5.0 and i.item() == 0
    v, i = minifcn.kthvalue(Tensor(np.float64(5.0)), 1)
    assert (v.item(), i.item()) == (5.0, 0)
    assert np.isnan(minifcn.median(Tensor(np.zeros(0))).item())
    assert np.isnan(torch.median(torch.zeros(0)).item())
    v, i = minifcn.median(Tensor(np.zeros((3, 0))), 0)           # no rows: empty
    assert v.shape == (0,) and i.shape == (0,)
    with pytest.raises(IndexError, match="size 0"):               # rows with no values
        minifcn.median(Tensor(np.zeros((0, 3))), 0)
    assert minifcn.median(Tensor(np.array([3, 1, 2, 4])), 0).values.item() == 2   # integers


def test_selections_refuse_bad_arguments():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexError, match="k=4"):
        x.kthvalue(4)
    with pytest.raises(IndexError, match="k=0"):
        x.kthvalue(0)
    with pytest.raises(TypeError, match="k must be an int"):
        x.kthvalue(1.0)
    with pytest.raises(IndexError, match="out of range"):
        x.median(2)
    with pytest.raises(TypeError, match="dimension must be an int"):
        x.mode("a")


# --------------------------------------------------------------------- cummax, cummin
def test_cummax_cummin_match_pytorch_with_ties_and_nan(rng):
    torch = _torch()
    for dtype in DTYPES:
        for x in (rng.integers(0, 4, size=(4, 9)).astype(dtype),
                  np.array([[1.0, 3.0, 3.0, 2.0, 3.0, NAN, 5.0, NAN]], dtype)):
            for name in ("cummax", "cummin"):
                for dim in (0, 1):
                    t, tt = _pair(torch, x, dtype)
                    (v, i), (vt, it) = getattr(t, name)(dim), getattr(tt, name)(dim)
                    np.testing.assert_array_equal(to_np(v), to_np(vt))
                    np.testing.assert_array_equal(to_np(i), to_np(it))   # ties: the later index
                    _backward_both(torch, v, vt, rng)
                    assert_close(t.grad, tt.grad, dtype, name)


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_cummax_cummin_match_the_loop(rng, dim):
    x = rng.integers(0, 5, size=(3, 4, 6)).astype(np.float64)
    x[1, 2, 3] = NAN
    for smallest, f in ((False, minifcn.cummax), (True, minifcn.cummin)):
        v, i = f(Tensor(x), dim)
        ev, ei = naive.cummax(x, dim, smallest=smallest)
        np.testing.assert_array_equal(to_np(v), ev)
        np.testing.assert_array_equal(to_np(i), ei)


def test_cummax_gradcheck_and_small_cases(xp):
    x = distinct_values((3, 6), seed=5, xp=xp)
    assert gradcheck(lambda t: minifcn.cummax(t, 1).values, [x])
    assert gradcheck(lambda t: minifcn.cummin(t, 0).values, [x])
    v, i = minifcn.cummax(Tensor(xp.asarray(4.0)), 0)
    assert v.shape == () and i.item() == 0
    v, i = minifcn.cummin(Tensor(xp.zeros((2, 0))), 1)
    assert v.shape == (2, 0) and i.shape == (2, 0)
    v, i = minifcn.cummax(Tensor(xp.asarray([2, 5, 1, 5])), 0)    # integers
    assert to_np(v).tolist() == [2, 5, 5, 5] and to_np(i).tolist() == [0, 1, 1, 3]


# --------------------------------------------------------------------- quantile, nanquantile
MODES = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("interpolation", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_quantile_matches_pytorch_values_shapes_and_gradients(interpolation, dtype, rng):
    torch = _torch()
    x = rng.standard_normal((3, 4, 5))
    qs = [0.3, np.array(0.75), np.array([0.0, 0.1, 0.5, 0.625, 1.0])]
    for q in qs:
        for dim in (None, 0, 2, -2):
            for keepdim in (False, True):
                t, tt = _pair(torch, x, dtype)
                qo = Tensor(q.astype(dtype)) if isinstance(q, np.ndarray) else q
                qt = torch.from_numpy(q.astype(dtype)) if isinstance(q, np.ndarray) else q
                y = t.quantile(qo, dim, keepdim, interpolation=interpolation)
                yt = tt.quantile(qt, dim, keepdim, interpolation=interpolation)
                assert y.shape == tuple(yt.shape), (q, dim, keepdim)
                assert_close(y, yt, dtype, f"{q} {dim} {keepdim}")
                _backward_both(torch, y, yt, rng)
                assert_close(t.grad, tt.grad, dtype, f"grad {q} {dim} {keepdim}")


def test_quantile_and_nanquantile_with_nan_match_pytorch(rng):
    torch = _torch()
    x = rng.standard_normal((4, 6))
    x[0, 2] = x[1, 0] = x[1, 5] = NAN
    x[2] = NAN
    q = np.array([0.2, 0.5, 0.9])
    for name in ("quantile", "nanquantile"):
        for interpolation in MODES:
            for dim in (None, 1, 0):
                t, tt = _pair(torch, x, np.float64)
                y = getattr(t, name)(Tensor(q), dim, interpolation=interpolation)
                yt = getattr(tt, name)(torch.from_numpy(q), dim, interpolation=interpolation)
                np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-12, equal_nan=True)
                g = rng.standard_normal(tuple(yt.shape))
                y.backward(g)
                yt.backward(torch.from_numpy(g))
                # which NaN a NaN quantile reads is a tie (here the last in the stable sort,
                # in PyTorch its sort's pick): compare the numbers' gradients
                keep = ~np.isnan(x)
                np.testing.assert_allclose(to_np(t.grad)[keep], to_np(tt.grad)[keep], rtol=1e-12, atol=1e-15)


def test_quantile_gradient_for_q_matches_pytorch_and_finite_differences(xp, rng):
    torch = _torch()
    x = rng.standard_normal((3, 7))
    q = np.array([0.15, 0.45, 0.8])   # ranks 0.9, 2.7, 4.8: off the integers, where q's slope jumps
    for name in ("quantile", "nanquantile"):
        t, tt = _pair(torch, x, np.float64)
        qo, qt = _pair(torch, q, np.float64)
        y, yt = getattr(t, name)(qo, 1), getattr(tt, name)(qt, 1)
        _backward_both(torch, y, yt, rng)
        np.testing.assert_allclose(to_np(qo.grad), to_np(qt.grad), rtol=1e-12)
        np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=1e-12)
    xd = distinct_values((3, 7), seed=2, xp=xp)
    assert gradcheck(lambda a, b: minifcn.quantile(a, b, dim=1), [xd, xp.asarray(q)])
    assert gradcheck(lambda a: minifcn.nanquantile(a, 0.4, interpolation="midpoint"), [xd])


def test_quantile_gradient_for_q_is_not_nan_from_a_row_holding_nan():
    """A row holding NaN (all NaN for nanquantile) has a fixed rank: q's gradient from it is 0,
    read or not, as PyTorch's (its masked_fill of the ranks), not 0 * NaN."""
    torch = _torch()
    for name, x in (("quantile", [[1.0, 2.0, 3.0], [NAN, 0.0, 1.0], [4.0, 0.0, 2.0]]),
                    ("nanquantile", [[1.0, 2.0, 3.0], [NAN] * 3, [4.0, NAN, 2.0]])):
        for rows in ([0], [0, 1, 2]):   # the NaN row unread, then read
            q, qt = _pair(torch, np.array([0.25, 0.6]), np.float64)
            y = getattr(minifcn, name)(Tensor(np.array(x)), q, dim=1)
            yt = getattr(torch, name)(torch.tensor(x, dtype=torch.float64), qt, dim=1)
            y[:, rows].sum().backward()
            yt[:, rows].sum().backward()
            assert not np.isnan(to_np(q.grad)).any(), (name, rows)
            np.testing.assert_allclose(to_np(q.grad), to_np(qt.grad), rtol=1e-12, err_msg=f"{name} {rows}")


def test_quantile_matches_the_loop(rng):
    x = rng.integers(0, 6, size=(3, 8)).astype(np.float64)   # ties too
    for interpolation in MODES:
        for q in (0.0, 0.2, 0.5, 0.75, 1.0):
            y = minifcn.quantile(Tensor(x), q, 1, interpolation=interpolation)
            expected = [naive.quantile(row.tolist(), q, interpolation) for row in x]
            np.testing.assert_allclose(to_np(y), expected, rtol=1e-14)


def test_quantile_refuses_bad_arguments():
    x = Tensor(np.arange(6.0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        x.quantile(1.5)
    with pytest.raises(TypeError, match="float32 or float64"):
        minifcn.quantile(Tensor(np.arange(3)), 0.5)
    with pytest.raises(TypeError, match="dtype float64"):
        x.quantile(Tensor(np.array([0.5], np.float32)))
    with pytest.raises(ValueError, match="0-d or 1-d"):
        x.quantile(Tensor(np.array([[0.5]])))
    with pytest.raises(ValueError, match="empty"):
        minifcn.quantile(Tensor(np.zeros(0)), 0.5)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        x.quantile(0.5, interpolation="cubic")
    with pytest.raises(TypeError, match="q must be a number"):
        x.quantile("half")
    assert minifcn.quantile(Tensor(np.float64(3.0)), 0.3).item() == 3.0   # 0-d
    # a NumPy number is a number (the input's dtype), not a float64 tensor
    assert minifcn.quantile(Tensor(np.arange(5.0, dtype=np.float32)), np.float64(0.5)).item() == 2.0


# --------------------------------------------------------------------- nansum, nanmean, aminmax, var_mean
@pytest.mark.parametrize("dtype", DTYPES)
def test_nansum_nanmean_match_pytorch_values_and_gradients(dtype, rng):
    torch = _torch()
    x = rng.standard_normal((3, 4))
    x[0, 1] = x[2, 1] = x[1, 1] = x[2, 3] = NAN            # column 1 all NaN: nanmean NaN
    for name in ("nansum", "nanmean"):
        for dim, keepdim in ((None, False), (0, False), (1, True), ((0, 1), False), (None, True)):
            t, tt = _pair(torch, x, dtype)
            y, yt = getattr(minifcn, name)(t, dim, keepdim), getattr(torch, name)(tt, dim, keepdim)
            assert y.shape == tuple(yt.shape) and y.dtype == dtype
            np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6 if dtype == np.float32 else 1e-14,
                                       equal_nan=True)
            _backward_both(torch, y, yt, rng)
            # nanmean's gradient over an all-NaN column is NaN in both (0 * (1 / 0))
            np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=1e-6, equal_nan=True)
    assert minifcn.nansum(Tensor(np.array([1, 2], np.int32))).dtype == np.int64   # as torch's


def test_nansum_nanmean_gradcheck(xp):
    x = xp.asarray(np.array([[1.0, NAN, 2.5], [0.5, -1.0, NAN]]))
    # finite differences at a NaN give NaN; the NaNs' gradient (0) is checked against PyTorch
    f = lambda t: minifcn.nanmean(t, 1) + minifcn.nansum(t, 1)   # noqa: E731
    t = Tensor(x, requires_grad=True)
    f(t).sum().backward()
    np.testing.assert_allclose(to_np(t.grad), [[1.5, 0.0, 1.5], [1.5, 1.5, 0.0]])
    assert gradcheck(lambda a: minifcn.nanmean(a, 0), [xp.asarray(np.arange(6.0).reshape(2, 3))])


def test_aminmax_matches_pytorch(rng):
    torch = _torch()
    x = rng.integers(0, 3, size=(4, 5)).astype(np.float64)   # ties share the gradient
    for kwargs in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
        t, tt = _pair(torch, x, np.float64)
        (lo, hi), (lot, hit) = minifcn.aminmax(t, **kwargs), torch.aminmax(tt, **kwargs)
        np.testing.assert_array_equal(to_np(lo), to_np(lot))
        np.testing.assert_array_equal(to_np(hi), to_np(hit))
        (lo * 2 + hi).sum().backward()
        (lot * 2 + hit).sum().backward()
        np.testing.assert_allclose(to_np(t.grad), to_np(tt.grad), rtol=1e-14)
    with pytest.raises(ValueError, match="no identity"):
        minifcn.aminmax(Tensor(np.zeros(0)))
    assert minifcn.aminmax(Tensor(np.zeros((0, 2))), dim=1).min.shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES)
def test_var_mean_std_mean_match_pytorch(dtype, rng):
    torch = _torch()
    x = rng.standard_normal((3, 5))
    for name in ("var_mean", "std_mean"):
        for args, kwargs in (((), {}), ((1,), {"correction": 0, "keepdim": True}),
                             (((0, 1),), {}), ((0, True), {}), ((False,), {}), ((), {"dim": 0, "correction": 2})):
            t, tt = _pair(torch, x, dtype)
            (s, m), (st, mt) = getattr(minifcn, name)(t, *args, **kwargs), getattr(torch, name)(tt, *args, **kwargs)
            assert_close(s, st, dtype, f"{name} {args} {kwargs}")
            assert_close(m, mt, dtype, f"{name} {args} {kwargs}")
            g1, g2 = rng.standard_normal(tuple(st.shape)).astype(dtype), rng.standard_normal(tuple(mt.shape)).astype(dtype)
            (s * Tensor(g1) + m * Tensor(g2)).sum().backward()
            (st * torch.from_numpy(g1) + mt * torch.from_numpy(g2)).sum().backward()
            assert_close(t.grad, tt.grad, dtype, f"grad {name}")


@pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")   # PyTorch's, at n = 0
def test_var_mean_std_mean_over_an_empty_dimension_are_nan_as_pytorch():
    torch = _torch()
    for shape, dims in (((3, 0), (1,)), ((3, 0), (None,)), ((0,), (None,)), ((2, 0, 4), ((1, 2),))):
        x = np.zeros(shape)
        for name in ("var_mean", "std_mean"):
            for keepdim in (False, True):
                ours = getattr(minifcn, name)(Tensor(x), *dims, keepdim=keepdim)
                theirs = getattr(torch, name)(torch.from_numpy(x), *dims, keepdim=keepdim)
                for o, t in zip(ours, theirs):
                    assert o.shape == tuple(t.shape) and o.dtype == np.float64, (name, shape, dims)
                    np.testing.assert_array_equal(to_np(o), to_np(t))   # NaN where PyTorch's is


def test_count_nonzero_matches_pytorch():
    torch = _torch()
    x = np.array([[0.0, NAN, 2.0], [1.0, 0.0, 0.0]])
    for dim in (None, 0, 1, (0, 1), [1]):
        y, yt = minifcn.count_nonzero(Tensor(x), dim), torch.count_nonzero(torch.from_numpy(x), dim)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        assert y.dtype == np.int64
    with pytest.raises(ValueError, match="repeats"):
        minifcn.count_nonzero(Tensor(x), (0, 0))


# --------------------------------------------------------------------- bincount, histc
def test_bincount_matches_pytorch(rng):
    torch = _torch()
    x = rng.integers(0, 6, size=20)
    for weights in (None, rng.standard_normal(20).astype(np.float32), rng.standard_normal(20),
                    rng.integers(0, 5, size=20)):
        for minlength in (0, 3, 9):
            y = minifcn.bincount(Tensor(x), None if weights is None else Tensor(weights), minlength)
            yt = torch.bincount(torch.from_numpy(x), None if weights is None else torch.from_numpy(weights),
                                minlength)
            assert y.dtype == to_np(yt).dtype
            np.testing.assert_allclose(to_np(y), to_np(yt), rtol=1e-6)
    assert minifcn.bincount(Tensor(np.zeros(0, np.int64)), minlength=2).tolist() == [0, 0]
    with pytest.raises(ValueError, match="non-negative"):
        minifcn.bincount(Tensor(np.array([0, -1])))
    with pytest.raises(ValueError, match="1-d tensor"):
        minifcn.bincount(Tensor(np.array([1.0, 2.0])))
    with pytest.raises(ValueError, match="minlength"):
        minifcn.bincount(Tensor(np.array([1])), minlength=-1)
    with pytest.raises(ValueError, match="weights"):
        minifcn.bincount(Tensor(np.array([1, 2])), Tensor(np.array([1.0])))


@pytest.mark.parametrize("dtype", DTYPES)
def test_histc_matches_pytorch_and_the_loop(dtype, rng):
    torch = _torch()
    x = rng.standard_normal(200).astype(dtype)
    for bins, lo, hi in ((10, 0, 0), (7, -1.0, 1.5), (1, 0, 0), (4, 0.5, 0.5)):
        y = minifcn.histc(Tensor(x), bins, lo, hi)
        yt = torch.histc(torch.from_numpy(x), bins, lo, hi)
        assert y.dtype == dtype
        np.testing.assert_array_equal(to_np(y), to_np(yt))
    y = minifcn.histc(Tensor(x.astype(np.float64)), 7, -1.0, 1.5)
    assert to_np(y).tolist() == naive.histc(x.astype(np.float64).tolist(), 7, -1.0, 1.5)
    np.testing.assert_array_equal(to_np(minifcn.histc(Tensor(np.array([2.0, 2.0])), 4)), [0, 0, 2, 0])
    np.testing.assert_array_equal(to_np(minifcn.histc(Tensor(np.array([1.0, NAN])), 4, 0, 2)), [0, 0, 1, 0])
    # a range whose width (or (x - min) * bins) overflows: each value in its bin by the
    # definition (PyTorch's own overflow loses them all: [0, 0, 0, 0])
    big = float(np.finfo(dtype).max)
    for lo, hi, want in ((-big, big, [0, 0, 2, 1]), (0.0, big, [2, 0, 0, 1]), (-big, 0.0, [0, 0, 0, 1])):
        y = minifcn.histc(Tensor(np.array([1.0, 2.0, big if hi else 0.0], dtype)), 4, lo, hi)
        np.testing.assert_array_equal(to_np(y), want, err_msg=f"[{lo}, {hi}]")
    with pytest.raises(ValueError, match="not finite"):
        minifcn.histc(Tensor(np.array([1.0, NAN])), 4)
    with pytest.raises(ValueError, match="larger than min"):
        minifcn.histc(Tensor(np.array([1.0])), 3, 3, 1)
    with pytest.raises(TypeError, match="float32 or float64"):
        minifcn.histc(Tensor(np.array([1, 2])))
    with pytest.raises(ValueError, match="bins"):
        minifcn.histc(Tensor(np.array([1.0])), 0)


# --------------------------------------------------------------------- searchsorted, bucketize
def test_searchsorted_matches_pytorch_and_the_loop(rng):
    torch = _torch()
    seq = np.sort(rng.integers(0, 10, size=12)).astype(np.float64)   # repeats
    values = np.concatenate([rng.integers(-1, 12, size=15).astype(np.float64), rng.standard_normal(5) * 5])
    for right in (False, True):
        y = minifcn.searchsorted(Tensor(seq), Tensor(values), right=right)
        yt = torch.searchsorted(torch.from_numpy(seq), torch.from_numpy(values), right=right)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        assert to_np(y).tolist() == [naive.searchsorted(seq.tolist(), v, right) for v in values.tolist()]
        side = minifcn.searchsorted(Tensor(seq), Tensor(values), side="right" if right else "left")
        np.testing.assert_array_equal(to_np(side), to_np(y))
    # rows: (*, n) with (*, m); a sorter; out_int32; NaN in both, where PyTorch's loop puts them
    seqs = np.sort(rng.standard_normal((2, 3, 6)), axis=-1)
    vals = rng.standard_normal((2, 3, 4))
    for right in (False, True):
        np.testing.assert_array_equal(
            to_np(minifcn.searchsorted(Tensor(seqs), Tensor(vals), right=right)),
            to_np(torch.searchsorted(torch.from_numpy(seqs), torch.from_numpy(vals), right=right)))
    unsorted = np.array([3.0, 1.0, 2.0, 5.0])
    sorter = np.argsort(unsorted)
    y = minifcn.searchsorted(Tensor(unsorted), Tensor(np.array([1.5, 4.0])), sorter=Tensor(sorter))
    yt = torch.searchsorted(torch.from_numpy(unsorted), torch.tensor([1.5, 4.0], dtype=torch.float64),
                            sorter=torch.from_numpy(sorter))
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    with_nan = np.array([1.0, 2.0, NAN])
    probe = np.array([1.5, NAN, 3.0, 2.0])
    for right in (False, True):
        np.testing.assert_array_equal(
            to_np(minifcn.searchsorted(Tensor(with_nan), Tensor(probe), right=right)),
            to_np(torch.searchsorted(torch.from_numpy(with_nan), torch.from_numpy(probe), right=right)))
    y = minifcn.searchsorted(Tensor(seq), 2.5, out_int32=True)
    assert y.shape == () and y.dtype == np.int32
    assert y.item() == torch.searchsorted(torch.from_numpy(seq), 2.5).item()
    assert minifcn.searchsorted(Tensor(np.array([1, 2, 3])), 1.5).item() == 1   # not cut to int
    assert minifcn.searchsorted(Tensor(np.zeros(0)), Tensor(np.array([1.0, 2.0]))).tolist() == [0, 0]


def test_searchsorted_with_empty_rows_as_pytorch():
    """A (2, 0) sorted_sequence (rows with no values: every index 0), and (0, 3) with (0, 2)."""
    torch = _torch()
    for seq, vals in ((np.zeros((2, 0)), np.ones((2, 2))), (np.zeros((0, 3)), np.ones((0, 2))),
                      (np.zeros((2, 1, 0)), np.ones((2, 1, 3)))):
        for right in (False, True):
            y = minifcn.searchsorted(Tensor(seq), Tensor(vals), right=right)
            yt = torch.searchsorted(torch.from_numpy(seq), torch.from_numpy(vals), right=right)
            assert y.shape == tuple(yt.shape) and y.dtype == np.int64
            np.testing.assert_array_equal(to_np(y), to_np(yt))


def test_searchsorted_bucketize_refuse_bad_arguments():
    seq = Tensor(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="side must be"):
        minifcn.searchsorted(seq, Tensor(np.array([1.0])), side="middle")
    with pytest.raises(ValueError, match="contradict"):
        minifcn.searchsorted(seq, Tensor(np.array([1.0])), side="left", right=True)
    with pytest.raises(ValueError, match="leading dimensions"):
        minifcn.searchsorted(Tensor(np.zeros((2, 3))), Tensor(np.zeros(2)))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        minifcn.searchsorted(Tensor(np.float64(1.0)), Tensor(np.zeros(2)))
    with pytest.raises(ValueError, match="boundaries must be 1-d"):
        minifcn.bucketize(Tensor(np.zeros(2)), Tensor(np.zeros((1, 3))))


def test_bucketize_matches_pytorch(rng):
    torch = _torch()
    boundaries = np.array([1.0, 2.0, 2.0, 4.0])
    x = np.array([[0.5, 1.0, 2.0], [3.0, 4.0, 9.0]])
    for right in (False, True):
        y = minifcn.bucketize(Tensor(x), Tensor(boundaries), right=right)
        yt = torch.bucketize(torch.from_numpy(x), torch.from_numpy(boundaries), right=right)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
    assert minifcn.bucketize(2.0, Tensor(boundaries)).shape == ()


# --------------------------------------------------------------------- take, masked_select, masked_scatter
def test_take_matches_pytorch_and_is_the_adjoint_of_its_scatter_add(xp, rng):
    torch = _torch()
    x = rng.standard_normal((3, 4))
    index = rng.integers(-12, 12, size=(5, 3))   # repeats and negative ones
    for dtype in DTYPES:
        t, tt = _pair(torch, x, dtype)
        y, yt = t.take(Tensor(index)), torch.take(tt, torch.from_numpy(index))
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        _backward_both(torch, y, yt, rng)
        assert_close(t.grad, tt.grad, dtype, "take grad")
    # <take(x), g> = <x, take^T g>, the transpose the backward computes
    xs, g = xp.asarray(x), xp.asarray(rng.standard_normal(index.shape))
    t = Tensor(xs, requires_grad=True)
    y = minifcn.take(t, xp.asarray(index))
    y.backward(g)
    np.testing.assert_allclose(float((y.data * g).sum()), float((xs * t.grad).sum()), rtol=1e-12)
    assert gradcheck(lambda a: minifcn.take(a, xp.asarray(index)), [xs])
    with pytest.raises(IndexError, match="-13"):
        minifcn.take(Tensor(xs), xp.asarray([-13]))
    with pytest.raises(TypeError, match="signed integer"):
        minifcn.take(Tensor(xs), xp.asarray([0.0]))
    assert minifcn.take(Tensor(xp.asarray(3.0)), xp.asarray(0)).item() == 3.0


def test_masked_select_and_masked_scatter_match_pytorch_and_are_adjoint(xp, rng):
    torch = _torch()
    x = rng.standard_normal((2, 3, 4))
    mask = rng.random((3, 1)) < 0.6   # broadcast along the last axis, and over the first
    mask[0] = True
    for dtype in DTYPES:
        t, tt = _pair(torch, x, dtype)
        y, yt = t.masked_select(mask), torch.masked_select(tt, torch.from_numpy(mask))
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        _backward_both(torch, y, yt, rng)
        assert_close(t.grad, tt.grad, dtype, "masked_select grad")
        src = rng.standard_normal(30)
        t, tt = _pair(torch, x, dtype)
        s, st = _pair(torch, src, dtype)
        y, yt = t.masked_scatter(mask, s), tt.masked_scatter(torch.from_numpy(mask), st)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        _backward_both(torch, y, yt, rng)
        assert_close(t.grad, tt.grad, dtype, "masked_scatter grad")
        assert_close(s.grad, st.grad, dtype, "masked_scatter source grad")
    # masked_select and masked_scatter into zeros are each other's transpose
    xs, m = xp.asarray(x), xp.asarray(np.broadcast_to(mask, x.shape))
    count = int(np.broadcast_to(mask, x.shape).sum())
    v = xp.asarray(rng.standard_normal(count))
    lhs = float((minifcn.masked_select(Tensor(xs), m).data * v).sum())
    rhs = float((xs * minifcn.masked_scatter(Tensor(xp.zeros(x.shape)), m, Tensor(v)).data).sum())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
    assert gradcheck(lambda a: minifcn.masked_select(a, m), [xs])
    assert gradcheck(lambda a, b: minifcn.masked_scatter(a, m, b), [xs, xp.asarray(rng.standard_normal(count + 3))])
    with pytest.raises(TypeError, match="mask must be bool"):
        minifcn.masked_select(Tensor(xs), xp.ones(x.shape, dtype=np.int64))
    with pytest.raises(ValueError, match="does not broadcast"):
        minifcn.masked_select(Tensor(xs), xp.ones((3,), dtype=bool))
    with pytest.raises(ValueError, match="at least"):
        minifcn.masked_scatter(Tensor(xs), m, Tensor(xp.zeros(count - 1)))
    with pytest.raises(TypeError, match="dtype"):
        minifcn.masked_scatter(Tensor(xs), m, Tensor(xp.zeros(count, np.float32)))
    assert minifcn.masked_select(Tensor(xp.asarray(2.0)), xp.asarray(True)).shape == (1,)


# --------------------------------------------------------------------- index_add, index_copy, index_fill
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_add_copy_fill_match_pytorch(dim, rng):
    torch = _torch()
    x = rng.standard_normal((3, 4, 5))
    n = x.shape[dim]
    index = rng.integers(0, n, size=6)              # repeats for index_add
    unique = rng.permutation(n)[:3]                 # index_copy: no repeats (PyTorch's pick is unspecified)
    for dtype in DTYPES:
        for name, idx, extra in (("index_add", index, {"alpha": 1}), ("index_add", index, {"alpha": -2.5}),
                                 ("index_copy", unique, {})):
            shape = list(x.shape)
            shape[dim] = len(idx)
            src = rng.standard_normal(shape)
            t, tt = _pair(torch, x, dtype)
            s, st = _pair(torch, src, dtype)
            y = getattr(t, name)(dim, Tensor(idx), s, **extra)
            yt = getattr(tt, name)(dim, torch.from_numpy(idx), st, **extra)
            assert_close(y, yt, dtype, name)
            _backward_both(torch, y, yt, rng)
            assert_close(t.grad, tt.grad, dtype, f"{name} input grad")
            assert_close(s.grad, st.grad, dtype, f"{name} source grad")
        # PyTorch's index_fill takes -1 forward, but its backward fails on it: n - 1 here
        fill_index = np.array([0, n - 1, 0])
        np.testing.assert_array_equal(
            to_np(Tensor(x).index_fill(dim, np.array([0, -1]), 2.0)),
            to_np(torch.from_numpy(x).index_fill(dim, torch.tensor([0, -1]), 2.0)))
        t, tt = _pair(torch, x, dtype)
        v, vt = _pair(torch, np.array(1.5), dtype)
        y, yt = t.index_fill(dim, Tensor(fill_index), v), tt.index_fill(dim, torch.from_numpy(fill_index), vt)
        np.testing.assert_array_equal(to_np(y), to_np(yt))
        _backward_both(torch, y, yt, rng)
        assert_close(t.grad, tt.grad, dtype, "index_fill input grad")
        assert_close(v.grad, vt.grad, dtype, "index_fill value grad")


def test_index_add_is_the_adjoint_of_index_select(xp, rng):
    # <index_add(0, dim, i, s), y> = <s, index_select(y, dim, i)>, repeats included
    x_shape, dim = (4, 6), 1
    index = xp.asarray(rng.integers(0, 6, size=9))
    s = xp.asarray(rng.standard_normal((4, 9)))
    y = xp.asarray(rng.standard_normal(x_shape))
    lhs = float((minifcn.index_add(Tensor(xp.zeros(x_shape)), dim, index, Tensor(s)).data * y).sum())
    rhs = float((s * minifcn.index_select(Tensor(y), dim, index).data).sum())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
    # index_copy into zeros, with no repeats, is the same pair
    once = xp.asarray(rng.permutation(6)[:4])
    lhs = float((minifcn.index_copy(Tensor(xp.zeros(x_shape)), dim, once, Tensor(s[:, :4])).data * y).sum())
    np.testing.assert_allclose(lhs, float((s[:, :4] * minifcn.index_select(Tensor(y), dim, once).data).sum()),
                               rtol=1e-12)
    x = xp.asarray(rng.standard_normal(x_shape))
    assert gradcheck(lambda a, b: minifcn.index_add(a, dim, index, b, alpha=0.5), [x, s])
    assert gradcheck(lambda a, b: minifcn.index_copy(a, 0, xp.asarray([2, 0]), b), [x, s[:2, :6]])
    assert gradcheck(lambda a, v: minifcn.index_fill(a, 1, xp.asarray([1, 4]), v), [x, xp.asarray(0.3)])


def test_index_copy_keeps_the_last_write_and_gives_it_the_gradient():
    # PyTorch's order of repeated writes is unspecified (its CPU keeps the last, as here) and
    # its backward gives every source slice the gradient; here only the one that stays
    x = Tensor(np.zeros(3), requires_grad=True)
    s = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x.index_copy(0, np.array([0, 0, 2]), s)
    y.backward(np.array([1.0, 2.0, 3.0]))
    assert y.tolist() == [2.0, 0.0, 3.0]
    assert x.grad.tolist() == [0.0, 2.0, 0.0] and s.grad.tolist() == [0.0, 1.0, 3.0]


def test_index_ops_on_0d_and_integers_and_their_errors():
    torch = _torch()
    assert minifcn.index_add(Tensor(np.float64(1.0)), 0, np.array(0), Tensor(np.float64(2.0))).item() == 3.0
    assert minifcn.index_copy(Tensor(np.float64(0.0)), 0, np.array(0), Tensor(np.float64(1.0))).item() == 1.0
    y = minifcn.index_add(Tensor(np.zeros(3, np.int64)), 0, np.array([0, 0]), Tensor(np.array([1, 2])), alpha=2)
    yt = torch.zeros(3, dtype=torch.long).index_add(0, torch.tensor([0, 0]), torch.tensor([1, 2]), alpha=2)
    np.testing.assert_array_equal(to_np(y), to_np(yt))
    x = Tensor(np.zeros((3, 2)))
    with pytest.raises(IndexError, match="index -1"):
        x.index_add(0, np.array([-1]), Tensor(np.ones((1, 2))))
    with pytest.raises(IndexError, match="index 3"):
        x.index_copy(0, np.array([3]), Tensor(np.ones((1, 2))))
    with pytest.raises(IndexError, match="-4"):
        x.index_fill(0, np.array([-4]), 1.0)
    with pytest.raises(ValueError, match=r"must be \(1, 2\)"):
        x.index_add(0, np.array([0]), Tensor(np.ones((1, 3))))
    with pytest.raises(TypeError, match="dtype float64"):
        x.index_add(0, np.array([0]), Tensor(np.ones((1, 2), np.float32)))
    with pytest.raises(ValueError, match="1-d"):
        x.index_fill(1, np.array([[0]]), 1.0)
    with pytest.raises(ValueError, match="0-d tensor"):
        x.index_fill(1, np.array([0]), Tensor(np.array([1.0])))
    with pytest.raises(TypeError, match="alpha must be an int"):
        Tensor(np.zeros(3, np.int64)).index_add(0, np.array([0]), Tensor(np.array([1])), alpha=2.5)


# --------------------------------------------------------------------- clamp with tensor bounds
def test_clamp_with_tensor_bounds_matches_pytorch(rng):
    torch = _torch()
    x = np.array([[-2.0, 0.0, 1.0, 3.0, 5.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    lo = np.array([[0.0], [1.0]])
    hi = np.array([3.0, 3.0, 0.0, 3.0, 2.0])      # below lo in column 2; equal to x in row 1
    for dtype in DTYPES:
        for bounds in ((lo, hi), (lo, None), (None, hi)):
            t, tt = _pair(torch, x, dtype)
            ours = [None if b is None else Tensor(b.astype(dtype), requires_grad=True) for b in bounds]
            theirs = [None if b is None else torch_tensor(torch, b.astype(dtype), requires_grad=True) for b in bounds]
            y, yt = t.clamp(*ours), torch.clamp(tt, *theirs)
            np.testing.assert_array_equal(to_np(y), to_np(yt))
            _backward_both(torch, y, yt, rng)
            assert_close(t.grad, tt.grad, dtype, "x grad")
            for a, b in zip(ours, theirs):
                if a is not None:
                    assert_close(a.grad, b.grad, dtype, "bound grad")
    # a NaN bound gives NaN; dtypes promote as PyTorch's
    y = minifcn.clamp(Tensor(np.array([1.0, NAN], np.float32)), Tensor(np.array([NAN, 0.0], np.float32)))
    assert np.isnan(to_np(y)).all()
    for a, b in ((np.array([1.0, 2.0], np.float32), np.array([1], np.int64)),
                 (np.array([1, 2]), np.array([1.5], np.float32)),
                 (np.array([1.0, 2.0], np.float32), np.array([1.0]))):
        assert minifcn.clamp(Tensor(a), Tensor(b)).dtype == to_np(torch.clamp(torch.from_numpy(a), torch.from_numpy(b))).dtype
    # a NumPy scalar bound is a number (the input keeps its dtype), as before
    assert Tensor(np.array([0.5, 3.0], np.float32)).clamp(np.float64(1.0)).dtype == np.float32
    with pytest.raises(TypeError, match="max must be a number, a tensor or None"):
        minifcn.clamp(Tensor(np.zeros(2)), Tensor(np.zeros(2)), "1")


def test_clamp_tensor_bounds_gradcheck(xp):
    x = distinct_values((3, 4), seed=7, xp=xp)
    lo = distinct_values((3, 1), seed=8, xp=xp) - 0.005   # off x's grid: no ties
    hi = lo + 0.0537                                        # off the grid too
    assert gradcheck(lambda a, b, c: minifcn.clamp(a, b, c), [x, lo, hi])
    assert gradcheck(lambda a, b: a.clamp(max=b), [x, hi])


def test_empty_tensors_as_pytorch():
    torch = _torch()
    z, zt = np.zeros((0, 3)), torch.zeros(0, 3, dtype=torch.float64)
    pairs = [(minifcn.nansum(Tensor(z), 0), torch.nansum(zt, 0)),
             (minifcn.nanmean(Tensor(z), 0), torch.nanmean(zt, 0)),         # 0 / 0: NaN
             (minifcn.nanmean(Tensor(z), 1), torch.nanmean(zt, 1)),
             (minifcn.take(Tensor(np.zeros(3)), np.zeros((0, 2), np.int64)),
              torch.take(torch.zeros(3, dtype=torch.float64), torch.zeros(0, 2, dtype=torch.long))),
             (minifcn.masked_select(Tensor(z), np.ones((0, 3), bool)), torch.masked_select(zt, torch.ones(0, 3, dtype=torch.bool))),
             (minifcn.index_add(Tensor(np.ones((2, 3))), 1, np.zeros(0, np.int64), Tensor(np.zeros((2, 0)))),
              torch.ones(2, 3, dtype=torch.float64).index_add(1, torch.zeros(0, dtype=torch.long), torch.zeros(2, 0, dtype=torch.float64))),
             (minifcn.histc(Tensor(np.zeros(0)), 3), torch.histc(torch.zeros(0, dtype=torch.float64), 3)),
             (minifcn.count_nonzero(Tensor(z), 0), torch.count_nonzero(zt, 0)),
             (minifcn.cummax(Tensor(z), 0).values, torch.cummax(zt, 0).values),
             (minifcn.searchsorted(Tensor(np.array([1.0, 2.0])), Tensor(np.zeros(0))),
              torch.searchsorted(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.zeros(0, dtype=torch.float64)))]
    for i, (ours, theirs) in enumerate(pairs):
        assert ours.shape == tuple(theirs.shape) and ours.dtype == to_np(theirs).dtype, i
        np.testing.assert_array_equal(to_np(ours), to_np(theirs), err_msg=str(i))


# --------------------------------------------------------------------- every backend, one body
def test_ops_give_the_same_on_every_backend(xp, rng):
    x = rng.standard_normal((3, 5))
    x[1, 2] = NAN
    results = []
    for lib in (np, xp):
        t = Tensor(lib.asarray(x), requires_grad=True)
        parts = [t.median(1).values, t.nanmedian(0).values, t.kthvalue(2, 1).values, t.mode(0).values,
                 t.cummax(1).values, t.cummin(0).values, t.nanquantile(0.3, 1), t.nansum(0), t.nanmean(1),
                 t.take(lib.asarray([0, 7, -1])), t.masked_select(lib.asarray(x > 0)),
                 t.index_add(1, lib.asarray([0, 4]), Tensor(lib.ones((3, 2)))),
                 t.clamp(Tensor(lib.zeros((3, 1))), Tensor(lib.ones(5)))]
        loss = sum((p * Tensor(lib.asarray(np.linspace(1, 2, p.size).reshape(p.shape)))).nansum() for p in parts)
        loss.backward()
        outs = [to_np(p) for p in parts] + [to_np(t.grad)]
        outs += [to_np(minifcn.searchsorted(Tensor(lib.asarray([1.0, 2.0, 3.0])), Tensor(lib.asarray(x)))),
                 to_np(minifcn.histc(Tensor(lib.asarray(np.nan_to_num(x))), 4)),
                 to_np(minifcn.bincount(Tensor(lib.asarray([0, 3, 3])))), to_np(t.count_nonzero(1))]
        results.append(outs)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)
