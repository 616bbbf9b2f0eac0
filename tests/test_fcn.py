"""FCN-32s/16s/8s: derived crop offsets, blob shapes, output = input for every size, the
reference initialisation, staged constructors, gradients, and the width-1.0 parameter count."""
import numpy as np
import pytest

from minifcn import Tensor, init, no_grad
from minifcn.models import FCN8s, FCN16s, FCN32s, VGG16, build_model, coords
from minifcn.models.vgg import scaled
from minifcn.testing import gradcheck

from conftest import to_np

TINY = 1 / 64
FCNS = (FCN32s, FCN16s, FCN8s)


def _randomize(net, seed=0):
    """Non-zero weights everywhere (score layers start at zero, which hides every gradient)."""
    rng = np.random.default_rng(seed)
    for p in net.parameters():
        # 1/sqrt(fan-in) keeps activations near 1, so finite differences stay well conditioned
        scale = 0.1 if p.ndim == 1 else 1 / np.sqrt(np.prod(p.shape[1:]))
        p.data = (rng.standard_normal(p.shape) * scale).astype(p.dtype)
    return net


# ----------------------------------------------------------------------------- crop offsets
def test_crop_offsets_match_the_reference():
    assert FCN32s(3, TINY).crop_offsets == {"score": 19}
    assert FCN16s(3, TINY).crop_offsets == {"score_pool4c": 5, "score": 27}
    assert FCN8s(3, TINY).crop_offsets == {"score_pool4c": 5, "score_pool3c": 9, "score": 31}


def test_crop_offsets_follow_the_layers():
    # derived, not typed: one less pixel of padding on conv1_1 moves the final crop by one
    net = FCN32s(3, TINY)
    net.conv1_1.padding = 99
    trunk = [getattr(net, n) for n, _ in net.receptive_field_layers()]
    assert coords.crop_offset(coords.path_map(trunk), coords.CoordMap()) == 18
    # and a blob that cannot be aligned by a crop is refused
    with pytest.raises(ValueError, match="misaligned"):
        coords.crop_offset(coords.CoordMap(1, coords.Fraction(1, 2)), coords.CoordMap())
    with pytest.raises(ValueError, match="scales"):
        coords.crop_offset(coords.CoordMap(2, 0), coords.CoordMap())


# ----------------------------------------------------------------------------- shapes
def test_blob_shapes_at_500():
    net = FCN8s(4, TINY).eval()
    with no_grad():
        b = net.blobs(Tensor(np.zeros((1, 3, 500, 500), np.float32)))
    spatial = {k: v.shape[2:] for k, v in b.items()}
    # 500 + 2*100 padding - 2 = 698 after conv1_1, halved (ceil) five times: 349, 175, 88, 44,
    # 22; fc6 (7x7, no padding) 16; then (16-1)*2+4 = 34, (34-1)*2+4 = 70, (70-1)*8+16 = 568
    assert spatial["pool5"] == (22, 22)
    assert b["fc7"].shape == (1, scaled(4096, TINY), 16, 16)
    assert spatial["upscore2"] == (34, 34)
    assert spatial["upscore_pool4"] == (70, 70)
    assert spatial["upscore8"] == (568, 568)
    assert b["score"].shape == (1, 4, 500, 500)


@pytest.mark.parametrize("cls", FCNS)
def test_output_equals_input_for_every_size_1_to_600(cls):
    # an empty batch runs the real forward pass (every conv, pool and crop) at shape cost only;
    # pairing h with 601 - h tries every size from 1 to 600 in 300 passes
    net = cls(2, TINY).eval()
    with no_grad():
        for h in range(1, 301):
            w = 601 - h
            y = net(Tensor(np.zeros((0, 3, h, w), np.float32)))
            assert y.shape == (0, 2, h, w), (h, w)


@pytest.mark.parametrize("cls", FCNS)
def test_output_equals_input_with_data(cls):
    net = _randomize(cls(2, TINY)).eval()
    sizes = list(range(1, 18)) + [31, 32, 33, 63, 64, 65, 600]
    with no_grad():
        for h in sizes:
            y = net(Tensor(np.random.default_rng(h).random((1, 3, h, 5), dtype=np.float32)))
            assert y.shape == (1, 2, h, 5)
            assert np.isfinite(to_np(y)).all()


# ----------------------------------------------------------------------------- initialisation
def test_score_layers_zero_and_upsampling_bilinear_and_frozen():
    net = FCN8s(5, TINY)
    for name in ("score_fr", "score_pool4", "score_pool3"):
        layer = getattr(net, name)
        assert not to_np(layer.weight).any() and not to_np(layer.bias).any(), name
        assert layer.weight.requires_grad
    for name, k in (("upscore2", 4), ("upscore_pool4", 4), ("upscore8", 16)):
        layer = getattr(net, name)
        assert layer.bias is None
        np.testing.assert_array_equal(to_np(layer.weight), to_np(init.bilinear_kernel(5, 5, k)))
        assert not layer.weight.requires_grad
    # zero score layers: the untrained net says 0 for every class everywhere
    with no_grad():
        assert not to_np(net.eval()(Tensor(np.ones((1, 3, 40, 40), np.float32)))).any()
    learn = FCN32s(5, TINY, learnable_upsampling=True)
    assert learn.upscore.weight.requires_grad
    assert learn.num_parameters(trainable_only=True) == learn.num_parameters()
    frozen = FCN32s(5, TINY)
    assert frozen.num_parameters() - frozen.num_parameters(trainable_only=True) == 5 * 5 * 64 * 64


def test_at_once_scales_the_skips():
    # float64: the scaled skip scores differ from the bias by ~1e-6, below float32's resolution
    plain = _randomize(FCN8s(3, TINY)).astype(np.float64).eval()
    once = FCN8s(3, TINY, at_once=True).astype(np.float64).eval()
    once.load_state_dict(plain.state_dict())
    x = Tensor(np.random.default_rng(0).random((1, 3, 37, 29)))
    with no_grad():
        a, b = plain.blobs(x), once.blobs(x)
    for name, s in (("score_pool4", 0.01), ("score_pool3", 1e-4)):
        bias = to_np(getattr(plain, name).bias)[:, None, None]
        # score = W (s * pool) + bias: the weighted part shrinks by exactly s
        np.testing.assert_allclose(to_np(b[name])[0] - bias, s * (to_np(a[name])[0] - bias),
                                   rtol=1e-8, atol=1e-14, err_msg=name)
    np.testing.assert_array_equal(to_np(a["score_fr"]), to_np(b["score_fr"]))
    assert not np.allclose(to_np(a["score"]), to_np(b["score"]))


def test_dropout_in_train_mode_only():
    net = _randomize(FCN32s(2, 1 / 16))
    x = Tensor(np.random.default_rng(1).random((1, 3, 20, 20), dtype=np.float32))
    with no_grad():
        t1, t2 = to_np(net.train()(x)), to_np(net(x))
        e1, e2 = to_np(net.eval()(x)), to_np(net(x))
    assert not np.array_equal(t1, t2)
    np.testing.assert_array_equal(e1, e2)


# ----------------------------------------------------------------------------- staged training
def test_from_vgg16_net_surgery_copies_weights():
    vgg = _randomize(VGG16(num_classes=7, width=1 / 32))
    net = FCN32s.from_vgg16(vgg, num_classes=3)
    assert net.width == vgg.width and net.num_classes == 3
    np.testing.assert_array_equal(to_np(net.conv3_2.weight), to_np(vgg.conv3_2.weight))
    c5 = vgg.conv5_3.weight.shape[0]
    np.testing.assert_array_equal(to_np(net.fc6.weight), to_np(vgg.fc6.weight).reshape(-1, c5, 7, 7))
    np.testing.assert_array_equal(to_np(net.fc7.weight)[:, :, 0, 0], to_np(vgg.fc7.weight))
    assert not to_np(net.score_fr.weight).any()
    # a state dict (as weights.import_vgg16 returns) works too, width read from conv1_1
    net2 = FCN32s.from_vgg16(vgg.state_dict(), num_classes=3)
    np.testing.assert_array_equal(to_np(net2.fc6.weight), to_np(net.fc6.weight))


def test_from_vgg16_refuses_a_mismatched_state():
    from minifcn.weights import import_vgg16
    import os
    state, _ = import_vgg16(os.path.join(os.path.dirname(__file__), "fixtures", "vgg_tiny_zip.pth"))
    # the fixture's channels (2, 4, 4, 8, 8) are not VGG16's ratios at any width
    with pytest.raises(ValueError, match=r"fit no single width of VGG16: conv1_1 2 of 64, .*conv3_1 4 of 256"):
        FCN32s.from_vgg16(state, num_classes=3)


@pytest.mark.parametrize("width", [0.3, 1 / 3, 0.7, 1 / 7])
def test_a_width_is_read_back_from_every_layer(width):
    # conv1_1's channels / 64 had read 19 / 64 = 0.297 for a width-0.3 net, whose conv3 then
    # came out 76 channels wide against the state's 77
    from minifcn.models.vgg import width_of_state
    state = VGG16(num_classes=5, width=width).state_dict()
    assert width_of_state(state) == pytest.approx(width, rel=1e-12)
    net = FCN32s.from_vgg16(state, num_classes=3)
    assert net.conv3_1.weight.shape == VGG16(5, width).conv3_1.weight.shape


def test_staged_constructors():
    m32 = _randomize(FCN32s(4, TINY, learnable_upsampling=True)).astype(np.float64)
    m16 = FCN16s.from_fcn32s(m32)
    assert m16.learnable_upsampling and m16.width == m32.width
    assert m16.fc6.weight.dtype == np.float64 and m16.score_pool4.weight.dtype == np.float64
    for name in ("conv1_1.weight", "conv5_3.bias", "fc6.weight", "fc7.bias", "score_fr.weight"):
        np.testing.assert_array_equal(m16.state_dict()[name], m32.state_dict()[name], err_msg=name)
    assert not to_np(m16.score_pool4.weight).any()
    np.testing.assert_array_equal(to_np(m16.upscore2.weight), to_np(init.bilinear_kernel(4, 4, 4)))
    _randomize(m16, seed=1)
    m8 = FCN8s.from_fcn16s(m16)
    for name in ("conv4_2.weight", "fc6.weight", "score_fr.bias", "score_pool4.weight", "upscore2.weight"):
        np.testing.assert_array_equal(m8.state_dict()[name], m16.state_dict()[name], err_msg=name)
    assert not to_np(m8.score_pool3.weight).any()
    # FCN-8s starts from FCN-16s: the same stride-16 fusion, and score_pool3 adds nothing yet
    x = Tensor(np.random.default_rng(0).random((1, 3, 50, 42)))
    with no_grad():
        b16, b8 = m16.eval().blobs(x), m8.eval().blobs(x)
    np.testing.assert_allclose(to_np(b8["fuse_pool4"]), to_np(b16["fuse_pool4"]), rtol=1e-12)
    assert not to_np(b8["score_pool3"]).any()
    # each stage from the one before it: an FCN-32s for FCN-8s had been taken, its score_pool4
    # and upscore2 left fresh; a VGG16 had failed on a missing attribute
    with pytest.raises(TypeError, match="from_fcn16s: expected a trained FCN16s, got FCN32s"):
        FCN8s.from_fcn16s(m32)
    with pytest.raises(TypeError, match="from_fcn32s: expected a trained FCN32s, got VGG16"):
        FCN16s.from_fcn32s(VGG16(4, TINY))


def test_load_state_dict_errors():
    m8 = FCN8s(3, TINY)
    with pytest.raises(ValueError, match="unexpected keys.*score_pool3"):
        FCN16s(3, TINY).load_state_dict(m8.state_dict())
    with pytest.raises(ValueError, match=r"'score_fr.weight' expects shape \(3, 64, 1, 1\).*\(5, 64, 1, 1\)"):
        m8.load_state_dict(FCN8s(5, TINY).state_dict())


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        FCN8s(0)
    with pytest.raises(ValueError, match="width"):
        FCN32s(3, width=-1)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("fcn4s", 3)


def test_build_model_names():
    assert isinstance(build_model("fcn32s", 3, TINY), FCN32s)
    assert isinstance(build_model("fcn16s", 3, TINY), FCN16s)
    net = build_model("fcn8s", 3, TINY, learnable_upsampling=True)
    assert isinstance(net, FCN8s) and not net.at_once and net.upscore8.weight.requires_grad
    assert build_model("fcn8s-atonce", 3, TINY).at_once


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("cls", FCNS)
def test_gradcheck_input(cls):
    net = _randomize(cls(2, TINY, learnable_upsampling=True)).astype(np.float64).eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 5, 7))
    assert gradcheck(lambda t: net(t), [x], max_elements=0)


def _param_fn(net, module, x):
    """fn(weight) -> net(x), with ``module.weight`` replaced by the given tensor."""
    def fn(W):
        old = module.weight
        object.__setattr__(module, "weight", W)        # bypass registration: a temporary swap
        try:
            return net(Tensor(x))
        finally:
            object.__setattr__(module, "weight", old)
    return fn


@pytest.mark.parametrize("layer", ["conv1_1", "fc6", "score_pool4", "score_pool3", "upscore_pool4"])
def test_gradcheck_parameters(layer):
    net = _randomize(FCN8s(2, TINY, learnable_upsampling=True, at_once=True)).astype(np.float64).eval()
    x = np.random.default_rng(1).standard_normal((1, 3, 6, 5))
    module = getattr(net, layer)
    assert gradcheck(_param_fn(net, module, x), [module.weight.data.copy()], max_elements=0)


# ----------------------------------------------------------------------------- full size
def _count_without_memory(monkeypatch, build):
    """Build a model whose random weights are zero-stride views (no memory), to count them."""
    monkeypatch.setattr(init, "he_normal",
                        lambda shape, fan_in=None, dtype=np.float32, device=None:
                        np.broadcast_to(np.zeros((), dtype), shape))
    return build()


def test_fcn8s_parameter_count(monkeypatch):
    net = _count_without_memory(monkeypatch, lambda: FCN8s(21))
    conv = sum((3 * 3 * cin + 1) * cout for cin, cout in
               [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)])
    fc6, fc7 = 512 * 7 * 7 * 4096 + 4096, 4096 * 4096 + 4096
    scores = (4096 + 1) * 21 + (512 + 1) * 21 + (256 + 1) * 21
    upscores = 21 * 21 * (4 * 4 + 4 * 4 + 16 * 16)
    assert net.fc6.weight.size + net.fc6.bias.size == fc6
    assert round(fc6 / 1e6, 1) == 102.8
    assert net.num_parameters(trainable_only=True) == conv + fc6 + fc7 + scores
    assert net.num_parameters() == conv + fc6 + fc7 + scores + upscores
    assert abs(net.num_parameters(trainable_only=True) / 134.3e6 - 1) < 1e-3   # "about 134.3 M"


@pytest.mark.slow
def test_width_one_fcn8s_forward_500():
    net = FCN8s(21).eval()
    _randomize(net)
    with no_grad():
        b = net.blobs(Tensor(np.random.default_rng(0).random((1, 3, 500, 500), dtype=np.float32) * 255))
    assert b["fc7"].shape == (1, 4096, 16, 16)
    assert b["upscore8"].shape == (1, 21, 568, 568)
    assert b["score"].shape == (1, 21, 500, 500)
    assert np.isfinite(to_np(b["score"])).all()
