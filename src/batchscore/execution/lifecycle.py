"""The one owner of an execution's lifecycle (design §3.1, §3.7): every change of an
execution's state happens here, whoever asks for it (the scheduler, a manual run, the executor).

- **created**: as a claim of one instance for a scheduled instant (by the scheduler's claim
  transaction, possibly ahead of the instant), or for *now* (a manual run);
- **handed off** to an executor on its instant, or finished at once as a skipped fire when a
  previous execution of its job is still running;
- **started**: its real start is stamped; from then on it is visible (``store.jobs.STARTED``);
- **renewed**: its lease, while queued (by the instance's heartbeat) and while running;
- **finished** with its status, retried until the database takes it;
- **handed back** when its instance stops (it becomes a claim without owner), and **taken
  over** when its owner is dead or its lease expired: a claim is run by the taker, a started
  execution is finished as interrupted.

Every write is a compare-and-set on the holder (``store.leases``), so an instance that was
taken for dead and comes back can neither start nor finish what it lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection

from batchscore import metrics
from batchscore.backoff import Backoff
from batchscore.clock import Clock
from batchscore.domain.jobs import ExecutionDefinition, ExecutionStatus, Job, is_backfill_note
from batchscore.domain.timefmt import format_instant
from batchscore.errors import Conflict
from batchscore.store import executions as repo
from batchscore.store import inferences as inferences_repo
from batchscore.store import instances as instances_repo
from batchscore.store import inventory as inventory_repo
from batchscore.store import job_lifecycle as lifecycle_repo
from batchscore.store import leases
from batchscore.store import outbox as outbox_repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)

INTERRUPTED = "The execution was interrupted: the process running it stopped."


@dataclass(frozen=True, slots=True)
class ClaimedExecution:
    """An execution held by this instance and not finished: what an executor needs to run it."""

    id: int
    job_id: int
    tenant: str
    number: int
    scheduled_at: datetime
    window_from: datetime | None
    window_to: datetime | None
    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Fire:
    """One scheduled instant of a job, as the scheduler decided it (window, lateness notes)."""

    job_id: int
    tenant: str
    number: int
    instant: datetime
    window_from: datetime
    window_to: datetime
    messages: tuple[str, ...]
    is_group: bool


class ExecutionHandoff(Protocol):
    """Receives executions on their instant. Must not block for long: queue the work and
    return. The execution row is the truth; a hand-off that is lost is taken over."""

    def submit(self, execution: ClaimedExecution) -> None: ...


@runtime_checkable
class HasRoom(Protocol):
    """A handoff that says how many more executions it takes on now (None: no limit)."""

    def room(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class HandOff:
    """What one hand-off did: executions submitted, fires skipped, and the executions it did
    not get to because the database failed (``error``); the caller keeps those for later."""

    handed: tuple[ClaimedExecution, ...]
    skipped: int
    left: tuple[ClaimedExecution, ...] = ()
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class Recovery:
    """What a takeover did: started executions finished as interrupted, claims now held."""

    interrupted: int
    adopted: tuple[ClaimedExecution, ...]


class Lifecycle:
    """The executions of one instance (``owner``), from creation to finish."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        owner: str,
        lease: timedelta = timedelta(minutes=5),
        dead_after: timedelta = timedelta(seconds=20),
    ) -> None:
        self.db = db
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.dead_after = dead_after

    # --- creation -------------------------------------------------------------------------

    def create(
        self, conn: Connection, fires: Sequence[Fire], now: datetime
    ) -> list[ClaimedExecution]:
        """Insert claims for ``fires`` in the caller's transaction (the scheduler's claim);
        an instant that already has an execution is left out."""
        rows = [
            repo.NewExecution(
                f.job_id,
                f.tenant,
                f.number,
                f.instant,
                f.window_from,
                f.window_to,
                ExecutionStatus.RUNNING,
                list(f.messages),
                None,
                lease_owner=self.owner,
                lease_until=now + self.lease,
                is_group=f.is_group,
            )
            for f in fires
        ]
        ids = repo.insert_executions(conn, rows)
        created = [
            ClaimedExecution(
                ids[(f.job_id, f.number)],
                f.job_id,
                f.tenant,
                f.number,
                f.instant,
                f.window_from,
                f.window_to,
                f.messages,
            )
            for f in fires
            if (f.job_id, f.number) in ids
        ]
        metrics.FIRES.labels("schedule").inc(len(created))
        return created

    def create_now(
        self, job: Job, window: tuple[datetime, datetime], now: datetime
    ) -> ClaimedExecution:
        """An execution of ``job`` for ``now`` (a manual run), visible at once as started at
        ``now``; ``Conflict`` while an execution of the job whose instant has come is unfinished."""
        with self.db.write() as conn:
            if repo.running_job_ids(conn, [job.id], scheduled_by=now):
                raise Conflict("The job is already running; try again when its execution ends.")
            target = inventory_repo.get_object(conn, job.tenant, job.target_id)
            number = repo.next_execution_number(conn, job.id)
            row = repo.NewExecution(
                job.id, job.tenant, number, now, window[0], window[1],
                ExecutionStatus.RUNNING, [], now,
                lease_owner=self.owner, lease_until=now + self.lease,
                is_group=bool(target is not None and target.is_group),
            )  # fmt: skip
            ids = repo.insert_executions(conn, [row])
            if not ids:
                raise Conflict("An execution of this job for this instant already exists.")
        metrics.FIRES.labels("manual").inc()
        return ClaimedExecution(
            ids[(job.id, number)], job.id, job.tenant, number, now, window[0], window[1], ()
        )

    # --- hand-off -------------------------------------------------------------------------

    def hand_off(
        self, ready: Sequence[ClaimedExecution], now: datetime, handoff: ExecutionHandoff
    ) -> HandOff:
        """Submit ``ready`` executions (their instant has come) to ``handoff``. One execution of
        a job at a time, decided at the fire instant: a fire that meets an unfinished execution
        of its job whose instant has come (or an earlier one in ``ready``) is finished as
        skipped, never queued."""
        if not ready:
            return HandOff((), 0)
        pending = sorted(ready, key=lambda e: (e.scheduled_at, e.id))
        try:
            with self.db.read() as conn:
                busy = repo.running_job_ids(
                    conn,
                    sorted({e.job_id for e in pending}),
                    exclude=[e.id for e in pending],
                    scheduled_by=now,
                )
                held = lifecycle_repo.held_among(conn, [e.id for e in pending], self.owner)
        except Exception as exc:
            return HandOff((), 0, tuple(pending), exc)
        # A claim dropped meanwhile (its job edited, paused or deleted) or taken over is not
        # this instance's to run, nor to count as the job's running execution.
        pending = [e for e in pending if e.id in held]
        handed: list[ClaimedExecution] = []
        skipped = 0
        for index, execution in enumerate(pending):
            if execution.messages[:1] and is_backfill_note(execution.messages[0]):
                handed.append(execution)  # a backfill (taken over) runs beside the schedule
                continue
            if execution.job_id not in busy:
                busy.add(execution.job_id)
                handed.append(execution)
                continue
            message = (
                f"The execution for {format_instant(execution.scheduled_at)} was skipped "
                "because the previous execution of this job was still running."
            )
            try:
                # One short transaction each, locking rows in the order an executor's finish
                # does (execution, job, tenant): several in one transaction deadlock.
                with self.db.write() as conn:
                    ours = repo.finish_execution(
                        conn, execution.id, ExecutionStatus.WARNING,
                        [*execution.messages, message], now, owner=self.owner,
                    )  # fmt: skip
            except Exception as exc:
                rest = [e for e in pending[index:] if e not in handed]
                return HandOff(self._submit(handed, handoff), skipped, tuple(rest), exc)
            if ours:  # else it was taken over meanwhile: not this instance's to skip
                metrics.EXECUTIONS.labels(ExecutionStatus.WARNING.value).inc()
                skipped += 1
        return HandOff(self._submit(handed, handoff), skipped)

    @staticmethod
    def _submit(
        handed: list[ClaimedExecution], handoff: ExecutionHandoff
    ) -> tuple[ClaimedExecution, ...]:
        for execution in handed:
            handoff.submit(execution)
        return tuple(handed)

    # --- start, renew, write, finish ----------------------------------------------------

    def start(self, execution: ClaimedExecution) -> bool:
        """Stamp the real start; False if the execution is no longer this instance's."""
        now = self.clock.now()
        with self.db.write() as conn:
            started = leases.start(conn, execution.id, self.owner, now, now + self.lease)
        if started:
            metrics.LATENESS.observe(max(0.0, (now - execution.scheduled_at).total_seconds()))
        return started

    def renew(self, ids: Sequence[int]) -> set[int]:
        """Extend the leases of ``ids``; returns those this instance still holds."""
        now = self.clock.now()
        with self.db.write() as conn:
            return leases.renew(conn, ids, self.owner, now + self.lease)

    def write_chunks(
        self, execution_id: int, batch: Sequence[tuple[int, int, int, int, bytes]]
    ) -> bool:
        """Store a batch of inference chunks (seq, first device, row_start, row_count, payload)
        of a running execution in one insert, in the transaction that checks (and renews) that
        this instance still holds it; False (nothing written) if not."""
        now = self.clock.now()
        with self.db.write() as conn:
            if not leases.renew(conn, [execution_id], self.owner, now + self.lease):
                return False
            inferences_repo.insert_chunks(conn, execution_id, batch)
        return True

    def finish(
        self,
        execution: ClaimedExecution,
        status: ExecutionStatus,
        messages: Sequence[str],
        records: int,
        *,
        ran_s: float | None = None,
        give_up: threading.Event | None = None,
        definition: ExecutionDefinition | None = None,
        effects: Sequence[outbox_repo.EffectRow] = (),
    ) -> bool:
        """Finish a held execution (that ran ``ran_s`` seconds), retrying with backoff while
        the database fails, until it succeeds or ``give_up`` is set. False if it is not this
        instance's any more, or given up (it stays held, to be handed back or taken over).
        ``effects`` of its actions go to the outbox in the same transaction (design §2.9)."""
        backoff = Backoff(f"finishing execution {execution.id}", log, first=0.5, cap=10.0)
        wait = give_up or threading.Event()
        while True:
            try:
                with self.db.write() as conn:
                    ended = self.clock.now()
                    done = repo.finish_execution(
                        conn, execution.id, status, messages, ended, records,
                        owner=self.owner, definition=definition,
                    )  # fmt: skip
                    if done and effects:
                        outbox_repo.insert_effects(
                            conn, execution.id, execution.tenant, effects, ended
                        )
            except Exception as exc:
                if wait.wait(backoff.failed(exc)):
                    return False
                continue
            backoff.succeeded()
            if done:
                metrics.EXECUTIONS.labels(status.value).inc()
                if ran_s is not None:
                    metrics.DURATION.labels(status.value).observe(ran_s)
            return done

    # --- hand back, take over -------------------------------------------------------------

    def hand_back(self, ids: Sequence[int]) -> list[int]:
        """Give up held executions (this instance stops): any scheduler takes them over."""
        if not ids:
            return []
        with self.db.write() as conn:
            back = leases.hand_back(conn, ids, self.owner, self.clock.now())
        if back:
            log.info("handed back %d executions: %s", len(back), back[:20])
        return back

    def hand_back_all(self) -> list[int]:
        """Give up every execution this instance still holds (the last step of a stop)."""
        with self.db.read() as conn:
            ids = leases.held(conn, self.owner)
        return self.hand_back(ids)

    def recover(self, now: datetime, room: int | None = None) -> Recovery:
        """Take over what dead instances (silent longer than ``dead_after``) and expired
        leases left: finish started executions as interrupted, take over at most ``room``
        claims (to run them here), forget dead instances that own nothing any more."""
        silent_since = now - self.dead_after
        limit = 1000 if room is None else max(room, 0)
        with self.db.read() as conn:
            # Never itself: a beat late by a database hiccup is not a death.
            dead = [d for d in instances_repo.dead_instances(conn, silent_since) if d != self.owner]
            started, claims = leases.orphans(conn, now, dead, self.owner, 1000)
        interrupted = 0
        for execution_id in started:
            # One transaction each, in the lock order of an executor's finish (see hand_off);
            # one finished or taken meanwhile is left alone (the compare-and-set says so).
            with self.db.write() as conn:
                taken = leases.take_over(
                    conn, [execution_id], self.owner, now, now + self.lease, dead
                )
                if taken and repo.finish_execution(
                    conn, execution_id, ExecutionStatus.FAILURE, [INTERRUPTED], now,
                    owner=self.owner,
                ):  # fmt: skip
                    interrupted += 1
        if interrupted:
            metrics.EXECUTIONS.labels(ExecutionStatus.FAILURE.value).inc(interrupted)
            metrics.TAKEOVERS.labels("interrupted").inc(interrupted)
            log.warning("finished %d executions of stopped instances as interrupted", interrupted)
        adopted: list[leases.HeldExecution] = []
        if claims[:limit]:
            with self.db.write() as conn:
                adopted = leases.take_over(
                    conn, claims[:limit], self.owner, now, now + self.lease, dead
                )
            if adopted:
                metrics.TAKEOVERS.labels("claim").inc(len(adopted))
                log.warning(
                    "took over %d executions claimed by stopped instances: %s",
                    len(adopted),
                    [e.id for e in adopted][:20],
                )
        if dead:
            with self.db.write() as conn:
                instances_repo.forget_dead(conn, silent_since)
        return Recovery(
            interrupted,
            tuple(
                ClaimedExecution(
                    e.id,
                    e.job_id,
                    e.tenant,
                    e.number,
                    e.scheduled_at,
                    e.window_from,
                    e.window_to,
                    e.messages,
                )
                for e in adopted
            ),
        )
