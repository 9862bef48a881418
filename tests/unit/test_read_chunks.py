"""read_chunks: a window tiled into grid chunks, empty stretches jumped over in one step."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.sources.source import Series, SeriesChunk, read_chunks

T0 = datetime(2026, 1, 14, tzinfo=UTC)
HOUR = timedelta(hours=1)
X = MeasurementPath("c8y_Acceleration", "accelerationX")


class Source:
    """Values at ``times``; counts the reads and the first-time questions."""

    def __init__(self, times: list[datetime]) -> None:
        self.times = sorted(to_ns(t) for t in times)
        self.reads = 0
        self.questions = 0

    def read(self, lo: datetime, hi: datetime) -> dict[MeasurementPath, Series]:
        self.reads += 1
        inside = [t for t in self.times if to_ns(lo) <= t < to_ns(hi)]
        return {X: Series(np.array(inside, dtype=np.int64), np.ones(len(inside)))}

    def first(self, lo: datetime, hi: datetime) -> int | None:
        self.questions += 1
        return next((t for t in self.times if to_ns(lo) <= t < to_ns(hi)), None)


def walk(
    source: Source, start: datetime, end: datetime, chunk: timedelta | None
) -> list[SeriesChunk]:
    chunks = list(read_chunks(start, end, chunk, source.read, source.first))
    assert chunks[0].start == start
    assert chunks[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    return chunks


def bounds(chunks: list[SeriesChunk]) -> list[tuple[datetime, datetime]]:
    return [(c.start, c.end) for c in chunks]


def test_dense_windows_are_read_chunk_by_chunk() -> None:
    source = Source([T0 + timedelta(minutes=m) for m in range(0, 60, 5)])
    assert bounds(walk(source, T0, T0 + HOUR, None)) == [(T0, T0 + HOUR)]
    chunks = walk(source, T0, T0 + HOUR, timedelta(minutes=40))
    assert bounds(chunks) == [
        (T0, T0 + timedelta(minutes=40)),
        (T0 + timedelta(minutes=40), T0 + HOUR),
    ]
    assert [len(c.series[X]) for c in chunks] == [8, 4]
    assert source.questions == 0


def test_an_empty_window_is_one_empty_chunk() -> None:
    source = Source([])
    assert bounds(walk(source, T0, T0, HOUR)) == [(T0, T0)]
    assert bounds(walk(source, T0, T0 + 10 * HOUR, HOUR)) == [(T0, T0 + 10 * HOUR)]
    assert (source.reads, source.questions) == (2, 1)


def test_empty_stretches_are_jumped_over_to_the_chunk_of_the_next_value() -> None:
    year = timedelta(days=365)
    values = [T0 + year + timedelta(minutes=90), T0 + 2 * year + timedelta(minutes=10)]
    source = Source(values)
    chunks = walk(source, T0, T0 + 3 * year, HOUR)
    full = [c for c in chunks if len(c.series[X])]
    assert bounds(full) == [
        (T0 + year + HOUR, T0 + year + 2 * HOUR),
        (T0 + 2 * year, T0 + 2 * year + HOUR),
    ]
    assert source.reads == len(chunks) == 5  # not 26,280
    assert sum(len(c.series[X]) for c in chunks) == 2


def test_a_source_answering_outside_the_question_still_moves_forward() -> None:
    source = Source([T0 + 5 * HOUR])
    source.first = lambda lo, hi: to_ns(T0)  # type: ignore[method-assign]  # before lo
    chunks = walk(source, T0 + HOUR, T0 + 4 * HOUR, HOUR)
    assert len(chunks) == 3  # one chunk at a time, as without jumping
    source.first = lambda lo, hi: to_ns(T0 + 100 * HOUR)  # type: ignore[method-assign]  # past end
    assert bounds(walk(source, T0, T0 + 4 * HOUR, HOUR)) == [(T0, T0 + 4 * HOUR)]


def test_a_chunk_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        list(read_chunks(T0, T0 + HOUR, timedelta(0), Source([]).read, Source([]).first))
