"""Bad input gets a ValueError/TypeError that names the offending value and what was expected."""
import re

import numpy as np
import pytest

import minifcn.functional as F
from minifcn import Tensor, backend, nn
from oracle import to_np


def _x(xp, shape=(1, 3, 5, 5), dtype=np.float64):
    return xp.zeros(shape, dtype=dtype)


# --------------------------------------------------------------------- convolution
def test_conv_channel_mismatch(xp):
    with pytest.raises(ValueError, match=r"input has 3 channels but weight \(4, 2, 3, 3\) expects 2"):
        F.conv2d(_x(xp), xp.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"input has 3 channels but weight \(2, 4, 3, 3\) expects 2"):
        F.conv_transpose2d(_x(xp), xp.zeros((2, 4, 3, 3)))


def test_conv_kernel_larger_than_padded_input(xp):
    with pytest.raises(ValueError, match=r"kernel 9x9 \(dilated\) is larger than the padded input 7x7"):
        F.conv2d(_x(xp), xp.zeros((2, 3, 5, 5)), padding=1, dilation=2)
    F.conv2d(_x(xp), xp.zeros((2, 3, 4, 4)), padding=1, dilation=2)  # 7x7 on 7x7: one output
    with pytest.raises(ValueError, match=r"kernel 6x6 .* larger than the padded input 5x5"):
        F.conv2d(_x(xp), xp.zeros((2, 3, 6, 6)))
    F.conv2d(_x(xp), xp.zeros((2, 3, 6, 6)), padding=1)  # fits once padded: no error


@pytest.mark.parametrize("stride", [0, -1, (1, 0)])
def test_non_positive_stride(xp, stride):
    with pytest.raises(ValueError, match=re.escape(f"conv2d: stride must be >= 1, got {stride!r}")):
        F.conv2d(_x(xp), xp.zeros((2, 3, 3, 3)), stride=stride)
    with pytest.raises(ValueError, match=r"conv_transpose2d: stride must be >= 1"):
        F.conv_transpose2d(_x(xp), xp.zeros((3, 2, 3, 3)), stride=stride)
    with pytest.raises(ValueError, match=r"max_pool2d: stride must be >= 1"):
        F.max_pool2d(_x(xp), 2, stride=stride)


def test_negative_padding_and_bad_pairs(xp):
    with pytest.raises(ValueError, match=r"padding must be >= 0, got -1"):
        F.conv2d(_x(xp), xp.zeros((2, 3, 3, 3)), padding=-1)
    with pytest.raises(ValueError, match=r"conv2d: stride must be an int or a pair of ints, got \(1, 2, 3\)"):
        F.conv2d(_x(xp), xp.zeros((2, 3, 3, 3)), stride=(1, 2, 3))


@pytest.mark.parametrize("stride", [1.5, 2.0, (1, 0.5)])
def test_fractional_strides_are_refused_not_truncated(xp, stride):
    # int(1.5) would run the convolution with stride 1 and say nothing
    with pytest.raises(TypeError, match=re.escape(f"conv2d: stride must be an int or a pair of ints, got {stride!r}")):
        F.conv2d(_x(xp), xp.zeros((2, 3, 3, 3)), stride=stride)
    with pytest.raises(TypeError, match=r"max_pool2d: kernel_size must be an int or a pair of ints"):
        F.max_pool2d(_x(xp), stride)


def test_an_array_given_as_a_crop_offset_is_named_by_its_shape(xp):
    x = _x(xp)
    with pytest.raises(TypeError, match=re.escape(f"crop: offset must be an int or a pair of ints, got a "
                                                  f"{type(x).__name__} of shape {tuple(x.shape)}")):
        F.crop(x, x, (1, 1))


def test_batch_norm_refuses_to_train_on_one_value_per_channel(xp):
    # the batch variance of one value is 0 and the unbiased one undefined (PyTorch refuses too)
    rm, rv, g, b = xp.zeros(3), xp.ones(3), xp.ones(3), xp.zeros(3)
    with pytest.raises(ValueError, match=re.escape("batch_norm: training needs more than one value "
                                                   "per channel, got input of shape (1, 3, 1, 1)")):
        F.batch_norm(xp.ones((1, 3, 1, 1)), rm, rv, g, b, training=True)
    assert F.batch_norm(xp.ones((2, 3, 1, 1)), rm, rv, g, b, training=True).shape == (2, 3, 1, 1)
    assert F.batch_norm(xp.ones((1, 3, 1, 1)), rm, rv, g, b, training=False).shape == (1, 3, 1, 1)


@pytest.mark.parametrize("op,stride", [(2, 2), (3, 2), ((0, 2), (2, 2))])
def test_output_padding_must_be_below_stride(xp, op, stride):
    with pytest.raises(ValueError, match=r"output_padding .* must be smaller than the stride"):
        F.conv_transpose2d(_x(xp), xp.zeros((3, 2, 3, 3)), stride=stride, output_padding=op)


def test_bias_shape(xp):
    with pytest.raises(ValueError, match=r"bias shape \(3,\) should be \(2,\)"):
        F.conv2d(_x(xp), xp.zeros((2, 3, 3, 3)), xp.zeros(3))


def test_dtype_errors(xp):
    with pytest.raises(TypeError, match=r"input must be float32 or float64, got int64"):
        F.conv2d(xp.zeros((1, 3, 5, 5), dtype=xp.int64), xp.zeros((2, 3, 3, 3)))
    with pytest.raises(TypeError, match=r"share one dtype, got input float32, weight float64 "
                                        r"\(cast the input, e.g. x.astype\(np.float64\), or the "
                                        r"model, model.astype\(np.float32\), if a weight was set in another\)"):
        F.conv2d(_x(xp, dtype=np.float32), xp.zeros((2, 3, 3, 3)))
    with pytest.raises(TypeError, match=r"conv_transpose2d: .* got input float64, weight float64, bias float32"):
        F.conv_transpose2d(_x(xp), xp.zeros((3, 2, 2, 2)), xp.zeros(2, dtype=np.float32), stride=2)
    with pytest.raises(TypeError, match=r"max_pool2d: input must be float32 or float64, got int32"):
        F.max_pool2d(xp.zeros((1, 1, 4, 4), dtype=xp.int32), 2)


def test_not_4d(xp):
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-D \(n, c, h, w\), got shape \(3, 5, 5\)"):
        F.conv2d(xp.zeros((3, 5, 5)), xp.zeros((2, 3, 3, 3)))


# --------------------------------------------------------------------- pooling
def test_pool_kernel_larger_than_input(xp):
    with pytest.raises(ValueError, match=r"kernel \(7, 7\) is larger than the padded input 5x5"):
        F.max_pool2d(_x(xp), 7)


def test_pool_padding_over_half_kernel(xp):
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel \(3, 3\)"):
        F.max_pool2d(_x(xp), 3, padding=2)


def test_unpool_indices_wrong_shape(xp):
    y, idx = F.max_pool2d(_x(xp, (1, 3, 6, 6)), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"indices shape \(1, 3, 2, 3\) must equal input shape \(1, 3, 3, 3\)"):
        F.max_unpool2d(y, idx.data[:, :, :2], 2)


def test_unpool_indices_out_of_range(xp):
    y, idx = F.max_pool2d(_x(xp, (1, 1, 6, 6)), 2, return_indices=True)
    bad = idx.data.copy()
    bad[0, 0, 0, 0] = 36
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 36\) for an output of 6x6, got values in \[\d+, 36\]"):
        F.max_unpool2d(y, bad, 2)
    bad[0, 0, 0, 0] = -1
    with pytest.raises(ValueError, match=r"got values in \[-1, "):
        F.max_unpool2d(y, bad, 2)
    for dtype in (xp.int32, xp.int16):   # the one-pass check reads them unsigned, at their width
        with pytest.raises(ValueError, match=r"got values in \[-1, "):
            F.max_unpool2d(y, bad.astype(dtype), 2)
    assert F.max_unpool2d(y, idx.data.astype(xp.uint16), 2).shape == (1, 1, 6, 6)
    # indices from a 7x7 input cannot go back into a 5x5 output: no 5x5 map pools to 4x4
    y7, idx7 = F.max_pool2d(xp.asarray(np.arange(49.0).reshape(1, 1, 7, 7)), 2, ceil_mode=True,
                            return_indices=True)
    with pytest.raises(ValueError, match=r"output_size height 5 is not one that pools to 4x4: expected 7 to 9"):
        F.max_unpool2d(y7, idx7, 2, output_size=(5, 5))
    with pytest.raises(TypeError, match=r"indices must be integers, got float64"):
        F.max_unpool2d(y, idx.data.astype(xp.float64), 2)


# --------------------------------------------------------------------- loss
@pytest.mark.parametrize("label", [-1, 4, 254, 256])
def test_labels_outside_range_raise_never_wrap(xp, label):
    logits = xp.zeros((1, 4, 2, 2))
    t = np.array([[[0, 1], [2, 255]]])
    t[0, 0, 0] = label
    with pytest.raises(ValueError, match=rf"label {label} is outside \[0, 4\) and is not the ignore index 255"):
        F.cross_entropy(logits, xp.asarray(t))


def test_cross_entropy_target_errors(xp):
    logits = xp.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"\(2, 3, 4, 4\) does not match .* soft labels\) are not taken by nll_loss"):
        F.nll_loss(logits, xp.zeros((2, 3, 4, 4)))   # class probabilities: cross_entropy's alone
    with pytest.raises(ValueError, match=r"target shape \(2, 4, 5\) does not match logits \(2, 3, 4, 4\) .*\(2, 4, 4\)\)\.$"):
        F.cross_entropy(logits, xp.zeros((2, 4, 5), dtype=xp.int64))
    with pytest.raises(TypeError, match=r"target must hold integer class ids, got float64"):
        F.cross_entropy(logits, xp.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(logits, xp.zeros((2, 4, 4), dtype=xp.int64), reduction="avg")
    for eps in (1.5, "0.1", None, True):   # a string had failed a comparison, True read as 1.0
        with pytest.raises(ValueError, match=rf"label_smoothing must be a number in \[0, 1\], got {eps!r}"):
            F.cross_entropy(logits, xp.zeros((2, 4, 4), dtype=xp.int64), label_smoothing=eps)
    with pytest.raises(TypeError, match="positional"):   # PyTorch's 4th is size_average
        F.cross_entropy(logits, xp.zeros((2, 4, 4), dtype=xp.int64), None, False)
    with pytest.raises(ValueError, match=r"weight shape \(4,\) should be \(3,\)"):
        F.cross_entropy(logits, xp.zeros((2, 4, 4), dtype=xp.int64), weight=xp.ones(4))


@pytest.mark.parametrize("label", [-1, 4, 254, 256])
def test_nll_loss_labels_outside_range_raise_never_wrap(xp, label):
    t = np.array([[[0, 1], [2, 255]]])
    t[0, 1, 1] = label
    with pytest.raises(ValueError, match=rf"nll_loss: label {label} is outside \[0, 4\) and is not the ignore index 255"):
        F.nll_loss(xp.zeros((1, 4, 2, 2)), xp.asarray(t))
    with pytest.raises(ValueError, match=rf"nll_loss: label {label} is outside"):
        nn.NLLLoss()(xp.zeros((1, 4, 2, 2)), xp.asarray(t))


def test_nll_loss_target_errors(xp):
    x = xp.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"nll_loss: target shape \(2, 4, 5\) does not match input \(2, 3, 4, 4\)"):
        F.nll_loss(x, xp.zeros((2, 4, 5), dtype=xp.int64))
    with pytest.raises(TypeError, match=r"nll_loss: target must hold integer class ids, got float64"):
        F.nll_loss(x, xp.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"nll_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.nll_loss(x, xp.zeros((2, 4, 4), dtype=xp.int64), reduction="avg")
    with pytest.raises(ValueError, match=r"nll_loss: weight shape \(4,\) should be \(3,\)"):
        F.nll_loss(x, xp.zeros((2, 4, 4), dtype=xp.int64), weight=xp.ones(4))
    with pytest.raises(TypeError, match="positional"):   # PyTorch's 4th is size_average
        F.nll_loss(x, xp.zeros((2, 4, 4), dtype=xp.int64), None, False)
    with pytest.raises(ValueError, match=r"NLLLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.NLLLoss(reduction="avg")   # said when built
    with pytest.raises(ValueError, match=r"NLLLoss: weight must hold one value a class, got shape \(2, 2\)"):
        nn.NLLLoss(weight=np.ones((2, 2)))


# --------------------------------------------------------------------- others
def test_crop_not_fitting(xp):
    with pytest.raises(ValueError, match=r"a 4x4 window at offset \(2, 2\) does not fit in the 5x5 input"):
        F.crop(_x(xp), 2, (4, 4))
    with pytest.raises(ValueError, match=r"offset must be >= 0"):
        F.crop(_x(xp), -1, (2, 2))


def test_batch_norm_shapes_and_eval_needs_stats(xp):
    with pytest.raises(ValueError, match=r"batch_norm: weight shape \(2,\) should be \(3,\) for 3 channels"):
        F.batch_norm(_x(xp), None, None, xp.ones(2), xp.zeros(3), training=True)
    with pytest.raises(ValueError, match=r"eval mode needs running_mean and running_var"):
        F.batch_norm(_x(xp), None, None, xp.ones(3), xp.zeros(3), training=False)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_p_range(xp, p):
    with pytest.raises(ValueError, match=rf"dropout: p must be a number in \[0, 1\], got {p}"):
        F.dropout(_x(xp), p)
    with pytest.raises(ValueError, match=rf"Dropout: p must be a number in \[0, 1\], got {p}"):
        nn.Dropout(p)   # had been taken, to fail at the first training step


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", True, None])
def test_dropout2d_p_range(xp, p):
    with pytest.raises(ValueError, match=rf"dropout2d: p must be a number in \[0, 1\], got {re.escape(repr(p))}"):
        F.dropout2d(_x(xp), p)
    with pytest.raises(ValueError, match=rf"Dropout2d: p must be a number in \[0, 1\], got {re.escape(repr(p))}"):
        nn.Dropout2d(p)   # said when built, not at the first training step


def test_dropout2d_input_and_flags(xp):
    with pytest.raises(ValueError, match=r"dropout2d: input must be 4-D \(n, c, h, w\), got shape \(3, 5, 5\)"):
        F.dropout2d(xp.zeros((3, 5, 5)), 0.5)
    with pytest.raises(TypeError, match="dropout2d: input must be float32 or float64, got float16"):
        F.dropout2d(xp.zeros((1, 3, 5, 5), dtype=xp.float16), 0.5)
    with pytest.raises(TypeError, match="dropout2d: training must be a bool, got 'no'"):
        F.dropout2d(_x(xp), 0.5, training="no")
    with pytest.raises(TypeError, match="Dropout2d: inplace must be a bool, got 'yes'"):
        nn.Dropout2d(0.5, "yes")


def test_dropout_of_everything_is_zeros_as_in_pytorch(xp):
    x = Tensor(_x(xp) + 1, requires_grad=True)   # ones (p = 1 had been refused)
    y = F.dropout(x, 1.0)
    assert not to_np(y).any()
    y.sum().backward()
    assert not to_np(x.grad).any()


def test_linear_shape_mismatch(xp):
    with pytest.raises(ValueError, match=r"input \(2, 3\) and weight \(4, 5\) do not match"):
        F.linear(xp.zeros((2, 3)), xp.zeros((4, 5)))


# --------------------------------------------------------------------- state dicts
def _net():
    return nn.Sequential(conv1_1=nn.Conv2d(3, 4, 3), bn=nn.BatchNorm2d(4))


def test_load_state_dict_wrong_shape_names_layer_and_shapes():
    state = _net().state_dict()
    state["conv1_1.weight"] = np.zeros((4, 3, 5, 5), dtype=np.float32)
    with pytest.raises(ValueError, match=r"layer 'conv1_1.weight' expects shape \(4, 3, 3, 3\) "
                                         r"but the state has \(4, 3, 5, 5\)"):
        _net().load_state_dict(state)
    state = _net().state_dict()
    state["bn.running_var"] = np.ones(5, dtype=np.float32)
    with pytest.raises(ValueError, match=r"buffer 'bn.running_var' expects shape \(4,\) but the state has \(5,\)"):
        _net().load_state_dict(state)


def test_load_state_dict_missing_and_unexpected_keys():
    state = _net().state_dict()
    del state["conv1_1.bias"]
    state["fc6.weight"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys \['conv1_1.bias'\], unexpected keys \['fc6.weight'\]"):
        _net().load_state_dict(state)


def test_yes_no_arguments_are_bools(xp):
    # bool("False") is True: a string had read as yes
    x = xp.ones((1, 1, 4, 4))
    with pytest.raises(TypeError, match="max_pool2d: ceil_mode must be a bool, got 'False'"):
        F.max_pool2d(x, 2, ceil_mode="False")
    with pytest.raises(TypeError, match="dropout: training must be a bool, got 'no'"):
        F.dropout(x, 0.5, training="no")
    with pytest.raises(TypeError, match="batch_norm: training must be a bool, got 'no'"):
        F.batch_norm(x, xp.zeros(1), xp.ones(1), xp.ones(1), xp.zeros(1), training="no")
    with pytest.raises(ValueError, match=r"dropout: p must be a number in \[0, 1\], got '0.5'"):
        F.dropout(x, "0.5")
    assert F.max_pool2d(x, 2, ceil_mode=np.True_).shape == (1, 1, 2, 2)


def test_a_convolution_of_nothing_is_refused(xp):
    # padding had made a map of the bias out of an image of 0 rows, and a 0x3 kernel failed to
    # reshape; a batch of 0 images is still fine
    w = xp.ones((4, 3, 3, 3))
    for op in (F.conv2d, lambda x, w, padding: F.conv_transpose2d(x, w.transpose(1, 0, 2, 3), padding=padding)):
        with pytest.raises(ValueError, match="at least one row, column and channel"):
            op(xp.ones((1, 3, 0, 5)), w, padding=2)
    with pytest.raises(ValueError, match="at least one row, column and channel"):
        F.conv2d(xp.ones((1, 3, 5, 5)), xp.ones((4, 3, 0, 3)))
    assert F.conv2d(xp.ones((0, 3, 5, 5)), w, padding=1).shape == (0, 4, 5, 5)


@pytest.mark.parametrize("model", ["fcn8s", "segnet", "segnet-basic", "bayesian-segnet"])
def test_a_batch_of_no_images_runs_forward_and_backward(xp, model):
    # the convolutions' backward had crashed on a batch of 0 (and the forward on the GPU's
    # shifted path); pooling's NaN check read the minimum of no values
    from minifcn.models import build_model
    net = build_model(model, num_classes=3, width=1 / 32)
    if xp is not np:
        net.to("cuda")
    y = net(Tensor(xp.zeros((0, 3, 48, 48), dtype=xp.float32)))
    assert y.shape == (0, 3, 48, 48)
    F.cross_entropy(y, xp.zeros((0, 48, 48), dtype=xp.int64), reduction="sum").backward()
    assert all(p.grad.shape == p.shape and not to_np(p.grad).any() for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("transposed", [False, True])
def test_the_gradients_of_no_images_have_their_inputs_shapes(xp, transposed):
    x = Tensor(xp.zeros((0, 2, 3, 3)), requires_grad=True)
    W = Tensor(xp.ones((2, 5, 4, 4) if transposed else (5, 2, 3, 3)), requires_grad=True)
    b = Tensor(xp.ones(5), requires_grad=True)   # out_c 5, in_c 2: a bias of in_c had passed
    y = (F.conv_transpose2d(x, W, b, stride=2) if transposed else F.conv2d(x, W, b, padding=1))
    y.backward(xp.zeros(y.shape))
    assert (x.grad.shape, W.grad.shape, b.grad.shape) == (x.shape, W.shape, (5,))


def test_a_gradient_of_the_wrong_shape_is_named():
    """A Function whose backward gives a gradient of another shape than its input is a bug,
    caught where it happens (PyTorch checks it too), not three layers later or never."""
    from minifcn.autograd import Function

    class Bad(Function):
        def forward(self, a):
            return a * 2

        def backward(self, gy):
            return gy[:1]

    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward returned a gradient of shape \(1,\) for an input of shape \(3,\)"):
        Bad()(x).sum().backward()


def test_siblings_check_as_their_twins(xp):
    # checks added to one place and not to its twin: F.batch_norm's momentum (nn.BatchNorm2d's
    # was), max_pool2d's return_indices (ceil_mode's was); NumPy numbers taken where Python's are
    x = xp.ones((2, 2, 3, 3))
    for bad in (5.0, None, -1):
        with pytest.raises(ValueError, match="batch_norm: momentum must be a number in"):
            F.batch_norm(x, xp.zeros(2), xp.ones(2), None, None, training=True, momentum=bad)
    with pytest.raises(TypeError, match="return_indices must be a bool, got 'False'"):
        F.max_pool2d(x, 2, return_indices="False")
    assert nn.BatchNorm2d(2, momentum=np.float32(0.1)).momentum == np.float32(0.1)
    assert F.dropout(x, np.int64(0)) is not None
    bn = nn.BatchNorm2d(2)
    with pytest.raises(TypeError, match="cannot assign float as buffer 'running_mean'"):
        bn.running_mean = 3.0   # had stayed in the state dict, where loading it back failed


def test_batch_norm_module_flags_are_bools():
    # bool("no") is True: a string had read as yes
    for name in ("affine", "track_running_stats", "bias"):
        with pytest.raises(TypeError, match=f"BatchNorm2d: {name} must be a bool, got 'no'"):
            nn.BatchNorm2d(2, **{name: "no"})
    with pytest.raises(ValueError, match=r"BatchNorm2d: momentum must be a number in \[0, 1\] or None, got 5.0"):
        nn.BatchNorm2d(2, momentum=5.0)


def test_a_device_is_named_not_guessed():
    # to(0) had meant the default device; it is now PyTorch's cuda:0 (test_backend.py), and
    # without a GPU that is said, not taken for the CPU
    if not backend.gpu_available():
        with pytest.raises(ValueError, match="device 'cuda:0' asked for, but no CUDA GPU is usable"):
            nn.Conv2d(1, 1, 1).to(0)
