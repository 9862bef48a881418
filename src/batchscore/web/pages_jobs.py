"""Console pages of jobs: the list (filter, status, sort, pages) and a job (definition, next
fire times, history by page and status), both refreshing themselves; run now and delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.domain.documents import whole_number
from batchscore.domain.jobs import ExecutionStatus, Job
from batchscore.errors import Invalid
from batchscore.scheduling.preview import preview_fire_times
from batchscore.service.job_views import HistoryPage, JobOverview
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, checked_form, page
from batchscore.web.deps import services
from batchscore.web.job_list import (
    SORT_KEYS,
    SORT_LABELS,
    STATUSES,
    job_rows,
    list_page,
    schedule_words,
    target_label,
)
from batchscore.web.live import fingerprint, query, render_part, unchanged

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

HISTORY_PAGE_SIZE = 25
FIRES_SHOWN = 5
HISTORY_STATUSES = ("Success", "Warning", "Failure", "Running")
NOTICES = {
    "created": "Job created.",
    "created-asap": "Job created. Its run-at time had already passed, so it runs now.",
    "edited": "Job saved. The new definition applies from its next fire.",
    "paused": "Job paused. It does not fire until resumed; Run now still works.",
    "resumed": "Job resumed.",
    "backfill": "Backfill started. Its executions appear in the history as they run.",
    "backfill-cancelled": "Backfill cancelled. Executions already running finish.",
}


def _page_number(text: str) -> int:
    return number if (number := whole_number(text, 6)) is not None else 1


@router.get("/")
def jobs_page(
    request: Request,
    q: str = Query("", max_length=200),
    status: str = Query("", max_length=20),
    sort: str = Query("name", max_length=20),
    dir: str = Query("asc", max_length=4),
    page_text: str = Query("1", alias="page", max_length=12),
    part: str = Query("", max_length=10),
    user: ConsoleUser = CurrentUser,
) -> Response:
    svc = services(request)
    descending = dir == "desc"
    sort = sort if sort in SORT_KEYS else "name"
    status = status if status in STATUSES else ""
    rows = job_rows(svc.job_views.overview(user.principal.tenant))
    listed = list_page(rows, q.strip(), status, sort, descending, _page_number(page_text))
    state = {
        "q": q,
        "status": status,
        "sort": sort,
        "dir": "desc" if descending else "asc",
        "page": listed.page if listed.page > 1 else "",
    }
    context: dict[str, Any] = {
        "listed": listed,
        "state": state,
        "query": query,
        "sort_keys": SORT_KEYS,
        "labels": SORT_LABELS,
        "statuses": STATUSES,
        "refresh_s": svc.settings.console_refresh_s,
    }
    body = render_part(request, user, "jobs_table_body.html", **context)
    version = fingerprint(body)
    if part == "live":
        # A shown list refreshing itself: nothing while it is unchanged.
        found = unchanged(request, version)
        if found is not None:
            return found
    template = "jobs_table.html" if request.headers.get("hx-request") else "jobs.html"
    return page(request, template, user, body=body, version=version, **context)


def next_fires(job: Job, now: datetime, count: int = FIRES_SHOWN) -> list[datetime]:
    schedule = job.schedule
    if job.paused:
        return []  # a paused job fires nothing until resumed
    if schedule.get("frequency") != "periodic":
        return [job.next_fire_at] if job.next_fire_at else []
    try:
        found = preview_fire_times(
            str(schedule.get("cronExpression")),
            str(schedule.get("timeZone")),
            None,
            count,
            str(schedule.get("dstPolicy") or "fireAfterGap"),
            now,
        )
    except Invalid:
        return []
    return [datetime.fromisoformat(t) for t in found]


def _statuses(text: str) -> tuple[ExecutionStatus, ...]:
    return (ExecutionStatus(text),) if text in HISTORY_STATUSES else ()


@router.get("/jobs/{job_id}")
def job_page(
    job_id: str,
    request: Request,
    hstatus: str = Query("", max_length=20),
    page_text: str = Query("1", alias="hpage", max_length=12),
    part: str = Query("", max_length=10),
    done: str = Query("", max_length=20),
    user: ConsoleUser = CurrentUser,
) -> Response:
    svc = services(request)
    tenant = user.principal.tenant
    view: JobOverview = svc.job_views.job(tenant, job_id)
    job = view.job
    statuses = _statuses(hstatus)
    history: HistoryPage = svc.job_views.history(
        tenant, job_id, statuses, _page_number(page_text), HISTORY_PAGE_SIZE
    )
    state = {
        "hstatus": statuses[0].value if statuses else "",
        "hpage": history.page if history.page > 1 else "",
    }
    context: dict[str, Any] = {
        "view": view,
        "job": job,
        "history": history,
        "timeline": list(reversed(history.executions)),
        "fires": next_fires(job, svc.clock.now()),
        "zone": str(job.schedule.get("timeZone") or "UTC"),
        "state": state,
        "query": query,
        "statuses": HISTORY_STATUSES,
        "refresh_s": svc.settings.console_refresh_s,
        "target": target_label(view.target, job.target_id),
        "schedule": schedule_words(job),
    }
    body = render_part(request, user, "job_body.html", **context)
    version = fingerprint(body)
    if part == "live":
        return unchanged(request, version) or page(
            request, "job_live.html", user, body=body, version=version, **context
        )
    return page(
        request, "job.html", user, body=body, version=version, notice=NOTICES.get(done), **context
    )


@router.post("/jobs/{job_id}/run")
async def run_job(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> Response:
    await checked_form(request, user)
    svc = services(request)

    def fire() -> int:
        return svc.runs.run_now(user.principal.tenant, job_id).number

    number = await run_in_threadpool(fire)
    return RedirectResponse(f"/jobs/{job_id}/executions/{number}", status_code=303)


@router.get("/jobs/{job_id}/delete")
def confirm_delete(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> HTMLResponse:
    user.require_admin()
    job = services(request).jobs.get(user.principal.tenant, job_id)
    return page(
        request,
        "confirm.html",
        user,
        title=f"Delete job {job.name}?",
        question=f"Delete the job “{job.name}” (#{job.id}) and its execution history?",
        items=[],
        more=0,
        action=f"/jobs/{job.id}/delete",
        confirm_label="Delete job",
        cancel_url=f"/jobs/{job.id}",
    )


@router.post("/jobs/{job_id}/delete")
async def delete_job(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> Response:
    await checked_form(request, user)
    await run_in_threadpool(services(request).jobs.delete, user.principal.tenant, job_id)
    return RedirectResponse("/", status_code=303)
