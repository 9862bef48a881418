"""SQL of instance heartbeats: which processes that own executions are alive.

Every statement takes its instants from the caller (never SQL ``NOW()``); instances compare
their own clock with the heartbeats of others, so their clocks must agree (NTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, delete, exists, insert, select, update

from batchscore.domain.jobs import ExecutionStatus
from batchscore.store.tables import executions, instances

RETIRED = datetime(1970, 1, 1, tzinfo=UTC)
"""The heartbeat of an instance that stopped cleanly: dead at once for everyone."""


@dataclass(frozen=True, slots=True)
class InstanceRow:
    id: str
    kind: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime


def beat(conn: Connection, row: InstanceRow) -> bool:
    """Record a heartbeat at ``row.heartbeat_at``. False when the row had gone (others took
    this instance for dead and forgot it); it is written again."""
    updated = conn.execute(
        update(instances).where(instances.c.id == row.id).values(heartbeat_at=row.heartbeat_at)
    )
    if updated.rowcount:
        return True
    conn.execute(
        insert(instances).values(
            id=row.id,
            kind=row.kind,
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
        )
    )
    return False


def retire(conn: Connection, instance_id: str) -> None:
    """Mark a cleanly stopping instance dead at once, so whatever it still owns (nothing,
    normally) is taken over at the next tick of any scheduler."""
    conn.execute(
        update(instances).where(instances.c.id == instance_id).values(heartbeat_at=RETIRED)
    )


def dead_instances(conn: Connection, silent_since: datetime) -> list[str]:
    """Ids of the instances whose last heartbeat is older than ``silent_since``."""
    query = select(instances.c.id).where(instances.c.heartbeat_at < silent_since)
    return [str(r.id) for r in conn.execute(query.order_by(instances.c.id))]


def forget_dead(conn: Connection, silent_since: datetime) -> int:
    """Delete dead instances that own no unfinished execution any more."""
    owns = exists().where(
        and_(
            executions.c.lease_owner == instances.c.id,
            executions.c.status == ExecutionStatus.RUNNING.value,
        )
    )
    result = conn.execute(delete(instances).where(instances.c.heartbeat_at < silent_since, ~owns))
    return int(result.rowcount)
