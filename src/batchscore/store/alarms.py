"""Alarms: Cumulocity's de-duplication as one atomic statement, filters, paging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    cast,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from batchscore.domain.alarms import Alarm, AlarmChange, AlarmStatus, NewAlarm, Severity
from batchscore.domain.filters import AlarmFilter
from batchscore.errors import Conflict
from batchscore.store.documents import document_conditions
from batchscore.store.keys import of_tenant_by_ids
from batchscore.store.tables import alarms

a = alarms
OPEN = text("status <> 'CLEARED'")


def _from_row(row: Any) -> Alarm:
    return Alarm(
        id=int(row.id),
        source=int(row.source_id),
        type=row.type,
        time_ns=int(row.time_ns),
        first_ns=int(row.first_ns),
        text=row.text,
        severity=Severity(row.severity),
        status=AlarmStatus(row.status),
        count=int(row._mapping["count"]),
        created_at=row.created_at,
        updated_at=row.updated_at,
        fragments=dict(row.fragments),
    )


def raise_alarm(
    conn: Connection, tenant: str, alarm: NewAlarm, now: datetime
) -> tuple[Alarm, bool]:
    """Insert ``alarm``, or, while an ACTIVE or ACKNOWLEDGED alarm of the same source and type
    exists, count that one up (``count`` + 1, ``time`` and ``text`` of the new one) in the same
    statement, so concurrent raisers never make two. Returns the alarm and whether it is new."""
    values = {
        "tenant_id": tenant,
        "source_id": alarm.source,
        "type": alarm.type,
        "time_ns": alarm.time_ns,
        "first_ns": alarm.time_ns,
        "text": alarm.text,
        "severity": alarm.severity.value,
        "status": alarm.status.value,
        "count": 1,
        "created_at": now,
        "updated_at": now,
        "fragments": alarm.fragments or {},
    }
    if not alarm.status.is_open:  # a cleared alarm is history: never counted into another
        new_id = conn.execute(a.insert().values(**values).returning(a.c.id)).scalar_one()
        found = get_alarm(conn, tenant, int(new_id))
        assert found is not None
        return found, True
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(a).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[a.c.tenant_id, a.c.source_id, a.c.type],
        index_where=OPEN,
        set_={
            "count": a.c.count + 1,
            "time_ns": stmt.excluded.time_ns,
            "text": stmt.excluded.text,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    row = conn.execute(stmt.returning(a.c.id, a.c.count)).one()
    found = get_alarm(conn, tenant, int(row.id))
    assert found is not None
    return found, int(row._mapping["count"]) == 1


def get_alarm(conn: Connection, tenant: str, alarm_id: int) -> Alarm | None:
    row = conn.execute(select(a).where(a.c.tenant_id == tenant, a.c.id == alarm_id)).first()
    return _from_row(row) if row is not None else None


def change_alarm(
    conn: Connection,
    tenant: str,
    current: Alarm,
    change: AlarmChange,
    fragments: dict[str, Any],
    now: datetime,
) -> Alarm:
    """Store the new text, severity, status and the whole new ``fragments`` of ``current``."""
    values: dict[str, Any] = {"fragments": fragments, "updated_at": now}
    if change.text is not None:
        values["text"] = change.text
    if change.severity is not None:
        values["severity"] = change.severity.value
    if change.status is not None:
        values["status"] = change.status.value
    try:
        with conn.begin_nested():
            conn.execute(update(a).where(a.c.id == current.id).values(**values))
    except IntegrityError:
        raise _reopen_conflict(current.source, current.type) from None
    found = get_alarm(conn, tenant, current.id)
    assert found is not None
    return found


def _reopen_conflict(source: int, type_: str) -> Conflict:
    return Conflict(
        f"An ACTIVE or ACKNOWLEDGED alarm of source {source} and type {type_[:80]!r} exists "
        "already; a cleared alarm cannot be reopened beside it."
    )


def _conditions(conn: Connection, tenant: str, flt: AlarmFilter) -> list[ColumnElement[bool]]:
    conds = document_conditions(a, conn.dialect.name, tenant, flt)
    if flt.statuses is not None:
        conds.append(a.c.status.in_([s.value for s in flt.statuses]))
    if flt.severities is not None:
        conds.append(a.c.severity.in_([s.value for s in flt.severities]))
    return conds


def change_matching(
    conn: Connection, tenant: str, flt: AlarmFilter, status: AlarmStatus, now: datetime
) -> int:
    """Set the status of every matching alarm; returns how many."""
    try:
        with conn.begin_nested():
            result = conn.execute(
                update(a)
                .where(*_conditions(conn, tenant, flt))
                .values(status=status.value, updated_at=now)
            )
    except IntegrityError:
        raise Conflict(
            "The change would leave two ACTIVE or ACKNOWLEDGED alarms of one source and type."
        ) from None
    return int(result.rowcount or 0)


def delete_matching(conn: Connection, tenant: str, flt: AlarmFilter) -> int:
    result = conn.execute(delete(a).where(*_conditions(conn, tenant, flt)))
    return int(result.rowcount or 0)


def count_alarms(conn: Connection, tenant: str, flt: AlarmFilter) -> int:
    query = select(func.count()).select_from(a).where(*_conditions(conn, tenant, flt))
    return int(conn.execute(query).scalar_one())


def page_ids(
    conn: Connection, tenant: str, flt: AlarmFilter, *, offset: int, limit: int, oldest_first: bool
) -> list[int]:
    """The ids of one page of matching alarms (newest first unless ``oldest_first``)."""
    order = [a.c.time_ns, a.c.id] if oldest_first else [a.c.time_ns.desc(), a.c.id.desc()]
    query = (
        select(a.c.id)
        .where(*_conditions(conn, tenant, flt))
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    return [int(r.id) for r in conn.execute(query)]


def raw_alarms(conn: Connection, tenant: str, ids: Sequence[int]) -> list[tuple[Alarm, str]]:
    """The alarms of ``ids`` (those that still exist) in that order, each with its fragments
    as the JSON text stored."""
    columns = [c for c in a.c if c.name != "fragments"]
    rows = conn.execute(
        select(*columns, cast(a.c.fragments, Text).label("fragments_json")).where(
            of_tenant_by_ids(conn, a, tenant, ids)
        )
    )
    found = {int(r.id): (_header(r), r.fragments_json) for r in rows}
    return [found[i] for i in ids if i in found]


def _header(row: Any) -> Alarm:
    return Alarm(
        int(row.id),
        int(row.source_id),
        row.type,
        int(row.time_ns),
        int(row.first_ns),
        row.text,
        Severity(row.severity),
        AlarmStatus(row.status),
        int(row._mapping["count"]),
        row.created_at,
        row.updated_at,
        {},
    )
