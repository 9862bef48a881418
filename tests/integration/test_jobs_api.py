"""The Jobs API of the seed document, field for field, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from batchscore.service.container import Services
from batchscore.store.tables import executions, jobs
from tests.integration.conftest import CANONICAL, SENSORS, World, periodic_job, upload_model

BASE = "/service/zementis"


def create(client: TestClient, auth: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"{BASE}/job", json=body, headers=auth)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_create_periodic_job_echoes_the_seed_shape(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    job = create(client, admin, periodic_job(world))
    assert isinstance(job["jobId"], int)
    assert job == {
        "jobId": job["jobId"],
        "jobName": "Job1",
        "jobDescription": "DemoJob",
        "jobCreationDate": "2026-01-14T12:00:00.000Z",
        "associatedModel": "IsolationForest",
        "associatedGroupOrDeviceId": world.group,
        "modelToDeviceMappings": CANONICAL,
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": "0 0 5 1/1 * ? *",
            "timeZone": "Asia/Calcutta",
            "dataFromPreviousNSeconds": 18000,
            "scheduleAt": None,
            "dataFrom": None,
            "dataTo": None,
        },
    }


def test_seed_post_example_with_reversed_mapping(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    upload_model(
        client,
        admin,
        "ActivityRecognitionModel",
        ["accelerationX", "accelerationY", "accelerationZ"],
    )
    reversed_mapping = {
        "c8y_Acceleration.c8y_AccelerationX.value": "accelerationX",
        "c8y_Acceleration.c8y_AccelerationY.value": "accelerationY",
        "c8y_Acceleration.c8y_AccelerationZ.value": "accelerationZ",
    }
    body = {
        "jobName": "SampleJob",
        "jobDescription": "SampleDescription",
        "associatedGroupOrDeviceId": world.device,
        "associatedModel": "ActivityRecognitionModel",
        "modelToDeviceMappings": reversed_mapping,
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": "10 * * ? * *",
            "dataFromPreviousNSeconds": 10,
            "timeZone": "Asia/Kolkata",
        },
    }
    job = create(client, admin, body)
    assert job["modelToDeviceMappings"] == reversed_mapping
    assert job["jobSchedule"] == {
        "frequency": "periodic",
        "cronExpression": "10 * * ? * *",
        "timeZone": "Asia/Kolkata",
        "dataFromPreviousNSeconds": 10,
        "scheduleAt": None,
        "dataFrom": None,
        "dataTo": None,
    }
    assert "jobStatus" not in job
    # Stored canonically: the scheduler sees model input -> path.
    svc: Services = client.app.state.services  # type: ignore[attr-defined]
    stored = svc.jobs.get("t1", str(job["jobId"]))
    assert stored.mappings == {
        "accelerationX": "c8y_Acceleration.c8y_AccelerationX.value",
        "accelerationY": "c8y_Acceleration.c8y_AccelerationY.value",
        "accelerationZ": "c8y_Acceleration.c8y_AccelerationZ.value",
    }


def test_create_once_job(client: TestClient, admin: dict[str, str], world: World) -> None:
    schedule = {
        "frequency": "once",
        "scheduleAt": "2026-01-15T14:14:56.235+05:30",
        "dataFrom": "2026-01-14T12:01:55.235+05:30",
        "dataTo": "2026-01-15T12:01:55.235+05:30",
    }
    job = create(client, admin, periodic_job(world, jobSchedule=schedule))
    assert job["jobSchedule"] == {
        "frequency": "once",
        "cronExpression": None,
        "timeZone": None,
        "dataFromPreviousNSeconds": None,
        **{k: v for k, v in schedule.items() if k != "frequency"},
    }


def test_list_get_and_delete(client: TestClient, admin: dict[str, str], world: World) -> None:
    first = create(client, admin, periodic_job(world))
    second = create(client, admin, periodic_job(world, jobName="Job2"))
    listed = client.get(f"{BASE}/jobs", headers=admin).json()
    assert [j["jobId"] for j in listed] == [first["jobId"], second["jobId"]]
    assert client.get(f"{BASE}/job/{first['jobId']}", headers=admin).json() == first
    paged = client.get(f"{BASE}/jobs?pageSize=1&currentPage=2", headers=admin).json()
    assert [j["jobId"] for j in paged] == [second["jobId"]]

    r = client.delete(f"{BASE}/job/{first['jobId']}", headers=admin)
    assert r.status_code == 200
    assert r.json() == [second]
    r = client.get(f"{BASE}/job/{first['jobId']}", headers=admin)
    assert r.status_code == 404
    assert r.json() == {"errors": [f"Zementis job ID '{first['jobId']}' not found."]}
    r = client.delete(f"{BASE}/jobs", headers=admin)
    assert (r.status_code, r.json()) == (200, [])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/job/00000"),
        ("GET", "/job/00000/history"),
        ("PUT", "/job/00000/history"),
        ("GET", "/job/00000/history/1"),
        ("GET", "/job/00000/history/1/inferences"),
        ("GET", "/job/00000/status"),
        ("DELETE", "/job/00000"),
    ],
)
def test_unknown_job_is_404_with_the_id_as_given(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    r = client.request(method, BASE + path, headers=admin)
    assert r.status_code == 404
    assert r.json() == {"errors": ["Zementis job ID '00000' not found."]}


def test_unknown_execution_is_404(client: TestClient, admin: dict[str, str], world: World) -> None:
    job = create(client, admin, periodic_job(world))
    for suffix in ("", "/inferences"):
        r = client.get(f"{BASE}/job/{job['jobId']}/history/0{suffix}", headers=admin)
        assert r.status_code == 404
        assert r.json() == {"errors": ["Job Execution number 0 does not exist."]}
    r = client.get(f"{BASE}/job/{job['jobId']}/history", headers=admin)
    assert (r.status_code, r.json()) == (200, [])
    r = client.get(f"{BASE}/job/{job['jobId']}/status", headers=admin)
    assert r.json() == {"jobExecutionStatus": "Pending", "jobExecutionDuration": ""}


def _add_execution(
    services: Services, job_id: int, number: int, status: str, messages: list[str], ms: int
) -> None:
    started = datetime(2019, 9, 23, 15, 39, 15, tzinfo=UTC)
    ended = datetime(2019, 9, 23, 15, 39, 19, 51000, tzinfo=UTC)
    with services.db.write() as conn:
        conn.execute(
            insert(executions).values(
                job_id=job_id,
                tenant_id="t1",
                number=number,
                scheduled_at=started.replace(minute=number),
                is_group=True,
                status=status,
                messages=messages,
                started_at=started,
                ended_at=ended,
                duration_ms=ms,
                record_count=0,
            )
        )
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(last_status=status, last_duration_ms=ms, execution_count=number)
        )


def test_history_and_status_follow_the_last_execution(
    client: TestClient, admin: dict[str, str], world: World, services: Services
) -> None:
    job = create(client, admin, periodic_job(world))
    job_id = job["jobId"]
    warning = "The device 107742 was not active or sending any measurements during the time specified for data range"  # noqa: E501
    _add_execution(services, job_id, 1, "Success", [], 4051)
    _add_execution(services, job_id, 2, "Warning", [warning], 392)
    history = client.get(f"{BASE}/job/{job_id}/history", headers=admin).json()
    assert history[0] == {
        "jobId": job_id,
        "jobExecutionNumber": 1,
        "isExecutionForDeviceGroup": True,
        "jobExecutionStartTime": "2019-09-23T15:39:15Z",
        "jobExecutionEndTime": "2019-09-23T15:39:19.051Z",
        "jobExecutionDuration": "4051",
        "jobExecutionStatus": "Success",
        "jobExecutionStatusMessage": [],
    }
    assert history[1]["jobExecutionStatusMessage"] == [warning]
    one = client.get(f"{BASE}/job/{job_id}/history/2", headers=admin).json()
    assert one == history[1]
    listed = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    assert (listed["jobStatus"], listed["lastExecutionDuration"]) == ("Warning", "392")
    status = client.get(f"{BASE}/job/{job_id}/status", headers=admin).json()
    assert status == {"jobExecutionStatus": "Warning", "jobExecutionDuration": "392"}
    page = client.get(f"{BASE}/job/{job_id}/history/1/inferences?currentPage=3", headers=admin)
    assert page.json() == {"inferenceCollection": [], "currentPage": 3}
    bad = client.get(f"{BASE}/job/{job_id}/history/1/inferences?currentPage=x", headers=admin)
    assert bad.status_code == 400
    assert "errors" in bad.json()


def test_deleting_a_job_deletes_its_executions(
    client: TestClient, admin: dict[str, str], world: World, services: Services
) -> None:
    job = create(client, admin, periodic_job(world))
    _add_execution(services, job["jobId"], 1, "Success", [], 10)
    client.delete(f"{BASE}/job/{job['jobId']}", headers=admin)
    with services.db.read() as conn:
        left = conn.execute(executions.select()).all()
    assert left == []


def test_seed_invalid_frequency(client: TestClient, admin: dict[str, str], world: World) -> None:
    body = periodic_job(world)
    body["jobSchedule"]["frequency"] = "Invalid"
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 400
    assert r.json() == {"errors": ["frequency can be either once or periodic."]}


def test_seed_unknown_model_is_404(client: TestClient, admin: dict[str, str]) -> None:
    body = {
        "jobName": "SampleJob",
        "jobDescription": "SampleDescription",
        "associatedGroupOrDeviceId": 123456,
        "associatedModel": "Dummy",
        "modelToDeviceMappings": {
            "c8y_Acceleration.c8y_AccelerationX.value": "accelerationX",
        },
        "jobSchedule": {
            "frequency": "once",
            "scheduleAt": "2019-10-05T14:14:56.235+05:30",
            "dataFrom": "2019-10-04T12:01:55.235+05:30",
            "dataTo": "2019-10-05T12:01:55.235+05:30",
        },
    }
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 404
    assert r.json() == {"errors": ["Model 'Dummy' not found."]}


def test_unknown_target_is_404(client: TestClient, admin: dict[str, str], world: World) -> None:
    r = client.post(
        f"{BASE}/job", json=periodic_job(world, associatedGroupOrDeviceId=987654), headers=admin
    )
    assert r.status_code == 404
    assert r.json() == {
        "errors": ["Device or group with id 987654 does not exist or it is invalid"]
    }


def test_every_problem_is_reported_at_once(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    body = periodic_job(
        world,
        jobName=7,
        associatedGroupOrDeviceId="abc",
        modelToDeviceMappings={"accelerationX": "not-a-path"},
        jobSchedule={
            "frequency": "periodic",
            "cronExpression": "0 0 5 * * *",
            "timeZone": "Mars/Olympus",
            "dataFromPreviousNSeconds": -5,
        },
    )
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert "jobName must be a string." in errors
    assert "associatedGroupOrDeviceId must be a positive integer." in errors
    assert any("'not-a-path' is not a measurement path" in e for e in errors)
    assert any("cronExpression" in e or "day-of" in e for e in errors)
    assert "timeZone 'Mars/Olympus' is not a known IANA time zone." in errors
    assert "dataFromPreviousNSeconds must be a positive integer." in errors
    assert all(e.endswith(".") for e in errors)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"frequency": "periodic"}, "cronExpression is required for a periodic job."),
        ({"frequency": "periodic"}, "timeZone is required for a periodic job."),
        (
            {"frequency": "periodic"},
            "dataFromPreviousNSeconds is required for a periodic job.",
        ),
        (
            {"frequency": "once", "dataTo": "2026-01-01T00:00:00Z"},
            "dataFrom is required for a once job.",
        ),
        (
            {
                "frequency": "once",
                "dataFrom": "2026-01-02T00:00:00Z",
                "dataTo": "2026-01-01T00:00:00Z",
            },
            "dataFrom must be before dataTo.",
        ),
        (
            {"frequency": "once", "dataFrom": "yesterday", "dataTo": "2026-01-01T00:00:00Z"},
            "dataFrom must be an ISO-8601 instant with a UTC offset.",
        ),
        (
            {
                "frequency": "once",
                "dataFrom": "2026-01-01T00:00:00",
                "dataTo": "2026-01-02T00:00:00Z",
            },
            "dataFrom must be an ISO-8601 instant with a UTC offset.",
        ),
        (
            {
                "frequency": "once",
                "dataFrom": "1969-12-31T00:00:00Z",
                "dataTo": "2026-01-01T00:00:00Z",
            },
            "dataFrom must lie between 1970-01-01 and 2100-01-01.",
        ),
        (
            {
                "frequency": "once",
                "scheduleAt": "2100-01-01T00:00:00Z",
                "dataFrom": "2026-01-01T00:00:00Z",
                "dataTo": "2026-01-02T00:00:00Z",
            },
            "scheduleAt must lie between 1970-01-01 and 2100-01-01.",
        ),
        (
            {
                "frequency": "periodic",
                "cronExpression": "0 * * ? * *",
                "timeZone": "UTC",
                "dataFromPreviousNSeconds": 60,
                "misfirePolicy": "sometimes",
            },
            "misfirePolicy can be either fireOnceNow or doNothing.",
        ),
        (
            {
                "frequency": "periodic",
                "cronExpression": "0 * * ? * *",
                "timeZone": "UTC",
                "dataFromPreviousNSeconds": True,
            },
            "dataFromPreviousNSeconds must be a positive integer.",
        ),
        ({"frequency": None}, "frequency can be either once or periodic."),
    ],
)
def test_schedule_validation(
    client: TestClient, admin: dict[str, str], world: World, schedule: dict[str, Any], expected: str
) -> None:
    r = client.post(f"{BASE}/job", json=periodic_job(world, jobSchedule=schedule), headers=admin)
    assert r.status_code == 400, r.text
    assert expected in r.json()["errors"]


@pytest.mark.parametrize(
    "cron",
    ["0 0 5 * * *", "0 0 5 ? * ?", "* * *", "0 0 25 ? * *", "0 0 5 ? * 8", "0 0 5 ? JAN-XYZ *"],
)
def test_invalid_cron_is_400_naming_the_problem(
    client: TestClient, admin: dict[str, str], world: World, cron: str
) -> None:
    body = periodic_job(world)
    body["jobSchedule"]["cronExpression"] = cron
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert errors
    assert all(isinstance(e, str) and e.endswith(".") for e in errors)


def test_mapping_must_name_model_inputs(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    mapping = dict(CANONICAL)
    mapping["temperature"] = "c8y_Temp.T.value"
    del mapping["gyroZ"]
    r = client.post(
        f"{BASE}/job", json=periodic_job(world, modelToDeviceMappings=mapping), headers=admin
    )
    assert r.status_code == 400
    assert r.json()["errors"] == [
        "modelToDeviceMappings: 'temperature' is not an input field of the model "
        "'IsolationForest'.",
        "modelToDeviceMappings: the model input 'gyroZ' is required but not mapped.",
    ]


def test_optional_inputs_need_no_mapping(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    from batchscore.testing import regression_pmml

    pmml = regression_pmml("WithDefault", ["a", "b"], optional=["b"])
    assert client.post(f"{BASE}/model", content=pmml, headers=admin).status_code == 201
    body = periodic_job(
        world, associatedModel="WithDefault", modelToDeviceMappings={"a": "f.s.value"}
    )
    assert client.post(f"{BASE}/job", json=body, headers=admin).status_code == 201


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b"", 400),
        (b"[1, 2]", 400),
        (b'{"jobName": NaN}', 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
    ],
)
def test_malformed_bodies_are_400_in_the_error_shape(
    client: TestClient, admin: dict[str, str], content: bytes, status: int
) -> None:
    r = client.post(
        f"{BASE}/job", content=content, headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code == status
    body = r.json()
    assert set(body) == {"errors"}
    assert body["errors"]


def test_huge_body_is_413(client: TestClient, admin: dict[str, str]) -> None:
    big = b'{"jobName": "' + b"x" * 1_100_000 + b'"}'
    r = client.post(
        f"{BASE}/job", content=big, headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert set(r.json()) == {"errors"}


def test_the_sensor_list_is_the_seed_model_inputs() -> None:
    assert list(CANONICAL) == SENSORS


def test_nul_characters_are_refused_on_every_backend(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    body = periodic_job(world, jobName="bad\u0000name")
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 400
    assert r.json() == {
        "errors": ["Text in the request must not contain the NUL character (U+0000)."]
    }
    assert client.get(f"{BASE}/model/a%00b", headers=admin).status_code == 404
    r = client.post(
        "/inventory/managedObjects", json={"name": "x\u0000", "c8y_IsDevice": {}}, headers=admin
    )
    assert r.status_code == 400
