"""Record alignment, the inference chunk codec and the chunk writer (pure)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batchscore.domain.jobs import MeasurementPath
from batchscore.execution.align import align_records
from batchscore.execution.codec import Chunk, decode_chunk, encode_chunk
from batchscore.execution.writer import ChunkWriter
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


def test_writer_cuts_chunks_on_the_page_grid() -> None:
    written: list[tuple[int, int, int, int]] = []

    def sink(seq: int, device: int, start: int, count: int, payload: bytes) -> None:
        assert len(decode_chunk(payload)) == count
        written.append((seq, device, start, count))

    writer = ChunkWriter(sink, rows_per_chunk=4)
    writer.add(1, np.arange(6), {"v": np.arange(6, dtype=np.float64)})
    writer.add(2, np.arange(3), {"v": np.zeros(3)})
    writer.add(3, np.arange(0), {"v": np.zeros(0)})
    writer.flush()
    assert written == [(0, 1, 0, 4), (1, 1, 4, 4), (2, 2, 8, 1)]
    assert writer.total == 9
