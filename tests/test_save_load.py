"""minifcn.save / minifcn.load: any tree of state dicts round-trips exactly, a state dict is
stored as it always was, a run saved mid-way goes on bit for bit, and errors say where."""
import io
import math
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import minifcn
from minifcn import Tensor, nn, optim
from minifcn import functional as F
from minifcn.checkpoint import TREE_FORMAT, load_checkpoint, save_checkpoint
from minifcn.optim import lr_scheduler
from minifcn.weights import load_npz, save_npz


def assert_same(got, want, where="state"):
    """``got`` is ``want`` rebuilt: same types all the way down, dicts in the same order,
    arrays of the same dtype and shape, floats to the bit (NaN and -0.0 included)."""
    assert type(got) is type(want), (where, type(got), type(want))
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            assert_same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(want, (np.ndarray, np.generic)):
        assert got.dtype == want.dtype and got.shape == want.shape, (where, got.dtype, want.dtype)
        assert np.asarray(got).tobytes() == np.ascontiguousarray(want).tobytes(), where
    elif isinstance(want, float):
        assert repr(got) == repr(want), where   # nan, inf, -0.0: to the bit
    else:
        assert got == want, where


def round_trip(obj, tmp_path, name="t.npz"):
    minifcn.save(obj, tmp_path / name)
    return minifcn.load(tmp_path / name)


TREES = {
    "scalars": {"int": 3, "big": 2 ** 100, "neg": -7, "float": 0.1, "third": 1 / 3, "minus_zero": -0.0,
                "nan": math.nan, "inf": -math.inf, "true": True, "false": False, "none": None,
                "str": "café \N{SNOWMAN}", "empty": ""},
    "numpy scalars": [np.float32(1.5), np.float64(0.1), np.int64(2 ** 62), np.int8(-3), np.uint16(9),
                      np.bool_(True), np.float16(0.5), np.complex128(1 + 2j), np.str_("x")],
    "arrays": {"f32": np.arange(6, dtype=np.float32).reshape(2, 3), "f64": np.linspace(0, 1, 7),
               "i64": np.arange(4, dtype=np.int64), "bool": np.array([True, False]),
               "zero_d": np.array(2.5), "zero_d_int": np.array(3, np.int64), "empty": np.zeros((0, 3)),
               "strided": np.arange(12.0).reshape(3, 4).T, "big_endian": np.arange(3, dtype=">f4"),
               "complex": np.array([1j, 2]), "strings": np.array(["ab", "c"]),
               "fortran": np.asfortranarray(np.arange(6).reshape(2, 3))},
    "containers": {"list": [1, [2, [3, []]]], "tuple": (1, (2.0, "3"), ()), "dict": {},
                   "nested": {"a": [{"b": (np.ones(2), None)}, {"c": {"d": np.int64(1)}}]},
                   "order": {"z": 1, "a": 2, "m": 3}},
    # dicts shaped like the file's own placeholders are still dicts
    "tag lookalikes": [{"__array__": "x"}, {"__tuple__": [1, 2]}, {"__scalar__": np.ones(1)},
                       {"__dict__": {"__array__": "y"}}, {"__array__": "x", "other": 1}],
    # names a path can make twice, and names np.savez's own parameters take
    "awkward names": {"a/b": np.ones(1), "a": {"b": np.zeros(1)}, "__meta__": np.arange(2),
                      "file": np.ones(3), "allow_pickle": np.ones(4), "": np.ones(5), "dot.ted": np.ones(6)},
    "a list of arrays": [np.ones(2), np.zeros(3, np.int64)],
    "an array alone": np.arange(5, dtype=np.int16),
    "a scalar alone": 42,
    "none alone": None,
    "a tuple alone": (np.float32(1), 2),
}


@pytest.mark.parametrize("name", list(TREES))
def test_trees_round_trip_exactly(tmp_path, name):
    assert_same(round_trip(TREES[name], tmp_path), TREES[name])


def test_the_arrays_are_entries_any_npz_reader_sees(tmp_path):
    tree = {"model": {"conv.weight": np.ones((2, 1, 3, 3), np.float32)},
            "optimizer": {"state": [{"step": 1, "exp_avg": np.zeros(3)}, None]}, "epoch": 3}
    minifcn.save(tree, tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert z.files == ["model/conv.weight", "optimizer/state/0/exp_avg", "__meta__"]
    state, meta = load_npz(tmp_path / "t.npz")   # the tree record: JSON, placeholders for the arrays
    assert meta["format"] == TREE_FORMAT and meta["tree"]["epoch"] == 3
    assert meta["tree"]["optimizer"]["state"][0] == {"step": 1, "exp_avg": {"__array__": "optimizer/state/0/exp_avg"}}


def test_a_state_dict_is_stored_as_it_always_was(tmp_path):
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
    state = net.state_dict()   # an OrderedDict of host arrays
    minifcn.save(state, tmp_path / "new.npz")
    save_npz(tmp_path / "old.npz", state)
    with zipfile.ZipFile(tmp_path / "new.npz") as a, zipfile.ZipFile(tmp_path / "old.npz") as b:
        assert [(i.filename, i.file_size, i.CRC) for i in a.infolist()] == \
               [(i.filename, i.file_size, i.CRC) for i in b.infolist()]
    got, meta = load_npz(tmp_path / "new.npz")   # weights.load_npz reads it: no tree record
    assert meta == {} and list(got) == list(state)
    loaded = minifcn.load(tmp_path / "new.npz")
    assert type(loaded) is dict
    assert_same(loaded, dict(state))
    # Parameters (Tensors) stand for their arrays, and still make a flat state dict
    minifcn.save(OrderedDict(net.named_parameters()), tmp_path / "params.npz")
    got, meta = load_npz(tmp_path / "params.npz")
    assert meta == {} and all(np.array_equal(got[k], p.data) for k, p in net.named_parameters())
    assert round_trip({}, tmp_path) == {}


def test_device_arrays_and_tensors_come_back_as_host_arrays(tmp_path, xp):
    a = xp.arange(6, dtype=xp.float32).reshape(2, 3)
    tree = {"a": a, "t": Tensor(xp.ones(2)), "p": nn.Parameter(xp.zeros(3, dtype=xp.float32)),
            "zero_d": xp.array(4.0)}
    got = round_trip(tree, tmp_path)
    assert all(type(v) is np.ndarray for v in got.values())
    assert np.array_equal(got["a"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert got["zero_d"].shape == () and got["zero_d"] == 4.0
    flat = {"w": a, "b": Tensor(xp.ones(2))}   # a state dict on the GPU: stored flat
    minifcn.save(flat, tmp_path / "flat.npz")
    assert load_npz(tmp_path / "flat.npz")[1] == {}


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 3, 1))


def _batches(n):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), rng.integers(0, 3, (2, 6, 6)))
            for _ in range(n)]


def _train(net, opt, sched, batches):
    for x, t in batches:
        opt.zero_grad()
        F.cross_entropy(net(Tensor(x)), t).backward()
        opt.step()
        sched.step()


OPTIMIZERS = {
    "Adam": lambda groups, lr: optim.Adam(groups, lr=lr, betas=(0.8, 0.99), weight_decay=1e-3),
    "AdamW amsgrad": lambda groups, lr: optim.AdamW(groups, lr=lr, amsgrad=True),
    "SGD nesterov": lambda groups, lr: optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4),
}


def _schedule(opt):   # a warm-up, then a cosine: nested scheduler state dicts
    return lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2),
                                           lr_scheduler.CosineAnnealingLR(opt, T_max=4)], milestones=[2])


@pytest.mark.usefixtures("host_default_device")
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_run_saved_mid_way_goes_on_bit_for_bit(tmp_path, name):
    make = OPTIMIZERS[name]
    batches = _batches(7)
    # the uninterrupted run
    net = _net()
    opt = make(optim.fcn_param_groups(net), 1e-2)
    sched = _schedule(opt)
    start = net.state_dict()
    _train(net, opt, sched, batches)
    # the same run, saved after 3 steps...
    net1 = _net()
    net1.load_state_dict(start)
    opt1 = make(optim.fcn_param_groups(net1), 1e-2)
    sched1 = _schedule(opt1)
    _train(net1, opt1, sched1, batches[:3])
    minifcn.save({"model": net1.state_dict(), "optimizer": opt1.state_dict(),
                  "scheduler": sched1.state_dict(), "epoch": 3}, tmp_path / "run.npz")
    # ...and loaded into fresh objects, built otherwise (another lr, other weights)
    ck = minifcn.load(tmp_path / "run.npz", map_location="cpu", weights_only=True)
    net2 = _net()
    opt2 = make(optim.fcn_param_groups(net2), 0.5)
    sched2 = _schedule(opt2)
    net2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optimizer"])
    sched2.load_state_dict(ck["scheduler"])
    assert ck["epoch"] == 3
    assert_same(opt2.state_dict(), opt1.state_dict())
    _train(net2, opt2, sched2, batches[3:])
    for (k, a), (k2, b) in zip(net2.state_dict().items(), net.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype and a.tobytes() == b.tobytes(), k
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert_same(opt2.state_dict(), opt.state_dict())
    assert_same(sched2.state_dict(), sched.state_dict())


def test_optimizer_and_scheduler_state_dicts_round_trip(tmp_path):
    net = _net()
    for opt in (optim.SGD(net.parameters(), lr=0.1, momentum=0.9), optim.Adam(net.parameters()),
                optim.AdamW(optim.fcn_param_groups(net), amsgrad=True)):
        scheds = [lr_scheduler.StepLR(opt, 2), lr_scheduler.MultiStepLR(opt, [1, 3]), _schedule(opt)]
        _train(net, opt, scheds[-1], _batches(2))
        tree = {"optimizer": opt.state_dict(), "schedulers": [s.state_dict() for s in scheds]}
        assert_same(round_trip(tree, tmp_path), tree)   # betas a tuple, step an int, buffers arrays


def test_file_objects(tmp_path):
    tree = {"model": {"w": np.ones((2, 2), np.float32)}, "epoch": 2, "betas": (0.9, 0.999)}
    buf = io.BytesIO()
    minifcn.save(tree, buf)
    buf.seek(0)
    assert_same(minifcn.load(buf), tree)
    with open(tmp_path / "t.npz", "wb") as f:   # written directly, left open
        minifcn.save(tree, f)
        assert not f.closed
    assert os.listdir(tmp_path) == ["t.npz"]
    with open(tmp_path / "t.npz", "rb") as f:
        assert_same(minifcn.load(f), tree)
    buf = io.BytesIO()
    minifcn.save({"w": np.arange(3)}, buf)        # a state dict, flat, to a file object too
    buf.seek(0)
    assert load_npz(buf)[1] == {}
    # a training checkpoint read from a file object: its model
    net = nn.Conv2d(1, 2, 3)
    save_checkpoint(tmp_path / "ck.npz", net, meta={"iteration": 1})
    with open(tmp_path / "ck.npz", "rb") as f:
        assert list(minifcn.load(f)) == ["weight", "bias"]
    with pytest.raises(ValueError, match=r"<BytesIO>: not a readable .npz"):
        minifcn.load(io.BytesIO(b"not a zip"))


def test_load_takes_pytorchs_keywords(tmp_path):
    minifcn.save({"w": np.ones(1)}, tmp_path / "w.npz")
    for map_location in (None, "cpu"):
        for weights_only in (None, True, False):
            minifcn.load(tmp_path / "w.npz", map_location, weights_only=weights_only)
    for bad in ("cuda", "cuda:0", {"cuda:0": "cpu"}, lambda storage, loc: storage):
        with pytest.raises(ValueError, match=r"map_location=.* is not supported: it loads host NumPy "
                                             r"arrays alone .*\.to\(device\)"):
            minifcn.load(tmp_path / "w.npz", map_location=bad)
    with pytest.raises(TypeError, match="weights_only must be None, True or False"):
        minifcn.load(tmp_path / "w.npz", weights_only="yes")
    with pytest.raises(TypeError):   # keyword-only, as PyTorch's
        minifcn.load(tmp_path / "w.npz", "cpu", True)


@pytest.mark.parametrize("obj, message", [
    ({"optimizer": {"groups": [{"params": {1, 2}}]}},
     r"state\['optimizer'\]\['groups'\]\[0\]\['params'\] holds a set: store a list"),
    ({"model": nn.Conv2d(1, 1, 1)}, r"state\['model'\] holds a Conv2d: save its state_dict\(\)"),
    (nn.Conv2d(1, 1, 1), r"state is a Conv2d: save its state_dict\(\)"),
    ({"opt": optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)}, r"state\['opt'\] holds a SGD: save its state_dict"),
    ({"optimizer": {"state": {0: {"step": 1}}}},
     r"state\['optimizer'\]\['state'\] has the key 0 of type int: keys must be str"),
    ([{("a", 1): 2}], r"state\[0\] has the key \('a', 1\) of type tuple"),
    ({"x": [np.ones(1), np.array([None, 1], dtype=object)]},
     r"state\['x'\]\[1\] is an array of dtype object: an .npz holds numbers"),
    ({"w": np.array([{}], dtype=object)}, r"state\['w'\] is an array of dtype object"),   # flat, too
    ({"z": 1 + 2j}, r"state\['z'\] holds a complex; minifcn.save stores dicts \(str keys\)"),
    ({"f": lambda: 0}, r"state\['f'\] holds a function"),
])
def test_what_cannot_be_stored_is_named_where_it_sits(tmp_path, obj, message):
    with pytest.raises(TypeError, match="minifcn.save: " + message):
        minifcn.save(obj, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []   # refused before anything was written


def test_a_cycle_is_refused():
    tree = {"a": [1]}
    tree["a"].append(tree)
    with pytest.raises(ValueError, match=r"state\['a'\]\[1\] is a dict it sits in \(a cycle\)"):
        minifcn.save(tree, io.BytesIO())
    shared = np.ones(2)   # the same array twice is no cycle: stored twice
    got = minifcn.load(_saved([shared, shared]))
    assert np.array_equal(got[0], got[1]) and got[0] is not got[1]


def _saved(obj):
    buf = io.BytesIO()
    minifcn.save(obj, buf)
    buf.seek(0)
    return buf


def test_a_save_cut_short_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    minifcn.save({"epoch": 1, "w": np.ones(3)}, path)
    with pytest.raises(TypeError, match="holds a set"):   # found before the file is opened
        minifcn.save({"epoch": 2, "w": np.zeros(3), "later": [np.ones(1), {3}]}, path)
    assert os.listdir(tmp_path) == ["run.npz"]
    calls = []

    def write_array(f, array, **kwargs):   # dies at the second array, half-way through the zip
        calls.append(1)
        if len(calls) == 2:
            f.write(b"\x93NUMPY partial")
            raise KeyboardInterrupt
        return real(f, array, **kwargs)
    real = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", write_array)
    with pytest.raises(KeyboardInterrupt):
        minifcn.save({"epoch": 2, "w": np.zeros(3), "v": np.zeros(2)}, path)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        minifcn.save({"w": np.zeros(3), "v": np.zeros(2)}, tmp_path / "new.npz")   # flat, new
    assert os.listdir(tmp_path) == ["run.npz"]          # no temporary file, no new file
    monkeypatch.undo()
    assert_same(minifcn.load(path), {"epoch": 1, "w": np.ones(3)})   # the old one intact


def test_a_corrupt_or_newer_tree_record_is_named(tmp_path):
    save_npz(tmp_path / "a.npz", {}, {"format": TREE_FORMAT, "version": 1, "tree": {"__array__": "gone"}})
    with pytest.raises(ValueError, match=r"a\.npz: its minifcn.save record is corrupt \(KeyError: 'gone'\)"):
        minifcn.load(tmp_path / "a.npz")
    save_npz(tmp_path / "b.npz", {}, {"format": TREE_FORMAT, "version": 99, "tree": None})
    with pytest.raises(ValueError, match=r"b\.npz: a minifcn.save file of version 99; .*update minifcn"):
        minifcn.load(tmp_path / "b.npz")
    # the trainer's resume wants its own checkpoint, and says how to read this one
    minifcn.save({"model": {"w": np.ones(1)}, "epoch": 1}, tmp_path / "t.npz")
    with pytest.raises(ValueError, match=r"not a minifcn training checkpoint .*minifcn.save wrote it .*"
                                         r"ck = minifcn.load\(path\)"):
        load_checkpoint(tmp_path / "t.npz")


def test_loading_a_torch_save_file_names_it(tmp_path):
    # it had come back as the zip's raw members ('c/data.pkl': bytes), which load_state_dict
    # then called unexpected keys
    torch = pytest.importorskip("torch")
    import minifcn
    path = tmp_path / "m.pth"
    torch.save(torch.nn.Conv2d(1, 2, 3).state_dict(), path)
    with pytest.raises(ValueError, match=r"m\.pth: not an \.npz weights file \(a PyTorch file .*load_torch_state"):
        minifcn.load(path)
