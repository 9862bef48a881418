"""Pure lifecycle schedule math: where a resumed job fires next, and a backfill's instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from batchscore.domain.jobs import Frequency, JobSchedule, MisfirePolicy
from batchscore.scheduling.backfill import MAX_INSTANTS, count_instants, instants_between
from batchscore.scheduling.fires import resume_fire_at

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
THRESHOLD = timedelta(seconds=60)


def schedule(cron: str, policy: MisfirePolicy = MisfirePolicy.FIRE_ONCE_NOW) -> JobSchedule:
    return JobSchedule(
        frequency=Frequency.PERIODIC,
        cron_expression=cron,
        time_zone="Europe/Berlin",
        window_seconds=60,
        misfire_policy=policy,
    )


def test_resume_before_the_first_unfired_instant_keeps_it() -> None:
    later = T0 + timedelta(hours=1)
    assert resume_fire_at(schedule("0 0 * ? * *"), later, T0, THRESHOLD) == later


def test_resume_fire_once_now_makes_the_latest_missed_instant_due() -> None:
    now = T0 + timedelta(hours=3, minutes=20)
    assert resume_fire_at(schedule("0 0 * ? * *"), T0, now, THRESHOLD) == T0 + timedelta(hours=3)
    # one instant missed by a few seconds is the one catch-up too
    assert resume_fire_at(schedule("0 0 * ? * *"), T0, T0 + timedelta(seconds=5), THRESHOLD) == T0


def test_resume_do_nothing_waits_for_the_next_instant() -> None:
    now = T0 + timedelta(hours=3, minutes=20)
    found = resume_fire_at(schedule("0 0 * ? * *", MisfirePolicy.DO_NOTHING), T0, now, THRESHOLD)
    assert found == T0 + timedelta(hours=4)


def test_resume_of_a_once_job() -> None:
    once = JobSchedule(frequency=Frequency.ONCE, misfire_policy=MisfirePolicy.DO_NOTHING)
    assert resume_fire_at(once, T0, T0 + timedelta(hours=1), THRESHOLD) is None
    assert resume_fire_at(once, T0, T0 + timedelta(seconds=30), THRESHOLD) == T0
    fire_once = JobSchedule(frequency=Frequency.ONCE)
    assert resume_fire_at(fire_once, T0, T0 + timedelta(hours=1), THRESHOLD) == T0
    assert resume_fire_at(fire_once, None, T0, THRESHOLD) is None


def test_backfill_instants_are_the_half_open_range_oldest_first() -> None:
    quarter = schedule("0 */15 * ? * *")
    found = instants_between(quarter, T0, T0 + timedelta(hours=1), 100)
    assert found == [T0 + timedelta(minutes=15 * i) for i in range(4)]
    assert instants_between(quarter, T0 + timedelta(seconds=1), T0 + timedelta(minutes=15), 9) == []
    assert count_instants(quarter, T0, T0 + timedelta(days=1)) == 96


def test_backfill_over_a_dst_change_counts_real_instants() -> None:
    # Europe/Berlin springs forward on 2026-03-29: that day has 23 hours, 92 quarter hours
    day = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # local midnight
    assert count_instants(schedule("0 */15 * ? * *"), day, day + timedelta(hours=23)) == 92


def test_backfill_counts_stop_past_the_limit() -> None:
    every_second = schedule("* * * ? * *")
    assert count_instants(every_second, T0, T0 + timedelta(days=1)) == MAX_INSTANTS + 1
