"""The PlatformWriter of the embedded store: the same use cases as the REST API (source checks,
alarm de-duplication, fragment budget), called directly."""

from __future__ import annotations

from collections.abc import Sequence

from batchscore.domain.alarms import NewAlarm
from batchscore.domain.events import NewEvent
from batchscore.domain.measurements import NewMeasurement
from batchscore.service.alarms import AlarmService
from batchscore.service.events import EventService
from batchscore.service.measurements import MeasurementService
from batchscore.sources.writer import RaisedAlarm


class EmbeddedWriter:
    """Writes into this service's own store (see ``sources.writer.PlatformWriter``)."""

    def __init__(
        self, measurements: MeasurementService, alarms: AlarmService, events: EventService
    ) -> None:
        self.measurements = measurements
        self.alarms = alarms
        self.events = events

    def create_measurements(self, tenant: str, items: Sequence[NewMeasurement]) -> list[int]:
        return [m.id for m in self.measurements.create_many(tenant, items)]

    def raise_alarm(self, tenant: str, alarm: NewAlarm) -> RaisedAlarm:
        stored, _ = self.alarms.raise_alarm(tenant, alarm)
        return RaisedAlarm(stored.id, stored.count)

    def clear_alarms(self, tenant: str, source: int, type_: str) -> int:
        return self.alarms.clear(tenant, source, type_)

    def create_event(self, tenant: str, event: NewEvent) -> int:
        return self.events.record(tenant, event).id
