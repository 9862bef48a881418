"""Console pages of one execution: per-device status, charts of the outputs, the inference
pages, and the CSV download."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from batchscore.api.csv_export import csv_lines
from batchscore.api.deps import services
from batchscore.api.render import format_instant_ns
from batchscore.domain.finite import finite_or_none
from batchscore.domain.jobs import Execution, ExecutionStatus, Job
from batchscore.domain.models import ModelField
from batchscore.errors import NotFound
from batchscore.execution.codec import Chunk
from batchscore.service.inferences import PAGE_SIZE
from batchscore.store import inventory as inventory_repo
from batchscore.web.charts import ExecutionCharts, build_charts, classify_outputs
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, page

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

MAX_PAGE = 10_000_000


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    id: int
    name: str
    records: int
    status: str
    messages: list[str]


@dataclass(frozen=True, slots=True)
class InferenceRow:
    device: str
    time: str
    values: list[Any]


def output_fields(svc: Any, tenant: str, job: Job, first: Chunk | None) -> list[ModelField]:
    """The model's outputs; from the stored columns when the model was deleted since."""
    try:
        return list(svc.models.get(tenant, job.model_name).outputs)
    except NotFound:
        pass
    if first is None:
        return []
    fields = []
    for name, values in first.columns.items():
        if values.dtype == np.float64:
            fields.append(ModelField(name, "double", "continuous"))
        elif any(isinstance(v, bool) for v in values.tolist()):
            fields.append(ModelField(name, "boolean", "categorical"))
        else:
            fields.append(ModelField(name, "string", "categorical"))
    return fields


def device_statuses(
    run: Execution, devices: list[int], names: dict[int, str], charts: ExecutionCharts | None
) -> list[DeviceStatus]:
    records = charts.records if charts else {}
    ids = devices + [d for d in records if d not in devices]
    out = []
    for device in ids:
        mentioned = [m for m in run.messages if f"device {device} " in m]
        count = records.get(device, 0)
        if not run.status.finished:
            status = "Running"
        elif mentioned:
            status = (
                "Warning" if count else "Failure" if run.status.value == "Failure" else "Warning"
            )
        else:
            status = "Success" if count else run.status.value
        out.append(DeviceStatus(device, names.get(device, f"#{device}"), count, status, mentioned))
    return out


def inference_rows(
    pieces: list[Chunk], names: list[str], labels: dict[int, str]
) -> list[InferenceRow]:
    rows = []
    for piece in pieces:
        columns = [piece.columns[n].tolist() if n in piece.columns else [] for n in names]
        for i, (device, ns) in enumerate(
            zip(piece.devices.tolist(), piece.times_ns.tolist(), strict=True)
        ):
            values = [_cell(c[i]) if i < len(c) else "" for c in columns]
            rows.append(
                InferenceRow(labels.get(device, f"#{device}"), format_instant_ns(ns), values)
            )
    return rows


def _cell(value: Any) -> Any:
    value = finite_or_none(value)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


@router.get("/jobs/{job_id}/executions/{number}")
def execution_page(
    job_id: str,
    number: str,
    request: Request,
    page_text: str = Query("1", alias="page", max_length=12),
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    svc = services(request)
    tenant = user.principal.tenant
    job = svc.jobs.get(tenant, job_id)
    run = svc.jobs.execution(tenant, job_id, number)
    with svc.db.read() as conn:
        target = inventory_repo.get_object(conn, tenant, job.target_id)
    devices = svc.inventory.devices_below(tenant, target) if target else []
    charts = None
    fields: list[ModelField] = []
    if run.status.finished and run.record_count:
        chunks = iter(svc.inferences.all_records(tenant, job_id, number))
        first = next(chunks, None)
        fields = output_fields(svc, tenant, job, first)
        numeric, categorical, flag = classify_outputs(fields, first)
        rest = itertools.chain([first] if first is not None else [], chunks)
        charts = build_charts(rest, numeric, categorical, flag, run.record_count)
    with svc.db.read() as conn:
        known = inventory_repo.get_objects(
            conn, tenant, sorted(set(devices) | set(charts.records if charts else ()))
        )
    names = {i: o.name or f"#{i}" for i, o in known.items()}
    pages = max(1, math.ceil(run.record_count / PAGE_SIZE))
    requested = int(page_text) if page_text.isdigit() else 1
    current = min(max(requested, 1), pages)
    pieces = svc.inferences.page(tenant, job_id, number, current) if run.record_count else []
    output_names = [f.name for f in fields] or (list(pieces[0].columns) if pieces else [])
    return page(
        request,
        "execution.html",
        user,
        job=job,
        run=run,
        zone=str(job.schedule.get("timeZone") or "UTC"),
        devices=device_statuses(run, devices, names, charts),
        charts=charts,
        chart_data=charts.as_json(names) if charts else None,
        output_names=output_names,
        rows=inference_rows(pieces, output_names, names),
        page_number=current,
        pages=pages,
        page_size=PAGE_SIZE,
        names=names,
    )


@router.get("/jobs/{job_id}/executions/{number}/status")
def execution_status(
    job_id: str, number: str, request: Request, user: ConsoleUser = CurrentUser
) -> HTMLResponse:
    """Polled while an execution runs; asks the page to reload once it has finished."""
    run = services(request).jobs.execution(user.principal.tenant, job_id, number)
    response = page(request, "execution_status.html", user, run=run)
    if run.status is not ExecutionStatus.RUNNING:
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/jobs/{job_id}/executions/{number}/inferences.csv")
def execution_csv(
    job_id: str, number: str, request: Request, user: ConsoleUser = CurrentUser
) -> Response:
    inferences = services(request).inferences
    tenant = user.principal.tenant
    names = inferences.output_names(tenant, job_id, number)
    chunks = inferences.all_records(tenant, job_id, number)
    filename = f"job-{job_id}-execution-{number}-inferences.csv"
    return StreamingResponse(
        csv_lines(names, chunks),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
