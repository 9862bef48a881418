"""Several instances on one PostgreSQL (issue 7): two `batchscore serve` (one API-only, one with
the scheduler) and one `batchscore scheduler`. Jobs created through both APIs fire exactly once
per instant, every instance reads the same results, and after the instance running an
execution is SIGKILLed the execution is finished as interrupted once its lease expires while
the schedule goes on."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from batchscore.clock import SystemClock
from batchscore.domain.roles import Role
from batchscore.passwords import configure_hashing
from batchscore.service.users import add_user
from batchscore.store.db import Database
from batchscore.store.migrate import upgrade
from batchscore.store.tables import executions, inference_chunks
from batchscore.testing import regression_pmml
from tests.conftest import PG_URL
from tests.integration.conftest import CANONICAL, SENSORS
from tests.integration.live_server import free_port, wait_until
from tests.integration.test_executions import T0, corpus_rows, post_measurements

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(PG_URL is None, reason="needs BATCHSCORE_TEST_POSTGRES_URL"),
]

BASE = "/service/zementis"
PASSWORD = "multi-Passw0rd"
AUTH = ("admin", PASSWORD)
LEASE_S = 3
SPARSE_FROM = datetime(1990, 1, 1, tzinfo=UTC)
EVERY_2S = {
    "frequency": "periodic",
    "cronExpression": "*/2 * * ? * *",
    "timeZone": "UTC",
    "dataFromPreviousNSeconds": 2,
}
INTERRUPTED = "The execution was interrupted: the process running it stopped."


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database with the admin user; dropped afterwards."""
    assert PG_URL is not None
    configure_hashing("fast")
    name = f"batchscore_multi_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database.from_url(url)
    upgrade(db.engine)  # once, before several processes start on it
    add_user(db, SystemClock(), "default", "admin", PASSWORD, frozenset({Role.ML_ADMIN}))
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Instance:
    """One batchscore process; its output goes to a log file checked at the end."""

    def __init__(self, workdir: Path, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self.port = int(env.get("BATCHSCORE_PORT", "0"))
        cli = Path(sys.executable).with_name("batchscore")
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([str(cli), *args], env=env, stdout=out, stderr=out)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
        return True

    def healthy(self) -> bool:
        self.alive()
        try:
            return httpx.get(f"{self.base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def start(stack: ExitStack, workdir: Path, url: str, name: str, *args: str, **env: str) -> Instance:
    environ = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": url,
        "BATCHSCORE_HOST": "127.0.0.1",
        "BATCHSCORE_ADMIN_PASSWORD": PASSWORD,
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
        "BATCHSCORE_LEASE_S": str(LEASE_S),
        "BATCHSCORE_SCHEDULER_INTERVAL_S": "0.2",
        "BATCHSCORE_EXECUTOR": "local",
        **{f"BATCHSCORE_{k.upper()}": v for k, v in env.items()},
    }
    instance = Instance(workdir, name, list(args), environ)
    stack.callback(instance.stop)
    return instance


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text[:500]
    return response.json()


def job(name: str, target: int, schedule: dict[str, Any]) -> dict[str, Any]:
    return {
        "jobName": name,
        "jobDescription": "multi-instance",
        "associatedGroupOrDeviceId": target,
        "associatedModel": "Sum",
        "modelToDeviceMappings": dict(CANONICAL),
        "jobSchedule": schedule,
    }


def settled(job: dict[str, Any]) -> dict[str, Any]:
    """A job without the fields its running schedule keeps changing."""
    return {k: v for k, v in job.items() if k not in ("jobStatus", "lastExecutionDuration")}


def history(http: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = ok(http.get(f"{BASE}/job/{job_id}/history"))
    return runs


def fires(url: str, job_id: int) -> list[Any]:
    """Scheduled instants of a job's executions, in execution-number order, from the table."""
    db = Database.from_url(url)
    try:
        with db.read() as conn:
            rows = conn.execute(
                select(executions.c.number, executions.c.scheduled_at)
                .where(executions.c.job_id == job_id)
                .order_by(executions.c.number)
            ).all()
    finally:
        db.dispose()
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    return [r.scheduled_at for r in rows]


def test_two_servers_and_a_scheduler_share_one_database(database: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        api = start(
            stack, tmp_path, database, "api", "serve", port=str(free_port()), scheduler="false"
        )
        both = start(
            stack, tmp_path, database, "both", "serve", port=str(free_port()), scheduler="true"
        )
        sched = start(stack, tmp_path, database, "scheduler", "scheduler")
        wait_until(lambda: api.healthy() and both.healthy() and sched.alive(), "servers up")
        a = stack.enter_context(httpx.Client(base_url=api.base, auth=AUTH, timeout=10))
        b = stack.enter_context(httpx.Client(base_url=both.base, auth=AUTH, timeout=10))

        # inventory, data and model, written through both instances
        devices = [
            int(
                ok(
                    http.post("/inventory/managedObjects", json={"name": n, "c8y_IsDevice": {}}),
                    201,
                )["id"]
            )
            for http, n in ((a, "d1"), (b, "d2"))
        ]
        group = int(
            ok(
                a.post(
                    "/inventory/managedObjects",
                    json={"name": "line", "type": "c8y_DeviceGroup", "c8y_IsDeviceGroup": {}},
                ),
                201,
            )["id"]
        )
        for device in devices:
            ok(
                b.post(
                    f"/inventory/managedObjects/{group}/childAssets",
                    json={"managedObject": {"id": str(device)}},
                ),
                201,
            )
        inputs, _ = corpus_rows()
        for device in devices:
            post_measurements(a, {}, device, inputs[:100])  # type: ignore[arg-type]
        ok(
            b.post(f"{BASE}/model", files={"file": ("Sum.pmml", regression_pmml("Sum", SENSORS))}),
            201,
        )

        # jobs through both APIs: two periodic, one once over the data, one with a huge window
        p1 = ok(a.post(f"{BASE}/job", json=job("p1", group, EVERY_2S)), 201)["jobId"]
        p2 = ok(b.post(f"{BASE}/job", json=job("p2", devices[0], EVERY_2S)), 201)["jobId"]
        once = ok(
            b.post(
                f"{BASE}/job",
                json=job(
                    "once",
                    group,
                    {
                        "frequency": "once",
                        "dataFrom": T0.isoformat(),
                        "dataTo": (T0 + timedelta(seconds=100)).isoformat(),
                    },
                ),
            ),
            201,
        )["jobId"]
        # The slow job's window (1990-2030) holds a measurement every 6 hours (its read chunk)
        # for its first 7 years: 10,000 chunks with data, so that its execution lasts long
        # enough to be killed in the middle (empty stretches are skipped in one step).
        sparse = [
            {
                "source": {"id": str(devices[1])},
                "time": (SPARSE_FROM + i * timedelta(hours=6)).isoformat(),
                "type": "c8y_Motion",
                "c8y_Acceleration": {s: {"value": i % 7} for s in SENSORS[:3]},
                "c8y_Gyroscope": {s: {"value": i % 5} for s in SENSORS[3:]},
            }
            for i in range(10_000)
        ]
        for at in range(0, len(sparse), 2_500):
            ok(
                a.post("/measurement/measurements", json={"measurements": sparse[at : at + 2_500]}),
                201,
            )
        slow = ok(
            a.post(
                f"{BASE}/job",
                json=job(
                    "slow",
                    group,
                    {
                        "frequency": "once",
                        "scheduleAt": "2099-01-01T00:00:00Z",
                        "dataFrom": "1990-01-01T00:00:00Z",
                        "dataTo": "2030-01-01T00:00:00Z",
                    },
                ),
            ),
            201,
        )["jobId"]

        # consistent reads from either instance
        wait_until(
            lambda: [r["jobExecutionStatus"] for r in history(a, once)] == ["Success"],
            "the once job finished",
            timeout=20,
        )
        assert history(b, once) == history(a, once)
        pages = [
            ok(http.get(f"{BASE}/job/{once}/history/1/inferences?withTimestamps=true"))
            for http in (a, b)
        ]
        assert pages[0] == pages[1]
        assert [len(e["time"]) for e in pages[0]["inferenceCollection"]] == [100, 100]
        assert {j["jobId"] for j in ok(a.get(f"{BASE}/jobs"))} == {p1, p2, once, slow}
        assert settled(ok(a.get(f"{BASE}/job/{p2}"))) == settled(ok(b.get(f"{BASE}/job/{p2}")))
        wait_until(
            lambda: min(len(history(a, p1)), len(history(a, p2))) >= 3,
            "three fires of each periodic job",
            timeout=20,
        )

        # the instance with the scheduler runs the slow execution; kill it in the middle
        ok(b.post(f"{BASE}/job/{slow}/run"), 201)
        db = Database.from_url(database)
        stack.callback(db.dispose)

        def slow_chunks() -> int:
            with db.read() as conn:
                row = conn.execute(
                    select(executions.c.id, executions.c.lease_owner, executions.c.status).where(
                        executions.c.job_id == slow
                    )
                ).one()
                assert row.status == "Running"
                assert str(row.lease_owner).startswith("serve@")  # the instance, by name
                return int(
                    conn.execute(
                        select(func.count()).where(inference_chunks.c.execution_id == row.id)
                    ).scalar_one()
                )

        wait_until(lambda: slow_chunks() > 0, "the slow execution storing its inferences")
        both.proc.send_signal(signal.SIGKILL)
        both.proc.wait(timeout=10)
        fired_before = len(history(a, p1))

        wait_until(
            lambda: history(a, slow)[0]["jobExecutionStatus"] != "Running",
            "the interrupted execution to be recovered",
            timeout=LEASE_S + 15,
        )
        [interrupted] = history(a, slow)
        assert interrupted["jobExecutionStatus"] == "Failure"
        assert interrupted["jobExecutionStatusMessage"] == [INTERRUPTED]
        wait_until(
            lambda: len(history(a, p1)) >= fired_before + 2, "the schedule going on", timeout=20
        )
        assert sched.alive()

        # exactly once: every 2-second instant from the first fire on, once, for both jobs
        for job_id in (p1, p2):
            instants = fires(database, job_id)
            steps = {
                (later - earlier).total_seconds() for earlier, later in itertools.pairwise(instants)
            }
            assert steps == {2.0}, instants
            # instants claimed ahead are in the table but not yet due; every instant that is a
            # few seconds past has finished
            settled_by = datetime.now(UTC) - timedelta(seconds=4)
            due = {n for n, at in enumerate(instants, start=1) if at <= settled_by}
            finished = {
                r["jobExecutionNumber"]
                for r in history(a, job_id)
                if r["jobExecutionStatus"] != "Running"
            }
            assert due <= finished, (sorted(due - finished), instants)
        api.stop()
        sched.stop()
    for instance in (api, sched):
        assert "Traceback" not in instance.log.read_text(), instance.log.read_text()[-3000:]


def test_claimed_ahead_executions_are_invisible_until_their_instant(
    database: str, tmp_path: Path
) -> None:
    """Two `serve` instances with schedulers claim a */2 job 5 s ahead (issue 16): the history
    read from either shows only executions whose instant has passed, each with its real start
    (never before its instant, never rewritten), while the table holds the claims ahead."""
    with ExitStack() as stack:
        one, two = (
            start(
                stack,
                tmp_path,
                database,
                name,
                "serve",
                port=str(free_port()),
                scheduler="true",
                scheduler_lookahead_s="5",
            )
            for name in ("one", "two")
        )
        wait_until(lambda: one.healthy() and two.healthy(), "servers up")
        clients = [
            stack.enter_context(httpx.Client(base_url=i.base, auth=AUTH, timeout=10))
            for i in (one, two)
        ]
        http = clients[0]
        device = ok(
            http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}}), 201
        )
        ok(http.post(f"{BASE}/model", content=regression_pmml("Sum", SENSORS)), 201)
        job_id = ok(
            http.post(f"{BASE}/job", json=job("every-2s", int(device["id"]), EVERY_2S)), 201
        )["jobId"]
        created = datetime.now(UTC)
        db = Database.from_url(database)
        stack.callback(db.dispose)
        starts: dict[int, str] = {}
        ahead_seen = 0
        polls = 0
        deadline = created + timedelta(seconds=13)
        while datetime.now(UTC) < deadline:
            for client in clients:
                runs = history(client, job_id)
                answered = datetime.now(UTC)
                with db.read() as conn:
                    table = {
                        int(r.number): r
                        for r in conn.execute(
                            select(
                                executions.c.number,
                                executions.c.scheduled_at,
                                executions.c.started_at,
                            ).where(executions.c.job_id == job_id)
                        )
                    }
                shown = {r["jobExecutionNumber"] for r in runs}
                ahead_seen += sum(
                    1 for n, r in table.items() if r.scheduled_at > answered and n not in shown
                )
                for run in runs:
                    instant = table[run["jobExecutionNumber"]].scheduled_at
                    started = datetime.fromisoformat(run["jobExecutionStartTime"])
                    assert instant <= answered, (run, instant)  # its instant had come
                    assert started >= instant, (run, instant)  # started then, not before
                    first = starts.setdefault(
                        run["jobExecutionNumber"], run["jobExecutionStartTime"]
                    )
                    assert first == run["jobExecutionStartTime"]  # never rewritten
                polls += 1
        # a */2 job created at `created`: at most one execution per 2-s instant passed so far
        assert len(starts) <= (datetime.now(UTC) - created).total_seconds() / 2 + 1, starts
        assert len(starts) >= 4, starts
        assert ahead_seen > 0  # the table did hold claims ahead of their instant meanwhile
        assert polls > 20
    for instance in (one, two):
        assert "Traceback" not in instance.log.read_text(), instance.log.read_text()[-3000:]
