"""Tests for the boundary F1 score (BF) of minifcn.metrics: the brute-force loops of
minifcn.naive, squares shifted by hand-counted amounts, symmetry, the ignore label, bad input.

BF is not differentiable and PyTorch has no counterpart, so gradcheck, the adjoint identity and
the PyTorch oracle do not apply; the loop versions in naive.py (every boundary pixel against
every other by explicit float64 distance) are the oracle.
"""
import math

import numpy as np
import pytest

from minifcn import Tensor, naive
from minifcn.backend import to_numpy
from minifcn.metrics import BoundaryF1, boundary_f1, mask_boundary, within_distance

THETAS = [0.5, 1.0, 1.5, 2.0, math.sqrt(5), 3.2, 5.0, 40.0]   # integers and sqrt(5): exact ties


def _nan_equal(a, b, tol=1e-12):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    assert (np.isnan(a) == np.isnan(b)).all(), (a, b)
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=0, atol=tol)


def _regions(rng, h, w, c, cell=4):
    """A label map of blocky regions: random labels on a coarse grid, blown up, so classes have
    outlines of some length (per-pixel noise would be all boundary)."""
    coarse = rng.integers(0, c, size=(-(-h // cell), -(-w // cell)))
    return np.kron(coarse, np.ones((cell, cell), np.int64))[:h, :w]


# ----------------------------------------------------------------------------- the pieces
@pytest.mark.parametrize("theta", THETAS)
def test_within_distance_matches_brute_force(xp, theta):
    rng = np.random.default_rng(int(theta * 100))
    masks = rng.random((3, 13, 17)) < 0.04
    masks[2] = False                                  # no feature at all: nothing is near
    got = to_numpy(within_distance(xp.asarray(masks), theta))   # a batch (K, H, W) at once
    for k in range(3):
        want = np.sqrt(naive.distance_sq(masks[k])) < theta   # theta * theta would round
        np.testing.assert_array_equal(got[k], want)
        np.testing.assert_array_equal(to_numpy(within_distance(xp.asarray(masks[k]), theta)), want)
    assert not got[2].any()


def test_within_distance_is_strict_at_the_threshold(xp):
    f = np.zeros((9, 9), bool)
    f[4, 4] = True
    # (4, 8) is 4 away, (1, 0) is exactly 5 away (a 3-4-5 triangle): d < theta, not <=
    near4 = to_numpy(within_distance(xp.asarray(f), 4.0))
    near5 = to_numpy(within_distance(xp.asarray(f), 5.0))
    assert not near4[4, 8] and near4[4, 7]
    assert not near5[1, 0] and near5[1, 1]
    assert to_numpy(within_distance(xp.asarray(f), 5.0 + 1e-9))[1, 0]


SQRT_THETAS = [math.sqrt(m) for m in (2, 5, 8, 10, 20)]   # theta * theta rounds up past m


@pytest.mark.parametrize("theta", SQRT_THETAS + list(np.random.default_rng(7).uniform(0.3, 6.0, 6)))
def test_within_distance_at_square_root_thetas(xp, theta):
    # k^2 + dx^2 < theta * theta once counted the pixels at exactly sqrt(m) within math.sqrt(m)
    f = np.zeros((15, 15), bool)
    f[7, 7] = True
    got = to_numpy(within_distance(xp.asarray(f), theta))
    dy, dx = np.mgrid[-7:8, -7:8]
    np.testing.assert_array_equal(got, np.sqrt(dy * dy + dx * dx) < theta)   # both correctly rounded
    m = round(theta * theta)
    if math.sqrt(m) == theta:                         # no pixel at d = theta is in, all below are
        at = (dy * dy + dx * dx) == m
        assert at.any() and not got[at].any()
        assert got[(dy * dy + dx * dx) < m].all()
    masks = np.random.default_rng(3).random((2, 12, 14)) < 0.05
    np.testing.assert_array_equal(to_numpy(within_distance(xp.asarray(masks), theta)),
                                  np.sqrt([naive.distance_sq(k) for k in masks]) < theta)


@pytest.mark.parametrize("theta", SQRT_THETAS + list(np.random.default_rng(8).uniform(0.3, 4.0, 4)))
def test_boundary_f1_at_square_root_thetas_matches_brute_force(xp, theta):
    t = np.zeros((6, 6), np.int64)
    t[1:5, 1:5] = 1
    p = np.zeros_like(t)
    p[2:6, 2:6] = 1                                   # moved one pixel along the diagonal
    rng = np.random.default_rng(int(theta * 1000))
    target = _regions(rng, 14, 17, 3)
    pred = np.roll(_regions(rng, 14, 17, 3, cell=3), 1, axis=1)
    for pred_, target_, c in ((p, t, 2), (pred, target, 3)):
        bf, f1, pr, rc = naive.boundary_f1(pred_, target_, c, theta)
        s = boundary_f1(xp.asarray(pred_), xp.asarray(target_), c, theta)
        assert s["bf"] == pytest.approx(bf, abs=1e-12)
        _nan_equal(s["per_class_f1"], f1)
        _nan_equal(s["per_class_precision"], pr)
        _nan_equal(s["per_class_recall"], rc)


def test_mask_boundary_matches_loops(xp):
    rng = np.random.default_rng(0)
    masks = rng.random((4, 11, 14)) < 0.6
    masks[3] = True                          # the whole image: its boundary is the frame
    got = to_numpy(mask_boundary(xp.asarray(masks)))
    for k in range(4):
        want = np.zeros((11, 14), bool)
        for y, x in naive.boundary_pixels(masks[k]):
            want[y, x] = True
        np.testing.assert_array_equal(got[k], want)
    assert got[3].sum() == 2 * 11 + 2 * 14 - 4


# ----------------------------------------------------------------------------- against the loops
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("theta", [None, 1.0, 2.5])
def test_boundary_f1_matches_brute_force(xp, seed, theta):
    rng = np.random.default_rng(seed)
    c, h, w = 4, 18, 23
    target = _regions(rng, h, w, c)
    target[rng.random((h, w)) < 0.08] = 255            # some ignored pixels
    pred = np.roll(_regions(rng, h, w, c, cell=3), 1, axis=seed % 2)
    pred[rng.random((h, w)) < 0.05] = rng.integers(0, c)   # a few stray pixels
    if seed == 3:
        pred[pred == target.max(initial=0, where=target < c)] = 0   # a class of the truth missed
    bf, f1, p, r = naive.boundary_f1(pred, target, c, theta)
    s = boundary_f1(xp.asarray(pred), xp.asarray(target), c, theta)
    assert s["bf"] == pytest.approx(bf, abs=1e-12)
    _nan_equal(s["per_class_f1"], f1)
    _nan_equal(s["per_class_precision"], p)
    _nan_equal(s["per_class_recall"], r)
    assert 0 < bf < 1                                   # a case that tells scores apart


# ----------------------------------------------------------------------------- worked by hand
def _shifted_square(k, s=20, size=48, axis=1):
    """Class 1 an s x s square on class 0; the prediction is the square moved k pixels."""
    target = np.zeros((size, size), np.int64)
    target[8:8 + s, 8:8 + s] = 1
    return np.roll(target, k, axis=axis), target


def _matched_fraction(s, k, theta):
    """The fraction of the moved square's outline within theta of the other's (either way, by
    the mirror symmetry), for theta <= k <= s - 1 - theta, counted along the outline:

    - top and bottom rows (s pixels each): the s - k over the other square's row are at 0; of
      the k beyond its corner, those j = 1, 2, ... pixels past it with j < theta, m of them
    - the leading column's s - 2 inner pixels: k or more from the other's columns, so matched
      only within theta of its top or bottom row: m at each end
    - the trailing column's inner pixels: k >= theta from everything, none
    with m = ceil(theta) - 1, the number of whole pixels closer than theta; the outline has
    4 (s - 1) pixels."""
    assert theta <= k <= s - 1 - theta
    m = math.ceil(theta) - 1
    return (2 * (s - k + m) + 2 * m) / (4 * (s - 1))


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("s, k, theta", [(20, 6, 4.5), (20, 6, 4.0), (20, 4, 4.0), (24, 9, 6.2),
                                         (15, 3, 2.0)])
def test_square_moved_past_theta(xp, axis, s, k, theta):
    pred, target = _shifted_square(k, s, axis=axis)
    got = boundary_f1(xp.asarray(pred), xp.asarray(target), 2, theta)
    want = _matched_fraction(s, k, theta)   # (20, 6, 4.5): 44 of 76; k = theta = 4: 44 of 76
    assert got["per_class_precision"][1] == pytest.approx(want, abs=1e-12)
    assert got["per_class_recall"][1] == pytest.approx(want, abs=1e-12)
    assert got["per_class_f1"][1] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("k, theta", [(0, 0.5), (1, 1.5), (3, 4.5), (4, 4.01), (6, 6.2)])
def test_square_moved_less_than_theta_scores_one(xp, k, theta):
    # every outline pixel has its image under the move, k < theta away; the background's
    # outline (the frame and the ring around the square) moves the same way
    pred, target = _shifted_square(k)
    got = boundary_f1(xp.asarray(pred), xp.asarray(target), 2, theta)
    assert got["bf"] == 1.0
    assert got["per_class_precision"] == [1.0, 1.0] and got["per_class_recall"] == [1.0, 1.0]


def test_default_theta_is_three_quarters_of_a_percent_of_the_diagonal(xp):
    # 300 x 400: diagonal 500, theta 3.75; a square moved by (2, 3), sqrt(13) = 3.61 away, is
    # within it, one moved by (1, 4) is not (4 across); 0.75 % of 300 * sqrt(2) or 400 * sqrt(2)
    # (3.18, 4.24) would tell the two moves otherwise
    target = np.zeros((300, 400), np.int64)
    target[100:140, 100:140] = 1
    for (dy, dx), perfect in (((2, 3), True), ((1, 4), False)):
        pred = np.roll(target, (dy, dx), axis=(0, 1))
        got = boundary_f1(xp.asarray(pred), xp.asarray(target), 2)
        assert (got["per_class_f1"][1] == 1.0) == perfect
        assert got == boundary_f1(xp.asarray(pred), xp.asarray(target), 2, theta=3.75)


def test_symmetry_swaps_precision_and_recall(xp):
    rng = np.random.default_rng(5)
    c = 3
    a, b = _regions(rng, 20, 20, c), np.roll(_regions(rng, 20, 20, c), 2, axis=0)
    ab = boundary_f1(xp.asarray(a), xp.asarray(b), c, theta=2.0)
    ba = boundary_f1(xp.asarray(b), xp.asarray(a), c, theta=2.0)
    both = [i for i in range(c) if (a == i).any() and (b == i).any()]
    assert len(both) >= 2
    for i in both:
        assert ab["per_class_precision"][i] == ba["per_class_recall"][i]
        assert ab["per_class_recall"][i] == ba["per_class_precision"][i]
        assert ab["per_class_f1"][i] == pytest.approx(ba["per_class_f1"][i], abs=1e-15)
    assert any(ab["per_class_precision"][i] != ab["per_class_recall"][i] for i in both)


def test_classes_counted_are_those_of_the_truth(xp):
    target = np.zeros((12, 12), np.int64)
    target[3:8, 3:8] = 1
    pred = target.copy()
    pred[0:2, 9:11] = 2                                 # class 2: predicted, not in the truth
    got = boundary_f1(xp.asarray(pred), xp.asarray(target), 3, theta=1.0)
    assert math.isnan(got["per_class_f1"][2]) and got["per_class_f1"][1] == 1.0
    assert got["bf"] == pytest.approx((got["per_class_f1"][0] + 1.0) / 2)
    assert got["per_class_precision"][0] < 1.0          # class 0 lost the blob: a hole's outline
    missed = boundary_f1(xp.asarray(np.zeros_like(target)), xp.asarray(target), 3, theta=1.0)
    assert (missed["per_class_f1"][1], missed["per_class_precision"][1],
            missed["per_class_recall"][1]) == (0.0, 0.0, 0.0)   # a class missed scores 0


def test_ignored_pixels(xp):
    target = np.zeros((16, 16), np.int64)
    target[3:13, 3:13] = 255                            # a void band two pixels wide, as VOC's,
    target[5:11, 5:11] = 1                              # round the square
    pred = np.zeros_like(target)
    pred[4:12, 4:12] = 1                                # its outline inside the band: not seen
    pred[3, 3:13] = 99                                  # nor anything else there
    got = boundary_f1(xp.asarray(pred), xp.asarray(target), 2, theta=1.0)
    assert got["bf"] == 1.0
    every = np.full_like(target, 255)
    assert math.isnan(boundary_f1(xp.asarray(pred * 0), xp.asarray(every), 2)["bf"])


@pytest.mark.parametrize("ignore_index", [0, 2])
def test_ignore_index_inside_the_classes_matches_brute_force(xp, ignore_index):
    # naive.boundary_f1 once counted the ignore_index class as present when it was < C
    t = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2]])
    s = boundary_f1(xp.asarray(t), xp.asarray(t), 3, 1.0, ignore_index=ignore_index)
    want = naive.boundary_f1(t, t, 3, 1.0, ignore_index=ignore_index)
    assert s["bf"] == want[0] == 1.0
    assert math.isnan(s["per_class_f1"][ignore_index]) and math.isnan(want[1][ignore_index])
    rng = np.random.default_rng(ignore_index)
    target = _regions(rng, 18, 23, 4)
    pred = np.roll(_regions(rng, 18, 23, 4, cell=3), 1, axis=0)
    bf, f1, p, r = naive.boundary_f1(pred, target, 4, 1.5, ignore_index=ignore_index)
    s = boundary_f1(xp.asarray(pred), xp.asarray(target), 4, 1.5, ignore_index=ignore_index)
    assert s["bf"] == pytest.approx(bf, abs=1e-12) and 0 < bf < 1
    _nan_equal(s["per_class_f1"], f1)
    _nan_equal(s["per_class_precision"], p)
    _nan_equal(s["per_class_recall"], r)
    assert math.isnan(f1[ignore_index])


# ----------------------------------------------------------------------------- accumulator
def test_accumulator_means_images(xp):
    rng = np.random.default_rng(7)
    c = 3
    targets = np.stack([_regions(rng, 16, 16, c) for _ in range(3)])
    preds = np.stack([np.roll(t, i, axis=1) for i, t in enumerate(targets)])
    singles = [boundary_f1(xp.asarray(p), xp.asarray(t), c, 1.5) for p, t in zip(preds, targets)]
    acc = BoundaryF1(c, theta=1.5)
    acc.update(xp.asarray(preds[:2]), xp.asarray(targets[:2]))   # a batch
    acc.update(Tensor(xp.asarray(preds[2])), Tensor(xp.asarray(targets[2])))   # one image, Tensors
    acc.update(xp.asarray(preds[0]), xp.full_like(xp.asarray(targets[0]), 255))   # none labelled
    assert acc.image_scores[:3] == [s["bf"] for s in singles] and math.isnan(acc.image_scores[3])
    s = acc.scores()
    assert s["num_images"] == 3
    assert s["bf"] == pytest.approx(np.mean([v["bf"] for v in singles]), abs=1e-15)
    f1 = np.array([v["per_class_f1"] for v in singles])
    _nan_equal(s["per_class_bf"], [np.nanmean(f1[:, i]) if (~np.isnan(f1[:, i])).any() else np.nan
                                   for i in range(c)], tol=1e-15)
    assert singles[0]["bf"] == 1.0 and singles[1]["bf"] < 1.0
    acc.reset()
    assert acc.image_scores == [] and math.isnan(acc.scores()["bf"])


# ----------------------------------------------------------------------------- bad input
def test_bad_input_is_refused(xp):
    t = xp.zeros((4, 5), dtype=xp.int64)
    with pytest.raises(ValueError, match=r"pred shape \(4, 4\) != target shape \(4, 5\)"):
        boundary_f1(xp.zeros((4, 4), dtype=xp.int64), t, 2)
    with pytest.raises(ValueError, match=r"one image's \(H, W\) labels, got shape \(1, 4, 5\)"):
        boundary_f1(t[None], t[None], 2)
    with pytest.raises(TypeError, match="pred must hold integer class ids, got dtype float32"):
        boundary_f1(t.astype(xp.float32), t, 2)
    bad = t.copy()
    bad[1, 1] = 7
    with pytest.raises(ValueError, match=r"target holds label 7, outside \[0, 3\) and not the ignore index 255"):
        boundary_f1(t, bad, 3)
    bad[1, 1] = -1
    with pytest.raises(ValueError, match=r"pred holds class -1, outside \[0, 2\)"):
        boundary_f1(bad, t, 2)
    ignored = t.copy()
    ignored[1, 1] = 255
    assert boundary_f1(bad, ignored, 2)["bf"] == 1.0   # a bad class at an ignored pixel is not read
    for theta, err in ((0, ValueError), (-1.0, ValueError), (math.nan, ValueError),
                       (math.inf, ValueError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(err, match="theta"):
            boundary_f1(t, t, 2, theta=theta)
        with pytest.raises(err, match="theta"):
            BoundaryF1(2, theta=theta)
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        boundary_f1(t, t, 0)
    with pytest.raises(TypeError, match="num_classes must be an integer, got 2.5"):
        BoundaryF1(2.5)
    with pytest.raises(ValueError, match="theta must be a finite distance > 0 in pixels, got 0"):
        within_distance(t == 0, 0)
    with pytest.raises(ValueError, match=r"feature must be an image \(..., H, W\), got shape \(5,\)"):
        within_distance(t[0] == 0, 1.0)
    with pytest.raises(ValueError, match=r"mask must be an image \(..., H, W\), got shape \(\)"):
        mask_boundary(t[0, 0] == 0)


# ----------------------------------------------------------------------------- minifcn eval --bf
def test_eval_bf_flag(tmp_path, capsys):
    import json

    from minifcn import cli, no_grad
    from minifcn.train import build_datasets, evaluate, load_model

    assert cli.main(["train", "--model", "segnet-basic", "--width", "0.0625", "--image-size", "32",
                     "--num-train", "4", "--num-val", "4", "--batch-size", "2", "--iters", "2",
                     "--val-every", "2", "--data-root", str(tmp_path / "synthetic"),
                     "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    ckpt = tmp_path / "run" / "checkpoint.npz"
    out_json = tmp_path / "eval.json"
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--out", str(out_json), "--no-progress"]) == 0
    plain = capsys.readouterr().out
    assert "bf" not in json.loads(out_json.read_text()) and "\nbf " not in plain
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--out", str(out_json), "--no-progress",
                     "--bf"]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out_json.read_text())
    assert set(doc["per_class_bf"]) == set(doc["classes"])
    assert f"\nbf         {doc['bf']:.4f}\n" in printed     # beside the four, before the classes

    # the split's BF: the mean of its images' BF, whatever the batches
    model, cfg, _, _ = load_model(ckpt)
    _, val = build_datasets(cfg)
    per_image = []
    with no_grad():
        for i in range(len(val)):
            x, y = val[i]
            pred = model(Tensor(x[None])).data.argmax(axis=1)[0]
            per_image.append(boundary_f1(pred, y, val.num_classes)["bf"])
    assert doc["bf"] == pytest.approx(np.mean(per_image), abs=1e-12)
    for bs in (1, 3):
        assert evaluate(model, val, bs, bf=True)[0]["bf"] == pytest.approx(doc["bf"], abs=1e-12)
