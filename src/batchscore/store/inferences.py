"""Inference chunks of executions: written in record order, read by record range."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, insert, select

from batchscore.store.tables import inference_chunks as chunks


def insert_chunk(
    conn: Connection,
    execution_id: int,
    seq: int,
    first_device: int,
    row_start: int,
    row_count: int,
    payload: bytes,
) -> None:
    conn.execute(
        insert(chunks).values(
            execution_id=execution_id,
            seq=seq,
            device_id=first_device,
            row_start=row_start,
            row_count=row_count,
            payload=payload,
        )
    )


def insert_chunks(
    conn: Connection, execution_id: int, batch: Sequence[tuple[int, int, int, int, bytes]]
) -> None:
    """Insert chunks given as (seq, first device, row_start, row_count, payload), in one
    statement (the driver's many-row insert)."""
    if not batch:
        return
    conn.execute(
        insert(chunks),
        [
            {
                "execution_id": execution_id,
                "seq": seq,
                "device_id": device,
                "row_start": start,
                "row_count": count,
                "payload": payload,
            }
            for seq, device, start, count, payload in batch
        ],
    )


def chunks_overlapping(
    conn: Connection, execution_id: int, start: int, end: int
) -> list[tuple[int, bytes]]:
    """(row_start, payload) of the chunks holding any record in ``[start, end)``, in order."""
    rows = conn.execute(
        select(chunks.c.row_start, chunks.c.payload)
        .where(
            chunks.c.execution_id == execution_id,
            chunks.c.row_start < end,
            chunks.c.row_start + chunks.c.row_count > start,
        )
        .order_by(chunks.c.seq)
    )
    return [(int(r.row_start), bytes(r.payload)) for r in rows]


def iter_chunks(conn: Connection, execution_id: int) -> Iterator[bytes]:
    """Every chunk of an execution in record order, fetched one at a time."""
    seqs = conn.execute(
        select(chunks.c.seq).where(chunks.c.execution_id == execution_id).order_by(chunks.c.seq)
    ).scalars()
    for seq in list(seqs):
        payload = conn.execute(
            select(chunks.c.payload).where(
                chunks.c.execution_id == execution_id, chunks.c.seq == seq
            )
        ).scalar_one()
        yield bytes(payload)
