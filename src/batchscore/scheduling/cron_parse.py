"""Quartz ``CronExpression`` grammar: text in, an immutable :class:`CronExpression` out. Pure.

Every field is turned into a bitmask of the values it allows (bit ``v`` set = value ``v``
allowed; years are stored as ``year - 1970``), so that matching and searching later are a few
integer operations. The day fields keep their Quartz specials (``L``, ``W``, ``#``) as small
rule objects, because their meaning depends on the month being looked at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TypeVar

from batchscore.errors import CronError

MAX_EXPRESSION_LENGTH = 1024
FIRST_YEAR = 1970
LAST_YEAR = 2099
_MAX_LAST_DAY_OFFSET = 30  # Quartz: "Offset from last day must be <= 30"
_MAX_NTH = 5
_T = TypeVar("_T")

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

# One list element of a plain field: `*`, `*/n`, `/n` (Quartz reads it as `*/n`), `a`, `a/n`,
# `a-b`, `a-b/n`; `a` and `b` are numbers or three-letter names.
_STAR = re.compile(r"\*?/(?P<step>[0-9]+)|\*")
_RANGE = re.compile(
    r"(?P<start>[0-9]+|[A-Z]{3})(?:-(?P<end>[0-9]+|[A-Z]{3}))?(?:/(?P<step>[0-9]+))?"
)
_DOM_LAST = re.compile(r"L(?:-(?P<offset>[0-9]+))?(?P<weekday>W)?")
_DOM_NEAREST_WEEKDAY = re.compile(r"(?P<day>[0-9]+)W")
_DOW_LAST = re.compile(r"(?P<day>[0-9]+|[A-Z]{3})L")
_DOW_NTH = re.compile(r"(?P<day>[0-9]+|[A-Z]{3})#(?P<nth>[0-9]+)")


@dataclass(frozen=True, slots=True)
class DayOfMonthRule:
    """The day-of-month field: listed days plus Quartz's ``L``, ``L-n``, ``nW``, ``LW``."""

    days: int  # bitmask of days 1-31 given as numbers, ranges or steps
    last_offsets: frozenset[int]  # `L` is 0, `L-3` is 3
    nearest_weekdays: frozenset[int]  # `15W` is 15
    last_weekday_offsets: frozenset[int]  # `LW` is 0, `L-3W` is 3


@dataclass(frozen=True, slots=True)
class DayOfWeekRule:
    """The day-of-week field (1 = Sunday ... 7 = Saturday): a set, ``nL`` or ``n#k``."""

    weekdays: int  # bitmask of Quartz weekdays 1-7
    last: bool = False  # `6L`: the last Friday of the month (one weekday only)
    nth: int = 0  # `6#3`: the third Friday of the month (one weekday only)


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed Quartz cron expression; ``text`` is the source as given."""

    text: str
    seconds: int
    minutes: int
    hours: int
    day_of_month: DayOfMonthRule | None  # None: `?`
    months: int
    day_of_week: DayOfWeekRule | None  # None: `?`
    years: int  # bit i = year 1970 + i
    # True when seconds, minutes or hours use `*`, `/` or a range: the schedule repeats within
    # the day, so DST handling follows real instants rather than a named wall-clock time.
    interval: bool


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    max_step: int  # Quartz's increment limits ("Increment > 60", ...)
    names: tuple[str, ...] = ()  # names[0] stands for `low`

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def value(self, token: str) -> int:
        """Turn a number or a name into its value; raise ValueError with a message if invalid."""
        if token.isalpha():
            if token not in self.names:
                raise ValueError(f"{self.name} value '{token}' is not valid")
            return self.low + self.names.index(token)
        number = int(token)
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.name} value {number} is out of range {self.low}-{self.high}")
        return number

    def step(self, token: str) -> int:
        step = int(token)
        if not 1 <= step <= self.max_step:
            raise ValueError(f"{self.name} step {step} is out of range 1-{self.max_step}")
        return step


_SECONDS = _Field("seconds", 0, 59, max_step=59)
_MINUTES = _Field("minutes", 0, 59, max_step=59)
_HOURS = _Field("hours", 0, 23, max_step=23)
_DAY_OF_MONTH = _Field("day-of-month", 1, 31, max_step=31)
_MONTH = _Field("month", 1, 12, max_step=12, names=_MONTH_NAMES)
_DAY_OF_WEEK = _Field("day-of-week", 1, 7, max_step=7, names=_DAY_NAMES)
_YEAR = _Field("year", FIRST_YEAR, LAST_YEAR, max_step=LAST_YEAR - FIRST_YEAR + 1)
# The Quartz specials and the fields they belong to, to say so when one turns up elsewhere.
_SPECIALS = (
    (re.compile(r"L"), (_DAY_OF_MONTH, _DAY_OF_WEEK)),
    (_DOM_LAST, (_DAY_OF_MONTH,)),
    (_DOM_NEAREST_WEEKDAY, (_DAY_OF_MONTH,)),
    (_DOW_LAST, (_DAY_OF_WEEK,)),
    (_DOW_NTH, (_DAY_OF_WEEK,)),
)


@lru_cache(maxsize=4096)
def parse_cron(text: str) -> CronExpression:
    """Parse a Quartz cron expression, raising :class:`CronError` with every problem found.

    Results are cached by text, so a caller may parse a job's expression on every fire.
    """
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise CronError(f"cronExpression: must be at most {MAX_EXPRESSION_LENGTH} characters.")
    parts = text.upper().split()
    if not parts:
        raise CronError("cronExpression: must not be empty.")
    if not 6 <= len(parts) <= 7:
        raise CronError(
            "cronExpression: expected 6 or 7 fields (seconds minutes hours day-of-month month"
            f" day-of-week [year]) but got {len(parts)}."
        )
    if len(parts) == 6:
        parts.append("*")

    errors: list[str] = []
    nothing = _Plain(0, interval=False)  # stands in for a field that failed; errors are raised
    seconds = _attempt(errors, partial(_parse_plain, _SECONDS, parts[0]), nothing)
    minutes = _attempt(errors, partial(_parse_plain, _MINUTES, parts[1]), nothing)
    hours = _attempt(errors, partial(_parse_plain, _HOURS, parts[2]), nothing)
    dom = _attempt(errors, partial(_parse_day_of_month, parts[3]), None)
    months = _attempt(errors, partial(_parse_plain, _MONTH, parts[4]), nothing)
    dow = _attempt(errors, partial(_parse_day_of_week, parts[5]), None)
    years = _attempt(errors, partial(_parse_plain, _YEAR, parts[6]), nothing)
    # Quartz: "Support for specifying both a day-of-week AND a day-of-month parameter is not
    # implemented", and one of them must say something.
    if parts[3] == parts[5] == "?":
        errors.append(
            "cronExpression: day-of-month and day-of-week cannot both be '?';"
            " set exactly one of them to '?'."
        )
    elif "?" not in parts[3] and "?" not in parts[5]:
        errors.append(
            "cronExpression: day-of-month and day-of-week cannot both be given;"
            " set one of them to '?'."
        )
    if errors:
        raise CronError(*errors)
    return CronExpression(
        text=text,
        seconds=seconds.mask,
        minutes=minutes.mask,
        hours=hours.mask,
        day_of_month=dom,
        months=months.mask,
        day_of_week=dow,
        years=years.mask >> FIRST_YEAR,
        interval=seconds.interval or minutes.interval or hours.interval,
    )


@dataclass(frozen=True, slots=True)
class _Plain:
    mask: int
    interval: bool  # written with `*`, `/` or `-`


def _attempt(errors: list[str], parse: Callable[[], _T], fallback: _T) -> _T:
    """Run one field's parser; on failure note its message and go on with the next field."""
    try:
        return parse()
    except ValueError as exc:
        errors.append(f"cronExpression: {exc}.")
        return fallback


def _elements(field: _Field, source: str) -> list[str]:
    elements = source.split(",")
    if any(not element for element in elements):
        raise ValueError(f"{field.name} has an empty value in its list")
    if "?" in source:
        if field not in (_DAY_OF_MONTH, _DAY_OF_WEEK):
            raise ValueError(f"{field.name} cannot be '?'; only day-of-month or day-of-week can")
        if source != "?":
            raise ValueError(f"{field.name} '?' must stand alone")
    return elements


def _parse_plain(field: _Field, source: str) -> _Plain:
    mask = 0
    for element in _elements(field, source):
        mask |= _element_mask(field, element)
    return _Plain(mask, interval=any(char in source for char in "*/-"))


def _element_mask(field: _Field, element: str) -> int:
    """The values of one list element as a bitmask; raise ValueError naming the field."""
    star = _STAR.fullmatch(element)
    if star:
        step = field.step(star["step"]) if star["step"] else 1
        return _stepped(field, field.low, field.high, step)
    match = _RANGE.fullmatch(element)
    if match is None:
        for special, homes in _SPECIALS:
            if special.fullmatch(element) and field not in homes:
                where = " or ".join(home.name for home in homes)
                raise ValueError(f"{field.name} cannot use '{element}'; only {where} can")
        raise ValueError(f"{field.name} value '{element}' is not valid")
    start = field.value(match["start"])
    step = field.step(match["step"]) if match["step"] else 1
    if match["end"] is None:
        # `a/n` runs to the field's maximum; a bare `a` is just the value
        return _stepped(field, start, field.high, step) if match["step"] else 1 << start
    end = field.value(match["end"])
    if end < start and field is _YEAR:
        raise ValueError(f"year range {start}-{end} runs backwards")
    return _stepped(field, start, end, step)


def _stepped(field: _Field, start: int, end: int, step: int) -> int:
    """Values start, start+step, ... up to end; an end below start wraps past the maximum."""
    if end < start:
        end += field.size  # Quartz's overflowing ranges: 22-2, FRI-MON, NOV-FEB
    mask = 0
    for value in range(start, end + 1, step):
        mask |= 1 << (field.low + (value - field.low) % field.size)
    return mask


def _parse_day_of_month(source: str) -> DayOfMonthRule | None:
    field = _DAY_OF_MONTH
    elements = _elements(field, source)
    if source == "?":
        return None
    days = 0
    last: set[int] = set()
    nearest: set[int] = set()
    last_weekday: set[int] = set()
    for element in elements:
        if match := _DOM_LAST.fullmatch(element):
            offset = int(match["offset"] or 0)
            if offset > _MAX_LAST_DAY_OFFSET:
                raise ValueError(
                    f"day-of-month offset in '{element}' is out of range 0-{_MAX_LAST_DAY_OFFSET}"
                )
            (last_weekday if match["weekday"] else last).add(offset)
        elif match := _DOM_NEAREST_WEEKDAY.fullmatch(element):
            nearest.add(field.value(match["day"]))
        else:
            days |= _element_mask(field, element)
    return DayOfMonthRule(days, frozenset(last), frozenset(nearest), frozenset(last_weekday))


def _parse_day_of_week(source: str) -> DayOfWeekRule | None:
    field = _DAY_OF_WEEK
    elements = _elements(field, source)
    if source == "?":
        return None
    if source == "L":  # `L` alone in day-of-week is Saturday
        return DayOfWeekRule(1 << 7)
    if last := _DOW_LAST.fullmatch(source):
        return DayOfWeekRule(1 << field.value(last["day"]), last=True)
    if nth := _DOW_NTH.fullmatch(source):
        count = int(nth["nth"])
        if not 1 <= count <= _MAX_NTH:
            raise ValueError(f"day-of-week occurrence '#{count}' is out of range 1-{_MAX_NTH}")
        return DayOfWeekRule(1 << field.value(nth["day"]), nth=count)
    if len(elements) > 1 and any("L" in e or "#" in e for e in elements):
        # Quartz keeps a single "last" or "nth" weekday per expression
        raise ValueError("day-of-week cannot combine 'L' or '#' with other values")
    weekdays = 0
    for element in elements:
        weekdays |= _element_mask(field, element)
    return DayOfWeekRule(weekdays)
