"""What a listing or a bulk delete of documents (measurements, alarms, events) restricts to:
built by the API from the query string, turned into SQL conditions by the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from batchscore.domain.alarms import AlarmStatus, Severity
from batchscore.domain.inventory import Hierarchy


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    """``None`` means no restriction. Times are ``[start_ns, end_ns)``; ``below`` adds the
    objects below ``source`` in those hierarchies (``withSourceAssets``/``withSourceDevices``)."""

    source: int | None = None
    below: tuple[Hierarchy, ...] = ()
    types: tuple[str, ...] | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    fragment: str | None = None
    fragment_value: str | None = None


@dataclass(frozen=True, slots=True)
class AlarmFilter(DocumentFilter):
    """Alarm filters beyond those of every document; ``None`` means no restriction."""

    statuses: tuple[AlarmStatus, ...] | None = None
    severities: tuple[Severity, ...] | None = None


EventFilter = DocumentFilter
"""Events are filtered by what every document has."""


@dataclass(frozen=True, slots=True)
class MeasurementFilter:
    """The list and delete filters; ``None`` means no restriction. Times are
    ``[start_ns, end_ns)``."""

    device_id: int | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    fragment: str | None = None
    series: str | None = None
    type: str | None = None
