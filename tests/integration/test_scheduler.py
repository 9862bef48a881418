"""The scheduler on a real database with a fake clock: fires, misfires, overlaps, leases,
and exactly-once across several instances."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution.executor import NO_DATA
from batchscore.execution.instances import Heartbeat
from batchscore.execution.lifecycle import ClaimedExecution, Lifecycle
from batchscore.scheduling.cron import next_fire_times, parse_cron
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.background import Background
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.tables import executions, jobs
from batchscore.testing import CollectingHandoff
from tests.integration.conftest import World, periodic_job

BASE = "/service/zementis"


Collecting = CollectingHandoff


def make_job(client: TestClient, admin: dict[str, str], world: World, **schedule: Any) -> int:
    body = periodic_job(world)
    body["jobSchedule"] = schedule
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["jobId"])


def history(client: TestClient, admin: dict[str, str], job_id: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.get(f"{BASE}/job/{job_id}/history", headers=admin).json()
    return result


def every_minute(**extra: Any) -> dict[str, Any]:
    return {
        "frequency": "periodic",
        "cronExpression": "0 * * ? * *",
        "timeZone": "UTC",
        "dataFromPreviousNSeconds": 60,
        **extra,
    }


def test_periodic_job_fires_at_each_instant_with_its_window(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every_minute())
    handoff = Collecting()
    scheduler = Scheduler(services.db, clock, handoff, lifecycle=services.lifecycle)
    clock.advance(30)
    assert scheduler.tick().started == ()
    clock.advance(30)
    started = scheduler.tick().started
    assert [(s.job_id, s.number) for s in started] == [(job_id, 1)]
    assert started[0].scheduled_at == datetime(2026, 1, 14, 12, 1, tzinfo=UTC)
    assert started[0].window_from == datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
    assert started[0].window_to == datetime(2026, 1, 14, 12, 1, tzinfo=UTC)
    assert scheduler.tick().started == ()  # same instant never twice
    assert history(client, admin, job_id) == []  # handed off, not started: not shown yet
    clock.advance(1)
    assert services.executor.run(handoff.items[0]) is ExecutionStatus.WARNING
    done = history(client, admin, job_id)
    assert done[0]["jobExecutionStatus"] == "Warning"
    assert done[0]["isExecutionForDeviceGroup"] is True
    assert done[0]["jobExecutionStatusMessage"] == [
        NO_DATA.format(id=world.device),
        NO_DATA.format(id=world.device2),
    ]
    assert done[0]["jobExecutionStartTime"] == "2026-01-14T12:01:01Z"
    assert done[0]["jobExecutionDuration"] == "0"
    job = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    assert (job["jobStatus"], job["lastExecutionDuration"]) == ("Warning", "0")
    clock.advance(59)
    assert [s.number for s in scheduler.tick().started] == [2]


def test_once_job_fires_once(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(
        client,
        admin,
        world,
        frequency="once",
        dataFrom="2026-01-14T10:00:00Z",
        dataTo="2026-01-14T11:00:00Z",
    )
    scheduler = Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle)
    started = scheduler.tick().started
    assert [s.job_id for s in started] == [job_id]
    assert (started[0].window_from, started[0].window_to) == (
        datetime(2026, 1, 14, 10, tzinfo=UTC),
        datetime(2026, 1, 14, 11, tzinfo=UTC),
    )
    clock.advance(timedelta(days=3))
    assert scheduler.tick().started == ()


def test_once_job_in_the_future_waits(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    make_job(
        client,
        admin,
        world,
        frequency="once",
        scheduleAt="2026-01-14T13:00:00+01:00",  # 12:00 UTC + 0 s... one hour ahead of local
        dataFrom="2026-01-14T10:00:00Z",
        dataTo="2026-01-14T11:00:00Z",
    )
    scheduler = Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle)
    assert len(scheduler.tick().started) == 1  # 13:00+01:00 is exactly now


@pytest.mark.parametrize(("policy", "fires"), [("fireOnceNow", 1), ("doNothing", 0)])
def test_misfire_policies(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    policy: str,
    fires: int,
) -> None:
    job_id = make_job(
        client,
        admin,
        world,
        frequency="periodic",
        cronExpression="0 0 * ? * *",
        timeZone="UTC",
        dataFromPreviousNSeconds=3600,
        misfirePolicy=policy,
    )
    scheduler = Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle)
    clock.advance(timedelta(hours=3, minutes=30))  # down from 12:00 to 15:30
    started = scheduler.tick().started
    assert len(started) == fires
    if fires:
        assert started[0].scheduled_at == datetime(2026, 1, 14, 15, tzinfo=UTC)
        assert started[0].window_from == datetime(2026, 1, 14, 14, tzinfo=UTC)
        assert "1800 s late (misfire)" in started[0].messages[-1]
        assert "were missed" in started[0].messages[0]
    with services.db.read() as conn:
        next_fire = conn.execute(select(jobs.c.next_fire_at).where(jobs.c.id == job_id)).scalar()
    assert next_fire == datetime(2026, 1, 14, 16, tzinfo=UTC)


def test_a_fire_meeting_a_running_execution_is_skipped(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every_minute())
    starting = Collecting(services.lifecycle)
    scheduler = Scheduler(services.db, clock, starting, lifecycle=services.lifecycle)
    clock.advance(60)
    assert len(scheduler.tick().started) == 1
    clock.advance(60)
    result = scheduler.tick()
    assert (result.started, result.skipped) == ((), 1)
    runs = history(client, admin, job_id)
    assert [r["jobExecutionStatus"] for r in runs] == ["Running", "Warning"]
    assert "still running" in runs[1]["jobExecutionStatusMessage"][0]
    assert runs[1]["jobExecutionDuration"] == "0"


def test_deleting_a_job_stops_its_fires(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every_minute())
    scheduler = Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle)
    client.delete(f"{BASE}/job/{job_id}", headers=admin)
    clock.advance(120)
    assert scheduler.tick().claimed == 0


def instance(services: Services, clock: FakeClock, name: str, **kw: Any) -> Scheduler:
    """A scheduler instance named ``name`` whose hand-off starts what it is given."""
    life = Lifecycle(services.db, clock, owner=name, lease=kw.pop("lease", timedelta(minutes=5)))
    return Scheduler(services.db, clock, Collecting(life), lifecycle=life, **kw)


def beat(services: Services, clock: FakeClock, name: str) -> None:
    Heartbeat(services.db, clock, name, "scheduler").beat()


def test_a_dead_instances_running_execution_is_interrupted_within_its_dead_after(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every_minute(cronExpression="0/30 * * ? * *"))
    dead = instance(services, clock, "dead")
    survivor = instance(services, clock, "survivor")
    clock.advance(30)
    assert len(dead.tick().started) == 1  # 12:00:30 starts on "dead"...
    beat(services, clock, "dead")  # ...whose last heartbeat is at 12:00:30
    clock.advance(15)
    result = survivor.tick()  # silent 15 s: alive
    assert (result.recovered, result.started) == (0, ())
    clock.advance(15)
    result = survivor.tick()  # 12:01:00, silent 30 s: dead; its execution ends, 12:01 fires
    assert result.recovered == 1
    assert [s.scheduled_at.second for s in result.started] == [0]
    runs = history(client, admin, job_id)
    assert [r["jobExecutionStatus"] for r in runs] == ["Failure", "Running"]
    assert runs[0]["jobExecutionStatusMessage"] == [
        "The execution was interrupted: the process running it stopped."
    ]
    # the dead instance cannot finish what it lost when it comes back
    assert not dead.lifecycle.finish(dead.handoff.items[0], ExecutionStatus.SUCCESS, [], 0)  # type: ignore[attr-defined]
    assert history(client, admin, job_id)[0]["jobExecutionStatus"] == "Failure"


def test_a_dead_instances_claims_are_taken_over_and_fire_once(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every_minute())
    dead = instance(services, clock, "dead", lookahead=timedelta(seconds=5))
    survivor = instance(services, clock, "survivor", lookahead=timedelta(seconds=5))
    clock.advance(56)
    assert dead.tick().started == ()  # 12:01:00 is claimed ahead, then "dead" dies
    beat(services, clock, "dead")
    clock.advance(4)
    assert survivor.tick().claimed == 0  # the instant belongs to "dead", alive for all we know
    assert history(client, admin, job_id) == []
    clock.advance(17)
    result = survivor.tick()  # 12:01:17: "dead" is silent for 21 s
    assert result.adopted == 1
    assert [(s.number, s.scheduled_at.minute) for s in result.started] == [(1, 1)]
    assert survivor.lifecycle.finish(result.started[0], ExecutionStatus.SUCCESS, [], 0)
    clock.advance(43)
    assert [(s.number, s.scheduled_at.minute) for s in survivor.tick().started] == [(2, 2)]
    with services.db.read() as conn:
        rows = conn.execute(
            select(executions.c.number, executions.c.scheduled_at, executions.c.lease_owner)
        ).all()
    assert [(r.number, r.scheduled_at.minute, r.lease_owner) for r in rows] == [
        (1, 1, None),  # finished
        (2, 2, "survivor"),
    ]
    # "dead" comes back and hands off its old claim, which it can neither start nor skip now:
    # the instant fired once, on the survivor.
    assert dead.release(clock.now()) == 0
    assert [r["jobExecutionNumber"] for r in history(client, admin, job_id)] == [1, 2]
    assert history(client, admin, job_id)[0]["jobExecutionStatus"] == "Success"


def test_an_expired_lease_is_the_last_resort(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    """An owner that never beat (say, a process of an older version) is recovered by lease."""
    job_id = make_job(client, admin, world, **every_minute())
    dead = instance(services, clock, "old", lease=timedelta(seconds=90))
    clock.advance(60)
    assert len(dead.tick().started) == 1  # its process "dies" with the execution running
    survivor = instance(services, clock, "survivor", lease=timedelta(seconds=90))
    clock.advance(60)
    assert survivor.tick().skipped == 1  # still leased: the fire is skipped, not queued
    clock.advance(60)
    result = survivor.tick()
    assert result.recovered == 1
    assert len(result.started) == 1
    runs = history(client, admin, job_id)
    assert runs[0]["jobExecutionStatus"] == "Failure"
    assert runs[0]["jobExecutionStatusMessage"] == [
        "The execution was interrupted: the process running it stopped."
    ]
    assert [r["jobExecutionNumber"] for r in runs] == [1, 2, 3]


ZONES = ["UTC", "Asia/Kolkata", "Europe/Berlin", "America/New_York"]


def _expected(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    expression = parse_cron(cron)
    out: list[datetime] = []
    after = start
    while True:
        nxt = next_fire_times(expression, ZoneInfo(zone), after, 200)
        for instant in nxt:
            if instant > end:
                return out
            out.append(instant.astimezone(UTC))
        after = nxt[-1]


def test_three_instances_fire_every_instant_exactly_once(
    client: TestClient, admin: dict[str, str], world: World, db: Database, clock: FakeClock
) -> None:
    """200 jobs over a simulated day on three scheduler instances; one dies mid-run."""
    crons = ["0 0/15 * ? * *", "0 0 * ? * *"]
    job_ids: dict[int, tuple[str, str]] = {}
    for i in range(200):
        cron, zone = crons[i % 2], ZONES[i % len(ZONES)]
        job_id = make_job(
            client,
            admin,
            world,
            frequency="periodic",
            cronExpression=cron,
            timeZone=zone,
            dataFromPreviousNSeconds=900,
        )
        job_ids[job_id] = (cron, zone)
    start = clock.now()
    handoff = Collecting()
    instances = [Scheduler(db, clock, handoff, batch_size=37) for _ in range(3)]

    class Killed(Exception):
        pass

    class DyingHandoff(Collecting):
        def submit(self, execution: ClaimedExecution) -> None:
            raise Killed  # dies after committing, before handing over

    instances[2].handoff = DyingHandoff()
    end = start + timedelta(days=1)
    step = timedelta(minutes=15)
    alive = list(instances)
    while clock.now() < end:
        clock.advance(step)
        errors: list[BaseException] = []

        def run(scheduler: Scheduler, errors: list[BaseException] = errors) -> None:
            try:
                scheduler.tick()
            except Killed:
                pass
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in alive]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        if clock.now() >= start + timedelta(hours=6) and len(alive) == 3:
            alive = alive[:2]  # instance 3 is gone for the rest of the day
        # executions finish quickly, so no fire meets a running one
        with db.write() as conn:
            conn.execute(
                executions.update()
                .where(executions.c.status == ExecutionStatus.RUNNING.value)
                .values(status=ExecutionStatus.SUCCESS.value)
            )

    with db.read() as conn:
        rows = conn.execute(
            select(executions.c.job_id, executions.c.scheduled_at, executions.c.number)
        ).all()
    per_job: dict[int, list[datetime]] = {}
    for row in rows:
        per_job.setdefault(row.job_id, []).append(row.scheduled_at)
    assert Counter((r.job_id, r.scheduled_at) for r in rows).most_common(1)[0][1] == 1
    total = 0
    for job_id, (cron, zone) in job_ids.items():
        expected = _expected(cron, zone, start, end)
        assert sorted(per_job.get(job_id, [])) == expected, (job_id, cron, zone)
        numbers = sorted(r.number for r in rows if r.job_id == job_id)
        assert numbers == list(range(1, len(expected) + 1))
        total += len(expected)
    assert total == 100 * 96 + 100 * 24


def test_an_instant_is_inserted_once_even_when_claimed_twice(
    client: TestClient, admin: dict[str, str], world: World, db: Database, clock: FakeClock
) -> None:
    from batchscore.store import executions as repo

    job_id = make_job(client, admin, world, **every_minute())
    now = clock.now()
    row = repo.NewExecution(
        job_id, "t1", 1, now, None, None, ExecutionStatus.RUNNING, [], now, is_group=True
    )
    with db.write() as conn:
        first = repo.insert_executions(conn, [row])
    with db.write() as conn:
        second = repo.insert_executions(conn, [row])
        assert repo.count_executions(conn) == 1
    assert list(first) == [(job_id, 1)]
    assert second == {}


def test_retention_prunes_old_executions_and_their_inferences(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    from batchscore.store.tables import inference_chunks

    job_id = make_job(client, admin, world, **every_minute())
    scheduler = Scheduler(
        services.db, clock, Collecting(), lifecycle=services.lifecycle, retention=timedelta(days=1)
    )
    clock.advance(60)
    [first] = scheduler.tick().started
    services.executor.run(first)
    with services.db.write() as conn:
        conn.execute(
            inference_chunks.insert().values(
                execution_id=first.id, seq=0, device_id=1, row_start=0, row_count=0, payload=b""
            )
        )
    clock.advance(timedelta(hours=23))
    scheduler.tick()
    assert [r["jobExecutionNumber"] for r in history(client, admin, job_id)][:1] == [1]
    clock.advance(timedelta(hours=2))  # execution 1 is now more than a day old
    scheduler.tick()
    numbers = [r["jobExecutionNumber"] for r in history(client, admin, job_id)]
    assert 1 not in numbers
    assert numbers  # the newer ones stay
    with services.db.read() as conn:
        assert conn.execute(select(inference_chunks)).all() == []
    job = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    assert job["jobStatus"] in ("Warning", "Success", "Failure")


def test_lookahead_creates_early_and_hands_off_on_time(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    every_second = every_minute(cronExpression="* * * ? * *", dataFromPreviousNSeconds=1)
    job_id = make_job(client, admin, world, **every_second)
    handoff = Collecting(services.lifecycle)
    scheduler = Scheduler(
        services.db, clock, handoff, lifecycle=services.lifecycle, lookahead=timedelta(seconds=2)
    )
    first = scheduler.tick()
    assert first.started == ()  # 12:00:01 is created ahead, not handed off yet
    assert scheduler.next_release() == datetime(2026, 1, 14, 12, 0, 1, tzinfo=UTC)
    for second in range(1, 6):
        clock.advance(1)
        result = scheduler.tick()
        assert [s.scheduled_at.second for s in result.started] == [second]
        assert result.skipped == 0  # the execution created ahead for the next second is no overlap
        with services.db.write() as conn:  # the execution finishes within its second
            conn.execute(
                executions.update()
                .where(executions.c.id == result.started[0].id)
                .values(status=ExecutionStatus.SUCCESS.value)
            )
    assert [r["jobExecutionStatus"] for r in history(client, admin, job_id)][:5] == ["Success"] * 5


def test_the_lookahead_setting_reaches_the_scheduler(
    services: Services, settings: Settings, clock: FakeClock
) -> None:
    assert Background(services).scheduler.lookahead == timedelta(seconds=5)
    tuned = Services.build(
        settings.model_copy(update={"scheduler_lookahead_s": 0.5}), services.db, clock
    )
    try:
        assert Background(tuned).scheduler.lookahead == timedelta(seconds=0.5)
    finally:
        tuned.close()


def test_a_stopped_scheduler_hands_back_what_it_claimed_ahead(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every_minute(cronExpression="* * * ? * *"))
    stopping = instance(services, clock, "stopping", lookahead=timedelta(seconds=2))
    other = instance(services, clock, "other", lookahead=timedelta(seconds=2))
    assert stopping.tick().started == ()  # 12:00:01 is claimed ahead
    assert len(stopping.hand_back_held()) == 1  # it stops: the claim goes back, unowned
    assert stopping.next_release() is None
    assert other.tick().adopted == 1  # taken over at once (no owner: nobody to wait for)
    clock.advance(1)
    [first] = other.tick().started
    assert (first.number, first.scheduled_at.second) == (1, 1)
    assert other.lifecycle.finish(first, ExecutionStatus.SUCCESS, [], 0)
    clock.advance(1)
    assert [s.scheduled_at.second for s in other.tick().started] == [2]
    assert [r["jobExecutionNumber"] for r in history(client, admin, job_id)] == [1, 2]


class Bounded(Collecting):
    """A handoff with room for ``capacity`` executions until they are ``finish``ed."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.done: list[ClaimedExecution] = []

    def room(self) -> int | None:
        with self.lock:
            return self.capacity - len(self.items)

    def finish(self, count: int) -> None:
        with self.lock:
            self.done += self.items[:count]
            del self.items[:count]


def test_instances_claim_no_more_than_their_executor_has_room_for(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    """A burst of 5 fires on one instant, two instances with room for 2 each: each takes 2,
    the fifth waits for room, and every instant still fires once (issue 9 soak finding)."""
    for _ in range(5):
        make_job(client, admin, world, **every_minute())
    clock.advance(60)
    first, second = Bounded(2), Bounded(2)
    one = Scheduler(services.db, clock, first)
    other = Scheduler(services.db, clock, second)
    assert (one.tick().claimed, other.tick().claimed) == (2, 2)
    assert one.tick().claimed == 0  # full: the fifth stays due in the database
    first.finish(1)
    later = one.tick()
    assert later.claimed == 1
    fired = first.done + first.items + second.items
    assert len({s.job_id for s in fired}) == 5
    assert {s.scheduled_at for s in fired} == {datetime(2026, 1, 14, 12, 1, tzinfo=UTC)}


def test_the_executor_reports_its_room(services: Services) -> None:
    executor = services.executor
    assert executor.backlog == 200  # the setting's default
    assert executor.room() == 200


def test_a_claim_taken_over_late_says_so(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    """A claim handed back when the last scheduler stopped runs when one starts again, once,
    with a note that it is late (beyond the misfire threshold): a Warning."""
    job_id = make_job(client, admin, world, **every_minute())
    stopping = instance(services, clock, "stopping", lookahead=timedelta(seconds=5))
    clock.advance(56)
    assert stopping.tick().started == ()  # 12:01:00 claimed ahead
    assert len(stopping.hand_back_held()) == 1  # and handed back: the cluster stops
    clock.advance(timedelta(hours=2))  # down for two hours
    later = Scheduler(
        services.db, clock, Collecting(), lifecycle=services.lifecycle, lookahead=timedelta(0)
    )
    result = later.tick()
    assert result.adopted == 1
    numbers = sorted((s.number, s.scheduled_at.hour, s.scheduled_at.minute) for s in result.started)
    assert numbers[0] == (1, 12, 1)  # the claim, run once
    claim = next(s for s in result.started if s.number == 1)
    assert claim.messages[-1].endswith("s late (taken over from a stopped instance).")
    assert services.executor.run(claim) is ExecutionStatus.WARNING
    assert history(client, admin, job_id)[0]["jobExecutionStatusMessage"][0].startswith(
        "The execution for 2026-01-14T12:01:00Z started 7"
    )
