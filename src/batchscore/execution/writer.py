"""Buffers scored records and writes them as inference chunks of exactly ``CHUNK_ROWS`` records
(the last may be shorter), so chunk k holds page k of the inferences: any page read touches one
chunk. Encoded chunks go to the sink in batches of up to ``BATCH_CHUNKS`` chunks or
``BATCH_BYTES`` of payload, or once the first waited ``BATCH_SECONDS`` (one write transaction
and one multi-row insert each); memory stays bounded by one chunk of records, one batch of
payloads and the records being added."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.execution.codec import Chunk, encode_chunk

CHUNK_ROWS = 2000
BATCH_CHUNKS = 16
BATCH_BYTES = 256 * 1024
BATCH_SECONDS = 1.0

EncodedChunk = tuple[int, int, int, int, bytes]
"""(seq, first device, row_start, row_count, payload) of one finished chunk."""
ChunkSink = Callable[[Sequence[EncodedChunk]], None]
"""Stores a batch of finished chunks, in seq order, all or none."""


class ChunkWriter:
    def __init__(
        self,
        sink: ChunkSink,
        rows_per_chunk: int = CHUNK_ROWS,
        chunks_per_batch: int = BATCH_CHUNKS,
        batch_bytes: int = BATCH_BYTES,
        batch_seconds: float = BATCH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.rows_per_chunk = rows_per_chunk
        self.chunks_per_batch = chunks_per_batch
        self.batch_bytes = batch_bytes
        self.batch_seconds = batch_seconds
        self._monotonic = monotonic
        self._pending_since = 0.0
        self.written = 0  # records the sink stored
        self._seq = 0
        self._parts: list[Chunk] = []
        self._buffered = 0  # records not encoded yet
        self._pending: list[EncodedChunk] = []  # encoded, not stored yet
        self._pending_rows = 0
        self._pending_bytes = 0

    @property
    def total(self) -> int:
        return self.written + self._pending_rows + self._buffered

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
            self._encode(whole_chunks_only=True)

    def flush(self) -> None:
        """Encode what is buffered and store every chunk not stored yet."""
        if self._buffered:
            self._encode(whole_chunks_only=False)
        if self._pending:
            self._store()

    def heartbeat(self) -> None:
        """Store the chunks pending for ``batch_seconds`` or more, so a slow execution's
        inferences (and its progress) still appear as it goes."""
        if self._pending and self._monotonic() - self._pending_since >= self.batch_seconds:
            self._store()

    def _encode(self, *, whole_chunks_only: bool) -> None:
        merged = Chunk.concat(self._parts)
        offset = 0
        while len(merged) - offset >= self.rows_per_chunk or (
            not whole_chunks_only and offset < len(merged)
        ):
            stop = min(offset + self.rows_per_chunk, len(merged))
            head = merged.slice(offset, stop)
            start = self.written + self._pending_rows
            payload = encode_chunk(head)
            if not self._pending:
                self._pending_since = self._monotonic()
            self._pending.append((self._seq, int(head.devices[0]), start, len(head), payload))
            self._seq += 1
            self._pending_rows += len(head)
            self._pending_bytes += len(payload)
            offset = stop
            rest = merged.slice(offset, len(merged))
            self._parts = [rest] if len(rest) else []
            self._buffered = len(rest)
            if (
                len(self._pending) >= self.chunks_per_batch
                or self._pending_bytes >= self.batch_bytes
                or self._monotonic() - self._pending_since >= self.batch_seconds
            ):
                self._store()

    def _store(self) -> None:
        self.sink(self._pending)  # raising keeps them pending, to be stored again
        self.written += self._pending_rows
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
