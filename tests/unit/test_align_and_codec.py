"""Record alignment, the inference chunk codec and the chunk writer (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from batchscore.domain.jobs import MeasurementPath
from batchscore.execution.align import align_records
from batchscore.execution.codec import Chunk, decode_chunk, encode_chunk
from batchscore.execution.writer import ChunkWriter, EncodedChunk
from batchscore.sources.source import Series

A = MeasurementPath("f", "a")
B = MeasurementPath("f", "b")


def series(times: list[int], values: list[float]) -> Series:
    return Series(np.array(times, dtype=np.int64), np.array(values))


def test_records_are_the_union_of_timestamps_with_missing_inputs() -> None:
    got = align_records(
        {A: series([1, 2, 4], [10, 20, 40]), B: series([2, 3], [0.2, 0.3])},
        {"x": A, "y": B, "x_again": A},
    )
    assert got.times_ns.tolist() == [1, 2, 3, 4]
    assert np.array_equal(got.columns["x"], [10, 20, np.nan, 40], equal_nan=True)
    assert np.array_equal(got.columns["y"], [np.nan, 0.2, 0.3, np.nan], equal_nan=True)
    assert got.columns["x_again"] is got.columns["x"]  # one path read once, shared


def test_series_sampled_together_need_no_union() -> None:
    got = align_records({A: series([5, 6], [1, 2]), B: series([5, 6], [3, 4])}, {"x": A, "y": B})
    assert got.times_ns.tolist() == [5, 6]
    assert got.columns["y"].tolist() == [3, 4]


def test_no_data_gives_no_records() -> None:
    got = align_records({A: series([], []), B: series([], [])}, {"x": A, "y": B})
    assert len(got) == 0
    assert set(got.columns) == {"x", "y"}


@pytest.mark.parametrize(
    "column",
    [
        np.array([1.5, np.nan, -0.0]),
        np.array([True, None, False], dtype=object),
        np.array(["a", None, "=cmd"], dtype=object),
        np.array([np.float64(1.0), float("nan"), None], dtype=object),
    ],
)
def test_codec_round_trip(column: Any) -> None:
    chunk = Chunk(np.array([7, 7, 8]), np.array([1, 2, 3]), {"out": column})
    back = decode_chunk(encode_chunk(chunk))
    assert back.devices.tolist() == [7, 7, 8]
    assert back.times_ns.tolist() == [1, 2, 3]
    if column.dtype == np.float64:
        assert np.array_equal(back.columns["out"], column, equal_nan=True)
    else:
        expected = [None if isinstance(v, float) and v != v else v for v in column.tolist()]
        assert back.columns["out"].tolist() == expected


def test_writer_cuts_chunks_on_the_page_grid_and_writes_them_in_batches() -> None:
    batches: list[list[tuple[int, int, int, int]]] = []

    def sink(batch: Sequence[EncodedChunk]) -> None:
        for _, _, _, count, payload in batch:
            assert len(decode_chunk(payload)) == count
        batches.append([chunk[:4] for chunk in batch])

    writer = ChunkWriter(sink, rows_per_chunk=4, chunks_per_batch=2)
    writer.add(1, np.arange(6), {"v": np.arange(6, dtype=np.float64)})
    assert batches == []  # 6 records: less than a batch of two chunks
    writer.add(2, np.arange(3), {"v": np.zeros(3)})
    writer.add(3, np.arange(0), {"v": np.zeros(0)})
    assert batches == [[(0, 1, 0, 4), (1, 1, 4, 4)]]
    writer.flush()
    assert batches == [[(0, 1, 0, 4), (1, 1, 4, 4)], [(2, 2, 8, 1)]]
    assert writer.total == 9


def test_a_failed_batch_stays_buffered_to_be_written_again() -> None:
    stored: list[tuple[int, int, int, int]] = []
    failing = [True]

    def sink(batch: Sequence[EncodedChunk]) -> None:
        if failing[0]:
            raise OSError("disk full")
        stored.extend(chunk[:4] for chunk in batch)

    writer = ChunkWriter(sink, rows_per_chunk=4, chunks_per_batch=3)
    writer.add(1, np.arange(5), {"v": np.zeros(5)})
    with pytest.raises(OSError, match="disk full"):
        writer.flush()
    assert (writer.written, writer.total) == (0, 5)
    failing[0] = False
    writer.flush()
    assert stored == [(0, 1, 0, 4), (1, 1, 4, 1)]
    assert writer.written == 5


def test_chunks_waiting_a_second_are_stored_at_the_next_heartbeat() -> None:
    stored: list[int] = []
    now = [100.0]
    writer = ChunkWriter(
        lambda batch: stored.extend(c[0] for c in batch),
        rows_per_chunk=2,
        monotonic=lambda: now[0],
    )
    writer.add(1, np.arange(3), {"v": np.zeros(3)})
    writer.heartbeat()
    assert stored == []  # one chunk pending, for no time yet
    now[0] += 1.0
    writer.heartbeat()
    assert stored == [0]
    writer.add(1, np.arange(3, 5), {"v": np.zeros(2)})
    assert stored == [0]
    now[0] += 1.5
    writer.add(1, np.arange(5, 7), {"v": np.zeros(2)})  # the next chunk finds one pending 1.5 s
    assert stored == [0, 1, 2]
