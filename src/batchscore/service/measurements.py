"""Measurement use cases: validated, all-or-nothing writes (every POST is a new measurement),
reads by id and by page, deletes by id and by filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batchscore.domain.documents import limit_messages, object_id
from batchscore.domain.filters import MeasurementFilter
from batchscore.domain.measurements import (
    NewMeasurement,
    RawMeasurement,
    StoredMeasurement,
    parse_measurements,
)
from batchscore.errors import Invalid, NotFound
from batchscore.service.reading import PageRead
from batchscore.store import inventory as inventory_repo
from batchscore.store import measurements as repo
from batchscore.store import series as series_repo
from batchscore.store.db import Database
from batchscore.store.tables import measurements as measurement_table


def measurement_not_found(measurement_id: str | int) -> NotFound:
    return NotFound(f"Measurement with id '{str(measurement_id)[:40]}' not found.")


class MeasurementService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, tenant: str, body: Any) -> tuple[list[StoredMeasurement], bool]:
        """Store one measurement or a ``{"measurements": [...]}`` collection, validated whole
        first and written in one transaction, so a rejected collection writes nothing. Returns
        them and whether the body was a collection."""
        parsed, is_collection = parse_measurements(body)
        return self.create_many(tenant, parsed, collection=is_collection), is_collection

    def create_many(
        self, tenant: str, items: Sequence[NewMeasurement], *, collection: bool = True
    ) -> list[StoredMeasurement]:
        """Store already validated measurements (all or nothing): each is a new measurement with
        its own id, also when source, time and type repeat. Raises ``Invalid`` naming any source
        that is no managed object of ``tenant``."""
        with self.db.write() as conn:
            known = inventory_repo.existing_ids(conn, tenant, (m.source for m in items))
            errors = [
                f"{f'measurements[{i}].' if collection else ''}source: managed object "
                f"'{item.source}' not found."
                for i, item in enumerate(items)
                if item.source not in known
            ]
            if errors:
                raise Invalid.collect(limit_messages(errors))
            ids = repo.insert_measurements(conn, tenant, items)
        return [
            StoredMeasurement(new_id, m.source, m.time_ns, m.type, m.fragments)
            for new_id, m in zip(ids, items, strict=True)
        ]

    def get(self, tenant: str, measurement_id: str | int) -> StoredMeasurement:
        parsed = object_id(measurement_id)
        found = None
        if parsed is not None:
            with self.db.read() as conn:
                found = repo.get_measurement(conn, tenant, parsed)
        if found is None:
            raise measurement_not_found(measurement_id)
        return found

    def delete(self, tenant: str, measurement_id: str | int) -> None:
        parsed = object_id(measurement_id)
        with self.db.write() as conn:
            if parsed is None or not repo.delete_measurement(conn, tenant, parsed):
                raise measurement_not_found(measurement_id)

    def delete_matching(self, tenant: str, flt: MeasurementFilter) -> int:
        """Delete every measurement matching ``flt`` (all of the tenant's without filters)."""
        with self.db.write() as conn:
            return repo.delete_matching(conn, tenant, flt)

    def read_page(
        self,
        tenant: str,
        flt: MeasurementFilter,
        *,
        page_size: int,
        current_page: int,
        descending: bool,
        with_total: bool,
    ) -> PageRead[list[RawMeasurement]]:
        """One page of measurements matching ``flt``, ordered by time, read in one transaction
        a run of bounded size at a time (``service.reading``)."""
        offset = (current_page - 1) * page_size
        return PageRead(
            self.db,
            measurement_table,
            tenant,
            limit=page_size,
            ids_of=lambda conn, limit: repo.page_ids(
                conn, tenant, flt, offset=offset, limit=limit, descending=descending
            ),
            count=(lambda conn: repo.count_measurements(conn, tenant, flt)) if with_total else None,
            read_run=lambda conn, run: repo.raw_measurements(conn, tenant, run),
        )

    def supported(self, tenant: str, source: str | int) -> list[tuple[str, str]]:
        """The (fragment, series) pairs the source has values of, in name order."""
        device = object_id(source)
        with self.db.read() as conn:
            if device is None or inventory_repo.get_object(conn, tenant, device) is None:
                raise NotFound(f"Managed object with id '{str(source)[:40]}' not found.")
            return series_repo.series_of(conn, tenant, device)
