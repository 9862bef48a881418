"""PMML's date and time types as numbers inside the plan.

Every temporal value is a float64 count: ``date`` days since 1970-01-01, ``dateTime`` seconds
since 1970-01-01T00:00:00, ``time`` seconds since midnight, and the PMML 4.4 counting types
(``dateDaysSince[Y]``, ``dateTimeSecondsSince[Y]``, ``timeSeconds``) their own count since
January 1st of year Y (0, 1960, 1970 or 1980). So comparisons, ``isIn`` and tree splits work on
them as on numbers, and converting between two temporal types is a shift of the epoch.
Date-times carry no time zone (an offset in the input is converted to UTC first).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

F64: TypeAlias = npt.NDArray[np.float64]

DAY = 86400.0
_COUNTING = re.compile(r"^(dateDaysSince|dateTimeSecondsSince)\[(0|1960|1970|1980)\]$")
PLAIN_TYPES = frozenset({"date", "dateTime", "time"})
COUNTING_TYPES = frozenset(
    {f"dateDaysSince[{y}]" for y in (0, 1960, 1970, 1980)}
    | {f"dateTimeSecondsSince[{y}]" for y in (0, 1960, 1970, 1980)}
    | {"timeSeconds"}
)
TEMPORAL_TYPES = PLAIN_TYPES | COUNTING_TYPES


def is_temporal(data_type: str) -> bool:
    return data_type in TEMPORAL_TYPES


def epoch_days(year: int) -> int:
    """Days from 1970-01-01 to January 1st of ``year`` (proleptic Gregorian, year 0 allowed)."""
    y = year - 1  # days_from_civil for January 1st, as in Hinnant's algorithm
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = 306  # March 1st-based day of year of January 1st
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _unit(data_type: str) -> tuple[str, float]:
    """The kind (``date``, ``dateTime``, ``time``) and the epoch offset of ``data_type``, in its
    own unit (days for dates, seconds otherwise), relative to 1970 (or midnight)."""
    if data_type in ("time", "timeSeconds"):
        return "time", 0.0
    if data_type == "date":
        return "date", 0.0
    if data_type == "dateTime":
        return "dateTime", 0.0
    match = _COUNTING.match(data_type)
    if match is None:
        raise ValueError(data_type)
    year = int(match.group(2))
    if match.group(1) == "dateDaysSince":
        return "date", float(epoch_days(year))
    return "dateTime", epoch_days(year) * DAY


def parse(data_type: str, text: str) -> float:
    """A temporal literal as the plan's number; ValueError if unreadable.

    ISO 8601 text is read for every type (``2021-03-04``, ``2021-03-04T05:06:07``,
    ``05:06:07``); the counting types also take their count itself (``18000``).
    """
    kind, offset = _unit(data_type)
    text = text.strip()
    if data_type in COUNTING_TYPES:
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    if kind == "time":
        moment = dt.time.fromisoformat(text)
        return (
            moment.hour * 3600.0 + moment.minute * 60.0 + moment.second + moment.microsecond / 1e6
        )
    if kind == "date":
        if "T" in text or " " in text.strip():
            day = dt.datetime.fromisoformat(text).date()
        else:
            day = dt.date.fromisoformat(text)
        return float(day.toordinal() - _ORDINAL_1970) - offset
    stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    days = stamp.date().toordinal() - _ORDINAL_1970
    seconds = _seconds_of_day(stamp.hour, stamp.minute, stamp.second, stamp.microsecond)
    return days * DAY + seconds - offset


def _seconds_of_day(hour: int, minute: int, second: int, microsecond: int) -> float:
    return hour * 3600.0 + minute * 60.0 + second + microsecond / 1e6


_ORDINAL_1970 = dt.date(1970, 1, 1).toordinal()


def format_value(data_type: str, value: float) -> str:
    """The ISO text of a plain temporal value (``date``, ``dateTime``, ``time``)."""
    kind, _ = _unit(data_type)
    if kind == "time":
        whole = int(value)
        return dt.time(whole // 3600 % 24, whole // 60 % 60, whole % 60).isoformat()
    if kind == "date":
        return (dt.date(1970, 1, 1) + dt.timedelta(days=int(value))).isoformat()
    return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=value)).isoformat()


def convert(source: str, target: str, column: F64) -> F64:
    """Values of temporal type ``source`` as ``target`` (a shift of epoch, or a change between
    days and seconds); a date-time becomes a date by dropping its time of day."""
    kind_from, offset_from = _unit(source)
    kind_to, offset_to = _unit(target)
    if (kind_from, offset_from) == (kind_to, offset_to):
        return column
    if kind_from == "time" or kind_to == "time":
        if kind_from == kind_to:
            return column
        if kind_from == "dateTime":
            return np.mod(column + offset_from, DAY)
        raise ValueError(f"cannot convert {source} to {target}")
    absolute = column + offset_from
    if kind_from == "date" and kind_to == "dateTime":
        absolute = absolute * DAY
    elif kind_from == "dateTime" and kind_to == "date":
        absolute = np.floor(absolute / DAY)
    return np.asarray(absolute - offset_to, dtype=np.float64)


def days_since_year(source: str, column: F64, year: float) -> F64:
    """PMML ``dateDaysSinceYear``: whole days from January 1st of ``year`` to the date."""
    days = convert(source, "date", column)
    return np.asarray(days - epoch_days(int(year)), dtype=np.float64)


def seconds_since_year(source: str, column: F64, year: float) -> F64:
    """PMML ``dateSecondsSinceYear``: seconds from January 1st of ``year`` (a date counts from
    its midnight)."""
    seconds = convert(source, "dateTime", column)
    return np.asarray(seconds - epoch_days(int(year)) * DAY, dtype=np.float64)


def seconds_since_midnight(source: str, column: F64) -> F64:
    """PMML ``dateSecondsSinceMidnight``: the seconds of the time of day."""
    kind, _ = _unit(source)
    if kind == "time":
        return column
    return convert(source, "time", column)
