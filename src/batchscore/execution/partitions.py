"""Device partitions: the unit of work an execution fans out, and the scoring of one partition.

An execution's devices are split into contiguous partitions (ranges of devices in execution
order). ``score_partition`` reads, aligns and scores every device of one partition and hands
the scored records to a sink in device order, then time order. It is the one scoring path:
the local executor runs it in-process with a sink that writes inference chunks as they come
(memory bounded by one read chunk), a Dask worker runs it with a sink that collects the whole
partition and returns it to the owning instance (design §3.6).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from batchscore.domain.finite import count_infinite
from batchscore.domain.jobs import MeasurementPath
from batchscore.errors import SourceError
from batchscore.execution.align import align_records
from batchscore.runtime.engine import CompiledModel
from batchscore.sources.source import MeasurementSource


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Which model scores an execution: enough to load and check it anywhere."""

    tenant: str
    name: str
    sha256: str
    kind: str


@dataclass(frozen=True, slots=True)
class PartitionWork:
    """What every partition of one execution shares; small and picklable."""

    execution_id: int
    tenant: str
    model: ModelRef
    mapping: tuple[tuple[str, MeasurementPath], ...]  # model input -> path, job order
    window_from: datetime
    window_to: datetime
    read_chunk: timedelta


@dataclass(frozen=True, slots=True)
class Partition:
    """A contiguous range of an execution's devices; ``index`` is its place in device order."""

    index: int
    devices: tuple[int, ...]

    def describe(self) -> str:
        first, last = self.devices[0], self.devices[-1]
        return f"device {first}" if first == last else f"devices {first} to {last}"


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """How scoring one device went: records scored, records refused, output values that were
    ±inf (shown as missing), or why it was unreadable."""

    device: int
    scored: int = 0
    invalid: int = 0
    error: str | None = None
    infinite: int = 0
    read_s: float = 0.0
    """Seconds spent reading the device's window from the source."""
    score_s: float = 0.0
    """Seconds the model spent scoring its records."""


@dataclass(frozen=True, slots=True)
class ScoredPiece:
    """Scored records of one device: ascending epoch-ns times and one column per output."""

    device: int
    times_ns: npt.NDArray[np.int64]
    outputs: dict[str, npt.NDArray[Any]]


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """A whole scored partition, as a Dask worker returns it to the owning instance."""

    index: int
    pieces: tuple[ScoredPiece, ...]
    reports: tuple[DeviceReport, ...]


class PieceSink(Protocol):
    """Receives scored records in device order, then time order."""

    def add(self, piece: ScoredPiece) -> None:
        """Take the scored records of one read chunk of one device."""
        ...

    def heartbeat(self) -> None:
        """Called between read chunks: the owner renews its lease (raising to stop the work)."""
        ...


@dataclass
class CollectingSink:
    """A sink that keeps every piece (a Dask worker's, until the partition is whole)."""

    pieces: list[ScoredPiece] = field(default_factory=list)

    def add(self, piece: ScoredPiece) -> None:
        self.pieces.append(piece)

    def heartbeat(self) -> None:
        pass


def split_devices(devices: Sequence[int], size: int) -> list[Partition]:
    """Contiguous partitions of at most ``size`` devices, in device order (pure)."""
    if size <= 0:
        raise ValueError("partition size must be positive")
    return [
        Partition(index, tuple(devices[start : start + size]))
        for index, start in enumerate(range(0, len(devices), size))
    ]


def partition_size(devices: int, slots: int, *, per_slot: int = 4, largest: int = 100) -> int:
    """Devices per partition so ``slots`` worker threads get about ``per_slot`` partitions each
    (load balance against the ~11 ms round trip of a task), at most ``largest`` (bounds the
    memory of one returned partition)."""
    wanted = max(1, slots) * per_slot
    return max(1, min(largest, math.ceil(devices / wanted)))


def score_partition(
    work: PartitionWork,
    devices: Sequence[int],
    source: MeasurementSource,
    model: CompiledModel,
    sink: PieceSink,
) -> list[DeviceReport]:
    """Read, align and score each device in turn; a device the source cannot read is reported,
    not raised, so one bad device does not sink the others."""
    mapping = dict(work.mapping)
    paths = list(dict.fromkeys(mapping.values()))
    reports: list[DeviceReport] = []
    for device in devices:
        scored = invalid = infinite = 0
        read_s = score_s = 0.0
        try:
            chunks = iter(
                source.read(
                    work.tenant, device, paths, work.window_from, work.window_to, work.read_chunk
                )
            )
            while True:
                began = time.perf_counter()
                chunk = next(chunks, None)
                read_s += time.perf_counter() - began
                if chunk is None:
                    break
                records = align_records(chunk.series, mapping)
                if len(records):
                    began = time.perf_counter()
                    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                        outputs = model.score(records.columns)  # ±inf is counted below
                    score_s += time.perf_counter() - began
                    invalid += count_refused(outputs)
                    infinite += sum(count_infinite(v) for v in outputs.values())
                    sink.add(ScoredPiece(device, records.times_ns, outputs))
                    scored += len(records)
                sink.heartbeat()
        except SourceError as exc:
            reports.append(
                DeviceReport(device, scored, invalid, str(exc), infinite, read_s, score_s)
            )
            continue
        reports.append(DeviceReport(device, scored, invalid, None, infinite, read_s, score_s))
    return reports


def count_refused(outputs: dict[str, npt.NDArray[Any]]) -> int:
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
