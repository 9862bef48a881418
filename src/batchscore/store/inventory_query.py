"""Managed objects matching an inventory query, paged by ascending id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, func, select

from batchscore.domain.inventory_query import ByGroupId, Has, Term
from batchscore.store.tables import child_assets, managed_objects

mo = managed_objects


def _condition(conn: Connection, tenant: str, term: Term) -> ColumnElement[bool]:
    if isinstance(term, ByGroupId):
        children = select(child_assets.c.child_id).where(
            child_assets.c.tenant_id == tenant, child_assets.c.parent_id == term.group_id
        )
        return mo.c.id.in_(children)
    assert isinstance(term, Has)
    # The two marker fragments have their own columns; others are keys of the JSON column.
    if term.fragment == "c8y_IsDevice":
        return mo.c.is_device.is_(True)
    if term.fragment == "c8y_IsDeviceGroup":
        return mo.c.is_group.is_(True)
    if conn.dialect.name == "postgresql":
        return mo.c.fragments.op("->")(term.fragment).is_not(None)
    # json_type is NULL only for a missing key (a JSON null gives 'null'); names are \w+ here.
    return func.json_type(mo.c.fragments, f'$."{term.fragment}"').is_not(None)


def matching_ids(
    conn: Connection, tenant: str, terms: Sequence[Term], *, offset: int, limit: int
) -> list[int]:
    """Ids of the objects of ``tenant`` satisfying every term, one page, ascending."""
    conds = [_condition(conn, tenant, t) for t in terms]
    rows = conn.execute(
        select(mo.c.id)
        .where(mo.c.tenant_id == tenant, *conds)
        .order_by(mo.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def count_matching(conn: Connection, tenant: str, terms: Sequence[Term]) -> int:
    """How many objects of ``tenant`` satisfy every term."""
    conds = [_condition(conn, tenant, t) for t in terms]
    query = select(func.count()).select_from(mo).where(mo.c.tenant_id == tenant, *conds)
    return int(conn.execute(query).scalar_one())
