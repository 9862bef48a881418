"""When a job fires next: the bridge between a job's schedule and the cron module. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from batchscore.domain.jobs import Frequency, JobSchedule
from batchscore.scheduling.cron import DstPolicy, next_fire_time, parse_cron


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
    expression = parse_cron(schedule.cron_expression)
    policy = DstPolicy(schedule.dst_policy)
    return next_fire_time(expression, ZoneInfo(schedule.time_zone), after, policy)
