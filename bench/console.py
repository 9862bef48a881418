"""What a console left open costs the server: each open jobs list or job page asks every
``BATCHSCORE_CONSOLE_REFRESH_S`` (5 s) whether it changed. Side by side in one run: the full
page, its refresh when something changed (the part, 200) and when nothing did (204), for a
tenant of 1,000 jobs with 100 executions each; and an execution of 60,000 records (page, chart
data at 1,300 px, next slice of rows).

    .venv/bin/python bench/console.py [--backend sqlite|postgres] [--jobs 1000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh_db import database

from batchscore.clock import FakeClock
from batchscore.composition.app import create_app
from batchscore.domain.jobs import ExecutionStatus
from batchscore.domain.roles import Role
from batchscore.execution.codec import Chunk, encode_chunk
from batchscore.service.container import Services
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.store.executions import NewExecution, finish_execution, insert_executions
from batchscore.store.inferences import insert_chunk
from batchscore.testing import regression_pmml

TENANT = "bench"
PASSWORD = "bench-Passw0rd"
NOW = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
SECOND = 10**9
RUNS_PER_JOB = 100
RECORDS = 60_000


def populate(svc: Services, jobs: int) -> tuple[int, int]:
    """``jobs`` jobs with ``RUNS_PER_JOB`` finished executions each, and one job whose latest
    execution has ``RECORDS`` records; returns (that job, its execution number)."""
    add_user(svc.db, svc.clock, TENANT, "admin", PASSWORD, frozenset({Role.ML_ADMIN}))
    svc.models.upload(TENANT, regression_pmml("reg", ["a"]), "reg.pmml")
    group = svc.inventory.create(TENANT, {"name": "line", "c8y_IsDeviceGroup": {}})
    devices = []
    for i in range(3):
        device = svc.inventory.create(TENANT, {"name": f"pump {i}", "c8y_IsDevice": {}})
        svc.inventory.add_child(TENANT, group.id, {"managedObject": {"id": str(device.id)}})
        devices.append(device.id)
    ids = []
    for i in range(jobs):
        job = svc.jobs.create(
            TENANT,
            {
                "jobName": f"job {i:04d}",
                "associatedModel": "reg",
                "associatedGroupOrDeviceId": group.id,
                "modelToDeviceMappings": {"a": "f.s.value"},
                "jobSchedule": {
                    "frequency": "periodic",
                    "cronExpression": "0 * * ? * *",
                    "timeZone": "UTC",
                    "dataFromPreviousNSeconds": 60,
                },
            },
        )
        ids.append(job.id)
    with svc.db.write() as conn:
        for number in range(1, RUNS_PER_JOB + 1):
            at = NOW - timedelta(minutes=RUNS_PER_JOB + 1 - number)
            rows = [
                NewExecution(
                    job,
                    TENANT,
                    number,
                    at,
                    at - timedelta(minutes=1),
                    at,
                    ExecutionStatus.SUCCESS,
                    ["ok"],
                    at,
                    ended_at=at,
                    duration_ms=10,
                    is_group=True,
                )
                for job in ids
            ]
            insert_executions(conn, rows)
    target = ids[0]
    with svc.db.write() as conn:
        row = NewExecution(
            target, TENANT, RUNS_PER_JOB + 1, NOW, NOW - timedelta(hours=6), NOW,
            ExecutionStatus.RUNNING, [], NOW, lease_owner="b", lease_until=NOW, is_group=True,
        )  # fmt: skip
        execution_id = insert_executions(conn, [row])[(target, RUNS_PER_JOB + 1)]
        per = RECORDS // len(devices)
        dev = np.repeat(np.array(devices, dtype=np.int64), per)
        start = int((NOW - timedelta(hours=6)).timestamp()) * SECOND
        times = np.tile(start + np.arange(per, dtype=np.int64) * SECOND, len(devices))
        rng = np.random.default_rng(1)
        scores = rng.normal(10, 1, RECORDS)
        flags = rng.random(RECORDS) < 0.03
        for seq, lo in enumerate(range(0, RECORDS, 2000)):
            chunk = Chunk(
                dev[lo : lo + 2000],
                times[lo : lo + 2000],
                {
                    "y": scores[lo : lo + 2000],
                    "outlier": np.array(flags[lo : lo + 2000].tolist(), dtype=object),
                },
            )
            insert_chunk(conn, execution_id, seq, int(dev[lo]), lo, 2000, encode_chunk(chunk))
        finish_execution(conn, execution_id, ExecutionStatus.SUCCESS, [], NOW, RECORDS)
    svc.models.delete(TENANT, "reg")  # the outputs then come from the stored columns
    return target, RUNS_PER_JOB + 1


def sign_in(client: TestClient) -> None:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    r = client.post(
        "/login",
        data={"login": f"{TENANT}/admin", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def timed(client: TestClient, path: str, repeat: int, status: int = 200) -> tuple[float, int]:
    """Median milliseconds and size in bytes of ``repeat`` GETs of ``path``."""
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.get(path, headers={"HX-Request": "true"} if "part=" in path else {})
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == status, (path, r.status_code, r.text[:300])
        size = int(r.headers.get("content-length", len(r.content)))  # on the wire
    return statistics.median(times), size


def version_of(html: str, element: str) -> str:
    found = re.search(rf'id="{element}" class="live" hx-get="[^"]*seen=([0-9a-f]+)', html)
    assert found is not None, element
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var, database(args.backend) as db:
        settings = Settings(password_profile="fast", var_dir=Path(var), scheduler=False)
        svc = Services.build(settings, db, FakeClock(NOW + timedelta(seconds=30)))
        try:
            started = time.perf_counter()
            job, number = populate(svc, args.jobs)
            took = time.perf_counter() - started
            print(
                f"populated {args.jobs} jobs x {RUNS_PER_JOB} executions and an execution of "
                f"{RECORDS} records in {took:.1f} s ({args.backend})"
            )
            with TestClient(create_app(svc)) as client:
                sign_in(client)
                page = client.get("/").text
                listed = version_of(page, "jobs-table")
                job_page = client.get(f"/jobs/{job}").text
                shown = version_of(job_page, "job-live")
                run = f"/jobs/{job}/executions/{number}"
                chart = f"{run}/chart?output=y&devices=" + ",".join(
                    re.findall(r'id="device-row-(\d+)"', client.get(run).text)
                )
                cases = [
                    ("jobs list, page 1 of 1,000 jobs", "/", 200),
                    ("  its refresh, changed (200)", "/?part=live", 200),
                    ("  its refresh, unchanged (204)", f"/?part=live&seen={listed}", 204),
                    (f"job page ({RUNS_PER_JOB} executions)", f"/jobs/{job}", 200),
                    ("  its refresh, changed (200) ", f"/jobs/{job}?part=live", 200),
                    ("  its refresh, unchanged (204) ", f"/jobs/{job}?part=live&seen={shown}", 204),
                    (f"execution page ({RECORDS} records)", run, 200),
                    ("  chart data, 3 devices at 1,300 px", chart + "&width=1300", 200),
                    ("  next 100 rows", f"{run}?part=rows&after=100", 200),
                    ("  next 100 outliers", f"{run}?part=rows&outliers=1&after=100", 200),
                ]
                print(f"{'request':42} {'median ms':>10} {'bytes':>9}")
                results = {}
                for name, path, status in cases:
                    ms, size = timed(client, path, args.repeat, status)
                    results[name] = ms
                    print(f"{name:42} {ms:10.1f} {size:9d}")
                full = results["jobs list, page 1 of 1,000 jobs"]
                idle = results["  its refresh, unchanged (204)"]
                print(f"jobs list: an unchanged refresh costs {idle / full:.2f}x the full page")
        finally:
            svc.close()


if __name__ == "__main__":
    main()
