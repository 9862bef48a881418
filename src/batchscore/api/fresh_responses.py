"""Bodies of read-only GETs, served again while the database has not changed at all.

The store's change stamp (on SQLite its ``data_version``, which moves with every commit of
any connection in any process) is read on the event loop in microseconds. A body is reused
only while the stamp equals the one read *before* that body was rendered, so a reused body is
never older than the database, and several ``serve`` processes on one database stay correct.
A hit costs no worker thread and no transaction. Without a stamp (PostgreSQL) nothing is
kept: every request renders, as it would without this cache.

Bodies are keyed by tenant, path and query, and only for routes whose answer depends on
nothing else (not the user, not the clock). Errors are raised by ``render`` and never kept.

Large bodies are also kept gzip-compressed, made once per rendering, for the clients that
accept it (``Accept-Encoding: gzip``, as browsers, curl --compressed, httpx and requests send):
the list of 1,000 jobs is 627 kB as JSON and 15 kB compressed.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import anyio
from cachetools import LRUCache
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

BUDGET_BYTES = 32 * 1024 * 1024
"""Bodies kept per process; the least recently used go first beyond this."""
GZIP_FROM_BYTES = 4096
"""Smaller bodies are sent as they are: compressing them saves less than it costs."""
GZIP_LEVEL = 1
"""Fast compression: JSON this repetitive still shrinks tenfold or more."""


@dataclass(frozen=True, slots=True)
class Body:
    """One rendering: the JSON, and its gzip form when it is worth having."""

    plain: bytes
    gzipped: bytes | None = None

    @classmethod
    def of(cls, plain: bytes, *, compress: bool = True) -> Body:
        worth = compress and len(plain) >= GZIP_FROM_BYTES
        return cls(plain, gzip.compress(plain, GZIP_LEVEL, mtime=0) if worth else None)

    @property
    def size(self) -> int:
        return len(self.plain) + len(self.gzipped or b"")


@dataclass(eq=False)
class _Flight:
    """A render under way: requests for the same key and stamp wait for it."""

    stamp: int
    done: anyio.Event = field(default_factory=anyio.Event)
    body: Body | None = None


class FreshResponses:
    def __init__(self, stamp: Callable[[], int | None], budget_bytes: int = BUDGET_BYTES) -> None:
        self._stamp = stamp
        self._budget = budget_bytes
        self._at: int | None = None  # the stamp every kept body was rendered at
        self._bodies: LRUCache[Hashable, Body] = LRUCache(budget_bytes, getsizeof=_size_of)
        self._flights: dict[Hashable, _Flight] = {}

    async def body(
        self, key: Hashable, render: Callable[[], bytes], *, compress: bool = True
    ) -> Body:
        """The kept body of ``key`` if the database is unchanged since it was rendered, else
        ``render()`` in a worker thread, kept when a stamp was available. Requests arriving
        while a render of the same key at the same stamp is under way share its result, so a
        commit under load costs one render per key, not one per waiting request. Event loop
        only: the cache itself needs no lock. ``compress`` says whether the caller can use the
        gzip form when nothing can be kept (kept bodies always have it, when worth it)."""

        def alone() -> Body:  # rendered for this request only, never kept
            return Body.of(render(), compress=compress)

        stamp = self._stamp()
        if stamp is None:
            return await run_in_threadpool(alone)
        if stamp == self._at:
            hit = self._bodies.get(key)
            if hit is not None:
                return hit
        flight = self._flights.get(key)
        if flight is not None and flight.stamp == stamp:
            await flight.done.wait()
            if flight.body is not None:
                return flight.body
            return await run_in_threadpool(alone)  # it failed: each request gets its own answer
        flight = self._flights[key] = _Flight(stamp)
        try:
            body = flight.body = await run_in_threadpool(lambda: Body.of(render()))
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.done.set()
        self._keep(key, stamp, body)
        return body

    def _keep(self, key: Hashable, stamp: int, body: Body) -> None:
        if stamp != self._at:
            if self._at is not None and stamp < self._at:
                return  # rendered before a newer body was kept: already stale
            self._bodies.clear()
            self._at = stamp
        if body.size > self._budget // 16:
            return
        self._bodies.pop(key, None)
        self._bodies[key] = body  # the least recently used go first beyond the budget

    @property
    def size_bytes(self) -> int:
        return int(self._bodies.currsize)


def _size_of(body: Body) -> int:
    return body.size


async def fresh_json(request: Request, tenant: str, render: Callable[[], bytes]) -> Response:
    """A JSON response for a GET of ``tenant``, through the app's :class:`FreshResponses`,
    gzip-compressed when the client accepts it and the body is large."""
    fresh: FreshResponses = request.app.state.fresh_responses
    key = (tenant, request.url.path, request.url.query)
    wants = accepts_gzip(request.headers.get("accept-encoding"))
    body = await fresh.body(key, render, compress=wants)
    headers = {"Vary": "Accept-Encoding"}
    if wants and body.gzipped is not None:
        headers["Content-Encoding"] = "gzip"
        return Response(body.gzipped, media_type="application/json", headers=headers)
    return Response(body.plain, media_type="application/json", headers=headers)


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header accepts gzip (named, or ``*``, without q=0)."""
    if not header:
        return False
    accepted: dict[str, bool] = {}
    for item in header.lower().split(","):
        coding, _, params = item.strip().partition(";")
        q = params.strip()
        refused = q.startswith("q=") and _quality(q[2:]) == 0.0
        accepted[coding.strip()] = not refused
    if "gzip" in accepted:
        return accepted["gzip"]
    return accepted.get("*", False)


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 1.0
