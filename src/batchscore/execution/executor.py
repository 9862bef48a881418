"""The executor: runs a started execution end to end (design §3.3).

Resolve the target's devices, cut them into partitions, have a ``PartitionRunner`` score them
(in-process, or on a Dask cluster), store the scored records as inference chunks in device
order, and finish the execution with its status, messages and duration. Implements the
scheduler's ``ExecutionHandoff``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from batchscore.clock import Clock
from batchscore.domain.jobs import ExecutionStatus, Job, MeasurementPath
from batchscore.errors import ModelError, NotFound, SourceError
from batchscore.execution.models import resolve_model
from batchscore.execution.partitions import DeviceReport, PartitionWork, ScoredPiece
from batchscore.execution.runner import InlineRunner, PartitionFailed, PartitionRunner
from batchscore.execution.writer import ChunkWriter
from batchscore.runtime.registry import ModelCache
from batchscore.scheduling.scheduler import StartedExecution
from batchscore.sources.source import MeasurementSource
from batchscore.store import executions as executions_repo
from batchscore.store import inferences as inferences_repo
from batchscore.store import jobs as jobs_repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)

NO_DATA = (
    "The device {id} was not active or sending any measurements during the time specified "
    "for data range"
)
RENEWALS_PER_LEASE = 10
"""A running execution renews its lease this many times per lease length."""
INTERNAL = "The execution failed with an internal error; the service log has the details."


class Abandoned(Exception):
    """The execution disappeared (its job was deleted) or was taken over; stop quietly."""


@dataclass
class Outcome:
    status: ExecutionStatus = ExecutionStatus.SUCCESS
    messages: list[str] = field(default_factory=list)
    records: int = 0

    def fail(self, message: str) -> Outcome:
        self.status = ExecutionStatus.FAILURE
        self.messages.append(message)
        return self

    def warn(self, message: str) -> None:
        if self.status is ExecutionStatus.SUCCESS:
            self.status = ExecutionStatus.WARNING
        self.messages.append(message)

    def report(self, device: DeviceReport) -> None:
        """Note what happened to one device, in device order."""
        if device.error is not None:
            self.warn(f"The device {device.device} could not be read: {device.error}")
        elif not device.scored:
            self.warn(NO_DATA.format(id=device.device))
        elif device.invalid:
            self.warn(
                f"{device.invalid} records of device {device.device} were invalid for the model "
                "and have no outputs."
            )
        if device.infinite:
            self.warn(
                f"{device.infinite} output values of device {device.device} were infinite; "
                "they read as null."
            )


class JobExecutor:
    """Runs executions on a bounded pool of threads (``workers``); each execution's partitions
    are scored by ``runner`` (in-process by default)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        source: MeasurementSource,
        models: ModelCache,
        *,
        workers: int = 2,
        lease: timedelta = timedelta(minutes=5),
        owner: str = "executor",
        read_chunk: timedelta = timedelta(hours=6),
        runner: PartitionRunner | None = None,
        backlog: int | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.source = source
        self.models = models
        self.lease = lease
        self.owner = owner
        self.read_chunk = read_chunk
        self.runner: PartitionRunner = runner or InlineRunner(db, source, models)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="execution")
        self.backlog = backlog
        self._taken = 0  # submitted and not finished
        self._taken_lock = threading.Lock()

    def submit(self, execution: StartedExecution) -> None:
        with self._taken_lock:
            self._taken += 1
        self._pool.submit(self.run, execution).add_done_callback(self._finished)

    def room(self) -> int | None:
        """How many more executions to take on now: ``backlog`` less those queued or running
        (None without a backlog). The scheduler claims no more than this, so instances that
        share a database share the executions of one instant instead of one taking them all."""
        if self.backlog is None:
            return None
        with self._taken_lock:
            return max(self.backlog - self._taken, 0)

    def _finished(self, _: object) -> None:
        with self._taken_lock:
            self._taken -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
        self.runner.close()

    def run(
        self, execution: StartedExecution, progress: Callable[[int], None] | None = None
    ) -> ExecutionStatus | None:
        """Run one execution to its end; returns its status (None if it was abandoned).
        ``progress`` is told the number of records stored so far, after each chunk."""
        try:
            outcome = self._run(execution, progress)
        except Abandoned:
            return None
        except Exception:  # never a stack trace in the execution's messages
            log.exception("execution %s of job %s failed", execution.number, execution.job_id)
            outcome = Outcome(messages=list(execution.messages)).fail(INTERNAL)
        with self.db.write() as conn:
            executions_repo.finish_execution(
                conn, execution.id, outcome.status, outcome.messages, self.clock.now(),
                outcome.records,
            )  # fmt: skip
        return outcome.status

    def _run(self, execution: StartedExecution, progress: Callable[[int], None] | None) -> Outcome:
        outcome = Outcome(messages=list(execution.messages))
        if execution.messages:  # a late (misfired) fire is worth a Warning
            outcome.status = ExecutionStatus.WARNING
        with self.db.write() as conn:
            if not executions_repo.mark_started(conn, execution.id, self.clock.now()):
                raise Abandoned
            job = jobs_repo.get_job(conn, execution.tenant, execution.job_id)
        if job is None:
            raise Abandoned
        try:
            model = resolve_model(self.db, job.tenant, job.model_name)
        except ModelError as exc:
            return outcome.fail(" ".join(exc.messages))
        try:
            devices = self.source.devices_below(job.tenant, job.target_id)
        except NotFound:
            return outcome.fail(
                f"Device or group with id {job.target_id} does not exist or it is invalid"
            )
        except SourceError as exc:
            return outcome.fail(str(exc))
        if not devices:
            outcome.warn(f"The group {job.target_id} has no devices.")
            return outcome
        assert execution.window_from is not None
        assert execution.window_to is not None
        work = PartitionWork(
            execution_id=execution.id,
            tenant=job.tenant,
            model=model,
            mapping=_mapping(job),
            window_from=execution.window_from,
            window_to=execution.window_to,
            read_chunk=self.read_chunk,
        )

        def store(seq: int, device: int, start: int, count: int, payload: bytes) -> None:
            self._store_chunk(execution.id, seq, device, start, count, payload)
            if progress is not None:
                progress(start + count)

        writer = ChunkWriter(store)
        sink = _WriterSink(writer, self._lease_renewer(execution.id))
        failed = 0
        try:
            partitions = self.runner.split(devices)
            # closing(): remaining remote work is cancelled as soon as this loop stops
            with closing(self.runner.run(work, partitions, sink)) as results:
                for reports in results:
                    for report in reports:
                        failed += report.error is not None
                        outcome.report(report)
        except ModelError as exc:
            return outcome.fail(" ".join(exc.messages))
        except PartitionFailed as exc:
            writer.flush()
            outcome.records = writer.total
            return outcome.fail(str(exc))
        writer.flush()
        outcome.records = writer.total
        if failed == len(devices):
            outcome.fail("No device could be read; nothing was scored.")
        return outcome

    def _store_chunk(
        self, execution_id: int, seq: int, device: int, start: int, count: int, payload: bytes
    ) -> None:
        try:
            with self.db.write() as conn:
                inferences_repo.insert_chunk(conn, execution_id, seq, device, start, count, payload)
        except IntegrityError:
            raise Abandoned from None  # the execution was deleted with its job

    def _lease_renewer(self, execution_id: int) -> Callable[[], None]:
        """The heartbeat of one execution: renews its lease at the first call, then whenever
        a tenth of the lease has passed. Heartbeats come between read chunks, often hundreds a
        second, and each renewal is a write transaction."""
        renewed: datetime | None = None

        def renew() -> None:
            nonlocal renewed
            now = self.clock.now()
            if renewed is not None and now - renewed < self.lease / RENEWALS_PER_LEASE:
                return
            with self.db.write() as conn:
                if not executions_repo.renew_lease(
                    conn, execution_id, self.owner, now + self.lease
                ):
                    raise Abandoned
            renewed = now

        return renew


@dataclass
class _WriterSink:
    """Scored pieces go to the chunk writer; heartbeats renew the execution's lease."""

    writer: ChunkWriter
    renew: Callable[[], None]

    def add(self, piece: ScoredPiece) -> None:
        self.writer.add(piece.device, piece.times_ns, piece.outputs)

    def heartbeat(self) -> None:
        self.renew()


def _mapping(job: Job) -> tuple[tuple[str, MeasurementPath], ...]:
    pairs = []
    for name, text in job.mappings.items():
        path = MeasurementPath.parse(text)
        assert path is not None  # validated when the job was created
        pairs.append((name, path))
    return tuple(pairs)
