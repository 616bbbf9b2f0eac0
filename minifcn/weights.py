"""Weights in and out: ``.npz`` checkpoints, VGG16 weights from PyTorch and Caffe files, and the
FCN reference's trained nets (:func:`import_fcn`).

A *state* is a dict (in layer order) from parameter names to arrays, with the Caffe layer
names the models use: ``conv1_1.weight`` ``(64, 3, 3, 3)``, ``conv1_1.bias`` ``(64,)``, ...,
``conv5_3.*``, then ``fc6.weight`` ``(4096, 25088)``, ``fc7.weight`` ``(4096, 4096)``,
``fc8.weight`` ``(1000, 4096)`` (fully connected weights are ``(out, in)``, as torch's Linear).

Reading other frameworks' files needs neither torch nor caffe:

* ``.pth`` (torchvision): a pickle, read by the restricted unpickler of :mod:`minifcn.torch_unpickler`,
  which refuses every global except tensors, storages and ``OrderedDict``;
* ``.caffemodel``: a protobuf message, read by the wire-format reader of :mod:`minifcn._protobuf`.

The two sources expect differently prepared images, so :func:`import_vgg16` records which
(:data:`INPUT_CONVENTIONS`): Caffe's VGG16 wants BGR in 0-255 minus a per-channel mean,
torchvision's RGB in [0, 1] normalised by mean and std.
"""
import collections
import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np

from . import _protobuf, torch_unpickler
from ._files import replacing
from .torch_unpickler import UnsafePickleError  # noqa: F401  (raised by load_torch_state)

#: How each source of VGG16 weights wants its input image prepared.
INPUT_CONVENTIONS = {
    "caffe": {"channel_order": "BGR", "scale": 255.0,
              "mean": [104.00698793, 116.66876762, 122.67891434], "std": [1.0, 1.0, 1.0]},
    "torchvision": {"channel_order": "RGB", "scale": 1.0,
                    "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
}

#: VGG16's thirteen convolutions, block by block (blocks end with a 2x2 max pool).
CONV_NAMES = ["conv1_1", "conv1_2", "conv2_1", "conv2_2",
              "conv3_1", "conv3_2", "conv3_3", "conv4_1", "conv4_2", "conv4_3",
              "conv5_1", "conv5_2", "conv5_3"]
FC_NAMES = ["fc6", "fc7", "fc8"]

# torchvision's vgg16: features is Sequential(conv, relu, conv, relu, pool, ...), so the
# convs sit at these indices; classifier is (Linear, ReLU, Dropout) x 2 + Linear.
_TV_INDEX = {**{f"features.{i}": n for i, n in zip(
    [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28], CONV_NAMES)},
    **{f"classifier.{i}": n for i, n in zip([0, 3, 6], FC_NAMES)}}
TORCHVISION_NAMES = {f"{tv}.{p}": f"{ours}.{p}" for tv, ours in _TV_INDEX.items()
                     for p in ("weight", "bias")}
# torchvision's vgg16_bn: (conv, batch norm, relu) triples, so conv k sits at 3k + (pools before
# it), its batch norm right after; ours is named <conv>_bn, as SegNet's
_BN_STATS = ("weight", "bias", "running_mean", "running_var")
_TV_BN_CONVS = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]
TORCHVISION_BN_NAMES = {
    **{f"features.{i}.{p}": f"{n}.{p}" for i, n in zip(_TV_BN_CONVS, CONV_NAMES) for p in ("weight", "bias")},
    **{f"features.{i + 1}.{p}": f"{n}_bn.{p}" for i, n in zip(_TV_BN_CONVS, CONV_NAMES) for p in _BN_STATS},
    **{f"classifier.{i}.{p}": f"{n}.{p}" for i, n in zip([0, 3, 6], FC_NAMES) for p in ("weight", "bias")},
}

_META_KEY = "__meta__"


# --------------------------------------------------------------------------- npz


def save_npz(path, state, meta=None):
    """Save a state dict (and a JSON-able ``meta`` dict) to ``path`` as an uncompressed .npz.

    The file is written to a temporary name in the same directory and renamed into place, so
    an interrupted save never leaves a half-written file at ``path``. ``path`` is used as
    given (no ``.npz`` is appended). CuPy arrays are copied to the host.

    Args:
        path: destination file, or an open binary file object, which is written directly
            (from where it stands, not atomically; left open).
        state: dict name -> array (any shape, any non-object dtype).
        meta: optional dict, stored as one JSON string (e.g. ``{"arch": "vgg16"}``).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> save_npz(path, {"conv.weight": np.ones((2, 1, 3, 3), np.float32)}, {"arch": "toy"})
    >>> state, meta = load_npz(path)
    >>> state["conv.weight"].shape, meta
    ((2, 1, 3, 3), {'arch': 'toy'})
    """
    if not hasattr(path, "write"):
        path = os.fspath(path)
    arrays = {}
    for name, value in state.items():
        if name == _META_KEY:
            raise ValueError(f"state key {name!r} is reserved for the metadata")
        if not isinstance(name, str) or "\x00" in name:   # a zip member's name ends at a NUL
            raise ValueError(f"state key {name!r}: expected a str without NUL characters")
        value = getattr(value, "data", value) if type(value).__name__ in ("Tensor", "Parameter") else value
        if hasattr(value, "__cuda_array_interface__"):
            value = value.get()
        value = np.asarray(value)
        if value.dtype == object:
            raise TypeError(f"state[{name!r}] has dtype object; .npz weights hold numbers only")
        arrays[name] = value
    try:
        meta_json = json.dumps({} if meta is None else dict(meta))
    except TypeError as e:
        raise TypeError(f"meta must be JSON-serialisable: {e}") from None
    arrays[_META_KEY] = np.array(meta_json)
    if hasattr(path, "write"):   # the caller's file: where it goes is the caller's to say
        _savez(path, arrays)
        path.flush()
        return
    with replacing(os.path.abspath(path)) as tmp, open(tmp, "wb") as f:
        _savez(f, arrays)
        f.flush()
        os.fsync(f.fileno())   # on disk before the rename makes it the checkpoint


def _savez(f, arrays):
    """``np.savez(f, **arrays)``, member for member (``<name>.npy``, stored uncompressed, zip64),
    for any names: savez's own parameters take the names ``file`` (a TypeError) and
    ``allow_pickle`` (the array silently left out)."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, value in arrays.items():
            with z.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


class _NotNpz(Exception):
    """A zip whose members are not .npy arrays (said apart from a corrupt .npz)."""


def load_npz(path):
    """Load a file written by :func:`save_npz`; return ``(state, meta)``.

    ``path`` may be an open binary file object (read from where it stands; one that cannot seek
    is read whole first). Pickled objects are refused (``allow_pickle=False``); a truncated or corrupt file raises
    ValueError naming it. ``state`` keeps the saved order; ``meta`` is ``{}`` when absent.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "bad.npz")
    >>> _ = open(path, "wb").write(b"PK\\x03\\x04 not really a zip")
    >>> load_npz(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../bad.npz: not a readable .npz weights file (...)
    """
    state = {}
    meta = {}
    if hasattr(path, "read"):
        source, path = path, _file_name(path)
        if not (hasattr(source, "seekable") and source.seekable()):   # a pipe, a socket
            source = io.BytesIO(source.read())
        start = source.tell()
        head = source.read(6)
        source.seek(start)
    else:
        source = path = os.fspath(path)
        with open(path, "rb") as f:   # FileNotFoundError as it is
            head = f.read(6)
    if head.startswith(b"\x93NUMPY"):   # np.load would give an array, no archive to open
        raise ValueError(f"{path}: not a readable .npz weights file (a single .npy array, not an "
                         ".npz archive)")
    if not head.startswith(b"PK"):   # else NumPy takes it for a pickle and says so
        raise ValueError(f"{path}: not a readable .npz weights file (not a zip archive: it starts "
                         f"with {head!r})")
    try:
        with np.load(source, allow_pickle=False) as z:
            members = z.zip.namelist()
            if any(not m.endswith(".npy") for m in members):   # NumPy would hand them over as bytes
                torch_file = any(m.endswith("/data.pkl") for m in members)
                raise _NotNpz("a PyTorch file (torch.save's zip): read its weights with "
                              "weights.load_torch_state, or `minifcn import` for FCN weights"
                              if torch_file else f"a zip whose members are not .npy arrays: {members[:5]}")
            for member in members:
                # by the member's own name: NpzFile's z["a.npy"] is key "a"'s member, not key
                # "a.npy"'s ("a.npy.npy"), and one key would have shadowed the other
                name = member[:-len(".npy")]
                value = z[member]       # reading checks the zip CRC: truncation shows here
                if name == _META_KEY:
                    meta = json.loads(str(value))
                    if not isinstance(meta, dict):
                        raise ValueError(f"its metadata is a JSON {type(meta).__name__}, not an object")
                else:
                    state[name] = value
    except FileNotFoundError:
        raise
    except _NotNpz as e:
        raise ValueError(f"{path}: not an .npz weights file ({e})") from None
    # zipfile's RuntimeError and NotImplementedError: a member flagged as encrypted, or packed by
    # a method it does not know (a flipped bit in a header does either)
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError,
            RuntimeError, NotImplementedError) as e:
        raise ValueError(f"{path}: not a readable .npz weights file ({e})") from None
    return state, meta


def _file_name(f):
    """What to call an open file object in a message: its name, else its type."""
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else f"<{type(f).__name__}>"


# the input convention each foreign format's weights expect (an .npz records its own)
_FORMAT_CONVENTION = {"caffemodel": "caffe", "torch-zip": "torchvision", "torch-legacy": "torchvision"}


def _read_weights(path):
    """``(state, meta, format, input convention)`` of a ``.pth``, ``.caffemodel`` or ``.npz``."""
    fmt = detect_format(path)
    if fmt == "npz":
        state, meta = load_npz(path)
        return state, meta, fmt, meta.get("input_convention")
    state = load_caffe_state(path) if fmt == "caffemodel" else load_torch_state(path)
    return state, {}, fmt, _FORMAT_CONVENTION[fmt]


def load_fcn_state(path):
    """Read trained FCN weights: ``(state, meta)``, ``meta`` holding ``format``, ``source``,
    ``input_convention``, ``num_classes`` (score_fr's outputs) and ``width`` (the one its
    layers' channel counts fit: :func:`minifcn.models.vgg.width_of_state`). See
    :func:`import_fcn`."""
    from .models.vgg import width_of_state   # models import this module: not at the top
    path = os.fspath(path)
    state, meta, fmt, convention = _read_weights(path)
    from .checkpoint import CHECKPOINT_FORMAT   # checkpoint imports this module: not at the top
    if meta.get("format") == CHECKPOINT_FORMAT:   # its arrays are model/*: "no conv1_1" misled
        raise ValueError(f"{path} is already a minifcn training checkpoint: give it to "
                         "`minifcn eval` or `minifcn predict` as it is")
    for key in ("conv1_1.weight", "score_fr.weight"):
        if key not in state:
            raise ValueError(f"{path}: no {key}: not an FCN's weights")
    try:
        width = width_of_state(state)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return dict(state), {**meta, "format": fmt, "source": os.path.basename(path),
                         "input_convention": convention,
                         "num_classes": int(state["score_fr.weight"].shape[0]), "width": width}


def import_fcn(path, model, loaded=None):
    """Load trained FCN weights into ``model``, an FCN-32s, 16s or 8s (at-once or not) of the
    file's kind, width and class count; return the file's ``meta`` (:func:`load_fcn_state`).

    The FCN reference's ``.caffemodel`` files (``fcn32s-heavy-pascal``, ``fcn8s-heavy-pascal``,
    ``voc-fcn8s-atonce`` ...) use our layer names already: ``conv1_1`` ... ``fc7`` (as
    convolutions), ``score_fr``, ``score_pool4``, ``upscore2`` ... A ``.pth`` or ``.npz`` in our
    names works too. The at-once net's fixed ``Scale`` layers (``scale_pool4``, ``scale_pool3``)
    must hold the constants the model multiplies by (0.01 and 0.0001). Every other parameter
    must match the model's, name and shape (ValueError naming the file and the layers).
    ``loaded``: the ``(state, meta)`` of the file, if already read.
    """
    path = os.fspath(path)
    state, meta = loaded or load_fcn_state(path)
    state = dict(state)
    for name in ("scale_pool4", "scale_pool3"):
        if f"{name}.weight" not in state:
            continue
        value = np.asarray(state.pop(f"{name}.weight"))
        want = getattr(model, name, None) if getattr(model, "at_once", False) else None
        if want is None or not np.allclose(value, want):
            raise ValueError(f"{path}: layer {name} scales by {value.ravel()[:1].tolist()}, but "
                             f"{type(model).__name__}{' (at once)' if want else ''} "
                             f"{'scales by ' + repr(want) if want else 'has no such layer'}")
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return meta


def input_convention(path):
    """The input convention (``"caffe"``, ``"torchvision"`` or None: not recorded) that a VGG16
    weights file expects, read from its format or, for an ``.npz``, from its meta entry alone."""
    fmt = detect_format(path)
    if fmt != "npz":
        return _FORMAT_CONVENTION[fmt]
    with np.load(os.fspath(path), allow_pickle=False) as z:
        meta = json.loads(str(z[_META_KEY])) if _META_KEY in z.files else {}
    return meta.get("input_convention")


# --------------------------------------------------------------------------- checking


def _shape(value):
    return tuple(int(s) for s in getattr(value, "shape", value))


def _fmt(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_state(expected, state, strict=True):
    """Check that ``state`` has exactly the names and shapes of ``expected``.

    Every problem is listed in one ValueError: a shape mismatch names the layer and both
    shapes, and missing and unexpected names are listed with their shapes.

    Args:
        expected: dict name -> shape (a tuple, or anything with ``.shape``, so a model's
            own ``state_dict()`` works).
        state: dict name -> array.
        strict: if False, missing and unexpected names are allowed (shapes still must match).

    >>> check_state({"fc.weight": (3, 4)}, {"fc.weight": np.zeros((3, 4))})
    >>> check_state({"fc.weight": (3, 4), "fc.bias": (3,)}, {"fc.weight": np.zeros((4, 3))})
    Traceback (most recent call last):
    ...
    ValueError: state does not match the expected layers:
      fc.weight: got shape (4, 3), expected (3, 4)
      missing fc.bias (expected shape (3,))
    """
    mismatched, missing = [], []
    for name, want in expected.items():
        if name in state:
            got, want = _shape(state[name]), _shape(want)
            if got != want:
                mismatched.append(f"{name}: got shape {_fmt(got)}, expected {_fmt(want)}")
        elif strict:
            missing.append(f"missing {name} (expected shape {_fmt(_shape(want))})")
    unexpected = [f"unexpected {name} (shape {_fmt(_shape(value))})"
                  for name, value in state.items() if strict and name not in expected]
    lines = []
    for group in (mismatched, unexpected, missing):   # the likeliest clue first
        lines += group[:8] + ([f"... and {len(group) - 8} more"] if len(group) > 8 else [])
    if lines:
        raise ValueError("state does not match the expected layers:\n  " + "\n  ".join(lines))


def vgg16_shapes(channels=(64, 128, 256, 512, 512), fc_dims=(4096, 4096), num_classes=1000,
                 in_channels=3):
    """The parameter shapes of VGG16 (classifier as fully connected layers), in layer order.

    fc6 sees the 7x7 pool5 map of a 224x224 input, flattened in (channel, row, column) order:
    ``fc6.weight`` is ``(fc_dims[0], channels[4] * 7 * 7)``.

    Args:
        channels: output channels of the five conv blocks (the paper: 64, 128, 256, 512, 512).
        fc_dims: widths of fc6 and fc7.
        num_classes: width of fc8.

    >>> shapes = vgg16_shapes()
    >>> shapes["conv1_1.weight"], shapes["fc6.weight"], len(shapes)
    ((64, 3, 3, 3), (4096, 25088), 32)
    """
    shapes = collections.OrderedDict()
    prev = in_channels
    for name in CONV_NAMES:
        out = channels[int(name[4]) - 1]
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out, prev, 3, 3), (out,)
        prev = out
    prev = prev * 7 * 7
    for name, out in zip(FC_NAMES, [*fc_dims, num_classes]):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out, prev), (out,)
        prev = out
    return shapes


def convolutionalize_state(state):
    """Net surgery: reshape a VGG16 state's fc6/fc7/fc8 weights into convolution weights.

    ``fc6.weight (out, c * k * k) -> (out, c, k, k)`` with ``c`` = conv5_3's output channels
    (k = 7 for the paper's 224 input), ``fc7.weight (out, in) -> (out, in, 1, 1)``, same for
    fc8. Shapes are read from the arrays, so width-scaled VGGs work. Biases and the convs are
    unchanged; weights already 4-D are left alone. Returns a new dict (the arrays are views).

    >>> state = {k: np.zeros(s, np.float32) for k, s in vgg16_shapes((2, 4, 4, 8, 8), (16, 16), 10).items()}
    >>> conv = convolutionalize_state(state)
    >>> conv["fc6.weight"].shape, conv["fc7.weight"].shape, conv["fc8.weight"].shape
    ((16, 8, 7, 7), (16, 16, 1, 1), (10, 16, 1, 1))
    """
    out = dict(state)
    for name in FC_NAMES:
        key = f"{name}.weight"
        if key not in state or len(state[key].shape) == 4:
            continue
        W = state[key]
        if len(W.shape) != 2:
            raise ValueError(f"{key} has shape {_fmt(W.shape)}, expected 2-D (out, in) or 4-D")
        out_c, in_features = W.shape
        if name != "fc6":
            out[key] = W.reshape(out_c, in_features, 1, 1)
            continue
        c = state["conv5_3.weight"].shape[0] if "conv5_3.weight" in state else in_features // 49
        k = int(round((in_features / c) ** 0.5)) if c else 0
        if c == 0 or c * k * k != in_features:
            raise ValueError(f"fc6.weight has shape {_fmt(W.shape)}: {in_features} inputs are "
                             f"not conv5_3's {c} channels times a square k x k window")
        out[key] = W.reshape(out_c, c, k, k)
    return out


# --------------------------------------------------------------------------- foreign formats


def detect_format(path):
    """Name the format of a weights file from its first bytes.

    Returns ``"torch-zip"``, ``"torch-legacy"``, ``"npz"`` or ``"caffemodel"``.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> save_npz(path, {"w": np.zeros(2)})
    >>> detect_format(path)
    'npz'
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"PK":
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        # a member name that is not UTF-8, or a version field out of zipfile's range, too
        except (zipfile.BadZipFile, UnicodeDecodeError, NotImplementedError) as e:
            raise ValueError(f"{path}: truncated or corrupt zip file ({e})") from None
        if any(n.endswith("/data.pkl") and n.count("/") == 1 for n in names):
            return "torch-zip"
        if names and all(n.endswith(".npy") for n in names):
            return "npz"
        raise ValueError(f"{path}: a zip file with neither <prefix>/data.pkl (torch) nor "
                         f".npy members (npz): {names[:5]}")
    if head[:1] == b"\x80":          # pickle PROTO opcode
        return "torch-legacy"
    # NetParameter starts with a field tag: name (0x0a), layers (0x12) or layer (0xa2 0x06)
    if head[:1] in (b"\x0a", b"\x12") or head[:2] == b"\xa2\x06" or path.endswith(".caffemodel"):
        return "caffemodel"
    raise ValueError(f"{path}: unrecognised weights file (starts with {head!r}); expected a "
                     ".pth (zip or legacy pickle), a .caffemodel or an .npz")


def load_torch_state(path):
    """Read a PyTorch ``.pth`` state dict, zip or legacy format, without torch.

    Returns dict name -> numpy array (C-contiguous, native byte order; bfloat16 becomes
    float32). A checkpoint dict holding the state under ``"state_dict"`` or ``"model"`` is
    unwrapped. Any pickled global other than tensors/storages/OrderedDict is refused
    (ValueError naming ``module.name``) before it can run.

    >>> import os, minifcn
    >>> fixtures = os.path.join(os.path.dirname(minifcn.__file__), "..", "tests", "fixtures")
    >>> state = load_torch_state(os.path.join(fixtures, "vgg_tiny_legacy.pth"))
    >>> state["features.0.weight"].shape, state["classifier.0.weight"].dtype
    ((2, 3, 3, 3), dtype('float32'))
    """
    path = os.fspath(path)
    fmt = detect_format(path)
    if fmt not in ("torch-zip", "torch-legacy"):
        raise ValueError(f"{path}: a {fmt} file, expected a PyTorch .pth")
    try:
        obj = torch_unpickler.load_zip(path) if fmt == "torch-zip" else torch_unpickler.load_legacy(path)
    except (torch_unpickler.UnsafePickleError, torch_unpickler.UnsupportedPickleError) as e:
        raise type(e)(f"{path}: {e}") from None
    # what a corrupt byte makes of the pickle's opcodes and lengths: an opcode out of place, a
    # length past the end of the file or past any memory (OverflowError, MemoryError at once,
    # before anything is allocated), a string that is not UTF-8; and of the zip's headers: a
    # member flagged as encrypted or packed by an unknown method
    except (pickle.UnpicklingError, EOFError, struct.error, zipfile.BadZipFile, KeyError,
            AttributeError, IndexError, TypeError, UnicodeDecodeError, OverflowError,
            MemoryError, RuntimeError, NotImplementedError) as e:   # the last two: zipfile's
        raise ValueError(f"{path}: truncated or corrupt {fmt} file "
                         f"({type(e).__name__}: {e})") from None
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise TypeError(f"{path}: holds a {type(obj).__name__}, expected a dict of tensors")
    for name, value in obj.items():
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{path}: entry {name!r} is a {type(value).__name__}, expected a tensor")
    return obj


def load_caffe_state(path):
    """Read the parameters of a Caffe ``.caffemodel`` without caffe or protobuf.

    Returns dict ``"<layer>.weight"`` / ``"<layer>.bias"`` -> float32 array (a layer's
    blobs beyond the second come back as ``"<layer>.blob<i>"``), in file order. Legacy 4-D
    blob shapes are squeezed to what the layer means: a bias ``(1, 1, 1, n) -> (n,)``, an
    InnerProduct weight ``(1, 1, out, in) -> (out, in)``.

    >>> import os, minifcn
    >>> fixtures = os.path.join(os.path.dirname(minifcn.__file__), "..", "tests", "fixtures")
    >>> state = load_caffe_state(os.path.join(fixtures, "vgg_tiny_v1.caffemodel"))
    >>> state["conv1_1.weight"].shape, state["conv1_1.bias"].shape, state["fc6.weight"].shape
    ((2, 3, 3, 3), (2,), (8, 392))
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        buf = f.read()
    try:
        layers = _protobuf.parse_net(buf)
    except _protobuf.ProtobufError as e:
        raise ValueError(f"{path}: not a readable .caffemodel ({e})") from None
    state = {}
    for name, kind, blobs in layers:
        if not blobs:
            continue
        if f"{name}.weight" in state:
            raise ValueError(f"{path}: layer {name!r} appears twice with parameters")
        for i, blob in enumerate(blobs):
            if i == 1 and blob.ndim > 1 and all(s == 1 for s in blob.shape[:-1]):
                blob = blob.reshape(-1)               # legacy bias (1, 1, 1, n)
            if i == 0 and kind == "InnerProduct" and blob.ndim == 4 and blob.shape[:2] == (1, 1):
                blob = blob.reshape(blob.shape[2:])   # legacy fc weight (1, 1, out, in)
            key = {0: "weight", 1: "bias"}.get(i, f"blob{i}")
            state[f"{name}.{key}"] = blob.astype(np.float32, copy=False)
    if not state:
        raise ValueError(f"{path}: no layer with parameters found; not a .caffemodel "
                         "(or a truncated one)?")
    return state


# --------------------------------------------------------------------------- VGG16 import


def _vgg16_expected(state):
    """VGG16 shapes with the widths read from ``state`` itself (so width-scaled nets pass)."""
    def out(name, default):
        value = state.get(f"{name}.weight")
        return value.shape[0] if value is not None and len(value.shape) >= 1 else default
    paper = vgg16_shapes()
    channels = [out(f"conv{b}_1", paper[f"conv{b}_1.weight"][0]) for b in range(1, 6)]
    fc_dims = [out("fc6", 4096), out("fc7", 4096)]
    return vgg16_shapes(channels, fc_dims, out("fc8", 1000))


def import_vgg16(path, expected=None):
    """Import VGG16 weights from a torchvision ``.pth``, a Caffe ``.caffemodel`` or an ``.npz``,
    or torchvision's VGG16 with batch norm (``vgg16_bn``: each conv's batch norm comes back as
    ``<conv>_bn.weight``, ``.bias``, ``.running_mean`` and ``.running_var``, SegNet's names).

    Names are mapped to ours (torchvision ``features.0`` -> ``conv1_1``, ``features.2`` ->
    ``conv1_2``, ``features.5`` -> ``conv2_1``, ..., ``classifier.0/3/6`` -> ``fc6/7/8``; Caffe
    names are ours already). Convolution-shaped fc weights (FCN caffemodels) are flattened
    back to ``(out, in)``. The result is checked against VGG16: every layer present, each
    conv's input channels equal to the previous output, fc6's inputs = 7 * 7 * conv5_3's
    channels; any mismatch raises ValueError naming the layer and both shapes.

    Args:
        path: the weights file.
        expected: optional dict name -> shape to match exactly (e.g. :func:`vgg16_shapes`, or
            a model's ``state_dict()``); by default the widths may be anything consistent.

    Returns:
        ``(state, meta)``: state in our names and VGG16 order, fc weights ``(out, in)``;
        meta a JSON-able dict with ``arch``, ``format``, ``source``, ``num_classes`` and the
        ``input_convention`` ("torchvision" or "caffe", or as recorded in an .npz) with its
        ``channel_order``, ``scale``, ``mean``, ``std`` (see :data:`INPUT_CONVENTIONS`).

    >>> import os, minifcn
    >>> fixtures = os.path.join(os.path.dirname(minifcn.__file__), "..", "tests", "fixtures")
    >>> state, meta = import_vgg16(os.path.join(fixtures, "vgg_tiny_zip.pth"))
    >>> list(state)[:3], state["fc6.weight"].shape, meta["input_convention"]
    (['conv1_1.weight', 'conv1_1.bias', 'conv1_2.weight'], (8, 392), 'torchvision')
    """
    path = os.fspath(path)
    raw, meta, fmt, convention = _read_weights(path)
    # vgg16_bn: conv1_1's batch norm statistics, in torchvision's names or ours
    bn = any(k in raw for k in ("features.1.running_mean", "module.features.1.running_mean",
                                "conv1_1_bn.running_mean"))
    names = TORCHVISION_BN_NAMES if bn else TORCHVISION_NAMES
    state = {}
    for name, value in raw.items():
        if name.startswith("module."):         # saved from nn.DataParallel
            name = name[len("module."):]
        if name.endswith("num_batches_tracked"):
            continue
        state[names.get(name, name)] = value
    for name in FC_NAMES:
        W = state.get(f"{name}.weight")
        if W is not None and W.ndim == 4:       # conv-shaped classifier: undo the surgery
            state[f"{name}.weight"] = W.reshape(W.shape[0], -1)
    order = _vgg16_expected(state) if expected is None else expected
    if bn:   # each conv's batch norm: four (channels,) vectors, right after its bias
        with_bn = {}
        for key, shape in order.items():
            with_bn[key] = shape
            if key.startswith("conv") and key.endswith(".bias"):
                with_bn.update({f"{key[:-len('.bias')]}_bn.{p}": shape for p in _BN_STATS})
        order = with_bn
    try:
        check_state(order, state)
    except ValueError as e:
        raise ValueError(f"{path} is not a {'vgg16_bn' if bn else 'VGG16'} {fmt} file: {e}") from None
    state = {name: state[name] for name in order}
    meta = {**meta, "arch": "vgg16_bn" if bn else "vgg16", "format": fmt, "source": os.path.basename(path),
            "num_classes": int(state["fc8.weight"].shape[0]) if "fc8.weight" in state else None,
            "input_convention": convention}
    meta.update(INPUT_CONVENTIONS.get(convention, {}))
    return state, meta
