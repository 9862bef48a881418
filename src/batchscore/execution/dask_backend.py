"""Executions on a Dask distributed cluster (``BATCHSCORE_EXECUTOR=dask://host:port``, §3.6).

The owning instance keeps the execution (lease, inference chunks, status); its partitions run
as Dask tasks. A worker opens the database by URL, reads its devices through the instance's
configured source (the embedded store, or the Cumulocity tenant whose settings come with the
task), compiles the model once per (tenant, sha256) in a worker-wide cache (the bytes are
read only on a miss, never shipped with each task), scores the whole partition and returns it.
The owner stores a partition only once its whole result has arrived, in partition order, so
a retried partition (its worker died) never mixes with a partial attempt. Dask keeps no
durable state: the execution row and its lease stay the truth. A lost scheduler fails the
executions that used it with a message saying so (never "internal error").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from uuid import uuid4

from cachetools import LRUCache
from distributed import Client, Future, KilledWorker
from distributed.comm.core import CommClosedError

from batchscore.domain.inventory import ManagedObject
from batchscore.errors import BatchscoreError
from batchscore.execution.models import compile_model
from batchscore.execution.partitions import (
    CollectingSink,
    DeviceReport,
    Partition,
    PartitionResult,
    PartitionWork,
    PieceSink,
    partition_size,
    score_partition,
    split_devices,
)
from batchscore.execution.runner import PartitionFailed
from batchscore.runtime.registry import ModelCache
from batchscore.sources.cumulocity import CumulocitySettings, CumulocitySource
from batchscore.sources.embedded import EmbeddedSource
from batchscore.sources.source import MeasurementSource
from batchscore.store.db import Database

log = logging.getLogger(__name__)

SCHEME = "dask://"
LOST = (OSError, CommClosedError, TimeoutError)
"""What a call to a Dask scheduler that went away raises."""


def scheduler_address(executor: str) -> str:
    """``dask://host:port`` (the setting) as the ``tcp://host:port`` Dask connects to."""
    if not executor.startswith(SCHEME) or len(executor) == len(SCHEME):
        raise ValueError(f"not a dask:// executor: {executor!r}")
    return "tcp://" + executor[len(SCHEME) :]


@dataclass(frozen=True, slots=True)
class PartitionTask:
    """One Dask task: a partition of an execution, the database its worker reads, and the
    Cumulocity tenant it reads measurements from (None: the database's embedded store)."""

    work: PartitionWork
    partition: Partition
    # Not in the printed form: Dask logs a failed task with its arguments, and the URL and the
    # tenant's settings carry passwords.
    database_url: str = field(repr=False)
    cumulocity: CumulocitySettings | None = field(default=None, repr=False)


Task = Callable[[PartitionTask], PartitionResult]


class DaskRunner:
    """Scores partitions as Dask tasks; connects to the scheduler on first use."""

    def __init__(
        self,
        address: str,
        database_url: str,
        *,
        partition_devices: int | None = None,
        retries: int = 2,
        heartbeat_s: float = 1.0,
        connect_timeout_s: float = 10.0,
        no_workers_s: float = 120.0,
        cumulocity: CumulocitySettings | None = None,
        task: Task | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.database_url = database_url
        self.cumulocity = cumulocity
        self.partition_devices = partition_devices
        self.retries = retries
        self.heartbeat_s = heartbeat_s
        self.connect_timeout_s = connect_timeout_s
        self.no_workers_s = no_workers_s
        self._monotonic = monotonic
        # Tests swap in a task that fails; it must be importable (or picklable) on workers.
        self.task: Task = task or score_partition_task
        self._client: Client | None = None
        self._lock = threading.Lock()

    def split(self, devices: Sequence[int]) -> list[Partition]:
        size = self.partition_devices
        if size is None:
            client = self._connect()
            try:
                slots = sum(client.nthreads().values())
            except LOST as exc:
                raise self._unreachable(exc) from None
            size = partition_size(len(devices), slots)
        return split_devices(devices, size)

    def run(
        self, work: PartitionWork, partitions: Sequence[Partition], sink: PieceSink
    ) -> Generator[list[DeviceReport], None, None]:
        if not partitions:
            return
        client = self._connect()
        attempt = uuid4().hex[:8]  # a re-run of the same execution never reuses a key
        futures: list[Future[PartitionResult]] = []
        try:
            for partition in partitions:
                futures.append(
                    client.submit(
                        self.task,
                        PartitionTask(work, partition, self.database_url, self.cumulocity),
                        key=f"batchscore-{work.execution_id}-{partition.index}-{attempt}",
                        retries=self.retries,
                        pure=False,
                    )
                )
        except LOST as exc:
            self._cancel(client, futures)
            raise self._unreachable(exc) from None
        try:
            for partition, future in zip(partitions, futures, strict=True):
                result = self._result(client, future, partition, len(partitions), sink)
                for piece in result.pieces:
                    sink.add(piece)
                sink.heartbeat()
                yield list(result.reports)
                future.release()
        finally:
            self._cancel(client, futures)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _connect(self) -> Client:
        with self._lock:
            if self._client is not None and self._client.status in ("running", "connecting"):
                return self._client
            try:
                self._client = Client(
                    self.address, set_as_default=False, timeout=self.connect_timeout_s
                )
            except LOST as exc:
                raise self._unreachable(exc) from None
            return self._client

    def _unreachable(self, exc: BaseException) -> PartitionFailed:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return PartitionFailed(f"The Dask scheduler at {self.address} is not reachable: {reason}")

    def _result(
        self,
        client: Client,
        future: Future[PartitionResult],
        partition: Partition,
        count: int,
        sink: PieceSink,
    ) -> PartitionResult:
        where = f"The {partition.describe()} (partition {partition.index + 1} of {count})"
        arrived = threading.Event()
        future.add_done_callback(lambda _: arrived.set())
        no_workers_since: float | None = None
        while not arrived.wait(self.heartbeat_s):
            sink.heartbeat()  # keeps the lease while the cluster works
            if self._has_workers(client):
                no_workers_since = None
                continue
            now = self._monotonic()
            if no_workers_since is None:
                no_workers_since = now
            if now - no_workers_since >= self.no_workers_s:
                raise PartitionFailed(
                    f"{where} could not be scored: the Dask cluster at {self.address} has had "
                    f"no workers for {self.no_workers_s:g} s (start some with "
                    "`batchscore worker`)."
                )
        try:
            result = future.result()
        except KilledWorker:
            raise PartitionFailed(
                f"{where} could not be scored: the Dask workers running them died repeatedly."
            ) from None
        except CancelledError:
            raise PartitionFailed(
                f"{where} could not be scored: the Dask cluster dropped the task "
                "(scheduler restarted or connection lost)."
            ) from None
        except BatchscoreError as exc:
            raise PartitionFailed(f"{where} could not be scored: {exc}") from None
        except Exception as exc:
            log.warning("partition %s failed on Dask: %r", future.key, exc)
            raise PartitionFailed(
                f"{where} could not be scored: it failed with {type(exc).__name__} on the "
                f"Dask workers {self.retries + 1} times; the worker log has the details."
            ) from None
        if not isinstance(result, PartitionResult) or result.index != partition.index:
            raise PartitionFailed(f"{where} came back from Dask with an unexpected result.")
        return result

    @staticmethod
    def _has_workers(client: Client) -> bool:
        try:
            return bool(client.nthreads())
        except Exception:  # the scheduler itself is unreachable: the task's fate tells
            return True

    @staticmethod
    def _cancel(client: Client, futures: list[Future[PartitionResult]]) -> None:
        pending = [f for f in futures if not f.done()]
        if not pending:
            return
        try:
            client.cancel(pending)
        except Exception:  # the cluster may already be gone; its tasks die with it
            log.warning("could not cancel %d Dask tasks", len(pending), exc_info=True)


# --- worker side -------------------------------------------------------------------------
# One model cache and a few open databases per worker process, shared by its threads and
# kept across tasks and executions.

_MODELS = ModelCache()


class _OpenDatabases(LRUCache[str, Database]):
    """The databases a worker keeps open; one pushed out is disposed of."""

    def popitem(self) -> tuple[str, Database]:
        url, db = super().popitem()
        db.dispose()
        return url, db


_DATABASES_KEPT = 4
_DATABASES = _OpenDatabases(maxsize=_DATABASES_KEPT)
_DATABASES_LOCK = threading.Lock()


def score_partition_task(task: PartitionTask) -> PartitionResult:
    """The Dask task: score one whole partition on a worker and return it."""
    db = _database(task.database_url)
    source = _source(db, task.cumulocity)
    model = compile_model(db, _MODELS, task.work.model)
    sink = CollectingSink()
    reports = score_partition(task.work, task.partition.devices, source, model, sink)
    return PartitionResult(task.partition.index, tuple(sink.pieces), tuple(reports))


_TENANTS: dict[CumulocitySettings, CumulocitySource] = {}


def _source(db: Database, cumulocity: CumulocitySettings | None) -> MeasurementSource:
    """The source the owning instance reads through: its Cumulocity tenant (one connection
    pool per worker process, kept) or the embedded store of ``db``."""
    if cumulocity is None:
        return EmbeddedSource(db, _TargetsResolvedByOwner())
    with _DATABASES_LOCK:
        source = _TENANTS.get(cumulocity)
        if source is None:
            source = _TENANTS[cumulocity] = CumulocitySource.from_settings(cumulocity)
        return source


def _database(url: str) -> Database:
    with _DATABASES_LOCK:
        db = _DATABASES.get(url)
        if db is None:
            db = _DATABASES[url] = Database.from_url(url)
        return db


class _TargetsResolvedByOwner:
    """Workers only read measurements; the owning instance resolves targets to devices."""

    def get(self, tenant: str, object_id: str | int) -> ManagedObject:
        raise NotImplementedError("targets are resolved by the owning instance")

    def devices_below(self, tenant: str, target: ManagedObject) -> list[int]:
        raise NotImplementedError("targets are resolved by the owning instance")
