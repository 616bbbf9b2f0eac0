"""Joint image/label transforms on the host, driven by an explicit ``numpy.random.Generator``.

A transform is a callable ``t(image, label, rng=None) -> (image, label)``:

- ``image``: ``(H, W, 3)`` RGB, ``uint8`` until ``Normalize`` turns it into ``float32``;
  ``ToCHW`` finally makes it ``(3, H, W)`` ``float32`` (the NCHW layout of the models).
- ``label``: ``(H, W)`` integer class ids, 255 = ignore; ``ToCHW`` makes it ``int64``.
- ``rng``: the generator the random transforms draw from. Pass one (``iterate_batches`` passes its
  own) and the whole pipeline is a pure function of the generator's state, so training can be
  resumed bit for bit by saving ``rng.bit_generator.state``. Without one, a random transform uses
  the generator it was built with (``seed=0`` by default): still deterministic.

Geometric transforms come first (on ``uint8``: scale, crop, flip), then ``Normalize``, then
``ToCHW``. Labels are always resampled with nearest neighbour (an average of class ids means
nothing) and padded with the ignore label.

Input conventions (``Normalize(convention)``), matching the weights in use:

- ``"caffe"``: BGR order, 0..255, minus the ILSVRC mean (B, G, R) =
  (104.00698793, 116.66876762, 122.67891434): Caffe's VGG16, the FCN reference.
- ``"torchvision"``: RGB / 255, minus (0.485, 0.456, 0.406), divided by (0.229, 0.224, 0.225).
- ``"unit"`` (alias ``"none"``): RGB / 255 only: models trained from scratch.

>>> import numpy as np
>>> t = Compose([RandomHorizontalFlip(), Normalize("unit"), ToCHW()])
>>> x, y = t(np.zeros((4, 6, 3), np.uint8), np.zeros((4, 6), np.uint8), np.random.default_rng(0))
>>> x.shape, x.dtype, y.shape, y.dtype
((3, 4, 6), dtype('float32'), (4, 6), dtype('int64'))
"""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = [
    "CAFFE_MEAN_BGR", "TORCHVISION_MEAN", "TORCHVISION_STD", "CONVENTIONS", "mean_rgb_uint8",
    "Compose", "Normalize", "ToCHW", "RandomCrop", "RandomHorizontalFlip", "RandomScale",
    "build_transform",
]

CAFFE_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
CONVENTIONS = ("caffe", "torchvision", "unit", "none")


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown input convention {convention!r}: expected one of {CONVENTIONS}")
    return "unit" if convention == "none" else convention


def mean_rgb_uint8(convention: str = "caffe") -> tuple:
    """The dataset mean of a convention as an RGB ``uint8`` triple: the padding colour that
    becomes (about) zero after ``Normalize``. ``"unit"`` pads with black.

    >>> mean_rgb_uint8("caffe")
    (123, 117, 104)
    >>> mean_rgb_uint8("unit")
    (0, 0, 0)
    """
    convention = _check_convention(convention)
    if convention == "caffe":
        return tuple(int(round(v)) for v in CAFFE_MEAN_BGR[::-1])
    if convention == "torchvision":
        return tuple(int(round(255 * v)) for v in TORCHVISION_MEAN)
    return (0, 0, 0)


def _check_pair(image, label):
    image = np.asarray(image)
    label = np.asarray(label)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) before ToCHW, got shape {image.shape}")
    if label.shape != image.shape[:2]:
        raise ValueError(f"label shape {label.shape} != image size {image.shape[:2]}")
    return image, label


class Compose:
    """Apply transforms in order, all drawing from the same ``rng``.

    >>> import numpy as np
    >>> t = Compose([RandomCrop(2), ToCHW()])
    >>> x, y = t(np.zeros((3, 3, 3), np.uint8), np.ones((3, 3), np.uint8), np.random.default_rng(1))
    >>> x.shape, int(y.sum())
    ((3, 2, 2), 4)
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image, label, rng=None):
        for t in self.transforms:
            image, label = t(image, label, rng)
        return image, label

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class _Random:
    """Base of the random transforms: keeps a fallback generator (``seed``) for calls without one."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def _rng(self, rng):
        return self.rng if rng is None else rng


class Normalize:
    """Turn an ``(H, W, 3)`` RGB ``uint8`` image into the ``float32`` input a set of weights expects.

    ``inverse`` maps back to displayable RGB ``uint8`` (and accepts CHW or HWC float arrays).

    >>> import numpy as np
    >>> img = np.array([[[255, 0, 10]]], np.uint8)
    >>> x, _ = Normalize("caffe")(img, np.zeros((1, 1), np.uint8))
    >>> [round(float(v), 2) for v in x[0, 0]]     # channels now B, G, R minus the mean
    [-94.01, -116.67, 132.32]
    >>> Normalize("caffe").inverse(x).tolist()
    [[[255, 0, 10]]]
    >>> Normalize("unit")(img, None)[0].tolist()[0][0][0]
    1.0
    """

    def __init__(self, convention: str = "caffe"):
        self.convention = _check_convention(convention)

    def __call__(self, image, label, rng=None):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"Normalize expects an (H, W, 3) RGB image, got shape {image.shape}")
        x = image.astype(np.float32)
        if self.convention == "caffe":
            x = x[:, :, ::-1] - np.asarray(CAFFE_MEAN_BGR, np.float32)  # RGB -> BGR, 0..255
        elif self.convention == "torchvision":
            x = (x / 255.0 - np.asarray(TORCHVISION_MEAN, np.float32)) / np.asarray(
                TORCHVISION_STD, np.float32)
        else:
            x = x / 255.0
        return np.ascontiguousarray(x, dtype=np.float32), label

    def inverse(self, x):
        """Normalised ``(H, W, 3)`` or ``(3, H, W)`` float array -> ``(H, W, 3)`` RGB ``uint8``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 3 and x.shape[0] == 3 and x.shape[2] != 3:
            x = x.transpose(1, 2, 0)  # CHW -> HWC
        if x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"inverse expects (H, W, 3) or (3, H, W), got shape {x.shape}")
        if self.convention == "caffe":
            x = (x + np.asarray(CAFFE_MEAN_BGR))[:, :, ::-1]  # BGR -> RGB
        elif self.convention == "torchvision":
            x = (x * np.asarray(TORCHVISION_STD) + np.asarray(TORCHVISION_MEAN)) * 255.0
        else:
            x = x * 255.0
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)

    def __repr__(self):
        return f"Normalize({self.convention!r})"


class ToCHW:
    """``(H, W, 3)`` image -> ``(3, H, W)`` ``float32``; label -> ``(H, W)`` ``int64``.

    >>> import numpy as np
    >>> x, y = ToCHW()(np.zeros((2, 5, 3), np.uint8), np.zeros((2, 5), np.uint8))
    >>> x.shape, x.dtype, y.dtype
    ((3, 2, 5), dtype('float32'), dtype('int64'))
    """

    def __call__(self, image, label, rng=None):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"ToCHW expects an (H, W, 3) image, got shape {image.shape}")
        x = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
        y = None if label is None else np.ascontiguousarray(label, dtype=np.int64)
        return x, y

    def __repr__(self):
        return "ToCHW()"


class RandomHorizontalFlip(_Random):
    """Mirror image and label left-right with probability ``p``.

    >>> import numpy as np
    >>> img = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    >>> x, y = RandomHorizontalFlip(p=1.0)(img, np.array([[1, 2]], np.uint8))
    >>> y.tolist(), x[0, 0].tolist()
    ([[2, 1]], [3, 4, 5])
    """

    def __init__(self, p: float = 0.5, seed: int = 0):
        super().__init__(seed)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"flip probability must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, image, label, rng=None):
        image, label = _check_pair(image, label)
        if self._rng(rng).random() < self.p:
            image, label = image[:, ::-1], label[:, ::-1]
        return np.ascontiguousarray(image), np.ascontiguousarray(label)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop(_Random):
    """Crop a random ``(h, w)`` window; pad first (bottom/right) when the image is smaller.

    The image is padded with ``fill`` (an RGB triple: the mean colour, so the padding is ~0 after
    ``Normalize``; or 0) and the label with ``ignore_index``, so padding never counts in the loss.

    >>> import numpy as np
    >>> x, y = RandomCrop((4, 4), fill=(0, 0, 0))(np.full((2, 3, 3), 9, np.uint8),
    ...                                           np.ones((2, 3), np.uint8))
    >>> x.shape, y.tolist()
    ((4, 4, 3), [[1, 1, 1, 255], [1, 1, 1, 255], [255, 255, 255, 255], [255, 255, 255, 255]])
    """

    def __init__(self, size, fill=(123, 117, 104), ignore_index: int = 255, seed: int = 0):
        super().__init__(seed)
        self.size = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"crop size must be a positive int or (h, w), got {size!r}")
        fill = (fill,) * 3 if np.isscalar(fill) else tuple(fill)
        if len(fill) != 3 or not all(0 <= f <= 255 for f in fill):   # it pads uint8 images
            raise ValueError(f"fill must be a number or an RGB triple in [0, 255], got {fill!r}")
        self.fill = fill
        self.ignore_index = ignore_index

    def __call__(self, image, label, rng=None):
        image, label = _check_pair(image, label)
        ch, cw = self.size
        h, w = label.shape
        ph, pw = max(ch - h, 0), max(cw - w, 0)
        if ph or pw:
            padded = np.empty((h + ph, w + pw, 3), image.dtype)
            padded[...] = np.asarray(self.fill, dtype=image.dtype)
            padded[:h, :w] = image
            plabel = np.full((h + ph, w + pw), self.ignore_index, dtype=label.dtype)
            plabel[:h, :w] = label
            image, label = padded, plabel
            h, w = label.shape
        r = self._rng(rng)
        top = int(r.integers(0, h - ch + 1))
        left = int(r.integers(0, w - cw + 1))
        return (np.ascontiguousarray(image[top:top + ch, left:left + cw]),
                np.ascontiguousarray(label[top:top + ch, left:left + cw]))

    def __repr__(self):
        return f"RandomCrop({self.size}, fill={self.fill}, ignore_index={self.ignore_index})"


class RandomScale(_Random):
    """Resize by a factor drawn uniformly from ``scale_range`` (bilinear image, nearest label).

    Output size: ``(round(H * s), round(W * s))``, at least 1.

    >>> import numpy as np
    >>> x, y = RandomScale((2.0, 2.0))(np.zeros((3, 5, 3), np.uint8), np.eye(3, 5, dtype=np.uint8))
    >>> x.shape, y.shape, sorted(set(y.ravel().tolist()))
    ((6, 10, 3), (6, 10), [0, 1])
    """

    def __init__(self, scale_range=(0.5, 2.0), seed: int = 0):
        super().__init__(seed)
        lo, hi = (float(v) for v in scale_range)
        if not 0 < lo <= hi < float("inf"):   # inf had passed, to fail in the generator
            raise ValueError(f"scale_range must be (lo, hi) with 0 < lo <= hi, both finite, "
                             f"got {scale_range!r}")
        self.scale_range = (lo, hi)

    def __call__(self, image, label, rng=None):
        image, label = _check_pair(image, label)
        if image.dtype != np.uint8:   # a cast would clip (0..1 floats became black)
            raise TypeError(f"RandomScale resizes uint8 images (before Normalize), got {image.dtype}")
        lo, hi = self.scale_range
        s = float(self._rng(rng).uniform(lo, hi))
        h, w = label.shape
        nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
        if (nh, nw) == (h, w):
            return image, label
        if nh * nw >= 2 ** 31:   # past what PIL resizes (an OverflowError inside it)
            raise ValueError(f"RandomScale: scale {s:.4g} makes the {h}x{w} image {nh}x{nw}: too "
                             f"large (scale_range {self.scale_range})")
        img = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
        if label.min() < 0 or label.max() > 255:
            raise ValueError(f"label values must be in [0, 255] to rescale, got "
                             f"[{label.min()}, {label.max()}]")
        lab = np.asarray(Image.fromarray(label.astype(np.uint8)).resize((nw, nh), Image.NEAREST))
        return img, lab.astype(label.dtype)

    def __repr__(self):
        return f"RandomScale({self.scale_range})"


def build_transform(convention: str = "unit", crop=None, flip: bool = False, scale=None):
    """The usual pipeline: ``[RandomScale] [RandomCrop] [RandomHorizontalFlip] Normalize ToCHW``.

    Args:
        convention: ``"caffe"``, ``"torchvision"`` or ``"unit"`` (see the module docstring).
        crop: crop size (int or (h, w)), padded with the convention's mean colour and 255.
        flip: random horizontal flips (p = 0.5).
        scale: ``(lo, hi)`` random scale range, or None.

    >>> build_transform("caffe", crop=64, flip=True)
    Compose([RandomCrop((64, 64), fill=(123, 117, 104), ignore_index=255), RandomHorizontalFlip(p=0.5), Normalize('caffe'), ToCHW()])
    """
    ts = []
    if scale is not None:
        ts.append(RandomScale(scale))
    if crop is not None:
        ts.append(RandomCrop(crop, fill=mean_rgb_uint8(convention)))
    if flip:
        ts.append(RandomHorizontalFlip())
    ts += [Normalize(convention), ToCHW()]
    return Compose(ts)
