"""The benchmark harness's bookkeeping (not its timings: speed is measured in benchmarks/, never
asserted in a test)."""
import gc
import os

import pytest


def _benchmark(name):
    """``benchmarks.<name>``, imported without its thread settings: importing benchmarks.common
    fixes the thread variables for the benchmarks; keep them out of the rest of the session."""
    import importlib
    before = dict(os.environ)
    module = importlib.import_module(f"benchmarks.{name}")
    os.environ.clear()
    os.environ.update(before)
    return module


def test_time_pair_times_blocks_after_an_untimed_lead_in(monkeypatch):
    common = _benchmark("common")
    # a clock that only the calls move: "a" takes 2**-8 s (3.9 ms), "b" 2**-5 s (31 ms); powers
    # of two, so the sums are exact
    clock = [0.0]
    monkeypatch.setattr(common.time, "perf_counter", lambda: clock[0])
    calls = {"a": 0, "b": 0}

    def a():
        calls["a"] += 1
        clock[0] += 2**-8

    def b():
        calls["b"] += 1
        clock[0] += 2**-5

    res = common.time_pair([a, None, b], min_repeats=6, min_time=0.0, max_repeats=6,
                           warmup=1, block=3, lead_in=2**-6)
    # one warm-up call, then two rounds of three timed calls, each after 2**-6 s of untimed ones:
    # four calls of "a", a single call of "b" (one is always made)
    assert calls == {"a": 1 + 2 * (4 + 3), "b": 1 + 2 * (1 + 3)}
    assert res == [(2**-8, 2**-8), (None, None), (2**-5, 2**-5)]
    assert gc.get_freeze_count() == 0   # the collector gets the frozen objects back


def test_time_pair_defaults_time_every_call():
    common = _benchmark("common")
    calls = []
    res = common.time_pair([lambda: calls.append(1)], min_repeats=4, min_time=0.0, max_repeats=4,
                           warmup=2)
    assert len(calls) == 2 + 4 and res[0][1] <= res[0][0]


def test_steady_malloc_fixes_glibcs_thresholds_in_a_child(tmp_path):
    # in a child process (the thresholds cannot be unset): on glibc the call succeeds and is
    # reported, elsewhere it says so
    import platform
    import subprocess
    import sys
    code = ("from benchmarks import common; print(common.STEADY_MALLOC, common.steady_malloc(), "
            "common.STEADY_MALLOC, any('thresholds: mmap 32 MiB' in l for l in common.environment()))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    glibc = platform.libc_ver()[0] == "glibc"
    assert out.stdout.split() == ["False", str(glibc), str(glibc), str(glibc)]


def test_the_step_benchmark_s_narrow_twins_compute_what_minifcn_does():
    # --width / --batch / --classes (the main job's step): the PyTorch twins must scale their
    # channels as minifcn does, or the run would time two different models
    import pytest
    torch = pytest.importorskip("torch")
    train_step = _benchmark("train_step")
    for name in ("fcn8s", "segnet"):
        _, model = train_step.minifcn_step(name, 64, 64, width=1 / 16, batch=2, classes=6)
        _, tmodel = train_step.torch_step(name, 64, 64, torch, model.state_dict(), width=1 / 16,
                                          batch=2, classes=6)
        assert train_step._twin_error(model, tmodel) < 1e-4   # also: every parameter name matched


def test_the_step_benchmark_takes_widths_as_fractions():
    import argparse
    import pytest
    fraction = _benchmark("train_step")._fraction
    assert fraction("1/16") == fraction("0.0625") == 1 / 16
    for bad in ("0", "-1/8", "1/0", "a/b"):
        with pytest.raises(argparse.ArgumentTypeError, match="got"):
            fraction(bad)


@pytest.mark.parametrize("model", ["segnet", "bayesian-segnet"])
def test_the_twin_trainer_takes_minifcn_s_steps_in_pytorch(tmp_path, monkeypatch, model):
    # benchmarks/twin_train.py blames a poor run on the recipe only if PyTorch really ran the
    # same recipe: same initial weights, batches, schedule, decay, momentum and clipping. A
    # large decay, no warm-up and a tight clip make each of them show in three steps of SegNet.
    # At lr 0.02 the two libraries' weights then agree to 4e-5 of their change; at SegNet's lr
    # 0.2 float32 rounding alone (1e-4 after one step) grows to 10-60 % of the change by the
    # third: its trajectory is chaotic there, which is why the seed (or any other rounding)
    # moves its final score. Bayesian SegNet's dropout draws its masks here from one stream for
    # both libraries (each draws its own in twin_train), so its steps must agree as well
    import dataclasses
    import numpy as np
    torch = pytest.importorskip("torch")
    from minifcn import backend
    from minifcn.train import TrainConfig, Trainer
    twin_train = _benchmark("twin_train")
    torch_models = _benchmark("torch_models")

    def masks():   # uniform draws, as minifcn's backend.random_uniform gives them
        rng = np.random.default_rng(7)
        return lambda shape: rng.random(tuple(shape), dtype=np.float32)

    cfg = TrainConfig(model=model, width=1 / 16, image_size=32, num_train=8, num_val=4,
                      batch_size=2, iters=3, val_every=3, grid_size=0, lr=0.02, warmup=0,
                      weight_decay=0.05, grad_clip=0.5, data_root=str(tmp_path / "data"),
                      out=str(tmp_path / "minifcn"))
    ours = Trainer(cfg, progress=False)
    draw = masks()
    monkeypatch.setattr(backend, "random_uniform", lambda xp, shape, dtype: draw(shape))
    ours.run()
    theirs = twin_train.TwinTrainer(dataclasses.replace(cfg, out=str(tmp_path / "torch")), torch,
                                    progress=False)
    tdraw, drops = masks(), []

    def dropout(h, p, training):   # minifcn's inverted dropout, on the same draws
        if not training:
            return h
        drops.append(p)
        return h * torch.from_numpy(tdraw(h.shape) >= p) / (1 - p)
    monkeypatch.setattr(torch_models.F, "dropout", dropout)
    start = {k: v.copy() for k, v in theirs.model.state_dict().items()}
    theirs.run()
    assert len(drops) == (0 if model == "segnet" else 6 * 3)   # six places, three steps
    a, b = ours.model.state_dict(), theirs.model.state_dict()
    assert a.keys() == b.keys()
    # a conv's bias before batch norm has a zero gradient but for rounding: nothing to compare
    checked = [k for k in a if not (k.endswith(".bias") and k[:-5] + "_bn.weight" in a)]
    for k in checked:
        moved = np.abs(a[k] - start[k]).max()
        assert moved > 0, k
        assert np.abs(a[k] - b[k]).max() <= 1e-3 * moved, k   # 0.1 % of the change
    assert len(checked) > 50


def test_the_twin_trainer_mirrors_fcn_s_parameter_groups(tmp_path):
    import pytest
    torch = pytest.importorskip("torch")
    from minifcn.train import TrainConfig
    twin_train = _benchmark("twin_train")
    cfg = TrainConfig(model="fcn8s", image_size=32, num_train=2, num_val=1, iters=1,
                      data_root=str(tmp_path / "data"), out=str(tmp_path / "torch"))
    t = twin_train.TwinTrainer(cfg, torch, progress=False)
    names = {id(p): n for n, p in t.model.named_parameters()}
    tnames = {id(p): n for n, p in t.tmodel.named_parameters()}
    ours = [([names[id(p)] for p in g["params"]], g["lr_mult"], g["weight_decay"])
            for g in t.optimizer.param_groups]
    theirs = [([tnames[id(p)] for p in g["params"]], g["lr_mult"], g["weight_decay"])
              for g in t.toptimizer.param_groups]
    assert ours == theirs and [g[1:] for g in ours] == [(1.0, 5e-4), (2.0, 0.0)]


def test_the_bayesian_segnet_twin_drops_out_where_minifcn_does(monkeypatch):
    # twin_train's Bayesian SegNet: dropout after encoder blocks 3-5 and decoder blocks 5-3, the
    # same six places (the shapes each one sees, in order) as minifcn's BayesianSegNet
    import numpy as np
    import pytest
    torch = pytest.importorskip("torch")
    from minifcn import Tensor, nn
    from minifcn.models import BayesianSegNet
    torch_models = _benchmark("torch_models")
    ours, theirs = [], []
    forward = nn.Dropout.forward
    monkeypatch.setattr(nn.Dropout, "forward", lambda self, x: ours.append(tuple(x.shape)) or forward(self, x))
    dropout = torch_models.F.dropout
    monkeypatch.setattr(torch_models.F, "dropout",
                        lambda h, p, training: theirs.append((tuple(h.shape), p)) or dropout(h, p, training))
    x = np.random.default_rng(0).standard_normal((1, 3, 45, 67)).astype(np.float32)
    BayesianSegNet(4, width=1 / 16, p=0.3).train()(Tensor(x))
    torch_models.TorchSegNet(4, width=1 / 16, dropout=0.3).train()(torch.from_numpy(x))
    assert len(ours) == 6 and theirs == [(s, 0.3) for s in ours]


def test_the_twin_trainer_has_a_twin_of_each_model_it_offers(tmp_path):
    # TwinTrainer refuses a twin whose eval-mode output differs from minifcn's by 1e-4 or more
    import pytest
    torch = pytest.importorskip("torch")
    from minifcn.train import TrainConfig
    twin_train = _benchmark("twin_train")
    for model in twin_train.MODELS:
        cfg = TrainConfig(model=model, width=1 / 16, image_size=40, num_train=2, num_val=1, iters=1,
                          data_root=str(tmp_path / "data"), out=str(tmp_path / model))
        t = twin_train.TwinTrainer(cfg, torch, progress=False)
        assert type(t.tmodel).__name__.lower().startswith("torch"), model
    twin = twin_train.torch_twin(TrainConfig(model="segnet-basic", model_kwargs={"lrn": False}), 6, torch)
    assert twin.norm is None
    with pytest.raises(ValueError, match="no PyTorch twin of 'fcn32s'"):
        twin_train.torch_twin(TrainConfig(model="fcn32s"), 6, torch)


def test_the_kernel_profile_sets_pytorch_s_twin_beside_minifcn_s_step(capsys):
    pytest.importorskip("torch")
    profile = _benchmark("profile_kernels")
    profile.main(["--model", "segnet", "--size", "32", "--width", "0.0625", "--classes", "3",
                  "--steps", "1", "--warmup", "1", "--torch"])
    out = capsys.readouterr().out
    ours, theirs = out.split("PyTorch's twin")
    assert "conv.conv2d_grads" in ours and "norm.batch_norm_train" in ours
    assert "conv" in theirs and "batch_norm" in theirs   # aten:: names, which vary by size
    from minifcn.kernels import conv
    assert not hasattr(conv.conv2d, "__wrapped__"), "the kernels' timers were left in place"


def test_the_kernel_profile_has_twins_of_two_models_only(capsys):
    profile = _benchmark("profile_kernels")
    with pytest.raises(SystemExit) as e:   # a usage error, and this one (not any argparse error)
        profile.main(["--model", "segnet-basic", "--torch"])
    assert e.value.code == 2
    assert "twin of the step exists for fcn8s and segnet, not segnet-basic" in capsys.readouterr().err


def test_step_flops_count_every_image_of_the_batch():
    # the FLOPs had been one image's whatever the batch: the main job's GFLOP/s read 8x too low
    torch = pytest.importorskip("torch")
    train_step = _benchmark("train_step")
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ConvTranspose2d(4, 2, 4, 2))
    net[1].weight.requires_grad_(False)          # frozen, as FCN's upsamplings: no weight gradient
    conv = 2 * 4 * 3 * 9 * 16 * 20 * 2           # forward and weight gradient (the image needs none)
    up = 2 * 4 * 2 * 16 * 16 * 20 * 2            # on the input's pixels: forward and input gradient
    for batch in (1, 3):
        assert train_step.step_flops(net, 16, 20, torch, batch) == batch * (conv + up)


def test_the_peak_memory_can_be_reset_to_the_present():
    common = _benchmark("common")
    import numpy as np
    big = np.ones(64 * 2**20 // 8)               # 64 MiB touched, then freed
    del big
    before = common.peak_rss_mib()
    common.reset_peak_rss()
    after = common.peak_rss_mib()
    if os.path.exists("/proc/self/clear_refs"):
        assert after <= before - 32
    else:
        assert after == before
