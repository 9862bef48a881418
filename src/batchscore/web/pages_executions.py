"""Console pages of one execution: its window and neighbours, per-device status with outlier
counts, charts of one output per device (downsampled to the chart's width), the inference
table loaded a slice at a time with device and outlier filters, and the CSV download."""

from __future__ import annotations

import gzip
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from batchscore.domain.documents import whole_number
from batchscore.domain.finite import finite_or_none
from batchscore.domain.jobs import Execution, Job
from batchscore.domain.measurements import to_ns
from batchscore.domain.models import ModelField
from batchscore.errors import NotFound
from batchscore.execution.codec import Chunk
from batchscore.service.container import Services
from batchscore.service.inference_csv import csv_lines
from batchscore.web.charts import (
    Downsampler,
    ExecutionSummary,
    OutputKinds,
    classify_outputs,
    flags_of,
    pick_devices,
    summarize,
)
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, page
from batchscore.web.deps import services
from batchscore.web.live import fingerprint, query, render_part, unchanged

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

ROWS_PER_LOAD = 100
SCAN_BUDGET = 50_000  # records one load looks through for filter matches
SCAN_STEP = 2_000
CHART_DEVICES = 8
LIVE_S = 1.0


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    id: int
    name: str
    records: int
    outliers: int
    status: str
    messages: list[str]
    charted: int | None  # its colour's index when it is charted


@dataclass(frozen=True, slots=True)
class InferenceRow:
    device: int
    time_ns: int
    values: list[Any]
    outlier: bool


@dataclass(frozen=True, slots=True)
class RowsSlice:
    rows: list[InferenceRow]
    next_after: int | None  # where the next load starts; None when the records are exhausted
    searched_to: int  # records looked through, from the start of the execution


@dataclass(frozen=True, slots=True)
class Filters:
    device: int | None
    outliers: bool
    output: str

    @classmethod
    def read(cls, device: str, outliers: str, output: str) -> Filters:
        chosen = whole_number(device)
        return cls(chosen, outliers in ("1", "true", "on"), output[:255])

    def params(self) -> dict[str, Any]:
        return {
            "device": self.device if self.device is not None else "",
            "outliers": "1" if self.outliers else "",
            "output": self.output,
        }


def output_fields(svc: Services, tenant: str, job: Job, first: Chunk | None) -> list[ModelField]:
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


def _kinds(svc: Services, tenant: str, job: Job, run: Execution) -> tuple[OutputKinds, list[str]]:
    """The kinds of the execution's outputs and their names in model order."""
    first = next(iter(svc.inferences.records_of(run)), None) if run.record_count else None
    fields = output_fields(svc, tenant, job, first)
    names = [f.name for f in fields] or (list(first.columns) if first is not None else [])
    return classify_outputs(fields, first), names


def device_statuses(
    run: Execution, devices: list[int], names: dict[int, str], summary: ExecutionSummary | None
) -> list[DeviceStatus]:
    counted = summary.devices if summary else {}
    ids = devices + [d for d in counted if d not in devices]
    out = []
    for device in ids:
        mentioned = [m for m in run.messages if f"device {device} " in m]
        counts = counted.get(device)
        records = counts.records if counts else 0
        if not run.status.finished:
            status = "Running"
        elif mentioned:
            status = "Failure" if run.status.value == "Failure" and not records else "Warning"
        else:
            status = "Success" if records else run.status.value
        out.append(
            DeviceStatus(
                device,
                names.get(device, f"#{device}"),
                records,
                counts.outliers if counts else 0,
                status,
                mentioned,
                None,
            )
        )
    return out


def find_rows(
    svc: Services,
    run: Execution,
    start: int,
    filters: Filters,
    kinds: OutputKinds,
    names: list[str],
) -> RowsSlice:
    """Up to :data:`ROWS_PER_LOAD` records from record ``start`` on that pass the filters,
    looking through at most :data:`SCAN_BUDGET` records."""
    rows: list[InferenceRow] = []
    position = max(0, start)
    end = run.record_count
    while position < end and position - start < SCAN_BUDGET:
        step = svc.inferences.scan(run, position, SCAN_STEP)
        if not step:
            break
        for first, chunk in step:
            flags = flags_of(chunk, kinds.flag)
            keep = np.ones(len(chunk), dtype=np.bool_)
            if filters.device is not None:
                keep &= chunk.devices == filters.device
            if filters.outliers:
                keep &= flags
            wanted = np.flatnonzero(keep)
            room = ROWS_PER_LOAD - len(rows)
            rows.extend(_rows(chunk, wanted[:room], names, flags))
            if len(wanted) > room:
                resume = first + int(wanted[room])
                return RowsSlice(rows, resume, resume)
            position = first + len(chunk)
        if len(rows) == ROWS_PER_LOAD:
            break
    return RowsSlice(rows, position if position < end else None, position)


def _rows(
    chunk: Chunk,
    indexes: np.ndarray[Any, Any],
    names: list[str],
    flags: np.ndarray[Any, Any],
) -> list[InferenceRow]:
    count = len(indexes)
    columns = [
        chunk.columns[n][indexes].tolist() if n in chunk.columns else [""] * count for n in names
    ]
    devices, times = chunk.devices[indexes].tolist(), chunk.times_ns[indexes].tolist()
    marked = flags[indexes].tolist()
    return [
        InferenceRow(devices[k], times[k], [_cell(c[k]) for c in columns], marked[k])
        for k in range(count)
    ]


def _cell(value: Any) -> Any:
    value = finite_or_none(value)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _context(
    job: Job,
    run: Execution,
    filters: Filters,
    names: list[str],
    kinds: OutputKinds,
    after: str,
    rows: RowsSlice,
) -> dict[str, Any]:
    return {
        "job": job,
        "run": run,
        "filters": filters,
        "params": filters.params(),
        "query": query,
        "names": names,
        "rows": rows,
        "start": _after(after),
        "per_load": ROWS_PER_LOAD,
        "kinds": kinds,
    }


def _after(text: str) -> int:
    return whole_number(text) or 0


@router.get("/jobs/{job_id}/executions/{number}")
def execution_page(
    job_id: str,
    number: str,
    request: Request,
    device: str = Query("", max_length=20),
    outliers: str = Query("", max_length=5),
    output: str = Query("", max_length=255),
    after: str = Query("0", max_length=19),
    part: str = Query("", max_length=10),
    user: ConsoleUser = CurrentUser,
) -> Response:
    svc = services(request)
    tenant = user.principal.tenant
    job = svc.jobs.get(tenant, job_id)
    run = svc.jobs.execution(tenant, job_id, number)
    filters = Filters.read(device, outliers, output)
    kinds, names = _kinds(svc, tenant, job, run)
    scored = run.status.finished and run.record_count > 0
    if part == "rows":
        rows = find_rows(svc, run, _after(after), filters, kinds, names)
        shown = svc.job_views.objects(tenant, {r.device for r in rows.rows})
        labels = {i: o.name or f"#{i}" for i, o in shown.items()}
        context = _context(job, run, filters, names, kinds, after, rows)
        return page(request, "execution_rows.html", user, labels=labels, **context)
    target_devices: list[int] = []
    try:
        target = svc.inventory.get(tenant, job.target_id)
        target_devices = svc.inventory.devices_below(tenant, target)
    except NotFound:
        pass
    summary = summarize(svc.inferences.records_of(run), kinds) if scored else None
    known = svc.job_views.objects(
        tenant, itertools.chain(target_devices, summary.devices if summary else ())
    )
    labels = {i: o.name or f"#{i}" for i, o in known.items()}
    rows = (
        find_rows(svc, run, _after(after), filters, kinds, names)
        if scored
        else RowsSlice([], None, 0)
    )
    context = _context(job, run, filters, names, kinds, after, rows)
    charted, partial = (
        pick_devices(summary, filters.device, CHART_DEVICES) if summary else ([], False)
    )
    statuses = [
        _with_colour(s, charted) for s in device_statuses(run, target_devices, labels, summary)
    ]
    chart_output = (
        filters.output
        if filters.output in kinds.numeric
        else (kinds.numeric[0] if kinds.numeric else "")
    )
    neighbours = svc.job_views.neighbours(tenant, job_id, run.number)
    context.update(
        zone=str(job.schedule.get("timeZone") or "UTC"),
        summary=summary,
        devices=statuses,
        charted=charted,
        partial=partial,
        chart_output=chart_output,
        labels=labels,
        previous=neighbours[0],
        following=neighbours[1],
        live_s=LIVE_S,
        effects=(
            svc.actions.effects(tenant, job_id, number) if job.actions or job.write_back else []
        ),
    )
    body = render_part(request, user, "execution_body.html", **context)
    version = fingerprint(body)
    if part == "live":
        return unchanged(request, version) or page(
            request, "execution_live.html", user, body=body, version=version, **context
        )
    return page(request, "execution.html", user, body=body, version=version, **context)


def _with_colour(status: DeviceStatus, charted: list[int]) -> DeviceStatus:
    if status.id not in charted:
        return status
    return DeviceStatus(
        status.id,
        status.name,
        status.records,
        status.outliers,
        status.status,
        status.messages,
        charted.index(status.id),
    )


@router.get("/jobs/{job_id}/executions/{number}/chart")
def chart_data(
    job_id: str,
    number: str,
    request: Request,
    output: str = Query("", max_length=255),
    devices: str = Query("", max_length=400),
    width: str = Query("800", max_length=6),
    user: ConsoleUser = CurrentUser,
) -> Response:
    """One numeric output of the chosen devices, min/max per pixel column of the chart."""
    svc = services(request)
    tenant = user.principal.tenant
    job = svc.jobs.get(tenant, job_id)
    run = svc.jobs.execution(tenant, job_id, number)
    kinds, _ = _kinds(svc, tenant, job, run)
    chosen = [n for d in devices.split(",") if (n := whole_number(d)) is not None][:CHART_DEVICES]
    if output not in kinds.numeric or not chosen or not run.status.finished:
        return JSONResponse({"output": output, "flag": kinds.flag, "devices": []})
    start_ns, end_ns = _span(svc, run)
    pixels = whole_number(width, 6)
    sampler = Downsampler(chosen, start_ns, end_ns, 800 if pixels is None else pixels)
    for chunk in svc.inferences.records_of(run):
        sampler.add(chunk, output, flags_of(chunk, kinds.flag))
    names = svc.job_views.objects(tenant, chosen)
    lines = []
    for device in chosen:
        line = sampler.line(device)
        lines.append(
            {
                "id": device,
                "name": (names[device].name if device in names else None) or f"#{device}",
                "records": line.records,
                "outliers": line.outliers,
                # Milliseconds and six significant digits are all a chart can show.
                "t": [round(t, 3) for t in line.times_s],
                "v": [float(f"{v:.6g}") for v in line.values],
                "o": [1 if f else 0 for f in line.flagged],
            }
        )
    body = json.dumps(
        {
            "output": output,
            "flag": kinds.flag,
            "start": start_ns / 1e9,
            "end": end_ns / 1e9,
            "buckets": sampler.buckets,
            "devices": lines,
        },
        separators=(",", ":"),
    ).encode()
    headers = {"Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        # Sampled series compress about 3x; a phone on a slow link notices.
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


def _span(svc: Services, run: Execution) -> tuple[int, int]:
    """The scored window in epoch nanoseconds (the records' own span for old executions)."""
    if run.window_from is not None and run.window_to is not None:
        return to_ns(run.window_from), to_ns(run.window_to)
    lows, highs = [], []
    for chunk in svc.inferences.records_of(run):
        if len(chunk):
            lows.append(int(chunk.times_ns.min()))
            highs.append(int(chunk.times_ns.max()))
    return (min(lows), max(highs) + 1) if lows else (0, 1)


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
