"""Measurement use cases: validated, all-or-nothing writes and paged reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from batchscore.domain.measurements import (
    Measurement,
    SeriesValue,
    limit_messages,
    parse_measurements,
)
from batchscore.errors import Invalid
from batchscore.service.inventory import parse_object_id
from batchscore.store import inventory as inventory_repo
from batchscore.store import measurements as repo
from batchscore.store.db import Database
from batchscore.store.measurements import MeasurementFilter


@dataclass(frozen=True, slots=True)
class StoredMeasurement:
    """A measurement as answered by the API: its device and values, grouped by time and type."""

    device_id: int
    time_ns: int
    type: str | None
    values: tuple[SeriesValue, ...]

    @property
    def id(self) -> str:
        # Derived from the grouping key so that re-posting answers the same id.
        return f"{self.device_id}-{self.time_ns}"


@dataclass(frozen=True, slots=True)
class MeasurementPage:
    measurements: list[StoredMeasurement]
    has_more: bool
    total: int | None


class MeasurementService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, tenant: str, body: Any) -> tuple[list[StoredMeasurement], bool]:
        """Store one measurement or a collection: validated whole first, then written in one
        transaction, so a rejected collection writes nothing. Returns them and whether it was a
        collection."""
        parsed, is_collection = parse_measurements(body)
        sources = self._resolve_sources(tenant, parsed, is_collection)
        stored = [
            StoredMeasurement(sources[i], item.time_ns, item.type, item.values)
            for i, item in enumerate(parsed)
        ]
        rows = [
            repo.ValueRow(s.device_id, v.fragment, v.series, s.time_ns, v.value, v.unit, s.type)
            for s in stored
            for v in s.values
        ]
        with self.db.write() as conn:
            repo.insert_values(conn, tenant, rows)
        return stored, is_collection

    def _resolve_sources(
        self, tenant: str, parsed: list[Measurement], is_collection: bool
    ) -> list[int]:
        ids = [parse_object_id(item.source) for item in parsed]
        with self.db.read() as conn:
            known = inventory_repo.get_objects(conn, tenant, sorted({i for i in ids if i}))
        errors = []
        for index, (item, found) in enumerate(zip(parsed, ids, strict=True)):
            if found is None or found not in known:
                label = f"measurements[{index}]." if is_collection else ""
                errors.append(f"{label}source: managed object '{item.source[:40]}' not found.")
        if errors:
            raise Invalid.collect(limit_messages(errors))
        return [i for i in ids if i is not None]

    def page(
        self,
        tenant: str,
        flt: MeasurementFilter,
        *,
        page_size: int,
        current_page: int,
        descending: bool,
        with_total: bool,
    ) -> MeasurementPage:
        """One page of measurements matching ``flt``, ordered by time."""
        offset = (current_page - 1) * page_size
        with self.db.read() as conn:
            keys = repo.page_keys(
                conn, tenant, flt, offset=offset, limit=page_size + 1, descending=descending
            )
            has_more = len(keys) > page_size
            keys = keys[:page_size]
            rows = repo.rows_of(conn, tenant, keys)
            total = repo.count_measurements(conn, tenant, flt) if with_total else None
        grouped: dict[repo.MeasurementKey, list[SeriesValue]] = defaultdict(list)
        for r in rows:
            grouped[(r.device_id, r.time_ns, r.type)].append(
                SeriesValue(r.fragment, r.series, r.value, r.unit)
            )
        found = [StoredMeasurement(d, t, ty, tuple(grouped[(d, t, ty)])) for d, t, ty in keys]
        return MeasurementPage(found, has_more, total)
