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


def test_a_big_image_is_segmented_shrunk_and_its_maps_scaled_back():
    # four flat quadrants of distinct colours through per-pixel scores: at any scale each
    # quadrant gets its own class, so shrunk 4x and scaled back, the map is the full-size one
    # but for the pixels at the quadrants' borders
    img = np.zeros((80, 120, 3), np.uint8)
    img[:40, :60], img[:40, 60:], img[40:, :60], img[40:, 60:] = (250, 0, 0), (0, 250, 0), (0, 0, 250), (20, 20, 20)
    class Seeing(nn.Conv2d):                          # remembers the size it was given
        def forward(self, x):
            self.seen = x.shape[2:]
            return super().forward(x)

    net = Seeing(3, 4, 1)
    net.weight.data[:] = np.eye(4, 3, dtype=np.float32)[:, :, None, None] * 10
    net.bias.data[:] = [0, 0, 0, 3]
    full, _ = predict_array(net, img)
    assert sorted(np.unique(full)) == [0, 1, 2, 3] and net.seen == (80, 120)
    shrunk, _ = predict_array(net, img, max_size=30)
    assert net.seen == (20, 30) and shrunk.shape == (80, 120) and (shrunk != full).mean() < 0.05
    assert np.array_equal(predict_array(net, img, max_size=120)[0], full)   # fits: as it is
    bayes = BayesianSegNet(3, width=1 / 32)
    pred, unc = predict_array(bayes, _image(50, 70), samples=2, max_size=32)
    assert pred.shape == unc.shape == (50, 70)


def test_bayesian_uncertainty_and_files(tmp_path):
    path = tmp_path / "img.png"
    Image.fromarray(_image(19, 23)).save(path)
    net = BayesianSegNet(3, width=1 / 32)
    pred, unc = predict_array(net, read_image(path), samples=4)
    assert pred.shape == unc.shape == (19, 23)
    assert (unc >= 0).all() and unc.max() > 0  # dropout really sampled: the samples disagree
    files = predict_file(net, path, tmp_path / "out", samples=2)
    assert sorted(files) == ["mask", "overlay", "uncertainty", "uncertainty values"]
    values = np.load(files["uncertainty values"])     # the map itself, for statistics across images
    assert values.shape == (19, 23) and values.dtype == np.float32 and (values >= 0).all()
    assert files["uncertainty values"].name == "img_uncertainty.npy"
    mask = Image.open(files["mask"])                  # class ids, coloured by a palette
    assert mask.mode == "P" and np.asarray(mask).shape == (19, 23) and np.asarray(mask).max() < 3


def test_samples_need_a_bayesian_model():
    with pytest.raises(ValueError, match="mc_predict"):
        predict_array(nn.Conv2d(3, 2, 1), _image(), samples=3)
    # max_size -5 had segmented a one-pixel thumbnail; samples=2.7 had been cut to 2
    with pytest.raises(ValueError, match="max_size must be an integer >= 0 .* got -5"):
        predict_array(nn.Conv2d(3, 2, 1), _image(), max_size=-5)
    net = BayesianSegNet(2, width=1 / 32)
    with pytest.raises(ValueError, match="samples must be a positive int, got 2.7"):
        predict_array(net, _image(), samples=2.7)
    assert predict_array(net, _image(), samples=np.int64(2))[1].shape == _image().shape[:2]


def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    # Pillow's convert("RGB") clips 16-bit grey at 255: this image came out all but white
    values = np.array([[0, 257 * 100, 65535], [128, 257 * 7, 40000]], np.uint16)
    Image.fromarray(values).save(tmp_path / "grey16.png")
    got = read_image(tmp_path / "grey16.png")
    assert got.shape == (2, 3, 3) and got.dtype == np.uint8
    want = np.array([[0, 100, 255], [0, 7, 156]], np.uint8)   # round(v / 257)
    assert np.array_equal(got, np.repeat(want[:, :, None], 3, axis=2))
    Image.fromarray(values.astype(np.float32)).save(tmp_path / "float.tif")
    with pytest.raises(ValueError, match=r"float.tif holds floating-point pixels"):
        read_image(tmp_path / "float.tif")


def test_a_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    im = Image.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = 6    # Orientation 6: the camera was turned; a viewer turns it 90 deg clockwise
    im.save(tmp_path / "turned.png", exif=exif)
    got = read_image(tmp_path / "turned.png")
    assert np.array_equal(got, np.rot90(pixels, -1))   # (3, 2, 3), as a viewer shows it
    im.save(tmp_path / "plain.png")
    assert np.array_equal(read_image(tmp_path / "plain.png"), pixels)


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


def test_uncertainty_colours_on_a_fixed_range(tmp_path):
    from minifcn import viz
    image, pred = np.zeros((6, 8, 3), np.uint8), np.zeros((6, 8), np.int64)
    low = np.full((6, 8), 0.01)
    low[0, 0] = 0.02
    # each map on its own scale: a low map's peak is as bright as any map's; on one scale, not
    colours = []
    for vmax in (None, 0.25):
        path = viz.save_uncertainty(tmp_path / f"u{vmax}.png", image, pred, low, vmax=vmax)
        colours.append(np.asarray(Image.open(path).convert("RGB"), np.float64).sum())
    assert colours[0] != colours[1]
    with pytest.raises(ValueError, match="vmax must be > 0, got 0"):
        viz.save_uncertainty(tmp_path / "bad.png", image, pred, low, vmax=0)
