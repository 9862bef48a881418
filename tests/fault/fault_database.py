"""The database going away and the disk filling up: the service answers 503 (unavailable) or 507
(full) in the documented error shape, stays up, recovers by itself, and nothing is corrupted.

Stopping PostgreSQL breaks every other test using it at the same time: run these alone.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from batchscore.testing import scratch_postgres
from tests.fault.conftest import Served, integrity, serve_env
from tests.integration.live_server import wait_until

BASE = "/service/zementis"
PG_URL = os.environ.get("BATCHSCORE_TEST_POSTGRES_URL")


def _cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        timeout=60,
    )


def _pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0


@pytest.fixture
def pg_served(tmp_path: Path) -> Iterator[Served]:
    if PG_URL is None:
        pytest.skip("needs BATCHSCORE_TEST_POSTGRES_URL")
    with scratch_postgres(PG_URL, "batchscore_fault") as url:
        server = Served(tmp_path, url, serve_env(url))
        try:
            yield server
        finally:
            server.stop()
            if not _pg_ready():  # the database is dropped once PostgreSQL is back
                _cluster("start")
                wait_until(_pg_ready, "PostgreSQL accepting connections", timeout=60)


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    body = r.json()
    assert set(body) in ({"errors"}, {"error", "message", "info"}, {"status", "database"}), body


def test_postgres_down_answers_503_and_recovers(pg_served: Served) -> None:
    pg_served.start()
    with pg_served.client() as http:
        assert http.get(f"{BASE}/jobs").status_code == 200
        _cluster("stop")
        try:
            _assert_unavailable(http.get("/health"))
            for path in (f"{BASE}/jobs", f"{BASE}/job/1", f"{BASE}/models"):
                _assert_unavailable(http.get(path))
            r = http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
            _assert_unavailable(r)
            # A login not seen before cannot be checked either: still 503, never 401 or 500.
            other = http.get(f"{BASE}/jobs", auth=("default/nobody", "x"))
            _assert_unavailable(other)
        finally:
            _cluster("start")
        wait_until(_pg_ready, "PostgreSQL accepting connections", timeout=60)

        def recovered() -> bool:
            return bool(
                http.get("/health").status_code == 200
                and http.get(f"{BASE}/jobs").status_code == 200
            )

        wait_until(recovered, "the service recovering by itself", timeout=30)
        r = http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
        assert r.status_code == 201, r.text
    pg_served.stop()
    assert "Traceback" not in pg_served.log()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_answers_507_without_corruption(tiny_disk: Path, tmp_path: Path) -> None:
    db_path = tiny_disk / "full.db"
    url = f"sqlite:///{db_path}"
    served = Served(tmp_path, url, serve_env(url))
    served.start()
    try:
        with served.client() as http:
            device = http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
            device_id = device.json()["id"]
            statuses = []
            for batch in range(400):
                body = {
                    "measurements": [
                        {
                            "source": {"id": device_id},
                            "time": f"2026-01-14T{(batch // 60) % 24:02d}:{batch % 60:02d}:"
                            f"{i // 1000:02d}.{i % 1000:03d}Z",
                            "type": "t",
                            "c8y_F": {"s": {"value": float(i)}, "t": {"value": 1.0}},
                        }
                        for i in range(2000)
                    ]
                }
                r = http.post("/measurement/measurements", json=body)
                statuses.append(r.status_code)
                if r.status_code != 201:
                    break
            assert r.status_code == 507, (statuses[-3:], r.text)
            assert set(r.json()) == {"error", "message", "info"}
            assert "disk" in r.json()["message"]
            # Reads still work, and a small write fails cleanly too, without taking it down.
            assert http.get("/health").status_code == 200
            assert http.get(f"{BASE}/jobs").status_code == 200
            r = http.post(f"{BASE}/model", content=b"<PMML/>" + b" " * 500_000)
            assert r.status_code in (400, 507), r.text
            assert http.get("/health").status_code == 200
    finally:
        served.stop()
    assert "Traceback" not in served.log()
    assert integrity(db_path) == "ok"
