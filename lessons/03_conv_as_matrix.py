# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 3: convolution is a matrix (Toeplitz), and im2col is how we multiply by it
#
# A convolution is linear in its input, so for a fixed input size it *is* a matrix `T`:
# `conv2d(x).ravel() == T @ x.ravel()`. This lesson walks the three ways minifcn computes the
# same convolution and checks that they agree:
#
# 1. the definition, one output pixel at a time: [`naive.conv2d`](../minifcn/naive.py);
# 2. im2col: copy every input patch into a column, then one matrix product:
#    [`im2col.im2col`](../minifcn/im2col.py), used by
#    [`functional.conv2d`](../minifcn/functional.py) through
#    [`kernels/conv.py`](../minifcn/kernels/conv.py);
# 3. the explicit matrix `T`: [`im2col.conv_matrix`](../minifcn/im2col.py), block-Toeplitz
#    with Toeplitz blocks, mostly zeros, and the key to lesson 4 (transposed convolution is `T.T`);
#
# then a way that needs no `col` at all, shifted slices of the flattened image
# ([`kernels/shifted.py`](../minifcn/kernels/shifted.py), for the large maps); and, last, a way
# to apply the same `T` with fewer multiplications, Winograd's F(2x2, 3x3) and F(4x4, 3x3)
# ([`kernels/winograd.py`](../minifcn/kernels/winograd.py)), which minifcn uses for its wide
# 3x3 layers.
#
# Output size along one axis (kernel `k`, stride `s`, padding `p`):
# `out = (size + 2p - k) // s + 1` ([`im2col.conv_out_size`](../minifcn/im2col.py)).

# %%
import numpy as np

import minifcn.functional as F
from minifcn import naive
from minifcn.im2col import conv_matrix, conv_out_size, im2col
from minifcn.kernels import conv as K
from minifcn.kernels import shifted, winograd

from _common import FAST, best_time, plt, save

rng = np.random.default_rng(0)
n, c, h, w = 1, 2, 6, 6          # one image, 2 channels, 6x6
out_c, kh, kw = 3, 3, 3          # 3 filters of 3x3
x = rng.standard_normal((n, c, h, w))          # float64: equalities hold to ~1e-12
W = rng.standard_normal((out_c, c, kh, kw))

# %% [markdown]
# ## 1. The definition, loop by loop
#
# `y[o, oy, ox] = sum_{ci, i, j} W[o, ci, i, j] * x[ci, oy + i, ox + j]`. The loop version and
# the library's fast `conv2d` give the same numbers.

# %%
y_naive = naive.conv2d(x, W)
y_fast = F.conv2d(x, W).numpy()
out_h, out_w = conv_out_size(h, kh, 1, 0), conv_out_size(w, kw, 1, 0)
print("output shape", y_fast.shape)
assert y_fast.shape == (n, out_c, out_h, out_w) == (1, 3, 4, 4)
assert np.allclose(y_naive, y_fast, rtol=0, atol=1e-12)

# %% [markdown]
# ## 2. im2col: patches as columns, then one matrix product
#
# `im2col(x, kh, kw)` returns `col` of shape `(n, c, kh, kw, out_h, out_w)`: for every output
# position `(oy, ox)` the `c x kh x kw` patch that the kernel sees there. Flatten the patch axes
# and the convolution is `W.reshape(out_c, c*kh*kw) @ col.reshape(c*kh*kw, out_h*out_w)`.

# %%
col = im2col(x, kh, kw)
assert col.shape == (n, c, kh, kw, out_h, out_w)
# the column at (oy, ox) is exactly the input patch under the kernel there
for oy in range(out_h):
    for ox in range(out_w):
        assert np.array_equal(col[0, :, :, :, oy, ox], x[0, :, oy:oy + kh, ox:ox + kw])

y_gemm = (W.reshape(out_c, -1) @ col.reshape(c * kh * kw, out_h * out_w)).reshape(1, out_c, out_h, out_w)
assert np.allclose(y_gemm, y_fast, rtol=0, atol=1e-12)

# %% [markdown]
# PyTorch calls this operator `F.unfold`, and minifcn has it under that name too
# ([`functional.unfold`](../minifcn/functional.py), one call of `im2col`): the same `col` with
# its patch axes already flattened, `(n, c*kh*kw, out_h*out_w)`, rows channel first, then kernel
# row, then kernel column. So `W.reshape(out_c, -1) @ F.unfold(x, (kh, kw))` is the convolution
# above, and `F.fold`, which adds the columns back onto their patches, is `col2im`: the
# transpose, lesson 4's subject.

# %%
assert np.array_equal(F.unfold(x, (kh, kw)).numpy(), col.reshape(n, c * kh * kw, out_h * out_w))

# %% [markdown]
# `col` needs no loop to describe. Its entry `[.., ci, i, j, oy, ox]` is pixel `(oy + i, ox + j)`
# of channel `ci`, so stepping `i` or `oy` moves one image row in memory, and `j` or `ox` one
# pixel: `col` is the image itself read with the strides `(row, pixel, row, pixel)` for its last
# four axes. NumPy's `as_strided` makes that view without copying a number (the windows overlap
# in memory); minifcn's `im2col` copies it once into `col` (its private helper `_windows` in
# [`im2col.py`](../minifcn/im2col.py) does the copy), one operation where a copy per kernel tap
# made `kh * kw` (on a GPU, one kernel launch instead of 9 for a 3x3 kernel).

# %%
s_n, s_c, s_row, s_px = x.strides
view = np.lib.stride_tricks.as_strided(x, shape=(n, c, kh, kw, out_h, out_w),
                                       strides=(s_n, s_c, s_row, s_px, s_row, s_px))
assert np.shares_memory(view, x)                # no copy: the image itself, re-read
assert np.array_equal(view, col)
print(f"col as a view: {view.size} entries over {x.size} numbers of memory")

# %% [markdown]
# The price: every input pixel is copied once per kernel position that covers it, so `col` is
# up to `kh * kw` times larger than `x` (exactly `kh*kw*out_h*out_w / (h*w)` times): here, a
# 6x6 image without padding, 4x; close to 9x for a 3x3 kernel on a big map or with "same" padding.

# %%
blowup = col.size / x.size
print(f"col holds {col.size} numbers for {x.size} inputs: {blowup:.2f}x")
assert blowup == kh * kw * out_h * out_w / (h * w)
# count the copies of each pixel: im2col of an image whose pixel values are their own indices
copies = np.bincount(im2col(np.arange(h * w, dtype=float).reshape(1, 1, h, w), kh, kw).ravel().astype(int),
                     minlength=h * w).reshape(h, w)
print("copies of each input pixel in col:\n", copies)
assert copies[0, 0] == 1 and copies[h // 2, w // 2] == kh * kw   # a corner once, a middle pixel 9x
assert copies.mean() == blowup                                    # the blow-up is the mean count

# %% [markdown]
# In exchange the work becomes one dense matrix product, which BLAS (or cuBLAS) runs far faster
# than Python loops over pixels. Timed on a larger layer:

# %%
size = 12 if FAST else 24
xb = rng.standard_normal((1, 8, size, size))
Wb = rng.standard_normal((8, 8, 3, 3))
t_naive = best_time(lambda: naive.conv2d(xb, Wb, padding=1), repeat=1)
t_fast = best_time(lambda: F.conv2d(xb, Wb, padding=1), repeat=5)
print(f"{size}x{size}x8 -> 8 channels: naive {t_naive * 1e3:.1f} ms, im2col {t_fast * 1e3:.2f} ms, "
      f"speed-up {t_naive / t_fast:.0f}x")
assert np.allclose(naive.conv2d(xb, Wb, padding=1), F.conv2d(xb, Wb, padding=1).numpy(), atol=1e-10)
assert t_naive / t_fast > 10   # hundreds of times in practice; 10 leaves room for a busy machine

# %% [markdown]
# ## 3. The explicit matrix T
#
# `conv_matrix(W, (h, w))` builds `T` entry by entry from the definition: row `(o, oy, ox)`,
# column `(ci, iy, ix)` holds `W[o, ci, iy - oy, ix - ox]` when that kernel tap exists, else 0.
# Shape `(out_c * out_h * out_w, c * h * w)`.

# %%
T = conv_matrix(W, (h, w))
print("T shape", T.shape)
assert T.shape == (out_c * out_h * out_w, c * h * w) == (48, 72)
assert np.allclose(T @ x.ravel(), y_fast.ravel(), rtol=0, atol=1e-12)

# %% [markdown]
# Each row touches only one patch: at most `c * kh * kw` non-zeros out of `c * h * w`
# (exactly that many without padding, since every tap lands inside the image).

# %%
nnz_per_row = (T != 0).sum(axis=1)
assert np.all(nnz_per_row == c * kh * kw)
print(f"non-zeros per row: {c * kh * kw} of {c * h * w} ({c * kh * kw / (c * h * w):.0%})")

# %% [markdown]
# ### Toeplitz structure
#
# With one channel and stride 1, read `T` as blocks: rows grouped by output row `oy`, columns by
# input row `iy`. Block `(oy, iy)` holds the kernel row `iy - oy`, so it depends only on the
# difference `iy - oy` (block-Toeplitz), and inside a block entry `(ox, ix)` depends only on
# `ix - ox` (each block is Toeplitz). A matrix constant along its diagonals is a Toeplitz matrix:
# that is what "convolution = Toeplitz matrix" means.

# %%
k1 = rng.standard_normal((1, 1, kh, kw))
T1 = conv_matrix(k1, (h, w))
blocks = T1.reshape(out_h, out_w, h, w).transpose(0, 2, 1, 3)   # (oy, iy, ox, ix)
for oy in range(out_h):
    for iy in range(h):
        d = iy - oy
        B = blocks[oy, iy]
        if 0 <= d < kh:
            # the same block wherever iy - oy is the same, and it is a Toeplitz band of kernel row d
            assert np.array_equal(B, blocks[0, d])
            for ox in range(out_w):
                for ix in range(w):
                    expect = k1[0, 0, d, ix - ox] if 0 <= ix - ox < kw else 0.0
                    assert B[ox, ix] == expect
        else:
            assert not B.any()   # input rows the kernel cannot reach from output row oy
print("block-Toeplitz with Toeplitz blocks: checked")

# %% [markdown]
# Stride and padding change the pattern in predictable ways: stride 2 shifts each row's band by
# two columns instead of one; padding 1 adds output rows whose band is cut off at the border
# (taps that land on the zero padding have no column).

# %%
T_s2 = conv_matrix(k1, (h, w), stride=2)
T_p1 = conv_matrix(k1, (h, w), padding=1)
assert T_s2.shape == (conv_out_size(h, 3, 2, 0) ** 2, h * w) == (4, 36)
assert T_p1.shape == (h * w, h * w)
first_col = lambda M: np.argmax(M != 0, axis=1)
# stride 2: consecutive outputs in one row start 2 input columns apart
assert first_col(T_s2)[1] - first_col(T_s2)[0] == 2
assert first_col(T1)[1] - first_col(T1)[0] == 1
# padding 1: a corner output sees only a 2x2 corner of the image
assert (T_p1[0] != 0).sum() == 4 and (T_p1[h * w // 2 + w // 2] != 0).sum() == 9

# %%
fig, axes = plt.subplots(1, 4, figsize=(16, 4.2), gridspec_kw=dict(width_ratios=[36, 36, 36, 72]))
for ax, M, title in [(axes[0], T1, "1 channel, 3x3, stride 1\n(16 x 36)"),
                     (axes[1], T_s2, "stride 2 (4 x 36)"),
                     (axes[2], T_p1, "padding 1 (36 x 36)"),
                     (axes[3], T, "2 -> 3 channels (48 x 72)")]:
    lim = np.abs(M).max()
    cmap = plt.get_cmap("RdBu_r").copy()
    cmap.set_bad("white")   # exact zeros drawn white, so the bands stand out
    ax.imshow(np.ma.masked_equal(M, 0.0), cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("input pixel (c, iy, ix)")
    ax.set_ylabel("output pixel (o, oy, ox)")
fig.suptitle("conv_matrix: the convolution as a matrix. Diagonal bands = Toeplitz structure; "
             "white = zero")
save(fig, "03_toeplitz_band_structure.png")

# %% [markdown]
# ## 4. Why nobody builds T for real images
#
# For one VGG16 layer (64 -> 64 channels at 224x224) `T` would have `(64*224*224)^2` entries.
# Its density is at most `c*kh*kw / (c*h*w)`, tiny for real images: a row holds one output's
# taps. (`conv_matrix(..., sparse=True)` builds it as a SciPy sparse matrix, when SciPy is
# installed; a 16x16 map's dense `T`, 1024 x 1024, is small enough to count here.) im2col
# multiplies by `T` without ever storing it.

# %%
side = 16
Td = conv_matrix(rng.standard_normal((4, 4, 3, 3)), (side, side), padding=1)
density = np.count_nonzero(Td) / Td.size
print(f"{side}x{side}, 4 -> 4 channels: T is {Td.shape}, density {density:.4f}")
assert density <= 4 * 9 / (4 * side * side)
assert Td.shape == (4 * side * side, 4 * side * side)   # (out_c * h * w, in_c * h * w): so for VGG
vgg_entries = (64 * 224 * 224) ** 2
print(f"dense T of one VGG16 conv1_2 layer: {vgg_entries:.2e} float32 = {vgg_entries * 4 / 1e12:.0f} TB")
assert 40e12 < vgg_entries * 4 < 42e12                 # the 41 TB printed: not a thing to store

# %% [markdown]
# ## 5. No `col` at all: shifted slices of the flattened image
#
# im2col's `col` is `kh*kw` copies of the input: 9x for a 3x3 kernel, over 1 GB for VGG's
# conv1_2 at FCN's 698x698. There is a way to read every tap in place. Pad the image, then
# flatten each channel into one row of `hp * wp` values. Output `(oy, ox)` meets tap `(i, j)`
# at element `(oy + i)*wp + (ox + j)` of that row, which is `oy*wp + ox` shifted by
# `i*wp + j`. So, for one tap, the values that *all* the outputs read form one plain slice of
# the row, `flat[:, i*wp + j : i*wp + j + out_h*wp]`: a matrix BLAS reads where it lies. The
# convolution is then a sum of `kh*kw` products, `W[:, :, i, j] @ slice`. Each output row
# gains `wp - out_w` junk columns (windows running off the right edge), cut at the end.
# minifcn's [`kernels/shifted.py`](../minifcn/kernels/shifted.py) does this for the large
# maps: it stacks the `kw` taps of a kernel row into the depth (`kw` shifted copies instead of
# `kh*kw`, for deeper products), over chunks of output rows that stay in cache.

# %%
ph = pw = 1
wp = w + 2 * pw                                  # the padded width
oh, ow = conv_out_size(h, kh, 1, ph), conv_out_size(w, kw, 1, pw)
# one zero row more at the bottom: the last tap's slice runs kw - 1 values past the last row
flat = np.pad(x[0], ((0, 0), (ph, ph + 1), (pw, pw))).reshape(c, -1)
y_rows = np.zeros((out_c, oh * wp))
for i in range(kh):
    for j in range(kw):
        tap_slice = flat[:, i * wp + j:i * wp + j + oh * wp]     # (c, oh*wp): a view, no copy
        assert np.shares_memory(tap_slice, flat)
        y_rows += W[:, :, i, j] @ tap_slice
y_shifted = y_rows.reshape(out_c, oh, wp)[:, :, :ow]          # junk columns cut
assert np.allclose(y_shifted, naive.conv2d(x, W, None, 1, 1, 1)[0])
# minifcn's own (kernel rows stacked, in chunks of rows) gives the same numbers
assert np.allclose(shifted.correlate(x, (ph, pw), W, (oh, ow), (1, 1))[0], y_shifted)
# the memory each way, in values, for VGG's conv1_2 (64 channels) at FCN's 698x698:
big, ch = 698, 64
assert im2col(np.zeros((1, 2, 5, 5)), 3, 3, ph=1, pw=1).size == 2 * 9 * 5 * 5   # 9 copies: so for VGG
col_values = ch * 9 * big * big                # im2col: 9 copies
stacked_values = ch * 3 * (big + 2) * (big + 2)  # kernel rows stacked: 3 shifted copies
print(f"conv1_2 at 698x698: col {col_values * 4 / 2**30:.2f} GiB, "
      f"kw shifted copies {stacked_values * 4 / 2**30:.2f} GiB (and minifcn cuts them in chunks)")
assert col_values * 4 > 2**30
assert 0.34 < stacked_values * 4 / 2**30 < 0.36         # the 0.35 GiB printed: about a third of col

# %% [markdown]
# The same shifts also build `col` itself, straight from the *unpadded* image, when the output
# is as wide as the image ("same" padding): tap `(i, j)` of output `p = oy*w + ox` reads flat
# element `p + (i - ph)*w + (j - pw)`. Reading off either end of the flat row is the top or
# bottom padding. But a tap that runs off the left or right edge does not fall off the row: it
# wraps onto the row above or below, so those columns must be zeroed after the copy. On small
# maps (VGG's conv5 at 14x14: rows of 14 values) one copy per tap beats one per image row, and
# minifcn's `im2col` unfolds that way on rows up to `FLAT_MAX_WIDTH` values.

# %%
def unfold_by_shifts(x, ph, pw, zero_wrapped=True):
    """col (c, kh, kw, h, w) of one image, each tap one shifted slice of the flattened image."""
    flat_x = x[0].reshape(c, h * w)
    col_flat = np.zeros((c, kh, kw, h * w))
    for i in range(kh):
        for j in range(kw):
            d = (i - ph) * w + (j - pw)
            lo, hi = max(0, -d), min(h * w, h * w - d)   # outputs whose source is on the row
            col_flat[:, i, j, lo:hi] = flat_x[:, lo + d:hi + d]
            plane = col_flat[:, i, j].reshape(c, h, w)
            if zero_wrapped and j < pw:
                plane[:, :, :pw - j] = 0                 # ran off the left edge
            if zero_wrapped and j > pw:
                plane[:, :, w - (j - pw):] = 0           # ran off the right edge
    return col_flat.reshape(c, kh, kw, h, w)


assert np.allclose(unfold_by_shifts(x, 1, 1), im2col(x, kh, kw, 1, 1, 1, 1)[0])
# without the zeros, the edge columns hold pixels of the neighbouring rows
assert not np.allclose(unfold_by_shifts(x, 1, 1, zero_wrapped=False), im2col(x, kh, kw, 1, 1, 1, 1)[0])

# %% [markdown]
# ## 6. The same map with fewer multiplications: Winograd's F(2x2, 3x3)
#
# A matrix product is not the only way to apply `T`. Two outputs of a 3-tap correlation,
# `y0 = d0 g0 + d1 g1 + d2 g2` and `y1 = d1 g0 + d2 g1 + d3 g2`, take 6 multiplications; Winograd's
# minimal filtering does it in 4, because the kernel's combinations `(g0 +- g1 + g2) / 2` can be
# computed once per kernel, not once per output. Nested over rows and columns, a 2x2 block of
# outputs takes 16 multiplications instead of 36, and over channels those 16 become 16 matrix
# products (Lavin & Gray, 2016). minifcn runs its wide 3x3 layers this way
# (`minifcn/kernels/winograd.py`): the additions around the products cost memory passes, so it
# pays only with many channels.

# %%
d, g = rng.standard_normal(4), rng.standard_normal(3)
m = [(d[0] - d[2]) * g[0], (d[1] + d[2]) * (g[0] + g[1] + g[2]) / 2,
     (d[2] - d[1]) * (g[0] - g[1] + g[2]) / 2, (d[1] - d[3]) * g[2]]      # 4 multiplications
y_direct = [d[0] * g[0] + d[1] * g[1] + d[2] * g[2], d[1] * g[0] + d[2] * g[1] + d[3] * g[2]]
assert np.allclose([m[0] + m[1] + m[2], m[1] - m[2] - m[3]], y_direct)

# one 4x4 tile, one 3x3 kernel: Y = A^T [(G g G^T) * (B^T d B)] A, 16 elementwise products
d2, g2 = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
U, V = winograd.G @ g2 @ winograd.G.T, winograd.B_T @ d2 @ winograd.B_T.T
assert U.size == V.size == 16
Y = winograd.A_T @ (U * V) @ winograd.A_T.T
assert np.allclose(Y, naive.conv2d(d2[None, None], g2[None, None], None, 1, 0, 1)[0, 0])
# each transform is a fixed linear map of the tile's values: a Kronecker product acting on the
# flattened tile, e.g. the output's 4 values from the 16 products. It factors into one small
# matrix along each axis, which is how minifcn runs it for all the tiles of a block of channels
# at once: two (2, 4) @ (4, tiles) products do fewer multiplications than one (4, 16) @ (16, tiles)
assert np.allclose(np.kron(winograd.A_T, winograd.A_T) @ (U * V).ravel(), Y.ravel())
assert np.allclose(np.kron(winograd.B_T, winograd.B_T) @ d2.ravel(), V.ravel())
# backward, every piece is read transposed and in reverse order: the gradient of V = B^T d B
# with respect to d is B gV B^T (the adjoint identity <B^T d B, gV> = <d, B gV B^T>); minifcn's
# input gradient hands these back to the pixels each tile read, adding where tiles overlap
gV = rng.standard_normal((4, 4))
assert np.isclose((V * gV).sum(), (d2 * (winograd.B_T.T @ gV @ winograd.B_T)).sum())
# a whole layer: the same numbers as the im2col product
xw, Ww = rng.standard_normal((1, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
assert np.allclose(winograd.conv2d(xw, Ww, padding=(1, 1)), F.conv2d(xw, Ww, padding=1).numpy())
print("F(2x2, 3x3): 16 multiplications per 2x2 outputs instead of 36, same result")

# %% [markdown]
# Bigger tiles save more: F(4x4, 3x3) makes a 4x4 block of outputs from a 6x6 tile with 36
# multiplications instead of 144 (interpolating at 0, +-1, +-2 and infinity). The price is in
# the matrices: entries up to 8 and 1/24, so float32 rounding grows by an order of magnitude
# (here from about 1e-7 to 1e-6 of the largest output), and the kernel transform is 36
# matrices per layer. minifcn picks F(4x4) for
# layers from 32 channels up on big maps, F(2x2) for 512-channel layers on mid-size maps, and
# neither for few channels or few tiles (`conv._winograd_tile`, asserted below for VGG16's shapes).

# %%
d4, g4 = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))
U4, V4 = winograd.G4 @ g4 @ winograd.G4.T, winograd.B4_T @ d4 @ winograd.B4_T.T
assert U4.size == V4.size == 36                     # 36 multiplications for 16 outputs
Y4 = winograd.A4_T @ (U4 * V4) @ winograd.A4_T.T
assert Y4.shape == (4, 4)
assert np.allclose(Y4, naive.conv2d(d4[None, None], g4[None, None], None, 1, 0, 1)[0, 0])
assert np.abs(winograd.A4_T).max() == 8 and np.abs(winograd.G4[winograd.G4 != 0]).min() == 1 / 24
x32, W32 = xw.astype(np.float32), Ww.astype(np.float32)
exact = F.conv2d(xw, Ww, padding=1).numpy()
err2, err4 = (np.abs(winograd.conv2d(x32, W32, padding=(1, 1), m=tile) - exact).max() / np.abs(exact).max()
              for tile in (2, 4))
print(f"float32 error, largest output = 1: F(2x2) {err2:.1e}, F(4x4) {err4:.1e}")
assert 3 * err2 < err4 < 1e-5      # bigger tiles, about 10x the rounding, still below 1e-5


def tile_for(c, out_c, side):
    """The tile minifcn picks for a 3x3 padding-1 layer ``c -> out_c`` with a side x side output.

    No public name does this: it asks the private rule ``_winograd_tile`` in
    [`kernels/conv.py`](../minifcn/kernels/conv.py), which returns 4, 2 or 0 (no Winograd) from
    the channels, the kernel size, the output size, stride, padding and dilation, and an array
    ``like`` that only says the device (on a GPU Winograd is off by default)."""
    return K._winograd_tile(c=c, out_c=out_c, kh=3, kw=3, out_hw=(side, side), stride=(1, 1),
                            padding=(1, 1), dilation=(1, 1), like=np.empty(1, np.float32))


assert tile_for(64, 64, 224) == tile_for(256, 256, 56) == 4     # VGG16's conv1_2, conv3_x
assert tile_for(512, 512, 44) == tile_for(512, 512, 28) == 2    # conv4_x at 224 and 352 input
assert tile_for(512, 512, 14) == 0 and tile_for(3, 64, 224) == 0   # conv5_x at 224; conv1_1

# %% [markdown]
# ## Summary
#
# - `naive.conv2d`, `F.conv2d` (im2col + matrix product) and `conv_matrix(W) @ x` are the same
#   linear map.
# - `T` is block-Toeplitz with Toeplitz blocks (one channel, stride 1), a band of width
#   `kh * kw` non-zeros per row; stride spaces the bands, padding trims them at the border.
# - im2col trades memory (about `kh*kw` copies of the input) for one fast matrix product; `col`
#   is a strided view of the (padded) image, copied once.
# - On a flattened padded image every tap of every output is one plain slice, so the same
#   products can read the image in place: no `col`, at the price of junk columns. On the
#   unpadded image the same shifts build `col` itself, once the wrapped edge columns are zeroed.
# - Winograd's F(2x2, 3x3) computes the same map with 16 multiplications per 2x2 outputs instead
#   of 36, F(4x4, 3x3) with 36 per 4x4 instead of 144, paying in transforms (and, for F(4x4), in
#   float32 rounding): worth it for wide layers.
#
# Next, lesson 4: multiply by `T.T` instead and you get transposed convolution.
