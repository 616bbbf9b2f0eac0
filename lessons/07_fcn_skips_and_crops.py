# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 7: FCN-32s, 16s and 8s: skips, padding 100, and the crop offsets 5, 9, 31
#
# FCN-32s upsamples its stride-32 class scores 32x in one step. FCN-16s first upsamples them 2x
# and adds scores computed from pool4 (stride 16); FCN-8s does it again with pool3 (stride 8).
# Adding two blobs needs them aligned pixel for pixel, and because conv1_1 pads by 100 and the
# upsampling layers have no padding, each blob is shifted against the next: FCN crops them
# (top-left offsets 19; 5 and 27; 5, 9 and 31). These offsets are not magic: they follow from
# each layer's *coordinate map*.
#
# Files explained: [`models/fcn.py`](../minifcn/models/fcn.py) (`FCN32s`, `FCN16s`, `FCN8s`,
# `blobs`, `crop_offsets`), [`models/coords.py`](../minifcn/models/coords.py) (`layer_map`,
# `path_map`, `crop_offset`, `CoordMap`), [`functional.crop`](../minifcn/functional.py),
# [`receptive_field.receptive_field`](../minifcn/receptive_field.py) for sizes, and the
# scores of [`metrics.py`](../minifcn/metrics.py).

# %%
from fractions import Fraction

import numpy as np
from matplotlib.patches import Patch

import minifcn.functional as F
from minifcn import Tensor, init, manual_seed, nn, no_grad, optim
from minifcn.data.synthetic import SYNTHETIC_CLASSES, render_sample
from minifcn.kernels import conv as K
from minifcn.metrics import ConfusionMatrix
from minifcn.models import FCN8s, FCN16s, FCN32s, VGG16
from minifcn.models.coords import CoordMap, crop_offset, layer_map, path_map
from minifcn.models.vgg import VGG_LAYERS
from minifcn.receptive_field import receptive_field
from minifcn.viz import colorize

from _common import FAST, plt, save

manual_seed(0)

# %% [markdown]
# ## 1. Coordinate maps
#
# Every spatial layer maps an output coordinate to the input coordinate of the centre of the
# window it sees, an affine map `x_in = scale * x_out + offset`:
#
# - convolution / pooling (kernel `k`, stride `s`, padding `p`): `x_in = s * x_out - p + (k - 1)/2`
# - transposed convolution: the inverse, `x_in = (x_out + p - (k - 1)/2) / s`
#
# Composing them along a path maps a blob's pixels into the image. conv1_1 (`k=3, p=100`) maps
# `x -> x - 99`: pixel 0 of conv1_1's output is centred 99 pixels *outside* the image.

# %%
assert layer_map(nn.Conv2d(1, 1, 3, padding=100)) == CoordMap(1, -99)
assert layer_map(nn.Conv2d(1, 1, 3, padding=1)) == CoordMap(1, 0)        # 3x3 pad 1: identity
assert layer_map(nn.MaxPool2d(2, 2)) == CoordMap(2, Fraction(1, 2))
assert layer_map(nn.ConvTranspose2d(1, 1, 4, stride=2)) == CoordMap(Fraction(1, 2), Fraction(-3, 4))

net = FCN8s(num_classes=3, width=1 / 64).eval()
trunk_layers = [getattr(net, n) for n in VGG_LAYERS]                  # conv1_1 .. pool5, as modules
to_pool3 = trunk_layers[:VGG_LAYERS.index("pool3") + 1]
to_pool4 = trunk_layers[:VGG_LAYERS.index("pool4") + 1]
to_score_fr = trunk_layers + [net.fc6, net.fc7, net.score_fr]

maps = {
    "pool3 / score_pool3": path_map(to_pool3 + [net.score_pool3]),
    "pool4 / score_pool4": path_map(to_pool4 + [net.score_pool4]),
    "score_fr": path_map(to_score_fr),
    "upscore2": path_map(to_score_fr + [net.upscore2]),
    "upscore_pool4": path_map(to_score_fr + [net.upscore2, net.upscore_pool4]),
    "upscore8": path_map(to_score_fr + [net.upscore2, net.upscore_pool4, net.upscore8]),
}
for name, m in maps.items():
    print(f"{name:<22} image coordinate = {str(m.scale):>4} * x + ({m.offset})")
assert maps["score_fr"] == CoordMap(32, Fraction(25, 2))   # unit 0 of score_fr: centred on image pixel 12.5
# the five maps the derivation below uses, as it writes them
assert maps["pool4 / score_pool4"] == CoordMap(16, Fraction(-183, 2))    # 16x - 91.5
assert maps["upscore2"] == CoordMap(16, Fraction(-23, 2))                # 16x - 11.5
assert maps["pool3 / score_pool3"] == CoordMap(8, Fraction(-191, 2))     # 8x - 95.5
assert maps["upscore_pool4"] == CoordMap(8, Fraction(-47, 2))            # 8x - 23.5
assert maps["upscore8"] == CoordMap(1, -31)                              # x - 31

# %% [markdown]
# ## 2. Deriving 5, 9 and 31
#
# To add blob A to blob B, pixel `x + c` of A must sit where pixel `x` of B sits:
# `a * (x + c) + b_A = a * x + b_B`, so `c = (b_B - b_A) / a`. It must be a whole,
# non-negative number, or no crop can align them.
#
# - score_pool4 (`16x - 91.5`) onto upscore2 (`16x - 11.5`): `c = 80 / 16 = 5`
# - score_pool3 (`8x - 95.5`) onto upscore_pool4 (`8x - 23.5`): `c = 72 / 8 = 9`
# - upscore8 (`x - 31`) onto the image (`x`): `c = 31`

# %%
c4 = crop_offset(maps["pool4 / score_pool4"], maps["upscore2"])
c3 = crop_offset(maps["pool3 / score_pool3"], maps["upscore_pool4"])
c_final = crop_offset(maps["upscore8"], CoordMap())
print("FCN-8s crop offsets:", c4, c3, c_final)
assert (c4, c3, c_final) == (5, 9, 31)
# checked without crop_offset's formula: the kept pixel's centre is where its partner's is
assert maps["pool4 / score_pool4"](5) == maps["upscore2"](0)
assert maps["pool3 / score_pool3"](9) == maps["upscore_pool4"](0)
assert maps["upscore8"](31) == 0                    # on image pixel 0
assert net.crop_offsets == {"score_pool4c": 5, "score_pool3c": 9, "score": 31}   # what the model uses

# %% [markdown]
# The same derivation gives FCN-32s's 19 (one 64/32 upsampling) and FCN-16s's 5 and 27.

# %%
f32, f16 = FCN32s(3, width=1 / 64), FCN16s(3, width=1 / 64)
assert crop_offset(path_map(to_score_fr + [f32.upscore]), CoordMap()) == 19
assert f32.crop_offsets == {"score": 19}
assert f16.crop_offsets == {"score_pool4c": 5, "score": 27}

# %% [markdown]
# Being off by one pixel is not a rounding detail: with a crop of 4 or 6 the two blobs would
# be shifted by 16 image pixels against each other. `crop_offset` refuses any misalignment
# that a crop cannot fix, e.g. a stride-8 blob against a stride-16 one:

# %%
m4, m2 = maps["pool4 / score_pool4"], maps["upscore2"]
assert (m4(4) - m2(0), m4(6) - m2(0)) == (-16, 16)   # crop 4 or 6: 16 image pixels apart
try:
    crop_offset(maps["pool3 / score_pool3"], maps["upscore2"])
    raise AssertionError("blobs of different strides must not be alignable")
except ValueError as e:
    print("ValueError:", e)

# %% [markdown]
# ## 3. The blobs of FCN-8s on a 500x500 image
#
# Sizes (the reference Caffe net's, on a 500x500 input): pool5 22x22, fc7 16x16, upscore2 34x34 (score_pool4 44x44 cropped at
# 5), upscore_pool4 70x70 (score_pool3 88x88 cropped at 9), upscore8 568x568, cropped at 31
# back to 500x500. A forward pass of a tiny-width FCN-8s shows them; the final crop puts the
# score map exactly over the image.

# %%
x500 = Tensor(np.random.default_rng(0).random((1, 3, 500, 500)).astype(np.float32))
with no_grad():
    blobs = net.blobs(x500)
for name in ("pool3", "pool4", "pool5", "fc7", "score_fr", "upscore2", "score_pool4", "score_pool4c",
             "upscore_pool4", "score_pool3", "score_pool3c", "upscore8", "score"):
    print(f"{name:<14} {blobs[name].shape[2]}x{blobs[name].shape[3]}")
expect = {"pool5": 22, "fc7": 16, "upscore2": 34, "score_pool4": 44, "score_pool4c": 34,
          "upscore_pool4": 70, "score_pool3": 88, "score_pool3c": 70, "upscore8": 568, "score": 500}
for name, side in expect.items():
    assert blobs[name].shape[2:] == (side, side), (name, blobs[name].shape)
for big, small, offset in (("upscore8", "score", net.crop_offsets["score"]),   # every crop
                           ("score_pool3", "score_pool3c", net.crop_offsets["score_pool3c"]),  # window fits
                           ("score_pool4", "score_pool4c", net.crop_offsets["score_pool4c"])):
    assert offset + blobs[small].shape[2] <= blobs[big].shape[2], (big, offset)

# %% [markdown]
# Skip layers start at zero (`score_pool4`, `score_pool3` are zero-initialised), so at
# initialisation the fused blobs equal the upsampled coarse scores. In the reference's *staged*
# recipe (FCN-32s fine-tuned from an ImageNet VGG-16, then FCN-16s from the trained 32s, then
# FCN-8s from the trained 16s) this is the point: each finer net starts from the coarser net's
# answer and learns only the corrections.

# %%
assert np.array_equal(blobs["fuse_pool4"].numpy(), blobs["upscore2"].numpy())
assert np.array_equal(blobs["fuse_pool3"].numpy(), blobs["upscore_pool4"].numpy())

# %% [markdown]
# The zeros matter in the backward pass too, but what they do depends on the recipe. Here the
# net is trained *from scratch, all at once*: `score_fr` starts at zero as well (minifcn's
# default; so does the reference's "at-once" FCN-8s, fine-tuned from VGG-16 in one go). The
# gradient at a layer's output goes back through its weights, and `score_fr`, `score_pool4` and
# `score_pool3` have none yet: at the first step only these three score layers learn, and the
# whole VGG trunk (conv1_1 to fc7) gets exactly zero. Their step makes them non-zero, so from
# the second step on the trunk learns too, at first with far smaller gradients. (In the staged
# recipe `score_fr` is already trained when the skips are added, and the trunk learns from step
# 1; the last check below shows that.) A backward hook on each layer shows it
# (`register_full_backward_hook`, PyTorch's; [`hooks.py`](../minifcn/hooks.py) says how it
# sees a layer's gradients): it is called with the gradients at the layer's input and output.

# %%
learner = FCN8s(num_classes=3, width=1 / 64)
reaching = {}                                                   # layer -> largest |gradient| at its output
for name, layer in learner.named_children():
    if hasattr(layer, "weight"):
        layer.register_full_backward_hook(
            lambda m, grad_input, grad_output, name=name: reaching.update({name: float(np.abs(grad_output[0]).max())}))
opt = optim.SGD(learner.parameters(), lr=0.01, momentum=0.9)
rng = np.random.default_rng(3)
x_small = Tensor(rng.standard_normal((2, 3, 64, 64)).astype(np.float32))
y_small = rng.integers(0, 3, (2, 64, 64))
score_layers = ("score_fr", "score_pool4", "score_pool3")
trunk_names = [name for name, _ in learner.named_children() if name.startswith(("conv", "fc"))]   # conv1_1 .. fc7
for step in (1, 2):
    reaching.clear()
    opt.zero_grad()
    F.cross_entropy(learner(x_small), y_small).backward()
    top_score = min(reaching[n] for n in score_layers)
    top_trunk = max(reaching[n] for n in trunk_names)
    print(f"step {step}: gradient at the score layers' outputs >= {top_score:.1e}, at the trunk's <= {top_trunk:.1e}")
    if step == 1:
        assert top_score > 0 and top_trunk == 0.0                # the trunk gets nothing
        assert all(np.abs(p.grad).max() == 0 for n, p in learner.named_parameters() if n.startswith(("conv", "fc")))
    else:
        assert min(reaching[n] for n in trunk_names) > 0          # now every layer learns
        assert top_trunk < top_score / 10                        # but the trunk far less at first
    opt.step()

# the staged recipe: a score_fr that has learned (here just non-zero), skips still at zero
staged = FCN8s(num_classes=3, width=1 / 64)
staged.score_fr.weight.data = 0.1 * rng.standard_normal(staged.score_fr.weight.shape).astype(np.float32)
F.cross_entropy(staged(x_small), y_small).backward()
assert np.abs(staged.score_pool4.weight.data).max() == 0                  # the skip still at zero
assert all(np.abs(getattr(staged, n).weight.grad).max() > 0 for n in trunk_names)   # the trunk learns at step 1
print("staged recipe, step 1: every trunk layer gets a gradient")

# %% [markdown]
# ## 4. Why conv1_1 pads by 100
#
# The authors' own answer (the FAQ of the reference implementation, fcn.berkeleyvision.org):
# the 100 pixels make sure that the output can be aligned with the input whatever the input
# size; the exact offsets could be worked out instead and the padding dropped, only with more
# bookkeeping. Here is what goes wrong without it.
#
# fc6 is a 7x7 convolution without padding on pool5: it needs pool5 to be at least 7x7. With
# VGG16's ordinary padding 1, pool5 is `ceil(h / 32)` (Caffe's pools round up, and so do
# minifcn's FCNs: `ceil_mode=True`), so images smaller than 193 pixels give no output at all.
# (torchvision's VGG16 pools round down, `floor(h / 32)`, but its classifier still takes any
# image from 32 pixels on: an `AdaptiveAvgPool2d((7, 7))` resamples pool5, whatever its size, to
# the 7x7 that the first `Linear` expects. That suits a classifier, one answer per image; an
# FCN's crops need every layer's fixed scale and offset (section 1), and a pool that stretches
# any map to 7x7 has none.) Padding 100 adds
# 198 pixels to every side length before the first pool:
# `ceil((h + 198) / 32) >= 7` for every `h >= 1`, so FCN accepts *any* image size, and the
# upsampled score map always covers it (the crop windows above always fit).

# %%
pool5_side = lambda model, h: {r.name: r.size for r in receptive_field(model, input_size=h)}["pool5"]
vgg = VGG16(num_classes=3, width=1 / 64)                       # conv1_1 padding 1
assert pool5_side(vgg, 192) == 6 and pool5_side(vgg, 193) == 7  # fc6 fits from 193 pixels on
# torchvision's way, in minifcn's layers: pools rounding down leave pool5 1x1 at 32 pixels, and an
# adaptive average pool stretches that to 7x7; at 31 pixels pool5 is empty
tv_like = VGG16(num_classes=3, width=1 / 64)
for block in range(1, 6):
    getattr(tv_like, f"pool{block}").ceil_mode = False
assert pool5_side(tv_like, 32) == 1 and pool5_side(tv_like, 63) == 1 and pool5_side(tv_like, 64) == 2
pool5_32 = Tensor(np.ones((1, 8, 1, 1), np.float32))
assert nn.AdaptiveAvgPool2d((7, 7))(pool5_32).shape == (1, 8, 7, 7)  # 1x1 copied to 7x7
for h in (1, 2, 17, 31, 45, 100, 192, 193, 250):
    assert pool5_side(net, h) >= 7, h
floor_net = FCN8s(3, width=1 / 64)                              # the same net, pools rounding down
for block in range(1, 6):
    getattr(floor_net, f"pool{block}").ceil_mode = False
# h + 198 halved, rounding down, five times: pool5 is 7x7 from 26 pixels on, and below that
# fc6 has no output
assert pool5_side(floor_net, 26) == 7
try:
    receptive_field(floor_net, input_size=25)
    raise AssertionError("floor pooling must give fc6 no output on a 25x25 image")
except ValueError as e:
    print("floor pooling, 25x25 image: ValueError:", e)
sizes = [(1, 1), (17, 45), (45, 67)] if FAST else [(1, 1), (17, 45), (45, 67), (100, 100), (223, 161)]
for hw in sizes:
    with no_grad():
        y = net(Tensor(np.zeros((1, 3) + hw, np.float32)))
    assert y.shape[2:] == hw, (hw, y.shape)
print("FCN-8s output matches the input size for", sizes)

# %% [markdown]
# The price: on a 500x500 image conv1 works on 698x698, almost twice the pixels.

# %%
conv1_side = {r.name: r.size for r in receptive_field(net, input_size=500)}["conv1_1"]
assert conv1_side == 500 + 2 * 100 - 2 == 698
print(f"conv1 pixels: {conv1_side ** 2} vs {500 ** 2} ({(conv1_side / 500) ** 2:.2f}x)")
assert (conv1_side / 500) ** 2 > 1.9

# %% [markdown]
# Much of that border is pure bias. An output of conv1_1 whose 3x3 window lies wholly in the
# padding sees only zeros: it *is* the bias, and the weight and input gradients get nothing from
# it (only the bias gradient does). Only the
# outputs whose window's centre lies within 1 pixel of the image (the outputs of the same
# convolution padded by 2) see any of it: on a 160x160 image, 162x162 of 358x358, a fifth.
# minifcn computes only those and fills the ring with the bias
# ([`kernels/conv.py`](../minifcn/kernels/conv.py), `_inner`; in the default `minifcn train`
# run, conv1_1 of 8 images takes 7.9 ms that way against 19.0, as the comment above `_inner`
# records).

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 3, 160, 160)).astype(np.float32)
W, b = rng.standard_normal((4, 3, 3, 3)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
y = F.conv2d(x, W, b, padding=100).numpy()                       # (1, 4, 358, 358)
inner = F.conv2d(x, W, b, padding=2).numpy()                      # (1, 4, 162, 162)
ring = np.ones(y.shape[2:], bool)
ring[98:98 + 162, 98:98 + 162] = False
assert (y[0][:, ring] == b[:, None]).all()                       # the ring: exactly the bias
np.testing.assert_allclose(y[0][:, 98:260, 98:260], inner[0], rtol=1e-5, atol=1e-5)  # inside: padding 2
# what runs: no public name says it, so ask the private rule `_inner` in kernels/conv.py. For an
# (h, w) image and a stride-1 kernel it returns the padding of the inner convolution and the
# width of the ring of bias-only outputs, or None where the ring is too thin to pay
assert K._inner(hw=(160, 160), kh=3, kw=3, stride=(1, 1), padding=(100, 100),
                dilation=(1, 1)) == ((2, 2), (98, 98))
seen = (~ring).mean()
print(f"conv1_1 outputs that see the image at 160x160: {seen:.0%}")
assert seen < 0.21 and (~ring).sum() == inner.shape[2] * inner.shape[3]
# a gradient on the ring alone: nothing for the input or the weight, all of it for the bias
xt, Wt, bt = (Tensor(a, requires_grad=True) for a in (x, W, b))
F.conv2d(xt, Wt, bt, padding=100).backward(np.broadcast_to(ring, y.shape).astype(np.float32))
assert not xt.grad.any() and not Wt.grad.any()
assert np.allclose(bt.grad, ring.sum())

# %% [markdown]
# ## 5. How coarse is 32s against 8s?
#
# Take true label maps from the synthetic dataset and ask: if a net predicted the *perfect*
# class scores at stride 32 (resp. 16, 8), how good could its upsampled output be? Build the
# ideal coarse scores by averaging the one-hot labels over each stride-`s` cell (a box
# convolution with stride `s`), upsample them with FCN's bilinear transposed convolution
# (kernel `2s`), crop at the offset that `crop_offset` derives for this pair of layers, and take
# the argmax. The only loss is resolution.

# %%
C = len(SYNTHETIC_CLASSES)
size = 128 if FAST else 256
n_images = 6 if FAST else 24


def best_possible(onehot, stride):
    """Upsampled argmax of the box-averaged one-hot labels at ``stride``; onehot (n, C, H, W)."""
    down = nn.Conv2d(C, C, stride, stride=stride, bias=False)
    down.weight.data = np.zeros((C, C, stride, stride), np.float32)
    down.weight.data[np.arange(C), np.arange(C)] = 1.0 / stride ** 2        # per-class average
    up = nn.ConvTranspose2d(C, C, 2 * stride, stride=stride, bias=False)
    up.weight.data = init.bilinear_kernel(C, C, 2 * stride)
    offset = crop_offset(path_map([down, up]), CoordMap())                 # s/2: derived, not guessed
    with no_grad():
        scores = F.crop(up(down(Tensor(onehot))), offset, onehot.shape)
    return scores.numpy().argmax(axis=1), offset


labels = np.stack([render_sample(np.random.default_rng([7, i]), size)[1] for i in range(n_images)])
onehot = np.stack([(labels == c) for c in range(C)], axis=1).astype(np.float32)   # 255 -> all zero
results = {}
for stride in (32, 16, 8):
    pred, offset = best_possible(onehot, stride)
    assert offset == stride // 2
    cm = ConfusionMatrix(C)
    cm.update(pred, labels)
    results[stride] = (pred, cm.scores())
    s = cm.scores()
    print(f"stride {stride:>2} (crop {offset:>2}): pixel acc {s['pixel_acc']:.3f}  mean IoU {s['mean_iou']:.3f}  "
          f"bar IoU {s['per_class_iou'][4]:.3f}  dot IoU {s['per_class_iou'][5]:.3f}")

# %% [markdown]
# Even with perfect coarse scores, the stride-32 output rounds every shape into blobs and loses
# most thin bars and small dots; stride 8 keeps them. Mean IoU rises from 32s to 16s to 8s, and
# the thin and small classes (bar, dot) gain more than the background and the big discs and
# squares.
#
# The paper's numbers (Long, Shelhamer and Darrell, CVPR 2015), for trained nets on real images:
# mean IU 59.4 (FCN-32s), 62.4 (16s), 62.7 (8s) on a subset of PASCAL VOC 2011 val (Table 2),
# and 62.2 for FCN-8s on the VOC 2012 test set (Table 3). The same order, with smaller gains
# than the upper bound here: our synthetic shapes are thin and small by design, and a trained
# net's scores are far from perfect. They are quoted, not reproduced: our runs are tiny.

# %%
miou = {s: r[1]["mean_iou"] for s, r in results.items()}
assert miou[32] < miou[16] < miou[8]
assert miou[8] - miou[32] > 0.15
gain = np.subtract(results[8][1]["per_class_iou"], results[32][1]["per_class_iou"])   # per class
print("IoU gain from stride 32 to 8:", {c: round(float(g), 3) for c, g in zip(SYNTHETIC_CLASSES, gain)})
assert min(gain[4], gain[5]) > max(gain[0], gain[1], gain[2])   # bar, dot > background, disc, square
PAPER_MEAN_IU_VOC2011 = {32: 59.4, 16: 62.4, 8: 62.7}   # CVPR 2015, Table 2 (quoted, not measured)
print("the paper, mean IU on VOC 2011 val (subset):",
      ", ".join(f"FCN-{s}s {v}" for s, v in PAPER_MEAN_IU_VOC2011.items()), "; FCN-8s on VOC 2012 test: 62.2")
assert sorted(miou, key=miou.get) == sorted(PAPER_MEAN_IU_VOC2011, key=PAPER_MEAN_IU_VOC2011.get)  # same order

# %%
show = 3
fig, axes = plt.subplots(show, 4, figsize=(13, 3.3 * show))
for i in range(show):
    panels = [(labels[i], "truth")] + [(results[s][0][i], f"best possible at stride {s}") for s in (32, 16, 8)]
    for ax, (lab, title) in zip(axes[i], panels):
        ax.imshow(colorize(lab.astype(np.int64)), interpolation="nearest")
        ax.set_title(title if i == 0 else "")
        ax.axis("off")
fig.suptitle("Perfect coarse scores, bilinearly upsampled and cropped: what 32s, 16s and 8s can express\n"
             + ", ".join(f"stride {s}: mIoU {miou[s]:.2f}" for s in (32, 16, 8)))
class_colours = colorize(np.arange(C)[None, :])[0] / 255.0                 # each class's colour, as drawn
fig.legend(handles=[Patch(facecolor=class_colours[k], edgecolor="k", label=name)
                    for k, name in enumerate(SYNTHETIC_CLASSES)]
           + [Patch(facecolor="white", edgecolor="k", label="ignored (255)")],
           loc="lower center", ncol=C + 1, frameon=False, bbox_to_anchor=(0.5, -0.02))
save(fig, "07_fcn32_vs_fcn8.png")

# %% [markdown]
# A picture of the alignment: each blob's pixel centres in image coordinates, along one axis,
# before cropping. Cropping 5 pixels off score_pool4 (and 9 off score_pool3, 31 off upscore8)
# lines their first kept pixel up with the first pixel of the blob they are added to.

# %%
fig, ax = plt.subplots(figsize=(13, 4))
rows = [("score_pool3", maps["pool3 / score_pool3"], 9), ("upscore_pool4", maps["upscore_pool4"], 0),
        ("score_pool4", maps["pool4 / score_pool4"], 5), ("upscore2", maps["upscore2"], 0),
        ("upscore8", maps["upscore8"], 31), ("image", CoordMap(), 0)]
for y, (name, m, c) in enumerate(rows):
    xs = np.array([float(m(i)) for i in range(0, 40)])
    keep = np.arange(40) >= c
    ax.scatter(xs[~keep], [y] * int((~keep).sum()), marker="x", color="grey", s=25)
    ax.scatter(xs[keep], [y] * int(keep.sum()), marker="o", color=f"C{y}", s=20)
    ax.annotate(f"first kept: pixel {c} at {float(m(c)):g}", (float(m(c)), y), xytext=(5, 7),
                textcoords="offset points", fontsize=8)
ax.set_yticks(range(len(rows)), [r[0] for r in rows])
ax.axvline(0, color="k", lw=0.6)
ax.set_xlim(-110, 60)
ax.set_xlabel("image coordinate of the pixel centre (x = cropped away)")
ax.set_title("Coordinate maps: crops 9, 5 and 31 line each blob up with its partner and the image")
save(fig, "07_coordinate_maps.png")

# %% [markdown]
# ## Summary
#
# - Each layer maps coordinates affinely; composed maps place every blob in the image.
# - Crop offsets are differences of the maps' offsets divided by their common scale: 5, 9, 31
#   for FCN-8s (19 for 32s; 5, 27 for 16s), computed by `crop_offset`, used by the models.
# - Padding 100 lets fc6 fit on any input size; the crops then remove the extra border.
# - The score layers start at zero: the fused scores start as the coarser net's, and at the
#   first step only the score layers learn (the trunk's gradient is exactly zero).
# - Stride 32 cannot draw thin or small objects even with perfect scores; the pool4/pool3 skips
#   of 16s/8s bring the stride down to 8.
