"""Managed objects: devices and groups, Cumulocity style."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Fields of a managed object that the server owns; a client cannot set them as fragments.
RESERVED_FIELDS = frozenset(
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


@dataclass(frozen=True, slots=True)
class ManagedObject:
    id: int
    tenant: str
    name: str | None
    type: str | None
    is_device: bool
    is_group: bool
    fragments: dict[str, Any]
    created_at: datetime
    updated_at: datetime
