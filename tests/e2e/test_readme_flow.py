"""The README's walk-through against a live `batchscore serve` on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from batchscore.testing import regression_pmml

ADMIN_PASSWORD = "readme-Passw0rd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling interval while waiting for the condition, bounded by deadline
    raise AssertionError("service did not become healthy in time")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "BATCHSCORE_PORT": str(port),
        "BATCHSCORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
    }
    cli = Path(sys.executable).with_name("batchscore")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(cli), "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    logs = log_path.read_text()
    assert "GET /service/zementis/jobs 200" in logs
    assert ADMIN_PASSWORD not in logs


def test_readme_walk_through(server: str) -> None:
    auth = ("admin", ADMIN_PASSWORD)
    with httpx.Client(base_url=server, auth=auth, timeout=10) as http:
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
        "BATCHSCORE_USER_PASSWORD": "pw-123456",
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
