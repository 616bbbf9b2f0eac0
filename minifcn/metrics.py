"""Segmentation metrics from one confusion matrix, as the FCN paper and pytorch-fcn compute them.

Everything starts from a ``(C, C)`` confusion matrix ``M`` accumulated over a whole split:
``M[t, p]`` counts the pixels whose ground truth is ``t`` and whose prediction is ``p``
(rows = ground truth, columns = prediction). Pixels labelled with the ignore index (255, VOC's
boundary band) are left out. From ``M``:

- pixel accuracy   = trace(M) / sum(M)
- per-class acc    = M[i, i] / sum_j M[i, j]              (recall; nan for a class absent from the truth)
- per-class IoU    = M[i, i] / (row_i + col_i - M[i, i])  (nan when the class is in neither truth nor prediction)
- mean acc / mean IoU = nanmean over classes (absent classes do not count, pytorch-fcn's choice)
- f.w. IoU         = sum over classes with freq > 0 of freq_i * IoU_i, freq_i = row_i / sum(M)

>>> import numpy as np
>>> cm = confusion_matrix(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 255]]), 2)
>>> cm
array([[1, 1],
       [0, 1]])
>>> round(segmentation_scores(cm)["mean_iou"], 4)
0.5
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from .backend import get_array_module, to_numpy

__all__ = ["confusion_matrix", "ConfusionMatrix", "segmentation_scores", "boundary_f1",
           "BoundaryF1", "mask_boundary", "within_distance", "format_scores"]


def confusion_matrix(pred, target, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Confusion matrix of integer predictions against ground-truth labels.

    Shapes: ``pred`` and ``target`` any identical shape, e.g. ``(N, H, W)`` or ``(H, W)``;
    returns a NumPy ``int64`` array of shape ``(num_classes, num_classes)``, rows = ground truth,
    columns = prediction. Only pixels whose target is in ``[0, num_classes)`` count; pixels
    equal to ``ignore_index`` are skipped. The counting is one ``bincount`` of
    ``num_classes * target + pred`` done on the arrays' own device (NumPy or CuPy).

    Args:
        pred: predicted class ids (integers in ``[0, num_classes)``), NumPy or CuPy.
        target: ground-truth class ids, ``ignore_index`` allowed.
        num_classes: C.
        ignore_index: label value to leave out (VOC's 255).

    Raises:
        ValueError: shapes differ, a target value is outside ``[0, C)`` and is not the ignore
            index, or a prediction at a pixel that counts is outside ``[0, C)`` (silently
            wrapping such values would corrupt the scores; at an ignored pixel the prediction
            is not read, as in pytorch-fcn).
        TypeError: ``num_classes`` is not an integer, or the ids are not integers.

    >>> import numpy as np
    >>> confusion_matrix(np.array([0, 2, 2]), np.array([0, 2, 1]), 3)
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 0, 1]])
    """
    num_classes = _num_classes(num_classes)
    # a minifcn Tensor: count on the array inside
    pred = pred.data if hasattr(pred, "requires_grad") else pred
    target = target.data if hasattr(target, "requires_grad") else target
    xp = get_array_module(pred, target)
    pred = xp.asarray(pred)
    target = xp.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}; "
                         "expected identical shapes (argmax the scores over the class axis first)")
    for name, a in (("pred", pred), ("target", target)):
        if a.dtype.kind not in "iub":
            raise TypeError(f"{name} must hold integer class ids, got dtype {a.dtype}")
    given_t, given_p = target.ravel(), pred.ravel()   # the values named in an error: uint64's
    target = given_t.astype(xp.int64)                   # 2**64 - 1 reads -1 as int64
    pred = given_p.astype(xp.int64)
    valid = target != ignore_index
    bad_t = valid & ((target < 0) | (target >= num_classes))
    if bool(bad_t.any()):
        v = int(given_t[bad_t][0])
        raise ValueError(f"target holds label {v}, outside [0, {num_classes}) and not the "
                         f"ignore index {ignore_index}")
    t, p = target[valid], pred[valid]
    bad_p = (p < 0) | (p >= num_classes)
    if bool(bad_p.any()):
        v = int(given_p[valid][bad_p][0])
        raise ValueError(f"pred holds class {v}, outside [0, {num_classes})")
    counts = xp.bincount(num_classes * t + p, minlength=num_classes * num_classes)
    return to_numpy(counts).reshape(num_classes, num_classes).astype(np.int64)


def _num_classes(value) -> int:
    """``value`` as a class count: an integer of at least 1 (2.7 had counted 2 classes)."""
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"num_classes must be an integer, got {value!r}") from None
    if n < 1:
        raise ValueError(f"num_classes must be >= 1, got {n}")
    return n


class ConfusionMatrix:
    """Accumulates a confusion matrix over many batches (one matrix per split, as the paper).

    >>> import numpy as np
    >>> cm = ConfusionMatrix(2)
    >>> cm.update(np.array([0, 1]), np.array([0, 0]))
    >>> cm.update(np.array([1]), np.array([1]))
    >>> cm.matrix
    array([[1, 1],
           [0, 1]])
    >>> round(cm.scores()["pixel_acc"], 4)
    0.6667
    """

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.num_classes = _num_classes(num_classes)
        self.ignore_index = ignore_index
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, pred, target) -> None:
        """Add the pixels of one batch: ``pred``/``target`` of the same shape (e.g. N, H, W)."""
        self.matrix = self.matrix + confusion_matrix(pred, target, self.num_classes,
                                                     self.ignore_index)

    def reset(self) -> None:
        """Zero the counts."""
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def scores(self) -> dict:
        """``segmentation_scores(self.matrix)``."""
        return segmentation_scores(self.matrix)


def segmentation_scores(confusion) -> dict:
    """Pixel acc, mean acc, mean IoU, f.w. IoU and per-class IoU from a ``(C, C)`` matrix.

    Exactly pytorch-fcn's ``label_accuracy_score``: means are ``nanmean`` over classes, so a
    class absent from both ground truth and prediction (IoU 0/0 = nan) does not count; f.w.
    IoU sums ``freq * IoU`` over classes with ``freq > 0``.

    Returns a dict of Python floats: ``pixel_acc``, ``mean_acc``, ``mean_iou``, ``fw_iou`` and
    ``per_class_iou`` (a list of C floats, nan for absent classes). An all-zero matrix gives nan.

    >>> import numpy as np
    >>> s = segmentation_scores(np.array([[3, 1], [0, 0]]))
    >>> s["pixel_acc"], s["mean_acc"], s["per_class_iou"]
    (0.75, 0.75, [0.75, 0.0])
    """
    hist = np.asarray(to_numpy(confusion), dtype=np.float64)
    if hist.ndim != 2 or hist.shape[0] != hist.shape[1]:
        raise ValueError(f"confusion must be a square (C, C) matrix, got shape {hist.shape}")
    if not (np.isfinite(hist).all() and (hist >= 0).all()):   # counts: else acc 1.5, IoU inf
        bad = hist[~(np.isfinite(hist) & (hist >= 0))][0]
        raise ValueError(f"confusion must hold pixel counts (finite, >= 0), got an entry {bad}")
    total = hist.sum()
    diag = np.diag(hist)
    rows, cols = hist.sum(axis=1), hist.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pixel_acc = diag.sum() / total
        acc_cls = diag / rows
        iou = diag / (rows + cols - diag)
        freq = rows / total
    mean_acc = float(np.nanmean(acc_cls)) if np.any(~np.isnan(acc_cls)) else math.nan
    mean_iou = float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else math.nan
    fw = float((freq[freq > 0] * iou[freq > 0]).sum()) if total > 0 else math.nan
    return {
        "pixel_acc": float(pixel_acc),
        "mean_acc": mean_acc,
        "mean_iou": mean_iou,
        "fw_iou": fw,
        "per_class_iou": [float(v) for v in iou],
    }


# ----------------------------------------------------------------------------- boundary F1 (BF)
# The SegNet paper's fifth measure (Badrinarayanan et al., TPAMI 2017, section 4), after Csurka,
# Larlus and Perronnin (BMVC 2013): the confusion matrix scores regions, BF scores their outlines.

def mask_boundary(mask):
    """The boundary pixels of a boolean mask: pixels of the mask with a 4-neighbour outside it.

    Shapes: ``mask`` ``(..., H, W)`` -> boolean ``(..., H, W)``, over the last two axes. Pixels
    beyond the image frame count as outside, so a mask touching the frame has a boundary along
    it (MATLAB's ``bfscore``: a one-pixel erosion by the 4-neighbour cross of the zero-padded
    mask). Any non-empty mask therefore has a non-empty boundary.

    >>> import numpy as np
    >>> m = np.zeros((4, 5), bool); m[:3, 1:4] = True
    >>> mask_boundary(m).astype(int)
    array([[0, 1, 1, 1, 0],
           [0, 1, 0, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])
    """
    xp = get_array_module(mask)
    mask = _image_axes(xp.asarray(mask, dtype=bool), "mask")
    # zero padding: the frame's outside is outside every mask
    m = xp.pad(mask, [(0, 0)] * (mask.ndim - 2) + [(1, 1), (1, 1)])
    interior = (m[..., 1:-1, 1:-1] & m[..., :-2, 1:-1] & m[..., 2:, 1:-1]
                & m[..., 1:-1, :-2] & m[..., 1:-1, 2:])
    return mask & ~interior


def _image_axes(a, name: str):
    """``a`` itself, once it is known to have the two image axes ``(..., H, W)``."""
    if a.ndim < 2:
        raise ValueError(f"{name} must be an image (..., H, W), got shape {tuple(a.shape)}")
    return a


def _or_shifted(out, src, dy: int, dx: int) -> None:
    """``out[y, x] |= src[y + dy, x + dx]`` where both are inside the image (in place)."""
    h, w = src.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return    # shifted wholly out of the image
    ys, yd = (slice(dy, None), slice(None, h - dy)) if dy >= 0 else (slice(None, h + dy), slice(-dy, None))
    xs, xd = (slice(dx, None), slice(None, w - dx)) if dx >= 0 else (slice(None, w + dx), slice(-dx, None))
    out[..., yd, xd] |= src[..., ys, xs]


def within_distance(feature, theta: float):
    """Pixels whose Euclidean distance to the nearest ``True`` pixel of ``feature`` is ``< theta``.

    Shapes: ``feature`` boolean ``(..., H, W)`` -> boolean ``(..., H, W)``, over the last two
    axes; distances are between pixel centres, so a pixel is within ``theta`` of itself.

    This is the dilation of ``feature`` by the disk ``{(dy, dx): sqrt(dy^2 + dx^2) < theta}``
    (the square root rounded to float64, as a brute force computes it: at ``theta =
    math.sqrt(2)`` the diagonal neighbours are out), exact, done with shifted ORs: the disk is
    the union over columns ``dx`` of vertical runs ``|dy| <= k(dx)``, ``k(dx)`` the largest
    ``k`` with ``sqrt(k^2 + dx^2) < theta``; the vertical dilation by ``k`` grows one step at a
    time as ``dx`` falls from ``r = ceil(theta) - 1`` to 0 (``k`` rises), and each ``dx`` ORs
    it in at ``+-dx``: ``4r + 1`` ORs of boolean arrays in all,
    where ORing each of the disk's ``~pi r^2`` offsets takes ~6x as long (0.38 ms against 2.2 ms
    for a 500 x 500 mask, theta 5.3, on one CPU core; a separable squared-distance transform
    capped at ``r``, in ``uint8``, took 2.5 ms).

    Args:
        feature: boolean mask (NumPy or CuPy).
        theta: the distance, ``> 0`` (pixels).

    >>> import numpy as np
    >>> f = np.zeros((5, 5), bool); f[2, 2] = True
    >>> within_distance(f, 1.5).astype(int)     # the 3 x 3 square: sqrt(2) < 1.5
    array([[0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])
    """
    theta = _theta(theta)
    xp = get_array_module(feature)
    feature = _image_axes(xp.asarray(feature, dtype=bool), "feature")
    h, w = feature.shape[-2:]
    r = min(math.ceil(theta) - 1, max(h, w))   # offsets of at least max(h, w) shift nothing in
    out = xp.zeros_like(feature)
    column = feature.copy()   # feature dilated vertically by k
    k = 0
    for dx in range(r, -1, -1):
        # the distance as math.sqrt gives it, never k^2 + dx^2 < theta * theta: the square
        # rounds (math.sqrt(2) ** 2 is 2.0000000000000004), and a pixel at exactly sqrt(2)
        # would count at theta = math.sqrt(2). math.sqrt is correctly rounded (IEEE 754) and
        # k^2 + dx^2 < 2^53 is an exact float, so this is the test of every float64 brute force
        # (naive.boundary_f1's) for every float theta, and math.sqrt(m) < math.sqrt(m) is False
        while math.sqrt((k + 1) * (k + 1) + dx * dx) < theta and k < max(h, w):   # the run to k(dx)
            k += 1
            _or_shifted(column, feature, k, 0)
            _or_shifted(column, feature, -k, 0)
        _or_shifted(out, column, 0, dx)
        if dx:
            _or_shifted(out, column, 0, -dx)
    return out


def _theta(value) -> float:
    """``value`` as a distance threshold: a finite number > 0 (pixels)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):   # "3" too: no parsing
        raise TypeError(f"theta must be a number of pixels, got {value!r}")
    theta = float(value)
    if not (math.isfinite(theta) and theta > 0):
        raise ValueError(f"theta must be a finite distance > 0 in pixels, got {value!r}")
    return theta


def _label_image(pred, target, num_classes: int, ignore_index: int):
    """Check one image's ``(H, W)`` prediction and labels; the arrays as int64 on their device,
    and the mask of the labelled (not ignored) pixels."""
    pred = pred.data if hasattr(pred, "requires_grad") else pred   # a minifcn Tensor
    target = target.data if hasattr(target, "requires_grad") else target
    xp = get_array_module(pred, target)
    pred, target = xp.asarray(pred), xp.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}; "
                         "expected identical shapes (argmax the scores over the class axis first)")
    if target.ndim != 2:
        raise ValueError(f"expected one image's (H, W) labels, got shape {tuple(target.shape)} "
                         "(BoundaryF1.update takes a batch (N, H, W))")
    for name, a in (("pred", pred), ("target", target)):
        if a.dtype.kind not in "iub":
            raise TypeError(f"{name} must hold integer class ids, got dtype {a.dtype}")
    given_t, given_p = target, pred   # the values named in an error (uint64's 2**64 - 1 is -1 as int64)
    target, pred = target.astype(xp.int64), pred.astype(xp.int64)
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= num_classes))
    if bool(bad.any()):
        raise ValueError(f"target holds label {int(given_t[bad][0])}, outside [0, {num_classes}) "
                         f"and not the ignore index {ignore_index}")
    bad = valid & ((pred < 0) | (pred >= num_classes))
    if bool(bad.any()):
        raise ValueError(f"pred holds class {int(given_p[bad][0])}, outside [0, {num_classes})")
    return pred, target, valid


def boundary_f1(pred, target, num_classes: int, theta=None, ignore_index: int = 255) -> dict:
    """The boundary F1 score (BF) of one image, and its per-class precision, recall and F1.

    Shapes: ``pred`` and ``target`` ``(H, W)`` class ids (NumPy or CuPy, or Tensors).

    For each class ``c`` in the image's ground truth, take the boundary pixels
    (:func:`mask_boundary`) of the predicted mask ``pred == c`` and of the true mask
    ``target == c``; then (Csurka et al. 2013, as SegNet and MATLAB's ``bfscore`` compute it)

    - precision_c = fraction of predicted boundary pixels closer than ``theta`` to a true one
    - recall_c    = fraction of true boundary pixels closer than ``theta`` to a predicted one
    - F1_c        = 2 P R / (P + R)

    "Closer than" is strict (``d < theta``), as in those sources; distances are Euclidean between
    pixel centres (:func:`within_distance`). The image's BF is the mean of F1_c over the classes
    in its ground truth, the SegNet paper's choice; a split's BF is the mean over its images
    (:class:`BoundaryF1`).

    Edge cases, defined here (the sources leave 0/0): a class in the ground truth always has a
    true boundary; where the prediction lacks the class, its predicted boundary is empty and
    P = 0, R = 0, F1 = 0: a missed class scores 0 (MATLAB's ``bfscore`` gives NaN there, and its
    mean skips the class). P + R = 0 gives F1 = 0. Classes absent from the ground truth do not
    count (nan in the per-class lists, even where predicted: the confusion matrix's IoU sees
    those). An image with no labelled pixel has BF nan.

    Pixels labelled ``ignore_index`` are outside every class's mask, in the prediction as in the
    truth (the confusion matrix does not read the prediction there either): an outline along
    VOC's void band is then a boundary of both masks, and a predicted outline wandering inside
    the band is not seen, as IoU does not see it. MATLAB's ``evaluateSemanticSegmentation``
    takes void pixels out of the truth alone.

    Args:
        pred: predicted class ids in ``[0, num_classes)`` (read only at labelled pixels).
        target: ground-truth ids, ``ignore_index`` allowed.
        num_classes: C.
        theta: the distance tolerance in pixels; default 0.75 % of the image diagonal,
            ``0.0075 * sqrt(H^2 + W^2)`` (SegNet's; 4.69 pixels for a 500 x 375 VOC image).
        ignore_index: label value left out (VOC's 255).

    Returns a dict of Python floats: ``bf``, and the lists of C values ``per_class_f1``,
    ``per_class_precision``, ``per_class_recall`` (nan for classes absent from the truth).

    Raises:
        ValueError: shapes differ or are not ``(H, W)``; a label or prediction outside
            ``[0, C)`` (the ignore index aside); ``theta <= 0``.
        TypeError: non-integer ids or ``num_classes``.

    >>> import numpy as np
    >>> t = np.zeros((8, 8), np.int64); t[2:6, 2:6] = 1
    >>> p = np.roll(t, 1, axis=1)                  # the square shifted one pixel right
    >>> s = boundary_f1(p, t, 2, theta=1.5)
    >>> s["bf"], s["per_class_f1"]                # every outline pixel within 1.5 of the other
    (1.0, [1.0, 1.0])
    >>> round(boundary_f1(p, t, 2, theta=1.0)["per_class_f1"][1], 4)   # only the overlap counts
    0.5
    """
    num_classes = _num_classes(num_classes)
    pred, target, valid = _label_image(pred, target, num_classes, ignore_index)
    xp = get_array_module(target)
    h, w = target.shape
    nan = [math.nan] * num_classes
    # the classes of the ground truth: the ones the image's score averages over
    present = np.flatnonzero(to_numpy(xp.bincount(target[valid], minlength=num_classes)))
    if present.size == 0:
        return {"bf": math.nan, "per_class_f1": nan, "per_class_precision": list(nan),
                "per_class_recall": list(nan)}
    theta = 0.0075 * math.hypot(h, w) if theta is None else _theta(theta)
    cls = xp.asarray(present)[:, None, None]
    # (K, H, W): one mask per class present, every class at once; ignored pixels in none
    true_b = mask_boundary(target[None] == cls)
    pred_b = mask_boundary((pred[None] == cls) & valid[None])
    hit_p = (pred_b & within_distance(true_b, theta)).sum(axis=(1, 2))
    hit_t = (true_b & within_distance(pred_b, theta)).sum(axis=(1, 2))
    counts = to_numpy(xp.stack([hit_p, pred_b.sum(axis=(1, 2)), hit_t, true_b.sum(axis=(1, 2))]))
    hit_p, n_p, hit_t, n_t = counts.astype(np.float64)
    precision = np.divide(hit_p, n_p, out=np.zeros_like(hit_p), where=n_p > 0)   # 0 if none predicted
    recall = hit_t / n_t                                                        # n_t > 0: c is there
    pr = precision + recall
    f1 = np.divide(2 * precision * recall, pr, out=np.zeros_like(pr), where=pr > 0)
    per_f1, per_p, per_r = list(nan), list(nan), list(nan)
    for i, c in enumerate(present.tolist()):
        per_f1[c], per_p[c], per_r[c] = float(f1[i]), float(precision[i]), float(recall[i])
    return {"bf": float(f1.mean()), "per_class_f1": per_f1, "per_class_precision": per_p,
            "per_class_recall": per_r}


class BoundaryF1:
    """Accumulates the boundary F1 score (BF) over a split: the mean of the images' BF.

    Unlike the confusion matrix, BF is a per-image score (Csurka et al.'s argument: a split's
    images each count once, however large): ``update`` scores each image with
    :func:`boundary_f1` and keeps it in ``image_scores``. ``scores()`` gives ``bf``, the mean over
    images with a labelled pixel, and ``per_class_bf``, each class's F1 averaged over the images
    whose truth holds it (nan for a class in none).

    >>> import numpy as np
    >>> t = np.zeros((2, 8, 8), np.int64); t[:, 2:6, 2:6] = 1
    >>> acc = BoundaryF1(2, theta=1.0)
    >>> acc.update(t, t)                                   # a batch (N, H, W): two perfect images
    >>> acc.update(np.zeros((8, 8), np.int64), t[0])       # one image that misses the square
    >>> [round(v, 4) for v in acc.image_scores]           # 3rd: (F1 of the background 56/72 + 0) / 2
    [1.0, 1.0, 0.3889]
    >>> s = acc.scores()
    >>> round(s["bf"], 4), [round(v, 4) for v in s["per_class_bf"]], s["num_images"]
    (0.7963, [0.9259, 0.6667], 3)
    """

    def __init__(self, num_classes: int, theta=None, ignore_index: int = 255):
        self.num_classes = _num_classes(num_classes)
        self.theta = None if theta is None else _theta(theta)
        self.ignore_index = ignore_index
        self.reset()

    def update(self, pred, target) -> None:
        """Score one image ``(H, W)`` or a batch ``(N, H, W)`` of them."""
        pred = pred.data if hasattr(pred, "requires_grad") else pred
        target = target.data if hasattr(target, "requires_grad") else target
        if getattr(target, "ndim", 0) == 3 and getattr(pred, "shape", None) == target.shape:
            pairs = zip(pred, target)
        else:
            pairs = [(pred, target)]   # boundary_f1 names any bad shape
        for p, t in pairs:
            s = boundary_f1(p, t, self.num_classes, self.theta, self.ignore_index)
            self.image_scores.append(s["bf"])
            f1 = np.asarray(s["per_class_f1"])
            seen = ~np.isnan(f1)
            self._class_sum[seen] += f1[seen]
            self._class_count += seen

    def reset(self) -> None:
        """Forget every image."""
        self.image_scores = []
        self._class_sum = np.zeros(self.num_classes)
        self._class_count = np.zeros(self.num_classes, dtype=np.int64)

    def scores(self) -> dict:
        """``bf`` (nan before any labelled image), ``per_class_bf`` (C floats) and
        ``num_images`` (those with a labelled pixel, which the mean is over)."""
        scored = [v for v in self.image_scores if not math.isnan(v)]
        with np.errstate(invalid="ignore"):
            per = self._class_sum / self._class_count
        return {"bf": float(np.mean(scored)) if scored else math.nan,
                "per_class_bf": [float(v) for v in per], "num_images": len(scored)}


def format_scores(scores: dict, class_names=None) -> str:
    """A printable table: the four summary scores (and ``bf``, the boundary F1 score, where
    ``scores`` has it), then one IoU line per class.

    >>> print(format_scores(segmentation_scores([[3, 1], [0, 0]]), ["bg", "cat"]))
    pixel_acc  0.7500
    mean_acc   0.7500
    mean_iou   0.3750
    fw_iou     0.7500
    class  IoU
    bg     0.7500
    cat    0.0000
    """
    per = scores.get("per_class_iou", [])
    if class_names is None:
        class_names = [str(i) for i in range(len(per))]
    class_names = [str(c) for c in class_names]
    if len(class_names) != len(per):
        raise ValueError(f"got {len(class_names)} class names for {len(per)} classes")
    names = ("pixel_acc", "mean_acc", "mean_iou", "fw_iou") + (("bf",) if "bf" in scores else ())
    lines = [f"{k:<10} {scores[k]:.4f}" for k in names]
    width = max([5] + [len(c) for c in class_names])
    lines.append(f"{'class':<{width}}  IoU")
    for name, v in zip(class_names, per):
        lines.append(f"{name:<{width}}  " + ("   nan" if math.isnan(v) else f"{v:.4f}"))
    return "\n".join(lines)
