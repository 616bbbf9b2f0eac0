"""minifcn on CuPy vs PyTorch on CUDA: FCN-8s inference and training steps, SegNet steps.

    python -m benchmarks.gpu                    # needs a CUDA GPU, CuPy and PyTorch
    python -m benchmarks.gpu --repeats 5
    python -m benchmarks.gpu --winograd         # the wide 3x3 layers by Winograd, as on the CPU

Batch 1, float32, 21 classes, width 1.0 (the paper's nets). Both libraries get the same random
weights (loaded into the PyTorch twin of ``torch_models.py``) and the outputs are compared
before timing. Each time is the median of ``--repeats`` runs after warm-up, with the device
synchronised around each run; ``(host ms)`` is how long minifcn's call took to return, the
Python side launching kernels (when it nears the total, the GPU waits for Python). PyTorch runs with ``cudnn.benchmark = True``; TF32 stays off in
both (CuPy's default, and ``torch.backends.cuda.matmul.allow_tf32 = False``,
``cudnn.allow_tf32 = False``) so both compute in full float32.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("MINIFCN_DEVICE", "cuda")


def _median_time(fn, sync, repeats, warmup=2):
    """(median seconds per call with the device synchronised, median seconds until ``fn``
    returns): the second is the host's share, Python launching kernels. When the two are
    close, the GPU waits for the host."""
    for _ in range(warmup):
        fn()
    sync()
    times, host = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        host.append(time.perf_counter() - t0)
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), statistics.median(host)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--cases", nargs="*", default=["fcn8s:500", "fcn8s:224", "segnet:360x480"])
    ap.add_argument("--winograd", action="store_true",
                    help="run the wide 3x3 layers by Winograd's algorithm on the GPU too, by the "
                         "CPU's rule (kernels.conv.WINOGRAD_ON_GPU; off by default: not measured)")
    args = ap.parse_args(argv)

    try:
        import cupy
        import torch
    except ImportError as e:   # a machine without the GPU stack: say what is missing
        raise SystemExit(f"benchmarks.gpu needs CuPy and PyTorch with CUDA: {e}") from None

    import minifcn
    import minifcn.functional as F
    from minifcn import Tensor, backend
    from minifcn.models import FCN8s, SegNet
    from minifcn.kernels import conv
    from minifcn.optim import SGD, fcn_param_groups

    from .torch_models import TorchFCN8s, TorchSegNet, load_minifcn_state

    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    conv.WINOGRAD_ON_GPU = args.winograd
    print(f"GPU: {torch.cuda.get_device_name(0)}; CuPy {cupy.__version__}, PyTorch {torch.__version__}, "
          f"minifcn {minifcn.__version__}; Winograd on the GPU: {'on' if args.winograd else 'off'}")
    print(f"{'case':<16}{'what':<12}{'minifcn ms':>12}{'(host ms)':>11}{'torch ms':>10}{'ratio':>8}  max |diff|")
    for case in args.cases:
        name, size = case.split(":")
        h, w = (int(v) for v in size.split("x")) if "x" in size else (int(size),) * 2
        minifcn.manual_seed(0)
        model = FCN8s(21) if name == "fcn8s" else SegNet(21)
        for layer in ("score_fr", "score_pool4", "score_pool3"):  # zero-initialised: make the
            if hasattr(model, layer):                              # output comparison non-trivial
                conv = getattr(model, layer)
                conv.weight.data = 0.01 * np.random.default_rng(1).standard_normal(conv.weight.shape,
                                                                                   dtype=np.float32)
        model.to("cuda")
        tmodel = (TorchFCN8s(21) if name == "fcn8s" else TorchSegNet(21))
        load_minifcn_state(tmodel, model.state_dict())
        tmodel.to(dev)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((1, 3, h, w), dtype=np.float32)
        t = rng.integers(0, 21, (1, h, w))
        xc, tc = cupy.asarray(x), cupy.asarray(t)
        xt, tt = torch.from_numpy(x).to(dev), torch.from_numpy(t).to(dev)

        # inference (eval mode: dropout off, BN running stats)
        model.eval()
        tmodel.eval()
        with minifcn.no_grad():
            ym = model(Tensor(xc)).data
        with torch.no_grad():
            yt = tmodel(xt)
        diff = float(abs(backend.to_numpy(ym) - yt.cpu().numpy()).max())

        def infer_m():
            with minifcn.no_grad():
                model(Tensor(xc))

        def infer_t():
            with torch.no_grad():
                tmodel(xt)

        tm, hm = _median_time(infer_m, cupy.cuda.Device().synchronize, args.repeats)
        tt_, _ = _median_time(infer_t, torch.cuda.synchronize, args.repeats)
        print(f"{case:<16}{'inference':<12}{tm * 1e3:>12.1f}{hm * 1e3:>11.1f}{tt_ * 1e3:>10.1f}{tm / tt_:>8.2f}  {diff:.2e}")

        # training step: forward, loss, backward, SGD update
        model.train()
        tmodel.train()
        if name == "fcn8s":
            opt = SGD(fcn_param_groups(model), lr=1e-10, momentum=0.99)
            named = [(n, p) for n, p in tmodel.named_parameters() if p.requires_grad]
            topt = torch.optim.SGD([{"params": [p for n, p in named if not n.endswith("bias")], "weight_decay": 5e-4},
                                    {"params": [p for n, p in named if n.endswith("bias")], "lr": 2e-10,
                                     "weight_decay": 0.0}], lr=1e-10, momentum=0.99)
            red = "sum"
        else:
            opt = SGD(model.parameters(), lr=1e-3, momentum=0.9)
            topt = torch.optim.SGD(tmodel.parameters(), lr=1e-3, momentum=0.9)
            red = "mean"

        def step_m():
            opt.zero_grad()
            F.cross_entropy(model(Tensor(xc)), tc, reduction=red).backward()
            opt.step()

        def step_t():
            topt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(tmodel(xt), tt, ignore_index=255, reduction=red).backward()
            topt.step()

        sm, hs = _median_time(step_m, cupy.cuda.Device().synchronize, args.repeats)
        st, _ = _median_time(step_t, torch.cuda.synchronize, args.repeats)
        print(f"{case:<16}{'train step':<12}{sm * 1e3:>12.1f}{hs * 1e3:>11.1f}{st * 1e3:>10.1f}{sm / st:>8.2f}")
        peak = cupy.get_default_memory_pool().total_bytes() / 2**30
        print(f"{'':<16}{'memory':<12}{'CuPy pool ' + format(peak, '.2f') + ' GiB':>33}  "
              f"torch max reserved {torch.cuda.max_memory_reserved() / 2**30:.2f} GiB")   # both: held by the pool
        del model, tmodel, opt, topt
        cupy.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


if __name__ == "__main__":
    main()
