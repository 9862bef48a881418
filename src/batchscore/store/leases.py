"""SQL of execution ownership: who holds an unfinished execution, and taking it over.

An unfinished execution (status Running) is held by one instance (``lease_owner``) until
``lease_until``. Before its start (``started_at`` is null) it is a claim: created ahead of its
instant, queued, or handed back; a claim whose owner is gone is taken over and run elsewhere.
Once started it can only be finished; one whose owner is gone is finished as interrupted.
Every change is a compare-and-set on the owner, so two instances never both hold one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, func, or_, select, update

from batchscore.domain.jobs import ExecutionStatus
from batchscore.store.tables import executions, inference_chunks

RUNNING = ExecutionStatus.RUNNING.value


@dataclass(frozen=True, slots=True)
class HeldExecution:
    """An unfinished execution as its (new) owner needs it to run or finish it."""

    id: int
    job_id: int
    tenant: str
    number: int
    scheduled_at: datetime
    window_from: datetime | None
    window_to: datetime | None
    messages: tuple[str, ...]
    started_at: datetime | None


def start(conn: Connection, execution_id: int, owner: str, now: datetime, until: datetime) -> bool:
    """Stamp the real start of a held execution (a manual run keeps the instant it was asked
    for); False if it is finished, gone or held by another instance."""
    result = conn.execute(
        update(executions)
        .where(_held_by(owner), executions.c.id == execution_id)
        .values(started_at=func.coalesce(executions.c.started_at, now), lease_until=until)
    )
    return bool(result.rowcount)


def renew(conn: Connection, ids: Sequence[int], owner: str, until: datetime) -> set[int]:
    """Extend the leases of the executions among ``ids`` that ``owner`` still holds; returns
    those ids (an id missing from the answer was finished, deleted or taken over)."""
    if not ids:
        return set()
    result = conn.execute(
        update(executions)
        .where(_held_by(owner), executions.c.id.in_(list(ids)))
        .values(lease_until=until)
        .returning(executions.c.id)
    )
    return {int(r.id) for r in result}


def hand_back(conn: Connection, ids: Sequence[int], owner: str, now: datetime) -> list[int]:
    """Give up executions ``owner`` holds, started or not: they become claims without an owner
    (their stored inferences deleted, their start forgotten), which any scheduler takes over
    and runs from the beginning. Returns the ids handed back."""
    if not ids:
        return []
    result = conn.execute(
        update(executions)
        .where(_held_by(owner), executions.c.id.in_(list(ids)))
        .values(lease_owner=None, lease_until=now, started_at=None, record_count=0)
        .returning(executions.c.id)
    )
    back = sorted(int(r.id) for r in result)
    if back:
        conn.execute(delete(inference_chunks).where(inference_chunks.c.execution_id.in_(back)))
    return back


def orphans(
    conn: Connection, now: datetime, dead: Sequence[str], taker: str, limit: int
) -> tuple[list[int], list[int]]:
    """Unfinished executions nobody alive holds (no owner, a dead owner or an expired lease):
    ``(started, claims)``, each oldest first and at most ``limit`` long. The claims of
    ``taker`` itself are not among them: it holds them in memory and hands them off itself."""
    started = conn.execute(
        select(executions.c.id)
        .where(_orphaned(now, dead), executions.c.started_at.is_not(None))
        .order_by(executions.c.id)
        .limit(limit)
    )
    claims = conn.execute(
        select(executions.c.id)
        .where(
            _orphaned(now, dead),
            executions.c.started_at.is_(None),
            or_(executions.c.lease_owner.is_(None), executions.c.lease_owner != taker),
        )
        .order_by(executions.c.scheduled_at, executions.c.id)
        .limit(limit)
    )
    return [int(r.id) for r in started], [int(r.id) for r in claims]


def take_over(
    conn: Connection,
    ids: Sequence[int],
    owner: str,
    now: datetime,
    until: datetime,
    dead: Sequence[str],
) -> list[HeldExecution]:
    """Make ``owner`` the holder of those ``ids`` that are still orphaned (another instance may
    have taken some meanwhile); returns what it now holds."""
    if not ids:
        return []
    result = conn.execute(
        update(executions)
        .where(_orphaned(now, dead), executions.c.id.in_(list(ids)))
        .values(lease_owner=owner, lease_until=until)
        .returning(*_HELD_COLUMNS)
    )
    return sorted((_held(r) for r in result), key=lambda e: (e.scheduled_at, e.id))


def held(conn: Connection, owner: str) -> list[int]:
    """Ids of the unfinished executions ``owner`` holds."""
    query = select(executions.c.id).where(_held_by(owner)).order_by(executions.c.id)
    return [int(r.id) for r in conn.execute(query)]


def _held_by(owner: str) -> ColumnElement[bool]:
    return and_(executions.c.status == RUNNING, executions.c.lease_owner == owner)


def _orphaned(now: datetime, dead: Sequence[str]) -> ColumnElement[bool]:
    return and_(
        executions.c.status == RUNNING,
        or_(
            executions.c.lease_owner.is_(None),
            executions.c.lease_owner.in_(list(dead)),
            executions.c.lease_until < now,
        ),
    )


_HELD_COLUMNS = (
    executions.c.id,
    executions.c.job_id,
    executions.c.tenant_id,
    executions.c.number,
    executions.c.scheduled_at,
    executions.c.window_from,
    executions.c.window_to,
    executions.c.messages,
    executions.c.started_at,
)


def _held(row: Any) -> HeldExecution:
    return HeldExecution(
        id=int(row.id),
        job_id=int(row.job_id),
        tenant=str(row.tenant_id),
        number=int(row.number),
        scheduled_at=row.scheduled_at,
        window_from=row.window_from,
        window_to=row.window_to,
        messages=tuple(row.messages or ()),
        started_at=row.started_at,
    )
