"""Reads the two facts of a serialized ONNX model that onnxruntime does not expose.

onnxruntime reports the types of a graph's inputs and outputs but not the class labels of a
``ZipMap`` node, and it loads initializers stored as *external data* from files named in the
model, relative to the working directory: an uploaded model must never make the service read a
file. Rather than depending on the ``onnx`` package at run time, this module walks the protobuf
wire format itself, descending only into the message fields that can hold what it looks for.
Field numbers are those of ``onnx.proto`` (``tests/unit/test_onnx_modelproto.py`` checks them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

Label = str | int

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_MAX_DEPTH = 64

# message -> {field number: message type of that field}, for the fields that can hold a tensor
_TENSOR_PATHS: dict[str, dict[int, str]] = {
    "ModelProto": {7: "GraphProto", 20: "TrainingInfoProto", 25: "FunctionProto"},
    "TrainingInfoProto": {1: "GraphProto", 2: "GraphProto"},
    "GraphProto": {1: "NodeProto", 5: "TensorProto", 15: "SparseTensorProto"},
    "NodeProto": {5: "AttributeProto"},
    "FunctionProto": {7: "NodeProto", 11: "AttributeProto"},
    "AttributeProto": {
        5: "TensorProto",
        6: "GraphProto",
        10: "TensorProto",
        11: "GraphProto",
        22: "SparseTensorProto",
        23: "SparseTensorProto",
    },
    "SparseTensorProto": {1: "TensorProto", 2: "TensorProto"},
}
_MODEL_GRAPH = 7
_GRAPH_NODE = 1
_NODE_OUTPUT, _NODE_OP_TYPE, _NODE_ATTRIBUTE, _NODE_DOMAIN = 2, 4, 5, 7
_ATTRIBUTE_NAME, _ATTRIBUTE_INTS, _ATTRIBUTE_STRINGS = 1, 8, 9
_TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION, _EXTERNAL = 13, 14, 1
# Every external-data reference carries the key "location"; a message whose bytes lack it
# cannot hold one, which spares walking the (often huge) attributes of tree ensembles.
_LOCATION_KEY = b"location"


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass(frozen=True)
class _Field:
    number: int
    wire_type: int
    value: int
    """The value of a varint; the start offset of a length-delimited field."""
    end: int
    """The end offset of a length-delimited field."""


def uses_external_data(data: bytes) -> bool:
    """True if any tensor of the model, in any graph or function, is stored as external data."""
    return _holds_external_data(data, "ModelProto", 0, len(data), 0)


def zipmap_labels(data: bytes) -> dict[str, tuple[Label, ...]]:
    """Class labels of each ``ai.onnx.ml`` ZipMap node of the main graph, by its output name."""
    labels: dict[str, tuple[Label, ...]] = {}
    for graph in _fields(data, 0, len(data)):
        if graph.number != _MODEL_GRAPH or graph.wire_type != _LEN:
            continue
        for node in _fields(data, graph.value, graph.end):
            if node.number == _GRAPH_NODE and node.wire_type == _LEN:
                found = _zipmap_node(data, node)
                if found is not None:
                    labels[found[0]] = found[1]
    return labels


def _zipmap_node(data: bytes, node: _Field) -> tuple[str, tuple[Label, ...]] | None:
    outputs: list[str] = []
    op_type = domain = ""
    attributes: list[_Field] = []
    for field in _fields(data, node.value, node.end):
        if field.wire_type != _LEN:
            continue
        if field.number == _NODE_OUTPUT:
            outputs.append(_text(data, field))
        elif field.number == _NODE_OP_TYPE:
            op_type = _text(data, field)
        elif field.number == _NODE_DOMAIN:
            domain = _text(data, field)
        elif field.number == _NODE_ATTRIBUTE:
            attributes.append(field)
    if op_type != "ZipMap" or domain != "ai.onnx.ml" or len(outputs) != 1:
        return None
    labels: tuple[Label, ...] = ()
    for attribute in attributes:
        name, strings, ints = _label_attribute(data, attribute)
        if name == "classlabels_strings":
            labels = tuple(strings)
        elif name == "classlabels_int64s":
            labels = tuple(ints)
    return outputs[0], labels


def _label_attribute(data: bytes, attribute: _Field) -> tuple[str, list[str], list[int]]:
    name = ""
    strings: list[str] = []
    ints: list[int] = []
    for field in _fields(data, attribute.value, attribute.end):
        if field.number == _ATTRIBUTE_NAME and field.wire_type == _LEN:
            name = _text(data, field)
        elif field.number == _ATTRIBUTE_STRINGS and field.wire_type == _LEN:
            strings.append(_text(data, field))
        elif field.number == _ATTRIBUTE_INTS and field.wire_type == _VARINT:
            ints.append(_int64(field.value))
        elif field.number == _ATTRIBUTE_INTS and field.wire_type == _LEN:
            position = field.value
            while position < field.end:
                value, position = _varint(data, position, field.end)
                ints.append(_int64(value))
    return name, strings, ints


def _holds_external_data(data: bytes, message: str, start: int, end: int, depth: int) -> bool:
    if data.find(_LOCATION_KEY, start, end) < 0:
        return False
    if depth > _MAX_DEPTH:
        raise WireError("The model is nested too deeply.")
    if message == "TensorProto":
        return any(
            field.number == _TENSOR_EXTERNAL_DATA
            or (
                field.number == _TENSOR_DATA_LOCATION
                and field.wire_type == _VARINT
                and field.value == _EXTERNAL
            )
            for field in _fields(data, start, end)
        )
    paths = _TENSOR_PATHS[message]
    for field in _fields(data, start, end):
        child = paths.get(field.number)
        if (
            child is not None
            and field.wire_type == _LEN
            and _holds_external_data(data, child, field.value, field.end, depth + 1)
        ):
            return True
    return False


def _fields(data: bytes, start: int, end: int) -> Iterator[_Field]:
    position = start
    while position < end:
        key, position = _varint(data, position, end)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _varint(data, position, end)
            yield _Field(number, wire_type, value, position)
        elif wire_type == _LEN:
            length, position = _varint(data, position, end)
            if length > end - position:
                raise WireError("A field runs past the end of its message.")
            yield _Field(number, wire_type, position, position + length)
            position += length
        elif wire_type in (_FIXED64, _FIXED32):
            position += 8 if wire_type == _FIXED64 else 4
            if position > end:
                raise WireError("A field runs past the end of its message.")
        else:
            raise WireError(f"Unsupported protobuf wire type {wire_type}.")


def _varint(data: bytes, position: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= end or shift > 63:
            raise WireError("A number is truncated or too long.")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def _int64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(data: bytes, field: _Field) -> str:
    try:
        return data[field.value : field.end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError("A name is not valid UTF-8.") from exc
