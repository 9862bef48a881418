"""The port through which jobs read measurements (design §2.5), declared and documented once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from batchscore.domain.jobs import MeasurementPath


@dataclass(frozen=True, slots=True)
class Series:
    """One series in a time range: epoch-nanosecond times (ascending) and their values."""

    times_ns: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.times_ns)


@dataclass(frozen=True, slots=True)
class SeriesChunk:
    """Every requested path of one device within ``[start, end)``, a slice of a longer window."""

    start: datetime
    end: datetime
    series: Mapping[MeasurementPath, Series]


class MeasurementSource(Protocol):
    """Where a job's measurements come from: the embedded store or a Cumulocity tenant."""

    def read(
        self,
        tenant: str,
        device_id: int,
        paths: Sequence[MeasurementPath],
        start: datetime,
        end: datetime,
        chunk: timedelta | None = None,
    ) -> Iterator[SeriesChunk]:
        """Stream the given paths of one device in ``[start, end)`` (aware datetimes).

        Yields consecutive chunks covering the window, each at most ``chunk`` long (one chunk
        when ``chunk`` is None), with every path present (empty arrays where it has no data),
        so memory stays bounded on long windows. Raises ``SourceError`` when the source cannot
        be read.
        """
        ...

    def devices_below(self, tenant: str, target_id: int) -> list[int]:
        """The devices a job on ``target_id`` scores: the device itself, or every device
        reachable below a group, in ascending id order. Raises ``NotFound`` for an unknown id."""
        ...

    def close(self) -> None:
        """Release connections held by the source."""
        ...


def chunk_bounds(
    start: datetime, end: datetime, chunk: timedelta | None
) -> Iterator[tuple[datetime, datetime]]:
    """Split ``[start, end)`` into consecutive ``[a, b)`` of at most ``chunk`` (pure math)."""
    if chunk is not None and chunk <= timedelta(0):
        raise ValueError("chunk must be positive")
    if start >= end:
        yield start, end
        return
    step = chunk or (end - start)
    at = start
    while at < end:
        upto = min(at + step, end)
        yield at, upto
        at = upto
