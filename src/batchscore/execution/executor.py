"""The executor: runs a started execution end to end (design §3.3).

Resolve the target's devices, read each device's mapped series in the window through the
MeasurementSource (in bounded time chunks), align them into records, score them with the
compiled model, store the outputs as inference chunks, and finish the execution with its
status, messages and duration. Implements the scheduler's ``ExecutionHandoff``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.exc import IntegrityError

from batchscore.clock import Clock
from batchscore.domain.jobs import ExecutionStatus, Job, MeasurementPath
from batchscore.errors import ModelError, NotFound, SourceError
from batchscore.execution.align import align_records
from batchscore.execution.writer import ChunkWriter
from batchscore.runtime.engine import CompiledModel
from batchscore.runtime.registry import ModelCache
from batchscore.scheduling.scheduler import StartedExecution
from batchscore.sources.source import MeasurementSource
from batchscore.store import executions as executions_repo
from batchscore.store import inferences as inferences_repo
from batchscore.store import jobs as jobs_repo
from batchscore.store import models as models_repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)

NO_DATA = (
    "The device {id} was not active or sending any measurements during the time specified "
    "for data range"
)
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


class JobExecutor:
    """Runs executions on a bounded pool of threads (``workers``)."""

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
    ) -> None:
        self.db = db
        self.clock = clock
        self.source = source
        self.models = models
        self.lease = lease
        self.owner = owner
        self.read_chunk = read_chunk
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="execution")

    def submit(self, execution: StartedExecution) -> None:
        self._pool.submit(self.run, execution)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def run(self, execution: StartedExecution) -> ExecutionStatus | None:
        """Run one execution to its end; returns its status (None if it was abandoned)."""
        try:
            outcome = self._run(execution)
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

    def _run(self, execution: StartedExecution) -> Outcome:
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
            model = self._model(job)
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
        writer = ChunkWriter(lambda *chunk: self._store_chunk(execution.id, *chunk))
        failed = 0
        for device in devices:
            try:
                self._score_device(job, model, device, execution, writer, outcome)
            except SourceError as exc:
                failed += 1
                outcome.warn(f"The device {device} could not be read: {exc}")
        writer.flush()
        outcome.records = writer.total
        if failed == len(devices):
            outcome.fail("No device could be read; nothing was scored.")
        return outcome

    def _model(self, job: Job) -> CompiledModel:
        with self.db.read() as conn:
            stored = models_repo.get_model(conn, job.tenant, job.model_name)
        if stored is None:
            raise ModelError(f"Model '{job.model_name}' not found.")
        if not stored.is_active:
            raise ModelError(f"The model '{job.model_name}' is inactive; activate it to score.")

        def load() -> bytes:
            with self.db.read() as conn:
                data = models_repo.get_source(conn, job.tenant, job.model_name)
            if data is None:
                raise ModelError(f"Model '{job.model_name}' not found.")
            return data

        return self.models.get(job.tenant, stored.sha256, stored.kind, load)

    def _score_device(
        self,
        job: Job,
        model: CompiledModel,
        device: int,
        execution: StartedExecution,
        writer: ChunkWriter,
        outcome: Outcome,
    ) -> None:
        mapping = {name: _path(text) for name, text in job.mappings.items()}
        paths = list(dict.fromkeys(mapping.values()))
        assert execution.window_from is not None
        assert execution.window_to is not None
        scored = invalid = 0
        chunks = self.source.read(
            job.tenant, device, paths, execution.window_from, execution.window_to, self.read_chunk
        )
        for chunk in chunks:
            records = align_records(chunk.series, mapping)
            if len(records):
                outputs = model.score(records.columns)
                invalid += _all_missing(outputs)
                writer.add(device, records.times_ns, outputs)
                scored += len(records)
            self._renew_lease(execution.id)
        if not scored:
            outcome.warn(NO_DATA.format(id=device))
        elif invalid:
            outcome.warn(
                f"{invalid} records of device {device} were invalid for the model and have "
                "no outputs."
            )

    def _store_chunk(
        self, execution_id: int, seq: int, device: int, start: int, count: int, payload: bytes
    ) -> None:
        try:
            with self.db.write() as conn:
                inferences_repo.insert_chunk(conn, execution_id, seq, device, start, count, payload)
        except IntegrityError:
            raise Abandoned from None  # the execution was deleted with its job

    def _renew_lease(self, execution_id: int) -> None:
        now = self.clock.now()
        with self.db.write() as conn:
            if not executions_repo.renew_lease(conn, execution_id, self.owner, now + self.lease):
                raise Abandoned


def _path(text: str) -> MeasurementPath:
    path = MeasurementPath.parse(text)
    assert path is not None  # validated when the job was created
    return path


def _all_missing(outputs: dict[str, npt.NDArray[Any]]) -> int:
    """Records for which the model returned no output at all (refused as invalid)."""
    if not outputs:
        return 0
    n = len(next(iter(outputs.values())))
    missing = np.ones(n, dtype=bool)
    for values in outputs.values():
        if values.dtype == np.float64:
            missing &= np.isnan(values)
        else:
            missing &= np.asarray(values == None, dtype=np.bool_)  # noqa: E711 (elementwise)
    return int(np.count_nonzero(missing))
