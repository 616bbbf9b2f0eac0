"""local_response_norm: naive loops, finite differences, PyTorch, bad input, SegNet-Basic's use."""
import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.models import SegNetBasic
from minifcn.testing import gradcheck
from oracle import DTYPES, assert_close, to_np, torch_tensor

# (shape, size, alpha, beta, k): odd and even windows, a window wider than the channels,
# SegNet-Basic's (5, 1e-4, 0.75, 1) on RGB, and a strong alpha so the window matters
CASES = [((2, 6, 3, 4), 5, 0.5, 0.75, 1.0),
         ((1, 5, 2, 3), 4, 1.0, 0.6, 2.0),
         ((1, 3, 4, 4), 5, 1e-4, 0.75, 1.0),
         ((2, 3, 2, 2), 7, 2.0, 1.0, 0.5),
         ((1, 4, 3, 3), 1, 3.0, 0.5, 1.0)]


@pytest.mark.parametrize("shape, size, alpha, beta, k", CASES)
def test_lrn_matches_naive(xp, rng, shape, size, alpha, beta, k):
    x = rng.standard_normal(shape) * 2
    y = F.local_response_norm(xp.asarray(x), size, alpha, beta, k)
    np.testing.assert_allclose(to_np(y), naive.local_response_norm(x, size, alpha, beta, k),
                               atol=1e-10, rtol=0)


@pytest.mark.parametrize("shape, size, alpha, beta, k", CASES)
def test_lrn_gradcheck_every_element(xp, rng, shape, size, alpha, beta, k):
    x = rng.standard_normal(shape) * 2
    assert gradcheck(lambda t: F.local_response_norm(t, size, alpha, beta, k), [xp.asarray(x)])


def test_lrn_gradcheck_random_directions(xp, rng):
    x = rng.standard_normal((2, 9, 6, 5)) * 3
    assert gradcheck(lambda t: F.local_response_norm(t, 5, 0.8, 0.75, 1.0), [xp.asarray(x)],
                     max_elements=4, directions=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, size, alpha, beta, k", CASES)
def test_lrn_vs_torch(rng, dtype, shape, size, alpha, beta, k):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    ours, theirs = Tensor(x, requires_grad=True), torch_tensor(torch, x, requires_grad=True)
    y = F.local_response_norm(ours, size, alpha, beta, k)
    yt = torch.nn.functional.local_response_norm(theirs, size, alpha, beta, k)
    assert_close(y, yt, dtype, "forward")
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(ours.grad, theirs.grad, dtype, "input gradient")


def test_lrn_module_and_its_effect():
    x = np.full((1, 3, 2, 2), 2.0)
    y = nn.LocalResponseNorm(5, alpha=5.0, beta=1.0, k=1.0)(x).numpy()
    np.testing.assert_allclose(y, 2.0 / (1 + 5.0 / 5 * 3 * 4.0))   # every channel sees all three
    assert "alpha=5.0" in repr(nn.LocalResponseNorm(5, alpha=5.0, beta=1.0))


@pytest.mark.parametrize("bad, match", [
    (dict(size=0), r"size must be a positive integer, got 0"),
    (dict(size=2.5), r"size must be a positive integer, got 2.5"),
    (dict(size=3, k=0.0), r"need k > 0 and beta >= 0, got k=0.0"),
    (dict(size=3, beta=-1.0), r"beta=-1.0"),
])
def test_lrn_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        F.local_response_norm(np.ones((1, 3, 2, 2)), **bad)


def test_lrn_needs_4d():
    with pytest.raises(ValueError, match="local_response_norm: input must be 4-D"):
        F.local_response_norm(np.ones((3, 2, 2)), 3)


def test_segnet_basic_normalises_its_input_first():
    net = SegNetBasic(3, width=1 / 16).eval()
    plain = SegNetBasic(3, width=1 / 16, lrn=False).eval()
    plain.load_state_dict(net.state_dict())                  # LRN has no parameters
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32) * 100
    y, y_plain = net(x).numpy(), plain(x).numpy()
    normed = F.local_response_norm(x, 5, 1e-4, 0.75, 1.0)
    np.testing.assert_allclose(y, plain(normed).numpy(), rtol=1e-5, atol=1e-5)
    assert np.abs(y - y_plain).max() > 1e-3                  # at this contrast LRN changes the scores
