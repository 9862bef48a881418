"""Cron schedules across daylight-saving transitions, under both DST policies (design §3.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchscore.scheduling.cron import (
    CronExpression,
    DstPolicy,
    matches,
    next_fire_time,
    next_fire_times,
    parse_cron,
)

FIRE_AFTER_GAP = DstPolicy.FIRE_AFTER_GAP
QUARTZ = DstPolicy.QUARTZ
MINUTE = timedelta(minutes=1)


def fires(
    text: str, zone: str, after: str, count: int, policy: DstPolicy = FIRE_AFTER_GAP
) -> list[str]:
    found = next_fire_times(
        parse_cron(text), ZoneInfo(zone), datetime.fromisoformat(after), count, policy
    )
    return [instant.isoformat() for instant in found]


def fires_on(text: str, zone: str, day: str, policy: DstPolicy = FIRE_AFTER_GAP) -> list[datetime]:
    """Every fire instant whose local date is ``day``."""
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(day).replace(tzinfo=tz) - timedelta(seconds=1)
    found = next_fire_times(parse_cron(text), tz, start, 500, policy)
    return [instant for instant in found if instant.date().isoformat() == day]


# -- fixed wall times, default policy ----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        pytest.param(
            "Europe/Berlin",
            "2026-03-28T12:00:00+01:00",
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
            id="berlin",
        ),
        pytest.param(
            "America/New_York",
            "2026-03-07T12:00:00-05:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
            id="new-york",
        ),
    ],
)
def test_spring_gap_fixed_time_fires_once_after_the_gap(
    zone: str, after: str, expected: list[str]
) -> None:
    assert fires("0 30 2 * * ?", zone, after, 2) == expected


def test_spring_gap_several_fixed_times_fire_once_together() -> None:
    found = fires("0 0,15,45 2,3 * * ?", "Europe/Berlin", "2026-03-29T00:00:00+01:00", 4)
    assert found == [
        "2026-03-29T03:00:00+02:00",  # 02:00, 02:15, 02:45 and 03:00 itself
        "2026-03-29T03:15:00+02:00",
        "2026-03-29T03:45:00+02:00",
        "2026-03-30T02:00:00+02:00",
    ]


def test_spring_gap_at_midnight_fires_when_the_day_begins() -> None:
    # America/Santiago jumps from 24:00 to 01:00: 6 September 2026 has no midnight.
    found = fires("0 0 0 6 9 ?", "America/Santiago", "2026-09-01T00:00:00-04:00", 2)
    assert found == ["2026-09-06T01:00:00-03:00", "2027-09-06T00:00:00-03:00"]


def test_half_hour_gap_fires_at_its_end() -> None:
    # Australia/Lord_Howe moves from 02:00 to 02:30 on 4 October 2026.
    found = fires("0 15 2 * * ?", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30", 2)
    assert found == ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"]


@pytest.mark.parametrize(
    ("text", "zone", "after", "expected"),
    [
        pytest.param(
            "0 30 2 * * ?",
            "Europe/Berlin",
            "2026-10-24T12:00:00+02:00",
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
            id="berlin",
        ),
        pytest.param(
            "0 30 1 * * ?",
            "America/New_York",
            "2026-10-31T12:00:00-04:00",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
            id="new-york",
        ),
        pytest.param(
            "0 45 1 * * ?",
            "Australia/Lord_Howe",
            "2026-04-04T12:00:00+11:00",
            ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
            id="lord-howe-half-hour",
        ),
    ],
)
def test_autumn_overlap_fixed_time_fires_once_at_first_occurrence(
    text: str, zone: str, after: str, expected: list[str]
) -> None:
    assert fires(text, zone, after, 2) == expected


@pytest.mark.parametrize(
    "after",
    [
        "2026-10-25T02:30:00+02:00",  # the moment it fired
        "2026-10-25T02:40:00+02:00",  # later in the first pass
        "2026-10-25T02:10:00+01:00",  # second pass, before the wall time comes round again
        "2026-10-25T02:30:00+01:00",  # second pass, the repeated wall time itself
        "2026-10-25T02:59:59+01:00",
    ],
)
def test_restart_inside_repeated_hour_does_not_fire_the_fixed_time_again(after: str) -> None:
    found = next_fire_time(
        parse_cron("0 30 2 * * ?"), ZoneInfo("Europe/Berlin"), datetime.fromisoformat(after)
    )
    assert found is not None
    assert found.isoformat() == "2026-10-26T02:30:00+01:00"


def test_restart_in_first_pass_before_the_fixed_time_still_fires_it() -> None:
    assert fires("0 30 2 * * ?", "Europe/Berlin", "2026-10-25T02:10:00+02:00", 1) == [
        "2026-10-25T02:30:00+02:00"
    ]


# -- interval expressions, default policy ------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", "2026-03-29", 23),
        ("Europe/Berlin", "2026-10-25", 25),
        ("America/New_York", "2026-03-08", 23),
        ("America/New_York", "2026-11-01", 25),
        ("Australia/Lord_Howe", "2026-10-04", 23.5),
        ("Australia/Lord_Howe", "2026-04-05", 24.5),
        ("Europe/Berlin", "2026-06-01", 24),
    ],
)
def test_every_15_minutes_fires_at_every_real_quarter_hour(
    zone: str, day: str, hours: float
) -> None:
    found = fires_on("0 0/15 * * * ?", zone, day)
    assert len(found) == hours * 4
    real = [instant.astimezone(UTC) for instant in found]
    assert len(set(real)) == len(real)
    assert all(later - earlier == 15 * MINUTE for earlier, later in pairwise(real))


def test_hourly_fires_in_both_passes_of_the_repeated_hour() -> None:
    found = fires("0 0 * * * ?", "Europe/Berlin", "2026-10-25T01:30:00+02:00", 3)
    assert found == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_hour_range_skips_the_hour_that_does_not_exist() -> None:
    found = fires("0 30 1-3 * * ?", "Europe/Berlin", "2026-03-29T00:00:00+01:00", 3)
    assert found == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T01:30:00+02:00",
    ]


def test_restart_in_first_pass_continues_into_the_second_pass() -> None:
    found = fires("0 0/15 * * * ?", "Europe/Berlin", "2026-10-25T02:50:00+02:00", 2)
    assert found == ["2026-10-25T02:00:00+01:00", "2026-10-25T02:15:00+01:00"]


# -- zones without daylight saving -------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "UTC"])
@pytest.mark.parametrize("policy", list(DstPolicy))
def test_zones_without_dst_fire_exactly_a_day_apart(zone: str, policy: DstPolicy) -> None:
    tz = ZoneInfo(zone)
    found = next_fire_times(
        parse_cron("0 30 2 * * ?"), tz, datetime(2026, 1, 1, tzinfo=tz), 365, policy
    )
    assert len(found) == 365
    assert all(later - earlier == timedelta(days=1) for earlier, later in pairwise(found))
    for day in ("2026-03-29", "2026-10-25", "2026-03-08", "2026-11-01"):
        assert len(fires_on("0 0/15 * * * ?", zone, day, policy)) == 96


# -- the quartz policy -------------------------------------------------------------------------


def test_quartz_skips_a_fixed_time_in_the_gap() -> None:
    assert fires("0 30 2 * * ?", "Europe/Berlin", "2026-03-28T12:00:00+01:00", 1, QUARTZ) == [
        "2026-03-30T02:30:00+02:00"
    ]


def test_quartz_fires_the_repeated_hour_once_at_the_later_instant() -> None:
    found = fires("0 0/15 * * * ?", "Europe/Berlin", "2026-10-25T01:40:00+02:00", 6, QUARTZ)
    assert found == [
        "2026-10-25T01:45:00+02:00",
        "2026-10-25T02:00:00+01:00",  # the first pass (02:00-02:45 CEST) never fires
        "2026-10-25T02:15:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T02:45:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_quartz_from_inside_the_first_pass_takes_the_later_instant() -> None:
    assert fires("0 30 2 * * ?", "Europe/Berlin", "2026-10-25T02:10:00+02:00", 1, QUARTZ) == [
        "2026-10-25T02:30:00+01:00"
    ]


# -- every policy, every transition: a minute-by-minute reference ------------------------------

_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]


def _transitions(zone: ZoneInfo) -> list[datetime]:
    """The instants in 2026 where the zone's offset changes, found by a slow scan."""
    found = []
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    previous = instant.astimezone(zone).utcoffset()
    while instant.year == 2026:
        instant += 30 * MINUTE
        offset = instant.astimezone(zone).utcoffset()
        if offset != previous:
            found.append(instant)
        previous = offset
    return found


_TRANSITIONS = {name: _transitions(ZoneInfo(name)) for name in _ZONES}
_TIME_FIELDS = st.tuples(
    st.sampled_from(["0", "30", "0,15,45", "*/15", "*/20", "10-40/10", "*"]),
    st.sampled_from(["*", "0", "1", "2", "1,2", "0-3", "*/2", "22-2", "23", "0/5"]),
)


@settings(max_examples=200, deadline=None)
@given(
    _TIME_FIELDS,
    st.sampled_from(_ZONES),
    st.integers(0, 1),
    st.integers(-26 * 60, 26 * 60),
    st.sampled_from(DstPolicy),
)
def test_fire_times_agree_with_a_minute_by_minute_reference(
    time_fields: tuple[str, str], zone_name: str, which: int, minutes: int, policy: DstPolicy
) -> None:
    minute, hour = time_fields
    expr = parse_cron(f"0 {minute} {hour} * * ?")
    zone = ZoneInfo(zone_name)
    after = _TRANSITIONS[zone_name][which] + minutes * MINUTE + timedelta(seconds=7)
    local_after = after.astimezone(zone)
    if policy is QUARTZ and _in_first_pass(local_after):
        return  # Quartz then searches from the wall time on; covered by named cases above
    found = [instant.astimezone(UTC) for instant in next_fire_times(expr, zone, after, 6, policy)]
    assert found
    expected = []
    instant = after.replace(second=0) + MINUTE
    while instant <= found[-1]:
        local = instant.astimezone(zone)
        if policy is QUARTZ:
            fire = matches(expr, local) and not _in_first_pass(local)
        elif expr.interval:
            fire = matches(expr, local)
        else:
            fire = (matches(expr, local) and not _in_second_pass(local)) or _gap_had_a_match(
                expr, instant, zone
            )
        if fire:
            expected.append(instant)
        instant += MINUTE
    assert found == expected


def _in_first_pass(local: datetime) -> bool:
    return local.fold == 0 and local.replace(fold=1).utcoffset() != local.utcoffset()


def _in_second_pass(local: datetime) -> bool:
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def _gap_had_a_match(expr: CronExpression, instant: datetime, zone: ZoneInfo) -> bool:
    """Whether the clock jumped forward at ``instant`` over a wall time the expression names."""
    before = (instant - MINUTE).astimezone(zone)
    now = instant.astimezone(zone)
    if before.utcoffset() == now.utcoffset():
        return False
    wall = (before + MINUTE).replace(tzinfo=None)
    end = now.replace(tzinfo=None)
    while wall < end:
        if matches(expr, wall):
            return True
        wall += MINUTE
    return False
