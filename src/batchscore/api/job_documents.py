"""The JSON of job lists, assembled from per-job renderings that are reused while unchanged.

Listing 1,000 jobs used to read and decode every job's JSON columns and render every job
again on each request. A job's public form changes only with its last execution (status,
duration), so each rendering is kept with the job's stamp and the list is read as stamps
first: only new or changed jobs are read in full and rendered. The cache lives in the process
and needs no invalidation, since every request compares stamps with the database, so several
``serve`` processes on one database stay correct.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from batchscore.api.render import job_json
from batchscore.service.jobs import JobService
from batchscore.store.jobs import JobStamp

CAPACITY = 50_000
"""Renderings kept per process (about 0.5 kB each); the cache starts over beyond this."""


def encode(content: Any) -> bytes:
    """JSON exactly as :class:`fastapi.responses.JSONResponse` renders it."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


class JobDocuments:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._cache: dict[tuple[str, int], tuple[JobStamp, bytes]] = {}
        self._lock = threading.Lock()

    def listing(
        self, jobs: JobService, tenant: str, page_size: int | None = None, page: int = 1
    ) -> bytes:
        """The body of ``GET /jobs``: a JSON array of the tenant's jobs in id order."""
        cache = self._cache
        held: dict[int, bytes] = {}

        def known(job_id: int, stamp: JobStamp) -> bool:
            hit = cache.get((tenant, job_id))
            if hit is None or hit[0] != stamp:
                return False
            held[job_id] = hit[1]
            return True

        parts: list[bytes] = []
        fresh: dict[tuple[str, int], tuple[JobStamp, bytes]] = {}
        for job_id, stamp, job in jobs.list_changed(tenant, known, page_size, page):
            if job is None:
                parts.append(held[job_id])
                continue
            document = encode(job_json(job))
            fresh[(tenant, job_id)] = (stamp, document)
            parts.append(document)
        if fresh:
            with self._lock:
                if len(cache) + len(fresh) > self._capacity:
                    cache.clear()
                cache.update(fresh)
        return b"[" + b",".join(parts) + b"]"

    def __len__(self) -> int:
        return len(self._cache)
