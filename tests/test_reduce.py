"""Per-channel reductions (``kernels/reduce.py``) against the plain NumPy sums they replace,
on contiguous arrays, strided views (a convolution's output with its junk columns cut) and
slices of channels of a batch."""
import numpy as np
import pytest

from minifcn.kernels.reduce import channel_dot, channel_sum
from oracle import to_np

VIEWS = {"contiguous": np.s_[:, :, :, :],
         "junk_columns": np.s_[:, :, :, :7],
         "channel_slice": np.s_[:, 1:4, :, :]}


@pytest.mark.parametrize("layout", list(VIEWS))
def test_channel_sum_and_dot_match_numpy(xp, rng, layout):
    full_a, full_b = rng.standard_normal((3, 5, 6, 9)), rng.standard_normal((3, 5, 6, 9))
    view = VIEWS[layout]
    a, b = full_a[view], full_b[view]
    ga, gb = xp.asarray(full_a)[view], xp.asarray(full_b)[view]   # views on the device too
    np.testing.assert_allclose(to_np(channel_sum(ga)), a.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_np(channel_dot(ga, gb)), (a * b).sum(axis=(0, 2, 3)),
                               rtol=1e-12, atol=1e-12)
    # one image: channel_sum's path that skips the batch reduction
    np.testing.assert_allclose(to_np(channel_dot(ga[:1], gb[:1])), (a[:1] * b[:1]).sum(axis=(0, 2, 3)),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threads", ["1", "2", "3"])    # one block; blocks of 3 + 2; 2 + 2 + 1
@pytest.mark.parametrize("layout", list(VIEWS))
def test_bias_gradient_in_channel_blocks_is_the_whole_sum(xp, rng, monkeypatch, layout, threads):
    from minifcn.kernels.conv import conv2d_grad_bias

    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    full = rng.standard_normal((3, 5, 6, 9))
    got = conv2d_grad_bias(xp.asarray(full)[VIEWS[layout]])
    np.testing.assert_allclose(to_np(got), full[VIEWS[layout]].sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", list(VIEWS))
def test_channel_dot_in_float32_stays_close_to_float64(xp, rng, layout):
    """100 000 terms a channel, summed in float32 (BLAS's dot products, or einsum on a strided
    view): within 1e-5 of the largest float64 sum (measured 1.2e-6 by BLAS, 3.2e-6 by einsum)."""
    full = rng.standard_normal((2, 5, 200, 253)) + 0.5, rng.standard_normal((2, 5, 200, 253))
    view = {"junk_columns": np.s_[:, :, :, :250]}.get(layout, VIEWS[layout])
    a, b = (f[view] for f in full)
    want = (a * b).sum(axis=(0, 2, 3))
    ga, gb = (xp.asarray(f.astype(np.float32))[view] for f in full)   # views on the device
    got = to_np(channel_dot(ga, gb))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
