"""Events: insert, change, filters, paging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, cast, delete, func, select, update

from batchscore.domain.events import Event, NewEvent
from batchscore.domain.filters import EventFilter
from batchscore.store.documents import document_conditions
from batchscore.store.keys import of_tenant_by_ids
from batchscore.store.tables import events

e = events


def _from_row(row: Any, fragments: dict[str, Any] | None = None) -> Event:
    return Event(
        id=int(row.id),
        source=int(row.source_id),
        type=row.type,
        time_ns=int(row.time_ns),
        text=row.text,
        created_at=row.created_at,
        updated_at=row.updated_at,
        fragments=dict(row.fragments) if fragments is None else fragments,
    )


def insert_event(conn: Connection, tenant: str, event: NewEvent, now: datetime) -> Event:
    new_id = conn.execute(
        e.insert()
        .values(
            tenant_id=tenant,
            source_id=event.source,
            type=event.type,
            time_ns=event.time_ns,
            text=event.text,
            created_at=now,
            updated_at=now,
            fragments=event.fragments or {},
        )
        .returning(e.c.id)
    ).scalar_one()
    found = get_event(conn, tenant, int(new_id))
    assert found is not None
    return found


def get_event(conn: Connection, tenant: str, event_id: int) -> Event | None:
    row = conn.execute(select(e).where(e.c.tenant_id == tenant, e.c.id == event_id)).first()
    return _from_row(row) if row is not None else None


def change_event(
    conn: Connection,
    tenant: str,
    current: Event,
    text: str | None,
    fragments: dict[str, Any],
    now: datetime,
) -> Event:
    """Store a new text (when given) and the whole new ``fragments`` of ``current``."""
    values: dict[str, Any] = {"fragments": fragments, "updated_at": now}
    if text is not None:
        values["text"] = text
    conn.execute(update(e).where(e.c.tenant_id == tenant, e.c.id == current.id).values(**values))
    found = get_event(conn, tenant, current.id)
    assert found is not None
    return found


def _conditions(conn: Connection, tenant: str, flt: EventFilter) -> list[ColumnElement[bool]]:
    return document_conditions(e, conn.dialect.name, tenant, flt)


def delete_event(conn: Connection, tenant: str, event_id: int) -> bool:
    result = conn.execute(delete(e).where(e.c.tenant_id == tenant, e.c.id == event_id))
    return bool(result.rowcount)


def delete_matching(conn: Connection, tenant: str, flt: EventFilter) -> int:
    result = conn.execute(delete(e).where(*_conditions(conn, tenant, flt)))
    return int(result.rowcount or 0)


def count_events(conn: Connection, tenant: str, flt: EventFilter) -> int:
    query = select(func.count()).select_from(e).where(*_conditions(conn, tenant, flt))
    return int(conn.execute(query).scalar_one())


def page_ids(
    conn: Connection, tenant: str, flt: EventFilter, *, offset: int, limit: int, oldest_first: bool
) -> list[int]:
    """The ids of one page of matching events (newest first unless ``oldest_first``)."""
    order = [e.c.time_ns, e.c.id] if oldest_first else [e.c.time_ns.desc(), e.c.id.desc()]
    query = (
        select(e.c.id)
        .where(*_conditions(conn, tenant, flt))
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    return [int(r.id) for r in conn.execute(query)]


def raw_events(conn: Connection, tenant: str, ids: Sequence[int]) -> list[tuple[Event, str]]:
    """The events of ``ids`` (those that still exist) in that order, each with its fragments
    as the JSON text stored."""
    columns = [c for c in e.c if c.name != "fragments"]
    rows = conn.execute(
        select(*columns, cast(e.c.fragments, Text).label("fragments_json")).where(
            of_tenant_by_ids(conn, e, tenant, ids)
        )
    )
    found = {int(r.id): (_from_row(r, {}), r.fragments_json) for r in rows}
    return [found[i] for i in ids if i in found]
