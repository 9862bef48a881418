"""Console controls of a job's lifecycle (design §2.8): edit and duplicate (the job form,
pre-filled), pause and resume, backfill (a range picker that shows how many instants it holds)
and its cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.domain.jobs import EXTRA_SCHEDULE_FIELDS, Job
from batchscore.domain.timefmt import parse_instant
from batchscore.errors import Conflict, Invalid, NotFound
from batchscore.scheduling.schedules import zone_or_none
from batchscore.service.job_lifecycle import MAX_BACKFILL_INSTANTS, JobLifecycleService
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, checked_form, page
from batchscore.web.deps import services
from batchscore.web.job_form import (
    DEFAULTS,
    FormErrors,
    form_mappings,
    form_values,
    job_body,
    local_instant,
    place_errors,
)
from batchscore.web.pages_job_form import _form_page, _model_inputs

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _local(text: Any, zone: str) -> str:
    """An instant of the API as the form's ``datetime-local`` text in ``zone``."""
    if not isinstance(text, str) or not text:
        return ""
    try:
        instant = parse_instant(text)
    except ValueError:
        return text
    found = zone_or_none(zone)
    local = instant.astimezone(found) if found is not None else instant
    return local.replace(tzinfo=None).isoformat(timespec="seconds")


def form_values_of(job: Job) -> dict[str, str]:
    """The job form's fields holding ``job``'s definition."""
    schedule = job.schedule
    zone = str(schedule.get("timeZone") or "UTC")
    values = dict(DEFAULTS)
    values.update(
        jobName=job.name,
        jobDescription=job.description,
        associatedModel=job.model_name,
        associatedGroupOrDeviceId=str(job.target_id),
        frequency=str(schedule.get("frequency") or "periodic"),
        timeZone=zone,
    )
    if values["frequency"] == "periodic":
        values.update(
            cronExpression=str(schedule.get("cronExpression") or ""),
            dataFromPreviousNSeconds=str(schedule.get("dataFromPreviousNSeconds") or ""),
        )
    else:
        for key in ("scheduleAt", "dataFrom", "dataTo"):
            values[key] = _local(schedule.get(key), zone)
    return values


def _job(request: Request, user: ConsoleUser, job_id: str) -> Job:
    return services(request).jobs.get(user.principal.tenant, job_id)


@router.get("/jobs/{job_id}/edit")
def edit_form(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> HTMLResponse:
    user.require_admin()
    job = _job(request, user, job_id)
    return _edit_page(request, user, job, form_values_of(job), dict(job.mappings), FormErrors())


def _edit_page(
    request: Request,
    user: ConsoleUser,
    job: Job,
    values: dict[str, str],
    chosen: dict[str, str],
    errors: FormErrors,
) -> HTMLResponse:
    return _form_page(
        request, user, values, chosen, errors,
        heading=f"Edit job {job.name}", editing=True, form_action=f"/jobs/{job.id}/edit",
        submit_label="Save job", cancel_url=f"/jobs/{job.id}",
    )  # fmt: skip


@router.post("/jobs/{job_id}/edit")
async def save_job(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    values, chosen = form_values(form), form_mappings(form)
    svc = services(request)
    job = await run_in_threadpool(_job, request, user, job_id)
    body = job_body(values, chosen)
    # the form has no controls for the additive schedule fields: they stay as they were
    body["jobSchedule"].update(
        {k: job.schedule[k] for k in EXTRA_SCHEDULE_FIELDS if k in job.schedule}
    )
    # nor for the job's actions and write-back (design §2.9; the rule fieldset is for new jobs)
    if job.actions:
        body["actions"] = [rule.stored() for rule in job.actions]
    if job.write_back is not None:
        body["writeBack"] = job.write_back.public()
    try:
        await run_in_threadpool(svc.job_lifecycle.replace, user.principal.tenant, job_id, body)
    except (Invalid, NotFound) as exc:
        errors = place_errors(exc.messages, chosen.keys() | _model_inputs(request, user, values))
        return await run_in_threadpool(_edit_page, request, user, job, values, chosen, errors)
    return RedirectResponse(f"/jobs/{job.id}?done=edited", status_code=303)


@router.get("/jobs/{job_id}/duplicate")
def duplicate_form(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> HTMLResponse:
    """The new-job form holding a copy of the job (named "Copy of ...")."""
    user.require_admin()
    job = _job(request, user, job_id)
    values = form_values_of(job)
    values["jobName"] = f"Copy of {job.name}"
    return _form_page(
        request, user, values, dict(job.mappings), FormErrors(),
        heading=f"New job (a copy of {job.name})",
    )  # fmt: skip


def _back(form: dict[str, Any], job_id: str, done: str) -> str:
    """Where a posted action returns: the jobs list (from a row) or the job's page."""
    if form.get("from") == "row":
        return "/"
    return f"/jobs/{job_id}?done={done}"


@router.post("/jobs/{job_id}/pause")
async def pause_job(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    lifecycle = services(request).job_lifecycle
    await run_in_threadpool(lifecycle.pause, user.principal.tenant, job_id)
    return RedirectResponse(_back(form, job_id, "paused"), status_code=303)


@router.post("/jobs/{job_id}/resume")
async def resume_job(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> Response:
    form = await checked_form(request, user)
    lifecycle = services(request).job_lifecycle
    await run_in_threadpool(lifecycle.resume, user.principal.tenant, job_id)
    return RedirectResponse(_back(form, job_id, "resumed"), status_code=303)


def instants_note(job: Job, start: str, end: str, zone: str) -> str:
    """How many instants of the job's schedule ``[start, end)`` holds, in words."""
    if not start or not end:
        return "Pick the start and the end of the range."
    try:
        begin = parse_instant(local_instant(start, zone) or "")
        finish = parse_instant(local_instant(end, zone) or "")
    except ValueError:
        return "The start or the end is not a date and time."
    if begin >= finish:
        return "The start must lie before the end."
    count = JobLifecycleService.instants_in(job, begin, finish)
    if count > MAX_BACKFILL_INSTANTS:
        return f"More than {MAX_BACKFILL_INSTANTS:,} instants: pick a shorter range."
    return f"{count:,} instant{'' if count == 1 else 's'} of the schedule in this range."


def _backfill_page(
    request: Request, user: ConsoleUser, job: Job, start: str, end: str, errors: list[str]
) -> HTMLResponse:
    svc = services(request)
    zone = str(job.schedule.get("timeZone") or "UTC")
    progress = svc.job_lifecycle.backfill_progress(user.principal.tenant, job.id)
    return page(
        request,
        "job_backfill.html",
        user,
        status_code=400 if errors else 200,
        job=job,
        zone=zone,
        start=start,
        end=end,
        errors=errors,
        note=instants_note(job, start, end, zone),
        progress=progress,
        periodic=job.schedule.get("frequency") == "periodic",
    )


@router.get("/jobs/{job_id}/backfill")
def backfill_form(
    job_id: str,
    request: Request,
    start: str = Query("", alias="from", max_length=40),
    end: str = Query("", alias="to", max_length=40),
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    user.require_admin()
    job = _job(request, user, job_id)
    return _backfill_page(request, user, job, start, end, [])


@router.get("/jobs/{job_id}/backfill/count")
def backfill_count(
    job_id: str,
    request: Request,
    start: str = Query("", alias="from", max_length=40),
    end: str = Query("", alias="to", max_length=40),
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    """The number of instants in the picked range, as the user picks it."""
    job = _job(request, user, job_id)
    zone = str(job.schedule.get("timeZone") or "UTC")
    note = instants_note(job, start, end, zone)
    return HTMLResponse(f'<p id="backfill-count" role="status">{_escape(note)}</p>')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@router.post("/jobs/{job_id}/backfill")
async def start_backfill(
    job_id: str, request: Request, user: ConsoleUser = CurrentUser
) -> Response:
    form = await checked_form(request, user)
    job = await run_in_threadpool(_job, request, user, job_id)
    zone = str(job.schedule.get("timeZone") or "UTC")
    start, end = str(form.get("from") or "").strip(), str(form.get("to") or "").strip()
    body = {"from": local_instant(start, zone), "to": local_instant(end, zone)}
    lifecycle = services(request).job_lifecycle
    try:
        await run_in_threadpool(lifecycle.start_backfill, user.principal.tenant, job_id, body)
    except (Invalid, Conflict) as exc:
        return await run_in_threadpool(
            _backfill_page, request, user, job, start, end, list(exc.messages)
        )
    return RedirectResponse(f"/jobs/{job.id}?done=backfill", status_code=303)


@router.post("/jobs/{job_id}/backfill/cancel")
async def cancel_backfill(
    job_id: str, request: Request, user: ConsoleUser = CurrentUser
) -> Response:
    await checked_form(request, user)
    lifecycle = services(request).job_lifecycle
    await run_in_threadpool(lifecycle.cancel_backfill, user.principal.tenant, job_id)
    return RedirectResponse(f"/jobs/{job_id}?done=backfill-cancelled", status_code=303)
