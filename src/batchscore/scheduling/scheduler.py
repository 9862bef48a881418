"""The claim loop: fires due jobs exactly once per scheduled instant, on any number of instances.

Each tick reads the clock once, claims due jobs in one write transaction, inserts one execution
per (job, scheduled instant) under a unique key, advances ``next_fire_at``, and after commit
hands the started executions to the executor.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class HasRoom(Protocol):
    """A handoff that says how many more executions it takes on now (None: no limit)."""

    def room(self) -> int | None: ...


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
        lookahead: timedelta = timedelta(0),
    ) -> None:
        self.db = db
        self.clock = clock
        self.handoff = handoff
        self.owner = owner or f"scheduler-{uuid.uuid4().hex[:8]}"
        self.misfire_threshold = misfire_threshold
        self.lease = lease
        self.batch_size = batch_size
        self.retention = retention
        self.lookahead = lookahead
        self._last_prune: datetime | None = None
        # Executions created ahead of their instant, handed off when it arrives.
        self._pending: list[tuple[datetime, int, StartedExecution]] = []
        self._pending_lock = threading.Lock()

    def tick(self) -> TickResult:
        """Claim and fire every job due within the lookahead (in batches), hand off what is
        due, recover expired leases. ``started`` lists the executions handed off now."""
        now = self.clock.now()
        recovered = self.recover_interrupted(now)
        self.prune(now)
        started: list[StartedExecution] = []
        skipped = claimed = 0
        while True:
            limit = self._claim_limit()
            created, batch_claimed = self._fire_batch(now, limit) if limit > 0 else ([], 0)
            claimed += batch_claimed
            with self._pending_lock:
                for execution in created:
                    heapq.heappush(self._pending, (execution.scheduled_at, execution.id, execution))
            handed, batch_skipped = self._release(now)
            started += handed
            skipped += batch_skipped
            if batch_claimed < limit or limit <= 0:
                break
        return TickResult(tuple(started), skipped, claimed, recovered)

    def _claim_limit(self) -> int:
        """At most a batch, and no more than the handoff has room for beyond what this
        instance already holds (claimed ahead, not handed off yet)."""
        room = self.handoff.room() if isinstance(self.handoff, HasRoom) else None
        if room is None:
            return self.batch_size
        with self._pending_lock:
            held = len(self._pending)
        return min(self.batch_size, room - held)

    def release(self, now: datetime) -> int:
        """Hand off the created executions whose scheduled instant has come."""
        return len(self._release(now)[0])

    def _release(self, now: datetime) -> tuple[list[StartedExecution], int]:
        ready: list[StartedExecution] = []
        with self._pending_lock:
            while self._pending and self._pending[0][0] <= now:
                ready.append(heapq.heappop(self._pending)[2])
        if not ready:
            return [], 0
        done = 0  # ``ready[:done]`` are dealt with; the rest go back to pending on an error
        try:
            # One execution of a job at a time, decided at the fire instant: a fire that meets
            # a still-running execution of its job is recorded as skipped, never queued.
            with self.db.read() as conn:
                busy = repo.running_job_ids(
                    conn,
                    [e.job_id for e in ready],
                    exclude=[e.id for e in ready],
                    scheduled_by=now,
                )
            ready.sort(key=lambda e: e.job_id not in busy)  # skipped first, then handed off
            for execution in ready:
                if execution.job_id not in busy:
                    break
                message = (
                    f"The execution for {format_instant(execution.scheduled_at)} was skipped "
                    "because the previous execution of this job was still running."
                )
                # One short transaction per execution, locking rows in the order an executor's
                # finish does (execution, job, tenant): finishing several in one transaction
                # deadlocks against executors finishing those jobs' running executions.
                with self.db.write() as conn:
                    repo.finish_execution(
                        conn, execution.id, ExecutionStatus.WARNING,
                        [*execution.messages, message], now,
                    )  # fmt: skip
                done += 1
        except BaseException:
            with self._pending_lock:  # not lost: released again at the next tick
                for execution in ready[done:]:
                    heapq.heappush(self._pending, (execution.scheduled_at, execution.id, execution))
            raise
        handed = ready[done:]
        for execution in handed:
            self.handoff.submit(execution)
        return handed, done

    def next_release(self) -> datetime | None:
        with self._pending_lock:
            return self._pending[0][0] if self._pending else None

    def _fire_batch(self, now: datetime, limit: int) -> tuple[list[StartedExecution], int]:
        with self.db.write() as conn:
            # Claiming ahead (lookahead) lets a large batch be written before its instant.
            due = repo.claim_due_jobs(conn, now + self.lookahead, limit)
            rows: list[repo.NewExecution] = []
            advances: list[tuple[int, datetime, datetime | None, int]] = []
            for job in due:
                schedule = schedule_from_stored(job.schedule)
                plan = plan_fire(schedule, job.next_fire_at, now, self.misfire_threshold)
                fired = plan.instant is not None
                if fired:
                    number = job.execution_count + 1
                    rows.append(self._execution_row(job, schedule, plan, number, now))
                advances.append((job.id, job.next_fire_at, plan.next_fire_at, int(fired)))
            ids = repo.insert_executions(conn, rows)
            repo.advance_jobs(conn, advances)
        created = [
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
            if (r.job_id, r.number) in ids
        ]
        return created, len(due)

    def _execution_row(
        self,
        job: repo.DueJob,
        schedule: JobSchedule,
        plan: FirePlan,
        number: int,
        now: datetime,
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
        return repo.NewExecution(
            job.id, job.tenant, number, plan.instant, window_from, window_to,
            ExecutionStatus.RUNNING, messages, now,
            lease_owner=self.owner, lease_until=now + self.lease, is_group=job.is_group,
        )  # fmt: skip

    def recover_interrupted(self, now: datetime) -> int:
        """Finish as Failure every running execution whose lease expired (its process died)."""
        with self.db.read() as conn:
            expired = repo.expired_leases(conn, now)
        recovered = 0
        for execution_id in expired:
            # One transaction each, in the lock order of an executor's finish (see
            # ``_release``); one finished meanwhile is left alone (``finish_execution`` checks).
            with self.db.write() as conn:
                recovered += repo.finish_execution(
                    conn,
                    execution_id,
                    ExecutionStatus.FAILURE,
                    ["The execution was interrupted: the process running it stopped."],
                    now,
                )
        return recovered

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
        """Tick every ``interval`` seconds until ``stop`` is set, waking early to hand off
        executions created ahead of their instant."""
        next_tick = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + interval
                try:
                    self.tick()
                except Exception:  # keep the loop alive through transient database errors
                    log.exception("scheduler tick failed")
            else:
                self.release(self.clock.now())
            wait = next_tick - time.monotonic()
            upcoming = self.next_release()
            if upcoming is not None:
                wait = min(wait, (upcoming - self.clock.now()).total_seconds())
            stop.wait(max(wait, 0.001))
        self._drain()

    def _drain(self) -> None:
        """Hand off the executions claimed ahead on their instants (at most ``lookahead``
        away) after a stop: they belong to this instance, and a graceful stop loses no fire."""
        deadline = time.monotonic() + self.lookahead.total_seconds() + 1.0
        pause = threading.Event()
        while (upcoming := self.next_release()) is not None and time.monotonic() < deadline:
            pause.wait(min(max((upcoming - self.clock.now()).total_seconds(), 0.0), 0.5))
            try:
                self.release(self.clock.now())
            except Exception:  # their leases expire and recovery ends them as interrupted
                log.exception("handing off executions claimed ahead failed")
                return
