"""The outbox of job actions (design §2.9): effects written with the execution that produced
them, claimed under a lease by one delivering instance at a time, and marked delivered or
failed by compare-and-set on that lease."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from batchscore.store.tables import action_effects as t
from batchscore.store.tables import executions


class EffectStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StoredEffect:
    """One effect of the outbox as stored."""

    id: int
    execution_id: int
    tenant: str
    device: int
    rule: str
    target: int
    kind: str
    payload: dict[str, Any]
    status: EffectStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @property
    def key(self) -> str:
        """The idempotency key: one effect, however often its delivery is tried."""
        return f"bs-{self.execution_id}-{self.device}-{self.rule}-{self.target}"


def _effect(row: Any) -> StoredEffect:
    return StoredEffect(
        id=row.id,
        execution_id=row.execution_id,
        tenant=row.tenant_id,
        device=row.device_id,
        rule=row.rule,
        target=row.target,
        kind=row.kind,
        payload=row.payload,
        status=EffectStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


@dataclass(frozen=True, slots=True)
class EffectRow:
    """An effect to insert (see ``execution.effects.NewEffect``)."""

    device: int
    rule: str
    target: int
    kind: str
    payload: dict[str, Any]


def insert_effects(
    conn: Connection, execution_id: int, tenant: str, rows: Sequence[EffectRow], now: datetime
) -> None:
    """Add an execution's effects as pending, due at once (in the finishing transaction)."""
    if not rows:
        return
    conn.execute(
        insert(t),
        [
            {
                "execution_id": execution_id,
                "tenant_id": tenant,
                "device_id": r.device,
                "rule": r.rule,
                "target": r.target,
                "kind": r.kind,
                "payload": r.payload,
                "status": EffectStatus.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for r in rows
        ],
    )


def any_due(conn: Connection, now: datetime) -> bool:
    """Whether any pending effect is due at ``now`` (a read, before taking the write lock)."""
    query = (
        select(t.c.id)
        .where(t.c.status == EffectStatus.PENDING.value, t.c.next_attempt_at <= now)
        .limit(1)
    )
    return conn.execute(query).first() is not None


def claim(
    conn: Connection, owner: str, now: datetime, until: datetime, limit: int
) -> list[StoredEffect]:
    """Hold up to ``limit`` due pending effects (not held by a live lease) for ``owner`` until
    ``until``, counting an attempt each, oldest first."""
    due = (
        select(t.c.id)
        .where(
            t.c.status == EffectStatus.PENDING.value,
            t.c.next_attempt_at <= now,
            or_(t.c.lease_until.is_(None), t.c.lease_until < now),
        )
        .order_by(t.c.next_attempt_at, t.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = [int(i) for i in conn.execute(due).scalars()]
    if not ids:
        return []
    # The compare-and-set repeats the conditions: on SQLite another writer may have come first.
    conn.execute(
        update(t)
        .where(
            t.c.id.in_(ids),
            t.c.status == EffectStatus.PENDING.value,
            or_(t.c.lease_until.is_(None), t.c.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=until, attempts=t.c.attempts + 1)
    )
    rows = conn.execute(
        select(t)
        .where(t.c.id.in_(ids), t.c.lease_owner == owner, t.c.lease_until == until)
        .order_by(t.c.id)
    )
    return [_effect(r) for r in rows]


def _held(effect_id: int, owner: str) -> Any:
    return and_(
        t.c.id == effect_id,
        t.c.lease_owner == owner,
        t.c.status == EffectStatus.PENDING.value,
    )


def mark_delivered(conn: Connection, effect_id: int, owner: str, now: datetime) -> bool:
    """Mark a held effect delivered; False if ``owner`` does not hold it any more."""
    result = conn.execute(
        update(t)
        .where(_held(effect_id, owner))
        .values(
            status=EffectStatus.DELIVERED.value,
            delivered_at=now,
            last_error=None,
            lease_owner=None,
            lease_until=None,
        )
    )
    return bool(result.rowcount)


def mark_retry(
    conn: Connection,
    effect_id: int,
    owner: str,
    error: str,
    next_at: datetime | None,
) -> bool:
    """Note a failed attempt: try again at ``next_at``, or give up (``None``: failed)."""
    values: dict[str, Any] = {"last_error": error[:2000], "lease_owner": None, "lease_until": None}
    if next_at is None:
        values["status"] = EffectStatus.FAILED.value
    else:
        values["next_attempt_at"] = next_at
    result = conn.execute(update(t).where(_held(effect_id, owner)).values(**values))
    return bool(result.rowcount)


def release(conn: Connection, ids: Sequence[int], owner: str) -> None:
    """Give back held effects that were not tried (their claimed attempt is not counted)."""
    if ids:
        conn.execute(
            update(t)
            .where(
                t.c.id.in_(list(ids)),
                t.c.lease_owner == owner,
                t.c.status == EffectStatus.PENDING.value,
            )
            .values(lease_owner=None, lease_until=None, attempts=t.c.attempts - 1)
        )


def effects_of_execution(conn: Connection, execution_id: int) -> list[StoredEffect]:
    """An execution's effects, in device, rule and target order."""
    rows = conn.execute(
        select(t)
        .where(t.c.execution_id == execution_id)
        .order_by(t.c.device_id, t.c.rule, t.c.target)
    )
    return [_effect(r) for r in rows]


def execution_id_of(conn: Connection, job_id: int, number: int) -> int | None:
    """The id of a job's execution ``number``."""
    found = conn.execute(
        select(executions.c.id).where(executions.c.job_id == job_id, executions.c.number == number)
    ).scalar()
    return None if found is None else int(found)


def pending_count(conn: Connection) -> int:
    """How many effects wait for delivery (all tenants)."""
    return int(
        conn.execute(
            select(func.count()).where(t.c.status == EffectStatus.PENDING.value)
        ).scalar_one()
    )
