# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 4: transposed convolution is multiplication by `T.T`
#
# Lesson 3 wrote a convolution as a matrix `T`. A *transposed* convolution ("deconvolution" in the
# FCN paper, `ConvTranspose2d` in PyTorch) is multiplication by `T.T`: it maps the small output
# space back to the large input space. It is not an inverse; it is the adjoint. That is also
# exactly what backpropagation does through a convolution, so the same kernel serves both.
#
# Files explained:
# [`functional.conv_transpose2d`](../minifcn/functional.py) and its array kernel in
# [`kernels/conv.py`](../minifcn/kernels/conv.py) (built on
# [`im2col.col2im`](../minifcn/im2col.py)), the scatter definition
# [`naive.conv_transpose2d`](../minifcn/naive.py), the matrix
# [`im2col.conv_matrix`](../minifcn/im2col.py), the autograd
# [`Tensor.backward`](../minifcn/autograd.py), the phase route
# [`kernels/phases.py`](../minifcn/kernels/phases.py), and
# [`functional.pixel_shuffle` / `pixel_unshuffle`](../minifcn/functional.py).
#
# Output size: `out = (h - 1) * s - 2p + k + output_padding`.

# %%
import numpy as np

import minifcn.functional as F
from minifcn import Tensor, naive
from minifcn.im2col import conv_matrix, conv_out_size, im2col
from minifcn.kernels import phases as kernel_phases

from _common import FAST, plt, save

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. `conv_transpose2d(y, W) == T.T @ y`
#
# Take a stride-2 convolution from 3 channels at 7x7 to 2 channels at 3x3. Its matrix `T` is
# `(2*3*3) x (3*7*7)`. The transposed convolution with the *same weight array* (read as
# `(in_c, out_c, kh, kw)` = `(2, 3, 3, 3)`) goes from 2 channels at 3x3 to 3 channels at 7x7.

# %%
W = rng.standard_normal((2, 3, 3, 3))             # conv: 3 -> 2 channels
h = w = 7
stride = 2
T = conv_matrix(W, (h, w), stride=stride)
out_h = conv_out_size(h, 3, stride, 0)
y = rng.standard_normal((1, 2, out_h, out_h))
up = F.conv_transpose2d(y, W, stride=stride).numpy()
print("T", T.shape, " y", y.shape, " -> conv_transpose2d(y)", up.shape)
assert T.shape == (2 * 3 * 3, 3 * 7 * 7)
assert up.shape == (1, 3, 7, 7)
assert np.allclose(up.ravel(), T.T @ y.ravel(), rtol=0, atol=1e-12)

# %% [markdown]
# The loop definition says the same thing from the other side: every input pixel *scatters* a
# copy of the kernel, scaled by its value, onto the output, `s` pixels apart.

# %%
assert np.allclose(naive.conv_transpose2d(y, W, stride=stride), up, rtol=0, atol=1e-12)

# %% [markdown]
# It is the adjoint, not the inverse: `<conv(x), y> == <x, conv_transpose(y)>` for every `x` and
# `y`, yet `conv_transpose(conv(x))` is not `x`.

# %%
x = rng.standard_normal((1, 3, h, w))
lhs = float((F.conv2d(x, W, stride=stride).numpy() * y).sum())
rhs = float((x * up).sum())
print(f"<conv(x), y> = {lhs:.10f}   <x, conv_T(y)> = {rhs:.10f}")
assert abs(lhs - rhs) < 1e-10
round_trip = F.conv_transpose2d(F.conv2d(x, W, stride=stride), W, stride=stride).numpy()
assert not np.allclose(round_trip, x, atol=0.1)

# %% [markdown]
# ## 2. The same thing as the input gradient of a convolution
#
# If `out = T x` then `dL/dx = T.T dL/dout`. So backpropagating an upstream gradient `gy`
# through `conv2d` must give `conv_transpose2d(gy)`. Ask the autograd:

# %%
xt = Tensor(x, requires_grad=True)
out = F.conv2d(xt, W, stride=stride)
gy = rng.standard_normal(out.shape)
out.backward(gy)
assert np.allclose(xt.grad, F.conv_transpose2d(gy, W, stride=stride).numpy(), rtol=0, atol=1e-12)
assert np.allclose(xt.grad, (T.T @ gy.ravel()).reshape(x.shape), rtol=0, atol=1e-12)
print("x.grad after conv2d backward == conv_transpose2d(gy) == T.T @ gy")

# %% [markdown]
# And the other way round: the input gradient of a transposed convolution is a convolution.

# %%
yt = Tensor(y, requires_grad=True)
F.conv_transpose2d(yt, W, stride=stride).backward(x)
assert np.allclose(yt.grad, F.conv2d(x, W, stride=stride).numpy(), rtol=0, atol=1e-12)

# %% [markdown]
# A picture of the two matrices: `T` (conv, 18 x 147) and `T.T` (transposed conv, 147 x 18).
# Each column of `T.T` is one input pixel of the transposed conv spreading a kernel copy.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw=dict(width_ratios=[147, 18 * 2.2]))
cmap = plt.get_cmap("RdBu_r").copy()
cmap.set_bad("white")
lim = np.abs(T).max()
axes[0].imshow(np.ma.masked_equal(T, 0), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto",
               interpolation="nearest")
axes[0].set_title("T: conv2d, stride 2\n(2*3*3 outputs) x (3*7*7 inputs)")
axes[0].set_xlabel("input pixel")
axes[0].set_ylabel("output pixel")
axes[1].imshow(np.ma.masked_equal(T.T, 0), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto",
               interpolation="nearest")
axes[1].set_title("T.T: conv_transpose2d\n147 x 18")
axes[1].set_xlabel("input pixel (small map)")
axes[1].set_ylabel("output pixel (large map)")
save(fig, "04_transpose_matrix.png")

# %% [markdown]
# ## 3. Output-size algebra
#
# A stride-`s` convolution maps sizes `h -> (h + 2p - k) // s + 1`. The floor loses
# information: `s` different input sizes map to the same output size. The transposed
# convolution maps `h' -> (h' - 1) s - 2p + k`, the *smallest* of those sizes;
# `output_padding = (h + 2p - k) % s` picks the one you started from. Checked for many
# (size, kernel, stride, padding):

# %%
checked = 0
for k in (1, 2, 3, 4, 5, 7):
    for s in (1, 2, 3, 4):
        for p in range(0, (k + 1) // 2):
            for size in range(k, 20):
                small = conv_out_size(size, k, s, p)
                op = (size + 2 * p - k) % s
                probe = F.conv_transpose2d(np.zeros((1, 1, small, 1)), np.zeros((1, 1, k, 1)),
                                           stride=(s, 1), padding=(p, 0), output_padding=(op, 0))
                assert probe.shape[2] == size, (k, s, p, size)
                bare = F.conv_transpose2d(np.zeros((1, 1, small, 1)), np.zeros((1, 1, k, 1)),
                                          stride=(s, 1), padding=(p, 0))
                assert bare.shape[2] == size - op   # without output_padding: the smallest preimage
                checked += 1
print(f"transposed conv restores the input size in all {checked} cases")

# %% [markdown]
# FCN's upsampling layers use this algebra with `p = 0` (the crop that follows fixes the
# alignment, lesson 7). On a 500x500 image, fc7 is 16x16:
# FCN-32s `64/32` gives `(16-1)*32 + 64 = 544`; FCN-8s's `4/2` gives 34, and its final `16/8`
# applied to 70x70 gives `(70-1)*8 + 16 = 568`, cropped back to 500.

# %%
for h_in, k, s, expect in [(16, 64, 32, 544), (16, 4, 2, 34), (34, 4, 2, 70), (70, 16, 8, 568)]:
    got = F.conv_transpose2d(np.zeros((1, 1, h_in, h_in), np.float32),
                             np.zeros((1, 1, k, k), np.float32), stride=s).shape[2]
    print(f"{h_in} --(k={k}, s={s})--> {got}")
    assert got == expect

# %% [markdown]
# ## 4. Checkerboard artifacts
#
# Each output pixel of a stride-`s` transposed convolution receives contributions from either
# `floor(k/s)` or `ceil(k/s)` input pixels, depending on its position modulo `s`. When `k` is
# not divisible by `s` those counts differ, so even a constant input and a constant kernel give
# an uneven, periodic pattern: the checkerboard of
# [Odena et al. 2016](https://distill.pub/2016/deconv-checkerboard/). FCN's kernels (4/2, 16/8,
# 64/32) all have `k = 2s`, so each interior pixel gets exactly two contributions per axis.
#
# Count the contributions by running the library's transposed convolution on ones:

# %%
def coverage(k, s, n=12):
    """How many (input pixel, kernel tap) pairs land on each output pixel, 1-D."""
    return F.conv_transpose2d(np.ones((1, 1, 1, n)), np.ones((1, 1, 1, k)), stride=(1, s)).numpy()[0, 0, 0]


for k in range(1, 9):
    for s in range(1, 5):
        inner = coverage(k, s)[k:-k]          # away from the borders
        even = inner.min() == inner.max()
        assert even == (k % s == 0), (k, s, inner)
        assert set(inner.tolist()) <= {k // s, -(-k // s)}
for k, s in ((4, 2), (16, 8), (64, 32)):   # FCN's own: two contributions everywhere inside
    assert set(coverage(k, s)[k:-k].tolist()) == {2.0}, (k, s)
print("interior coverage is uniform exactly when s divides k")

# %% [markdown]
# What that looks like on an image: upsample a smooth ramp by 2 with a 3x3 box kernel (k=3, not
# divisible by 2) and with a 4x4 box kernel (k=4), and upsample a constant with both.

# %%
n_small = 6 if FAST else 10
ones = np.ones((1, 1, n_small, n_small))
box3, box4 = np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4))
c3 = F.conv_transpose2d(ones, box3, stride=2).numpy()[0, 0]
c4 = F.conv_transpose2d(ones, box4, stride=2).numpy()[0, 0]
yy, xx = np.mgrid[0:n_small, 0:n_small]
ramp = ((yy + xx) / (2 * n_small - 2))[None, None].astype(np.float64)
r3 = F.conv_transpose2d(ramp, box3 / 2.25, stride=2).numpy()[0, 0]   # /2.25: mean gain 1
r4 = F.conv_transpose2d(ramp, box4 / 4, stride=2).numpy()[0, 0]

inner3, inner4 = c3[3:-3, 3:-3], c4[4:-4, 4:-4]
print("k=3, s=2 interior values:", sorted(set(inner3.ravel().tolist())))
print("k=4, s=2 interior values:", sorted(set(inner4.ravel().tolist())))
assert sorted(set(inner3.ravel().tolist())) == [1.0, 2.0, 4.0]   # 1x1, 1x2, 2x2 overlaps
assert set(inner4.ravel().tolist()) == {4.0}

# %% [markdown]
# On the ramp, an even coverage is not yet a smooth result. The 3x3 box stripes it with the
# checkerboard. The 4x4 box has no checkerboard, but each output pixel averages a 2x2 block of
# input pixels that changes only every second output row: the ramp becomes a staircase (its
# second differences alternate instead of vanishing). Lesson 6's bilinear kernel, a tent instead
# of a box, turns the same ramp into a ramp.

# %%
steps = np.diff(r4[n_small, 4:-4], 2)                 # one interior row (the middle) of the 4x4 box's ramp
assert np.abs(steps).max() > 0.05 and np.allclose(steps[::2], -steps[1::2])   # a staircase

fig, axes = plt.subplots(2, 2, figsize=(9, 9))
for ax, img, title in [(axes[0, 0], c3, "constant in, k=3 s=2: checkerboard\n(1, 2 or 4 overlaps)"),
                       (axes[0, 1], c4, "constant in, k=4 s=2: uniform inside"),
                       (axes[1, 0], r3, "smooth ramp, k=3 s=2"),
                       (axes[1, 1], r4, "smooth ramp, k=4 s=2")]:
    im = ax.imshow(img, cmap="magma", interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    fig.colorbar(im, ax=ax, fraction=0.046)
fig.suptitle("Checkerboard artifacts: kernel size not divisible by stride")
save(fig, "04_checkerboard.png")

# %% [markdown]
# ## 5. Stride `s` is `s*s` stride-1 convolutions, interleaved
#
# Output row `Y = q*s + r` only ever meets the kernel rows `r, r + s, r + 2s, ...`. So each
# output *phase* `(r, u)` (rows `r, r + s, ...`, columns `u, u + s, ...`) is an ordinary
# stride-1 convolution of the input with that phase's taps, `ceil(k/s)` a side: no zeros
# inserted between input pixels, no overlapping writes. Run the `s*s` of them and interleave
# their outputs (a reshape and a transpose, "depth to space"), and that is the transposed
# convolution. minifcn computes FCN's upsamplings this way, all phases in one product
# ([`kernels/phases.py`](../minifcn/kernels/phases.py), `kernel`): im2col would write
# `k*k/(s*s)` times the output (4x for FCN's `k = 2s`) and col2im add it back.

# %%
s, k = 2, 4
W_up = rng.standard_normal((3, 2, k, k))          # transposed conv: 3 -> 2 channels
y_small = rng.standard_normal((1, 3, 5, 5))
up = F.conv_transpose2d(y_small, W_up, stride=s).numpy()
taps = -(-k // s)                                  # ceil(k/s) = 2 taps a side per phase
side = 5 + taps - 1                                # each phase's height and width
phases = np.zeros((1, 2, s, s, side, side))
for r in range(s):
    for u in range(s):
        # taps r, r+s, ... reversed (tap a meets input row q - a), as a conv2d weight (out, in, ., .)
        W_phase = np.ascontiguousarray(W_up[:, :, r::s, u::s][:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        phases[0, :, r, u] = F.conv2d(y_small, W_phase, padding=taps - 1).numpy()[0]
interleaved = phases.transpose(0, 1, 4, 2, 5, 3).reshape(1, 2, side * s, side * s)
print("phases", phases.shape[2:4], "of", phases.shape[4:], "-> interleaved", interleaved.shape[2:])
assert up.shape == interleaved.shape == (1, 2, (5 - 1) * s + k, (5 - 1) * s + k)
assert np.allclose(interleaved, up, rtol=0, atol=1e-12)

# %% [markdown]
# minifcn's own version stacks the `s*s` phase kernels as the output channels of one `conv2d`
# weight (`phases.kernel`), so all phases are one product, and interleaves them with
# `phases.depth_to_space`. FCN's 4/2, 16/8 and 64/32 all qualify (`phases.by_phases`).

# %%
stacked = kernel_phases.kernel(W_up, (s, s))       # (s*s*2, 3, taps, taps): phase (r, u), channel i
assert stacked.shape == (s * s * 2, 3, taps, taps)
by_product = kernel_phases.depth_to_space(F.conv2d(y_small, stacked, padding=taps - 1).numpy(), s, s)
assert np.allclose(by_product, up, rtol=0, atol=1e-12)
assert all(kernel_phases.by_phases(k_fcn, k_fcn, (k_fcn // 2, k_fcn // 2), (1, 1)) for k_fcn in (4, 16, 64))

# %% [markdown]
# ## 6. A transposed convolution is a convolution followed by a pixel shuffle
#
# Shi et al.'s super-resolution network ("Real-Time Single Image and Video Super-Resolution Using
# an Efficient Sub-Pixel Convolutional Neural Network", CVPR 2016,
# [arXiv:1609.05158](https://arxiv.org/abs/1609.05158)) upsamples by `r` without a
# transposed convolution: its last layer is an ordinary stride-1 convolution on the *small* map
# with `r*r*c` output channels, and a *periodic shuffle* then deals each group of `r*r` channels
# out to the `r x r` pixels of one block of a `c`-channel map `r` times larger: `F.pixel_shuffle`
# ("depth to space"). Their note "Is the deconvolution layer the same as a convolutional layer?"
# (Shi et al. 2016, [arXiv:1609.07009](https://arxiv.org/abs/1609.07009)) answers yes: the taps
# of a stride-`r` deconvolution kernel are used in `r*r` independent sets, one per output phase,
# so a `(1, 1, 4, 4)` kernel at `r = 2` is the same weights as four `2 x 2` kernels, `(4, 1, 2, 2)`,
# convolved with the small input. That is section 5's decomposition; here the interleaving is
# `pixel_shuffle` itself, and the padding and the crop are made exact.
#
# First, the shuffle only moves values. Its matrix `P` (`pixel_shuffle` applied to every basis
# vector) has one 1 in each row and column; `pixel_unshuffle`'s matrix is `P.T`, which is both
# `P`'s inverse and its adjoint: `<shuffle(a), b> == <a, unshuffle(b)>`.

# %%
c, r, h_s, w_s = 2, 3, 2, 3                        # (c*r*r, h, w) = (18, 2, 3) <-> (2, 6, 9)
n_vals = c * r * r * h_s * w_s
basis = np.eye(n_vals)
P = np.stack([F.pixel_shuffle(e.reshape(1, c * r * r, h_s, w_s), r).numpy().ravel() for e in basis], 1)
U = np.stack([F.pixel_unshuffle(e.reshape(1, c, h_s * r, w_s * r), r).numpy().ravel() for e in basis], 1)
assert set(np.unique(P)) == {0.0, 1.0} and (P.sum(0) == 1).all() and (P.sum(1) == 1).all()   # a permutation
assert np.array_equal(U, P.T) and np.array_equal(P.T @ P, np.eye(n_vals))
a = rng.standard_normal((2, c * r * r, h_s, w_s))
b = rng.standard_normal((2, c, h_s * r, w_s * r))
assert np.array_equal(F.pixel_unshuffle(F.pixel_shuffle(a, r), r).numpy(), a)   # exact: no arithmetic
assert np.array_equal(F.pixel_shuffle(F.pixel_unshuffle(b, r), r).numpy(), b)
lhs = float((F.pixel_shuffle(a, r).numpy() * b).sum())
rhs = float((a * F.pixel_unshuffle(b, r).numpy()).sum())
assert abs(lhs - rhs) < 1e-12
at = Tensor(a, requires_grad=True)                 # and so the autograd's backward of one is the other
F.pixel_shuffle(at, r).backward(b)
assert np.array_equal(at.grad, F.pixel_unshuffle(b, r).numpy())
print(f"pixel_shuffle's {n_vals} x {n_vals} matrix is a permutation; pixel_unshuffle's is its transpose")

# %% [markdown]
# Now the arithmetic, on one axis (the columns are the same). Before the padding is cut, the
# transposed convolution's output row `Y` collects `y[q] * W[j]` over all `q*r + j = Y`. Write
# `Y = m*r + rho` with `rho = Y mod r`, its phase. Then `j mod r` is `rho` too: `j = a*r + rho` and
# `q = m - a` for `a = 0 .. A-1`, `A = ceil(k/r)` (taps past `k` count as zero):
#
#     full[m*r + rho] = sum_a  y[m - a] * W[a*r + rho]
#
# A convolution layer correlates forward, so pad `y` with `A - 1` zeros on each side
# (`y_padded[i] = y[i - (A - 1)]`) and count the taps backwards, `b = A - 1 - a`:
#
#     full[m*r + rho] = sum_b  y_padded[m + b] * W[(A - 1 - b)*r + rho] = conv2d(y_padded, W_sub[rho])[m]
#
# Phase `rho`'s kernel `W_sub[rho]` is the taps `rho, rho + r, ..., rho + (A-1) r` of `W`,
# reversed. `m` runs over `0 .. h + A - 2`: each phase is `h + A - 1` long, and `pixel_shuffle`
# puts value `m` of phase `rho` at `m*r + rho`, which is `full`'s own layout. The shuffled map has
# `(h + A - 1) r` rows against `full`'s `(h - 1) r + k`; the `A r - k` more (none when `r` divides
# `k`, as in all of FCN's kernels) lie past every kernel's reach and are zero. `padding=p` cuts
# `p` off each end of `full`. So
#
#     conv_transpose2d(y, W, stride=r, padding=p)
#         == pixel_shuffle(conv2d(pad(y, A - 1), W_sub), r)[p : (h - 1) r + k - p]
#
# a crop of `p` at the top (left) and `p + A r - k` at the bottom (right). With channels:
# `pixel_shuffle` reads channel `o*r*r + rho*r + sigma` as phase `(rho, sigma)` of output channel
# `o`, so `W_sub` is `(c_out*r*r, c_in, A, A)` in that order, from `W`'s `(c_in, c_out, k, k)`.
# FCN's 16/8 upsampling: `A = 2`, so a 5x5 map is padded to 7x7, convolved with 2x2 kernels to
# 6x6, and shuffled to 48x48 = `(5 - 1) 8 + 16`. Checked for `r = 2` and FCN's `r = 8`, with and
# without padding, and for `r = 3` with kernels it does not divide (`W_sub` then holds zeros),
# against the library's transposed convolution and the scatter loop of `naive.py`:

# %%
def sub_pixel_kernel(W, r):
    """W (c_in, c_out, k, k) of a stride-r transposed conv -> W_sub (c_out*r*r, c_in, A, A), the
    conv2d weight whose output channel o*r*r + rho*r + sigma is phase (rho, sigma) of channel o."""
    c_in, c_out, k, _ = W.shape
    A = -(-k // r)
    Wp = np.zeros((c_in, c_out, A * r, A * r))
    Wp[:, :, :k, :k] = W                               # taps past k: zero
    Wp = Wp.reshape(c_in, c_out, A, r, A, r)[:, :, ::-1, :, ::-1, :]   # tap a*r + rho -> (A-1-a, rho)
    return np.ascontiguousarray(Wp.transpose(1, 3, 5, 0, 2, 4)).reshape(c_out * r * r, c_in, A, A)


def sub_pixel(y, W, r, p):
    """conv_transpose2d(y, W, stride=r, padding=p) as pad -> conv2d -> pixel_shuffle -> crop."""
    (h, w), k = y.shape[2:], W.shape[2]
    A = -(-k // r)
    y_padded = F.pad(y, (A - 1, A - 1, A - 1, A - 1))
    shuffled = F.pixel_shuffle(F.conv2d(y_padded, sub_pixel_kernel(W, r)), r).numpy()
    assert shuffled.shape[2:] == ((h + A - 1) * r, (w + A - 1) * r)
    full_h, full_w = (h - 1) * r + k, (w - 1) * r + k
    assert not shuffled[:, :, full_h:].any() and not shuffled[:, :, :, full_w:].any()   # A r - k zero rows
    return shuffled[:, :, p:(h - 1) * r + k - p, p:(w - 1) * r + k - p]


for r, k, p in [(2, 4, 0), (2, 4, 1), (8, 16, 0), (8, 16, 4), (3, 5, 1), (3, 4, 0)]:
    W_t = rng.standard_normal((3, 2, k, k))           # transposed conv: 3 -> 2 channels
    y_small = rng.standard_normal((1, 3, 4, 5))
    ref = F.conv_transpose2d(y_small, W_t, stride=r, padding=p).numpy()
    got = sub_pixel(y_small, W_t, r, p)
    err = max(np.abs(got - ref).max(), np.abs(got - naive.conv_transpose2d(y_small, W_t, stride=r, padding=p)).max())
    print(f"r={r} k={k} p={p}: {y_small.shape[2:]} -> {got.shape[2:]}, max |difference| {err:.1e}")
    assert got.shape == ref.shape and err < 1e-12
    W_sub = sub_pixel_kernel(W_t, r)
    if k % r == 0:                                     # the same weights, rearranged (Shi et al.'s note)
        assert np.array_equal(np.sort(W_sub, axis=None), np.sort(W_t, axis=None))
    # section 5's phases.kernel holds the same taps; it orders the channels phase-major
    A = -(-k // r)
    stacked = kernel_phases.kernel(W_t, (r, r))       # channel (rho*r + sigma)*2 + o
    assert np.array_equal(W_sub.reshape(2, r * r, 3, A, A).transpose(1, 0, 2, 3, 4).reshape(stacked.shape), stacked)

# %% [markdown]
# So `phases.kernel` followed by `phases.depth_to_space`, minifcn's own route, is this same
# decomposition with the output channels listed phase-first instead of channel-first (the last
# assert); `pixel_shuffle` and `depth_to_space` differ only in that order.
#
# Read backwards, the identity gives the adjoint: a stride-`r` convolution (`T`) is
# `pixel_unshuffle` of the input (zero-extended to `(h + A - 1) r`), a stride-1 *transposed*
# convolution with the same `W_sub` (a `conv_transpose2d` weight is `(in, out, ., .)`, and
# `W_sub`'s `c_out*r*r` come in), and a crop of `A - 1` each side: `phases.space_to_depth`'s
# route for strided convolutions.

# %%
r, k = 8, 16
A = k // r
W_t = rng.standard_normal((3, 2, k, k))
x_big = rng.standard_normal((1, 2, (4 - 1) * r + k, (5 - 1) * r + k))   # the conv's input: 40 x 48
z = F.conv_transpose2d(F.pixel_unshuffle(x_big, r), sub_pixel_kernel(W_t, r)).numpy()
assert np.allclose(z[:, :, A - 1:z.shape[2] - (A - 1), A - 1:z.shape[3] - (A - 1)],
                   F.conv2d(x_big, W_t, stride=r).numpy(), rtol=0, atol=1e-12)

# Where r divides k, (h + A - 1) r = (h - 1) r + k: the extension above was empty. Where it
# does not, A r - k zeros are appended to each axis, and the route holds with them. These cases
# draw from a generator of their own, so that rng's draws further down stay as they were
rng_adjoint = np.random.default_rng(4)
for r_, k_, h_, w_ in [(3, 5, 4, 5), (3, 4, 3, 4), (2, 3, 5, 3)]:
    A_ = -(-k_ // r_)
    W_a = rng_adjoint.standard_normal((3, 2, k_, k_))
    x_a = rng_adjoint.standard_normal((1, 2, (h_ - 1) * r_ + k_, (w_ - 1) * r_ + k_))
    x_ext = np.zeros((1, 2, (h_ + A_ - 1) * r_, (w_ + A_ - 1) * r_))
    x_ext[:, :, :x_a.shape[2], :x_a.shape[3]] = x_a
    assert x_ext.shape[2] - x_a.shape[2] == A_ * r_ - k_ > 0       # a real extension
    z_a = F.conv_transpose2d(F.pixel_unshuffle(x_ext, r_), sub_pixel_kernel(W_a, r_)).numpy()
    assert np.allclose(z_a[:, :, A_ - 1:z_a.shape[2] - (A_ - 1), A_ - 1:z_a.shape[3] - (A_ - 1)],
                       F.conv2d(x_a, W_a, stride=r_).numpy(), rtol=0, atol=1e-12)

# %% [markdown]
# **Multiplications.** The scatter definition multiplies every input value by every tap:
# `h w c_in c_out k^2` products. The sub-pixel route multiplies the same ones, once each: each
# output value takes `A^2 c_in` products, all of input values (`A^2 = k^2 / r^2` when `r`
# divides `k`), so `(h + A - 1)(w + A - 1) r^2 A^2 c_in c_out` in all, the only zeros among them
# the `A - 1` ring of padding at the border. The textbook route, "convolution with fractional
# stride", first inserts `r - 1` zeros between the input values, pads by `k - 1`, and runs a
# stride-1 convolution with the flipped kernel over that big map: `k^2 c_in` products for each
# output value, of which only `A^2 c_in` meet an input value. Count them for FCN's 16/8, from
# the im2col matrices of both routes (the zeros an input column holds are zeros multiplied).
# The ring is a large share of a 5x6 map; on FCN-8s's 70x70 score map (500x500 image) it is
# `71^2 / 70^2 - 1`, under 3%, while zero insertion does 64 times the work at every size:

# %%
c_in, c_out, h, w = 3, 2, 5, 6
y_small = rng.uniform(1, 2, (1, c_in, h, w))      # no zero among the input values
W_t = rng.standard_normal((c_in, c_out, k, k))
full_h, full_w = (h - 1) * r + k, (w - 1) * r + k

# zero insertion: y's values r apart, k - 1 zeros around, a stride-1 conv with the flipped kernel
dilated = np.zeros((1, c_in, (h - 1) * r + 1, (w - 1) * r + 1))
dilated[:, :, ::r, ::r] = y_small
W_flip = np.ascontiguousarray(W_t[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))   # (c_out, c_in, k, k)
by_zeros = F.conv2d(dilated, W_flip, padding=k - 1).numpy()
assert np.allclose(by_zeros, F.conv_transpose2d(y_small, W_t, stride=r).numpy(), rtol=0, atol=1e-12)

col_zeros = im2col(dilated, k, k, ph=k - 1, pw=k - 1).reshape(c_in * k * k, full_h * full_w)
col_sub = im2col(y_small, A, A, ph=A - 1, pw=A - 1).reshape(c_in * A * A, (h + A - 1) * (w + A - 1))
mults_zeros = col_zeros.size * c_out                # each column entry meets c_out taps
mults_sub = col_sub.size * c_out * r * r            # ... c_out*r*r taps (no zero among them: r | k)
real_zeros = np.count_nonzero(col_zeros) * c_out    # products with an input value, not an inserted 0
real_sub = np.count_nonzero(col_sub) * c_out * r * r
scatter = h * w * c_in * c_out * k * k              # naive.conv_transpose2d's innermost statement
print(f"products, FCN's 16/8 on {h}x{w} -> {full_h}x{full_w}:")
print(f"  scatter (definition) {scatter:>8,}")
print(f"  sub-pixel            {mults_sub:>8,}  ({real_sub:,} of input values)")
print(f"  zero insertion       {mults_zeros:>8,}  ({real_zeros:,} of input values)")
assert real_sub == real_zeros == scatter            # the same products, each once
assert mults_zeros == r * r * mults_sub             # exactly r^2 = 64 times the work
# counted again without col: the sub-pixel route's conv2d has (c_out r^2, h + A - 1, w + A - 1)
# outputs, each a sum over the A x A x c_in taps of its filter
W_sub = sub_pixel_kernel(W_t, r)
sub_out = F.conv2d(F.pad(y_small, (A - 1,) * 4), W_sub).numpy()
assert mults_sub == sub_out.size * W_sub[0].size == (h + A - 1) * (w + A - 1) * r * r * A * A * c_in * c_out

# per output value, away from the borders: A^2 c_in products in the sub-pixel route, all real;
# k^2 c_in in the zero-insertion route, A^2 c_in = 1/r^2 of them real
inner_sub = np.count_nonzero(col_sub.reshape(-1, h + A - 1, w + A - 1)[:, A - 1:h, A - 1:w], axis=0)
inner_zeros = np.count_nonzero(col_zeros.reshape(-1, full_h, full_w)[:, k - 1:full_h - k + 1,
                                                                     k - 1:full_w - k + 1], axis=0)
assert (inner_sub == c_in * A * A).all() and (inner_zeros == c_in * A * A).all()
assert col_zeros.shape[0] == r * r * col_sub.shape[0]
assert (70 + A - 1) ** 2 / 70 ** 2 - 1 < 0.03        # the ring's share at FCN-8s's 70x70

# %% [markdown]
# ## Summary
#
# - `conv_transpose2d(y, W) == conv_matrix(W).T @ y`: the adjoint of convolution, not its inverse.
# - It is the input gradient of `conv2d`, and `conv2d` is the input gradient of it: minifcn's
#   backward passes call each other's kernels.
# - Sizes: `(h - 1) s - 2p + k + output_padding`; `output_padding` resolves the floor of the
#   forward size formula.
# - If `s` does not divide `k`, output pixels get unequal numbers of contributions: checkerboards.
#   FCN's `k = 2s` kernels avoid it; lesson 6 shows their bilinear initialisation.
# - A stride-`s` transposed convolution is `s*s` stride-1 convolutions with `ceil(k/s)`-tap
#   kernels, interleaved: how minifcn runs it.
# - The interleaving is `pixel_shuffle` (a permutation: `pixel_unshuffle` is its inverse and its
#   adjoint), so a transposed convolution is Shi et al.'s sub-pixel convolution: pad the input
#   by `A - 1`, a stride-1 conv with the `r*r` flipped phases of `W` as output channels, shuffle,
#   crop `p` (and `A r - k` more at the end). The same products as the definition, each once;
#   zero insertion multiplies `r^2` times as many.
