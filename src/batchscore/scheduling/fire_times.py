"""When a job fires next: the bridge between a job's schedule and the cron module. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from batchscore.domain.jobs import Frequency, JobSchedule
from batchscore.scheduling.cron import CronExpression, DstPolicy, next_fire_time, parse_cron
from batchscore.scheduling.cron_parse import FIRST_YEAR


@lru_cache(maxsize=4096)
def cached_cron(text: str) -> CronExpression:
    """Parsed cron expressions are immutable; jobs share the few distinct ones they use."""
    return parse_cron(text)


@lru_cache(maxsize=1024)
def cached_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def first_fire_at(schedule: JobSchedule, now: datetime) -> datetime | None:
    """The first instant a new job fires: its next cron instant, or ``scheduleAt`` (past: now)."""
    if schedule.frequency is Frequency.ONCE:
        if schedule.schedule_at is None or schedule.schedule_at < now:
            return now
        return schedule.schedule_at
    return next_periodic_fire(schedule, now)


def next_periodic_fire(schedule: JobSchedule, after: datetime) -> datetime | None:
    """The next cron instant strictly after ``after``, or None when the schedule has ended."""
    assert schedule.cron_expression is not None
    assert schedule.time_zone is not None
    return _next_fire(
        schedule.cron_expression, schedule.time_zone, schedule.dst_policy, after.astimezone(UTC)
    )


@lru_cache(maxsize=65536)
def _next_fire(cron: str, zone: str, policy: str, after: datetime) -> datetime | None:
    # Jobs sharing a schedule are due at the same instant: one cron search serves them all.
    found: datetime | None = next_fire_time(
        cached_cron(cron), cached_zone(zone), after, DstPolicy(policy)
    )
    # UTC: aware datetimes of one ZoneInfo compare by wall time, ignoring fold.
    return found.astimezone(UTC) if found is not None else None


def never_fires(
    expression: CronExpression, zone: ZoneInfo, now: datetime, policy: DstPolicy
) -> str | None:
    """Why ``expression`` can never fire after ``now`` in ``zone`` (as Quartz refuses such a
    trigger: "will never fire"), or None when it fires again."""
    if next_fire_time(expression, zone, now, policy) is not None:
        return None
    this_year = now.astimezone(zone).year
    if expression.years >> (this_year - FIRST_YEAR) == 0:
        reason = "its year field lies in the past"
    else:
        reason = "no date from now until the end of 2099 matches its fields"
    return f"cronExpression '{expression.text[:80]}' will never fire: {reason}."
