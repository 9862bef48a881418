"""The executor: runs the executions this instance holds, end to end (design §3.3).

Resolve the target's devices, cut them into partitions, have a ``PartitionRunner`` score them
(in-process, or on a Dask cluster), store the scored records as inference chunks in device
order, and finish the execution with its status, messages and duration. Every state change
goes through the ``Lifecycle``. Implements the scheduler's ``ExecutionHandoff``.

Executions wait in a queue for one of ``workers`` daemon threads. A stop hands the queue back
at once, gives running executions a grace period, then stops them between two read chunks and
hands them back too (they run again elsewhere); a daemon thread stuck in a call never keeps the
process from exiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from batchscore import metrics
from batchscore.backoff import Backoff
from batchscore.clock import Clock
from batchscore.domain.jobs import (
    ExecutionDefinition,
    ExecutionStatus,
    Job,
    MeasurementPath,
    is_backfill_note,
)
from batchscore.errors import ModelError, NotFound, SourceError, StorageFull, StoreUnavailable
from batchscore.execution.effects import EffectTally
from batchscore.execution.lifecycle import ClaimedExecution, Lifecycle
from batchscore.execution.models import resolve_model
from batchscore.execution.partitions import DeviceReport, PartitionWork, ScoredPiece
from batchscore.execution.runner import InlineRunner, PartitionFailed, PartitionRunner
from batchscore.execution.writer import ChunkWriter, EncodedChunk
from batchscore.runtime.registry import ModelCache
from batchscore.sources.source import MeasurementSource
from batchscore.store import jobs as jobs_repo
from batchscore.store.db import Database
from batchscore.store.outbox import EffectRow

log = logging.getLogger(__name__)

NO_DATA = (
    "The device {id} was not active or sending any measurements during the time specified "
    "for data range"
)
RENEWALS_PER_LEASE = 10
"""A running execution renews its lease this many times per lease length."""
INTERNAL = "The execution failed with an internal error; the service log has the details."
DISK_FULL = (
    "The execution stopped: the database ran out of disk space while storing its inferences "
    "({records} records were stored). Free disk space and run the job again."
)
STORE_DOWN = (
    "The execution stopped: the database was not reachable for {seconds:g} s while it stored "
    "its inferences ({records} records were stored)."
)
UNWIND_S = 5.0
"""After the grace period, how long stopped executions get to reach a point where they stop."""


class Abandoned(Exception):
    """The execution disappeared (its job was deleted) or was taken over; stop quietly."""


class Stopping(Exception):
    """This instance stops and the grace period is over; the execution is handed back."""


@dataclass
class Outcome:
    status: ExecutionStatus = ExecutionStatus.SUCCESS
    messages: list[str] = field(default_factory=list)
    records: int = 0
    score_s: float = 0.0
    effects: list[EffectRow] = field(default_factory=list)
    definition: ExecutionDefinition | None = None

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
        metrics.SOURCE_READ.observe(device.read_s)
        self.score_s += device.score_s
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
    """Runs executions on ``workers`` threads; each execution's partitions are scored by
    ``runner`` (in-process by default)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        source: MeasurementSource,
        models: ModelCache,
        lifecycle: Lifecycle,
        *,
        workers: int = 2,
        read_chunk: timedelta = timedelta(hours=6),
        runner: PartitionRunner | None = None,
        backlog: int | None = None,
        store_down_s: float = 60.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.source = source
        self.models = models
        self.lifecycle = lifecycle
        self.workers = workers
        self.read_chunk = read_chunk
        self.runner: PartitionRunner = runner or InlineRunner(db, source, models)
        self.backlog = backlog
        self.store_down_s = store_down_s
        self._queue: deque[ClaimedExecution] = deque()
        self._running: dict[int, ClaimedExecution] = {}
        self._stopped_early: list[int] = []  # ran into the end of the grace period
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._stopped = False
        self._cancel = threading.Event()

    @property
    def lease(self) -> timedelta:
        return self.lifecycle.lease

    # --- the queue ----------------------------------------------------------------------

    def submit(self, execution: ClaimedExecution) -> None:
        """Queue ``execution``; once stopping, it is handed back at once instead."""
        with self._cond:
            if not self._closing:
                self._queue.append(execution)
                metrics.QUEUED.inc()
                self._start_threads()
                self._cond.notify()
                return
        self.lifecycle.hand_back([execution.id])

    def room(self) -> int | None:
        """How many more executions to take on now: ``backlog`` less those queued or running
        (None without a backlog). The scheduler claims no more than this, so instances that
        share a database share the executions of one instant instead of one taking them all."""
        if self.backlog is None:
            return None
        with self._cond:
            return max(self.backlog - len(self._queue) - len(self._running), 0)

    def queued_ids(self) -> list[int]:
        with self._cond:
            return [e.id for e in self._queue]

    def running_ids(self) -> list[int]:
        with self._cond:
            return list(self._running)

    def renew_queued(self) -> None:
        """Renew the leases of the queued executions (called by the heartbeat); one that is
        not this instance's any more is dropped from the queue."""
        ids = self.queued_ids()
        if not ids:
            return
        kept = self.lifecycle.renew(ids)
        if len(kept) < len(ids):
            with self._cond:
                lost = [e for e in self._queue if e.id in ids and e.id not in kept]
                for execution in lost:
                    self._queue.remove(execution)
                    metrics.QUEUED.dec()

    def _start_threads(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._work, name=f"execution-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                execution = self._queue.popleft()
                metrics.QUEUED.dec()
                self._running[execution.id] = execution
                metrics.RUNNING.inc()
            try:
                self.run(execution)
            except Stopping:
                with self._cond:
                    self._stopped_early.append(execution.id)
            except BaseException:  # never lose a thread: the execution stays held, see stop()
                log.exception("execution %s of job %s broke its thread", execution.id,
                              execution.job_id)  # fmt: skip
            finally:
                with self._cond:
                    self._running.pop(execution.id, None)
                    metrics.RUNNING.dec()
                    self._cond.notify_all()

    # --- stopping -------------------------------------------------------------------------

    def stop(self, grace: float) -> None:
        """Stop taking work: hand the queue back now, let running executions finish within
        ``grace`` seconds, then stop and hand back those still running."""
        with self._cond:
            self._closing = self._stopped = True
            queued = [e.id for e in self._queue]
            for _ in range(len(self._queue)):
                metrics.QUEUED.dec()
            self._queue.clear()
            self._cond.notify_all()
        self._hand_back(queued)
        with self._cond:
            finished = self._cond.wait_for(lambda: not self._running, timeout=grace)
        if not finished:
            log.warning(
                "stopping: %d executions still running after the %g s grace period are "
                "stopped and handed back", len(self.running_ids()), grace,
            )  # fmt: skip
            self._cancel.set()
            with self._cond:
                self._cond.wait_for(lambda: not self._running, timeout=UNWIND_S)
        with self._cond:
            rest = [*self._stopped_early, *self._running]
            self._stopped_early.clear()
        self._hand_back(rest)
        self.runner.close()

    def _hand_back(self, ids: list[int]) -> None:
        try:
            self.lifecycle.hand_back(ids)
        except Exception as exc:  # still held: taken over once this instance is silent
            log.warning("could not hand back executions %s: %s", ids[:20], exc)

    def shutdown(self) -> None:
        """Let every queued and running execution finish, then release the runner (tests and
        one-off commands; a process that stops on a signal uses ``stop``)."""
        with self._cond:
            if self._stopped:
                return
            self._closing = self._stopped = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._queue and not self._running)
        self.runner.close()

    # --- one execution ----------------------------------------------------------------------

    def run(
        self, execution: ClaimedExecution, progress: Callable[[int], None] | None = None
    ) -> ExecutionStatus | None:
        """Run one held execution to its end; returns its status (None if it was not this
        instance's to run or finish). ``progress`` is told the records stored so far."""
        if not self._start(execution):
            return None
        began = time.monotonic()
        try:
            outcome = self._run(execution, progress)
        except Abandoned:
            return None
        except StoreUnavailable as exc:
            log.warning("execution %s of job %s: %s", execution.number, execution.job_id, exc)
            outcome = Outcome(messages=list(execution.messages)).fail(
                f"The execution failed: {exc}"
            )
        except Stopping:
            raise
        except Exception:  # never a stack trace in the execution's messages
            log.exception("execution %s of job %s failed", execution.number, execution.job_id)
            outcome = Outcome(messages=list(execution.messages)).fail(INTERNAL)
        ran = time.monotonic() - began
        finished = self.lifecycle.finish(
            execution, outcome.status, outcome.messages, outcome.records,
            ran_s=ran, give_up=self._cancel, definition=outcome.definition,
            effects=outcome.effects if outcome.status is not ExecutionStatus.FAILURE else (),
        )  # fmt: skip
        if not finished:
            if self._cancel.is_set():
                raise Stopping
            return None
        metrics.RECORDS.inc(outcome.records)
        if outcome.records and outcome.score_s > 0:
            metrics.SCORING_SECONDS.inc(outcome.score_s)
            metrics.SCORING_RATE.observe(outcome.records / outcome.score_s)
        return outcome.status

    def _start(self, execution: ClaimedExecution) -> bool:
        """Stamp the start, retrying while the database fails (the claim stays held and its
        lease renewed meanwhile); False if the execution is not this instance's."""
        backoff = Backoff(f"starting execution {execution.id}", log)
        while True:
            try:
                started = self.lifecycle.start(execution)
            except Exception as exc:
                if self._cancel.wait(backoff.failed(exc)):
                    raise Stopping from None
                continue
            backoff.succeeded()
            return started

    def _run(self, execution: ClaimedExecution, progress: Callable[[int], None] | None) -> Outcome:
        outcome = Outcome(messages=list(execution.messages))
        if any(not is_backfill_note(m) for m in execution.messages):
            outcome.status = ExecutionStatus.WARNING  # a late (misfired) fire

        with self.db.read() as conn:
            job = jobs_repo.get_job(conn, execution.tenant, execution.job_id)
        if job is None:
            raise Abandoned
        try:
            model = resolve_model(self.db, job.tenant, job.model_name)
        except ModelError as exc:
            return outcome.fail(" ".join(exc.messages))
        # The definition it runs with (an edit meanwhile changes the next executions only).
        outcome.definition = ExecutionDefinition(model.name, model.sha256, dict(job.mappings))
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

        def store(batch: Sequence[EncodedChunk]) -> None:
            self._store_chunks(execution.id, batch)
            if progress is not None:
                _, _, start, count, _ = batch[-1]
                progress(start + count)

        writer = ChunkWriter(store)
        tally = EffectTally(job.actions, job.write_back)
        sink = _WriterSink(writer, self._lease_renewer(execution.id), tally)
        failed = 0
        try:
            partitions = self.runner.split(devices)
            # closing(): remaining remote work is cancelled as soon as this loop stops
            with closing(self.runner.run(work, partitions, sink)) as results:
                for reports in results:
                    for report in reports:
                        failed += report.error is not None
                        outcome.report(report)
            writer.flush()
        except ModelError as exc:
            return outcome.fail(" ".join(exc.messages))
        except PartitionFailed as exc:
            outcome.records = self._flush_partial(writer)
            return outcome.fail(str(exc))
        except StorageFull:
            outcome.records = writer.written
            return outcome.fail(DISK_FULL.format(records=writer.written))
        except _StoreDown as exc:
            outcome.records = writer.written
            return outcome.fail(STORE_DOWN.format(seconds=exc.seconds, records=writer.written))
        outcome.records = writer.total
        if failed == len(devices):
            return outcome.fail("No device could be read; nothing was scored.")
        if tally.active:
            outcome.effects = [
                EffectRow(e.device, e.rule, e.target, e.kind, e.payload)
                for e in tally.effects(
                    job_id=job.id,
                    job_name=job.name,
                    number=execution.number,
                    window_from=execution.window_from,
                    window_to=execution.window_to,
                )
            ]
        return outcome

    @staticmethod
    def _flush_partial(writer: ChunkWriter) -> int:
        """Store what the partitions before a failed one scored (best effort)."""
        try:
            writer.flush()
        except (StorageFull, _StoreDown):
            return writer.written
        return writer.total

    def _store_chunks(self, execution_id: int, batch: Sequence[EncodedChunk]) -> None:
        """Write a batch of chunks, retrying while the database is unreachable (up to
        ``store_down_s``); a full disk fails the execution at once."""
        backoff = Backoff(f"storing inferences of execution {execution_id}", log)
        down_since: float | None = None
        while True:
            if self._cancel.is_set():
                raise Stopping
            try:
                stored = self.lifecycle.write_chunks(execution_id, batch)
            except StoreUnavailable as exc:
                down_since = down_since or time.monotonic()
                if time.monotonic() - down_since >= self.store_down_s:
                    raise _StoreDown(self.store_down_s) from exc
                self._cancel.wait(backoff.failed(exc))
                continue
            if not stored:
                raise Abandoned  # finished by others (taken for dead) or deleted with its job
            backoff.succeeded()
            return

    def _lease_renewer(self, execution_id: int) -> Callable[[], None]:
        """The heartbeat of one execution: renews its lease at the first call, then whenever
        a tenth of the lease has passed; stops the execution when it was taken over or the
        instance stops. A renewal that fails is tried again at the next call."""
        renewed: datetime | None = None

        def renew() -> None:
            nonlocal renewed
            if self._cancel.is_set():
                raise Stopping
            now = self.clock.now()
            if renewed is not None and now - renewed < self.lease / RENEWALS_PER_LEASE:
                return
            try:
                held = self.lifecycle.renew([execution_id])
            except Exception as exc:
                log.warning("renewing the lease of execution %s failed: %s", execution_id, exc)
                return
            if not held:
                raise Abandoned
            renewed = now

        return renew


class _StoreDown(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass
class _WriterSink:
    """Scored pieces go to the chunk writer; heartbeats renew the execution's lease."""

    writer: ChunkWriter
    renew: Callable[[], None]
    tally: EffectTally

    def add(self, piece: ScoredPiece) -> None:
        self.writer.add(piece.device, piece.times_ns, piece.outputs)
        if self.tally.active:
            self.tally.add(piece.device, piece.times_ns, piece.outputs)

    def heartbeat(self) -> None:
        self.writer.heartbeat()
        self.renew()


def _mapping(job: Job) -> tuple[tuple[str, MeasurementPath], ...]:
    pairs = []
    for name, text in job.mappings.items():
        path = MeasurementPath.parse(text)
        assert path is not None  # validated when the job was created
        pairs.append((name, path))
    return tuple(pairs)
