"""Receptive fields: the analytic recurrence, and the field measured through the autograd."""
import numpy as np
import pytest

from minifcn import nn
from minifcn.models import FCN8s, FCN32s, VGG16
from minifcn.receptive_field import analytic_box, empirical_receptive_field, receptive_field


def _row(rows, name):
    return next(r for r in rows if r.name == name)


def test_vgg16_and_fcn_analytic():
    # rf += (k - 1) * jump, jump *= stride: conv1_2 1 + 2 + 2 = 5; pool1 + 1 = 6 (jump 2);
    # conv3_3 after pool2 (jump 4): 6 + 2*2*2 + 1*2 ... = 40; pool5 212 (jump 32); fc6 + 6*32 = 404
    vgg = receptive_field(VGG16(width=1 / 64).convolutionalize(), input_size=224)
    assert [(_row(vgg, n).rf, _row(vgg, n).jump) for n in ("conv1_2", "pool1", "conv3_3", "pool5")] == \
        [(5, 1), (6, 2), (40, 4), (212, 32)]
    assert _row(vgg, "fc6").rf == 404 and _row(vgg, "fc6").size == 1
    fcn = receptive_field(FCN8s(3, width=1 / 64), input_size=500)
    fc7, score_fr = _row(fcn, "fc7"), _row(fcn, "score_fr")
    assert (fc7.rf, fc7.jump, fc7.size) == (404, 32, 16)
    assert score_fr.rf == 404
    # fc7 cell 0 is centred at pixel 12.5: the 100 pixels of padding, seen through the layers
    assert fc7.start == 12.5
    assert [r.size for r in fcn if r.name.startswith("upscore")] == [34, 70, 568]
    assert _row(fcn, "upscore8").jump == 1


def test_recurrence_on_a_hand_worked_net():
    # k3 s1 -> rf 3; pool 2/2 -> rf 4, jump 2; k3 dilation 2 (K = 5) -> rf 4 + 4*2 = 12
    net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2, 2), nn.Conv2d(1, 1, 3, dilation=2))
    rows = receptive_field(net, input_size=20)
    assert [(r.rf, r.jump, r.start, r.size) for r in rows] == [(3, 1, 0, 20), (4, 2, 0.5, 10), (12, 2, 4.5, 6)]


def test_unpooling_has_no_static_field():
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxUnpool2d(2))
    with pytest.raises(TypeError, match="MaxUnpool2d"):
        receptive_field(net)
    # local response norm mixes channels only: pointwise here (it had raised "no coordinate
    # map", and SegNet-Basic's input LRN hid its unpooling's message)
    lrn = nn.Sequential(nn.Conv2d(3, 3, 3), nn.LocalResponseNorm(5), nn.Conv2d(3, 3, 3))
    assert [r.rf for r in receptive_field(lrn)] == [3, 5]


@pytest.fixture(scope="module")
def positive_fcn():
    """A tiny float64 FCN-32s with positive weights: every ReLU stays active on positive inputs."""
    net = FCN32s(2, width=1 / 64).astype(np.float64).eval()
    rng = np.random.default_rng(0)
    for p in net.parameters():
        p.data = rng.random(p.shape) + 0.1
    return net


def test_measured_field_of_score_fr_is_404(positive_fcn):
    def score_fr(x):
        return positive_fcn.blobs(x)["score_fr"]
    # a 410 x 410 image gives a 13 x 13 score_fr; cell 6's field [3, 406] lies inside it
    rows = receptive_field(positive_fcn, input_size=410)
    fr = _row(rows, "score_fr")
    assert fr.size == 13
    measured = empirical_receptive_field(score_fr, (2, 3, 410, 410), (6, 6))
    assert (measured.height, measured.width) == (404, 404)
    assert measured[:4] == analytic_box(fr, (6, 6), (410, 410)) == (3, 406, 3, 406)
    # a corner cell's field sticks out of the image: the measurement is clipped the same way
    # (a 240 x 240 image: an 8 x 8 score_fr)
    fr240 = _row(receptive_field(positive_fcn, input_size=240), "score_fr")
    corner = empirical_receptive_field(score_fr, (2, 3, 240, 240), (0, 7))
    assert corner[:4] == analytic_box(fr240, (0, 7), (240, 240)) == (0, 214, 35, 239)


def test_measured_field_of_a_conv_stack():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
                        nn.Conv2d(2, 1, 3, padding=1)).astype(np.float64)
    for p in net.parameters():
        p.data = np.abs(p.data) + 0.1
    rows = receptive_field(net, input_size=24)
    measured = empirical_receptive_field(net, (4, 1, 24, 24), (5, 5))
    assert (measured.height, measured.width) == (rows[-1].rf, rows[-1].rf) == (8, 8)   # 3 + 1 + 2*2
    assert measured[:4] == analytic_box(rows[-1], (5, 5), (24, 24))
    with pytest.raises(ValueError, match="outside"):
        empirical_receptive_field(net, (1, 1, 24, 24), (12, 0))


@pytest.mark.parametrize("layers", [
    [("deconv", 4, 2, 1), ("deconv", 4, 2, 1)],                 # the recurrence gave rf 2.5
    [("deconv", 3, 2, 0), ("conv", 3, 1, 1), ("deconv", 5, 3, 2)],
    [("conv", 3, 2, 1), ("deconv", 4, 2, 1), ("conv", 2, 2, 0), ("deconv", 2, 2, 0)],
    [("deconv", 2, 3, 0), ("conv", 3, 1, 0)],                    # stride past the kernel: gaps
    [("conv", 5, 1, 2), ("deconv", 7, 4, 1)],
])
def test_fields_through_transposed_convolutions_are_the_measured_ones(layers):
    # past a transposed convolution each output's field depends on its phase: rf (the largest)
    # and analytic_box must match what the autograd measures at every output
    # (no max pooling: its gradient reaches one pixel of each window, not the whole field)
    make = {"conv": lambda k, s, p: nn.Conv2d(1, 1, k, stride=s, padding=p),
            "deconv": lambda k, s, p: nn.ConvTranspose2d(1, 1, k, stride=s, padding=p)}
    net = nn.Sequential(*[make[kind](k, s, p) for kind, k, s, p in layers]).astype(np.float64)
    for q in net.parameters():
        q.data = np.ones_like(q.data)   # positive weights: every path shows in the gradient
    rows = receptive_field(net, input_size=12)
    out = rows[-1].size
    assert out == net(np.ones((1, 1, 12, 12))).shape[-1]
    widest = 0
    for o in range(out):
        measured = empirical_receptive_field(net, (1, 1, 12, 12), (o, o))
        reads = rows[-1].bounds(o)
        if not measured.mask.any():
            assert reads is None
            continue
        assert measured[:4] == analytic_box(rows[-1], (o, o), (12, 12))
        if reads[0] >= 0 and reads[1] <= 11:   # not clipped: the whole field
            widest = max(widest, measured.height)
    assert widest == rows[-1].rf and isinstance(rows[-1].rf, int)


def test_a_layer_with_no_output_is_named():
    with pytest.raises(ValueError, match="layer '0' .* no output for input_size 2"):   # had given size -2
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 5)), input_size=2)
