"""The synthetic dataset: VOC layout read by the VOC reader, determinism, content, speed."""
import time

import numpy as np
import pytest

from minifcn.data.synthetic import (SYNTHETIC_CLASSES, SyntheticSegmentation, make_synthetic_voc,
                                    render_sample)
from minifcn.data.voc import VOCSegmentation


def test_written_in_voc_layout_and_read_by_voc_reader(tmp_path):
    root = make_synthetic_voc(tmp_path, num_train=5, num_val=3, size=48)
    d = tmp_path / "VOCdevkit" / "VOC2012"
    assert len(list((d / "JPEGImages").glob("*.jpg"))) == 8
    from PIL import Image
    with Image.open(next((d / "SegmentationClass").glob("*.png"))) as im:
        assert im.mode == "P"
    tr = VOCSegmentation(root, "train", classes=SYNTHETIC_CLASSES)
    va = VOCSegmentation(root, "val", classes=SYNTHETIC_CLASSES)
    assert len(tr) == 5 and len(va) == 3 and not set(tr.ids) & set(va.ids)
    assert tr.validate() == []
    img, lab = tr[0]
    assert img.shape == (48, 48, 3) and lab.shape == (48, 48)


def test_deterministic_by_seed(tmp_path):
    a = SyntheticSegmentation(tmp_path / "a", "train", num_train=3, num_val=1, size=32, seed=1)
    b = SyntheticSegmentation(tmp_path / "b", "train", num_train=3, num_val=1, size=32, seed=1)
    c = SyntheticSegmentation(tmp_path / "c", "train", num_train=3, num_val=1, size=32, seed=2)
    for i in range(3):
        np.testing.assert_array_equal(a[i][0], b[i][0])
        np.testing.assert_array_equal(a[i][1], b[i][1])
    assert not np.array_equal(a[0][1], c[0][1])
    # generated once: a second call reuses the files, other parameters are refused
    SyntheticSegmentation(tmp_path / "a", "val", num_train=3, num_val=1, size=32, seed=1)
    with pytest.raises(ValueError, match="made with other parameters"):
        make_synthetic_voc(tmp_path / "a", num_train=4, num_val=1, size=32, seed=1)
    assert not [p for p in (tmp_path / "a" / "VOCdevkit").iterdir() if p.name.startswith(".")]


def test_content_several_classes_thin_small_and_boundary_bands():
    rng = np.random.default_rng(0)
    seen = np.zeros(256, bool)
    per_image = []
    for _ in range(60):
        img, lab = render_sample(rng, 64)
        present = set(np.unique(lab).tolist()) - {0, 255}
        per_image.append(len(present))
        seen[list(np.unique(lab))] = True
        assert 255 in lab  # every image has objects, so a band
    assert seen[:6].all() and seen[255] and not seen[6:255].any()
    assert np.mean(per_image) >= 2.0  # several classes per image on average
    # dots are small (at most 3 of radius <= 5.5 px: <= 3 * 100 px); bars are thin (<= 6 px wide:
    # no bar pixel survives an erosion by a 7x7 square, while disc pixels do)
    dots, bar_core, disc_core = [], 0, 0
    for s in range(40):
        _, lab = render_sample(np.random.default_rng([9, s]), 64)
        if (lab == 5).any():
            dots.append((lab == 5).sum())
        for c in (4, 1):
            m = lab == c
            core = m.copy()
            for dy in range(-3, 4):
                for dx in range(-3, 4):
                    core &= np.roll(m, (dy, dx), axis=(0, 1))
            if c == 4:
                bar_core += core.sum()
            else:
                disc_core += core.sum()
    assert 0 < max(dots) <= 300
    assert bar_core == 0 < disc_core


def test_each_class_has_its_own_colours_with_jitter():
    # no colour family is shared between classes (the difficulty is resolution, not colour), yet
    # objects of one class vary in colour: the mean colours of two discs can differ widely
    from minifcn.data.synthetic import _CLASS_COLOURS
    families = [f for fams in _CLASS_COLOURS.values() for f in fams]
    assert len(families) == len(set(families))
    rng = np.random.default_rng(3)
    discs = []
    for _ in range(40):
        img, lab = render_sample(rng, 64)
        if (lab == 1).sum() > 30:
            discs.append(img[lab == 1].mean(0))
    d = np.array(discs)[:, None] - np.array(discs)[None]
    assert np.max(np.linalg.norm(d, axis=-1)) > 60


def test_default_generation_is_fast(tmp_path):
    t = time.perf_counter()
    make_synthetic_voc(tmp_path, num_train=60, num_val=10)
    dt = time.perf_counter() - t
    assert dt < 5.0  # the full default (480 images) is ~8x this


def test_a_failed_make_leaves_no_empty_dataset_directory(tmp_path, monkeypatch):
    # as `--image-size 100000` did (out of memory in the first sample): nothing left behind,
    # but a directory that held something else before keeps it
    import minifcn.data.synthetic as S

    def too_big(rng, size):
        raise MemoryError("Unable to allocate 149. GiB")
    monkeypatch.setattr(S, "render_sample", too_big)
    with pytest.raises(MemoryError):
        make_synthetic_voc(tmp_path / "new", num_train=1, num_val=1)
    assert not (tmp_path / "new").exists()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(MemoryError):
        make_synthetic_voc(tmp_path / "used", num_train=1, num_val=1)
    assert sorted(p.name for p in (tmp_path / "used").iterdir()) == ["notes.txt"]
    (tmp_path / "empty").mkdir()   # made by the user for the dataset: it stays
    with pytest.raises(MemoryError):
        make_synthetic_voc(tmp_path / "empty", num_train=1, num_val=1)
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="size"):
        render_sample(np.random.default_rng(0), 8)
    with pytest.raises(ValueError, match="num_train"):
        make_synthetic_voc(tmp_path, num_train=0, num_val=1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        make_synthetic_voc(tmp_path, num_train=1, num_val=1, seed=-1)
    for bad in (dict(size=31.9), dict(num_train=2.7)):   # had been cut to 31 and 2
        with pytest.raises(TypeError, match=f"{next(iter(bad))} must be an integer, got"):
            make_synthetic_voc(tmp_path, **{"num_train": 1, "num_val": 1, "size": 32, **bad})
    assert not (tmp_path / "VOCdevkit").exists()   # refused before anything was written
    make_synthetic_voc(tmp_path, num_train=1, num_val=1, size=32)
    with pytest.raises(ValueError, match="made with other parameters"):   # had reused the quality-90 files
        make_synthetic_voc(tmp_path, num_train=1, num_val=1, size=32, jpeg_quality=50)
    with pytest.raises(ValueError, match=r"jpeg_quality must be an integer in \[1, 100\], got 0"):
        make_synthetic_voc(tmp_path / "q", num_train=1, num_val=1, size=32, jpeg_quality=0)


def test_a_root_holding_another_dataset_is_refused_without_advice_to_delete_a_real_one(tmp_path):
    from minifcn.data.synthetic import make_synthetic_voc
    make_synthetic_voc(tmp_path / "a", num_train=2, num_val=1, size=32)
    with pytest.raises(ValueError, match=r"synthetic dataset made with other parameters .*delete that one"):
        make_synthetic_voc(tmp_path / "a", num_train=3, num_val=1, size=32)
    voc = tmp_path / "voc" / "VOCdevkit" / "VOC2012"   # a real VOC tree: no synthetic.json
    (voc / "JPEGImages").mkdir(parents=True)
    with pytest.raises(ValueError, match="did not generate") as e:
        make_synthetic_voc(tmp_path / "voc", num_train=2, num_val=1, size=32)
    assert "delete" not in str(e.value) and "--dataset voc" in str(e.value)
