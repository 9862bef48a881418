"""Operations (issue 16, design §3.7): readiness, metrics, never-firing cron expressions, the
executor's stop (hand back, grace, stop and hand back), queued leases renewed by the
heartbeat, and loops that survive their errors."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from batchscore.clock import FakeClock
from batchscore.composition.app import create_app
from batchscore.domain.jobs import ExecutionStatus
from batchscore.errors import StoreUnavailable
from batchscore.execution.lifecycle import ClaimedExecution
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.background import Background
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store import instances as instances_repo
from batchscore.store.db import Database
from batchscore.store.tables import executions
from batchscore.testing import CollectingHandoff
from tests.integration.conftest import World, periodic_job
from tests.integration.live_server import wait_until

BASE = "/service/zementis"


def every(cron: str, **extra: Any) -> dict[str, Any]:
    schedule = {
        "frequency": "periodic",
        "cronExpression": cron,
        "timeZone": "UTC",
        "dataFromPreviousNSeconds": 60,
    }
    return {**schedule, **extra}


# --- never-firing cron expressions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("0 0 12 31 2 ?", "no date from now until the end of 2099 matches its fields"),
        ("0 0 12 ? * * 2020", "its year field lies in the past"),
        ("0 0 12 1 1 ? 2026", "no date from now until the end of 2099 matches its fields"),
    ],
)
def test_a_cron_expression_that_never_fires_is_refused_naming_the_field(
    client: TestClient, admin: dict[str, str], world: World, cron: str, reason: str
) -> None:
    # the clock stands at 2026-01-14 12:00 UTC: 12:00 on 1 January 2026 has passed
    message = f"cronExpression '{cron}' will never fire: {reason}."
    body = periodic_job(world)
    body["jobSchedule"] = every(cron)
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert (r.status_code, r.json()) == (400, {"errors": [message]})
    r = client.get(f"{BASE}/schedule/preview", params={"cronExpression": cron}, headers=admin)
    assert (r.status_code, r.json()) == (400, {"errors": [message]})
    assert client.get(f"{BASE}/jobs", headers=admin).json() == []


def test_other_problems_are_reported_with_the_never_firing_one(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    body = periodic_job(world, jobName="")
    body["jobSchedule"] = every("0 0 12 31 2 ?")
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 400
    assert r.json()["errors"] == [
        "jobName must not be empty.",
        "cronExpression '0 0 12 31 2 ?' will never fire: no date from now until the end of "
        "2099 matches its fields.",
    ]


def test_an_expression_that_still_fires_this_year_is_accepted(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    body = periodic_job(world)
    body["jobSchedule"] = every("0 0 12 15 1 ? 2026")  # tomorrow, then never again
    assert client.post(f"{BASE}/job", json=body, headers=admin).status_code == 201


# --- readiness -----------------------------------------------------------------------------


def test_health_ready_names_database_and_scheduler(services: Services) -> None:
    background = Background(services)
    app = create_app(services, background=background)
    with TestClient(app) as http:
        r = http.get("/health/ready")
        assert r.status_code == 200  # no scheduler in this process: the database decides
        assert r.json()["scheduler"] == {"status": "OFF"}
        assert r.json()["database"] == "UP"
        assert r.json()["instance"] == services.lifecycle.owner

        background.scheduling = True  # as if it ran the loop, which has not ticked yet
        r = http.get("/health/ready")
        assert r.status_code == 503
        assert r.json()["status"] == "DOWN"
        assert r.json()["scheduler"]["status"] == "DOWN"
        background.scheduler.tick()
        r = http.get("/health/ready")
        assert (r.status_code, r.json()["scheduler"]["status"]) == (200, "UP")
        limit = 3 * services.settings.scheduler_interval_s + 10
        assert r.json()["scheduler"]["limitSeconds"] == limit
        assert background.scheduler.last_tick is not None
        background.scheduler.last_tick -= limit + 1  # the last tick is too old
        assert http.get("/health/ready").status_code == 503
        assert http.get("/health").status_code == 200  # liveness does not care


def test_health_ready_is_down_without_the_database(services: Services) -> None:
    app = create_app(services)
    original = services.db.read

    def unavailable() -> Any:
        raise StoreUnavailable("The database is not available; try again shortly.")

    with TestClient(app) as http:
        services.db.read = unavailable  # type: ignore[method-assign]
        try:
            r = http.get("/health/ready")
        finally:
            services.db.read = original  # type: ignore[method-assign]
    assert r.status_code == 503
    assert (r.json()["status"], r.json()["database"]) == ("DOWN", "DOWN")


# --- metrics -------------------------------------------------------------------------------


def scrape(client: TestClient, headers: dict[str, str]) -> dict[str, float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_metrics_count_fires_executions_records_and_requests(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
) -> None:
    before = scrape(client, admin)
    body = periodic_job(world)
    job = client.post(f"{BASE}/job", json=body, headers=admin).json()
    assert client.post(f"{BASE}/job/{job['jobId']}/run", headers=admin).status_code == 201
    services.executor.shutdown()  # waits for the run
    after = scrape(client, admin)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew("batchscore_fires_total{how=manual}") == 1
    assert grew("batchscore_executions_total{status=Warning}") == 1  # no data in the window
    assert grew("batchscore_execution_duration_seconds_count{status=Warning}") == 1
    assert grew("batchscore_source_read_seconds_count{}") == 2  # two devices read
    assert grew("batchscore_fire_lateness_seconds_count{}") == 1
    route = "method=POST,route=/service/zementis/job/{jobId}/run,status=201"
    assert grew(f"batchscore_http_request_duration_seconds_count{{{route}}}") == 1
    assert "batchscore_executor_queued{}" in after
    assert "batchscore_scheduler_last_tick_timestamp_seconds{}" in after
    text = client.get("/metrics", headers=admin).text
    assert "# HELP batchscore_action_deliveries_total" in text  # the hook, zero until used


def test_metrics_need_an_admin_or_the_token(
    db: Database,
    clock: FakeClock,
    settings: Settings,
    admin: dict[str, str],
    reader: dict[str, str],
) -> None:
    tokened = settings.model_copy(update={"metrics_token": SecretStr("s3cret-token")})
    services = Services.build(tokened, db, clock)
    try:
        with TestClient(create_app(services)) as http:
            assert http.get("/metrics").status_code == 401
            assert http.get("/metrics", headers=reader).status_code == 403
            wrong = {"Authorization": "Bearer nope"}
            assert http.get("/metrics", headers=wrong).status_code == 401
            assert http.get("/metrics", headers=admin).status_code == 200
            right = {"Authorization": "Bearer s3cret-token"}
            r = http.get("/metrics", headers=right)
            assert r.status_code == 200
            assert "batchscore_fires_total" in r.text
    finally:
        services.close()


# --- the executor's stop -------------------------------------------------------------------


class Gate:
    """Blocks the execution thread in its first read until opened (a long execution)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()


def blocking_source(services: Services, gate: Gate) -> None:
    read = services.source.read

    def slow_read(*args: Any, **kwargs: Any) -> Any:
        gate.entered.set()
        gate.open.wait(30)
        return read(*args, **kwargs)

    services.source.read = slow_read  # type: ignore[method-assign]


def owned(db: Database, ids: list[int]) -> list[tuple[str | None, bool]]:
    with db.read() as conn:
        rows = conn.execute(
            select(executions.c.lease_owner, executions.c.started_at)
            .where(executions.c.id.in_(ids))
            .order_by(executions.c.id)
        ).all()
    return [(r.lease_owner, r.started_at is not None) for r in rows]


def fired(
    services: Services, client: TestClient, admin: dict[str, str], world: World
) -> list[ClaimedExecution]:
    """Two jobs fired by a scheduler of this instance, not handed to the executor yet."""
    claims = []
    for name in ("a", "b"):
        body = periodic_job(world, jobName=name)
        body["jobSchedule"] = every("0 * * ? * *")
        assert client.post(f"{BASE}/job", json=body, headers=admin).status_code == 201
    held = CollectingHandoff()
    scheduler = Scheduler(services.db, services.clock, held, lifecycle=services.lifecycle)
    assert isinstance(services.clock, FakeClock)
    services.clock.advance(60)
    scheduler.tick()
    claims = list(held.items)
    assert len(claims) == 2
    return claims


def test_a_stop_hands_back_the_queue_and_lets_the_running_finish(
    client: TestClient, admin: dict[str, str], world: World, settings: Settings, db: Database,
    clock: FakeClock,
) -> None:  # fmt: skip
    services = Services.build(settings.model_copy(update={"workers": 1}), db, clock)
    gate = Gate()
    blocking_source(services, gate)
    first, second = fired(services, client, admin, world)
    services.executor.submit(first)
    services.executor.submit(second)  # queued behind the first (one worker thread)
    assert gate.entered.wait(10)
    threading.Timer(0.5, gate.open.set).start()  # the running one finishes within the grace
    services.executor.stop(grace=10)
    assert owned(db, [first.id, second.id]) == [(None, True), (None, False)]
    with db.read() as conn:
        statuses = [
            r.status
            for r in conn.execute(select(executions.c.status).order_by(executions.c.id)).all()
        ]
    assert statuses == ["Warning", "Running"]  # the second was handed back, never started
    services.close()


def test_a_stop_past_the_grace_stops_and_hands_back_the_running(
    client: TestClient, admin: dict[str, str], world: World, settings: Settings, db: Database,
    clock: FakeClock,
) -> None:  # fmt: skip
    services = Services.build(settings.model_copy(update={"workers": 1}), db, clock)
    gate = Gate()
    blocking_source(services, gate)
    first, _ = fired(services, client, admin, world)
    services.executor.submit(first)
    assert gate.entered.wait(10)
    threading.Timer(1.0, gate.open.set).start()  # returns only after the grace
    began = time.monotonic()
    services.executor.stop(grace=0.2)
    assert time.monotonic() - began < 8
    assert owned(db, [first.id]) == [(None, False)]  # a claim again, for anyone to take over
    other = Services.build(settings, db, clock)
    try:
        recovery = other.lifecycle.recover(clock.now())
        assert [e.id for e in recovery.adopted] == [first.id]
        other.executor.submit(recovery.adopted[0])
        other.executor.shutdown()
        history = other.jobs.history("t1", str(first.job_id))
        assert [(r.number, r.status) for r in history] == [(1, ExecutionStatus.WARNING)]
    finally:
        other.close()
        services.close()


def test_the_heartbeat_renews_the_leases_of_queued_executions(
    client: TestClient, admin: dict[str, str], world: World, settings: Settings, db: Database,
    clock: FakeClock,
) -> None:  # fmt: skip
    services = Services.build(settings.model_copy(update={"workers": 1}), db, clock)
    gate = Gate()
    blocking_source(services, gate)
    first, second = fired(services, client, admin, world)
    services.executor.submit(first)
    services.executor.submit(second)
    assert gate.entered.wait(10)
    assert services.executor.queued_ids() == [second.id]
    claimed_until = lease_until(db, second.id)
    clock.advance(timedelta(minutes=4))
    services.heartbeat.beat()  # renews the queued one's lease: now + 5 minutes
    assert lease_until(db, second.id) == clock.now() + timedelta(minutes=5) > claimed_until
    clock.advance(timedelta(minutes=2))  # past the lease the queued execution was claimed with
    with db.write() as conn:  # the instance is alive (a bare heartbeat, no renewal)
        instances_repo.beat(conn, instances_repo.InstanceRow(
            services.lifecycle.owner, "serve", "h", 1, clock.now(), clock.now()
        ))  # fmt: skip
    other = Services.build(settings, db, clock)
    try:
        assert other.lifecycle.recover(clock.now()).adopted == ()  # still this instance's
    finally:
        gate.open.set()
        services.executor.shutdown()
        services.close()
        other.close()


def lease_until(db: Database, execution_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(
            select(executions.c.lease_until).where(executions.c.id == execution_id)
        ).scalar_one()


def test_the_scheduler_loop_survives_database_errors(
    services: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error between ticks (the hand-off) and in a tick: logged, backed off, retried."""
    scheduler = Scheduler(services.db, clock, CollectingHandoff(), lifecycle=services.lifecycle)
    calls = {"tick": 0, "release": 0}
    tick, release = scheduler.tick, scheduler.release

    def failing_tick() -> Any:
        calls["tick"] += 1
        if calls["tick"] <= 2:
            raise StoreUnavailable("The database is not available; try again shortly.")
        return tick()

    def failing_release(now: Any) -> int:
        calls["release"] += 1
        if calls["release"] == 1:
            raise RuntimeError("between ticks")
        return release(now)

    monkeypatch.setattr(scheduler, "tick", failing_tick)
    monkeypatch.setattr(scheduler, "release", failing_release)
    monkeypatch.setattr(scheduler, "next_release", clock.now)  # always something due
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop, 0.2), daemon=True)
    thread.start()
    try:
        wait_until(lambda: scheduler.last_tick is not None, "a tick succeeding", timeout=20)
        wait_until(lambda: calls["release"] >= 2, "a hand-off after the failed one", timeout=20)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert calls["tick"] >= 3
