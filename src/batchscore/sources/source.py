"""The port through which jobs read measurements (design §2.5), declared and documented once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import from_ns


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


ReadChunk = Callable[[datetime, datetime], Mapping[MeasurementPath, Series]]
"""Every requested path of one device within ``[lo, hi)``."""
FirstTime = Callable[[datetime, datetime], int | None]
"""The time (epoch ns) of the device's first value of any requested path in ``[lo, hi)``."""


def read_chunks(
    start: datetime, end: datetime, chunk: timedelta | None, read: ReadChunk, first: FirstTime
) -> Iterator[SeriesChunk]:
    """``[start, end)`` read in consecutive chunks of at most ``chunk`` (the whole window when
    None) on the grid ``start + k * chunk``. After a chunk without data, ``first`` says where
    the data goes on and the reader jumps to that chunk, so a window of years over sparse data
    costs a few reads instead of one per chunk; the jumped-over stretch is part of the empty
    chunk yielded, and the chunks yielded still tile the window."""
    if chunk is not None and chunk <= timedelta(0):
        raise ValueError("chunk must be positive")
    step = chunk or end - start
    at = start
    while True:
        hi = min(at + step, end)
        series = read(at, hi)
        upto = hi
        if hi < end and not any(len(s) for s in series.values()):
            following = first(hi, end)
            if following is None:
                upto = end
            else:  # on the grid, and forward whatever the source answered
                grid = start + ((from_ns(following) - start) // step) * step
                upto = min(max(grid, hi), end)
        yield SeriesChunk(at, upto, series)
        if upto >= end:
            return
        at = upto
