"""Inventory use cases: managed objects, their child assets and child devices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from batchscore.clock import Clock
from batchscore.domain.documents import object_id as parse_object_id
from batchscore.domain.inventory import Hierarchy, ManagedObject, Reference, merged, parse_object
from batchscore.errors import Conflict, Invalid, NotFound
from batchscore.service.documents import check_budget
from batchscore.store import inventory as repo
from batchscore.store.db import Database

MAX_DEPTH = 64
MAX_REFERENCES = 2000  # per request adding or removing references in bulk


def object_not_found(object_id: str | int) -> NotFound:
    return NotFound(f"Managed object with id '{str(object_id)[:40]}' not found.")


class InventoryService:
    def __init__(self, db: Database, clock: Clock, fragment_budget: int = 1_000_000) -> None:
        self.db = db
        self.clock = clock
        # The most JSON text an object's fragments may take (the body limit): a listing holds a
        # few objects at a time, so this bounds its memory per object.
        self.fragment_budget = fragment_budget

    def create(self, tenant: str, body: Any, owner: str | None = None) -> ManagedObject:
        """Store a new object; ``owner`` (the creating user) unless the body names one."""
        change = parse_object(body, update=False)
        check_budget(change.fragments, self.fragment_budget, "a managed object")
        with self.db.write() as conn:
            return repo.insert_object(
                conn,
                tenant,
                change.name,
                change.type,
                change.owner or owner,
                change.fragments,
                self.clock.now(),
            )

    def get(self, tenant: str, object_id: str | int) -> ManagedObject:
        parsed = parse_object_id(object_id)
        found = None
        if parsed is not None:
            with self.db.read() as conn:
                found = repo.get_object(conn, tenant, parsed)
        if found is None:
            raise object_not_found(object_id)
        return found

    def update(self, tenant: str, object_id: str | int, body: Any) -> ManagedObject:
        """Cumulocity's PUT: fragments sent replace those stored, ``null`` removes one (or the
        name or type); fields not sent stay."""
        change = parse_object(body, update=True)
        current = self.get(tenant, object_id)
        fragments = merged(current, change)
        check_budget(fragments, self.fragment_budget, "a managed object")
        fields: dict[str, str | None] = {key: None for key in change.cleared}
        for key in ("name", "type", "owner"):
            if getattr(change, key) is not None:
                fields[key] = getattr(change, key)
        with self.db.write() as conn:
            return repo.update_object(conn, current, fields, fragments, self.clock.now())

    def delete(self, tenant: str, object_id: str | int, *, cascade: bool) -> None:
        """Delete an object with its measurements, alarms and events. Its children are only
        unassigned, unless ``cascade``: then everything below it goes too."""
        target = self.get(tenant, object_id)
        with self.db.write() as conn:
            doomed = [target.id]
            if cascade:
                doomed += repo.below(conn, tenant, [target.id], list(Hierarchy))
            repo.delete_objects(conn, tenant, doomed)

    def add_children(
        self, tenant: str, parent: str | int, body: Any, kind: Hierarchy
    ) -> list[Reference]:
        """Assign ``{"managedObject": {"id"}}`` or ``{"references": [...]}`` below ``parent``;
        the children assigned, as references."""
        wanted = _referenced_ids(body)
        parent_obj = self.get(tenant, parent)
        with self.db.write() as conn:
            found = repo.references(conn, tenant, wanted)
            missing = [i for i in wanted if i not in found]
            if missing:
                raise object_not_found(missing[0])
            children = [found[i] for i in wanted]
            for child in children:
                if child.id == parent_obj.id:
                    raise Conflict("A managed object cannot be its own child.")
                if self._reaches(conn, tenant, child.id, parent_obj.id, kind):
                    raise Conflict(f"Adding {child.id} below {parent_obj.id} would create a cycle.")
                if not repo.has_edge(conn, parent_obj.id, child.id, kind):
                    repo.add_edge(conn, tenant, parent_obj.id, child.id, kind, self.clock.now())
        return children

    def add_child(self, tenant: str, parent: str | int, body: Any) -> Reference:
        """Assign one child asset (``{"managedObject": {"id"}}``) below ``parent``."""
        return self.add_children(tenant, parent, body, Hierarchy.ASSET)[0]

    def remove_child(
        self, tenant: str, parent: str | int, child: str | int, kind: Hierarchy
    ) -> None:
        parent_obj = self.get(tenant, parent)
        child_id = parse_object_id(child)
        with self.db.write() as conn:
            if child_id is None or not repo.remove_edge(
                conn, tenant, parent_obj.id, child_id, kind
            ):
                raise object_not_found(child)

    def remove_children(self, tenant: str, parent: str | int, body: Any, kind: Hierarchy) -> None:
        """Unassign every child of ``{"references": [...]}`` (c8y-api's ``unassign_children``)."""
        wanted = _referenced_ids(body)
        parent_obj = self.get(tenant, parent)
        with self.db.write() as conn:
            for child_id in wanted:
                if not repo.remove_edge(conn, tenant, parent_obj.id, child_id, kind):
                    raise object_not_found(child_id)

    def devices_below(self, tenant: str, target: ManagedObject) -> list[int]:
        """Every device reachable below a group through child assets (or the device itself), in
        ascending id order."""
        if not target.is_group:
            return [target.id]
        devices: set[int] = set()
        seen = {target.id}
        frontier = [target.id]
        with self.db.read() as conn:
            for _ in range(MAX_DEPTH):
                if not frontier:
                    break
                edges = repo.children_of(conn, tenant, frontier)
                ids = sorted({c for cs in edges.values() for c in cs} - seen)
                seen.update(ids)
                kinds = repo.references(conn, tenant, ids)
                devices.update(i for i in ids if i in kinds and kinds[i].is_device)
                frontier = [i for i in ids if i in kinds and not kinds[i].is_device]
        return sorted(devices)

    @staticmethod
    def _reaches(conn: Connection, tenant: str, start: int, goal: int, kind: Hierarchy) -> bool:
        """True if ``goal`` lies below ``start`` (so adding start below goal closes a cycle)."""
        seen = {start}
        frontier = [start]
        while frontier:
            edges = repo.children_of(conn, tenant, frontier, kind)
            nxt = {c for cs in edges.values() for c in cs}
            if goal in nxt:
                return True
            frontier = sorted(nxt - seen)
            seen.update(frontier)
        return False


def _referenced_ids(body: Any) -> list[int]:
    """The ids of a reference body: one ``{"managedObject": {"id"}}`` or a collection of them
    under ``references``."""
    usage = 'The body must be {"managedObject": {"id": "<id>"}} or {"references": [...]} of them.'
    if not isinstance(body, dict):
        raise Invalid(usage)
    items = body.get("references", [body])
    if not isinstance(items, list) or not items:
        raise Invalid(usage)
    if len(items) > MAX_REFERENCES:
        raise Invalid(f"references: at most {MAX_REFERENCES} at once.")
    out: list[int] = []
    for item in items:
        ref = item.get("managedObject") if isinstance(item, dict) else None
        raw = ref.get("id") if isinstance(ref, dict) else None
        parsed = (
            parse_object_id(raw)
            if isinstance(raw, str | int) and not isinstance(raw, bool)
            else None
        )
        if parsed is None:
            if isinstance(raw, str | int) and not isinstance(raw, bool):
                raise object_not_found(raw)
            raise Invalid(usage)
        out.append(parsed)
    return out
