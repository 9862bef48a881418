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
from batchscore.store.tables import executions


def latest_executions(
    conn: Connection, job_ids: Iterable[int], now: datetime, *, finished: bool = False
) -> dict[int, Execution]:
    """The newest visible execution of each job (the newest finished one with ``finished``)."""
    ids = sorted(set(job_ids))
    found: dict[int, Execution] = {}
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        newest = select(executions.c.job_id, func.max(executions.c.number).label("number")).where(
            executions.c.job_id.in_(batch), executions.c.scheduled_at <= now
        )
        if finished:
            newest = newest.where(executions.c.status != ExecutionStatus.RUNNING.value)
        last = newest.group_by(executions.c.job_id).subquery()
        rows = conn.execute(
            select(executions).join(
                last,
                and_(executions.c.job_id == last.c.job_id, executions.c.number == last.c.number),
            )
        )
        found.update((int(r.job_id), execution_from_row(r)) for r in rows)
    return found


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
        select(func.max(executions.c.number)).where(visible, executions.c.number < number)
    ).scalar()
    after = conn.execute(
        select(func.min(executions.c.number)).where(visible, executions.c.number > number)
    ).scalar()
    return (int(before) if before is not None else None, int(after) if after is not None else None)
