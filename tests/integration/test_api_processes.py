"""`batchscore serve` with BATCHSCORE_API_PROCESSES=2: two processes share the port, each with
its own caches, and a client sees its own writes whichever process answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from batchscore.testing import regression_pmml
from tests.integration.live_server import LiveServer, live_batchscore

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
