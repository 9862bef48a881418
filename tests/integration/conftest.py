"""Fixtures for API tests: a tenant world with a model, devices and a group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batchscore.testing import regression_pmml

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
