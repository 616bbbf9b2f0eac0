"""Prediction on one image: shapes, files, uncertainty, bad inputs."""
import numpy as np
import pytest
from PIL import Image

from minifcn import nn
from minifcn.models import BayesianSegNet, FCN8s
from minifcn.predict import predict_array, predict_file, read_image


def _image(h=21, w=30):
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_fcn_prediction_keeps_the_image_size():
    pred, unc = predict_array(FCN8s(4, 1 / 32), _image())
    assert pred.shape == (21, 30) and unc is None
    assert pred.min() >= 0 and pred.max() < 4


def test_prediction_is_the_argmax_of_the_model():
    net = nn.Conv2d(3, 3, 1)  # per-pixel linear scores: argmax checkable by hand
    img = _image(5, 6)
    pred, _ = predict_array(net, img, convention="unit")
    x = img.astype(np.float32) / 255.0
    scores = np.einsum("hwc,oc->ohw", x, net.weight.data[:, :, 0, 0]) + net.bias.data[:, None, None]
    assert np.array_equal(pred, scores.argmax(0))


def test_bayesian_uncertainty_and_files(tmp_path):
    path = tmp_path / "img.png"
    Image.fromarray(_image(19, 23)).save(path)
    net = BayesianSegNet(3, width=1 / 32)
    pred, unc = predict_array(net, read_image(path), samples=4)
    assert pred.shape == unc.shape == (19, 23)
    assert (unc >= 0).all() and unc.max() > 0  # dropout really sampled: the samples disagree
    files = predict_file(net, path, tmp_path / "out", samples=2)
    assert sorted(files) == ["mask", "overlay", "uncertainty"]
    mask = np.asarray(Image.open(files["mask"]))
    assert mask.shape == (19, 23, 3)


def test_samples_need_a_bayesian_model():
    with pytest.raises(ValueError, match="mc_predict"):
        predict_array(nn.Conv2d(3, 2, 1), _image(), samples=3)


def test_bad_images_are_named(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="notes.jpg"):
        read_image(bad)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="is a directory, not an image file"):
        read_image(tmp_path)
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        predict_array(nn.Conv2d(3, 2, 1), np.zeros((4, 4), np.uint8))
