"""``minifcn bench``: its FLOP counter, its timed step (the trainer's own), its command line.

Speed itself is never asserted (it is what the command measures); what is checked is that
the figures are of the right work: the FLOPs against hand counts and against the PyTorch-based
count of ``benchmarks/train_step.py``, the timed step against ``minifcn train``'s steps.
"""
import json
import math
import types

import numpy as np
import pytest

from minifcn import Tensor, backend, bench, cli, nn
from minifcn.bench import FlopCounter, count_flops
from minifcn.models import build_model
from minifcn.train import TrainConfig, Trainer


# ----------------------------------------------------------------------------- FLOPs
def test_flop_counter_matches_a_hand_count_of_one_convolution():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = Tensor(np.zeros((2, 3, 8, 8), np.float32))
    with FlopCounter(conv) as count:
        conv(x)
    macs = 2 * (4 * 8 * 8) * (3 * 3 * 3)        # 2 images, 4x8x8 outputs, each 3 channels x 3x3
    assert count.forward == 2 * macs
    assert count.step == 2 * 2 * macs            # forward and weight gradient: the image needs none
    with FlopCounter(conv) as count:
        conv(Tensor(np.zeros((2, 3, 8, 8), np.float32), requires_grad=True))
    assert count.step == 3 * 2 * macs            # an input that needs a gradient: the third product


def test_flop_counter_counts_transposed_convolutions_on_their_input_and_linear_layers():
    up = nn.ConvTranspose2d(4, 2, 4, stride=2, bias=False)
    up.weight.requires_grad = False              # frozen, as FCN's upsamplings: no weight gradient
    fc = nn.Linear(10, 3)
    with FlopCounter(up) as a, FlopCounter(fc) as b:
        up(Tensor(np.zeros((1, 4, 5, 5), np.float32), requires_grad=True))
        fc(Tensor(np.zeros((7, 10), np.float32)))
    up_macs = (5 * 5) * 4 * (2 * 4 * 4)          # each input value spread on 2 channels x 4x4
    assert (a.forward, a.step) == (2 * up_macs, 2 * 2 * up_macs)   # forward, input gradient
    assert (b.forward, b.step) == (2 * 7 * 10 * 3, 2 * 2 * 7 * 10 * 3)


def test_flop_counter_removes_its_hooks():
    conv = nn.Conv2d(1, 1, 3)
    with FlopCounter(conv) as count:
        conv(Tensor(np.zeros((1, 1, 5, 5), np.float32)))
    conv(Tensor(np.zeros((1, 1, 5, 5), np.float32)))
    assert count.forward == 2 * 9 * 9 and not conv._forward_hooks


@pytest.mark.parametrize("name", ["fcn8s", "segnet"])
def test_flops_agree_with_the_step_benchmark_s_count_on_pytorch(name):
    torch = pytest.importorskip("torch")
    from test_benchmarks import _benchmark   # benchmarks/ imported without its thread settings
    train_step = _benchmark("train_step")
    from benchmarks.torch_models import TorchFCN8s, TorchSegNet
    h, w, batch, width = 48, 64, 2, 1 / 16
    tmodel = (TorchFCN8s if name == "fcn8s" else TorchSegNet)(21, width=width)
    theirs = train_step.step_flops(tmodel, h, w, torch, batch)
    model = build_model(name, 21, width)
    _, ours = count_flops(model, np.zeros((batch, 3, h, w), np.float32))
    assert ours == theirs


def test_count_flops_leaves_the_mode_and_batch_norm_averages_as_they_were():
    model = build_model("segnet", 3, 1 / 32)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.train()
    count_flops(model, np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32))
    assert model.training
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


# ----------------------------------------------------------------------------- the timed step
class _OneBatch:
    """A training set holding exactly the bench's batch, for a Trainer of the test's own."""

    def __init__(self, x, y, classes):
        self.x, self.y, self.classes = x, y, tuple(f"c{k}" for k in range(classes))
        self.num_classes = classes

    def __len__(self):
        return len(self.x)

    def load(self, i):
        return self.x[i], self.y[i]

    def get(self, i, rng=None):
        return self.load(i)


@pytest.mark.parametrize("name", ["fcn8s", "segnet"])
def test_the_timed_steps_are_minifcn_train_s_steps(name, tmp_path):
    steps, iters = 3, 20
    trainer, x, y = bench.make_trainer(name, (32, 32), batch=1, classes=3, iters=iters)
    start = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    step = bench.training_step(trainer, x, y)
    step()
    changed = [k for k, v in trainer.model.state_dict().items() if not np.array_equal(v, start[k])]
    assert "conv1_1.weight" in changed
    for _ in range(steps - 1):
        step()
    # the same steps as `minifcn train --model NAME --batch-size 1 --iters 20` takes on that
    # image (validations put off: they change no weight, and would write pictures)
    cfg = TrainConfig(model=name, batch_size=1, iters=iters, val_every=1000)
    ref = Trainer(cfg, datasets=(_OneBatch(x, y, 3),) * 2, out=tmp_path, progress=False)
    ref.run(until=steps)
    assert trainer.iteration == ref.iteration == steps
    mine, theirs = trainer.model.state_dict(), ref.model.state_dict()
    for k in theirs:
        np.testing.assert_array_equal(mine[k], theirs[k], err_msg=k)


def test_bench_case_reports_positive_figures_and_the_estimate():
    r = bench.bench_case("fcn32s", (32, 32), batch=2, width=1 / 16, classes=3, repeats=2,
                         warmup=1, iters=7, peak_gflops=10.0)
    assert r["train_best_s"] <= r["train_median_s"] and r["infer_best_s"] <= r["infer_median_s"]
    assert r["train_images_per_s"] == pytest.approx(2 / r["train_median_s"])
    assert r["estimate_s"] == pytest.approx(7 * r["train_median_s"]) and r["iters"] == 7
    fwd, step = count_flops(build_model("fcn32s", 3, 1 / 16), np.zeros((2, 3, 32, 32), np.float32))
    assert (r["forward_gflop"], r["step_gflop"]) == (fwd / 1e9, step / 1e9)
    assert r["train_peak_fraction"] == pytest.approx(r["train_gflops"] / 10.0)


def test_default_iters_are_what_the_trainer_runs_on_the_synthetic_training_set(tmp_path):
    x, y = bench.random_batch(TrainConfig.num_train, (16, 16), 6)   # as many images as it has
    for batch in (8, 3):
        ref = Trainer(TrainConfig(batch_size=batch), datasets=(_OneBatch(x, y, 6),) * 2, out=tmp_path,
                      progress=False)
        assert bench.default_iters(batch) == ref.max_iter


def test_bench_on_the_gpu_path_synchronises_and_reads_the_memory_pool(gpu, monkeypatch, capsys):
    calls = {"sync": 0}
    if gpu.__name__ == "fakecupy":   # CuPy's calls that the stand-in lacks
        class Pool:
            def total_bytes(self):
                return (3 << 20) * calls["sync"]   # grows as the work goes on
            def free_all_blocks(self):
                pass

        def synchronize():
            calls["sync"] += 1
        device = types.SimpleNamespace(synchronize=synchronize, id=0)
        monkeypatch.setattr(gpu, "cuda", types.SimpleNamespace(
            is_available=lambda: True, Device=lambda *a: device,
            runtime=types.SimpleNamespace(getDeviceProperties=lambda i: {"name": b"Stand-in GPU"})))
        monkeypatch.setattr(gpu, "get_default_memory_pool", Pool, raising=False)
        monkeypatch.setattr(gpu, "__version__", "0-stand-in", raising=False)
        monkeypatch.setitem(bench.PEAK_SIZES, "cuda", (256,))   # the GPU's squares, on the CPU
    assert cli.main(["bench", "--device", "cuda", "--size", "32", "--width", "1/16",
                     "--batch", "1", "--repeats", "2", "--warmup", "1"]) == 0
    out = capsys.readouterr().out
    assert "device: cuda" in out and "GPU: " in out and "CuPy memory pool" in out
    if gpu.__name__ == "fakecupy":
        assert "Stand-in GPU" in out
        # each timed call has the device waited for before and after it: 2 training steps and
        # 2 inference passes, besides the matmul peak's
        assert calls["sync"] >= 2 * (2 + 2)


# ----------------------------------------------------------------------------- the command
def test_the_command_prints_the_table_and_the_estimate_and_writes_json(tmp_path, capsys):
    path = tmp_path / "sub" / "bench.json"
    assert cli.main(["bench", "--size", "32", "--width", "1/16", "--repeats", "1",
                     "--batch", "2", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, l in enumerate(lines) if l.startswith("model"))
    assert lines[header].split()[:4] == ["model", "size", "batch", "width"]
    assert lines[header + 1].split()[:4] == ["fcn8s", "32x32", "2", "1/16"]
    iters = TrainConfig.epochs * math.ceil(TrainConfig.num_train / 2)   # train's at batch 2
    assert any(l.startswith("fcn8s 32x32, batch 2") and f"{iters} iterations x" in l
               and "of training steps" in l for l in lines)
    assert "threads: MINIFCN_NUM_THREADS=" in out and "numpy " in out
    doc = json.loads(path.read_text())
    (case,) = doc["cases"]
    assert doc["sgemm_peak_gflops"] > 0
    assert all(case[k] > 0 for k in ("train_median_s", "train_best_s", "infer_median_s",
                                     "infer_best_s", "step_gflop", "estimate_s"))
    assert case["iters"] == iters and case["width"] == 1 / 16 and case["size"] == [32, 32]
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]   # no temporary file left


def test_the_command_times_the_product_of_models_and_sizes(capsys):
    assert cli.main(["bench", "--model", "fcn32s", "segnet-basic", "--size", "32", "16x24",
                     "--width", "1/32", "--batch", "1", "--repeats", "1", "--warmup", "1"]) == 0
    rows = [l.split()[:2] for l in capsys.readouterr().out.splitlines()
            if l.split()[:1] in (["fcn32s"], ["segnet-basic"]) and "iterations" not in l]
    assert rows == [["fcn32s", "32x32"], ["fcn32s", "16x24"], ["segnet-basic", "32x32"],
                    ["segnet-basic", "16x24"]]


@pytest.mark.parametrize("args, named", [
    (["--size", "0"], "'0'"), (["--size", "32x"], "'32x'"), (["--size", "big"], "'big'"),
    (["--batch", "0"], "got 0"), (["--width", "0"], "'0'"), (["--repeats", "0"], "got 0"),
    (["--warmup", "0"], "got 0"), (["--iters", "-3"], "got -3"),
])
def test_bad_arguments_are_usage_errors_naming_the_value(args, named, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["bench", *args])
    assert e.value.code == 2
    assert named in capsys.readouterr().err


def test_an_unknown_model_and_a_json_directory_are_errors_naming_them(tmp_path, capsys):
    assert cli.main(["bench", "--model", "fcn8s", "unet", "--size", "32"]) == 2
    assert "unknown model 'unet'" in capsys.readouterr().err
    assert cli.main(["bench", "--json", str(tmp_path), "--size", "32"]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_cuda_without_a_gpu_gets_the_trainer_s_message(monkeypatch, capsys):
    monkeypatch.setattr(backend, "_gpu_available", False)
    assert cli.main(["bench", "--device", "cuda", "--size", "32"]) == 2
    err = capsys.readouterr().err
    with pytest.raises(ValueError) as trainer_s:
        backend.check_device("cuda")       # what Trainer(device="cuda") raises
    assert str(trainer_s.value) in err
