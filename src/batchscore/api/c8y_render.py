"""Cumulocity's JSON of managed objects, references, measurements, alarms and events.

Listings splice each document's stored fragments (JSON text, never NaN or Infinity: the store's
serializer refuses them) after its header fields instead of parsing and re-encoding them.
"""

from __future__ import annotations

import json
from typing import Any

from batchscore.domain.alarms import Alarm
from batchscore.domain.events import Event
from batchscore.domain.inventory import (
    DEVICE,
    GROUP,
    Hierarchy,
    ManagedObject,
    RawObject,
    Reference,
)
from batchscore.domain.measurements import RawMeasurement, StoredMeasurement, format_time
from batchscore.domain.timefmt import format_millis_z
from batchscore.service.inventory_query import ObjectBatch, Shown

MEASUREMENT_TYPE = "application/vnd.com.nsn.cumulocity.measurement+json"
COLLECTION_TYPE = "application/vnd.com.nsn.cumulocity.measurementcollection+json"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def splice(header: dict[str, Any], fragments_json: str) -> bytes:
    """``header`` with the fragments of a stored JSON object appended to it."""
    head = _dumps(header)
    inner = fragments_json.strip()[1:-1].strip()
    return head[:-1] + b"," + inner.encode() + b"}" if inner else head


def object_url(base: str, object_id: int) -> str:
    return f"{base}/inventory/managedObjects/{object_id}"


def reference_json(
    ref: Reference, base: str, parent: str | None = None, names: bool = True
) -> dict[str, Any]:
    """``{"managedObject": {"id", "name", "self"}, "self"}``: a child (or parent) reference."""
    target: dict[str, Any] = {"id": str(ref.id), "self": object_url(base, ref.id)}
    if names and ref.name is not None:
        target["name"] = ref.name
    if ref.is_device:
        target[DEVICE] = {}
    if ref.is_group:
        target[GROUP] = {}
    out: dict[str, Any] = {"managedObject": target}
    if parent is not None:
        out["self"] = f"{parent}/{ref.id}"
    return out


def _header(
    obj: RawObject | ManagedObject,
    base: str,
    children: dict[Hierarchy, list[Reference]],
    parents: dict[Hierarchy, list[Reference]],
    shown: Shown,
) -> dict[str, Any]:
    url = object_url(base, obj.id)
    out: dict[str, Any] = {"id": str(obj.id), "self": url}
    for key in ("name", "type", "owner"):
        value = getattr(obj, key)
        if value is not None:
            out[key] = value
    out["creationTime"] = format_millis_z(obj.created_at)
    out["lastUpdated"] = format_millis_z(obj.updated_at)
    for kind in Hierarchy:
        collection = f"{url}/{kind.collection}"
        listed = children.get(kind, [])
        entry: dict[str, Any] = {"self": collection}
        if shown.counts:
            entry["count"] = len(listed)
        entry["references"] = (
            [reference_json(r, base, collection, not shown.skip_names) for r in listed]
            if shown.children
            else []
        )
        out[kind.collection] = entry
        up = parents.get(kind, []) if shown.parents else []
        if kind is Hierarchy.ASSET and shown.group_parents and not shown.parents:
            up = [r for r in parents.get(kind, []) if r.is_group]
        out[kind.parents] = {
            "self": f"{url}/{kind.parents}",
            "references": [reference_json(r, base) for r in up],
        }
    out["childAdditions"] = {"self": f"{url}/childAdditions", "references": []}
    return out


def object_batch(batch: ObjectBatch, base: str, shown: Shown) -> list[bytes]:
    """The JSON of each object of a batch, fragments spliced as stored."""
    return [
        splice(
            _header(
                obj,
                base,
                {k: refs.get(obj.id, []) for k, refs in batch.children.items()},
                {k: refs.get(obj.id, []) for k, refs in batch.parents.items()},
                shown,
            ),
            obj.fragments_json,
        )
        for obj in batch.objects
    ]


def managed_object_json(
    obj: ManagedObject,
    base: str,
    children: dict[Hierarchy, list[Reference]] | None = None,
    parents: dict[Hierarchy, list[Reference]] | None = None,
    shown: Shown | None = None,
) -> dict[str, Any]:
    """One managed object (a POST's or PUT's answer)."""
    out = _header(obj, base, children or {}, parents or {}, shown or Shown())
    out.update(obj.fragments)
    return out


def _source(base: str, source: int) -> dict[str, str]:
    return {"id": str(source), "self": object_url(base, source)}


def _measurement_header(
    base: str, mid: int, source: int, time_ns: int, type_: str
) -> dict[str, Any]:
    return {
        "id": str(mid),
        "self": f"{base}/measurement/measurements/{mid}",
        "source": _source(base, source),
        "time": format_time(time_ns),
        "type": type_,
    }


def measurement_json(item: StoredMeasurement, base: str) -> dict[str, Any]:
    out = _measurement_header(base, item.id, item.source, item.time_ns, item.type)
    out.update(item.fragments)
    return out


def raw_measurement_json(item: RawMeasurement, base: str) -> bytes:
    header = _measurement_header(base, item.id, item.device_id, item.time_ns, item.type)
    return splice(header, item.fragments_json)


def _alarm_header(alarm: Alarm, base: str) -> dict[str, Any]:
    return {
        "id": str(alarm.id),
        "self": f"{base}/alarm/alarms/{alarm.id}",
        "source": _source(base, alarm.source),
        "type": alarm.type,
        "time": format_time(alarm.time_ns),
        "text": alarm.text,
        "severity": alarm.severity.value,
        "status": alarm.status.value,
        "count": alarm.count,
        "firstOccurrenceTime": format_time(alarm.first_ns),
        "creationTime": format_millis_z(alarm.created_at),
        "lastUpdated": format_millis_z(alarm.updated_at),
    }


def alarm_json(alarm: Alarm, base: str) -> dict[str, Any]:
    out = _alarm_header(alarm, base)
    out.update(alarm.fragments)
    return out


def raw_alarm_json(alarm: Alarm, fragments_json: str, base: str) -> bytes:
    return splice(_alarm_header(alarm, base), fragments_json)


def _event_header(event: Event, base: str) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "self": f"{base}/event/events/{event.id}",
        "source": _source(base, event.source),
        "type": event.type,
        "time": format_time(event.time_ns),
        "text": event.text,
        "creationTime": format_millis_z(event.created_at),
        "lastUpdated": format_millis_z(event.updated_at),
    }


def event_json(event: Event, base: str) -> dict[str, Any]:
    out = _event_header(event, base)
    out.update(event.fragments)
    return out


def raw_event_json(event: Event, fragments_json: str, base: str) -> bytes:
    return splice(_event_header(event, base), fragments_json)
