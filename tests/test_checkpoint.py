"""Checkpoints: exact round trip of model + optimizer state, and clear errors for bad files."""
import os

import numpy as np
import pytest

from minifcn import Tensor, nn, optim
from minifcn import functional as F
from minifcn.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from minifcn.weights import _META_KEY, load_npz, save_npz


def _net_and_opt():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))
    opt = optim.SGD(optim.fcn_param_groups(net), lr=0.1, momentum=0.9)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32))
    F.cross_entropy(net(x), np.zeros((2, 5, 5), np.int64)).backward()
    opt.step()  # momentum buffers now exist, BN running stats moved
    return net, opt


def test_round_trip_is_exact(tmp_path):
    net, opt = _net_and_opt()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, net, opt, {"iteration": 3, "big": 2 ** 100}, {"trainer/order": np.arange(5)})
    ck = load_checkpoint(path)
    for k, v in net.state_dict().items():
        assert np.array_equal(ck["model"][k], v), k
    saved = opt.state_dict()
    assert ck["optim"]["base_lr"] == saved["base_lr"]
    for a, b in zip(ck["optim"]["velocity"], saved["velocity"]):
        assert np.array_equal(a, b)
    assert ck["meta"]["iteration"] == 3 and ck["meta"]["big"] == 2 ** 100  # big ints (RNG states) survive
    assert np.array_equal(ck["arrays"]["trainer/order"], np.arange(5))
    # a fresh optimizer loaded from it continues with the same buffers
    net2, opt2 = _net_and_opt()
    opt2.load_state_dict(ck["optim"])
    assert all(np.array_equal(a, b) for a, b in zip(opt2.state_dict()["velocity"], saved["velocity"]))
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # no temporary left behind


def test_truncated_checkpoint_names_the_file(tmp_path):
    net, opt = _net_and_opt()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, net, opt, {"iteration": 1})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"ck\.npz.*truncated or corrupt"):
        load_checkpoint(path)


def test_foreign_and_missing_files(tmp_path):
    weights = tmp_path / "weights.npz"
    save_npz(weights, {"conv.weight": np.ones((1, 1, 1, 1))})
    with pytest.raises(ValueError, match="not a minifcn training checkpoint"):
        load_checkpoint(weights)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_checkpoint(tmp_path / "nope.npz")
    text = tmp_path / "log.csv"         # the wrong file of a run: named, and no pickle advice
    text.write_text("epoch,iteration\n")
    with pytest.raises(ValueError, match=r"log\.csv.*not a zip archive: it starts with b'epoch,'") as e:
        load_checkpoint(text)
    assert "pickle" not in str(e.value)
    np.save(tmp_path / "a.npy", np.ones(2))   # had been "'numpy.ndarray' object does not support
    with pytest.raises(ValueError, match=r"a\.npy.*a single \.npy array"):   # the context manager
        load_checkpoint(tmp_path / "a.npy")                                 # protocol"
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory, not a checkpoint file .*no checkpoint.npz"):
        load_checkpoint(run)   # had been "not found"
    save_npz(run / "checkpoint.npz", {"model/w": np.ones(1)}, {"format": CHECKPOINT_FORMAT,
                                                              "optim": {"base_lr": 0.1}})
    # a run's directory stands for its checkpoint.npz (--resume runs/x, as --out wrote it)
    with pytest.raises(ValueError, match=r"run/checkpoint\.npz: its optimizer record is incomplete .*num_params"):
        load_checkpoint(run)
    np.savez(tmp_path / "list.npz", **{"model/w": np.ones(1), _META_KEY: np.array("[1, 2]")})
    with pytest.raises(ValueError, match="metadata is a JSON list, not an object"):   # AttributeError
        load_checkpoint(tmp_path / "list.npz")


def test_extra_array_names_cannot_clash(tmp_path):
    net, opt = _net_and_opt()
    with pytest.raises(ValueError, match="clashes"):
        save_checkpoint(tmp_path / "ck.npz", net, opt, {}, {"model/x": np.zeros(1)})


def test_save_and_load_state_dicts_as_torch_save_and_load(tmp_path):
    import minifcn
    from minifcn.models import SegNetBasic
    net = SegNetBasic(num_classes=3, width=1 / 16)
    path = tmp_path / "net.npz"
    minifcn.save(net.state_dict(), path)
    again = SegNetBasic(num_classes=3, width=1 / 16)
    assert any(not np.array_equal(a, b) for a, b in zip(again.state_dict().values(), net.state_dict().values()))
    again.load_state_dict(minifcn.load(path))
    for (k, a), (k2, b) in zip(again.state_dict().items(), net.state_dict().items()):
        assert k == k2 and np.array_equal(a, b) and a.dtype == b.dtype, k
    # a training checkpoint, or its run's directory: the model's state dict
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(run / "checkpoint.npz", net, meta={"iteration": 3})
    for where in (run, run / "checkpoint.npz"):
        state = minifcn.load(where)
        assert list(state) == list(net.state_dict()), where
    with pytest.raises(TypeError, match=r"state is a SegNetBasic: save its state_dict\(\)"):
        minifcn.save(net, path)


def test_load_state_dict_names_what_it_was_given(tmp_path):
    from minifcn import nn
    net = nn.Conv2d(1, 2, 3)
    save_npz(tmp_path / "w.npz", net.state_dict())
    with pytest.raises(TypeError, match=r"got tuple: weights.load_npz returns \(state, meta\)"):
        net.load_state_dict(load_npz(tmp_path / "w.npz"))   # had been "unhashable type: 'dict'"
    with pytest.raises(TypeError, match="expected a mapping of names to arrays, got list"):
        net.load_state_dict([1, 2])
    # a bare state dict where a training checkpoint is wanted: the error says how to use it
    with pytest.raises(ValueError, match=r"bare weights .*net.load_state_dict\(minifcn.load\(path\)\)"):
        load_checkpoint(tmp_path / "w.npz")


def test_save_checkpoint_refuses_other_optimizers_and_says_what_to_use(tmp_path):
    net = nn.Conv2d(1, 2, 3)
    for make in (optim.Adam, optim.AdamW):
        opt = make(net.parameters(), lr=1e-3)
        with pytest.raises(TypeError, match=rf"momentum buffers, got a {make.__name__}: .*"
                                            r"minifcn.save\(\{'model': model.state_dict\(\), "
                                            r"'optimizer': optimizer.state_dict\(\)\}, path\)"):
            save_checkpoint(tmp_path / "ck.npz", net, opt)   # had been KeyError: 'velocity'
    assert not list(tmp_path.iterdir())
