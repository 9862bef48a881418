"""Quartz cron schedules in an IANA time zone: the next fire instants. Pure (no I/O, no clock).

The expression's fields are wall-clock fields in the schedule's zone. Where daylight saving
makes wall time skip or repeat, :class:`DstPolicy` decides what fires:

``fireAfterGap`` (default) tells *fixed* expressions from *interval* ones. An expression is an
interval when its seconds, minutes or hours field uses ``*``, ``/`` or a range (``0 */15 * ...``,
``0 0 9-17 ...``); otherwise it names fixed wall times (``0 30 2 ...``, ``0 0,30 2 ...``).

- A fixed wall time that does not exist that day (spring-forward gap) fires once, at the first
  instant after the gap (Europe/Berlin 02:30 fires at 03:00 CEST); several fixed times in one
  gap fire once together.
- A fixed wall time that occurs twice (autumn overlap) fires once, at its first occurrence; asked
  again from inside the second occurrence (a restart), it does not fire again.
- An interval expression fires at every real instant whose local wall time matches: nothing in a
  gap (those wall times never happen), both passes through a repeated hour (distinct instants).

``quartz`` reproduces Quartz 2.5: wall times inside a gap are skipped, and a repeated wall time
resolves to its later (standard-time) instant only, for fixed and interval expressions alike.

Under both policies the instants come out strictly increasing, never twice the same instant, and
no schedule runs past 2099 (Quartz's year field ends there).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from batchscore.scheduling.cron_calendar import matches, next_match
from batchscore.scheduling.cron_parse import LAST_YEAR, CronExpression, parse_cron

__all__ = [
    "CronExpression",
    "DstPolicy",
    "matches",
    "next_fire_time",
    "next_fire_times",
    "parse_cron",
]

_SECOND = timedelta(seconds=1)


class DstPolicy(enum.Enum):
    """What a schedule does where daylight saving skips or repeats wall-clock time."""

    FIRE_AFTER_GAP = "fireAfterGap"
    QUARTZ = "quartz"


def next_fire_times(
    expr: CronExpression,
    zone: ZoneInfo,
    after: datetime,
    count: int,
    policy: DstPolicy = DstPolicy.FIRE_AFTER_GAP,
) -> list[datetime]:
    """Up to ``count`` fire instants strictly after the aware ``after``, as datetimes in ``zone``.

    Fewer come back when the schedule ends (its year field, or 2099).
    """
    if after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    if count < 0:
        raise ValueError("count must not be negative")
    instant = after.astimezone(UTC)
    if instant.year > LAST_YEAR + 1:  # no wall time up to 2099 lies this late in any zone
        return []
    fires: list[datetime] = []
    # Quartz has whole-second resolution: the first candidate is the next whole second.
    candidate = instant.replace(microsecond=0) + _SECOND
    while len(fires) < count:
        if policy is DstPolicy.QUARTZ:
            fire = _next_quartz(expr, zone, candidate)
        else:
            fire = _next_after_gap(expr, zone, candidate)
        if fire is None:
            break
        fires.append(fire.astimezone(zone))
        candidate = fire + _SECOND
    return fires


def next_fire_time(
    expr: CronExpression,
    zone: ZoneInfo,
    after: datetime,
    policy: DstPolicy = DstPolicy.FIRE_AFTER_GAP,
) -> datetime | None:
    """The first fire instant strictly after ``after`` in ``zone``, or None when none is left."""
    fires = next_fire_times(expr, zone, after, 1, policy)
    return fires[0] if fires else None


def _next_quartz(expr: CronExpression, zone: ZoneInfo, start: datetime) -> datetime | None:
    """Quartz's search: the first matching, existing wall time from ``start``'s wall time on."""
    wall = _wall(start, zone)
    while (found := next_match(expr, wall)) is not None:
        before, after = _offsets(found, zone)
        if before >= after:  # a single or repeated wall time: Quartz takes the later instant
            return _instant(found, after)
        wall = _gap_end(found, zone, before, after)
    return None


def _next_after_gap(expr: CronExpression, zone: ZoneInfo, start: datetime) -> datetime | None:
    """The first ``fireAfterGap`` fire instant at or after ``start`` (a whole-second UTC time)."""
    local = start.astimezone(zone)
    offset, later = _offset(local), _offset(local.replace(fold=1))
    if local.fold == 0 and later < offset:
        # `start` lies in the first pass through a repeated hour. Wall times from here to the
        # end of that pass fire at their first occurrence; once it is over, the wall clock
        # restarts lower and the scan below continues from the transition.
        transition = _transition(zone, start, start + (offset - later))
        found = next_match(expr, local.replace(tzinfo=None))
        if found is not None and _instant(found, offset) < transition:
            return _instant(found, offset)
        start = transition
    return _scan_after_gap(expr, zone, start)


def _scan_after_gap(expr: CronExpression, zone: ZoneInfo, start: datetime) -> datetime | None:
    """The scan of :func:`_next_after_gap` once ``start`` is outside a first pass."""
    wall = _wall(start, zone)
    while (found := next_match(expr, wall)) is not None:
        before, after = _offsets(found, zone)
        if before == after:
            return _instant(found, before)
        if before > after:  # repeated wall time: the first pass has the larger offset
            first = _instant(found, before)
            if first >= start:
                return first
            if expr.interval:
                return _instant(found, after)
            wall = found + _SECOND  # a fixed time fired (or was due) at its first occurrence
            continue
        if not expr.interval:  # a fixed time inside a gap fires as the gap ends
            return _transition(zone, _instant(found, after), _instant(found, before))
        wall = _gap_end(found, zone, before, after)
    return None


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _instant(wall: datetime, offset: timedelta) -> datetime:
    return (wall - offset).replace(tzinfo=UTC)


def _offsets(wall: datetime, zone: ZoneInfo) -> tuple[timedelta, timedelta]:
    """The zone's offsets before and after a transition at ``wall``; equal when there is none."""
    local = wall.replace(tzinfo=zone)
    return _offset(local), _offset(local.replace(fold=1))


def _offset(local: datetime) -> timedelta:
    offset = local.utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def _gap_end(wall: datetime, zone: ZoneInfo, before: timedelta, after: timedelta) -> datetime:
    """The first wall time after the gap that holds ``wall``."""
    end = _transition(zone, _instant(wall, after), _instant(wall, before))
    return (end + after).replace(tzinfo=None)


def _transition(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The instant in (low, high] where the offset changes from low's to high's (bisection)."""
    low_s, high_s = int(low.timestamp()), int(high.timestamp())
    old = _offset(datetime.fromtimestamp(low_s, zone))
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if _offset(datetime.fromtimestamp(middle, zone)) == old:
            low_s = middle
        else:
            high_s = middle
    return datetime.fromtimestamp(high_s, UTC)
