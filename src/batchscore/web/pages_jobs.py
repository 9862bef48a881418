"""Console pages of jobs: the list (filter, sort), a job's detail, run now, delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.deps import services
from batchscore.domain.inventory import ManagedObject
from batchscore.domain.jobs import Execution, Job
from batchscore.errors import Invalid
from batchscore.scheduling.preview import preview_fire_times
from batchscore.store import inventory as inventory_repo
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, checked_form, page
from batchscore.web.cron_words import describe_cron
from batchscore.web.queries import last_messages

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SORT_KEYS = ("name", "model", "target", "schedule", "next", "status", "duration")
TIMELINE_LENGTH = 120


@dataclass(frozen=True, slots=True)
class JobRow:
    job: Job
    target: str
    schedule: str
    zone: str
    status: str
    messages: tuple[str, ...]

    def sort_key(self, key: str) -> Any:
        job = self.job
        return {
            "name": job.name.lower(),
            "model": job.model_name.lower(),
            "target": self.target.lower(),
            "schedule": self.schedule.lower(),
            "next": job.next_fire_at.timestamp() if job.next_fire_at else float("inf"),
            "status": self.status,
            "duration": job.last_duration_ms if job.last_duration_ms is not None else -1,
        }[key]

    def matches(self, text: str) -> bool:
        hay = " ".join(
            [self.job.name, self.job.model_name, self.target, self.schedule, self.status]
        )
        return text.lower() in hay.lower()


def target_label(obj: ManagedObject | None, target_id: int) -> str:
    if obj is None:
        return f"#{target_id} (missing)"
    kind = "group" if obj.is_group else "device"
    return f"{obj.name or kind} (#{obj.id}, {kind})"


def schedule_words(job: Job) -> str:
    schedule = job.schedule
    if schedule.get("frequency") == "periodic":
        cron = str(schedule.get("cronExpression") or "")
        return describe_cron(cron) or cron
    at = schedule.get("scheduleAt")
    return f"Once at {at}" if at else "Once, as soon as possible"


def job_rows(request: Request, tenant: str) -> list[JobRow]:
    svc = services(request)
    jobs = svc.jobs.list_jobs(tenant)
    with svc.db.read() as conn:
        targets = inventory_repo.get_objects(conn, tenant, sorted({j.target_id for j in jobs}))
        messages = last_messages(conn, [j.id for j in jobs])
    return [
        JobRow(
            job=j,
            target=target_label(targets.get(j.target_id), j.target_id),
            schedule=schedule_words(j),
            zone=str(j.schedule.get("timeZone") or "UTC"),
            status=j.last_status.value if j.last_status else "Pending",
            messages=messages.get(j.id, ()),
        )
        for j in jobs
    ]


@router.get("/")
def jobs_page(
    request: Request,
    q: str = "",
    sort: str = "name",
    dir: str = "asc",
    user: ConsoleUser = CurrentUser,
) -> HTMLResponse:
    sort = sort if sort in SORT_KEYS else "name"
    descending = dir == "desc"
    rows = [r for r in job_rows(request, user.principal.tenant) if r.matches(q.strip()[:200])]
    rows.sort(key=lambda r: r.sort_key(sort), reverse=descending)
    template = "jobs_table.html" if request.headers.get("hx-request") else "jobs.html"
    return page(
        request,
        template,
        user,
        rows=rows,
        q=q[:200],
        sort=sort,
        dir="desc" if descending else "asc",
        sort_keys=SORT_KEYS,
    )


def next_fires(job: Job, now: datetime, count: int = 5) -> list[datetime]:
    schedule = job.schedule
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


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> HTMLResponse:
    svc = services(request)
    tenant = user.principal.tenant
    job = svc.jobs.get(tenant, job_id)
    history: list[Execution] = svc.jobs.history(tenant, job_id)
    with svc.db.read() as conn:
        target = inventory_repo.get_object(conn, tenant, job.target_id)
    model_exists = job.model_name in svc.models.names(tenant)
    return page(
        request,
        "job.html",
        user,
        job=job,
        target=target_label(target, job.target_id),
        schedule=schedule_words(job),
        zone=str(job.schedule.get("timeZone") or "UTC"),
        fires=next_fires(job, svc.clock.now()),
        timeline=history[-TIMELINE_LENGTH:],
        recent=list(reversed(history[-20:])),
        total=len(history),
        model_exists=model_exists,
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
        action=f"/jobs/{job.id}/delete",
        confirm_label="Delete job",
        cancel_url=f"/jobs/{job.id}",
    )


@router.post("/jobs/{job_id}/delete")
async def delete_job(job_id: str, request: Request, user: ConsoleUser = CurrentUser) -> Response:
    await checked_form(request, user)
    await run_in_threadpool(services(request).jobs.delete, user.principal.tenant, job_id)
    return RedirectResponse("/", status_code=303)
