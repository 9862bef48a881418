"""The Zementis JSON of jobs and executions (the API answers it, ``batchscore job run`` prints
it), and the job list bodies served again while the tenant's jobs are unchanged.

Two levels, both checked against the database on every request, so several ``serve``
processes on one database stay correct without invalidation messages:

- a whole list body is reused while the tenant's ``jobs_version`` (bumped in the same
  transaction as every create, delete and finished execution) is the one it was built at —
  one single-row read per request;
- otherwise the list is assembled from per-job renderings, kept with each job's stamp (creation
  time, last status and duration): only new or changed jobs are read in full and rendered.

The version is read before the jobs, so a body can only be newer than its version (then the
next request rebuilds it), never older.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from batchscore.domain.jobs import EXTRA_SCHEDULE_FIELDS, SCHEDULE_FIELDS, Execution, Job, JobStamp
from batchscore.domain.timefmt import format_instant, format_millis_z
from batchscore.service.jobs import JobService


def encode(content: Any) -> bytes:
    """JSON exactly as :class:`fastapi.responses.JSONResponse` renders it, for bodies that are
    kept and served again as bytes."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def job_json(job: Job) -> dict[str, Any]:
    schedule = {key: job.schedule.get(key) for key in SCHEDULE_FIELDS}
    schedule.update({k: job.schedule[k] for k in EXTRA_SCHEDULE_FIELDS if k in job.schedule})
    out: dict[str, Any] = {
        "jobId": job.id,
        "jobName": job.name,
        "jobDescription": job.description,
        "jobCreationDate": format_millis_z(job.created_at),
        "associatedModel": job.model_name,
        "associatedGroupOrDeviceId": job.target_id,
        "modelToDeviceMappings": job.mappings_sent,
        "jobSchedule": schedule,
    }
    if job.actions:  # additive (design §2.9): absent for jobs without, secrets never echoed
        out["actions"] = [rule.public() for rule in job.actions]
    if job.write_back is not None:
        out["writeBack"] = job.write_back.public()
    if job.last_status is not None:
        out["jobStatus"] = job.last_status.value
        out["lastExecutionDuration"] = duration_text(job)
    if job.paused is not None:  # absent until paused once (design §2.8)
        out["paused"] = job.paused
    return out


def duration_text(job: Job) -> str:
    """The last finished execution's duration in milliseconds, as the API's string."""
    return str(job.last_duration_ms) if job.last_duration_ms is not None else ""


def execution_json(job_id: int, run: Execution) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "jobExecutionNumber": run.number,
        "isExecutionForDeviceGroup": run.is_group,
        "jobExecutionStartTime": format_instant(run.started_at) if run.started_at else None,
        "jobExecutionEndTime": format_instant(run.ended_at) if run.ended_at else None,
        "jobExecutionDuration": str(run.duration_ms) if run.duration_ms is not None else "",
        "jobExecutionStatus": run.status.value,
        "jobExecutionStatusMessage": list(run.messages),
    }


CAPACITY = 50_000
"""Renderings kept per process (about 0.5 kB each); the cache starts over beyond this."""
LISTS = 64
"""Whole list bodies kept per process (tenant, page size and page); oldest go first."""


ListKey = tuple[str, int | None, int]
"""Tenant, page size, page."""


class JobDocuments:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._cache: dict[tuple[str, int], tuple[JobStamp, bytes]] = {}
        self._lock = threading.Lock()
        self._lists: dict[ListKey, tuple[int, bytes]] = {}
        self._building: dict[ListKey, threading.Lock] = {}

    def listing(
        self, jobs: JobService, tenant: str, page_size: int | None = None, page: int = 1
    ) -> bytes:
        """The body of ``GET /jobs``: a JSON array of the tenant's jobs in id order."""
        key = (tenant, page_size, page)
        hit = self._fresh(key, jobs.jobs_version(tenant))
        if hit is not None:
            return hit
        # One build per key at a time: requests arriving during a build take its result
        # instead of all reading the jobs at once (a list changes with every finished run).
        with self._build_lock(key):
            version = jobs.jobs_version(tenant)
            hit = self._fresh(key, version)
            if hit is not None:
                return hit
            body = self._assemble(jobs, tenant, page_size, page)
            with self._lock:
                self._lists.pop(key, None)
                if len(self._lists) >= LISTS:
                    del self._lists[next(iter(self._lists))]
                self._lists[key] = (version, body)
        return body

    def _fresh(self, key: ListKey, version: int) -> bytes | None:
        """The kept body of ``key`` if it was built at ``version`` or later."""
        hit = self._lists.get(key)
        return hit[1] if hit is not None and hit[0] >= version else None

    def _build_lock(self, key: ListKey) -> threading.Lock:
        with self._lock:
            if len(self._building) > 4 * LISTS:  # keys come from the query string
                self._building.clear()
            return self._building.setdefault(key, threading.Lock())

    def _assemble(self, jobs: JobService, tenant: str, page_size: int | None, page: int) -> bytes:
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


def execution_detail_json(job_id: int, run: Execution) -> dict[str, Any]:
    """One execution (``GET .../history/{n}``) with the definition it ran with, when known:
    ``associatedModel``, ``modelSha256`` and the canonical ``modelToDeviceMappings``."""
    out = execution_json(job_id, run)
    if run.definition is not None:
        out["associatedModel"] = run.definition.model_name
        out["modelSha256"] = run.definition.model_sha256
        out["modelToDeviceMappings"] = run.definition.mappings
    return out
