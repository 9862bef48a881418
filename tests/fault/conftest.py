"""Fault-injection tests (issue 9): kill -9 of the service and of an import, the database going
away, a full disk. They stop shared services (PostgreSQL) and mount file systems, so they are not
collected by the default run (their files are named ``fault_*.py``, not ``test_*.py``). Run them
after `make test`:

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.integration.live_server import ADMIN_PASSWORD, free_port, wait_until

CLI = Path(sys.executable).with_name("batchscore")
SENSORS = ["accelerationX", "accelerationY", "accelerationZ", "gyroX", "gyroY", "gyroZ"]
AUTH = ("default/admin", ADMIN_PASSWORD)


@dataclass
class Served:
    """One `batchscore serve` process that a test may kill -9 and start again."""

    workdir: Path
    database_url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    base_url: str = ""
    starts: int = 0

    def start(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        env = {**self.env, "BATCHSCORE_PORT": str(port)}
        self.starts += 1
        log = (self.workdir / f"serve-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen([str(CLI), "serve"], env=env, stdout=log, stderr=log)
        log.close()
        wait_until(self.healthy, "batchscore serve answering /health", timeout=60)

    def healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited with {self.proc.returncode}: {self.log()}")
        try:
            return httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as on a power cut or an OOM kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def log(self) -> str:
        return (self.workdir / f"serve-{self.starts}.log").read_text(errors="replace")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=AUTH, timeout=30)


def serve_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": database_url,
        "BATCHSCORE_HOST": "127.0.0.1",
        "BATCHSCORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
        "BATCHSCORE_SCHEDULER": "false",
        **extra,
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'fault.db'}"
    server = Served(tmp_path, url, serve_env(url))
    try:
        yield server
    finally:
        server.stop()


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
