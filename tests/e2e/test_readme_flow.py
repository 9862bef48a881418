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
