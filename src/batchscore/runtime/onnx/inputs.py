"""How a graph's inputs become a model's input fields, and input columns become tensors.

Two layouts:

* **packed** — the graph has exactly one input, of shape ``[N, k]``, and ``k > 1`` or the model's
  ``metadata_props`` has ``feature_names``. The model has ``k`` input fields, named by
  ``feature_names`` (comma-separated, blanks around names stripped) when present, else
  ``x0`` ... ``x{k-1}``; field ``j`` is column ``j`` of the tensor.
* **one tensor per field** — otherwise every graph input has shape ``[N]`` or ``[N, 1]`` and is
  one field, named like the input.

The first dimension is the batch and must not be fixed. A value the tensor's element type cannot
hold (any missing value of an integer, boolean or string tensor; a fraction or an out-of-range
number for an integer tensor) makes its row *refused*: the row is scored with a placeholder and
all its outputs are missing. Missing values of float tensors go in as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from batchscore.errors import ModelError
from batchscore.runtime.engine import FieldInfo
from batchscore.runtime.onnx.elements import (
    BOOLEAN,
    INTEGER,
    REAL,
    ElementType,
    tensor_element,
)

FEATURE_NAMES_KEY = "feature_names"

Mask = npt.NDArray[np.bool_]


class GraphArg(Protocol):
    """An input or output of the graph as onnxruntime describes it (its ``NodeArg``)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def shape(self) -> Sequence[int | str | None]: ...


@dataclass(frozen=True)
class InputTensor:
    """One graph input and the fields that fill it, in column order."""

    name: str
    element: ElementType
    fields: tuple[str, ...]
    rank: int

    def field_infos(self) -> list[FieldInfo]:
        data_type = self.element.data_type
        # Integer inputs are usually counts or codes fed to arithmetic: continuous.
        op_type = "continuous" if self.element.kind in (REAL, INTEGER) else "categorical"
        return [FieldInfo(field, data_type, op_type, "active") for field in self.fields]

    def encode(self, columns: Mapping[str, npt.NDArray[Any]], n: int) -> tuple[Any, Mask]:
        """The tensor for ``n`` rows of ``columns``, and the rows it refuses."""
        refused = np.zeros(n, dtype=np.bool_)
        tensor = np.empty((n, len(self.fields)), dtype=self.element.dtype)
        for j, field in enumerate(self.fields):
            tensor[:, j], bad = encode_column(self.element, columns.get(field), n)
            refused |= bad
        return (tensor if self.rank == 2 else tensor.reshape(n)), refused


def read_inputs(args: Sequence[GraphArg], metadata: Mapping[str, str]) -> tuple[InputTensor, ...]:
    """The input layout of a graph; ModelError if its inputs are not tabular."""
    if not args:
        raise ModelError("The ONNX model has no inputs.")
    tensors = tuple(_read_input(arg) for arg in args)
    feature_names = metadata.get(FEATURE_NAMES_KEY)
    if len(tensors) == 1 and tensors[0].rank == 2:
        only, width = tensors[0], _width(args[0])
        if feature_names is not None:
            return (_packed(only, _feature_names(feature_names, width)),)
        if width is None:
            raise ModelError(
                f"The ONNX input '{only.name}' has shape {_shape(args[0])}: its number of "
                f"columns is not declared and the model has no '{FEATURE_NAMES_KEY}' metadata."
            )
        if width > 1:
            return (_packed(only, tuple(f"x{j}" for j in range(width))),)
    for tensor, arg in zip(tensors, args, strict=True):
        if tensor.rank == 2 and _width(arg) != 1:
            raise ModelError(
                f"The ONNX input '{tensor.name}' has shape {_shape(arg)}: a model with several "
                "inputs takes one column per input, of shape [N] or [N, 1]."
            )
    return tensors


def encode_column(element: ElementType, column: Any, n: int) -> tuple[npt.NDArray[Any], Mask]:
    """``column`` (engine conventions; None = absent) as ``element`` values, and refused rows."""
    if column is None:
        if element.kind == REAL:
            return np.full(n, np.nan, dtype=element.dtype), np.zeros(n, dtype=np.bool_)
        return np.zeros(n, dtype=element.dtype), np.ones(n, dtype=np.bool_)
    column = np.asarray(column)
    if column.shape != (n,):
        raise ModelError("Input columns must be one-dimensional and of equal length.")
    if element.kind == REAL:
        with np.errstate(over="ignore"):
            return _as_float64(column).astype(element.dtype), np.zeros(n, dtype=np.bool_)
    if element.kind == INTEGER:
        return _as_integers(element.dtype, _as_float64(column))
    if element.kind == BOOLEAN:
        return _as_booleans(column)
    return _as_strings(column)


def _read_input(arg: GraphArg) -> InputTensor:
    element = tensor_element(arg.type)
    if element is None:
        raise ModelError(f"The ONNX input '{arg.name}' has the unsupported type {arg.type}.")
    shape = list(arg.shape)
    if len(shape) not in (1, 2):
        raise ModelError(
            f"The ONNX input '{arg.name}' has shape {_shape(arg)}: only tabular inputs "
            "([N], [N, 1] or [N, k]) are supported."
        )
    if isinstance(shape[0], int):
        raise ModelError(
            f"The ONNX input '{arg.name}' has a fixed batch size of {shape[0]}: its first "
            "dimension must be dynamic to score batches."
        )
    return InputTensor(arg.name, element, (arg.name,), len(shape))


def _packed(tensor: InputTensor, names: tuple[str, ...]) -> InputTensor:
    return InputTensor(tensor.name, tensor.element, names, 2)


def _feature_names(text: str, width: int | None) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise ModelError(
            f"The ONNX metadata '{FEATURE_NAMES_KEY}' must list distinct, non-empty names."
        )
    if width is not None and len(names) != width:
        raise ModelError(
            f"The ONNX metadata '{FEATURE_NAMES_KEY}' names {len(names)} features but the "
            f"input has {width} columns."
        )
    return names


def _width(arg: GraphArg) -> int | None:
    width = list(arg.shape)[-1]
    return width if isinstance(width, int) else None


def _shape(arg: GraphArg) -> str:
    dims = [d if isinstance(d, int) else (d or "?") for d in arg.shape]
    return "[" + ", ".join(str(d) for d in dims) + "]"


def _as_float64(column: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    if column.dtype.kind in "biuf":
        return column.astype(np.float64)
    return np.array([_number(value) for value in column], dtype=np.float64)


def _number(value: object) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    if isinstance(value, int | float | np.number | np.bool_):
        return float(value)
    return math.nan


def _as_integers(
    dtype: np.dtype[Any], values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[Any], Mask]:
    info = np.iinfo(dtype)
    # float(info.max) + 1 is the exclusive upper bound, exact even where float(info.max) rounds.
    refused = ~(
        (values == np.trunc(values))
        & (values >= float(info.min))
        & (values < float(info.max) + 1.0)
    )
    return np.where(refused, 0.0, values).astype(dtype), refused


def _as_booleans(column: npt.NDArray[Any]) -> tuple[npt.NDArray[np.bool_], Mask]:
    if column.dtype.kind in "biuf":
        values = column.astype(np.float64)
        refused = np.isnan(values)
        return (values != 0) & ~refused, refused
    parsed = [_boolean(value) for value in column]
    return (
        np.array([value is True for value in parsed], dtype=np.bool_),
        np.array([value is None for value in parsed], dtype=np.bool_),
    )


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str):
        return {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
    number = _number(value)
    return None if math.isnan(number) else number != 0


def _as_strings(column: npt.NDArray[Any]) -> tuple[npt.NDArray[np.object_], Mask]:
    texts = [_string(value) for value in column]
    refused = np.array([text is None for text in texts], dtype=np.bool_)
    return np.array([text or "" for text in texts], dtype=object), refused


def _string(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    number = _number(value)
    if math.isnan(number):
        return None
    if math.isfinite(number) and number == math.floor(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number)
