"""A built-in segmentation dataset: no download, deterministic by seed, in the VOC layout.

``make_synthetic_voc(root)`` writes ``root/VOCdevkit/VOC2012/{JPEGImages/*.jpg,
SegmentationClass/*.png, ImageSets/Segmentation/{train,val,trainval}.txt}`` exactly as PASCAL VOC
does (JPEG images, palette PNG labels, 255 boundary bands), so ``VOCSegmentation`` reads it and
every code path used on VOC is exercised on it. ``SyntheticSegmentation`` generates it on first
use (in ``~/.cache/minifcn/synthetic/<parameters>`` unless a root is given) and returns the reader.

Design (why FCN-8s's skips matter):

- 6 classes: ``background, disc, square, triangle, bar, dot``.
- Background: a smooth random colour gradient, low-frequency blotches and pixel noise, all
  desaturated, so a pixel's colour alone says "background" only most of the time.
- Each class draws from two colour families of its own: disc {red, orange}, square {magenta,
  purple}, triangle {green, olive}, bar {cyan, blue}, dot {yellow, white}, jittered per object
  and shaded. (Version 1 shared families between classes, so that only shape told an orange
  disc from an orange square; a from-scratch FCN-8s then could not learn it on 2 CPU cores in
  10 minutes, which is the budget of the main job.)
- Big shapes (disc/square/triangle, radius ~size/9..size/4.5, rotated) overlap each other; the
  later one is on top. Thin bars (5-6 px wide at 64 px) and small dots (radius 4-5.5 px) are the
  kind of detail that FCN-32s's 32-pixel output stride smears away and the pool4/pool3 skips of
  FCN-16s/8s recover.
- Each object has its own shading and noise; JPEG compression (quality 90) adds VOC-like
  artefacts. Labels carry a 1-pixel 255 band just outside each object's visible outline (as VOC's
  boundary band; outside, so a 2-pixel bar keeps its pixels).

The functions here default to 64x64 images, 400 train + 80 val (about 2.5 s to generate on one
core); ``minifcn train`` and ``minifcn data synthetic`` make 160x160 ones.

>>> import tempfile
>>> ds = SyntheticSegmentation(tempfile.mkdtemp(), "train", num_train=3, num_val=2, size=48)
>>> len(ds), ds.classes[:3], ds[0][0].shape
(3, ('background', 'disc', 'square'), (48, 48, 3))
"""
from __future__ import annotations

import json
import operator
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from .._files import temporary_dir
from .voc import VOCSegmentation, voc_palette

__all__ = ["SYNTHETIC_CLASSES", "render_sample", "make_synthetic_voc",
           "SyntheticSegmentation", "default_root"]

SYNTHETIC_CLASSES = ("background", "disc", "square", "triangle", "bar", "dot")
_FORMAT_VERSION = 2  # bump when the rendering changes, so caches are regenerated

# hue families (RGB centres), two per class, no family shared between classes
_COLOURS = {
    "red": (200, 40, 40), "orange": (230, 130, 30), "magenta": (190, 50, 170),
    "purple": (120, 60, 200), "green": (50, 170, 60), "olive": (130, 170, 40),
    "cyan": (40, 180, 190), "blue": (40, 70, 200), "yellow": (230, 220, 50),
    "white": (235, 235, 235),
}
_CLASS_COLOURS = {1: ("red", "orange"), 2: ("magenta", "purple"), 3: ("green", "olive"),
                  4: ("cyan", "blue"), 5: ("yellow", "white")}


def _shape_mask(cls: int, yy, xx, size: int, rng) -> np.ndarray:
    """Boolean ``(size, size)`` mask of one random object of class ``cls``."""
    s = size / 64.0  # every length below is in pixels at 64x64
    cy, cx = rng.uniform(0.1, 0.9, size=2) * size
    theta = rng.uniform(0, 2 * np.pi)
    c, sn = np.cos(theta), np.sin(theta)
    u = (xx - cx) * c + (yy - cy) * sn  # object-aligned coordinates
    v = -(xx - cx) * sn + (yy - cy) * c
    if cls == 1:  # disc
        r = rng.uniform(7, 14) * s
        return u * u + v * v <= r * r
    if cls == 2:  # square: half-side ~ r * 0.85 so its area is close to a disc's
        r = rng.uniform(7, 14) * s * 0.85
        return (np.abs(u) <= r) & (np.abs(v) <= r)
    if cls == 3:  # equilateral triangle: three half-planes at distance r/2 from the centre
        r = rng.uniform(9, 17) * s
        m = np.ones_like(u, dtype=bool)
        for k in range(3):
            a = theta + 2 * np.pi * k / 3
            m &= (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a) <= r / 2
        return m
    if cls == 4:  # thin bar: points within w/2 of a segment of length L
        half_len = rng.uniform(10, 22) * s
        half_w = rng.uniform(2.5, 3.0) * max(s, 0.75)
        return (np.abs(u) <= half_len) & (np.abs(v) <= half_w)
    if cls == 5:  # small dot
        r = rng.uniform(4.0, 5.5) * s
        return u * u + v * v <= r * r
    raise ValueError(f"no shape for class {cls}")


def render_sample(rng, size: int = 64):
    """Draw one image and its label map.

    Returns ``image`` ``(size, size, 3)`` RGB ``uint8`` (before JPEG) and ``label``
    ``(size, size)`` ``uint8`` with class ids of ``SYNTHETIC_CLASSES`` and 255 bands.

    >>> import numpy as np
    >>> img, lab = render_sample(np.random.default_rng(0), 32)
    >>> img.shape, lab.shape, lab.dtype, 0 in lab, 255 in lab
    ((32, 32, 3), (32, 32), dtype('uint8'), True, True)
    """
    if int(size) < 16:
        raise ValueError(f"size must be >= 16 pixels, got {size}")
    size = int(size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)

    # background: desaturated gradient + low-frequency blotches + noise
    base = rng.uniform(70, 150)
    tint = rng.normal(0, 12, size=3)
    gy, gx = rng.normal(0, 25, size=2)
    img = base + tint + (gy * (yy / size - 0.5) + gx * (xx / size - 0.5))[..., None]
    coarse = rng.normal(0, 14, size=(size // 8 + 2, size // 8 + 2, 3))
    up = np.kron(coarse, np.ones((8, 8, 1)))[:size, :size]  # blocky low-frequency texture
    img = img + 0.5 * (up + np.roll(up, 4, axis=(0, 1)))  # soften the block edges
    img = img + rng.normal(0, 8, size=(size, size, 3))

    label = np.zeros((size, size), dtype=np.uint8)
    z = np.zeros((size, size), dtype=np.int32)  # which object is on top (0 = background)

    # 1-3 big shapes, 0-2 bars, 0-3 dots; thin and small ones drawn last (on top)
    objects = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(1, 4)))]
    objects += [4] * int(rng.integers(0, 3)) + [5] * int(rng.integers(0, 4))
    for k, cls in enumerate(objects, start=1):
        m = _shape_mask(cls, yy, xx, size, rng)
        if not m.any():
            continue
        colour = np.asarray(_COLOURS[_CLASS_COLOURS[cls][int(rng.integers(0, 2))]], float)
        colour = colour + rng.normal(0, 15, size=3)  # per-object colour jitter
        shade = 1.0 + 0.15 * ((xx - xx[m].mean()) * rng.normal() + (yy - yy[m].mean())
                              * rng.normal()) / size
        obj = colour * shade[..., None] + rng.normal(0, 8, size=(size, size, 3))
        img[m] = obj[m]
        label[m] = cls
        z[m] = k

    # 255 band: pixels with a 4-neighbour of another class that lies on top of them
    band = np.zeros((size, size), dtype=bool)
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        zn = np.roll(z, (dy, dx), axis=(0, 1))
        ln = np.roll(label, (dy, dx), axis=(0, 1))
        valid = np.ones((size, size), dtype=bool)  # do not wrap around the border
        if dy == 1:
            valid[0, :] = False
        if dy == -1:
            valid[-1, :] = False
        if dx == 1:
            valid[:, 0] = False
        if dx == -1:
            valid[:, -1] = False
        band |= valid & (zn > z) & (ln != label)
    label[band] = 255
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), label


def _params(num_train, num_val, size, seed):
    given = {"num_train": num_train, "num_val": num_val, "size": size, "seed": seed}
    for name, value in given.items():   # int() had made size 31.9 a 31-pixel dataset
        try:
            given[name] = operator.index(value)
        except TypeError:
            raise TypeError(f"synthetic dataset: {name} must be an integer, got {value!r}") from None
    return {**given, "version": _FORMAT_VERSION}


def make_synthetic_voc(root, num_train: int = 400, num_val: int = 80, size: int = 64,
                       seed: int = 0, jpeg_quality: int = 90):
    """Write the synthetic dataset under ``root/VOCdevkit/VOC2012`` and return ``root``.

    Sample ``i`` of the whole set (train ids first, then val) is rendered from
    ``numpy.random.default_rng([seed, i])``, so the dataset is a pure function of its arguments.
    Files are written to a temporary directory inside ``root`` and renamed into place at the
    end: an interrupted run leaves no half-made dataset. If ``root`` already holds a dataset
    made with the same parameters, nothing is written; different parameters raise ValueError.

    >>> import tempfile, os
    >>> root = make_synthetic_voc(tempfile.mkdtemp(), num_train=2, num_val=1, size=32)
    >>> sorted(os.listdir(os.path.join(root, "VOCdevkit", "VOC2012")))
    ['ImageSets', 'JPEGImages', 'SegmentationClass', 'synthetic.json']
    """
    root = Path(root).expanduser()
    params = _params(num_train, num_val, size, seed)
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be an integer in [1, 100], got {jpeg_quality!r}")
    if jpeg_quality != 90:   # recorded when not the default (the datasets made so far keep their key):
        params["jpeg_quality"] = jpeg_quality   # another quality had reused the dataset on disk
    if min(params["num_train"], params["num_val"]) < 1:
        raise ValueError(f"num_train and num_val must be >= 1, got {num_train}, {num_val}")
    if params["seed"] < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    final = root / "VOCdevkit" / "VOC2012"
    meta = final / "synthetic.json"
    if final.exists():
        if not meta.is_file():   # a real VOC tree, or someone's own: never suggest deleting it
            raise ValueError(f"{final} holds a dataset that minifcn did not generate (no "
                             f"synthetic.json): the synthetic dataset needs a root of its own "
                             f"(this one may be PASCAL VOC's; read it with --dataset voc)")
        if json.loads(meta.read_text()) == params:
            return root
        raise ValueError(f"{final} already holds a synthetic dataset made with other parameters "
                         f"({json.loads(meta.read_text())}, expected {params}); choose another "
                         "root, or delete that one to make it again")
    made = [d for d in (root / "VOCdevkit", root) if not d.exists()]   # to undo on failure
    (root / "VOCdevkit").mkdir(parents=True, exist_ok=True)
    tmp = temporary_dir(root / "VOCdevkit", ".synthetic-")   # renamed to VOC2012 when whole
    try:
        for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
            (tmp / sub).mkdir(parents=True)
        palette = voc_palette().ravel().tolist()
        n = params["num_train"] + params["num_val"]
        ids = [f"synth_{i:05d}" for i in range(n)]
        for i, sid in enumerate(ids):
            img, lab = render_sample(np.random.default_rng([params["seed"], i]), params["size"])
            Image.fromarray(img).save(tmp / "JPEGImages" / f"{sid}.jpg", quality=jpeg_quality)
            # a palette image whose indices are the class ids, as VOC's labels
            p = Image.frombytes("P", (lab.shape[1], lab.shape[0]), lab.tobytes())
            p.putpalette(palette)
            p.save(tmp / "SegmentationClass" / f"{sid}.png")
        splits = {"train": ids[:params["num_train"]], "val": ids[params["num_train"]:],
                  "trainval": ids}
        for name, lst in splits.items():
            (tmp / "ImageSets" / "Segmentation" / f"{name}.txt").write_text("\n".join(lst) + "\n")
        (tmp / "synthetic.json").write_text(json.dumps(params))
        try:
            os.rename(tmp, final)  # atomic on one filesystem
        except OSError:
            if not (meta.is_file() and json.loads(meta.read_text()) == params):
                raise  # not a concurrent maker that finished first
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.exists():   # failed: the directories this call made go too, if empty
            for d in made:   # (another maker's files, or a directory the user made, stay)
                try:
                    d.rmdir()
                except OSError:
                    break
    return root


def default_root(num_train=400, num_val=80, size=64, seed=0) -> Path:
    """``~/.cache/minifcn/synthetic/<parameters>`` (``$MINIFCN_CACHE`` replaces ``~/.cache/minifcn``).

    >>> default_root().name == f"v{_FORMAT_VERSION}_s64_n400_v80_seed0"
    True
    """
    base = Path(os.environ.get("MINIFCN_CACHE", Path.home() / ".cache" / "minifcn"))
    return base / "synthetic" / (f"v{_FORMAT_VERSION}_s{int(size)}_n{int(num_train)}"
                                 f"_v{int(num_val)}_seed{int(seed)}")


class SyntheticSegmentation(VOCSegmentation):
    """The synthetic dataset through the VOC reader, generated on first use.

    Args:
        root: where to keep it (default ``default_root(...)`` in the user cache).
        split: ``"train"``, ``"val"`` or ``"trainval"``.
        num_train, num_val, size, seed: see ``make_synthetic_voc``.
        transform, skip_bad: as ``VOCSegmentation``.

    >>> import tempfile
    >>> ds = SyntheticSegmentation(tempfile.mkdtemp(), "val", num_train=2, num_val=2, size=32)
    >>> isinstance(ds, VOCSegmentation), len(ds), ds.num_classes
    (True, 2, 6)
    """

    def __init__(self, root=None, split: str = "train", num_train: int = 400, num_val: int = 80,
                 size: int = 64, seed: int = 0, transform=None, skip_bad: bool = False):
        if root is None:
            root = default_root(num_train, num_val, size, seed)
        make_synthetic_voc(root, num_train=num_train, num_val=num_val, size=size, seed=seed)
        super().__init__(root, split, transform=transform, skip_bad=skip_bad,
                         classes=SYNTHETIC_CLASSES)
