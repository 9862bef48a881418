"""The Prometheus metrics of one process (design §3.7), served by ``GET /metrics``.

Counters and histograms are recorded where things happen (the lifecycle, the executor, the
HTTP middleware) and cost a lock and an addition each. Executions are counted by the instance
that owns them, also when their partitions are scored on Dask workers (the workers' read and
scoring times come back with each partition).

Several ``serve`` processes (``BATCHSCORE_API_PROCESSES``) report together: ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before it starts them, every process writes
its values there, and whichever answers ``/metrics`` sums them (gauges of live processes only).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: noise

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
_LATENESS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900)
_RATES = (1e3, 1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7)

FIRES = Counter(
    "batchscore_fires_total",
    "Executions created by this process: `schedule` (the claim loop) or `manual` (run now).",
    ["how"],
)
LATENESS = Histogram(
    "batchscore_fire_lateness_seconds",
    "From an execution's scheduled instant to its real start.",
    buckets=_LATENESS,
)
EXECUTIONS = Counter(
    "batchscore_executions_total",
    "Executions finished by this process, by status (skipped fires and interrupted "
    "executions of stopped instances included).",
    ["status"],
)
DURATION = Histogram(
    "batchscore_execution_duration_seconds",
    "How long the executions this process ran took, from start to finish, by status.",
    ["status"],
    buckets=_SECONDS,
)
RECORDS = Counter("batchscore_records_scored_total", "Records scored by the executions.")
SCORING_SECONDS = Counter(
    "batchscore_scoring_seconds_total",
    "Time the models spent scoring those records (rows/s: rate of records over rate of this).",
)
SCORING_RATE = Histogram(
    "batchscore_scoring_rows_per_second",
    "Scoring throughput of each execution that scored something: records / scoring time.",
    buckets=_RATES,
)
SOURCE_READ = Histogram(
    "batchscore_source_read_seconds",
    "Time spent reading one device's window from the measurement source.",
    buckets=_SECONDS,
)
HTTP_LATENCY = Histogram(
    "batchscore_http_request_duration_seconds",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TAKEOVERS = Counter(
    "batchscore_takeovers_total",
    "Executions of stopped instances taken over: `claim` (run here) or `interrupted`.",
    ["kind"],
)
LOOP_ERRORS = Counter(
    "batchscore_loop_errors_total",
    "Failures of background loops (each logged, backed off and retried), by loop.",
    ["loop"],
)
ACTION_DELIVERIES = Counter(
    "batchscore_action_deliveries_total",
    "Deliveries of job actions (design §2.9) by target kind and outcome, as the action outbox's "
    "delivery loop records them.",
    ["kind", "outcome"],
)
QUEUED = Gauge(
    "batchscore_executor_queued",
    "Executions handed to this process's executor and not started yet.",
    multiprocess_mode="livesum",
)
RUNNING = Gauge(
    "batchscore_executor_running",
    "Executions running in this process's executor.",
    multiprocess_mode="livesum",
)
LAST_TICK = Gauge(
    "batchscore_scheduler_last_tick_timestamp_seconds",
    "Unix time of the last successful scheduler tick of this process.",
    multiprocess_mode="max",
)


def action_delivered(kind: str, outcome: str) -> None:
    """The hook for action deliveries (alarm, event, webhook; delivered, retried, failed)."""
    ACTION_DELIVERIES.labels(kind, outcome).inc()


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format and its content type; with several processes
    (``PROMETHEUS_MULTIPROC_DIR`` set) those of all of them, summed."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Drop the live gauges of a process that stops (multi-process mode only)."""
    if os.environ.get(MULTIPROCESS_ENV):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
