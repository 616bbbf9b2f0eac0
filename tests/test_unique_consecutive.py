"""minifcn.unique_consecutive and Tensor.unique_consecutive, checked against the loop version in
naive.py and against PyTorch (an exact op: equal arrays, no tolerance)."""
import numpy as np
import pytest

import minifcn
from minifcn import Tensor, naive
from oracle import to_np

CASES = [(np.array([1, 1, 3, 3, 3, 1, 2, 2]), None),        # 1 comes back: kept again
         (np.array([[2.0, 2.0], [np.nan, np.nan]]), None),  # NaN != NaN: a run each
         (np.array([0.0, -0.0, 1.0]), None),                # 0.0 == -0.0: one run
         (np.array(5.0), None),                              # 0-d: values (1,), inverse 0-d
         (np.array([True, True, False, True]), None),
         (np.zeros((0, 3)), None),
         (np.array([[1, 2], [1, 2], [0, 5], [1, 2]]), 0),   # rows: the last one a run again
         (np.array([[1, 1, 2, 1], [0, 0, 5, 0]]), 1),
         (np.array([[1, 1, 2, 1], [0, 0, 5, 0]]), -1),
         (np.arange(24).reshape(2, 3, 4) // 12, 0),
         (np.arange(24).reshape(2, 3, 4) % 2, 2),
         (np.array([[1.0, np.nan], [1.0, np.nan]]), 0),     # a slice holding a NaN: its own
         (np.zeros((0, 3)), 0)]


@pytest.mark.parametrize("x, dim", CASES, ids=range(len(CASES)))
def test_unique_consecutive_matches_the_loop_and_pytorch(xp, x, dim):
    values, inverse, counts = Tensor(xp.asarray(x)).unique_consecutive(return_inverse=True, return_counts=True,
                                                                       dim=dim)
    assert inverse.dtype == counts.dtype == np.int64 and values.dtype == x.dtype
    v, inv, c = to_np(values), to_np(inverse), to_np(counts)
    for ours, loop in zip((v, inv, c), naive.unique_consecutive(x, dim)):
        assert ours.shape == loop.shape
        np.testing.assert_array_equal(ours, loop)
    # the input rebuilt from the runs; the counts are the runs' lengths
    np.testing.assert_array_equal(v[inv] if dim is None else np.take(v, inv, axis=dim), x)
    np.testing.assert_array_equal(c, np.bincount(inv.reshape(-1), minlength=len(c)))
    torch = pytest.importorskip("torch")
    expected = torch.unique_consecutive(torch.from_numpy(np.array(x)), return_inverse=True, return_counts=True,
                                        dim=dim)
    for ours, theirs in zip((v, inv, c), expected):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours, to_np(theirs))


def test_unique_consecutive_returns_what_was_asked(xp):
    x = Tensor(xp.asarray(np.array([4, 4, 1, 4])))
    alone = minifcn.unique_consecutive(x)
    assert isinstance(alone, Tensor) and to_np(alone).tolist() == [4, 1, 4]
    values, counts = minifcn.unique_consecutive(x, return_counts=True)
    assert to_np(counts).tolist() == [2, 1, 1]
    values, inverse = x.unique_consecutive(return_inverse=True)
    assert to_np(inverse).tolist() == [0, 0, 1, 2]
    # unique sorts and merges what unique_consecutive keeps apart
    assert to_np(x.unique()).tolist() == [1, 4]


def test_unique_consecutive_refuses_what_pytorch_refuses():
    with pytest.raises(IndexError, match="unique_consecutive: dim=0 given, but the input has no dimensions"):
        minifcn.unique_consecutive(Tensor(np.array(5.0)), dim=0)
    with pytest.raises(ValueError, match="unique_consecutive: .* dimension of size 0 other than dim=0"):
        minifcn.unique_consecutive(Tensor(np.zeros((3, 0))), dim=0)
    with pytest.raises(IndexError):
        minifcn.unique_consecutive(Tensor(np.zeros((2, 3))), dim=2)


@pytest.mark.parametrize("op", ["unique", "unique_consecutive"])
@pytest.mark.parametrize("bad", ["no", None, 2])
def test_switches_must_be_bools_as_pytorchs(op, bad):
    torch = pytest.importorskip("torch")
    x = np.array([1, 1, 2])
    with pytest.raises(TypeError, match=f"{op}: return_inverse must be a bool"):
        getattr(minifcn, op)(Tensor(x), return_inverse=bad)
    with pytest.raises(TypeError):
        getattr(torch, op)(torch.tensor(x), return_inverse=bad)
