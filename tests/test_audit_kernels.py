"""Audit of the array kernels' forward / backward pairs that no test checked as a pair.

Each pair below is checked elsewhere only through the whole convolution or layer it serves
(agreeing with im2col, the loops or PyTorch), so a fault in one piece could hide behind a
compensating one, or behind a path the layer's tests do not reach. Each is linear, so the
direct check is the adjoint identity ``<A x, g> = <x, A^T g>``, to 1e-10 in float64:

* ``phases.kernel`` / ``phases.kernel_grad``: the phase kernel of a strided weight, and back;
* ``phases.space_to_depth`` / ``phases.depth_to_space`` then the padding cut: the strided
  convolution's phases of x, and how the input gradient by phases puts them back;
* ``shifted.correlate`` / ``shifted.grad_weight``: the shifted-slice convolution, and its weight
  gradient (the adjoint in W), over chunks of several sizes and threads;
* ``norm._window_sum`` with its window turned round: the channel window of local response
  norm, and the transposed window its backward sums over.
"""
import numpy as np
import pytest

from minifcn.kernels import conv as K
from minifcn.kernels import norm as N
from minifcn.kernels import phases as P
from minifcn.kernels import shifted
from oracle import to_np


def _assert_adjoint(lhs, rhs):
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)), (lhs, rhs)
    assert abs(lhs) > 1e-3, "a vanishing <A x, g> would make the check empty"


def _dot(a, b):
    return float((to_np(a) * to_np(b)).sum())


# --------------------------------------------------------------------- phases
@pytest.mark.parametrize("out_c, c, kh, kw, stride", [(3, 2, 4, 4, (2, 2)), (2, 3, 5, 3, (2, 2)),
                                                      (2, 2, 6, 3, (3, 2)), (1, 2, 2, 5, (3, 2)),
                                                      (2, 1, 16, 16, (8, 8))])
def test_phase_kernel_grad_is_the_adjoint_of_the_phase_kernel(xp, rng, out_c, c, kh, kw, stride):
    W = rng.standard_normal((out_c, c, kh, kw))
    Kp = P.kernel(xp.asarray(W), stride)
    s, t = stride
    assert Kp.shape == (s * t * c, out_c, -(-kh // s), -(-kw // t))
    gK = rng.standard_normal(Kp.shape)
    gW = P.kernel_grad(xp.asarray(gK), kh, kw, stride)
    assert gW.shape == W.shape
    _assert_adjoint(_dot(Kp, gK), _dot(W, gW))


def _space_to_depth_transposed(z, hw, stride, padding):
    """What ``conv._grad_input_by_phases`` does after its product: depth to space, then the
    padding cut (rows and columns no window reaches get nothing)."""
    (s, t), (ph, pw), (h, w) = stride, padding, hw
    full = to_np(P.depth_to_space(z, s, t))
    q, r = z.shape[2:]
    reach_h, reach_w = min(h, q * s - ph), min(w, r * t - pw)
    gx = np.zeros(z.shape[:1] + (z.shape[1] // (s * t), h, w))
    gx[:, :, :reach_h, :reach_w] = full[:, :, ph:ph + reach_h, pw:pw + reach_w]
    return gx


@pytest.mark.parametrize("phase_copies", [0, 64])   # one transposed copy; a copy per phase
@pytest.mark.parametrize("hw, kh, kw, stride, padding", [((9, 9), 4, 4, (2, 2), (1, 1)),
                                                         ((11, 10), 5, 3, (2, 2), (0, 0)),
                                                         ((13, 11), 6, 3, (3, 2), (2, 1)),
                                                         ((9, 7), 3, 3, (3, 3), (1, 0))])   # row 8 unread
def test_space_to_depth_and_its_transpose_are_adjoint(xp, rng, monkeypatch, phase_copies, hw, kh, kw,
                                                      stride, padding):
    monkeypatch.setattr(P, "PHASE_COPIES_MAX", phase_copies)
    x = rng.standard_normal((2, 3) + hw)
    out_hw = K.out_size(*hw, kh, kw, stride, padding)
    z = P.space_to_depth(xp.asarray(x), out_hw, kh, kw, stride, padding)
    g = rng.standard_normal(z.shape)
    _assert_adjoint(_dot(z, g), _dot(x, _space_to_depth_transposed(xp.asarray(g), hw, stride, padding)))


# --------------------------------------------------------------------- shifted slices
@pytest.mark.parametrize("threads", ["1", "3"])
@pytest.mark.parametrize("chunk_cols", [4096, 1, 25])
@pytest.mark.parametrize("n, c, h, w, out_c, kh, kw, pad, dilation", [
    (2, 3, 7, 6, 4, 3, 3, (1, 1), (1, 1)),
    (1, 2, 9, 8, 3, 3, 2, (0, 2), (2, 1)),
    (1, 2, 5, 6, 3, 3, 3, (4, 3), (1, 1)),     # padded past the kernel's reach
    (2, 3, 5, 7, 4, 1, 3, (0, 1), (1, 1)),     # one kernel row
])
def test_shifted_weight_gradient_is_the_adjoint_of_the_shifted_correlation(
        xp, rng, monkeypatch, threads, chunk_cols, n, c, h, w, out_c, kh, kw, pad, dilation):
    monkeypatch.setenv("MINIFCN_NUM_THREADS", threads)
    monkeypatch.setattr(shifted, "CHUNK_COLS", chunk_cols)
    monkeypatch.setattr(shifted, "STACKED_CHUNK_COLS", chunk_cols)
    monkeypatch.setattr(shifted, "CHUNK_BYTES", 0)   # the chunk sizes given, not the narrow layers'
    x = xp.asarray(rng.standard_normal((n, c, h, w)))
    W = rng.standard_normal((out_c, c, kh, kw))
    out_hw = K.out_size(h, w, kh, kw, (1, 1), pad, dilation)
    y = shifted.correlate(x, pad, xp.asarray(W), out_hw, dilation)
    gy = rng.standard_normal(y.shape)
    gW = shifted.grad_weight(x, xp.asarray(gy), kh, kw, pad, dilation)
    _assert_adjoint(_dot(y, gy), _dot(W, gW))


# --------------------------------------------------------------------- LRN's channel window
@pytest.mark.parametrize("c, before, after", [(6, 2, 2), (5, 2, 1), (3, 3, 3), (4, 0, 1), (1, 2, 2)])
def test_lrn_window_sum_turned_round_is_its_adjoint(xp, rng, c, before, after):
    # s[:, c] = v[:, c - before] + ... + v[:, c + after]: the backward of local_response_norm
    # sums over the window with before and after swapped, the transpose of this map
    v, u = rng.standard_normal((2, c, 3, 2)), rng.standard_normal((2, c, 3, 2))
    _assert_adjoint(_dot(N._window_sum(xp.asarray(v), before, after), u),
                    _dot(v, N._window_sum(xp.asarray(u), after, before)))
