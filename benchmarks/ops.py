"""Forward + backward time of single layers, minifcn vs PyTorch, side by side in one run.

    python -m benchmarks.ops            # every case
    python -m benchmarks.ops --quick    # fewer repeats
    python -m benchmarks.ops --only conv3_3 fc6

Cases (float32, batch 1): the distinct VGG16 convolution shapes at 224x224 input, fc6 as a
7x7 convolution 512 -> 4096 on FCN's 22x22 pool5 map (500x500 input), FCN's transposed
convolutions on 21 classes with the sizes they see at 500x500 input (4/2 on 16x16 and 34x34,
16/8 on 70x70, 64/32 on 16x16), 2x2 max pooling / unpooling on VGG16's feature maps, and the
per-pixel softmax cross-entropy (class-weighted, mean over the labelled pixels) on FCN's 21
classes at 500x500 and SegNet's 11 (CamVid's) at 360x480.

"fwd+bwd" is one forward pass and one backward pass producing every gradient a network needs:
the input gradient (except for conv1_1, whose input is the image) and the weight and bias
gradients. GFLOP/s counts 2 FLOPs per weight tap and output for each of the three products
(forward, input gradient, weight gradient) of the direct convolution, whatever algorithm ran
(Winograd's does fewer, so it can exceed the peak), and is compared with NumPy's float32 matmul
peak measured in the same run (the best of a measurement at its start and one at its end). FCN's
upsamplings are timed frozen, as its steps run them: forward and input gradient. Each row also checks minifcn's output and gradients
against PyTorch's (largest error relative to the largest magnitude).
"""
from __future__ import annotations

import argparse

from . import common  # sets the thread count before NumPy loads  # noqa: I001

import numpy as np

import minifcn.functional as F
from minifcn import Tensor


# ------------------------------------------------------------------ the cases
# (name, in_c, out_c, k, size, padding, input needs a gradient)
VGG_CONVS = [
    ("conv1_1", 3, 64, 3, 224, 1, False),
    ("conv1_2", 64, 64, 3, 224, 1, True),
    ("conv2_1", 64, 128, 3, 112, 1, True),
    ("conv2_2", 128, 128, 3, 112, 1, True),
    ("conv3_1", 128, 256, 3, 56, 1, True),
    ("conv3_3", 256, 256, 3, 56, 1, True),
    ("conv4_1", 256, 512, 3, 28, 1, True),
    ("conv4_3", 512, 512, 3, 28, 1, True),
    ("conv5_3", 512, 512, 3, 14, 1, True),
    ("fc6 7x7 @22", 512, 4096, 7, 22, 0, True),
    ("fc7 1x1 @16", 4096, 4096, 1, 16, 0, True),
]
# (name, channels, kernel, stride, input size): FCN-8s / FCN-32s at 500x500
UPSCORES = [
    ("upscore2 4/2 @16", 21, 4, 2, 16),
    ("upscore_pool4 4/2 @34", 21, 4, 2, 34),
    ("upscore8 16/8 @70", 21, 16, 8, 70),
    ("upscore 64/32 @16", 21, 64, 32, 16),
]
# (name, channels, input size)
POOLS = [
    ("pool1 64@224", 64, 224),
    ("pool3 256@56", 256, 56),
    ("pool5 512@14", 512, 14),
    ("pool2 ceil 128@349", 128, 349),  # odd size, ceil mode: FCN's pool2 at 500x500 (padding 100)
]
# (name, classes, height, width): the scores a model's loss reads
LOSSES = [
    ("loss 21@500x500", 21, 500, 500),
    ("loss 11@360x480", 11, 360, 480),
]


def _rng_arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s, dtype=np.float32) * np.float32(0.1) for s in shapes]


def conv_case(in_c, out_c, k, size, pad, input_grad, torch):
    x, W, b = _rng_arrays((1, in_c, size, size), (out_c, in_c, k, k), (out_c,))
    out = size + 2 * pad - k + 1
    gy, = _rng_arrays((1, out_c, out, out), seed=1)

    def ours():
        xt, Wt, bt = Tensor(x, requires_grad=input_grad), Tensor(W, requires_grad=True), Tensor(b, requires_grad=True)
        y = F.conv2d(xt, Wt, bt, padding=pad)
        y.backward(gy)
        return [y.data, xt.grad, Wt.grad, bt.grad]

    def theirs():
        xt = torch.from_numpy(x).requires_grad_(input_grad)
        Wt, bt = torch.from_numpy(W).requires_grad_(), torch.from_numpy(b).requires_grad_()
        y = torch.nn.functional.conv2d(xt, Wt, bt, padding=pad)
        y.backward(torch.from_numpy(gy))
        return [y.detach().numpy(), None if xt.grad is None else xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()]

    flops = 2 * out_c * in_c * k * k * out * out * (3 if input_grad else 2)
    return ours, (theirs if torch else None), flops


def upscore_case(c, k, s, size, torch):
    x, W = _rng_arrays((1, c, size, size), (c, c, k, k))
    out = (size - 1) * s + k
    gy, = _rng_arrays((1, c, out, out), seed=1)

    # the kernel frozen, as FCN's bilinear upsamplings are (and as the steps below run them):
    # the forward and the input gradient, no weight gradient (until the twenty-seventh session
    # it was timed too, which no FCN step of this repository pays)
    def ours():
        xt, Wt = Tensor(x, requires_grad=True), Tensor(W)
        y = F.conv_transpose2d(xt, Wt, stride=s)
        y.backward(gy)
        return [y.data, xt.grad]

    def theirs():
        xt, Wt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(W)
        y = torch.nn.functional.conv_transpose2d(xt, Wt, stride=s)
        y.backward(torch.from_numpy(gy))
        return [y.detach().numpy(), xt.grad.numpy()]

    flops = 2 * 2 * c * c * k * k * size * size
    return ours, (theirs if torch else None), flops


def pool_case(c, size, torch, ceil_mode=False):
    # distinct values: no ties, so both libraries pick the same maxima
    x = np.random.default_rng(0).permutation(c * size * size).astype(np.float32).reshape(1, c, size, size)
    out = -(-size // 2) if ceil_mode else size // 2
    gy, = _rng_arrays((1, c, out, out), seed=1)

    def ours():
        xt = Tensor(x, requires_grad=True)
        y = F.max_pool2d(xt, 2, 2, ceil_mode=ceil_mode)
        y.backward(gy)
        return [y.data, xt.grad]

    def theirs():
        xt = torch.from_numpy(x).requires_grad_()
        y = torch.nn.functional.max_pool2d(xt, 2, 2, ceil_mode=ceil_mode)
        y.backward(torch.from_numpy(gy))
        return [y.detach().numpy(), xt.grad.numpy()]

    return ours, (theirs if torch else None), None


def unpool_case(c, size, torch):
    x = np.random.default_rng(0).permutation(c * size * size).astype(np.float32).reshape(1, c, size, size)
    _, idx = F.max_pool2d(x, 2, 2, return_indices=True)
    idx = idx.data
    v, = _rng_arrays(idx.shape)
    gy, = _rng_arrays((1, c, size, size), seed=1)

    def ours():
        vt = Tensor(v, requires_grad=True)
        y = F.max_unpool2d(vt, idx, 2, 2, output_size=(size, size))
        y.backward(gy)
        return [y.data, vt.grad]

    def theirs():
        vt = torch.from_numpy(v).requires_grad_()
        y = torch.nn.functional.max_unpool2d(vt, torch.from_numpy(idx), 2, 2, output_size=(size, size))
        y.backward(torch.from_numpy(gy))
        return [y.detach().numpy(), vt.grad.numpy()]

    return ours, (theirs if torch else None), None


def loss_case(classes, h, w, torch):
    rng = np.random.default_rng(0)
    z, = _rng_arrays((1, classes, h, w))
    # labels in blobs, as in a segmentation (a class per 20 x 20 block), with a void border
    blocks = rng.integers(0, classes, (1, -(-h // 20), -(-w // 20)))
    t = np.repeat(np.repeat(blocks, 20, axis=1), 20, axis=2)[:, :h, :w].copy()
    t[:, :4], t[:, :, :4] = 255, 255
    weight = (0.5 + rng.random(classes)).astype(np.float32)

    def ours():
        zt = Tensor(z, requires_grad=True)
        loss = F.cross_entropy(zt, t, weight=weight)
        loss.backward()
        return [loss.data, zt.grad]

    def theirs():
        zt = torch.from_numpy(z).requires_grad_()
        loss = torch.nn.functional.cross_entropy(zt, torch.from_numpy(t), torch.from_numpy(weight),
                                                 ignore_index=255)
        loss.backward()
        return [loss.detach().numpy(), zt.grad.numpy()]

    return ours, (theirs if torch else None), None


def all_cases(torch):
    """(group, name, builder) in the order they are printed; builders are lazy (big arrays)."""
    cases = []
    for name, in_c, out_c, k, size, pad, ig in VGG_CONVS:
        cases.append(("conv", name, lambda a=(in_c, out_c, k, size, pad, ig): conv_case(*a, torch)))
    for name, c, k, s, size in UPSCORES:
        cases.append(("conv_transpose", name, lambda a=(c, k, s, size): upscore_case(*a, torch)))
    for name, c, size in POOLS:
        ceil = "ceil" in name
        cases.append(("max_pool 2/2", name, lambda a=(c, size, ceil): pool_case(a[0], a[1], torch, a[2])))
    for name, c, size in POOLS[:3]:
        cases.append(("max_unpool 2/2", name.replace("pool", "unpool"), lambda a=(c, size): unpool_case(*a, torch)))
    for name, classes, h, w in LOSSES:
        cases.append(("cross_entropy", name, lambda a=(classes, h, w): loss_case(*a, torch)))
    return cases


def max_rel_err(ours, theirs):
    """Largest |a - b| over the largest |b|, across the outputs and gradients that both produced."""
    worst = 0.0
    for a, b in zip(ours, theirs):
        if a is None or b is None:
            continue
        worst = max(worst, float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)))
    return worst


def main(argv=None):
    common.steady_malloc()   # the same allocator state for every case (benchmarks/common.py)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats, 0.3 s minimum per case")
    parser.add_argument("--only", nargs="*", help="run only the cases whose name starts with one of these")
    parser.add_argument("--no-torch", action="store_true", help="minifcn only")
    args = parser.parse_args(argv)
    torch = None if args.no_torch else common.load_torch()

    for line in common.environment(torch):
        print(line)
    peak = common.sgemm_peak(sizes=(2048, 4096) if not args.quick else (2048,))
    print(f"NumPy float32 matmul peak (large squares, best of several): {peak:.1f} GFLOP/s")
    print()
    # blocks of 3 back-to-back calls, after LEAD_IN_S of untimed ones (see common.time_pair);
    # in full mode up to 90 timed calls, so that the cases of a few milliseconds also get their
    # 2 s of rounds (30 calls, the default cap, took conv1_1 0.6 s: ten rounds)
    reps = dict(min_repeats=3, min_time=0.3) if args.quick else dict(min_repeats=9, min_time=2.0, max_repeats=90)
    reps.update(block=3, lead_in=common.LEAD_IN_S)

    cases = [c for c in all_cases(torch) if not args.only or any(c[1].startswith(o) for o in args.only)]
    if not cases:
        names = ", ".join(repr(name) for _, name, _ in all_cases(torch))
        raise SystemExit(f"ops: --only {' '.join(args.only)} matches no case; the cases are {names}")
    rows = []
    total = [0.0, 0.0]
    for group, name, build in cases:
        ours, theirs, flops = build()
        err = max_rel_err(ours(), theirs()) if theirs else None
        (t_ours, best_ours), (t_theirs, best_theirs) = common.time_pair([ours, theirs], **reps)
        ratio = t_ours / t_theirs if t_theirs else None
        best_ratio = best_ours / best_theirs if t_theirs else None
        gflops = flops / t_ours / 1e9 if flops else None
        if t_theirs:
            total[0] += t_ours
            total[1] += t_theirs
        rows.append([group, name, common.fmt(t_ours * 1e3, ".2f"), common.fmt(t_theirs and t_theirs * 1e3, ".2f"),
                     common.fmt(ratio, ".2f"), common.fmt(best_ratio, ".2f"), common.fmt(gflops, ".1f"),
                     gflops,  # as a percentage of the peak once the run is over
                     common.fmt(flops and t_theirs and flops / t_theirs / 1e9, ".1f"), common.fmt(err, ".1e")])
        print(f"  {name}: {rows[-1][2]} ms vs {rows[-1][3]} ms ({rows[-1][4]}x)", flush=True)
    # measure the peak again: on a shared machine one of the two may have been disturbed
    peak = max(peak, common.sgemm_peak(sizes=(2048,)))
    print(f"\nNumPy float32 matmul peak, best of start and end: {peak:.1f} GFLOP/s\n")
    for r in rows:
        r[7] = common.fmt(r[7] and 100 * r[7] / peak, ".0f")
    common.print_table(["op", "case", "minifcn ms", "torch ms", "ratio", "best/best", "minifcn GFLOP/s",
                        "% of peak", "torch GFLOP/s", "max rel err"], rows)
    if total[1]:
        print(f"\nsum over the cases: minifcn {total[0] * 1e3:.1f} ms, torch {total[1] * 1e3:.1f} ms, "
              f"ratio {total[0] / total[1]:.2f}")
    print(f"load average at end: {common.load_average()}")


if __name__ == "__main__":
    main()
