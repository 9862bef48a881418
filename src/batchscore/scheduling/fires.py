"""What a due job does at one scheduler tick: which instant it fires, and when it fires next.

Pure: takes the schedule, the due instant and the tick's ``now``; no clock, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from batchscore.domain.jobs import Frequency, JobSchedule, MisfirePolicy
from batchscore.scheduling.fire_times import next_periodic_fire

SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class FirePlan:
    """The outcome of one due job at one tick."""

    instant: datetime | None  # the scheduled instant to execute now; None = fire nothing
    next_fire_at: datetime | None  # None = the job never fires again
    late_by: timedelta | None = None  # set when the instant is a misfire fired late
    skipped_since: datetime | None = None  # earlier missed instants were coalesced away


def plan_fire(
    schedule: JobSchedule, due: datetime, now: datetime, threshold: timedelta
) -> FirePlan:
    """Decide the fire for a job whose ``next_fire_at`` (``due``) is not after ``now``."""
    if schedule.frequency is Frequency.ONCE:
        late = now - due
        return FirePlan(due, None, late if late > threshold else None)
    if now - due <= threshold:
        return FirePlan(due, next_periodic_fire(schedule, due))
    latest = latest_instant_at_or_before(schedule, due, now)
    following = next_periodic_fire(schedule, latest)
    skipped = due if latest > due else None
    late = now - latest
    if late <= threshold:
        return FirePlan(latest, following, None, skipped)
    if schedule.misfire_policy is MisfirePolicy.DO_NOTHING:
        return FirePlan(None, following)
    return FirePlan(latest, following, late, skipped)


def latest_instant_at_or_before(schedule: JobSchedule, due: datetime, now: datetime) -> datetime:
    """The last fire instant in ``[due, now]`` (``due`` is one), by bisection over seconds.

    Invariant: the first instant after ``lo`` is <= now and the first after ``hi`` is > now.
    Cron instants are whole seconds, so when ``hi - lo`` is one second the first instant
    after ``lo`` is the answer. About 30 cron evaluations even after years of downtime.
    """
    lo = due - SECOND
    hi = now
    while hi - lo > SECOND:
        mid = lo + (hi - lo) // 2
        found = next_periodic_fire(schedule, mid)
        if found is not None and found <= now:
            lo = mid
        else:
            hi = mid
    found = next_periodic_fire(schedule, lo)
    return found if found is not None and found <= now else due


def window_for(schedule: JobSchedule, instant: datetime) -> tuple[datetime, datetime]:
    """The data window of a fire at ``instant``: ``[t - N s, t)`` or ``[dataFrom, dataTo)``."""
    if schedule.frequency is Frequency.ONCE:
        assert schedule.data_from is not None
        assert schedule.data_to is not None
        return schedule.data_from, schedule.data_to
    assert schedule.window_seconds is not None
    return instant - timedelta(seconds=schedule.window_seconds), instant


def resume_fire_at(
    schedule: JobSchedule, due: datetime | None, now: datetime, threshold: timedelta
) -> datetime | None:
    """The ``next_fire_at`` of a paused job resumed at ``now``; ``due`` is the first instant it
    did not fire. Instants missed while paused follow the misfire policy (design §2.8):
    ``fireOnceNow`` makes the latest of them due (one catch-up, fired through ``plan_fire``,
    which notes its lateness), ``doNothing`` waits for the next instant after now."""
    if due is None or due > now:
        return due
    do_nothing = schedule.misfire_policy is MisfirePolicy.DO_NOTHING
    if schedule.frequency is Frequency.ONCE:
        return None if do_nothing and now - due > threshold else due
    if do_nothing:
        return next_periodic_fire(schedule, now)
    return latest_instant_at_or_before(schedule, due, now)
