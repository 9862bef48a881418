"""Events, Cumulocity style: ``{"source": {"id"}, "type", "time", "text"}`` plus custom
fragments. Body parsing, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchscore.domain.alarms import check_fixed
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
    {"id", "self", "source", "type", "time", "text", "creationTime", "lastUpdated"}
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    source: int
    type: str
    time_ns: int
    text: str
    fragments: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    source: int
    type: str
    time_ns: int
    text: str
    created_at: datetime
    updated_at: datetime
    fragments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventChange:
    """A PUT: a new text and fragments (``None`` removes one)."""

    text: str | None
    fragments: dict[str, Any]


def parse_event(body: Any) -> NewEvent:
    """Validate the body of a POST; raise ``Invalid`` naming every problem."""
    if not isinstance(body, dict):
        raise Invalid("The event must be a JSON object.")
    errors: list[str] = []
    source = source_id(body.get("source"), "", errors)
    instant = time_of(body.get("time"), "", errors)
    type_ = text_of(body.get("type"), "", "type", errors)
    text = text_of(body.get("text"), "", "text", errors, limit=MAX_TEXT)
    fragments = fragments_of(body, OWNED_FIELDS, "", errors)
    raise_collected(errors)
    assert source is not None
    assert instant is not None
    assert type_ is not None
    assert text is not None
    return NewEvent(source, type_, to_ns(instant), text, fragments)


def parse_change(body: Any, current: Event) -> EventChange:
    """Validate the body of a PUT of ``current``: only the text and custom fragments change;
    source, type and time may only be echoed unchanged (as Cumulocity)."""
    if not isinstance(body, dict):
        raise Invalid("The event must be a JSON object.")
    errors: list[str] = []
    check_fixed(body, current.source, current.type, current.time_ns, errors)
    text = text_of(body["text"], "", "text", errors, limit=MAX_TEXT) if "text" in body else None
    fragments = fragments_of(body, OWNED_FIELDS, "", errors)
    raise_collected(errors)
    return EventChange(text, fragments)
