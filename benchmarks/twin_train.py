"""Whole training runs, minifcn against PyTorch on minifcn's exact recipe, both scored by minifcn.

When a run of ``minifcn train`` ends lower than expected, is it minifcn or the recipe? Here
PyTorch trains its twin of the model (FCN-8s or any SegNet; ``torch_models.py``: same layers
and parameter names) with
everything else taken from minifcn's :class:`~minifcn.train.Trainer`: the same initial weights
(copied from minifcn's model, built from the seed), the same batches in the same order with the
same flips, the same learning-rate schedule, parameter groups, momentum, weight decay, class
weights and gradient clipping. Before each validation and checkpoint the twin's weights and
batch-norm statistics are copied into minifcn's model, so the validations, log, grids and
scores are minifcn's own code on PyTorch's weights. Only the arithmetic differs (and the dropout masks: each library draws its
own), so a gap larger than the spread between seeds would point at minifcn.

::

    python -m benchmarks.twin_train --model segnet --seeds 0 1 2     # ~2-3 min a run a library
    python -m benchmarks.twin_train --model fcn8s --seeds 0 --iters 300

Prints, per seed, the final mean IoU and per-class IoU of both libraries and their wall times;
the runs' directories (log.csv, curves.png, grids) are under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks import common  # first: the thread settings

import numpy as np  # noqa: E402

from minifcn.cli import _width  # noqa: E402
from minifcn.train import TrainConfig, Trainer  # noqa: E402

MODELS = ("fcn8s", "segnet", "bayesian-segnet", "segnet-basic")   # the models torch_models.py has twins of


def torch_twin(cfg: TrainConfig, num_classes: int, torch):
    """PyTorch's twin of ``cfg.model``, at ``cfg.width``."""
    from benchmarks.torch_models import TorchFCN8s, TorchSegNet, TorchSegNetBasic
    if cfg.model == "fcn8s":
        return TorchFCN8s(num_classes, width=cfg.width)
    if cfg.model == "segnet":
        return TorchSegNet(num_classes, width=cfg.width)
    if cfg.model == "segnet-basic":
        return TorchSegNetBasic(num_classes, width=cfg.width, lrn=cfg.model_kwargs.get("lrn", True))
    if cfg.model == "bayesian-segnet":
        return TorchSegNet(num_classes, width=cfg.width, dropout=float(cfg.model_kwargs.get("p", 0.5)))
    raise ValueError(f"no PyTorch twin of {cfg.model!r}: expected one of {', '.join(MODELS)}")


class TwinTrainer(Trainer):
    """A :class:`~minifcn.train.Trainer` whose steps PyTorch takes.

    ``train_step`` runs the twin's forward, loss, backward, clipping and SGD step; its state is
    copied into ``self.model`` before each validation and checkpoint. All the rest (data,
    schedule, validation, files) is the Trainer's own.
    """

    def __init__(self, config: TrainConfig, torch, **kw):
        super().__init__(config, **kw)
        from benchmarks.torch_models import check_twin, load_minifcn_state
        self.torch = torch
        self.tmodel = torch_twin(config, self.num_classes, torch)
        load_minifcn_state(self.tmodel, self.model.state_dict())
        x = np.asarray(self.val_set[0][0], np.float32)[None]
        err = check_twin(self.model, self.tmodel, x)
        if not err < 1e-4:
            raise RuntimeError(f"the PyTorch twin of {config.model} computes another function "
                               f"(relative difference {err:.1e} on a validation image)")
        # minifcn's parameter groups (FCN: biases at 2x lr and no decay), by parameter name
        names = {id(p): n for n, p in self.model.named_parameters()}
        tparams = dict(self.tmodel.named_parameters())
        groups = [{"params": [tparams[names[id(p)]] for p in g["params"]], "lr_mult": g["lr_mult"],
                   "momentum": g["momentum"], "weight_decay": g["weight_decay"]}
                  for g in self.optimizer.param_groups]
        # PyTorch's SGD is minifcn's: v = momentum * v + (g + decay * w), w -= lr * v
        self.toptimizer = torch.optim.SGD(groups, lr=config.lr)

    def train_step(self, x, y) -> float:
        torch, F = self.torch, self.torch.nn.functional
        self.tmodel.train()
        lr = self.lr(self.iteration)
        for g in self.toptimizer.param_groups:
            g["lr"] = lr * g["lr_mult"]
        weight = None if self.class_weight is None else torch.from_numpy(
            np.asarray(self.class_weight, np.float32))
        scores = self.tmodel(torch.from_numpy(np.ascontiguousarray(x, np.float32)))
        loss = F.cross_entropy(scores, torch.from_numpy(np.asarray(y, np.int64)), weight=weight,
                               ignore_index=255, reduction=self.cfg.loss_reduction)
        value = float(loss.detach())
        if not np.isfinite(value):
            raise RuntimeError(f"PyTorch's loss is {value} at iteration {self.iteration + 1}")
        self.toptimizer.zero_grad()
        loss.backward()
        grads = [p.grad for p in self.tmodel.parameters() if p.grad is not None]
        if self.cfg.grad_clip:   # as Trainer._clip_gradients: the global norm, summed in float64
            norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))
            if norm > self.cfg.grad_clip:
                for g in grads:
                    g.mul_(self.cfg.grad_clip / norm)
        self.toptimizer.step()
        return value

    def _take_twin_state(self):
        """The twin's weights and batch-norm statistics (and counts) into minifcn's model."""
        self.model.load_state_dict({k: v.detach().numpy().copy() for k, v in self.tmodel.state_dict().items()})

    def validate(self, stop=None) -> dict:
        self._take_twin_state()
        return super().validate(stop)

    def save(self, path=None):
        self._take_twin_state()
        return super().save(path)


def run(lib: str, cfg: TrainConfig, torch=None) -> dict:
    """Train one run; its scores, per-class IoU and wall time."""
    started = time.perf_counter()
    trainer = (TwinTrainer(cfg, torch, progress=False) if lib == "torch"
               else Trainer(cfg, progress=False))
    trainer.run()
    seconds = time.perf_counter() - started
    scores = json.loads((trainer.out / "metrics.json").read_text())
    return {"mean_iou": scores["mean_iou"], "per_class_iou": scores["per_class_iou"],
            "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=MODELS, default="segnet")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iters", type=int, help="training iterations (default: the config's, 600)")
    parser.add_argument("--width", type=_width, help="channel multiplier, e.g. 1/8 (default: the model's)")
    parser.add_argument("--image-size", type=int, help="synthetic image size (default 160)")
    parser.add_argument("--num-train", type=int, help="synthetic training images (default 400)")
    parser.add_argument("--num-val", type=int, help="synthetic validation images (default 80)")
    parser.add_argument("--data-root", help="synthetic dataset directory (default: the user cache)")
    parser.add_argument("--libs", nargs="+", choices=("minifcn", "torch"), default=["minifcn", "torch"])
    parser.add_argument("--out", help="directory of the runs (default: a new temporary one)")
    args = parser.parse_args(argv)
    common.steady_malloc()
    torch = common.load_torch()
    if torch is None and "torch" in args.libs:
        parser.error("PyTorch is not installed (pip install -e .[oracle]); --libs minifcn runs minifcn alone")
    out = Path(args.out or tempfile.mkdtemp(prefix="twin_train-"))
    given = {k: v for k, v in (("iters", args.iters), ("width", args.width),
                               ("image_size", args.image_size), ("num_train", args.num_train),
                               ("num_val", args.num_val), ("data_root", args.data_root))
             if v is not None}
    print("\n".join(common.environment(torch)))
    rows = []
    for seed in args.seeds:
        for lib in args.libs:
            cfg = TrainConfig(model=args.model, seed=seed, out=str(out / f"{lib}-seed{seed}"), **given)
            r = run(lib, cfg, torch)
            per_class = " ".join(f"{k} {v:.2f}" for k, v in r["per_class_iou"].items() if v is not None)
            print(f"  {args.model} seed {seed} {lib:>7}: mean IoU {r['mean_iou']:.3f} in "
                  f"{r['seconds']:.0f} s ({per_class})", flush=True)
            rows.append([str(seed), lib, f"{r['mean_iou']:.3f}", f"{r['seconds']:.0f}"])
    print()
    common.print_table(["seed", "library", "mean IoU", "seconds"], rows)
    for lib in args.libs:
        ious = [float(r[2]) for r in rows if r[1] == lib]
        print(f"{lib}: mean IoU {min(ious):.3f}-{max(ious):.3f} over seeds {', '.join(map(str, args.seeds))}")
    print(f"\nruns under {out}")


if __name__ == "__main__":
    main()
