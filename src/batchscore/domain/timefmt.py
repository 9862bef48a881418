"""Instants on the wire: the formats the Zementis API uses, and strict ISO-8601 parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def format_millis_z(instant: datetime) -> str:
    """``2019-09-30T15:58:20.749Z``: UTC, always milliseconds (``jobCreationDate``)."""
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_instant_ns(ns: int) -> str:
    """Epoch nanoseconds as ISO-8601 UTC with milliseconds: ``2026-01-14T12:00:01.250Z``."""
    return format_millis_z(EARLIEST + timedelta(microseconds=ns // 1000))


def format_instant(instant: datetime) -> str:
    """Java ``Instant.toString()`` at millisecond precision: ``...:15Z`` or ``...:19.051Z``."""
    utc = instant.astimezone(UTC)
    millis = utc.microsecond // 1000
    base = utc.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


def parse_instant(text: str) -> datetime:
    """Parse ISO-8601 with a UTC offset or ``Z``; raise ValueError for anything else."""
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError("not an ISO-8601 instant")
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError("the instant has no UTC offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 lies before datetime.min in UTC
        raise ValueError("the instant is out of range") from None


def in_supported_range(instant: datetime) -> bool:
    """Instants must lie in [1970-01-01, 2100-01-01) UTC (design §2.2)."""
    return EARLIEST <= instant < LATEST


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPACE_FOR_PLUS = re.compile(r"^(\S+T\S+) (\d{2}(?::?\d{2})?)$")


def parse_query_instant(text: str) -> datetime:
    """An instant in a query parameter, as Cumulocity reads one: ISO-8601 with a UTC offset, or a
    date alone (``2026-01-14``, midnight UTC; c8y-api's ``get_last`` sends ``1970-01-01``). A
    ``+`` of the offset that arrived as a space (an unencoded URL) is read as the ``+`` it was."""
    stripped = text.strip() if isinstance(text, str) else text
    if isinstance(stripped, str) and _DATE_ONLY.match(stripped):
        return datetime.fromisoformat(stripped).replace(tzinfo=UTC)
    if isinstance(text, str) and (repaired := _SPACE_FOR_PLUS.match(text)):
        text = f"{repaired[1]}+{repaired[2]}"
    return parse_instant(text)
