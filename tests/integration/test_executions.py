"""Executions end to end: measurements in through the API, the corpus IsolationForest scores
them, and history and inferences read back exactly (issue 6)."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution.executor import NO_DATA
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services
from tests.conftest import IFOREST_CASE
from tests.integration.conftest import CANONICAL, World, create_device
from tests.integration.test_scheduler import Collecting

BASE = "/service/zementis"
CASE = IFOREST_CASE
OUTPUTS = ["rawAnomalyScore", "normalizedAnomalyScore", "decisionFunction", "outlier"]
T0 = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


def corpus_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with (CASE / "input.csv").open() as f:
        inputs = list(csv.DictReader(f))
    with (CASE / "expected.csv").open() as f:
        expected = list(csv.DictReader(f))
    return inputs, expected


def post_measurements(
    client: TestClient, auth: dict[str, str], device: int, rows: list[dict[str, str]]
) -> None:
    measurements = []
    for i, row in enumerate(rows):
        time = (T0 + timedelta(seconds=i)).isoformat()
        m: dict[str, Any] = {"source": {"id": str(device)}, "time": time, "type": "c8y_Motion"}
        for name, path in CANONICAL.items():
            fragment, series, _ = path.split(".")
            m.setdefault(fragment, {})[series] = {"value": float(row[name]), "unit": "m/s2"}
        measurements.append(m)
    r = client.post(
        "/measurement/measurements",
        json={"measurements": measurements},
        headers={
            **auth,
            "Content-Type": "application/vnd.com.nsn.cumulocity.measurementcollection+json",
        },
    )
    assert r.status_code == 201, r.text[:500]


def upload_iforest(client: TestClient, auth: dict[str, str]) -> None:
    """Replace the world's stand-in model with the corpus IsolationForest of the same name."""
    client.delete(f"{BASE}/model/IsolationForest", headers=auth)
    files = {"file": ("IsolationForest.pmml", (CASE / "model.pmml").read_bytes())}
    r = client.post(f"{BASE}/model", files=files, headers=auth)
    assert r.status_code == 201, r.text


def job_body(target: int, schedule: dict[str, Any]) -> dict[str, Any]:
    return {
        "jobName": "vibration",
        "jobDescription": "IsolationForest on the line",
        "associatedGroupOrDeviceId": target,
        "associatedModel": "IsolationForest",
        "modelToDeviceMappings": dict(CANONICAL),
        "jobSchedule": schedule,
    }


def expected_value(name: str, text: str) -> Any:
    if name == "outlier":
        return text == "true"
    return float(text)


def assert_matches(values: list[Any], expected: list[dict[str, str]], name: str) -> None:
    assert len(values) == len(expected)
    for got, row in zip(values, expected, strict=True):
        want = expected_value(name, row[name])
        if isinstance(want, float):
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (name, got, want)
        else:
            assert got == want


def test_group_execution_scores_pages_and_warns(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    inputs, expected = corpus_rows()
    rows_a, rows_b = inputs * 5, inputs * 5  # 1500 records each: pages split device B
    post_measurements(client, admin, world.device, rows_a)
    post_measurements(client, admin, world.device2, rows_b)
    silent = create_device(client, admin, "silent")
    client.post(
        f"/inventory/managedObjects/{world.group}/childAssets",
        json={"managedObject": {"id": str(silent)}},
        headers=admin,
    )
    upload_iforest(client, admin)
    schedule = {
        "frequency": "once",
        "dataFrom": T0.isoformat(),
        "dataTo": (T0 + timedelta(hours=1)).isoformat(),
    }
    r = client.post(f"{BASE}/job", json=job_body(world.group, schedule), headers=admin)
    assert r.status_code == 201, r.text
    job_id = r.json()["jobId"]

    handoff = Collecting()
    [started] = Scheduler(services.db, clock, handoff, lifecycle=services.lifecycle).tick().started
    clock.advance(2)
    assert services.executor.run(started) is ExecutionStatus.WARNING

    run = client.get(f"{BASE}/job/{job_id}/history/1", headers=admin).json()
    assert run["jobExecutionStatus"] == "Warning"
    assert run["jobExecutionStatusMessage"] == [NO_DATA.format(id=silent)]
    assert run["isExecutionForDeviceGroup"] is True
    # started when the executor took it up (2 s after the fire); the fake clock stood still since
    assert run["jobExecutionStartTime"] == "2026-01-14T12:00:02Z"
    assert run["jobExecutionDuration"] == "0"
    job = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    assert (job["jobStatus"], job["lastExecutionDuration"]) == ("Warning", "0")

    page1 = client.get(f"{BASE}/job/{job_id}/history/1/inferences", headers=admin).json()
    assert page1["currentPage"] == 1
    entries = page1["inferenceCollection"]
    assert [e["deviceId"] for e in entries] == [world.device, world.device2]
    assert [len(e["recordCollection"]["rawAnomalyScore"]) for e in entries] == [1500, 500]
    for entry in entries:
        assert set(entry["recordCollection"]) >= set(OUTPUTS)
        lengths = {len(v) for v in entry["recordCollection"].values()}
        assert len(lengths) == 1
        assert "time" not in entry
    for name in OUTPUTS:
        assert_matches(entries[0]["recordCollection"][name], expected * 5, name)
        assert_matches(entries[1]["recordCollection"][name], (expected * 5)[:500], name)

    page2 = client.get(
        f"{BASE}/job/{job_id}/history/1/inferences?currentPage=2&withTimestamps=true",
        headers=admin,
    ).json()
    [rest] = page2["inferenceCollection"]
    assert rest["deviceId"] == world.device2
    assert len(rest["recordCollection"]["outlier"]) == 1000
    assert rest["time"][0] == "2026-01-14T10:08:20.000Z"  # record 500 of device B
    assert len(rest["time"]) == 1000
    assert_matches(
        rest["recordCollection"]["rawAnomalyScore"], (expected * 5)[500:], "rawAnomalyScore"
    )
    page3 = client.get(f"{BASE}/job/{job_id}/history/1/inferences?currentPage=3", headers=admin)
    assert page3.json() == {"inferenceCollection": [], "currentPage": 3}

    export = client.get(f"{BASE}/job/{job_id}/history/1/inferences.csv", headers=admin)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(export.text)))
    assert lines[0][:2] == ["deviceId", "time"]
    assert len(lines) == 1 + 3000
    assert lines[1][0] == str(world.device)
    assert lines[1][1] == "2026-01-14T10:00:00.000Z"
    assert {row[0] for row in lines[1:]} == {str(world.device), str(world.device2)}


def test_periodic_window_and_deleted_model(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    inputs, expected = corpus_rows()
    post_measurements(client, admin, world.device, inputs[:120])  # 10:00:00 .. 10:01:59
    upload_iforest(client, admin)
    clock.set(T0 + timedelta(seconds=59))
    schedule = {
        "frequency": "periodic",
        "cronExpression": "0 * * ? * *",
        "timeZone": "UTC",
        "dataFromPreviousNSeconds": 60,
    }
    job_id = client.post(
        f"{BASE}/job", json=job_body(world.device, schedule), headers=admin
    ).json()["jobId"]
    scheduler = Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle)
    clock.set(T0 + timedelta(minutes=2))  # the 10:01 fire is 60 s late: still on time
    started = scheduler.tick().started
    assert [s.scheduled_at for s in started] == [T0 + timedelta(minutes=1)]
    assert services.executor.run(started[0]) is ExecutionStatus.SUCCESS
    page = client.get(f"{BASE}/job/{job_id}/history/1/inferences", headers=admin).json()
    [entry] = page["inferenceCollection"]
    # the window [10:00, 10:01) anchored at the scheduled instant holds records 0..59
    assert_matches(entry["recordCollection"]["rawAnomalyScore"], expected[:60], "rawAnomalyScore")

    client.put(f"{BASE}/model/IsolationForest/deactivate", headers=admin)
    clock.advance(60)
    [second] = scheduler.tick().started
    assert services.executor.run(second) is ExecutionStatus.FAILURE
    client.delete(f"{BASE}/model/IsolationForest", headers=admin)
    clock.advance(60)
    [third] = scheduler.tick().started
    assert services.executor.run(third) is ExecutionStatus.FAILURE
    runs = client.get(f"{BASE}/job/{job_id}/history", headers=admin).json()
    assert runs[1]["jobExecutionStatusMessage"] == [
        "The model 'IsolationForest' is inactive; activate it to score."
    ]
    assert runs[2]["jobExecutionStatusMessage"] == ["Model 'IsolationForest' not found."]
    assert client.get(f"{BASE}/job/{job_id}", headers=admin).json()["jobStatus"] == "Failure"


def test_run_now_fires_with_the_window_anchored_at_now(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    inputs, expected = corpus_rows()
    post_measurements(client, admin, world.device, inputs[:30])
    upload_iforest(client, admin)
    clock.set(T0 + timedelta(seconds=20))
    schedule = {
        "frequency": "periodic",
        "cronExpression": "0 0 5 ? * *",
        "timeZone": "Asia/Kolkata",
        "dataFromPreviousNSeconds": 10,
    }
    job_id = client.post(
        f"{BASE}/job", json=job_body(world.device, schedule), headers=admin
    ).json()["jobId"]
    r = client.post(f"{BASE}/job/{job_id}/run", headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["jobExecutionNumber"] == 1
    assert r.json()["jobExecutionStatus"] in ("Running", "Success")
    deadline = 10.0
    import time

    waited = 0.0
    while waited < deadline:
        status = client.get(f"{BASE}/job/{job_id}/status", headers=admin).json()
        if status["jobExecutionStatus"] != "Pending":
            break
        time.sleep(0.05)  # polling a condition with a deadline
        waited += 0.05
    assert status["jobExecutionStatus"] == "Success"
    page = client.get(f"{BASE}/job/{job_id}/history/1/inferences", headers=admin).json()
    [entry] = page["inferenceCollection"]
    assert_matches(
        entry["recordCollection"]["decisionFunction"], expected[10:20], "decisionFunction"
    )


def test_run_now_refuses_a_running_job(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    upload_iforest(client, admin)
    schedule = {
        "frequency": "periodic",
        "cronExpression": "0 * * ? * *",
        "timeZone": "UTC",
        "dataFromPreviousNSeconds": 60,
    }
    job_id = client.post(
        f"{BASE}/job", json=job_body(world.device, schedule), headers=admin
    ).json()["jobId"]
    clock.advance(60)
    assert (
        len(
            Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle).tick().started
        )
        == 1
    )
    r = client.post(f"{BASE}/job/{job_id}/run", headers=admin)
    assert r.status_code == 409
    assert r.json() == {
        "errors": ["The job is already running; try again when its execution ends."]
    }


@pytest.mark.parametrize("suffix", ["inferences", "inferences.csv"])
def test_inferences_of_unknown_execution(
    client: TestClient, admin: dict[str, str], suffix: str
) -> None:
    r = client.get(f"{BASE}/job/000/history/1/{suffix}", headers=admin)
    assert r.json() == {"errors": ["Zementis job ID '000' not found."]}
