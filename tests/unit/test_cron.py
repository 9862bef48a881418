"""Quartz cron grammar and calendar: the shared Quartz vectors, validation and properties."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchscore.errors import CronError
from batchscore.scheduling.cron import (
    CronExpression,
    DstPolicy,
    matches,
    next_fire_time,
    next_fire_times,
    parse_cron,
)

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "cron" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


def fires(
    text: str,
    zone: str,
    after: str,
    count: int,
    policy: DstPolicy = DstPolicy.FIRE_AFTER_GAP,
) -> list[str]:
    found = next_fire_times(
        parse_cron(text), ZoneInfo(zone), datetime.fromisoformat(after), count, policy
    )
    return [instant.isoformat() for instant in found]


# -- the shared vectors ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_shared_vector(case: dict[str, Any]) -> None:
    if case["expected"] == "invalid":
        with pytest.raises(CronError):
            parse_cron(case["cronExpression"])
        return
    policy = DstPolicy(case.get("policy", DstPolicy.FIRE_AFTER_GAP.value))
    found = fires(case["cronExpression"], case["timeZone"], case["from"], case["count"], policy)
    assert found == case["expected"]


def test_every_shared_vector_is_collected() -> None:
    assert len(CASES) >= 29
    assert len({case["id"] for case in CASES}) == len(CASES)


# -- grammar and calendar beyond the vectors ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        pytest.param(
            "0 0 22-2 * * ?",
            "2026-01-14T21:00:00+00:00",
            ["22:00", "23:00", "00:00", "01:00", "02:00", "22:00"],
            id="hours-range-wraps-past-midnight",
        ),
        pytest.param(
            "0 10-40/15 8 * * ?",
            "2026-01-14T00:00:00+00:00",
            ["08:10", "08:25", "08:40", "08:10"],
            id="stepped-range",
        ),
        pytest.param(
            "0 /20 8 * * ?",
            "2026-01-14T00:00:00+00:00",
            ["08:00", "08:20", "08:40", "08:00"],
            id="bare-step-is-star-step",
        ),
        pytest.param(
            "0 50/20 8 * * ?",
            "2026-01-14T00:00:00+00:00",
            ["08:50", "08:50"],
            id="start-step-runs-to-field-max-only",
        ),
        pytest.param(
            "0 0 8,12 * * ?",
            "2026-01-14T09:00:00+00:00",
            ["12:00", "08:00", "12:00"],
            id="list",
        ),
    ],
)
def test_time_of_day_fields(text: str, after: str, expected: list[str]) -> None:
    found = fires(text, "UTC", after, len(expected))
    assert [value[11:16] for value in found] == expected


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        pytest.param(
            "0 0 12 1 NOV-FEB ?",
            "2026-03-01T00:00:00+00:00",
            ["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01", "2027-11-01"],
            id="month-range-wraps-past-december",
        ),
        pytest.param(
            "0 0 12 ? * sat-mon",
            "2026-01-14T00:00:00+00:00",
            ["2026-01-17", "2026-01-18", "2026-01-19", "2026-01-24"],
            id="lower-case-day-names-wrap",
        ),
        pytest.param(
            "0 0 12 30-2 * ?",
            "2026-01-14T00:00:00+00:00",
            ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02", "2026-03-01"],
            id="day-of-month-range-wraps",
        ),
        pytest.param(
            "0 0 12 1,15,L * ?",
            "2026-02-02T00:00:00+00:00",
            ["2026-02-15", "2026-02-28", "2026-03-01"],
            id="last-day-in-a-list",
        ),
        pytest.param(
            "0 0 12 L * ?",
            "2028-02-01T00:00:00+00:00",
            ["2028-02-29", "2028-03-31"],
            id="last-day-in-leap-february",
        ),
        pytest.param(
            "0 0 12 31W * ?",
            "2026-04-01T00:00:00+00:00",
            ["2026-05-29", "2026-07-31", "2026-08-31"],
            id="nearest-weekday-of-31st-skips-short-months",
        ),
        pytest.param(
            "0 0 12 1W * ?",
            "2026-08-02T00:00:00+00:00",
            ["2026-08-03", "2026-09-01"],
            id="nearest-weekday-found-after-the-day-itself",
        ),
        pytest.param(
            "0 0 12 LW * ?",
            "2026-05-01T00:00:00+00:00",
            ["2026-05-29", "2026-06-30"],
            id="last-weekday-when-month-ends-on-sunday",
        ),
        pytest.param(
            "0 0 12 L-2W * ?",
            "2026-05-01T00:00:00+00:00",
            ["2026-05-29", "2026-06-29"],
            id="nearest-weekday-to-offset-from-last",
        ),
        pytest.param(
            "0 0 12 ? * 5#5",
            "2026-01-01T00:00:00+00:00",
            ["2026-01-29", "2026-04-30", "2026-07-30"],
            id="fifth-thursday-only-when-it-exists",
        ),
        pytest.param(
            "0 0 12 ? * MONL",
            "2026-01-01T00:00:00+00:00",
            ["2026-01-26", "2026-02-23"],
            id="last-monday-by-name",
        ),
        pytest.param(
            "0 0 12 29 2 ? *",
            "2026-01-01T00:00:00+00:00",
            ["2028-02-29", "2032-02-29"],
            id="leap-day",
        ),
        pytest.param(
            "0\t0 12  1 1 ? 2026-2027",
            "2025-06-01T00:00:00+00:00",
            ["2026-01-01", "2027-01-01"],
            id="tabs-and-runs-of-spaces-separate-fields",
        ),
    ],
)
def test_calendar_fields(text: str, after: str, expected: list[str]) -> None:
    found = fires(text, "UTC", after, len(expected) + 5)
    assert [value[:10] for value in found[: len(expected)]] == expected


def test_year_field_ends_the_schedule() -> None:
    assert fires("0 0 12 1 1 ? 2027", "UTC", "2026-01-01T00:00:00+00:00", 3) == [
        "2027-01-01T12:00:00+00:00"
    ]
    expr = parse_cron("0 0 12 1 1 ? 2027")
    assert next_fire_time(expr, UTC_ZONE, datetime(2027, 6, 1, tzinfo=UTC)) is None


def test_nothing_fires_after_2099() -> None:
    assert fires("0 0 0 1 1 ? *", "UTC", "2099-06-01T00:00:00+00:00", 2) == []
    assert fires("0 0 0 * * ?", "UTC", "2099-12-30T12:00:00+00:00", 5) == [
        "2099-12-31T00:00:00+00:00"
    ]
    far = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert next_fire_time(parse_cron("* * * * * ?"), UTC_ZONE, far) is None


def test_expression_that_never_fires_ends_quickly() -> None:
    assert fires("0 0 0 30 2 ?", "UTC", "2026-01-01T00:00:00+00:00", 3) == []
    assert fires("0 0 0 31 APR,JUN,SEP,NOV ?", "Europe/Berlin", "1970-01-01T00:00:00Z", 1) == []


def test_after_before_1970_starts_in_1970() -> None:
    assert fires("0 0 0 1 1 ?", "UTC", "1900-01-01T00:00:00+00:00", 1) == [
        "1970-01-01T00:00:00+00:00"
    ]


def test_results_are_in_the_schedule_zone_whatever_the_zone_of_after() -> None:
    after = datetime(2026, 1, 14, 22, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    found = next_fire_time(parse_cron("0 0 9 * * ?"), BERLIN, after)
    assert found is not None
    assert found.tzinfo is BERLIN
    assert found.isoformat() == "2026-01-15T09:00:00+01:00"


def test_fractions_of_a_second_in_after_are_respected() -> None:
    expr = parse_cron("* * * * * ?")
    after = datetime(2026, 1, 14, 12, 0, 0, 999_999, tzinfo=UTC)
    assert next_fire_time(expr, UTC_ZONE, after) == datetime(2026, 1, 14, 12, 0, 1, tzinfo=UTC)


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_fire_times(parse_cron("* * * * * ?"), UTC_ZONE, datetime(2026, 1, 1), 1)


def test_count() -> None:
    expr = parse_cron("* * * * * ?")
    after = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_fire_times(expr, UTC_ZONE, after, 0) == []
    with pytest.raises(ValueError, match="count"):
        next_fire_times(expr, UTC_ZONE, after, -1)


def test_parsed_expression_keeps_its_text_and_is_immutable() -> None:
    expr = parse_cron(" 0 0 5 1/1 * ? * ")
    assert expr.text == " 0 0 5 1/1 * ? * "
    with pytest.raises(AttributeError):
        expr.text = "x"  # type: ignore[misc]
    assert parse_cron(" 0 0 5 1/1 * ? * ") is expr  # cached: parsing per fire costs nothing


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("0 30 2 * * ?", False),
        ("0 0,30 2,3 ? * MON-FRI", False),
        ("0 0 5 1/1 * ? *", False),
        ("0 * 2 * * ?", True),
        ("0 0 */2 * * ?", True),
        ("0 0 9-17 * * ?", True),
        ("5/15 0 2 * * ?", True),
    ],
)
def test_fixed_or_interval(text: str, interval: bool) -> None:
    assert parse_cron(text).interval is interval


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("60 * * * * ?", "seconds"),
        ("0 60 * * * ?", "minutes"),
        ("0 0 24 * * ?", "hours"),
        ("0 0 0 0 * ?", "day-of-month"),
        ("0 0 0 32 * ?", "day-of-month"),
        ("0 0 0 * 13 ?", "month"),
        ("0 0 0 * FOO ?", "month"),
        ("0 0 0 ? * 8", "day-of-week"),
        ("0 0 0 ? * 0", "day-of-week"),
        ("0 0 0 ? * MONDAY", "day-of-week"),
        ("0 0 0 * * ? 1969", "year"),
        ("0 0 0 * * ? 2100", "year"),
        ("0 0 0 * * ? 2030-2025", "year"),
        ("? 0 0 * * ?", "seconds"),
        ("0 ? 0 * * ?", "minutes"),
        ("0 0 0 * ? ?", "month"),
        ("0 0 0 * * ? ?", "year"),
        ("0 0 L * * ?", "hours"),
        ("0 0 0 * 5L ?", "month"),
        ("0 0 0 6L * ?", "day-of-month"),
        ("0 0 0 6#3 * ?", "day-of-month"),
        ("0 0 0 ? * 15W", "day-of-week"),
        ("0 0 0 ? * LW", "day-of-week"),
        ("0 0 0 ? * 6#6", "day-of-week"),
        ("0 0 0 ? * 6#0", "day-of-week"),
        ("0 0 0 ? * 6#", "day-of-week"),
        ("0 0 0 ? * 6#3,2", "day-of-week"),
        ("0 0 0 ? * 1,L", "day-of-week"),
        ("0 0 0 ? * 5L,6", "day-of-week"),
        ("0 0 0 L-31 * ?", "day-of-month"),
        ("0 0 0 L- * ?", "day-of-month"),
        ("0 0 0 32W * ?", "day-of-month"),
        ("0 0 0 1-5W * ?", "day-of-month"),
        ("0 0 0 ?,1 * ?", "day-of-month"),
        ("0 0/0 * * * ?", "minutes"),
        ("0 */60 * * * ?", "minutes"),
        ("0 0 */24 * * ?", "hours"),
        ("0 0 0 1/32 * ?", "day-of-month"),
        ("0 0 0 * */13 ?", "month"),
        ("0 0 0 ? * */8", "day-of-week"),
        ("0 1,,2 * * * ?", "minutes"),
        ("0 1, * * * ?", "minutes"),
        ("0 */ * * * ?", "minutes"),
        ("0 1-2-3 * * * ?", "minutes"),
        ("0 x * * * ?", "minutes"),
        ("0 ١ * * * ?", "minutes"),  # noqa: RUF001 - a non-ASCII digit is not a number here
        ("0 0 MON * * ?", "hours"),
    ],
)
def test_each_error_names_its_field(text: str, field: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(text)
    assert len(raised.value.messages) == 1
    message = raised.value.messages[0]
    assert message.startswith(f"cronExpression: {field} ")
    assert message.endswith(".")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "cronExpression: must not be empty."),
        ("   ", "cronExpression: must not be empty."),
        ("0 0 0 * *", "but got 5."),
        ("0 0 0 * * ? 2026 1", "but got 8."),
        ("0 0 0 * * 1", "cannot both be given"),
        ("0 0 0 ? * ?", "cannot both be '?'"),
        ("0 " * 600, "must be at most 1024 characters."),
    ],
)
def test_whole_expression_errors(text: str, expected: str) -> None:
    with pytest.raises(CronError, match=re.escape(expected)):
        parse_cron(text)


def test_errors_in_several_fields_are_all_reported() -> None:
    with pytest.raises(CronError) as raised:
        parse_cron("61 0 25 ? 13 8")
    assert raised.value.messages == (
        "cronExpression: seconds value 61 is out of range 0-59.",
        "cronExpression: hours value 25 is out of range 0-23.",
        "cronExpression: month value 13 is out of range 1-12.",
        "cronExpression: day-of-week value 8 is out of range 1-7.",
    )


_CRON_ALPHABET = "0123456789*/?,-#LWJANFEBMONSUNDECSAT \t"


@settings(max_examples=400)
@given(st.one_of(st.text(), st.text(alphabet=_CRON_ALPHABET, max_size=60)))
def test_parse_raises_only_cron_errors(text: str) -> None:
    messages: tuple[str, ...] = ()
    try:
        assert parse_cron(text).text == text
    except CronError as error:
        messages = error.messages
    if messages:
        assert all(message.startswith("cronExpression: ") for message in messages)
        assert all(message.endswith(".") for message in messages)


# -- properties over generated valid expressions -----------------------------------------------


def _element(
    low: int, high: int, max_step: int, names: tuple[str, ...] = ()
) -> st.SearchStrategy[str]:
    value = st.integers(low, high).map(str)
    if names:
        value = value | st.sampled_from(names)
    step = st.integers(1, max_step).map(str)
    return st.one_of(
        st.just("*"),
        step.map(lambda n: f"*/{n}"),
        value,
        st.tuples(value, value).map("-".join),
        st.tuples(value, step).map("/".join),
        st.tuples(value, value, step).map(lambda t: f"{t[0]}-{t[1]}/{t[2]}"),
    )


def _field(
    low: int, high: int, max_step: int, names: tuple[str, ...] = ()
) -> st.SearchStrategy[str]:
    return st.lists(_element(low, high, max_step, names), min_size=1, max_size=3).map(",".join)


_MONTHS = tuple(calendar.month_abbr[1:])
_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_DOM_SPECIAL = st.one_of(
    st.sampled_from(["L", "LW"]),
    st.integers(0, 30).map(lambda n: f"L-{n}"),
    st.integers(0, 30).map(lambda n: f"L-{n}W"),
    st.integers(1, 31).map(lambda n: f"{n}W"),
)
_DOM = st.lists(_element(1, 31, 31) | _DOM_SPECIAL, min_size=1, max_size=3).map(",".join)
_DOW_VALUE = st.integers(1, 7).map(str) | st.sampled_from(_DAYS)
_DOW = st.one_of(
    _field(1, 7, 7, _DAYS),
    st.just("L"),
    _DOW_VALUE.map(lambda day: f"{day}L"),
    st.tuples(_DOW_VALUE, st.integers(1, 5)).map(lambda t: f"{t[0]}#{t[1]}"),
)
_YEAR = st.one_of(
    st.just(""),
    st.just(" *"),
    st.integers(2026, 2031).map(lambda year: f" {year}"),
    st.tuples(st.integers(2026, 2029), st.integers(0, 4)).map(lambda t: f" {t[0]}-{t[0] + t[1]}"),
)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    """Valid Quartz expressions covering every construct of the grammar."""
    day_of_month, day_of_week = (draw(_DOM), "?") if draw(st.booleans()) else ("?", draw(_DOW))
    fields = [
        draw(_field(0, 59, 59)),
        draw(_field(0, 59, 59)),
        draw(_field(0, 23, 23)),
        day_of_month,
        draw(_field(1, 12, 12, _MONTHS)),
        day_of_week,
    ]
    return " ".join(fields) + draw(_YEAR)


_AFTER = st.datetimes(
    min_value=datetime(2025, 6, 1), max_value=datetime(2028, 6, 1), timezones=st.just(UTC)
)
_ZONES = st.sampled_from(
    ["UTC", "Asia/Kolkata", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
)


@settings(max_examples=200, deadline=None)
@given(expressions(), _ZONES, _AFTER, st.integers(1, 8), st.sampled_from(DstPolicy))
def test_fire_times_increase_and_match(
    text: str, zone_name: str, after: datetime, count: int, policy: DstPolicy
) -> None:
    expr = parse_cron(text)
    zone = ZoneInfo(zone_name)
    found = next_fire_times(expr, zone, after, count, policy)
    assert len(found) <= count
    instants = [after, *found]
    assert all(a.timestamp() < b.timestamp() for a, b in pairwise(instants))
    for instant in found:
        assert instant.tzinfo is zone
        fired_for_gap = (
            policy is DstPolicy.FIRE_AFTER_GAP and not expr.interval and _ends_a_gap(instant)
        )
        assert matches(expr, instant) or fired_for_gap


@settings(max_examples=200, deadline=None)
@given(expressions(), st.sampled_from(["UTC", "Asia/Kolkata"]), _AFTER, st.integers(1, 6))
def test_fire_times_agree_with_a_day_by_day_search(
    text: str, zone_name: str, after: datetime, count: int
) -> None:
    expr = parse_cron(text)
    zone = ZoneInfo(zone_name)  # a fixed offset, so wall time and instants agree one to one
    horizon = after.astimezone(zone).date() + timedelta(days=3 * 366)
    found = [
        instant.isoformat()
        for instant in next_fire_times(expr, zone, after, count)
        if instant.date() <= horizon
    ]
    expected = [
        instant.isoformat() for instant in islice(_brute_force(expr, zone, after, horizon), count)
    ]
    assert found == expected


def _brute_force(
    expr: CronExpression, zone: ZoneInfo, after: datetime, horizon: date
) -> Iterator[datetime]:
    """Every match after ``after``, day by day, with the day rules written out independently."""
    start = after.astimezone(zone)
    day = start.date()
    while day <= horizon:
        if _day_allowed(expr, day):
            for hour in _bits(expr.hours):
                if day == start.date() and hour < start.hour:
                    continue  # only to keep the search quick
                for minute in _bits(expr.minutes):
                    for second in _bits(expr.seconds):
                        instant = datetime.combine(day, time(hour, minute, second), zone)
                        if instant > after:
                            yield instant
        day += timedelta(days=1)


def _day_allowed(expr: CronExpression, day: date) -> bool:
    if not (expr.years >> (day.year - 1970) & 1 and expr.months >> day.month & 1):
        return False
    last = calendar.monthrange(day.year, day.month)[1]
    if expr.day_of_month is not None:
        rule = expr.day_of_month
        targets = set(rule.nearest_weekdays) | {last - n for n in rule.last_weekday_offsets}
        return (
            bool(rule.days >> day.day & 1)
            or day.day in {last - n for n in rule.last_offsets}
            or any(
                _nearest_weekday(date(day.year, day.month, target), last) == day.day
                for target in targets
                if 1 <= target <= last
            )
        )
    assert expr.day_of_week is not None
    rule_w = expr.day_of_week
    quartz_weekday = (day.weekday() + 1) % 7 + 1  # Python Monday=0 -> Quartz Monday=2
    if not rule_w.weekdays >> quartz_weekday & 1:
        return False
    if rule_w.last:
        return day.day + 7 > last
    if rule_w.nth:
        return (day.day - 1) // 7 + 1 == rule_w.nth
    return True


def _nearest_weekday(target: date, last: int) -> int:
    if target.weekday() == calendar.SATURDAY:
        return 3 if target.day == 1 else target.day - 1
    if target.weekday() == calendar.SUNDAY:
        return target.day - 2 if target.day == last else target.day + 1
    return target.day


def _bits(mask: int) -> list[int]:
    return [value for value in range(mask.bit_length()) if mask >> value & 1]


def _ends_a_gap(instant: datetime) -> bool:
    """Whether the zone's clock jumped forward at exactly this instant."""
    zone = instant.tzinfo
    real = instant.astimezone(UTC)
    before = (real - timedelta(seconds=1)).astimezone(zone).utcoffset()
    after = real.astimezone(zone).utcoffset()
    assert before is not None
    assert after is not None
    return before < after
