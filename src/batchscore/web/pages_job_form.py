"""The create-job form, with its live parts: the model's inputs mapped to the target's
series, and the cron expression in words with its next fire times."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.deps import services
from batchscore.domain.inventory import ManagedObject
from batchscore.domain.models import StoredModel
from batchscore.errors import Invalid, NotFound
from batchscore.scheduling.preview import preview_fire_times
from batchscore.service.inventory_query import query_objects
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, checked_form, page
from batchscore.web.cron_words import describe_cron
from batchscore.web.job_form import (
    DEFAULTS,
    errors_by_field,
    form_mappings,
    form_values,
    job_body,
)
from batchscore.web.queries import series_of

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

MAX_TARGETS = 1000
MAX_SERIES_DEVICES = 20
PREVIEW_COUNT = 5


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


@dataclass(frozen=True, slots=True)
class MappingRow:
    name: str
    type: str
    required: bool
    chosen: str


def targets(request: Request, tenant: str) -> tuple[list[ManagedObject], list[ManagedObject]]:
    """The tenant's groups and devices, for the target picker."""
    db = services(request).db
    groups = query_objects(
        db, tenant, "$filter=has(c8y_IsDeviceGroup)", offset=0, limit=MAX_TARGETS, with_total=False
    )
    devices = query_objects(
        db, tenant, "$filter=has(c8y_IsDevice)", offset=0, limit=MAX_TARGETS, with_total=False
    )
    return groups.objects, devices.objects


def available_series(request: Request, tenant: str, target: str) -> list[str]:
    """``fragment.series.value`` paths the target's devices (the first few) have."""
    svc = services(request)
    try:
        obj = svc.inventory.get(tenant, target)
    except NotFound:
        return []
    devices = svc.inventory.devices_below(tenant, obj)[:MAX_SERIES_DEVICES]
    found: set[str] = set()
    with svc.db.read() as conn:
        for device in devices:
            found.update(f"{f}.{s}.value" for f, s in series_of(conn, tenant, device))
    return sorted(found)


def mapping_rows(
    model: StoredModel | None, series: list[str], chosen: dict[str, str], guess: bool
) -> list[MappingRow]:
    """One row per model input; without a choice, a series named like the input is proposed."""
    rows = []
    for f in model.inputs if model else ():
        pick = chosen.get(f.name, "")
        if not pick and guess:
            pick = next((s for s in series if s.split(".")[1].lower() == f.name.lower()), "")
        rows.append(MappingRow(f.name, f.api_type, f.required, pick))
    return rows


def _model_or_none(request: Request, tenant: str, name: str) -> StoredModel | None:
    if not name:
        return None
    try:
        return services(request).models.get(tenant, name)
    except NotFound:
        return None


def _form_page(
    request: Request,
    user: ConsoleUser,
    values: dict[str, str],
    chosen: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
) -> HTMLResponse:
    tenant = user.principal.tenant
    groups, devices = targets(request, tenant)
    model = _model_or_none(request, tenant, values["associatedModel"])
    series = available_series(request, tenant, values["associatedGroupOrDeviceId"])
    return page(
        request,
        "job_new.html",
        user,
        status,
        values=values,
        errors=errors,
        models=services(request).models.names(tenant),
        model=model,
        groups=groups,
        devices=devices,
        series=series,
        rows=mapping_rows(model, series, chosen, guess=not chosen),
        zones=time_zones(),
        preview=schedule_preview(request, values["cronExpression"], values["timeZone"]),
        zone=values["timeZone"],
    )


@router.get("/jobs/new")
def new_job(
    request: Request, model: str = "", target: str = "", user: ConsoleUser = CurrentUser
) -> HTMLResponse:
    user.require_admin()
    values = dict(DEFAULTS, associatedModel=model[:255], associatedGroupOrDeviceId=target[:20])
    return _form_page(request, user, values, {}, {})


@router.post("/jobs/new")
async def create_job(request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    values, chosen = form_values(form), form_mappings(form)
    svc = services(request)
    try:
        job = await run_in_threadpool(
            svc.jobs.create, user.principal.tenant, job_body(values, chosen)
        )
    except (Invalid, NotFound) as exc:
        errors = errors_by_field(exc.messages)
        return await run_in_threadpool(_form_page, request, user, values, chosen, errors)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/new/mapping")
def mapping_part(
    request: Request,
    associatedModel: str = "",  # noqa: N803 - the form's field names are the API's
    associatedGroupOrDeviceId: str = "",  # noqa: N803
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    """The model's inputs and the mapping table, re-drawn when the model or target changes."""
    tenant = user.principal.tenant
    model = _model_or_none(request, tenant, associatedModel[:255])
    series = available_series(request, tenant, associatedGroupOrDeviceId[:20])
    return page(
        request,
        "job_mapping.html",
        user,
        model=model,
        series=series,
        rows=mapping_rows(model, series, {}, guess=True),
        errors={},
    )


@dataclass(frozen=True, slots=True)
class SchedulePreview:
    words: str | None
    fires: list[datetime]
    errors: list[str]


def schedule_preview(request: Request, cron: str, zone: str) -> SchedulePreview:
    if not cron.strip():
        return SchedulePreview(None, [], [])
    now = services(request).clock.now()
    try:
        fires = preview_fire_times(cron, zone, None, PREVIEW_COUNT, "fireAfterGap", now)
    except Invalid as exc:
        return SchedulePreview(None, [], list(exc.messages))
    return SchedulePreview(describe_cron(cron), [datetime.fromisoformat(t) for t in fires], [])


@router.get("/jobs/new/schedule")
def schedule_part(
    request: Request,
    cronExpression: str = "",  # noqa: N803
    timeZone: str = "UTC",  # noqa: N803
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    """The cron expression in words and its next fire times in the zone, as the user types."""
    preview = schedule_preview(request, cronExpression[:200], timeZone[:80])
    return page(request, "job_schedule.html", user, preview=preview, zone=timeZone[:80])
