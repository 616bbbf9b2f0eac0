# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 9: the four segmentation metrics, by hand and by the library
#
# The FCN paper reports four numbers: pixel accuracy, mean (class) accuracy, mean IoU ("mean
# IU") and frequency-weighted IoU. All four come from one confusion matrix `M`, accumulated over
# the whole split, where `M[t, p]` counts pixels of true class `t` predicted as `p`; pixels
# labelled 255 (VOC's boundary band) do not count.
#
# Files explained: [`metrics.confusion_matrix`](../minifcn/metrics.py),
# [`metrics.ConfusionMatrix`](../minifcn/metrics.py) (accumulation over a split) and
# [`metrics.segmentation_scores`](../minifcn/metrics.py); section 4, the boundary F1 score,
# [`metrics.boundary_f1`](../minifcn/metrics.py); pictures with
# [`viz.colorize`](../minifcn/viz.py).
#
# - pixel acc = `trace(M) / sum(M)`
# - mean acc = mean over classes of `M[i, i] / row_i` (recall)
# - mean IoU = mean over classes of `M[i, i] / (row_i + col_i - M[i, i])`
# - f.w. IoU = `sum_i (row_i / sum(M)) * IoU_i`
#
# Means skip classes that are absent (0/0 = nan), as pytorch-fcn does. The paper's formulas
# divide by `n_cl`, the number of classes, taking every class to be present; where one is
# absent from a split's labels (and, for IoU, from its predictions), they have no value, and
# the mean over the classes present is what the code reports.

# %%
import math

import numpy as np

from minifcn.metrics import (ConfusionMatrix, boundary_f1, confusion_matrix, format_scores,
                             mask_boundary, segmentation_scores)
from minifcn.viz import colorize

from _common import plt, save

NAMES = ["background", "road", "pole"]

# %% [markdown]
# ## 1. A worked example
#
# A 10x10 label map: 30 "road" pixels (the top three rows), a 2x2 "pole" (4 pixels), two
# pixels of the 255 ignore band, the remaining 64 background.

# %%
gt = np.zeros((10, 10), dtype=np.int64)
gt[0:3, :] = 1
gt[6:8, 6:8] = 2
gt[9, 0:2] = 255
n_bg, n_road, n_pole = (gt == 0).sum(), (gt == 1).sum(), (gt == 2).sum()
counted = n_bg + n_road + n_pole
assert (n_bg, n_road, n_pole, counted) == (64, 30, 4, 98)

# %% [markdown]
# Two predictions, each wrong on exactly 4 pixels, both times calling them background:
#
# - **A** misses the whole pole (the 4 pole pixels become background);
# - **B** gets the pole right but calls 4 road pixels background.
#
# Both predict something arbitrary on the ignored pixels.

# %%
pred_a = np.where(gt == 255, 1, gt)
pred_a[gt == 2] = 0
pred_b = np.where(gt == 255, 2, gt)
pred_b[2, 0:4] = 0
errors = 4
assert (pred_a != gt)[gt != 255].sum() == (pred_b != gt)[gt != 255].sum() == errors

cm_a = confusion_matrix(pred_a, gt, 3)
cm_b = confusion_matrix(pred_b, gt, 3)
print("confusion A (rows = truth, columns = prediction)\n", cm_a)
print("confusion B\n", cm_b)
assert cm_a.sum() == cm_b.sum() == counted           # the 255 pixels are left out
assert cm_a[2, 0] == errors and cm_b[1, 0] == errors   # row = truth, column = prediction

# %% [markdown]
# Now the four scores by hand, from the pixel counts above, against the library.
#
# Pixel accuracy is the same for both: `(98 - 4) / 98`.
#
# - A: IoU(bg) = 64 / (64 + 4), IoU(road) = 1, IoU(pole) = 0 / 4 = 0
# - B: IoU(bg) = 64 / (64 + 4), IoU(road) = 26 / 30, IoU(pole) = 1

# %%
sa, sb = segmentation_scores(cm_a), segmentation_scores(cm_b)
iou_bg = n_bg / (n_bg + errors)
by_hand = {
    "A": dict(pixel_acc=(counted - errors) / counted,
              mean_acc=(1 + 1 + 0) / 3,
              mean_iou=(iou_bg + 1 + 0) / 3,
              fw_iou=(n_bg * iou_bg + n_road * 1 + n_pole * 0) / counted),
    "B": dict(pixel_acc=(counted - errors) / counted,
              mean_acc=(1 + (n_road - errors) / n_road + 1) / 3,
              mean_iou=(iou_bg + (n_road - errors) / n_road + 1) / 3,
              fw_iou=(n_bg * iou_bg + (n_road - errors) + n_pole * 1) / counted),
}
for name, s in (("A", sa), ("B", sb)):
    print(f"--- prediction {name}\n{format_scores(s, NAMES)}")
    for key, value in by_hand[name].items():
        assert math.isclose(s[key], value, rel_tol=1e-12), (name, key, s[key], value)

# %% [markdown]
# ## 2. Why mean IoU punishes errors on small classes
#
# The same four wrong pixels cost A and B the same pixel accuracy, but A loses a whole class:
# the pole's IoU drops from 1 to 0 and that is a third of the mean. B spreads its four errors
# over a 30-pixel class and loses little. Mean IoU (and mean accuracy) weigh every class
# equally, whatever its size; pixel accuracy and f.w. IoU weigh every *pixel* equally, so they
# barely notice a missed small object (here, not at all: A's and B's are equal).

# %%
print(f"pixel acc  A {sa['pixel_acc']:.3f}  B {sb['pixel_acc']:.3f}")
print(f"mean IoU   A {sa['mean_iou']:.3f}  B {sb['mean_iou']:.3f}")
print(f"f.w. IoU   A {sa['fw_iou']:.3f}  B {sb['fw_iou']:.3f}")
assert sa["pixel_acc"] == sb["pixel_acc"]
assert sa["mean_iou"] < sb["mean_iou"] - 0.25
assert sa["mean_acc"] < sb["mean_acc"] - 0.25
assert math.isclose(sa["fw_iou"], sb["fw_iou"], rel_tol=1e-12)

# %% [markdown]
# The same effect as a curve: move `e` pixels of the pole, or `e` pixels of the road, to
# background, for `e = 0..4`. Pixel accuracy follows the same line in both cases; mean IoU falls
# more than 5 times faster for the small class: each wrong pole pixel takes 1/4 off the pole's
# IoU, each wrong road pixel 1/30 off the road's (background loses the same in both cases).

# %%
road_pixels = np.argwhere(gt == 1)
pole_pixels = np.argwhere(gt == 2)
curves = {"pole": [], "road": []}
for e in range(0, 5):
    for cls, where in (("pole", pole_pixels), ("road", road_pixels)):
        p = np.where(gt == 255, 0, gt)
        p[tuple(where[:e].T)] = 0
        curves[cls].append(segmentation_scores(confusion_matrix(p, gt, 3)))
for e in range(1, 5):
    assert curves["pole"][e]["pixel_acc"] == curves["road"][e]["pixel_acc"]
    assert curves["pole"][e]["mean_iou"] < curves["road"][e]["mean_iou"]
drop = lambda c: curves[c][0]["mean_iou"] - curves[c][1]["mean_iou"]
print(f"mean IoU lost per wrong pixel: pole {drop('pole'):.4f}, road {drop('road'):.4f}")
assert drop("pole") > 5 * drop("road")

fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
es = np.arange(5)
for key, ax in (("pixel_acc", axes[0]), ("mean_iou", axes[1])):
    for cls, style in (("pole", "o-"), ("road", "s--")):
        ax.plot(es, [s[key] for s in curves[cls]], style, label=f"errors on {cls} ({n_pole if cls == 'pole' else n_road} px)")
    ax.set_xlabel("wrong pixels (called background)")
    ax.set_xticks(es)
    ax.set_title({"pixel_acc": "pixel accuracy", "mean_iou": "mean IoU"}[key])
    ax.legend()
    ax.grid(alpha=0.3)
fig.suptitle("Same number of wrong pixels: pixel accuracy cannot tell; mean IoU punishes the small class")
save(fig, "09_small_class_errors.png")

# %% [markdown]
# ## 3. Details that change the numbers
#
# **Ignored pixels** never count: whatever is predicted there, `M` is the same.

# %%
assert np.array_equal(confusion_matrix(np.where(gt == 255, 0, pred_a), gt, 3), cm_a)

# %% [markdown]
# **Absent classes** are skipped by the means (IoU 0/0 = nan), but a class predicted where it
# does not exist counts with IoU 0. With a 4th class that appears nowhere, the scores of A do
# not change; predict it on a single pixel and mean IoU falls by a quarter: the mean now runs
# over four classes, one of them 0 (and a little more, for the background pixel it took).

# %%
s4 = segmentation_scores(confusion_matrix(pred_a, gt, 4))
assert math.isnan(s4["per_class_iou"][3])
assert math.isclose(s4["mean_iou"], sa["mean_iou"], rel_tol=1e-12)
pred_a4 = pred_a.copy()
pred_a4[5, 0] = 3                                   # one background pixel called class 3
s4b = segmentation_scores(confusion_matrix(pred_a4, gt, 4))
assert s4b["per_class_iou"][3] == 0.0
drop = 1 - s4b["mean_iou"] / sa["mean_iou"]
print(f"one pixel of an absent class: mean IoU falls by {drop:.1%}")
assert 0.25 < drop < 0.27                           # a quarter, and a little more

# %% [markdown]
# **One matrix per split**, not a mean of per-image scores. `ConfusionMatrix` adds the images'
# matrices and scores the sum (the paper's and pytorch-fcn's convention). Averaging per-image
# mean IoUs gives a different number. Add a second image without any pole, predicted
# perfectly: on its own its mean IoU is 1 (the pole is absent there, so it is skipped), which
# hides half of the missed pole; over the split the pole's IoU is still 0, a third of the mean.

# %%
gt2 = np.where(gt == 2, 0, gt)
acc = ConfusionMatrix(3)
images = [(pred_a, gt), (gt2.copy(), gt2)]          # A, then a perfect image with no pole
for p, t in images:
    acc.update(p, t)
assert np.array_equal(acc.matrix, cm_a + confusion_matrix(gt2, gt2, 3))
assert acc.scores()["per_class_iou"][2] == 0.0
assert segmentation_scores(confusion_matrix(gt2, gt2, 3))["mean_iou"] == 1.0   # the second image alone
split_miou = acc.scores()["mean_iou"]
mean_of_images = np.mean([segmentation_scores(confusion_matrix(p, t, 3))["mean_iou"] for p, t in images])
print(f"mean IoU of the split {split_miou:.4f} vs mean of per-image mean IoUs {mean_of_images:.4f}")
assert split_miou < mean_of_images - 0.1

# %% [markdown]
# The worked example as a picture: truth, the two predictions (white = ignored), and their
# confusion matrices.

# %%
fig, axes = plt.subplots(1, 5, figsize=(22, 4.4), gridspec_kw=dict(wspace=0.45))
for ax, lab, title in [(axes[0], gt, "ground truth\n(black bg, red road, green pole)"),
                       (axes[1], pred_a, f"A: pole missed\npixel acc {sa['pixel_acc']:.3f}, mIoU {sa['mean_iou']:.3f}"),
                       (axes[2], pred_b, f"B: 4 road px missed\npixel acc {sb['pixel_acc']:.3f}, mIoU {sb['mean_iou']:.3f}")]:
    shown = np.where(gt == 255, 255, lab)
    ax.imshow(colorize(shown), interpolation="nearest")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
for ax, cm, title in [(axes[3], cm_a, "confusion A"), (axes[4], cm_b, "confusion B")]:
    ax.imshow(np.log1p(cm), cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=12)
    ax.set_xticks(range(3), NAMES, rotation=30)
    ax.set_yticks(range(3), NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
save(fig, "09_worked_example.png")

# %% [markdown]
# ## 4. The fifth measure: boundary F1 (BF)
#
# The confusion matrix counts pixels, wherever they are. The SegNet paper adds a fifth measure,
# after Csurka et al. (BMVC 2013), that looks at outlines:
# [`metrics.boundary_f1`](../minifcn/metrics.py). For each class in an image's ground truth,
# take the boundary pixels of its predicted and true masks (pixels with a 4-neighbour outside the
# mask); precision is the fraction of predicted boundary pixels closer than `theta` to a true
# one, recall the converse, F1 = 2PR / (P + R); `theta` is 0.75 % of the image diagonal. The
# image's BF is the mean F1 over its classes, the split's the mean over its images
# ([`metrics.BoundaryF1`](../minifcn/metrics.py); `minifcn eval --bf`).
#
# Two predictions of a 200 x 200 square in a 375 x 500 image (theta = 4.69), each missing the
# same 1584 of its pixels: **C** is the square shrunk by 2 pixels all round, **D** the square with
# a 36 x 44 bite out of one corner. Their confusion matrices are the same matrix, so all four
# scores above are equal; BF tells them apart.

# %%
h, w, side = 375, 500, 200
truth = np.zeros((h, w), np.int64)
truth[80:80 + side, 150:150 + side] = 1
pred_c = np.zeros_like(truth)
pred_c[82:78 + side, 152:148 + side] = 1            # shrunk by 2 pixels on every side
pred_d = truth.copy()
pred_d[80 + side - 36:80 + side, 150 + side - 44:150 + side] = 0   # a 36 x 44 bite
missing = side * side - (side - 4) ** 2
assert missing == 36 * 44 == 1584
assert np.array_equal(confusion_matrix(pred_c, truth, 2), confusion_matrix(pred_d, truth, 2))
sc, sd = (segmentation_scores(confusion_matrix(p, truth, 2)) for p in (pred_c, pred_d))
assert sc == sd                                      # the four scores cannot tell C from D
bc, bd = boundary_f1(pred_c, truth, 2), boundary_f1(pred_d, truth, 2)
print(f"mean IoU  C {sc['mean_iou']:.4f}  D {sd['mean_iou']:.4f}")
print(f"BF        C {bc['bf']:.4f}  D {bd['bf']:.4f}")
theta = 0.0075 * math.hypot(h, w)                    # diagonal 625
assert theta == 4.6875
for p in (pred_c, pred_d):                           # boundary_f1's default is that theta
    assert boundary_f1(p, truth, 2) == boundary_f1(p, truth, 2, theta=theta)

# %% [markdown]
# C's outline is everywhere 2 pixels from the true one, inside the tolerance: BF 1. D's outline
# is exact except along the bite. The bite's two inner edges, a row 36 pixels above the square's
# bottom side and a column 44 pixels left of its right side, leave the true outline at a right
# angle: their pixels lie from 1 up to 36 (the row) and 35 (the column) pixels from it. Only the
# 4 of each next to the outline fall within theta = 4.69 and count as matches. Those edges and
# the stretch of true outline the bite cut away make both precision and recall fall below 1,
# for the square and for the background (whose outline is the square's, seen from outside,
# plus the image frame).

# %%
assert bc["bf"] == 1.0
# the bite's inner edges: D's outline pixels off the true outline, and their distances to it
true_b, pred_b = mask_boundary(truth == 1), mask_boundary(pred_d == 1)
ey, ex = np.nonzero(pred_b & ~true_b)
ty, tx = np.nonzero(true_b)
dist = np.sqrt(((ey[:, None] - ty[None]) ** 2 + (ex[:, None] - tx[None]) ** 2).min(axis=1))   # brute force
column = ex == ex.min()                              # the vertical edge; the rest is the row
for edge, far in ((~column, 36), (column, 35)):
    assert dist[edge].min() == 1 and dist[edge].max() == far and (dist[edge] < theta).sum() == 4
# so the square's precision is its outline less the unmatched edge pixels
unmatched = int((dist >= theta).sum())
assert math.isclose(bd["per_class_precision"][1], 1 - unmatched / pred_b.sum(), rel_tol=1e-12)
for c in (0, 1):
    assert bd["per_class_precision"][c] < 1 and bd["per_class_recall"][c] < 1
assert bd["bf"] < 0.95
# within the tolerance or not is all that counts: shrunk by 5 pixels (> 4.69), C's outline
# matches nowhere
pred_c5 = np.zeros_like(truth)
pred_c5[85:75 + side, 155:145 + side] = 1
assert boundary_f1(pred_c5, truth, 2)["per_class_f1"][1] == 0.0
assert boundary_f1(pred_c5, truth, 2) == boundary_f1(pred_c5, truth, 2, theta=theta)
# and the default is theta, not merely some tolerance: 2 would have missed C, 5.01 matched C5
assert boundary_f1(pred_c, truth, 2, theta=2.0)["bf"] < 1
assert boundary_f1(pred_c5, truth, 2, theta=5.01)["per_class_f1"][1] > 0.9

# %% [markdown]
# The paper's own table shows the same thing (Long, Shelhamer and Darrell, CVPR 2015, Table 2,
# a subset of PASCAL VOC 2011 val): from FCN-32s to FCN-8s, pixel accuracy rises from 89.1 to
# 90.3 %, mean IU from 59.4 to 62.7 (FCN-16s: 90.0 and 62.4). FCN-8s scores 62.2 mean IU on the
# VOC 2012 test set (Table 3). Quoted, not measured here.

# %%
PAPER_TABLE2 = {"FCN-32s": (89.1, 59.4), "FCN-16s": (90.0, 62.4), "FCN-8s": (90.3, 62.7)}   # pixel acc, mean IU
for name, (acc, iu) in PAPER_TABLE2.items():
    print(f"{name}: pixel acc {acc} %, mean IU {iu}  (CVPR 2015, Table 2)")
gain_acc, gain_iu = (PAPER_TABLE2["FCN-8s"][i] - PAPER_TABLE2["FCN-32s"][i] for i in (0, 1))
assert gain_iu > 2 * gain_acc                        # 3.3 points against 1.2

# %% [markdown]
# ## Summary
#
# - One confusion matrix per split; 255 pixels left out; rows are the truth.
# - Pixel accuracy and f.w. IoU count pixels; mean accuracy and mean IoU count classes, so
#   missing a small class entirely costs `1 / C` of the mean IoU, however few its pixels.
# - That is why FCN-8s's finer outputs (thin and small objects) move mean IoU more than they
#   move pixel accuracy.
# - BF (SegNet's fifth measure) scores outlines, per image: errors of the same size score the
#   same mean IoU whether they hug the outline (BF 1 within 0.75 % of the diagonal) or bite a
#   piece out of the object (BF below 1).
