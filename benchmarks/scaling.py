"""How a training step's time grows with the input size: FCN-8s, minifcn vs PyTorch, with a plot.

    python -m benchmarks.scaling                         # 160 ... 500, writes benchmarks/scaling.png
    python -m benchmarks.scaling --sizes 128 256 384 --model segnet --out /tmp/s.png

Each point is the median of a few interleaved steps (forward, loss, backward, SGD update),
batch 1, float32, as in ``train_step.py``. The work of a step grows with the number of pixels
(FCN's padding 100 adds a constant ~200 pixels to each side of conv1), so the time is
plotted against ``h * w``.
"""
from __future__ import annotations

import argparse
import os

from . import common  # sets the thread count before NumPy loads  # noqa: I001

from .train_step import minifcn_step, torch_step

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scaling.png")


def main(argv=None):
    common.steady_malloc()   # the same allocator state for every case (benchmarks/common.py)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="fcn8s", choices=("fcn8s", "segnet"))
    parser.add_argument("--sizes", type=int, nargs="*", default=[160, 224, 288, 320, 384, 448, 500])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=DEFAULT_OUT, help="PNG file for the plot")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    torch = None if args.no_torch else common.load_torch()
    for line in common.environment(torch):
        print(line)

    rows, points = [], []
    for size in args.sizes:
        ours, model = minifcn_step(args.model, size, size)
        theirs = torch_step(args.model, size, size, torch, model.state_dict())[0] if torch else None
        # two untimed steps each, as train_step's: minifcn's array cache fills over two
        (t_ours, _), (t_theirs, _) = common.time_pair([ours, theirs], warmup=2, min_repeats=args.repeats,
                                                      min_time=0.0, max_repeats=args.repeats)
        points.append((size, t_ours, t_theirs))
        rows.append([f"{size}x{size}", f"{t_ours:.3f}", common.fmt(t_theirs),
                     common.fmt(t_theirs and t_ours / t_theirs, ".2f")])
        print(f"  {size}: {rows[-1][1]} s vs {rows[-1][2]} s, load {common.load_average()}", flush=True)
        del ours, theirs, model
    print()
    common.print_table(["input", "minifcn s", "torch s", "ratio"], rows)
    _plot(points, args.model, args.out)
    print(f"plot: {args.out}\nload average at end: {common.load_average()}")


def _plot(points, model, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pixels = [s * s / 1e3 for s, _, _ in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(pixels, [t for _, t, _ in points], "o-", label="minifcn (NumPy)")
    if points and points[0][2] is not None:
        ax.plot(pixels, [t for _, _, t in points], "s--", label="PyTorch")
    for s, t, _ in points:
        ax.annotate(str(s), (s * s / 1e3, t), textcoords="offset points", xytext=(0, 6), fontsize=7, ha="center")
    ax.set_xlabel("input pixels (thousands), square images")
    ax.set_ylabel("training step (s)")
    ax.set_title(f"{model} training step, batch 1, float32, {common.THREADS} threads")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, out)  # never leave a half-written plot behind
    plt.close(fig)


if __name__ == "__main__":
    main()
