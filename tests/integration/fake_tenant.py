"""A fake Cumulocity tenant, written from Cumulocity's REST documentation (cumulocity.com/api/core,
"Inventory", "Measurements", "Alarms", "Events"), not from batchscore's server: the connector's
tests read from and write to it, so the two sides do not share one reading of the API.

What it does as the documentation says:
- Basic auth as ``<tenant>/<user>:<password>``; 401 otherwise.
- Collections page with ``pageSize`` (default 5, at most 2000) and ``currentPage``; every page
  links ``next`` (the last one too), pages after the first link ``prev``; ``withTotalPages``.
- ``GET /measurement/measurements``: ``source``, ``type``, ``valueFragmentType``,
  ``valueFragmentSeries``, ``dateFrom``/``dateTo`` (a date or a date and time with any offset),
  oldest first, ``revert=true`` newest first. Times come back as the device sent them (its own
  offset and precision). Where the documentation is silent, the fake picks the harder reading
  for a client: ``dateTo`` is inclusive.
- ``/measurement/measurements/series``: ``values`` per instant (``min``/``max`` per series, in
  the order of ``series``), ``series`` specs, ``truncated`` past 5000 instants; ``MINUTELY``,
  ``HOURLY``, ``DAILY`` buckets.
- Child asset references carry only ``id``, ``name`` and ``self`` of the child.
- Measurements are never de-duplicated; an alarm POST meeting an ACTIVE or ACKNOWLEDGED alarm of
  the same source and type counts it up (``count``, ``time``; ``firstOccurrenceTime`` kept).
- Faults on demand: ``fail(path, status, times, retry_after)`` answers a status (429 with
  ``Retry-After``, 5xx) for the next requests of a path; ``slow(path, seconds)`` delays them.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_PAGE = 2000
MAX_SERIES_VALUES = 5000
BUCKETS = {"MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400}


def parse_time(text: str) -> datetime:
    """A Cumulocity date or date and time: ``2026-01-14``, ``...T12:00:00.123+01:00``, ``Z``."""
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None = None


@dataclass
class FakeTenant:
    """The tenant's data, the faults to inject, and the requests seen (method, path, query)."""

    tenant: str = "acme"
    user: str = "reader"
    password: str = "secret"
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    measurements: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, float] = field(default_factory=dict)
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    # --- set-up --------------------------------------------------------------------------

    def add_object(self, name: str, *fragments: str) -> str:
        object_id = str(next(self.ids))
        self.objects[object_id] = {"id": object_id, "name": name, **{f: {} for f in fragments}}
        return object_id

    def assign(self, parent: str, child: str) -> None:
        self.children[parent].append(child)

    def add_measurement(self, document: dict[str, Any]) -> dict[str, Any]:
        stored = {**document, "id": str(next(self.ids))}
        self.measurements.append(stored)
        return stored

    def fail(self, path: str, status: int, times: int = 1, retry_after: str | None = None) -> None:
        self.faults[path].append(Fault(status, times, retry_after))

    def slow(self, path: str, seconds: float) -> None:
        self.delays[path] = seconds

    # --- the app ---------------------------------------------------------------------------

    def app(self) -> Starlette:
        routes = [
            Route("/inventory/managedObjects/{id}", self.get_object),
            Route("/inventory/managedObjects/{id}/childAssets", self.child_assets),
            Route(
                "/measurement/measurements", self.measurement_collection, methods=["GET", "POST"]
            ),
            Route("/measurement/measurements/series", self.series),
            Route("/alarm/alarms", self.alarm_collection, methods=["GET", "POST"]),
            Route("/alarm/alarms/{id}", self.alarm, methods=["GET", "PUT"]),
            Route("/event/events", self.event_collection, methods=["POST"]),
        ]
        app = Starlette(routes=routes)
        app.add_middleware(_Gate, fake=self)  # type: ignore[arg-type]
        return app

    def _url(self, request: Request, path: str) -> str:
        return f"{str(request.base_url).rstrip('/')}{path}"

    def _page(self, request: Request, key: str, items: list[dict[str, Any]]) -> JSONResponse:
        size = min(int(request.query_params.get("pageSize", "5")), MAX_PAGE)
        current = int(request.query_params.get("currentPage", "1"))
        chunk = items[(current - 1) * size : current * size]
        statistics: dict[str, Any] = {"pageSize": size, "currentPage": current}
        if request.query_params.get("withTotalPages") == "true":
            statistics["totalPages"] = -(-len(items) // size)
        body: dict[str, Any] = {"self": str(request.url), key: chunk, "statistics": statistics}
        body["next"] = str(request.url.include_query_params(currentPage=current + 1))
        if current > 1:
            body["prev"] = str(request.url.include_query_params(currentPage=current - 1))
        return JSONResponse(body)

    async def get_object(self, request: Request) -> Response:
        found = self.objects.get(request.path_params["id"])
        if found is None:
            return _error(404, "inventory/Not Found", "Finding device data from database failed")
        return JSONResponse({**found, "self": self._url(request, request.url.path)})

    async def child_assets(self, request: Request) -> Response:
        parent = request.path_params["id"]
        if parent not in self.objects:
            return _error(404, "inventory/Not Found", "Finding device data from database failed")
        refs = [
            {
                "self": self._url(request, f"{request.url.path}/{child}"),
                "managedObject": {
                    "id": child,
                    "name": self.objects[child]["name"],
                    "self": self._url(request, f"/inventory/managedObjects/{child}"),
                },
            }
            for child in self.children[parent]
            if child in self.objects
        ]
        return self._page(request, "references", refs)

    async def measurement_collection(self, request: Request) -> Response:
        if request.method == "POST":
            body = json.loads(await request.body())
            items = body.get("measurements", [body])
            stored = [self.add_measurement(m) for m in items]
            if "measurements" in body:
                return JSONResponse({"measurements": stored}, status_code=201)
            return JSONResponse(stored[0], status_code=201)
        q = request.query_params
        found = [m for m in self.measurements if _matches(m, q)]
        found.sort(key=lambda m: parse_time(m["time"]), reverse=q.get("revert") == "true")
        return self._page(request, "measurements", found)

    async def series(self, request: Request) -> Response:
        q = request.query_params
        names = [s for value in q.getlist("series") for s in value.split(",")]
        lo, hi = parse_time(q["dateFrom"]), parse_time(q["dateTo"])
        bucket = BUCKETS.get(q.get("aggregationType", ""))
        per_key: dict[datetime, list[list[float]]] = defaultdict(lambda: [[] for _ in names])
        units: dict[str, str] = {}
        for m in self.measurements:
            if m["source"]["id"] != q["source"]:
                continue
            at = parse_time(m["time"])
            if not lo <= at <= hi:
                continue
            if bucket:
                at = datetime.fromtimestamp(int(at.timestamp()) // bucket * bucket, UTC)
            for index, name in enumerate(names):
                fragment, series = name.split(".")
                entry = m.get(fragment, {}).get(series)
                if isinstance(entry, dict) and isinstance(entry.get("value"), int | float):
                    per_key[at][index].append(float(entry["value"]))
                    units.setdefault(name, entry.get("unit", ""))
        keys = sorted(per_key, reverse=q.get("revert") == "true")
        values = {
            k.isoformat(timespec="milliseconds").replace("+00:00", "Z"): [
                {"min": min(v), "max": max(v)} if v else None for v in per_key[k]
            ]
            for k in keys[:MAX_SERIES_VALUES]
        }
        specs = [
            {"unit": units.get(n, ""), "name": n.split(".")[1], "type": n.split(".")[0]}
            for n in names
        ]
        return JSONResponse(
            {"values": values, "series": specs, "truncated": len(keys) > MAX_SERIES_VALUES}
        )

    async def alarm_collection(self, request: Request) -> Response:
        if request.method == "GET":
            q = request.query_params
            statuses = q.get("status", "").split(",") if q.get("status") else None
            found = [
                a
                for a in self.alarms
                if (q.get("source") is None or a["source"]["id"] == q["source"])
                and (q.get("type") is None or a["type"] == q["type"])
                and (statuses is None or a["status"] in statuses)
            ]
            found.sort(key=lambda a: parse_time(a["time"]), reverse=True)  # newest first
            return self._page(request, "alarms", found)
        body = json.loads(await request.body())
        status = body.get("status", "ACTIVE")
        for alarm in self.alarms:
            if (
                status != "CLEARED"
                and alarm["status"] in ("ACTIVE", "ACKNOWLEDGED")
                and (alarm["source"]["id"], alarm["type"]) == (body["source"]["id"], body["type"])
            ):
                alarm.update(count=alarm["count"] + 1, time=body["time"])
                return JSONResponse(alarm, status_code=201)
        alarm = {
            **body,
            "id": str(next(self.ids)),
            "status": status,
            "count": 1,
            "firstOccurrenceTime": body["time"],
        }
        self.alarms.append(alarm)
        return JSONResponse(alarm, status_code=201)

    async def alarm(self, request: Request) -> Response:
        found = next((a for a in self.alarms if a["id"] == request.path_params["id"]), None)
        if found is None:
            return _error(404, "alarm/Not Found", "Could not find alarm")
        if request.method == "PUT":
            found.update(json.loads(await request.body()))
        return JSONResponse(found)

    async def event_collection(self, request: Request) -> Response:
        event = {**json.loads(await request.body()), "id": str(next(self.ids))}
        self.events.append(event)
        return JSONResponse(event, status_code=201)


def _matches(m: dict[str, Any], q: Any) -> bool:
    if q.get("source") is not None and m["source"]["id"] != q["source"]:
        return False
    if q.get("type") is not None and m.get("type") != q["type"]:
        return False
    fragment, series = q.get("valueFragmentType"), q.get("valueFragmentSeries")
    if fragment is not None and not isinstance(m.get(fragment), dict):
        return False
    if series is not None:
        holders = [m.get(fragment)] if fragment else [v for v in m.values() if isinstance(v, dict)]
        if not any(isinstance(h, dict) and series in h for h in holders):
            return False
    at = parse_time(m["time"])
    if q.get("dateFrom") is not None and at < parse_time(q["dateFrom"]):
        return False
    return not (q.get("dateTo") is not None and at > parse_time(q["dateTo"]))


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": error,
            "message": message,
            "info": "https://cumulocity.com/api/core/#section/Errors",
        },
        status_code=status,
    )


class _Gate:
    """Authentication, then injected faults and delays, then the route; records each request."""

    def __init__(self, app: Any, fake: FakeTenant) -> None:
        self.app, self.fake = app, fake

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        self.fake.seen.append((scope["method"], path, scope["query_string"].decode()))
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        expected = f"{self.fake.tenant}/{self.fake.user}:{self.fake.password}".encode()
        if headers.get("authorization") != "Basic " + base64.b64encode(expected).decode():
            await _error(401, "security/Unauthorized", "Invalid credentials!")(scope, receive, send)
            return
        pending = self.fake.faults.get(path)
        if pending:
            fault = pending[0]
            fault.times -= 1
            if fault.times <= 0:
                pending.pop(0)
            reply = _error(fault.status, "general/fault", "Injected fault.")
            if fault.retry_after is not None:
                reply.headers["Retry-After"] = fault.retry_after
            await reply(scope, receive, send)
            return
        if path in self.fake.delays:
            await asyncio.sleep(self.fake.delays[path])
        await self.app(scope, receive, send)


def device_time(base: datetime, second: float, offset_hours: int) -> str:
    """A time as a device might send it: its own offset, milliseconds."""
    zone = timedelta(hours=offset_hours)
    local = (base + timedelta(seconds=second)).astimezone(UTC) + zone
    sign = "+" if offset_hours >= 0 else "-"
    text = local.replace(tzinfo=None).isoformat(timespec="milliseconds")
    return f"{text}{sign}{abs(offset_hours):02d}:00"
