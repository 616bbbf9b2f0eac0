"""What tests/test_layers_1d.py and tests/test_layers_3d.py share: the adjoint check of a linear
op's backward, a module set beside PyTorch's twin, and a module's state dict read back by a
fresh twin."""
import numpy as np

from minifcn import Tensor
from oracle import to_np


def assert_backward_is_adjoint(xp, rng, f, x):
    """For a linear f: <f(x), y> = <x, f^T y>, f^T y the gradient of <f(x), y>."""
    xt = Tensor(xp.asarray(x), requires_grad=True)
    out = f(xt)
    y = rng.standard_normal(out.shape)
    out.backward(xp.asarray(y))
    np.testing.assert_allclose((to_np(out) * y).sum(), (x * to_np(xt.grad)).sum(), rtol=1e-10)


def load_torch_twin(ours, theirs):
    """Checks ``ours`` has the repr, state-dict keys and shapes of PyTorch's ``theirs``, then
    loads the latter's (random) weights into it."""
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert tuple(ours.state_dict()[k].shape) == tuple(v.shape), k
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def assert_twin_takes_state(m, twin, x):
    """``twin`` loads ``m``'s state dict: the same entries, and the same outputs on ``x`` in eval."""
    twin.load_state_dict(m.state_dict())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(to_np(twin.state_dict()[k]), to_np(v))
    np.testing.assert_array_equal(to_np(m.eval()(x)), to_np(twin.eval()(x)))
