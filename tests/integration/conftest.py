"""Fixtures for API tests: a tenant world with a model, devices and a group."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from c8y_api import CumulocityApi
from fastapi.testclient import TestClient

from batchscore.testing import regression_pmml, scratch_postgres
from tests.conftest import BACKENDS, PG_URL
from tests.integration.live_server import LiveServer, live_batchscore

SENSORS = ["accelerationX", "accelerationY", "accelerationZ", "gyroX", "gyroY", "gyroZ"]
CANONICAL = {
    "accelerationX": "c8y_Acceleration.accelerationX.value",
    "accelerationY": "c8y_Acceleration.accelerationY.value",
    "accelerationZ": "c8y_Acceleration.accelerationZ.value",
    "gyroX": "c8y_Gyroscope.gyroX.value",
    "gyroY": "c8y_Gyroscope.gyroY.value",
    "gyroZ": "c8y_Gyroscope.gyroZ.value",
}


@dataclass
class World:
    device: int
    device2: int
    group: int
    model: str


def create_device(client: TestClient, auth: dict[str, str], name: str) -> int:
    r = client.post(
        "/inventory/managedObjects", json={"name": name, "c8y_IsDevice": {}}, headers=auth
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def upload_model(client: TestClient, auth: dict[str, str], name: str, inputs: list[str]) -> None:
    r = client.post("/service/zementis/model", content=regression_pmml(name, inputs), headers=auth)
    assert r.status_code == 201, r.text


@pytest.fixture
def world(client: TestClient, admin: dict[str, str]) -> World:
    device = create_device(client, admin, "sensor-1")
    device2 = create_device(client, admin, "sensor-2")
    r = client.post(
        "/inventory/managedObjects",
        json={"name": "line-1", "type": "c8y_DeviceGroup", "c8y_IsDeviceGroup": {}},
        headers=admin,
    )
    group = int(r.json()["id"])
    for child in (device, device2):
        r = client.post(
            f"/inventory/managedObjects/{group}/childAssets",
            json={"managedObject": {"id": str(child)}},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    upload_model(client, admin, "IsolationForest", SENSORS)
    return World(device=device, device2=device2, group=group, model="IsolationForest")


def periodic_job(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "jobName": "Job1",
        "jobDescription": "DemoJob",
        "associatedGroupOrDeviceId": world.group,
        "associatedModel": world.model,
        "modelToDeviceMappings": dict(CANONICAL),
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": "0 0 5 1/1 * ? *",
            "timeZone": "Asia/Calcutta",
            "dataFromPreviousNSeconds": 18000,
        },
    }
    body.update(overrides)
    return body


# --- Cumulocity's own client (c8y-api) against a live `batchscore serve`, for the
# test_c8y_api_* modules: SQLite, and PostgreSQL when configured. ---------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def c8y_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("c8y")
    if request.param == "sqlite":
        with live_batchscore(workdir) as live:
            yield live
        return
    assert PG_URL is not None
    with (
        scratch_postgres(PG_URL, "batchscore_c8y") as url,
        live_batchscore(workdir, database_url=url) as live,
    ):
        yield live


@pytest.fixture(scope="module")
def c8y(c8y_server: LiveServer) -> Iterator[CumulocityApi]:
    """c8y-api's client, unchanged, logged in as the server's first admin."""
    server = c8y_server
    api = CumulocityApi(server.base_url, server.tenant, server.user, server.password)
    yield api
    api.session.close()


@pytest.fixture
def tag() -> str:
    """A unique word for this test's objects (a module's tests share one server)."""
    return f"t{uuid.uuid4().hex[:8]}"
