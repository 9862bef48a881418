"""The rendered-JSON caches of GET /jobs and of inference pages never serve a stale answer."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services
from tests.integration.conftest import SENSORS, World, periodic_job
from tests.integration.test_executions import T0, job_body, post_measurements
from tests.integration.test_scheduler import Collecting

BASE = "/service/zementis"
ROW = dict.fromkeys(SENSORS, "1.5")
ONCE = {
    "frequency": "once",
    "dataFrom": T0.isoformat(),
    "dataTo": (T0 + timedelta(hours=1)).isoformat(),
}


def test_job_list_follows_status_changes_deletes_and_reused_ids(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    created = [
        client.post(f"{BASE}/job", json=periodic_job(world, jobName=f"J{i}"), headers=admin).json()
        for i in range(3)
    ]
    first = client.get(f"{BASE}/jobs", headers=admin)
    assert first.headers["content-type"] == "application/json"
    assert first.json() == created
    assert client.get(f"{BASE}/jobs", headers=admin).content == first.content

    # A finished execution changes the job's status and duration in the list.
    post_measurements(client, admin, world.device, [ROW] * 3)
    run_job = client.post(f"{BASE}/job", json=job_body(world.device, ONCE), headers=admin).json()
    assert "jobStatus" not in client.get(f"{BASE}/jobs", headers=admin).json()[-1]
    [started] = (
        Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle).tick().started
    )
    clock.advance(1)
    services.executor.run(started)
    listed = client.get(f"{BASE}/jobs", headers=admin).json()[-1]
    single = client.get(f"{BASE}/job/{run_job['jobId']}", headers=admin).json()
    assert listed == single
    assert listed["jobStatus"] in ("Success", "Warning")

    # Deleting the newest job and creating another may reuse its id on SQLite: the list shows
    # the new job, not the cached rendering of the old one.
    client.delete(f"{BASE}/job/{run_job['jobId']}", headers=admin)
    renamed = periodic_job(world, jobName="Replacement")
    clock.advance(1)
    replacement = client.post(f"{BASE}/job", json=renamed, headers=admin).json()
    names = [j["jobName"] for j in client.get(f"{BASE}/jobs", headers=admin).json()]
    assert names == ["J0", "J1", "J2", "Replacement"]
    assert client.get(f"{BASE}/jobs", headers=admin).json()[-1] == replacement

    paged = client.get(f"{BASE}/jobs?pageSize=2&currentPage=2", headers=admin).json()
    assert [j["jobName"] for j in paged] == ["J2", "Replacement"]


def test_job_lists_are_per_tenant(
    client: TestClient, admin: dict[str, str], other_admin: dict[str, str], world: World
) -> None:
    client.post(f"{BASE}/job", json=periodic_job(world), headers=admin)
    assert len(client.get(f"{BASE}/jobs", headers=admin).json()) == 1
    assert client.get(f"{BASE}/jobs", headers=other_admin).json() == []


def test_inference_pages_of_deleted_executions_are_not_served(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    post_measurements(client, admin, world.device, [ROW] * 4)
    job = client.post(f"{BASE}/job", json=job_body(world.device, ONCE), headers=admin).json()
    [started] = (
        Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle).tick().started
    )
    clock.advance(1)
    assert services.executor.run(started).finished
    path = f"{BASE}/job/{job['jobId']}/history/1/inferences"
    page = client.get(path, headers=admin)
    assert page.status_code == 200
    [entry] = page.json()["inferenceCollection"]
    assert entry["deviceId"] == world.device
    assert client.get(path, headers=admin).content == page.content
    stamped = client.get(f"{path}?withTimestamps=true", headers=admin).json()
    assert len(stamped["inferenceCollection"][0]["time"]) == 4
    assert "time" not in client.get(path, headers=admin).json()["inferenceCollection"][0]
    pages = client.app.state.inference_pages  # type: ignore[attr-defined]
    assert pages.size_bytes > 0

    client.delete(f"{BASE}/job/{job['jobId']}", headers=admin)
    gone = client.get(path, headers=admin)
    assert gone.status_code == 404


def test_running_executions_are_not_cached(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job = client.post(f"{BASE}/job", json=job_body(world.device, ONCE), headers=admin).json()
    starting = Collecting(services.lifecycle)
    Scheduler(services.db, clock, starting, lifecycle=services.lifecycle).tick()
    path = f"{BASE}/job/{job['jobId']}/history/1"
    assert client.get(path, headers=admin).json()["jobExecutionStatus"] == "Running"
    assert client.get(f"{path}/inferences", headers=admin).json()["inferenceCollection"] == []
    assert client.app.state.inference_pages.size_bytes == 0  # type: ignore[attr-defined]
    assert ExecutionStatus.RUNNING.finished is False


def test_a_job_deleted_while_a_list_is_read_is_left_out(
    client: TestClient, admin: dict[str, str], world: World, services: Services
) -> None:
    ids = [
        client.post(f"{BASE}/job", json=periodic_job(world, jobName=f"J{i}"), headers=admin).json()[
            "jobId"
        ]
        for i in range(3)
    ]

    def delete_the_second_meanwhile(job_id: int, stamp: object) -> bool:
        if job_id == ids[1]:
            services.jobs.delete("t1", str(job_id))  # another connection, committed now
        return False

    listed = services.jobs.list_changed("t1", delete_the_second_meanwhile)
    assert all(job is not None for _, _, job in listed)
    assert {ids[0], ids[2]} <= {job_id for job_id, _, _ in listed}
    if services.db.engine.dialect.name == "postgresql":  # each statement reads afresh
        assert [job_id for job_id, _, _ in listed] == [ids[0], ids[2]]
    assert [j["jobName"] for j in client.get(f"{BASE}/jobs", headers=admin).json()] == ["J0", "J2"]
