"""viz: colours, overlays, grids, curves and uncertainty figures (files written atomically)."""
import numpy as np
import pytest
from PIL import Image

from minifcn import viz
from minifcn.data.synthetic import render_sample


def test_colorize_and_overlay():
    lab = np.array([[0, 1], [2, 255]])
    c = viz.colorize(lab)
    assert c[1, 1].tolist() == [255, 255, 255] and c[0, 1].tolist() == [128, 0, 0]
    assert viz.colorize(lab, ignore_color=None)[1, 1].tolist() == [224, 224, 192]
    with pytest.raises(ValueError, match="label values"):
        viz.colorize(np.array([[300]]))
    img = np.full((2, 2, 3), 200, np.uint8)
    o = viz.overlay(img, lab, alpha=1.0)
    assert o[0, 0].tolist() == [200] * 3 and o[1, 1].tolist() == [200] * 3  # bg, ignore kept
    assert o[0, 1].tolist() == [128, 0, 0]
    with pytest.raises(ValueError, match="alpha"):
        viz.overlay(img, lab, alpha=2)


def test_degenerate_and_wrong_inputs(tmp_path):
    # each had crashed inside NumPy, or written something other than what was given
    assert viz.colorize(np.zeros((0, 4), int)).shape == (0, 4, 3)
    assert viz.legend_strip([], 50).shape[1] == 50
    with pytest.raises(ValueError, match="max_columns must be an integer >= 1, got 0"):
        viz.save_prediction_grid(tmp_path / "g.png", [np.zeros((2, 2, 3), np.uint8)],
                                 [np.zeros((2, 2), int)], [np.zeros((2, 2), int)], max_columns=0)
    for bad in (np.full((1, 1, 3), 300), np.full((1, 1, 3), 0.9), np.zeros((1, 1, 2), np.uint8)):
        with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) or \(H, W\) uint8 array"):
            viz.save_image(tmp_path / "a.png", bad)   # 300 had wrapped to 44, 0.9 turned black
    viz.save_image(tmp_path / "a.bmp", np.zeros((1, 1, 3), np.uint8))
    assert (tmp_path / "a.bmp").read_bytes()[:2] == b"BM"   # had been PNG bytes
    with pytest.raises(ValueError, match="no image format has the suffix '.xyz'"):
        viz.save_image(tmp_path / "a.xyz", np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(ValueError, match="not finite"):
        viz.overlay(np.full((1, 1, 3), np.nan), np.zeros((1, 1), int))
    log = tmp_path / "log.csv"
    log.write_text("epoch,iteration,train_loss,val_loss,pixel_acc,mean_acc,mean_iou,fw_iou,lr,time\n"
                   "0,10,1.0,0.9,0.5,0.4,0.3,0.4,0.01,1,EXTRA\n")
    with pytest.raises(ValueError, match="line 2 has more fields than the header"):
        viz.plot_curves(log, tmp_path / "c.png")
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob(".*"))


def test_prediction_grid_layout(tmp_path):
    imgs, labs = zip(*[render_sample(np.random.default_rng(i), 32) for i in range(3)])
    preds = [np.where(l == 255, 0, l) for l in labs]
    p = viz.save_prediction_grid(tmp_path / "grid.png", imgs, labs, preds)
    g = np.asarray(Image.open(p).convert("RGB"))
    assert g.shape == (3 * 32 + 4 * 2, 3 * 32 + 4 * 2, 3)
    np.testing.assert_array_equal(g[2:34, 2:34], imgs[0])  # top-left tile is the image
    np.testing.assert_array_equal(g[36:68, 2:34], viz.colorize(labs[0]))
    assert [q.name for q in tmp_path.iterdir()] == ["grid.png"]  # no temp file left
    with pytest.raises(ValueError, match="as many"):
        viz.save_prediction_grid(tmp_path / "g2.png", imgs, labs[:2], preds)


def test_a_grid_with_classes_has_a_legend_of_every_class(tmp_path):
    imgs, labs = zip(*[render_sample(np.random.default_rng(i), 160) for i in range(2)])
    bare = np.asarray(Image.open(viz.save_prediction_grid(tmp_path / "a.png", imgs, labs, labs)))
    names = ["background", "disc", "square", "triangle", "bar", "dot"]
    g = np.asarray(Image.open(viz.save_prediction_grid(tmp_path / "b.png", imgs, labs, labs,
                                                       classes=names)).convert("RGB"))
    assert g.shape[1] == bare.shape[1] and g.shape[0] > bare.shape[0]
    np.testing.assert_array_equal(g[:bare.shape[0]], bare)            # the grid as it was ...
    strip = g[bare.shape[0]:]                                         # ... and the legend below
    for k in range(len(names)):   # each class's swatch: 8 x 8 of its colour inside an outline
        color = viz.colorize(np.array([[k]]))[0, 0]
        assert (strip == color).all(axis=-1).sum() >= 64, names[k]


def test_the_uncertainty_figure_names_the_predicted_classes(tmp_path):
    pred = np.zeros((48, 48), int)
    pred[:6, :6] = 4                     # background, and "bar" in the top corner: nothing else
    image, unc = np.zeros((48, 48, 3), np.uint8), np.zeros((48, 48))
    names = ["background", "disc", "square", "triangle", "bar", "dot"]
    bare = np.asarray(Image.open(viz.save_uncertainty(tmp_path / "a.png", image, pred, unc))
                      .convert("RGB"))
    named = np.asarray(Image.open(viz.save_uncertainty(tmp_path / "b.png", image, pred, unc,
                                                       classes=names)).convert("RGB"))

    def low_pixels(picture, k):   # pixels of class k's colour in the figure's lower half
        low = picture[picture.shape[0] // 2:]
        return int((low == viz.colorize(np.array([[k]]))[0, 0]).all(axis=-1).sum())
    assert low_pixels(bare, 4) == 0 and low_pixels(named, 4) > 50   # bar's legend patch
    assert low_pixels(named, 1) == 0                                # disc: not predicted


def test_plot_curves_and_uncertainty(tmp_path):
    log = tmp_path / "log.csv"
    rows = ["epoch,iteration,train_loss,val_loss,pixel_acc,mean_acc,mean_iou,fw_iou,lr,time"]
    for k in range(1, 6):
        rows.append(f"{k},{100 * k},{1 / k},{1.2 / k},{0.6 + 0.05 * k},0.5,{0.1 * k},0.5,0.01,{k}")
    log.write_text("\n".join(rows) + "\n")
    out = viz.plot_curves(log, tmp_path / "curves.png")
    w, h = Image.open(out).size
    assert (w, h) == (1000, 400)
    img, lab = render_sample(np.random.default_rng(0), 48)
    u = viz.save_uncertainty(tmp_path / "u.png", img, np.where(lab == 255, 0, lab),
                             np.random.default_rng(0).random((48, 48)))
    assert Image.open(u).size[0] > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks columns"):
        viz.plot_curves(bad, tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match=r"log file .*none\.csv not found"):
        viz.plot_curves(tmp_path / "none.csv", tmp_path / "x.png")


def test_label_png_holds_the_ids_coloured_as_colorize_colours_them(tmp_path):
    from PIL import Image
    from minifcn.viz import colorize, save_label_png
    lab = np.array([[0, 1, 2], [40, 255, 3]])
    for palette in (None, [(10, 20, 30), (200, 0, 0)]):   # VOC's, and a short one VOC's pads
        path = save_label_png(tmp_path / "m.png", lab, palette)
        im = Image.open(path)
        assert im.mode == "P" and np.array_equal(np.array(im), lab)
        assert np.array_equal(np.array(im.convert("RGB")), colorize(lab, palette, ignore_color=None))
    with pytest.raises(ValueError, match=r"holds ids in \[0, 255\], got \[0, 256\]"):
        save_label_png(tmp_path / "m.png", np.array([[0, 256]]))
