"""Read-only queries the console needs beyond the API's use cases: the members of groups, the
series a device has and their latest values. Every query is an index seek, never a scan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from batchscore.domain.inventory import ManagedObject
from batchscore.store import inventory as inventory_repo
from batchscore.store import series as series_repo
from batchscore.store.db import Database

MAX_SERIES = 200
"""Series looked at per device."""


@dataclass(frozen=True, slots=True)
class LatestValue:
    fragment: str
    series: str
    time_ns: int
    value: float
    unit: str | None


@dataclass(frozen=True, slots=True)
class DeviceOverview:
    """What the devices page shows beside the objects themselves, read in one transaction."""

    members: dict[int, list[ManagedObject]]
    """Group id to the objects directly below it (asset hierarchy), in child order."""
    latest: dict[int, list[LatestValue]]
    """Device id to the newest value of each of its series, in series name order."""


def device_overview(
    db: Database, tenant: str, group_ids: Sequence[int], device_ids: Sequence[int]
) -> DeviceOverview:
    """The members of each group and the latest values of each device."""
    with db.read() as conn:
        children = inventory_repo.children_of(conn, tenant, list(group_ids))
        found = inventory_repo.get_objects(
            conn, tenant, sorted({c for cs in children.values() for c in cs})
        )
        latest = {
            d: [
                LatestValue(*row)
                for row in series_repo.latest_values(conn, tenant, d, limit=MAX_SERIES)
            ]
            for d in device_ids
        }
    members = {g: [found[c] for c in children.get(g, []) if c in found] for g in group_ids}
    return DeviceOverview(members, latest)


def series_paths(db: Database, tenant: str, device_ids: Sequence[int]) -> list[str]:
    """``fragment.series.value`` paths the devices have values of, sorted."""
    found: set[str] = set()
    with db.read() as conn:
        for device in device_ids:
            pairs = series_repo.series_of(conn, tenant, device, limit=MAX_SERIES)
            found.update(f"{f}.{s}.value" for f, s in pairs)
    return sorted(found)
