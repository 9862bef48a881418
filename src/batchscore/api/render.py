"""Domain values to the exact JSON of the Zementis and Cumulocity APIs."""

from __future__ import annotations

import json
from typing import Any

import numpy.typing as npt

from batchscore.domain.finite import json_column
from batchscore.domain.jobs import EXTRA_SCHEDULE_FIELDS, SCHEDULE_FIELDS, Execution, Job
from batchscore.domain.models import StoredModel
from batchscore.domain.timefmt import format_instant, format_instant_ns, format_millis_z
from batchscore.execution.codec import Chunk
from batchscore.service.apply import Scored


def encode(content: Any) -> bytes:
    """JSON exactly as :class:`fastapi.responses.JSONResponse` renders it, for bodies that are
    kept and served again as bytes."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def job_json(job: Job) -> dict[str, Any]:
    schedule = {key: job.schedule.get(key) for key in SCHEDULE_FIELDS}
    schedule.update({k: job.schedule[k] for k in EXTRA_SCHEDULE_FIELDS if k in job.schedule})
    out: dict[str, Any] = {
        "jobId": job.id,
        "jobName": job.name,
        "jobDescription": job.description,
        "jobCreationDate": format_millis_z(job.created_at),
        "associatedModel": job.model_name,
        "associatedGroupOrDeviceId": job.target_id,
        "modelToDeviceMappings": job.mappings_sent,
        "jobSchedule": schedule,
    }
    if job.actions:  # additive: absent for jobs without, secrets never echoed
        out["actions"] = [rule.public() for rule in job.actions]
    if job.write_back is not None:
        out["writeBack"] = job.write_back.public()
    if job.last_status is not None:
        out["jobStatus"] = job.last_status.value
        out["lastExecutionDuration"] = duration_text(job)
    return out


def duration_text(job: Job) -> str:
    """The last finished execution's duration in milliseconds, as the API's string."""
    return str(job.last_duration_ms) if job.last_duration_ms is not None else ""


def execution_json(job_id: int, run: Execution) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "jobExecutionNumber": run.number,
        "isExecutionForDeviceGroup": run.is_group,
        "jobExecutionStartTime": format_instant(run.started_at) if run.started_at else None,
        "jobExecutionEndTime": format_instant(run.ended_at) if run.ended_at else None,
        "jobExecutionDuration": str(run.duration_ms) if run.duration_ms is not None else "",
        "jobExecutionStatus": run.status.value,
        "jobExecutionStatusMessage": list(run.messages),
    }


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
