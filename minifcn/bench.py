"""How fast this machine trains and runs the models: the ``minifcn bench`` command.

For each case (a model at an image size) it times, on random data, the training step that
``minifcn train`` runs (:meth:`Trainer.train_step <minifcn.train.Trainer.train_step>` itself:
forward, loss, backward, gradient clipping, SGD update, on a :class:`~minifcn.train.Trainer`
built as the command builds it) and the inference that ``minifcn eval`` and ``predict`` run
(``no_grad``, eval mode: the forward; for Bayesian SegNet their default Monte-Carlo
prediction, 50 dropout samples). It reports the median and best of the timed repeats, images
per second, the GFLOP of a step counted from the model itself (:class:`FlopCounter`), the rate
reached against this machine's float32 matmul peak (:func:`sgemm_peak`, BLAS on minifcn's
thread count), the memory a run holds between steps and the most a step adds to it
(:func:`step_memory`), and how long ``minifcn train``'s steps would take for its iterations.
``benchmarks/`` compares the same things with PyTorch; this needs nothing but minifcn.

::

    minifcn bench                                   # the main job's step (minifcn train's)
    minifcn bench --model fcn8s segnet --size 224 360x480 --batch 1 --width 1
    minifcn bench --device cuda --json bench.json

>>> r = bench_case("fcn8s", (32, 32), batch=1, width=1 / 16, classes=3, repeats=1)
>>> r["train_median_s"] > 0 and r["step_gflop"] > r["forward_gflop"] > 0
True
"""
from __future__ import annotations

import datetime
import gc
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from fractions import Fraction

import numpy as np

from . import backend, nn
from .autograd import Tensor, no_grad, set_grad_enabled

__all__ = ["FlopCounter", "count_flops", "parse_size", "sgemm_peak", "bench_case", "run_bench",
           "environment", "default_iters", "make_trainer", "format_table", "format_estimates",
           "held_bytes", "step_memory", "min_size", "check_json_path", "estimate_bytes",
           "machine_memory"]


# ----------------------------------------------------------------------------- FLOPs
def layer_macs(module, x, y) -> int:
    """Multiply-adds of one call of a Conv2d, ConvTranspose2d or Linear ``module`` that mapped
    ``x`` to ``y``: the direct product's, whatever algorithm runs it (Winograd's layers do
    fewer, so a step's GFLOP/s can pass the matmul peak). Bias additions are not counted.

    A convolution's weight is (out_c, in_c/groups, kh, kw): each output value takes
    ``in_c/groups * kh * kw``; a transposed one's is (in_c, out_c/groups, kh, kw): each
    input value is spread over ``out_c/groups * kh * kw`` outputs.

    >>> conv = nn.Conv2d(3, 4, 3, padding=1)
    >>> layer_macs(conv, np.zeros((1, 3, 8, 8)), np.zeros((1, 4, 8, 8)))   # 4*3*9 per pixel
    6912
    """
    w = module.weight.shape
    if isinstance(module, nn.Linear):
        return w[0] * w[1] * (int(np.prod(y.shape)) // w[0])
    k = w[0] * w[1] * w[2] * w[3]
    n, _, h, wd = (x if isinstance(module, nn.ConvTranspose2d) else y).shape
    return k * n * h * wd


class FlopCounter:
    """Count the FLOPs (2 per multiply-add) of the Conv2d, ConvTranspose2d and Linear layers of
    ``model`` while it runs inside the block, by forward hooks (removed on leaving).

    ``forward``: the forward pass's. ``step``: a training step's, the forward and the two
    gradient products of each layer, as ``benchmarks/train_step.py``'s ``step_flops`` counts
    them on a PyTorch model: a layer whose weight needs no gradient (FCN's fixed bilinear
    upsamplings) has no weight gradient, and one whose input needs none (the first layer, fed
    the image) no input gradient. Run the forward with the graph recorded (as a training
    step does), or no input needs a gradient.

    >>> conv = nn.Conv2d(3, 4, 3, padding=1)
    >>> with FlopCounter(conv) as count:
    ...     _ = conv(Tensor(np.zeros((1, 3, 8, 8), np.float32)))
    >>> count.forward, count.step      # the image needs no gradient: 2 products of 3
    (13824, 27648)
    """

    LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)

    def __init__(self, model):
        self.model = model
        self.forward = self.step = 0
        self._handles = []

    def _hook(self, module, args, y):
        x = args[0]
        macs = layer_macs(module, x, y)
        products = 1 + bool(module.weight.requires_grad) + bool(getattr(x, "requires_grad", False))
        self.forward += 2 * macs
        self.step += 2 * macs * products

    def __enter__(self):
        self._handles = [m.register_forward_hook(self._hook) for m in self.model.modules()
                         if isinstance(m, self.LAYERS)]
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []


def count_flops(model, x) -> tuple:
    """``(forward, step)`` FLOPs of ``model`` on the batch ``x`` (N, 3, H, W), counted by one
    forward pass in eval mode (so batch norm's running averages stay as they were; the count is
    the same in either mode) with the graph recorded; the model's mode is put back.

    >>> from minifcn.models import build_model
    >>> fwd, step = count_flops(build_model("fcn32s", 2, 1 / 16), np.zeros((1, 3, 32, 32), np.float32))
    >>> fwd < step < 3 * fwd
    True
    """
    was_training = model.training
    model.eval()
    try:
        with FlopCounter(model) as count, set_grad_enabled(True):
            model(Tensor(x))
    finally:
        model.train(was_training)
    return count.forward, count.step


# ----------------------------------------------------------------------------- the machine
def parse_size(text) -> tuple:
    """``"224"`` -> (224, 224), ``"360x480"`` -> (360, 480) (height x width); ValueError naming
    the text otherwise.

    >>> parse_size("224"), parse_size("360x480")
    ((224, 224), (360, 480))
    """
    parts = str(text).lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise ValueError(f"size {text!r}: expected a positive pixel count such as 224, or "
                         "HEIGHTxWIDTH such as 360x480")
    return (values[0], values[-1])


def synchronize(device: str):
    """Wait for the GPU's queued work (before reading the clock); nothing on the CPU."""
    if device == "cuda":
        backend.xp_for("cuda").cuda.Device().synchronize()


def sgemm_peak(sizes=(2048, 3072, 4096), repeats=5, device="cpu"):
    """Best float32 matmul rate on ``device`` on large squares, in GFLOP/s (2 n^3 per product):
    what the machine's BLAS (NumPy's, or cuBLAS through CuPy) reaches, the yardstick of a
    step's GFLOP/s."""
    xp = backend.xp_for(device)
    best = 0.0
    rng = np.random.default_rng(0)
    for n in sizes:
        a = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
        b = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
        a @ b
        synchronize(device)
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            synchronize(device)
            best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return best


# the squares ``minifcn bench`` measures the matmul peak on: a second or so on two CPU cores,
# milliseconds on a GPU, whose peak only large products reach
PEAK_SIZES = {"cpu": (1024, 2048), "cuda": (4096, 8192)}


def cpu_model() -> str:
    """The CPU's name (``/proc/cpuinfo``'s model name, else what ``platform`` says)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> str:
    """NumPy's BLAS: name, version, kernels and threads (through threadpoolctl when installed)."""
    from .cli import _plural
    try:
        import threadpoolctl
        info = [f"{d['internal_api']} {d['version']} ({d.get('architecture')}, {_plural(d['num_threads'], 'thread')})"
                for d in threadpoolctl.threadpool_info() if d["user_api"] == "blas"]
        return "; ".join(info) or "unknown"
    except ImportError:
        cfg = np.show_config(mode="dicts") if np.lib.NumpyVersion(np.__version__) >= "1.25.0" else {}
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '?')} (threadpoolctl not installed)"


def environment(device: str = "cpu") -> list:
    """Lines naming the machine, the versions and the thread settings a bench ran under: the
    threads minifcn runs its own work on (elementwise loops, and the products it splits, each
    on one BLAS core: :func:`~minifcn.kernels.threads.products_on_cores`) and the threads BLAS
    runs an unsplit product on, which ``OPENBLAS_NUM_THREADS`` can make differ."""
    from .kernels.threads import blas_controls, blas_kernels, num_threads
    controls = blas_controls()
    blas_count = controls[1]() if controls else "unknown (not an OpenBLAS minifcn can ask)"
    lines = [f"date: {datetime.datetime.now().isoformat(timespec='seconds')}, device: {device}"]
    if device == "cuda":
        cp = backend.xp_for("cuda")
        name = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["name"]
        name = name.decode() if isinstance(name, bytes) else name
        lines.append(f"GPU: {name}; cupy {cp.__version__}")
    lines += [
        f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas_info()}"
        + (f", kernels {blas_kernels()}" if blas_kernels() else ""),
        "threads: " + ", ".join(f"{v}={os.environ.get(v, '(unset)')}" for v in
                                ("MINIFCN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
        + f" -> minifcn's threads: {num_threads()} (elementwise work, and its split products, one "
        f"BLAS core each); BLAS's threads: {blas_count}",
    ]
    return lines


# ----------------------------------------------------------------------------- a case
class RandomImages:
    """A training set of the given images (N, 3, H, W) float32, already normalised, and labels
    (N, H, W) int64, in the shape :class:`~minifcn.train.Trainer` reads (``classes``,
    ``load`` for the class weights, ``get`` for its batches)."""

    def __init__(self, images, labels, num_classes: int):
        self.images, self.labels = images, labels
        self.classes = tuple(f"class{k}" for k in range(num_classes))
        self.num_classes = num_classes

    def __len__(self):
        return len(self.images)

    def load(self, i):
        return self.images[i], self.labels[i]

    def get(self, i, rng=None):
        return self.load(i)


def random_batch(batch: int, size: tuple, classes: int, seed: int = 0):
    """``(x, y)``: a batch of standard normal images (what the training transform's
    normalisation gives, roughly) and uniformly random labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 3, *size), dtype=np.float32)
    y = rng.integers(0, classes, (batch, *size))
    return x, y


def default_iters(batch: int) -> int:
    """The iterations ``minifcn train`` runs with a batch of ``batch`` and no ``--iters``: its
    epochs over its synthetic training images.

    >>> default_iters(8)     # 12 epochs of 400 images
    600
    """
    from .train import TrainConfig
    return int(TrainConfig.epochs) * math.ceil(TrainConfig.num_train / batch)


def make_trainer(model: str, size: tuple, batch: int, width=None, classes: int = 6,
                 device: str = "cpu", iters=None, seed: int = 0):
    """``(trainer, x, y)``: a :class:`~minifcn.train.Trainer` set up as ``minifcn train
    --model MODEL --width WIDTH --batch-size BATCH --iters ITERS`` sets one up (weights from
    the seed, optimizer, learning-rate schedule, class weights counted on its images), over one
    random batch ``(x, y)`` of ``size`` images (``random_batch``) as its training set.

    A Trainer checks its output directory when built and writes there only when it validates
    or saves, which nothing here asks: it gets a fresh empty directory (``tempfile.mkdtemp``,
    not a fixed name, which a file or another user's directory could hold), removed again
    once it is built."""
    from .train import TrainConfig, Trainer
    cfg = TrainConfig(model=model, width=width, batch_size=batch, device=device,
                      iters=iters or default_iters(batch), seed=seed)
    x, y = random_batch(batch, size, classes, seed)
    data = RandomImages(x, y, classes)
    out = tempfile.mkdtemp(prefix="minifcn-bench-")
    try:
        return Trainer(cfg, datasets=(data, data), out=out, progress=False), x, y
    finally:
        shutil.rmtree(out, ignore_errors=True)


def training_step(trainer, x, y):
    """The step function ``minifcn train`` runs for each batch: the trainer's ``train_step``,
    then the iteration count its learning-rate schedule reads, as :meth:`Trainer.run` moves it."""
    def step():
        value = trainer.train_step(x, y)
        trainer.iteration += 1
        return value
    return step


def time_calls(fn, repeats: int, device: str) -> list:
    """Seconds of each of ``repeats`` calls of ``fn``, the device synchronised before each clock
    reading (a GPU runs the work queued by a call after the call returns)."""
    gc.collect()   # not inside a timed call
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return times


def _owner(a):
    """The array that owns the memory of ``a`` (a view's ``base``, followed to its end)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def held_bytes(trainer, x, y) -> int:
    """Bytes of CPU memory that a training run holds between its steps, each block of memory
    once (a view counts as the array owning its memory): the parameters and their gradients
    (kept from one step to the next), the batch-norm statistics, the optimizer's momentum
    buffers, the class weights, the batch ``(x, y)``, and minifcn's array cache
    (:mod:`minifcn.kernels.cache`), which keeps the big arrays of a step (its layers' outputs
    and gradients) between steps to hand them out again in the next, in use or not.

    >>> from minifcn.kernels import cache
    >>> cache.clear()                  # before a first step: no gradient, momentum or cache yet
    >>> trainer, x, y = make_trainer("fcn32s", (32, 32), batch=1, width=1 / 16, classes=3)
    >>> held_bytes(trainer, x, y) == (sum(p.data.nbytes for p in trainer.model.parameters())
    ...                               + trainer.class_weight.nbytes + x.nbytes + y.nbytes)
    True
    """
    from .kernels import cache
    arrays = [x, y, trainer.class_weight, *trainer.model.buffers(), *cache._blocks]
    for p in trainer.model.parameters():
        arrays += [p.data, p.grad if isinstance(p.grad, np.ndarray) else getattr(p.grad, "data", None)]
    for state in trainer.optimizer.state.values():
        arrays += list(state.values())
    owners = {id(o): o.nbytes for o in (_owner(a) for a in arrays if isinstance(a, np.ndarray))}
    return sum(owners.values())


def step_memory(step, trainer, x, y, device: str) -> tuple:
    """``(live, step)`` bytes of one training step, run twice here (never timed): ``live``, what
    is held when the second starts; ``step``, the most the second holds at once beyond that.

    On the CPU ``live`` is :func:`held_bytes` (minifcn's array cache in it: the blocks it keeps
    between steps, which the step then reuses, are counted once, there), and ``step`` comes
    from ``tracemalloc``, to which NumPy reports its arrays' memory: the traced peak of the
    second step less what was traced when it started, from tracing started before the first
    (so that the gradients the first leaves, which the second frees, are traced too). Python's
    own objects count as well. It counts what was asked for, whatever the process held before,
    so a case gets the same figures alone or after others, unlike the resident size, which
    keeps the memory an earlier case freed (each case starts with the array cache emptied). From
    one run to the next the cache's share can differ by a block (about 1 MiB of FCN-8s's 131 at
    96x96, batch 8): which free block serves a request depends on when the CPU threads let go of
    their arrays. ``tracemalloc`` slows Python down: nothing timed runs under it.

    On the GPU ``live`` is what CuPy's memory pool has handed out (``used_bytes``), and ``step``
    the growth of the pool's total during the second step (``total_bytes``), its free blocks
    handed back to the GPU before it: the pool takes more memory only when no free block fits,
    so this is the step's peak beyond ``live``, give or take the pool's rounding (512 bytes) and
    its splitting of blocks (CuPy keeps no peak of ``used_bytes``). Host memory is not counted.
    """
    if device == "cuda":
        pool = backend.xp_for("cuda").get_default_memory_pool()
        step()
        synchronize(device)
        gc.collect()
        pool.free_all_blocks()
        live, before = pool.used_bytes(), pool.total_bytes()
        step()
        synchronize(device)
        return live, pool.total_bytes() - before
    tracing = tracemalloc.is_tracing()   # started by the user (python -X tracemalloc): left on
    if not tracing:
        tracemalloc.start()
    try:
        step()
        gc.collect()   # the first step's garbage is not the second's
        live = held_bytes(trainer, x, y)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not tracing:
            tracemalloc.stop()
    return live, peak - before


def bench_case(model: str, size: tuple, batch: int = 8, width=None, classes: int = 6,
               device: str = "cpu", repeats: int = 5, warmup: int = 2, iters=None,
               peak_gflops=None) -> dict:
    """Time one case: ``warmup`` untimed training steps (the first builds the momentum buffers,
    and counts the FLOPs), ``repeats`` timed ones, two untimed ones that measure the memory
    (:func:`step_memory`), then one untimed and ``repeats`` timed inference passes. Returns the
    figures as a dict (the keys of ``minifcn bench --json``'s cases; times in seconds, memory
    in MiB, ``estimate_s`` = ``iters`` x the median step).

    A training step is :meth:`Trainer.train_step <minifcn.train.Trainer.train_step>` on the
    batch (moved to the device each time, as the trainer moves each batch). An inference pass
    is what ``minifcn eval`` and ``predict`` run on the batch moved to the device by default:
    the forward in eval mode under ``no_grad``, and for a Bayesian model (one with
    ``mc_predict``) its Monte-Carlo prediction with their default sample count (50 dropout
    samples, each a forward: ``infer_samples``; the inference GFLOP are the forward's times
    that). ``warmup`` must be at least 1; ``peak_gflops`` (from :func:`sgemm_peak`) adds the
    fraction of it reached.

    The case starts with minifcn's array cache emptied: blocks that an earlier case left there
    would otherwise serve this one's first steps and count in its memory.
    """
    from .cli import _mc_samples
    from .kernels import cache
    if warmup < 1:
        raise ValueError(f"warmup must be >= 1 (the first step builds the optimizer's buffers "
                         f"and counts the FLOPs: never timed), got {warmup}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    device = backend.check_device(device)
    gc.collect()
    cache.clear()
    trainer, x, y = make_trainer(model, size, batch, width, classes, device, iters)
    step = training_step(trainer, x, y)
    with FlopCounter(trainer.model) as count:
        step()
    for _ in range(warmup - 1):
        step()
    train = time_calls(step, repeats, device)
    live, held = step_memory(step, trainer, x, y, device)

    net = trainer.model
    samples = _mc_samples(net, None) or 0   # eval's and predict's default: 50 for a Bayesian model

    def infer():
        xd = backend.to_device(x, device)
        if samples:
            return net.mc_predict(xd, samples)   # eval mode, dropout sampling, no_grad
        with no_grad():
            return net(Tensor(xd))

    net.eval()
    infer()
    inference = time_calls(infer, repeats, device)
    net.train()
    t, i = float(np.median(train)), float(np.median(inference))
    forwards = max(samples, 1)
    r = {"model": model, "size": list(size), "batch": batch, "width": trainer.cfg.width,
         "classes": classes, "device": device, "repeats": repeats, "warmup": warmup,
         "train_median_s": t, "train_best_s": min(train), "train_images_per_s": batch / t,
         "step_gflop": count.step / 1e9, "train_gflops": count.step / 1e9 / t,
         "infer_samples": samples, "infer_median_s": i, "infer_best_s": min(inference),
         "infer_images_per_s": batch / i, "forward_gflop": count.forward / 1e9,
         "infer_gflops": forwards * count.forward / 1e9 / i,
         "memory_live_mib": live / 2 ** 20, "memory_step_mib": held / 2 ** 20,
         "memory_cache_mib": (cache.held_bytes() if device == "cpu" else 0) / 2 ** 20,
         "iters": trainer.max_iter, "estimate_s": trainer.max_iter * t}
    if peak_gflops:
        r["train_peak_fraction"] = r["train_gflops"] / peak_gflops
        r["infer_peak_fraction"] = r["infer_gflops"] / peak_gflops
    return r


# ----------------------------------------------------------------------------- report
def _width_text(w: float) -> str:
    """``0.0625`` -> ``1/16`` (the fraction when it is exact and short), else ``%g``."""
    f = Fraction(w).limit_denominator(1024)
    return str(f) if float(f) == w else f"{w:g}"


def _mib(v: float) -> str:
    """MiB as the table shows them: whole above 10, else to a tenth."""
    return f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def format_table(results) -> str:
    """One aligned row per case; a case that failed (an ``"error"`` in its dict) gets its
    error after its model, size, batch and width."""
    header = ["model", "size", "batch", "width", "step s", "best s", "img/s", "GFLOP", "GFLOP/s",
              "% peak", "infer s", "best s", "img/s", "live MiB", "step MiB"]

    def pct(r, key):
        return f"{100 * r[key]:.0f}" if key in r else "-"

    def case(r):
        return [r["model"], "x".join(map(str, r["size"])), str(r["batch"]), _width_text(r["width"])]

    rows = [case(r) + ([f"failed: {r['error']}"] if "error" in r else [
             f"{r['train_median_s']:.3f}", f"{r['train_best_s']:.3f}", f"{r['train_images_per_s']:.1f}",
             f"{r['step_gflop']:.2f}", f"{r['train_gflops']:.1f}", pct(r, "train_peak_fraction"),
             f"{r['infer_median_s']:.4f}", f"{r['infer_best_s']:.4f}", f"{r['infer_images_per_s']:.1f}",
             _mib(r["memory_live_mib"]), _mib(r["memory_step_mib"])]) for r in results]
    widths = [max([len(h), *(len(row[k]) for row in rows if len(row) == len(header) or k < 4)])
              for k, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) if k < 2 else c.rjust(w)   # noqa: E731
                                   for k, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(header)] + [line(row) if len(row) == len(header)
                                       else line(row[:4]) + "  " + row[4] for row in rows])


def format_estimates(results) -> str:
    """One line a case that ran: how long ``minifcn train``'s steps would take."""
    from .cli import _duration, _plural
    return "\n".join(
        f"{r['model']} {'x'.join(map(str, r['size']))}, batch {r['batch']}, width "
        f"{_width_text(r['width'])}: {_plural(r['iters'], 'iteration')} x {r['train_median_s']:.3f} s = "
        f"{_duration(r['estimate_s'])} of training steps (validation and data loading not "
        "included)" for r in results if "error" not in r)


def min_size(model: str) -> int:
    """The smallest image side ``model`` takes: the rule its forward checks, which refuses a
    ``minifcn train`` run's first step (the SegNets': ``2**(pools - 1) + 1``, so that the
    deepest of their 2x2 pools has two pixels to choose from); 1 for the FCNs, whose first
    convolution pads by 100.

    >>> min_size("segnet"), min_size("segnet-basic"), min_size("fcn8s")
    (17, 9, 1)
    """
    from .models import build_model
    from .models.segnet import _min_size
    pools = getattr(type(build_model(model, 2, 1 / 64)), "_POOLS", None)   # its class's
    return 1 if pools is None else _min_size(pools)


def machine_memory():
    """This machine's physical memory in bytes (``SC_PHYS_PAGES`` x ``SC_PAGE_SIZE``), or None
    where the system does not say (Windows)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def estimate_bytes(model: str, size: tuple, batch: int, width=None, classes: int = 6) -> int:
    """A rough figure for the memory a case's training step needs, found without building the
    model at ``width`` (at ``--width 100`` that alone would not fit): 4 float32 copies of the
    parameters (weights, gradients, momentum, and the array cache's share) plus 3 of every
    convolution's output (kept for the backward, with its batch norm's and ReLU's).

    Both come from the model built at the narrower of ``width`` and train's default width,
    with its FlopCounter's layers run once at ``size`` on one image, and are scaled up: a
    layer's weights grow as the width squared (channels in x out), its outputs as the width
    and the batch. For ``bench --width 100`` it refuses a case before the OS kills it.

    >>> estimate_bytes("segnet-basic", (360, 480), 8, width=100) > 100 * 2**30   # > 100 GiB
    True
    """
    from .models import build_model
    from .train import default_width
    width = default_width(model) if width is None else width
    ref = min(width, default_width(model))
    net = build_model(model, classes, ref)
    params = sum(int(np.prod(p.shape)) for p in net.parameters())
    outputs = []
    hooks = [m.register_forward_hook(lambda m, a, y: outputs.append(int(np.prod(y.shape))))
             for m in net.modules() if isinstance(m, FlopCounter.LAYERS)]
    net.eval()
    try:
        with no_grad():
            net(Tensor(np.zeros((1, 3, *size), np.float32)))
    finally:
        for h in hooks:
            h.remove()
    r = width / ref
    return int(4 * (4 * params * r * r + 3 * sum(outputs) * r * batch))


def check_json_path(path) -> None:
    """Raise an OSError naming ``path`` unless ``minifcn bench --json`` can write its file
    there, found before the timing, not after it (:func:`minifcn._files.check_writable`, which
    every command's outputs go through).

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> check_json_path(os.path.join(d, "bench.json")); os.listdir(d)   # nothing left
    []
    """
    from ._files import check_writable
    check_writable(path, "file", "--json")


def run_bench(models=None, sizes=None, batch=None, width=None, classes=None, device="cpu",
              repeats=5, warmup=2, iters=None, json_path=None, out=None) -> list:
    """``minifcn bench``: every model at every size (the product), the report printed to
    ``out``, the figures written to ``json_path`` when given. The defaults (None) are what
    ``minifcn train`` trains with no arguments (its model, width, image size, batch and
    classes), so that the bare command times the main job's step. Returns the cases' dicts.

    The arguments, each size against each model's :func:`min_size` and the JSON path
    (:func:`check_json_path`) are checked before any timing. A case that fails all the same
    (out of memory, say) gets a dict holding its ``"error"`` and its error in place of its row,
    and the others go on; ``minifcn bench`` then exits with 1.

    The matmul peak is measured with BLAS on as many threads as minifcn splits its products
    over (:func:`~minifcn.kernels.threads.num_threads`, each part on one BLAS core), whatever
    BLAS's own count (``OPENBLAS_NUM_THREADS``): the cores a step's products run on.
    """
    from contextlib import nullcontext

    from .data.synthetic import SYNTHETIC_CLASSES
    from .kernels.threads import blas_controls, blas_threads, num_threads
    from .models import MODEL_NAMES
    from .cli import _plural
    from .train import TrainConfig, default_batch_size, default_width
    out = out or sys.stdout
    device = backend.check_device(device)   # before any work: no CuPy, the trainer's message
    models = [TrainConfig.model] if models is None else list(models)
    sizes = [TrainConfig.image_size] if sizes is None else list(sizes)
    if not models or not sizes:
        raise ValueError(f"expected at least one model and one size, got models {models} and "
                         f"sizes {sizes}")
    models = list(dict.fromkeys(models))   # a name given twice is one case, not two runs of it
    sizes = list(dict.fromkeys(parse_size(s) if not isinstance(s, tuple) else s for s in sizes))
    for m in models:
        if m not in MODEL_NAMES:
            raise ValueError(f"unknown model {m!r}: expected one of {', '.join(MODEL_NAMES)}")
    batch = default_batch_size("synthetic", None) if batch is None else batch
    classes = len(SYNTHETIC_CLASSES) if classes is None else classes
    for name, v, low in (("batch", batch, 1), ("classes", classes, 1), ("repeats", repeats, 1),
                         ("warmup", warmup, 1), ("iters", 1 if iters is None else iters, 1)):
        if v < low:
            raise ValueError(f"{name} must be >= {low}, got {v}")
    for m in models:   # the rule that would stop the case's first step, before any timing
        least = min_size(m)
        for h, w in sizes:
            if min(h, w) < least:
                raise ValueError(f"size {h}x{w} is too small for {m}: each side must be at "
                                 f"least {least}")
    if json_path is not None:   # found before the work, not after
        check_json_path(json_path)
    total = machine_memory() if device == "cpu" else None   # a GPU's is CuPy's to report
    for m in models if total else ():   # before any timing: past it, the OS kills the process
        for h, w in sizes:
            need = estimate_bytes(m, (h, w), batch, width, classes)
            if need > total:
                raise ValueError(f"{m} at {h}x{w}, batch {batch}, width "
                                  f"{_width_text(default_width(m) if width is None else width)} "
                                  f"needs about {need / 2**30:.1f} GiB, more than this machine's "
                                  f"{total / 2**30:.1f} GiB: expected a narrower --width, a "
                                  "smaller --batch or --size")
    for line in environment(device):
        print(line, file=out)
    sq = PEAK_SIZES[device]
    split = device == "cpu" and blas_controls() is not None
    with blas_threads(num_threads()) if split else nullcontext():
        peak = sgemm_peak(sizes=sq, repeats=3, device=device)
    on = f", BLAS on {_plural(num_threads(), 'thread')} as minifcn's products" if split else ""
    print(f"float32 matmul peak ({' and '.join(map(str, sq))} squares{on}, best of 3): "
          f"{peak:.1f} GFLOP/s", file=out)
    print(f"each case: {_plural(warmup, 'untimed step')}, then the median and best of {repeats}; "
          f"random data, {_plural(classes, 'class', 'classes')}", file=out, flush=True)
    results = []
    for m in models:
        for s in sizes:
            try:
                results.append(bench_case(m, s, batch, width, classes, device, repeats, warmup,
                                          iters, peak))
            except Exception as e:   # out of memory, a divergence: the other cases still count
                results.append({"model": m, "size": list(s), "batch": batch,
                                "width": default_width(m) if width is None else width,
                                "classes": classes, "device": device,
                                "error": f"{type(e).__name__}: {e}"})
    print("\n" + format_table(results), file=out)
    bayesian = {r["model"]: r["infer_samples"] for r in results if r.get("infer_samples")}
    mc = "".join(f";\n  for {m}, its mc_predict: {n} dropout samples, {n} forwards (their default)"
                 for m, n in bayesian.items())
    if device == "cuda":
        mem = ("live MiB: what CuPy's memory pool has handed out before a step (parameters, "
               "gradients,\n  momentum buffers); step MiB: how much the pool grew during "
               "one, its free blocks given\n  back before it (the step's peak beyond live MiB, "
               "give or take the pool's splitting of\n  blocks)")
    else:
        mem = ("live MiB: what a run holds between steps (parameters, gradients, momentum "
               "buffers, the batch,\n  and minifcn's array cache, the big arrays of a step "
               "kept for the next); step MiB: the most\n  a step allocates beyond that at "
               "once (tracemalloc, one untimed step)")
    print("step s: a training step (median, then best); GFLOP: its convolutions' multiply-adds "
          "x 2,\n  forward and gradients; % peak: of the matmul peak; infer s: what eval and "
          f"predict run on\n  the batch by default: a no_grad forward in eval mode{mc};\n  {mem}\n",
          file=out)
    print(format_estimates(results), file=out, flush=True)
    failed = [r for r in results if "error" in r]
    if failed:
        print(f"{len(failed)} of {_plural(len(results), 'case')} failed: "
              + "; ".join(f"{r['model']} {'x'.join(map(str, r['size']))}" for r in failed),
              file=out, flush=True)
    if json_path is not None:
        import json
        from ._files import write_text
        doc = {"environment": environment(device), "sgemm_peak_gflops": peak, "cases": results}
        write_text(json_path, json.dumps(doc, indent=2) + "\n")
        print(f"wrote: {json_path}", file=out)
    return results
