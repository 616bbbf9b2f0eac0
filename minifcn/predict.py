"""Segment one image with a trained model: a colour mask and an overlay PNG (and, for Bayesian
SegNet, a Monte-Carlo uncertainty map).

The image is normalised as during training (the checkpoint's ``convention``) and run through
the model at its own size: FCN crops its scores to the input, SegNet's unpooling is told the size
before each pool, so neither needs padding.

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
from .autograd import Tensor, no_grad

__all__ = ["predict_array", "predict_file", "read_image"]


# Pillow's modes of 16-bit grey (and "I", 32-bit, which older Pillows give 16-bit PNGs)
_SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def read_image(path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` RGB ``uint8``, upright; ValueError naming the file if
    unreadable.

    Upright: a photo whose EXIF tag says the camera was turned is turned as a viewer shows it
    (the net was trained on upright images). 16-bit grey is scaled to 8 bits (``v / 257``):
    Pillow's ``convert("RGB")`` clips it, so a 16-bit PNG would come out nearly white.
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


def predict_array(model, image, convention: str = "unit", device: str = "cpu",
                  samples: int | None = None):
    """Class ids ``(H, W)`` (int64) for an ``(H, W, 3)`` RGB ``uint8`` image, and an uncertainty map.

    With ``samples`` (Bayesian SegNet) the model's ``mc_predict`` draws that many dropout samples:
    the prediction is the argmax of the mean softmax and the uncertainty ``(H, W)`` the per-class
    softmax variance averaged over classes; otherwise the uncertainty is None.
    """
    from .data.transforms import Normalize
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape} "
                         f"dtype {image.dtype}")
    x, _ = Normalize(convention)(image, None)
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])  # (1, 3, H, W)
    xd = Tensor(backend.to_device(x, device))
    model.eval()
    with no_grad():
        if samples:
            if not hasattr(model, "mc_predict"):
                raise ValueError(f"--samples needs a Bayesian model with mc_predict; "
                                 f"{type(model).__name__} has none")
            _, pred, unc = model.mc_predict(xd, int(samples))  # mean probs, argmax, variance
            return (backend.to_numpy(pred)[0].astype(np.int64),
                    backend.to_numpy(unc)[0].astype(np.float32))
        scores = model(xd).data
    pred = backend.to_numpy(scores.argmax(axis=1))[0]
    return pred.astype(np.int64), None


def predict_file(model, image_path, out_dir, convention: str = "unit", device: str = "cpu",
                 samples: int | None = None, alpha: float = 0.5, name: str | None = None,
                 classes=None) -> dict:
    """Segment ``image_path``; write ``<name>_mask.png`` (an indexed PNG: the class ids, coloured
    by VOC's palette), ``<name>_overlay.png`` (and ``<name>_uncertainty.png`` with ``samples``,
    its legend naming ``classes`` when given) into ``out_dir``; return their paths. ``name``
    defaults to the image's file name without its suffix.
    """
    from . import viz
    image = read_image(image_path)
    pred, unc = predict_array(model, image, convention, device, samples)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name or Path(image_path).stem
    files = {"mask": viz.save_label_png(out / f"{stem}_mask.png", pred),
             "overlay": viz.save_image(out / f"{stem}_overlay.png", viz.overlay(image, pred, alpha))}
    if unc is not None:
        files["uncertainty"] = viz.save_uncertainty(out / f"{stem}_uncertainty.png", image, pred, unc,
                                                    classes=classes)
    return files
