"""Inventory use cases: devices, groups and their child assets."""

from __future__ import annotations

from typing import Any

from batchscore.clock import Clock
from batchscore.domain.inventory import RESERVED_FIELDS, ManagedObject
from batchscore.errors import Conflict, Invalid, NotFound
from batchscore.store import inventory as repo
from batchscore.store.db import Database

MAX_NAME = 255
MAX_DEPTH = 64


def object_not_found(object_id: str | int) -> NotFound:
    return NotFound(f"Managed object with id '{object_id}' not found.")


def parse_object_id(text: str | int) -> int | None:
    """Managed object ids are positive integers; anything else matches no object."""
    if isinstance(text, int):
        return text if 0 < text < 2**63 else None
    if text.isascii() and text.isdigit() and 0 < len(text) < 19:
        value = int(text)
        return value if value > 0 else None
    return None


class InventoryService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(self, tenant: str, body: Any) -> ManagedObject:
        if not isinstance(body, dict):
            raise Invalid("The managed object must be a JSON object.")
        errors: list[str] = []
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
            errors.append(f"name must be a string of at most {MAX_NAME} characters.")
        type_ = body.get("type")
        if type_ is not None and (not isinstance(type_, str) or len(type_) > MAX_NAME):
            errors.append(f"type must be a string of at most {MAX_NAME} characters.")
        fragments = {k: v for k, v in body.items() if k not in RESERVED_FIELDS}
        for key in fragments:
            if not key or "." in key or len(key) > MAX_NAME:
                errors.append(f"'{key[:80]}' is not a valid fragment name.")
        if errors:
            raise Invalid.collect(errors)
        with self.db.write() as conn:
            return repo.insert_object(conn, tenant, name, type_, fragments, self.clock.now())

    def get(self, tenant: str, object_id: str | int) -> ManagedObject:
        parsed = parse_object_id(object_id)
        found = None
        if parsed is not None:
            with self.db.read() as conn:
                found = repo.get_object(conn, tenant, parsed)
        if found is None:
            raise object_not_found(object_id)
        return found

    def children(self, tenant: str, parent: str | int) -> list[ManagedObject]:
        parent_obj = self.get(tenant, parent)
        with self.db.read() as conn:
            ids = repo.child_ids(conn, tenant, parent_obj.id)
            found = repo.get_objects(conn, tenant, ids)
        return [found[i] for i in ids if i in found]

    def add_child(self, tenant: str, parent: str | int, body: Any) -> ManagedObject:
        child_ref = body.get("managedObject") if isinstance(body, dict) else None
        child_id = child_ref.get("id") if isinstance(child_ref, dict) else None
        if not isinstance(child_id, str | int) or isinstance(child_id, bool):
            raise Invalid('The body must be {"managedObject": {"id": "<id>"}}.')
        parent_obj = self.get(tenant, parent)
        child_obj = self.get(tenant, child_id)
        if child_obj.id == parent_obj.id:
            raise Conflict("A managed object cannot be its own child asset.")
        with self.db.write() as conn:
            if self._reaches(conn, tenant, child_obj.id, parent_obj.id):
                raise Conflict(f"Adding {child_obj.id} below {parent_obj.id} would create a cycle.")
            if not repo.has_edge(conn, parent_obj.id, child_obj.id):
                repo.add_edge(conn, tenant, parent_obj.id, child_obj.id, self.clock.now())
        return child_obj

    def remove_child(self, tenant: str, parent: str | int, child: str | int) -> None:
        parent_obj = self.get(tenant, parent)
        child_id = parse_object_id(child)
        with self.db.write() as conn:
            if child_id is None or not repo.remove_edge(conn, tenant, parent_obj.id, child_id):
                raise object_not_found(child)

    def devices_below(self, tenant: str, target: ManagedObject) -> list[int]:
        """Every device reachable below a group (or the device itself), in ascending id order."""
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
                objects = repo.get_objects(conn, tenant, ids)
                devices.update(i for i in ids if objects.get(i) and objects[i].is_device)
                frontier = [i for i in ids if objects.get(i) and not objects[i].is_device]
        return sorted(devices)

    @staticmethod
    def _reaches(conn: Any, tenant: str, start: int, goal: int) -> bool:
        """True if ``goal`` lies below ``start`` (so adding start below goal closes a cycle)."""
        seen = {start}
        frontier = [start]
        while frontier:
            edges = repo.children_of(conn, tenant, frontier)
            nxt = {c for cs in edges.values() for c in cs}
            if goal in nxt:
                return True
            frontier = sorted(nxt - seen)
            seen.update(frontier)
        return False
