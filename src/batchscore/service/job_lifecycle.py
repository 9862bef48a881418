"""A job's lifecycle after its creation (design §2.8): edit (PUT), pause, resume, backfill.

Every change runs in one write transaction that first locks the job row, the row the
scheduler's claim locks too, so it is atomic with respect to every scheduler instance: the
claims the scheduler made ahead for instants after now (not started yet) are deleted in the
same transaction, and ``next_fire_at`` is set from the new definition. An instance holding
such a deleted claim finds nothing when its instant comes and runs nothing; an execution that
already started finishes under the definition it started with (which it records).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from batchscore.clock import Clock
from batchscore.domain.actions import keep_secrets
from batchscore.domain.jobs import CATCH_UP_NOTE, ExecutionStatus, Frequency, Job, JobSchedule
from batchscore.domain.timefmt import format_instant, in_supported_range, parse_instant
from batchscore.errors import Conflict, Invalid, NotFound
from batchscore.scheduling.backfill import MAX_INSTANTS, count_instants, first_instant
from batchscore.scheduling.fire_times import first_fire_at, next_periodic_fire
from batchscore.scheduling.fires import resume_fire_at, window_for
from batchscore.scheduling.schedules import schedule_from_stored
from batchscore.service.jobs import JobService, job_not_found, parse_int_id
from batchscore.store import executions as executions_repo
from batchscore.store import inventory as inventory_repo
from batchscore.store import job_lifecycle as repo
from batchscore.store import jobs as jobs_repo
from batchscore.store.db import Database, Transaction
from batchscore.store.job_lifecycle import Backfill, LockedJob

MAX_BACKFILL_INSTANTS = MAX_INSTANTS
"""A backfill of more instants than this is refused."""


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    """A job's latest backfill as ``GET /job/{id}/status`` shows it."""

    backfill: Backfill
    running: int
    finished: int

    @property
    def state(self) -> str:
        if self.backfill.cancelled_at is not None:
            return "cancelled" if self.running == 0 else "cancelling"
        if self.backfill.next_at is None and self.running == 0:
            return "done"
        return "running"

    def as_json(self) -> dict[str, Any]:
        b = self.backfill
        return {
            "from": format_instant(b.range_from),
            "to": format_instant(b.range_to),
            "instants": b.instants,
            "finished": self.finished,
            "running": self.running,
            "skipped": b.skipped,
            "state": self.state,
        }


class JobLifecycleService:
    """Edit, pause, resume and backfill the jobs of a tenant."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        jobs: JobService,
        misfire_threshold: timedelta = timedelta(seconds=60),
    ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs
        self.misfire_threshold = misfire_threshold

    def replace(self, tenant: str, job_id: str, body: Any) -> Job:
        """``PUT /job/{id}``: the whole definition replaced, validated as POST validates it;
        creation time, history, numbering and the paused state stay."""
        parsed = self._id(job_id)
        before = self.jobs.get(tenant, job_id)  # an unknown job is a 404 before any 400
        now = self.clock.now()
        spec = self.jobs.prepare(tenant, body, now)
        # webhook secrets are never echoed: a body sent back as read keeps the stored ones
        spec = dataclasses.replace(spec, actions=keep_secrets(spec.actions, before.actions))
        with self.db.write() as conn:
            locked = repo.lock_job(conn, tenant, parsed)
            if locked is None:
                raise job_not_found(job_id)
            self.jobs.check_references(conn, tenant, spec)
            repo.drop_claims_ahead(conn, parsed, now)
            first = first_fire_at(spec.schedule, now)
            if locked.paused:
                repo.replace_job(conn, parsed, spec, None, first)
            else:
                repo.replace_job(conn, parsed, spec, first, None)
            return self._read(conn, tenant, parsed)

    def pause(self, tenant: str, job_id: str) -> Job:
        """The job stops firing (its claims ahead dropped); a manual run still works."""
        parsed = self._id(job_id)
        now = self.clock.now()
        with self.db.write() as conn:
            locked = repo.lock_job(conn, tenant, parsed)
            if locked is None:
                raise job_not_found(job_id)
            if not locked.paused:
                dropped = repo.drop_claims_ahead(conn, parsed, now)
                resume_at = dropped[0] if dropped else locked.next_fire_at
                repo.set_paused(conn, parsed, True, None, resume_at)
            return self._read(conn, tenant, parsed)

    def resume(self, tenant: str, job_id: str) -> Job:
        """The job fires again; instants missed while paused follow its misfire policy."""
        parsed = self._id(job_id)
        now = self.clock.now()
        with self.db.write() as conn:
            locked = repo.lock_job(conn, tenant, parsed)
            if locked is None:
                raise job_not_found(job_id)
            if locked.paused:
                schedule = schedule_from_stored(locked.schedule)
                due = resume_fire_at(schedule, locked.resume_fire_at, now, self.misfire_threshold)
                if due is not None and due <= now and schedule.frequency is Frequency.PERIODIC:
                    due = self._catch_up(conn, locked, schedule, due, now)
                repo.set_paused(conn, parsed, False, due, None)
            return self._read(conn, tenant, parsed)

    def _catch_up(
        self,
        conn: Transaction,
        job: LockedJob,
        schedule: JobSchedule,
        latest: datetime,
        now: datetime,
    ) -> datetime | None:
        """The one catch-up of a resumed job (``fireOnceNow``): a claim for the latest missed
        instant, without owner, so that any scheduler takes it over and runs it at once, with
        a message saying which instants were missed. Returns the next fire after it."""
        following = next_periodic_fire(schedule, latest)
        if repo.existing_instants(conn, job.id, [latest]):
            return following  # it has an execution already (claimed before the pause)
        first = job.resume_fire_at or latest
        note = CATCH_UP_NOTE.format(first=format_instant(first), latest=format_instant(latest))
        window_from, window_to = window_for(schedule, latest)
        target = inventory_repo.get_object(conn, job.tenant, job.target_id)
        number = job.execution_count + 1
        executions_repo.insert_executions(
            conn,
            [
                executions_repo.NewExecution(
                    job.id, job.tenant, number, latest, window_from, window_to,
                    ExecutionStatus.RUNNING, [note], None,
                    lease_owner=None, lease_until=now,
                    is_group=bool(target is not None and target.is_group),
                )
            ],
        )  # fmt: skip
        repo.set_execution_count(conn, job.id, number)
        return following

    def start_backfill(self, tenant: str, job_id: str, body: Any) -> dict[str, Any]:
        """``POST /job/{id}/backfill {from, to}``: record the backfill; the schedulers create
        its executions. Returns ``{"instants", "from", "to"}``."""
        parsed = self._id(job_id)
        job = self.jobs.get(tenant, job_id)
        start, end = _range(body)
        now = self.clock.now()
        if end > now:
            raise Invalid("to: a backfill ends at the latest now; it must not lie in the future.")
        schedule = schedule_from_stored(job.schedule)
        if schedule.frequency is not Frequency.PERIODIC:
            raise Invalid("A backfill needs a periodic job.")
        # Counted before the write transaction (up to 0.4 s for 10,001 instants), which then
        # checks that the job was not edited meanwhile.
        instants = count_instants(schedule, start, end)
        if instants > MAX_INSTANTS:
            raise Invalid(
                f"The range holds more than {MAX_INSTANTS:,} instants of the job's schedule; "
                "backfill it in smaller ranges."
            )
        first = first_instant(schedule, start) if instants else None
        with self.db.write() as conn:
            locked = repo.lock_job(conn, tenant, parsed)
            if locked is None:
                raise job_not_found(job_id)
            if locked.schedule != job.schedule:
                raise Conflict("The job's schedule changed meanwhile; try again.")
            current = repo.get_backfill(conn, parsed, lock=True)
            if current is not None and self._unfinished(conn, current):
                raise Conflict(
                    "A backfill of this job is still running; cancel it "
                    "(DELETE /job/{id}/backfill) or wait for its end."
                )
            repo.put_backfill(conn, parsed, tenant, start, end, instants, first, now)
            jobs_repo.bump_jobs_version(conn, tenant)
        return {"instants": instants, "from": format_instant(start), "to": format_instant(end)}

    @staticmethod
    def instants_in(job: Job, start: datetime, end: datetime) -> int:
        """How many instants of a periodic job's schedule ``[start, end)`` holds (counted up to
        one past the limit of a backfill; 0 for a ``once`` job)."""
        schedule = schedule_from_stored(job.schedule)
        if schedule.frequency is not Frequency.PERIODIC:
            return 0
        return count_instants(schedule, start, end)

    def cancel_backfill(self, tenant: str, job_id: str) -> BackfillProgress:
        """Stop the job's backfill: no new executions; running ones finish."""
        parsed = self._id(job_id)
        with self.db.write() as conn:
            if repo.lock_job(conn, tenant, parsed) is None:
                raise job_not_found(job_id)
            found = repo.cancel_backfill(conn, parsed, self.clock.now())
            if found is None:
                raise NotFound("The job has no backfill.")
            jobs_repo.bump_jobs_version(conn, tenant)
            running, finished = repo.backfill_counts(conn, parsed, found.id)
        return BackfillProgress(found, running, finished)

    def backfill_progress(self, tenant: str, job_id: int) -> BackfillProgress | None:
        """The job's latest backfill and how far it got (None without one)."""
        with self.db.read() as conn:
            found = repo.get_backfill(conn, job_id)
            if found is None or found.tenant != tenant:
                return None
            running, finished = repo.backfill_counts(conn, job_id, found.id)
        return BackfillProgress(found, running, finished)

    @staticmethod
    def _unfinished(conn: Transaction, backfill: Backfill) -> bool:
        if backfill.next_at is not None:
            return True
        running, _ = repo.backfill_counts(conn, backfill.job_id, backfill.id)
        return running > 0

    @staticmethod
    def _id(job_id: str) -> int:
        parsed = parse_int_id(job_id)
        if parsed is None:
            raise job_not_found(job_id)
        return parsed

    @staticmethod
    def _read(conn: Transaction, tenant: str, job_id: int) -> Job:
        job = jobs_repo.get_job(conn, tenant, job_id)
        assert job is not None
        return job


def _range(body: Any) -> tuple[datetime, datetime]:
    """``{"from": ISO, "to": ISO}`` with from < to, both in the supported range."""
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object with 'from' and 'to'.")
    errors: list[str] = []
    found: dict[str, datetime] = {}
    for key in ("from", "to"):
        value = body.get(key)
        if value is None:
            errors.append(f"{key} is required (an ISO-8601 instant with offset).")
            continue
        try:
            instant = parse_instant(value)
        except ValueError:
            errors.append(f"{key} must be an ISO-8601 instant with offset.")
            continue
        if not in_supported_range(instant):
            errors.append(f"{key} must lie in [1970-01-01, 2100-01-01).")
            continue
        found[key] = instant
    if not errors and found["from"] >= found["to"]:
        errors.append("from must lie before to.")
    if errors:
        raise Invalid.collect(errors)
    return found["from"], found["to"]
