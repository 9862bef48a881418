"""The jobs list: one row per job, filtered by text and status, sorted, cut into pages. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from batchscore.domain.inventory import ManagedObject
from batchscore.domain.jobs import Job
from batchscore.service.job_views import JobOverview, ModelState
from batchscore.web.cron_words import describe_cron

PAGE_SIZE = 25
SORT_KEYS = ("name", "status", "lastrun", "next", "model", "target", "schedule", "duration")
SORT_LABELS = {
    "name": "Name",
    "status": "Last status",
    "lastrun": "Last run",
    "next": "Next fire",
    "model": "Model",
    "target": "Target",
    "schedule": "Schedule",
    "duration": "Last duration",
}
STATUSES = ("Success", "Warning", "Failure", "Pending", "Running")
NEVER = float("inf")


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
    return "Once" if schedule.get("scheduleAt") else "Once, as soon as possible"


@dataclass(frozen=True, slots=True)
class JobRow:
    view: JobOverview
    target: str
    schedule: str

    @property
    def job(self) -> Job:
        return self.view.job

    @property
    def zone(self) -> str:
        return str(self.job.schedule.get("timeZone") or "UTC")

    @property
    def status(self) -> str:
        """The status of the last finished execution, ``Pending`` before the first."""
        return self.job.last_status.value if self.job.last_status else "Pending"

    @property
    def model_state(self) -> ModelState:
        return self.view.model_state

    def has_status(self, status: str) -> bool:
        return self.view.running if status == "Running" else self.status == status

    def sort_key(self, key: str) -> Any:
        job, latest = self.job, self.view.latest
        return {
            "name": job.name.lower(),
            "status": self.status,
            # Newest first reads "most recent at the top" when sorted descending.
            "lastrun": latest.scheduled_at.timestamp() if latest else -NEVER,
            "next": job.next_fire_at.timestamp() if job.next_fire_at else NEVER,
            "model": job.model_name.lower(),
            "target": self.target.lower(),
            "schedule": self.schedule.lower(),
            "duration": job.last_duration_ms if job.last_duration_ms is not None else -1,
        }[key]

    def matches(self, text: str) -> bool:
        hay = " ".join(
            [self.job.name, self.job.model_name, self.target, self.schedule, self.status]
        )
        return text.lower() in hay.lower()


def job_rows(views: list[JobOverview]) -> list[JobRow]:
    return [
        JobRow(v, target_label(v.target, v.job.target_id), schedule_words(v.job)) for v in views
    ]


@dataclass(frozen=True, slots=True)
class JobListPage:
    rows: list[JobRow]  # this page's
    matching: int  # rows passing the filters
    total: int  # every job
    counts: dict[str, int]  # rows passing the text filter, by status
    page: int
    pages: int
    size: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def list_page(
    rows: list[JobRow],
    text: str,
    status: str,
    sort: str,
    descending: bool,
    page: int,
    size: int = PAGE_SIZE,
) -> JobListPage:
    """The rows matching ``text`` (and ``status``, if one of :data:`STATUSES`), sorted by
    ``sort`` and cut to page ``page`` (clamped to the pages there are)."""
    texted = [r for r in rows if r.matches(text)] if text else list(rows)
    counts = {s: sum(1 for r in texted if r.has_status(s)) for s in STATUSES}
    chosen = [r for r in texted if r.has_status(status)] if status in STATUSES else texted
    key = sort if sort in SORT_KEYS else "name"
    chosen.sort(key=lambda r: (r.sort_key(key), r.job.id), reverse=descending)
    pages = max(1, math.ceil(len(chosen) / size))
    page = min(max(page, 1), pages)
    return JobListPage(
        chosen[(page - 1) * size : page * size], len(chosen), len(rows), counts, page, pages, size
    )
