"""Tests for minifcn.metrics: a hand-worked example, an independent loop oracle, nan handling."""
import math

import numpy as np
import pytest

from minifcn.metrics import ConfusionMatrix, confusion_matrix, format_scores, segmentation_scores


def test_hand_worked_example():
    # 8 pixels, 3 classes; the 7th pixel is the ignore label and drops out.
    target = np.array([0, 0, 0, 1, 1, 2, 255, 0])
    pred = np.array([0, 0, 1, 1, 2, 2, 1, 0])
    # (t, p) pairs kept: (0,0) x3, (0,1), (1,1), (1,2), (2,2)
    #   M = [[3, 1, 0],
    #        [0, 1, 1],
    #        [0, 0, 1]]      total 7, trace 5
    cm = confusion_matrix(pred, target, 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, [[3, 1, 0], [0, 1, 1], [0, 0, 1]])
    s = segmentation_scores(cm)
    # pixel acc = 5 / 7
    assert s["pixel_acc"] == pytest.approx(5 / 7)
    # recall per class = 3/4, 1/2, 1/1 -> mean 0.75
    assert s["mean_acc"] == pytest.approx(0.75)
    # row sums [4, 2, 1], column sums [3, 2, 2];
    # IoU = 3/(4+3-3) = 3/4, 1/(2+2-1) = 1/3, 1/(1+2-1) = 1/2
    assert s["per_class_iou"] == pytest.approx([0.75, 1 / 3, 0.5])
    assert s["mean_iou"] == pytest.approx((0.75 + 1 / 3 + 0.5) / 3)
    # freq = 4/7, 2/7, 1/7: fw = 3/7 + 2/21 + 1/14 = (18 + 4 + 3) / 42 = 25/42
    assert s["fw_iou"] == pytest.approx(25 / 42)


def _oracle(pred, target, c):
    """Pixel-by-pixel loops, written independently of the vectorised code."""
    m = [[0] * c for _ in range(c)]
    for p, t in zip(pred.ravel().tolist(), target.ravel().tolist()):
        if 0 <= t < c:
            m[t][p] += 1
    total = sum(map(sum, m))
    accs, ious, fw = [], [], 0.0
    for i in range(c):
        row = sum(m[i])
        col = sum(m[j][i] for j in range(c))
        if row:
            accs.append(m[i][i] / row)
        union = row + col - m[i][i]
        if union:
            ious.append(m[i][i] / union)
            fw += (row / total) * (m[i][i] / union)
    acc = sum(m[i][i] for i in range(c)) / total
    return np.array(m), acc, sum(accs) / len(accs), sum(ious) / len(ious), fw


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_loop_oracle(seed):
    rng = np.random.default_rng(seed)
    c = 5
    target = rng.integers(0, c, size=(3, 17, 13))
    target[rng.random(target.shape) < 0.1] = 255
    pred = np.where(rng.random(target.shape) < 0.6, np.where(target == 255, 0, target),
                    rng.integers(0, c, size=target.shape))
    acc = ConfusionMatrix(c)
    for n in range(3):  # accumulating per image equals one matrix over the split
        acc.update(pred[n], target[n])
    m, pa, ma, miou, fw = _oracle(pred, target, c)
    np.testing.assert_array_equal(acc.matrix, m)
    np.testing.assert_array_equal(confusion_matrix(pred, target, c), m)
    s = acc.scores()
    assert s["pixel_acc"] == pytest.approx(pa)
    assert s["mean_acc"] == pytest.approx(ma)
    assert s["mean_iou"] == pytest.approx(miou)
    assert s["fw_iou"] == pytest.approx(fw)
    acc.reset()
    assert acc.matrix.sum() == 0


def test_absent_classes_are_nan_and_skipped():
    # class 3 never appears (truth or prediction) -> IoU nan, not counted in means.
    # class 2 is predicted but absent from the truth -> recall nan, IoU 0 (counted).
    target = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])
    s = segmentation_scores(confusion_matrix(pred, target, 4))
    iou = s["per_class_iou"]
    assert math.isnan(iou[3]) and iou[2] == 0.0
    assert iou[0] == pytest.approx(0.5) and iou[1] == pytest.approx(1.0)
    assert s["mean_iou"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert s["mean_acc"] == pytest.approx((0.5 + 1.0) / 2)  # recall over classes 0, 1 only
    table = format_scores(s, ["bg", "a", "b", "c"])
    assert "nan" in table.splitlines()[-1]


def test_ignore_index_pixels_do_not_count():
    target = np.full((4, 4), 255)
    target[0, 0] = 1
    pred = np.zeros((4, 4), dtype=np.int64)  # wrong everywhere except nowhere
    cm = confusion_matrix(pred, target, 2)
    assert cm.sum() == 1 and cm[1, 0] == 1
    # a custom ignore index
    cm = confusion_matrix(np.array([0, 0]), np.array([1, -1]), 2, ignore_index=-1)
    assert cm.sum() == 1


def test_errors():
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.zeros((2, 3), int), np.zeros((3, 2), int), 2)
    with pytest.raises(ValueError, match="label 7"):
        confusion_matrix(np.zeros(3, int), np.array([0, 7, 1]), 3)
    with pytest.raises(ValueError, match="label -1"):
        confusion_matrix(np.zeros(3, int), np.array([0, -1, 1]), 3)
    with pytest.raises(ValueError, match="pred holds class 3"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(TypeError, match="float"):
        confusion_matrix(np.zeros(3), np.zeros(3, int), 3)
    with pytest.raises(ValueError, match="square"):
        segmentation_scores(np.zeros((2, 3)))
    # what had passed: a negative count (pixel acc 1.5, IoU inf), 2.7 classes (counted as 2),
    # a uint64 label named as the int64 it wraps to
    with pytest.raises(ValueError, match="pixel counts .* got an entry -1.0"):
        segmentation_scores(np.array([[1, -1], [0, 2]]))
    with pytest.raises(ValueError, match="got an entry nan"):
        segmentation_scores(np.array([[1, np.nan], [0, 2]]))
    for bad in (2.7, "3"):
        with pytest.raises(TypeError, match="num_classes must be an integer"):
            ConfusionMatrix(bad)
        with pytest.raises(TypeError, match="num_classes must be an integer"):
            confusion_matrix(np.zeros(2, int), np.zeros(2, int), bad)
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        ConfusionMatrix(0)
    with pytest.raises(ValueError, match=f"label {2**64 - 1}, outside"):
        confusion_matrix(np.array([0, 1]), np.array([2**64 - 1, 1], np.uint64), 2)
    with pytest.raises(ValueError, match=f"pred holds class {2**64 - 2}"):
        confusion_matrix(np.array([0, 2**64 - 2], np.uint64), np.array([255, 1]), 2)
    # a prediction at an ignored pixel is not read (pytorch-fcn's rule), whatever it holds
    assert confusion_matrix(np.array([-7, 1]), np.array([255, 1]), 2).sum() == 1


def test_empty_matrix_gives_nan():
    s = segmentation_scores(np.zeros((3, 3), dtype=np.int64))
    assert math.isnan(s["pixel_acc"]) and math.isnan(s["mean_iou"]) and math.isnan(s["fw_iou"])
