"""The port through which an execution's partitions get scored, and its in-process adapter.

``JobExecutor`` owns an execution (lease, inference chunks, status); a ``PartitionRunner``
decides where its partitions are scored: in the executor's own thread (``InlineRunner``, the
``local`` executor) or on a Dask cluster (``dask_backend.DaskRunner``).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Protocol

from batchscore.errors import BatchscoreError
from batchscore.execution.models import compile_model
from batchscore.execution.partitions import (
    DeviceReport,
    Partition,
    PartitionWork,
    PieceSink,
    score_partition,
)
from batchscore.runtime.registry import ModelCache
from batchscore.sources.source import MeasurementSource
from batchscore.store.db import Database


class PartitionFailed(BatchscoreError):
    """A partition could not be scored even after retries; the execution fails with this."""


class PartitionRunner(Protocol):
    """Scores the partitions of one execution and delivers them in partition order."""

    def split(self, devices: Sequence[int]) -> list[Partition]:
        """Cut the execution's devices (in execution order) into partitions."""
        ...

    def run(
        self, work: PartitionWork, partitions: Sequence[Partition], sink: PieceSink
    ) -> Generator[list[DeviceReport], None, None]:
        """Score ``partitions``; for each, in order, hand every scored piece to ``sink`` (device
        order, then time) and then yield its device reports. A partition's pieces reach the
        sink only from one complete attempt, never mixed with a failed one. Raises
        ``PartitionFailed`` when a partition cannot be scored; exceptions of ``sink`` propagate
        and stop the remaining work."""
        ...

    def close(self) -> None:
        """Release connections (called once, at shutdown)."""
        ...


class InlineRunner:
    """Scores in the calling thread, streaming each read chunk straight into the sink."""

    def __init__(self, db: Database, source: MeasurementSource, models: ModelCache) -> None:
        self.db = db
        self.source = source
        self.models = models

    def split(self, devices: Sequence[int]) -> list[Partition]:
        return [Partition(0, tuple(devices))] if devices else []

    def run(
        self, work: PartitionWork, partitions: Sequence[Partition], sink: PieceSink
    ) -> Generator[list[DeviceReport], None, None]:
        if not partitions:
            return
        model = compile_model(self.db, self.models, work.model)
        for partition in partitions:
            yield score_partition(work, partition.devices, self.source, model, sink)

    def close(self) -> None:
        pass
