"""The creation functions beyond tensor/zeros/arange (empty, full_like, as_tensor, linspace,
logspace, eye, meshgrid) and the random ones (minifcn/sampling.py).

The deterministic ones are checked against PyTorch value for value; meshgrid, which is in the
graph, also against naive.meshgrid's loop, by finite differences, and by the adjoint identity.
The random ones cannot give PyTorch's values (another generator): they are checked by seed (the
same seed, the same values, on each device), by shape, dtype and range against PyTorch's, and
by distribution: moments within a stated number of standard errors, or a chi-square statistic
below its 1 - 1e-6 quantile, with a fixed seed.
"""
import math
import warnings

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
    float16, uint8, bool = np.float16, np.uint8, np.bool_

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
    "full_like_uint8_wraps_minus_one": lambda m: m.full_like(m.zeros(2, dtype=m.uint8), -1),
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
    "linspace_int_fraction_ends": lambda m: m.linspace(-1.5, 0, 4, dtype=m.int64),   # ends truncated first
    "linspace_int_fraction_end": lambda m: m.linspace(-3, 2.5, 5, dtype=m.int64),
    "linspace_int8_fractions": lambda m: m.linspace(-127.9, 126.6, 6, dtype=m.int8),
    "linspace_uint8_wraps_minus_one": lambda m: m.linspace(-1, 3, 4, dtype=m.uint8),   # -1 is 255
    "linspace_one_step_end_unchecked": lambda m: m.linspace(208.9, 300, 1, dtype=m.uint8),
    "linspace_no_step_unchecked": lambda m: m.linspace(-7, 300, 0, dtype=m.uint8),
    "logspace": lambda m: m.logspace(0, 2, 3),
    "logspace_int_fraction_end": lambda m: m.logspace(0, 2.5, 2, dtype=m.int64),
    "logspace_int_fraction_ends": lambda m: m.logspace(0.5, 2.5, 3, dtype=m.int64),
    "logspace_int_below_one": lambda m: m.logspace(-2, 2, 5, base=2, dtype=m.int64),
    "logspace_int_negative_base": lambda m: m.logspace(0, 2, 3, base=-2, dtype=m.int64),
    "logspace_one_step_not_truncated": lambda m: m.logspace(2.39, 7, 1, dtype=m.int32),
    "logspace_overflow_inf": lambda m: m.logspace(0, 40, 3),
    "logspace_float16_inf": lambda m: m.logspace(0, 40, 3, dtype=m.float16),
    "logspace_negative_base_nan": lambda m: m.logspace(0, 1, 3, base=-2),
    "logspace_zero_base": lambda m: m.logspace(-1, 1, 3, base=0),
    "logspace_base2_int": lambda m: m.logspace(0, 3, 4, base=2, dtype=m.int64),
    "logspace_float64": lambda m: m.logspace(-1, 1, 5, dtype=m.float64),
    "logspace_base": lambda m: m.logspace(0.5, 1.5, 7, base=2.5, dtype=m.float64),
    "zeros_size_keyword": lambda m: m.zeros(size=(2, 3)),
    "ones_size_keyword": lambda m: m.ones(size=[3], dtype=m.int32),
    "empty_size_keyword": lambda m: m.empty(size=(2, 0)),
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
            some = np.isfinite(b) & (b != 0)   # inf, NaN and 0: the same, exactly
            np.testing.assert_array_equal(a[~some], b[~some])
            if some.any():
                rtol = 2 * eps * (1 + np.abs(np.log(np.abs(b[some]))).max())
                np.testing.assert_allclose(a[some], b[some], rtol=rtol, atol=0)
    else:   # integers (rounded toward zero from values far from a whole number), copies: exact
        np.testing.assert_array_equal(a, b)


def test_linspace_refuses_ends_that_pytorch_fills_with_nan():
    with pytest.raises(TypeError, match="linspace: end must be a finite number, got inf"):
        minifcn.linspace(0, math.inf, 3)   # PyTorch gives [nan, nan, nan]
    with pytest.raises(TypeError, match="linspace: start must be a finite number, got nan"):
        minifcn.linspace(math.nan, 1, 3)


def test_logspace_refuses_integer_powers_past_the_dtype_and_is_quiet():
    """An integer power past the dtype is refused (PyTorch's cast gives INT64_MIN, or 1024 as
    0 in uint8); float overflow and a negative base to a fraction give inf and NaN quietly."""
    with pytest.raises(ValueError, match=r"logspace: the powers of 10 from 0 to 40 go past int64"):
        minifcn.logspace(0, 40, 3, dtype=np.int64)
    with pytest.raises(ValueError, match="logspace: the powers of 2 from 0 to 10 go past uint8"):
        minifcn.logspace(0, 10, 3, base=2, dtype=np.uint8)
    with pytest.raises(ValueError, match="go past int64 .* or are not numbers"):
        minifcn.logspace(0, 1, 3, base=-2.5, dtype=np.int64)   # (-2.5) ** 0.5: NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in (lambda: minifcn.logspace(0, 40, 3), lambda: minifcn.logspace(0, 1, 3, base=-2),
                     lambda: minifcn.logspace(0, 400, 3, dtype=np.float64), lambda: minifcn.logspace(-1, 1, 3, base=0)):
            call()


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
    (lambda m: m.linspace(0, 300, 4, dtype=m.uint8), ValueError, r"linspace: end = 300 does not fit in uint8 \(\[0, 255\]\)"),
    (lambda m: m.linspace(-0.5, 3, 4, dtype=m.uint8), ValueError, "linspace: start = -0.5 does not fit in uint8"),
    (lambda m: m.linspace(-128.9, 0, 4, dtype=m.int8), ValueError, "linspace: start = -128.9 does not fit in int8"),
    (lambda m: m.linspace(300, 0, 1, dtype=m.uint8), ValueError, "linspace: start = 300 does not fit in uint8"),
    (lambda m: m.linspace(0, 70000, 3, dtype=m.float16), ValueError, "linspace: end = 70000 does not fit in float16"),
    (lambda m: m.linspace(0, 1, 3, dtype=m.bool), TypeError, "linspace: dtype bool is not taken"),
    (lambda m: m.logspace(0, 300, 2, base=1.01, dtype=m.uint8), ValueError, "logspace: end = 300 does not fit in uint8"),
    (lambda m: m.eye(-1), ValueError, "eye: n must be >= 0, got -1"),
    (lambda m: m.eye(2.5), TypeError, "eye: n must be an int, got 2.5"),
    (lambda m: m.eye(2, -3), ValueError, "eye: m must be >= 0, got -3"),
    (lambda m: m.empty(-1), ValueError, "negative dimensions"),
    (lambda m: m.ones(2, size=(2,)), TypeError, "ones: got the size twice"),
    (lambda m: m.full_like(m.zeros(2, dtype=m.int64), float("nan")), ValueError, "full_like: the value = nan does not fit in int64"),
    (lambda m: m.full_like(m.zeros(2, dtype=m.uint8), 300), ValueError, r"full_like: the value = 300 does not fit in uint8 \(\[0, 255\]\)"),
    (lambda m: m.full_like(m.zeros(2, dtype=m.float16), 1e6), ValueError, "full_like: the value = 1000000.0 does not fit in float16"),
    (lambda m: m.full((2,), float("inf"), dtype=m.int64), ValueError, "full: the value = inf does not fit in int64"),
    (lambda m: m.full((2,), 1e6, dtype=m.float16), ValueError, "full: the value = 1000000.0 does not fit in float16"),
    (lambda m: m.zeros(2).new_full((2,), float("inf"), dtype=m.int64), ValueError, "new_full: the value = inf does not fit"),
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


# --------------------------------------------------------------------- random: seeds
@pytest.fixture(autouse=True)
def _generators_left_as_found(monkeypatch):
    """manual_seed replaces minifcn's host generator (put back by monkeypatch) and seeds NumPy's
    global one, which plays CuPy's in tests/fakecupy.py (put back here): other tests draw on."""
    monkeypatch.setitem(backend._rng, "numpy", backend._rng["numpy"])
    state = np.random.get_state()
    yield
    np.random.set_state(state)


DRAWS = {
    "rand": lambda m, d: m.rand(40, device=d),
    "rand_float64": lambda m, d: m.rand(4, 10, dtype=m.float64, device=d),
    "randn": lambda m, d: m.randn(40, device=d),
    "randint": lambda m, d: m.randint(0, 1000, (40,), device=d),
    "rand_like": lambda m, d: m.rand_like(m.zeros(40, device=d)),
    "randn_like": lambda m, d: m.randn_like(m.zeros(40, device=d)),
    "randint_like": lambda m, d: m.randint_like(m.zeros(40, device=d), 1000),
    "randperm": lambda m, d: m.randperm(40, device=d),
    "normal": lambda m, d: m.normal(0.0, 1.0, (40,), device=d),
    "normal_tensor": lambda m, d: m.normal(m.zeros(40, device=d), 2.0),
    "bernoulli": lambda m, d: m.bernoulli(m.full((40,), 0.5, device=d)),
    "multinomial": lambda m, d: m.multinomial(m.ones(40, device=d), 40),
    "multinomial_replacement": lambda m, d: m.multinomial(m.ones(2, 40, device=d), 20, replacement=True),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_a_seed_gives_the_same_draws_again_on_each_device(name, xp):
    where = _device(xp)
    minifcn.manual_seed(3)
    a = DRAWS[name](_Names(), where)
    minifcn.manual_seed(3)
    b = DRAWS[name](_Names(), where)
    c = DRAWS[name](_Names(), where)   # the generator went on: other values
    assert isinstance(a.data, xp.ndarray) and a.device == where
    np.testing.assert_array_equal(to_np(a), to_np(b))
    assert not np.array_equal(to_np(a), to_np(c))


# --------------------------------------------------------------------- random: as PyTorch's
SHAPES = {
    "rand": lambda m: m.rand(2, 3),
    "rand_tuple": lambda m: m.rand((4,)),
    "rand_float64": lambda m: m.rand(2, dtype=m.float64),
    "rand_empty": lambda m: m.rand(0, 3),
    "randn": lambda m: m.randn(3, 1),
    "randint": lambda m: m.randint(10, (2, 3)),
    "randint_low": lambda m: m.randint(-5, 5, (4,)),
    "randint_size_keyword": lambda m: m.randint(3, size=(2,)),
    "randint_high_keyword": lambda m: m.randint(high=5, size=(3,)),
    "randint_all_keywords": lambda m: m.randint(low=2, high=5, size=(3, 1)),
    "rand_size_keyword": lambda m: m.rand(size=(2, 3)),
    "randn_size_keyword": lambda m: m.randn(size=(4,), dtype=m.float64),
    "randint_int8": lambda m: m.randint(0, 5, (3,), dtype=m.int8),
    "randint_float": lambda m: m.randint(0, 5, (3,), dtype=m.float32),
    "rand_like": lambda m: m.rand_like(m.zeros(2, 3, dtype=m.float64)),
    "randn_like": lambda m: m.randn_like(m.zeros(2)),
    "randn_like_dtype": lambda m: m.randn_like(m.zeros(2, dtype=m.int64), dtype=m.float64),
    "randint_like_int": lambda m: m.randint_like(m.zeros(2, dtype=m.int32), 5),
    "randint_like_float": lambda m: m.randint_like(m.zeros(3), 2, 5),
    "randperm": lambda m: m.randperm(5),
    "randperm_float": lambda m: m.randperm(4, dtype=m.float64),
    "randperm_empty": lambda m: m.randperm(0),
    "normal_numbers": lambda m: m.normal(2.0, 3.0, (2, 2)),
    "normal_broadcast": lambda m: m.normal(m.zeros(3, 1), m.ones(4)),
    "normal_std_tensor": lambda m: m.normal(2.0, m.ones(3, dtype=m.float64)),
    "normal_mean_tensor": lambda m: m.normal(m.zeros(2, dtype=m.float64)),
    "normal_mean_dtype": lambda m: m.normal(m.zeros(3), m.ones(3, dtype=m.float64)),
    "bernoulli": lambda m: m.bernoulli(m.full((2, 3), 0.3)),
    "bernoulli_p": lambda m: m.bernoulli(m.zeros(3, dtype=m.float64), 0.5),
    "multinomial": lambda m: m.multinomial(m.ones(5), 3),
    "multinomial_rows": lambda m: m.multinomial(m.ones(2, 5), 7, True),
    "multinomial_no_rows": lambda m: m.multinomial(m.zeros(0, 3), 2, True),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_random_shapes_and_dtypes_as_pytorch_s(name):
    torch = pytest.importorskip("torch")
    ours, theirs = SHAPES[name](_Names()), SHAPES[name](torch)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == to_np(theirs).dtype
    assert not ours.requires_grad


FORCED = {   # draws with one possible outcome: PyTorch's values, whatever its generator
    "bernoulli": lambda m: m.bernoulli(m.tensor([[0.0, 1.0], [1.0, 0.0]])),
    "bernoulli_p1": lambda m: m.bernoulli(m.zeros(3, dtype=m.float64), 1.0),
    "multinomial_one_hot": lambda m: m.multinomial(m.tensor([[0.0, 0.0, 3.0], [2.0, 0.0, 0.0]]), 4, True),
    "multinomial_all": lambda m: m.multinomial(m.tensor([0.0, 5.0, 0.0]), 1),
    "normal_no_spread": lambda m: m.normal(m.tensor([1.5, -2.0]), 0.0),
    "randint_one_value": lambda m: m.randint(7, 8, (2, 2)),
    "randint_like_one_value": lambda m: m.randint_like(m.zeros(3), -2, -1),
    "randperm_one": lambda m: m.randperm(1),
}


@pytest.mark.parametrize("name", sorted(FORCED))
def test_random_values_where_only_one_outcome_can_come(name):
    torch = pytest.importorskip("torch")
    ours, theirs = FORCED[name](_Names()), FORCED[name](torch)
    assert ours.dtype == to_np(theirs).dtype
    np.testing.assert_array_equal(to_np(ours), to_np(theirs))


def test_random_values_keep_to_their_ranges(xp):
    where = _device(xp)
    u = to_np(minifcn.rand(100_000, device=where))   # float32 draws made in float32: never 1
    assert u.min() >= 0 and u.max() < 1
    r = to_np(minifcn.randint(-3, 4, (10_000,), device=where))
    assert set(r.tolist()) == set(range(-3, 4))
    big = to_np(minifcn.randint(2**62, 2**62 + 3, (1000,), device=where))   # int64 bounds: exact
    assert set(big.tolist()) == {2**62, 2**62 + 1, 2**62 + 2}
    p = to_np(minifcn.randperm(1000, device=where))
    assert sorted(p.tolist()) == list(range(1000))
    b = to_np(minifcn.bernoulli(Tensor(xp.full(1000, 0.5))))
    assert set(b.tolist()) == {0.0, 1.0}


def test_float_dtypes_hold_the_integers_drawn_as_pytorch_s():
    """randperm in a float dtype up to PyTorch's bound (2^digits + 1: every value exact) is a
    permutation; randint up to the dtype's largest value never makes inf, and past 2^digits
    (where the dtype skips integers) warns, as PyTorch's."""
    torch = pytest.importorskip("torch")
    for dtype, n in ((np.float16, 2049), (np.float32, 5000)):
        assert sorted(minifcn.randperm(n, dtype=dtype).tolist()) == list(range(n))
    for lib in (_Names(), torch):
        with pytest.warns(UserWarning, match=r"2\^11"):
            big = lib.randint(0, 65505, (1000,), dtype=lib.float16)
        assert np.isfinite(to_np(big)).all() and to_np(big).max() <= 65504
        with pytest.warns(UserWarning, match=r"2\^24"):
            lib.randint(-2**24 - 1, 0, (2,), dtype=lib.float32)


def test_random_tensors_take_requires_grad():
    for t in (minifcn.rand(2, requires_grad=True), minifcn.randn(2, requires_grad=True),
              minifcn.randperm(3, dtype=np.float32, requires_grad=True),
              minifcn.randn_like(minifcn.zeros(2), requires_grad=True)):
        assert t.requires_grad and t.is_leaf
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        minifcn.randint(3, (2,), requires_grad=True)
    mean = minifcn.zeros(3, requires_grad=True)   # PyTorch's zero gradient: here no graph
    assert not minifcn.normal(mean, 1.0).requires_grad
    assert not minifcn.bernoulli(minifcn.full((2,), 0.5, requires_grad=True)).requires_grad


RANDOM_ERRORS = [
    (lambda m: m.rand(2, dtype=m.int64), TypeError, "rand: dtype must be float32 or float64, got int64"),
    (lambda m: m.randn(2, dtype=m.int64), TypeError, "randn: dtype must be float32 or float64, got int64"),
    (lambda m: m.rand_like(m.zeros(2, dtype=m.int64)), TypeError, "rand_like: dtype must be float32 or float64"),
    (lambda m: m.randint(3, 3, (2,)), ValueError, "randint: expected low < high, got low=3 and high=3"),
    (lambda m: m.randint(300, (2,), dtype=m.int8), ValueError, r"randint: \[0, 300\) does not fit in int8"),
    (lambda m: m.randint(2.5, (2,)), TypeError, "randint: high must be an int, got 2.5"),
    (lambda m: m.randint(5), TypeError, "randint: size is required"),
    (lambda m: m.randint(size=(2,)), TypeError, "randint: high is required"),
    (lambda m: m.rand(2, size=(2,)), TypeError, "rand: got the size twice"),
    (lambda m: m.randperm(-1), ValueError, "randperm: n must be >= 0, got -1"),
    (lambda m: m.randperm(2050, dtype=m.float16), ValueError, r"randperm: n cannot be greater than 2\^11\+1 for float16"),
    (lambda m: m.randperm(2**24 + 2, dtype=m.float32), ValueError, r"randperm: n cannot be greater than 2\^24\+1 for float32"),
    (lambda m: m.randint(0, 65506, (2,), dtype=m.float16), ValueError, r"randint: \[0, 65506\) does not fit in float16"),
    (lambda m: m.randint(-65505, 0, (2,), dtype=m.float16), ValueError, r"randint: \[-65505, 0\) does not fit in float16"),
    (lambda m: m.randint_like(m.zeros(3, dtype=m.float16), 70000), ValueError, "randint_like: .* does not fit in float16"),
    (lambda m: m.normal(0.0, -1.0, (2,)), ValueError, "normal: std must be >= 0 everywhere, got -1.0"),
    (lambda m: m.normal(m.zeros(3), -1.0), ValueError, "normal: std must be >= 0 everywhere"),
    (lambda m: m.normal(0.0, 1.0), TypeError, "normal: with a number mean and std, give size"),
    (lambda m: m.bernoulli(m.tensor([0.5, 1.5])), ValueError, r"bernoulli: every probability must lie in \[0, 1\]"),
    (lambda m: m.bernoulli(m.tensor([1, 0])), TypeError, "bernoulli: expected a floating-point tensor, got int64"),
    (lambda m: m.bernoulli(m.zeros(3), 1.3), ValueError, r"bernoulli: p must be a number in \[0, 1\], got 1.3"),
    (lambda m: m.multinomial(m.zeros(3), 1), ValueError, "multinomial: every row of weights must have a positive sum"),
    (lambda m: m.multinomial(m.tensor([-1.0, 2.0, 0.0]), 1), ValueError, "multinomial: the weights must be finite and >= 0"),
    (lambda m: m.multinomial(m.tensor([1.0, math.inf]), 1), ValueError, "multinomial: the weights must be finite and >= 0"),
    (lambda m: m.multinomial(m.ones(3), 0), ValueError, "multinomial: num_samples must be an int >= 1, got 0"),
    (lambda m: m.multinomial(m.tensor([1, 2]), 1), TypeError, "multinomial: expected a floating-point tensor, got int64"),
    (lambda m: m.multinomial(m.ones(2, 2, 2), 1), ValueError, r"multinomial: expected a 1-d or 2-d tensor of weights, got shape \(2, 2, 2\)"),
    (lambda m: m.multinomial(m.ones(3), 4), ValueError, "multinomial: cannot draw 4 samples from 3 categories without replacement"),
    (lambda m: m.multinomial(m.ones(0), 1, True), ValueError, r"multinomial: no categories to draw from \(shape \(0,\)\)"),
]


@pytest.mark.parametrize("k", range(len(RANDOM_ERRORS)))
def test_bad_random_arguments_are_refused_as_pytorch_refuses_them(k):
    torch = pytest.importorskip("torch")
    call, error, message = RANDOM_ERRORS[k]
    with pytest.raises(error, match=message):
        call(_Names())
    with pytest.raises((RuntimeError, TypeError, ValueError, NotImplementedError)):
        call(torch)


# --------------------------------------------------------------------- random: distributions
# Moments within 5 standard errors, chi-square statistics below the 1 - 1e-6 quantile of their
# distribution: with the fixed seed each test is deterministic, and a correct sampler would
# fail the bound for about one seed in a million (moments: one in 1.7 million), while a bias
# of a few standard errors (a wrong bound, a missing category, a skewed shuffle) fails it.
def _chi2_bound(dof, z=4.7534):
    """The 1 - 1e-6 quantile of chi-square with ``dof`` degrees of freedom, by Wilson and
    Hilferty's cube-root normal approximation (``z``: the standard normal's 1 - 1e-6 quantile);
    within 1 % of the exact quantile for dof >= 3."""
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def _chi2(counts, probs):
    counts, probs = np.asarray(counts, np.float64), np.asarray(probs, np.float64)
    expected = counts.sum() * probs / probs.sum()
    return float(((counts - expected) ** 2 / expected).sum())


def _within(value, expected, standard_error, what):
    assert abs(value - expected) < 5 * standard_error, f"{what}: {value} vs {expected} +- 5 x {standard_error}"


N = 200_000


def test_rand_is_uniform(xp):
    minifcn.manual_seed(1)
    u = to_np(minifcn.rand(N, dtype=np.float64, device=_device(xp)))
    _within(u.mean(), 0.5, math.sqrt(1 / 12 / N), "mean")
    _within(u.var(), 1 / 12, math.sqrt((1 / 80 - 1 / 144) / N), "variance")   # E(u-1/2)^4 = 1/80
    counts = np.bincount((u * 20).astype(int), minlength=20)
    assert _chi2(counts, np.ones(20)) < _chi2_bound(19)


def test_randn_and_normal_are_normal(xp):
    minifcn.manual_seed(2)
    z = to_np(minifcn.randn(N, device=_device(xp))).astype(np.float64)
    _within(z.mean(), 0.0, 1 / math.sqrt(N), "mean")
    _within(z.var(), 1.0, math.sqrt(2 / N), "variance")
    inside = math.erf(1 / math.sqrt(2))   # P(|z| < 1) = 0.6827
    _within((np.abs(z) < 1).mean(), inside, math.sqrt(inside * (1 - inside) / N), "P(|z| < 1)")
    x = to_np(minifcn.normal(3.0, 2.0, (N,), dtype=np.float64, device=_device(xp)))
    _within(x.mean(), 3.0, 2 / math.sqrt(N), "normal's mean")
    _within(x.var(), 4.0, 4 * math.sqrt(2 / N), "normal's variance")
    mean, std = Tensor(xp.asarray([[-1.0], [5.0]])), Tensor(xp.full(N, 0.5))
    rows = to_np(minifcn.normal(mean, std))   # (2, N): mean by row, std by column
    for row, m in zip(rows, (-1.0, 5.0)):
        _within(row.mean(), m, 0.5 / math.sqrt(N), "row mean")
        _within(row.std(), 0.5, 0.5 / math.sqrt(2 * N), "row std")


def test_randint_is_uniform_over_its_range(xp):
    minifcn.manual_seed(3)
    r = to_np(minifcn.randint(-3, 4, (N,), device=_device(xp)))
    assert _chi2(np.bincount(r + 3, minlength=7), np.ones(7)) < _chi2_bound(6)
    wide = to_np(minifcn.randint(0, 2**40, (N,), device=_device(xp))).astype(np.float64)
    _within(wide.mean(), (2**40 - 1) / 2, 2**40 / math.sqrt(12 * N), "mean over [0, 2^40)")
    f = to_np(minifcn.randint_like(Tensor(xp.zeros(N)), 5, 9))
    assert _chi2(np.bincount(f.astype(int) - 5, minlength=4), np.ones(4)) < _chi2_bound(3)


def test_randperm_makes_every_order_as_likely(xp):
    minifcn.manual_seed(4)
    orders = {}
    for _ in range(6000):
        p = tuple(to_np(minifcn.randperm(3, device=_device(xp))).tolist())
        orders[p] = orders.get(p, 0) + 1
    assert len(orders) == 6 and _chi2(list(orders.values()), np.ones(6)) < _chi2_bound(5)


def test_bernoulli_draws_ones_as_often_as_asked(xp):
    minifcn.manual_seed(5)
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    draws = to_np(minifcn.bernoulli(Tensor(xp.asarray(np.tile(p, (N // 5, 1))))))
    freq = draws.mean(axis=0)
    assert freq[0] == 0 and freq[-1] == 1
    for f, q in zip(freq[1:-1], p[1:-1]):
        _within(f, q, math.sqrt(q * (1 - q) / (N // 5)), f"frequency of p={q}")
    half = to_np(minifcn.bernoulli(Tensor(xp.zeros(N)), 0.25)).mean()
    _within(half, 0.25, math.sqrt(0.25 * 0.75 / N), "frequency of p=0.25")


def test_multinomial_with_replacement_follows_the_weights(xp):
    minifcn.manual_seed(6)
    w = np.array([[1.0, 0.0, 2.0, 3.0, 4.0], [0.0, 5.0, 5.0, 0.0, 0.0]])
    drawn = to_np(minifcn.multinomial(Tensor(xp.asarray(w)), N // 2, replacement=True))
    assert drawn.shape == (2, N // 2)
    for row, weights in zip(drawn, w):
        counts = np.bincount(row, minlength=5)
        assert (counts[weights == 0] == 0).all()   # a zero weight never drawn
        nonzero = weights > 0
        assert _chi2(counts[nonzero], weights[nonzero]) < _chi2_bound(nonzero.sum() - 1)


def test_multinomial_without_replacement_draws_in_order_taken_out(xp):
    minifcn.manual_seed(7)
    w = np.array([1.0, 2.0, 3.0])
    n = 30_000
    drawn = to_np(minifcn.multinomial(Tensor(xp.asarray(np.tile(w, (n, 1)))), 3))
    assert (np.sort(drawn, axis=1) == [0, 1, 2]).all()   # each category once
    # the order (i, j, k) comes with probability w_i / W * w_j / (W - w_i): drawn one by one
    orders = [(i, j, 3 - i - j) for i in range(3) for j in range(3) if i != j]
    probs = [w[i] / w.sum() * w[j] / (w.sum() - w[i]) for i, j, _ in orders]
    counts = [int((drawn == order).all(axis=1).sum()) for order in orders]
    assert _chi2(counts, probs) < _chi2_bound(5)


def test_multinomial_without_replacement_draws_zero_weights_last(xp):
    minifcn.manual_seed(8)
    drawn = to_np(minifcn.multinomial(Tensor(xp.asarray([0.0, 1.0, 0.0, 0.0, 2.0])), 5))
    assert sorted(drawn[:2].tolist()) == [1, 4] and drawn[2:].tolist() == [0, 2, 3]


def test_multinomial_with_replacement_never_draws_past_the_last_weight(monkeypatch):
    """A draw u just below 1 takes the last category of nonzero weight: the running sums are
    divided by their own last value (1 exactly there), not by a sum added in another order
    (for these weights cumsum[-1] / sum = 1 - 9e-16: u past it drew index k, no category)."""
    w = np.random.default_rng(0).random(300)
    assert np.cumsum(w)[-1] / w.sum() < 1   # the weights that showed it
    u = np.nextafter(1.0, 0.0)
    monkeypatch.setattr(backend, "random_uniform", lambda xp, shape, dtype: xp.full(shape, u, dtype))
    for weights in (w, np.append(w, [0.0, 0.0]), np.array([0.0, 2.0, 0.0])):
        last = int(np.flatnonzero(weights)[-1])
        assert minifcn.multinomial(Tensor(weights), 3, replacement=True).tolist() == [last] * 3
        two = np.stack([weights, weights[::-1]])   # rows: one search each
        lasts = [int(np.flatnonzero(row)[-1]) for row in two]
        assert minifcn.multinomial(Tensor(two), 2, replacement=True).tolist() == [[k, k] for k in lasts]
