"""The claim loop: fires due jobs exactly once per scheduled instant, on any number of instances.

Each tick reads the clock once, takes over what dead instances left (``Lifecycle.recover``),
claims due jobs in one write transaction (an execution per (job, scheduled instant) under a
unique key, ``next_fire_at`` advanced), possibly ahead of their instant (the lookahead), and
hands each execution to the executor when its instant comes. The loop survives every error:
it logs, backs off and goes on (design §3.7).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from batchscore import metrics
from batchscore.backoff import Backoff
from batchscore.clock import Clock
from batchscore.domain.jobs import JobSchedule, is_catch_up_note
from batchscore.domain.timefmt import format_instant
from batchscore.execution.lifecycle import (
    ClaimedExecution,
    ExecutionHandoff,
    Fire,
    HasRoom,
    Lifecycle,
)
from batchscore.scheduling.backfill import BackfillDriver
from batchscore.scheduling.fires import FirePlan, plan_fire, window_for
from batchscore.scheduling.schedules import schedule_from_stored
from batchscore.store import executions as repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TickResult:
    started: tuple[ClaimedExecution, ...]
    skipped: int
    claimed: int
    recovered: int
    """Started executions of dead instances finished as interrupted."""
    adopted: int = 0
    """Claims of dead instances taken over, to run here."""


class Scheduler:
    """One scheduler instance. ``tick()`` is the unit of work; ``run()`` loops over it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        handoff: ExecutionHandoff,
        *,
        owner: str | None = None,
        lifecycle: Lifecycle | None = None,
        misfire_threshold: timedelta = timedelta(seconds=60),
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 1000,
        retention: timedelta | None = None,
        lookahead: timedelta = timedelta(0),
        backfill_concurrency: int = 1,
    ) -> None:
        self.db = db
        self.clock = clock
        self.handoff = handoff
        if lifecycle is None:
            lifecycle = Lifecycle(
                db, clock, owner=owner or f"scheduler-{uuid.uuid4().hex[:8]}", lease=lease
            )
        self.lifecycle = lifecycle
        self.owner = lifecycle.owner
        self.misfire_threshold = misfire_threshold
        self.batch_size = batch_size
        self.retention = retention
        self.lookahead = lookahead
        self.backfills = BackfillDriver(db, clock, lifecycle, handoff, backfill_concurrency)
        self._last_prune: datetime | None = None
        # Executions created ahead of their instant (or taken over), handed off when it comes.
        self._pending: list[tuple[datetime, int, ClaimedExecution]] = []
        self._pending_lock = threading.Lock()
        self.last_tick: float | None = None
        """``time.monotonic()`` of the last tick that succeeded (readiness)."""

    def tick(self) -> TickResult:
        """Take over what dead instances left, claim and fire every job due within the
        lookahead (in batches), hand off what is due. ``started`` lists the executions handed
        off now. Raises on a database error; what was done before it stays done."""
        now = self.clock.now()
        recovery = self.lifecycle.recover(now, self._claim_limit())
        self._hold([self._late(e, now) for e in recovery.adopted])
        self.prune(now)
        started: list[ClaimedExecution] = []
        skipped = claimed = 0
        while True:
            limit = self._claim_limit()
            created, batch_claimed = self._fire_batch(now, limit) if limit > 0 else ([], 0)
            claimed += batch_claimed
            self._hold(created)
            handed, batch_skipped = self._release(now)
            started += handed
            skipped += batch_skipped
            if batch_claimed < limit or limit <= 0:
                break
        started += self.backfills.tick(now)
        self.last_tick = time.monotonic()
        metrics.LAST_TICK.set(time.time())
        return TickResult(
            tuple(started), skipped, claimed, recovery.interrupted, len(recovery.adopted)
        )

    def _late(self, execution: ClaimedExecution, now: datetime) -> ClaimedExecution:
        """A claim taken over later than the misfire threshold (its instance stopped, nobody
        ran it for a while) runs with a note saying so, which makes it a Warning."""
        late = now - execution.scheduled_at
        if late <= self.misfire_threshold or any(map(is_catch_up_note, execution.messages)):
            return execution  # (a resumed job's catch-up says why it is late itself)
        note = (
            f"The execution for {format_instant(execution.scheduled_at)} started "
            f"{int(late.total_seconds())} s late (taken over from a stopped instance)."
        )
        return replace(execution, messages=(*execution.messages, note))

    def _hold(self, executions: tuple[ClaimedExecution, ...] | list[ClaimedExecution]) -> None:
        with self._pending_lock:
            for execution in executions:
                heapq.heappush(self._pending, (execution.scheduled_at, execution.id, execution))

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

    def _release(self, now: datetime) -> tuple[list[ClaimedExecution], int]:
        ready: list[ClaimedExecution] = []
        with self._pending_lock:
            while self._pending and self._pending[0][0] <= now:
                ready.append(heapq.heappop(self._pending)[2])
        if not ready:
            return [], 0
        done = self.lifecycle.hand_off(ready, now, self.handoff)
        self._hold(done.left)  # not lost: released again at the next attempt
        if done.error is not None:
            raise done.error
        return list(done.handed), done.skipped

    def next_release(self) -> datetime | None:
        with self._pending_lock:
            return self._pending[0][0] if self._pending else None

    def held_ids(self) -> list[int]:
        """Executions this scheduler holds and has not handed off yet."""
        with self._pending_lock:
            return [entry[1] for entry in self._pending]

    def renew_held(self) -> None:
        """Renew the leases of the executions held for later (called by the heartbeat); one
        that is not this instance's any more (taken over meanwhile) is dropped."""
        ids = self.held_ids()
        if not ids:
            return
        kept = self.lifecycle.renew(ids)
        if len(kept) < len(ids):
            with self._pending_lock:
                self._pending = [e for e in self._pending if e[1] in kept or e[1] not in ids]
                heapq.heapify(self._pending)

    def hand_back_held(self) -> list[int]:
        """Give up what was claimed and not handed off (this instance stops)."""
        with self._pending_lock:
            ids = [entry[1] for entry in self._pending]
            self._pending.clear()
        return self.lifecycle.hand_back(ids)

    def _fire_batch(self, now: datetime, limit: int) -> tuple[list[ClaimedExecution], int]:
        with self.db.write() as conn:
            # Claiming ahead (lookahead) lets a large batch be written before its instant.
            due = repo.claim_due_jobs(conn, now + self.lookahead, limit)
            fires: list[Fire] = []
            advances: list[tuple[int, datetime, datetime | None, int]] = []
            for job in due:
                schedule = schedule_from_stored(job.schedule)
                plan = plan_fire(schedule, job.next_fire_at, now, self.misfire_threshold)
                fired = plan.instant is not None
                if fired:
                    fires.append(_fire(job, schedule, plan, job.execution_count + 1))
                advances.append((job.id, job.next_fire_at, plan.next_fire_at, int(fired)))
            created = self.lifecycle.create(conn, fires, now)
            repo.advance_jobs(conn, advances)
        return created, len(due)

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
        executions created ahead of their instant. No error ends the loop: a failed tick or
        hand-off is logged and retried after a growing pause (at most 10 s)."""
        backoff = Backoff("the scheduler tick", log, first=interval, cap=max(10.0, interval))
        next_tick = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + interval
                    self.tick()
                else:
                    self.release(self.clock.now())
            except Exception as exc:
                metrics.LOOP_ERRORS.labels("scheduler").inc()
                next_tick = time.monotonic() + backoff.failed(exc)
                stop.wait(max(next_tick - time.monotonic(), 0.001))
                continue
            backoff.succeeded()
            wait = next_tick - time.monotonic()
            upcoming = self.next_release()
            if upcoming is not None:
                wait = min(wait, (upcoming - self.clock.now()).total_seconds())
            stop.wait(max(wait, 0.001))


def _fire(job: repo.DueJob, schedule: JobSchedule, plan: FirePlan, number: int) -> Fire:
    """The execution of one due job's fire: its window and, for a late fire, why."""
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
    return Fire(
        job.id, job.tenant, number, plan.instant, window_from, window_to, tuple(messages),
        job.is_group,
    )  # fmt: skip
