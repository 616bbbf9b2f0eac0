"""Strided convolutions whose kernel overlaps itself (FCN's 4/2, 16/8 and 64/32 upsamplings) run
as stride-1 convolutions over the stride's phases (``kernels/phases.py``, "sub-pixel" view). They
must agree with im2col/col2im, which the other tests check against the loops and PyTorch."""
import numpy as np
import pytest

from minifcn import naive
from minifcn.kernels import conv as K
from minifcn.kernels import phases as P
from oracle import to_np

# (n, c, h, w, out_c, kh, kw, stride, padding): FCN's upsamplings (k = 2s), a kernel that is not
# a multiple of the stride, unequal strides, one axis that does not overlap (kh <= sy), padding
CASES = [
    (1, 2, 9, 9, 3, 4, 4, (2, 2), (1, 1)),
    (2, 3, 17, 16, 2, 16, 16, (8, 8), (0, 0)),
    (1, 2, 11, 10, 3, 5, 3, (2, 2), (0, 0)),
    (1, 2, 13, 11, 2, 6, 3, (3, 2), (2, 1)),
    (1, 3, 12, 12, 2, 2, 5, (3, 2), (0, 2)),
    (1, 1, 70, 70, 1, 64, 64, (32, 32), (3, 0)),
]


def _paths(monkeypatch, fn):
    """fn() through im2col/col2im, then through the phases. (Patched in a context of its own:
    ``monkeypatch.undo()`` would also take out the ``xp`` fixture's stand-in for CuPy.)"""
    with monkeypatch.context() as m:
        m.setattr(P, "by_phases", lambda *a: False)
        via_col = fn()
    return via_col, fn()


@pytest.mark.parametrize("case", CASES)
def test_phases_agree_with_im2col(xp, rng, monkeypatch, case):
    n, c, h, w, out_c, kh, kw, stride, p = case
    assert P.by_phases(kh, kw, stride, (1, 1))
    x = xp.asarray(rng.standard_normal((n, c, h, w)))
    W = xp.asarray(rng.standard_normal((out_c, c, kh, kw)))
    b = xp.asarray(rng.standard_normal(out_c))
    out_hw = K.out_size(h, w, kh, kw, stride, p)
    gy = xp.asarray(rng.standard_normal((n, out_c) + out_hw))
    for fn in (lambda: K.conv2d(x, W, b, stride, p),
               lambda: K.conv2d_grad_input(gy, W, (h, w), stride, p),
               lambda: K.conv2d_grad_weight(x, gy, kh, kw, stride, p)):
        a, s = _paths(monkeypatch, fn)
        assert a.shape == s.shape
        np.testing.assert_allclose(to_np(s), to_np(a), atol=1e-10, rtol=0)


@pytest.mark.parametrize("output_padding", [0, 1, 2])
def test_transposed_phases_with_output_padding_match_the_loops(xp, rng, output_padding):
    """output_padding can reach past the kernel's last tap (k = s): those rows get only zeros
    (plus the bias), which the phases must write, not leave out."""
    x = rng.standard_normal((1, 2, 4, 5))
    for k, s in ((6, 3), (3, 3), (4, 3)):
        W = rng.standard_normal((2, 3, k, k))
        b = rng.standard_normal(3)
        hw = ((4 - 1) * s - 2 + k + output_padding, (5 - 1) * s - 2 + k + output_padding)
        want = naive.conv_transpose2d(x, W, b, s, 1, output_padding)
        got = K.conv_transpose2d(xp.asarray(x), xp.asarray(W), xp.asarray(b), hw, (s, s), (1, 1))
        np.testing.assert_allclose(to_np(got), want, atol=1e-10, rtol=0)


def test_transposed_kernel_without_out_hw_gives_the_formula_s_size(xp, rng):
    """out_hw left out: ``(h - 1)*s - 2p + k`` a side, PyTorch's size without output_padding."""
    x = rng.standard_normal((1, 2, 4, 5))
    for (kh, kw), s, p in (((3, 3), (1, 1), (1, 1)), ((4, 4), (2, 2), (1, 1)), ((2, 5), (2, 3), (0, 1))):
        W = rng.standard_normal((2, 3, kh, kw))
        want = naive.conv_transpose2d(x, W, None, s, p, 0)
        got = K.conv_transpose2d(xp.asarray(x), xp.asarray(W), None, stride=s, padding=p)
        assert got.shape == want.shape == (1, 3, 3 * s[0] - 2 * p[0] + kh, 4 * s[1] - 2 * p[1] + kw)
        np.testing.assert_allclose(to_np(got), want, atol=1e-10, rtol=0)


def test_phases_only_where_the_kernel_overlaps():
    assert P.by_phases(4, 4, (2, 2), (1, 1))
    assert P.by_phases(2, 3, (2, 2), (1, 1))       # one axis overlaps
    assert not P.by_phases(2, 2, (2, 2), (1, 1))   # windows side by side: col2im adds nothing twice
    assert not P.by_phases(3, 3, (1, 1), (1, 1))   # stride 1: the shifted slices or im2col
    assert not P.by_phases(4, 4, (2, 2), (2, 1))   # dilated: taps of one phase are not adjacent


@pytest.mark.parametrize("s, t, c, q, r", [(2, 2, 3, 5, 7), (2, 3, 2, 4, 4), (8, 8, 2, 3, 5), (1, 2, 1, 3, 3)])
def test_depth_to_space_per_phase_and_as_one_copy_agree_with_the_layout(xp, monkeypatch, s, t, c, q, r):
    z = xp.arange(2 * s * t * c * q * r, dtype=xp.float64).reshape(2, s * t * c, q, r)
    got = []
    for most in (0, 64):   # one transposed copy; one copy per phase (on a GPU always the first)
        monkeypatch.setattr(P, "PHASE_COPIES_MAX", most)
        got.append(to_np(P.depth_to_space(z, s, t)))
    zn = to_np(z)
    for full in got:
        assert full.shape == (2, c, q * s, r * t)
        for a in range(s):
            for b in range(t):   # phase (a, b) of channel i is channel (a*t + b)*c + i
                np.testing.assert_array_equal(full[:, :, a::s, b::t], zn[:, (a * t + b) * c:(a * t + b + 1) * c])


@pytest.mark.parametrize("k, s, p, op", [(4, 2, 1, 0), (4, 2, 0, 1), (16, 8, 4, 0), (5, 2, 1, 1), (3, 2, 0, 1)])
def test_transposed_conv_grads_share_the_phases_of_gy(xp, rng, k, s, p, op):
    """conv_transpose2d_grads makes gy's phases once for both gradients: gx must be conv2d(gy, W)
    (the adjoint), and gW the loops' sum over the taps: x[n, i, h, w] reached output pixel
    (h*s + a - p, w*s + b - p) through W[i, o, a, b]; the same as the two gradients made apart."""
    x = rng.standard_normal((2, 2, 5, 4))
    W = rng.standard_normal((2, 3, k, k))
    out_hw = ((5 - 1) * s - 2 * p + k + op, (4 - 1) * s - 2 * p + k + op)   # op: output_padding
    gy = rng.standard_normal((2, 3) + out_hw)
    assert P.by_phases(k, k, (s, s), (1, 1))
    gx, gW = K.conv_transpose2d_grads(xp.asarray(x), xp.asarray(gy), xp.asarray(W), (s, s), (p, p))
    np.testing.assert_allclose(to_np(gx), naive.conv2d(gy, W, None, s, p), atol=1e-10, rtol=0)
    g = np.pad(gy, ((0, 0), (0, 0), (p, p), (p, p)))
    want = np.zeros_like(W)
    for a in range(k):
        for b in range(k):
            seen = g[:, :, a:a + s * 4 + 1:s, b:b + s * 3 + 1:s]   # (n, out_c, 5, 4)
            want[:, :, a, b] = np.einsum("nihw,nohw->io", x, seen)
    np.testing.assert_allclose(to_np(gW), want, atol=1e-9, rtol=0)
    apart = (K.conv_transpose2d_grad_input(xp.asarray(gy), xp.asarray(W), (s, s), (p, p)),
             K.conv_transpose2d_grad_weight(xp.asarray(x), xp.asarray(gy), k, k, (s, s), (p, p)))
    np.testing.assert_allclose(to_np(gx), to_np(apart[0]), atol=1e-12, rtol=0)
    np.testing.assert_allclose(to_np(gW), to_np(apart[1]), atol=1e-12, rtol=0)
    only_x, none_w = K.conv_transpose2d_grads(xp.asarray(x), xp.asarray(gy), xp.asarray(W), (s, s), (p, p),
                                              need_weight=False)
    assert none_w is None and np.allclose(to_np(only_x), to_np(gx))
