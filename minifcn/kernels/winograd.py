"""Winograd's minimal filtering F(2x2, 3x3) and F(4x4, 3x3): a 3x3 stride-1 convolution with
16 multiplications per 2x2 block of outputs, or 36 per 4x4 block, instead of 9 per output
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).

In one dimension, two outputs of a 3-tap correlation, ``y0 = d0 g0 + d1 g1 + d2 g2`` and
``y1 = d1 g0 + d2 g1 + d3 g2``, need 4 products, not 6::

    m0 = (d0 - d2) g0                 m1 = (d1 + d2) (g0 + g1 + g2) / 2
    m3 = (d1 - d3) g2                 m2 = (d2 - d1) (g0 - g1 + g2) / 2
    y0 = m0 + m1 + m2                 y1 = m1 - m2 - m3

that is ``y = A^T [(G g) * (B^T d)]`` with the matrices below. Nested over rows and columns, a
4x4 input tile ``d`` and the 3x3 kernel ``g`` give the 2x2 output tile
``Y = A^T [(G g G^T) * (B^T d B)] A``, 16 products. Summed over the input channels, the 16
elementwise products become 16 matrix products, one per position ``(a, b)`` of the 4x4 tile:

* ``U[ab] = (G W G^T)[ab]``         (out_c, c)       the kernel transform
* ``V[ab] = (B^T d B)[ab]``         (c, tiles)       the input transform, tiles overlapping by 2
* ``M[ab] = U[ab] @ V[ab]``         (out_c, tiles)   16 products, 16/36 of the direct FLOPs
* ``y = A^T M A``                   (out_c, 2*tiles rows x 2*tiles cols)  the output transform

F(4x4, 3x3) is the same with 6x6 input tiles (``B4_T``, ``G4``, ``A4_T``: 4 outputs from 6
inputs with 6 products in one dimension): 36 products, 36/144 of the direct FLOPs, and
transforms over arrays 2.25x the input and output instead of 4x; but its kernel transform is
36 matrices, and its entries reach 8 and 1/24, so its float32 error is about 20x F(2x2)'s:
1e-5 of the largest output against PyTorch's 3e-7 (256 -> 256 at 56x56). A transform mixes a
6x6 tile, so one input 1000x its neighbours leaves an error of 4e-3 of a typical output on
outputs of its tile that do not see it, and the transforms overflow float32 some 30-100x below
the outputs' own limit. Training takes that in its stride; a measurement that needs more sets
``conv.WINOGRAD4_MIN_WIDTH = float("inf")`` (F(2x2) or direct: 3e-7 again, 19 -> 23 ms for
512 -> 512 at 45x60).

The transforms pass over memory, so this wins only where the products dominate: many channels
on both sides (VGG's 512-channel layers at 45x60 ran 1.6-1.8x faster by F(2x2) than directly,
its 128- and 256-channel layers 1.15-1.4x faster again by F(4x4), which with faster transforms
now takes the 512-channel layers at 45x60 too: ``conv._winograd_tile``).
Every transform applies its small matrix along each axis in turn, one product per axis for a
whole block of channels (``A^T M A`` as ``(m, t) @ (t, ...)`` twice: fewer multiply-adds than
the Kronecker product ``A^T (x) A^T`` acting on the flattened tile, which is the same map),
the tiles' values read or written through strided views of the image. Every piece is linear, so both gradients are the pieces'
adjoints in reverse order, sharing ``gM = A gY A^T`` per tile (:func:`grads`):
``gU[ab] = gM[ab] @ V[ab].T`` and ``gW = G^T gU G`` for the weights, ``gV[ab] = U[ab].T @
gM[ab]`` and ``B gV B^T`` handed back to each tile's pixels for the input. F(2x2)'s entries
are 0, +-1 and 1/2, so its float32 error stays close to the direct product's (256 -> 256 at
45x60, against float64: 7.0e-7 of the largest output, direct 4.8e-7).

>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((1, 2, 5, 6))
>>> W = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
>>> from minifcn import naive
>>> bool(np.allclose(conv2d(x, W, padding=(1, 1)), naive.conv2d(x, W, None, 1, 1, 1)))
True
>>> bool(np.allclose(conv2d(x, W, padding=(1, 1), m=4), naive.conv2d(x, W, None, 1, 1, 1)))
True
"""
from __future__ import annotations

import numpy as np

from ..backend import device_of, get_array_module
from ..im2col import fill_window
from . import cache
from .threads import num_threads, products_on_cores, row_groups

B_T = np.array([[1, 0, -1, 0],
                [0, 1, 1, 0],
                [0, -1, 1, 0],
                [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0],
              [0.5, 0.5, 0.5],
              [0.5, -0.5, 0.5],
              [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0],
                [0, 1, -1, -1]], dtype=np.float64)
# F(4x4, 3x3): 4 outputs of a 3-tap correlation from 6 inputs with 6 products, interpolating
# at 0, 1, -1, 2, -2 and infinity (Lavin & Gray's matrices). 36 products per 4x4 outputs, 36/144
# of the direct FLOPs; entries up to 8 and 1/24, so the float32 error grows (256 -> 256 at 56x56:
# 1.4e-5 of the largest output against 8.0e-7 for F(2x2, 3x3), measured against float64).
B4_T = np.array([[4, 0, -5, 0, 1, 0],
                 [0, -4, -4, 1, 1, 0],
                 [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0],
                 [0, 2, -1, -2, 1, 0],
                 [0, 4, 0, -5, 0, 1]], dtype=np.float64)
G4 = np.array([[1 / 4, 0, 0],
               [-1 / 6, -1 / 6, -1 / 6],
               [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6],
               [1 / 24, -1 / 12, 1 / 6],
               [0, 0, 1]], dtype=np.float64)
A4_T = np.array([[1, 1, 1, 1, 1, 0],
                 [0, 1, -1, 2, -2, 0],
                 [0, 1, 1, 4, 4, 0],
                 [0, 1, -1, 8, -8, 1]], dtype=np.float64)
# (B^T, G, A^T) of F(m x m, 3x3), m = 2 or 4: the input tile is t = m + 2 wide
_MATRICES = {2: (B_T, G, A_T), 4: (B4_T, G4, A4_T)}
# the kernel transform as one product: (G W G^T)[a, b] = sum over (i, j) of G[a, i] G[b, j]
# W[i, j], the Kronecker product's row a*t + b, column i*3 + j
_GG = {m: np.kron(g, g) for m, (_, g, _) in _MATRICES.items()}

# The tiles are processed in slabs of whole tile rows of one image, the transformed input and
# products of a slab (``(m + 2)**2 * (c + out_c)`` values a tile: 16 for F(2x2), 36 for F(4x4))
# at most this big, so that the transient
# memory stays bounded (whole, FCN's conv2_2 at 500x500 would take 500 MB). Smaller slabs are
# slower: at 4-16 MiB, 512 -> 512 at 45x60 took 46-69 ms instead of 40 (shorter products, and
# ``U``, 16 MB there, read again per slab); 128-256 MiB gained nothing. A GPU takes whole
# images: there a kernel launch costs more.
SLAB_BYTES = 64 * 2**20
# Within a slab, the transforms walk blocks of whole channels of about this many values of
# the transformed side (V or M), one block at a time on each CPU thread: smaller blocks, and
# Python's cost per block shows (at 16K values F(2x2)'s input transform of 512 x 45 x 60 took
# 33 ms instead of 7); bigger ones leave the cache (at 1M, F(4x4)'s input gradient transform
# of 64 x 224 x 224 took 7-11 ms against 5-7; at 256K, both gradients of 64 -> 64 at 224x224
# 35 ms against 29).
BLOCK_VALUES = 1 << 19


def tiles(out_hw, m=2):
    """(tiles down, tiles across): m x m output tiles covering ``out_hw``, the last ones cut."""
    return -(-out_hw[0] // m), -(-out_hw[1] // m)


def slabs(x, c, out_c, out_hw, m=2):
    """The slabs ``(k, r0, r1)`` (image ``k``, tile rows ``r0 .. r1 - 1``) a convolution of x
    (n, c, h, w) to ``out_c`` channels walks by F(m x m, 3x3) (see ``SLAB_BYTES``)."""
    th, tw = tiles(out_hw, m)
    if device_of(x) == "cuda":
        rows = th
    else:
        rows = max(1, min(th, SLAB_BYTES // ((m + 2)**2 * (c + out_c) * tw * x.itemsize)))
    return [(k, r0, min(th, r0 + rows)) for k in range(x.shape[0]) for r0 in range(0, th, rows)]


def kernel_transform(W, m=2):
    """W (out_c, c, 3, 3) -> U (t*t, out_c, c), t = m + 2: ``U[a*t + b] = (G W G^T)[a, b]``,
    one product (into a reused block: fresh, 512 -> 512's 36 matrices took 6-10 ms against
    4-5)."""
    xp = get_array_module(W)
    out_c, c = W.shape[:2]
    GG = xp.asarray(_GG[m], dtype=W.dtype)
    U = cache.empty((GG.shape[0], out_c * c), W.dtype, like=W)
    xp.matmul(GG, W.reshape(out_c * c, 9).T, out=U)
    return U.reshape(GG.shape[0], out_c, c)


def kernel_transform_grad(gU):
    """The adjoint of :func:`kernel_transform`: gU (t*t, out_c, c) -> gW (out_c, c, 3, 3).
    As ``gU.T @ GG`` (out_c*c, 9), in W's own layout: ``GG.T @ gU`` would be (9, out_c*c), and
    its transposed copy cost three times the product (512 -> 512: 6.5 against 2.2 ms)."""
    xp = get_array_module(gU)
    tt, out_c, c = gU.shape
    GG = xp.asarray(_GG[_tile_m(tt)], dtype=gU.dtype)
    return (gU.reshape(tt, out_c * c).T @ GG).reshape(out_c, c, 3, 3)


def _tile_m(tt):
    """m of F(m x m, 3x3) from the t*t positions of a tile."""
    return {16: 2, 36: 4}[tt]


def _tiles_of(a, rows, tw, m, size):
    """The view (size, size, cc, rows, tw) of a (cc, H, W) whose ``[u, v, c, i, j]`` is
    ``a[c, m*i + u, m*j + v]``: the size x size values of every tile at once, no copy (tiles
    overlap where size exceeds m). The caller keeps the view inside ``a``: nothing checks it."""
    xp = get_array_module(a)
    sc, sr, sx = a.strides
    return xp.lib.stride_tricks.as_strided(a, shape=(size, size, a.shape[0], rows, tw),
                                           strides=(sr, sx, sc, m * sr, m * sx))


def input_transform(x, padding, out_hw, slab, m=2):
    """x (n, c, h, w), read as padded by ``padding`` -> V (t*t, c, rows*tw), t = m + 2, for
    the tile rows ``r0 .. r1 - 1`` of image ``k`` (``slab``): ``V[a*t + b]`` holds
    ``(B^T d B)[a, b]`` of each t x t input tile ``d`` (tile ``(i, j)`` reads padded rows
    ``m*i .. m*i + t - 1``, columns ``m*j .. m*j + t - 1``; column ``(i - r0)*tw + j``).

    Per block of channels: the slab's padded rows, ``m*rows + 2`` of them, ``m*tw + 2`` wide,
    are copied once (``pad``, zeros where they fall off x); the t*t values of every tile are
    then one strided view of it, ``pad[c, m*i + u, m*j + v]`` at ``[u, v, c, i, j]``, copied
    once (``D``: tiles overlap by 2, so 2.25x the input for F(4x4), 4x for F(2x2)); and
    ``B^T d B`` of every tile is two products, ``B^T`` along the rows ``u`` (one
    ``(t, t) @ (t, ...)``) and then along the columns ``v`` (one per row of the result).
    F(4x4), 64 -> 64 at 224x224: 5-7 ms, against 12 for t*t window copies and one
    ``(B^T (x) B^T)`` (36, 36) product, which makes 3x the multiply-adds and whose Python cost
    per block made blocks small enough for the cache too dear. F(2x2), 512 at 45x60: 5.4-5.6 ms
    against 7.4-7.8 as additions of plain slices of the input split by row and column parity.
    """
    xp = get_array_module(x)
    c, t = x.shape[1], m + 2
    (py, px), (_, tw), (k, r0, r1) = padding, tiles(out_hw, m), slab
    rows = r1 - r0
    V = cache.empty((t * t, c, rows * tw), x.dtype, like=x)
    Bt = xp.asarray(_MATRICES[m][0], dtype=x.dtype)

    def transform(blocks):   # one thread's channel blocks, through its own buffers
        most = max(ch.stop - ch.start for ch in blocks)
        pad = xp.empty((most, m * rows + 2, m * tw + 2), dtype=x.dtype)
        D, E = (xp.empty(t * t * most * rows * tw, dtype=x.dtype) for _ in range(2))
        for ch in blocks:
            cc = ch.stop - ch.start
            n = cc * rows * tw
            p = pad[:cc]
            fill_window(p, x[k, ch], m * r0 - py, -px)
            d = D[:t * t * n].reshape(t, t, cc, rows, tw)
            d[...] = _tiles_of(p, rows, tw, m, t)
            e = E[:t * t * n].reshape(t, t, n)
            xp.matmul(Bt, d.reshape(t, t * n), out=e.reshape(t, t * n))     # B^T d: along u
            xp.matmul(Bt, e, out=V[:, ch].reshape(t, t, n))                  # (B^T d) B: along v

    products_on_cores(transform, _block_groups(c, t * t * rows * tw, x), x)
    return V


def input_transform_grad(gV, gx, padding, slab, m=2):
    """The adjoint of :func:`input_transform`: gV (t*t, c, rows*tw), a gradient of the slab's
    V -> its share of gx (n, c, h, w), written in place. Each tile hands ``B gV B^T`` (``B``
    along each axis, two (t, t) products per block of channels, as the forward) back to the
    t x t padded pixels it read, and pixels read by two tiles (the tiles overlap by 2) get both.

    Per block, into the slab's padded rows (``pad``, as the forward's): the last two rows and
    columns of every tile fall on the next tile's first two, so they are added there first, in
    place (plain slices of the tiles' array); then the first m x m values of every tile cover
    each padded pixel once and are written, one (channels, rows, tw) slice per position, and
    the last tile row's and column's overhang after them. ``pad`` is then written into gx,
    except the first two rows of a slab after the first, which the slab before also reached:
    those are added. So no zeros to fill first, and no strided additions (as additions into
    every m-th row and column, 64 -> 64 at 224x224 took 8.8 ms against 5-7)."""
    xp = get_array_module(gV)
    tt, c = gV.shape[:2]
    t = m + 2
    (py, px), (k, r0, r1) = padding, slab
    rows = r1 - r0
    tw = gV.shape[2] // rows
    B = xp.asarray(_MATRICES[m][0].T, dtype=gV.dtype)

    def transform(blocks):   # one thread's channel blocks, through its own buffers
        most = max(ch.stop - ch.start for ch in blocks)
        pad = xp.empty((most, m * rows + 2, m * tw + 2), dtype=gV.dtype)
        E, gD = (xp.empty(tt * most * rows * tw, dtype=gV.dtype) for _ in range(2))
        for ch in blocks:
            cc = ch.stop - ch.start
            n = cc * rows * tw
            e, d = E[:tt * n].reshape(t, t, n), gD[:tt * n].reshape(t, t * n)
            xp.matmul(B, gV[:, ch].reshape(t, t, n), out=e)    # (gV B^T), along v
            xp.matmul(B, e.reshape(t, t * n), out=d)           # B (gV B^T), along u
            d = d.reshape(t, t, cc, rows, tw)
            # a tile's last two rows (columns) fall on the next tile's first two: added to
            # those first, in d itself (plain slices); the last tile's own are left for the edge
            for w in range(t - m):
                d[:, w, :, :, 1:] += d[:, w + m, :, :, :-1]   # columns, every row of the tile
            for w in range(t - m):
                d[w, :, :, 1:, :] += d[w + m, :, :, :-1, :]   # then rows
            p = pad[:cc]
            for u in range(m):     # one (channels, rows, tw) slice at a time: as one 5-D view,
                for v in range(m):   # NumPy walks v innermost (m values), 2-3x slower
                    p[:, u:m * rows:m, v:m * tw:m] = d[u, v]
            for w in range(t - m):   # the last row and column of tiles reach past them
                for a in range(m):
                    p[:, m * rows + w, a:m * tw:m] = d[w + m, a, :, -1, :]   # below
                    p[:, a:m * rows:m, m * tw + w] = d[a, w + m, :, :, -1]   # to the right
                for v in range(t - m):
                    p[:, m * rows + w, m * tw + v] = d[w + m, v + m, :, -1, -1]
            _put_window(gx[k, ch], p, m * r0 - py, -px, add_rows=t - m if r0 > 0 else 0)

    products_on_cores(transform, _block_groups(c, tt * rows * tw, gV), gV)


def _put_window(out, plane, y0, x0, add_rows=0):
    """``out[..., y0 + i, x0 + j] = plane[..., i, j]`` where that falls inside ``out``, added
    instead for the plane's first ``add_rows`` rows."""
    h, w = out.shape[-2:]
    rows, cols = plane.shape[-2:]
    s0, s1 = max(0, -y0), min(rows, h - y0)
    q0, q1 = max(0, -x0), min(cols, w - x0)
    if q0 >= q1:
        return
    split = min(max(s0, add_rows), s1)
    if s0 < split:
        out[..., y0 + s0:y0 + split, x0 + q0:x0 + q1] += plane[..., s0:split, q0:q1]
    if split < s1:
        out[..., y0 + split:y0 + s1, x0 + q0:x0 + q1] = plane[..., split:s1, q0:q1]


def _block_groups(c, values_per_channel, like):
    """Slices of ``range(c)``, about ``BLOCK_VALUES`` values each (at least one channel), shared
    out in contiguous runs, one run per CPU thread (for :func:`~.threads.products_on_cores`);
    one slice on a GPU (one kernel launch per operation)."""
    if device_of(like) == "cuda":
        return [[slice(0, c)]]
    per = max(1, BLOCK_VALUES // max(1, values_per_channel))
    blocks = [slice(c0, min(c, c0 + per)) for c0 in range(0, c, per)]
    return [blocks[g0:g1] for g0, g1 in row_groups(len(blocks), num_threads())]


def output_transform(M, y, slab, b=None):
    """Write ``A^T M A`` of each tile of M (t*t, out_c, rows*tw), plus the bias b (out_c,),
    into the output rows ``m*r0 .. m*r1 - 1`` of image ``k`` of y (n, out_c, m*th, m*tw)
    (``t = m + 2``: 16 values a tile for F(2x2, 3x3), 36 for F(4x4, 3x3)).

    Per block of channels: ``A^T`` along each axis, two small products ((m, t) @ (t, ...)), and
    the m x m outputs of every tile written into y through one strided view (y's row
    ``m*i + r``, column ``m*j + s`` of tile ``(i, j)``). As one ``(A^T (x) A^T)`` product and m*m
    copies, 64 -> 64 at 224x224 took 5.7 ms against 3.3; as additions over M's rows, written
    straight into those strided places, F(2x2, 3x3) took 1.4-2x as long again.
    """
    xp = get_array_module(M)
    tt, out_c = M.shape[:2]
    m = _tile_m(tt)
    t = m + 2
    tw = y.shape[3] // m
    k, r0, r1 = slab
    rows = r1 - r0
    At = xp.asarray(_MATRICES[m][2], dtype=M.dtype)

    def transform(blocks):   # one thread's channel blocks, through its own buffers
        most = max(ch.stop - ch.start for ch in blocks)
        E = xp.empty(t * m * most * rows * tw, dtype=M.dtype)
        Y = xp.empty(m * m * most * rows * tw, dtype=M.dtype)
        for ch in blocks:
            cc = ch.stop - ch.start
            n = cc * rows * tw
            e, Yb = E[:t * m * n].reshape(t, m, n), Y[:m * m * n].reshape(m, m * n)
            xp.matmul(At, M[:, ch].reshape(t, t, n), out=e)   # (M A), along b
            xp.matmul(At, e.reshape(t, m * n), out=Yb)        # A^T (M A), along a
            out = _tiles_of(y[k, ch, m * r0:m * r1], rows, tw, m, m)
            Yb = Yb.reshape(m, m, cc, rows, tw)
            if b is None:
                out[...] = Yb
            else:
                xp.add(Yb, b[ch].reshape(1, 1, cc, 1, 1), out=out)

    products_on_cores(transform, _block_groups(out_c, tt * rows * tw, M), M)


def output_transform_grad(gy, slab, m=2):
    """The adjoint of :func:`output_transform`: gy (n, out_c, out_h, out_w) -> gM
    (t*t, out_c, rows*tw) for the slab's tiles, ``gM = A gY A^T`` per m x m tile of gy (zeros
    past its edges): per block of channels, the m*m values of every tile copied out of gy
    through one strided view (first into a block padded with zeros where the tiles run past
    gy's edges), then ``A`` along each axis, two small products."""
    xp = get_array_module(gy)
    out_c, t = gy.shape[1], m + 2
    tt = t * t
    (_, tw), (k, r0, r1) = tiles(gy.shape[2:], m), slab
    rows = r1 - r0
    inside = m * r1 <= gy.shape[2] and m * tw <= gy.shape[3]   # no tile of the slab is cut
    gM = cache.empty((tt, out_c, rows * tw), gy.dtype, like=gy)
    A = xp.asarray(_MATRICES[m][2].T, dtype=gy.dtype)

    def transform(blocks):   # one thread's channel blocks, through its own buffers
        most = max(ch.stop - ch.start for ch in blocks)
        G = xp.empty(m * m * most * rows * tw, dtype=gy.dtype)
        E = xp.empty(t * m * most * rows * tw, dtype=gy.dtype)
        pad = None if inside else xp.empty((most, m * rows, m * tw), dtype=gy.dtype)
        for ch in blocks:
            cc = ch.stop - ch.start
            n = cc * rows * tw
            src = gy[k, ch, m * r0:m * r1]
            if not inside:
                src = pad[:cc]
                fill_window(src, gy[k, ch], m * r0, 0)
            g, e = G[:m * m * n].reshape(m, m, cc, rows, tw), E[:t * m * n].reshape(t, m, n)
            g[...] = _tiles_of(src, rows, tw, m, m)   # g[r, s]: rows m*i + r, cols m*j + s
            xp.matmul(A, g.reshape(m, m * n), out=e.reshape(t, m * n))   # A gY, along r
            xp.matmul(A, e, out=gM[:, ch].reshape(t, t, n))              # (A gY) A^T, along s

    products_on_cores(transform, _block_groups(out_c, tt * rows * tw, gy), gy)
    return gM


def _products(fn, like, count=16):
    """``fn(positions)`` for the ``count`` tile positions, shared out among the CPU's threads,
    each running BLAS on one core (independent products: none needs splitting)."""
    products_on_cores(lambda g: fn(range(*g)), row_groups(count, num_threads()), like)


def conv2d(x, W, b=None, padding=(1, 1), m=2):
    """y (n, out_c, h + 2*py - 2, w + 2*px - 2) = the stride-1 convolution of x (n, c, h, w)
    with W (out_c, c, 3, 3), plus b (out_c,), by F(m x m, 3x3), m = 2 or 4. A view that cuts
    the last rows or columns of tiles when the output size is not a multiple of m."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out_c = W.shape[0]
    out_hw = (h + 2 * padding[0] - 2, w + 2 * padding[1] - 2)
    th, tw = tiles(out_hw, m)
    tt = (m + 2)**2
    U = kernel_transform(W, m)
    y = cache.empty((n, out_c, m * th, m * tw), x.dtype, like=x)
    for slab in slabs(x, c, out_c, out_hw, m):
        V = input_transform(x, padding, out_hw, slab, m)
        M = cache.empty((tt, out_c, V.shape[2]), x.dtype, like=x)

        def multiply(positions):
            for ab in positions:
                xp.matmul(U[ab], V[ab], out=M[ab])

        _products(multiply, x, tt)
        del V
        output_transform(M, y, slab, b)
    return y[:, :, :out_hw[0], :out_hw[1]]


def grads(x, gy, W, padding=(1, 1), m=2, need_input=True, need_weight=True):
    """(gx, gW) of :func:`conv2d` for x (n, c, h, w), gy (n, out_c, out_h, out_w) and W
    (out_c, c, 3, 3), each None when not needed: the forward read backwards, sharing its pieces.

    Per slab, ``gM = A gY A^T`` per tile (:func:`output_transform_grad`) feeds both:
    ``gU[ab] = gM[ab] @ V[ab].T``, summed over the slabs, gives ``gW = G^T gU G``
    (:func:`kernel_transform_grad`; V, the forward's input transform, made again), and
    ``gV[ab] = U[ab].T @ gM[ab]``, the input transform's adjoint (:func:`input_transform_grad`),
    gives gx. (Computing gx instead as the forward algorithm on the flipped kernel, over gy
    padded, needs its own input transform of gy: 64 -> 128 at 112x112, both gradients took
    21-22 ms that way against 17-18.)"""
    xp = get_array_module(gy)
    n, out_c = gy.shape[:2]
    c = W.shape[1] if need_input else x.shape[1]
    hw = (gy.shape[2] - 2 * padding[0] + 2, gy.shape[3] - 2 * padding[1] + 2)
    tt = (m + 2)**2
    held = c * (need_input + need_weight)   # per tile, beside gM's out_c: gV and V
    U = kernel_transform(W, m) if need_input else None
    gx = cache.empty((n, c) + hw, gy.dtype, like=gy) if need_input else None
    gU = xp.empty((tt, out_c, c), dtype=gy.dtype) if need_weight else None
    for i, slab in enumerate(slabs(gy, held, out_c, gy.shape[2:], m)):
        gM = output_transform_grad(gy, slab, m)
        V = input_transform(x, padding, gy.shape[2:], slab, m) if need_weight else None
        gV = cache.empty((tt, c, gM.shape[2]), gy.dtype, like=gy) if need_input else None

        def multiply(positions, first=i == 0):
            for ab in positions:
                if need_weight and first:
                    xp.matmul(gM[ab], V[ab].T, out=gU[ab])
                elif need_weight:
                    gU[ab] += gM[ab] @ V[ab].T
                if need_input:
                    xp.matmul(U[ab].T, gM[ab], out=gV[ab])

        _products(multiply, gy, tt)
        del gM, V
        if need_input:
            input_transform_grad(gV, gx, padding, slab, m)
        del gV
    return gx, (kernel_transform_grad(gU) if need_weight else None)


def grad_input(gy, W, padding=(1, 1), m=2):
    """gx (n, c, h, w) of :func:`conv2d` (see :func:`grads`)."""
    return grads(None, gy, W, padding, m, need_weight=False)[0]


def grad_weight(x, gy, padding=(1, 1), m=2):
    """gW (out_c, c, 3, 3) of :func:`conv2d` (see :func:`grads`)."""
    return grads(x, gy, None, padding, m, need_input=False)[1]
