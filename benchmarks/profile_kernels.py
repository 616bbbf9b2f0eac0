"""Where a training step spends its time, kernel by kernel (CPU or GPU).

    python -m benchmarks.profile_kernels --model fcn8s --size 500            # NumPy
    python -m benchmarks.profile_kernels --size 96 --batch 8 --width 0.0625  # the main job's step
    MINIFCN_DEVICE=cuda python -m benchmarks.profile_kernels --size 500      # CuPy
    python -m benchmarks.profile_kernels --model segnet --size 160 --batch 8 --width 0.125 \
        --classes 6 --torch                       # ... and PyTorch's twin of the step beside it

Wraps every array kernel of ``minifcn.kernels`` and the unfolding operator with a timer (the
device is synchronised around each call on a GPU, so the times are real, not launch times) and
prints the total per kernel over ``--steps`` steps after ``--warmup`` (2) untimed ones, largest first.
With ``--torch`` (CPU, FCN-8s or SegNet), the same step of the PyTorch twin
(``train_step.torch_step``) under ``torch.profiler``: its operators' own time a step, largest
first, to set beside minifcn's kernels (PyTorch's names differ: ``convolution_backward`` is
both gradients of a convolution, ``clamp_min`` and ``threshold_backward`` are ReLU).
"""
from __future__ import annotations

from . import common   # noqa: F401  before NumPy: the thread counts of both libraries

import argparse
import collections
import functools
import time


def main(argv=None):
    from minifcn.cli import _width   # fractions such as 1/8, as minifcn train takes them
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fcn8s")
    ap.add_argument("--size", default="500")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2,
                    help="untimed steps first (the array cache holds blocks of every size after two)")
    ap.add_argument("--classes", type=int, default=21)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--width", type=_width, default=1.0,
                    help="channel width multiplier, e.g. 1/8 or 0.125 (as minifcn train's)")
    ap.add_argument("--by-shape", action="store_true", help="one line per kernel and argument shapes")
    ap.add_argument("--torch", action="store_true",
                    help="then profile PyTorch's twin of the same step (CPU; fcn8s or segnet)")
    args = ap.parse_args(argv)
    if args.torch and args.model not in ("fcn8s", "segnet"):
        ap.error(f"--torch: PyTorch's twin of the step exists for fcn8s and segnet, not {args.model}")

    from minifcn import backend
    from minifcn.kernels import conv, loss, norm, pointwise, pool

    on_gpu = backend.default_device() == "cuda"
    if on_gpu:
        import cupy
        sync = cupy.cuda.Device().synchronize
    else:
        def sync():
            pass

    totals = collections.Counter()
    calls = collections.Counter()
    depth = [0]
    originals = []   # put back when main returns: a caller's later kernels run untimed

    def wrap(mod, name):
        fn = getattr(mod, name)

        @functools.wraps(fn)
        def timed(*a, **k):
            if depth[0]:
                return fn(*a, **k)  # count only the outermost kernel
            depth[0] += 1
            sync()
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                sync()
                key = f"{mod.__name__.split('.')[-1]}.{name}"
                if args.by_shape:
                    key += " " + " ".join("x".join(map(str, v.shape)) for v in a[:2] if isinstance(getattr(v, "shape", None), tuple))
                totals[key] += time.perf_counter() - t0
                calls[key] += 1
                depth[0] -= 1
        originals.append((mod, name, fn))
        setattr(mod, name, timed)

    for mod in (conv, pool, norm, loss, pointwise):
        for name in dir(mod):
            if not name.startswith("_") and callable(getattr(mod, name)) and \
                    getattr(getattr(mod, name), "__module__", "") == mod.__name__:
                wrap(mod, name)
    try:
        _profile(args, totals, calls, sync, on_gpu)
    finally:
        for mod, name, fn in originals:
            setattr(mod, name, fn)
    if args.torch:
        profile_torch(args, *_size(args))


def _size(args):
    """(h, w) from ``--size``: 500 or 360x480."""
    return tuple(int(v) for v in args.size.split("x")) if "x" in args.size else (int(args.size),) * 2


def _profile(args, totals, calls, sync, on_gpu):
    """Run and print minifcn's step, its kernels timed (the wrappers of :func:`main`)."""
    import numpy as np

    import minifcn
    import minifcn.functional as F
    from minifcn import Tensor, backend
    from minifcn.models import build_model
    from minifcn.optim import SGD

    h, w = _size(args)
    minifcn.manual_seed(0)
    model = build_model(args.model, args.classes, args.width)
    device = "cuda" if on_gpu else "cpu"
    model.to(device)
    model.train()
    opt = SGD(model.parameters(), lr=1e-10, momentum=0.9)
    rng = np.random.default_rng(0)
    x = backend.to_device(rng.standard_normal((args.batch, 3, h, w), dtype=np.float32), device)
    t = backend.to_device(rng.integers(0, args.classes, (args.batch, h, w)), device)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(Tensor(x)), t, reduction="sum").backward()
        sync()
        t0 = time.perf_counter()
        opt.step()
        sync()
        totals["optim.SGD.step"] += time.perf_counter() - t0
        calls["optim.SGD.step"] += 1

    for _ in range(args.warmup):
        step()
    totals.clear()
    calls.clear()
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    wall = (time.perf_counter() - t0) / args.steps
    print(f"{args.model} {h}x{w} on {device}: {wall * 1e3:.1f} ms per step "
          f"(with a sync around every kernel)")
    inside = sum(totals.values()) / args.steps
    for name, tot in totals.most_common():
        print(f"  {name:<60}{tot / args.steps * 1e3:>10.2f} ms {calls[name] // args.steps:>5} calls")
    print(f"  {'(outside the kernels)':<60}{(wall - inside) * 1e3:>10.2f} ms")


def profile_torch(args, h, w, rows=15):
    """PyTorch's twin of the step (same model, width, batch, classes and threads) under
    ``torch.profiler``: each operator's own CPU time a step, the ``rows`` largest."""
    from . import common
    from .train_step import torch_step

    torch = common.load_torch()
    if torch is None:
        raise SystemExit("--torch: PyTorch is not installed (pip install -e .[oracle])")
    from torch.profiler import ProfilerActivity, profile

    step, _ = torch_step(args.model, h, w, torch, width=args.width, batch=args.batch,
                         classes=args.classes)
    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    wall = (time.perf_counter() - t0) / args.steps
    print(f"PyTorch's twin, {torch.get_num_threads()} threads: {wall * 1e3:.1f} ms per step "
          f"(under the profiler)")
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    for e in ops[:rows]:
        print(f"  {e.key:<60}{e.self_cpu_time_total / args.steps / 1e3:>10.2f} ms "
              f"{e.count // args.steps:>5} calls")


if __name__ == "__main__":
    main()
