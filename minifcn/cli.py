"""The ``minifcn`` command: ``train | eval | predict | data | import | bench``.

``minifcn train`` with no arguments is the main job: a narrow FCN-8s trained from scratch on the
built-in synthetic dataset, on the CPU, ending with its metrics table and the paths it wrote under
``runs/fcn8s-synthetic/``.

::

    minifcn train                                   # the main job
    minifcn train --model segnet-basic --class-weights median-freq --iters 300
    minifcn train --model fcn8s --staged            # 32s -> 16s -> 8s
    minifcn train --model fcn32s --width 1 --init vgg16-397923af.pth --dataset voc ...
    minifcn train --resume runs/fcn8s-synthetic/checkpoint.npz
    minifcn eval --checkpoint runs/fcn8s-synthetic/checkpoint.npz [--bf]
    minifcn predict --checkpoint CKPT --image photo.jpg [--samples 50]
    minifcn data synthetic | voc | sbd [--root DIR] [--archive PATH]
    minifcn import fcn8s-heavy-pascal.caffemodel --model fcn8s --out fcn8s-heavy.npz
    minifcn bench [--model fcn8s segnet] [--size 224 360x480] [--device cuda]

>>> build_parser().parse_args(["train", "--iters", "5"]).iters
5
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from fractions import Fraction
from pathlib import Path

__all__ = ["main", "build_parser"]

# CLI option -> TrainConfig field, for the options that map one to one
_TRAIN_FIELDS = ("model", "width", "dataset", "data_root", "epochs", "iters", "batch_size", "lr",
                 "momentum", "weight_decay", "lr_policy", "lr_step", "lr_gamma", "loss_reduction",
                 "class_weights", "device", "out", "seed", "subset_count", "val_count",
                 "image_size", "num_train", "num_val", "val_every", "crop", "convention",
                 "val_split", "init", "warmup", "grad_clip", "scale")


def _at_least(low):
    """An argparse type: an int of at least ``low``, else the usage error naming the value."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    return parse


def _clip(text):
    """An argparse type for ``--grad-clip``: a positive number, or ``none`` (no clipping)."""
    if text.strip().lower() == "none":
        return "none"
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number or 'none', got {text!r}")
    return value


def _width(text):
    """An argparse type for ``--width``: a positive number or fraction (``0.0625``, ``1/16``)."""
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError, OverflowError):   # OverflowError: 1e400
        raise argparse.ArgumentTypeError(f"expected a number or a fraction such as 1/16, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _size(text):
    """An argparse type for ``bench --size``: ``224`` or ``360x480``, else the usage error naming
    the value."""
    from .bench import parse_size
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# what ``predict --image DIR`` segments: the image files in it
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _image_files(paths):
    """``--image`` arguments with each directory replaced by its image files (sorted by name);
    ValueError for a directory with none."""
    files = []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        inside = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        if not inside:
            raise ValueError(f"image directory {p} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        files += inside
    return files


def _output_names(images):
    """A name for each image's output files: its stem, and for a stem seen before (``a.jpg``
    beside ``a.png``, or in another directory) the stem with ``-2``, ``-3`` ... so that no
    image's files overwrite another's.

    >>> _output_names([Path("x/a.jpg"), Path("x/a.png"), Path("y/a.jpg"), Path("b.jpg")])
    ['a', 'a-2', 'a-3', 'b']
    """
    names, seen = [], set()
    for image in images:
        name, k = image.stem, 1
        while name in seen:
            k += 1
            name = f"{image.stem}-{k}"
        seen.add(name)
        names.append(name)
    return names


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every sub-command (defaults None = "use the config's")."""
    from .train import TrainConfig  # the defaults the help names (the import is lazy: --help is quick)
    p = argparse.ArgumentParser(prog="minifcn", description="FCN and SegNet from scratch on NumPy/CuPy")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model (no arguments: FCN-8s on the synthetic dataset)")
    t.add_argument("--model", help="fcn32s | fcn16s | fcn8s | fcn8s-atonce | segnet | segnet-basic | bayesian-segnet")
    t.add_argument("--width", type=_width,
                   help="channel multiplier, e.g. 1/16 or 0.125 (1 = the paper's channels; default "
                        "1/16, and 1/8 for the segnets)")
    t.add_argument("--dataset", choices=("synthetic", "voc", "sbd"))
    t.add_argument("--data-root", help="dataset directory (synthetic: default user cache)")
    t.add_argument("--val-split", help="validation split (voc: val, or seg11valid: the FCN paper's "
                                       "736 images, list shipped)")
    t.add_argument("--epochs", type=_at_least(1), help=f"training epochs (default {TrainConfig.epochs})")
    t.add_argument("--iters", type=_at_least(1), help="training iterations (overrides --epochs)")
    t.add_argument("--batch-size", type=_at_least(1),
                   help="images a step (default 8; 1 without --crop for VOC and SBD, whose images "
                        "differ in size, and with --scale)")
    t.add_argument("--lr", type=float, help="base learning rate (default 0.05 for FCN, 0.2 for "
                                            "the SegNets)")
    t.add_argument("--momentum", type=float, help=f"SGD momentum (default {TrainConfig.momentum})")
    t.add_argument("--weight-decay", type=float,
                   help=f"L2 weight decay, not on FCN's biases (default {TrainConfig.weight_decay})")
    t.add_argument("--lr-policy", choices=("fixed", "step", "poly"),
                   help="poly (default): lr * (1 - it/iters)^0.9; step: lr * gamma^(it // lr-step)")
    t.add_argument("--lr-step", type=_at_least(1), help="step policy: iterations between decays")
    t.add_argument("--lr-gamma", type=float, help="step policy: the factor of each decay (default 0.1)")
    t.add_argument("--warmup", type=_at_least(0),
                   help="iterations of linear learning-rate warm-up (default 100; 200 for segnet "
                        "and bayesian-segnet, 20 for segnet-basic; 0: none)")
    t.add_argument("--grad-clip", type=_clip,
                   help="rescale gradients whose global L2 norm exceeds this (default 2; none: "
                        "never, as FCN's reference recipe with its summed loss needs)")
    t.add_argument("--loss-reduction", choices=("mean", "sum"),
                   help=f"the loss over the labelled pixels (default {TrainConfig.loss_reduction}; "
                        "sum: FCN's reference recipe)")
    t.add_argument("--class-weights", choices=("median-freq", "median-freq-sqrt", "none"),
                   help="median-freq-sqrt (default): the square root of median-freq, SegNet's class "
                        "balancing (which over-predicts rare classes); none: plain loss")
    t.add_argument("--device", choices=("cpu", "cuda"))
    t.add_argument("--out", help="output directory (default runs/<model>-<dataset>)")
    t.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue a run exactly where it stopped (with --staged: the staged run's "
                        "directory, and the options it was started with)")
    t.add_argument("--seed", type=_at_least(0), help="seed of the initial weights, the order of the images, "
                                            "their random transforms and --subset-count's choice "
                                            f"(default {TrainConfig.seed})")
    t.add_argument("--subset-count", type=_at_least(1), help="train on this many images")
    t.add_argument("--val-count", type=_at_least(1),
                   help="validate on this many images of the val split (default all; the same "
                        "images whatever --seed)")
    t.add_argument("--subset-classes", help="comma-separated class names, e.g. cat,dog")
    t.add_argument("--staged", action="store_true", help="FCN recipe: train 32s, then 16s, then 8s")
    t.add_argument("--image-size", type=_at_least(16),
                   help=f"synthetic image size (default {TrainConfig.image_size})")
    t.add_argument("--num-train", type=_at_least(1),
                   help=f"synthetic training images (default {TrainConfig.num_train})")
    t.add_argument("--num-val", type=_at_least(1),
                   help=f"synthetic validation images (default {TrainConfig.num_val})")
    t.add_argument("--val-every", type=_at_least(1),
                   help="iterations between validations (default: an epoch)")
    t.add_argument("--crop", type=_at_least(1), help="random crop size (needed to batch VOC images)")
    t.add_argument("--scale", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="rescale training images by a random factor in [LOW, HIGH], e.g. 0.75 1.25")
    t.add_argument("--convention", choices=("unit", "caffe", "torchvision"),
                   help="input normalisation (default: the --init weights' own, else torchvision)")
    t.add_argument("--init", metavar="VGG16_WEIGHTS",
                   help="start from VGG16 weights (.pth, .caffemodel or .npz): FCN by net surgery, "
                        "SegNet in its encoder; needs --width 1")
    t.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    t.add_argument("--no-progress", action="store_true",
                   help="no progress bars and no line of scores after each validation (log.csv "
                        "has them)")

    e = sub.add_parser("eval", help="score a checkpoint on a split (one confusion matrix)")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--split", help="default: the run's validation split")
    e.add_argument("--data-root", help="default: the run's")
    e.add_argument("--batch-size", type=_at_least(1), default=None)
    e.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    e.add_argument("--out", help="metrics JSON path (default: eval_<split>.json beside the checkpoint)")
    e.add_argument("--samples", type=_at_least(0), default=None,
                   help="Monte-Carlo dropout samples per image (Bayesian SegNet: default 50, the "
                        "paper's; 0 scores a single pass with dropout off)")
    e.add_argument("--count", type=_at_least(1),
                   help="score this many images of the split, drawn as --val-count draws them "
                        "(default all, whatever the run validated on)")
    e.add_argument("--bf", action="store_true",
                   help="also the boundary F1 score (BF, the SegNet paper's fifth measure): "
                        "per image, outlines matched within 0.75%% of its diagonal")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")

    r = sub.add_parser("predict", help="segment images: colour mask and overlay PNGs")
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--image", required=True, nargs="+", help="image files, or directories of them")
    r.add_argument("--out", default="predictions", help="output directory (default ./predictions)")
    r.add_argument("--samples", type=_at_least(0), default=None,
                   help="Monte-Carlo dropout samples (Bayesian SegNet; default 50 for it)")
    r.add_argument("--uncertainty-max", type=float, default=None, metavar="U",
                   help="with --samples: the uncertainty maps' colours span 0..U, the same for "
                        "every image (default: each map's own largest value); the values "
                        "themselves go to <name>_uncertainty.npy")
    r.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    r.add_argument("--max-size", type=_at_least(0), default=None, metavar="N",
                   help="segment an image whose longer side exceeds N pixels shrunk to N (its "
                        "files keep its size); default: the training images' longer side (500 "
                        "for VOC and SBD); 0: every image at its own size")

    d = sub.add_parser("data", help="prepare a dataset")
    d.add_argument("name", choices=("synthetic", "voc", "sbd"))
    d.add_argument("--root", help="where to put it (synthetic: default user cache)")
    d.add_argument("--archive", help="a local copy of the archive (md5-checked)")
    d.add_argument("--image-size", type=_at_least(16), default=TrainConfig.image_size,
                   help="synthetic image size")
    d.add_argument("--num-train", type=_at_least(1), default=TrainConfig.num_train)
    d.add_argument("--num-val", type=_at_least(1), default=TrainConfig.num_val)
    d.add_argument("--seed", type=_at_least(0), default=0)

    i = sub.add_parser("import", help="make trained FCN weights (the reference's .caffemodel) a "
                                      "checkpoint for eval and predict")
    i.add_argument("weights", help="e.g. fcn8s-heavy-pascal.caffemodel (or .pth / .npz in our names)")
    i.add_argument("--model", required=True, choices=("fcn32s", "fcn16s", "fcn8s", "fcn8s-atonce"))
    i.add_argument("--out", required=True, help="the checkpoint to write (.npz)")
    i.add_argument("--data-root", help="the VOC directory eval will read (can be given to eval later)")
    i.add_argument("--split", default="seg11valid", help="eval's default split (default seg11valid)")

    b = sub.add_parser("bench", help="time training steps and inference on this machine, and "
                                     "estimate a run's time (no arguments: the main job's step)")
    b.add_argument("--model", nargs="+", metavar="MODEL",
                   help=f"one or more of the names train's --model takes (default {TrainConfig.model})")
    b.add_argument("--size", nargs="+", type=_size, metavar="SIZE",
                   help=f"image sizes, 224 or HEIGHTxWIDTH such as 360x480; every model at every "
                        f"size (default {TrainConfig.image_size}, the synthetic images')")
    b.add_argument("--batch", type=_at_least(1), help="images a step (default 8, as train's)")
    b.add_argument("--width", type=_width,
                   help="channel multiplier, e.g. 1/16 (default: train's for each model, 1/16, "
                        "and 1/8 for the segnets)")
    b.add_argument("--classes", type=_at_least(1), help="classes of the random labels (default 6, "
                                                        "the synthetic dataset's)")
    b.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    b.add_argument("--repeats", type=_at_least(1), default=5,
                   help="timed steps and inference passes a case; the median and best are shown "
                        "(default 5)")
    b.add_argument("--warmup", type=_at_least(1), default=2,
                   help="untimed steps first (default 2: the first builds the momentum buffers, "
                        "the second fills the array cache)")
    b.add_argument("--iters", type=_at_least(1),
                   help="iterations of the estimated run (default: train's for the batch, 600 at 8)")
    b.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    return p


def _print_files(files: dict):
    print("wrote:")
    width = max([11] + [len(k) for k in files])
    for k, v in files.items():
        print(f"  {k:<{width}} {v}")


def _plural(n, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural (``noun + "s"`` unless given) unless ``n`` is 1:
    "1 image", not "1 images".

    >>> _plural(1, "image"), _plural(3, "thread"), _plural(0, "class", "classes")
    ('1 image', '3 threads', '0 classes')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _duration(seconds: float) -> str:
    """A wall time as a person reads it.

    >>> _duration(48.4), _duration(212.5), _duration(3725)
    ('48 s', '3 min 32 s', '1 h 02 min')
    """
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _cmd_train(a) -> int:
    from ._files import check_writable
    from .metrics import format_scores
    from .train import TrainConfig, Trainer, train_staged
    started = time.monotonic()
    if a.out:   # before the Trainer is built and trains, not at its first save
        check_writable(a.out, "dir", "--out")
    given = {f: getattr(a, f) for f in _TRAIN_FIELDS if getattr(a, f) is not None}
    if a.subset_classes:
        given["subset_classes"] = [c.strip() for c in a.subset_classes.split(",") if c.strip()]
        if not given["subset_classes"]:   # had meant no subset at all, silently
            raise ValueError(f"--subset-classes {a.subset_classes!r} names no class: expected names "
                             "separated by commas, such as cat,dog")
    if a.no_flip:
        given["flip"] = False
    if given.get("grad_clip") == "none":
        given["grad_clip"] = None
    progress = not a.no_progress
    if a.resume and a.staged:   # --resume names the staged run's directory; the options, its stages
        given["out"] = a.resume
        check_writable(a.resume, "dir", "--resume")
        cfg = TrainConfig(**given)
        print(f"resuming the staged run under {a.resume}")
        trainer = train_staged(cfg, progress=progress, resume=True)
    elif a.resume:
        if not a.out:   # the run writes on beside its checkpoint
            check_writable(Path(a.resume).parent, "dir", f"--resume {a.resume}: its directory")
        trainer = Trainer.from_checkpoint(a.resume, progress=progress, out=given.pop("out", None),
                                          **given)
        print(f"resuming {a.resume} at iteration {trainer.iteration} of {trainer.max_iter}, "
              f"device {trainer.device}")
        if trainer.resumed_changes:   # said, since the run no longer repeats an uninterrupted one
            print("note: settings changed from the saved run: " + ", ".join(
                f"{k} {old!r} -> {trainer.max_iter} (from --epochs)" if k == "iters" and new is None
                else f"{k} {old!r} -> {new!r}" for k, (old, new) in trainer.resumed_changes.items()))
        _say_lr_jump(trainer)
        trainer.run()
    else:
        if a.init and not Path(a.init).is_file():   # before anything reads it
            raise FileNotFoundError(f"--init {a.init}: no such file (the VGG16 weights to start "
                                    "from: a torchvision .pth or a Caffe .caffemodel)")
        if a.init and a.convention is None:  # prepare images as the weights expect
            from .weights import input_convention
            given["convention"] = input_convention(a.init) or "torchvision"
        cfg = TrainConfig(**given)
        if not a.out:   # the default directory, under the current one
            check_writable(Path("runs") / f"{cfg.model}-{cfg.dataset}{'-staged' * a.staged}",
                           "dir", "the output directory (no --out given)")
        if a.staged:
            trainer = train_staged(cfg, progress=progress)
        else:
            trainer = Trainer(cfg, progress=progress)
            print(f"training {cfg.model} (width {cfg.width}) on {cfg.dataset}: "
                  f"{len(trainer.train_set)} train / {len(trainer.val_set)} val images, "
                  f"{trainer.max_iter} iteration{'s' if trainer.max_iter != 1 else ''} of batch "
                  f"{cfg.batch_size} at lr {cfg.lr:g}, "
                  f"device {trainer.device}")
            for flag, asked, split in (("--subset-count", cfg.subset_count, trainer.train_set),
                                       ("--val-count", cfg.val_count, trainer.val_set)):
                if asked and asked > len(split):   # the subset had been cut silently
                    there = (f"the {len(split)} images there are: all {len(split)} are used"
                             if len(split) != 1 else "the 1 image there is: it alone is used")
                    print(f"note: {flag} {asked} is more than {there}")
            largest = _largest_side(cfg, trainer.train_set) if cfg.crop else 0
            if cfg.crop and cfg.crop > largest:
                print(f"note: --crop {cfg.crop} is larger than the images (at most "
                      f"{_plural(largest, 'pixel')} a side{', --scale included' * bool(cfg.scale)}): "
                      "they are padded with void (255) to that size, which costs "
                      "time and teaches nothing")
            if cfg.batch_size > len(trainer.train_set):   # an epoch is one batch of them all
                n = len(trainer.train_set)
                there = (f"the {n} training images: each batch holds all {n}" if n != 1 else
                         "the 1 training image: each batch holds it alone")
                print(f"note: --batch-size {cfg.batch_size} is more than {there}")
            if trainer.checkpoint_path.is_file():   # an earlier run's: say so before replacing it
                print(f"note: {trainer.checkpoint_path} holds an earlier run, which this fresh run "
                      f"replaces (continue that one with --resume {trainer.checkpoint_path}, or "
                      "give --out)")
            if trainer.cfg.warmup >= trainer.max_iter:
                print(f"note: the warm-up ({_plural(trainer.cfg.warmup, 'iteration')}) outlasts the run "
                      f"({trainer.max_iter}): the learning rate never reaches --lr "
                      f"{trainer.cfg.lr:g} (its highest: "
                      f"{max(trainer.lr(i) for i in range(trainer.max_iter)):.3g}); "
                      "--warmup sets it")
            trainer.run()
    if trainer.last_scores:
        print(f"\n{trainer.cfg.val_split} scores at iteration {trainer.iteration} "
              f"(this command ran {_duration(time.monotonic() - started)}):")
        print(format_scores(trainer.last_scores, trainer.classes))
    _print_files(trainer.written_files())
    return 0


def _mc_samples(model, requested):
    """``--samples`` of eval and predict: unset means the paper's 50 Monte-Carlo samples for
    Bayesian SegNet (a model with ``mc_predict``) and a single pass for any other model."""
    if requested is None and hasattr(model, "mc_predict"):
        return 50
    return requested


def _cmd_eval(a) -> int:
    import numpy as np
    from . import backend
    from .metrics import format_scores
    from .checkpoint import checkpoint_file
    from .train import (build_datasets, evaluate, load_model, save_metrics_json,
                        validation_batch_size)
    from ._files import check_writable
    if a.out and Path(a.out).is_dir():   # found before the evaluation, not after it
        raise IsADirectoryError(f"--out {a.out} is a directory: expected the metrics JSON file's path")
    if a.out:
        check_writable(a.out, "file", "--out")
    model, cfg, classes, meta = load_model(a.checkpoint, a.device)
    over = {"device": a.device, "val_count": a.count}
    if a.split:
        over["val_split"] = a.split
    if a.data_root:
        over["data_root"] = a.data_root
    cfg = dataclasses.replace(cfg, **over)
    out = (Path(a.out) if a.out else
           Path(checkpoint_file(a.checkpoint)).parent / f"eval_{_split_name(cfg.val_split)}.json")
    if not a.out:
        check_writable(out, "file", "the metrics file (no --out given)")
    _, val = build_datasets(cfg)
    bs = a.batch_size or validation_batch_size(cfg.dataset, cfg.batch_size)
    samples = _mc_samples(model, a.samples)
    # the loss the run was trained on, class weights and all: a checkpoint's own split then
    # gives the val_loss of its log's last row
    weight = meta.get("class_weight")
    weight = None if weight is None else backend.to_device(np.asarray(weight, np.float32), a.device)
    scores, loss, confusion, _ = evaluate(model, val, bs, a.device, weight, cfg.loss_reduction,
                                          samples=samples, progress=not a.no_progress, bf=a.bf)
    mc = f", {_plural(samples, 'Monte-Carlo sample')} per image" if samples else ""
    origin = (f"weights imported from {meta['imported']['source']}" if "imported" in meta
              else f"checkpoint iteration {meta.get('iteration')}")
    print(f"{cfg.model} on {cfg.dataset} {cfg.val_split} ({_plural(len(val), 'image')}{mc}), {origin}:")
    print(format_scores(scores, classes))
    save_metrics_json(out, scores, classes, confusion,
                      {"checkpoint": str(a.checkpoint), "split": cfg.val_split, "dataset": cfg.dataset,
                       "num_images": len(val), "loss": loss, "iteration": meta.get("iteration"),
                       "mc_samples": samples or 0})
    _print_files({"metrics": out})
    return 0


def _split_name(split: str) -> str:
    """The name of ``eval``'s default metrics file for a split: the split itself, or for a split
    given as a file of ids its stem (a path would make ``eval_/abs/path/ids.txt.json`` a tree of
    directories). ValueError for a name that is no file name.

    >>> _split_name("seg11valid"), _split_name("/data/lists/mysplit.txt")
    ('seg11valid', 'mysplit')
    """
    name = Path(split).name
    name = name[:-4] if name.endswith(".txt") else name
    if name in ("", ".", "..") or any(c and c in name for c in ("/", "\\", os.sep, os.altsep)):
        raise ValueError(f"--split {split!r}: no file name can be made of it for the metrics "
                         "file: expected a split name or a file of image ids (give --out)")
    return name


def _largest_side(cfg, dataset) -> int:
    """The longest side of ``dataset``'s images (read from their files' headers: for VOC's 1464
    training images well under a second), times ``--scale``'s largest factor; the training
    scale (:func:`_training_scale`) for a dataset that cannot list its image files."""
    from PIL import Image
    try:
        paths = dataset.image_paths()
    except (AttributeError, NotImplementedError):
        side = _training_scale(cfg)
    else:
        side = 0
        for p in paths:
            with Image.open(p) as im:   # the header only
                side = max(side, *im.size)
    return int(side * (max(cfg.scale) if cfg.scale else 1))


def _training_scale(cfg) -> int:
    """The longer side of the images a run trained on: the synthetic images' size, or VOC's
    (and SBD's) 500 pixels."""
    return cfg.image_size if cfg.dataset == "synthetic" else 500


def _cmd_predict(a) -> int:
    from PIL import Image

    import math

    from ._files import check_writable
    from .predict import predict_file
    from .train import load_model
    check_writable(a.out, "dir", "--out")   # before the model loads, not at the first image's files
    u = a.uncertainty_max
    if u is not None and not (math.isfinite(u) and u > 0):   # inf drew a bar from -0.1 to 0.1
        raise ValueError(f"--uncertainty-max {u:g}: expected a finite number > 0")
    # the variance of one sample is 0 everywhere: its map would be blank, and its prediction
    # that of one random dropout mask, worse than --samples 0's single pass with dropout off
    if a.samples == 1:
        raise ValueError("--samples 1: one sample has no variance (its uncertainty map would be "
                         "all zeros): expected 0 (a single pass, dropout off) or at least 2")
    if u is not None and a.samples == 0:
        raise ValueError(f"--uncertainty-max {u:g} colours the uncertainty map, which --samples 0 "
                         "does not draw: expected --samples of at least 2")
    model, cfg, classes, _ = load_model(a.checkpoint, a.device)
    samples = _mc_samples(model, a.samples)
    if samples and not hasattr(model, "mc_predict"):   # once, not once per image
        raise ValueError(f"--samples {samples} needs a Bayesian model (dropout to sample); "
                         f"{a.checkpoint} holds {cfg.model}")
    if u is not None and not samples:   # had been ignored silently
        raise ValueError(f"--uncertainty-max {u:g} colours the uncertainty map of a Bayesian "
                         f"model's samples; {a.checkpoint} holds {cfg.model}, which draws none")
    max_size = _training_scale(cfg) if a.max_size is None else a.max_size
    images, failed = _image_files(a.image), []
    for image, name in zip(images, _output_names(images)):
        try:
            files = predict_file(model, image, a.out, cfg.convention, a.device, samples, name=name,
                                 classes=classes, max_size=max_size, uncertainty_max=a.uncertainty_max)
        except (ValueError, OSError) as e:   # unreadable, or too small for the net: go on
            print(f"minifcn predict: error: {e}", file=sys.stderr)
            failed.append(str(image))
            continue
        with Image.open(image) as im:        # the header only; turned or not, the same longer side
            longer = max(im.size)
        shrunk = (f" (segmented with its longer side at {_plural(max_size, 'pixel')}, not {longer}: "
                  "--max-size 0 keeps it)") if max_size and longer > max_size else ""
        print(f"{image}:{shrunk}")
        _print_files(files)
    if failed and len(images) > 1:
        print(f"minifcn predict: {len(failed)} of {len(images)} images failed: {', '.join(failed)}",
              file=sys.stderr)
    return 2 if failed else 0


def _cmd_data(a) -> int:
    from ._files import check_writable
    if a.root:   # before any download or unpacking, not at the first file written
        check_writable(a.root, "dir", "--root")
    if a.name == "synthetic":
        from .data.synthetic import default_root, make_synthetic_voc
        kw = dict(num_train=a.num_train, num_val=a.num_val, size=a.image_size, seed=a.seed)
        root = Path(a.root) if a.root else default_root(**kw)
        if not a.root:
            check_writable(root, "dir", "the synthetic dataset's default directory")
        make_synthetic_voc(root, **kw)
    else:
        from .data.download import prepare
        if not a.root:
            raise ValueError(f"`minifcn data {a.name}` needs --root DIR (where to put it)")
        root = prepare("voc2012" if a.name == "voc" else "sbd", a.root, archive=a.archive)
    print(f"{a.name} dataset ready under {root}")
    return 0


def _cmd_import(a) -> int:
    from .checkpoint import save_checkpoint
    from .data.voc import VOC_CLASSES
    from .models import build_model
    from .train import TrainConfig
    from ._files import check_writable
    from .weights import import_fcn, load_fcn_state
    check_writable(a.out, "file", "--out")   # before the weights are read, not after
    loaded = load_fcn_state(a.weights)  # the class count and width come from the file's layers
    meta = loaded[1]
    num_classes, width = meta["num_classes"], meta["width"]
    model = build_model(a.model, num_classes, width)
    import_fcn(a.weights, model, loaded)
    classes = (list(VOC_CLASSES) if num_classes == len(VOC_CLASSES)
               else [f"class{k}" for k in range(num_classes)])
    cfg = TrainConfig(model=a.model, width=width, dataset="voc", data_root=a.data_root, val_split=a.split,
                      convention=meta["input_convention"] or "torchvision")
    save_checkpoint(a.out, model, None, {"config": dataclasses.asdict(cfg), "classes": classes,
                                         "imported": meta})
    print(f"{a.model} (width {width:g}, {_plural(num_classes, 'class', 'classes')}, input convention {cfg.convention}) "
          f"from {a.weights}")
    _print_files({"checkpoint": a.out})
    return 0


def _cmd_bench(a) -> int:
    from .bench import run_bench
    results = run_bench(a.model, a.size, a.batch, a.width, a.classes, a.device, a.repeats,
                        a.warmup, a.iters, a.json)
    return 1 if any("error" in r for r in results) else 0   # the others' figures are printed


def _say_lr_jump(trainer):
    """A poly or step schedule stretched to new --iters restarts at a higher rate, with no
    warm-up: say from what to what (a plain VGG trunk can collapse under a sudden large step)."""
    it, c = trainer.iteration, trainer.cfg
    old_iters = trainer.resumed_changes.get("iters", (None,))[0]
    if not it or old_iters is None or c.lr_policy == "fixed":
        return
    from .optim import lr_at
    last = lr_at(c.lr_policy, c.lr, it - 1, old_iters, step_size=c.lr_step, gamma=c.lr_gamma, warmup=c.warmup)
    now = trainer.lr(it)
    if now > 1.5 * last:
        print(f"note: the {c.lr_policy} schedule now runs to {_plural(trainer.max_iter, 'iteration')}: the last "
              f"step ran at lr {last:.3g}, the next runs at {now:.3g}, with no warm-up")


def _resume_command(args, argv, checkpoint):
    """The command that continues an interrupted ``train``: ``--resume`` of its checkpoint, or
    for a staged run the same command with ``--resume`` of its directory (the stages' parent)."""
    if not args.staged:
        return f"minifcn train --resume {shlex.quote(str(checkpoint))}"
    words = list(sys.argv[1:] if argv is None else argv)
    if "--resume" in words:   # resumed before: drop the old directory, the new one follows
        i = words.index("--resume")
        del words[i:i + 2]
    words = [w for w in words if not w.startswith("--resume=")]
    return shlex.join(["minifcn", *words, "--resume", str(Path(checkpoint).parent.parent)])


def main(argv=None) -> int:
    """Entry point of the ``minifcn`` console script and ``python -m minifcn``; returns the exit code."""
    from .train import TrainingDiverged, TrainingInterrupted
    args = build_parser().parse_args(argv)
    cmd = {"train": _cmd_train, "eval": _cmd_eval, "predict": _cmd_predict, "data": _cmd_data,
           "import": _cmd_import, "bench": _cmd_bench}[args.command]
    try:
        return cmd(args)
    except TrainingDiverged as e:
        print(f"minifcn: {e}", file=sys.stderr)
        return 1
    except TrainingInterrupted as e:   # Ctrl-C: exit as interrupted programs do (128 + SIGINT)
        print(f"\nminifcn: stopped by Ctrl-C at iteration {e.iteration}; checkpoint written: "
              f"{e.checkpoint}\ncontinue with: {_resume_command(args, argv, e.checkpoint)}",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:   # elsewhere (or a second Ctrl-C in training): no traceback
        print(f"\nminifcn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError, OSError) as e:
        print(f"minifcn {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:   # NumPy's and CuPy's out-of-memory errors are MemoryErrors
        print(f"minifcn {args.command}: out of memory: {str(e) or 'an array did not fit'}. A smaller "
              f"batch (--batch-size), smaller images (--crop, --image-size) or a narrower net "
              f"(--width) needs less.", file=sys.stderr)
        return 1
