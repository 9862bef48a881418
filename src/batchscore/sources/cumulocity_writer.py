"""The PlatformWriter of a Cumulocity tenant: measurements, alarms and events written over its
REST API (design §2.9), on the connector's HTTP client.

Like the reading side, it is bound to the tenant of its credentials; the ``tenant`` argument of
the port names batchscore's own tenant and is not sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batchscore.domain.alarms import AlarmStatus, NewAlarm
from batchscore.domain.documents import object_id
from batchscore.domain.events import NewEvent
from batchscore.domain.measurements import NewMeasurement, format_time
from batchscore.errors import SourceError
from batchscore.sources.cumulocity_http import PAGE_SIZE, CumulocityClient
from batchscore.sources.writer import RaisedAlarm

COLLECTION = "application/vnd.com.nsn.cumulocity.measurementcollection+json"
MEASUREMENTS_PER_POST = 500


def _source(source: int) -> dict[str, str]:
    return {"id": str(source)}


def measurement_document(item: NewMeasurement) -> dict[str, Any]:
    return {
        **item.fragments,
        "source": _source(item.source),
        "time": format_time(item.time_ns),
        "type": item.type,
    }


def alarm_document(alarm: NewAlarm) -> dict[str, Any]:
    return {
        **(alarm.fragments or {}),
        "source": _source(alarm.source),
        "type": alarm.type,
        "time": format_time(alarm.time_ns),
        "text": alarm.text,
        "severity": alarm.severity.value,
        "status": alarm.status.value,
    }


def event_document(event: NewEvent) -> dict[str, Any]:
    return {
        **(event.fragments or {}),
        "source": _source(event.source),
        "type": event.type,
        "time": format_time(event.time_ns),
        "text": event.text,
    }


class CumulocityWriter:
    """Writes into a Cumulocity tenant (see ``sources.writer.PlatformWriter``); the tenant itself
    de-duplicates alarms."""

    def __init__(self, client: CumulocityClient) -> None:
        self.client = client

    def create_measurements(self, tenant: str, items: Sequence[NewMeasurement]) -> list[int]:
        """POSTs collections of at most 500; a failure leaves the earlier collections written."""
        ids: list[int] = []
        for start in range(0, len(items), MEASUREMENTS_PER_POST):
            batch = items[start : start + MEASUREMENTS_PER_POST]
            answer = self.client.send_json(
                "POST",
                "/measurement/measurements",
                {"measurements": [measurement_document(m) for m in batch]},
                media_type=COLLECTION,
            )
            stored = answer.get("measurements")
            if not isinstance(stored, list) or len(stored) != len(batch):
                raise self._unexpected("POST /measurement/measurements")
            ids.extend(self._id(m, "POST /measurement/measurements") for m in stored)
        return ids

    def raise_alarm(self, tenant: str, alarm: NewAlarm) -> RaisedAlarm:
        answer = self.client.send_json("POST", "/alarm/alarms", alarm_document(alarm))
        count = answer.get("count", 1)
        return RaisedAlarm(
            self._id(answer, "POST /alarm/alarms"), count if isinstance(count, int) else 1
        )

    def clear_alarms(self, tenant: str, source: int, type_: str) -> int:
        """Clears each open alarm of the source and type (Cumulocity's bulk PUT has no ``type``
        filter, so alarm by alarm)."""
        params: dict[str, str | int] = {
            "source": str(source),
            "type": type_,
            "status": f"{AlarmStatus.ACTIVE},{AlarmStatus.ACKNOWLEDGED}",
        }
        cleared = 0
        for page in self.client.pages("/alarm/alarms", "alarms", params):
            for alarm in page:
                if alarm.get("type") != type_:  # a tenant may match types loosely
                    continue
                path = f"/alarm/alarms/{self._id(alarm, 'GET /alarm/alarms')}"
                self.client.send_json("PUT", path, {"status": AlarmStatus.CLEARED.value})
                cleared += 1
            if len(page) < PAGE_SIZE:
                break
        return cleared

    def create_event(self, tenant: str, event: NewEvent) -> int:
        answer = self.client.send_json("POST", "/event/events", event_document(event))
        return self._id(answer, "POST /event/events")

    def _id(self, document: Any, what: str) -> int:
        raw = document.get("id") if isinstance(document, dict) else None
        parsed = (
            object_id(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
        )
        if parsed is None:
            raise self._unexpected(what)
        return parsed

    def _unexpected(self, what: str) -> SourceError:
        return SourceError(
            f"Cumulocity at {self.client.base_url} answered {what} without the documents' ids."
        )
