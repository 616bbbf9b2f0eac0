"""The training loop: SGD on a segmentation model, validation, logs, pictures and exact resume.

One :class:`Trainer` owns a model, an :class:`~minifcn.optim.SGD`, the datasets and two random
generators: the backend's (parameter init, dropout) and a ``numpy.random.Generator`` that shuffles
the training set and drives every random transform. Everything that changes during training (the
parameters, BN running averages, momentum buffers, both generators, the epoch's sample order and
the position in it) goes into the checkpoint, so ``Trainer.from_checkpoint(path).run()`` continues
exactly where the saved run stopped: on the CPU its final parameters are bit for bit those of a run
that never stopped.

What a run writes under its ``out`` directory::

    checkpoint.npz      model + optimizer + RNG state, rewritten (atomically) at every validation
    log.csv             one row per validation, columns viz.LOG_COLUMNS
    curves.png          loss and mean IoU against iteration (viz.plot_curves)
    grids/iter_<k>.png  image / ground truth / prediction for the first val images
    metrics.json        the last validation's scores (see :func:`save_metrics_json`)

Learning rate and loss. The FCN reference sums the loss over every pixel of a 500x500 image
(~2.5e5 terms) and uses lr 1e-10 with momentum 0.99 on a pretrained, full-width VGG16: the summed
gradient is ~1e5 times the per-pixel mean, momentum 0.99 multiplies the step by ~100 more, and
pretrained weights only need nudging. Our default trains a narrow net from scratch on small
images, so it averages the loss over pixels (``loss_reduction="mean"``: the step no longer
depends on the image size) and uses an ordinary lr for a He-initialised net: 0.05, momentum 0.9,
poly decay, 100 warm-up iterations (200 for SegNet and Bayesian SegNet, 20 for SegNet-Basic:
:func:`default_warmup`)
and the global gradient norm clipped at 2. A plain 15-layer VGG trunk has no batch norm; without
warm-up and clipping, larger steps kill its ReLUs and the net collapses to "everything is
background". Median-frequency class weights (SegNet's) keep the rare thin classes in the loss;
they lifted mean IoU from ~0.38 to ~0.50 at 550 iterations in our sweep.
The SegNets, with batch norm after every convolution, train at 0.2 and twice the width
(:func:`default_lr`, :func:`default_width`).

>>> TrainConfig().model
'fcn8s'
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import secrets
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from . import backend
from . import functional as F
from ._files import check_directory, deferring_sigint, write_text
from .autograd import Tensor, no_grad
from .checkpoint import checkpoint_file, load_checkpoint, save_checkpoint
from .metrics import BoundaryF1, ConfusionMatrix
from .nn_utils import global_norm   # the norm that grad_clip tests (also train.global_norm)
from .optim import SGD, fcn_param_groups, lr_at
from .weights import _META_KEY
from .progress import STEP_FORMAT, progress_bar, quiet_ctrl_c_echo, step_postfix

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "TrainingInterrupted", "build_datasets",
           "median_frequency_weights", "evaluate", "save_metrics_json", "train_staged", "load_model",
           "STAGES", "default_lr", "default_width", "default_warmup", "EvaluationStopped", "global_norm"]

#: FCN's staged recipe: each stage is initialised from the previous one.
STAGES = ("fcn32s", "fcn16s", "fcn8s")


def default_width(model: str) -> float:
    """The channel width a run of ``model`` gets when none is given: 1/16 (FCN-8s's conv1 has
    4 channels), but 1/8 for the SegNets, whose batch-normed layers at 1/16 learn too little in
    the main job's 600 iterations (at lr 0.2, mean IoU: SegNet 0.37 in 145 s at 1/16, 0.72 at
    1/8; Bayesian SegNet 0.30 in 148 s, 0.78 in 205 s), or too unevenly: SegNet-Basic's 8
    layers of 4 channels gave 0.72 / 0.56 / 0.47 over seeds 0-2 in about 70 s each, of 8
    channels 0.83 / 0.86 / 0.86 in about 2 min (twentieth session).

    >>> default_width("fcn8s"), default_width("segnet"), default_width("segnet-basic")
    (0.0625, 0.125, 0.125)
    """
    return 0.125 if "segnet" in model else 0.0625


def default_lr(model: str) -> float:
    """The learning rate a run of ``model`` gets when none is given.

    FCN's nets train at 0.05. On the main job (with 20 warm-up iterations, the default of the
    time), seeds 0-2 gave FCN-8s 0.878 / 0.844 / 0.882 mean IoU there, and 0.880 / 0.827 / 0.866
    at 0.1 (twenty-third session): the seed, not the rate, sets the spread. The SegNets, with batch norm after every convolution, take and
    need a larger one: on the main job's synthetic data (600 iterations of batch 8), Bayesian
    SegNet at width 1/8 reached 0.35 mean IoU at 0.05 and 0.78 at 0.2, SegNet-Basic at 1/16
    after 300 iterations 0.26 and 0.45 (the SegNet paper trained at 0.1, with batches of 12).
    Those were seed 0; over seeds 0-2 Bayesian SegNet gave 0.39-0.76 at 0.2 and 0.38-0.57 at
    0.1 (nineteenth session): the seed matters more than the rate there.

    >>> default_lr("fcn8s"), default_lr("bayesian-segnet")
    (0.05, 0.2)
    """
    return 0.2 if "segnet" in model else 0.05


def default_warmup(model: str) -> int:
    """The iterations of learning-rate warm-up a run of ``model`` gets when none is given: 100,
    but 200 for SegNet and Bayesian SegNet and 20 for SegNet-Basic. A net trained from scratch
    starts chaotically: SegNet's 26 batch-normed layers at their lr 0.2 turn rounding
    differences of 1e-4 after one step into 10-60 % of the weights' change by the third
    (``tests/test_benchmarks.py``), and a slow start decides where a short run ends. On the
    main job's synthetic data, mean IoU by seed:

    - FCN-8s (the main job, twenty-third session), seeds 0-4, 20 -> 100 iterations: 0.878 /
      0.844 / 0.882 / 0.899 / 0.869 -> 0.895 / 0.873 / 0.872 / 0.906 / 0.869 (range
      0.844-0.899 -> 0.869-0.906);
    - SegNet, seeds 0-2, 20 -> 100 (twenty-second session): 0.89 / 0.74 / 0.69 -> 0.87 / 0.80 /
      0.88, and its PyTorch twin on the same recipe (``benchmarks/twin_train.py``) 0.76 / 0.73
      / 0.69 -> 0.81 / 0.84 / 0.86; Bayesian SegNet 0.63 / 0.74 / 0.58 -> 0.64 / 0.74 / 0.63.
      But 100 did not hold: the twenty-fourth session's kernels, which round differently, gave
      SegNet 0.73 / 0.90 / 0.57 and Bayesian SegNet 0.72 / 0.61 / 0.77 with 100, and with 200
      0.89 / 0.88 / 0.91 and 0.76 / 0.71 / 0.71, their PyTorch twins 0.89 / 0.90 / 0.87 and
      0.81 / 0.74 / 0.77 (0.81 / 0.84 / 0.86 and 0.80 / 0.90 / 0.57 with 100). On the
      twenty-third session's kernels SegNet's seeds 0 and 2 gave 0.72 and 0.79 with 200 (seed
      0 0.81 with 100), and on the twenty-fifth's, whose batch norm sums a 160x160 plane in
      another order, 0.83 / 0.87 / 0.76 with 200 (Bayesian SegNet 0.79 / 0.87 / 0.78): the
      start stays chaotic, and the longer warm-up narrows the spread (the seven runs with 100
      across these kernels: 0.57-0.90, mean 0.79; the eight with 200: 0.72-0.91, mean 0.83),
      it does not remove it;
    - SegNet-Basic keeps 20: 0.83 / 0.86 / 0.86 there, 0.68 / 0.89 / 0.85 with 100.

    >>> default_warmup("fcn8s"), default_warmup("segnet"), default_warmup("segnet-basic")
    (100, 200, 20)
    """
    if model == "segnet-basic":
        return 20
    return 200 if "segnet" in model else 100


def default_batch_size(dataset: str, crop: int | None, scale=None) -> int:
    """The images a batch holds when none is given: 8, but 1 where the training images differ
    in size and nothing cuts them to one (a batch is one array): VOC's and SBD's images (up to
    500 x 500, each its own shape), or any image rescaled at random (``scale``), without a
    ``crop``. One image at a time, uncropped, is also how FCN's reference recipe trains.

    >>> default_batch_size("synthetic", None), default_batch_size("voc", None), default_batch_size("voc", 320)
    (8, 1, 8)
    """
    return 1 if crop is None and (dataset != "synthetic" or scale is not None) else 8


def validation_batch_size(dataset: str, batch_size: int) -> int:
    """The images a validation batch holds: the run's ``batch_size`` on the synthetic images,
    which share one size, and 1 on VOC's and SBD's, which do not: a split is scored whole,
    uncropped, whatever ``crop`` cut the training images to.

    >>> validation_batch_size("synthetic", 8), validation_batch_size("voc", 8)
    (8, 1)
    """
    return batch_size if dataset == "synthetic" else 1


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a run; stored in the checkpoint, so a resumed run rebuilds the same one.

    The defaults are the main job (``minifcn train``): a narrow FCN-8s trained from scratch on the
    built-in synthetic dataset, on the CPU, in a few minutes.
    """
    model: str = "fcn8s"
    width: float | None = None          # None: default_width(model), 1/16 (1/8 for SegNet)
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    dataset: str = "synthetic"          # synthetic | voc | sbd
    data_root: str | None = None        # None: synthetic in the user cache; required for voc/sbd
    val_split: str = "val"
    image_size: int = 160               # synthetic images are image_size x image_size
    num_train: int = 400                # synthetic training images
    num_val: int = 80                   # synthetic validation images
    data_seed: int = 0                  # the synthetic dataset's seed
    subset_count: int | None = None     # keep this many training images
    val_count: int | None = None        # validate on this many val images (None: all)
    subset_classes: list | None = None  # keep images with these classes, remapped to bg + these
    convention: str = "torchvision"     # input normalisation: centred, unit variance (transforms.Normalize)
    crop: int | None = None             # random crop size for training (needed to batch VOC)
    flip: bool = True                   # random horizontal flips
    scale: list | None = None           # random scale range, e.g. [0.75, 1.25]
    epochs: int = 12
    iters: int | None = None            # overrides epochs when given
    batch_size: int | None = None       # None: default_batch_size(dataset, crop, scale), 8 or 1
    lr: float | None = None             # None: default_lr(model), 0.05 for FCN, 0.2 for SegNet
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_policy: str = "poly"             # fixed | step | poly
    lr_step: int | None = None          # step policy: iterations per decay
    lr_gamma: float = 0.1
    warmup: int | None = None           # iterations of linear warm-up (None: default_warmup(model))
    grad_clip: float | None = 2.0       # rescale gradients whose global L2 norm exceeds this
    loss_reduction: str = "mean"        # mean | sum (FCN reference: sum)
    class_weights: str | None = "median-freq-sqrt"  # None | "median-freq" | "median-freq-sqrt"
    val_every: int | None = None        # iterations between validations (default: one epoch)
    grid_size: int = 8                  # val images in each prediction grid
    device: str = "cpu"
    seed: int = 0
    out: str | None = None
    init: str | None = None             # VGG16 weights to start from (see init_from_vgg16)

    def __post_init__(self):
        if self.width is None:
            self.width = default_width(self.model)
        if self.lr is None:
            self.lr = default_lr(self.model)
        if self.warmup is None:
            self.warmup = default_warmup(self.model)
        if self.class_weights == "none":
            self.class_weights = None
        if self.dataset not in ("synthetic", "voc", "sbd"):
            raise ValueError(f"dataset must be 'synthetic', 'voc' or 'sbd', got {self.dataset!r}")
        if self.loss_reduction not in ("mean", "sum"):
            raise ValueError(f"loss_reduction must be 'mean' or 'sum', got {self.loss_reduction!r}")
        if self.class_weights not in (None, "median-freq", "median-freq-sqrt"):
            raise ValueError(f"class_weights must be 'median-freq', 'median-freq-sqrt' or 'none', "
                             f"got {self.class_weights!r}")
        if self.lr_policy not in ("fixed", "step", "poly"):
            raise ValueError(f"lr_policy must be 'fixed', 'step' or 'poly', got {self.lr_policy!r}")
        if self.batch_size is None:
            self.batch_size = default_batch_size(self.dataset, self.crop, self.scale)
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.iters is None and int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1 (or give iters), got {self.epochs}")
        if self.iters is not None and int(self.iters) < 1:
            raise ValueError(f"iters must be >= 1, got {self.iters}")
        for name in ("val_every", "lr_step", "subset_count", "val_count"):   # None: see above
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr_policy == "step" and self.lr_step is None:
            raise ValueError("lr_policy 'step' needs lr_step (iterations per decay)")
        if int(self.warmup) < 0 or int(self.grid_size) < 0:
            raise ValueError(f"warmup and grid_size must be >= 0, got {self.warmup}, {self.grid_size}")
        for name in ("seed", "data_seed"):   # NumPy's own message would not name the option
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {getattr(self, name)}")
        if not 0 <= self.momentum < 1:   # at 1 or above the steps grow without bound
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if not (math.isfinite(self.lr_gamma) and self.lr_gamma > 0):
            raise ValueError(f"lr_gamma must be a positive number, got {self.lr_gamma}")
        if self.grad_clip is not None and not (math.isfinite(self.grad_clip) and self.grad_clip > 0):
            raise ValueError(f"grad_clip must be a positive number (or None: no clipping), got {self.grad_clip}")
        if self.scale is not None and not (len(self.scale) == 2
                                           and 0 < self.scale[0] <= self.scale[1] < math.inf):
            raise ValueError(f"scale must be a range [low, high] with 0 < low <= high, both finite, "
                             f"got {self.scale}")
        if int(self.batch_size) > 1 and default_batch_size(self.dataset, self.crop, self.scale) == 1:
            which = f"{self.dataset}'s images" if self.dataset != "synthetic" else "images rescaled at random"
            raise ValueError(f"batch_size {self.batch_size} needs crop: {which} differ in size, and a batch "
                             "is one array, so give a crop size to cut them to one (--crop 320, say), or "
                             "batch_size 1 (one image at a time, uncropped, as FCN's reference trains)")
        if self.model == "segnet-basic":  # recorded, so that checkpoints say which net they hold
            self.model_kwargs = {"lrn": True, **(self.model_kwargs or {})}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Rebuild from ``dataclasses.asdict`` output, ignoring keys this version does not know."""
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        if d.get("model") == "segnet-basic":
            # SegNet-Basic gained its input LRN after checkpoints that do not record it were
            # written: those hold the net without it, and must rebuild (and resume) that net
            d["model_kwargs"] = {"lrn": False, **(d.get("model_kwargs") or {})}
        return cls(**d)


@contextlib.contextmanager
def _quiet_floats():
    """NumPy's floating-point warnings (overflow, invalid value) silenced while a step or a
    validation computes: a diverging run printed a dozen from the kernels before its loss
    turned non-finite, which the trainer then reports itself (TrainingDiverged). One context
    a step, not one an op. ``np.errstate`` holds for this thread alone; the kernels' helper
    threads (kernels/threads.py) warn through the warnings filter, which is set here too."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"(overflow|invalid value|divide by zero) encountered",
                                RuntimeWarning)
        yield


class TrainingDiverged(RuntimeError):
    """The loss became NaN or Inf; the message names the iteration and the last good checkpoint."""


class EvaluationStopped(Exception):
    """:func:`evaluate` was asked to stop (its ``stop`` returned True) before the split's end."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`Trainer.run`: the iteration under way was finished and a checkpoint
    written at it (``checkpoint``, ``iteration``), from which ``--resume`` continues exactly.
    A KeyboardInterrupt, so code that stops on Ctrl-C still does."""

    def __init__(self, checkpoint, iteration: int):
        super().__init__(f"interrupted at iteration {iteration}; checkpoint {checkpoint}")
        self.checkpoint, self.iteration = str(checkpoint), iteration


# ----------------------------------------------------------------------------- data
def build_datasets(cfg: TrainConfig):
    """``(train, val)`` datasets of a config, with their transforms and subsets applied.

    Training: ``[RandomScale] [RandomCrop] [flip] Normalize ToCHW`` from the config; validation:
    ``Normalize ToCHW``. ``subset_classes`` applies to both splits (so their ids agree),
    ``subset_count`` to the training split only, ``val_count`` to the validation split: that
    many of its images, drawn with seed 0 whatever the run's seed (runs that differ in their
    seed are scored on the same images), in the split's order.
    """
    from .data.transforms import build_transform
    from .data.voc import SBDSegmentation, VOCSegmentation, subset
    train_tf = build_transform(cfg.convention, crop=cfg.crop, flip=cfg.flip,
                               scale=tuple(cfg.scale) if cfg.scale else None)
    val_tf = build_transform(cfg.convention)
    if cfg.dataset == "synthetic":
        from .data.synthetic import SyntheticSegmentation
        kw = dict(num_train=cfg.num_train, num_val=cfg.num_val, size=cfg.image_size, seed=cfg.data_seed)
        train = SyntheticSegmentation(cfg.data_root, "train", transform=train_tf, **kw)
        val = SyntheticSegmentation(cfg.data_root, cfg.val_split, transform=val_tf, **kw)
    else:
        if not cfg.data_root:
            raise ValueError(f"dataset {cfg.dataset!r} needs --data-root (run `minifcn data "
                             f"{cfg.dataset}` to download it)")
        if cfg.dataset == "voc":
            train = VOCSegmentation(cfg.data_root, "train", transform=train_tf)
            val = VOCSegmentation(cfg.data_root, cfg.val_split, transform=val_tf)
        else:
            train = SBDSegmentation(cfg.data_root, "train", transform=train_tf)
            val = SBDSegmentation(cfg.data_root, cfg.val_split, transform=val_tf)
    if cfg.subset_classes:
        train = subset(train, cfg.subset_count, cfg.subset_classes, seed=cfg.seed)
        val = subset(val, cfg.val_count, cfg.subset_classes)
    else:
        if cfg.subset_count is not None:
            train = subset(train, cfg.subset_count, seed=cfg.seed)
        if cfg.val_count is not None:
            val = subset(val, cfg.val_count)
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"empty dataset: {len(train)} training and {len(val)} validation images "
                         "after the subset")
    return train, val


def median_frequency_weights(dataset, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """SegNet's median-frequency class balancing, from a dataset's raw labels.

    ``freq(c) = (pixels of class c) / (pixels of the images that contain c)`` and
    ``w(c) = median(freq) / freq(c)`` (median over the classes present); rare classes weigh more.
    A class absent from every label gets weight 1 (it never occurs in a target, so its weight
    never counts). Ignored pixels (255) are left out of both counts. Returns ``(C,)`` float32.

    >>> import numpy as np
    >>> class Toy:                       # two 1x4 label maps
    ...     labels = [np.array([[0, 0, 0, 1]]), np.array([[0, 0, 2, 2]])]
    ...     def __len__(self): return 2
    ...     def load(self, i): return None, self.labels[i]
    >>> [round(float(w), 3) for w in median_frequency_weights(Toy(), 3)]   # freq 5/8, 1/4, 2/4
    [0.8, 2.0, 1.0]
    """
    class_pixels = np.zeros(num_classes, np.int64)
    image_pixels = np.zeros(num_classes, np.int64)
    for i in range(len(dataset)):
        lab = np.asarray(dataset.load(i)[1])
        if lab.dtype.kind not in "iub":   # a cast would truncate 1.9 to class 1
            raise TypeError(f"label of sample {i} must hold integer class ids, got dtype {lab.dtype}")
        lab = lab.astype(np.int64).ravel()
        lab = lab[lab != ignore_index]
        if lab.size and (lab.min() < 0 or lab.max() >= num_classes):
            bad = lab[(lab < 0) | (lab >= num_classes)][0]
            raise ValueError(f"label of sample {i} holds {bad}, outside [0, {num_classes}) and not "
                             f"the ignore index {ignore_index}")
        counts = np.bincount(lab, minlength=num_classes)
        class_pixels += counts
        image_pixels += np.where(counts > 0, lab.size, 0)
    present = class_pixels > 0
    if not present.any():
        raise ValueError("no labelled pixels in the dataset: cannot compute class weights")
    freq = np.where(present, class_pixels / np.maximum(image_pixels, 1), np.nan)
    med = np.nanmedian(freq)
    return np.where(present, med / np.where(present, freq, 1.0), 1.0).astype(np.float32)


class _Ordered:
    """A dataset view in a given order (the rest of an epoch), for ``iterate_batches``."""

    def __init__(self, dataset, order):
        self.dataset, self.order = dataset, list(order)

    def __len__(self):
        return len(self.order)

    def get(self, i, rng=None):
        return self.dataset.get(self.order[i], rng)


# ----------------------------------------------------------------------------- evaluation
def evaluate(model, dataset, batch_size: int = 1, device: str = "cpu", weight=None,
             reduction: str = "mean", keep: int = 0, samples: int | None = None,
             progress: bool = False, stop=None, bf: bool = False):
    """Run ``model`` over a whole split; one confusion matrix, as the FCN paper measures.

    Shapes: the dataset yields ``(3, H, W)`` float32 images and ``(H, W)`` labels; the model maps
    ``(N, 3, H, W)`` to scores ``(N, C, H, W)``. Returns ``(scores, loss, confusion, kept)``:
    ``segmentation_scores`` of the matrix, the split's loss, the ``(C, C)`` matrix, and the
    predictions ``(H, W)`` of the first ``keep`` images (for the grids). The model is put in
    eval mode (and left there).

    The loss is the split's, whatever the batches: with ``reduction="mean"`` the summed
    (``weight``-ed) cross-entropy of every labelled pixel over their summed weights (their count
    when unweighted), with ``"sum"`` the summed loss per image. A mean of per-batch means would
    change with ``batch_size``: a short last batch would count as much as a full one.

    With ``samples`` (Bayesian SegNet) each batch is scored by the model's ``mc_predict``: the
    prediction is the argmax of the mean softmax of that many dropout samples, and the loss is
    the cross-entropy of that mean (``log`` of probabilities is its own ``log_softmax``).
    ``progress`` shows a bar of the batches, which is cleared when done. ``stop``, a callable
    asked after each batch, abandons the pass with :class:`EvaluationStopped` when it says True.
    With ``bf`` the scores also hold ``bf`` and ``per_class_bf``, the boundary F1 score
    (:class:`~minifcn.metrics.BoundaryF1`: per image, theta 0.75 % of each image's diagonal, so
    score VOC's images in batches of 1, uncropped, as ``validation_batch_size`` gives).
    """
    from .data.voc import iterate_batches
    if reduction not in ("mean", "sum"):   # any other had scored as "mean", silently
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if samples and not hasattr(model, "mc_predict"):
        raise ValueError(f"samples={samples} needs a Bayesian model with mc_predict (dropout to sample); "
                         f"{type(model).__name__} has none")
    model.eval()
    num_classes = dataset.num_classes
    cm = ConfusionMatrix(num_classes)
    boundary = BoundaryF1(num_classes) if bf else None
    total, norm, kept = 0.0, 0.0, []       # the split's summed loss, and what divides it
    batches = math.ceil(len(dataset) / batch_size)
    bar = progress_bar(total=batches, desc="val", unit="batch", leave=False, disable=not progress,
                       dynamic_ncols=True)
    with no_grad(), bar:
        for done, (x, y) in enumerate(iterate_batches(dataset, batch_size), 1):
            xd, yd = backend.to_device(x, device), backend.to_device(y, device)
            if samples:
                probs, pred, _ = model.mc_predict(xd, samples)   # it checks samples (2.5 had been 2)
                xp = backend.get_array_module(probs)
                scores = Tensor(xp.log(xp.maximum(probs, xp.finfo(probs.dtype).tiny)))
            else:
                scores = model(Tensor(xd))
                pred = scores.data.argmax(axis=1)
            total += F.cross_entropy(scores, yd, weight=weight, reduction="sum").item()
            norm += _loss_norm(yd, weight, reduction)
            cm.update(pred, yd)
            if boundary is not None:
                boundary.update(pred, yd)
            for p in pred[:max(0, keep - len(kept))]:
                kept.append(backend.to_numpy(p))
            bar.update(1)
            if stop is not None and stop():
                raise EvaluationStopped(f"evaluation stopped after {done} of {batches} batch{'' if batches == 1 else 'es'}")
    loss = total / norm if norm > 0 else float("nan")   # nan: no labelled pixel to score
    scores = cm.scores()
    if boundary is not None:
        b = boundary.scores()
        scores.update(bf=b["bf"], per_class_bf=b["per_class_bf"])
    return scores, loss, cm.matrix, kept


def _loss_norm(target, weight, reduction: str, ignore_index: int = 255) -> float:
    """What a batch adds to the divisor of :func:`evaluate`'s loss: its images (``"sum"``),
    or its labelled pixels' summed weights (``"mean"``, as ``cross_entropy`` divides)."""
    if reduction == "sum":
        return float(target.shape[0])
    xp = backend.get_array_module(target)
    labelled = target[target != ignore_index]
    if weight is None:
        return float(labelled.size)
    return float(xp.asarray(weight)[labelled].sum(dtype=xp.float64))


def _clean(v):
    """JSON has no NaN: write null for absent classes."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple)):
        return [_clean(u) for u in v]
    if isinstance(v, dict):
        return {k: _clean(u) for k, u in v.items()}
    return v


def _unclean(v):
    """:func:`_clean` undone: null back to NaN, for the scores a checkpoint kept (a resumed run
    that trains no further prints them: ``format_scores`` takes no None)."""
    if v is None:
        return math.nan
    if isinstance(v, list):
        return [_unclean(u) for u in v]
    if isinstance(v, dict):
        return {k: _unclean(u) for k, u in v.items()}
    return v


def save_metrics_json(path, scores: dict, class_names, confusion=None, extra=None) -> Path:
    """Write the scores as JSON atomically; NaN (a class absent from truth and prediction) -> null.

    Keys: ``pixel_acc, mean_acc, mean_iou, fw_iou`` (floats), ``per_class_iou`` (class name ->
    IoU or null), ``bf`` and ``per_class_bf`` where the scores have them, ``classes``,
    ``confusion`` (rows = ground truth) and any ``extra`` keys.

    >>> import tempfile, os, json
    >>> p = save_metrics_json(os.path.join(tempfile.mkdtemp(), "m.json"),
    ...     {"pixel_acc": 1.0, "mean_acc": 1.0, "mean_iou": 0.5, "fw_iou": 1.0,
    ...      "per_class_iou": [1.0, float("nan")]}, ["bg", "cat"])
    >>> json.load(open(p))["per_class_iou"]
    {'bg': 1.0, 'cat': None}
    """
    path = Path(path)
    per = list(scores.get("per_class_iou", []))
    names = [str(c) for c in class_names]
    if len(names) != len(per):
        raise ValueError(f"got {len(names)} class names for {len(per)} per-class IoUs")
    doc = {k: scores[k] for k in ("pixel_acc", "mean_acc", "mean_iou", "fw_iou")}
    doc["per_class_iou"] = dict(zip(names, per))
    if "bf" in scores:   # evaluate(bf=True): the boundary F1 score, per class too
        doc["bf"] = scores["bf"]
        doc["per_class_bf"] = dict(zip(names, scores["per_class_bf"]))
    doc["classes"] = names
    if confusion is not None:
        doc["confusion"] = np.asarray(confusion).astype(int).tolist()
    doc.update(extra or {})
    write_text(path, json.dumps(_clean(doc), indent=2) + "\n")
    return path


# ----------------------------------------------------------------------------- trainer
def _make_model(cfg: TrainConfig, num_classes: int):
    from .models import build_model
    return build_model(cfg.model, num_classes, cfg.width, **(cfg.model_kwargs or {}))


def init_from_vgg16(model, state):
    """Start ``model`` from VGG16 weights, ``state`` in our names (see
    :func:`minifcn.weights.import_vgg16`), as the papers did:

    * FCN-32s/16s/8s take the convolutionalized VGG16 (net surgery: fc6 and fc7 reshaped into
      7x7 and 1x1 convolutions); fc8 is dropped, the score layers stay at zero and the
      upsamplings bilinear;
    * SegNet and Bayesian SegNet take VGG16's thirteen convolutions as their encoder, and from
      ``vgg16_bn`` weights each convolution's batch norm too (``<conv>_bn``); the decoder keeps
      its own initialisation.

    Returns the names copied. Raises ValueError for a model with no VGG16 trunk or a layer whose
    shape differs (a width other than the weights').
    """
    from .models.vgg import VGG_BLOCKS
    from .weights import convolutionalize_state
    own = model.state_dict()
    trunk = [f"{name}.{p}" for block in VGG_BLOCKS for name in block for p in ("weight", "bias")]
    if "fc6.weight" in own and len(own["fc6.weight"].shape) == 4:       # an FCN
        trunk += [f"{name}.{p}" for name in ("fc6", "fc7") for p in ("weight", "bias")]
        state = convolutionalize_state(state)
    if not all(k in own for k in trunk):
        raise ValueError(f"init: {type(model).__name__} has no VGG16 trunk to start from "
                         "(FCN-32s/16s/8s, SegNet and Bayesian SegNet have one)")
    norms = [k for k in state if "_bn." in k]          # vgg16_bn's batch norms
    if norms and not all(k in own for k in norms):
        raise ValueError(f"init: these are vgg16_bn weights, trained with batch norm after each "
                         f"convolution, which {type(model).__name__} does not have: start it "
                         "from plain VGG16 weights")
    trunk += norms
    for k in trunk:
        if k not in state:
            raise ValueError(f"init: the weights lack {k}")
        if tuple(state[k].shape) != tuple(own[k].shape):
            raise ValueError(f"init: {k} is {tuple(state[k].shape)} in the weights but "
                             f"{tuple(own[k].shape)} in the model: VGG16's weights fit width 1.0 "
                             "(--width 1.0)")
    model.load_state_dict({**own, **{k: state[k] for k in trunk}})   # cast to the model's dtype
    return trunk


def _init_weights(model, cfg: TrainConfig):
    """Load ``cfg.init`` into ``model``, after checking the run prepares its images as the
    weights expect."""
    from .weights import import_vgg16
    if not os.path.isfile(cfg.init):   # open()'s own message would not say which option named it
        raise FileNotFoundError(f"--init {cfg.init}: no such file (the VGG16 weights to start from: "
                                "a torchvision .pth or a Caffe .caffemodel)")
    state, meta = import_vgg16(cfg.init)
    wants = meta.get("input_convention")
    if wants in ("caffe", "torchvision") and wants != cfg.convention:
        raise ValueError(f"init: {cfg.init} ({meta['format']}) expects the {wants!r} input convention "
                         f"({meta['channel_order']}, scale {meta['scale']:g}, mean {meta['mean']}); "
                         f"this run uses {cfg.convention!r}: add --convention {wants}")
    init_from_vgg16(model, state)


# the settings that choose the training images or their weighting: a resumed run that changes one
# counts its class weights again (on the images it now trains on), not the saved ones
CLASS_WEIGHT_FIELDS = frozenset({"class_weights", "dataset", "data_root", "image_size", "num_train",
                                 "data_seed", "subset_count", "subset_classes", "seed"})


class Trainer:
    """Train one model under a :class:`TrainConfig`; resumable bit for bit.

    Args:
        config: the run's settings.
        model: a ready model (default: ``build_model(config.model, C, config.width)`` right after
            ``manual_seed(config.seed)``, so the initial weights follow from the seed).
        datasets: ``(train, val)`` (default: :func:`build_datasets`).
        out: output directory (default ``config.out`` or ``runs/<model>-<dataset>``).
        progress: show a progress bar (a second one while validating) and, above it, a line of
            scores after each validation.

    ``run()`` trains to the end (or to ``until`` iterations), validating every ``val_every``
    iterations: each validation appends to ``log.csv``, redraws ``curves.png``, writes a grid and
    ``metrics.json``, and rewrites ``checkpoint.npz``.
    """

    def __init__(self, config: TrainConfig, model=None, datasets=None, out=None, progress: bool = True,
                 *, initialise: bool = True):
        self.cfg = cfg = config
        self.device = backend.check_device(cfg.device)
        self.progress = progress
        self.out = Path(out or cfg.out or Path("runs") / f"{cfg.model}-{cfg.dataset}")
        check_directory(self.out, "out")   # found before any work, not at the first save
        self.train_set, self.val_set = datasets if datasets is not None else build_datasets(cfg)
        self.classes = tuple(self.train_set.classes)
        self.num_classes = len(self.classes)
        if model is None:
            backend.manual_seed(cfg.seed)
            model = _make_model(cfg, self.num_classes)
            if cfg.init and initialise:  # not when resuming: the checkpoint holds the weights
                _init_weights(model, cfg)
        self.model = model.to(self.device)
        self.optimizer = self._make_optimizer()
        self.data_rng = np.random.default_rng([cfg.seed, 1])  # shuffling + random transforms
        n = len(self.train_set)
        self.iters_per_epoch = math.ceil(n / cfg.batch_size)
        self.max_iter = int(cfg.iters) if cfg.iters is not None else int(cfg.epochs) * self.iters_per_epoch
        self.val_every = int(cfg.val_every or self.iters_per_epoch)
        self.class_weight = None
        if cfg.class_weights in ("median-freq", "median-freq-sqrt"):
            self.class_weight = median_frequency_weights(self.train_set, self.num_classes)
            if cfg.class_weights == "median-freq-sqrt":  # a milder push: rare classes over-predicted less
                self.class_weight = np.sqrt(self.class_weight)
        # position in training
        self.iteration, self.epoch, self.pos = 0, 0, 0
        self.order = None           # the current epoch's sample order
        self.loss_sum, self.loss_count = 0.0, 0  # training loss since the last validation
        self.last_scores, self.last_row = None, None
        self.validation_owed = False   # a validation that Ctrl-C cut short: run() does it first
        self.last_good = None       # (path, iteration) of the last checkpoint written
        self.resumed_changes = {}   # from_checkpoint: {setting: (saved, now)} that differ
        # which run a checkpoint belongs to, kept by every resume: a resumed run may replace
        # its own run's checkpoint, never another's (:func:`_check_resume_target`)
        self.run_id = secrets.token_hex(8)
        # where this run's outputs begin: the earlier log rows and grids after it go at the
        # run's first write (:meth:`_claim_outputs`), not at its start, so a run that fails
        # before writing anything (an input too small for the net, a divergence in the first
        # iterations) leaves the directory as it found it
        self._outputs_from, self._outputs_claimed = None, False

    # ------------------------------------------------------------------ pieces
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.npz"

    def _make_optimizer(self) -> SGD:
        cfg = self.cfg
        if cfg.model.startswith("fcn"):  # FCN: biases at 2x lr, no decay
            groups = fcn_param_groups(self.model, 2.0, cfg.weight_decay)
        else:
            groups = [{"params": self.model.parameters()}]
        return SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)

    def lr(self, it: int) -> float:
        c = self.cfg
        return lr_at(c.lr_policy, c.lr, it, self.max_iter, step_size=c.lr_step, gamma=c.lr_gamma,
                     warmup=c.warmup)

    def _batches(self):
        """Yield ``(x, y)`` batches forever, epoch after epoch, from the saved position on."""
        from .data.voc import iterate_batches
        while True:
            if self.order is None:
                self.order = self.data_rng.permutation(len(self.train_set))
                self.pos = 0
            rest = _Ordered(self.train_set, self.order[self.pos:])
            for x, y in iterate_batches(rest, self.cfg.batch_size, rng=self.data_rng):
                self.pos += len(x)
                yield x, y
            self.order, self.pos = None, 0
            self.epoch += 1

    def train_step(self, x, y) -> float:
        """One SGD step on a batch ``x`` (N, 3, H, W), ``y`` (N, H, W); returns the loss.

        A batch with no labelled pixel (all ``255``) has no mean loss: 0 / 0. It counts as a loss
        of 0 with zero gradients, as Caffe's SoftmaxWithLoss counts it (its divisor is at least
        1), so the step still applies momentum and weight decay, as under ``reduction="sum"``.

        Raises :class:`TrainingDiverged` (before touching the parameters) if the loss is not
        finite, or (with clipping) the gradients' norm.
        """
        self.model.train()
        self.optimizer.set_lr(self.lr(self.iteration))
        reduction = self.cfg.loss_reduction
        # nothing labelled: a sum of no terms, 0, not "mean"'s NaN (the class weights are
        # positive, so "no weight" is "no labelled pixel"; the labels' range is the loss's check)
        if reduction == "mean" and not bool((y != 255).any()):
            reduction = "sum"
        xd, yd = backend.to_device(x, self.device), backend.to_device(y, self.device)
        weight = None if self.class_weight is None else backend.to_device(self.class_weight, self.device)
        loss = F.cross_entropy(self.model(Tensor(xd)), yd, weight=weight, reduction=reduction)
        value = float(loss.item())
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"training stopped: the loss is {value} at iteration {self.iteration + 1} "
                f"(epoch {self.epoch}); {self._kept()}. Try a lower --lr (now {self.cfg.lr}) or "
                "--loss-reduction mean.")
        self.optimizer.zero_grad()
        loss.backward()
        if self.cfg.grad_clip:
            self._clip_gradients(float(self.cfg.grad_clip))
        self.optimizer.step()
        return value

    def _kept(self) -> str:
        """What a stopped run leaves: its last good checkpoint, or none yet."""
        if self.last_good:
            return f"the last good checkpoint, {self.last_good[0]} (iteration {self.last_good[1]}), is kept"
        return "no checkpoint was written yet"

    def _clip_gradients(self, max_norm: float):
        """Scale every gradient by ``max_norm / norm`` when the global norm exceeds ``max_norm``.

        The norm is :func:`~minifcn.nn.utils.clip_grad_norm_`'s, but not its factor: PyTorch's
        ``max_norm / (norm + 1e-6)`` would move every clipped step (and the recorded runs) by a
        few parts in 10^7; and a non-finite norm stops the run here rather than scale by NaN."""
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        if not grads:
            return
        norm = global_norm(grads)
        if not math.isfinite(norm):   # NaN had compared False and gone on into the weights
            raise TrainingDiverged(
                f"training stopped: the gradients' norm is {norm} at iteration {self.iteration + 1} "
                f"(a finite loss of non-finite gradients); {self._kept()}. Try a lower --lr (now {self.cfg.lr}).")
        if norm > max_norm:
            for p in self.model.parameters():
                if p.grad is not None:
                    p.grad = p.grad * (max_norm / norm)

    # ------------------------------------------------------------------ loop
    def run(self, until: int | None = None):
        """Train up to iteration ``min(until, max_iter)``; return the last validation scores.

        Stopping at ``until`` (before the end) writes a checkpoint there. So does Ctrl-C (in
        the main thread): the iteration under way is finished (a validation under way is left
        for the resumed run to do first), the checkpoint written at it, and
        :class:`TrainingInterrupted` raised; a second Ctrl-C stops at once, losing the
        iterations since the last checkpoint. ``--resume`` continues either exactly.
        """
        stop = self.max_iter if until is None else min(int(until), self.max_iter)
        if self._outputs_from is None:
            self._outputs_from = self.iteration
        interrupted, restore = self._stop_on_ctrl_c()   # before the bar: a ^C echo would mar it
        bar = None
        try:
            bar = progress_bar(total=self.max_iter, initial=self.iteration,
                               disable=not self.progress, desc=self.cfg.model,
                               bar_format=STEP_FORMAT, dynamic_ncols=True, leave=True)
            batches = self._batches()
            busy, images = 0.0, 0
            if self.validation_owed:   # cut short by Ctrl-C before the checkpoint: done now
                self._validate_unless_stopped(interrupted, bar)
            while self.iteration < stop and not interrupted:
                x, y = next(batches)
                t = time.perf_counter()
                with _quiet_floats():   # a diverging step overflows: its own message says so
                    value = self.train_step(x, y)
                busy += time.perf_counter() - t  # training time only, for the speed shown
                if self.cfg.loss_reduction == "sum":   # per image, as the validation's loss
                    value /= len(x)
                self.iteration += 1
                self.loss_sum += value
                self.loss_count += 1
                images += len(x)
                bar.set_postfix_str(step_postfix(value, self.optimizer.base_lr,
                                                 images / max(busy, 1e-9)), refresh=False)
                bar.update(1)   # draws the count and the postfix together
                if self.iteration % self.val_every == 0 or self.iteration == self.max_iter:
                    with _quiet_floats():
                        self._validate_unless_stopped(interrupted, bar)
        finally:
            restore()
            if bar is not None:
                bar.close()
        if self.iteration < self.max_iter or self.validation_owed:
            try:
                self.save()  # stopped early (``until``, Ctrl-C): save where we are
            except KeyboardInterrupt:   # a second Ctrl-C, held back until the checkpoint was
                if not interrupted or self.last_good != (str(self.checkpoint_path), self.iteration):
                    raise               # whole: it is written, and the run stops as for the first
        if interrupted and (self.iteration < stop or self.validation_owed):
            raise TrainingInterrupted(self.checkpoint_path, self.iteration)
        return self.last_scores

    def _validate_unless_stopped(self, interrupted, bar):
        """:meth:`validate`, abandoned between batches once Ctrl-C has been pressed (a
        validation of 1449 VOC images would keep the user waiting for minutes): it is then owed,
        and the checkpoint written at this iteration says so, for the resumed run to do it
        first. Its line of scores goes above the bar."""
        try:
            self.validate(stop=lambda: bool(interrupted))
        except EvaluationStopped:
            self.validation_owed = True
            return
        if self.progress:   # the bar is drawn again below it
            bar.write(self._validation_line())

    @staticmethod
    def _stop_on_ctrl_c():
        """Catch SIGINT while :meth:`run` trains: ``(interrupted, restore)``, a list that the
        first Ctrl-C appends to (the loop then stops between iterations, where the state is
        whole) and the call that puts the previous handler back. The first Ctrl-C also puts it
        back, so a second one raises KeyboardInterrupt at once. Nothing is installed off the
        main thread (Python runs handlers there only) or where SIGINT is ignored."""
        interrupted = []
        if threading.current_thread() is not threading.main_thread():
            return interrupted, lambda: None
        previous = signal.getsignal(signal.SIGINT)
        if previous in (signal.SIG_IGN, None):   # ignored, or set outside Python: leave it
            return interrupted, lambda: None
        try:   # a terminal hears at once; the handler writes to its descriptor, not through
            # Python's buffered stream, which the interrupted code may be writing to
            terminal = sys.stderr.fileno() if sys.stderr.isatty() else None
        except (AttributeError, OSError, ValueError):
            terminal = None

        # Where the message goes: the cursor rests on the training bar's line (a validation
        # bar is drawn on the line below it, and the cursor brought back: progress.py; the
        # terminal's echo of ``^C``, which would wrap past a full-width bar, is off while the
        # loop runs: ``quiet_ctrl_c_echo``). An ANSI terminal (the bars' own escapes need one)
        # has that line and the ones below it cleared (``\r ESC[J``), so no half-drawn bar is
        # left behind: the bars come back below the message at their next update. Elsewhere
        # the message takes a line of its own.
        clear = b"\r\x1b[J" if os.name == "posix" else b"\n"

        def on_ctrl_c(signum, frame):
            signal.signal(signal.SIGINT, previous)
            interrupted.append(signum)
            if terminal is not None:
                os.write(terminal, clear + b"Ctrl-C: finishing this iteration (or leaving the "
                                   b"validation under way to --resume) to write a checkpoint "
                                   b"there; Ctrl-C again stops at once\n")

        signal.signal(signal.SIGINT, on_ctrl_c)
        echo_back = quiet_ctrl_c_echo() if terminal is not None else (lambda: None)

        def restore():
            signal.signal(signal.SIGINT, previous)
            echo_back()
        return interrupted, restore

    def validate(self, stop=None) -> dict:
        """Score the val split; append to log.csv, draw curves and a grid, save the checkpoint.
        ``stop``: as :func:`evaluate`'s (then nothing is written)."""
        cfg = self.cfg
        bs = validation_batch_size(cfg.dataset, cfg.batch_size)
        weight = None if self.class_weight is None else backend.to_device(self.class_weight, self.device)
        scores, val_loss, confusion, preds = evaluate(self.model, self.val_set, bs, self.device,
                                                      weight, cfg.loss_reduction, keep=cfg.grid_size,
                                                      progress=self.progress, stop=stop)
        self.validation_owed = False
        if not math.isfinite(val_loss) and confusion.sum() > 0:   # NaN with no pixel scored: no loss
            raise TrainingDiverged(f"training stopped: the validation loss is {val_loss} at iteration "
                                   f"{self.iteration}; {self._kept()}")
        train_loss = self.loss_sum / max(self.loss_count, 1)
        self.loss_sum, self.loss_count = 0.0, 0
        self.last_scores = scores
        row = {"epoch": self.iteration / self.iters_per_epoch, "iteration": self.iteration,
               "train_loss": train_loss, "val_loss": val_loss, "lr": self.optimizer.base_lr,
               "time": round(time.time(), 3)}
        row.update({k: scores[k] for k in ("pixel_acc", "mean_acc", "mean_iou", "fw_iou")})
        self.last_row = row
        self._claim_outputs()
        self._append_log(row)
        from . import viz
        viz.plot_curves(self.out / "log.csv", self.out / "curves.png")
        if preds:
            raw = [self.val_set.load(i) for i in range(len(preds))]
            viz.save_prediction_grid(self.out / "grids" / f"iter_{self.iteration:06d}.png",
                                     [r[0] for r in raw], [r[1] for r in raw], preds,
                                     classes=self.classes)
        save_metrics_json(self.out / "metrics.json", scores, self.classes, confusion,
                          {"iteration": self.iteration, "split": cfg.val_split, "val_loss": val_loss,
                           "checkpoint": str(self.checkpoint_path),
                           # one pass, dropout off (Bayesian SegNet's "weight averaging"), as eval
                           # --samples 0; eval's default for it is 50 Monte-Carlo samples
                           "mc_samples": 0})
        self.save()
        return scores

    def _validation_line(self) -> str:
        """The last validation in one line, under 80 columns:
        ``val at 50/600: loss 0.611 (train 0.912), pixel acc 0.912, mean IoU 0.401``."""
        r = self.last_row
        return (f"val at {r['iteration']}/{self.max_iter}: loss {r['val_loss']:.3f} "
                f"(train {r['train_loss']:.3f}), pixel acc {r['pixel_acc']:.3f}, "
                f"mean IoU {r['mean_iou']:.3f}")

    def _append_log(self, row: dict):
        """Add ``row`` to log.csv."""
        self._write_log(self._log_rows() + [row])

    def _log_rows(self) -> list:
        path = self.out / "log.csv"
        if not path.is_file():
            return []
        with open(path, newline="") as f:
            return list(csv.DictReader(f))

    def _write_log(self, rows):
        """log.csv rewritten whole (a row a validation: a few kB), so a run killed mid-write
        leaves the log as it was, never a half row."""
        from .viz import LOG_COLUMNS
        text = io.StringIO()
        w = csv.DictWriter(text, fieldnames=LOG_COLUMNS, restval="", extrasaction="ignore",
                           lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        write_text(self.out / "log.csv", text.getvalue())

    def _claim_outputs(self):
        """Before this run's first write into ``out``: drop the log rows, prediction grids
        and last scores (``metrics.json``, with ``curves.png``) of iterations after the one it
        started from (``run``'s, else the current one), written
        after the checkpoint a resumed run starts from, or by an earlier run into the same
        directory (a fresh run starts a fresh log, not one mixed with the last run's)."""
        if self._outputs_claimed:
            return
        self._outputs_claimed = True
        self.out.mkdir(parents=True, exist_ok=True)
        start = self.iteration if self._outputs_from is None else self._outputs_from
        metrics = self.out / "metrics.json"
        if metrics.is_file():   # an earlier run's, or one written past the checkpoint: it goes,
            try:                # with its curves, until this run's next validation writes them
                stale = json.loads(metrics.read_text()).get("iteration", start + 1) > start
            except (ValueError, AttributeError, TypeError):
                stale = True
            if stale:
                metrics.unlink()
                (self.out / "curves.png").unlink(missing_ok=True)
        for grid in (self.out / "grids").glob("iter_*.png"):
            if grid.stem[5:].isdigit() and int(grid.stem[5:]) > start:
                grid.unlink()
        if (self.out / "log.csv").is_file():
            self._write_log([r for r in self._log_rows() if float(r["iteration"]) <= start])

    # ------------------------------------------------------------------ checkpoints
    def save(self, path=None) -> Path:
        """Write the full training state atomically (default ``out/checkpoint.npz``)."""
        path = Path(path or self.checkpoint_path)
        with deferring_sigint():   # a second Ctrl-C waits for the checkpoint (and its directory)
            return self._save(path)

    def _save(self, path: Path) -> Path:
        if path == self.checkpoint_path:   # replaces the run's checkpoint: its log goes with it
            self._claim_outputs()
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "config": dataclasses.asdict(self.cfg), "classes": list(self.classes),
            "iteration": self.iteration, "epoch": self.epoch, "pos": self.pos,
            "max_iter": self.max_iter, "loss_acc": [self.loss_sum, self.loss_count],
            "data_rng": self.data_rng.bit_generator.state,
            "backend_rng": backend.get_rng_state(),
            "class_weight": None if self.class_weight is None else self.class_weight.tolist(),
            "scores": _clean(self.last_scores),
            "validation_owed": self.validation_owed,
            "run_id": self.run_id,
        }
        arrays = {} if self.order is None else {"trainer/order": np.asarray(self.order, np.int64)}
        save_checkpoint(path, self.model, self.optimizer, meta, arrays)
        self.last_good = (str(path), self.iteration)
        return path

    @classmethod
    def from_checkpoint(cls, path, model=None, datasets=None, out=None, progress: bool = True,
                        **overrides) -> "Trainer":
        """A trainer in the exact state saved in ``path`` (``--resume``).

        ``overrides`` replace config fields (e.g. ``device``, or a larger ``iters`` to train
        longer); changing anything that shapes the run (data, batch size) breaks the bit-for-bit
        guarantee. ``resumed_changes`` then names each setting that differs, ``{name: (saved,
        now)}``: the optimizer takes the new ``momentum`` and ``weight_decay``, a training set of
        another size starts a new epoch, and other training images get their class weights
        counted again. The net itself cannot change: a ``model`` name or a ``width`` other than the
        saved ones, settings that give other classes, or weights to start from (``init``) raise
        ValueError (``model`` given as a string is the config's field, as ``minifcn train
        --resume ... --model ...`` passes it; a module is a ready model). A new ``epochs``
        without ``iters`` sets the length anew from the epochs, as a fresh run's (the saved
        ``iters``, which overrides epochs, had kept the run at its old length).

        The run goes on in ``out``, by default the checkpoint's directory, and writes its
        ``checkpoint.npz``, ``log.csv`` and pictures there. It refuses (ValueError naming the
        file) to write over another run's: a ``checkpoint.npz`` there must be the run being
        resumed, that is ``path`` itself, or a checkpoint of the same run (each fresh run draws
        a ``run_id``, kept in every checkpoint it and its resumptions write) at ``path``'s
        iteration or before, so that a copy taken earlier does not silently throw away the
        iterations since (go back to it with another ``out``); and a ``log.csv`` with no
        ``checkpoint.npz`` beside it is another run's. ``out`` another directory continues the
        run there (``--resume FILE --out DIR``).
        """
        if isinstance(model, str):
            overrides["model"], model = model, None
        ck = load_checkpoint(path)
        meta = ck["meta"]
        for key in ("config", "iteration", "data_rng", "backend_rng"):
            if key not in meta:
                raise ValueError(f"checkpoint {path} lacks {key!r}: it was not written by Trainer.save")
        # the run goes on where its checkpoint is (path may name the run's directory), or in out
        out = Path(out) if out is not None else Path(checkpoint_file(path)).parent
        _check_resume_target(Path(checkpoint_file(path)), out, meta)
        d = dict(meta["config"])
        for key in ("model", "width"):
            if overrides.get(key) is not None and overrides[key] != d.get(key):
                raise ValueError(f"{path} holds a run of {key} {d.get(key)!r}, not {overrides[key]!r}: "
                                 f"a resumed run trains the net it saved (start a fresh run, with "
                                 f"another --out, for another one)")
        if overrides.get("init") is not None and overrides["init"] != d.get("init"):
            raise ValueError(f"--init {overrides['init']} starts a fresh run from those weights; a "
                             f"resumed run goes on from the weights saved in {path}")
        saved = TrainConfig.from_dict(d)
        if overrides.get("epochs") is not None and overrides.get("iters") is None:
            d["iters"] = None   # the length follows the new epochs, as in a fresh run
        d.update(overrides)
        d["out"] = str(out)
        cfg = TrainConfig.from_dict(d)
        self = cls(cfg, model=model, datasets=datasets, out=out, progress=progress, initialise=False)
        if "classes" in meta and tuple(meta["classes"]) != self.classes:
            raise ValueError(f"{path} holds a run over the classes {', '.join(meta['classes'])}; these "
                             f"settings give {', '.join(self.classes)}: a resumed run keeps its classes "
                             f"(its last layer has one output each)")
        self.resumed_changes = changes = {
            f.name: (getattr(saved, f.name), getattr(cfg, f.name)) for f in dataclasses.fields(cfg)
            if f.name not in ("out", "device") and getattr(saved, f.name) != getattr(cfg, f.name)}
        built = [{k: g[k] for k in ("momentum", "weight_decay")} for g in self.optimizer.param_groups]
        try:
            self.model.load_state_dict(ck["model"])
            if ck["optim"] is not None:
                self.optimizer.load_state_dict(ck["optim"])
        except ValueError as e:
            raise ValueError(f"checkpoint {path} does not match the model it describes: {e}") from None
        for g, b in zip(self.optimizer.param_groups, built):   # the saved groups hold the old
            g.update(b)                                          # --momentum and --weight-decay
        self.iteration, self.epoch, self.pos = int(meta["iteration"]), int(meta["epoch"]), int(meta["pos"])
        if self.max_iter < self.iteration:   # it had printed "iteration 7 of 3" and done nothing
            raise ValueError(f"{path} is at iteration {self.iteration}, past the {self.max_iter} "
                             f"these settings train for: give more iterations (--iters) to go on")
        self.loss_sum, self.loss_count = float(meta["loss_acc"][0]), int(meta["loss_acc"][1])
        order = ck["arrays"].get("trainer/order")
        self.order = None if order is None else order.astype(np.int64)
        if self.order is not None and len(self.order) != len(self.train_set):
            self.order = None   # the epoch under way was over other images: a new one starts
        self.data_rng.bit_generator.state = meta["data_rng"]
        backend.set_rng_state(meta["backend_rng"])
        if meta.get("class_weight") is not None and not changes.keys() & CLASS_WEIGHT_FIELDS:
            self.class_weight = np.asarray(meta["class_weight"], np.float32)
        scores = meta.get("scores")   # None before the first validation
        self.last_scores = None if scores is None else _unclean(scores)   # null back to NaN
        self.validation_owed = bool(meta.get("validation_owed", False))
        self.last_good = (str(path), self.iteration)
        self.run_id = meta.get("run_id") or self.run_id   # a checkpoint from before run ids: a new one
        return self

    def written_files(self) -> dict:
        """Paths of what the run wrote (for the CLI's summary)."""
        grids = sorted((self.out / "grids").glob("iter_*.png"))
        files = {"checkpoint": self.checkpoint_path, "log": self.out / "log.csv",
                 "curves": self.out / "curves.png", "metrics": self.out / "metrics.json",
                 "last grid": grids[-1] if grids else None}
        return {k: v for k, v in files.items() if v is not None and Path(v).exists()}


def _saved_meta(path) -> dict:
    """The JSON meta of the checkpoint at ``path``, read alone (``np.load`` opens an .npz's
    members lazily); ``{}`` where it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z[_META_KEY]))
    except Exception:   # unreadable in any way (not a zip, no meta, bad JSON): not known to be this run's
        return {}
    return meta if isinstance(meta, dict) else {}


def _check_resume_target(source: Path, out: Path, meta: dict) -> None:
    """ValueError when a run resumed from ``source`` (whose meta is ``meta``) would write over
    another run's files in ``out`` (the rule: :meth:`Trainer.from_checkpoint`)."""
    target, log = out / "checkpoint.npz", out / "log.csv"
    hint = f"give --out DIR (a new directory) to continue {source} there"
    if target.is_file():
        if source.is_file() and os.path.samefile(source, target):
            return
        there = _saved_meta(target)
        same_run = meta.get("run_id") is not None and there.get("run_id") == meta.get("run_id")
        if same_run and there.get("iteration", math.inf) <= meta["iteration"]:
            return
        if same_run:
            raise ValueError(f"resuming {source} (iteration {meta['iteration']}) would replace "
                             f"{target}, a later checkpoint of the same run (iteration "
                             f"{there.get('iteration')}), and drop its log rows since; {hint}, or "
                             f"--resume {target} to go on from the later one")
        raise ValueError(f"resuming {source} would replace {target}, another run's checkpoint, and "
                         f"mix the two runs in {log}; {hint}, or --resume {target} to continue that run")
    if log.is_file():
        raise ValueError(f"resuming {source} would write into {log}, another run's log (no "
                         f"checkpoint.npz of this run beside it); {hint}")


def load_model(path, device: str = "cpu"):
    """``(model, config, classes, meta)`` from a checkpoint, the model in eval mode on ``device``."""
    ck = load_checkpoint(path)
    meta = ck["meta"]
    if "config" not in meta or "classes" not in meta:
        raise ValueError(f"checkpoint {path} lacks its config/classes: it was not written by Trainer.save")
    cfg = TrainConfig.from_dict(meta["config"])
    model = _make_model(cfg, len(meta["classes"]))
    try:
        model.load_state_dict(ck["model"])
    except ValueError as e:
        raise ValueError(f"checkpoint {path} does not match a {cfg.model} of width {cfg.width}: {e}") from None
    return model.to(backend.check_device(device)).eval(), cfg, tuple(meta["classes"]), meta


# ----------------------------------------------------------------------------- staged FCN
def train_staged(cfg: TrainConfig, datasets=None, progress: bool = True, resume: bool = False):
    """FCN's staged recipe: FCN-32s, then FCN-16s built from it, then FCN-8s from that.

    The stages up to ``cfg.model`` run one after the other, each for ``iters`` (or ``epochs``)
    of its own, under ``out/<stage>/``; each later net is made by the models' ``from_*``
    constructor (its skip scores start at zero, so it starts where the previous stage ended).
    Every stage trains at ``cfg.lr``. The reference recipe lowers the rate 100x a stage (1e-10,
    1e-12, 1e-14), after an FCN-32s trained to convergence; on the main job's data, 200
    iterations a stage, FCN-8s ended at 0.85 mean IoU with one rate, and at 0.28 and 0.18 with
    rates lowered 10x and 100x a stage: short stages need the full rate.

    With ``resume``, a stage whose checkpoint is there continues from it (or, finished, is
    only loaded), after a check that it was trained with ``cfg``'s settings: an interrupted
    staged run picks up where it stopped. Returns the last stage's :class:`Trainer`.
    """
    from . import models
    if cfg.model not in STAGES:
        raise ValueError(f"staged training needs an FCN model {STAGES}, got {cfg.model!r}")
    base = Path(cfg.out or Path("runs") / f"{cfg.model}-{cfg.dataset}-staged")
    check_directory(base, "out")
    if resume and not (base / STAGES[0] / "checkpoint.npz").is_file():
        raise FileNotFoundError(f"no staged run to resume under {base}: expected "
                                f"{base / STAGES[0] / 'checkpoint.npz'}")
    datasets = datasets or build_datasets(cfg)
    prev, trainer = None, None
    for stage in STAGES[:STAGES.index(cfg.model) + 1]:
        stage_cfg = dataclasses.replace(cfg, model=stage, out=str(base / stage))
        saved = base / stage / "checkpoint.npz"
        if resume and saved.is_file():
            trainer = Trainer.from_checkpoint(saved, datasets=datasets, progress=progress,
                                              device=cfg.device)
            _check_same_settings(trainer.cfg, stage_cfg, saved)
            if trainer.iteration < trainer.max_iter or trainer.validation_owed:
                trainer.run()
        else:
            if prev is None:
                model = None
            elif stage == "fcn16s":
                model = models.FCN16s.from_fcn32s(prev)
            else:
                model = models.FCN8s.from_fcn16s(prev)
            trainer = Trainer(stage_cfg, model=model, datasets=datasets, progress=progress)
            trainer.run()
        prev = trainer.model
    return trainer


def _check_same_settings(saved: TrainConfig, wanted: TrainConfig, path):
    """ValueError naming the first setting in which the run saved at ``path`` differs from
    ``wanted`` (where it runs and writes aside)."""
    a, b = dataclasses.asdict(saved), dataclasses.asdict(wanted)
    for key in a:
        if key not in ("out", "device") and a[key] != b.get(key):
            raise ValueError(f"{path} was trained with {key}={a[key]!r}, not {b.get(key)!r}: give "
                             "the options of the run to resume, or start afresh under another --out")

