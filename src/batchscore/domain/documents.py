"""Cumulocity documents (managed objects, measurements, alarms, events): the checks they share.

A document is a JSON object of fields the platform owns (``id``, ``source``, ``time``, ...) and
*fragments*: every other top-level key, with any JSON value. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from batchscore.domain.timefmt import in_supported_range, parse_instant
from batchscore.errors import Invalid

MAX_NAME = 255
MAX_TEXT = 10_000
MAX_MESSAGES = 20
# Cumulocity's naming rule for fragments and series: no dots (they separate paths) and none of
# the characters its query language and graphs treat specially.
_FORBIDDEN_IN_NAMES = frozenset(" \t\r\n.,*[]()@$'\"")
_DOUBLE_BITS = 1024  # integers of more bits overflow a 64-bit float


def valid_name(name: str) -> bool:
    """Fragment and series names: 1 to 255 characters, none of ``. , * [ ] ( ) @ $``, quotes or
    whitespace."""
    return 0 < len(name) <= MAX_NAME and not any(c in _FORBIDDEN_IN_NAMES for c in name)


def limit_messages(errors: list[str]) -> list[str]:
    """At most MAX_MESSAGES messages, so a bad 10,000-item collection gets a readable answer."""
    if len(errors) <= MAX_MESSAGES:
        return errors
    return [*errors[:MAX_MESSAGES], f"... and {len(errors) - MAX_MESSAGES} more problems."]


def non_finite_path(document: Any, root: str = "") -> str | None:
    """The path of the first number in ``document`` that no finite 64-bit float holds (NaN,
    Infinity, a literal like ``1e400`` read as Infinity, an integer of 400 digits), or None.
    Nothing stores or answers such a number."""
    stack: list[tuple[str, Any]] = [(root, document)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "value"
        if isinstance(item, int) and item.bit_length() > _DOUBLE_BITS:  # no double holds it
            return path or "value"
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
    return None


def fragments_of(
    body: Mapping[str, Any], owned: Iterable[str], label: str, errors: list[str]
) -> dict[str, Any]:
    """The fragments of a document (every key not in ``owned``), in the order sent; a bad name or
    a non-finite number is added to ``errors``."""
    owned_keys = frozenset(owned)
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in owned_keys:
            continue
        if not valid_name(key):
            errors.append(f"{label}{key[:80]!r}: is not a valid fragment name.")
            continue
        bad = non_finite_path(value, key)
        if bad is not None:
            errors.append(f"{label}{bad[:120]}: must be a finite number.")
            continue
        out[key] = value
    return out


def source_id(source: Any, label: str, errors: list[str]) -> int | None:
    """The managed object id of ``{"id": "<id>"}``; a missing or malformed one goes to ``errors``
    (a well-formed id of no object is the caller's to find)."""
    ref = source.get("id") if isinstance(source, dict) else None
    parsed = object_id(ref) if isinstance(ref, str | int) and not isinstance(ref, bool) else None
    if parsed is None:
        shown = f" {str(ref)[:40]!r} is not a managed object id;" if ref is not None else ""
        errors.append(f'{label}source:{shown} {{"id": "<managed object id>"}} is required.')
    return parsed


def whole_number(text: str, max_digits: int = 18) -> int | None:
    """``text`` as a non-negative integer of at most ``max_digits`` ASCII digits, else None
    (``str.isdigit`` alone also accepts digits such as "²" that ``int`` refuses)."""
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None


def object_id(text: str | int) -> int | None:
    """Managed object (and measurement, alarm, event) ids are positive 63-bit integers; anything
    else names no object."""
    if isinstance(text, int):
        return text if 0 < text < 2**63 else None
    value = whole_number(text)
    return value if value else None


def time_of(value: Any, label: str, errors: list[str], field: str = "time") -> datetime | None:
    """A required ISO-8601 instant with a UTC offset in [1970, 2100); problems go to ``errors``."""
    if value is None:
        errors.append(f"{label}{field}: is required (ISO-8601 with a UTC offset).")
        return None
    try:
        instant = parse_instant(value)
    except (ValueError, TypeError):
        errors.append(f"{label}{field}: {str(value)[:64]!r} is not ISO-8601 with a UTC offset.")
        return None
    if not in_supported_range(instant):
        errors.append(f"{label}{field}: must lie in [1970-01-01, 2100-01-01) UTC.")
        return None
    return instant.astimezone(UTC)


def text_of(
    value: Any, label: str, field: str, errors: list[str], *, limit: int = MAX_NAME
) -> str | None:
    """A required non-empty string of at most ``limit`` characters."""
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        errors.append(f"{label}{field}: a string of 1 to {limit} characters is required.")
        return None
    return value


def raise_collected(errors: list[str]) -> None:
    """Raise one ``Invalid`` naming every problem, if there is any."""
    if errors:
        raise Invalid.collect(limit_messages(errors))
