"""kill -9 of the service during an execution, and of `batchscore import` during an import:
no corrupted database, the interrupted execution ends as Failure once its lease expires, no
execution is lost or doubled, and re-running an import gives the same rows."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from batchscore.testing import regression_pmml
from tests.fault.conftest import CLI, SENSORS, Served, integrity, write_wide_csv
from tests.integration.live_server import wait_until

BASE = "/service/zementis"
WINDOW_END = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
ROWS = 80_000  # ~22 h at 1 Hz: an execution that takes long enough to be caught running


def _db_path(served: Served) -> Path:
    return Path(served.database_url.removeprefix("sqlite:///"))


def _status(path: Path, job_id: int) -> list[tuple[int, str]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT number, status FROM executions WHERE job_id = ? ORDER BY number", (job_id,)
        ).fetchall()
    return [(int(n), str(s)) for n, s in rows]


def _import(served: Served, device: int, csv_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(CLI), "import", "measurements", str(csv_path), "--device", str(device)],
        env=served.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM measurement_values").fetchone()[0])


def test_kill_during_execution(served: Served, tmp_path: Path) -> None:
    served.env.update(
        BATCHSCORE_LEASE_S="3", BATCHSCORE_SCHEDULER="true", BATCHSCORE_SCHEDULER_INTERVAL_S="0.2"
    )
    served.start()
    with served.client() as http:
        device = http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
        device_id = int(device.json()["id"])
        r = http.post(f"{BASE}/model", content=regression_pmml("M", SENSORS))
        assert r.status_code == 201, r.text
        csv_path = tmp_path / "history.csv"
        write_wide_csv(csv_path, ROWS, int(WINDOW_END.timestamp()) - ROWS)
        importer = _import(served, device_id, csv_path)
        assert importer.wait(timeout=300) == 0
        mappings = {
            s: f"c8y_{'Acceleration' if s[0] == 'a' else 'Gyroscope'}.{s}.value" for s in SENSORS
        }
        job = http.post(
            f"{BASE}/job",
            json={
                "jobName": "long",
                "associatedGroupOrDeviceId": device_id,
                "associatedModel": "M",
                "modelToDeviceMappings": mappings,
                "jobSchedule": {
                    "frequency": "periodic",
                    "cronExpression": "0 0 0 1 1 ? 2099",
                    "timeZone": "UTC",
                    "dataFromPreviousNSeconds": 10**9,
                },
            },
        )
        assert job.status_code == 201, job.text
        job_id = job.json()["jobId"]
        assert http.post(f"{BASE}/job/{job_id}/run").status_code == 201
    # Freeze the process first, so that the database can be read while the run is in flight.
    assert served.proc is not None
    served.proc.send_signal(signal.SIGSTOP)
    path = _db_path(served)
    assert _status(path, job_id) == [(1, "Running")], "the execution finished before the kill"
    served.kill()
    assert integrity(path) == "ok"

    served.start()
    with served.client() as http:

        def finished() -> bool:
            run = http.get(f"{BASE}/job/{job_id}/history/1").json()
            return bool(run["jobExecutionStatus"] != "Running")

        wait_until(finished, "the interrupted execution being finished", timeout=30)
        run = http.get(f"{BASE}/job/{job_id}/history/1").json()
        assert run["jobExecutionStatus"] == "Failure"
        assert any("interrupted" in m for m in run["jobExecutionStatusMessage"]), run
        assert http.get(f"{BASE}/job/{job_id}").json()["jobStatus"] == "Failure"
        # The job works again, and its history has no gap and no double.
        assert http.post(f"{BASE}/job/{job_id}/run").status_code == 201

        def second_done() -> bool:
            return _status(path, job_id)[-1][1] not in ("Running", "Pending")

        wait_until(second_done, "the second execution finishing", timeout=120)
        assert [n for n, _ in _status(path, job_id)] == [1, 2]
        assert _status(path, job_id)[1][1] == "Success"
    served.stop()
    assert "Traceback" not in served.log()
    assert integrity(path) == "ok"


def test_kill_during_import(served: Served, tmp_path: Path) -> None:
    served.start()
    with served.client() as http:
        device = http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
        device_id = int(device.json()["id"])
    served.stop()
    path = _db_path(served)
    csv_path = tmp_path / "history.csv"
    write_wide_csv(csv_path, ROWS, int(WINDOW_END.timestamp()) - ROWS)
    expected = ROWS * len(SENSORS)

    importer = _import(served, device_id, csv_path)
    wait_until(lambda: _count(path) > 0, "the import writing its first rows", timeout=60)
    importer.send_signal(signal.SIGKILL)
    importer.wait(timeout=10)
    assert integrity(path) == "ok"
    partial = _count(path)
    assert 0 < partial < expected, "the import finished before the kill"

    for _ in range(2):  # the re-run completes it; a further run changes nothing
        rerun = _import(served, device_id, csv_path)
        assert rerun.wait(timeout=300) == 0
        assert integrity(path) == "ok"
        assert _count(path) == expected
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT device_id, fragment, series, time_ns"
            " FROM measurement_values GROUP BY 1, 2, 3, 4 HAVING count(*) > 1)"
        ).fetchone()[0]
        value = conn.execute(
            "SELECT value FROM measurement_values WHERE series = 'gyroZ' ORDER BY time_ns LIMIT 1"
        ).fetchone()[0]
    assert doubled == 0
    assert value == 5.0
