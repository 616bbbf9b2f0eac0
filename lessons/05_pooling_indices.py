# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 5: max pooling with indices, unpooling (SegNet) vs transposed convolution (FCN)
#
# SegNet's decoder upsamples by *unpooling*: each encoder max-pooling layer records where every
# maximum came from, and the matching decoder layer puts values back exactly there, zeros
# elsewhere. The result is sparse; the convolutions that follow fill it in. FCN upsamples with a
# transposed convolution instead: dense and learnable, but the layer itself does not know where
# in each window the maximum was. FCN gets position back another way: it adds score maps from
# finer layers (its pool4 and pool3 skips, lesson 7).
#
# Files explained: [`functional.max_pool2d`](../minifcn/functional.py) (`return_indices=True`),
# [`functional.max_unpool2d`](../minifcn/functional.py), their array kernels in
# [`kernels/pool.py`](../minifcn/kernels/pool.py), the loop versions
# [`naive.max_pool2d` / `naive.max_unpool2d`](../minifcn/naive.py), and tie-free inputs from
# [`testing.distinct_values`](../minifcn/testing.py).
#
# Pooling output size: `out = floor((h + 2p - k) / s) + 1` (`ceil` in `ceil_mode`, FCN's choice).

# %%
import numpy as np

import minifcn.functional as F
from minifcn import Tensor, init, naive
from minifcn.testing import distinct_values

from _common import FAST, plt, save

# %% [markdown]
# ## 1. Indices are flat positions `iy * W + ix` in each input plane
#
# A tie-free input, so every window has a single winner.

# %%
x = distinct_values((1, 2, 6, 6), seed=0) + 1.0
y, idx = F.max_pool2d(x, 2, return_indices=True)
y, idx = y.numpy(), idx.numpy()
print("pooled", y.shape, "indices", idx.shape, idx.dtype)
print(idx[0, 0])
assert y.shape == idx.shape == (1, 2, 3, 3)
# the index picks the maximum out of the flattened input plane
for ci in range(2):
    assert np.array_equal(x[0, ci].ravel()[idx[0, ci]], y[0, ci])
# and lies inside its own 2x2 window
iy, ix = np.divmod(idx[0, 0], 6)
assert np.array_equal(iy // 2, np.arange(3)[:, None].repeat(3, 1))
assert np.array_equal(ix // 2, np.arange(3)[None, :].repeat(3, 0))

# %% [markdown]
# The loop version agrees, values and indices.

# %%
y_naive, idx_naive = naive.max_pool2d(x, 2)
assert np.array_equal(y_naive, y) and np.array_equal(idx_naive, idx)

# %% [markdown]
# ## 2. Unpooling puts each value back where it came from
#
# `max_unpool2d(y, idx)` is a scatter: a map of zeros the size of the encoder's input, with each
# pooled value at its recorded position. Exactly one non-zero per 2x2 window, so 1/4 of the
# pixels are filled; pooling the unpooled map gives back the same values and indices.

# %%
u = F.max_unpool2d(y, idx, 2).numpy()
assert u.shape == x.shape
assert np.array_equal(u, naive.max_unpool2d(y, idx, (6, 6)))
assert (u != 0).sum() == y.size == x.size // 4
assert np.array_equal(u[u != 0], x[u != 0])            # the kept values are the maxima themselves
y2, idx2 = F.max_pool2d(u, 2, return_indices=True)
assert np.array_equal(y2.numpy(), y) and np.array_equal(idx2.numpy(), idx)

# %% [markdown]
# ## 3. Unpooling is the gradient of max pooling
#
# Only the winner of a window influences the output, so the gradient of max pooling routes each
# upstream gradient to the winner: precisely an unpooling of the gradient. (And the gradient of
# unpooling is a gather at the indices.)

# %%
xt = Tensor(x, requires_grad=True)
out, ind = F.max_pool2d(xt, 2, return_indices=True)
gy = np.random.default_rng(1).standard_normal(out.shape)
out.backward(gy)
assert np.array_equal(xt.grad, F.max_unpool2d(gy, idx, 2).numpy())

yt = Tensor(y, requires_grad=True)
F.max_unpool2d(yt, idx, 2).backward(x)
assert np.array_equal(yt.grad, np.take_along_axis(x.reshape(1, 2, -1), idx.reshape(1, 2, -1), 2).reshape(y.shape))
print("grad of max_pool2d = unpooling; grad of max_unpool2d = gather at the indices")

# %% [markdown]
# ## 4. Sparse and in place (unpooling) vs dense and smeared (transposed convolution)
#
# An image with a thin vertical line (one pixel wide, at an odd column) and a small square.
# Pool it by 2, then bring it back to full size two ways:
#
# - **unpooling with the indices** (SegNet): every kept maximum lands on its original pixel, so
#   the line stays exactly one pixel wide, at its own column. But each 2x2 window held two of the
#   line's pixels, one above the other, and kept only the larger: half of them come back as
#   zeros, and the line is dotted (one dot every second row) until the decoder's convolutions
#   fill the gaps;
# - **a transposed convolution** (FCN) with the bilinear 4x4 / stride 2 kernel
#   ([`init.bilinear_kernel`](../minifcn/init.py), lesson 6), padding 1 to keep the size: every
#   output pixel gets a value, and the line spreads over four columns.

# %%
size = 16 if FAST else 32
img = np.zeros((1, 1, size, size))
col = 5                                            # odd: the line sits in the right half of its window
img[0, 0, :, col] = 1.0 + 0.01 * np.arange(size)   # slightly increasing: no ties in a window
img[0, 0, 10:13, 10:13] = 0.5 + 0.01 * np.arange(9).reshape(3, 3)

pooled, pidx = F.max_pool2d(img, 2, return_indices=True)
unpooled = F.max_unpool2d(pooled, pidx, 2).numpy()[0, 0]
K = init.bilinear_kernel(1, 1, 4, dtype=np.float64)
dense = F.conv_transpose2d(pooled, K, stride=2, padding=1).numpy()[0, 0]
assert dense.shape == unpooled.shape == (size, size)

line_cols_unpool = set(np.nonzero(unpooled[:, :8])[1].tolist())     # left part holds only the line
line_cols_dense = set(np.nonzero(np.abs(dense[:, :8]) > 1e-12)[1].tolist())
print("columns the line occupies after unpooling:", sorted(line_cols_unpool))
print("columns it occupies after the transposed conv:", sorted(line_cols_dense))
assert line_cols_unpool == {col}
line_rows = np.nonzero(unpooled[:, col])[0]
assert np.array_equal(line_rows, np.arange(1, size, 2))   # dotted: the lower pixel of each window
assert line_cols_dense == {3, 4, 5, 6}
fill_unpool = (unpooled != 0).mean()
fill_dense = (np.abs(dense) > 1e-12).mean()
print(f"non-zero pixels: unpooling {fill_unpool:.1%}, transposed conv {fill_dense:.1%}")
assert fill_unpool <= 0.25 and fill_dense > 2 * fill_unpool

# %% [markdown]
# The price of SegNet's trick is small: one index per pooled value (a quarter of the input's
# size), and all it has to say is which of the four pixels of its 2x2 window won: two bits
# (the SegNet paper's count). An FCN skip connection instead keeps an encoder feature map
# (pool3, pool4) for the decoder: one float per value, 32 bits. minifcn stores each index as an
# int64 flat position, for simplicity, not as two bits. In SegNet the indices are passed
# explicitly from encoder to decoder, never hidden in a layer.

# %%
assert pidx.size == img.size // 4
assert pidx.numpy().dtype == np.int64
iy, ix = np.divmod(pidx.numpy()[0, 0], size)     # the row and column of each maximum
where = 2 * (iy % 2) + ix % 2                     # 0..3: which corner of its window (row, then column)
# two bits say it all: the window's place and the corner rebuild every index
oy, ox = np.mgrid[0:size // 2, 0:size // 2]
assert np.array_equal(pidx.numpy()[0, 0], (2 * oy + where // 2) * size + 2 * ox + where % 2)

fig, axes = plt.subplots(1, 5, figsize=(22, 4.4), gridspec_kw=dict(wspace=0.45))
corner_cmap = plt.matplotlib.colors.ListedColormap(["#4c72b0", "#dd8452", "#55a868", "#c44e52"])
panels = [(img[0, 0], "input (line at column 5)", "viridis", None),
          (pooled.numpy()[0, 0], "max pooled 2x2", "viridis", None),
          (where, "where each max came from\n(all-zero windows: first = TL)", corner_cmap, (-0.5, 3.5)),
          (unpooled, "max_unpool2d: sparse, in place\n(the line dotted: 1 of 2 pixels kept)", "viridis", None),
          (dense, "transposed conv (bilinear 4/2): dense", "viridis", None)]
for ax, (im, title, cmap, lims) in zip(axes, panels):
    shown = ax.imshow(im, cmap=cmap, interpolation="nearest",
                      vmin=None if lims is None else lims[0], vmax=None if lims is None else lims[1])
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if lims is not None:
        bar = fig.colorbar(shown, ax=ax, ticks=[0, 1, 2, 3], fraction=0.046)
        bar.ax.set_yticklabels(["top-left", "top-right", "bottom-left", "bottom-right"])
fig.suptitle("SegNet's unpooling keeps the line one pixel wide where it was; "
             "FCN's transposed convolution smears it")
save(fig, "05_unpool_vs_transposed_conv.png")

# %% [markdown]
# ## Summary
#
# - `max_pool2d(..., return_indices=True)` returns the flat `iy * W + ix` of each maximum.
# - `max_unpool2d` scatters values back to those positions: sparse (1/4 filled for 2x2), exact
#   in position; it is also max pooling's backward pass.
# - A transposed convolution is dense and spreads every value over its kernel footprint.
#   SegNet relies on the decoder's convolutions to densify the sparse maps, keeping boundaries
#   where the encoder saw them.
