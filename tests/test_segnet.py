"""SegNet, SegNet-Basic, Bayesian SegNet: sizes, index flow, batch norm and dropout modes,
Monte-Carlo prediction, gradients."""
import numpy as np
import pytest

import minifcn
from minifcn import Tensor, nn, no_grad
from minifcn import functional as F
from minifcn.models import BayesianSegNet, SegNet, SegNetBasic, build_model
from minifcn.testing import gradcheck

from conftest import to_np

TINY = 1 / 32


def _x(shape, seed=0, dtype=np.float32):
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


# ----------------------------------------------------------------------------- structure and sizes
@pytest.mark.parametrize("build", [lambda: SegNet(4, width=TINY), lambda: SegNetBasic(4, width=TINY),
                                   lambda: BayesianSegNet(4, width=TINY)])
@pytest.mark.parametrize("hw", [(45, 67), (17, 33), (50, 31), (64, 64)])
def test_output_equals_input_size(build, hw):
    net = build()
    y = net(_x((2, 3) + hw))
    assert y.shape == (2, 4) + hw


def test_too_small_input_is_refused():
    with pytest.raises(ValueError, match=r"16x40 is too small for 5 2x2 pools; each side must be at least 17"):
        SegNet(2, width=TINY)(_x((1, 3, 16, 40)))
    with pytest.raises(ValueError, match="at least 9"):
        SegNetBasic(2, width=TINY)(_x((1, 3, 8, 8)))


def test_segnet_layers_mirror_vgg16_and_scores_have_no_bn():
    net = SegNet(5)
    state = net.state_dict()
    convs = [k[:-len(".weight")] for k in state if k.endswith(".weight") and not k.endswith("_bn.weight")]
    assert len(convs) == 26 and convs[0] == "conv1_1" and convs[13] == "conv5_3_D" and convs[-1] == "conv1_1_D"
    assert all(f"{c}_bn.running_mean" in state for c in convs[:-1])
    assert "conv1_1_D_bn.weight" not in state              # class scores: no BN (and no ReLU)
    assert state["conv4_1_D.weight"].shape == (256, 512, 3, 3)
    assert state["conv1_1_D.weight"].shape == (5, 64, 3, 3)
    # counted from the architecture: VGG16's 13 convolutions, their 13 mirrors but the last,
    # each with a bias and batch norm's scale and shift, then the 64 -> classes scores (no BN)
    enc = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
           (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    dec = [(512, 512)] * 5 + [(512, 256), (256, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64)]
    want = sum((9 * ci + 1) * co + 2 * co for ci, co in enc + dec) + (9 * 64 + 1) * 5
    assert net.num_parameters() == want                          # had been checked to 1 %
    assert abs(want / 29.45e6 - 1) < 0.001                       # the paper's ~29.5 M


def test_segnet_basic_layers():
    net = SegNetBasic(11)
    state = net.state_dict()
    for i in range(1, 5):
        assert state[f"conv{i}.weight"].shape[1:] == ((3 if i == 1 else 64), 7, 7)
        assert state[f"conv_decode{i}.weight"].shape == (64, 64, 7, 7)
        assert f"conv_decode{i}_bn.running_var" in state
    assert state["conv_classifier.weight"].shape == (11, 64, 1, 1)


def test_scores_can_be_negative():
    # no ReLU after the last conv: a ReLU there would make every score >= 0
    net = SegNet(3, width=TINY).eval()
    with no_grad():
        assert (to_np(net(_x((1, 3, 20, 20)))) < 0).any()


# ----------------------------------------------------------------------------- indices
class _Spy(nn.Module):
    """Wraps a layer and records what goes in and out."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        self.calls.append((args, kwargs, out))
        return out


@pytest.mark.parametrize("build,block", [(lambda: SegNet(3, width=TINY), 3),
                                         (lambda: SegNet(3, width=TINY), 1),
                                         (lambda: SegNetBasic(3, width=TINY), 2)])
def test_indices_flow_from_pool_to_unpool(build, block):
    net = build().eval()
    pool = _Spy(getattr(net, f"pool{block}"))
    unpool = _Spy(getattr(net, f"upsample{block}"))
    setattr(net, f"pool{block}", pool)
    setattr(net, f"upsample{block}", unpool)
    with no_grad():
        net(_x((2, 3, 45, 67)))
    (before,), _, (pooled, idx) = pool.calls[0]
    (value, idx_in), kw, up = unpool.calls[0]
    assert idx_in is idx                                   # passed along, not recomputed or stored
    assert kw["output_size"] == before.shape               # odd sizes come back exactly
    assert not any(isinstance(v, np.ndarray) for v in vars(pool.inner).values())   # no hidden state
    # each index points at the maximum of its window in the pre-pool tensor
    b = to_np(before).reshape(*before.shape[:2], -1)
    i = to_np(idx).reshape(*idx.shape[:2], -1)
    np.testing.assert_array_equal(np.take_along_axis(b, i, axis=2), to_np(pooled).reshape(i.shape))
    # and the unpooled values sit exactly there, zeros everywhere else
    u = to_np(up).reshape(*up.shape[:2], -1)
    np.testing.assert_array_equal(np.take_along_axis(u, i, axis=2), to_np(value).reshape(i.shape))
    mask = np.zeros(u.shape, bool)
    np.put_along_axis(mask, i, True, axis=2)
    assert not u[~mask].any()


# ----------------------------------------------------------------------------- BN and dropout modes
def test_batch_norm_train_and_eval():
    net = SegNet(3, width=TINY)
    x = _x((2, 3, 20, 24))
    before = net.conv3_2_bn.running_mean.copy()
    net.train()(x)
    assert not np.array_equal(to_np(net.conv3_2_bn.running_mean), to_np(before))   # updated
    # training: an image's output depends on the rest of the batch (batch statistics)
    with no_grad():
        alone, in_batch = to_np(net(x[0:1])), to_np(net(x))[0:1]
        net.eval()
        stats = net.conv3_2_bn.running_mean.copy()
        e_alone, e_batch = to_np(net(x[0:1])), to_np(net(x))[0:1]
    assert not np.allclose(alone, in_batch)
    np.testing.assert_allclose(e_alone, e_batch, rtol=1e-5, atol=1e-6)   # eval: per image
    np.testing.assert_array_equal(to_np(net.conv3_2_bn.running_mean), to_np(stats))


def test_bayesian_dropout_modes():
    net = BayesianSegNet(3, width=TINY)
    drops = [n for n, m in net.named_modules() if isinstance(m, nn.Dropout)]
    assert drops == ["encdrop3", "encdrop4", "encdrop5", "decdrop5", "decdrop4", "decdrop3"]
    assert all(getattr(net, n).p == 0.5 for n in drops)
    x = _x((1, 3, 40, 36))
    with no_grad():
        net(x)                                             # settle BN running stats a little
        t1, t2 = to_np(net.train()(x)), to_np(net(x))
        e1, e2 = to_np(net.eval()(x)), to_np(net(x))
    assert not np.array_equal(t1, t2)                      # samples differ
    np.testing.assert_array_equal(e1, e2)                  # eval pass: deterministic
    with pytest.raises(ValueError, match="dropout p"):
        BayesianSegNet(3, p=1.0)


def test_mc_predict():
    minifcn.manual_seed(0)  # the weights: some draws leave a net this narrow constant after eval-mode BN
    net = BayesianSegNet(4, width=TINY)
    with no_grad():
        net.train()(_x((2, 3, 33, 21), seed=1))           # non-trivial running statistics
    x = _x((1, 3, 33, 21), seed=2)
    stats = to_np(net.conv2_1_bn.running_var).copy()
    minifcn.manual_seed(7)
    probs, pred, unc = net.mc_predict(x, samples=5)
    assert net.training                                    # mode restored
    assert not any(m.always_on for _, m in net.named_modules() if isinstance(m, nn.Dropout))
    np.testing.assert_array_equal(to_np(net.conv2_1_bn.running_var), stats)   # BN in eval
    assert probs.shape == (1, 4, 33, 21) and pred.shape == (1, 33, 21) and unc.shape == (1, 33, 21)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(pred, probs.argmax(axis=1))
    assert (unc >= 0).all() and (unc > 0).any()
    # the same numbers by hand: eval mode, dropout forced on, same seed
    minifcn.manual_seed(7)
    net.eval()
    for _, m in net.named_modules():
        if isinstance(m, nn.Dropout):
            m.always_on = True
    with no_grad():
        samples = np.stack([to_np(F.softmax(net(x), axis=1)) for _ in range(5)])
    np.testing.assert_allclose(probs, samples.mean(0), rtol=1e-5, atol=1e-7)
    # 1e-3: the variance is E[p^2] - E[p]^2 in float32 there, against NumPy's two-pass var:
    # where p barely varies the difference cancels all but a few digits
    np.testing.assert_allclose(unc, samples.var(0).mean(1), rtol=1e-3, atol=1e-7)
    assert not np.allclose(samples[0], samples[1])
    # one sample has no spread
    _, _, unc1 = BayesianSegNet(4, width=TINY).mc_predict(x, samples=1)
    assert not unc1.any()
    with pytest.raises(ValueError, match="samples"):
        net.mc_predict(x, samples=0)


def test_build_model_names():
    assert isinstance(build_model("segnet", 3, TINY), SegNet)
    assert isinstance(build_model("segnet-basic", 3, TINY), SegNetBasic)
    net = build_model("bayesian-segnet", 3, TINY, p=0.2)
    assert isinstance(net, BayesianSegNet) and net.encdrop3.p == 0.2


def test_load_state_dict_errors():
    with pytest.raises(ValueError, match=r"'conv1_1_D.weight' expects shape \(3, 2, 3, 3\).*\(5, 2, 3, 3\)"):
        SegNet(3, width=TINY).load_state_dict(SegNet(5, width=TINY).state_dict())
    with pytest.raises(ValueError, match="missing keys.*conv5_1"):
        SegNet(3, width=TINY).load_state_dict(SegNetBasic(3, width=TINY).state_dict())


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("build,hw", [(lambda: SegNet(2, width=1 / 64), (18, 19)),
                                      (lambda: SegNetBasic(2, width=1 / 32), (9, 11)),
                                      (lambda: BayesianSegNet(2, width=1 / 64), (17, 20))])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradcheck_input(build, hw, mode):
    net = build().astype(np.float64).train(mode == "train")

    def fn(t):
        minifcn.manual_seed(0)                             # the same dropout masks every call
        return net(t)
    x = np.random.default_rng(3).standard_normal((2, 3) + hw)
    assert gradcheck(fn, [x], max_elements=0)


@pytest.mark.parametrize("layer", ["conv1_1", "conv3_2_bn", "conv1_1_D"])
def test_gradcheck_parameters(layer):
    net = SegNet(2, width=1 / 64).astype(np.float64).train()
    module = getattr(net, layer)
    x = Tensor(np.random.default_rng(4).standard_normal((2, 3, 17, 18)))

    def fn(W):
        old = module.weight
        object.__setattr__(module, "weight", W)            # a temporary swap, not a registration
        try:
            return net(x)
        finally:
            object.__setattr__(module, "weight", old)
    assert gradcheck(fn, [module.weight.data.copy()], max_elements=0)


@pytest.mark.parametrize("cls", [SegNet, SegNetBasic, BayesianSegNet])
def test_width_is_the_second_argument_as_for_every_model(cls):
    """(num_classes, width, in_channels): SegNet and Bayesian SegNet had taken in_channels
    second, so SegNet(4, 0.125) failed where FCN8s(4, 0.125) and SegNetBasic(4, 0.125) built."""
    net = cls(4, 1 / 16, 1)
    first = net.conv1 if cls is SegNetBasic else net.conv1_1
    assert net.width == 1 / 16 and first.weight.shape[1] == 1


def test_mc_uncertainty_of_confident_pixels_is_not_rounding_noise():
    """E[p^2] - E[p]^2 of a pixel with p near 1 is a difference of near-equal numbers: summed
    in float32 it had been noise (pixels 2x and more off); the sums are float64 now."""
    minifcn.manual_seed(3)
    net = BayesianSegNet(3, width=1 / 32)
    net.conv1_1_D.weight.data *= 0.3           # confident: class 0 wins everywhere by about 8,
    net.conv1_1_D.bias.data[0] += 8.0           # its probability 1 - 1e-4 give or take a little
    x = Tensor(np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32))
    minifcn.manual_seed(7)
    mean, _, unc = net.mc_predict(x, samples=8)
    assert mean.dtype == unc.dtype == np.float32
    # the same eight dropout masks again, the variance by two passes in float64
    minifcn.manual_seed(7)
    net.eval()
    for d in net._dropouts():
        d.always_on = True
    with no_grad():
        ps = np.stack([F.softmax(net(x), axis=1).data.astype(np.float64) for _ in range(8)])
    want = ps.var(axis=0).mean(axis=1)
    assert np.median(want) < 1e-9            # confident indeed: where float32 sums fail (66 % off)
    err = np.abs(unc - want) / np.maximum(want, 1e-30)
    assert np.quantile(err, 0.99) < 1e-3
