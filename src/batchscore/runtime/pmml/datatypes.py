"""PMML data types and the column representation used inside the evaluator.

Inside the plan every column is either ``float64`` (``double``, ``float``, ``integer``,
``boolean`` and the date and time types; NaN = missing, booleans as 1.0/0.0, dates and times
as counts, see :mod:`batchscore.runtime.pmml.temporal`) or ``object`` holding ``str``
(``string`` fields; None = missing). A ``float`` field holds float32-rounded values, so
comparing it with float32-parsed constants in float64 is exactly float32 comparison.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from batchscore.errors import ModelError
from batchscore.runtime.pmml import temporal

Column: TypeAlias = npt.NDArray[Any]
F64: TypeAlias = npt.NDArray[np.float64]
Bool: TypeAlias = npt.NDArray[np.bool_]
Scalar: TypeAlias = float | str

NUMERIC_TYPES = frozenset({"double", "float", "integer", "boolean"}) | temporal.TEMPORAL_TYPES
"""Types held as float64 columns (numbers, booleans, dates and times)."""
SUPPORTED_TYPES = NUMERIC_TYPES | {"string"}
OP_TYPES = frozenset({"continuous", "categorical", "ordinal"})


def check_data_type(data_type: str, where: str) -> str:
    """Return ``data_type`` if the evaluator supports it, else raise ModelError."""
    if data_type not in SUPPORTED_TYPES:
        raise ModelError(f"Unsupported PMML dataType: {data_type} ({where}).")
    return data_type


def is_numeric(data_type: str) -> bool:
    return data_type in NUMERIC_TYPES


def parse_scalar(data_type: str, text: str) -> Scalar:
    """Parse a PMML value literal per ``data_type``; unparseable is a ModelError."""
    try:
        return _parse(data_type, text)
    except ValueError as exc:
        raise ModelError(f"Invalid PMML: {text!r} is not a valid {data_type} value.") from exc


def try_parse_scalar(data_type: str, text: str) -> Scalar | None:
    """Like :func:`parse_scalar` but None when the literal does not parse."""
    try:
        return _parse(data_type, text)
    except ValueError:
        return None


def _parse(data_type: str, text: str) -> Scalar:
    text = text.strip() if data_type != "string" else text
    if data_type == "string":
        return text
    if data_type in temporal.TEMPORAL_TYPES:
        return temporal.parse(data_type, text)
    if data_type == "boolean":
        lowered = text.lower()
        if lowered in ("true", "1", "1.0"):
            return 1.0
        if lowered in ("false", "0", "0.0"):
            return 0.0
        raise ValueError(text)
    value = float(text.replace("Infinity", "inf"))
    if data_type == "float":
        return float(np.float32(value))
    if data_type == "integer" and (not math.isfinite(value) or value != math.floor(value)):
        raise ValueError(text)
    return value


def format_scalar(value: Scalar) -> str:
    """Canonical string form of a value, as Java would print it for categories."""
    if isinstance(value, str):
        return value
    if value == math.floor(value) and math.isfinite(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def missing_column(data_type: str, n: int) -> Column:
    if is_numeric(data_type):
        return np.full(n, np.nan)
    return np.full(n, None, dtype=object)


_NONE = np.array(None, dtype=object)


def missing_mask(column: Column) -> Bool:
    """True where a plan column is missing (NaN or None)."""
    if column.dtype == object:
        return np.asarray(np.equal(column, _NONE), dtype=np.bool_)
    return np.isnan(column)


def cast_column(data_type: str, column: Column) -> Column:
    """Convert a plan column to ``data_type`` (numbers <-> strings, float32 rounding)."""
    if is_numeric(data_type):
        if column.dtype == object:
            out = np.full(column.shape[0], np.nan)
            present = np.flatnonzero(~missing_mask(column))
            if present.size:
                texts, inverse = np.unique(column[present].astype(str), return_inverse=True)
                parsed = [try_parse_scalar(data_type, str(text)) for text in texts]
                numbers = np.array([v if isinstance(v, float) else np.nan for v in parsed])
                out[present] = numbers[inverse]
            return out
        values = np.asarray(column, dtype=np.float64)
        if data_type == "float":
            return values.astype(np.float32).astype(np.float64)
        if data_type == "integer":
            with np.errstate(invalid="ignore"):
                return np.trunc(values)
        if data_type == "boolean":
            with np.errstate(invalid="ignore"):
                return np.where(np.isnan(values), np.nan, (values != 0).astype(np.float64))
        return values
    if column.dtype == object:
        return column
    out_obj = np.full(column.shape[0], None, dtype=object)
    present = np.flatnonzero(~np.isnan(column))
    if present.size:
        values, inverse = np.unique(column[present], return_inverse=True)
        texts = np.array([format_scalar(float(v)) for v in values], dtype=object)
        out_obj[present] = texts[inverse]
    return out_obj


def constant_column(value: Scalar | None, data_type: str, n: int) -> Column:
    if value is None:
        return missing_column(data_type, n)
    if isinstance(value, str):
        return np.full(n, value, dtype=object)
    return np.full(n, value, dtype=np.float64)


def cast_typed(source: str, data_type: str, column: Column) -> Column:
    """Convert a column of PMML type ``source`` to ``data_type``: as :func:`cast_column`, but
    a date or time changes epoch or unit, or becomes its ISO text as a string."""
    if source == data_type:
        return column
    if source in temporal.TEMPORAL_TYPES:
        if data_type in temporal.TEMPORAL_TYPES:
            try:
                return temporal.convert(source, data_type, np.asarray(column, dtype=np.float64))
            except ValueError as exc:
                raise ModelError(
                    f"Invalid PMML: {source} is not convertible to {data_type}."
                ) from exc
        if data_type == "string" and source in temporal.PLAIN_TYPES:
            return _temporal_text(source, column)
    return cast_column(data_type, column)


def _temporal_text(data_type: str, column: Column) -> Column:
    out = np.full(column.shape[0], None, dtype=object)
    values = np.asarray(column, dtype=np.float64)
    present = np.flatnonzero(~np.isnan(values))
    if present.size:
        uniques, inverse = np.unique(values[present], return_inverse=True)
        texts = np.array(
            [temporal.format_value(data_type, float(v)) for v in uniques], dtype=object
        )
        out[present] = texts[inverse]
    return out


def to_public(data_type: str, column: Column) -> Column:
    """Turn a plan column into the engine's public convention (booleans as object arrays,
    dates and times as ISO text)."""
    if data_type in temporal.PLAIN_TYPES:
        return _temporal_text(data_type, column)
    if data_type == "boolean":
        out = np.full(column.shape[0], None, dtype=object)
        values = np.asarray(column, dtype=np.float64)
        out[values == 1.0] = True
        out[values == 0.0] = False
        return out
    if data_type == "string":
        return column if column.dtype == object else cast_column("string", column)
    return np.asarray(column, dtype=np.float64)
