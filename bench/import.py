"""Bulk import benchmark: ``import_measurements`` / ``import_folder`` vs. the raw driver's bulk
insert of the same rows, side by side in one run.

Run: ``.venv/bin/python bench/import.py [--backend sqlite|postgres] [--devices 20] [--hours 1]
[--repeat 3]``

Data: ``--devices`` devices x ``--hours`` at 1 Hz x 6 series (2 fragments x 3 series), as
1. one wide CSV with a ``device`` column (``batchscore import measurements file.csv``);
2. a folder of one wide CSV per device, named by its id (``... import measurements folder/``;
   files written in parallel on PostgreSQL).
Reference: the rows our import stored (``measurements`` and ``measurement_values``, read back
after the first run) inserted by the raw driver into an empty database: ``executemany`` of
tuples on SQLite (``sqlite3``, same pragmas), ``COPY ... FROM STDIN`` with ``write_row`` on
PostgreSQL (psycopg 3). Each repetition uses fresh databases; ratio = raw seconds / our seconds
(design §4 target: >= 0.5), median of ``--repeat``.
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from fresh_db import database
from sqlalchemy import select, text

from batchscore.clock import SystemClock
from batchscore.domain.roles import Role
from batchscore.passwords import configure_hashing
from batchscore.service.container import Services
from batchscore.service.importer import import_measurements
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.tables import measurement_values, measurements

try:
    from batchscore.service.import_folder import import_folder
except ImportError:  # a commit before issue 24 (PYTHONPATH at its src): the one-file import only
    import_folder = None  # type: ignore[assignment]

TENANT = "bench"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
COLUMNS = [
    f"{fragment}.{series}"
    for fragment, names in (
        ("c8y_Acceleration", ("accelerationX", "accelerationY", "accelerationZ")),
        ("c8y_Gyroscope", ("gyroX", "gyroY", "gyroZ")),
    )
    for series in names
]


def write_files(tmp: Path, devices: list[int], seconds: int) -> tuple[Path, Path]:
    """The same values as one CSV with a device column and as a folder of one CSV a device."""
    rng = np.random.default_rng(24)
    stamps = [(T0 + timedelta(seconds=s)).isoformat() for s in range(seconds)]
    folder = tmp / "folder"
    folder.mkdir()
    one = tmp / "devices.csv"
    with one.open("w", newline="") as f:
        together = csv.writer(f)
        together.writerow(["device", "time", *COLUMNS])
        for device in devices:
            grid = np.round(rng.normal(size=(seconds, len(COLUMNS))), 6).tolist()
            with (folder / f"{device}.csv").open("w", newline="") as g:
                alone = csv.writer(g)
                alone.writerow(["time", *COLUMNS])
                for at, values in zip(stamps, grid, strict=True):
                    alone.writerow([at, *values])
                    together.writerow([device, at, *values])
    return one, folder


@contextmanager
def fresh(backend: str, tmp: Path, devices: int) -> Iterator[tuple[Database, list[int]]]:
    """A fresh database with the tenant and ``devices`` devices (the same ids every time)."""
    with database(backend, tmp) as db:
        add_user(db, SystemClock(), TENANT, "admin", "bench-Passw0rd", frozenset({Role.ML_ADMIN}))
        services = Services.build(Settings(password_profile="fast", var_dir=tmp), db)
        ids = [
            services.inventory.create(TENANT, {"name": f"d{i}", "c8y_IsDevice": {}}).id
            for i in range(devices)
        ]
        yield db, ids


def stored_rows(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows an import stored, fragments as the JSON text stored."""
    with db.read() as conn:
        docs = conn.execute(
            text(
                "SELECT id, tenant_id, device_id, time_ns, type, CAST(fragments AS TEXT) "
                "FROM measurements ORDER BY id"
            )
        ).all()
        values = conn.execute(select(measurement_values)).all()
    return [tuple(d) for d in docs], [tuple(v) for v in values]


def raw_insert(db: Database, docs: list[tuple[Any, ...]], values: list[tuple[Any, ...]]) -> float:
    """Seconds for the raw driver to insert the rows (one transaction)."""
    doc_cols = ", ".join(c.name for c in measurements.columns)
    value_cols = ", ".join(c.name for c in measurement_values.columns)
    if db.engine.dialect.name == "sqlite":
        path = db.engine.url.database
        assert path is not None
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO measurements ({doc_cols}) VALUES (?,?,?,?,?,?)", docs)
        conn.executemany(
            f"INSERT INTO measurement_values ({value_cols}) VALUES (?,?,?,?,?,?,?,?)", values
        )
        conn.execute("COMMIT")
        took = time.perf_counter() - started
        conn.close()
        return took
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(f"COPY measurements ({doc_cols}) FROM STDIN") as copy:
                for row in docs:
                    copy.write_row(row)
            with cur.copy(f"COPY measurement_values ({value_cols}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--hours", type=float, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_hashing("fast")
    seconds = int(args.hours * 3600)
    results: dict[str, list[float]] = {"file": [], "folder": [], "raw": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None = None
        files: tuple[Path, Path] | None = None
        for _ in range(args.repeat):
            for kind in ("file", "folder", "raw") if import_folder else ("file", "raw"):
                run_dir = Path(tempfile.mkdtemp(dir=tmp))
                with fresh(args.backend, run_dir, args.devices) as (db, ids):
                    if files is None:
                        files = write_files(tmp, ids, seconds)
                    if kind == "raw":
                        assert rows is not None
                        results[kind].append(raw_insert(db, *rows))
                    else:
                        started = time.perf_counter()
                        if kind == "file":
                            summary = import_measurements(db, TENANT, None, files[0])
                        else:
                            summary = import_folder(db, TENANT, files[1])
                        results[kind].append(time.perf_counter() - started)
                        assert summary.values == args.devices * seconds * 6, summary
                        if rows is None:
                            rows = stored_rows(db)
    assert rows is not None
    raw = statistics.median(results["raw"])
    print(
        f"backend: {args.backend}, {args.devices} devices x {args.hours:g} h at 1 Hz x 6 series: "
        f"{len(rows[0]):,} measurements, {len(rows[1]):,} values; median of {args.repeat}"
    )
    print(f"{'':<46}{'seconds':>9}{'values/s':>12}{'raw / ours':>12}")
    print(f"{'raw driver bulk insert of the same rows':<46}{raw:>9.3f}{len(rows[1]) / raw:>12,.0f}")
    for kind, label in (
        ("file", "import, one CSV with a device column"),
        ("folder", "import, a folder of one CSV per device"),
    ):
        if not results[kind]:
            continue
        ours = statistics.median(results[kind])
        ratios = [r / o for r, o in zip(results["raw"], results[kind], strict=True)]
        print(
            f"{label:<46}{ours:>9.3f}{len(rows[1]) / ours:>12,.0f}"
            f"{statistics.median(ratios):>11.2f}x"
        )
    print("target: raw / ours >= 0.5")


if __name__ == "__main__":
    main()
