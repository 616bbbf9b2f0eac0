"""PyTorch's top-level function forms (minifcn/functions.py): ``minifcn.exp(x)``,
``minifcn.sum(x, 1)``, ``minifcn.unbind``, ``tensor_split``, ``hstack``, ``broadcast_tensors``,
``isclose``, ``enable_grad``, ...

Each one against PyTorch's function of the same name, called the same way (values, and the
gradient of every input for one random upstream gradient, in float64); the ones with no
method behind them (unbind, tensor_split, hstack, vstack, broadcast_to, broadcast_tensors)
also by finite differences and, being linear, by the adjoint identity; tensor_split against
naive.tensor_split's loop too.
"""
import math

import numpy as np
import pytest

import minifcn
from minifcn import Tensor, naive, no_grad
from minifcn.autograd import is_grad_enabled
from minifcn.testing import gradcheck
from oracle import to_np, torch_tensor

# name -> (call(lib, *tensors), shapes of the inputs, positive inputs?)
CALLS = {
    "exp": (lambda m, a: m.exp(a), [(3, 4)], False),
    "log": (lambda m, a: m.log(a), [(3, 4)], True),
    "sqrt": (lambda m, a: m.sqrt(a), [(3, 4)], True),
    "abs": (lambda m, a: m.abs(a), [(3, 4)], False),
    "clamp": (lambda m, a: m.clamp(a, -0.5, 0.5), [(3, 4)], False),
    "clamp_min": (lambda m, a: m.clamp(a, min=0.1), [(3, 4)], False),
    "sigmoid": (lambda m, a: m.sigmoid(a), [(3, 4)], False),
    "tanh": (lambda m, a: m.tanh(a), [(3, 4)], False),
    "relu": (lambda m, a: m.relu(a), [(3, 4)], False),
    "reshape": (lambda m, a: m.reshape(a, (4, 3)), [(3, 4)], False),
    "reshape_minus_one": (lambda m, a: m.reshape(a, (-1,)), [(3, 4)], False),
    "flatten": (lambda m, a: m.flatten(a, 1), [(2, 3, 4)], False),
    "flatten_range": (lambda m, a: m.flatten(a, 0, 1), [(2, 3, 4)], False),
    "squeeze": (lambda m, a: m.squeeze(a), [(3, 1, 4, 1)], False),
    "squeeze_dim": (lambda m, a: m.squeeze(a, 1), [(3, 1, 4, 1)], False),
    "squeeze_dims": (lambda m, a: m.squeeze(a, (1, 3)), [(3, 1, 4, 1)], False),
    "unsqueeze": (lambda m, a: m.unsqueeze(a, -1), [(3, 4)], False),
    "transpose": (lambda m, a: m.transpose(a, 0, 2), [(2, 3, 4)], False),
    "permute": (lambda m, a: m.permute(a, (2, 0, 1)), [(2, 3, 4)], False),
    "split": (lambda m, a: m.split(a, 2, 1), [(3, 5)], False),
    "split_sizes": (lambda m, a: m.split(a, [1, 4], dim=1), [(3, 5)], False),
    "chunk": (lambda m, a: m.chunk(a, 3, 1), [(3, 5)], False),
    "unbind": (lambda m, a: m.unbind(a), [(3, 4)], False),
    "unbind_dim": (lambda m, a: m.unbind(a, -1), [(2, 3, 4)], False),
    "tensor_split": (lambda m, a: m.tensor_split(a, 3, 1), [(2, 7)], False),
    "tensor_split_more_than_n": (lambda m, a: m.tensor_split(a, 4), [(3, 2)], False),
    "tensor_split_indices": (lambda m, a: m.tensor_split(a, [1, -1, 9], dim=1), [(2, 7)], False),
    "tensor_split_backwards": (lambda m, a: m.tensor_split(a, [5, 2], 1), [(2, 7)], False),
    "max": (lambda m, a: m.max(a), [(3, 4)], False),
    "max_dim": (lambda m, a: m.max(a, 1), [(3, 4)], False),
    "max_keepdim": (lambda m, a: m.max(a, 0, True), [(3, 4)], False),
    "max_other": (lambda m, a, b: m.max(a, b), [(3, 4), (4,)], False),
    "min": (lambda m, a: m.min(a), [(3, 4)], False),
    "min_dim": (lambda m, a: m.min(a, dim=-1, keepdim=True), [(3, 4)], False),
    "min_other": (lambda m, a, b: m.min(a, b), [(3, 4), (3, 1)], False),
    "amax": (lambda m, a: m.amax(a), [(3, 4)], False),
    "amax_dims": (lambda m, a: m.amax(a, (0, 2)), [(2, 3, 4)], False),
    "amin_keepdim": (lambda m, a: m.amin(a, 1, True), [(3, 4)], False),
    "sum": (lambda m, a: m.sum(a), [(3, 4)], False),
    "sum_dim": (lambda m, a: m.sum(a, 0), [(3, 4)], False),
    "sum_keepdim": (lambda m, a: m.sum(a, dim=(0, 2), keepdim=True), [(2, 3, 4)], False),
    "mean": (lambda m, a: m.mean(a), [(3, 4)], False),
    "mean_dim": (lambda m, a: m.mean(a, 1, True), [(3, 4)], False),
    "std": (lambda m, a: m.std(a), [(3, 4)], False),
    "std_dim": (lambda m, a: m.std(a, 1), [(3, 4)], False),
    "std_correction": (lambda m, a: m.std(a, 1, correction=0, keepdim=True), [(3, 4)], False),
    "std_unbiased_false": (lambda m, a: m.std(a, 0, False), [(3, 4)], False),
    "var": (lambda m, a: m.var(a), [(3, 4)], False),
    "var_dims": (lambda m, a: m.var(a, (0, 1), keepdim=True), [(2, 3, 4)], False),
    "norm": (lambda m, a: m.norm(a), [(3, 4)], False),
    "norm_p1_dim": (lambda m, a: m.norm(a, 1, 1), [(3, 4)], False),
    "norm_dim": (lambda m, a: m.norm(a, dim=0, keepdim=True), [(3, 4)], False),
    "norm_inf": (lambda m, a: m.norm(a, math.inf, 1), [(3, 4)], False),
    "norm_p3": (lambda m, a: m.norm(a, 3), [(3, 4)], False),
    "concat": (lambda m, a, b: m.concat([a, b], 1), [(2, 3), (2, 4)], False),
    "concat_default": (lambda m, a, b: m.concat((a, b)), [(2, 3), (1, 3)], False),
    "concatenate": (lambda m, a, b: m.concatenate([a, b], axis=-1), [(2, 3), (2, 1)], False),
    "hstack_1d": (lambda m, a, b: m.hstack([a, b]), [(3,), (2,)], False),
    "hstack_2d": (lambda m, a, b: m.hstack([a, b]), [(2, 1), (2, 3)], False),
    "hstack_3d": (lambda m, a, b: m.hstack([a, b]), [(2, 1, 3), (2, 2, 3)], False),
    "hstack_0d": (lambda m, a, b: m.hstack([a, b]), [(), ()], False),
    "vstack_1d": (lambda m, a, b: m.vstack([a, b]), [(3,), (3,)], False),
    "vstack_mixed": (lambda m, a, b: m.vstack([a, b]), [(3,), (2, 3)], False),
    "vstack_0d": (lambda m, a, b: m.vstack([a, b]), [(), ()], False),
    "vstack_3d": (lambda m, a, b: m.vstack([a, b]), [(1, 2, 2), (3, 2, 2)], False),
    "broadcast_to": (lambda m, a: m.broadcast_to(a, (2, 3, 4)), [(3, 1)], False),
    "broadcast_to_keep": (lambda m, a: m.broadcast_to(a, (-1, 4)), [(3, 1)], False),
    "broadcast_tensors": (lambda m, a, b, c: m.broadcast_tensors(a, b, c), [(3, 1), (4,), (2, 1, 1)], False),
}


def _outputs(y):
    """The float outputs of a call: one tensor, or those of a tuple (values of (values, indices))."""
    ys = list(y) if isinstance(y, (tuple, list)) else [y]
    return [t for t in ys if to_np(t).dtype.kind == "f"], ys


@pytest.mark.parametrize("name", sorted(CALLS))
def test_function_as_pytorch_s(name, rng):
    torch = pytest.importorskip("torch")
    call, shapes, positive = CALLS[name]
    arrays = [rng.standard_normal(s) for s in shapes]   # tie-free: max, min, abs, clamp
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch_tensor(torch, a, requires_grad=True) for a in arrays]
    y, yt = call(minifcn, *ours), call(torch, *theirs)
    (floats, every), (floats_t, every_t) = _outputs(y), _outputs(yt)
    assert len(every) == len(every_t)
    for a, b in zip(every, every_t):   # values, and the int64 indices of max/min too
        assert a.shape == tuple(b.shape) and a.dtype == to_np(b).dtype
        np.testing.assert_allclose(to_np(a), to_np(b), rtol=1e-12, atol=1e-12)
    upstream = [rng.standard_normal(t.shape) for t in floats]
    total, total_t = None, 0
    for t, tt, u in zip(floats, floats_t, upstream):
        term = (t * u).sum()
        total = term if total is None else total + term
        total_t = total_t + (tt * torch.from_numpy(u)).sum()
    total.backward()
    total_t.backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, to_np(b.grad), rtol=1e-12, atol=1e-12)


def test_functions_are_the_methods(rng):
    """The function form gives what the method gives (the method's own tests then hold)."""
    x = Tensor(rng.standard_normal((3, 4)))
    for f, method in [(minifcn.exp(x), x.exp()), (minifcn.sum(x, 1, True), x.sum(dim=1, keepdim=True)),
                      (minifcn.std(x, 0), x.std(0)), (minifcn.permute(x, (1, 0)), x.permute(1, 0)),
                      (minifcn.clamp(x, max=0.0), x.clamp(max=0.0))]:
        np.testing.assert_array_equal(f.numpy(), method.numpy())


def test_reductions_cast_to_the_dtype_asked():
    torch = pytest.importorskip("torch")
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    for name, ours, theirs in [
            ("sum", minifcn.sum(Tensor(x), 1, dtype=np.float64), torch.sum(torch.from_numpy(x), 1, dtype=torch.float64)),
            ("mean", minifcn.mean(Tensor(x), dtype=np.float64), torch.mean(torch.from_numpy(x), dtype=torch.float64)),
            ("norm", minifcn.norm(Tensor(x.astype(np.float32)), dtype=np.float64),   # PyTorch's takes floats only
             torch.norm(torch.from_numpy(x.astype(np.float32)), dtype=torch.float64))]:
        assert ours.dtype == to_np(theirs).dtype == np.float64, name
        np.testing.assert_allclose(to_np(ours), to_np(theirs), rtol=1e-12)


# --------------------------------------------------------------------- the ones with no method
LINEAR = {   # name -> (call returning one Tensor, shapes)
    "unbind": (lambda a: minifcn.stack(minifcn.unbind(a, 1), 0), [(2, 3, 2)]),
    "tensor_split": (lambda a: minifcn.cat([p * (k + 1.0) for k, p in enumerate(minifcn.tensor_split(a, 3, 1))], 1), [(2, 7)]),
    "tensor_split_indices": (lambda a: minifcn.cat(minifcn.tensor_split(a, [4, 1, 3]), 0), [(5, 2)]),
    "hstack": (lambda a, b: minifcn.hstack([a, b]), [(2, 1), (2, 3)]),
    "vstack": (lambda a, b: minifcn.vstack([a, b]), [(3,), (2, 3)]),
    "broadcast_to": (lambda a: minifcn.broadcast_to(a, (2, 3, 4)), [(3, 1)]),
    "broadcast_tensors": (lambda a, b: minifcn.cat(minifcn.broadcast_tensors(a, b), 0), [(3, 1), (4,)]),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_gradient_by_differences_and_adjoint(name, rng):
    call, shapes = LINEAR[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    assert gradcheck(call, arrays)
    # linear: <A x, y> = <x, A^T y>, with A^T y the backward of y
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = call(*xs)
    y = rng.standard_normal(out.shape)
    out.backward(y)
    lhs = float((out.numpy() * y).sum())
    rhs = sum(float((a * x.grad).sum()) for a, x in zip(arrays, xs))
    assert abs(lhs - rhs) < 1e-10


@pytest.mark.parametrize("cuts, dim", [(3, 1), (1, 0), (7, 1), (9, 1), ([2, 5], 1), ([-2, 1, 9], 1),
                                       ([5, 2], 1), ([], 0), ([0, 0, 2], 0)])
def test_tensor_split_as_the_loop(cuts, dim, rng):
    x = rng.standard_normal((2, 7))
    ours = minifcn.tensor_split(Tensor(x), cuts, dim)
    loops = naive.tensor_split(x, cuts, dim)
    assert len(ours) == len(loops)
    for a, b in zip(ours, loops):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b)


def test_tensor_split_takes_a_tensor_of_cuts():
    torch = pytest.importorskip("torch")
    x = np.arange(7)
    for cuts in (np.array(2), np.array([2, 3])):
        ours = minifcn.tensor_split(Tensor(x), Tensor(cuts))
        theirs = torch.tensor_split(torch.from_numpy(x), torch.from_numpy(cuts))
        assert [t.tolist() for t in ours] == [t.tolist() for t in theirs]


def test_functions_on_the_device(xp):
    x = Tensor(xp.arange(12.0).reshape(3, 4), requires_grad=True)
    pieces = minifcn.tensor_split(x, [1, 3], 1) + minifcn.unbind(x) + minifcn.broadcast_tensors(x, Tensor(xp.ones(4)))
    joined = [minifcn.hstack([x, x]), minifcn.vstack([x, x]), minifcn.sum(x, 1), minifcn.max(x, 0).values]
    for t in pieces + tuple(joined):
        assert isinstance(t.data, xp.ndarray)
    minifcn.sum(minifcn.hstack(minifcn.unbind(x, 1)) * 2.0).backward()
    assert isinstance(x.grad, xp.ndarray) and to_np(x.grad).tolist() == [[2.0] * 4] * 3
    close = minifcn.isclose(x, x + 1e-9)
    assert isinstance(close.data, xp.ndarray) and to_np(close).all()


# --------------------------------------------------------------------- comparisons, types
def test_isclose_numel_is_tensor_as_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([1.0, 2.0, np.nan, 1e-9, 100.0])
    b = np.array([1.0 + 1e-6, 2.1, np.nan, 0.0, 100.001])
    for kw in ({}, {"equal_nan": True}, {"rtol": 1e-7, "atol": 0.0}, {"atol": 1e-3}):
        ours = minifcn.isclose(Tensor(a), Tensor(b), **kw)
        theirs = torch.isclose(torch.from_numpy(a), torch.from_numpy(b), **kw)
        assert ours.dtype == np.bool_ and ours.tolist() == theirs.tolist(), kw
    i = np.array([1, 2, 3])
    assert minifcn.isclose(Tensor(i), Tensor(i[::-1].copy())).tolist() == torch.isclose(
        torch.from_numpy(i), torch.from_numpy(i[::-1].copy())).tolist()
    assert minifcn.numel(Tensor(np.zeros((2, 3)))) == torch.numel(torch.zeros(2, 3)) == 6
    for obj in (Tensor(np.zeros(1)), np.zeros(1), [1.0], 1.0):
        theirs = torch.is_tensor(torch.zeros(1) if isinstance(obj, Tensor) else obj)
        assert minifcn.is_tensor(obj) == theirs


ERRORS = [
    (lambda m, t: m.exp([1.0]), TypeError, "exp: expected a Tensor, got list"),
    (lambda m, t: m.permute(t(np.zeros((2, 3))), 0), TypeError, "permute: dims must be a tuple of ints, got 0"),
    (lambda m, t: m.unbind(t(np.array(1.0))), (ValueError, IndexError), "unbind: a 0-d tensor has no axis"),
    (lambda m, t: m.unbind(t(np.zeros(2)), 1), IndexError, "unbind"),
    (lambda m, t: m.tensor_split(t(np.zeros(3)), 0), ValueError, "tensor_split: sections must be >= 1, got 0"),
    (lambda m, t: m.tensor_split(t(np.zeros(3)), t(np.array([1.5]))), TypeError,
     r"tensor_split: a tensor of indices or sections must be 0-d or 1-d integers, got float64 of shape \(1,\)"),
    (lambda m, t: m.broadcast_tensors(t(np.zeros(2)), t(np.zeros(3))), ValueError,
     r"broadcast_tensors: shapes \(2,\), \(3,\) do not broadcast"),
    (lambda m, t: m.broadcast_to(t(np.zeros(3)), (2, 4)), ValueError, "expand: size 4 at dimension 1 does not fit"),
    (lambda m, t: m.isclose(t(np.zeros(2)), t(np.zeros(2, np.float32))), TypeError,
     "isclose: the tensors' dtypes differ, float64 and float32"),
    (lambda m, t: m.isclose(t(np.zeros(2)), 0.0), TypeError, "isclose: other must be a Tensor, got float"),
    (lambda m, t: m.isclose(t(np.ones(2)), t(np.ones(2)), rtol=-1), ValueError, "isclose: rtol must be >= 0, got -1"),
    (lambda m, t: m.isclose(t(np.ones(2)), t(np.ones(2)), atol=-1e-3), ValueError, "isclose: atol must be >= 0, got -0.001"),
    (lambda m, t: m.isclose(t(np.ones(2)), t(np.ones(2)), rtol=math.nan), ValueError, "isclose: rtol must be >= 0, got nan"),
    (lambda m, t: m.hstack([]), ValueError, "cat: expected at least one tensor"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_bad_arguments_are_refused_as_pytorch_refuses_them(k):
    torch = pytest.importorskip("torch")
    call, error, message = ERRORS[k]
    with pytest.raises(error, match=message):
        call(minifcn, Tensor)
    with pytest.raises((RuntimeError, TypeError, ValueError, IndexError)):
        call(torch, lambda a: torch.from_numpy(a))


def test_isclose_refuses_two_devices(gpu):
    with pytest.raises(ValueError, match="isclose: the tensors are on cuda and cpu"):
        minifcn.isclose(Tensor(gpu.zeros(2)), Tensor(np.zeros(2)))


# --------------------------------------------------------------------- enable_grad
def test_enable_grad_records_inside_no_grad_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib, leaf in ((minifcn, minifcn.ones(2, requires_grad=True)), (torch, torch.ones(2, requires_grad=True))):
        with lib.no_grad():
            with lib.enable_grad():
                inside = leaf * 2
            after = leaf * 2
        assert inside.requires_grad and not after.requires_grad, lib.__name__
    assert is_grad_enabled()


def test_enable_grad_decorates_with_or_without_the_call():
    x = minifcn.ones(2, requires_grad=True)

    @minifcn.enable_grad()
    def called(t):
        assert is_grad_enabled()
        return t * 2

    @minifcn.enable_grad
    def bare(t):
        """doubles"""
        return t * 2

    with no_grad():
        assert called(x).requires_grad and bare(x).requires_grad
        assert not is_grad_enabled()   # the mode before came back
    assert bare.__name__ == "bare" and bare.__doc__ == "doubles"
    with pytest.raises(TypeError, match="enable_grad: a decorator takes a function, got int"):
        minifcn.enable_grad()(3)


def test_enable_grad_puts_the_mode_back_after_an_error_and_when_nested():
    mode = minifcn.enable_grad()
    with no_grad():
        with pytest.raises(ZeroDivisionError):
            with mode:
                1 / 0
        assert not is_grad_enabled()
        with mode:   # the same object entered again inside itself
            with no_grad():
                with mode:
                    assert is_grad_enabled()
                assert not is_grad_enabled()
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


# --------------------------------------------------------------------- dtypes as PyTorch's
INT_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64"]


@pytest.mark.parametrize("dtype", INT_DTYPES + ["float16", "float32", "float64"])
def test_reductions_of_integers_are_int64_as_pytorch_s(dtype):
    """sum, prod, cumsum and nansum of bools and integers are int64 (NumPy's sum of uint8 is
    uint64, and 1 - 5 then wraps); floats keep their dtype; ``dtype=`` keeps the one asked for."""
    torch = pytest.importorskip("torch")
    a = np.array([[1, 0, 1], [1, 1, 0]]).astype(dtype)
    x, t = Tensor(a), torch.from_numpy(a)
    for name, ours, theirs in [
            ("sum", minifcn.sum(x), torch.sum(t)), ("sum dim", minifcn.sum(x, 1), torch.sum(t, 1)),
            ("Tensor.sum", x.sum(), t.sum()), ("Tensor.sum dim", x.sum(dim=0, keepdim=True), t.sum(dim=0, keepdim=True)),
            ("prod", minifcn.prod(x), torch.prod(t)), ("Tensor.prod", x.prod(1), t.prod(1)),
            ("cumsum", minifcn.cumsum(x, 1), torch.cumsum(t, 1)), ("Tensor.cumsum", x.cumsum(0), t.cumsum(0)),
            ("nansum", minifcn.nansum(x), torch.nansum(t)), ("Tensor.nansum", x.nansum(1), t.nansum(1))]:
        assert ours.dtype == to_np(theirs).dtype, name
        np.testing.assert_array_equal(to_np(ours), to_np(theirs), err_msg=name)
    u = Tensor(np.array([1, 2], dtype=np.uint8))
    assert (minifcn.sum(u) - 5).item() == (torch.sum(torch.tensor([1, 2], dtype=torch.uint8)) - 5).item() == -2


def test_sum_keeps_the_dtype_asked_as_pytorch_s():
    torch = pytest.importorskip("torch")
    a = np.array([200, 100], dtype=np.uint8)
    for dtype, tdtype in [(np.uint8, torch.uint8), (np.int16, torch.int16), (np.bool_, torch.bool),
                          (np.float64, torch.float64)]:
        for ours, theirs in [(minifcn.sum(Tensor(a), dtype=dtype), torch.sum(torch.from_numpy(a), dtype=tdtype)),
                             (Tensor(a).sum(dtype=dtype), torch.from_numpy(a).sum(dtype=tdtype))]:
            assert ours.dtype == to_np(theirs).dtype and ours.tolist() == theirs.tolist(), dtype


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_exp_log_sqrt_sigmoid_tanh_of_integers_are_float32_as_pytorch_s(dtype):
    """NumPy's ufuncs give float16 for int8, uint8 and bool and float64 for int32 and int64;
    PyTorch's (and exp2, log2 here) give float32, its default dtype."""
    torch = pytest.importorskip("torch")
    a = np.array([1, 2, 1, 12, 3]).astype(dtype)   # no 0: log(0) warns in both
    x, t = Tensor(a), torch.from_numpy(a)
    for name in ("exp", "log", "sqrt", "sigmoid", "tanh"):
        for ours, theirs in [(getattr(minifcn, name)(x), getattr(torch, name)(t)),
                             (getattr(x, name)(), getattr(t, name)())]:
            assert ours.dtype == to_np(theirs).dtype == np.float32, (name, dtype)
            np.testing.assert_allclose(to_np(ours), to_np(theirs), rtol=1e-6, err_msg=name)


def test_exp_and_log_of_floats_take_the_input_itself():
    """No cast nor copy on the float path: the Function's input is the tensor's own array."""
    for dtype in (np.float16, np.float32, np.float64):
        x = Tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
        for y in (x.exp(), x.log(), minifcn.exp(x), minifcn.log(x)):
            assert y.dtype == dtype and y.creator.inputs[0] is x


def test_clamp_of_integers_by_a_float_bound_is_float32_as_pytorch_s():
    torch = pytest.importorskip("torch")
    cases = [({"min": 1.5}, np.int64), ({"max": 2.5}, np.int64), ({"min": 2, "max": 2.5}, np.int8),
             ({"min": 2.0}, np.int32), ({"min": np.float64(1.5)}, np.uint8), ({"min": 0.5}, np.bool_),
             ({"min": 0}, np.bool_), ({"min": 1, "max": 2}, np.int16), ({"max": 1.5}, np.float16)]
    for kw, dtype in cases:
        a = np.array([1, 2, 3]).astype(dtype)
        for ours, theirs in [(minifcn.clamp(Tensor(a), **kw), torch.clamp(torch.from_numpy(a), **kw)),
                             (Tensor(a).clamp(**kw), torch.from_numpy(a).clamp(**kw))]:
            assert ours.dtype == to_np(theirs).dtype, (kw, dtype)
            assert ours.tolist() == theirs.tolist(), (kw, dtype)
    with pytest.raises(TypeError, match="clamp: bool tensors with bool bounds"):
        Tensor(np.array([True])).clamp(min=True)
    with pytest.raises((RuntimeError, NotImplementedError)):
        torch.tensor([True]).clamp(min=True)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_mean_of_integers_is_refused_as_pytorch_s(dtype):
    torch = pytest.importorskip("torch")
    a = np.array([1, 0, 1]).astype(dtype)
    with pytest.raises(RuntimeError, match="mean"):
        torch.mean(torch.from_numpy(a))
    for call in (lambda: minifcn.mean(Tensor(a)), lambda: Tensor(a).mean(), lambda: Tensor(a).mean(dim=0)):
        with pytest.raises(TypeError, match=f"mean: expected a floating-point tensor, got {np.dtype(dtype)}"):
            call()
    ours, theirs = Tensor(a).mean(dtype=np.float32), torch.from_numpy(a).mean(dtype=torch.float32)
    assert ours.dtype == np.float32 and ours.item() == pytest.approx(theirs.item())


KEYWORD_FORMS = {   # name -> call(lib, x): PyTorch's documented keyword forms
    "max other=": lambda m, x: m.max(x, other=x * 0.5),
    "min other=": lambda m, x: m.min(x, other=x * 0.5),
    "tensor_split indices=": lambda m, x: m.tensor_split(x, indices=[1, 3], dim=1),
    "tensor_split sections=": lambda m, x: m.tensor_split(x, sections=3, dim=1),
    "tensor_split tensor_indices_or_sections=": lambda m, x: m.tensor_split(
        x, tensor_indices_or_sections=m.tensor([1, 2]), dim=1),
    "concatenate dim=": lambda m, x: m.concatenate([x, x], dim=1),
    "concatenate axis=": lambda m, x: m.concatenate([x, x], axis=1),
    "concat axis=": lambda m, x: m.concat([x, x], axis=1),
    "sum axis=": lambda m, x: m.sum(x, axis=0),
    "sum axis= keepdims=": lambda m, x: m.sum(x, axis=1, keepdims=True),
}


@pytest.mark.parametrize("name", sorted(KEYWORD_FORMS))
def test_keyword_forms_pytorch_documents(name, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 4))
    ours, theirs = KEYWORD_FORMS[name](minifcn, Tensor(a)), KEYWORD_FORMS[name](torch, torch.from_numpy(a))
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(to_np(o), to_np(t), err_msg=name)


def test_keyword_forms_given_twice_are_refused():
    x = minifcn.ones(2, 4)
    for call, message in [(lambda: minifcn.max(x, 1, other=x), "max: give dim or other, not both"),
                          (lambda: minifcn.tensor_split(x, 2, sections=2), "tensor_split: give the indices"),
                          (lambda: minifcn.tensor_split(x), "tensor_split: give the indices"),
                          (lambda: minifcn.tensor_split(x, sections=[1]), "tensor_split: sections must be an int"),
                          (lambda: minifcn.concatenate([x], 1, dim=1), "concatenate: give axis or dim, not both"),
                          (lambda: minifcn.sum(x, 0, axis=0), "sum: give axis or dim, not both")]:
        with pytest.raises(TypeError, match=message):
            call()


DECORATORS = {   # name -> (decorator of lib, the grad mode it sets)
    "enable_grad()": (lambda m: m.enable_grad(), True),
    "enable_grad": (lambda m: m.enable_grad, True),
    "no_grad()": (lambda m: m.no_grad(), False),
    "no_grad": (lambda m: m.no_grad, False),
    "set_grad_enabled(True)": (lambda m: m.set_grad_enabled(True), True),
    "set_grad_enabled(False)": (lambda m: m.set_grad_enabled(False), False),
    "inference_mode()": (lambda m: m.inference_mode(), False),
    "inference_mode": (lambda m: m.inference_mode, False),
    "inference_mode(False)": (lambda m: m.inference_mode(False), True),   # grad on, as PyTorch's
}


@pytest.mark.parametrize("name", sorted(DECORATORS))
@pytest.mark.parametrize("outside", [True, False])
def test_grad_mode_decorators_on_generators_as_pytorch_s(name, outside):
    """The decorated generator's body runs in the mode at every resumption (next, send, throw)
    and the caller's mode holds between them, as PyTorch's (a with around the call alone ends
    before the body runs)."""
    torch = pytest.importorskip("torch")
    seen = {}
    for lib in (minifcn, torch):
        x = lib.ones(2, requires_grad=True)
        decorate, mode = DECORATORS[name]
        with lib.set_grad_enabled(outside):
            @decorate(lib)
            def steps(t):
                sent = yield t * 2
                try:
                    yield t * sent
                except KeyError:
                    yield t * 3
                return "done"

            @decorate(lib)
            def plain(t):
                return t * 2

            gen, record = steps(x), []
            record.append(next(gen).requires_grad)
            record.append(lib.is_grad_enabled())   # the caller's mode between resumptions
            record.append(gen.send(5.0).requires_grad)
            record.append(gen.throw(KeyError()).requires_grad)
            with pytest.raises(StopIteration) as stop:
                next(gen)
            record += [stop.value.value, lib.is_grad_enabled(), plain(x).requires_grad]
        assert lib.is_grad_enabled()
        seen[lib.__name__] = record
    assert seen["minifcn"] == seen["torch"] == [mode, outside, mode, mode, "done", outside, mode]


def test_grad_mode_decorator_closes_the_generator_in_its_mode():
    modes = []

    @minifcn.enable_grad()
    def steps():
        try:
            yield 1
        finally:
            modes.append(is_grad_enabled())

    with no_grad():
        gen = steps()
        next(gen)
        gen.close()
        assert modes == [True] and not is_grad_enabled()
