"""Jobs and their executions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    String,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from batchscore.domain.actions import rules_from_stored, write_back_from_stored
from batchscore.domain.jobs import (
    Execution,
    ExecutionDefinition,
    ExecutionStatus,
    Job,
    JobSpec,
    JobStamp,
)
from batchscore.store.tables import executions, jobs, tenants


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        tenant=row.tenant_id,
        created_at=row.created_at,
        name=row.name,
        description=row.description,
        model_name=row.model_name,
        target_id=row.target_id,
        mappings=row.mappings,
        mappings_sent=row.mappings_sent,
        schedule=row.schedule,
        next_fire_at=row.next_fire_at,
        last_status=ExecutionStatus(row.last_status) if row.last_status else None,
        last_duration_ms=row.last_duration_ms,
        actions=rules_from_stored(row.actions),
        write_back=write_back_from_stored(row.write_back),
        paused=row.paused,
        version=row.version,
    )


def _execution(row: Row[Any]) -> Execution:
    return Execution(
        id=row.id,
        job_id=row.job_id,
        number=row.number,
        scheduled_at=row.scheduled_at,
        is_group=row.is_group,
        status=ExecutionStatus(row.status),
        messages=tuple(row.messages),
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_ms=row.duration_ms,
        record_count=row.record_count,
        window_from=row.window_from,
        window_to=row.window_to,
        definition=(
            ExecutionDefinition(row.model_name, row.model_sha256, dict(row.model_mappings))
            if row.model_name is not None and row.model_sha256 is not None
            else None
        ),
        backfill_id=row.backfill_id,
    )


def insert_job(
    conn: Connection, tenant: str, spec: JobSpec, now: datetime, next_fire_at: datetime | None
) -> Job:
    result = conn.execute(
        insert(jobs)
        .values(
            tenant_id=tenant,
            name=spec.name,
            description=spec.description,
            created_at=now,
            model_name=spec.model_name,
            target_id=spec.target_id,
            mappings=spec.mappings,
            mappings_sent=spec.mappings_sent,
            schedule=spec.schedule.sent,
            next_fire_at=next_fire_at,
            execution_count=0,
            actions=[r.stored() for r in spec.actions] or None,
            write_back=spec.write_back.public() if spec.write_back else None,
        )
        .returning(jobs.c.id)
    )
    bump_jobs_version(conn, tenant)
    job = get_job(conn, tenant, int(result.scalar_one()))
    assert job is not None
    return job


def get_job(conn: Connection, tenant: str, job_id: int) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant, jobs.c.id == job_id)).first()
    return _job(row) if row is not None else None


def job_exists(conn: Connection, tenant: str, job_id: int) -> bool:
    query = select(jobs.c.id).where(jobs.c.tenant_id == tenant, jobs.c.id == job_id)
    return conn.execute(query).first() is not None


def list_jobs(
    conn: Connection, tenant: str, limit: int | None = None, offset: int = 0
) -> list[Job]:
    query = select(jobs).where(jobs.c.tenant_id == tenant).order_by(jobs.c.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [_job(r) for r in conn.execute(query)]


def list_job_stamps(
    conn: Connection, tenant: str, limit: int | None = None, offset: int = 0
) -> list[tuple[int, JobStamp]]:
    """``(id, stamp)`` of a tenant's jobs in id order: a cheap read without the JSON columns.

    The stamps come back packed into one text value. Fetching a thousand rows one by one
    releases and retakes Python's GIL for every row, which under concurrent requests made
    this read queue behind every other thread; one aggregated row does not.
    """
    rows = select(
        cast(jobs.c.id, String).label("i"),
        (cast(jobs.c.created_at, String) + "#" + cast(jobs.c.version, String)).label("c"),
        func.coalesce(jobs.c.last_status, "").label("s"),
        func.coalesce(cast(jobs.c.last_duration_ms, String), "").label("d"),
    ).where(jobs.c.tenant_id == tenant)
    if limit is not None:
        rows = rows.order_by(jobs.c.id).limit(limit).offset(offset)
    sub = rows.subquery()
    line = sub.c.i + "|" + sub.c.c + "|" + sub.c.s + "|" + sub.c.d
    packed_rows = (
        func.group_concat(line, ";")
        if conn.dialect.name == "sqlite"
        else func.string_agg(line, literal(";", String))
    )
    packed = conn.execute(select(packed_rows)).scalar()
    stamps: list[tuple[int, JobStamp]] = []
    for item in packed.split(";") if packed else ():
        job_id, created, status, duration = item.split("|")
        stamps.append((int(job_id), (created, status or None, int(duration) if duration else None)))
    stamps.sort(key=lambda entry: entry[0])
    return stamps


def get_jobs(conn: Connection, tenant: str, ids: list[int]) -> dict[int, Job]:
    found: dict[int, Job] = {}
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        query = select(jobs).where(jobs.c.tenant_id == tenant, jobs.c.id.in_(batch))
        found.update((row.id, _job(row)) for row in conn.execute(query))
    return found


def delete_job(conn: Connection, tenant: str, job_id: int) -> bool:
    result = conn.execute(delete(jobs).where(jobs.c.tenant_id == tenant, jobs.c.id == job_id))
    if result.rowcount:
        bump_jobs_version(conn, tenant)
    return bool(result.rowcount)


def delete_all_jobs(conn: Connection, tenant: str) -> None:
    conn.execute(delete(jobs).where(jobs.c.tenant_id == tenant))
    bump_jobs_version(conn, tenant)


def jobs_version(conn: Connection, tenant: str) -> int:
    """The tenant's jobs version (0 for an unknown tenant); see :func:`bump_jobs_version`."""
    found = conn.execute(select(tenants.c.jobs_version).where(tenants.c.id == tenant)).scalar()
    return int(found or 0)


def bump_jobs_version(
    conn: Connection, tenant: str | None = None, job_id: int | None = None
) -> None:
    """Count a change to how a tenant's jobs look in the API (the tenant given, or the tenant of
    ``job_id``). Call it last in the transaction: job rows are locked before the tenant row."""
    if tenant is not None:
        where = tenants.c.id == tenant
    else:
        where = (
            tenants.c.id == select(jobs.c.tenant_id).where(jobs.c.id == job_id).scalar_subquery()
        )
    conn.execute(update(tenants).where(where).values(jobs_version=tenants.c.jobs_version + 1))


STARTED = executions.c.started_at.is_not(None)
"""What history, status and counts show: executions that started (or were finished without
starting, as a skipped fire). One claimed ahead of its instant, or queued, has no start yet and
stays invisible, so every answer is a function of the database alone (cacheable) and a start
time is never rewritten."""


def list_executions(conn: Connection, job_id: int) -> list[Execution]:
    """A job's executions that have started, by number (see :data:`STARTED`)."""
    rows = conn.execute(
        select(executions)
        .where(executions.c.job_id == job_id, STARTED)
        .order_by(executions.c.number)
    )
    return [_execution(r) for r in rows]


def get_execution(conn: Connection, job_id: int, number: int) -> Execution | None:
    row = conn.execute(
        select(executions).where(
            executions.c.job_id == job_id, executions.c.number == number, STARTED
        )
    ).first()
    return _execution(row) if row is not None else None


def execution_from_row(row: Row[Any]) -> Execution:
    """An execution from a row of the executions table (for other readers of that table)."""
    return _execution(row)


def jobs_using_model(conn: Connection, tenant: str, model_name: str) -> list[Job]:
    """The tenant's jobs that name ``model_name``, in id order."""
    rows = conn.execute(
        select(jobs)
        .where(jobs.c.tenant_id == tenant, jobs.c.model_name == model_name)
        .order_by(jobs.c.id)
    )
    return [_job(r) for r in rows]
