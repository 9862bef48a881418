"""Fault-injection tests (issues 9 and 16): real processes killed (kill -9, SIGTERM, SIGINT),
the database cut through a TCP proxy of their own (never the shared PostgreSQL itself), a full
disk, a Dask scheduler killed and restarted. They start many processes and mount file systems,
so they are not collected by the default run (their files are named ``fault_*.py``, not
``test_*.py``). ``.ci/run`` runs them after `make test`:

    .venv/bin/pytest tests/fault/fault_*.py
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from batchscore.testing import TcpProxy, regression_pmml, scratch_postgres
from tests.integration.live_server import ADMIN_PASSWORD, free_port, wait_until

CLI = Path(sys.executable).with_name("batchscore")
SENSORS = ["accelerationX", "accelerationY", "accelerationZ", "gyroX", "gyroY", "gyroZ"]
MAPPINGS = {s: f"c8y_{'Acceleration' if s[0] == 'a' else 'Gyroscope'}.{s}.value" for s in SENSORS}
AUTH = ("default/admin", ADMIN_PASSWORD)
BASE = "/service/zementis"
PG_URL = os.environ.get("BATCHSCORE_TEST_POSTGRES_URL")


@dataclass
class Proc:
    """A batchscore (or Dask) process a test starts, signals, kills and starts again; each
    start logs to its own file in ``workdir``."""

    workdir: Path
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        path = self.workdir / f"{self.name}-{self.starts}.log"
        self.logs.append(path)
        with path.open("wb") as log:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=log)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc is not None else None
            raise AssertionError(f"{self.name} exited with {code}: {self.log()[-4000:]}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as on a power cut or an OOM kill."""
        self.signal(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=10)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 40) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop within ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc is not None else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs)


@dataclass
class Served(Proc):
    """One `batchscore serve` process on a port of its own, answering HTTP."""

    base_url: str = ""

    def start(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {**self.env, "BATCHSCORE_PORT": str(port)}
        super().start()
        wait_until(self.healthy, f"{self.name} answering /health", timeout=60)

    def healthy(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=AUTH, timeout=30)

    @property
    def database_url(self) -> str:
        return self.env["BATCHSCORE_DATABASE_URL"]


def serve_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": database_url,
        "BATCHSCORE_HOST": "127.0.0.1",
        "BATCHSCORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
        "BATCHSCORE_SCHEDULER": "false",
        "BATCHSCORE_SHUTDOWN_GRACE_S": "5",
        **extra,
    }


def serve(workdir: Path, database_url: str, name: str = "serve", **extra: str) -> Served:
    return Served(workdir, name, [str(CLI), "serve"], serve_env(database_url, **extra))


def scheduler(workdir: Path, database_url: str, name: str = "scheduler", **extra: str) -> Proc:
    return Proc(workdir, name, [str(CLI), "scheduler"], serve_env(database_url, **extra))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = serve(tmp_path, f"sqlite:///{tmp_path / 'fault.db'}")
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class ProxiedDatabase:
    """A scratch PostgreSQL database, and a TCP proxy in front of it that a test may cut."""

    direct_url: str
    url: str
    proxy: TcpProxy


@pytest.fixture
def pg_proxied() -> Iterator[ProxiedDatabase]:
    """A fresh PostgreSQL database reached through a proxy of this test; the shared server
    itself is never stopped, so other users of the machine do not notice."""
    if PG_URL is None:
        pytest.skip("needs BATCHSCORE_TEST_POSTGRES_URL")
    with scratch_postgres(PG_URL, "batchscore_fault") as direct:
        parsed = make_url(direct)
        with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            via = parsed.set(host="127.0.0.1", port=proxy.port)
            yield ProxiedDatabase(direct, via.render_as_string(hide_password=False), proxy)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards)."""
    if PG_URL is None:
        pytest.skip("needs BATCHSCORE_TEST_POSTGRES_URL")
    with scratch_postgres(PG_URL, "batchscore_fault") as url:
        yield url


def integrity(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def write_wide_csv(path: Path, rows: int, start_epoch_s: int) -> None:
    """``rows`` seconds of the six sensor series, one second apart, in the wide layout."""
    columns = [f"c8y_Acceleration.{s}" for s in SENSORS[:3]]
    columns += [f"c8y_Gyroscope.{s}" for s in SENSORS[3:]]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time", *columns])
        for i in range(rows):
            t = datetime.fromtimestamp(start_epoch_s + i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.writerow([t, *(f"{(i % 97) * 0.01 + k:.2f}" for k in range(6))])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def device_and_model(http: httpx.Client, model: str = "M") -> int:
    """A device and a regression model over the six sensors; returns the device id."""
    device = ok(http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}}), 201)
    ok(http.post(f"{BASE}/model", content=regression_pmml(model, SENSORS)), 201)
    return int(device["id"])


def periodic_job(
    http: httpx.Client,
    device: int,
    cron: str,
    *,
    window_s: int = 2,
    name: str = "j",
    model: str = "M",
) -> int:
    body = {
        "jobName": name,
        "associatedGroupOrDeviceId": device,
        "associatedModel": model,
        "modelToDeviceMappings": MAPPINGS,
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": cron,
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": window_s,
        },
    }
    return int(ok(http.post(f"{BASE}/job", json=body), 201)["jobId"])


def history(http: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = ok(http.get(f"{BASE}/job/{job_id}/history"))
    return result


def no_tracebacks(*procs: Proc) -> None:
    for proc in procs:
        text = proc.log()
        assert "Traceback" not in text, text[-4000:]
        assert "Exception in thread" not in text, text[-4000:]


def stop_all(*procs: Proc) -> list[int | None]:
    for proc in procs:
        if proc.alive():
            proc.signal(signal.SIGTERM)
    return [proc.stop() for proc in procs]
