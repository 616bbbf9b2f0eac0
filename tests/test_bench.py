"""``minifcn bench``: its FLOP counter, its timed step (the trainer's own), its command line.

Speed itself is never asserted (it is what the command measures); what is checked is that
the figures are of the right work: the FLOPs against hand counts and against the PyTorch-based
count of ``benchmarks/train_step.py``, the timed step against ``minifcn train``'s steps.
"""
import inspect
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import tracemalloc
import types

import numpy as np
import pytest

from minifcn import Tensor, backend, bench, cli, nn
from minifcn.bench import FlopCounter, count_flops
from minifcn.kernels import threads
from minifcn.models import MODEL_NAMES, BayesianSegNet, build_model
from minifcn.train import TrainConfig, Trainer

TINY = dict(batch=1, width=1 / 32, classes=3, repeats=1, warmup=1)   # a case that runs quickly


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


# ----------------------------------------------------------------------------- memory
def test_the_memory_figures_do_not_depend_on_what_ran_before(monkeypatch):
    # one thread: with two, a step's peak depends on which blocks of the threads overlap in
    # time (5.74 against 5.80 MiB here, one run in six), whatever ran before; that jitter is
    # not what this test is about
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "1")
    # FCN-32s at 64x64 has maps over 1 MiB (its first layer pads by 100): the array cache holds
    # them. Before, a bigger case frees more than this one needs: the process keeps that memory
    # resident, so a resident size's growth read 0 (or -0) after it
    case = dict(model="fcn32s", size=(64, 64), batch=1, width=1 / 16, classes=3, repeats=1, warmup=1)
    alone = bench.bench_case(**case)
    bench.bench_case("fcn32s", (128, 128), batch=2, width=1 / 16, classes=3, repeats=1, warmup=1)
    after = bench.bench_case(**case)
    assert alone["memory_cache_mib"] > 1 and alone["memory_step_mib"] > 1
    for k in ("memory_live_mib", "memory_step_mib", "memory_cache_mib"):
        # tracemalloc counts Python's own small objects too (lazily made caches, dicts grown),
        # which differ by some KiB from one run to the next (and on bigger cases the array
        # cache's blocks by one, about 1%, as the threads' timing decides which serves which)
        assert after[k] == pytest.approx(alone[k], rel=0.01, abs=0.02), k


def test_live_memory_without_the_cache_is_parameters_gradients_momentum_and_batch(monkeypatch):
    monkeypatch.setenv("MINIFCN_ARRAY_CACHE_MB", "0")   # the array cache off: nothing held there
    r = bench.bench_case("fcn8s", (32, 32), batch=2, width=1 / 16, classes=3, repeats=1, warmup=1)
    model = build_model("fcn8s", 3, 1 / 16)
    weights = sum(p.data.nbytes for p in model.parameters())
    trained = sum(p.data.nbytes for p in model.parameters() if p.requires_grad)   # not FCN's upsamplings
    x, y = bench.random_batch(2, (32, 32), 3)
    class_weights = 3 * 4   # float32, one a class
    assert trained < weights and r["memory_cache_mib"] == 0
    assert r["memory_live_mib"] * 2 ** 20 == weights + 2 * trained + x.nbytes + y.nbytes + class_weights


def test_the_step_s_memory_is_its_peak_beyond_what_it_started_with():
    trainer, x, y = bench.make_trainer("segnet-basic", (16, 16), **{k: TINY[k] for k in ("batch", "width", "classes")})
    kept = {}

    def step():   # frees the 4 MiB the last call kept, holds 8 + 2 MiB at once, keeps 4 MiB
        kept.pop("a", None)
        a = np.ones(8 << 20, np.uint8)
        b = np.ones(2 << 20, np.uint8)
        del a, b
        kept["a"] = np.ones(4 << 20, np.uint8)

    live, peak = bench.step_memory(step, trainer, x, y, "cpu")
    assert peak == pytest.approx(6 << 20, abs=64 << 10)   # 10 MiB at once, 4 of them freed first
    assert live == bench.held_bytes(trainer, x, y) and not tracemalloc.is_tracing()


def test_nothing_timed_runs_under_tracemalloc(monkeypatch):
    seen, time_calls = [], bench.time_calls

    def spy(fn, repeats, device):
        def traced():
            seen.append(tracemalloc.is_tracing())
            return fn()
        return time_calls(traced, repeats, device)

    monkeypatch.setattr(bench, "time_calls", spy)
    bench.bench_case("segnet-basic", (16, 16), **TINY)
    assert seen == [False, False]   # a training step, an inference pass


def test_bench_imports_and_runs_without_unix_only_modules():
    # Windows has no resource, fcntl, termios, pwd, grp: importing them at the top of a module
    # would stop `minifcn bench` there
    code = ("import sys\nfor m in ('resource', 'fcntl', 'termios', 'pwd', 'grp'): sys.modules[m] = None\n"
            "from minifcn import bench, cli\n"
            "r = bench.bench_case('segnet-basic', (16, 16), batch=1, width=1 / 32, classes=3, repeats=1, warmup=1)\n"
            "print(r['memory_step_mib'] > 0)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": root})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True"]


# ----------------------------------------------------------------------------- inference
def test_bayesian_segnet_s_inference_is_eval_s_monte_carlo_prediction(monkeypatch):
    samples, mc_predict = [], BayesianSegNet.mc_predict

    def spy(self, *args, **kwargs):
        call = inspect.signature(mc_predict).bind(self, *args, **kwargs)
        call.apply_defaults()
        samples.append(call.arguments["samples"])
        return mc_predict(self, *args, **kwargs)

    monkeypatch.setattr(BayesianSegNet, "mc_predict", spy)
    r = bench.bench_case("bayesian-segnet", (32, 32), **{**TINY, "repeats": 2})
    default = cli._mc_samples(build_model("bayesian-segnet", 3, 1 / 32), None)   # eval's, predict's
    assert default > 1
    assert samples == [default] * 3            # one untimed, two timed
    assert r["infer_samples"] == default
    assert r["infer_gflops"] == pytest.approx(default * r["forward_gflop"] / r["infer_median_s"])
    plain = bench.bench_case("segnet", (32, 32), **TINY)
    assert plain["infer_samples"] == 0 and len(samples) == 3


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
            def used_bytes(self):
                return 5 << 20
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
    assert "device: cuda" in out and "GPU: " in out and "CuPy's memory pool" in out
    if gpu.__name__ == "fakecupy":
        assert "Stand-in GPU" in out
        row = next(l for l in out.splitlines() if l.startswith("fcn8s"))
        # live: what the pool handed out (5 MiB); step: its growth over one step, 3 MiB a
        # synchronisation, of which a step has one
        assert row.split()[-2:] == ["5.0", "3.0"]
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


@pytest.mark.parametrize("name", ["batch", "classes"])
def test_run_bench_refuses_a_zero_batch_or_class_count(name):
    with pytest.raises(ValueError, match=f"{name} must be >= 1, got 0"):
        bench.run_bench(["segnet-basic"], [(16, 16)], width=1 / 32, repeats=1, warmup=1,
                        out=io.StringIO(), **{name: 0})


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_min_size_is_the_rule_the_model_s_forward_checks(name):
    least = bench.min_size(name)
    model = build_model(name, 2, 1 / 64).eval()
    model(Tensor(np.zeros((1, 3, least, least + 3), np.float32)))
    if least > 1:
        with pytest.raises(ValueError, match="too small"):
            model(Tensor(np.zeros((1, 3, least + 3, least - 1), np.float32)))


def test_a_size_too_small_for_a_model_is_refused_before_any_timing(capsys):
    assert cli.main(["bench", "--model", "fcn8s", "segnet", "--size", "64", "8", "--width", "1/32",
                     "--batch", "1", "--repeats", "1", "--warmup", "1"]) == 2
    cap = capsys.readouterr()
    assert f"size 8x8 is too small for segnet: each side must be at least {bench.min_size('segnet')}" in cap.err
    assert "matmul peak" not in cap.out        # nothing timed, no figure thrown away


def test_a_case_that_fails_leaves_the_others_figures_and_exits_1(monkeypatch, capsys, tmp_path):
    bench_case = bench.bench_case

    def failing(model, *args):
        if model == "segnet-basic":
            raise MemoryError("an array did not fit")
        return bench_case(model, *args)

    monkeypatch.setattr(bench, "bench_case", failing)
    path = tmp_path / "bench.json"
    assert cli.main(["bench", "--model", "segnet-basic", "fcn32s", "--size", "32", "--width", "1/32",
                     "--batch", "1", "--repeats", "1", "--warmup", "1", "--json", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed = [l for l in lines if l.startswith("segnet-basic")]
    assert len(failed) == 1 and failed[0].split()[:4] == ["segnet-basic", "32x32", "1", "1/32"]
    assert failed[0].endswith("failed: MemoryError: an array did not fit")
    (row,) = [l.split() for l in lines if l.split()[:2] == ["fcn32s", "32x32"]]
    assert len(row) == 15 and float(row[4]) > 0                            # its row
    assert any(l.startswith("fcn32s 32x32, batch 1") for l in lines)      # its estimate
    assert "1 of 2 cases failed: segnet-basic 32x32" in lines
    cases = json.loads(path.read_text())["cases"]
    assert [c["model"] for c in cases] == ["segnet-basic", "fcn32s"]
    assert cases[0]["error"] == "MemoryError: an array did not fit" and cases[1]["train_median_s"] > 0


@pytest.mark.parametrize("where", ["under a file", "in /proc"])
def test_a_json_path_that_cannot_be_written_is_refused_before_any_timing(where, tmp_path, capsys):
    if where == "under a file":
        (tmp_path / "f").write_text("")
        path, said = tmp_path / "f" / "x.json", f"{tmp_path / 'f'} is a file, expected a directory"
    else:
        if not os.path.isdir("/proc/self"):
            pytest.skip("no /proc here (not Linux)")
        path, said = "/proc/x.json", "cannot write a file in /proc"
    assert cli.main(["bench", "--json", str(path), "--size", "32", "--width", "1/32", "--batch", "1",
                     "--repeats", "1", "--warmup", "1"]) == 2
    cap = capsys.readouterr()
    assert f"--json {path}: " in cap.err and said in cap.err
    assert "matmul peak" not in cap.out        # refused before the timing, not after it


def test_a_file_where_a_fixed_temporary_name_would_be_is_no_matter(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "minifcn-bench").write_text("not a directory")
    r = bench.bench_case("segnet-basic", (16, 16), **TINY)
    assert r["train_median_s"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["minifcn-bench"]   # the Trainer's, removed


def test_the_matmul_peak_runs_on_as_many_blas_threads_as_minifcn_s_products(monkeypatch):
    controls = threads.blas_controls()
    if controls is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS whose thread count minifcn sets")
    set_, get_ = controls
    seen = []
    monkeypatch.setattr(bench, "sgemm_peak", lambda **kw: seen.append(get_()) or 1.0)
    monkeypatch.setenv("MINIFCN_NUM_THREADS", "2")   # as OPENBLAS_NUM_THREADS=1 MINIFCN_NUM_THREADS=2
    out, before = io.StringIO(), get_()
    set_(1)
    try:
        bench.run_bench(["segnet-basic"], [(16, 16)], **TINY, out=out)
        assert get_() == 1                     # BLAS's own count given back
    finally:
        set_(before)
    assert seen == [2]
    assert "minifcn's threads: 2 " in out.getvalue() and "BLAS's threads: 1" in out.getvalue()
    assert "BLAS on 2 threads" in out.getvalue()


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
