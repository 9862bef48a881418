"""Execution window reads vs. one raw ``SELECT`` of the same rows into numpy, side by side in one
run.

Run: ``.venv/bin/python bench/reads.py [--backend sqlite|postgres] [--repeat 5]``

Two scenarios (as bench/execution.py): 1 device x 24 h and 100 devices x 1 h, at 1 Hz x 6
series. Per repetition, alternating:
- ours: what an execution reads, ``EmbeddedSource.read`` of the 6 mapped series of each device
  in the executor's 6 h chunks (``store.series.read_paths``: one query a device and chunk);
- per series (before issue 24): ``store.series.read_series`` once per series and device, the
  former read path, for reference;
- raw: one ``SELECT time_ns, value FROM measurement_values WHERE tenant_id = ? AND device_id IN
  (...) AND time_ns >= ? AND time_ns < ?`` through the raw driver (``sqlite3`` / psycopg 3,
  own connection), ``fetchall`` into a numpy structured array.
Ratio = raw / ours (design §4 target: >= 0.5), median of ``--repeat``.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from fresh_db import database

from batchscore.clock import SystemClock
from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.domain.roles import Role
from batchscore.passwords import configure_hashing
from batchscore.service.container import Services
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.series import read_series
from batchscore.store.value_grid import GridColumn, ValueGrid, insert_grid

TENANT = "bench"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
CHUNK = timedelta(hours=6)  # the executor's default read chunk
PATHS = [
    MeasurementPath(fragment, series)
    for fragment, names in (
        ("c8y_Acceleration", ("accelerationX", "accelerationY", "accelerationZ")),
        ("c8y_Gyroscope", ("gyroX", "gyroY", "gyroZ")),
    )
    for series in names
]
PAIR = np.dtype([("t", np.int64), ("v", np.float64)])


def ingest(db: Database, devices: list[int], seconds: int) -> int:
    rng = np.random.default_rng(24)
    times = to_ns(T0) + np.arange(seconds, dtype=np.int64) * 10**9
    for device in devices:
        grid = ValueGrid(
            np.full(seconds, device, dtype=np.int64),
            times,
            tuple(
                GridColumn(p.fragment, p.series, p.fragment, rng.normal(size=seconds))
                for p in PATHS
            ),
        )
        with db.write() as conn:
            insert_grid(conn, TENANT, grid)
    return len(devices) * seconds * len(PATHS)


def raw_reader(db: Database, devices: list[int], lo: int, hi: int) -> Callable[[], int]:
    marks = ", ".join("?" * len(devices))
    sql = (
        "SELECT time_ns, value FROM measurement_values WHERE tenant_id = ? "
        f"AND device_id IN ({marks}) AND time_ns >= ? AND time_ns < ?"
    )
    params = (TENANT, *devices, lo, hi)
    if db.engine.dialect.name == "sqlite":
        path = db.engine.url.database
        assert path is not None
        conn: Any = sqlite3.connect(path)
    else:
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(url, autocommit=True)
        sql = sql.replace("?", "%s")

    def read() -> int:
        cur = conn.cursor()
        cur.execute(sql, params)
        pairs = np.array(cur.fetchall(), dtype=PAIR)
        cur.close()
        return len(pairs)

    return read


def scenario(backend: str, devices_n: int, hours: float, repeat: int) -> list[str]:
    seconds = int(hours * 3600)
    end = T0 + timedelta(seconds=seconds)
    lo, hi = to_ns(T0), to_ns(end)
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as db:
        add_user(db, SystemClock(), TENANT, "admin", "bench-Passw0rd", frozenset({Role.ML_ADMIN}))
        services = Services.build(Settings(password_profile="fast", var_dir=Path(tmp)), db)
        devices = [
            services.inventory.create(TENANT, {"name": f"d{i}", "c8y_IsDevice": {}}).id
            for i in range(devices_n)
        ]
        values = ingest(db, devices, seconds)
        source = services.source

        def ours() -> int:
            count = 0
            for device in devices:
                for chunk in source.read(TENANT, device, PATHS, T0, end, CHUNK):
                    count += sum(len(s) for s in chunk.series.values())
            return count

        def per_series() -> int:
            count = 0
            for device in devices:
                at = T0
                while at < end:
                    upto = min(at + CHUNK, end)
                    with db.read() as conn:
                        for p in PATHS:
                            times, _ = read_series(
                                conn, TENANT, device, p.fragment, p.series, to_ns(at), to_ns(upto)
                            )
                            count += len(times)
                    at = upto
            return count

        raw = raw_reader(db, devices, lo, hi)
        timings: dict[str, list[float]] = {"ours": [], "per series": [], "raw": []}
        for _ in range(repeat):
            for name, fn in (("raw", raw), ("ours", ours), ("per series", per_series)):
                started = time.perf_counter()
                count = fn()
                timings[name].append(time.perf_counter() - started)
                assert count == values, (name, count, values)
    med = {k: statistics.median(v) for k, v in timings.items()}
    ratios = [r / o for r, o in zip(timings["raw"], timings["ours"], strict=True)]
    before = [r / o for r, o in zip(timings["raw"], timings["per series"], strict=True)]
    label = f"{devices_n} device{'s' if devices_n > 1 else ''} x {hours:g} h ({values:,} values)"
    return [
        f"{label}",
        f"  raw SELECT into numpy        {med['raw']:.3f} s",
        f"  ours (execution's read)      {med['ours']:.3f} s   raw/ours "
        f"{statistics.median(ratios):.2f}x",
        f"  per series (before)          {med['per series']:.3f} s   raw/ours "
        f"{statistics.median(before):.2f}x",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    configure_hashing("fast")
    lines = [f"backend: {args.backend}, medians of {args.repeat}, target raw/ours >= 0.5"]
    for devices, hours in ((1, 24.0), (100, 1.0)):
        lines += scenario(args.backend, devices, hours, args.repeat)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
