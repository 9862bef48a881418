"""The demo content of `make run`: seeded once, and its job scores within a minute."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient

from batchscore.clock import FakeClock
from batchscore.demo.seed import DEVICES, SILENT, Simulator, seed_demo, write_readings
from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution.executor import NO_DATA
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services
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
