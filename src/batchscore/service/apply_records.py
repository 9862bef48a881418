"""The records of an ``/apply`` request, parsed one at a time straight into the model's input
columns, within a record budget.

A body is CSV with a header line, one JSON object, or a JSON array of objects. Records are never
all held as Python objects: each is turned into one float (or text) per model input as soon as
it is parsed and then dropped, and the record past the budget stops the parse. The body itself
is bounded by the caller (``BATCHSCORE_MAX_BODY_BYTES``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.errors import Invalid
from batchscore.runtime.engine import FieldInfo

NUMERIC = ("double", "float", "integer")
MAX_RECORDS = 100_000
_SPACE = re.compile(r"[ \t\n\r]*")


def failed(n: int) -> Invalid:
    return Invalid(f"Failed to parse input at record {n}.")


class InputColumns:
    """One column per model input, filled record by record; refuses the record past
    ``max_records``."""

    def __init__(self, inputs: Sequence[FieldInfo], max_records: int = MAX_RECORDS) -> None:
        self.max_records = max_records
        self.count = 0
        self._numbers = {f.name: array("d") for f in inputs if f.data_type in NUMERIC}
        self._texts: dict[str, list[str | None]] = {
            f.name: [] for f in inputs if f.data_type not in NUMERIC
        }

    def add(self, record: Mapping[str, Any]) -> None:
        if self.count >= self.max_records:
            raise Invalid(f"At most {self.max_records} records can be scored in one request.")
        self.count += 1
        for name, numbers in self._numbers.items():
            numbers.append(_number(record.get(name), self.count))
        for name, texts in self._texts.items():
            value = record.get(name)
            texts.append(None if value is None else str(value))

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        out: dict[str, npt.NDArray[Any]] = {
            name: np.frombuffer(values, dtype=np.float64) for name, values in self._numbers.items()
        }
        out.update({name: np.array(texts, dtype=object) for name, texts in self._texts.items()})
        return out


def read_records(body: bytes, content_type: str, into: InputColumns) -> None:
    """Parse ``body`` (CSV when ``content_type`` says so, JSON otherwise) into ``into``."""
    records = _csv_records(body) if "csv" in content_type else _json_records(body)
    for record in records:
        into.add(record)


def _csv_records(body: bytes) -> Iterator[dict[str, str | None]]:
    text = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    n = 0
    try:
        for n, row in enumerate(reader, start=1):
            if None in row or any(v is None for v in row.values()):
                raise failed(n)
            yield {k: (v if v != "" else None) for k, v in row.items()}
    except (csv.Error, UnicodeDecodeError):
        raise failed(n + 1) from None


def _json_records(body: bytes) -> Iterator[Mapping[str, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise failed(1) from None
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    at = _skip(text, 0)
    if not text.startswith("[", at):
        record, at = _decode(decoder, text, at, 1)
        if _skip(text, at) != len(text):
            raise failed(1)
        yield _object(record, 1)
        return
    at = _skip(text, at + 1)
    n = 0
    if text.startswith("]", at):
        at += 1
    else:
        while True:
            n += 1
            record, at = _decode(decoder, text, at, n)
            yield _object(record, n)
            at = _skip(text, at)
            if text.startswith(",", at):
                at = _skip(text, at + 1)
            elif text.startswith("]", at):
                at += 1
                break
            else:
                raise failed(n + 1)
    if _skip(text, at) != len(text):
        raise failed(n + 1)


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _decode(decoder: json.JSONDecoder, text: str, at: int, n: int) -> tuple[Any, int]:
    try:
        return decoder.raw_decode(text, at)
    except (ValueError, RecursionError):
        raise failed(n) from None


def _object(value: Any, n: int) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise failed(n)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _number(value: Any, n: int) -> float:
    """An input value as a float; NaN for missing. Text, booleans, ±inf and numbers too large
    for a float (``1e400``, a 400-digit integer) refuse the record."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise failed(n)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise failed(n) from None
    if math.isinf(number):
        raise failed(n)
    return number
