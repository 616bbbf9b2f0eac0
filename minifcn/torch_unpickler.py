"""Read PyTorch ``.pth`` files without torch, through a restricted unpickler.

A ``.pth`` file is a Python pickle of (usually) an ``OrderedDict`` of tensors. The pickle
does not hold the numbers: each tensor is pickled as a call
``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...)`` whose
``storage`` argument is a *persistent id*, a tuple that names a raw buffer kept outside the
pickle:

``('storage', torch.FloatStorage, key, location, numel)``

Two containers exist:

* **zip** (torch >= 1.6): ``<prefix>/data.pkl`` is the pickle and ``<prefix>/data/<key>`` the
  raw bytes of each storage; ``<prefix>/byteorder`` says ``little`` or ``big``.
* **legacy** (older files, e.g. torchvision's original VGG16): one stream of five pickles,
  ``magic number, protocol version, sys_info, the object, [storage keys]``, then for each key
  an 8-byte little-endian element count and the raw bytes. The persistent id has a sixth
  item, ``view_metadata`` (``None`` or ``(view_key, offset, size)``).

Unpickling runs code: every ``GLOBAL`` opcode names a callable that ``REDUCE`` then calls.
:class:`RestrictedUnpickler` therefore never imports anything: ``find_class`` answers from a
small table of stand-ins (``OrderedDict``, our own ``_rebuild_tensor_v2``, storage type
markers, dtype markers) and raises :class:`UnsafePickleError` for every other name, *before*
anything could run.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


class UnsafePickleError(ValueError):
    """A pickle asked for a global that is not on the allow-list."""


class UnsupportedPickleError(ValueError):
    """A pickle is well-formed and safe but uses a feature this reader does not handle."""


class _Frozen:
    """Objects a pickle can reach are immutable: a BUILD opcode cannot set attributes on them.

    (Pickle's BUILD calls ``setattr`` on whatever object is on its stack; without this, a crafted
    file could rewrite our dtype table for the files loaded after it.)
    """

    __slots__ = ()

    def __init__(self, **fields):
        for k, v in fields.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, name, value):
        raise UnsafePickleError(f"refusing to set attribute {name!r} on {self!r}")


class _Marker(_Frozen):
    """An inert stand-in for a torch class or dtype named in a pickle."""

    __slots__ = ("qualname", "dtype")

    def __init__(self, qualname, dtype=None):
        super().__init__(qualname=qualname, dtype=dtype)

    def __repr__(self):
        return f"<{self.qualname}>"


class _Call(_Frozen):
    """A frozen wrapper around one of our own rebuild functions."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        super().__init__(fn=fn)

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return f"<{self.fn.__name__}>"


# (torch storage class name, torch dtype names) -> numpy dtype (without byte order).
# bfloat16 has no numpy dtype: read as uint16 and widened to float32 (see _to_numpy).
_STORAGES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "BFloat16Storage": "bf16",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "b1",
    "ComplexDoubleStorage": "c16", "ComplexFloatStorage": "c8",
    "UntypedStorage": "u1",  # raw bytes; a dtype comes with _rebuild_tensor_v3
}
_DTYPES = {
    "float64": "f8", "double": "f8", "float32": "f4", "float": "f4", "float16": "f2",
    "half": "f2", "bfloat16": "bf16", "int64": "i8", "long": "i8", "int32": "i4", "int": "i4",
    "int16": "i2", "short": "i2", "int8": "i1", "uint8": "u1", "uint16": "u2", "uint32": "u4",
    "uint64": "u8", "bool": "b1", "complex128": "c16", "complex64": "c8",
}


class _Storage(_Frozen):
    """A storage named by a persistent id; ``data`` (a 1-D array) is filled in later."""

    __slots__ = ("key", "code", "numel", "data")

    def __init__(self, key, code, numel):
        super().__init__(key=key, code=code, numel=numel, data=None)


class _View(_Storage):
    """A legacy storage that is a slice of another one (offset and size in elements)."""

    __slots__ = ("parent", "offset")

    def __init__(self, parent, offset, size):
        super().__init__(parent.key, parent.code, size)
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "offset", offset)


class _LazyTensor(_Frozen):
    """The arguments of a ``_rebuild_tensor*`` call, turned into an array once storages are read."""

    __slots__ = ("storage", "offset", "size", "stride", "code")

    def __init__(self, storage, offset, size, stride, code=None):
        if not isinstance(storage, _Storage):
            raise UnsupportedPickleError(f"tensor storage is {type(storage).__name__}, "
                                         "expected a persistent storage id")
        super().__init__(storage=storage, offset=int(offset),
                         size=tuple(int(v) for v in size), stride=tuple(int(v) for v in stride),
                         code=code or storage.code)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    # _rebuild_tensor_v2 adds (requires_grad, backward_hooks[, metadata]); none matter here.
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, *unused):
    if not isinstance(dtype, _Marker) or dtype.dtype is None:
        raise UnsupportedPickleError(f"_rebuild_tensor_v3 with dtype {dtype!r}")
    return _LazyTensor(storage, storage_offset, size, stride, dtype.dtype)


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    # nn.Parameter(tensor): keep the tensor
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    # Tensor subclasses pickle through this; only plain Tensor / Parameter are accepted.
    if getattr(new_type, "qualname", None) not in ("torch.Tensor", "torch.nn.parameter.Parameter"):
        raise UnsafePickleError(f"refusing tensor subclass {new_type!r}")
    return func(*args)


def _allowed_globals():
    table = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor"): _Call(_rebuild_tensor),
        ("torch._utils", "_rebuild_tensor_v2"): _Call(_rebuild_tensor),
        ("torch._utils", "_rebuild_tensor_v3"): _Call(_rebuild_tensor_v3),
        ("torch._utils", "_rebuild_parameter"): _Call(_rebuild_parameter),
        ("torch._utils", "_rebuild_parameter_with_state"): _Call(_rebuild_parameter),
        ("torch._tensor", "_rebuild_from_type_v2"): _Call(_rebuild_from_type_v2),
        ("torch", "Tensor"): _Marker("torch.Tensor"),
        ("torch.nn.parameter", "Parameter"): _Marker("torch.nn.parameter.Parameter"),
    }
    for name, code in _STORAGES.items():
        table[("torch", name)] = _Marker(f"torch.{name}", code)
    for name, code in _DTYPES.items():
        table[("torch", name)] = _Marker(f"torch.{name}", code)
    return table


ALLOWED_GLOBALS = _allowed_globals()


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves globals only from :data:`ALLOWED_GLOBALS` and never imports.

    ``storages`` maps storage keys to :class:`_Storage`; ``persistent_load`` fills it.

    >>> import os, pickle
    >>> class Evil:
    ...     def __reduce__(self):
    ...         return (os.system, ("echo pwned",))
    >>> RestrictedUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    minifcn.torch_unpickler.UnsafePickleError: refusing global '...system' ...
    """

    def __init__(self, file, legacy=False):
        super().__init__(file)
        self.legacy, self.storages = legacy, {}

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing global '{module}.{name}' (not a tensor, storage or OrderedDict): "
                "a weights file needs nothing else, and unpickling it could run code"
            ) from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            kind = pid[0] if isinstance(pid, tuple) and pid else pid
            raise UnsupportedPickleError(
                f"persistent id {kind!r}: only tensors are supported (a whole pickled "
                "nn.Module? save its state_dict() instead)")
        if len(pid) < 5:
            raise UnsupportedPickleError(f"malformed storage id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _Marker) or storage_type.dtype is None:
            raise UnsupportedPickleError(f"storage type {storage_type!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(key, storage_type.dtype, numel)
        storage = self.storages[key]
        view = pid[5] if self.legacy and len(pid) > 5 else None
        if view is not None:
            # very old torch: a storage that is a slice (offset, size in elements) of another
            view_key, offset, view_size = view
            parent = storage
            if view_key not in self.storages:
                self.storages[view_key] = _View(parent, int(offset), int(view_size))
            storage = self.storages[view_key]
        return storage


def _np_dtype(code, byteorder):
    if code == "bf16":
        return np.dtype(byteorder + "u2")
    return np.dtype(code if code == "b1" else byteorder + code)


def _to_numpy(t, byteorder):
    """Materialise a :class:`_LazyTensor` as a C-contiguous native-order numpy array."""
    storage = t.storage
    if (storage.parent if isinstance(storage, _View) else storage).data is None:
        raise ValueError(f"storage {storage.key!r} was never written to the file")
    if isinstance(storage, _View):
        flat = storage.parent.data[storage.offset:storage.offset + storage.numel]
    else:
        flat = storage.data
    if t.code != storage.code:
        flat = flat.view(np.uint8).view(_np_dtype(t.code, byteorder))  # untyped bytes -> dtype
    need = t.offset + sum((s - 1) * st for s, st in zip(t.size, t.stride)) + 1
    if t.offset < 0 or min(t.size + t.stride, default=0) < 0 or (all(t.size) and need > flat.size):
        raise ValueError(f"tensor of size {t.size} stride {t.stride} offset {t.offset} "
                         f"does not fit in its storage of {flat.size} elements")
    item = flat.itemsize
    out = np.lib.stride_tricks.as_strided(
        flat[t.offset:] if all(t.size) else flat[:0], shape=t.size,
        strides=[s * item for s in t.stride]).copy()
    if t.code == "bf16":
        # bfloat16 is the top half of a float32
        out = (out.astype(np.uint32) << 16).view(np.float32)
    return out.astype(out.dtype.newbyteorder("="), copy=False)


def _materialise(obj, byteorder):
    """Replace every _LazyTensor inside dicts/lists/tuples by its numpy array."""
    if isinstance(obj, _LazyTensor):
        return _to_numpy(obj, byteorder)
    if isinstance(obj, dict):
        out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _materialise(v, byteorder)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, byteorder) for v in obj)
    return obj


def _fill(storage, raw, byteorder):
    dtype = _np_dtype(storage.code, byteorder)
    if len(raw) != storage.numel * dtype.itemsize:
        raise ValueError(f"storage {storage.key!r} has {len(raw)} bytes, expected "
                         f"{storage.numel} x {dtype.itemsize} (truncated file?)")
    object.__setattr__(storage, "data", np.frombuffer(raw, dtype=dtype))


def load_zip(path):
    """Unpickle a torch >= 1.6 zip checkpoint; tensors come back as numpy arrays.

    >>> import os, minifcn
    >>> fixture = os.path.join(os.path.dirname(minifcn.__file__), "..", "tests", "fixtures",
    ...                        "vgg_tiny_zip.pth")
    >>> load_zip(fixture)["features.0.weight"].shape
    (2, 3, 3, 3)
    """
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise ValueError("zip file without <prefix>/data.pkl; not a torch checkpoint")
        prefix = pkl[0][: -len("data.pkl")]
        byteorder = "<"
        if prefix + "byteorder" in names:
            byteorder = {"little": "<", "big": ">"}[z.read(prefix + "byteorder").decode().strip()]
        unpickler = RestrictedUnpickler(io.BytesIO(z.read(pkl[0])))
        obj = unpickler.load()
        for key, storage in unpickler.storages.items():
            if isinstance(storage, _View):
                continue
            _fill(storage, z.read(f"{prefix}data/{key}"), byteorder)
    return _materialise(obj, byteorder)


def load_legacy(path):
    """Unpickle a legacy (torch < 1.6) checkpoint; tensors come back as numpy arrays.

    >>> import os, minifcn
    >>> fixture = os.path.join(os.path.dirname(minifcn.__file__), "..", "tests", "fixtures",
    ...                        "vgg_tiny_legacy.pth")
    >>> load_legacy(fixture)["classifier.6.bias"].shape
    (10,)
    """
    with open(path, "rb") as f:
        def header():
            return RestrictedUnpickler(f).load()
        magic = header()
        if magic != LEGACY_MAGIC:
            raise ValueError(f"a pickle but not a torch checkpoint "
                             f"(magic number {magic!r}, expected {LEGACY_MAGIC:#x})")
        protocol = header()
        if protocol != LEGACY_PROTOCOL:
            raise ValueError(f"legacy protocol {protocol!r}, expected {LEGACY_PROTOCOL}")
        sys_info = header()
        if not sys_info.get("little_endian", True):
            raise UnsupportedPickleError("big-endian legacy checkpoints are not supported")
        unpickler = RestrictedUnpickler(f, legacy=True)
        obj = unpickler.load()
        keys = header()
        for key in keys:
            storage = unpickler.storages[str(key)]
            count = f.read(8)
            if len(count) != 8:
                raise ValueError(f"truncated before storage {key!r}")
            (numel,) = struct.unpack("<q", count)
            if numel != storage.numel:
                raise ValueError(f"storage {key!r} holds {numel} elements, "
                                 f"the pickle says {storage.numel}")
            size = numel * _np_dtype(storage.code, "<").itemsize
            _fill(storage, f.read(size), "<")
    return _materialise(obj, "<")
