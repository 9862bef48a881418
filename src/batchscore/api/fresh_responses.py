"""Bodies of read-only GETs, served again while the database has not changed at all.

The store's change stamp (on SQLite its ``data_version``, which moves with every commit of
any connection in any process) is read on the event loop in microseconds. A body is reused
only while the stamp equals the one read *before* that body was rendered, so a reused body is
never older than the database, and several ``serve`` processes on one database stay correct.
A hit costs no worker thread and no transaction. Without a stamp (PostgreSQL) nothing is
kept: every request renders, as it would without this cache.

Bodies are keyed by tenant, path and query, and only for routes whose answer depends on
nothing else (not the user, not the clock). Errors are raised by ``render`` and never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

BUDGET_BYTES = 32 * 1024 * 1024
"""Bodies kept per process; the least recently used go first beyond this."""


@dataclass(eq=False)
class _Flight:
    """A render under way: requests for the same key and stamp wait for it."""

    stamp: int
    done: anyio.Event = field(default_factory=anyio.Event)
    body: bytes | None = None


class FreshResponses:
    def __init__(self, stamp: Callable[[], int | None], budget_bytes: int = BUDGET_BYTES) -> None:
        self._stamp = stamp
        self._budget = budget_bytes
        self._size = 0
        self._at: int | None = None  # the stamp every kept body was rendered at
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}

    async def body(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The kept body of ``key`` if the database is unchanged since it was rendered, else
        ``render()`` in a worker thread, kept when a stamp was available. Requests arriving
        while a render of the same key at the same stamp is under way share its result, so a
        commit under load costs one render per key, not one per waiting request. Event loop
        only: the cache itself needs no lock."""
        stamp = self._stamp()
        if stamp is None:
            return await run_in_threadpool(render)
        if stamp == self._at:
            hit = self._bodies.get(key)
            if hit is not None:
                self._bodies.move_to_end(key)
                return hit
        flight = self._flights.get(key)
        if flight is not None and flight.stamp == stamp:
            await flight.done.wait()
            if flight.body is not None:
                return flight.body
            return await run_in_threadpool(render)  # it failed: each request gets its own answer
        flight = self._flights[key] = _Flight(stamp)
        try:
            body = flight.body = await run_in_threadpool(render)
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.done.set()
        self._keep(key, stamp, body)
        return body

    def _keep(self, key: Hashable, stamp: int, body: bytes) -> None:
        if stamp != self._at:
            if self._at is not None and stamp < self._at:
                return  # rendered before a newer body was kept: already stale
            self._bodies.clear()
            self._size = 0
            self._at = stamp
        if len(body) > self._budget // 16:
            return
        old = self._bodies.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._bodies[key] = body
        self._size += len(body)
        while self._size > self._budget:
            _, dropped = self._bodies.popitem(last=False)
            self._size -= len(dropped)

    @property
    def size_bytes(self) -> int:
        return self._size


async def fresh_json(request: Request, tenant: str, render: Callable[[], bytes]) -> Response:
    """A JSON response for a GET of ``tenant``, through the app's :class:`FreshResponses`."""
    fresh: FreshResponses = request.app.state.fresh_responses
    key = (tenant, request.url.path, request.url.query)
    return Response(await fresh.body(key, render), media_type="application/json")
