"""Weights: npz round trips, the torch-free .pth reader, the .caffemodel reader, VGG16 import.

The fixtures in tests/fixtures were written by tests/fixtures/make_fixtures.py (torch for the
.pth files, a minimal protobuf writer for the .caffemodels); torch itself is only an oracle.
"""
import collections
import importlib.util
import os
import pathlib
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from minifcn import torch_unpickler, weights
from minifcn.weights import (check_state, convolutionalize_state, detect_format, import_vgg16,
                             load_caffe_state, load_npz, load_torch_state, save_npz, vgg16_shapes)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
_spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(FIXTURES, "make_fixtures.py"))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)


def fixture(name):
    return os.path.join(FIXTURES, name)


@pytest.fixture(scope="module")
def ref():
    """The reference tiny VGG16 state (our names), as written to every fixture."""
    state, meta = load_npz(fixture("vgg_tiny.npz"))
    return state


def assert_same_state(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k]), k


# --------------------------------------------------------------------------- npz


def test_npz_round_trip_exact(tmp_path):
    rng = np.random.default_rng(0)
    state = {"b.weight": rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
             "a.bias": rng.standard_normal(3),                      # float64, out of alpha order
             "n": np.arange(5, dtype=np.int64), "mask": np.array([True, False]),
             "scalar": np.float32(2.5)}
    meta = {"arch": "toy", "num_classes": 3, "input_convention": "caffe", "mean": [1.0, 2.0]}
    save_npz(tmp_path / "w.npz", state, meta)
    got, got_meta = load_npz(tmp_path / "w.npz")
    assert got_meta == meta
    assert list(got) == list(state)
    for k in state:
        assert got[k].dtype == np.asarray(state[k]).dtype and np.array_equal(got[k], state[k])


def test_npz_fixture_matches_generator(ref):
    assert_same_state(ref, mf.tiny_vgg_state())


def test_npz_atomic_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    save_npz(path, {"w": np.ones(3)})
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]

    def broken_write_array(f, array, **kwargs):   # dies half-way through writing
        f.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt
    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(weights.np.lib.format, "write_array", broken_write_array)
        save_npz(path, {"w": np.zeros(3)})
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]          # no temp file left behind
    assert np.array_equal(load_npz(path)[0]["w"], np.ones(3))  # the old file is intact


def test_npz_to_and_from_open_file_objects(tmp_path):
    import io
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.int64(7)}
    buf = io.BytesIO(b"head")                     # written from where it stands
    buf.seek(4)
    save_npz(buf, state, {"arch": "toy"})
    buf.seek(4)
    got, meta = load_npz(buf)
    assert meta == {"arch": "toy"} and got["w"].dtype == np.float32 and np.array_equal(got["w"], state["w"])
    with open(tmp_path / "w.npz", "wb") as f:   # a real file, left open for the caller to close
        save_npz(f, state)
        assert not f.closed
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]
    with open(tmp_path / "w.npz", "rb") as f:
        assert np.array_equal(load_npz(f)[0]["w"], state["w"])

    class Pipe(io.RawIOBase):                     # cannot seek: read whole first
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self._data.readinto(b)
    assert np.array_equal(load_npz(Pipe(buf.getvalue()[4:]))[0]["w"], state["w"])
    with pytest.raises(ValueError, match=r"<BytesIO>: not a readable .npz .*not a zip archive"):
        load_npz(io.BytesIO(b"epoch,loss\n"))


def test_npz_entries_may_take_any_name_and_are_those_np_savez_writes(tmp_path):
    # np.savez's own parameters: "file" had been a TypeError, "allow_pickle" silently dropped
    state = {"file": np.ones(2), "allow_pickle": np.arange(3), "a/b": np.zeros((1, 2), np.float32)}
    save_npz(tmp_path / "w.npz", state)
    with np.load(tmp_path / "w.npz", allow_pickle=False) as z:
        assert z.files == [*state, "__meta__"]
        assert all(np.array_equal(z[k], v) and z[k].dtype == v.dtype for k, v in state.items())
    plain = {"a/b": state["a/b"], "n": np.int64(3)}   # names np.savez can take: the same members
    np.savez(tmp_path / "np.npz", **plain, __meta__=np.array("{}"))
    save_npz(tmp_path / "ours.npz", plain)
    with zipfile.ZipFile(tmp_path / "np.npz") as a, zipfile.ZipFile(tmp_path / "ours.npz") as b:
        assert [(i.filename, i.compress_type, i.file_size, i.CRC) for i in a.infolist()] == \
               [(i.filename, i.compress_type, i.file_size, i.CRC) for i in b.infolist()]


def test_npz_refuses_pickled_objects_and_bad_input(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, w=np.array([{"a": 1}], dtype=object))      # needs pickle to load
    with pytest.raises(ValueError, match="obj.npz"):
        load_npz(path)
    with pytest.raises(TypeError, match="dtype object"):
        save_npz(tmp_path / "x.npz", {"w": np.array([None], dtype=object)})
    with pytest.raises(TypeError, match="JSON"):
        save_npz(tmp_path / "x.npz", {"w": np.ones(1)}, {"bad": object()})
    with pytest.raises(ValueError, match="reserved"):
        save_npz(tmp_path / "x.npz", {"__meta__": np.ones(1)})


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.99])
def test_npz_truncated_names_the_file(tmp_path, keep):
    data = open(fixture("vgg_tiny.npz"), "rb").read()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="cut.npz"):
        load_npz(path)


@pytest.mark.parametrize("name", ["vgg_tiny.npz", "vgg_tiny_zip.pth", "vgg_tiny_legacy.pth",
                                  "vgg_tiny_v1.caffemodel", "vgg_tiny_v2.caffemodel"])
def test_a_corrupt_weights_file_raises_a_value_error_that_names_it(tmp_path, name):
    # Bytes flipped at random, or the file cut short: whatever the parser trips on (a pickle
    # length past any memory, a layer name that is not UTF-8, a zip member flagged encrypted),
    # the user gets a ValueError naming the file, never another exception. A corruption the
    # formats cannot see (a flipped bit inside a float) loads, as it would anywhere.
    import random
    draw = random.Random(name)
    data = pathlib.Path(fixture(name)).read_bytes()
    path = tmp_path / f"corrupt_{name}"
    for _ in range(150):
        b = bytearray(data)
        if draw.random() < 0.5:
            b = b[:draw.randrange(len(b))]
        else:
            for _ in range(draw.randint(1, 20)):
                b[draw.randrange(len(b))] = draw.randrange(256)
        path.write_bytes(bytes(b))
        try:
            import_vgg16(path)
        except ValueError as e:
            assert type(e) is not UnicodeDecodeError and f"corrupt_{name}" in str(e), repr(e)


# --------------------------------------------------------------------------- check_state


def test_check_state_reports_every_problem():
    expected = {"conv.weight": (4, 3, 3, 3), "conv.bias": (4,), "fc.weight": (2, 4)}
    state = {"conv.weight": np.zeros((4, 5, 3, 3)), "fc.weight": np.zeros((2, 4)),
             "extra.weight": np.zeros((7,))}
    with pytest.raises(ValueError) as e:
        check_state(expected, state)
    msg = str(e.value)
    assert "conv.weight: got shape (4, 5, 3, 3), expected (4, 3, 3, 3)" in msg
    assert "missing conv.bias (expected shape (4,))" in msg
    assert "unexpected extra.weight (shape (7,))" in msg
    assert "fc.weight" not in msg
    # non-strict: only the shape mismatch remains
    with pytest.raises(ValueError) as e:
        check_state(expected, state, strict=False)
    assert "missing" not in str(e.value) and "conv.weight" in str(e.value)
    # expected may be a state dict itself
    check_state(state, {k: v.copy() for k, v in state.items()})


# --------------------------------------------------------------------------- VGG16 helpers


def test_vgg16_shapes_paper():
    shapes = vgg16_shapes()
    assert list(shapes)[:2] == ["conv1_1.weight", "conv1_1.bias"]
    assert shapes["conv5_3.weight"] == (512, 512, 3, 3)
    assert shapes["fc6.weight"] == (4096, 25088) and shapes["fc8.weight"] == (1000, 4096)
    assert sum(int(np.prod(s)) for s in shapes.values()) == 138_357_544   # VGG16's parameters


def test_convolutionalize_state_shapes_and_values(ref):
    conv = convolutionalize_state(ref)
    assert conv["fc6.weight"].shape == (8, 8, 7, 7)
    assert conv["fc7.weight"].shape == (8, 8, 1, 1)
    assert conv["fc8.weight"].shape == (10, 8, 1, 1)
    assert conv["fc6.bias"] is ref["fc6.bias"] and conv["conv1_1.weight"] is ref["conv1_1.weight"]
    assert ref["fc6.weight"].shape == (8, 392)                 # the input is not modified
    # fc6 on a flattened (c, 7, 7) pool5 map == the 7x7 conv at the single output cell
    pool5 = np.random.default_rng(1).standard_normal((8, 7, 7)).astype(np.float32)
    fc = ref["fc6.weight"] @ pool5.ravel()
    as_conv = np.einsum("ocyx,cyx->o", conv["fc6.weight"], pool5)
    np.testing.assert_allclose(fc, as_conv, rtol=1e-5, atol=1e-5)
    assert convolutionalize_state(conv)["fc6.weight"].shape == (8, 8, 7, 7)   # idempotent


def test_convolutionalize_state_paper_shapes_without_memory():
    # zero-strided arrays: the paper's shapes without allocating 500 MB
    state = {k: np.broadcast_to(np.float32(0), s) for k, s in vgg16_shapes().items()}
    conv = convolutionalize_state(state)
    assert conv["fc6.weight"].shape == (4096, 512, 7, 7)
    assert conv["fc7.weight"].shape == (4096, 4096, 1, 1)
    assert conv["fc8.weight"].shape == (1000, 4096, 1, 1)


def test_convolutionalize_state_rejects_non_square(ref):
    bad = dict(ref, **{"fc6.weight": np.zeros((8, 8 * 7 * 6), np.float32)})
    with pytest.raises(ValueError, match=r"fc6.weight has shape \(8, 336\)"):
        convolutionalize_state(bad)


# --------------------------------------------------------------------------- import_vgg16


@pytest.mark.parametrize("name, fmt, convention", [
    ("vgg_tiny.npz", "npz", "torchvision"),
    ("vgg_tiny_zip.pth", "torch-zip", "torchvision"),
    ("vgg_tiny_legacy.pth", "torch-legacy", "torchvision"),
    ("vgg_tiny_v1.caffemodel", "caffemodel", "caffe"),
    ("vgg_tiny_v2.caffemodel", "caffemodel", "caffe"),
])
def test_import_vgg16_every_format(ref, name, fmt, convention):
    assert detect_format(fixture(name)) == fmt
    state, meta = import_vgg16(fixture(name))
    assert_same_state(state, ref)
    assert meta["arch"] == "vgg16" and meta["format"] == fmt and meta["num_classes"] == 10
    assert meta["input_convention"] == convention
    assert meta["channel_order"] == {"caffe": "BGR", "torchvision": "RGB"}[convention]
    if convention == "caffe":
        assert meta["scale"] == 255.0 and np.allclose(meta["mean"], [104.007, 116.669, 122.679], atol=1e-3)
    else:
        assert meta["scale"] == 1.0 and meta["std"] == [0.229, 0.224, 0.225]


def test_import_vgg16_meta_round_trips_through_npz(tmp_path):
    state, meta = import_vgg16(fixture("vgg_tiny_v1.caffemodel"))
    save_npz(tmp_path / "vgg.npz", state, meta)
    state2, meta2 = import_vgg16(tmp_path / "vgg.npz")
    assert_same_state(state2, state)
    assert meta2["input_convention"] == "caffe" and meta2["mean"] == meta["mean"]


def test_import_vgg16_wrong_shapes_name_layer_and_shapes(tmp_path, ref):
    bad = dict(ref, **{"conv2_1.weight": np.zeros((4, 5, 3, 3), np.float32)})
    save_npz(tmp_path / "bad.npz", bad)
    with pytest.raises(ValueError) as e:
        import_vgg16(tmp_path / "bad.npz")
    assert "bad.npz" in str(e.value)
    assert "conv2_1.weight: got shape (4, 5, 3, 3), expected (4, 2, 3, 3)" in str(e.value)
    # an explicit expectation: the paper's widths
    paper = r"conv1_1.weight: got shape \(2, 3, 3, 3\), expected \(64, 3, 3, 3\)"
    with pytest.raises(ValueError, match=paper):
        import_vgg16(fixture("vgg_tiny_zip.pth"), expected=vgg16_shapes())
    state, _ = import_vgg16(fixture("vgg_tiny_zip.pth"), expected=ref)
    assert_same_state(state, ref)


def test_import_vgg16_refuses_a_resnet(tmp_path):
    rng = np.random.default_rng(0)
    resnet = {"conv1.weight": rng.standard_normal((4, 3, 7, 7)).astype(np.float32),
              "bn1.weight": np.ones(4, np.float32), "bn1.running_mean": np.zeros(4, np.float32),
              "layer1.0.conv1.weight": np.zeros((4, 4, 3, 3), np.float32),
              "fc.weight": np.zeros((10, 4), np.float32), "fc.bias": np.zeros(10, np.float32)}
    save_npz(tmp_path / "resnet.npz", resnet)
    with pytest.raises(ValueError) as e:
        import_vgg16(tmp_path / "resnet.npz")
    msg = str(e.value)
    assert "resnet.npz is not a VGG16" in msg
    assert "missing conv1_1.weight (expected shape (64, 3, 3, 3))" in msg
    assert "unexpected conv1.weight (shape (4, 3, 7, 7))" in msg


def test_import_vgg16_fcn_caffemodel_with_conv_shaped_fc(tmp_path, ref):
    conv = convolutionalize_state(ref)              # as FCN's caffemodels store fc6/fc7
    (tmp_path / "fcn.caffemodel").write_bytes(mf.net_proto("fcn", mf.vgg_caffe_layers(conv)))
    state, meta = import_vgg16(tmp_path / "fcn.caffemodel")
    assert_same_state(state, ref)


# --------------------------------------------------------------------------- caffemodel reader


@pytest.mark.parametrize("name", ["vgg_tiny_v1.caffemodel", "vgg_tiny_v2.caffemodel"])
def test_caffemodel_parse_equals_what_the_writer_wrote(ref, name):
    assert_same_state(load_caffe_state(fixture(name)), ref)


@pytest.mark.parametrize("v1", [False, True])
@pytest.mark.parametrize("blob_kw", [{"packed": False}, {"double": True}])
def test_caffemodel_unpacked_and_double_blobs(tmp_path, v1, blob_kw):
    rng = np.random.default_rng(2)
    W, b, extra = rng.standard_normal((3, 2, 5, 5)), rng.standard_normal(3), rng.standard_normal(4)
    make, field = (mf.layer_v1, 2) if v1 else (mf.layer_v2, 100)
    layer = make("score", "Convolution", [W, b, extra], **blob_kw)
    (tmp_path / "n.caffemodel").write_bytes(mf.f_bytes(1, "net") + mf.f_bytes(field, layer))
    state = load_caffe_state(tmp_path / "n.caffemodel")
    assert list(state) == ["score.weight", "score.bias", "score.blob2"]
    np.testing.assert_array_equal(state["score.weight"], W.astype(np.float32))
    np.testing.assert_array_equal(state["score.bias"], b.astype(np.float32))
    assert state["score.blob2"].shape == ((1, 1, 1, 4) if v1 else (4,))


@pytest.mark.parametrize("name", ["vgg_tiny_v1.caffemodel", "vgg_tiny_v2.caffemodel"])
@pytest.mark.parametrize("keep", [0.01, 0.5, 0.999])
def test_caffemodel_truncated_names_the_file(tmp_path, name, keep):
    data = pathlib.Path(fixture(name)).read_bytes()
    (tmp_path / "cut.caffemodel").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="cut.caffemodel"):
        load_caffe_state(tmp_path / "cut.caffemodel")


def test_caffemodel_blob_with_wrong_count(tmp_path):
    blob = mf.f_bytes(7, mf.f_bytes(1, mf.varint(2) + mf.varint(3))) + mf.f_bytes(5, bytes(4 * 5))
    layer = mf.f_bytes(1, "conv") + mf.f_bytes(2, "Convolution") + mf.f_bytes(7, blob)
    (tmp_path / "n.caffemodel").write_bytes(mf.f_bytes(100, layer))
    with pytest.raises(ValueError, match=r"layer 'conv' blob 0: blob of shape \(2, 3\) holds 5 values"):
        load_caffe_state(tmp_path / "n.caffemodel")


def test_detect_format_rejects_garbage(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"GIF89a....")
    with pytest.raises(ValueError, match="x.bin: unrecognised weights file"):
        detect_format(tmp_path / "x.bin")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="neither"):
        detect_format(tmp_path / "other.zip")


# --------------------------------------------------------------------------- .pth reader: safety


class Evil:
    """Unpickling this would run a shell command that creates ``marker``."""

    def __init__(self, marker, how="system"):
        self.marker, self.how = str(marker), how

    def __reduce__(self):
        if self.how == "system":
            return (os.system, (f"touch '{self.marker}'",))
        return (eval, (f"open({self.marker!r}, 'w').close()",))


def legacy_stream(obj_pickle):
    """A legacy .pth stream whose object pickle is ``obj_pickle`` (header pickles are genuine)."""
    head = b"".join(pickle.dumps(x, protocol=2) for x in
                    (torch_unpickler.LEGACY_MAGIC, torch_unpickler.LEGACY_PROTOCOL,
                     {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}))
    return head + obj_pickle + pickle.dumps([], protocol=2)


@pytest.mark.parametrize("how, protocol, global_name", [
    ("system", 2, "system'"),            # posix.system on Linux, nt.system on Windows
    ("eval", 2, "__builtin__.eval"),     # protocol 2 writes Python 2 module names
    ("eval", 4, "builtins.eval"),        # protocol 4: STACK_GLOBAL, also through find_class
])
@pytest.mark.parametrize("container", ["bare", "legacy", "zip"])
def test_malicious_pickle_is_refused_without_running(tmp_path, how, protocol, global_name, container):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(collections.OrderedDict(w=Evil(marker, how)), protocol=protocol)
    path = tmp_path / "evil.pth"
    if container == "bare":
        path.write_bytes(payload)
    elif container == "legacy":
        path.write_bytes(legacy_stream(payload))
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("evil/data.pkl", payload)
    with pytest.raises(torch_unpickler.UnsafePickleError) as e:
        load_torch_state(path)
    assert global_name in str(e.value) and "evil.pth" in str(e.value)
    assert not marker.exists()


@pytest.mark.parametrize("attack", [
    b"\x80\x02ctorch\nFloatStorage\n}X\x05\x00\x00\x00dtypeX\x02\x00\x00\x00f8sb.",        # __dict__
    b"\x80\x02ctorch\nFloatStorage\nN}X\x05\x00\x00\x00dtypeX\x02\x00\x00\x00f8s\x86b.",  # slots
])
def test_pickle_cannot_rewrite_the_allow_list(tmp_path, attack):
    (tmp_path / "a.pth").write_bytes(attack)
    with pytest.raises(ValueError, match="a.pth"):
        load_torch_state(tmp_path / "a.pth")
    assert torch_unpickler.ALLOWED_GLOBALS[("torch", "FloatStorage")].dtype == "f4"


def test_plain_pickle_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "p.pth").write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(ValueError, match="p.pth: a pickle but not a torch checkpoint"):
        load_torch_state(tmp_path / "p.pth")


@pytest.mark.parametrize("name", ["vgg_tiny_zip.pth", "vgg_tiny_legacy.pth"])
@pytest.mark.parametrize("keep", [0.002, 0.02, 0.5, 0.999])
def test_pth_truncated_names_the_file(tmp_path, name, keep):
    data = pathlib.Path(fixture(name)).read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="cut.pth"):
        load_torch_state(tmp_path / "cut.pth")


def test_reader_needs_no_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from minifcn.weights import load_torch_state, import_vgg16\n"
            f"s = load_torch_state({fixture('vgg_tiny_zip.pth')!r})\n"
            f"s = load_torch_state({fixture('vgg_tiny_legacy.pth')!r})\n"
            f"s, m = import_vgg16({fixture('vgg_tiny_v1.caffemodel')!r})\n"
            "bad = [m for m in sys.modules if m.startswith(('google', 'caffe'))]\n"
            "assert sys.modules['torch'] is None and not bad, bad\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# --------------------------------------------------------------------------- .pth reader vs torch


@pytest.mark.parametrize("name", ["vgg_tiny_zip.pth", "vgg_tiny_legacy.pth"])
def test_reader_equals_torch_load_on_fixtures(name):
    torch = pytest.importorskip("torch")
    ours = load_torch_state(fixture(name))
    theirs = torch.load(fixture(name), weights_only=True)
    assert list(ours) == list(theirs)
    for k in ours:
        np.testing.assert_array_equal(ours[k], theirs[k].numpy())
        assert ours[k].dtype == theirs[k].numpy().dtype


@pytest.mark.parametrize("zip_format", [True, False])
def test_reader_equals_torch_on_awkward_tensors(tmp_path, zip_format):
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 5, generator=g)
    state = collections.OrderedDict([
        ("f32", torch.randn(2, 3, 4, generator=g)), ("f64", torch.randn(3, dtype=torch.float64)),
        ("f16", torch.randn(7, generator=g).half()), ("i64", torch.arange(-3, 9).reshape(3, 4)),
        ("i32", torch.arange(5, dtype=torch.int32)), ("u8", torch.arange(250, 256, dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])), ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 3)),
        ("transposed", base.t()), ("row", base[2]), ("column", base[:, 3]),       # shared storage
        ("strided", base[1::2, ::2]), ("expanded", torch.randn(3, 1).expand(3, 4)),
        ("num_batches_tracked", torch.tensor(7)),
    ])
    path = tmp_path / "t.pth"
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    ours = load_torch_state(path)
    assert list(ours) == list(state)
    for k, t in state.items():
        assert ours[k].shape == tuple(t.shape) and ours[k].dtype == t.numpy().dtype, k
        np.testing.assert_array_equal(ours[k], t.numpy())
        assert ours[k].flags.c_contiguous and ours[k].flags.writeable


@pytest.mark.parametrize("zip_format", [True, False])
def test_reader_bfloat16_parameters_and_checkpoints(tmp_path, zip_format):
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(2, 3, 3)
    bf = torch.randn(5).bfloat16()
    ckpt = {"epoch": 3, "state_dict": collections.OrderedDict(
        [("w", conv.weight), ("b", torch.nn.Parameter(conv.bias.detach())), ("bf", bf)])}
    torch.save(ckpt, tmp_path / "c.pth", _use_new_zipfile_serialization=zip_format)
    ours = load_torch_state(tmp_path / "c.pth")
    np.testing.assert_array_equal(ours["w"], conv.weight.detach().numpy())
    np.testing.assert_array_equal(ours["b"], conv.bias.detach().numpy())
    assert ours["bf"].dtype == np.float32
    np.testing.assert_array_equal(ours["bf"], bf.float().numpy())


def test_whole_module_pickle_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Conv2d(1, 1, 1), tmp_path / "m.pth")
    with pytest.raises(torch_unpickler.UnsafePickleError, match="torch.nn.modules.conv.Conv2d"):
        load_torch_state(tmp_path / "m.pth")


def test_torchvision_names_and_module_prefix(tmp_path, ref):
    torch = pytest.importorskip("torch")
    ours_to_tv = {v: k for k, v in weights.TORCHVISION_NAMES.items()}
    assert ours_to_tv["conv2_1.weight"] == "features.5.weight"
    assert ours_to_tv["conv5_3.bias"] == "features.28.bias"
    assert ours_to_tv["fc7.weight"] == "classifier.3.weight"
    wrapped = collections.OrderedDict(("module." + ours_to_tv[k], torch.from_numpy(v))
                                      for k, v in ref.items())
    torch.save(wrapped, tmp_path / "dp.pth")
    state, meta = import_vgg16(tmp_path / "dp.pth")
    assert_same_state(state, ref)


def hand_made_pth(path, numel, offset, size, stride):
    """A zip .pth built opcode by opcode (no torch): {"w": tensor(size, stride, offset)}."""
    def glob(module, name):
        return b"c" + module + b"\n" + name + b"\n"

    def s(text):
        return b"X" + len(text).to_bytes(4, "little") + text
    pid = (b"(" + s(b"storage") + glob(b"torch", b"FloatStorage") + s(b"0") + s(b"cpu")
           + b"K" + bytes([numel]) + b"tQ")
    args = (b"(" + pid + b"K" + bytes([offset]) + b"K" + bytes([size]) + b"\x85" + b"K" + bytes([stride])
            + b"\x85" + b"\x89" + glob(b"collections", b"OrderedDict") + b")R" + b"t")
    data_pkl = (b"\x80\x02" + glob(b"collections", b"OrderedDict") + b")R(" + s(b"w")
                + glob(b"torch._utils", b"_rebuild_tensor_v2") + args + b"Ru.")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("t/data.pkl", data_pkl)
        z.writestr("t/byteorder", "little")
        z.writestr("t/data/0", np.arange(numel, dtype="<f4").tobytes())


def test_hand_made_pth_views_and_out_of_bounds(tmp_path):
    hand_made_pth(tmp_path / "ok.pth", numel=6, offset=1, size=3, stride=2)
    np.testing.assert_array_equal(load_torch_state(tmp_path / "ok.pth")["w"], [1.0, 3.0, 5.0])
    hand_made_pth(tmp_path / "oob.pth", numel=6, offset=2, size=3, stride=2)   # would read [6]
    with pytest.raises(ValueError, match=r"oob.pth: .*does not fit in its storage of 6 elements"):
        load_torch_state(tmp_path / "oob.pth")


# --------------------------------------------------------------------------- trained FCNs
def _fcn_caffemodel(path, model, scales=None):
    """``model``'s parameters written as the FCN reference writes its nets (Convolution and
    Deconvolution layers in our names), plus the at-once net's Scale layers if given."""
    state = model.state_dict()
    layers = [("data", "Data", [])]
    for key in state:
        if key.endswith(".weight"):
            name = key[:-len(".weight")]
            kind = "Deconvolution" if name.startswith("upscore") else "Convolution"
            blobs = [state[key]] + ([state[name + ".bias"]] if name + ".bias" in state else [])
            layers.append((name, kind, blobs))
    for name, value in (scales or {}).items():
        layers.append((name, "Scale", [np.full(1, value, np.float32)]))
    with open(path, "wb") as f:
        f.write(mf.net_proto("fcn", layers))


@pytest.mark.parametrize("name, at_once", [("fcn32s", False), ("fcn8s", False), ("fcn8s-atonce", True)])
def test_import_fcn_from_a_caffemodel(tmp_path, name, at_once):
    from minifcn import backend
    from minifcn.models import build_model
    backend.manual_seed(3)
    src = build_model(name, 21, 1 / 32)
    for p in src.parameters():                      # scores and upsamplings away from their init
        p.data = p.data + np.float32(0.01) * np.random.default_rng(1).standard_normal(p.shape, np.float32)
    path = tmp_path / f"{name}.caffemodel"
    _fcn_caffemodel(path, src, {"scale_pool4": 0.01, "scale_pool3": 1e-4} if at_once else None)
    dst = build_model(name, 21, 1 / 32)
    meta = weights.import_fcn(path, dst)
    assert meta["input_convention"] == "caffe" and meta["num_classes"] == 21 and meta["width"] == 1 / 32
    assert_same_state(dst.state_dict(), src.state_dict())
    x = np.random.default_rng(0).standard_normal((1, 3, 40, 36)).astype(np.float32)
    np.testing.assert_array_equal(dst.eval()(x).numpy(), src.eval()(x).numpy())


def test_import_fcn_refuses_the_wrong_net(tmp_path):
    from minifcn.models import build_model
    path = tmp_path / "fcn8s.caffemodel"
    _fcn_caffemodel(path, build_model("fcn8s", 21, 1 / 32))
    with pytest.raises(ValueError, match=r"fcn8s.caffemodel: .*unexpected keys \['score_pool4.weight"):
        weights.import_fcn(path, build_model("fcn32s", 21, 1 / 32))
    with pytest.raises(ValueError, match=r"layer 'conv1_1.weight' expects shape \(4, 3, 3, 3\)"):
        weights.import_fcn(path, build_model("fcn8s", 21, 1 / 16))
    atonce = tmp_path / "atonce.caffemodel"
    _fcn_caffemodel(atonce, build_model("fcn8s", 21, 1 / 32), {"scale_pool4": 0.01, "scale_pool3": 1e-4})
    with pytest.raises(ValueError, match="layer scale_pool4 scales by .*FCN8s has no such layer"):
        weights.import_fcn(atonce, build_model("fcn8s", 21, 1 / 32))
    with pytest.raises(ValueError, match="no score_fr.weight: not an FCN"):
        weights.load_fcn_state(fixture("vgg_tiny_v2.caffemodel"))


def test_minifcn_import_makes_a_checkpoint_for_eval_and_predict(tmp_path, capsys):
    from minifcn import cli
    from minifcn.models import build_model
    from minifcn.train import load_model
    src = build_model("fcn16s", 21, 1 / 32)
    path = tmp_path / "fcn16s-heavy.caffemodel"
    _fcn_caffemodel(path, src)
    out = tmp_path / "fcn16s.npz"
    assert cli.main(["import", str(path), "--model", "fcn16s", "--out", str(out)]) == 0
    assert "input convention caffe" in capsys.readouterr().out
    model, cfg, classes, meta = load_model(out)
    assert cfg.model == "fcn16s" and cfg.convention == "caffe" and cfg.val_split == "seg11valid"
    assert classes[15] == "person" and meta["imported"]["format"] == "caffemodel"
    assert_same_state(model.state_dict(), src.state_dict())
    assert cli.main(["import", str(path), "--model", "fcn8s", "--out", str(tmp_path / "x.npz")]) == 2
    assert "missing keys" in capsys.readouterr().err and not (tmp_path / "x.npz").exists()
    # eval reads it like any checkpoint (a VOC-layout root: the synthetic dataset's)
    from minifcn.data.synthetic import make_synthetic_voc
    root = make_synthetic_voc(tmp_path / "voc", num_train=2, num_val=3, size=24)
    assert cli.main(["eval", "--checkpoint", str(out), "--data-root", str(root), "--split", "val"]) == 0
    printed = capsys.readouterr().out
    assert "fcn16s on voc val (3 images), weights imported from fcn16s-heavy.caffemodel" in printed
    assert "mean_iou" in printed


# --------------------------------------------------------------------------- vgg16_bn
def _vgg16_bn_torchvision_state(width=1 / 32, seed=0):
    """A width-scaled vgg16_bn state in torchvision's names (features.0 conv, features.1 its
    batch norm, ...), float32, with num_batches_tracked as torchvision saves it."""
    from minifcn.models import VGG16
    rng = np.random.default_rng(seed)
    ours = VGG16(num_classes=10, width=width).state_dict()
    out = collections.OrderedDict()
    for tv, name in weights.TORCHVISION_BN_NAMES.items():
        if name in ours:
            out[tv] = ours[name]
        else:                                               # a batch norm vector
            conv = name.split("_bn.")[0]
            c = ours[f"{conv}.bias"].shape[0]
            out[tv] = (rng.random(c) + 0.5).astype(np.float32)
            if name.endswith("running_var"):
                out[tv.replace("running_var", "num_batches_tracked")] = np.array(7, np.int64)
    return out


def test_import_vgg16_bn(tmp_path):
    raw = _vgg16_bn_torchvision_state()
    path = tmp_path / "vgg16_bn.npz"
    save_npz(path, raw)
    state, meta = import_vgg16(path)
    assert meta["arch"] == "vgg16_bn"
    names = list(state)
    assert names[:6] == ["conv1_1.weight", "conv1_1.bias", "conv1_1_bn.weight", "conv1_1_bn.bias",
                         "conv1_1_bn.running_mean", "conv1_1_bn.running_var"]
    assert not any("num_batches_tracked" in k for k in names) and names[-1] == "fc8.bias"
    np.testing.assert_array_equal(state["conv2_1_bn.running_var"], raw["features.8.running_var"])
    np.testing.assert_array_equal(state["conv5_3.weight"], raw["features.40.weight"])
    del raw["features.41.running_mean"]
    save_npz(path, raw)
    with pytest.raises(ValueError, match=r"(?s)not a vgg16_bn npz file.*missing conv5_3_bn.running_mean"):
        import_vgg16(path)


def test_import_vgg16_bn_pth_written_by_torch(tmp_path):
    torch = pytest.importorskip("torch")
    raw = _vgg16_bn_torchvision_state()
    path = tmp_path / "vgg16_bn.pth"
    torch.save(collections.OrderedDict((k, torch.from_numpy(np.array(v))) for k, v in raw.items()), path)
    state, meta = import_vgg16(path)
    assert meta["arch"] == "vgg16_bn" and meta["input_convention"] == "torchvision"
    np.testing.assert_array_equal(state["conv3_3_bn.weight"], raw["features.21.weight"])


def test_segnet_starts_from_vgg16_bn_and_fcn_refuses_it(tmp_path):
    from minifcn.models import build_model
    from minifcn.train import init_from_vgg16
    state, _ = import_vgg16(_save(tmp_path, _vgg16_bn_torchvision_state()))
    net = build_model("segnet", 3, 1 / 32)
    init_from_vgg16(net, state)
    got = net.state_dict()
    for key in ("conv1_1.weight", "conv4_2_bn.weight", "conv4_2_bn.running_mean", "conv5_3_bn.running_var"):
        np.testing.assert_array_equal(got[key], state[key])
    with pytest.raises(ValueError, match="vgg16_bn weights.*FCN8s does not have"):
        init_from_vgg16(build_model("fcn8s", 3, 1 / 32), state)


def _save(tmp_path, raw):
    path = tmp_path / "w.npz"
    save_npz(path, raw)
    return path
