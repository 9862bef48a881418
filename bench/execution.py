"""Execution benchmark: end-to-end job execution vs. the raw read + raw scoring it is built on.

Run: ``.venv/bin/python bench/execution.py [--backend sqlite|postgres] [--hours 24]
[--devices 1] [--repeat 3] [--profile]``

Without ``--hours``/``--devices`` it runs both design scenarios side by side: one device x 24 h
and 100 devices x 1 h, each at 1 Hz x 6 series, scored by the 100-tree IsolationForest of
the bench IsolationForest ``iforest_100`` (``bench/pmml_models.py``, built when missing).

Per scenario, on a fresh database (a SQLite file in a temp dir, or a new PostgreSQL database):
- end to end: a ``once`` job over the window (the device, or a group of the devices), fired with
  ``Services.runs.fire`` and executed synchronously by ``Services.executor.run`` (the
  ``JobExecutor`` that ``Services.build`` wires, default ``read_chunk``); the first run
  includes compiling the model into the cache (cold), the next ``--repeat`` runs reuse it
  (warm);
- raw read: ``EmbeddedSource.read`` of the same 6 series of each device, whole window in one
  chunk, into numpy;
- raw scoring: the compiled model's ``score`` on each device's aligned columns (aligned once,
  outside the timing);
- ratio = end to end (warm median) / (raw read median + raw scoring median). Design §4 target for
  the one-device 24 h window: <= 2x;
- a sha256 of the stored inference chunks, to compare the results of two commits (run this
  script with ``PYTHONPATH`` at another commit's ``src``).
``--profile`` runs one more warm execution under cProfile and prints the top costs.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import hashlib
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fresh_db import database
from pmml_models import bench_input, model_pmml
from sqlalchemy import func, select

from batchscore.clock import SystemClock
from batchscore.domain.jobs import ExecutionStatus, MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.domain.roles import Role
from batchscore.execution.align import align_records
from batchscore.passwords import configure_hashing
from batchscore.runtime.pmml.engine import PmmlEngine
from batchscore.service.container import Services
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.measurements import insert_values
from batchscore.store.tables import inference_chunks

try:
    from batchscore.store.series import ValueRow
except ImportError:  # a commit before issue 17 (PYTHONPATH at its src), for the sha256 comparison
    from batchscore.store.measurements import ValueRow  # type: ignore[attr-defined,no-redef]

REPO = Path(__file__).resolve().parents[1]
MODEL = model_pmml("iforest_100")
INPUT = bench_input()
TENANT = "bench"
PASSWORD = "bench-Passw0rd"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
# The model's MiningSchema inputs and where the job reads them from.
MAPPING = {
    "accelerationX": "c8y_Acceleration.accelerationX.value",
    "accelerationY": "c8y_Acceleration.accelerationY.value",
    "accelerationZ": "c8y_Acceleration.accelerationZ.value",
    "gyroX": "c8y_Gyroscope.gyroX.value",
    "gyroY": "c8y_Gyroscope.gyroY.value",
    "gyroZ": "c8y_Gyroscope.gyroZ.value",
}
PATHS = [MeasurementPath(*text.split(".")[:2]) for text in MAPPING.values()]
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INSERT_BATCH = 60_000


def sensor_grid() -> np.ndarray[Any, np.dtype[np.float64]]:
    """The 6 sensor columns of the bench input (realistic values for the forest)."""
    with INPUT.open() as f:
        reader = csv.DictReader(f)
        return np.array([[float(row[name]) for name in MAPPING] for row in reader])


def ingest(db: Database, devices: list[int], seconds: int, grid: np.ndarray[Any, Any]) -> int:
    """``seconds`` records at 1 Hz x 6 series per device; each device starts at another row."""
    t0 = to_ns(T0)
    count = 0
    for d, device in enumerate(devices):
        rows_idx = (np.arange(seconds) + d * 997) % len(grid)
        batch: list[ValueRow] = []
        for s in range(seconds):
            at = t0 + s * 10**9
            values = grid[rows_idx[s]]
            for i, path in enumerate(PATHS):
                batch.append(
                    ValueRow(device, path.fragment, path.series, at, float(values[i]), None, None)
                )
            if len(batch) >= INSERT_BATCH or s == seconds - 1:
                with db.write() as conn:
                    insert_values(conn, TENANT, batch)
                count += len(batch)
                batch = []
    return count


def inference_digest(db: Database, execution_id: int) -> str:
    """The stored inference chunks of one execution, hashed: equal across commits that score
    the same records alike."""
    digest = hashlib.sha256()
    with db.read() as conn:
        rows = conn.execute(
            select(inference_chunks.c.device_id, inference_chunks.c.payload)
            .where(inference_chunks.c.execution_id == execution_id)
            .order_by(inference_chunks.c.seq)
        )
        for device, payload in rows:
            digest.update(str(device).encode() + bytes(payload))
    return digest.hexdigest()


@dataclass
class Scenario:
    devices: int
    hours: float
    rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.devices} device{'s' if self.devices > 1 else ''} x {self.hours:g} h"


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def run_scenario(
    backend: str, scenario: Scenario, repeat: int, grid: np.ndarray[Any, Any], profile: bool
) -> None:
    seconds = int(scenario.hours * 3600)
    end = T0 + timedelta(seconds=seconds)
    model_bytes = MODEL.read_bytes()
    with tempfile.TemporaryDirectory() as tmp_name, database(backend, Path(tmp_name)) as db:
        clock = SystemClock()
        add_user(db, clock, TENANT, "admin", PASSWORD, frozenset({Role.ML_ADMIN}))
        services = Services.build(Settings(password_profile="fast", var_dir=Path(tmp_name)), db)
        devices = [
            services.inventory.create(TENANT, {"name": f"d{i}", "c8y_IsDevice": {}}).id
            for i in range(scenario.devices)
        ]
        if scenario.devices == 1:
            target = devices[0]
        else:
            group = services.inventory.create(
                TENANT, {"name": "line", "type": "c8y_DeviceGroup", "c8y_IsDeviceGroup": {}}
            ).id
            for device in devices:
                services.inventory.add_child(TENANT, group, {"managedObject": {"id": str(device)}})
            target = group
        started = time.perf_counter()
        values = ingest(db, devices, seconds, grid)
        ingest_s = time.perf_counter() - started
        stored = services.models.upload(TENANT, model_bytes, MODEL.name)
        job = services.jobs.create(
            TENANT,
            {
                "jobName": "bench",
                "jobDescription": "execution benchmark",
                "associatedGroupOrDeviceId": target,
                "associatedModel": stored.name,
                "modelToDeviceMappings": dict(MAPPING),
                "jobSchedule": {
                    "frequency": "once",
                    "dataFrom": T0.isoformat(),
                    "dataTo": end.isoformat(),
                },
            },
        )

        executed: list[int] = []

        def execute() -> None:
            execution = services.runs.fire(TENANT, str(job.id))
            status = services.executor.run(execution)
            assert status is ExecutionStatus.SUCCESS, status
            executed.append(execution.id)
            with db.read() as conn:
                records = conn.execute(
                    select(func.sum(inference_chunks.c.row_count)).where(
                        inference_chunks.c.execution_id == execution.id
                    )
                ).scalar_one()
            assert records == seconds * scenario.devices, records

        cold = timed(execute, 1)[0]
        warm = timed(execute, repeat)
        digest = inference_digest(db, executed[0])

        # Raw read of the same series, whole window, one chunk per device.
        source = services.source
        read_columns: list[dict[str, Any]] = []

        def read_all() -> None:
            read_columns.clear()
            for device in devices:
                for chunk in source.read(TENANT, device, PATHS, T0, end):
                    read_columns.append(dict(chunk.series))

        reads = timed(read_all, repeat)
        mapping = {name: MeasurementPath(*p.split(".")[:2]) for name, p in MAPPING.items()}
        aligned = [align_records(series, mapping).columns for series in read_columns]
        compiled = PmmlEngine().load(model_bytes)

        def score_all() -> None:
            for columns in aligned:
                compiled.score(columns)

        scores = timed(score_all, repeat)
        # For reference: the alignment step alone (part of end to end, not of the raw sum).
        aligns = timed(lambda: [align_records(series, mapping) for series in read_columns], repeat)

        e2e, read, score = (
            statistics.median(warm),
            statistics.median(reads),
            statistics.median(scores),
        )
        records = seconds * scenario.devices
        scenario.rows = [
            ("records (values)", f"{records:,} ({values:,})"),
            ("setup: ingest (s)", f"{ingest_s:.1f}"),
            ("end to end, cold, incl. model compile (s)", f"{cold:.3f}"),
            (f"end to end, warm median of {repeat} (s)", f"{e2e:.3f}"),
            ("end to end, warm best (s)", f"{min(warm):.3f}"),
            ("end to end records/s", f"{records / e2e:,.0f}"),
            (f"raw read median of {repeat} (s)", f"{read:.3f}"),
            (f"raw scoring median of {repeat} (s)", f"{score:.3f}"),
            ("raw read + raw scoring (s)", f"{read + score:.3f}"),
            ("(alignment alone, s)", f"{statistics.median(aligns):.3f}"),
            ("ratio e2e / (read + score)", f"{e2e / (read + score):.2f}x"),
            ("target <= 2x", "met" if e2e / (read + score) <= 2 else "MISSED"),
            ("inferences, sha256 of the stored chunks", digest[:16]),
        ]
        if profile:
            profiler = cProfile.Profile()
            profiler.runcall(execute)
            print(f"\n== cProfile: one warm execution, {scenario.label}, {backend} ==")
            stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
            stats.print_stats(30)
            stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--hours", type=float, default=None, help="one scenario (default 24)")
    parser.add_argument("--devices", type=int, default=None, help="one scenario (default 1)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one warm execution")
    args = parser.parse_args()
    if args.hours is None and args.devices is None:
        scenarios = [Scenario(1, 24), Scenario(100, 1)]
    else:
        scenarios = [Scenario(args.devices or 1, args.hours if args.hours is not None else 24)]
    configure_hashing("fast")
    grid = sensor_grid()
    for scenario in scenarios:
        run_scenario(args.backend, scenario, args.repeat, grid, args.profile)
    labels = [label for label, _ in scenarios[0].rows]
    width = max(len(label) for label in labels)
    cols = [max(len(s.label), *(len(v) for _, v in s.rows)) for s in scenarios]
    print(f"\nbackend: {args.backend}, 1 Hz x 6 series, {MODEL.name}")
    print(
        f"{'':<{width}}  "
        + "  ".join(f"{s.label:>{c}}" for s, c in zip(scenarios, cols, strict=True))
    )
    for i, label in enumerate(labels):
        cells = "  ".join(f"{s.rows[i][1]:>{c}}" for s, c in zip(scenarios, cols, strict=True))
        print(f"{label:<{width}}  {cells}")


if __name__ == "__main__":
    main()
