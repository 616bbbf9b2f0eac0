"""VGG16 and net surgery: the convolutionalized net computes the classifier at every window."""
import numpy as np
import pytest

from minifcn import Tensor, no_grad
from minifcn import functional as F
from minifcn.models import VGG16, FullyConvVGG16
from minifcn.models.vgg import scaled, vgg_body
from minifcn.testing import gradcheck

from conftest import to_np

TINY = 1 / 32


def _vgg(num_classes=5, width=TINY, seed=0):
    """A float64 VGG16 in eval mode with random non-zero biases (zero biases hide bugs)."""
    net = VGG16(num_classes, width).astype(np.float64).eval()
    rng = np.random.default_rng(seed)
    for p in net.parameters():
        scale = 0.1 if p.ndim == 1 else 1 / np.sqrt(np.prod(p.shape[1:]))
        p.data = rng.standard_normal(p.shape) * scale
    return net


def test_channels_scale_with_width():
    net = VGG16(num_classes=10, width=0.25)
    assert net.conv1_1.weight.shape == (16, 3, 3, 3)
    assert net.conv5_3.weight.shape == (128, 128, 3, 3)
    assert net.fc6.weight.shape == (1024, 128 * 7 * 7)
    assert net.fc8.weight.shape == (10, 1024)
    tiny = VGG16(num_classes=2, width=1 / 1000)   # every layer keeps at least one channel
    assert tiny.conv1_1.weight.shape[0] == 1 and tiny.fc7.weight.shape == (4, 4)
    assert scaled(512, 1.0) == 512


def test_full_width_parameter_count(monkeypatch):
    from minifcn import init
    monkeypatch.setattr(init, "he_normal", lambda shape, fan_in=None, dtype=np.float32, device=None:
                        np.broadcast_to(np.zeros((), dtype), shape))
    net = VGG16()
    assert net.num_parameters() == 138_357_544   # torchvision's / Caffe's VGG16


def test_names_are_caffe_names():
    names = list(VGG16(width=TINY).state_dict())
    assert names[:2] == ["conv1_1.weight", "conv1_1.bias"]
    assert names[-6:] == ["fc6.weight", "fc6.bias", "fc7.weight", "fc7.bias", "fc8.weight", "fc8.bias"]
    assert len(names) == 32


def test_classifier_needs_224():
    with pytest.raises(ValueError, match=r"7x7 pool5.*got 8x7"):
        VGG16(width=TINY)(Tensor(np.zeros((1, 3, 256, 224), np.float32)))


def test_surgery_on_224_equals_classifier():
    vgg = _vgg()
    conv = vgg.convolutionalize()
    assert isinstance(conv, FullyConvVGG16) and not conv.training
    assert conv.fc6.weight.shape == (vgg.fc6.weight.shape[0], vgg.conv5_3.weight.shape[0], 7, 7)
    assert conv.fc8.weight.shape[2:] == (1, 1)
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 224, 224)))
    with no_grad():
        scores, cells = to_np(vgg(x)), to_np(conv(x))
    assert cells.shape == (2, 5, 1, 1)
    np.testing.assert_allclose(cells[:, :, 0, 0], scores, rtol=1e-10, atol=1e-12)
    # the surgery copies: changing the classifier afterwards leaves the conv net alone
    vgg.fc6.weight.data[...] = 0
    assert to_np(conv.fc6.weight).any()


def test_surgery_on_384_gives_6x6_classifier_windows():
    vgg = _vgg(seed=2)
    conv = vgg.convolutionalize()
    x = Tensor(np.random.default_rng(3).standard_normal((1, 3, 384, 384)))
    with no_grad():
        cells = to_np(conv(x))
        pool5 = vgg_body(conv, x)                      # (1, c5, 12, 12)
        # the classifier's fc layers on each 7x7 window of pool5 (stride 1 there = 32 in pixels),
        # i.e. on the features of the 224 crop at (32 i, 32 j), batched
        windows = np.stack([to_np(pool5)[0, :, i:i + 7, j:j + 7].ravel()
                            for i in range(6) for j in range(6)])
        h = F.relu(vgg.fc6(Tensor(windows)))
        h = F.relu(vgg.fc7(h))
        expected = to_np(vgg.fc8(h)).reshape(6, 6, -1).transpose(2, 0, 1)
    assert cells.shape == (1, 5, 6, 6)
    np.testing.assert_allclose(cells[0], expected, rtol=1e-10, atol=1e-12)
    # (the classifier run on the 224 crop pixels themselves differs near the crop's edges: its
    # 3x3 convs pad the crop with zeros where the 384 image has pixels, so the equality of
    # whole-crop outputs holds only for the pool5 windows, as checked here)


def test_dropout_train_and_eval():
    vgg = _vgg()
    x = Tensor(np.random.default_rng(4).standard_normal((1, 3, 224, 224)))
    with no_grad():
        e1, e2 = to_np(vgg(x)), to_np(vgg(x))
        vgg.train()
        t1, t2 = to_np(vgg(x)), to_np(vgg(x))
    np.testing.assert_array_equal(e1, e2)
    assert not np.array_equal(t1, t2)


def test_gradcheck_fully_conv():
    conv = _vgg(num_classes=2, width=1 / 64).convolutionalize()
    x = np.random.default_rng(5).standard_normal((1, 3, 230, 226))
    assert gradcheck(lambda t: conv(t), [x], max_elements=0)


def test_gradcheck_classifier_fc6():
    vgg = _vgg(num_classes=2, width=1 / 64)
    x = Tensor(np.random.default_rng(6).standard_normal((1, 3, 224, 224)))

    def fn(W):
        old = vgg.fc6.weight
        object.__setattr__(vgg.fc6, "weight", W)       # a temporary swap, not a registration
        try:
            return vgg(x)
        finally:
            object.__setattr__(vgg.fc6, "weight", old)
    assert gradcheck(fn, [vgg.fc6.weight.data.copy()], max_elements=0)
