"""`batchscore serve` with BATCHSCORE_API_PROCESSES=2: two processes share the port, each with
its own caches, and a client sees its own writes whichever process answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from batchscore.testing import regression_pmml
from tests.integration.live_server import LiveServer, free_port, live_batchscore, wait_until

BASE = "/service/zementis"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("processes")
    env = {"BATCHSCORE_API_PROCESSES": "2", "BATCHSCORE_VAR_DIR": str(workdir / "var")}
    with live_batchscore(workdir, extra_env=env) as live:
        yield live


def job(device: str, name: str) -> dict[str, object]:
    return {
        "jobName": name,
        "associatedGroupOrDeviceId": int(device),
        "associatedModel": "M",
        "modelToDeviceMappings": {"a": "c8y_A.a.value"},
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": "0 0 0 1 1 ? 2099",
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": 60,
        },
    }


def test_every_write_is_seen_by_the_next_read(server: LiveServer) -> None:
    # A new connection per request lets the kernel spread them over both processes.
    def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=10) as http:
            return http.request(method, path, **kwargs)  # type: ignore[arg-type]

    assert call("POST", f"{BASE}/model", content=regression_pmml("M", ["a"])).status_code == 201
    device = call("POST", "/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
    device_id = device.json()["id"]
    names: list[str] = []
    for n in range(12):
        created = call("POST", f"{BASE}/job", json=job(device_id, f"job-{n}"))
        assert created.status_code == 201, created.text
        names.append(f"job-{n}")
        for _ in range(3):  # each read may land on either process and its cache
            listed = call("GET", f"{BASE}/jobs").json()
            assert [j["jobName"] for j in listed] == names
    deleted = call("DELETE", f"{BASE}/job/{listed[0]['jobId']}")
    assert deleted.status_code == 200
    for _ in range(6):
        assert [j["jobName"] for j in call("GET", f"{BASE}/jobs").json()] == names[1:]


def test_metrics_add_up_the_processes(server: LiveServer) -> None:
    """Whichever process answers /metrics reports the requests of both (multi-process mode)."""
    with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as http:
        for _ in range(20):  # each new connection may land on either process
            with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as fresh:
                assert fresh.get(f"{BASE}/models").status_code == 200
        counts = []
        for _ in range(4):
            with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as fresh:
                text = fresh.get("/metrics").text
            line = next(
                line
                for line in text.splitlines()
                if line.startswith("batchscore_http_request_duration_seconds_count{")
                and 'route="/service/zementis/models"' in line
            )
            counts.append(float(line.rsplit(" ", 1)[1]))
        assert min(counts) >= 20, counts
        assert http.get("/health/ready").status_code == 200


def test_sigterm_stops_every_process_with_exit_code_0(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "BATCHSCORE_PORT": str(port),
        "BATCHSCORE_API_PROCESSES": "2",
        "BATCHSCORE_VAR_DIR": str(tmp_path / "var"),
        "BATCHSCORE_ADMIN_PASSWORD": "processes-Passw0rd",
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
    }
    cli = Path(sys.executable).with_name("batchscore")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(cli), "serve"], env=env, stdout=out, stderr=out)

    def up() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).is_success
        except httpx.TransportError:
            return False

    wait_until(up, "two processes serving", timeout=60)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
    assert not list((tmp_path / "var").glob("metrics-*"))  # the shared metrics are cleaned up
