"""The create-job form, with its live parts: the model's inputs mapped to the target's
series, the cron expression in words with its next fire times, and what a "Run at" means."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.domain.inventory import ManagedObject
from batchscore.domain.models import StoredModel
from batchscore.domain.timefmt import parse_instant
from batchscore.errors import Invalid, NotFound, field_of
from batchscore.scheduling.preview import preview_fire_times
from batchscore.service.console_queries import series_paths
from batchscore.service.inventory_query import query_objects
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, checked_form, page
from batchscore.web.cron_words import describe_cron
from batchscore.web.deps import services
from batchscore.web.job_form import (
    DEFAULTS,
    FormErrors,
    form_mappings,
    form_values,
    in_words,
    job_body,
    local_instant,
    place_errors,
)
from batchscore.web.rule_form import SEVERITIES, TESTS, preview, rule_actions, rule_values

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


@dataclass(frozen=True, slots=True)
class ModelChoice:
    name: str
    active: bool


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


def model_choices(request: Request, tenant: str) -> list[ModelChoice]:
    states = services(request).job_views.model_states(tenant)
    return [ModelChoice(name, active) for name, active in states.items()]


def available_series(request: Request, tenant: str, target: str) -> list[str]:
    """``fragment.series.value`` paths the target's devices (the first few) have."""
    svc = services(request)
    try:
        obj = svc.inventory.get(tenant, target)
    except NotFound:
        return []
    devices = svc.inventory.devices_below(tenant, obj)[:MAX_SERIES_DEVICES]
    return series_paths(svc.db, tenant, devices)


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


def _focus_id(errors: FormErrors, rows: list[MappingRow]) -> str:
    """The id of the control a failed submit moves focus to: the first one in error."""
    first = errors.first_field()
    if first is None:
        return "form-errors" if errors else ""
    if first == "modelToDeviceMappings":
        names = [r.name for r in rows]
        for index, name in enumerate(names, start=1):
            if name in errors.rows:
                return f"map-{index}"
        return "map-1" if rows else "associatedModel"
    if first == "frequency":
        return "frequency-periodic"
    return first


def _form_page(
    request: Request,
    user: ConsoleUser,
    values: dict[str, str],
    chosen: dict[str, str],
    errors: FormErrors,
    rule: dict[str, str] | None = None,
    **form: Any,
) -> HTMLResponse:
    """The job form; ``form`` overrides heading, editing, form_action, submit_label and
    cancel_url (the edit form of ``web/pages_job_lifecycle.py``)."""
    tenant = user.principal.tenant
    rule = rule or rule_values({}, submitted=False)
    groups, devices = targets(request, tenant)
    model = _model_or_none(request, tenant, values["associatedModel"])
    series = available_series(request, tenant, values["associatedGroupOrDeviceId"])
    rows = mapping_rows(model, series, chosen, guess=not chosen)
    return page(
        request,
        "job_form.html",
        user,
        **{
            "heading": "New job",
            "editing": False,
            "form_action": "/jobs/new",
            "submit_label": "Create job",
            "cancel_url": "/",
            **form,
        },
        values=values,
        errors=errors,
        focus=_focus_id(errors, rows),
        models=model_choices(request, tenant),
        model=model,
        groups=groups,
        devices=devices,
        series=series,
        rows=rows,
        zones=time_zones(),
        preview=schedule_preview(request, values["cronExpression"], values["timeZone"]),
        run_at=run_at_note(request, values["scheduleAt"], values["timeZone"]),
        zone=values["timeZone"],
        live=False,
        rule=rule,
        rule_preview=preview(rule["text"]),
        tests=TESTS,
        severities=SEVERITIES,
    )


@router.get("/jobs/new")
def new_job(
    request: Request,
    model: str = Query("", max_length=255),
    target: str = Query("", max_length=20),
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    user.require_admin()
    values = dict(DEFAULTS, associatedModel=model, associatedGroupOrDeviceId=target)
    return _form_page(request, user, values, {}, FormErrors())


@router.post("/jobs/new")
async def create_job(request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    values, chosen = form_values(form), form_mappings(form)
    svc = services(request)
    body = job_body(values, chosen)
    rule = rule_values(form, submitted=True)
    actions = rule_actions(rule)
    if actions:
        body["actions"] = actions
    try:
        job = await run_in_threadpool(svc.jobs.create, user.principal.tenant, body)
    except (Invalid, NotFound) as exc:
        errors = place_errors(exc.messages, chosen.keys() | _model_inputs(request, user, values))
        return await run_in_threadpool(_form_page, request, user, values, chosen, errors, rule)
    done = "created-asap" if _run_at_passed(body, svc.clock.now()) else "created"
    return RedirectResponse(f"/jobs/{job.id}?done={done}", status_code=303)


def _model_inputs(request: Request, user: ConsoleUser, values: dict[str, str]) -> set[str]:
    model = _model_or_none(request, user.principal.tenant, values["associatedModel"])
    return {f.name for f in model.inputs} if model else set()


def _run_at_passed(body: dict[str, Any], now: datetime) -> bool:
    at = body["jobSchedule"].get("scheduleAt")
    if not isinstance(at, str):
        return False
    try:
        return parse_instant(at) < now
    except ValueError:
        return False


@router.get("/jobs/new/mapping")
def mapping_part(
    request: Request,
    associatedModel: str = Query("", max_length=255),  # noqa: N803 - the API's field names
    associatedGroupOrDeviceId: str = Query("", max_length=20),  # noqa: N803
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    """The model's inputs and the mapping table, re-drawn when the model or target changes."""
    tenant = user.principal.tenant
    model = _model_or_none(request, tenant, associatedModel)
    series = available_series(request, tenant, associatedGroupOrDeviceId)
    return page(
        request,
        "job_mapping.html",
        user,
        model=model,
        series=series,
        rows=mapping_rows(model, series, {}, guess=True),
        errors=FormErrors(),
    )


@router.get("/jobs/new/rule-preview")
def rule_preview_part(
    request: Request,
    text: str = Query("", alias="rule.text", max_length=1000),
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    """The rule's alarm text with sample values, re-drawn as it is typed."""
    return page(request, "job_rule_preview.html", user, rule_preview=preview(text))


@dataclass(frozen=True, slots=True)
class SchedulePreview:
    words: str | None
    fires: list[datetime]
    errors: dict[str, list[str]]  # in words, by field (cronExpression, timeZone)


def schedule_preview(request: Request, cron: str, zone: str) -> SchedulePreview:
    if not cron.strip():
        return SchedulePreview(None, [], {})
    now = services(request).clock.now()
    try:
        fires = preview_fire_times(cron, zone, None, PREVIEW_COUNT, "fireAfterGap", now)
    except Invalid as exc:
        errors: dict[str, list[str]] = {}
        for message in exc.messages:
            name = field_of(message)[0]
            errors.setdefault(name, []).append(in_words(message, name))
        return SchedulePreview(None, [], errors)
    return SchedulePreview(describe_cron(cron), [datetime.fromisoformat(t) for t in fires], {})


@router.get("/jobs/new/schedule")
def schedule_part(
    request: Request,
    cronExpression: str = Query("", max_length=200),  # noqa: N803
    timeZone: str = Query("UTC", max_length=80),  # noqa: N803
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    """The cron expression in words and its next fire times, as the user types; the errors
    of both fields go next to them (out of band)."""
    preview = schedule_preview(request, cronExpression, timeZone)
    return page(request, "job_schedule.html", user, preview=preview, zone=timeZone, live=True)


@dataclass(frozen=True, slots=True)
class RunAtNote:
    at: datetime | None
    passed: bool
    unreadable: bool


def run_at_note(request: Request, text: str, zone: str) -> RunAtNote:
    """What the "Run at" field means: when, or that it has passed (the job then runs as soon
    as it is created)."""
    if not text:
        return RunAtNote(None, False, False)
    instant = local_instant(text, zone)
    try:
        at = parse_instant(instant or "")
    except ValueError:
        return RunAtNote(None, False, True)
    return RunAtNote(at, at < services(request).clock.now(), False)


@router.get("/jobs/new/run-at")
def run_at_part(
    request: Request,
    scheduleAt: str = Query("", max_length=40),  # noqa: N803
    timeZone: str = Query("UTC", max_length=80),  # noqa: N803
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    note = run_at_note(request, scheduleAt, timeZone)
    return page(request, "job_run_at.html", user, run_at=note, zone=timeZone)
