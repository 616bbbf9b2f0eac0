"""A minimal protobuf wire-format reader, enough to read Caffe ``.caffemodel`` files.

A protobuf message is a flat sequence of fields. Each field starts with a *tag*, a varint
``(field_number << 3) | wire_type``, followed by its value:

=========  ==================  =====================================================
wire type  name                value
=========  ==================  =====================================================
0          varint              7 bits per byte, low bits first, high bit = "more"
1          64-bit              8 little-endian bytes (double, fixed64)
2          length-delimited    a varint length, then that many bytes (string, bytes,
                               an embedded message, or a *packed* repeated field)
5          32-bit              4 little-endian bytes (float, fixed32)
=========  ==================  =====================================================

Nothing in the bytes says what a field *means*: the schema (``caffe.proto``) does. We only
need four messages of it, so their field numbers are written down here instead of compiling
``caffe.proto``::

    NetParameter      layer = 100 (LayerParameter), layers = 2 (V1LayerParameter, older files)
    LayerParameter    name = 1, type = 2 (string), blobs = 7
    V1LayerParameter  name = 4, type = 5 (enum), blobs = 6
    BlobProto         num = 1, channels = 2, height = 3, width = 4 (legacy 4-D shape),
                      data = 5 (packed float), shape = 7 (BlobShape), double_data = 8
    BlobShape         dim = 1 (packed int64)

Unknown fields are skipped, as protobuf requires. A packed repeated field may also arrive
unpacked (one tag per element); parsers must accept both, and so do we.
"""
import numpy as np

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5

# V1LayerParameter.LayerType values (caffe.proto) that hold a weight and a bias.
V1_LAYER_TYPES = {4: "Convolution", 14: "InnerProduct", 39: "Deconvolution"}


class ProtobufError(ValueError):
    """Raised when the bytes are not a well-formed protobuf message."""


def read_varint(buf, pos):
    """Decode one varint of ``buf`` at ``pos``; return ``(value, new_pos)``.

    >>> read_varint(b"\\xac\\x02", 0)   # 300 = 0b10_0101100
    (300, 2)
    """
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint longer than 10 bytes")


def iter_fields(buf):
    """Yield ``(field_number, wire_type, value)`` for every field of one message.

    ``value`` is an int for varints and a memoryview of the raw bytes otherwise (for
    length-delimited fields: the payload, without its length prefix).

    >>> [(f, w, bytes(v) if w else v) for f, w, v in iter_fields(b"\\x08\\x96\\x01\\x12\\x02hi")]
    [(1, 0, 150), (2, 2, b'hi')]
    """
    buf = memoryview(buf)
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = read_varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise ProtobufError(f"field number 0 at byte {pos}")
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == LENGTH:
            size, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
            if len(value) != size:
                raise ProtobufError(f"truncated: field {field} wants {size} bytes, "
                                    f"{len(value)} left")
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            value, pos = buf[pos:pos + size], pos + size
            if len(value) != size:
                raise ProtobufError(f"truncated: field {field} wants {size} bytes")
        else:
            # 3/4 are the long-deprecated groups; caffe.proto has none.
            raise ProtobufError(f"unsupported wire type {wire} for field {field}")
        yield field, wire, value


def _repeated_numbers(chunks, dtype):
    """Concatenate a repeated float/double field given as packed payloads or single values."""
    parts = [np.frombuffer(c, dtype=dtype) for c in chunks]
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()


def _repeated_varints(items):
    """Decode a repeated int64 field given as (wire_type, value) items, packed or not."""
    out = []
    for wire, value in items:
        if wire == VARINT:
            out.append(value)
        else:
            pos = 0
            while pos < len(value):
                v, pos = read_varint(value, pos)
                out.append(v)
    # int64 is two's complement on the wire
    return [v - (1 << 64) if v >= 1 << 63 else v for v in out]


def parse_blob(buf):
    """Parse a BlobProto into a float32 (or float64) array of its declared shape.

    The shape comes from ``shape`` (field 7) when present, else from the legacy
    ``num, channels, height, width`` (fields 1-4), else it is ``(len(data),)``.

    >>> import struct
    >>> blob = b"\\x3a\\x04\\x0a\\x02\\x02\\x01" + b"\\x2a\\x08" + struct.pack("<2f", 1.5, -2.0)
    >>> parse_blob(blob)   # shape {dim: 2, dim: 1}, data [1.5, -2.0]
    array([[ 1.5],
           [-2. ]], dtype=float32)
    """
    legacy = {}
    dims, data, double_data = None, [], []
    for field, wire, value in iter_fields(buf):
        if field in (1, 2, 3, 4) and wire == VARINT:
            legacy[field] = value
        elif field == 5:
            data.append(value)          # packed payload, or one FIXED32 float
        elif field == 8:
            double_data.append(value)
        elif field == 7 and wire == LENGTH:
            dim_items = [(w, v) for f, w, v in iter_fields(value) if f == 1]
            dims = _repeated_varints(dim_items)
    if double_data:
        array = _repeated_numbers(double_data, "<f8")
    else:
        array = _repeated_numbers(data, "<f4")
    if dims is None and legacy:
        dims = [legacy.get(k, 0) for k in (1, 2, 3, 4)]
    if dims is None:
        dims = [array.size]
    if int(np.prod(dims)) != array.size:
        raise ProtobufError(f"blob of shape {tuple(dims)} holds {array.size} values, "
                            f"expected {int(np.prod(dims))}")
    return array.reshape(dims)


def _text(value, what):
    """A string field's bytes as text (protobuf strings are UTF-8; other bytes are corruption)."""
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtobufError(f"{what} is not UTF-8 text ({e.reason} at byte {e.start}): "
                            "the file is corrupt") from None


def parse_net(buf):
    """Parse a NetParameter; return a list of ``(name, type, [blob arrays])`` per layer.

    Both layer formats are read: ``layer`` (field 100, LayerParameter) and the older
    ``layers`` (field 2, V1LayerParameter, used by e.g. the original VGG16 caffemodel).
    ``type`` is a string ("Convolution", "InnerProduct", ...; V1 enum values that we do not
    name come back as ``"V1:<number>"``).

    >>> layer = b"\\x0a\\x02fc" + b"\\x12\\x0cInnerProduct"          # name, type
    >>> blob = b"\\x2a\\x04" + bytes(4)                                # data [0.0]
    >>> layer += b"\\x3a" + bytes([len(blob)]) + blob                   # blobs (field 7)
    >>> net = b"\\xa2\\x06" + bytes([len(layer)]) + layer              # layer (field 100)
    >>> parse_net(net)
    [('fc', 'InnerProduct', [array([0.], dtype=float32)])]
    """
    layers = []
    for field, wire, value in iter_fields(buf):
        if wire != LENGTH or field not in (100, 2):
            continue
        new = field == 100
        name_f, type_f, blobs_f = (1, 2, 7) if new else (4, 5, 6)
        name, kind, blobs = None, None, []
        for f, w, v in iter_fields(value):
            if f == name_f and w == LENGTH:
                name = _text(v, "a layer name")
            elif f == type_f:
                if new and w == LENGTH:
                    kind = _text(v, f"layer {name!r}'s type")
                elif not new and w == VARINT:
                    kind = V1_LAYER_TYPES.get(v, f"V1:{v}")
            elif f == blobs_f and w == LENGTH:
                try:
                    blobs.append(parse_blob(v))
                except ProtobufError as e:
                    raise ProtobufError(f"layer {name!r} blob {len(blobs)}: {e}") from None
        layers.append((name, kind, blobs))
    return layers
