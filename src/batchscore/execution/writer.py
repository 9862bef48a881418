"""Buffers scored records and writes them as inference chunks of exactly ``CHUNK_ROWS`` records
(the last may be shorter), so chunk k holds page k of the inferences: any page read touches one
chunk. Memory stays bounded by one chunk plus the batch being added."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.execution.codec import Chunk, encode_chunk

CHUNK_ROWS = 2000

# Receives (seq, first device, row_start, row_count, payload) for each finished chunk.
ChunkSink = Callable[[int, int, int, int, bytes], None]


class ChunkWriter:
    def __init__(self, sink: ChunkSink, rows_per_chunk: int = CHUNK_ROWS) -> None:
        self.sink = sink
        self.rows_per_chunk = rows_per_chunk
        self.written = 0  # records already handed to the sink
        self._seq = 0
        self._parts: list[Chunk] = []
        self._buffered = 0

    @property
    def total(self) -> int:
        return self.written + self._buffered

    def add(
        self, device: int, times_ns: npt.NDArray[np.int64], outputs: dict[str, npt.NDArray[Any]]
    ) -> None:
        """Append the scored records of one device (in time order)."""
        if not len(times_ns):
            return
        devices = np.full(len(times_ns), device, dtype=np.int64)
        self._parts.append(Chunk(devices, times_ns, outputs))
        self._buffered += len(times_ns)
        if self._buffered >= self.rows_per_chunk:
            self._emit(whole_chunks_only=True)

    def flush(self) -> None:
        if self._buffered:
            self._emit(whole_chunks_only=False)

    def _emit(self, *, whole_chunks_only: bool) -> None:
        merged = Chunk.concat(self._parts)
        offset = 0
        while len(merged) - offset >= self.rows_per_chunk or (
            not whole_chunks_only and offset < len(merged)
        ):
            stop = min(offset + self.rows_per_chunk, len(merged))
            head = merged.slice(offset, stop)
            self.sink(self._seq, int(head.devices[0]), self.written, len(head), encode_chunk(head))
            self._seq += 1
            self.written += len(head)
            offset = stop
        rest = merged.slice(offset, len(merged))
        self._parts = [rest] if len(rest) else []
        self._buffered = len(rest)
