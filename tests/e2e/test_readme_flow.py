"""The README's walk-through against a live `batchscore serve` on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from batchscore.testing import regression_pmml
from tests.integration.live_server import LiveServer, live_batchscore


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_batchscore(tmp_path) as live:
        yield live
    logs = (tmp_path / "serve.log").read_text()
    assert "GET /service/zementis/jobs 200" in logs
    assert live.password not in logs


def test_readme_walk_through(server: LiveServer) -> None:
    auth = (server.user, server.password)  # plain `user:password` logs into the default tenant
    with httpx.Client(base_url=server.base_url, auth=auth, timeout=30) as http:
        device = http.post(
            "/inventory/managedObjects", json={"name": "sensor-1", "c8y_IsDevice": {}}
        )
        assert device.status_code == 201
        device_id = int(device.json()["id"])
        inputs = ["accelerationX", "accelerationY", "accelerationZ"]
        model = http.post(
            "/service/zementis/model",
            files={"file": ("activity.pmml", regression_pmml("ActivityRecognitionModel", inputs))},
        )
        assert model.status_code == 201
        job = http.post(
            "/service/zementis/job",
            json={
                "jobName": "SampleJob",
                "jobDescription": "SampleDescription",
                "associatedGroupOrDeviceId": device_id,
                "associatedModel": "ActivityRecognitionModel",
                "modelToDeviceMappings": {
                    f"c8y_Acceleration.{name}.value": name for name in inputs
                },
                "jobSchedule": {
                    "frequency": "periodic",
                    "cronExpression": "10 * * ? * *",
                    "dataFromPreviousNSeconds": 10,
                    "timeZone": "Asia/Kolkata",
                },
            },
        )
        assert job.status_code == 201, job.text
        listed = http.get("/service/zementis/jobs")
        assert [j["jobId"] for j in listed.json()] == [job.json()["jobId"]]
        assert http.get("/service/zementis/jobs", auth=("admin", "wrong")).status_code == 401


def test_readme_devices_and_their_data(server: LiveServer) -> None:
    """Steps 5 to 8 of the walk-through: groups, measurements, series, queries, alarms, events."""
    auth = (server.user, server.password)
    with httpx.Client(base_url=server.base_url, auth=auth, timeout=30) as http:
        device = http.post(
            "/inventory/managedObjects", json={"name": "sensor-1", "c8y_IsDevice": {}}
        ).json()["id"]
        group = http.post(
            "/inventory/managedObjects", json={"name": "line-1", "c8y_IsDeviceGroup": {}}
        ).json()["id"]
        ref = {"managedObject": {"id": device}}
        assert (
            http.post(f"/inventory/managedObjects/{group}/childAssets", json=ref).status_code == 201
        )
        common = {"source": {"id": device}, "type": "c8y_Acceleration"}
        posted = http.post(
            "/measurement/measurements",
            json={
                "measurements": [
                    {
                        **common,
                        "time": "2026-01-14T12:00:00+01:00",
                        "c8y_Acceleration": {"accelerationX": {"value": 0.5, "unit": "g"}},
                    },
                    {
                        **common,
                        "time": "2026-01-14T11:00:00Z",
                        "c8y_Acceleration": {"accelerationX": {"value": 0.7, "unit": "g"}},
                        "c8y_Note": "retried",
                    },
                ]
            },
        ).json()["measurements"]
        assert len({m["id"] for m in posted}) == 2  # the same instant twice: both kept
        assert (
            http.get(f"/measurement/measurements/{posted[1]['id']}").json()["c8y_Note"] == "retried"
        )
        series = http.get(
            "/measurement/measurements/series",
            params={
                "source": device,
                "series": "c8y_Acceleration.accelerationX",
                "dateFrom": "2026-01-14",
                "dateTo": "2026-01-15",
                "aggregationType": "HOURLY",
            },
        ).json()
        assert series["values"] == {"2026-01-14T11:00:00.000Z": [{"min": 0.5, "max": 0.7}]}
        query = "$filter=(has(c8y_IsDevice) and name eq 'sensor*') $orderby=name"
        found = http.get("/inventory/managedObjects", params={"query": query}).json()
        assert [o["id"] for o in found["managedObjects"]] == [device]
        alarm = {
            "source": {"id": device},
            "type": "c8y_Vibration",
            "time": "2026-01-14T12:00:00Z",
            "text": "vibrating",
            "severity": "MAJOR",
        }
        first = http.post("/alarm/alarms", json=alarm).json()
        again = http.post("/alarm/alarms", json=alarm).json()
        assert (again["id"], first["count"], again["count"]) == (first["id"], 1, 2)
        event = http.post(
            "/event/events",
            json={
                "source": {"id": device},
                "type": "c8y_Maintenance",
                "time": "2026-01-14T12:30:00Z",
                "text": "bearing replaced",
            },
        )
        assert event.status_code == 201
        renamed = http.put(f"/inventory/managedObjects/{device}", json={"name": "sensor-1b"})
        assert renamed.json()["name"] == "sensor-1b"
        assert http.delete(f"/inventory/managedObjects/{group}").status_code == 204
        assert http.get(f"/inventory/managedObjects/{device}").status_code == 200
        assert http.get("/service/zementis/jobs").json() == []


def test_cli_user_add_and_db_upgrade(tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("batchscore")
    env = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "BATCHSCORE_USER_PASSWORD": "carol-Reads-2026",
    }
    up = subprocess.run([str(cli), "db", "upgrade"], env=env, capture_output=True, check=False)
    assert up.returncode == 0, up.stderr
    add = subprocess.run(
        [str(cli), "user", "add", "carol", "--tenant", "acme", "--role", "read"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert add.returncode == 0, add.stderr
    assert b"user carol created" in add.stderr
    bad = subprocess.run(
        [str(cli), "user", "add", "dave", "--role", "root"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert bad.returncode == 2
    assert b"unknown role" in bad.stderr
