"""OnnxEngine on small graphs built with the onnx helper API, checked against numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from batchscore.errors import ModelError
from batchscore.runtime.engine import FieldInfo
from batchscore.runtime.onnx import OnnxEngine, OnnxModel
from batchscore.runtime.onnx.outputs import read_outputs

NAN = float("nan")
ML = "ai.onnx.ml"


def build(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    initializers: Sequence[onnx.TensorProto] = (),
    metadata: dict[str, str] | None = None,
    name: str = "graph",
) -> bytes:
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ML, 3)]
    )
    model.ir_version = 8
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def tensor(name: str, element: int, shape: Sequence[int | str | None] | None) -> Any:
    return helper.make_tensor_value_info(name, element, shape)


def load(data: bytes) -> OnnxModel:
    return OnnxEngine().load(data)


def score(model: OnnxModel, **columns: Any) -> dict[str, npt.NDArray[Any]]:
    return model.score({name: np.asarray(values) for name, values in columns.items()})


W = np.array([[0.5], [-1.25], [2.0]])
B = np.array([0.75])
ROWS = np.array([[1.0, 2.0, 3.0], [-4.0, 0.5, 0.25], [8.0, -16.0, 0.125], [0.0, 0.0, 0.0]])


def linear_regression(element: int = TensorProto.DOUBLE, **kwargs: Any) -> bytes:
    dtype = helper.tensor_dtype_to_np_dtype(element)
    return build(
        [
            helper.make_node("MatMul", ["X", "W"], ["XW"]),
            helper.make_node("Add", ["XW", "B"], ["y"]),
        ],
        [tensor("X", element, [None, 3])],
        [tensor("y", element, [None, 1])],
        [
            numpy_helper.from_array(W.astype(dtype), "W"),
            numpy_helper.from_array(B.astype(dtype), "B"),
        ],
        **kwargs,
    )


@pytest.mark.parametrize("element", [TensorProto.DOUBLE, TensorProto.FLOAT])
def test_packed_input_is_named_x0_to_xk_and_scores_like_numpy(element: int) -> None:
    model = load(linear_regression(element))
    data_type = "double" if element == TensorProto.DOUBLE else "float"
    assert model.name == "graph"
    assert model.inputs == tuple(
        FieldInfo(f"x{j}", data_type, "continuous", "active") for j in range(3)
    )
    assert model.outputs == (FieldInfo("y", data_type, "continuous", "output"),)
    out = score(model, x0=ROWS[:, 0], x1=ROWS[:, 1], x2=ROWS[:, 2])
    # Dyadic values: every product and sum is exact, whatever the summation order.
    assert out["y"].dtype == np.float64
    np.testing.assert_array_equal(out["y"], (ROWS @ W + B).ravel())


def test_packed_input_is_named_by_feature_names_metadata() -> None:
    model = load(linear_regression(metadata={"feature_names": "speed, load ,temp"}))
    assert [f.name for f in model.inputs] == ["speed", "load", "temp"]
    out = score(model, speed=ROWS[:, 0], load=ROWS[:, 1], temp=ROWS[:, 2])
    np.testing.assert_array_equal(out["y"], (ROWS @ W + B).ravel())


def test_missing_float_values_go_in_as_nan() -> None:
    model = load(linear_regression())
    out = score(model, x0=[1.0, NAN], x1=[2.0, 2.0])  # x2 absent: missing on every row
    assert np.isnan(out["y"]).all()
    out = score(model, x0=[1.0, NAN], x1=[2.0, 2.0], x2=[3.0, 3.0])
    assert out["y"][0] == (ROWS[0] @ W + B)[0]
    assert np.isnan(out["y"][1])


@pytest.mark.parametrize(
    ("feature_names", "problem"),
    [("a,b", "names 2 features"), ("a,,c", "distinct, non-empty"), ("a,b,a", "distinct")],
)
def test_bad_feature_names_are_refused(feature_names: str, problem: str) -> None:
    with pytest.raises(ModelError, match=problem):
        load(linear_regression(metadata={"feature_names": feature_names}))


def three_inputs() -> bytes:
    return build(
        [
            helper.make_node("Cast", ["a"], ["a64"], to=TensorProto.DOUBLE),
            helper.make_node("Reshape", ["b", "column"], ["b2"]),
            helper.make_node("Cast", ["c"], ["c64"], to=TensorProto.DOUBLE),
            helper.make_node("Mul", ["a64", "b2"], ["ab"]),
            helper.make_node("Sub", ["ab", "c64"], ["y"]),
        ],
        [
            tensor("a", TensorProto.FLOAT, [None, 1]),
            tensor("b", TensorProto.DOUBLE, ["N"]),
            tensor("c", TensorProto.INT64, [None, 1]),
        ],
        [tensor("y", TensorProto.DOUBLE, [None, 1])],
        [numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "column")],
    )


def test_one_tensor_per_input_is_named_by_the_graph() -> None:
    model = load(three_inputs())
    assert model.inputs == (
        FieldInfo("a", "float", "continuous", "active"),
        FieldInfo("b", "double", "continuous", "active"),
        FieldInfo("c", "integer", "continuous", "active"),
    )
    a = np.array([1.5, -2.0, 0.1, 3.0])
    b = np.array([2.0, 0.5, 10.0, -1.0])
    c = np.array([1.0, 7.0, -3.0, 0.0])
    out = score(model, a=a, b=b, c=c)
    expected = a.astype(np.float32).astype(np.float64) * b - c
    np.testing.assert_array_equal(out["y"], expected)


def test_rows_an_integer_tensor_cannot_hold_are_refused() -> None:
    model = load(three_inputs())
    c = np.array([2.0, NAN, 2.5, 2.0**63, -(2.0**63)])
    out = score(model, a=np.ones(5), b=np.ones(5), c=c)
    np.testing.assert_array_equal(out["y"], [-1.0, NAN, NAN, NAN, 1.0 + 2.0**63])
    out = score(model, a=[1.0, 2.0], b=[1.0, 1.0])  # c absent
    assert np.isnan(out["y"]).all()


def test_empty_batch_and_unequal_columns() -> None:
    model = load(three_inputs())
    out = score(model, a=[], b=[], c=[])
    assert out["y"].shape == (0,)
    assert out["y"].dtype == np.float64
    with pytest.raises(ModelError, match="equal length"):
        score(model, a=[1.0, 2.0], b=[1.0], c=[1.0, 2.0])


COEFFICIENTS = np.array([[1.0, -0.5, 0.25], [0.0, 1.5, -1.0], [-2.0, 0.5, 0.75]])
INTERCEPTS = np.array([0.5, -0.25, 0.0])


def classifier(labels: list[str] | list[int]) -> bytes:
    textual = isinstance(labels[0], str)
    classifier_labels: dict[str, Any] = {
        "classlabels_strings" if textual else "classlabels_ints": labels
    }
    zipmap_labels: dict[str, Any] = {
        "classlabels_strings" if textual else "classlabels_int64s": labels
    }
    label_type = TensorProto.STRING if textual else TensorProto.INT64
    probabilities = helper.make_value_info(
        "output_probability",
        helper.make_sequence_type_proto(
            helper.make_map_type_proto(
                label_type, helper.make_tensor_type_proto(TensorProto.FLOAT, [])
            )
        ),
    )
    return build(
        [
            helper.make_node(
                "LinearClassifier",
                ["X"],
                ["output_label", "scores"],
                domain=ML,
                coefficients=COEFFICIENTS.ravel().tolist(),
                intercepts=INTERCEPTS.tolist(),
                post_transform="SOFTMAX",
                **classifier_labels,
            ),
            helper.make_node(
                "ZipMap", ["scores"], ["output_probability"], domain=ML, **zipmap_labels
            ),
        ],
        [tensor("X", TensorProto.FLOAT, [None, 3])],
        [tensor("output_label", label_type, [None]), probabilities],
        metadata={"feature_names": "u,v,w"},
    )


def softmax_expected(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    scores = rows.astype(np.float32).astype(np.float64) @ COEFFICIENTS.T + INTERCEPTS
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    result: npt.NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return result


CLASS_ROWS = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [3.0, -1.0, 0.0], [0.1, 0.2, -0.3]])


def test_zipmap_classifier_gives_label_and_probability_columns() -> None:
    labels = ["setosa", "versicolor", "virginica"]
    model = load(classifier(labels))
    assert model.outputs == (
        FieldInfo("output_label", "string", "categorical", "output"),
        *(FieldInfo(f"probability({label})", "double", "continuous", "output") for label in labels),
    )
    out = score(model, u=CLASS_ROWS[:, 0], v=CLASS_ROWS[:, 1], w=CLASS_ROWS[:, 2])
    expected = softmax_expected(CLASS_ROWS)
    assert out["output_label"].dtype == object
    assert out["output_label"].tolist() == [labels[j] for j in expected.argmax(axis=1)]
    for j, label in enumerate(labels):
        column = out[f"probability({label})"]
        assert column.dtype == np.float64
        np.testing.assert_allclose(column, expected[:, j], rtol=1e-6)


def test_zipmap_keeps_the_label_order_of_the_model() -> None:
    labels = ["zulu", "alpha", "mike"]
    out = score(
        load(classifier(labels)), u=CLASS_ROWS[:, 0], v=CLASS_ROWS[:, 1], w=CLASS_ROWS[:, 2]
    )
    assert list(out) == [
        "output_label",
        "probability(zulu)",
        "probability(alpha)",
        "probability(mike)",
    ]
    np.testing.assert_allclose(
        out["probability(zulu)"], softmax_expected(CLASS_ROWS)[:, 0], rtol=1e-6
    )


def test_numeric_labels_are_float64_columns() -> None:
    labels = [7, -2, 30]
    model = load(classifier(labels))
    assert model.outputs[0] == FieldInfo("output_label", "integer", "categorical", "output")
    assert [f.name for f in model.outputs[1:]] == [
        "probability(7)",
        "probability(-2)",
        "probability(30)",
    ]
    out = score(model, u=CLASS_ROWS[:, 0], v=CLASS_ROWS[:, 1], w=CLASS_ROWS[:, 2])
    expected = softmax_expected(CLASS_ROWS)
    assert out["output_label"].dtype == np.float64
    np.testing.assert_array_equal(out["output_label"], [labels[j] for j in expected.argmax(axis=1)])
    np.testing.assert_allclose(out["probability(-2)"], expected[:, 1], rtol=1e-6)


@dataclass(frozen=True)
class Arg:
    name: str
    type: str
    shape: list[int | str | None]


def test_sequence_of_maps_not_made_by_zipmap_is_refused() -> None:
    # onnxruntime has no other operator that makes one; read_outputs is checked directly.
    arg = Arg("scores", "seq(map(string,tensor(float)))", [])
    assert read_outputs([arg], lambda: {"scores": ("a",)})[0].fields[0].name == "probability(a)"
    with pytest.raises(ModelError, match="'scores' is a sequence of maps"):
        read_outputs([arg], dict)


def test_large_batch_is_one_vectorized_call() -> None:
    model = load(classifier(["a", "b", "c"]))
    rows = np.random.default_rng(7).normal(size=(100_000, 3))
    out = score(model, u=rows[:, 0], v=rows[:, 1], w=rows[:, 2])
    np.testing.assert_allclose(out["probability(c)"], softmax_expected(rows)[:, 2], rtol=1e-5)


def test_missing_inputs_of_a_classifier_pass_as_nan() -> None:
    out = score(load(classifier(["a", "b", "c"])), u=[NAN], v=[0.0], w=[0.0])
    assert np.isnan(out["probability(a)"]).all()


def test_matrix_output_becomes_numbered_columns() -> None:
    model = load(
        build(
            [helper.make_node("Mul", ["X", "X"], ["square"])],
            [tensor("X", TensorProto.DOUBLE, [None, 2])],
            [tensor("square", TensorProto.DOUBLE, [None, 2])],
        )
    )
    assert [f.name for f in model.outputs] == ["square(0)", "square(1)"]
    out = score(model, x0=[1.5, -3.0], x1=[2.0, 0.5])
    np.testing.assert_array_equal(out["square(0)"], [2.25, 9.0])
    np.testing.assert_array_equal(out["square(1)"], [4.0, 0.25])


def test_boolean_output_follows_the_column_convention() -> None:
    model = load(
        build(
            [helper.make_node("Greater", ["x", "zero"], ["positive"])],
            [tensor("x", TensorProto.DOUBLE, [None])],
            [tensor("positive", TensorProto.BOOL, [None])],
            [numpy_helper.from_array(np.array(0.0), "zero")],
        )
    )
    assert model.outputs == (FieldInfo("positive", "boolean", "categorical", "output"),)
    out = score(model, x=[1.0, -1.0, NAN])
    assert out["positive"].dtype == object
    assert out["positive"].tolist() == [True, False, False]


def label_encoder() -> bytes:
    return build(
        [
            helper.make_node(
                "LabelEncoder",
                ["colour"],
                ["code"],
                domain=ML,
                keys_strings=["red", "green", "blue"],
                values_int64s=[1, 2, 3],
                default_int64=0,
            )
        ],
        [tensor("colour", TensorProto.STRING, [None, 1])],
        [tensor("code", TensorProto.INT64, [None, 1])],
    )


def test_string_input_and_refused_missing_strings() -> None:
    model = load(label_encoder())
    assert model.inputs == (FieldInfo("colour", "string", "categorical", "active"),)
    colours = np.array(["blue", "red", None, "pink"], dtype=object)
    out = score(model, colour=colours)
    np.testing.assert_array_equal(out["code"], [3.0, 1.0, NAN, 0.0])


def test_boolean_input() -> None:
    model = load(
        build(
            [helper.make_node("Not", ["flag"], ["negated"])],
            [tensor("flag", TensorProto.BOOL, [None])],
            [tensor("negated", TensorProto.BOOL, [None])],
        )
    )
    assert model.inputs == (FieldInfo("flag", "boolean", "categorical", "active"),)
    out = score(model, flag=np.array([True, False, None], dtype=object))
    assert out["negated"].tolist() == [False, True, None]


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ([tensor("image", TensorProto.FLOAT, [None, 3, 32, 32])], "only tabular inputs"),
        ([tensor("x", TensorProto.FLOAT, [1, 3])], "fixed batch size of 1"),
        ([tensor("x", TensorProto.FLOAT, [None, "k"])], "number of columns is not declared"),
        ([tensor("x", TensorProto.FLOAT, [])], "only tabular inputs"),
        (
            [tensor("x", TensorProto.FLOAT, [None, 3]), tensor("z", TensorProto.FLOAT, [None, 1])],
            "one column per input",
        ),
        (
            [helper.make_tensor_sequence_value_info("x", TensorProto.FLOAT, [None])],
            "unsupported type seq\\(tensor\\(float\\)\\)",
        ),
    ],
)
def test_non_tabular_inputs_are_refused(inputs: list[Any], problem: str) -> None:
    nodes = [helper.make_node("Identity", [inputs[0].name], ["y"])]
    data = build(nodes, inputs, [helper.make_value_info("y", inputs[0].type)])
    with pytest.raises(ModelError, match=problem):
        load(data)


def test_output_of_three_dimensions_is_refused() -> None:
    data = build(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        [tensor("x", TensorProto.FLOAT, [None, 4])],
        [tensor("y", TensorProto.FLOAT, [None, 2, 2])],
        [numpy_helper.from_array(np.array([-1, 2, 2], dtype=np.int64), "shape")],
    )
    with pytest.raises(ModelError, match="'y' has 3 dimensions"):
        load(data)


def test_output_of_undeclared_width_is_refused() -> None:
    # The width depends on the data, so neither the graph nor shape inference can declare it.
    data = build(
        [
            helper.make_node("ReduceMax", ["x"], ["top"], keepdims=1),
            helper.make_node("Reshape", ["top", "flat"], ["top1"]),
            helper.make_node("Cast", ["top1"], ["width"], to=TensorProto.INT64),
            helper.make_node("Concat", ["any", "width"], ["shape"], axis=0),
            helper.make_node("Reshape", ["x", "shape"], ["y"]),
        ],
        [tensor("x", TensorProto.FLOAT, [None, 4])],
        [tensor("y", TensorProto.FLOAT, [None, None])],
        [
            numpy_helper.from_array(np.array([1], dtype=np.int64), "flat"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "any"),
        ],
    )
    with pytest.raises(ModelError, match="'y' has shape \\[N, \\?\\]"):
        load(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"\x0a\xff\xff\xff\xff\x0f", b'<PMML version="4.4"/>'],
)
def test_malformed_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(ModelError, match=r"^Invalid ONNX model\."):
        load(data)
