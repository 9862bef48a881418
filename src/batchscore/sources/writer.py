"""The port through which effects of jobs are written back (design §2.9), declared and documented
once: measurements, alarms and events go to the place the job reads from, the embedded store or
a Cumulocity tenant, through the same Cumulocity-shaped calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from batchscore.domain.alarms import NewAlarm
from batchscore.domain.events import NewEvent
from batchscore.domain.measurements import NewMeasurement


@dataclass(frozen=True, slots=True)
class RaisedAlarm:
    """The alarm a raise ended in: a new one (``count`` 1) or an open one counted up."""

    id: int
    count: int

    @property
    def is_new(self) -> bool:
        return self.count == 1


class PlatformWriter(Protocol):
    """Writes Cumulocity documents for a tenant. The embedded store and a remote tenant both
    implement it, with Cumulocity's semantics: every measurement is stored, an alarm is counted
    into an open (ACTIVE or ACKNOWLEDGED) alarm of the same source and type."""

    def create_measurements(self, tenant: str, items: Sequence[NewMeasurement]) -> list[int]:
        """Store the measurements (all or nothing where the target allows it); their ids, in
        order. Raises ``Invalid`` for a source that is no managed object, ``SourceError`` when
        a remote tenant cannot be written."""
        ...

    def raise_alarm(self, tenant: str, alarm: NewAlarm) -> RaisedAlarm:
        """Raise ``alarm`` (or count up the open one of its source and type)."""
        ...

    def clear_alarms(self, tenant: str, source: int, type_: str) -> int:
        """Clear the open alarms of ``source`` and ``type_``; how many were cleared."""
        ...

    def create_event(self, tenant: str, event: NewEvent) -> int:
        """Store ``event``; its id."""
        ...
