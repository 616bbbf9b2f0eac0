"""Where a training step spends its time, kernel by kernel (CPU or GPU).

    python -m benchmarks.profile_kernels --model fcn8s --size 500            # NumPy
    python -m benchmarks.profile_kernels --size 96 --batch 8 --width 0.0625  # the main job's step
    MINIFCN_DEVICE=cuda python -m benchmarks.profile_kernels --size 500      # CuPy

Wraps every array kernel of ``minifcn.kernels`` and the unfolding operator with a timer (the
device is synchronised around each call on a GPU, so the times are real, not launch times) and
prints the total per kernel over ``--steps`` steps after ``--warmup`` (2) untimed ones, largest first.
"""
from __future__ import annotations

import argparse
import collections
import functools
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fcn8s")
    ap.add_argument("--size", default="500")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2,
                    help="untimed steps first (the array cache holds blocks of every size after two)")
    ap.add_argument("--classes", type=int, default=21)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    ap.add_argument("--by-shape", action="store_true", help="one line per kernel and argument shapes")
    args = ap.parse_args(argv)

    import numpy as np

    import minifcn
    import minifcn.functional as F
    from minifcn import Tensor, backend
    from minifcn.kernels import conv, loss, norm, pointwise, pool
    from minifcn.models import build_model
    from minifcn.optim import SGD

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
        setattr(mod, name, timed)

    for mod in (conv, pool, norm, loss, pointwise):
        for name in dir(mod):
            if not name.startswith("_") and callable(getattr(mod, name)) and \
                    getattr(getattr(mod, name), "__module__", "") == mod.__name__:
                wrap(mod, name)

    h, w = (int(v) for v in args.size.split("x")) if "x" in args.size else (int(args.size),) * 2
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


if __name__ == "__main__":
    main()
