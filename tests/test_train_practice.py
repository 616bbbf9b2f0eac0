"""A reviewer's walk through ``minifcn train``: resumes that wrote over other runs, --epochs on
resume, NumPy's warnings in a diverging run, checkpoints holding NaN, a second Ctrl-C while the
checkpoint is written. Tiny settings, as tests/test_train.py's."""
import hashlib
import shutil
import signal
import warnings

import numpy as np
import pytest

from minifcn import checkpoint as checkpoint_module
from minifcn import cli
from minifcn._files import deferring_sigint
from minifcn.checkpoint import load_checkpoint
from minifcn.train import TrainConfig, Trainer, TrainingDiverged, TrainingInterrupted
from minifcn.weights import load_npz, save_npz


def tiny(tmp_path, out="run", **kw):
    """8 train / 4 val synthetic 32x32 images, a 1/16-width SegNet-Basic, 2 images a batch."""
    base = dict(model="segnet-basic", width=1 / 16, image_size=32, num_train=8, num_val=4, batch_size=2,
                iters=4, val_every=2, grid_size=1, data_root=str(tmp_path / "synthetic"),
                out=str(tmp_path / out))
    base.update(kw)
    return TrainConfig(**base)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------- 1. resume into another run
def test_a_resume_refuses_to_replace_another_run_s_checkpoint(tmp_path):
    Trainer(tiny(tmp_path, "a", iters=2), progress=False).run()
    Trainer(tiny(tmp_path, "b", iters=4), progress=False).run()
    other = tmp_path / "b" / "other.npz"   # run a's checkpoint, copied into run b's directory
    shutil.copy(tmp_path / "a" / "checkpoint.npz", other)
    before = _digest(tmp_path / "b" / "checkpoint.npz"), _digest(tmp_path / "b" / "log.csv")
    with pytest.raises(ValueError, match=r"resuming .*other\.npz would replace .*b/checkpoint\.npz, "
                                         r"another run's checkpoint.*give --out DIR"):
        Trainer.from_checkpoint(other, progress=False, iters=6)
    assert (_digest(tmp_path / "b" / "checkpoint.npz"), _digest(tmp_path / "b" / "log.csv")) == before
    # --out: the same checkpoint goes on in a directory of its own
    r = Trainer.from_checkpoint(other, progress=False, iters=4, out=tmp_path / "c")
    r.run()
    assert load_checkpoint(tmp_path / "c")["meta"]["iteration"] == 4
    assert load_checkpoint(tmp_path / "c")["meta"]["config"]["out"] == str(tmp_path / "c")
    assert _digest(tmp_path / "b" / "checkpoint.npz") == before[0]


def test_a_resume_goes_on_over_its_own_run_but_not_back_over_later_iterations(tmp_path):
    tr = Trainer(tiny(tmp_path, iters=6), progress=False)
    tr.run(until=2)
    run = tmp_path / "run"
    shutil.copy(run / "checkpoint.npz", run / "at2.npz")   # a copy of the same run, iteration 2
    # the same iteration: it is the run being resumed (a copy of its checkpoint)
    Trainer.from_checkpoint(run / "at2.npz", progress=False).run(until=4)
    assert load_checkpoint(run)["meta"]["iteration"] == 4
    # now run/checkpoint.npz is at 4: going back to 2 there would drop iterations 3-4
    with pytest.raises(ValueError, match=r"at2\.npz \(iteration 2\) would replace .*a later "
                                         r"checkpoint of the same run \(iteration 4\)"):
        Trainer.from_checkpoint(run / "at2.npz", progress=False)
    # the directory itself, and its checkpoint by name, are the run being resumed
    Trainer.from_checkpoint(run, progress=False).run()
    assert load_checkpoint(run)["meta"]["iteration"] == 6


def test_a_resume_refuses_a_directory_holding_another_run_s_log(tmp_path):
    Trainer(tiny(tmp_path, "a", iters=2), progress=False).run()
    moved = tmp_path / "elsewhere" / "moved.npz"
    moved.parent.mkdir()
    shutil.copy(tmp_path / "a" / "checkpoint.npz", moved)
    (moved.parent / "log.csv").write_text("epoch,iteration\n")   # someone's log, no checkpoint
    with pytest.raises(ValueError, match=r"would write into .*elsewhere/log\.csv, another run's log"):
        Trainer.from_checkpoint(moved, progress=False)
    (moved.parent / "log.csv").unlink()   # a directory without a run's files: it goes on there
    Trainer.from_checkpoint(moved, progress=False, iters=3).run()
    assert load_checkpoint(moved.parent)["meta"]["iteration"] == 3


def test_the_cli_refuses_a_resume_over_another_run_and_takes_out(tmp_path, capsys):
    Trainer(tiny(tmp_path, "a", iters=2), progress=False).run()
    Trainer(tiny(tmp_path, "b", iters=2), progress=False).run()
    other = tmp_path / "b" / "other.npz"
    shutil.copy(tmp_path / "a" / "checkpoint.npz", other)
    assert cli.main(["train", "--resume", str(other), "--iters", "3", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"would replace {tmp_path / 'b' / 'checkpoint.npz'}" in err and "--out DIR" in err
    assert cli.main(["train", "--resume", str(other), "--iters", "3", "--out", str(tmp_path / "c"),
                     "--no-progress"]) == 0
    assert load_checkpoint(tmp_path / "c")["meta"]["iteration"] == 3


# ----------------------------------------------------------------- 2. --epochs on resume
def test_a_new_epochs_on_resume_sets_the_length_unless_iters_is_given(tmp_path):
    Trainer(tiny(tmp_path, iters=2), progress=False).run()   # 4 iterations an epoch
    r = Trainer.from_checkpoint(tmp_path / "run", progress=False, epochs=2)
    assert r.max_iter == 8 and r.resumed_changes["iters"] == (2, None)
    assert r.resumed_changes["epochs"] == (12, 2)
    r.run()
    assert r.iteration == 8
    both = Trainer.from_checkpoint(tmp_path / "run", progress=False, epochs=5, iters=10)
    assert both.max_iter == 10   # --iters overrides --epochs, as in a fresh run


def test_the_command_names_the_length_a_new_epochs_gives(tmp_path, capsys):
    Trainer(tiny(tmp_path, iters=2), progress=False).run()   # 4 iterations an epoch
    assert cli.main(["train", "--resume", str(tmp_path / "run"), "--epochs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "iters 2 -> 4 (from --epochs)" in out and "None" not in out   # it had said "iters 2 -> None"


# ----------------------------------------------------------------- 3. a diverging run
def test_a_diverging_run_stops_with_its_own_message_and_no_numpy_warnings(tmp_path):
    cfg = tiny(tmp_path, model="fcn32s", lr=1e4, warmup=0, grad_clip=None, iters=30, val_every=30)
    tr = Trainer(cfg, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a RuntimeWarning of NumPy's would be raised here
        with pytest.raises(TrainingDiverged, match=r"training stopped: the (loss|gradients' norm) is"):
            tr.run()
    assert tr.iteration < 30
    assert np.geterr()["over"] == "warn"   # the step's errstate does not outlive it


# ----------------------------------------------------------------- 4. a checkpoint holding NaN
def _poison(path, entry, where=(0,)):
    state, meta = load_npz(path)
    value = state[entry].copy()
    value.reshape(-1)[where] = np.nan
    state[entry] = value
    save_npz(path, state, meta)


def test_a_checkpoint_with_non_finite_weights_is_refused_naming_the_entry(tmp_path):
    Trainer(tiny(tmp_path, iters=2), progress=False).run()
    path = tmp_path / "run" / "checkpoint.npz"
    name = next(k for k in load_npz(path)[0] if k.startswith("model/") and k.endswith("weight"))
    _poison(path, name, 1)
    with pytest.raises(ValueError, match=rf"checkpoint {path} holds a non-finite value: {name}\[0, 0, 0, 1\] "
                                         r"is nan \(1 of its \d+ values not finite\)"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="holds a non-finite value"):
        Trainer.from_checkpoint(path, progress=False, iters=4)


def test_a_checkpoint_with_a_non_finite_momentum_buffer_is_refused(tmp_path):
    Trainer(tiny(tmp_path, iters=2), progress=False).run()
    path = tmp_path / "run" / "checkpoint.npz"
    _poison(path, "optim/velocity/0")
    with pytest.raises(ValueError, match=r"holds a non-finite value: optim/velocity/0\["):
        load_checkpoint(path)


def test_train_eval_and_predict_refuse_a_checkpoint_holding_nan(tmp_path, capsys):
    Trainer(tiny(tmp_path, iters=2), progress=False).run()
    path = tmp_path / "run" / "checkpoint.npz"
    _poison(path, next(k for k in load_npz(path)[0] if k.startswith("model/")))
    image = next((tmp_path / "synthetic").rglob("*.jpg"))
    for argv in (["train", "--resume", str(path), "--iters", "4", "--no-progress"],
                 ["eval", "--checkpoint", str(path), "--out", str(tmp_path / "e.json")],
                 ["predict", "--checkpoint", str(path), "--image", str(image), "--out", str(tmp_path / "p")]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"checkpoint {path} holds a non-finite value: model/" in err, (argv, err)
    assert not (tmp_path / "e.json").exists() and not (tmp_path / "p").exists()


# ----------------------------------------------------------------- 5. Ctrl-C while saving
def test_deferring_sigint_raises_after_the_block_and_puts_the_handler_back():
    before = signal.getsignal(signal.SIGINT)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferring_sigint():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)   # twice: still one KeyboardInterrupt, at the end
            done.append(1)
    assert done == [1] and signal.getsignal(signal.SIGINT) is before
    with deferring_sigint():   # no Ctrl-C: nothing raised
        done.append(2)
    assert done == [1, 2] and signal.getsignal(signal.SIGINT) is before


def test_a_second_ctrl_c_while_the_checkpoint_is_written_waits_for_it(tmp_path, monkeypatch):
    # Ctrl-C in step 3 (before any checkpoint: the first save is the interrupted run's), then
    # Ctrl-C again while that checkpoint is written: it had cut the zip off mid-write ("Can't
    # close the ZIP file ...") and left an empty directory; now the checkpoint is finished
    # first and the run stops as after one Ctrl-C
    tr = Trainer(tiny(tmp_path, iters=6, val_every=6), progress=False)
    step = tr.train_step

    def pressed(x, y):
        if tr.iteration + 1 == 3:
            signal.raise_signal(signal.SIGINT)
        return step(x, y)
    tr.train_step = pressed
    real = checkpoint_module.save_npz

    def pressed_again(path, state, meta=None):
        signal.raise_signal(signal.SIGINT)   # delivered mid-save
        return real(path, state, meta)
    monkeypatch.setattr(checkpoint_module, "save_npz", pressed_again)
    before = signal.getsignal(signal.SIGINT)
    try:   # a bare KeyboardInterrupt (the old behaviour) would stop pytest itself
        tr.run()
    except KeyboardInterrupt as e:
        stopped = e
    assert isinstance(stopped, TrainingInterrupted), repr(stopped)
    assert stopped.iteration == 3 and signal.getsignal(signal.SIGINT) is before
    assert load_checkpoint(tmp_path / "run")["meta"]["iteration"] == 3
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_a_ctrl_c_while_an_existing_checkpoint_is_replaced_keeps_a_whole_one(tmp_path, monkeypatch):
    tr = Trainer(tiny(tmp_path, iters=4), progress=False)
    tr.run(until=2)
    real = checkpoint_module.save_npz

    def pressed(path, state, meta=None):
        signal.raise_signal(signal.SIGINT)
        return real(path, state, meta)
    monkeypatch.setattr(checkpoint_module, "save_npz", pressed)
    tr.iteration = 3   # as if a step had run: the checkpoint is rewritten
    try:
        tr.save()
    except KeyboardInterrupt:   # caught here, raised or not: pytest stops on one that escapes
        pass
    else:
        pytest.fail("the Ctrl-C was not raised after the save")
    assert load_checkpoint(tmp_path / "run")["meta"]["iteration"] == 3
