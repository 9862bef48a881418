"""SQL of a job's lifecycle after its creation: edit, pause, resume and backfill (design §2.8).

Lock order, as everywhere else: the job row first (``lock_job``), then its backfill, then
executions, then the tenant (``bump_jobs_version``). The scheduler's claim locks the job row
too (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single writer on SQLite), so a change made
under ``lock_job`` never interleaves with a claim of the same job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from batchscore.domain.jobs import Execution, ExecutionStatus, JobSpec
from batchscore.store.jobs import bump_jobs_version, execution_from_row
from batchscore.store.tables import backfills, executions, jobs

RUNNING = ExecutionStatus.RUNNING.value


@dataclass(frozen=True, slots=True)
class LockedJob:
    id: int
    tenant: str
    schedule: dict[str, Any]
    next_fire_at: datetime | None
    paused: bool | None
    resume_fire_at: datetime | None
    execution_count: int
    target_id: int


def lock_job(
    conn: Connection, tenant: str, job_id: int, *, skip_locked: bool = False
) -> LockedJob | None:
    """The tenant's job, its row locked for the rest of the transaction (PostgreSQL; SQLite's
    write transaction is already the only writer). With ``skip_locked``, None when another
    transaction holds it."""
    query = select(jobs).where(jobs.c.tenant_id == tenant, jobs.c.id == job_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=skip_locked)
    row = conn.execute(query).first()
    if row is None:
        return None
    return LockedJob(
        row.id, row.tenant_id, row.schedule, row.next_fire_at, row.paused, row.resume_fire_at,
        row.execution_count, row.target_id,
    )  # fmt: skip


def drop_claims_ahead(conn: Connection, job_id: int, now: datetime) -> list[datetime]:
    """Delete the scheduler's claims of the job for instants after ``now`` that have not
    started (whoever holds them: the holder's start then finds nothing and runs nothing), and
    give their numbers back. Returns their instants, oldest first."""
    dropped = conn.execute(
        delete(executions)
        .where(
            executions.c.job_id == job_id,
            executions.c.status == RUNNING,
            executions.c.started_at.is_(None),
            executions.c.scheduled_at > now,
            executions.c.backfill_id.is_(None),
        )
        .returning(executions.c.scheduled_at)
    )
    instants = sorted(r.scheduled_at for r in dropped)
    if instants:
        highest = select(func.coalesce(func.max(executions.c.number), 0)).where(
            executions.c.job_id == job_id
        )
        count = highest.scalar_subquery()
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(execution_count=count))
    return instants


def held_among(conn: Connection, ids: Sequence[int], owner: str) -> set[int]:
    """The executions among ``ids`` that exist, unfinished and held by ``owner``."""
    if not ids:
        return set()
    rows = conn.execute(
        select(executions.c.id).where(
            executions.c.id.in_(list(ids)),
            executions.c.status == RUNNING,
            executions.c.lease_owner == owner,
        )
    )
    return {int(r.id) for r in rows}


def replace_job(
    conn: Connection,
    job_id: int,
    spec: JobSpec,
    next_fire_at: datetime | None,
    resume_fire_at: datetime | None,
) -> None:
    """Put the new definition in place (creation time, history and numbering stay)."""
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(
            name=spec.name,
            description=spec.description,
            model_name=spec.model_name,
            target_id=spec.target_id,
            mappings=spec.mappings,
            mappings_sent=spec.mappings_sent,
            schedule=spec.schedule.sent,
            actions=[r.stored() for r in spec.actions] or None,
            write_back=spec.write_back.public() if spec.write_back else None,
            next_fire_at=next_fire_at,
            resume_fire_at=resume_fire_at,
            version=jobs.c.version + 1,
        )
    )
    bump_jobs_version(conn, job_id=job_id)


def set_paused(
    conn: Connection,
    job_id: int,
    paused: bool,
    next_fire_at: datetime | None,
    resume_fire_at: datetime | None,
) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(
            paused=paused,
            next_fire_at=next_fire_at,
            resume_fire_at=resume_fire_at,
            version=jobs.c.version + 1,
        )
    )
    bump_jobs_version(conn, job_id=job_id)


# --- backfills ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backfill:
    id: int
    job_id: int
    tenant: str
    range_from: datetime
    range_to: datetime
    instants: int
    next_at: datetime | None
    created: int
    skipped: int
    requested_at: datetime
    cancelled_at: datetime | None


def _backfill(row: Any) -> Backfill:
    return Backfill(
        row.id, row.job_id, row.tenant_id, row.range_from, row.range_to, row.instants,
        row.next_at, row.created, row.skipped, row.requested_at, row.cancelled_at,
    )  # fmt: skip


def get_backfill(conn: Connection, job_id: int, *, lock: bool = False) -> Backfill | None:
    query = select(backfills).where(backfills.c.job_id == job_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _backfill(row) if row is not None else None


def put_backfill(
    conn: Connection,
    job_id: int,
    tenant: str,
    range_from: datetime,
    range_to: datetime,
    instants: int,
    first: datetime | None,
    now: datetime,
) -> Backfill:
    """Start a backfill of the job, replacing its previous one (finished or cancelled)."""
    conn.execute(delete(backfills).where(backfills.c.job_id == job_id))
    conn.execute(
        insert(backfills).values(
            job_id=job_id, tenant_id=tenant, range_from=range_from, range_to=range_to,
            instants=instants, next_at=first, created=0, skipped=0, requested_at=now,
        )
    )  # fmt: skip
    found = get_backfill(conn, job_id)
    assert found is not None
    return found


def active_backfills(conn: Connection, limit: int = 100) -> list[tuple[int, str, int]]:
    """``(job id, tenant, backfill id)`` of backfills with instants left to create."""
    rows = conn.execute(
        select(backfills.c.job_id, backfills.c.tenant_id, backfills.c.id)
        .where(backfills.c.next_at.is_not(None))
        .order_by(backfills.c.requested_at, backfills.c.id)
        .limit(limit)
    )
    return [(int(r.job_id), str(r.tenant_id), int(r.id)) for r in rows]


def backfill_counts(conn: Connection, job_id: int, backfill_id: int) -> tuple[int, int]:
    """``(running, finished)`` executions of a backfill (running counts unstarted claims)."""
    running, total = conn.execute(
        select(
            func.coalesce(func.sum(case((executions.c.status == RUNNING, 1), else_=0)), 0),
            func.count(),
        ).where(executions.c.job_id == job_id, executions.c.backfill_id == backfill_id)
    ).one()
    return int(running), int(total) - int(running)


def existing_instants(conn: Connection, job_id: int, instants: Sequence[datetime]) -> set[datetime]:
    if not instants:
        return set()
    rows = conn.execute(
        select(executions.c.scheduled_at).where(
            executions.c.job_id == job_id, executions.c.scheduled_at.in_(list(instants))
        )
    )
    return {r.scheduled_at for r in rows}


def advance_backfill(
    conn: Connection, backfill_id: int, next_at: datetime | None, created: int, skipped: int
) -> None:
    conn.execute(
        update(backfills)
        .where(backfills.c.id == backfill_id)
        .values(
            next_at=next_at,
            created=backfills.c.created + created,
            skipped=backfills.c.skipped + skipped,
        )
    )


def insert_backfill_executions(
    conn: Connection, rows: Sequence[dict[str, Any]]
) -> dict[datetime, int]:
    """Insert backfill claims (an instant that has an execution meanwhile is left out);
    returns the ids by instant."""
    if not rows:
        return {}
    if conn.dialect.name == "postgresql":
        statement: Any = postgresql.insert(executions).on_conflict_do_nothing(
            index_elements=["job_id", "scheduled_at"]
        )
    else:
        statement = sqlite.insert(executions).on_conflict_do_nothing(
            index_elements=["job_id", "scheduled_at"]
        )
    found = conn.execute(
        statement.returning(executions.c.id, executions.c.scheduled_at), list(rows)
    )
    return {r.scheduled_at: int(r.id) for r in found}


def set_execution_count(conn: Connection, job_id: int, count: int) -> None:
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(execution_count=count))


def cancel_backfill(conn: Connection, job_id: int, now: datetime) -> Backfill | None:
    """Stop creating executions for the job's backfill and drop its claims not started yet
    (executions already running finish)."""
    found = get_backfill(conn, job_id, lock=True)
    if found is None:
        return None
    if found.next_at is not None:
        conn.execute(
            update(backfills)
            .where(backfills.c.id == found.id)
            .values(next_at=None, cancelled_at=func.coalesce(backfills.c.cancelled_at, now))
        )
    conn.execute(
        delete(executions).where(
            executions.c.job_id == job_id,
            executions.c.backfill_id == found.id,
            executions.c.status == RUNNING,
            executions.c.started_at.is_(None),
        )
    )
    return get_backfill(conn, job_id)


def executions_in(
    conn: Connection, job_id: int, range_from: datetime, range_to: datetime
) -> list[Execution]:
    """Every execution of the job scheduled in ``[range_from, range_to)`` (started or not)."""
    rows = conn.execute(
        select(executions)
        .where(
            executions.c.job_id == job_id,
            executions.c.scheduled_at >= range_from,
            executions.c.scheduled_at < range_to,
        )
        .order_by(executions.c.scheduled_at)
    )
    return [execution_from_row(r) for r in rows]
