"""The ``minifcn`` command, called in-process through ``cli.main``, on tiny settings."""
import csv
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from minifcn import cli
from minifcn.checkpoint import load_checkpoint
from minifcn.viz import LOG_COLUMNS


def tiny_args(tmp_path, out="run", *extra):
    return ["train", "--model", "segnet-basic", "--width", "0.0625", "--image-size", "32",
            "--num-train", "8", "--num-val", "4", "--batch-size", "2", "--iters", "4",
            "--val-every", "2", "--data-root", str(tmp_path / "synthetic"),
            "--out", str(tmp_path / out), "--no-progress", *extra]


@pytest.fixture
def trained(tmp_path, capsys):
    assert cli.main(tiny_args(tmp_path)) == 0
    return tmp_path / "run" / "checkpoint.npz", capsys.readouterr().out


def test_train_prints_scores_and_paths(trained, tmp_path):
    ckpt, out = trained
    assert "at lr 0.2, device cpu" in out   # no --lr: SegNet-Basic's default (default_lr)
    assert re.search(r"val scores at iteration 4 \(this command ran \d+ s\):", out), out
    assert "mean_iou" in out and "background" in out  # the metrics table
    assert "note: --batch-size" not in out                # batch 2 of 8 images
    # SegNet-Basic warms up over 20 iterations: a run of 4 never reaches its lr, and says so
    assert "note: the warm-up (20 iterations) outlasts the run (4): the learning rate never reaches" in out
    # its highest rate, the largest of the run's (it had printed the last: the lowest, under poly decay)
    from minifcn.optim import lr_at
    highest = max(lr_at("poly", 0.2, i, 4, warmup=20) for i in range(4))
    assert f"(its highest: {highest:.3g})" in out
    for name in ("checkpoint.npz", "log.csv", "curves.png", "metrics.json", "iter_000004.png"):
        assert name in out, name
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        r = csv.DictReader(f)
        rows = list(r)
    assert tuple(r.fieldnames) == LOG_COLUMNS and len(rows) == 2


def test_a_fresh_run_says_it_replaces_an_earlier_one(trained, tmp_path, capsys):
    ckpt, out = trained
    assert "holds an earlier run" not in out
    assert cli.main(tiny_args(tmp_path)) == 0
    assert f"note: {ckpt} holds an earlier run" in capsys.readouterr().out


def test_resume_extends_a_run(trained, tmp_path, capsys):
    ckpt, _ = trained
    assert cli.main(["train", "--resume", str(ckpt), "--iters", "6", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "iteration 4 of 6" in out
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == [2, 4, 6]


def test_resume_with_more_iterations_says_the_learning_rate_jumps(trained, capsys):
    # poly decay stretched from 4 to 40 iterations: the rate of the next step is far above the
    # last one's, with no warm-up; said, since a plain VGG trunk can collapse under it
    path, _ = trained
    assert cli.main(["train", "--resume", str(path), "--iters", "40", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"note: the poly schedule now runs to 40 iterations: the last step ran at lr "
                     r"\S+, the next runs at \S+, with no warm-up", out), out


def test_resume_refuses_fewer_iterations_than_it_has_run(trained, capsys):
    path, _ = trained   # at iteration 4
    assert cli.main(["train", "--resume", str(path), "--iters", "3", "--no-progress"]) == 2
    assert "is at iteration 4, past the 3 these settings train for" in capsys.readouterr().err


def test_resume_names_the_settings_it_changes(trained, tmp_path, capsys):
    ckpt, _ = trained
    assert cli.main(["train", "--resume", str(ckpt), "--iters", "6", "--subset-count", "6",
                     "--no-progress"]) == 0
    assert "note: settings changed from the saved run: subset_count None -> 6, iters 4 -> 6" \
        in capsys.readouterr().out
    assert cli.main(["train", "--resume", str(ckpt), "--iters", "8", "--no-progress"]) == 0
    assert "note: settings changed from the saved run: iters 6 -> 8\n" in capsys.readouterr().out


def test_running_out_of_memory_is_reported_without_a_traceback(tmp_path, capsys, monkeypatch):
    from minifcn import train

    def too_big(cfg):   # as `--image-size 100000` did: NumPy's _ArrayMemoryError, a MemoryError
        raise MemoryError("Unable to allocate 149. GiB for an array with shape (2, 100000, 100000)")
    monkeypatch.setattr(train, "build_datasets", too_big)
    assert cli.main(tiny_args(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "minifcn train: out of memory: Unable to allocate 149. GiB" in err and "--batch-size" in err
    assert "Traceback" not in err


def test_resume_refuses_another_net_and_names_the_saved_one(trained, tmp_path, capsys):
    # --model used to reach Trainer.from_checkpoint's ``model`` (a ready module): a traceback
    ckpt, _ = trained
    before = ckpt.read_bytes()
    for option, value, saved in (("--model", "segnet", "'segnet-basic'"), ("--width", "1/8", "0.0625")):
        assert cli.main(["train", "--resume", str(ckpt), option, value, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"holds a run of {option[2:]} {saved}, not" in err and "Traceback" not in err, err
    assert ckpt.read_bytes() == before
    # the saved net's own name and width are no change: the run goes on
    assert cli.main(["train", "--resume", str(ckpt), "--model", "segnet-basic", "--width", "1/16",
                     "--iters", "5", "--no-progress"]) == 0
    assert "iteration 4 of 5" in capsys.readouterr().out


def test_ctrl_c_says_where_the_checkpoint_is_and_resume_finishes(tmp_path, capsys, monkeypatch):
    import signal
    from minifcn.train import Trainer
    step = Trainer.train_step

    def pressed(self, x, y):          # Ctrl-C in step 3 of 4
        if self.iteration == 2:
            signal.raise_signal(signal.SIGINT)
        return step(self, x, y)
    monkeypatch.setattr(Trainer, "train_step", pressed)
    assert cli.main(tiny_args(tmp_path)) == 130          # 128 + SIGINT, as a shell reports it
    ckpt = tmp_path / "run" / "checkpoint.npz"
    assert f"stopped by Ctrl-C at iteration 3; checkpoint written: {ckpt}" in capsys.readouterr().err
    monkeypatch.setattr(Trainer, "train_step", step)
    assert cli.main(["train", "--resume", str(ckpt), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "at iteration 3 of 4" in out and "mean_iou" in out     # resumed there, and finished


def test_a_staged_run_stopped_by_ctrl_c_prints_the_command_that_continues_it(tmp_path, capsys,
                                                                             monkeypatch):
    import shlex
    import signal
    from minifcn.train import Trainer
    step = Trainer.train_step

    def pressed(self, x, y):          # Ctrl-C in the FCN-16s stage's step 2
        if self.cfg.model == "fcn16s" and self.iteration == 1:
            signal.raise_signal(signal.SIGINT)
        return step(self, x, y)
    args = tiny_args(tmp_path, "staged", "--staged", "--iters", "3", "--num-val", "2")
    args[args.index("segnet-basic")] = "fcn16s"
    with monkeypatch.context() as m:
        m.setattr(Trainer, "train_step", pressed)
        assert cli.main(args) == 130
    err = capsys.readouterr().err
    command = err.split("continue with: ")[1].strip()
    assert command == shlex.join(["minifcn", *args, "--resume", str(tmp_path / "staged")])
    assert cli.main(shlex.split(command)[1:]) == 0
    out = capsys.readouterr().out
    assert "resuming the staged run" in out and "scores at iteration 3" in out


def test_ctrl_c_elsewhere_exits_130_without_a_traceback(tmp_path, capsys, monkeypatch):
    from minifcn.data import synthetic

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(synthetic, "make_synthetic_voc", interrupted)
    assert cli.main(["data", "synthetic", "--root", str(tmp_path / "syn")]) == 130
    assert capsys.readouterr().err.strip() == "minifcn data: interrupted"


def test_eval_writes_json(trained, tmp_path, capsys, monkeypatch):
    from minifcn import progress
    monkeypatch.setattr(progress, "FILE_INTERVAL", 0.0)   # off a terminal: a line every batch
    ckpt, _ = trained
    out_json = tmp_path / "eval.json"
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--out", str(out_json)]) == 0
    printed, bar = capsys.readouterr()
    doc = json.loads(out_json.read_text())
    for key in ("pixel_acc", "mean_acc", "mean_iou", "fw_iou", "per_class_iou", "classes",
                "confusion", "checkpoint", "split", "num_images"):
        assert key in doc, key
    assert doc["num_images"] == 4 and len(doc["confusion"]) == 6
    assert sum(map(sum, doc["confusion"])) > 0
    assert f"{doc['mean_iou']:.4f}" in printed
    # the same scores as the run's last validation (same model, same split)
    run_doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert doc["confusion"] == run_doc["confusion"]
    assert "val:" in bar and "2/2 [" in bar, bar     # the 4 images in 2 batches, on stderr
    # ... and its loss, class weights and all, whatever the batches (4 images: 3 + 1)
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        logged = float(list(csv.DictReader(f))[-1]["val_loss"])
    assert doc["loss"] == pytest.approx(logged, rel=1e-5)
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--out", str(out_json), "--no-progress",
                     "--batch-size", "3"]) == 0
    assert "val:" not in capsys.readouterr().err
    assert json.loads(out_json.read_text())["loss"] == pytest.approx(logged, rel=1e-5)
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--out", str(out_json), "--count", "3"]) == 0
    assert json.loads(out_json.read_text())["num_images"] == 3   # of the split's 4


def test_train_says_when_a_batch_is_the_whole_training_set(tmp_path, capsys):
    assert cli.main(tiny_args(tmp_path, "run", "--subset-count", "3", "--batch-size", "16",
                              "--iters", "1", "--val-every", "1")) == 0
    assert "note: --batch-size 16 is more than the 3 training images: each batch holds all 3" in (
        capsys.readouterr().out)


def test_predict_writes_pngs(trained, tmp_path, capsys):
    ckpt, _ = trained
    image = next((tmp_path / "synthetic").rglob("*.jpg"))
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(image),
                     "--out", str(tmp_path / "pred")]) == 0
    assert (tmp_path / "pred" / f"{image.stem}_overlay.png").is_file()
    # the mask is VOC's kind of label file: the class ids themselves, coloured by a palette
    from minifcn.predict import predict_array, read_image
    from minifcn.train import load_model
    from minifcn.viz import colorize
    model, cfg, _, _ = load_model(ckpt)
    want, _ = predict_array(model, read_image(image), cfg.convention)
    mask = Image.open(tmp_path / "pred" / f"{image.stem}_mask.png")
    assert mask.mode == "P" and np.array_equal(np.array(mask), want)
    assert np.array_equal(np.array(mask.convert("RGB")), colorize(want))


def test_predict_shrinks_images_bigger_than_the_training_images(trained, tmp_path, capsys):
    ckpt, _ = trained                                     # trained on 32 x 32 synthetic images
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 120, 3), np.uint8)).save(big)
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(big),
                     "--out", str(tmp_path / "pred")]) == 0
    out = capsys.readouterr().out
    assert f"{big}: (segmented with its longer side at 32 pixels, not 120: --max-size 0 keeps it)" in out
    assert Image.open(tmp_path / "pred" / "big_mask.png").size == (120, 90)   # the image's own
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(big),
                     "--out", str(tmp_path / "pred"), "--max-size", "0"]) == 0
    assert f"{big}:\n" in capsys.readouterr().out


def test_predict_takes_directories_of_images(trained, tmp_path, capsys):
    ckpt, _ = trained
    photos = tmp_path / "photos"
    photos.mkdir()
    images = sorted((tmp_path / "synthetic").rglob("*.jpg"))[:2]
    for im in images:
        (photos / im.name).write_bytes(im.read_bytes())
    (photos / "notes.txt").write_text("not an image: skipped")
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(photos),
                     "--out", str(tmp_path / "pred")]) == 0
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == sorted(
        f"{im.stem}_{kind}.png" for im in images for kind in ("mask", "overlay"))
    for im in images:
        (photos / im.name).unlink()
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(photos)]) == 2
    assert f"image directory {photos} holds no image files" in capsys.readouterr().err


def test_predict_goes_on_past_a_bad_image_and_overwrites_nothing(trained, tmp_path, capsys):
    ckpt, _ = trained
    image = next((tmp_path / "synthetic").rglob("*.jpg"))
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(image.read_bytes())
    Image.open(image).save(photos / "a.png")           # the same stem: its files must not clash
    (photos / "broken.jpg").write_bytes(b"not an image")
    capsys.readouterr()
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(photos),
                     "--out", str(tmp_path / "pred")]) == 2
    out, err = capsys.readouterr()
    assert "broken.jpg cannot be decoded" in err and "1 of 3 images failed" in err, err
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == sorted(
        f"{stem}_{kind}.png" for stem in ("a", "a-2") for kind in ("mask", "overlay"))
    # the listing says which image is which: a.png's files, named a-2, come under its name
    assert out.index(f"{photos / 'a.png'}:") < out.index("a-2_mask.png"), out


def test_the_reference_recipe_s_switches_reach_the_config(tmp_path):
    # FCN's summed loss at lr 1e-10 needs no clipping and no warm-up; VOC training wants scales
    args = tiny_args(tmp_path, "ref", "--grad-clip", "none", "--warmup", "0", "--scale", "0.9",
                     "1.1", "--crop", "28", "--loss-reduction", "sum", "--momentum", "0.99",
                     "--lr", "1e-6")   # a summed loss needs a rate to match, or it diverges
    assert cli.main(args) == 0
    cfg = load_checkpoint(tmp_path / "ref" / "checkpoint.npz")["meta"]["config"]
    assert (cfg["grad_clip"], cfg["warmup"], cfg["scale"]) == (None, 0, [0.9, 1.1])
    assert (cfg["loss_reduction"], cfg["momentum"]) == ("sum", 0.99)


def test_train_validates_on_val_count_images(tmp_path, capsys):
    assert cli.main(tiny_args(tmp_path, "few", "--val-count", "3")) == 0
    assert "8 train / 3 val images" in capsys.readouterr().out   # 3 of the split's 4
    meta = load_checkpoint(tmp_path / "few" / "checkpoint.npz")["meta"]
    assert meta["config"]["val_count"] == 3


def test_width_takes_fractions():
    parser = cli.build_parser()
    assert parser.parse_args(["train", "--width", "1/16"]).width == 0.0625
    assert parser.parse_args(["train", "--width", "0.125"]).width == 0.125


@pytest.mark.parametrize("args, message", [
    (["train", "--width", "1/0"], "argument --width: expected a number or a fraction such as 1/16, got '1/0'"),
    (["train", "--width", "0"], "argument --width: must be positive, got '0'"),
    (["train", "--width", "1e400"], "argument --width: expected a number or a fraction such as 1/16, "
                                    "got '1e400'"),   # had been an OverflowError's traceback
    (["train", "--grad-clip", "0"], "argument --grad-clip: expected a positive number or 'none', got '0'"),
    (["train", "--warmup", "-1"], "argument --warmup: must be >= 0, got -1"),
    (["eval", "--batch-size", "0"], "argument --batch-size: must be >= 1, got 0"),
    (["eval", "--samples", "-1"], "argument --samples: must be >= 0, got -1"),
    (["predict", "--image", "x.png", "--samples", "two"], "argument --samples: expected an integer, got 'two'"),
])
def test_numbers_are_checked_by_the_parser(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(args if args[0] == "train" else [args[0], "--checkpoint", "ck.npz", *args[1:]])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_bayesian_segnet_trains_and_predicts_uncertainty(tmp_path):
    args = tiny_args(tmp_path, "bayes")
    args[args.index("segnet-basic")] = "bayesian-segnet"
    assert cli.main(args + ["--class-weights", "median-freq"]) == 0
    image = next((tmp_path / "synthetic").rglob("*.jpg"))
    assert cli.main(["predict", "--checkpoint", str(tmp_path / "bayes" / "checkpoint.npz"),
                     "--image", str(image), "--out", str(tmp_path / "pred"), "--samples", "3",
                     "--uncertainty-max", "0.1"]) == 0
    assert (tmp_path / "pred" / f"{image.stem}_uncertainty.png").is_file()
    values = np.load(tmp_path / "pred" / f"{image.stem}_uncertainty.npy")
    assert values.shape == np.asarray(Image.open(image)).shape[:2] and values.max() > 0
    # eval scores the Monte-Carlo mean (3 samples here), and says so in the JSON
    out = tmp_path / "mc.json"
    assert cli.main(["eval", "--checkpoint", str(tmp_path / "bayes" / "checkpoint.npz"), "--samples", "3",
                     "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["mc_samples"] == 3 and 0.0 <= doc["mean_iou"] <= 1.0 and doc["loss"] > 0


def test_eval_samples_need_a_bayesian_model(trained, capsys):
    ckpt, _ = trained
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--samples", "2"]) != 0
    assert "needs a Bayesian model" in capsys.readouterr().err


def test_data_synthetic(tmp_path, capsys):
    assert cli.main(["data", "synthetic", "--root", str(tmp_path / "d"), "--num-train", "2",
                     "--num-val", "1", "--image-size", "16"]) == 0
    assert (tmp_path / "d" / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation" / "val.txt").is_file()
    assert "ready" in capsys.readouterr().out


def test_errors_are_reported_with_the_file(tmp_path, capsys):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    assert cli.main(["eval", "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "truncated or corrupt" in err
    assert cli.main(["train", "--dataset", "voc", "--no-progress"]) == 2
    assert "--data-root" in capsys.readouterr().err
    assert cli.main(["train", "--subset-classes", ",", "--no-progress"]) == 2   # had meant no subset
    assert "--subset-classes ',' names no class" in capsys.readouterr().err


def test_an_out_of_the_wrong_kind_is_refused_before_any_work(trained, tmp_path, capsys):
    # a file as train's --out had failed at the first validation, an epoch in ("File exists"),
    # and a directory as eval's --out after the whole evaluation
    path, _ = trained
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    assert cli.main(tiny_args(tmp_path, "a_file.txt")) == 2
    assert f"out {a_file}: {a_file} is a file, expected a directory" in capsys.readouterr().err
    assert cli.main(tiny_args(tmp_path, "a_file.txt/run")) == 2   # a file above it: the same
    assert f"out {a_file}/run: {a_file} is a file" in capsys.readouterr().err
    assert cli.main(["train", "--model", "fcn8s", "--staged", "--out", str(a_file / "x"),
                     "--no-progress"]) == 2   # a staged run's stages go in subdirectories
    assert f"{a_file} is a file, expected a directory" in capsys.readouterr().err
    assert a_file.read_text() == "x"
    assert cli.main(["predict", "--checkpoint", str(path), "--image", str(a_file), "--out", str(a_file)]) == 2
    assert f"--out {a_file}: {a_file} is a file, expected a directory" in capsys.readouterr().err
    assert cli.main(["eval", "--checkpoint", str(path), "--out", str(tmp_path), "--no-progress"]) == 2
    assert f"--out {tmp_path} is a directory: expected the metrics JSON" in capsys.readouterr().err


def test_voc_trains_one_image_a_batch_unless_cropped(tmp_path, capsys):
    from test_data_voc import make_voc   # tests/ is on the path, as for oracle.py
    d, ids = make_voc(tmp_path / "voc", n=4, h=40, w=48)
    for sub, suffix in (("JPEGImages", ".jpg"), ("SegmentationClass", ".png")):   # one other size
        path = d / sub / f"{ids[0]}{suffix}"
        with Image.open(path) as im:
            im.resize((36, 44), Image.NEAREST).save(path)
    args = ["train", "--dataset", "voc", "--data-root", str(tmp_path / "voc"), "--iters", "2",
            "--width", "1/32", "--no-progress", "--out", str(tmp_path / "run")]
    assert cli.main(args) == 0
    assert "2 iterations of batch 1 at" in capsys.readouterr().out
    assert cli.main(args + ["--batch-size", "2"]) == 2      # refused before any work, by name
    assert "batch_size 2 needs crop: voc's images differ in size" in capsys.readouterr().err
    # validation is not cropped: its images of two sizes are scored one at a time (a cropped
    # run had stacked them 2 at a time, and failed at its first validation)
    (d / "ImageSets" / "Segmentation" / "val.txt").write_text(f"{ids[0]}\n{ids[3]}\n")
    assert cli.main(args + ["--batch-size", "2", "--crop", "32"]) == 0
    capsys.readouterr()
    assert cli.main(["eval", "--checkpoint", str(tmp_path / "run" / "checkpoint.npz"), "--no-progress"]) == 0
    assert "2 images" in capsys.readouterr().out


def test_resuming_a_finished_run_prints_its_scores(trained, capsys):
    # a class absent from the val split scores NaN, saved as null: the resumed run, with nothing
    # left to train, printed "error: must be real number, not NoneType"
    from minifcn.train import Trainer
    path, _ = trained
    tr = Trainer.from_checkpoint(path, progress=False)
    tr.last_scores["per_class_iou"][1] = float("nan")   # class 1 absent from truth and prediction
    tr.save()
    assert cli.main(["train", "--resume", str(path), "--no-progress"]) == 0
    assert re.search(r"\n\S+ +nan\n", capsys.readouterr().out)


def test_python_dash_m_help():
    r = subprocess.run([sys.executable, "-m", "minifcn", "train", "--help"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "--resume" in r.stdout and "--staged" in r.stdout


@pytest.mark.parametrize("convention, flag, want", [("caffe", [], "caffe"),
                                                    ("torchvision", [], "torchvision"),
                                                    ("caffe", ["--convention", "caffe"], "caffe")])
def test_train_init_takes_the_weights_convention(tmp_path, convention, flag, want):
    from minifcn.checkpoint import load_checkpoint
    from minifcn.models import VGG16
    from minifcn.weights import save_npz
    weights = tmp_path / "vgg.npz"
    save_npz(weights, VGG16(10, width=1 / 32).state_dict(), {"input_convention": convention})
    args = tiny_args(tmp_path, "init", "--init", str(weights), *flag)
    args[args.index("segnet-basic")], args[args.index("0.0625")] = "fcn32s", "0.03125"
    assert cli.main(args) == 0
    cfg = load_checkpoint(tmp_path / "init" / "checkpoint.npz")["meta"]["config"]
    assert cfg["init"] == str(weights) and cfg["convention"] == want


def test_train_init_with_the_wrong_convention_says_which(tmp_path, capsys):
    from minifcn.models import VGG16
    from minifcn.weights import save_npz
    weights = tmp_path / "vgg.npz"
    save_npz(weights, VGG16(10, width=1 / 32).state_dict(), {"input_convention": "caffe"})
    args = tiny_args(tmp_path, "init", "--init", str(weights), "--convention", "torchvision")
    args[args.index("segnet-basic")], args[args.index("0.0625")] = "fcn32s", "0.03125"
    assert cli.main(args) == 2
    assert "expects the 'caffe' input convention" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["fcn8s", "bayesian-segnet"])
def test_every_command_runs_on_the_gpu(tmp_path, gpu, model, capsys):
    """train, resume, eval and predict with ``--device cuda``: on CuPy, or on its stand-in
    without a GPU (tests/fakecupy.py), which refuses host arrays in device operations and
    implicit copies to the host as CuPy does. FCN-8s: its crops, phases and dropout; Bayesian
    SegNet: pooling indices, batch norm and Monte-Carlo samples."""
    args = tiny_args(tmp_path, "gpu", "--device", "cuda", "--iters", "2")
    args[args.index("segnet-basic")] = model
    assert cli.main(args) == 0
    ckpt = tmp_path / "gpu" / "checkpoint.npz"
    assert cli.main(["train", "--resume", str(ckpt), "--iters", "4", "--no-progress"]) == 0
    assert capsys.readouterr().out.count("device cuda") == 2   # the resumed run stays on the GPU
    samples = ["--samples", "2"] if model == "bayesian-segnet" else []
    out = tmp_path / "gpu.json"
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--device", "cuda", "--out", str(out), *samples]) == 0
    assert 0.0 <= json.loads(out.read_text())["mean_iou"] <= 1.0
    image = next((tmp_path / "synthetic").rglob("*.jpg"))
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(image), "--device", "cuda",
                     "--out", str(tmp_path / "pred"), *samples]) == 0
    assert (tmp_path / "pred" / f"{image.stem}_mask.png").is_file()
    assert (tmp_path / "pred" / f"{image.stem}_uncertainty.png").is_file() == bool(samples)


def test_predict_samples_without_dropout_is_refused_once(trained, tmp_path, capsys):
    ckpt, _ = trained                      # SegNet-Basic: nothing to sample
    images = sorted((tmp_path / "synthetic").rglob("*.jpg"))[:3]
    code = cli.main(["predict", "--checkpoint", str(ckpt), "--image", *map(str, images),
                     "--out", str(tmp_path / "pred"), "--samples", "5"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("needs a Bayesian model") == 1, err   # had been once per image
    assert not (tmp_path / "pred").exists() or not any((tmp_path / "pred").iterdir())
    assert cli.main(["predict", "--checkpoint", str(ckpt), "--image", str(images[0]),
                     "--uncertainty-max", "0"]) == 2
    assert "--uncertainty-max 0: expected a finite number > 0" in capsys.readouterr().err


def test_train_notes_what_it_changed_or_wastes(tmp_path, capsys):
    # more images asked for than there are, and a crop larger than the images: said, not silent
    args = tiny_args(tmp_path, "notes", "--subset-count", "50", "--val-count", "40", "--crop", "64",
                     "--iters", "2")
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"note: --subset-count 50 is more than the \d+ images there are", out), out
    assert re.search(r"note: --val-count 40 is more than the \d+ images there are", out), out
    assert "note: --crop 64 is larger than the images (at most 32 pixels a side)" in out


@pytest.mark.parametrize("flag, value, message", [
    ("--iters", "0", "argument --iters: must be >= 1, got 0"),
    ("--image-size", "8", "argument --image-size: must be >= 16, got 8"),
    ("--num-val", "0", "argument --num-val: must be >= 1, got 0"),
    ("--crop", "0", "argument --crop: must be >= 1, got 0"),
    ("--init", "nothere.pth", "--init nothere.pth: no such file"),   # had been open()'s Errno 2
])
def test_train_errors_name_the_flag(flag, value, message, capsys):
    try:
        code = cli.main(["train", flag, value, "--no-progress"])
    except SystemExit as e:   # the parser's own: usage and exit 2
        code = e.code
    assert code == 2 and message in capsys.readouterr().err


def test_import_of_a_training_checkpoint_says_what_it_is(trained, capsys):
    ckpt, _ = trained
    assert cli.main(["import", str(ckpt), "--model", "fcn8s", "--out", str(ckpt.parent / "x.npz")]) == 2
    assert "is already a minifcn training checkpoint: give it to `minifcn eval`" in capsys.readouterr().err


def test_resume_and_eval_of_a_run_directory_stay_in_it(trained, tmp_path):
    # --resume runs/x had written the resumed run's files into runs/ (the directory's parent)
    ckpt, _ = trained
    run = ckpt.parent
    assert cli.main(["train", "--resume", str(run), "--iters", "6", "--no-progress"]) == 0
    assert load_checkpoint(ckpt)["meta"]["iteration"] == 6
    assert not (run.parent / "checkpoint.npz").exists() and not (run.parent / "log.csv").exists()
    assert cli.main(["eval", "--checkpoint", str(run), "--no-progress"]) == 0
    assert (run / "eval_val.json").is_file() and not (run.parent / "eval_val.json").exists()
