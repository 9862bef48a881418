"""Measurement ingest and window-read benchmark: one device, 24 h at 1 Hz x 6 series.

Run: ``.venv/bin/python bench/measurements.py [--backend sqlite|postgres] [--hours 24]
[--api-hours H] [--reads 5] [--http-read-hours 1]``

- ingest via the API: ``POST /measurement/measurements`` collections (1,000 measurements of one
  fragment x 3 series each) over real HTTP to uvicorn on 127.0.0.1, one client;
- ingest via import: ``import_measurements`` of a wide CSV and of a wide Parquet file (each into
  its own device), then the CSV again (idempotent re-import);
- window read: ``EmbeddedSource.read`` of the whole window, 6 paths, into numpy (best and median
  of ``--reads``), and once through the Cumulocity connector over HTTP for comparison
  (``--http-read-hours`` of the API device).
Design target: a 24 h x 6-series window reads in <= 0.5 s on SQLite.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import uvicorn
from fresh_db import database

from batchscore.clock import SystemClock
from batchscore.composition.app import create_app
from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.roles import Role
from batchscore.passwords import configure_hashing
from batchscore.service.container import Services
from batchscore.service.importer import import_measurements
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.sources.cumulocity import CumulocitySettings, CumulocitySource
from batchscore.sources.embedded import EmbeddedSource

TENANT = "bench"
PASSWORD = "bench-Passw0rd"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
FRAGMENTS = {
    "c8y_Acceleration": ("accelerationX", "accelerationY", "accelerationZ"),
    "c8y_Gyroscope": ("gyroX", "gyroY", "gyroZ"),
}
PATHS = [MeasurementPath(f, s) for f, series in FRAGMENTS.items() for s in series]
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def http_server(services: Services) -> Iterator[str]:
    """The API on a free 127.0.0.1 port, uvicorn in a thread."""
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=0, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def value(fragment_index: int, series_index: int, second: int) -> float:
    return round(np.sin(second / 60 + series_index) * (fragment_index + 1), 6)


def ingest_api(base: str, device: int, seconds: int) -> float:
    """Seconds taken to post ``seconds`` x 2 measurements (3 series each)."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, auth=(f"{TENANT}/admin", PASSWORD), timeout=120) as http:
        batch: list[dict[str, Any]] = []
        for s in range(seconds):
            at = (T0 + timedelta(seconds=s)).isoformat()
            for fi, (fragment, series) in enumerate(FRAGMENTS.items()):
                batch.append(
                    {
                        "source": {"id": str(device)},
                        "time": at,
                        "type": fragment,
                        fragment: {n: {"value": value(fi, si, s)} for si, n in enumerate(series)},
                    }
                )
            if len(batch) >= 1000 or s == seconds - 1:
                r = http.post("/measurement/measurements", json={"measurements": batch})
                r.raise_for_status()
                batch = []
    return time.perf_counter() - started


def write_files(tmp: Path, seconds: int) -> tuple[Path, Path]:
    columns = [f"{p.fragment}.{p.series}" for p in PATHS]
    grid = np.array(
        [
            [
                value(fi, si, s)
                for fi, series in enumerate(FRAGMENTS.values())
                for si, _ in enumerate(series)
            ]
            for s in range(seconds)
        ]
    )
    csv_path = tmp / "day.csv"
    with csv_path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["time", *columns])
        for s in range(seconds):
            out.writerow([(T0 + timedelta(seconds=s)).isoformat(), *grid[s].tolist()])
    t0_ns = int(T0.timestamp()) * 10**9
    times = pa.array(
        t0_ns + np.arange(seconds, dtype=np.int64) * 10**9, pa.timestamp("ns", tz="UTC")
    )
    table = pa.table({"time": times, **{c: grid[:, i] for i, c in enumerate(columns)}})
    parquet_path = tmp / "day.parquet"
    pq.write_table(table, parquet_path)
    return csv_path, parquet_path


def timed_reads(source: Any, device: int, end: datetime, reads: int) -> tuple[list[float], int]:
    times: list[float] = []
    count = 0
    for _ in range(reads):
        started = time.perf_counter()
        (chunk,) = source.read(TENANT, device, PATHS, T0, end)
        times.append(time.perf_counter() - started)
        count = sum(len(s) for s in chunk.series.values())
    return times, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--api-hours", type=float, default=None, help="default: --hours")
    parser.add_argument("--reads", type=int, default=5)
    parser.add_argument(
        "--http-read-hours", type=float, default=1, help="window of the connector read"
    )
    args = parser.parse_args()
    seconds = int(args.hours * 3600)
    api_seconds = int((args.api_hours if args.api_hours is not None else args.hours) * 3600)
    end = T0 + timedelta(seconds=seconds)
    configure_hashing("fast")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp_name, database(args.backend, Path(tmp_name)) as db:
        tmp = Path(tmp_name)
        clock = SystemClock()
        add_user(db, clock, TENANT, "admin", PASSWORD, frozenset({Role.ML_ADMIN}))
        services = Services.build(Settings(password_profile="fast", var_dir=tmp), db, clock)
        api_dev, csv_dev, pq_dev = (
            services.inventory.create(TENANT, {"name": n, "c8y_IsDevice": {}}).id
            for n in ("api", "csv", "parquet")
        )
        csv_path, parquet_path = write_files(tmp, seconds)
        with http_server(services) as base:
            took = ingest_api(base, api_dev, api_seconds)
            n = api_seconds * 2
            rows.append(
                (
                    f"ingest via API ({n:,} measurements, {n * 3:,} values)",
                    f"{took:.1f} s = {n / took:,.0f} measurements/s = {n * 3 / took:,.0f} values/s",
                )
            )
            for label, path, device in (
                ("CSV", csv_path, csv_dev),
                ("Parquet", parquet_path, pq_dev),
                ("CSV again (all present)", csv_path, csv_dev),
            ):
                summary = import_measurements(db, TENANT, device, path)
                m = summary.rows * 2  # one measurement per fragment and instant
                rows.append(
                    (
                        f"ingest via import, {label} ({summary.values:,} values)",
                        f"{summary.seconds:.1f} s = {m / summary.seconds:,.0f} measurements/s = "
                        f"{summary.values / summary.seconds:,.0f} values/s",
                    )
                )
            embedded = EmbeddedSource(db, services.inventory)
            times, count = timed_reads(embedded, csv_dev, end, args.reads)
            best, median = min(times), statistics.median(times)
            rows.append(
                (
                    f"window read, embedded ({count:,} values, {args.reads} reads)",
                    f"best {best:.3f} s, median {median:.3f} s = {count / median:,.0f} values/s",
                )
            )
            settings = CumulocitySettings(
                c8y_baseurl=base, c8y_tenant=TENANT, c8y_user="admin", c8y_password=PASSWORD
            )
            with CumulocitySource.from_settings(settings) as connector:
                http_hours = min(args.http_read_hours * 3600, api_seconds)
                api_end = T0 + timedelta(seconds=http_hours)
                http_times, http_count = timed_reads(connector, api_dev, api_end, 1)
            rows.append(
                (
                    f"window read, Cumulocity connector over HTTP ({http_count:,} values)",
                    f"{http_times[0]:.2f} s = {http_count / http_times[0]:,.0f} values/s",
                )
            )
    width = max(len(r[0]) for r in rows)
    print(f"backend: {args.backend}, {args.hours:g} h at 1 Hz x 6 series")
    for label, result in rows:
        print(f"{label:<{width}}  {result}")


if __name__ == "__main__":
    main()
