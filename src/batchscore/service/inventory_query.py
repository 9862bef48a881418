"""Listing managed objects: Cumulocity's list parameters turned into one query, a page of ids,
then the objects a few at a time with their references (memory bounded by a batch of objects,
whatever the page size)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from batchscore.domain.documents import object_id
from batchscore.domain.inventory import DEVICE, Hierarchy, ManagedObject, RawObject, Reference
from batchscore.domain.inventory_query import (
    ChildOf,
    Column,
    Compare,
    Exact,
    Expr,
    Has,
    IdIn,
    Kind,
    Op,
    OrderKey,
    ParentOf,
    Root,
    Value,
    fragment_path,
    parse_query,
)
from batchscore.errors import Invalid
from batchscore.service.reading import PageRead
from batchscore.store import inventory as repo
from batchscore.store import inventory_query as query_repo
from batchscore.store.db import Database
from batchscore.store.tables import managed_objects

MAX_IDS = 2000


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    """The filters of ``GET /inventory/managedObjects`` (and of a child collection)."""

    query: str | None = None
    q: str | None = None
    fragment_type: str | None = None
    type: str | None = None
    owner: str | None = None
    text: str | None = None
    ids: str | None = None
    only_roots: bool = False
    child_asset_id: str | None = None
    child_device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Shown:
    """Which references an object carries: children (with names unless ``skip_names``) and
    their counts, and parents."""

    children: bool = True
    counts: bool = False
    parents: bool = False
    group_parents: bool = False
    skip_names: bool = False


@dataclass(frozen=True, slots=True)
class ObjectBatch:
    objects: list[RawObject]
    children: dict[Hierarchy, dict[int, list[Reference]]] = field(default_factory=dict)
    parents: dict[Hierarchy, dict[int, list[Reference]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectListing:
    """One page: the ids in order, whether more follow, the total when asked; the objects are
    read by :meth:`ObjectService.batches`."""

    ids: list[int]
    has_more: bool
    total: int | None


def terms_of(spec: ObjectQuery) -> tuple[list[Expr], tuple[OrderKey, ...]]:
    """The query of the list parameters: every filter must hold (``query`` and ``q`` bring
    their ``$orderby``). Raises ``Invalid`` naming a bad parameter."""
    terms: list[Expr] = []
    order: tuple[OrderKey, ...] = ()
    for name, text in (("query", spec.query), ("q", spec.q)):
        if text is None:
            continue
        parsed = parse_query(text, name)
        if parsed.filter is not None:
            terms.append(parsed.filter)
        order = order or parsed.order
        if name == "q":  # a device query, as Cumulocity: fragmentType=c8y_IsDevice added
            terms.append(Has((DEVICE,)))
    if spec.fragment_type is not None:
        terms.append(Has(fragment_path(spec.fragment_type, "fragmentType")))
    if spec.type is not None:
        terms.append(Exact(Column.TYPE, spec.type))
    if spec.owner is not None:
        terms.append(Exact(Column.OWNER, spec.owner))
    if spec.text is not None:
        terms.append(_text_term(spec.text))
    if spec.ids is not None:
        terms.append(IdIn(_ids(spec.ids)))
    if spec.only_roots:
        terms.append(Root())
    for name, raw, kind in (
        ("childAssetId", spec.child_asset_id, Hierarchy.ASSET),
        ("childDeviceId", spec.child_device_id, Hierarchy.DEVICE),
    ):
        if raw is not None:
            child = object_id(raw)
            if child is None:
                raise Invalid(f"{name}: {raw[:40]!r} is not a managed object id.")
            terms.append(ParentOf(child, kind.value))
    return terms, order


def _text_term(text: str) -> Expr:
    # c8y-api quotes a text with spaces ('a b') and doubles quotes inside, as the query language.
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1].replace("''", "'")
    return Compare(Column.TEXT, Op.EQ, Value(Kind.TEXT, text))


def _ids(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or len(parts) > MAX_IDS:
        raise Invalid(f"ids: a comma-separated list of 1 to {MAX_IDS} managed object ids.")
    out: list[int] = []
    for part in parts:
        parsed = object_id(part)
        if parsed is None:
            raise Invalid(f"ids: {part[:40]!r} is not a managed object id.")
        out.append(parsed)
    return tuple(out)


class ObjectService:
    """Lists managed objects and reads them for rendering."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def listing(
        self,
        tenant: str,
        terms: Sequence[Expr],
        order: Sequence[OrderKey],
        *,
        offset: int,
        limit: int,
        with_total: bool,
    ) -> ObjectListing:
        with self.db.read() as conn:
            ids = query_repo.matching_ids(
                conn, tenant, terms, order=order, offset=offset, limit=limit + 1
            )
            total = query_repo.count_matching(conn, tenant, terms) if with_total else None
        return ObjectListing(ids[:limit], len(ids) > limit, total)

    def children(
        self,
        tenant: str,
        parent: int,
        kind: Hierarchy,
        terms: Sequence[Expr],
        *,
        offset: int,
        limit: int,
        with_total: bool,
    ) -> tuple[list[Reference], bool, int | None]:
        """One page of the children of ``parent`` in one hierarchy, as references."""
        scoped = [*terms, ChildOf(parent, kind.value)]
        page = self.listing(tenant, scoped, (), offset=offset, limit=limit, with_total=with_total)
        with self.db.read() as conn:
            found = repo.references(conn, tenant, page.ids)
        return [found[i] for i in page.ids if i in found], page.has_more, page.total

    def read_page(
        self,
        tenant: str,
        terms: Sequence[Expr],
        order: Sequence[OrderKey],
        shown: Shown,
        *,
        offset: int,
        limit: int,
        with_total: bool,
    ) -> PageRead[ObjectBatch]:
        """One page of the objects matching every term, read in one transaction a run of
        bounded size at a time (``service.reading``) with the references ``shown`` asks for."""
        return PageRead(
            self.db,
            managed_objects,
            tenant,
            limit=limit,
            ids_of=lambda conn, n: query_repo.matching_ids(
                conn, tenant, terms, order=order, offset=offset, limit=n
            ),
            count=(lambda conn: query_repo.count_matching(conn, tenant, terms))
            if with_total
            else None,
            read_run=lambda conn, run: _batch(conn, tenant, run, shown),
        )

    def batch(self, tenant: str, ids: list[int], shown: Shown) -> ObjectBatch:
        """The objects of ``ids`` (a few) with the references ``shown`` asks for."""
        with self.db.read() as conn:
            return _batch(conn, tenant, ids, shown)


def _batch(conn: Connection, tenant: str, ids: list[int], shown: Shown) -> ObjectBatch:
    objects = query_repo.raw_objects(conn, tenant, ids)
    present = [o.id for o in objects]
    children = {}
    if shown.children or shown.counts:
        children = {k: repo.references_of(conn, tenant, present, k) for k in Hierarchy}
    parents = {}
    if shown.parents or shown.group_parents:
        parents = {k: repo.references_of(conn, tenant, present, k, parents=True) for k in Hierarchy}
    return ObjectBatch(objects, children, parents)


@dataclass(frozen=True, slots=True)
class ObjectPage:
    objects: list[ManagedObject]
    has_more: bool
    total: int | None


def query_objects(
    db: Database, tenant: str, query: str | None, *, offset: int, limit: int, with_total: bool
) -> ObjectPage:
    """One page of the tenant's objects matching an inventory ``query`` (all if None), parsed:
    for small pages (the console's pickers), not for the API's listings."""
    terms, order = terms_of(ObjectQuery(query=query))
    listing = ObjectService(db).listing(
        tenant, terms, order, offset=offset, limit=limit, with_total=with_total
    )
    with db.read() as conn:
        found = repo.get_objects(conn, tenant, listing.ids)
    return ObjectPage(
        [found[i] for i in listing.ids if i in found], listing.has_more, listing.total
    )
