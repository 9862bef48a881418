"""Pure fire planning: on time, misfires under both policies, once jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from batchscore.domain.jobs import Frequency, JobSchedule, MisfirePolicy
from batchscore.scheduling.fires import latest_instant_at_or_before, plan_fire

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
THRESHOLD = timedelta(seconds=60)


def hourly(policy: MisfirePolicy = MisfirePolicy.FIRE_ONCE_NOW) -> JobSchedule:
    return JobSchedule(
        frequency=Frequency.PERIODIC,
        cron_expression="0 0 * ? * *",
        time_zone="UTC",
        window_seconds=3600,
        misfire_policy=policy,
    )


def test_on_time_fire_advances_to_the_next_instant() -> None:
    plan = plan_fire(hourly(), T0, T0 + timedelta(seconds=3), THRESHOLD)
    assert plan.instant == T0
    assert plan.next_fire_at == T0 + timedelta(hours=1)
    assert plan.late_by is None
    assert plan.skipped_since is None


def test_misfire_fires_once_for_the_latest_missed_instant() -> None:
    now = T0 + timedelta(hours=3, minutes=30)
    plan = plan_fire(hourly(), T0, now, THRESHOLD)
    assert plan.instant == T0 + timedelta(hours=3)
    assert plan.late_by == timedelta(minutes=30)
    assert plan.skipped_since == T0
    assert plan.next_fire_at == T0 + timedelta(hours=4)


def test_misfire_do_nothing_skips_to_the_future() -> None:
    now = T0 + timedelta(hours=3, minutes=30)
    plan = plan_fire(hourly(MisfirePolicy.DO_NOTHING), T0, now, THRESHOLD)
    assert plan.instant is None
    assert plan.next_fire_at == T0 + timedelta(hours=4)


def test_late_within_threshold_is_not_a_misfire() -> None:
    plan = plan_fire(hourly(), T0, T0 + timedelta(seconds=59), THRESHOLD)
    assert (plan.instant, plan.late_by) == (T0, None)


def test_latest_instant_after_years_of_downtime() -> None:
    every_second = JobSchedule(
        frequency=Frequency.PERIODIC,
        cron_expression="* * * ? * *",
        time_zone="UTC",
        window_seconds=1,
    )
    now = T0 + timedelta(days=800, microseconds=500)
    assert latest_instant_at_or_before(every_second, T0, now) == now.replace(microsecond=0)
    mondays = JobSchedule(
        frequency=Frequency.PERIODIC,
        cron_expression="0 30 9 ? * MON",
        time_zone="Europe/Berlin",
        window_seconds=60,
    )
    due = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # Monday 09:30 CET
    found = latest_instant_at_or_before(mondays, due, datetime(2026, 6, 3, tzinfo=UTC))
    assert found == datetime(2026, 6, 1, 7, 30, tzinfo=UTC)  # Monday 09:30 CEST


def test_once_job_fires_once_and_never_again() -> None:
    once = JobSchedule(frequency=Frequency.ONCE, data_from=T0 - MINUTE, data_to=T0, schedule_at=T0)
    plan = plan_fire(once, T0, T0 + timedelta(hours=2), THRESHOLD)
    assert plan.instant == T0
    assert plan.next_fire_at is None
    assert plan.late_by == timedelta(hours=2)
