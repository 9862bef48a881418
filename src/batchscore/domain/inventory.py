"""Managed objects (devices, groups, any asset), Cumulocity style: values and body parsing."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchscore.domain.documents import MAX_NAME, fragments_of, raise_collected
from batchscore.errors import Invalid

# Fields of a managed object that the server owns or reads itself; the rest are fragments.
# Read-only ones in a body are ignored, as Cumulocity does (clients echo objects back).
OWNED_FIELDS = frozenset(
    {
        "id",
        "self",
        "name",
        "type",
        "owner",
        "creationTime",
        "lastUpdated",
        "childAssets",
        "childDevices",
        "childAdditions",
        "assetParents",
        "deviceParents",
        "additionParents",
    }
)
DEVICE = "c8y_IsDevice"
GROUP = "c8y_IsDeviceGroup"


class Hierarchy(enum.StrEnum):
    """The two hierarchies of the inventory: assets (groups) and devices (gateways)."""

    ASSET = "asset"
    DEVICE = "device"

    @property
    def collection(self) -> str:
        """The name of the references collection: ``childAssets`` or ``childDevices``."""
        return "childAssets" if self is Hierarchy.ASSET else "childDevices"

    @property
    def parents(self) -> str:
        return "assetParents" if self is Hierarchy.ASSET else "deviceParents"


@dataclass(frozen=True, slots=True)
class ManagedObject:
    id: int
    tenant: str
    name: str | None
    type: str | None
    owner: str | None
    is_device: bool
    is_group: bool
    fragments: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Reference:
    """The other end of a child or parent reference: id, name, and what it is."""

    id: int
    name: str | None
    is_device: bool
    is_group: bool


@dataclass(frozen=True, slots=True)
class RawObject:
    """A managed object as stored, its fragments as the JSON text in the database (a listing
    renders them without parsing)."""

    id: int
    name: str | None
    type: str | None
    owner: str | None
    is_device: bool
    is_group: bool
    created_at: datetime
    updated_at: datetime
    fragments_json: str


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """What a POST sets or a PUT changes: header fields (``None`` in ``cleared`` means removed)
    and fragments (a ``None`` value removes the fragment)."""

    name: str | None
    type: str | None
    owner: str | None
    cleared: frozenset[str]
    fragments: dict[str, Any]


def parse_object(body: Any, *, update: bool) -> ObjectChange:
    """Validate a managed object body of a POST (``update=False``) or PUT; raise ``Invalid``
    naming every problem. In a PUT, ``null`` removes a fragment, the name or the type."""
    if not isinstance(body, dict):
        raise Invalid("The managed object must be a JSON object.")
    errors: list[str] = []
    fields: dict[str, str | None] = {}
    cleared: set[str] = set()
    for key in ("name", "type", "owner"):
        if key not in body:
            continue
        value = body[key]
        if value is None and update and key != "owner":
            cleared.add(key)
        elif value is None and not update:
            continue
        elif not isinstance(value, str) or len(value) > MAX_NAME:
            errors.append(f"{key}: must be a string of at most {MAX_NAME} characters.")
        else:
            fields[key] = value
    fragments = fragments_of(body, OWNED_FIELDS, "", errors)
    raise_collected(errors)
    return ObjectChange(
        fields.get("name"), fields.get("type"), fields.get("owner"), frozenset(cleared), fragments
    )


def merged(obj: ManagedObject, change: ObjectChange) -> dict[str, Any]:
    """The fragments of ``obj`` after ``change``: a top-level fragment is replaced whole, ``null``
    removes it (Cumulocity's PUT)."""
    out = dict(obj.fragments)
    for key, value in change.fragments.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
