"""Backfills (design §2.8): which instants a range holds, and the driver that creates their
executions, a few at a time, on any scheduler instance.

The backfill's state lives in its database row (``store.job_lifecycle``): the next instant to
create and the counts. Each tick, every instance tries each active backfill under the job's
row lock (skipped when another instance holds it), counts the backfill's unfinished
executions, and creates claims for the next instants up to the concurrency, oldest first;
an instant that already has an execution is skipped. The claims are held by this instance like
the scheduler's own and handed straight to its executor (not through the one-at-a-time rule of
scheduled fires: a backfill runs beside them); a claim of an instance that dies is taken over
as any other.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from batchscore import metrics
from batchscore.clock import Clock
from batchscore.domain.jobs import BACKFILL_NOTE, ExecutionStatus, Frequency, JobSchedule
from batchscore.domain.timefmt import format_instant
from batchscore.execution.lifecycle import ClaimedExecution, ExecutionHandoff, Lifecycle
from batchscore.scheduling.fire_times import next_periodic_fire
from batchscore.scheduling.fires import window_for
from batchscore.scheduling.schedules import schedule_from_stored
from batchscore.store import inventory as inventory_repo
from batchscore.store import job_lifecycle as repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)

MAX_INSTANTS = 10_000
"""A backfill of more instants than this is refused (400)."""
TINY = timedelta(microseconds=1)


def first_instant(schedule: JobSchedule, start: datetime) -> datetime | None:
    """The first instant of a periodic schedule at or after ``start``."""
    return next_periodic_fire(schedule, start - TINY)


def instants_between(
    schedule: JobSchedule, start: datetime, end: datetime, limit: int
) -> list[datetime]:
    """The schedule's instants in ``[start, end)``, oldest first, at most ``limit`` of them."""
    found: list[datetime] = []
    at = first_instant(schedule, start)
    while at is not None and at < end and len(found) < limit:
        found.append(at)
        at = next_periodic_fire(schedule, at)
    return found


def count_instants(schedule: JobSchedule, start: datetime, end: datetime) -> int:
    """How many instants ``[start, end)`` holds, counted up to ``MAX_INSTANTS + 1``."""
    assert schedule.frequency is Frequency.PERIODIC
    return len(instants_between(schedule, start, end, MAX_INSTANTS + 1))


class BackfillDriver:
    """Creates the executions of active backfills for one instance (``lifecycle.owner``)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        lifecycle: Lifecycle,
        handoff: ExecutionHandoff,
        concurrency: int = 1,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lifecycle = lifecycle
        self.handoff = handoff
        self.concurrency = concurrency

    def tick(self, now: datetime) -> list[ClaimedExecution]:
        """Create and hand off what the active backfills have room for; returns them."""
        with self.db.read() as conn:
            active = repo.active_backfills(conn)
        created: list[ClaimedExecution] = []
        for job_id, tenant, backfill_id in active:
            created += self._advance(job_id, tenant, backfill_id, now)
        for execution in created:
            self.handoff.submit(execution)
        if created:
            metrics.FIRES.labels("backfill").inc(len(created))
        return created

    def _advance(
        self, job_id: int, tenant: str, backfill_id: int, now: datetime
    ) -> list[ClaimedExecution]:
        with self.db.write() as conn:
            job = repo.lock_job(conn, tenant, job_id, skip_locked=True)
            if job is None:
                return []
            backfill = repo.get_backfill(conn, job_id, lock=True)
            if backfill is None or backfill.id != backfill_id or backfill.next_at is None:
                return []
            running, _ = repo.backfill_counts(conn, job_id, backfill_id)
            room = self.concurrency - running
            if room <= 0:
                return []
            schedule = schedule_from_stored(job.schedule)
            new: list[datetime] = []
            skipped = 0
            cursor: datetime | None = backfill.next_at
            while cursor is not None and len(new) < room:
                batch = instants_between(schedule, cursor, backfill.range_to, 500)
                if not batch:
                    cursor = None
                    break
                existing = repo.existing_instants(conn, job_id, batch)
                for at in batch:
                    if len(new) == room:
                        cursor = at
                        break
                    if at in existing:
                        skipped += 1
                    else:
                        new.append(at)
                else:
                    following = next_periodic_fire(schedule, batch[-1])
                    cursor = following if following and following < backfill.range_to else None
            target = inventory_repo.get_object(conn, tenant, job.target_id) if new else None
            is_group = bool(target is not None and target.is_group)
            rows: list[dict[str, Any]] = []
            number = job.execution_count
            for at in new:
                number += 1
                window_from, window_to = window_for(schedule, at)
                rows.append(
                    {
                        "job_id": job_id, "tenant_id": tenant, "number": number,
                        "scheduled_at": at, "window_from": window_from, "window_to": window_to,
                        "is_group": is_group,
                        "status": ExecutionStatus.RUNNING.value,
                        "messages": [BACKFILL_NOTE.format(instant=format_instant(at))],
                        "started_at": None, "lease_owner": self.lifecycle.owner,
                        "lease_until": now + self.lifecycle.lease, "record_count": 0,
                        "backfill_id": backfill_id,
                    }
                )  # fmt: skip
            ids = repo.insert_backfill_executions(conn, rows)
            repo.set_execution_count(conn, job_id, number)
            repo.advance_backfill(conn, backfill_id, cursor, len(ids), skipped)
        return [_claim(ids[row["scheduled_at"]], row) for row in rows if row["scheduled_at"] in ids]


def _claim(execution_id: int, row: dict[str, Any]) -> ClaimedExecution:
    return ClaimedExecution(
        execution_id, row["job_id"], row["tenant_id"], row["number"], row["scheduled_at"],
        row["window_from"], row["window_to"], tuple(row["messages"]),
    )  # fmt: skip
