"""The database going away and the disk filling up (issues 9 and 16).

The database is cut through a TCP proxy of the test (the shared PostgreSQL keeps running for
everyone else): the service answers 503 in the documented shapes, stays up, its readiness says
the database is down, its scheduler loop survives the cut between two ticks and fires again
once the database is back, and no execution stays Running. A full disk answers 507 without
corruption; an execution that meets a full disk ends as Failure naming the cause, and the job
runs again once there is space.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.fault.conftest import (
    BASE,
    ProxiedDatabase,
    device_and_model,
    history,
    integrity,
    no_tracebacks,
    ok,
    periodic_job,
    serve,
    write_wide_csv,
)
from tests.integration.live_server import wait_until

DISK_FULL = "the database ran out of disk space while storing its inferences"


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    body = r.json()
    assert set(body) in ({"errors"}, {"error", "message", "info"}, {"status", "database"}), body


def test_database_cut_answers_503_and_recovers(pg_proxied: ProxiedDatabase, tmp_path: Path) -> None:
    served = serve(tmp_path, pg_proxied.url)
    served.start()
    try:
        with served.client() as http:
            assert http.get(f"{BASE}/jobs").status_code == 200
            pg_proxied.proxy.cut()
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
                pg_proxied.proxy.restore()

            def recovered() -> bool:
                return bool(
                    http.get("/health").status_code == 200
                    and http.get(f"{BASE}/jobs").status_code == 200
                )

            wait_until(recovered, "the service recovering by itself", timeout=30)
            r = http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
            assert r.status_code == 201, r.text
    finally:
        assert served.stop() == 0
    no_tracebacks(served)


def test_scheduler_survives_a_database_cut_between_ticks(
    pg_proxied: ProxiedDatabase, tmp_path: Path
) -> None:
    """The issue's finding: an error between ticks killed the scheduler thread for good while
    /health said UP. Now the loop backs off and goes on, and /health/ready tells the truth."""
    served = serve(
        tmp_path,
        pg_proxied.url,
        BATCHSCORE_SCHEDULER="true",
        BATCHSCORE_SCHEDULER_INTERVAL_S="0.5",
        BATCHSCORE_SCHEDULER_LOOKAHEAD_S="2",
    )
    served.start()
    try:
        with served.client() as http:
            job = periodic_job(http, device_and_model(http), "*/2 * * ? * *")
            wait_until(lambda: len(history(http, job)) >= 3, "three fires", timeout=30)
            assert http.get("/health/ready").status_code == 200
            pg_proxied.proxy.cut()
            cut_at = time.monotonic()
            # Down for longer than the readiness limit (3 x 0.5 s + 10 s): the loop is stuck
            # on a database that does not answer, and readiness says so.
            wait_until(
                lambda: http.get("/health/ready").status_code == 503,
                "readiness reporting the cut",
                timeout=30,
            )
            down = http.get("/health/ready").json()
            assert down["database"] == "DOWN"
            time.sleep(12)  # the cut lasts past the readiness limit; nothing to poll for
            ready = http.get("/health/ready")
            assert (ready.status_code, ready.json()["scheduler"]["status"]) == (503, "DOWN")
            served.check_alive()
            pg_proxied.proxy.restore()
            restored = datetime.now(UTC)
            back_at = time.monotonic()
            wait_until(
                lambda: http.get("/health/ready").status_code == 200,
                "the scheduler ticking again",
                timeout=30,
            )
            ready_after = time.monotonic() - back_at

            def fired_after_restore() -> bool:
                return any(
                    r["jobExecutionStatus"] != "Running"
                    and datetime.fromisoformat(r["jobExecutionStartTime"]) > restored
                    for r in history(http, job)
                )

            wait_until(fired_after_restore, "a fire after the database came back", timeout=30)
            fired_after = time.monotonic() - back_at
            print(
                f"\ndatabase cut of {back_at - cut_at:.1f} s: ready again after "
                f"{ready_after:.1f} s, first fire finished {fired_after:.1f} s after restore"
            )

            def settled() -> bool:
                runs = history(http, job)
                return all(r["jobExecutionStatus"] != "Running" for r in runs[:-2])

            wait_until(settled, "every execution but the latest finished", timeout=30)
            runs = history(http, job)
            assert [r["jobExecutionNumber"] for r in runs] == list(range(1, len(runs) + 1))
            missed = [
                r for r in runs if any("were missed" in m for m in r["jobExecutionStatusMessage"])
            ]
            assert len(missed) <= 1  # the instants of the cut fired once, together, after it
    finally:
        assert served.stop() == 0
    no_tracebacks(served)
    assert "the scheduler tick failed" in served.log()
    assert "works again" in served.log()


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small file system of its own (tmpfs) at ``where``, unmounted afterwards."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "3m") as mount:
        yield mount


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "24m") as mount:
        yield mount


def test_full_disk_answers_507_without_corruption(tiny_disk: Path, tmp_path: Path) -> None:
    db_path = tiny_disk / "full.db"
    served = serve(tmp_path, f"sqlite:///{db_path}")
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
    no_tracebacks(served)
    assert integrity(db_path) == "ok"


ROWS = 20_000  # ~5.5 h at 1 Hz x 6 series: 20,000 records of inferences to store
WINDOW_END = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)


def _fill(mount: Path, leave_bytes: int) -> Path:
    """A ballast file taking all but about ``leave_bytes`` of the file system."""
    ballast = mount / "ballast"
    with ballast.open("wb", buffering=0) as f:
        chunk = b"\1" * (1 << 16)
        try:
            while f.write(chunk):
                pass
        except OSError:  # no space left: the point
            pass
    # give back a little, so that small writes (the execution's start) still fit
    size = ballast.stat().st_size
    with ballast.open("r+b") as f:
        f.truncate(max(size - leave_bytes, 0))
    return ballast


def test_disk_full_mid_execution_is_a_failure_with_its_cause(
    small_disk: Path, tmp_path: Path
) -> None:
    """Space runs out while an execution stores its inferences: it ends as Failure saying so
    (not Running for the rest of its lease, not "interrupted"), and `run` works again as soon
    as there is space."""
    db_path = small_disk / "full.db"
    served = serve(tmp_path, f"sqlite:///{db_path}")
    served.start()
    try:
        with served.client() as http:
            device = device_and_model(http)
            csv_path = tmp_path / "history.csv"
            write_wide_csv(csv_path, ROWS, int(WINDOW_END.timestamp()) - ROWS)
            importer = subprocess.run(
                [str(served.argv[0]), "import", "measurements", str(csv_path), "--device",
                 str(device)],
                env=served.env, capture_output=True, check=False, timeout=300,
            )  # fmt: skip
            assert importer.returncode == 0, importer.stderr[-2000:]
            job = periodic_job(http, device, "0 0 0 1 1 ? 2099", window_s=10**9)
            with sqlite3.connect(db_path) as conn:  # an empty WAL: new writes need new space
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            ballast = _fill(small_disk, leave_bytes=64 * 1024)
            r = http.post(f"{BASE}/job/{job}/run")
            assert r.status_code == 201, r.text

            def finished() -> bool:
                runs = history(http, job)
                return bool(runs) and runs[0]["jobExecutionStatus"] != "Running"

            def hit_the_full_disk() -> bool:
                # Ending it needs a little space too: it keeps trying until there is some.
                return finished() or "finishing execution" in served.log()

            wait_until(hit_the_full_disk, "the execution meeting the full disk", timeout=120)
            ballast.unlink()
            wait_until(finished, "the execution to end", timeout=60)
            [run] = history(http, job)
            assert any(DISK_FULL in m for m in run["jobExecutionStatusMessage"]), run
            assert not any("interrupted" in m for m in run["jobExecutionStatusMessage"])
            # space is back: the job runs again at once (no 409 for the rest of a lease)
            again = ok(http.post(f"{BASE}/job/{job}/run"), 201)
            assert again["jobExecutionNumber"] == 2
            wait_until(
                lambda: history(http, job)[-1]["jobExecutionStatus"] == "Success",
                "the second run succeeding",
                timeout=120,
            )
    finally:
        served.stop()
    no_tracebacks(served)
    assert integrity(db_path) == "ok"
