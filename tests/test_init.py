"""Initialisers: the spread each promises, checked on enough draws to tell one formula from another."""
import math

import numpy as np
import pytest

import minifcn
from minifcn import init


pytestmark = pytest.mark.usefixtures("host_default_device")

# 256 x 128 x 3 x 3 = 294912 draws: a sample std is within 0.5 % of the true one (about four
# standard errors, 1 / sqrt(2 N) = 0.13 %), while fan_in and fan_out, or 2 and 1 in the numerator,
# differ by 41 %
SHAPE = (256, 128, 3, 3)


@pytest.mark.parametrize("make,std", [
    (lambda: init.he_normal(SHAPE), math.sqrt(2 / (128 * 9))),                       # fan_in
    (lambda: init.he_normal(SHAPE, fan_in=256 * 9), math.sqrt(2 / (256 * 9))),       # a transposed conv's
    (lambda: init.xavier_normal(SHAPE), math.sqrt(2 / (128 * 9 + 256 * 9))),         # Glorot
    (lambda: init.xavier_normal((300, 1000)), math.sqrt(2 / 1300)),                  # a linear layer
])
def test_normal_initialisers_have_their_formula_s_spread(make, std):
    minifcn.manual_seed(0)
    w = make()
    assert w.dtype == np.float32
    assert abs(float(w.std()) / std - 1) < 0.005
    assert abs(float(w.mean())) < 4 * std / math.sqrt(w.size)


def test_xavier_matches_pytorch_s_spread():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.init.xavier_normal_(torch.empty(SHAPE), generator=torch.Generator().manual_seed(0))
    minifcn.manual_seed(0)
    ours = init.xavier_normal(SHAPE)
    assert abs(float(ours.std()) / float(theirs.std()) - 1) < 0.01


# PyTorch's in-place initialisers: (ours, theirs) with the same arguments; spreads compared
_IN_PLACE = {
    "kaiming_normal_": (lambda m, t: m.kaiming_normal_(t), lambda m, t: m.kaiming_normal_(t)),
    "kaiming_normal_relu_fan_out": (lambda m, t: m.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
                                    lambda m, t: m.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")),
    "kaiming_uniform_sqrt5": (lambda m, t: m.kaiming_uniform_(t, a=math.sqrt(5)),   # PyTorch's layers' default
                              lambda m, t: m.kaiming_uniform_(t, a=math.sqrt(5))),
    "xavier_normal_": (lambda m, t: m.xavier_normal_(t, gain=2.0), lambda m, t: m.xavier_normal_(t, gain=2.0)),
    "xavier_uniform_": (lambda m, t: m.xavier_uniform_(t), lambda m, t: m.xavier_uniform_(t)),
    "normal_": (lambda m, t: m.normal_(t, 0.5, 0.01), lambda m, t: m.normal_(t, 0.5, 0.01)),
    "uniform_": (lambda m, t: m.uniform_(t, -2, 1), lambda m, t: m.uniform_(t, -2, 1)),
}


@pytest.mark.parametrize("name", list(_IN_PLACE))
def test_pytorch_s_in_place_initialisers_match_its_spread(name):
    torch = pytest.importorskip("torch")
    ours, theirs = _IN_PLACE[name]
    minifcn.manual_seed(0)
    torch.manual_seed(0)
    p = minifcn.nn.Parameter(np.empty(SHAPE, np.float32))
    array = p.data
    assert ours(init, p) is p and p.data is array and p.dtype == np.float32   # in place
    t = theirs(torch.nn.init, torch.empty(SHAPE))
    # mean and spread; and a uniform draw's bounds, which its extremes reach (a normal's extremes
    # are too noisy to compare)
    for stat in (np.mean, np.std) + ((np.min, np.max) if "uniform" in name else ()):
        a, b = float(stat(p.data)), float(stat(t.numpy()))
        assert abs(a - b) <= 0.01 * max(abs(b), float(np.std(t.numpy()))), (stat.__name__, a, b)


def test_constant_initialisers_and_gains():
    torch = pytest.importorskip("torch")
    p = minifcn.nn.Parameter(np.ones((2, 3), np.float64))
    assert init.zeros_(p).data.sum() == 0 and init.constant_(p, 0.25).data.tolist() == [[0.25] * 3] * 2
    assert init.ones_(p).data.sum() == 6
    for args in (("relu",), ("leaky_relu", 0.2), ("tanh",), ("selu",), ("conv2d",), ("leaky_relu",)):
        assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args), rel=1e-12)
    a = np.ones((4, 5))
    assert init.zeros_(a) is a and not a.any()   # an array too
    with pytest.raises(ValueError, match="negative slope must be a number, got True"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan'"):
        init.kaiming_normal_(p, mode="fan")
    with pytest.raises(ValueError, match=r"fans need a weight of 2 dimensions or more, got shape \(3,\)"):
        init.xavier_normal_(minifcn.nn.Parameter(np.ones(3)))
