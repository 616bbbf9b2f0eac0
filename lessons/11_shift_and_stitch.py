# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 11: shift-and-stitch is filter rarefaction (dilation)
#
# A net with output stride `f` gives one prediction every `f` pixels. Section 3.2 of the FCN
# paper (Long, Shelhamer and Darrell, CVPR 2015; "filter dilation" in the journal version,
# TPAMI vol. 39, 2017) discusses a way to get a prediction at *every* pixel from the same net and the
# same weights, OverFeat's *shift-and-stitch*: shift the input `x` pixels right and `y` down
# (by padding on the left and top), once for every `(x, y)` in `{0..f-1}^2`, run the net on
# each of the `f^2` copies, and interlace the outputs so that each prediction sits at the
# centre of its receptive field. The paper then shows that changing only the filters and
# strides gives the same output in one pass: set the subsampling layer's stride to 1, and
# *rarefy* every later filter by the stride removed, `f'_ij = f_{i/s, j/s}` if `s` divides `i`
# and `j`, else 0: a convolution with holes, *a trous*, today's `dilation=s`. The paper weighs
# it as a tradeoff (the output is denser without shrinking the filters' receptive fields, but
# the filters may not look at information finer than their original design; "take longer to
# compute" is what it says of the other tradeoff, decreasing the subsampling) and does not use
# it, finding learned upsampling "more effective and efficient", with the skips: FCN upsamples
# with transposed convolutions (lessons 4, 6, 7). What the rarefied net costs is measured in
# section 4 below.
#
# This lesson builds both on small nets and proves them equal, to float64 roundoff, with
# two poolings too (`f = 4`), where the second pooling needs dilating as well.
#
# Files explained: [`functional.py`](../minifcn/functional.py) (`conv2d` with `dilation=`,
# `max_pool2d`, `pad`, `interpolate`), the dilated unfolding of
# [`im2col.py`](../minifcn/im2col.py), and
# [`receptive_field.py`](../minifcn/receptive_field.py) (`receptive_field`,
# `empirical_receptive_field`), which places each output at the centre of its field.

# %%
import numpy as np

import minifcn
import minifcn.nn.functional as F
from minifcn import Tensor, manual_seed, nn, no_grad
from minifcn.data.synthetic import render_sample
from minifcn.receptive_field import empirical_receptive_field, receptive_field

from _common import FAST, best_time, plt, save

manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A net of output stride 2, run on the 4 shifted copies of its input
#
# conv (3x3) -> ReLU -> max-pool (k=2, s=2) -> conv (3x3), no padding, in float64. Its output
# stride is 2: neighbouring outputs are 2 input pixels apart (`receptive_field`'s `jump`), and
# each sees an 8x8 window (`3 + 1 + (3 - 1) * 2`).
#
# An input of side `h = f*m + rf - 1` makes every size below come out whole (the stride-2 net
# gives `m x m`, the dense output `f*m x f*m`), which keeps the counting of part 4 exact.

# %%
c0, c1, c2 = 3, 8, 5
conv1 = nn.Conv2d(c0, c1, 3).astype(np.float64)
conv2 = nn.Conv2d(c1, c2, 3).astype(np.float64)
strided = nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(2, stride=2), conv2)

rows = receptive_field(strided)
top = rows[-1]
print(f"stride-2 net: receptive field {top.rf}, jump {top.jump}, output pixel 0 centred on input {top.start}")
assert (top.rf, top.jump) == (8, 2)

f, m = 2, (6 if FAST else 24)
h = f * m + top.rf - 1
x = Tensor(rng.standard_normal((2, c0, h, h)))
with no_grad():
    coarse = strided(x).numpy()
assert coarse.shape[2:] == (m, m)

# %% [markdown]
# Now the trick. Copy `(y, x)` is the input padded by `y` rows on top and `x` columns on the
# left (`F.pad(img, (x, 0, y, 0))`, PyTorch's order: left, right, top, bottom): its output
# `(i, j)` sees the window that output `(i, j)` of the original sees, moved `y` up and `x` left,
# so its centre lies on input pixel `start + f*i - y`. A dense map whose pixel `d` is centred on
# `start + d` takes it at `d = f*i - y`. The first row (column) of a copy with `y > 0` (`x > 0`)
# would land at `d < 0`: its window reaches into the padding, and is dropped. The rest fill
# the dense map, each pixel exactly once.


def shift_and_stitch(net, img, f, rf):
    """Dense output of ``net`` (output stride ``f``, receptive field ``rf``, no padding) on
    ``img`` (n, c, h, w): run it on the f*f copies of ``img`` padded by y rows on top and x
    columns on the left (y, x in 0..f-1) and interlace them. Returns (n, c_out, h - rf + 1,
    w - rf + 1) and ``which`` (h - rf + 1, w - rf + 1): the copy y*f + x each pixel came from."""
    ih, iw = img.shape[2:]
    dense, which = None, np.full((ih - rf + 1, iw - rf + 1), -1)
    for y in range(f):
        for x in range(f):
            with no_grad():
                out = net(F.pad(img, (x, 0, y, 0))).numpy()
            if dense is None:
                dense = np.full(out.shape[:2] + which.shape, np.nan)
            i0, j0 = -(-y // f), -(-x // f)            # first output with f*i - y >= 0: ceil(y / f)
            rows_, cols_ = slice(f * i0 - y, None, f), slice(f * j0 - x, None, f)
            assert dense[:, :, rows_, cols_].shape == out[:, :, i0:, j0:].shape, (y, x)
            assert (which[rows_, cols_] == -1).all()  # nothing written twice
            dense[:, :, rows_, cols_] = out[:, :, i0:, j0:]
            which[rows_, cols_] = y * f + x
    assert not np.isnan(dense).any() and (which >= 0).all()   # every dense pixel written
    return dense, which


dense, which2 = shift_and_stitch(strided, x, f, top.rf)
print(f"input {h}x{h}: stride-2 output {m}x{m}, stitched output {dense.shape[2]}x{dense.shape[3]}")
assert dense.shape[2:] == (f * m, f * m)
assert np.array_equal(dense[:, :, ::f, ::f], coarse)   # copy (0, 0) is the net itself
print("which copy each stitched pixel comes from (y*f + x):\n", which2[:4, :6])
r, c = np.indices(which2.shape)
assert np.array_equal(which2, (-r % f) * f + (-c % f))   # pixel (r, c) comes from copy (-r mod f, -c mod f)

# %% [markdown]
# ## 2. The same dense output in one pass: the rarefied net
#
# Set the pooling's stride to 1: its output is 2x denser, and its pixel `d` is pixel `d/2` of
# the strided pooling's wherever `d` is even. The 3x3 filter after it must then read every
# *second* pixel of the denser map (the taps it read before, now 2 apart): `dilation=2`, the
# same weights. One pass, with the receptive field unchanged (8) and the jump now 1.

# %%
conv2_rare = nn.Conv2d(c1, c2, 3, dilation=f).astype(np.float64)
conv2_rare.weight, conv2_rare.bias = conv2.weight, conv2.bias      # the same Parameters
rarefied = nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(2, stride=1), conv2_rare)
with no_grad():
    one_pass = rarefied(x).numpy()
err = np.abs(one_pass - dense).max() / np.abs(dense).max()
print(f"rarefied net vs shift-and-stitch: max |difference| {err:.1e} of the largest value")
assert one_pass.shape == dense.shape
assert err < 1e-13                                    # float64 roundoff: the same sums, regrouped

rare_top = receptive_field(rarefied)[-1]
assert (rare_top.rf, rare_top.jump, rare_top.start) == (top.rf, 1, top.start)   # centres line up

# %% [markdown]
# The paper's formula for the rarefied filter is the dilation written out: a `(2*3 - 1)`-square
# kernel with the 3x3 taps at the even positions and zeros between them. A plain convolution
# with that kernel is the dilated one:

# %%
W = conv2.weight.numpy()
W_rare = np.zeros(W.shape[:2] + (f * 2 + 1, f * 2 + 1))
W_rare[:, :, ::f, ::f] = W                            # f'_ij = f_{i/s, j/s} where s | i and s | j
pooled = F.max_pool2d(F.relu(conv1(x)), 2, stride=1)
with no_grad():
    by_formula = F.conv2d(pooled, W_rare, conv2.bias).numpy()
    by_dilation = F.conv2d(pooled, W, conv2.bias, dilation=f).numpy()
assert np.abs(by_formula - by_dilation).max() < 1e-13 * np.abs(by_dilation).max()

# %% [markdown]
# The dilated convolution never multiplies those zeros: its unfolding (`im2col`,
# `col[..., i, j, oy, ox] = x[..., oy*sy + i*dy, ox*sx + j*dx]`; `F.unfold` shows it) takes
# only the `3 x 3` taps, `dy = dx = 2` pixels apart, per output: 9 products per channel, not 25.

# %%
with no_grad():
    col = F.unfold(pooled, 3, dilation=f).numpy()      # (n, c1 * 3 * 3, L)
assert col.shape[1] == c1 * 3 * 3
assert np.array_equal(col[0, :, 0], pooled.numpy()[0, :, 0:5:f, 0:5:f].reshape(-1))   # output 0's taps

# %% [markdown]
# Stride 1 alone is not enough: "convolving the original filter with the upsampled output does
# not produce the same result", since the undilated filter reads three *neighbouring* pixels of
# the denser map, a smaller window (`3 + 1 + 2 = 6`) and a different function: it matches the
# dense map at none of the relative placements its larger output allows.


# %%
def far_from(a, b, scale):
    """Whether ``a`` (..., H, W) differs by more than ``scale`` from every placement of ``b``
    (..., h, w), h <= H, w <= W, inside it."""
    (H, W), (bh, bw) = a.shape[-2:], b.shape[-2:]
    return all(np.abs(a[..., oy:oy + bh, ox:ox + bw] - b).max() > scale
               for oy in range(H - bh + 1) for ox in range(W - bw + 1))


finer = nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(2, stride=1), conv2)   # subsampling just removed
with no_grad():
    finer_out = finer(x).numpy()
assert receptive_field(finer)[-1].rf == 6 < top.rf
assert far_from(finer_out, dense, 0.1 * np.abs(dense).max())

# %% [markdown]
# ## 3. Two poolings (f = 4): the second pooling is dilated too
#
# conv -> ReLU -> pool 2/2 -> conv -> ReLU -> pool 2/2 -> conv: output stride 4, receptive
# field `3 + 1 + 2*2 + 1*2 + 2*4 = 18`. Rarefying layer by layer: the first pooling gets
# stride 1; everything after it sees a map 2x denser, so the second conv is dilated by 2, and
# the second pooling, whose 2x2 window now must read pixels 2 apart, becomes a stride-1 pool
# *dilated by 2*; the last conv, after both, is dilated by `2 * 2 = 4`. Each layer's dilation is
# the product of the strides removed below it.
#
# A dilated max pool is `k*k` shifted slices of the input and their elementwise maximum
# (`minifcn.maximum`, in the graph, so it backpropagates). The library's form is
# `F.max_pool2d(t, k, stride=1, dilation=d)` (as PyTorch's), whose kernel also records the
# indices; the few lines below show there is nothing more to it, and are checked against it.

# %%


def max_pool2d_dilated(t, k, dilation):
    """Stride-1 max pool whose ``k x k`` taps are ``dilation`` apart.

    (n, c, h, w) -> (n, c, h - dilation*(k - 1), w - dilation*(k - 1)).

    >>> max_pool2d_dilated(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2, 2).numpy()[0, 0]
    array([[10., 11.],
           [14., 15.]])
    """
    oh, ow = t.shape[2] - dilation * (k - 1), t.shape[3] - dilation * (k - 1)
    out = None
    for i in range(k):
        for j in range(k):
            tap = t[:, :, i * dilation:i * dilation + oh, j * dilation:j * dilation + ow]
            out = tap if out is None else minifcn.maximum(out, tap)
    return out


probe = Tensor(rng.standard_normal((2, 3, 11, 13)))
assert np.array_equal(max_pool2d_dilated(probe, 2, 1).numpy(), F.max_pool2d(probe, 2, stride=1).numpy())
assert np.array_equal(max_pool2d_dilated(probe, 3, 1).numpy(), F.max_pool2d(probe, 3, stride=1).numpy())
for k, d in ((2, 2), (3, 2), (2, 3)):   # the library's dilated pooling, taps d apart
    assert np.array_equal(max_pool2d_dilated(probe, k, d).numpy(),
                          F.max_pool2d(probe, k, stride=1, dilation=d).numpy())

# %% [markdown]
# The two nets as functions of one set of weights `P` (so part 4 can rerun them with other
# weights):

# %%
c3 = 4
P = {name: Tensor(rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:])))
     for name, shape in (("W1", (c1, c0, 3, 3)), ("W2", (c1, c1, 3, 3)), ("W3", (c3, c1, 3, 3)))}
P.update(b1=Tensor(0.1 * rng.standard_normal(c1)), b2=Tensor(0.1 * rng.standard_normal(c1)),
         b3=Tensor(0.1 * rng.standard_normal(c3)))


def strided4(img, P=P, blobs=None):
    """Output stride 4: (n, 3, h, w) -> (n, 4, (h - 17) // 4 roughly). ``blobs``: a dict
    that receives the intermediate maps by name."""
    b = {} if blobs is None else blobs
    b["conv1"] = F.conv2d(img, P["W1"], P["b1"])
    b["pool1"] = F.max_pool2d(F.relu(b["conv1"]), 2, stride=2)
    b["conv2"] = F.conv2d(b["pool1"], P["W2"], P["b2"])
    b["pool2"] = F.max_pool2d(F.relu(b["conv2"]), 2, stride=2)
    b["conv3"] = F.conv2d(b["pool2"], P["W3"], P["b3"])
    return b["conv3"]


def rarefied4(img, P=P, blobs=None, pool2_dilation=2):
    """The same weights at output stride 1: (n, 3, h, w) -> (n, 4, h - 17, w - 17)."""
    b = {} if blobs is None else blobs
    b["conv1"] = F.conv2d(img, P["W1"], P["b1"])
    b["pool1"] = F.max_pool2d(F.relu(b["conv1"]), 2, stride=1)                     # stride 2 -> 1
    b["conv2"] = F.conv2d(b["pool1"], P["W2"], P["b2"], dilation=2)                # behind stride 2
    b["pool2"] = max_pool2d_dilated(F.relu(b["conv2"]), 2, pool2_dilation)         # stride 2 -> 1
    b["conv3"] = F.conv2d(b["pool2"], P["W3"], P["b3"], dilation=4)                # behind 2 * 2
    return b["conv3"]


# the strided net as layers, for receptive_field (which walks modules, not functions)
rf4 = receptive_field(nn.Sequential(nn.Conv2d(c0, c1, 3), nn.MaxPool2d(2, 2), nn.Conv2d(c1, c1, 3),
                                    nn.MaxPool2d(2, 2), nn.Conv2d(c1, c3, 3)))[-1]
assert (rf4.rf, rf4.jump) == (18, 4)

f4, m4 = 4, (4 if FAST else 12)
h4 = f4 * m4 + rf4.rf - 1
x4 = Tensor(rng.standard_normal((2, c0, h4, h4)))
dense4, which4 = shift_and_stitch(strided4, x4, f4, rf4.rf)
with no_grad():
    coarse4 = strided4(x4).numpy()
    one_pass4 = rarefied4(x4).numpy()
    pool2_undilated = rarefied4(x4, pool2_dilation=1).numpy()
err4 = np.abs(one_pass4 - dense4).max() / np.abs(dense4).max()
print(f"f=4, input {h4}x{h4}: 16 stitched passes {dense4.shape[2:]} vs one rarefied pass: "
      f"max |difference| {err4:.1e} of the largest value")
assert dense4.shape[2:] == one_pass4.shape[2:] == (f4 * m4, f4 * m4)
assert np.array_equal(dense4[:, :, ::f4, ::f4], coarse4)
r, c = np.indices(which4.shape)
assert np.array_equal(which4, (-r % f4) * f4 + (-c % f4))
assert err4 < 1e-13

# %% [markdown]
# With the second pooling left undilated (stride 1, neighbouring taps) the output is another
# function, over a smaller window (17 pixels), at every placement:

# %%
assert pool2_undilated.shape[2] == dense4.shape[2] + 1        # its field is 17, not 18
assert far_from(pool2_undilated, dense4, 0.1 * np.abs(dense4).max())

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5.6))
for ax, (wh, ff) in zip(axes, ((which2, f), (which4, f4))):
    show_n = 4 * ff
    ax.imshow(wh[:show_n, :show_n], cmap="tab20" if ff == 4 else "Set2", vmin=0, vmax=max(ff * ff - 1, 7))
    for (r, c), k in np.ndenumerate(wh[:show_n, :show_n]):
        ax.text(c, r, f"{k // ff},{k % ff}", ha="center", va="center", fontsize=7 if ff == 4 else 9)
    ax.set_title(f"f = {ff}: the copy (y, x) each dense pixel comes from\n"
                 f"({ff * ff} passes; copy (y, x) fills rows {ff}i - y, columns {ff}j - x)")
    ax.set_xticks([])
    ax.set_yticks([])
save(fig, "11_interlacing.png")

# %% [markdown]
# ## 4. The trade-off
#
# **The receptive field stays.** Backpropagating one output to the input (positive weights so
# every ReLU passes; see lesson 1) marks the same 18x18 window in both nets, which is the
# analytic field of the strided net. Simply removing the subsampling (part 2's `finer` net)
# would have shrunk it.

# %%
P_pos = {k: Tensor(np.abs(v.numpy())) for k, v in P.items()}
out_pos = (1, 2)
meas_strided = empirical_receptive_field(lambda t: strided4(t, P_pos), (4, c0, h4, h4), out_pos)
meas_rare = empirical_receptive_field(lambda t: rarefied4(t, P_pos), (4, c0, h4, h4),
                                      (f4 * out_pos[0], f4 * out_pos[1]))
print(f"one output's field, measured: strided {meas_strided.height}x{meas_strided.width} at "
      f"({meas_strided.top}, {meas_strided.left}), rarefied {meas_rare.height}x{meas_rare.width} at "
      f"({meas_rare.top}, {meas_rare.left})")
assert (meas_strided.height, meas_strided.width) == (meas_rare.height, meas_rare.width) == (rf4.rf, rf4.rf)
assert (meas_strided.top, meas_strided.left) == (meas_rare.top, meas_rare.left) == (f4 * 1, f4 * 2)

# %% [markdown]
# **The filters see no finer information.** The last filter of the rarefied net reads the
# (dense) second pooling's output at 3x3 positions `4` apart, which are the 3x3 neighbours
# the strided net's filter reads in its 4x-coarser map. Its gradient with respect to that map
# is zero everywhere else: nothing between those positions reaches it.

# %%
d = (5, 6)                                              # any dense output pixel
blobs = {}
y4 = rarefied4(Tensor(x4.numpy(), requires_grad=True), blobs=blobs)   # a graph to backpropagate
blobs["pool2"].retain_grad()                            # a gradient kept on a non-leaf, as PyTorch's
pick = np.zeros(y4.shape)
pick[:, :, d[0], d[1]] = 1.0
(y4 * Tensor(pick)).sum().backward()
read = np.argwhere(np.abs(blobs["pool2"].grad).sum(axis=(0, 1)) > 0)
print("pixels of the dense pool2 map read by dense output", d, ":", sorted({tuple(r) for r in read.tolist()}))
assert len(read) == 9
assert set(read[:, 0].tolist()) == {d[0], d[0] + 4, d[0] + 8} and set(read[:, 1].tolist()) == {d[1], d[1] + 4, d[1] + 8}

# %% [markdown]
# **The cost grows by `f^2`.** Count multiply-adds per layer (`c_in * c_out * k * k` per output
# pixel, from the output shapes): a layer below every subsampling is unchanged; one behind a
# total stride `s` works at `s^2` times as many positions, so the last layers, where FCN's fc6,
# fc7 and score layers sit, cost exactly `f^2` times the strided net's. Shift-and-stitch pays
# `f^2` (a little more: its copies are padded) for *every* layer, the first ones included,
# which recompute nearly the same pixels `f^2` times; the rarefied net computes each once.


# %%
def layer_macs(net_fn, img, P=P):
    """Multiply-adds of each convolution of ``strided4``/``rarefied4`` on ``img``: ``c_in * k * k``
    per value of its output, read from the maps it makes."""
    blobs = {}
    with no_grad():
        net_fn(img, P, blobs)
    return [P[w].shape[1] * P[w].shape[2] * P[w].shape[3] * blobs[name].numpy().size
            for name, w in (("conv1", "W1"), ("conv2", "W2"), ("conv3", "W3"))]


one = Tensor(x4.numpy()[:1])
cost_strided = layer_macs(strided4, one)
cost_rare = layer_macs(rarefied4, one)
cost_stitch = [sum(c) for c in zip(*(layer_macs(strided4, F.pad(one, (sx, 0, sy, 0)))
                                     for sy in range(f4) for sx in range(f4)))]
for name, a, b, c in zip(("conv1", "conv2", "conv3"), cost_strided, cost_rare, cost_stitch):
    print(f"{name}: strided {a:>9,}  rarefied {b:>10,} ({b / a:5.2f}x)  shift-and-stitch {c:>10,} ({c / a:5.2f}x)")
assert cost_rare[0] == cost_strided[0]                  # before any subsampling: the same work
assert cost_rare[1] == 4 * cost_strided[1]              # behind stride 2
assert cost_rare[2] == f4 ** 2 * cost_strided[2]        # behind stride 4: f^2
assert all(c >= f4 ** 2 * a for c, a in zip(cost_stitch, cost_strided))   # f^2 passes, each no smaller
assert sum(cost_rare) < sum(cost_stitch)

# %% [markdown]
# Timed on this machine (printed, not asserted: the load varies), the fastest of 3 runs:

# %%
xt = Tensor(rng.standard_normal((1, c0, 4 * (16 if FAST else 40) + 17, 4 * (16 if FAST else 40) + 17)))
with no_grad():
    t_strided = best_time(lambda: strided4(xt))
    t_rare = best_time(lambda: rarefied4(xt))
    t_stitch = best_time(lambda: shift_and_stitch(strided4, xt, f4, rf4.rf))
print(f"input {xt.shape[2]}x{xt.shape[3]}: strided {1e3 * t_strided:.1f} ms, rarefied {1e3 * t_rare:.1f} ms "
      f"({t_rare / t_strided:.1f}x), shift-and-stitch {1e3 * t_stitch:.1f} ms ({t_stitch / t_strided:.1f}x)")

# %% [markdown]
# ## 5. What FCN chose instead: upsampling the coarse output
#
# The paper reports trying the trick and leaving it out of its model: learning through
# upsampling (its section 3.3), combined with the skip layers, worked better and cost less.
# Bilinear upsampling (FCN's
# initialisation of its transposed convolutions, lesson 6) of the `m x m` strided output by `f`
# has the dense output's shape, but it is a fixed linear function of `m^2` numbers per
# channel: the rarefied net's `f^2 m^2` are each computed from the image. Run both on many
# random images and count the independent values as the rank of the outputs stacked as rows
# (one channel): `(f m)^2` against `m^2`. FCN brings finer information back with skips
# (lesson 7): 1x1 score layers on the finer pool4 and pool3, not the deep layers rerun at
# every pixel.

# %%
m_small = 2 if FAST else 3
h_small = f4 * m_small + rf4.rf - 1
n_img = (f4 * m_small) ** 2 + 16
imgs = Tensor(rng.standard_normal((n_img, c0, h_small, h_small)))
with no_grad():
    dense_s = rarefied4(imgs).numpy()
    up_s = F.interpolate(strided4(imgs), scale_factor=f4, mode="bilinear", align_corners=False).numpy()
print(f"{h_small}x{h_small} input: strided {m_small}x{m_small} -> bilinear {up_s.shape[2:]}, rarefied {dense_s.shape[2:]}")
assert up_s.shape == dense_s.shape == (n_img, c3, f4 * m_small, f4 * m_small)
rank_dense = np.linalg.matrix_rank(dense_s[:, 0].reshape(n_img, -1))
rank_up = np.linalg.matrix_rank(up_s[:, 0].reshape(n_img, -1))
print(f"independent values per channel (rank over {n_img} images): rarefied {rank_dense}, upsampled {rank_up}")
assert rank_up == m_small ** 2
assert rank_dense == (f4 * m_small) ** 2 == f4 ** 2 * rank_up

# %% [markdown]
# A picture of the difference: a hand-set net of the same shape that finds edges. conv1 holds
# the four signed Sobel derivatives of each colour channel (12 maps; the ReLU keeps each
# sign's half), conv2 passes them through (a 3x3 filter with only its centre tap), conv3 adds
# them up (centre taps again), so the net is "edge strength, max-pooled twice". Its strided
# output has one value per 4x4 cell; bilinear upsampling blurs it; the rarefied net draws the
# edges at every pixel. (It is the same dense map as shift-and-stitch gives, checked once
# more.)

# %%
side = 4 * (16 if FAST else 32) + 17
image, _ = render_sample(np.random.default_rng(11), side)
rgb = Tensor(image.astype(np.float64).transpose(2, 0, 1)[None] / 255.0)      # (1, 3, side, side)
sobel = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
centre = np.zeros((3, 3))
centre[1, 1] = 1.0
W1e = np.zeros((12, 3, 3, 3))
for ch in range(3):
    W1e[4 * ch:4 * ch + 4, ch] = [sobel, -sobel, sobel.T, -sobel.T]
E = {"W1": Tensor(W1e), "b1": Tensor(np.zeros(12)),
     "W2": Tensor(np.eye(12)[:, :, None, None] * centre), "b2": Tensor(np.zeros(12)),
     "W3": Tensor(np.ones((1, 12, 1, 1)) * centre), "b3": Tensor(np.zeros(1))}
with no_grad():
    edges_coarse = strided4(rgb, E)
    edges_up = F.interpolate(edges_coarse, scale_factor=4, mode="bilinear", align_corners=False).numpy()[0, 0]
    edges_dense = rarefied4(rgb, E).numpy()[0, 0]
stitched_edges, _ = shift_and_stitch(lambda t: strided4(t, E), rgb, f4, rf4.rf)
assert np.abs(stitched_edges[0, 0] - edges_dense).max() < 1e-13 * np.abs(edges_dense).max()

crop = slice((rf4.rf - 1) // 2, (rf4.rf - 1) // 2 + edges_dense.shape[0])   # the image under the dense map
fig, axes = plt.subplots(1, 4, figsize=(17, 4.6))
panels = [(image[crop, crop], "image (the part the outputs cover)"),
          (np.kron(edges_coarse.numpy()[0, 0], np.ones((4, 4))), f"strided output {edges_coarse.shape[2]}x{edges_coarse.shape[3]}"),
          (edges_up, "bilinear upsampling x4 (FCN's start)"),
          (edges_dense, f"rarefied net, one pass ({edges_dense.shape[0]}x{edges_dense.shape[1]})")]
for ax, (im, title) in zip(axes, panels):
    ax.imshow(im, cmap=None if im.ndim == 3 else "magma", interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
fig.suptitle("An edge net of output stride 4: one value per 4x4 cell, upsampled, against the rarefied net's value at every pixel")
save(fig, "11_dense_vs_upsampled.png")

# %% [markdown]
# ## Summary
#
# - Shift-and-stitch: `f^2` passes on copies padded by `(y, x)`, each output placed at the
#   centre of its receptive field (`d = f*i - y`), fill a dense map exactly once.
# - The rarefied net gives the same map in one pass: subsampling strides set to 1, each later
#   filter (and pooling) dilated by the product of the strides removed below it;
#   `F.conv2d(dilation=s)` is the paper's `f'_ij = f_{i/s, j/s}`.
# - Its receptive field is the original's, its filters read the same coarse lattice (no finer
#   information), and the layers behind stride `s` cost `s^2` times as much: `f^2` at the top.
# - FCN upsamples instead and adds skips; bilinear upsampling has the dense shape but `1/f^2`
#   of the independent values. (Dilated convolutions later came back as a design choice of
#   their own: Yu and Koltun 2016, DeepLab.)
