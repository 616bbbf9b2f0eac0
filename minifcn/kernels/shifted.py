"""Stride-1 convolution by shifted slices of the flattened, padded image: no ``col``.

An unfolded ``col`` is 9x a 3x3 convolution's input: over 1 GB for VGG's conv1_2 at FCN's
698x698. This path never builds one. Pad the image, flatten each channel to one row of
``hp * wp`` values: the patch tap ``(i, j)`` of output ``(oy, ox)`` is then element
``oy*wp + ox + (i*wp + j)`` of that row, so for a fixed tap the taps of *all* outputs form one
plain slice of the row,
``flat[:, i*wp + j : i*wp + j + out_h*wp]``, a matrix BLAS reads in place.
The convolution becomes a sum of products ``W[:, :, i, j] @ slice``. To give BLAS deeper
products, the ``kw`` taps of a kernel row are stacked first (:func:`row_chunks`: ``kw`` shifted
copies, not ``kh*kw``), leaving ``kh`` products of depth ``kw*c``; and to give it taller ones,
the ``kh`` kernel rows are stacked too, into one product ``(kh*out_c, kw*c) @ rows`` whose ``kh``
row blocks are then added, each shifted by its kernel row (VGG's 64- and 128-channel layers run
10-17 % faster this way than as ``kh`` products of ``out_c`` rows). Each output row gains
``wp - out_w`` junk columns (windows that run off the right edge), left out when the kernel
rows' partial sums are added into the output.
The input gradient is the same correlation of ``gy`` (padded by ``(k - 1)*d - p``) with the
flipped kernel; the weight gradient is the stacked product read backwards: ``gy`` copied ``kh``
times, block ``i`` shifted down ``i`` rows, times ``rows.T`` (:func:`grad_weight`). On the
CPU all of this runs over chunks of whole output rows (``STACKED_CHUNK_COLS`` for the
correlations, ``CHUNK_COLS`` for the weight gradient, more on narrow layers), so the stacked copies
and the partial sums of a chunk stay in cache, and the padded image is never built whole: each
chunk's shifted copies are cut straight from the input, with zeros where they fall on the
padding (``fill_window``); each padded row is copied and multiplied once, the products a
chunk shares with the next carried over. The chunks are shared out among the CPU's threads in
runs of whole rows, each thread with its own buffers and BLAS on one core (:func:`chunk_groups`,
``threads.products_on_cores``).

:mod:`.conv` chooses this path (``conv._use_shifts``) and calls :func:`correlate` for the
forward and the input gradient, :func:`grad_weight` for the weight gradient.

>>> import numpy as np
>>> from minifcn import naive
>>> x = np.random.default_rng(0).standard_normal((1, 2, 5, 6))
>>> W = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
>>> y = correlate(x, (1, 1), W, (5, 6), (1, 1))
>>> bool(np.allclose(y, naive.conv2d(x, W, None, 1, 1, 1)))
True
"""
from __future__ import annotations

from ..backend import device_of, get_array_module
from ..im2col import fill_window
from . import cache
from .threads import num_threads, products_on_cores, row_groups


# The weight gradient's shifted products run over chunks of about this many output columns
# (whole output rows; the correlations' chunks are STACKED_CHUNK_COLS, below):
# a chunk's unfolded rows and partial products then stay in cache instead of making three trips
# to memory (conv1_2 at 224: 39 -> 28 ms forward). A GPU takes the image in one chunk: there a
# kernel launch costs more than a trip to memory.
CHUNK_COLS = 4096
# The stacked product of a correlation reads ``(kh - 1)*dy`` rows past each chunk (carried over
# to the next chunk; only where two threads' shares meet are they multiplied twice), and its
# partial sums are ``kh`` times the chunk: on a 700-wide image (FCN's conv1 at 500x500) 23 rows.
# Measured best at 8192-16384 on VGG's shapes when every chunk multiplied its extra rows again;
# with them carried over, 4096-16384 are within 5 % of each other.
STACKED_CHUNK_COLS = 16384
# Narrow layers get longer chunks, of at least this many bytes of stacked rows and partial sums
# (``kw*c + kh*out_c`` values a column): Python's cost per chunk (a few copies, one product)
# otherwise outweighs a chunk's work. 4096 columns of VGG's 64 -> 64 hold 6 MB, of the main
# job's 4 -> 4 at 358x358 (batch 8) 0.4 MB; at 6 MB (65536 columns) its weight gradient took
# 15-18 ms instead of 30, its forward 6.2-7.7 instead of 7.8, and conv1_1's (3 -> 4, padding
# 100) weight gradient 12-13 instead of 26 (alternated; 16 -> 16 at 90x90 and wider: the same).
CHUNK_BYTES = 6 * 2**20


def _chunk_cols(least, c, out_c, kh, kw, itemsize):
    """Columns a chunk of the products takes: ``least``, or more for a narrow layer, whose
    chunks then hold ``CHUNK_BYTES`` of stacked rows and partial sums."""
    return max(least, CHUNK_BYTES // ((kw * c + kh * out_c) * itemsize))


def chunk_groups(x, out_h, wp, chunk_cols):
    """How the stride-1 products walk the images: chunks ``(k, r0, r1)``, output rows ``r0 ..
    r1 - 1`` of image ``k``, about ``chunk_cols`` columns each (whole rows of the padded width
    ``wp``), in one list per CPU thread, each list a contiguous share of all the rows. On a GPU,
    one list of whole images: there a kernel launch costs more than a trip to memory."""
    n = x.shape[0]
    if device_of(x) == "cuda":
        return [[(k, 0, out_h) for k in range(n)]]
    per_chunk = max(1, chunk_cols // wp)
    groups = []
    for g0, g1 in row_groups(n * out_h, num_threads()):   # rows of all images, end to end
        chunks, r = [], g0
        while r < g1:
            k, r0 = divmod(r, out_h)
            r1 = min(out_h, r0 + per_chunk, r0 + g1 - r)
            chunks.append((k, r0, r1))
            r += r1 - r0
        groups.append(chunks)
    return groups


def row_chunks(x, pad, chunks, kh, kw, dilation, carry=False):
    """Walk one thread's share of the stride-1 products: ``chunks`` from :func:`chunk_groups`.

    ``x`` (n, c, h, w) is read as padded by ``pad = (py, px)`` zeros on each side (negative:
    cropped), ``wp = w + 2*px`` columns wide; nothing padded is ever built. Yields
    ``(k, r0, r1, rows, new)``: image ``k``, the chunk's output rows ``r0 .. r1 - 1``, and its
    unfolded rows (kw*c, (r1 - r0 + (kh-1)*dy) * wp): block ``j`` holds the padded rows the
    chunk reads, shifted left by ``j*dx`` columns and flattened. With ``m = (r1 - r0) * wp``,
    kernel row ``i``'s taps of the chunk are ``rows[:, i*dy*wp : i*dy*wp + m]``: output
    ``(oy, ox)`` meets tap ``(i, j)`` at column ``(oy - r0 + i*dy)*wp + ox`` of block ``j``.
    Columns ``ox >= out_w`` are junk (windows that run off the row); the zeros shifted in at the
    right of a block feed only them.

    With ``carry``, a chunk that goes on from the one before (same image, next rows) gets only
    the padded rows that one did not read, ``r0 + (kh-1)*dy .. r1 + (kh-1)*dy - 1`` (``new``
    is ``False``): :func:`correlate` keeps the products of the others.

    Unfolding the ``kw`` taps of a kernel row into the channels (a copy kw times the chunk, not
    kh*kw times) leaves ``kh`` products of depth ``kw*c``: deep enough for BLAS to run well
    where ``c`` alone (64 in VGG's first block) is not. One buffer serves all the chunks.
    """
    c, w = x.shape[1], x.shape[3]
    (py, px), (dy, dx) = pad, dilation
    wp = w + 2 * px
    reach = (kh - 1) * dy                           # padded rows a chunk reads past its outputs
    # Zeros to start with: each block's copies then only ever write the same columns, so the
    # zeros of its left and right padding are written once, and the first chunk needs no zeros
    # at all (on a GPU, one chunk: one copy per block, a kernel launch each).
    most = max(r1 - r0 for _, r0, r1 in chunks)
    buf = cache.zeros((kw, c, (most + reach) * wp), x.dtype, like=x)
    first, last = True, None
    for k, r0, r1 in chunks:
        new = not (carry and last == (k, r0))
        top, span = (r0, (r1 - r0 + reach) * wp) if new else (r0 + reach, (r1 - r0) * wp)
        for j in range(kw):
            fill_window(buf[j, :, :span].reshape(c, -1, wp), x[k], top - py, j * dx - px,
                        fill="none" if first else "rows")
        first, last = False, (k, r1)
        yield k, r0, r1, buf.reshape(kw * c, -1)[:, :span], new


def correlate(x, pad, W, out_hw, dilation, b=None):
    """Stride-1 correlation of x (n, c, h, w), padded by ``pad``, with W (out_c, c, kh, kw),
    plus the bias b (out_c,) if given.

    Returns (n, out_c, out_h, out_w), contiguous. Per chunk of output rows: one product
    ``z = taps @ rows``, (kh*out_c, kw*c) @ (kw*c, span), whose row block ``i`` is kernel row
    ``i``'s share of every output the chunk's rows reach; output ``(oy, ox)`` then adds block
    ``i`` at column ``(oy - r0 + i*dy)*wp + ox``, so the ``kh`` blocks are summed each shifted by
    ``i*dy`` rows, and the bias added, while the chunk is in cache: block 0 gathers the others
    but the last in place, and that last addition writes y, leaving out the junk columns
    ``ox >= out_w`` (the same sums in the same order as whole rows added into y, then cut). So
    y comes out contiguous: the layers after it (batch norm, ReLU) read whole planes, 2-7 %
    faster over a SegNet layer's forward and backward than rows with a gap after each.

    Each padded row meets every kernel row once: the products of the last ``(kh-1)*dy`` rows a
    chunk reads (the top rows of the next chunk's outputs) are moved to the front of ``z``, and
    the next chunk multiplies only the rows it adds (``row_chunks(carry=True)``). Computed
    again per chunk, they cost 2 rows in 25 at FCN's conv1_2 (698 wide, 23-row chunks).
    """
    xp = get_array_module(x)
    n, c = x.shape[:2]
    out_c, _, kh, kw = W.shape
    (out_h, out_w), wp = out_hw, x.shape[3] + 2 * pad[1]
    step = dilation[0] * wp
    tail = (kh - 1) * step                  # columns of z the next chunk's sums reuse
    # row block i, column block j: W[:, :, i, j], matching the tap order of ``rows``
    taps = xp.ascontiguousarray(W.transpose(2, 0, 3, 1)).reshape(kh * out_c, kw * c)
    y = cache.empty((n, out_c, out_h, out_w), x.dtype, like=x)

    def cut(a, rows):
        """(out_c, rows*wp) partial sums -> (out_c, rows, out_w): the junk columns left out."""
        return a.reshape(out_c, rows, wp)[:, :, :out_w]

    def correlate(chunks):   # one thread's rows of y
        most = max(r1 - r0 for _, r0, r1 in chunks)
        # the kernel rows' partial sums of the widest chunk
        z = cache.empty((kh * out_c, most * wp + tail), x.dtype, like=x)
        for k, r0, r1, rows, new in row_chunks(x, pad, chunks, kh, kw, dilation, carry=True):
            m = (r1 - r0) * wp
            out = y[k, :, r0:r1]              # (out_c, r1 - r0, out_w)
            if new:
                xp.matmul(taps, rows, out=z[:, :m + tail])
            else:            # the last chunk's products of the rows both read, then the rest
                z[:, :tail] = z[:, m_last:m_last + tail]
                xp.matmul(taps, rows, out=z[:, tail:tail + m])
            m_last = m
            if kh == 1:
                out[...] = cut(z[:, :m], r1 - r0)
            else:            # row block 0 gathers the others', shifted; the last one adds into y
                acc = z[:out_c, :m]
                for i in range(1, kh - 1):
                    acc += z[i * out_c:(i + 1) * out_c, i * step:i * step + m]
                last = kh - 1
                xp.add(cut(acc, r1 - r0),
                       cut(z[last * out_c:, last * step:last * step + m], r1 - r0), out=out)
            if b is not None:
                out += b.reshape(out_c, 1, 1)

    cols = _chunk_cols(STACKED_CHUNK_COLS, c, out_c, kh, kw, x.itemsize)
    products_on_cores(correlate, chunk_groups(x, out_h, wp, cols), x)
    return y


def grad_weight(x, gy, kh, kw, pad, dilation):
    """conv2d_grad_weight by shifted slices: the adjoint of :func:`correlate`.

    The forward multiplies the unfolded rows by the kernel rows stacked, ``(kh*out_c, kw*c)``,
    and adds row block ``i`` shifted up by ``i*dy`` rows. Its adjoint copies ``gy`` into ``kh``
    blocks, block ``i`` shifted *down* by ``i*dy`` rows (``G``, zeros on the junk columns and
    where the shift runs off the rows), and multiplies once: ``G @ rows.T`` is
    (kh*out_c, kw*c), the weight gradient of every tap, padded row ``p`` meeting ``gy`` row
    ``p - i*dy`` in block ``i``. Per chunk of padded rows, each read once (``row_chunks`` with
    ``carry``): one product of depth ``span`` rather than ``kh`` products of ``out_c`` rows
    (FCN's 64 -> 64 at 224: 3 products 51-57 GFLOP/s on one core, stacked 64-66).
    """
    xp = get_array_module(x)
    c = x.shape[1]
    out_c, out_h = gy.shape[1:3]
    dy, wp = dilation[0], x.shape[3] + 2 * pad[1]
    reach = (kh - 1) * dy

    def grad_weight(chunks):   # one thread's share of the sum over rows
        own = {}               # the rows of gy this thread sums, per image: (lo, hi)
        for k, r0, r1 in chunks:
            lo, hi = own.get(k, (r0, r1))
            own[k] = (min(lo, r0), max(hi, r1))
        most = max(r1 - r0 for _, r0, r1 in chunks)
        # zeros to start with: the junk columns stay zero, as in row_chunks
        G = cache.zeros((kh, out_c, (most + reach) * wp), gy.dtype, like=gy)
        gW = xp.zeros((kh * out_c, kw * c), dtype=x.dtype)
        first = True
        for k, r0, r1, rows, new in row_chunks(x, pad, chunks, kh, kw, dilation, carry=True):
            top, span = (r0 if new else r0 + reach), rows.shape[1]   # rows: padded rows top ...
            lo, hi = own[k]
            for i in range(kh):
                fill_window(G[i, :, :span].reshape(out_c, -1, wp), gy[k, :, lo:hi],
                            top - i * dy - lo, 0, fill="none" if first else "rows")
            first = False
            gW += G.reshape(kh * out_c, -1)[:, :span] @ rows.T
        return gW

    cols = _chunk_cols(CHUNK_COLS, c, out_c, kh, kw, x.itemsize)
    parts = products_on_cores(grad_weight, chunk_groups(x, out_h, wp, cols), x)
    gW = parts[0]
    for part in parts[1:]:   # in a fixed order: the same sum on every run
        gW += part
    return xp.ascontiguousarray(gW.reshape(kh, out_c, kw, c).transpose(1, 3, 0, 2))
