"""SQL of the scheduler and the executors: claiming due jobs, creating and finishing executions
(who holds an unfinished execution is ``leases``).

Every statement takes ``now`` from the caller (never SQL ``NOW()``), so a fake clock moves
time the same way on every backend.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from batchscore.domain.jobs import ExecutionDefinition, ExecutionStatus
from batchscore.store.jobs import bump_jobs_version
from batchscore.store.tables import executions, jobs, managed_objects


@dataclass(frozen=True, slots=True)
class DueJob:
    id: int
    tenant: str
    next_fire_at: datetime
    schedule: dict[str, Any]
    target_id: int
    execution_count: int
    is_group: bool


@dataclass(frozen=True, slots=True)
class NewExecution:
    job_id: int
    tenant: str
    number: int
    scheduled_at: datetime
    window_from: datetime | None
    window_to: datetime | None
    status: ExecutionStatus
    messages: list[str]
    started_at: datetime | None
    ended_at: datetime | None = None
    duration_ms: int | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    is_group: bool = False


def claim_due_jobs(conn: Connection, now: datetime, limit: int) -> list[DueJob]:
    """Lock and return up to ``limit`` jobs whose next fire is due.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets instances share the work without waiting.
    SQLite: the caller's write transaction (BEGIN IMMEDIATE) already excludes other writers.
    """
    target = managed_objects
    query = (
        select(
            jobs.c.id,
            jobs.c.tenant_id,
            jobs.c.next_fire_at,
            jobs.c.schedule,
            jobs.c.target_id,
            jobs.c.execution_count,
            target.c.is_group,
        )
        .select_from(
            jobs.outerjoin(
                target,
                and_(target.c.id == jobs.c.target_id, target.c.tenant_id == jobs.c.tenant_id),
            )
        )
        .where(jobs.c.next_fire_at <= now)
        .order_by(jobs.c.next_fire_at, jobs.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=jobs, skip_locked=True)
    return [
        DueJob(
            r.id,
            r.tenant_id,
            r.next_fire_at,
            r.schedule,
            r.target_id,
            r.execution_count,
            bool(r.is_group),
        )
        for r in conn.execute(query)
    ]


def running_job_ids(
    conn: Connection,
    job_ids: Sequence[int],
    exclude: Sequence[int] = (),
    scheduled_by: datetime | None = None,
) -> set[int]:
    """The jobs among ``job_ids`` with a running execution, other than those in ``exclude``
    and (with ``scheduled_by``) other than executions created ahead for a later instant."""
    if not job_ids:
        return set()
    query = select(executions.c.job_id).where(
        executions.c.job_id.in_(job_ids),
        executions.c.status == ExecutionStatus.RUNNING.value,
        executions.c.backfill_id.is_(None),  # a backfill runs beside the schedule
    )
    if exclude:
        query = query.where(executions.c.id.not_in(exclude))
    if scheduled_by is not None:
        query = query.where(executions.c.scheduled_at <= scheduled_by)
    return {int(r.job_id) for r in conn.execute(query.distinct())}


def insert_executions(conn: Connection, rows: Sequence[NewExecution]) -> dict[tuple[int, int], int]:
    """Insert executions in one batch, ignoring any whose (job, scheduled instant) exists.

    Returns the ids of the rows inserted, keyed by (job id, execution number).
    """
    if not rows:
        return {}
    values = [
        {
            "job_id": row.job_id,
            "tenant_id": row.tenant,
            "number": row.number,
            "scheduled_at": row.scheduled_at,
            "window_from": row.window_from,
            "window_to": row.window_to,
            "is_group": row.is_group,
            "status": row.status.value,
            "messages": row.messages,
            "started_at": row.started_at,
            "ended_at": row.ended_at,
            "duration_ms": row.duration_ms,
            "lease_owner": row.lease_owner,
            "lease_until": row.lease_until,
            "record_count": 0,
        }
        for row in rows
    ]
    # One batched INSERT ... RETURNING; rows skipped as duplicates return nothing.
    statement = _insert_ignoring_duplicates(conn).returning(
        executions.c.id, executions.c.job_id, executions.c.number
    )
    found = conn.execute(statement, values)
    return {(int(r.job_id), int(r.number)): int(r.id) for r in found}


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    index = ["job_id", "scheduled_at"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(executions).on_conflict_do_nothing(index_elements=index)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(executions).on_conflict_do_nothing(index_elements=index)
    return insert(executions)


def advance_jobs(
    conn: Connection, updates: Sequence[tuple[int, datetime, datetime | None, int]]
) -> int:
    """Set ``next_fire_at`` and add to ``execution_count`` of claimed jobs, compare-and-set on
    the old ``next_fire_at``. ``updates`` holds (job id, old next_fire_at, new one, increment).

    Jobs that share a schedule move in step, so one set-based UPDATE per distinct
    (old, new, increment) serves them all.
    """
    groups: dict[tuple[datetime, datetime | None, int], list[int]] = defaultdict(list)
    for job_id, old, new, increment in updates:
        groups[(old, new, increment)].append(job_id)
    changed = 0
    for (old, new, increment), job_ids in groups.items():
        result = conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(job_ids), jobs.c.next_fire_at == old)
            .values(next_fire_at=new, execution_count=jobs.c.execution_count + increment)
        )
        changed += int(result.rowcount)
    return changed


def finish_execution(
    conn: Connection,
    execution_id: int,
    status: ExecutionStatus,
    messages: Sequence[str],
    ended_at: datetime,
    record_count: int = 0,
    *,
    owner: str | None = None,
    definition: ExecutionDefinition | None = None,
) -> bool:
    """Finish an unfinished execution (held by ``owner``, when given) and roll its status up to
    its job; False if it is finished, gone or held by another instance. One that never started
    (a skipped fire) gets its end as its start."""
    query = select(executions.c.job_id, executions.c.started_at).where(
        executions.c.id == execution_id,
        executions.c.status == ExecutionStatus.RUNNING.value,
    )
    if owner is not None:
        query = query.where(executions.c.lease_owner == owner)
    row = conn.execute(query).first()
    if row is None:
        return False
    started = row.started_at or ended_at
    duration = max(0, int((ended_at - started).total_seconds() * 1000))
    conn.execute(
        update(executions)
        .where(executions.c.id == execution_id)
        .values(
            status=status.value,
            messages=list(messages),
            started_at=started,
            ended_at=ended_at,
            duration_ms=duration,
            lease_owner=None,
            lease_until=None,
            record_count=record_count,
            **(
                {
                    "model_name": definition.model_name,
                    "model_sha256": definition.model_sha256,
                    "model_mappings": definition.mappings,
                }
                if definition is not None
                else {}
            ),
        )
    )
    update_job_status(conn, int(row.job_id), status, duration)
    return True


def update_job_status(conn: Connection, job_id: int, status: ExecutionStatus, ms: int) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(last_status=status.value, last_duration_ms=ms)
    )
    bump_jobs_version(conn, job_id=job_id)


def count_executions(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(executions)).scalar_one())


def next_execution_number(conn: Connection, job_id: int) -> int:
    """Reserve the next execution number of a job (for a fire outside the claim loop)."""
    result = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(execution_count=jobs.c.execution_count + 1)
        .returning(jobs.c.execution_count)
    )
    return int(result.scalar_one())


def prune_finished(conn: Connection, before: datetime, limit: int = 1000) -> int:
    """Delete up to ``limit`` finished executions that ended before ``before`` (their inference
    chunks go with them); returns how many were deleted."""
    ids = (
        conn.execute(
            select(executions.c.id)
            .where(
                executions.c.status != ExecutionStatus.RUNNING.value,
                executions.c.ended_at < before,
            )
            .order_by(executions.c.ended_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    conn.execute(delete(executions).where(executions.c.id.in_(ids)))
    return len(ids)
