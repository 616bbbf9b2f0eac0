"""Sizes given as 1-tuples or as tuples of another wrong length to every 1-, 2- and 3-D
convolution and pooling, layer and function: taken (spread over every axis) where PyTorch 2.13
takes them, else refused naming the value and the length expected. PyTorch is asked in each
case, not a list copied from it."""
import re

import numpy as np
import pytest

from minifcn import Tensor, nn
from minifcn.nn import functional as F
from oracle import to_np

LENGTH = {1: "a tuple of one int", 2: "a pair of ints", 3: "a tuple of three ints"}
VALUE = {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "output_padding": 1}


def _layers():
    for d in (1, 2, 3):
        for kind in ("Conv", "ConvTranspose", "MaxPool", "AvgPool"):
            args = ["kernel_size", "stride", "padding"]
            args += ["dilation"] if kind != "AvgPool" else []
            args += ["output_padding"] if kind == "ConvTranspose" else []
            for arg in args:
                for length in (1, 4):
                    yield f"{kind}{d}d", d, arg, length


def _build(lib, name, kw):
    channels = (2, 2) if name.startswith("Conv") else ()
    kw = dict({"kernel_size": 3}, **kw)
    if name.startswith("ConvTranspose") and "output_padding" in kw:
        kw.setdefault("stride", 3)   # an output padding must be below the stride
    return getattr(lib, name)(*channels, **kw)


@pytest.mark.parametrize("name,d,arg,length", list(_layers()))
def test_a_1_tuple_or_a_long_tuple_as_pytorchs(rng, name, d, arg, length):
    torch = pytest.importorskip("torch")
    value = (VALUE[arg],) * length
    x = rng.standard_normal((1, 2) + (9,) * d).astype(np.float32)
    try:
        theirs = _build(torch.nn, name, {arg: value})
        want = theirs(torch.from_numpy(x)).detach().numpy()
    except (RuntimeError, ValueError, TypeError, IndexError):
        want = None
    if want is None:   # PyTorch refuses it (when built or called): ours too, naming the value
        message = f"{arg} must be an int or {LENGTH[d]}, got {value}"
        with pytest.raises((TypeError, ValueError), match=re.escape(message)):
            _build(nn, name, {arg: value})(x)
        return
    ours = _build(nn, name, {arg: value})
    if name.startswith("Conv"):
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    y = ours(x)
    assert y.shape == want.shape
    np.testing.assert_allclose(to_np(y), want, rtol=1e-5, atol=1e-5)


def test_the_table_covers_both_outcomes():
    """A 1-tuple is taken for some sizes (stride, padding, ...) and refused for others (a 2-D
    or 3-D convolution's kernel_size), as PyTorch's: the table above meets both."""
    torch = pytest.importorskip("torch")
    x = torch.zeros((1, 2, 9, 9, 9))
    assert _build(torch.nn, "Conv3d", {"stride": (2,)})(x).shape == (1, 2, 4, 4, 4)
    with pytest.raises(RuntimeError):
        _build(torch.nn, "Conv3d", {"kernel_size": (3,)})(x)
    assert _build(nn, "Conv3d", {"stride": (2,)}).stride == (2, 2, 2)
    assert _build(nn, "ConvTranspose2d", {"stride": (2,)}).stride == (2, 2)


def _functions():
    for d in (1, 2, 3):
        for kind in ("conv", "conv_transpose", "max_pool", "avg_pool"):
            # a convolution's kernel size is its weight's shape
            args = ["stride", "padding"] + (["kernel_size"] if kind.endswith("pool") else [])
            args += ["dilation"] if kind != "avg_pool" else []
            args += ["output_padding"] if kind == "conv_transpose" else []
            for arg in args:
                for length in (1, 2, 3, 4):
                    if length != d:
                        yield f"{kind}{d}d", d, arg, length


def _call(lib, name, d, x, kw, weight):
    if name.startswith("conv"):
        if name.startswith("conv_transpose") and "output_padding" in kw:
            kw = dict(kw, stride=3)   # an output padding must be below the stride
        return getattr(lib, name)(x, weight, **kw)
    return getattr(lib, name)(x, **dict({"kernel_size": 3}, **kw))


@pytest.mark.parametrize("name,d,arg,length", list(_functions()))
def test_the_functions_take_a_1_tuple_or_refuse_a_length_as_pytorchs(rng, name, d, arg, length):
    """F.conv2d and F.conv_transpose2d had refused a 1-tuple stride, padding, dilation and
    output padding that PyTorch's spread over both axes (as the layers and the other functions
    here already did)."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    value = (VALUE[arg],) * length
    x = rng.standard_normal((1, 2) + (9,) * d).astype(np.float32)
    w = rng.standard_normal((2, 2) + (3,) * d).astype(np.float32)
    try:
        want = _call(tf, name, d, torch.from_numpy(x), {arg: value}, torch.from_numpy(w)).numpy()
    except (RuntimeError, ValueError, TypeError, IndexError):
        want = None
    if want is None:   # PyTorch refuses it: ours too, naming the value and the length
        message = f"{arg} must be an int or {LENGTH[d]}, got {value}"
        with pytest.raises((TypeError, ValueError), match=re.escape(message)):
            _call(F, name, d, Tensor(x), {arg: value}, Tensor(w))
        return
    y = _call(F, name, d, Tensor(x), {arg: value}, Tensor(w))
    assert y.shape == want.shape
    np.testing.assert_allclose(to_np(y), want, rtol=1e-5, atol=1e-5)
    if length == 1:   # the same as the int itself
        np.testing.assert_array_equal(to_np(y), to_np(_call(F, name, d, Tensor(x), {arg: VALUE[arg]}, Tensor(w))))


def test_conv2d_takes_a_1_list_and_a_1_tuple_beside_same_padding(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 7, 7)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    for kw in ({"stride": [2]}, {"padding": "same", "dilation": (2,)}, {"padding": "same", "stride": (1,)}):
        want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), **kw).numpy()
        np.testing.assert_allclose(to_np(F.conv2d(x, w, **kw)), want, rtol=1e-5, atol=1e-5)
