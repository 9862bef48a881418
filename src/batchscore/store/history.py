"""Reading execution history for people: the latest execution of many jobs at once, one page
of a job's history filtered by status, counts per status, and an execution's neighbours.

Every query shows an execution only once its instant has come (``scheduled_at <= now``):
executions claimed ahead stay invisible, as in the API's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from batchscore.domain.jobs import Execution, ExecutionStatus
from batchscore.store.jobs import execution_from_row
from batchscore.store.tables import executions, jobs


def latest_executions(
    conn: Connection, job_ids: Iterable[int], now: datetime
) -> dict[int, Execution]:
    """The newest visible execution of each job that has one.

    One index seek per job on (job_id, scheduled_at), however long the histories are.
    """
    ids = sorted(set(job_ids))
    found: dict[int, Execution] = {}
    for start in range(0, len(ids), 500):
        newest = (
            select(executions.c.id)
            .where(executions.c.job_id == jobs.c.id, executions.c.scheduled_at <= now)
            .order_by(executions.c.scheduled_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        chosen = conn.execute(
            select(newest).where(jobs.c.id.in_(ids[start : start + 500]))
        ).scalars()
        wanted = [int(i) for i in chosen if i is not None]
        if wanted:
            rows = conn.execute(select(executions).where(executions.c.id.in_(wanted)))
            found.update((int(r.job_id), execution_from_row(r)) for r in rows)
    return found


def latest_finished(conn: Connection, latest: dict[int, Execution]) -> dict[int, Execution]:
    """The newest finished execution of each job, given each job's newest (a job runs one
    execution at a time, so it is the newest or the one before a running one)."""
    found: dict[int, Execution] = {}
    for job_id, run in latest.items():
        if run.status.finished:
            found[job_id] = run
        elif (before := _newest_before(conn, job_id, run.scheduled_at)) is not None:
            found[job_id] = before
    return found


def _newest_before(conn: Connection, job_id: int, instant: datetime) -> Execution | None:
    row = conn.execute(
        select(executions)
        .where(
            executions.c.job_id == job_id,
            executions.c.scheduled_at < instant,
            executions.c.status != ExecutionStatus.RUNNING.value,
        )
        .order_by(executions.c.scheduled_at.desc())
        .limit(1)
    ).first()
    return execution_from_row(row) if row is not None else None


def count_by_status(conn: Connection, job_id: int, now: datetime) -> dict[ExecutionStatus, int]:
    """How many visible executions of the job have each status."""
    rows = conn.execute(
        select(executions.c.status, func.count().label("n"))
        .where(executions.c.job_id == job_id, executions.c.scheduled_at <= now)
        .group_by(executions.c.status)
    )
    return {ExecutionStatus(r.status): int(r.n) for r in rows}


def executions_page(
    conn: Connection,
    job_id: int,
    statuses: Sequence[ExecutionStatus],
    offset: int,
    limit: int,
    now: datetime,
) -> list[Execution]:
    """One page of the job's visible executions, newest first, of the given statuses (all
    when empty)."""
    query = select(executions).where(
        executions.c.job_id == job_id, executions.c.scheduled_at <= now
    )
    if statuses:
        query = query.where(executions.c.status.in_([s.value for s in statuses]))
    query = query.order_by(executions.c.number.desc()).limit(limit).offset(offset)
    return [execution_from_row(r) for r in conn.execute(query)]


def neighbours(
    conn: Connection, job_id: int, number: int, now: datetime
) -> tuple[int | None, int | None]:
    """The numbers of the visible executions just before and just after ``number``."""
    visible = and_(executions.c.job_id == job_id, executions.c.scheduled_at <= now)
    before = conn.execute(
        select(executions.c.number)
        .where(visible, executions.c.number < number)
        .order_by(executions.c.number.desc())
        .limit(1)
    ).scalar()
    after = conn.execute(
        select(executions.c.number)
        .where(visible, executions.c.number > number)
        .order_by(executions.c.number)
        .limit(1)
    ).scalar()
    return (int(before) if before is not None else None, int(after) if after is not None else None)
