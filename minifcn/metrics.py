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
import operator

import numpy as np

from .backend import get_array_module, to_numpy

__all__ = ["confusion_matrix", "ConfusionMatrix", "segmentation_scores", "format_scores"]


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


def format_scores(scores: dict, class_names=None) -> str:
    """A printable table: the four summary scores, then one IoU line per class.

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
    lines = [f"{k:<10} {scores[k]:.4f}" for k in ("pixel_acc", "mean_acc", "mean_iou", "fw_iou")]
    width = max([5] + [len(c) for c in class_names])
    lines.append(f"{'class':<{width}}  IoU")
    for name, v in zip(class_names, per):
        lines.append(f"{name:<{width}}  " + ("   nan" if math.isnan(v) else f"{v:.4f}"))
    return "\n".join(lines)
