"""F.pad, F.avg_pool2d and F.adaptive_avg_pool2d four ways: the loop versions in naive.py, float64
finite differences, the adjoint identity (each is a linear map of x, and its backward must be the
transpose), and PyTorch's own ops; then their modules and their error messages."""
import re

import numpy as np
import pytest

import minifcn
import minifcn.functional as F
from minifcn import Tensor, naive, nn
from minifcn.kernels import pool as P
from minifcn.testing import gradcheck
from oracle import DTYPES, check_vs_torch, to_np


def _adjoint_holds(xp, rng, fn, shape):
    """<A x, v> == <x, A^T v> to 1e-10 in float64, A^T being fn's backward."""
    x = rng.standard_normal(shape)
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = fn(t)
    v = rng.standard_normal(y.shape)
    y.backward(xp.asarray(v))
    lhs, rhs = float((to_np(y) * v).sum()), float((x * to_np(t.grad)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)), (lhs, rhs)
    return True


# --------------------------------------------------------------------- padding
PAD_CASES = [   # (h, w), pad (left, right[, top, bottom]), mode
    ((4, 5), (1, 2), "constant"),
    ((4, 5), (1, 2, 3, 0), "constant"),
    ((4, 5), (-1, 2, 0, -2), "constant"),      # a negative amount crops
    ((3, 3), (2, 2, 2, 2), "reflect"),         # size - 1 on every side: the whole mirror, overlapping
    ((4, 5), (1, 3, 2, 0), "reflect"),
    ((5, 4), (-3, 2, 1, -1), "reflect"),       # the mirror on the right reads the cropped columns
    ((3, 4), (3, 1, 0, 2), "replicate"),
    ((4, 5), (-2, 4, 2, -3), "replicate"),
    ((1, 4), (2, 1), "replicate"),             # one row
    ((4, 5), (5, 2, 1, 4), "circular"),        # as much as the size: once round
    ((4, 5), (-1, 3, 2, -2), "circular"),      # wraps round what is left after the crop
]


@pytest.mark.parametrize("hw, pad, mode", PAD_CASES)
def test_pad_matches_the_loops(xp, rng, hw, pad, mode):
    x = rng.standard_normal((2, 3) + hw)
    np.testing.assert_array_equal(to_np(F.pad(xp.asarray(x), pad, mode)), naive.pad(x, pad, mode))
    if mode == "constant":
        np.testing.assert_array_equal(to_np(F.pad(xp.asarray(x), pad, value=-1.5)),
                                      naive.pad(x, pad, value=-1.5))


@pytest.mark.parametrize("hw, pad, mode", PAD_CASES)
def test_pad_backward_is_its_transpose(xp, rng, hw, pad, mode):
    assert _adjoint_holds(xp, rng, lambda t: F.pad(t, pad, mode), (2, 3) + hw)
    assert gradcheck(lambda t: F.pad(t, pad, mode), [xp.asarray(rng.standard_normal((1, 2) + hw))])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw, pad, mode", PAD_CASES)
def test_pad_matches_pytorch(rng, hw, pad, mode, dtype):
    torch = pytest.importorskip("torch")
    # PyTorch's modes other than constant take 4 amounts for a 4-D input; ours take 2 as well
    pad4 = tuple(pad) + (0, 0) * (len(pad) == 2)
    check_vs_torch(torch, lambda t: F.pad(t, pad, mode),
                   lambda t: torch.nn.functional.pad(t, pad4, mode), [rng.standard_normal((2, 3) + hw)],
                   dtype, rng)


@pytest.mark.parametrize("ours, theirs, args", [
    ("ZeroPad2d", "ZeroPad2d", (2,)),
    ("ZeroPad2d", "ZeroPad2d", ((1, 0, -1, 2),)),
    ("ConstantPad2d", "ConstantPad2d", ((0, 1, 2, 3), 3.5)),
    ("ReflectionPad2d", "ReflectionPad2d", (2,)),
    ("ReflectionPad2d", "ReflectionPad2d", ((3, 0, 1, 2),)),
    ("ReplicationPad2d", "ReplicationPad2d", ((4, 1, 0, 3),)),
    ("CircularPad2d", "CircularPad2d", ((1, 4, 3, 0),)),
])
def test_pad_modules_are_pytorch_s(rng, ours, theirs, args):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 4, 5))
    layer, theirs_layer = getattr(nn, ours)(*args), getattr(torch.nn, theirs)(*args)
    np.testing.assert_array_equal(to_np(layer(Tensor(x))), theirs_layer(torch.from_numpy(x)).numpy())
    assert repr(layer) == repr(theirs_layer)


def test_pad_keeps_float32_and_gives_a_new_array(rng):
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    y = F.pad(x, (1, 1, 1, 1), "reflect")
    assert y.dtype == np.float32 and y.shape == (1, 2, 5, 5)
    same = F.pad(x, (0, 0, 0, 0), "reflect")     # nothing to pad: a copy, not x itself
    np.testing.assert_array_equal(same.numpy(), x)
    assert not np.shares_memory(same.numpy(), x)


@pytest.mark.parametrize("pad, kw, error, message", [
    ((1, 2, 3), {}, ValueError, r"pad must hold 2 or 4 ints \(left, right\[, top, bottom\]\), got 3: \(1, 2, 3\)"),
    ((1, 1, 1, 1, 1, 1), {}, ValueError, "pad must hold 2 or 4 ints"),
    (1, {}, TypeError, r"pad must be a tuple of 2 or 4 ints \(left, right\[, top, bottom\]\), got 1"),
    ((1.5, 1), {}, TypeError, r"pad must hold ints, got 1.5 in \(1.5, 1\)"),
    ((True, 1), {}, TypeError, r"pad must hold ints, got True"),
    ((1, 1), dict(mode="wrap"), ValueError,
     "mode must be one of 'constant', 'reflect', 'replicate', 'circular', got 'wrap'"),
    ((0, 5), dict(mode="reflect"), ValueError, "reflect padding 5 must be less than the input's width 5"),
    ((0, 0, 4, 0), dict(mode="reflect"), ValueError, "reflect padding 4 must be less than the input's height 4"),
    ((6, 0), dict(mode="circular"), ValueError, "circular padding 6 is more than the width 5 it wraps round"),
    ((-2, 4), dict(mode="circular"), ValueError, "circular padding 4 is more than the width 3"),
    ((-6, 1), {}, ValueError, r"padding \(-6, 1\) crops more than the input's width of 5"),
    ((0, 0, -3, -2), dict(mode="replicate"), ValueError,
     r"padding \(-3, -2\) of the input's height 4 leaves -1 values"),
    ((1, 1), dict(mode="reflect", value=1.0), ValueError, "mode 'reflect' takes no value, got value=1.0"),
    ((1, 1), dict(value="1"), TypeError, "value must be a number, got '1'"),
])
def test_pad_errors_name_the_values(xp, pad, kw, error, message):
    with pytest.raises(error, match="pad: " + message):
        F.pad(xp.zeros((1, 1, 4, 5)), pad, **kw)


def test_pad_takes_value_zero_in_every_mode_as_pytorch(xp):
    # PyTorch refuses only a non-zero value in the modes that copy values; generic code passes 0
    x = xp.asarray(np.arange(20.0).reshape(1, 1, 4, 5))
    for mode in ("reflect", "replicate", "circular"):
        np.testing.assert_array_equal(to_np(F.pad(x, (1, 1, 1, 1), mode, value=0)),
                                      to_np(F.pad(x, (1, 1, 1, 1), mode)))


def test_pad_modules_check_their_padding_when_built():
    with pytest.raises(ValueError, match=r"ReflectionPad2d: pad must hold 2 or 4 ints .* got 3"):
        nn.ReflectionPad2d((1, 2, 3))
    with pytest.raises(TypeError, match="ZeroPad2d: pad must be a tuple of 2 or 4 ints"):
        nn.ZeroPad2d(1.5)
    with pytest.raises(ValueError, match="reflect padding 3 must be less than the input's height 3"):
        nn.ReflectionPad2d(3)(np.zeros((1, 1, 3, 3)))   # the input's size: known at the call


# --------------------------------------------------------------------- average pooling
# (n, c, h, w, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    (2, 3, 6, 6, 2, 2, 0, False, True, None),
    (1, 2, 7, 5, 2, 2, 0, True, True, None),        # odd sizes, ceil: the last windows hold fewer
    (1, 2, 7, 8, 3, 2, 1, False, True, None),       # overlapping windows, the padding counted
    (1, 2, 7, 8, 3, 2, 1, False, False, None),      # ... and not counted
    (2, 2, 8, 6, 3, 2, 1, True, True, None),        # a ceil window past the padding: counted up to it
    (2, 2, 8, 6, 3, 2, 1, True, False, None),
    (1, 2, 10, 9, 4, 3, 2, True, True, None),       # ceil: a window starting in the padding is dropped
    (1, 2, 8, 7, 2, 3, 0, True, True, None),        # stride > kernel: values no window reads
    (1, 1, 5, 6, (3, 2), (1, 2), (1, 1), False, True, None),
    (1, 2, 6, 5, 3, 2, 1, True, False, 4),          # divisor_override
    (1, 1, 2, 3, 3, 2, 1, True, False, -2),         # a window wider than the input
]


def _avg(x, case):
    return F.avg_pool2d(x, *case[4:])


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_matches_the_loops(xp, rng, case):
    x = rng.standard_normal(case[:4])
    np.testing.assert_allclose(to_np(_avg(xp.asarray(x), case)), naive.avg_pool2d(x, *case[4:]),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_backward_is_its_transpose(xp, rng, case):
    assert _adjoint_holds(xp, rng, lambda t: _avg(t, case), case[:4])
    assert gradcheck(lambda t: _avg(t, case), [xp.asarray(rng.standard_normal(case[:4]))], max_elements=120)


def test_avg_pool2d_gradcheck_random_directions(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 13, 11)))
    assert gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x],
                     max_elements=64, directions=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_matches_pytorch(rng, case, dtype):
    torch = pytest.importorskip("torch")
    check_vs_torch(torch, lambda t: _avg(t, case), lambda t: torch.nn.functional.avg_pool2d(t, *case[4:]),
                   [rng.standard_normal(case[:4])], dtype, rng)


def test_avg_pool2d_sizes_and_counts_follow_pytorch_over_many_shapes(rng):
    torch = pytest.importorskip("torch")
    checked = 0
    for h in (1, 2, 5, 8, 9):
        for k, s, p in ((1, 1, 0), (2, 2, 0), (2, 1, 1), (3, 2, 1), (3, 3, 1), (4, 3, 2), (5, 2, 2)):
            for ceil in (False, True):
                if (h + 2 * p - k) // s + 1 < 1 and not ceil:
                    continue
                for include in (False, True):
                    x = rng.standard_normal((1, 1, h, h + 1))
                    try:
                        want = torch.nn.functional.avg_pool2d(torch.from_numpy(x), k, s, p, ceil, include)
                    except RuntimeError:    # no window: refused by both
                        with pytest.raises(ValueError, match="larger than the padded input"):
                            F.avg_pool2d(x, k, s, p, ceil, include)
                        continue
                    np.testing.assert_allclose(F.avg_pool2d(x, k, s, p, ceil, include).numpy(),
                                               want.numpy(), rtol=1e-12, atol=1e-12)
                    checked += 1
    assert checked > 100


def test_a_ceil_window_counts_the_padding_only_up_to_its_end():
    # 8 values, k 3, s 2, p 1, ceil: the last window starts at 7 and reaches 9, past the
    # padded input's end, 9; PyTorch divides its one value (and the padding's zero) by 2
    x = np.ones((1, 1, 1, 8))
    y = F.avg_pool2d(x, (1, 3), (1, 2), (0, 1), ceil_mode=True).numpy().ravel()
    np.testing.assert_allclose(y, [2 / 3, 1, 1, 1, 1 / 2])
    assert list(P.window_counts(8, 3, 2, 1, 5)) == [3, 3, 3, 3, 2]
    assert list(P.window_counts(8, 3, 2, 1, 5, count_include_pad=False)) == [2, 3, 3, 3, 1]


def test_avg_pool_module_float32_and_no_grad(rng):
    x = rng.standard_normal((1, 2, 7, 7)).astype(np.float32)
    layer = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    assert repr(layer) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    with minifcn.no_grad():
        y = layer(Tensor(x))
    assert y.dtype == np.float32 and y.shape == (1, 2, 4, 4)
    np.testing.assert_allclose(y.numpy(), naive.avg_pool2d(x.astype(np.float64), 3, 2, 1, True, False),
                               rtol=1e-6)
    torch = pytest.importorskip("torch")
    theirs = torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(y.numpy(), theirs(torch.from_numpy(x)).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("args, kw, error, message", [
    ((3, 1, 2), {}, ValueError, "padding (2, 2) must be at most half the kernel (3, 3)"),
    ((7,), {}, ValueError, "kernel (7, 7) is larger than the padded input 5x5"),
    ((2, 0), {}, ValueError, "stride must be >= 1, got 0"),
    ((2.5,), {}, TypeError, "kernel_size must be an int or a pair of ints, got 2.5"),
    ((2,), dict(divisor_override=0), ValueError, "divisor_override must be a non-zero int or None, got 0"),
    ((2,), dict(divisor_override=1.5), ValueError, "divisor_override must be a non-zero int or None, got 1.5"),
    ((2,), dict(ceil_mode="yes"), TypeError, "ceil_mode must be a bool, got 'yes'"),
    ((2,), dict(count_include_pad=None), TypeError, "count_include_pad must be a bool, got None"),
])
def test_avg_pool2d_errors_name_the_values(xp, args, kw, error, message):
    with pytest.raises(error, match="avg_pool2d: " + re.escape(message)):
        F.avg_pool2d(xp.zeros((1, 1, 5, 5)), *args, **kw)


# --------------------------------------------------------------------- adaptive average pooling
ADAPTIVE_CASES = [   # (h, w), output_size
    ((7, 5), (3, 2)),       # windows overlapping by a value
    ((4, 6), 1),            # global average pooling
    ((6, 4), (6, 4)),       # the identity
    ((3, 4), (5, 7)),       # more outputs than inputs: windows repeat
    ((6, 9), (None, 4)),    # None keeps the height
]


def _out_hw(hw, size):
    pair = size if isinstance(size, tuple) else (size, size)
    return tuple(n if o is None else o for n, o in zip(hw, pair))


@pytest.mark.parametrize("hw, size", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d_matches_the_loops_and_is_linear(xp, rng, hw, size):
    x = rng.standard_normal((2, 3) + hw)
    y = F.adaptive_avg_pool2d(xp.asarray(x), size)
    np.testing.assert_allclose(to_np(y), naive.adaptive_avg_pool2d(x, *_out_hw(hw, size)), rtol=1e-12, atol=1e-12)
    assert _adjoint_holds(xp, rng, lambda t: F.adaptive_avg_pool2d(t, size), (2, 3) + hw)
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, size), [xp.asarray(rng.standard_normal((1, 2) + hw))])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw, size", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d_matches_pytorch(rng, hw, size, dtype):
    torch = pytest.importorskip("torch")
    check_vs_torch(torch, lambda t: nn.AdaptiveAvgPool2d(size)(t),
                   lambda t: torch.nn.AdaptiveAvgPool2d(size)(t), [rng.standard_normal((2, 3) + hw)], dtype, rng)


@pytest.mark.parametrize("size, error, message", [
    (0, ValueError, "output_size must be >= 1, got 0"),
    ((3, 0), ValueError, "output_size must be >= 1, got (3, 0)"),
    ((2, 3, 4), ValueError, "output_size must be an int or a pair of ints, got (2, 3, 4)"),
    (2.5, TypeError, "output_size must be an int or a pair of ints, got 2.5"),
])
def test_adaptive_avg_pool2d_errors_name_the_values(xp, size, error, message):
    with pytest.raises(error, match="adaptive_avg_pool2d: " + re.escape(message)):
        F.adaptive_avg_pool2d(xp.zeros((1, 1, 5, 5)), size)


def test_pooling_modules_keep_the_kernel_as_their_default_stride():
    torch = pytest.importorskip("torch")
    assert nn.AvgPool2d(3).stride == 3 and nn.MaxPool2d(2).stride == 2   # had been None
    assert repr(nn.AvgPool2d(3)) == repr(torch.nn.AvgPool2d(3))
