"""Conv2d's ``padding_mode`` ("reflect", "replicate", "circular"): the input padded by F.pad in
that mode, then convolved unpadded, as PyTorch's. Checked against the loops (naive.pad then
naive.conv2d), by finite differences, against PyTorch's layer (outputs and the three
gradients), and its errors. The padding itself is tested in tests/test_pad_pool_avg.py.
"""
import numpy as np
import pytest

from minifcn import Tensor, naive, nn
from minifcn.testing import gradcheck
from oracle import DTYPES, assert_close, to_np

MODES = ["reflect", "replicate", "circular"]

# (in_c, out_c, kernel, stride, padding, dilation, groups)
LAYERS = [
    (2, 3, 3, 1, 1, 1, 1),
    (2, 2, (3, 2), 2, (2, 1), 1, 2),        # rectangular kernel, per-axis padding, stride, groups
    (2, 3, 3, 1, "same", 2, 1),             # same, dilated: 2 a side
    (2, 3, (2, 4), 1, "same", 1, 1),        # same, even kernel: the odd one at the bottom and right
    (2, 3, 3, 1, "valid", 1, 1),            # no padding at all
]
IDS = ["pad1", "stride-groups", "same-dilated", "same-even", "valid"]


def _amounts(kernel, padding, dilation):
    """F.pad's (left, right, top, bottom), written out from PyTorch's rule."""
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        ty, tx = dilation * (kh - 1), dilation * (kw - 1)
        return (tx // 2, tx - tx // 2, ty // 2, ty - ty // 2)
    ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
    return (pw, pw, ph, ph)


def _pair(torch, spec, mode, dtype, rng):
    in_c, out_c, k, s, p, d, g = spec
    ours = nn.Conv2d(in_c, out_c, k, s, p, d, g, padding_mode=mode).to(dtype)
    theirs = torch.nn.Conv2d(in_c, out_c, k, s, p, d, g, padding_mode=mode).to(getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():   # a bias that is not zero, so that its place is checked too
        theirs.bias.copy_(torch.from_numpy(rng.standard_normal(out_c).astype(dtype)))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", LAYERS, ids=IDS)
@pytest.mark.parametrize("mode", MODES)
def test_layer_vs_torch_outputs_and_gradients(rng, mode, spec, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = _pair(torch, spec, mode, dtype, rng)
    x = rng.standard_normal((2, spec[0], 6, 5)).astype(dtype)
    xt, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(xt), theirs(tx)
    assert_close(y, ty, dtype, "forward")
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    ty.backward(torch.from_numpy(gy))
    assert_close(xt.grad, tx.grad, dtype, "grad x")
    assert_close(ours.weight.grad, theirs.weight.grad, dtype, "grad weight")
    assert_close(ours.bias.grad, theirs.bias.grad, dtype, "grad bias")


@pytest.mark.parametrize("spec", LAYERS, ids=IDS)
@pytest.mark.parametrize("mode", MODES)
def test_layer_matches_the_loops(xp, rng, mode, spec):
    in_c, out_c, k, s, p, d, g = spec
    conv = nn.Conv2d(in_c, out_c, k, s, p, d, g, padding_mode=mode).double()
    conv.bias.data[...] = rng.standard_normal(out_c)
    W, b = to_np(conv.weight), to_np(conv.bias)
    x = rng.standard_normal((2, in_c, 5, 6))
    want = naive.conv2d(naive.pad(x, _amounts(k, p, d), mode), W, b, s, 0, d, g)
    conv.to("cuda" if xp is not np else "cpu")
    np.testing.assert_allclose(to_np(conv(xp.asarray(x))), want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("spec", LAYERS[:4], ids=IDS[:4])
@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_input(rng, mode, spec):
    # the input's gradient, element by element (the weights' are checked against PyTorch)
    in_c, out_c, k, s, p, d, g = spec
    conv = nn.Conv2d(in_c, out_c, k, s, p, d, g, padding_mode=mode).double()
    assert gradcheck(conv, [rng.standard_normal((1, in_c, 5, 4))])


def test_zeros_is_the_default_and_pads_inside_the_convolution(rng):
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    conv = nn.Conv2d(2, 2, 3, padding=1)
    assert conv.padding_mode == "zeros"
    reflect = nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect")
    reflect.load_state_dict(conv.state_dict())
    y, r = conv(x).numpy(), reflect(x).numpy()
    # the same inside, where no window reaches the padding; not on the border
    np.testing.assert_allclose(y[..., 1:-1, 1:-1], r[..., 1:-1, 1:-1], rtol=1e-6, atol=1e-6)
    assert not np.allclose(y[..., 0, :], r[..., 0, :])


def test_reprs():
    assert repr(nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect")) == \
        "Conv2d(2, 4, kernel_size=(3, 3), stride=1, padding=1, padding_mode='reflect')"
    assert repr(nn.Conv2d(2, 4, 3, padding="same", dilation=2, bias=False, padding_mode="circular")) == \
        "Conv2d(2, 4, kernel_size=(3, 3), stride=1, padding='same', dilation=2, bias=False, padding_mode='circular')"
    assert repr(nn.Conv2d(2, 4, 3)) == "Conv2d(2, 4, kernel_size=(3, 3), stride=1, padding=0)"


@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.Conv2d(1, 1, 3, padding_mode="zero"), ValueError,
     r"Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'zero'"),
    (lambda: nn.Conv2d(1, 1, 3, stride=2, padding="same", padding_mode="reflect"), ValueError,
     r"Conv2d: padding='same' needs stride 1, got stride \(2, 2\)"),
    (lambda: nn.Conv2d(1, 1, 3, padding="full", padding_mode="replicate"), ValueError,
     r"Conv2d: padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    (lambda: nn.Conv2d(1, 1, 3, padding=-1, padding_mode="circular"), ValueError,
     r"Conv2d: padding must be >= 0, got -1"),
    (lambda: nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")(np.zeros((1, 1, 3, 3), np.float32)),
     ValueError, r"reflect padding 3 must be less than the input's height 3"),
    (lambda: nn.Conv2d(1, 1, 3, padding=4, padding_mode="circular")(np.zeros((1, 1, 3, 3), np.float32)),
     ValueError, r"circular padding 4 is more than the height 3"),
])
def test_errors_name_the_values(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_torch_refuses_the_same():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        torch.nn.Conv2d(1, 1, 3, padding_mode="zero")
    with pytest.raises(ValueError, match="same"):
        torch.nn.Conv2d(1, 1, 3, stride=2, padding="same", padding_mode="reflect")
    with pytest.raises(RuntimeError):
        torch.nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")(torch.zeros(1, 1, 3, 3))
