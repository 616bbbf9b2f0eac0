"""Whole training steps, minifcn vs PyTorch: time, GFLOP/s and peak memory, in one run.

    python -m benchmarks.train_step                  # every case, timings then memory
    python -m benchmarks.train_step --quick          # 2 timed steps per case
    python -m benchmarks.train_step --cases fcn8s:500 segnet:360x480 --no-memory
    python -m benchmarks.train_step --cases fcn8s:160 --width 1/16 --batch 8 --classes 6
                                                     # the main job's step (``minifcn train``)

A step is what a training loop does for one batch: forward, loss, backward, SGD update.
Batch 1, float32, 21 classes, random image and labels (``--batch``, ``--classes``, and
``--width`` for narrower models, as minifcn scales them). FCN-8s (Caffe reference: padding 100,
fixed bilinear upsampling, loss summed over pixels, SGD momentum 0.99, weight decay 5e-4 on
weights, biases at 2x lr) at 224, 320 and 500; SegNet (batch norm in training mode, mean loss,
SGD momentum 0.9) at 224 and 360x480. The PyTorch model is a twin with the same layer names
and shapes (``torch_models.py``), loaded with the same weights; the run checks that the two
compute the same outputs before timing them.

Memory: each (library, case) runs in a fresh process that builds the model, then runs two steps
(the first creates the momentum buffers); we report its peak resident memory (VmHWM) and the
part of it above what the process held just before the first step (model, optimizer, data and
the library itself already loaded).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from . import common  # sets the thread count before NumPy loads  # noqa: I001

import numpy as np

# the numbers parsed as minifcn's own command line parses them (--width: 1/16 or 0.0625)
from minifcn.cli import _at_least, _width as _fraction

CASES = ["fcn8s:224", "fcn8s:320", "fcn8s:500", "segnet:224", "segnet:360x480"]
NUM_CLASSES = 21


def parse_case(case):
    model, size = case.split(":")
    h, w = (int(v) for v in size.split("x")) if "x" in size else (int(size), int(size))
    if model not in ("fcn8s", "segnet"):
        raise ValueError(f"unknown model {model!r} in case {case!r}: expected fcn8s or segnet")
    return model, h, w


def _data(h, w, batch=1, classes=NUM_CLASSES):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, h, w), dtype=np.float32)
    t = rng.integers(0, classes, (batch, h, w))
    t[:, :4] = 255  # a few ignored pixels, as VOC's boundaries
    return x, t


def minifcn_step(model_name, h, w, width=1.0, batch=1, classes=NUM_CLASSES):
    """(step function, model) for minifcn."""
    import minifcn.functional as F
    from minifcn import Tensor
    from minifcn.models import FCN8s, SegNet
    from minifcn.optim import SGD, fcn_param_groups

    x, t = _data(h, w, batch, classes)
    if model_name == "fcn8s":
        model = FCN8s(classes, width=width)
        opt = SGD(fcn_param_groups(model), lr=1e-10, momentum=0.99)
        reduction = "sum"
    else:
        model = SegNet(classes, width=width)
        opt = SGD(model.parameters(), lr=1e-3, momentum=0.9)
        reduction = "mean"
    model.train()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(Tensor(x)), t, reduction=reduction)
        loss.backward()
        opt.step()
        return loss.item()

    return step, model


def torch_step(model_name, h, w, torch, state=None, width=1.0, batch=1, classes=NUM_CLASSES):
    """(step function, model) for the PyTorch twin, loaded with ``state`` when given."""
    from .torch_models import TorchFCN8s, TorchSegNet, load_minifcn_state

    x, t = _data(h, w, batch, classes)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    if model_name == "fcn8s":
        model = TorchFCN8s(classes, width=width)
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        groups = [{"params": [p for n, p in named if not n.endswith("bias")], "weight_decay": 5e-4},
                  {"params": [p for n, p in named if n.endswith("bias")], "lr": 2e-10, "weight_decay": 0.0}]
        opt = torch.optim.SGD(groups, lr=1e-10, momentum=0.99)
        reduction = "sum"
    else:
        model = TorchSegNet(classes, width=width)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        reduction = "mean"
    if state is not None:
        load_minifcn_state(model, state)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xt), tt, ignore_index=255, reduction=reduction)
        loss.backward()
        opt.step()
        return loss.item()

    return step, model


def step_flops(tmodel, h, w, torch, batch=1):
    """Multiply-adds x 2 of one training step, counted on the PyTorch twin with forward hooks.

    Each convolution costs its forward product, its weight gradient and its input gradient;
    conv1_1 needs no input gradient (the image) and the fixed upsamplings no weight gradient.
    These are the direct convolution's FLOPs, whatever algorithm runs (Winograd's layers do
    fewer), so a step's GFLOP/s can pass the matmul peak.
    """
    total = [0]

    def hook(mod, inp, out):
        k = mod.weight.shape[2] * mod.weight.shape[3]
        if isinstance(mod, torch.nn.ConvTranspose2d):
            macs = mod.weight.shape[0] * mod.weight.shape[1] * k * inp[0].shape[2] * inp[0].shape[3]
        else:
            macs = mod.weight.shape[0] * mod.weight.shape[1] * k * out.shape[2] * out.shape[3]
        products = 1 + int(mod.weight.requires_grad) + int(inp[0].requires_grad)
        total[0] += 2 * macs * products * out.shape[0]   # per image, the batch's images

    handles = [m.register_forward_hook(hook) for m in tmodel.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    tmodel(torch.from_numpy(_data(h, w, batch)[0]))
    for hd in handles:
        hd.remove()
    return total[0]


# ------------------------------------------------------------------ memory (child processes)
def child(lib, case, shape):
    """Run in a fresh process: build, note the RSS, run two steps, print JSON with the peak.
    ``shape``: the width, batch and classes, as ``main`` passes them."""
    model_name, h, w = parse_case(case)
    if lib == "torch":
        torch = common.load_torch()
        lib_mib = common.current_rss_mib()   # the library alone, before any model
        step, _ = torch_step(model_name, h, w, torch, **shape)
    else:
        lib_mib = common.current_rss_mib()
        step, _ = minifcn_step(model_name, h, w, **shape)
    base = common.current_rss_mib()
    common.reset_peak_rss()   # the build's own peak (float64 init temporaries) is not the step's
    t0 = time.perf_counter()
    step()
    step()
    print(json.dumps({"lib_mib": lib_mib, "base_mib": base, "peak_mib": common.peak_rss_mib(),
                      "two_steps_s": time.perf_counter() - t0}))


def memory_table(cases, with_torch, shape):
    rows = []
    passed = [f"--width={shape['width']!r}", f"--batch={shape['batch']}", f"--classes={shape['classes']}"]
    for case in cases:
        ours = json.loads(common.run_child(["benchmarks.train_step", *passed, "--child", "minifcn", case]))
        theirs = json.loads(common.run_child(["benchmarks.train_step", *passed, "--child", "torch", case])) \
            if with_torch else None
        row = [case, f"{ours['peak_mib']:.0f}", f"{ours['peak_mib'] - ours['base_mib']:.0f}"]
        if theirs:
            row += [f"{theirs['peak_mib']:.0f}", f"{theirs['peak_mib'] - theirs['base_mib']:.0f}",
                    f"{ours['peak_mib'] / theirs['peak_mib']:.2f}",
                    f"{(ours['peak_mib'] - ours['base_mib']) / (theirs['peak_mib'] - theirs['base_mib']):.2f}"]
        else:
            row += ["-"] * 4
        rows.append(row)
        print(f"  {case}: peak {row[1]} MiB vs {row[3]} MiB", flush=True)
    print()
    common.print_table(["case", "minifcn peak MiB", "minifcn step MiB", "torch peak MiB", "torch step MiB",
                        "peak ratio", "step ratio"], rows)
    # each peak holds its library's own memory: PyTorch's is far larger, so on small cases the
    # peak ratio says more about the libraries than about the steps (the step ratio does not)
    libs = f"minifcn {ours['lib_mib']:.0f} MiB" + (f", torch {theirs['lib_mib']:.0f} MiB" if theirs else "")
    print(f"resident before a model is built (the libraries, in every peak above): {libs}")


# ------------------------------------------------------------------ main
def main(argv=None):
    common.steady_malloc()   # the same allocator state for every case (benchmarks/common.py)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="*", default=CASES, help="model:size or model:HxW, e.g. segnet:360x480")
    parser.add_argument("--quick", action="store_true", help="2 timed steps per case")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-process memory table")
    parser.add_argument("--memory-only", action="store_true", help="only the per-process memory table")
    parser.add_argument("--no-torch", action="store_true", help="minifcn only")
    parser.add_argument("--width", type=_fraction, default=1.0,
                        help="channel multiplier of both models, e.g. 1/16 (default 1: the paper's)")
    parser.add_argument("--batch", type=_at_least(1), default=1, help="images a step (default 1)")
    parser.add_argument("--classes", type=_at_least(1), default=NUM_CLASSES, help=f"default {NUM_CLASSES}")
    parser.add_argument("--child", nargs=2, metavar=("LIB", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shape = dict(width=args.width, batch=args.batch, classes=args.classes)
    if args.child:
        return child(*args.child, shape)
    for case in args.cases:
        parse_case(case)
    torch = None if args.no_torch else common.load_torch()

    for line in common.environment(torch):
        print(line)
    if shape != dict(width=1.0, batch=1, classes=NUM_CLASSES):
        print(f"width {args.width:g}, batch {args.batch}, {args.classes} classes")
    if not args.memory_only:
        peak = common.sgemm_peak(sizes=(2048, 4096))
        print(f"NumPy float32 matmul peak (large squares, best of several): {peak:.1f} GFLOP/s\n")
        rows = []
        for case in args.cases:
            model_name, h, w = parse_case(case)
            ours, model = minifcn_step(model_name, h, w, **shape)
            theirs = flops = err = None
            if torch is not None:
                theirs, tmodel = torch_step(model_name, h, w, torch, model.state_dict(), **shape)
                err = _twin_error(model, tmodel)
                if not err < 1e-4:   # the docstring's promise: the same outputs, or no timing
                    raise SystemExit(f"{case}: the PyTorch twin's outputs differ from minifcn's by "
                                     f"{err:.1e} (relative): not the same network, not timed")
                flops = step_flops(tmodel, h, w, torch, args.batch)
            reps = dict(min_repeats=2, min_time=0.0, max_repeats=2) if args.quick else \
                dict(min_repeats=5, min_time=10.0, max_repeats=7)
            # two untimed steps each: minifcn's array cache holds blocks of every size only after
            # two (minor page faults per SegNet 360x480 step: 92108, 7876, then ~140)
            (t_ours, b_ours), (t_theirs, b_theirs) = common.time_pair([ours, theirs], warmup=2, **reps)
            gf = flops / t_ours / 1e9 if flops else None
            row = [case, f"{t_ours:.3f}", common.fmt(t_theirs), common.fmt(t_theirs and t_ours / t_theirs, ".2f"),
                   common.fmt(t_theirs and b_ours / b_theirs, ".2f"), common.fmt(flops and flops / 1e9, ".0f" if flops and flops >= 1e11 else ".2f"),
                   common.fmt(gf, ".1f"), common.fmt(gf and 100 * gf / peak, ".0f"),
                   common.fmt(flops and t_theirs and flops / t_theirs / 1e9, ".1f"), common.fmt(err, ".1e")]
            rows.append(row)
            print(f"  {case}: {row[1]} s vs {row[2]} s ({row[3]}x), load {common.load_average()}", flush=True)
            del ours, theirs, model
        print()
        common.print_table(["case", "minifcn s", "torch s", "ratio", "best/best", "GFLOP", "minifcn GFLOP/s",
                            "% of peak", "torch GFLOP/s", "twin max rel err"], rows)
        print()
    if not args.no_memory:
        print("peak memory, one fresh process per library and case (two steps each):")
        memory_table(args.cases, torch is not None, shape)
    print(f"load average at end: {common.load_average()}")


def _twin_error(model, tmodel):
    """Eval-mode output difference on a small input, with non-zero score layers for the check."""
    from .torch_models import check_twin, load_minifcn_state
    state = model.state_dict()
    rng = np.random.default_rng(1)
    probe = {k: (rng.standard_normal(v.shape) * 0.01).astype(v.dtype) if k.startswith("score") else v
             for k, v in state.items()}
    model.load_state_dict(probe)
    load_minifcn_state(tmodel, probe)
    x = rng.standard_normal((1, 3, 64, 64), dtype=np.float32)
    err = check_twin(model, tmodel, x)
    model.load_state_dict(state)
    load_minifcn_state(tmodel, state)
    return err


if __name__ == "__main__":
    sys.exit(main())
