"""ONNX tensor element types, and how batchscore's column conventions map onto them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

REAL, INTEGER, BOOLEAN, STRING = "real", "integer", "boolean", "string"


@dataclass(frozen=True)
class ElementType:
    """One ONNX tensor element type."""

    onnx_name: str
    dtype: np.dtype[Any]
    """What onnxruntime takes and returns for it."""
    data_type: str
    """The :class:`~batchscore.runtime.engine.FieldInfo` data type of its fields."""
    kind: str
    """``real``, ``integer``, ``boolean`` or ``string``: how columns convert to it."""


_ELEMENTS = {
    e.onnx_name: e
    for e in (
        ElementType("float", np.dtype(np.float32), "float", REAL),
        ElementType("float16", np.dtype(np.float16), "float", REAL),
        ElementType("double", np.dtype(np.float64), "double", REAL),
        *(
            ElementType(f"{sign}int{bits}", np.dtype(f"{sign}int{bits}"), "integer", INTEGER)
            for sign in ("", "u")
            for bits in (8, 16, 32, 64)
        ),
        ElementType("bool", np.dtype(np.bool_), "boolean", BOOLEAN),
        ElementType("string", np.dtype(object), "string", STRING),
    )
}
_TENSOR = re.compile(r"tensor\((\w+)\)")


def tensor_element(onnx_type: str) -> ElementType | None:
    """The element type of a ``tensor(...)`` type string; None for other or unsupported types."""
    match = _TENSOR.fullmatch(onnx_type)
    return _ELEMENTS.get(match.group(1)) if match else None
