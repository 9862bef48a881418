"""Listing managed objects by a Cumulocity inventory query."""

from __future__ import annotations

from dataclasses import dataclass

from batchscore.domain.inventory import ManagedObject
from batchscore.domain.inventory_query import parse_query
from batchscore.store import inventory as repo
from batchscore.store import inventory_query as query_repo
from batchscore.store.db import Database


@dataclass(frozen=True, slots=True)
class ObjectPage:
    objects: list[ManagedObject]
    has_more: bool
    total: int | None


def query_objects(
    db: Database, tenant: str, query: str | None, *, offset: int, limit: int, with_total: bool
) -> ObjectPage:
    """One page (by ascending id) of the tenant's objects matching ``query`` (all if None)."""
    terms = parse_query(query) if query is not None else ()
    with db.read() as conn:
        ids = query_repo.matching_ids(conn, tenant, terms, offset=offset, limit=limit + 1)
        has_more = len(ids) > limit
        ids = ids[:limit]
        found = repo.get_objects(conn, tenant, ids)
        total = query_repo.count_matching(conn, tenant, terms) if with_total else None
    return ObjectPage([found[i] for i in ids if i in found], has_more, total)
