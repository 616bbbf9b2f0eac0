"""Dilated transposed convolutions (``dilation=`` of F.conv_transpose2d and nn.ConvTranspose2d),
four ways as tests/test_conv.py: naive loops, finite differences, adjointness, PyTorch; then
the layer, the output-size rule, the paths an undilated one keeps, and the errors.

PyTorch's output size, ``(h - 1)*s - 2*p + d*(k - 1) + output_padding + 1``, with its
``output_padding`` below the stride *or* the dilation: past the stride (stride 1, dilation 2,
output_padding 1) the kernels run unpadded and cut the output's window (kernels/conv.py's
``_past_stride``), so the cases below take that path too, marked "past the stride".
"""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.kernels import conv as K
from minifcn.models import coords
from minifcn.receptive_field import receptive_field
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np

# (n, in_c, h, w, out_c, kh, kw, stride, padding, output_padding, dilation, groups)
CASES = [
    (2, 3, 4, 5, 2, 3, 3, 1, 0, 0, 2, 1),                   # stride 1
    (1, 2, 3, 4, 3, 3, 2, 2, 1, 1, 2, 1),                   # stride 2, output_padding below it
    (1, 2, 4, 3, 2, 3, 3, 1, 2, 1, 2, 1),                   # past the stride, padding above it
    (1, 2, 4, 4, 2, 3, 3, 1, 0, 2, 3, 1),                   # past the stride: rows no tap reaches
    (2, 4, 3, 3, 4, 2, 3, (2, 1), (1, 2), (2, 1), (3, 2), 2),  # per axis, groups; past the stride on both
    (1, 2, 9, 8, 2, 2, 2, 1, 3, 1, 2, 1),                   # padding past the dilated reach: a ring unread
    (1, 4, 4, 4, 4, 4, 4, 2, 1, 0, 2, 4),                   # depthwise
    (1, 2, 3, 3, 2, 1, 1, 2, 0, 1, 3, 1),                   # 1x1: the dilation changes nothing
]
IDS = [f"case{i}" for i in range(len(CASES))]


@pytest.fixture(autouse=True, params=["default", "im2col-plain", "shifted"])
def conv_path(request, monkeypatch):
    """The kernels' paths that a dilated convolution can take (Winograd and the phases take
    undilated ones alone): as chosen; im2col with none of its shortcuts; the shifted slices for
    every stride-1 product (as tests/test_conv.py forces them)."""
    if request.param == "im2col-plain":
        monkeypatch.setattr(K, "COL_MAX_BYTES", 2**62)
        monkeypatch.setattr(K, "COL_OVER_MAPS", 0)
        monkeypatch.setattr(K, "SHIFTS_BELOW_DEPTH", 0)
        monkeypatch.setattr(K, "PIXELS_FIRST_MAX_PIXELS", 0)
        monkeypatch.setattr(K, "BIAS_ROW_MAX_DEPTH", 0)
        monkeypatch.setattr(K, "COL_KEEP_BYTES", 0)
        monkeypatch.setattr(K, "ONE_PRODUCT_MAX_COLS", 0)
        monkeypatch.setattr(K, "INNER_MAX_FRACTION", 0)
    if request.param == "shifted":
        monkeypatch.setattr(K, "COL_MAX_BYTES", 0)
        monkeypatch.setattr(K, "COL_OVER_MAPS", 0)
        monkeypatch.setattr(K, "SHIFTS_BELOW_DEPTH", 0)
    return request.param


def _inputs(rng, case):
    n, in_c, h, w, out_c, kh, kw = case[:7]
    g = case[11]
    return (rng.standard_normal((n, in_c, h, w)), rng.standard_normal((in_c, out_c // g, kh, kw)),
            rng.standard_normal(out_c))


def _out_size(case):
    """PyTorch's formula, written out here (not read from the code under test)."""
    _, _, h, w, _, kh, kw, s, p, op, d, _ = case
    s, p, op, d = (v if isinstance(v, tuple) else (v, v) for v in (s, p, op, d))
    return ((h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1,
            (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1)


# --------------------------------------------------------------------- 1. naive loops
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_naive(xp, rng, case):
    x, W, b = _inputs(rng, case)
    s, p, op, d, g = case[7:]
    y = F.conv_transpose2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), s, p, op, g, d)
    assert y.shape[2:] == _out_size(case)
    np.testing.assert_allclose(to_np(y), naive.conv_transpose2d(x, W, b, s, p, op, g, d), atol=1e-10, rtol=0)


@pytest.mark.parametrize("d", [2, 3])
def test_naive_dilation_is_a_kernel_with_zeros_between_its_taps(rng, d):
    # the definition, checked on the loops themselves: dilation d is the undilated transposed
    # convolution with a kernel of d - 1 zeros between each two taps
    x, W = rng.standard_normal((1, 2, 4, 3)), rng.standard_normal((2, 3, 3, 2))
    spread = np.zeros((2, 3, d * 2 + 1, d * 1 + 1))
    spread[:, :, ::d, ::d] = W
    np.testing.assert_allclose(naive.conv_transpose2d(x, W, None, 2, 1, 1, 1, d),
                               naive.conv_transpose2d(x, spread, None, 2, 1, 1), atol=1e-12, rtol=0)


# --------------------------------------------------------------------- 2. finite differences
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_every_element(xp, rng, case):
    x, W, b = _inputs(rng, case)
    s, p, op, d, g = case[7:]
    assert gradcheck(lambda x, W, b: F.conv_transpose2d(x, W, b, s, p, op, g, d),
                     [xp.asarray(v) for v in (x[:1], W, b)])


# --------------------------------------------------------------------- 3. adjointness
@pytest.mark.parametrize("h,w,k,s,p,d,g", [(7, 6, 3, 1, 0, 2, 1), (9, 8, 3, 2, 1, 2, 1),
                                           (8, 9, 2, 3, 2, 3, 2), (6, 7, 3, 1, 4, 2, 2)])
def test_dilated_conv_and_transposed_conv_are_adjoint(xp, rng, h, w, k, s, p, d, g):
    # <conv2d(x), y> == <x, conv_transpose2d(y)> with the same weight, stride, padding and
    # dilation; output_padding picks x's size among those the strided conv maps onto y's
    W = xp.asarray(rng.standard_normal((2 * g, 4 // g, k, k)))
    x = xp.asarray(rng.standard_normal((2, 4, h, w)))
    y_shape = F.conv2d(x, W, stride=s, padding=p, dilation=d, groups=g).shape
    y = xp.asarray(rng.standard_normal(y_shape))
    op = tuple(n - ((m - 1) * s - 2 * p + d * (k - 1) + 1) for n, m in zip((h, w), y_shape[2:]))
    back = F.conv_transpose2d(y, W, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    assert back.shape == x.shape
    lhs = float((F.conv2d(x, W, stride=s, padding=p, dilation=d, groups=g).data * y).sum())
    rhs = float((x * back.data).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backward_is_the_adjoint_of_forward(xp, rng, case):
    # a linear map of x: <A x, z> == <x, A^T z>, A^T z being the input gradient for upstream z
    # (past the stride too, where no conv2d of the same sizes is A's transpose)
    x, W, _ = _inputs(rng, case)
    s, p, op, d, g = case[7:]
    xt = Tensor(xp.asarray(x), requires_grad=True)
    y = F.conv_transpose2d(xt, xp.asarray(W), None, s, p, op, g, d)
    z = xp.asarray(rng.standard_normal(y.shape))
    y.backward(z)
    lhs, rhs = float((y.data * z).sum()), float((xt.data * xt.grad).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# --------------------------------------------------------------------- 4. PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vs_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    s, p, op, d, g = case[7:]
    check_vs_torch(torch, lambda x, W, b: F.conv_transpose2d(x, W, b, s, p, op, g, d),
                   lambda x, W, b: torch.nn.functional.conv_transpose2d(x, W, b, s, p, op, g, d),
                   _inputs(rng, case), dtype, rng)


def test_layer_vs_torch_layer_with_the_same_weights(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 5, 4))
    # PyTorch's order: ..., output_padding, groups, bias, dilation
    ours = nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, 2, True, 3).double()
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, 2, True, 3).double()
    assert ours.weight.shape == tuple(theirs.weight.shape)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    xt, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(xt), theirs(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-10, rtol=0)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    ty.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), atol=1e-10, rtol=0)


def test_output_size_takes_the_dilation_as_pytorchs(rng):
    # every requested size from well below to well above the range: refused exactly where
    # PyTorch refuses, else the same shape and values
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 4, 3))
    ours = nn.ConvTranspose2d(2, 2, 3, stride=3, padding=1, dilation=2).double()
    theirs = torch.nn.ConvTranspose2d(2, 2, 3, stride=3, padding=1, dilation=2).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    accepted = 0
    for oh in range(8, 16):
        size = (oh, 11)
        try:
            want = theirs(torch.from_numpy(x), output_size=size).detach().numpy()
        except ValueError:
            with pytest.raises(ValueError, match=r"valid sizes range from \(12, 9\) to \(14, 11\)"):
                ours(x, output_size=size)
            continue
        accepted += 1
        np.testing.assert_allclose(ours(x, output_size=size).numpy(), want, atol=1e-10, rtol=0)
    assert accepted == 3   # 12, 13, 14: (4 - 1)*3 - 2 + 2*2 + 1 = 12, and up to stride - 1 more


def test_layer_repr_and_padding_mode():
    assert repr(nn.ConvTranspose2d(2, 4, 3, 2, dilation=2)) == \
        "ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=2, dilation=2)"
    assert repr(nn.ConvTranspose2d(2, 4, 3, 2)) == "ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=2)"
    # padding, output padding and bias=False shown where set, as PyTorch's (they had been left
    # out: two different upsamplings printed the same); PyTorch writes the stride as a pair
    up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, bias=False)
    assert repr(up) == ("ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=2, padding=1, "
                        "output_padding=1, bias=False)")
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, bias=False)
    assert repr(up).replace("stride=2, padding=1, output_padding=1",
                            "stride=(2, 2), padding=(1, 1), output_padding=(1, 1)") == repr(theirs)
    assert nn.ConvTranspose2d(2, 4, 3, padding_mode="zeros").padding_mode == "zeros"
    up = nn.ConvTranspose2d(2, 4, 3, bias=False)
    assert up.bias is None and list(up.state_dict()) == ["weight"]


def test_coordinate_map_reads_the_dilation(rng):
    # one input pixel's taps land around the output coordinate that layer_map maps back onto it
    layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, dilation=3, bias=False)
    layer.weight.data[...] = 1
    x = np.zeros((1, 1, 6, 6), np.float32)
    x[0, 0, 2, 3] = 1
    y = layer(x).numpy()[0, 0]
    rows, cols = np.nonzero(y)
    centre = coords.layer_map(layer)
    assert (centre(rows.mean()), centre(cols.mean())) == (2, 3)
    assert receptive_field(nn.Sequential(layer), input_size=6)[-1].size == y.shape[0]


# --------------------------------------------------------------------- undilated: the same paths
def test_undilated_transposes_take_the_paths_they_took(monkeypatch, rng):
    """Dilation 1 never reaches the unpadded window of ``_past_stride`` (its pad2d), and FCN's
    overlapping upsampling still runs by phases, forward and backward; dilation 2 past the
    stride does take the window, forward and backward."""
    calls = []

    def spy(name):
        real = getattr(K, name)
        monkeypatch.setattr(K, name, lambda *a, **kw: calls.append(name) or real(*a, **kw))
    for name in ("pad2d", "_grad_input_by_phases", "_conv2d_by_phases"):
        spy(name)
    x, W = Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True), rng.standard_normal((2, 2, 4, 4))
    F.conv_transpose2d(x, Tensor(W, requires_grad=True), stride=2, padding=1, output_padding=1).sum().backward()
    F.conv_transpose2d(x, W, stride=1, padding=1).sum().backward()
    assert calls == ["_grad_input_by_phases", "_conv2d_by_phases"]
    calls.clear()
    F.conv_transpose2d(x, W, stride=1, output_padding=1, dilation=2).sum().backward()
    assert calls == ["pad2d", "pad2d"]


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs,torch_refuses", [
    (dict(stride=1, dilation=2, output_padding=2), True),
    (dict(stride=2, dilation=1, output_padding=2), True),
    (dict(stride=(2, 1), dilation=(1, 3), output_padding=(1, 2)), False),
    (dict(stride=(2, 1), dilation=(1, 3), output_padding=(2, 2)), True),
])
def test_output_padding_below_the_stride_or_the_dilation(rng, kwargs, torch_refuses):
    torch = pytest.importorskip("torch")
    x, W = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 2, 3, 3))
    try:
        torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(W), **kwargs)
        refused = False
    except RuntimeError:
        refused = True
    assert refused == torch_refuses
    if torch_refuses:
        with pytest.raises(ValueError, match=r"output_padding .* must be smaller than the stride .* or "
                                             r"the dilation .*, on each axis"):
            F.conv_transpose2d(x, W, **kwargs)
    else:
        assert F.conv_transpose2d(x, W, **kwargs).shape[2:] == \
            tuple(torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(W), **kwargs).shape[2:])


@pytest.mark.parametrize("make,error,message", [
    (lambda: F.conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), dilation=0),
     ValueError, r"conv_transpose2d: dilation must be >= 1, got 0"),
    (lambda: F.conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), dilation=1.5),
     TypeError, r"conv_transpose2d: dilation must be an int or a pair of ints, got 1.5"),
    (lambda: F.conv_transpose2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), padding=4, dilation=2),
     ValueError, r"padding \(4, 4\) leaves an empty output \(-2x-2\)"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"), ValueError,
     r"ConvTranspose2d: only \"zeros\" padding mode is supported .*got padding_mode='reflect'"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, padding_mode="zero"), ValueError,
     r"ConvTranspose2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'zero'"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, stride=2, dilation=2)(np.zeros((1, 1, 3, 3)), output_size=(5, 5)),
     ValueError, r"valid sizes range from \(9, 9\) to \(10, 10\)"),
])
def test_errors_name_the_values(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_torch_refuses_what_the_layer_refuses():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="zeros"):
        torch.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="valid sizes range from"):
        torch.nn.ConvTranspose2d(1, 1, 3, stride=2, dilation=2)(torch.zeros(1, 1, 3, 3), output_size=(5, 5))
