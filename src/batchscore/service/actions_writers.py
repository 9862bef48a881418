"""How one outbox effect becomes a Cumulocity document (design §2.9): alarms raised or cleared,
events created and write-back measurements stored through a ``PlatformWriter`` — the embedded
store's writer bound to the delivering transaction, or a Cumulocity tenant's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.domain.actions import render_template
from batchscore.domain.alarms import AlarmStatus, NewAlarm, Severity
from batchscore.domain.events import NewEvent
from batchscore.domain.filters import AlarmFilter
from batchscore.domain.finite import json_column
from batchscore.domain.measurements import NewMeasurement, SeriesValue, to_ns
from batchscore.domain.timefmt import parse_instant
from batchscore.errors import Invalid
from batchscore.execution.codec import Chunk
from batchscore.service.documents import require_source
from batchscore.sources.writer import PlatformWriter, RaisedAlarm
from batchscore.store import alarms as alarms_repo
from batchscore.store import events as events_repo
from batchscore.store import inventory as inventory_repo
from batchscore.store import measurements as measurements_repo
from batchscore.store.db import Transaction
from batchscore.store.outbox import StoredEffect

ACTION_FRAGMENT = "bs_Action"


class StoreWriter:
    """The embedded store as a ``PlatformWriter`` inside the caller's transaction, so that an
    effect and its delivered mark commit together (exactly once)."""

    def __init__(self, conn: Transaction, now: datetime) -> None:
        self.conn = conn
        self.now = now

    def create_measurements(self, tenant: str, items: Sequence[NewMeasurement]) -> list[int]:
        known = inventory_repo.existing_ids(self.conn, tenant, {m.source for m in items})
        missing = sorted({m.source for m in items} - set(known))
        if missing:
            raise Invalid(f"source: managed object '{missing[0]}' not found.")
        return measurements_repo.insert_measurements(self.conn, tenant, items)

    def raise_alarm(self, tenant: str, alarm: NewAlarm) -> RaisedAlarm:
        require_source(self.conn, tenant, alarm.source)
        stored, _ = alarms_repo.raise_alarm(self.conn, tenant, alarm, self.now)
        return RaisedAlarm(stored.id, stored.count)

    def clear_alarms(self, tenant: str, source: int, type_: str) -> int:
        flt = AlarmFilter(
            source=source, types=(type_,), statuses=(AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED)
        )
        return alarms_repo.change_matching(self.conn, tenant, flt, AlarmStatus.CLEARED, self.now)

    def create_event(self, tenant: str, event: NewEvent) -> int:
        require_source(self.conn, tenant, event.source)
        return events_repo.insert_event(self.conn, tenant, event, self.now).id


def template_fields(effect: StoredEffect, device_name: str | None) -> dict[str, Any]:
    fields = dict(effect.payload.get("fields", {}))
    fields["deviceName"] = device_name or str(effect.device)
    return fields


def effect_time_ns(effect: StoredEffect, now: datetime) -> int:
    """When an alarm or event of ``effect`` happened: the last record of the device that met
    the rule (so a late delivery, a retry or a backfill dates it by the data, as an alarm on
    the platform is dated by what it reports), else ``now``."""
    last = effect.payload.get("fields", {}).get("lastTime")
    return to_ns(parse_instant(last)) if isinstance(last, str) else to_ns(now)


def apply_effect(
    writer: PlatformWriter,
    effect: StoredEffect,
    now: datetime,
    device_name: str | None,
    records: Chunk | None = None,
) -> str:
    """Write one platform effect (alarm, clear, event, measurements: of ``records``, the
    device's stored inferences); a short note of what it did."""
    payload = effect.payload
    tenant = effect.tenant
    if effect.kind == "alarm":
        fields = template_fields(effect, device_name)
        raised = writer.raise_alarm(
            tenant,
            NewAlarm(
                source=effect.device,
                type=payload["type"],
                time_ns=effect_time_ns(effect, now),
                text=render_template(payload["text"], fields) or payload["type"],
                severity=Severity(payload["severity"]),
            ),
        )
        return f"alarm {raised.id} (count {raised.count})"
    if effect.kind == "clear":
        cleared = writer.clear_alarms(tenant, effect.device, payload["type"])
        return f"{cleared} alarms cleared"
    if effect.kind == "event":
        fields = template_fields(effect, device_name)
        event_id = writer.create_event(
            tenant,
            NewEvent(
                source=effect.device,
                type=payload["type"],
                time_ns=effect_time_ns(effect, now),
                text=render_template(payload["text"], fields) or payload["type"],
                fragments={ACTION_FRAGMENT: {"delivery": effect.key, "rule": effect.rule}},
            ),
        )
        return f"event {event_id}"
    if effect.kind == "measurements":
        assert records is not None
        items = write_back_measurements(effect, records)
        ids = writer.create_measurements(tenant, items)
        return f"{len(ids)} measurements"
    raise ValueError(f"not a platform effect: {effect.kind}")


def write_back_measurements(effect: StoredEffect, records: Chunk) -> list[NewMeasurement]:
    """One measurement per scored record with the chosen outputs (type = the fragment; booleans
    as 0 and 1); missing and non-finite values are left out, and records without any value."""
    fragment = effect.payload["fragment"]
    columns: list[tuple[str, list[Any]]] = []
    for series, output in effect.payload["outputs"]:
        column = records.columns.get(output)
        if column is not None:
            columns.append((series, json_column(_numbers(column))))
    items: list[NewMeasurement] = []
    for index, time_ns in enumerate(records.times_ns.tolist()):
        values = tuple(
            SeriesValue(fragment, series, value, None)
            for series, column in columns
            if (value := column[index]) is not None
        )
        if values:
            fragments = {fragment: {v.series: {"value": v.value} for v in values}}
            items.append(NewMeasurement(effect.device, time_ns, fragment, fragments, values))
    return items


def _numbers(column: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """A column as float64 (booleans 0/1); anything not a number becomes NaN."""
    if column.dtype.kind in "fiub":
        return column.astype(np.float64)
    out = np.full(len(column), np.nan)
    for i, value in enumerate(column.tolist()):
        if isinstance(value, bool | int | float):
            out[i] = float(value)
    return out
