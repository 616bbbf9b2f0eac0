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
