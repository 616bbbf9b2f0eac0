# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 1: receptive fields, computed, measured, and effective
#
# The receptive field of a unit is the patch of the input image that can influence it. FCN's
# class scores come from fc7 (and `score_fr`), whose units each see a 404x404 window of the
# image: enough context to tell what an object is, too coarse (one unit every 32 pixels) to say
# exactly where its boundary is. Lesson 7's skip connections exist because of this trade-off.
#
# Files explained: [`receptive_field.py`](../minifcn/receptive_field.py)
# (`receptive_field`, `analytic_box`, `empirical_receptive_field`), the models it walks,
# [`models/vgg.py`](../minifcn/models/vgg.py) and [`models/fcn.py`](../minifcn/models/fcn.py),
# and the autograd that measures fields by backpropagation,
# [`autograd.py`](../minifcn/autograd.py).
#
# **The recurrence.** Walk the layers in order, tracking the receptive field `rf` (pixels) and
# the `jump` (distance in input pixels between neighbouring units of the current layer). A layer
# with kernel `k` and stride `s` adds `k - 1` of its input units, each `jump` pixels apart:
#
#     rf   <- rf + (k - 1) * jump
#     jump <- jump * s
#
# 3x3 convolutions add `2 * jump`; a 2x2 pool adds `jump` and doubles the jump, so every later
# layer grows the field twice as fast.

# %%
import numpy as np

from minifcn import Tensor, manual_seed
from minifcn.models import FCN8s, VGG16
from minifcn.receptive_field import analytic_box, empirical_receptive_field, receptive_field

from _common import FAST, plt, save

manual_seed(0)

# %% [markdown]
# ## 1. The table for VGG16 (224x224) and FCN-8s (500x500)
#
# `receptive_field(model, input_size)` walks the model's spatial layers. The width multiplier
# does not matter here (receptive fields depend on kernels and strides only), so tiny models do.

# %%
vgg_rows = receptive_field(VGG16(num_classes=2, width=1 / 64), input_size=224)
fcn = FCN8s(num_classes=2, width=1 / 64).eval()
fcn_rows = receptive_field(fcn, input_size=500)


def show(rows, title):
    print(title)
    print(f"{'layer':<14}{'k':>3}{'s':>3}{'p':>5}{'rf':>6}{'jump':>7}{'size':>6}")
    for r in rows:
        print(f"{r.name:<14}{r.kernel:>3}{r.stride:>3}{r.padding:>5}{r.rf:>6}{str(r.jump):>7}{r.size:>6}")


show(vgg_rows, "VGG16, 224x224 input")
show(fcn_rows, "\nFCN-8s, 500x500 input")
by_name = {r.name: r for r in fcn_rows}

# %% [markdown]
# Every convolution and pooling row obeys the recurrence (transposed convolutions, at the end,
# shrink the jump instead: see `receptive_field`'s docstring):

# %%
for rows in (vgg_rows, fcn_rows):
    rf, jump = 1, 1
    for r in rows:
        if r.name.startswith("upscore"):
            break
        assert r.rf == rf + (r.kernel - 1) * jump, r
        assert r.jump == jump * r.stride, r
        rf, jump = r.rf, r.jump

# %% [markdown]
# The numbers to remember: pool5 sees 212 pixels with a jump of 32; fc6, a 7x7 convolution on
# pool5, adds `(7 - 1) * 32 = 192`, so fc7 and `score_fr` see **404** pixels. On a 500x500 image
# (padded by 100 in conv1_1) pool5 is 22x22 and fc7 16x16.

# %%
assert {r.name: r.rf for r in vgg_rows}["pool5"] == 212 and vgg_rows[-1].size == 7
assert by_name["pool5"].rf == 212 and by_name["pool5"].jump == 32 and by_name["pool5"].size == 22
assert by_name["fc7"].rf == by_name["score_fr"].rf == 404 == 212 + (7 - 1) * 32
assert by_name["fc7"].size == 16
assert by_name["pool3"].rf == 44 and by_name["pool4"].rf == 100     # what the skips see

# %% [markdown]
# The last three rows are FCN-8s's upsamplings along its main path (`score_fr`, `upscore2`,
# `upscore_pool4`, `upscore8`; the skips' pool4 and pool3 fields, 100 and 44 pixels, lie inside
# and do not widen it). They widen the field a little: each pixel of `upscore2` (4/2) mixes
# `ceil(4 / 2) = 2` neighbouring `score_fr` pixels per axis, 32 pixels apart, so it sees
# `404 + 32 = 436`. Past a transposed convolution an output's field depends on its position
# modulo the stride, and `receptive_field` reports the largest over those positions (its
# docstring says how): 468 for `upscore_pool4` and `upscore8`.

# %%
assert by_name["upscore2"].rf == 404 + (2 - 1) * 32 and by_name["upscore2"].jump == 16
assert by_name["upscore_pool4"].rf == by_name["upscore8"].rf == 468 and by_name["upscore8"].jump == 1

# %%
names = [r.name for r in fcn_rows]
fig, ax = plt.subplots(figsize=(13, 4.5))
ax.plot(range(len(names)), [r.rf for r in fcn_rows], "o-", label="receptive field (px)")
ax.plot(range(len(names)), [r.jump for r in fcn_rows], "s--", label="jump (px between units)")
ax.set_yscale("log", base=2)
ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
for name in ("pool3", "pool4", "pool5", "fc7"):
    i = names.index(name)
    ax.annotate(f"{by_name[name].rf}", (i, by_name[name].rf), textcoords="offset points",
                xytext=(0, 8), ha="center", color="C0")
ax.set_title("FCN-8s: the receptive field grows by (k - 1) x jump per convolution or pooling; fc7 sees 404 px")
ax.grid(alpha=0.3)
ax.legend()
save(fig, "01_rf_growth.png")

# %% [markdown]
# ## 2. Measured by backpropagation: the theoretical field, exactly
#
# Backpropagate from one fc7 unit to the image and mark the pixels with a non-zero gradient.
# Two things can hide pixels: a ReLU that is off blocks the gradient, and max pooling passes it
# to each window's winner only. With all weights positive (and positive inputs) every ReLU is
# on; a batch of random images gives window positions a chance to win (the more images, the
# fewer pixels that never win and stay unmarked: with two, about 4 % of the box, asserted
# below). Then the
# measured field's bounding box is the analytic box, to the pixel. (Float64: the measurement is
# exact.)

# %%
size = 500
fcn64 = FCN8s(num_classes=2, width=1 / 64).eval().astype(np.float64)
for p in fcn64.parameters():
    p.data = np.abs(p.data)                          # positive weights: every ReLU active
rows = receptive_field(fcn64, input_size=size)
fc7 = {r.name: r for r in rows}["fc7"]
pos = (fc7.size // 2, fc7.size // 2)                 # a unit whose field lies inside the image
measured = empirical_receptive_field(lambda x: fcn64.blobs(x)["fc7"], (2, 3, size, size), pos)
box = analytic_box(fc7, pos, (size, size))
print(f"fc7 unit {pos}: measured rows {measured.top}..{measured.bottom}, cols "
      f"{measured.left}..{measured.right} ({measured.height}x{measured.width}); analytic {box}")
assert (measured.top, measured.bottom, measured.left, measured.right) == box
assert measured.height == measured.width == 404
unmarked = 1 - measured.mask[measured.top:measured.bottom + 1, measured.left:measured.right + 1].mean()
print(f"pixels inside the box that no image's maxima reached: {unmarked:.1%}")
assert 0.035 < unmarked < 0.045                       # about 4 %, as the text says

# %% [markdown]
# ## 3. The *effective* receptive field: the gradient concentrates at the centre
#
# Every pixel in the 404 box *can* influence the unit, but not equally. A centre pixel reaches
# the unit along many more paths through the stacked 3x3 kernels than a pixel at the edge of
# the box, which reaches it along few: the gradient magnitude falls off roughly like a Gaussian
# (Luo et al. 2016, "Understanding the effective receptive field"). Measured on the network
# with its ordinary random (He) initialisation, averaging `|d unit / d pixel|` over a few
# random images:

# %%
width, n_img = (1 / 64, 4) if FAST else (1 / 16, 8)
manual_seed(1)
net = FCN8s(num_classes=2, width=width).eval().astype(np.float64)
x = Tensor(np.random.default_rng(2).random((n_img, 3, size, size)), requires_grad=True)
out = net.blobs(x)["fc7"]
pick = np.zeros(out.shape)
pick[:, :, pos[0], pos[1]] = 1.0                     # every channel of that unit, every image
(out * Tensor(pick)).sum().backward()
erf = np.abs(x.grad).mean(axis=(0, 1))               # (h, w): mean |gradient| per pixel

top, bottom, left, right = box
inside = np.zeros_like(erf, dtype=bool)
inside[top:bottom + 1, left:right + 1] = True
# Nothing outside the theoretical field, up to rounding: at width 1/16 the 32-channel layers
# run Winograd's algorithm (minifcn/kernels/winograd.py), whose transforms add and subtract
# neighbouring values, so a gradient that is exactly zero in exact arithmetic comes out as a
# residue of about 1e-17 of the peak (float64; some ten thousand such pixels in full mode). The
# narrower fast mode gives exact zeros.
leak = erf[~inside].max() / erf.max()
print(f"largest |gradient| outside the field: {leak:.1e} of the peak")
assert leak < 1e-12


def mass_in_central(fraction):
    """Share of the gradient mass inside the central box of ``fraction`` x the field's side."""
    cy, cx = (top + bottom) / 2, (left + right) / 2
    half = 404 * fraction / 2
    sub = erf[int(np.ceil(cy - half)):int(cy + half) + 1, int(np.ceil(cx - half)):int(cx + half) + 1]
    return sub.sum() / erf.sum()


for frac in (0.25, 0.5):
    print(f"central {frac:.0%} x {frac:.0%} of the field = {frac * frac:.1%} of its area, "
          f"holds {mass_in_central(frac):.1%} of the gradient")
assert mass_in_central(0.5) > 1.6 * 0.25
assert mass_in_central(0.25) > 1.6 * 0.0625
profile = erf[top:bottom + 1, left:right + 1].sum(axis=0)
peak = left + int(np.argmax(profile))
assert abs(peak - (left + right) / 2) < 404 / 8      # the peak is near the centre
assert profile[:40].sum() < profile[182:222].sum()   # the edge strip gets less than a central one

# %%
fig, axes = plt.subplots(1, 3, figsize=(18, 5.4))
axes[0].imshow(measured.mask, cmap="Greys", interpolation="nearest")
axes[0].add_patch(plt.Rectangle((left - 0.5, top - 0.5), 404, 404, fill=False, ec="r", lw=1.5))
axes[0].set_title(f"pixels with non-zero gradient for fc7 unit {pos}\n"
                  "(positive weights; red: analytic 404x404 box)")
im = axes[1].imshow(erf / erf.max(), cmap="inferno")
axes[1].add_patch(plt.Rectangle((left - 0.5, top - 0.5), 404, 404, fill=False, ec="c", lw=1.5))
axes[1].set_title("effective field: mean |gradient|, random init\n(cyan: theoretical field)")
fig.colorbar(im, ax=axes[1], fraction=0.046)
cols = np.arange(left, right + 1)
axes[2].plot(cols, profile / profile.max(), lw=1)
axes[2].axvspan(left, right, color="c", alpha=0.1, label="theoretical field (404 px)")
axes[2].set_xlabel("image column")
axes[2].set_title("gradient mass per column: concentrated at the centre")
axes[2].legend()
save(fig, "01_empirical_vs_effective_rf.png")

# %% [markdown]
# ## Summary
#
# - `rf += (k - 1) * jump; jump *= s`: pooling multiplies the growth rate of every later layer.
# - VGG16's pool5 sees 212 pixels; FCN's fc7 / `score_fr` sees 404, one unit every 32 pixels.
# - Backpropagation measures the field: with every ReLU on it is exactly the analytic box.
# - The gradient is concentrated in the middle of that box: the effective receptive field is a
#   fraction of the theoretical one.
