"""Every lesson runs top to bottom, in fast mode, and writes the figures it promises.

Each lesson is a ``py:percent`` script whose claims are ``assert`` statements, so running it is
its test. It runs as a subprocess (as a reader runs it) with ``MINIFCN_FAST=1``, the Agg
backend, and ``MINIFCN_FIGURES`` pointing at a temporary directory.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

LESSONS = Path(__file__).resolve().parent.parent / "lessons"

# the figures each lesson must write (names inside MINIFCN_FIGURES)
EXPECTED_FIGURES = {
    "01_receptive_fields.py": ["01_rf_growth.png", "01_empirical_vs_effective_rf.png"],
    "02_fc_as_conv.py": ["02_sliding_window_map.png"],
    "03_conv_as_matrix.py": ["03_toeplitz_band_structure.png"],
    "04_transposed_conv.py": ["04_transpose_matrix.png", "04_checkerboard.png"],
    "05_pooling_indices.py": ["05_unpool_vs_transposed_conv.png"],
    "06_bilinear_upsampling.py": ["06_bilinear_kernels.png", "06_bilinear_upsampling.png"],
    "07_fcn_skips_and_crops.py": ["07_coordinate_maps.png", "07_fcn32_vs_fcn8.png"],
    "08_bayesian_segnet.py": ["08_mc_dropout_uncertainty.png", "08_uncertainty_vs_distance.png",
                              "08_save_uncertainty.png"],
    "09_metrics.py": ["09_worked_example.png", "09_small_class_errors.png"],
    "10_train_small_fcn.py": ["10_curves.png", "10_predictions.png", "10_loss_map.png"],
    "11_shift_and_stitch.py": ["11_interlacing.png", "11_dense_vs_upsampled.png"],
}


def lesson_files():
    return sorted(p.name for p in LESSONS.glob("[0-9][0-9]_*.py"))


def test_every_lesson_has_expected_figures_listed():
    assert lesson_files(), f"no lessons found in {LESSONS}"
    missing = set(lesson_files()) - set(EXPECTED_FIGURES)
    assert not missing, f"lessons without an EXPECTED_FIGURES entry: {sorted(missing)}"


@pytest.mark.parametrize("name", lesson_files())
def test_lesson_is_a_linked_percent_script(name):
    text = (LESSONS / name).read_text()
    assert text.count("# %% [markdown]") >= 2, "a lesson alternates prose cells and code cells"
    assert re.search(r"^# %%$", text, re.M), "a lesson needs code cells"
    assert re.search(r"\(\.\./minifcn/[\w/]+\.py\)", text), "a lesson links the minifcn files it explains"
    assert text.count("assert ") >= 3, "a lesson's claims are asserts"


def _run_lesson(name, tmp_path, fast):
    """Run lesson ``name`` as a reader does (its own process, the lessons' directory), in fast or
    full mode; assert it passed and wrote its figures."""
    figures = tmp_path / "figures"
    # a reader's `pip install -e .` brings numpy, pillow and matplotlib alone: the lesson runs
    # with SciPy and PyTorch hidden (lesson 3 had needed SciPy for a sparse matrix)
    bare = tmp_path / "runtime-deps-only"
    bare.mkdir(exist_ok=True)
    (bare / "sitecustomize.py").write_text("import sys\nsys.modules.update(scipy=None, torch=None)\n")
    # one BLAS thread: on a shared, loaded CI machine multi-threaded BLAS on these small matrices
    # spends its time contending (SegNet training measured 2.5x slower); an explicit setting wins
    threads = {k: os.environ.get(k, "1") for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env = dict(os.environ, **threads, MINIFCN_FAST="1" if fast else "0", MPLBACKEND="Agg",
               MINIFCN_FIGURES=str(figures), MINIFCN_CACHE=str(tmp_path / "cache"), MINIFCN_DEVICE="cpu",
               PYTHONPATH=os.pathsep.join([str(bare), str(LESSONS.parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, name], cwd=LESSONS, env=env, capture_output=True,
                          text=True, timeout=600 if fast else 1800)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    for fig in EXPECTED_FIGURES[name]:
        path = figures / fig
        assert path.is_file(), f"{name} did not write {fig} (wrote {sorted(os.listdir(figures)) if figures.exists() else []})"
        assert path.stat().st_size > 5000, f"{fig} is suspiciously small ({path.stat().st_size} bytes)"


@pytest.mark.parametrize("name", lesson_files())
def test_lesson_runs_in_fast_mode(name, tmp_path):
    _run_lesson(name, tmp_path, fast=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", lesson_files())
def test_lesson_runs_in_full_mode(name, tmp_path):
    # what a reader runs: bigger nets and more images, where other code paths run (lesson 1's
    # field at width 1/16 goes through Winograd's layers, which fast mode never reaches); about
    # 4 minutes for all ten on 2 cores
    _run_lesson(name, tmp_path, fast=False)
