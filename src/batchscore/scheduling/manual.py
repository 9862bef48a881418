"""Firing a job now, outside its schedule (``POST /job/{id}/run``, ``batchscore job run``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from batchscore.domain.jobs import ExecutionStatus, Job
from batchscore.errors import Conflict
from batchscore.scheduling.fires import window_for
from batchscore.scheduling.scheduler import StartedExecution
from batchscore.scheduling.schedules import schedule_from_stored
from batchscore.store import executions as repo
from batchscore.store import inventory as inventory_repo
from batchscore.store.db import Database


def fire_now(
    db: Database, job: Job, now: datetime, *, owner: str, lease: timedelta
) -> StartedExecution:
    """Create a running execution of ``job`` anchored at ``now`` with the job's window rule."""
    window_from, window_to = window_for(schedule_from_stored(job.schedule), now)
    with db.write() as conn:
        if repo.running_job_ids(conn, [job.id]):
            raise Conflict("The job is already running; try again when its execution ends.")
        target = inventory_repo.get_object(conn, job.tenant, job.target_id)
        number = repo.next_execution_number(conn, job.id)
        row = repo.NewExecution(
            job.id, job.tenant, number, now, window_from, window_to,
            ExecutionStatus.RUNNING, [], now,
            lease_owner=owner, lease_until=now + lease,
            is_group=bool(target is not None and target.is_group),
        )  # fmt: skip
        ids = repo.insert_executions(conn, [row])
        if not ids:
            raise Conflict("An execution of this job for this instant already exists.")
    return StartedExecution(
        id=ids[(job.id, number)],
        job_id=job.id,
        tenant=job.tenant,
        number=number,
        scheduled_at=now,
        window_from=window_from,
        window_to=window_to,
        messages=(),
    )
