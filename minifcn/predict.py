"""Segment one image with a trained model: a colour mask and an overlay PNG (and, for Bayesian
SegNet, a Monte-Carlo uncertainty map).

The image is normalised as during training (the checkpoint's ``convention``) and run through
the model at its own size, or shrunk to ``max_size`` on its longer side: FCN crops its scores to
the input, SegNet's unpooling is told the size before each pool, so neither needs padding.

>>> import numpy as np
>>> from minifcn import nn
>>> net = nn.Conv2d(3, 2, 1)                    # a 1x1 "segmenter" with 2 classes
>>> pred, unc = predict_array(net, np.zeros((5, 7, 3), np.uint8))
>>> pred.shape, pred.dtype.kind, unc
((5, 7), 'i', None)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import backend
from ._files import replacing
from .autograd import Tensor, no_grad

__all__ = ["predict_array", "predict_file", "read_image", "scaled_size"]


# Pillow's modes of 16-bit grey (and "I", 32-bit, which older Pillows give 16-bit PNGs)
_SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def read_image(path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` RGB ``uint8``, upright; ValueError naming the file if
    unreadable.

    Upright: a photo whose EXIF tag says the camera was turned is turned as a viewer shows it
    (the net was trained on upright images). 16-bit grey is scaled to 8 bits (``v / 257``):
    Pillow's ``convert("RGB")`` clips it, so a 16-bit PNG would come out nearly white. An alpha
    channel is dropped: the net sees the colours stored under transparent pixels, as Pillow's
    ``convert("RGB")`` gives them (often black, but whatever the file holds).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"image {path} is a directory, not an image file")
    if not path.is_file():
        raise FileNotFoundError(f"image {path} not found")
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode == "F":
                raise ValueError(f"image {path} holds floating-point pixels (Pillow mode 'F'), "
                                 "whose range is unknown: save it with 8 or 16 bits per channel")
            if im.mode in _SIXTEEN_BIT_GREY:
                grey = np.clip(np.rint(np.asarray(im, dtype=np.float64) / 257), 0, 255)
                return np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"image {path} cannot be decoded ({e})") from None


def scaled_size(hw, max_size: int | None):
    """``(h, w)`` shrunk, aspect kept, so that the longer side is ``max_size``; unchanged when
    it already fits or ``max_size`` is None or 0 (images are never enlarged).

    >>> scaled_size((3000, 4000), 500), scaled_size((300, 400), 500), scaled_size((3000, 4000), 0)
    ((375, 500), (300, 400), (3000, 4000))
    """
    h, w = hw
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer))
                                 or max_size < 0):   # -5 had shrunk every image to one pixel
        raise ValueError(f"max_size must be an integer >= 0 (0 or None: no limit), got {max_size!r}")
    if not max_size or max(h, w) <= max_size:
        return h, w
    scale = max_size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def _nearest(a, hw):
    """``a`` (h, w) resampled to ``hw`` by nearest neighbour (each output pixel takes the input
    pixel its centre falls in): class ids stay class ids."""
    rows = ((np.arange(hw[0]) + 0.5) * a.shape[0] / hw[0]).astype(np.int64)
    cols = ((np.arange(hw[1]) + 0.5) * a.shape[1] / hw[1]).astype(np.int64)
    return a[rows[:, None], cols[None, :]]


def predict_array(model, image, convention: str = "unit", device: str = "cpu",
                  samples: int | None = None, max_size: int | None = None):
    """Class ids ``(H, W)`` (int64) for an ``(H, W, 3)`` RGB ``uint8`` image, and an uncertainty map.

    With ``samples`` (Bayesian SegNet) the model's ``mc_predict`` draws that many dropout samples:
    the prediction is the argmax of the mean softmax and the uncertainty ``(H, W)`` the per-class
    softmax variance averaged over classes; otherwise the uncertainty is None.

    With ``max_size``, an image whose longer side exceeds it is segmented shrunk to that side
    (:func:`scaled_size`; Pillow's bilinear filter, which averages over the pixels it drops) and
    both maps are scaled back to ``(H, W)`` by nearest neighbour. A net sees objects at the
    scale it was trained at, and its memory grows with the pixels: a 4000 x 3000 phone photo
    holds 64 times a 500 x 375 VOC image's.
    """
    from .data.transforms import Normalize
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape} "
                         f"dtype {image.dtype}")
    full = image.shape[:2]
    small = scaled_size(full, max_size)
    if small != full:
        from PIL import Image
        image = np.asarray(Image.fromarray(image).resize(small[::-1], Image.BILINEAR))
        try:
            pred, unc = predict_array(model, image, convention, device, samples)
        except ValueError as e:   # "input 2x500 is too small": the size the file never had
            raise ValueError(f"{full[0]}x{full[1]} pixels, shrunk to {small[0]}x{small[1]} "
                             f"(max_size {max_size}; 0 keeps its size): {e}") from None
        return _nearest(pred, full), None if unc is None else _nearest(unc, full)
    x, _ = Normalize(convention)(image, None)
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])  # (1, 3, H, W)
    xd = Tensor(backend.to_device(x, device))
    model.eval()
    with no_grad():
        if samples:
            if not hasattr(model, "mc_predict"):
                raise ValueError(f"--samples needs a Bayesian model with mc_predict; "
                                 f"{type(model).__name__} has none")
            _, pred, unc = model.mc_predict(xd, samples)  # mean probs, argmax, variance
            return (backend.to_numpy(pred)[0].astype(np.int64),
                    backend.to_numpy(unc)[0].astype(np.float32))
        scores = model(xd).data
    pred = backend.to_numpy(scores.argmax(axis=1))[0]
    return pred.astype(np.int64), None


def predict_file(model, image_path, out_dir, convention: str = "unit", device: str = "cpu",
                 samples: int | None = None, alpha: float = 0.5, name: str | None = None,
                 classes=None, max_size: int | None = None, uncertainty_max: float | None = None) -> dict:
    """Segment ``image_path``; write ``<name>_mask.png`` (an indexed PNG: the class ids, coloured
    by VOC's palette), ``<name>_overlay.png`` and, with ``samples``, ``<name>_uncertainty.png``
    (its legend naming ``classes`` when given; colours from 0 to ``uncertainty_max``, default
    the map's largest value) and ``<name>_uncertainty.npy`` (the values, (H, W) float32, for
    thresholds and statistics across images) into ``out_dir``; return their paths. ``name``
    defaults to the image's file name without its suffix. ``max_size``: as
    :func:`predict_array`'s (the files keep the image's own size).
    """
    from . import viz
    image = read_image(image_path)
    try:
        pred, unc = predict_array(model, image, convention, device, samples, max_size)
    except ValueError as e:   # too small for the net: say which of the images
        raise ValueError(f"image {image_path}: {e}") from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name or Path(image_path).stem
    files = {"mask": viz.save_label_png(out / f"{stem}_mask.png", pred),
             "overlay": viz.save_image(out / f"{stem}_overlay.png", viz.overlay(image, pred, alpha))}
    if unc is not None:
        files["uncertainty"] = viz.save_uncertainty(out / f"{stem}_uncertainty.png", image, pred, unc,
                                                    classes=classes, vmax=uncertainty_max)
        values = out / f"{stem}_uncertainty.npy"
        with replacing(values, ".npy") as tmp:
            np.save(tmp, np.asarray(unc, np.float32))
        files["uncertainty values"] = values
    return files
