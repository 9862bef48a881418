"""Which wall-clock date-times a cron expression matches, without any time zone. Pure.

The search walks field by field from the largest unit down (year, month, day, hour, minute,
second), jumping straight to the next allowed value with a bit trick, so one step costs a few
integer operations whatever the expression, and the whole search stops after year 2099.
"""

from __future__ import annotations

from datetime import date, datetime

from batchscore.scheduling.cron_parse import FIRST_YEAR, LAST_YEAR, CronExpression

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SATURDAY = 7
_SUNDAY = 1
# Bits 0, 7, 14, 21, 28: shifted by a first day, every such weekday in a month.
_WEEKLY = sum(1 << (7 * week) for week in range(5))


def next_match(expr: CronExpression, start: datetime) -> datetime | None:
    """The earliest naive wall-clock time at or after ``start`` (whole seconds) that matches."""
    year, month, day = start.year, start.month, start.day
    hour, minute, second = start.hour, start.minute, start.second
    if year < FIRST_YEAR:
        year, month, day, hour, minute, second = FIRST_YEAR, 1, 1, 0, 0, 0
    # Each `continue` below moves to a later candidate, and a value past its field's end (day 32,
    # hour 24, ...) finds no allowed bit and carries into the next larger unit.
    while True:
        found = _next_bit(expr.years, year - FIRST_YEAR)
        if found < 0:
            return None
        if found + FIRST_YEAR != year:
            year, month, day, hour, minute, second = found + FIRST_YEAR, 1, 1, 0, 0, 0
        found = _next_bit(expr.months, month)
        if found < 0:
            year, month, day, hour, minute, second = year + 1, 1, 1, 0, 0, 0
            continue
        if found != month:
            month, day, hour, minute, second = found, 1, 0, 0, 0
        found = _next_bit(day_mask(expr, year, month), day)
        if found < 0:
            month, day, hour, minute, second = month + 1, 1, 0, 0, 0
            continue
        if found != day:
            day, hour, minute, second = found, 0, 0, 0
        found = _next_bit(expr.hours, hour)
        if found < 0:
            day, hour, minute, second = day + 1, 0, 0, 0
            continue
        if found != hour:
            hour, minute, second = found, 0, 0
        found = _next_bit(expr.minutes, minute)
        if found < 0:
            hour, minute, second = hour + 1, 0, 0
            continue
        if found != minute:
            minute, second = found, 0
        found = _next_bit(expr.seconds, second)
        if found < 0:
            minute, second = minute + 1, 0
            continue
        return datetime(year, month, day, hour, minute, found)


def matches(expr: CronExpression, wall: datetime) -> bool:
    """Whether the wall-clock fields of ``wall`` (its zone ignored) satisfy the expression."""
    return (
        wall.microsecond == 0
        and FIRST_YEAR <= wall.year <= LAST_YEAR
        and _has_bit(expr.years, wall.year - FIRST_YEAR)
        and _has_bit(expr.months, wall.month)
        and _has_bit(day_mask(expr, wall.year, wall.month), wall.day)
        and _has_bit(expr.hours, wall.hour)
        and _has_bit(expr.minutes, wall.minute)
        and _has_bit(expr.seconds, wall.second)
    )


def day_mask(expr: CronExpression, year: int, month: int) -> int:
    """The days of one month that the day-of-month or day-of-week rule allows, as a bitmask."""
    length = month_length(year, month)
    valid = (1 << (length + 1)) - 2
    dom = expr.day_of_month
    if dom is not None:
        mask = dom.days & valid
        if dom.last_offsets or dom.nearest_weekdays or dom.last_weekday_offsets:
            first = _weekday_of_first(year, month)
            for offset in dom.last_offsets:
                if length - offset >= 1:
                    mask |= 1 << (length - offset)
            for target in dom.nearest_weekdays:
                if target <= length:  # Quartz: `31W` does not fire in shorter months
                    mask |= 1 << _nearest_weekday(target, length, first)
            for offset in dom.last_weekday_offsets:
                if length - offset >= 1:
                    mask |= 1 << _nearest_weekday(length - offset, length, first)
        return mask
    dow = expr.day_of_week
    assert dow is not None  # the parser guarantees exactly one day rule
    first = _weekday_of_first(year, month)
    mask = 0
    for weekday in range(1, 8):
        if dow.weekdays >> weekday & 1:
            mask |= _WEEKLY << (1 + (weekday - first) % 7)
    mask &= valid
    if dow.last:
        return 1 << (mask.bit_length() - 1)
    if dow.nth:
        for _ in range(dow.nth - 1):
            mask &= mask - 1  # drop the earliest occurrence
        return mask & -mask
    return mask


def month_length(year: int, month: int) -> int:
    """Number of days in the month (Gregorian)."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month]


def _weekday_of_first(year: int, month: int) -> int:
    """Quartz weekday (1 = Sunday ... 7 = Saturday) of the first day of the month."""
    return date(year, month, 1).isoweekday() % 7 + 1


def _nearest_weekday(day: int, length: int, first: int) -> int:
    """Quartz `W`: the Monday-Friday day nearest to ``day``, never leaving the month."""
    weekday = (first + day - 2) % 7 + 1
    if weekday == _SATURDAY:
        return day + 2 if day == 1 else day - 1
    if weekday == _SUNDAY:
        return day - 2 if day == length else day + 1
    return day


def _next_bit(mask: int, value: int) -> int:
    """The smallest set bit at or above ``value``, or -1 when there is none."""
    rest = mask >> value
    if not rest:
        return -1
    return value + (rest & -rest).bit_length() - 1


def _has_bit(mask: int, value: int) -> bool:
    return bool(mask >> value & 1)
