"""backend: array-module dispatch, device names, GPU detection, seeds; the CuPy path when present."""
import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, backend, init
from oracle import to_np


# these tests build modules from the default device and feed them NumPy data
pytestmark = pytest.mark.usefixtures("host_default_device")


def test_get_array_module_and_device_of(xp):
    a = xp.zeros(3)
    assert backend.get_array_module(a) is xp
    assert backend.get_array_module(Tensor(a)) is xp            # Tensors are unwrapped
    assert backend.get_array_module(np.zeros(1), a) is xp        # any device array wins
    assert backend.get_array_module(1.0, [1, 2]) is np
    assert backend.device_of(a) == ("cpu" if xp is np else "cuda")
    assert Tensor(a).device == backend.device_of(a)


def test_device_arrays_take_the_gpu_code_paths(xp):
    """The ``xp`` tests run the kernels' GPU paths on CuPy, or on its NumPy stand-in without a
    GPU (tests/fakecupy.py), and the CPU's paths on NumPy."""
    from minifcn.kernels import cache, pool, threads
    on_gpu = xp is not np
    maps = xp.zeros((2, 64, 64, 64), dtype=np.float32)
    one_block = on_gpu or threads.num_threads() < 2
    assert (threads.channel_blocks(maps) == [slice(None)]) is one_block   # blocks for threads
    assert (pool._image_blocks(maps) == [(slice(None), slice(None))]) is on_gpu   # whole batch
    if on_gpu:
        held = cache.held_bytes()
        big = cache.empty((1024, 1024), np.float32, like=maps)        # the GPU's own pool
        assert isinstance(big, xp.ndarray) and cache.held_bytes() == held
        with pytest.raises(TypeError):
            xp.take(maps.ravel(), xp.arange(3), mode="clip")          # CuPy's take has no mode


def test_device_arrays_refuse_what_cupy_refuses(gpu):
    """CuPy (or its stand-in, which must behave alike so that CI sees what a GPU would): no
    host array in a device op or in a slice of a device array, no implicit copy to the host,
    reductions stay 0-d arrays."""
    a = gpu.asarray([1.0, 2.0])
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(2)                                   # a host array beside a device one
    with pytest.raises(TypeError):                       # CuPy's message names the output
        gpu.multiply(a, 2.0, out=np.empty(2))
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(a)                                    # .get() or backend.to_numpy instead
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.array([a, a])
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[:] = np.ones(2)                                # a host array into a slice
    a[1] = np.float32(2.0)                               # a host scalar is a fill value
    assert type(a * np.float32(2)) is gpu.ndarray and type(a + 1) is gpu.ndarray  # scalars pass
    for r in (a.sum(), a.max(), a.argmax(), a[0], gpu.sum(a)):
        assert type(r) is gpu.ndarray and r.shape == ()
    assert float(a.sum()) == 3.0 and int(a.argmax()) == 1
    assert type(backend.to_numpy(a)) is np.ndarray and type(backend.to_numpy(Tensor(a))) is np.ndarray


def test_gpu_available_returns_a_bool():
    assert isinstance(backend.gpu_available(), bool)


@pytest.mark.parametrize("name", ["tpu", "mps", "", "cpu0"])
def test_check_device_rejects_unknown_names(name):
    with pytest.raises(ValueError, match=rf"unknown device {name!r}: expected 'cpu' or 'cuda'"):
        backend.check_device(name)


def test_check_device_normalises():
    assert backend.check_device("CPU") == "cpu"
    if backend.gpu_available():
        assert backend.check_device("cuda:0") == "cuda" and backend.check_device("gpu") == "cuda"
    else:
        with pytest.raises(ValueError, match=r"device 'cuda' asked for, but no CUDA GPU is usable"):
            backend.check_device("cuda")


def test_default_device_from_environment(monkeypatch):
    monkeypatch.setenv("MINIFCN_DEVICE", "cpu")
    assert backend.default_device() == "cpu"
    assert backend.xp_for() is np
    monkeypatch.setenv("MINIFCN_DEVICE", "tpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        backend.default_device()


def test_to_numpy_and_tensor_to_cpu(xp):
    a = xp.arange(4.0)
    assert isinstance(backend.to_numpy(a), np.ndarray)
    src = Tensor(a, requires_grad=True)
    t = src.to("cpu")   # in the graph, as PyTorch's: the gradient goes back to the source's device
    assert isinstance(t.data, np.ndarray) and t.requires_grad
    assert (t is src) == (xp is np)   # already there: itself
    np.testing.assert_array_equal(t.numpy(), np.arange(4.0))
    (t * 2.0).sum().backward()
    assert type(src.grad) is type(a) and to_np(src.grad).tolist() == [2.0] * 4


def test_manual_seed_makes_init_and_dropout_reproducible():
    minifcn.manual_seed(3)
    w1, d1 = init.he_normal((4, 3, 3, 3)), F.dropout(np.ones(100), 0.5).numpy()
    minifcn.manual_seed(3)
    w2, d2 = init.he_normal((4, 3, 3, 3)), F.dropout(np.ones(100), 0.5).numpy()
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(d1, d2)
    minifcn.manual_seed(4)
    assert not np.array_equal(w1, init.he_normal((4, 3, 3, 3)))


def test_rng_state_round_trip():
    minifcn.manual_seed(5)
    state = backend.get_rng_state()
    a = backend.numpy_rng().random(5)
    backend.set_rng_state(state)
    np.testing.assert_array_equal(a, backend.numpy_rng().random(5))


def test_random_uniform_dtype_and_device(xp):
    u = backend.random_uniform(xp, (1000,), np.float32)
    assert backend.get_array_module(u) is xp and u.dtype == np.float32
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0


def test_cupy_round_trip_and_ops_agree_with_numpy(gpu):
    # on CuPy, or on its NumPy stand-in without a GPU (tests/fakecupy.py)
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    t = Tensor(x).to("cuda")
    assert isinstance(t.data, gpu.ndarray) and t.device == "cuda"
    y_gpu = F.conv2d(t, Tensor(W).to("cuda"), padding=1)
    np.testing.assert_allclose(y_gpu.numpy(), F.conv2d(x, W, padding=1).numpy(), atol=1e-10)
    net = minifcn.nn.Conv2d(2, 3, 3).to("cuda")
    assert all(isinstance(p.data, gpu.ndarray) for p in net.parameters())
    assert all(type(v) is np.ndarray for v in net.state_dict().values())  # host copies
    net.to("cpu")
    assert all(type(p.data) is np.ndarray for p in net.parameters())
    # mixing devices in one op is refused by name, not left to CuPy's TypeError
    with pytest.raises(ValueError, match=r"Conv2d: all inputs must be on one device.*input 0 on cpu.*cuda"):
        F.conv2d(Tensor(x), Tensor(W).to("cuda"), padding=1)


def test_a_gpu_index_is_pytorch_s_cuda(xp):
    """``net.to(0)``, PyTorch's GPU 0 (it had been refused as an unknown device '0')."""
    if xp is np:
        if not backend.gpu_available():
            with pytest.raises(ValueError, match=r"device 'cuda:0' asked for, but no CUDA GPU"):
                backend.check_device(0)
        return
    assert backend.check_device(0) == "cuda"
    net = minifcn.nn.Conv2d(1, 2, 3).to(0)
    assert backend.device_of(net.weight.data) == "cuda"
    with pytest.raises(ValueError, match="unknown device True"):
        backend.check_device(True)


def test_no_module_of_the_package_hides_one_of_the_standard_library():
    # minifcn/_pickle.py had: Python run inside minifcn/ (cd minifcn; python ...) imported it
    # for the standard library's _pickle, and NumPy's import failed
    import pathlib
    import sys
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:
        pytest.skip("sys.stdlib_module_names is Python 3.10+")
    root = pathlib.Path(__file__).resolve().parent.parent / "minifcn"
    clashes = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if p.stem in names)
    assert clashes == [], clashes
