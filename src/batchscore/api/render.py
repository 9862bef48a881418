"""Domain values to the exact JSON of the Zementis and Cumulocity APIs (the JSON of jobs and
executions lives in ``service/job_documents.py``: the CLI prints it too)."""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

from batchscore.domain.finite import json_column
from batchscore.domain.models import StoredModel
from batchscore.domain.timefmt import format_instant_ns, format_millis_z
from batchscore.execution.codec import Chunk
from batchscore.service.apply import Scored
from batchscore.service.job_documents import (
    duration_text,
    encode,
    execution_detail_json,
    execution_json,
    job_json,
)

__all__ = [
    "apply_json",
    "duration_text",
    "encode",
    "execution_detail_json",
    "execution_json",
    "inference_entry",
    "job_json",
    "json_values",
    "model_json",
]


def model_json(model: StoredModel) -> dict[str, Any]:
    return {
        "modelName": model.name,
        "description": model.description,
        "creationDate": format_millis_z(model.created_at),
        "isActive": model.is_active,
        "type": model.kind.upper(),
        "sha256": model.sha256,
        "inputFields": [
            {"usage": "ACTIVE", "name": f.name, "type": f.api_type, "opType": f.op_type}
            for f in model.inputs
        ],
        "outputFields": [
            {"usage": "OUTPUT", "name": f.name, "type": f.api_type, "opType": f.op_type}
            for f in model.outputs
        ],
    }


def inference_entry(chunk: Chunk, with_times: bool) -> dict[str, Any]:
    """One device's records of a page: ``{"deviceId", "recordCollection": {field: [...]}}``."""
    entry: dict[str, Any] = {
        "deviceId": int(chunk.devices[0]),
        "recordCollection": {name: json_values(v) for name, v in chunk.columns.items()},
    }
    if with_times:
        entry["time"] = [format_instant_ns(t) for t in chunk.times_ns.tolist()]
    return entry


def json_values(values: npt.NDArray[Any]) -> list[Any]:
    """A column as JSON values: NaN (missing) and ±inf become null."""
    return json_column(values)


APPLY_ROWS_PER_PIECE = 2000


def apply_json(model: str, scored: Scored) -> bytes:
    """``{"model": name, "outputs": [{output: value, ...}, ...]}`` for an apply request, made
    piece by piece so that only a piece's rows exist as Python objects at a time."""
    head = encode({"model": model, "outputs": []})[:-2]  # up to and including '"outputs":['
    pieces = [head]
    for start in range(0, scored.count, APPLY_ROWS_PER_PIECE):
        stop = min(start + APPLY_ROWS_PER_PIECE, scored.count)
        columns = [json_column(scored.columns[n][start:stop]) for n in scored.names]
        rows = [
            dict(zip(scored.names, values, strict=True)) for values in zip(*columns, strict=True)
        ]
        if not columns:  # a model without outputs still answers one object per record
            rows = [{} for _ in range(stop - start)]
        pieces.append((b"," if start else b"") + encode(rows)[1:-1])
    pieces.append(b"]}")
    return b"".join(pieces)
