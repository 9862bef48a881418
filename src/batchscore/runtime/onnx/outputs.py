"""How a graph's outputs become a model's output columns.

* a tensor ``[N]`` or ``[N, 1]`` is one column named like the output, a tensor ``[N, m]`` is
  ``m`` columns ``<name>(0)`` ... ``<name>(m-1)``; an output whose shape the graph leaves
  undeclared is taken as one column, and its shape is checked when scoring;
* real and integer tensors give ``float64`` columns (integer ones, such as numeric class labels,
  are categorical), string tensors ``object`` columns of ``str``, boolean tensors ``object``
  columns of ``True``/``False``;
* a sequence of maps made by an ``ai.onnx.ml`` ZipMap node (classifier probabilities, as
  skl2onnx writes them) gives one ``float64`` column ``probability(<label>)`` per class label,
  in the node's label order.

Every output column is an ``output`` field: a graph does not say which output is the prediction.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.errors import ModelError
from batchscore.runtime.engine import FieldInfo
from batchscore.runtime.onnx.elements import BOOLEAN, REAL, STRING, ElementType, tensor_element
from batchscore.runtime.onnx.inputs import GraphArg
from batchscore.runtime.onnx.modelproto import Label

_SEQUENCE_OF_MAPS = re.compile(r"seq\(map\((string|int64),tensor\((float|double)\)\)\)")


@dataclass(frozen=True)
class TensorOutput:
    """A tensor output, read as one or more columns."""

    name: str
    element: ElementType
    fields: tuple[FieldInfo, ...]

    def columns(self, value: Any, n: int) -> list[npt.NDArray[Any]]:
        """The output columns of ``value``, the result for ``n`` rows."""
        array = np.asarray(value)
        width = len(self.fields)
        if array.ndim == 1 and width == 1 and array.shape[0] == n:
            array = array.reshape(n, 1)
        if array.shape != (n, width):
            raise ModelError(
                f"The ONNX output '{self.name}' has shape {list(array.shape)} for {n} rows; "
                f"[{n}, {width}] was expected."
            )
        return [_to_column(self.element, array[:, j]) for j in range(width)]


@dataclass(frozen=True)
class ProbabilityOutput:
    """A ZipMap output (one map of class label to probability per row), read as columns."""

    name: str
    labels: tuple[Label, ...]
    fields: tuple[FieldInfo, ...]

    def columns(self, value: Any, n: int) -> list[npt.NDArray[Any]]:
        """The output columns of ``value``, the result for ``n`` rows."""
        rows: Sequence[Mapping[Label, float]] = value
        keys = list(rows[0]) if len(rows) else list(self.labels)
        if len(rows) != n or sorted(map(str, keys)) != sorted(map(str, self.labels)):
            raise ModelError(f"The ONNX output '{self.name}' does not match its class labels.")
        # onnxruntime returns every row's map with the same keys in the same order.
        flat = np.fromiter(
            itertools.chain.from_iterable(row.values() for row in rows),
            dtype=np.float64,
            count=n * len(keys),
        )
        matrix = flat.reshape(n, len(keys))
        position = {str(key): j for j, key in enumerate(keys)}
        return [matrix[:, position[str(label)]].copy() for label in self.labels]


Output = TensorOutput | ProbabilityOutput


def read_outputs(
    args: Sequence[GraphArg], zipmap_labels: Callable[[], Mapping[str, tuple[Label, ...]]]
) -> tuple[Output, ...]:
    """The output columns of a graph; ModelError for an output that is not tabular.

    ``zipmap_labels`` is called only if the graph has a sequence-of-maps output.
    """
    if not args:
        raise ModelError("The ONNX model has no outputs.")
    outputs = tuple(_read_output(arg, zipmap_labels) for arg in args)
    names = [field.name for output in outputs for field in output.fields]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ModelError(f"The ONNX model's output columns collide: {', '.join(duplicates)}.")
    return outputs


def missing_column(field: FieldInfo, n: int) -> npt.NDArray[Any]:
    """A column of ``n`` missing values of ``field``."""
    if field.data_type in ("string", "boolean"):
        return np.full(n, None, dtype=object)
    return np.full(n, np.nan)


def _read_output(
    arg: GraphArg, zipmap_labels: Callable[[], Mapping[str, tuple[Label, ...]]]
) -> Output:
    if _SEQUENCE_OF_MAPS.fullmatch(arg.type):
        labels = zipmap_labels().get(arg.name)
        if not labels:
            raise ModelError(
                f"The ONNX output '{arg.name}' is a sequence of maps that does not come from a "
                "ZipMap node with class labels."
            )
        return ProbabilityOutput(
            arg.name,
            labels,
            tuple(
                FieldInfo(f"probability({label})", "double", "continuous", "output")
                for label in labels
            ),
        )
    element = tensor_element(arg.type)
    if element is None:
        raise ModelError(f"The ONNX output '{arg.name}' has the unsupported type {arg.type}.")
    shape = list(arg.shape)
    if len(shape) > 2:
        raise ModelError(
            f"The ONNX output '{arg.name}' has {len(shape)} dimensions: only tabular outputs "
            "([N], [N, 1] or [N, m]) are supported."
        )
    width = shape[1] if len(shape) == 2 else 1
    if not isinstance(width, int):
        raise ModelError(
            f"The ONNX output '{arg.name}' has shape [N, ?]: its number of columns is not declared."
        )
    names = [arg.name] if width == 1 else [f"{arg.name}({j})" for j in range(width)]
    # Integer outputs of tabular models are class labels or cluster numbers: categorical.
    op_type = "continuous" if element.kind == REAL else "categorical"
    return TensorOutput(
        arg.name,
        element,
        tuple(FieldInfo(name, element.data_type, op_type, "output") for name in names),
    )


def _to_column(element: ElementType, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if element.kind == STRING:
        return np.array([str(value) for value in values], dtype=object)
    if element.kind == BOOLEAN:
        return np.asarray(values, dtype=np.bool_).astype(object)
    return np.asarray(values, dtype=np.float64).copy()
