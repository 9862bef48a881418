"""The protobuf wire reader: field numbers, ZipMap labels, external data, malformed bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from batchscore.errors import ModelError
from batchscore.runtime.onnx import OnnxEngine, modelproto
from batchscore.runtime.onnx.modelproto import WireError, uses_external_data, zipmap_labels

ML = "ai.onnx.ml"


@pytest.mark.parametrize(
    ("message", "field", "number"),
    [
        ("ModelProto", "graph", 7),
        ("ModelProto", "training_info", 20),
        ("ModelProto", "functions", 25),
        ("TrainingInfoProto", "initialization", 1),
        ("TrainingInfoProto", "algorithm", 2),
        ("GraphProto", "node", 1),
        ("GraphProto", "initializer", 5),
        ("GraphProto", "sparse_initializer", 15),
        ("NodeProto", "output", 2),
        ("NodeProto", "op_type", 4),
        ("NodeProto", "attribute", 5),
        ("NodeProto", "domain", 7),
        ("FunctionProto", "node", 7),
        ("FunctionProto", "attribute_proto", 11),
        ("AttributeProto", "name", 1),
        ("AttributeProto", "t", 5),
        ("AttributeProto", "g", 6),
        ("AttributeProto", "ints", 8),
        ("AttributeProto", "strings", 9),
        ("AttributeProto", "tensors", 10),
        ("AttributeProto", "graphs", 11),
        ("AttributeProto", "sparse_tensor", 22),
        ("AttributeProto", "sparse_tensors", 23),
        ("SparseTensorProto", "values", 1),
        ("SparseTensorProto", "indices", 2),
        ("TensorProto", "external_data", 13),
        ("TensorProto", "data_location", 14),
    ],
)
def test_field_numbers_match_onnx_proto(message: str, field: str, number: int) -> None:
    assert getattr(onnx, message).DESCRIPTOR.fields_by_name[field].number == number


def test_tensor_paths_name_real_message_fields() -> None:
    for message, fields in modelproto._TENSOR_PATHS.items():
        descriptor = getattr(onnx, message).DESCRIPTOR
        for number, child in fields.items():
            assert descriptor.fields_by_number[number].message_type.name == child


def model(
    nodes: list[onnx.NodeProto],
    initializers: list[onnx.TensorProto] | None = None,
    doc_string: str = "",
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        initializers or [],
    )
    result = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ML, 3)],
        doc_string=doc_string,
    )
    result.ir_version = 8
    return result


def zipmap(**labels: Any) -> onnx.NodeProto:
    return helper.make_node("ZipMap", ["x"], ["probabilities"], domain=ML, **labels)


def test_zipmap_labels_in_order() -> None:
    data = model([zipmap(classlabels_strings=["b", "a", "ü"]), zipmap(classlabels_int64s=[3])])
    data.graph.node[1].output[0] = "other"
    assert zipmap_labels(data.SerializeToString()) == {
        "probabilities": ("b", "a", "ü"),
        "other": (3,),
    }


def test_zipmap_int64_labels_negative_and_packed() -> None:
    data = model([zipmap(classlabels_int64s=[-1, 0, 2**40])]).SerializeToString()
    assert zipmap_labels(data) == {"probabilities": (-1, 0, 2**40)}
    # The same attribute written packed, as some writers do.
    node = model([zipmap(classlabels_int64s=[-1, 0, 2**40])]).graph.node[0]
    assert node.attribute[0].name == "classlabels_int64s"
    packed = b"".join(_varint(v & (2**64 - 1)) for v in (-1, 0, 2**40))
    attribute = _len(1, b"classlabels_int64s") + _len(8, packed)
    node_bytes = _len(2, b"probabilities") + _len(4, b"ZipMap") + _len(5, attribute)
    node_bytes += _len(7, ML.encode())
    assert zipmap_labels(_len(7, _len(1, node_bytes))) == {"probabilities": (-1, 0, 2**40)}


def test_nodes_other_than_zipmap_are_ignored() -> None:
    node = helper.make_node("ZipMap", ["x"], ["p"], domain="custom", classlabels_int64s=[1])
    assert zipmap_labels(model([node]).SerializeToString()) == {}


def external(tensor: onnx.TensorProto) -> onnx.TensorProto:
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "secret.bin"
    return tensor


def weights() -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(2, dtype=np.float32), "w")


def test_external_initializer_is_found() -> None:
    add = helper.make_node("Add", ["x", "w"], ["y"])
    assert not uses_external_data(model([add], [weights()]).SerializeToString())
    assert uses_external_data(model([add], [external(weights())]).SerializeToString())


def test_external_constant_in_a_subgraph_is_found() -> None:
    constant = helper.make_node("Constant", [], ["w"], value=external(weights()))
    branch = helper.make_graph(
        [constant], "branch", [], [helper.make_tensor_value_info("w", TensorProto.FLOAT, [2])]
    )
    node = helper.make_node("If", ["flag"], ["w"], then_branch=branch, else_branch=branch)
    assert uses_external_data(model([node]).SerializeToString())


def test_the_word_location_alone_is_not_external_data() -> None:
    data = model([], [weights()], doc_string="location: plant 7").SerializeToString()
    assert not uses_external_data(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x3a\x05abc",  # graph field longer than the message
        b"\x3a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # varint over 64 bits
        b"\x3b",  # group wire type
        b"\x39\x00\x00",  # truncated fixed64
    ],
)
def test_malformed_messages_raise_wire_error(data: bytes) -> None:
    with pytest.raises(WireError):
        zipmap_labels(data)


def test_truncated_model_raises_wire_error() -> None:
    add = helper.make_node("Add", ["x", "w"], ["y"])
    data = model([add], [external(weights())]).SerializeToString()
    with pytest.raises(WireError):
        uses_external_data(data[: data.index(b"secret.bin") + 3])


def test_engine_refuses_external_data_without_reading_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\x00" * 8)
    monkeypatch.chdir(tmp_path)
    add = helper.make_node("Add", ["x", "w"], ["y"])
    data = model([add], [external(weights())]).SerializeToString()
    with pytest.raises(ModelError, match="external data"):
        OnnxEngine().load(data)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _len(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload
