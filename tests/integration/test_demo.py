"""The demo content of `make run`: seeded once, and its job scores within a minute."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient

from batchscore.clock import FakeClock
from batchscore.demo.seed import (
    ALARM,
    DEVICES,
    EPISODE_RATE,
    SILENT,
    Simulator,
    episode_rate,
    seed_demo,
    write_readings,
)
from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution.executor import NO_DATA
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services
from tests.conftest import START
from tests.integration.test_scheduler import Collecting

BASE = "/service/zementis"


def test_demo_job_scores_the_last_minute(
    client: TestClient, admin: dict[str, str], services: Services, clock: FakeClock
) -> None:
    demo = seed_demo(services, "t1", backfill=timedelta(minutes=5))
    again = seed_demo(services, "t1", backfill=timedelta(minutes=5))
    assert again == demo  # idempotent: same objects, no duplicates
    assert len(demo.devices) == len(DEVICES)
    members = services.inventory.devices_below("t1", services.inventory.get("t1", demo.group))
    assert len(members) == len(DEVICES) + 1
    silent = next(m for m in members if m not in demo.devices)
    assert services.inventory.get("t1", silent).name == SILENT

    # the simulator's writes: one more minute of readings up to the fire instant
    rng = np.random.default_rng(1)
    for device, rate in demo.devices.items():
        write_readings(
            services, "t1", device, clock.now(), clock.now() + timedelta(minutes=1), rate, rng
        )
    clock.advance(60)
    [started] = (
        Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle).tick().started
    )
    assert started.job_id == demo.job
    assert services.executor.run(started) is ExecutionStatus.WARNING
    run = client.get(f"{BASE}/job/{demo.job}/history/1", headers=admin).json()
    assert run["jobExecutionStatusMessage"] == [NO_DATA.format(id=silent)]
    page = client.get(f"{BASE}/job/{demo.job}/history/1/inferences", headers=admin).json()
    entries = page["inferenceCollection"]
    assert [e["deviceId"] for e in entries] == sorted(demo.devices)
    for entry in entries:
        records = entry["recordCollection"]
        assert len(records["outlier"]) == 60
        assert all(isinstance(v, bool) for v in records["outlier"])
        assert all(isinstance(v, float) for v in records["decisionFunction"])


def test_simulator_stops_promptly(services: Services) -> None:
    demo = seed_demo(services, "t1", backfill=timedelta(seconds=10))
    simulator = Simulator(services, "t1", demo)
    simulator.start()
    simulator.stop()
    assert not simulator._thread.is_alive()


def test_demo_job_raises_a_major_alarm_for_the_misbehaving_pump_and_clears_it(
    client: TestClient, admin: dict[str, str], services: Services, clock: FakeClock
) -> None:
    demo = seed_demo(services, "t1", backfill=timedelta(seconds=1))
    wild = next(device for device, rate in demo.devices.items() if rate > 0)
    scheduler = Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle)
    rng = np.random.default_rng(7)

    def minute(rate_of: dict[int, float]) -> list[dict[str, object]]:
        for device, rate in rate_of.items():
            write_readings(
                services, "t1", device, clock.now(), clock.now() + timedelta(minutes=1), rate, rng
            )
        clock.advance(60)
        [started] = scheduler.tick().started
        services.executor.run(started)
        while services.delivery.tick():
            pass
        r = client.get("/alarm/alarms", params={"type": ALARM}, headers=admin)
        return list(r.json()["alarms"])

    loose = {d: (EPISODE_RATE if d == wild else 0.0) for d in demo.devices}
    [alarm] = minute(loose)
    assert (alarm["source"]["id"], alarm["severity"], alarm["status"]) == (
        str(wild), "MAJOR", "ACTIVE"
    )  # fmt: skip
    assert "Demo pump 2's last minute" in alarm["text"]
    [alarm] = minute(dict.fromkeys(demo.devices, 0.0))
    assert alarm["status"] == "CLEARED"
    assert episode_rate(0.1, START) in (0.0, EPISODE_RATE)
    assert episode_rate(0.0, START) == 0.0
