"""Audit of autograd.py's Functions: the adjoint identity, the check the other three leave out.

tests/test_autograd.py and tests/test_tensor_utils.py check every Function of autograd.py by
float64 finite differences and against PyTorch. Elementwise arithmetic and the shape ops have no
loop version worth the name (``a + b`` written as a loop over elements is ``a + b``), so the
fourth check, for those that are linear, is the adjoint identity: for a linear map ``A`` the
backward pass must be its transpose, ``<A x, g> = <x, A^T g>``, to 1e-10 in float64. Finite
differences of a linear map are exact too, but only to ~1e-8 (the step's rounding); this is a
dot product, so a term dropped or sent to the wrong place shows at once.

A map linear in one input only (``a * c``, ``a @ b``) is checked with the other held as a
constant. One identity more holds at every point, not only for linear maps: a function that is
positively homogeneous of degree 1 (``f(t x) = t f(x)``, t > 0: ReLU, max, abs, a norm, the
elementwise maximum of two inputs) satisfies Euler's ``<x, J^T g> = <f(x), g>``, so the same
check applies to those Functions at any input, their ties included.

The ``xp`` fixture runs each on NumPy and on the CuPy stand-in (or CuPy), where ``to("cpu")``
is a Function of its own (ToDevice).
"""
import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Function, Tensor, nn
from minifcn.testing import distinct_values, gradcheck
from oracle import to_np


def _dot(a, b):
    return float((to_np(a).astype(np.float64) * to_np(b).astype(np.float64)).sum())


def adjoint_gap(xp, rng, fn, shapes, dtype=np.float64):
    """``(<f(x), g>, sum_i <x_i, (J^T g)_i>)`` for random inputs of ``shapes`` and a random ``g``
    (one per output when ``fn`` returns several), ``J^T g`` being what backward gives."""
    xs = [Tensor(xp.asarray(rng.standard_normal(s).astype(dtype)), requires_grad=True) for s in shapes]
    ys = fn(*xs)
    ys = ys if isinstance(ys, tuple) else (ys,)
    gs = [xp.asarray(rng.standard_normal(y.shape).astype(y.dtype)) for y in ys]
    if len(ys) == 1:
        ys[0].backward(gs[0])
    else:   # several outputs: one scalar whose gradient reaches each output as its g
        sum((y * Tensor(g)).sum() for y, g in zip(ys, gs)).backward()
    lhs = sum(_dot(y.data, g) for y, g in zip(ys, gs))
    rhs = sum(_dot(x.data, x.grad) for x in xs if x.grad is not None)
    return lhs, rhs


def assert_adjoint(xp, rng, fn, shapes, rtol=1e-10, dtype=np.float64):
    lhs, rhs = adjoint_gap(xp, rng, fn, shapes, dtype)
    assert abs(lhs - rhs) <= rtol * max(1.0, abs(lhs)), (lhs, rhs)
    assert abs(lhs) > 1e-3, "a vanishing <f(x), g> would make the check empty"


# constants for the maps linear in one input: drawn once, away from zero where they divide
_C = np.random.default_rng(5).standard_normal((3, 4))
_B = np.random.default_rng(6).standard_normal((4, 2))
_COND = np.random.default_rng(7).random((3, 4)) < 0.5


def _const(like, a):
    return Tensor(minifcn.backend.get_array_module(like.data).asarray(a))


LINEAR = {   # name: (fn(*tensors), input shapes); each Function named in the comment
    "add_broadcast": (lambda a, b: a + b, [(2, 3, 4), (3, 1)]),                  # Add
    "sub_broadcast": (lambda a, b: a - b, [(2, 1, 4), (3, 4)]),                  # Sub
    "neg": (lambda a: -a, [(3, 4)]),                                             # Neg
    "mul_by_constant": (lambda a: a * _const(a, _C), [(2, 3, 4)]),              # Mul, broadcast
    "div_by_constant": (lambda a: a / _const(a, 1.5 + _C ** 2), [(3, 4)]),      # Div
    "matmul_left": (lambda a: a @ _const(a, _B), [(2, 3, 4)]),                  # MatMul, in a
    "matmul_right": (lambda b: _const(b, _C) @ b, [(2, 1, 4, 2)]),              # MatMul, in b
    "sum_all": (lambda a: a.sum(), [(2, 3, 4)]),                                 # Sum
    "sum_axis_negative": (lambda a: a.sum(axis=-2), [(2, 3, 4)]),
    "sum_axes_keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)]),
    "mean_axes": (lambda a: a.mean(dim=(0, 2)), [(2, 3, 4)]),
    "reshape": (lambda a: a.reshape(4, 6), [(2, 3, 4)]),                         # Reshape
    "permute": (lambda a: a.permute(2, 0, 1), [(2, 3, 4)]),                      # Transpose
    "permute_negative_axes": (lambda a: a.permute(0, -1, 1), [(2, 3, 4)]),
    "transpose_swap": (lambda a: a.transpose(-1, 0), [(2, 3, 4)]),
    "T": (lambda a: a.T, [(2, 3, 4)]),
    "getitem_slices": (lambda a: a[1:, ::-2, None], [(3, 5)]),                   # GetItem, basic
    "getitem_ellipsis_int": (lambda a: a[..., 1], [(2, 3, 4)]),
    "getitem_repeated_rows": (lambda a: a[np.array([0, 0, 2, 0])], [(3, 4)]),   # GetItem, advanced
    "getitem_repeated_pairs": (lambda a: a[np.array([1, 1, 0]), :, np.array([2, 2, 3])], [(2, 3, 4)]),
    "getitem_mask": (lambda a: a[_const(a, _COND).data], [(3, 4)]),
    "cat": (lambda a, b: minifcn.cat([a, b, a], dim=1), [(2, 3, 4), (2, 1, 4)]),  # Cat
    "cat_negative_dim": (lambda a, b: minifcn.cat([a, b], dim=-1), [(2, 3), (2, 2)]),
    "stack": (lambda a, b: minifcn.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    "split_all_used": (lambda a: a.split([1, 2, 1], dim=-1), [(3, 4)]),        # Split, 3 outputs
    "split_one_used": (lambda a: a.split(2, dim=0)[1], [(5, 2)]),              # the others get None
    "chunk": (lambda a: a.chunk(3, dim=1), [(2, 7)]),
    "expand": (lambda a: a.expand(2, 3, 4), [(3, 1)]),                           # Expand
    "expand_new_axes": (lambda a: a.expand(5, -1, 2), [(3, 1)]),
    "repeat": (lambda a: a.repeat(2, 3), [(2, 3)]),                              # Repeat
    "repeat_new_axes": (lambda a: a.repeat(2, 1, 2), [(3, 2)]),
    "clone": (lambda a: a.clone(), [(3, 4)]),                                    # Clone
    "where_fixed_condition": (lambda a, b: minifcn.where(_const(a, _COND), a, b), [(3, 4), (4,)]),  # Where
    "unsqueeze_squeeze_flatten": (lambda a: a.unsqueeze(1).squeeze(1).flatten(), [(2, 3)]),
    "to_cpu": (lambda a: a.to("cpu"), [(3, 4)]),                                 # ToDevice off NumPy
    "max_dim_values": (lambda a: a.max(dim=1).values, [(3, 4)]),               # ExtremeAt: a gather
    "min_dim_keepdim": (lambda a: a.min(dim=0, keepdim=True)[0], [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_function_backward_is_its_transpose(xp, rng, name):
    fn, shapes = LINEAR[name]
    assert_adjoint(xp, rng, fn, shapes)


def test_cast_backward_is_its_transpose(xp, rng):
    # float32 -> float64 is exact; the backward rounds g to float32, so the two sides agree
    # to float32's precision (2**-24 a term, over 12 terms), not to 1e-10
    assert_adjoint(xp, rng, lambda a: a.double(), [(3, 4)], rtol=1e-6, dtype=np.float32)
    assert_adjoint(xp, rng, lambda a: a.to(np.float64), [(3, 4)], rtol=1e-6, dtype=np.float32)


HOMOGENEOUS = {   # degree-1 homogeneous Functions: Euler's identity at any input
    "relu": (lambda a: F.relu(a), [(3, 4)]),                                     # ReLU
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.2), [(3, 4)]),                    # LeakyReLU
    "abs": (lambda a: a.abs(), [(3, 4)]),                                        # Abs
    "amax_axis": (lambda a: a.amax(dim=1), [(3, 4)]),                            # Extreme
    "amin_all": (lambda a: a.amin(), [(3, 4)]),
    "maximum": (lambda a, b: minifcn.maximum(a, b), [(3, 4), (4,)]),            # Maximum
    "minimum": (lambda a, b: minifcn.minimum(a, b), [(2, 1, 3), (4, 1)]),       # Minimum
    "norm_p3": (lambda a: a.norm(p=3, dim=0), [(3, 4)]),                         # Norm
    "norm_2": (lambda a: a.norm(dim=1), [(3, 4)]),                               # Sqrt of a square
    "max_pool_overlapping": (lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), [(1, 2, 7, 6)]),
}


@pytest.mark.parametrize("name", sorted(HOMOGENEOUS))
def test_homogeneous_function_satisfies_euler_s_identity(xp, rng, name):
    fn, shapes = HOMOGENEOUS[name]
    assert_adjoint(xp, rng, fn, shapes)


def test_euler_s_identity_holds_through_ties(xp):
    # values from {-1, 0, 1, 2}: many ties, where max and maximum share the gradient; a share
    # that did not add up to the whole (or went to a loser) breaks the identity
    rng = np.random.default_rng(3)
    a = Tensor(xp.asarray(rng.integers(-1, 3, (4, 5)).astype(np.float64)), requires_grad=True)
    b = Tensor(xp.asarray(rng.integers(-1, 3, (4, 5)).astype(np.float64)), requires_grad=True)
    g = xp.asarray(rng.standard_normal(4))
    y = a.amax(dim=1) + minifcn.maximum(a, b).amin(dim=1)
    y.backward(g)
    lhs, rhs = _dot(y.data, g), _dot(a.data, a.grad) + _dot(b.data, b.grad)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs)), (lhs, rhs)


class _HalfTransposed(Function):
    """y = M x for a fixed non-symmetric M, with a backward that forgets to transpose M."""

    M = np.array([[1.0, 2.0], [0.0, 1.0]])

    def forward(self, x):
        return self.M @ x

    def backward(self, gy):
        return self.M @ gy


def test_the_adjoint_check_catches_an_untransposed_backward(rng):
    lhs, rhs = adjoint_gap(np, rng, lambda x: _HalfTransposed()(x), [(2,)])
    assert abs(lhs - rhs) > 1e-3 * max(1.0, abs(lhs))


def test_to_device_gradcheck(xp, rng):
    # off NumPy (the CuPy stand-in, or CuPy) to("cpu") is a ToDevice node, and back again a
    # second one (gradcheck's upstream gradient lives on the inputs' device); on NumPy, itself
    a = xp.asarray(rng.standard_normal((3, 4)))
    assert gradcheck(lambda t: t.to("cpu").to(t.device) * 2.0, [a])


def test_pow_with_an_array_of_exponents_vs_pytorch(xp, rng):
    # Pow with one exponent per value (broadcast, summed back), a 0 among them at a 0 base:
    # PyTorch's gradient is 0 there too; it had been checked by finite differences only
    torch = pytest.importorskip("torch")
    e = np.array([[2.0], [0.0], [3.0], [0.5]])                # (4, 1) against (1, 5)
    a = rng.random((1, 5)) + 0.5
    a[0, 0] = 0.0
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = x ** xp.asarray(e), xt ** torch.from_numpy(e)
    np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal((4, 5))
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_np(x.grad), xt.grad.numpy(), rtol=1e-12)   # inf at 0 ** -0.5 in both
    assert gradcheck(lambda t: t ** xp.asarray(e), [xp.asarray(a[:, 1:])])


# --------------------------------------------------------------------- hooks.py's _Identity
def test_a_passive_backward_hook_leaves_every_gradient_as_it_was(rng):
    """hooks._Identity wraps a module's inputs and outputs when it has backward hooks: hooks
    that only look must leave the layer's gradients those of finite differences (all four:
    the identity's forward, and its backward handing on what it got)."""
    layer = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU()).double()
    seen = []
    layer.register_full_backward_pre_hook(lambda m, gout: seen.append("pre"))
    layer.register_full_backward_hook(lambda m, gin, gout: seen.append(gin[0].shape))
    x = distinct_values((1, 2, 4, 4), seed=4)
    assert gradcheck(lambda t: layer(t), [x])
    assert seen and seen[0] == "pre" and (1, 2, 4, 4) in seen   # the hooks did run


# --------------------------------------------------------------------- a fault the audit found
@pytest.mark.parametrize("dim", [(), []])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_and_mean_over_an_empty_dim_reduce_every_axis_as_pytorch(xp, rng, op, dim):
    """PyTorch's sum(dim=()) and mean(dim=()) reduce every axis, as dim=[] does (and as amax,
    var and norm here did already); sum(dim=()) had reduced none, NumPy's meaning of axis=(),
    and a scalar loss's gradient of shape () then did not fit it."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 3, 4))
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = getattr(x, op)(dim=dim), getattr(xt, op)(dim=dim)
    assert y.shape == tuple(yt.shape) == ()
    np.testing.assert_allclose(to_np(y), yt.detach().numpy(), rtol=1e-12)
    y.backward()
    yt.backward()
    np.testing.assert_allclose(to_np(x.grad), xt.grad.numpy(), rtol=1e-12)
    assert_adjoint(xp, rng, lambda t: getattr(t, op)(dim=dim, keepdim=True), [(2, 3, 4)])
