"""Pictures of segmentations: colour masks, overlays, prediction grids, training curves.

Everything is NumPy + Pillow, and matplotlib through its object API (``Figure`` + the Agg canvas,
never pyplot), so it works headless and never changes the global backend. Every file is written
to a temporary name in the target directory and renamed into place (``os.replace``).

``log.csv`` columns (written by the training loop, read by ``plot_curves``)::

    epoch, iteration, train_loss, val_loss, pixel_acc, mean_acc, mean_iou, fw_iou, lr, time

one row per validation; ``plot_curves`` reads an empty cell as NaN.

>>> import numpy as np
>>> colorize(np.array([[0, 1], [15, 255]])).tolist()
[[[0, 0, 0], [128, 0, 0]], [[192, 128, 128], [255, 255, 255]]]
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from PIL import Image

from ._files import replacing
from .backend import to_numpy
from .data.voc import voc_palette

__all__ = ["colorize", "overlay", "save_image", "save_label_png", "save_prediction_grid", "legend_strip",
           "plot_curves", "save_uncertainty", "LOG_COLUMNS"]

LOG_COLUMNS = ("epoch", "iteration", "train_loss", "val_loss", "pixel_acc", "mean_acc",
               "mean_iou", "fw_iou", "lr", "time")


def _palette(palette=None) -> np.ndarray:
    """``palette`` (K, 3) as ``uint8`` (default VOC's), padded to 256 colours with VOC's, so that
    255 and any id below 256 can be looked up."""
    pal = voc_palette() if palette is None else np.asarray(palette, dtype=np.uint8)
    if pal.ndim != 2 or pal.shape[1] != 3:
        raise ValueError(f"palette must be (K, 3), got shape {pal.shape}")
    if pal.shape[0] < 256:
        pal = np.concatenate([pal, voc_palette()[pal.shape[0]:]], axis=0)
    return pal


def colorize(label, palette=None, ignore_color=(255, 255, 255)) -> np.ndarray:
    """Class ids ``(H, W)`` -> RGB ``(H, W, 3)`` ``uint8`` through a palette (default VOC's).

    The ignore label 255 is drawn ``ignore_color`` (white; pass ``None`` to keep the palette's
    255 entry, VOC's cream (224, 224, 192), or ``(0, 0, 0)`` for black).

    >>> import numpy as np
    >>> colorize(np.array([[2, 255]]), ignore_color=(0, 0, 0)).tolist()
    [[[0, 128, 0], [0, 0, 0]]]
    """
    label = to_numpy(label)
    if label.ndim != 2:
        raise ValueError(f"label must be (H, W), got shape {label.shape}")
    if label.dtype.kind not in "iu":
        raise TypeError(f"label must hold integer class ids, got dtype {label.dtype}")
    pal = _palette(palette)
    if label.size and (label.min() < 0 or label.max() >= pal.shape[0]):
        raise ValueError(f"label values must be in [0, {pal.shape[0]}), got "
                         f"[{label.min()}, {label.max()}]")
    pal = pal.copy()
    if ignore_color is not None:
        pal[255] = ignore_color
    return pal[label]


def _rgb_uint8(image) -> np.ndarray:
    """Accept (H, W, 3) or (3, H, W), uint8 or float in [0, 1] / [0, 255]; return HWC uint8."""
    image = to_numpy(image)
    if image.ndim == 3 and image.shape[0] == 3 and image.shape[2] != 3:
        image = image.transpose(1, 2, 0)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) or (3, H, W), got shape {image.shape}")
    if image.dtype != np.uint8:
        x = image.astype(np.float64)
        if not np.isfinite(x).all():   # a cast would make NaN black, with a warning
            raise ValueError("image holds values that are not finite (NaN or inf)")
        if x.size and x.max() <= 1.0:
            x = x * 255.0
        image = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return image


def overlay(image, label, alpha: float = 0.5, palette=None) -> np.ndarray:
    """Blend the colour mask over the image: ``(1 - alpha) * image + alpha * colour``.

    Background (0) and ignore (255) pixels are left as the image. ``image`` ``(H, W, 3)`` (or
    CHW, or floats in [0, 1]); ``label`` ``(H, W)``; returns ``(H, W, 3)`` ``uint8``.

    >>> import numpy as np
    >>> overlay(np.full((1, 2, 3), 100, np.uint8), np.array([[0, 1]]), 0.5).tolist()
    [[[100, 100, 100], [114, 50, 50]]]
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    image = _rgb_uint8(image)
    label = to_numpy(label)
    if label.shape != image.shape[:2]:
        raise ValueError(f"label shape {label.shape} != image size {image.shape[:2]}")
    colour = colorize(label, palette).astype(np.float64)
    out = image.astype(np.float64)
    fg = ((label != 0) & (label != 255))[..., None]
    out = np.where(fg, (1 - alpha) * out + alpha * colour, out)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def save_label_png(path, label, palette=None) -> Path:
    """Write class ids ``(H, W)`` as an indexed PNG, atomically: each pixel's value is its class
    id and the file's palette (default VOC's) colours it, as VOC's ``SegmentationClass`` files
    and the VOC evaluation server's submissions are. A viewer shows the colour mask;
    ``np.array(Image.open(path))`` gives the ids back. Ids must lie in [0, 255].

    >>> import tempfile, os, numpy as np
    >>> p = save_label_png(os.path.join(tempfile.mkdtemp(), "m.png"), np.array([[0, 1], [15, 255]]))
    >>> im = Image.open(p); im.mode, np.array(im).tolist(), im.convert("RGB").getpixel((1, 0))
    ('P', [[0, 1], [15, 255]], (128, 0, 0))
    """
    path = Path(path)
    label = to_numpy(label)
    if label.ndim != 2 or label.dtype.kind not in "iu":
        raise ValueError(f"label must be (H, W) integer class ids, got shape {label.shape}, dtype {label.dtype}")
    if label.size and (label.min() < 0 or label.max() > 255):
        raise ValueError(f"an indexed PNG holds ids in [0, 255], got [{label.min()}, {label.max()}]")
    pal = _palette(palette)
    if len(pal) > 256:
        raise ValueError(f"an indexed PNG's palette holds at most 256 colours, got {len(pal)}")
    im = Image.fromarray(label.astype(np.uint8))     # mode "L", the ids as they are
    im.putpalette(pal.reshape(-1).tolist())           # "L" -> "P": the ids index the palette
    with replacing(path, path.suffix) as tmp:
        im.save(tmp, format="PNG")
    return path


def save_image(path, array) -> Path:
    """Write an ``(H, W, 3)`` ``uint8`` (or ``(H, W)``) array as an image file, atomically.

    >>> import tempfile, os, numpy as np
    >>> p = save_image(os.path.join(tempfile.mkdtemp(), "a.png"), np.zeros((2, 2, 3), np.uint8))
    >>> p.name
    'a.png'
    """
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        # a cast had wrapped 300 to 44 and made floats in [0, 1] black
        raise ValueError(f"save_image: expected an (H, W, 3) or (H, W) uint8 array, got shape "
                         f"{array.shape} dtype {array.dtype}")
    fmt = _fmt(path)
    with replacing(path, path.suffix) as tmp:
        Image.fromarray(array).save(tmp, format=fmt)
    return path


def _fmt(path: Path) -> str:
    """The image format a file name asks for: PNG without a suffix; else Pillow's for it (a
    .bmp had been written as PNG bytes)."""
    if not path.suffix:
        return "PNG"
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: no image format has the suffix {path.suffix!r} (.png, .jpg ...)")
    return fmt


def _save_figure(fig, path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    path = Path(path)
    with replacing(path, path.suffix) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=100)
    return path


def _text_box(draw, text, font):
    """``(left, top, right, bottom)`` of ``text`` drawn at the origin. Pillow before 9.2 has
    no box for its built-in bitmap font (``textbbox`` raises), only a size."""
    try:
        return draw.textbbox((0, 0), text, font=font)
    except ValueError:
        width, height = font.getsize(text)
        return 0, 0, width, height


def legend_strip(classes, width: int, palette=None) -> np.ndarray:
    """A white ``(h, width, 3)`` strip naming each class beside a swatch of its colour, in rows
    as wide as ``width`` allows (a name wider than that is cut at the edge).

    >>> strip = legend_strip(["background", "cat"], 120)
    >>> strip.shape[1], strip.dtype.name
    (120, 'uint8')
    >>> int((strip == (128, 0, 0)).all(axis=-1).sum())   # cat's swatch, 8 x 8 inside its outline
    64
    """
    from PIL import ImageDraw, ImageFont
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    boxes = [_text_box(probe, str(name), font) for name in classes]
    line = max([b[3] - min(b[1], 0) for b in boxes] + [10]) + 8   # a row: text or swatch, + gaps
    spots, x, y = [], 4, 4
    for box in boxes:   # swatch 10 px, 4 px, the name, 12 px to the next
        step = 10 + 4 + (box[2] - box[0]) + 12
        if x > 4 and x + step - 12 > width:
            x, y = 4, y + line
        spots.append((x, y))
        x += step
    strip = Image.new("RGB", (width, y + line), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    colors = colorize(np.arange(len(classes)).reshape(1, -1), palette)[0]
    for (x, y), name, color, box in zip(spots, classes, colors, boxes):
        draw.rectangle([x, y + 1, x + 9, y + 10], fill=tuple(int(c) for c in color),
                       outline=(128, 128, 128))
        draw.text((x + 14, y - box[1] + 1), str(name), fill=(0, 0, 0), font=font)
    return np.asarray(strip)


def save_prediction_grid(path, images, labels, preds, palette=None, max_columns: int = 8,
                         classes=None) -> Path:
    """A grid of three rows: images, ground truths, predictions (one column per sample).

    ``images``: ``N`` images ``(H, W, 3)`` / ``(3, H, W)`` (displayable: uint8, or floats in
    [0, 1]; undo a ``Normalize`` with its ``inverse`` first); ``labels``, ``preds``: ``N``
    ``(H, W)`` id maps. At most ``max_columns`` samples are drawn. Written as a PNG, 2 px gaps.
    With ``classes`` (the names of ids 0, 1, ...), a :func:`legend_strip` below says which
    colour is which.

    >>> import tempfile, os, numpy as np
    >>> p = save_prediction_grid(os.path.join(tempfile.mkdtemp(), "g.png"),
    ...                          np.zeros((2, 4, 4, 3), np.uint8), np.ones((2, 4, 4), int),
    ...                          np.zeros((2, 4, 4), int))
    >>> Image.open(p).size    # width 2 * 4 + 3 gaps * 2 px; height 3 * 4 + 4 gaps * 2 px
    (14, 20)
    """
    images, labels, preds = list(images), list(labels), list(preds)
    if not (len(images) == len(labels) == len(preds)) or not images:
        raise ValueError(f"need as many images, labels and predictions (got {len(images)}, "
                         f"{len(labels)}, {len(preds)}), at least one")
    if isinstance(max_columns, bool) or not isinstance(max_columns, (int, np.integer)) or max_columns < 1:
        raise ValueError(f"max_columns must be an integer >= 1, got {max_columns!r}")
    n = min(len(images), max_columns)
    cols = []
    for img, lab, pr in zip(images[:n], labels[:n], preds[:n]):
        img = _rgb_uint8(img)
        lab, pr = to_numpy(lab), to_numpy(pr)
        if lab.shape != img.shape[:2] or pr.shape != img.shape[:2]:
            raise ValueError(f"label {lab.shape} / prediction {pr.shape} do not match the image "
                             f"size {img.shape[:2]}")
        cols.append([img, colorize(lab, palette), colorize(pr, palette)])
    h = max(c[0].shape[0] for c in cols)
    w = max(c[0].shape[1] for c in cols)
    gap = 2
    grid = np.full((3 * h + 4 * gap, n * w + (n + 1) * gap, 3), 255, np.uint8)
    for j, col in enumerate(cols):
        for i, tile in enumerate(col):
            y, x = gap + i * (h + gap), gap + j * (w + gap)
            grid[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    if classes is not None:
        grid = np.concatenate([grid, legend_strip(classes, grid.shape[1], palette)], axis=0)
    return save_image(path, grid)


def _read_log(log_csv_path):
    path = Path(log_csv_path)
    if not path.is_file():
        raise FileNotFoundError(f"log file {path} not found")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"log file {path} has no rows")
    long = next((i for i, r in enumerate(rows, 2) if None in r), None)   # csv keys extras by None
    if long is not None:
        raise ValueError(f"log file {path}: line {long} has more fields than the header")
    missing = [c for c in ("iteration", "train_loss", "mean_iou") if c not in rows[0]]
    if missing:
        raise ValueError(f"log file {path} lacks columns {missing}; expected {LOG_COLUMNS}")

    def col(name):
        out = []
        for r in rows:
            v = r.get(name, "")
            try:
                out.append(float(v) if v not in ("", None) else math.nan)
            except ValueError:
                out.append(math.nan)
        return np.asarray(out)
    return {c: col(c) for c in rows[0].keys()}


def plot_curves(log_csv_path, out_png) -> Path:
    """Loss (train and val) and mean IoU (with pixel accuracy) against iteration, as a PNG.

    Reads a ``log.csv`` with the columns in ``LOG_COLUMNS`` (see the module docstring).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "log.csv")
    >>> _ = open(p, "w").write("epoch,iteration,train_loss,val_loss,pixel_acc,mean_acc,"
    ...     "mean_iou,fw_iou,lr,time\\n0,10,1.0,0.9,0.5,0.4,0.3,0.4,0.01,1\\n"
    ...     "1,20,0.5,0.6,0.7,0.6,0.5,0.6,0.01,2\\n")
    >>> plot_curves(p, os.path.join(d, "curves.png")).name
    'curves.png'
    """
    from matplotlib.figure import Figure
    log = _read_log(log_csv_path)
    x = log["iteration"]
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for name, style in (("train_loss", "-"), ("val_loss", "--")):
        if name in log and np.isfinite(log[name]).any():
            m = np.isfinite(log[name])
            ax1.plot(x[m], log[name][m], style, marker=".", label=name)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("loss")
    ax1.set_title("loss")
    if ax1.lines:   # none where every value is NaN (a split with no labelled pixel)
        ax1.legend()
    for name in ("mean_iou", "pixel_acc"):
        if name in log and np.isfinite(log[name]).any():
            m = np.isfinite(log[name])
            ax2.plot(x[m], log[name][m], marker=".", label=name)
    ax2.set_xlabel("iteration")
    ax2.set_ylim(0, 1)
    ax2.set_title("validation")
    ax2.grid(alpha=0.3)
    if ax2.lines:
        ax2.legend()
    fig.tight_layout()
    return _save_figure(fig, out_png)


def save_uncertainty(path, image, pred, uncertainty, palette=None, classes=None,
                     vmax: float | None = None) -> Path:
    """Image | prediction | uncertainty (a heat map with a colour bar), side by side, as a PNG.

    ``image`` ``(H, W, 3)`` displayable, ``pred`` ``(H, W)`` ids, ``uncertainty`` ``(H, W)``
    floats (Bayesian SegNet: the per-class softmax variance averaged over classes). With
    ``classes`` (the names of ids 0, 1, ...), a legend names the colours the prediction uses.
    The colours span 0 to ``vmax`` (default: this map's largest value, so two images' maps
    are comparable only with one ``vmax`` given to both).

    >>> import tempfile, os, numpy as np
    >>> p = save_uncertainty(os.path.join(tempfile.mkdtemp(), "u.png"),
    ...                      np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), int), np.ones((8, 8)))
    >>> p.suffix
    '.png'
    """
    from matplotlib.figure import Figure
    image = _rgb_uint8(image)
    pred, unc = to_numpy(pred), to_numpy(uncertainty).astype(np.float64)
    if vmax is not None and not vmax > 0:   # before any drawing
        raise ValueError(f"save_uncertainty: vmax must be > 0, got {vmax!r}")
    if pred.shape != image.shape[:2] or unc.shape != image.shape[:2]:
        raise ValueError(f"prediction {pred.shape} / uncertainty {unc.shape} do not match the "
                         f"image size {image.shape[:2]}")
    fig = Figure(figsize=(10.5, 3.5))
    axes = fig.subplots(1, 3)
    axes[0].imshow(image)
    axes[0].set_title("image")
    axes[1].imshow(colorize(pred, palette))
    axes[1].set_title("prediction")
    im = axes[2].imshow(unc, cmap="inferno", vmin=0.0 if vmax else None, vmax=vmax)
    axes[2].set_title("uncertainty")
    # the bar in an inset beside the map, not carved out of its panel: the three panels keep
    # one size, and the bar the map's height
    fig.colorbar(im, cax=axes[2].inset_axes([1.04, 0.0, 0.05, 1.0]))
    for a in axes:
        a.set_axis_off()
    shown = [] if classes is None else [int(k) for k in np.unique(pred) if k < len(classes)]
    if not shown:
        fig.tight_layout()
    else:
        from matplotlib.patches import Patch
        colors = colorize(np.array([shown]), palette)[0] / 255.0
        fig.legend(handles=[Patch(facecolor=c, edgecolor="0.5", label=classes[k])
                            for k, c in zip(shown, colors)],
                   loc="lower center", ncol=min(len(shown), 7), frameon=False)
        fig.tight_layout(rect=(0, 0.1 * math.ceil(len(shown) / 7), 1, 1))
    return _save_figure(fig, path)
