"""The creation functions beyond tensor/zeros/arange (empty, full_like, as_tensor, linspace,
logspace, eye, meshgrid) and the random ones (minifcn/random.py).

The deterministic ones are checked against PyTorch value for value; meshgrid, which is in the
graph, also against naive.meshgrid's loop, by finite differences, and by the adjoint identity.
The random ones cannot give PyTorch's values (another generator): they are checked by seed (the
same seed, the same values, on each device), by shape, dtype and range against PyTorch's, and
by distribution: moments within a stated number of standard errors, or a chi-square statistic
below its 1 - 1e-6 quantile, with a fixed seed.
"""
import math

import numpy as np
import pytest

import minifcn
from minifcn import Tensor, backend, naive
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor


class _Names:
    """minifcn with PyTorch's dtype names (torch.float64, ...) as NumPy's: one lambda runs on
    both libraries."""
    int8, int32, int64, float32, float64 = np.int8, np.int32, np.int64, np.float32, np.float64

    def __getattr__(self, name):
        return getattr(minifcn, name)


def _device(xp):
    return "cpu" if xp is np else "cuda"


# --------------------------------------------------------------------- deterministic, against PyTorch
MADE = {
    "full_like_int": lambda m: m.full_like(m.zeros(2, 3, dtype=m.int64), 2.7),
    "full_like_float": lambda m: m.full_like(m.zeros(2), 3),
    "full_like_dtype": lambda m: m.full_like(m.zeros(2), 1.5, dtype=m.float64),
    "full_like_bool": lambda m: m.full_like(m.zeros(3), True),
    "linspace": lambda m: m.linspace(0, 1, 7),
    "linspace_inexact": lambda m: m.linspace(-1.3, 2.71, 11),
    "linspace_down": lambda m: m.linspace(5, -5, 6),
    "linspace_one": lambda m: m.linspace(0, 1, 1),
    "linspace_none": lambda m: m.linspace(0, 1, 0),
    "linspace_flat": lambda m: m.linspace(2, 2, 3),
    "linspace_float64": lambda m: m.linspace(-0.7, 3.1, 13, dtype=m.float64),
    "linspace_many": lambda m: m.linspace(-3.3, 1000.9, 1001, dtype=m.float64),
    "linspace_int64": lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    "linspace_int32": lambda m: m.linspace(-3, 7, 5, dtype=m.int32),
    "linspace_int_down": lambda m: m.linspace(7, -8, 6, dtype=m.int64),
    "logspace": lambda m: m.logspace(0, 2, 3),
    "logspace_base2_int": lambda m: m.logspace(0, 3, 4, base=2, dtype=m.int64),
    "logspace_float64": lambda m: m.logspace(-1, 1, 5, dtype=m.float64),
    "logspace_base": lambda m: m.logspace(0.5, 1.5, 7, base=2.5, dtype=m.float64),
    "eye": lambda m: m.eye(3),
    "eye_rect": lambda m: m.eye(2, 4),
    "eye_tall": lambda m: m.eye(4, 2, dtype=m.int64),
    "eye_empty": lambda m: m.eye(0),
    "as_tensor_list": lambda m: m.as_tensor([1.5, 2.0]),
    "as_tensor_ints": lambda m: m.as_tensor([[1, 2]]),
    "as_tensor_float64_array": lambda m: m.as_tensor(np.array([0.1, 0.2])),
    "as_tensor_cast": lambda m: m.as_tensor(np.array([1.7, -2.2]), dtype=m.int32),
}


@pytest.mark.parametrize("name", sorted(MADE))
def test_made_as_pytorch_makes_it(name):
    torch = pytest.importorskip("torch")
    ours, theirs = MADE[name](_Names()), MADE[name](torch)
    assert ours.dtype == to_np(theirs).dtype and ours.shape == tuple(theirs.shape)
    a, b = to_np(ours), to_np(theirs)
    if name.startswith(("linspace", "logspace")) and a.dtype.kind == "f" and a.size:
        # PyTorch's vectorised kernel adds the step to a base every 4, 8 or 16 values (the
        # CPU's vector width) where we compute start + i * step in float64 and round once:
        # values differ by up to one unit of the largest |value| (measured over 3000 random
        # ranges: 1.01 units at most), so 2 units of max(|start|, |end|) ...
        eps = np.finfo(a.dtype).eps
        if name.startswith("linspace"):
            np.testing.assert_allclose(a, b, rtol=0, atol=2 * eps * np.abs(b).max())
        else:   # ... and base**x moves by |x ln(base)| = |ln(value)| times x's relative error
            np.testing.assert_allclose(a, b, rtol=2 * eps * (1 + np.abs(np.log(b)).max()), atol=0)
    else:   # integers (rounded toward zero from values far from a whole number), copies: exact
        np.testing.assert_array_equal(a, b)


def test_linspace_refuses_ends_that_pytorch_fills_with_nan():
    with pytest.raises(TypeError, match="linspace: end must be a finite number, got inf"):
        minifcn.linspace(0, math.inf, 3)   # PyTorch gives [nan, nan, nan]
    with pytest.raises(TypeError, match="linspace: start must be a finite number, got nan"):
        minifcn.linspace(math.nan, 1, 3)


def test_linspace_ends_exactly_and_is_even():
    t = minifcn.linspace(-1.3, 2.71, 101, dtype=np.float64).numpy()
    assert t[0] == -1.3 and t[-1] == 2.71   # the second half counts back from the end
    np.testing.assert_allclose(np.diff(t), (2.71 + 1.3) / 100, rtol=1e-12)


def test_empty_has_the_shape_and_dtype_asked(xp):
    torch = pytest.importorskip("torch")
    where = _device(xp)
    for ours, theirs in [(minifcn.empty(2, 3, device=where), torch.empty(2, 3)),
                         (minifcn.empty((4,), dtype=np.int32, device=where), torch.empty((4,), dtype=torch.int32)),
                         (minifcn.empty(0, 2, device=where), torch.empty(0, 2)),
                         (minifcn.empty_like(Tensor(xp.ones((2, 1), np.float64))), torch.empty_like(torch.ones(2, 1, dtype=torch.float64))),
                         (minifcn.empty_like(Tensor(xp.ones(3)), dtype=np.int64), torch.empty_like(torch.ones(3), dtype=torch.int64))]:
        assert ours.shape == tuple(theirs.shape) and ours.dtype == to_np(theirs).dtype
        assert isinstance(ours.data, xp.ndarray) and ours.device == where
    assert minifcn.empty(2, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        minifcn.empty(2, dtype=np.int64, requires_grad=True)


def test_new_creation_functions_go_to_the_device_asked(xp):
    where = _device(xp)
    made = [minifcn.full_like(Tensor(xp.ones(2)), 3.0), minifcn.full_like(np.ones(2), 1, device=where),
            minifcn.linspace(0, 1, 5, device=where), minifcn.logspace(0, 1, 3, device=where),
            minifcn.eye(3, device=where), minifcn.as_tensor([1.0], device=where),
            minifcn.as_tensor(xp.ones(2)), *minifcn.meshgrid(minifcn.arange(2, device=where),
                                                               minifcn.arange(3, device=where))]
    for t in made:
        assert t.device == where and isinstance(t.data, xp.ndarray)
    assert minifcn.linspace(0, 1, 3, requires_grad=True, device=where).requires_grad
    assert minifcn.eye(2, requires_grad=True, device=where).is_leaf


def test_as_tensor_shares_memory_where_it_can(xp):
    a = xp.zeros(3)
    t = minifcn.as_tensor(a)
    a[0] = 5.0
    t.data[2] = 3.0
    assert to_np(t)[0] == 5.0 and to_np(a)[2] == 3.0   # no copy: one memory
    c = minifcn.as_tensor(a, dtype=np.float32)   # another dtype: a copy
    a[1] = 7.0
    assert c.dtype == np.float32 and to_np(c).tolist() == [5.0, 0.0, 3.0]   # not the 7
    x = Tensor(xp.ones(2), requires_grad=True)
    assert minifcn.as_tensor(x) is x and minifcn.as_tensor(x, dtype=np.float64) is x
    y = minifcn.as_tensor(x, dtype=np.float32)   # a cast, in the graph (as PyTorch's .to)
    y.sum().backward()
    assert to_np(x.grad).tolist() == [1.0, 1.0] and x.grad.dtype == np.float64
    if xp is not np:   # a NumPy array sent to the device, and back: copies
        h = np.arange(3.0)
        d = minifcn.as_tensor(h, device="cuda")
        assert isinstance(d.data, xp.ndarray) and to_np(d).tolist() == [0.0, 1.0, 2.0]
        back = minifcn.as_tensor(d.data, device="cpu")
        assert type(back.data) is np.ndarray and back.numpy().tolist() == [0.0, 1.0, 2.0]


def test_as_tensor_takes_what_pytorch_takes():
    torch = pytest.importorskip("torch")
    a = np.array([1, 2], np.int32)
    ours, theirs = minifcn.as_tensor(a), torch.as_tensor(a)
    assert ours.dtype == to_np(theirs).dtype and ours.data is a
    with pytest.raises(TypeError, match="as_tensor: can't convert an array of dtype <U1"):
        minifcn.as_tensor(np.array(["a"]))


CREATION_ERRORS = [
    (lambda m: m.linspace(0, 1, -1), ValueError, "linspace: steps must be >= 0, got -1"),
    (lambda m: m.linspace(0, 1, 2.5), TypeError, "linspace: steps must be an int, got 2.5"),
    (lambda m: m.logspace(0, 1, 3, base="2"), TypeError, "logspace: base must be a finite number, got '2'"),
    (lambda m: m.eye(-1), ValueError, "eye: n must be >= 0, got -1"),
    (lambda m: m.eye(2.5), TypeError, "eye: n must be an int, got 2.5"),
    (lambda m: m.eye(2, -3), ValueError, "eye: m must be >= 0, got -3"),
    (lambda m: m.empty(-1), ValueError, "negative dimensions"),
]


@pytest.mark.parametrize("k", range(len(CREATION_ERRORS)))
def test_bad_creation_arguments_are_refused_as_pytorch_refuses_them(k):
    torch = pytest.importorskip("torch")
    call, error, message = CREATION_ERRORS[k]
    with pytest.raises(error, match=message):
        call(_Names())
    with pytest.raises((RuntimeError, TypeError, ValueError)):   # PyTorch refuses them too
        call(torch)


# --------------------------------------------------------------------- meshgrid
MESHES = [((2, 3), "ij"), ((2, 3), "xy"), ((4,), "ij"), ((4,), "xy"), ((2, 3, 4), "ij"),
          ((2, 3, 4), "xy"), ((), "xy"), ((0, 2), "ij")]


@pytest.mark.parametrize("lengths, indexing", MESHES)
def test_meshgrid_as_pytorch_and_the_loop(lengths, indexing, rng):
    torch = pytest.importorskip("torch")
    vectors = [rng.standard_normal(n) for n in lengths] if lengths else [np.array(1.5), rng.standard_normal(3)]
    leaves = [Tensor(v, requires_grad=True) for v in vectors]
    torch_leaves = [torch_tensor(torch, v, requires_grad=True) for v in vectors]
    ours = minifcn.meshgrid(*leaves, indexing=indexing)
    theirs = torch.meshgrid(*torch_leaves, indexing=indexing)
    loops = naive.meshgrid(vectors, indexing)
    assert len(ours) == len(theirs) == len(vectors)
    for g, gt, gl in zip(ours, theirs, loops):
        np.testing.assert_array_equal(to_np(g), to_np(gt))
        np.testing.assert_array_equal(to_np(g), gl)
    # gradients: each grid weighted by an upstream gradient of its own
    us = [rng.standard_normal(g.shape) for g in ours]
    _combine(ours, us).backward()
    sum((gt * torch.from_numpy(u)).sum() for gt, u in zip(theirs, us)).backward()
    for v, vt in zip(leaves, torch_leaves):
        np.testing.assert_allclose(v.grad, to_np(vt.grad), rtol=1e-12, atol=1e-12)


def _combine(grids, us=None):
    """sum_k <grid_k, u_k>: one output that every grid feeds, each through weights of its own."""
    us = us or [np.full(g.shape, k + 1.0) for k, g in enumerate(grids)]
    total = (grids[0] * us[0]).sum()
    for g, u in zip(grids[1:], us[1:]):
        total = total + (g * u).sum()
    return total


def test_meshgrid_gradient_by_differences_and_adjoint(rng):
    a, b, c = rng.standard_normal(2), rng.standard_normal(3), rng.standard_normal(4)
    for indexing in ("ij", "xy"):
        assert gradcheck(lambda a, b, c: _combine(minifcn.meshgrid([a, b, c], indexing=indexing)), [a, b, c])
        # linear in each vector: <M_k v, Y> = <v, M_k^T Y>, M_k^T Y being the backward of Y
        for k, v in enumerate((a, b, c)):
            vs = [Tensor(w, requires_grad=True) for w in (a, b, c)]
            grid = minifcn.meshgrid(*vs, indexing=indexing)[k]
            y = rng.standard_normal(grid.shape)
            grid.backward(y)
            assert abs(float((grid.numpy() * y).sum()) - float(v @ vs[k].grad)) < 1e-10


def test_meshgrid_on_the_device(xp):
    ys, xs = minifcn.meshgrid(Tensor(xp.arange(2.0)), Tensor(xp.arange(3.0)), indexing="xy")
    assert isinstance(ys.data, xp.ndarray) and ys.shape == (3, 2)
    assert to_np(ys).tolist() == [[0.0, 1.0]] * 3 and to_np(xs).tolist() == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]


def test_meshgrid_refuses_what_pytorch_refuses():
    torch = pytest.importorskip("torch")
    cases = [(lambda m, t: m.meshgrid(t(np.zeros((2, 2))), indexing="ij"), ValueError,
              r"meshgrid: expected 0-d or 1-d tensors, got shape \(2, 2\) at position 0"),
             (lambda m, t: m.meshgrid(t(np.zeros(2)), indexing="ji"), ValueError,
              "meshgrid: indexing must be 'ij' or 'xy', got 'ji'"),
             (lambda m, t: m.meshgrid(indexing="ij"), ValueError, "meshgrid: expected at least one tensor"),
             (lambda m, t: m.meshgrid(t(np.zeros(2)), t(np.zeros(2, np.int64)), indexing="ij"), TypeError,
              "meshgrid: the tensors must share one dtype and device, got float64 on cpu and int64 on cpu")]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call(minifcn, Tensor)
        with pytest.raises((RuntimeError, TypeError, ValueError)):
            call(torch, lambda a: torch.from_numpy(a))
    with pytest.raises(TypeError, match="meshgrid: expected Tensors, got list at position 1"):
        minifcn.meshgrid(minifcn.zeros(2), [1.0, 2.0])
