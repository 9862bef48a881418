"""A short soak (issue 9; the full one is ``bench/soak.py``): three `batchscore scheduler`
processes on one PostgreSQL database, 100 jobs firing every 10 s, for about a minute of real
time. Every job has exactly one execution for every 10-s instant in the middle of the run, its
executions are numbered without gaps, all that started finish (none stays Running, none fails),
and each process keeps a small, steady number of database connections."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from batchscore.domain.measurements import to_ns
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.measurements import insert_values
from batchscore.store.migrate import upgrade
from batchscore.store.series import ValueRow
from batchscore.store.tables import executions
from batchscore.store.users import ensure_tenant
from batchscore.testing import (
    audit_fires,
    executions_and_counts,
    regression_pmml,
    scratch_postgres,
)
from tests.fault.conftest import CLI, SENSORS
from tests.integration.live_server import wait_until

PG_URL = os.environ.get("BATCHSCORE_TEST_POSTGRES_URL")
TENANT = "soak"
JOBS = 100
INSTANCES = 3
PERIOD = 10
INSTANTS = 6  # checked instants: a minute of fires in the middle of the run
APP = "fault-soak-"
MAPPINGS = {s: f"c8y_{'Acceleration' if s[0] == 'a' else 'Gyroscope'}.{s}.value" for s in SENSORS}
SKIPPED = "was skipped because the previous execution"
NO_DATA = "was not active or sending any measurements"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database; dropped afterwards."""
    if PG_URL is None:
        pytest.skip("needs BATCHSCORE_TEST_POSTGRES_URL")
    with scratch_postgres(PG_URL, "batchscore_soak") as url:
        yield url


def seed(db: Database, url: str, start: datetime, seconds: int) -> datetime:
    """A device with readings every second of ``[start, start + seconds)``, a model and the
    jobs; returns the creation time of the last job."""
    services = Services.build(Settings(database_url=url, password_profile="fast"), db)
    try:
        with db.write() as conn:
            ensure_tenant(conn, TENANT, start)
        services.models.upload(TENANT, regression_pmml("Sum", SENSORS), "Sum.pmml")
        device = services.inventory.create(TENANT, {"name": "d", "c8y_IsDevice": {}}).id
        first = to_ns(start)
        paths = [MAPPINGS[s].split(".") for s in SENSORS]
        rows = [
            ValueRow(device, fragment, series, first + i * 10**9, float(i), None, "t")
            for i in range(seconds)
            for fragment, series, _ in paths
        ]
        with db.write() as conn:
            insert_values(conn, TENANT, rows)
        schedule = {
            "frequency": "periodic",
            "cronExpression": "0/10 * * * * ?",
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": PERIOD,
        }
        created = start
        for i in range(JOBS):
            body = {
                "jobName": f"soak-{i}",
                "associatedGroupOrDeviceId": device,
                "associatedModel": "Sum",
                "modelToDeviceMappings": MAPPINGS,
                "jobSchedule": schedule,
            }
            created = services.jobs.create(TENANT, body).created_at
        return created
    finally:
        services.close()


@dataclass
class Schedulers:
    """The scheduler processes; each one's connections carry its name (``PGAPPNAME``)."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    conns: list[dict[str, int]] = field(default_factory=list)

    def start(self, url: str, workdir: Path) -> None:
        for i in range(INSTANCES):
            env = {
                **os.environ,
                "BATCHSCORE_DATABASE_URL": url,
                "BATCHSCORE_WORKERS": "4",
                "BATCHSCORE_SCHEDULER_INTERVAL_S": "0.5",
                "BATCHSCORE_EXECUTOR": "local",
                "PGAPPNAME": f"{APP}{i}",
            }
            self.logs.append(workdir / f"scheduler-{i}.log")
            with self.logs[-1].open("wb") as log:
                self.procs.append(
                    subprocess.Popen([str(CLI), "scheduler"], env=env, stdout=log, stderr=log)
                )

    def check_alive(self) -> None:
        for proc, log in zip(self.procs, self.logs, strict=True):
            if proc.poll() is not None:
                raise AssertionError(f"a scheduler exited: {log.read_text()[-3000:]}")

    def sample(self, db: Database) -> None:
        with db.read() as conn:
            rows = conn.execute(
                text(
                    "SELECT application_name, count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name LIKE :app "
                    "GROUP BY application_name"
                ),
                {"app": f"{APP}%"},
            ).all()
        self.conns.append({str(name): int(n) for name, n in rows})

    def stop(self) -> list[int | None]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                codes.append(None)
        return codes


def next_instant(t: datetime) -> datetime:
    return datetime.fromtimestamp(int(t.timestamp()) // PERIOD * PERIOD + PERIOD, UTC)


def test_three_schedulers_fire_each_instant_exactly_once(pg_database: str, tmp_path: Path) -> None:
    db = Database.from_url(pg_database)
    upgrade(db.engine)  # once, before the processes start on it
    schedulers = Schedulers()
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        # readings from a minute ago to well past the end, so that every window has data
        last_created = seed(db, pg_database, now - timedelta(seconds=60), 240)
        first = next_instant(last_created)
        last = first + timedelta(seconds=PERIOD * (INSTANTS - 1))
        schedulers.start(pg_database, tmp_path)
        sampled = [0.0]

        def last_instant_done() -> bool:
            schedulers.check_alive()
            if time.monotonic() - sampled[0] >= 2:
                sampled[0] = time.monotonic()
                schedulers.sample(db)
            with db.read() as conn:
                done = conn.execute(
                    select(func.count()).where(
                        executions.c.scheduled_at == last, executions.c.status != "Running"
                    )
                ).scalar_one()
            return bool(done == JOBS)

        budget = (last - datetime.now(UTC)).total_seconds() + 30
        wait_until(last_instant_done, f"every job finishing its {last:%H:%M:%S} fire", budget)
    finally:
        codes = schedulers.stop()
    assert codes == [0] * INSTANCES, codes

    rows, counts = executions_and_counts(db)
    db.dispose()
    expected = [first + timedelta(seconds=PERIOD * k) for k in range(INSTANTS)]
    audit = audit_fires(rows, counts, expected, PERIOD)
    assert audit.jobs == JOBS
    assert audit.problems() == [], audit

    # claims made ahead and handed back at the stop wait, unstarted, for the next scheduler
    started = [r for r in rows if r.started_at is not None]
    assert all(r.scheduled_at > last for r in rows if r.started_at is None)
    statuses = Counter(r.status for r in started)
    assert set(statuses) <= {"Success", "Warning"}, statuses
    warned = [r.messages for r in started if r.status == "Warning"]
    assert all(any(SKIPPED in m or NO_DATA in m for m in ms) for ms in warned), warned[:3]
    assert statuses["Success"] >= JOBS * INSTANTS * 0.9, statuses

    # connections: at most one per thread that uses the database (scheduler loop, heartbeat and
    # executor workers) per process, whichever instance happens to claim the fires; a leak
    # breaks this within a few fires
    assert len(schedulers.conns) >= 10, schedulers.conns
    for i in range(INSTANCES):
        series = [sample.get(f"{APP}{i}", 0) for sample in schedulers.conns]
        assert max(series) <= 4 + 2, series  # BATCHSCORE_WORKERS + scheduler loop + heartbeat
    for log in schedulers.logs:
        content = log.read_text()
        assert "Traceback" not in content, content[-3000:]
