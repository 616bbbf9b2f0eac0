"""PASCAL VOC and SBD segmentation readers, class subsets, and a tiny batching helper.

On-disk layouts (the real ones; the built-in synthetic dataset is written the same way)::

    <root>/VOCdevkit/VOC2012/JPEGImages/<id>.jpg
                            /SegmentationClass/<id>.png      palette ("P") PNG: index = class id
                            /ImageSets/Segmentation/<split>.txt   one id per line
    <root>/benchmark_RELEASE/dataset/img/<id>.jpg
                                    /cls/<id>.mat            GTcls.Segmentation: class ids
                                    /train.txt, val.txt

Label value 255 marks VOC's boundary band and "difficult" regions: it is never a class and is
ignored by the loss and the metrics. Any other value outside ``[0, len(classes))`` is an error.

Splits: ``train`` (1464 images), ``val`` (1449), ``trainval`` and ``seg11valid``. seg11valid is
the FCN paper's evaluation set: VOC2011 segmentation val minus the images in SBD train (736
images). It is not part of VOC: its list of ids comes from the FCN reference repository
(``data/pascal/seg11valid.txt``) and ships with minifcn (``minifcn/data/splits/``); a file of
that name in ``ImageSets/Segmentation`` takes precedence. Every split may also be given as a
path to a file of ids. Its images are also in VOC2012, so it works with either year.

Samples are ``(image, label)``: ``image`` ``(H, W, 3)`` RGB ``uint8``, ``label`` ``(H, W)``
``uint8`` class ids, before the dataset's ``transform`` (see ``transforms.py``), which usually
ends with ``(3, H, W)`` ``float32`` and ``int64`` labels.

>>> VOC_CLASSES[:3], len(VOC_CLASSES)
(('background', 'aeroplane', 'bicycle'), 21)
>>> voc_palette()[[0, 1, 15, 255]].tolist()
[[0, 0, 0], [128, 0, 0], [192, 128, 128], [224, 224, 192]]
"""
from __future__ import annotations

import operator
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "VOC_CLASSES", "voc_palette", "read_split_file", "BadSampleError", "SegmentationDataset",
    "VOCSegmentation", "SBDSegmentation", "Subset", "subset", "iterate_batches",
]

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)
SPLITS = ("train", "val", "trainval", "seg11valid")
# splits that are not part of VOC, shipped with the package
SHIPPED_SPLITS = {"seg11valid": Path(__file__).with_name("splits") / "seg11valid.txt"}


def voc_palette(n: int = 256) -> np.ndarray:
    """The standard VOC colour map, ``(n, 3)`` ``uint8``: entry k spreads k's bits over R, G, B.

    Bit ``3*j + c`` of the class id goes to bit ``7 - j`` of channel ``c`` (R, G, B), so
    class 1 is dark red (128, 0, 0) and 255, the ignore label, is cream (224, 224, 192).

    >>> voc_palette(3).tolist()
    [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    """
    pal = np.zeros((n, 3), dtype=np.uint8)
    for k in range(n):
        c, r, g, b = k, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[k] = (r, g, b)
    return pal


class BadSampleError(ValueError):
    """An image or label file that cannot be used; the message names the file and the problem."""


def read_split_file(path) -> list:
    """Ids listed in a split file (one per line; blank lines skipped).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "s.txt")
    >>> _ = open(p, "w").write("2007_000032\\n\\n2007_000039\\n")
    >>> read_split_file(p)
    ['2007_000032', '2007_000039']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"split file {path} not found")
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:   # had been the codec's message alone, no file named
        raise ValueError(f"split file {path} is not text ({e})") from None
    ids = [line.strip().split()[0] for line in text.splitlines() if line.strip()]
    if not ids:
        raise ValueError(f"split file {path} lists no image ids")
    return ids


def _read_image(path: Path) -> np.ndarray:
    """Decode an image file fully into ``(H, W, 3)`` RGB ``uint8`` or raise BadSampleError."""
    if not path.is_file():
        raise FileNotFoundError(f"image {path} not found")
    try:
        with Image.open(path) as im:
            im.load()  # decode now: a truncated JPEG fails here, not later
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError as e:
        raise BadSampleError(f"{path} is not an image file PIL can read ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadSampleError(f"{path} is corrupt or truncated: {e}") from None


def _read_png_label(path: Path) -> np.ndarray:
    """A VOC label PNG -> ``(H, W)`` ``uint8`` class ids (palette indices), or BadSampleError."""
    if not path.is_file():
        raise FileNotFoundError(f"label {path} not found")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("P", "L"):
                raise BadSampleError(
                    f"label {path} has mode {im.mode!r}; expected a palette ('P') or greyscale "
                    "('L') PNG whose pixel values are class ids (an RGB colour image is not a "
                    "label map)")
            return np.asarray(im, dtype=np.uint8)
    except BadSampleError:
        raise
    except UnidentifiedImageError as e:
        raise BadSampleError(f"label {path} is not an image file PIL can read ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadSampleError(f"label {path} is corrupt or truncated: {e}") from None


def _check_label(label: np.ndarray, num_classes: int, path, image_shape=None) -> np.ndarray:
    if image_shape is not None and label.shape != tuple(image_shape[:2]):
        raise BadSampleError(f"label {path} is {label.shape[1]}x{label.shape[0]} (WxH) but its "
                             f"image is {image_shape[1]}x{image_shape[0]}; expected equal sizes")
    bad = (label >= num_classes) & (label != 255)
    if bad.any():
        vals = sorted(set(np.unique(label[bad]).tolist()))
        raise BadSampleError(f"label {path} holds values {vals[:10]} outside the "
                             f"{num_classes} classes [0, {num_classes}) (255 = ignore)")
    return label


class SegmentationDataset:
    """Base of the readers: a list of ids, a ``classes`` tuple, a transform, bad-sample policy.

    Subclasses implement ``_paths(id) -> (image_path, label_path)`` and
    ``_read_label(path) -> (H, W) array``. Indexing gives ``get(i)``; ``get(i, rng)`` passes
    ``rng`` to the transform so a training loop can drive every random choice from one generator.

    With ``skip_bad=True`` every sample is decoded once at construction (a full pass over the
    files) and the bad ones are dropped with a ``warnings.warn`` naming the file; otherwise a
    missing file is reported at construction and a broken one when it is loaded.
    """

    def __init__(self, ids, classes, transform=None, skip_bad: bool = False):
        self.classes = tuple(classes)
        self.num_classes = len(self.classes)
        self.transform = transform
        self.ids = list(ids)
        if skip_bad:
            good = []
            for sid in self.ids:
                try:
                    self._load_id(sid)
                except (BadSampleError, FileNotFoundError) as e:
                    warnings.warn(f"skipping sample {sid!r}: {e}", stacklevel=3)
                else:
                    good.append(sid)
            self.ids = good
        else:
            for sid in self.ids:  # cheap existence check: fail early, naming the file
                for p in self._paths(sid):
                    if not p.is_file():
                        raise FileNotFoundError(f"{p} not found (listed as {sid!r} in the split)")

    def _paths(self, sid):
        raise NotImplementedError

    def image_paths(self) -> list:
        """The image files, in the dataset's order (their headers give the sizes cheaply)."""
        return [self._paths(sid)[0] for sid in self.ids]

    def _read_label(self, path):
        raise NotImplementedError

    def _load_id(self, sid):
        ipath, lpath = self._paths(sid)
        image = _read_image(ipath)
        label = self._read_label(lpath)
        return image, _check_label(label, self.num_classes, lpath, image.shape)

    def __len__(self):
        return len(self.ids)

    def load(self, i: int):
        """Raw sample ``i``: ``(H, W, 3)`` RGB ``uint8`` image, ``(H, W)`` ``uint8`` label."""
        return self._load_id(self.ids[i])

    def get(self, i: int, rng=None):
        """Sample ``i`` after the transform (which draws from ``rng`` when given)."""
        image, label = self.load(i)
        if self.transform is not None:
            image, label = self.transform(image, label, rng)
        return image, label

    def __getitem__(self, i: int):
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for a dataset of {len(self)} "
                             f"sample{'s' if len(self) != 1 else ''}")
        return self.get(i % len(self))

    def validate(self):
        """Decode every sample; return ``[(id, error message), ...]`` for the bad ones."""
        bad = []
        for sid in self.ids:
            try:
                self._load_id(sid)
            except (BadSampleError, FileNotFoundError) as e:
                bad.append((sid, str(e)))
        return bad

    def __repr__(self):
        return (f"{type(self).__name__}({len(self)} sample{'s' if len(self) != 1 else ''}, "
                f"{self.num_classes} class{'es' if self.num_classes != 1 else ''})")


def _voc_dir(root, year: str) -> Path:
    """Accept ``<root>`` holding ``VOCdevkit/VOC<year>``, the devkit itself, or the year dir."""
    root = Path(root).expanduser()
    for cand in (root / "VOCdevkit" / f"VOC{year}", root / f"VOC{year}", root):
        if (cand / "JPEGImages").is_dir() or (cand / "ImageSets").is_dir():
            return cand
    raise FileNotFoundError(f"no VOC{year} dataset under {root}: expected "
                            f"{root / 'VOCdevkit' / f'VOC{year}'} with JPEGImages/, "
                            "SegmentationClass/ and ImageSets/Segmentation/ "
                            "(run `minifcn data voc --root ...` to download it)")


class VOCSegmentation(SegmentationDataset):
    """PASCAL VOC semantic segmentation (or anything written in its layout).

    Args:
        root: directory holding ``VOCdevkit/VOC<year>`` (or that directory itself).
        split: ``"train"``, ``"val"``, ``"trainval"``, ``"seg11valid"``, or a path to a split
            file (one id per line).
        year: ``"2012"`` (or ``"2011"`` ...): picks ``VOCdevkit/VOC<year>``.
        transform: ``t(image, label, rng) -> (image, label)``, see ``transforms.py``.
        skip_bad: drop unreadable samples with a warning instead of raising.
        classes: class names; label values must be below ``len(classes)`` or 255
            (default the 21 VOC classes).

    ``dataset[i]`` -> ``(image, label)``: ``(H, W, 3)`` ``uint8`` and ``(H, W)`` ``uint8``
    without a transform.

    >>> import tempfile
    >>> from minifcn.data.synthetic import make_synthetic_voc
    >>> root = make_synthetic_voc(tempfile.mkdtemp(), num_train=2, num_val=1, size=32)
    >>> ds = VOCSegmentation(root, "train", classes=["bg", "a", "b", "c", "d", "e"])
    >>> img, lab = ds[0]
    >>> len(ds), img.shape, img.dtype, lab.shape
    (2, (32, 32, 3), dtype('uint8'), (32, 32))
    """

    def __init__(self, root, split: str = "train", year: str = "2012", transform=None,
                 skip_bad: bool = False, classes=VOC_CLASSES):
        self.root = _voc_dir(root, str(year))
        self.split = str(split)
        if str(split) in SPLITS:
            split_path = self.root / "ImageSets" / "Segmentation" / f"{split}.txt"
            if not split_path.is_file() and str(split) in SHIPPED_SPLITS:
                split_path = SHIPPED_SPLITS[str(split)]
        elif str(split).endswith(".txt") or os.sep in str(split):
            split_path = Path(split).expanduser()  # a split file given by path
        else:
            raise ValueError(f"unknown split {split!r}: expected one of {SPLITS} or a path to a "
                             "split file (one id per line)")
        if not split_path.is_file():
            raise FileNotFoundError(f"split file {split_path} not found")
        self.split_path = split_path
        super().__init__(read_split_file(split_path), classes, transform, skip_bad)

    def _paths(self, sid):
        return (self.root / "JPEGImages" / f"{sid}.jpg",
                self.root / "SegmentationClass" / f"{sid}.png")

    def _read_label(self, path):
        return _read_png_label(path)


class SBDSegmentation(SegmentationDataset):
    """The Semantic Boundaries Dataset (Hariharan et al.): 11355 VOC images with class masks.

    Reads ``benchmark_RELEASE/dataset/{img/<id>.jpg, cls/<id>.mat, train.txt, val.txt}``;
    the class map is ``GTcls.Segmentation`` inside each ``.mat`` file, read with
    ``scipy.io.loadmat`` (scipy is an optional dependency, needed only here:
    ``pip install minifcn[sbd]``). Same sample format and arguments as ``VOCSegmentation``.

    >>> SBDSegmentation.__name__
    'SBDSegmentation'
    """

    def __init__(self, root, split: str = "train", transform=None, skip_bad: bool = False,
                 classes=VOC_CLASSES):
        try:
            import scipy.io  # noqa: F401
        except ImportError:
            raise ImportError("SBDSegmentation reads .mat files with scipy.io.loadmat, and scipy "
                              "is not installed: pip install scipy (or minifcn[sbd])") from None
        root = Path(root).expanduser()
        for cand in (root / "benchmark_RELEASE" / "dataset", root / "dataset", root):
            if (cand / "cls").is_dir() or (cand / f"{split}.txt").is_file():
                self.root = cand
                break
        else:
            raise FileNotFoundError(f"no SBD dataset under {root}: expected "
                                    f"{root / 'benchmark_RELEASE' / 'dataset'} with img/, cls/, "
                                    "train.txt, val.txt")
        split_path = Path(split) if (os.sep in str(split) or str(split).endswith(".txt")) \
            else self.root / f"{split}.txt"
        self.split = str(split)
        super().__init__(read_split_file(split_path), classes, transform, skip_bad)

    def _paths(self, sid):
        return self.root / "img" / f"{sid}.jpg", self.root / "cls" / f"{sid}.mat"

    def _read_label(self, path):
        import scipy.io
        if not path.is_file():
            raise FileNotFoundError(f"label {path} not found")
        try:
            mat = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
            seg = np.asarray(mat["GTcls"].Segmentation)
        except (KeyError, AttributeError):
            raise BadSampleError(f"label {path} has no GTcls.Segmentation field") from None
        except Exception as e:  # scipy raises several types for a corrupt file
            raise BadSampleError(f"label {path} is not a readable .mat file: {e}") from None
        if seg.ndim != 2:
            raise BadSampleError(f"label {path}: GTcls.Segmentation has shape {seg.shape}, "
                                 "expected (H, W)")
        if seg.dtype.kind == "f":   # a cast would make 1.5 class 1 and NaN background
            whole = np.isfinite(seg) & (seg == np.round(seg))
            if not whole.all():
                raise BadSampleError(f"label {path} holds {seg[~whole][0]}, not a class id (a whole "
                                     "number)")
        elif seg.dtype.kind not in "iub":
            raise BadSampleError(f"label {path}: GTcls.Segmentation holds {seg.dtype}, not class ids")
        if seg.size and (seg.min() < 0 or seg.max() > 255):
            raise BadSampleError(f"label {path} holds values outside [0, 255]")
        return seg.astype(np.uint8)


class Subset(SegmentationDataset):
    """Some samples of a dataset, with labels optionally remapped through a lookup table.

    Built by ``subset``; ``indices`` index the base dataset, ``lut`` is a ``(256,)`` table
    applied to the raw label before ``transform`` (default: the base dataset's).
    """

    def __init__(self, base, indices, classes=None, lut=None, transform="inherit"):
        self.base = base
        self.indices = [int(i) for i in indices]
        self.classes = tuple(base.classes if classes is None else classes)
        self.num_classes = len(self.classes)
        self.lut = None if lut is None else np.asarray(lut, dtype=np.uint8)
        self.transform = base.transform if transform == "inherit" else transform
        self.ids = [base.ids[i] for i in self.indices]

    def _load_id(self, sid):
        raise NotImplementedError  # Subset loads by index

    def _paths(self, sid):
        return self.base._paths(sid)

    def load(self, i: int):
        image, label = self.base.load(self.indices[i])
        if self.lut is not None:
            label = self.lut[label]
        return image, label

    def validate(self):
        bad = []
        for i, sid in enumerate(self.ids):
            try:
                self.load(i)
            except (BadSampleError, FileNotFoundError) as e:
                bad.append((sid, str(e)))
        return bad


def subset(dataset, count=None, classes=None, seed: int = 0, others: str = "background"):
    """A dataset of (at most) ``count`` images, optionally only those showing some ``classes``.

    With ``classes`` (names or ids of ``dataset.classes``), only images containing at least one
    of them are kept and labels are remapped to ``[background] + classes`` (ids 0..K, 255 stays
    255). Pixels of every other class become background (``others="background"``: the task
    becomes "find cats and dogs", and the model is penalised for calling a person a cat), or are
    ignored (``others="ignore"``: 255, they do not count at all). The choice of ``count`` images
    is random with ``seed`` and kept in dataset order. Scanning for classes reads every label once.

    Example: 200 images with cat or dog, 3 classes::

        pets = subset(VOCSegmentation(root, "train"), 200, ["cat", "dog"])
        pets.classes  # ('background', 'cat', 'dog')

    >>> import tempfile
    >>> from minifcn.data.synthetic import make_synthetic_voc, SYNTHETIC_CLASSES
    >>> root = make_synthetic_voc(tempfile.mkdtemp(), num_train=6, num_val=1, size=32)
    >>> ds = VOCSegmentation(root, "train", classes=SYNTHETIC_CLASSES)
    >>> sub = subset(ds, count=2, classes=["bar"])
    >>> len(sub), sub.classes
    (2, ('background', 'bar'))
    >>> sorted(set(sub[0][1].ravel().tolist()) - {255})
    [0, 1]
    """
    n = len(dataset)
    indices = list(range(n))
    lut = None
    names = None
    if others not in ("background", "ignore"):
        raise ValueError(f"others must be 'background' or 'ignore', got {others!r}")
    if count is not None:
        try:
            count = operator.index(count)   # 2.5 images had met NumPy's TypeError
        except TypeError:
            raise TypeError(f"count must be an integer, got {count!r}") from None
    if classes is not None:
        ids = []
        one = isinstance(classes, (str, int, np.integer))   # np.int64(8) is one id, not a list
        for c in ([classes] if one else list(classes)):
            if isinstance(c, str):
                if c not in dataset.classes:
                    raise ValueError(f"unknown class {c!r}: expected one of {dataset.classes}")
                c = dataset.classes.index(c)
            try:
                c = operator.index(c)
            except TypeError:
                raise TypeError(f"a class is a name or an integer id, got {c!r}") from None
            if not 0 < c < len(dataset.classes):
                raise ValueError(f"class id {c} outside [1, {len(dataset.classes)}) "
                                 "(background cannot be selected)")
            if c not in ids:
                ids.append(c)
        if not ids:
            raise ValueError("classes is empty: give at least one class name or id")
        lut = np.full(256, 0 if others == "background" else 255, dtype=np.uint8)
        lut[0] = 0
        lut[255] = 255
        for k, c in enumerate(ids):
            lut[c] = k + 1
        names = ("background",) + tuple(dataset.classes[c] for c in ids)
        want = np.zeros(256, dtype=bool)
        want[ids] = True
        indices = [i for i in range(n) if want[np.asarray(dataset.load(i)[1])].any()]
    if count is not None:
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if count < len(indices):
            pick = np.random.default_rng(seed).choice(len(indices), size=count, replace=False)
            indices = [indices[j] for j in sorted(pick.tolist())]
    return Subset(dataset, indices, classes=names, lut=lut)


def _chw_float32(x, size, i):
    """Sample ``i``'s image as ``(3, H, W)`` ``float32``: as it is, or transposed from a raw
    ``(H, W, 3)``. Its label's ``size`` ``(H, W)`` tells which (the image's shape alone cannot:
    an image 3 rows high had been taken for CHW); where both fit, a 3 x 3 image, ``uint8`` is
    raw, since ``ToCHW`` makes ``float32``."""
    chw = x.shape == (3,) + tuple(size)
    hwc = x.shape == tuple(size) + (3,)
    if hwc and (not chw or x.dtype == np.uint8):
        x = x.transpose(2, 0, 1)
    elif not chw:
        raise ValueError(f"sample {i}: an image of shape {x.shape} for a label of shape "
                         f"{tuple(size)}: expected (3, H, W) or (H, W, 3)")
    return x.astype(np.float32, copy=False)


def batch_order(n: int, batch_size: int, shuffle: bool, rng, drop_last: bool) -> list:
    """The samples of each batch of one epoch, as lists of indices: ``rng.permutation(n)`` with
    ``shuffle`` (one draw, before any sample's), else ``0 .. n-1``; the short last batch left
    out with ``drop_last``. (:func:`iterate_batches` and ``DataLoader``'s workers share it.)

    >>> batch_order(5, 2, False, None, drop_last=True)
    [[0, 1], [2, 3]]
    """
    if shuffle:
        if rng is None:
            raise ValueError("shuffle=True needs an explicit rng (numpy.random.Generator)")
        order = rng.permutation(n).tolist()
    else:
        order = list(range(n))
    batches = [order[s:s + batch_size] for s in range(0, n, batch_size)]
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def batch_pair(x, y, i):
    """One sample as a batch holds it: the image (3, H, W) ``float32``, the label ``int64``."""
    y = np.asarray(y)
    return _chw_float32(np.asarray(x), y.shape, i), y.astype(np.int64, copy=False)


def stack_batch(xs, ys):
    """``(images, labels)`` of a batch from its samples, which must share one size."""
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"cannot stack samples of different sizes {sorted(shapes)} into one "
                         "batch: add a RandomCrop to the transform or use batch_size=1")
    return np.stack(xs), np.stack(ys)


def iterate_batches(dataset, batch_size: int, shuffle: bool = False, rng=None,
                    drop_last: bool = False):
    """Yield ``(images, labels)`` batches: ``(N, 3, H, W)`` ``float32`` and ``(N, H, W)`` ``int64``.

    Samples are fetched with ``dataset.get(i, rng)`` (so the random transforms draw from the same
    generator as the shuffling) and stacked, so they must share one size: crop or resize in the
    transform otherwise (or use ``batch_size=1``, as the FCN reference does). Raw ``(H, W, 3)``
    images are transposed to CHW ``float32`` with their 0..255 values.

    Args:
        dataset: anything with ``len`` and ``get(i, rng)`` or ``[i]``.
        batch_size: N (the last batch may be smaller unless ``drop_last``).
        shuffle: visit samples in the order ``rng.permutation(len(dataset))``.
        rng: a ``numpy.random.Generator`` (required when shuffling).

    >>> import numpy as np, tempfile
    >>> from minifcn.data.synthetic import SyntheticSegmentation
    >>> ds = SyntheticSegmentation(tempfile.mkdtemp(), "val", num_train=2, num_val=3, size=32)
    >>> [(x.shape, y.dtype) for x, y in iterate_batches(ds, 2)]
    [((2, 3, 32, 32), dtype('int64')), ((1, 3, 32, 32), dtype('int64'))]
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    getter = getattr(dataset, "get", None)
    for idx in batch_order(len(dataset), batch_size, shuffle, rng, drop_last):
        xs, ys = zip(*(batch_pair(*(getter(i, rng) if getter is not None else dataset[i]), i)
                       for i in idx))
        yield stack_batch(xs, ys)
