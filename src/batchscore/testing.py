"""Test doubles, factories and fault injectors shipped with the package, for our tests, the
benches and integrators."""

from __future__ import annotations

import base64
import contextlib
import itertools
import socket
import struct
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from batchscore.clock import FakeClock
from batchscore.domain.alarms import NewAlarm
from batchscore.domain.events import NewEvent
from batchscore.domain.measurements import NewMeasurement
from batchscore.execution.lifecycle import ClaimedExecution, Lifecycle
from batchscore.sources.writer import RaisedAlarm
from batchscore.store.db import Database
from batchscore.store.tables import executions, jobs

__all__ = [
    "CollectingHandoff",
    "FakeClock",
    "FireAudit",
    "RecordingWriter",
    "TcpProxy",
    "audit_fires",
    "basic_auth",
    "executions_and_counts",
    "regression_pmml",
    "scratch_postgres",
]


def basic_auth(user: str, password: str, tenant: str | None = None) -> dict[str, str]:
    """An ``Authorization`` header for ``tenant/user:password`` (or ``user:password``)."""
    login = f"{tenant}/{user}" if tenant else user
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def regression_pmml(
    name: str, inputs: Sequence[str], *, optional: Sequence[str] = (), target: str = "y"
) -> bytes:
    """A small valid RegressionModel (y = sum of inputs); ``optional`` inputs get a replacement."""
    fields = "".join(
        f'<DataField name="{f}" optype="continuous" dataType="double"/>' for f in inputs
    )
    mining = "".join(
        f'<MiningField name="{f}"'
        + (' missingValueReplacement="0"' if f in optional else "")
        + "/>"
        for f in inputs
    )
    predictors = "".join(f'<NumericPredictor name="{f}" coefficient="1"/>' for f in inputs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">'
        '<Header description="test model"/>'
        f'<DataDictionary numberOfFields="{len(inputs) + 1}">{fields}'
        f'<DataField name="{target}" optype="continuous" dataType="double"/></DataDictionary>'
        f'<RegressionModel modelName="{name}" functionName="regression">'
        f'<MiningSchema>{mining}<MiningField name="{target}" usageType="target"/></MiningSchema>'
        f'<Output><OutputField name="score" feature="predictedValue" dataType="double"/></Output>'
        f'<RegressionTable intercept="0">{predictors}</RegressionTable>'
        "</RegressionModel></PMML>"
    ).encode()


@dataclass(frozen=True, slots=True)
class FireAudit:
    """How the executions of periodic jobs match the grid of instants they should fire at,
    for soak tests and benches: every count but ``jobs`` and ``seen`` is zero when each job
    fired each instant exactly once."""

    jobs: int
    seen: int
    """(job, instant) pairs fired, among the instants audited."""
    missed: int
    doubled: int
    off_grid: int
    gaps: int
    """Consecutive executions of one job (by number) not one period apart."""
    numbering: int
    """Jobs whose execution numbers are not 1..n, or whose execution count is not n."""
    bad_jobs: tuple[int, ...]

    def problems(self) -> list[str]:
        found = {
            "missed instants": self.missed,
            "duplicated instants": self.doubled,
            "off-grid instants": self.off_grid,
            "gaps between fires": self.gaps,
            "broken execution numbering": self.numbering,
        }
        return [f"{n} {what}" for what, n in found.items() if n]


def executions_and_counts(db: Database) -> tuple[Sequence[Any], dict[int, int]]:
    """Every execution (job, number, instant, status, messages, times, records) in job and
    number order, and every job's execution count."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                executions.c.job_id,
                executions.c.number,
                executions.c.scheduled_at,
                executions.c.status,
                executions.c.messages,
                executions.c.started_at,
                executions.c.ended_at,
                executions.c.record_count,
            ).order_by(executions.c.job_id, executions.c.number)
        ).all()
        counts = {
            int(k): int(v) for k, v in conn.execute(select(jobs.c.id, jobs.c.execution_count))
        }
    return rows, counts


def audit_fires(
    rows: Sequence[Any], counts: dict[int, int], instants: Sequence[datetime], period_s: int
) -> FireAudit:
    """Audit the rows of :func:`executions_and_counts` against ``instants`` (fires outside
    them are allowed, at the edges of a run, but must keep to the grid)."""
    per_job: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for r in rows:
        per_job[r.job_id].append((r.number, r.scheduled_at))
    wanted = set(instants)
    seen = missed = doubled = off_grid = gaps = numbering = 0
    bad: list[int] = []
    for job_id, count in counts.items():
        fired = per_job.get(job_id, [])
        numbers_wrong = [n for n, _ in fired] != list(range(1, count + 1))
        at = Counter(t for _, t in fired)
        job_doubled = sum(c - 1 for c in at.values() if c > 1)
        job_off_grid = sum(1 for t in at if t.timestamp() % period_s)
        times = [t for _, t in fired]  # in execution-number order
        steps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        job_gaps = sum(1 for step in steps if step != period_s)
        job_missed = sum(1 for t in instants if t not in at)
        doubled += job_doubled
        off_grid += job_off_grid
        gaps += job_gaps
        missed += job_missed
        numbering += numbers_wrong
        seen += sum(1 for t in at if t in wanted)
        if numbers_wrong or job_doubled or job_off_grid or job_gaps or job_missed:
            bad.append(job_id)
    return FireAudit(len(counts), seen, missed, doubled, off_grid, gaps, numbering, tuple(bad))


@contextmanager
def scratch_postgres(base_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``base_url``'s server (named ``prefix`` and a
    random suffix), yielded as its URL and dropped afterwards, connections and all."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class CollectingHandoff:
    """A hand-off that keeps the executions it is given, so tests decide when they run. With
    ``start``, it stamps each one's start as an executor picking it up would (it becomes
    visible in the history as Running)."""

    def __init__(self, start: Lifecycle | None = None) -> None:
        self.items: list[ClaimedExecution] = []
        self.lock = threading.Lock()
        self.start = start

    def submit(self, execution: ClaimedExecution) -> None:
        if self.start is not None:
            self.start.start(execution)
        with self.lock:
            self.items.append(execution)


class TcpProxy:
    """A TCP proxy to ``target`` on a port of its own, for cutting a connection in a test
    without touching the server behind it (say, a PostgreSQL other tests use): ``cut()``
    resets every open connection and refuses new ones until ``restore()``."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((host, 0))
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self.connections = 0
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def cut(self) -> None:
        """Reset every open connection (RST) and refuse new ones."""
        with self._lock:
            self._cut = True
            doomed = list(self._open)
            self._open.clear()
        for sock in doomed:
            _reset(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self.cut()
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a dropped route looks."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)  # wakes a thread blocked reading it
    sock.close()


class RecordingWriter:
    """A ``PlatformWriter`` that keeps what it is given, with Cumulocity's alarm
    de-duplication, for tests of code that writes effects of jobs."""

    def __init__(self) -> None:
        self.measurements: list[NewMeasurement] = []
        self.alarms: dict[int, tuple[NewAlarm, int, bool]] = {}  # id -> (alarm, count, open)
        self.events: list[NewEvent] = []
        self._ids = itertools.count(1)

    def create_measurements(self, tenant: str, items: Sequence[NewMeasurement]) -> list[int]:
        self.measurements.extend(items)
        return [next(self._ids) for _ in items]

    def raise_alarm(self, tenant: str, alarm: NewAlarm) -> RaisedAlarm:
        for alarm_id, (known, count, is_open) in self.alarms.items():
            if is_open and (known.source, known.type) == (alarm.source, alarm.type):
                self.alarms[alarm_id] = (alarm, count + 1, True)
                return RaisedAlarm(alarm_id, count + 1)
        alarm_id = next(self._ids)
        self.alarms[alarm_id] = (alarm, 1, alarm.status.is_open)
        return RaisedAlarm(alarm_id, 1)

    def clear_alarms(self, tenant: str, source: int, type_: str) -> int:
        cleared = 0
        for alarm_id, (known, count, is_open) in self.alarms.items():
            if is_open and (known.source, known.type) == (source, type_):
                self.alarms[alarm_id] = (known, count, False)
                cleared += 1
        return cleared

    def create_event(self, tenant: str, event: NewEvent) -> int:
        self.events.append(event)
        return next(self._ids)
