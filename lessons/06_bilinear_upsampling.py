# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 6: bilinear upsampling is a transposed convolution with a tent kernel
#
# FCN upsamples its coarse class scores with transposed convolutions (lesson 4) whose weights
# start as bilinear interpolation: kernel `2f` and stride `f` for an upsampling factor `f`
# (4/2, 16/8, 64/32). The paper fixes the final upsampling to bilinear and learns the
# intermediate 2x ones from that start; the released Caffe nets, and minifcn by default
# (`learnable_upsampling=False`), keep all of them fixed. This lesson shows that the
# initialised layer *is* bilinear interpolation, exactly, away from the borders.
#
# Files explained: [`init.bilinear_kernel`](../minifcn/init.py) (the weight),
# [`functional.conv_transpose2d`](../minifcn/functional.py) (the layer), and the loop
# reference [`naive.bilinear_upsample`](../minifcn/naive.py), which spreads each pixel with
# the tent weights `(1 - |dy|/f)(1 - |dx|/f)`.

# %%
import numpy as np

import minifcn.functional as F
from minifcn import init, naive
from minifcn.data.synthetic import render_sample

from _common import FAST, plt, save

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The kernel: a separable tent, one channel to itself
#
# `bilinear_kernel(c, c, k)` has shape `(c, c, k, k)`. Channel `i` maps to channel `i` only
# (class scores must not mix), through `outer(tent, tent)` with `tent[j] = 1 - |j - centre| / f`.

# %%
K4 = init.bilinear_kernel(3, 3, 4, dtype=np.float64)
print(K4[0, 0])
assert K4.shape == (3, 3, 4, 4)
off_diagonal = K4[~np.eye(3, dtype=bool)]
assert not off_diagonal.any()
tent = 1 - np.abs(np.arange(4) - 1.5) / 2          # f = 2, centre 1.5: [0.25, 0.75, 0.75, 0.25]
for i in range(3):
    assert np.allclose(K4[i, i], np.outer(tent, tent))
# separable = rank one: a single non-zero singular value
sv = np.linalg.svd(K4[0, 0], compute_uv=False)
assert sv[1] < 1e-12 * sv[0]

# %% [markdown]
# Each input pixel spreads a total mass of `f * f` (the tent sums to `f` along each axis), and
# the output has `f * f` pixels per input pixel: the average level is preserved.

# %%
for f in (2, 4, 8, 16, 32):
    K = init.bilinear_kernel(1, 1, 2 * f, dtype=np.float64)
    assert abs(K.sum() - f * f) < 1e-9, f

# %% [markdown]
# ## 2. The layer equals the loop definition
#
# `conv_transpose2d(x, bilinear_kernel(c, c, k), stride=f)` with `k = 2f - f % 2` against
# `naive.bilinear_upsample(x, f)`, for even and odd factors.

# %%
x = rng.standard_normal((1, 3, 5, 6))
for f in (2, 3, 4, 8):
    k = 2 * f - f % 2
    up = F.conv_transpose2d(x, init.bilinear_kernel(3, 3, k, dtype=np.float64), stride=f).numpy()
    ref = naive.bilinear_upsample(x, f)
    assert up.shape == ref.shape == (1, 3, (5 - 1) * f + k, (6 - 1) * f + k)
    assert np.allclose(up, ref, rtol=0, atol=1e-12), f
print("conv_transpose2d with bilinear_kernel == naive.bilinear_upsample for f = 2, 3, 4, 8")

# %% [markdown]
# ## 3. Inside, it is exact bilinear interpolation
#
# Output pixel `u` receives `x[i] * tent(u - f*i - centre)` from every input pixel `i`: that is
# linear interpolation of `x` at the input coordinate `t = (u - centre) / f`. Where `t` lies in
# `[0, n - 1]` both neighbours exist and the weights sum to one. We compare with NumPy's own
# 1-D linear interpolation `np.interp`, applied along rows and then columns.
#
# For odd `f` the centre is an integer, so every `f`-th output pixel sits on an input pixel and
# copies it. For even `f` (all of FCN's factors) the centre is `f - 0.5`: `t = (u - f + 0.5)/f`
# is never an integer, the output grid sits half an output pixel off the input grid, and each
# output pixel is a true blend of its neighbours.

# %%
def interp2d(img, t_rows, t_cols):
    """Separable linear interpolation of a 2-D array at fractional coordinates."""
    rows = np.stack([np.interp(t_cols, np.arange(img.shape[1]), r) for r in img])
    return np.stack([np.interp(t_rows, np.arange(img.shape[0]), c) for c in rows.T], axis=1)


for f in (2, 3, 4):
    k = 2 * f - f % 2
    centre = f - 1 if k % 2 else f - 0.5
    up = F.conv_transpose2d(x, init.bilinear_kernel(3, 3, k, dtype=np.float64), stride=f).numpy()[0, 0]
    t_rows = (np.arange(up.shape[0]) - centre) / f
    t_cols = (np.arange(up.shape[1]) - centre) / f
    inside_r = (t_rows >= 0) & (t_rows <= x.shape[2] - 1)
    inside_c = (t_cols >= 0) & (t_cols <= x.shape[3] - 1)
    expect = interp2d(x[0, 0], t_rows[inside_r], t_cols[inside_c])
    assert np.allclose(up[np.ix_(inside_r, inside_c)], expect, rtol=0, atol=1e-12), f
    grid_r = np.isclose(t_rows, np.round(t_rows)) & inside_r
    grid_c = np.isclose(t_cols, np.round(t_cols)) & inside_c
    if f % 2:   # odd f: every f-th output pixel sits on an input pixel and copies it
        assert np.allclose(up[np.ix_(grid_r, grid_c)], x[0, 0], rtol=0, atol=1e-12)
    else:       # even f: the output grid is shifted by half a pixel, none sits on an input pixel
        assert not grid_r.any() and not grid_c.any()
print("interior = np.interp bilinear interpolation at t = (u - centre) / f")

# %% [markdown]
# Two consequences: a constant stays constant inside (partition of unity), and a linear ramp
# stays a linear ramp (second differences vanish), with slope divided by `f`. Near the borders
# only one neighbour exists and the values fall off. FCN's crops (lesson 7) are there to undo
# the padding of 100 and line the grids up. At 500x500 the final crops of FCN-16s (27, after
# 32/16) and FCN-8s (31, after 16/8) also cut every faded pixel away; FCN-32s's crop of 19,
# after 64/32, keeps 13 faded columns on the left and 7 on the right, with gains down to 0.61
# per axis; the 4/2 upsamplings inside FCN-16s/8s are not cropped and keep their two faded rows
# and columns at each border (asserted after the next cell).

# %%
f = 4
K8 = init.bilinear_kernel(1, 1, 8, dtype=np.float64)
const = F.conv_transpose2d(np.ones((1, 1, 6, 6)), K8, stride=f).numpy()[0, 0]
inner = const[f + 1:-f - 1, f + 1:-f - 1]
assert np.allclose(inner, 1.0)
assert const[0, 0] < 0.1 and const.min() < 0.5             # the border tapers off

ramp = np.tile(np.arange(6.0) * 3.0, (6, 1))[None, None]     # slope 3 per input pixel
ramp_up = F.conv_transpose2d(ramp, K8, stride=f).numpy()[0, 0]
row = ramp_up[12, f + 1:-f - 1]
assert np.allclose(np.diff(row, 2), 0, atol=1e-12)
assert np.allclose(np.diff(row), 3.0 / f)


def ones_up(n, k, s):   # an n x n map of ones through FCN's bilinear k/s: the gain per pixel
    return F.conv_transpose2d(np.ones((1, 1, n, n)), init.bilinear_kernel(1, 1, k, dtype=np.float64),
                              stride=s).numpy()[0, 0]


# the sizes at 500x500 input (lesson 7): fc7 16x16 (FCN-32s), the fused scores 34x34 (FCN-16s)
# and 70x70 (FCN-8s)
assert np.allclose(ones_up(70, 16, 8)[31:531, 31:531], 1.0)          # FCN-8s: nothing faded is kept
assert np.allclose(ones_up(34, 32, 16)[27:527, 27:527], 1.0)         # FCN-16s: nor here
gain32 = ones_up(16, 64, 32)[300, 19:519]                            # FCN-32s: one row, cropped
faded = ~np.isclose(gain32, 1.0)
first_full, last_full = np.flatnonzero(~faded)[[0, -1]]
assert first_full == 13 and len(gain32) - 1 - last_full == 7     # 13 faded columns on the left, 7 on the right
assert not faded[first_full:last_full + 1].any() and 0.6 < gain32.min() < 0.62
gain2 = ones_up(16, 4, 2)[10]                                        # upscore2 4/2 (34 wide)
assert np.flatnonzero(~np.isclose(gain2, 1.0)).tolist() == [0, 1, 32, 33]

# %% [markdown]
# The same map has a name in today's frameworks: `F.interpolate(x, scale_factor=f,
# mode="bilinear")` (PyTorch's `align_corners=False`: output pixel `u` reads the input at
# `(u + 0.5) / f - 0.5`, the centres of the pixels lined up). The transposed convolution 2f/f
# with padding `f / 2` reads the input at `(u + f/2 - centre) / f`, the very same place: the two
# agree everywhere but in the `f / 2` pixels of each border, where `interpolate` repeats the
# edge pixel and the convolution fades to zero. FCN made it a convolution so that it is a layer
# whose weights could go on learning from the bilinear start (the paper lets its 2x
# upsamplings learn; its reference nets keep them all fixed, as minifcn's do by default).

# %%
for f in (2, 4, 8):
    x_i = np.random.default_rng(f).standard_normal((1, 3, 6, 7))
    deconv = F.conv_transpose2d(x_i, init.bilinear_kernel(3, 3, 2 * f, dtype=np.float64),
                                stride=f, padding=f // 2).numpy()
    interp = F.interpolate(x_i, scale_factor=f, mode="bilinear").numpy()
    b = f // 2
    assert deconv.shape == interp.shape == (1, 3, 6 * f, 7 * f)
    assert np.allclose(deconv[..., b:-b, b:-b], interp[..., b:-b, b:-b], rtol=0, atol=1e-12), f
    assert not np.allclose(deconv[..., 0, :], interp[..., 0, :])   # the borders differ
print("transposed conv 2f/f, padding f/2 == F.interpolate(bilinear) inside a border of f/2")

# %% [markdown]
# ## 4. Pictures
#
# First the three kernels FCN uses (4/2, 16/8, 64/32). Then a synthetic image, shrunk by a
# 4x4 box filter (a stride-4 `conv2d` with weights 1/16) and brought back to full size with
# two transposed convolutions: a box kernel of ones, 4/4 (nearest neighbour), and the bilinear
# 8/4 with padding 2 (output size `(n - 1)*4 - 2*2 + 8 = 4n`).

# %%
fig, axes = plt.subplots(1, 4, figsize=(17, 4))
for ax, k in zip(axes[:3], (4, 16, 64)):
    ax.imshow(init.bilinear_kernel(1, 1, k)[0, 0], cmap="viridis", interpolation="nearest")
    ax.set_title(f"bilinear_kernel, {k}x{k} (stride {k // 2})")
    ax.axis("off")
for k in (4, 16, 64):
    K = init.bilinear_kernel(1, 1, k)[0, 0]
    f = k // 2
    profile = K.sum(axis=1) / f                    # = tent, since K = outer(tent, tent), sum(tent) = f
    axes[3].plot((np.arange(k) - (f - 0.5)) / f, profile, "o" if k == 4 else ".", label=f"k={k}")
d = np.linspace(-1, 1, 201)
axes[3].plot(d, 1 - np.abs(d), "k-", lw=0.8, label="1 - |d|")
axes[3].set_xlabel("d = offset from centre / stride")
axes[3].set_title("every kernel samples the same tent")
axes[3].legend()
save(fig, "06_bilinear_kernels.png")

# %%
size = 32 if FAST else 64
img, _ = render_sample(np.random.default_rng(3), size)
img = img.astype(np.float64).transpose(2, 0, 1)[None] / 255.0          # (1, 3, size, size)
box = np.zeros((3, 3, 4, 4))
box[np.arange(3), np.arange(3)] = 1 / 16                               # per-channel 4x4 average
small = F.conv2d(img, box, stride=4).numpy()
nearest = F.conv_transpose2d(small, box * 16, stride=4).numpy()
bilinear = F.conv_transpose2d(small, init.bilinear_kernel(3, 3, 8, dtype=np.float64),
                              stride=4, padding=2).numpy()
assert nearest.shape == bilinear.shape == img.shape
# nearest neighbour is piecewise constant on 4x4 blocks; bilinear is not
assert np.allclose(nearest[0, :, 0:4, 0:4], small[0, :, 0:1, 0:1])
assert not np.allclose(bilinear[0, :, 4:8, 4:8], bilinear[0, :, 4:5, 4:5])

show = lambda a: np.clip(a[0].transpose(1, 2, 0), 0, 1)
fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
for ax, im, title in [(axes[0], img, f"image {size}x{size}"),
                      (axes[1], small, f"box-filtered to {size // 4}x{size // 4}"),
                      (axes[2], nearest, "transposed conv, ones 4/4 (nearest)"),
                      (axes[3], bilinear, "transposed conv, bilinear 8/4, pad 2\n(the borders fade)")]:
    ax.imshow(show(im), interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
save(fig, "06_bilinear_upsampling.png")

# %% [markdown]
# ## Summary
#
# - `bilinear_kernel(c, c, 2f)` is a separable tent per channel, channels never mixed; it
#   sums to `f * f`.
# - With stride `f`, `conv_transpose2d` with that kernel equals `naive.bilinear_upsample`, and
#   inside the image it is exactly linear interpolation at `t = (u - centre) / f`.
# - Near the borders the weights no longer sum to one; FCN-16s's and FCN-8s's final crops
#   (made for the padding of 100) happen to cut those pixels away, FCN-32s's keeps some.
# - With padding `f / 2` it is `F.interpolate(..., mode="bilinear")` inside a border of `f / 2`
#   pixels: the same interpolation, as a layer that can learn.
