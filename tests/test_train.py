"""The training loop on tiny settings: exact resume, NaN stop, class weights, staged FCN, SegNets."""
import csv
import dataclasses
import hashlib
import math
import os
import signal
import stat

import numpy as np
import pytest

from minifcn import backend
from minifcn.checkpoint import load_checkpoint
from minifcn.optim import lr_at
from minifcn.train import (TrainConfig, Trainer, TrainingDiverged, TrainingInterrupted, global_norm,
                           build_datasets, median_frequency_weights, train_staged)
from minifcn.viz import LOG_COLUMNS


def tiny(tmp_path, **kw):
    """8 train / 4 val synthetic 32x32 images, a 1/16-width SegNet-Basic, 2 images a batch."""
    base = dict(model="segnet-basic", width=1 / 16, image_size=32, num_train=8, num_val=4, batch_size=2, iters=6,
                val_every=3, grid_size=2, data_root=str(tmp_path / "synthetic"),
                out=str(tmp_path / "run"))
    base.update(kw)
    return TrainConfig(**base)


def _params(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def test_resume_is_bit_identical(tmp_path):
    # Bayesian SegNet: dropout (backend RNG) and batch norm (running averages) both in play.
    # 6 iterations of batch 2 over 8 images: epoch boundary at 4; interrupt at 5 (mid-epoch,
    # after a validation at 3), so order, position, both RNGs and momentum must all be restored.
    cfg = tiny(tmp_path, model="bayesian-segnet", out=str(tmp_path / "a"))
    full = Trainer(cfg, progress=False)
    full.run()
    want = _params(full.model)

    cfg_b = tiny(tmp_path, model="bayesian-segnet", out=str(tmp_path / "b"))
    first = Trainer(cfg_b, progress=False)
    first.run(until=5)
    ck = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert ck["meta"]["iteration"] == 5 and ck["meta"]["pos"] == 2 and ck["meta"]["epoch"] == 1
    assert not all(np.array_equal(want[k], v) for k, v in _params(first.model).items())
    backend.manual_seed(12345)  # a resumed run must not depend on the RNG state it starts in
    resumed = Trainer.from_checkpoint(tmp_path / "b" / "checkpoint.npz", progress=False)
    assert resumed.iteration == 5
    resumed.run()
    got = _params(resumed.model)
    assert list(got) == list(want)
    for k in want:
        assert np.array_equal(got[k], want[k]), f"{k} differs after resume"
    va = full.optimizer.state_dict()["velocity"]
    vb = resumed.optimizer.state_dict()["velocity"]
    assert all(np.array_equal(a, b) for a, b in zip(va, vb))
    # the resumed log is the uninterrupted log (same rows; times aside)
    def rows(d):
        with open(tmp_path / d / "log.csv", newline="") as f:
            return [{k: r[k] for k in LOG_COLUMNS if k != "time"} for r in csv.DictReader(f)]
    assert rows("a") == rows("b") and len(rows("a")) == 2


def test_a_resume_with_changed_settings_applies_them_and_says_which(tmp_path):
    # --resume used to keep the saved momentum and weight decay (the optimizer's saved groups
    # overwrote them) and the saved class weights, and a smaller training set met the saved
    # epoch order: IndexError, "list index out of range"
    first = Trainer(tiny(tmp_path, iters=1), progress=False)   # mid-epoch at 1
    first.run()
    path = tmp_path / "run" / "checkpoint.npz"
    same = Trainer.from_checkpoint(path, progress=False)
    assert same.resumed_changes == {} and same.order is not None
    assert np.array_equal(same.class_weight, first.class_weight)
    r = Trainer.from_checkpoint(path, progress=False, subset_count=6, iters=4, momentum=0.5,
                                weight_decay=0.0, class_weights="none")
    assert r.resumed_changes == {"subset_count": (None, 6), "iters": (1, 4), "momentum": (0.9, 0.5),
                                 "weight_decay": (5e-4, 0.0), "class_weights": ("median-freq-sqrt", None)}
    assert [(g["momentum"], g["weight_decay"]) for g in r.optimizer.param_groups] == [(0.5, 0.0)]
    assert r.class_weight is None and r.order is None   # a new epoch over the 6 images
    r.run()
    assert r.iteration == 4 and r.pos == 6   # the new epoch: its 6 images in 3 steps
    with pytest.raises(ValueError, match=r"over the classes background, disc, square.*these "
                                         r"settings give background, disc: a resumed run keeps"):
        Trainer.from_checkpoint(path, progress=False, subset_classes=["disc"])
    with pytest.raises(ValueError, match=r"--init vgg16.pth starts a fresh run from those weights"):
        Trainer.from_checkpoint(path, progress=False, init="vgg16.pth")


def _ctrl_c_during_steps(trainer, at, presses=1):
    """Press Ctrl-C ``presses`` times during step ``at`` (1-based) of ``trainer``: SIGINT is
    delivered to this process as a terminal would, while the step computes."""
    step = trainer.train_step

    def pressed(x, y):
        if trainer.iteration + 1 == at:
            for _ in range(presses):
                signal.raise_signal(signal.SIGINT)
        return step(x, y)
    trainer.train_step = pressed


def test_ctrl_c_finishes_the_step_writes_a_checkpoint_and_resumes_exactly(tmp_path):
    # Ctrl-C in step 5 of 6 (after the validation and checkpoint at 3): the step completes,
    # the checkpoint is written at 5, and the resumed run ends where the uninterrupted one does
    full = Trainer(tiny(tmp_path, model="bayesian-segnet", out=str(tmp_path / "a")), progress=False)
    full.run()
    before = signal.getsignal(signal.SIGINT)
    tr = Trainer(tiny(tmp_path, model="bayesian-segnet", out=str(tmp_path / "b")), progress=False)
    _ctrl_c_during_steps(tr, at=5)
    with pytest.raises(TrainingInterrupted) as stopped:
        tr.run()
    assert stopped.value.iteration == 5 and isinstance(stopped.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGINT) is before              # the handler is put back
    ck = load_checkpoint(stopped.value.checkpoint)
    assert ck["meta"]["iteration"] == 5
    resumed = Trainer.from_checkpoint(stopped.value.checkpoint, progress=False)
    resumed.run()
    for k, v in _params(full.model).items():
        assert np.array_equal(_params(resumed.model)[k], v), f"{k} differs after Ctrl-C and resume"


def test_ctrl_c_in_a_validation_leaves_it_to_the_resumed_run(tmp_path, monkeypatch):
    # Ctrl-C in the first batch of the validation at 3: the checkpoint is written at 3 at once,
    # owing that validation, which the resumed run does first; log and weights then match the
    # uninterrupted run's
    full = Trainer(tiny(tmp_path, model="bayesian-segnet", out=str(tmp_path / "a")), progress=False)
    full.run()
    tr = Trainer(tiny(tmp_path, model="bayesian-segnet", out=str(tmp_path / "b")), progress=False)
    from minifcn.data import voc
    real, batches_read = voc.iterate_batches, []

    def pressed_in_validation(dataset, *args, **kw):
        for batch in real(dataset, *args, **kw):
            if dataset is tr.val_set:
                batches_read.append(tr.iteration)
                if len(batches_read) == 1:   # once: a second press would stop at once
                    signal.raise_signal(signal.SIGINT)
            yield batch
    monkeypatch.setattr(voc, "iterate_batches", pressed_in_validation)
    with pytest.raises(TrainingInterrupted) as stopped:
        tr.run()
    assert stopped.value.iteration == 3 and batches_read == [3]   # 1 of the 2 batches scored
    assert not (tmp_path / "b" / "log.csv").exists()
    meta = load_checkpoint(stopped.value.checkpoint)["meta"]
    assert meta["iteration"] == 3 and meta["validation_owed"] is True
    monkeypatch.setattr(voc, "iterate_batches", real)
    resumed = Trainer.from_checkpoint(stopped.value.checkpoint, progress=False)
    resumed.run()
    assert not resumed.validation_owed
    for k, v in _params(full.model).items():
        assert np.array_equal(_params(resumed.model)[k], v), k

    def rows(run):
        with open(tmp_path / run / "log.csv", newline="") as f:
            return [{k: r[k] for k in LOG_COLUMNS if k != "time"} for r in csv.DictReader(f)]
    assert rows("a") == rows("b") and len(rows("b")) == 2


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    before = signal.getsignal(signal.SIGINT)
    tr = Trainer(tiny(tmp_path), progress=False)
    _ctrl_c_during_steps(tr, at=5, presses=2)
    with pytest.raises(KeyboardInterrupt) as stopped:
        tr.run()
    assert not isinstance(stopped.value, TrainingInterrupted)     # not waited for the step
    assert tr.iteration == 4                                       # step 5 never finished
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz")["meta"]["iteration"] == 3
    assert signal.getsignal(signal.SIGINT) is before


def test_a_fresh_run_into_a_used_directory_starts_a_fresh_log(tmp_path):
    # a first run of 6 iterations, then a fresh one of 3 into the same directory: the log and
    # the grids are the second run's alone (the first's rows would mix into its curves)
    Trainer(tiny(tmp_path), progress=False).run()
    second = Trainer(tiny(tmp_path, iters=3), progress=False)
    second.run()
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == [3]
    assert sorted(p.name for p in (tmp_path / "run" / "grids").iterdir()) == ["iter_000003.png"]
    assert second.written_files()["last grid"].name == "iter_000003.png"


def test_a_fresh_run_takes_the_last_run_s_metrics_and_curves_away_until_it_writes_its_own(tmp_path):
    # stopped before its first validation, a fresh run had left the last run's metrics.json
    # (iteration 6) beside its own checkpoint (iteration 2) and empty log
    Trainer(tiny(tmp_path), progress=False).run()
    assert (tmp_path / "run" / "metrics.json").is_file()
    second = Trainer(tiny(tmp_path, iters=6, val_every=3, seed=5), progress=False)
    second.run(until=2)
    assert not (tmp_path / "run" / "metrics.json").exists() and not (tmp_path / "run" / "curves.png").exists()
    second.run()
    import json
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["iteration"] == 6


def test_a_nan_gradient_under_a_finite_loss_stops_before_the_step(tmp_path, monkeypatch):
    tr = Trainer(tiny(tmp_path, iters=4), progress=False)
    before = {k: p.data.copy() for k, p in tr.model.named_parameters()}
    real = tr._clip_gradients

    def poisoned(max_norm):   # a finite loss whose backward made a NaN (it had gone on, unclipped)
        tr.model.parameters()[0].grad[...] = np.nan
        real(max_norm)
    monkeypatch.setattr(tr, "_clip_gradients", poisoned)
    with pytest.raises(TrainingDiverged, match=r"gradients' norm is nan at iteration 1"):
        tr.run()
    assert all(np.array_equal(before[k], p.data) for k, p in tr.model.named_parameters())   # not stepped


def test_a_summed_loss_is_logged_per_image_as_the_validation_s(tmp_path):
    """Under --loss-reduction sum the training loss was the batch's sum, the validation loss
    per image: a batch of 2 read as twice the validation's."""
    tr = Trainer(tiny(tmp_path, iters=3, val_every=3, loss_reduction="sum", lr=1e-9, warmup=0,
                      grad_clip=None), progress=False)
    tr.run()
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        row = next(csv.DictReader(f))
    # lr 1e-9: the net barely moves, so the two losses are of the same images' kind and size
    assert 0.5 < float(row["train_loss"]) / float(row["val_loss"]) < 1.5


def test_a_fresh_run_that_fails_before_writing_leaves_the_last_run_whole(tmp_path):
    # the second run stops at its first step (as on an input too small for the net): the first
    # run's log, grids and checkpoint must still agree with each other, none of them dropped
    Trainer(tiny(tmp_path), progress=False).run()
    out = tmp_path / "run"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    second = Trainer(tiny(tmp_path, iters=3), progress=False)

    def fails(x, y):
        raise ValueError("input too small")
    second.train_step = fails
    with pytest.raises(ValueError, match="too small"):
        second.run()
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert len([p for p in before if p.parts[0] == "grids"]) == 2


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX's")
@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["umask022", "umask027"])
def test_what_a_run_writes_has_the_permissions_of_a_plain_open(tmp_path, umask):
    # written to a temporary name and renamed into place, yet readable as any file the user
    # makes: tempfile.mkstemp had made every checkpoint, log and picture 0o600, and the
    # synthetic dataset's directory 0o700
    before = os.umask(umask)
    try:
        Trainer(tiny(tmp_path), progress=False).run()
    finally:
        os.umask(before)
    made = [p for p in tmp_path.rglob("*") if p.name != "synthetic"]
    assert {"checkpoint.npz", "log.csv", "curves.png", "metrics.json", "iter_000006.png",
            "VOC2012", "synth_00000.jpg"} <= {p.name for p in made}
    for p in made:
        want = (0o777 if p.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(p.stat().st_mode) == want, (p, oct(p.stat().st_mode))


def test_gradients_are_clipped_to_the_global_norm_summed_in_chunks(tmp_path, monkeypatch, rng):
    import minifcn.nn_utils as U   # the trainer's norm is clip_grad_norm_'s
    monkeypatch.setattr(U, "NORM_CHUNK", 7)   # chunks that end mid-array, and a last short one
    arrays = [rng.standard_normal(s).astype(np.float32) * 10 for s in [(3, 5, 2), (40,), (1,)]]
    want = np.sqrt(sum(np.sum(a.astype(np.float64) ** 2) for a in arrays))
    assert global_norm(arrays) == pytest.approx(want, rel=1e-6)
    tr = Trainer(tiny(tmp_path), progress=False)
    params = [p for p in tr.model.parameters()]
    for p, g in zip(params, [rng.standard_normal(p.shape).astype(np.float32) for p in params]):
        p.grad = g
    before = global_norm([p.grad for p in params])
    assert before > 2.0
    tr._clip_gradients(2.0)
    assert global_norm([p.grad for p in params]) == pytest.approx(2.0, rel=1e-5)
    tr._clip_gradients(5.0)   # under the limit: left alone
    assert global_norm([p.grad for p in params]) == pytest.approx(2.0, rel=1e-5)


def test_writes_log_curves_grids_metrics(tmp_path):
    tr = Trainer(tiny(tmp_path), progress=False)
    scores = tr.run()
    out = tmp_path / "run"
    with open(out / "log.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == LOG_COLUMNS
    assert [int(r["iteration"]) for r in rows] == [3, 6]
    assert float(rows[-1]["mean_iou"]) == pytest.approx(scores["mean_iou"])
    assert float(rows[0]["lr"]) == pytest.approx(lr_at("poly", tr.cfg.lr, 2, 6, warmup=tr.cfg.warmup))  # last step's
    for name in ("curves.png", "metrics.json", "checkpoint.npz", "grids/iter_000003.png",
                 "grids/iter_000006.png"):
        assert (out / name).is_file(), name


def test_validate_before_training_scores_the_initial_net(tmp_path):
    tr = Trainer(tiny(tmp_path), progress=False)
    scores = tr.validate()   # no run() yet: the output directory is made here
    assert 0 <= scores["mean_iou"] <= 1 and (tmp_path / "run" / "checkpoint.npz").is_file()
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == [0]


def test_the_learning_rate_width_and_warm_up_default_by_model_and_saved_ones_are_kept():
    assert TrainConfig().lr == 0.05 and TrainConfig(model="fcn32s").lr == 0.05
    assert TrainConfig(model="segnet").lr == TrainConfig(model="bayesian-segnet").lr == 0.2
    assert TrainConfig(model="segnet", lr=0.01).lr == 0.01
    assert TrainConfig().width == TrainConfig(model="fcn32s").width == 1 / 16
    for model in ("segnet", "segnet-basic", "bayesian-segnet"):
        assert TrainConfig(model=model).width == 1 / 8, model
    assert TrainConfig(model="segnet", width=1.0).width == 1.0
    # a checkpoint's settings hold the rate and width it trained with, whatever today's defaults
    assert TrainConfig().warmup == TrainConfig(model="fcn32s").warmup == 100
    assert TrainConfig(model="segnet").warmup == TrainConfig(model="bayesian-segnet").warmup == 200
    assert TrainConfig(model="segnet-basic").warmup == 20
    assert TrainConfig(model="segnet", warmup=0).warmup == 0
    saved = dataclasses.asdict(TrainConfig(model="segnet", lr=0.05, width=1 / 16, warmup=20))
    assert (TrainConfig.from_dict(saved).lr, TrainConfig.from_dict(saved).width,
            TrainConfig.from_dict(saved).warmup) == (0.05, 1 / 16, 20)


def test_each_validation_prints_a_line_of_its_log_row(tmp_path, capsys):
    tr = Trainer(tiny(tmp_path), progress=True)
    tr.run()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("val at")]
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(lines) == len(rows) == 2
    for line, row in zip(lines, rows):
        assert line == (f"val at {row['iteration']}/6: loss {float(row['val_loss']):.3f} "
                        f"(train {float(row['train_loss']):.3f}), pixel acc "
                        f"{float(row['pixel_acc']):.3f}, mean IoU {float(row['mean_iou']):.3f}")
    Trainer(tiny(tmp_path, out=str(tmp_path / "quiet")), progress=False).run()
    assert "val at" not in capsys.readouterr().out


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    tr = Trainer(tiny(tmp_path, iters=8, val_every=3), progress=False)
    tr.run(until=3)  # validation at 3 writes the checkpoint
    path = tmp_path / "run" / "checkpoint.npz"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    tr.model.parameters()[-1].data[...] = np.nan  # the last layer's bias: the next loss is NaN
    with pytest.raises(TrainingDiverged, match=r"iteration 4 .*checkpoint\.npz \(iteration 3\)"):
        tr.run()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    ck = load_checkpoint(path)
    assert ck["meta"]["iteration"] == 3
    assert all(np.isfinite(v).all() for v in ck["model"].values())


class _Unlabelled:
    """A split whose labels are all 255 (void): nothing to score, no mean loss."""

    def __init__(self, dataset):
        self.dataset, self.num_classes = dataset, dataset.num_classes

    def __len__(self):
        return len(self.dataset)

    def get(self, i, rng=None):
        x, y = self.dataset.get(i, rng)
        return x, np.full_like(y, 255)

    def load(self, i):
        x, y = self.dataset.load(i)
        return x, np.full_like(np.asarray(y), 255)


@pytest.mark.parametrize("weights", ["median-freq-sqrt", "none"])
def test_a_batch_with_no_labelled_pixel_is_a_step_of_zero_loss_not_a_divergence(tmp_path, weights):
    # its mean loss is 0 / 0: this stopped training with "the loss is nan ... try a lower --lr"
    tr = Trainer(tiny(tmp_path, weight_decay=0.0, class_weights=weights), progress=False)
    before = [p.data.copy() for p in tr.model.parameters()]
    x, y = next(tr._batches())
    loss = tr.train_step(x, np.full_like(y, 255))
    assert loss == 0.0 and math.copysign(1.0, loss) == 1.0   # not -0.0, a sum of no terms
    assert all(np.array_equal(a, p.data) for a, p in zip(before, tr.model.parameters()))
    assert np.isfinite(tr.train_step(x, y)) and not all(
        np.array_equal(a, p.data) for a, p in zip(before, tr.model.parameters()))
    bad = y.copy()
    bad[0, 0, 0] = 9   # outside the 6 classes: the loss's own error, not an IndexError of the check
    with pytest.raises(ValueError, match="label 9 is outside"):
        tr.train_step(x, bad)
    tr.val_set = _Unlabelled(tr.val_set)   # a split with nothing labelled is not a divergence either
    scores = tr.validate()
    assert np.isnan(scores["pixel_acc"]) and tr.iteration == 0


def test_a_checkpoint_before_any_validation_resumes_with_no_scores(tmp_path):
    tr = Trainer(tiny(tmp_path, val_every=6), progress=False)
    tr.run(until=1)   # a checkpoint at iteration 1, no validation yet: its scores are null
    back = Trainer.from_checkpoint(tmp_path / "run" / "checkpoint.npz", progress=False)
    assert back.last_scores is None   # had become NaN, which reads as true


def test_truncated_checkpoint_resume_names_the_file(tmp_path):
    Trainer(tiny(tmp_path, iters=3), progress=False).run()
    path = tmp_path / "run" / "checkpoint.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"checkpoint\.npz cannot be read .*truncated or corrupt"):
        Trainer.from_checkpoint(path, progress=False)


def test_median_frequency_weights_favour_rare_classes(tmp_path):
    train, _ = build_datasets(tiny(tmp_path))
    w = median_frequency_weights(train, train.num_classes)
    # recompute freq by hand for background (present in every image) and check the formula
    labels = [train.load(i)[1] for i in range(len(train))]
    bg = sum((lab == 0).sum() for lab in labels) / sum((lab != 255).sum() for lab in labels)
    assert w.shape == (6,) and w.dtype == np.float32
    assert w[0] < 1 < max(w[1:])  # background is frequent, some object class rarer than the median
    assert w[0] * bg == pytest.approx(np.median(w[0] * bg / w), rel=1e-5)  # median(freq) = w * freq
    # the milder option is their square root, and it is what the trainer hands the loss
    tr = Trainer(tiny(tmp_path, class_weights="median-freq-sqrt"), progress=False)
    np.testing.assert_allclose(tr.class_weight, np.sqrt(w), rtol=1e-6)
    with pytest.raises(ValueError, match="class_weights must be .*'median-freq-sqrt'.*got 'sqrt'"):
        tiny(tmp_path, class_weights="sqrt")

    class Labels:   # one label map, as a dataset's load gives it
        def __init__(self, lab):
            self.lab = np.asarray(lab)

        def __len__(self):
            return 1

        def load(self, i):
            return None, self.lab
    with pytest.raises(ValueError, match=r"sample 0 holds 7, outside \[0, 3\)"):   # had not said which
        median_frequency_weights(Labels([[0, 7]]), 3)
    with pytest.raises(TypeError, match="integer class ids, got dtype float64"):   # had truncated 1.9
        median_frequency_weights(Labels([[0.4, 1.9, 2.5]]), 3)


def test_val_count_scores_the_same_images_whatever_the_seed(tmp_path):
    _, full = build_datasets(tiny(tmp_path, num_val=6))
    _, a = build_datasets(tiny(tmp_path, num_val=6, val_count=3))
    _, b = build_datasets(tiny(tmp_path, num_val=6, val_count=3, seed=7, subset_count=4))
    assert len(full) == 6 and len(a) == len(b) == 3
    for i in range(3):
        assert np.array_equal(a.load(i)[1], b.load(i)[1])
    picked = [j for j in range(6) if any(np.array_equal(full.load(j)[1], a.load(i)[1])
                                         for i in range(3))]
    assert len(picked) == 3   # three images of the split, in its order
    _, bars = build_datasets(tiny(tmp_path, num_val=6, val_count=1, subset_classes=["bar"]))
    assert len(bars) == 1 and bars.classes == ("background", "bar")


@pytest.mark.parametrize("bad, message", [
    (dict(val_every=0), "val_every must be >= 1, got 0"),
    (dict(lr_policy="step"), "lr_policy 'step' needs lr_step"),   # else it failed at step 1
    (dict(lr_policy="step", lr_step=0), "lr_step must be >= 1, got 0"),
    (dict(lr_gamma=0.0), "lr_gamma must be a positive number, got 0.0"),
    (dict(grad_clip=0.0), r"grad_clip must be a positive number \(or None: no clipping\), got 0.0"),
    (dict(warmup=-1), "warmup and grid_size must be >= 0, got -1, 2"),
    (dict(scale=[1.5, 0.5]), r"scale must be a range \[low, high\] with 0 < low <= high, both finite, "
                             r"got \[1.5, 0.5\]"),
    (dict(scale=[1, float("inf")]), r"both finite, got \[1, inf\]"),   # had failed in the first step
    (dict(val_count=0), "val_count must be >= 1, got 0"),
    (dict(subset_count=0), "subset_count must be >= 1, got 0"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),   # NumPy's said "expected
    (dict(data_seed=-2), "data_seed must be a non-negative integer, got -2"),  # non-negative integer"
    (dict(momentum=1.0), r"momentum must be in \[0, 1\), got 1.0"),   # 1.5 diverged at step 33
    # images of many sizes in one batch: it had failed at the first batch, naming RandomCrop
    (dict(dataset="voc", data_root="x"), r"batch_size 2 needs crop: voc's images differ in size"),
    (dict(scale=[0.5, 1.5]), "batch_size 2 needs crop: images rescaled at random differ in size"),
])
def test_bad_settings_are_refused_before_training(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        tiny(tmp_path, **bad)


def test_the_default_batch_holds_one_image_where_the_images_differ_in_size():
    assert TrainConfig().batch_size == 8
    assert TrainConfig(dataset="voc", data_root="x").batch_size == 1      # VOC's own sizes
    assert TrainConfig(dataset="sbd", data_root="x", crop=320).batch_size == 8
    assert TrainConfig(scale=[0.75, 1.25]).batch_size == 1
    assert TrainConfig(scale=[0.75, 1.25], crop=128, batch_size=4).batch_size == 4


def test_a_staged_run_stopped_in_a_stage_s_last_validation_does_it_on_resume(tmp_path, monkeypatch):
    def cfg(out):
        return tiny(tmp_path, model="fcn16s", width=1 / 32, iters=2, val_every=2, num_val=2,
                    out=str(tmp_path / out))
    want = _params(train_staged(cfg("straight"), progress=False).model)
    from minifcn.data import voc
    real = voc.iterate_batches

    def pressed(dataset, *args, **kw):   # Ctrl-C in FCN-32s's only (and last) validation
        validating = len(dataset) == 2      # the 2 val images, not the 8 training ones
        if validating and not (tmp_path / "stopped" / "fcn32s" / "checkpoint.npz").exists():
            signal.raise_signal(signal.SIGINT)
        yield from real(dataset, *args, **kw)
    with monkeypatch.context() as m, pytest.raises(TrainingInterrupted) as stopped:
        m.setattr(voc, "iterate_batches", pressed)
        train_staged(cfg("stopped"), progress=False)
    assert stopped.value.iteration == 2      # the stage's last iteration, its validation owed
    got = train_staged(cfg("stopped"), progress=False, resume=True)
    with open(tmp_path / "stopped" / "fcn32s" / "log.csv", newline="") as f:
        assert [r["iteration"] for r in csv.DictReader(f)] == ["2"]
    for k, v in want.items():
        assert np.array_equal(_params(got.model)[k], v), k


def test_staged_fcn_builds_each_stage_from_the_previous(tmp_path):
    cfg = tiny(tmp_path, model="fcn8s", width=1 / 32, iters=1, val_every=1, num_val=2,
               out=str(tmp_path / "staged"))
    last = train_staged(cfg, progress=False)
    assert type(last.model).__name__ == "FCN8s"
    for stage in ("fcn32s", "fcn16s", "fcn8s"):
        assert (tmp_path / "staged" / stage / "checkpoint.npz").is_file()
    # FCN-8s's trunk started from FCN-16s's final trunk: the 16s checkpoint's conv1_1 is where 8s began
    s16 = load_checkpoint(tmp_path / "staged" / "fcn16s" / "checkpoint.npz")["model"]
    assert "score_pool4.weight" in s16 and "score_pool3.weight" not in s16


def test_an_interrupted_staged_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    # FCN-16s staged (32s, then 16s), 4 iterations a stage; Ctrl-C in the 16s stage's step 3:
    # resumed, the finished 32s stage is only loaded, the 16s stage continues from its
    # checkpoint, and the result is the uninterrupted run's, bit for bit
    def cfg(out, **kw):
        return tiny(tmp_path, model="fcn16s", width=1 / 32, iters=4, val_every=2, num_val=2,
                    out=str(tmp_path / out), **kw)
    want = _params(train_staged(cfg("straight"), progress=False).model)
    step = Trainer.train_step

    def pressed(self, x, y):
        if self.cfg.model == "fcn16s" and self.iteration == 2:
            signal.raise_signal(signal.SIGINT)
        return step(self, x, y)
    with monkeypatch.context() as m, pytest.raises(TrainingInterrupted) as stopped:
        m.setattr(Trainer, "train_step", pressed)
        train_staged(cfg("stopped"), progress=False)
    assert stopped.value.checkpoint == str(tmp_path / "stopped" / "fcn16s" / "checkpoint.npz")
    first = (tmp_path / "stopped" / "fcn32s" / "checkpoint.npz").read_bytes()
    got = train_staged(cfg("stopped"), progress=False, resume=True)
    assert (tmp_path / "stopped" / "fcn32s" / "checkpoint.npz").read_bytes() == first  # not retrained
    assert got.iteration == 4 and list(_params(got.model)) == list(want)
    for k, v in want.items():
        assert np.array_equal(_params(got.model)[k], v), f"{k} differs after the staged resume"
    with pytest.raises(ValueError, match=r"fcn32s/checkpoint.npz was trained with lr=0.05, not 0.1"):
        train_staged(cfg("stopped", lr=0.1), progress=False, resume=True)
    with pytest.raises(FileNotFoundError, match=r"no staged run to resume under .*typo"):
        train_staged(cfg("typo"), progress=False, resume=True)


@pytest.mark.parametrize("model", ["segnet-basic", "bayesian-segnet"])
def test_segnets_lower_their_loss(tmp_path, model):
    # warm-up 20, as when the loss drop below was measured (Bayesian SegNet's default of 200 is
    # longer than these 60 steps)
    cfg = tiny(tmp_path, model=model, iters=60, val_every=15, lr=0.05, flip=False,
               class_weights="median-freq", warmup=20)
    tr = Trainer(cfg, progress=False)
    tr.run()
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        losses = [float(r["train_loss"]) for r in csv.DictReader(f)]
    # 60 tiny steps (Bayesian SegNet's dropout 0.5 on 4-channel blocks is noisy): the mean training
    # loss of the last 15 steps is at least 10% under that of the first 15. (40 steps were enough on
    # version 1 of the synthetic data; on version 2 the Bayesian net needs more: 8% at 40, 17% at 60.)
    assert len(losses) == 4 and losses[-1] < 0.9 * losses[0], losses
    assert tr.class_weight is not None


def test_training_on_the_gpu_follows_the_cpu(tmp_path, gpu):
    # The whole loop on CuPy (data moves, loss, backward, SGD, validation, checkpoint): SegNet-Basic
    # has no dropout, so a GPU run starting from the same weights must stay within float32
    # rounding of the CPU run (summation order differs between BLAS and cuBLAS, and the GPU's
    # kernels take paths of their own).
    runs = {}
    for device in ("cpu", "cuda"):
        backend.manual_seed(0)
        tr = Trainer(tiny(tmp_path, device=device, out=str(tmp_path / device), iters=4), progress=False)
        tr.run()
        assert all(isinstance(p.data, gpu.ndarray) == (device == "cuda") for p in tr.model.parameters())
        runs[device] = tr.model.state_dict()   # host copies
    for k, v in runs["cpu"].items():
        np.testing.assert_allclose(runs["cuda"][k], v, rtol=1e-3, atol=1e-4, err_msg=k)
    assert list(runs["cuda"]) == list(runs["cpu"])


# ----------------------------------------------------------------------------- VGG16 init
def _vgg_file(tmp_path, width, convention="torchvision"):
    """A width-scaled VGG16's weights saved as an .npz, as import_vgg16 would return them."""
    from minifcn.models import VGG16
    from minifcn.weights import save_npz
    backend.manual_seed(7)
    vgg = VGG16(num_classes=10, width=width)
    path = tmp_path / f"vgg_{convention}.npz"
    save_npz(path, vgg.state_dict(), {"input_convention": convention})
    return path, vgg.state_dict()


@pytest.mark.parametrize("model", ["fcn8s", "segnet"])
def test_init_starts_from_vgg16(tmp_path, model):
    path, vgg = _vgg_file(tmp_path, 1 / 32)
    cfg = tiny(tmp_path, model=model, width=1 / 32, init=str(path))
    tr = Trainer(cfg, progress=False)
    got = tr.model.state_dict()
    for name in ("conv1_1", "conv3_2", "conv5_3"):
        assert np.array_equal(got[f"{name}.weight"], vgg[f"{name}.weight"]), name
        assert np.array_equal(got[f"{name}.bias"], vgg[f"{name}.bias"]), name
    if model == "fcn8s":   # net surgery: fc6/fc7 reshaped into convolutions, scores at zero
        assert np.array_equal(got["fc6.weight"], vgg["fc6.weight"].reshape(got["fc6.weight"].shape))
        assert np.array_equal(got["fc7.weight"][:, :, 0, 0], vgg["fc7.weight"])
        assert not got["score_fr.weight"].any() and not got["score_pool3.weight"].any()
    else:                  # the encoder only: the decoder keeps its own initialisation
        assert got["conv5_3_D.weight"].shape == got["conv5_3.weight"].shape
        assert not np.array_equal(got["conv5_3_D.weight"], vgg["conv5_3.weight"])
    # a resumed run takes its weights from the checkpoint: the init file is not needed any more
    tr.run(until=1)
    path.unlink()
    resumed = Trainer.from_checkpoint(tmp_path / "run" / "checkpoint.npz", progress=False)
    assert resumed.cfg.init == str(path) and resumed.iteration == 1


def test_init_refuses_wrong_widths_models_and_conventions(tmp_path):
    path, _ = _vgg_file(tmp_path, 1 / 32)
    with pytest.raises(ValueError, match=r"init: conv1_1.weight is \(2, 3, 3, 3\) in the weights but "
                                         r"\(4, 3, 3, 3\) in the model.*--width 1.0"):
        Trainer(tiny(tmp_path, model="fcn32s", width=1 / 16, init=str(path)), progress=False)
    with pytest.raises(ValueError, match="SegNetBasic has no VGG16 trunk"):
        Trainer(tiny(tmp_path, model="segnet-basic", width=1 / 32, init=str(path)), progress=False)
    caffe, _ = _vgg_file(tmp_path, 1 / 32, convention="caffe")
    with pytest.raises(ValueError, match="expects the 'caffe' input convention.*add --convention caffe"):
        Trainer(tiny(tmp_path, model="fcn32s", width=1 / 32, init=str(caffe)), progress=False)
    tr = Trainer(tiny(tmp_path, model="fcn32s", width=1 / 32, init=str(caffe), convention="caffe"),
                 progress=False)
    assert tr.model.state_dict()["conv1_1.weight"].shape == (2, 3, 3, 3)


def test_segnet_basic_checkpoints_say_whether_they_have_the_input_lrn(tmp_path):
    from minifcn.train import load_model
    tr = Trainer(tiny(tmp_path), progress=False)
    assert tr.cfg.model_kwargs == {"lrn": True} and tr.model.norm is not None
    tr.run(until=1)
    model, cfg, _, _ = load_model(tmp_path / "run" / "checkpoint.npz")
    assert cfg.model_kwargs == {"lrn": True} and model.norm is not None
    # a checkpoint written before SegNet-Basic had its LRN records no "lrn": it holds the net without
    old = dataclasses.asdict(tr.cfg)
    old["model_kwargs"] = {}
    assert TrainConfig.from_dict(old).model_kwargs == {"lrn": False}
    assert TrainConfig.from_dict({**old, "model": "segnet"}).model_kwargs == {}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_evaluate_loss_is_the_splits_whatever_the_batches(tmp_path, reduction):
    # 4 val images as 4 batches, 3 + 1, or 1 of 4, with void pixels and class weights: one loss,
    # the summed per-pixel loss over the summed weights (mean) or over the images (sum)
    from minifcn import functional as F
    from minifcn.autograd import Tensor, no_grad
    from minifcn.train import evaluate
    trainer = Trainer(tiny(tmp_path), progress=False)
    val = trainer.val_set
    weight = np.linspace(0.5, 2.0, val.num_classes).astype(np.float32)
    losses = [evaluate(trainer.model, val, bs, weight=weight, reduction=reduction)[1] for bs in (1, 3, 4)]
    xs, ys = zip(*(val[i] for i in range(len(val))))
    x, y = np.stack(xs), np.stack(ys)
    assert (y == 255).any()                           # the synthetic labels' void borders
    with no_grad():
        pixels = F.cross_entropy(trainer.model(Tensor(x)), y, weight=weight, reduction="sum").item()
    labelled = y[y != 255]
    want = pixels / (weight[labelled].sum() if reduction == "mean" else len(val))
    assert losses == pytest.approx([want] * 3, rel=1e-5)
    # what had passed: any other reduction scored as "mean"; batch 0 divided by zero
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum', got 'none'"):
        evaluate(trainer.model, val, 2, reduction="none")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        evaluate(trainer.model, val, 0)
