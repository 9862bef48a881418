"""`batchscore scheduler` with BATCHSCORE_OPS_PORT serves the probes and its metrics, and stops
on SIGTERM with exit code 0 (issue 16)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.live_server import free_port, wait_until


def test_the_scheduler_serves_probes_and_metrics(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "BATCHSCORE_OPS_PORT": str(port),
        "BATCHSCORE_METRICS_TOKEN": "ops-token",
        "BATCHSCORE_SCHEDULER_INTERVAL_S": "0.2",
    }
    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("batchscore")), "scheduler"],
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"{base}/health/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, "the scheduler's readiness", timeout=60)
        body = httpx.get(f"{base}/health/ready").json()
        assert body["scheduler"]["status"] == "UP"
        assert body["instance"].startswith("scheduler@")
        assert httpx.get(f"{base}/metrics").status_code == 401
        metrics = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer ops-token"})
        assert metrics.status_code == 200
        assert "batchscore_scheduler_last_tick_timestamp_seconds" in metrics.text
        assert httpx.get(f"{base}/service/zementis/jobs").status_code == 404  # no API here
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
