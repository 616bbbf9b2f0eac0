# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 2: fully connected layers are convolutions
#
# FCN's first step (section 3.1 of the paper) is *net surgery*: VGG16's fully connected layers
# are rewritten as convolutions with the same weights. fc6 looks at the whole 7x7x512 pool5 map,
# so it is a 7x7 convolution with 4096 filters; fc7 and fc8 are 1x1 convolutions. On a 224x224
# image nothing changes. On a larger image the convolutional net *slides* the classifier over
# it in one pass, producing a map of scores, and shares all the work between overlapping
# windows.
#
# Files explained: [`models/vgg.py`](../minifcn/models/vgg.py) (`VGG16`,
# `VGG16.convolutionalize`, `FullyConvVGG16`), the reshape itself,
# [`weights.convolutionalize_state`](../minifcn/weights.py), and
# [`functional.linear` / `functional.conv2d`](../minifcn/functional.py).

# %%
import numpy as np

import minifcn.functional as F
from minifcn import Tensor, manual_seed, no_grad
from minifcn.data.synthetic import render_sample
from minifcn.models import VGG16
from minifcn.models.vgg import vgg_body
from minifcn.receptive_field import analytic_box, empirical_receptive_field, receptive_field
from minifcn.weights import convolutionalize_state, vgg16_shapes

from _common import FAST, best_time, plt, save

manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The real shapes
#
# VGG16's fc6 weight is `(4096, 512*7*7) = (4096, 25088)`: 102.8 M of VGG16's 138.4 M
# parameters. Reshaped to `(4096, 512, 7, 7)` it is a convolution weight, the flattening order
# of pool5 `(channel, row, column)` matching the weight's `(in_c, kh, kw)` axes.

# %%
shapes = vgg16_shapes()
fc6 = shapes["fc6.weight"]
total = sum(int(np.prod(s)) for s in shapes.values())
print(f"fc6.weight {fc6}: {np.prod(fc6) / 1e6:.1f} M of VGG16's {total / 1e6:.1f} M parameters")
assert fc6 == (4096, 512 * 7 * 7)
assert round(np.prod(fc6) / 1e6, 1) == 102.8 and round(total / 1e6, 1) == 138.4
# conv5_3's weight comes along because its output channels (512) tell fc6's input channels
conv_shapes = convolutionalize_state({k: np.empty(s, np.float32) for k, s in shapes.items()
                                      if k.startswith(("fc", "conv5_3"))})
print("as convolutions:", {k: v.shape for k, v in conv_shapes.items() if k.startswith("fc")})
assert conv_shapes["fc6.weight"].shape == (4096, 512, 7, 7)
assert conv_shapes["fc7.weight"].shape == (4096, 4096, 1, 1)
assert conv_shapes["fc8.weight"].shape == (1000, 4096, 1, 1)

# %% [markdown]
# ## 2. One layer: `linear(flatten(x), W) == conv2d(x, W.reshape(out, c, 7, 7))`
#
# Same computation with smaller widths so it runs instantly (512 -> 16 channels, 4096 -> 64
# outputs): a 7x7 convolution over a 7x7 map has exactly one output position, whose value is the
# dot product of the whole map with each filter.

# %%
c, out = 16, 64
x = rng.standard_normal((2, c, 7, 7))
W = rng.standard_normal((out, c * 7 * 7)) / 20
b = rng.standard_normal(out)
fc = F.linear(x.reshape(2, -1), W, b).numpy()
as_conv = F.conv2d(x, W.reshape(out, c, 7, 7), b).numpy()
assert as_conv.shape == (2, out, 1, 1)
assert np.allclose(fc, as_conv[:, :, 0, 0], rtol=0, atol=1e-12)
print("fully connected == 7x7 convolution with 1x1 output: checked")

# %% [markdown]
# ## 3. The whole network: 224 -> 384 gives a 6x6 map of 36 windows
#
# A width-scaled VGG16 (same layers, fewer channels) and its convolutionalized twin, same
# weights. On a 224 input both give the same scores. On a 384 input: pool5 is 12x12, the 7x7
# fc6 fits `12 - 7 + 1 = 6` times per axis, so the score map is 6x6, one cell per 224x224
# window at `(32 i, 32 j)` (32 = the stride of pool5).

# %%
width = 1 / 16 if FAST else 1 / 4
vgg = VGG16(num_classes=5, width=width).eval()     # eval: dropout off, so the outputs compare
fcn = vgg.convolutionalize()

img, _ = render_sample(np.random.default_rng(1), 384)
x384 = Tensor((img.astype(np.float32) / 255.0 - 0.5).transpose(2, 0, 1)[None].copy())
with no_grad():
    scores_224 = vgg(x384[:, :, :224, :224]).numpy()
    conv_224 = fcn(x384[:, :, :224, :224]).numpy()
    score_map = fcn(x384).numpy()
print("VGG16 on 224:", scores_224.shape, " convolutionalized on 224:", conv_224.shape,
      " on 384:", score_map.shape)
assert conv_224.shape == (1, 5, 1, 1)
assert np.allclose(conv_224[:, :, 0, 0], scores_224, rtol=1e-4, atol=1e-5)
assert score_map.shape == (1, 5, 6, 6)

# %% [markdown]
# **Exactly** what is cell `(i, j)`? The classifier (fc6, fc7, fc8 as the *fully connected*
# layers of `vgg`) applied to the 7x7 window of the 384 image's pool5 map at `(i, j)`. All 36
# windows, checked:

# %%
with no_grad():
    pool5 = vgg_body(fcn, x384)                       # (1, c5, 12, 12), stride 32
    assert pool5.shape[2:] == (12, 12)
    head = np.empty((1, 5, 6, 6), np.float32)
    for i in range(6):
        for j in range(6):
            window = pool5[:, :, i:i + 7, j:j + 7].reshape(1, -1)     # (channel, row, col) order
            h = F.relu(vgg.fc6(window))
            h = F.relu(vgg.fc7(h))
            head[:, :, i, j] = vgg.fc8(h).numpy()
assert np.allclose(head, score_map, rtol=1e-4, atol=1e-5)
print("every cell == the fully connected classifier on its pool5 window")

# %% [markdown]
# Now the sliding window in image space: 36 separate VGG16 passes on the 224x224 crops. These
# are *related to* the cells but not equal, and in these small random nets not even close: they
# differ by a third or more of the largest score (0.44 in fast mode, 0.34 at full width), and the
# two 6x6 maps of a class correlate only loosely (0.6-0.75 on average over the classes). The reason
# is instructive: each 3x3 convolution
# pads by 1, so a crop pass sees zeros at the crop's border where the one pass sees the real
# neighbouring pixels. A cell's value depends on more of the image than its 224 window: the
# receptive field of fc6 is 404 pixels (lesson 1). The gradient of one cell with respect to the
# 384 image, from [`receptive_field.empirical_receptive_field`](../minifcn/receptive_field.py),
# shows it reaching outside the window: of the pixels it reaches, more than half lie outside.

# %%
def crop_scores():
    out = np.empty((1, 5, 6, 6), np.float32)
    with no_grad():
        for i in range(6):
            for j in range(6):
                out[:, :, i, j] = vgg(x384[:, :, 32 * i:32 * i + 224, 32 * j:32 * j + 224]).numpy()
    return out


sliding = crop_scores()
err = np.abs(sliding - score_map).max() / np.abs(sliding).max()
print(f"36 crops vs one pass: max relative difference {err:.2f} (zero padding at crop borders)")
assert err > 0.3                     # not rounding: a real difference, a third of the largest score or more
corr = [np.corrcoef(sliding[0, k].ravel(), score_map[0, k].ravel())[0, 1] for k in range(5)]
print("per-class correlation of the 6x6 maps, crops vs one pass:", np.round(corr, 3))
assert 0.5 < np.mean(corr) < 0.95       # related, loosely

fcn64 = vgg.convolutionalize().astype(np.float64)
# rtol: Winograd's layers leave residues of ~1e-17 of the peak outside the field (lesson 1)
seen = empirical_receptive_field(fcn64, (1, 3, 384, 384), (2, 2), rtol=1e-12)
fc6 = {r.name: r for r in receptive_field(fcn64, input_size=384)}["fc6"]
print(f"cell (2, 2): window rows/cols [64, 287]; gradient reaches rows [{seen.top}, {seen.bottom}], "
      f"cols [{seen.left}, {seen.right}]: its 404-pixel field, [-26, 377], cut at the image")
assert (seen.top, seen.bottom, seen.left, seen.right) == analytic_box(fc6, (2, 2), (384, 384)) == (0, 377, 0, 377)
window = np.zeros(seen.mask.shape, bool)
window[64:288, 64:288] = True                                    # cell (2, 2)'s 224 window
outside = (seen.mask & ~window).sum() / seen.mask.sum()
print(f"of the pixels that reach cell (2, 2), {outside:.0%} lie outside its 224 window")
assert outside > 0.5

# %% [markdown]
# ## 4. Why it is faster: overlapping windows are computed once
#
# 36 crops of 224x224 hold `36 * 224^2 = 1.8 M` pixels; the 384x384 image only 0.15 M. The
# convolutional net processes each image pixel once instead of up to 36 times (about 12x less
# work in the convolutions). Measured (best of a few runs):

# %%
def one_pass():
    with no_grad():
        fcn(x384)


t_one = best_time(one_pass, repeat=3)
t_36 = best_time(crop_scores, repeat=1 if FAST else 2)
speedup = t_36 / t_one
work_ratio = 36 * 224 ** 2 / 384 ** 2
print(f"one pass {t_one * 1e3:.0f} ms, 36 passes {t_36 * 1e3:.0f} ms: speed-up {speedup:.1f}x "
      f"(pixel ratio {work_ratio:.1f}x)")
assert speedup > 3           # 5-60x seen, machine-dependent; 3 leaves room for a busy machine

# %% [markdown]
# The picture: the image with a few of the 36 windows, the 6x6 map of one class's score from
# one pass, the 36 numbers from 36 crop passes (on the same colour scale: related, not equal,
# because of the zero padding), and the pixels that influence one cell, inside its window and
# outside it.

# %%
fig, axes = plt.subplots(1, 5, figsize=(24, 4.6), gridspec_kw=dict(width_ratios=[1.2, 1, 1, 1.2, 0.8]))
axes[0].imshow(img)
for (i, j), colour in zip([(0, 0), (0, 5), (5, 0), (5, 5), (2, 3)], ["w", "y", "c", "m", "r"]):
    axes[0].add_patch(plt.Rectangle((32 * j, 32 * i), 224, 224, fill=False, ec=colour, lw=1.5))
axes[0].set_title("384x384 input; five of the 36\n224x224 windows (stride 32)")
axes[0].axis("off")
lo, hi = min(score_map[0, 0].min(), sliding[0, 0].min()), max(score_map[0, 0].max(), sliding[0, 0].max())
for ax, m, title in [(axes[1], score_map[0, 0], "one fully convolutional pass\n(class 0 score, 6x6)"),
                     (axes[2], sliding[0, 0], "36 separate VGG16 passes on crops\n(not equal: zero padding; same colours)")]:
    im = ax.imshow(m, cmap="viridis", vmin=lo, vmax=hi)          # one scale for both maps
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="k" if v > (lo + hi) / 2 else "w")
    ax.set_title(title)
    ax.set_xticks(range(6))
    ax.set_yticks(range(6))
reach = np.zeros(seen.mask.shape + (3,))                         # black: no gradient
reach[seen.mask & window] = (1.0, 0.85, 0.2)                       # gold: reached, inside the window
reach[seen.mask & ~window] = (0.85, 0.1, 0.1)                      # red: reached, outside it
axes[3].imshow(0.35 * img / 255.0 + 0.65 * reach)
axes[3].add_patch(plt.Rectangle((64, 64), 224, 224, fill=False, ec="k", lw=1.5, ls="--"))
axes[3].set_title(f"pixels reaching cell (2, 2): gold inside its 224\nwindow, red outside ({outside:.0%}), black none")
axes[3].axis("off")
axes[4].bar(["1 pass\n(conv)", "36 passes\n(crops)"], [t_one * 1e3, t_36 * 1e3], color=["C2", "C3"])
axes[4].set_ylabel("ms")
axes[4].set_title(f"speed-up {speedup:.1f}x")
save(fig, "02_sliding_window_map.png")

# %% [markdown]
# ## Summary
#
# - fc6 `(4096, 25088)` is a `(4096, 512, 7, 7)` convolution; fc7/fc8 are 1x1 convolutions
#   (`weights.convolutionalize_state`, `VGG16.convolutionalize`).
# - The convolutionalized net accepts any size; on 384x384 it returns a 6x6 map whose cells are
#   exactly the classifier applied to 36 windows of pool5 at stride 1 (32 image pixels). Against
#   36 passes on 224 crops they differ only by what the crops' zero padding hides: each cell
#   sees beyond its 224 window.
# - One pass shares the overlapping computation: several times faster than 36 passes. FCN
#   replaces fc8 with `score_fr` and upsamples this coarse map back to pixels (lessons 6-7).
