"""Input columns (engine conventions) converted to ONNX tensor elements, and refused rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batchscore.runtime.onnx.elements import ElementType, tensor_element
from batchscore.runtime.onnx.inputs import encode_column

NAN = float("nan")


def element(onnx_type: str) -> ElementType:
    found = tensor_element(onnx_type)
    assert found is not None
    return found


def test_element_types() -> None:
    assert element("tensor(float)").data_type == "float"
    assert element("tensor(double)").data_type == "double"
    assert element("tensor(uint16)").data_type == "integer"
    assert element("tensor(bool)").data_type == "boolean"
    assert element("tensor(string)").data_type == "string"
    assert tensor_element("tensor(complex64)") is None
    assert tensor_element("seq(tensor(float))") is None


def test_float32_rounds_and_overflows_to_infinity_without_warning() -> None:
    values, refused = encode_column(element("tensor(float)"), np.array([0.1, 1e300, NAN]), 3)
    assert values.dtype == np.float32
    assert values[0] == np.float32(0.1)
    assert values[1] == np.inf
    assert np.isnan(values[2])
    assert not refused.any()


def test_absent_column() -> None:
    values, refused = encode_column(element("tensor(double)"), None, 2)
    assert np.isnan(values).all()
    assert not refused.any()
    _, refused = encode_column(element("tensor(int32)"), None, 2)
    assert refused.all()


@pytest.mark.parametrize(
    ("onnx_type", "column", "expected", "refused"),
    [
        ("tensor(int8)", [127.0, 128.0, -128.0, -129.0], [127, 0, -128, 0], [0, 1, 0, 1]),
        ("tensor(uint8)", [255.0, 256.0, -1.0, 0.0], [255, 0, 0, 0], [0, 1, 1, 0]),
        ("tensor(int64)", [2.0**62, 2.0**63, 1.5, NAN], [2**62, 0, 0, 0], [0, 1, 1, 1]),
        ("tensor(uint64)", [2.0**63, 2.0**64, np.inf, -np.inf], [2**63, 0, 0, 0], [0, 1, 1, 1]),
    ],
)
def test_integer_ranges(
    onnx_type: str, column: list[float], expected: list[int], refused: list[int]
) -> None:
    values, bad = encode_column(element(onnx_type), np.array(column), len(column))
    assert values.dtype == element(onnx_type).dtype
    assert values.tolist() == expected
    assert bad.tolist() == [bool(r) for r in refused]


@pytest.mark.parametrize(
    ("column", "expected", "refused"),
    [
        (np.array([1.0, 0.0, NAN, 2.0]), [True, False, False, True], [0, 0, 1, 0]),
        (
            np.array([True, False, None, "true", "0", "maybe"], dtype=object),
            [True, False, False, True, False, False],
            [0, 0, 1, 0, 0, 1],
        ),
    ],
)
def test_booleans(column: Any, expected: list[bool], refused: list[int]) -> None:
    values, bad = encode_column(element("tensor(bool)"), column, len(column))
    assert values.dtype == np.bool_
    assert values.tolist() == expected
    assert bad.tolist() == [bool(r) for r in refused]


def test_strings_from_objects_and_numbers() -> None:
    column = np.array(["red", None, 3.0, 2.5], dtype=object)
    values, bad = encode_column(element("tensor(string)"), column, 4)
    assert values.tolist() == ["red", "", "3", "2.5"]
    assert bad.tolist() == [False, True, False, False]
    values, bad = encode_column(element("tensor(string)"), np.array([1.0, NAN]), 2)
    assert values.tolist() == ["1", ""]
    assert bad.tolist() == [False, True]


def test_numbers_from_object_columns() -> None:
    column = np.array([1, "2.5", None, "x", True], dtype=object)
    values, bad = encode_column(element("tensor(double)"), column, 5)
    np.testing.assert_array_equal(values, [1.0, 2.5, NAN, NAN, 1.0])
    assert not bad.any()
