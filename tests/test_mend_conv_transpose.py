"""ConvTranspose1d, 2d and 3d on one base (_ConvTransposeNd): siblings as PyTorch's, the same
parameters, and PyTorch's output_size rule with errors naming the range, on every one."""
import re

import numpy as np
import pytest

from minifcn import nn
from minifcn.nn import _ConvTransposeNd
from oracle import to_np

LAYERS = [(nn.ConvTranspose1d, 1), (nn.ConvTranspose2d, 2), (nn.ConvTranspose3d, 3)]


def test_siblings_on_one_base_as_pytorchs():
    torch = pytest.importorskip("torch")
    layers = [cls(2, 4, 3) for cls, _ in LAYERS]
    theirs = [getattr(torch.nn, cls.__name__)(2, 4, 3) for cls, _ in LAYERS]
    for i, (layer, their) in enumerate(zip(layers, theirs)):
        assert isinstance(layer, _ConvTransposeNd)
        for j, (other, _) in enumerate(LAYERS):   # a 3-D one is no kind of 2-D one, as in PyTorch
            assert isinstance(layer, other) == (i == j) == isinstance(their, getattr(torch.nn, other.__name__))
        assert list(layer.state_dict()) == list(their.state_dict()) == ["weight", "bias"]
        assert layer.weight.shape == tuple(their.weight.shape)
        assert (layer.in_channels, layer.out_channels) == (their.in_channels, their.out_channels)
        assert tuple(layer.kernel_size) == tuple(their.kernel_size)


@pytest.mark.parametrize("cls,d", LAYERS)
def test_output_size_picks_the_output_padding_as_pytorchs(rng, cls, d):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2) + (4,) * d).astype(np.float32)
    ours = cls(2, 3, 3, stride=3, padding=1, dilation=2)
    theirs = getattr(torch.nn, cls.__name__)(2, 3, 3, stride=3, padding=1, dilation=2)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    least = (4 - 1) * 3 - 2 + 2 * 2 + 1
    for extra in range(3):
        size = (least + extra,) * d
        y = ours(x, output_size=size)
        assert y.shape == (1, 3) + size
        np.testing.assert_allclose(to_np(y), theirs(torch.from_numpy(x), output_size=size).detach().numpy(),
                                   rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="valid (sizes|lengths) range from"):
        ours(x, output_size=(least + 3,) * d)
    with pytest.raises(ValueError):   # PyTorch refuses it too
        theirs(torch.from_numpy(x), output_size=(least + 3,) * d)


@pytest.mark.parametrize("cls,d,message", [
    (nn.ConvTranspose1d, 1, "ConvTranspose1d: requested an output length of 15, but valid lengths range from 12 "
                            "to 14 (for an input of length 4)"),
    (nn.ConvTranspose2d, 2, "ConvTranspose2d: requested an output size of (15, 15), but valid sizes range from "
                            "(12, 12) to (14, 14) (for an input of 4x4)"),
    (nn.ConvTranspose3d, 3, "ConvTranspose3d: requested an output size of (15, 15, 15), but valid sizes range "
                            "from (12, 12, 12) to (14, 14, 14) (for an input of 4x4x4)"),
])
def test_output_size_errors_name_the_layer_and_the_range(cls, d, message):
    layer, x = cls(1, 1, 3, stride=3), np.zeros((1, 1) + (4,) * d, np.float32)
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(x, output_size=(15,) * d)
    with pytest.raises(TypeError, match=re.escape(f"{cls.__name__}: output_size must hold ints, got {(10.0,) * d}")):
        layer(x, output_size=(10.0,) * d)
    with pytest.raises(ValueError, match=re.escape(f"{cls.__name__}: output_size must be (")):
        layer(x, output_size=(10,) * (d + 1))
    with pytest.raises(ValueError, match=re.escape(f"{cls.__name__}: input must be {d + 2}-D (n, c, ")):
        layer(np.zeros((4,) * (d + 3), np.float32), output_size=(10,) * d)
