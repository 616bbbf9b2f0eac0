# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 8: SegNet and Bayesian SegNet: Monte-Carlo dropout and the uncertainty map
#
# SegNet (lesson 5) is an encoder-decoder: VGG16's thirteen convolutions with batch norm, five
# max pools that keep their indices, and a mirrored decoder that unpools with those indices.
# **Bayesian SegNet** adds dropout (p = 0.5) after the six central blocks (encoder blocks 3-5,
# decoder blocks 5-3) and *keeps it on at test time*: each forward pass samples a different
# thinned network. Averaging `T` passes gives the prediction (argmax of the mean softmax); the
# spread between the passes is the model's uncertainty (per-class variance of the softmax,
# averaged over the classes). Kendall et al. observed it is highest at object boundaries.
#
# Files explained: [`models/segnet.py`](../minifcn/models/segnet.py) (`SegNet`,
# `BayesianSegNet`, `BayesianSegNet.mc_predict`), [`functional.dropout`](../minifcn/functional.py)
# and [`nn.Dropout`](../minifcn/nn.py) (`always_on`), [`optim.SGD`](../minifcn/optim.py),
# [`functional.cross_entropy`](../minifcn/functional.py), and
# [`viz.save_uncertainty`](../minifcn/viz.py).

# %%
import time

import numpy as np

import minifcn.functional as F
from minifcn import Tensor, manual_seed, nn, no_grad
from minifcn.models import BayesianSegNet
from minifcn.optim import SGD
from minifcn.viz import colorize, save_uncertainty

from _common import FAST, FIGURES, plt, save

manual_seed(0)

# %% [markdown]
# ## 1. Where the dropout is, and what `mc_predict` computes

# %%
width = 1 / 16
net = BayesianSegNet(num_classes=2, width=width)
drops = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Dropout)]
print("dropout layers:", [name for name, _ in drops])
assert [name for name, _ in drops] == ["encdrop3", "encdrop4", "encdrop5", "decdrop5", "decdrop4", "decdrop3"]
assert all(m.p == 0.5 for _, m in drops)

# %% [markdown]
# A plain evaluation pass is deterministic (dropout off, batch norm on its running averages).
# `mc_predict` switches dropout back on (`always_on`) and runs `T` passes. Re-doing its `T`
# passes by hand from the same random state reproduces its three outputs, to float32 rounding:
# mean softmax, its argmax, and the per-class variance averaged over classes.

# %%
x_probe = np.random.default_rng(0).standard_normal((2, 3, 24, 24)).astype(np.float32)
net.eval()
with no_grad():
    assert np.array_equal(net(Tensor(x_probe)).numpy(), net(Tensor(x_probe)).numpy())

T = 4
manual_seed(123)
mean, pred, unc = net.mc_predict(x_probe, samples=T)
manual_seed(123)
for _, m in drops:
    m.always_on = True
with no_grad():
    passes = np.stack([F.softmax(net(Tensor(x_probe)), axis=1).numpy() for _ in range(T)])
for _, m in drops:
    m.always_on = False
assert not np.allclose(passes[0], passes[1])                  # every pass is a different network
assert np.allclose(mean, passes.mean(axis=0), atol=1e-6)
assert np.array_equal(pred, mean.argmax(axis=1))
assert np.allclose(unc, passes.var(axis=0).mean(axis=1), atol=1e-6)
print("mc_predict = mean / argmax / class-averaged variance of", T, "dropout passes")

# %% [markdown]
# ## 2. Train a small Bayesian SegNet
#
# To keep the lesson fast, a task a small net learns in a few hundred iterations: one or two
# discs of random colour on a noisy background, label 1 inside the discs. Plain SGD with
# momentum on the mean per-pixel cross-entropy, dropout active during training as usual.

# %%
def make_batch(seed, n, size):
    """n noisy images (n, 3, size, size) with 1-2 bright discs, and their labels (n, size, size)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    x = rng.normal(0, 0.15, (n, 3, size, size)).astype(np.float32)
    label = np.zeros((n, size, size), np.int64)
    for i in range(n):
        for _ in range(rng.integers(1, 3)):
            cy, cx = rng.uniform(4, size - 4, 2)
            r = rng.uniform(3, size / 4)
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            label[i][disc] = 1
            x[i][:, disc] += rng.uniform(0.3, 0.8, (3, 1)).astype(np.float32)
    return x, label


size, batch, iters = (24, 16, 120) if FAST else (32, 16, 400)
manual_seed(0)
net = BayesianSegNet(num_classes=2, width=width)
opt = SGD(net.parameters(), lr=0.2, momentum=0.9)
net.train()
t0 = time.perf_counter()
losses = []
for it in range(iters):
    x, y = make_batch(it, batch, size)
    loss = F.cross_entropy(net(Tensor(x)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(float(loss.item()))
print(f"{iters} iterations in {time.perf_counter() - t0:.1f} s; loss {np.mean(losses[:10]):.3f} -> "
      f"{np.mean(losses[-10:]):.3f}")
assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10])

# %% [markdown]
# ## 3. The uncertainty map, on new images
#
# Held-out images, `T` dropout samples each. First: the net learned the task (its MC
# prediction beats calling everything background).

# %%
T = 20 if FAST else 50
xv, yv = make_batch(10_000, 16, size)
manual_seed(7)
mean, pred, unc = net.mc_predict(xv, samples=T)
acc = float((pred == yv).mean())
bg_share = float((yv == 0).mean())
print(f"MC-dropout prediction, T = {T}: pixel acc {acc:.3f} (all background: {bg_share:.3f})")
assert acc > bg_share + 0.5 * (1 - bg_share)   # more than half the way from "all background" to perfect

# %% [markdown]
# Now where the uncertainty sits. Measure each pixel's distance (in pixels, 8-neighbour steps)
# to the nearest label boundary, and average the uncertainty per distance: it is highest on
# the boundary and within a few pixels drops to a floor inside objects and background (not
# strictly monotonically: the floor wobbles). Wrongly classified pixels are
# also far more uncertain than right ones: the uncertainty says where not to trust the map.

# %%
def boundary_distance(label, max_d=6):
    """Per pixel, 0 on a label boundary (a 4-neighbour differs), else steps to one, capped."""
    edge = np.zeros(label.shape, bool)
    for axis in (1, 2):
        diff = np.diff(label, axis=axis) != 0
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        edge[tuple(lo)] |= diff
        edge[tuple(hi)] |= diff
    dist = np.full(label.shape, max_d)
    reached = edge.copy()
    for d in range(max_d):
        dist[reached & (dist == max_d)] = d
        # 3x3 dilation by shifted slices of a padded copy (np.roll would wrap a boundary at
        # one edge of the image round to the other)
        padded = np.pad(reached, ((0, 0), (1, 1), (1, 1)))
        h, w = reached.shape[1:]
        reached = np.zeros_like(reached)
        for dy in range(3):
            for dx in range(3):
                reached |= padded[:, dy:dy + h, dx:dx + w]
    return dist


dist = boundary_distance(yv)
profile = [float(unc[dist == d].mean()) for d in range(7)]
for d, u in enumerate(profile):
    print(f"distance {d}{'+' if d == 6 else ' '}: mean uncertainty {u:.5f}  ({(dist == d).sum()} pixels)")
near, far = unc[dist <= 1].mean(), unc[dist >= 3].mean()
print(f"near boundaries / away from them: {near / far:.1f}x")
assert near > 2 * far
assert profile[0] == max(profile) and max(profile[:2]) > max(profile[3:])
wrong = pred != yv
print(f"uncertainty on wrong pixels {unc[wrong].mean():.5f}, on right ones {unc[~wrong].mean():.5f}")
assert unc[wrong].mean() > 3 * unc[~wrong].mean()   # "far more": 8x (fast) to 18x (full) here

# %%
show = 4
fig, axes = plt.subplots(show, 4, figsize=(13, 3.2 * show))
for i in range(show):
    img = np.clip(xv[i].transpose(1, 2, 0) + 0.3, 0, 1)
    panels = [(img, "image", None), (colorize(yv[i]), "truth", None),
              (colorize(pred[i]), f"MC prediction (T={T})", None), (unc[i], "uncertainty (softmax variance)", "inferno")]
    for ax, (im, title, cmap) in zip(axes[i], panels):
        shown = ax.imshow(im, cmap=cmap, interpolation="nearest")
        if cmap:
            ax.contour(yv[i], levels=[0.5], colors="c", linewidths=0.8)
            fig.colorbar(shown, ax=ax, fraction=0.046)
        ax.set_title(title if i == 0 else "")
        ax.axis("off")
fig.suptitle("Bayesian SegNet: MC-dropout uncertainty concentrates on object boundaries (cyan)")
save(fig, "08_mc_dropout_uncertainty.png")

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.bar([f"{d}" if d < 6 else "6+" for d in range(7)], profile, color="C3")
ax.set_xlabel("distance to the nearest label boundary (px)")
ax.set_ylabel(f"mean uncertainty\n(softmax variance over the {T} passes,\naveraged over classes)")
ax.set_title("uncertainty vs distance to a boundary")
save(fig, "08_uncertainty_vs_distance.png")
save_uncertainty(FIGURES / "08_save_uncertainty.png", np.clip(xv[0].transpose(1, 2, 0) + 0.3, 0, 1),
                 pred[0], unc[0], classes=["background", "disc"])

# %% [markdown]
# ## Summary
#
# - Bayesian SegNet = SegNet + dropout in the six central blocks, kept on at test time.
# - `mc_predict` averages `T` stochastic passes: prediction = argmax of the mean softmax,
#   uncertainty = softmax variance averaged over classes.
# - The uncertainty is highest on object boundaries (where the class changes and the evidence
#   is mixed) and on the pixels the net gets wrong.
