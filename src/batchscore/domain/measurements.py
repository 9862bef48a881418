"""Measurements in Cumulocity's JSON shape: validated values, no I/O.

A measurement is ``{"source": {"id"}, "time", "type", "<fragment>": {"<series>": {"value",
"unit"}}}``. Parsing collects every problem (naming the measurement and the field) so a client
fixes a rejected collection in one round trip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from batchscore.domain.timefmt import in_supported_range, parse_instant
from batchscore.errors import Invalid

# Fields the server owns or reads itself; every other top-level key is a fragment.
RESERVED_FIELDS = frozenset({"id", "self", "source", "time", "type"})
MAX_NAME = 255
MAX_UNIT = 32
MAX_MEASUREMENTS = 10_000
MAX_MESSAGES = 20

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SeriesValue:
    """One value of one ``fragment.series``."""

    fragment: str
    series: str
    value: float
    unit: str | None


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement of one source at one instant; ``source`` is the id as the client sent it."""

    source: str
    time_ns: int
    type: str
    values: tuple[SeriesValue, ...]


def to_ns(instant: datetime) -> int:
    """Epoch nanoseconds of an aware datetime, exactly (datetimes carry microseconds)."""
    return (instant - _EPOCH) // _MICRO * 1000


def from_ns(time_ns: int) -> datetime:
    """The aware UTC datetime of epoch nanoseconds (sub-microsecond digits are dropped)."""
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


def format_time(time_ns: int) -> str:
    """Cumulocity's ``2026-01-14T12:00:00.000Z``; microseconds only when they are not zero."""
    instant = from_ns(time_ns)
    base = instant.strftime("%Y-%m-%dT%H:%M:%S")
    micros = instant.microsecond
    fraction = f"{micros // 1000:03d}" if micros % 1000 == 0 else f"{micros:06d}"
    return f"{base}.{fraction}Z"


def valid_name(name: str) -> bool:
    """Fragment and series names are non-empty, dot-free (dots separate paths) and bounded."""
    return 0 < len(name) <= MAX_NAME and "." not in name and name == name.strip()


def parse_measurements(body: Any) -> tuple[list[Measurement], bool]:
    """Validate one measurement or a ``{"measurements": [...]}`` collection.

    Returns the measurements and whether the body was a collection; raises ``Invalid`` listing
    every problem found.
    """
    if not isinstance(body, dict):
        raise Invalid("The measurement must be a JSON object.")
    items = body.get("measurements")
    is_collection = "measurements" in body and not _looks_like_measurement(body)
    if not is_collection:
        items, label = [body], ""
    elif not isinstance(items, list):
        raise Invalid("measurements must be a list of measurement objects.")
    elif len(items) > MAX_MEASUREMENTS:
        raise Invalid(f"A collection holds at most {MAX_MEASUREMENTS} measurements.")
    errors: list[str] = []
    parsed: list[Measurement] = []
    for index, item in enumerate(items):
        label = f"measurements[{index}]." if is_collection else ""
        found = _parse_one(item, label, errors)
        if found is not None:
            parsed.append(found)
    if is_collection and not items:
        errors.append("measurements must not be empty.")
    if errors:
        raise Invalid.collect(limit_messages(errors))
    return parsed, is_collection


def limit_messages(errors: list[str]) -> list[str]:
    """At most MAX_MESSAGES messages, so a bad 10,000-item collection gets a readable answer."""
    if len(errors) <= MAX_MESSAGES:
        return errors
    return [*errors[:MAX_MESSAGES], f"... and {len(errors) - MAX_MESSAGES} more problems."]


def _looks_like_measurement(body: dict[str, Any]) -> bool:
    return "source" in body or "time" in body


def _parse_one(item: Any, label: str, errors: list[str]) -> Measurement | None:
    where = label.rstrip(".") or "measurement"
    if not isinstance(item, dict):
        errors.append(f"{where}: must be a JSON object.")
        return None
    before = len(errors)
    source = _source_id(item.get("source"), label, errors)
    time_ns = _time_ns(item.get("time"), label, errors)
    type_ = item.get("type")
    if not isinstance(type_, str) or not 0 < len(type_) <= MAX_NAME:
        errors.append(f"{label}type: a string of 1 to {MAX_NAME} characters is required.")
    values = _values(item, label, where, errors)
    if len(errors) > before:
        return None
    assert source is not None
    assert time_ns is not None
    assert isinstance(type_, str)
    return Measurement(source=source, time_ns=time_ns, type=type_, values=values)


def _source_id(source: Any, label: str, errors: list[str]) -> str | None:
    ref = source.get("id") if isinstance(source, dict) else None
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref:
        errors.append(f'{label}source: {{"id": "<managed object id>"}} is required.')
        return None
    return ref


def _time_ns(text: Any, label: str, errors: list[str]) -> int | None:
    if text is None:
        errors.append(f"{label}time: is required (ISO-8601 with a UTC offset).")
        return None
    try:
        instant = parse_instant(text)
    except (ValueError, TypeError):
        errors.append(f"{label}time: {str(text)[:64]!r} is not ISO-8601 with a UTC offset.")
        return None
    if not in_supported_range(instant):
        errors.append(f"{label}time: must lie in [1970-01-01, 2100-01-01) UTC.")
        return None
    return to_ns(instant)


def _values(
    item: dict[str, Any], label: str, where: str, errors: list[str]
) -> tuple[SeriesValue, ...]:
    out: list[SeriesValue] = []
    fragments = [(k, v) for k, v in item.items() if k not in RESERVED_FIELDS]
    if not fragments:
        errors.append(f"{where}: at least one fragment with a series value is required.")
    for fragment, series_map in fragments:
        if not valid_name(fragment):
            errors.append(f"{label}{fragment[:80]!r}: is not a valid fragment name.")
            continue
        if not isinstance(series_map, dict) or not series_map:
            errors.append(f"{label}{fragment}: must be an object of series.")
            continue
        for series, entry in series_map.items():
            path = f"{label}{fragment}.{series[:80]}"
            if not valid_name(series):
                errors.append(f"{label}{fragment}.{series[:80]!r}: is not a valid series name.")
                continue
            value = _value(entry, path, errors)
            unit = entry.get("unit") if isinstance(entry, dict) else None
            if unit is not None and (not isinstance(unit, str) or len(unit) > MAX_UNIT):
                errors.append(f"{path}.unit: must be a string of at most {MAX_UNIT} characters.")
                continue
            if value is not None:
                out.append(SeriesValue(fragment, series, value, unit))
    return tuple(out)


def _value(entry: Any, path: str, errors: list[str]) -> float | None:
    raw = entry.get("value") if isinstance(entry, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        errors.append(f'{path}.value: a number is required (as {{"value": 1.5}}).')
        return None
    try:
        value = float(raw)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        errors.append(f"{path}.value: must be a finite number.")
        return None
    return value
