"""Pages of GET /measurement/measurements (service level) with and without the device-time index.

One device, 24 h at 1 Hz x 6 series (518,400 values in 172,800 measurements). The same ingest
and pages (the page's ids, then its documents) are timed on a fresh database with the
(tenant, device, time, id) index of the measurements table (migration 0005; 0004 had the same
role on the old value table) and on another without it, in one run.

    .venv/bin/python bench/measurement_pages.py [--backend sqlite|postgres] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh_db import database

from batchscore.domain.filters import MeasurementFilter
from batchscore.service.measurements import MeasurementService
from batchscore.store.db import Database
from batchscore.store.measurements import insert_values
from batchscore.store.series import ValueRow

INDEX = "ix_measurements_tenant_id_device_id_time_ns_id"
T0 = 1_767_225_600 * 10**9  # 2026-01-01
SECOND = 10**9
SERIES = [("c8y_Acceleration", f"acceleration{a}") for a in "XYZ"] + [
    ("c8y_Gyroscope", f"gyro{a}") for a in "XYZ"
]
DEVICE = 7
QUERIES = [
    ("whole device, page 1", MeasurementFilter(device_id=DEVICE), 1),
    ("whole device, page 40", MeasurementFilter(device_id=DEVICE), 40),
    (
        "1 h window, page 1",
        MeasurementFilter(device_id=DEVICE, start_ns=T0, end_ns=T0 + 3600 * SECOND),
        1,
    ),
    (
        "6 h of one fragment, page 10",
        MeasurementFilter(
            device_id=DEVICE, start_ns=T0, end_ns=T0 + 6 * 3600 * SECOND, fragment="c8y_Gyroscope"
        ),
        10,
    ),
    ("past the last page", MeasurementFilter(device_id=DEVICE), 100),
]


def ingest(db: Database) -> float:
    started = time.perf_counter()
    for hour in range(24):
        seconds = range(hour * 3600, (hour + 1) * 3600)
        rows = [
            ValueRow(DEVICE, fragment, series, T0 + s * SECOND, float(s), None, fragment)
            for s in seconds
            for fragment, series in SERIES
        ]
        with db.write() as conn:
            insert_values(conn, "t", rows)
    return time.perf_counter() - started


def time_pages(db: Database, repeat: int) -> list[float]:
    service = MeasurementService(db)
    medians = []
    for _, flt, page in QUERIES:
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            found = service.read_page(
                "t", flt, page_size=2000, current_page=page, descending=False, with_total=False
            )
            for _ in found:
                pass
            runs.append((time.perf_counter() - started) * 1000)
        medians.append(statistics.median(runs))
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for indexed in (True, False):  # each on a fresh database
        with database(args.backend) as db:
            if not indexed:
                with db.write() as conn:
                    conn.execute(text(f"DROP INDEX {INDEX}"))
            results[indexed] = ingest(db), time_pages(db, args.repeat)
    with_index, without = results[True], results[False]
    print(f"backend: {args.backend}, 518,400 rows of one device; medians of {args.repeat} runs")
    print(f"{'':34}{'with index':>12}{'without':>12}{'ratio':>8}")
    print(
        f"{'ingest (insert_values), s':34}{with_index[0]:>12.1f}{without[0]:>12.1f}"
        f"{with_index[0] / without[0]:>8.2f}"
    )
    for (label, _, _), a, b in zip(QUERIES, with_index[1], without[1], strict=True):
        print(f"{label + ', ms':34}{a:>12.1f}{b:>12.1f}{a / b:>8.2f}")


if __name__ == "__main__":
    main()
