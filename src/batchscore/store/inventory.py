"""Managed objects and the references of their two hierarchies (child assets, child devices)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql import Select

from batchscore.domain.inventory import DEVICE, GROUP, Hierarchy, ManagedObject, Reference
from batchscore.store.keys import of_tenant_by_ids
from batchscore.store.tables import (
    alarms,
    child_references,
    events,
    managed_objects,
    measurement_values,
    measurements,
)

mo = managed_objects
refs = child_references
MAX_DEPTH = 64


def _from_row(row: Row[Any]) -> ManagedObject:
    return ManagedObject(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        type=row.type,
        owner=row.owner,
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
    owner: str | None,
    fragments: dict[str, Any],
    now: datetime,
) -> ManagedObject:
    result = conn.execute(
        insert(mo)
        .values(
            tenant_id=tenant,
            name=name,
            type=type_,
            owner=owner,
            is_device=DEVICE in fragments,
            is_group=GROUP in fragments,
            fragments=fragments,
            created_at=now,
            updated_at=now,
        )
        .returning(mo.c.id)
    )
    found = get_object(conn, tenant, int(result.scalar_one()))
    assert found is not None
    return found


def update_object(
    conn: Connection,
    obj: ManagedObject,
    fields: dict[str, str | None],
    fragments: dict[str, Any],
    now: datetime,
) -> ManagedObject:
    """Store new header ``fields`` (name, type, owner) and the whole new ``fragments``."""
    conn.execute(
        update(mo)
        .where(mo.c.tenant_id == obj.tenant, mo.c.id == obj.id)
        .values(
            **fields,
            is_device=DEVICE in fragments,
            is_group=GROUP in fragments,
            fragments=fragments,
            updated_at=now,
        )
    )
    found = get_object(conn, obj.tenant, obj.id)
    assert found is not None
    return found


def get_object(conn: Connection, tenant: str, object_id: int) -> ManagedObject | None:
    row = conn.execute(select(mo).where(mo.c.tenant_id == tenant, mo.c.id == object_id)).first()
    return _from_row(row) if row is not None else None


def get_objects(conn: Connection, tenant: str, ids: Sequence[int]) -> dict[int, ManagedObject]:
    if not ids:
        return {}
    rows = conn.execute(select(mo).where(of_tenant_by_ids(conn, mo, tenant, ids)))
    return {r.id: _from_row(r) for r in rows}


def references(conn: Connection, tenant: str, ids: Sequence[int]) -> dict[int, Reference]:
    """Id, name and kind of each of ``ids`` that exists, without their fragments."""
    if not ids:
        return {}
    rows = conn.execute(
        select(mo.c.id, mo.c.name, mo.c.is_device, mo.c.is_group).where(
            of_tenant_by_ids(conn, mo, tenant, ids)
        )
    )
    return {int(r.id): Reference(int(r.id), r.name, r.is_device, r.is_group) for r in rows}


def existing_ids(conn: Connection, tenant: str, ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = conn.execute(select(mo.c.id).where(of_tenant_by_ids(conn, mo, tenant, wanted)))
    return {int(r.id) for r in rows}


def below(
    conn: Connection, tenant: str, roots: Sequence[int], kinds: Sequence[Hierarchy]
) -> list[int]:
    """Every object below ``roots`` in the given hierarchies (roots excluded), any depth."""
    seen = set(roots)
    found: list[int] = []
    frontier = sorted(set(roots))
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        rows = conn.execute(
            select(refs.c.child_id).where(
                refs.c.tenant_id == tenant,
                refs.c.parent_id.in_(frontier),
                refs.c.kind.in_([k.value for k in kinds]),
            )
        )
        nxt = sorted({int(r.child_id) for r in rows} - seen)
        seen.update(nxt)
        found.extend(nxt)
        frontier = nxt
    return found


def below_query(tenant: str, root: int, kinds: Sequence[Hierarchy]) -> Select[Any]:
    """A query of ``root`` and every object below it in the given hierarchies (a recursive
    common table expression, for filters like ``withSourceDevices``)."""
    start = select(literal(root, BigInteger()).label("id"))
    tree = start.cte("tree", recursive=True)
    step = select(refs.c.child_id).where(
        refs.c.tenant_id == tenant,
        refs.c.parent_id == tree.c.id,
        refs.c.kind.in_([k.value for k in kinds]),
    )
    tree = tree.union(step)
    return select(tree.c.id)


def delete_objects(conn: Connection, tenant: str, ids: Sequence[int]) -> None:
    """Delete objects with their references, measurements, alarms and events."""
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        for table in (measurement_values, measurements):
            conn.execute(
                delete(table).where(table.c.tenant_id == tenant, table.c.device_id.in_(chunk))
            )
        for table in (alarms, events):
            conn.execute(
                delete(table).where(table.c.tenant_id == tenant, table.c.source_id.in_(chunk))
            )
        conn.execute(
            delete(refs).where(
                refs.c.tenant_id == tenant,
                (refs.c.parent_id.in_(chunk)) | (refs.c.child_id.in_(chunk)),
            )
        )
        conn.execute(delete(mo).where(of_tenant_by_ids(conn, mo, tenant, chunk)))


def children_of(
    conn: Connection, tenant: str, parent_ids: list[int], kind: Hierarchy = Hierarchy.ASSET
) -> dict[int, list[int]]:
    """Child ids of several parents at once (one query per level of a group walk)."""
    out: dict[int, list[int]] = {p: [] for p in parent_ids}
    if not parent_ids:
        return out
    rows = conn.execute(
        select(refs.c.parent_id, refs.c.child_id)
        .where(
            refs.c.tenant_id == tenant,
            refs.c.parent_id.in_(parent_ids),
            refs.c.kind == kind.value,
        )
        .order_by(refs.c.parent_id, refs.c.child_id)
    )
    for row in rows:
        out[int(row.parent_id)].append(int(row.child_id))
    return out


def references_of(
    conn: Connection, tenant: str, ids: Sequence[int], kind: Hierarchy, *, parents: bool = False
) -> dict[int, list[Reference]]:
    """For each of ``ids``, its children (or, with ``parents``, its parents) in one hierarchy,
    ascending by id, with their names: one query for all."""
    out: dict[int, list[Reference]] = {i: [] for i in ids}
    if not ids:
        return out
    mine, theirs = (
        (refs.c.child_id, refs.c.parent_id) if parents else (refs.c.parent_id, refs.c.child_id)
    )
    rows = conn.execute(
        select(mine.label("owner"), mo.c.id, mo.c.name, mo.c.is_device, mo.c.is_group)
        .join(mo, and_(mo.c.id == theirs, mo.c.tenant_id == tenant))
        .where(refs.c.tenant_id == tenant, mine.in_(list(ids)), refs.c.kind == kind.value)
        .order_by(mine, mo.c.id)
    )
    for row in rows:
        out[int(row.owner)].append(Reference(int(row.id), row.name, row.is_device, row.is_group))
    return out


def has_edge(conn: Connection, parent_id: int, child_id: int, kind: Hierarchy) -> bool:
    row = conn.execute(
        select(func.count())
        .select_from(refs)
        .where(
            refs.c.parent_id == parent_id, refs.c.child_id == child_id, refs.c.kind == kind.value
        )
    ).scalar_one()
    return bool(row)


def add_edge(
    conn: Connection, tenant: str, parent_id: int, child_id: int, kind: Hierarchy, now: datetime
) -> None:
    conn.execute(
        insert(refs).values(
            tenant_id=tenant,
            parent_id=parent_id,
            child_id=child_id,
            kind=kind.value,
            created_at=now,
        )
    )


def remove_edge(
    conn: Connection, tenant: str, parent_id: int, child_id: int, kind: Hierarchy
) -> bool:
    result = conn.execute(
        delete(refs).where(
            refs.c.tenant_id == tenant,
            refs.c.parent_id == parent_id,
            refs.c.child_id == child_id,
            refs.c.kind == kind.value,
        )
    )
    return bool(result.rowcount)
