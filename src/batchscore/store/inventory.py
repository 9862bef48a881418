"""Managed objects and their child-asset edges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select

from batchscore.domain.inventory import ManagedObject
from batchscore.store.tables import child_assets, managed_objects

mo = managed_objects


def _from_row(row: Row[Any]) -> ManagedObject:
    return ManagedObject(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        type=row.type,
        is_device=row.is_device,
        is_group=row.is_group,
        fragments=dict(row.fragments),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def insert_object(
    conn: Connection,
    tenant: str,
    name: str | None,
    type_: str | None,
    fragments: dict[str, Any],
    now: datetime,
) -> ManagedObject:
    result = conn.execute(
        insert(mo)
        .values(
            tenant_id=tenant,
            name=name,
            type=type_,
            is_device="c8y_IsDevice" in fragments,
            is_group="c8y_IsDeviceGroup" in fragments,
            fragments=fragments,
            created_at=now,
            updated_at=now,
        )
        .returning(mo.c.id)
    )
    new_id = int(result.scalar_one())
    found = get_object(conn, tenant, new_id)
    assert found is not None
    return found


def get_object(conn: Connection, tenant: str, object_id: int) -> ManagedObject | None:
    row = conn.execute(select(mo).where(mo.c.tenant_id == tenant, mo.c.id == object_id)).first()
    return _from_row(row) if row is not None else None


def get_objects(conn: Connection, tenant: str, ids: list[int]) -> dict[int, ManagedObject]:
    if not ids:
        return {}
    rows = conn.execute(select(mo).where(mo.c.tenant_id == tenant, mo.c.id.in_(ids)))
    return {r.id: _from_row(r) for r in rows}


def child_ids(conn: Connection, tenant: str, parent_id: int) -> list[int]:
    rows = conn.execute(
        select(child_assets.c.child_id)
        .where(child_assets.c.tenant_id == tenant, child_assets.c.parent_id == parent_id)
        .order_by(child_assets.c.child_id)
    )
    return [int(r.child_id) for r in rows]


def children_of(conn: Connection, tenant: str, parent_ids: list[int]) -> dict[int, list[int]]:
    """Child ids of several parents at once (one query per level of a group walk)."""
    out: dict[int, list[int]] = {p: [] for p in parent_ids}
    if not parent_ids:
        return out
    rows = conn.execute(
        select(child_assets.c.parent_id, child_assets.c.child_id)
        .where(child_assets.c.tenant_id == tenant, child_assets.c.parent_id.in_(parent_ids))
        .order_by(child_assets.c.parent_id, child_assets.c.child_id)
    )
    for row in rows:
        out[int(row.parent_id)].append(int(row.child_id))
    return out


def has_edge(conn: Connection, parent_id: int, child_id: int) -> bool:
    row = conn.execute(
        select(func.count())
        .select_from(child_assets)
        .where(child_assets.c.parent_id == parent_id, child_assets.c.child_id == child_id)
    ).scalar_one()
    return bool(row)


def add_edge(conn: Connection, tenant: str, parent_id: int, child_id: int, now: datetime) -> None:
    conn.execute(
        insert(child_assets).values(
            tenant_id=tenant, parent_id=parent_id, child_id=child_id, created_at=now
        )
    )


def remove_edge(conn: Connection, tenant: str, parent_id: int, child_id: int) -> bool:
    result = conn.execute(
        delete(child_assets).where(
            child_assets.c.tenant_id == tenant,
            child_assets.c.parent_id == parent_id,
            child_assets.c.child_id == child_id,
        )
    )
    return bool(result.rowcount)
