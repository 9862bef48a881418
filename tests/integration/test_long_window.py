"""A long window streams in bounded memory (design §3.3, §4): the executor reads it in
``read_chunk`` slices, scores each slice and writes 2000-record inference chunks, so the peak
Python memory of a run does not grow with the window, and the result equals scoring the whole
window at once."""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus, Job, MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.execution.align import align_records
from batchscore.execution.codec import Chunk, decode_chunk
from batchscore.execution.executor import RENEWALS_PER_LEASE, JobExecutor
from batchscore.execution.writer import CHUNK_ROWS
from batchscore.runtime.pmml.engine import PmmlEngine
from batchscore.service.container import Services
from batchscore.store import inferences as inferences_repo
from batchscore.store.db import Database
from batchscore.store.measurements import insert_values
from batchscore.store.series import ValueRow
from batchscore.store.tables import executions, inference_chunks
from batchscore.testing import regression_pmml
from tests.integration.conftest import CANONICAL, SENSORS

TENANT = "t1"
T0 = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)
SECONDS = 4 * 3600  # 14,400 records x 6 series at 1 Hz
READ_CHUNK = timedelta(minutes=10)  # 600 records per slice
MAPPING = {name: MeasurementPath(*CANONICAL[name].split(".")[:2]) for name in SENSORS}
# Peak traced memory of one run must stay below this. Calibrated on both backends: streamed in
# 10-minute slices a run peaks at about 0.3 MB; the same run reading the 4 h window at once
# peaks at about 4 MB (the window's 86,400 values as driver tuples, numpy series, aligned
# columns and outputs). The bound sits well between the two.
BOUND = 1_500_000


def ingest(db: Database, device: int) -> None:
    t = np.arange(SECONDS, dtype=np.int64)
    times = to_ns(T0) + t * 10**9
    rows = [
        ValueRow(device, path.fragment, path.series, int(times[s]), value, None, None)
        for i, path in enumerate(MAPPING.values())
        for s, value in enumerate(np.round(np.sin(t / 60 + i) * (i + 1), 6).tolist())
    ]
    for start in range(0, len(rows), 50_000):
        with db.write() as conn:
            insert_values(conn, TENANT, rows[start : start + 50_000])


def create_job(services: Services) -> Job:
    device = services.inventory.create(TENANT, {"name": "long", "c8y_IsDevice": {}}).id
    ingest(services.db, device)
    services.models.upload(TENANT, regression_pmml("Sum", SENSORS), "Sum.pmml")
    return services.jobs.create(
        TENANT,
        {
            "jobName": "long window",
            "jobDescription": "4 h at 1 Hz",
            "associatedGroupOrDeviceId": device,
            "associatedModel": "Sum",
            "modelToDeviceMappings": dict(CANONICAL),
            "jobSchedule": {
                "frequency": "once",
                "dataFrom": T0.isoformat(),
                "dataTo": (T0 + timedelta(seconds=SECONDS)).isoformat(),
            },
        },
    )


def executor(services: Services, read_chunk: timedelta) -> JobExecutor:
    """Wired like ``Services.build`` does, with the given read slice and the shared model cache."""
    return JobExecutor(
        services.db,
        services.clock,
        services.source,
        services.model_cache,
        services.lifecycle,
        workers=1,
        read_chunk=read_chunk,
    )


def run_traced(services: Services, job: Job, runner: JobExecutor) -> tuple[int, int]:
    """Execute ``job`` once with ``runner``; (execution id, peak traced bytes during the run)."""
    execution = services.runs.fire(job.tenant, str(job.id))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        status = runner.run(execution)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status is ExecutionStatus.SUCCESS
    return execution.id, peak


def stored(db: Database, execution_id: int) -> tuple[list[int], Chunk]:
    """Row counts of the execution's chunks in order, and all its records joined."""
    with db.read() as conn:
        counts = list(
            conn.execute(
                select(inference_chunks.c.row_count)
                .where(inference_chunks.c.execution_id == execution_id)
                .order_by(inference_chunks.c.seq)
            ).scalars()
        )
        chunks = [decode_chunk(p) for p in inferences_repo.iter_chunks(conn, execution_id)]
    return counts, Chunk.concat(chunks)


def score_at_once(services: Services, device: int) -> tuple[Any, dict[str, Any]]:
    """Every record of the window aligned and scored in one call."""
    [whole] = services.source.read(
        TENANT, device, list(MAPPING.values()), T0, T0 + timedelta(seconds=SECONDS)
    )
    records = align_records(whole.series, MAPPING)
    return records.times_ns, PmmlEngine().load(regression_pmml("Sum", SENSORS)).score(
        records.columns
    )


def test_long_window_streams_in_bounded_memory(
    services: Services, db: Database, clock: FakeClock
) -> None:
    job = create_job(services)
    streaming = executor(services, READ_CHUNK)
    at_once = executor(services, timedelta(seconds=SECONDS))  # the whole window in one slice
    run_traced(services, job, streaming)  # warm up: model cache, statement caches
    clock.advance(1)

    streamed_id, streamed_peak = run_traced(services, job, streaming)
    clock.advance(1)
    whole_id, whole_peak = run_traced(services, job, at_once)

    # (b) bounded: the streamed run stays under the bound that materializing the window breaks
    assert streamed_peak < BOUND, (streamed_peak, whole_peak)
    assert whole_peak > BOUND, (streamed_peak, whole_peak)

    # (c) 2000-record chunks, only the last one shorter
    counts, got = stored(db, streamed_id)
    full, rest = divmod(SECONDS, CHUNK_ROWS)
    assert counts == [CHUNK_ROWS] * full + ([rest] if rest else [])

    # (a) the inferences equal scoring every record at once
    times_ns, outputs = score_at_once(services, job.target_id)
    assert len(times_ns) == SECONDS
    assert np.array_equal(got.times_ns, times_ns)
    assert set(got.devices.tolist()) == {job.target_id}
    assert set(got.columns) == set(outputs)
    for name, values in outputs.items():
        assert np.array_equal(got.columns[name], values), name
    _, whole = stored(db, whole_id)
    for name, values in outputs.items():
        assert np.array_equal(whole.columns[name], values), name


def test_leases_are_renewed_a_few_times_per_lease_not_per_chunk(
    services: Services, clock: FakeClock, monkeypatch: Any
) -> None:
    """Heartbeats come between read chunks; each renewal is a write transaction, so an
    execution renews at its first heartbeat and then once per tenth of its lease."""
    job = create_job(services)
    runner = executor(services, READ_CHUNK)  # 24 slices of the 4 h window
    renewals: list[datetime] = []
    renew = runner.lifecycle.renew

    def counted(ids: Sequence[int]) -> set[int]:
        renewals.append(clock.now() + runner.lease)
        return renew(ids)

    monkeypatch.setattr(runner.lifecycle, "renew", counted)
    execution = services.runs.fire(job.tenant, str(job.id))
    assert runner.run(execution) is ExecutionStatus.SUCCESS
    assert renewals == [clock.now() + runner.lease]  # the clock stood still: one renewal

    renewals.clear()
    step = runner.lease / RENEWALS_PER_LEASE
    clock.advance(1)
    second = services.runs.fire(job.tenant, str(job.id))
    heartbeat = runner._lease_renewer(second.id)
    heartbeat()
    clock.advance(step / 2)
    heartbeat()  # too soon: nothing written
    clock.advance(step / 2)
    heartbeat()
    assert renewals == [clock.now() - step + runner.lease, clock.now() + runner.lease]
    with services.db.read() as conn:
        owner = conn.execute(
            select(executions.c.lease_owner).where(executions.c.id == second.id)
        ).scalar_one()
    assert owner == runner.lifecycle.owner
