"""SIGTERM and SIGINT (issue 16, design §3.7): `serve` and `scheduler` stop claiming, hand back
what they claimed and did not start, let running executions finish within
``BATCHSCORE_SHUTDOWN_GRACE_S`` or hand them back, and exit 0. What is handed back runs once,
elsewhere or after a restart; a graceful stop loses no fire and doubles none."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from batchscore.store.db import Database
from batchscore.store.tables import executions
from batchscore.testing import audit_fires, executions_and_counts
from tests.fault.conftest import (
    BASE,
    CLI,
    Proc,
    Served,
    device_and_model,
    history,
    no_tracebacks,
    ok,
    periodic_job,
    scheduler,
    serve,
    write_wide_csv,
)
from tests.integration.live_server import wait_until

ROWS = 80_000  # ~22 h at 1 Hz: an execution that runs long enough to be caught running
WINDOW_END = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)


def _row(path: Path, execution_number: int) -> tuple[str, str | None, bool, int]:
    """(status, lease owner, started?, stored chunks) of execution n of job 1, read directly."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        status, owner, started, eid = conn.execute(
            "SELECT status, lease_owner, started_at, id FROM executions"
            " WHERE job_id = 1 AND number = ?",
            (execution_number,),
        ).fetchone()
        chunks = conn.execute(
            "SELECT count(*) FROM inference_chunks WHERE execution_id = ?", (eid,)
        ).fetchone()[0]
    return str(status), owner, started is not None, int(chunks)


def _long_job(served: Served, tmp_path: Path) -> int:
    with served.client() as http:
        device = device_and_model(http)
        csv_path = tmp_path / "history.csv"
        write_wide_csv(csv_path, ROWS, int(WINDOW_END.timestamp()) - ROWS)
        done = subprocess.run(
            [str(CLI), "import", "measurements", str(csv_path), "--device", str(device)],
            env=served.env, capture_output=True, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return periodic_job(http, device, "0 0 0 1 1 ? 2099", window_s=10**9)


def test_sigterm_hands_back_a_running_execution_that_runs_once_after_a_restart(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "stop.db"
    served = serve(
        tmp_path,
        f"sqlite:///{db_path}",
        BATCHSCORE_SCHEDULER="true",
        BATCHSCORE_SCHEDULER_INTERVAL_S="0.2",
        BATCHSCORE_SHUTDOWN_GRACE_S="0",
    )
    served.start()
    job = _long_job(served, tmp_path)
    with served.client() as http:
        ok(http.post(f"{BASE}/job/{job}/run"), 201)
    # caught as soon as it started: its chunks are written in batches (up to 16 of its 40), so
    # by the first stored chunk it may be almost done
    wait_until(lambda: _row(db_path, 1)[2], "the execution to start", 60)
    served.signal(signal.SIGTERM)
    began = time.monotonic()
    assert served.wait(timeout=30) == 0
    stopped_in = time.monotonic() - began
    status, owner, started, chunks = _row(db_path, 1)
    assert (status, owner, started, chunks) == ("Running", None, False, 0), "not handed back"
    print(f"\nSIGTERM mid-execution: exited 0 in {stopped_in:.1f} s (grace 0 s)")

    served.start()  # the same instance again: it takes over what was handed back and runs it
    with served.client() as http:
        wait_until(
            lambda: [r["jobExecutionStatus"] for r in history(http, job)] == ["Success"],
            "the handed-back execution to run once after the restart",
            timeout=120,
        )
    status, owner, started, chunks = _row(db_path, 1)
    assert (status, started, chunks) == ("Success", True, 40)  # 80,000 records, 2,000 a chunk
    assert served.stop() == 0
    no_tracebacks(served)


def test_sigint_lets_a_running_execution_finish_within_the_grace_period(tmp_path: Path) -> None:
    db_path = tmp_path / "stop.db"
    served = serve(tmp_path, f"sqlite:///{db_path}", BATCHSCORE_SHUTDOWN_GRACE_S="120")
    served.start()
    job = _long_job(served, tmp_path)
    with served.client() as http:
        ok(http.post(f"{BASE}/job/{job}/run"), 201)
    wait_until(lambda: _row(db_path, 1)[3] > 0, "the execution storing its first chunk", 60)
    served.signal(signal.SIGINT)
    assert served.wait(timeout=150) == 0
    status, owner, started, chunks = _row(db_path, 1)
    assert (status, owner, started, chunks) == ("Success", None, True, 40)
    no_tracebacks(served)


def test_a_stopping_scheduler_loses_no_fire(pg_database: str, tmp_path: Path) -> None:
    """Two `scheduler` processes, jobs every second: one gets SIGTERM, then SIGINT after a
    restart. It exits 0 within a second or two each time, and every instant of the run fired
    exactly once: what it had claimed ahead was handed back and taken over at once."""
    env = {"BATCHSCORE_SCHEDULER_INTERVAL_S": "0.2", "BATCHSCORE_SCHEDULER_LOOKAHEAD_S": "5"}
    setup = serve(tmp_path, pg_database, name="setup")
    setup.start()
    with setup.client() as http:
        device = device_and_model(http)
        jobs = [periodic_job(http, device, "* * * ? * *", name=f"j{i}") for i in range(5)]
    setup.stop()
    stopping = scheduler(tmp_path, pg_database, name="stopping", **env)
    other = scheduler(tmp_path, pg_database, name="other", **env)
    db = Database.from_url(pg_database)

    def start(proc: Proc) -> None:
        proc.start()  # its signal handlers are in place once it says it runs
        wait_until(lambda: "running;" in proc.log().split("stopping")[-1], f"{proc.name} up", 60)

    start(stopping)
    start(other)
    try:
        first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)

        def fired_until(instant: datetime) -> bool:
            other.check_alive()
            with db.read() as conn:
                n = conn.execute(
                    select(func.count()).where(
                        executions.c.scheduled_at == instant, executions.c.status != "Running"
                    )
                ).scalar_one()
            return bool(n == len(jobs))

        wait_until(lambda: fired_until(first + timedelta(seconds=3)), "fires on both", 60)
        for sig in (signal.SIGTERM, signal.SIGINT):
            stopping.signal(sig)
            began = time.monotonic()
            assert stopping.wait(timeout=30) == 0
            print(f"\nscheduler {sig.name}: exited 0 in {time.monotonic() - began:.1f} s")
            resumed = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
            wait_until(lambda: fired_until(resumed), "fires going on", 60)  # noqa: B023
            start(stopping)
        last = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        wait_until(lambda: fired_until(last), "the last instant", 60)
        rows, counts = executions_and_counts(db)
    finally:
        codes = [p.stop() for p in (stopping, other)]
        db.dispose()
    assert codes == [0, 0]
    instants = [first + timedelta(seconds=k) for k in range(int((last - first).total_seconds()))]
    audit = audit_fires(rows, counts, instants, 1)
    assert audit.jobs == len(jobs)
    assert audit.problems() == [], audit
    no_tracebacks(stopping, other)
