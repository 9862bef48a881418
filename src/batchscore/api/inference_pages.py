"""Rendered inference pages of finished executions, kept in a byte-bounded LRU cache.

A finished execution's inferences never change, so the JSON of a page can be served again
without reading and decoding its chunk. Running executions are always read afresh. Entries are
keyed by the execution's row id and start time (row ids can be reused on SQLite after a
delete), and every request still looks the execution up first, which checks the tenant and
notices a deleted job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from cachetools import LRUCache

from batchscore.domain.jobs import Execution

BUDGET_BYTES = 64 * 1024 * 1024
"""Rendered pages kept per process; the least recently used go first beyond this."""

PageKey = tuple[int, datetime | None, int, bool]


class InferencePages:
    def __init__(self, budget_bytes: int = BUDGET_BYTES) -> None:
        self._budget = budget_bytes
        self._pages: LRUCache[PageKey, bytes] = LRUCache(maxsize=budget_bytes, getsizeof=len)
        self._lock = threading.Lock()

    def get(
        self, run: Execution, page: int, timestamps: bool, render: Callable[[], bytes]
    ) -> bytes:
        """The page's body: from the cache when ``run`` is finished, else ``render()``."""
        if not run.status.finished:
            return render()
        key = (run.id, run.started_at, page, timestamps)
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None:
                return hit
        body = render()
        if len(body) > self._budget // 16:
            return body
        with self._lock:
            if key not in self._pages:
                self._pages[key] = body  # the least recently used go first beyond the budget
        return body

    @property
    def size_bytes(self) -> int:
        return int(self._pages.currsize)
