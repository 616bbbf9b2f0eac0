"""CuPy's API beside NumPy's: what minifcn may call on a device array.

Without a GPU, tests/fakecupy.py plays CuPy; since CuPy 13.6 and 14.2 were read into
tests/cupy_api.py it refuses what they lack (a name, a parameter, a ufunc method, a sort
kind). The tests taking ``gpu`` hold on CuPy itself too: a session with a GPU
(``MINIFCN_DEVICE=cuda python -m pytest tests/test_cupy_compat.py``) checks that the stand-in's
refusals are CuPy's. The audit tests read minifcn's source for the calls no test reaches.
"""
import ast
import pathlib

import numpy as np
import pytest

import cupy_api
from minifcn import backend

LIBRARY = pathlib.Path(__file__).resolve().parent.parent / "minifcn"


# ------------------------------------------------------------------ the stand-in is CuPy's
@pytest.mark.parametrize("name", ["errstate", "frompyfunc", "geomspace", "insert",
                                  "nanquantile", "float128", "object_"])
def test_numpy_names_cupy_lacks_are_no_attributes(gpu, name):
    assert hasattr(np, name)
    assert not hasattr(gpu, name)


def test_cupys_names_are_there(gpu):
    a = gpu.asarray([3.0, 1.0, 2.0, 1.0])
    values, inverse = gpu.unique(a, return_inverse=True)
    assert backend.to_numpy(values).tolist() == [1.0, 2.0, 3.0]
    assert backend.to_numpy(values[inverse]).tolist() == [3.0, 1.0, 2.0, 1.0]
    assert int(gpu.searchsorted(values, gpu.asarray(2.0), side="right")) == 2
    counts = gpu.bincount(gpu.asarray([0, 2, 2]), weights=gpu.asarray([1.0, 2.0, 3.0]),
                          minlength=4)
    assert backend.to_numpy(counts).tolist() == [1.0, 0.0, 5.0, 0.0]
    rows = gpu.asarray([[2, 1], [1, 3], [1, 2]])
    order = gpu.lexsort(rows.T[::-1])                 # keys as one 2-d array, last key first
    assert backend.to_numpy(order).tolist() == [2, 1, 0]
    windows = gpu.lib.stride_tricks.as_strided(a, shape=(3, 2), strides=(8, 8))
    assert backend.to_numpy(windows).tolist() == [[3.0, 1.0], [1.0, 2.0], [2.0, 1.0]]


def test_arguments_cupy_has_no_parameter_for_are_refused(gpu):
    a = gpu.asarray([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        gpu.max(a, initial=0.0)                       # amax: a axis out keepdims
    with pytest.raises(TypeError):
        gpu.sum(a, where=a > 1)
    with pytest.raises(TypeError):
        a.max(initial=0.0)
    with pytest.raises(TypeError):
        a.item(0)                                     # CuPy's item() takes no index
    with pytest.raises(TypeError):
        a.take(gpu.asarray([0]), mode="clip")
    with pytest.raises(TypeError):
        gpu.add(a, 1.0, where=a > 1)                  # CuPy's ufuncs: out, dtype, casting
    assert float(gpu.max(a, keepdims=True)[0]) == 3.0 and a[1:2].item() == 2.0


def test_numpy_function_of_a_device_array_needs_cupys(gpu):
    a = gpu.asarray([1.0, 2.0])
    assert type(np.sum(a)) is gpu.ndarray             # NumPy hands it to cupy.sum
    with pytest.raises(TypeError, match="no implementation found"):
        np.insert(a, 0, 5.0)                          # CuPy has no insert
    with pytest.raises(TypeError):
        np.sum(a, where=a > 1)                        # cupy.sum has no where


def test_numpy_attributes_cupy_arrays_lack(gpu):
    a = gpu.zeros(3)
    for name in ("resize", "setflags", "getfield", "ctypes"):   # byteswap came in CuPy 14
        assert hasattr(np.zeros(3), name)
        with pytest.raises(AttributeError):
            getattr(a, name)


def test_a_device_scalar_is_no_index(gpu):
    """``cupy.ndarray`` has no ``__index__``: a 0-d device array (a count, an argmax) must go
    through ``int()`` (one device-to-host copy) before it is a length, an index or a bound."""
    n, a = gpu.asarray(2), gpu.arange(4)
    with pytest.raises(TypeError):
        range(n)
    with pytest.raises(TypeError):
        [0, 1, 2][n]
    with pytest.raises(TypeError):
        a[:n]
    assert backend.to_numpy(a[:int(n)]).tolist() == [0, 1] and int(a[n]) == 2   # an index array is fine


def test_ufunc_methods_only_where_cupy_has_them(gpu):
    a = gpu.asarray([[1.0, 5.0], [4.0, 2.0]])
    assert backend.to_numpy(gpu.add.reduce(a, axis=0)).tolist() == [5.0, 7.0]
    for reduce in (gpu.maximum.reduce, np.maximum.reduce):   # CuPy: add and multiply only
        with pytest.raises(NotImplementedError):
            reduce(a, axis=0)
    with pytest.raises(NotImplementedError):
        gpu.multiply.at(a, (gpu.asarray([0]),), 2.0)
    total = gpu.zeros(3, dtype=np.float32)
    gpu.add.at(total, gpu.asarray([0, 2, 0]), gpu.asarray([1.0, 2.0, 3.0], dtype=np.float32))
    assert backend.to_numpy(total).tolist() == [4.0, 0.0, 2.0]   # repeats add up


def test_add_at_of_int64_is_refused_as_on_cupy_13(stand_in):
    """CuPy 13's scatter-add has no int64 kernel (14 added one); the stand-in keeps to both."""
    counts = stand_in.zeros(3, dtype=np.int64)
    with pytest.raises(TypeError, match="add.at only supports"):
        stand_in.add.at(counts, stand_in.asarray([0, 0]), 1)
    counts32 = stand_in.zeros(3, dtype=np.int32)
    stand_in.add.at(counts32, stand_in.asarray([0, 0]), 1)
    assert backend.to_numpy(counts32).tolist() == [2, 0, 0]


def test_values_cupy_refuses(gpu):
    a = gpu.asarray([3.0, 1.0, 2.0])
    with pytest.raises(ValueError):
        gpu.argsort(a, kind="quicksort")              # None or "stable" only
    assert backend.to_numpy(gpu.argsort(a, kind="stable")).tolist() == [1, 2, 0]
    with pytest.raises(ValueError):
        gpu.pad(a, 1, mode="median")
    with pytest.raises((AttributeError, TypeError)):
        gpu.lexsort((a, a))                           # keys: one array, not a tuple


def test_the_stand_ins_own_calls_pass(stand_in):
    """NumPy's functions call methods and ufunc methods as NumPy likes (``np.mean`` runs
    ``add.reduce`` with ``where``): inside NumPy nothing is refused, as CuPy's own code runs there."""
    a = stand_in.asarray([[1.0, 2.0], [3.0, 4.0]])
    assert float(np.mean(a)) == 2.5 and float(stand_in.median(a)) == 2.5
    assert backend.to_numpy(stand_in.pad(a, 1, mode="reflect")).shape == (4, 4)


# ------------------------------------------------------------------ minifcn's source
def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "xp":
            yield node


def test_every_xp_name_in_minifcn_is_one_cupy_has():
    """``xp.<name>`` anywhere in minifcn (reached by a test or not) is a name CuPy 13.6 and
    14.2 have (tests/cupy_api.py), or CuPy's own (``asnumpy``)."""
    own = {"asnumpy", "ndarray", "cuda", "random"}
    missing = []
    for path in sorted(LIBRARY.rglob("*.py")):
        for node in _calls(ast.parse(path.read_text(), str(path))):
            if node.attr not in cupy_api.NAMES[""] and node.attr not in own:
                missing.append(f"{path.relative_to(LIBRARY.parent)}:{node.lineno}: xp.{node.attr}")
    assert not missing, "\n".join(missing)


def test_no_ufunc_method_in_minifcn_that_cupy_lacks():
    """``xp.<ufunc>.<method>`` in minifcn (``np.``'s run on host arrays): ``reduce`` and
    ``accumulate`` of add and multiply, ``reduceat`` of add, ``at`` of the scatter ufuncs (see
    fakecupy's ``_check_ufunc``) only; the rest run on NumPy, not CuPy."""
    allowed = {"reduce": {"add", "multiply"}, "accumulate": {"add", "multiply"},
               "reduceat": {"add"}, "outer": None,
               "at": {"add", "subtract", "maximum", "minimum"}}
    bad = []
    for path in sorted(LIBRARY.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Attribute) and node.attr in allowed
                    and isinstance(node.value, ast.Attribute)
                    and isinstance(node.value.value, ast.Name)
                    and node.value.value.id in ("xp", "np")
                    and isinstance(getattr(np, node.value.attr, None), np.ufunc)):
                ok = allowed[node.attr]
                if node.value.value.id == "xp" and ok is not None and node.value.attr not in ok:
                    bad.append(f"{path.relative_to(LIBRARY.parent)}:{node.lineno}")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------ fixes
def test_adam_loads_a_state_whose_scalar_moments_are_device_arrays(xp):
    """A 0-d parameter's moments are 0-d arrays; a state dict holding them on the device (as
    one moved there by hand, or PyTorch's on a GPU) loads: the count's test of its dtype read
    it with ``np.asarray``, which CuPy refuses (an implicit copy to the host)."""
    from minifcn import Tensor, optim
    from minifcn.nn import Parameter

    def run(state=None):
        p = Parameter(Tensor(xp.asarray(1.5)))
        opt = optim.Adam([p], lr=0.1)
        if state is not None:
            opt.load_state_dict(state)
        p.grad = xp.asarray(0.25)
        opt.step()
        return p, opt

    p, opt = run()
    state = opt.state_dict()
    on_device = {**state, "state": [{k: xp.asarray(v) if isinstance(v, np.ndarray) else v
                                     for k, v in s.items()} for s in state["state"]]}
    assert any(backend.device_of(v) == backend.device_of(p.data)
               for v in on_device["state"][0].values() if not isinstance(v, (int, float)))
    p1, opt1 = run(state)
    p2, opt2 = run(on_device)
    assert float(backend.to_numpy(p2.data)) == float(backend.to_numpy(p1.data))
    assert opt2.state_dict()["state"][0]["step"] == opt1.state_dict()["state"][0]["step"] == 2
