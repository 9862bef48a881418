"""Group-execution scaling benchmark: in-process vs. a 2-worker local Dask cluster, and per-device
time as the group grows (design §4: linear in devices; faster on 2 Dask workers).

Run: ``.venv/bin/python bench/scale.py [--devices 1000] [--hours 1] [--sizes 100,250,500,1000]
[--db PATH]``

Data: ``--devices`` devices x ``--hours`` at 1 Hz x 6 series (1,000 x 1 h = 21.6M values) in a
SQLite file (bulk-inserted with the driver's executemany in primary-key order; ``--db`` keeps
and reuses it). Values are rows of the bench input and the model is the bench IsolationForest
``iforest_100`` (100 trees), both made by ``bench/pmml_models.py`` when missing.
Each timing is one ``once`` job over a group of the first N devices, fired with ``fire_now`` and
run synchronously by a ``JobExecutor`` (reads, scoring and inference writes included), warm
(model compiled, workers started and used once before). Dask: ``LocalCluster(n_workers=2,
threads_per_worker=1, processes=True)`` on this machine, MALLOC_TRIM_THRESHOLD_ override as
batchscore's workers use, partitions sized by ``DaskRunner``'s default.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dask.config
import numpy as np
from batchscore.scheduling.manual import fire_now
from distributed import LocalCluster
from pmml_models import bench_input, model_pmml
from sqlalchemy import func, select

from batchscore.clock import SystemClock
from batchscore.domain.jobs import ExecutionStatus, Job
from batchscore.domain.measurements import to_ns
from batchscore.domain.roles import Role
from batchscore.execution.dask_backend import DaskRunner
from batchscore.execution.dask_worker import MALLOC_OVERRIDE
from batchscore.execution.executor import JobExecutor
from batchscore.passwords import configure_hashing
from batchscore.service.container import Services
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.migrate import upgrade
from batchscore.store.tables import inference_chunks

REPO = Path(__file__).resolve().parents[1]
MODEL = model_pmml("iforest_100")
INPUT = bench_input()
TENANT = "bench"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
MAPPING = {
    "accelerationX": "c8y_Acceleration.accelerationX.value",
    "accelerationY": "c8y_Acceleration.accelerationY.value",
    "accelerationZ": "c8y_Acceleration.accelerationZ.value",
    "gyroX": "c8y_Gyroscope.gyroX.value",
    "gyroY": "c8y_Gyroscope.gyroY.value",
    "gyroZ": "c8y_Gyroscope.gyroZ.value",
}
# Only the series values executions scan (measurement id = the second), no measurement
# documents: this bench times executions, not the measurement API.
INSERT_SQL = (
    "INSERT INTO measurement_values (tenant_id, device_id, fragment, series, time_ns, "
    "measurement_id, value, unit) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
)


def grid() -> np.ndarray[Any, Any]:
    with INPUT.open() as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[name]) for name in MAPPING] for r in rows])


def ingest(db: Database, devices: list[int], seconds: int) -> float:
    """Bulk-insert ``seconds`` x 6 values per device, in primary-key order; returns seconds."""
    values = grid()
    t0 = to_ns(T0)
    times = [t0 + s * 10**9 for s in range(seconds)]
    paths = [text.split(".")[:2] for text in MAPPING.values()]
    started = time.perf_counter()
    for d, device in enumerate(devices):
        rows = values[(np.arange(seconds) + d * 997) % len(values)]
        batch = [
            (TENANT, device, fragment, series, at, second + 1, value)
            for i, (fragment, series) in enumerate(paths)
            for second, (at, value) in enumerate(zip(times, rows[:, i].tolist(), strict=True))
        ]
        with db.write() as conn:
            conn.connection.cursor().executemany(INSERT_SQL, batch)
        if d % 100 == 99:
            print(f"  inserted {d + 1} devices ({time.perf_counter() - started:.0f} s)")
    return time.perf_counter() - started


def world(services: Services, devices: int, sizes: list[int], fresh: bool) -> dict[int, int]:
    """Devices 1..N, a group of the first n devices for each size, and the model; n -> group."""
    inventory = services.inventory
    if fresh:
        add_user(
            services.db,
            services.clock,
            TENANT,
            "bench",
            "bench-Passw0rd",
            frozenset({Role.ML_ADMIN}),
        )  # fmt: skip (the tenant row)
        ids = [inventory.create(TENANT, {"name": f"d{i}", "c8y_IsDevice": {}}).id for i in
               range(devices)]  # fmt: skip
        services.models.upload(TENANT, MODEL.read_bytes(), MODEL.name)
    else:
        ids = list(range(1, devices + 1))
    groups = {}
    for n in sizes:
        body = {"name": f"g{n}", "type": "c8y_DeviceGroup", "c8y_IsDeviceGroup": {}}
        group = inventory.create(TENANT, body).id
        for device in ids[:n]:
            inventory.add_child(TENANT, group, {"managedObject": {"id": str(device)}})
        groups[n] = group
    return groups


def job_on(services: Services, group: int, hours: float) -> Job:
    return services.jobs.create(
        TENANT,
        {
            "jobName": f"scale-{group}",
            "jobDescription": "scale benchmark",
            "associatedGroupOrDeviceId": group,
            "associatedModel": "iforest_100",
            "modelToDeviceMappings": dict(MAPPING),
            "jobSchedule": {
                "frequency": "once",
                "dataFrom": T0.isoformat(),
                "dataTo": (T0 + timedelta(hours=hours)).isoformat(),
            },
        },
    )


def timed_run(services: Services, executor: JobExecutor, job: Job, expected: int) -> float:
    execution = fire_now(
        services.db, job, services.clock.now(), owner=executor.owner, lease=executor.lease
    )
    started = time.perf_counter()
    status = executor.run(execution)
    elapsed = time.perf_counter() - started
    assert status is ExecutionStatus.SUCCESS, status
    with services.db.read() as conn:
        records = conn.execute(
            select(func.sum(inference_chunks.c.row_count)).where(
                inference_chunks.c.execution_id == execution.id
            )
        ).scalar_one()
    assert records == expected, (records, expected)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--sizes", default="", help="group sizes for the growth table")
    parser.add_argument("--db", type=Path, help="SQLite file to create or reuse")
    args = parser.parse_args()
    seconds = int(args.hours * 3600)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s} | {args.devices})
    sizes = [n for n in sizes if n <= args.devices]
    configure_hashing("fast")

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "scale.db"
        fresh = not path.exists()
        url = f"sqlite:///{path}"
        db = Database.from_url(url)
        upgrade(db.engine)
        services = Services.build(Settings(password_profile="fast"), db, SystemClock())
        print(f"{args.devices} devices x {args.hours:g} h at 1 Hz x 6 series -> {path}")
        groups = world(services, args.devices, sizes, fresh)
        if fresh:
            values = args.devices * seconds * 6
            took = ingest(db, list(range(1, args.devices + 1)), seconds)
            print(f"ingest: {values:,} values in {took:.1f} s ({values / took:,.0f} values/s)")
        local = services.executor
        warm = job_on(services, groups[sizes[0]], 1 / 60)
        timed_run(services, local, warm, 60 * sizes[0])  # compiles the model

        rows: list[tuple[int, float]] = []
        for n in sizes:
            took = timed_run(services, local, job_on(services, groups[n], args.hours), n * seconds)
            rows.append((n, took))
            print(f"  in-process {n:>5} devices: {took:7.2f} s  {1000 * took / n:6.1f} ms/device")

        with dask.config.set(MALLOC_OVERRIDE), LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:  # fmt: skip
            runner = DaskRunner(cluster.scheduler_address, url)
            remote = JobExecutor(db, services.clock, services.source, services.model_cache,
                                 lease=local.lease, runner=runner)  # fmt: skip
            try:
                cold = timed_run(services, remote, warm, 60 * sizes[0])
                n = sizes[-1]
                dask_s = timed_run(
                    services, remote, job_on(services, groups[n], args.hours), n * seconds
                )
            finally:
                remote.shutdown()
        in_process = rows[-1][1]
        report(args, rows, in_process, dask_s, cold, n)
        db.dispose()


def report(
    args: argparse.Namespace,
    rows: list[tuple[int, float]],
    in_process: float,
    dask_s: float,
    cold: float,
    n: int,
) -> None:
    per: Callable[[float, int], float] = lambda s, k: 1000 * s / k  # noqa: E731
    print()
    print(f"group of {n} devices x {args.hours:g} h ({n * int(args.hours * 3600):,} records)")
    print(
        f"  in-process (local executor)       {in_process:7.2f} s  {per(in_process, n):6.1f} ms/dev"
    )
    print(f"  Dask LocalCluster, 2 workers      {dask_s:7.2f} s  {per(dask_s, n):6.1f} ms/dev")
    print(f"  speed-up {in_process / dask_s:.2f}x; first Dask run (1 min window): {cold:.2f} s")
    print()
    print("growth (in-process):  devices  seconds  ms/device  vs smallest")
    base = per(rows[0][1], rows[0][0])
    for k, seconds in rows:
        print(f"                      {k:7d}  {seconds:7.2f}  {per(seconds, k):9.1f}  "
              f"{per(seconds, k) / base:10.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
