"""Measurements in Cumulocity's JSON shape: validated documents and their series, no I/O.

A measurement is ``{"source": {"id"}, "time", "type", <fragments>}``. Any fragment is accepted and
kept as sent; a ``{"value": <number>}`` leaf two levels down (``fragment.series``) is also a
*series value*, which jobs map and the series API aggregates. Parsing collects every problem
(naming the measurement and the field) so a client fixes a rejected collection in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from batchscore.domain.documents import (
    MAX_NAME,
    fragments_of,
    limit_messages,
    raise_collected,
    source_id,
    text_of,
    time_of,
    valid_name,
)
from batchscore.errors import Invalid

# Fields the server owns or reads itself; every other top-level key is a fragment.
OWNED_FIELDS = frozenset({"id", "self", "source", "time", "type"})
MAX_UNIT = 32
MAX_MEASUREMENTS = 10_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)  # UTC without its zone: for formatting only
_MICRO = timedelta(microseconds=1)

__all__ = ["MAX_NAME", "limit_messages", "valid_name"]


@dataclass(frozen=True, slots=True)
class SeriesValue:
    """One value of one ``fragment.series``."""

    fragment: str
    series: str
    value: float
    unit: str | None


@dataclass(frozen=True, slots=True)
class NewMeasurement:
    """A measurement to store: its source, instant, type, every fragment as sent, and the series
    values found in them."""

    source: int
    time_ns: int
    type: str
    fragments: dict[str, Any]
    values: tuple[SeriesValue, ...]


@dataclass(frozen=True, slots=True)
class StoredMeasurement:
    """A measurement as stored: its id (never reused), source, instant, type and fragments."""

    id: int
    source: int
    time_ns: int
    type: str
    fragments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RawMeasurement:
    """A stored measurement with its fragments as the JSON text in the database."""

    id: int
    device_id: int
    time_ns: int
    type: str
    fragments_json: str


def to_ns(instant: datetime) -> int:
    """Epoch nanoseconds of an aware datetime, exactly (datetimes carry microseconds)."""
    return (instant - _EPOCH) // _MICRO * 1000


def from_ns(time_ns: int) -> datetime:
    """The aware UTC datetime of epoch nanoseconds (sub-microsecond digits are dropped)."""
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


def format_time(time_ns: int) -> str:
    """Cumulocity's ``2026-01-14T12:00:00.000Z``; microseconds only when they are not zero."""
    naive = _NAIVE_EPOCH + timedelta(microseconds=time_ns // 1000)
    spec = "milliseconds" if naive.microsecond % 1000 == 0 else "microseconds"
    return naive.isoformat(timespec=spec) + "Z"


def parse_measurements(body: Any) -> tuple[list[NewMeasurement], bool]:
    """Validate one measurement or a ``{"measurements": [...]}`` collection.

    Returns the measurements and whether the body was a collection; raises ``Invalid`` listing
    every problem found.
    """
    if not isinstance(body, dict):
        raise Invalid("The measurement must be a JSON object.")
    items = body.get("measurements")
    is_collection = "measurements" in body and not _looks_like_measurement(body)
    if not is_collection:
        items = [body]
    elif not isinstance(items, list):
        raise Invalid("measurements must be a list of measurement objects.")
    elif len(items) > MAX_MEASUREMENTS:
        raise Invalid(f"A collection holds at most {MAX_MEASUREMENTS} measurements.")
    errors: list[str] = []
    parsed: list[NewMeasurement] = []
    for index, item in enumerate(items):
        label = f"measurements[{index}]." if is_collection else ""
        found = parse_measurement(item, label, errors)
        if found is not None:
            parsed.append(found)
    if is_collection and not items:
        errors.append("measurements must not be empty.")
    raise_collected(errors)
    return parsed, is_collection


def _looks_like_measurement(body: dict[str, Any]) -> bool:
    return "source" in body or "time" in body


def parse_measurement(item: Any, label: str, errors: list[str]) -> NewMeasurement | None:
    """One measurement, or None with its problems added to ``errors`` (prefixed by ``label``)."""
    where = label.rstrip(".") or "measurement"
    if not isinstance(item, dict):
        errors.append(f"{where}: must be a JSON object.")
        return None
    before = len(errors)
    source = source_id(item.get("source"), label, errors)
    instant = time_of(item.get("time"), label, errors)
    type_ = text_of(item.get("type"), label, "type", errors)
    fragments = fragments_of(item, OWNED_FIELDS, label, errors)
    values = series_values(fragments, label, errors)
    if len(errors) > before or source is None or instant is None or type_ is None:
        return None
    return NewMeasurement(source, to_ns(instant), type_, fragments, values)


def series_values(
    fragments: dict[str, Any], label: str, errors: list[str]
) -> tuple[SeriesValue, ...]:
    """The ``{"value": <number>}`` leaves of ``fragments`` as series values. A leaf whose series
    name or unit cannot be a series is an error; other shapes (text values, nested objects,
    flags) are fragments like any other and no series."""
    out: list[SeriesValue] = []
    for fragment, body in fragments.items():
        if not isinstance(body, dict):
            continue
        for series, entry in body.items():
            value = _number(entry.get("value")) if isinstance(entry, dict) else None
            if value is None:
                continue
            path = f"{label}{fragment}.{series[:80]}"
            if not valid_name(series):
                errors.append(f"{label}{fragment}.{series[:80]!r}: is not a valid series name.")
                continue
            unit = entry.get("unit")
            if unit is not None and (not isinstance(unit, str) or len(unit) > MAX_UNIT):
                errors.append(f"{path}.unit: must be a string of at most {MAX_UNIT} characters.")
                continue
            out.append(SeriesValue(fragment, series, value, unit))
    return tuple(out)


def _number(raw: Any) -> float | None:
    """A JSON number as a float (booleans are no numbers); non-finite numbers never get here."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        return float(raw)
    except OverflowError:  # an integer beyond float range is no value a series can hold
        return None
