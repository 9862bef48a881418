"""Scoring records on demand (``/apply/{name}``): JSON or CSV records in, outputs out."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.errors import Invalid, ModelError
from batchscore.runtime.engine import CompiledModel, FieldInfo
from batchscore.runtime.registry import ModelCache
from batchscore.service.models import ModelService

NUMERIC = ("double", "float", "integer")
MAX_RECORDS = 100_000


class ApplyService:
    def __init__(self, models: ModelService, cache: ModelCache) -> None:
        self.models = models
        self.cache = cache

    def apply(self, tenant: str, name: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Score ``records`` (dicts of input name -> value) with the tenant's model ``name``."""
        stored = self.models.get(tenant, name)
        if not stored.is_active:
            raise ModelError(f"The model '{name}' is inactive; activate it to score.")
        model = self.cache.get(
            tenant, stored.sha256, stored.kind, lambda: self.models.source(tenant, name)
        )
        if len(records) > MAX_RECORDS:
            raise Invalid(f"At most {MAX_RECORDS} records can be scored in one request.")
        columns = {f.name: _column(f, records) for f in model.inputs}
        outputs = model.score(columns)
        return _rows(model, outputs, len(records))


def parse_records(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """Records from a JSON object, a JSON array of objects, or CSV with a header line."""
    if "csv" in content_type:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("Failed to parse input at record 1.") from None
        reader = csv.DictReader(io.StringIO(text))
        records: list[dict[str, Any]] = []
        for n, row in enumerate(reader, start=1):
            if None in row or any(v is None for v in row.values()):
                raise Invalid(f"Failed to parse input at record {n}.")
            records.append({k: (v if v != "" else None) for k, v in row.items()})
        return records
    try:
        data = json.loads(body or b"null", parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Invalid("Failed to parse input at record 1.") from None
    return records_from_json(data)


def records_from_json(data: Any) -> list[dict[str, Any]]:
    items = data if isinstance(data, list) else [data]
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise Invalid(f"Failed to parse input at record {n}.")
    return items


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _column(field: FieldInfo, records: list[dict[str, Any]]) -> npt.NDArray[Any]:
    values = [r.get(field.name) for r in records]
    if field.data_type in NUMERIC:
        out = np.empty(len(values))
        for n, value in enumerate(values, start=1):
            out[n - 1] = _number(value, n)
        return out
    return np.array([None if v is None else str(v) for v in values], dtype=object)


def _number(value: Any, n: int) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise Invalid(f"Failed to parse input at record {n}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"Failed to parse input at record {n}.") from None
    if math.isinf(number):
        raise Invalid(f"Failed to parse input at record {n}.")
    return number


def _rows(
    model: CompiledModel, outputs: dict[str, npt.NDArray[Any]], n: int
) -> list[dict[str, Any]]:
    lists = {}
    for field in model.outputs:
        values = outputs[field.name]
        if values.dtype == np.float64:
            lists[field.name] = [None if v != v else v for v in values.tolist()]
        else:
            lists[field.name] = values.tolist()
    return [{name: column[i] for name, column in lists.items()} for i in range(n)]
