"""PyTorch's small pieces of ``torch.nn`` a training loop reaches for: gradient clipping
(``minifcn.nn.utils``), the activation, flatten and MSE modules, ``F.one_hot``; each against
PyTorch and, where it has a gradient, against finite differences in float64."""
import math

import numpy as np
import pytest

import minifcn.functional as F
import minifcn.nn as nn
from minifcn import Tensor, naive
from minifcn.testing import gradcheck
from oracle import assert_close, to_np, torch_tensor


# --------------------------------------------------------------------- gradient clipping
def _params_with_grads(xp, rng, dtype, scale, shapes=((3, 4), (5,), (2, 1, 3))):
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
    params = [nn.Parameter(xp.zeros(s, dtype=dtype)) for s in shapes]
    for p, g in zip(params, grads):
        p.grad = xp.asarray(g)
    return params, grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("scale", [10.0, 0.01])   # clipped, and left alone
def test_clip_grad_norm_as_pytorch(xp, rng, dtype, norm_type, scale):
    torch = pytest.importorskip("torch")
    params, grads = _params_with_grads(xp, rng, dtype, scale)
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch_tensor(torch, g).dtype)) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch_tensor(torch, g)
    total = nn.utils.clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, Tensor) and total.shape == () and total.dtype == dtype
    assert total.device == params[0].device
    assert_close(total, want, dtype, "total norm")
    for p, t in zip(params, theirs):
        assert p.grad.dtype == dtype
        assert_close(p.grad, t.grad, dtype, "clipped gradient")


def test_clip_grad_norm_in_place_skips_missing_grads_and_takes_one_tensor(xp):
    a, b = nn.Parameter(xp.zeros(2)), nn.Parameter(xp.zeros(3))
    a.grad = xp.asarray([3.0, 4.0])
    g = a.grad
    total = nn.utils.clip_grad_norm_(iter([a, b]), 1.0)   # b has no gradient: skipped
    assert a.grad is g and b.grad is None   # in place, as the underscore says
    assert total.item() == 5.0
    np.testing.assert_allclose(to_np(a.grad), [0.6, 0.8], rtol=1e-6)
    assert nn.utils.clip_grad_value_(a, 0.7) is None      # one Tensor, not a list
    np.testing.assert_allclose(to_np(a.grad), [0.6, 0.7], rtol=1e-6)
    zero = nn.utils.clip_grad_norm_([b], 1.0)
    assert zero.item() == 0.0 and zero.dtype == np.float32   # as torch.tensor(0.)


def test_clip_grad_norm_non_finite_as_pytorch():
    torch = pytest.importorskip("torch")
    g = np.array([np.nan, 1.0, 1.0], np.float32)
    p, t = nn.Parameter(np.zeros(3, np.float32)), torch.nn.Parameter(torch.zeros(3))
    p.grad, t.grad = g.copy(), torch.from_numpy(g.copy())
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad, g)   # nothing changed before the error
    total = nn.utils.clip_grad_norm_(p, 1.0)
    want = torch.nn.utils.clip_grad_norm_(t, 1.0)
    assert math.isnan(total.item()) and math.isnan(want.item())
    np.testing.assert_array_equal(p.grad, t.grad.numpy())   # all NaN, in both


def test_clip_grad_value_as_pytorch(xp, rng):
    torch = pytest.importorskip("torch")
    params, grads = _params_with_grads(xp, rng, np.float32, 2.0)
    theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.from_numpy(g.copy())
    nn.utils.clip_grad_value_(params, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, t in zip(params, theirs):
        np.testing.assert_array_equal(to_np(p.grad), t.grad.numpy())


def test_clipping_refuses_what_pytorch_would_misread():
    p = nn.Parameter(np.zeros(2)); p.grad = np.ones(2)
    with pytest.raises(ValueError, match="max_norm must be a number >= 0, got -1.0"):
        nn.utils.clip_grad_norm_(p, -1)
    with pytest.raises(ValueError, match="norm_type must be positive or inf, got 0"):
        nn.utils.clip_grad_norm_(p, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value must be a number >= 0, got -0.5"):
        nn.utils.clip_grad_value_(p, -0.5)


def test_nn_utils_imports_as_pytorch_s():
    from minifcn.nn.utils import clip_grad_norm_, clip_grad_value_
    import minifcn.nn.utils as utils
    assert utils.clip_grad_norm_ is clip_grad_norm_ and nn.utils.clip_grad_value_ is clip_grad_value_


def test_nn_functional_imports_as_pytorch_s_in_a_fresh_interpreter():
    """``import torch.nn.functional as F`` is how PyTorch programs start; here it had failed
    ("'minifcn.nn' is not a package"). A fresh process: nothing of minifcn imported before."""
    import subprocess
    import sys
    code = ("import minifcn.nn.functional as F\n"
            "from minifcn.nn.functional import conv2d\n"
            "from minifcn.nn import functional\n"
            "import minifcn\n"
            "assert F is functional is minifcn.functional and conv2d is minifcn.functional.conv2d\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


# --------------------------------------------------------------------- modules and functions
LAYERS = {   # name: (ours, PyTorch's by name, input shape)
    "flatten": (lambda: nn.Flatten(), lambda t: t.nn.Flatten(), (2, 3, 4, 5)),
    "flatten_middle": (lambda: nn.Flatten(1, 2), lambda t: t.nn.Flatten(1, 2), (2, 3, 4, 5)),
    "sigmoid": (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid(), (3, 4)),
    "tanh": (lambda: nn.Tanh(), lambda t: t.nn.Tanh(), (3, 4)),
    "leaky_relu": (lambda: nn.LeakyReLU(), lambda t: t.nn.LeakyReLU(), (2, 3, 4, 4)),
    "leaky_relu_slope": (lambda: nn.LeakyReLU(0.2, inplace=True), lambda t: t.nn.LeakyReLU(0.2), (3, 5)),
    "softmax": (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1), (2, 3, 4)),
    "softmax_last": (lambda: nn.Softmax(-1), lambda t: t.nn.Softmax(-1), (2, 3, 4)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1), (2, 5, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_vs_torch_and_gradcheck(xp, rng, name):
    torch = pytest.importorskip("torch")
    ours, theirs, shape = LAYERS[name]
    a = rng.standard_normal(shape)
    a.flat[0] = 0.0   # leaky ReLU's gradient at 0 is the slope's, as PyTorch's
    x, xt = Tensor(xp.asarray(a), requires_grad=True), torch_tensor(torch, a, requires_grad=True)
    y, yt = ours()(x), theirs(torch)(xt)
    assert_close(y, yt, np.float64, "forward")
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad, np.float64, "gradient")
    assert gradcheck(ours(), [xp.asarray(rng.standard_normal(shape))])


def test_leaky_relu_against_its_loop_and_pytorch_in_float32(xp, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    a[0, 0, 0, :3] = [0.0, np.nan, -np.inf]
    y = F.leaky_relu(Tensor(xp.asarray(a)), 0.3)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(to_np(y), naive.leaky_relu(a, 0.3))
    np.testing.assert_array_equal(to_np(y), torch.nn.functional.leaky_relu(torch.from_numpy(a), 0.3).numpy())
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a number, got '0.1'"):
        F.leaky_relu(Tensor(a), "0.1")


@pytest.mark.filterwarnings("ignore:Implicit dimension choice")   # PyTorch's own warning
def test_softmax_without_dim_takes_pytorch_s_implicit_axis_and_warns(rng):
    torch = pytest.importorskip("torch")
    for shape in [(4,), (2, 3), (2, 3, 4), (1, 2, 3, 4)]:
        a = rng.standard_normal(shape)
        for ours, theirs in [(nn.Softmax(), torch.nn.Softmax()), (nn.LogSoftmax(), torch.nn.LogSoftmax())]:
            with pytest.warns(UserWarning, match="implicit dimension choice"):
                y = ours(Tensor(a))
            assert_close(y, theirs(torch.from_numpy(a)), np.float64, str(shape))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_and_its_module_as_pytorch(xp, rng, reduction):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    x, t = Tensor(xp.asarray(a), requires_grad=True), Tensor(xp.asarray(b), requires_grad=True)
    xt, tt = torch_tensor(torch, a, requires_grad=True), torch_tensor(torch, b, requires_grad=True)
    y = nn.MSELoss(reduction=reduction)(x, t)
    yt = torch.nn.MSELoss(reduction=reduction)(xt, tt)
    assert_close(y, yt, np.float64, "forward")
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(xp.asarray(g))
    yt.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad, np.float64, "input gradient")
    assert_close(t.grad, tt.grad, np.float64, "target gradient")   # both sides learn, as there
    assert gradcheck(lambda x, t: F.mse_loss(x, t, reduction=reduction), [xp.asarray(a), xp.asarray(b)])


def test_mse_loss_reads_an_integer_target_in_the_input_s_dtype_and_refuses_other_shapes():
    torch = pytest.importorskip("torch")
    x, t = np.array([0.5, 2.0, -1.0], np.float32), np.array([1, 2, 0])
    y = F.mse_loss(Tensor(x), t)
    assert y.dtype == np.float32
    assert y.item() == torch.nn.functional.mse_loss(torch.from_numpy(x), torch.from_numpy(t)).item()
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(1, 3\) differs from input shape \(3,\)"):
        F.mse_loss(Tensor(x), t[None])
    with pytest.raises(ValueError, match="MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.MSELoss(reduction="avg")


def test_one_hot_as_pytorch(xp):
    torch = pytest.importorskip("torch")
    cases = [([0, 2, 1], -1), ([[0, 1], [3, 0]], 5), (2, 4), ([], 3)]
    for labels, C in cases:
        a = np.array(labels, np.int64)
        ours = F.one_hot(Tensor(xp.asarray(a)), C)
        theirs = torch.nn.functional.one_hot(torch.from_numpy(a), C)
        assert ours.dtype == np.int64 and ours.device == ("cpu" if xp is np else "cuda")
        np.testing.assert_array_equal(to_np(ours), theirs.numpy())
    for labels, C, message in [([-1], -1, "class values must be >= 0, got -1"),
                               ([3], 3, "class value 3 is not below num_classes 3"),
                               ([], -1, "cannot take the number of classes from an empty tensor")]:
        with pytest.raises(ValueError, match=message):
            F.one_hot(np.array(labels, np.int64), C)
    with pytest.raises(TypeError, match="one_hot: expected integer class indices, got float64"):
        F.one_hot(np.array([1.0]))


def test_reprs_as_pytorch():
    torch = pytest.importorskip("torch")
    made = ["Linear(3, 4)", "Linear(5, 2, False)", "Flatten()", "Flatten(0, 2)", "Sigmoid()", "Tanh()",
            "LeakyReLU()", "LeakyReLU(0.2, inplace=True)", "Softmax(dim=1)", "Softmax()", "LogSoftmax(-1)"]
    for call in made:
        assert repr(eval(call, vars(nn))) == repr(eval(call, vars(torch.nn))), call
    layer = nn.Linear(3, 4)
    assert (layer.in_features, layer.out_features) == (3, 4)
    assert list(layer.state_dict()) == ["weight", "bias"]
