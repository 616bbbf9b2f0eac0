"""Sizes given as 1-tuples or as too-long tuples to every 1-, 2- and 3-D convolution and pooling
layer: taken (spread over every axis) where PyTorch 2.13 takes them, else refused naming the
value and the length expected. PyTorch is asked in each case, not a list copied from it."""
import re

import numpy as np
import pytest

from minifcn import nn
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
