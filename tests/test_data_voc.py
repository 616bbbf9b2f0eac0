"""VOC / SBD readers on tiny VOC-layout trees written here with PIL; bad-input errors; subsets."""
import warnings

import numpy as np
import pytest
from PIL import Image

from minifcn.data.voc import (SHIPPED_SPLITS, VOC_CLASSES, BadSampleError, SBDSegmentation,
                              VOCSegmentation, iterate_batches, read_split_file, subset, voc_palette)
from minifcn.data.transforms import build_transform


def _write_label(path, lab):
    p = Image.frombytes("P", (lab.shape[1], lab.shape[0]), lab.astype(np.uint8).tobytes())
    p.putpalette(voc_palette().ravel().tolist())
    p.save(path)


def make_voc(root, n=4, h=10, w=12, classes_per_image=None):
    """root/VOCdevkit/VOC2012 with n images; image k holds class classes_per_image[k]."""
    d = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ids = []
    for k in range(n):
        sid = f"2007_{k:06d}"
        ids.append(sid)
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(img).save(d / "JPEGImages" / f"{sid}.jpg", quality=95)
        lab = np.zeros((h, w), np.uint8)
        c = (classes_per_image or [8, 12, 15, 8])[k % 4]
        lab[2:6, 3:8] = c
        lab[1, 3:8] = 255
        _write_label(d / "SegmentationClass" / f"{sid}.png", lab)
    seg = d / "ImageSets" / "Segmentation"
    (seg / "train.txt").write_text("\n".join(ids[: n - 1]) + "\n")
    (seg / "val.txt").write_text(ids[-1] + "\n")
    (seg / "trainval.txt").write_text("\n".join(ids) + "\n")
    return d, ids


def test_reads_voc_layout(tmp_path):
    d, ids = make_voc(tmp_path)
    ds = VOCSegmentation(tmp_path, "train")
    assert len(ds) == 3 and ds.classes == VOC_CLASSES
    img, lab = ds[1]
    assert img.shape == (10, 12, 3) and img.dtype == np.uint8
    assert lab.shape == (10, 12) and lab.dtype == np.uint8
    assert set(np.unique(lab).tolist()) == {0, 12, 255}  # palette indices are the class ids
    assert len(VOCSegmentation(tmp_path, "trainval")) == 4
    # the devkit directory itself is accepted as root, and a split file by path
    assert len(VOCSegmentation(d, "val")) == 1
    (tmp_path / "seg11valid.txt").write_text(ids[0] + "\n" + ids[2] + "\n")
    ds = VOCSegmentation(tmp_path, str(tmp_path / "seg11valid.txt"))
    assert ds.ids == [ids[0], ids[2]]
    with pytest.raises(IndexError, match="index 2 out of range for a dataset of 2 samples"):
        ds[2]


def test_palette_is_the_voc_colour_map():
    pal = voc_palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    assert pal[8].tolist() == [64, 0, 0]  # cat
    assert pal[12].tolist() == [64, 0, 128]  # dog
    assert pal[20].tolist() == [0, 64, 128]  # tvmonitor
    assert len({tuple(c) for c in pal.tolist()}) == 256


def test_seg11valid_ships_with_the_package(tmp_path):
    ids = read_split_file(SHIPPED_SPLITS["seg11valid"])
    assert len(ids) == len(set(ids)) == 736                   # the FCN paper's evaluation set
    assert ids == sorted(ids) and {i[:4] for i in ids} == {"2007", "2008", "2009", "2010", "2011"}
    assert ids[0] == "2007_000033" and ids[-1] == "2011_003271"
    make_voc(tmp_path)
    # not in ImageSets: the shipped list is read, and its first image is missing here
    with pytest.raises(FileNotFoundError, match="2007_000033"):
        VOCSegmentation(tmp_path, "seg11valid")
    # a seg11valid.txt in ImageSets/Segmentation takes precedence
    own = tmp_path / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation" / "seg11valid.txt"
    own.write_text("2007_000001\n")
    assert VOCSegmentation(tmp_path, "seg11valid").ids == ["2007_000001"]


def test_missing_split_file(tmp_path):
    make_voc(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        VOCSegmentation(tmp_path, str(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match="unknown split 'tain'"):
        VOCSegmentation(tmp_path, "tain")
    with pytest.raises(FileNotFoundError, match="no VOC2012 dataset"):
        VOCSegmentation(tmp_path / "elsewhere", "train")
    with pytest.raises(FileNotFoundError, match=r"split file .*x\.txt not found"):
        read_split_file(tmp_path / "x.txt")


def test_missing_image_named(tmp_path):
    d, ids = make_voc(tmp_path)
    (d / "JPEGImages" / f"{ids[0]}.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=f"{ids[0]}.jpg"):
        VOCSegmentation(tmp_path, "train")
    with pytest.warns(UserWarning, match=f"{ids[0]}.jpg"):
        ds = VOCSegmentation(tmp_path, "train", skip_bad=True)
    assert ds.ids == ids[1:3]


def _corrupt(d, ids, kind):
    """Break sample ids[0] in one way; return the file that should be named."""
    img = d / "JPEGImages" / f"{ids[0]}.jpg"
    lab = d / "SegmentationClass" / f"{ids[0]}.png"
    if kind == "truncated_jpeg":
        data = img.read_bytes()
        img.write_bytes(data[: len(data) // 2])
        return img, "truncated"
    if kind == "not_an_image":
        img.write_bytes(b"this is not a JPEG at all")
        return img, "not an image"
    if kind == "rgb_label":
        Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(lab)
        return lab, "mode 'RGB'"
    if kind == "size_mismatch":
        _write_label(lab, np.zeros((9, 12), np.uint8))
        return lab, "expected equal sizes"
    if kind == "bad_values":
        bad = np.zeros((10, 12), np.uint8)
        bad[0, 0] = 21
        _write_label(lab, bad)
        return lab, r"values \[21\] outside"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["truncated_jpeg", "not_an_image", "rgb_label",
                                  "size_mismatch", "bad_values"])
def test_bad_samples_raise_naming_the_file_or_are_skipped(tmp_path, kind):
    d, ids = make_voc(tmp_path)
    path, msg = _corrupt(d, ids, kind)
    ds = VOCSegmentation(tmp_path, "train")
    with pytest.raises(BadSampleError, match=msg) as e:
        ds[0]
    assert str(path) in str(e.value)
    ds[1]  # the others still load
    assert [sid for sid, _ in ds.validate()] == [ids[0]]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = VOCSegmentation(tmp_path, "train", skip_bad=True)
    assert ds.ids == ids[1:3]
    assert len(w) == 1 and str(path) in str(w[0].message)


def test_greyscale_label_png_is_accepted(tmp_path):
    # SegmentationClassAug-style labels are 'L' PNGs with the same ids
    d, ids = make_voc(tmp_path)
    lab = np.zeros((10, 12), np.uint8)
    lab[4, 4] = 3
    Image.fromarray(lab).save(d / "SegmentationClass" / f"{ids[0]}.png")
    assert VOCSegmentation(tmp_path, "train")[0][1][4, 4] == 3


def test_subset_by_classes_remaps_labels(tmp_path):
    d, ids = make_voc(tmp_path, n=8, classes_per_image=[8, 12, 15, 3])
    ds = VOCSegmentation(tmp_path, "trainval")
    pets = subset(ds, classes=["cat", "dog"])
    assert pets.classes == ("background", "cat", "dog")
    # images 0, 1, 4, 5 hold cat (8) or dog (12)
    assert pets.ids == [ids[0], ids[1], ids[4], ids[5]]
    lab = pets[1][1]
    assert set(np.unique(lab).tolist()) == {0, 2, 255}  # dog -> 2, 255 kept
    assert pets[0][1].max() == 255 and 1 in pets[0][1]
    # ids work as well as names; count picks a seeded random sample in dataset order
    two = subset(ds, count=2, classes=[12, 8], seed=3)
    assert len(two) == 2 and two.classes == ("background", "dog", "cat")
    assert two.ids == subset(ds, count=2, classes=[12, 8], seed=3).ids
    # other classes -> background by default, or ignore
    d2 = VOCSegmentation(tmp_path, "trainval")
    person_in_cat = subset(d2, classes=["person"], others="ignore")
    assert person_in_cat.ids == [ids[2], ids[6]]
    only = subset(ds, count=3)
    assert len(only) == 3 and only.classes == VOC_CLASSES
    with pytest.raises(ValueError, match="unknown class 'unicorn'"):
        subset(ds, classes=["unicorn"])
    with pytest.raises(ValueError, match="background"):
        subset(ds, classes=[0])


def test_subset_other_classes_background_vs_ignore(tmp_path):
    d, ids = make_voc(tmp_path, n=4)
    lab = np.zeros((10, 12), np.uint8)
    lab[0:3, 0:3] = 8
    lab[5:8, 5:8] = 15
    _write_label(d / "SegmentationClass" / f"{ids[0]}.png", lab)
    ds = VOCSegmentation(tmp_path, "train")
    bg = subset(ds, classes=["cat"])[0][1]
    ig = subset(ds, classes=["cat"], others="ignore")[0][1]
    assert bg[6, 6] == 0 and ig[6, 6] == 255 and bg[1, 1] == 1 == ig[1, 1]
    # what had passed or failed obscurely: a NumPy integer as one class ("not iterable"),
    # 2.5 images (NumPy's TypeError), a bad `others` without classes (not checked)
    assert subset(ds, classes=np.int64(8)).classes == ("background", "cat")
    with pytest.raises(TypeError, match="count must be an integer, got 2.5"):
        subset(ds, count=2.5)
    with pytest.raises(ValueError, match="others must be 'background' or 'ignore', got 'x'"):
        subset(ds, count=1, others="x")
    with pytest.raises(TypeError, match="a class is a name or an integer id, got 8.5"):
        subset(ds, classes=[8.5])


def test_iterate_batches_stacks_and_is_deterministic(tmp_path):
    make_voc(tmp_path, n=6)
    ds = VOCSegmentation(tmp_path, "trainval", transform=build_transform("caffe", crop=8, flip=True))
    a = list(iterate_batches(ds, 4, shuffle=True, rng=np.random.default_rng(5)))
    b = list(iterate_batches(ds, 4, shuffle=True, rng=np.random.default_rng(5)))
    assert [x.shape for x, _ in a] == [(4, 3, 8, 8), (2, 3, 8, 8)]
    assert a[0][0].dtype == np.float32 and a[0][1].dtype == np.int64
    for (x1, y1), (x2, y2) in zip(a, b):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    c = list(iterate_batches(ds, 4, shuffle=True, rng=np.random.default_rng(6)))
    assert not np.array_equal(a[0][0], c[0][0])
    assert len(list(iterate_batches(ds, 4, drop_last=True))) == 1
    with pytest.raises(ValueError, match="explicit rng"):
        next(iterate_batches(ds, 2, shuffle=True))


def test_iterate_batches_refuses_mixed_sizes(tmp_path):
    d, ids = make_voc(tmp_path, n=4)
    Image.fromarray(np.zeros((7, 7, 3), np.uint8)).save(d / "JPEGImages" / f"{ids[0]}.jpg")
    _write_label(d / "SegmentationClass" / f"{ids[0]}.png", np.zeros((7, 7), np.uint8))
    ds = VOCSegmentation(tmp_path, "train")
    with pytest.raises(ValueError, match="different sizes"):
        list(iterate_batches(ds, 2))
    assert len(list(iterate_batches(ds, 1))) == 3  # batch 1, as the FCN reference, always works


@pytest.mark.parametrize("h, w", [(3, 5), (3, 3), (5, 3), (4, 6)])
def test_iterate_batches_tells_raw_images_by_their_labels(h, w):
    # the image's shape alone had decided: a raw image 3 rows high passed as CHW, unmoved
    rng = np.random.default_rng(h * w)
    raw = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    lab = rng.integers(0, 4, (h, w)).astype(np.uint8)
    chw = raw.transpose(2, 0, 1).astype(np.float32)
    for image in (raw, chw):   # raw HWC uint8, or CHW float32 (what ToCHW gives)
        x, y = next(iterate_batches([(image, lab)], 1))
        assert x.shape == (1, 3, h, w) and np.array_equal(x[0], chw) and np.array_equal(y[0], lab)
    with pytest.raises(ValueError, match=r"sample 0: an image of shape \(3, 4, 4\) for a label of "
                                         r"shape \(3, 5\): expected \(3, H, W\) or \(H, W, 3\)"):
        next(iterate_batches([(np.zeros((3, 4, 4)), np.zeros((3, 5)))], 1))


def test_sbd_reader(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    d = tmp_path / "benchmark_RELEASE" / "dataset"
    (d / "img").mkdir(parents=True)
    (d / "cls").mkdir()
    lab = np.zeros((6, 5), np.uint8)
    lab[2:4, 1:3] = 7
    Image.fromarray(np.full((6, 5, 3), 80, np.uint8)).save(d / "img" / "2008_000002.jpg")
    scipy_io.savemat(d / "cls" / "2008_000002.mat",
                     {"GTcls": {"Segmentation": lab, "Boundaries": np.zeros(1), "CategoriesPresent": 7}})
    (d / "train.txt").write_text("2008_000002\n")
    ds = SBDSegmentation(tmp_path, "train")
    img, out = ds[0]
    assert img.shape == (6, 5, 3)
    np.testing.assert_array_equal(out, lab)
    scipy_io.savemat(d / "cls" / "2008_000002.mat", {"other": np.zeros(2)})
    with pytest.raises(BadSampleError, match="GTcls"):
        SBDSegmentation(tmp_path, "train")[0]
    with pytest.raises(FileNotFoundError, match="val.txt"):
        SBDSegmentation(tmp_path, "val")
    # a float label that is not a whole number had been cut to a class (1.5 -> 1, NaN -> 0)
    for bad in (1.5, np.nan):
        scipy_io.savemat(d / "cls" / "2008_000002.mat", {"GTcls": {"Segmentation": np.where(lab > 0, bad, 0.0)}})
        with pytest.raises(BadSampleError, match=f"holds {bad}, not a class id"):
            SBDSegmentation(tmp_path, "train")[0]
    scipy_io.savemat(d / "cls" / "2008_000002.mat", {"GTcls": {"Segmentation": lab.astype(np.float64)}})
    np.testing.assert_array_equal(SBDSegmentation(tmp_path, "train")[0][1], lab)   # whole floats: ids
    (d / "train.txt").write_bytes(b"\xff\xfe2008_000002\n")
    with pytest.raises(ValueError, match=r"split file .*train\.txt is not text"):   # had not named it
        SBDSegmentation(tmp_path, "train")
