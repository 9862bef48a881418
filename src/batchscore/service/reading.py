"""Reading a page of documents for rendering in runs of bounded size: the sizes of their stored
fragments are read first, then the documents a run at a time, so a page of small documents is a
few reads and a page of large ones never sits whole in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from sqlalchemy import Connection, Table

from batchscore.store.db import Database
from batchscore.store.documents import fragment_sizes

T = TypeVar("T")

# Characters of fragments per run (a document larger than this is a run of its own; none is
# larger than the body limit, 1 MB by default), and ids per run.
RUN_BUDGET = 4_000_000
RUN_IDS = 2000  # a page of small documents is one run, answered whole
# A page of at most this many documents is one run without asking for sizes (at most 16 body
# limits of fragments): small pages, the most frequent, cost one read less.
SMALL_PAGE = 16


def needs_sizes(ids: Sequence[int]) -> bool:
    return len(ids) > SMALL_PAGE


def runs(ids: Sequence[int], sizes: Mapping[int, int] | None) -> list[list[int]]:
    """``ids`` in order, cut into runs of at most ``RUN_IDS`` whose fragments take at most
    ``RUN_BUDGET`` characters together (ids without a size, gone meanwhile, cost nothing);
    one run when there are no sizes (a small page)."""
    if sizes is None:
        return [list(ids)] if ids else []
    out: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i in ids:
        size = sizes.get(i, 0)
        if current and (used + size > RUN_BUDGET or len(current) >= RUN_IDS):
            out.append(current)
            current, used = [], 0
        current.append(i)
        used += size
    if current:
        out.append(current)
    return out


class PageRead(Generic[T]):
    """One page read in one read transaction (one snapshot, one connection checkout), opened
    when the first batch is asked for: the page's ids (one more, to know whether more follow),
    the total when asked, then the documents a run of bounded size at a time. ``has_more`` and
    ``total`` are known once the first batch was taken or the iteration ended."""

    def __init__(
        self,
        db: Database,
        table: Table,
        tenant: str,
        *,
        limit: int,
        ids_of: Callable[[Connection, int], list[int]],
        count: Callable[[Connection], int] | None,
        read_run: Callable[[Connection, list[int]], T],
    ) -> None:
        self._db, self._table, self._tenant, self._limit = db, table, tenant, limit
        self._ids_of, self._count, self._read_run = ids_of, count, read_run
        self.has_more = False
        self.total: int | None = None

    def __iter__(self) -> Iterator[T]:
        with self._db.read() as conn:
            ids = self._ids_of(conn, self._limit + 1)
            self.has_more = len(ids) > self._limit
            del ids[self._limit :]
            if self._count is not None:
                self.total = self._count(conn)
            sizes = (
                fragment_sizes(conn, self._table, self._tenant, ids) if needs_sizes(ids) else None
            )
            for run in runs(ids, sizes):
                yield self._read_run(conn, run)
