"""Reading the inferences of an execution: pages of 2000 records and the whole run."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from batchscore.domain.jobs import Execution
from batchscore.execution.codec import Chunk, decode_chunk
from batchscore.execution.writer import CHUNK_ROWS
from batchscore.service.jobs import JobService
from batchscore.store import inferences as repo
from batchscore.store.db import Database

PAGE_SIZE = CHUNK_ROWS


class InferenceService:
    def __init__(self, db: Database, jobs: JobService) -> None:
        self.db = db
        self.jobs = jobs

    def page(self, tenant: str, job_id: str, number: str, page: int) -> list[Chunk]:
        """The records of page ``page`` (1-based) as device runs: device order, then time.

        Chunks hold exactly one page each, so this reads one chunk (two if a chunk size ever
        changed between writing and reading).
        """
        return self.page_of(self.jobs.execution(tenant, job_id, number), page)

    def page_of(self, run: Execution, page: int) -> list[Chunk]:
        """:meth:`page` of an execution already looked up (with its tenant checked)."""
        start = (page - 1) * PAGE_SIZE
        end = start + PAGE_SIZE
        with self.db.read() as conn:
            found = repo.chunks_overlapping(conn, run.id, start, end)
        pieces: list[Chunk] = []
        for row_start, payload in found:
            chunk = decode_chunk(payload)
            lo, hi = max(start - row_start, 0), min(end - row_start, len(chunk))
            pieces.extend(split_by_device(chunk.slice(lo, hi)))
        return _merge_adjacent(pieces)

    def scan(self, run: Execution, start: int, max_records: int) -> list[tuple[int, Chunk]]:
        """The records from index ``start`` on, at most ``max_records`` of them, as chunks each
        with the index of its first record: a bounded step of a filtered walk through an
        execution (the console's inference table)."""
        end = start + max_records
        with self.db.read() as conn:
            found = repo.chunks_overlapping(conn, run.id, start, end)
        out: list[tuple[int, Chunk]] = []
        for row_start, payload in found:
            chunk = decode_chunk(payload)
            lo, hi = max(start - row_start, 0), min(end - row_start, len(chunk))
            if hi > lo:
                out.append((row_start + lo, chunk.slice(lo, hi)))
        return out

    def records_of(self, run: Execution) -> Iterator[Chunk]:
        """:meth:`all_records` of an execution already looked up."""
        with self.db.read() as conn:
            for payload in repo.iter_chunks(conn, run.id):
                yield decode_chunk(payload)

    def all_records(self, tenant: str, job_id: str, number: str) -> Iterator[Chunk]:
        """Every record of the execution, chunk by chunk (bounded memory)."""
        run = self.jobs.execution(tenant, job_id, number)
        with self.db.read() as conn:
            for payload in repo.iter_chunks(conn, run.id):
                yield decode_chunk(payload)

    def output_names(self, tenant: str, job_id: str, number: str) -> list[str]:
        for chunk in self.all_records(tenant, job_id, number):
            return list(chunk.columns)
        return []


def split_by_device(chunk: Chunk) -> list[Chunk]:
    """Runs of consecutive records of one device (records are grouped by device)."""
    if not len(chunk):
        return []
    changes = np.flatnonzero(chunk.devices[1:] != chunk.devices[:-1]) + 1
    bounds = [0, *changes.tolist(), len(chunk)]
    return [chunk.slice(a, b) for a, b in itertools.pairwise(bounds)]


def _merge_adjacent(pieces: list[Chunk]) -> list[Chunk]:
    merged: list[Chunk] = []
    for piece in pieces:
        if merged and merged[-1].devices[-1] == piece.devices[0]:
            merged[-1] = Chunk.concat([merged[-1], piece])
        else:
            merged.append(piece)
    return merged
