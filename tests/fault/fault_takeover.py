"""kill -9 of one of two `batchscore scheduler` instances on one PostgreSQL, with the default
heartbeat (5 s) and dead-after (20 s) settings (issue 16, design §3.7).

Before: the dead instance's execution stayed Running for the lease (300 s) and every fire of
its jobs meanwhile was skipped. Now the survivor takes its claims over and finishes its
running execution as interrupted, so every job fires normally again within 30 s of the crash,
and every instant of the run still fired exactly once.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from batchscore.store.db import Database
from batchscore.store.tables import executions
from batchscore.testing import audit_fires, executions_and_counts
from tests.fault.conftest import (
    CLI,
    Proc,
    device_and_model,
    no_tracebacks,
    periodic_job,
    scheduler,
    serve,
    write_wide_csv,
)
from tests.integration.live_server import wait_until

FAST_JOBS = 6
PERIOD = 2
ROWS = 80_000
WINDOW_END = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
INTERRUPTED = "The execution was interrupted: the process running it stopped."
SKIPPED = "was skipped because the previous execution"
RECOVERY_LIMIT_S = 30


def _pid(instance: str) -> int:
    """The pid in an instance id (``scheduler@host:PID/suffix``)."""
    return int(instance.rsplit(":", 1)[1].split("/", 1)[0])


def test_kill_9_of_an_instance_recovers_within_30_s_exactly_once(
    pg_database: str, tmp_path: Path
) -> None:
    setup = serve(tmp_path, pg_database, name="setup")
    setup.start()
    with setup.client() as http:
        device = device_and_model(http)
        csv_path = tmp_path / "history.csv"
        write_wide_csv(csv_path, ROWS, int(WINDOW_END.timestamp()) - ROWS)
        done = subprocess.run(
            [str(CLI), "import", "measurements", str(csv_path), "--device", str(device)],
            env=setup.env, capture_output=True, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        fast = [
            periodic_job(http, device, f"*/{PERIOD} * * ? * *", name=f"fast-{i}")
            for i in range(FAST_JOBS)
        ]
        # long enough to be caught running: the whole imported history, every 10 s
        slow = periodic_job(http, device, "*/10 * * ? * *", window_s=10**9, name="slow")
    setup.stop()

    # the defaults: heartbeat every 5 s, dead after 20 s, claims 5 s ahead, a tick a second
    instances: list[Proc] = [scheduler(tmp_path, pg_database, name=f"s{i}") for i in range(2)]
    for proc in instances:
        proc.start()
    db = Database.from_url(pg_database)
    try:
        started = datetime.now(UTC)

        def victim_found() -> bool:
            """An instance that runs the slow job and holds claims of fast jobs: killing it
            leaves both kinds of orphan."""
            for proc in instances:
                proc.check_alive()
            with db.read() as conn:
                runs = conn.execute(
                    select(executions.c.lease_owner).where(
                        executions.c.job_id == slow,
                        executions.c.status == "Running",
                        executions.c.started_at.is_not(None),
                    )
                ).first()
                claims = conn.execute(
                    select(executions.c.lease_owner).where(
                        executions.c.job_id.in_(fast),
                        executions.c.status == "Running",
                        executions.c.started_at.is_(None),
                    )
                ).all()
            if runs is None or runs.lease_owner not in {c.lease_owner for c in claims}:
                return False
            found["owner"] = str(runs.lease_owner)
            return True

        found: dict[str, str] = {}
        wait_until(victim_found, "an instance running the slow job and holding claims", 120)
        pid = _pid(found["owner"])
        victim = next(p for p in instances if p.proc is not None and p.proc.pid == pid)
        survivor = next(p for p in instances if p is not victim)
        victim.kill()
        killed = datetime.now(UTC)

        def recovered() -> bool:
            survivor.check_alive()
            with db.read() as conn:
                slow_done = conn.execute(
                    select(executions.c.status).where(
                        executions.c.job_id == slow, executions.c.scheduled_at < killed
                    )
                ).all()
                resumed = conn.execute(
                    select(executions.c.job_id)
                    .where(
                        executions.c.job_id.in_(fast),
                        executions.c.scheduled_at > killed,
                        executions.c.status.in_(("Success", "Warning")),
                    )
                    .distinct()
                ).all()
            return all(r.status != "Running" for r in slow_done) and len(resumed) == FAST_JOBS

        wait_until(recovered, "every job firing again", timeout=RECOVERY_LIMIT_S + 15)
        # a little more of normal firing, then the audit
        end = datetime.now(UTC) + timedelta(seconds=6)

        def settled() -> bool:
            with db.read() as conn:
                left = conn.execute(
                    select(executions.c.id).where(
                        executions.c.job_id.in_(fast),
                        executions.c.status == "Running",
                        executions.c.scheduled_at <= end,
                    )
                ).first()
            return datetime.now(UTC) >= end and left is None

        wait_until(settled, "six more seconds of fires, all finished", timeout=30)
        rows, counts = executions_and_counts(db)
    finally:
        codes = [p.stop() for p in instances if p.alive()]
        db.dispose()
    assert codes == [0]

    by_job: dict[int, list[object]] = {}
    for r in rows:
        by_job.setdefault(r.job_id, []).append(r)
    interrupted = [r for r in by_job[slow] if INTERRUPTED in r.messages]
    assert len(interrupted) == 1, by_job[slow]
    interrupted_after = (interrupted[0].ended_at - killed).total_seconds()
    assert interrupted_after <= RECOVERY_LIMIT_S, interrupted_after

    # each fast job fires normally (not skipped) again within 30 s of the kill
    worst = 0.0
    for job_id in fast:
        normal = [
            r
            for r in by_job[job_id]
            if r.scheduled_at > killed
            and r.status in ("Success", "Warning")
            and not any(SKIPPED in m for m in r.messages)
        ]
        assert normal, by_job[job_id]
        worst = max(worst, (normal[0].started_at - killed).total_seconds())
    assert worst <= RECOVERY_LIMIT_S, worst
    print(
        f"\nkill -9 (defaults): running execution interrupted after {interrupted_after:.1f} s, "
        f"every job firing normally again after {worst:.1f} s"
    )

    # exactly once: every 2-s instant from shortly after the start to the end, once per job
    first = datetime.fromtimestamp((int(started.timestamp()) // PERIOD + 2) * PERIOD, UTC)
    last = end - timedelta(seconds=PERIOD)
    instants = []
    t = first
    while t <= last:
        instants.append(t)
        t += timedelta(seconds=PERIOD)
    fast_rows = [r for r in rows if r.job_id in fast]
    audit = audit_fires(fast_rows, {j: counts[j] for j in fast}, instants, PERIOD)
    assert audit.problems() == [], audit
    unfinished = [r for r in rows if r.status == "Running" and r.scheduled_at < last]
    assert unfinished == []
    no_tracebacks(*instances)
