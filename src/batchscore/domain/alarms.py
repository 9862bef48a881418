"""Alarms, Cumulocity style: severities, the status lifecycle, body parsing. No I/O.

An alarm is ``{"source": {"id"}, "type", "time", "text", "severity", "status"}`` plus custom
fragments. While an ACTIVE or ACKNOWLEDGED alarm of a source and type exists, raising another one
counts it up (``count``, ``time`` and ``text`` follow the newest) instead of adding an alarm; a
CLEARED alarm is history and is never counted up. ``firstOccurrenceTime`` keeps the first time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from batchscore.domain.documents import (
    MAX_TEXT,
    fragments_of,
    raise_collected,
    source_id,
    text_of,
    time_of,
)
from batchscore.domain.measurements import to_ns
from batchscore.errors import Invalid

OWNED_FIELDS = frozenset(
    {
        "id",
        "self",
        "source",
        "type",
        "time",
        "text",
        "severity",
        "status",
        "count",
        "firstOccurrenceTime",
        "creationTime",
        "lastUpdated",
        "history",
    }
)
E = TypeVar("E", bound=enum.StrEnum)


class Severity(enum.StrEnum):
    CRITICAL = "CRITICAL"
    MAJOR = "MAJOR"
    MINOR = "MINOR"
    WARNING = "WARNING"


class AlarmStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    CLEARED = "CLEARED"

    @property
    def is_open(self) -> bool:
        """Open alarms (ACTIVE, ACKNOWLEDGED) are the ones a new alarm is counted into."""
        return self is not AlarmStatus.CLEARED


@dataclass(frozen=True, slots=True)
class NewAlarm:
    source: int
    type: str
    time_ns: int
    text: str
    severity: Severity
    status: AlarmStatus = AlarmStatus.ACTIVE
    fragments: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    id: int
    source: int
    type: str
    time_ns: int
    first_ns: int
    text: str
    severity: Severity
    status: AlarmStatus
    count: int
    created_at: datetime
    updated_at: datetime
    fragments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """A PUT: new text, severity or status, and fragments (``None`` removes one)."""

    text: str | None = None
    severity: Severity | None = None
    status: AlarmStatus | None = None
    fragments: dict[str, Any] | None = None


def parse_alarm(body: Any) -> NewAlarm:
    """Validate the body of a POST; raise ``Invalid`` naming every problem."""
    if not isinstance(body, dict):
        raise Invalid("The alarm must be a JSON object.")
    errors: list[str] = []
    source = source_id(body.get("source"), "", errors)
    instant = time_of(body.get("time"), "", errors)
    type_ = text_of(body.get("type"), "", "type", errors)
    text = text_of(body.get("text"), "", "text", errors, limit=MAX_TEXT)
    severity = _enum(Severity, body.get("severity"), "severity", errors, required=True)
    status = _enum(AlarmStatus, body.get("status"), "status", errors) or AlarmStatus.ACTIVE
    fragments = fragments_of(body, OWNED_FIELDS, "", errors)
    raise_collected(errors)
    assert source is not None
    assert instant is not None
    assert type_ is not None
    assert text is not None
    assert severity is not None
    return NewAlarm(source, type_, to_ns(instant), text, severity, status, fragments)


def parse_change(body: Any, current: Alarm) -> AlarmChange:
    """Validate the body of a PUT of ``current``: text, severity, status and custom fragments may
    change; source, type and time may only be echoed unchanged."""
    if not isinstance(body, dict):
        raise Invalid("The alarm must be a JSON object.")
    errors: list[str] = []
    check_fixed(body, current.source, current.type, current.time_ns, errors)
    text = None
    if "text" in body:
        text = text_of(body["text"], "", "text", errors, limit=MAX_TEXT)
    severity = _enum(Severity, body.get("severity"), "severity", errors)
    status = _enum(AlarmStatus, body.get("status"), "status", errors)
    fragments = fragments_of(body, OWNED_FIELDS, "", errors)
    raise_collected(errors)
    return AlarmChange(text, severity, status, fragments)


def parse_bulk_change(body: Any) -> AlarmStatus:
    """The body of a PUT of a collection: only ``status`` may change (as in Cumulocity)."""
    if not isinstance(body, dict):
        raise Invalid("The alarm must be a JSON object.")
    errors: list[str] = []
    others = sorted(k for k in body if k != "status")
    if others:
        errors.append(
            f"{', '.join(o[:40] for o in others[:5])}: only status can be changed in bulk."
        )
    status = _enum(AlarmStatus, body.get("status"), "status", errors, required=True)
    raise_collected(errors)
    assert status is not None
    return status


def check_fixed(
    body: dict[str, Any], source: int, type_: str, time_ns: int, errors: list[str]
) -> None:
    """Source, type and time of an alarm or event cannot change; echoing them is fine."""
    scratch: list[str] = []
    if "source" in body and source_id(body["source"], "", scratch) != source:
        errors.append("source: cannot be changed.")
    if "type" in body and body["type"] != type_:
        errors.append("type: cannot be changed.")
    if "time" in body:
        instant = time_of(body["time"], "", scratch)
        if instant is None or to_ns(instant) != time_ns:
            errors.append("time: cannot be changed.")


def _enum(
    kind: type[E], value: Any, field: str, errors: list[str], *, required: bool = False
) -> E | None:
    if value is None and not required:
        return None
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(m.value for m in kind)
        errors.append(f"{field}: must be one of {names}.")
        return None
