"""The embedded MeasurementSource: the measurement store in the service's own database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from batchscore.domain.inventory import ManagedObject
from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.sources.source import Series, SeriesChunk, read_chunks
from batchscore.store import series as repo
from batchscore.store.db import Database


class Inventory(Protocol):
    """The part of the inventory use cases this source needs (InventoryService fits)."""

    def get(self, tenant: str, object_id: str | int) -> ManagedObject: ...

    def devices_below(self, tenant: str, target: ManagedObject) -> list[int]: ...


class EmbeddedSource:
    """Reads windows from the ``measurements`` table; groups resolve through the inventory."""

    def __init__(self, db: Database, inventory: Inventory) -> None:
        self.db = db
        self.inventory = inventory

    def read(
        self,
        tenant: str,
        device_id: int,
        paths: Sequence[MeasurementPath],
        start: datetime,
        end: datetime,
        chunk: timedelta | None = None,
    ) -> Iterator[SeriesChunk]:
        wanted = list(dict.fromkeys(paths))
        pairs = [(path.fragment, path.series) for path in wanted]

        def read(lo: datetime, hi: datetime) -> dict[MeasurementPath, Series]:
            lo_ns, hi_ns = to_ns(lo), to_ns(hi)
            # One short read transaction per chunk, so a long window never pins a snapshot;
            # one query for all the device's paths.
            with self.db.read() as conn:
                found = repo.read_paths(conn, tenant, device_id, pairs, lo_ns, hi_ns)
            return {path: Series(*arrays) for path, arrays in zip(wanted, found, strict=True)}

        def first(lo: datetime, hi: datetime) -> int | None:
            with self.db.read() as conn:
                return repo.first_time(conn, tenant, device_id, pairs, to_ns(lo), to_ns(hi))

        return read_chunks(start, end, chunk, read, first)

    def devices_below(self, tenant: str, target_id: int) -> list[int]:
        return self.inventory.devices_below(tenant, self.inventory.get(tenant, target_id))

    def close(self) -> None:
        """Nothing to release: the service's database is closed with the service."""
