"""The claim loop: fires due jobs exactly once per scheduled instant, on any number of instances.

Each tick reads the clock once, claims due jobs in one write transaction, inserts one execution
per (job, scheduled instant) under a unique key, advances ``next_fire_at``, and after commit
hands the started executions to the executor.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from batchscore.clock import Clock
from batchscore.domain.jobs import ExecutionStatus, JobSchedule
from batchscore.domain.timefmt import format_instant
from batchscore.scheduling.fires import FirePlan, plan_fire, window_for
from batchscore.scheduling.schedules import schedule_from_stored
from batchscore.store import executions as repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StartedExecution:
    """An execution the scheduler created in state Running, ready to be run."""

    id: int
    job_id: int
    tenant: str
    number: int
    scheduled_at: datetime
    window_from: datetime | None
    window_to: datetime | None
    messages: tuple[str, ...]


class ExecutionHandoff(Protocol):
    """Receives executions the scheduler started. Must not block the scheduler for long:
    queue the work and return. The execution row is the truth; if the handoff is lost, the
    lease expires and the execution is finished as interrupted."""

    def submit(self, execution: StartedExecution) -> None: ...


@dataclass(frozen=True, slots=True)
class TickResult:
    started: tuple[StartedExecution, ...]
    skipped: int
    claimed: int
    recovered: int


class Scheduler:
    """One scheduler instance. ``tick()`` is the unit of work; ``run()`` loops over it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        handoff: ExecutionHandoff,
        *,
        owner: str | None = None,
        misfire_threshold: timedelta = timedelta(seconds=60),
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 1000,
        retention: timedelta | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.handoff = handoff
        self.owner = owner or f"scheduler-{uuid.uuid4().hex[:8]}"
        self.misfire_threshold = misfire_threshold
        self.lease = lease
        self.batch_size = batch_size
        self.retention = retention
        self._last_prune: datetime | None = None

    def tick(self) -> TickResult:
        """Claim and fire everything due now (in batches); recover expired leases."""
        now = self.clock.now()
        recovered = self.recover_interrupted(now)
        self.prune(now)
        started: list[StartedExecution] = []
        skipped = claimed = 0
        while True:
            batch_started, batch_skipped, batch_claimed = self._fire_batch(now)
            started += batch_started
            skipped += batch_skipped
            claimed += batch_claimed
            for execution in batch_started:
                self.handoff.submit(execution)
            if batch_claimed < self.batch_size:
                break
        return TickResult(tuple(started), skipped, claimed, recovered)

    def _fire_batch(self, now: datetime) -> tuple[list[StartedExecution], int, int]:
        with self.db.write() as conn:
            due = repo.claim_due_jobs(conn, now, self.batch_size)
            running = repo.running_job_ids(conn, [j.id for j in due])
            rows: list[repo.NewExecution] = []
            advances: list[tuple[int, datetime, datetime | None, int]] = []
            for job in due:
                schedule = schedule_from_stored(job.schedule)
                plan = plan_fire(schedule, job.next_fire_at, now, self.misfire_threshold)
                fired = plan.instant is not None
                if fired:
                    number = job.execution_count + 1
                    rows.append(self._execution_row(job, schedule, plan, number, now, running))
                advances.append((job.id, job.next_fire_at, plan.next_fire_at, int(fired)))
            ids = repo.insert_executions(conn, rows)
            repo.advance_jobs(conn, advances)
            for row in rows:
                if row.status is not ExecutionStatus.RUNNING:
                    repo.update_job_status(conn, row.job_id, row.status, 0)
        started = [
            StartedExecution(
                id=ids[(r.job_id, r.number)],
                job_id=r.job_id,
                tenant=r.tenant,
                number=r.number,
                scheduled_at=r.scheduled_at,
                window_from=r.window_from,
                window_to=r.window_to,
                messages=tuple(r.messages),
            )
            for r in rows
            if r.status is ExecutionStatus.RUNNING and (r.job_id, r.number) in ids
        ]
        return started, len(rows) - len(started), len(due)

    def _execution_row(
        self,
        job: repo.DueJob,
        schedule: JobSchedule,
        plan: FirePlan,
        number: int,
        now: datetime,
        running: set[int],
    ) -> repo.NewExecution:
        assert plan.instant is not None
        messages: list[str] = []
        if plan.skipped_since is not None:
            messages.append(
                f"Fire times from {format_instant(plan.skipped_since)} until "
                f"{format_instant(plan.instant)} were missed; fired once for the latest."
            )
        if plan.late_by is not None:
            messages.append(
                f"The execution for {format_instant(plan.instant)} started "
                f"{int(plan.late_by.total_seconds())} s late (misfire)."
            )
        window_from, window_to = window_for(schedule, plan.instant)
        if job.id in running:
            messages.append(
                f"The execution for {format_instant(plan.instant)} was skipped because the "
                "previous execution of this job was still running."
            )
            return repo.NewExecution(
                job.id, job.tenant, number, plan.instant, window_from, window_to,
                ExecutionStatus.WARNING, messages, now, now, 0, is_group=job.is_group,
            )  # fmt: skip
        return repo.NewExecution(
            job.id, job.tenant, number, plan.instant, window_from, window_to,
            ExecutionStatus.RUNNING, messages, now,
            lease_owner=self.owner, lease_until=now + self.lease, is_group=job.is_group,
        )  # fmt: skip

    def recover_interrupted(self, now: datetime) -> int:
        """Finish as Failure every running execution whose lease expired (its process died)."""
        with self.db.write() as conn:
            expired = repo.expired_leases(conn, now)
            for execution_id in expired:
                repo.finish_execution(
                    conn,
                    execution_id,
                    ExecutionStatus.FAILURE,
                    ["The execution was interrupted: the process running it stopped."],
                    now,
                )
        return len(expired)

    def prune(self, now: datetime) -> int:
        """Delete executions older than the retention period, at most once an hour."""
        if self.retention is None:
            return 0
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return 0
        self._last_prune = now
        pruned = 0
        while True:
            with self.db.write() as conn:
                deleted = repo.prune_finished(conn, now - self.retention)
            pruned += deleted
            if deleted < 1000:
                return pruned

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Tick until ``stop`` is set, waiting ``interval`` seconds between ticks."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # keep the loop alive through transient database errors
                log.exception("scheduler tick failed")
            stop.wait(interval)
