"""Transforms: conventions and their inverses, crop padding, flip, scale, determinism."""
import numpy as np
import pytest

from minifcn.data.transforms import (CAFFE_MEAN_BGR, Compose, Normalize, RandomCrop,
                                     RandomHorizontalFlip, RandomScale, ToCHW, build_transform,
                                     mean_rgb_uint8)


def _pair(h=6, w=7, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
            rng.integers(0, 4, (h, w)).astype(np.uint8))


@pytest.mark.parametrize("conv", ["caffe", "torchvision", "unit", "none"])
def test_normalize_inverse_round_trips(conv):
    img, lab = _pair()
    x, y = Normalize(conv)(img, lab)
    assert x.dtype == np.float32 and y is lab
    np.testing.assert_array_equal(Normalize(conv).inverse(x), img)
    np.testing.assert_array_equal(Normalize(conv).inverse(x.transpose(2, 0, 1)), img)


def test_conventions_values():
    img = np.array([[[10, 20, 30]]], np.uint8)
    x, _ = Normalize("caffe")(img, None)
    np.testing.assert_allclose(x[0, 0], [30 - CAFFE_MEAN_BGR[0], 20 - CAFFE_MEAN_BGR[1],
                                         10 - CAFFE_MEAN_BGR[2]], rtol=1e-6)  # BGR order
    x, _ = Normalize("torchvision")(img, None)
    np.testing.assert_allclose(x[0, 0], [(10 / 255 - 0.485) / 0.229, (20 / 255 - 0.456) / 0.224,
                                         (30 / 255 - 0.406) / 0.225], rtol=1e-5)
    x, _ = Normalize("unit")(img, None)
    np.testing.assert_allclose(x[0, 0], [10 / 255, 20 / 255, 30 / 255], rtol=1e-6)
    with pytest.raises(ValueError, match="unknown input convention 'bgr'"):
        Normalize("bgr")
    # the padding colour of a convention normalises to ~0
    x, _ = Normalize("caffe")(np.array([[mean_rgb_uint8("caffe")]], np.uint8), None)
    assert np.abs(x).max() < 0.7


def test_crop_pads_image_with_fill_and_label_with_ignore():
    img, lab = _pair(3, 4)
    x, y = RandomCrop((5, 6), fill=(1, 2, 3))(img, lab, np.random.default_rng(0))
    assert x.shape == (5, 6, 3) and y.shape == (5, 6)
    np.testing.assert_array_equal(x[:3, :4], img)
    assert (x[3:] == [1, 2, 3]).all() and (x[:, 4:] == [1, 2, 3]).all()
    assert (y[3:] == 255).all() and (y[:, 4:] == 255).all()
    np.testing.assert_array_equal(y[:3, :4], lab)


def test_crop_keeps_image_and_label_aligned():
    img, lab = _pair(20, 20)
    lab = img[..., 0] // 64  # the label is a function of the pixel: alignment is checkable
    for seed in range(5):
        x, y = RandomCrop(8)(img, lab, np.random.default_rng(seed))
        np.testing.assert_array_equal(y, x[..., 0] // 64)


def test_flip_and_scale():
    img, lab = _pair()
    x, y = RandomHorizontalFlip(p=1.0)(img, lab)
    np.testing.assert_array_equal(x, img[:, ::-1])
    np.testing.assert_array_equal(y, lab[:, ::-1])
    x, y = RandomHorizontalFlip(p=0.0)(img, lab)
    np.testing.assert_array_equal(y, lab)
    x, y = RandomScale((1.5, 1.5))(img, lab)
    assert x.shape == (9, 10, 3) and y.shape == (9, 10)
    assert set(np.unique(y)) <= set(np.unique(lab))  # nearest: no invented class ids
    lab255 = lab.copy()
    lab255[0] = 255
    _, y = RandomScale((0.5, 0.5))(img, lab255)
    assert set(np.unique(y)) <= set(np.unique(lab255))
    with pytest.raises(ValueError, match="scale_range"):
        RandomScale((0, 1))
    with pytest.raises(ValueError, match=r"fill must be .* in \[0, 255\], got \(300, 0, 0\)"):
        RandomCrop(4, fill=(300, 0, 0))   # had failed at the first pad, not naming the fill
    with pytest.raises(ValueError, match="both finite"):   # inf had failed in the generator
        RandomScale((1, float("inf")))
    with pytest.raises(ValueError, match=r"makes the 6x7 image \d+x\d+: too large"):   # PIL's limit
        RandomScale((1e5, 1e5))(img, lab)
    with pytest.raises(TypeError, match="uint8 images .* got float32"):   # 0..1 floats became black
        RandomScale((2, 2))(img.astype(np.float32) / 255, lab)
    with pytest.raises(ValueError, match="label shape"):
        RandomHorizontalFlip()(img, lab[:3])


def test_pipeline_is_deterministic_given_rng_and_varies_with_it():
    t = build_transform("torchvision", crop=5, flip=True, scale=(0.7, 1.3))
    img, lab = _pair(12, 12)
    a = t(img, lab, np.random.default_rng(1))
    b = t(img, lab, np.random.default_rng(1))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    outs = {t(img, lab, np.random.default_rng(s))[0].tobytes() for s in range(6)}
    assert len(outs) > 1
    x, y = a
    assert x.shape == (3, 5, 5) and x.dtype == np.float32 and y.dtype == np.int64


def test_tochw():
    img, lab = _pair()
    x, y = Compose([ToCHW()])(img, lab)
    np.testing.assert_array_equal(x[1], img[..., 1])
    with pytest.raises(ValueError, match="ToCHW expects"):
        ToCHW()(x, y)
