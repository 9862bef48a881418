"""What stored documents share: the SQL conditions of the filters of alarms and events (source
with the objects below it, types, time, creation and update ranges, a fragment and its value;
the filters themselves are ``domain/filters.py``), and the size of their fragments (so a
listing reads them in runs of bounded size)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, Text, cast, func, select

from batchscore.domain.filters import DocumentFilter
from batchscore.store import json_sql
from batchscore.store.inventory import below_query
from batchscore.store.keys import of_tenant_by_ids


def document_conditions(
    table: Table, dialect: str, tenant: str, flt: DocumentFilter
) -> list[ColumnElement[bool]]:
    c = table.c
    conds: list[ColumnElement[bool]] = [c.tenant_id == tenant]
    if flt.source is not None:
        if flt.below:
            conds.append(c.source_id.in_(below_query(tenant, flt.source, flt.below)))
        else:
            conds.append(c.source_id == flt.source)
    if flt.types is not None:
        conds.append(c.type.in_(list(flt.types)))
    ranges: list[tuple[Any, Any, Any]] = [
        (c.time_ns, flt.start_ns, flt.end_ns),
        (c.created_at, flt.created_from, flt.created_to),
        (c.updated_at, flt.updated_from, flt.updated_to),
    ]
    for column, lo, hi in ranges:
        if lo is not None:
            conds.append(column >= lo)
        if hi is not None:
            conds.append(column < hi)
    if flt.fragment is not None:
        if flt.fragment_value is None:
            conds.append(json_sql.has_path(c.fragments, (flt.fragment,), dialect))
        else:
            text = json_sql.text_at(c.fragments, (flt.fragment,), dialect)
            conds.append(json_sql.sure(text == flt.fragment_value))
    return conds


def fragment_sizes(
    conn: Connection, table: Table, tenant: str, ids: Sequence[int]
) -> dict[int, int]:
    """The length of each document's stored fragments (JSON text, in characters)."""
    if not ids:
        return {}
    rows = conn.execute(
        select(table.c.id, func.length(cast(table.c.fragments, Text)).label("size")).where(
            of_tenant_by_ids(conn, table, tenant, ids)
        )
    )
    return {int(r.id): int(r.size or 0) for r in rows}
